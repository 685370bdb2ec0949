/* fuzz-marshal.c: libFuzzer target over the descriptor marshaller
 * (runtime/marshal.c), with the hand-written descriptors of every kind of
 * tests/marshal-types.h.
 *
 * The first byte of an input picks a descriptor; the rest is a message
 * body, given to libdbus with the descriptor's signature (fuzz-msg.h's
 * second form), so the fuzzer spends its effort on values libdbus lets
 * through, as a peer's would be. The value is read with
 * busrpc_value_read(): on failure it must be empty (as busrpc_value_init()
 * leaves it); on success it must survive busrpc_value_copy() and an
 * append + read round trip unchanged, and every copy is cleared (ASan's
 * leak check sees what is not). Any other input (a whole marshalled
 * message) is read with every descriptor in turn: each must succeed or
 * fail cleanly. A first byte with bit 7 set builds a C value of the
 * descriptor from the rest of the input instead (strings that may be bad
 * UTF-8, paths or signatures, undeclared enum values, NULL variants, fds,
 * shm, nested arrays and maps with keys that may repeat) and appends it:
 * either busrpc_value_append() refuses it (-EINVAL, -EBADF) or it reads
 * back equal, or (a key twice) the read says -ENOTUNIQ.
 *
 * Built by fuzz/local.mk with clang -fsanitize=fuzzer,address,undefined.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../tests/marshal-types.h"
#include "fuzz-msg.h"
#include "message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const busrpc_type *const types[] = {
        &basics_type,        &handles_type,       &inner_type,         &small_type,      &signed_type,
        &huge_type,          &far_type,           &bits_type,          &wide_type,       &i32_array_type,
        &d_array_type,       &bool_array_type,    &str_array_type,     &fd_array_type,   &small_array_type,
        &basics_array_type,  &grid_type,          &si_map_type,        &si_map_array_type, &sv_map_type,
        &deep_type,          &by_enum_type,       &tree_type,          &nest_type,       &enum_set_type,
        &busrpc_type_string, &busrpc_type_objpath, &busrpc_type_signature, &busrpc_type_variant,
        &busrpc_type_bool,   &busrpc_type_double, &busrpc_type_int16,
};
#define N_TYPES (sizeof(types) / sizeof(types[0]))

static void die(const char *what, const busrpc_type *t) {
        fprintf(stderr, "fuzz-marshal: %s (%s, %s)\n", what, t->name ? t->name : "?", t->signature);
        abort();
}

static bool equal(const busrpc_type *t, const void *a, const void *b);

static bool items_equal(const busrpc_type *t, const void *a, const void *b, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!equal(t, (const char *)a + i * t->size, (const char *)b + i * t->size))
                        return false;
        return true;
}

/* Equal values of @t: the same bytes, strings, variants, files, shm contents. */
static bool equal(const busrpc_type *t, const void *a, const void *b) {
        switch (t->kind) {
        case BUSRPC_KIND_BOOL:
                return *(const bool *)a == *(const bool *)b;
        case BUSRPC_KIND_STRING:
        case BUSRPC_KIND_OBJPATH:
        case BUSRPC_KIND_SIGNATURE: {
                /* NULL is sent as "" ("/" for a path) */
                const char *null = t->kind == BUSRPC_KIND_OBJPATH ? "/" : "";
                const char *x = *(char *const *)a, *y = *(char *const *)b;
                return strcmp(x ? x : null, y ? y : null) == 0;
        }
        case BUSRPC_KIND_VARIANT:
                return busrpc_variant_equal(*(busrpc_variant *const *)a, *(busrpc_variant *const *)b);
        case BUSRPC_KIND_FD: {
                struct stat sa, sb;
                int x = *(const int *)a, y = *(const int *)b;
                return x >= 0 && y >= 0 && fstat(x, &sa) == 0 && fstat(y, &sb) == 0 && sa.st_ino == sb.st_ino;
        }
        case BUSRPC_KIND_SHM: {
                const busrpc_shm *x = *(busrpc_shm *const *)a, *y = *(busrpc_shm *const *)b;
                return x && y && busrpc_shm_size(x) == busrpc_shm_size(y) &&
                       memcmp(busrpc_shm_const_data(x), busrpc_shm_const_data(y), busrpc_shm_size(x)) == 0;
        }
        case BUSRPC_KIND_STRUCT:
                for (size_t i = 0; i < t->n_fields; i++)
                        if (!equal(t->fields[i].type, (const char *)a + t->fields[i].offset,
                                   (const char *)b + t->fields[i].offset))
                                return false;
                return true;
        case BUSRPC_KIND_ARRAY: {
                const I32Array *x = a, *y = b; /* every array has this layout */
                return x->n == y->n && items_equal(t->elem, x->items, y->items, x->n);
        }
        case BUSRPC_KIND_MAP: {
                const SIMap *x = a, *y = b; /* every map has this layout */
                return x->n == y->n && items_equal(t->elem, x->keys, y->keys, x->n) &&
                       items_equal(t->value, x->values, y->values, x->n);
        }
        default:
                return memcmp(a, b, t->size) == 0;
        }
}

/* Read a value of @t at @it; check what the marshaller promises. */
static void exercise(busrpc_iter *it, const busrpc_type *t) {
        static _Alignas(max_align_t) unsigned char v[1024], empty[1024], c[1024], w[1024];
        busrpc_error err = BUSRPC_ERROR_INIT;
        DBusMessage *out;
        busrpc_msg *bm = NULL;
        busrpc_iter vit;
        int r;

        if (t->size > sizeof(v))
                die("descriptor too large for the fuzzer's buffers", t);
        busrpc_value_init(t, empty);
        r = busrpc_value_read(it, t, v, &err);
        if (r < 0) {
                if (memcmp(v, empty, t->size) != 0)
                        die("a failed read left the value not empty", t);
                if (busrpc_error_is_set(&err) && strcmp(err.name, BUSRPC_ERROR_INVALID_ARGS) != 0)
                        die("a refused value gave another error than InvalidArgs", t);
                busrpc_error_clear(&err);
                return;
        }
        if (busrpc_error_is_set(&err))
                die("a successful read set an error", t);
        r = busrpc_value_copy(t, c, v);
        if (r < 0 || !equal(t, v, c))
                die("the copy differs from the value read", t);
        busrpc_value_clear(t, c);
        if (memcmp(c, empty, t->size) != 0)
                die("busrpc_value_clear() left the copy not empty", t);
        /* What was read can be sent again (at the top of a message, as it
         * came), and reads back the same. */
        out = dbus_message_new_method_call(NULL, "/fz", "org.busrpc.fuzz.Every", "Echo");
        if (!out || !(bm = msg_wrap(out, NULL)))
                abort();
        dbus_message_unref(out);
        busrpc_msg_append(bm, &vit);
        r = busrpc_value_append(&vit, t, v);
        if (r < 0)
                die("a value read from a message cannot be appended", t);
        busrpc_msg_read(bm, &vit);
        r = busrpc_value_read(&vit, t, w, &err);
        if (r < 0 || !equal(t, v, w))
                die("the appended value reads back different", t);
        busrpc_value_clear(t, w);
        busrpc_msg_unref(bm);
        busrpc_value_clear(t, v);
}

/* ---- values built from the input ---- */

typedef struct Src {
        const uint8_t *p;
        size_t n;
} Src;

static uint8_t take(Src *s) {
        if (!s->n)
                return 0;
        s->n--;
        return *s->p++;
}

static void take_bytes(Src *s, void *out, size_t n) {
        for (size_t i = 0; i < n; i++)
                ((uint8_t *)out)[i] = take(s);
}

static const char *const good_strings[] = { "", "h\xc3\xa9llo", "/a/b_c", "a{sv}(ii)", "/", "ay" };

static void gen(const busrpc_type *t, void *v, Src *s, unsigned depth) {
        switch (t->kind) {
        case BUSRPC_KIND_BOOL:
                *(bool *)v = take(s) & 1;
                break;
        case BUSRPC_KIND_STRING:
        case BUSRPC_KIND_OBJPATH:
        case BUSRPC_KIND_SIGNATURE: {
                uint8_t how = take(s);
                char *str = NULL;
                if (how % 4 == 0) {
                        size_t len = take(s) % 12;
                        if ((str = malloc(len + 1))) {
                                take_bytes(s, str, len);
                                str[len] = '\0';
                        }
                } else if (how % 4 != 1) {
                        str = strdup(good_strings[take(s) % 6]);
                }
                *(char **)v = str; /* how % 4 == 1: NULL */
                break;
        }
        case BUSRPC_KIND_VARIANT: {
                uint8_t how = take(s);
                busrpc_variant *var = NULL;
                if (how % 3 == 1)
                        busrpc_variant_new_int32((int32_t)take(s), &var);
                else if (how % 3 == 2)
                        busrpc_variant_new_string(good_strings[take(s) % 6], &var);
                *(busrpc_variant **)v = var;
                break;
        }
        case BUSRPC_KIND_FD:
                *(int *)v = take(s) & 1 ? dup(2) : -1;
                break;
        case BUSRPC_KIND_SHM: {
                busrpc_shm *shm = NULL;
                if (take(s) & 1 && busrpc_shm_new(1 + take(s) % 32, &shm) >= 0)
                        take_bytes(s, busrpc_shm_data(shm), busrpc_shm_size(shm));
                *(busrpc_shm **)v = shm;
                break;
        }
        case BUSRPC_KIND_ENUM:
        case BUSRPC_KIND_FLAGS: {
                uint64_t x;
                take_bytes(s, &x, sizeof(x));
                if (t->kind == BUSRPC_KIND_ENUM && t->n_values && (take(s) & 3))
                        x = t->values[take(s) % t->n_values];
                else if (t->kind == BUSRPC_KIND_FLAGS && (take(s) & 3))
                        x &= t->mask;
                memcpy(v, &x, t->size); /* little-endian: the low bytes */
                break;
        }
        case BUSRPC_KIND_STRUCT:
                for (size_t i = 0; i < t->n_fields; i++)
                        gen(t->fields[i].type, (char *)v + t->fields[i].offset, s, depth + 1);
                break;
        case BUSRPC_KIND_ARRAY: {
                I32Array *a = v; /* every array has this layout */
                size_t n = depth < 6 ? take(s) % 4 : 0;
                a->items = n ? calloc(n, t->elem->size) : NULL;
                a->n = a->items ? n : 0;
                for (size_t i = 0; i < a->n; i++) {
                        busrpc_value_init(t->elem, (char *)a->items + i * t->elem->size);
                        gen(t->elem, (char *)a->items + i * t->elem->size, s, depth + 1);
                }
                break;
        }
        case BUSRPC_KIND_MAP: {
                SIMap *m = v; /* every map has this layout */
                size_t n = depth < 6 ? take(s) % 4 : 0;
                m->keys = n ? calloc(n, t->elem->size) : NULL;
                m->values = n ? calloc(n, t->value->size) : NULL;
                m->n = m->keys && m->values ? n : 0;
                for (size_t i = 0; i < m->n; i++) {
                        busrpc_value_init(t->elem, (char *)m->keys + i * t->elem->size);
                        busrpc_value_init(t->value, (char *)m->values + i * t->value->size);
                        gen(t->elem, (char *)m->keys + i * t->elem->size, s, depth + 1);
                        gen(t->value, (char *)m->values + i * t->value->size, s, depth + 1);
                }
                break;
        }
        default: /* the fixed types */
                take_bytes(s, v, t->size);
                break;
        }
}

static void build_and_send(const busrpc_type *t, Src *s) {
        static _Alignas(max_align_t) unsigned char v[1024], w[1024];
        busrpc_error err = BUSRPC_ERROR_INIT;
        DBusMessage *out;
        busrpc_msg *bm = NULL;
        busrpc_iter it;
        int r;

        busrpc_value_init(t, v);
        gen(t, v, s, 0);
        out = dbus_message_new_method_call(NULL, "/fz", "org.busrpc.fuzz.Every", "Echo");
        if (!out || !(bm = msg_wrap(out, NULL)))
                abort();
        dbus_message_unref(out);
        busrpc_msg_append(bm, &it);
        r = busrpc_value_append(&it, t, v);
        if (r < 0 && r != -EINVAL && r != -EBADF)
                die("append failed with another error than -EINVAL / -EBADF", t);
        if (r >= 0) {
                busrpc_msg_read(bm, &it);
                r = busrpc_value_read(&it, t, w, &err);
                if (r == -ENOTUNIQ) {
                        if (!busrpc_error_has_name(&err, BUSRPC_ERROR_INVALID_ARGS))
                                die("a key twice without InvalidArgs", t);
                } else if (r < 0) {
                        die("a value the marshaller appended does not read back", t);
                } else if (!equal(t, v, w)) {
                        die("a value reads back different", t);
                }
                busrpc_error_clear(&err);
                busrpc_value_clear(t, w);
        }
        busrpc_msg_unref(bm);
        busrpc_value_clear(t, v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        DBusMessage *m;
        busrpc_msg *bm;
        busrpc_iter it;

        if (size < 1)
                return 0;
        if (data[0] & 0x80) {
                Src s = { data + 1, size - 1 };
                build_and_send(types[(data[0] & 0x7f) % N_TYPES], &s);
                return 0;
        }
        if (data[0] != 'l' && data[0] != 'B') {
                /* selector 0 (a method call) | the descriptor's signature | NUL | body */
                const busrpc_type *t = types[data[0] % N_TYPES];
                size_t len = strlen(t->signature);
                uint8_t *in = malloc(size + len + 1);

                if (!in)
                        return 0;
                in[0] = 0;
                memcpy(in + 1, t->signature, len + 1);
                memcpy(in + 2 + len, data + 1, size - 1);
                m = fuzz_message(in, size + len + 1);
                free(in);
                if (!m)
                        return 0;
                bm = msg_wrap(m, NULL);
                dbus_message_unref(m);
                if (!bm)
                        return 0;
                busrpc_msg_read(bm, &it);
                exercise(&it, t);
                busrpc_msg_unref(bm);
                return 0;
        }
        m = fuzz_message(data, size);
        if (!m)
                return 0;
        bm = msg_wrap(m, NULL);
        dbus_message_unref(m);
        if (!bm)
                return 0;
        for (size_t i = 0; i < N_TYPES; i++) {
                busrpc_msg_read(bm, &it);
                exercise(&it, types[i]);
        }
        busrpc_msg_unref(bm);
        return 0;
}
