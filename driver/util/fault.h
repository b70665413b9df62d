/*
 * Fault points for the fault-injection tests (tests/integration/faults.sh): each cache
 * write calls fault_point() at the moment a crash would hurt most (data half written, the
 * marker not yet). With PTBUILD_FAULT=NAME (or NAME:N, the N-th time) the process kills
 * itself there with SIGKILL, as the OOM killer or a CI timeout would; unset, it costs one
 * getenv. Points: download, mirror, extract, checkout, patch, repack, outcache.
 */
#ifndef PTBUILD_FAULT_H
#define PTBUILD_FAULT_H

void fault_point(const char *name);

#endif
