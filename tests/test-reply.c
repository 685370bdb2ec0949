/* test-reply.c: busrpc's own reply table (runtime/reply.c), against a raw
 * libdbus peer in a child process that answers as the test tells it:
 * late, twice, after forged replies, after signals. Many calls in flight
 * with mixed deadlines time out in deadline order; a reply after its
 * timeout, a second reply and replies with forged serials are dropped; a
 * cancelled call whose reply is already queued completes once; a sync call
 * dispatches nothing while it waits and what it held comes after, in order.
 * Run under valgrind too (test-data-valgrind.sh): no leak, no fd left.
 */
#include <dbus/dbus.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "busrpc/busrpc.h"
#include "data-bus.h"
#include "tap.h"

#define IFACE "org.busrpc.ReplyTest"
#define PATH "/org/busrpc/ReplyTest"

static long now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------ */
/* The raw peer (child process): libdbus only, no busrpc               */

typedef struct Later {
        long at;
        DBusMessage *m;
} Later;

static DBusConnection *peer;
static DBusWatch *srv_watch;
static Later later[64];
static unsigned n_later;

static dbus_bool_t add_watch(DBusWatch *w, void *data) {
        (void)data;
        if (dbus_watch_get_flags(w) & DBUS_WATCH_READABLE)
                srv_watch = w;
        return TRUE;
}

static void remove_watch(DBusWatch *w, void *data) {
        (void)data;
        if (srv_watch == w)
                srv_watch = NULL;
}

static void new_connection(DBusServer *s, DBusConnection *c, void *data) {
        (void)s;
        (void)data;
        if (!peer)
                peer = dbus_connection_ref(c);
}

static void send_now(DBusMessage *m) {
        dbus_connection_send(peer, m, NULL);
        dbus_message_unref(m);
}

static DBusMessage *reply_u(DBusMessage *call, uint32_t v) {
        DBusMessage *r = dbus_message_new_method_return(call);

        dbus_message_append_args(r, DBUS_TYPE_UINT32, &v, DBUS_TYPE_INVALID);
        return r;
}

static void peer_handle(DBusMessage *m) {
        uint32_t arg = 0;

        if (dbus_message_get_type(m) != DBUS_MESSAGE_TYPE_METHOD_CALL)
                return;
        if (dbus_message_is_method_call(m, DBUS_INTERFACE_PEER, "Ping")) {
                send_now(dbus_message_new_method_return(m));
                return;
        }
        if (!dbus_message_has_interface(m, IFACE))
                return; /* AddMatch and the like: nobody waits for them */
        dbus_message_get_args(m, NULL, DBUS_TYPE_UINT32, &arg, DBUS_TYPE_INVALID);
        if (dbus_message_has_member(m, "Echo")) {
                send_now(reply_u(m, arg));
        } else if (dbus_message_has_member(m, "Late")) { /* reply after @arg ms */
                if (n_later < 64)
                        later[n_later++] = (Later){ now_ms() + arg, reply_u(m, arg) };
        } else if (dbus_message_has_member(m, "Twice")) {
                send_now(reply_u(m, 1));
                send_now(reply_u(m, 2));
        } else if (dbus_message_has_member(m, "Forged")) {
                /* replies to serials nobody used, a return and an error, then the real one */
                DBusMessage *f = reply_u(m, 666);

                dbus_message_set_reply_serial(f, dbus_message_get_serial(m) + 1000);
                send_now(f);
                f = dbus_message_new_error(m, "org.busrpc.Forged", "forged");
                dbus_message_set_reply_serial(f, 0x7ffffff0u);
                send_now(f);
                f = reply_u(m, 667);
                dbus_message_set_reply_serial(f, 0xfffffff0u);
                send_now(f);
                send_now(reply_u(m, arg));
        } else if (dbus_message_has_member(m, "TicksThenReply")) { /* @arg signals, then the reply */
                for (uint32_t i = 1; i <= arg; i++) {
                        DBusMessage *s = dbus_message_new_signal(PATH, IFACE, "Tick");

                        dbus_message_append_args(s, DBUS_TYPE_UINT32, &i, DBUS_TYPE_INVALID);
                        send_now(s);
                }
                send_now(reply_u(m, arg));
        }
        /* Hang: never answered */
}

static void peer_main(const char *address, int ready_fd) {
        const char *mechs[] = { "EXTERNAL", NULL };
        DBusError e = DBUS_ERROR_INIT;
        DBusServer *srv = dbus_server_listen(address, &e);

        if (!srv)
                _exit(2);
        dbus_server_set_auth_mechanisms(srv, mechs);
        dbus_server_set_new_connection_function(srv, new_connection, NULL, NULL);
        if (!dbus_server_set_watch_functions(srv, add_watch, remove_watch, NULL, NULL, NULL))
                _exit(3);
        if (write(ready_fd, "r", 1) != 1)
                _exit(4);
        close(ready_fd);
        while (!peer && srv_watch) {
                struct pollfd p = { dbus_watch_get_unix_fd(srv_watch), POLLIN, 0 };

                if (poll(&p, 1, -1) > 0)
                        dbus_watch_handle(srv_watch, DBUS_WATCH_READABLE);
        }
        dbus_server_disconnect(srv);
        dbus_server_unref(srv);
        if (!peer)
                _exit(5);
        for (;;) {
                DBusMessage *m;
                long wait = -1, now = now_ms();

                for (unsigned i = 0; i < n_later;) {
                        if (later[i].at <= now) {
                                send_now(later[i].m);
                                later[i] = later[--n_later];
                        } else {
                                if (wait < 0 || later[i].at - now < wait)
                                        wait = later[i].at - now;
                                i++;
                        }
                }
                dbus_connection_flush(peer);
                if (!dbus_connection_read_write(peer, (int)wait))
                        break;
                while ((m = dbus_connection_pop_message(peer))) {
                        peer_handle(m);
                        dbus_message_unref(m);
                }
                if (!dbus_connection_get_is_connected(peer))
                        break;
        }
        _exit(0);
}

/* ------------------------------------------------------------------ */
/* The client                                                          */

static busrpc_conn *conn;
static busrpc_proxy *proxy;

static void spin(const int *counter, int want, int ms) {
        busrpc_loop *l = busrpc_conn_get_loop(conn);
        long end = now_ms() + ms;

        while (*counter < want && now_ms() < end)
                busrpc_loop_iterate(l, 20 * BUSRPC_USEC_PER_MSEC);
}

/* Dispatch what is queued, without waiting for anything new. */
static void drain(void) {
        busrpc_loop *l = busrpc_conn_get_loop(conn);

        uint64_t usec = 0;

        for (int i = 0; i < 20 && busrpc_loop_get_timeout(l, &usec) == 0 && usec == 0; i++)
                busrpc_loop_iterate(l, 0);
        busrpc_loop_iterate(l, 0);
}

static busrpc_msg *method(const char *member, uint32_t arg) {
        busrpc_msg *m = NULL;
        busrpc_iter it;

        busrpc_proxy_method_new(proxy, IFACE, member, &m);
        busrpc_msg_append(m, &it);
        busrpc_iter_append_basic(&it, 'u', &arg);
        return m;
}

typedef struct Done {
        int calls, r;
        uint32_t value;
        char err[64];
        int order; /* position among completions */
} Done;

static int completions;

static void on_reply(busrpc_msg *reply, int r, const busrpc_error *err, void *userdata) {
        Done *d = userdata;
        busrpc_iter it;

        d->calls++;
        d->r = r;
        d->order = completions++;
        if (r == 0 && busrpc_msg_read(reply, &it) == 0)
                busrpc_iter_get_basic(&it, 'u', &d->value);
        if (r < 0 && err && err->name)
                snprintf(d->err, sizeof(d->err), "%s", err->name);
}

static long now_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void test_deadline_order(void) {
        static const int timeouts[] = { 320, 80, 240, 160, 400, 40, 200, 120, 280, 360 };
        enum { N = sizeof(timeouts) / sizeof(timeouts[0]) };
        static Done d[N], forever;
        long before[N], after[N];
        busrpc_pending *pd = NULL;
        bool all_timed_out = true, once = true;
        int pairs = 0, wrong = 0;

        completions = 0;
        for (int i = 0; i < N; i++) {
                busrpc_proxy_set_next_timeout(proxy, (uint64_t)timeouts[i] * BUSRPC_USEC_PER_MSEC);
                before[i] = now_us();
                if (busrpc_proxy_call_async(proxy, method("Hang", 0), "u", on_reply, &d[i], NULL) < 0)
                        all_timed_out = false;
                after[i] = now_us();
        }
        /* no deadline at all: stays until cancelled */
        busrpc_proxy_set_timeout(proxy, BUSRPC_TIMEOUT_INFINITE);
        is_int(busrpc_proxy_call_async(proxy, method("Hang", 0), "u", on_reply, &forever, &pd), 0,
               "a call without deadline");
        busrpc_proxy_set_timeout(proxy, 5000 * BUSRPC_USEC_PER_MSEC);
        spin(&completions, N, 10000);
        is_int(completions, N, "10 calls in flight with mixed deadlines all completed");
        /* A deadline lies between the send's start and end plus the
         * timeout: every pair whose deadlines are ordered for sure (all of
         * them unless sending is very slow, as under valgrind) must
         * complete in that order. */
        for (int i = 0; i < N; i++) {
                once &= d[i].calls == 1;
                all_timed_out &= d[i].r == -ETIMEDOUT && strcmp(d[i].err, BUSRPC_ERROR_NO_REPLY) == 0;
                for (int j = 0; j < N; j++) {
                        if (after[i] + timeouts[i] * 1000L >= before[j] + timeouts[j] * 1000L)
                                continue;
                        pairs++;
                        wrong += d[i].order > d[j].order;
                }
        }
        ok(once, "each completed once");
        ok(pairs >= N * (N - 1) / 4, "deadlines far enough apart to be ordered (%d pairs of %d)", pairs,
           N * (N - 1) / 2);
        is_int(wrong, 0, "completed in deadline order, not in sending order");
        ok(all_timed_out, "each with -ETIMEDOUT and NoReply");
        is_int(forever.calls, 0, "the call without deadline is still outstanding");
        busrpc_pending_cancel(pd);
        is_int(forever.calls, 1, "until cancelled");
        is_int(forever.r, -ECANCELED, "with -ECANCELED");
        busrpc_pending_unref(pd);
}

static void test_late_reply(void) {
        static Done d;
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_msg *reply = NULL;
        int r;

        busrpc_proxy_set_next_timeout(proxy, 30 * BUSRPC_USEC_PER_MSEC);
        is_int(busrpc_proxy_call_async(proxy, method("Late", 150), "u", on_reply, &d, NULL), 0, "async Late(150 ms)");
        spin(&d.calls, 1, 5000);
        is_int(d.calls, 1, "timed out");
        is_int(d.r, -ETIMEDOUT, "with -ETIMEDOUT");
        /* This reply comes after the late one: by its return the late one
         * was read (and held by the sync wait), then it is dispatched. */
        r = busrpc_proxy_call(proxy, method("Late", 300), "u", &reply, &err);
        is_int(r, 0, "sync Late(300 ms) after it");
        busrpc_msg_unref(reply);
        busrpc_error_clear(&err);
        drain();
        is_int(d.calls, 1, "the reply after the timeout was dropped: no second callback");
}

static void test_forged(void) {
        static Done d, twice;
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_msg *reply = NULL;
        busrpc_iter it;
        uint32_t v = 0;
        int r;

        is_int(busrpc_proxy_call_async(proxy, method("Forged", 42), "u", on_reply, &d, NULL), 0, "async Forged");
        spin(&d.calls, 1, 5000);
        drain();
        is_int(d.calls, 1, "replies with unknown serials ignored: one callback");
        is_int(d.r, 0, "with the real reply");
        is_int((int)d.value, 42, "its value");

        r = busrpc_proxy_call(proxy, method("Forged", 43), "u", &reply, &err);
        is_int(r, 0, "sync Forged");
        if (r == 0 && busrpc_msg_read(reply, &it) == 0)
                busrpc_iter_get_basic(&it, 'u', &v);
        is_int((int)v, 43, "the real reply, not a forged one");
        busrpc_msg_unref(reply);
        busrpc_error_clear(&err);
        drain();

        is_int(busrpc_proxy_call_async(proxy, method("Twice", 0), "u", on_reply, &twice, NULL), 0, "async Twice");
        spin(&twice.calls, 1, 5000);
        r = busrpc_proxy_call(proxy, method("Echo", 7), "u", NULL, &err); /* the second reply is read by now */
        busrpc_error_clear(&err);
        drain();
        is_int(twice.calls, 1, "a second reply to the same call is dropped");
        is_int((int)twice.value, 1, "the first one counted");
}

static busrpc_pending *victim;
static Done victim_done;

static void cancel_victim(busrpc_msg *reply, int r, const busrpc_error *err, void *userdata) {
        on_reply(reply, r, err, userdata);
        busrpc_pending_cancel(victim);
}

static void test_cancel_queued(void) {
        static Done d, first;
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_pending *pd = NULL;
        int r;

        /* the reply is held by a sync call's wait when the call is cancelled */
        is_int(busrpc_proxy_call_async(proxy, method("Echo", 5), "u", on_reply, &d, &pd), 0, "async Echo");
        r = busrpc_proxy_call(proxy, method("Echo", 6), "u", NULL, &err);
        is_int(r, 0, "a sync call after it (its wait reads the async reply)");
        busrpc_error_clear(&err);
        is_int(d.calls, 0, "the async reply was not dispatched during the sync call");
        busrpc_pending_cancel(pd);
        is_int(d.calls, 1, "cancelled: the callback ran at once");
        is_int(d.r, -ECANCELED, "with -ECANCELED");
        drain();
        is_int(d.calls, 1, "the queued reply of a cancelled call is dropped");
        busrpc_pending_unref(pd);

        /* both replies come in one read; the first one's callback cancels the second */
        is_int(busrpc_proxy_call_async(proxy, method("Echo", 1), "u", cancel_victim, &first, NULL), 0, "async Echo 1");
        is_int(busrpc_proxy_call_async(proxy, method("Echo", 2), "u", on_reply, &victim_done, &victim), 0,
               "async Echo 2");
        spin(&first.calls, 1, 5000);
        drain();
        is_int(victim_done.calls, 1, "cancelled from another callback: once");
        is_int(victim_done.r, -ECANCELED, "with -ECANCELED");
        busrpc_pending_unref(victim);
}

typedef struct Nested {
        Done d;
        int r;
        uint32_t value;
} Nested;

/* A sync call from inside a reply callback, on the same connection. */
static void call_inside(busrpc_msg *reply, int r, const busrpc_error *err, void *userdata) {
        Nested *n = userdata;
        busrpc_error e = BUSRPC_ERROR_INIT;
        busrpc_msg *back = NULL;
        busrpc_iter it;

        on_reply(reply, r, err, &n->d);
        n->r = busrpc_proxy_call(proxy, method("Echo", 77), "u", &back, &e);
        if (n->r == 0 && busrpc_msg_read(back, &it) == 0)
                busrpc_iter_get_basic(&it, 'u', &n->value);
        busrpc_msg_unref(back);
        busrpc_error_clear(&e);
}

static void test_sync_in_callback(void) {
        static Nested dispatched, held;
        busrpc_error err = BUSRPC_ERROR_INIT;

        /* dispatched by libdbus: the nested call waits inside libdbus */
        is_int(busrpc_proxy_call_async(proxy, method("Echo", 1), "u", call_inside, &dispatched, NULL), 0,
               "async Echo whose callback makes a sync call");
        spin(&dispatched.d.calls, 1, 5000);
        is_int(dispatched.r, 0, "the sync call inside a dispatched callback returned");
        is_int((int)dispatched.value, 77, "with its reply");
        /* delivered from what a sync call held: the nested call reads itself */
        is_int(busrpc_proxy_call_async(proxy, method("Echo", 2), "u", call_inside, &held, NULL), 0, "again");
        is_int(busrpc_proxy_call(proxy, method("Echo", 3), "u", NULL, &err), 0, "a sync call holds its reply");
        busrpc_error_clear(&err);
        is_int(held.d.calls, 0, "not dispatched yet");
        spin(&held.d.calls, 1, 5000);
        is_int(held.r, 0, "the sync call inside a held reply's callback returned");
        is_int((int)held.value, 77, "with its reply");
}

/* A connection moved to another loop takes its deadlines and held messages along. */
static void test_moved(void) {
        static Done timed, held;
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_loop *home = busrpc_loop_ref(busrpc_conn_get_loop(conn)), *other = NULL;
        long end;

        is_int(busrpc_loop_new(&other), 0, "another loop");
        busrpc_proxy_set_next_timeout(proxy, 100 * BUSRPC_USEC_PER_MSEC);
        is_int(busrpc_proxy_call_async(proxy, method("Hang", 0), "u", on_reply, &timed, NULL), 0, "async Hang");
        is_int(busrpc_proxy_call_async(proxy, method("Echo", 4), "u", on_reply, &held, NULL), 0, "async Echo");
        is_int(busrpc_proxy_call(proxy, method("Echo", 5), "u", NULL, &err), 0, "a sync call holds its reply");
        busrpc_error_clear(&err);
        is_int(busrpc_conn_attach(conn, other), 0, "moved to the other loop");
        end = now_ms() + 5000;
        while ((timed.calls < 1 || held.calls < 1) && now_ms() < end)
                busrpc_loop_iterate(other, 20 * BUSRPC_USEC_PER_MSEC);
        is_int(held.calls, 1, "the held reply is dispatched by the new loop");
        is_int(held.r, 0, "as a reply");
        is_int(timed.calls, 1, "the deadline fires on the new loop");
        is_int(timed.r, -ETIMEDOUT, "with -ETIMEDOUT");
        is_int(busrpc_conn_attach(conn, home), 0, "back home");
        busrpc_loop_unref(other);
        busrpc_loop_unref(home);
}

static int ticks[8], n_ticks;

static void on_tick(busrpc_msg *m, busrpc_iter *args, void *userdata) {
        uint32_t v = 0;

        (void)m;
        (void)userdata;
        busrpc_iter_get_basic(args, 'u', &v);
        if (n_ticks < 8)
                ticks[n_ticks] = (int)v;
        n_ticks++;
}

static void test_sync_holds(void) {
        busrpc_subscription *sub = NULL;
        busrpc_error err = BUSRPC_ERROR_INIT;
        static Done d;
        int r;

        is_int(busrpc_proxy_subscribe(proxy, IFACE, "Tick", "u", on_tick, NULL, NULL, &sub), 0, "subscribed to Tick");
        /* an async reply comes before the signals and the sync reply */
        is_int(busrpc_proxy_call_async(proxy, method("Echo", 9), "u", on_reply, &d, NULL), 0, "async Echo");
        r = busrpc_proxy_call(proxy, method("TicksThenReply", 3), "u", NULL, &err);
        is_int(r, 0, "sync call answered after 3 signals");
        busrpc_error_clear(&err);
        is_int(n_ticks, 0, "no signal dispatched while the sync call waited");
        is_int(d.calls, 0, "nor the async reply");
        spin(&n_ticks, 3, 5000);
        is_int(n_ticks, 3, "then all three signals");
        ok(ticks[0] == 1 && ticks[1] == 2 && ticks[2] == 3, "in order (%d %d %d)", ticks[0], ticks[1], ticks[2]);
        is_int(d.calls, 1, "and the async reply, once");
        busrpc_subscription_release(sub);
}

/* On a bus, a reply to a call to a unique name must come from that name,
 * or from the bus when the name is gone: the bus's error is taken at once,
 * not waited out. */
static void test_bus_gone_name(void) {
        TestBus bus = { 0 };
        busrpc_conn *bc = NULL;
        busrpc_proxy *p = NULL;
        busrpc_error err = BUSRPC_ERROR_INIT;
        static Done d;
        long t0;
        int r;

        test_bus_start(&bus);
        if (busrpc_conn_open(bus.address, &bc) < 0 || busrpc_proxy_new(bc, ":1.9999", "/gone", &p) < 0)
                tap_bail("a connection to the private bus");
        busrpc_proxy_set_timeout(p, 20000 * BUSRPC_USEC_PER_MSEC);
        t0 = now_ms();
        {
                busrpc_msg *m = NULL;

                busrpc_proxy_method_new(p, IFACE, "Echo", &m);
                r = busrpc_proxy_call(p, m, "u", NULL, &err);
        }
        ok(r < 0 && r != -ETIMEDOUT, "sync call to a unique name nobody has: fails (%d)", r);
        is_str(err.name, "org.freedesktop.DBus.Error.ServiceUnknown", "with the bus's ServiceUnknown");
        ok(now_ms() - t0 < 10000, "at once, not after the timeout");
        busrpc_error_clear(&err);
        {
                busrpc_msg *m = NULL;
                busrpc_loop *l = busrpc_conn_get_loop(bc);
                long end = now_ms() + 10000;

                busrpc_proxy_method_new(p, IFACE, "Echo", &m);
                is_int(busrpc_proxy_call_async(p, m, "u", on_reply, &d, NULL), 0, "async call to it");
                while (d.calls < 1 && now_ms() < end)
                        busrpc_loop_iterate(l, 50 * BUSRPC_USEC_PER_MSEC);
        }
        is_int(d.calls, 1, "completed once");
        is_str(d.err, "org.freedesktop.DBus.Error.ServiceUnknown", "by the bus's ServiceUnknown");
        busrpc_proxy_unref(p);
        busrpc_conn_unref(bc);
        test_bus_stop(&bus);
}

int main(void) {
        char dir[] = "/tmp/busrpc-reply-XXXXXX", addr[256];
        int pipefd[2], st = 0;
        pid_t pid;
        char c;

        if (!mkdtemp(dir))
                tap_bail("mkdtemp");
        snprintf(addr, sizeof(addr), "unix:path=%s/sock", dir);
        if (pipe(pipefd) < 0)
                tap_bail("pipe");
        pid = fork();
        if (pid < 0)
                tap_bail("fork");
        if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                close(pipefd[0]);
                peer_main(addr, pipefd[1]);
        }
        close(pipefd[1]);
        if (read(pipefd[0], &c, 1) != 1)
                tap_bail("the raw peer did not start");
        close(pipefd[0]);
        alarm(120); /* a deadlock fails the test instead of hanging it */
        if (busrpc_conn_open_peer(addr, &conn) < 0 || busrpc_proxy_new(conn, NULL, PATH, &proxy) < 0)
                tap_bail("connect to the raw peer");
        busrpc_proxy_set_timeout(proxy, 5000 * BUSRPC_USEC_PER_MSEC);

        TAP_RUN(test_deadline_order);
        TAP_RUN(test_late_reply);
        TAP_RUN(test_forged);
        TAP_RUN(test_cancel_queued);
        TAP_RUN(test_sync_holds);
        TAP_RUN(test_sync_in_callback);
        TAP_RUN(test_moved);
        TAP_RUN(test_bus_gone_name);

        busrpc_proxy_unref(proxy);
        busrpc_conn_unref(conn);
        waitpid(pid, &st, 0);
        ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the raw peer exited cleanly (%d)", st);
        {
                char sock[300];

                snprintf(sock, sizeof(sock), "%s/sock", dir);
                unlink(sock);
                rmdir(dir);
        }
        return tap_done();
}
