/* gen-xml.c: the D-Bus introspection XML of the main file's interfaces.
 *
 * The XML is the standard one (what busctl and gdbus print), plus a few
 * annotations that carry what D-Bus has no place for (doc comments, C
 * names, errors, raises, IDL types, the type declarations themselves), so
 * that xml-import.c gets the same IDL back: IDL -> XML -> IDL is a fixed
 * point. The annotation names are in xml-import.h; the mapping is
 * documented in docs/idl-xml.md.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../common/names.h"
#include "gen.h"
#include "types.h"
#include "xml-import.h"

#define DOCTYPE                                                                    \
        "<!DOCTYPE node PUBLIC \"-//freedesktop//DTD D-BUS Object Introspection "  \
        "1.0//EN\" \"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd\">\n"

/* A growing string, for the IDL text carried in annotations. */
typedef struct Buf {
        FILE *f;
        char *s;
        size_t len;
} Buf;

static void buf_open(Buf *b) {
        b->s = NULL;
        b->len = 0;
        b->f = open_memstream(&b->s, &b->len);
}

/* The text, or NULL when memory ran out (the caller reports -ENOMEM). */
static char *buf_close(Buf *b) {
        if (!b->f)
                return NULL;
        if (fclose(b->f) != 0) {
                free(b->s);
                return NULL;
        }
        return b->s;
}

/* An attribute value. Raw whitespace would be normalised by the reader, so
 * it goes as character references; what XML 1.0 cannot carry at all (other
 * control characters, invalid UTF-8) becomes U+FFFD. */
static void xml_escape(FILE *out, const char *str) {
        const unsigned char *s = (const unsigned char *)str;
        uint32_t cp = 0;
        size_t n;

        while (s && *s) {
                switch (*s) {
                case '&': fputs("&amp;", out); break;
                case '<': fputs("&lt;", out); break;
                case '>': fputs("&gt;", out); break;
                case '"': fputs("&quot;", out); break;
                case '\'': fputs("&apos;", out); break;
                case '\n': fputs("&#10;", out); break;
                case '\t': fputs("&#9;", out); break;
                case '\r': fputs("&#13;", out); break;
                default:
                        /* names_utf8_len() stops at the NUL: 4 is safe here. */
                        if (*s < 0x20 || !(n = names_utf8_len(s, 4, &cp)) || cp == 0xfffe || cp == 0xffff) {
                                fputs("\xef\xbf\xbd", out);
                                break;
                        }
                        fwrite(s, 1, n, out);
                        s += n;
                        continue;
                }
                s++;
        }
}

static void indent(FILE *out, int n) {
        fprintf(out, "%*s", 2 * n, "");
}

static void xml_annot(FILE *out, int ind, const char *name, const char *value) {
        indent(out, ind);
        fputs("<annotation name=\"", out);
        xml_escape(out, name);
        fputs("\" value=\"", out);
        xml_escape(out, value ? value : "");
        fputs("\"/>\n", out);
}

/* ---- IDL spellings, for the annotations ---- */

/* Whether the IDL type says more than its signature: a name or shm. */
static bool type_needs_annot(const IdlType *t) {
        for (; t; t = t->elem) {
                if (t->kind == IDL_T_NAMED || t->kind == IDL_T_SHM)
                        return true;
                if (t->key && type_needs_annot(t->key))
                        return true;
        }
        return false;
}

/* A doc comment that the IDL lexer reads back as the same text: one line
 * when that is safe, else one " * " line per line (the lexer strips
 * exactly that decoration). Trailing blanks would not survive: cut them. */
static void idl_doc(FILE *out, const char *doc) {
        size_t n = doc ? strlen(doc) : 0;

        while (n > 0 && strchr(" \t\r\n", doc[n - 1]))
                n--;
        if (n == 0)
                return;
        if (!memchr(doc, '\n', n) && !strchr(" \t*", doc[0])) {
                fprintf(out, "/** %.*s */ ", (int)n, doc);
                return;
        }
        fputs("/**\n", out);
        for (const char *p = doc, *end = doc + n; p < end;) {
                const char *eol = memchr(p, '\n', (size_t)(end - p));
                size_t len = eol ? (size_t)(eol - p) : (size_t)(end - p);
                fprintf(out, " * %.*s\n", (int)len, p);
                p += len + 1;
        }
        fputs(" */ ", out);
}

static void idl_annots(FILE *out, const IdlMeta *m) {
        for (size_t i = 0; i < m->n_annots; i++) {
                if (m->annots[i]->kind == IDL_A_UNKNOWN)
                        continue; /* check warned: it has no meaning */
                idl_gen_put_annot(out, m->annots[i]);
                fputc(' ', out);
        }
}

static void idl_meta(FILE *out, const IdlMeta *m) {
        idl_doc(out, m->doc);
        idl_annots(out, m);
}

/* A struct, enum, flags or typedef as IDL on one logical line. */
static char *idl_decl_text(const IdlDecl *d) {
        Buf b;
        FILE *out;

        buf_open(&b);
        if (!(out = b.f))
                return NULL;
        idl_meta(out, &d->meta);
        switch (d->kind) {
        case IDL_D_STRUCT:
                fprintf(out, "struct %s {", d->name);
                for (size_t i = 0; i < d->n_fields; i++) {
                        fputc(' ', out);
                        idl_meta(out, &d->fields[i]->meta);
                        idl_gen_put_type(out, d->fields[i]->type);
                        fprintf(out, " %s;", d->fields[i]->name);
                }
                fputs(" }", out);
                break;
        case IDL_D_ENUM:
        case IDL_D_FLAGS:
                fprintf(out, "%s %s : ", d->kind == IDL_D_ENUM ? "enum" : "flags", d->name);
                idl_gen_put_type(out, d->base);
                fputs(" {", out);
                for (size_t i = 0; i < d->n_values; i++) {
                        const IdlEnumValue *v = d->values[i];
                        fputs(i ? ", " : " ", out);
                        idl_meta(out, &v->meta);
                        fputs(v->name, out);
                        if (!v->has_value)
                                continue;
                        if (d->kind == IDL_D_FLAGS && !v->negative)
                                fprintf(out, " = 0x%llx", (unsigned long long)v->magnitude);
                        else
                                fprintf(out, " = %s%llu", v->negative ? "-" : "",
                                        (unsigned long long)v->magnitude);
                }
                fputs(" }", out);
                break;
        case IDL_D_TYPEDEF:
                fputs("typedef ", out);
                idl_gen_put_type(out, d->target);
                fprintf(out, " %s;", d->name);
                break;
        case IDL_D_INTERFACE:
                break;
        }
        return buf_close(&b);
}

/* An error member: its name, after its doc comment and annotations. */
static char *idl_error_text(const IdlMember *m) {
        Buf b;

        buf_open(&b);
        if (!b.f)
                return NULL;
        idl_meta(b.f, &m->meta);
        fputs(m->name, b.f);
        return buf_close(&b);
}

/* ---- which declarations travel with which interface ---- */

static size_t decl_index(const IdlFile *f, const IdlDecl *d) {
        for (size_t i = 0; i < f->n_decls; i++)
                if (f->decls[i] == d)
                        return i;
        return SIZE_MAX;
}

static void mark_type(const IdlFile *f, const IdlType *t, bool *used, int depth);

static void mark_decl(const IdlFile *f, const IdlDecl *d, bool *used, int depth) {
        size_t i = decl_index(f, d);

        if (i == SIZE_MAX || used[i] || depth > 256)
                return;
        used[i] = true;
        for (size_t k = 0; k < d->n_fields; k++)
                mark_type(f, d->fields[k]->type, used, depth + 1);
        mark_type(f, d->base, used, depth + 1);
        mark_type(f, d->target, used, depth + 1);
}

static void mark_type(const IdlFile *f, const IdlType *t, bool *used, int depth) {
        for (; t; t = t->elem) {
                if (t->key)
                        mark_type(f, t->key, used, depth + 1);
                if (t->kind == IDL_T_NAMED && t->decl)
                        mark_decl(f, t->decl, used, depth + 1);
        }
}

static void mark_iface(const IdlFile *f, const IdlDecl *d, bool *used) {
        for (size_t i = 0; i < d->n_members; i++) {
                const IdlMember *m = d->members[i];
                for (size_t k = 0; k < m->n_in; k++)
                        mark_type(f, m->in[k]->type, used, 0);
                for (size_t k = 0; k < m->n_out; k++)
                        mark_type(f, m->out[k]->type, used, 0);
                mark_type(f, m->type, used, 0);
        }
}

/* ---- elements ---- */

/* skip: an annotation the reader works out by itself (an argument's C
 * name), or NULL. */
static void meta_annots(FILE *out, int ind, const IdlMeta *m, const IdlAnnot *skip) {
        if (m->doc)
                xml_annot(out, ind, IDL_XML_DOC, m->doc);
        for (size_t i = 0; i < m->n_annots; i++) {
                const IdlAnnot *a = m->annots[i];
                if (a == skip)
                        continue;
                switch (a->kind) {
                case IDL_A_NOREPLY: xml_annot(out, ind, IDL_XML_NOREPLY, "true"); break;
                case IDL_A_DEPRECATED: xml_annot(out, ind, IDL_XML_DEPRECATED, "true"); break;
                case IDL_A_C_NAME: xml_annot(out, ind, IDL_XML_CNAME, a->value); break;
                case IDL_A_EMITS_CHANGED: xml_annot(out, ind, IDL_XML_EMITS, a->value); break;
                case IDL_A_DBUS: xml_annot(out, ind, a->name, a->value); break;
                case IDL_A_BUS_NAME: xml_annot(out, ind, IDL_XML_BUS_NAME, a->value); break;
                case IDL_A_EXEC: xml_annot(out, ind, IDL_XML_EXEC, a->value); break;
                case IDL_A_SYSTEMD_SERVICE: xml_annot(out, ind, IDL_XML_SYSTEMD_SERVICE, a->value); break;
                case IDL_A_USER: xml_annot(out, ind, IDL_XML_USER, a->value); break;
                case IDL_A_SINCE: xml_annot(out, ind, IDL_XML_SINCE, a->value); break;
                case IDL_A_MAX_SIZE: xml_annot(out, ind, IDL_XML_MAX_SIZE, a->value); break;
                case IDL_A_UNKNOWN: break;
                }
        }
}

/* Whether the element gets <annotation> children (unknown IDL annotations,
 * which check warned about, have no XML form). */
static bool has_annots(const IdlMeta *m, const IdlType *t, const IdlAnnot *skip) {
        for (size_t i = 0; i < m->n_annots; i++)
                if (m->annots[i]->kind != IDL_A_UNKNOWN && m->annots[i] != skip)
                        return true;
        return m->doc || type_needs_annot(t);
}

static void type_annot(FILE *out, int ind, const IdlType *t) {
        Buf b;
        char *s;

        if (!type_needs_annot(t))
                return;
        buf_open(&b);
        if (!b.f)
                return;
        idl_gen_put_type(b.f, t);
        if ((s = buf_close(&b))) {
                xml_annot(out, ind, IDL_XML_TYPE, s);
                free(s);
        }
}

/* derived: the C name xml-import.c would give the argument by itself; an
 * @c_name saying the same is not written, so XML read and written back
 * keeps its annotations. */
static void xml_arg(FILE *out, const IdlField *a, const char *dir, const char *derived) {
        char *sig = idl_type_signature(a->type);
        const IdlAnnot *cn = idl_meta_find_annot(&a->meta, IDL_A_C_NAME);
        const IdlAnnot *skip = cn && cn->value && strcmp(cn->value, derived) == 0 ? cn : NULL;

        indent(out, 3);
        fputs("<arg name=\"", out);
        xml_escape(out, a->dbus_name ? a->dbus_name : a->name);
        fputs("\" type=\"", out);
        xml_escape(out, sig);
        fputc('"', out);
        if (dir)
                fprintf(out, " direction=\"%s\"", dir);
        free(sig);
        if (!has_annots(&a->meta, a->type, skip)) {
                fputs("/>\n", out);
                return;
        }
        fputs(">\n", out);
        meta_annots(out, 4, &a->meta, skip);
        type_annot(out, 4, a->type);
        indent(out, 3);
        fputs("</arg>\n", out);
}

static int xml_member(FILE *out, const IdlMember *m) {
        static const char *const access[] = {
                [IDL_ACCESS_READ] = "read", [IDL_ACCESS_READWRITE] = "readwrite",
                [IDL_ACCESS_WRITE] = "write",
        };
        const char *el = m->kind == IDL_M_METHOD ? "method" : m->kind == IDL_M_SIGNAL ? "signal" : "property";
        char *s, **cn;

        if (m->kind == IDL_M_ERROR) {
                if (!(s = idl_error_text(m)))
                        return -ENOMEM;
                xml_annot(out, 2, IDL_XML_ERROR, s);
                free(s);
                return 0;
        }
        indent(out, 2);
        fprintf(out, "<%s name=\"", el);
        xml_escape(out, m->name);
        fputc('"', out);
        if (m->kind == IDL_M_PROPERTY) {
                s = idl_type_signature(m->type);
                fputs(" type=\"", out);
                xml_escape(out, s);
                fprintf(out, "\" access=\"%s\"", access[m->access]);
                free(s);
                if (!has_annots(&m->meta, m->type, NULL)) {
                        fputs("/>\n", out);
                        return 0;
                }
        } else if (!m->n_in && !m->n_out && !m->n_raises && !has_annots(&m->meta, NULL, NULL)) {
                fputs("/>\n", out);
                return 0;
        }
        fputs(">\n", out);
        cn = idl_xcalloc(m->n_in + m->n_out + 1, sizeof(*cn));
        idl_xml_arg_c_names(m, cn);
        for (size_t i = 0; i < m->n_in; i++)
                xml_arg(out, m->in[i], m->kind == IDL_M_METHOD ? "in" : NULL, cn[i]);
        for (size_t i = 0; i < m->n_out; i++)
                xml_arg(out, m->out[i], "out", cn[m->n_in + i]);
        for (size_t i = 0; i < m->n_in + m->n_out; i++)
                free(cn[i]);
        free(cn);
        meta_annots(out, 3, &m->meta, NULL);
        if (m->kind == IDL_M_PROPERTY)
                type_annot(out, 3, m->type);
        if (m->n_raises) {
                Buf b;
                buf_open(&b);
                if (!b.f)
                        return -ENOMEM;
                for (size_t i = 0; i < m->n_raises; i++)
                        fprintf(b.f, "%s%s", i ? ", " : "", m->raises[i]->name);
                if (!(s = buf_close(&b)))
                        return -ENOMEM;
                xml_annot(out, 3, IDL_XML_RAISES, s);
                free(s);
        }
        indent(out, 2);
        fprintf(out, "</%s>\n", el);
        return 0;
}

static int xml_iface(FILE *out, const IdlFile *f, const IdlDecl *d, const bool *used) {
        int r;

        indent(out, 1);
        fputs("<interface name=\"", out);
        xml_escape(out, d->name);
        fputs("\">\n", out);
        meta_annots(out, 2, &d->meta, NULL);
        for (size_t i = 0; i < f->n_imports; i++)
                xml_annot(out, 2, IDL_XML_IMPORT, f->imports[i]->path);
        for (size_t i = 0; i < f->n_decls; i++) {
                char *s;
                if (!used[i] || f->decls[i]->kind == IDL_D_INTERFACE)
                        continue;
                if (!(s = idl_decl_text(f->decls[i])))
                        return -ENOMEM;
                xml_annot(out, 2, IDL_XML_DECL, s);
                free(s);
        }
        for (size_t i = 0; i < d->n_members; i++)
                if ((r = xml_member(out, d->members[i])) < 0)
                        return r;
        indent(out, 1);
        fputs("</interface>\n", out);
        return 0;
}

int idl_gen_xml(const IdlUnit *u, FILE *out) {
        const IdlFile *f;
        bool *used, *unused;
        bool first = true;
        size_t n_ifaces = 0;
        int r = 0;

        if (!u || u->n_files == 0 || !out)
                return -EINVAL;
        f = u->files[0];
        used = idl_xcalloc(f->n_decls + 1, sizeof(*used));
        unused = idl_xcalloc(f->n_decls + 1, sizeof(*unused));
        /* Types no interface uses travel with the first interface. */
        for (size_t i = 0; i < f->n_decls; i++) {
                if (f->decls[i]->kind == IDL_D_INTERFACE) {
                        mark_iface(f, f->decls[i], unused);
                        n_ifaces++;
                }
        }
        for (size_t i = 0; i < f->n_decls; i++)
                unused[i] = !unused[i];

        fputs(DOCTYPE, out);
        fputs("<!-- Generated by busrpc-idlc. Do not edit. -->\n", out);
        fputs("<node>\n", out);
        if (n_ifaces == 0 && (f->n_decls || f->n_imports)) {
                /* Types and no interface: XML has no place for them, so
                 * they travel on an interface that only says so. */
                IdlDecl carrier = { .kind = IDL_D_INTERFACE, .name = (char *)IDL_XML_TYPES_IFACE };
                r = xml_iface(out, f, &carrier, unused);
        }
        for (size_t i = 0; i < f->n_decls && r >= 0; i++) {
                const IdlDecl *d = f->decls[i];
                if (d->kind != IDL_D_INTERFACE)
                        continue;
                memset(used, 0, f->n_decls * sizeof(*used));
                mark_iface(f, d, used);
                for (size_t k = 0; first && k < f->n_decls; k++)
                        used[k] |= unused[k];
                first = false;
                r = xml_iface(out, f, d, used);
        }
        fputs("</node>\n", out);
        free(used);
        free(unused);
        if (r >= 0 && ferror(out))
                r = -EIO;
        return r;
}
