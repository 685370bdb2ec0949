/* wire-value.c: the descriptor contract's C values (busrpc.h, "Type
 * descriptors") read from and written to D-Bus wire bytes directly, with
 * no libdbus message in between: the future fast path of the marshaller.
 *
 * Allocation-light: writing allocates nothing but buffer growth; reading
 * allocates only what the C value owns (strings, item arrays), one block
 * per array where the element is fixed-size (a memcpy when the byte order
 * is the machine's). Variants go through the existing busrpc_variant API
 * (a variant is a libdbus message today); fds are indexes into the
 * message's fd array on the wire and owned ints in C.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wire.h"

typedef struct CArray {
        void *items;
        size_t n;
} CArray;

typedef struct CMap {
        void *keys;
        void *values;
        size_t n;
} CMap;

/* ---- integers of any C size ---- */

static bool wire_is_signed(char t) {
        return t == 'n' || t == 'i' || t == 'x';
}

static uint64_t int_load(const void *p, uint32_t size, bool sign) {
        switch (size) {
        case 1:
                return sign ? (uint64_t)(int64_t) * (const int8_t *)p : *(const uint8_t *)p;
        case 2:
                return sign ? (uint64_t)(int64_t) * (const int16_t *)p : *(const uint16_t *)p;
        case 4:
                return sign ? (uint64_t)(int64_t) * (const int32_t *)p : *(const uint32_t *)p;
        default:
                return *(const uint64_t *)p;
        }
}

static void int_store(void *p, uint32_t size, uint64_t v) {
        switch (size) {
        case 1:
                *(uint8_t *)p = (uint8_t)v;
                break;
        case 2:
                *(uint16_t *)p = (uint16_t)v;
                break;
        case 4:
                *(uint32_t *)p = (uint32_t)v;
                break;
        default:
                *(uint64_t *)p = v;
                break;
        }
}

static uint32_t wire_size(char t) {
        return t == 'y' ? 1 : wire_align_of(t);
}

static bool enum_ok(const busrpc_type *type, uint64_t v) {
        size_t i;

        if (type->kind == BUSRPC_KIND_FLAGS)
                return (v & ~type->mask) == 0;
        for (i = 0; i < type->n_values; i++)
                if (type->values[i] == v)
                        return true;
        return false;
}

/* A wire value of type @t (as read: sign from the wire type) in 64 bits. */
static uint64_t wire_int_widen(uint64_t raw, char t) {
        switch (t) {
        case 'n':
                return (uint64_t)(int64_t)(int16_t)raw;
        case 'i':
                return (uint64_t)(int64_t)(int32_t)raw;
        default:
                return raw;
        }
}

/* ---- clearing ---- */

static void value_clear(const busrpc_type *type, void *value);

static void items_clear(const busrpc_type *t, void *items, size_t n) {
        size_t i;

        if (!items)
                return;
        for (i = 0; i < n; i++)
                value_clear(t, (uint8_t *)items + i * t->size);
}

static bool owns_nothing(const busrpc_type *t) {
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
        case BUSRPC_KIND_STRUCT: {
                size_t i;

                for (i = 0; i < t->n_fields; i++)
                        if (!owns_nothing(t->fields[i].type))
                                return false;
                return true;
        }
        default:
                return true;
        }
}

static void value_init(const busrpc_type *type, void *value) {
        size_t i;

        memset(value, 0, type->size);
        if (type->kind == BUSRPC_KIND_FD)
                *(int *)value = -1;
        else if (type->kind == BUSRPC_KIND_STRUCT)
                for (i = 0; i < type->n_fields; i++)
                        if (type->fields[i].type->kind == BUSRPC_KIND_FD ||
                            type->fields[i].type->kind == BUSRPC_KIND_STRUCT)
                                value_init(type->fields[i].type, (uint8_t *)value + type->fields[i].offset);
}

static void value_clear(const busrpc_type *type, void *value) {
        size_t i;

        switch (type->kind) {
        case BUSRPC_KIND_STRING:
        case BUSRPC_KIND_OBJPATH:
        case BUSRPC_KIND_SIGNATURE:
                free(*(char **)value);
                break;
        case BUSRPC_KIND_VARIANT:
                busrpc_variant_unref(*(busrpc_variant **)value);
                break;
        case BUSRPC_KIND_SHM:
                busrpc_shm_unref(*(busrpc_shm **)value);
                break;
        case BUSRPC_KIND_FD:
                if (*(int *)value >= 0)
                        close(*(int *)value);
                break;
        case BUSRPC_KIND_STRUCT:
                for (i = 0; i < type->n_fields; i++)
                        value_clear(type->fields[i].type, (uint8_t *)value + type->fields[i].offset);
                break;
        case BUSRPC_KIND_ARRAY: {
                CArray *a = value;

                if (!owns_nothing(type->elem))
                        items_clear(type->elem, a->items, a->n);
                free(a->items);
                break;
        }
        case BUSRPC_KIND_MAP: {
                CMap *m = value;

                items_clear(type->elem, m->keys, m->n);
                items_clear(type->value, m->values, m->n);
                free(m->keys);
                free(m->values);
                break;
        }
        default:
                break;
        }
        value_init(type, value);
}

void wire_value_clear(const busrpc_type *type, void *value) {
        value_clear(type, value);
}

void wire_args_clear(const busrpc_args *args, void *values) {
        size_t i;

        for (i = 0; i < args->n_fields; i++)
                value_clear(args->fields[i].type, (uint8_t *)values + args->fields[i].offset);
}

/* ---- writing ---- */

void wire_fds_free(WireFds *f) {
        free(f->fds);
        memset(f, 0, sizeof(*f));
}

static int fds_add(WireFds *f, int fd, uint32_t *ret_index) {
        if (!f || fd < 0)
                return -EINVAL;
        if (f->n == f->cap) {
                uint32_t cap = f->cap ? f->cap * 2 : 4;
                int *p;

                if (f->n >= WIRE_MAX_FDS)
                        return -E2BIG;
                p = realloc(f->fds, cap * sizeof(int));
                if (!p)
                        return -ENOMEM;
                f->fds = p;
                f->cap = cap;
        }
        f->fds[f->n] = fd;
        *ret_index = f->n++;
        return 0;
}

static int buf_fail(WireWriter *w, int err) {
        if (!w->buf->err)
                w->buf->err = err;
        return w->buf->err;
}

/* Copy the value at @it (a variant's libdbus reader) to @w; @sig is its
 * type (the variant's signature says what libdbus's iterator cannot: an
 * array's element type). fds inside variants are not carried yet. */
static int iter_to_wire(WireWriter *w, busrpc_iter *it, const char *sig, unsigned depth) {
        char t = sig[0], contents[WIRE_MAX_SIGNATURE + 1];
        size_t len = wire_type_len(sig);
        const char *p;
        busrpc_iter sub;
        WireWriter ws;
        int r;

        if (depth > WIRE_MAX_DEPTH || len == 0 || len > WIRE_MAX_SIGNATURE)
                return buf_fail(w, -EINVAL);
        switch (t) {
        case 'h':
                return buf_fail(w, -EOPNOTSUPP);
        case 'a':
        case '(':
        case '{':
        case 'v':
                break;
        default: {
                uint64_t v = 0;

                if ((r = busrpc_iter_get_basic(it, t, &v)) < 0)
                        return buf_fail(w, r);
                return wire_write_basic(w, t, &v);
        }
        }
        if (t == 'v') {
                if (busrpc_iter_get_variant_signature(it, contents, WIRE_MAX_SIGNATURE + 1) < 0)
                        return buf_fail(w, -EINVAL);
        } else if (t == 'a') {
                memcpy(contents, sig + 1, len - 1);
                contents[len - 1] = '\0';
        } else {
                memcpy(contents, sig + 1, len - 2);
                contents[len - 2] = '\0';
        }
        if ((r = busrpc_iter_recurse(it, &sub)) < 0)
                return buf_fail(w, r);
        if ((r = wire_write_open(w, &ws, t == '(' ? 'r' : t == '{' ? 'e' : t, contents)) < 0)
                return r;
        if (t == 'a' || t == 'v') {
                while (busrpc_iter_type(&sub) != 0)
                        if ((r = iter_to_wire(&ws, &sub, contents, depth + 1)) < 0)
                                return r;
        } else {
                for (p = contents; *p; p += wire_type_len(p))
                        if ((r = iter_to_wire(&ws, &sub, p, depth + 1)) < 0)
                                return r;
        }
        return wire_write_close(w, &ws);
}

static int variant_write(WireWriter *w, const busrpc_variant *v) {
        const char *sig;
        busrpc_iter it;
        WireWriter ws;
        int r;

        if (!v)
                return buf_fail(w, -EINVAL);
        sig = busrpc_variant_get_signature(v);
        if (!sig || busrpc_variant_read(v, &it) < 0)
                return buf_fail(w, -EINVAL);
        if ((r = wire_write_open(w, &ws, 'v', sig)) < 0)
                return r;
        if ((r = iter_to_wire(&ws, &it, sig, w->depth + 1)) < 0)
                return r;
        return wire_write_close(w, &ws);
}

static int value_write(WireWriter *w, const busrpc_type *type, const void *value, WireFds *fds);

static int fd_write(WireWriter *w, int fd, WireFds *fds) {
        uint32_t idx;
        int r;

        if ((r = fds_add(fds, fd, &idx)) < 0)
                return buf_fail(w, r);
        return wire_write_basic(w, 'h', &idx);
}

static int array_write(WireWriter *w, const busrpc_type *type, const CArray *a, WireFds *fds) {
        const busrpc_type *e = type->elem;
        WireWriter ws;
        size_t i;
        int r;

        if (a->n && !a->items)
                return buf_fail(w, -EINVAL);
        if (a->n > WIRE_MAX_ARRAY)
                return buf_fail(w, -E2BIG);
        switch (e->kind) {
        case BUSRPC_KIND_BYTE:
        case BUSRPC_KIND_INT16:
        case BUSRPC_KIND_UINT16:
        case BUSRPC_KIND_INT32:
        case BUSRPC_KIND_UINT32:
        case BUSRPC_KIND_INT64:
        case BUSRPC_KIND_UINT64:
        case BUSRPC_KIND_DOUBLE:
                /* Same layout in C and on the wire: one copy. */
                return wire_write_fixed_array(w, (char)e->kind, a->items, (uint32_t)a->n);
        default:
                break;
        }
        if ((r = wire_write_open(w, &ws, 'a', type->signature + 1)) < 0)
                return r;
        for (i = 0; i < a->n; i++)
                if ((r = value_write(&ws, e, (const uint8_t *)a->items + i * e->size, fds)) < 0)
                        return r;
        return wire_write_close(w, &ws);
}

static int map_write(WireWriter *w, const busrpc_type *type, const CMap *m, WireFds *fds) {
        WireWriter ws, we;
        size_t i;
        int r;

        if (m->n && (!m->keys || !m->values))
                return buf_fail(w, -EINVAL);
        if ((r = wire_write_open(w, &ws, 'a', type->signature + 1)) < 0)
                return r;
        for (i = 0; i < m->n; i++) {
                if ((r = wire_write_open(&ws, &we, 'e', NULL)) < 0 ||
                    (r = value_write(&we, type->elem, (const uint8_t *)m->keys + i * type->elem->size, fds)) < 0 ||
                    (r = value_write(&we, type->value, (const uint8_t *)m->values + i * type->value->size, fds)) <
                            0 ||
                    (r = wire_write_close(&ws, &we)) < 0)
                        return r;
        }
        return wire_write_close(w, &ws);
}

static int value_write(WireWriter *w, const busrpc_type *type, const void *value, WireFds *fds) {
        const char *s;
        size_t i;
        int r;

        switch (type->kind) {
        case BUSRPC_KIND_BOOL: {
                uint32_t b = *(const bool *)value;
                return wire_write_basic(w, 'b', &b);
        }
        case BUSRPC_KIND_BYTE:
        case BUSRPC_KIND_INT16:
        case BUSRPC_KIND_UINT16:
        case BUSRPC_KIND_INT32:
        case BUSRPC_KIND_UINT32:
        case BUSRPC_KIND_INT64:
        case BUSRPC_KIND_UINT64:
        case BUSRPC_KIND_DOUBLE:
                return wire_write_basic(w, (char)type->kind, value);
        case BUSRPC_KIND_STRING:
        case BUSRPC_KIND_SIGNATURE:
        case BUSRPC_KIND_OBJPATH:
                s = *(char *const *)value;
                if (!s)
                        s = type->kind == BUSRPC_KIND_OBJPATH ? "/" : "";
                return wire_write_string(w, (char)type->kind, s, strlen(s));
        case BUSRPC_KIND_VARIANT:
                return variant_write(w, *(busrpc_variant *const *)value);
        case BUSRPC_KIND_FD:
                return fd_write(w, *(const int *)value, fds);
        case BUSRPC_KIND_SHM: {
                busrpc_shm *shm = *(busrpc_shm *const *)value;

                if (!shm)
                        return buf_fail(w, -EINVAL);
                if (!busrpc_shm_is_sealed(shm) && (r = busrpc_shm_seal(shm)) < 0)
                        return buf_fail(w, r);
                return fd_write(w, busrpc_shm_get_fd(shm), fds);
        }
        case BUSRPC_KIND_ENUM:
        case BUSRPC_KIND_FLAGS: {
                uint64_t v = int_load(value, type->size, wire_is_signed((char)type->wire));

                uint64_t wire_v = 0;

                if (!enum_ok(type, v))
                        return buf_fail(w, -EINVAL);
                int_store(&wire_v, wire_size((char)type->wire), v); /* the wire type's width, any byte order */
                return wire_write_basic(w, (char)type->wire, &wire_v);
        }
        case BUSRPC_KIND_STRUCT: {
                WireWriter ws;
                char inner[WIRE_MAX_SIGNATURE + 1];
                size_t len = strlen(type->signature);

                if (len < 3 || len > WIRE_MAX_SIGNATURE)
                        return buf_fail(w, -EINVAL);
                memcpy(inner, type->signature + 1, len - 2);
                inner[len - 2] = '\0';
                if ((r = wire_write_open(w, &ws, 'r', inner)) < 0)
                        return r;
                for (i = 0; i < type->n_fields; i++)
                        if ((r = value_write(&ws, type->fields[i].type,
                                             (const uint8_t *)value + type->fields[i].offset, fds)) < 0)
                                return r;
                return wire_write_close(w, &ws);
        }
        case BUSRPC_KIND_ARRAY:
                return array_write(w, type, value, fds);
        case BUSRPC_KIND_MAP:
                return map_write(w, type, value, fds);
        default:
                return buf_fail(w, -EINVAL);
        }
}

int wire_value_write(WireWriter *w, const busrpc_type *type, const void *value, WireFds *fds) {
        if (!type || !value)
                return buf_fail(w, -EINVAL);
        return value_write(w, type, value, fds);
}

int wire_args_write(WireWriter *w, const busrpc_args *args, const void *values, WireFds *fds) {
        size_t i;
        int r;

        for (i = 0; i < args->n_fields; i++)
                if ((r = value_write(w, args->fields[i].type, (const uint8_t *)values + args->fields[i].offset,
                                     fds)) < 0)
                        return r;
        return w->buf->err;
}

/* ---- reading ---- */

static int invalid(busrpc_error *err, int r, const busrpc_type *type, const char *what) {
        busrpc_error_set(err, BUSRPC_ERROR_INVALID_ARGS, "%s: %s", type->name ? type->name : type->signature,
                         what);
        return r;
}

/* Copy the value at @r (of type @sig) into @it: a variant's contents. */
static int wire_to_iter(WireReader *r, busrpc_iter *it, const char *sig, unsigned depth) {
        char t = sig[0], contents[WIRE_MAX_SIGNATURE + 1];
        size_t len = wire_type_len(sig);
        const char *p;
        WireReader sub;
        busrpc_iter isub;
        int k;

        if (depth > WIRE_MAX_DEPTH || len == 0 || len > WIRE_MAX_SIGNATURE)
                return -EBADMSG;
        switch (t) {
        case 'h': {
                uint32_t idx;

                if ((k = wire_read_basic(r, 'h', &idx)) < 0)
                        return k;
                if (!r->fds || idx >= r->n_fds)
                        return -EBADMSG;
                return busrpc_iter_append_fd(it, r->fds[idx]); /* dup'ed: the message keeps its fd */
        }
        case 'a':
        case '(':
        case '{':
        case 'v':
                break;
        default: {
                uint64_t v = 0;

                if ((k = wire_read_basic(r, t, &v)) < 0)
                        return k;
                return busrpc_iter_append_basic(it, t, &v);
        }
        }
        if ((k = wire_read_enter(r, &sub)) < 0)
                return k;
        if (t == 'v') {
                len = (size_t)(sub.sig_end - sub.sig);
                memcpy(contents, sub.sig, len);
                contents[len] = '\0';
        } else if (t == 'a') {
                memcpy(contents, sig + 1, len - 1);
                contents[len - 1] = '\0';
        } else {
                memcpy(contents, sig + 1, len - 2);
                contents[len - 2] = '\0';
        }
        if ((k = busrpc_iter_open(it, t == '(' ? 'r' : t == '{' ? 'e' : t, t == 'a' || t == 'v' ? contents : NULL,
                                  &isub)) < 0) {
                busrpc_iter_abandon(it, &isub);
                return k;
        }
        if (t == 'a') {
                while (k >= 0 && wire_reader_peek(&sub))
                        k = wire_to_iter(&sub, &isub, contents, depth + 1);
        } else {
                for (p = contents; k >= 0 && *p; p += wire_type_len(p))
                        k = wire_to_iter(&sub, &isub, p, depth + 1);
        }
        if (k < 0) {
                busrpc_iter_abandon(it, &isub);
                return k;
        }
        if ((k = wire_read_exit(r, &sub)) < 0) {
                busrpc_iter_abandon(it, &isub);
                return k;
        }
        return busrpc_iter_close(it, &isub);
}

typedef struct VariantBuild {
        WireReader *r;
        const char *sig;
} VariantBuild;

static int variant_build(busrpc_iter *it, void *userdata) {
        VariantBuild *vb = userdata;

        return wire_to_iter(vb->r, it, vb->sig, 1);
}

static int variant_read(WireReader *r, busrpc_variant **ret) {
        char sig[WIRE_MAX_SIGNATURE + 1];
        WireReader sub;
        VariantBuild vb = { &sub, sig };
        size_t len;
        int k;

        if ((k = wire_read_enter(r, &sub)) < 0)
                return k;
        len = (size_t)(sub.sig_end - sub.sig);
        memcpy(sig, sub.sig, len);
        sig[len] = '\0';
        if ((k = busrpc_variant_new_built(sig, variant_build, &vb, ret)) < 0)
                return k;
        return wire_read_exit(r, &sub);
}

static int fd_read(WireReader *r, int *ret) {
        uint32_t idx;
        int k, fd;

        if ((k = wire_read_basic(r, 'h', &idx)) < 0)
                return k;
        if (!r->fds || idx >= r->n_fds || r->fds[idx] < 0)
                return -EBADMSG;
        fd = fcntl(r->fds[idx], F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return -errno;
        *ret = fd;
        return 0;
}

static int shm_read(WireReader *r, const busrpc_type *type, busrpc_shm **ret, busrpc_error *err) {
        uint64_t max = type->max_size ? type->max_size : BUSRPC_MAX_SHM_SIZE_DEFAULT;
        struct stat st;
        uint32_t idx;
        int k;

        if ((k = wire_read_basic(r, 'h', &idx)) < 0)
                return k;
        if (!r->fds || idx >= r->n_fds || r->fds[idx] < 0)
                return -EBADMSG;
        /* The size before anything maps it. */
        if (fstat(r->fds[idx], &st) < 0)
                return -errno;
        if ((uint64_t)st.st_size > max)
                return invalid(err, -EFBIG, type, "shared memory above its bound");
        k = busrpc_shm_from_fd(r->fds[idx], ret);
        if (k < 0)
                return invalid(err, k, type, "not a sealed memfd");
        return 0;
}

static int value_read(WireReader *r, const busrpc_type *type, void *value, busrpc_error *err);

/* Grow @items (of @n, room for *@cap) by one item of @size bytes. */
static void *grow(void **items, size_t *cap, size_t n, size_t size) {
        if (n == *cap) {
                size_t c = *cap ? *cap * 2 : 4;
                void *p;

                if (c > SIZE_MAX / size)
                        return NULL;
                p = realloc(*items, c * size);
                if (!p)
                        return NULL;
                *items = p;
                *cap = c;
        }
        return (uint8_t *)*items + n * size;
}

static int array_read(WireReader *r, const busrpc_type *type, CArray *a, busrpc_error *err) {
        const busrpc_type *e = type->elem;
        WireReader sub;
        size_t cap = 0;
        void *slot;
        int k;

        switch (e->kind) {
        case BUSRPC_KIND_BYTE:
        case BUSRPC_KIND_INT16:
        case BUSRPC_KIND_UINT16:
        case BUSRPC_KIND_INT32:
        case BUSRPC_KIND_UINT32:
        case BUSRPC_KIND_INT64:
        case BUSRPC_KIND_UINT64:
        case BUSRPC_KIND_DOUBLE: {
                const uint8_t *items;
                uint32_t n, i, size = wire_size((char)e->kind);

                if ((k = wire_read_fixed_array(r, (char)e->kind, (const void **)&items, &n)) < 0)
                        return k;
                if (n == 0)
                        return 0;
                a->items = malloc((size_t)n * size);
                if (!a->items)
                        return -ENOMEM;
                memcpy(a->items, items, (size_t)n * size);
                if (r->swap && size > 1)
                        for (i = 0; i < n; i++) {
                                uint8_t *p = (uint8_t *)a->items + (size_t)i * size;

                                if (size == 2)
                                        *(uint16_t *)p = __builtin_bswap16(*(uint16_t *)p);
                                else if (size == 4)
                                        *(uint32_t *)p = __builtin_bswap32(*(uint32_t *)p);
                                else
                                        *(uint64_t *)p = __builtin_bswap64(*(uint64_t *)p);
                        }
                a->n = n;
                return 0;
        }
        default:
                break;
        }
        if (wire_reader_peek(r) != 'a')
                return -EBADMSG;
        if ((k = wire_read_enter(r, &sub)) < 0)
                return k;
        while (wire_reader_peek(&sub)) {
                if (!(slot = grow(&a->items, &cap, a->n, e->size)))
                        return -ENOMEM;
                value_init(e, slot);
                if ((k = value_read(&sub, e, slot, err)) < 0) {
                        value_clear(e, slot);
                        return k;
                }
                a->n++;
        }
        return wire_read_exit(r, &sub);
}

static int key_cmp(const busrpc_type *k, const void *a, const void *b) {
        switch (k->kind) {
        case BUSRPC_KIND_STRING:
        case BUSRPC_KIND_OBJPATH:
        case BUSRPC_KIND_SIGNATURE:
                return strcmp(*(char *const *)a, *(char *const *)b);
        case BUSRPC_KIND_DOUBLE: {
                double x = *(const double *)a, y = *(const double *)b;
                return x < y ? -1 : x > y ? 1 : 0; /* -0.0 == 0.0 */
        }
        case BUSRPC_KIND_FD:
                return 1; /* each received fd is a new one: never equal */
        case BUSRPC_KIND_BOOL:
                return (int)*(const bool *)a - (int)*(const bool *)b;
        default:
                return memcmp(a, b, k->size);
        }
}

static int key_sort(const void *a, const void *b, void *type) {
        return key_cmp(type, *(void *const *)a, *(void *const *)b);
}

/* Does a key occur twice? O(n^2) for a few keys, sorted pointers above. */
static int keys_unique(const busrpc_type *k, const void *keys, size_t n) {
        const uint8_t *p = keys;
        size_t i, j;
        const void **v;
        int r = 0;

        if (k->kind == BUSRPC_KIND_FD)
                return 0;
        if (n <= 16) {
                for (i = 0; i < n; i++)
                        for (j = i + 1; j < n; j++)
                                if (key_cmp(k, p + i * k->size, p + j * k->size) == 0)
                                        return -ENOTUNIQ;
                return 0;
        }
        v = malloc(n * sizeof(*v));
        if (!v)
                return -ENOMEM;
        for (i = 0; i < n; i++)
                v[i] = p + i * k->size;
        qsort_r(v, n, sizeof(*v), key_sort, (void *)k);
        for (i = 1; i < n && r == 0; i++)
                if (key_cmp(k, v[i - 1], v[i]) == 0)
                        r = -ENOTUNIQ;
        free(v);
        return r;
}

static int map_read(WireReader *r, const busrpc_type *type, CMap *m, busrpc_error *err) {
        WireReader sub, ent;
        size_t kcap = 0, vcap = 0;
        void *ks, *vs;
        int k;

        if (wire_reader_peek(r) != 'a')
                return -EBADMSG;
        if ((k = wire_read_enter(r, &sub)) < 0)
                return k;
        while (wire_reader_peek(&sub)) {
                if (!(ks = grow(&m->keys, &kcap, m->n, type->elem->size)) ||
                    !(vs = grow(&m->values, &vcap, m->n, type->value->size)))
                        return -ENOMEM;
                value_init(type->elem, ks);
                value_init(type->value, vs);
                m->n++; /* cleared from here on, whatever fails */
                if ((k = wire_read_enter(&sub, &ent)) < 0 || (k = value_read(&ent, type->elem, ks, err)) < 0 ||
                    (k = value_read(&ent, type->value, vs, err)) < 0 || (k = wire_read_exit(&sub, &ent)) < 0)
                        return k;
        }
        if ((k = keys_unique(type->elem, m->keys, m->n)) == -ENOTUNIQ)
                return invalid(err, k, type, "a key occurs twice");
        if (k < 0)
                return k;
        return wire_read_exit(r, &sub);
}

static int value_read(WireReader *r, const busrpc_type *type, void *value, busrpc_error *err) {
        size_t i;
        int k;

        switch (type->kind) {
        case BUSRPC_KIND_BOOL: {
                uint32_t b;

                if ((k = wire_read_basic(r, 'b', &b)) < 0)
                        return k;
                *(bool *)value = b != 0;
                return 0;
        }
        case BUSRPC_KIND_BYTE:
        case BUSRPC_KIND_INT16:
        case BUSRPC_KIND_UINT16:
        case BUSRPC_KIND_INT32:
        case BUSRPC_KIND_UINT32:
        case BUSRPC_KIND_INT64:
        case BUSRPC_KIND_UINT64:
        case BUSRPC_KIND_DOUBLE:
                return wire_read_basic(r, (char)type->kind, value);
        case BUSRPC_KIND_STRING:
        case BUSRPC_KIND_OBJPATH:
        case BUSRPC_KIND_SIGNATURE: {
                const char *s;
                char *copy;

                if ((k = wire_read_basic(r, (char)type->kind, &s)) < 0)
                        return k;
                if (!(copy = strdup(s)))
                        return -ENOMEM;
                *(char **)value = copy;
                return 0;
        }
        case BUSRPC_KIND_VARIANT:
                return variant_read(r, (busrpc_variant **)value);
        case BUSRPC_KIND_FD:
                return fd_read(r, (int *)value);
        case BUSRPC_KIND_SHM:
                return shm_read(r, type, (busrpc_shm **)value, err);
        case BUSRPC_KIND_ENUM:
        case BUSRPC_KIND_FLAGS: {
                uint64_t raw = 0, v;
                char t = (char)type->wire;

                if ((k = wire_read_basic(r, t, &raw)) < 0)
                        return k;
                /* wire_read_basic() stored wire_size(t) bytes at the start of raw. */
                raw = int_load(&raw, wire_size(t), false);
                v = wire_int_widen(raw, t);
                if (!enum_ok(type, v))
                        return invalid(err, -EBADMSG, type, type->kind == BUSRPC_KIND_ENUM ? "value not declared"
                                                                                           : "bits not declared");
                int_store(value, type->size, v);
                return 0;
        }
        case BUSRPC_KIND_STRUCT: {
                WireReader sub;

                if (wire_reader_peek(r) != 'r')
                        return -EBADMSG;
                if ((k = wire_read_enter(r, &sub)) < 0)
                        return k;
                for (i = 0; i < type->n_fields; i++)
                        if ((k = value_read(&sub, type->fields[i].type, (uint8_t *)value + type->fields[i].offset,
                                            err)) < 0)
                                return k;
                return wire_read_exit(r, &sub);
        }
        case BUSRPC_KIND_ARRAY:
                return array_read(r, type, value, err);
        case BUSRPC_KIND_MAP:
                return map_read(r, type, value, err);
        default:
                return -EINVAL;
        }
}

int wire_value_read(WireReader *r, const busrpc_type *type, void *value, busrpc_error *err) {
        int k;

        value_init(type, value);
        k = value_read(r, type, value, err);
        if (k < 0)
                value_clear(type, value);
        return k;
}

int wire_args_read(WireReader *r, const busrpc_args *args, void *values, busrpc_error *err) {
        size_t i;
        int k = 0;

        for (i = 0; i < args->n_fields; i++)
                value_init(args->fields[i].type, (uint8_t *)values + args->fields[i].offset);
        for (i = 0; i < args->n_fields && k >= 0; i++)
                k = value_read(r, args->fields[i].type, (uint8_t *)values + args->fields[i].offset, err);
        if (k < 0)
                wire_args_clear(args, values);
        return k;
}
