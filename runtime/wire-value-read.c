/* wire-value-read.c: the descriptor contract's C values (busrpc.h,
 * "Type descriptors") read from validated D-Bus wire bytes directly, with
 * no libdbus message in between: the fast path's unmarshaller (wire.h).
 *
 * Reading allocates only what the C value owns (strings, item arrays),
 * one block per array where the element is fixed-size (a memcpy when the
 * byte order is the machine's). Variants are built through the
 * busrpc_variant API; fds are indexes into the message's fd array on the
 * wire and owned ints (dup'ed) in C. A value that fails half-way is left
 * empty (busrpc_value_clear()).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wire-value.h"

/* The signature of the variant @sub was entered into, NUL-terminated in
 * @out (WIRE_MAX_SIGNATURE + 1 bytes). */
static void variant_sig(const WireReader *sub, char *out) {
        size_t len = (size_t)(sub->sig_end - sub->sig);

        memcpy(out, sub->sig, len);
        out[len] = '\0';
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
        if (t == 'v')
                variant_sig(&sub, contents);
        else
                wire_contents(sig, len, contents);
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
        int k;

        if ((k = wire_read_enter(r, &sub)) < 0)
                return k;
        variant_sig(&sub, sig);
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

/* As marshal.c reads an shm (busrpc_iter_get_shm_max()): the bound is the
 * type's, else the connection's, else the default; checked on the inode
 * before anything maps it; the same errors. */
static int shm_read(WireReader *r, const busrpc_type *type, busrpc_shm **ret, busrpc_error *err) {
        uint64_t max = type->max_size    ? type->max_size
                       : r->max_shm      ? r->max_shm
                                         : BUSRPC_MAX_SHM_SIZE_DEFAULT;
        struct stat st;
        uint32_t idx;
        int k;

        if ((k = wire_read_basic(r, 'h', &idx)) < 0)
                return k;
        if (!r->fds || idx >= r->n_fds || r->fds[idx] < 0)
                return -EBADMSG;
        if (fstat(r->fds[idx], &st) < 0)
                return -errno;
        k = S_ISREG(st.st_mode) && (uint64_t)st.st_size > max ? -EFBIG : busrpc_shm_from_fd(r->fds[idx], ret);
        if (k == -EPERM)
                busrpc_error_set(err, BUSRPC_ERROR_INVALID_ARGS, "shm argument is not sealed");
        else if (k == -EFBIG)
                busrpc_error_set(err, BUSRPC_ERROR_INVALID_ARGS, "shm argument is larger than its size limit");
        return k;
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

static int array_read(WireReader *r, const busrpc_type *type, MarshalArray *a, busrpc_error *err) {
        const busrpc_type *e = type->elem;
        WireReader sub;
        size_t cap = 0;
        void *slot;
        int k;

        if (type_kind_fixed(e->kind)) {
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
        if (wire_reader_peek(r) != 'a')
                return -EBADMSG;
        if ((k = wire_read_enter(r, &sub)) < 0)
                return k;
        while (wire_reader_peek(&sub)) {
                if (!(slot = grow(&a->items, &cap, a->n, e->size)))
                        return -ENOMEM;
                busrpc_value_init(e, slot);
                if ((k = value_read(&sub, e, slot, err)) < 0) {
                        busrpc_value_clear(e, slot);
                        return k;
                }
                a->n++;
        }
        return wire_read_exit(r, &sub);
}

/* A dict key as message.c's duplicate check sees it: a string, or the
 * bits of a number (-0.0 and 0.0 are one key; NaNs differ by their bits). */
typedef struct WireKey {
        uint64_t u;
        const char *s;
} WireKey;

static int key_cmp_u(const void *a, const void *b) {
        uint64_t x = ((const WireKey *)a)->u, y = ((const WireKey *)b)->u;

        return x < y ? -1 : x > y;
}

static int key_cmp_s(const void *a, const void *b) {
        return strcmp(((const WireKey *)a)->s, ((const WireKey *)b)->s);
}

/* -ENOTUNIQ when the dict next in @r (validated) has a key twice, before
 * any value is read: the verdict and its order are those of the libdbus
 * path (message.c's busrpc_iter_recurse_dict()). fd keys are never equal. */
static int dict_keys_unique(const WireReader *r) {
        WireReader arr = *r, ent;
        WireKey *keys = NULL;
        size_t n = 0, cap = 0;
        char t;
        int k = 0;

        if ((k = wire_read_enter(&arr, &ent)) < 0)
                return k;
        arr = ent; /* the array's items */
        t = arr.elem[1];
        if (t == 'h')
                return 0;
        while (k == 0 && wire_reader_peek(&arr)) {
                uint64_t v = 0;
                double d;

                if (n == cap) {
                        size_t c = cap ? 2 * cap : 64;
                        WireKey *p = realloc(keys, c * sizeof(*keys));

                        if (!p) {
                                k = -ENOMEM;
                                break;
                        }
                        keys = p;
                        cap = c;
                }
                if ((k = wire_read_enter(&arr, &ent)) < 0 || (k = wire_read_basic(&ent, t, &v)) < 0 ||
                    (k = wire_read_exit(&arr, &ent)) < 0)
                        break;
                if (t == 's' || t == 'o' || t == 'g') {
                        memcpy(&keys[n].s, &v, sizeof(keys[n].s));
                } else if (t == 'd') {
                        memcpy(&d, &v, sizeof(d));
                        keys[n].u = d == 0.0 ? 0 : v;
                } else
                        keys[n].u = load_int(&v, wire_size(t), false);
                n++;
        }
        if (k == 0 && n > 1) {
                bool str = t == 's' || t == 'o' || t == 'g';

                qsort(keys, n, sizeof(*keys), str ? key_cmp_s : key_cmp_u);
                for (size_t i = 1; i < n && k == 0; i++)
                        if (str ? strcmp(keys[i - 1].s, keys[i].s) == 0 : keys[i - 1].u == keys[i].u)
                                k = -ENOTUNIQ;
        }
        free(keys);
        return k;
}

static int map_read(WireReader *r, const busrpc_type *type, MarshalMap *m, busrpc_error *err) {
        WireReader sub, ent;
        size_t kcap = 0, vcap = 0;
        void *ks, *vs;
        int k;

        if (wire_reader_peek(r) != 'a' || r->sig[1] != '{')
                return -EBADMSG;
        if ((k = dict_keys_unique(r)) == -ENOTUNIQ)
                busrpc_error_set(err, BUSRPC_ERROR_INVALID_ARGS, "duplicate key in map %s", type->signature);
        if (k < 0)
                return k;
        if ((k = wire_read_enter(r, &sub)) < 0)
                return k;
        while (wire_reader_peek(&sub)) {
                if (!(ks = grow(&m->keys, &kcap, m->n, type->elem->size)) ||
                    !(vs = grow(&m->values, &vcap, m->n, type->value->size)))
                        return -ENOMEM;
                busrpc_value_init(type->elem, ks);
                busrpc_value_init(type->value, vs);
                m->n++; /* cleared from here on, whatever fails */
                if ((k = wire_read_enter(&sub, &ent)) < 0 || (k = value_read(&ent, type->elem, ks, err)) < 0 ||
                    (k = value_read(&ent, type->value, vs, err)) < 0 || (k = wire_read_exit(&sub, &ent)) < 0)
                        return k;
        }
        return wire_read_exit(r, &sub);
}

static int value_read(WireReader *r, const busrpc_type *type, void *value, busrpc_error *err) {
        size_t i;
        int k;

        if (type_kind_fixed(type->kind)) /* the C type is the wire type */
                return wire_read_basic(r, (char)type->kind, value);
        switch (type->kind) {
        case BUSRPC_KIND_BOOL: {
                uint32_t b;

                if ((k = wire_read_basic(r, 'b', &b)) < 0)
                        return k;
                *(bool *)value = b != 0;
                return 0;
        }
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
                /* As marshal.c: declared, and fits the C type; the same words. */
                unsigned wb = wire_bytes(type->wire);
                bool sign = wire_signed(type->wire);
                uint64_t raw = 0, x;
                const char *name = type->name ? type->name : type->signature;

                if ((k = wire_read_basic(r, (char)type->wire, &raw)) < 0)
                        return k;
                x = load_int(&raw, wb, sign); /* wire_read_basic() stored wb bytes at the start of raw */
                if (!type_enum_declared(type, x) || int_norm(x, type->size, sign) != x) {
                        if (sign)
                                busrpc_error_set(err, BUSRPC_ERROR_INVALID_ARGS, "%" PRId64 " is not a valid %s",
                                                 (int64_t)x, name);
                        else
                                busrpc_error_set(err, BUSRPC_ERROR_INVALID_ARGS, "%" PRIu64 " is not a valid %s", x,
                                                 name);
                        return -EBADMSG;
                }
                store_int(value, type->size, x);
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

        busrpc_value_init(type, value);
        k = value_read(r, type, value, err);
        if (k < 0)
                busrpc_value_clear(type, value);
        return k;
}

int wire_args_read(WireReader *r, const busrpc_args *args, void *values, busrpc_error *err) {
        size_t i;
        int k = 0;

        for (i = 0; i < args->n_fields; i++)
                busrpc_value_init(args->fields[i].type, (uint8_t *)values + args->fields[i].offset);
        for (i = 0; i < args->n_fields && k >= 0; i++)
                k = value_read(r, args->fields[i].type, (uint8_t *)values + args->fields[i].offset, err);
        if (k < 0)
                busrpc_args_clear(args, values);
        return k;
}

void wire_value_clear(const busrpc_type *type, void *value) {
        busrpc_value_clear(type, value);
}

void wire_args_clear(const busrpc_args *args, void *values) {
        busrpc_args_clear(args, values);
}
