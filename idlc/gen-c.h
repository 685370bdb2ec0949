/* gen-c.h: what the three C generators (gen-header.c, gen-client.c,
 * gen-server.c) share: the C view of the IDL types and the code snippets
 * that move values in and out of messages.
 *
 * The C view (docs/generated-api.md is the user's side of it):
 *  - every distinct type used by the main file becomes one CType: basics,
 *    enums/flags, structs (also imported ones: the generated .c files need
 *    their marshalling code), arrays and maps. Typedefs are transparent:
 *    `typedef int32[] Numbers;` and `int32[]` are the same CType;
 *  - arrays and maps get a generated struct named after the module where
 *    the type is written: `int32[]` in module calc is calc_int32_array
 *    { int32_t *items; size_t n; }, `map<string, Point>` is
 *    calc_string_point_map { char **keys; calc_point *values; size_t n; };
 *  - each generated .c file gets static busrpc__append_X / busrpc__read_X
 *    helpers for exactly the types it moves, so nothing is unused and the
 *    client and server files link into one program without clashes.
 *
 * Reading contract of every busrpc__read_X(it, dest, err): dest is in its
 * empty state (see genc_init()); on failure it may be half filled but is
 * always consistent, so the caller's clear releases exactly what was read.
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include "ast.h"
#include "types.h"

typedef enum CTypeKind {
        CT_BASIC,
        CT_ENUM, /* enum or flags */
        CT_STRUCT,
        CT_ARRAY,
        CT_MAP,
} CTypeKind;

enum {
        GEN_NEED_APPEND = 1 << 0,
        GEN_NEED_READ = 1 << 1,
};

typedef struct CType CType;
struct CType {
        CTypeKind kind;
        char *name;                /* C type name: calc_point, calc_int32_array; NULL for basics */
        char *stem;                /* name part for container names: int32, point, geo_point */
        char *sig;                 /* D-Bus signature */
        const IdlBasicType *basic; /* CT_BASIC: the type; CT_ENUM: the base type */
        const IdlDecl *decl;       /* CT_ENUM, CT_STRUCT */
        CType *key;                /* CT_MAP */
        CType *elem;               /* CT_ARRAY, CT_MAP (the value) */
        CType **fields;            /* CT_STRUCT: one per decl->fields[i] */
        const IdlFile *file;       /* the module whose header defines it (NULL: basic) */
        bool owns;                 /* holds memory or fds: has a _clear */
        bool direct_fd;            /* CT_STRUCT: an fd outside any container (init sets -1) */
        bool c_enum;               /* CT_ENUM: a C enum (every value fits in int) */
        char *c_value, *c_in, *c_borrowed; /* spellings, see genc_value() */
        unsigned need;             /* GEN_NEED_*: helpers the current .c file needs */
        int mark;                  /* topological sorts */
};

/* Basic helpers a .c file may need; emitted only when used. */
enum {
        GEN_H_READ_BOOL = 1 << 0,
        GEN_H_READ_STRING = 1 << 1,
        GEN_H_READ_SHM = 1 << 2,
        GEN_H_VFAIL = 1 << 3,
        GEN_H_ENTER_VARIANT = 1 << 4,
        GEN_H_ASYNC = 1 << 5,
        GEN_H_SIGNAL = 1 << 6,
        GEN_H_FAIL_ARGS = 1 << 7,
};

typedef struct GenC {
        const IdlUnit *u;
        const IdlFile *main;
        const char *module; /* the main module: prefix of its container names */
        FILE *out;          /* where genc_p() writes */
        CType **types;      /* every enum, struct and container, in discovery order */
        size_t n_types;
        CType *basics[IDL_T_SHM + 1];
        unsigned helpers; /* GEN_H_* */
        FILE *saved;      /* the real output while capturing */
        char *cap_buf;
        size_t cap_len;
        bool def; /* printing definitions: the generator's own parameters are busrpc_* */
} GenC;

/* Collect the C view of u's main file. Never fails (aborts on OOM like the
 * rest of idlc). */
void genc_init(GenC *g, const IdlUnit *u, FILE *out);
void genc_free(GenC *g);

/* The CType of t as written in file ctx (the module naming containers). */
CType *genc_type(GenC *g, const IdlType *t, const IdlFile *ctx);
/* Whether t is defined in the main file's header. */
bool genc_is_local(const GenC *g, const CType *t);

/* printf to g->out. */
void genc_p(GenC *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* C spellings (static strings or g-owned; valid until genc_free):
 *  value: how it is stored (struct field, the pointee of an output)
 *  in:    an input argument of a client call, reply or emit: const char *,
 *         const calc_point *, busrpc_shm * (sending seals it)
 *  borrowed: a value lent to user code (op inputs, callbacks): const char *,
 *         busrpc_variant * (so it can be ref'd), const calc_point * */
const char *genc_value(const CType *t);
const char *genc_in(const CType *t);
const char *genc_borrowed(const CType *t);
/* "type name" with the '*' glued to the name when type ends in '*'. */
char *genc_decl(const char *type, const char *name);
/* Whether an argument of type t is passed as a pointer (structs, containers). */
bool genc_by_ptr(const CType *t);
/* An empty value, for an initializer: 0, NULL, -1; NULL for aggregates. */
const char *genc_zero(const CType *t);
/* How the caller releases an owned value: "free()", "calc_point_clear()",
 * or NULL when there is nothing to release. */
const char *genc_release(const CType *t);

/* Code. it: an expression of type busrpc_iter *; v: an lvalue of the stored
 * type, or (ptr true, aggregates only) a pointer to it; err: a busrpc_error *
 * expression. The call snippets are int expressions (free the result);
 * they mark the helpers they use as needed. */
char *genc_append(GenC *g, const CType *t, const char *it, const char *v, bool ptr);
char *genc_read(GenC *g, CType *t, const char *it, const char *dest_ptr, const char *err);
/* genc_read() of a value declared with meta (a parameter, field or
 * property): a shm carries its @max_size bound. */
char *genc_read_meta(GenC *g, CType *t, const IdlMeta *meta, const char *it, const char *dest_ptr,
                     const char *err);
/* Statements at indent (in tabs of 8 spaces) that empty / release lv. */
void genc_init_stmt(GenC *g, const CType *t, const char *lv, int indent);
void genc_clear_stmt(GenC *g, const CType *t, const char *lv, int indent);

/* The static helpers marked as needed: prototypes and definitions. */
void genc_emit_helpers(GenC *g);

/* Upper-case copy (caller frees). */
char *genc_upper(const char *s);
/* The interface's <interface> element, as busrpc-idlc --xml writes it, as
 * C string literal lines ("  <interface name=...>\n" ...) at indent. */
void genc_emit_xml_literal(GenC *g, const IdlDecl *iface, int indent);
/* Its length in bytes (ISO C99 promises string literals of 4095). */
size_t genc_xml_length(const GenC *g, const IdlDecl *iface);
/* A doc comment's text as " * " lines (nothing when doc is NULL). */
void genc_emit_doc_lines(GenC *g, const char *doc);
/* Type code constant for a basic type: "BUSRPC_TYPE_INT32". */
const char *genc_type_const(const IdlBasicType *b);
/* The interface-name macro: CALCULATOR_INTERFACE_NAME (caller frees). */
char *genc_iface_macro(const IdlDecl *iface);
/* The error-name macro: CALCULATOR_ERROR_DIVIDE_BY_ZERO (caller frees). */
char *genc_error_macro(const IdlDecl *iface, const IdlMember *err);
/* The property struct of an interface has a field per readable property. */
bool genc_has_readable(const IdlDecl *iface);
/* Whether a property member is readable / writable. */
bool genc_prop_readable(const IdlMember *m);
bool genc_prop_writable(const IdlMember *m);
/* Whether notify_X is generated (for every property). */
bool genc_prop_notifies(const IdlMember *m);
/* Write to a memory buffer until genc_capture_end(), which restores the
 * real output and returns what was written (caller frees): lets a
 * generator write the bodies first and then the helpers they turned out to
 * need, before them. Returns NULL on failure. */
int genc_capture_begin(GenC *g);
char *genc_capture_end(GenC *g);

/* gen-c-sig.c: prototypes of the generated API, without ";" or " {". */
void genc_sig_proxy_new(GenC *g, const IdlDecl *iface);
void genc_sig_sync(GenC *g, const IdlDecl *iface, const IdlMember *m);
const char *genc_done_status(const IdlMember *m);
/* The name of the generator's own parameter name ("p", "err", "cb", "userdata",
 * "out", "call", "self", "o") in the functions of member m (NULL: none):
 * busrpc_<name> in definitions (g->def) and when an argument of m (or m
 * itself, a property) has that name; else name, as docs/generated-api.md
 * shows it. */
const char *genc_own(const GenC *g, const IdlMember *m, const char *name);
/* The C name of a user's argument or property in a definition: as written,
 * but busrpc_arg_<name> where it would hide what the body calls (free,
 * malloc, memset, errno...). Declarations show it as written, but for
 * errno (a macro). */
const char *genc_arg(const GenC *g, const char *name);
void genc_sig_done_typedef(GenC *g, const IdlDecl *iface, const IdlMember *m);
void genc_sig_async(GenC *g, const IdlDecl *iface, const IdlMember *m);
void genc_sig_get(GenC *g, const IdlDecl *iface, const IdlMember *m);
void genc_sig_set(GenC *g, const IdlDecl *iface, const IdlMember *m);
void genc_sig_get_all(GenC *g, const IdlDecl *iface);
void genc_sig_handler_typedef(GenC *g, const IdlDecl *iface, const IdlMember *m);
void genc_sig_on(GenC *g, const IdlDecl *iface, const IdlMember *m);
void genc_sig_op(GenC *g, const IdlDecl *iface, const IdlMember *m);
void genc_sig_op_get(GenC *g, const IdlDecl *iface, const IdlMember *m);
void genc_sig_op_set(GenC *g, const IdlDecl *iface, const IdlMember *m);
void genc_sig_export(GenC *g, const IdlDecl *iface);
void genc_sig_reply(GenC *g, const IdlDecl *iface, const IdlMember *m);
void genc_sig_emit(GenC *g, const IdlDecl *iface, const IdlMember *m);
void genc_sig_notify(GenC *g, const IdlDecl *iface, const IdlMember *m);
void genc_sig_error(GenC *g, const IdlDecl *iface, const IdlMember *m);

/* The client and server parts of an interface's section in the header
 * (gen-client.c, gen-server.c: next to the code they declare). */
void genc_header_client(GenC *g, const IdlDecl *iface);
void genc_header_server(GenC *g, const IdlDecl *iface);
/* #include lines and the shared static helpers of a generated .c file. */
void genc_c_preamble(GenC *g, const char *what);
