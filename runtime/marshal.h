/* marshal.h: private to marshal.c, invoke.c and the few dispatch sites
 * that hand descriptor-driven members to them (object.c, property.c,
 * call.c).
 *
 * Model:
 *  - A busrpc_type (and a busrpc_args) is a constant table written by
 *    generated code. Its signature and layout are checked once: when an
 *    interface descriptor is first exported (marshal_iface_valid()), or,
 *    on the client side, the first time this thread uses it (a small
 *    direct-mapped cache of checked addresses). After that the
 *    marshaller trusts it.
 *  - The arguments of one call live in one scratch block: on the stack up
 *    to MARSHAL_STACK bytes, malloc'ed above (Scratch).
 */
#pragma once

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include "busrpc-internal.h"

/* The C layouts the kinds ARRAY and MAP stand for. */
typedef struct MarshalArray {
        void *items;
        size_t n;
} MarshalArray;

typedef struct MarshalMap {
        void *keys;
        void *values;
        size_t n;
} MarshalMap;

/* Arguments up to this size need no allocation per call. */
#define MARSHAL_STACK 256

typedef struct Scratch {
        void *p;
        alignas(max_align_t) unsigned char buf[MARSHAL_STACK];
} Scratch;

/* Room for @size bytes (uninitialised): the stack buffer or the heap. */
static inline void *scratch_get(Scratch *s, size_t size) {
        s->p = size <= MARSHAL_STACK ? (void *)s->buf : malloc(size);
        return s->p;
}

static inline void scratch_put(Scratch *s) {
        if (s->p != (void *)s->buf)
                free(s->p);
        s->p = NULL;
}

/* Integers of enums and flags: their wire types. */
static inline bool wire_signed(int w) {
        return w == 'n' || w == 'i' || w == 'x';
}

static inline unsigned wire_bytes(int w) {
        switch (w) {
        case 'y':
                return 1;
        case 'n':
        case 'q':
                return 2;
        case 'i':
        case 'u':
                return 4;
        case 'x':
        case 't':
                return 8;
        default:
                return 0;
        }
}

/* Kinds whose C layout is their wire layout: an array of them is one copy
 * (both marshallers: marshal.c on libdbus, wire-value-*.c on the wire). */
static inline bool type_kind_fixed(int kind) {
        switch (kind) {
        case BUSRPC_KIND_BYTE:
        case BUSRPC_KIND_INT16:
        case BUSRPC_KIND_UINT16:
        case BUSRPC_KIND_INT32:
        case BUSRPC_KIND_UINT32:
        case BUSRPC_KIND_INT64:
        case BUSRPC_KIND_UINT64:
        case BUSRPC_KIND_DOUBLE:
                return true;
        default:
                return false;
        }
}

/* Is @x (the integer as its wire type holds it, sign-extended) a declared
 * value of an enum, or made of declared bits of a flags type? One rule for
 * both marshallers, so both answer a caller alike (fuzz-fastcall holds
 * them to it). */
static inline bool type_enum_declared(const busrpc_type *t, uint64_t x) {
        if (t->kind == BUSRPC_KIND_FLAGS) {
                unsigned bits = 8 * wire_bytes(t->wire);
                uint64_t width = bits == 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;

                return (x & ~t->mask & width) == 0;
        }
        for (size_t i = 0; i < t->n_values; i++)
                if (t->values[i] == x)
                        return true;
        return false;
}

/* The integer of @size bytes at @v, sign- or zero-extended to 64 bits. */
static inline uint64_t load_int(const void *v, unsigned size, bool sign) {
        switch (size) {
        case 1:
                return sign ? (uint64_t)(int64_t) * (const int8_t *)v : *(const uint8_t *)v;
        case 2:
                return sign ? (uint64_t)(int64_t) * (const int16_t *)v : *(const uint16_t *)v;
        case 4:
                return sign ? (uint64_t)(int64_t) * (const int32_t *)v : *(const uint32_t *)v;
        default:
                return *(const uint64_t *)v;
        }
}

static inline void store_int(void *v, unsigned size, uint64_t x) {
        switch (size) {
        case 1:
                *(uint8_t *)v = (uint8_t)x;
                break;
        case 2:
                *(uint16_t *)v = (uint16_t)x;
                break;
        case 4:
                *(uint32_t *)v = (uint32_t)x;
                break;
        default:
                *(uint64_t *)v = x;
                break;
        }
}

/* @x as an integer of @bytes bytes holds it, extended back to 64 bits:
 * equal to @x exactly when @x fits. */
static inline uint64_t int_norm(uint64_t x, unsigned bytes, bool sign) {
        unsigned char buf[8];

        store_int(buf, bytes, x);
        return load_int(buf, bytes, sign);
}

/* Is the descriptor consistent (kinds, signatures, sizes, offsets)? */
bool marshal_type_valid(const busrpc_type *t);
bool marshal_args_valid(const busrpc_args *a);
/* The per-thread cache of checked descriptors, for other tables (a
 * busrpc_remote_method): has @p been checked, remember that it was. */
bool marshal_checked(const void *p);
void marshal_check_done(const void *p);
/* The descriptor-driven parts of @d: each method's .in/.out against its
 * in_sig/out_sig, each property's .type against its sig, each signal's
 * .args against its sig. True when @d has none. */
bool marshal_iface_valid(const busrpc_interface_desc *d);

/* busrpc_args_*() for descriptors known to be valid. marshal_args_read()
 * expects @values initialised and clears them on failure;
 * marshal_args_clear() releases without initialising again. */
void marshal_args_init(const busrpc_args *a, void *values);
void marshal_args_clear(const busrpc_args *a, void *values);
int marshal_args_append(busrpc_iter *it, const busrpc_args *a, const void *values);
/* marshal_args_append() at the top of @m, a message busrpc itself has
 * just made and not sent. */
int marshal_args_append_msg(DBusMessage *m, const busrpc_args *a, const void *values);
int marshal_args_read(busrpc_iter *it, const busrpc_args *a, void *values, busrpc_error *err);

/* The method dispatcher's path for a method with .op (object.c): read
 * .in, call .op, reply with .out. Returns what call_finish() expects. */
int marshal_dispatch(busrpc_call *call, const busrpc_method_desc *md, busrpc_iter *args, const void *ops,
                     void *self);
/* Property access through .get_op / .set_op (property.c): the same
 * contract as busrpc_prop_get_fn / busrpc_prop_set_fn. */
int marshal_prop_get(const busrpc_property_desc *p, busrpc_iter *value, const void *ops, void *self,
                     busrpc_error *err);
int marshal_prop_set(const busrpc_property_desc *p, busrpc_iter *value, const void *ops, void *self,
                     busrpc_error *err);

/* A property's getter and setter, whichever form the descriptor uses. */
static inline bool prop_can_get(const busrpc_property_desc *p) {
        return p->get || p->get_op;
}

static inline bool prop_can_set(const busrpc_property_desc *p) {
        return p->set || p->set_op;
}

static inline int prop_get(const busrpc_property_desc *p, busrpc_iter *value, const void *ops, void *self,
                           busrpc_error *err) {
        return p->get_op ? marshal_prop_get(p, value, ops, self, err) : p->get(value, ops, self, err);
}

static inline int prop_set(const busrpc_property_desc *p, busrpc_iter *value, const void *ops, void *self,
                           busrpc_error *err) {
        return p->set_op ? marshal_prop_set(p, value, ops, self, err) : p->set(value, ops, self, err);
}
