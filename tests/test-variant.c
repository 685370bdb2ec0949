/* test-variant.c: busrpc_variant constructors, typed getters, nesting,
 * containers, busctl-style printing and equality.
 */
#include <dbus/dbus.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include "busrpc/busrpc.h"
#include "tap.h"

static void is_printed(const busrpc_variant *v, const char *want, const char *name) {
        char *s = NULL;
        int r = v ? busrpc_variant_to_string(v, &s) : -EINVAL;

        if (!ok(r == 0 && s && strcmp(s, want) == 0, "%s prints as %s", name, want))
                tap_diag("  got \"%s\" (r=%d)", s ? s : "(null)", r);
        free(s);
}

static void test_basic_constructors(void) {
        busrpc_variant *v = NULL;
        bool b = false;
        uint8_t y = 0;
        int16_t n = 0;
        uint16_t q = 0;
        int32_t i = 0;
        uint32_t u = 0;
        int64_t x = 0;
        uint64_t t = 0;
        double d = 0;
        const char *s = NULL;

        is_int(busrpc_variant_new_bool(true, &v), 0, "bool");
        is_str(busrpc_variant_get_signature(v), "b", "signature b");
        is_int(busrpc_variant_get_bool(v, &b), 0, "get_bool");
        ok(b, "true back");
        is_int(busrpc_variant_get_int32(v, &i), -EINVAL, "get_int32 on a bool is -EINVAL");
        is_printed(v, "b true", "bool");
        v = busrpc_variant_unref(v);

        busrpc_variant_new_byte(200, &v);
        is_int(busrpc_variant_get_byte(v, &y), 0, "get_byte");
        is_int(y, 200, "byte 200");
        is_printed(v, "y 200", "byte");
        v = busrpc_variant_unref(v);

        busrpc_variant_new_int16(INT16_MIN, &v);
        busrpc_variant_get_int16(v, &n);
        is_int(n, INT16_MIN, "int16 min");
        is_int(busrpc_variant_get_uint16(v, &q), -EINVAL, "uint16 getter on n: -EINVAL");
        is_printed(v, "n -32768", "int16");
        v = busrpc_variant_unref(v);

        busrpc_variant_new_uint16(UINT16_MAX, &v);
        busrpc_variant_get_uint16(v, &q);
        is_int(q, UINT16_MAX, "uint16 max");
        v = busrpc_variant_unref(v);

        busrpc_variant_new_int32(-42, &v);
        busrpc_variant_get_int32(v, &i);
        is_int(i, -42, "int32");
        is_printed(v, "i -42", "int32");
        v = busrpc_variant_unref(v);

        busrpc_variant_new_uint32(UINT32_MAX, &v);
        busrpc_variant_get_uint32(v, &u);
        ok(u == UINT32_MAX, "uint32 max");
        is_printed(v, "u 4294967295", "uint32");
        v = busrpc_variant_unref(v);

        busrpc_variant_new_int64(INT64_MIN, &v);
        busrpc_variant_get_int64(v, &x);
        ok(x == INT64_MIN, "int64 min");
        is_printed(v, "x -9223372036854775808", "int64");
        v = busrpc_variant_unref(v);

        busrpc_variant_new_uint64(UINT64_MAX, &v);
        busrpc_variant_get_uint64(v, &t);
        ok(t == UINT64_MAX, "uint64 max");
        is_int(busrpc_variant_get_int64(v, &x), -EINVAL, "int64 getter on t: -EINVAL");
        v = busrpc_variant_unref(v);

        busrpc_variant_new_double(2.5, &v);
        busrpc_variant_get_double(v, &d);
        ok(d == 2.5, "double");
        is_printed(v, "d 2.5", "double");
        v = busrpc_variant_unref(v);

        busrpc_variant_new_string("say \"hi\"\n\xc3\xa9", &v);
        busrpc_variant_get_string(v, &s);
        is_str(s, "say \"hi\"\n\xc3\xa9", "string");
        is_int(busrpc_variant_get_objpath(v, &s), -EINVAL, "objpath getter on s: -EINVAL");
        is_printed(v, "s \"say \\\"hi\\\"\\n\\303\\251\"", "string with escapes");
        v = busrpc_variant_unref(v);

        busrpc_variant_new_objpath("/a/b", &v);
        is_int(busrpc_variant_get_objpath(v, &s), 0, "objpath");
        is_str(s, "/a/b", "objpath value");
        is_printed(v, "o \"/a/b\"", "objpath");
        v = busrpc_variant_unref(v);

        busrpc_variant_new_signature("a{sv}", &v);
        is_int(busrpc_variant_get_signature_value(v, &s), 0, "signature value");
        is_str(s, "a{sv}", "signature value");
        is_int(busrpc_variant_get_string(v, &s), -EINVAL, "string getter on g: -EINVAL");
        v = busrpc_variant_unref(v);

        is_int(busrpc_variant_new_basic('v', &i, &v), -EINVAL, "new_basic refuses a container type");
        is_int(busrpc_variant_new_int32(1, NULL), -EINVAL, "NULL ret refused");
        is_int(busrpc_variant_get_int32(NULL, &i), -EINVAL, "NULL variant refused");
}

static void test_nesting(void) {
        busrpc_variant *inner = NULL, *mid = NULL, *outer = NULL, *back = NULL, *back2 = NULL;
        busrpc_variant *v, *next;
        int32_t i = 0;
        int r = 0, depth = 0;

        busrpc_variant_new_int32(7, &inner);
        is_int(busrpc_variant_new_variant(inner, &mid), 0, "variant in a variant");
        is_int(busrpc_variant_new_variant(mid, &outer), 0, "and again");
        is_str(busrpc_variant_get_signature(outer), "v", "outer signature v");
        is_printed(outer, "v v i 7", "nested variant");
        is_int(busrpc_variant_get_variant(outer, &back), 0, "get_variant");
        is_int(busrpc_variant_get_variant(back, &back2), 0, "get_variant again");
        is_int(busrpc_variant_get_int32(back2, &i), 0, "innermost int");
        is_int(i, 7, "value 7 survives two levels");
        ok(busrpc_variant_equal(back, mid), "copy equals the original");
        ok(!busrpc_variant_equal(back, outer), "different depths differ");
        is_int(busrpc_variant_get_variant(inner, &back2), -EINVAL, "get_variant on an int: -EINVAL");
        busrpc_variant_unref(back2);
        busrpc_variant_unref(back);
        busrpc_variant_unref(outer);
        busrpc_variant_unref(mid);

        /* Nesting ends at the specification's 64 containers, with an error. */
        v = busrpc_variant_ref(inner);
        for (depth = 0; depth < 100; depth++) {
                next = NULL;
                r = busrpc_variant_new_variant(v, &next);
                if (r < 0)
                        break;
                busrpc_variant_unref(v);
                v = next;
        }
        is_int(r, -E2BIG, "too deep nesting is -E2BIG");
        ok(depth >= 60 && depth <= 64, "stopped near depth 64 (%d)", depth);
        busrpc_variant_unref(v);
        busrpc_variant_unref(inner);
}

static int build_dict(busrpc_iter *it, void *userdata) {
        busrpc_iter a, e;
        busrpc_variant *v = userdata;
        const char *k1 = "name", *k2 = "count", *s = "x y";
        int r;

        if ((r = busrpc_iter_open(it, 'a', "{sv}", &a)) < 0)
                return r;
        if ((r = busrpc_iter_open(&a, 'e', NULL, &e)) < 0 || (r = busrpc_iter_append_basic(&e, 's', &k1)) < 0)
                return r;
        {
                busrpc_iter var;
                if ((r = busrpc_iter_open(&e, 'v', "s", &var)) < 0 ||
                    (r = busrpc_iter_append_basic(&var, 's', &s)) < 0 || (r = busrpc_iter_close(&e, &var)) < 0)
                        return r;
        }
        if ((r = busrpc_iter_close(&a, &e)) < 0)
                return r;
        if ((r = busrpc_iter_open(&a, 'e', NULL, &e)) < 0 || (r = busrpc_iter_append_basic(&e, 's', &k2)) < 0 ||
            (r = busrpc_iter_append_variant(&e, v)) < 0 || (r = busrpc_iter_close(&a, &e)) < 0)
                return r;
        return busrpc_iter_close(it, &a);
}

static int build_struct(busrpc_iter *it, void *userdata) {
        busrpc_iter s, a;
        int32_t i = -1;
        uint32_t b = 0;
        const char *x = "a", *y = "b";
        int r;

        (void)userdata;
        if ((r = busrpc_iter_open(it, 'r', NULL, &s)) < 0 || (r = busrpc_iter_append_basic(&s, 'i', &i)) < 0 ||
            (r = busrpc_iter_append_basic(&s, 'b', &b)) < 0 || (r = busrpc_iter_open(&s, 'a', "s", &a)) < 0 ||
            (r = busrpc_iter_append_basic(&a, 's', &x)) < 0 || (r = busrpc_iter_append_basic(&a, 's', &y)) < 0 ||
            (r = busrpc_iter_close(&s, &a)) < 0) {
                busrpc_iter_abandon(it, &s); /* what a builder must do on failure */
                return r;
        }
        return busrpc_iter_close(it, &s);
}

static void test_containers(void) {
        busrpc_variant *count = NULL, *dict = NULL, *dict2 = NULL, *st = NULL, *copy = NULL;
        busrpc_iter it, a, e;
        const char *key = NULL;
        int r;

        busrpc_variant_new_uint64(3, &count);
        r = busrpc_variant_new_built("a{sv}", build_dict, count, &dict);
        is_int(r, 0, "a{sv} built");
        is_printed(dict, "a{sv} 2 \"name\" s \"x y\" \"count\" t 3", "a{sv}");
        busrpc_variant_new_built("a{sv}", build_dict, count, &dict2);
        ok(busrpc_variant_equal(dict, dict2), "two equal dicts are equal");
        if (dict) {
                busrpc_variant_read(dict, &it);
                is_int(busrpc_iter_type(&it), 'a', "array");
                busrpc_iter_recurse(&it, &a);
                is_int(busrpc_iter_type(&a), 'e', "dict entry");
                busrpc_iter_recurse(&a, &e);
                busrpc_iter_get_basic(&e, 's', &key);
                is_str(key, "name", "first key");
                char sig[BUSRPC_SIGNATURE_MAX + 1] = "untouched";

                is_int(busrpc_iter_get_variant_signature(&e, sig, sizeof(sig)), 1, "variant signature: its length");
                is_str(sig, "s", "value's variant signature, in the caller's buffer");
                memcpy(sig, "zz", 3);
                is_int(busrpc_iter_get_variant_signature(&e, sig, 1), -ERANGE, "a buffer without room for the NUL: -ERANGE");
                is_str(sig, "zz", "... and the buffer is not written");
                is_int(busrpc_iter_get_variant_signature(&e, sig, 2), 1, "two bytes hold \"s\"");
                is_int(busrpc_iter_get_variant_signature(&e, NULL, 2), -EINVAL, "a NULL buffer: -EINVAL");
                is_int(busrpc_iter_get_variant_signature(&a, sig, sizeof(sig)), -EBADMSG,
                       "no variant at the iterator: -EBADMSG");
                is_int(busrpc_iter_type(&e), 'v', "the iterator did not move");
        }

        r = busrpc_variant_new_built("(iVas)", build_struct, NULL, &st);
        is_int(r, -EINVAL, "bad signature for new_built is -EINVAL");
        r = busrpc_variant_new_built("(ibas)", build_struct, NULL, &st);
        is_int(r, 0, "(ibas) built");
        is_printed(st, "(ibas) -1 false 2 \"a\" \"b\"", "struct");
        ok(!busrpc_variant_equal(st, dict), "struct != dict");
        r = busrpc_variant_new_built("(ibas)x", build_struct, NULL, &copy);
        is_int(r, -EINVAL, "two complete types refused");
        r = busrpc_variant_new_built("(iba{ss})", build_struct, NULL, &copy);
        is_int(r, -EINVAL, "builder that appends another type: -EINVAL");
        ok(copy == NULL, "nothing returned");

        /* A variant holding a container, as a variant in a variant. */
        r = busrpc_variant_new_variant(dict, &copy);
        is_int(r, 0, "variant holding a{sv}");
        is_printed(copy, "v a{sv} 2 \"name\" s \"x y\" \"count\" t 3", "v a{sv}");

        busrpc_variant_unref(copy);
        busrpc_variant_unref(st);
        busrpc_variant_unref(dict2);
        busrpc_variant_unref(dict);
        busrpc_variant_unref(count);
}

static void test_equal(void) {
        busrpc_variant *a = NULL, *b = NULL, *c = NULL, *n1 = NULL, *n2 = NULL;

        busrpc_variant_new_string("x", &a);
        busrpc_variant_new_string("x", &b);
        busrpc_variant_new_objpath("/x", &c);
        ok(busrpc_variant_equal(a, b), "same strings equal");
        ok(!busrpc_variant_equal(a, c), "string vs path differ");
        ok(!busrpc_variant_equal(a, NULL), "NULL differs");
        busrpc_variant_new_double(NAN, &n1);
        busrpc_variant_new_double(NAN, &n2);
        ok(busrpc_variant_equal(n1, n2), "NaN equals NaN (bitwise)");
        {
                FILE *f = tmpfile();
                is_int(f ? busrpc_variant_print(a, f) : -1, 5, "print returns chars written (s \"x\")");
                if (f)
                        fclose(f);
        }
        busrpc_variant_unref(a);
        busrpc_variant_unref(b);
        busrpc_variant_unref(c);
        busrpc_variant_unref(n1);
        busrpc_variant_unref(n2);
}

int main(void) {
        TAP_RUN(test_basic_constructors);
        TAP_RUN(test_nesting);
        TAP_RUN(test_containers);
        TAP_RUN(test_equal);
        dbus_shutdown();
        return tap_done();
}
