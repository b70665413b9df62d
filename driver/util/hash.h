/* SHA-256 through OpenSSL's EVP interface; digests are handled as lowercase hex. */
#ifndef PTBUILD_HASH_H
#define PTBUILD_HASH_H

#include <stddef.h>

#define SHA256_HEX_SIZE 65 /* 64 hex digits and the NUL */

struct sha256 {
	void *ctx; /* EVP_MD_CTX, owned */
};

void sha256_init(struct sha256 *h);
void sha256_update(struct sha256 *h, const void *data, size_t len);
/* Writes the hex digest and releases the context. */
void sha256_final_hex(struct sha256 *h, char hex[SHA256_HEX_SIZE]);

/* Writes the 32-byte digest and releases the context. */
void sha256_final_raw(struct sha256 *h, unsigned char md[32]);
/* The digest in the URL-safe base64 of wheel RECORD files, without padding (43 characters
 * and the NUL). */
#define SHA256_B64_SIZE 44
void sha256_final_b64(struct sha256 *h, char b64[SHA256_B64_SIZE]);

void sha256_hex(const void *data, size_t len, char hex[SHA256_HEX_SIZE]);
/* Returns -1 with errno set when the file cannot be read. */
int sha256_file_hex(const char *path, char hex[SHA256_HEX_SIZE]);

#endif
