/* test-link.c: busrpc's own transport on the connections (issue 12, the
 * link of runtime/conn.h). The test sets BUSRPC_FAST_PATH=1 itself, so the
 * client conns it opens read and write their socket through busrpc; the
 * programs it forks inherit it. libdbus's reading and writing functions
 * are wrapped here (the executable's definitions come first for the
 * library's calls) and counted: on the fast path, once a conn is open,
 * libdbus neither sends, reads nor dispatches a message.
 *
 * Peer socket (a busrpc_server in a child process) and a private
 * dbus-daemon (a busrpc service in a child process): calls both ways,
 * signals, fds both ways, messages read during a sync call held and
 * dispatched later in order, a handler calling synchronously on the conn
 * it is served on and on another conn (on the fast path and on libdbus),
 * a peer hanging up mid-call, a hostile peer's invalid bytes closing only
 * its conn, reconnection to a restarted daemon, and busctl, gdbus,
 * dbus-send and python3-dbus calling fast-path services.
 */
#include <dbus/dbus.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "busrpc/busrpc.h"
#include "tap.h"
#include "tap-util.h"

#define IFACE       "org.busrpc.Link"
#define PATH        "/org/busrpc/Link"
#define CLIENT_PATH "/org/busrpc/LinkClient"
#define BUS_NAME    "org.busrpc.LinkTest"
#define MS          BUSRPC_USEC_PER_MSEC

/* ------------------------------------------------------------------ */
/* libdbus's message I/O, counted                                      */

static unsigned libdbus_io;

#define REAL(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

dbus_bool_t dbus_connection_send(DBusConnection *c, DBusMessage *m, dbus_uint32_t *serial) {
        libdbus_io++;
        return REAL(dbus_connection_send)(c, m, serial);
}

DBusMessage *dbus_connection_send_with_reply_and_block(DBusConnection *c, DBusMessage *m, int ms,
                                                       DBusError *e) {
        libdbus_io++;
        return REAL(dbus_connection_send_with_reply_and_block)(c, m, ms, e);
}

DBusDispatchStatus dbus_connection_dispatch(DBusConnection *c) {
        libdbus_io++;
        return REAL(dbus_connection_dispatch)(c);
}

DBusMessage *dbus_connection_pop_message(DBusConnection *c) {
        libdbus_io++;
        return REAL(dbus_connection_pop_message)(c);
}

/* ------------------------------------------------------------------ */
/* The service (a child: a peer server or a bus service)               */

static busrpc_object *srv_obj;

static int reply_s(busrpc_call *call, const char *s) {
        busrpc_msg *reply = NULL;
        busrpc_iter it;
        int r;

        if ((r = busrpc_call_reply_new(call, &reply)) < 0)
                return r;
        busrpc_msg_append(reply, &it);
        busrpc_iter_append_basic(&it, 's', &s);
        return busrpc_msg_send(reply);
}

static int srv_echo(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        const char *s = NULL;
        int r;

        if ((r = busrpc_iter_get_basic(args, 's', &s)) < 0)
                return r;
        return reply_s(call, s);
}

/* Reads the fd's first bytes and answers with a new memfd saying so. */
static int srv_fd(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        char buf[64] = "", out[96];
        busrpc_msg *reply = NULL;
        busrpc_iter it;
        int fd = -1, back, r;
        ssize_t n;

        if ((r = busrpc_iter_get_fd(args, &fd)) < 0)
                return r;
        n = pread(fd, buf, sizeof(buf) - 1, 0);
        close(fd);
        buf[n > 0 ? n : 0] = '\0';
        snprintf(out, sizeof(out), "server read '%s'", buf);
        back = memfd_create("link-back", MFD_CLOEXEC);
        if (back < 0 || pwrite(back, out, strlen(out), 0) < 0)
                return -errno;
        if ((r = busrpc_call_reply_new(call, &reply)) < 0) {
                close(back);
                return r;
        }
        busrpc_msg_append(reply, &it);
        busrpc_iter_append_fd(&it, back);
        close(back);
        return busrpc_msg_send(reply);
}

/* Three signals, then the reply: a sync caller holds the signals. */
static int srv_emit(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        static const char *const v[] = { "one", "two", "three" };

        for (unsigned i = 0; i < 3; i++) {
                busrpc_msg *m = NULL;
                busrpc_iter it;
                int r;

                if ((r = busrpc_object_signal_new(srv_obj, "Tick", &m)) < 0)
                        return r;
                busrpc_msg_append(m, &it);
                busrpc_iter_append_basic(&it, 's', &v[i]);
                if ((r = busrpc_msg_send(m)) < 0)
                        return r;
        }
        return reply_s(call, "emitted");
}

/* Flood(u n): n signals Blob of 16 KiB, then the reply. */
static int srv_flood(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        static uint8_t blob[16384];
        uint32_t n = 0;
        int r;

        if ((r = busrpc_iter_get_basic(args, 'u', &n)) < 0)
                return r;
        for (uint32_t i = 0; i < n; i++) {
                busrpc_msg *m = NULL;
                busrpc_iter it;

                if ((r = busrpc_object_signal_new(srv_obj, "Blob", &m)) < 0)
                        return r;
                busrpc_msg_append(m, &it);
                busrpc_iter_append_fixed_array(&it, 'y', blob, sizeof(blob));
                if ((r = busrpc_msg_send(m)) < 0)
                        return r;
        }
        return reply_s(call, "flooded");
}

/* FdFlood(u n): n signals FdTick, each with an fd, then the reply. */
static int srv_fdflood(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        uint32_t n = 0;
        int fd, r;

        if ((r = busrpc_iter_get_basic(args, 'u', &n)) < 0)
                return r;
        fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        for (uint32_t i = 0; i < n; i++) {
                busrpc_msg *m = NULL;
                busrpc_iter it;

                if ((r = busrpc_object_signal_new(srv_obj, "FdTick", &m)) < 0)
                        break;
                busrpc_msg_append(m, &it);
                busrpc_iter_append_fd(&it, fd);
                if ((r = busrpc_msg_send(m)) < 0)
                        break;
        }
        close(fd);
        return r < 0 ? r : reply_s(call, "fds flooded");
}

static busrpc_call *volatile hung[16]; /* never answered; kept (volatile: stores not dropped) so valgrind
                                          sees them reachable */
static unsigned n_hung;

static int srv_hang(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        if (n_hung >= sizeof(hung) / sizeof(hung[0]))
                return busrpc_call_fail(call, "org.busrpc.Link.Failed", "too many hung calls");
        hung[n_hung++] = busrpc_call_ref(call);
        return BUSRPC_DEFER;
}

/* Hangs up in the middle of the call (killed: nothing is cleaned up,
 * and valgrind has nothing to say about a process that never exits). */
static int srv_bye(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        raise(SIGKILL);
        return 0;
}

/* CallBack(s dest, s member): calls the caller back (async, on the conn
 * the call came on) and answers with what the caller answered. */
static void callback_done(busrpc_msg *reply, int r, const busrpc_error *err, void *userdata) {
        busrpc_call *call = userdata;
        const char *s = NULL;
        busrpc_iter it;
        char buf[256];

        if (r == 0 && busrpc_msg_read(reply, &it) == 0 && busrpc_iter_get_basic(&it, 's', &s) == 0) {
                snprintf(buf, sizeof(buf), "back: %s", s);
                (void)reply_s(call, buf);
        } else {
                (void)busrpc_call_fail(call, "org.busrpc.Link.Failed", "callback failed: %d %s", r,
                                       err && err->message ? err->message : "");
        }
        busrpc_call_unref(call);
}

static int srv_callback(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        const char *member = NULL;
        const char *sender = busrpc_call_get_sender(call);
        busrpc_proxy *p = NULL;
        busrpc_msg *m = NULL;
        int r;

        if ((r = busrpc_iter_get_basic(args, 's', &member)) < 0)
                return r;
        if ((r = busrpc_proxy_new(busrpc_call_get_conn(call), sender, CLIENT_PATH, &p)) < 0)
                return r;
        busrpc_proxy_set_timeout(p, 10000 * MS);
        r = busrpc_proxy_method_new(p, IFACE, member, &m);
        if (r >= 0)
                r = busrpc_proxy_call_async(p, m, "s", callback_done, busrpc_call_ref(call), NULL);
        busrpc_proxy_unref(p);
        if (r < 0) {
                busrpc_call_unref(call);
                return r;
        }
        return BUSRPC_DEFER;
}

static const busrpc_method_desc srv_methods[] = {
        { .name = "Echo", .in_sig = "s", .out_sig = "s", .fn = srv_echo },
        { .name = "Fd", .in_sig = "h", .out_sig = "h", .fn = srv_fd },
        { .name = "Emit", .in_sig = "", .out_sig = "s", .fn = srv_emit },
        { .name = "Hang", .in_sig = "", .out_sig = "", .fn = srv_hang },
        { .name = "Flood", .in_sig = "u", .out_sig = "s", .fn = srv_flood },
        { .name = "FdFlood", .in_sig = "u", .out_sig = "s", .fn = srv_fdflood },
        { .name = "Bye", .in_sig = "", .out_sig = "", .fn = srv_bye },
        { .name = "CallBack", .in_sig = "s", .out_sig = "s", .fn = srv_callback },
};
static const busrpc_signal_desc srv_signals[] = {
        { .name = "Tick", .sig = "s" },
        { .name = "Blob", .sig = "ay" },
        { .name = "FdTick", .sig = "h" },
};
static const busrpc_interface_desc srv_iface = {
        .name = IFACE,
        .xml = "<interface name=\"" IFACE "\">"
               "<method name=\"Echo\"><arg type=\"s\" direction=\"in\"/><arg type=\"s\" "
               "direction=\"out\"/></method>"
               "</interface>",
        .methods = srv_methods,
        .n_methods = sizeof(srv_methods) / sizeof(srv_methods[0]),
        .signals = srv_signals,
        .n_signals = sizeof(srv_signals) / sizeof(srv_signals[0]),
};

static void child_ready(int ready_fd) {
        if (write(ready_fd, "r", 1) != 1)
                _exit(4);
        close(ready_fd);
}

static void peer_server_main(const char *address, int ready_fd) {
        busrpc_server *srv = NULL;
        busrpc_loop *loop = NULL;

        if (busrpc_server_new(address, &srv) < 0 ||
            busrpc_object_export(busrpc_server_get_objects(srv), PATH, &srv_iface, NULL, NULL, &srv_obj) < 0)
                _exit(2);
        child_ready(ready_fd);
        busrpc_loop_default(&loop);
        busrpc_loop_run(loop);
        _exit(0);
}

/* A tcp server: its address (the port the kernel chose) down the pipe. */
static void tcp_server_main(const char *address, int ready_fd) {
        busrpc_server *srv = NULL;
        busrpc_objects *objs;
        busrpc_loop *loop = NULL;
        const char *a;

        if (busrpc_server_new(address, &srv) < 0)
                _exit(2);
        objs = busrpc_server_get_objects(srv);
        if (busrpc_object_export(objs, PATH, &srv_iface, NULL, NULL, &srv_obj) < 0 ||
            !(a = busrpc_server_get_address(srv)))
                _exit(2);
        if (dprintf(ready_fd, "%s\n", a) < 0)
                _exit(4);
        close(ready_fd);
        busrpc_loop_default(&loop);
        busrpc_loop_run(loop);
        _exit(0);
}

static void bus_service_main(const char *address, int ready_fd) {
        busrpc_conn *c = NULL;

        if (busrpc_conn_open(address, &c) < 0 ||
            busrpc_object_export(busrpc_conn_get_objects(c), PATH, &srv_iface, NULL, NULL, &srv_obj) < 0 ||
            busrpc_conn_request_name(c, BUS_NAME, 0, NULL, NULL, NULL) != 0)
                _exit(2);
        child_ready(ready_fd);
        busrpc_conn_run(c);
        _exit(0);
}

typedef void (*ChildMain)(const char *address, int ready_fd);

static pid_t start_child(ChildMain fn, const char *address) {
        int pfd[2];
        pid_t pid;
        char c;

        if (pipe(pfd) < 0)
                tap_bail("pipe");
        pid = fork();
        if (pid < 0)
                tap_bail("fork");
        if (pid == 0) {
                close(pfd[0]);
                prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a crashed test */
                fn(address, pfd[1]);
        }
        close(pfd[1]);
        if (read(pfd[0], &c, 1) != 1) {
                waitpid(pid, NULL, 0);
                tap_bail("the child service did not start");
        }
        close(pfd[0]);
        return pid;
}

static void stop_child(pid_t pid) {
        if (pid > 0) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
        }
}

/* ------------------------------------------------------------------ */
/* The client                                                          */

/* Run @c's loop until *@flag or @ms pass (a deadline against a hang, not a wait). */
static bool spin(busrpc_conn *c, const int *flag, int ms) {
        busrpc_loop *l = busrpc_conn_get_loop(c);
        long end = tap_now_ms() + ms;

        while ((!flag || !*flag) && tap_now_ms() < end)
                busrpc_loop_iterate(l, 20 * MS);
        return !flag || *flag;
}

static busrpc_msg *method_s(busrpc_proxy *p, const char *member, const char *arg) {
        busrpc_msg *m = NULL;
        busrpc_iter it;

        if (busrpc_proxy_method_new(p, IFACE, member, &m) < 0)
                return NULL;
        if (arg) {
                busrpc_msg_append(m, &it);
                busrpc_iter_append_basic(&it, 's', &arg);
        }
        return m;
}

/* A sync call answering 's'; its string in @out. */
static int call_s(busrpc_proxy *p, const char *member, const char *arg, char *out, size_t size) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_msg *reply = NULL;
        const char *s = NULL;
        busrpc_iter it;
        int r = busrpc_proxy_call(p, method_s(p, member, arg), "s", &reply, &err);

        if (r < 0 && err.name)
                tap_diag("%s: %s: %s", member, err.name, err.message ? err.message : "");
        busrpc_error_clear(&err);
        if (out)
                out[0] = '\0';
        if (r < 0)
                return r;
        if (out && busrpc_msg_read(reply, &it) == 0 && busrpc_iter_get_basic(&it, 's', &s) == 0)
                snprintf(out, size, "%s", s);
        busrpc_msg_unref(reply);
        return 0;
}

typedef struct Async {
        int done, r;
        char value[256];
} Async;

static void on_async(busrpc_msg *reply, int r, const busrpc_error *err, void *userdata) {
        Async *a = userdata;
        const char *s = NULL;
        busrpc_iter it;

        a->r = r;
        if (r == 0 && busrpc_msg_read(reply, &it) == 0 && busrpc_iter_get_basic(&it, 's', &s) == 0)
                snprintf(a->value, sizeof(a->value), "%s", s);
        else if (err && err->message)
                snprintf(a->value, sizeof(a->value), "error: %s", err->message);
        a->done = 1;
}

/* The signals Tick seen, in order, and whether the sync call that made
 * them had returned when each arrived. */
static char ticks[128];
static int n_ticks, ticks_before_return, emit_returned;

static void on_tick(busrpc_msg *m, busrpc_iter *args, void *userdata) {
        const char *s = NULL;

        if (busrpc_iter_get_basic(args, 's', &s) < 0)
                return;
        if (!emit_returned)
                ticks_before_return++;
        n_ticks++;
        strncat(ticks, s, sizeof(ticks) - strlen(ticks) - 2);
        strcat(ticks, ",");
}

/* What the client serves: Reenter (a sync call back on the same conn)
 * and Reenter2 (on another conn), both from inside the handler. */
static busrpc_proxy *reenter_same, *reenter_other;

static int cli_reenter(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        busrpc_proxy *p = self ? reenter_other : reenter_same;
        char got[128], out[200];
        int r = call_s(p, "Echo", self ? "inner-other" : "inner-same", got, sizeof(got));

        if (r < 0)
                return busrpc_call_fail(call, "org.busrpc.Link.Failed", "inner call: %d", r);
        snprintf(out, sizeof(out), "handler got %s", got);
        return reply_s(call, out);
}

static int cli_reenter2(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        return cli_reenter(call, args, ops, (void *)1);
}

static const busrpc_method_desc cli_methods[] = {
        { .name = "Reenter", .in_sig = "", .out_sig = "s", .fn = cli_reenter },
        { .name = "Reenter2", .in_sig = "", .out_sig = "s", .fn = cli_reenter2 },
};
static const busrpc_interface_desc cli_iface = {
        .name = IFACE,
        .xml = "<interface name=\"" IFACE "\"></interface>",
        .methods = cli_methods,
        .n_methods = 2,
};

typedef struct Events {
        int lost, reconnecting, reconnected, error;
} Events;

static void on_event(busrpc_conn *c, busrpc_conn_event ev, int error, void *userdata) {
        Events *e = userdata;

        if (ev == BUSRPC_CONN_LOST) {
                e->lost = 1;
                e->error = error;
        } else if (ev == BUSRPC_CONN_RECONNECTING) {
                e->reconnecting = 1;
        } else {
                e->reconnected = 1;
        }
}

static int memfd_with(const char *text) {
        int fd = memfd_create("link-test", MFD_CLOEXEC);

        if (fd < 0 || pwrite(fd, text, strlen(text), 0) != (ssize_t)strlen(text))
                tap_bail("memfd");
        return fd;
}

static int count_fds(void) {
        int n = 0;

        for (int fd = 0; fd < 1024; fd++)
                n += fcntl(fd, F_GETFD) >= 0;
        return n;
}

/* Everything a client does with one service: @dest NULL on a peer. */
static void exercise(busrpc_conn *c, busrpc_conn *other, const char *dest, const char *what) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_subscription *sub = NULL;
        busrpc_object *obj = NULL;
        busrpc_proxy *p = NULL;
        busrpc_msg *m = NULL, *reply = NULL;
        busrpc_iter it;
        char got[256], buf[128] = "";
        Async a = { 0 }, cb = { 0 }, cb2 = { 0 };
        unsigned io0 = libdbus_io;
        int fd, back = -1, r, fds0;

        busrpc_proxy_new(c, dest, PATH, &p);
        busrpc_proxy_set_timeout(p, 10000 * MS);

        is_int(call_s(p, "Echo", "hello", got, sizeof(got)), 0, tap_name("%s: sync Echo", what));
        is_str(got, "hello", tap_name("%s: echoed", what));
        is_int(busrpc_proxy_call_async(p, method_s(p, "Echo", "async"), "s", on_async, &a, NULL), 0,
               tap_name("%s: async Echo sent", what));
        ok(spin(c, &a.done, 10000) && a.r == 0, "%s: async reply", what);
        is_str(a.value, "async", tap_name("%s: its value", what));

        /* fds both ways */
        fds0 = count_fds();
        fd = memfd_with("from the client");
        busrpc_proxy_method_new(p, IFACE, "Fd", &m);
        busrpc_msg_append(m, &it);
        busrpc_iter_append_fd(&it, fd);
        close(fd);
        r = busrpc_proxy_call(p, m, "h", &reply, &err);
        is_int(r, 0, tap_name("%s: an fd to the service", what));
        if (r == 0) {
                busrpc_msg_read(reply, &it);
                is_int(busrpc_iter_get_fd(&it, &back), 0, tap_name("%s: an fd back", what));
                if (back >= 0 && pread(back, buf, sizeof(buf) - 1, 0) > 0)
                        ok(1, "%s: readable", what);
                else
                        ok(0, "%s: readable", what);
                is_str(buf, "server read 'from the client'", tap_name("%s: each side read the other's fd", what));
                if (back >= 0)
                        close(back);
                busrpc_msg_unref(reply);
        }
        busrpc_error_clear(&err);
        is_int(count_fds(), fds0, tap_name("%s: no fd left open", what));

        /* signals, held during a sync call, dispatched after it in order */
        ticks[0] = '\0';
        n_ticks = ticks_before_return = emit_returned = 0;
        is_int(busrpc_proxy_subscribe(p, IFACE, "Tick", "s", on_tick, NULL, NULL, &sub), 0,
               tap_name("%s: subscribed", what));
        is_int(call_s(p, "Emit", NULL, got, sizeof(got)), 0,
               tap_name("%s: Emit (three signals, then the reply)", what));
        emit_returned = 1;
        spin(c, NULL, 0);
        for (long end = tap_now_ms() + 10000; n_ticks < 3 && tap_now_ms() < end;)
                busrpc_loop_iterate(busrpc_conn_get_loop(c), 20 * MS);
        is_str(ticks, "one,two,three,", tap_name("%s: the signals, in order", what));
        is_int(ticks_before_return, 0, tap_name("%s: none dispatched inside the sync call", what));
        busrpc_subscription_release(sub);

        /* a handler calling synchronously: on the conn it is served on, and on another */
        is_int(busrpc_object_export(busrpc_conn_get_objects(c), CLIENT_PATH, &cli_iface, NULL, NULL, &obj),
               0, tap_name("%s: the client exports", what));
        busrpc_proxy_new(c, dest, PATH, &reenter_same);
        busrpc_proxy_set_timeout(reenter_same, 10000 * MS);
        busrpc_proxy_new(other, dest, PATH, &reenter_other);
        busrpc_proxy_set_timeout(reenter_other, 10000 * MS);
        busrpc_proxy_call_async(p, method_s(p, "CallBack", "Reenter"), "s", on_async, &cb, NULL);
        ok(spin(c, &cb.done, 15000) && cb.r == 0,
           "%s: the service called back; the handler called it (same conn)", what);
        is_str(cb.value, "back: handler got inner-same", tap_name("%s: the nested sync call's reply", what));
        busrpc_proxy_call_async(p, method_s(p, "CallBack", "Reenter2"), "s", on_async, &cb2, NULL);
        ok(spin(c, &cb2.done, 15000) && cb2.r == 0,
           "%s: ... and a sync call on another conn from the handler", what);
        is_str(cb2.value, "back: handler got inner-other", tap_name("%s: its reply", what));
        reenter_same = busrpc_proxy_unref(reenter_same);
        reenter_other = busrpc_proxy_unref(reenter_other);
        busrpc_object_release(obj);

        /* a timeout */
        busrpc_proxy_set_next_timeout(p, 200 * MS);
        is_int(busrpc_proxy_call(p, method_s(p, "Hang", NULL), "", NULL, &err), -ETIMEDOUT,
               tap_name("%s: a sync timeout", what));
        busrpc_error_clear(&err);

        if (getenv("BUSRPC_FAST_PATH") && strcmp(getenv("BUSRPC_FAST_PATH"), "1") == 0)
                is_int((int)(libdbus_io - io0), 0,
                       tap_name("%s: libdbus sent, read and dispatched no message", what));
        else
                ok(libdbus_io > io0, "%s: on libdbus, libdbus did the I/O (%u)", what, libdbus_io - io0);
        busrpc_proxy_unref(p);
}

static int blobs;

static void on_blob(busrpc_msg *m, busrpc_iter *args, void *userdata) {
        blobs++;
}

static int flood(busrpc_proxy *p, uint32_t n, uint64_t timeout_usec) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_msg *m = NULL;
        busrpc_iter it;
        int r;

        busrpc_proxy_method_new(p, IFACE, "Flood", &m);
        busrpc_msg_append(m, &it);
        busrpc_iter_append_basic(&it, 'u', &n);
        busrpc_proxy_set_next_timeout(p, timeout_usec);
        r = busrpc_proxy_call(p, m, "s", NULL, &err);
        busrpc_error_clear(&err);
        return r;
}

/* What a sync call holds back is bounded (fast path). */
static void test_held_bound(busrpc_conn *c) {
        busrpc_subscription *sub = NULL;
        busrpc_proxy *p = NULL;
        char got[64];
        bool all;

        is_int(busrpc_conn_get_max_held_bytes(c), BUSRPC_MAX_HELD_BYTES_DEFAULT, "held: 64 MiB by default");
        is_int(busrpc_conn_set_max_held_bytes(NULL, 1), -EINVAL, "held: NULL is -EINVAL");
        busrpc_proxy_new(c, NULL, PATH, &p);
        busrpc_proxy_set_timeout(p, 10000 * MS);
        busrpc_proxy_subscribe(p, IFACE, "Blob", "ay", on_blob, NULL, NULL, &sub);
        blobs = 0;
        is_int(flood(p, 64, 10000 * MS), 0,
               "held: 1 MiB of signals, then the reply: held under the default");
        for (long end = tap_now_ms() + 10000; blobs < 64 && tap_now_ms() < end;)
                busrpc_loop_iterate(busrpc_conn_get_loop(c), 20 * MS);
        is_int(blobs, 64, "held: then all of them dispatched");
        is_int(busrpc_conn_set_max_held_bytes(c, 64 * 1024), 0, "held: bound set to 64 KiB");
        is_int(busrpc_conn_get_max_held_bytes(c), 64 * 1024, "held: and read back");
        blobs = 0;
        is_int(flood(p, 64, 700 * MS), -ETIMEDOUT, "held: past the bound the wait reads no more: timeout");
        for (long end = tap_now_ms() + 10000; blobs < 64 && tap_now_ms() < end;)
                busrpc_loop_iterate(busrpc_conn_get_loop(c), 20 * MS);
        all = blobs == 64;
        ok(all, "held: what was held and what was left unread are dispatched afterwards (%d)", blobs);
        is_int(call_s(p, "Echo", "after", got, sizeof(got)), 0, "held: the conn serves on");
        is_int(busrpc_conn_set_max_held_bytes(c, 0), 0, "held: 0 restores the default");
        is_int(busrpc_conn_get_max_held_bytes(c), BUSRPC_MAX_HELD_BYTES_DEFAULT, "held: 64 MiB again");
        busrpc_subscription_release(sub);
        busrpc_proxy_unref(p);
}

/* Every fd open in the process (count_fds() looks below 1024 only). */
static int count_all_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *e;
        int n = 0;

        if (!d)
                tap_bail("/proc/self/fd");
        while ((e = readdir(d)))
                n += e->d_name[0] != '.';
        closedir(d);
        return n - 1; /* the directory's own fd */
}

static int fdticks;

static void on_fdtick(busrpc_msg *m, busrpc_iter *args, void *userdata) {
        int fd = -1;

        if (busrpc_iter_get_fd(args, &fd) == 0 && fd >= 0) {
                fdticks++;
                close(fd); /* a new fd, ours */
        }
}

/* Signals with fds read while a sync call waits are held with their fds:
 * the wait stops reading once CONN_MAX_RECEIVED_FDS (4096, as libdbus's
 * max_received_unix_fds) are held (review F3), then the rest comes. */
static void test_held_fds(busrpc_conn *c) {
        busrpc_subscription *sub = NULL;
        busrpc_proxy *p = NULL;
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_msg *m = NULL, *reply = NULL;
        busrpc_iter it;
        uint32_t n = 5000;
        int fds0, held, r;
        bool slow;

        busrpc_proxy_new(c, NULL, PATH, &p);
        busrpc_proxy_subscribe(p, IFACE, "FdTick", "h", on_fdtick, NULL, NULL, &sub);
        fdticks = 0;
        fds0 = count_all_fds();
        /* the wait can only end at its deadline: long enough for the
         * service to send 4096 signals, under valgrind too (its preload) */
        slow = getenv("LD_PRELOAD") && strstr(getenv("LD_PRELOAD"), "vgpreload");
        busrpc_proxy_set_timeout(p, (slow ? 40000 : 10000) * MS);
        busrpc_proxy_method_new(p, IFACE, "FdFlood", &m);
        busrpc_msg_append(m, &it);
        busrpc_iter_append_basic(&it, 'u', &n);
        r = busrpc_proxy_call(p, m, "s", &reply, &err);
        held = count_all_fds() - fds0;
        is_int(r, -ETIMEDOUT,
               "held fds: 5000 signals with an fd before the reply: the wait stops reading, timeout");
        /* one round of the wait reads 16 messages at most, with their fds */
        ok(held >= 4000 && held <= 4096 + 32,
           "held fds: at most 4096 (+ one read round) held during the wait (%d)", held);
        is_int(fdticks, 0, "held fds: none dispatched inside the sync call");
        busrpc_msg_unref(reply);
        busrpc_error_clear(&err);
        for (long end = tap_now_ms() + 60000; fdticks < 5000 && tap_now_ms() < end;)
                busrpc_loop_iterate(busrpc_conn_get_loop(c), 20 * MS);
        is_int(fdticks, 5000, "held fds: then every one is dispatched, with its fd");
        for (long end = tap_now_ms() + 5000; count_all_fds() > fds0 && tap_now_ms() < end;)
                busrpc_loop_iterate(busrpc_conn_get_loop(c), 20 * MS);
        is_int(count_all_fds(), fds0, "held fds: and closed");
        busrpc_subscription_release(sub);
        busrpc_proxy_unref(p);
}

/* tcp stays on libdbus, BUSRPC_FAST_PATH=1 or not. */
static void test_tcp(void) {
        char address[300] = "", got[64];
        busrpc_proxy *p = NULL;
        busrpc_conn *c = NULL;
        unsigned io0;
        int pfd[2], r;
        ssize_t n;
        pid_t pid;

        if (pipe(pfd) < 0)
                tap_bail("pipe");
        pid = fork();
        if (pid < 0)
                tap_bail("fork");
        if (pid == 0) {
                close(pfd[0]);
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                tcp_server_main("tcp:host=127.0.0.1,bind=127.0.0.1,port=0", pfd[1]);
        }
        close(pfd[1]);
        n = read(pfd[0], address, sizeof(address) - 1);
        close(pfd[0]);
        if (n <= 0) {
                stop_child(pid);
                tap_bail("the tcp server did not start");
        }
        address[strcspn(address, "\n")] = '\0';
        r = busrpc_conn_open_peer(address, &c);
        is_int(r, 0, tap_name("tcp: the fast path is asked for, the conn opens (%s)", address));
        if (r < 0) {
                stop_child(pid);
                return;
        }
        io0 = libdbus_io;
        busrpc_proxy_new(c, NULL, PATH, &p);
        busrpc_proxy_set_timeout(p, 10000 * MS);
        is_int(call_s(p, "Echo", "over tcp", got, sizeof(got)), 0, "tcp: sync Echo");
        is_str(got, "over tcp", "tcp: echoed");
        ok(libdbus_io > io0, "tcp: libdbus read and wrote it (%u)", libdbus_io - io0);
        busrpc_proxy_unref(p);
        busrpc_conn_unref(c);
        stop_child(pid);
}

/* The peer hangs up in the middle of a call. */
static void hangup_mid_call(busrpc_conn *c, const char *what) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_proxy *p = NULL;
        Events ev = { 0 };
        long t0 = tap_now_ms();

        busrpc_conn_on_event(c, on_event, &ev);
        busrpc_proxy_new(c, NULL, PATH, &p);
        busrpc_proxy_set_timeout(p, 10000 * MS);
        is_int(busrpc_proxy_call(p, method_s(p, "Bye", NULL), "", NULL, &err), -ECONNRESET,
               tap_name("%s: the peer hangs up mid-call: -ECONNRESET", what));
        ok(tap_now_ms() - t0 < 5000, "%s: at once, not at the timeout", what);
        busrpc_error_clear(&err);
        ok(spin(c, &ev.lost, 5000), "%s: the conn's event handler hears of the loss", what);
        ok(!busrpc_conn_is_connected(c), "%s: not connected any more", what);
        is_int(busrpc_proxy_call(p, method_s(p, "Echo", "x"), "s", NULL, &err), -ECONNRESET,
               tap_name("%s: then calls fail", what));
        busrpc_error_clear(&err);
        busrpc_proxy_unref(p);
}

/* ------------------------------------------------------------------ */
/* A hostile peer: authenticates, answers the Ping, then sends garbage  */

static void hostile_main(const char *path, int ready_fd) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char line[512], *bytes = NULL;
        int ls, fd, len = 0;
        size_t n = 0;
        DBusMessage *ret;
        /* framed right (32 bytes), but its PATH field claims type 'u' */
        static const unsigned char garbage[] = { 'l', 1, 0,   1, 0, 0, 0, 0, 7, 0, 0, 0, 8, 0, 0, 0,
                                                 1,   1, 'u', 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };

        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 1) < 0)
                _exit(2);
        child_ready(ready_fd);
        fd = accept(ls, NULL, NULL);
        if (fd < 0)
                _exit(3);
        /* SASL, server side, by hand: a NUL, then lines until BEGIN */
        for (;;) {
                char ch;

                if (read(fd, &ch, 1) != 1)
                        _exit(5);
                if (ch == '\0' && n == 0)
                        continue;
                if (ch != '\n') {
                        if (n < sizeof(line) - 1)
                                line[n++] = ch;
                        continue;
                }
                line[n] = '\0';
                n = 0;
                if (strncmp(line, "AUTH", 4) == 0)
                        dprintf(fd, "OK 0123456789abcdef0123456789abcdef\r\n");
                else if (strncmp(line, "NEGOTIATE_UNIX_FD", 17) == 0)
                        dprintf(fd, "AGREE_UNIX_FD\r\n");
                else if (strncmp(line, "BEGIN", 5) == 0)
                        break;
                else
                        dprintf(fd, "ERROR\r\n");
        }
        /* the client's Ping (serial 1, nothing before it): answered */
        if (read(fd, line, sizeof(line)) <= 0)
                _exit(6);
        ret = dbus_message_new(DBUS_MESSAGE_TYPE_METHOD_RETURN);
        dbus_message_set_reply_serial(ret, 1);
        dbus_message_set_serial(ret, 1);
        if (!dbus_message_marshal(ret, &bytes, &len) || write(fd, bytes, (size_t)len) != len)
                _exit(7);
        /* wait for the go, then bytes no D-Bus reader accepts */
        if (read(fd, line, sizeof(line)) <= 0)
                _exit(8);
        if (write(fd, garbage, sizeof(garbage)) != (ssize_t)sizeof(garbage))
                _exit(9);
        /* keep the socket open: only the client may close it */
        pause();
        _exit(0);
}

static void test_hostile(const char *dir, busrpc_conn *good) {
        /* dir is short (mkdtemp in /tmp): sun_path holds it */
        char path[100], address[120];
        busrpc_conn *c = NULL;
        busrpc_proxy *p = NULL, *gp = NULL;
        busrpc_msg *m = NULL;
        Events ev = { 0 };
        char got[64];
        pid_t pid;
        int r;

        snprintf(path, sizeof(path), "%s/hostile", dir);
        snprintf(address, sizeof(address), "unix:path=%s", path);
        pid = start_child((ChildMain)hostile_main, path);
        r = busrpc_conn_open_peer(address, &c);
        is_int(r, 0, "hostile: the conn opens (the peer answers Ping)");
        if (r < 0) {
                stop_child(pid);
                return;
        }
        busrpc_conn_on_event(c, on_event, &ev);
        /* any message is the go */
        busrpc_proxy_new(c, NULL, PATH, &p);
        busrpc_proxy_method_new(p, IFACE, "Go", &m);
        is_int(busrpc_proxy_send(p, m), 0, "hostile: a message to the peer");
        ok(spin(c, &ev.lost, 5000), "hostile: its invalid bytes close the conn");
        ok(!busrpc_conn_is_connected(c), "hostile: closed");
        busrpc_proxy_new(good, NULL, PATH, &gp);
        busrpc_proxy_set_timeout(gp, 10000 * MS);
        is_int(call_s(gp, "Echo", "still here", got, sizeof(got)), 0,
               "hostile: the other conn still serves");
        is_str(got, "still here", "hostile: and answers");
        busrpc_proxy_unref(gp);
        busrpc_proxy_unref(p);
        busrpc_conn_unref(c);
        stop_child(pid);
}

/* ------------------------------------------------------------------ */
/* Foreign clients calling a fast-path service                         */

static char *run_cmd(const char *cmd) {
        static char out[4096];
        FILE *f = popen(cmd, "r");
        size_t n;

        out[0] = '\0';
        if (!f)
                return out;
        n = fread(out, 1, sizeof(out) - 1, f);
        out[n] = '\0';
        pclose(f);
        out[strcspn(out, "\n")] = '\0';
        return out;
}

static void foreign_callers(const char *address, bool bus, const char *what) {
        const char *busctl = getenv("BUSCTL");
        char cmd[1024];

        if (!busctl || !*busctl)
                busctl = "busctl";
        if (bus)
                snprintf(cmd, sizeof(cmd),
                         "timeout 20 %s --address='%s' call " BUS_NAME " " PATH " " IFACE
                         " Echo s busctl 2>&1",
                         busctl, address);
        else
                snprintf(cmd, sizeof(cmd),
                         "timeout 20 %s --address='%s' call org.busrpc.Any " PATH " " IFACE
                         " Echo s busctl 2>&1",
                         busctl, address);
        is_str(run_cmd(cmd), "s \"busctl\"", tap_name("%s: busctl calls it", what));
        snprintf(cmd, sizeof(cmd),
                 "timeout 20 gdbus call --address '%s' --dest %s --object-path " PATH " --method " IFACE
                 ".Echo gdbus 2>&1",
                 address, bus ? BUS_NAME : "org.busrpc.Any");
        is_str(run_cmd(cmd), "('gdbus',)", tap_name("%s: gdbus calls it", what));
        snprintf(cmd, sizeof(cmd),
                 "timeout 20 dbus-send %s%s --print-reply=literal %s%s " PATH " " IFACE
                 ".Echo string:dbus-send 2>&1 | tr -d ' '",
                 bus ? "--bus=" : "--peer=", address, bus ? "--dest=" : "", bus ? BUS_NAME : "");
        is_str(run_cmd(cmd), "dbus-send", tap_name("%s: dbus-send calls it", what));
        snprintf(cmd, sizeof(cmd),
                 "timeout 20 /usr/bin/python3 -c \"import dbus,sys\n"
                 "c = %s('%s')\n"
                 "o = c.get_object(%s, '" PATH "')\n"
                 "print(o.Echo('python', dbus_interface='" IFACE "'))\" 2>&1",
                 bus ? "dbus.bus.BusConnection" : "dbus.connection.Connection", address,
                 bus ? "'" BUS_NAME "'" : "None");
        is_str(run_cmd(cmd), "python", tap_name("%s: python3-dbus calls it", what));
}

/* ------------------------------------------------------------------ */
/* A private dbus-daemon on a fixed path, so it can be restarted         */

static pid_t daemon_start(const char *dir, char *address, size_t size) {
        const char *daemon = getenv("DBUS_DAEMON");
        char addr_arg[300], sock[100];
        pid_t pid;

        if (!daemon || !*daemon)
                daemon = "/usr/bin/dbus-daemon";
        snprintf(sock, sizeof(sock), "%s/bus", dir);
        unlink(sock);
        snprintf(address, size, "unix:path=%s", sock);
        snprintf(addr_arg, sizeof(addr_arg), "--address=%s", address);
        pid = fork();
        if (pid < 0)
                tap_bail("fork");
        if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGTERM);
                execl(daemon, daemon, "--session", "--nofork", "--nopidfile", addr_arg, (char *)NULL);
                _exit(127);
        }
        /* ready once the socket accepts */
        for (long end = tap_now_ms() + 10000; tap_now_ms() < end;) {
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

                snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
                if (s >= 0 && connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
                        close(s);
                        return pid;
                }
                if (s >= 0)
                        close(s);
                usleep(10000);
        }
        tap_bail("dbus-daemon did not start");
}

static void test_reconnect(const char *dir, pid_t *daemon, char *address, size_t size) {
        busrpc_conn *c = NULL;
        busrpc_proxy *p = NULL;
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_msg *m = NULL, *reply = NULL;
        Events ev = { 0 };
        char first[64] = "";
        unsigned io0;
        int r;

        if (busrpc_conn_open(address, &c) < 0)
                tap_bail("open the bus");
        snprintf(first, sizeof(first), "%s", busrpc_conn_get_unique_name(c));
        busrpc_conn_on_event(c, on_event, &ev);
        is_int(busrpc_conn_set_reconnect(c, 20000 * MS), 0, "reconnect: on");
        kill(*daemon, SIGTERM);
        waitpid(*daemon, NULL, 0);
        ok(spin(c, &ev.reconnecting, 5000), "reconnect: the loss is seen");
        /* the new link is of the lost one's kind, whatever the environment says now */
        setenv("BUSRPC_FAST_PATH", "0", 1);
        *daemon = daemon_start(dir, address, size);
        ok(spin(c, &ev.reconnected, 15000), "reconnect: back on the restarted daemon");
        ok(!ev.lost, "reconnect: not lost for good");
        ok(busrpc_conn_get_unique_name(c) && strcmp(busrpc_conn_get_unique_name(c), first) != 0,
           "reconnect: a new unique name (%s, was %s)", busrpc_conn_get_unique_name(c), first);
        busrpc_proxy_new(c, "org.freedesktop.DBus", "/org/freedesktop/DBus", &p);
        busrpc_proxy_set_timeout(p, 10000 * MS);
        busrpc_proxy_method_new(p, "org.freedesktop.DBus", "GetId", &m);
        io0 = libdbus_io;
        r = busrpc_proxy_call(p, m, "s", &reply, &err);
        is_int(r, 0, "reconnect: the new bus answers");
        is_int((int)(libdbus_io - io0), 0,
               "reconnect: on the fast path again (BUSRPC_FAST_PATH=0 meanwhile)");
        setenv("BUSRPC_FAST_PATH", "1", 1);
        busrpc_msg_unref(reply);
        busrpc_error_clear(&err);
        busrpc_proxy_unref(p);
        busrpc_conn_unref(c);
}

int main(void) {
        char dir[] = "/tmp/busrpc-link-XXXXXX", peer_addr[300], bus_addr[300], cmd[320];
        busrpc_conn *c = NULL, *c2 = NULL, *bc = NULL;
        pid_t srv, daemon, svc;

        signal(SIGPIPE, SIG_IGN);
        setenv("BUSRPC_FAST_PATH", "1", 1);
        if (!mkdtemp(dir))
                tap_bail("mkdtemp");
        snprintf(peer_addr, sizeof(peer_addr), "unix:path=%s/peer", dir);

        /* ---- a peer socket ---- */
        srv = start_child(peer_server_main, peer_addr);
        if (busrpc_conn_open_peer(peer_addr, &c) < 0 || busrpc_conn_open_peer(peer_addr, &c2) < 0)
                tap_bail("busrpc_conn_open_peer");
        exercise(c, c2, NULL, "peer, fast path");
        test_hostile(dir, c2);
        foreign_callers(peer_addr, false, "peer server");
        /* both links in one program: a libdbus conn calls the handler that calls on the fast one */
        setenv("BUSRPC_FAST_PATH", "0", 1);
        {
                busrpc_conn *slow = NULL;

                if (busrpc_conn_open_peer(peer_addr, &slow) < 0)
                        tap_bail("busrpc_conn_open_peer (libdbus)");
                exercise(slow, c2, NULL, "peer, libdbus, handler calling a fast-path conn");
                busrpc_conn_unref(slow);
        }
        setenv("BUSRPC_FAST_PATH", "1", 1);
        test_tcp();
        test_held_bound(c);
        test_held_fds(c);
        hangup_mid_call(c, "peer");
        busrpc_conn_unref(c);
        busrpc_conn_unref(c2);
        stop_child(srv);

        /* ---- a private dbus-daemon ---- */
        daemon = daemon_start(dir, bus_addr, sizeof(bus_addr));
        svc = start_child(bus_service_main, bus_addr);
        if (busrpc_conn_open(bus_addr, &bc) < 0 || busrpc_conn_open(bus_addr, &c2) < 0)
                tap_bail("busrpc_conn_open");
        ok(busrpc_conn_get_unique_name(bc) && busrpc_conn_get_unique_name(bc)[0] == ':',
           "bus: Hello sent by busrpc: unique name %s", busrpc_conn_get_unique_name(bc));
        exercise(bc, c2, BUS_NAME, "bus, fast path");
        foreign_callers(bus_addr, true, "bus service");
        busrpc_conn_unref(bc);
        busrpc_conn_unref(c2);
        test_reconnect(dir, &daemon, bus_addr, sizeof(bus_addr));
        stop_child(svc);
        kill(daemon, SIGTERM);
        waitpid(daemon, NULL, 0);

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
                tap_diag("could not remove %s", dir);
        dbus_shutdown();
        return tap_done();
}
