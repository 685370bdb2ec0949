/* ast.h: the abstract syntax tree of busrpc-idlc.
 *
 * Both front ends build it (parser.y from IDL, xml-import.c from D-Bus
 * introspection XML); check.c resolves names and fills the fields marked
 * "set by check"; every generator (gen-*.c) reads a checked tree and never
 * changes it. All strings are heap-allocated and owned by the node holding
 * them; idl_unit_free() releases everything.
 *
 * Lists are arrays of pointers plus a count, grown with IDL_PUSH().
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct IdlFile IdlFile;
typedef struct IdlDecl IdlDecl;
typedef struct IdlMember IdlMember;

/* A position in a source file; line and col count from 1. file points into
 * the owning IdlFile's path and lives as long as the unit. */
typedef struct IdlLoc {
        const char *file;
        int line;
        int col;
} IdlLoc;

typedef enum IdlTypeKind {
        IDL_T_BOOL,
        IDL_T_BYTE,
        IDL_T_INT16,
        IDL_T_UINT16,
        IDL_T_INT32,
        IDL_T_UINT32,
        IDL_T_INT64,
        IDL_T_UINT64,
        IDL_T_DOUBLE,
        IDL_T_STRING,
        IDL_T_OBJPATH,
        IDL_T_SIGNATURE,
        IDL_T_VARIANT,
        IDL_T_FD,
        IDL_T_SHM,    /* a sealed memfd; "h" on the wire */
        IDL_T_ARRAY,  /* elem[] */
        IDL_T_MAP,    /* map<key, elem> */
        IDL_T_NAMED,  /* a struct, enum, flags or typedef, by name */
} IdlTypeKind;

typedef struct IdlType {
        IdlTypeKind kind;
        IdlLoc loc;
        struct IdlType *elem; /* IDL_T_ARRAY: element type; IDL_T_MAP: value type */
        struct IdlType *key;  /* IDL_T_MAP: key type */
        char *name;           /* IDL_T_NAMED: the name as written */
        IdlDecl *decl;        /* IDL_T_NAMED: set by check (borrowed) */
} IdlType;

typedef enum IdlAnnotKind {
        IDL_A_NOREPLY,       /* @noreply */
        IDL_A_DEPRECATED,    /* @deprecated */
        IDL_A_C_NAME,        /* @c_name("value") */
        IDL_A_EMITS_CHANGED, /* @emits_changed("true"|"false"|"invalidates"|"const") */
        IDL_A_DBUS,          /* @annotation("org.Some.Name", "value"): name is the D-Bus name */
        /* Deployment (interface only; gen-deploy.c): XML org.busrpc.BusName, .Exec, ... */
        IDL_A_BUS_NAME,        /* @bus_name("org.example.Calc"): the well-known name served */
        IDL_A_EXEC,            /* @exec("/usr/libexec/calc-service --flag"): absolute command */
        IDL_A_SYSTEMD_SERVICE, /* @systemd_service("calc.service"): the unit activating it */
        IDL_A_USER,            /* @user("calc"): the system user owning the name */
        IDL_A_SINCE,         /* @since("1.2"): the version that added it (compat.c) */
        IDL_A_MAX_SIZE,      /* @max_size("64M"): bound on a received shm (arg, field, property) */
        IDL_A_UNKNOWN,       /* any other @name(...): check warns and ignores it */
} IdlAnnotKind;

typedef struct IdlAnnot {
        IdlAnnotKind kind;
        char *name;  /* as written after '@', or the D-Bus annotation name for IDL_A_DBUS */
        char *value; /* NULL when the annotation has no argument */
        IdlLoc loc;
} IdlAnnot;

/* Doc comment, annotations and location: every declaration and member has them. */
typedef struct IdlMeta {
        IdlLoc loc;      /* of the name */
        char *doc;       /* text of the preceding slash-star-star comment, stripped; or NULL */
        IdlAnnot **annots;
        size_t n_annots;
} IdlMeta;

/* A struct field, or a method or signal argument. */
typedef struct IdlField {
        IdlMeta meta;
        char *name;      /* the C name (and, unless dbus_name says otherwise, the D-Bus one) */
        char *dbus_name; /* argument with @c_name: its D-Bus name as written; else NULL */
        IdlType *type;
} IdlField;

typedef struct IdlEnumValue {
        IdlMeta meta;
        char *name;
        bool has_value; /* false: previous value + 1 (or 0 for the first) */
        bool negative;  /* the literal was written with a leading '-' */
        uint64_t magnitude; /* absolute value of the literal as written */
        int64_t value;  /* set by check: the value, range-checked against the base type */
        char *c_name;   /* set by check: CALC_ROUNDING_NEAREST */
} IdlEnumValue;

typedef enum IdlAccess {
        IDL_ACCESS_READ,      /* readonly */
        IDL_ACCESS_READWRITE, /* readwrite */
        IDL_ACCESS_WRITE,     /* writeonly */
} IdlAccess;

typedef enum IdlEmits {
        IDL_EMITS_TRUE,        /* default: PropertiesChanged carries the new value */
        IDL_EMITS_INVALIDATES, /* PropertiesChanged names the property without a value */
        IDL_EMITS_CONST,       /* never changes */
        IDL_EMITS_FALSE,       /* changes without a signal */
} IdlEmits;

typedef enum IdlMemberKind {
        IDL_M_METHOD,
        IDL_M_SIGNAL,
        IDL_M_PROPERTY,
        IDL_M_ERROR,
} IdlMemberKind;

/* A name in a raises (...) list. */
typedef struct IdlRaise {
        char *name;
        IdlLoc loc;
        IdlMember *error; /* set by check: the IDL_M_ERROR member (borrowed) */
} IdlRaise;

struct IdlMember {
        IdlMemberKind kind;
        IdlMeta meta;
        char *name; /* D-Bus member name: Add, Overflowed, Name, DivideByZero */
        IdlDecl *iface; /* the interface holding it (borrowed) */

        /* IDL_M_METHOD: in and out; IDL_M_SIGNAL: in only. */
        IdlField **in;
        size_t n_in;
        IdlField **out;
        size_t n_out;
        IdlRaise **raises;
        size_t n_raises;

        /* IDL_M_PROPERTY */
        IdlType *type;
        IdlAccess access;

        /* Set by check. */
        char *c_name;     /* snake_case member part: add, divide, overflowed, name, divide_by_zero */
        char *dbus_error; /* IDL_M_ERROR: org.example.Calculator.Error.DivideByZero */
        char *in_sig;     /* METHOD/SIGNAL: concatenated input signature */
        char *out_sig;    /* METHOD: concatenated output signature */
        bool noreply;
        bool deprecated;
        IdlEmits emits;   /* PROPERTY */
};

typedef enum IdlDeclKind {
        IDL_D_STRUCT,
        IDL_D_ENUM,
        IDL_D_FLAGS,
        IDL_D_TYPEDEF,
        IDL_D_INTERFACE,
} IdlDeclKind;

struct IdlDecl {
        IdlDeclKind kind;
        IdlMeta meta;
        char *name;    /* Point, Rounding; for interfaces the dotted D-Bus name */
        IdlFile *file; /* the file declaring it (borrowed) */

        /* IDL_D_STRUCT */
        IdlField **fields;
        size_t n_fields;

        /* IDL_D_ENUM, IDL_D_FLAGS: base is an integer type (default uint32) */
        IdlType *base;
        IdlEnumValue **values;
        size_t n_values;

        /* IDL_D_TYPEDEF */
        IdlType *target;

        /* IDL_D_INTERFACE */
        IdlMember **members;
        size_t n_members;

        /* Set by check. */
        char *c_name;    /* calc_point, calc_rounding, or the interface's C name: calculator */
        char *signature; /* STRUCT "(ii)", ENUM/FLAGS the base's, TYPEDEF the target's */
        bool deprecated;
};

typedef struct IdlImport {
        char *path; /* as written */
        IdlLoc loc;
        IdlFile *file; /* the file it resolved to (borrowed; each file is read once) */
} IdlImport;

struct IdlFile {
        char *path;   /* as given on the command line or resolved through -I */
        char *module; /* module name; default: basename without extension */
        IdlLoc module_loc;
        bool from_xml;
        char *text;   /* the whole source, for diagnostics' source lines */
        size_t text_len;
        IdlImport **imports;
        size_t n_imports;
        IdlDecl **decls;
        size_t n_decls;
};

/* One compilation: the main file and every file it imports, each once.
 * files[0] is the main file; generators emit code for its declarations only
 * and refer to imported ones (the header includes "<module>.h"). */
typedef struct IdlUnit {
        IdlFile **files;
        size_t n_files;
        const char *const *include_dirs; /* -I, borrowed from main */
        size_t n_include_dirs;
} IdlUnit;

/* Append item to a (T **items, size_t n) list; aborts only on out-of-memory. */
#define IDL_PUSH(items, n, item) idl_push((void ***)&(items), &(n), (item))
void idl_push(void ***items, size_t *n, void *item);

void *idl_xmalloc(size_t size);
void *idl_xcalloc(size_t n, size_t size);
char *idl_xstrdup(const char *s);
char *idl_xstrndup(const char *s, size_t n);
char *idl_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

IdlType *idl_type_new(IdlTypeKind kind, IdlLoc loc);
void idl_type_free(IdlType *t);
void idl_meta_clear(IdlMeta *m);
void idl_field_free(IdlField *f);
void idl_member_free(IdlMember *m);
void idl_decl_free(IdlDecl *d);
void idl_file_free(IdlFile *f);
void idl_unit_free(IdlUnit *u);

/* Lookups in a checked unit. */
const IdlAnnot *idl_meta_find_annot(const IdlMeta *m, IdlAnnotKind kind);
/* Follow typedefs: the type a NAMED type finally denotes (itself otherwise). */
const IdlType *idl_type_resolve(const IdlType *t);
/* The declaration behind a resolved NAMED type, typedefs followed, or NULL. */
const IdlDecl *idl_type_decl(const IdlType *t);
/* D-Bus signature of a checked type; caller frees. */
char *idl_type_signature(const IdlType *t);
