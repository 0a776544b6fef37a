/* SHA-256 (FIPS 180-4), for the provider's fingerprint in reports. */
#ifndef WSPH_SHA256_H
#define WSPH_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct wsph_sha256 {
	uint32_t h[8];
	uint64_t bytes; /* message length so far */
	unsigned char block[64];
	size_t used; /* bytes waiting in block */
};

void wsph_sha256_init(struct wsph_sha256 *s);
void wsph_sha256_update(struct wsph_sha256 *s, const void *data, size_t len);
/* The digest as 32 bytes; s must be initialised again before reuse. */
void wsph_sha256_final(struct wsph_sha256 *s, unsigned char digest[32]);
/* Lower-case hex of the digest of len bytes at data. */
void wsph_sha256_hex(const void *data, size_t len, char hex[65]);

/* Lower-case hex of the file's SHA-256 into hex. Returns 0, or -1 (hex = "") when the file cannot
 * be read. */
int wsph_sha256_file(const char *path, char hex[65]);

#endif
