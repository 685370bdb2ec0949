/* test-watch.c: the typed client side of properties and errors, through a
 * private dbus-daemon and on a busrpc_server's peer socket. A service (a
 * child process) has properties of four kinds (a string, an int32, an
 * int32[] and an invalidates-only uint32); a client watches them with a
 * property table (the descriptors a generated header would hold, written
 * by hand below together with the few lines of typed wrappers the
 * generator emits over the runtime), per property, floating, and through
 * a cache that must agree with Get after every change. Changes come from
 * the service's own notify, from another busrpc client's Set, from busctl
 * set-property and from python3-dbus. On the bus: spoofed signals from
 * another connection are dropped; values of the wrong type and unknown
 * names are ignored; declared and undeclared errors are classified.
 */
#include "typing-util.h"
#include <dbus/dbus.h>
#include <stddef.h>

#define W_NAME      "org.busrpc.WatchTest"
#define W_PATH      "/org/busrpc/W"
#define W_IFACE     "org.busrpc.Watch"
#define W_ERR_BUSY  W_IFACE ".Error.Busy"
#define W_ERR_GONE  W_IFACE ".Error.Gone"
#define W_ERR_OTHER W_IFACE ".Error.Other"
#define PROPS       "org.freedesktop.DBus.Properties"

static TestBus bus;

/* ------------------------------------------------------------------ */
/* The service (child process), on the iterator-level server API        */

static struct {
        char name[64];
        int32_t count;
        int32_t list[16];
        size_t n_list;
        uint32_t stale;
        busrpc_object *obj;
} svc = { .name = "initial", .count = -1 };

static int get_name(busrpc_iter *v, const void *ops, void *self, busrpc_error *err) {
        const char *s = svc.name;
        (void)ops, (void)self, (void)err;
        return busrpc_iter_append_basic(v, 's', &s);
}

static int set_name(busrpc_iter *v, const void *ops, void *self, busrpc_error *err) {
        const char *s = NULL;
        int r = busrpc_iter_get_basic(v, 's', &s);
        (void)ops, (void)self, (void)err;
        if (r >= 0)
                snprintf(svc.name, sizeof(svc.name), "%s", s);
        return r;
}

static int get_count(busrpc_iter *v, const void *ops, void *self, busrpc_error *err) {
        (void)ops, (void)self, (void)err;
        return busrpc_iter_append_basic(v, 'i', &svc.count);
}

static int set_count(busrpc_iter *v, const void *ops, void *self, busrpc_error *err) {
        (void)ops, (void)self, (void)err;
        return busrpc_iter_get_basic(v, 'i', &svc.count);
}

static int get_list(busrpc_iter *v, const void *ops, void *self, busrpc_error *err) {
        (void)ops, (void)self, (void)err;
        return busrpc_iter_append_fixed_array(v, 'i', svc.list, svc.n_list);
}

static int get_stale(busrpc_iter *v, const void *ops, void *self, busrpc_error *err) {
        (void)ops, (void)self, (void)err;
        return busrpc_iter_append_basic(v, 'u', &svc.stale);
}

static int reply_empty(busrpc_call *call) {
        busrpc_msg *reply = NULL;
        int r = busrpc_call_reply_new(call, &reply);
        return r < 0 ? r : busrpc_msg_send(reply);
}

static int m_change(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        const char *s = NULL;
        int r;

        (void)ops, (void)self;
        if ((r = busrpc_iter_get_basic(args, 's', &s)) < 0 ||
            (r = busrpc_iter_get_basic(args, 'i', &svc.count)) < 0)
                return r;
        snprintf(svc.name, sizeof(svc.name), "%s", s);
        if ((r = busrpc_object_notify(svc.obj, "Name")) < 0 ||
            (r = busrpc_object_notify(svc.obj, "Count")) < 0)
                return r;
        return reply_empty(call);
}

static int m_set_list(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        const void *items = NULL;
        size_t n = 0;
        int r;

        (void)ops, (void)self;
        if ((r = busrpc_iter_get_fixed_array(args, 'i', &items, &n)) < 0)
                return r;
        svc.n_list = n < 16 ? n : 16;
        memcpy(svc.list, items, svc.n_list * sizeof(int32_t));
        if ((r = busrpc_object_notify(svc.obj, "List")) < 0)
                return r;
        return reply_empty(call);
}

static int m_bump(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        int r;

        (void)args, (void)ops, (void)self;
        svc.stale++;
        if ((r = busrpc_object_notify(svc.obj, "Stale")) < 0)
                return r;
        return reply_empty(call);
}

static int m_fail(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        const char *which = NULL;
        int r;

        (void)ops, (void)self;
        if ((r = busrpc_iter_get_basic(args, 's', &which)) < 0)
                return r;
        if (strcmp(which, "busy") == 0)
                return busrpc_call_fail(call, W_ERR_BUSY, "busy now");
        if (strcmp(which, "gone") == 0)
                return busrpc_call_fail(call, W_ERR_GONE, "gone away");
        return busrpc_call_fail(call, W_ERR_OTHER, "not declared");
}

static const busrpc_method_desc w_methods[] = {
        { .name = "Change", .in_sig = "si", .out_sig = "", .fn = m_change },
        { .name = "SetList", .in_sig = "ai", .out_sig = "", .fn = m_set_list },
        { .name = "Bump", .in_sig = "", .out_sig = "", .fn = m_bump },
        { .name = "Fail", .in_sig = "s", .out_sig = "", .fn = m_fail },
};
static const busrpc_property_desc w_props_desc[] = {
        { .name = "Name",
          .sig = "s",
          .get = get_name,
          .set = set_name,
          .flags = BUSRPC_PROP_READ | BUSRPC_PROP_WRITE },
        { .name = "Count",
          .sig = "i",
          .get = get_count,
          .set = set_count,
          .flags = BUSRPC_PROP_READ | BUSRPC_PROP_WRITE },
        { .name = "List", .sig = "ai", .get = get_list, .flags = BUSRPC_PROP_READ },
        { .name = "Stale",
          .sig = "u",
          .get = get_stale,
          .flags = BUSRPC_PROP_READ | BUSRPC_PROP_EMITS_INVALIDATES },
};
static const busrpc_interface_desc w_iface = {
        .name = W_IFACE,
        .xml = "<interface name=\"" W_IFACE "\"></interface>",
        .methods = w_methods,
        .n_methods = 4,
        .properties = w_props_desc,
        .n_properties = 4,
};

static void serve(const char *bus_address, const char *peer_address, int ready_fd) {
        busrpc_server *srv = NULL;
        busrpc_conn *c = NULL;
        busrpc_objects *objs;
        busrpc_loop *loop = NULL;
        int r;

        if (bus_address) {
                if ((r = busrpc_conn_open(bus_address, &c)) < 0 ||
                    (r = busrpc_conn_request_name(c, W_NAME, 0, NULL, NULL, NULL)) < 0)
                        _exit(2);
                objs = busrpc_conn_get_objects(c);
        } else {
                if ((r = busrpc_server_new(peer_address, &srv)) < 0)
                        _exit(2);
                objs = busrpc_server_get_objects(srv);
        }
        if (busrpc_object_export(objs, W_PATH, &w_iface, NULL, NULL, &svc.obj) < 0)
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
/* The client's descriptors: what a generated header holds             */

typedef struct IntArray {
        int32_t *items;
        size_t n;
} IntArray;

static const busrpc_type type_int_array = {
        .kind = BUSRPC_KIND_ARRAY,
        .size = sizeof(IntArray),
        .signature = "ai",
        .name = "int32[]",
        .elem = &busrpc_type_int32,
};

typedef struct WProps {
        char *name;
        int32_t count;
        IntArray list;
        uint32_t stale;
} WProps;

enum { W_PROP_NAME, W_PROP_COUNT, W_PROP_LIST, W_PROP_STALE };
#define BIT(i) (UINT64_C(1) << (i))

static const busrpc_property_info w_props[] = {
        { "Name", &busrpc_type_string, offsetof(WProps, name), 0 },
        { "Count", &busrpc_type_int32, offsetof(WProps, count), 0 },
        { "List", &type_int_array, offsetof(WProps, list), 0 },
        { "Stale", &busrpc_type_uint32, offsetof(WProps, stale), BUSRPC_PROP_EMITS_INVALIDATES },
};
static const busrpc_property_table w_table = { W_IFACE, w_props, 4, sizeof(WProps) };

/* ---- the typed layer a generator emits over the runtime: a few lines each ---- */

typedef void (*w_properties_changed_fn)(const WProps *values, uint64_t changed, uint64_t invalidated,
                                        void *userdata);
static void w_properties_changed_tramp(const busrpc_property_changes *ch, void (*cb)(void), void *userdata) {
        ((w_properties_changed_fn)cb)(ch->values, ch->changed, ch->invalidated, userdata);
}
static int w_on_properties_changed(busrpc_proxy *p, w_properties_changed_fn cb, void *userdata,
                                   busrpc_subscription **ret) {
        return busrpc_proxy_watch_properties(p, &w_table, w_properties_changed_tramp, (void (*)(void))cb,
                                             userdata, ret);
}

typedef void (*w_count_changed_fn)(const int32_t *count, void *userdata); /* NULL: invalidated */
static void w_count_changed_tramp(const void *value, void (*cb)(void), void *userdata) {
        ((w_count_changed_fn)cb)(value, userdata);
}
static int w_on_count_changed(busrpc_proxy *p, w_count_changed_fn cb, void *userdata,
                              busrpc_subscription **ret) {
        return busrpc_proxy_watch_property(p, &w_table, W_PROP_COUNT, w_count_changed_tramp,
                                           (void (*)(void))cb, userdata, ret);
}

static int w_cached_name(busrpc_property_cache *c, char **ret) {
        return busrpc_property_cache_get(c, W_PROP_NAME, ret);
}
static int w_cached_stale(busrpc_property_cache *c, uint32_t *ret) {
        return busrpc_property_cache_get(c, W_PROP_STALE, ret);
}

typedef enum w_fail_error {
        W_FAIL_ERROR_BUSY,
        W_FAIL_ERROR_GONE,
        W_FAIL_ERROR_NOT_DECLARED,
} w_fail_error;
static w_fail_error w_fail_error_of(const busrpc_error *err) {
        static const char *const names[] = { W_ERR_BUSY, W_ERR_GONE };
        return (w_fail_error)busrpc_error_classify(err, names, 2);
}
static bool w_error_is_busy(const busrpc_error *err) {
        return busrpc_error_has_name(err, W_ERR_BUSY);
}

/* ------------------------------------------------------------------ */
/* What the client saw                                                 */

typedef struct Seen {
        int calls;
        uint64_t changed, invalidated; /* since the last reset */
        char name[64];
        int32_t count;
        int32_t list[16];
        size_t n_list;
        char log[1024]; /* every Name seen, ';'-joined */
} Seen;

static void seen_reset(Seen *s) {
        s->changed = s->invalidated = 0;
}

static void seen_take(Seen *s, const WProps *v, uint64_t changed, uint64_t invalidated) {
        s->calls++;
        s->changed |= changed;
        s->invalidated |= invalidated;
        if (changed & BIT(W_PROP_NAME)) {
                snprintf(s->name, sizeof(s->name), "%s", v->name ? v->name : "(null)");
                if (strlen(s->log) + strlen(s->name) + 2 < sizeof(s->log)) {
                        strcat(s->log, s->name);
                        strcat(s->log, ";");
                }
        }
        if (changed & BIT(W_PROP_COUNT))
                s->count = v->count;
        if (changed & BIT(W_PROP_LIST)) {
                s->n_list = v->list.n < 16 ? v->list.n : 16;
                memcpy(s->list, v->list.items, s->n_list * sizeof(int32_t));
        }
}

/* The typed callback (through the generated-style wrapper). */
static void on_typed(const WProps *v, uint64_t changed, uint64_t invalidated, void *userdata) {
        seen_take(userdata, v, changed, invalidated);
}

/* The runtime callback, used directly (no typed layer). */
static void on_raw(const busrpc_property_changes *ch, void (*cb)(void), void *userdata) {
        (void)cb;
        if (ch->table == &w_table && ch->msg)
                seen_take(userdata, ch->values, ch->changed, ch->invalidated);
}

/* The cache's callback: @msg NULL for what GetAll and Get read. */
static void on_cache(const busrpc_property_changes *ch, void (*cb)(void), void *userdata) {
        (void)cb;
        seen_take(userdata, ch->values, ch->changed, ch->invalidated);
}

typedef struct CountSeen {
        int calls, invalidations;
        int32_t last;
} CountSeen;

static void on_count(const int32_t *count, void *userdata) {
        CountSeen *c = userdata;

        c->calls++;
        if (count)
                c->last = *count;
        else
                c->invalidations++;
}

typedef struct Want {
        Seen *seen;
        uint64_t changed, invalidated;
        const char *name;
        int32_t count;
        bool check_count;
} Want;

static bool want_met(void *arg) {
        Want *w = arg;

        if ((w->seen->changed & w->changed) != w->changed ||
            (w->seen->invalidated & w->invalidated) != w->invalidated)
                return false;
        if (w->name && strcmp(w->seen->name, w->name) != 0)
                return false;
        return !w->check_count || w->seen->count == w->count;
}

static bool count_is(void *arg) {
        void **a = arg;
        return ((CountSeen *)a[0])->last == *(int32_t *)a[1];
}

static bool cache_ready(void *arg) {
        return busrpc_property_cache_is_ready(arg);
}

static bool cache_failed(void *arg) {
        return busrpc_property_cache_get_error(arg, NULL) < 0;
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

typedef struct Mode {
        const char *label;
        bool peer;
        busrpc_conn *a, *b; /* a watches; b changes things */
        const char *dest;   /* NULL on the peer socket */
        char address[512];
        char busctl_dest[64];
} Mode;

static busrpc_loop *loop;

static int call_method(busrpc_proxy *p, const char *member, const char *s, int32_t i, const int32_t *list,
                       size_t n, busrpc_error *err) {
        busrpc_msg *m = NULL;
        busrpc_iter it;
        int r;

        if ((r = busrpc_proxy_method_new(p, W_IFACE, member, &m)) < 0)
                return r;
        busrpc_msg_append(m, &it);
        if (s)
                busrpc_iter_append_basic(&it, 's', &s);
        if (strcmp(member, "Change") == 0)
                busrpc_iter_append_basic(&it, 'i', &i);
        if (list)
                busrpc_iter_append_fixed_array(&it, 'i', list, n);
        return busrpc_proxy_call(p, m, "", NULL, err);
}

static char *get_name_remote(busrpc_proxy *p) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_msg *reply = NULL;
        busrpc_iter v;
        const char *s = NULL;
        char *out = NULL;

        if (busrpc_proxy_get_property(p, W_IFACE, "Name", "s", &reply, &v, &err) == 0 &&
            busrpc_iter_get_basic(&v, 's', &s) == 0)
                out = strdup(s);
        busrpc_msg_unref(reply);
        busrpc_error_clear(&err);
        return out;
}

static bool get_fixed(busrpc_proxy *p, const char *name, const char *sig, void *ret) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_msg *reply = NULL;
        busrpc_iter v;
        bool good;

        good = busrpc_proxy_get_property(p, W_IFACE, name, sig, &reply, &v, &err) == 0 &&
               busrpc_iter_get_basic(&v, sig[0], ret) == 0;
        busrpc_msg_unref(reply);
        busrpc_error_clear(&err);
        return good;
}

static bool get_list_remote(busrpc_proxy *p, int32_t *out, size_t *n) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_msg *reply = NULL;
        busrpc_iter v;
        const void *items = NULL;
        bool good;

        good = busrpc_proxy_get_property(p, W_IFACE, "List", "ai", &reply, &v, &err) == 0 &&
               busrpc_iter_get_fixed_array(&v, 'i', &items, n) == 0 && *n <= 16;
        if (good)
                memcpy(out, items, *n * sizeof(int32_t));
        busrpc_msg_unref(reply);
        busrpc_error_clear(&err);
        return good;
}

/* Every property in the cache equals what Get answers now. */
static bool cache_agrees(busrpc_property_cache *c, busrpc_proxy *p, const char *when) {
        char *cname = NULL, *rname = get_name_remote(p);
        int32_t ccount = 0, rcount = 0, rlist[16];
        uint32_t cstale = 0, rstale = 0;
        IntArray clist = { NULL, 0 };
        size_t rn = 0;
        bool good = true;

        if (w_cached_name(c, &cname) < 0 || !rname || strcmp(cname, rname) != 0) {
                tap_diag("%s: Name cached '%s', Get '%s'", when, cname ? cname : "-", rname ? rname : "-");
                good = false;
        }
        if (busrpc_property_cache_get(c, W_PROP_COUNT, &ccount) < 0 ||
            !get_fixed(p, "Count", "i", &rcount) || ccount != rcount) {
                tap_diag("%s: Count cached %d, Get %d", when, ccount, rcount);
                good = false;
        }
        if (w_cached_stale(c, &cstale) < 0 || !get_fixed(p, "Stale", "u", &rstale) || cstale != rstale) {
                tap_diag("%s: Stale cached %u, Get %u", when, cstale, rstale);
                good = false;
        }
        if (busrpc_property_cache_get(c, W_PROP_LIST, &clist) < 0 || !get_list_remote(p, rlist, &rn) ||
            clist.n != rn || (rn && memcmp(clist.items, rlist, rn * sizeof(int32_t)) != 0)) {
                tap_diag("%s: List cached %zu items, Get %zu", when, clist.n, rn);
                good = false;
        }
        busrpc_value_clear(&type_int_array, &clist);
        free(cname);
        free(rname);
        return good;
}

static int run_busctl_set(const Mode *m, const char *prop, const char *sig, const char *value) {
        const char *busctl = getenv("BUSCTL") ? getenv("BUSCTL") : "busctl";
        char cmd[1024];

        snprintf(cmd, sizeof(cmd), "%s --address='%s' set-property %s " W_PATH " " W_IFACE " %s %s %s",
                 busctl, m->address, m->busctl_dest, prop, sig, value);
        return typing_sh(cmd);
}

static int run_python_set_name(const Mode *m, const char *value) {
        char cmd[2048];

        snprintf(
                cmd, sizeof(cmd),
                "/usr/bin/python3 -c \"import dbus, sys\n"
                "a = sys.argv[1]\n"
                "c = dbus.connection.Connection(a) if sys.argv[2] == 'peer' else dbus.bus.BusConnection(a)\n"
                "o = c.get_object(None if sys.argv[2] == 'peer' else '" W_NAME "', '" W_PATH
                "', introspect=False)\n"
                "o.Set('" W_IFACE
                "', 'Name', dbus.String(sys.argv[3], variant_level=1), dbus_interface='" PROPS "')\n"
                "\" '%s' %s '%s'",
                m->address, m->peer ? "peer" : "bus", value);
        return typing_sh(cmd);
}

static bool set_name_busrpc(busrpc_proxy *p, const char *value) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_msg *m = NULL;
        busrpc_iter v;
        int r;

        r = busrpc_proxy_set_property_begin(p, W_IFACE, "Name", "s", &m, &v);
        if (r == 0) {
                busrpc_iter_append_basic(&v, 's', &value);
                r = busrpc_proxy_set_property_finish(p, m, &v, &err);
        }
        if (r < 0)
                tap_diag("Set failed: %d %s", r, err.name ? err.name : "");
        busrpc_error_clear(&err);
        return r == 0;
}

/* ------------------------------------------------------------------ */
/* The cases, on either transport                                      */

static void run_mode(Mode *m) {
        busrpc_proxy *pa = NULL, *pb = NULL;
        busrpc_subscription *sub = NULL, *sub_count = NULL;
        busrpc_property_cache *cache = NULL;
        busrpc_error err = BUSRPC_ERROR_INIT;
        /* The floating watch outlives this function (as long as the
         * connection): its record must too. */
        static Seen floating_of[2];
        Seen seen = { 0 }, cached = { 0 }, *floating_p = &floating_of[m->peer];
        CountSeen cnt = { 0 };
        char *s = NULL;
        int32_t list[3] = { 4, -5, 6 };
        uint32_t stale = 0;
        Want w;
        int calls;

        tap_diag("--- %s ---", m->label);
        busrpc_proxy_new(m->a, m->dest, W_PATH, &pa);
        busrpc_proxy_new(m->b, m->dest, W_PATH, &pb);

        is_int(w_on_properties_changed(pa, on_typed, &seen, &sub), 0, "typed watch of the interface");
        is_int(w_on_count_changed(pa, on_count, &cnt, &sub_count), 0, "typed watch of Count");
        is_int(busrpc_proxy_watch_properties(pa, &w_table, on_raw, NULL, floating_p, NULL), 0,
               "floating watch (no handle)");
        is_int(busrpc_proxy_cache_properties(pa, &w_table, on_cache, NULL, &cached, &cache), 0,
               "cache made");
        is_int(w_cached_name(cache, &s), -ENODATA, "cache: -ENODATA before GetAll completed");
        ok(!busrpc_property_cache_is_ready(cache), "cache: not ready yet");
        ok(typing_wait(loop, cache_ready, cache), "cache: GetAll completed");
        is_int(busrpc_property_cache_get_error(cache, NULL), 0, "cache: no error");
        ok(cached.calls == 1 && cached.changed == (BIT(W_PROP_NAME) | BIT(W_PROP_COUNT) | BIT(W_PROP_LIST) |
                                                   BIT(W_PROP_STALE)),
           "cache callback: every property from GetAll");
        is_str(cached.name, "initial", "cache callback: the initial Name");
        ok(cache_agrees(cache, pa, "initial"), "cache agrees with Get at first");

        /* 1. the service changes two properties and notifies */
        seen_reset(&seen), seen_reset(floating_p), seen_reset(&cached);
        is_int(call_method(pb, "Change", "one", 1, NULL, 0, &err), 0, "Change(one, 1) by the other client");
        w = (Want){ &seen, BIT(W_PROP_NAME) | BIT(W_PROP_COUNT), 0, "one", 1, true };
        ok(typing_wait(loop, want_met, &w), "typed watch: Name and Count changed");
        is_str(seen.name, "one", "typed watch: Name value");
        is_int(seen.count, 1, "typed watch: Count value");
        is_int(seen.invalidated, 0, "typed watch: nothing invalidated");
        ok(!(seen.changed & (BIT(W_PROP_LIST) | BIT(W_PROP_STALE))), "typed watch: only what changed");
        {
                int32_t want = 1;
                void *a[2] = { &cnt, &want };
                ok(typing_wait(loop, count_is, a), "per-property watch: Count 1");
        }
        w.seen = floating_p;
        ok(typing_wait(loop, want_met, &w), "floating watch saw it too");
        w.seen = &cached;
        ok(typing_wait(loop, want_met, &w), "cache callback saw it");
        ok(cache_agrees(cache, pa, "after Change"), "cache agrees with Get after Change");

        /* 2. a compound value */
        seen_reset(&seen), seen_reset(&cached);
        is_int(call_method(pb, "SetList", NULL, 0, list, 3, &err), 0, "SetList([4, -5, 6])");
        w = (Want){ &seen, BIT(W_PROP_LIST), 0, NULL, 0, false };
        ok(typing_wait(loop, want_met, &w), "typed watch: List changed");
        ok(seen.n_list == 3 && seen.list[0] == 4 && seen.list[1] == -5 && seen.list[2] == 6,
           "typed watch: int32[] decoded by descriptor (%zu items)", seen.n_list);
        w.seen = &cached;
        ok(typing_wait(loop, want_met, &w), "cache took List");
        ok(cache_agrees(cache, pa, "after SetList"), "cache agrees with Get after SetList");

        /* 3. an invalidates-only property */
        seen_reset(&seen), seen_reset(&cached);
        calls = cnt.calls;
        is_int(call_method(pb, "Bump", NULL, 0, NULL, 0, &err), 0, "Bump() (Stale emits invalidates)");
        w = (Want){ &seen, 0, BIT(W_PROP_STALE), NULL, 0, false };
        ok(typing_wait(loop, want_met, &w), "typed watch: Stale invalidated");
        ok(!(seen.changed & BIT(W_PROP_STALE)), "typed watch: no value for an invalidated property");
        w = (Want){ &cached, BIT(W_PROP_STALE), BIT(W_PROP_STALE), NULL, 0, false };
        ok(typing_wait(loop, want_met, &w), "cache: Stale invalidated, then fetched again with Get");
        is_int(w_cached_stale(cache, &stale), 0, "cache: Stale readable again");
        is_int(stale, 1, "cache: Stale is the new value");
        ok(cache_agrees(cache, pa, "after Bump"), "cache agrees with Get after an invalidation");
        is_int(cnt.calls, calls, "per-property watch of Count: not called for Stale");

        /* 4. Set from the wire: another busrpc client, busctl, python3-dbus */
        seen_reset(&seen), seen_reset(&cached);
        ok(set_name_busrpc(pb, "fromB"), "the other client Sets Name");
        w = (Want){ &seen, BIT(W_PROP_NAME), 0, "fromB", 0, false };
        ok(typing_wait(loop, want_met, &w), "typed watch: Name from another client's Set");
        w.seen = &cached;
        ok(typing_wait(loop, want_met, &w), "cache took it");
        ok(cache_agrees(cache, pa, "after Set"), "cache agrees with Get after a client's Set");

        seen_reset(&seen), seen_reset(&cached);
        is_int(run_busctl_set(m, "Count", "i", "42"), 0, "busctl set-property Count 42");
        w = (Want){ &seen, BIT(W_PROP_COUNT), 0, NULL, 42, true };
        ok(typing_wait(loop, want_met, &w), "typed watch: Count 42 from busctl");
        {
                int32_t want = 42;
                void *a[2] = { &cnt, &want };
                ok(typing_wait(loop, count_is, a), "per-property watch: Count 42 from busctl");
        }
        w.seen = &cached;
        ok(typing_wait(loop, want_met, &w), "cache took it");
        ok(cache_agrees(cache, pa, "after busctl"), "cache agrees with Get after busctl set-property");

        seen_reset(&seen), seen_reset(&cached);
        is_int(run_python_set_name(m, "py"), 0, "python3-dbus Sets Name");
        w = (Want){ &seen, BIT(W_PROP_NAME), 0, "py", 0, false };
        ok(typing_wait(loop, want_met, &w), "typed watch: Name from python3-dbus");
        w.seen = &cached;
        ok(typing_wait(loop, want_met, &w), "cache took it");
        ok(cache_agrees(cache, pa, "after python"), "cache agrees with Get after python3-dbus Set");

        /* 5. a freed watch is silent; the others go on */
        sub = busrpc_subscription_release(sub);
        calls = seen.calls;
        seen_reset(floating_p);
        is_int(call_method(pb, "Change", "two", 2, NULL, 0, &err), 0, "Change(two, 2)");
        w = (Want){ floating_p, BIT(W_PROP_NAME), 0, "two", 0, false };
        ok(typing_wait(loop, want_met, &w), "floating watch: Name two");
        is_int(seen.calls, calls, "freed watch: not called any more");

        ok(strstr(seen.log, "spoof") == NULL, "no spoofed value ever reached the watch");
        busrpc_error_clear(&err);
        busrpc_subscription_release(sub_count);
        busrpc_property_cache_release(cache);
        free(s);
        busrpc_proxy_unref(pa);
        busrpc_proxy_unref(pb);
}

/* ------------------------------------------------------------------ */
/* Bus only: other senders, bad values, errors                         */

static DBusConnection *raw_conn(void) {
        DBusConnection *dc = dbus_connection_open_private(bus.address, NULL);

        if (!dc || !dbus_bus_register(dc, NULL))
                tap_bail("raw connection failed");
        return dc;
}

/* Emit PropertiesChanged(@iface, {Name: @name_sig value, Count: i count,
 * Nope: s, Count again, List: as}, [Nope, Stale]) from @dc to @dest (NULL:
 * broadcast), then a round trip so the bus has routed it. */
static void raw_emit(DBusConnection *dc, const char *dest, const char *iface, const char *name,
                     int32_t count, bool weird) {
        DBusMessage *m = dbus_message_new_signal(W_PATH, PROPS, "PropertiesChanged"), *reply;
        DBusMessageIter it, arr, e, v, inv;
        const char *k, *sv = "x", *nope = "Nope", *stale = "Stale";
        int32_t other = count + 1;

        if (dest)
                dbus_message_set_destination(m, dest);
        dbus_message_iter_init_append(m, &it);
        dbus_message_iter_append_basic(&it, DBUS_TYPE_STRING, &iface);
        dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{sv}", &arr);
        if (name) {
                k = "Name";
                dbus_message_iter_open_container(&arr, DBUS_TYPE_DICT_ENTRY, NULL, &e);
                dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &k);
                if (weird) { /* the wrong type */
                        dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, "i", &v);
                        dbus_message_iter_append_basic(&v, DBUS_TYPE_INT32, &count);
                } else {
                        dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, "s", &v);
                        dbus_message_iter_append_basic(&v, DBUS_TYPE_STRING, &name);
                }
                dbus_message_iter_close_container(&e, &v);
                dbus_message_iter_close_container(&arr, &e);
        }
        if (weird) {
                k = "Count";
                dbus_message_iter_open_container(&arr, DBUS_TYPE_DICT_ENTRY, NULL, &e);
                dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &k);
                dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, "i", &v);
                dbus_message_iter_append_basic(&v, DBUS_TYPE_INT32, &count);
                dbus_message_iter_close_container(&e, &v);
                dbus_message_iter_close_container(&arr, &e);
                k = "Nope";
                dbus_message_iter_open_container(&arr, DBUS_TYPE_DICT_ENTRY, NULL, &e);
                dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &k);
                dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, "s", &v);
                dbus_message_iter_append_basic(&v, DBUS_TYPE_STRING, &sv);
                dbus_message_iter_close_container(&e, &v);
                dbus_message_iter_close_container(&arr, &e);
                k = "Count"; /* twice: the first counts */
                dbus_message_iter_open_container(&arr, DBUS_TYPE_DICT_ENTRY, NULL, &e);
                dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &k);
                dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, "i", &v);
                dbus_message_iter_append_basic(&v, DBUS_TYPE_INT32, &other);
                dbus_message_iter_close_container(&e, &v);
                dbus_message_iter_close_container(&arr, &e);
                k = "List"; /* as, not ai */
                dbus_message_iter_open_container(&arr, DBUS_TYPE_DICT_ENTRY, NULL, &e);
                dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &k);
                dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, "as", &v);
                {
                        DBusMessageIter as;
                        dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "s", &as);
                        dbus_message_iter_append_basic(&as, DBUS_TYPE_STRING, &sv);
                        dbus_message_iter_close_container(&v, &as);
                }
                dbus_message_iter_close_container(&e, &v);
                dbus_message_iter_close_container(&arr, &e);
        }
        dbus_message_iter_close_container(&it, &arr);
        dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "s", &inv);
        if (weird) {
                dbus_message_iter_append_basic(&inv, DBUS_TYPE_STRING, &nope);
                dbus_message_iter_append_basic(&inv, DBUS_TYPE_STRING, &stale);
        }
        dbus_message_iter_close_container(&it, &inv);
        dbus_connection_send(dc, m, NULL);
        dbus_message_unref(m);
        /* A round trip: the bus routed the signal before it answers. */
        m = dbus_message_new_method_call("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                         "org.freedesktop.DBus", "GetId");
        reply = dbus_connection_send_with_reply_and_block(dc, m, 5000, NULL);
        dbus_message_unref(m);
        if (reply)
                dbus_message_unref(reply);
}

static busrpc_conn *conn_a, *conn_b;
static TypingService on_bus;

/* Count read as an enum declaring 1 and 7 only. */
typedef enum w_mode { MODE_ONE = 1, MODE_SEVEN = 7 } w_mode;
static const uint64_t mode_values[] = { 1, 7 };
static const busrpc_type type_mode = {
        .kind = BUSRPC_KIND_ENUM,
        .wire = 'i',
        .size = sizeof(w_mode),
        .signature = "i",
        .name = "w_mode",
        .values = mode_values,
        .n_values = 2,
};
typedef struct ModeProps {
        w_mode mode;
        uint32_t stale;
} ModeProps;
static const busrpc_property_info mode_props[] = {
        { "Count", &type_mode, offsetof(ModeProps, mode), 0 },
        { "Stale", &busrpc_type_uint32, offsetof(ModeProps, stale), 0 },
};
static const busrpc_property_table mode_table = { W_IFACE, mode_props, 2, sizeof(ModeProps) };

typedef struct EnumSeen {
        int calls;
        uint64_t changed, invalidated;
        w_mode mode;
} EnumSeen;

static void on_mode(const busrpc_property_changes *ch, void (*cb)(void), void *userdata) {
        EnumSeen *e = userdata;
        const ModeProps *v = ch->values;

        (void)cb;
        e->calls++;
        e->changed = ch->changed;
        e->invalidated = ch->invalidated;
        if (ch->changed & BIT(0))
                e->mode = v->mode;
}

static bool enum_seen_calls(void *arg) {
        return ((EnumSeen *)arg)->calls > 0;
}

static void test_other_senders(void) {
        busrpc_proxy *pa = NULL, *pw = NULL, *pb = NULL;
        busrpc_subscription *sub = NULL, *subw = NULL;
        busrpc_error err = BUSRPC_ERROR_INIT;
        Seen seen = { 0 }, weird = { 0 };
        DBusConnection *raw = raw_conn();
        Want w;

        busrpc_proxy_new(conn_a, W_NAME, W_PATH, &pa);
        busrpc_proxy_new(conn_b, W_NAME, W_PATH, &pb);
        is_int(w_on_properties_changed(pa, on_typed, &seen, &sub), 0, "watch the service");

        /* A spoof, broadcast and unicast, before a real change: the real
         * one arrives, the spoofs never. */
        raw_emit(raw, NULL, W_IFACE, "spoof", 0, false);
        raw_emit(raw, busrpc_conn_get_unique_name(conn_a), W_IFACE, "spoof-unicast", 0, false);
        is_int(call_method(pb, "Change", "after", 3, NULL, 0, &err), 0, "then a real Change");
        w = (Want){ &seen, BIT(W_PROP_NAME), 0, "after", 0, false };
        ok(typing_wait(loop, want_met, &w), "the real change arrives");
        ok(strstr(seen.log, "spoof") == NULL,
           "spoofed PropertiesChanged from another connection dropped (log %s)", seen.log);

        /* Bad values from the real sender: a service "org.busrpc.Weird". */
        if (dbus_bus_request_name(raw, "org.busrpc.Weird", DBUS_NAME_FLAG_DO_NOT_QUEUE, NULL) !=
            DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER)
                tap_bail("could not own org.busrpc.Weird");
        busrpc_proxy_new(conn_a, "org.busrpc.Weird", W_PATH, &pw);
        is_int(w_on_properties_changed(pw, on_typed, &weird, &subw), 0, "watch org.busrpc.Weird");
        raw_emit(raw, NULL, W_IFACE, "wrong-type", 7, true);
        w = (Want){ &weird, BIT(W_PROP_COUNT), BIT(W_PROP_STALE), NULL, 7, true };
        ok(typing_wait(loop, want_met, &w), "a signal with bad parts still delivers the good ones");
        is_int(weird.calls, 1, "one callback");
        ok(weird.changed == BIT(W_PROP_COUNT),
           "Name of the wrong type, List as 'as', Nope: ignored (changed %#llx)",
           (unsigned long long)weird.changed);
        is_int(weird.count, 7, "Count sent twice: the first counts");
        ok(weird.invalidated == BIT(W_PROP_STALE), "invalidated: Stale; the unknown Nope ignored");
        raw_emit(raw, NULL, "org.busrpc.Other", "other-iface", 0, false);
        raw_emit(raw, NULL, W_IFACE, "last", 0, false);
        w = (Want){ &weird, BIT(W_PROP_NAME), 0, "last", 0, false };
        ok(typing_wait(loop, want_met, &w), "a later good signal arrives");
        is_int(weird.calls, 2, "the other interface's PropertiesChanged was not reported");
        is_str(weird.log, "last;", "only the good Name was seen");

        /* A value the marshaller refuses (an enum value not declared) is
         * ignored as well; the rest of the signal still counts. */
        {
                EnumSeen es = { 0 };
                busrpc_subscription *sube = NULL;

                is_int(busrpc_proxy_watch_properties(pw, &mode_table, on_mode, NULL, &es, &sube), 0,
                       "watch with an enum descriptor");
                raw_emit(raw, NULL, W_IFACE, NULL, 7, true);
                ok(typing_wait(loop, enum_seen_calls, &es), "first signal (Count 7: declared)");
                ok(es.changed == BIT(0) && es.mode == MODE_SEVEN, "the declared value decoded (%d)",
                   (int)es.mode);
                es.calls = 0;
                raw_emit(raw, NULL, W_IFACE, NULL, 5, true);
                ok(typing_wait(loop, enum_seen_calls, &es), "second signal (Count 5 then 6: undeclared)");
                is_int(es.changed, 0, "undeclared enum values ignored");
                ok(es.invalidated == BIT(1), "the invalidation in the same signal still reported");
                busrpc_subscription_release(sube);
        }

        busrpc_subscription_release(subw);
        busrpc_subscription_release(sub);
        busrpc_proxy_unref(pw);
        busrpc_proxy_unref(pa);
        busrpc_proxy_unref(pb);
        busrpc_error_clear(&err);
        dbus_connection_close(raw);
        dbus_connection_unref(raw);
}

static void test_errors(void) {
        busrpc_proxy *p = NULL, *nobody = NULL;
        busrpc_error err = BUSRPC_ERROR_INIT;
        static const char *const names[] = { W_ERR_BUSY, W_ERR_GONE };

        busrpc_proxy_new(conn_b, W_NAME, W_PATH, &p);
        is_int(call_method(p, "Fail", "busy", 0, NULL, 0, &err), -EREMOTEIO, "Fail(busy)");
        is_int(w_fail_error_of(&err), W_FAIL_ERROR_BUSY, "classified: the first declared error");
        ok(w_error_is_busy(&err), "error_is_busy");
        busrpc_error_clear(&err);
        is_int(call_method(p, "Fail", "gone", 0, NULL, 0, &err), -EREMOTEIO, "Fail(gone)");
        is_int(w_fail_error_of(&err), W_FAIL_ERROR_GONE, "classified: the second declared error");
        ok(!w_error_is_busy(&err), "not busy");
        busrpc_error_clear(&err);
        is_int(call_method(p, "Fail", "other", 0, NULL, 0, &err), -EREMOTEIO, "Fail(other)");
        is_str(err.name, W_ERR_OTHER, "an undeclared remote error");
        is_int(w_fail_error_of(&err), W_FAIL_ERROR_NOT_DECLARED, "classified: not declared");
        busrpc_error_clear(&err);

        busrpc_proxy_new(conn_b, "org.busrpc.Nobody", W_PATH, &nobody);
        ok(call_method(nobody, "Fail", "busy", 0, NULL, 0, &err) < 0 && err.name,
           "a call to nobody fails (%s)", err.name ? err.name : "-");
        is_int(w_fail_error_of(&err), W_FAIL_ERROR_NOT_DECLARED, "the bus's error: not declared");
        busrpc_error_clear(&err);
        busrpc_error_set_errno(&err, -ETIMEDOUT);
        is_int(w_fail_error_of(&err), W_FAIL_ERROR_NOT_DECLARED, "a local timeout: not declared");
        busrpc_error_clear(&err);
        is_int(w_fail_error_of(&err), W_FAIL_ERROR_NOT_DECLARED, "no error set: not declared");
        is_int(busrpc_error_classify(NULL, names, 2), 2, "NULL error: n");
        busrpc_error_set(&err, W_ERR_GONE, "x");
        is_int(busrpc_error_classify(&err, NULL, 0), 0, "no names: 0 (= n)");
        busrpc_error_clear(&err);
        busrpc_proxy_unref(nobody);
        busrpc_proxy_unref(p);
}

static void test_bad_arguments(void) {
        static busrpc_property_info many[65];
        static const busrpc_property_info bad_name[] = { { "Bad-Name", &busrpc_type_int32, 0, 0 } };
        static const busrpc_property_info outside[] = { { "Count", &busrpc_type_int32, 8, 0 } };
        static const busrpc_property_info twice[] = {
                { "A", &busrpc_type_int32, 0, 0 },
                { "A", &busrpc_type_int32, 4, 0 },
        };
        static const busrpc_type bad_type = { .kind = BUSRPC_KIND_INT32, .size = 4, .signature = "s" };
        static const busrpc_property_info bad_typed[] = { { "A", &bad_type, 0, 0 } };
        busrpc_property_table t = { W_IFACE, many, 65, 65 * sizeof(int32_t) };
        busrpc_property_cache *c = NULL;
        busrpc_subscription *s = NULL;
        busrpc_proxy *p = NULL;

        busrpc_proxy_new(conn_a, W_NAME, W_PATH, &p);
        for (size_t i = 0; i < 65; i++) {
                static char names[65][8];
                snprintf(names[i], sizeof(names[i]), "P%zu", i);
                many[i] = (busrpc_property_info){ names[i], &busrpc_type_int32, i * sizeof(int32_t), 0 };
        }
        is_int(busrpc_proxy_watch_properties(p, &t, on_raw, NULL, NULL, &s), -E2BIG,
               "65 properties: -E2BIG");
        t.n_props = 64;
        is_int(busrpc_proxy_watch_properties(p, &t, on_raw, NULL, NULL, &s), 0, "64 properties: fine");
        s = busrpc_subscription_release(s);
        t = (busrpc_property_table){ W_IFACE, bad_name, 1, 4 };
        is_int(busrpc_proxy_watch_properties(p, &t, on_raw, NULL, NULL, &s), -EINVAL,
               "bad property name: -EINVAL");
        t = (busrpc_property_table){ W_IFACE, outside, 1, 8 };
        is_int(busrpc_proxy_watch_properties(p, &t, on_raw, NULL, NULL, &s), -EINVAL,
               "field outside the struct");
        t = (busrpc_property_table){ W_IFACE, twice, 2, 8 };
        is_int(busrpc_proxy_cache_properties(p, &t, NULL, NULL, NULL, &c), -EINVAL, "a name twice: -EINVAL");
        t = (busrpc_property_table){ W_IFACE, bad_typed, 1, 4 };
        is_int(busrpc_proxy_watch_properties(p, &t, on_raw, NULL, NULL, &s), -EINVAL,
               "a descriptor whose signature is not its kind's");
        t = (busrpc_property_table){ "no interface", outside, 1, 16 };
        is_int(busrpc_proxy_watch_properties(p, &t, on_raw, NULL, NULL, &s), -EINVAL, "bad interface name");
        is_int(busrpc_proxy_watch_properties(p, NULL, on_raw, NULL, NULL, &s), -EINVAL, "NULL table");
        is_int(busrpc_proxy_watch_properties(p, &w_table, NULL, NULL, NULL, &s), -EINVAL, "NULL callback");
        is_int(busrpc_proxy_watch_property(p, &w_table, 4, w_count_changed_tramp, NULL, NULL, &s), -EINVAL,
               "index past the table");
        is_int(busrpc_proxy_cache_properties(p, &w_table, NULL, NULL, NULL, NULL), -EINVAL,
               "a cache needs its handle");
        ok(s == NULL && c == NULL, "nothing returned on failure");
        is_int(busrpc_property_cache_get(NULL, 0, &t), -EINVAL, "cache_get(NULL)");
        ok(busrpc_property_cache_release(NULL) == NULL, "cache_free(NULL)");
        busrpc_proxy_unref(p);
}

/* Callbacks that free their own cache or watch. */
typedef struct SelfFree {
        int calls;
        busrpc_property_cache *cache;
        busrpc_subscription *sub;
} SelfFree;

static void free_own_cache(const busrpc_property_changes *ch, void (*cb)(void), void *userdata) {
        SelfFree *f = userdata;

        (void)ch, (void)cb;
        f->calls++;
        f->cache = busrpc_property_cache_release(f->cache);
}

static void free_own_watch(const busrpc_property_changes *ch, void (*cb)(void), void *userdata) {
        SelfFree *f = userdata;

        (void)ch, (void)cb;
        f->calls++;
        f->sub = busrpc_subscription_release(f->sub);
}

static bool self_free_called(void *arg) {
        return ((SelfFree *)arg)->calls > 0;
}

static void test_free_in_callback(void) {
        SelfFree fc = { 0 }, fw = { 0 };
        busrpc_proxy *pa = NULL, *pb = NULL;
        busrpc_error err = BUSRPC_ERROR_INIT;
        Seen seen = { 0 };
        busrpc_subscription *sub = NULL;
        Want w;

        busrpc_proxy_new(conn_a, W_NAME, W_PATH, &pa);
        busrpc_proxy_new(conn_b, W_NAME, W_PATH, &pb);
        is_int(busrpc_proxy_cache_properties(pa, &w_table, free_own_cache, NULL, &fc, &fc.cache), 0,
               "a cache");
        is_int(busrpc_proxy_watch_properties(pa, &w_table, free_own_watch, NULL, &fw, &fw.sub), 0,
               "a watch");
        is_int(w_on_properties_changed(pa, on_typed, &seen, &sub), 0, "and a witness");
        ok(typing_wait(loop, self_free_called, &fc), "the cache's callback ran (GetAll) and freed it");
        ok(fc.cache == NULL, "cache gone");
        is_int(call_method(pb, "Change", "x1", 21, NULL, 0, &err), 0, "Change");
        ok(typing_wait(loop, self_free_called, &fw), "the watch's callback ran and freed it");
        is_int(call_method(pb, "Change", "x2", 22, NULL, 0, &err), 0, "Change again");
        w = (Want){ &seen, BIT(W_PROP_NAME), 0, "x2", 0, false };
        ok(typing_wait(loop, want_met, &w), "the witness saw both");
        is_int(fc.calls, 1, "the freed cache was called once");
        is_int(fw.calls, 1, "the freed watch was called once");
        busrpc_subscription_release(sub);
        busrpc_error_clear(&err);
        busrpc_proxy_unref(pa);
        busrpc_proxy_unref(pb);
}

static void test_cache_error(void) {
        static const busrpc_property_info absent_props[] = { { "X", &busrpc_type_int32, 0, 0 } };
        static const busrpc_property_table absent = { "org.busrpc.Absent", absent_props, 1,
                                                      sizeof(int32_t) };
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_property_cache *c = NULL;
        busrpc_proxy *p = NULL;
        int32_t x = 0;

        busrpc_proxy_new(conn_a, W_NAME, W_PATH, &p);
        is_int(busrpc_proxy_cache_properties(p, &absent, NULL, NULL, NULL, &c), 0,
               "cache of an absent interface");
        ok(typing_wait(loop, cache_failed, c), "its GetAll failed");
        ok(busrpc_property_cache_get_error(c, &err) < 0 && err.name, "the error is kept (%s)",
           err.name ? err.name : "-");
        ok(!busrpc_property_cache_is_ready(c), "never ready");
        is_int(busrpc_property_cache_get(c, 0, &x), -ENODATA, "-ENODATA");
        busrpc_error_clear(&err);
        busrpc_property_cache_release(c);
        /* A property declared @emits_changed("false") is not kept: no signal
         * would say it changed. */
        {
                static const busrpc_property_info quiet_props[] = {
                        { "Name", &busrpc_type_string, offsetof(WProps, name), 0 },
                        { "Count", &busrpc_type_int32, offsetof(WProps, count), BUSRPC_PROP_EMITS_FALSE },
                };
                static const busrpc_property_table quiet = { W_IFACE, quiet_props, 2, sizeof(WProps) };
                char *name = NULL;

                is_int(busrpc_proxy_cache_properties(p, &quiet, NULL, NULL, NULL, &c), 0,
                       "cache with an emits-false property");
                ok(typing_wait(loop, cache_ready, c), "ready");
                is_int(busrpc_property_cache_get(c, 0, &name), 0, "Name cached");
                is_int(busrpc_property_cache_get(c, 1, &x), -EOPNOTSUPP,
                       "Count (emits false): -EOPNOTSUPP, never kept");
                free(name);
                c = busrpc_property_cache_release(c);
        }
        /* Freed with its GetAll on the way: the call is cancelled. */
        is_int(busrpc_proxy_cache_properties(p, &w_table, NULL, NULL, NULL, &c), 0, "another cache");
        c = busrpc_property_cache_release(c);
        ok(c == NULL, "freed at once, before its GetAll completed");
        busrpc_proxy_unref(p);
}

/* The service restarts: the cache forgets the old owner's values (all
 * invalidated, -ENODATA) and reads the new owner's; watches follow the
 * new owner. */
static void test_restart(void) {
        const uint64_t all = BIT(W_PROP_NAME) | BIT(W_PROP_COUNT) | BIT(W_PROP_LIST) | BIT(W_PROP_STALE);
        busrpc_property_cache *cache = NULL;
        busrpc_subscription *sub = NULL;
        busrpc_proxy *pa = NULL, *pb = NULL;
        busrpc_error err = BUSRPC_ERROR_INIT;
        Seen seen = { 0 }, cached = { 0 };
        char *name = NULL;
        Want w;

        busrpc_proxy_new(conn_a, W_NAME, W_PATH, &pa);
        is_int(w_on_properties_changed(pa, on_typed, &seen, &sub), 0, "watch");
        is_int(busrpc_proxy_cache_properties(pa, &w_table, on_cache, NULL, &cached, &cache), 0, "cache");
        ok(typing_wait(loop, cache_ready, cache), "cache ready");
        busrpc_proxy_new(conn_b, W_NAME, W_PATH, &pb);
        is_int(call_method(pb, "Change", "before", 9, NULL, 0, &err), 0, "Change(before, 9)");
        w = (Want){ &cached, BIT(W_PROP_NAME), 0, "before", 0, false };
        ok(typing_wait(loop, want_met, &w), "cache took it");
        busrpc_proxy_unref(pb);

        seen_reset(&cached);
        typing_service_stop(&on_bus);
        w = (Want){ &cached, 0, all, NULL, 0, false };
        ok(typing_wait(loop, want_met, &w), "service gone: every cached property invalidated");
        ok(!busrpc_property_cache_is_ready(cache), "cache not ready");
        is_int(w_cached_name(cache, &name), -ENODATA, "cache: -ENODATA while nobody owns the name");

        seen_reset(&cached);
        typing_service_start(&on_bus, bus.address, false);
        ok(typing_wait(loop, cache_ready, cache), "service back: the cache asked it (GetAll)");
        ok(cached.changed == all, "cache callback: every property of the new owner");
        is_str(cached.name, "initial", "the new owner's Name");
        ok(cache_agrees(cache, pa, "after restart"), "cache agrees with Get after the restart");

        busrpc_proxy_new(conn_b, W_NAME, W_PATH, &pb);
        seen_reset(&seen);
        is_int(call_method(pb, "Change", "reborn", 11, NULL, 0, &err), 0,
               "Change(reborn, 11) on the new owner");
        w = (Want){ &seen, BIT(W_PROP_NAME) | BIT(W_PROP_COUNT), 0, "reborn", 11, true };
        ok(typing_wait(loop, want_met, &w), "the watch follows the new owner");
        w.seen = &cached;
        ok(typing_wait(loop, want_met, &w), "so does the cache");
        ok(cache_agrees(cache, pa, "after a change on the new owner"), "cache agrees with Get");

        busrpc_error_clear(&err);
        busrpc_subscription_release(sub);
        busrpc_property_cache_release(cache);
        busrpc_proxy_unref(pa);
        busrpc_proxy_unref(pb);
}

int main(int argc, char **argv) {
        TypingService on_peer = { 0 };
        Mode m;

        typing_serve_main(argc, argv, serve);
        test_bus_start(&bus);
        typing_service_start(&on_bus, bus.address, false);
        typing_service_start(&on_peer, NULL, true);
        if (busrpc_conn_open(bus.address, &conn_a) < 0 || busrpc_conn_open(bus.address, &conn_b) < 0)
                tap_bail("cannot connect to the private bus");
        loop = busrpc_conn_get_loop(conn_a);

        m = (Mode){ .label = "bus", .a = conn_a, .b = conn_b, .dest = W_NAME };
        snprintf(m.address, sizeof(m.address), "%s", bus.address);
        snprintf(m.busctl_dest, sizeof(m.busctl_dest), "%s", W_NAME);
        run_mode(&m);
        TAP_RUN(test_other_senders);
        TAP_RUN(test_errors);
        TAP_RUN(test_bad_arguments);
        TAP_RUN(test_cache_error);
        TAP_RUN(test_free_in_callback);
        TAP_RUN(test_restart);

        m = (Mode){ .label = "peer socket", .peer = true, .dest = NULL };
        if (busrpc_conn_open_peer(on_peer.address, &m.a) < 0 ||
            busrpc_conn_open_peer(on_peer.address, &m.b) < 0)
                tap_bail("cannot connect to the peer socket");
        snprintf(m.address, sizeof(m.address), "%s", on_peer.address);
        snprintf(m.busctl_dest, sizeof(m.busctl_dest), ":1.0");
        run_mode(&m);
        busrpc_conn_unref(m.a);
        busrpc_conn_unref(m.b);

        busrpc_conn_unref(conn_a);
        busrpc_conn_unref(conn_b);
        typing_service_stop(&on_peer);
        typing_service_stop(&on_bus);
        test_bus_stop(&bus);
        dbus_shutdown();
        return tap_done();
}
