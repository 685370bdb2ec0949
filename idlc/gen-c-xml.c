/* gen-c-xml.c: the <interface> element the server embeds for Introspect.
 *
 * TEMPORARY: a minimal emitter of the same element gen-xml.c writes for
 * --xml. It is to be replaced by a call to gen-xml.c's per-interface
 * writer (requested: int idl_gen_xml_interface(const IdlDecl *iface,
 * FILE *out)) so both outputs can never disagree. Only genc_emit_xml_literal()
 * needs to change: it would write the element to a memory stream and quote
 * it line by line, as below.
 */
#include <stdlib.h>
#include <string.h>
#include "gen-c.h"

/* Append s to the XML text, escaped for an attribute value. */
static void xml_attr(FILE *f, const char *s) {
        for (; s && *s; s++) {
                switch (*s) {
                case '&': fputs("&amp;", f); break;
                case '<': fputs("&lt;", f); break;
                case '>': fputs("&gt;", f); break;
                case '"': fputs("&quot;", f); break;
                case '\'': fputs("&apos;", f); break;
                default: fputc(*s, f); break;
                }
        }
}

static void annot(FILE *f, const char *ind, const char *name, const char *value) {
        fprintf(f, "%s<annotation name=\"", ind);
        xml_attr(f, name);
        fputs("\" value=\"", f);
        xml_attr(f, value);
        fputs("\"/>\n", f);
}

static void annots(FILE *f, const char *ind, const IdlMeta *m) {
        for (size_t i = 0; i < m->n_annots; i++) {
                const IdlAnnot *a = m->annots[i];
                if (a->kind == IDL_A_DEPRECATED)
                        annot(f, ind, "org.freedesktop.DBus.Deprecated", "true");
                else if (a->kind == IDL_A_NOREPLY)
                        annot(f, ind, "org.freedesktop.DBus.Method.NoReply", "true");
                else if (a->kind == IDL_A_EMITS_CHANGED && a->value)
                        annot(f, ind, "org.freedesktop.DBus.Property.EmitsChangedSignal", a->value);
                else if (a->kind == IDL_A_DBUS && a->name)
                        annot(f, ind, a->name, a->value ? a->value : "");
        }
}

static void args(FILE *f, IdlField **a, size_t n, const char *dir) {
        for (size_t i = 0; i < n; i++) {
                char *sig = idl_type_signature(a[i]->type);
                fputs("      <arg name=\"", f);
                xml_attr(f, a[i]->name);
                fputs("\" type=\"", f);
                xml_attr(f, sig);
                fputs("\"", f);
                if (dir)
                        fprintf(f, " direction=\"%s\"", dir);
                fputs("/>\n", f);
                free(sig);
        }
}

static void element(FILE *f, const IdlDecl *d) {
        static const char *const access[] = { "read", "readwrite", "write" };

        fputs("  <interface name=\"", f);
        xml_attr(f, d->name);
        fputs("\">\n", f);
        annots(f, "    ", &d->meta);
        for (size_t i = 0; i < d->n_members; i++) {
                const IdlMember *m = d->members[i];
                char *sig;
                switch (m->kind) {
                case IDL_M_METHOD:
                        fputs("    <method name=\"", f);
                        xml_attr(f, m->name);
                        fputs("\">\n", f);
                        args(f, m->in, m->n_in, "in");
                        args(f, m->out, m->n_out, "out");
                        annots(f, "      ", &m->meta);
                        fputs("    </method>\n", f);
                        break;
                case IDL_M_SIGNAL:
                        fputs("    <signal name=\"", f);
                        xml_attr(f, m->name);
                        fputs("\">\n", f);
                        args(f, m->in, m->n_in, NULL);
                        annots(f, "      ", &m->meta);
                        fputs("    </signal>\n", f);
                        break;
                case IDL_M_PROPERTY:
                        sig = idl_type_signature(m->type);
                        fputs("    <property name=\"", f);
                        xml_attr(f, m->name);
                        fputs("\" type=\"", f);
                        xml_attr(f, sig);
                        fprintf(f, "\" access=\"%s\"", access[m->access]);
                        free(sig);
                        if (m->meta.n_annots == 0) {
                                fputs("/>\n", f);
                                break;
                        }
                        fputs(">\n", f);
                        annots(f, "      ", &m->meta);
                        fputs("    </property>\n", f);
                        break;
                case IDL_M_ERROR:
                        break; /* D-Bus introspection has no element for errors */
                }
        }
        fputs("  </interface>\n", f);
}

size_t genc_xml_length(const IdlDecl *iface) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f)
                return 0;
        element(f, iface);
        if (fclose(f) != 0)
                len = 0;
        free(buf);
        return len;
}

void genc_emit_xml_literal(GenC *g, const IdlDecl *iface, int indent) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        const char *p;

        if (!f)
                return;
        element(f, iface);
        if (fclose(f) != 0) {
                free(buf);
                return;
        }
        /* One C string literal per line; octal escapes always take three
         * digits, so a following digit is never swallowed. */
        for (p = buf; *p;) {
                const char *e = strchr(p, '\n');
                size_t n = e ? (size_t)(e - p) : strlen(p);
                for (int i = 0; i < indent; i++)
                        genc_p(g, "        ");
                genc_p(g, "\"");
                for (size_t i = 0; i < n; i++) {
                        unsigned char c = (unsigned char)p[i];
                        if (c == '"' || c == '\\' || c == '?') /* '?': no trigraphs */
                                genc_p(g, "\\%c", c);
                        else if (c < 0x20 || c >= 0x7f)
                                genc_p(g, "\\%03o", c);
                        else
                                genc_p(g, "%c", c);
                }
                genc_p(g, "%s\"\n", e ? "\\n" : "");
                if (!e)
                        break;
                p = e + 1;
        }
        free(buf);
}
