/* sha256.h: SHA-256 (FIPS 180-4), small and dependency-free, for the bulk
 * example. Not constant-time and not optimised: a checksum, not a crypto
 * library. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_SIZE 32
#define SHA256_HEX_SIZE (2 * SHA256_DIGEST_SIZE + 1)

typedef struct sha256_ctx {
        uint32_t h[8];
        uint64_t length; /* bytes hashed so far */
        uint8_t block[64];
        size_t used; /* bytes waiting in block */
} sha256_ctx;

void sha256_init(sha256_ctx *c);
/* Hash @n bytes at @data (may be NULL when @n is 0). */
void sha256_update(sha256_ctx *c, const void *data, size_t n);
/* Finish: the digest into @out; @c must be initialised again before reuse. */
void sha256_final(sha256_ctx *c, uint8_t out[SHA256_DIGEST_SIZE]);
/* One call: the digest of @n bytes as 64 lowercase hex digits and a NUL. */
void sha256_hex(const void *data, size_t n, char out[SHA256_HEX_SIZE]);
