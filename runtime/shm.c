/* shm.c: busrpc_shm, a shared-memory buffer carried as a memfd ('h').
 *
 * Two kinds are sent. busrpc_shm_new() makes a private memfd that
 * appending seals against writes, growth and shrinking: whoever receives
 * it reads it in place and it never changes. busrpc_conn_shm_new() hands
 * out a pool slot (shm-pool.c): a memfd sealed only against resizing, so
 * that it can be written again, lent to the receiver of a call until the
 * reply, then reused; receivers copy such a slot on receipt unless both
 * sides opted into direct reads.
 *
 * Nothing maps a buffer until someone asks for its bytes:
 * busrpc_shm_write() fills a memfd with pwrite(), which costs no page
 * fault in this process.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "message.h"
#include "shm.h"

#define SEALS_ALL (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW)

int shm_memfd(const char *name, size_t size, int seals, int *ret_fd) {
        int fd, r;

        fd = memfd_create(name, MFD_ALLOW_SEALING | MFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (ftruncate(fd, (off_t)size) < 0 || (seals && fcntl(fd, F_ADD_SEALS, seals) < 0)) {
                r = -errno;
                close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

static int pwrite_all(int fd, const void *data, size_t len, uint64_t offset) {
        const char *p = data;

        while (len > 0) {
                ssize_t n = pwrite(fd, p, len, (off_t)offset);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EIO;
                p += n;
                len -= (size_t)n;
                offset += (uint64_t)n;
        }
        return 0;
}

int shm_sealed_copy(const void *data, size_t size, int *ret_fd) {
        int fd, r;

        r = shm_memfd("busrpc-shm", size, 0, &fd);
        if (r < 0)
                return r;
        r = size ? pwrite_all(fd, data, size, 0) : 0;
        if (r >= 0 && fcntl(fd, F_ADD_SEALS, SEALS_ALL | F_SEAL_SEAL) < 0)
                r = -errno;
        if (r < 0) {
                close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

/* Map an own buffer or slot (lazily: nothing is mapped at creation). */
static int shm_map_own(busrpc_shm *s, bool writable) {
        void *p;

        if (s->data || s->size == 0)
                return 0;
        p = mmap(NULL, s->size, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, s->fd, 0);
        if (p == MAP_FAILED)
                return -errno;
        s->data = p;
        s->mapped_rw = writable;
        return 0;
}

static void shm_unmap_own(busrpc_shm *s) {
        if (s->data)
                munmap(s->data, s->size);
        s->data = NULL;
        s->mapped_rw = false;
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
        s->kind = SHM_OWN;
        s->ro_fd = -1;
        s->size = size;
        r = shm_memfd("busrpc-shm", size, 0, &s->fd);
        if (r < 0) {
                free(s);
                return r;
        }
        *ret = s;
        return 0;
}

int shm_from_owned_fd(int fd, uint64_t max_size, busrpc_shm **ret) {
        return shm_receive(NULL, fd, max_size, ret);
}

BUSRPC_EXPORT int busrpc_shm_from_fd(int fd, busrpc_shm **ret) {
        int dup_fd;

        return_if_fail(ret, -EINVAL);
        return_if_fail(fd >= 0, -EBADF);
        dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (dup_fd < 0)
                return -errno;
        return shm_receive(NULL, dup_fd, 0, ret);
}

BUSRPC_EXPORT busrpc_shm *busrpc_shm_ref(busrpc_shm *s) {
        if (s)
                s->n_ref++;
        return s;
}

BUSRPC_EXPORT busrpc_shm *busrpc_shm_unref(busrpc_shm *s) {
        if (!s || --s->n_ref > 0)
                return NULL;
        if (s->kind != SHM_OWN) {
                shm_pool_release(s);
                return NULL;
        }
        shm_unmap_own(s);
        close(s->fd);
        free(s);
        return NULL;
}

BUSRPC_EXPORT void *busrpc_shm_data(busrpc_shm *s) {
        if (!s || (s->kind != SHM_OWN && s->kind != SHM_SLOT) || s->sealed)
                return NULL;
        if (s->data && !s->mapped_rw)
                shm_unmap_own(s); /* mapped read-only by busrpc_shm_const_data() */
        if (shm_map_own(s, true) < 0)
                return NULL;
        return s->data;
}

BUSRPC_EXPORT const void *busrpc_shm_const_data(const busrpc_shm *s) {
        busrpc_shm *m = (busrpc_shm *)s; /* the mapping is made on first use */

        if (!s)
                return NULL;
        if ((s->kind == SHM_OWN || s->kind == SHM_SLOT) && shm_map_own(m, s->kind == SHM_SLOT || !s->sealed) < 0)
                return NULL;
        return s->data;
}

BUSRPC_EXPORT size_t busrpc_shm_size(const busrpc_shm *s) {
        return s ? s->size : 0;
}

BUSRPC_EXPORT bool busrpc_shm_is_sealed(const busrpc_shm *s) {
        if (!s)
                return false;
        switch (s->kind) {
        case SHM_OWN:
                return s->sealed;
        case SHM_SEALED:
        case SHM_COPY:
                return true; /* nobody can change what this process reads */
        default:
                return false;
        }
}

/* The fd of a received copy or direct slot: a sealed memfd of the bytes
 * this process sees, made the first time someone asks (forwarding it). */
static int shm_materialize(busrpc_shm *s) {
        if (s->fd >= 0)
                return 0;
        return shm_sealed_copy(s->data, s->size, &s->fd);
}

BUSRPC_EXPORT int busrpc_shm_get_fd(const busrpc_shm *s) {
        busrpc_shm *m = (busrpc_shm *)s;
        int r;

        return_if_fail(s, -EINVAL);
        if (s->kind == SHM_COPY || s->kind == SHM_DIRECT) {
                r = shm_materialize(m);
                if (r < 0)
                        return r;
        }
        return s->fd;
}

BUSRPC_EXPORT int busrpc_shm_seal(busrpc_shm *s) {
        return_if_fail(s, -EINVAL);
        switch (s->kind) {
        case SHM_SEALED:
        case SHM_COPY:
                return 0;
        case SHM_DIRECT:
        case SHM_SLOT:
                return -EPERM; /* slots are written again: never sealed */
        default:
                break;
        }
        if (s->sealed)
                return 0;
        /* F_SEAL_WRITE fails with EBUSY while a shared writable mapping
         * exists: drop ours first (busrpc_shm_const_data() maps it again,
         * read-only, when asked). */
        if (s->mapped_rw)
                shm_unmap_own(s);
        if (fcntl(s->fd, F_ADD_SEALS, SEALS_ALL | F_SEAL_SEAL) < 0)
                return -errno;
        s->sealed = true;
        return 0;
}

BUSRPC_EXPORT int busrpc_shm_write(busrpc_shm *s, uint64_t offset, const void *data, size_t len) {
        return_if_fail(s && (data || len == 0), -EINVAL);
        if ((s->kind != SHM_OWN && s->kind != SHM_SLOT) || s->sealed)
                return -EPERM;
        if (offset > s->size || len > s->size - offset)
                return -EFBIG; /* an own memfd would grow; a slot cannot */
        if (len == 0)
                return 0;
        if (s->mapped_rw && len <= 4096) {
                /* Mapped anyway and small: a system call costs more. */
                memcpy((char *)s->data + offset, data, len);
                return 0;
        }
        return pwrite_all(s->fd, data, len, offset);
}

/* The slots a message carries, referenced for as long as libdbus keeps
 * the message: a slot is never handed out again while a message holding
 * it still waits to be written (or, where the caller keeps the call
 * message until its reply, until the reply). */
typedef struct MsgSlots {
        unsigned n;
        busrpc_shm *shm[];
} MsgSlots;

static dbus_int32_t msg_slots_slot = -1;

static void msg_slots_free(void *data) {
        MsgSlots *ms = data;

        for (unsigned i = 0; i < ms->n; i++)
                busrpc_shm_unref(ms->shm[i]);
        free(ms);
        dbus_message_free_data_slot(&msg_slots_slot);
}

static int msg_hold_slot(DBusMessage *m, busrpc_shm *shm) {
        MsgSlots *old = NULL, *ms;

        if (msg_slots_slot >= 0)
                old = dbus_message_get_data(m, msg_slots_slot);
        ms = malloc(sizeof(*ms) + ((old ? old->n : 0) + 1) * sizeof(ms->shm[0]));
        if (!ms)
                return -ENOMEM;
        ms->n = 0;
        if (old) {
                memcpy(ms->shm, old->shm, old->n * sizeof(ms->shm[0]));
                ms->n = old->n;
                old->n = 0; /* its references move to @ms */
        }
        ms->shm[ms->n++] = busrpc_shm_ref(shm);
        /* One slot reference per message holding data: taken here, given
         * back by msg_slots_free() (replacing @old frees it, and its
         * reference, through the same function). */
        if (!dbus_message_allocate_data_slot(&msg_slots_slot) ||
            !dbus_message_set_data(m, msg_slots_slot, ms, msg_slots_free)) {
                if (msg_slots_slot >= 0 && (!old || dbus_message_get_data(m, msg_slots_slot) == old))
                        dbus_message_free_data_slot(&msg_slots_slot);
                if (old) { /* give the references back to @old */
                        memcpy(old->shm, ms->shm, (ms->n - 1) * sizeof(ms->shm[0]));
                        old->n = ms->n - 1;
                }
                busrpc_shm_unref(shm);
                free(ms);
                return -ENOMEM;
        }
        return 0;
}

/* Would a slot appended to the message of @it come back to us only after
 * the receiver is done with it? Only for a call that waits for its reply. */
static bool iter_lends(busrpc_iter *it) {
        DBusMessage *m = iter_priv(it)->msg;

        return m && dbus_message_get_type(m) == DBUS_MESSAGE_TYPE_METHOD_CALL && !dbus_message_get_no_reply(m);
}

BUSRPC_EXPORT int busrpc_iter_append_shm(busrpc_iter *it, busrpc_shm *shm) {
        const void *p;
        int fd, r;

        return_if_fail(it && shm, -EINVAL);
        switch (shm->kind) {
        case SHM_SLOT:
                if (iter_lends(it)) {
                        r = busrpc_iter_append_fd(it, shm->ro_fd >= 0 ? shm->ro_fd : shm->fd);
                        if (r >= 0)
                                r = msg_hold_slot(iter_priv(it)->msg, shm);
                        return r;
                }
                /* A reply or a signal is never acknowledged: the slot could
                 * be written again while the receiver reads it. Send what it
                 * holds now, sealed. */
                p = busrpc_shm_const_data(shm);
                if (!p && shm->size)
                        return -ENOMEM;
                r = shm_sealed_copy(p, shm->size, &fd);
                if (r < 0)
                        return r;
                r = busrpc_iter_append_fd(it, fd); /* libdbus dups it */
                close(fd);
                return r;
        case SHM_COPY:
        case SHM_DIRECT:
                r = shm_materialize(shm);
                if (r < 0)
                        return r;
                return busrpc_iter_append_fd(it, shm->fd);
        default:
                r = busrpc_shm_seal(shm);
                if (r < 0)
                        return r;
                return busrpc_iter_append_fd(it, shm->fd);
        }
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
        return shm_receive(i->conn, fd, max_size, ret);
}

BUSRPC_EXPORT int busrpc_iter_get_shm(busrpc_iter *it, busrpc_shm **ret) {
        return busrpc_iter_get_shm_max(it, 0, ret);
}
