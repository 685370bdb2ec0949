/* test-shm.c: sealed memfd buffers. The sender's buffer becomes read-only
 * for everyone once sealed; a receiver refuses an fd that is not sealed,
 * and one larger than its bound before touching any page of it.
 */
#include <dbus/dbus.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
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

static int count_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *e;
        int n = 0;

        if (!d)
                return -1;
        while ((e = readdir(d)))
                n += e->d_name[0] != '.';
        closedir(d);
        return n - 1;
}

static int build_fd(busrpc_iter *it, void *userdata) {
        return busrpc_iter_append_fd(it, *(const int *)userdata);
}

/* A sealed sparse memfd: @size bytes that cost nothing until read. */
static int sparse_memfd(uint64_t size) {
        int fd = memfd_create("sparse", MFD_ALLOW_SEALING | MFD_CLOEXEC);

        if (fd < 0)
                return -1;
        if (ftruncate(fd, (off_t)size) < 0 ||
            fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
                close(fd);
                return -1;
        }
        return fd;
}

/* Receive @fd as the 'h' of a message, with bound @max (0: the default). */
static int receive(int fd, uint64_t max, busrpc_shm **ret) {
        busrpc_variant *v = NULL;
        busrpc_iter it;
        int r;

        r = busrpc_variant_new_built("h", build_fd, &fd, &v);
        if (r < 0)
                return r;
        busrpc_variant_read(v, &it);
        r = busrpc_iter_get_shm_max(&it, max, ret);
        busrpc_variant_unref(v);
        return r;
}

static void test_size_bound(void) {
        static const uint64_t huge[] = { UINT64_C(4) << 30, UINT64_C(1) << 40 };
        const uint64_t def = BUSRPC_MAX_SHM_SIZE_DEFAULT;
        busrpc_shm *r = NULL;
        struct stat st;
        int fd, n;

        ok(def == UINT64_C(256) << 20, "the default bound is 256 MiB");
        for (size_t i = 0; i < 2; i++) {
                fd = sparse_memfd(huge[i]);
                ok(fd >= 0, "a sealed sparse memfd of %llu GiB", (unsigned long long)(huge[i] >> 30));
                if (fd < 0)
                        continue;
                n = count_fds();
                is_int(receive(fd, 0, &r), -EFBIG, "received with the default bound: -EFBIG");
                ok(r == NULL, "nothing returned");
                is_int(count_fds(), n, "the received fd is closed");
                ok(fstat(fd, &st) == 0 && st.st_blocks == 0, "no page of it was touched (%lld blocks)",
                   (long long)st.st_blocks);
                close(fd);
        }

        fd = sparse_memfd(def);
        is_int(receive(fd, 0, &r), 0, "exactly 256 MiB: accepted");
        is_int(busrpc_shm_size(r), def, "its size");
        r = busrpc_shm_unref(r);
        close(fd);
        fd = sparse_memfd(def + 1);
        is_int(receive(fd, 0, &r), -EFBIG, "256 MiB + 1: -EFBIG");
        close(fd);

        fd = sparse_memfd(4096);
        is_int(receive(fd, 4096, &r), 0, "an explicit bound of 4096 takes 4096 bytes");
        r = busrpc_shm_unref(r);
        close(fd);
        fd = sparse_memfd(4097);
        n = count_fds();
        is_int(receive(fd, 4096, &r), -EFBIG, "and refuses 4097");
        is_int(count_fds(), n, "closing the fd");
        close(fd);
        fd = sparse_memfd(def + 1);
        is_int(receive(fd, 2 * def, &r), 0, "a bound may also allow more than the default (512 MiB)");
        r = busrpc_shm_unref(r);
        close(fd);
}

static void test_not_a_memfd(void) {
        busrpc_shm *r = NULL;
        int p[2], n;

        ok(pipe2(p, O_CLOEXEC) == 0, "a pipe");
        n = count_fds();
        is_int(receive(p[0], 0, &r), -EPERM, "a pipe's fd is refused with -EPERM");
        is_int(count_fds(), n, "and closed");
        close(p[0]);
        close(p[1]);
}

/* Mappings of memfds named @name in this process. */
static unsigned count_maps(const char *name) {
        FILE *f = fopen("/proc/self/maps", "r");
        char line[512];
        unsigned n = 0;

        if (!f)
                return 0;
        while (fgets(line, sizeof(line), f))
                n += strstr(line, name) != NULL;
        fclose(f);
        return n;
}

/* busrpc_shm_write(): pwrite into the memfd; nothing is mapped until
 * someone asks for a pointer, so a buffer filled and sent costs no page
 * fault here. */
static void test_write(void) {
        busrpc_shm *s = NULL, *r = NULL;
        const unsigned char *p;
        unsigned char buf[8192];
        unsigned maps;

        maps = count_maps("/memfd:busrpc-shm");
        is_int(busrpc_shm_new(3 * 4096, &s), 0, "a 12 KiB shm");
        if (!s)
                return;
        memset(buf, 0x5a, sizeof(buf));
        is_int(busrpc_shm_write(s, 100, buf, sizeof(buf)), 0, "busrpc_shm_write of 8 KiB at 100");
        is_int(busrpc_shm_write(s, 3 * 4096 - 1, buf, 2), -EFBIG, "past the end: -EFBIG, the memfd does not grow");
        is_int(busrpc_shm_write(s, UINT64_MAX, buf, 2), -EFBIG, "an offset that would wrap: -EFBIG");
        is_int(busrpc_shm_write(s, 0, NULL, 1), -EINVAL, "NULL data: -EINVAL");
        is_int(count_maps("/memfd:busrpc-shm"), maps, "nothing mapped by writing");
        is_int(busrpc_shm_seal(s), 0, "sealed without ever being mapped");
        is_int(busrpc_shm_write(s, 0, buf, 1), -EPERM, "a sealed shm: -EPERM");
        p = busrpc_shm_const_data(s);
        ok(p && p[99] == 0 && p[100] == 0x5a && p[100 + 8191] == 0x5a && p[100 + 8192] == 0,
           "the bytes are there when read");
        is_int(busrpc_shm_from_fd(busrpc_shm_get_fd(s), &r), 0, "received");
        is_int(busrpc_shm_write(r, 0, buf, 1), -EPERM, "a received shm cannot be written");
        busrpc_shm_unref(r);
        busrpc_shm_unref(s);
}

/* A memfd sealed against resizing only (a pool slot, or what any peer
 * may send): taken as a private copy, which the sender's later writes do
 * not reach. One that could shrink is refused. */
static void test_slot_copy(void) {
        busrpc_shm *r = NULL;
        int fd = memfd_create("slot", MFD_ALLOW_SEALING | MFD_CLOEXEC), fd2;
        const char *p;

        ok(fd >= 0 && ftruncate(fd, 4096) == 0 && pwrite(fd, "before", 6, 0) == 6 &&
                   fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK) == 0,
           "a memfd sealed against growing and shrinking");
        is_int(busrpc_shm_from_fd(fd, &r), 0, "accepted");
        if (r) {
                ok(pwrite(fd, "after!", 6, 0) == 6, "its owner writes it again");
                p = busrpc_shm_const_data(r);
                ok(p && memcmp(p, "before", 6) == 0, "the copy still says 'before'");
                ok(busrpc_shm_is_sealed(r), "a copy is as stable as a sealed buffer");
                ok(busrpc_shm_data(r) == NULL, "no writable pointer");
                fd2 = busrpc_shm_get_fd(r);
                ok(fd2 >= 0 && fd2 != fd && (fcntl(fd2, F_GET_SEALS) & F_SEAL_WRITE),
                   "its fd, made on demand, is a sealed memfd of the copy");
                busrpc_shm_unref(r);
        }
        close(fd);
}

int main(void) {
        TAP_RUN(test_seal);
        TAP_RUN(test_write);
        TAP_RUN(test_slot_copy);
        TAP_RUN(test_receive_checks);
        TAP_RUN(test_zero_size);
        TAP_RUN(test_big_through_message);
        TAP_RUN(test_size_bound);
        TAP_RUN(test_not_a_memfd);
        dbus_shutdown();
        return tap_done();
}
