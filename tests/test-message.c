/* test-message.c: busrpc_iter append/read round trips (through a variant's
 * private message: the same marshalling code as a call), and the checks
 * that keep bad values from reaching libdbus (which would abort).
 */
#include <dbus/dbus.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>
#include "busrpc/busrpc.h"
#include "tap.h"

/* ---- every basic type, min and max ---- */

static int build_basics(busrpc_iter *it, void *userdata) {
        busrpc_iter s;
        uint8_t y0 = 0, y1 = UINT8_MAX;
        uint32_t b0 = 0, b1 = 1;
        int16_t n0 = INT16_MIN, n1 = INT16_MAX;
        uint16_t q0 = 0, q1 = UINT16_MAX;
        int32_t i0 = INT32_MIN, i1 = INT32_MAX;
        uint32_t u0 = 0, u1 = UINT32_MAX;
        int64_t x0 = INT64_MIN, x1 = INT64_MAX;
        uint64_t t0 = 0, t1 = UINT64_MAX;
        double d0 = -1.5e300, d1 = 0.1;
        const char *s0 = "", *s1 = "gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80", *o = "/org/example/Obj_1",
                   *g = "a{sv}(iai)";
        int r = busrpc_iter_open(it, 'r', NULL, &s);

        (void)userdata;
        if (r < 0)
                return r;
        if ((r = busrpc_iter_append_basic(&s, 'y', &y0)) < 0 || (r = busrpc_iter_append_basic(&s, 'y', &y1)) < 0 ||
            (r = busrpc_iter_append_basic(&s, 'b', &b0)) < 0 || (r = busrpc_iter_append_basic(&s, 'b', &b1)) < 0 ||
            (r = busrpc_iter_append_basic(&s, 'n', &n0)) < 0 || (r = busrpc_iter_append_basic(&s, 'n', &n1)) < 0 ||
            (r = busrpc_iter_append_basic(&s, 'q', &q0)) < 0 || (r = busrpc_iter_append_basic(&s, 'q', &q1)) < 0 ||
            (r = busrpc_iter_append_basic(&s, 'i', &i0)) < 0 || (r = busrpc_iter_append_basic(&s, 'i', &i1)) < 0 ||
            (r = busrpc_iter_append_basic(&s, 'u', &u0)) < 0 || (r = busrpc_iter_append_basic(&s, 'u', &u1)) < 0 ||
            (r = busrpc_iter_append_basic(&s, 'x', &x0)) < 0 || (r = busrpc_iter_append_basic(&s, 'x', &x1)) < 0 ||
            (r = busrpc_iter_append_basic(&s, 't', &t0)) < 0 || (r = busrpc_iter_append_basic(&s, 't', &t1)) < 0 ||
            (r = busrpc_iter_append_basic(&s, 'd', &d0)) < 0 || (r = busrpc_iter_append_basic(&s, 'd', &d1)) < 0 ||
            (r = busrpc_iter_append_basic(&s, 's', &s0)) < 0 || (r = busrpc_iter_append_basic(&s, 's', &s1)) < 0 ||
            (r = busrpc_iter_append_basic(&s, 'o', &o)) < 0 || (r = busrpc_iter_append_basic(&s, 'g', &g)) < 0)
                return r;
        return busrpc_iter_close(it, &s);
}

static void test_basic_round_trip(void) {
        busrpc_variant *v = NULL;
        busrpc_iter it, s;
        uint8_t y[2];
        uint32_t b[2], u[2];
        int16_t n[2];
        uint16_t q[2];
        int32_t i[2];
        int64_t x[2];
        uint64_t t[2];
        double d[2];
        const char *str[2], *o, *g;
        int r;

        r = busrpc_variant_new_built("(yybbnnqqiiuuxxttddssog)", build_basics, NULL, &v);
        is_int(r, 0, "struct of every basic type built");
        if (r < 0)
                return;
        is_int(busrpc_variant_read(v, &it), 0, "read");
        is_int(busrpc_iter_type(&it), 'r', "a struct");
        is_int(busrpc_iter_recurse(&it, &s), 0, "recurse");
        ok(busrpc_iter_at_end(&it), "outer iterator advanced past the struct");
        for (int k = 0; k < 2; k++)
                busrpc_iter_get_basic(&s, 'y', &y[k]);
        for (int k = 0; k < 2; k++)
                busrpc_iter_get_basic(&s, 'b', &b[k]);
        for (int k = 0; k < 2; k++)
                busrpc_iter_get_basic(&s, 'n', &n[k]);
        for (int k = 0; k < 2; k++)
                busrpc_iter_get_basic(&s, 'q', &q[k]);
        for (int k = 0; k < 2; k++)
                busrpc_iter_get_basic(&s, 'i', &i[k]);
        for (int k = 0; k < 2; k++)
                busrpc_iter_get_basic(&s, 'u', &u[k]);
        for (int k = 0; k < 2; k++)
                busrpc_iter_get_basic(&s, 'x', &x[k]);
        for (int k = 0; k < 2; k++)
                busrpc_iter_get_basic(&s, 't', &t[k]);
        for (int k = 0; k < 2; k++)
                busrpc_iter_get_basic(&s, 'd', &d[k]);
        for (int k = 0; k < 2; k++)
                busrpc_iter_get_basic(&s, 's', &str[k]);
        busrpc_iter_get_basic(&s, 'o', &o);
        is_int(busrpc_iter_get_basic(&s, 'g', &g), 0, "last value read");
        ok(busrpc_iter_at_end(&s), "struct at end");
        is_int(busrpc_iter_get_basic(&s, 'i', &i[0]), -EBADMSG, "reading past the end is -EBADMSG");
        ok(y[0] == 0 && y[1] == UINT8_MAX, "byte min/max");
        ok(b[0] == 0 && b[1] == 1, "bool false/true as uint32");
        ok(n[0] == INT16_MIN && n[1] == INT16_MAX, "int16 min/max");
        ok(q[0] == 0 && q[1] == UINT16_MAX, "uint16 min/max");
        ok(i[0] == INT32_MIN && i[1] == INT32_MAX, "int32 min/max");
        ok(u[0] == 0 && u[1] == UINT32_MAX, "uint32 min/max");
        ok(x[0] == INT64_MIN && x[1] == INT64_MAX, "int64 min/max");
        ok(t[0] == 0 && t[1] == UINT64_MAX, "uint64 min/max");
        ok(d[0] == -1.5e300 && d[1] == 0.1, "doubles exact");
        is_str(str[0], "", "empty string");
        is_str(str[1], "gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80", "multi-byte UTF-8 string");
        is_str(o, "/org/example/Obj_1", "object path");
        is_str(g, "a{sv}(iai)", "signature");
        busrpc_variant_unref(v);
}

/* ---- values libdbus would abort on are refused ---- */

static int build_bad_string(busrpc_iter *it, void *userdata) {
        const char *s = userdata;
        return busrpc_iter_append_basic(it, *s == '/' || *s == 'x' ? 'o' : 's', &s);
}

static int build_wrong_in_array(busrpc_iter *it, void *userdata) {
        busrpc_iter a;
        const char *s = "x";
        int32_t i = 1;
        int r, *res = userdata;

        busrpc_iter_open(it, 'a', "i", &a);
        res[0] = busrpc_iter_append_basic(&a, 's', &s);       /* string into ai */
        res[1] = busrpc_iter_append_basic(&a, 'i', &i);       /* fine */
        res[2] = busrpc_iter_open(&a, 'r', NULL, &(busrpc_iter){ 0 }); /* struct into ai */
        res[3] = busrpc_iter_append_fixed_array(&a, 'i', &i, 1);      /* ai into ai */
        r = busrpc_iter_close(it, &a);
        return r;
}

static int build_two_values(busrpc_iter *it, void *userdata) {
        int32_t i = 1;
        int *res = userdata;

        res[0] = busrpc_iter_append_basic(it, 'i', &i);
        res[1] = busrpc_iter_append_basic(it, 'i', &i); /* a variant holds one value */
        return 0;
}

static int build_short_struct(busrpc_iter *it, void *userdata) {
        busrpc_iter s;
        int32_t i = 1;
        int *res = userdata;

        busrpc_iter_open(it, 'r', NULL, &s);
        busrpc_iter_append_basic(&s, 'i', &i);
        res[0] = busrpc_iter_close(it, &s); /* (ii) with one int */
        busrpc_iter_append_basic(&s, 'i', &i);
        res[1] = busrpc_iter_close(it, &s);
        return 0;
}

static int build_bad_bools(busrpc_iter *it, void *userdata) {
        uint32_t bools[3] = { 1, 0, 2 };
        int *res = userdata;

        res[0] = busrpc_iter_append_fixed_array(it, 'b', bools, 3); /* 2 is no bool */
        res[1] = busrpc_iter_append_fixed_array(it, 'b', bools, 2);
        return 0;
}

static void test_refusals(void) {
        busrpc_variant *v = NULL;
        int res[4] = { 0 };

        is_int(busrpc_variant_new_string("ab\xff", &v), -EINVAL, "invalid UTF-8 (0xff) refused");
        is_int(busrpc_variant_new_string("\xc0\xaf", &v), -EINVAL, "overlong UTF-8 refused");
        is_int(busrpc_variant_new_string("\xed\xa0\x80", &v), -EINVAL, "UTF-16 surrogate refused");
        is_int(busrpc_variant_new_string("\xf4\x90\x80\x80", &v), -EINVAL, "above U+10FFFF refused");
        is_int(busrpc_variant_new_string("\xe2\x82", &v), -EINVAL, "truncated sequence refused");
        is_int(busrpc_variant_new_objpath("/a//b", &v), -EINVAL, "bad object path refused");
        is_int(busrpc_variant_new_objpath("/a/", &v), -EINVAL, "trailing slash refused");
        is_int(busrpc_variant_new_objpath("x", &v), -EINVAL, "relative path refused");
        is_int(busrpc_variant_new_signature("a{vs}", &v), -EINVAL, "bad signature (variant key) refused");
        is_int(busrpc_variant_new_signature("(", &v), -EINVAL, "bad signature refused");
        is_int(busrpc_variant_new_built("o", build_bad_string, (void *)"x-y", &v), -EINVAL, "path via iter refused");
        ok(v == NULL, "nothing returned on failure");

        is_int(busrpc_variant_new_built("ai", build_wrong_in_array, res, &v), 0, "array built");
        is_int(res[0], -EINVAL, "a string into 'ai' is -EINVAL, not an abort");
        is_int(res[1], 0, "an int into 'ai' is fine");
        is_int(res[2], -EINVAL, "a struct into 'ai' is -EINVAL");
        is_int(res[3], -EINVAL, "an array into 'ai' is -EINVAL");
        busrpc_variant_unref(v);
        v = NULL;

        is_int(busrpc_variant_new_built("i", build_two_values, res, &v), 0, "one value");
        is_int(res[1], -EINVAL, "second value into a one-value iterator refused");
        busrpc_variant_unref(v);
        v = NULL;

        is_int(busrpc_variant_new_built("(ii)", build_short_struct, res, &v), 0, "struct built");
        is_int(res[0], -EINVAL, "closing an incomplete struct refused");
        is_int(res[1], 0, "closing the complete struct works");
        busrpc_variant_unref(v);
        v = NULL;

        is_int(busrpc_variant_new_built("ab", build_bad_bools, res, &v), 0, "bool array built");
        is_int(res[0], -EINVAL, "bool 2 in a fixed array refused");
        is_int(res[1], 0, "bools 1 0 accepted");
        busrpc_variant_unref(v);
        v = NULL;

        is_int(busrpc_variant_new_built("i", build_bad_string, (void *)"s", &v), -EINVAL,
               "a string where the signature says int is -EINVAL");
        is_int(busrpc_iter_append_basic(NULL, 'i', &res[0]), -EINVAL, "NULL iterator refused");
}

/* ---- arrays: the fixed-array fast path ---- */

#define N_BIG 10000

static int build_big(busrpc_iter *it, void *userdata) {
        return busrpc_iter_append_fixed_array(it, 'i', userdata, N_BIG);
}

static void test_big_array(void) {
        static int32_t items[N_BIG];
        busrpc_variant *v = NULL;
        const void *got = NULL;
        size_t n = 0;
        busrpc_iter it;
        bool same;
        char *s = NULL;

        for (int k = 0; k < N_BIG; k++)
                items[k] = k * 7 - 3;
        is_int(busrpc_variant_new_built("ai", build_big, items, &v), 0, "10,000 ints appended");
        if (!v)
                return;
        busrpc_variant_read(v, &it);
        is_int(busrpc_iter_get_fixed_array(&it, 'i', &got, &n), 0, "read with get_fixed_array");
        is_int(n, N_BIG, "10,000 elements back");
        same = got && memcmp(got, items, sizeof(items)) == 0;
        ok(same, "same elements");
        busrpc_variant_read(v, &it);
        is_int(busrpc_iter_get_fixed_array(&it, 'u', &got, &n), -EBADMSG, "wrong element type is -EBADMSG");
        is_int(busrpc_variant_to_string(v, &s), 0, "printed");
        ok(s && strncmp(s, "ai 10000 -3 4 11 ", 17) == 0, "print starts 'ai 10000 -3 4 11'");
        free(s);
        busrpc_variant_unref(v);
}

static int build_empty(busrpc_iter *it, void *userdata) {
        busrpc_iter a;
        int r = busrpc_iter_open(it, 'a', "(is)", &a);
        return r < 0 ? r : busrpc_iter_close(it, &a);
}

static void test_empty_array(void) {
        busrpc_variant *v = NULL;
        busrpc_iter it, a;

        is_int(busrpc_variant_new_built("a(is)", build_empty, NULL, &v), 0, "empty a(is)");
        if (!v)
                return;
        busrpc_variant_read(v, &it);
        is_int(busrpc_iter_recurse(&it, &a), 0, "recurse into empty array");
        ok(busrpc_iter_at_end(&a), "at end at once");
        busrpc_variant_unref(v);
}

/* ---- fds: 'ah' never reaches get_fixed_array ---- */

static int build_fds(busrpc_iter *it, void *userdata) {
        busrpc_iter a;
        int r = busrpc_iter_open(it, 'a', "h", &a);

        if (r < 0)
                return r;
        for (int k = 0; k < 3; k++)
                if ((r = busrpc_iter_append_fd(&a, STDERR_FILENO)) < 0)
                        return r;
        return busrpc_iter_close(it, &a);
}

static void test_fd_array(void) {
        busrpc_variant *v = NULL;
        busrpc_iter it, a;
        const void *items;
        size_t n;
        int fd = -1, flags;

        is_int(busrpc_iter_append_fixed_array(&(busrpc_iter){ 0 }, 'h', NULL, 0), -EINVAL, "append 'ah' as fixed: -EINVAL");
        is_int(busrpc_variant_new_built("ah", build_fds, NULL, &v), 0, "ah with 3 fds");
        if (!v)
                return;
        busrpc_variant_read(v, &it);
        is_int(busrpc_iter_get_fixed_array(&it, 'h', &items, &n), -EINVAL, "get_fixed_array 'h' refused, no abort");
        is_int(busrpc_iter_get_fixed_array(&it, 'i', &items, &n), -EINVAL, "get_fixed_array on an 'ah' refused");
        is_int(busrpc_iter_recurse(&it, &a), 0, "recurse instead");
        is_int(busrpc_iter_get_fd(&a, &fd), 0, "get_fd");
        ok(fd > STDERR_FILENO, "a new fd");
        flags = fcntl(fd, F_GETFD);
        ok(flags >= 0, "the fd is open and ours");
        if (fd >= 0)
                close(fd);
        busrpc_variant_unref(v);
}

int main(void) {
        TAP_RUN(test_basic_round_trip);
        TAP_RUN(test_refusals);
        TAP_RUN(test_big_array);
        TAP_RUN(test_empty_array);
        TAP_RUN(test_fd_array);
        dbus_shutdown();
        return tap_done();
}
