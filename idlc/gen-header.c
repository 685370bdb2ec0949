/* gen-header.c: <module>.h, the C API of one IDL file.
 *
 * Layout: types (forward declarations, enums, containers, structs in
 * dependency order, typedefs), their constant descriptors
 * (gen-c-marshal.c) and static inline _init/_clear/_free over them, then
 * per interface the argument structs and their busrpc_args table, the
 * client API and the server API. Everything that both calc-client.c and
 * calc-server.c need is here, static inline or static const, so one
 * program may link both files and nothing is emitted twice.
 * docs/generated-api.md explains the result (section 9: the internals).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "gen-c.h"
#include "gen.h"
#include "compat.h"

/* ---- enums and flags ---- */

/* A C literal for an enumerator of base b. */
static char *enum_literal(const IdlBasicType *b, int64_t v, bool hex) {
        if (!b->is_signed) {
                uint64_t u = (uint64_t)v;
                if (u <= INT_MAX)
                        return hex ? idl_xasprintf("0x%" PRIx64, u) : idl_xasprintf("%" PRIu64, u);
                return hex ? idl_xasprintf("UINT64_C(0x%" PRIx64 ")", u) : idl_xasprintf("UINT64_C(%" PRIu64 ")", u);
        }
        if (v >= INT_MIN && v <= INT_MAX)
                return idl_xasprintf("%" PRId64, v);
        if (v == INT64_MIN)
                return idl_xstrdup("(-INT64_C(9223372036854775807) - 1)");
        return idl_xasprintf("INT64_C(%" PRId64 ")", v);
}

/* The unsigned type of the same width as an integer base. */
static const char *unsigned_of(const IdlBasicType *b) {
        switch (b->kind) {
        case IDL_T_BYTE: return "uint8_t";
        case IDL_T_INT16:
        case IDL_T_UINT16: return "uint16_t";
        case IDL_T_INT32:
        case IDL_T_UINT32: return "uint32_t";
        default: return "uint64_t";
        }
}

/* @since as an availability line of a type's comment block. */
static void emit_since(GenC *g, const IdlMeta *m) {
        const IdlAnnot *s = idl_meta_since(m);

        if (s)
                genc_p(g, " *\n * Available since version %s.\n", s->value);
}

/* An interface's @since and its members', in one comment before its name. */
static void emit_availability(GenC *g, const IdlDecl *d) {
        const IdlAnnot *s = idl_meta_since(&d->meta);
        bool any = s != NULL;

        for (size_t i = 0; i < d->n_members && !any; i++)
                any = idl_meta_since(&d->members[i]->meta) != NULL;
        if (!any)
                return;
        genc_p(g, "/* Availability (@since in the IDL):\n");
        if (s)
                genc_p(g, " *   interface %s: %s\n", d->name, s->value);
        for (size_t i = 0; i < d->n_members; i++) {
                const IdlMember *m = d->members[i];
                if ((s = idl_meta_since(&m->meta)))
                        genc_p(g, " *   %s %s: %s\n", m->kind == IDL_M_METHOD ? "method"
                                       : m->kind == IDL_M_SIGNAL ? "signal"
                                       : m->kind == IDL_M_PROPERTY ? "property" : "error",
                               m->name, s->value);
        }
        genc_p(g, " */\n");
}

static bool seen_before(const IdlDecl *d, size_t i) {
        for (size_t j = 0; j < i; j++)
                if (d->values[j]->value == d->values[i]->value)
                        return true;
        return false;
}

static void emit_enum(GenC *g, const CType *t) {
        const IdlDecl *d = t->decl;
        const IdlBasicType *b = t->basic;
        bool flags = d->kind == IDL_D_FLAGS;

        genc_p(g, "/**\n * %s - %s %s of the IDL (%s on the wire).\n", t->name, flags ? "flags" : "enum", d->name,
               b->idl_name);
        if (d->meta.doc) {
                genc_p(g, " *\n");
                genc_emit_doc_lines(g, d->meta.doc);
        }
        emit_since(g, &d->meta);
        genc_p(g, " */\n");
        if (t->c_enum) {
                genc_p(g, "typedef enum %s {\n", t->name);
                for (size_t i = 0; i < d->n_values; i++) {
                        char *lit = enum_literal(b, d->values[i]->value, flags);
                        genc_p(g, "        %s = %s,", d->values[i]->c_name, lit);
                        if (d->values[i]->meta.doc) {
                                char *doc = idl_xstrdup(d->values[i]->meta.doc);
                                for (char *p = doc; *p; p++)
                                        if (*p == '\n' || (*p == '*' && p[1] == '/'))
                                                *p = ' ';
                                genc_p(g, " /* %s */", doc);
                                free(doc);
                        }
                        genc_p(g, "\n");
                        free(lit);
                }
                genc_p(g, "} %s;\n\n", t->name);
        } else {
                /* A value beyond int: ISO C enums cannot hold it. */
                genc_p(g, "typedef %s %s;\n", b->c_out, t->name);
                for (size_t i = 0; i < d->n_values; i++) {
                        char *lit = enum_literal(b, d->values[i]->value, flags);
                        genc_p(g, "#define %s ((%s)%s)\n", d->values[i]->c_name, t->name, lit);
                        free(lit);
                }
                genc_p(g, "\n");
        }

        if (flags) {
                uint64_t mask = 0;
                char *m;
                for (size_t i = 0; i < d->n_values; i++)
                        mask |= (uint64_t)d->values[i]->value;
                if (strcmp(unsigned_of(b), "uint64_t") != 0)
                        mask &= (b->kind == IDL_T_BYTE)                               ? 0xffu
                                : (b->kind == IDL_T_INT16 || b->kind == IDL_T_UINT16) ? 0xffffu
                                                                                      : 0xffffffffu;
                m = idl_xasprintf("UINT64_C(0x%" PRIx64 ")", mask);
                genc_p(g, "/* %s_is_valid() - whether v has no bit outside the declared flags. */\n", t->name);
                genc_p(g, "static inline bool %s_is_valid(%s v) {\n", t->name, b->c_out);
                genc_p(g, "        return ((uint64_t)(%s)v & ~%s) == 0;\n}\n\n", unsigned_of(b), m);
                free(m);
                return;
        }
        genc_p(g, "/* %s_is_valid() - whether v is one of the declared values. */\n", t->name);
        genc_p(g, "static inline bool %s_is_valid(%s v) {\n        switch (v) {\n", t->name, b->c_out);
        for (size_t i = 0; i < d->n_values; i++) {
                char *lit;
                if (seen_before(d, i))
                        continue;
                lit = enum_literal(b, d->values[i]->value, false);
                genc_p(g, "        case %s:\n", lit);
                free(lit);
        }
        genc_p(g, "                return true;\n        default:\n                return false;\n        }\n}\n\n");
        genc_p(g, "/* %s_to_string() - the IDL name of v (\"%s\"), or NULL when v is not valid. */\n", t->name,
               d->n_values ? d->values[0]->name : "");
        genc_p(g, "static inline const char *%s_to_string(%s v) {\n        switch (v) {\n", t->name, b->c_out);
        for (size_t i = 0; i < d->n_values; i++) {
                char *lit;
                if (seen_before(d, i))
                        continue;
                lit = enum_literal(b, d->values[i]->value, false);
                genc_p(g, "        case %s:\n                return \"%s\";\n", lit, d->values[i]->name);
                free(lit);
        }
        genc_p(g, "        default:\n                return NULL;\n        }\n}\n\n");
}

/* ---- structs and containers ---- */

static void emit_container(GenC *g, const CType *t) {
        char *d1, *d2;

        if (t->kind == CT_ARRAY) {
                d1 = genc_decl(genc_value(t->elem), "*items");
                genc_p(g, "/* %s: an array of %s (D-Bus \"%s\"): n items. */\n", t->name, t->elem->stem, t->sig);
                genc_p(g, "struct %s {\n        %s;\n        size_t n;\n};\n\n", t->name, d1);
                free(d1);
                return;
        }
        d1 = genc_decl(genc_value(t->key), "*keys");
        d2 = genc_decl(genc_value(t->elem), "*values");
        genc_p(g, "/* %s: a map (D-Bus \"%s\"): keys[i] maps to values[i], for i < n; keys are unique\n"
                  " * (a received map with a key twice is refused: InvalidArgs, -ENOTUNIQ). */\n",
               t->name, t->sig);
        genc_p(g, "struct %s {\n        %s;\n        %s;\n        size_t n;\n};\n\n", t->name, d1, d2);
        free(d1);
        free(d2);
}

static void emit_struct(GenC *g, CType *t) {
        const IdlDecl *d = t->decl;

        if (t->mark == 2)
                return;
        t->mark = 2;
        for (size_t i = 0; i < d->n_fields; i++)
                if (t->fields[i] && t->fields[i]->kind == CT_STRUCT && genc_is_local(g, t->fields[i]))
                        emit_struct(g, t->fields[i]);
        genc_p(g, "/**\n * %s - struct %s of the IDL (D-Bus \"%s\").\n", t->name, d->name, t->sig);
        if (d->meta.doc) {
                genc_p(g, " *\n");
                genc_emit_doc_lines(g, d->meta.doc);
        }
        emit_since(g, &d->meta);
        genc_p(g, " */\nstruct %s {\n", t->name);
        for (size_t i = 0; i < d->n_fields; i++) {
                char *decl = genc_decl(genc_value(t->fields[i]), d->fields[i]->name);
                genc_p(g, "        %s;", decl);
                if (d->fields[i]->meta.doc) {
                        char *doc = idl_xstrdup(d->fields[i]->meta.doc);
                        for (char *p = doc; *p; p++)
                                if (*p == '\n' || (*p == '*' && p[1] == '/'))
                                        *p = ' ';
                        genc_p(g, " /* %s */", doc);
                        free(doc);
                }
                genc_p(g, "\n");
                free(decl);
        }
        genc_p(g, "};\n\n");
}

/* X_init/X_clear/X_free: one-liners over the runtime's marshaller. */
static void def_init(GenC *g, const CType *t) {
        genc_p(g, "static inline void %s_init(%s *v) {\n        busrpc_value_init(&busrpc__%s, v);\n}\n\n", t->name,
               t->name, t->name);
}

static void def_clear(GenC *g, const CType *t) {
        genc_p(g, "static inline void %s_clear(%s *v) {\n        busrpc_value_clear(&busrpc__%s, v);\n}\n\n", t->name,
               t->name, t->name);
}

static void def_free(GenC *g, const CType *t) {
        genc_p(g, "static inline %s *%s_free(%s *v) {\n        %s_clear(v);\n        free(v);\n        return NULL;\n}\n\n",
               t->name, t->name, t->name, t->name);
}

static void emit_types(GenC *g) {
        bool any = false;

        /* Forward declarations: containers point at structs and back. */
        for (size_t i = 0; i < g->n_types; i++) {
                const CType *t = g->types[i];
                if (genc_is_local(g, t) && genc_by_ptr(t)) {
                        genc_p(g, "typedef struct %s %s;\n", t->name, t->name);
                        any = true;
                }
        }
        if (any)
                genc_p(g, "\n");
        for (size_t i = 0; i < g->main->n_decls; i++) {
                const IdlDecl *d = g->main->decls[i];
                if (d->kind == IDL_D_ENUM || d->kind == IDL_D_FLAGS)
                        for (size_t j = 0; j < g->n_types; j++)
                                if (g->types[j]->decl == d)
                                        emit_enum(g, g->types[j]);
        }
        for (size_t i = 0; i < g->n_types; i++) {
                const CType *t = g->types[i];
                if (genc_is_local(g, t) && (t->kind == CT_ARRAY || t->kind == CT_MAP))
                        emit_container(g, t);
        }
        for (size_t i = 0; i < g->n_types; i++)
                g->types[i]->mark = 0;
        for (size_t i = 0; i < g->main->n_decls; i++) {
                const IdlDecl *d = g->main->decls[i];
                if (d->kind == IDL_D_STRUCT)
                        for (size_t j = 0; j < g->n_types; j++)
                                if (g->types[j]->decl == d)
                                        emit_struct(g, g->types[j]);
        }
        for (size_t i = 0; i < g->main->n_decls; i++) {
                const IdlDecl *d = g->main->decls[i];
                const CType *t;
                char *decl;
                if (d->kind != IDL_D_TYPEDEF || !(t = genc_type(g, d->target, d->file)))
                        continue;
                decl = genc_decl(genc_value(t), d->c_name);
                genc_p(g, "/* %s: typedef %s of the IDL (D-Bus \"%s\"). */\n", d->c_name, d->name, t->sig);
                if (d->meta.doc) {
                        genc_p(g, "/*\n");
                        genc_emit_doc_lines(g, d->meta.doc);
                        genc_p(g, " */\n");
                }
                genc_p(g, "typedef %s;\n\n", decl);
                free(decl);
        }

        genc_emit_descriptors(g);
        any = false;
        for (size_t i = 0; i < g->n_types; i++) {
                const CType *t = g->types[i];
                if (!genc_is_local(g, t) || !genc_by_ptr(t))
                        continue;
                if (!any)
                        genc_p(g, "/* X_init() empties a value (fds -1); X_clear() releases what it owns and\n"
                                  " * empties it again (NULL is a no-op); X_free() clears and free()s a heap\n"
                                  " * value, returning NULL. */\n");
                any = true;
                if (t->kind == CT_STRUCT)
                        def_init(g, t);
                if (t->owns) {
                        def_clear(g, t);
                        def_free(g, t);
                }
        }
        /* A typedef of an aggregate that owns memory: its own names too. */
        for (size_t i = 0; i < g->main->n_decls; i++) {
                const IdlDecl *d = g->main->decls[i];
                const CType *t;
                if (d->kind != IDL_D_TYPEDEF || !(t = genc_type(g, d->target, d->file)) || !genc_by_ptr(t) ||
                    !t->owns)
                        continue;
                genc_p(g, "static inline void %s_clear(%s *v) {\n        %s_clear(v);\n}\n\n", d->c_name, d->c_name,
                       t->name);
                genc_p(g, "static inline %s *%s_free(%s *v) {\n        return %s_free(v);\n}\n\n", d->c_name,
                       d->c_name, d->c_name, t->name);
        }
}

/* ---- interfaces ---- */

static void emit_iface_names(GenC *g, const IdlDecl *d) {
        char *mac = genc_iface_macro(d);
        bool any = false;

        genc_p(g, "/* ==== interface %s (C name %s) ==== */\n\n", d->name, d->c_name);
        if (d->meta.doc) {
                genc_p(g, "/*\n");
                genc_emit_doc_lines(g, d->meta.doc);
                genc_p(g, " */\n");
        }
        emit_availability(g, d);
        genc_p(g, "#define %s \"%s\"\n\n", mac, d->name);
        free(mac);
        for (size_t i = 0; i < d->n_members; i++) {
                const IdlMember *m = d->members[i];
                char *e;
                if (m->kind != IDL_M_ERROR)
                        continue;
                if (!any)
                        genc_p(g, "/* Errors of %s: the name a client finds in busrpc_error.name\n"
                                  " * (busrpc_error_has_name(err, ...)). */\n", d->name);
                any = true;
                e = genc_error_macro(d, m);
                if (m->meta.doc) {
                        genc_p(g, "/*\n");
                        genc_emit_doc_lines(g, m->meta.doc);
                        genc_p(g, " */\n");
                }
                genc_p(g, "#define %s \"%s\"\n", e, m->dbus_error);
                free(e);
        }
        if (any)
                genc_p(g, "\n");
}

/* ---- the arguments of methods and signals ---- */

static bool any_args(const IdlDecl *d) {
        for (size_t i = 0; i < d->n_members; i++)
                if (genc_has_args(d->members[i]))
                        return true;
        return false;
}

/* One direction's struct: the arguments by value, each in its stored C
 * type. On one line when it is short. */
static void arg_struct(GenC *g, const IdlDecl *d, const IdlMember *m, const char *dir, IdlField **a, size_t n) {
        char *name, *line = NULL;
        size_t len;
        FILE *f;

        if (!n)
                return;
        name = genc_mstruct(d, m, dir);
        f = open_memstream(&line, &len);
        if (!f)
                abort();
        for (size_t i = 0; i < n; i++) {
                char *decl = genc_decl(genc_value(genc_type(g, a[i]->type, d->file)), genc_mfield(a[i]->name));
                fprintf(f, "%s;", decl);
                free(decl);
                if (i + 1 < n)
                        fputc(' ', f);
        }
        fclose(f);
        if (2 * strlen(name) + strlen(line) + 28 <= 120) {
                genc_p(g, "typedef struct %s { %s } %s;\n", name, line, name);
        } else {
                genc_p(g, "typedef struct %s {\n", name);
                for (size_t i = 0; i < n; i++) {
                        char *decl = genc_decl(genc_value(genc_type(g, a[i]->type, d->file)), genc_mfield(a[i]->name));
                        genc_p(g, "        %s;\n", decl);
                        free(decl);
                }
                genc_p(g, "} %s;\n", name);
        }
        free(line);
        free(name);
}

static void arg_fields(GenC *g, const IdlDecl *d, const IdlMember *m, const char *dir, IdlField **a, size_t n) {
        char *name = genc_mstruct(d, m, dir);

        for (size_t i = 0; i < n; i++) {
                char *ref = genc_tref(g, genc_type(g, a[i]->type, d->file), &a[i]->meta, d->file);
                genc_p(g, "        { %s, offsetof(%s, %s), \"%s\" },\n", ref, name, genc_mfield(a[i]->name), a[i]->name);
                free(ref);
        }
        free(name);
}

static void arg_row(GenC *g, const IdlDecl *d, const IdlMember *m, const char *dir, size_t n, size_t *at) {
        char *name = genc_mstruct(d, m, dir);
        const char *sig = strcmp(dir, "out") == 0 ? m->out_sig : m->in_sig;

        if (n)
                genc_p(g, " { \"%s\", busrpc__%s__fields + %zu, %zu, sizeof(%s) },", sig ? sig : "", d->c_name, *at, n,
                       name);
        else
                genc_p(g, " { \"\", NULL, 0, 0 },");
        *at += n;
        free(name);
}

/* The structs, fields and busrpc_args rows of every method (in, out) and
 * signal, in member order; the stubs and skeletons pass the rows to the
 * runtime (genc_args_ref()). */
static void emit_arg_tables(GenC *g, const IdlDecl *d) {
        bool any_field = false;
        size_t at = 0;

        if (!any_args(d))
                return;
        genc_p(g, "/* The arguments of %s's methods and signals, by value, as the\n"
                  " * runtime reads and writes them (internal: the stubs and skeletons use them). */\n",
               d->name);
        for (size_t i = 0; i < d->n_members; i++) {
                const IdlMember *m = d->members[i];
                if (!genc_has_args(m))
                        continue;
                arg_struct(g, d, m, "in", m->in, m->n_in);
                if (m->kind == IDL_M_METHOD)
                        arg_struct(g, d, m, "out", m->out, m->n_out);
                any_field |= m->n_in || m->n_out;
        }
        if (any_field) {
                genc_p(g, "static const busrpc_field busrpc__%s__fields[] BUSRPC_UNUSED = {\n", d->c_name);
                for (size_t i = 0; i < d->n_members; i++) {
                        const IdlMember *m = d->members[i];
                        if (!genc_has_args(m))
                                continue;
                        arg_fields(g, d, m, "in", m->in, m->n_in);
                        if (m->kind == IDL_M_METHOD)
                                arg_fields(g, d, m, "out", m->out, m->n_out);
                }
                genc_p(g, "};\n");
        }
        genc_p(g, "static const busrpc_args busrpc__%s__args[] BUSRPC_UNUSED = {\n", d->c_name);
        for (size_t i = 0; i < d->n_members; i++) {
                const IdlMember *m = d->members[i];
                if (!genc_has_args(m))
                        continue;
                /* a method's rows, in and out, on one line */
                genc_p(g, "        /* %s */", m->name);
                arg_row(g, d, m, "in", m->n_in, &at);
                if (m->kind == IDL_M_METHOD)
                        arg_row(g, d, m, "out", m->n_out, &at);
                genc_p(g, "\n");
        }
        genc_p(g, "};\n\n");
}

int idl_gen_header(const IdlUnit *u, FILE *out) {
        GenC g;
        char *guard;
        bool any_iface = false;

        if (!u || u->n_files == 0 || !out)
                return -EINVAL;
        genc_init(&g, u, out);
        guard = genc_upper(g.module);
        genc_p(&g, GEN_C_BANNER);
        genc_p(&g, "/* %s.h: the C API of module %s: types, client and server.\n"
                   " * See docs/generated-api.md for the conventions. Inputs are borrowed; outputs\n"
                   " * belong to the caller, who releases them as each function says. */\n",
               g.module, g.module);
        genc_p(&g, "#ifndef BUSRPC_GENERATED_%s_H\n#define BUSRPC_GENERATED_%s_H\n\n", guard, guard);
        genc_p(&g, "#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n#include <stdlib.h>\n"
                   "#include <string.h>\n#include <unistd.h>\n\n#include <busrpc/busrpc.h>\n");
        for (size_t i = 0; i < g.main->n_imports; i++) {
                const IdlImport *im = g.main->imports[i];
                if (im->file && im->file->module)
                        genc_p(&g, "#include \"%s.h\"\n", im->file->module);
        }
        genc_p(&g, "\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
        emit_types(&g);
        for (size_t i = 0; i < g.main->n_decls; i++) {
                const IdlDecl *d = g.main->decls[i];
                if (d->kind != IDL_D_INTERFACE)
                        continue;
                any_iface = true;
                emit_iface_names(&g, d);
                emit_arg_tables(&g, d);
                genc_header_client(&g, d);
                genc_header_server(&g, d);
        }
        if (any_iface)
                genc_header_typed_om(&g);
        genc_p(&g, "#ifdef __cplusplus\n}\n#endif\n\n#endif /* BUSRPC_GENERATED_%s_H */\n", guard);
        free(guard);
        genc_free(&g);
        return ferror(out) ? -EIO : 0;
}
