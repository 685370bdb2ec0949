/* gen-docs.c: reference documentation of the main file's interfaces and
 * types, from their doc comments, for the people who call the service:
 *
 *   --docs  MODULE.md  Markdown (as gdbus-codegen --generate-md)
 *   --man   MODULE.7   a man page, section 7 (a D-Bus interface is a
 *                      protocol, not a C function: the C API is in the
 *                      generated header)
 *
 * Each member is listed with its arguments as IDL types and D-Bus
 * signatures, its errors and its annotations in IDL spelling; @deprecated
 * and @since (on members or the interface) are called out.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/names.h"
#include "gen.h"

/* The version an element appeared in: @since("1.2"), or org.busrpc.Since
 * from XML, whatever kind the front end gave it. */
static const char *since_of(const IdlMeta *m) {
        for (size_t i = 0; i < m->n_annots; i++) {
                const IdlAnnot *a = m->annots[i];
                if (!a->name || !a->value)
                        continue;
                if (a->kind == IDL_A_DBUS ? strcmp(a->name, "org.busrpc.Since") == 0
                                          : strcmp(a->name, "since") == 0)
                        return a->value;
        }
        return NULL;
}

/* An argument's D-Bus name (its C name may differ, from XML). */
static const char *arg_name(const IdlField *f) {
        return f->dbus_name ? f->dbus_name : f->name;
}

static char *type_str(const IdlType *t) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f)
                return idl_xstrdup("?");
        idl_gen_put_type(f, t);
        fclose(f);
        return buf ? buf : idl_xstrdup("?");
}

static const char *access_str(IdlAccess a) {
        switch (a) {
        case IDL_ACCESS_READ:
                return "readonly";
        case IDL_ACCESS_READWRITE:
                return "readwrite";
        case IDL_ACCESS_WRITE:
                return "writeonly";
        }
        return "?";
}

static const char *emits_str(IdlEmits e) {
        switch (e) {
        case IDL_EMITS_TRUE:
                return "true (PropertiesChanged carries the value)";
        case IDL_EMITS_INVALIDATES:
                return "invalidates (PropertiesChanged names it, without the value)";
        case IDL_EMITS_CONST:
                return "const (never changes)";
        case IDL_EMITS_FALSE:
                return "false (changes without a signal)";
        }
        return "?";
}

static const char *section_names[] = {
        [IDL_M_METHOD] = "Methods",
        [IDL_M_SIGNAL] = "Signals",
        [IDL_M_PROPERTY] = "Properties",
        [IDL_M_ERROR] = "Errors",
};

static size_t count_kind(const IdlDecl *d, IdlMemberKind k) {
        size_t n = 0;
        for (size_t i = 0; i < d->n_members; i++)
                if (d->members[i]->kind == k)
                        n++;
        return n;
}

static size_t n_ifaces(const IdlFile *f) {
        size_t n = 0;
        for (size_t i = 0; i < f->n_decls; i++)
                if (f->decls[i]->kind == IDL_D_INTERFACE)
                        n++;
        return n;
}

static size_t count_types(const IdlFile *f) {
        size_t n = 0;
        for (size_t i = 0; i < f->n_decls; i++)
                if (f->decls[i]->kind != IDL_D_INTERFACE)
                        n++;
        return n;
}

static const char *decl_kind(IdlDeclKind k) {
        switch (k) {
        case IDL_D_STRUCT:
                return "struct";
        case IDL_D_ENUM:
                return "enum";
        case IDL_D_FLAGS:
                return "flags";
        case IDL_D_TYPEDEF:
                return "typedef";
        case IDL_D_INTERFACE:
                return "interface";
        }
        return "?";
}

static const char *bus_name_of(const IdlFile *f) {
        for (size_t i = 0; i < f->n_decls; i++) {
                const IdlAnnot *a;
                if (f->decls[i]->kind != IDL_D_INTERFACE)
                        continue;
                a = idl_meta_find_annot(&f->decls[i]->meta, IDL_A_BUS_NAME);
                if (a && a->value)
                        return a->value;
        }
        return NULL;
}

/* Whether an annotation is listed as such: the ones the text already
 * says in words (@deprecated, @noreply, @emits_changed, @since) are not. */
static bool listed(const IdlAnnot *a) {
        switch (a->kind) {
        case IDL_A_NOREPLY:
        case IDL_A_DEPRECATED:
        case IDL_A_EMITS_CHANGED:
                return false;
        case IDL_A_DBUS:
                return !a->name || strcmp(a->name, "org.busrpc.Since") != 0;
        default:
                return !a->name || strcmp(a->name, "since") != 0;
        }
}

/* The listed annotations of m in IDL spelling, each between quote and
 * quote ("`" for Markdown), comma-separated; NULL when there is none.
 * Caller frees. */
static char *annots_str(const IdlMeta *m, const char *quote) {
        char *buf = NULL;
        size_t len = 0;
        bool any = false;
        FILE *f = open_memstream(&buf, &len);

        if (!f)
                return NULL;
        for (size_t i = 0; i < m->n_annots; i++) {
                if (!listed(m->annots[i]))
                        continue;
                fprintf(f, "%s%s", any ? ", " : "", quote);
                idl_gen_put_annot(f, m->annots[i]);
                fputs(quote, f);
                any = true;
        }
        fclose(f);
        if (!any) {
                free(buf);
                return NULL;
        }
        return buf;
}

/* ---- Markdown ---- */

static void md_doc(FILE *out, const char *doc) {
        if (doc && *doc)
                fprintf(out, "%s\n\n", doc);
}

static void md_meta(FILE *out, const IdlMeta *m, bool deprecated) {
        const char *since = since_of(m);
        char *a = annots_str(m, "`");

        if (deprecated)
                fputs(since ? "**Deprecated.** " : "**Deprecated.**\n\n", out);
        if (since)
                fprintf(out, "Since %s.\n\n", since);
        if (a)
                fprintf(out, "Annotations: %s.\n\n", a);
        free(a);
}

/* Text as one table cell: lines joined, pipes escaped; then " |". */
static void md_cell(FILE *out, const char *doc) {
        if (doc && *doc) {
                fputc(' ', out);
                for (const char *p = doc; *p; p++)
                        if (*p == '\n')
                                fputc(' ', out);
                        else if (*p == '|')
                                fputs("\\|", out);
                        else
                                fputc(*p, out);
        }
        fputs(" |\n", out);
}

/* dir NULL: a signal's arguments, no direction column. */
static void md_args(FILE *out, const char *dir, IdlField **v, size_t n) {
        for (size_t i = 0; i < n; i++) {
                char *t = type_str(v[i]->type), *sig = idl_type_signature(v[i]->type);
                char *a = annots_str(&v[i]->meta, "`");
                if (dir)
                        fprintf(out, "| %s ", dir);
                fprintf(out, "| `%s` | `%s` | `%s` |", arg_name(v[i]), t, sig);
                if (a) {
                        char *cell = idl_xasprintf("%s%s%s.", v[i]->meta.doc ? v[i]->meta.doc : "",
                                                   v[i]->meta.doc ? " Annotations: " : "Annotations: ", a);
                        md_cell(out, cell);
                        free(cell);
                } else {
                        md_cell(out, v[i]->meta.doc);
                }
                free(a);
                free(t);
                free(sig);
        }
}

static void md_sig(FILE *out, const char *sig) {
        if (sig && *sig)
                fprintf(out, "`%s`", sig);
        else
                fputs("none", out);
}

static void md_proto(FILE *out, const IdlMember *m) {
        size_t indent = strlen(m->name) + 2;

        fprintf(out, "```\n%s (", m->name);
        for (size_t i = 0; i < m->n_in + m->n_out; i++) {
                bool in = i < m->n_in;
                const IdlField *a = in ? m->in[i] : m->out[i - m->n_in];
                char *t = type_str(a->type);
                if (i > 0)
                        fprintf(out, ",\n%*s", (int)indent, "");
                if (m->kind == IDL_M_METHOD)
                        fputs(in ? "IN  " : "OUT ", out);
                fprintf(out, "%s %s", t, arg_name(a));
                free(t);
        }
        fputs(")\n```\n\n", out);
}

static void md_member(FILE *out, const IdlMember *m) {
        fprintf(out, "#### %s\n\n", m->name);
        switch (m->kind) {
        case IDL_M_METHOD:
        case IDL_M_SIGNAL:
                md_proto(out, m);
                md_doc(out, m->meta.doc);
                fputs("D-Bus signature: ", out);
                if (m->kind == IDL_M_METHOD) {
                        fputs("in ", out);
                        md_sig(out, m->in_sig);
                        fputs(", out ", out);
                        md_sig(out, m->out_sig);
                } else {
                        md_sig(out, m->in_sig);
                }
                fputs(".\n\n", out);
                if (m->n_in + m->n_out == 0) {
                        fputs("No arguments.\n\n", out);
                } else if (m->kind == IDL_M_METHOD) {
                        fputs("| Direction | Name | Type | Signature | Description |\n"
                              "|---|---|---|---|---|\n",
                              out);
                        md_args(out, "in", m->in, m->n_in);
                        md_args(out, "out", m->out, m->n_out);
                        fputc('\n', out);
                } else {
                        fputs("| Name | Type | Signature | Description |\n"
                              "|---|---|---|---|\n",
                              out);
                        md_args(out, NULL, m->in, m->n_in);
                        fputc('\n', out);
                }
                if (m->kind == IDL_M_METHOD && m->noreply)
                        fputs("No reply: callers do not wait for one.\n\n", out);
                for (size_t i = 0; i < m->n_raises; i++) {
                        const IdlRaise *r = m->raises[i];
                        fprintf(out, "%s`%s`", i ? ", " : "Errors: ",
                                r->error && r->error->dbus_error ? r->error->dbus_error : r->name);
                }
                if (m->n_raises)
                        fputs(".\n\n", out);
                break;
        case IDL_M_PROPERTY: {
                char *t = type_str(m->type), *sig = idl_type_signature(m->type);
                fprintf(out, "```\n%s %s %s\n```\n\n", t, m->name, access_str(m->access));
                md_doc(out, m->meta.doc);
                fprintf(out, "Type `%s`, signature `%s`, %s.", t, sig, access_str(m->access));
                if (m->access != IDL_ACCESS_WRITE)
                        fprintf(out, " Emits changed: %s.", emits_str(m->emits));
                fputs("\n\n", out);
                free(t);
                free(sig);
                break;
        }
        case IDL_M_ERROR:
                fprintf(out, "`%s`\n\n", m->dbus_error ? m->dbus_error : m->name);
                md_doc(out, m->meta.doc);
                break;
        }
        md_meta(out, &m->meta, m->deprecated);
}

static void md_interface(FILE *out, const IdlDecl *d) {
        fprintf(out, "## Interface %s\n\n", d->name);
        md_doc(out, d->meta.doc);
        fprintf(out, "C name: `%s`.\n\n", d->c_name ? d->c_name : "");
        md_meta(out, &d->meta, d->deprecated);
        for (int k = IDL_M_METHOD; k <= IDL_M_ERROR; k++) {
                if (!count_kind(d, (IdlMemberKind)k))
                        continue;
                fprintf(out, "### %s\n\n", section_names[k]);
                for (size_t i = 0; i < d->n_members; i++)
                        if (d->members[i]->kind == (IdlMemberKind)k)
                                md_member(out, d->members[i]);
        }
}

static void md_type(FILE *out, const IdlDecl *d) {
        char *t;

        fprintf(out, "### %s %s\n\n", decl_kind(d->kind), d->name);
        md_doc(out, d->meta.doc);
        switch (d->kind) {
        case IDL_D_STRUCT:
                fprintf(out, "Signature `%s`; C type `%s`.\n\n", d->signature ? d->signature : "",
                        d->c_name ? d->c_name : "");
                fputs("| Field | Type | Signature | Description |\n|---|---|---|---|\n", out);
                for (size_t i = 0; i < d->n_fields; i++) {
                        char *sig = idl_type_signature(d->fields[i]->type);
                        t = type_str(d->fields[i]->type);
                        fprintf(out, "| `%s` | `%s` | `%s` |", d->fields[i]->name, t, sig);
                        md_cell(out, d->fields[i]->meta.doc);
                        free(t);
                        free(sig);
                }
                fputc('\n', out);
                break;
        case IDL_D_ENUM:
        case IDL_D_FLAGS:
                t = type_str(d->base);
                fprintf(out, "Base type `%s`, signature `%s`; C type `%s`.\n\n", t,
                        d->signature ? d->signature : "", d->c_name ? d->c_name : "");
                free(t);
                fputs("| Name | Value | C name |\n|---|---|---|\n", out);
                for (size_t i = 0; i < d->n_values; i++) {
                        const IdlEnumValue *v = d->values[i];
                        if (d->kind == IDL_D_FLAGS && v->value >= 0)
                                fprintf(out, "| `%s` | 0x%llx | `%s` |\n", v->name,
                                        (unsigned long long)v->value, v->c_name ? v->c_name : "");
                        else
                                fprintf(out, "| `%s` | %lld | `%s` |\n", v->name, (long long)v->value,
                                        v->c_name ? v->c_name : "");
                }
                fputc('\n', out);
                break;
        case IDL_D_TYPEDEF:
                t = type_str(d->target);
                fprintf(out, "Stands for `%s`, signature `%s`.\n\n", t, d->signature ? d->signature : "");
                free(t);
                break;
        case IDL_D_INTERFACE:
                break;
        }
        md_meta(out, &d->meta, d->deprecated);
}

int idl_gen_docs(const IdlUnit *u, FILE *out) {
        const IdlFile *f = u->files[0];
        const char *bus = bus_name_of(f);

        fputs("<!-- Generated by busrpc-idlc. Do not edit. -->\n", out);
        fprintf(out, "# %s\n\n", idl_gen_basename(u));
        if (bus)
                fprintf(out, "Served on the bus as `%s`.\n\n", bus);
        for (size_t i = 0; i < f->n_decls; i++)
                if (f->decls[i]->kind == IDL_D_INTERFACE)
                        md_interface(out, f->decls[i]);
        if (count_types(f)) {
                fputs("## Types\n\n", out);
                for (size_t i = 0; i < f->n_decls; i++)
                        if (f->decls[i]->kind != IDL_D_INTERFACE)
                                md_type(out, f->decls[i]);
        }
        return 0;
}

/* ---- man page ---- */

/* Names, IDL types and signatures are written as they are: checked names
 * and types hold nothing roff reads specially. Free text (doc comments,
 * annotation values) goes through man_text(). */

/* The code point of the UTF-8 sequence at *p, advancing *p past it; 0
 * (and one byte) when no valid sequence starts there: overlong forms,
 * surrogates and values past U+10FFFF are not characters. */
static unsigned long utf8_next(const char **p) {
        uint32_t cp = 0;
        /* names_utf8_len() stops at the NUL: 4 is safe here. */
        size_t n = names_utf8_len((const unsigned char *)*p, 4, &cp);

        *p += n ? n : 1;
        return n ? cp : 0;
}

/* Text as roff: backslashes escaped, no line read as a request, blank
 * lines as paragraph breaks, non-ASCII as \[uXXXX] (the page is read
 * the same whatever groff takes the input encoding to be). */
static void man_text(FILE *out, const char *s) {
        bool bol = true;

        for (const char *p = s; *p;) {
                if ((unsigned char)*p >= 0x80) {
                        unsigned long cp = utf8_next(&p);
                        if (cp)
                                fprintf(out, "\\[u%04lX]", cp);
                        else
                                fputc('?', out);
                        bol = false;
                        continue;
                }
                if (bol && *p == '\n') {
                        fputs(".PP\n", out);
                        p++;
                        continue;
                }
                if (bol && (*p == '.' || *p == '\''))
                        fputs("\\&", out);
                if (*p == '\\')
                        fputs("\\e", out);
                else if (*p == '-')
                        fputs("\\-", out);
                else
                        fputc(*p, out);
                bol = *p == '\n';
                p++;
        }
        if (!bol)
                fputc('\n', out);
}

static void man_doc(FILE *out, const char *doc) {
        if (doc && *doc)
                man_text(out, doc);
}

static void man_meta(FILE *out, const IdlMeta *m, bool deprecated) {
        const char *since = since_of(m);

        if (deprecated)
                fputs(".br\nDeprecated.\n", out);
        if (since) {
                fputs(".br\nSince ", out);
                man_text(out, since);
        }
        for (size_t i = 0; i < m->n_annots; i++) {
                char *buf = NULL;
                size_t len = 0;
                FILE *f;
                if (!listed(m->annots[i]) || !(f = open_memstream(&buf, &len)))
                        continue;
                idl_gen_put_annot(f, m->annots[i]);
                fclose(f);
                fputs(".br\nAnnotation: ", out);
                man_text(out, buf ? buf : "");
                free(buf);
        }
}

static void man_args(FILE *out, const char *dir, IdlField **v, size_t n) {
        for (size_t i = 0; i < n; i++) {
                char *t = type_str(v[i]->type), *sig = idl_type_signature(v[i]->type);
                fprintf(out, ".br\n%s \\fI%s\\fR: %s (\\fB%s\\fR)\n", dir, arg_name(v[i]), t, sig);
                char *a = annots_str(&v[i]->meta, "");
                if (v[i]->meta.doc)
                        man_text(out, v[i]->meta.doc);
                if (a) {
                        fputs(".br\nAnnotations: ", out);
                        man_text(out, a);
                        free(a);
                }
                free(t);
                free(sig);
        }
}

static void man_member(FILE *out, const IdlMember *m) {
        fputs(".TP\n.B ", out);
        man_text(out, m->name);
        switch (m->kind) {
        case IDL_M_METHOD:
        case IDL_M_SIGNAL:
                man_doc(out, m->meta.doc);
                if (m->n_in + m->n_out == 0)
                        fputs(".br\nNo arguments.\n", out);
                man_args(out, m->kind == IDL_M_METHOD ? "in" : "out", m->in, m->n_in);
                man_args(out, "out", m->out, m->n_out);
                if (m->kind == IDL_M_METHOD && m->noreply)
                        fputs(".br\nNo reply: callers do not wait for one.\n", out);
                for (size_t i = 0; i < m->n_raises; i++) {
                        const IdlRaise *r = m->raises[i];
                        fputs(".br\nError: ", out);
                        man_text(out, r->error && r->error->dbus_error ? r->error->dbus_error : r->name);
                }
                break;
        case IDL_M_PROPERTY: {
                char *t = type_str(m->type), *sig = idl_type_signature(m->type);
                man_doc(out, m->meta.doc);
                fprintf(out, ".br\nType %s (\\fB%s\\fR), %s", t, sig, access_str(m->access));
                if (m->access != IDL_ACCESS_WRITE) {
                        fputs("; emits changed: ", out);
                        man_text(out, emits_str(m->emits));
                } else {
                        fputc('\n', out);
                }
                free(t);
                free(sig);
                break;
        }
        case IDL_M_ERROR:
                man_doc(out, m->meta.doc);
                fputs(".br\nName: ", out);
                man_text(out, m->dbus_error ? m->dbus_error : m->name);
                break;
        }
        man_meta(out, &m->meta, m->deprecated);
}

static void man_interface(FILE *out, const IdlDecl *d) {
        fputs(".SH INTERFACE ", out);
        man_text(out, d->name);
        man_doc(out, d->meta.doc);
        fputs(".PP\nC name: ", out);
        man_text(out, d->c_name ? d->c_name : "");
        man_meta(out, &d->meta, d->deprecated);
        for (int k = IDL_M_METHOD; k <= IDL_M_ERROR; k++) {
                if (!count_kind(d, (IdlMemberKind)k))
                        continue;
                fprintf(out, ".SS %s\n", section_names[k]);
                for (size_t i = 0; i < d->n_members; i++)
                        if (d->members[i]->kind == (IdlMemberKind)k)
                                man_member(out, d->members[i]);
        }
}

static void man_type(FILE *out, const IdlDecl *d) {
        char *t;

        fprintf(out, ".TP\n.B %s ", decl_kind(d->kind));
        man_text(out, d->name);
        man_doc(out, d->meta.doc);
        switch (d->kind) {
        case IDL_D_STRUCT:
                for (size_t i = 0; i < d->n_fields; i++) {
                        char *sig = idl_type_signature(d->fields[i]->type);
                        t = type_str(d->fields[i]->type);
                        fprintf(out, ".br\nfield \\fI%s\\fR: %s (\\fB%s\\fR)\n", d->fields[i]->name, t, sig);
                        free(t);
                        free(sig);
                }
                break;
        case IDL_D_ENUM:
        case IDL_D_FLAGS:
                for (size_t i = 0; i < d->n_values; i++) {
                        const IdlEnumValue *v = d->values[i];
                        fprintf(out, ".br\n\\fI%s\\fR = ", v->name);
                        if (d->kind == IDL_D_FLAGS && v->value >= 0)
                                fprintf(out, "0x%llx\n", (unsigned long long)v->value);
                        else
                                fprintf(out, "%s%lld\n", v->value < 0 ? "\\-" : "",
                                        v->value < 0 ? -(long long)v->value : (long long)v->value);
                }
                break;
        case IDL_D_TYPEDEF:
                t = type_str(d->target);
                fputs(".br\nStands for ", out);
                man_text(out, t);
                free(t);
                break;
        case IDL_D_INTERFACE:
                break;
        }
        if (d->signature) {
                fputs(".br\nSignature ", out);
                man_text(out, d->signature);
        }
        man_meta(out, &d->meta, d->deprecated);
}

int idl_gen_man(const IdlUnit *u, FILE *out) {
        const IdlFile *f = u->files[0];
        const char *bus = bus_name_of(f);
        bool first = true;

        fputs(".\\\" Generated by busrpc-idlc. Do not edit.\n", out);
        fputs(".TH \"", out);
        fprintf(out, "%s\" 7 \"\" \"busrpc\" \"D-Bus interfaces\"\n", idl_gen_basename(u));
        fputs(".SH NAME\n", out);
        fprintf(out, "%s \\- D-Bus interface%s", idl_gen_basename(u), n_ifaces(f) > 1 ? "s" : "");
        for (size_t i = 0; i < f->n_decls; i++) {
                if (f->decls[i]->kind != IDL_D_INTERFACE)
                        continue;
                fputs(first ? " " : ", ", out);
                fputs(f->decls[i]->name, out);
                first = false;
        }
        fputc('\n', out);
        if (bus) {
                fprintf(out, ".SH DESCRIPTION\nServed on the bus as\n.BR %s .\n", bus);
        }
        for (size_t i = 0; i < f->n_decls; i++)
                if (f->decls[i]->kind == IDL_D_INTERFACE)
                        man_interface(out, f->decls[i]);
        if (count_types(f)) {
                fputs(".SH TYPES\n", out);
                for (size_t i = 0; i < f->n_decls; i++)
                        if (f->decls[i]->kind != IDL_D_INTERFACE)
                                man_type(out, f->decls[i]);
        }
        fputs(".SH SEE ALSO\n.BR busctl (1),\n.BR busrpc-idlc (1),\n.BR busrpc (7)\n", out);
        return 0;
}
