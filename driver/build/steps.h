/*
 * The steps of one build job (docs/building.md, "phases"): the scheduler's step callback
 * and the clean-up of an item whose job ended.
 */
#ifndef PTBUILD_STEPS_H
#define PTBUILD_STEPS_H

#include <stddef.h>

#include "build/scheduler.h"
#include "build/state.h"

/* The scheduler's step callback (`ctx` is the struct build): starts the job's next child,
 * or says the job is done or failed. A failure leaves it->failure saying what failed. */
enum sched_step build_step(void *ctx, size_t job, struct sched_spawn *sp);
/* Aborts what an item had staged and closes its log; safe to call twice. */
void build_item_cleanup(struct build_item *it);

#endif
