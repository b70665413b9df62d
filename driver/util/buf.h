/* A growable byte buffer: never NULL once initialised, always NUL-terminated. */
#ifndef PTBUILD_BUF_H
#define PTBUILD_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data; /* owned unless it points at the shared empty string */
	size_t len;
	size_t cap;
};

#define BUF_INIT { buf_empty, 0, 0 }
extern char buf_empty[];

void buf_init(struct buf *b);
void buf_release(struct buf *b);
void buf_reset(struct buf *b);
/* Hands the string to the caller (who frees it) and leaves `b` empty. */
char *buf_detach(struct buf *b);
void buf_grow(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *data, size_t len);
void buf_adds(struct buf *b, const char *s);
void buf_addch(struct buf *b, char c);
void buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vaddf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void buf_truncate(struct buf *b, size_t len);
/* Removes trailing whitespace. */
void buf_rtrim(struct buf *b);

#endif
