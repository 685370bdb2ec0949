/* gen-c-xml.c: the <interface> element the server embeds for Introspect.
 *
 * It must be the element busrpc-idlc --xml writes, so it is cut out of
 * idl_gen_xml()'s output for the same unit. Should that ever fail (an
 * interface idl_gen_xml() did not write), a minimal emitter below writes
 * the element from the tree: names, arguments, properties and the
 * standard annotations. A per-interface entry point in gen-xml.c
 * (int idl_gen_xml_interface(const IdlDecl *iface, FILE *out)) would make
 * the cutting unnecessary.
 */
#include <stdlib.h>
#include <string.h>
#include "gen-c.h"
#include "gen.h"

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
                xml_attr(f, a[i]->dbus_name ? a[i]->dbus_name : a[i]->name);
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

/* The element as idl_gen_xml() writes it: from the start of the line of
 * <interface name="..."> to the end of the line of its </interface>. */
static char *from_gen_xml(const GenC *g, const IdlDecl *iface) {
        char *buf = NULL, *open, *start, *end, *res = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f)
                return NULL;
        if (idl_gen_xml(g->u, f) < 0 || fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        open = idl_xasprintf("<interface name=\"%s\">", iface->name);
        start = strstr(buf, open);
        end = start ? strstr(start, "</interface>") : NULL;
        if (start && end) {
                while (start > buf && start[-1] == ' ')
                        start--;
                end += strlen("</interface>");
                if (*end == '\n')
                        end++;
                res = idl_xstrndup(start, (size_t)(end - start));
        }
        free(open);
        free(buf);
        return res;
}

static char *element_text(const GenC *g, const IdlDecl *iface) {
        char *buf = from_gen_xml(g, iface);
        size_t len = 0;
        FILE *f;

        if (buf)
                return buf;
        f = open_memstream(&buf, &len);
        if (!f)
                return NULL;
        element(f, iface);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

size_t genc_xml_length(const GenC *g, const IdlDecl *iface) {
        char *buf = element_text(g, iface);
        size_t len = buf ? strlen(buf) : 0;

        free(buf);
        return len;
}

void genc_emit_xml_literal(GenC *g, const IdlDecl *iface, int indent) {
        char *buf = element_text(g, iface);
        const char *p;

        if (!buf)
                return;
        /* One C string literal per element of the interface (a member with
         * its arguments and annotations); octal escapes always take three
         * digits, so a following digit is never swallowed. */
        for (p = buf; *p;) {
                const char *e = strchr(p, '\n');
                size_t n = e ? (size_t)(e - p) : strlen(p);
                bool join = p != buf && (strncmp(p, "      ", 6) == 0 || strncmp(p, "    </", 6) == 0);
                if (!join) {
                        if (p != buf)
                                genc_p(g, "\"\n");
                        for (int i = 0; i < indent; i++)
                                genc_p(g, "        ");
                        genc_p(g, "\"");
                }
                for (size_t i = 0; i < n; i++) {
                        unsigned char c = (unsigned char)p[i];
                        if (c == '"' || c == '\\' || c == '?') /* '?': no trigraphs */
                                genc_p(g, "\\%c", c);
                        else if (c < 0x20 || c >= 0x7f)
                                genc_p(g, "\\%03o", c);
                        else
                                genc_p(g, "%c", c);
                }
                if (e)
                        genc_p(g, "\\n");
                if (!e)
                        break;
                p = e + 1;
        }
        genc_p(g, "\"\n");
        free(buf);
}
