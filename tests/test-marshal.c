/* test-marshal.c: the descriptor-driven marshaller (runtime/marshal.c,
 * runtime/invoke.c) with hand-written descriptors of every kind, as
 * generated code writes them (the shapes of tests/gen/idl/all-types.idl).
 *
 * Part one needs no bus: values go through real libdbus messages (a
 * variant built by busrpc_value_append() and read back by
 * busrpc_value_read()), are copied and cleared, and every error case is
 * tried (undeclared enum values and flag bits both ways, a map key twice,
 * bad UTF-8 / path / signature, inconsistent descriptors, fds closed when
 * a read fails).
 *
 * Part two starts a private dbus-daemon in a mktemp -d directory and a
 * server process serving an interface made only of descriptors (methods
 * with .op, one deferred and replied with busrpc_call_reply_args(), one
 * @noreply; properties with .get_op/.set_op; a signal sent with
 * busrpc_object_emit()). The parent calls it with busrpc_proxy_invoke(),
 * busrpc_proxy_invoke_async(), busrpc_proxy_get_value()/set_value() and
 * busrpc_proxy_on_signal(), and with busctl (BUSCTL, default busctl), a
 * foreign peer. Both processes stop cleanly and call dbus_shutdown(), so
 * valgrind (test-marshal-valgrind.sh) sees real leaks only.
 */
#include <dbus/dbus.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <busrpc/busrpc.h>
#include "bus-fixture.h"
#include "marshal-types.h"
#include "tap.h"

#define NAME "org.busrpc.test.Marshal"
#define IFACE "org.busrpc.test.Marshal"
#define OBJ_PATH "/org/busrpc/test/marshal"
#define UTF8 "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xf0\x9f\x98\x80"

/* ------------------------------------------------------------------ */
/* Helpers                                                              */

static BusFixture fx; /* the private bus and the server process */
static char peer_address[128];
static const char *busctl_address = fx.address; /* where busctl() goes */
static busrpc_conn *conn;
static busrpc_proxy *proxy;

/* Same file behind two fds? */
static bool same_file(int a, int b) {
        struct stat sa, sb;
        return a >= 0 && b >= 0 && fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_ino == sb.st_ino &&
               sa.st_dev == sb.st_dev;
}

typedef struct Build {
        const busrpc_type *type;
        const void *value;
        int r;
} Build;

static int build_value(busrpc_iter *it, void *userdata) {
        Build *b = userdata;
        b->r = busrpc_value_append(it, b->type, b->value);
        return b->r;
}

/* @in appended to a real libdbus message (the variant's), then read back into @out. */
static int round_trip(const busrpc_type *t, const void *in, void *out, busrpc_error *err) {
        Build b = { t, in, 0 };
        busrpc_variant *v = NULL;
        busrpc_iter it;
        int r;

        r = busrpc_variant_new_built(t->signature, build_value, &b, &v);
        if (r < 0)
                return b.r < 0 ? b.r : r;
        busrpc_variant_read(v, &it);
        r = busrpc_value_read(&it, t, out, err);
        busrpc_variant_unref(v);
        return r;
}

/* A variant of signature @sig whose value @fn appends by hand (bytes a
 * peer could send, which the typed API would refuse). */
static busrpc_variant *raw_variant(const char *sig, busrpc_variant_build_fn fn, void *userdata) {
        busrpc_variant *v = NULL;
        if (busrpc_variant_new_built(sig, fn, userdata, &v) < 0)
                tap_bail("cannot build a raw %s", sig);
        return v;
}

static int read_raw(busrpc_variant *raw, const busrpc_type *t, void *out, busrpc_error *err) {
        busrpc_iter it;
        int r;

        busrpc_variant_read(raw, &it);
        r = busrpc_value_read(&it, t, out, err);
        busrpc_variant_unref(raw);
        return r;
}

static bool basics_equal(const Basics *a, const Basics *b) {
        return a->b == b->b && a->y == b->y && a->n == b->n && a->q == b->q && a->i == b->i && a->u == b->u &&
               a->x == b->x && a->t == b->t && a->d == b->d && strcmp(a->s ? a->s : "", b->s ? b->s : "") == 0 &&
               strcmp(a->o ? a->o : "/", b->o ? b->o : "/") == 0 && strcmp(a->g ? a->g : "", b->g ? b->g : "") == 0 &&
               busrpc_variant_equal(a->v, b->v);
}

static Basics sample_basics(int k) {
        Basics b = { .b = k & 1, .y = (uint8_t)(200 + k), .n = INT16_MIN + k, .q = UINT16_MAX - k,
                     .i = INT32_MIN + k, .u = UINT32_MAX - k, .x = INT64_MIN + k, .t = UINT64_MAX - k,
                     .d = -1.5e300 + k };
        /* owned, as a value read or copied is */
        b.s = k ? strdup(UTF8) : NULL;
        b.o = k ? strdup("/a/b_c") : NULL;
        b.g = strdup("a{sv}(ii)");
        busrpc_variant_new_int32(k * 7, &b.v);
        return b;
}

/* ------------------------------------------------------------------ */
/* Part one: values without a bus                                       */

static void test_basic_types(void) {
        Basics a = sample_basics(1), z = sample_basics(0), w;
        busrpc_error err = BUSRPC_ERROR_INIT;

        is_int(round_trip(&basics_type, &a, &w, &err), 0, "Basics (every basic type) round trip");
        ok(basics_equal(&a, &w), "every field survives, UTF-8 and variant included");
        busrpc_value_clear(&basics_type, &w);
        ok(w.s == NULL && w.v == NULL && w.i == 0, "busrpc_value_clear() leaves the value empty");
        is_int(round_trip(&basics_type, &z, &w, &err), 0, "NULL strings append as \"\" and \"/\"");
        is_str(w.s, "", "NULL string read back as \"\"");
        is_str(w.o, "/", "NULL objpath read back as \"/\"");
        busrpc_value_clear(&basics_type, &w);

        {
                int32_t x = -42, y = 0;
                bool t = true, u = false;
                char *s = UTF8, *r = NULL;
                is_int(round_trip(&busrpc_type_int32, &x, &y, NULL), 0, "int32 alone");
                is_int(y, -42, "int32 value");
                is_int(round_trip(&busrpc_type_bool, &t, &u, NULL), 0, "bool alone");
                ok(u == true, "bool value");
                is_int(round_trip(&busrpc_type_string, &s, &r, NULL), 0, "string alone");
                is_str(r, UTF8, "string value");
                busrpc_value_clear(&busrpc_type_string, &r);
        }
        busrpc_value_clear(&basics_type, &a);
        busrpc_value_clear(&basics_type, &z);
}

static void test_containers(void) {
        Basics b0 = sample_basics(1), b1 = sample_basics(2);
        Basics row0[] = { b0, b1 };
        BasicsArray rows[] = { { row0, 2 }, { NULL, 0 } };
        char *keys0[] = { "a", "b" };
        int32_t vals0[] = { 1, -1 };
        SIMap maps[] = { { keys0, vals0, 2 }, { NULL, NULL, 0 } };
        busrpc_variant *vv[2];
        char *svk[] = { "x", "y" };
        SVMap svm[1];
        uint32_t dk[] = { 7 };
        Small smalls[] = { SMALL_TWO, SMALL_ZERO, SMALL_ONE };
        Small ek[] = { SMALL_ONE, SMALL_TWO };
        Bits ev[] = { BITS_A | BITS_C, 0 };
        bool flags[] = { true, false, true };
        double ds[] = { 0.5, -2.25, 1e300 };
        int32_t ints[1000];
        Nest n, w, c;
        busrpc_error err = BUSRPC_ERROR_INIT;
        int r;

        busrpc_variant_new_string("s", &vv[0]);
        busrpc_variant_new_uint64(UINT64_MAX, &vv[1]);
        svm[0] = (SVMap){ svk, vv, 2 };
        for (int i = 0; i < 1000; i++)
                ints[i] = i * i - 500;
        memset(&n, 0, sizeof(n));
        n.maps = (SIMapArray){ maps, 2 };
        n.grid = (Grid){ rows, 2 };
        n.deep = (Deep){ dk, svm, 1 };
        n.smalls = (SmallArray){ smalls, 3 };
        n.by_enum = (ByEnum){ ek, ev, 2 };
        n.flags_list = (BoolArray){ flags, 3 };
        n.fds = (FdArray){ NULL, 0 };
        n.ds = (DArray){ ds, 3 };
        n.ints = (I32Array){ ints, 1000 };

        r = round_trip(&nest_type, &n, &w, &err);
        is_int(r, 0, "Nest (nested arrays, maps of maps, enums, flags, bools, doubles) round trip");
        if (r == 0) {
                ok(w.maps.n == 2 && w.maps.items[0].n == 2 && strcmp(w.maps.items[0].keys[1], "b") == 0 &&
                           w.maps.items[0].values[1] == -1 && w.maps.items[1].n == 0,
                   "array of maps");
                ok(w.grid.n == 2 && w.grid.items[0].n == 2 && basics_equal(&w.grid.items[0].items[1], &b1) &&
                           w.grid.items[1].n == 0 && w.grid.items[1].items == NULL,
                   "array of arrays of structs; an empty array has no items");
                ok(w.deep.n == 1 && w.deep.keys[0] == 7 && w.deep.values[0].n == 2 &&
                           busrpc_variant_equal(w.deep.values[0].values[1], vv[1]),
                   "map of maps of variants");
                ok(w.smalls.n == 3 && w.smalls.items[0] == SMALL_TWO && w.smalls.items[2] == SMALL_ONE,
                   "array of enums");
                ok(w.by_enum.n == 2 && w.by_enum.keys[1] == SMALL_TWO && w.by_enum.values[0] == (BITS_A | BITS_C),
                   "map with enum keys and flags values");
                ok(w.flags_list.n == 3 && w.flags_list.items[0] && !w.flags_list.items[1], "array of bools");
                ok(w.ds.n == 3 && w.ds.items[2] == 1e300, "array of doubles (fixed)");
                ok(w.ints.n == 1000 && memcmp(w.ints.items, ints, sizeof(ints)) == 0,
                   "1000 int32 (one fixed-array append and read)");
        }
        r = busrpc_value_copy(&nest_type, &c, &w);
        is_int(r, 0, "busrpc_value_copy() of the Nest");
        ok(r == 0 && c.grid.items != w.grid.items && c.grid.items[0].items[0].s != w.grid.items[0].items[0].s &&
                   basics_equal(&c.grid.items[0].items[0], &w.grid.items[0].items[0]) &&
                   c.deep.values[0].values[0] == w.deep.values[0].values[0] && c.ints.n == 1000 &&
                   memcmp(c.ints.items, ints, sizeof(ints)) == 0,
           "the copy is deep (new strings and arrays), variants are shared references");
        busrpc_value_clear(&nest_type, &w);
        ok(w.ints.items == NULL && w.grid.n == 0, "cleared");
        busrpc_value_clear(&nest_type, &c);
        busrpc_variant_unref(vv[0]);
        busrpc_variant_unref(vv[1]);
        busrpc_value_clear(&basics_type, &b0);
        busrpc_value_clear(&basics_type, &b1);

        {
                StrArray sa = { (char *[]){ "a", UTF8, "" }, 3 }, sw;
                is_int(round_trip(&str_array_type, &sa, &sw, NULL), 0, "string[] round trip");
                ok(sw.n == 3 && strcmp(sw.items[1], UTF8) == 0 && sw.items[2][0] == '\0', "its strings");
                busrpc_value_clear(&str_array_type, &sw);
        }
        {
                Tree t, tw;
                char *tk[] = { "k" };
                Basics one = sample_basics(3);
                BasicsArray tv[] = { { &one, 1 } };
                t = (Tree){ tk, tv, 1 };
                is_int(round_trip(&tree_type, &t, &tw, NULL), 0, "map<string, Basics[]> round trip");
                ok(tw.n == 1 && tw.values[0].n == 1 && basics_equal(&tw.values[0].items[0], &one), "its value");
                busrpc_value_clear(&tree_type, &tw);
                busrpc_value_clear(&basics_type, &one);
        }
}

static void test_enums(void) {
        EnumSet e = { SMALL_TWO, SIGNED_NEG, UINT64_MAX, BITS_A | BITS_C, WIDE_TOP | WIDE_LOW, INT64_MIN }, w;
        busrpc_error err = BUSRPC_ERROR_INIT;

        is_int(round_trip(&enum_set_type, &e, &w, &err), 0, "enums and flags (signed, unsigned, 64-bit) round trip");
        ok(w.s == SMALL_TWO && w.g == SIGNED_NEG && w.h == UINT64_MAX && w.b == (BITS_A | BITS_C) &&
                   w.w == (WIDE_TOP | WIDE_LOW) && w.f == INT64_MIN,
           "every value, the negative and the 64-bit ones too");

        e.s = (Small)3;
        is_int(round_trip(&enum_set_type, &e, &w, NULL), -EINVAL, "append: an undeclared enum value is -EINVAL");
        e.s = SMALL_ONE;
        e.g = (Signed)5;
        is_int(round_trip(&enum_set_type, &e, &w, NULL), -EINVAL, "append: an undeclared signed enum value");
        e.g = SIGNED_POS;
        e.b = (Bits)0x4;
        is_int(round_trip(&enum_set_type, &e, &w, NULL), -EINVAL, "append: undeclared flag bits are -EINVAL");
        e.b = 0;
        e.h = 2;
        is_int(round_trip(&enum_set_type, &e, &w, NULL), -EINVAL, "append: an undeclared 64-bit enum value");
        e.h = 1;
        {
                Small big = (Small)0x101; /* a byte would carry 1, a declared value */
                uint8_t x;
                is_int(round_trip(&small_type, &big, &x, NULL), -EINVAL,
                       "append: a value wider than the wire type is refused, not truncated");
        }
        is_int(round_trip(&enum_set_type, &e, &w, NULL), 0, "the set is fine again (no flag is a valid flags value)");
        busrpc_error_clear(&err);
}

static int raw_byte(busrpc_iter *it, void *u) {
        return busrpc_iter_append_basic(it, 'y', u);
}
static int raw_u16(busrpc_iter *it, void *u) {
        return busrpc_iter_append_basic(it, 'q', u);
}
static int raw_i16(busrpc_iter *it, void *u) {
        return busrpc_iter_append_basic(it, 'n', u);
}

/* a{si} with the key "k" twice */
static int raw_dup_map(busrpc_iter *it, void *u) {
        busrpc_iter arr, e;
        const char *k = "k";
        int32_t v = 1;
        (void)u;
        busrpc_iter_open(it, 'a', "{si}", &arr);
        for (int i = 0; i < 2; i++) {
                busrpc_iter_open(&arr, 'e', NULL, &e);
                busrpc_iter_append_basic(&e, 's', &k);
                busrpc_iter_append_basic(&e, 'i', &v);
                busrpc_iter_close(&arr, &e);
        }
        return busrpc_iter_close(it, &arr);
}

/* (hy): an fd, then an undeclared Small */
typedef struct FdSmall {
        int fd;
        Small s;
} FdSmall;
static const busrpc_field fd_small_fields[] = { FIELD(busrpc_type_fd, FdSmall, fd), FIELD(small_type, FdSmall, s) };
static const busrpc_type fd_small_type = { .kind = BUSRPC_KIND_STRUCT, .size = sizeof(FdSmall), .signature = "(hy)",
                                           .name = "test_fd_small", .fields = fd_small_fields, .n_fields = 2 };
static int raw_fd_small(busrpc_iter *it, void *u) {
        busrpc_iter s;
        uint8_t bad = 9;
        busrpc_iter_open(it, 'r', NULL, &s);
        busrpc_iter_append_fd(&s, *(int *)u);
        busrpc_iter_append_basic(&s, 'y', &bad);
        return busrpc_iter_close(it, &s);
}

static void test_read_errors(void) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        Small s = SMALL_ONE;
        Bits b;
        Signed g;
        SIMap m;
        uint8_t seven = 7;
        uint16_t bits = 0x8004;
        int16_t neg2 = -2;

        is_int(read_raw(raw_variant("y", raw_byte, &seven), &small_type, &s, &err), -EBADMSG,
               "read: an undeclared enum value is -EBADMSG");
        is_str(err.name, BUSRPC_ERROR_INVALID_ARGS, "with InvalidArgs");
        is_str(err.message, "7 is not a valid test_small", "naming the value and the type");
        ok(s == 0, "the value is left empty");
        busrpc_error_clear(&err);
        is_int(read_raw(raw_variant("n", raw_i16, &neg2), &signed_type, &g, &err), -EBADMSG,
               "read: an undeclared negative value");
        is_str(err.message, "-2 is not a valid test_signed", "printed signed");
        busrpc_error_clear(&err);
        is_int(read_raw(raw_variant("q", raw_u16, &bits), &bits_type, &b, &err), -EBADMSG,
               "read: undeclared flag bits are -EBADMSG");
        is_str(err.message, "32772 is not a valid test_bits", "naming the value and the flags type");
        busrpc_error_clear(&err);
        bits = 0x8003;
        is_int(read_raw(raw_variant("q", raw_u16, &bits), &bits_type, &b, &err), 0, "declared bits are read");
        ok(b == (BITS_A | BITS_B | BITS_C), "all of them");

        is_int(read_raw(raw_variant("a{si}", raw_dup_map, NULL), &si_map_type, &m, &err), -ENOTUNIQ,
               "read: a map key twice is -ENOTUNIQ");
        is_str(err.name, BUSRPC_ERROR_INVALID_ARGS, "with InvalidArgs");
        is_str(err.message, "duplicate key in map a{si}", "naming the map");
        ok(m.n == 0 && m.keys == NULL, "nothing is left behind");
        busrpc_error_clear(&err);

        {
                int before, p[2];
                FdSmall fs;
                busrpc_variant *raw;
                if (pipe(p) < 0)
                        tap_bail("pipe");
                before = fixture_count_fds();
                raw = raw_variant("(hy)", raw_fd_small, &p[0]);
                is_int(read_raw(raw, &fd_small_type, &fs, &err), -EBADMSG,
                       "read: a struct failing after its fd was received");
                ok(fs.fd == -1, "the fd field is -1 afterwards");
                is_int(fixture_count_fds(), before, "the received fd was closed (and the message's)");
                busrpc_error_clear(&err);
                close(p[0]);
                close(p[1]);
        }
        {
                int32_t x;
                uint8_t one = 1;
                is_int(read_raw(raw_variant("y", raw_byte, &one), &busrpc_type_int32, &x, NULL), -EBADMSG,
                       "read: another type on the wire is -EBADMSG, never a crash");
        }
}

static void test_append_errors(void) {
        char *bad_utf8 = "ab\xff", *bad_path = "/a//b", *bad_sig = "a{vs}";
        char *r = NULL;
        Basics b = sample_basics(1);
        busrpc_variant *keep = b.v;

        is_int(round_trip(&busrpc_type_string, &bad_utf8, &r, NULL), -EINVAL, "append: invalid UTF-8 is -EINVAL");
        is_int(round_trip(&busrpc_type_objpath, &bad_path, &r, NULL), -EINVAL, "append: an invalid path is -EINVAL");
        is_int(round_trip(&busrpc_type_signature, &bad_sig, &r, NULL), -EINVAL,
               "append: an invalid signature is -EINVAL");
        b.v = NULL;
        is_int(round_trip(&basics_type, &b, &(Basics){ 0 }, NULL), -EINVAL, "append: a NULL variant is -EINVAL");
        b.v = keep;
        {
                I32Array a = { NULL, 3 };
                I32Array w;
                is_int(round_trip(&i32_array_type, &a, &w, NULL), -EINVAL, "append: n items at NULL is -EINVAL");
        }
        {
                int fd = -1, w;
                is_int(round_trip(&busrpc_type_fd, &fd, &w, NULL), -EBADF, "append: fd -1 is -EBADF");
        }
        busrpc_value_clear(&basics_type, &b);
}

static void test_bad_descriptors(void) {
        static const busrpc_field f[] = { { &busrpc_type_int32, 0, "a" } };
        static const busrpc_type wrong_sig = { .kind = BUSRPC_KIND_STRUCT, .size = 4, .signature = "(u)",
                                               .name = "w", .fields = f, .n_fields = 1 };
        static const busrpc_type too_small = { .kind = BUSRPC_KIND_STRUCT, .size = 2, .signature = "(i)",
                                               .name = "w", .fields = f, .n_fields = 1 };
        static const busrpc_type bad_wire = { .kind = BUSRPC_KIND_ENUM, .wire = 's', .size = 4, .signature = "s" };
        static const uint64_t wide[] = { 300 };
        static const busrpc_type unfit = { .kind = BUSRPC_KIND_ENUM, .wire = 'y', .size = 4, .signature = "y",
                                           .values = wide, .n_values = 1 };
        static const busrpc_type var_key = { .kind = BUSRPC_KIND_MAP, .size = sizeof(SVMap), .signature = "a{vs}",
                                             .elem = &busrpc_type_variant, .value = &busrpc_type_string };
        static const busrpc_type arr_size = { .kind = BUSRPC_KIND_ARRAY, .size = 8, .signature = "ai",
                                              .elem = &busrpc_type_int32 };
        static const busrpc_args args_wrong = { .signature = "ii", .fields = f, .n_fields = 1, .size = 4 };
        int32_t x = 1;
        char buf[64] = { 0 };
        busrpc_iter it;

        memset(&it, 0, sizeof(it));
        is_int(busrpc_value_append(&it, &wrong_sig, &x), -EINVAL, "a struct whose signature is not its fields'");
        is_int(busrpc_value_append(&it, &too_small, &x), -EINVAL, "a field past the end of its struct");
        is_int(busrpc_value_append(&it, &bad_wire, &x), -EINVAL, "an enum on a non-integer wire type");
        is_int(busrpc_value_append(&it, &unfit, &x), -EINVAL, "an enum value that its wire type cannot carry");
        is_int(busrpc_value_append(&it, &var_key, buf), -EINVAL, "a map keyed by variants");
        is_int(busrpc_value_append(&it, &arr_size, buf), -EINVAL, "an array of the wrong C size");
        is_int(busrpc_args_append(&it, &args_wrong, buf), -EINVAL, "args whose signature is not their fields'");
        is_int(busrpc_value_copy(&wrong_sig, buf, &x), -EINVAL, "copy refuses a bad descriptor too");
}

static void test_fds_and_shm_values(void) {
        int p[2], before;
        Handles h, w, c;
        busrpc_shm *shm;
        busrpc_error err = BUSRPC_ERROR_INIT;
        int r;

        if (pipe(p) < 0 || busrpc_shm_new(4096, &shm) < 0)
                tap_bail("pipe / shm");
        memcpy(busrpc_shm_data(shm), "shared", 7);
        before = fixture_count_fds();
        h = (Handles){ .file = p[0], .blob = shm, .inner = { .other = p[1], .label = "inner" } };
        r = round_trip(&handles_type, &h, &w, &err);
        is_int(r, 0, "Handles (fd, shm, nested fd) round trip");
        ok(r == 0 && same_file(w.file, p[0]) && w.file != p[0] && same_file(w.inner.other, p[1]),
           "the fds are new fds of the same files");
        ok(r == 0 && w.blob && busrpc_shm_size(w.blob) == 4096 &&
                   memcmp(busrpc_shm_const_data(w.blob), "shared", 7) == 0,
           "the shm maps the same bytes");
        r = busrpc_value_copy(&handles_type, &c, &w);
        is_int(r, 0, "copy of Handles");
        ok(r == 0 && same_file(c.file, p[0]) && c.file != w.file && c.blob == w.blob, "fds dup'ed, shm referenced");
        busrpc_value_clear(&handles_type, &c);
        ok(c.file == -1 && c.inner.other == -1 && c.blob == NULL, "cleared: fds -1, shm released");
        busrpc_value_clear(&handles_type, &w);
        is_int(fixture_count_fds(), before, "every received and copied fd closed again");
        busrpc_value_init(&handles_type, &w);
        ok(w.file == -1 && w.inner.other == -1 && w.inner.label == NULL, "busrpc_value_init(): fds -1, rest zero");
        {
                FdArray fa = { (int[]){ p[0], p[1], p[0] }, 3 }, fw;
                r = round_trip(&fd_array_type, &fa, &fw, NULL);
                is_int(r, 0, "fd[] round trip");
                ok(r == 0 && fw.n == 3 && same_file(fw.items[2], p[0]), "three new fds");
                busrpc_value_clear(&fd_array_type, &fw);
                is_int(fixture_count_fds(), before, "fd[] cleared: closed");
        }
        busrpc_shm_unref(shm);
        close(p[0]);
        close(p[1]);
}

static int build_args(busrpc_iter *it, void *userdata) {
        const struct {
                const busrpc_args *a;
                const void *v;
        } *c = userdata;
        busrpc_iter sub;
        int r = busrpc_iter_open(it, 'r', NULL, &sub);
        if (r >= 0)
                r = busrpc_args_append(&sub, c->a, c->v);
        if (r < 0) {
                busrpc_iter_abandon(it, &sub);
                return r;
        }
        return busrpc_iter_close(it, &sub);
}

static void test_args(void) {
        typedef struct AddIn {
                int32_t a, b;
        } AddIn;
        static const busrpc_field add_in_fields[] = { FIELD(busrpc_type_int32, AddIn, a),
                                                      FIELD(busrpc_type_int32, AddIn, b) };
        static const busrpc_args add_in = { "ii", add_in_fields, 2, sizeof(AddIn) };
        typedef struct Mixed {
                char *s;
                Nest n;
                int fd;
        } Mixed;
        static const busrpc_field mixed_fields[] = { FIELD(busrpc_type_string, Mixed, s), FIELD(nest_type, Mixed, n),
                                                     FIELD(busrpc_type_fd, Mixed, fd) };
        static const busrpc_args mixed = { "s(aa{si}aa(bynqiuxtdsogv)a{ua{sv}}aya{yq}abahadai)h", mixed_fields, 3,
                                           sizeof(Mixed) };
        Mixed m;

        busrpc_args_init(&mixed, &m);
        ok(m.s == NULL && m.fd == -1 && m.n.ints.items == NULL, "busrpc_args_init(): empty, fds -1");
        m.s = strdup("x");
        m.fd = dup(0);
        busrpc_args_clear(&mixed, &m);
        ok(m.s == NULL && m.fd == -1, "busrpc_args_clear(): released, empty again");
        {
                AddIn in = { 2, 3 }, out;
                busrpc_variant *v = NULL;
                busrpc_iter it, sub;
                is_int(busrpc_args_append(NULL, &add_in, &in), -EINVAL, "args_append checks its arguments");
                /* ii inside a struct variant: append the args, read them back */
                struct {
                        const busrpc_args *a;
                        const void *v;
                } ctx = { &add_in, &in };
                is_int(busrpc_variant_new_built("(ii)", build_args, &ctx, &v), 0, "busrpc_args_append() of (2, 3)");
                busrpc_variant_read(v, &it);
                busrpc_iter_recurse(&it, &sub);
                is_int(busrpc_args_read(&sub, &add_in, &out, NULL), 0, "busrpc_args_read()");
                ok(out.a == 2 && out.b == 3, "both fields in order");
                busrpc_variant_unref(v);
        }
}

/* ------------------------------------------------------------------ */
/* Part two: a descriptor-driven server and client                       */

typedef struct AddIn {
        int32_t a, b;
} AddIn;
typedef struct AddOut {
        int32_t sum;
} AddOut;
static const busrpc_field add_in_fields[] = { FIELD(busrpc_type_int32, AddIn, a), FIELD(busrpc_type_int32, AddIn, b) };
static const busrpc_args add_in = { "ii", add_in_fields, 2, sizeof(AddIn) };
static const busrpc_field add_out_fields[] = { FIELD(busrpc_type_int32, AddOut, sum) };
static const busrpc_args add_out = { "i", add_out_fields, 1, sizeof(AddOut) };
static const busrpc_args no_args = { "", NULL, 0, 0 };

typedef struct EchoArgs {
        Basics a;
        Nest n;
        EnumSet e;
} EchoArgs;
static const busrpc_field echo_fields[] = { FIELD(basics_type, EchoArgs, a), FIELD(nest_type, EchoArgs, n),
                                            FIELD(enum_set_type, EchoArgs, e) };
#define ECHO_SIG "(bynqiuxtdsogv)(aa{si}aa(bynqiuxtdsogv)a{ua{sv}}aya{yq}abahadai)(yntqux)"
static const busrpc_args echo_args = { ECHO_SIG, echo_fields, 3, sizeof(EchoArgs) };

typedef struct HandlesArgs {
        Handles h;
} HandlesArgs;
static const busrpc_field handles_args_fields[] = { FIELD(handles_type, HandlesArgs, h) };
static const busrpc_args handles_args = { "(hh(hs))", handles_args_fields, 1, sizeof(HandlesArgs) };

/* shm with @max_size 16 */
static const busrpc_type small_shm_type = { .kind = BUSRPC_KIND_SHM, .size = sizeof(busrpc_shm *), .signature = "h",
                                            .name = "busrpc_shm", .max_size = 16 };
typedef struct BlobIn {
        busrpc_shm *data;
} BlobIn;
typedef struct BlobOut {
        uint64_t size;
} BlobOut;
static const busrpc_field blob_in_fields[] = { FIELD(small_shm_type, BlobIn, data) };
static const busrpc_args blob_in = { "h", blob_in_fields, 1, sizeof(BlobIn) };
static const busrpc_field blob_out_fields[] = { FIELD(busrpc_type_uint64, BlobOut, size) };
static const busrpc_args blob_out = { "t", blob_out_fields, 1, sizeof(BlobOut) };

typedef struct FireIn {
        char *what;
        I32Array nums;
} FireIn;
static const busrpc_field fire_in_fields[] = { FIELD(busrpc_type_string, FireIn, what),
                                               FIELD(i32_array_type, FireIn, nums) };
static const busrpc_args fire_in = { "sai", fire_in_fields, 2, sizeof(FireIn) };

typedef struct StrArg {
        char *s;
} StrArg;
static const busrpc_field str_arg_fields[] = { FIELD(busrpc_type_string, StrArg, s) };
static const busrpc_args str_arg = { "s", str_arg_fields, 1, sizeof(StrArg) };

typedef struct ChangedArgs {
        Basics what;
        Small why;
} ChangedArgs;
static const busrpc_field changed_fields[] = { FIELD(basics_type, ChangedArgs, what),
                                               FIELD(small_type, ChangedArgs, why) };
static const busrpc_args changed_args = { "(bynqiuxtdsogv)y", changed_fields, 2, sizeof(ChangedArgs) };

/* Enums in and out, as arguments (not a struct) */
static const busrpc_field enums_fields[] = {
        FIELD(small_type, EnumSet, s), FIELD(signed_type, EnumSet, g), FIELD(huge_type, EnumSet, h),
        FIELD(bits_type, EnumSet, b),  FIELD(wide_type, EnumSet, w),   FIELD(far_type, EnumSet, f),
};
static const busrpc_args enums_args = { "yntqux", enums_fields, 6, sizeof(EnumSet) };

typedef struct Server {
        busrpc_conn *conn;
        busrpc_object *obj;
        busrpc_server *peers;
        busrpc_object *peer_obj;
        char *name;
        Tree tree;
        int32_t secret;
        Small mode;
        char *last_fire;
        busrpc_call *deferred;
        AddOut deferred_out;
        busrpc_source *timer;
} Server;

static int op_add(busrpc_call *call, const void *ops, void *self, void *in, void *out) {
        const AddIn *i = in;
        (void)call, (void)ops, (void)self;
        ((AddOut *)out)->sum = i->a + i->b;
        return 0;
}

static int op_echo(busrpc_call *call, const void *ops, void *self, void *in, void *out) {
        const EchoArgs *i = in;
        EchoArgs *o = out;
        int r;

        (void)call, (void)ops, (void)self;
        r = busrpc_value_copy(&basics_type, &o->a, &i->a);
        if (r >= 0)
                r = busrpc_value_copy(&nest_type, &o->n, &i->n);
        o->e = i->e;
        return r;
}

static int op_enums(busrpc_call *call, const void *ops, void *self, void *in, void *out) {
        (void)call, (void)ops, (void)self;
        *(EnumSet *)out = *(EnumSet *)in;
        return 0;
}

static int op_handles(busrpc_call *call, const void *ops, void *self, void *in, void *out) {
        (void)call, (void)ops, (void)self;
        return busrpc_value_copy(&handles_type, &((HandlesArgs *)out)->h, &((HandlesArgs *)in)->h);
}

static int op_blob(busrpc_call *call, const void *ops, void *self, void *in, void *out) {
        (void)call, (void)ops, (void)self;
        ((BlobOut *)out)->size = busrpc_shm_size(((BlobIn *)in)->data);
        return 0;
}

static int op_fire(busrpc_call *call, const void *ops, void *self, void *in, void *out) {
        Server *s = self;
        const FireIn *f = in;
        char buf[64];
        int32_t sum = 0;
        (void)call, (void)ops, (void)out;
        for (size_t i = 0; i < f->nums.n; i++)
                sum += f->nums.items[i];
        snprintf(buf, sizeof(buf), "%s:%d", f->what, sum);
        free(s->last_fire);
        s->last_fire = strdup(buf);
        return 0;
}

static int later_reply(busrpc_source *src, void *userdata) {
        Server *s = userdata;
        (void)src;
        busrpc_call_reply_args(s->deferred, &add_out, &s->deferred_out);
        s->deferred = busrpc_call_unref(s->deferred);
        s->timer = busrpc_source_release(s->timer);
        return 0;
}

/* Add, later: keeps the call, replies from a timer. */
static int op_later(busrpc_call *call, const void *ops, void *self, void *in, void *out) {
        Server *s = self;
        const AddIn *i = in;
        (void)ops, (void)out;
        if (s->deferred)
                return busrpc_call_fail(call, "org.busrpc.test.Error.Busy", "one at a time");
        s->deferred = busrpc_call_ref(call);
        s->deferred_out.sum = i->a + i->b;
        if (busrpc_loop_add_timer(busrpc_conn_get_loop(s->conn), 20000, false, later_reply, s, &s->timer) < 0)
                return -ENOMEM;
        return BUSRPC_DEFER;
}

static int op_fail(busrpc_call *call, const void *ops, void *self, void *in, void *out) {
        (void)ops, (void)self, (void)in, (void)out;
        return busrpc_call_fail(call, "org.busrpc.test.Error.Nope", "nope %d", 42);
}

static int op_bad_reply(busrpc_call *call, const void *ops, void *self, void *in, void *out) {
        (void)call, (void)ops, (void)self, (void)in;
        ((StrArg *)out)->s = strdup("bad \xff utf-8");
        return 0;
}

static int op_errno(busrpc_call *call, const void *ops, void *self, void *in, void *out) {
        (void)call, (void)ops, (void)self, (void)in, (void)out;
        return -EACCES;
}

static int op_emit(busrpc_call *call, const void *ops, void *self, void *in, void *out) {
        Server *s = self;
        ChangedArgs c;
        int r;
        (void)call, (void)ops, (void)out;
        c.what = sample_basics(5);
        free(c.what.s);
        c.what.s = strdup(((StrArg *)in)->s);
        c.why = SMALL_TWO;
        r = busrpc_object_emit(s->obj, "Changed", &changed_args, &c);
        busrpc_value_clear(&basics_type, &c.what);
        /* PropertiesChanged reads Mode through its .get_op */
        if (r >= 0)
                r = busrpc_object_notify(s->obj, "Mode");
        return r;
}

static int op_null(busrpc_call *call, const void *ops, void *self, void *in, void *out) {
        (void)call, (void)ops, (void)self, (void)in, (void)out;
        return -EOPNOTSUPP;
}

static int get_name(const void *ops, void *self, void *value, busrpc_error *err) {
        Server *s = self;
        (void)ops, (void)err;
        *(char **)value = strdup(s->name);
        return *(char **)value ? 0 : -ENOMEM;
}

static int set_name(const void *ops, void *self, const void *value, busrpc_error *err) {
        Server *s = self;
        const char *v = *(char *const *)value;
        (void)ops;
        if (!*v)
                return busrpc_error_set(err, BUSRPC_ERROR_INVALID_ARGS, "the name must not be empty");
        free(s->name);
        s->name = strdup(v);
        return 0;
}

static int get_tree(const void *ops, void *self, void *value, busrpc_error *err) {
        (void)ops, (void)err;
        return busrpc_value_copy(&tree_type, value, &((Server *)self)->tree);
}

static int set_tree(const void *ops, void *self, const void *value, busrpc_error *err) {
        Server *s = self;
        (void)ops, (void)err;
        busrpc_value_clear(&tree_type, &s->tree);
        return busrpc_value_copy(&tree_type, &s->tree, value);
}

static int get_mode(const void *ops, void *self, void *value, busrpc_error *err) {
        (void)ops, (void)err;
        *(Small *)value = ((Server *)self)->mode;
        return 0;
}

static int set_mode(const void *ops, void *self, const void *value, busrpc_error *err) {
        (void)ops, (void)err;
        ((Server *)self)->mode = *(const Small *)value;
        return 0;
}

static int set_secret(const void *ops, void *self, const void *value, busrpc_error *err) {
        (void)ops, (void)err;
        ((Server *)self)->secret = *(const int32_t *)value;
        return 0;
}

static int get_last_fire(const void *ops, void *self, void *value, busrpc_error *err) {
        Server *s = self;
        (void)ops, (void)err;
        *(char **)value = strdup(s->last_fire ? s->last_fire : "");
        return 0;
}

static int get_secret_hint(const void *ops, void *self, void *value, busrpc_error *err) {
        (void)ops, (void)err;
        *(int32_t *)value = ((Server *)self)->secret * 2;
        return 0;
}

/* A hand-written skeleton (the fn path, next to the op path): replies
 * 'y' 9, a value no Small declares, and sends Changed with it too, then
 * a good Changed. */
static int fn_raw_nine(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        Server *s = self;
        busrpc_msg *m = NULL;
        busrpc_iter it;
        uint8_t nine = 9;
        ChangedArgs c;
        int r;

        (void)args, (void)ops;
        c.what = sample_basics(6);
        r = busrpc_object_signal_new(s->obj, "Changed", &m);
        if (r >= 0)
                r = busrpc_msg_append(m, &it);
        if (r >= 0)
                r = busrpc_value_append(&it, &basics_type, &c.what);
        if (r >= 0)
                r = busrpc_iter_append_basic(&it, 'y', &nine);
        if (r >= 0)
                r = busrpc_msg_send(m);
        else
                busrpc_msg_unref(m);
        c.why = SMALL_ONE;
        if (r >= 0)
                r = busrpc_object_emit(s->obj, "Changed", &changed_args, &c);
        busrpc_value_clear(&basics_type, &c.what);
        if (r >= 0)
                r = busrpc_call_reply_new(call, &m);
        if (r >= 0)
                r = busrpc_msg_append(m, &it);
        if (r >= 0)
                r = busrpc_iter_append_basic(&it, 'y', &nine);
        if (r >= 0)
                return busrpc_msg_send(m);
        busrpc_msg_unref(m);
        return r;
}

#define METHOD(name, sig_in, sig_out, in, out, op, flags) { name, sig_in, sig_out, NULL, flags, &(in), &(out), op }
static const busrpc_method_desc methods[] = {
        METHOD("Add", "ii", "i", add_in, add_out, op_add, 0),
        METHOD("Echo", ECHO_SIG, ECHO_SIG, echo_args, echo_args, op_echo, 0),
        METHOD("Enums", "yntqux", "yntqux", enums_args, enums_args, op_enums, 0),
        METHOD("Handles", "(hh(hs))", "(hh(hs))", handles_args, handles_args, op_handles, 0),
        METHOD("Blob", "h", "t", blob_in, blob_out, op_blob, 0),
        METHOD("Fire", "sai", "", fire_in, no_args, op_fire, BUSRPC_METHOD_NOREPLY),
        METHOD("Later", "ii", "i", add_in, add_out, op_later, 0),
        METHOD("Fail", "", "", no_args, no_args, op_fail, 0),
        METHOD("BadReply", "", "s", no_args, str_arg, op_bad_reply, 0),
        METHOD("Errno", "", "", no_args, no_args, op_errno, 0),
        METHOD("Emit", "s", "", str_arg, no_args, op_emit, 0),
        METHOD("Null", "", "", no_args, no_args, op_null, 0),
        { "RawNine", "", "y", fn_raw_nine, 0, NULL, NULL, NULL },
};

#define PROP(name, sig, type, get, set, flags) { name, sig, NULL, NULL, flags, &(type), get, set }
static const busrpc_property_desc properties[] = {
        PROP("Name", "s", busrpc_type_string, get_name, set_name, BUSRPC_PROP_READ | BUSRPC_PROP_WRITE),
        PROP("Tree", "a{sa(bynqiuxtdsogv)}", tree_type, get_tree, set_tree, BUSRPC_PROP_READ | BUSRPC_PROP_WRITE),
        PROP("Mode", "y", small_type, get_mode, set_mode, BUSRPC_PROP_READ | BUSRPC_PROP_WRITE),
        PROP("Secret", "i", busrpc_type_int32, NULL, set_secret, BUSRPC_PROP_WRITE),
        PROP("SecretHint", "i", busrpc_type_int32, get_secret_hint, NULL, BUSRPC_PROP_READ | BUSRPC_PROP_EMITS_FALSE),
        PROP("LastFire", "s", busrpc_type_string, get_last_fire, NULL, BUSRPC_PROP_READ | BUSRPC_PROP_EMITS_FALSE),
};

static const busrpc_signal_desc signals[] = { { "Changed", "(bynqiuxtdsogv)y", &changed_args } };

static const busrpc_interface_desc iface = {
        .name = IFACE,
        .xml = "  <interface name=\"" IFACE "\"/>\n",
        .methods = methods,
        .n_methods = sizeof(methods) / sizeof(methods[0]),
        .properties = properties,
        .n_properties = sizeof(properties) / sizeof(properties[0]),
        .signals = signals,
        .n_signals = 1,
};

static const char ops_token[] = "ops"; /* the trampolines here ignore @ops */

static int run_server(int ready_fd) {
        Server srv = { 0 };
        int r;

        srv.name = strdup("marshal");
        r = busrpc_conn_open(fx.address, &srv.conn);
        if (r < 0)
                return 10;
        r = busrpc_conn_request_name(srv.conn, NAME, BUSRPC_NAME_DO_NOT_QUEUE, NULL, NULL, NULL);
        if (r != 0)
                return 11;
        r = busrpc_object_export(busrpc_conn_get_objects(srv.conn), OBJ_PATH, &iface, ops_token, &srv,
                                 &srv.obj);
        if (r < 0)
                return 12;
        /* the same descriptors served to peers on a private socket */
        r = busrpc_server_new(peer_address, &srv.peers);
        if (r >= 0)
                r = busrpc_object_export(busrpc_server_get_objects(srv.peers), OBJ_PATH, &iface, ops_token,
                                         &srv, &srv.peer_obj);
        if (r < 0)
                return 15;
        if (write(ready_fd, "R", 1) != 1)
                return 13;
        close(ready_fd);
        r = busrpc_conn_run(srv.conn);
        if (srv.deferred) {
                busrpc_call_unref(srv.deferred);
                busrpc_source_release(srv.timer);
        }
        busrpc_object_release(srv.obj);
        busrpc_object_release(srv.peer_obj);
        busrpc_server_free(srv.peers);
        busrpc_conn_unref(srv.conn);
        free(srv.name);
        free(srv.last_fire);
        busrpc_value_clear(&tree_type, &srv.tree);
        dbus_shutdown();
        return r < 0 ? 14 : 0;
}

/* The output of @bin with @argv (a shell-free argv; argv[0] is bin) */
static char *run_peer(const char *bin, const char *const *argv);

/* busctl's output for @args (a shell-free argv), or "" */
static char *busctl(const char *const *args) {
        const char *bin = getenv("BUSCTL");
        char addr_arg[160];
        const char *argv[32];
        int n = 0;

        if (!bin || !*bin)
                bin = "busctl";
        snprintf(addr_arg, sizeof(addr_arg), "--address=%s", busctl_address);
        argv[n++] = bin;
        argv[n++] = addr_arg;
        for (; *args && n < 30; args++)
                argv[n++] = *args;
        argv[n] = NULL;
        return run_peer(bin, argv);
}

static char *run_peer(const char *bin, const char *const *argv) {
        static char out[4096];
        int p[2], status;
        ssize_t got, len = 0;
        pid_t pid;

        if (pipe(p) < 0)
                tap_bail("pipe");
        fflush(stdout);
        pid = fork();
        if (pid == 0) {
                dup2(p[1], 1);
                dup2(p[1], 2);
                close(p[0]);
                close(p[1]);
                execvp(bin, (char *const *)argv);
                _exit(127);
        }
        close(p[1]);
        while ((got = read(p[0], out + len, sizeof(out) - 1 - (size_t)len)) > 0)
                len += got;
        close(p[0]);
        out[len] = '\0';
        waitpid(pid, &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
                tap_bail("%s not found: it is needed (BUSCTL, /usr/bin/python3 with python3-dbus)", bin);
        while (len > 0 && out[len - 1] == '\n')
                out[--len] = '\0';
        return out;
}

static const busrpc_remote_method r_add = { IFACE, "Add", &add_in, &add_out, 0 };
static const busrpc_remote_method r_later = { IFACE, "Later", &add_in, &add_out, 0 };
static const busrpc_remote_method r_echo = { IFACE, "Echo", &echo_args, &echo_args, 0 };
static const busrpc_remote_method r_enums = { IFACE, "Enums", &enums_args, &enums_args, 0 };
static const busrpc_remote_method r_handles = { IFACE, "Handles", &handles_args, &handles_args, 0 };
static const busrpc_remote_method r_blob = { IFACE, "Blob", &blob_in, &blob_out, 0 };
static const busrpc_remote_method r_fire = { IFACE, "Fire", &fire_in, NULL, BUSRPC_METHOD_NOREPLY };
static const busrpc_remote_method r_fail = { IFACE, "Fail", NULL, NULL, 0 };
static const busrpc_remote_method r_bad_reply = { IFACE, "BadReply", NULL, &str_arg, 0 };
static const busrpc_remote_method r_errno = { IFACE, "Errno", NULL, NULL, 0 };
static const busrpc_remote_method r_emit = { IFACE, "Emit", &str_arg, NULL, 0 };
static const busrpc_remote_method r_null = { IFACE, "Null", NULL, NULL, 0 };
typedef struct SmallOut {
        Small s;
} SmallOut;
static const busrpc_field small_out_fields[] = { FIELD(small_type, SmallOut, s) };
static const busrpc_args small_out = { "y", small_out_fields, 1, sizeof(SmallOut) };
static const busrpc_remote_method r_raw_nine = { IFACE, "RawNine", NULL, &small_out, 0 };
/* Add, with a descriptor that expects a string back */
static const busrpc_remote_method r_add_wrong = { IFACE, "Add", &add_in, &str_arg, 0 };

static void test_invoke(void) {
        AddIn in = { 40, 2 };
        AddOut out = { 0 };
        busrpc_error err = BUSRPC_ERROR_INIT;
        StrArg s;
        int r;

        r = busrpc_proxy_invoke(proxy, &r_add, &in, &out, &err);
        is_int(r, 0, "busrpc_proxy_invoke(Add)");
        is_int(out.sum, 42, "40 + 2");
        r = busrpc_proxy_invoke(proxy, &r_add_wrong, &in, &s, &err);
        is_int(r, -EBADMSG, "a reply of another signature than .out is -EBADMSG");
        is_str(err.name, BUSRPC_ERROR_INVALID_ARGS, "with InvalidArgs");
        ok(s.s == NULL, "and the outputs empty");
        busrpc_error_clear(&err);
        r = busrpc_proxy_invoke(proxy, &r_fail, NULL, NULL, &err);
        is_int(r, -EREMOTEIO, "an op's busrpc_call_fail() reaches the caller");
        is_str(err.name, "org.busrpc.test.Error.Nope", "its name");
        is_str(err.message, "nope 42", "its message, formatted once");
        busrpc_error_clear(&err);
        r = busrpc_proxy_invoke(proxy, &r_errno, NULL, NULL, &err);
        ok(r < 0 && busrpc_error_has_name(&err, BUSRPC_ERROR_FAILED), "an op's -EACCES is Failed, as for fn");
        busrpc_error_clear(&err);
        r = busrpc_proxy_invoke(proxy, &r_null, NULL, NULL, &err);
        ok(r < 0 && busrpc_error_has_name(&err, BUSRPC_ERROR_UNKNOWN_METHOD), "-EOPNOTSUPP is UnknownMethod");
        busrpc_error_clear(&err);
        {
                /* An iterator kept past the send: libdbus has locked the message. */
                busrpc_msg *m = NULL;
                busrpc_iter it;
                int32_t one = 1;
                r = busrpc_proxy_method_new(proxy, IFACE, "Null", &m);
                if (r >= 0)
                        r = busrpc_msg_append(m, &it);
                busrpc_msg_ref(m);
                if (r >= 0)
                        r = busrpc_proxy_send(proxy, m);
                is_int(r, 0, "a message sent while its append iterator is kept");
                is_int(busrpc_value_append(&it, &busrpc_type_int32, &one), -EPERM,
                       "busrpc_value_append() to it afterwards is -EPERM, not a libdbus abort");
                is_int(busrpc_args_append(&it, &add_in, &in), -EPERM, "busrpc_args_append() likewise");
                busrpc_msg_read(m, &it);
                is_int(busrpc_value_append(&it, &busrpc_type_int32, &one), -EINVAL,
                       "busrpc_value_append() to a reading iterator is -EINVAL");
                busrpc_msg_unref(m);
        }
        r = busrpc_proxy_invoke(proxy, &r_bad_reply, NULL, &s, &err);
        ok(r < 0 && busrpc_error_has_name(&err, BUSRPC_ERROR_FAILED) &&
                   strcmp(err.message, "Method 'BadReply' returned outputs that cannot be sent (Invalid argument)") == 0,
           "outputs that cannot be sent (bad UTF-8) give Failed naming the method, not a hang");
        busrpc_error_clear(&err);
}

static void test_invoke_values(void) {
        EchoArgs in, out;
        Basics b1 = sample_basics(1), b2 = sample_basics(2);
        Basics row[] = { b1, b2 };
        BasicsArray rows[] = { { row, 2 } };
        char *k[] = { "one", "two" };
        int32_t v[] = { 1, 2 };
        SIMap maps[] = { { k, v, 2 } };
        int32_t ints[300];
        busrpc_error err = BUSRPC_ERROR_INIT;
        int r;

        for (int i = 0; i < 300; i++)
                ints[i] = -i;
        memset(&in, 0, sizeof(in));
        in.a = b1;
        in.n.grid = (Grid){ rows, 1 };
        in.n.maps = (SIMapArray){ maps, 1 };
        in.n.ints = (I32Array){ ints, 300 };
        in.n.smalls = (SmallArray){ (Small[]){ SMALL_ONE }, 1 };
        in.n.fds = (FdArray){ NULL, 0 };
        in.e = (EnumSet){ SMALL_TWO, SIGNED_NEG, UINT64_MAX, BITS_C, WIDE_TOP, INT64_MIN };
        r = busrpc_proxy_invoke(proxy, &r_echo, &in, &out, &err);
        is_int(r, 0, "Echo(Basics, Nest, EnumSet) through the bus (> 256 bytes of arguments: heap block)");
        ok(r == 0 && basics_equal(&out.a, &b1) && out.n.grid.n == 1 && basics_equal(&out.n.grid.items[0].items[1], &b2) &&
                   out.n.maps.items[0].values[1] == 2 && out.n.ints.n == 300 &&
                   memcmp(out.n.ints.items, ints, sizeof(ints)) == 0 && out.e.f == INT64_MIN && out.e.h == UINT64_MAX,
           "everything comes back equal");
        busrpc_args_clear(&echo_args, &out);
        busrpc_value_clear(&basics_type, &b1);
        busrpc_value_clear(&basics_type, &b2);

        {
                EnumSet e = { SMALL_ONE, SIGNED_POS, 1, BITS_A | BITS_B, WIDE_LOW, 5 }, eo;
                r = busrpc_proxy_invoke(proxy, &r_enums, &e, &eo, &err);
                is_int(r, 0, "Enums as arguments");
                ok(memcmp(&e, &eo, sizeof(e)) == 0, "all six back");
        }
        {
                char *a = busctl((const char *const[]){ "call", NAME, OBJ_PATH, IFACE, "Enums", "yntqux", "9", "0", "1",
                                                        "0", "1", "5", NULL });
                ok(strstr(a, "9 is not a valid test_small") != NULL,
                   "busctl: an undeclared enum value from a foreign peer is InvalidArgs naming it");
                tap_diag("  busctl: %s", a);
                a = busctl((const char *const[]){ "call", NAME, OBJ_PATH, IFACE, "Enums", "yntqux", "1", "0", "1",
                                                  "4", "1", "5", NULL });
                ok(strstr(a, "4 is not a valid test_bits") != NULL, "busctl: undeclared flag bits likewise");
        }
}

static void test_invoke_fds(void) {
        int p[2], before;
        busrpc_shm *shm, *big;
        HandlesArgs in, out;
        busrpc_error err = BUSRPC_ERROR_INIT;
        int r;

        if (pipe(p) < 0 || busrpc_shm_new(8, &shm) < 0 || busrpc_shm_new(64, &big) < 0)
                tap_bail("pipe / shm");
        memcpy(busrpc_shm_data(shm), "12345678", 8);
        before = fixture_count_fds();
        in.h = (Handles){ .file = p[0], .blob = shm, .inner = { .other = p[1], .label = "x" } };
        r = busrpc_proxy_invoke(proxy, &r_handles, &in, &out, &err);
        is_int(r, 0, "Handles (fds and a shm) there and back through the bus");
        ok(r == 0 && same_file(out.h.file, p[0]) && same_file(out.h.inner.other, p[1]) &&
                   memcmp(busrpc_shm_const_data(out.h.blob), "12345678", 8) == 0,
           "the same pipe ends and the same shm bytes");
        busrpc_args_clear(&handles_args, &out);
        is_int(fixture_count_fds(), before, "nothing leaks on the client");
        {
                BlobIn bi = { shm };
                BlobOut bo;
                r = busrpc_proxy_invoke(proxy, &r_blob, &bi, &bo, &err);
                is_int(r, 0, "an shm within the argument's max_size (16)");
                is_int(bo.size, 8, "its size");
                bi.data = big;
                r = busrpc_proxy_invoke(proxy, &r_blob, &bi, &bo, &err);
                is_int(r, -EREMOTEIO, "an shm over max_size is refused by the server");
                is_str(err.message, "shm argument is larger than its size limit", "with the generated code's message");
                busrpc_error_clear(&err);
        }
        busrpc_shm_unref(shm);
        busrpc_shm_unref(big);
        close(p[0]);
        close(p[1]);
}

typedef struct AsyncResult {
        bool done;
        int r;
        int32_t sum;
        void *userdata;
        char *error;
} AsyncResult;

typedef void (*add_done_cb)(int r, const busrpc_error *err, int32_t sum, void *userdata);

/* What a generated async stub's trampoline does. */
static void add_trampoline(int r, const busrpc_error *err, void *out, void (*cb)(void), void *userdata) {
        ((add_done_cb)cb)(r, err, r >= 0 ? ((AddOut *)out)->sum : 0, userdata);
}

static void on_add_done(int r, const busrpc_error *err, int32_t sum, void *userdata) {
        AsyncResult *a = userdata;
        a->done = true;
        a->r = r;
        a->sum = sum;
        if (err && err->name)
                a->error = strdup(err->name);
}

static void test_invoke_async(void) {
        AsyncResult a = { 0 }, d = { 0 }, c = { 0 };
        AddIn in = { 7, 8 };
        busrpc_pending *pending = NULL;
        AddOut out;
        busrpc_error err = BUSRPC_ERROR_INIT;
        int r;

        r = busrpc_proxy_invoke_async(proxy, &r_add, &in, add_trampoline, (void (*)(void))on_add_done, &a, NULL);
        is_int(r, 0, "busrpc_proxy_invoke_async(Add)");
        fixture_wait_for(conn, &a.done);
        ok(a.done && a.r == 0 && a.sum == 15, "the callback ran once with 15");

        in = (AddIn){ 100, 1 };
        r = busrpc_proxy_invoke_async(proxy, &r_later, &in, add_trampoline, (void (*)(void))on_add_done, &d, NULL);
        is_int(r, 0, "Later: deferred by the server (BUSRPC_DEFER)");
        fixture_wait_for(conn, &d.done);
        ok(d.done && d.r == 0 && d.sum == 101, "replied later with busrpc_call_reply_args(): 101");

        in = (AddIn){ 1, 1 };
        r = busrpc_proxy_invoke_async(proxy, &r_later, &in, add_trampoline, (void (*)(void))on_add_done, &c,
                                      &pending);
        is_int(r, 0, "another deferred call");
        busrpc_pending_cancel(pending);
        ok(c.done && c.r < 0 && c.error && strcmp(c.error, BUSRPC_ERROR_CANCELLED) == 0,
           "cancelled: the callback ran at once with Cancelled");
        busrpc_pending_unref(pending);
        /* the server still replies to it; wait for that so the next Later is not Busy */
        r = busrpc_proxy_invoke(proxy, &r_later, &in, &out, &err);
        ok(r == 0 || busrpc_error_has_name(&err, "org.busrpc.test.Error.Busy"), "sync Later");
        busrpc_error_clear(&err);
        free(c.error);
}

static void test_noreply(void) {
        FireIn f = { "fire", { (int32_t[]){ 1, 2, 3 }, 3 } };
        char *last = NULL;
        busrpc_error err = BUSRPC_ERROR_INIT;
        int r;

        r = busrpc_proxy_invoke(proxy, &r_fire, &f, NULL, &err);
        is_int(r, 0, "a @noreply method is sent, nothing awaited");
        /* a call afterwards is handled after it (one connection, in order) */
        r = busrpc_proxy_get_value(proxy, IFACE, "LastFire", &busrpc_type_string, &last, &err);
        is_int(r, 0, "get_value(LastFire)");
        is_str(last, "fire:6", "the op ran with both arguments");
        free(last);
}

static void test_properties(void) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        char *name = NULL, *v = "renamed", *empty = "";
        Tree t = { 0 }, tw;
        Small mode = SMALL_TWO, mo;
        int32_t secret = 21, hint = 0;
        Basics b = sample_basics(4);
        char *tk[] = { "only" };
        BasicsArray tv[] = { { &b, 1 } };
        int r;

        r = busrpc_proxy_get_value(proxy, IFACE, "Name", &busrpc_type_string, &name, &err);
        is_int(r, 0, "get_value(Name) through .get_op");
        is_str(name, "marshal", "its value");
        free(name);
        r = busrpc_proxy_set_value(proxy, IFACE, "Name", &busrpc_type_string, &v, &err);
        is_int(r, 0, "set_value(Name) through .set_op");
        is_str(busctl((const char *const[]){ "get-property", NAME, OBJ_PATH, IFACE, "Name", NULL }), "s \"renamed\"",
               "busctl sees the new name");
        r = busrpc_proxy_set_value(proxy, IFACE, "Name", &busrpc_type_string, &empty, &err);
        ok(r == -EREMOTEIO && busrpc_error_has_name(&err, BUSRPC_ERROR_INVALID_ARGS) &&
                   strcmp(err.message, "the name must not be empty") == 0,
           "a setter's error reaches the caller");
        busrpc_error_clear(&err);

        t = (Tree){ tk, tv, 1 };
        r = busrpc_proxy_set_value(proxy, IFACE, "Tree", &tree_type, &t, &err);
        is_int(r, 0, "set_value(Tree: map<string, Basics[]>)");
        r = busrpc_proxy_get_value(proxy, IFACE, "Tree", &tree_type, &tw, &err);
        is_int(r, 0, "get_value(Tree)");
        ok(r == 0 && tw.n == 1 && strcmp(tw.keys[0], "only") == 0 && tw.values[0].n == 1 &&
                   basics_equal(&tw.values[0].items[0], &b),
           "the map of arrays of structs comes back");
        busrpc_value_clear(&tree_type, &tw);
        busrpc_value_clear(&basics_type, &b);

        r = busrpc_proxy_set_value(proxy, IFACE, "Mode", &small_type, &mode, &err);
        is_int(r, 0, "set_value(Mode: an enum)");
        r = busrpc_proxy_get_value(proxy, IFACE, "Mode", &small_type, &mo, &err);
        ok(r == 0 && mo == SMALL_TWO, "get_value(Mode)");
        {
                char *a = busctl((const char *const[]){ "set-property", NAME, OBJ_PATH, IFACE, "Mode", "y", "9", NULL });
                ok(strstr(a, "9 is not a valid test_small") != NULL, "busctl set-property with an undeclared value fails");
        }
        r = busrpc_proxy_get_value(proxy, IFACE, "Mode", &small_type, &mo, &err);
        ok(r == 0 && mo == SMALL_TWO, "and the value did not change");

        r = busrpc_proxy_set_value(proxy, IFACE, "Secret", &busrpc_type_int32, &secret, &err);
        is_int(r, 0, "set_value(Secret: writeonly)");
        r = busrpc_proxy_get_value(proxy, IFACE, "Secret", &busrpc_type_int32, &hint, &err);
        ok(r < 0 && busrpc_error_is_set(&err), "get_value of a writeonly property fails");
        busrpc_error_clear(&err);
        r = busrpc_proxy_get_value(proxy, IFACE, "SecretHint", &busrpc_type_int32, &hint, &err);
        ok(r == 0 && hint == 42, "the setter ran with 21");
        r = busrpc_proxy_set_value(proxy, IFACE, "SecretHint", &busrpc_type_int32, &secret, &err);
        ok(r < 0 && busrpc_error_has_name(&err, BUSRPC_ERROR_PROPERTY_READ_ONLY), "set_value of a readonly property");
        busrpc_error_clear(&err);
        r = busrpc_proxy_get_value(proxy, IFACE, "Name", &busrpc_type_int32, &hint, &err);
        ok(r < 0 && busrpc_error_has_name(&err, BUSRPC_ERROR_INVALID_ARGS), "get_value with the wrong type");
        busrpc_error_clear(&err);
        {
                char *a = busctl((const char *const[]){ "call", NAME, OBJ_PATH, "org.freedesktop.DBus.Properties",
                                                        "GetAll", "s", IFACE, NULL });
                ok(strncmp(a, "a{sv} 5 ", 8) == 0 && strstr(a, "\"Name\" s \"renamed\"") &&
                           strstr(a, "\"Mode\" y 2") && strstr(a, "\"SecretHint\" i 42"),
                   "GetAll: the five readable properties, through their getters");
                tap_diag("  %s", a);
        }
}

typedef struct SigResult {
        bool done;
        int calls;
        Small first_why;
        char *s;
        Small why;
        int64_t x;
} SigResult;

typedef void (*changed_cb)(const Basics *what, Small why, void *userdata);

static void changed_trampoline(void *args, void (*cb)(void), void *userdata) {
        ChangedArgs *c = args;
        ((changed_cb)cb)(&c->what, c->why, userdata);
}

static void on_changed(const Basics *what, Small why, void *userdata) {
        SigResult *s = userdata;
        if (!s->calls++)
                s->first_why = why;
        s->done = true;
        free(s->s);
        s->s = strdup(what->s);
        s->why = why;
        s->x = what->x;
}

typedef struct PropsResult {
        bool done;
        int mode;
} PropsResult;

/* PropertiesChanged(s, a{sv}, as), its a{sv} read by the marshaller */
static void on_props_changed(busrpc_msg *m, busrpc_iter *args, void *userdata) {
        PropsResult *p = userdata;
        char *name = NULL;
        SVMap changed;
        (void)m;
        if (busrpc_value_read(args, &busrpc_type_string, &name, NULL) < 0)
                return;
        if (strcmp(name, IFACE) == 0 && busrpc_value_read(args, &sv_map_type, &changed, NULL) >= 0) {
                for (size_t i = 0; i < changed.n; i++) {
                        uint8_t y;
                        if (strcmp(changed.keys[i], "Mode") == 0 && busrpc_variant_get_byte(changed.values[i], &y) >= 0)
                                p->mode = y;
                }
                p->done = true;
                busrpc_value_clear(&sv_map_type, &changed);
        }
        free(name);
}

static void test_signals(void) {
        SigResult res = { 0 };
        PropsResult props = { false, -1 };
        busrpc_subscription *sub = NULL, *psub = NULL;
        StrArg arg = { "emitted" };
        busrpc_error err = BUSRPC_ERROR_INIT;
        int r;

        r = busrpc_proxy_on_signal(proxy, IFACE, "Changed", &changed_args, changed_trampoline,
                                   (void (*)(void))on_changed, &res, &sub);
        is_int(r, 0, "busrpc_proxy_on_signal(Changed)");
        r = busrpc_proxy_subscribe(proxy, "org.freedesktop.DBus.Properties", "PropertiesChanged", "sa{sv}as",
                                   on_props_changed, &props, NULL, &psub);
        is_int(r, 0, "subscribed to PropertiesChanged");
        r = busrpc_proxy_invoke(proxy, &r_emit, &arg, NULL, &err);
        is_int(r, 0, "Emit: the server sends Changed with busrpc_object_emit()");
        fixture_wait_for(conn, &res.done);
        ok(res.done && res.s && strcmp(res.s, "emitted") == 0 && res.why == SMALL_TWO && res.x == INT64_MIN + 5,
           "the typed callback got the struct and the enum");
        free(res.s);
        fixture_wait_for(conn, &props.done);
        ok(props.done && props.mode == SMALL_TWO,
           "busrpc_object_notify(Mode): PropertiesChanged carries the value read through .get_op (y 2)");
        busrpc_subscription_release(psub);
        busrpc_subscription_release(sub);
        is_int(busrpc_proxy_on_signal(proxy, IFACE, "Changed", &changed_args, NULL, NULL, NULL, NULL), -EINVAL,
               "on_signal without a trampoline is -EINVAL");
}

typedef struct NineResult {
        bool done;
        int r;
        char *name, *message;
        int s;
} NineResult;

static void nine_trampoline(int r, const busrpc_error *err, void *out, void (*cb)(void), void *userdata) {
        NineResult *n = userdata;
        (void)cb;
        n->done = true;
        n->r = r;
        n->s = r >= 0 ? (int)((SmallOut *)out)->s : -1;
        if (err) {
                n->name = strdup(err->name);
                n->message = strdup(err->message);
        }
}

/* What the marshaller refuses on the client: a reply with an undeclared
 * enum value (sync and async), and a signal with one (dropped; the good
 * one after it arrives). */
static void test_refused_on_client(void) {
        SigResult res = { 0 };
        NineResult n = { 0 };
        busrpc_subscription *sub = NULL;
        busrpc_error err = BUSRPC_ERROR_INIT;
        SmallOut out;
        int r;

        r = busrpc_proxy_on_signal(proxy, IFACE, "Changed", &changed_args, changed_trampoline,
                                   (void (*)(void))on_changed, &res, &sub);
        is_int(r, 0, "subscribed to Changed");
        out.s = SMALL_TWO;
        r = busrpc_proxy_invoke(proxy, &r_raw_nine, NULL, &out, &err);
        is_int(r, -EBADMSG, "a reply holding an undeclared enum value is -EBADMSG");
        is_str(err.message, "9 is not a valid test_small", "InvalidArgs naming value and type");
        is_int(out.s, 0, "the outputs are left empty");
        busrpc_error_clear(&err);
        fixture_wait_for(conn, &res.done);
        ok(res.done && res.calls == 1 && res.first_why == SMALL_ONE,
           "the Changed carrying 9 was dropped, the good one after it arrived (one callback)");
        free(res.s);
        busrpc_subscription_release(sub);

        r = busrpc_proxy_invoke_async(proxy, &r_raw_nine, NULL, nine_trampoline, NULL, &n, NULL);
        is_int(r, 0, "the same, async");
        fixture_wait_for(conn, &n.done);
        ok(n.done && n.r == -EBADMSG && n.s == -1 && n.name && strcmp(n.name, BUSRPC_ERROR_INVALID_ARGS) == 0 &&
                   strcmp(n.message, "9 is not a valid test_small") == 0,
           "the trampoline ran once with -EBADMSG and InvalidArgs");
        free(n.name);
        free(n.message);
}

static void test_busctl(void) {
        is_str(busctl((const char *const[]){ "call", NAME, OBJ_PATH, IFACE, "Add", "ii", "2", "3", NULL }), "i 5",
               "busctl call Add ii 2 3 against the descriptor server: i 5");
        ok(strstr(busctl((const char *const[]){ "call", NAME, OBJ_PATH, IFACE, "Add", "s", "x", NULL }),
                  "InvalidArgs") ||
                   strstr(busctl((const char *const[]){ "call", NAME, OBJ_PATH, IFACE, "Add", "s", "x", NULL }),
                          "nvalid"),
           "busctl: a wrong signature is refused");
        is_str(busctl((const char *const[]){ "--", "call", NAME, OBJ_PATH, IFACE, "Enums", "yntqux", "2", "-3",
                                             "18446744073709551615", "32769", "2147483649", "-9223372036854775808",
                                             NULL }),
               "yntqux 2 -3 18446744073709551615 32769 2147483649 -9223372036854775808",
               "busctl: enums at their extremes come back as sent");
        is_str(busctl((const char *const[]){ "call", NAME, OBJ_PATH, IFACE, "Fail", NULL }),
               "Call failed: nope 42", "busctl sees an op's error");
}

/* The same server, peer to peer: no bus in between. */
static void test_peer(void) {
        busrpc_conn *pc = NULL;
        busrpc_proxy *pp = NULL;
        AddIn in = { -5, 7 };
        AddOut out = { 0 };
        HandlesArgs hin, hout;
        busrpc_shm *shm;
        busrpc_error err = BUSRPC_ERROR_INIT;
        int p[2], r;

        r = busrpc_conn_open_peer(peer_address, &pc);
        is_int(r, 0, "a peer connection to the server's socket");
        if (r < 0)
                return;
        busrpc_proxy_new(pc, NULL, OBJ_PATH, &pp);
        r = busrpc_proxy_invoke(pp, &r_add, &in, &out, &err);
        ok(r == 0 && out.sum == 2, "busrpc_proxy_invoke(Add) peer to peer: -5 + 7 = 2");
        if (pipe(p) < 0 || busrpc_shm_new(16, &shm) < 0)
                tap_bail("pipe / shm");
        memcpy(busrpc_shm_data(shm), "peer to peer ok", 16);
        hin.h = (Handles){ .file = p[1], .blob = shm, .inner = { .other = p[0], .label = "p2p" } };
        r = busrpc_proxy_invoke(pp, &r_handles, &hin, &hout, &err);
        ok(r == 0 && same_file(hout.h.file, p[1]) && strcmp(busrpc_shm_const_data(hout.h.blob), "peer to peer ok") == 0 &&
                   strcmp(hout.h.inner.label, "p2p") == 0,
           "fds and a shm there and back peer to peer");
        if (r == 0)
                busrpc_args_clear(&handles_args, &hout);
        busctl_address = peer_address;
        is_str(busctl((const char *const[]){ "--", "call", NAME, OBJ_PATH, IFACE, "Add", "ii", "-1", "-2", NULL }),
               "i -3", "busctl --address= against the peer socket: i -3");
        busctl_address = fx.address;
        busrpc_shm_unref(shm);
        close(p[0]);
        close(p[1]);
        busrpc_proxy_unref(pp);
        busrpc_conn_unref(pc);
}

/* python3-dbus, another foreign peer: a struct and a map of arrays of
 * structs both ways, and an enum it gets wrong. */
static const char py_script[] =
        "import dbus, sys\n"
        "b = dbus.bus.BusConnection(sys.argv[1])\n"
        "o = b.get_object('" NAME "', '" OBJ_PATH "')\n"
        "i = dbus.Interface(o, '" IFACE "')\n"
        "p = dbus.Interface(o, 'org.freedesktop.DBus.Properties')\n"
        "row = dbus.Struct((True, dbus.Byte(7), dbus.Int16(-2), dbus.UInt16(3), dbus.Int32(-4), dbus.UInt32(5),\n"
        "    dbus.Int64(-6), dbus.UInt64(7), 8.5, 'py', dbus.ObjectPath('/py'), dbus.Signature('as'),\n"
        "    dbus.Int32(9, variant_level=1)), signature='bynqiuxtdsogv')\n"
        "p.Set('" IFACE "', 'Tree', dbus.Dictionary({'py': dbus.Array([row], signature='(bynqiuxtdsogv)')},\n"
        "    signature='sa(bynqiuxtdsogv)'))\n"
        "t = p.Get('" IFACE "', 'Tree')\n"
        "r = t['py'][0]\n"
        "print('tree', len(t), int(r[1]), r[2], r[8], r[9], r[10], r[11], int(r[12]))\n"
        "print('enums', ' '.join(str(int(x)) for x in i.Enums(dbus.Byte(2), dbus.Int16(-1), dbus.UInt64(1),\n"
        "    dbus.UInt16(3), dbus.UInt32(1), dbus.Int64(5))))\n"
        "try:\n"
        "    i.Enums(dbus.Byte(1), dbus.Int16(-2), dbus.UInt64(1), dbus.UInt16(0), dbus.UInt32(1), dbus.Int64(5))\n"
        "    print('bad enum accepted')\n"
        "except dbus.DBusException as e:\n"
        "    print('error', e.get_dbus_name(), e.get_dbus_message())\n";

static void test_python(void) {
        char *out = run_peer("/usr/bin/python3",
                             (const char *const[]){ "/usr/bin/python3", "-c", py_script, fx.address, NULL });
        Tree t;
        busrpc_error err = BUSRPC_ERROR_INIT;
        int r;

        ok(strstr(out, "tree 1 7 -2 8.5 py /py as 9") != NULL,
           "python3-dbus sets Tree (a{sa(bynqiuxtdsogv)}) and reads it back through get_op/set_op");
        ok(strstr(out, "enums 2 -1 1 3 1 5") != NULL, "python3-dbus calls Enums with declared values");
        ok(strstr(out, "error org.freedesktop.DBus.Error.InvalidArgs -2 is not a valid test_signed") != NULL,
           "python3-dbus sees InvalidArgs naming its undeclared value");
        if (!strstr(out, "tree 1 7 -2 8.5 py /py as 9"))
                tap_diag("  python: %s", out);
        r = busrpc_proxy_get_value(proxy, IFACE, "Tree", &tree_type, &t, &err);
        ok(r == 0 && t.n == 1 && strcmp(t.keys[0], "py") == 0 && t.values[0].n == 1 &&
                   t.values[0].items[0].d == 8.5 && strcmp(t.values[0].items[0].g, "as") == 0,
           "busrpc reads python's Tree: the same values");
        busrpc_value_clear(&tree_type, &t);
}

static void test_bad_export(void) {
        static const busrpc_method_desc bad_methods[] = {
                { "Add", "iu", "i", NULL, 0, &add_in, &add_out, op_add },
        };
        static const busrpc_interface_desc bad = { .name = "org.busrpc.test.Bad", .xml = "",
                                                   .methods = bad_methods, .n_methods = 1 };
        static const busrpc_property_desc bad_props[] = {
                { "P", "s", NULL, NULL, BUSRPC_PROP_READ, &busrpc_type_int32, get_mode, NULL },
        };
        static const busrpc_interface_desc bad2 = { .name = "org.busrpc.test.Bad2", .xml = "",
                                                    .properties = bad_props, .n_properties = 1 };
        static const busrpc_method_desc no_out[] = {
                { "Add", "ii", "i", NULL, 0, &add_in, NULL, op_add },
        };
        static const busrpc_interface_desc bad3 = { .name = "org.busrpc.test.Bad3", .xml = "",
                                                    .methods = no_out, .n_methods = 1 };

        is_int(busrpc_object_export(busrpc_conn_get_objects(conn), "/bad", &bad, NULL, NULL, NULL), -EINVAL,
               "export: .in's signature differs from in_sig: -EINVAL");
        is_int(busrpc_object_export(busrpc_conn_get_objects(conn), "/bad", &bad2, NULL, NULL, NULL), -EINVAL,
               "export: a property whose .type is not its sig: -EINVAL");
        is_int(busrpc_object_export(busrpc_conn_get_objects(conn), "/bad", &bad3, NULL, NULL, NULL), -EINVAL,
               "export: an .op without .out: -EINVAL");
}

int main(void) {
        int status = 0, fds_before;

        signal(SIGPIPE, SIG_IGN);
        TAP_RUN(test_basic_types);
        TAP_RUN(test_containers);
        TAP_RUN(test_enums);
        TAP_RUN(test_read_errors);
        TAP_RUN(test_append_errors);
        TAP_RUN(test_bad_descriptors);
        TAP_RUN(test_fds_and_shm_values);
        TAP_RUN(test_args);

        fixture_start_daemon(&fx, "marshal", NULL);
        snprintf(peer_address, sizeof(peer_address), "unix:path=%s/p/sock", fx.dir);
        fixture_start_server(&fx, run_server);
        if (busrpc_conn_open(fx.address, &conn) < 0 || busrpc_proxy_new(conn, NAME, OBJ_PATH, &proxy) < 0)
                tap_bail("cannot connect to the private bus");
        fds_before = fixture_count_fds();
        TAP_RUN(test_invoke);
        TAP_RUN(test_invoke_values);
        TAP_RUN(test_invoke_fds);
        TAP_RUN(test_invoke_async);
        TAP_RUN(test_noreply);
        TAP_RUN(test_properties);
        TAP_RUN(test_signals);
        TAP_RUN(test_refused_on_client);
        TAP_RUN(test_busctl);
        TAP_RUN(test_peer);
        TAP_RUN(test_python);
        TAP_RUN(test_bad_export);
        is_int(fixture_count_fds(), fds_before, "the client holds no more fds than before the calls");

        busrpc_proxy_unref(proxy);
        busrpc_conn_unref(conn);
        status = fixture_stop(&fx);
        ok(status == 0, "the server stopped cleanly on SIGTERM (status %d)", status);
        dbus_shutdown();
        return tap_done();
}
