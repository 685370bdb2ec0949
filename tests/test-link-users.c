/* test-link-users.c: what uses a conn's link without touching libdbus's
 * DBusConnection (issue 12 item 1), on both links in one run: every case
 * runs with BUSRPC_FAST_PATH=0 (libdbus reads and writes the socket) and
 * with BUSRPC_FAST_PATH=1 (busrpc's own transport), set by the test
 * before each conn is opened.
 *
 *  - signal subscriptions keyed by the busrpc_conn: oldest first; a
 *    spoofed signal dropped; a callback releasing another subscription
 *    (it does not run) or itself (it runs no more);
 *  - a subscription never keeps its conn: a floating one goes (destroy
 *    runs) when the conn is freed, the conn closes although a handle is
 *    alive, and releasing the handle afterwards runs its destroy once;
 *  - subscriptions follow a reconnection to a restarted dbus-daemon (match
 *    rules and the name's owner asked again), still sender-checked;
 *  - caller credentials: on a bus (GetConnectionCredentials through the
 *    link), of a served peer (the server's record), of the server as a
 *    client peer's caller (SO_PEERCRED of the client's socket).
 *
 * A private dbus-daemon on a fixed socket path in a fresh mktemp -d
 * directory (so a restart keeps the address), stopped by PID; the peer
 * server is a child process. The "service" on the bus is a plain libdbus
 * connection (a foreign peer), so what is checked is only the subscriber.
 */
#include "busrpc/busrpc.h"
#include "tap.h"
#include "tap-util.h"
#include <dbus/dbus.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NAME        "org.busrpc.LinkUsers"
#define PATH        "/org/busrpc/LinkUsers"
#define IFACE       "org.busrpc.LinkUsers"
#define CLIENT_PATH "/org/busrpc/LinkUsersClient"
#define MS          BUSRPC_USEC_PER_MSEC

static const char *what; /* "libdbus" or "fast" */

static busrpc_loop *loop(void) {
        static busrpc_loop *l;

        if (!l && busrpc_loop_default(&l) < 0)
                tap_bail("no default loop");
        return l;
}

/* Iterate until cond(arg); the bound only keeps a broken run from hanging. */
static bool spin_until(bool (*cond)(void *), void *arg, int ms) {
        long end = tap_now_ms() + ms;

        while (!cond(arg) && tap_now_ms() < end)
                busrpc_loop_iterate(loop(), 20 * MS);
        return cond(arg);
}

static bool int_set(void *arg) {
        return *(int *)arg != 0;
}

/* ------------------------------------------------------------------ */
/* A foreign peer on the bus: plain libdbus                            */

static DBusConnection *raw_open(const char *address) {
        DBusConnection *dc = dbus_connection_open_private(address, NULL);

        if (!dc || !dbus_bus_register(dc, NULL))
                tap_bail("libdbus cannot connect to %s", address);
        return dc;
}

static void raw_close(DBusConnection *dc) {
        dbus_connection_close(dc);
        dbus_connection_unref(dc);
}

/* A round trip to the bus: what @dc sent before has been routed. */
static void raw_sync(DBusConnection *dc) {
        DBusMessage *m = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS, DBUS_INTERFACE_DBUS,
                                                      "GetId");
        DBusMessage *r = dbus_connection_send_with_reply_and_block(dc, m, 5000, NULL);

        dbus_message_unref(m);
        if (r)
                dbus_message_unref(r);
}

static void raw_tick(DBusConnection *dc, const char *arg) {
        DBusMessage *m = dbus_message_new_signal(PATH, IFACE, "Tick");

        dbus_message_append_args(m, DBUS_TYPE_STRING, &arg, DBUS_TYPE_INVALID);
        dbus_connection_send(dc, m, NULL);
        dbus_connection_flush(dc);
        dbus_message_unref(m);
}

static bool raw_owns(DBusConnection *dc, const char *name) {
        return dbus_bus_request_name(dc, name, DBUS_NAME_FLAG_DO_NOT_QUEUE, NULL) ==
               DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER;
}

static bool raw_has_owner(DBusConnection *dc, const char *name) {
        return dbus_bus_name_has_owner(dc, name, NULL);
}

/* ------------------------------------------------------------------ */
/* The subscriber                                                      */

typedef struct Sub {
        char id;
        busrpc_subscription *handle;
        int destroyed;
        struct Sub *release; /* the next delivery releases this one's handle */
} Sub;

static char log_buf[256];
static char last_arg[64];

static void log_reset(void) {
        log_buf[0] = '\0';
        last_arg[0] = '\0';
}

static void on_tick(busrpc_msg *m, busrpc_iter *args, void *userdata) {
        Sub *s = userdata;
        const char *arg = NULL;
        size_t n = strlen(log_buf);

        (void)m;
        if (busrpc_iter_get_basic(args, 's', &arg) == 0)
                snprintf(last_arg, sizeof(last_arg), "%s", arg);
        if (n + 1 < sizeof(log_buf)) {
                log_buf[n] = s->id;
                log_buf[n + 1] = '\0';
        }
        if (s->release) {
                Sub *r = s->release;

                s->release = NULL;
                r->handle = busrpc_subscription_release(r->handle);
        }
}

static void on_destroy(void *userdata) {
        ((Sub *)userdata)->destroyed++;
}

static bool log_has_id(void *arg) {
        return strchr(log_buf, *(char *)arg) != NULL;
}

static bool last_is(void *arg) {
        return strcmp(last_arg, arg) == 0;
}

static busrpc_conn *open_bus(const char *address) {
        busrpc_conn *c = NULL;
        int r = busrpc_conn_open(address, &c);

        if (r < 0)
                tap_bail("%s: busrpc_conn_open: %s", what, strerror(-r));
        return c;
}

static void test_order(const char *address) {
        DBusConnection *svc = raw_open(address), *other = raw_open(address);
        Sub s1 = { .id = '1' }, s2 = { .id = '2' }, s3 = { .id = '3' };
        busrpc_conn *c = open_bus(address);
        busrpc_proxy *p = NULL;
        char want;

        ok(raw_owns(svc, NAME), "%s: the service owns %s", what, NAME);
        busrpc_proxy_new(c, NAME, PATH, &p);
        is_int(busrpc_proxy_subscribe(p, IFACE, "Tick", "s", on_tick, &s1, on_destroy, &s1.handle), 0,
               tap_name("%s: first subscription", what));
        is_int(busrpc_proxy_subscribe(p, IFACE, "Tick", "s", on_tick, &s2, on_destroy, &s2.handle), 0,
               tap_name("%s: second subscription", what));
        is_int(busrpc_proxy_subscribe(p, IFACE, "Tick", "s", on_tick, &s3, on_destroy, NULL), 0,
               tap_name("%s: third subscription, floating", what));

        log_reset();
        raw_tick(svc, "a");
        want = '3';
        ok(spin_until(log_has_id, &want, 5000), "%s: the owner's signal arrives", what);
        is_str(log_buf, "123", tap_name("%s: every subscription once, oldest first", what));

        /* A spoofed broadcast, routed before the owner's marker. */
        log_reset();
        raw_tick(other, "spoofed");
        raw_sync(other);
        raw_tick(svc, "marker");
        ok(spin_until(log_has_id, &want, 5000), "%s: the marker arrives", what);
        is_str(log_buf, "123", tap_name("%s: the spoofed signal reached no subscription", what));
        is_str(last_arg, "marker", tap_name("%s: the last one seen is the owner's", what));

        /* The first releases the second, which is next in this delivery. */
        log_reset();
        s1.release = &s2;
        raw_tick(svc, "b");
        ok(spin_until(log_has_id, &want, 5000), "%s: delivered", what);
        is_str(log_buf, "13", tap_name("%s: a subscription released by an earlier callback does not run", what));
        is_int(s2.destroyed, 1, tap_name("%s: its destroy function ran once", what));

        /* The first releases itself. */
        log_reset();
        s1.release = &s1;
        raw_tick(svc, "c");
        ok(spin_until(log_has_id, &want, 5000), "%s: delivered", what);
        is_str(log_buf, "13", tap_name("%s: a callback releasing its own subscription", what));
        is_int(s1.destroyed, 1, tap_name("%s: destroyed once, after its callback", what));
        log_reset();
        raw_tick(svc, "d");
        ok(spin_until(log_has_id, &want, 5000), "%s: delivered", what);
        is_str(log_buf, "3", tap_name("%s: only the floating one is left", what));

        is_int(s3.destroyed, 0, tap_name("%s: the floating one lives with its conn", what));
        busrpc_proxy_unref(p);
        busrpc_conn_unref(c);
        is_int(s3.destroyed, 1, tap_name("%s: and goes with it", what));
        is_int(s1.destroyed + s2.destroyed, 2, tap_name("%s: nothing destroyed twice", what));
        raw_close(other);
        raw_close(svc);
}

static bool name_gone(void *arg) {
        void **a = arg;
        return !raw_has_owner(a[0], a[1]);
}

static void test_conn_free(const char *address) {
        DBusConnection *svc = raw_open(address);
        Sub h = { .id = 'h' }, f = { .id = 'f' };
        busrpc_conn *c = open_bus(address);
        busrpc_proxy *p = NULL;
        char unique[64];
        void *args[2] = { svc, unique };
        bool gone = false;

        snprintf(unique, sizeof(unique), "%s", busrpc_conn_get_unique_name(c));
        busrpc_proxy_new(c, NAME, PATH, &p);
        is_int(busrpc_proxy_subscribe(p, IFACE, "Tick", "s", on_tick, &h, on_destroy, &h.handle), 0,
               tap_name("%s: subscribed with a handle", what));
        is_int(busrpc_proxy_subscribe(p, IFACE, "Tick", "s", on_tick, &f, on_destroy, NULL), 0,
               tap_name("%s: and floating", what));
        ok(raw_has_owner(svc, unique), "%s: the bus knows the subscriber", what);
        busrpc_proxy_unref(p);
        busrpc_conn_unref(c);
        is_int(f.destroyed, 1, tap_name("%s: the floating subscription went with its conn", what));
        is_int(h.destroyed, 0, tap_name("%s: the handle waits for its release", what));
        /* The bus sees the conn go: the handle does not keep it. */
        for (long end = tap_now_ms() + 5000; !gone && tap_now_ms() < end; usleep(10000))
                gone = name_gone(args);
        ok(gone, "%s: the conn is closed although a subscription handle is alive", what);
        h.handle = busrpc_subscription_release(h.handle);
        is_int(h.destroyed, 1, tap_name("%s: releasing the handle after its conn runs destroy once", what));
        raw_close(svc);
}

/* ------------------------------------------------------------------ */
/* The index of subscriptions and the rules the bus holds              */

#define N_OTHERS    10000
#define IFACE_B     "org.busrpc.LinkUsers.B"
#define STATS_IFACE "org.freedesktop.DBus.Debug.Stats"

/* The match rules the bus holds for @unique that contain @needle, read
 * with org.freedesktop.DBus.Debug.Stats.GetAllMatchRules (dbus-daemon
 * built with stats, as Debian's is: without it the test fails). */
static int bus_rules(DBusConnection *dc, const char *unique, const char *needle) {
        DBusMessage *m = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS, STATS_IFACE,
                                                      "GetAllMatchRules");
        DBusMessageIter it, arr, entry, rules;
        DBusError e = DBUS_ERROR_INIT;
        DBusMessage *r = dbus_connection_send_with_reply_and_block(dc, m, 10000, &e);
        int n = -1;

        dbus_message_unref(m);
        if (!r)
                tap_bail("GetAllMatchRules: %s", e.message ? e.message : "no reply");
        if (!dbus_message_has_signature(r, "a{sas}"))
                tap_bail("GetAllMatchRules: signature %s", dbus_message_get_signature(r));
        dbus_message_iter_init(r, &it);
        dbus_message_iter_recurse(&it, &arr);
        for (; dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_DICT_ENTRY; dbus_message_iter_next(&arr)) {
                const char *name = NULL;

                dbus_message_iter_recurse(&arr, &entry);
                dbus_message_iter_get_basic(&entry, &name);
                if (strcmp(name, unique) != 0)
                        continue;
                n = 0;
                dbus_message_iter_next(&entry);
                dbus_message_iter_recurse(&entry, &rules);
                for (; dbus_message_iter_get_arg_type(&rules) == DBUS_TYPE_STRING;
                     dbus_message_iter_next(&rules)) {
                        const char *rule = NULL;

                        dbus_message_iter_get_basic(&rules, &rule);
                        n += strstr(rule, needle) != NULL;
                }
        }
        dbus_message_unref(r);
        return n < 0 ? 0 : n;
}

typedef struct RuleWait {
        DBusConnection *dc;
        const char *unique, *needle;
        int want;
} RuleWait;

/* The bus applies a RemoveMatch we did not wait for in its own time. */
static bool rules_are(void *arg) {
        RuleWait *w = arg;

        return bus_rules(w->dc, w->unique, w->needle) == w->want;
}

static void raw_signal(DBusConnection *dc, const char *member, const char *arg) {
        DBusMessage *m = dbus_message_new_signal(PATH, IFACE, member);

        dbus_message_append_args(m, DBUS_TYPE_STRING, &arg, DBUS_TYPE_INVALID);
        dbus_connection_send(dc, m, NULL);
        dbus_connection_flush(dc);
        dbus_message_unref(m);
}

static int other_calls = 0, last_other = -1;

static void on_other(busrpc_msg *m, busrpc_iter *args, void *userdata) {
        (void)m;
        (void)args;
        other_calls++;
        last_other = (int)(intptr_t)userdata;
}

static bool others_called(void *arg) {
        return other_calls >= *(int *)arg;
}

/* 10,000 subscriptions on other members of the same sender and path: a
 * signal reaches the one of its member only; the bus holds one rule per
 * member and ONE owner rule for all of them (identical rules counted). */
static void test_index(const char *address) {
        DBusConnection *svc = raw_open(address);
        busrpc_conn *c = open_bus(address);
        busrpc_proxy *p = NULL;
        Sub s = { .id = 'i' };
        const char *unique;
        char member[32];
        int failed = 0, one = 1;

        ok(raw_owns(svc, NAME), "%s: the service owns %s", what, NAME);
        busrpc_proxy_new(c, NAME, PATH, &p);
        unique = busrpc_conn_get_unique_name(c);
        other_calls = 0;
        last_other = -1;
        for (int i = 0; i < N_OTHERS; i++) {
                snprintf(member, sizeof(member), "Other%d", i);
                failed += busrpc_proxy_subscribe(p, IFACE, member, "s", on_other, (void *)(intptr_t)i, NULL,
                                                 NULL) < 0;
        }
        is_int(failed, 0, tap_name("%s: %d subscriptions on other members", what, N_OTHERS));
        is_int(busrpc_proxy_subscribe(p, IFACE, "Tick", "s", on_tick, &s, on_destroy, &s.handle), 0,
               tap_name("%s: and one on Tick", what));
        is_int(bus_rules(svc, unique, "member='Other"), N_OTHERS,
               tap_name("%s: the bus holds one rule per member", what));
        is_int(bus_rules(svc, unique, "member='NameOwnerChanged'"), 1,
               tap_name("%s: one owner rule for the %d subscriptions of one name", what, N_OTHERS + 1));

        log_reset();
        raw_tick(svc, "indexed");
        ok(spin_until(last_is, "indexed", 5000), "%s: Tick arrives", what);
        is_str(log_buf, "i", tap_name("%s: to the Tick subscription, once", what));
        is_int(other_calls, 0, tap_name("%s: no subscription of another member ran", what));
        raw_signal(svc, "Other4242", "x");
        raw_tick(svc, "marker");
        ok(spin_until(last_is, "marker", 5000), "%s: a marker after Other4242", what);
        ok(spin_until(others_called, &one, 5000), "%s: Other4242 delivered", what);
        is_int(other_calls, 1, tap_name("%s: to one subscription", what));
        is_int(last_other, 4242, tap_name("%s: the one of Other4242", what));

        s.handle = busrpc_subscription_release(s.handle);
        is_int(s.destroyed, 1, tap_name("%s: released", what));
        {
                RuleWait w = { svc, unique, "member='NameOwnerChanged'", 1 };

                ok(spin_until(rules_are, &w, 5000), "%s: the shared owner rule stays while others use it",
                   what);
                w.needle = "member='Tick'";
                w.want = 0;
                ok(spin_until(rules_are, &w, 5000), "%s: the Tick rule went with its subscription", what);
        }
        busrpc_proxy_unref(p);
        busrpc_conn_unref(c); /* the floating ones go with it */
        raw_close(svc);
}

/* Per-property watches: one PropertiesChanged rule per (sender, path,
 * interface), arg0=interface, counted; a change of another interface
 * reaches no watch of this one. */
typedef struct PV {
        int32_t count;
        char *name;
} PV;

static const busrpc_property_info pv_props[] = {
        { "Count", &busrpc_type_int32, offsetof(PV, count), 0 },
        { "Name", &busrpc_type_string, offsetof(PV, name), 0 },
};
static const busrpc_property_table table_a = { IFACE, pv_props, 2, sizeof(PV) };
static const busrpc_property_table table_b = { IFACE_B, pv_props, 2, sizeof(PV) };

static int seen_count[4], seen_value[4];

static void on_prop(const void *value, void (*cb)(void), void *userdata) {
        int k = (int)(intptr_t)userdata;

        (void)cb;
        seen_count[k]++;
        if (value && k != 1)
                seen_value[k] = *(const int32_t *)value;
}

static void on_props(const busrpc_property_changes *ch, void (*cb)(void), void *userdata) {
        int k = (int)(intptr_t)userdata;

        (void)cb;
        seen_count[k]++;
        if (ch->changed & 1u)
                seen_value[k] = ((const PV *)ch->values)->count;
}

static void raw_props_changed(DBusConnection *dc, const char *iface, int32_t count) {
        DBusMessage *m =
                dbus_message_new_signal(PATH, "org.freedesktop.DBus.Properties", "PropertiesChanged");
        DBusMessageIter it, d, e, v, inv;
        const char *key = "Count";

        dbus_message_iter_init_append(m, &it);
        dbus_message_iter_append_basic(&it, DBUS_TYPE_STRING, &iface);
        dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{sv}", &d);
        dbus_message_iter_open_container(&d, DBUS_TYPE_DICT_ENTRY, NULL, &e);
        dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &key);
        dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, "i", &v);
        dbus_message_iter_append_basic(&v, DBUS_TYPE_INT32, &count);
        dbus_message_iter_close_container(&e, &v);
        dbus_message_iter_close_container(&d, &e);
        dbus_message_iter_close_container(&it, &d);
        dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "s", &inv);
        dbus_message_iter_close_container(&it, &inv);
        dbus_connection_send(dc, m, NULL);
        dbus_connection_flush(dc);
        dbus_message_unref(m);
}

static bool seen_b(void *arg) {
        (void)arg;
        return seen_count[3] > 0;
}

static void test_property_rules(const char *address) {
        DBusConnection *svc = raw_open(address);
        busrpc_conn *c = open_bus(address);
        busrpc_proxy *p = NULL;
        busrpc_subscription *w[4] = { NULL };
        const char *unique;
        RuleWait rw;
        Sub s = { .id = 'm' };

        ok(raw_owns(svc, NAME), "%s: the service owns %s", what, NAME);
        busrpc_proxy_new(c, NAME, PATH, &p);
        unique = busrpc_conn_get_unique_name(c);
        memset(seen_count, 0, sizeof(seen_count));
        memset(seen_value, 0, sizeof(seen_value));
        is_int(busrpc_proxy_watch_property(p, &table_a, 0, on_prop, NULL, (void *)0, &w[0]), 0,
               tap_name("%s: a watch of Count", what));
        is_int(busrpc_proxy_watch_property(p, &table_a, 1, on_prop, NULL, (void *)1, &w[1]), 0,
               tap_name("%s: a watch of Name", what));
        is_int(busrpc_proxy_watch_properties(p, &table_a, on_props, NULL, (void *)2, &w[2]), 0,
               tap_name("%s: a watch of the interface", what));
        is_int(busrpc_proxy_watch_property(p, &table_b, 0, on_prop, NULL, (void *)3, &w[3]), 0,
               tap_name("%s: a watch of another interface's Count", what));
        is_int(bus_rules(svc, unique, "member='PropertiesChanged'"), 2,
               tap_name("%s: the bus holds two PropertiesChanged rules for four watches", what));
        is_int(bus_rules(svc, unique, "sender='" NAME "',arg0='" IFACE "'"), 1,
               tap_name("%s: one with arg0=%s", what, IFACE));
        is_int(bus_rules(svc, unique, "sender='" NAME "',arg0='" IFACE_B "'"), 1,
               tap_name("%s: one with arg0=%s", what, IFACE_B));

        raw_props_changed(svc, IFACE_B, 7);
        ok(spin_until(seen_b, NULL, 5000), "%s: the other interface's change arrives", what);
        is_int(seen_value[3], 7, tap_name("%s: with its value", what));
        is_int(busrpc_proxy_subscribe(p, IFACE, "Tick", "s", on_tick, &s, on_destroy, &s.handle), 0,
               tap_name("%s: a marker subscription", what));
        log_reset();
        raw_props_changed(svc, IFACE, 5);
        raw_tick(svc, "after-props");
        ok(spin_until(last_is, "after-props", 5000), "%s: the marker after a change of %s", what, IFACE);
        is_int(seen_count[0], 1, tap_name("%s: the Count watch ran once", what));
        is_int(seen_value[0], 5, tap_name("%s: with 5", what));
        is_int(seen_count[1], 0, tap_name("%s: the Name watch did not run", what));
        is_int(seen_count[2], 1, tap_name("%s: the interface watch ran once", what));
        is_int(seen_count[3], 1, tap_name("%s: the other interface's watch did not run again", what));

        rw = (RuleWait){ svc, unique, "sender='" NAME "',arg0='" IFACE "'", 1 };
        w[0] = busrpc_subscription_release(w[0]);
        w[1] = busrpc_subscription_release(w[1]);
        raw_sync(svc);
        ok(spin_until(rules_are, &rw, 5000), "%s: two watches released, the rule stays for the third", what);
        w[2] = busrpc_subscription_release(w[2]);
        rw.want = 0;
        ok(spin_until(rules_are, &rw, 5000), "%s: the last watch of %s takes the rule away", what, IFACE);
        rw.needle = "sender='" NAME "',arg0='" IFACE_B "'";
        rw.want = 1;
        ok(rules_are(&rw), "%s: the other interface's rule stays", what);
        w[3] = busrpc_subscription_release(w[3]);
        rw.want = 0;
        ok(spin_until(rules_are, &rw, 5000), "%s: and goes with its watch", what);
        s.handle = busrpc_subscription_release(s.handle);
        busrpc_proxy_unref(p);
        busrpc_conn_unref(c);
        raw_close(svc);
}

/* ------------------------------------------------------------------ */
/* Reconnection                                                        */

static pid_t daemon_start(const char *dir, char *address, size_t size) {
        const char *daemon = getenv("DBUS_DAEMON");
        char addr_arg[300], sock[200];
        pid_t pid;

        if (!daemon || !*daemon)
                daemon = "/usr/bin/dbus-daemon";
        if (access(daemon, X_OK) != 0)
                tap_bail("dbus-daemon not found at %s", daemon);
        snprintf(sock, sizeof(sock), "%s/bus", dir);
        unlink(sock);
        snprintf(address, size, "unix:path=%s", sock);
        snprintf(addr_arg, sizeof(addr_arg), "--address=%s", address);
        pid = fork();
        if (pid < 0)
                tap_bail("fork");
        if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive a crashed test */
                execl(daemon, daemon, "--session", "--nofork", "--nopidfile", addr_arg, (char *)NULL);
                _exit(127);
        }
        /* ready once the socket accepts */
        for (long end = tap_now_ms() + 10000; tap_now_ms() < end; usleep(10000)) {
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

                if (strlen(sock) >= sizeof(sa.sun_path))
                        tap_bail("socket path too long: %s", sock);
                memcpy(sa.sun_path, sock, strlen(sock) + 1);
                if (s >= 0 && connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
                        close(s);
                        return pid;
                }
                if (s >= 0)
                        close(s);
        }
        tap_bail("dbus-daemon did not start");
}

static void daemon_stop(pid_t pid) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
}

static int reconnecting, reconnected;

static void on_event(busrpc_conn *c, busrpc_conn_event ev, int error, void *userdata) {
        (void)c;
        (void)error;
        (void)userdata;
        if (ev == BUSRPC_CONN_RECONNECTING)
                reconnecting = 1;
        else if (ev == BUSRPC_CONN_RECONNECTED)
                reconnected = 1;
}

static void test_reconnect(const char *dir, pid_t *daemon, char *address, size_t size) {
        DBusConnection *svc = raw_open(address), *other;
        Sub s = { .id = 's' };
        busrpc_conn *c = open_bus(address);
        busrpc_proxy *p = NULL;
        char want = 's';

        reconnecting = reconnected = 0;
        busrpc_conn_on_event(c, on_event, NULL);
        is_int(busrpc_conn_set_reconnect(c, 20000 * MS), 0, tap_name("%s: reconnection on", what));
        ok(raw_owns(svc, NAME), "%s: the service owns %s", what, NAME);
        busrpc_proxy_new(c, NAME, PATH, &p);
        is_int(busrpc_proxy_subscribe(p, IFACE, "Tick", "s", on_tick, &s, on_destroy, &s.handle), 0,
               tap_name("%s: subscribed", what));
        log_reset();
        raw_tick(svc, "before");
        ok(spin_until(last_is, "before", 5000), "%s: a signal before the restart", what);

        raw_close(svc);
        daemon_stop(*daemon);
        ok(spin_until(int_set, &reconnecting, 5000), "%s: the loss is seen", what);
        *daemon = daemon_start(dir, address, size);
        svc = raw_open(address);
        other = raw_open(address);
        ok(raw_owns(svc, NAME), "%s: the service owns %s on the new bus", what, NAME);
        ok(spin_until(int_set, &reconnected, 15000), "%s: back on the restarted daemon", what);

        log_reset();
        raw_tick(svc, "after");
        ok(spin_until(last_is, "after", 5000), "%s: the subscription follows the reconnection", what);
        is_str(log_buf, "s", tap_name("%s: once", what));

        log_reset();
        raw_tick(other, "spoofed");
        raw_sync(other);
        raw_tick(svc, "marker");
        ok(spin_until(log_has_id, &want, 5000), "%s: the marker arrives", what);
        is_str(log_buf, "s", tap_name("%s: a non-owner's signal is still dropped after it", what));
        is_str(last_arg, "marker", tap_name("%s: the owner's is the one seen", what));

        s.handle = busrpc_subscription_release(s.handle);
        is_int(s.destroyed, 1, tap_name("%s: released", what));
        busrpc_proxy_unref(p);
        busrpc_conn_unref(c);
        raw_close(other);
        raw_close(svc);
}

/* After a reconnection to a restarted bus where the service is back
 * first (so no signal of its tells anything): a property cache asks GetAll
 * again and reports the new values; an ObjectManager client asks
 * GetManagedObjects again and reports only what differs. */
#define RV_NAME  "org.busrpc.LinkUsersViews"
#define RV_PATH  "/org/busrpc/views"
#define RV_THING "org.busrpc.LinkUsers.Thing"

typedef struct RvThing {
        const char *label;
} RvThing;

static int rv_get_label(busrpc_iter *v, const void *ops, void *self, busrpc_error *err) {
        (void)ops, (void)err;
        return busrpc_iter_append_basic(v, 's', &((RvThing *)self)->label);
}

static const busrpc_property_desc rv_desc_props[] = {
        { .name = "Label", .sig = "s", .get = rv_get_label, .flags = BUSRPC_PROP_READ },
};
static const busrpc_interface_desc rv_iface = {
        .name = RV_THING,
        .xml = "<interface name=\"" RV_THING "\"></interface>",
        .properties = rv_desc_props,
        .n_properties = 1,
};

typedef struct RvProps {
        char *label;
} RvProps;

static const busrpc_property_info rv_props[] = {
        { "Label", &busrpc_type_string, offsetof(RvProps, label), 0 },
};
static const busrpc_property_table rv_table = { RV_THING, rv_props, 1, sizeof(RvProps) };
static const busrpc_property_table *const rv_tables[] = { &rv_table };

/* A service of @n things named by @names with labels @labels. */
static busrpc_conn *rv_serve(const char *address, RvThing *things, const char *const *names, size_t n) {
        busrpc_conn *c = open_bus(address);
        char path[128];

        if (busrpc_conn_request_name(c, RV_NAME, BUSRPC_NAME_DO_NOT_QUEUE, NULL, NULL, NULL) != 0)
                tap_bail("%s: cannot own %s", what, RV_NAME);
        if (busrpc_objects_add_manager(busrpc_conn_get_objects(c), RV_PATH, NULL) < 0)
                tap_bail("%s: no object manager", what);
        for (size_t i = 0; i < n; i++) {
                snprintf(path, sizeof(path), RV_PATH "/%s", names[i]);
                if (busrpc_object_export(busrpc_conn_get_objects(c), path, &rv_iface, NULL, &things[i],
                                         NULL) < 0)
                        tap_bail("%s: cannot export %s", what, path);
        }
        return c;
}

static char rv_log[1024], rv_cache_log[256];
static int rv_ready;

static void rv_on_om(busrpc_om_client *om, const busrpc_om_event *ev, const void *ops, void *userdata) {
        size_t n = strlen(rv_log);

        (void)om, (void)ops, (void)userdata;
        if (ev->kind == BUSRPC_OM_READY)
                rv_ready++;
        else
                snprintf(rv_log + n, sizeof(rv_log) - n, "%c%s;",
                         ev->kind == BUSRPC_OM_INTERFACE_ADDED ? '+' : '-', ev->path + strlen(RV_PATH) + 1);
}

static void rv_on_cache(const busrpc_property_changes *ch, void (*cb)(void), void *userdata) {
        size_t n = strlen(rv_cache_log);
        const RvProps *v = ch->values;

        (void)cb, (void)userdata;
        if (ch->changed & 1u)
                snprintf(rv_cache_log + n, sizeof(rv_cache_log) - n, "=%s;", v->label);
        else if (ch->invalidated & 1u)
                snprintf(rv_cache_log + n, sizeof(rv_cache_log) - n, "?;");
}

static bool rv_ready_is(void *arg) {
        return rv_ready >= *(int *)arg;
}

static bool rv_cache_has(void *arg) {
        return strstr(rv_cache_log, arg) != NULL;
}

static void test_relink_views(const char *dir, pid_t *daemon, char *address, size_t size) {
        static const char *const names1[] = { "a", "b" }, *const names2[] = { "a", "c" };
        RvThing t1[] = { { "one" }, { "bee" } }, t2[] = { { "two" }, { "sea" } };
        busrpc_conn *svc = rv_serve(address, t1, names1, 2), *c = open_bus(address);
        busrpc_proxy *p = NULL;
        busrpc_property_cache *cache = NULL;
        busrpc_om_client *om = NULL;
        char *label = NULL;
        int want = 1;

        reconnecting = reconnected = 0;
        rv_log[0] = rv_cache_log[0] = '\0';
        rv_ready = 0;
        busrpc_conn_on_event(c, on_event, NULL);
        is_int(busrpc_conn_set_reconnect(c, 20000 * MS), 0, tap_name("%s: reconnection on", what));
        busrpc_proxy_new(c, RV_NAME, RV_PATH "/a", &p);
        is_int(busrpc_proxy_cache_properties(p, &rv_table, rv_on_cache, NULL, NULL, &cache), 0,
               tap_name("%s: a cache of /a", what));
        is_int(busrpc_om_client_new(c, RV_NAME, RV_PATH, rv_tables, 1, rv_on_om, NULL, NULL, &om), 0,
               tap_name("%s: an ObjectManager client", what));
        ok(spin_until(rv_ready_is, &want, 5000), "%s: the client is ready", what);
        ok(spin_until(rv_cache_has, "=one;", 5000), "%s: the cache has Label one", what);
        is_str(rv_log, "+a;+b;", tap_name("%s: a and b reported", what));

        /* The bus crashes (SIGKILL: a stopping dbus-daemon would tell the
         * client that the service's name went) and restarts; the service
         * (a new one, other values, other objects) is on it before the
         * client is back, so no signal tells the client anything. */
        kill(*daemon, SIGKILL);
        waitpid(*daemon, NULL, 0);
        busrpc_conn_unref(svc);
        ok(spin_until(int_set, &reconnecting, 5000), "%s: the loss is seen", what);
        *daemon = daemon_start(dir, address, size);
        svc = rv_serve(address, t2, names2, 2);
        is_str(rv_log, "+a;+b;", tap_name("%s: nothing reported meanwhile", what));
        rv_log[0] = rv_cache_log[0] = '\0';
        want = 2;
        ok(spin_until(int_set, &reconnected, 15000), "%s: back on the restarted daemon", what);
        ok(spin_until(rv_ready_is, &want, 5000), "%s: the ObjectManager client is ready again", what);
        is_str(rv_log, "+c;-b;", tap_name("%s: only the difference: c added, b removed, a kept", what));
        is_int(busrpc_om_client_has(om, RV_PATH "/c", RV_THING), 1, tap_name("%s: c is known", what));
        is_int(busrpc_om_client_has(om, RV_PATH "/b", RV_THING), 0, tap_name("%s: b is not", what));
        is_int((int)busrpc_om_client_count(om), 2, tap_name("%s: two objects", what));
        ok(spin_until(rv_cache_has, "=two;", 5000), "%s: the cache reports the new Label", what);
        is_str(rv_cache_log, "?;=two;", tap_name("%s: the old value invalidated, then the new one", what));
        is_int(busrpc_property_cache_get(cache, 0, &label), 0, tap_name("%s: the cache holds it", what));
        is_str(label ? label : "(none)", "two", tap_name("%s: two", what));
        free(label);

        om = busrpc_om_client_release(om);
        cache = busrpc_property_cache_release(cache);
        busrpc_proxy_unref(p);
        busrpc_conn_unref(c);
        busrpc_conn_unref(svc);
}

/* ------------------------------------------------------------------ */
/* Credentials                                                         */

/* Who() -> (u uid, u pid): the caller's credentials as the callee sees them. */
static int who(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        busrpc_msg *reply = NULL;
        busrpc_iter it;
        uid_t uid;
        pid_t pid;
        uint32_t u, p;
        int r;

        (void)args;
        (void)ops;
        (void)self;
        if ((r = busrpc_call_get_uid(call, &uid)) < 0 || (r = busrpc_call_get_pid(call, &pid)) < 0)
                return busrpc_call_fail(call, "org.busrpc.LinkUsers.NoCreds", "no credentials: %s",
                                        strerror(-r));
        u = (uint32_t)uid;
        p = (uint32_t)pid;
        if ((r = busrpc_call_reply_new(call, &reply)) < 0)
                return r;
        busrpc_msg_append(reply, &it);
        busrpc_iter_append_basic(&it, 'u', &u);
        busrpc_iter_append_basic(&it, 'u', &p);
        return busrpc_msg_send(reply);
}

/* CallMe() -> (u uid, u pid): calls the caller's Who (async, on the conn
 * the call came on) and answers with what the caller saw of us. */
static void call_me_done(busrpc_msg *reply, int r, const busrpc_error *err, void *userdata) {
        busrpc_call *call = userdata;
        busrpc_msg *out = NULL;
        busrpc_iter in, it;
        uint32_t u = 0, p = 0;

        if (r == 0 && busrpc_msg_read(reply, &in) == 0 && busrpc_iter_get_basic(&in, 'u', &u) == 0 &&
            busrpc_iter_get_basic(&in, 'u', &p) == 0 && busrpc_call_reply_new(call, &out) == 0) {
                busrpc_msg_append(out, &it);
                busrpc_iter_append_basic(&it, 'u', &u);
                busrpc_iter_append_basic(&it, 'u', &p);
                (void)busrpc_msg_send(out);
        } else {
                (void)busrpc_call_fail(call, "org.busrpc.LinkUsers.Failed", "Who failed: %d %s", r,
                                       err && err->message ? err->message : "");
        }
        busrpc_call_unref(call);
}

static int call_me(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        busrpc_proxy *p = NULL;
        busrpc_msg *m = NULL;
        int r;

        (void)args;
        (void)ops;
        (void)self;
        if ((r = busrpc_proxy_new(busrpc_call_get_conn(call), NULL, CLIENT_PATH, &p)) < 0)
                return r;
        r = busrpc_proxy_method_new(p, IFACE, "Who", &m);
        if (r >= 0)
                r = busrpc_proxy_call_async(p, m, "uu", call_me_done, busrpc_call_ref(call), NULL);
        busrpc_proxy_unref(p);
        if (r < 0) {
                busrpc_call_unref(call);
                return r;
        }
        return BUSRPC_DEFER;
}

static const busrpc_method_desc methods[] = {
        { .name = "Who", .in_sig = "", .out_sig = "uu", .fn = who },
        { .name = "CallMe", .in_sig = "", .out_sig = "uu", .fn = call_me },
};
static const busrpc_interface_desc iface = {
        .name = IFACE,
        .xml = "<interface name=\"" IFACE "\"></interface>",
        .methods = methods,
        .n_methods = sizeof(methods) / sizeof(methods[0]),
};

typedef struct Reply {
        int done, r;
        uint32_t uid, pid;
        char error[256];
} Reply;

static void on_reply(busrpc_msg *reply, int r, const busrpc_error *err, void *userdata) {
        Reply *a = userdata;
        busrpc_iter it;

        a->r = r;
        if (r == 0 && (busrpc_msg_read(reply, &it) < 0 || busrpc_iter_get_basic(&it, 'u', &a->uid) < 0 ||
                       busrpc_iter_get_basic(&it, 'u', &a->pid) < 0))
                a->r = -EBADMSG;
        if (r < 0 && err && err->message)
                snprintf(a->error, sizeof(a->error), "%s", err->message);
        a->done = 1;
}

static bool reply_done(void *arg) {
        return ((Reply *)arg)->done != 0;
}

static void check_creds(const Reply *a, pid_t pid, const char *who_sees) {
        if (!ok(a->r == 0, "%s: %s: answered", what, who_sees))
                tap_diag("  %d %s", a->r, a->error);
        is_int(a->r == 0 ? (intmax_t)a->uid : -1, getuid(), tap_name("%s: %s: the uid", what, who_sees));
        is_int(a->r == 0 ? (intmax_t)a->pid : -1, pid, tap_name("%s: %s: the pid", what, who_sees));
}

static void test_creds_bus(const char *address) {
        DBusConnection *raw = raw_open(address);
        DBusPendingCall *pending = NULL;
        busrpc_conn *c = open_bus(address);
        busrpc_object *o = NULL;
        DBusMessage *m, *reply;
        dbus_uint32_t u = 0, p = 0;
        long end;

        is_int(busrpc_object_export(busrpc_conn_get_objects(c), PATH, &iface, NULL, NULL, &o), 0,
               tap_name("%s: exported on the bus", what));
        /* Called by a libdbus peer of this process, while our loop runs. */
        for (int i = 0; i < 2; i++) { /* the second answer comes from the cache */
                m = dbus_message_new_method_call(busrpc_conn_get_unique_name(c), PATH, IFACE, "Who");
                dbus_connection_send_with_reply(raw, m, &pending, 5000);
                dbus_message_unref(m);
                for (end = tap_now_ms() + 5000; !dbus_pending_call_get_completed(pending) && tap_now_ms() < end;) {
                        busrpc_loop_iterate(loop(), 5 * MS);
                        dbus_connection_read_write_dispatch(raw, 5);
                }
                reply = dbus_pending_call_steal_reply(pending);
                dbus_pending_call_unref(pending);
                ok(reply && dbus_message_get_type(reply) == DBUS_MESSAGE_TYPE_METHOD_RETURN &&
                           dbus_message_get_args(reply, NULL, DBUS_TYPE_UINT32, &u, DBUS_TYPE_UINT32, &p,
                                                 DBUS_TYPE_INVALID),
                   "%s: bus: the caller's credentials from the bus (call %d)", what, i + 1);
                is_int(u, getuid(), tap_name("%s: bus: the uid (call %d)", what, i + 1));
                is_int(p, getpid(), tap_name("%s: bus: the pid (call %d)", what, i + 1));
                if (reply)
                        dbus_message_unref(reply);
        }
        busrpc_object_release(o);
        busrpc_conn_unref(c);
        raw_close(raw);
}

static void peer_server_main(const char *address, int ready_fd) {
        busrpc_server *srv = NULL;

        if (busrpc_server_new(address, &srv) < 0 ||
            busrpc_object_export(busrpc_server_get_objects(srv), PATH, &iface, NULL, NULL, NULL) < 0)
                _exit(2);
        if (write(ready_fd, "r", 1) != 1)
                _exit(4);
        close(ready_fd);
        busrpc_loop_run(loop());
        _exit(0);
}

/* This program, as main() got it (not /proc/self/exe: under valgrind that
 * is valgrind). */
static const char *argv0;

/* The server runs in this program again, exec'd: nothing of the client
 * (its loop's epoll instance above all) crosses the fork. */
static pid_t start_server(const char *address) {
        char fd_arg[16];
        int pfd[2];
        pid_t pid;
        char ch;

        if (pipe(pfd) < 0)
                tap_bail("pipe");
        fflush(stdout);
        pid = fork();
        if (pid < 0)
                tap_bail("fork");
        if (pid == 0) {
                close(pfd[0]);
                prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a crashed test */
                snprintf(fd_arg, sizeof(fd_arg), "%d", pfd[1]);
                execl(argv0, argv0, "--serve", address, fd_arg, (char *)NULL);
                _exit(127);
        }
        close(pfd[1]);
        if (read(pfd[0], &ch, 1) != 1) {
                waitpid(pid, NULL, 0);
                tap_bail("the peer server did not start");
        }
        close(pfd[0]);
        return pid;
}

/* The client on the link under test; the server on @server_mode's. */
static void test_creds_peer(const char *dir, const char *server_mode) {
        const char *mode = getenv("BUSRPC_FAST_PATH");
        const char *srv_link = strcmp(server_mode, "1") == 0 ? "fast" : "libdbus";
        char address[300], saved[2] = "";
        busrpc_conn *c = NULL;
        busrpc_proxy *p = NULL;
        busrpc_msg *m = NULL;
        Reply a = { 0 }, b = { 0 };
        pid_t srv;
        int r;

        snprintf(address, sizeof(address), "unix:path=%s/peer-%s-%s", dir, what, server_mode);
        snprintf(saved, sizeof(saved), "%s", mode ? mode : "");
        setenv("BUSRPC_FAST_PATH", server_mode, 1);
        srv = start_server(address);
        setenv("BUSRPC_FAST_PATH", saved, 1);
        tap_diag("peer server on BUSRPC_FAST_PATH=%s", server_mode);
        r = busrpc_conn_open_peer(address, &c);
        is_int(r, 0, tap_name("%s: peer: connected", what));
        if (r < 0) {
                kill(srv, SIGKILL);
                waitpid(srv, NULL, 0);
                return;
        }
        is_int(busrpc_object_export(busrpc_conn_get_objects(c), CLIENT_PATH, &iface, NULL, NULL, NULL), 0,
               tap_name("%s: peer: the client exports", what));
        busrpc_proxy_new(c, NULL, PATH, &p);
        busrpc_proxy_set_timeout(p, 10000 * MS);

        busrpc_proxy_method_new(p, IFACE, "Who", &m);
        is_int(busrpc_proxy_call_async(p, m, "uu", on_reply, &a, NULL), 0, tap_name("%s: peer: Who sent", what));
        ok(spin_until(reply_done, &a, 10000), "%s: peer: Who answered", what);
        check_creds(&a, getpid(), tap_name("server on %s: it sees its client", srv_link));

        busrpc_proxy_method_new(p, IFACE, "CallMe", &m);
        is_int(busrpc_proxy_call_async(p, m, "uu", on_reply, &b, NULL), 0,
               tap_name("%s: peer: CallMe sent", what));
        ok(spin_until(reply_done, &b, 10000), "%s: peer: CallMe answered", what);
        check_creds(&b, srv, tap_name("server on %s: a client peer sees it calling", srv_link));

        busrpc_proxy_unref(p);
        busrpc_conn_unref(c);
        kill(srv, SIGKILL);
        waitpid(srv, NULL, 0);
}

int main(int argc, char **argv) {
        char dir[] = "/tmp/busrpc-linkusers-XXXXXX", address[300], cmd[340];
        static const char *const modes[] = { "0", "1" };
        pid_t daemon;

        signal(SIGPIPE, SIG_IGN);
        argv0 = argv[0];
        if (argc == 4 && strcmp(argv[1], "--serve") == 0) {
                peer_server_main(argv[2], atoi(argv[3]));
                return 0;
        }
        if (!mkdtemp(dir))
                tap_bail("mkdtemp");
        daemon = daemon_start(dir, address, sizeof(address));
        for (unsigned i = 0; i < 2; i++) {
                setenv("BUSRPC_FAST_PATH", modes[i], 1);
                what = i ? "fast" : "libdbus";
                tap_diag("link: %s (BUSRPC_FAST_PATH=%s)", what, modes[i]);
                test_order(address);
                test_index(address);
                test_property_rules(address);
                test_conn_free(address);
                test_creds_bus(address);
                test_creds_peer(dir, modes[i]);
                test_creds_peer(dir, modes[!i]);
                test_reconnect(dir, &daemon, address, sizeof(address));
                test_relink_views(dir, &daemon, address, sizeof(address));
        }
        daemon_stop(daemon);
        busrpc_loop_unref(loop()); /* the reference loop() kept */
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
                tap_diag("could not remove %s", dir);
        dbus_shutdown();
        return tap_done();
}
