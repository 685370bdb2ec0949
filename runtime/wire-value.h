/* wire-value.h: what the descriptor codec's two halves share
 * (wire-value-write.c, wire-value-read.c). Private to them.
 *
 * The C layouts, the integer helpers and init/clear of values are the one
 * marshaller's (marshal.h, busrpc_value_init()/busrpc_value_clear()), so
 * that the wire path and the libdbus path hold values the same way.
 */
#pragma once

#include "marshal.h"
#include "wire.h"

/* Bytes of a fixed-size wire value of type code @t. */
static inline uint32_t wire_size(char t) {
        return t == 'y' ? 1 : wire_align_of(t);
}

/* Kinds whose C layout is the wire layout: arrays of them are one copy. */
static inline bool wire_kind_fixed(int kind) {
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
 * value of an enum, or made of declared bits of a flags type? The rule of
 * marshal.c's libdbus path, kept identical so that both paths answer a
 * caller alike (the fast path's differential fuzzer holds them to it). */
static inline bool wire_enum_declared(const busrpc_type *t, uint64_t x) {
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

/* What the container type at @sig (@len bytes: 'a', '(' or '{' first)
 * holds, NUL-terminated in @out (WIRE_MAX_SIGNATURE + 1 bytes): an
 * array's element type, a struct's or dict entry's field types. */
static inline void wire_contents(const char *sig, size_t len, char *out) {
        size_t n = sig[0] == 'a' ? len - 1 : len - 2;

        memcpy(out, sig + 1, n);
        out[n] = '\0';
}
