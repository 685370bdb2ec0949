/* parser.y: the IDL grammar of busrpc-idlc (pure bison parser).
 *
 * The parser builds the AST and nothing else: every semantic rule (names,
 * types, duplicates, D-Bus limits) lives in check.c. The only judgements
 * made here are the ones the AST cannot represent, such as an annotation
 * given the wrong number of arguments.
 *
 * Keywords are reserved only where the grammar needs them: any keyword
 * may be used as the name of a field, argument, member, enum value,
 * declaration or a component of a dotted name ("int32 error;",
 * "method map();"), and a type reference may be any keyword that is not a
 * basic type ("struct method {...}" is used as "method m;").
 *
 * Doc comments: the scanner records each slash-star-star comment with the
 * index of the token that follows it. Locations carry token indexes too
 * (first_tok, last_tok), so a declaration claims the last doc comment found
 * between its first token (its first annotation, or its keyword) and its
 * name; an earlier one there is ignored.
 */
%code requires {
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include "ast.h"

#ifndef YY_TYPEDEF_YY_SCANNER_T
#define YY_TYPEDEF_YY_SCANNER_T
typedef void *yyscan_t;
#endif

/* A location plus the index of its first and last token, for doc comments. */
typedef struct IdlYYLoc {
        int first_line;
        int first_column;
        int last_line;
        int last_column;
        int first_tok;
        int last_tok;
} IdlYYLoc;

/* A doc comment and the index of the token that follows it. */
typedef struct IdlLexDoc {
        int tok;
        char *text;
} IdlLexDoc;

/* A list being built: the items and how to free one. */
typedef struct IdlList {
        void **items;
        size_t n;
        void (*free_item)(void *item);
} IdlList;

/* State shared by the scanner and the parser for one file. */
typedef struct IdlLex {
        IdlFile *file;
        const char *text; /* the source, to cut doc comments from */
        size_t len;
        size_t off;       /* byte offset of the scanner */
        int line, col;    /* position of the scanner, from 1 */
        int tok;          /* tokens returned so far */
        int cur_line, cur_col;   /* last character of the last token */
        int prev_line, prev_col; /* and of the token before it */
        IdlYYLoc comment_loc;
        size_t comment_off;
        bool comment_doc;
        IdlLexDoc **docs;
        size_t n_docs;
        bool too_deep;    /* "nested too deeply" was reported */
        bool missing_semi; /* the last syntax error was a ';' missing at a line's end */
        jmp_buf fatal;    /* YY_FATAL_ERROR returns here instead of exit() */
} IdlLex;

/* Array nesting the parser accepts; D-Bus allows 32 (check.c). Maps are
 * bounded by the parser's stack (bison's "memory exhausted"). */
#define IDL_MAX_NESTING 256

typedef struct IdlLit {
        bool negative;
        uint64_t magnitude;
} IdlLit;
}

%code provides {
int yylex(YYSTYPE *yylval_param, YYLTYPE *yylloc_param, yyscan_t yyscanner);
void yyerror(YYLTYPE *loc, yyscan_t scanner, IdlLex *lx, const char *msg);
IdlLoc idl_lex_loc(const IdlLex *lx, int line, int col);
char *idl_lex_take_doc(IdlLex *lx, int first_tok, int last_tok);
}

%code {
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "diag.h"

#define YYLLOC_DEFAULT(Cur, Rhs, N)                                          \
        do {                                                                 \
                if (N) {                                                     \
                        (Cur).first_line = YYRHSLOC(Rhs, 1).first_line;      \
                        (Cur).first_column = YYRHSLOC(Rhs, 1).first_column;  \
                        (Cur).first_tok = YYRHSLOC(Rhs, 1).first_tok;        \
                        (Cur).last_line = YYRHSLOC(Rhs, N).last_line;        \
                        (Cur).last_column = YYRHSLOC(Rhs, N).last_column;    \
                        (Cur).last_tok = YYRHSLOC(Rhs, N).last_tok;          \
                } else {                                                     \
                        /* Empty: starts at the next token. */               \
                        (Cur).first_line = (Cur).last_line =                 \
                                YYRHSLOC(Rhs, 0).last_line;                  \
                        (Cur).first_column = (Cur).last_column =             \
                                YYRHSLOC(Rhs, 0).last_column;                \
                        (Cur).first_tok = YYRHSLOC(Rhs, 0).last_tok + 1;     \
                        (Cur).last_tok = YYRHSLOC(Rhs, 0).last_tok;          \
                }                                                            \
        } while (0)

#define LOC(l) idl_lex_loc(lx, (l).first_line, (l).first_column)

/* Token names in messages: bison keeps the double quotes of an alias that
 * holds an apostrophe; the aliases here need none of them. */
#define yytnamerr idl_yytnamerr
static ptrdiff_t idl_yytnamerr(char *res, const char *str) {
        size_t n = strlen(str);

        if (n >= 2 && str[0] == '"' && str[n - 1] == '"') {
                str++;
                n -= 2;
        }
        if (res) {
                memcpy(res, str, n);
                res[n] = '\0';
        }
        return (ptrdiff_t)n;
}

static IdlList *list_new(void (*free_item)(void *)) {
        IdlList *l = idl_xcalloc(1, sizeof(*l));
        l->free_item = free_item;
        return l;
}

static IdlList *list_push(IdlList *l, void *item) {
        IDL_PUSH(l->items, l->n, item);
        return l;
}

static void list_free(IdlList *l) {
        if (!l)
                return;
        for (size_t i = 0; i < l->n; i++)
                l->free_item(l->items[i]);
        free(l->items);
        free(l);
}

/* Move the items out of l (IDL_PUSH-compatible: capacity follows n). */
#define LIST_TAKE(l, dst, dst_n)                \
        do {                                    \
                (dst) = (void *)(l)->items;     \
                (dst_n) = (l)->n;               \
                free(l);                        \
        } while (0)

static void annot_free(void *p) {
        IdlAnnot *a = p;
        if (!a)
                return;
        free(a->name);
        free(a->value);
        free(a);
}

static void meta_free(IdlMeta *m) {
        idl_meta_clear(m);
        free(m);
}

static void field_free(void *p) { idl_field_free(p); }
static void member_free(void *p) { idl_member_free(p); }
static void str_free(void *p) { free(p); }

static void raise_free(void *p) {
        IdlRaise *r = p;
        if (!r)
                return;
        free(r->name);
        free(r);
}

static void value_free(void *p) {
        IdlEnumValue *v = p;
        if (!v)
                return;
        idl_meta_clear(&v->meta);
        free(v->name);
        free(v->c_name);
        free(v);
}

/* Move the annotations of *annots into dst, and set its location and doc:
 * the doc is the last doc comment between the node's first token and its
 * name. */
static void meta_init(IdlLex *lx, IdlMeta *dst, IdlMeta *annots, IdlYYLoc whole, IdlYYLoc name) {
        *dst = *annots;
        free(annots);
        dst->loc = idl_lex_loc(lx, name.first_line, name.first_column);
        free(dst->doc);
        dst->doc = idl_lex_take_doc(lx, whole.first_tok, name.last_tok);
}

static IdlDecl *decl_new(IdlLex *lx, IdlDeclKind kind, IdlMeta *annots, char *name,
                         IdlYYLoc whole, IdlYYLoc name_loc) {
        IdlDecl *d = idl_xcalloc(1, sizeof(*d));
        d->kind = kind;
        d->name = name;
        d->file = lx->file;
        meta_init(lx, &d->meta, annots, whole, name_loc);
        return d;
}

static IdlMember *member_new(IdlLex *lx, IdlMemberKind kind, IdlMeta *annots, char *name,
                             IdlYYLoc whole, IdlYYLoc name_loc) {
        IdlMember *m = idl_xcalloc(1, sizeof(*m));
        m->kind = kind;
        m->name = name;
        meta_init(lx, &m->meta, annots, whole, name_loc);
        return m;
}

static IdlField *field_new(IdlLex *lx, IdlMeta *annots, IdlType *type, char *name,
                           IdlYYLoc whole, IdlYYLoc name_loc) {
        IdlField *f = idl_xcalloc(1, sizeof(*f));
        f->name = name;
        f->type = type;
        meta_init(lx, &f->meta, annots, whole, name_loc);
        return f;
}

/* An argument's name is its D-Bus name; with @c_name("x") the C
 * parameter is x, and the name as written (any string: D-Bus puts no rule
 * on argument names) is kept in dbus_name. */
static IdlField *arg_new(IdlLex *lx, IdlMeta *annots, IdlType *type, char *name,
                         IdlYYLoc whole, IdlYYLoc name_loc) {
        IdlField *f = field_new(lx, annots, type, name, whole, name_loc);
        const IdlAnnot *cn = idl_meta_find_annot(&f->meta, IDL_A_C_NAME);

        if (cn && cn->value) {
                f->dbus_name = f->name;
                f->name = idl_xstrdup(cn->value);
        }
        return f;
}

/* Known annotations take a fixed number of string arguments; that is the
 * one thing the AST cannot hold, so it is judged here. */
static IdlAnnot *annot_new(IdlLex *lx, char *name, IdlList *args, IdlYYLoc loc) {
        static const struct {
                const char *name;
                IdlAnnotKind kind;
                size_t n_args;
        } known[] = {
                { "noreply", IDL_A_NOREPLY, 0 },
                { "deprecated", IDL_A_DEPRECATED, 0 },
                { "c_name", IDL_A_C_NAME, 1 },
                { "emits_changed", IDL_A_EMITS_CHANGED, 1 },
                { "annotation", IDL_A_DBUS, 2 },
                { "bus_name", IDL_A_BUS_NAME, 1 },
                { "exec", IDL_A_EXEC, 1 },
                { "systemd_service", IDL_A_SYSTEMD_SERVICE, 1 },
                { "user", IDL_A_USER, 1 },
                { "since", IDL_A_SINCE, 1 },
                { "max_size", IDL_A_MAX_SIZE, 1 },
        };
        IdlAnnot *a = idl_xcalloc(1, sizeof(*a));
        size_t want = 1, n = args ? args->n : 0;
        bool exact = false;

        a->kind = IDL_A_UNKNOWN;
        a->loc = LOC(loc);
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
                if (strcmp(name, known[i].name) == 0) {
                        a->kind = known[i].kind;
                        want = known[i].n_args;
                        exact = true;
                }
        }
        if (exact ? n != want : n > want) {
                if (want == 0)
                        idl_error(a->loc, "annotation '@%s' takes no arguments", name);
                else if (want == 1)
                        idl_error(a->loc, "annotation '@%s' takes %sone string argument",
                                  name, exact ? "" : "at most ");
                else
                        idl_error(a->loc, "annotation '@%s' takes %zu string arguments",
                                  name, want);
        }
        if (a->kind == IDL_A_DBUS) {
                free(name);
                a->name = n > 0 ? args->items[0] : idl_xstrdup("");
                a->value = n > 1 ? args->items[1] : NULL;
                for (size_t i = 2; i < n; i++)
                        free(args->items[i]);
        } else {
                a->name = name;
                a->value = n > 0 ? args->items[0] : NULL;
                for (size_t i = 1; i < n; i++)
                        free(args->items[i]);
        }
        if (args) {
                free(args->items);
                free(args);
        }
        return a;
}

/* Array nesting of t, counted up to IDL_MAX_NESTING. */
static int array_depth(const IdlType *t) {
        int n = 0;

        while (t && t->kind == IDL_T_ARRAY && n < IDL_MAX_NESTING) {
                t = t->elem;
                n++;
        }
        return n;
}

static IdlType *basic(IdlLex *lx, IdlTypeKind kind, IdlYYLoc loc) {
        return idl_type_new(kind, LOC(loc));
}
}

%define api.pure full
%define api.location.type {IdlYYLoc}
%define parse.error verbose
%locations
%expect 0
%param {yyscan_t scanner}
%parse-param {IdlLex *lx}

%union {
        char *str;
        const char *cstr;
        uint64_t num;
        IdlLit lit;
        IdlType *type;
        IdlField *field;
        IdlMeta *meta;
        IdlAnnot *annot;
        IdlList *list;
        IdlDecl *decl;
        IdlMember *member;
        IdlEnumValue *value;
        IdlAccess access;
}

%token <str> T_IDENT "identifier"
%token <str> T_STRING "string literal"
%token <num> T_INT "integer literal"
%token T_ARROW "'->'"
%token K_MODULE "'module'" K_IMPORT "'import'" K_STRUCT "'struct'" K_ENUM "'enum'" K_FLAGS "'flags'"
%token K_TYPEDEF "'typedef'" K_INTERFACE "'interface'" K_METHOD "'method'" K_SIGNAL "'signal'"
%token K_PROPERTY "'property'" K_ERROR "'error'" K_RAISES "'raises'" K_READONLY "'readonly'"
%token K_READWRITE "'readwrite'" K_WRITEONLY "'writeonly'" K_MAP "'map'"
%token K_BOOL "'bool'" K_BYTE "'byte'" K_INT16 "'int16'" K_UINT16 "'uint16'" K_INT32 "'int32'"
%token K_UINT32 "'uint32'" K_INT64 "'int64'" K_UINT64 "'uint64'" K_DOUBLE "'double'"
%token K_STRING "'string'" K_OBJPATH "'objpath'" K_SIGNATURE "'signature'"
%token K_VARIANT "'variant'" K_FD "'fd'" K_SHM "'shm'"

%type <str> name dotted
%type <cstr> keyword soft_keyword
%type <lit> int_lit
%type <type> type enum_base
%type <field> field arg
%type <meta> annots
%type <annot> annot
%type <list> annot_args string_list fields args args_opt outputs raises raise_list
%type <list> enum_values enum_list members
%type <decl> decl
%type <member> member
%type <value> enum_value
%type <access> access

%destructor { free($$); } <str>
%destructor { idl_type_free($$); } <type>
%destructor { idl_field_free($$); } <field>
%destructor { meta_free($$); } <meta>
%destructor { annot_free($$); } <annot>
%destructor { list_free($$); } <list>
%destructor { idl_decl_free($$); } <decl>
%destructor { idl_member_free($$); } <member>
%destructor { value_free($$); } <value>

%%

file: module_opt items
    ;

module_opt:
      %empty
    | K_MODULE name ';' {
                free(lx->file->module);
                lx->file->module = $2;
                lx->file->module_loc = LOC(@2);
        }
    | K_MODULE error ';'
    ;

items:
      %empty
    | items item
    ;

item:
      K_IMPORT T_STRING semi {
                IdlImport *imp = idl_xcalloc(1, sizeof(*imp));
                imp->path = $2;
                imp->loc = LOC(@2);
                IDL_PUSH(lx->file->imports, lx->file->n_imports, imp);
        }
    | decl semi_opt {
                if ($1) /* NULL: a header with a syntax error */
                        IDL_PUSH(lx->file->decls, lx->file->n_decls, $1);
        }
    | error ';' { yyerrok; }
    | error '}' { yyerrok; }
    ;

semi_opt: %empty | ';' ;

/* Error recovery: an error in the header of a struct, enum, flags or
 * interface skips to its '{', and its body is read as usual. A ';'
 * missing at the end of a line (yyerror says so) is taken as there, and
 * parsing goes on from the next token at once, so the
 * next error is reported where it is. After any other error in a field or
 * member the parser skips to its ';' (fields, members) or to the '}' that
 * ends the struct or interface, and reports nothing more until three
 * tokens have been read: no error on a valid line. */
semi:
      ';'
    | error {
                if (lx->missing_semi)
                        yyerrok;
                lx->missing_semi = false;
        }
    ;

decl:
      annots K_STRUCT name '{' fields '}' {
                $$ = decl_new(lx, IDL_D_STRUCT, $1, $3, @$, @3);
                LIST_TAKE($5, $$->fields, $$->n_fields);
        }
    | annots K_ENUM name enum_base '{' error '}' {
                $$ = decl_new(lx, IDL_D_ENUM, $1, $3, @$, @3);
                $$->base = $4;
                yyerrok;
        }
    | annots K_FLAGS name enum_base '{' error '}' {
                $$ = decl_new(lx, IDL_D_FLAGS, $1, $3, @$, @3);
                $$->base = $4;
                yyerrok;
        }
    | annots K_STRUCT error '{' fields '}' { meta_free($1); list_free($5); $$ = NULL; }
    | annots K_ENUM error '{' enum_values '}' { meta_free($1); list_free($5); $$ = NULL; }
    | annots K_FLAGS error '{' enum_values '}' { meta_free($1); list_free($5); $$ = NULL; }
    | annots K_INTERFACE error '{' members '}' { meta_free($1); list_free($5); $$ = NULL; }
    | annots K_STRUCT name '{' fields error '}' {
                $$ = decl_new(lx, IDL_D_STRUCT, $1, $3, @$, @3);
                LIST_TAKE($5, $$->fields, $$->n_fields);
                yyerrok;
        }
    | annots K_ENUM name enum_base '{' enum_values '}' {
                $$ = decl_new(lx, IDL_D_ENUM, $1, $3, @$, @3);
                $$->base = $4 ? $4 : basic(lx, IDL_T_UINT32, @3);
                LIST_TAKE($6, $$->values, $$->n_values);
        }
    | annots K_FLAGS name enum_base '{' enum_values '}' {
                $$ = decl_new(lx, IDL_D_FLAGS, $1, $3, @$, @3);
                $$->base = $4 ? $4 : basic(lx, IDL_T_UINT32, @3);
                LIST_TAKE($6, $$->values, $$->n_values);
        }
    | annots K_TYPEDEF type name semi {
                $$ = decl_new(lx, IDL_D_TYPEDEF, $1, $4, @$, @4);
                $$->target = $3;
        }
    | annots K_INTERFACE dotted '{' members '}' {
                $$ = decl_new(lx, IDL_D_INTERFACE, $1, $3, @$, @3);
                LIST_TAKE($5, $$->members, $$->n_members);
                for (size_t i = 0; i < $$->n_members; i++)
                        $$->members[i]->iface = $$;
        }
    | annots K_INTERFACE dotted '{' members error '}' {
                $$ = decl_new(lx, IDL_D_INTERFACE, $1, $3, @$, @3);
                LIST_TAKE($5, $$->members, $$->n_members);
                for (size_t i = 0; i < $$->n_members; i++)
                        $$->members[i]->iface = $$;
                yyerrok;
        }
    ;

fields:
      %empty { $$ = list_new(field_free); }
    | fields field { $$ = list_push($1, $2); }
    | fields error ';' { $$ = $1; yyerrok; }
    | fields error braces { $$ = $1; }
    ;

field: annots type name semi { $$ = field_new(lx, $1, $2, $3, @$, @3); }
    ;

enum_base:
      %empty { $$ = NULL; }
    | ':' type { $$ = $2; }
    ;

enum_values:
      %empty { $$ = list_new(value_free); }
    | enum_list
    | enum_list ','
    ;

enum_list:
      enum_value { $$ = list_push(list_new(value_free), $1); }
    | enum_list ',' enum_value { $$ = list_push($1, $3); }
    ;

enum_value:
      annots name {
                $$ = idl_xcalloc(1, sizeof(*$$));
                $$->name = $2;
                meta_init(lx, &$$->meta, $1, @$, @2);
        }
    | annots name '=' int_lit {
                $$ = idl_xcalloc(1, sizeof(*$$));
                $$->name = $2;
                $$->has_value = true;
                $$->negative = $4.negative;
                $$->magnitude = $4.magnitude;
                meta_init(lx, &$$->meta, $1, @$, @2);
        }
    ;

int_lit:
      T_INT { $$.negative = false; $$.magnitude = $1; }
    | '-' T_INT { $$.negative = true; $$.magnitude = $2; }
    ;

members:
      %empty { $$ = list_new(member_free); }
    | members member { $$ = list_push($1, $2); }
    | members error ';' { $$ = $1; yyerrok; }
    | members error braces { $$ = $1; }
    ;

member:
      annots K_METHOD name '(' args_opt ')' outputs raises semi {
                $$ = member_new(lx, IDL_M_METHOD, $1, $3, @$, @3);
                LIST_TAKE($5, $$->in, $$->n_in);
                LIST_TAKE($7, $$->out, $$->n_out);
                LIST_TAKE($8, $$->raises, $$->n_raises);
        }
    | annots K_SIGNAL name '(' args_opt ')' semi {
                $$ = member_new(lx, IDL_M_SIGNAL, $1, $3, @$, @3);
                LIST_TAKE($5, $$->in, $$->n_in);
        }
    | annots K_PROPERTY type name access semi {
                $$ = member_new(lx, IDL_M_PROPERTY, $1, $4, @$, @4);
                $$->type = $3;
                $$->access = $5;
        }
    | annots K_ERROR name semi {
                $$ = member_new(lx, IDL_M_ERROR, $1, $3, @$, @3);
        }
    ;

access:
      K_READONLY { $$ = IDL_ACCESS_READ; }
    | K_READWRITE { $$ = IDL_ACCESS_READWRITE; }
    | K_WRITEONLY { $$ = IDL_ACCESS_WRITE; }
    ;

args_opt:
      %empty { $$ = list_new(field_free); }
    | args
    ;

args:
      arg { $$ = list_push(list_new(field_free), $1); }
    | args ',' arg { $$ = list_push($1, $3); }
    ;

arg:
      annots type name { $$ = arg_new(lx, $1, $2, $3, @$, @3); }
    | annots type T_STRING { $$ = arg_new(lx, $1, $2, $3, @$, @3); }
    ;

outputs:
      %empty { $$ = list_new(field_free); }
    | T_ARROW '(' args_opt ')' { $$ = $3; }
    ;

raises:
      %empty { $$ = list_new(raise_free); }
    | K_RAISES '(' raise_list ')' { $$ = $3; }
    ;

raise_list:
      dotted {
                IdlRaise *r = idl_xcalloc(1, sizeof(*r));
                r->name = $1;
                r->loc = LOC(@1);
                $$ = list_push(list_new(raise_free), r);
        }
    | raise_list ',' dotted {
                IdlRaise *r = idl_xcalloc(1, sizeof(*r));
                r->name = $3;
                r->loc = LOC(@3);
                $$ = list_push($1, r);
        }
    ;

annots:
      %empty { $$ = idl_xcalloc(1, sizeof(IdlMeta)); }
    | annots annot { $$ = $1; IDL_PUSH($$->annots, $$->n_annots, $2); }
    ;

annot:
      '@' name annot_args { $$ = annot_new(lx, $2, $3, @$); }
    ;

annot_args:
      %empty { $$ = NULL; }
    | '(' ')' { $$ = list_new(str_free); }
    | '(' string_list ')' { $$ = $2; }
    ;

string_list:
      T_STRING { $$ = list_push(list_new(str_free), $1); }
    | string_list ',' T_STRING { $$ = list_push($1, $3); }
    ;

type:
      K_BOOL { $$ = basic(lx, IDL_T_BOOL, @$); }
    | K_BYTE { $$ = basic(lx, IDL_T_BYTE, @$); }
    | K_INT16 { $$ = basic(lx, IDL_T_INT16, @$); }
    | K_UINT16 { $$ = basic(lx, IDL_T_UINT16, @$); }
    | K_INT32 { $$ = basic(lx, IDL_T_INT32, @$); }
    | K_UINT32 { $$ = basic(lx, IDL_T_UINT32, @$); }
    | K_INT64 { $$ = basic(lx, IDL_T_INT64, @$); }
    | K_UINT64 { $$ = basic(lx, IDL_T_UINT64, @$); }
    | K_DOUBLE { $$ = basic(lx, IDL_T_DOUBLE, @$); }
    | K_STRING { $$ = basic(lx, IDL_T_STRING, @$); }
    | K_OBJPATH { $$ = basic(lx, IDL_T_OBJPATH, @$); }
    | K_SIGNATURE { $$ = basic(lx, IDL_T_SIGNATURE, @$); }
    | K_VARIANT { $$ = basic(lx, IDL_T_VARIANT, @$); }
    | K_FD { $$ = basic(lx, IDL_T_FD, @$); }
    | K_SHM { $$ = basic(lx, IDL_T_SHM, @$); }
    | T_IDENT {
                $$ = basic(lx, IDL_T_NAMED, @$);
                $$->name = $1;
        }
    | soft_keyword {
                $$ = basic(lx, IDL_T_NAMED, @$);
                $$->name = idl_xstrdup($1);
        }
    | K_MAP '<' type ',' type '>' {
                $$ = basic(lx, IDL_T_MAP, @$);
                $$->key = $3;
                $$->elem = $5;
        }
    | type '[' ']' {
                if (array_depth($1) < IDL_MAX_NESTING) {
                        $$ = basic(lx, IDL_T_ARRAY, @$);
                        $$->elem = $1;
                } else {
                        /* Not a D-Bus limit (check.c reports that one): a
                         * bound that keeps every recursive walk of the tree
                         * safe from stack exhaustion. */
                        if (!lx->too_deep)
                                idl_error(LOC(@2), "type is nested too deeply (more than %d levels)",
                                          IDL_MAX_NESTING);
                        lx->too_deep = true;
                        $$ = $1;
                }
        }
    ;

dotted:
      name
    | dotted '.' name {
                $$ = idl_xasprintf("%s.%s", $1, $3);
                free($1);
                free($3);
        }
    ;

name:
      T_IDENT
    | keyword { $$ = idl_xstrdup($1); }
    ;

keyword:
      soft_keyword
    | K_BOOL { $$ = "bool"; }
    | K_BYTE { $$ = "byte"; }
    | K_INT16 { $$ = "int16"; }
    | K_UINT16 { $$ = "uint16"; }
    | K_INT32 { $$ = "int32"; }
    | K_UINT32 { $$ = "uint32"; }
    | K_INT64 { $$ = "int64"; }
    | K_UINT64 { $$ = "uint64"; }
    | K_DOUBLE { $$ = "double"; }
    | K_STRING { $$ = "string"; }
    | K_OBJPATH { $$ = "objpath"; }
    | K_SIGNATURE { $$ = "signature"; }
    | K_VARIANT { $$ = "variant"; }
    | K_FD { $$ = "fd"; }
    | K_SHM { $$ = "shm"; }
    ;

/* Keywords that are not types: a type reference may use them as names. */
soft_keyword:
      K_MODULE { $$ = "module"; }
    | K_IMPORT { $$ = "import"; }
    | K_STRUCT { $$ = "struct"; }
    | K_ENUM { $$ = "enum"; }
    | K_FLAGS { $$ = "flags"; }
    | K_TYPEDEF { $$ = "typedef"; }
    | K_INTERFACE { $$ = "interface"; }
    | K_METHOD { $$ = "method"; }
    | K_SIGNAL { $$ = "signal"; }
    | K_PROPERTY { $$ = "property"; }
    | K_ERROR { $$ = "error"; }
    | K_RAISES { $$ = "raises"; }
    | K_READONLY { $$ = "readonly"; }
    | K_READWRITE { $$ = "readwrite"; }
    | K_WRITEONLY { $$ = "writeonly"; }
    | K_MAP { $$ = "map"; }
    ;

/* A block in braces where a member or field should be ("method M{};")
 * is skipped whole: its '}' does not end the struct or interface. */
braces: '{' skipped '}' ;

skipped: %empty | skipped any_token | skipped braces ;

any_token:
      T_IDENT { free($1); }
    | T_STRING { free($1); }
    | T_INT | T_ARROW | keyword
    | '(' | ')' | '[' | ']' | '<' | '>' | ',' | ';' | '=' | '.' | '@' | ':' | '-'
    ;

%%

/* A missing ';' is reported where it is missing, as compilers do: after
 * the previous token, when the unexpected one starts a later line. */
void yyerror(YYLTYPE *loc, yyscan_t scanner, IdlLex *lx, const char *msg) {
        static const char unexpected[] = "syntax error, unexpected ";
        static const char semi[] = ", expecting ';'";
        size_t n = strlen(msg), u = sizeof(unexpected) - 1, e = sizeof(semi) - 1;

        (void)scanner;
        lx->missing_semi = false;
        if (lx->prev_line > 0 && loc->first_line > lx->prev_line && n > u + e &&
            strncmp(msg, unexpected, u) == 0 && strcmp(msg + n - e, semi) == 0) {
                idl_error(idl_lex_loc(lx, lx->prev_line, lx->prev_col + 1),
                          "syntax error, missing ';' before %.*s", (int)(n - u - e), msg + u);
                lx->missing_semi = true;
                return;
        }
        idl_error(idl_lex_loc(lx, loc->first_line, loc->first_column), "%s", msg);
}

IdlLoc idl_lex_loc(const IdlLex *lx, int line, int col) {
        return (IdlLoc){ lx->file->path, line, col };
}

char *idl_lex_take_doc(IdlLex *lx, int first_tok, int last_tok) {
        /* The closest one wins: scan from the last. */
        for (size_t i = lx->n_docs; i-- > 0;) {
                IdlLexDoc *d = lx->docs[i];
                if (d->text && d->tok >= first_tok && d->tok <= last_tok) {
                        char *text = d->text;
                        d->text = NULL;
                        return text;
                }
        }
        return NULL;
}
