/* test-om-client.c: following an ObjectManager (busrpc_om_client_new())
 * through a private dbus-daemon and on a busrpc_server's peer socket. A
 * service (a child process) has an ObjectManager at /org/busrpc/om with
 * two objects exported before any client connects (one with two
 * interfaces); a control object exports and unexports more on request.
 * The client must report the objects that were there (from
 * GetManagedObjects), then each interface added and removed, with the
 * properties of described interfaces decoded by their table, the others
 * readable by hand, and a working proxy per object. A generated-style
 * typed layer (a few lines over the runtime, written here by hand) gets
 * typed callbacks. On the bus, a spoofed InterfacesAdded is dropped.
 */
#include "typing-util.h"
#include <dbus/dbus.h>
#include <stddef.h>

#define OM_NAME  "org.busrpc.OmTest"
#define OM_PATH  "/org/busrpc/om"
#define CTL_PATH "/org/busrpc/omctl"
#define THING    "org.busrpc.Thing"
#define OTHER    "org.busrpc.Other"
#define CTL      "org.busrpc.OmCtl"

static TestBus bus;

/* ------------------------------------------------------------------ */
/* The service                                                         */

typedef struct Thing {
        char name[32];
        uint32_t size;
        busrpc_object *thing, *other;
} Thing;

static Thing things[8];
static busrpc_conn *svc_conn;    /* the service on a bus */
static busrpc_objects *svc_objs; /* its objects, or its peer server's */

static int get_label(busrpc_iter *v, const void *ops, void *self, busrpc_error *err) {
        const char *s = ((Thing *)self)->name;
        (void)ops, (void)err;
        return busrpc_iter_append_basic(v, 's', &s);
}

static int get_size(busrpc_iter *v, const void *ops, void *self, busrpc_error *err) {
        (void)ops, (void)err;
        return busrpc_iter_append_basic(v, 'u', &((Thing *)self)->size);
}

static int get_note(busrpc_iter *v, const void *ops, void *self, busrpc_error *err) {
        const char *s = "note";
        (void)ops, (void)self, (void)err;
        return busrpc_iter_append_basic(v, 's', &s);
}

static const busrpc_property_desc thing_desc_props[] = {
        { .name = "Label", .sig = "s", .get = get_label, .flags = BUSRPC_PROP_READ },
        { .name = "Size", .sig = "u", .get = get_size, .flags = BUSRPC_PROP_READ },
};
static const busrpc_interface_desc thing_iface = {
        .name = THING,
        .xml = "<interface name=\"" THING "\"></interface>",
        .properties = thing_desc_props,
        .n_properties = 2,
};
static const busrpc_property_desc other_desc_props[] = {
        { .name = "Note", .sig = "s", .get = get_note, .flags = BUSRPC_PROP_READ | BUSRPC_PROP_EMITS_CONST },
};
static const busrpc_interface_desc other_iface = {
        .name = OTHER,
        .xml = "<interface name=\"" OTHER "\"></interface>",
        .properties = other_desc_props,
        .n_properties = 1,
};

static Thing *thing_named(const char *name, bool make) {
        Thing *free_slot = NULL;

        for (size_t i = 0; i < 8; i++) {
                if (things[i].name[0] && strcmp(things[i].name, name) == 0)
                        return &things[i];
                if (!things[i].name[0] && !free_slot)
                        free_slot = &things[i];
        }
        if (make && free_slot)
                snprintf(free_slot->name, sizeof(free_slot->name), "%s", name);
        return make ? free_slot : NULL;
}

static int export_thing(const char *name, uint32_t size, bool other) {
        Thing *t = thing_named(name, true);
        char path[96];
        int r;

        if (!t)
                return -ENOSPC;
        snprintf(path, sizeof(path), OM_PATH "/%s", name);
        t->size = size;
        if (!t->thing && (r = busrpc_object_export(svc_objs, path, &thing_iface, NULL, t, &t->thing)) < 0)
                return r;
        if (other && !t->other &&
            (r = busrpc_object_export(svc_objs, path, &other_iface, NULL, t, &t->other)) < 0)
                return r;
        return 0;
}

static void thing_release(Thing *t) {
        if (!t->thing && !t->other)
                t->name[0] = '\0';
}

static int ctl_reply(busrpc_call *call) {
        busrpc_msg *reply = NULL;
        int r = busrpc_call_reply_new(call, &reply);
        return r < 0 ? r : busrpc_msg_send(reply);
}

static int ctl_add(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        const char *name = NULL;
        uint32_t size = 0;
        int r;

        (void)ops, (void)self;
        if ((r = busrpc_iter_get_basic(args, 's', &name)) < 0 ||
            (r = busrpc_iter_get_basic(args, 'u', &size)) < 0 || (r = export_thing(name, size, false)) < 0)
                return r;
        return ctl_reply(call);
}

static int ctl_add_other(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        const char *name = NULL;
        Thing *t;
        int r;

        (void)ops, (void)self;
        if ((r = busrpc_iter_get_basic(args, 's', &name)) < 0)
                return r;
        t = thing_named(name, false);
        if (!t)
                return busrpc_call_fail(call, BUSRPC_ERROR_UNKNOWN_OBJECT, "no %s", name);
        if ((r = export_thing(name, t->size, true)) < 0)
                return r;
        return ctl_reply(call);
}

static int ctl_remove(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        const char *name = NULL, *member = busrpc_msg_get_member(busrpc_call_get_msg(call));
        Thing *t;
        int r;

        (void)ops, (void)self;
        if ((r = busrpc_iter_get_basic(args, 's', &name)) < 0)
                return r;
        t = thing_named(name, false);
        if (!t)
                return busrpc_call_fail(call, BUSRPC_ERROR_UNKNOWN_OBJECT, "no %s", name);
        if (strcmp(member, "RemoveOther") == 0)
                t->other = busrpc_object_release(t->other);
        else
                t->thing = busrpc_object_release(t->thing);
        thing_release(t);
        return ctl_reply(call);
}

static const busrpc_method_desc ctl_methods[] = {
        { .name = "Add", .in_sig = "su", .out_sig = "", .fn = ctl_add },
        { .name = "AddOther", .in_sig = "s", .out_sig = "", .fn = ctl_add_other },
        { .name = "Remove", .in_sig = "s", .out_sig = "", .fn = ctl_remove },
        { .name = "RemoveOther", .in_sig = "s", .out_sig = "", .fn = ctl_remove },
};
static const busrpc_interface_desc ctl_iface = {
        .name = CTL,
        .xml = "<interface name=\"" CTL "\"></interface>",
        .methods = ctl_methods,
        .n_methods = 4,
};

static void serve(const char *bus_address, const char *peer_address, int ready_fd) {
        busrpc_server *srv = NULL;
        busrpc_loop *loop = NULL;

        if (bus_address) {
                if (busrpc_conn_open(bus_address, &svc_conn) < 0 ||
                    busrpc_conn_request_name(svc_conn, OM_NAME, 0, NULL, NULL, NULL) < 0)
                        _exit(2);
                svc_objs = busrpc_conn_get_objects(svc_conn);
        } else {
                if (busrpc_server_new(peer_address, &srv) < 0)
                        _exit(2);
                svc_objs = busrpc_server_get_objects(srv);
        }
        if (busrpc_objects_add_manager(svc_objs, OM_PATH, NULL) < 0 ||
            busrpc_object_export(svc_objs, CTL_PATH, &ctl_iface, NULL, NULL, NULL) < 0 ||
            export_thing("alpha", 1, true) < 0 || export_thing("beta", 2, false) < 0)
                _exit(3);
        if (write(ready_fd, "r", 1) != 1)
                _exit(4);
        close(ready_fd);
        busrpc_loop_default(&loop);
        busrpc_loop_handle_signals(loop);
        busrpc_loop_run(loop);
        _exit(0);
}

/* ------------------------------------------------------------------ */
/* The client's table, and the typed layer a generator emits            */

typedef struct ThingProps {
        char *label;
        uint32_t size;
} ThingProps;

static const busrpc_property_info thing_props[] = {
        { "Label", &busrpc_type_string, offsetof(ThingProps, label), 0 },
        { "Size", &busrpc_type_uint32, offsetof(ThingProps, size), 0 },
};
static const busrpc_property_table thing_table = { THING, thing_props, 2, sizeof(ThingProps) };
static const busrpc_property_table *const om_tables[] = { &thing_table };

/* Generated for a module whose interfaces are Thing (table 0), ...: */
typedef struct t_object_manager_callbacks {
        void (*thing_added)(busrpc_proxy *p, const ThingProps *props, void *userdata);
        void (*thing_removed)(busrpc_proxy *p, void *userdata);
        void (*ready)(int r, const busrpc_error *err, void *userdata);
} t_object_manager_callbacks;
static void t_object_manager_dispatch(busrpc_om_client *om, const busrpc_om_event *ev, const void *ops,
                                      void *userdata) {
        const t_object_manager_callbacks *cbs = ops;

        (void)om;
        if (ev->kind == BUSRPC_OM_READY && cbs->ready)
                cbs->ready(ev->r, ev->error, userdata);
        else if (ev->table == 0 && ev->kind == BUSRPC_OM_INTERFACE_ADDED && cbs->thing_added)
                cbs->thing_added(ev->proxy, ev->values, userdata);
        else if (ev->table == 0 && ev->kind == BUSRPC_OM_INTERFACE_REMOVED && cbs->thing_removed)
                cbs->thing_removed(ev->proxy, userdata);
}
static int t_object_manager_follow(busrpc_conn *c, const char *destination, const char *path,
                                   const t_object_manager_callbacks *cbs, void *userdata,
                                   busrpc_om_client **ret) {
        return busrpc_om_client_new(c, destination, path, om_tables, 1, t_object_manager_dispatch, cbs,
                                    userdata, ret);
}

/* ------------------------------------------------------------------ */
/* What the client saw                                                 */

typedef struct Log {
        char text[8192];
        int events;
        int ready_r;
        bool ready;
        busrpc_proxy *alpha;       /* the proxy handed out for alpha's Thing */
        busrpc_om_client *free_me; /* freed by the callback on its first event */
} Log;

static void log_add(Log *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_add(Log *l, const char *fmt, ...) {
        size_t n = strlen(l->text);
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(l->text + n, sizeof(l->text) - n, fmt, ap);
        va_end(ap);
}

/* Read the a{sv} at @it by hand: Note's string, or "-". */
static void read_note(busrpc_iter *it, char *out, size_t size) {
        busrpc_iter arr, e, v;
        const char *k = NULL, *s = NULL;

        snprintf(out, size, "-");
        if (busrpc_iter_recurse(it, &arr) < 0)
                return;
        while (busrpc_iter_type(&arr) == BUSRPC_TYPE_DICT_ENTRY) {
                busrpc_iter_recurse(&arr, &e);
                busrpc_iter_get_basic(&e, 's', &k);
                if (strcmp(k, "Note") == 0 && busrpc_iter_recurse(&e, &v) == 0 &&
                    busrpc_iter_get_basic(&v, 's', &s) == 0)
                        snprintf(out, size, "%s", s);
        }
}

static void on_event(busrpc_om_client *om, const busrpc_om_event *ev, const void *ops, void *userdata) {
        Log *l = userdata;
        char note[32];

        (void)ops;
        l->events++;
        if (ev->kind == BUSRPC_OM_READY) {
                l->ready = true;
                l->ready_r = ev->r;
                log_add(l, "ready %d;", ev->r);
        } else if (ev->kind == BUSRPC_OM_INTERFACE_ADDED) {
                log_add(l, "+%s %s%s", ev->path, ev->interface, ev->object_added ? " new" : "");
                if (strcmp(busrpc_proxy_get_path(ev->proxy), ev->path) != 0)
                        log_add(l, " BAD-PROXY");
                if (ev->table == 0 && ev->values) {
                        const ThingProps *t = ev->values;
                        log_add(l, " label=%s size=%u present=%llu", t->label ? t->label : "(null)", t->size,
                                (unsigned long long)ev->present);
                        if (strcmp(ev->path, OM_PATH "/alpha") == 0 && !l->alpha)
                                l->alpha = busrpc_proxy_ref(ev->proxy);
                } else {
                        read_note(ev->props, note, sizeof(note));
                        log_add(l, " table=%d note=%s", (int)ev->table, note);
                }
                log_add(l, ";");
        } else if (ev->kind == BUSRPC_OM_INTERFACE_REMOVED) {
                log_add(l, "-%s %s%s;", ev->path, ev->interface, ev->object_removed ? " last" : "");
        }
        if (l->free_me == om)
                l->free_me = busrpc_om_client_release(om);
}

typedef struct Typed {
        int added, removed, ready;
        char labels[256];
} Typed;

static void typed_added(busrpc_proxy *p, const ThingProps *props, void *userdata) {
        Typed *t = userdata;
        size_t n = strlen(t->labels);

        t->added++;
        snprintf(t->labels + n, sizeof(t->labels) - n, "%s=%u@%s;", props->label, props->size,
                 busrpc_proxy_get_path(p));
}

static void typed_removed(busrpc_proxy *p, void *userdata) {
        (void)p;
        ((Typed *)userdata)->removed++;
}

static void typed_ready(int r, const busrpc_error *err, void *userdata) {
        (void)err;
        ((Typed *)userdata)->ready = r == 0 ? 1 : -1;
}

static const t_object_manager_callbacks typed_cbs = { typed_added, typed_removed, typed_ready };

typedef struct Contains {
        const char *text;
        const char *want;
} Contains;

static bool contains(void *arg) {
        Contains *c = arg;
        return strstr(c->text, c->want) != NULL;
}

static bool had_event(void *arg) {
        return ((Log *)arg)->events > 0;
}

static bool log_ready(void *arg) {
        return ((Log *)arg)->ready;
}

static bool typed_is_ready(void *arg) {
        return ((Typed *)arg)->ready != 0;
}

static bool typed_added_2(void *arg) {
        return ((Typed *)arg)->added >= 3;
}

/* ------------------------------------------------------------------ */

static busrpc_loop *loop;

static int ctl(busrpc_proxy *p, const char *member, const char *name, uint32_t size) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_msg *m = NULL;
        busrpc_iter it;
        int r;

        if ((r = busrpc_proxy_method_new(p, CTL, member, &m)) < 0)
                return r;
        busrpc_msg_append(m, &it);
        busrpc_iter_append_basic(&it, 's', &name);
        if (strcmp(member, "Add") == 0)
                busrpc_iter_append_basic(&it, 'u', &size);
        r = busrpc_proxy_call(p, m, "", NULL, &err);
        if (r < 0)
                tap_diag("%s(%s): %d %s", member, name, r, err.name ? err.name : "");
        busrpc_error_clear(&err);
        return r;
}

static bool wait_for(const char *text, const char *want) {
        Contains c = { text, want };
        bool good = typing_wait(loop, contains, &c);

        if (!good)
                tap_diag("never saw '%s' in: %s", want, text);
        return good;
}

static void run_mode(const char *label, busrpc_conn *a, busrpc_conn *b, const char *dest,
                     DBusConnection *raw) {
        static Log log, other;
        Typed typed = { 0 };
        busrpc_om_client *om = NULL, *tom = NULL, *self_freeing = NULL, *bad = NULL;
        busrpc_proxy *pctl = NULL;
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_msg *reply = NULL;
        busrpc_iter v;
        const char *s = NULL;
        int added;

        tap_diag("--- %s ---", label);
        memset(&log, 0, sizeof(log));
        memset(&other, 0, sizeof(other));
        busrpc_proxy_new(b, dest, CTL_PATH, &pctl);

        is_int(busrpc_om_client_new(a, dest, OM_PATH, om_tables, 1, on_event, NULL, &log, &om), 0,
               "om client made");
        is_int(busrpc_om_client_count(om), 0, "nothing known before GetManagedObjects answered");
        ok(typing_wait(loop, log_ready, &log), "ready");
        is_int(log.ready_r, 0, "GetManagedObjects succeeded");
        ok(strstr(log.text, "+" OM_PATH "/alpha " THING " new label=alpha size=1 present=3;") != NULL,
           "alpha's Thing, exported before the client came: decoded by its table");
        ok(strstr(log.text, "+" OM_PATH "/alpha " OTHER " table=-1 note=note;") != NULL,
           "alpha's Other: no table, its a{sv} readable by hand, not a new object");
        ok(strstr(log.text, "+" OM_PATH "/beta " THING " new label=beta size=2 present=3;") != NULL,
           "beta's Thing");
        ok(strstr(log.text, "ready 0;") == log.text + strlen(log.text) - strlen("ready 0;"),
           "READY after the objects that were there");
        is_int(log.events, 4, "three interfaces, then READY");
        is_int(busrpc_om_client_count(om), 2, "two objects known");
        is_int(busrpc_om_client_has(om, OM_PATH "/alpha", OTHER), 1, "has alpha/Other");
        is_int(busrpc_om_client_has(om, OM_PATH "/alpha", "org.busrpc.Nope"), 0, "not alpha/Nope");
        is_int(busrpc_om_client_has(om, OM_PATH "/gamma", THING), 0, "not gamma yet");
        ok(strstr(log.text, "BAD-PROXY") == NULL, "each event's proxy is for its path");

        /* The proxy handed out works (kept with busrpc_proxy_ref()). */
        ok(log.alpha != NULL, "alpha's proxy kept");
        if (log.alpha) {
                is_int(busrpc_proxy_get_property(log.alpha, THING, "Label", "s", &reply, &v, &err), 0,
                       "Get through the event's proxy");
                if (reply && busrpc_iter_get_basic(&v, 's', &s) == 0)
                        is_str(s, "alpha", "it reaches alpha");
                reply = busrpc_msg_unref(reply);
        }

        /* Objects come and go. */
        is_int(ctl(pctl, "Add", "gamma", 3), 0, "the service exports gamma");
        ok(wait_for(log.text, "+" OM_PATH "/gamma " THING " new label=gamma size=3 present=3;"),
           "gamma added");
        is_int(busrpc_om_client_count(om), 3, "three objects");
        is_int(ctl(pctl, "AddOther", "gamma", 0), 0, "and a second interface at gamma");
        ok(wait_for(log.text, "+" OM_PATH "/gamma " OTHER " table=-1 note=note;"),
           "gamma's Other added, not new");
        is_int(ctl(pctl, "Remove", "gamma", 0), 0, "gamma's Thing unexported");
        ok(wait_for(log.text, "-" OM_PATH "/gamma " THING ";"), "gamma's Thing removed, gamma still there");
        is_int(busrpc_om_client_count(om), 3, "still three objects");
        is_int(ctl(pctl, "RemoveOther", "gamma", 0), 0, "gamma's Other unexported");
        ok(wait_for(log.text, "-" OM_PATH "/gamma " OTHER " last;"), "gamma's last interface removed");
        is_int(busrpc_om_client_count(om), 2, "two objects again");
        is_int(busrpc_om_client_has(om, OM_PATH "/gamma", OTHER), 0, "gamma forgotten");

        /* A typed client that comes later, through the generated-style layer. */
        is_int(t_object_manager_follow(a, dest, OM_PATH, &typed_cbs, &typed, &tom), 0, "typed client made");
        ok(typing_wait(loop, typed_is_ready, &typed), "typed client ready");
        is_int(typed.ready, 1, "typed: GetManagedObjects succeeded");
        is_int(typed.added, 2, "typed: alpha's and beta's Thing (Other has no typed callback)");
        ok(strstr(typed.labels, "alpha=1@" OM_PATH "/alpha;") &&
                   strstr(typed.labels, "beta=2@" OM_PATH "/beta;"),
           "typed: labels and sizes decoded (%s)", typed.labels);
        is_int(ctl(pctl, "Add", "delta", 4), 0, "the service exports delta");
        ok(typing_wait(loop, typed_added_2, &typed), "typed: delta added");
        ok(strstr(typed.labels, "delta=4@" OM_PATH "/delta;") != NULL, "typed: delta decoded");
        ok(wait_for(log.text, "+" OM_PATH "/delta " THING " new label=delta size=4"),
           "the first client too");
        tom = busrpc_om_client_release(tom);
        added = typed.added;
        is_int(ctl(pctl, "Remove", "delta", 0), 0, "delta unexported");
        ok(wait_for(log.text, "-" OM_PATH "/delta " THING " last;"), "delta removed");
        is_int(typed.added + typed.removed, added, "the freed typed client saw nothing more");

        /* A spoofed InterfacesAdded from another connection (bus only). */
        if (raw) {
                DBusMessage *m = dbus_message_new_signal(OM_PATH, "org.freedesktop.DBus.ObjectManager",
                                                         "InterfacesAdded"),
                            *r;
                DBusMessageIter it, arr, e, props;
                const char *path = OM_PATH "/fake", *iface = THING;

                dbus_message_iter_init_append(m, &it);
                dbus_message_iter_append_basic(&it, DBUS_TYPE_OBJECT_PATH, &path);
                dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{sa{sv}}", &arr);
                dbus_message_iter_open_container(&arr, DBUS_TYPE_DICT_ENTRY, NULL, &e);
                dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &iface);
                dbus_message_iter_open_container(&e, DBUS_TYPE_ARRAY, "{sv}", &props);
                dbus_message_iter_close_container(&e, &props);
                dbus_message_iter_close_container(&arr, &e);
                dbus_message_iter_close_container(&it, &arr);
                dbus_connection_send(raw, m, NULL);
                dbus_message_unref(m);
                m = dbus_message_new_method_call("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                                 "org.freedesktop.DBus", "GetId");
                r = dbus_connection_send_with_reply_and_block(raw, m, 5000, NULL);
                dbus_message_unref(m);
                if (r)
                        dbus_message_unref(r);
                is_int(ctl(pctl, "Add", "epsilon", 5), 0, "then a real export");
                ok(wait_for(log.text, "+" OM_PATH "/epsilon " THING " new"), "the real one arrives");
                ok(strstr(log.text, "fake") == NULL, "the spoofed InterfacesAdded was dropped");
                is_int(busrpc_om_client_has(om, OM_PATH "/fake", THING), 0, "fake not known");
                is_int(ctl(pctl, "Remove", "epsilon", 0), 0, "epsilon unexported");
                ok(wait_for(log.text, "-" OM_PATH "/epsilon " THING " last;"), "epsilon removed");
        }

        /* A client freed by its own callback, on its first event. */
        is_int(busrpc_om_client_new(a, dest, OM_PATH, NULL, 0, on_event, NULL, &other, &self_freeing), 0,
               "a client that frees itself in its callback");
        other.free_me = self_freeing;
        is_int(ctl(pctl, "Add", "zeta", 6), 0, "zeta exported");
        ok(wait_for(log.text, "+" OM_PATH "/zeta " THING " new"), "zeta seen by the first client");
        ok(typing_wait(loop, had_event, &other), "the self-freeing client had its first event");
        is_int(other.events, 1, "the self-freeing client ran once, then stopped");
        ok(other.free_me == NULL, "and freed itself");
        is_int(ctl(pctl, "Remove", "zeta", 0), 0, "zeta unexported");
        ok(wait_for(log.text, "-" OM_PATH "/zeta " THING " last;"), "zeta removed");

        /* A path without an ObjectManager: READY with the error. */
        memset(&other, 0, sizeof(other));
        is_int(busrpc_om_client_new(a, dest, CTL_PATH, NULL, 0, on_event, NULL, &other, &bad), 0,
               "a client of a path that has no ObjectManager");
        ok(typing_wait(loop, log_ready, &other), "it becomes ready");
        ok(other.ready_r < 0, "with an error (%d)", other.ready_r);
        is_int(other.events, 1, "and nothing else");
        bad = busrpc_om_client_release(bad);

        om = busrpc_om_client_release(om);
        ok(om == NULL, "freed");
        busrpc_proxy_unref(log.alpha);
        busrpc_proxy_unref(pctl);
        busrpc_error_clear(&err);
}

static void test_bad_arguments(busrpc_conn *c) {
        static const busrpc_property_info bad_name[] = { { "no-dash", &busrpc_type_int32, 0, 0 } };
        static const busrpc_property_table bad = { THING, bad_name, 1, 4 };
        static const busrpc_property_table *const bad_tables[] = { &bad };
        busrpc_om_client *om = NULL;
        Log l;

        is_int(busrpc_om_client_new(NULL, OM_NAME, OM_PATH, NULL, 0, on_event, NULL, &l, &om), -EINVAL,
               "NULL conn");
        is_int(busrpc_om_client_new(c, OM_NAME, OM_PATH, NULL, 0, NULL, NULL, &l, &om), -EINVAL,
               "NULL callback");
        is_int(busrpc_om_client_new(c, OM_NAME, OM_PATH, NULL, 0, on_event, NULL, &l, NULL), -EINVAL,
               "NULL handle");
        is_int(busrpc_om_client_new(c, OM_NAME, "no/path", NULL, 0, on_event, NULL, &l, &om), -EINVAL,
               "bad path");
        is_int(busrpc_om_client_new(c, OM_NAME, OM_PATH, NULL, 1, on_event, NULL, &l, &om), -EINVAL,
               "NULL tables");
        is_int(busrpc_om_client_new(c, OM_NAME, OM_PATH, bad_tables, 1, on_event, NULL, &l, &om), -EINVAL,
               "a bad table");
        ok(om == NULL, "nothing returned");
        is_int(busrpc_om_client_has(NULL, OM_PATH, THING), -EINVAL, "has(NULL)");
        is_int(busrpc_om_client_count(NULL), 0, "count(NULL)");
        ok(busrpc_om_client_release(NULL) == NULL, "free(NULL)");
}

static TypingService on_bus;

/* The service restarts: its objects are reported removed, then the new
 * owner's added again, then READY once more. */
static void test_restart(busrpc_conn *a) {
        static Log log;
        busrpc_om_client *om = NULL;
        const char *alpha_added = "+" OM_PATH "/alpha " THING " new label=alpha size=1 present=3;";

        memset(&log, 0, sizeof(log));
        is_int(busrpc_om_client_new(a, OM_NAME, OM_PATH, om_tables, 1, on_event, NULL, &log, &om), 0,
               "om client");
        ok(typing_wait(loop, log_ready, &log), "ready");
        is_int(busrpc_om_client_count(om), 2, "alpha and beta");
        typing_service_stop(&on_bus);
        ok(wait_for(log.text, "-" OM_PATH "/beta " THING " last;"), "service gone: beta removed");
        ok(strstr(log.text, "-" OM_PATH "/alpha " OTHER ";") &&
                   strstr(log.text, "-" OM_PATH "/alpha " THING " last;"),
           "alpha's two interfaces removed, the last one says so");
        is_int(busrpc_om_client_count(om), 0, "nothing known");
        log.ready = false;
        typing_service_start(&on_bus, bus.address, false);
        ok(typing_wait(loop, log_ready, &log), "service back: ready again");
        ok(strstr(strstr(log.text, "ready 0;") + 1, "ready 0;") != NULL, "READY reported twice");
        ok(strstr(strstr(log.text, alpha_added) + 1, alpha_added) != NULL,
           "alpha added again, from the new owner");
        is_int(busrpc_om_client_count(om), 2, "alpha and beta again");
        busrpc_om_client_release(om);
        busrpc_proxy_unref(log.alpha); /* taken by on_event */
}

int main(int argc, char **argv) {
        TypingService on_peer = { 0 };
        busrpc_conn *a = NULL, *b = NULL, *pa = NULL, *pb = NULL;
        DBusConnection *raw;

        typing_serve_main(argc, argv, serve);
        test_bus_start(&bus);
        typing_service_start(&on_bus, bus.address, false);
        typing_service_start(&on_peer, NULL, true);
        if (busrpc_conn_open(bus.address, &a) < 0 || busrpc_conn_open(bus.address, &b) < 0)
                tap_bail("cannot connect to the private bus");
        loop = busrpc_conn_get_loop(a);
        raw = dbus_connection_open_private(bus.address, NULL);
        if (!raw || !dbus_bus_register(raw, NULL))
                tap_bail("raw connection failed");

        run_mode("bus", a, b, OM_NAME, raw);
        test_bad_arguments(a);
        test_restart(a);

        if (busrpc_conn_open_peer(on_peer.address, &pa) < 0 ||
            busrpc_conn_open_peer(on_peer.address, &pb) < 0)
                tap_bail("cannot connect to the peer socket");
        run_mode("peer socket", pa, pb, NULL, NULL);

        dbus_connection_close(raw);
        dbus_connection_unref(raw);
        busrpc_conn_unref(pa);
        busrpc_conn_unref(pb);
        busrpc_conn_unref(a);
        busrpc_conn_unref(b);
        typing_service_stop(&on_peer);
        typing_service_stop(&on_bus);
        test_bus_stop(&bus);
        dbus_shutdown();
        return tap_done();
}
