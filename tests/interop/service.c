/* service.c: the busrpc side of the interop tests (H9).
 *
 * Implements org.busrpc.Interop (interop.idl) with the generated skeleton
 * and serves it twice from one process: on a bus (busrpc_conn_open(), name
 * org.busrpc.Interop) and on a peer-to-peer socket (busrpc_server_new()),
 * at /org/busrpc/Interop and /org/busrpc/Interop/Child on each. The two
 * transports have separate state, so a property set on one does not leak
 * into the other's test.
 *
 * Usage: interop-service --bus ADDRESS --peer ADDRESS --ready FILE
 * FILE is written (the peer address, then a newline) once everything is
 * exported and the name is owned. SIGTERM/SIGINT stop it; exit status 0.
 */
#include <dbus/dbus.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "interop.h"

#define BUS_NAME "org.busrpc.Interop"
#define OBJ_PATH "/org/busrpc/Interop"
#define CHILD_PATH "/org/busrpc/Interop/Child"

typedef struct Service {
        busrpc_object *obj;
        int32_t level;
        interop_color shade;
        interop_string_array tags;
} Service;

static char *str_concat(const char *a, const char *b) {
        size_t la = strlen(a), lb = strlen(b);
        char *s = malloc(la + lb + 1);

        if (!s)
                return NULL;
        memcpy(s, a, la);
        memcpy(s + la, b, lb + 1);
        return s;
}

static int copy_strings(const interop_string_array *from, interop_string_array *to, bool reverse) {
        to->items = calloc(from->n ? from->n : 1, sizeof(*to->items));
        if (!to->items)
                return -ENOMEM;
        to->n = from->n;
        for (size_t i = 0; i < from->n; i++) {
                to->items[i] = strdup(from->items[reverse ? from->n - 1 - i : i]);
                if (!to->items[i])
                        return -ENOMEM;
        }
        return 0;
}

#define REVERSE_FIXED(from, to)                                                                  \
        do {                                                                                     \
                (to)->items = calloc((from)->n ? (from)->n : 1, sizeof(*(to)->items));           \
                if (!(to)->items)                                                                \
                        return -ENOMEM;                                                          \
                (to)->n = (from)->n;                                                             \
                for (size_t k_ = 0; k_ < (from)->n; k_++)                                        \
                        (to)->items[k_] = (from)->items[(from)->n - 1 - k_];                     \
        } while (0)

static int op_basics(void *self, busrpc_call *call, bool b, uint8_t y, int16_t n, uint16_t q, int32_t i, uint32_t u,
                     int64_t x, uint64_t t, double d, const char *s, const char *path, const char *g, bool *ob,
                     uint8_t *oy, int16_t *on, uint16_t *oq, int32_t *oi, uint32_t *ou, int64_t *ox, uint64_t *ot,
                     double *od, char **os, char **oo, char **og) {
        (void)self;
        (void)call;
        *ob = !b;
        *oy = (uint8_t)(y + 1u);
        *on = (int16_t)(uint16_t)((uint16_t)n - 1u);
        *oq = (uint16_t)(q + 1u);
        *oi = (int32_t)((uint32_t)i * 2u);
        *ou = u + 1u;
        *ox = (int64_t)((uint64_t)x - 1u);
        *ot = t + 1u;
        *od = d * 2;
        *os = str_concat(s, "!");
        *oo = str_concat(strcmp(path, "/") == 0 ? "" : path, "/child");
        *og = str_concat(g, "i");
        return *os && *oo && *og ? 0 : -ENOMEM;
}

static int op_arrays(void *self, busrpc_call *call, const interop_int32_array *ints, const interop_string_array *strs,
                     const interop_byte_array *bytes, const interop_double_array *dbls,
                     const interop_bool_array *bools, interop_int32_array *rints, interop_string_array *rstrs,
                     interop_byte_array *rbytes, interop_double_array *rdbls, interop_bool_array *rbools) {
        (void)self;
        (void)call;
        REVERSE_FIXED(ints, rints);
        REVERSE_FIXED(bytes, rbytes);
        REVERSE_FIXED(dbls, rdbls);
        REVERSE_FIXED(bools, rbools);
        return copy_strings(strs, rstrs, true);
}

static int op_maps(void *self, busrpc_call *call, const interop_string_int32_map *counts,
                   const interop_uint32_string_map *byid, interop_int32_string_map *inverted, int64_t *total,
                   interop_string_array *names) {
        size_t *order;
        char num[16];

        (void)self;
        (void)call;
        inverted->keys = calloc(counts->n ? counts->n : 1, sizeof(*inverted->keys));
        inverted->values = calloc(counts->n ? counts->n : 1, sizeof(*inverted->values));
        if (!inverted->keys || !inverted->values)
                return -ENOMEM;
        inverted->n = counts->n;
        *total = 0;
        for (size_t i = 0; i < counts->n; i++) {
                inverted->keys[i] = counts->values[i];
                inverted->values[i] = strdup(counts->keys[i]);
                if (!inverted->values[i])
                        return -ENOMEM;
                *total += counts->values[i];
        }
        /* names sorted by id: a selection sort is plenty for a test. */
        order = calloc(byid->n ? byid->n : 1, sizeof(*order));
        names->items = calloc(byid->n ? byid->n : 1, sizeof(*names->items));
        if (!order || !names->items) {
                free(order);
                return -ENOMEM;
        }
        for (size_t i = 0; i < byid->n; i++)
                order[i] = i;
        for (size_t i = 0; i < byid->n; i++)
                for (size_t j = i + 1; j < byid->n; j++)
                        if (byid->keys[order[j]] < byid->keys[order[i]]) {
                                size_t tmp = order[i];
                                order[i] = order[j];
                                order[j] = tmp;
                        }
        names->n = byid->n;
        for (size_t i = 0; i < byid->n; i++) {
                snprintf(num, sizeof(num), "=%u", (unsigned)byid->keys[order[i]]);
                names->items[i] = str_concat(byid->values[order[i]], num);
                if (!names->items[i]) {
                        free(order);
                        return -ENOMEM;
                }
        }
        free(order);
        return 0;
}

static int copy_pair(const interop_pair *from, interop_pair *to, bool bump) {
        to->a = bump ? (int32_t)((uint32_t)from->a + 1u) : from->a;
        to->b = bump ? str_concat(from->b, "!") : strdup(from->b);
        return to->b ? 0 : -ENOMEM;
}

static int copy_pairs(const interop_pair_array *from, interop_pair_array *to, bool reverse) {
        to->items = calloc(from->n ? from->n : 1, sizeof(*to->items));
        if (!to->items)
                return -ENOMEM;
        to->n = from->n;
        for (size_t i = 0; i < from->n; i++)
                if (copy_pair(&from->items[reverse ? from->n - 1 - i : i], &to->items[i], false) < 0)
                        return -ENOMEM;
        return 0;
}

static int op_structs(void *self, busrpc_call *call, const interop_pair *pair, const interop_record *r,
                      interop_pair *op, interop_record *or) {
        const interop_string_variant_map *ex = &r->extra;
        size_t n = 0;
        int k;

        (void)self;
        (void)call;
        if (copy_pair(pair, op, true) < 0)
                return -ENOMEM;
        or->name = strdup(r->name);
        if (!or->name)
                return -ENOMEM;
        or->id = r->id + 1u;
        if (copy_pairs(&r->pairs, &or->pairs, true) < 0)
                return -ENOMEM;
        or->extra.keys = calloc(ex->n + 1, sizeof(*or->extra.keys));
        or->extra.values = calloc(ex->n + 1, sizeof(*or->extra.values));
        if (!or->extra.keys || !or->extra.values)
                return -ENOMEM;
        for (size_t i = 0; i < ex->n; i++) {
                if (strcmp(ex->keys[i], "seen") == 0)
                        continue;
                or->extra.keys[n] = strdup(ex->keys[i]);
                or->extra.values[n] = busrpc_variant_ref(ex->values[i]);
                n++;
                or->extra.n = n;
                if (!or->extra.keys[n - 1])
                        return -ENOMEM;
        }
        or->extra.keys[n] = strdup("seen");
        k = busrpc_variant_new_bool(true, &or->extra.values[n]);
        or->extra.n = n + 1;
        if (!or->extra.keys[n])
                return -ENOMEM;
        return k < 0 ? k : 0;
}

static int op_nested(void *self, busrpc_call *call, const interop_string_int32_array_map *groups,
                     const interop_pair_array_array *grid, interop_string_int32_map *sums,
                     interop_pair_array_array *rgrid, uint32_t *cells) {
        (void)self;
        (void)call;
        sums->keys = calloc(groups->n ? groups->n : 1, sizeof(*sums->keys));
        sums->values = calloc(groups->n ? groups->n : 1, sizeof(*sums->values));
        if (!sums->keys || !sums->values)
                return -ENOMEM;
        sums->n = groups->n;
        for (size_t i = 0; i < groups->n; i++) {
                int32_t s = 0;
                for (size_t j = 0; j < groups->values[i].n; j++)
                        s = (int32_t)((uint32_t)s + (uint32_t)groups->values[i].items[j]);
                sums->values[i] = s;
                sums->keys[i] = strdup(groups->keys[i]);
                if (!sums->keys[i])
                        return -ENOMEM;
        }
        rgrid->items = calloc(grid->n ? grid->n : 1, sizeof(*rgrid->items));
        if (!rgrid->items)
                return -ENOMEM;
        rgrid->n = grid->n;
        *cells = 0;
        for (size_t i = 0; i < grid->n; i++) {
                const interop_pair_array *row = &grid->items[grid->n - 1 - i];
                *cells += (uint32_t)row->n;
                if (copy_pairs(row, &rgrid->items[i], false) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int op_enums(void *self, busrpc_call *call, interop_color c, interop_perm perm, interop_color *next,
                    interop_perm *inverse) {
        (void)self;
        (void)call;
        switch (c) {
        case INTEROP_COLOR_RED:
                *next = INTEROP_COLOR_GREEN;
                break;
        case INTEROP_COLOR_GREEN:
                *next = INTEROP_COLOR_BLUE;
                break;
        default:
                *next = INTEROP_COLOR_RED;
                break;
        }
        *inverse = (interop_perm)((uint32_t)perm ^ 0x7u);
        return 0;
}

static int op_variant(void *self, busrpc_call *call, busrpc_variant *v, char **sig, busrpc_variant **same) {
        (void)self;
        (void)call;
        *sig = strdup(busrpc_variant_get_signature(v));
        if (!*sig)
                return -ENOMEM;
        *same = busrpc_variant_ref(v);
        return 0;
}

static int build_strings(busrpc_iter *it, void *userdata) {
        static const char *const items[] = { "a", "b" };
        busrpc_iter arr;
        int r;

        (void)userdata;
        r = busrpc_iter_open(it, BUSRPC_TYPE_ARRAY, "s", &arr);
        for (size_t i = 0; r >= 0 && i < 2; i++)
                r = busrpc_iter_append_basic(&arr, BUSRPC_TYPE_STRING, &items[i]);
        if (r < 0) {
                busrpc_iter_abandon(it, &arr);
                return r;
        }
        return busrpc_iter_close(it, &arr);
}

static int build_dict(busrpc_iter *it, void *userdata) {
        const char *key = "k";
        uint32_t one = 1;
        busrpc_iter arr, entry, var;
        int r;

        (void)userdata;
        r = busrpc_iter_open(it, BUSRPC_TYPE_ARRAY, "{sv}", &arr);
        if (r < 0)
                return r;
        r = busrpc_iter_open(&arr, BUSRPC_TYPE_DICT_ENTRY, NULL, &entry);
        if (r >= 0) {
                r = busrpc_iter_append_basic(&entry, BUSRPC_TYPE_STRING, &key);
                if (r >= 0)
                        r = busrpc_iter_open(&entry, BUSRPC_TYPE_VARIANT, "u", &var);
                if (r >= 0) {
                        r = busrpc_iter_append_basic(&var, BUSRPC_TYPE_UINT32, &one);
                        if (r >= 0)
                                r = busrpc_iter_close(&entry, &var);
                        else
                                busrpc_iter_abandon(&entry, &var);
                }
                if (r >= 0)
                        r = busrpc_iter_close(&arr, &entry);
                else
                        busrpc_iter_abandon(&arr, &entry);
        }
        if (r < 0) {
                busrpc_iter_abandon(it, &arr);
                return r;
        }
        return busrpc_iter_close(it, &arr);
}

static int build_struct(busrpc_iter *it, void *userdata) {
        const char *seven = "seven";
        int32_t n = 7;
        busrpc_iter st;
        int r;

        (void)userdata;
        r = busrpc_iter_open(it, BUSRPC_TYPE_STRUCT, NULL, &st);
        if (r < 0)
                return r;
        r = busrpc_iter_append_basic(&st, BUSRPC_TYPE_INT32, &n);
        if (r >= 0)
                r = busrpc_iter_append_basic(&st, BUSRPC_TYPE_STRING, &seven);
        if (r < 0) {
                busrpc_iter_abandon(it, &st);
                return r;
        }
        return busrpc_iter_close(it, &st);
}

static int op_make_variant(void *self, busrpc_call *call, const char *kind, busrpc_variant **v) {
        busrpc_variant *inner = NULL;
        int r;

        (void)self;
        if (strcmp(kind, "int") == 0)
                return busrpc_variant_new_int32(42, v);
        if (strcmp(kind, "string") == 0)
                return busrpc_variant_new_string("hello", v);
        if (strcmp(kind, "strings") == 0)
                return busrpc_variant_new_built("as", build_strings, NULL, v);
        if (strcmp(kind, "dict") == 0)
                return busrpc_variant_new_built("a{sv}", build_dict, NULL, v);
        if (strcmp(kind, "struct") == 0)
                return busrpc_variant_new_built("(is)", build_struct, NULL, v);
        if (strcmp(kind, "variant") == 0) {
                r = busrpc_variant_new_int32(1, &inner);
                if (r < 0)
                        return r;
                r = busrpc_variant_new_variant(inner, v);
                busrpc_variant_unref(inner);
                return r;
        }
        return iop_error_refused(call, "unknown kind: %s", kind);
}

static int op_fd(void *self, busrpc_call *call, int f, char **content, int *back) {
        char buf[4097];
        size_t len = 0;
        ssize_t k;
        int p[2];

        (void)self;
        (void)call;
        k = pread(f, buf, sizeof(buf) - 1, 0);
        if (k < 0 && errno == ESPIPE)
                k = 0;
        else if (k < 0)
                return -errno;
        len = (size_t)k;
        /* A pipe or socket (pread fails) or a short read: read on until EOF. */
        while (len < sizeof(buf) - 1) {
                k = read(f, buf + len, sizeof(buf) - 1 - len);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                len += (size_t)k;
        }
        buf[len] = '\0';
        *content = strdup(buf);
        if (!*content)
                return -ENOMEM;
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        if (write(p[1], "busrpc:", 7) != 7 || write(p[1], buf, len) != (ssize_t)len) {
                close(p[0]);
                close(p[1]);
                return -EIO;
        }
        close(p[1]);
        *back = p[0];
        return 0;
}

static int op_blob(void *self, busrpc_call *call, busrpc_shm *data, uint64_t *size, uint32_t *sum,
                   busrpc_shm **doubled) {
        const unsigned char *bytes = busrpc_shm_const_data(data);
        size_t n = busrpc_shm_size(data);
        unsigned char *out;
        int r;

        (void)self;
        (void)call;
        *size = n;
        *sum = 0;
        for (size_t i = 0; i < n; i++)
                *sum += bytes[i];
        r = busrpc_shm_new(2 * n, doubled);
        if (r < 0)
                return r;
        out = busrpc_shm_data(*doubled);
        if (n && !out)
                return -EIO;
        if (n) {
                memcpy(out, bytes, n);
                memcpy(out + n, bytes, n);
        }
        return 0;
}

static int op_fire(void *self, busrpc_call *call, const char *text, uint32_t times, uint32_t *sent) {
        busrpc_object *o = busrpc_call_get_object(call);
        int r;

        (void)self;
        if (times > 1000)
                return iop_error_refused(call, "too many: %u", (unsigned)times);
        for (uint32_t seq = 1; seq <= times; seq++) {
                r = iop_emit_event(o, text, seq);
                if (r < 0)
                        return r;
        }
        *sent = times;
        return 0;
}

static int op_check(void *self, busrpc_call *call, int32_t value, int32_t *same) {
        (void)self;
        if (value < 0)
                return iop_error_refused(call, "negative: %d", (int)value);
        *same = value;
        return 0;
}

static int get_name(void *self, char **name, busrpc_error *err) {
        (void)self;
        (void)err;
        *name = strdup("interop");
        return *name ? 0 : -ENOMEM;
}

static int get_level(void *self, int32_t *level, busrpc_error *err) {
        (void)err;
        *level = ((Service *)self)->level;
        return 0;
}

static int set_level(void *self, int32_t level, busrpc_error *err) {
        Service *s = self;

        (void)err;
        s->level = level;
        return s->obj ? iop_notify_level(s->obj) : 0;
}

static int get_shade(void *self, interop_color *shade, busrpc_error *err) {
        (void)err;
        *shade = ((Service *)self)->shade;
        return 0;
}

static int set_shade(void *self, interop_color shade, busrpc_error *err) {
        Service *s = self;

        (void)err;
        s->shade = shade;
        return s->obj ? iop_notify_shade(s->obj) : 0;
}

static int get_tags(void *self, interop_string_array *tags, busrpc_error *err) {
        (void)err;
        return copy_strings(&((Service *)self)->tags, tags, false);
}

static int set_tags(void *self, const interop_string_array *tags, busrpc_error *err) {
        Service *s = self;
        interop_string_array copy = { NULL, 0 };
        int r;

        (void)err;
        r = copy_strings(tags, &copy, false);
        if (r < 0) {
                interop_string_array_clear(&copy);
                return r;
        }
        interop_string_array_clear(&s->tags);
        s->tags = copy;
        return s->obj ? iop_notify_tags(s->obj) : 0;
}

static const iop_ops ops = {
        .basics = op_basics,
        .arrays = op_arrays,
        .maps = op_maps,
        .structs = op_structs,
        .nested = op_nested,
        .enums = op_enums,
        .variant = op_variant,
        .make_variant = op_make_variant,
        .fd = op_fd,
        .blob = op_blob,
        .fire = op_fire,
        .check = op_check,
        .get_name = get_name,
        .get_level = get_level,
        .set_level = set_level,
        .get_shade = get_shade,
        .set_shade = set_shade,
        .get_tags = get_tags,
        .set_tags = set_tags,
};

static int service_init(Service *s) {
        static const char *const initial[] = { "one", "two" };
        interop_string_array from = { (char **)initial, 2 };

        memset(s, 0, sizeof(*s));
        s->level = 7;
        s->shade = INTEROP_COLOR_GREEN;
        return copy_strings(&from, &s->tags, false);
}

/* On the bus connection @c, or (@c NULL) to every peer of @s. */
static int export_both(busrpc_conn *c, busrpc_server *s, Service *main_svc, Service *child_svc) {
        int r;

        if (c)
                r = iop_export(c, OBJ_PATH, &ops, main_svc, &main_svc->obj);
        else
                r = iop_export_server(s, OBJ_PATH, &ops, main_svc, &main_svc->obj);
        if (r < 0)
                return r;
        if (c)
                return iop_export(c, CHILD_PATH, &ops, child_svc, &child_svc->obj);
        return iop_export_server(s, CHILD_PATH, &ops, child_svc, &child_svc->obj);
}

static void usage(void) {
        fprintf(stderr, "usage: interop-service --bus ADDRESS --peer ADDRESS --ready FILE\n");
        exit(2);
}

int main(int argc, char **argv) {
        static const struct option longopts[] = {
                { "bus", required_argument, NULL, 'b' },
                { "peer", required_argument, NULL, 'p' },
                { "ready", required_argument, NULL, 'r' },
                { NULL, 0, NULL, 0 },
        };
        const char *bus = NULL, *peer = NULL, *ready = NULL;
        Service svc[4]; /* bus main, bus child, peer main, peer child */
        busrpc_conn *conn = NULL;
        busrpc_server *server = NULL;
        FILE *f;
        int c, r;

        while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
                switch (c) {
                case 'b':
                        bus = optarg;
                        break;
                case 'p':
                        peer = optarg;
                        break;
                case 'r':
                        ready = optarg;
                        break;
                default:
                        usage();
                }
        }
        if (!bus || !peer || !ready || optind != argc)
                usage();
        for (int i = 0; i < 4; i++)
                if (service_init(&svc[i]) < 0)
                        return 1;

        r = busrpc_conn_open(bus, &conn);
        if (r < 0) {
                fprintf(stderr, "interop-service: busrpc_conn_open(%s): %s\n", bus, strerror(-r));
                return 1;
        }
        r = export_both(conn, NULL, &svc[0], &svc[1]);
        if (r < 0) {
                fprintf(stderr, "interop-service: export on the bus: %s\n", strerror(-r));
                return 1;
        }
        r = busrpc_conn_request_name(conn, BUS_NAME, BUSRPC_NAME_DO_NOT_QUEUE, NULL, NULL, NULL);
        if (r != 0) {
                fprintf(stderr, "interop-service: request_name: %d (%s)\n", r, r < 0 ? strerror(-r) : "queued");
                return 1;
        }
        r = busrpc_server_new(peer, &server);
        if (r < 0) {
                fprintf(stderr, "interop-service: busrpc_server_new(%s): %s\n", peer, strerror(-r));
                return 1;
        }
        r = export_both(NULL, server, &svc[2], &svc[3]);
        if (r < 0) {
                fprintf(stderr, "interop-service: export on the peer server: %s\n", strerror(-r));
                return 1;
        }

        f = fopen(ready, "w");
        if (!f || fprintf(f, "%s\n", busrpc_server_get_address(server)) < 0 || fclose(f) != 0) {
                fprintf(stderr, "interop-service: cannot write %s\n", ready);
                return 1;
        }

        r = busrpc_conn_run(conn);
        if (r < 0)
                fprintf(stderr, "interop-service: loop: %s\n", strerror(-r));

        for (int i = 0; i < 4; i++) {
                svc[i].obj = busrpc_object_release(svc[i].obj);
                interop_string_array_clear(&svc[i].tags);
        }
        busrpc_server_free(server);
        busrpc_conn_unref(conn);
        dbus_shutdown();
        return r < 0 ? 1 : 0;
}
