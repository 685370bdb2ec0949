/* test-roundtrip.c: a generated client calls a generated server, through a
 * private dbus-daemon, for every type category of tests/gen/idl/roundtrip.idl.
 *
 * Layout: the test starts its own dbus-daemon in a mktemp -d directory,
 * forks a server process (rt-server.c + ops below) that owns
 * org.busrpc.test.RoundTrip, and calls it from the parent through
 * rt-client.c. Both processes stop cleanly (SIGTERM, exit status checked)
 * and call dbus_shutdown(), so valgrind (test-roundtrip-valgrind.sh) sees
 * real leaks only.
 */
#include <dbus/dbus.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus-fixture.h"
#include "rt.h"
#include "tap.h"

#define NAME "org.busrpc.test.RoundTrip"
#define OBJ_PATH "/org/busrpc/test/rt"
#define EMPTY_PATH "/org/busrpc/test/empty"
#define UTF8 "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80"
#define BIG 10000
#define SHM_SIZE (64u << 20)

static BusFixture fx; /* the private bus and the server process */
static busrpc_conn *conn;
static busrpc_proxy *proxy;

static char *xstrdup(const char *s) {
        char *d = strdup(s ? s : "");
        if (!d)
                abort();
        return d;
}

static void *xcalloc(size_t n, size_t size) {
        void *p = calloc(n ? n : 1, size);
        if (!p)
                abort();
        return p;
}

/* ---- deep copies, used by the server to echo ---- */

static void copy_basics(const rt_basics *a, rt_basics *b) {
        *b = *a;
        b->s = xstrdup(a->s);
        b->o = xstrdup(a->o);
        b->g = xstrdup(a->g);
}

static void copy_string_int32_map(const rt_string_int32_map *a, rt_string_int32_map *b) {
        b->n = a->n;
        b->keys = xcalloc(a->n, sizeof(*b->keys));
        b->values = xcalloc(a->n, sizeof(*b->values));
        for (size_t i = 0; i < a->n; i++) {
                b->keys[i] = xstrdup(a->keys[i]);
                b->values[i] = a->values[i];
        }
}

static void copy_entry(const rt_entry *a, rt_entry *b) {
        b->key = xstrdup(a->key);
        copy_string_int32_map(&a->values, &b->values);
        b->color = a->color;
}

static void copy_strings(const rt_string_array *a, rt_string_array *b) {
        b->n = a->n;
        b->items = xcalloc(a->n, sizeof(*b->items));
        for (size_t i = 0; i < a->n; i++)
                b->items[i] = xstrdup(a->items[i]);
}

#define COPY_FIXED(a, b)                                                                           \
        do {                                                                                       \
                (b)->n = (a)->n;                                                                   \
                (b)->items = xcalloc((a)->n, sizeof(*(b)->items));                                 \
                if ((a)->n)                                                                        \
                        memcpy((b)->items, (a)->items, (a)->n * sizeof(*(b)->items));              \
        } while (0)

/* ---- the server ---- */

typedef struct Server {
        busrpc_conn *conn;
        busrpc_object *obj;
        char *last_poke;
        rt_color mode;
        rt_uint32_array stats;
        int32_t secret;
} Server;

static int op_echo_basics(void *self, busrpc_call *call, const rt_basics *v, rt_basics *w) {
        (void)self;
        (void)call;
        copy_basics(v, w);
        return 0;
}

static int op_ints(void *self, busrpc_call *call, uint8_t y, int16_t n, uint16_t q, int32_t i, uint32_t u, int64_t x,
                   uint64_t t, bool b, double d, uint8_t *ry, int16_t *rn, uint16_t *rq, int32_t *ri, uint32_t *ru,
                   int64_t *rx, uint64_t *rt, bool *rb, double *rd) {
        (void)self;
        (void)call;
        *ry = y;
        *rn = n;
        *rq = q;
        *ri = i;
        *ru = u;
        *rx = x;
        *rt = t;
        *rb = b;
        *rd = d;
        return 0;
}

static int op_strings(void *self, busrpc_call *call, const char *s, const char *path, const char *g, char **rs,
                      char **ro, char **rg) {
        (void)self;
        (void)call;
        *rs = xstrdup(s);
        *ro = xstrdup(path);
        *rg = xstrdup(g);
        return 0;
}

static int op_arrays(void *self, busrpc_call *call, const rt_int32_array *ints, const rt_byte_array *bytes,
                     const rt_double_array *dbls, const rt_bool_array *bools, const rt_string_array *strs,
                     const rt_int64_array *longs, rt_int32_array *rints, rt_byte_array *rbytes, rt_double_array *rdbls,
                     rt_bool_array *rbools, rt_string_array *rstrs, rt_int64_array *rlongs) {
        (void)self;
        (void)call;
        COPY_FIXED(ints, rints);
        COPY_FIXED(bytes, rbytes);
        COPY_FIXED(dbls, rdbls);
        COPY_FIXED(bools, rbools);
        COPY_FIXED(longs, rlongs);
        copy_strings(strs, rstrs);
        return 0;
}

static int op_nested(void *self, busrpc_call *call, const rt_entry_array *entries, rt_entry_array *rentries,
                     uint32_t *count) {
        (void)self;
        (void)call;
        rentries->n = entries->n;
        rentries->items = xcalloc(entries->n, sizeof(*rentries->items));
        for (size_t i = 0; i < entries->n; i++)
                copy_entry(&entries->items[i], &rentries->items[i]);
        *count = (uint32_t)entries->n;
        return 0;
}

static int op_maps(void *self, busrpc_call *call, const rt_string_uint32_map *m, const rt_uint32_string_array_map *lists,
                   rt_string_uint32_map *rm, rt_uint32_string_array_map *rlists) {
        (void)self;
        (void)call;
        rm->n = m->n;
        rm->keys = xcalloc(m->n, sizeof(*rm->keys));
        rm->values = xcalloc(m->n, sizeof(*rm->values));
        for (size_t i = 0; i < m->n; i++) {
                rm->keys[i] = xstrdup(m->keys[i]);
                rm->values[i] = m->values[i];
        }
        rlists->n = lists->n;
        rlists->keys = xcalloc(lists->n, sizeof(*rlists->keys));
        rlists->values = xcalloc(lists->n, sizeof(*rlists->values));
        for (size_t i = 0; i < lists->n; i++) {
                rlists->keys[i] = lists->keys[i];
                copy_strings(&lists->values[i], &rlists->values[i]);
        }
        return 0;
}

static int op_variants(void *self, busrpc_call *call, busrpc_variant *v, const rt_variant_array *vs, busrpc_variant **rv,
                       rt_variant_array *rvs) {
        (void)self;
        (void)call;
        *rv = busrpc_variant_ref(v);
        rvs->n = vs->n;
        rvs->items = xcalloc(vs->n, sizeof(*rvs->items));
        for (size_t i = 0; i < vs->n; i++)
                rvs->items[i] = busrpc_variant_ref(vs->items[i]);
        return 0;
}

static int op_enums(void *self, busrpc_call *call, rt_color c, rt_perm perm, rt_color *rc, rt_perm *rp) {
        (void)self;
        (void)call;
        *rc = c;
        *rp = perm;
        return 0;
}

static int op_fds(void *self, busrpc_call *call, int a, const rt_fd_array *many, const rt_holder *h, int *ra,
                  rt_fd_array *rmany, rt_holder *rh) {
        (void)self;
        (void)call;
        *ra = dup(a);
        rmany->n = many->n;
        rmany->items = xcalloc(many->n, sizeof(int));
        for (size_t i = 0; i < many->n; i++)
                rmany->items[i] = dup(many->items[i]);
        rh->handle = dup(h->handle);
        rh->note = xstrdup(h->note);
        return 0;
}

static int op_blob(void *self, busrpc_call *call, busrpc_shm *data, uint64_t *size, uint64_t *sum, busrpc_shm **copy) {
        const unsigned char *p = busrpc_shm_const_data(data);
        size_t n = busrpc_shm_size(data), k = n < 4096 ? n : 4096;
        uint64_t s = 0;
        int r;

        (void)self;
        (void)call;
        for (size_t i = 0; i < n; i++)
                s += p[i];
        *size = n;
        *sum = s;
        r = busrpc_shm_new(k, copy);
        if (r < 0)
                return r;
        memcpy(busrpc_shm_data(*copy), p, k);
        return 0;
}

static int op_bounded(void *self, busrpc_call *call, busrpc_shm *data, const rt_framed *f, uint64_t want,
                      uint64_t *size, busrpc_shm **made) {
        (void)self;
        (void)call;
        *size = busrpc_shm_size(data) + busrpc_shm_size(f->data);
        return busrpc_shm_new(want, made);
}

/* A map with `key` `times` times: what a buggy or hostile service may send. */
static int op_repeat(void *self, busrpc_call *call, const char *key, uint32_t times, rt_string_uint32_map *m) {
        (void)self;
        (void)call;
        m->keys = xcalloc(times, sizeof(*m->keys));
        m->values = xcalloc(times, sizeof(*m->values));
        for (m->n = 0; m->n < times; m->n++) {
                m->keys[m->n] = xstrdup(key);
                m->values[m->n] = (uint32_t)m->n;
        }
        return 0;
}

static int op_divide(void *self, busrpc_call *call, int32_t a, int32_t b, int32_t *q) {
        (void)self;
        if (b == 0)
                return round_trip_error_divide_by_zero(call, "cannot divide %d by zero", a);
        *q = a / b;
        return 0;
}

/* A deferred call: replied from a timer. Pending ones are released when
 * the server stops (the cancelled slow call of test_async leaves one). */
typedef struct Later {
        busrpc_call *call;
        busrpc_source *timer;
        int32_t value;
        struct Later *next;
} Later;

static Later *pending_laters;

static void later_free(Later *l) {
        for (Later **pp = &pending_laters; *pp; pp = &(*pp)->next)
                if (*pp == l) {
                        *pp = l->next;
                        break;
                }
        busrpc_call_unref(l->call);
        busrpc_source_release(l->timer);
        free(l);
}

static int later_fire(busrpc_source *s, void *userdata) {
        Later *l = userdata;

        (void)s;
        (void)round_trip_later_reply(l->call, l->value);
        later_free(l);
        return 0;
}

static int op_later(void *self, busrpc_call *call, uint32_t ms, int32_t value, int32_t *back) {
        Server *srv = self;
        Later *l = xcalloc(1, sizeof(*l));
        int r;

        (void)back;
        l->call = busrpc_call_ref(call);
        l->value = value;
        r = busrpc_loop_add_timer(busrpc_conn_get_loop(srv->conn), (uint64_t)ms * 1000, false, later_fire, l, &l->timer);
        if (r < 0) {
                busrpc_call_unref(l->call);
                free(l);
                return r;
        }
        l->next = pending_laters;
        pending_laters = l;
        return BUSRPC_DEFER;
}

static int op_poke(void *self, busrpc_call *call, const char *what) {
        Server *srv = self;

        (void)call;
        free(srv->last_poke);
        srv->last_poke = xstrdup(what);
        return 0;
}

static int op_poked(void *self, busrpc_call *call, char **last) {
        Server *srv = self;

        (void)call;
        *last = xstrdup(srv->last_poke);
        return 0;
}

static void fill_entry(rt_entry *e, const char *key, size_t n) {
        e->key = xstrdup(key);
        e->values.n = n;
        e->values.keys = xcalloc(n, sizeof(char *));
        e->values.values = xcalloc(n, sizeof(int32_t));
        for (size_t i = 0; i < n; i++) {
                char buf[32];
                snprintf(buf, sizeof(buf), "k%zu", i);
                e->values.keys[i] = xstrdup(buf);
                e->values.values[i] = (int32_t)(i * i) - 5;
        }
        e->color = RT_COLOR_BLUE;
}

static int op_emit(void *self, busrpc_call *call, int64_t value, const char *where) {
        Server *srv = self;
        rt_entry e;
        int r;

        (void)call;
        fill_entry(&e, where, 3);
        r = round_trip_emit_happened(srv->obj, value, where, &e);
        rt_entry_clear(&e);
        return r;
}

static int op_emit_shm(void *self, busrpc_call *call, uint64_t size) {
        Server *srv = self;
        busrpc_shm *data = NULL;
        int r;

        (void)call;
        r = busrpc_shm_new(size, &data);
        if (r >= 0)
                r = round_trip_emit_shared(srv->obj, data, size);
        busrpc_shm_unref(data);
        return r;
}

static int op_get_name(void *self, char **name, busrpc_error *err) {
        (void)self;
        (void)err;
        *name = xstrdup(UTF8);
        return 0;
}

static int op_get_mode(void *self, rt_color *mode, busrpc_error *err) {
        (void)err;
        *mode = ((Server *)self)->mode;
        return 0;
}

static int op_set_mode(void *self, rt_color mode, busrpc_error *err) {
        Server *srv = self;

        (void)err;
        srv->mode = mode;
        return round_trip_notify_mode(srv->obj);
}

static int op_get_stats(void *self, rt_uint32_array *stats, busrpc_error *err) {
        (void)err;
        COPY_FIXED(&((Server *)self)->stats, stats);
        return 0;
}

static int op_set_stats(void *self, const rt_uint32_array *stats, busrpc_error *err) {
        Server *srv = self;

        (void)err;
        rt_uint32_array_clear(&srv->stats);
        COPY_FIXED(stats, &srv->stats);
        return 0;
}

static int op_get_snapshot(void *self, rt_basics *snapshot, busrpc_error *err) {
        Server *srv = self;

        (void)err;
        snapshot->i = srv->secret;
        snapshot->s = xstrdup("snap");
        snapshot->o = xstrdup("/snap");
        snapshot->g = xstrdup("");
        return 0;
}

static int op_set_secret(void *self, int32_t secret, busrpc_error *err) {
        if (secret < 0)
                return busrpc_error_set(err, BUSRPC_ERROR_INVALID_ARGS, "secret must be positive");
        ((Server *)self)->secret = secret;
        return 0;
}

static const round_trip_ops ops = {
        .echo_basics = op_echo_basics,
        .ints = op_ints,
        .strings = op_strings,
        .arrays = op_arrays,
        .nested = op_nested,
        .maps = op_maps,
        .variants = op_variants,
        .enums = op_enums,
        .fds = op_fds,
        .blob = op_blob,
        .bounded = op_bounded,
        .repeat = op_repeat,
        .emit_shm = op_emit_shm,
        .divide = op_divide,
        .later = op_later,
        .poke = op_poke,
        .poked = op_poked,
        .emit = op_emit,
        .get_name = op_get_name,
        .get_mode = op_get_mode,
        .set_mode = op_set_mode,
        .get_stats = op_get_stats,
        .set_stats = op_set_stats,
        .get_snapshot = op_get_snapshot,
        .set_secret = op_set_secret,
};

static const round_trip_ops no_ops;

/* The server process: exits 0 after SIGTERM when everything went well. */
static int run_server(int ready_fd) {
        Server srv = { 0 };
        int r;

        r = busrpc_conn_open(fx.address, &srv.conn);
        if (r < 0)
                return 10;
        r = busrpc_conn_request_name(srv.conn, NAME, BUSRPC_NAME_DO_NOT_QUEUE, NULL, NULL, NULL);
        if (r != 0)
                return 11;
        r = round_trip_export(srv.conn, OBJ_PATH, &ops, &srv, &srv.obj);
        if (r < 0)
                return 12;
        /* Every op NULL: methods answer UnknownMethod, properties fail. */
        r = round_trip_export(srv.conn, EMPTY_PATH, &no_ops, NULL, NULL);
        if (r < 0)
                return 15;
        if (write(ready_fd, "R", 1) != 1)
                return 13;
        close(ready_fd);
        r = busrpc_conn_run(srv.conn);
        while (pending_laters)
                later_free(pending_laters);
        busrpc_object_release(srv.obj);
        busrpc_conn_unref(srv.conn);
        free(srv.last_poke);
        rt_uint32_array_clear(&srv.stats);
        dbus_shutdown();
        return r < 0 ? 14 : 0;
}

/* ---- the bus ---- */

/* ---- the cases ---- */

static void test_basics(void) {
        rt_basics a = { .b = true, .y = 255, .n = INT16_MIN, .q = UINT16_MAX, .i = INT32_MIN, .u = UINT32_MAX,
                        .x = INT64_MIN, .t = UINT64_MAX, .d = -1.5e300, .s = UTF8, .o = "/a/b_c/d", .g = "a{sv}(ii)" };
        rt_basics b = { .b = false, .y = 0, .n = INT16_MAX, .q = 0, .i = INT32_MAX, .u = 0, .x = INT64_MAX, .t = 0,
                        .d = 0.0, .s = "", .o = "/", .g = "" };
        rt_basics w;
        busrpc_error err = BUSRPC_ERROR_INIT;
        int r;

        r = round_trip_echo_basics(proxy, &a, &w, &err);
        is_int(r, 0, "EchoBasics with min values and UTF-8");
        if (r == 0) {
                ok(w.b == true && w.y == 255 && w.n == INT16_MIN && w.q == UINT16_MAX && w.i == INT32_MIN &&
                           w.u == UINT32_MAX && w.x == INT64_MIN && w.t == UINT64_MAX && w.d == -1.5e300,
                   "every integer survives the round trip");
                is_str(w.s, UTF8, "multi-byte UTF-8 string");
                is_str(w.o, "/a/b_c/d", "object path");
                is_str(w.g, "a{sv}(ii)", "signature");
                rt_basics_clear(&w);
                ok(w.s == NULL && w.o == NULL, "rt_basics_clear() empties the value");
        }
        r = round_trip_echo_basics(proxy, &b, &w, &err);
        is_int(r, 0, "EchoBasics with max values and empty strings");
        if (r == 0) {
                ok(!w.b && w.y == 0 && w.n == INT16_MAX && w.i == INT32_MAX && w.x == INT64_MAX && w.t == 0,
                   "max values survive");
                is_str(w.s, "", "empty string");
                is_str(w.o, "/", "root path");
                is_str(w.g, "", "empty signature");
                rt_basics_clear(&w);
        }
        busrpc_error_clear(&err);
}

static void test_ints(void) {
        uint8_t y;
        int16_t n;
        uint16_t q;
        int32_t i;
        uint32_t u;
        int64_t x;
        uint64_t t;
        bool b;
        double d;
        int r;

        r = round_trip_ints(proxy, 1, -2, 3, INT32_MIN, 5, INT64_MIN, UINT64_MAX, true, 0.25, &y, &n, &q, &i, &u, &x, &t,
                            &b, &d, NULL);
        is_int(r, 0, "Ints");
        ok(y == 1 && n == -2 && q == 3 && i == INT32_MIN && u == 5 && x == INT64_MIN && t == UINT64_MAX && b && d == 0.25,
           "nine scalar outputs");
        r = round_trip_ints(proxy, 0, 0, 0, 0, 0, 0, 0, false, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                            NULL);
        is_int(r, 0, "Ints with every output NULL (ignored)");
}

static void test_strings(void) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        char *s = NULL, *o = NULL, *g = NULL;
        int r;

        r = round_trip_strings(proxy, UTF8, "/x", "a{s(iv)}", &s, &o, &g, &err);
        is_int(r, 0, "Strings");
        is_str(s, UTF8, "string out");
        is_str(o, "/x", "objpath out");
        is_str(g, "a{s(iv)}", "signature out");
        free(s);
        free(o);
        free(g);
        s = NULL;
        r = round_trip_strings(proxy, "bad \xff utf-8", "/x", "", &s, NULL, NULL, &err);
        ok(r < 0, "invalid UTF-8 is refused before sending (%d)", r);
        ok(s == NULL, "outputs untouched on failure");
        busrpc_error_clear(&err);
        r = round_trip_strings(proxy, "x", "not a path", "", NULL, NULL, NULL, &err);
        ok(r < 0, "an invalid object path is refused (%d)", r);
        busrpc_error_clear(&err);
        r = round_trip_strings(proxy, "after", "/", "", &s, NULL, NULL, &err);
        is_int(r, 0, "the next call works");
        is_str(s, "after", "and returns its value");
        free(s);
        busrpc_error_clear(&err);
}

static void test_arrays_n(size_t n) {
        rt_int32_array ints = { xcalloc(n, 4), n }, rints;
        rt_byte_array bytes = { xcalloc(n, 1), n }, rbytes;
        rt_double_array dbls = { xcalloc(n, 8), n }, rdbls;
        rt_bool_array bools = { xcalloc(n, sizeof(bool)), n }, rbools;
        rt_string_array strs = { xcalloc(n, sizeof(char *)), n }, rstrs;
        rt_int64_array longs = { xcalloc(n, 8), n }, rlongs;
        busrpc_error err = BUSRPC_ERROR_INIT;
        bool same = true;
        char label[64];
        int r;

        for (size_t i = 0; i < n; i++) {
                char buf[32];
                ints.items[i] = (int32_t)i * 7 - 35000;
                bytes.items[i] = (uint8_t)i;
                dbls.items[i] = (double)i * 0.5;
                bools.items[i] = i % 3 == 0;
                snprintf(buf, sizeof(buf), "s%zu\xc3\xa9", i);
                strs.items[i] = xstrdup(buf);
                longs.items[i] = INT64_MIN + (int64_t)i;
        }
        r = round_trip_arrays(proxy, &ints, &bytes, &dbls, &bools, &strs, &longs, &rints, &rbytes, &rdbls, &rbools,
                              &rstrs, &rlongs, &err);
        snprintf(label, sizeof(label), "Arrays of %zu elements", n);
        is_int(r, 0, label);
        if (r == 0) {
                same = rints.n == n && rbytes.n == n && rdbls.n == n && rbools.n == n && rstrs.n == n && rlongs.n == n;
                for (size_t i = 0; same && i < n; i++)
                        same = rints.items[i] == ints.items[i] && rbytes.items[i] == bytes.items[i] &&
                               rdbls.items[i] == dbls.items[i] && rbools.items[i] == bools.items[i] &&
                               strcmp(rstrs.items[i], strs.items[i]) == 0 && rlongs.items[i] == longs.items[i];
                snprintf(label, sizeof(label), "all six arrays of %zu come back equal", n);
                ok(same, "%s", label);
                rt_int32_array_clear(&rints);
                rt_byte_array_clear(&rbytes);
                rt_double_array_clear(&rdbls);
                rt_bool_array_clear(&rbools);
                rt_string_array_clear(&rstrs);
                rt_int64_array_clear(&rlongs);
        }
        rt_int32_array_clear(&ints);
        rt_byte_array_clear(&bytes);
        rt_double_array_clear(&dbls);
        rt_bool_array_clear(&bools);
        rt_string_array_clear(&strs);
        rt_int64_array_clear(&longs);
        busrpc_error_clear(&err);
}

static void test_arrays(void) {
        test_arrays_n(0);
        test_arrays_n(1);
        test_arrays_n(BIG);
}

static void test_nested(void) {
        rt_entry_array in = { xcalloc(50, sizeof(rt_entry)), 50 }, out;
        uint32_t count = 0;
        bool same = true;
        int r;

        for (size_t i = 0; i < in.n; i++) {
                char key[32];
                snprintf(key, sizeof(key), "entry-%zu", i);
                fill_entry(&in.items[i], key, i % 2 ? 20 : 0);
                in.items[i].color = (rt_color)(i % 3);
        }
        r = round_trip_nested(proxy, &in, &out, &count, NULL);
        is_int(r, 0, "Nested: an array of structs of maps");
        is_int(count, 50, "count");
        if (r == 0) {
                same = out.n == in.n;
                for (size_t i = 0; same && i < in.n; i++) {
                        const rt_entry *a = &in.items[i], *b = &out.items[i];
                        same = strcmp(a->key, b->key) == 0 && a->color == b->color && a->values.n == b->values.n;
                        for (size_t j = 0; same && j < a->values.n; j++)
                                same = strcmp(a->values.keys[j], b->values.keys[j]) == 0 &&
                                       a->values.values[j] == b->values.values[j];
                }
                ok(same, "the nested containers come back equal (empty maps included)");
                rt_entry_array_clear(&out);
        }
        rt_entry_array_clear(&in);
}

static void test_maps(void) {
        rt_string_uint32_map m = { xcalloc(1000, sizeof(char *)), xcalloc(1000, 4), 1000 }, rm;
        rt_uint32_string_array_map lists = { xcalloc(100, 4), xcalloc(100, sizeof(rt_string_array)), 100 }, rlists;
        bool same;
        int r;

        for (size_t i = 0; i < m.n; i++) {
                char buf[32];
                snprintf(buf, sizeof(buf), "key-%zu", i);
                m.keys[i] = xstrdup(buf);
                m.values[i] = (uint32_t)(UINT32_MAX - i);
        }
        for (size_t i = 0; i < lists.n; i++) {
                lists.keys[i] = (uint32_t)i * 3;
                lists.values[i].n = i % 4;
                lists.values[i].items = xcalloc(i % 4, sizeof(char *));
                for (size_t j = 0; j < i % 4; j++)
                        lists.values[i].items[j] = xstrdup(j ? "two" : "");
        }
        r = round_trip_maps(proxy, &m, &lists, &rm, &rlists, NULL);
        is_int(r, 0, "Maps: 1,000 entries, and a map of arrays");
        if (r == 0) {
                same = rm.n == m.n && rlists.n == lists.n;
                for (size_t i = 0; same && i < m.n; i++)
                        same = strcmp(rm.keys[i], m.keys[i]) == 0 && rm.values[i] == m.values[i];
                for (size_t i = 0; same && i < lists.n; i++) {
                        same = rlists.keys[i] == lists.keys[i] && rlists.values[i].n == lists.values[i].n;
                        for (size_t j = 0; same && j < lists.values[i].n; j++)
                                same = strcmp(rlists.values[i].items[j], lists.values[i].items[j]) == 0;
                }
                ok(same, "both maps come back equal, in order");
                rt_string_uint32_map_clear(&rm);
                rt_uint32_string_array_map_clear(&rlists);
        }
        rt_string_uint32_map_clear(&m);
        rt_uint32_string_array_map_clear(&lists);
}

static int build_dict(busrpc_iter *it, void *userdata) {
        busrpc_iter arr, entry;
        int r;

        (void)userdata;
        r = busrpc_iter_open(it, BUSRPC_TYPE_ARRAY, "{si}", &arr);
        for (int i = 0; r >= 0 && i < 3; i++) {
                const char *k = i == 0 ? "one" : i == 1 ? "two" : "three";
                int32_t v = i + 1;
                r = busrpc_iter_open(&arr, BUSRPC_TYPE_DICT_ENTRY, NULL, &entry);
                if (r >= 0)
                        r = busrpc_iter_append_basic(&entry, BUSRPC_TYPE_STRING, &k);
                if (r >= 0)
                        r = busrpc_iter_append_basic(&entry, BUSRPC_TYPE_INT32, &v);
                if (r >= 0)
                        r = busrpc_iter_close(&arr, &entry);
        }
        if (r >= 0)
                r = busrpc_iter_close(it, &arr);
        return r;
}

static void test_variants(void) {
        busrpc_variant *dict = NULL, *items[4] = { NULL }, *rv = NULL, *inner = NULL;
        rt_variant_array vs = { items, 4 }, rvs;
        bool same;
        int r;

        ok(busrpc_variant_new_built("a{si}", build_dict, NULL, &dict) == 0, "built a variant holding a{si}");
        busrpc_variant_new_int32(42, &items[0]);
        busrpc_variant_new_string(UTF8, &items[1]);
        busrpc_variant_new_uint64(7, &inner);
        busrpc_variant_new_variant(inner, &items[2]);
        items[3] = busrpc_variant_ref(dict);
        r = round_trip_variants(proxy, dict, &vs, &rv, &rvs, NULL);
        is_int(r, 0, "Variants: a container, and an array of variants");
        if (r == 0) {
                ok(busrpc_variant_equal(rv, dict), "the a{si} variant comes back equal");
                is_str(busrpc_variant_get_signature(rv), "a{si}", "with its signature");
                same = rvs.n == 4;
                for (size_t i = 0; same && i < 4; i++)
                        same = busrpc_variant_equal(rvs.items[i], items[i]);
                ok(same, "int32, string, variant-in-variant and dict come back equal");
                busrpc_variant_unref(rv);
                rt_variant_array_clear(&rvs);
        }
        for (size_t i = 0; i < 4; i++)
                busrpc_variant_unref(items[i]);
        busrpc_variant_unref(inner);
        busrpc_variant_unref(dict);
}

/* A raw Enums call with values the generated client cannot send. */
static int raw_enums(uint32_t c, uint16_t perm, busrpc_error *err) {
        busrpc_msg *m = NULL;
        busrpc_iter it;
        int r;

        r = busrpc_proxy_method_new(proxy, ROUND_TRIP_INTERFACE_NAME, "Enums", &m);
        if (r >= 0)
                r = busrpc_msg_append(m, &it);
        if (r >= 0)
                r = busrpc_iter_append_basic(&it, BUSRPC_TYPE_UINT32, &c);
        if (r >= 0)
                r = busrpc_iter_append_basic(&it, BUSRPC_TYPE_UINT16, &perm);
        if (r < 0) {
                busrpc_msg_unref(m);
                return r;
        }
        return busrpc_proxy_call(proxy, m, "uq", NULL, err);
}

static void test_enums(void) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        rt_color c = RT_COLOR_RED;
        rt_perm p = 0;
        int r;

        r = round_trip_enums(proxy, RT_COLOR_GREEN, RT_PERM_READ | RT_PERM_EXEC, &c, &p, &err);
        is_int(r, 0, "Enums");
        ok(c == RT_COLOR_GREEN && p == (RT_PERM_READ | RT_PERM_EXEC), "enum and flags come back");
        ok(rt_color_is_valid(2) && !rt_color_is_valid(3), "rt_color_is_valid()");
        ok(rt_perm_is_valid(7) && !rt_perm_is_valid(8), "rt_perm_is_valid()");
        is_str(rt_color_to_string(RT_COLOR_BLUE), "BLUE", "rt_color_to_string()");
        r = raw_enums(7, 1, &err);
        ok(r == -EREMOTEIO && busrpc_error_has_name(&err, BUSRPC_ERROR_INVALID_ARGS),
           "an unknown enum value from the wire is InvalidArgs (%d %s)", r, err.message ? err.message : "");
        busrpc_error_clear(&err);
        r = raw_enums(1, 8, &err);
        ok(r == -EREMOTEIO && busrpc_error_has_name(&err, BUSRPC_ERROR_INVALID_ARGS),
           "an unknown flag bit is InvalidArgs (%d)", r);
        busrpc_error_clear(&err);
        r = raw_enums(2, 3, &err);
        is_int(r, 0, "valid raw values are accepted");
        busrpc_error_clear(&err);
}

static bool same_file(int a, int b) {
        struct stat sa, sb;
        return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static void test_fds(void) {
        int before = fixture_count_fds(), p[2], many_fds[5], ra = -1;
        rt_fd_array many = { many_fds, 5 }, rmany;
        rt_holder h, rh;
        busrpc_error err = BUSRPC_ERROR_INIT;
        bool same = true;
        char buf[8] = { 0 };
        int r;

        if (pipe(p) < 0)
                tap_bail("pipe");
        for (int i = 0; i < 5; i++)
                many_fds[i] = open(i % 2 ? "/dev/null" : "/dev/zero", O_RDONLY | O_CLOEXEC);
        rt_holder_init(&h);
        ok(h.handle == -1, "rt_holder_init() sets the fd to -1");
        h.handle = p[0];
        h.note = "pipe";
        r = round_trip_fds(proxy, p[1], &many, &h, &ra, &rmany, &rh, &err);
        is_int(r, 0, "Fds: one, an array of five, one in a struct");
        if (r == 0) {
                ok(ra >= 0 && write(ra, "hi", 2) == 2 && read(p[0], buf, 2) == 2 && strcmp(buf, "hi") == 0,
                   "the returned fd is the same pipe");
                same = rmany.n == 5;
                for (size_t i = 0; same && i < 5; i++)
                        same = same_file(rmany.items[i], many_fds[i]);
                ok(same, "the five fds come back (same files)");
                ok(same_file(rh.handle, p[0]), "the fd inside the struct comes back");
                is_str(rh.note, "pipe", "next to its string");
                close(ra);
                rt_fd_array_clear(&rmany);
                rt_holder_clear(&rh);
                ok(rh.handle == -1, "rt_holder_clear() closes and resets the fd");
        }
        /* Outputs passed as NULL are released by the stub: seven received
         * fds (one, five, one in the struct) closed, none left open. */
        r = round_trip_fds(proxy, p[1], &many, &h, NULL, NULL, NULL, &err);
        is_int(r, 0, "Fds with every output NULL");
        is_int(fixture_count_fds(), before + 7, "the fds received for them are closed (only the 7 sent are open)");
        for (int i = 0; i < 5; i++)
                close(many_fds[i]);
        close(p[0]);
        close(p[1]);
        is_int(fixture_count_fds(), before, "no fd leaked in the client");
        busrpc_error_clear(&err);
}

static void test_shm(void) {
        busrpc_shm *data = NULL, *copy = NULL;
        uint64_t size = 0, sum = 0, want = 0;
        unsigned char *p;
        int r;

        r = busrpc_shm_new(SHM_SIZE, &data);
        is_int(r, 0, "a 64 MiB shm");
        if (r < 0)
                return;
        p = busrpc_shm_data(data);
        for (size_t i = 0; i < SHM_SIZE; i++) {
                p[i] = (unsigned char)(i * 31 + (i >> 12));
                want += p[i];
        }
        r = round_trip_blob(proxy, data, &size, &sum, &copy, NULL);
        is_int(r, 0, "Blob: the shm travels as a sealed memfd");
        is_int(size, SHM_SIZE, "the server saw 64 MiB");
        ok(sum == want, "and summed the same bytes");
        ok(busrpc_shm_is_sealed(data), "sending sealed the caller's shm");
        if (copy) {
                ok(busrpc_shm_size(copy) == 4096 && memcmp(busrpc_shm_const_data(copy), busrpc_shm_const_data(data), 4096) == 0,
                   "a shm output comes back with its contents");
                busrpc_shm_unref(copy);
        }
        busrpc_shm_unref(data);
}

/* Open fds of the server process. */
static int count_server_fds(void) {
        char path[64];
        DIR *d;
        struct dirent *e;
        int n = 0;

        snprintf(path, sizeof(path), "/proc/%d/fd", (int)fx.server_pid);
        d = opendir(path);
        if (!d)
                return -1;
        while ((e = readdir(d)))
                n += e->d_name[0] != '.';
        closedir(d);
        return n;
}

/* Wait until the server holds at most @n fds: it closes a call's fds
 * when the call is done, which may be just after its reply is sent. */
static bool server_fds_back_to(int n) {
        for (int i = 0; i < 1000 && count_server_fds() > n; i++)
                usleep(10000);
        return n > 0 && count_server_fds() <= n;
}

/* A sealed sparse memfd of @size bytes: costs its sender nothing. */
static int sparse_memfd(uint64_t size) {
        int fd = memfd_create("sparse", MFD_ALLOW_SEALING | MFD_CLOEXEC);

        if (fd >= 0 && (ftruncate(fd, (off_t)size) < 0 ||
                        fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0)) {
                close(fd);
                fd = -1;
        }
        return fd;
}

static busrpc_shm *filled_shm(size_t size) {
        busrpc_shm *s = NULL;

        if (busrpc_shm_new(size, &s) < 0)
                return NULL;
        if (size)
                memset(busrpc_shm_data(s), 0x5a, size);
        return s;
}

static int blob_r = 1;

static void blob_done(int r, const busrpc_error *err, uint64_t size, uint64_t sum, busrpc_shm *copy, void *userdata) {
        (void)size;
        (void)sum;
        (void)userdata;
        blob_r = r == -EFBIG && !copy && busrpc_error_has_name(err, BUSRPC_ERROR_INVALID_ARGS) ? r : r - 1000;
}

static void test_shm_bounds(void) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_shm *data = filled_shm(64 << 10), *over = filled_shm((64 << 10) + 1), *made = NULL, *copy = NULL;
        rt_framed f = { filled_shm(4 << 10), 7 }, fover = { filled_shm((4 << 10) + 1), 8 };
        uint64_t size = 0, sum = 0;
        int r, sfds, cfds;

        if (!data || !over || !f.data || !fover.data)
                tap_bail("cannot make shm buffers");
        r = round_trip_bounded(proxy, data, &f, 64 << 10, &size, &made, &err);
        is_int(r, 0, "Bounded: 64 KiB under @max_size(\"64K\"), 4 KiB under the field's @max_size(\"4K\")");
        is_int(size, (64 << 10) + (4 << 10), "the server mapped both");
        ok(made && busrpc_shm_size(made) == 64 << 10, "a 64 KiB shm output is taken");
        made = busrpc_shm_unref(made);

        sfds = count_server_fds();
        cfds = fixture_count_fds();
        r = round_trip_bounded(proxy, over, &f, 1, &size, &made, &err);
        is_int(r, -EREMOTEIO, "one byte over the argument's @max_size: refused");
        ok(busrpc_error_has_name(&err, BUSRPC_ERROR_INVALID_ARGS), "with InvalidArgs (%s)", err.message);
        busrpc_error_clear(&err);
        r = round_trip_bounded(proxy, data, &fover, 1, &size, &made, &err);
        ok(r == -EREMOTEIO && busrpc_error_has_name(&err, BUSRPC_ERROR_INVALID_ARGS),
           "one byte over a struct field's @max_size: InvalidArgs");
        busrpc_error_clear(&err);
        ok(server_fds_back_to(sfds), "the server closed every refused fd");

        r = round_trip_bounded(proxy, data, &f, (64 << 10) + 1, &size, &made, &err);
        is_int(r, -EFBIG, "a shm output over its @max_size: the stub fails with -EFBIG");
        ok(busrpc_error_has_name(&err, BUSRPC_ERROR_INVALID_ARGS) && !made, "InvalidArgs, nothing returned");
        busrpc_error_clear(&err);
        is_int(fixture_count_fds(), cfds, "the client closed the refused fd");

        /* The connection's bound, for outputs without @max_size. */
        is_int(busrpc_conn_get_max_shm_size(conn), BUSRPC_MAX_SHM_SIZE_DEFAULT, "default bound: 256 MiB");
        is_int(busrpc_conn_set_max_shm_size(conn, 4095), 0, "busrpc_conn_set_max_shm_size(4095)");
        is_int(busrpc_conn_get_max_shm_size(conn), 4095, "in force");
        r = round_trip_blob(proxy, f.data, &size, &sum, &copy, &err);
        ok(r == -EFBIG && !copy, "Blob's 4 KiB output over the connection's bound: -EFBIG");
        busrpc_error_clear(&err);
        is_int(round_trip_blob_async(proxy, f.data, blob_done, NULL, NULL), 0, "the same, async");
        for (int i = 0; i < 200 && blob_r == 1; i++)
                busrpc_loop_iterate(busrpc_conn_get_loop(conn), 50 * BUSRPC_USEC_PER_MSEC);
        is_int(blob_r, -EFBIG, "the async callback gets -EFBIG, InvalidArgs and no shm");
        is_int(busrpc_conn_set_max_shm_size(conn, 0), 0, "0 restores the default");
        r = round_trip_blob(proxy, f.data, &size, &sum, &copy, &err);
        ok(r == 0 && copy && busrpc_shm_size(copy) == 4096, "and the same output is taken again");
        copy = busrpc_shm_unref(copy);
        is_int(busrpc_conn_set_max_shm_size(NULL, 1), -EINVAL, "set on NULL: -EINVAL");
        is_int(fixture_count_fds(), cfds, "no fd leaked on the client");

        busrpc_shm_unref(data);
        busrpc_shm_unref(over);
        busrpc_shm_unref(f.data);
        busrpc_shm_unref(fover.data);
}

/* Sealed sparse memfds of 4 GiB and 1 TiB: a 200-byte message each. The
 * server's default bound (256 MiB) refuses them before anything maps or
 * sums them, and goes on serving. */
static void test_shm_sparse(void) {
        static const uint64_t sizes[] = { UINT64_C(4) << 30, UINT64_C(1) << 40 };
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_shm *ok_shm = filled_shm(1000), *copy = NULL;
        uint64_t size = 0, sum = 0;
        int sfds = count_server_fds();

        for (size_t i = 0; i < 2; i++) {
                int fd = sparse_memfd(sizes[i]), r;
                busrpc_msg *m = NULL;
                busrpc_iter it;

                ok(fd >= 0, "a sealed sparse memfd of %llu GiB", (unsigned long long)(sizes[i] >> 30));
                if (fd < 0)
                        continue;
                /* Sent as it is (a stub would map it on this side first). */
                r = busrpc_proxy_method_new(proxy, ROUND_TRIP_INTERFACE_NAME, "Blob", &m);
                if (r >= 0)
                        r = busrpc_msg_append(m, &it);
                if (r >= 0)
                        r = busrpc_iter_append_fd(&it, fd);
                close(fd);
                if (r < 0) {
                        busrpc_msg_unref(m);
                        ok(0, "Blob message built (%s)", strerror(-r));
                        continue;
                }
                busrpc_proxy_set_next_timeout(proxy, 10000 * BUSRPC_USEC_PER_MSEC);
                r = busrpc_proxy_call(proxy, m, "tth", NULL, &err);
                is_int(r, -EREMOTEIO, "Blob with it: refused");
                ok(busrpc_error_has_name(&err, BUSRPC_ERROR_INVALID_ARGS), "InvalidArgs (%s)",
                   err.message ? err.message : "");
                busrpc_error_clear(&err);
        }
        ok(server_fds_back_to(sfds), "the server holds no fd of them");
        ok(round_trip_blob(proxy, ok_shm, &size, &sum, &copy, NULL) == 0 && size == 1000 && sum == 1000u * 0x5a,
           "and serves the next caller");
        busrpc_shm_unref(copy);
        busrpc_shm_unref(ok_shm);
}

static void fill_keys(rt_string_uint32_map *m, size_t n) {
        m->keys = xcalloc(n, sizeof(char *));
        m->values = xcalloc(n, sizeof(uint32_t));
        for (m->n = 0; m->n < n; m->n++) {
                char buf[32];
                snprintf(buf, sizeof(buf), "key-%zu", m->n);
                m->keys[m->n] = xstrdup(buf);
                m->values[m->n] = (uint32_t)m->n;
        }
}

static bool repeat_failed;
static int repeat_r;

static void repeat_done(int r, const busrpc_error *err, const rt_string_uint32_map *m, void *userdata) {
        (void)m;
        (void)userdata;
        repeat_r = r;
        repeat_failed = busrpc_error_has_name(err, BUSRPC_ERROR_INVALID_ARGS);
}

static void test_duplicate_keys(void) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        rt_string_uint32_map m = { 0 }, rm = { 0 };
        rt_uint32_string_array_map lists = { xcalloc(3, 4), xcalloc(3, sizeof(rt_string_array)), 3 }, rlists;
        rt_uint32_string_array_map none = { 0 };
        int r;

        /* The generated client sends what it is given, duplicates too. */
        fill_keys(&m, BIG);
        r = round_trip_maps(proxy, &m, &none, &rm, &rlists, &err);
        is_int(r, 0, "Maps: 10,000 distinct keys pass");
        if (r == 0) {
                rt_string_uint32_map_clear(&rm);
                rt_uint32_string_array_map_clear(&rlists);
        }
        free(m.keys[BIG - 1]);
        m.keys[BIG - 1] = xstrdup("key-0");
        r = round_trip_maps(proxy, &m, &none, &rm, &rlists, &err);
        is_int(r, -EREMOTEIO, "10,000 keys, the last one repeating the first: refused");
        ok(busrpc_error_has_name(&err, BUSRPC_ERROR_INVALID_ARGS) && strstr(err.message, "duplicate key"),
           "with InvalidArgs (%s)", err.message ? err.message : "");
        busrpc_error_clear(&err);
        rt_string_uint32_map_clear(&m);

        fill_keys(&m, 1);
        lists.keys[0] = 5;
        lists.keys[1] = 6;
        lists.keys[2] = 5;
        r = round_trip_maps(proxy, &m, &lists, &rm, &rlists, &err);
        ok(r == -EREMOTEIO && busrpc_error_has_name(&err, BUSRPC_ERROR_INVALID_ARGS),
           "a uint32 key twice (map<uint32, string[]>): InvalidArgs");
        busrpc_error_clear(&err);
        rt_string_uint32_map_clear(&m);
        rt_uint32_string_array_map_clear(&lists);

        /* Replies: the service's generated code sends duplicates as given. */
        r = round_trip_repeat(proxy, "k", 1, &rm, &err);
        ok(r == 0 && rm.n == 1, "Repeat once: one key");
        rt_string_uint32_map_clear(&rm);
        rm.n = 77;
        r = round_trip_repeat(proxy, "k", 2, &rm, &err);
        is_int(r, -ENOTUNIQ, "a reply with a key twice: the stub fails with -ENOTUNIQ");
        ok(busrpc_error_has_name(&err, BUSRPC_ERROR_INVALID_ARGS), "InvalidArgs (%s)",
           err.message ? err.message : "");
        ok(rm.n == 77, "the output is not written");
        busrpc_error_clear(&err);
        r = round_trip_repeat_async(proxy, "k", 3, repeat_done, NULL, NULL);
        is_int(r, 0, "Repeat async");
        repeat_r = 1;
        for (int i = 0; i < 200 && repeat_r == 1; i++)
                busrpc_loop_iterate(busrpc_conn_get_loop(conn), 50 * BUSRPC_USEC_PER_MSEC);
        ok(repeat_r == -ENOTUNIQ && repeat_failed, "the async callback gets -ENOTUNIQ and InvalidArgs");
}

static void test_errors(void) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        int32_t q = 99;
        int r;

        r = round_trip_divide(proxy, 7, 0, &q, &err);
        is_int(r, -EREMOTEIO, "a declared error is -EREMOTEIO");
        is_str(err.name, ROUND_TRIP_ERROR_DIVIDE_BY_ZERO, "with the declared D-Bus error name");
        is_str(err.message, "cannot divide 7 by zero", "and the formatted message");
        is_int(q, 99, "the output is untouched");
        busrpc_error_clear(&err);
        r = round_trip_divide(proxy, 7, 2, &q, &err);
        ok(r == 0 && q == 3, "the next call works");
}

static void test_deferred(void) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        int32_t back = 0;
        int r;

        r = round_trip_later(proxy, 50, -42, &back, &err);
        is_int(r, 0, "a deferred reply (the op returned BUSRPC_DEFER)");
        if (r < 0)
                tap_diag("error: %s: %s", err.name ? err.name : "-", err.message ? err.message : "-");
        is_int(back, -42, "carries the value given to round_trip_later_reply()");
        busrpc_error_clear(&err);
}

typedef struct Done {
        bool done;
        int r;
        int32_t q;
        char *err_name;
        int calls;
} Done;

static void divide_done(int r, const busrpc_error *err, int32_t q, void *userdata) {
        Done *d = userdata;

        d->done = true;
        d->calls++;
        d->r = r;
        d->q = q;
        free(d->err_name);
        d->err_name = err && err->name ? xstrdup(err->name) : NULL;
}

static void later_done(int r, const busrpc_error *err, int32_t back, void *userdata) {
        divide_done(r, err, back, userdata);
}

static void test_async(void) {
        Done a = { 0 }, b = { 0 }, c = { 0 };
        busrpc_pending *pending = NULL;
        int r;

        r = round_trip_divide_async(proxy, 84, 2, divide_done, &a, NULL);
        is_int(r, 0, "async call sent");
        fixture_wait_for(conn, &a.done);
        ok(a.done && a.r == 0 && a.q == 42 && a.err_name == NULL, "its callback got 42 and no error");

        r = round_trip_divide_async(proxy, 1, 0, divide_done, &b, NULL);
        fixture_wait_for(conn, &b.done);
        ok(b.done && b.r == -EREMOTEIO && b.err_name && strcmp(b.err_name, ROUND_TRIP_ERROR_DIVIDE_BY_ZERO) == 0,
           "an async declared error reaches the callback");

        r = round_trip_later_async(proxy, 3000, 5, later_done, &c, &pending);
        is_int(r, 0, "a slow async call");
        busrpc_pending_cancel(pending);
        ok(c.done && c.r < 0 && c.calls == 1, "cancel runs the callback once, at once (%d)", c.r);
        busrpc_pending_unref(pending);
        busrpc_loop_iterate(busrpc_conn_get_loop(conn), 100 * BUSRPC_USEC_PER_MSEC);
        is_int(c.calls, 1, "and never again");

        /* No callback: the stub passes no trampoline and the reply is
         * dropped. It came before the next sync call's reply (the service
         * answers in order), so dispatching what is queued then drops it. */
        r = round_trip_divide_async(proxy, 9, 3, NULL, NULL, NULL);
        is_int(r, 0, "an async call without a callback is sent");
        r = round_trip_divide(proxy, 10, 5, &c.q, NULL);
        ok(r == 0 && c.q == 2, "the next call gets its own reply (%d, %d)", r, c.q);
        while (busrpc_loop_iterate(busrpc_conn_get_loop(conn), 0) > 0)
                ;
        r = round_trip_divide(proxy, 12, 4, &c.q, NULL);
        ok(r == 0 && c.q == 3 && c.calls == 1, "the dropped reply reached no callback (%d, %d)", r, c.q);
        free(a.err_name);
        free(b.err_name);
        free(c.err_name);
}

static void test_noreply(void) {
        char *last = NULL;
        int r;

        r = round_trip_poke(proxy, "poked " UTF8, NULL);
        is_int(r, 0, "@noreply call sent");
        r = round_trip_poked(proxy, &last, NULL);
        is_int(r, 0, "a later call");
        is_str(last, "poked " UTF8, "sees what the @noreply call did");
        free(last);
}

typedef struct Sig {
        bool got;
        int64_t value;
        char *where;
        size_t n_values;
        rt_color color;
} Sig;

static void on_happened(int64_t value, const char *where, const rt_entry *entry, void *userdata) {
        Sig *s = userdata;

        s->got = true;
        s->value = value;
        free(s->where);
        s->where = xstrdup(where);
        s->n_values = entry->values.n;
        s->color = entry->color;
}

static void test_signals(void) {
        Sig s = { 0 };
        busrpc_subscription *sub = NULL;
        int r;

        r = round_trip_on_happened(proxy, on_happened, &s, &sub);
        is_int(r, 0, "subscribed to Happened");
        r = round_trip_emit(proxy, INT64_MIN, UTF8, NULL);
        is_int(r, 0, "asked the server to emit");
        fixture_wait_for(conn, &s.got);
        ok(s.got, "the signal arrived");
        ok(s.value == INT64_MIN, "with its int64");
        is_str(s.where, UTF8, "its string");
        ok(s.n_values == 3 && s.color == RT_COLOR_BLUE, "and its struct of a map");
        busrpc_subscription_release(sub);
        free(s.where);
}

static uint64_t shared_sizes[4];
static size_t n_shared;

static void on_shared(busrpc_shm *data, uint64_t size, void *userdata) {
        (void)userdata;
        if (n_shared < 4 && busrpc_shm_size(data) == size)
                shared_sizes[n_shared++] = size;
}

/* A signal's shm is bounded by the connection's bound when subscribing;
 * one over it is dropped (its fd closed), the next still arrives. */
static void test_signal_shm(void) {
        busrpc_subscription *sub = NULL;
        bool two = false;
        int n = fixture_count_fds();

        busrpc_conn_set_max_shm_size(conn, 4096);
        is_int(round_trip_on_shared(proxy, on_shared, NULL, &sub), 0, "subscribed to Shared with a 4096-byte bound");
        busrpc_conn_set_max_shm_size(conn, 0);
        ok(round_trip_emit_shm(proxy, 4096, NULL) == 0 && round_trip_emit_shm(proxy, 4097, NULL) == 0 &&
                   round_trip_emit_shm(proxy, 100, NULL) == 0,
           "the server emitted 4096, 4097 and 100 bytes");
        for (int i = 0; i < 100 && n_shared < 2; i++)
                busrpc_loop_iterate(busrpc_conn_get_loop(conn), 50 * BUSRPC_USEC_PER_MSEC);
        two = n_shared == 2 && shared_sizes[0] == 4096 && shared_sizes[1] == 100;
        ok(two, "4096 and 100 arrived, 4097 was dropped (%zu signals)", n_shared);
        busrpc_subscription_release(sub);
        is_int(fixture_count_fds(), n, "no fd kept");
}

static void test_properties(void) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        round_trip_properties all;
        rt_uint32_array stats = { (uint32_t[]){ 0, 1, UINT32_MAX }, 3 }, got;
        rt_basics snap;
        rt_color mode = RT_COLOR_RED;
        char *name = NULL;
        int r;

        r = round_trip_get_name(proxy, &name, &err);
        is_int(r, 0, "get Name");
        is_str(name, UTF8, "a multi-byte string property");
        free(name);
        r = round_trip_set_mode(proxy, RT_COLOR_BLUE, &err);
        is_int(r, 0, "set Mode");
        r = round_trip_get_mode(proxy, &mode, &err);
        ok(r == 0 && mode == RT_COLOR_BLUE, "get Mode returns what was set");
        r = round_trip_set_stats(proxy, &stats, &err);
        is_int(r, 0, "set an array property");
        r = round_trip_get_stats(proxy, &got, &err);
        ok(r == 0 && got.n == 3 && got.items[2] == UINT32_MAX, "and get it back");
        if (r == 0)
                rt_uint32_array_clear(&got);
        r = round_trip_set_secret(proxy, 1234, &err);
        is_int(r, 0, "set a writeonly property");
        r = round_trip_set_secret(proxy, -1, &err);
        ok(r < 0 && busrpc_error_has_name(&err, BUSRPC_ERROR_INVALID_ARGS), "a setter's error reaches the caller");
        busrpc_error_clear(&err);
        r = round_trip_get_snapshot(proxy, &snap, &err);
        ok(r == 0 && snap.i == 1234, "a struct property");
        if (r == 0)
                rt_basics_clear(&snap);
        r = round_trip_get_all(proxy, &all, &err);
        is_int(r, 0, "GetAll");
        if (r == 0) {
                ok(all.has.name && all.has.mode && all.has.stats && all.has.snapshot, "has every readable property");
                is_str(all.name, UTF8, "Name in GetAll");
                ok(all.mode == RT_COLOR_BLUE && all.stats.n == 3 && all.snapshot.i == 1234, "values in GetAll");
                round_trip_properties_clear(&all);
        }
        busrpc_error_clear(&err);
}

static void test_wrong_signature(void) {
        char cmd[512], out[1024] = { 0 };
        FILE *f;
        size_t n;
        int status, r;
        int32_t q = 0;

        snprintf(cmd, sizeof(cmd),
                 "dbus-send --bus=%s --print-reply --dest=%s %s %s.Divide string:x 2>&1", fx.address, NAME, OBJ_PATH,
                 ROUND_TRIP_INTERFACE_NAME);
        f = popen(cmd, "r");
        if (!f)
                tap_bail("popen dbus-send");
        n = fread(out, 1, sizeof(out) - 1, f);
        out[n] = '\0';
        status = pclose(f);
        ok(status != 0 && strstr(out, BUSRPC_ERROR_INVALID_ARGS), "dbus-send with a wrong signature gets InvalidArgs");
        if (!strstr(out, BUSRPC_ERROR_INVALID_ARGS))
                tap_diag("dbus-send said: %s", out);
        r = round_trip_divide(proxy, 6, 3, &q, NULL);
        ok(r == 0 && q == 2, "and the next good call still works");
}

static void test_introspect(void) {
        busrpc_msg *m = NULL, *reply = NULL;
        busrpc_iter it;
        const char *xml = NULL;
        int r;

        r = busrpc_proxy_method_new(proxy, "org.freedesktop.DBus.Introspectable", "Introspect", &m);
        if (r >= 0)
                r = busrpc_proxy_call(proxy, m, "s", &reply, NULL);
        is_int(r, 0, "Introspect");
        if (r < 0)
                return;
        busrpc_msg_read(reply, &it);
        busrpc_iter_get_basic(&it, BUSRPC_TYPE_STRING, &xml);
        ok(xml && strstr(xml, "<interface name=\"org.busrpc.test.RoundTrip\">") &&
                   strstr(xml, "<method name=\"EchoBasics\">") && strstr(xml, "<signal name=\"Happened\">") &&
                   strstr(xml, "<property name=\"Secret\" type=\"i\" access=\"write\"/>"),
           "serves the generated <interface> element");
        busrpc_msg_unref(reply);
}

static void test_null_ops(void) {
        busrpc_proxy *empty = NULL;
        busrpc_error err = BUSRPC_ERROR_INIT;
        char *name = NULL;
        int32_t q = 0;
        int r;

        r = round_trip_proxy_new(conn, NAME, EMPTY_PATH, &empty);
        is_int(r, 0, "a proxy for the object with no ops");
        r = round_trip_divide(empty, 1, 1, &q, &err);
        ok(r == -EREMOTEIO && busrpc_error_has_name(&err, BUSRPC_ERROR_UNKNOWN_METHOD),
           "a NULL op answers UnknownMethod (%s)", err.name ? err.name : "-");
        busrpc_error_clear(&err);
        r = round_trip_get_name(empty, &name, &err);
        ok(r < 0 && busrpc_error_is_set(&err) && name == NULL, "a NULL getter is an error (%s)",
           err.name ? err.name : "-");
        busrpc_error_clear(&err);
        r = round_trip_divide(proxy, 9, 3, &q, &err);
        ok(r == 0 && q == 3, "the real object still answers");
        busrpc_proxy_unref(empty);
}

int main(void) {
        int status = -1, r;

        fixture_start_daemon(&fx, "rt", "  <limit name=\"max_message_unix_fds\">64</limit>\n");
        fixture_start_server(&fx, run_server);
        r = busrpc_conn_open(fx.address, &conn);
        if (r < 0)
                tap_bail("cannot connect to %s: %s", fx.address, strerror(-r));
        r = round_trip_proxy_new(conn, NAME, OBJ_PATH, &proxy);
        if (r < 0)
                tap_bail("round_trip_proxy_new: %s", strerror(-r));

        TAP_RUN(test_basics);
        TAP_RUN(test_ints);
        TAP_RUN(test_strings);
        TAP_RUN(test_arrays);
        TAP_RUN(test_nested);
        TAP_RUN(test_maps);
        TAP_RUN(test_variants);
        TAP_RUN(test_enums);
        TAP_RUN(test_fds);
        TAP_RUN(test_shm);
        TAP_RUN(test_shm_bounds);
        TAP_RUN(test_shm_sparse);
        TAP_RUN(test_duplicate_keys);
        TAP_RUN(test_errors);
        TAP_RUN(test_deferred);
        TAP_RUN(test_async);
        TAP_RUN(test_noreply);
        TAP_RUN(test_signals);
        TAP_RUN(test_signal_shm);
        TAP_RUN(test_properties);
        TAP_RUN(test_wrong_signature);
        TAP_RUN(test_null_ops);
        TAP_RUN(test_introspect);

        busrpc_proxy_unref(proxy);
        busrpc_conn_unref(conn);
        status = fixture_stop(&fx);
        ok(status == 0, "the server stopped cleanly on SIGTERM (status %d)", status);
        dbus_shutdown();
        return tap_done();
}
