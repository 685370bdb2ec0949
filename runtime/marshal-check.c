/* marshal-check.c: the checks of type descriptors (marshal.h). A
 * descriptor is constant, written by generated code: it is checked once,
 * when an interface is first exported (marshal_iface_valid()) or the
 * first time a thread uses it (a direct-mapped cache of checked
 * addresses), and trusted by marshal.c afterwards. The checks: each
 * kind's signature and C size, struct signatures against their fields'
 * and fields inside their struct, arrays and maps against their element
 * types (map keys basic, never variants), enum values that their wire
 * type and C size can carry, nesting and length within the D-Bus limits.
 */
#include <string.h>
#include "marshal.h"

/* The specification's bound on nested containers: deeper descriptors are refused. */
#define MAX_TYPE_DEPTH 64

static size_t kind_size(int kind) {
        switch (kind) {
        case BUSRPC_KIND_BOOL:
                return sizeof(bool);
        case BUSRPC_KIND_BYTE:
                return 1;
        case BUSRPC_KIND_INT16:
        case BUSRPC_KIND_UINT16:
                return 2;
        case BUSRPC_KIND_INT32:
        case BUSRPC_KIND_UINT32:
                return 4;
        case BUSRPC_KIND_INT64:
        case BUSRPC_KIND_UINT64:
        case BUSRPC_KIND_DOUBLE:
                return 8;
        case BUSRPC_KIND_STRING:
        case BUSRPC_KIND_OBJPATH:
        case BUSRPC_KIND_SIGNATURE:
                return sizeof(char *);
        case BUSRPC_KIND_VARIANT:
                return sizeof(busrpc_variant *);
        case BUSRPC_KIND_SHM:
                return sizeof(busrpc_shm *);
        case BUSRPC_KIND_FD:
                return sizeof(int);
        default:
                return 0;
        }
}

static bool check_type(const busrpc_type *t, unsigned depth);

/* The fields' signatures, in order, from @sig on; the end position in @ret_end. */
static bool check_fields(const busrpc_field *fields, size_t n, size_t size, const char *sig, unsigned depth,
                         const char **ret_end) {
        if (n && !fields)
                return false;
        for (size_t i = 0; i < n; i++) {
                const busrpc_type *ft = fields[i].type;
                size_t len;

                if (!check_type(ft, depth + 1))
                        return false;
                len = strlen(ft->signature);
                if (strncmp(sig, ft->signature, len) != 0)
                        return false;
                sig += len;
                if (fields[i].offset > size || ft->size > size - fields[i].offset)
                        return false;
        }
        *ret_end = sig;
        return true;
}

static bool check_type(const busrpc_type *t, unsigned depth) {
        const char *sig, *end;

        if (!t || !t->signature || depth > MAX_TYPE_DEPTH)
                return false;
        sig = t->signature;
        switch (t->kind) {
        case BUSRPC_KIND_BOOL:
        case BUSRPC_KIND_BYTE:
        case BUSRPC_KIND_INT16:
        case BUSRPC_KIND_UINT16:
        case BUSRPC_KIND_INT32:
        case BUSRPC_KIND_UINT32:
        case BUSRPC_KIND_INT64:
        case BUSRPC_KIND_UINT64:
        case BUSRPC_KIND_DOUBLE:
        case BUSRPC_KIND_STRING:
        case BUSRPC_KIND_OBJPATH:
        case BUSRPC_KIND_SIGNATURE:
        case BUSRPC_KIND_VARIANT:
        case BUSRPC_KIND_FD:
        case BUSRPC_KIND_SHM:
                return sig[0] == (t->kind == BUSRPC_KIND_SHM ? 'h' : (char)t->kind) && sig[1] == '\0' &&
                       t->size == kind_size(t->kind);
        case BUSRPC_KIND_ENUM:
        case BUSRPC_KIND_FLAGS: {
                unsigned wb = wire_bytes(t->wire);
                bool sign = wire_signed(t->wire);

                if (!wb || sig[0] != (char)t->wire || sig[1] != '\0')
                        return false;
                if (t->size != 1 && t->size != 2 && t->size != 4 && t->size != 8)
                        return false;
                if (t->kind == BUSRPC_KIND_FLAGS)
                        return true;
                if (t->n_values && !t->values)
                        return false;
                /* Every declared value travels and fits the C type. */
                for (size_t i = 0; i < t->n_values; i++)
                        if (int_norm(t->values[i], wb, sign) != t->values[i] ||
                            int_norm(t->values[i], t->size, sign) != t->values[i])
                                return false;
                return true;
        }
        case BUSRPC_KIND_STRUCT:
                if (sig[0] != '(' || t->n_fields == 0)
                        return false;
                if (!check_fields(t->fields, t->n_fields, t->size, sig + 1, depth, &end))
                        return false;
                return end[0] == ')' && end[1] == '\0';
        case BUSRPC_KIND_ARRAY:
                if (t->size != sizeof(MarshalArray) || sig[0] != 'a' || !check_type(t->elem, depth + 1))
                        return false;
                return strcmp(sig + 1, t->elem->signature) == 0;
        case BUSRPC_KIND_MAP: {
                size_t klen;

                if (t->size != sizeof(MarshalMap) || sig[0] != 'a' || sig[1] != '{')
                        return false;
                if (!check_type(t->elem, depth + 1) || !check_type(t->value, depth + 1))
                        return false;
                switch (t->elem->kind) { /* a key is basic (never a variant) */
                case BUSRPC_KIND_VARIANT:
                case BUSRPC_KIND_SHM:
                case BUSRPC_KIND_STRUCT:
                case BUSRPC_KIND_ARRAY:
                case BUSRPC_KIND_MAP:
                        return false;
                default:
                        break;
                }
                klen = strlen(t->elem->signature);
                if (strncmp(sig + 2, t->elem->signature, klen) != 0)
                        return false;
                sig += 2 + klen;
                if (strncmp(sig, t->value->signature, strlen(t->value->signature)) != 0)
                        return false;
                sig += strlen(t->value->signature);
                return sig[0] == '}' && sig[1] == '\0';
        }
        default:
                return false;
        }
}

/* A valid signature of at most 255 characters (nesting bounds included). */
static bool sig_valid(const char *s) {
        return strlen(s) <= 255 && dbus_signature_validate(s, NULL);
}

/* Descriptors this thread has checked already (direct-mapped by address):
 * a descriptor is constant, so once is enough. */
#define CHECKED_SLOTS 64
static _Thread_local const void *checked[CHECKED_SLOTS];

static size_t checked_slot(const void *p) {
        uintptr_t x = (uintptr_t)p;
        return (size_t)((x >> 4) ^ (x >> 10)) % CHECKED_SLOTS;
}

bool marshal_checked(const void *p) {
        return p && checked[checked_slot(p)] == p;
}

void marshal_check_done(const void *p) {
        checked[checked_slot(p)] = p;
}

bool marshal_type_valid(const busrpc_type *t) {
        size_t h = checked_slot(t);

        if (t && checked[h] == t)
                return true;
        if (!check_type(t, 0) || !sig_valid(t->signature))
                return false;
        checked[h] = t;
        return true;
}

bool marshal_args_valid(const busrpc_args *a) {
        size_t h = checked_slot(a);
        const char *end;

        if (a && checked[h] == a)
                return true;
        if (!a || !a->signature || !sig_valid(a->signature))
                return false;
        if (!check_fields(a->fields, a->n_fields, a->size, a->signature, 0, &end) || *end != '\0')
                return false;
        checked[h] = a;
        return true;
}

static bool args_match(const busrpc_args *a, const char *sig) {
        return !a || (sig && marshal_args_valid(a) && strcmp(a->signature, sig) == 0);
}

bool marshal_iface_valid(const busrpc_interface_desc *d) {
        for (size_t i = 0; i < d->n_methods; i++) {
                const busrpc_method_desc *m = &d->methods[i];
                if (!args_match(m->in, m->in_sig) || !args_match(m->out, m->out_sig))
                        return false;
                if (m->op && (!m->in || !m->out))
                        return false; /* an op needs both descriptors, even empty ones */
        }
        for (size_t i = 0; i < d->n_properties; i++) {
                const busrpc_property_desc *p = &d->properties[i];
                if ((p->get_op || p->set_op) && !p->type)
                        return false;
                if (p->type && (!marshal_type_valid(p->type) || !p->sig || strcmp(p->type->signature, p->sig) != 0))
                        return false;
        }
        for (size_t i = 0; i < d->n_signals; i++)
                if (!args_match(d->signals[i].args, d->signals[i].sig))
                        return false;
        return true;
}

