/* xml-sig.h: D-Bus signatures (and org.busrpc.Type values) to AST types,
 * for xml-import.c only. Types are built once the whole document is read
 * (xml-import.c records an XmlDeferred per arg and property), because an
 * org.busrpc.Type annotation comes after its element and generated struct
 * names must not collide with types declared anywhere in the file. */
#pragma once

#include <stdbool.h>
#include "ast.h"

#define XML_MAX_SIG 255

/* The types of one XML file: declared ones (org.busrpc.Declaration) and
 * the structs generated for signatures. All lists are owned. */
typedef struct XmlTypes {
        IdlFile *f;           /* the file being read: generated structs are its */
        IdlDecl **types;      /* declared types */
        char **type_src;      /* their IDL text, to tell repeats from conflicts */
        size_t n_types;
        IdlDecl **gen;        /* generated structs */
        char **gen_sig;       /* their signatures */
        size_t n_gen, n_gen_sig;
        bool dry;             /* validating a signature only: build no struct */
} XmlTypes;

/* A type to build once the document is read. */
typedef struct XmlDeferred {
        IdlType **slot;
        char *sig;      /* the type attribute */
        char *idl;      /* org.busrpc.Type value, or NULL */
        char *base;     /* name of a generated struct: MemberArg */
        IdlLoc loc;     /* the element's */
} XmlDeferred;

/* Build df's type into *df->slot (NULL after an error, reported at
 * df->loc), generating structs into t as needed. */
void xml_resolve_deferred(XmlTypes *t, XmlDeferred *df);

/* The declaration named name in v[0..n), or NULL. */
IdlDecl *xml_find_decl(IdlDecl **v, size_t n, const char *name);
/* Skip blanks at *p. */
void xml_skip_ws(const char **p);
/* PascalCase of a D-Bus name, for generated struct names ("my-arg": MyArg);
 * caller frees. */
char *xml_pascal(const char *s);
