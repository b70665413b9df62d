/* Allocation that cannot fail: on exhaustion the process reports and exits 3. */
#ifndef PTBUILD_XALLOC_H
#define PTBUILD_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns NULL for NULL; a copy otherwise. */
char *xstrdup_or_null(const char *s);

/* Grow (*items) so that it holds at least `need` elements of `size` bytes. */
void grow_array(void **items, size_t *cap, size_t need, size_t size);
#define GROW(arr, cap, need) grow_array((void **)&(arr), &(cap), (need), sizeof(*(arr)))

#endif
