/* gen-idl.c: the canonical IDL of the main file (--idl).
 *
 * Everything the AST holds is printed (doc comments, every annotation,
 * explicit enum values), in declaration order, with a fixed layout: four
 * spaces of indentation, one declaration per paragraph, one member per
 * line. Reading the output back gives the same AST, so printing it again
 * gives the same text: IDL -> XML -> IDL is a fixed point after one step.
 * Enum values print in decimal, flags values in hexadecimal.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "check-internal.h" /* check_snake(): the C name a member gets by default */
#include "gen.h"
#include "types.h"

static void indent(FILE *out, int level) {
        for (int i = 0; i < level; i++)
                fputs("    ", out);
}

/* A string literal: only '"', '\\' and newline need escaping (a tab is
 * printed as \t for readability). */
void idl_gen_put_string(FILE *out, const char *s) {
        fputc('"', out);
        for (; s && *s; s++) {
                switch (*s) {
                case '"': fputs("\\\"", out); break;
                case '\\': fputs("\\\\", out); break;
                case '\n': fputs("\\n", out); break;
                case '\t': fputs("\\t", out); break;
                default: fputc(*s, out); break;
                }
        }
        fputc('"', out);
}

/* Doc text never contains the end of the comment. */
static void put_doc_text(FILE *out, const char *s, size_t n) {
        for (size_t i = 0; i < n; i++) {
                fputc(s[i], out);
                if (s[i] == '*' && i + 1 < n && s[i + 1] == '/')
                        fputc(' ', out);
        }
}

static void put_doc(FILE *out, const char *doc, int level) {
        const char *p = doc;

        if (!doc || !doc[0])
                return;
        indent(out, level);
        /* One line, unless the scanner would strip part of it. */
        if (!strchr(doc, '\n') && doc[0] != '*' && doc[0] != ' ' && doc[0] != '\t') {
                fputs("/** ", out);
                put_doc_text(out, doc, strlen(doc));
                fputs(" */\n", out);
                return;
        }
        fputs("/**\n", out);
        for (;;) {
                const char *eol = strchr(p, '\n');
                size_t n = eol ? (size_t)(eol - p) : strlen(p);
                indent(out, level);
                fputs(n ? " * " : " *", out);
                put_doc_text(out, p, n);
                fputc('\n', out);
                if (!eol)
                        break;
                p = eol + 1;
        }
        indent(out, level);
        fputs(" */\n", out);
}

void idl_gen_put_annot(FILE *out, const IdlAnnot *a) {
        switch (a->kind) {
        case IDL_A_NOREPLY:
                fputs("@noreply", out);
                return;
        case IDL_A_DEPRECATED:
                fputs("@deprecated", out);
                return;
        case IDL_A_C_NAME:
                fputs("@c_name(", out);
                break;
        case IDL_A_EMITS_CHANGED:
                fputs("@emits_changed(", out);
                break;
        case IDL_A_DBUS:
                fputs("@annotation(", out);
                idl_gen_put_string(out, a->name);
                fputs(", ", out);
                break;
        case IDL_A_UNKNOWN:
        default:
                fprintf(out, "@%s", a->name ? a->name : "unknown");
                if (!a->value)
                        return;
                fputc('(', out);
                break;
        }
        idl_gen_put_string(out, a->value ? a->value : "");
        fputc(')', out);
}

/* Annotations of a declaration: one per line. */
static void put_meta(FILE *out, const IdlMeta *m, int level) {
        put_doc(out, m->doc, level);
        for (size_t i = 0; i < m->n_annots; i++) {
                indent(out, level);
                idl_gen_put_annot(out, m->annots[i]);
                fputc('\n', out);
        }
}

/* Annotations of a member, field, value or argument: on its line. */
static void put_inline_annots(FILE *out, const IdlMeta *m) {
        for (size_t i = 0; i < m->n_annots; i++) {
                idl_gen_put_annot(out, m->annots[i]);
                fputc(' ', out);
        }
}

/* Doc comment on the lines above, annotations at the start of the line. */
static void put_item_meta(FILE *out, const IdlMeta *m, int level) {
        put_doc(out, m->doc, level);
        indent(out, level);
        put_inline_annots(out, m);
}

void idl_gen_put_type(FILE *out, const IdlType *t) {
        if (!t) {
                fputs("variant", out);
                return;
        }
        switch (t->kind) {
        case IDL_T_ARRAY:
                idl_gen_put_type(out, t->elem);
                fputs("[]", out);
                return;
        case IDL_T_MAP:
                fputs("map<", out);
                idl_gen_put_type(out, t->key);
                fputs(", ", out);
                idl_gen_put_type(out, t->elem);
                fputc('>', out);
                return;
        case IDL_T_NAMED:
                fputs(t->name ? t->name : "?", out);
                return;
        default: {
                const IdlBasicType *b = idl_basic_type(t->kind);
                fputs(b ? b->idl_name : "?", out);
                return;
        }
        }
}

static const char *name_or(const char *name, const char *fallback) {
        return name && name[0] ? name : fallback;
}

static bool args_need_lines(IdlField *const *args, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (args[i]->meta.doc && args[i]->meta.doc[0])
                        return true;
        return false;
}

/* "(int32 a, int32 b)"; one argument per line when one has a doc comment. */
static void put_args(FILE *out, IdlField *const *args, size_t n, int level) {
        bool lines = args_need_lines(args, n);
        char fallback[32];

        fputc('(', out);
        for (size_t i = 0; i < n; i++) {
                if (lines) {
                        fputc('\n', out);
                        put_doc(out, args[i]->meta.doc, level + 1);
                        indent(out, level + 1);
                }
                put_inline_annots(out, &args[i]->meta);
                idl_gen_put_type(out, args[i]->type);
                snprintf(fallback, sizeof(fallback), "arg%zu", i);
                if (args[i]->dbus_name && !check_is_c_ident(args[i]->dbus_name)) {
                        /* Not an IDL name: the D-Bus name as a string (its
                         * @c_name, printed above, is the C parameter). */
                        fputc(' ', out);
                        idl_gen_put_string(out, args[i]->dbus_name);
                } else {
                        fprintf(out, " %s", name_or(args[i]->dbus_name ? args[i]->dbus_name
                                                                      : args[i]->name, fallback));
                }
                if (i + 1 < n)
                        fputs(lines ? "," : ", ", out);
        }
        fputc(')', out);
}

/* The checker renames a member of an XML file whose C names clash
 * (GetDevices and property Devices: devices_property); IDL must say so
 * with @c_name to compile to the same C API. */
static bool renamed_from_xml(const IdlFile *f, const IdlMember *m) {
        char *dflt;
        bool renamed;

        if (!f || !f->from_xml || !m->c_name || idl_meta_find_annot(&m->meta, IDL_A_C_NAME))
                return false;
        dflt = check_snake(m->name);
        renamed = strcmp(dflt, m->c_name) != 0;
        free(dflt);
        return renamed;
}

static void put_member(FILE *out, const IdlDecl *iface, const IdlMember *m) {
        static const char *const access[] = {
                [IDL_ACCESS_READ] = "readonly",
                [IDL_ACCESS_READWRITE] = "readwrite",
                [IDL_ACCESS_WRITE] = "writeonly",
        };

        put_item_meta(out, &m->meta, 1);
        if (renamed_from_xml(iface->file, m)) {
                fputs("@c_name(", out);
                idl_gen_put_string(out, m->c_name);
                fputs(") ", out);
        }
        switch (m->kind) {
        case IDL_M_METHOD:
                fprintf(out, "method %s", m->name);
                put_args(out, m->in, m->n_in, 1);
                if (m->n_out) {
                        fputs(" -> ", out);
                        put_args(out, m->out, m->n_out, 1);
                }
                if (m->n_raises) {
                        fputs(" raises (", out);
                        for (size_t i = 0; i < m->n_raises; i++)
                                fprintf(out, "%s%s", i ? ", " : "", m->raises[i]->name);
                        fputc(')', out);
                }
                break;
        case IDL_M_SIGNAL:
                fprintf(out, "signal %s", m->name);
                put_args(out, m->in, m->n_in, 1);
                break;
        case IDL_M_PROPERTY:
                fputs("property ", out);
                idl_gen_put_type(out, m->type);
                fprintf(out, " %s %s", m->name,
                        m->access <= IDL_ACCESS_WRITE ? access[m->access] : "readwrite");
                break;
        case IDL_M_ERROR:
                fprintf(out, "error %s", m->name);
                break;
        }
        fputs(";\n", out);
}

static void put_values(FILE *out, const IdlDecl *d) {
        for (size_t i = 0; i < d->n_values; i++) {
                const IdlEnumValue *v = d->values[i];
                put_item_meta(out, &v->meta, 1);
                fputs(v->name, out);
                if (v->has_value) {
                        if (d->kind == IDL_D_FLAGS)
                                fprintf(out, " = %s0x%" PRIx64, v->negative ? "-" : "", v->magnitude);
                        else
                                fprintf(out, " = %s%" PRIu64, v->negative ? "-" : "", v->magnitude);
                }
                fputs(",\n", out);
        }
}

static void put_decl(FILE *out, const IdlDecl *d) {
        put_meta(out, &d->meta, 0);
        switch (d->kind) {
        case IDL_D_STRUCT:
                fprintf(out, "struct %s {\n", d->name);
                for (size_t i = 0; i < d->n_fields; i++) {
                        const IdlField *f = d->fields[i];
                        put_item_meta(out, &f->meta, 1);
                        idl_gen_put_type(out, f->type);
                        fprintf(out, " %s;\n", f->name);
                }
                fputs("}\n", out);
                break;
        case IDL_D_ENUM:
        case IDL_D_FLAGS:
                fprintf(out, "%s %s", d->kind == IDL_D_ENUM ? "enum" : "flags", d->name);
                if (d->base) {
                        fputs(" : ", out);
                        idl_gen_put_type(out, d->base);
                }
                fputs(" {\n", out);
                put_values(out, d);
                fputs("}\n", out);
                break;
        case IDL_D_TYPEDEF:
                fputs("typedef ", out);
                idl_gen_put_type(out, d->target);
                fprintf(out, " %s;\n", d->name);
                break;
        case IDL_D_INTERFACE:
                fprintf(out, "interface %s {\n", d->name);
                for (size_t i = 0; i < d->n_members; i++)
                        put_member(out, d, d->members[i]);
                fputs("}\n", out);
                break;
        }
}

int idl_gen_idl(const IdlUnit *u, FILE *out) {
        const IdlFile *f;

        if (!u || u->n_files == 0 || !out)
                return -EINVAL;
        f = u->files[0];
        fputs("// Generated by busrpc-idlc.\n\n", out);
        fprintf(out, "module %s;\n", idl_gen_basename(u));
        if (f->n_imports)
                fputc('\n', out);
        for (size_t i = 0; i < f->n_imports; i++) {
                fputs("import ", out);
                idl_gen_put_string(out, f->imports[i]->path);
                fputs(";\n", out);
        }
        for (size_t i = 0; i < f->n_decls; i++) {
                fputc('\n', out);
                put_decl(out, f->decls[i]);
        }
        return ferror(out) ? -EIO : 0;
}
