/* check-internal.h: what check.c, check-types.c and check-names.c share.
 * Not used outside the checker. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include "ast.h"

/* A string-keyed hash table of borrowed pointers (keys are borrowed too). */
typedef struct CheckTab {
        const char **keys;
        void **vals;
        size_t cap, n;
} CheckTab;

void *check_tab_get(const CheckTab *t, const char *key);
/* Insert key -> val unless key is present; returns the value already there
 * (and inserts nothing), or NULL when val was inserted. */
void *check_tab_put(CheckTab *t, const char *key, void *val);
void check_tab_clear(CheckTab *t);

/* What the checker knows about one declaration beyond the AST. */
typedef struct DeclInfo {
        int visit;     /* cycle search: 0 new, 1 on the stack, 2 done */
        bool cyclic;   /* part of a type cycle: reported, no signature */
        bool sig_done; /* signature computed (or failed) */
        bool poisoned; /* an error was reported inside: do not report again */
        int adepth;    /* array nesting of its signature */
        int sdepth;    /* struct nesting of its signature */
} DeclInfo;

typedef struct CheckCtx {
        IdlUnit *u;
        CheckTab types;  /* name -> IdlDecl*: structs, enums, flags, typedefs, interfaces */
        CheckTab infos;  /* "%p" of a decl -> DeclInfo* (owned) */
        IdlDecl **decls; /* every declaration of every file, in order */
        size_t n_decls;
} CheckCtx;

DeclInfo *check_info(CheckCtx *c, const IdlDecl *d);

/* A location for a diagnostic: fallback fills what l lacks (XML nodes). */
IdlLoc check_loc(IdlLoc l, const IdlFile *f);
/* s, or "" for NULL: for messages about nameless XML nodes. */
const char *check_str(const char *s);
/* Free *slot and store s (owned) there: check may run twice on a unit. */
void check_set(char **slot, char *s);

const char *check_decl_kind(IdlDeclKind k);   /* "struct", "enum", ... */
const char *check_member_kind(IdlMemberKind k); /* "method", ... */

/* check.c: follow typedefs safely (stops on cycles). */
const IdlType *check_resolve(CheckCtx *c, const IdlType *t);
/* Call fn on every type written in a declaration (fields, enum base,
 * typedef target, arguments, property types), with the declaring file. */
typedef void CheckTypeFn(CheckCtx *c, IdlType *t, const IdlFile *f, void *ud);
void check_each_type(CheckCtx *c, CheckTypeFn *fn, void *ud);

/* check-types.c: cycles, map keys, signatures, nesting, lengths. */
void check_cycles(CheckCtx *c);
/* The type as written in IDL ("map<string, Point[]>"); caller frees. */
char *check_type_str(const IdlType *t);
void check_signatures(CheckCtx *c);

/* check-names.c: D-Bus names, C identifiers, C names and their collisions. */
bool check_is_c_ident(const char *s);
/* "C" or "C++" when s is a keyword of that language, else NULL. */
const char *check_c_keyword(const char *s);
bool check_is_reserved_param(const char *s);
char *check_snake(const char *name);
void check_dbus_names(CheckCtx *c);
void check_c_names(CheckCtx *c);

/* check-deploy.c: @bus_name, @exec, @systemd_service, @user: their values,
 * and that the interfaces of one file agree on them. */
void check_deploy(CheckCtx *c);
