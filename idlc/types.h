/* types.h: the table of busrpc IDL basic types.
 *
 * One row per basic IdlTypeKind (bool .. shm): its IDL spelling, its D-Bus
 * signature character, the C types the generators use for it, and the
 * properties the checks need (integer ranges, D-Bus "basic" and "fixed").
 * The parser looks keywords up here, check.c judges types with it, and
 * every generator takes its C spellings from it, so the three never
 * disagree. Containers (IDL_T_ARRAY, IDL_T_MAP) and IDL_T_NAMED have no row.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include "ast.h"

typedef struct IdlBasicType {
        IdlTypeKind kind;
        const char *idl_name;  /* "int32": the IDL keyword */
        char sig;              /* 'i': the D-Bus type code */
        const char *dbus_type; /* "DBUS_TYPE_INT32": the libdbus constant */
        /* C spelling of an input argument: "int32_t", "const char *",
         * "const busrpc_variant *". */
        const char *c_in;
        /* C spelling of the stored value (struct field, and the pointee of
         * an output argument): "int32_t", "char *", "busrpc_variant *". */
        const char *c_out;
        bool is_integer; /* byte, int16 .. uint64: allowed as enum/flags base */
        bool is_signed;  /* integer with negative values */
        bool is_fixed;   /* D-Bus fixed-size type (ybnqiuxtdh): may be a fixed array */
        bool is_basic;   /* D-Bus basic type: everything but variant */
        bool owns_memory; /* the C value must be freed (string, objpath, signature, variant, shm) */
        bool is_fd;      /* carried as a unix fd: fd, shm */
        int64_t min;     /* integers: smallest value */
        uint64_t max;    /* integers: largest value */
} IdlBasicType;

/* The row of a basic kind, or NULL for IDL_T_ARRAY, IDL_T_MAP, IDL_T_NAMED
 * and out-of-range values. */
const IdlBasicType *idl_basic_type(IdlTypeKind kind);

/* The row whose IDL keyword is name ("uint64"), or NULL. */
const IdlBasicType *idl_basic_type_by_name(const char *name);

/* The row for a D-Bus type code ('t'), or NULL. 'h' gives fd, never shm. */
const IdlBasicType *idl_basic_type_by_sig(char sig);

/* Predicates on a kind; all false for containers and IDL_T_NAMED. */
bool idl_kind_is_basic(IdlTypeKind kind);
bool idl_kind_is_integer(IdlTypeKind kind);
bool idl_kind_is_fixed(IdlTypeKind kind);

/* Whether the literal written as [-]magnitude fits the integer kind.
 * False for non-integer kinds. On true, *ret_value (may be NULL) gets the
 * value as int64_t (uint64 values above INT64_MAX wrap, as C converts them). */
bool idl_int_fits(IdlTypeKind kind, bool negative, uint64_t magnitude, int64_t *ret_value);

/* A printable IDL spelling for any kind ("int32", "array", "map", "named"). */
const char *idl_kind_name(IdlTypeKind kind);
