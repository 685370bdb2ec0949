/* shm.c: busrpc_shm, a read-only shared-memory buffer carried as a sealed
 * memfd. The sender writes into a private memfd, seals it against writes,
 * growth and shrinking, and passes the fd; the receiver checks the seals
 * before it maps anything, so the bytes it reads cannot change under it.
 * The payload is never copied. A received one is bounded in size (the
 * connection's limit, or the argument's @max_size), checked before that.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "data.h"

#define SEALS_REQUIRED (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW)

struct busrpc_shm {
        unsigned n_ref;
        int fd;
        void *data; /* NULL when size is 0 */
        size_t size;
        bool sealed;
};

static int shm_map(busrpc_shm *s, int prot) {
        void *p;

        if (s->size == 0) {
                s->data = NULL;
                return 0;
        }
        p = mmap(NULL, s->size, prot, MAP_SHARED, s->fd, 0);
        if (p == MAP_FAILED)
                return -errno;
        s->data = p;
        return 0;
}

static void shm_unmap(busrpc_shm *s) {
        if (s->data)
                munmap(s->data, s->size);
        s->data = NULL;
}

BUSRPC_EXPORT int busrpc_shm_new(size_t size, busrpc_shm **ret) {
        busrpc_shm *s;
        int r;

        return_if_fail(ret, -EINVAL);
        return_if_fail(size <= (size_t)INT64_MAX, -E2BIG);
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->n_ref = 1;
        s->size = size;
        s->fd = memfd_create("busrpc-shm", MFD_ALLOW_SEALING | MFD_CLOEXEC);
        if (s->fd < 0) {
                r = -errno;
                free(s);
                return r;
        }
        if (ftruncate(s->fd, (off_t)size) < 0) {
                r = -errno;
                goto fail;
        }
        r = shm_map(s, PROT_READ | PROT_WRITE);
        if (r < 0)
                goto fail;
        *ret = s;
        return 0;
fail:
        close(s->fd);
        free(s);
        return r;
}

int shm_from_owned_fd(int fd, uint64_t max_size, busrpc_shm **ret) {
        busrpc_shm *s;
        struct stat st;
        int seals, r;

        if (fd < 0)
                return -EBADF;
        /* The size first, from the inode alone: a sealed sparse memfd of
         * 1 TiB costs its sender nothing, but a receiver that reads it
         * faults in (and hashes, copies...) every page. Neither fstat()
         * nor F_GET_SEALS touches the pages. */
        if (fstat(fd, &st) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        if (!S_ISREG(st.st_mode) || st.st_size < 0) {
                close(fd);
                return -EPERM; /* a socket, pipe or device is no memfd */
        }
        if ((uint64_t)st.st_size > SIZE_MAX || (max_size && (uint64_t)st.st_size > max_size)) {
                close(fd);
                return -EFBIG;
        }
        /* Then the seals, before mapping: an fd whose owner can still write
         * or truncate it is refused (a shrink would SIGBUS the reader). */
        seals = fcntl(fd, F_GET_SEALS);
        if (seals < 0 || (seals & SEALS_REQUIRED) != SEALS_REQUIRED) {
                close(fd);
                return -EPERM;
        }
        s = calloc(1, sizeof(*s));
        if (!s) {
                close(fd);
                return -ENOMEM;
        }
        s->n_ref = 1;
        s->fd = fd;
        s->size = (size_t)st.st_size;
        s->sealed = true;
        r = shm_map(s, PROT_READ);
        if (r < 0) {
                close(fd);
                free(s);
                return r;
        }
        *ret = s;
        return 0;
}

BUSRPC_EXPORT int busrpc_shm_from_fd(int fd, busrpc_shm **ret) {
        int dup_fd;

        return_if_fail(ret, -EINVAL);
        return_if_fail(fd >= 0, -EBADF);
        dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (dup_fd < 0)
                return -errno;
        return shm_from_owned_fd(dup_fd, 0, ret);
}

BUSRPC_EXPORT busrpc_shm *busrpc_shm_ref(busrpc_shm *s) {
        if (s)
                s->n_ref++;
        return s;
}

BUSRPC_EXPORT busrpc_shm *busrpc_shm_unref(busrpc_shm *s) {
        if (!s || --s->n_ref > 0)
                return NULL;
        shm_unmap(s);
        close(s->fd);
        free(s);
        return NULL;
}

BUSRPC_EXPORT void *busrpc_shm_data(busrpc_shm *s) {
        return s && !s->sealed ? s->data : NULL;
}

BUSRPC_EXPORT const void *busrpc_shm_const_data(const busrpc_shm *s) {
        return s ? s->data : NULL;
}

BUSRPC_EXPORT size_t busrpc_shm_size(const busrpc_shm *s) {
        return s ? s->size : 0;
}

BUSRPC_EXPORT bool busrpc_shm_is_sealed(const busrpc_shm *s) {
        return s && s->sealed;
}

BUSRPC_EXPORT int busrpc_shm_get_fd(const busrpc_shm *s) {
        return s ? s->fd : -EINVAL;
}

BUSRPC_EXPORT int busrpc_shm_seal(busrpc_shm *s) {
        int r;

        return_if_fail(s, -EINVAL);
        if (s->sealed)
                return 0;
        /* F_SEAL_WRITE fails with EBUSY while a shared writable mapping
         * exists: drop ours first, then map again read-only. */
        shm_unmap(s);
        if (fcntl(s->fd, F_ADD_SEALS, SEALS_REQUIRED | F_SEAL_SEAL) < 0) {
                r = -errno;
                (void)shm_map(s, PROT_READ | PROT_WRITE); /* stay usable, unsealed */
                return r;
        }
        s->sealed = true;
        r = shm_map(s, PROT_READ);
        if (r < 0)
                return r;
        return 0;
}

BUSRPC_EXPORT int busrpc_iter_append_shm(busrpc_iter *it, busrpc_shm *shm) {
        int r;

        return_if_fail(it && shm, -EINVAL);
        r = busrpc_shm_seal(shm);
        if (r < 0)
                return r;
        return busrpc_iter_append_fd(it, shm->fd);
}

BUSRPC_EXPORT int busrpc_iter_get_shm_max(busrpc_iter *it, uint64_t max_size, busrpc_shm **ret) {
        Iter *i = iter_priv(it);
        int fd, r;

        return_if_fail(it && ret && i->mode == ITER_READ, -EINVAL);
        if (max_size == 0)
                max_size = i->max_shm ? i->max_shm : BUSRPC_MAX_SHM_SIZE_DEFAULT;
        r = busrpc_iter_get_fd(it, &fd);
        if (r < 0)
                return r;
        return shm_from_owned_fd(fd, max_size, ret);
}

BUSRPC_EXPORT int busrpc_iter_get_shm(busrpc_iter *it, busrpc_shm **ret) {
        return busrpc_iter_get_shm_max(it, 0, ret);
}
