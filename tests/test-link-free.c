/* test-link-free.c: a callback dropping the last reference to the
 * connection it runs on (review finding F1). The link's reader (busrpc's
 * own transport with BUSRPC_FAST_PATH=1, libdbus with 0; the test takes
 * the environment as it is, so both are run) is still on the stack when
 * the conn goes: a reply callback unreferencing its proxy and conn, the
 * same after a sync call nested in that callback, a signal callback
 * unreferencing its conn, and a method handler freeing its busrpc_server.
 * Each must complete without touching freed memory:
 * tests/test-link-free-valgrind.sh runs this under valgrind.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "busrpc/busrpc.h"
#include "tap.h"
#include "tap-util.h"

#define IFACE "org.busrpc.LinkFree"
#define PATH  "/org/busrpc/LinkFree"
#define MS    BUSRPC_USEC_PER_MSEC

/* A test name made with printf (is_int() takes a plain one). */
/* Iterate the default loop until *@flag or @ms pass (a bound against a hang). */
static bool spin(const int *flag, int ms) {
        busrpc_loop *l = NULL;
        long end = tap_now_ms() + ms;

        busrpc_loop_default(&l);
        while (!*flag && tap_now_ms() < end)
                busrpc_loop_iterate(l, 20 * MS);
        busrpc_loop_unref(l);
        return *flag;
}

static pid_t daemon_start(const char *dir, char *address, size_t size) {
        const char *daemon = getenv("DBUS_DAEMON");
        char addr_arg[400], sock[108];
        pid_t pid;

        if (!daemon || !*daemon)
                daemon = "/usr/bin/dbus-daemon";
        snprintf(sock, sizeof(sock), "%s/bus", dir);
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

/* ---- a reply callback drops the last references ---- */

typedef struct Last {
        busrpc_conn *conn;
        busrpc_proxy *proxy;
        bool nested; /* make a sync call first, from inside the callback */
        int done, r, nested_r;
        char id[64];
} Last;

static busrpc_msg *get_id(busrpc_proxy *p) {
        busrpc_msg *m = NULL;

        if (busrpc_proxy_method_new(p, "org.freedesktop.DBus", "GetId", &m) < 0)
                return NULL;
        return m;
}

static void last_reply(busrpc_msg *reply, int r, const busrpc_error *err, void *userdata) {
        Last *a = userdata;
        const char *s = NULL;
        busrpc_iter it;

        (void)err;
        a->r = r;
        if (r == 0 && busrpc_msg_read(reply, &it) == 0 && busrpc_iter_get_basic(&it, 's', &s) == 0)
                snprintf(a->id, sizeof(a->id), "%s", s);
        if (a->nested) {
                busrpc_error e = BUSRPC_ERROR_INIT;
                busrpc_msg *again = NULL;

                a->nested_r = busrpc_proxy_call(a->proxy, get_id(a->proxy), "s", &again, &e);
                busrpc_msg_unref(again);
                busrpc_error_clear(&e);
        }
        busrpc_proxy_unref(a->proxy);
        busrpc_conn_unref(a->conn); /* the last reference: the link goes under its reader */
        a->done = 1;
}

static void test_reply_unref(const char *address, bool nested, const char *what) {
        Last a = { .nested = nested, .nested_r = -1 };
        int r;

        if (busrpc_conn_open(address, &a.conn) < 0)
                tap_bail("busrpc_conn_open");
        if (busrpc_proxy_new(a.conn, "org.freedesktop.DBus", "/org/freedesktop/DBus", &a.proxy) < 0)
                tap_bail("busrpc_proxy_new");
        busrpc_proxy_set_timeout(a.proxy, 10000 * MS);
        r = busrpc_proxy_call_async(a.proxy, get_id(a.proxy), "s", last_reply, &a, NULL);
        is_int(r, 0, tap_name("%s: the async call is sent", what));
        ok(spin(&a.done, 10000), "%s: the reply callback ran", what);
        is_int(a.r, 0, tap_name("%s: with the bus's reply", what));
        ok(strlen(a.id) == 32, "%s: the bus id read (%s)", what, a.id);
        if (nested)
                is_int(a.nested_r, 0, tap_name("%s: the nested sync call was answered", what));
}

/* ---- a signal callback drops the last reference ---- */

typedef struct Sig {
        busrpc_conn *conn;
        int done;
        char arg[64];
} Sig;

static void last_signal(busrpc_msg *m, busrpc_iter *args, void *userdata) {
        Sig *s = userdata;
        const char *v = NULL;

        (void)m;
        if (busrpc_iter_get_basic(args, 's', &v) == 0)
                snprintf(s->arg, sizeof(s->arg), "%s", v);
        busrpc_conn_unref(s->conn); /* the last reference */
        s->done = 1;
}

static const busrpc_signal_desc sig_signals[] = {
        { .name = "Ping", .sig = "s" },
};
static const busrpc_interface_desc sig_iface = {
        .name = IFACE,
        .signals = sig_signals,
        .n_signals = 1,
};

static void test_signal_unref(const char *address) {
        busrpc_conn *emitter = NULL;
        busrpc_object *o = NULL;
        busrpc_proxy *p = NULL, *bus = NULL;
        busrpc_msg *m = NULL, *reply = NULL;
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_iter it;
        const char *v = "last";
        Sig s = { 0 };
        int r;

        if (busrpc_conn_open(address, &s.conn) < 0 || busrpc_conn_open(address, &emitter) < 0)
                tap_bail("busrpc_conn_open");
        if (busrpc_object_export(busrpc_conn_get_objects(emitter), PATH, &sig_iface, NULL, NULL, &o) < 0)
                tap_bail("busrpc_object_export");
        if (busrpc_proxy_new(s.conn, busrpc_conn_get_unique_name(emitter), PATH, &p) < 0)
                tap_bail("busrpc_proxy_new");
        r = busrpc_proxy_subscribe(p, IFACE, "Ping", "s", last_signal, &s, NULL, NULL);
        is_int(r, 0, "signal: subscribed");
        busrpc_proxy_unref(p); /* the subscription lives as long as the conn */
        /* a round trip after AddMatch: the bus has taken the match */
        if (busrpc_proxy_new(s.conn, "org.freedesktop.DBus", "/org/freedesktop/DBus", &bus) < 0)
                tap_bail("busrpc_proxy_new");
        busrpc_proxy_set_timeout(bus, 10000 * MS);
        is_int(busrpc_proxy_call(bus, get_id(bus), "s", &reply, &err), 0, "signal: the bus answers");
        busrpc_msg_unref(reply);
        busrpc_error_clear(&err);
        busrpc_proxy_unref(bus);
        if (busrpc_object_signal_new(o, "Ping", &m) < 0)
                tap_bail("busrpc_object_signal_new");
        busrpc_msg_append(m, &it);
        busrpc_iter_append_basic(&it, 's', &v);
        is_int(busrpc_msg_send(m), 0, "signal: emitted");
        ok(spin(&s.done, 10000), "signal: the callback ran and dropped its conn");
        is_str(s.arg, "last", "signal: with its argument");
        busrpc_object_release(o);
        busrpc_conn_unref(emitter);
}

/* ---- the last unref's flush finds the peer gone ---- */

/* A signal queued, the bus killed, then the last unref: conn_free()'s
 * flush fails on the dead socket, and the link's close must not come
 * back into the conn being freed. */
static void test_unref_flush_fails(const char *dir) {
        char sub[300], address[300];
        busrpc_conn *c = NULL;
        busrpc_object *o = NULL;
        busrpc_msg *m = NULL;
        busrpc_iter it;
        const char *v = "lost";
        pid_t daemon;

        snprintf(sub, sizeof(sub), "%s/gone", dir);
        if (mkdir(sub, 0700) < 0)
                tap_bail("mkdir");
        daemon = daemon_start(sub, address, sizeof(address));
        if (busrpc_conn_open(address, &c) < 0)
                tap_bail("busrpc_conn_open");
        if (busrpc_object_export(busrpc_conn_get_objects(c), PATH, &sig_iface, NULL, NULL, &o) < 0)
                tap_bail("busrpc_object_export");
        kill(daemon, SIGKILL);
        waitpid(daemon, NULL, 0);
        if (busrpc_object_signal_new(o, "Ping", &m) < 0)
                tap_bail("busrpc_object_signal_new");
        busrpc_msg_append(m, &it);
        busrpc_iter_append_basic(&it, 's', &v);
        (void)busrpc_msg_send(m); /* queued, or refused: the bus is gone */
        busrpc_object_release(o);
        busrpc_conn_unref(c);
        ok(1, "unref after the peer died with a message queued: no crash (valgrind checks the rest)");
}

/* ---- a method handler frees its server ---- */

static busrpc_server *quit_srv;
static int quit_done;

static int srv_quit(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        busrpc_msg *reply = NULL;
        int r;

        (void)args;
        (void)ops;
        (void)self;
        r = busrpc_call_reply_new(call, &reply);
        if (r >= 0)
                r = busrpc_msg_send(reply);
        quit_srv = busrpc_server_free(quit_srv); /* its peers, this one too, go with it */
        quit_done = 1;
        return r;
}

static const busrpc_method_desc quit_methods[] = {
        { .name = "Quit", .in_sig = "", .out_sig = "", .fn = srv_quit },
};
static const busrpc_interface_desc quit_iface = {
        .name = IFACE,
        .methods = quit_methods,
        .n_methods = 1,
};

static void test_server_free(const char *dir) {
        char address[300], peer_arg[320];
        busrpc_objects *objs;
        int status = -1;
        pid_t pid;

        snprintf(address, sizeof(address), "unix:path=%s/peer", dir);
        if (busrpc_server_new(address, &quit_srv) < 0)
                tap_bail("busrpc_server_new");
        objs = busrpc_server_get_objects(quit_srv);
        if (busrpc_object_export(objs, PATH, &quit_iface, NULL, NULL, NULL) < 0)
                tap_bail("busrpc_object_export");
        snprintf(peer_arg, sizeof(peer_arg), "--peer=%s", address);
        pid = fork();
        if (pid < 0)
                tap_bail("fork");
        if (pid == 0) {
                int null = open("/dev/null", O_WRONLY);

                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (null >= 0)
                        dup2(null, 1);
                execlp("dbus-send", "dbus-send", peer_arg, "--print-reply", "--reply-timeout=10000",
                       PATH, IFACE ".Quit", (char *)NULL);
                _exit(127);
        }
        ok(spin(&quit_done, 10000), "server: the handler ran and freed its server");
        ok(quit_srv == NULL, "server: freed");
        for (long end = tap_now_ms() + 10000; tap_now_ms() < end && waitpid(pid, &status, WNOHANG) == 0;)
                usleep(10000);
        if (status == -1) {
                kill(pid, SIGKILL);
                waitpid(pid, &status, 0);
        }
        ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "server: dbus-send got its reply (status %d)",
           status);
}

int main(void) {
        char dir[] = "/tmp/busrpc-link-free-XXXXXX", address[300], cmd[320];
        const char *fast = getenv("BUSRPC_FAST_PATH");
        pid_t daemon;

        signal(SIGPIPE, SIG_IGN);
        tap_diag("BUSRPC_FAST_PATH=%s", fast ? fast : "(unset: the default)");
        if (!mkdtemp(dir))
                tap_bail("mkdtemp");
        daemon = daemon_start(dir, address, sizeof(address));
        test_reply_unref(address, false, "reply");
        test_reply_unref(address, true, "reply after a nested sync call");
        test_signal_unref(address);
        test_server_free(dir);
        test_unref_flush_fails(dir);
        kill(daemon, SIGTERM);
        waitpid(daemon, NULL, 0);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
                tap_diag("could not remove %s", dir);
        return tap_done();
}
