/* test-shm.c: sealed memfd buffers. The sender's buffer becomes read-only
 * for everyone once sealed; a receiver refuses an fd that is not sealed.
 */
#include <dbus/dbus.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "busrpc/busrpc.h"
#include "tap.h"

static void test_seal(void) {
        busrpc_shm *s = NULL;
        unsigned char *w;
        const unsigned char *ro;
        int seals;

        is_int(busrpc_shm_new(4096, &s), 0, "shm of 4096 bytes");
        if (!s)
                return;
        ok(!busrpc_shm_is_sealed(s), "not sealed yet");
        w = busrpc_shm_data(s);
        ok(w != NULL, "writable pointer");
        memset(w, 0xab, 4096);
        is_int(busrpc_shm_seal(s), 0, "seal");
        ok(busrpc_shm_is_sealed(s), "sealed");
        ok(busrpc_shm_data(s) == NULL, "no writable pointer after sealing");
        ro = busrpc_shm_const_data(s);
        ok(ro && ro[0] == 0xab && ro[4095] == 0xab, "contents kept");
        seals = fcntl(busrpc_shm_get_fd(s), F_GET_SEALS);
        ok(seals >= 0 && (seals & (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL)) ==
                                 (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL),
           "write, grow, shrink and seal seals set");
        ok(pwrite(busrpc_shm_get_fd(s), "x", 1, 0) < 0 && errno == EPERM, "pwrite after sealing: EPERM");
        ok(ftruncate(busrpc_shm_get_fd(s), 0) < 0, "shrinking refused");
        is_int(busrpc_shm_seal(s), 0, "sealing twice is fine");
        busrpc_shm_unref(s);
}

static void test_receive_checks(void) {
        busrpc_shm *s = NULL, *r = NULL;
        const unsigned char *p;
        int fd;

        /* An unsealed memfd: its owner could still change it. */
        fd = memfd_create("test", MFD_ALLOW_SEALING | MFD_CLOEXEC);
        ok(fd >= 0 && ftruncate(fd, 100) == 0, "plain memfd");
        is_int(busrpc_shm_from_fd(fd, &r), -EPERM, "unsealed memfd refused with -EPERM");
        ok(r == NULL, "nothing returned");
        fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE);
        is_int(busrpc_shm_from_fd(fd, &r), -EPERM, "write seal alone is not enough (shrink would SIGBUS)");
        close(fd);
        is_int(busrpc_shm_from_fd(STDIN_FILENO, &r), -EPERM, "a non-memfd is refused");
        is_int(busrpc_shm_from_fd(-1, &r), -EBADF, "bad fd");

        busrpc_shm_new(100, &s);
        strcpy(busrpc_shm_data(s), "hello");
        busrpc_shm_seal(s);
        is_int(busrpc_shm_from_fd(busrpc_shm_get_fd(s), &r), 0, "sealed memfd accepted");
        if (r) {
                p = busrpc_shm_const_data(r);
                is_int(busrpc_shm_size(r), 100, "size from fstat");
                is_str((const char *)p, "hello", "contents");
                ok(busrpc_shm_data(r) == NULL, "receiver gets no writable pointer");
                ok(mprotect((void *)p, 100, PROT_READ | PROT_WRITE) != 0, "mapping cannot be made writable");
                ok(busrpc_shm_get_fd(r) != busrpc_shm_get_fd(s), "from_fd dup'ed the fd");
                busrpc_shm_unref(r);
        }
        busrpc_shm_unref(s);
}

static void test_zero_size(void) {
        busrpc_shm *s = NULL, *r = NULL;

        is_int(busrpc_shm_new(0, &s), 0, "zero-size shm");
        is_int(busrpc_shm_seal(s), 0, "sealed");
        is_int(busrpc_shm_from_fd(busrpc_shm_get_fd(s), &r), 0, "received");
        is_int(busrpc_shm_size(r), 0, "size 0");
        busrpc_shm_unref(r);
        busrpc_shm_unref(s);
}

static int build_shm(busrpc_iter *it, void *userdata) {
        return busrpc_iter_append_shm(it, userdata);
}

static void test_big_through_message(void) {
        const size_t size = 64u << 20;
        busrpc_shm *s = NULL, *r = NULL;
        busrpc_variant *v = NULL;
        busrpc_iter it;
        unsigned char *w;
        const unsigned char *p;
        bool same = true;

        is_int(busrpc_shm_new(size, &s), 0, "64 MiB shm");
        if (!s)
                return;
        w = busrpc_shm_data(s);
        for (size_t k = 0; k < size; k += 4096)
                w[k] = (unsigned char)(k >> 12);
        is_int(busrpc_variant_new_built("h", build_shm, s, &v), 0, "appended to a message (as 'h')");
        ok(busrpc_shm_is_sealed(s), "appending sealed it");
        busrpc_variant_read(v, &it);
        is_int(busrpc_iter_get_shm(&it, &r), 0, "read back with busrpc_iter_get_shm");
        if (r) {
                p = busrpc_shm_const_data(r);
                is_int(busrpc_shm_size(r), size, "64 MiB");
                ok(p != busrpc_shm_const_data(s), "a mapping of its own (shared pages, no copy)");
                for (size_t k = 0; k < size; k += 4096)
                        if (p[k] != (unsigned char)(k >> 12))
                                same = false;
                ok(same, "contents match");
                busrpc_shm_unref(r);
        }
        busrpc_variant_unref(v);
        busrpc_shm_unref(s);
}

int main(void) {
        TAP_RUN(test_seal);
        TAP_RUN(test_receive_checks);
        TAP_RUN(test_zero_size);
        TAP_RUN(test_big_through_message);
        dbus_shutdown();
        return tap_done();
}
