/* gen-c.h: what the three C generators (gen-header.c, gen-client.c,
 * gen-server.c) share: the C view of the IDL types and the descriptors
 * that let the runtime's one marshaller move them.
 *
 * The C view (docs/generated-api.md is the user's side of it):
 *  - every distinct type used by the main file becomes one CType: basics,
 *    enums/flags, structs (also imported ones), arrays and maps. Typedefs
 *    are transparent: `typedef int32[] Numbers;` and `int32[]` are the
 *    same CType;
 *  - arrays and maps get a generated struct named after the module where
 *    the type is written: `int32[]` in module calc is calc_int32_array
 *    { int32_t *items; size_t n; }, `map<string, Point>` is
 *    calc_string_point_map { char **keys; calc_point *values; size_t n; };
 *  - the header of the module where a type is written defines its
 *    constant descriptor (busrpc__<name>, a static const busrpc_type), and
 *    per interface one struct per method direction and signal with its
 *    busrpc_args row; the .c files hold only thin typed wrappers, so
 *    nothing is emitted twice.
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
        int mark;                  /* topological sorts */
};

typedef struct GenC {
        const IdlUnit *u;
        const IdlFile *main;
        const char *module; /* the main module: prefix of its container names */
        FILE *out;          /* where genc_p() writes */
        CType **types;      /* every enum, struct and container, in discovery order */
        size_t n_types;
        CType *basics[IDL_T_SHM + 1];
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
/* How the caller releases an owned value: "free()", "calc_point_clear()",
 * or NULL when there is nothing to release. */
const char *genc_release(const CType *t);

/* Descriptors (gen-c-marshal.c). The runtime's one marshaller reads and
 * writes every value by its constant busrpc_type; the header defines them.
 *
 * genc_tref(): the descriptor expression of a value of type t declared
 * with meta (may be NULL) in file f: "&busrpc_type_int32" (basics),
 * "&busrpc__calc_point" (defined in the header of t's module), or
 * "&busrpc__calc_shm_65536" (a shm with @max_size, per module). Caller
 * frees. */
char *genc_tref(GenC *g, const CType *t, const IdlMeta *meta, const IdlFile *f);
/* The header's descriptors: the shm bounds of the main file, then every
 * local enum, flags, struct and container in dependency order. */
void genc_emit_descriptors(GenC *g);

/* Per interface, in the header: one struct per method direction and per
 * signal (the arguments by value), and one busrpc_args row for each.
 * genc_mstruct(): "busrpc__calculator_add__in" (dir "in" or "out"; a
 * signal's is "in"); genc_args_ref(): "&busrpc__calculator__args[3]",
 * the row of m's inputs or outputs; both: caller frees. genc_mfield():
 * the C member name of an argument in those structs. genc_has_args():
 * whether m has rows (methods: two, signals: one). */
char *genc_mstruct(const IdlDecl *iface, const IdlMember *m, const char *dir);
char *genc_args_ref(const IdlDecl *iface, const IdlMember *m, bool out);
const char *genc_mfield(const char *name);
bool genc_has_args(const IdlMember *m);
/* The C expression that puts an input argument (named as the definition
 * names it) into its struct member: "a", "*points", "(char *)s". Caller
 * frees. */
char *genc_in_value(GenC *g, const CType *t, const char *name);

/* Upper-case copy (caller frees). */
char *genc_upper(const char *s);
/* The interface's <interface> element, as busrpc-idlc --xml writes it, as
 * C string literal lines ("  <interface name=...>\n" ...) at indent. */
void genc_emit_xml_literal(GenC *g, const IdlDecl *iface, int indent);
/* Its length in bytes (ISO C99 promises string literals of 4095). */
size_t genc_xml_length(const GenC *g, const IdlDecl *iface);
/* A doc comment's text as " * " lines (nothing when doc is NULL). */
void genc_emit_doc_lines(GenC *g, const char *doc);
/* The interface-name macro: CALCULATOR_INTERFACE_NAME (caller frees). */
char *genc_iface_macro(const IdlDecl *iface);
/* The error-name macro: CALCULATOR_ERROR_DIVIDE_BY_ZERO (caller frees). */
char *genc_error_macro(const IdlDecl *iface, const IdlMember *err);
/* The property struct of an interface has a field per readable property. */
bool genc_has_readable(const IdlDecl *iface);
/* Whether a property member is readable / writable. */
bool genc_prop_readable(const IdlMember *m);
bool genc_prop_writable(const IdlMember *m);
/* The BUSRPC_PROP_EMITS_* flag of an @emits_changed value. */
const char *genc_emits_flag(IdlEmits e);
/* Whether notify_X is generated (for every property). */
bool genc_prop_notifies(const IdlMember *m);

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
/* X_export(busrpc_conn *c, ...), or with @server X_export_server(busrpc_server *s, ...) */
void genc_sig_export(GenC *g, const IdlDecl *iface, bool server);
void genc_sig_reply(GenC *g, const IdlDecl *iface, const IdlMember *m);
void genc_sig_emit(GenC *g, const IdlDecl *iface, const IdlMember *m);
void genc_sig_notify(GenC *g, const IdlDecl *iface, const IdlMember *m);
void genc_sig_error(GenC *g, const IdlDecl *iface, const IdlMember *m);

/* The client and server parts of an interface's section in the header
 * (gen-client.c, gen-server.c: next to the code they declare). */
void genc_header_client(GenC *g, const IdlDecl *iface);
void genc_header_server(GenC *g, const IdlDecl *iface);
/* gen-c-typed.c: the typed client of properties, errors and the
 * ObjectManager. Header: per interface after its client part
 * (props: the property table, changes, cache; errors: the error codes),
 * per module after its interfaces (om). Client file: their definitions. */
void genc_header_typed_props(GenC *g, const IdlDecl *iface);
void genc_header_typed_errors(GenC *g, const IdlDecl *iface);
/* The error-code enumerator: CALCULATOR_ERROR_CODE_DIVIDE_BY_ZERO (caller frees). */
char *genc_error_code(const IdlDecl *iface, const char *err_c_name);
void genc_header_typed_om(GenC *g);
void genc_client_typed_props(GenC *g, const IdlDecl *iface);
void genc_client_typed_errors(GenC *g, const IdlDecl *iface);
void genc_client_typed_om(GenC *g);
/* The #include lines of a generated .c file. */
void genc_c_preamble(GenC *g, const char *what);
