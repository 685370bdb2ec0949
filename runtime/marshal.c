/* marshal.c: the one marshaller. Every value of every IDL type is
 * appended, read, copied, cleared and initialised here, by its constant
 * descriptor (busrpc_type, busrpc_args; see busrpc.h "Type descriptors").
 *
 * What generated code did per type is done here once, with the same
 * semantics: enums and flags are checked against their declared values
 * and bits in both directions, map keys are unique when read, fds are -1
 * when empty and closed on every failure path, an shm is bounded by its
 * descriptor's max_size before anything maps it, and a value that fails
 * half-way is left empty (everything read so far released).
 *
 * Arrays of fixed basic types whose C layout is the wire layout (y n q i
 * u x t d; never b, whose C bool is 1 byte and 4 on the wire) go through
 * one fixed-array append or read, not one call per element.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "marshal.h"
#include "message.h"
#include "validate.h"

#define BASIC_TYPE(var, k, ctype, sig)                                                             \
        BUSRPC_EXPORT const busrpc_type busrpc_type_##var = {                                     \
                .kind = (k), .size = sizeof(ctype), .signature = (sig), .name = #ctype             \
        }

BASIC_TYPE(bool, BUSRPC_KIND_BOOL, bool, "b");
BASIC_TYPE(byte, BUSRPC_KIND_BYTE, uint8_t, "y");
BASIC_TYPE(int16, BUSRPC_KIND_INT16, int16_t, "n");
BASIC_TYPE(uint16, BUSRPC_KIND_UINT16, uint16_t, "q");
BASIC_TYPE(int32, BUSRPC_KIND_INT32, int32_t, "i");
BASIC_TYPE(uint32, BUSRPC_KIND_UINT32, uint32_t, "u");
BASIC_TYPE(int64, BUSRPC_KIND_INT64, int64_t, "x");
BASIC_TYPE(uint64, BUSRPC_KIND_UINT64, uint64_t, "t");
BASIC_TYPE(double, BUSRPC_KIND_DOUBLE, double, "d");
BASIC_TYPE(string, BUSRPC_KIND_STRING, char *, "s");
BASIC_TYPE(objpath, BUSRPC_KIND_OBJPATH, char *, "o");
BASIC_TYPE(signature, BUSRPC_KIND_SIGNATURE, char *, "g");
BASIC_TYPE(variant, BUSRPC_KIND_VARIANT, busrpc_variant *, "v");
BASIC_TYPE(fd, BUSRPC_KIND_FD, int, "h");
BASIC_TYPE(shm, BUSRPC_KIND_SHM, busrpc_shm *, "h");

static const char *type_name(const busrpc_type *t) {
        return t->name ? t->name : t->signature;
}

/* What the per-argument loops need to know of a kind at a glance. */
enum {
        CLASS_FIXED = 1, /* C layout is wire layout (type_kind_fixed()) */
        CLASS_OWNS = 2,  /* holds memory, a reference or an fd (maybe, for STRUCT) */
        CLASS_NONZERO = 4, /* its empty value is not all zero bytes (maybe, for STRUCT) */
};

static const uint8_t kind_class[128] = {
        [BUSRPC_KIND_BYTE] = CLASS_FIXED,     [BUSRPC_KIND_INT16] = CLASS_FIXED,
        [BUSRPC_KIND_UINT16] = CLASS_FIXED,   [BUSRPC_KIND_INT32] = CLASS_FIXED,
        [BUSRPC_KIND_UINT32] = CLASS_FIXED,   [BUSRPC_KIND_INT64] = CLASS_FIXED,
        [BUSRPC_KIND_UINT64] = CLASS_FIXED,   [BUSRPC_KIND_DOUBLE] = CLASS_FIXED,
        [BUSRPC_KIND_STRING] = CLASS_OWNS,    [BUSRPC_KIND_OBJPATH] = CLASS_OWNS,
        [BUSRPC_KIND_SIGNATURE] = CLASS_OWNS, [BUSRPC_KIND_VARIANT] = CLASS_OWNS,
        [BUSRPC_KIND_SHM] = CLASS_OWNS,       [BUSRPC_KIND_ARRAY] = CLASS_OWNS,
        [BUSRPC_KIND_MAP] = CLASS_OWNS,       [BUSRPC_KIND_FD] = CLASS_OWNS | CLASS_NONZERO,
        [BUSRPC_KIND_STRUCT] = CLASS_OWNS | CLASS_NONZERO,
};

static inline unsigned type_class(const busrpc_type *t) {
        return kind_class[t->kind & 0x7f];
}

/* Owns nothing: copied with memcpy, cleared by forgetting. */
static bool type_plain(const busrpc_type *t) {
        switch (t->kind) {
        case BUSRPC_KIND_STRING:
        case BUSRPC_KIND_OBJPATH:
        case BUSRPC_KIND_SIGNATURE:
        case BUSRPC_KIND_VARIANT:
        case BUSRPC_KIND_FD:
        case BUSRPC_KIND_SHM:
        case BUSRPC_KIND_ARRAY:
        case BUSRPC_KIND_MAP:
                return false;
        case BUSRPC_KIND_STRUCT:
                for (size_t i = 0; i < t->n_fields; i++)
                        if (!type_plain(t->fields[i].type))
                                return false;
                return true;
        default:
                return true;
        }
}

/* Is the empty value all zero bytes (no fd to set to -1)? */
static bool type_zero_init(const busrpc_type *t) {
        if (t->kind == BUSRPC_KIND_FD)
                return false;
        if (t->kind == BUSRPC_KIND_STRUCT)
                for (size_t i = 0; i < t->n_fields; i++)
                        if (!type_zero_init(t->fields[i].type))
                                return false;
        return true;
}

/* ---- init, clear, copy ---- */

static void value_init(const busrpc_type *t, void *v) {
        if (t->kind == BUSRPC_KIND_FD) {
                *(int *)v = -1;
                return;
        }
        memset(v, 0, t->size);
        if (t->kind == BUSRPC_KIND_STRUCT)
                for (size_t i = 0; i < t->n_fields; i++)
                        if (!type_zero_init(t->fields[i].type))
                                value_init(t->fields[i].type, (char *)v + t->fields[i].offset);
}

static void value_clear(const busrpc_type *t, void *v);

static void items_clear(const busrpc_type *t, void *items, size_t n) {
        if (!items || type_plain(t))
                return;
        for (size_t i = 0; i < n; i++)
                value_clear(t, (char *)items + i * t->size);
}

static void value_clear(const busrpc_type *t, void *v) {
        switch (t->kind) {
        case BUSRPC_KIND_STRING:
        case BUSRPC_KIND_OBJPATH:
        case BUSRPC_KIND_SIGNATURE:
                free(*(char **)v);
                *(char **)v = NULL;
                break;
        case BUSRPC_KIND_VARIANT:
                *(busrpc_variant **)v = busrpc_variant_unref(*(busrpc_variant **)v);
                break;
        case BUSRPC_KIND_SHM:
                *(busrpc_shm **)v = busrpc_shm_unref(*(busrpc_shm **)v);
                break;
        case BUSRPC_KIND_FD:
                if (*(int *)v >= 0)
                        close(*(int *)v);
                *(int *)v = -1;
                break;
        case BUSRPC_KIND_STRUCT:
                for (size_t i = 0; i < t->n_fields; i++)
                        value_clear(t->fields[i].type, (char *)v + t->fields[i].offset);
                break;
        case BUSRPC_KIND_ARRAY: {
                MarshalArray *a = v;
                items_clear(t->elem, a->items, a->n);
                free(a->items);
                a->items = NULL;
                a->n = 0;
                break;
        }
        case BUSRPC_KIND_MAP: {
                MarshalMap *m = v;
                items_clear(t->elem, m->keys, m->n);
                items_clear(t->value, m->values, m->n);
                free(m->keys);
                free(m->values);
                m->keys = m->values = NULL;
                m->n = 0;
                break;
        }
        default:
                break;
        }
}

static int value_copy(const busrpc_type *t, void *dst, const void *src);

/* Copy @n items of @t from @src into a new array at *@ret. */
static int items_copy(const busrpc_type *t, void **ret, const void *src, size_t n) {
        void *items;

        *ret = NULL;
        if (n == 0)
                return 0;
        if (!src || n > SIZE_MAX / t->size)
                return -EINVAL;
        items = malloc(n * t->size);
        if (!items)
                return -ENOMEM;
        if (type_plain(t)) {
                memcpy(items, src, n * t->size);
        } else {
                for (size_t i = 0; i < n; i++)
                        value_init(t, (char *)items + i * t->size);
                for (size_t i = 0; i < n; i++) {
                        int r = value_copy(t, (char *)items + i * t->size, (const char *)src + i * t->size);
                        if (r < 0) {
                                items_clear(t, items, n);
                                free(items);
                                return r;
                        }
                }
        }
        *ret = items;
        return 0;
}

/* @dst is empty; on failure it is left holding what was copied so far. */
static int value_copy(const busrpc_type *t, void *dst, const void *src) {
        switch (t->kind) {
        case BUSRPC_KIND_STRING:
        case BUSRPC_KIND_OBJPATH:
        case BUSRPC_KIND_SIGNATURE: {
                const char *s = *(char *const *)src;
                if (s && !(*(char **)dst = strdup(s)))
                        return -ENOMEM;
                return 0;
        }
        case BUSRPC_KIND_VARIANT:
                *(busrpc_variant **)dst = busrpc_variant_ref(*(busrpc_variant *const *)src);
                return 0;
        case BUSRPC_KIND_SHM:
                *(busrpc_shm **)dst = busrpc_shm_ref(*(busrpc_shm *const *)src);
                return 0;
        case BUSRPC_KIND_FD: {
                int fd = *(const int *)src;
                if (fd < 0)
                        return 0;
                fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                if (fd < 0)
                        return -errno;
                *(int *)dst = fd;
                return 0;
        }
        case BUSRPC_KIND_STRUCT:
                for (size_t i = 0; i < t->n_fields; i++) {
                        const busrpc_field *f = &t->fields[i];
                        int r = value_copy(f->type, (char *)dst + f->offset, (const char *)src + f->offset);
                        if (r < 0)
                                return r;
                }
                return 0;
        case BUSRPC_KIND_ARRAY: {
                const MarshalArray *s = src;
                MarshalArray *d = dst;
                int r = items_copy(t->elem, &d->items, s->items, s->n);
                if (r >= 0)
                        d->n = s->n;
                return r;
        }
        case BUSRPC_KIND_MAP: {
                const MarshalMap *s = src;
                MarshalMap *d = dst;
                int r = items_copy(t->elem, &d->keys, s->keys, s->n);
                if (r >= 0) {
                        r = items_copy(t->value, &d->values, s->values, s->n);
                        if (r < 0) {
                                items_clear(t->elem, d->keys, s->n);
                                free(d->keys);
                                d->keys = NULL;
                        }
                }
                if (r >= 0)
                        d->n = s->n;
                return r;
        }
        default:
                memcpy(dst, src, t->size);
                return 0;
        }
}

BUSRPC_EXPORT void busrpc_value_init(const busrpc_type *type, void *value) {
        if (type && value)
                value_init(type, value);
}

BUSRPC_EXPORT void busrpc_value_clear(const busrpc_type *type, void *value) {
        if (type && value) {
                value_clear(type, value);
                value_init(type, value);
        }
}

BUSRPC_EXPORT int busrpc_value_copy(const busrpc_type *type, void *dst, const void *src) {
        int r;

        return_if_fail(type && dst && src, -EINVAL);
        return_if_fail(marshal_type_valid(type), -EINVAL);
        value_init(type, dst);
        r = value_copy(type, dst, src);
        if (r < 0)
                value_clear(type, dst);
        return r;
}

/* ---- appending ---- */

static int value_append(busrpc_iter *it, const busrpc_type *t, const void *v);

static int items_append(busrpc_iter *sub, const busrpc_type *t, const void *items, size_t n) {
        int r = 0;

        for (size_t i = 0; i < n && r >= 0; i++)
                r = value_append(sub, t, (const char *)items + i * t->size);
        return r;
}

/* Append iterators that expect nothing in particular (Iter.checked is
 * EXPECT_FREE: the top of a message, a struct opened there, and every
 * container opened below them here) are written straight through libdbus:
 * the descriptor was checked, so what goes in matches the signature
 * libdbus was given for each container, and what libdbus would abort on
 * (bad UTF-8, paths, signatures; booleans other than 0 and 1) is refused
 * here first. Other iterators (inside a variant that expects a type) go
 * through busrpc_iter_*(), which keeps their expectation. */
static inline bool iter_free(busrpc_iter *it) {
        return iter_priv(it)->checked == EXPECT_FREE;
}

static int basic_out(busrpc_iter *it, int type, const void *value) {
        if (!iter_free(it))
                return busrpc_iter_append_basic(it, type, value);
        switch (type) {
        case 's':
                return_if_fail(valid_utf8(*(const char *const *)value), -EINVAL);
                break;
        case 'o':
                return_if_fail(valid_object_path(*(const char *const *)value), -EINVAL);
                break;
        case 'g':
                return_if_fail(valid_signature(*(const char *const *)value), -EINVAL);
                break;
        default:
                break;
        }
        return dbus_message_iter_append_basic(&iter_priv(it)->it, type, value) ? 0 : -ENOMEM;
}

static int open_sub(busrpc_iter *it, int type, const char *contained, busrpc_iter *sub) {
        Iter *i = iter_priv(it), *s = iter_priv(sub);

        if (!iter_free(it))
                return busrpc_iter_open(it, type, contained, sub);
        if (i->depth >= MAX_DEPTH)
                return -E2BIG;
        s->msg = i->msg;
        s->mode = ITER_APPEND;
        s->container = (uint8_t)type;
        s->checked = EXPECT_FREE;
        s->epos = 0;
        s->depth = i->depth + 1;
        if (!dbus_message_iter_open_container(&i->it, type, contained, &s->it)) {
                s->mode = 0;
                return -ENOMEM;
        }
        return 0;
}

/* Close @sub, or abandon it when @r < 0; returns @r or the close's result. */
static int close_sub(busrpc_iter *it, busrpc_iter *sub, int r) {
        if (!iter_free(it)) {
                if (r < 0) {
                        busrpc_iter_abandon(it, sub);
                        return r;
                }
                return busrpc_iter_close(it, sub);
        }
        iter_priv(sub)->mode = 0;
        if (r < 0) {
                dbus_message_iter_abandon_container_if_open(&iter_priv(it)->it, &iter_priv(sub)->it);
                return r;
        }
        return dbus_message_iter_close_container(&iter_priv(it)->it, &iter_priv(sub)->it) ? 0 : -ENOMEM;
}

static int value_append(busrpc_iter *it, const busrpc_type *t, const void *v) {
        busrpc_iter sub, entry;
        int r;

        switch (t->kind) {
        case BUSRPC_KIND_BOOL: {
                dbus_bool_t b = *(const bool *)v ? 1 : 0; /* 4 bytes, as uint32_t */
                return basic_out(it, BUSRPC_TYPE_BOOLEAN, &b);
        }
        case BUSRPC_KIND_STRING:
        case BUSRPC_KIND_OBJPATH:
        case BUSRPC_KIND_SIGNATURE: {
                const char *s = *(const char *const *)v;
                if (!s)
                        s = t->kind == BUSRPC_KIND_OBJPATH ? "/" : "";
                return basic_out(it, t->kind, &s);
        }
        case BUSRPC_KIND_VARIANT: {
                const busrpc_variant *var = *(busrpc_variant *const *)v;
                return var ? busrpc_iter_append_variant(it, var) : -EINVAL;
        }
        case BUSRPC_KIND_FD:
                return busrpc_iter_append_fd(it, *(const int *)v);
        case BUSRPC_KIND_SHM: {
                busrpc_shm *shm = *(busrpc_shm *const *)v;
                return shm ? busrpc_iter_append_shm(it, shm) : -EINVAL;
        }
        case BUSRPC_KIND_ENUM:
        case BUSRPC_KIND_FLAGS: {
                unsigned wb = wire_bytes(t->wire);
                bool sign = wire_signed(t->wire);
                uint64_t x = load_int(v, t->size, sign);
                unsigned char buf[8];

                if (int_norm(x, wb, sign) != x || !type_enum_declared(t, x))
                        return -EINVAL;
                store_int(buf, wb, x);
                return basic_out(it, t->wire, buf);
        }
        case BUSRPC_KIND_STRUCT:
                r = open_sub(it, BUSRPC_TYPE_STRUCT, NULL, &sub);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < t->n_fields && r >= 0; i++)
                        r = value_append(&sub, t->fields[i].type, (const char *)v + t->fields[i].offset);
                return close_sub(it, &sub, r);
        case BUSRPC_KIND_ARRAY: {
                const MarshalArray *a = v;
                if (a->n && !a->items)
                        return -EINVAL;
                if (type_kind_fixed(t->elem->kind))
                        return busrpc_iter_append_fixed_array(it, t->elem->kind, a->items, a->n);
                r = open_sub(it, BUSRPC_TYPE_ARRAY, t->elem->signature, &sub);
                if (r < 0)
                        return r;
                r = items_append(&sub, t->elem, a->items, a->n);
                return close_sub(it, &sub, r);
        }
        case BUSRPC_KIND_MAP: {
                const MarshalMap *m = v;
                if (m->n && (!m->keys || !m->values))
                        return -EINVAL;
                r = open_sub(it, BUSRPC_TYPE_ARRAY, t->signature + 1, &sub);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < m->n && r >= 0; i++) {
                        r = open_sub(&sub, BUSRPC_TYPE_DICT_ENTRY, NULL, &entry);
                        if (r < 0)
                                break;
                        r = value_append(&entry, t->elem, (const char *)m->keys + i * t->elem->size);
                        if (r >= 0)
                                r = value_append(&entry, t->value, (const char *)m->values + i * t->value->size);
                        r = close_sub(&sub, &entry, r);
                }
                return close_sub(it, &sub, r);
        }
        default: /* the fixed basic types: C layout is wire layout */
                return basic_out(it, t->kind, v);
        }
}

BUSRPC_EXPORT int busrpc_value_append(busrpc_iter *it, const busrpc_type *type, const void *value) {
        return_if_fail(it && type && value && iter_priv(it)->mode == ITER_APPEND, -EINVAL);
        /* Sent meanwhile: libdbus has locked the message (and would abort). */
        return_if_fail(dbus_message_get_serial(iter_priv(it)->msg) == 0, -EPERM);
        return_if_fail(marshal_type_valid(type), -EINVAL);
        return value_append(it, type, value);
}

/* ---- reading ---- */

static int value_read(busrpc_iter *it, const busrpc_type *t, void *v, busrpc_error *err);

/* Make room for one more item in a growing array (capacity doubles). */
static int items_grow(void **items, size_t n, size_t *cap, size_t size) {
        void *p;
        size_t ncap;

        if (n < *cap)
                return 0;
        ncap = *cap ? 2 * *cap : 8;
        if (ncap > SIZE_MAX / size)
                return -ENOMEM;
        p = realloc(*items, ncap * size);
        if (!p)
                return -ENOMEM;
        *items = p;
        *cap = ncap;
        return 0;
}

static int array_read(busrpc_iter *it, const busrpc_type *t, MarshalArray *a, busrpc_error *err) {
        const busrpc_type *et = t->elem;
        busrpc_iter sub;
        size_t cap = 0;
        int r;

        if (type_kind_fixed(et->kind)) {
                const void *items;
                size_t n;

                r = busrpc_iter_get_fixed_array(it, et->kind, &items, &n);
                if (r < 0 || n == 0)
                        return r;
                a->items = malloc(n * et->size);
                if (!a->items)
                        return -ENOMEM;
                memcpy(a->items, items, n * et->size);
                a->n = n;
                return 0;
        }
        r = busrpc_iter_recurse(it, &sub);
        while (r >= 0 && busrpc_iter_type(&sub) != BUSRPC_TYPE_INVALID) {
                void *item;

                r = items_grow(&a->items, a->n, &cap, et->size);
                if (r < 0)
                        break;
                item = (char *)a->items + a->n * et->size;
                value_init(et, item);
                a->n++;
                r = value_read(&sub, et, item, err);
        }
        return r;
}

static int map_read(busrpc_iter *it, const busrpc_type *t, MarshalMap *m, busrpc_error *err) {
        const busrpc_type *kt = t->elem, *vt = t->value;
        busrpc_iter sub, entry;
        size_t kcap = 0, vcap = 0;
        int r;

        r = busrpc_iter_recurse_dict(it, &sub);
        if (r == -ENOTUNIQ)
                busrpc_error_set(err, BUSRPC_ERROR_INVALID_ARGS, "duplicate key in map %s", t->signature);
        while (r >= 0 && busrpc_iter_type(&sub) != BUSRPC_TYPE_INVALID) {
                void *key, *value;

                r = items_grow(&m->keys, m->n, &kcap, kt->size);
                if (r >= 0)
                        r = items_grow(&m->values, m->n, &vcap, vt->size);
                if (r < 0)
                        break;
                key = (char *)m->keys + m->n * kt->size;
                value = (char *)m->values + m->n * vt->size;
                value_init(kt, key);
                value_init(vt, value);
                m->n++;
                r = busrpc_iter_recurse(&sub, &entry);
                if (r >= 0)
                        r = value_read(&entry, kt, key, err);
                if (r >= 0)
                        r = value_read(&entry, vt, value, err);
        }
        return r;
}

/* @v is empty; on failure it holds what was read so far (the caller clears). */
static int value_read(busrpc_iter *it, const busrpc_type *t, void *v, busrpc_error *err) {
        busrpc_iter sub;
        int r;

        switch (t->kind) {
        case BUSRPC_KIND_BOOL: {
                DBusMessageIter *dit = &iter_priv(it)->it;
                dbus_bool_t b = 0;
                if (dbus_message_iter_get_arg_type(dit) != DBUS_TYPE_BOOLEAN)
                        return -EBADMSG;
                dbus_message_iter_get_basic(dit, &b);
                dbus_message_iter_next(dit);
                *(bool *)v = b != 0;
                return 0;
        }
        case BUSRPC_KIND_STRING:
        case BUSRPC_KIND_OBJPATH:
        case BUSRPC_KIND_SIGNATURE: {
                const char *s;
                r = busrpc_iter_get_basic(it, t->kind, &s);
                if (r < 0)
                        return r;
                *(char **)v = strdup(s);
                return *(char **)v ? 0 : -ENOMEM;
        }
        case BUSRPC_KIND_VARIANT:
                return busrpc_iter_get_variant(it, (busrpc_variant **)v);
        case BUSRPC_KIND_FD:
                return busrpc_iter_get_fd(it, (int *)v);
        case BUSRPC_KIND_SHM:
                r = busrpc_iter_get_shm_max(it, t->max_size, (busrpc_shm **)v);
                if (r == -EPERM)
                        busrpc_error_set(err, BUSRPC_ERROR_INVALID_ARGS, "shm argument is not sealed");
                else if (r == -EFBIG)
                        busrpc_error_set(err, BUSRPC_ERROR_INVALID_ARGS, "shm argument is larger than its size limit");
                return r;
        case BUSRPC_KIND_ENUM:
        case BUSRPC_KIND_FLAGS: {
                unsigned wb = wire_bytes(t->wire);
                bool sign = wire_signed(t->wire);
                unsigned char buf[8];
                uint64_t x;

                r = busrpc_iter_get_basic(it, t->wire, buf);
                if (r < 0)
                        return r;
                x = load_int(buf, wb, sign);
                if (!type_enum_declared(t, x) || int_norm(x, t->size, sign) != x) {
                        if (sign)
                                busrpc_error_set(err, BUSRPC_ERROR_INVALID_ARGS, "%" PRId64 " is not a valid %s",
                                                 (int64_t)x, type_name(t));
                        else
                                busrpc_error_set(err, BUSRPC_ERROR_INVALID_ARGS, "%" PRIu64 " is not a valid %s", x,
                                                 type_name(t));
                        return -EBADMSG;
                }
                store_int(v, t->size, x);
                return 0;
        }
        case BUSRPC_KIND_STRUCT:
                r = busrpc_iter_recurse(it, &sub);
                for (size_t i = 0; i < t->n_fields && r >= 0; i++)
                        r = value_read(&sub, t->fields[i].type, (char *)v + t->fields[i].offset, err);
                return r;
        case BUSRPC_KIND_ARRAY:
                return array_read(it, t, v, err);
        case BUSRPC_KIND_MAP:
                return map_read(it, t, v, err);
        default: { /* the fixed basic types: C layout is wire layout */
                DBusMessageIter *dit = &iter_priv(it)->it;
                if (dbus_message_iter_get_arg_type(dit) != t->kind)
                        return -EBADMSG;
                dbus_message_iter_get_basic(dit, v);
                dbus_message_iter_next(dit);
                return 0;
        }
        }
}

BUSRPC_EXPORT int busrpc_value_read(busrpc_iter *it, const busrpc_type *type, void *value, busrpc_error *err) {
        int r;

        return_if_fail(it && type && value && iter_priv(it)->mode == ITER_READ, -EINVAL);
        return_if_fail(marshal_type_valid(type), -EINVAL);
        value_init(type, value);
        r = value_read(it, type, value, err);
        if (r < 0) {
                value_clear(type, value);
                value_init(type, value);
        }
        return r;
}

/* ---- argument lists ---- */

void marshal_args_init(const busrpc_args *a, void *values) {
        memset(values, 0, a->size);
        for (size_t i = 0; i < a->n_fields; i++)
                if ((type_class(a->fields[i].type) & CLASS_NONZERO) && !type_zero_init(a->fields[i].type))
                        value_init(a->fields[i].type, (char *)values + a->fields[i].offset);
}

void marshal_args_clear(const busrpc_args *a, void *values) {
        for (size_t i = 0; i < a->n_fields; i++)
                if (type_class(a->fields[i].type) & CLASS_OWNS)
                        value_clear(a->fields[i].type, (char *)values + a->fields[i].offset);
}

int marshal_args_append(busrpc_iter *it, const busrpc_args *a, const void *values) {
        int r = 0;

        for (size_t i = 0; i < a->n_fields && r >= 0; i++)
                r = value_append(it, a->fields[i].type, (const char *)values + a->fields[i].offset);
        return r;
}

int marshal_args_append_msg(DBusMessage *m, const busrpc_args *a, const void *values) {
        DBusMessageIter *dit;
        busrpc_iter it;
        int r = 0;

        iter_init_append(&it, m);
        /* The top level of a message busrpc just made expects nothing in
         * particular (Iter.checked is EXPECT_FREE) and is not locked: a
         * fixed value goes straight to libdbus. */
        dit = &iter_priv(&it)->it;
        for (size_t i = 0; i < a->n_fields && r >= 0; i++) {
                const busrpc_type *t = a->fields[i].type;
                const void *v = (const char *)values + a->fields[i].offset;

                if (type_class(t) & CLASS_FIXED)
                        r = dbus_message_iter_append_basic(dit, t->kind, v) ? 0 : -ENOMEM;
                else
                        r = value_append(&it, t, v);
        }
        return r;
}

/* @values initialised; on failure cleared again. */
int marshal_args_read(busrpc_iter *it, const busrpc_args *a, void *values, busrpc_error *err) {
        DBusMessageIter *dit = &iter_priv(it)->it;
        int r = 0;

        for (size_t i = 0; i < a->n_fields && r >= 0; i++) {
                const busrpc_type *t = a->fields[i].type;
                void *v = (char *)values + a->fields[i].offset;

                if (type_class(t) & CLASS_FIXED) {
                        if (dbus_message_iter_get_arg_type(dit) != t->kind) {
                                r = -EBADMSG;
                                break;
                        }
                        dbus_message_iter_get_basic(dit, v);
                        dbus_message_iter_next(dit);
                } else {
                        r = value_read(it, t, v, err);
                }
        }
        if (r < 0) {
                marshal_args_clear(a, values);
                marshal_args_init(a, values);
        }
        return r;
}

BUSRPC_EXPORT int busrpc_args_append(busrpc_iter *it, const busrpc_args *args, const void *values) {
        return_if_fail(it && args && (values || args->n_fields == 0), -EINVAL);
        return_if_fail(iter_priv(it)->mode == ITER_APPEND, -EINVAL);
        return_if_fail(dbus_message_get_serial(iter_priv(it)->msg) == 0, -EPERM);
        return_if_fail(marshal_args_valid(args), -EINVAL);
        return marshal_args_append(it, args, values);
}

BUSRPC_EXPORT int busrpc_args_read(busrpc_iter *it, const busrpc_args *args, void *values, busrpc_error *err) {
        return_if_fail(it && args && (values || args->n_fields == 0), -EINVAL);
        return_if_fail(iter_priv(it)->mode == ITER_READ, -EINVAL);
        return_if_fail(marshal_args_valid(args), -EINVAL);
        if (values)
                marshal_args_init(args, values);
        return marshal_args_read(it, args, values, err);
}

BUSRPC_EXPORT void busrpc_args_init(const busrpc_args *args, void *values) {
        if (args && values)
                marshal_args_init(args, values);
}

BUSRPC_EXPORT void busrpc_args_clear(const busrpc_args *args, void *values) {
        if (args && values) {
                marshal_args_clear(args, values);
                marshal_args_init(args, values);
        }
}
