/* test-dict.c: busrpc_iter_recurse_dict(), the check that a received map
 * has no key twice (what generated code calls before reading a map). */
#include <dbus/dbus.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "busrpc/busrpc.h"
#include "tap.h"

/* What build() appends: n entries of key type `type` and int32 values. */
typedef struct Spec {
        int type;
        size_t n;
        const uint64_t *nums; /* y b n q i u x t h (an fd) */
        const double *dbls;   /* d */
        const char *const *strs; /* s o g */
        char **owned;         /* or these */
} Spec;

static int build(busrpc_iter *it, void *userdata) {
        const Spec *s = userdata;
        char sig[8];
        busrpc_iter arr, entry;
        int r;

        snprintf(sig, sizeof(sig), "{%ci}", s->type);
        r = busrpc_iter_open(it, BUSRPC_TYPE_ARRAY, sig, &arr);
        if (r < 0)
                return r;
        for (size_t i = 0; i < s->n && r >= 0; i++) {
                union {
                        uint8_t y;
                        uint16_t q;
                        uint32_t u;
                        uint64_t t;
                        double d;
                        int h;
                        const char *str;
                } v;
                int32_t val = (int32_t)i;

                switch (s->type) {
                case 'y': v.y = (uint8_t)s->nums[i]; break;
                case 'n': case 'q': v.q = (uint16_t)s->nums[i]; break;
                case 'b': case 'i': case 'u': v.u = (uint32_t)s->nums[i]; break;
                case 'h': v.h = (int)s->nums[i]; break;
                case 'd': v.d = s->dbls[i]; break;
                case 's': case 'o': case 'g': v.str = s->owned ? s->owned[i] : s->strs[i]; break;
                default: v.t = s->nums[i]; break;
                }
                r = busrpc_iter_open(&arr, BUSRPC_TYPE_DICT_ENTRY, NULL, &entry);
                if (r < 0)
                        break;
                r = busrpc_iter_append_basic(&entry, s->type, &v);
                if (r >= 0)
                        r = busrpc_iter_append_basic(&entry, BUSRPC_TYPE_INT32, &val);
                if (r < 0)
                        busrpc_iter_abandon(&arr, &entry);
                else
                        r = busrpc_iter_close(&arr, &entry);
        }
        if (r < 0) {
                busrpc_iter_abandon(it, &arr);
                return r;
        }
        return busrpc_iter_close(it, &arr);
}

/* busrpc_iter_recurse_dict() on a message holding the spec's dict; on
 * success the entries are counted through the sub-iterator. */
static int check(const Spec *s) {
        char sig[8];
        busrpc_variant *v = NULL;
        busrpc_iter it, sub;
        int r;

        snprintf(sig, sizeof(sig), "a{%ci}", s->type);
        r = busrpc_variant_new_built(sig, build, (void *)s, &v);
        if (r < 0)
                return 1000 + r;
        busrpc_variant_read(v, &it);
        r = busrpc_iter_recurse_dict(&it, &sub);
        if (r == 0) {
                size_t n = 0;
                while (busrpc_iter_type(&sub) == BUSRPC_TYPE_DICT_ENTRY) {
                        busrpc_iter e;
                        busrpc_iter_recurse(&sub, &e);
                        n++;
                }
                if (n != s->n || !busrpc_iter_at_end(&it))
                        r = 2000;
        } else if (busrpc_iter_type(&it) != BUSRPC_TYPE_ARRAY) {
                r = 3000; /* a refusal must leave the iterator where it was */
        }
        busrpc_variant_unref(v);
        return r;
}

#define NUMS(t, ...) (&(Spec){ t, sizeof((uint64_t[]){ __VA_ARGS__ }) / 8, (const uint64_t[]){ __VA_ARGS__ }, NULL, NULL, NULL })
#define STRS(t, ...) (&(Spec){ t, sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(char *), NULL, NULL, (const char *const[]){ __VA_ARGS__ }, NULL })

static void test_fixed_keys(void) {
        is_int(check(NUMS('y', 1, 2, 255)), 0, "byte keys 1 2 255: unique");
        is_int(check(NUMS('y', 1, 2, 1)), -ENOTUNIQ, "byte keys 1 2 1: -ENOTUNIQ, the iterator not moved");
        is_int(check(NUMS('b', 0, 1)), 0, "bool keys false true");
        is_int(check(NUMS('b', 1, 0, 1)), -ENOTUNIQ, "bool keys true false true");
        is_int(check(NUMS('n', 0x8000, 0x7fff)), 0, "int16 keys");
        is_int(check(NUMS('q', 7, 7)), -ENOTUNIQ, "uint16 7 twice");
        is_int(check(NUMS('i', 0xffffffff, 1, 0x7fffffff)), 0, "int32 keys");
        is_int(check(NUMS('u', 5, 6, 7, 8, 5)), -ENOTUNIQ, "uint32 5 twice, apart");
        is_int(check(NUMS('x', 1, UINT64_C(1) << 32)), 0, "int64 1 and 1<<32 differ (no truncation)");
        is_int(check(NUMS('t', UINT64_MAX, 0, UINT64_MAX)), -ENOTUNIQ, "uint64 max twice");
        is_int(check(&(Spec){ 'd', 3, NULL, (const double[]){ 1.5, 2.5, -1.5 }, NULL, NULL }), 0, "double keys");
        is_int(check(&(Spec){ 'd', 2, NULL, (const double[]){ 0.0, -0.0 }, NULL, NULL }), -ENOTUNIQ,
               "double 0.0 and -0.0 are one key (== in C)");
        is_int(check(&(Spec){ 'i', 0, NULL, NULL, NULL, NULL }), 0, "an empty dict");
}

static void test_string_keys(void) {
        is_int(check(STRS('s', "a", "b", "ab", "")), 0, "string keys a b ab \"\"");
        is_int(check(STRS('s', "", "x", "")), -ENOTUNIQ, "\"\" twice");
        is_int(check(STRS('s', "h\xc3\xa9", "he", "h\xc3\xa9")), -ENOTUNIQ, "a UTF-8 key twice");
        is_int(check(STRS('o', "/a", "/a/b", "/b")), 0, "object path keys");
        is_int(check(STRS('o', "/a", "/a")), -ENOTUNIQ, "an object path twice");
        is_int(check(STRS('g', "i", "ai", "i")), -ENOTUNIQ, "a signature twice");
}

static void test_fd_keys(void) {
        int fd = dup(STDOUT_FILENO);

        /* Each 'h' is received as a new fd: two keys are never equal in C. */
        is_int(check(NUMS('h', (uint64_t)fd, (uint64_t)fd)), 0, "the same fd twice as keys: allowed");
        close(fd);
}

static void test_not_a_dict(void) {
        busrpc_variant *v = NULL;
        busrpc_iter it, sub;

        busrpc_variant_new_int32(5, &v);
        busrpc_variant_read(v, &it);
        is_int(busrpc_iter_recurse_dict(&it, &sub), -EBADMSG, "an int32: -EBADMSG");
        busrpc_variant_unref(v);
        is_int(busrpc_iter_recurse_dict(NULL, &sub), -EINVAL, "NULL iterator: -EINVAL");
}

/* 100,000 keys: a quadratic check would take ~5e9 comparisons here. */
static void test_many(void) {
        enum { N = 100000 };
        Spec s = { 's', N, NULL, NULL, NULL, calloc(N, sizeof(char *)) };

        for (size_t i = 0; i < N; i++) {
                char buf[32];
                snprintf(buf, sizeof(buf), "key-%zu", (i * 7919) % N);
                s.owned[i] = strdup(buf);
        }
        is_int(check(&s), 0, "100,000 distinct string keys");
        free(s.owned[N / 2]);
        s.owned[N / 2] = strdup(s.owned[N - 1]);
        is_int(check(&s), -ENOTUNIQ, "one of them repeated far apart");
        for (size_t i = 0; i < N; i++)
                free(s.owned[i]);
        free(s.owned);
}

int main(void) {
        TAP_RUN(test_fixed_keys);
        TAP_RUN(test_string_keys);
        TAP_RUN(test_fd_keys);
        TAP_RUN(test_not_a_dict);
        TAP_RUN(test_many);
        dbus_shutdown();
        return tap_done();
}
