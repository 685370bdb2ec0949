/* test-peer-call.c: the calling side on a peer-to-peer connection: a
 * busrpc_server in a child process, a proxy without destination, sync and
 * async calls, an fd (shm) through the socket, a timeout, and a signal
 * subscription (whose AddMatch the server honours).
 */
#include <dbus/dbus.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "busrpc/busrpc.h"
#include "tap.h"

#define PEER_IFACE "org.busrpc.Peer"
#define PEER_PATH "/org/busrpc/Peer"

/* ------------------------------------------------------------------ */
/* The server (child process)                                          */

static busrpc_object *srv_obj;

static int srv_echo(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        const char *s = NULL;
        busrpc_msg *reply = NULL;
        busrpc_iter it;
        int r;

        (void)ops;
        (void)self;
        if ((r = busrpc_iter_get_basic(args, 's', &s)) < 0 || (r = busrpc_call_reply_new(call, &reply)) < 0)
                return r;
        busrpc_msg_append(reply, &it);
        busrpc_iter_append_basic(&it, 's', &s);
        return busrpc_msg_send(reply);
}

static int srv_echo_shm(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        busrpc_shm *shm = NULL;
        busrpc_msg *reply = NULL;
        busrpc_iter it;
        int r;

        (void)ops;
        (void)self;
        if ((r = busrpc_iter_get_shm(args, &shm)) < 0)
                return busrpc_call_fail(call, BUSRPC_ERROR_INVALID_ARGS, "not a sealed memfd (%d)", r);
        if ((r = busrpc_call_reply_new(call, &reply)) < 0) {
                busrpc_shm_unref(shm);
                return r;
        }
        busrpc_msg_append(reply, &it);
        busrpc_iter_append_shm(&it, shm);
        busrpc_shm_unref(shm);
        return busrpc_msg_send(reply);
}

static int srv_emit(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        const char *arg = "peer-signal";
        busrpc_msg *m = NULL, *reply = NULL;
        busrpc_iter it;
        int r;

        (void)args;
        (void)ops;
        (void)self;
        if ((r = busrpc_object_signal_new(srv_obj, "Ping", &m)) < 0)
                return r;
        busrpc_msg_append(m, &it);
        busrpc_iter_append_basic(&it, 's', &arg);
        if ((r = busrpc_msg_send(m)) < 0)
                return r;
        if ((r = busrpc_call_reply_new(call, &reply)) < 0)
                return r;
        return busrpc_msg_send(reply);
}

static int srv_hang(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        (void)args;
        (void)ops;
        (void)self;
        busrpc_call_ref(call); /* never answered */
        return BUSRPC_DEFER;
}

static const busrpc_method_desc srv_methods[] = {
        { "Echo", "s", "s", srv_echo, 0, NULL, NULL, NULL },
        { "EchoShm", "h", "h", srv_echo_shm, 0, NULL, NULL, NULL },
        { "Emit", "", "", srv_emit, 0, NULL, NULL, NULL },
        { "Hang", "", "", srv_hang, 0, NULL, NULL, NULL },
};
static const busrpc_signal_desc srv_signals[] = {
        { "Ping", "s", NULL },
};
static const busrpc_interface_desc srv_iface = {
        .name = PEER_IFACE,
        .xml = "<interface name=\"" PEER_IFACE "\"></interface>",
        .methods = srv_methods,
        .n_methods = 4,
        .signals = srv_signals,
        .n_signals = 1,
};

static void server_main(const char *address, int ready_fd) {
        busrpc_server *srv = NULL;
        busrpc_loop *loop = NULL;
        int r;

        if ((r = busrpc_server_new(address, &srv)) < 0) {
                fprintf(stderr, "server_new: %s\n", strerror(-r));
                _exit(2);
        }
        if ((r = busrpc_object_export(busrpc_server_get_objects(srv), PEER_PATH, &srv_iface, NULL, NULL,
                                      &srv_obj)) < 0) {
                fprintf(stderr, "export: %s\n", strerror(-r));
                _exit(3);
        }
        if (write(ready_fd, "r", 1) != 1)
                _exit(4);
        close(ready_fd);
        busrpc_loop_default(&loop);
        busrpc_loop_run(loop);
        _exit(0);
}

/* ------------------------------------------------------------------ */
/* The client                                                          */

static busrpc_conn *conn;

static long now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool spin(int *counter, int want, int ms) {
        busrpc_loop *l = busrpc_conn_get_loop(conn);
        long end = now_ms() + ms;

        while ((!counter || *counter < want) && now_ms() < end)
                busrpc_loop_iterate(l, 50 * BUSRPC_USEC_PER_MSEC);
        return !counter || *counter >= want;
}

typedef struct Done {
        int calls, r;
        char value[64];
} Done;

static void on_reply(busrpc_msg *reply, int r, const busrpc_error *err, void *userdata) {
        Done *d = userdata;
        busrpc_iter it;
        const char *s = NULL;

        (void)err;
        d->calls++;
        d->r = r;
        if (r == 0 && busrpc_msg_read(reply, &it) == 0 && busrpc_iter_get_basic(&it, 's', &s) == 0)
                snprintf(d->value, sizeof(d->value), "%s", s);
}

static int pings, wrong_pings;

static void on_ping(busrpc_msg *m, busrpc_iter *args, void *userdata) {
        const char *s = NULL;

        (void)m;
        if (busrpc_iter_get_basic(args, 's', &s) == 0 && strcmp(s, "peer-signal") == 0)
                (*(int *)userdata)++;
}

static busrpc_msg *method(busrpc_proxy *p, const char *member, const char *arg) {
        busrpc_msg *m = NULL;
        busrpc_iter it;

        busrpc_proxy_method_new(p, PEER_IFACE, member, &m);
        if (arg) {
                busrpc_msg_append(m, &it);
                busrpc_iter_append_basic(&it, 's', &arg);
        }
        return m;
}

static void test_calls(void) {
        busrpc_proxy *p = NULL;
        busrpc_msg *reply = NULL, *m;
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_shm *shm = NULL, *back = NULL;
        busrpc_iter it;
        const char *s = NULL;
        static Done d; /* outlives this function if a wait fails */
        int r;

        ok(busrpc_conn_get_unique_name(conn) == NULL, "no unique name on a peer connection");
        is_int(busrpc_proxy_new(conn, NULL, PEER_PATH, &p), 0, "proxy without destination");
        busrpc_proxy_set_timeout(p, 5000 * BUSRPC_USEC_PER_MSEC); /* a broken server fails the test sooner */
        r = busrpc_proxy_call(p, method(p, "Echo", "over the socket"), "s", &reply, &err);
        is_int(r, 0, "sync Echo");
        if (r == 0) {
                busrpc_msg_read(reply, &it);
                busrpc_iter_get_basic(&it, 's', &s);
                is_str(s, "over the socket", "echoed");
                reply = busrpc_msg_unref(reply);
        }
        busrpc_error_clear(&err);

        busrpc_shm_new(1 << 20, &shm);
        memset(busrpc_shm_data(shm), 'z', 1 << 20);
        busrpc_proxy_method_new(p, PEER_IFACE, "EchoShm", &m);
        busrpc_msg_append(m, &it);
        busrpc_iter_append_shm(&it, shm);
        r = busrpc_proxy_call(p, m, "h", &reply, &err);
        is_int(r, 0, "1 MiB shm to the peer and back");
        if (r == 0) {
                busrpc_msg_read(reply, &it);
                is_int(busrpc_iter_get_shm(&it, &back), 0, "sealed shm received");
                ok(back && busrpc_shm_size(back) == (1u << 20) &&
                           ((const char *)busrpc_shm_const_data(back))[12345] == 'z',
                   "contents");
                busrpc_shm_unref(back);
                reply = busrpc_msg_unref(reply);
        }
        if (err.name)
                tap_diag("error %s: %s", err.name, err.message);
        busrpc_error_clear(&err);
        busrpc_shm_unref(shm);

        is_int(busrpc_proxy_call_async(p, method(p, "Echo", "async peer"), "s", on_reply, &d, NULL), 0, "async Echo");
        ok(spin(&d.calls, 1, 5000), "callback ran");
        is_str(d.value, "async peer", "reply");

        busrpc_proxy_set_next_timeout(p, 300 * BUSRPC_USEC_PER_MSEC);
        r = busrpc_proxy_call(p, method(p, "Hang", NULL), "", NULL, &err);
        is_int(r, -ETIMEDOUT, "sync timeout on a peer");
        busrpc_error_clear(&err);

        memset(&d, 0, sizeof(d));
        busrpc_proxy_set_next_timeout(p, 300 * BUSRPC_USEC_PER_MSEC);
        busrpc_proxy_call_async(p, method(p, "Hang", NULL), "", on_reply, &d, NULL);
        ok(spin(&d.calls, 1, 5000), "async timeout callback ran");
        is_int(d.r, -ETIMEDOUT, "-ETIMEDOUT");
        busrpc_proxy_unref(p);
}

static void test_signals(void) {
        busrpc_proxy *p = NULL;
        busrpc_subscription *sub = NULL, *wrong = NULL;
        busrpc_error err = BUSRPC_ERROR_INIT;

        busrpc_proxy_new(conn, NULL, PEER_PATH, &p);
        busrpc_proxy_set_timeout(p, 5000 * BUSRPC_USEC_PER_MSEC);
        is_int(busrpc_proxy_subscribe(p, PEER_IFACE, "Ping", "s", on_ping, &pings, NULL, &sub), 0, "subscribed on a peer");
        is_int(busrpc_proxy_subscribe(p, PEER_IFACE, "Ping", "i", on_ping, &wrong_pings, NULL, &wrong), 0,
               "and with another signature");
        is_int(busrpc_proxy_call(p, method(p, "Emit", NULL), "", NULL, &err), 0, "Emit");
        ok(spin(&pings, 1, 5000), "Ping received from the peer server");
        spin(NULL, 0, 200);
        is_int(pings, 1, "once");
        is_int(wrong_pings, 0, "not by the subscription expecting 'i'");
        busrpc_subscription_release(sub);
        busrpc_subscription_release(wrong);
        busrpc_proxy_call(p, method(p, "Emit", NULL), "", NULL, &err);
        spin(NULL, 0, 300);
        is_int(pings, 1, "nothing after unsubscribing");
        busrpc_error_clear(&err);
        busrpc_proxy_unref(p);
}

/* The server dies under a pending call: the callback runs, promptly. */
static void test_server_killed(pid_t pid) {
        busrpc_proxy *p = NULL;
        busrpc_error err = BUSRPC_ERROR_INIT;
        static Done d;
        long t0;

        busrpc_proxy_new(conn, NULL, PEER_PATH, &p);
        is_int(busrpc_proxy_call_async(p, method(p, "Hang", NULL), "", on_reply, &d, NULL), 0, "async Hang");
        spin(NULL, 0, 100);
        t0 = now_ms();
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        ok(spin(&d.calls, 1, 5000), "callback ran when the server died");
        is_int(d.r, -ECONNRESET, "with -ECONNRESET");
        ok(now_ms() - t0 < 1000, "promptly (%ld ms)", now_ms() - t0);
        is_int(busrpc_proxy_call(p, method(p, "Echo", "x"), "s", NULL, &err), -ECONNRESET, "then calls fail");
        busrpc_error_clear(&err);
        busrpc_proxy_unref(p);
}

int main(void) {
        char dir[] = "/tmp/busrpc-peer-XXXXXX", address[128], c, cmd[160];
        pid_t pid;
        int pfd[2], r;

        if (!mkdtemp(dir))
                tap_bail("mkdtemp");
        snprintf(address, sizeof(address), "unix:path=%s/sock", dir);
        if (pipe(pfd) < 0)
                tap_bail("pipe");
        pid = fork();
        if (pid < 0)
                tap_bail("fork");
        if (pid == 0) {
                close(pfd[0]);
                prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a crashed test */
                server_main(address, pfd[1]);
        }
        close(pfd[1]);
        if (read(pfd[0], &c, 1) != 1) {
                waitpid(pid, NULL, 0);
                tap_bail("peer server did not start");
        }
        close(pfd[0]);
        r = busrpc_conn_open_peer(address, &conn);
        if (r < 0) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                tap_bail("busrpc_conn_open_peer: %s", strerror(-r));
        }
        TAP_RUN(test_calls);
        TAP_RUN(test_signals);
        tap_diag("test_server_killed");
        test_server_killed(pid);
        busrpc_conn_unref(conn);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
                tap_diag("could not remove %s", dir);
        dbus_shutdown();
        return tap_done();
}
