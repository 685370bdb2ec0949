/* wire-value-write.c: the descriptor contract's C values (busrpc.h,
 * "Type descriptors") written as D-Bus wire bytes directly, with no
 * libdbus message in between: the fast path's marshaller (wire.h).
 *
 * Writing allocates nothing but buffer growth; an array of a fixed type
 * whose C layout is the wire's is one copy. Variants are walked through
 * the busrpc_variant API (a variant is a libdbus message today); an fd is
 * appended to the message's WireFds (borrowed) and written as its index.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wire-value.h"

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
        } else
                wire_contents(sig, len, contents);
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

static int array_write(WireWriter *w, const busrpc_type *type, const MarshalArray *a, WireFds *fds) {
        const busrpc_type *e = type->elem;
        WireWriter ws;
        size_t i;
        int r;

        if (a->n && !a->items)
                return buf_fail(w, -EINVAL);
        if (a->n > WIRE_MAX_ARRAY)
                return buf_fail(w, -E2BIG);
        if (type_kind_fixed(e->kind)) /* same layout in C and on the wire: one copy */
                return wire_write_fixed_array(w, (char)e->kind, a->items, (uint32_t)a->n);
        if ((r = wire_write_open(w, &ws, 'a', type->signature + 1)) < 0)
                return r;
        for (i = 0; i < a->n; i++)
                if ((r = value_write(&ws, e, (const uint8_t *)a->items + i * e->size, fds)) < 0)
                        return r;
        return wire_write_close(w, &ws);
}

static int map_write(WireWriter *w, const busrpc_type *type, const MarshalMap *m, WireFds *fds) {
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

        if (type_kind_fixed(type->kind)) /* the C type is the wire type */
                return wire_write_basic(w, (char)type->kind, value);
        switch (type->kind) {
        case BUSRPC_KIND_BOOL: {
                uint32_t b = *(const bool *)value;
                return wire_write_basic(w, 'b', &b);
        }
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
                /* As marshal.c: the C value must fit the wire type and be declared. */
                unsigned wb = wire_bytes(type->wire);
                bool sign = wire_signed(type->wire);
                uint64_t x = load_int(value, type->size, sign), wire_v = 0;

                if (int_norm(x, wb, sign) != x || !type_enum_declared(type, x))
                        return buf_fail(w, -EINVAL);
                store_int(&wire_v, wb, x); /* the wire type's width, any byte order */
                return wire_write_basic(w, (char)type->wire, &wire_v);
        }
        case BUSRPC_KIND_STRUCT: {
                WireWriter ws;
                char inner[WIRE_MAX_SIGNATURE + 1];
                size_t len = strlen(type->signature);

                if (len < 3 || len > WIRE_MAX_SIGNATURE)
                        return buf_fail(w, -EINVAL);
                wire_contents(type->signature, len, inner);
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

