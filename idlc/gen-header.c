/* gen-header.c: <module>.h, the C API of one IDL file.
 *
 * Layout: types (forward declarations, enums, containers, structs in
 * dependency order, typedefs), their static inline _init/_clear/_free, then
 * per interface the client API and the server API. Everything that both
 * calc-client.c and calc-server.c need is static inline here, so one
 * program may link both files. docs/generated-api.md explains the result.
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

static void proto_init(GenC *g, const CType *t, const char *end) {
        genc_p(g, "static inline void %s_init(%s *v)%s", t->name, t->name, end);
}

static void proto_clear(GenC *g, const CType *t, const char *end) {
        genc_p(g, "static inline void %s_clear(%s *v)%s", t->name, t->name, end);
}

static void proto_free(GenC *g, const CType *t, const char *end) {
        genc_p(g, "static inline %s *%s_free(%s *v)%s", t->name, t->name, t->name, end);
}

static void def_init(GenC *g, const CType *t) {
        const IdlDecl *d = t->decl;

        proto_init(g, t, " {\n        memset(v, 0, sizeof(*v));\n");
        for (size_t i = 0; i < d->n_fields; i++) {
                const CType *f = t->fields[i];
                if (f->kind == CT_BASIC && f->basic->kind == IDL_T_FD)
                        genc_p(g, "        v->%s = -1;\n", d->fields[i]->name);
                else if (f->kind == CT_STRUCT && f->direct_fd)
                        genc_p(g, "        %s_init(&v->%s);\n", f->name, d->fields[i]->name);
        }
        genc_p(g, "}\n\n");
}

static void def_clear(GenC *g, const CType *t) {
        proto_clear(g, t, " {\n");
        if (t->kind == CT_STRUCT) {
                const IdlDecl *d = t->decl;
                genc_p(g, "        if (!v)\n                return;\n");
                for (size_t i = 0; i < d->n_fields; i++) {
                        char *lv = idl_xasprintf("v->%s", d->fields[i]->name);
                        genc_clear_stmt(g, t->fields[i], lv, 1);
                        free(lv);
                }
                genc_p(g, "        %s_init(v);\n}\n\n", t->name);
                return;
        }
        if (t->elem->owns || (t->key && t->key->owns))
                genc_p(g, "        size_t i;\n\n");
        genc_p(g, "        if (!v)\n                return;\n");
        if (t->kind == CT_ARRAY) {
                if (t->elem->owns) {
                        genc_p(g, "        for (i = 0; i < v->n; i++) {\n");
                        genc_clear_stmt(g, t->elem, "v->items[i]", 2);
                        genc_p(g, "        }\n");
                }
                genc_p(g, "        free(v->items);\n        v->items = NULL;\n");
        } else {
                if (t->elem->owns || t->key->owns) {
                        genc_p(g, "        for (i = 0; i < v->n; i++) {\n");
                        genc_clear_stmt(g, t->key, "v->keys[i]", 2);
                        genc_clear_stmt(g, t->elem, "v->values[i]", 2);
                        genc_p(g, "        }\n");
                }
                genc_p(g, "        free(v->keys);\n        free(v->values);\n        v->keys = NULL;\n        v->values = NULL;\n");
        }
        genc_p(g, "        v->n = 0;\n}\n\n");
}

static void def_free(GenC *g, const CType *t) {
        proto_free(g, t, " {\n");
        genc_p(g, "        if (v) {\n                %s_clear(v);\n                free(v);\n        }\n        return NULL;\n}\n\n",
               t->name);
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

        /* _init, _clear, _free: declared first, so their order is free. */
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
                        proto_init(g, t, ";\n");
                if (t->owns) {
                        proto_clear(g, t, ";\n");
                        proto_free(g, t, ";\n");
                }
        }
        if (any)
                genc_p(g, "\n");
        for (size_t i = 0; i < g->n_types; i++) {
                const CType *t = g->types[i];
                if (!genc_is_local(g, t) || !genc_by_ptr(t))
                        continue;
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
                genc_header_client(&g, d);
                genc_header_server(&g, d);
        }
        (void)any_iface;
        genc_p(&g, "#ifdef __cplusplus\n}\n#endif\n\n#endif /* BUSRPC_GENERATED_%s_H */\n", guard);
        free(guard);
        genc_free(&g);
        return ferror(out) ? -EIO : 0;
}
