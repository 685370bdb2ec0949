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

/* What the container type at @sig (@len bytes: 'a', '(' or '{' first)
 * holds, NUL-terminated in @out (WIRE_MAX_SIGNATURE + 1 bytes): an
 * array's element type, a struct's or dict entry's field types. */
static inline void wire_contents(const char *sig, size_t len, char *out) {
        size_t n = sig[0] == 'a' ? len - 1 : len - 2;

        memcpy(out, sig + 1, n);
        out[n] = '\0';
}
