/* marshal-types.h: hand-written type descriptors of every kind, as
 * generated code writes them (the shapes of tests/gen/idl/all-types.idl):
 * shared by tests/test-marshal.c and fuzz/fuzz-marshal.c. Static const
 * tables: each program that includes this has its own copy. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <busrpc/busrpc.h>

/* Not every program uses every table. */
#define MT_UNUSED __attribute__((unused))

/* ------------------------------------------------------------------ */
/* The types, as generated headers declare them                         */

typedef struct Basics {
        bool b;
        uint8_t y;
        int16_t n;
        uint16_t q;
        int32_t i;
        uint32_t u;
        int64_t x;
        uint64_t t;
        double d;
        char *s;
        char *o;
        char *g;
        busrpc_variant *v;
} Basics;

typedef struct Inner {
        int other;
        char *label;
} Inner;

typedef struct Handles {
        int file;
        busrpc_shm *blob;
        Inner inner;
} Handles;

typedef enum Small { SMALL_ZERO, SMALL_ONE, SMALL_TWO } Small;
typedef enum Signed { SIGNED_NEG = -3, SIGNED_MINUS_ONE = -1, SIGNED_ZERO = 0, SIGNED_POS = 0x7fff } Signed;
typedef uint64_t Huge; /* enum Huge : uint64 { LOW = 1, HIGH = 0xffffffffffffffff } */
typedef int64_t Far;   /* enum Far : int64 { MIN = INT64_MIN, FIVE = 5 } */
typedef enum Bits { BITS_A = 0x1, BITS_B = 0x2, BITS_C = 0x8000 } Bits;
typedef enum Wide { WIDE_LOW = 1, WIDE_TOP = 0x80000000u } Wide;

typedef struct I32Array {
        int32_t *items;
        size_t n;
} I32Array;
typedef struct DArray {
        double *items;
        size_t n;
} DArray;
typedef struct BoolArray {
        bool *items;
        size_t n;
} BoolArray;
typedef struct StrArray {
        char **items;
        size_t n;
} StrArray;
typedef struct FdArray {
        int *items;
        size_t n;
} FdArray;
typedef struct SmallArray {
        Small *items;
        size_t n;
} SmallArray;
typedef struct BasicsArray {
        Basics *items;
        size_t n;
} BasicsArray;
typedef struct Grid {
        BasicsArray *items;
        size_t n;
} Grid;
typedef struct SIMap {
        char **keys;
        int32_t *values;
        size_t n;
} SIMap;
typedef struct SIMapArray {
        SIMap *items;
        size_t n;
} SIMapArray;
typedef struct SVMap {
        char **keys;
        busrpc_variant **values;
        size_t n;
} SVMap;
typedef struct Deep {
        uint32_t *keys;
        SVMap *values;
        size_t n;
} Deep;
typedef struct ByEnum {
        Small *keys;
        Bits *values;
        size_t n;
} ByEnum;
typedef struct Tree { /* map<string, Basics[]> */
        char **keys;
        BasicsArray *values;
        size_t n;
} Tree;

typedef struct Nest {
        SIMapArray maps;
        Grid grid;
        Deep deep;
        SmallArray smalls;
        ByEnum by_enum;
        BoolArray flags_list;
        FdArray fds;
        DArray ds;
        I32Array ints;
} Nest;

typedef struct EnumSet {
        Small s;
        Signed g;
        Huge h;
        Bits b;
        Wide w;
        Far f;
} EnumSet;

/* ------------------------------------------------------------------ */
/* Their descriptors, as generated code writes them                      */

#define FIELD(t, st, f) { &(t), offsetof(st, f), #f }
#define ARRAY_T(var, sig, ctype, el)                                                               \
        static const busrpc_type MT_UNUSED var = { .kind = BUSRPC_KIND_ARRAY, .size = sizeof(ctype), .signature = sig, \
                                         .name = #ctype, .elem = &(el) }
#define MAP_T(var, sig, ctype, k, v)                                                               \
        static const busrpc_type MT_UNUSED var = { .kind = BUSRPC_KIND_MAP, .size = sizeof(ctype), .signature = sig, \
                                         .name = #ctype, .elem = &(k), .value = &(v) }

static const busrpc_field MT_UNUSED basics_fields[] = {
        FIELD(busrpc_type_bool, Basics, b),        FIELD(busrpc_type_byte, Basics, y),
        FIELD(busrpc_type_int16, Basics, n),       FIELD(busrpc_type_uint16, Basics, q),
        FIELD(busrpc_type_int32, Basics, i),       FIELD(busrpc_type_uint32, Basics, u),
        FIELD(busrpc_type_int64, Basics, x),       FIELD(busrpc_type_uint64, Basics, t),
        FIELD(busrpc_type_double, Basics, d),      FIELD(busrpc_type_string, Basics, s),
        FIELD(busrpc_type_objpath, Basics, o),     FIELD(busrpc_type_signature, Basics, g),
        FIELD(busrpc_type_variant, Basics, v),
};
static const busrpc_type MT_UNUSED basics_type = { .kind = BUSRPC_KIND_STRUCT, .size = sizeof(Basics),
                                         .signature = "(bynqiuxtdsogv)", .name = "test_basics",
                                         .fields = basics_fields, .n_fields = 13 };

static const busrpc_field MT_UNUSED inner_fields[] = { FIELD(busrpc_type_fd, Inner, other),
                                             FIELD(busrpc_type_string, Inner, label) };
static const busrpc_type MT_UNUSED inner_type = { .kind = BUSRPC_KIND_STRUCT, .size = sizeof(Inner), .signature = "(hs)",
                                        .name = "test_inner", .fields = inner_fields, .n_fields = 2 };
static const busrpc_field MT_UNUSED handles_fields[] = { FIELD(busrpc_type_fd, Handles, file),
                                               FIELD(busrpc_type_shm, Handles, blob),
                                               FIELD(inner_type, Handles, inner) };
static const busrpc_type MT_UNUSED handles_type = { .kind = BUSRPC_KIND_STRUCT, .size = sizeof(Handles),
                                          .signature = "(hh(hs))", .name = "test_handles",
                                          .fields = handles_fields, .n_fields = 3 };

static const uint64_t MT_UNUSED small_values[] = { 0, 1, 2 };
static const busrpc_type MT_UNUSED small_type = { .kind = BUSRPC_KIND_ENUM, .wire = 'y', .size = sizeof(Small),
                                        .signature = "y", .name = "test_small", .values = small_values,
                                        .n_values = 3 };
static const uint64_t MT_UNUSED signed_values[] = { (uint64_t)(int64_t)-3, (uint64_t)(int64_t)-1, 0, 0x7fff };
static const busrpc_type MT_UNUSED signed_type = { .kind = BUSRPC_KIND_ENUM, .wire = 'n', .size = sizeof(Signed),
                                         .signature = "n", .name = "test_signed", .values = signed_values,
                                         .n_values = 4 };
static const uint64_t MT_UNUSED huge_values[] = { 1, UINT64_MAX };
static const busrpc_type MT_UNUSED huge_type = { .kind = BUSRPC_KIND_ENUM, .wire = 't', .size = sizeof(Huge),
                                       .signature = "t", .name = "test_huge", .values = huge_values,
                                       .n_values = 2 };
static const uint64_t MT_UNUSED far_values[] = { (uint64_t)INT64_MIN, 5 };
static const busrpc_type MT_UNUSED far_type = { .kind = BUSRPC_KIND_ENUM, .wire = 'x', .size = sizeof(Far),
                                      .signature = "x", .name = "test_far", .values = far_values, .n_values = 2 };
static const busrpc_type MT_UNUSED bits_type = { .kind = BUSRPC_KIND_FLAGS, .wire = 'q', .size = sizeof(Bits),
                                       .signature = "q", .name = "test_bits", .mask = 0x8003 };
static const busrpc_type MT_UNUSED wide_type = { .kind = BUSRPC_KIND_FLAGS, .wire = 'u', .size = sizeof(Wide),
                                       .signature = "u", .name = "test_wide", .mask = 0x80000001u };

ARRAY_T(i32_array_type, "ai", I32Array, busrpc_type_int32);
ARRAY_T(d_array_type, "ad", DArray, busrpc_type_double);
ARRAY_T(bool_array_type, "ab", BoolArray, busrpc_type_bool);
ARRAY_T(str_array_type, "as", StrArray, busrpc_type_string);
ARRAY_T(fd_array_type, "ah", FdArray, busrpc_type_fd);
ARRAY_T(small_array_type, "ay", SmallArray, small_type);
ARRAY_T(basics_array_type, "a(bynqiuxtdsogv)", BasicsArray, basics_type);
ARRAY_T(grid_type, "aa(bynqiuxtdsogv)", Grid, basics_array_type);
MAP_T(si_map_type, "a{si}", SIMap, busrpc_type_string, busrpc_type_int32);
ARRAY_T(si_map_array_type, "aa{si}", SIMapArray, si_map_type);
MAP_T(sv_map_type, "a{sv}", SVMap, busrpc_type_string, busrpc_type_variant);
MAP_T(deep_type, "a{ua{sv}}", Deep, busrpc_type_uint32, sv_map_type);
MAP_T(by_enum_type, "a{yq}", ByEnum, small_type, bits_type);
MAP_T(tree_type, "a{sa(bynqiuxtdsogv)}", Tree, busrpc_type_string, basics_array_type);

static const busrpc_field MT_UNUSED nest_fields[] = {
        FIELD(si_map_array_type, Nest, maps), FIELD(grid_type, Nest, grid),
        FIELD(deep_type, Nest, deep),         FIELD(small_array_type, Nest, smalls),
        FIELD(by_enum_type, Nest, by_enum),   FIELD(bool_array_type, Nest, flags_list),
        FIELD(fd_array_type, Nest, fds),      FIELD(d_array_type, Nest, ds),
        FIELD(i32_array_type, Nest, ints),
};
static const busrpc_type MT_UNUSED nest_type = { .kind = BUSRPC_KIND_STRUCT, .size = sizeof(Nest),
                                       .signature = "(aa{si}aa(bynqiuxtdsogv)a{ua{sv}}aya{yq}abahadai)",
                                       .name = "test_nest", .fields = nest_fields, .n_fields = 9 };

static const busrpc_field MT_UNUSED enum_set_fields[] = {
        FIELD(small_type, EnumSet, s), FIELD(signed_type, EnumSet, g), FIELD(huge_type, EnumSet, h),
        FIELD(bits_type, EnumSet, b),  FIELD(wide_type, EnumSet, w),   FIELD(far_type, EnumSet, f),
};
static const busrpc_type MT_UNUSED enum_set_type = { .kind = BUSRPC_KIND_STRUCT, .size = sizeof(EnumSet),
                                           .signature = "(yntqux)", .name = "test_enum_set",
                                           .fields = enum_set_fields, .n_fields = 6 };

