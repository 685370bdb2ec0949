/* shm.h: shared memory passed as an fd (shm.c), and the per-connection
 * pool of writable slots and cache of received mappings (shm-pool.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "busrpc-internal.h"

typedef struct ShmPeer ShmPeer; /* one connection's pool, cache and limits */
typedef struct ShmMap ShmMap;   /* a read-only mapping of a received memfd */
typedef struct ShmBuf ShmBuf;   /* private memory a received slot is copied into */

typedef enum ShmKind {
        SHM_OWN,    /* busrpc_shm_new(): writable until sealed on append */
        SHM_SLOT,   /* a pool slot: writable, sealed against resizing only */
        SHM_SEALED, /* received, sealed against writes: read in place */
        SHM_COPY,   /* received slot: a private snapshot taken on receipt */
        SHM_DIRECT, /* received slot of a peer that lends (both opted in) */
} ShmKind;

struct busrpc_shm {
        unsigned n_ref;
        ShmKind kind;
        int fd;    /* -1: none yet (COPY, DIRECT: made on demand) */
        int ro_fd; /* SLOT: a read-only fd of the memfd, what is sent; -1: none */
        void *data; /* NULL when unmapped or size is 0 */
        size_t size;
        bool sealed;    /* OWN: sealed against writes */
        bool mapped_rw; /* OWN, SLOT: data is a writable mapping of fd */
        ShmPeer *peer;  /* SLOT: the pool it returns to; COPY: the buffer's cache */
        ShmMap *map;    /* SEALED, DIRECT: the (cached) mapping; data points into it */
        ShmBuf *buf;    /* COPY: the snapshot */
        busrpc_shm *next; /* SLOT: the pool's idle list */
};

/* Take @fd (owned; closed on failure too) as a sealed read-only shm of at
 * most @max_size bytes (0: no bound): -EFBIG above it, -EPERM unsealed.
 * Without a connection: nothing is cached. */
int shm_from_owned_fd(int fd, uint64_t max_size, busrpc_shm **ret);

/* shm-pool.c */
/* Take @fd (owned, closed on every path) received on @c (NULL: none) as a
 * shm of at most @max_size bytes (0: no bound): a memfd sealed against
 * writes is read in place, one sealed only against resizing (a slot) is
 * copied on receipt unless both sides opted into direct reads. -EFBIG,
 * -EPERM (not a memfd, or resizable), -ENOMEM, -errno of mmap. */
int shm_receive(busrpc_conn *c, int fd, uint64_t max_size, busrpc_shm **ret);
/* The last reference to @s (SLOT, SEALED, COPY, DIRECT) went: back to its
 * pool or cache, or freed. */
void shm_pool_release(busrpc_shm *s);
/* @c is being freed: its pool and cache (c->shm) go; slots and copies
 * still referenced keep what they use and are freed with their last
 * reference. For conn_free() (link-core), after the link is closed. */
void shm_conn_free(busrpc_conn *c);
/* A new memfd of @size bytes named @name, sealed with @seals. */
int shm_memfd(const char *name, size_t size, int seals, int *ret_fd);
/* A sealed memfd holding @size bytes at @data. */
int shm_sealed_copy(const void *data, size_t size, int *ret_fd);
