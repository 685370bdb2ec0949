/* compat-internal.h: what compat.c (reporting, members, interfaces,
 * @since) and compat-types.c (types, lists, flows) share. */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include "compat.h"
#include "diag.h"

typedef enum Kind {
        K_WIRE,   /* breaks peers on the D-Bus wire */
        K_SOURCE, /* same wire, different generated C */
        K_UNUSED, /* a type no member uses: only its C changes */
        K_CHANGE, /* compatible change to an existing member */
        K_ADD,    /* compatible addition */
} Kind;

enum { WHO_CLIENTS = 1, WHO_SERVICES = 2, WHO_BOTH = 3 };
enum { FLOW_TO_SERVICE = 1, FLOW_TO_CLIENT = 2 };

typedef struct Flow {
        const char *name; /* a type's IDL name (borrowed) */
        int flow;
} Flow;

typedef struct Cmp {
        const IdlUnit *ou, *nu;
        const IdlFile *of, *nf; /* the main files */
        IdlCompatLevel level;
        int breaking;
        bool module_renamed;
        const char *newest; /* the newest @since in OLD, or NULL */
        IdlLoc newest_loc;
        Flow *flows;
        size_t n_flows;
} Cmp;

typedef struct List {
        const char *owner;      /* "method 'Add'", "struct 'Point'" */
        const char *noun;       /* "argument", "output", "field" */
        IdlLoc old_loc, new_loc; /* the owners' */
        const IdlFile *of, *nf;
        Kind wire;              /* kind of a signature change: K_WIRE or K_UNUSED */
        int who;
} List;

typedef enum Diff { D_SAME, D_SOURCE, D_WIRE } Diff;

#define NOTE(...) idl_xasprintf(__VA_ARGS__)
#define NO_LOC ((IdlLoc){ NULL, 0, 0 })

/* compat.c */
/* l with its file filled in from f and a line and column of at least 1. */
IdlLoc compat_at(IdlLoc l, const IdlFile *f);
/* Report one change at loc (NEW), with note (owned, may be NULL) at old_loc
 * (OLD); the level makes it an error, a warning or a note. */
void compat_change(Cmp *c, Kind k, int who, IdlLoc loc, IdlLoc old_loc, char *note, const char *fmt, ...)
        __attribute__((format(printf, 7, 8)));
const char *compat_field_name(const IdlField *f); /* the D-Bus name */
const char *compat_decl_kind(IdlDeclKind k);      /* "struct" */
bool compat_has_c_name_annot(const IdlMeta *m);
void compat_cmp_c_name(Cmp *c, const char *what, const char *owhat, const IdlMeta *om, const char *oc,
                       const IdlMeta *nm, const char *nc, IdlLoc loc, IdlLoc old_loc, bool module_dependent);
void compat_cmp_deprecated(Cmp *c, const char *what, const char *owhat, bool o, bool n, IdlLoc loc,
                           IdlLoc old_loc);
void compat_since_kept(Cmp *c, const IdlMeta *om, const IdlMeta *nm, IdlLoc loc, const IdlFile *of,
                       const char *what);

/* compat-types.c */
void compat_flow_file(Cmp *c, const IdlFile *f); /* record where f's interfaces send each type */
int compat_flow_of(Cmp *c, const char *name);   /* FLOW_* bits of a type, by name */
Diff compat_type_diff(const IdlType *o, const IdlType *n);
char *compat_retype_text(const IdlType *o, const IdlType *n, Diff d); /* "from 'a' to 'b'"; caller frees */
size_t compat_find_field(IdlField *const *v, size_t n, const char *name); /* index or SIZE_MAX */
void compat_cmp_list(Cmp *c, const List *l, IdlField *const *o, size_t no, IdlField *const *n, size_t nn);
void compat_cmp_type_decl(Cmp *c, const IdlDecl *o, const IdlDecl *n);
