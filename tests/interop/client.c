/* client.c: a generated busrpc client checking an org.busrpc.Interop service
 * (H9). Every check compares the returned VALUES with the rules written in
 * interop.idl; the service may be the python-dbus one (service.py) or the
 * busrpc one (service.c), on a bus or on a peer socket.
 *
 * Usage: interop-client --bus ADDRESS --dest NAME [--path PATH]
 *        interop-client --peer ADDRESS [--path PATH]
 * Prints TAP (tests/tap.h); exit status 0 when every check passed. The
 * properties are put back to their initial values at the end, so the
 * client can run again against the same service.
 */
#include <dbus/dbus.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "interop.h"
#include "tap.h"

#define UTF8 "h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80"
#define BLOB_SIZE 100000u

static busrpc_proxy *proxy;
static busrpc_loop *loop;

static void err_diag(int r, const busrpc_error *e) {
        if (r < 0)
                tap_diag("  r = %d (%s), error %s: %s", r, strerror(-r), e->name ? e->name : "(none)",
                         e->message ? e->message : "");
}

/* Run the loop until *flag reaches want or 5 s pass. */
static void wait_until(const int *flag, int want) {
        struct timespec t0, t;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        while (*flag < want) {
                clock_gettime(CLOCK_MONOTONIC, &t);
                if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > 5000)
                        return;
                busrpc_loop_iterate(loop, 100 * BUSRPC_USEC_PER_MSEC);
        }
}

static void test_basics(void) {
        busrpc_error e = BUSRPC_ERROR_INIT;
        bool ob = true;
        uint8_t oy = 9;
        int16_t on = 9;
        uint16_t oq = 9;
        int32_t oi = 9;
        uint32_t ou = 9;
        int64_t ox = 9;
        uint64_t ot = 9;
        double od = 0;
        char *os = NULL, *oo = NULL, *og = NULL;
        int r;

        r = iop_basics(proxy, true, 255, INT16_MIN, UINT16_MAX, 0x40000001, UINT32_MAX, INT64_MIN, UINT64_MAX, 1.25,
                       UTF8, "/a/b", "a{sv}", &ob, &oy, &on, &oq, &oi, &ou, &ox, &ot, &od, &os, &oo, &og, &e);
        is_int(r, 0, "Basics: call succeeds");
        err_diag(r, &e);
        is_int(ob, false, "Basics: bool negated");
        is_int(oy, 0, "Basics: byte 255 + 1 wraps to 0");
        is_int(on, INT16_MAX, "Basics: int16 min - 1 wraps to max");
        is_int(oq, 0, "Basics: uint16 max + 1 wraps to 0");
        is_int(oi, (int32_t)0x80000002u, "Basics: int32 0x40000001 * 2 wraps");
        is_int(ou, 0, "Basics: uint32 max + 1 wraps to 0");
        ok(ox == INT64_MAX, "Basics: int64 min - 1 wraps to max");
        ok(ot == 0, "Basics: uint64 max + 1 wraps to 0");
        ok(od == 2.5, "Basics: double doubled (%g)", od);
        is_str(os, UTF8 "!", "Basics: UTF-8 string + \"!\"");
        is_str(oo, "/a/b/child", "Basics: object path + \"/child\"");
        is_str(og, "a{sv}i", "Basics: signature + \"i\"");
        free(os);
        free(oo);
        free(og);
        busrpc_error_clear(&e);
        os = oo = og = NULL;
        r = iop_basics(proxy, false, 0, 0, 0, -3, 0, 0, 0, -0.5, "", "/", "", &ob, &oy, &on, &oq, &oi, &ou, &ox, &ot,
                       &od, &os, &oo, &og, &e);
        is_int(r, 0, "Basics: second call (empty strings, root path)");
        is_int(ob, true, "Basics: false negated");
        is_int(oi, -6, "Basics: -3 * 2");
        ok(ox == -1 && ot == 1 && od == -1.0, "Basics: 0 - 1, 0 + 1, -0.5 * 2");
        is_str(os, "!", "Basics: empty string + \"!\"");
        is_str(oo, "/child", "Basics: \"/\" gives \"/child\"");
        is_str(og, "i", "Basics: empty signature + \"i\"");
        free(os);
        free(oo);
        free(og);
        busrpc_error_clear(&e);
}

static void test_arrays(void) {
        int32_t ints[] = { 1, -2, 3, INT32_MAX };
        char *strs[] = { "x", "yy", UTF8 };
        uint8_t bytes[] = { 0, 1, 255 };
        double dbls[] = { 0.5, -1.5 };
        bool bools[] = { true, false, false };
        interop_int32_array ai = { ints, 4 }, rai = { NULL, 0 };
        interop_string_array as = { strs, 3 }, ras = { NULL, 0 };
        interop_byte_array ay = { bytes, 3 }, ray = { NULL, 0 };
        interop_double_array ad = { dbls, 2 }, rad = { NULL, 0 };
        interop_bool_array ab = { bools, 3 }, rab = { NULL, 0 };
        interop_int32_array ei = { NULL, 0 };
        interop_string_array es = { NULL, 0 };
        interop_byte_array ey = { NULL, 0 };
        interop_double_array ed = { NULL, 0 };
        interop_bool_array eb = { NULL, 0 };
        busrpc_error e = BUSRPC_ERROR_INIT;
        int r;

        r = iop_arrays(proxy, &ai, &as, &ay, &ad, &ab, &rai, &ras, &ray, &rad, &rab, &e);
        is_int(r, 0, "Arrays: call succeeds");
        err_diag(r, &e);
        ok(rai.n == 4 && rai.items[0] == INT32_MAX && rai.items[1] == 3 && rai.items[2] == -2 && rai.items[3] == 1,
           "Arrays: int32[] reversed");
        ok(ras.n == 3 && strcmp(ras.items[0], UTF8) == 0 && strcmp(ras.items[1], "yy") == 0 &&
                   strcmp(ras.items[2], "x") == 0,
           "Arrays: string[] reversed");
        ok(ray.n == 3 && ray.items[0] == 255 && ray.items[1] == 1 && ray.items[2] == 0, "Arrays: byte[] reversed");
        ok(rad.n == 2 && rad.items[0] == -1.5 && rad.items[1] == 0.5, "Arrays: double[] reversed");
        ok(rab.n == 3 && !rab.items[0] && !rab.items[1] && rab.items[2], "Arrays: bool[] reversed");
        interop_int32_array_clear(&rai);
        interop_string_array_clear(&ras);
        interop_byte_array_clear(&ray);
        interop_double_array_clear(&rad);
        interop_bool_array_clear(&rab);
        busrpc_error_clear(&e);

        rai.n = ras.n = ray.n = rad.n = rab.n = 99;
        r = iop_arrays(proxy, &ei, &es, &ey, &ed, &eb, &rai, &ras, &ray, &rad, &rab, &e);
        is_int(r, 0, "Arrays: empty arrays");
        ok(rai.n == 0 && ras.n == 0 && ray.n == 0 && rad.n == 0 && rab.n == 0, "Arrays: empty arrays come back empty");
        interop_int32_array_clear(&rai);
        interop_string_array_clear(&ras);
        interop_byte_array_clear(&ray);
        interop_double_array_clear(&rad);
        interop_bool_array_clear(&rab);
        busrpc_error_clear(&e);
}

static const char *lookup_is(const interop_int32_string_map *m, int32_t key) {
        for (size_t i = 0; i < m->n; i++)
                if (m->keys[i] == key)
                        return m->values[i];
        return NULL;
}

static bool lookup_si(const interop_string_int32_map *m, const char *key, int32_t *ret) {
        for (size_t i = 0; i < m->n; i++)
                if (strcmp(m->keys[i], key) == 0) {
                        *ret = m->values[i];
                        return true;
                }
        return false;
}

static void test_maps(void) {
        char *ckeys[] = { "a", "b", UTF8 };
        int32_t cvals[] = { 1, -5, 100 };
        uint32_t ids[] = { 3, 1, 2 };
        char *idnames[] = { "three", "one", "two" };
        interop_string_int32_map counts = { ckeys, cvals, 3 };
        interop_uint32_string_map byid = { ids, idnames, 3 };
        interop_int32_string_map inv = { NULL, NULL, 0 };
        interop_string_array names = { NULL, 0 };
        busrpc_error e = BUSRPC_ERROR_INIT;
        int64_t total = 0;
        int r;

        r = iop_maps(proxy, &counts, &byid, &inv, &total, &names, &e);
        is_int(r, 0, "Maps: call succeeds");
        err_diag(r, &e);
        is_int(inv.n, 3, "Maps: inverted has 3 entries");
        is_str(lookup_is(&inv, 1), "a", "Maps: inverted[1] = a");
        is_str(lookup_is(&inv, -5), "b", "Maps: inverted[-5] = b");
        is_str(lookup_is(&inv, 100), UTF8, "Maps: inverted[100] = UTF-8 key");
        is_int(total, 96, "Maps: total of the values");
        ok(names.n == 3 && strcmp(names.items[0], "one=1") == 0 && strcmp(names.items[1], "two=2") == 0 &&
                   strcmp(names.items[2], "three=3") == 0,
           "Maps: names sorted by id");
        interop_int32_string_map_clear(&inv);
        interop_string_array_clear(&names);
        busrpc_error_clear(&e);
}

static busrpc_variant *find_var(const interop_string_variant_map *m, const char *key) {
        for (size_t i = 0; i < m->n; i++)
                if (strcmp(m->keys[i], key) == 0)
                        return m->values[i];
        return NULL;
}

static void test_structs(void) {
        interop_pair pairs[] = { { 1, "p" }, { 2, UTF8 } };
        char *xkeys[] = { "n", "s" };
        busrpc_variant *xvals[2] = { NULL, NULL };
        interop_pair pair = { 41, "x" }, op;
        interop_record rec, orec;
        busrpc_error e = BUSRPC_ERROR_INIT;
        busrpc_variant *v;
        int32_t n = 0;
        const char *s = NULL;
        bool seen = false;
        int r;

        busrpc_variant_new_int32(5, &xvals[0]);
        busrpc_variant_new_string("str", &xvals[1]);
        rec.name = "rec";
        rec.id = 9;
        rec.pairs.items = pairs;
        rec.pairs.n = 2;
        rec.extra.keys = xkeys;
        rec.extra.values = xvals;
        rec.extra.n = 2;
        interop_pair_init(&op);
        interop_record_init(&orec);
        r = iop_structs(proxy, &pair, &rec, &op, &orec, &e);
        is_int(r, 0, "Structs: call succeeds");
        err_diag(r, &e);
        is_int(op.a, 42, "Structs: pair.a + 1");
        is_str(op.b, "x!", "Structs: pair.b + \"!\"");
        is_str(orec.name, "rec", "Structs: record name kept");
        is_int(orec.id, 10, "Structs: record id + 1");
        ok(orec.pairs.n == 2 && orec.pairs.items[0].a == 2 && strcmp(orec.pairs.items[0].b, UTF8) == 0 &&
                   orec.pairs.items[1].a == 1 && strcmp(orec.pairs.items[1].b, "p") == 0,
           "Structs: record pairs reversed");
        is_int(orec.extra.n, 3, "Structs: extra has 3 entries");
        v = find_var(&orec.extra, "n");
        ok(v && busrpc_variant_get_int32(v, &n) == 0 && n == 5, "Structs: extra n = <int32 5>");
        v = find_var(&orec.extra, "s");
        ok(v && busrpc_variant_get_string(v, &s) == 0 && strcmp(s, "str") == 0, "Structs: extra s = <\"str\">");
        v = find_var(&orec.extra, "seen");
        ok(v && busrpc_variant_get_bool(v, &seen) == 0 && seen, "Structs: extra seen = <true>");
        interop_pair_clear(&op);
        interop_record_clear(&orec);
        busrpc_variant_unref(xvals[0]);
        busrpc_variant_unref(xvals[1]);
        busrpc_error_clear(&e);
}

static void test_nested(void) {
        int32_t odd[] = { 1, 3, 5 }, neg[] = { -1, -2 };
        char *gkeys[] = { "odd", "none", "neg" };
        interop_int32_array gvals[] = { { odd, 3 }, { NULL, 0 }, { neg, 2 } };
        interop_string_int32_array_map groups = { gkeys, gvals, 3 };
        interop_pair row0[] = { { 1, "a" } }, row1[] = { { 2, "b" }, { 3, "c" } };
        interop_pair_array rows[] = { { row0, 1 }, { row1, 2 }, { NULL, 0 } };
        interop_pair_array_array grid = { rows, 3 };
        interop_string_int32_map sums = { NULL, NULL, 0 };
        interop_pair_array_array rgrid = { NULL, 0 };
        busrpc_error e = BUSRPC_ERROR_INIT;
        uint32_t cells = 0;
        int32_t s;
        int r;

        r = iop_nested(proxy, &groups, &grid, &sums, &rgrid, &cells, &e);
        is_int(r, 0, "Nested: call succeeds");
        err_diag(r, &e);
        is_int(sums.n, 3, "Nested: 3 sums");
        ok(lookup_si(&sums, "odd", &s) && s == 9, "Nested: sum of odd = 9");
        ok(lookup_si(&sums, "none", &s) && s == 0, "Nested: sum of an empty list = 0");
        ok(lookup_si(&sums, "neg", &s) && s == -3, "Nested: sum of neg = -3");
        ok(rgrid.n == 3 && rgrid.items[0].n == 0 && rgrid.items[1].n == 2 && rgrid.items[2].n == 1,
           "Nested: grid rows reversed");
        ok(rgrid.n == 3 && rgrid.items[1].n == 2 && rgrid.items[1].items[0].a == 2 &&
                   strcmp(rgrid.items[1].items[1].b, "c") == 0 && rgrid.items[2].n == 1 &&
                   strcmp(rgrid.items[2].items[0].b, "a") == 0,
           "Nested: grid cells kept");
        is_int(cells, 3, "Nested: 3 cells");
        interop_string_int32_map_clear(&sums);
        interop_pair_array_array_clear(&rgrid);
        busrpc_error_clear(&e);
}

static void test_enums(void) {
        static const struct {
                interop_color c;
                uint32_t perm;
                interop_color next;
                uint32_t inverse;
        } cases[] = {
                { INTEROP_COLOR_RED, INTEROP_PERM_READ, INTEROP_COLOR_GREEN, INTEROP_PERM_WRITE | INTEROP_PERM_EXEC },
                { INTEROP_COLOR_GREEN, 7, INTEROP_COLOR_BLUE, 0 },
                { INTEROP_COLOR_BLUE, 0, INTEROP_COLOR_RED, 7 },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                busrpc_error e = BUSRPC_ERROR_INIT;
                interop_color next = 99;
                interop_perm inverse = 99;
                int r = iop_enums(proxy, cases[i].c, (interop_perm)cases[i].perm, &next, &inverse, &e);
                is_int(r, 0, "Enums: call succeeds");
                err_diag(r, &e);
                ok(next == cases[i].next && (uint32_t)inverse == cases[i].inverse, "Enums: %s/%u -> %s/%u",
                   interop_color_to_string(cases[i].c), (unsigned)cases[i].perm,
                   interop_color_to_string(cases[i].next), (unsigned)cases[i].inverse);
                busrpc_error_clear(&e);
        }
}

static int build_strings(busrpc_iter *it, void *userdata) {
        static const char *const items[] = { "a", "b" };
        busrpc_iter arr;
        int r;

        (void)userdata;
        r = busrpc_iter_open(it, BUSRPC_TYPE_ARRAY, "s", &arr);
        for (size_t i = 0; r >= 0 && i < 2; i++)
                r = busrpc_iter_append_basic(&arr, BUSRPC_TYPE_STRING, &items[i]);
        if (r < 0)
                return r;
        return busrpc_iter_close(it, &arr);
}

static int build_struct(busrpc_iter *it, void *userdata) {
        const char *seven = "seven";
        int32_t n = 7;
        busrpc_iter st;
        int r;

        (void)userdata;
        r = busrpc_iter_open(it, BUSRPC_TYPE_STRUCT, NULL, &st);
        if (r >= 0)
                r = busrpc_iter_append_basic(&st, BUSRPC_TYPE_INT32, &n);
        if (r >= 0)
                r = busrpc_iter_append_basic(&st, BUSRPC_TYPE_STRING, &seven);
        if (r < 0)
                return r;
        return busrpc_iter_close(it, &st);
}

static int build_dict(busrpc_iter *it, void *userdata) {
        const char *key = "k";
        uint32_t one = 1;
        busrpc_iter arr, entry, var;
        int r;

        (void)userdata;
        r = busrpc_iter_open(it, BUSRPC_TYPE_ARRAY, "{sv}", &arr);
        if (r >= 0)
                r = busrpc_iter_open(&arr, BUSRPC_TYPE_DICT_ENTRY, NULL, &entry);
        if (r >= 0)
                r = busrpc_iter_append_basic(&entry, BUSRPC_TYPE_STRING, &key);
        if (r >= 0)
                r = busrpc_iter_open(&entry, BUSRPC_TYPE_VARIANT, "u", &var);
        if (r >= 0)
                r = busrpc_iter_append_basic(&var, BUSRPC_TYPE_UINT32, &one);
        if (r >= 0)
                r = busrpc_iter_close(&entry, &var);
        if (r >= 0)
                r = busrpc_iter_close(&arr, &entry);
        if (r < 0)
                return r;
        return busrpc_iter_close(it, &arr);
}

/* The expected variant of each MakeVariant kind, built locally. */
static busrpc_variant *expected_variant(const char *kind) {
        busrpc_variant *v = NULL, *inner = NULL;

        if (strcmp(kind, "int") == 0)
                busrpc_variant_new_int32(42, &v);
        else if (strcmp(kind, "string") == 0)
                busrpc_variant_new_string("hello", &v);
        else if (strcmp(kind, "strings") == 0)
                busrpc_variant_new_built("as", build_strings, NULL, &v);
        else if (strcmp(kind, "dict") == 0)
                busrpc_variant_new_built("a{sv}", build_dict, NULL, &v);
        else if (strcmp(kind, "struct") == 0)
                busrpc_variant_new_built("(is)", build_struct, NULL, &v);
        else if (strcmp(kind, "variant") == 0) {
                busrpc_variant_new_int32(1, &inner);
                if (inner)
                        busrpc_variant_new_variant(inner, &v);
                busrpc_variant_unref(inner);
        }
        return v;
}

static void test_variants(void) {
        static const char *const kinds[] = { "int", "string", "strings", "dict", "struct", "variant" };
        static const char *const sigs[] = { "i", "s", "as", "a{sv}", "(is)", "v" };

        for (size_t i = 0; i < 6; i++) {
                busrpc_error e = BUSRPC_ERROR_INIT;
                busrpc_variant *want = expected_variant(kinds[i]), *got = NULL, *same = NULL;
                char *sig = NULL, *printed = NULL;
                int r;

                if (!want)
                        tap_bail("cannot build the expected variant '%s' locally", kinds[i]);
                r = iop_make_variant(proxy, kinds[i], &got, &e);
                is_int(r, 0, "MakeVariant: call succeeds");
                err_diag(r, &e);
                is_str(got ? busrpc_variant_get_signature(got) : NULL, sigs[i], "MakeVariant: signature");
                if (got)
                        busrpc_variant_to_string(got, &printed);
                if (!ok(got && busrpc_variant_equal(got, want), "MakeVariant(%s): the expected value", kinds[i]))
                        tap_diag("  got %s", printed ? printed : "(null)");
                busrpc_error_clear(&e);
                /* Send the same value back through Variant. */
                r = iop_variant(proxy, want, &sig, &same, &e);
                is_int(r, 0, "Variant: call succeeds");
                err_diag(r, &e);
                is_str(sig, sigs[i], "Variant: the service saw the signature");
                ok(same && busrpc_variant_equal(same, want), "Variant(%s): the same value comes back", kinds[i]);
                free(sig);
                free(printed);
                busrpc_variant_unref(same);
                busrpc_variant_unref(got);
                busrpc_variant_unref(want);
                busrpc_error_clear(&e);
        }
        {
                busrpc_error e = BUSRPC_ERROR_INIT;
                busrpc_variant *got = NULL;
                int r = iop_make_variant(proxy, "bogus", &got, &e);
                is_int(r, -EREMOTEIO, "MakeVariant(bogus): an error reply");
                is_str(e.name, IOP_ERROR_REFUSED, "MakeVariant(bogus): the declared error Refused");
                ok(got == NULL, "MakeVariant(bogus): no output written");
                busrpc_error_clear(&e);
        }
}

static char *read_all(int fd) {
        static char buf[8192];
        size_t len = 0;
        ssize_t k;

        while (len < sizeof(buf) - 1 && (k = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
                len += (size_t)k;
        buf[len] = '\0';
        return buf;
}

static void test_fd(void) {
        const char *text = "file content 123\n";
        busrpc_error e = BUSRPC_ERROR_INIT;
        char *content = NULL;
        int back = -1, f, p[2], r;

        f = memfd_create("interop-fd", MFD_CLOEXEC);
        if (f < 0 || write(f, text, strlen(text)) != (ssize_t)strlen(text))
                tap_bail("memfd_create/write failed");
        r = iop_fd(proxy, f, &content, &back, &e);
        is_int(r, 0, "Fd: call with a file succeeds");
        err_diag(r, &e);
        is_str(content, text, "Fd: the service read the file's content");
        ok(back >= 0, "Fd: an fd comes back");
        if (back >= 0) {
                is_str(read_all(back), "busrpc:file content 123\n", "Fd: the returned fd's content");
                close(back);
        }
        free(content);
        close(f);
        busrpc_error_clear(&e);

        content = NULL;
        back = -1;
        if (pipe2(p, O_CLOEXEC) < 0 || write(p[1], "piped", 5) != 5)
                tap_bail("pipe failed");
        close(p[1]);
        r = iop_fd(proxy, p[0], &content, &back, &e);
        is_int(r, 0, "Fd: call with a pipe succeeds");
        err_diag(r, &e);
        is_str(content, "piped", "Fd: the service read the pipe");
        if (back >= 0) {
                is_str(read_all(back), "busrpc:piped", "Fd: the returned pipe's content");
                close(back);
        } else
                ok(0, "Fd: an fd comes back for the pipe");
        free(content);
        close(p[0]);
        busrpc_error_clear(&e);
}

static void test_blob(void) {
        busrpc_error e = BUSRPC_ERROR_INIT;
        busrpc_shm *shm = NULL, *doubled = NULL;
        unsigned char *data;
        uint64_t size = 0;
        uint32_t sum = 0, want_sum = 0;
        const unsigned char *d;
        bool same = true;
        int r;

        r = busrpc_shm_new(BLOB_SIZE, &shm);
        if (r < 0 || !(data = busrpc_shm_data(shm)))
                tap_bail("busrpc_shm_new failed: %d", r);
        for (size_t i = 0; i < BLOB_SIZE; i++) {
                data[i] = (unsigned char)(i % 251);
                want_sum += data[i];
        }
        r = iop_blob(proxy, shm, &size, &sum, &doubled, &e);
        is_int(r, 0, "Blob: call succeeds");
        err_diag(r, &e);
        ok(size == BLOB_SIZE, "Blob: the service saw the size (%llu)", (unsigned long long)size);
        is_int(sum, want_sum, "Blob: the service summed the bytes");
        ok(doubled && busrpc_shm_size(doubled) == 2 * BLOB_SIZE, "Blob: doubled has twice the size");
        d = doubled ? busrpc_shm_const_data(doubled) : NULL;
        for (size_t i = 0; d && i < 2 * BLOB_SIZE; i++)
                if (d[i] != (unsigned char)((i % BLOB_SIZE) % 251)) {
                        same = false;
                        break;
                }
        ok(d && same, "Blob: doubled holds the blob twice");
        ok(doubled && busrpc_shm_is_sealed(doubled), "Blob: the returned shm is sealed");
        busrpc_shm_unref(doubled);
        busrpc_shm_unref(shm);
        busrpc_error_clear(&e);
}

static int events_seen;
static bool events_in_order = true;

static void on_event(const char *text, uint32_t seq, void *userdata) {
        (void)userdata;
        events_seen++;
        if (strcmp(text, "fired") != 0 || seq != (uint32_t)events_seen)
                events_in_order = false;
}

static void test_signal(void) {
        busrpc_error e = BUSRPC_ERROR_INIT;
        busrpc_subscription *sub = NULL;
        uint32_t sent = 0;
        int r;

        r = iop_on_event(proxy, on_event, NULL, &sub);
        is_int(r, 0, "Event: subscribed");
        r = iop_fire(proxy, "fired", 3, &sent, &e);
        is_int(r, 0, "Fire: call succeeds");
        err_diag(r, &e);
        is_int(sent, 3, "Fire: 3 sent");
        wait_until(&events_seen, 3);
        is_int(events_seen, 3, "Event: 3 signals received");
        ok(events_in_order, "Event: text and seq 1, 2, 3 in order");
        busrpc_subscription_release(sub);
        busrpc_error_clear(&e);
}

static void test_errors(void) {
        busrpc_error e = BUSRPC_ERROR_INIT;
        int32_t same = 0;
        int r;

        r = iop_check(proxy, 5, &same, &e);
        is_int(r, 0, "Check(5): succeeds");
        is_int(same, 5, "Check(5): 5");
        same = 77;
        r = iop_check(proxy, -3, &same, &e);
        is_int(r, -EREMOTEIO, "Check(-3): an error reply");
        is_str(e.name, "org.busrpc.Interop.Error.Refused", "Check(-3): error name");
        is_str(e.message, "negative: -3", "Check(-3): error message");
        is_int(same, 77, "Check(-3): output untouched");
        busrpc_error_clear(&e);
        r = iop_check(proxy, 8, &same, &e);
        ok(r == 0 && same == 8, "Check(8): the next call works");
        busrpc_error_clear(&e);
}

static int async_done, async_value;
static void on_check(int r, const busrpc_error *err, int32_t same, void *userdata) {
        (void)err;
        (void)userdata;
        async_value = r < 0 ? r : same;
        async_done = 1;
}

static void test_async(void) {
        int r = iop_check_async(proxy, 31, on_check, NULL, NULL);
        is_int(r, 0, "Check async: sent");
        wait_until(&async_done, 1);
        is_int(async_value, 31, "Check async: 31 in the callback");
}

/* PropertiesChanged, seen through the raw subscription API. */
static int changes_seen;
static int32_t changed_level = -1;
static bool tags_invalidated;

static void on_props_changed(busrpc_msg *m, busrpc_iter *args, void *userdata) {
        const char *iface = NULL, *key, *inv;
        busrpc_iter arr, entry, list, var;

        (void)m;
        (void)userdata;
        if (busrpc_iter_get_basic(args, BUSRPC_TYPE_STRING, &iface) < 0 || strcmp(iface, IOP_INTERFACE_NAME) != 0)
                return;
        if (busrpc_iter_recurse(args, &arr) < 0)
                return;
        while (busrpc_iter_type(&arr) == BUSRPC_TYPE_DICT_ENTRY) {
                if (busrpc_iter_recurse(&arr, &entry) < 0 ||
                    busrpc_iter_get_basic(&entry, BUSRPC_TYPE_STRING, &key) < 0)
                        return;
                if (strcmp(key, "Level") == 0 && busrpc_iter_recurse(&entry, &var) >= 0 &&
                    busrpc_iter_type(&var) == BUSRPC_TYPE_INT32)
                        busrpc_iter_get_basic(&var, BUSRPC_TYPE_INT32, &changed_level);
        }
        if (busrpc_iter_recurse(args, &list) < 0)
                return;
        while (busrpc_iter_type(&list) == BUSRPC_TYPE_STRING) {
                if (busrpc_iter_get_basic(&list, BUSRPC_TYPE_STRING, &inv) < 0)
                        return;
                if (strcmp(inv, "Tags") == 0)
                        tags_invalidated = true;
        }
        changes_seen++;
}

static void test_properties(void) {
        busrpc_error e = BUSRPC_ERROR_INIT;
        busrpc_subscription *sub = NULL;
        char *name = NULL;
        char *one[] = { "solo" }, *initial[] = { "one", "two" };
        interop_string_array tags = { NULL, 0 }, want = { one, 1 }, init = { initial, 2 };
        interop_color shade = 99;
        iop_properties all;
        int32_t level = 0;
        busrpc_msg *m = NULL;
        busrpc_iter value;
        int r;

        r = iop_get_name(proxy, &name, &e);
        is_int(r, 0, "Get Name: succeeds");
        err_diag(r, &e);
        is_str(name, "interop", "Get Name: \"interop\"");
        free(name);
        r = iop_get_level(proxy, &level, &e);
        ok(r == 0 && level == 7, "Get Level: 7 (r %d, level %d)", r, (int)level);
        r = iop_get_shade(proxy, &shade, &e);
        ok(r == 0 && shade == INTEROP_COLOR_GREEN, "Get Shade: GREEN");
        r = iop_get_tags(proxy, &tags, &e);
        ok(r == 0 && tags.n == 2 && strcmp(tags.items[0], "one") == 0 && strcmp(tags.items[1], "two") == 0,
           "Get Tags: [one, two]");
        interop_string_array_clear(&tags);
        busrpc_error_clear(&e);

        r = busrpc_proxy_subscribe(proxy, "org.freedesktop.DBus.Properties", "PropertiesChanged", "sa{sv}as",
                                   on_props_changed, NULL, NULL, &sub);
        is_int(r, 0, "PropertiesChanged: subscribed");
        r = iop_set_level(proxy, 11, &e);
        is_int(r, 0, "Set Level 11: succeeds");
        err_diag(r, &e);
        wait_until(&changes_seen, 1);
        is_int(changed_level, 11, "PropertiesChanged: Level = 11 with the value");
        r = iop_get_level(proxy, &level, &e);
        ok(r == 0 && level == 11, "Get Level: 11 after the set");
        r = iop_set_shade(proxy, INTEROP_COLOR_BLUE, &e);
        is_int(r, 0, "Set Shade BLUE: succeeds");
        r = iop_get_shade(proxy, &shade, &e);
        ok(r == 0 && shade == INTEROP_COLOR_BLUE, "Get Shade: BLUE after the set");
        r = iop_set_tags(proxy, &want, &e);
        is_int(r, 0, "Set Tags [solo]: succeeds");
        wait_until(&changes_seen, 3);
        ok(tags_invalidated, "PropertiesChanged: Tags invalidated");
        r = iop_get_tags(proxy, &tags, &e);
        ok(r == 0 && tags.n == 1 && strcmp(tags.items[0], "solo") == 0, "Get Tags: [solo] after the set");
        interop_string_array_clear(&tags);
        busrpc_error_clear(&e);

        memset(&all, 0, sizeof(all));
        r = iop_get_all(proxy, &all, &e);
        is_int(r, 0, "GetAll: succeeds");
        err_diag(r, &e);
        ok(all.has.name && all.has.level && all.has.shade && all.has.tags, "GetAll: all four properties");
        ok(all.has.name && strcmp(all.name, "interop") == 0 && all.level == 11 && all.shade == INTEROP_COLOR_BLUE &&
                   all.tags.n == 1,
           "GetAll: the current values");
        iop_properties_clear(&all);
        busrpc_error_clear(&e);

        /* Writing a readonly property is refused. */
        r = busrpc_proxy_set_property_begin(proxy, IOP_INTERFACE_NAME, "Name", "s", &m, &value);
        if (r >= 0) {
                const char *nv = "nope";
                busrpc_iter_append_basic(&value, BUSRPC_TYPE_STRING, &nv);
                r = busrpc_proxy_set_property_finish(proxy, m, &value, &e);
        }
        is_int(r, -EREMOTEIO, "Set Name (readonly): an error reply");
        ok(e.name && (strcmp(e.name, BUSRPC_ERROR_PROPERTY_READ_ONLY) == 0 ||
                      strcmp(e.name, BUSRPC_ERROR_ACCESS_DENIED) == 0),
           "Set Name (readonly): PropertyReadOnly or AccessDenied (%s)", e.name ? e.name : "none");
        busrpc_error_clear(&e);

        /* Back to the initial values, for the next run. */
        r = iop_set_level(proxy, 7, &e);
        r |= iop_set_shade(proxy, INTEROP_COLOR_GREEN, &e);
        r |= iop_set_tags(proxy, &init, &e);
        is_int(r, 0, "properties reset to their initial values");
        busrpc_subscription_release(sub);
        busrpc_error_clear(&e);
}

int main(int argc, char **argv) {
        static const struct option longopts[] = {
                { "bus", required_argument, NULL, 'b' },  { "peer", required_argument, NULL, 'p' },
                { "dest", required_argument, NULL, 'd' }, { "path", required_argument, NULL, 'o' },
                { NULL, 0, NULL, 0 },
        };
        const char *bus = NULL, *peer = NULL, *dest = NULL, *path = "/org/busrpc/Interop";
        busrpc_conn *conn = NULL;
        int c, r;

        while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
                switch (c) {
                case 'b':
                        bus = optarg;
                        break;
                case 'p':
                        peer = optarg;
                        break;
                case 'd':
                        dest = optarg;
                        break;
                case 'o':
                        path = optarg;
                        break;
                default:
                        fprintf(stderr, "usage: interop-client (--bus ADDR --dest NAME | --peer ADDR) [--path P]\n");
                        return 2;
                }
        }
        if (!!bus == !!peer || (bus && !dest)) {
                fprintf(stderr, "usage: interop-client (--bus ADDR --dest NAME | --peer ADDR) [--path P]\n");
                return 2;
        }
        r = bus ? busrpc_conn_open(bus, &conn) : busrpc_conn_open_peer(peer, &conn);
        if (r < 0)
                tap_bail("cannot connect to %s: %s", bus ? bus : peer, strerror(-r));
        r = iop_proxy_new(conn, bus ? dest : NULL, path, &proxy);
        if (r < 0)
                tap_bail("iop_proxy_new: %s", strerror(-r));
        loop = busrpc_conn_get_loop(conn);

        TAP_RUN(test_basics);
        TAP_RUN(test_arrays);
        TAP_RUN(test_maps);
        TAP_RUN(test_structs);
        TAP_RUN(test_nested);
        TAP_RUN(test_enums);
        TAP_RUN(test_variants);
        TAP_RUN(test_fd);
        TAP_RUN(test_blob);
        TAP_RUN(test_signal);
        TAP_RUN(test_errors);
        TAP_RUN(test_async);
        TAP_RUN(test_properties);

        busrpc_proxy_unref(proxy);
        busrpc_conn_unref(conn);
        dbus_shutdown();
        return tap_done();
}
