/* test-held-fds.c: busrpc_conn_set_max_held_fds(), the bound on the fds
 * of the messages a sync call holds back while it waits for its reply.
 *
 * The link is the one the environment gives: busrpc's own transport by
 * default, libdbus under `make check-libdbus` (BUSRPC_FAST_PATH=0), where
 * the bound is libdbus's max_received_unix_fds. Two real peers, each in a
 * forked child: a busrpc_server on a peer socket (its object exported on
 * busrpc_server_get_objects()) and a busrpc service on a private
 * dbus-daemon (bus-fixture.h). For each: with a bound of 32, a sync call
 * whose reply comes after 200 signals each carrying an fd holds at most
 * 32 fds (+ one read round), dispatches none of them, ends at its timeout;
 * afterwards every signal is dispatched with its fd and every fd closed.
 * With the default the same call returns its reply. The setter refuses
 * NULL, a bound above BUSRPC_MAX_HELD_FDS_MAX and a served peer's conn
 * (tried by the server's own handler).
 */
#include <dbus/dbus.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus-fixture.h"
#include "tap.h"
#include "tap-util.h"

#define IFACE     "org.busrpc.HeldFds"
#define OBJ_PATH  "/org/busrpc/HeldFds"
#define BUS_NAME  "org.busrpc.HeldFdsTest"
#define MS        BUSRPC_USEC_PER_MSEC
#define N_FDS     200u
#define BOUND     32u
/* One round of a wait reads at most 16 messages (the fast path), libdbus
 * one recvmsg: what may come in beyond the bound before reading stops. */
#define ONE_ROUND 16u

/* ------------------------------------------------------------------ */
/* The service (a child process: a peer server or a bus service)       */

static busrpc_object *srv_obj;
static char peer_address[128];

/* FdFlood(u n): n signals FdTick, each with an fd, then the reply. */
static int srv_fdflood(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        const char *s = "flooded";
        busrpc_msg *reply = NULL;
        busrpc_iter it;
        uint32_t n = 0;
        int fd, r = 0;

        if ((r = busrpc_iter_get_basic(args, 'u', &n)) < 0)
                return r;
        fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        for (uint32_t i = 0; i < n && r >= 0; i++) {
                busrpc_msg *m = NULL;

                if ((r = busrpc_object_signal_new(srv_obj, "FdTick", &m)) < 0)
                        break;
                busrpc_msg_append(m, &it);
                busrpc_iter_append_fd(&it, fd);
                r = busrpc_msg_send(m);
        }
        close(fd);
        if (r < 0)
                return r;
        if ((r = busrpc_call_reply_new(call, &reply)) < 0)
                return r;
        busrpc_msg_append(reply, &it);
        busrpc_iter_append_basic(&it, 's', &s);
        return busrpc_msg_send(reply);
}

/* TrySet(u n) -> (i r, u bound): busrpc_conn_set_max_held_fds() on the
 * conn the call came on, and the bound in force on it afterwards. */
static int srv_tryset(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        busrpc_conn *c = busrpc_call_get_conn(call);
        busrpc_msg *reply = NULL;
        busrpc_iter it;
        uint32_t n = 0, bound;
        int32_t set;
        int r;

        if ((r = busrpc_iter_get_basic(args, 'u', &n)) < 0)
                return r;
        set = busrpc_conn_set_max_held_fds(c, n);
        bound = busrpc_conn_get_max_held_fds(c);
        if ((r = busrpc_call_reply_new(call, &reply)) < 0)
                return r;
        busrpc_msg_append(reply, &it);
        busrpc_iter_append_basic(&it, 'i', &set);
        busrpc_iter_append_basic(&it, 'u', &bound);
        return busrpc_msg_send(reply);
}

static const busrpc_method_desc srv_methods[] = {
        { .name = "FdFlood", .in_sig = "u", .out_sig = "s", .fn = srv_fdflood },
        { .name = "TrySet", .in_sig = "u", .out_sig = "iu", .fn = srv_tryset },
};
static const busrpc_signal_desc srv_signals[] = {
        { .name = "FdTick", .sig = "h" },
};
static const busrpc_interface_desc srv_iface = {
        .name = IFACE,
        .xml = "<interface name=\"" IFACE "\">"
               "<method name=\"FdFlood\"><arg type=\"u\" direction=\"in\"/><arg type=\"s\" "
               "direction=\"out\"/></method>"
               "<method name=\"TrySet\"><arg type=\"u\" direction=\"in\"/><arg type=\"i\" "
               "direction=\"out\"/><arg type=\"u\" direction=\"out\"/></method>"
               "<signal name=\"FdTick\"><arg type=\"h\"/></signal>"
               "</interface>",
        .methods = srv_methods,
        .n_methods = sizeof(srv_methods) / sizeof(srv_methods[0]),
        .signals = srv_signals,
        .n_signals = sizeof(srv_signals) / sizeof(srv_signals[0]),
};

static void ready(int ready_fd) {
        if (write(ready_fd, "r", 1) != 1)
                _exit(4);
        close(ready_fd);
}

/* A busrpc_server: the object on the server's registry, served to every peer. */
static int run_peer_server(int ready_fd) {
        busrpc_server *srv = NULL;
        int r;

        if (busrpc_server_new(peer_address, &srv) < 0 ||
            busrpc_object_export(busrpc_server_get_objects(srv), OBJ_PATH, &srv_iface, NULL, NULL,
                                 &srv_obj) < 0)
                return 2;
        if (busrpc_object_get_server(srv_obj) != srv || busrpc_object_get_conn(srv_obj) != NULL)
                return 3;
        ready(ready_fd);
        r = busrpc_server_run(srv); /* 0 after SIGTERM */
        busrpc_object_release(srv_obj);
        busrpc_server_free(srv);
        dbus_shutdown();
        return r == 0 ? 0 : 5;
}

static BusFixture bus;

/* A service on the private bus, owning BUS_NAME. */
static int run_bus_service(int ready_fd) {
        busrpc_conn *c = NULL;
        int r;

        /* the fixture returned once the daemon listens */
        if ((r = busrpc_conn_open(bus.address, &c)) < 0) {
                fprintf(stderr, "bus service: busrpc_conn_open: %s\n", strerror(-r));
                return 2;
        }
        if ((r = busrpc_object_export(busrpc_conn_get_objects(c), OBJ_PATH, &srv_iface, NULL, NULL,
                                      &srv_obj)) < 0) {
                fprintf(stderr, "bus service: busrpc_object_export: %s\n", strerror(-r));
                return 2;
        }
        if ((r = busrpc_conn_request_name(c, BUS_NAME, 0, NULL, NULL, NULL)) != 0) {
                fprintf(stderr, "bus service: busrpc_conn_request_name: %d\n", r);
                return 2;
        }
        ready(ready_fd);
        r = busrpc_conn_run(c); /* 0 after SIGTERM */
        busrpc_object_release(srv_obj);
        busrpc_conn_unref(c);
        dbus_shutdown();
        return r == 0 ? 0 : 5;
}

/* ------------------------------------------------------------------ */
/* The client                                                          */

static bool under_valgrind;

/* "@what: @text", for a check's name (is_int()/is_str() take a plain one). */
static const char *nm(const char *what, const char *text) {
        static char buf[4][256];
        static unsigned k;
        char *b = buf[k++ % 4];

        snprintf(b, sizeof(buf[0]), "%s: %s", what, text);
        return b;
}
static unsigned fdticks;       /* FdTick signals dispatched, their fd received */
static bool in_call;           /* a sync call of ours is waiting */
static unsigned in_call_ticks; /* FdTick dispatched while it waited */

static busrpc_msg *kept[N_FDS]; /* signals the application keeps (check_kept()) */
static unsigned n_kept;
static bool keep;

static void on_fdtick(busrpc_msg *m, busrpc_iter *args, void *userdata) {
        int fd = -1;

        if (keep && n_kept < N_FDS)
                kept[n_kept++] = busrpc_msg_ref(m);

        if (busrpc_iter_get_fd(args, &fd) == 0 && fd >= 0) {
                fdticks++;
                close(fd); /* a new fd, ours */
        }
        if (in_call)
                in_call_ticks++;
}

/* Run @c's loop until @n FdTick came, or @ms passed (against a hang). */
static void wait_ticks(busrpc_conn *c, unsigned n, long ms) {
        for (long end = tap_now_ms() + ms; fdticks < n && tap_now_ms() < end;)
                busrpc_loop_iterate(busrpc_conn_get_loop(c), 20 * MS);
}

/* ... until the process has @fds open again, or @ms passed. */
static int wait_fds(busrpc_conn *c, int fds, long ms) {
        for (long end = tap_now_ms() + ms; fixture_count_fds() > fds && tap_now_ms() < end;)
                busrpc_loop_iterate(busrpc_conn_get_loop(c), 20 * MS);
        return fixture_count_fds();
}

/* FdFlood(@n) as a sync call with @timeout_usec; its string in @out. */
static int fdflood(busrpc_proxy *p, uint32_t n, uint64_t timeout_usec, char *out, size_t size) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_msg *m = NULL, *reply = NULL;
        const char *s = NULL;
        busrpc_iter it;
        int r;

        out[0] = '\0';
        if ((r = busrpc_proxy_method_new(p, IFACE, "FdFlood", &m)) < 0)
                return r;
        busrpc_msg_append(m, &it);
        busrpc_iter_append_basic(&it, 'u', &n);
        busrpc_proxy_set_next_timeout(p, timeout_usec);
        in_call = true;
        r = busrpc_proxy_call(p, m, "s", &reply, &err);
        in_call = false;
        if (r < 0 && r != -ETIMEDOUT && err.name)
                tap_diag("FdFlood: %s: %s", err.name, err.message ? err.message : "");
        if (r == 0 && busrpc_msg_read(reply, &it) == 0 && busrpc_iter_get_basic(&it, 's', &s) == 0)
                snprintf(out, size, "%s", s);
        busrpc_msg_unref(reply);
        busrpc_error_clear(&err);
        return r;
}

/* TrySet(@n) on the service: the setter's return there, the bound after. */
static int tryset(busrpc_proxy *p, uint32_t n, int32_t *set, uint32_t *bound) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_msg *m = NULL, *reply = NULL;
        busrpc_iter it;
        int r;

        if ((r = busrpc_proxy_method_new(p, IFACE, "TrySet", &m)) < 0)
                return r;
        busrpc_msg_append(m, &it);
        busrpc_iter_append_basic(&it, 'u', &n);
        r = busrpc_proxy_call(p, m, "iu", &reply, &err);
        if (r == 0 && (busrpc_msg_read(reply, &it) < 0 || busrpc_iter_get_basic(&it, 'i', set) < 0 ||
                       busrpc_iter_get_basic(&it, 'u', bound) < 0))
                r = -EBADMSG;
        if (r < 0 && err.name)
                tap_diag("TrySet: %s: %s", err.name, err.message ? err.message : "");
        busrpc_msg_unref(reply);
        busrpc_error_clear(&err);
        return r;
}

/* The setter and getter on a client conn. */
static void check_setter(busrpc_conn *c, const char *what) {
        is_int(busrpc_conn_get_max_held_fds(c), BUSRPC_MAX_HELD_FDS_DEFAULT, nm(what, "4,096 by default"));
        is_int(busrpc_conn_set_max_held_fds(c, BUSRPC_MAX_HELD_FDS_MAX + 1), -EINVAL,
               nm(what, "above BUSRPC_MAX_HELD_FDS_MAX: -EINVAL"));
        is_int(busrpc_conn_get_max_held_fds(c), BUSRPC_MAX_HELD_FDS_DEFAULT,
               nm(what, "... and nothing changed"));
        is_int(busrpc_conn_set_max_held_fds(c, BUSRPC_MAX_HELD_FDS_MAX), 0,
               nm(what, "BUSRPC_MAX_HELD_FDS_MAX itself: 0"));
        is_int(busrpc_conn_get_max_held_fds(c), BUSRPC_MAX_HELD_FDS_MAX, nm(what, "... read back"));
        is_int(busrpc_conn_set_max_held_fds(c, 0), 0, nm(what, "0: 0"));
        is_int(busrpc_conn_get_max_held_fds(c), BUSRPC_MAX_HELD_FDS_DEFAULT,
               nm(what, "... restores the default"));
}

/* The bound at work on @c, calling @dest (NULL on a peer). */
static void check_bound(busrpc_conn *c, const char *dest, const char *what) {
        busrpc_subscription *sub = NULL;
        busrpc_proxy *p = NULL;
        char got[64];
        int fds0, held, r;

        if (busrpc_proxy_new(c, dest, OBJ_PATH, &p) < 0)
                tap_bail("%s: busrpc_proxy_new", what);
        busrpc_proxy_set_timeout(p, (under_valgrind ? 60000 : 10000) * MS);
        is_int(busrpc_proxy_subscribe(p, IFACE, "FdTick", "h", on_fdtick, NULL, NULL, &sub), 0,
               nm(what, "subscribed to FdTick"));
        /* a round trip first: the match is in place, the link warm */
        is_int(fdflood(p, 0, (under_valgrind ? 60000 : 10000) * MS, got, sizeof(got)), 0,
               nm(what, "FdFlood(0) answers"));
        fds0 = fixture_count_fds();

        /* bounded: the wait stops reading, the reply behind the signals never comes in */
        is_int(busrpc_conn_set_max_held_fds(c, BOUND), 0, nm(what, "bound set to 32"));
        is_int(busrpc_conn_get_max_held_fds(c), BOUND, nm(what, "... read back"));
        fdticks = in_call_ticks = 0;
        /* the deadline is the only end of this wait: long enough for the
         * service to send 32 signals, under valgrind too */
        r = fdflood(p, N_FDS, (under_valgrind ? 5000 : 300) * MS, got, sizeof(got));
        held = fixture_count_fds() - fds0;
        is_int(r, -ETIMEDOUT,
               nm(what, "200 signals with an fd before the reply: the call ends at its timeout"));
        ok(held >= (int)BOUND && held <= (int)(BOUND + ONE_ROUND),
           "%s: at most 32 (+ one read round) fds held during the wait (%d)", what, held);
        is_int(in_call_ticks, 0, nm(what, "none dispatched inside the sync call"));
        wait_ticks(c, N_FDS, under_valgrind ? 120000 : 30000);
        is_int(fdticks, N_FDS, nm(what, "afterwards every signal is dispatched, with its fd"));
        is_int(wait_fds(c, fds0, 5000), fds0, nm(what, "... and every fd closed"));
        is_int(fdflood(p, 0, (under_valgrind ? 60000 : 10000) * MS, got, sizeof(got)), 0,
               nm(what, "the conn serves on"));
        is_str(got, "flooded", nm(what, "... its reply"));

        /* the default: the same 200 signals do not stop the call */
        is_int(busrpc_conn_set_max_held_fds(c, 0), 0, nm(what, "0 restores the default"));
        is_int(busrpc_conn_get_max_held_fds(c), BUSRPC_MAX_HELD_FDS_DEFAULT, nm(what, "4,096 again"));
        fdticks = in_call_ticks = 0;
        r = fdflood(p, N_FDS, (under_valgrind ? 60000 : 10000) * MS, got, sizeof(got));
        held = fixture_count_fds() - fds0;
        is_int(r, 0, nm(what, "under the default the call returns its reply"));
        is_str(got, "flooded", nm(what, "... the service's"));
        is_int(held, N_FDS, nm(what, "the 200 signals were held with their fds during the call"));
        is_int(in_call_ticks, 0, nm(what, "none dispatched inside the sync call"));
        wait_ticks(c, N_FDS, under_valgrind ? 120000 : 30000);
        is_int(fdticks, N_FDS, nm(what, "then every one is dispatched, with its fd"));
        is_int(wait_fds(c, fds0, 5000), fds0, nm(what, "... and every fd closed"));

        busrpc_subscription_release(sub);
        busrpc_proxy_unref(p);
}

static int async_done, async_r;

static void on_async(busrpc_msg *reply, int r, const busrpc_error *err, void *userdata) {
        async_done = 1;
        async_r = r;
}

/* Received messages the application keeps, outside any sync call: their
 * fds count against the bound on libdbus's link only (runtime.md, the
 * two links' differences). An async FdFlood(200) with a bound of 32 and a
 * signal callback keeping every message: on busrpc's transport the reply
 * comes after the 200; on libdbus the connection stops reading at 32 kept
 * (the reply too: it ends at its timeout) and reads on once they go. */
static void check_kept(busrpc_conn *c, bool libdbus, const char *what) {
        busrpc_subscription *sub = NULL;
        busrpc_proxy *p = NULL;
        busrpc_msg *m = NULL;
        busrpc_iter it;
        uint32_t n = N_FDS;
        int fds0;

        if (busrpc_proxy_new(c, NULL, OBJ_PATH, &p) < 0)
                tap_bail("%s: busrpc_proxy_new", what);
        busrpc_proxy_subscribe(p, IFACE, "FdTick", "h", on_fdtick, NULL, NULL, &sub);
        is_int(busrpc_conn_set_max_held_fds(c, BOUND), 0, nm(what, "bound set to 32"));
        fds0 = fixture_count_fds();
        fdticks = in_call_ticks = n_kept = 0;
        async_done = 0;
        keep = true;
        busrpc_proxy_set_next_timeout(p, (under_valgrind ? 20000 : libdbus ? 300 : 10000) * MS);
        if (busrpc_proxy_method_new(p, IFACE, "FdFlood", &m) < 0)
                tap_bail("%s: busrpc_proxy_method_new", what);
        busrpc_msg_append(m, &it);
        busrpc_iter_append_basic(&it, 'u', &n);
        is_int(busrpc_proxy_call_async(p, m, "s", on_async, NULL, NULL), 0,
               nm(what, "async FdFlood(200) sent"));
        for (long end = tap_now_ms() + (under_valgrind ? 60000 : 30000); !async_done && tap_now_ms() < end;)
                busrpc_loop_iterate(busrpc_conn_get_loop(c), 20 * MS);
        if (libdbus) {
                is_int(async_r, -ETIMEDOUT,
                       nm(what, "libdbus: 32 kept messages stop the reading: the reply times out"));
                ok(n_kept >= BOUND && n_kept <= BOUND + ONE_ROUND,
                   "%s: libdbus: ... with 32 (+ one read round) signals dispatched and kept (%u)", what,
                   n_kept);
        } else {
                is_int(async_r, 0, nm(what, "fast path: kept messages do not stop the reading: the reply"));
                is_int(n_kept, N_FDS, nm(what, "fast path: ... after the 200 signals, all kept"));
        }
        is_int(fixture_count_fds() - fds0, n_kept, nm(what, "each kept message holds its fd"));
        keep = false;
        for (unsigned i = 0; i < n_kept; i++)
                kept[i] = busrpc_msg_unref(kept[i]);
        n_kept = 0;
        wait_ticks(c, N_FDS, under_valgrind ? 120000 : 30000);
        is_int(fdticks, N_FDS, nm(what, "released: every signal is dispatched"));
        is_int(wait_fds(c, fds0, 5000), fds0, nm(what, "... and every fd closed"));
        is_int(busrpc_conn_set_max_held_fds(c, 0), 0, nm(what, "0 restores the default"));
        busrpc_subscription_release(sub);
        busrpc_proxy_unref(p);
}

static BusFixture peer = { .daemon_pid = -1, .server_pid = -1 };
static pid_t test_pid;

/* A bail-out (exit()) leaves no daemon or service behind; the forked
 * children exit() too, and must not stop what the test runs. */
static void stop_all(void) {
        if (getpid() != test_pid)
                return;
        if (peer.server_pid > 0)
                fixture_stop(&peer);
        if (bus.daemon_pid > 0 || bus.server_pid > 0)
                fixture_stop(&bus);
}

int main(void) {
        busrpc_proxy *p = NULL;
        busrpc_conn *c = NULL;
        uint32_t bound = 0;
        int32_t set = 0;
        const char *fast = getenv("BUSRPC_FAST_PATH");
        const char *preload = getenv("LD_PRELOAD");

        signal(SIGPIPE, SIG_IGN);
        test_pid = getpid();
        atexit(stop_all);
        bus.daemon_pid = bus.server_pid = -1;
        under_valgrind = preload && strstr(preload, "vgpreload");
        tap_diag("link: %s", fast && !strcmp(fast, "0") ? "libdbus (BUSRPC_FAST_PATH=0)" : "busrpc's own");

        is_int(busrpc_conn_set_max_held_fds(NULL, 8), -EINVAL, "NULL: set is -EINVAL");
        is_int(busrpc_conn_get_max_held_fds(NULL), 0, "NULL: get is 0");

        /* ---- a busrpc_server on a peer socket ---- */
        snprintf(peer.dir, sizeof(peer.dir), "/tmp/busrpc-heldfds-peer-XXXXXX");
        if (!mkdtemp(peer.dir))
                tap_bail("mkdtemp: %s", strerror(errno));
        snprintf(peer_address, sizeof(peer_address), "unix:path=%s/peer", peer.dir);
        fixture_start_server(&peer, run_peer_server);
        if (busrpc_conn_open_peer(peer_address, &c) < 0)
                tap_bail("busrpc_conn_open_peer(%s)", peer_address);
        check_setter(c, "peer");
        check_bound(c, NULL, "peer");
        check_kept(c, fast && !strcmp(fast, "0"), "peer, kept");
        if (busrpc_proxy_new(c, NULL, OBJ_PATH, &p) < 0)
                tap_bail("busrpc_proxy_new");
        busrpc_proxy_set_timeout(p, (under_valgrind ? 60000 : 10000) * MS);
        is_int(tryset(p, 8, &set, &bound), 0, "peer: TrySet answers");
        is_int(set, -EINVAL, "peer: a served peer's conn (in the server's handler): -EINVAL");
        is_int(bound, BUSRPC_MAX_HELD_FDS_DEFAULT, "peer: ... its getter still says the default");
        p = busrpc_proxy_unref(p);
        c = busrpc_conn_unref(c);
        is_int(fixture_stop(&peer), 0, "peer: the server exited cleanly on SIGTERM");

        /* ---- a service on a private dbus-daemon ---- */
        fixture_start_daemon(&bus, "heldfds", NULL);
        fixture_start_server(&bus, run_bus_service);
        if (busrpc_conn_open(bus.address, &c) < 0)
                tap_bail("busrpc_conn_open(%s)", bus.address);
        check_setter(c, "bus");
        check_bound(c, BUS_NAME, "bus");
        if (busrpc_proxy_new(c, BUS_NAME, OBJ_PATH, &p) < 0)
                tap_bail("busrpc_proxy_new");
        busrpc_proxy_set_timeout(p, (under_valgrind ? 60000 : 10000) * MS);
        /* the service's own bus conn, as a contrast to the served peer's */
        is_int(tryset(p, 8, &set, &bound), 0, "bus: TrySet answers");
        is_int(set, 0, "bus: the service's bus conn (in its handler): 0");
        is_int(bound, 8, "bus: ... and its getter says 8");
        p = busrpc_proxy_unref(p);
        c = busrpc_conn_unref(c);
        is_int(fixture_stop(&bus), 0, "bus: the service exited cleanly on SIGTERM");

        dbus_shutdown();
        return tap_done();
}
