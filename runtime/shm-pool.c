/* shm-pool.c: shared memory at memory speed, per connection.
 *
 * A fresh sealed memfd per call costs ~27 system calls, three mappings
 * and a page fault for every page, on both sides. Here each connection
 * (a bus, a client peer, each served peer; either link) keeps:
 *
 *  - a pool of slots to send: memfds sealed against growing and
 *    shrinking (so no receiver can be made to SIGBUS) but writable, mapped
 *    once here. busrpc_conn_shm_new() hands one out; appended to a call it
 *    is lent to the receiver until the reply; busrpc_shm_unref() gives it
 *    back for the next call of the same size. What is sent is a read-only
 *    fd of the slot, so a receiver can neither write nor seal it.
 *  - a cache of what it received: the mappings of memfds it has seen, by
 *    inode (st_dev, st_ino: the mapping keeps the inode alive, so the pair
 *    cannot be reused while cached), so the same slot or the same sealed
 *    buffer sent again costs an fstat() and no mmap(); and the private
 *    buffers received slots are copied into, reused likewise.
 *
 * A received slot can still be written by its sender, so it is copied on
 * receipt (one memcpy into a warm buffer: a stable snapshot), unless both
 * sides declared busrpc_conn_set_shm_direct() and the slot's memfd belongs
 * to our own uid: then it is read in place. The sender's declaration
 * travels in the memfd's name ("busrpc-lent"), readable by the receiver
 * in /proc/self/fd, once per new inode.
 *
 * The state hangs off the busrpc_conn (c->shm, made on first use) and
 * goes with it (shm_conn_free() from conn_free()): cached mappings and
 * idle slots are released then; shm still referenced keep what they use.
 * It outlives a reconnection: the slots and mappings are the process's,
 * not the link's. What busrpc_server_set_shm_limits() / _set_shm_direct()
 * are told lives in the server (shm_limits / shm_direct) for the peers
 * served after.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "conn.h"
#include "server.h"
#include "shm.h"

#define SLOT_SEALS (F_SEAL_GROW | F_SEAL_SHRINK)
#define NAME_LENT "busrpc-lent"
#define NAME_SLOT "busrpc-slot"

struct ShmMap {
        unsigned n_ref; /* the cache's, and one per shm reading it */
        void *addr;     /* NULL when size is 0 */
        size_t size;
        dev_t dev;
        ino_t ino;
        int lent;      /* the sender declared it lends the slot, and it is our uid's; -1: not asked yet */
        ShmPeer *peer; /* the cache holding it; NULL once evicted */
        ShmMap *prev, *next; /* the cache, most recently used first */
};

struct ShmBuf {
        void *addr;
        size_t cap;
        ShmBuf *next; /* the idle list */
};

struct ShmPeer {
        unsigned n_ref; /* the connection's, and one per slot or copy living */
        bool gone;      /* the conn went: keep nothing more */
        bool direct;
        busrpc_shm_limits limits; /* no zeros */

        /* sending: the slots alive (idle or lent), and the idle ones,
         * most recently used first */
        unsigned n_slots;
        uint64_t slot_bytes;
        busrpc_shm *idle;

        /* receiving: the cached mappings (limits.cache_entries,
         * limits.cache_bytes) and the idle copy buffers, most recently
         * used first (limits.copy_bytes) */
        ShmMap *maps, *maps_tail;
        unsigned n_cached;
        uint64_t cached_bytes;
        ShmBuf *bufs;
        unsigned n_bufs;
        uint64_t buf_bytes;

        uint64_t map_hits, map_misses, copies, buf_reuses;
};

static void shm_limits_fill(busrpc_shm_limits *l) {
        if (!l->pool_bytes)
                l->pool_bytes = BUSRPC_SHM_POOL_BYTES_DEFAULT;
        if (!l->pool_slots)
                l->pool_slots = BUSRPC_SHM_POOL_SLOTS_DEFAULT;
        if (!l->cache_bytes)
                l->cache_bytes = BUSRPC_SHM_CACHE_BYTES_DEFAULT;
        if (!l->cache_entries)
                l->cache_entries = BUSRPC_SHM_CACHE_ENTRIES_DEFAULT;
        if (!l->copy_bytes)
                l->copy_bytes = BUSRPC_SHM_COPY_BYTES_DEFAULT;
}

/* ---- mappings and buffers ---- */

static void map_unref(ShmMap *m) {
        if (!m || --m->n_ref > 0)
                return;
        if (m->addr)
                munmap(m->addr, m->size);
        free(m);
}

static void buf_free(ShmBuf *b) {
        if (b->addr)
                munmap(b->addr, b->cap);
        free(b);
}

static void cache_unlink(ShmPeer *p, ShmMap *m) {
        if (m->prev)
                m->prev->next = m->next;
        else
                p->maps = m->next;
        if (m->next)
                m->next->prev = m->prev;
        else
                p->maps_tail = m->prev;
        m->prev = m->next = NULL;
        m->peer = NULL;
        p->n_cached--;
        p->cached_bytes -= m->size;
        map_unref(m);
}

/* Make room for @n more mappings of @size bytes: the least recently used go. */
static bool cache_make_room(ShmPeer *p, unsigned n, size_t size) {
        const busrpc_shm_limits *l = &p->limits;

        if (size > l->cache_bytes || n > l->cache_entries)
                return false;
        while (p->n_cached + n > l->cache_entries || p->cached_bytes + size > l->cache_bytes) {
                if (!p->maps_tail)
                        return false;
                cache_unlink(p, p->maps_tail);
        }
        return true;
}

/* Keep idle copy buffers within limits.copy_bytes plus @size: the least
 * recently used go. */
static bool bufs_make_room(ShmPeer *p, size_t size) {
        if (size > p->limits.copy_bytes)
                return false;
        while (p->buf_bytes + size > p->limits.copy_bytes) {
                ShmBuf **pp = &p->bufs, *b;

                if (!*pp)
                        return false;
                while ((*pp)->next)
                        pp = &(*pp)->next;
                b = *pp;
                *pp = NULL;
                p->n_bufs--;
                p->buf_bytes -= b->cap;
                buf_free(b);
        }
        return true;
}

static void cache_insert(ShmPeer *p, ShmMap *m) {
        if (!cache_make_room(p, 1, m->size))
                return;
        m->n_ref++;
        m->peer = p;
        m->prev = NULL;
        m->next = p->maps;
        if (p->maps)
                p->maps->prev = m;
        else
                p->maps_tail = m;
        p->maps = m;
        p->n_cached++;
        p->cached_bytes += m->size;
}

static ShmMap *cache_find(ShmPeer *p, dev_t dev, ino_t ino) {
        for (ShmMap *m = p->maps; m; m = m->next) {
                if (m->ino != ino || m->dev != dev)
                        continue;
                if (m != p->maps) { /* to the front */
                        m->prev->next = m->next;
                        if (m->next)
                                m->next->prev = m->prev;
                        else
                                p->maps_tail = m->prev;
                        m->prev = NULL;
                        m->next = p->maps;
                        p->maps->prev = m;
                        p->maps = m;
                }
                return m;
        }
        return NULL;
}

/* A private buffer of at least @size bytes: an idle one of about that size
 * (its pages are already faulted in), else a new one. */
static ShmBuf *buf_get(ShmPeer *p, size_t size) {
        ShmBuf *b, **pp;
        void *addr;

        for (pp = p ? &p->bufs : NULL; pp && *pp; pp = &(*pp)->next) {
                b = *pp;
                if (b->cap >= size && b->cap / 2 <= size) {
                        *pp = b->next;
                        p->n_bufs--;
                        p->buf_bytes -= b->cap;
                        p->buf_reuses++;
                        return b;
                }
        }
        b = calloc(1, sizeof(*b));
        if (!b)
                return NULL;
        b->cap = size;
        addr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (addr == MAP_FAILED) {
                free(b);
                return NULL;
        }
        b->addr = addr;
        return b;
}

/* ---- the per-connection state ---- */

static void peer_unref(ShmPeer *p) {
        if (!p || --p->n_ref > 0)
                return;
        free(p);
}

/* The conn is being freed: keep nothing more for it. */
void shm_conn_free(busrpc_conn *c) {
        ShmPeer *p = c->shm;

        if (!p)
                return;
        c->shm = NULL;
        p->gone = true;
        while (p->maps)
                cache_unlink(p, p->maps);
        while (p->bufs) {
                ShmBuf *b = p->bufs;

                p->bufs = b->next;
                buf_free(b);
        }
        p->n_bufs = 0;
        p->buf_bytes = 0;
        while (p->idle) {
                busrpc_shm *s = p->idle;

                p->idle = s->next;
                s->peer = NULL;
                shm_pool_release(s); /* no pool: freed */
                p->n_ref--;          /* the slot's */
        }
        peer_unref(p);
}

/* The state of @c (a bus, client peer or served peer conn), made on first
 * use; NULL for a conn being freed, or without memory. Borrowed: the
 * connection holds it. */
static ShmPeer *peer_get(busrpc_conn *c) {
        ShmPeer *p;

        if (!c || c->closing)
                return NULL;
        if (c->shm)
                return c->shm;
        p = calloc(1, sizeof(*p));
        if (!p)
                return NULL;
        p->n_ref = 1; /* the conn's */
        if (c->kind == CONN_SERVED && c->server) {
                p->limits = c->server->shm_limits;
                p->direct = c->server->shm_direct;
        }
        shm_limits_fill(&p->limits);
        c->shm = p;
        return p;
}

/* Why peer_get() gave nothing. */
static int peer_error(busrpc_conn *c) {
        return c->closing ? -ENOTCONN : -ENOMEM;
}

/* ---- sending: the pool ---- */

static void slot_destroy(busrpc_shm *s) {
        if (s->data)
                munmap(s->data, s->size);
        if (s->ro_fd >= 0)
                close(s->ro_fd);
        close(s->fd);
        free(s);
}

/* Drop idle slots, least recently used first, until @n more slots of
 * @size bytes fit. */
static bool pool_make_room(ShmPeer *p, unsigned n, size_t size) {
        const busrpc_shm_limits *l = &p->limits;

        while (p->n_slots + n > l->pool_slots || p->slot_bytes + size > l->pool_bytes) {
                busrpc_shm **pp = &p->idle, *s;

                if (!*pp)
                        return false;
                while ((*pp)->next)
                        pp = &(*pp)->next;
                s = *pp;
                *pp = NULL;
                p->n_slots--;
                p->slot_bytes -= s->size;
                slot_destroy(s);
                p->n_ref--; /* the slot's; the connection still holds one */
        }
        return true;
}

static int slot_new(ShmPeer *p, size_t size, busrpc_shm **ret) {
        char path[64];
        busrpc_shm *s;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->n_ref = 1;
        s->kind = SHM_SLOT;
        s->size = size;
        s->ro_fd = -1;
        r = shm_memfd(p->direct ? NAME_LENT : NAME_SLOT, size, SLOT_SEALS, &s->fd);
        if (r < 0) {
                free(s);
                return r;
        }
        /* What goes out is a read-only open of the same memfd: a receiver
         * can then neither write the slot nor add seals to it (F_ADD_SEALS
         * needs a writable file). Without /proc, the slot itself goes. */
        snprintf(path, sizeof(path), "/proc/self/fd/%d", s->fd);
        s->ro_fd = open(path, O_RDONLY | O_CLOEXEC);
        s->peer = p;
        p->n_ref++;
        p->n_slots++;
        p->slot_bytes += size;
        *ret = s;
        return 0;
}

BUSRPC_EXPORT int busrpc_conn_shm_new(busrpc_conn *c, size_t size, busrpc_shm **ret) {
        ShmPeer *p;
        busrpc_shm **pp;

        return_if_fail(c && ret, -EINVAL);
        return_if_fail(size <= (size_t)INT64_MAX, -E2BIG);
        p = peer_get(c);
        if (!p || size == 0 || size > p->limits.pool_bytes)
                return busrpc_shm_new(size, ret); /* today's path: sealed on append */
        for (pp = &p->idle; *pp; pp = &(*pp)->next) {
                busrpc_shm *s = *pp;

                if (s->size == size) {
                        *pp = s->next;
                        s->next = NULL;
                        s->n_ref = 1;
                        *ret = s;
                        return 0;
                }
        }
        if (!pool_make_room(p, 1, size))
                return busrpc_shm_new(size, ret); /* every slot is lent */
        return slot_new(p, size, ret);
}

/* ---- receiving ---- */

/* Did the sender name the memfd as lending its slots? */
static bool memfd_is_lent(int fd) {
        char path[64], target[64];
        ssize_t n;

        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        n = readlink(path, target, sizeof(target) - 1);
        if (n < 0)
                return false;
        target[n] = '\0';
        return strncmp(target, "/memfd:" NAME_LENT " ", strlen("/memfd:" NAME_LENT " ")) == 0;
}

/* Asked once per mapping, and only when direct reads are on. */
static bool map_is_lent(ShmMap *m, int fd) {
        if (m->lent < 0)
                m->lent = memfd_is_lent(fd);
        return m->lent > 0;
}

static int map_new(int fd, const struct stat *st, ShmMap **ret) {
        ShmMap *m = calloc(1, sizeof(*m));
        void *addr = NULL;

        if (!m)
                return -ENOMEM;
        if (st->st_size > 0) {
                addr = mmap(NULL, (size_t)st->st_size, PROT_READ, MAP_SHARED, fd, 0);
                if (addr == MAP_FAILED) {
                        free(m);
                        return -errno;
                }
        }
        m->n_ref = 1;
        m->addr = addr;
        m->size = (size_t)st->st_size;
        m->dev = st->st_dev;
        m->ino = st->st_ino;
        *ret = m;
        return 0;
}

/* The mapping of the memfd @fd (@st its fstat()): @p's cached one, else a
 * new one, cached when it fits. A reference for the caller. */
static int map_get(ShmPeer *p, int fd, const struct stat *st, ShmMap **ret) {
        ShmMap *m = p ? cache_find(p, st->st_dev, st->st_ino) : NULL;
        int r;

        if (m && m->size != (size_t)st->st_size) {
                cache_unlink(p, m); /* cannot happen to a slot: it cannot resize */
                m = NULL;
        }
        if (m) {
                m->n_ref++;
                p->map_hits++;
                *ret = m;
                return 0;
        }
        r = map_new(fd, st, &m);
        if (r < 0)
                return r;
        m->lent = st->st_uid == geteuid() ? -1 : 0;
        if (p) {
                p->map_misses++;
                cache_insert(p, m);
        }
        *ret = m;
        return 0;
}

static int pread_all(int fd, void *buf, size_t len) {
        char *q = buf;
        off_t off = 0;

        while (len > 0) {
                ssize_t n = pread(fd, q, len, off);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EIO; /* cannot shrink: sealed */
                q += n;
                off += n;
                len -= (size_t)n;
        }
        return 0;
}

/* Copy a received slot into a private buffer of @p's (or a new one): from
 * its mapping @src, or with pread() when NULL. */
static int copy_in(ShmPeer *p, busrpc_shm *s, const void *src, int fd) {
        int r = 0;

        if (s->size == 0)
                return 0;
        s->buf = buf_get(p, s->size);
        if (!s->buf)
                return -ENOMEM;
        if (src)
                memcpy(s->buf->addr, src, s->size);
        else
                r = pread_all(fd, s->buf->addr, s->size);
        if (r < 0) {
                buf_free(s->buf);
                s->buf = NULL;
                return r;
        }
        s->data = s->buf->addr;
        if (p) {
                p->copies++;
                s->peer = p;
                p->n_ref++;
        }
        return 0;
}

int shm_receive(busrpc_conn *c, int fd, uint64_t max_size, busrpc_shm **ret) {
        ShmPeer *p = NULL;
        ShmMap *m = NULL;
        busrpc_shm *s;
        struct stat st;
        bool stable, dense;
        int seals, r;

        if (fd < 0)
                return -EBADF;
        /* The size first, from the inode alone: a sealed sparse memfd of
         * 1 TiB costs its sender nothing, but a receiver that reads it
         * faults in (and hashes, copies...) every page. Neither fstat()
         * nor F_GET_SEALS touches the pages. */
        if (fstat(fd, &st) < 0) {
                r = -errno;
                goto fail;
        }
        r = -EPERM; /* a socket, pipe or device is no memfd */
        if (!S_ISREG(st.st_mode) || st.st_size < 0)
                goto fail;
        r = -EFBIG;
        if ((uint64_t)st.st_size > SIZE_MAX || (max_size && (uint64_t)st.st_size > max_size))
                goto fail;
        /* Then the seals, before mapping: a memfd its owner can still
         * shrink would SIGBUS the reader. One it can still write is a
         * slot: copied below unless both sides trust each other. */
        seals = fcntl(fd, F_GET_SEALS);
        r = -EPERM;
        if (seals < 0 || (seals & SLOT_SEALS) != SLOT_SEALS)
                goto fail;

        s = calloc(1, sizeof(*s));
        r = -ENOMEM;
        if (!s)
                goto fail;
        s->n_ref = 1;
        s->fd = -1;
        s->ro_fd = -1;
        s->size = (size_t)st.st_size;

        p = peer_get(c);
        stable = seals & F_SEAL_WRITE;
        /* A slot with holes is copied with pread(), without a mapping: a
         * read fault on a hole of a memfd allocates a page (charged to
         * the reader), where read() gives zeros. A sparse slot of the
         * size bound would otherwise cost us that much memory twice. */
        dense = (uint64_t)st.st_blocks * 512 >= (uint64_t)st.st_size;
        if (stable || dense || (p && p->direct)) {
                r = map_get(p, fd, &st, &m);
                if (r < 0) {
                        free(s);
                        goto fail;
                }
        }

        if (stable) {
                s->kind = SHM_SEALED;
                s->fd = fd; /* kept: forwarding it costs nothing */
                s->map = m;
                s->data = m->addr;
        } else if (p && p->direct && map_is_lent(m, fd)) {
                s->kind = SHM_DIRECT;
                s->map = m;
                s->data = m->addr;
                close(fd);
        } else {
                s->kind = SHM_COPY;
                r = copy_in(p, s, dense && m ? m->addr : NULL, fd);
                map_unref(m); /* stays mapped while cached */
                close(fd);
                if (r < 0) {
                        free(s);
                        return r;
                }
        }
        *ret = s;
        return 0;
fail:
        close(fd);
        return r;
}

void shm_pool_release(busrpc_shm *s) {
        ShmPeer *p = s->peer;

        switch (s->kind) {
        case SHM_SLOT:
                if (p && !p->gone && p->n_slots <= p->limits.pool_slots &&
                    p->slot_bytes <= p->limits.pool_bytes) {
                        s->next = p->idle;
                        p->idle = s;
                        return; /* the pool keeps its reference */
                }
                if (p) {
                        p->n_slots--;
                        p->slot_bytes -= s->size;
                }
                slot_destroy(s);
                peer_unref(p);
                return;
        case SHM_COPY:
                if (s->buf) {
                        if (p && !p->gone && bufs_make_room(p, s->buf->cap)) {
                                s->buf->next = p->bufs;
                                p->bufs = s->buf;
                                p->n_bufs++;
                                p->buf_bytes += s->buf->cap;
                        } else {
                                buf_free(s->buf);
                        }
                }
                peer_unref(p);
                break;
        default:
                map_unref(s->map);
                break;
        }
        if (s->fd >= 0)
                close(s->fd);
        free(s);
}

/* ---- settings ---- */

BUSRPC_EXPORT int busrpc_conn_set_shm_limits(busrpc_conn *c, const busrpc_shm_limits *limits) {
        busrpc_shm_limits l = { 0 };
        ShmPeer *p;

        return_if_fail(c, -EINVAL);
        if (limits)
                l = *limits;
        shm_limits_fill(&l);
        p = peer_get(c);
        if (!p)
                return peer_error(c);
        p->limits = l;
        /* Lowered: what is kept beyond the new bounds goes now (lent
         * slots when they come back). */
        (void)pool_make_room(p, 0, 0);
        (void)cache_make_room(p, 0, 0);
        (void)bufs_make_room(p, 0);
        return 0;
}

BUSRPC_EXPORT int busrpc_conn_get_shm_limits(busrpc_conn *c, busrpc_shm_limits *ret) {
        ShmPeer *p;

        return_if_fail(c && ret, -EINVAL);
        p = peer_get(c);
        if (!p)
                return peer_error(c);
        *ret = p->limits;
        return 0;
}

BUSRPC_EXPORT int busrpc_server_set_shm_limits(busrpc_server *s, const busrpc_shm_limits *limits) {
        busrpc_shm_limits l = { 0 };

        return_if_fail(s, -EINVAL);
        if (limits)
                l = *limits;
        shm_limits_fill(&l);
        s->shm_limits = l;
        return 0;
}

BUSRPC_EXPORT int busrpc_server_get_shm_limits(busrpc_server *s, busrpc_shm_limits *ret) {
        return_if_fail(s && ret, -EINVAL);
        *ret = s->shm_limits;
        shm_limits_fill(ret);
        return 0;
}

BUSRPC_EXPORT int busrpc_server_set_shm_direct(busrpc_server *s, bool direct) {
        return_if_fail(s, -EINVAL);
        s->shm_direct = direct;
        return 0;
}

BUSRPC_EXPORT int busrpc_conn_set_shm_direct(busrpc_conn *c, bool direct) {
        ShmPeer *p;

        return_if_fail(c, -EINVAL);
        p = peer_get(c);
        if (!p)
                return peer_error(c);
        if (p->direct != direct) {
                /* Idle slots carry the old declaration in their name. */
                while (p->idle) {
                        busrpc_shm *s = p->idle;

                        p->idle = s->next;
                        p->n_slots--;
                        p->slot_bytes -= s->size;
                        slot_destroy(s);
                        p->n_ref--;
                }
        }
        p->direct = direct;
        return 0;
}

BUSRPC_EXPORT int busrpc_conn_get_shm_stats(busrpc_conn *c, busrpc_shm_stats *ret) {
        ShmPeer *p;

        return_if_fail(c && ret, -EINVAL);
        p = peer_get(c);
        if (!p)
                return peer_error(c);
        memset(ret, 0, sizeof(*ret));
        ret->slots = p->n_slots;
        ret->slot_bytes = p->slot_bytes;
        for (busrpc_shm *s = p->idle; s; s = s->next)
                ret->idle_slots++;
        ret->maps = p->n_cached;
        ret->map_bytes = p->cached_bytes;
        ret->idle_copies = p->n_bufs;
        ret->idle_copy_bytes = p->buf_bytes;
        ret->map_hits = p->map_hits;
        ret->map_misses = p->map_misses;
        ret->copies = p->copies;
        ret->copy_reuses = p->buf_reuses;
        return 0;
}
