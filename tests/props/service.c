/* service.c: the service of tests/test-props.sh, on the descriptor API
 * (no generated code): interface org.busrpc.Props at /org/busrpc/Props
 * and at /org/busrpc/Props/b, one property per emits flag.
 *
 *   props-service (--bus ADDR | --listen ADDR) [--name NAME]
 *
 *   Level  i  readwrite  emits true; Set of the current value: unchanged;
 *                        Set below -1000: refused (org.busrpc.Props.Error.Refused)
 *   Name   s  readwrite  emits true
 *   Count  u  readonly   emits true
 *   Tags   as readwrite  emits invalidates
 *   Quiet  u  readwrite  emits false
 *   Fixed  s  readwrite  emits const
 *   Typed  i  readwrite  emits true, descriptor-driven (get_op / set_op on
 *                        busrpc_type_int32); Set of the current value: unchanged
 *
 *   Mark(s)       busrpc_objects_flush_changes() on the caller's conn's
 *                 objects (a served peer's: its server's), then signal
 *                 Marker(s): what
 *                 was queued before it arrives before the marker
 *   Triple()      Level+1, b's Name, Name, Count+1, Level+1 again: one
 *                 iteration's changes (two objects)
 *   Deferred(i)   Level = i, notify, Marker("deferred") at once: the
 *                 change follows the marker
 *   Flushed(i)    Level = i, notify, busrpc_object_flush_changes(),
 *                 Marker("flushed"): the change precedes the marker
 *   Drop()        b's Name = "gone", notify, unexport b: the change goes
 *                 out before the object does
 *   Quit()
 *
 * Prints "READY" when serving; runs until Quit() or SIGTERM. Built as
 * props-service on the built-in loop, and as props-service-glib,
 * -sd-event and -libuv with that foreign loop running the busrpc loop
 * through its adapter (PROPS_LOOP_GLIB, _SD_EVENT, _LIBUV).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dbus/dbus.h>
#include "busrpc/busrpc.h"
#if defined(PROPS_LOOP_GLIB)
#include "busrpc/busrpc-glib.h"
#elif defined(PROPS_LOOP_SD_EVENT)
#include "busrpc/busrpc-sd-event.h"
#elif defined(PROPS_LOOP_LIBUV)
#include "busrpc/busrpc-libuv.h"
#endif

#define IFACE "org.busrpc.Props"
#define MAX_TAGS 16

typedef struct State State;

typedef struct Props {
        State *st;
        busrpc_object *obj;
        int32_t level;
        char *name;
        uint32_t count;
        char *tags[MAX_TAGS];
        unsigned n_tags;
        uint32_t quiet;
        char *fixed;
        int32_t typed;
} Props;

struct State {
        Props a, b;
        busrpc_conn *conn;    /* on a bus; NULL when serving peers */
        busrpc_objects *objs; /* conn's or the server's (borrowed) */
        busrpc_loop *loop;
};

static int reply_empty(busrpc_call *call) {
        busrpc_msg *reply;
        int r = busrpc_call_reply_new(call, &reply);

        if (r < 0)
                return r;
        return busrpc_msg_send(reply);
}

static int marker(Props *p, const char *what) {
        busrpc_msg *m;
        busrpc_iter it;
        int r = busrpc_object_signal_new(p->obj, "Marker", &m);

        if (r < 0)
                return r;
        busrpc_msg_append(m, &it);
        r = busrpc_iter_append_basic(&it, 's', &what);
        if (r < 0) {
                busrpc_msg_unref(m);
                return r;
        }
        return busrpc_msg_send(m);
}

static int set_string(char **dst, const char *s) {
        char *copy = strdup(s);

        if (!copy)
                return -ENOMEM;
        free(*dst);
        *dst = copy;
        return 0;
}

static int sk_mark(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        Props *p = self;
        const char *s;
        int r;

        (void)ops;
        if (busrpc_iter_get_basic(args, 's', &s) < 0)
                return -EBADMSG;
        r = busrpc_objects_flush_changes(busrpc_conn_get_objects(busrpc_call_get_conn(call)));
        if (r >= 0)
                r = marker(p, s);
        return r < 0 ? r : reply_empty(call);
}

static int sk_triple(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        State *st = ((Props *)self)->st;
        int r;

        (void)args, (void)ops;
        st->a.level++;
        r = busrpc_object_notify(st->a.obj, "Level");
        if (r >= 0 && (r = set_string(&st->b.name, "b-triple")) >= 0)
                r = busrpc_object_notify(st->b.obj, "Name");
        if (r >= 0 && (r = set_string(&st->a.name, "triple")) >= 0)
                r = busrpc_object_notify(st->a.obj, "Name");
        st->a.count++;
        if (r >= 0)
                r = busrpc_object_notify(st->a.obj, "Count");
        st->a.level++;
        if (r >= 0)
                r = busrpc_object_notify(st->a.obj, "Level");
        return r < 0 ? r : reply_empty(call);
}

static int level_then_marker(busrpc_call *call, busrpc_iter *args, Props *p, bool flush) {
        int32_t v;
        int r;

        if (busrpc_iter_get_basic(args, 'i', &v) < 0)
                return -EBADMSG;
        p->level = v;
        r = busrpc_object_notify(p->obj, "Level");
        if (r >= 0 && flush)
                r = busrpc_object_flush_changes(p->obj);
        if (r >= 0)
                r = marker(p, flush ? "flushed" : "deferred");
        return r < 0 ? r : reply_empty(call);
}

static int sk_deferred(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        (void)ops;
        return level_then_marker(call, args, self, false);
}

static int sk_flushed(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        (void)ops;
        return level_then_marker(call, args, self, true);
}

static int sk_drop(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        Props *b = &((Props *)self)->st->b;
        int r;

        (void)args, (void)ops;
        if (!b->obj)
                return busrpc_call_fail(call, BUSRPC_ERROR_FAILED, "already dropped");
        r = set_string(&b->name, "gone");
        if (r >= 0)
                r = busrpc_object_notify(b->obj, "Name");
        b->obj = busrpc_object_release(b->obj);
        return r < 0 ? r : reply_empty(call);
}

static int sk_quit(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        (void)args, (void)ops;
        busrpc_loop_quit(((Props *)self)->st->loop, 0);
        return reply_empty(call);
}

static int get_level(busrpc_iter *v, const void *ops, void *self, busrpc_error *err) {
        (void)ops, (void)err;
        return busrpc_iter_append_basic(v, 'i', &((Props *)self)->level);
}

static int set_level(busrpc_iter *v, const void *ops, void *self, busrpc_error *err) {
        Props *p = self;
        int32_t n;
        int r = busrpc_iter_get_basic(v, 'i', &n);

        (void)ops;
        if (r < 0)
                return r;
        if (n < -1000)
                return busrpc_error_set(err, IFACE ".Error.Refused", "%d is too low", n);
        if (n == p->level)
                return BUSRPC_UNCHANGED;
        p->level = n;
        return 0;
}

static int get_name(busrpc_iter *v, const void *ops, void *self, busrpc_error *err) {
        (void)ops, (void)err;
        return busrpc_iter_append_basic(v, 's', &((Props *)self)->name);
}

static int set_name(busrpc_iter *v, const void *ops, void *self, busrpc_error *err) {
        const char *s;
        int r = busrpc_iter_get_basic(v, 's', &s);

        (void)ops, (void)err;
        return r < 0 ? r : set_string(&((Props *)self)->name, s);
}

static int get_count(busrpc_iter *v, const void *ops, void *self, busrpc_error *err) {
        (void)ops, (void)err;
        return busrpc_iter_append_basic(v, 'u', &((Props *)self)->count);
}

static int get_tags(busrpc_iter *v, const void *ops, void *self, busrpc_error *err) {
        Props *p = self;
        busrpc_iter arr;
        int r = busrpc_iter_open(v, BUSRPC_TYPE_ARRAY, "s", &arr);

        (void)ops, (void)err;
        for (unsigned i = 0; r >= 0 && i < p->n_tags; i++)
                r = busrpc_iter_append_basic(&arr, 's', &p->tags[i]);
        if (r < 0) {
                busrpc_iter_abandon(v, &arr);
                return r;
        }
        return busrpc_iter_close(v, &arr);
}

static int set_tags(busrpc_iter *v, const void *ops, void *self, busrpc_error *err) {
        Props *p = self;
        char *tags[MAX_TAGS];
        unsigned n = 0;
        busrpc_iter arr;
        int r = busrpc_iter_recurse(v, &arr);

        (void)ops;
        while (r >= 0 && !busrpc_iter_at_end(&arr)) {
                const char *s;
                if (n == MAX_TAGS) {
                        r = busrpc_error_set(err, BUSRPC_ERROR_INVALID_ARGS, "at most %d tags", MAX_TAGS);
                        break;
                }
                r = busrpc_iter_get_basic(&arr, 's', &s);
                if (r >= 0 && !(tags[n++] = strdup(s)))
                        r = -ENOMEM;
        }
        if (r < 0) {
                while (n > 0)
                        free(tags[--n]);
                return r;
        }
        for (unsigned i = 0; i < p->n_tags; i++)
                free(p->tags[i]);
        memcpy(p->tags, tags, n * sizeof(tags[0]));
        p->n_tags = n;
        return 0;
}

static int get_quiet(busrpc_iter *v, const void *ops, void *self, busrpc_error *err) {
        (void)ops, (void)err;
        return busrpc_iter_append_basic(v, 'u', &((Props *)self)->quiet);
}

static int set_quiet(busrpc_iter *v, const void *ops, void *self, busrpc_error *err) {
        (void)ops, (void)err;
        return busrpc_iter_get_basic(v, 'u', &((Props *)self)->quiet);
}

static int get_fixed(busrpc_iter *v, const void *ops, void *self, busrpc_error *err) {
        (void)ops, (void)err;
        return busrpc_iter_append_basic(v, 's', &((Props *)self)->fixed);
}

static int set_fixed(busrpc_iter *v, const void *ops, void *self, busrpc_error *err) {
        const char *s;
        int r = busrpc_iter_get_basic(v, 's', &s);

        (void)ops, (void)err;
        return r < 0 ? r : set_string(&((Props *)self)->fixed, s);
}

static int get_typed(const void *ops, void *self, void *value, busrpc_error *err) {
        (void)ops, (void)err;
        *(int32_t *)value = ((Props *)self)->typed;
        return 0;
}

static int set_typed(const void *ops, void *self, const void *value, busrpc_error *err) {
        Props *p = self;
        int32_t n = *(const int32_t *)value;

        (void)ops, (void)err;
        if (n == p->typed)
                return BUSRPC_UNCHANGED;
        p->typed = n;
        return 0;
}

static const busrpc_method_desc methods[] = {
        { .name = "Mark", .in_sig = "s", .out_sig = "", .fn = sk_mark },
        { .name = "Triple", .in_sig = "", .out_sig = "", .fn = sk_triple },
        { .name = "Deferred", .in_sig = "i", .out_sig = "", .fn = sk_deferred },
        { .name = "Flushed", .in_sig = "i", .out_sig = "", .fn = sk_flushed },
        { .name = "Drop", .in_sig = "", .out_sig = "", .fn = sk_drop },
        { .name = "Quit", .in_sig = "", .out_sig = "", .fn = sk_quit },
};

#define RW (BUSRPC_PROP_READ | BUSRPC_PROP_WRITE)
static const busrpc_property_desc properties[] = {
        { .name = "Level", .sig = "i", .get = get_level, .set = set_level, .flags = RW | BUSRPC_PROP_EMITS_TRUE },
        { .name = "Name", .sig = "s", .get = get_name, .set = set_name, .flags = RW | BUSRPC_PROP_EMITS_TRUE },
        { .name = "Count", .sig = "u", .get = get_count, .flags = BUSRPC_PROP_READ | BUSRPC_PROP_EMITS_TRUE },
        { .name = "Tags", .sig = "as", .get = get_tags, .set = set_tags, .flags = RW | BUSRPC_PROP_EMITS_INVALIDATES },
        { .name = "Quiet", .sig = "u", .get = get_quiet, .set = set_quiet, .flags = RW | BUSRPC_PROP_EMITS_FALSE },
        { .name = "Fixed", .sig = "s", .get = get_fixed, .set = set_fixed, .flags = RW | BUSRPC_PROP_EMITS_CONST },
        { .name = "Typed", .sig = "i", .flags = RW | BUSRPC_PROP_EMITS_TRUE, .type = &busrpc_type_int32,
          .get_op = get_typed, .set_op = set_typed },
};

static const busrpc_signal_desc signals[] = {
        { .name = "Marker", .sig = "s" },
};

static const busrpc_interface_desc props_iface = {
        .name = IFACE,
        .methods = methods,
        .n_methods = sizeof(methods) / sizeof(methods[0]),
        .properties = properties,
        .n_properties = sizeof(properties) / sizeof(properties[0]),
        .signals = signals,
        .n_signals = 1,
};

/* Run @l until a quit (Quit(), SIGTERM): by itself, or under a foreign
 * loop through its adapter, which forwards the quit. */
#if defined(PROPS_LOOP_GLIB)
static void on_quit(busrpc_glib_source *s, int code, void *userdata) {
        (void)s, (void)code;
        g_main_loop_quit(userdata);
}

static int run(busrpc_loop *l) {
        GMainLoop *main = g_main_loop_new(NULL, FALSE);
        busrpc_glib_source *src;
        int r = busrpc_glib_attach(l, NULL, G_PRIORITY_DEFAULT, &src);

        if (r >= 0) {
                busrpc_glib_set_quit(src, on_quit, main);
                g_main_loop_run(main);
                busrpc_glib_detach(src);
        }
        g_main_loop_unref(main);
        return r;
}
#elif defined(PROPS_LOOP_SD_EVENT)
static void on_quit(busrpc_sd_event *a, int code, void *userdata) {
        (void)a;
        sd_event_exit(userdata, code);
}

static int run(busrpc_loop *l) {
        sd_event *e = NULL;
        busrpc_sd_event *a;
        int r = sd_event_new(&e);

        if (r >= 0)
                r = busrpc_sd_event_attach(l, e, 0, &a);
        if (r >= 0) {
                busrpc_sd_event_set_quit(a, on_quit, e);
                r = sd_event_loop(e);
                busrpc_sd_event_detach(a);
        }
        sd_event_unref(e);
        return r;
}
#elif defined(PROPS_LOOP_LIBUV)
static void on_quit(busrpc_uv *a, int code, void *userdata) {
        (void)a, (void)code;
        uv_stop(userdata);
}

static int run(busrpc_loop *l) {
        uv_loop_t uv;
        busrpc_uv *a;
        int r = uv_loop_init(&uv);

        if (r < 0)
                return r;
        r = busrpc_uv_attach(l, &uv, &a);
        if (r >= 0) {
                busrpc_uv_set_quit(a, on_quit, &uv);
                uv_run(&uv, UV_RUN_DEFAULT);
                busrpc_uv_detach(a);
                uv_run(&uv, UV_RUN_DEFAULT); /* the adapter's handles close */
        }
        uv_loop_close(&uv);
        return r;
}
#else
static int run(busrpc_loop *l) {
        return busrpc_loop_run(l);
}
#endif

static int props_init(State *st, Props *p, const char *name) {
        p->st = st;
        p->name = strdup(name);
        p->fixed = strdup("fixed");
        return p->name && p->fixed ? 0 : -ENOMEM;
}

static void props_clear(Props *p) {
        busrpc_object_release(p->obj);
        free(p->name);
        free(p->fixed);
        for (unsigned i = 0; i < p->n_tags; i++)
                free(p->tags[i]);
}

int main(int argc, char **argv) {
        const char *bus = NULL, *listen_addr = NULL, *name = NULL;
        static const int ops;
        busrpc_server *srv = NULL;
        busrpc_name *nh = NULL;
        State st = { 0 };
        int r;

        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--bus") == 0 && i + 1 < argc)
                        bus = argv[++i];
                else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
                        listen_addr = argv[++i];
                else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
                        name = argv[++i];
                else {
                        fprintf(stderr, "usage: %s (--bus ADDR | --listen ADDR) [--name NAME]\n", argv[0]);
                        return 2;
                }
        }
        if (!bus == !listen_addr) {
                fprintf(stderr, "props-service: one of --bus and --listen\n");
                return 2;
        }
        if (listen_addr) {
                r = busrpc_server_new(listen_addr, &srv);
                if (r >= 0) {
                        st.objs = busrpc_server_get_objects(srv);
                        st.loop = busrpc_loop_ref(busrpc_server_get_loop(srv));
                }
        } else {
                r = busrpc_conn_open(bus, &st.conn);
                if (r >= 0) {
                        st.objs = busrpc_conn_get_objects(st.conn);
                        st.loop = busrpc_loop_ref(busrpc_conn_get_loop(st.conn));
                }
        }
        if (r < 0) {
                fprintf(stderr, "props-service: %s\n", strerror(-r));
                return 1;
        }
        r = props_init(&st, &st.a, "a");
        if (r >= 0)
                r = props_init(&st, &st.b, "b");
        if (r >= 0)
                r = busrpc_object_export(st.objs, "/org/busrpc/Props", &props_iface, &ops, &st.a, &st.a.obj);
        if (r >= 0)
                r = busrpc_object_export(st.objs, "/org/busrpc/Props/b", &props_iface, &ops, &st.b,
                                         &st.b.obj);
        if (r >= 0 && name && srv)
                r = busrpc_server_request_name(srv, name, &nh);
        else if (r >= 0 && name)
                r = busrpc_conn_request_name(st.conn, name, 0, NULL, NULL, &nh);
        if (r < 0) {
                fprintf(stderr, "props-service: %s\n", strerror(-r));
                return 1;
        }
        printf("READY\n");
        fflush(stdout);
        r = busrpc_loop_handle_signals(st.loop);
        if (r >= 0)
                r = run(st.loop);
        props_clear(&st.a);
        props_clear(&st.b);
        busrpc_name_release(nh);
        busrpc_conn_unref(st.conn);
        busrpc_server_free(srv);
        busrpc_loop_unref(st.loop);
        dbus_shutdown();
        return r < 0 ? 1 : 0;
}
