/* test-registry.c: the object registry at scale. 100,000 objects are
 * exported on a peer server, found again (a second export of each is
 * refused), called and introspected over a real socket by a libdbus client
 * in this process, then unexported in a random order with checks on the
 * way: every remaining path is still there, every removed one is gone (it
 * can be exported again), and Introspect lists exactly the children left.
 * A small tree under an ObjectManager checks GetManagedObjects (paths and
 * interfaces in export order) and a call without interface. Correctness
 * only: no timing is asserted (bench/ measures it). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dbus/dbus.h>
#include "busrpc/busrpc.h"
#include "tap.h"

#define N_OBJECTS 100000u
#define N_GROUPS 317u /* objects are /r/g<i % N_GROUPS>/o<i> */
#define IFACE_A "org.busrpc.RegTest"
#define IFACE_B "org.busrpc.RegOther"

static char dir[] = "/tmp/busrpc-registry-XXXXXX";
static busrpc_loop *loop;
static busrpc_server *server;
static busrpc_objects *sc; /* busrpc_server_get_objects() */
static DBusConnection *client;

/* ---- the served interfaces: each method answers "<name> <path>" ---- */

static int answer(busrpc_call *call, const char *name) {
        busrpc_msg *reply = NULL;
        busrpc_iter it;
        char buf[160];
        const char *s = buf;
        int r;

        snprintf(buf, sizeof(buf), "%s %s", name, busrpc_object_get_path(busrpc_call_get_object(call)));
        r = busrpc_call_reply_new(call, &reply);
        if (r >= 0)
                r = busrpc_msg_append(reply, &it);
        if (r >= 0)
                r = busrpc_iter_append_basic(&it, BUSRPC_TYPE_STRING, &s);
        if (r >= 0)
                return busrpc_msg_send(reply); /* consumes it */
        busrpc_msg_unref(reply);
        return r;
}

#define METHOD(fn, label)                                                                 \
        static int fn(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) { \
                (void)args;                                                               \
                (void)ops;                                                                \
                (void)self;                                                               \
                return answer(call, label);                                               \
        }
METHOD(m_zeta, "zeta")
METHOD(m_alpha, "alpha")
METHOD(m_mid, "mid")
METHOD(m_beta, "beta")
METHOD(m_omega, "omega")
METHOD(m_other_alpha, "other.alpha")

/* Not in name order: the registry indexes them itself. */
static const busrpc_method_desc methods_a[] = {
        { "Zeta", "", "s", m_zeta, 0, NULL, NULL, NULL },  { "Alpha", "", "s", m_alpha, 0, NULL, NULL, NULL }, { "Mid", "", "s", m_mid, 0, NULL, NULL, NULL },
        { "Beta", "", "s", m_beta, 0, NULL, NULL, NULL },  { "Omega", "", "s", m_omega, 0, NULL, NULL, NULL },
};
static const busrpc_interface_desc iface_a = {
        .name = IFACE_A,
        .methods = methods_a,
        .n_methods = sizeof(methods_a) / sizeof(methods_a[0]),
};
static const busrpc_method_desc methods_b[] = {
        { "Alpha", "", "s", m_other_alpha, 0, NULL, NULL, NULL },
};
static const busrpc_interface_desc iface_b = {
        .name = IFACE_B,
        .methods = methods_b,
        .n_methods = 1,
};

/* ---- the client ---- */

static void pump(DBusPendingCall *pc) {
        time_t deadline = time(NULL) + 30;

        while (!dbus_pending_call_get_completed(pc) && dbus_connection_get_is_connected(client)) {
                struct pollfd p[2];
                uint64_t usec = BUSRPC_TIMEOUT_INFINITE;
                int cfd = -1, t = busrpc_loop_get_timeout(loop, &usec) < 0 ? -1 : busrpc_usec_to_poll_ms(usec);

                if (time(NULL) > deadline)
                        tap_bail("no answer within 30 s");
                if (!dbus_connection_get_socket(client, &cfd))
                        cfd = -1;
                p[0].fd = busrpc_loop_get_fd(loop);
                p[0].events = (short)busrpc_loop_get_events(loop);
                p[1].fd = cfd;
                p[1].events = POLLIN | (dbus_connection_has_messages_to_send(client) ? POLLOUT : 0);
                p[0].revents = p[1].revents = 0;
                if (t < 0 || t > 100)
                        t = 100;
                if (poll(p, 2, t) < 0 && errno != EINTR)
                        tap_bail("poll failed");
                if (busrpc_loop_process(loop) < 0)
                        tap_bail("the server's loop failed");
                dbus_connection_read_write(client, 0);
                while (dbus_connection_dispatch(client) == DBUS_DISPATCH_DATA_REMAINS)
                        ;
        }
}

/* Call @member at @path; the reply (or error) message, never NULL. */
static DBusMessage *call(const char *path, const char *iface, const char *member) {
        DBusMessage *m = dbus_message_new_method_call(NULL, path, iface, member), *reply;
        DBusPendingCall *pc = NULL;

        if (!m || !dbus_connection_send_with_reply(client, m, &pc, 30000) || !pc)
                tap_bail("cannot send %s to %s", member, path);
        dbus_message_unref(m);
        pump(pc);
        reply = dbus_pending_call_steal_reply(pc);
        dbus_pending_call_unref(pc);
        if (!reply)
                tap_bail("no reply to %s at %s", member, path);
        return reply;
}

/* The string answer of a call, or the error name; "" otherwise. Static buffer. */
static const char *call_str(const char *path, const char *iface, const char *member) {
        static char buf[256];
        DBusMessage *reply = call(path, iface, member);
        const char *s = "";

        if (dbus_message_get_type(reply) == DBUS_MESSAGE_TYPE_ERROR)
                s = dbus_message_get_error_name(reply);
        else if (!dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &s, DBUS_TYPE_INVALID))
                s = "";
        snprintf(buf, sizeof(buf), "%s", s);
        dbus_message_unref(reply);
        return buf;
}

/* The <node name="…"/> children in the Introspect XML of @path, joined by
 * spaces, or the error name. Caller frees. */
static char *introspect_children(const char *path, bool *ret_has_a) {
        DBusMessage *reply = call(path, "org.freedesktop.DBus.Introspectable", "Introspect");
        const char *xml = NULL, *p;
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);

        if (!f)
                tap_bail("out of memory");
        if (ret_has_a)
                *ret_has_a = false;
        if (dbus_message_get_type(reply) == DBUS_MESSAGE_TYPE_ERROR)
                fputs(dbus_message_get_error_name(reply), f);
        else if (dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &xml, DBUS_TYPE_INVALID)) {
                bool first = true;
                if (ret_has_a)
                        *ret_has_a = strstr(xml, "<interface name=\"" IFACE_A "\">") != NULL;
                for (p = xml; (p = strstr(p, "<node name=\"")); first = false) {
                        const char *end;
                        p += strlen("<node name=\"");
                        end = strchr(p, '"');
                        if (!end)
                                break;
                        fprintf(f, "%s%.*s", first ? "" : " ", (int)(end - p), p);
                        p = end;
                }
        }
        fclose(f);
        dbus_message_unref(reply);
        return out;
}

/* ---- the model: which objects are exported ---- */

static busrpc_object *objs[N_OBJECTS];

static void path_of(unsigned i, char *buf, size_t size) {
        snprintf(buf, size, "/r/g%u/o%u", i % N_GROUPS, i);
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* What Introspect of /r/g<g> should list: the remaining o<i>, sorted. */
static char *expected_group(unsigned g) {
        char **names = calloc(N_OBJECTS / N_GROUPS + 1, sizeof(*names));
        size_t n = 0, len = 0;
        char *out = NULL;
        FILE *f;

        if (!names)
                tap_bail("out of memory");
        for (unsigned i = g; i < N_OBJECTS; i += N_GROUPS)
                if (objs[i] && asprintf(&names[n++], "o%u", i) < 0)
                        tap_bail("out of memory");
        qsort(names, n, sizeof(*names), cmp_str);
        f = open_memstream(&out, &len);
        if (!f)
                tap_bail("out of memory");
        for (size_t k = 0; k < n; k++) {
                fprintf(f, "%s%s", k ? " " : "", names[k]);
                free(names[k]);
        }
        fclose(f);
        free(names);
        return out;
}

static bool group_alive(unsigned g) {
        for (unsigned i = g; i < N_OBJECTS; i += N_GROUPS)
                if (objs[i])
                        return true;
        return false;
}

/* What Introspect of /r should list: the groups left, sorted as strings. */
static char *expected_groups(void) {
        char **names = calloc(N_GROUPS, sizeof(*names));
        size_t n = 0, len = 0;
        char *out = NULL;
        FILE *f;

        if (!names)
                tap_bail("out of memory");
        for (unsigned g = 0; g < N_GROUPS; g++)
                if (group_alive(g) && asprintf(&names[n++], "g%u", g) < 0)
                        tap_bail("out of memory");
        qsort(names, n, sizeof(*names), cmp_str);
        f = open_memstream(&out, &len);
        if (!f)
                tap_bail("out of memory");
        for (size_t k = 0; k < n; k++) {
                fprintf(f, "%s%s", k ? " " : "", names[k]);
                free(names[k]);
        }
        fclose(f);
        free(names);
        return out;
}

/* Every exported path refuses a second export; every other one takes one
 * (undone at once). Returns the number of mismatches. */
static unsigned check_all(void) {
        unsigned bad = 0;
        char path[64];

        for (unsigned i = 0; i < N_OBJECTS; i++) {
                busrpc_object *o = NULL;
                int r;
                path_of(i, path, sizeof(path));
                r = busrpc_object_export(sc, path, &iface_a, NULL, NULL, &o);
                if (objs[i] ? r != -EEXIST : r != 0) {
                        if (bad++ < 5)
                                tap_diag("  %s: export gave %d (%s)", path, r, objs[i] ? "exported" : "removed");
                }
                if (r == 0)
                        busrpc_object_release(o);
        }
        return bad;
}

static void check_state(const char *when) {
        static const unsigned groups[] = { 0, 1, 5, 100, 316 };
        unsigned bad_calls = 0, n_alive = 0;
        char path[64], want[160];
        char *got, *exp;

        is_int(check_all(), 0, "every exported path is found, every removed one is gone");
        /* a sample over the wire: answered by the right method, or UnknownObject */
        for (unsigned i = 0; i < N_OBJECTS; i += 997) {
                const char *got1;
                path_of(i, path, sizeof(path));
                if (objs[i]) {
                        n_alive++;
                        snprintf(want, sizeof(want), "mid %s", path);
                        got1 = call_str(path, IFACE_A, "Mid");
                        if (strcmp(got1, want) == 0) {
                                snprintf(want, sizeof(want), "zeta %s", path);
                                got1 = call_str(path, NULL, "Zeta");
                        }
                } else {
                        snprintf(want, sizeof(want), "org.freedesktop.DBus.Error.UnknownObject");
                        got1 = call_str(path, IFACE_A, "Mid");
                }
                if (strcmp(got1, want) != 0 && bad_calls++ < 5)
                        tap_diag("  %s: got \"%s\", want \"%s\"", path, got1, want);
        }
        ok(bad_calls == 0, "%s: calls at a sample of paths (%u of them exported) answered right", when, n_alive);
        for (size_t k = 0; k < sizeof(groups) / sizeof(groups[0]); k++) {
                snprintf(path, sizeof(path), "/r/g%u", groups[k]);
                got = introspect_children(path, NULL);
                exp = expected_group(groups[k]);
                if (!*exp) {
                        free(exp);
                        exp = strdup("org.freedesktop.DBus.Error.UnknownObject");
                }
                ok(exp && strcmp(got, exp) == 0, "%s: Introspect of %s lists its children", when, path);
                if (exp && strcmp(got, exp) != 0)
                        tap_diag("  got %.200s\n  want %.200s", got, exp);
                free(got);
                free(exp);
        }
        got = introspect_children("/r", NULL);
        exp = expected_groups();
        if (!*exp) {
                free(exp);
                exp = strdup("org.freedesktop.DBus.Error.UnknownObject");
        }
        ok(exp && strcmp(got, exp) == 0, "%s: Introspect of /r lists the groups left", when);
        if (exp && strcmp(got, exp) != 0)
                tap_diag("  got %.200s\n  want %.200s", got, exp);
        free(got);
        free(exp);
}

static void test_many(void) {
        unsigned *order = malloc(N_OBJECTS * sizeof(*order)), failed = 0;
        uint64_t rnd = 0x9e3779b97f4a7c15ull;
        char path[64];
        char *got;
        bool has_a;
        busrpc_object *om = NULL, *om2 = NULL, *b = NULL;

        if (!order)
                tap_bail("out of memory");
        for (unsigned i = 0; i < N_OBJECTS; i++) {
                path_of(i, path, sizeof(path));
                if (busrpc_object_export(sc, path, &iface_a, NULL, NULL, &objs[i]) < 0)
                        failed++;
        }
        is_int(failed, 0, "100,000 objects exported");
        path_of(12345, path, sizeof(path));
        is_int(busrpc_object_export(sc, path, &iface_a, NULL, NULL, NULL), -EEXIST,
               "exporting an interface twice at one path is refused");
        is_int(busrpc_object_export(sc, path, &iface_b, NULL, NULL, &b), 0,
               "another interface at that path is accepted");
        is_str(call_str(path, IFACE_B, "Alpha"), "other.alpha /r/g299/o12345", "and is called by its interface");
        is_str(call_str(path, IFACE_A, "Alpha"), "alpha /r/g299/o12345", "while the first one still answers");
        is_str(call_str(path, IFACE_A, "Omega"), "omega /r/g299/o12345", "its last method too");
        is_str(call_str(path, IFACE_B, "Mid"), "org.freedesktop.DBus.Error.UnknownMethod",
               "a method of the other interface is unknown on this one");
        is_str(call_str(path, "org.busrpc.Nope", "Mid"), "org.freedesktop.DBus.Error.UnknownInterface",
               "an interface not exported there is unknown");
        is_str(call_str("/r/g299", IFACE_A, "Mid"), "org.freedesktop.DBus.Error.UnknownObject",
               "an intermediate node holds no object");
        busrpc_object_release(b);
        is_int(busrpc_objects_add_manager(sc, "/r/g7", &om), 0, "an ObjectManager inside the tree");
        is_int(busrpc_objects_add_manager(sc, "/r/g7", &om2), -EEXIST, "a second one at that path is refused");
        got = introspect_children(path, &has_a);
        is_str(got, "", "an object's Introspect has no children");
        ok(has_a, "and holds its interface");
        free(got);
        got = introspect_children("/", NULL);
        is_str(got, "r", "Introspect of / lists r");
        free(got);
        check_state("all exported");
        busrpc_object_release(om);

        for (unsigned i = 0; i < N_OBJECTS; i++)
                order[i] = i;
        for (unsigned i = N_OBJECTS - 1; i > 0; i--) {
                unsigned j, t;
                rnd ^= rnd << 13;
                rnd ^= rnd >> 7;
                rnd ^= rnd << 17;
                j = (unsigned)(rnd % (i + 1));
                t = order[i];
                order[i] = order[j];
                order[j] = t;
        }
        for (unsigned k = 0; k < N_OBJECTS; k++) {
                unsigned i = order[k];
                objs[i] = busrpc_object_release(objs[i]);
                if (k + 1 == N_OBJECTS / 2)
                        check_state("half unexported");
                else if (k + 1 == N_OBJECTS - N_OBJECTS / 100)
                        check_state("99% unexported");
                else if (k + 1 == N_OBJECTS - 5)
                        check_state("5 left");
        }
        check_state("all unexported");
        got = introspect_children("/", NULL);
        is_str(got, "", "Introspect of / lists nothing");
        free(got);
        free(order);
}

/* ---- GetManagedObjects and calls without interface ---- */

/* "path:iface,iface path:iface" from a GetManagedObjects reply. */
static char *managed(const char *path) {
        DBusMessage *reply = call(path, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects");
        DBusMessageIter it, arr, entry, ifaces, ie;
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        bool first = true;

        if (!f)
                tap_bail("out of memory");
        if (dbus_message_get_type(reply) == DBUS_MESSAGE_TYPE_ERROR || !dbus_message_iter_init(reply, &it) ||
            !dbus_message_has_signature(reply, "a{oa{sa{sv}}}")) {
                fputs(dbus_message_get_type(reply) == DBUS_MESSAGE_TYPE_ERROR ? dbus_message_get_error_name(reply)
                                                                              : "bad reply",
                      f);
                goto out;
        }
        dbus_message_iter_recurse(&it, &arr);
        for (; dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_DICT_ENTRY; dbus_message_iter_next(&arr)) {
                const char *p;
                bool first_iface = true;
                dbus_message_iter_recurse(&arr, &entry);
                dbus_message_iter_get_basic(&entry, &p);
                fprintf(f, "%s%s:", first ? "" : " ", p);
                first = false;
                dbus_message_iter_next(&entry);
                dbus_message_iter_recurse(&entry, &ifaces);
                for (; dbus_message_iter_get_arg_type(&ifaces) == DBUS_TYPE_DICT_ENTRY;
                     dbus_message_iter_next(&ifaces)) {
                        const char *name;
                        dbus_message_iter_recurse(&ifaces, &ie);
                        dbus_message_iter_get_basic(&ie, &name);
                        fprintf(f, "%s%s", first_iface ? "" : ",", strcmp(name, IFACE_A) == 0 ? "A" : "B");
                        first_iface = false;
                }
        }
out:
        fclose(f);
        dbus_message_unref(reply);
        return out;
}

static void test_manager(void) {
        busrpc_object *om = NULL, *mb_a = NULL, *max_a = NULL, *mb_b = NULL, *ma_b = NULL, *mcde_a = NULL;
        char *got;

        is_int(busrpc_objects_add_manager(sc, "/m", &om), 0, "ObjectManager at /m");
        ok(busrpc_object_export(sc, "/m/b", &iface_a, NULL, NULL, &mb_a) == 0 &&
                   busrpc_object_export(sc, "/m/a/x", &iface_a, NULL, NULL, &max_a) == 0 &&
                   busrpc_object_export(sc, "/m/b", &iface_b, NULL, NULL, &mb_b) == 0 &&
                   busrpc_object_export(sc, "/m/a", &iface_b, NULL, NULL, &ma_b) == 0 &&
                   busrpc_object_export(sc, "/m/c/d/e", &iface_a, NULL, NULL, &mcde_a) == 0,
           "five objects below it");
        got = managed("/m");
        is_str(got, "/m/b:A,B /m/a/x:A /m/a:B /m/c/d/e:A", "GetManagedObjects: paths and interfaces in export order");
        free(got);
        got = introspect_children("/m", NULL);
        is_str(got, "a b c", "Introspect of /m lists a b c");
        free(got);
        got = introspect_children("/m/c", NULL);
        is_str(got, "d", "Introspect of the intermediate /m/c lists d");
        free(got);
        is_str(call_str("/m/b", NULL, "Alpha"), "alpha /m/b", "a call without interface: the first exported");
        busrpc_object_release(mb_a);
        is_str(call_str("/m/b", NULL, "Alpha"), "other.alpha /m/b", "then the other one, once it is unexported");
        got = managed("/m");
        is_str(got, "/m/a/x:A /m/b:B /m/a:B /m/c/d/e:A", "GetManagedObjects after an unexport");
        free(got);
        got = managed("/m/a");
        is_str(got, "org.freedesktop.DBus.Error.UnknownMethod", "no GetManagedObjects where no ObjectManager is");
        free(got);
        busrpc_object_release(mcde_a);
        got = introspect_children("/m", NULL);
        is_str(got, "a b", "the emptied branch /m/c is gone");
        free(got);
        got = introspect_children("/m/c", NULL);
        is_str(got, "org.freedesktop.DBus.Error.UnknownObject", "and /m/c is unknown");
        free(got);
        busrpc_object_release(max_a);
        busrpc_object_release(mb_b);
        busrpc_object_release(ma_b);
        got = managed("/m");
        is_str(got, "", "GetManagedObjects of an empty tree");
        free(got);
        got = introspect_children("/", NULL);
        is_str(got, "m", "Introspect of / lists m (the ObjectManager)");
        free(got);
        busrpc_object_release(om);
        got = introspect_children("/", NULL);
        is_str(got, "", "and nothing once it is gone");
        free(got);
}

int main(void) {
        char addr[128];
        DBusError e;

        if (!mkdtemp(dir))
                tap_bail("mkdtemp failed");
        snprintf(addr, sizeof(addr), "unix:path=%s/socket", dir);
        if (busrpc_loop_new(&loop) < 0 || busrpc_server_new(addr, &server) < 0 ||
            busrpc_server_attach(server, loop) < 0)
                tap_bail("cannot start the server at %s", addr);
        sc = busrpc_server_get_objects(server);
        if (!sc)
                tap_bail("the server has no object registry");
        dbus_error_init(&e);
        client = dbus_connection_open_private(busrpc_server_get_address(server), &e);
        if (!client)
                tap_bail("cannot connect: %s", e.message ? e.message : "?");
        dbus_connection_set_exit_on_disconnect(client, FALSE);

        TAP_RUN(test_manager);
        TAP_RUN(test_many);

        dbus_connection_close(client);
        dbus_connection_unref(client);
        busrpc_server_free(server);
        busrpc_loop_unref(loop);
        unlink(addr + strlen("unix:path="));
        rmdir(dir);
        return tap_done();
}
