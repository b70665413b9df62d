#include "util/hash.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void sha256_init(struct sha256 *h)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		fprintf(stderr, "ptbuild: fatal: OpenSSL cannot initialise SHA-256\n");
		exit(3);
	}
	h->ctx = ctx;
}

void sha256_update(struct sha256 *h, const void *data, size_t len)
{
	EVP_DigestUpdate(h->ctx, data, len);
}

void sha256_final_hex(struct sha256 *h, char hex[SHA256_HEX_SIZE])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_DigestFinal_ex(h->ctx, md, &n);
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
	for (unsigned int i = 0; i < n && i < 32; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = '\0';
}

void sha256_final_raw(struct sha256 *h, unsigned char md[32])
{
	unsigned char full[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_DigestFinal_ex(h->ctx, full, &n);
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
	memcpy(md, full, 32);
}

void sha256_final_b64(struct sha256 *h, char b64[SHA256_B64_SIZE])
{
	unsigned char md[32];
	unsigned char text[48];
	sha256_final_raw(h, md);
	int n = EVP_EncodeBlock(text, md, 32); /* 44 characters, the last one '=' */
	size_t k = 0;
	for (int i = 0; i < n && text[i] != '=' && k < SHA256_B64_SIZE - 1; i++)
		b64[k++] = text[i] == '+' ? '-' : text[i] == '/' ? '_' : (char)text[i];
	b64[k] = '\0';
}

void sha256_hex(const void *data, size_t len, char hex[SHA256_HEX_SIZE])
{
	struct sha256 h;
	sha256_init(&h);
	sha256_update(&h, data, len);
	sha256_final_hex(&h, hex);
}

int sha256_file_hex(const char *path, char hex[SHA256_HEX_SIZE])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct sha256 h;
	sha256_init(&h);
	char chunk[65536];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;
			sha256_final_hex(&h, hex);
			close(fd);
			errno = saved;
			return -1;
		}
		if (n == 0)
			break;
		sha256_update(&h, chunk, (size_t)n);
	}
	close(fd);
	sha256_final_hex(&h, hex);
	return 0;
}
