/* types.c: the basic-type table (see types.h). */
#include <stddef.h>
#include <string.h>
#include "types.h"

#define INT(k, n, s, dt, c, sgn, lo, hi) \
        { k, n, s, dt, c, c, true, sgn, true, true, false, false, lo, hi }

static const IdlBasicType basic_types[] = {
        { IDL_T_BOOL, "bool", 'b', "DBUS_TYPE_BOOLEAN", "bool", "bool",
          false, false, true, true, false, false, 0, 0 },
        INT(IDL_T_BYTE, "byte", 'y', "DBUS_TYPE_BYTE", "uint8_t", false, 0, UINT8_MAX),
        INT(IDL_T_INT16, "int16", 'n', "DBUS_TYPE_INT16", "int16_t", true, INT16_MIN, INT16_MAX),
        INT(IDL_T_UINT16, "uint16", 'q', "DBUS_TYPE_UINT16", "uint16_t", false, 0, UINT16_MAX),
        INT(IDL_T_INT32, "int32", 'i', "DBUS_TYPE_INT32", "int32_t", true, INT32_MIN, INT32_MAX),
        INT(IDL_T_UINT32, "uint32", 'u', "DBUS_TYPE_UINT32", "uint32_t", false, 0, UINT32_MAX),
        INT(IDL_T_INT64, "int64", 'x', "DBUS_TYPE_INT64", "int64_t", true, INT64_MIN, INT64_MAX),
        INT(IDL_T_UINT64, "uint64", 't', "DBUS_TYPE_UINT64", "uint64_t", false, 0, UINT64_MAX),
        { IDL_T_DOUBLE, "double", 'd', "DBUS_TYPE_DOUBLE", "double", "double",
          false, false, true, true, false, false, 0, 0 },
        { IDL_T_STRING, "string", 's', "DBUS_TYPE_STRING", "const char *", "char *",
          false, false, false, true, true, false, 0, 0 },
        { IDL_T_OBJPATH, "objpath", 'o', "DBUS_TYPE_OBJECT_PATH", "const char *", "char *",
          false, false, false, true, true, false, 0, 0 },
        { IDL_T_SIGNATURE, "signature", 'g', "DBUS_TYPE_SIGNATURE", "const char *", "char *",
          false, false, false, true, true, false, 0, 0 },
        { IDL_T_VARIANT, "variant", 'v', "DBUS_TYPE_VARIANT", "const busrpc_variant *",
          "busrpc_variant *", false, false, false, false, true, false, 0, 0 },
        { IDL_T_FD, "fd", 'h', "DBUS_TYPE_UNIX_FD", "int", "int",
          false, false, true, true, false, true, 0, 0 },
        { IDL_T_SHM, "shm", 'h', "DBUS_TYPE_UNIX_FD", "const busrpc_shm *", "busrpc_shm *",
          false, false, false, true, true, true, 0, 0 },
};

#define N_BASIC (sizeof(basic_types) / sizeof(basic_types[0]))

const IdlBasicType *idl_basic_type(IdlTypeKind kind) {
        for (size_t i = 0; i < N_BASIC; i++)
                if (basic_types[i].kind == kind)
                        return &basic_types[i];
        return NULL;
}

const IdlBasicType *idl_basic_type_by_name(const char *name) {
        if (!name)
                return NULL;
        for (size_t i = 0; i < N_BASIC; i++)
                if (strcmp(basic_types[i].idl_name, name) == 0)
                        return &basic_types[i];
        return NULL;
}

const IdlBasicType *idl_basic_type_by_sig(char sig) {
        for (size_t i = 0; i < N_BASIC; i++)
                if (basic_types[i].sig == sig)
                        return &basic_types[i]; /* 'h': fd comes before shm */
        return NULL;
}

bool idl_kind_is_basic(IdlTypeKind kind) {
        const IdlBasicType *b = idl_basic_type(kind);
        return b && b->is_basic;
}

bool idl_kind_is_integer(IdlTypeKind kind) {
        const IdlBasicType *b = idl_basic_type(kind);
        return b && b->is_integer;
}

bool idl_kind_is_fixed(IdlTypeKind kind) {
        const IdlBasicType *b = idl_basic_type(kind);
        return b && b->is_fixed;
}

bool idl_int_fits(IdlTypeKind kind, bool negative, uint64_t magnitude, int64_t *ret_value) {
        const IdlBasicType *b = idl_basic_type(kind);
        int64_t v;

        if (!b || !b->is_integer)
                return false;
        if (negative && magnitude != 0) {
                if (!b->is_signed)
                        return false;
                /* |min| as unsigned, without overflowing int64_t. */
                if (magnitude > (uint64_t)(-(b->min + 1)) + 1)
                        return false;
                v = magnitude == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)magnitude;
        } else {
                if (magnitude > b->max)
                        return false;
                v = (int64_t)magnitude;
        }
        if (ret_value)
                *ret_value = v;
        return true;
}

const char *idl_kind_name(IdlTypeKind kind) {
        const IdlBasicType *b = idl_basic_type(kind);

        if (b)
                return b->idl_name;
        switch (kind) {
        case IDL_T_ARRAY:
                return "array";
        case IDL_T_MAP:
                return "map";
        case IDL_T_NAMED:
                return "named";
        default:
                return "?";
        }
}
