/* test-proxy.c: the calling side against a private dbus-daemon: the bus
 * driver's own methods, a service (a child process on plain libdbus) that
 * echoes, fails, never answers, has properties and emits signals; sync and
 * async calls, timeouts, cancellation, disconnects; subscriptions that
 * follow the owner of a name and drop spoofed signals.
 */
#include <dbus/dbus.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <time.h>
#include "busrpc/busrpc.h"
#include "data-bus.h"

#define SVC_NAME "org.busrpc.TestService"
#define SVC_PATH "/org/busrpc/Test"
#define SVC_IFACE "org.busrpc.Test"

static TestBus bus;
static char svc_unique[64];
static pid_t svc_pid;

#include "data-service.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

static busrpc_conn *conn;

static long now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run the loop until *counter reaches want, or ms pass. */
/* busrpc_proxy_get_timeout()'s microseconds; 12345 when it fails. */
static uint64_t proxy_timeout(busrpc_proxy *p) {
        uint64_t usec = 12345;

        return busrpc_proxy_get_timeout(p, &usec) < 0 ? 12345 : usec;
}

static bool spin(int *counter, int want, int ms) {
        busrpc_loop *l = busrpc_conn_get_loop(conn);
        long end = now_ms() + ms;

        while ((!counter || *counter < want) && now_ms() < end)
                busrpc_loop_iterate(l, 50 * BUSRPC_USEC_PER_MSEC);
        return !counter || *counter >= want;
}

static DBusConnection *raw_conn(void) {
        DBusConnection *dc = dbus_connection_open_private(bus.address, NULL);
        if (!dc || !dbus_bus_register(dc, NULL))
                tap_bail("raw connection failed");
        return dc;
}

static void raw_close(DBusConnection *dc) {
        dbus_connection_close(dc);
        dbus_connection_unref(dc);
}

/* ------------------------------------------------------------------ */
/* The bus driver                                                      */

static void test_driver(void) {
        busrpc_proxy *p = NULL;
        busrpc_msg *m = NULL, *reply = NULL;
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_iter it, a;
        const char *s = NULL, *name;
        bool found = false;
        int r;

        is_int(busrpc_proxy_new(conn, "org.freedesktop.DBus", "/org/freedesktop/DBus", &p), 0, "proxy on the bus driver");
        ok(proxy_timeout(p) == 25 * BUSRPC_USEC_PER_SEC, "default timeout 25 s, in microseconds");
        is_str(busrpc_proxy_get_destination(p), "org.freedesktop.DBus", "destination copied");

        busrpc_proxy_method_new(p, "org.freedesktop.DBus", "ListNames", &m);
        r = busrpc_proxy_call(p, m, "as", &reply, &err);
        is_int(r, 0, "ListNames");
        if (r == 0) {
                busrpc_msg_read(reply, &it);
                busrpc_iter_recurse(&it, &a);
                while (!busrpc_iter_at_end(&a)) {
                        busrpc_iter_get_basic(&a, 's', &s);
                        if (strcmp(s, SVC_NAME) == 0)
                                found = true;
                }
                ok(found, "the service's name is listed");
                reply = busrpc_msg_unref(reply);
        }

        busrpc_proxy_method_new(p, "org.freedesktop.DBus", "GetNameOwner", &m);
        busrpc_msg_append(m, &it);
        name = SVC_NAME;
        busrpc_iter_append_basic(&it, 's', &name);
        r = busrpc_proxy_call(p, m, "s", &reply, &err);
        is_int(r, 0, "GetNameOwner");
        if (r == 0) {
                busrpc_msg_read(reply, &it);
                busrpc_iter_get_basic(&it, 's', &s);
                ok(s[0] == ':', "owner is a unique name (%s)", s);
                snprintf(svc_unique, sizeof(svc_unique), "%s", s);
                reply = busrpc_msg_unref(reply);
        }

        busrpc_proxy_method_new(p, "org.freedesktop.DBus", "GetId", &m);
        r = busrpc_proxy_call(p, m, "s", &reply, &err);
        is_int(r, 0, "GetId");
        if (r == 0) {
                busrpc_msg_read(reply, &it);
                busrpc_iter_get_basic(&it, 's', &s);
                is_int(strlen(s), 32, "a 32-character id");
                reply = busrpc_msg_unref(reply);
        }

        busrpc_proxy_method_new(p, "org.freedesktop.DBus", "GetNameOwner", &m);
        busrpc_msg_append(m, &it);
        name = "org.nobody.Here";
        busrpc_iter_append_basic(&it, 's', &name);
        r = busrpc_proxy_call(p, m, "s", &reply, &err);
        is_int(r, -EREMOTEIO, "GetNameOwner of nobody: -EREMOTEIO");
        is_str(err.name, "org.freedesktop.DBus.Error.NameHasNoOwner", "error name NameHasNoOwner");
        ok(err.message && *err.message, "with a message");
        busrpc_error_clear(&err);

        busrpc_proxy_method_new(p, "org.freedesktop.DBus", "GetId", &m);
        r = busrpc_proxy_call(p, m, "i", &reply, &err);
        is_int(r, -EBADMSG, "reply of another signature: -EBADMSG");
        is_str(err.name, BUSRPC_ERROR_INVALID_ARGS, "with InvalidArgs");
        busrpc_error_clear(&err);

        is_int(busrpc_proxy_method_new(p, "not an iface", "GetId", &m), -EINVAL, "bad interface name refused");
        is_int(busrpc_proxy_method_new(p, NULL, "Get-Id", &m), -EINVAL, "bad member name refused");
        {
                busrpc_proxy *q = NULL;
                is_int(busrpc_proxy_new(conn, "org.freedesktop.DBus", "no/path", &q), -EINVAL, "bad path refused");
                is_int(busrpc_proxy_new(conn, NULL, "/", &q), -EINVAL, "no destination on a bus refused");
                is_int(busrpc_proxy_new(conn, "1bad.name", "/", &q), -EINVAL, "bad bus name refused");
                ok(q == NULL, "nothing returned");
        }
        busrpc_proxy_unref(p);
}

/* ------------------------------------------------------------------ */
/* Calls on the service                                                */

static void test_echo(void) {
        busrpc_proxy *p = NULL;
        busrpc_msg *m = NULL, *reply = NULL;
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_variant *v = NULL, *vback = NULL;
        busrpc_shm *shm = NULL, *shm_back = NULL;
        busrpc_iter it, a;
        const char *s = "h\xc3\xa9llo", *sback = NULL;
        int64_t x = INT64_MIN, xback = 0;
        int32_t ints[5] = { 1, -2, 3, INT32_MAX, INT32_MIN };
        const void *items = NULL;
        size_t n = 0;
        int r;

        busrpc_proxy_new(conn, SVC_NAME, SVC_PATH, &p);
        busrpc_proxy_method_new(p, SVC_IFACE, "Echo", &m);
        busrpc_msg_append(m, &it);
        busrpc_iter_append_basic(&it, 's', &s);
        busrpc_iter_append_basic(&it, 'x', &x);
        busrpc_iter_append_fixed_array(&it, 'i', ints, 5);
        busrpc_variant_new_string("in a variant", &v);
        busrpc_iter_append_variant(&it, v);
        busrpc_shm_new(8192, &shm);
        strcpy(busrpc_shm_data(shm), "shared");
        is_int(busrpc_iter_append_shm(&it, shm), 0, "shm appended");
        is_str(busrpc_msg_get_signature(m), "sxaivh", "call signature");
        r = busrpc_proxy_call(p, m, "sxaivh", &reply, &err);
        is_int(r, 0, "Echo round trip");
        if (r == 0) {
                busrpc_msg_read(reply, &it);
                busrpc_iter_get_basic(&it, 's', &sback);
                busrpc_iter_get_basic(&it, 'x', &xback);
                is_int(busrpc_iter_get_fixed_array(&it, 'i', &items, &n), 0, "ints back");
                is_int(busrpc_iter_get_variant(&it, &vback), 0, "variant back");
                is_int(busrpc_iter_get_shm(&it, &shm_back), 0, "shm back through the bus");
                is_str(sback, s, "string");
                ok(xback == INT64_MIN, "int64");
                ok(n == 5 && memcmp(items, ints, sizeof(ints)) == 0, "array");
                ok(busrpc_variant_equal(v, vback), "variant");
                is_str(busrpc_shm_const_data(shm_back), "shared", "shm contents");
                ok(busrpc_msg_get_sender(reply) && busrpc_msg_get_sender(reply)[0] == ':', "reply has a sender");
                busrpc_msg_unref(reply);
        }
        busrpc_shm_unref(shm_back);
        busrpc_shm_unref(shm);
        busrpc_variant_unref(vback);
        busrpc_variant_unref(v);

        busrpc_proxy_method_new(p, SVC_IFACE, "Fail", &m);
        r = busrpc_proxy_call(p, m, "", NULL, &err);
        is_int(r, -EREMOTEIO, "Fail: -EREMOTEIO");
        is_str(err.name, "org.busrpc.Test.Error.Boom", "the service's error name");
        is_str(err.message, "boom", "and message");
        busrpc_error_clear(&err);

        busrpc_proxy_method_new(p, SVC_IFACE, "WrongSig", &m);
        r = busrpc_proxy_call(p, m, "i", NULL, &err);
        is_int(r, -EBADMSG, "unexpected reply signature: -EBADMSG");
        busrpc_error_clear(&err);

        /* Struct in array in reply, read element by element. */
        busrpc_proxy_method_new(p, SVC_IFACE, "Echo", &m);
        busrpc_msg_append(m, &it);
        busrpc_iter_open(&it, 'a', "(is)", &a);
        for (int32_t k = 0; k < 3; k++) {
                busrpc_iter st;
                busrpc_iter_open(&a, 'r', NULL, &st);
                busrpc_iter_append_basic(&st, 'i', &k);
                busrpc_iter_append_basic(&st, 's', &s);
                busrpc_iter_close(&a, &st);
        }
        busrpc_iter_close(&it, &a);
        r = busrpc_proxy_call(p, m, "a(is)", &reply, &err);
        is_int(r, 0, "a(is) round trip");
        if (r == 0) {
                int32_t sum = 0, k;
                busrpc_msg_read(reply, &it);
                busrpc_iter_recurse(&it, &a);
                while (!busrpc_iter_at_end(&a)) {
                        busrpc_iter st;
                        busrpc_iter_recurse(&a, &st);
                        busrpc_iter_get_basic(&st, 'i', &k);
                        sum += k;
                }
                is_int(sum, 3, "elements 0 1 2 back");
                busrpc_msg_unref(reply);
        }
        busrpc_proxy_unref(p);
}

/* Variants nested near the specification's limit go through the bus and
 * back, and are copied out without trouble. */
static void test_deep_variant(void) {
        busrpc_proxy *p = NULL;
        busrpc_msg *m = NULL, *reply = NULL;
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_variant *v = NULL, *next, *back = NULL;
        busrpc_iter it;
        int depth = 0, r;

        busrpc_variant_new_string("bottom", &v);
        while (depth < 62 && busrpc_variant_new_variant(v, &next) == 0) {
                busrpc_variant_unref(v);
                v = next;
                depth++;
        }
        is_int(depth, 62, "62 variants deep");
        busrpc_proxy_new(conn, SVC_NAME, SVC_PATH, &p);
        busrpc_proxy_method_new(p, SVC_IFACE, "Echo", &m);
        busrpc_msg_append(m, &it);
        is_int(busrpc_iter_append_variant(&it, v), 0, "appended to a call (63 levels)");
        r = busrpc_proxy_call(p, m, "v", &reply, &err);
        is_int(r, 0, "echoed by the service through the bus");
        if (r == 0) {
                busrpc_msg_read(reply, &it);
                is_int(busrpc_iter_get_variant(&it, &back), 0, "copied out of the reply");
                ok(busrpc_variant_equal(v, back), "equal to what was sent");
                busrpc_msg_unref(reply);
        }
        busrpc_error_clear(&err);
        busrpc_variant_unref(back);
        busrpc_variant_unref(v);
        busrpc_proxy_unref(p);
}

static void test_timeout(void) {
        busrpc_proxy *p = NULL;
        busrpc_msg *m = NULL;
        busrpc_error err = BUSRPC_ERROR_INIT;
        uint64_t u = 7;
        long t0;
        int r;

        busrpc_proxy_new(conn, SVC_NAME, SVC_PATH, &p);
        is_int(busrpc_proxy_set_next_timeout(p, 300 * BUSRPC_USEC_PER_MSEC), 0, "next timeout 300 ms (in us)");
        busrpc_proxy_method_new(p, SVC_IFACE, "Hang", &m);
        t0 = now_ms();
        r = busrpc_proxy_call(p, m, "", NULL, &err);
        is_int(r, -ETIMEDOUT, "no reply: -ETIMEDOUT");
        is_str(err.name, BUSRPC_ERROR_NO_REPLY, "NoReply");
        ok(now_ms() - t0 >= 250 && now_ms() - t0 < 5000, "after about 300 ms (%ld)", now_ms() - t0);
        busrpc_error_clear(&err);
        ok(proxy_timeout(p) == 25 * BUSRPC_USEC_PER_SEC, "next-call timeout did not stick");

        /* Microseconds, below a millisecond too: the call times out (the
         * deadline is rounded up); it neither falls back to the proxy's
         * timeout (none here: it would hang) nor is refused. */
        is_int(busrpc_proxy_set_timeout(p, BUSRPC_TIMEOUT_INFINITE), 0, "set_timeout(INFINITE)");
        ok(proxy_timeout(p) == BUSRPC_TIMEOUT_INFINITE, "get_timeout() says INFINITE");
        is_int(busrpc_proxy_set_next_timeout(p, 500), 0, "next timeout 500 us");
        busrpc_proxy_method_new(p, SVC_IFACE, "Hang", &m);
        is_int(busrpc_proxy_call(p, m, "", NULL, &err), -ETIMEDOUT, "a 500 us call timed out: -ETIMEDOUT");
        is_str(err.name, BUSRPC_ERROR_NO_REPLY, "NoReply");
        busrpc_error_clear(&err);
        is_int(busrpc_proxy_set_timeout(p, 1500), 0, "set_timeout(1500 us)");
        ok(proxy_timeout(p) == 1500, "get_timeout() gives the microseconds back as set");
        busrpc_proxy_method_new(p, SVC_IFACE, "Hang", &m);
        is_int(busrpc_proxy_call(p, m, "", NULL, &err), -ETIMEDOUT, "a call on the 1500 us timeout: -ETIMEDOUT");
        is_str(err.name, BUSRPC_ERROR_NO_REPLY, "NoReply");
        busrpc_error_clear(&err);
        is_int(busrpc_proxy_set_timeout(p, 30 * 24 * 3600 * BUSRPC_USEC_PER_SEC), 0, "set_timeout(30 days)");
        ok(proxy_timeout(p) == 30 * 24 * 3600 * BUSRPC_USEC_PER_SEC, "kept as set (no 32-bit ms on the way)");
        is_int(busrpc_proxy_set_timeout(p, BUSRPC_TIMEOUT_DEFAULT), 0, "set_timeout(DEFAULT)");
        ok(proxy_timeout(p) == 25 * BUSRPC_USEC_PER_SEC, "is 25 s again");
        is_int(busrpc_proxy_set_timeout(NULL, 1), -EINVAL, "set_timeout(NULL)");
        is_int(busrpc_proxy_set_next_timeout(NULL, 1), -EINVAL, "set_next_timeout(NULL)");
        is_int(busrpc_proxy_get_timeout(NULL, &u), -EINVAL, "get_timeout(NULL)");
        is_int(busrpc_proxy_get_timeout(p, NULL), -EINVAL, "get_timeout(p, NULL)");
        ok(u == 7, "a failed get_timeout() writes nothing");
        busrpc_proxy_unref(p);
}

/* ---- async ---- */

typedef struct Done {
        int calls;
        int r;
        char err_name[128];
        char value[64];
        busrpc_pending *pending; /* unref'd in the callback when set */
} Done;

static void on_reply(busrpc_msg *reply, int r, const busrpc_error *err, void *userdata) {
        Done *d = userdata;
        busrpc_iter it;
        const char *s = NULL;

        d->calls++;
        d->r = r;
        if (r < 0)
                snprintf(d->err_name, sizeof(d->err_name), "%s", err && err->name ? err->name : "(none)");
        else if (reply && busrpc_msg_read(reply, &it) == 0 && busrpc_iter_get_basic(&it, 's', &s) == 0)
                snprintf(d->value, sizeof(d->value), "%s", s);
        if (d->pending)
                d->pending = busrpc_pending_unref(d->pending);
}

static busrpc_msg *echo_msg(busrpc_proxy *p, const char *member, const char *s) {
        busrpc_msg *m = NULL;
        busrpc_iter it;

        busrpc_proxy_method_new(p, SVC_IFACE, member, &m);
        if (s) {
                busrpc_msg_append(m, &it);
                busrpc_iter_append_basic(&it, 's', &s);
        }
        return m;
}

static void test_async(void) {
        busrpc_proxy *p = NULL;
        /* static: a call that outlives a failed wait must not write into a dead frame */
        static Done d1, d2, d3, d4, d5;
        busrpc_pending *pd = NULL;

        busrpc_proxy_new(conn, SVC_NAME, SVC_PATH, &p);

        is_int(busrpc_proxy_call_async(p, echo_msg(p, "Echo", "async"), "s", on_reply, &d1, NULL), 0, "async Echo");
        ok(spin(&d1.calls, 1, 5000), "callback ran");
        is_int(d1.r, 0, "with success");
        is_str(d1.value, "async", "and the reply");

        busrpc_proxy_call_async(p, echo_msg(p, "Fail", NULL), "", on_reply, &d2, NULL);
        spin(&d2.calls, 1, 5000);
        is_int(d2.r, -EREMOTEIO, "async error reply: -EREMOTEIO");
        is_str(d2.err_name, "org.busrpc.Test.Error.Boom", "error name");

        busrpc_proxy_set_next_timeout(p, 300 * BUSRPC_USEC_PER_MSEC);
        busrpc_proxy_call_async(p, echo_msg(p, "Hang", NULL), "", on_reply, &d3, NULL);
        ok(spin(&d3.calls, 1, 5000), "timeout callback ran (driven by the loop)");
        is_int(d3.r, -ETIMEDOUT, "async timeout: -ETIMEDOUT");
        is_str(d3.err_name, BUSRPC_ERROR_NO_REPLY, "NoReply");

        /* Cancel: the callback runs now, once. */
        is_int(busrpc_proxy_call_async(p, echo_msg(p, "Hang", NULL), "", on_reply, &d4, &pd), 0, "async Hang");
        busrpc_pending_cancel(pd);
        is_int(d4.calls, 1, "cancel ran the callback at once");
        is_int(d4.r, -ECANCELED, "with -ECANCELED");
        is_str(d4.err_name, BUSRPC_ERROR_CANCELLED, "and Cancelled");
        busrpc_pending_cancel(pd);
        spin(NULL, 0, 300);
        is_int(d4.calls, 1, "never again");
        busrpc_pending_unref(pd);

        /* The callback drops the caller's reference to its own pending. */
        busrpc_proxy_call_async(p, echo_msg(p, "Echo", "x"), "s", on_reply, &d5, &d5.pending);
        spin(&d5.calls, 1, 5000);
        is_int(d5.calls, 1, "callback that unrefs its pending ran once");
        ok(d5.pending == NULL, "and released it");

        busrpc_proxy_unref(p);
}

/* ---- noreply ---- */

static int pings;
static char ping_arg[64];

static void on_ping(busrpc_msg *m, busrpc_iter *args, void *userdata) {
        const char *s = NULL;

        (void)m;
        (void)userdata;
        if (busrpc_iter_get_basic(args, 's', &s) == 0)
                snprintf(ping_arg, sizeof(ping_arg), "%s", s);
        pings++;
}

static void emit(busrpc_proxy *p, const char *member, const char *dest, bool noreply) {
        busrpc_msg *m = NULL;
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_iter it;

        busrpc_proxy_method_new(p, SVC_IFACE, "Emit", &m);
        busrpc_msg_append(m, &it);
        busrpc_iter_append_basic(&it, 's', &member);
        busrpc_iter_append_basic(&it, 's', &dest);
        if (noreply)
                busrpc_proxy_send(p, m);
        else
                busrpc_proxy_call(p, m, "", NULL, &err);
        busrpc_error_clear(&err);
}

/* A signal from another connection, as the owner would send it. */
static void spoof(DBusConnection *dc, const char *path, const char *iface, const char *member, const char *dest,
                  const char *arg) {
        DBusMessage *sig = dbus_message_new_signal(path, iface, member);

        if (dest)
                dbus_message_set_destination(sig, dest);
        dbus_message_append_args(sig, DBUS_TYPE_STRING, &arg, DBUS_TYPE_INVALID);
        dbus_connection_send(dc, sig, NULL);
        dbus_connection_flush(dc);
        dbus_message_unref(sig);
}

static void test_subscribe_owner(void) {
        busrpc_proxy *p = NULL;
        busrpc_subscription *sub = NULL;
        DBusConnection *other;
        const char *me = busrpc_conn_get_unique_name(conn);

        busrpc_proxy_new(conn, SVC_NAME, SVC_PATH, &p);
        is_int(busrpc_proxy_subscribe(p, SVC_IFACE, "Ping", "s", on_ping, NULL, NULL, &sub), 0, "subscribed to Ping");
        ok(svc_unique[0] == ':', "service's unique name known");
        is_int(busrpc_proxy_subscribe(p, SVC_IFACE, "Ping", "s", NULL, NULL, NULL, NULL), -EINVAL, "NULL callback refused");

        emit(p, "Ping", "", true);
        ok(spin(&pings, 1, 5000), "Ping from the owner received (sent with busrpc_proxy_send)");
        is_str(ping_arg, "from-service", "with its argument");

        other = raw_conn();
        spoof(other, SVC_PATH, SVC_IFACE, "Ping", me, "spoofed");
        spoof(other, SVC_PATH, SVC_IFACE, "Ping", NULL, "spoofed");
        spin(NULL, 0, 300);
        is_int(pings, 1, "Ping from a non-owner (unicast and broadcast) dropped");

        /* The owner changes: the service releases, `other` takes the name. */
        {
                busrpc_msg *m = NULL;
                busrpc_error err = BUSRPC_ERROR_INIT;
                busrpc_proxy_method_new(p, SVC_IFACE, "Release", &m);
                is_int(busrpc_proxy_call(p, m, "", NULL, &err), 0, "service released its name");
                busrpc_error_clear(&err);
        }
        ok(dbus_bus_request_name(other, SVC_NAME, 0, NULL) == DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER,
           "another connection owns the name now");
        spin(NULL, 0, 300); /* NameOwnerChanged reaches the subscription */
        spoof(other, SVC_PATH, SVC_IFACE, "Ping", NULL, "new-owner");
        ok(spin(&pings, 2, 5000), "Ping from the new owner received");
        is_str(ping_arg, "new-owner", "from the new owner");
        /* The old owner, called by its unique name, sends us a Ping. */
        {
                busrpc_proxy *old = NULL;
                busrpc_proxy_new(conn, svc_unique, SVC_PATH, &old);
                emit(old, "Ping", me, false);
                spin(NULL, 0, 300);
                is_int(pings, 2, "unicast Ping from the previous owner dropped");
                emit(old, "Ping", "", false);
                spin(NULL, 0, 300);
                is_int(pings, 2, "broadcast Ping from the previous owner dropped");
                busrpc_proxy_unref(old);
        }

        busrpc_subscription_release(sub);
        spoof(other, SVC_PATH, SVC_IFACE, "Ping", NULL, "after-free");
        spin(NULL, 0, 300);
        is_int(pings, 2, "nothing after busrpc_subscription_release()");
        raw_close(other);
        busrpc_proxy_unref(p);
}

static int nocs, acquired;
static bool saw_spoof;

static void on_noc(busrpc_msg *m, busrpc_iter *args, void *userdata) {
        const char *name = NULL;

        (void)m;
        (void)userdata;
        busrpc_iter_get_basic(args, 's', &name);
        if (name && strcmp(name, "spoof.name") == 0)
                saw_spoof = true;
        nocs++;
}

static void on_acquired(busrpc_msg *m, busrpc_iter *args, void *userdata) {
        const char *name = NULL;

        (void)m;
        busrpc_iter_get_basic(args, 's', &name);
        if (name && strcmp(name, userdata) == 0)
                acquired++;
}

static void test_subscribe_driver(void) {
        busrpc_proxy *p = NULL;
        busrpc_subscription *s1 = NULL, *s2 = NULL;
        busrpc_msg *m = NULL;
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_iter it;
        DBusConnection *other;
        const char *name = "org.busrpc.Mine";
        uint32_t flags = 0;

        busrpc_proxy_new(conn, "org.freedesktop.DBus", "/org/freedesktop/DBus", &p);
        is_int(busrpc_proxy_subscribe(p, "org.freedesktop.DBus", "NameOwnerChanged", "sss", on_noc, NULL, NULL, &s1), 0,
               "subscribed to NameOwnerChanged");
        is_int(busrpc_proxy_subscribe(p, "org.freedesktop.DBus", "NameAcquired", "s", on_acquired, (void *)name, NULL, &s2),
               0, "subscribed to NameAcquired");
        other = raw_conn(); /* a new connection: NameOwnerChanged for its unique name */
        ok(spin(&nocs, 1, 5000), "NameOwnerChanged received");

        busrpc_proxy_method_new(p, "org.freedesktop.DBus", "RequestName", &m);
        busrpc_msg_append(m, &it);
        busrpc_iter_append_basic(&it, 's', &name);
        busrpc_iter_append_basic(&it, 'u', &flags);
        is_int(busrpc_proxy_call(p, m, "u", NULL, &err), 0, "RequestName");
        ok(spin(&acquired, 1, 5000), "NameAcquired received");

        spoof(other, "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameAcquired",
              busrpc_conn_get_unique_name(conn), name);
        {
                DBusMessage *sig = dbus_message_new_signal("/org/freedesktop/DBus", "org.freedesktop.DBus",
                                                           "NameOwnerChanged");
                const char *a = "spoof.name", *b = "", *c = ":1.999";
                dbus_message_set_destination(sig, busrpc_conn_get_unique_name(conn));
                dbus_message_append_args(sig, DBUS_TYPE_STRING, &a, DBUS_TYPE_STRING, &b, DBUS_TYPE_STRING, &c,
                                         DBUS_TYPE_INVALID);
                dbus_connection_send(other, sig, NULL);
                dbus_connection_flush(other);
                dbus_message_unref(sig);
        }
        spin(NULL, 0, 300);
        ok(!saw_spoof, "spoofed NameOwnerChanged from another connection ignored");
        is_int(acquired, 1, "spoofed NameAcquired ignored");
        raw_close(other);
        busrpc_subscription_release(s1);
        busrpc_subscription_release(s2);
        busrpc_proxy_unref(p);
}

static void test_properties(void) {
        busrpc_proxy *p = NULL;
        busrpc_msg *reply = NULL, *m = NULL;
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_iter v, it, a;
        const char *s = NULL, *name = "renamed";
        uint32_t count = 0;
        int32_t wrong = 1;
        int r, n = 0;

        busrpc_proxy_new(conn, SVC_NAME, SVC_PATH, &p);
        r = busrpc_proxy_get_property(p, SVC_IFACE, "Name", "s", &reply, &v, &err);
        is_int(r, 0, "Get Name");
        if (r == 0) {
                busrpc_iter_get_basic(&v, 's', &s);
                is_str(s, "svc", "Name is svc");
                reply = busrpc_msg_unref(reply);
        }
        r = busrpc_proxy_get_property(p, SVC_IFACE, "Count", "s", &reply, &v, &err);
        is_int(r, -EBADMSG, "Get with the wrong type: -EBADMSG");
        is_str(err.name, BUSRPC_ERROR_INVALID_ARGS, "InvalidArgs");
        busrpc_error_clear(&err);
        is_int(busrpc_proxy_get_property(p, SVC_IFACE, "Count", "u", NULL, &v, &err), -EINVAL,
               "a value without its reply is refused");

        is_int(busrpc_proxy_set_property_begin(p, SVC_IFACE, "Name", "s", &m, &v), 0, "Set begin");
        is_int(busrpc_iter_append_basic(&v, 'i', &wrong), -EINVAL, "wrong type into the value refused");
        busrpc_iter_append_basic(&v, 's', &name);
        is_int(busrpc_proxy_set_property_finish(p, m, &v, &err), 0, "Set Name");
        r = busrpc_proxy_get_property(p, SVC_IFACE, "Name", "s", &reply, &v, &err);
        if (r == 0) {
                busrpc_iter_get_basic(&v, 's', &s);
                is_str(s, "renamed", "Name changed");
                reply = busrpc_msg_unref(reply);
        }
        busrpc_proxy_set_property_begin(p, SVC_IFACE, "Name", "u", &m, &v);
        busrpc_iter_append_basic(&v, 'u', &count);
        r = busrpc_proxy_set_property_finish(p, m, &v, &err);
        is_int(r, -EREMOTEIO, "service refuses a uint Name");
        is_str(err.name, BUSRPC_ERROR_INVALID_ARGS, "InvalidArgs");
        busrpc_error_clear(&err);
        busrpc_proxy_set_property_begin(p, SVC_IFACE, "Name", "s", &m, &v);
        is_int(busrpc_proxy_set_property_finish(p, m, &v, &err), -EINVAL, "Set without a value: -EINVAL");

        r = busrpc_proxy_get_all(p, SVC_IFACE, &reply, &err);
        is_int(r, 0, "GetAll");
        if (r == 0) {
                busrpc_msg_read(reply, &it);
                busrpc_iter_recurse(&it, &a);
                while (!busrpc_iter_at_end(&a)) {
                        busrpc_iter e;
                        busrpc_iter_recurse(&a, &e);
                        busrpc_iter_get_basic(&e, 's', &s);
                        if (strcmp(s, "Count") == 0) {
                                busrpc_variant *val = NULL;
                                busrpc_iter_get_variant(&e, &val);
                                busrpc_variant_get_uint32(val, &count);
                                busrpc_variant_unref(val);
                        }
                        n++;
                }
                is_int(n, 2, "two properties");
                is_int(count, 7, "Count is 7");
                busrpc_msg_unref(reply);
        }
        busrpc_proxy_unref(p);
}

/* The caller drops proxy and connection while a call is in flight: the
 * callback still runs, once. */
static void test_conn_dropped(void) {
        busrpc_conn *c2 = NULL;
        busrpc_proxy *p = NULL;
        static Done d; /* outlives this function if a wait fails */

        is_int(busrpc_conn_open(bus.address, &c2), 0, "second connection");
        if (!c2)
                return;
        busrpc_proxy_new(c2, svc_unique, SVC_PATH, &p);
        busrpc_proxy_set_next_timeout(p, 300 * BUSRPC_USEC_PER_MSEC);
        is_int(busrpc_proxy_call_async(p, echo_msg(p, "Hang", NULL), "", on_reply, &d, NULL), 0, "async Hang");
        busrpc_proxy_unref(p);
        busrpc_conn_unref(c2);
        ok(spin(&d.calls, 1, 5000), "callback ran after the connection was dropped");
        is_int(d.r, -ETIMEDOUT, "with the timeout");
        spin(NULL, 0, 100);
        is_int(d.calls, 1, "once");
}

/* Last: the bus goes away under a pending call and a sync call. */
static void test_disconnect(void) {
        busrpc_proxy *p = NULL;
        busrpc_error err = BUSRPC_ERROR_INIT;
        static Done d; /* outlives this function if a wait fails */
        int r;

        busrpc_proxy_new(conn, svc_unique, SVC_PATH, &p); /* it no longer owns SVC_NAME */
        is_int(busrpc_proxy_call_async(p, echo_msg(p, "Hang", NULL), "", on_reply, &d, NULL), 0, "async Hang");
        spin(NULL, 0, 100);
        /* The bus dies with the service still there: no NoReply from the
         * bus, only our side of the socket closing. */
        test_bus_stop(&bus);
        ok(spin(&d.calls, 1, 5000), "pending call completed when the bus went away");
        is_int(d.r, -ECONNRESET, "with -ECONNRESET");
        is_str(d.err_name, BUSRPC_ERROR_DISCONNECTED, "and Disconnected");
        r = busrpc_proxy_call(p, echo_msg(p, "Echo", "x"), "s", NULL, &err);
        is_int(r, -ECONNRESET, "sync call after disconnect: -ECONNRESET");
        busrpc_error_clear(&err);
        r = busrpc_proxy_call_async(p, echo_msg(p, "Echo", "x"), "s", on_reply, &d, NULL);
        is_int(r, -ECONNRESET, "async call after disconnect: -ECONNRESET, no callback");
        busrpc_error_clear(&err);
        busrpc_proxy_unref(p);
}

int main(void) {
        int r;

        test_bus_start(&bus);
        svc_start();
        r = busrpc_conn_open(bus.address, &conn);
        if (r < 0) {
                test_bus_stop(&bus);
                tap_bail("busrpc_conn_open: %s", strerror(-r));
        }
        TAP_RUN(test_driver);
        TAP_RUN(test_echo);
        TAP_RUN(test_deep_variant);
        TAP_RUN(test_timeout);
        TAP_RUN(test_async);
        TAP_RUN(test_properties);
        TAP_RUN(test_subscribe_driver);
        TAP_RUN(test_subscribe_owner); /* the service gives its name away */
        TAP_RUN(test_conn_dropped);
        TAP_RUN(test_disconnect);
        busrpc_conn_unref(conn);
        if (svc_pid > 0) {
                kill(svc_pid, SIGKILL);
                waitpid(svc_pid, NULL, 0);
        }
        test_bus_stop(&bus);
        dbus_shutdown();
        return tap_done();
}
