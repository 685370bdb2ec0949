/* fuzz-dispatch.c: libFuzzer target over the serving side of libbusrpc.
 *
 * Each input is a D-Bus message in one of the two forms of fuzz-msg.h (a
 * whole marshalled message, or a selected call's signature and body), made
 * a message by dbus_message_demarshal() and so validated by libdbus as a
 * received message is. A real libdbus client sends it over a real unix socket to a busrpc_server in this
 * process. The server serves the generated skeletons of fuzz/fuzz.idl (an
 * interface with every type as input, output and property) at /fz and
 * /fz/child, so the message goes through the runtime's filter, the bus
 * driver emulation, object dispatch, Introspect, Properties Get/Set/GetAll
 * and the generated unmarshalling, and the replies are produced and sent.
 * Setters announce their property and Fire emits a signal, so match rules
 * added by earlier inputs (AddMatch) are parsed and applied.
 *
 * After each message the client pings the server and runs both ends until
 * the Ping reply arrives: messages are served in order, so by then the
 * fuzzed one has been handled. The oracle, beyond the sanitizers: a method
 * call that expects a reply got one (a reply or an error) before the Ping
 * reply, and the server is still serving. A server that closes the
 * connection is allowed (that is a peer's fault); the client reconnects.
 *
 * Built by fuzz/local.mk with clang -fsanitize=fuzzer,address,undefined
 * over the runtime's own sources; `make fuzz` runs it, tests/test-fuzz.sh
 * runs it for 20 seconds and runs the inputs kept in fuzz/regress/.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dbus/dbus.h>

#include "fz.h"
#include "fuzz-msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PING_SERIAL_BASE 0x7ff00000u

static void die(const char *what) {
        fprintf(stderr, "fuzz-dispatch: %s\n", what);
        abort();
}

/* ---- the served object: every op does something with its inputs ---- */

typedef struct State {
        fz_string_array tags;
        busrpc_variant *any;
        fz_basics snapshot;
        fz_string_variant_map settings;
        int32_t secret;
        char *last_fire;
} State;

static State state;
/* /fz: setters notify, Fire emits Changed (to the peers whose match rules,
 * set by earlier inputs through AddMatch, accept it). */
static busrpc_object *obj;

static char *dup_str(const char *s) {
        return strdup(s ? s : "");
}

static int basics_copy(fz_basics *to, const fz_basics *from) {
        fz_basics_init(to);
        *to = *from;
        to->s = dup_str(from->s);
        to->o = dup_str(from->o && *from->o ? from->o : "/");
        to->g = dup_str(from->g);
        to->v = from->v ? busrpc_variant_ref(from->v) : NULL;
        if (!to->v && busrpc_variant_new_int32(0, &to->v) < 0)
                to->v = NULL;
        if (!to->s || !to->o || !to->g || !to->v) {
                fz_basics_clear(to);
                return -ENOMEM;
        }
        return 0;
}

static int strings_copy(fz_string_array *to, char *const *items, size_t n) {
        memset(to, 0, sizeof(*to));
        if (n == 0)
                return 0;
        to->items = calloc(n, sizeof(*to->items));
        if (!to->items)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                to->items[i] = dup_str(items[i]);
                to->n = i + 1;
                if (!to->items[i]) {
                        fz_string_array_clear(to);
                        return -ENOMEM;
                }
        }
        return 0;
}

static int variant_map_copy(fz_string_variant_map *to, const fz_string_variant_map *from) {
        memset(to, 0, sizeof(*to));
        if (from->n == 0)
                return 0;
        to->keys = calloc(from->n, sizeof(*to->keys));
        to->values = calloc(from->n, sizeof(*to->values));
        if (!to->keys || !to->values) {
                free(to->keys);
                free(to->values);
                to->keys = NULL;
                to->values = NULL;
                return -ENOMEM;
        }
        for (size_t i = 0; i < from->n; i++) {
                to->keys[i] = dup_str(from->keys[i]);
                to->values[i] = busrpc_variant_ref(from->values[i]);
                to->n = i + 1;
                if (!to->keys[i]) {
                        fz_string_variant_map_clear(to);
                        return -ENOMEM;
                }
        }
        return 0;
}

static int op_basic(void *self, busrpc_call *call, bool b, uint8_t y, int16_t n, uint16_t q, int32_t i, uint32_t u,
                    int64_t x, uint64_t t, double d, const char *s, const char *path, const char *g,
                    busrpc_variant *v, bool *ob, uint8_t *oy, int16_t *on, uint16_t *oq, int32_t *oi, uint32_t *ou,
                    int64_t *ox, uint64_t *ot, double *od, char **os, char **oo, char **og, busrpc_variant **ov) {
        *ob = b;
        *oy = y;
        *on = n;
        *oq = q;
        *oi = i;
        *ou = u;
        *ox = x;
        *ot = t;
        *od = d;
        *os = dup_str(s);
        *oo = dup_str(path);
        *og = dup_str(g);
        *ov = busrpc_variant_ref(v);
        return *os && *oo && *og ? 0 : -ENOMEM;
}

static int op_arrays(void *self, busrpc_call *call, const fz_bool_array *b, const fz_byte_array *y,
                     const fz_int16_array *n, const fz_uint16_array *q, const fz_int32_array *i,
                     const fz_uint32_array *u, const fz_int64_array *x, const fz_uint64_array *t,
                     const fz_double_array *d, const fz_string_array *s, const fz_objpath_array *paths,
                     const fz_signature_array *g, const fz_variant_array *v, const fz_fd_array *h,
                     fz_int32_array *oi, fz_string_array *os, fz_variant_array *ov, uint64_t *count) {
        uint64_t sum = 0;
        int r;

        for (size_t k = 0; k < y->n; k++)
                sum += y->items[k];
        for (size_t k = 0; k < b->n; k++)
                sum += b->items[k];
        *count = sum + b->n + y->n + n->n + q->n + i->n + u->n + x->n + t->n + d->n + s->n + paths->n + g->n +
                 v->n + h->n;
        if (i->n) {
                oi->items = malloc(i->n * sizeof(*oi->items));
                if (!oi->items)
                        return -ENOMEM;
                memcpy(oi->items, i->items, i->n * sizeof(*oi->items));
                oi->n = i->n;
        }
        r = strings_copy(os, s->items, s->n);
        if (r < 0)
                return r;
        if (v->n) {
                ov->items = calloc(v->n, sizeof(*ov->items));
                if (!ov->items)
                        return -ENOMEM;
                for (size_t k = 0; k < v->n; k++)
                        ov->items[k] = busrpc_variant_ref(v->items[k]);
                ov->n = v->n;
        }
        return 0;
}

static int op_enums(void *self, busrpc_call *call, fz_small s, fz_signed g, fz_huge h, fz_bits b, fz_wide w,
                    fz_small *os, fz_signed *og, fz_huge *oh, fz_bits *ob, fz_wide *ow) {
        *os = s;
        *og = g;
        *oh = h;
        *ob = b;
        *ow = w;
        return 0;
}

static int op_structs(void *self, busrpc_call *call, const fz_basics *a, const fz_nest *n, fz_basics *oa,
                      uint64_t *count) {
        uint64_t c = n->maps.n + n->grid.n + n->deep.n + n->smalls.n + n->by_enum.n + n->flags_list.n + n->fds.n;

        for (size_t k = 0; k < n->deep.n; k++)
                c += n->deep.values[k].n;
        for (size_t k = 0; k < n->grid.n; k++)
                c += n->grid.items[k].n;
        *count = c;
        return basics_copy(oa, a);
}

static int op_handles(void *self, busrpc_call *call, const fz_handles *h, uint64_t *count) {
        *count = (h->file >= 0) + (h->blob != NULL) + (h->inner.label ? strlen(h->inner.label) : 0);
        return 0;
}

static int op_maps(void *self, busrpc_call *call, const fz_string_variant_map *props,
                   const fz_int64_string_array_map *lists, const fz_objpath_string_variant_map_map *managed,
                   const fz_byte_double_map *small, fz_string_variant_map *oprops, uint64_t *count) {
        uint64_t c = props->n + lists->n + managed->n + small->n;

        for (size_t k = 0; k < lists->n; k++)
                c += lists->values[k].n;
        for (size_t k = 0; k < managed->n; k++)
                c += managed->values[k].n;
        *count = c;
        return variant_map_copy(oprops, props);
}

static int op_typedefs(void *self, busrpc_call *call, const char *name, const fz_string_basics_array_map *idx,
                       char **oname, uint64_t *count) {
        uint64_t c = idx->n;

        for (size_t k = 0; k < idx->n; k++)
                c += idx->values[k].n;
        *count = c;
        *oname = dup_str(name);
        return *oname ? 0 : -ENOMEM;
}

static int op_blob(void *self, busrpc_call *call, busrpc_shm *data, uint64_t *size, uint64_t *sum) {
        const uint8_t *p = busrpc_shm_const_data(data);
        uint64_t s = 0;

        *size = busrpc_shm_size(data);
        for (size_t k = 0; p && k < *size; k++)
                s += p[k];
        *sum = s;
        return 0;
}

static int op_files(void *self, busrpc_call *call, int a, const fz_fd_array *many, int *ra) {
        *ra = dup(a);
        return *ra >= 0 ? 0 : -errno;
}

static int op_nested(void *self, busrpc_call *call, const fz_variant_array_array *vv,
                     const fz_int32_array_array_array *deep, uint64_t *count) {
        uint64_t c = vv->n + deep->n;

        for (size_t k = 0; k < vv->n; k++)
                c += vv->items[k].n;
        for (size_t k = 0; k < deep->n; k++)
                for (size_t j = 0; j < deep->items[k].n; j++)
                        c += deep->items[k].items[j].n;
        *count = c;
        return 0;
}

static int op_fire(void *self, busrpc_call *call, const char *what, const fz_int32_array *nums) {
        State *st = self;
        char *s = dup_str(what);

        if (!s)
                return -ENOMEM;
        free(st->last_fire);
        st->last_fire = s;
        (void)every_emit_changed(obj, what, &st->snapshot);
        return 0;
}

static int op_nothing(void *self, busrpc_call *call) {
        return 0;
}

static int op_fail(void *self, busrpc_call *call, int32_t code) {
        if (code == 0)
                return 0;
        if (code < 0)
                return code < -4095 ? -EINVAL : code; /* an errno: the runtime answers */
        return every_error_broken(call, "broken with code %d", (int)code);
}

static int get_tree(void *self, fz_string_basics_array_map *tree, busrpc_error *err) {
        State *st = self;

        tree->keys = calloc(1, sizeof(*tree->keys));
        tree->values = calloc(1, sizeof(*tree->values));
        if (!tree->keys || !tree->values)
                goto oom;
        tree->n = 1;
        tree->keys[0] = strdup("snapshot");
        tree->values[0].items = calloc(1, sizeof(fz_basics));
        if (!tree->keys[0] || !tree->values[0].items)
                goto oom;
        if (basics_copy(&tree->values[0].items[0], &st->snapshot) < 0)
                goto oom;
        tree->values[0].n = 1;
        return 0;
oom:
        return busrpc_error_set_errno(err, -ENOMEM);
}

static int set_tree(void *self, const fz_string_basics_array_map *tree, busrpc_error *err) {
        State *st = self;

        if (tree->n > 0 && tree->values[0].n > 0) {
                fz_basics copy;
                if (basics_copy(&copy, &tree->values[0].items[0]) < 0)
                        return busrpc_error_set_errno(err, -ENOMEM);
                fz_basics_clear(&st->snapshot);
                st->snapshot = copy;
        }
        (void)every_notify_tree(obj);
        return 0;
}

static int get_tags(void *self, fz_string_array *tags, busrpc_error *err) {
        State *st = self;
        return strings_copy(tags, st->tags.items, st->tags.n);
}

static int set_tags(void *self, const fz_string_array *tags, busrpc_error *err) {
        State *st = self;
        fz_string_array copy;
        int r = strings_copy(&copy, tags->items, tags->n);

        if (r < 0)
                return r;
        fz_string_array_clear(&st->tags);
        st->tags = copy;
        (void)every_notify_tags(obj);
        return 0;
}

static int get_limit(void *self, fz_huge *limit, busrpc_error *err) {
        *limit = FZ_HUGE_HIGH;
        return 0;
}

static int set_secret(void *self, int32_t secret, busrpc_error *err) {
        State *st = self;

        if (secret < 0)
                return busrpc_error_set(err, BUSRPC_ERROR_INVALID_ARGS, "negative secret %d", (int)secret);
        st->secret = secret;
        (void)every_notify_secret(obj);
        return 0;
}

static int get_any(void *self, busrpc_variant **any, busrpc_error *err) {
        State *st = self;

        if (st->any) {
                *any = busrpc_variant_ref(st->any);
                return 0;
        }
        return busrpc_variant_new_string("unset", any);
}

static int set_any(void *self, busrpc_variant *any, busrpc_error *err) {
        State *st = self;

        busrpc_variant_unref(st->any);
        st->any = busrpc_variant_ref(any);
        (void)every_notify_any(obj);
        return 0;
}

static int get_snapshot(void *self, fz_basics *snapshot, busrpc_error *err) {
        State *st = self;
        return basics_copy(snapshot, &st->snapshot);
}

static int set_snapshot(void *self, const fz_basics *snapshot, busrpc_error *err) {
        State *st = self;
        fz_basics copy;
        int r = basics_copy(&copy, snapshot);

        if (r < 0)
                return r;
        fz_basics_clear(&st->snapshot);
        st->snapshot = copy;
        (void)every_notify_snapshot(obj);
        return 0;
}

static int get_settings(void *self, fz_string_variant_map *settings, busrpc_error *err) {
        State *st = self;
        return variant_map_copy(settings, &st->settings);
}

static int set_settings(void *self, const fz_string_variant_map *settings, busrpc_error *err) {
        State *st = self;
        fz_string_variant_map copy;
        int r = variant_map_copy(&copy, settings);

        if (r < 0)
                return r;
        fz_string_variant_map_clear(&st->settings);
        st->settings = copy;
        (void)every_notify_settings(obj);
        return 0;
}

static const every_ops ops = {
        .basic = op_basic,
        .arrays = op_arrays,
        .enums = op_enums,
        .structs = op_structs,
        .handles = op_handles,
        .maps = op_maps,
        .typedefs = op_typedefs,
        .blob = op_blob,
        .files = op_files,
        .nested = op_nested,
        .fire = op_fire,
        .nothing = op_nothing,
        .fail = op_fail,
        .get_tree = get_tree,
        .set_tree = set_tree,
        .get_tags = get_tags,
        .set_tags = set_tags,
        .get_limit = get_limit,
        .set_secret = set_secret,
        .get_any = get_any,
        .set_any = set_any,
        .get_snapshot = get_snapshot,
        .set_snapshot = set_snapshot,
        .get_settings = get_settings,
        .set_settings = set_settings,
};

/* ---- the two ends ---- */

static busrpc_loop *loop;
static busrpc_server *server;
static DBusConnection *client;
static char dir[64];

/* What the client has seen of the current round. */
static dbus_uint32_t want_reply_to, ping_serial;
static bool got_reply, got_ping;

static DBusHandlerResult client_filter(DBusConnection *dc, DBusMessage *m, void *data) {
        int type = dbus_message_get_type(m);
        dbus_uint32_t rs;

        if (type != DBUS_MESSAGE_TYPE_METHOD_RETURN && type != DBUS_MESSAGE_TYPE_ERROR)
                return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
        rs = dbus_message_get_reply_serial(m);
        if (getenv("FUZZ_DISPATCH_VERBOSE"))
                fprintf(stderr, "fuzz-dispatch: reply to %u: %s %s\n", (unsigned)rs,
                        type == DBUS_MESSAGE_TYPE_ERROR ? dbus_message_get_error_name(m) : "return",
                        dbus_message_get_signature(m));
        if (rs == ping_serial)
                got_ping = true;
        else if (want_reply_to && rs == want_reply_to)
                got_reply = true;
        return DBUS_HANDLER_RESULT_HANDLED;
}

static void client_close(void) {
        if (!client)
                return;
        dbus_connection_close(client);
        dbus_connection_unref(client);
        client = NULL;
}

static void client_open(void) {
        DBusError e;

        dbus_error_init(&e);
        client = dbus_connection_open_private(busrpc_server_get_address(server), &e);
        if (!client)
                die(e.message ? e.message : "cannot connect to the server");
        dbus_connection_set_exit_on_disconnect(client, FALSE);
        if (!dbus_connection_add_filter(client, client_filter, NULL, NULL))
                die("out of memory");
        /* Subscribe to every signal, as busctl monitor does: emitting is
         * then always exercised; inputs add their own rules. */
        dbus_bus_add_match(client, "type='signal'", NULL);
}

static uint64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Run the server's loop and the client until @done or the client is
 * disconnected. Ten seconds without it is a hang: abort. */
static void pump(const bool *done) {
        uint64_t deadline = now_ms() + 10000;

        while (!*done && dbus_connection_get_is_connected(client)) {
                struct pollfd p[2];
                uint64_t usec = BUSRPC_TIMEOUT_INFINITE;
                int cfd = -1, t = busrpc_loop_get_timeout(loop, &usec) < 0 ? -1 : busrpc_usec_to_poll_ms(usec);

                if (now_ms() > deadline)
                        die("no answer within 10 s: the server hangs");
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
                        die("poll failed");
                if (busrpc_loop_process(loop) < 0)
                        die("the server's loop failed");
                dbus_connection_read_write(client, 0);
                while (dbus_connection_dispatch(client) == DBUS_DISPATCH_DATA_REMAINS)
                        ;
        }
}

static void setup(void) {
        busrpc_server_limits lim = { .max_connections = 4 };
        char addr[128];
        int r;

        snprintf(dir, sizeof(dir), "/tmp/fuzz-dispatch.XXXXXX");
        if (!mkdtemp(dir))
                die("mkdtemp failed");
        snprintf(addr, sizeof(addr), "unix:path=%s/s/socket", dir);
        if (busrpc_loop_default(&loop) < 0)
                die("no loop");
        r = busrpc_server_new(addr, &server);
        if (r < 0)
                die("busrpc_server_new failed");
        if (busrpc_server_set_limits(server, &lim) < 0 || busrpc_server_attach(server, loop) < 0)
                die("server setup failed");
        fz_basics_init(&state.snapshot);
        state.snapshot.s = strdup("s");
        state.snapshot.o = strdup("/");
        state.snapshot.g = strdup("g");
        if (busrpc_variant_new_uint32(7, &state.snapshot.v) < 0 || !state.snapshot.s || !state.snapshot.o ||
            !state.snapshot.g)
                die("out of memory");
        if (every_export(busrpc_server_conn(server), "/fz", &ops, &state, &obj) < 0 ||
            every_export(busrpc_server_conn(server), "/fz/child", &ops, &state, NULL) < 0 ||
            busrpc_conn_add_object_manager(busrpc_server_conn(server), "/", NULL) < 0)
                die("export failed");
        client_open();
}

/* Remove the socket and its directories at exit (libFuzzer exits through
 * exit() after -runs / -max_total_time). */
static void cleanup(void) {
        char path[96];

        client_close();
        busrpc_object_release(obj);
        busrpc_server_free(server);
        server = NULL;
        snprintf(path, sizeof(path), "%s/s/socket", dir);
        unlink(path);
        snprintf(path, sizeof(path), "%s/s", dir);
        rmdir(path);
        rmdir(dir);
}

static bool is_noreply_method(DBusMessage *m) {
        const char *iface = dbus_message_get_interface(m);
        return dbus_message_has_member(m, "Fire") && (!iface || strcmp(iface, every_interface.name) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static dbus_uint32_t round;
        DBusMessage *m, *ping;
        dbus_uint32_t serial;

        if (!server) {
                setup();
                atexit(cleanup);
        }
        m = fuzz_message(data, size);
        if (!m)
                return 0;
        if (!dbus_connection_get_is_connected(client)) {
                client_close();
                client_open();
        }
        serial = dbus_message_get_serial(m);
        /* Every call that asks for a reply gets one, but for the @noreply
         * method Fire, which never replies (docs/runtime.md). */
        want_reply_to = dbus_message_get_type(m) == DBUS_MESSAGE_TYPE_METHOD_CALL && !dbus_message_get_no_reply(m) &&
                                        !is_noreply_method(m)
                                ? serial
                                : 0;
        got_reply = got_ping = false;
        /* A serial the fuzzed message cannot have. */
        ping_serial = PING_SERIAL_BASE + (round++ & 0xfffff);
        if (ping_serial == serial)
                ping_serial++;
        ping = dbus_message_new_method_call(NULL, "/", "org.freedesktop.DBus.Peer", "Ping");
        if (!ping)
                die("out of memory");
        dbus_message_set_serial(ping, ping_serial);
        if (!dbus_connection_send(client, m, NULL) || !dbus_connection_send(client, ping, NULL))
                die("out of memory");
        dbus_message_unref(m);
        dbus_message_unref(ping);
        pump(&got_ping);
        if (got_ping && want_reply_to && !got_reply)
                die("a method call got no reply");
        return 0;
}
