/* test-shm-pool.c: the shared-memory pool of a connection (shm-pool.c),
 * against a service in a child process, on a peer socket and through a
 * private dbus-daemon:
 *  - the sender's slots come back by size (same memfd, same mapping), are
 *    sealed against resizing but not writing, refuse sealing and writes
 *    past their end; the pool's bounds (slots, bytes) give plain buffers;
 *  - the receiver copies a slot on receipt into a reused buffer, and its
 *    snapshot stays as it was when the sender writes the slot afterwards;
 *    a sealed buffer sent twice is mapped once; direct reads happen only
 *    when both sides declared them;
 *  - hostile fds (unsealed, shrinkable, a pipe, a plain file, a sparse
 *    1 TiB slot, many distinct slots) get InvalidArgs or are handled by
 *    the cache bound, the service keeps serving and holds no fd more;
 *  - a python-dbus peer's slot-style memfd is copied the same way, and a
 *    python-dbus service reads busrpc's slots as any 'h';
 *  - a peer server's busrpc_server_set_shm_limits() and
 *    busrpc_server_set_shm_direct() reach the peers it serves afterwards.
 */
#include <dbus/dbus.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "busrpc/busrpc.h"
#include "data-bus.h"
#include "tap.h"

#define NAME "org.busrpc.test.ShmPool"
#define IFACE "org.busrpc.test.ShmPool"
#define PATH "/org/busrpc/test/ShmPool"
#define MIB (1u << 20)

/* is_int() with a formatted name. */
#define is_intf(got, want, ...)                                                                 \
        do {                                                                                    \
                intmax_t g_ = (intmax_t)(got), w_ = (intmax_t)(want);                           \
                if (!ok(g_ == w_, __VA_ARGS__))                                                 \
                        tap_diag("  got %jd, want %jd", g_, w_);                                \
        } while (0)

/* ---- the service (child process) ---- */

static busrpc_shm *kept;

static uint64_t sum_bytes(const void *data, size_t n) {
        const unsigned char *p = data;
        uint64_t s = 0;

        for (size_t i = 0; i < n; i++)
                s += p[i];
        return s;
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

/* Mappings of memfds in this process (/proc/self/maps). */
static unsigned count_memfd_maps(void) {
        FILE *f = fopen("/proc/self/maps", "r");
        char line[512];
        unsigned n = 0;

        if (!f)
                return 0;
        while (fgets(line, sizeof(line), f))
                n += strstr(line, "/memfd:") != NULL;
        fclose(f);
        return n;
}

static int fail_shm(busrpc_call *call, int r) {
        return busrpc_call_fail(call, BUSRPC_ERROR_INVALID_ARGS, "shm refused (%s)", strerror(-r));
}

static int reply_tt(busrpc_call *call, const char *sig, uint64_t a, uint64_t b, uint64_t c) {
        busrpc_msg *reply = NULL;
        busrpc_iter it;
        int r;

        if ((r = busrpc_call_reply_new(call, &reply)) < 0)
                return r;
        busrpc_msg_append(reply, &it);
        busrpc_iter_append_basic(&it, 't', &a);
        if (sig[1])
                busrpc_iter_append_basic(&it, 't', &b);
        if (sig[1] && sig[2])
                busrpc_iter_append_basic(&it, 't', &c);
        return busrpc_msg_send(reply);
}

/* Sum(h) -> (sum, sealed, address): what the op reads, whether it can
 * still change (0: read in place from a lent slot), where it is mapped. */
static int srv_sum(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        busrpc_shm *shm = NULL;
        uint64_t sum, sealed, addr;
        int r;

        if ((r = busrpc_iter_get_shm(args, &shm)) < 0)
                return fail_shm(call, r);
        sum = sum_bytes(busrpc_shm_const_data(shm), busrpc_shm_size(shm));
        sealed = busrpc_shm_is_sealed(shm);
        addr = (uint64_t)(uintptr_t)busrpc_shm_const_data(shm);
        busrpc_shm_unref(shm);
        return reply_tt(call, "ttt", sum, sealed, addr);
}

/* Keep(h) -> (t): keep the shm until Release; its sum now. */
static int srv_keep(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        busrpc_shm *shm = NULL;
        int r;

        if ((r = busrpc_iter_get_shm(args, &shm)) < 0)
                return fail_shm(call, r);
        busrpc_shm_unref(kept);
        kept = shm;
        return reply_tt(call, "t", sum_bytes(busrpc_shm_const_data(shm), busrpc_shm_size(shm)), 0, 0);
}

/* Kept() -> (t): the kept shm's sum, read again now. */
static int srv_kept(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        if (!kept)
                return busrpc_call_fail(call, BUSRPC_ERROR_FAILED, "nothing kept");
        return reply_tt(call, "t", sum_bytes(busrpc_shm_const_data(kept), busrpc_shm_size(kept)), 0, 0);
}

/* Release() -> (t): drop the kept shm; the fds open then. */
static int srv_release(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        kept = busrpc_shm_unref(kept);
        return reply_tt(call, "t", (uint64_t)count_fds(), 0, 0);
}

/* Setup(b, u, t, t) -> (u, t): direct reads on or off, the cache bounds
 * (entries, bytes) and the copy buffers' bound (0: defaults) of the
 * caller's connection; answers the cache bounds in force. */
static int srv_setup(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        busrpc_conn *c = busrpc_call_get_conn(call);
        busrpc_shm_limits l = { 0 };
        uint32_t direct, entries;
        uint64_t bytes, copy;
        int r;

        if ((r = busrpc_iter_get_basic(args, 'b', &direct)) < 0 || (r = busrpc_iter_get_basic(args, 'u', &entries)) < 0 ||
            (r = busrpc_iter_get_basic(args, 't', &bytes)) < 0 || (r = busrpc_iter_get_basic(args, 't', &copy)) < 0)
                return r;
        l.cache_entries = entries;
        l.cache_bytes = bytes;
        l.copy_bytes = copy;
        if ((r = busrpc_conn_set_shm_direct(c, direct)) < 0 || (r = busrpc_conn_set_shm_limits(c, &l)) < 0 ||
            (r = busrpc_conn_get_shm_limits(c, &l)) < 0)
                return r;
        return reply_tt(call, "tt", l.cache_entries, l.cache_bytes, 0);
}

/* State() -> (t, t, t): memfd mappings and open fds of the service, and
 * the mappings the caller's connection keeps (its stats). */
static int srv_state(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        busrpc_shm_stats st = { 0 };

        busrpc_conn_get_shm_stats(busrpc_call_get_conn(call), &st);
        return reply_tt(call, "ttt", count_memfd_maps(), (uint64_t)count_fds(), st.maps);
}

/* Stats() -> (t, t, t): of the caller's connection: received memfds found
 * mapped already, copies made into a kept buffer, bytes of kept buffers. */
static int srv_stats(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        busrpc_shm_stats st;
        int r;

        if ((r = busrpc_conn_get_shm_stats(busrpc_call_get_conn(call), &st)) < 0)
                return r;
        return reply_tt(call, "ttt", st.map_hits, st.copy_reuses, st.idle_copy_bytes);
}

/* Limits() -> (t, t, t): the caller's connection's cache entries and
 * bytes, and copy bytes, in force. */
static int srv_limits(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        busrpc_shm_limits l;
        int r;

        if ((r = busrpc_conn_get_shm_limits(busrpc_call_get_conn(call), &l)) < 0)
                return r;
        return reply_tt(call, "ttt", l.cache_entries, l.cache_bytes, l.copy_bytes);
}

/* Echo(h) -> (h): the bytes back, in a slot of the service's pool (a
 * reply: a sealed copy goes). */
static int srv_echo(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        busrpc_shm *in = NULL, *out = NULL;
        busrpc_msg *reply = NULL;
        busrpc_iter it;
        int r;

        if ((r = busrpc_iter_get_shm(args, &in)) < 0)
                return fail_shm(call, r);
        r = busrpc_conn_shm_new(busrpc_call_get_conn(call), busrpc_shm_size(in), &out);
        if (r >= 0)
                r = busrpc_shm_write(out, 0, busrpc_shm_const_data(in), busrpc_shm_size(in));
        if (r >= 0)
                r = busrpc_call_reply_new(call, &reply);
        if (r >= 0) {
                busrpc_msg_append(reply, &it);
                r = busrpc_iter_append_shm(&it, out);
                if (r >= 0)
                        r = busrpc_msg_send(reply);
                else
                        busrpc_msg_unref(reply);
        }
        busrpc_shm_unref(out);
        busrpc_shm_unref(in);
        return r;
}

static const busrpc_method_desc srv_methods[] = {
        { .name = "Sum", .in_sig = "h", .out_sig = "ttt", .fn = srv_sum },
        { .name = "Keep", .in_sig = "h", .out_sig = "t", .fn = srv_keep },
        { .name = "Kept", .in_sig = "", .out_sig = "t", .fn = srv_kept },
        { .name = "Release", .in_sig = "", .out_sig = "t", .fn = srv_release },
        { .name = "Setup", .in_sig = "butt", .out_sig = "tt", .fn = srv_setup },
        { .name = "Stats", .in_sig = "", .out_sig = "ttt", .fn = srv_stats },
        { .name = "Limits", .in_sig = "", .out_sig = "ttt", .fn = srv_limits },
        { .name = "State", .in_sig = "", .out_sig = "ttt", .fn = srv_state },
        { .name = "Echo", .in_sig = "h", .out_sig = "h", .fn = srv_echo },
};
static const busrpc_interface_desc srv_iface = {
        .name = IFACE,
        .xml = "<interface name=\"" IFACE "\"></interface>",
        .methods = srv_methods,
        .n_methods = sizeof(srv_methods) / sizeof(srv_methods[0]),
};

/* The service: on a bus, or a peer server (@direct:
 * busrpc_server_set_shm_direct() before any peer comes). */
static void service_main(const char *address, bool bus, bool direct, int ready_fd) {
        busrpc_server *srv = NULL;
        busrpc_conn *c = NULL;
        busrpc_loop *loop = NULL;
        int r;

        if (bus) {
                r = busrpc_conn_open(address, &c);
                if (r >= 0)
                        r = busrpc_object_export(busrpc_conn_get_objects(c), PATH, &srv_iface, NULL, NULL, NULL);
                if (r >= 0)
                        r = busrpc_conn_request_name(c, NAME, BUSRPC_NAME_DO_NOT_QUEUE, NULL, NULL, NULL);
        } else {
                /* The server's shm limits: for every peer served later. */
                busrpc_shm_limits l = { .cache_entries = 30, .copy_bytes = 3 * MIB };
                busrpc_shm_limits got;

                r = busrpc_server_new(address, &srv);
                if (r >= 0)
                        r = busrpc_server_set_shm_limits(srv, &l);
                if (r >= 0)
                        r = busrpc_server_get_shm_limits(srv, &got);
                if (r >= 0 && (got.cache_entries != 30 || got.copy_bytes != 3 * MIB ||
                               got.cache_bytes != BUSRPC_SHM_CACHE_BYTES_DEFAULT))
                        r = -EIO;
                if (r >= 0 && direct)
                        r = busrpc_server_set_shm_direct(srv, true);
                if (r >= 0)
                        r = busrpc_object_export(busrpc_server_get_objects(srv), PATH, &srv_iface, NULL, NULL, NULL);
        }
        if (r < 0)
                _exit(2);
        if (write(ready_fd, "r", 1) != 1)
                _exit(4);
        close(ready_fd);
        busrpc_loop_default(&loop);
        busrpc_loop_handle_signals(loop);
        busrpc_loop_run(loop); /* until SIGTERM */
        kept = busrpc_shm_unref(kept);
        busrpc_conn_unref(c);
        busrpc_server_free(srv);
        busrpc_loop_unref(loop);
        dbus_shutdown();
        _exit(0);
}

static pid_t service_start(const char *address, bool bus, bool direct) {
        pid_t pid;
        int pfd[2];
        char c;

        if (pipe(pfd) < 0)
                tap_bail("pipe");
        pid = fork();
        if (pid < 0)
                tap_bail("fork");
        if (pid == 0) {
                close(pfd[0]);
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                service_main(address, bus, direct, pfd[1]);
        }
        close(pfd[1]);
        if (read(pfd[0], &c, 1) != 1 || c != 'r')
                tap_bail("service did not start");
        close(pfd[0]);
        return pid;
}

/* ---- the client ---- */

typedef struct Client {
        busrpc_conn *conn;
        busrpc_proxy *p;
        bool bus;
} Client;

/* Call @member with @fd (>= 0: an 'h' argument), @b/@u/@t for Setup;
 * the reply's t values into @out (up to 3). -EREMOTEIO with @err. */
static int call(Client *cl, const char *member, int fd, busrpc_shm *shm, uint64_t *out, busrpc_error *err) {
        busrpc_msg *m = NULL, *reply = NULL;
        busrpc_iter it;
        int r;

        r = busrpc_proxy_method_new(cl->p, IFACE, member, &m);
        if (r >= 0)
                r = busrpc_msg_append(m, &it);
        if (r >= 0 && fd >= 0)
                r = busrpc_iter_append_fd(&it, fd);
        if (r >= 0 && shm)
                r = busrpc_iter_append_shm(&it, shm);
        if (r < 0) {
                busrpc_msg_unref(m);
                return r;
        }
        r = busrpc_proxy_call(cl->p, m, NULL, &reply, err);
        if (r == 0) {
                busrpc_msg_read(reply, &it);
                for (int i = 0; i < 3 && busrpc_iter_type(&it) == 't'; i++)
                        busrpc_iter_get_basic(&it, 't', &out[i]);
        }
        busrpc_msg_unref(reply);
        return r;
}

static int setup(Client *cl, bool direct, uint32_t entries, uint64_t bytes, uint64_t copy, uint64_t *out) {
        busrpc_msg *m = NULL, *reply = NULL;
        uint32_t d = direct;
        busrpc_iter it;
        int r;

        r = busrpc_proxy_method_new(cl->p, IFACE, "Setup", &m);
        if (r >= 0)
                r = busrpc_msg_append(m, &it);
        if (r >= 0)
                r = busrpc_iter_append_basic(&it, 'b', &d);
        if (r >= 0)
                r = busrpc_iter_append_basic(&it, 'u', &entries);
        if (r >= 0)
                r = busrpc_iter_append_basic(&it, 't', &bytes);
        if (r >= 0)
                r = busrpc_iter_append_basic(&it, 't', &copy);
        if (r < 0) {
                busrpc_msg_unref(m);
                return r;
        }
        r = busrpc_proxy_call(cl->p, m, "tt", &reply, NULL);
        if (r == 0) {
                busrpc_msg_read(reply, &it);
                busrpc_iter_get_basic(&it, 't', &out[0]);
                busrpc_iter_get_basic(&it, 't', &out[1]);
        }
        busrpc_msg_unref(reply);
        return r;
}

static void fill(busrpc_shm *s, unsigned char byte) {
        unsigned char *p = busrpc_shm_data(s);

        if (p)
                memset(p, byte, busrpc_shm_size(s));
}

static ino_t inode_of(int fd) {
        struct stat st;

        return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

/* A memfd of @size bytes of @byte with @seals. */
static int memfd_with(size_t size, unsigned char byte, int seals) {
        int fd = memfd_create("hostile", MFD_ALLOW_SEALING | MFD_CLOEXEC);
        unsigned char buf[4096];

        if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
                tap_bail("memfd: %s", strerror(errno));
        memset(buf, byte, sizeof(buf));
        for (size_t off = 0; byte && off < size; off += sizeof(buf))
                if (pwrite(fd, buf, size - off < sizeof(buf) ? size - off : sizeof(buf), (off_t)off) < 0)
                        tap_bail("pwrite: %s", strerror(errno));
        if (seals && fcntl(fd, F_ADD_SEALS, seals) < 0)
                tap_bail("seals: %s", strerror(errno));
        return fd;
}

static void test_sender_pool(Client *cl, const char *tr) {
        busrpc_shm *a = NULL, *b = NULL, *c = NULL, *held[3] = { NULL };
        busrpc_shm_limits l;
        busrpc_shm_stats st;
        const void *pa;
        ino_t ia;
        int seals;

        is_intf(busrpc_conn_get_shm_limits(cl->conn, &l), 0, "%s: limits of a new connection", tr);
        ok(l.pool_bytes == BUSRPC_SHM_POOL_BYTES_DEFAULT && l.pool_slots == BUSRPC_SHM_POOL_SLOTS_DEFAULT &&
                   l.cache_bytes == BUSRPC_SHM_CACHE_BYTES_DEFAULT &&
                   l.cache_entries == BUSRPC_SHM_CACHE_ENTRIES_DEFAULT && l.copy_bytes == BUSRPC_SHM_COPY_BYTES_DEFAULT,
           "%s: the documented defaults (64 MiB, 16 slots, 256 MiB, 32 entries, 32 MiB)", tr);

        is_intf(busrpc_conn_shm_new(cl->conn, MIB, &a), 0, "%s: a 1 MiB slot", tr);
        if (!a)
                return;
        pa = busrpc_shm_data(a);
        ia = inode_of(busrpc_shm_get_fd(a));
        ok(pa != NULL && !busrpc_shm_is_sealed(a), "%s: writable, not sealed", tr);
        seals = fcntl(busrpc_shm_get_fd(a), F_GET_SEALS);
        is_intf(seals & (F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_WRITE), F_SEAL_GROW | F_SEAL_SHRINK,
               "%s: sealed against growing and shrinking, not writing", tr);
        ok(ftruncate(busrpc_shm_get_fd(a), 4096) < 0 && errno == EPERM, "%s: truncating it: EPERM", tr);
        is_intf(busrpc_shm_seal(a), -EPERM, "%s: a slot is never sealed", tr);
        is_intf(busrpc_shm_write(a, MIB - 1, "xy", 2), -EFBIG, "%s: a write past its end: -EFBIG", tr);
        is_intf(busrpc_shm_write(a, 10, "xy", 2), 0, "%s: busrpc_shm_write into it", tr);
        ok(((const char *)pa)[10] == 'x' && ((const char *)pa)[11] == 'y', "%s: seen through the mapping", tr);
        busrpc_shm_unref(a);

        is_intf(busrpc_conn_shm_new(cl->conn, MIB, &b), 0, "%s: a slot of the same size again", tr);
        ok(b && busrpc_shm_data(b) == pa && inode_of(busrpc_shm_get_fd(b)) == ia,
           "%s: the same memfd and mapping came back", tr);
        is_intf(busrpc_conn_shm_new(cl->conn, MIB, &c), 0, "%s: a second one while the first is held", tr);
        ok(c && inode_of(busrpc_shm_get_fd(c)) != ia, "%s: a different memfd", tr);
        busrpc_shm_unref(b);
        busrpc_shm_unref(c);
        /* A call message holding a slot keeps it from the pool until
         * libdbus lets the message go. */
        {
                busrpc_msg *m = NULL;
                busrpc_shm *held_slot = NULL, *other = NULL, *again = NULL;
                busrpc_iter it;
                ino_t ih;

                busrpc_conn_shm_new(cl->conn, 8192, &held_slot);
                ih = held_slot ? inode_of(busrpc_shm_get_fd(held_slot)) : 0;
                busrpc_proxy_method_new(cl->p, IFACE, "Sum", &m);
                busrpc_msg_append(m, &it);
                is_intf(busrpc_iter_append_shm(&it, held_slot), 0, "%s: a slot appended to a call", tr);
                busrpc_shm_unref(held_slot);
                busrpc_conn_shm_new(cl->conn, 8192, &other);
                ok(other && inode_of(busrpc_shm_get_fd(other)) != ih,
                   "%s: unreferenced by us but held by the unsent call: not handed out", tr);
                busrpc_shm_unref(other);
                busrpc_msg_unref(m);
                busrpc_conn_shm_new(cl->conn, 8192, &again);
                busrpc_conn_shm_new(cl->conn, 8192, &other);
                ok(again && other && (inode_of(busrpc_shm_get_fd(again)) == ih || inode_of(busrpc_shm_get_fd(other)) == ih),
                   "%s: the call message gone, the slot is back in the pool", tr);
                busrpc_shm_unref(again);
                busrpc_shm_unref(other);
        }
        is_intf(busrpc_conn_get_shm_stats(cl->conn, &st), 0, "%s: the pool's stats", tr);
        ok(st.slots == 4 && st.idle_slots == 4 && st.slot_bytes == 2 * MIB + 2 * 8192,
           "%s: 2 slots of 1 MiB and 2 of 8 KiB, all idle", tr);

        /* The pool's bounds: 2 slots, then plain buffers. */
        l = (busrpc_shm_limits){ .pool_slots = 2, .pool_bytes = 4 * MIB };
        is_intf(busrpc_conn_set_shm_limits(cl->conn, &l), 0, "%s: pool bounded to 2 slots, 4 MiB", tr);
        busrpc_conn_get_shm_limits(cl->conn, &l);
        ok(l.pool_slots == 2 && l.pool_bytes == 4 * MIB && l.cache_entries == BUSRPC_SHM_CACHE_ENTRIES_DEFAULT,
           "%s: read back; the fields left 0 are the defaults", tr);
        for (int i = 0; i < 3; i++)
                busrpc_conn_shm_new(cl->conn, 4096, &held[i]);
        ok(held[0] && held[1] && held[2] && busrpc_shm_seal(held[0]) == -EPERM &&
                   busrpc_shm_seal(held[1]) == -EPERM,
           "%s: two slots", tr);
        is_intf(busrpc_shm_seal(held[2]), 0, "%s: the third, over the bound, is a plain buffer (seals)", tr);
        for (int i = 0; i < 3; i++)
                busrpc_shm_unref(held[i]);
        is_intf(busrpc_conn_shm_new(cl->conn, 5 * MIB, &a), 0, "%s: 5 MiB, over pool_bytes", tr);
        is_intf(busrpc_shm_seal(a), 0, "%s: a plain buffer (today's sealed path)", tr);
        busrpc_shm_unref(a);
        is_intf(busrpc_conn_set_shm_limits(cl->conn, NULL), 0, "%s: NULL: the defaults again", tr);
        busrpc_conn_get_shm_limits(cl->conn, &l);
        is_intf(l.pool_slots, BUSRPC_SHM_POOL_SLOTS_DEFAULT, "%s: 16 slots again", tr);
}

static void test_copy_on_receipt(Client *cl, const char *tr) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_shm *s = NULL, *sealed = NULL;
        uint64_t out[3] = { 0 }, addr[3] = { 0 };
        uint64_t st0[3] = { 0 }, st1[3] = { 0 };
        bool sums = true;
        int fd1, fd2;

        busrpc_shm_stats mine0 = { 0 }, mine1 = { 0 };

        busrpc_conn_get_shm_stats(cl->conn, &mine0);
        call(cl, "Stats", -1, NULL, st0, &err);
        for (int i = 0; i < 3; i++) {
                if (busrpc_conn_shm_new(cl->conn, MIB, &s) < 0)
                        tap_bail("busrpc_conn_shm_new");
                fill(s, (unsigned char)(i + 1));
                if (call(cl, "Sum", -1, s, out, &err) != 0 || out[0] != (uint64_t)(i + 1) * MIB || out[1] != 1)
                        sums = false;
                addr[i] = out[2];
                busrpc_shm_unref(s);
        }
        ok(sums, "%s: a slot sent 3 times with new bytes: the service summed each, as a stable copy", tr);
        ok(addr[1] == addr[0] && addr[2] == addr[0], "%s: copied into the same reused buffer each time", tr);
        call(cl, "Stats", -1, NULL, st1, &err);
        ok(st1[1] >= st0[1] + 2 && st1[2] >= MIB, "%s: the service's stats: 2 copies into a kept buffer, 1 MiB kept",
           tr);
        busrpc_conn_get_shm_stats(cl->conn, &mine1);
        ok(mine1.slots <= mine0.slots + 1 && mine1.idle_slots >= 1,
           "%s: the sender's pool: one slot did it all (%u slots, %u before)", tr, mine1.slots, mine0.slots);
        if (err.name)
                tap_diag("%s: %s", err.name, err.message);
        busrpc_error_clear(&err);

        /* The sender writes the slot after the call: the copy is stable. */
        busrpc_conn_shm_new(cl->conn, MIB, &s);
        fill(s, 2);
        is_intf(call(cl, "Keep", -1, s, out, &err), 0, "%s: Keep(slot of 2s)", tr);
        is_intf(out[0], 2 * MIB, "%s: the service read 2 MiB of sum", tr);
        fill(s, 7);
        is_intf(busrpc_shm_write(s, 0, "\xff\xff", 2), 0, "%s: the sender writes the slot afterwards", tr);
        is_intf(call(cl, "Kept", -1, NULL, out, &err), 0, "%s: Kept()", tr);
        is_intf(out[0], 2 * MIB, "%s: the service's snapshot did not change", tr);
        busrpc_shm_unref(s);

        /* A sealed buffer sent twice: one memfd, one mapping. */
        busrpc_shm_new(64 * 1024, &sealed);
        busrpc_shm_write(sealed, 0, "abc", 3);
        is_intf(call(cl, "Sum", -1, sealed, out, &err), 0, "%s: a sealed buffer", tr);
        fd1 = busrpc_shm_get_fd(sealed);
        addr[0] = out[2];
        ok(out[0] == 'a' + 'b' + 'c' && out[1] == 1, "%s: summed, sealed", tr);
        call(cl, "Stats", -1, NULL, st0, &err);
        is_intf(call(cl, "Sum", -1, sealed, out, &err), 0, "%s: the same sealed buffer again", tr);
        fd2 = busrpc_shm_get_fd(sealed);
        ok(fd1 == fd2 && out[2] == addr[0], "%s: no new memfd here, the service's mapping reused", tr);
        call(cl, "Stats", -1, NULL, st1, &err);
        is_intf(st1[0], st0[0] + 1, "%s: the service counted a mapping hit", tr);

        /* The copy buffers' bound: 64 KiB keeps no 1 MiB buffer. */
        is_intf(setup(cl, false, 0, 0, 64 * 1024, out), 0, "%s: the service keeps 64 KiB of copy buffers", tr);
        call(cl, "Stats", -1, NULL, st0, &err);
        ok(st0[2] <= 64 * 1024, "%s: the kept 1 MiB buffer went at once (%llu bytes kept)", tr,
           (unsigned long long)st0[2]);
        for (int i = 0; i < 2; i++) {
                busrpc_conn_shm_new(cl->conn, MIB, &s);
                fill(s, 1);
                call(cl, "Sum", -1, s, out, &err);
                busrpc_shm_unref(s);
        }
        call(cl, "Stats", -1, NULL, st1, &err);
        ok(st1[1] == st0[1] && st1[2] <= 64 * 1024, "%s: 1 MiB slots copied twice: no buffer kept, none reused", tr);
        is_intf(setup(cl, false, 0, 0, 0, out), 0, "%s: defaults again", tr);
        busrpc_shm_unref(sealed);
        busrpc_error_clear(&err);
}

static void test_direct(Client *cl, const char *tr) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        uint64_t out[3] = { 0 };
        busrpc_shm *s = NULL;

        /* The service declares; this client not yet: still a copy. */
        is_intf(setup(cl, true, 0, 0, 0, out), 0, "%s: the service declares direct reads", tr);
        busrpc_conn_shm_new(cl->conn, 8192, &s);
        fill(s, 1);
        is_intf(call(cl, "Sum", -1, s, out, &err), 0, "%s: Sum", tr);
        ok(out[0] == 8192 && out[1] == 1, "%s: only the service declared: copied (sealed for it)", tr);
        busrpc_shm_unref(s);

        is_intf(busrpc_conn_set_shm_direct(cl->conn, true), 0, "%s: the client declares too", tr);
        busrpc_conn_shm_new(cl->conn, 8192, &s);
        fill(s, 3);
        is_intf(call(cl, "Sum", -1, s, out, &err), 0, "%s: Sum", tr);
        ok(out[0] == 3 * 8192 && out[1] == 0, "%s: both declared, same uid: read in place", tr);
        is_intf(call(cl, "Keep", -1, s, out, &err), 0, "%s: Keep", tr);
        fill(s, 4);
        is_intf(call(cl, "Kept", -1, NULL, out, &err), 0, "%s: Kept", tr);
        is_intf(out[0], 4 * 8192, "%s: in place: a later write shows (what direct means)", tr);
        call(cl, "Release", -1, NULL, out, &err);
        busrpc_shm_unref(s);

        is_intf(busrpc_conn_set_shm_direct(cl->conn, false), 0, "%s: the client withdraws", tr);
        busrpc_conn_shm_new(cl->conn, 8192, &s);
        fill(s, 5);
        call(cl, "Sum", -1, s, out, &err);
        ok(out[0] == 5 * 8192 && out[1] == 1, "%s: copied again", tr);
        busrpc_shm_unref(s);
        is_intf(setup(cl, false, 0, 0, 0, out), 0, "%s: the service withdraws", tr);
        busrpc_error_clear(&err);
}

static void test_echo(Client *cl, const char *tr) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_msg *m = NULL, *reply = NULL;
        busrpc_shm *s = NULL, *back = NULL;
        busrpc_iter it;
        int r;

        busrpc_conn_shm_new(cl->conn, 3 * 4096, &s);
        fill(s, 9);
        busrpc_proxy_method_new(cl->p, IFACE, "Echo", &m);
        busrpc_msg_append(m, &it);
        busrpc_iter_append_shm(&it, s);
        r = busrpc_proxy_call(cl->p, m, "h", &reply, &err);
        is_intf(r, 0, "%s: Echo: the service answers with a slot of its pool", tr);
        if (r == 0) {
                busrpc_msg_read(reply, &it);
                is_intf(busrpc_iter_get_shm(&it, &back), 0, "%s: read back", tr);
                ok(back && busrpc_shm_is_sealed(back) && busrpc_shm_size(back) == 3 * 4096 &&
                           sum_bytes(busrpc_shm_const_data(back), 3 * 4096) == 9 * 3 * 4096,
                   "%s: a reply carries a sealed copy of the slot, bytes intact", tr);
                busrpc_shm_unref(back);
        }
        busrpc_msg_unref(reply);
        busrpc_shm_unref(s);
        busrpc_error_clear(&err);
}

static void refused(Client *cl, const char *tr, int fd, const char *what) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        uint64_t out[3] = { 0 };
        int r;

        r = call(cl, "Sum", fd, NULL, out, &err);
        ok(r == -EREMOTEIO && busrpc_error_has_name(&err, BUSRPC_ERROR_INVALID_ARGS), "%s: %s: InvalidArgs (%d %s)",
           tr, what, r, err.name ? err.name : "");
        busrpc_error_clear(&err);
        close(fd);
}

static void test_hostile(Client *cl, const char *tr) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        uint64_t out[3] = { 0 }, before[3] = { 0 }, after[3] = { 0 };
        char path[] = "/tmp/busrpc-shm-pool-XXXXXX";
        busrpc_shm *s = NULL;
        unsigned served = 0;
        uint64_t fds_before;
        int pfd[2], fd;

        call(cl, "Release", -1, NULL, out, &err);
        is_intf(call(cl, "State", -1, NULL, before, &err), 0, "%s: the service's mappings and fds", tr);
        fds_before = before[1];

        refused(cl, tr, memfd_with(4096, 1, 0), "an unsealed memfd");
        refused(cl, tr, memfd_with(4096, 1, F_SEAL_GROW), "a memfd that can still shrink");
        refused(cl, tr, memfd_with(4096, 1, F_SEAL_WRITE), "sealed against writes only (could shrink)");
        if (pipe(pfd) < 0)
                tap_bail("pipe");
        close(pfd[1]);
        refused(cl, tr, pfd[0], "a pipe");
        fd = mkstemp(path);
        if (fd < 0 || ftruncate(fd, 4096) < 0)
                tap_bail("mkstemp");
        unlink(path);
        refused(cl, tr, fd, "a plain file");
        refused(cl, tr, memfd_with((size_t)1 << 40, 0, F_SEAL_GROW | F_SEAL_SHRINK), "a sparse 1 TiB slot");

        /* A sparse slot within the bound: copied with read(), which gives
         * zeros for its holes; mapping and reading would allocate a page
         * per hole in the sender's memfd, charged to the service. */
        fd = memfd_with(32 * MIB, 0, F_SEAL_GROW | F_SEAL_SHRINK);
        is_intf(call(cl, "Sum", fd, NULL, out, &err), 0, "%s: a sparse 32 MiB slot", tr);
        ok(out[0] == 0 && out[1] == 1, "%s: summed as zeros, a copy", tr);
        {
                struct stat st = { 0 };
                int sr = fstat(fd, &st);

                ok(sr == 0 && st.st_blocks == 0, "%s: no page of it was allocated (%lld blocks)", tr,
                   (long long)st.st_blocks);
        }
        close(fd);

        /* Many distinct slots, the cache bounded to 4 entries. */
        is_intf(setup(cl, false, 4, 0, 0, out), 0, "%s: the service's cache: 4 entries", tr);
        ok(out[0] == 4 && out[1] == BUSRPC_SHM_CACHE_BYTES_DEFAULT, "%s: 4 entries, bytes the default", tr);
        for (int i = 0; i < 40; i++) {
                fd = memfd_with(4096, 1, F_SEAL_GROW | F_SEAL_SHRINK);
                served += call(cl, "Sum", fd, NULL, out, &err) == 0 && out[0] == 4096;
                close(fd);
        }
        is_intf(served, 40, "%s: 40 distinct slots served", tr);
        call(cl, "State", -1, NULL, out, &err);
        ok(out[2] == 4, "%s: its cache holds 4 (%llu)", tr, (unsigned long long)out[2]);
        ok(out[0] <= 4, "%s: the service has at most 4 memfds mapped (%llu)", tr, (unsigned long long)out[0]);

        /* A slot larger than the cache's bytes: copied, not kept. */
        is_intf(setup(cl, false, 0, 64 * 1024, 0, out), 0, "%s: the service's cache: 64 KiB", tr);
        call(cl, "State", -1, NULL, before, &err);
        busrpc_conn_shm_new(cl->conn, MIB, &s);
        fill(s, 1);
        is_intf(call(cl, "Sum", -1, s, out, &err), 0, "%s: a 1 MiB slot over it", tr);
        is_intf(out[0], MIB, "%s: summed all the same", tr);
        busrpc_shm_unref(s);
        call(cl, "State", -1, NULL, after, &err);
        ok(after[0] == before[0], "%s: not kept mapped (%llu mappings, as before)", tr, (unsigned long long)after[0]);
        is_intf(setup(cl, false, 0, 0, 0, out), 0, "%s: the service's cache: defaults again", tr);

        call(cl, "State", -1, NULL, after, &err);
        is_intf(after[1], fds_before, "%s: the service holds no fd more than before", tr);
        busrpc_error_clear(&err);
}

/* python-dbus: a slot-style memfd (sealed against resizing only), written
 * after the call; and an Echo. Prints "KEEP KEPT ECHO". */
static const char *py_peer =
        "import dbus, fcntl, os, sys\n"
        "addr, name = sys.argv[1], sys.argv[2] or None\n"
        "bus = dbus.bus.BusConnection(addr) if name else dbus.connection.Connection(addr)\n"
        "o = bus.get_object(name, '" PATH "')\n"
        "i = dbus.Interface(o, '" IFACE "')\n"
        "o.Ping(dbus_interface='org.freedesktop.DBus.Peer')  # no fd in a first message\n"
        "n = 65536\n"
        "fd = os.memfd_create('py', os.MFD_ALLOW_SEALING)\n"
        "os.ftruncate(fd, n); os.pwrite(fd, b'\\x02' * n, 0)\n"
        "fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_GROW | fcntl.F_SEAL_SHRINK)\n"
        "keep = int(i.Keep(dbus.types.UnixFd(fd)))\n"
        "os.pwrite(fd, b'\\x05' * n, 0)\n"
        "kept = int(i.Kept())\n"
        "back = i.Echo(dbus.types.UnixFd(fd)).take()\n"
        "echo = sum(os.pread(back, n, 0))\n"
        "i.Release()\n"
        "print(keep, kept, echo)\n";

static void test_python(const char *address, bool bus, const char *tr) {
        char cmd[1024];
        unsigned long long keep = 0, py_kept = 0, echo = 0;
        FILE *f;

        if (access("/usr/bin/python3", X_OK) != 0)
                tap_bail("/usr/bin/python3 (with python3-dbus) is needed");
        snprintf(cmd, sizeof(cmd), "/usr/bin/python3 -c \"$PY_PEER\" '%s' '%s'", address, bus ? NAME : "");
        setenv("PY_PEER", py_peer, 1);
        f = popen(cmd, "r");
        if (!f)
                tap_bail("popen");
        ok(fscanf(f, "%llu %llu %llu", &keep, &py_kept, &echo) == 3, "%s: python-dbus peer ran", tr);
        is_intf(pclose(f), 0, "%s: python exited 0", tr);
        is_intf(keep, 2 * 65536, "%s: python's slot-style memfd: the service summed it", tr);
        is_intf(py_kept, 2 * 65536, "%s: python wrote it after the call: the service's copy is stable", tr);
        is_intf(echo, 5 * 65536, "%s: python reads the service's sealed reply", tr);
}

/* A second peer sends slots and goes: the service's cache of that peer
 * goes with it (waited for: the hang-up is read when the service gets to it). */
static void test_peer_gone(Client *cl, const char *address, const char *tr) {
        Client two = { 0 };
        uint64_t out[3] = { 0 }, base[3] = { 0 }, with[3] = { 0 };
        busrpc_shm *s[3] = { NULL };
        bool back = false;

        call(cl, "State", -1, NULL, base, NULL);
        if (busrpc_conn_open_peer(address, &two.conn) < 0 || busrpc_proxy_new(two.conn, NULL, PATH, &two.p) < 0)
                tap_bail("second peer");
        call(&two, "State", -1, NULL, out, NULL);
        for (int i = 0; i < 3; i++) {
                busrpc_conn_shm_new(two.conn, (size_t)(i + 1) * 4096, &s[i]);
                fill(s[i], 1);
                call(&two, "Sum", -1, s[i], out, NULL);
        }
        call(&two, "State", -1, NULL, with, NULL);
        ok(with[0] >= base[0] + 3, "%s: the service maps the second peer's 3 slots (%llu, before %llu)", tr,
           (unsigned long long)with[0], (unsigned long long)base[0]);
        for (int i = 0; i < 3; i++)
                busrpc_shm_unref(s[i]);
        busrpc_proxy_unref(two.p);
        busrpc_conn_unref(two.conn);
        for (int i = 0; i < 2000 && !back; i++) { /* 20 s at most */
                call(cl, "State", -1, NULL, out, NULL);
                back = out[0] == base[0] && out[1] == base[1];
                if (!back)
                        usleep(10000);
        }
        ok(back, "%s: the peer went: its mappings and fds went too (%llu maps, %llu fds)", tr,
           (unsigned long long)out[0], (unsigned long long)out[1]);
}

/* A python-dbus service (GLib main loop) that reads an 'h' as any foreign
 * receiver would (os.pread), receiving busrpc's pool slots. */
static const char *py_service =
        "import dbus, dbus.mainloop.glib, dbus.service, os, sys\n"
        "from gi.repository import GLib\n"
        "class S(dbus.service.Object):\n"
        "    @dbus.service.method('org.busrpc.test.PySum', in_signature='h', out_signature='tt')\n"
        "    def Sum(self, fd):\n"
        "        f = fd.take()\n"
        "        n = os.fstat(f).st_size\n"
        "        data = os.pread(f, n, 0)\n"
        "        os.close(f)\n"
        "        return dbus.UInt64(n), dbus.UInt64(sum(data))\n"
        "    @dbus.service.method('org.busrpc.test.PySum')\n"
        "    def Quit(self):\n"
        "        loop.quit()\n"
        "dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)\n"
        "bus = dbus.bus.BusConnection(sys.argv[1])\n"
        "name = dbus.service.BusName('org.busrpc.test.PySum', bus)\n"
        "s = S(bus, '/py')\n"
        "loop = GLib.MainLoop()\n"
        "print('ready', flush=True)\n"
        "loop.run()\n";

static int py_sum(busrpc_proxy *p, busrpc_shm *shm, uint64_t *size, uint64_t *sum) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_msg *m = NULL, *reply = NULL;
        busrpc_iter it;
        int r;

        r = busrpc_proxy_method_new(p, "org.busrpc.test.PySum", "Sum", &m);
        if (r >= 0)
                r = busrpc_msg_append(m, &it);
        if (r >= 0)
                r = busrpc_iter_append_shm(&it, shm);
        if (r < 0) {
                busrpc_msg_unref(m);
                return r;
        }
        r = busrpc_proxy_call(p, m, "tt", &reply, &err);
        if (r == 0) {
                busrpc_msg_read(reply, &it);
                busrpc_iter_get_basic(&it, 't', size);
                busrpc_iter_get_basic(&it, 't', sum);
        } else if (err.name) {
                tap_diag("%s: %s", err.name, err.message);
        }
        busrpc_msg_unref(reply);
        busrpc_error_clear(&err);
        return r;
}

static void test_python_service(Client *cl, const char *address) {
        busrpc_proxy *p = NULL;
        busrpc_shm *s = NULL;
        uint64_t size = 0, sum = 0;
        char line[32] = "";
        FILE *f;
        int r;

        setenv("PY_SERVICE", py_service, 1);
        {
                char cmd[700];

                snprintf(cmd, sizeof(cmd), "exec /usr/bin/python3 -c \"$PY_SERVICE\" '%s'", address);
                f = popen(cmd, "r");
        }
        if (!f || !fgets(line, sizeof(line), f) || strncmp(line, "ready", 5) != 0)
                tap_bail("python-dbus service did not start (python3-dbus and python3-gi needed)");
        if (busrpc_proxy_new(cl->conn, "org.busrpc.test.PySum", "/py", &p) < 0)
                tap_bail("proxy");
        busrpc_conn_shm_new(cl->conn, 3 * 4096, &s);
        fill(s, 2);
        r = py_sum(p, s, &size, &sum);
        is_intf(r, 0, "bus: a python-dbus service takes a pool slot as its 'h'");
        ok(size == 3 * 4096 && sum == 2 * 3 * 4096, "bus: and reads it (size %llu, sum %llu)",
           (unsigned long long)size, (unsigned long long)sum);
        busrpc_shm_unref(s);
        busrpc_conn_shm_new(cl->conn, 3 * 4096, &s);
        fill(s, 3);
        r = py_sum(p, s, &size, &sum);
        ok(r == 0 && sum == 3 * 3 * 4096, "bus: the same slot again, new bytes: python reads them (%llu)",
           (unsigned long long)sum);
        busrpc_shm_unref(s);
        {
                busrpc_msg *m = NULL;

                busrpc_proxy_method_new(p, "org.busrpc.test.PySum", "Quit", &m);
                busrpc_proxy_call(p, m, NULL, NULL, NULL);
        }
        is_intf(pclose(f), 0, "bus: the python service exited 0");
        busrpc_proxy_unref(p);
}

static void run_round(const char *address, bool bus, const char *tr) {
        Client cl = { .bus = bus };
        uint64_t out[3];
        int fds;

        if ((bus ? busrpc_conn_open(address, &cl.conn) : busrpc_conn_open_peer(address, &cl.conn)) < 0 ||
            busrpc_proxy_new(cl.conn, bus ? NAME : NULL, PATH, &cl.p) < 0)
                tap_bail("%s: connect", tr);
        /* A first round trip without fds (libdbus may lose an fd sent with
         * a peer connection's first message). */
        if (call(&cl, "State", -1, NULL, out, NULL) < 0)
                tap_bail("%s: first call", tr);
        fds = count_fds();
        call(&cl, "Limits", -1, NULL, out, NULL);
        if (bus)
                ok(out[0] == BUSRPC_SHM_CACHE_ENTRIES_DEFAULT && out[2] == BUSRPC_SHM_COPY_BYTES_DEFAULT,
                   "%s: the service's bus connection has the default limits", tr);
        else
                ok(out[0] == 30 && out[1] == BUSRPC_SHM_CACHE_BYTES_DEFAULT && out[2] == 3 * MIB,
                   "%s: a served peer has the limits of busrpc_server_set_shm_limits() (30 entries, 3 MiB copies)", tr);
        test_sender_pool(&cl, tr);
        test_copy_on_receipt(&cl, tr);
        test_direct(&cl, tr);
        test_hostile(&cl, tr);
        test_echo(&cl, tr);
        test_python(address, bus, tr);
        if (!bus)
                test_peer_gone(&cl, address, tr);
        else
                test_python_service(&cl, address);
        /* What the pool keeps is this connection's: idle slots and cached
         * mappings; the test's own fds are all closed. */
        busrpc_proxy_unref(cl.p);
        busrpc_conn_unref(cl.conn);
        ok(count_fds() <= fds, "%s: no fd left once the connection is gone (%d, before %d)", tr, count_fds(), fds);
}

/* A peer that declares direct reads, of a server that has not (@direct
 * false: copied) or did so with busrpc_server_set_shm_direct() before
 * the peer came (read in place, with no Setup call for this peer). */
static void server_direct_case(const char *address, bool direct) {
        const char *tr = direct ? "server direct" : "server not direct";
        busrpc_error err = BUSRPC_ERROR_INIT;
        Client cl = { .bus = false };
        uint64_t out[3] = { 0 };
        busrpc_shm *s = NULL;

        if (busrpc_conn_open_peer(address, &cl.conn) < 0 || busrpc_proxy_new(cl.conn, NULL, PATH, &cl.p) < 0)
                tap_bail("%s: connect", tr);
        if (call(&cl, "State", -1, NULL, out, NULL) < 0)
                tap_bail("%s: first call", tr);
        call(&cl, "Limits", -1, NULL, out, NULL);
        ok(out[0] == 30 && out[2] == 3 * MIB, "%s: this peer too has the server's shm limits", tr);
        is_intf(busrpc_conn_set_shm_direct(cl.conn, true), 0, "%s: the client declares direct reads", tr);
        busrpc_conn_shm_new(cl.conn, 8192, &s);
        fill(s, 6);
        is_intf(call(&cl, "Sum", -1, s, out, &err), 0, "%s: Sum", tr);
        if (direct)
                ok(out[0] == 6 * 8192 && out[1] == 0,
                   "%s: busrpc_server_set_shm_direct() reached the peer: read in place", tr);
        else
                ok(out[0] == 6 * 8192 && out[1] == 1, "%s: copied (sealed for the service)", tr);
        busrpc_shm_unref(s);
        busrpc_error_clear(&err);
        busrpc_proxy_unref(cl.p);
        busrpc_conn_unref(cl.conn);
}

int main(void) {
        char dir[] = "/tmp/busrpc-shm-pool-XXXXXX", address[128], address2[128], cmd[160];
        TestBus bus = { 0 };
        pid_t pid, pid2;

        if (!mkdtemp(dir))
                tap_bail("mkdtemp");
        snprintf(address, sizeof(address), "unix:path=%s/sock", dir);
        snprintf(address2, sizeof(address2), "unix:path=%s/direct/sock", dir);
        pid = service_start(address, false, false);
        run_round(address, false, "peer");
        pid2 = service_start(address2, false, true);
        server_direct_case(address, false);
        server_direct_case(address2, true);
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        kill(pid2, SIGTERM);
        waitpid(pid2, NULL, 0);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
                tap_diag("could not remove %s", dir);

        test_bus_start(&bus);
        pid = service_start(bus.address, true, false);
        run_round(bus.address, true, "bus");
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        test_bus_stop(&bus);
        dbus_shutdown();
        return tap_done();
}
