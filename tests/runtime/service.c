/* service.c: a small busrpc service for the runtime tests, written against
 * the descriptor API directly (no generated code): interface
 * org.busrpc.Test at /org/busrpc/Test.
 *
 *   runtime-service [--bus ADDR | --listen ADDR] [--name NAME] [--replace]
 *                   [--allow-replacement] [--objects N] [--allow-uid UID]
 *                   [--object-manager]
 *
 * Prints "READY <address or unique name>" when serving, "ACQUIRED n" /
 * "LOST n" on name changes; runs until SIGTERM/SIGINT (exit 0) or Quit().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dbus/dbus.h>
#include "busrpc/busrpc.h"

#define IFACE "org.busrpc.Test"

typedef struct State {
        busrpc_object *obj;
        uint32_t count;
        char *secret;
        busrpc_call *held[64];
        unsigned n_held;
        unsigned resets;
        busrpc_loop *loop;
} State;

typedef struct Ops {
        int dummy;
} Ops;

static int reply_empty(busrpc_call *call) {
        busrpc_msg *reply;
        int r = busrpc_call_reply_new(call, &reply);
        if (r < 0)
                return r;
        return busrpc_msg_send(reply);
}

static int sk_add(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        int32_t a, b, sum;
        busrpc_msg *reply;
        busrpc_iter out;
        int r;

        if (busrpc_iter_get_basic(args, 'i', &a) < 0 || busrpc_iter_get_basic(args, 'i', &b) < 0)
                return -EBADMSG;
        sum = a + b;
        r = busrpc_call_reply_new(call, &reply);
        if (r < 0)
                return r;
        busrpc_msg_append(reply, &out);
        busrpc_iter_append_basic(&out, 'i', &sum);
        return busrpc_msg_send(reply);
}

static int sk_echo(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        const char *s;
        busrpc_msg *reply;
        busrpc_iter out;
        int r;

        if (busrpc_iter_get_basic(args, 's', &s) < 0)
                return -EBADMSG;
        r = busrpc_call_reply_new(call, &reply);
        if (r < 0)
                return r;
        busrpc_msg_append(reply, &out);
        busrpc_iter_append_basic(&out, 's', &s);
        return busrpc_msg_send(reply);
}

static int deferred_reply(busrpc_source *s, void *userdata) {
        busrpc_call *call = userdata;
        reply_empty(call);
        busrpc_call_unref(call);
        busrpc_source_release(s);
        return 0;
}

/* Defer(u ms): reply after @ms; 0 = never (the call is kept until exit). */
static int sk_defer(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        State *st = self;
        uint32_t ms;
        busrpc_source *src;

        busrpc_iter_get_basic(args, 'u', &ms);
        if (ms == 0) {
                if (st->n_held >= 64)
                        return busrpc_call_fail(call, IFACE ".Error.Busy", "too many held calls");
                st->held[st->n_held++] = busrpc_call_ref(call);
                return BUSRPC_DEFER;
        }
        if (busrpc_loop_add_timer(st->loop, (uint64_t)ms * 1000, false, deferred_reply, busrpc_call_ref(call),
                                  &src) < 0)
                return -ENOMEM;
        return BUSRPC_DEFER;
}

static int sk_fail(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        return busrpc_call_fail(call, IFACE ".Error.Custom", "failed on purpose: %d", 42);
}

static int sk_notimpl(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        return -EOPNOTSUPP;
}

static int sk_whoami(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        uid_t uid;
        pid_t pid;
        uint32_t u, p;
        busrpc_msg *reply;
        busrpc_iter out;
        int r;

        if (busrpc_call_get_uid(call, &uid) < 0 || busrpc_call_get_pid(call, &pid) < 0)
                return busrpc_call_fail(call, IFACE ".Error.NoData", "caller unknown");
        u = (uint32_t)uid;
        p = (uint32_t)pid;
        r = busrpc_call_reply_new(call, &reply);
        if (r < 0)
                return r;
        busrpc_msg_append(reply, &out);
        busrpc_iter_append_basic(&out, 'u', &u);
        busrpc_iter_append_basic(&out, 'u', &p);
        return busrpc_msg_send(reply);
}

static int sk_emit(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        State *st = self;
        const char *s;
        busrpc_msg *sig;
        busrpc_iter out;
        int r;

        busrpc_iter_get_basic(args, 's', &s);
        r = busrpc_object_signal_new(st->obj, "Tick", &sig);
        if (r < 0)
                return r;
        busrpc_msg_append(sig, &out);
        busrpc_iter_append_basic(&out, 's', &s);
        r = busrpc_msg_send(sig);
        if (r < 0)
                return r;
        st->count++;
        busrpc_object_notify(st->obj, "Count");
        /* Two signals, as the tests expect: one iteration's changes would
         * otherwise go out as one. */
        busrpc_object_flush_changes(st->obj);
        busrpc_object_notify(st->obj, "Invalid");
        return reply_empty(call);
}

static int sk_reset(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        State *st = self;
        st->resets++;
        return reply_empty(call); /* dropped by the runtime: @noreply */
}

static int sk_resets(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        State *st = self;
        busrpc_msg *reply;
        busrpc_iter out;
        uint32_t n = st->resets;
        int r = busrpc_call_reply_new(call, &reply);
        if (r < 0)
                return r;
        busrpc_msg_append(reply, &out);
        busrpc_iter_append_basic(&out, 'u', &n);
        return busrpc_msg_send(reply);
}

static int sk_quit(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        State *st = self;
        busrpc_loop_quit(st->loop, 3);
        return reply_empty(call);
}

static int get_name(busrpc_iter *v, const void *ops, void *self, busrpc_error *err) {
        const char *s = "test-service";
        return busrpc_iter_append_basic(v, 's', &s);
}

static int get_count(busrpc_iter *v, const void *ops, void *self, busrpc_error *err) {
        State *st = self;
        return busrpc_iter_append_basic(v, 'u', &st->count);
}

static int set_count(busrpc_iter *v, const void *ops, void *self, busrpc_error *err) {
        State *st = self;
        uint32_t n;
        int r = busrpc_iter_get_basic(v, 'u', &n);
        if (r < 0)
                return r;
        if (n == 13)
                return busrpc_error_set(err, IFACE ".Error.Unlucky", "13 is not allowed");
        st->count = n;
        return 0;
}

static int set_secret(busrpc_iter *v, const void *ops, void *self, busrpc_error *err) {
        State *st = self;
        const char *s;
        int r = busrpc_iter_get_basic(v, 's', &s);
        if (r < 0)
                return r;
        free(st->secret);
        st->secret = strdup(s);
        return 0;
}

static int get_missing(busrpc_iter *v, const void *ops, void *self, busrpc_error *err) {
        return -EOPNOTSUPP;
}

static const busrpc_method_desc methods[] = {
        { "Add", "ii", "i", sk_add, 0, NULL, NULL, NULL },
        { "Echo", "s", "s", sk_echo, 0, NULL, NULL, NULL },
        { "Defer", "u", "", sk_defer, 0, NULL, NULL, NULL },
        { "Fail", "", "", sk_fail, 0, NULL, NULL, NULL },
        { "NotImpl", "", "", sk_notimpl, 0, NULL, NULL, NULL },
        { "Whoami", "", "uu", sk_whoami, 0, NULL, NULL, NULL },
        { "Emit", "s", "", sk_emit, 0, NULL, NULL, NULL },
        { "Reset", "", "", sk_reset, BUSRPC_METHOD_NOREPLY, NULL, NULL, NULL },
        { "Resets", "", "u", sk_resets, 0, NULL, NULL, NULL },
        { "Quit", "", "", sk_quit, 0, NULL, NULL, NULL },
};

static const busrpc_property_desc properties[] = {
        { "Name", "s", get_name, NULL, BUSRPC_PROP_READ | BUSRPC_PROP_EMITS_CONST, NULL, NULL, NULL },
        { "Count", "u", get_count, set_count, BUSRPC_PROP_READ | BUSRPC_PROP_WRITE, NULL, NULL, NULL },
        { "Secret", "s", NULL, set_secret, BUSRPC_PROP_WRITE, NULL, NULL, NULL },
        { "Missing", "s", get_missing, NULL, BUSRPC_PROP_READ, NULL, NULL, NULL },
        { "Invalid", "u", get_count, NULL, BUSRPC_PROP_READ | BUSRPC_PROP_EMITS_INVALIDATES, NULL, NULL, NULL },
};

static const busrpc_signal_desc signals[] = {
        { "Tick", "s", NULL },
};

static const busrpc_interface_desc test_iface = {
        .name = IFACE,
        .xml = NULL, /* built from the tables */
        .methods = methods,
        .n_methods = sizeof(methods) / sizeof(methods[0]),
        .properties = properties,
        .n_properties = sizeof(properties) / sizeof(properties[0]),
        .signals = signals,
        .n_signals = 1,
};

static const busrpc_method_desc leaf_methods[] = {
        { "Echo", "s", "s", sk_echo, 0, NULL, NULL, NULL },
};
static const busrpc_interface_desc leaf_iface = {
        .name = "org.busrpc.Leaf",
        .methods = leaf_methods,
        .n_methods = 1,
};

static void on_name(busrpc_conn *c, const char *name, bool owned, void *userdata) {
        printf("%s %s\n", owned ? "ACQUIRED" : "LOST", name);
        fflush(stdout);
}

int main(int argc, char **argv) {
        const char *bus = NULL, *listen_addr = NULL, *name = NULL;
        unsigned flags = 0, n_objects = 0;
        bool om = false;
        long allow_uid = -1;
        static const Ops ops;
        State st = { 0 };
        busrpc_conn *c = NULL; /* on a bus; NULL when serving peers */
        busrpc_server *srv = NULL;
        busrpc_objects *reg;
        busrpc_name *nh = NULL;
        busrpc_object **objs = NULL, *omh = NULL;
        int r;

        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--bus") == 0 && i + 1 < argc)
                        bus = argv[++i];
                else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
                        listen_addr = argv[++i];
                else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
                        name = argv[++i];
                else if (strcmp(argv[i], "--objects") == 0 && i + 1 < argc)
                        n_objects = (unsigned)atoi(argv[++i]);
                else if (strcmp(argv[i], "--allow-uid") == 0 && i + 1 < argc)
                        allow_uid = atol(argv[++i]);
                else if (strcmp(argv[i], "--replace") == 0)
                        flags |= BUSRPC_NAME_REPLACE_EXISTING;
                else if (strcmp(argv[i], "--allow-replacement") == 0)
                        flags |= BUSRPC_NAME_ALLOW_REPLACEMENT;
                else if (strcmp(argv[i], "--object-manager") == 0)
                        om = true;
                else {
                        fprintf(stderr, "usage: %s [--bus ADDR|--listen ADDR] [--name N] ...\n", argv[0]);
                        return 2;
                }
        }
        if (listen_addr) {
                r = busrpc_server_new(listen_addr, &srv);
                if (r < 0) {
                        fprintf(stderr, "server: %s\n", strerror(-r));
                        return 1;
                }
                if (allow_uid >= 0)
                        busrpc_server_allow_uid(srv, (uid_t)allow_uid);
                reg = busrpc_server_get_objects(srv);
                st.loop = busrpc_loop_ref(busrpc_server_get_loop(srv));
        } else {
                r = busrpc_conn_open(bus ? bus : "session", &c);
                if (r < 0) {
                        fprintf(stderr, "connect: %s\n", strerror(-r));
                        return 1;
                }
                reg = busrpc_conn_get_objects(c);
                st.loop = busrpc_loop_ref(busrpc_conn_get_loop(c));
        }
        if (om && busrpc_objects_add_manager(reg, "/org/busrpc", &omh) < 0)
                return 1;
        r = busrpc_object_export(reg, "/org/busrpc/Test", &test_iface, &ops, &st, &st.obj);
        if (r < 0) {
                fprintf(stderr, "export: %s\n", strerror(-r));
                return 1;
        }
        objs = calloc(n_objects + 1, sizeof(*objs));
        for (unsigned i = 0; i < n_objects; i++) {
                char path[128];
                snprintf(path, sizeof(path), "/org/busrpc/Test/objs/obj%u", i);
                r = busrpc_object_export(reg, path, &leaf_iface, &ops, &st, &objs[i]);
                if (r < 0) {
                        fprintf(stderr, "export %s: %s\n", path, strerror(-r));
                        return 1;
                }
        }
        if (name && srv) {
                r = busrpc_server_request_name(srv, name, &nh);
                if (r < 0) {
                        fprintf(stderr, "request name: %s\n", strerror(-r));
                        return 1;
                }
        } else if (name) {
                r = busrpc_conn_request_name(c, name, flags, on_name, NULL, &nh);
                if (r < 0) {
                        fprintf(stderr, "request name: %s\n", strerror(-r));
                        return 1;
                }
        }
        printf("READY %s\n", srv ? busrpc_server_get_address(srv) : busrpc_conn_get_unique_name(c));
        fflush(stdout);
        /* a server owns its name at once: say so after READY, where a bus's callback would */
        if (name && srv)
                on_name(NULL, name, true, NULL);
        r = busrpc_loop_handle_signals(st.loop);
        if (r >= 0)
                r = busrpc_loop_run(st.loop);
        fprintf(stderr, "service: loop returned %d\n", r);

        for (unsigned i = 0; i < st.n_held; i++)
                busrpc_call_unref(st.held[i]);
        for (unsigned i = 0; i < n_objects; i++)
                busrpc_object_release(objs[i]);
        free(objs);
        busrpc_object_release(omh);
        busrpc_object_release(st.obj);
        busrpc_name_release(nh);
        busrpc_conn_unref(c);
        busrpc_server_free(srv);
        busrpc_loop_unref(st.loop);
        free(st.secret);
        dbus_shutdown();
        return r < 0 ? 1 : r;
}
