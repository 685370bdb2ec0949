/* xml-import.c: D-Bus introspection XML to AST, with expat.
 *
 * The importer is a small state machine over expat's start/end events:
 * node > interface > method|signal|property > arg > annotation. It builds
 * the same AST the IDL parser builds and judges nothing check.c judges;
 * what it reports itself is what only the XML knows: malformed XML,
 * unknown elements and attributes, bad signatures, missing attributes.
 *
 * Types are built after the whole document is read, by xml-sig.c,
 * because an arg's org.busrpc.Type annotation comes after the arg and
 * generated struct names must not collide with types declared anywhere in
 * the file. The mapping (and the struct naming rule) is documented in
 * docs/idl-xml.md.
 */
#include <ctype.h>
#include <expat.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* check-internal.h: the checker's own C-name rules, so that names the XML
 * cannot help having are fixed here instead of failing the check. */
#include "check-internal.h"
#include "diag.h"
#include "parse.h"
#include "xml-import.h"
#include "xml-sig.h"

typedef enum Elem {
        E_ROOT, E_NODE, E_IFACE, E_METHOD, E_SIGNAL, E_PROPERTY, E_ARG, E_ANNOT, E_SKIP,
} Elem;

static const char *const elem_names[] = {
        [E_ROOT] = "", [E_NODE] = "node", [E_IFACE] = "interface", [E_METHOD] = "method",
        [E_SIGNAL] = "signal", [E_PROPERTY] = "property", [E_ARG] = "arg",
        [E_ANNOT] = "annotation", [E_SKIP] = "",
};

/* <doc:doc> documentation (xmlns:doc="http://www.freedesktop.org/dbus/1.0/doc.dtd",
 * as PackageKit writes it), read into one doc text: docs/idl-xml.md. */
#define DOC_NS "http://www.freedesktop.org/dbus/1.0/doc.dtd"

typedef struct DocText {
        IdlMeta *meta;        /* non-NULL while inside a <doc:doc>: whose doc it is */
        char *text, *para;    /* paragraphs done, and the one being read */
        size_t text_len, para_len;
        bool space;           /* whitespace seen since the last character of para */
        size_t in_item;       /* inside a <doc:item>: its paragraphs are one */
        char *url;            /* of the <doc:ulink> being read */
} DocText;

typedef struct Ctx {
        XML_Parser xp;
        IdlFile *f;
        Elem *stack;
        size_t depth, cap;
        size_t skip;          /* > 0: inside an ignored element */
        IdlDecl *iface;
        IdlMember *member;
        IdlField *arg;
        size_t n_args;        /* args of the current member so far */
        size_t cur_def;       /* XmlDeferred of the current arg or property */
        XmlDeferred *defs;
        size_t n_defs;
        XmlTypes ty;          /* declared and generated types */
        IdlDecl **ifaces;
        size_t n_ifaces;
        bool types_only;      /* read the interface that carries types only */
        DocText doc;          /* a <doc:doc> being read */
        IdlLoc doc_loc;       /* where it starts */
        char *doc_prefix;     /* the prefix bound to DOC_NS; "doc" until one is */
} Ctx;

static IdlLoc here(Ctx *c) {
        XML_Size line = XML_GetCurrentLineNumber(c->xp);
        XML_Size col = XML_GetCurrentColumnNumber(c->xp);
        return (IdlLoc){ c->f->path, line > INT_MAX ? INT_MAX : (int)line,
                         col >= INT_MAX ? INT_MAX : (int)col + 1 };
}

/* ---- IDL carried in annotations (org.busrpc.Declaration, .Error) ---- */

static void meta_fix(IdlMeta *m, IdlLoc to) {
        m->loc = to;
        for (size_t i = 0; i < m->n_annots; i++)
                m->annots[i]->loc = to;
}

static void type_fix(IdlType *t, IdlLoc to) {
        for (; t; t = t->elem) {
                t->loc = to;
                type_fix(t->key, to);
        }
}

static void fields_fix(IdlField **v, size_t n, IdlLoc to) {
        for (size_t i = 0; i < n; i++) {
                meta_fix(&v[i]->meta, to);
                type_fix(v[i]->type, to);
        }
}

static void member_fix(IdlMember *m, IdlLoc to) {
        meta_fix(&m->meta, to);
        fields_fix(m->in, m->n_in, to);
        fields_fix(m->out, m->n_out, to);
        for (size_t i = 0; i < m->n_raises; i++)
                m->raises[i]->loc = to;
        type_fix(m->type, to);
}

/* Every location inside d becomes the annotation's: the snippet's own
 * positions mean nothing to a reader of the XML file. */
static void decl_fix(IdlDecl *d, IdlLoc to, IdlFile *f) {
        d->file = f;
        meta_fix(&d->meta, to);
        fields_fix(d->fields, d->n_fields, to);
        type_fix(d->base, to);
        type_fix(d->target, to);
        for (size_t i = 0; i < d->n_values; i++)
                meta_fix(&d->values[i]->meta, to);
        for (size_t i = 0; i < d->n_members; i++)
                member_fix(d->members[i], to);
}

/* Parse pre + value + post as IDL. Blank lines in front put syntax errors
 * on the annotation's line of the XML file. */
static IdlFile *parse_snippet(Ctx *c, const char *pre, const char *value, const char *post,
                              IdlLoc loc) {
        size_t pad = loc.line > 1 ? (size_t)loc.line - 1 : 0;
        size_t np = strlen(pre), nv = strlen(value), nq = strlen(post);
        char *text;
        IdlFile *tmp;

        if (pad > (1u << 20))
                pad = 0;
        text = idl_xmalloc(pad + np + nv + nq + 1);
        memset(text, '\n', pad);
        memcpy(text + pad, pre, np);
        memcpy(text + pad + np, value, nv);
        memcpy(text + pad + np + nv, post, nq + 1);
        tmp = idl_parse_idl(c->f->path, text, pad + np + nv + nq);
        free(text);
        return tmp;
}

static void add_declaration(Ctx *c, const char *value, IdlLoc loc) {
        int before = idl_diag_errors();
        IdlFile *tmp = parse_snippet(c, "", value, "", loc);
        IdlDecl *d, *old;

        if (!tmp || idl_diag_errors() > before)
                goto out;
        if (tmp->n_imports || tmp->n_decls != 1 || tmp->decls[0]->kind == IDL_D_INTERFACE) {
                idl_error(loc, "annotation '%s' must hold one struct, enum, flags or typedef",
                          IDL_XML_DECL);
                goto out;
        }
        d = tmp->decls[0];
        if ((old = xml_find_decl(c->ty.types, c->ty.n_types, d->name))) {
                size_t i = 0;
                while (c->ty.types[i] != old)
                        i++;
                /* Each interface carries the types it uses: repeats are normal. */
                if (strcmp(c->ty.type_src[i], value) != 0) {
                        idl_error(loc, "conflicting declarations of type '%s'", d->name);
                        idl_note(old->meta.loc, "previous declaration is here");
                }
                goto out;
        }
        tmp->decls[0] = NULL;
        tmp->n_decls = 0;
        decl_fix(d, loc, c->f);
        {
                size_t n = c->ty.n_types;
                IDL_PUSH(c->ty.type_src, n, idl_xstrdup(value));
        }
        IDL_PUSH(c->ty.types, c->ty.n_types, d);
out:
        idl_file_free(tmp);
}

/* An error member: its name, or its doc comment and annotations in IDL
 * followed by its name. */
static void add_error(Ctx *c, const char *value, IdlLoc loc) {
        const char *s, *e = value + strlen(value);
        IdlMember *m = NULL;

        while (e > value && isspace((unsigned char)e[-1]))
                e--;
        for (s = e; s > value && (isalnum((unsigned char)s[-1]) || s[-1] == '_'); s--)
                ;
        if (check_is_c_ident(value)) {
                m = idl_xcalloc(1, sizeof(*m));
                m->kind = IDL_M_ERROR;
                m->name = idl_xstrdup(value);
                m->meta.loc = loc;
        } else if (s == e || !check_is_c_ident(s)) {
                idl_error(loc, "annotation '%s' must end with the name of the error", IDL_XML_ERROR);
        } else {
                char *pre = idl_xasprintf("interface x { %.*s error ", (int)(s - value), value);
                int before = idl_diag_errors();
                IdlFile *tmp = parse_snippet(c, pre, s, "; }", loc);
                IdlDecl *d = tmp && tmp->n_decls == 1 ? tmp->decls[0] : NULL;

                if (idl_diag_errors() == before && d && d->kind == IDL_D_INTERFACE &&
                    d->n_members == 1 && d->members[0]->kind == IDL_M_ERROR) {
                        m = d->members[0];
                        d->n_members = 0;
                        member_fix(m, loc);
                } else if (idl_diag_errors() == before) {
                        idl_error(loc, "annotation '%s' must hold one error", IDL_XML_ERROR);
                }
                idl_file_free(tmp);
                free(pre);
        }
        if (m) {
                m->iface = c->iface;
                IDL_PUSH(c->iface->members, c->iface->n_members, m);
        }
}

static void add_raises(IdlMember *m, const char *value, IdlLoc loc) {
        const char *p = value;

        for (;;) {
                const char *s, *e;
                IdlRaise *r;
                xml_skip_ws(&p);
                s = p;
                while (*p && *p != ',')
                        p++;
                for (e = p; e > s && isspace((unsigned char)e[-1]); e--)
                        ;
                if (e == s) {
                        idl_error(loc, "empty error name in annotation '%s'", IDL_XML_RAISES);
                } else {
                        r = idl_xcalloc(1, sizeof(*r));
                        r->name = idl_xstrndup(s, (size_t)(e - s));
                        r->loc = loc;
                        IDL_PUSH(m->raises, m->n_raises, r);
                }
                if (!*p)
                        return;
                p++;
        }
}

/* ---- annotations ---- */

static void add_annot(IdlMeta *m, IdlAnnotKind kind, const char *name, const char *value,
                      IdlLoc loc) {
        IdlAnnot *a = idl_xcalloc(1, sizeof(*a));
        a->kind = kind;
        a->name = idl_xstrdup(name);
        a->value = value ? idl_xstrdup(value) : NULL;
        a->loc = loc;
        IDL_PUSH(m->annots, m->n_annots, a);
}

/* Whether a doc string comes back unchanged from a doc comment: the IDL
 * lexer drops the blanks around it and at the end of each line, and "*" "/"
 * would end the comment. Other doc strings stay @annotation(...), verbatim. */
static bool doc_survives(const char *v) {
        size_t n = strlen(v);

        if (n == 0 || isspace((unsigned char)v[0]) || isspace((unsigned char)v[n - 1]) ||
            strstr(v, "*/") || strchr(v, '\r'))
                return false;
        for (const char *p = v; (p = strchr(p, '\n')); p++)
                if (p[-1] == ' ' || p[-1] == '\t')
                        return false;
        return true;
}

static bool is_emits_value(const char *v) {
        return strcmp(v, "true") == 0 || strcmp(v, "false") == 0 ||
               strcmp(v, "invalidates") == 0 || strcmp(v, "const") == 0;
}

static void on_annotation(Ctx *c, Elem parent, const char *name, const char *value, IdlLoc loc) {
        IdlMeta *m;
        bool member = parent == E_METHOD || parent == E_SIGNAL || parent == E_PROPERTY;
        bool typed = parent == E_PROPERTY || parent == E_ARG;

        switch (parent) {
        case E_IFACE: m = &c->iface->meta; break;
        case E_ARG: m = &c->arg->meta; break;
        default: m = &c->member->meta; break;
        }
        if (strcmp(name, IDL_XML_DOC) == 0 && !m->doc && doc_survives(value)) {
                m->doc = idl_xstrdup(value);
        } else if (strcmp(name, IDL_XML_CNAME) == 0 && (member || parent == E_IFACE || parent == E_ARG)) {
                /* It replaces the one fix_c_name() may have added. */
                for (size_t i = 0; i < m->n_annots; i++) {
                        if (m->annots[i]->kind == IDL_A_C_NAME) {
                                free(m->annots[i]->value);
                                m->annots[i]->value = idl_xstrdup(value);
                                m->annots[i]->loc = loc;
                                return;
                        }
                }
                add_annot(m, IDL_A_C_NAME, "c_name", value, loc);
        } else if (strcmp(name, IDL_XML_DEPRECATED) == 0 && strcmp(value, "true") == 0 &&
                   (member || parent == E_IFACE)) {
                add_annot(m, IDL_A_DEPRECATED, "deprecated", NULL, loc);
        } else if (strcmp(name, IDL_XML_NOREPLY) == 0 && strcmp(value, "true") == 0 &&
                   parent == E_METHOD) {
                add_annot(m, IDL_A_NOREPLY, "noreply", NULL, loc);
        } else if (strcmp(name, IDL_XML_EMITS) == 0 && is_emits_value(value) &&
                   (parent == E_PROPERTY || parent == E_IFACE)) {
                add_annot(m, IDL_A_EMITS_CHANGED, "emits_changed", value, loc);
        } else if (parent == E_IFACE && strcmp(name, IDL_XML_BUS_NAME) == 0) {
                add_annot(m, IDL_A_BUS_NAME, "bus_name", value, loc);
        } else if (parent == E_IFACE && strcmp(name, IDL_XML_EXEC) == 0) {
                add_annot(m, IDL_A_EXEC, "exec", value, loc);
        } else if (parent == E_IFACE && strcmp(name, IDL_XML_SYSTEMD_SERVICE) == 0) {
                add_annot(m, IDL_A_SYSTEMD_SERVICE, "systemd_service", value, loc);
        } else if (parent == E_IFACE && strcmp(name, IDL_XML_USER) == 0) {
                add_annot(m, IDL_A_USER, "user", value, loc);
        } else if ((member || parent == E_IFACE) && strcmp(name, IDL_XML_SINCE) == 0) {
                add_annot(m, IDL_A_SINCE, "since", value, loc);
        } else if (typed && strcmp(name, IDL_XML_MAX_SIZE) == 0) {
                add_annot(m, IDL_A_MAX_SIZE, "max_size", value, loc);
        } else if (strcmp(name, IDL_XML_TYPE) == 0 && typed) {
                XmlDeferred *df = &c->defs[c->cur_def];
                if (df->idl)
                        idl_error(loc, "annotation '%s' given twice", IDL_XML_TYPE);
                else
                        df->idl = idl_xstrdup(value);
        } else if (strcmp(name, IDL_XML_DECL) == 0 && parent == E_IFACE) {
                add_declaration(c, value, loc);
        } else if (strcmp(name, IDL_XML_ERROR) == 0 && parent == E_IFACE) {
                add_error(c, value, loc);
        } else if (strcmp(name, IDL_XML_RAISES) == 0 && parent == E_METHOD) {
                add_raises(c->member, value, loc);
        } else if (strcmp(name, IDL_XML_IMPORT) == 0 && parent == E_IFACE) {
                IdlImport *imp;
                for (size_t i = 0; i < c->f->n_imports; i++)
                        if (strcmp(c->f->imports[i]->path, value) == 0)
                                return;
                imp = idl_xcalloc(1, sizeof(*imp));
                imp->path = idl_xstrdup(value);
                imp->loc = loc;
                IDL_PUSH(c->f->imports, c->f->n_imports, imp);
        } else {
                if (strncmp(name, "org.busrpc.", 11) == 0)
                        idl_warning(loc, "annotation '%s' has no meaning on <%s>; kept as is", name,
                                    elem_names[parent]);
                add_annot(m, IDL_A_DBUS, name, value, loc);
        }
}

/* ---- <doc:doc> ---- */

static void str_add(char **s, size_t *len, const char *add, size_t n) {
        char *p = realloc(*s, *len + n + 1);
        if (!p)
                abort(); /* as idl_xmalloc */
        memcpy(p + *len, add, n);
        *len += n;
        p[*len] = '\0';
        *s = p;
}

/* Text goes into the paragraph with every run of whitespace made one
 * blank, and none at its start. */
static void doc_chars(DocText *d, const char *s, size_t n) {
        for (size_t i = 0; i < n; i++) {
                if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
                        d->space = d->para_len > 0;
                        continue;
                }
                if (d->space)
                        str_add(&d->para, &d->para_len, " ", 1);
                d->space = false;
                str_add(&d->para, &d->para_len, s + i, 1);
        }
}

static void doc_break(DocText *d) {
        if (d->para_len == 0)
                return;
        if (d->text_len)
                str_add(&d->text, &d->text_len, "\n\n", 2);
        str_add(&d->text, &d->text_len, d->para, d->para_len);
        d->para_len = 0;
        d->space = false;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len) {
        Ctx *c = ud;

        if (c->doc.meta && len > 0)
                doc_chars(&c->doc, s, (size_t)len);
}

/* The local name of a doc element, or NULL for any other element. */
static const char *doc_local(const Ctx *c, const char *name) {
        size_t n = strlen(c->doc_prefix);

        return strncmp(name, c->doc_prefix, n) == 0 && name[n] == ':' ? name + n + 1 : NULL;
}

/* Inline elements: <doc:tt> as `code`, <doc:ulink url> as its text and
 * (url), <doc:ref> as its text. A <doc:item> is one paragraph "- term:
 * definition". Every other element starts and ends a paragraph. */
static void doc_open(Ctx *c, const char *name, const XML_Char **attrs) {
        DocText *d = &c->doc;
        const char *l = doc_local(c, name);

        if (!l) {
                doc_break(d);
        } else if (strcmp(l, "tt") == 0) {
                doc_chars(d, "`", 1);
        } else if (strcmp(l, "ulink") == 0) {
                for (size_t i = 0; attrs[i]; i += 2)
                        if (strcmp(attrs[i], "url") == 0) {
                                free(d->url);
                                d->url = idl_xstrdup(attrs[i + 1]);
                        }
        } else if (strcmp(l, "ref") == 0 || strcmp(l, "term") == 0) {
                ;
        } else if (strcmp(l, "definition") == 0 && d->in_item) {
                d->space = false;
                doc_chars(d, ":", 1);
                d->space = true;
        } else if (strcmp(l, "item") == 0) {
                doc_break(d);
                doc_chars(d, "-", 1);
                d->space = true;
                d->in_item++;
        } else if (!d->in_item) {
                doc_break(d);
        }
}

static void doc_close(Ctx *c, const char *name) {
        DocText *d = &c->doc;
        const char *l = doc_local(c, name);

        if (l && strcmp(l, "tt") == 0) {
                /* No blank between the code and what follows it. */
                bool sp = d->space;
                d->space = false;
                doc_chars(d, "`", 1);
                d->space = sp;
        } else if (l && strcmp(l, "ulink") == 0) {
                if (d->url) {
                        char *u = idl_xasprintf(" (%s)", d->url);
                        doc_chars(d, u, strlen(u));
                        free(u);
                        free(d->url);
                        d->url = NULL;
                }
        } else if (l && (strcmp(l, "ref") == 0 || strcmp(l, "term") == 0 ||
                         strcmp(l, "definition") == 0)) {
                ;
        } else if (l && strcmp(l, "item") == 0) {
                d->in_item--;
                doc_break(d);
        } else if (!d->in_item) {
                doc_break(d);
        }
}

/* The end of the <doc:doc>: its text is the element's doc comment, or an
 * org.gtk.GDBus.DocString annotation when it has one already or the text
 * would not survive a doc comment. */
static void doc_done(Ctx *c, IdlLoc loc) {
        DocText *d = &c->doc;

        doc_break(d);
        if (d->text_len) {
                if (!d->meta->doc && doc_survives(d->text))
                        d->meta->doc = idl_xstrdup(d->text);
                else
                        add_annot(d->meta, IDL_A_DBUS, IDL_XML_DOC, d->text, loc);
        }
        free(d->text);
        free(d->para);
        free(d->url);
        *d = (DocText){ 0 };
}

/* ---- names the XML cannot help ---- */

/* Argument names are not part of the protocol, so one that cannot be a C
 * parameter (not an identifier, a C or C++ keyword, reserved for the
 * generated code) is renamed, with a warning, instead of failing. The name
 * stays the argument's D-Bus name (dbus_name), so the XML written back
 * says what the file said. */
static char *c_param(const char *name) {
        char *n;

        if (check_is_c_ident(name) && !check_c_keyword(name) && !check_is_reserved_param(name))
                return idl_xstrdup(name);
        if (check_is_reserved_param(name)) /* busrpc_*: a suffix would keep the prefix */
                return idl_xasprintf("arg_%s", name);
        if (check_is_c_ident(name))
                return idl_xasprintf("%s_", name);
        n = idl_xasprintf("%s%s", isdigit((unsigned char)*name) ? "arg_" : "", name);
        for (char *p = n; *p; p++)
                if (!isalnum((unsigned char)*p) && *p != '_')
                        *p = '_';
        return n;
}

static IdlField *arg_at(const IdlMember *m, size_t i) {
        return i < m->n_in ? m->in[i] : m->out[i - m->n_in];
}

/* D-Bus lets a method take and return arguments of the same name
 * (logind's CreateSession: uid, seat_id, vtnr both ways): a later one gets
 * <name>_out when it is an output, else <name>_2, _3, ..., avoiding every
 * name already given and every argument's own name. */
void idl_xml_arg_c_names(const IdlMember *m, char **out) {
        size_t n = m->n_in + m->n_out;
        char **base = idl_xcalloc(n + 1, sizeof(*base));
        CheckTab own = { 0 }, taken = { 0 };

        for (size_t i = 0; i < n; i++) {
                const IdlField *f = arg_at(m, i);
                const char *wire = f->dbus_name ? f->dbus_name : f->name;
                base[i] = wire && *wire ? c_param(wire) : idl_xasprintf("arg%zu", i);
                check_tab_put(&own, base[i], base[i]);
        }
        for (size_t i = 0; i < n; i++) {
                char *cand = idl_xstrdup(base[i]);
                bool output = m->kind == IDL_M_METHOD && i >= m->n_in;
                for (int k = output ? 1 : 2; check_tab_get(&taken, cand); k++) {
                        free(cand);
                        if (k == 1)
                                cand = idl_xasprintf("%s_out", base[i]);
                        else
                                cand = idl_xasprintf("%s_%d", base[i], k);
                        if (check_tab_get(&own, cand) && !check_tab_get(&taken, cand)) {
                                /* Another argument's own name: not free either. */
                                free(cand);
                                cand = idl_xstrdup(base[i]);
                        }
                }
                out[i] = cand;
                check_tab_put(&taken, cand, cand);
        }
        for (size_t i = 0; i < n; i++)
                free(base[i]);
        free(base);
        check_tab_clear(&own);
        check_tab_clear(&taken);
}

/* At the end of a method or signal, when its arguments are all known: each
 * gets its C parameter, from org.busrpc.CName or idl_xml_arg_c_names(). */
static void name_args(IdlMember *m) {
        size_t n = m->n_in + m->n_out;
        char **cn = idl_xcalloc(n + 1, sizeof(*cn));

        idl_xml_arg_c_names(m, cn);
        for (size_t i = 0; i < n; i++) {
                IdlField *f = arg_at(m, i);
                const IdlAnnot *given = idl_meta_find_annot(&f->meta, IDL_A_C_NAME);
                const char *want = given ? given->value : cn[i];

                if (!given && strcmp(cn[i], f->name) != 0) {
                        char *own = c_param(f->name);
                        if (strcmp(own, f->name) != 0)
                                idl_warning(f->meta.loc,
                                            "argument name '%s' cannot be a C parameter; renamed '%s'",
                                            f->name, cn[i]);
                        else
                                idl_warning(f->meta.loc,
                                            "argument name '%s' is used twice in %s '%s'; "
                                            "C parameter renamed '%s'",
                                            f->name, check_member_kind(m->kind), m->name, cn[i]);
                        free(own);
                        add_annot(&f->meta, IDL_A_C_NAME, "c_name", cn[i], f->meta.loc);
                }
                if (strcmp(want, f->name) != 0) {
                        f->dbus_name = f->name;
                        f->name = idl_xstrdup(want);
                }
                free(cn[i]);
        }
        free(cn);
}

/* A member or interface whose C name would be a C keyword gets the name
 * with '_' appended as its @c_name (org.busrpc.CName), with a warning. */
static void fix_c_name(IdlMeta *m, const char *name, IdlLoc loc) {
        char *s = check_snake(name);

        if (check_c_keyword(s)) {
                char *fixed = idl_xasprintf("%s_", s);
                idl_warning(loc, "C name '%s' of '%s' is a keyword; using '%s'", s, name, fixed);
                add_annot(m, IDL_A_C_NAME, "c_name", fixed, loc);
                free(fixed);
        }
        free(s);
}

/* ---- elements ---- */

static Elem elem_of(const char *name) {
        for (int e = E_NODE; e <= E_ANNOT; e++)
                if (strcmp(name, elem_names[e]) == 0)
                        return (Elem)e;
        return E_SKIP;
}

static bool allowed_in(Elem e, Elem parent) {
        switch (e) {
        case E_NODE: return parent == E_ROOT || parent == E_NODE;
        case E_IFACE: return parent == E_NODE;
        case E_METHOD: case E_SIGNAL: case E_PROPERTY: return parent == E_IFACE;
        case E_ARG: return parent == E_METHOD || parent == E_SIGNAL;
        case E_ANNOT: return parent >= E_IFACE && parent <= E_ARG;
        default: return false;
        }
}

typedef struct Attrs {
        const char *name, *type, *direction, *access, *value;
} Attrs;

static Attrs read_attrs(Elem e, const XML_Char **attrs, IdlLoc loc) {
        Attrs a = { 0 };

        for (size_t i = 0; attrs[i]; i += 2) {
                const char *k = attrs[i], *v = attrs[i + 1];
                if (strcmp(k, "name") == 0)
                        a.name = v;
                else if (strcmp(k, "type") == 0 && (e == E_ARG || e == E_PROPERTY))
                        a.type = v;
                else if (strcmp(k, "direction") == 0 && e == E_ARG)
                        a.direction = v;
                else if (strcmp(k, "access") == 0 && e == E_PROPERTY)
                        a.access = v;
                else if (strcmp(k, "value") == 0 && e == E_ANNOT)
                        a.value = v;
                else if (!strchr(k, ':') && strcmp(k, "xmlns") != 0)
                        idl_warning(loc, "unknown attribute '%s' of <%s> ignored", k, elem_names[e]);
        }
        return a;
}

static size_t defer(Ctx *c, IdlType **slot, const char *sig, char *base, IdlLoc loc) {
        XmlDeferred *df;

        if (c->n_defs % 64 == 0) {
                c->defs = realloc(c->defs, (c->n_defs + 64) * sizeof(*c->defs));
                if (!c->defs)
                        abort(); /* as idl_xmalloc: out of memory is not an input error */
        }
        df = &c->defs[c->n_defs];
        *df = (XmlDeferred){ slot, idl_xstrdup(sig), NULL, base, loc };
        return c->n_defs++;
}

static bool need(const char *v, const char *attr, Elem e, IdlLoc loc) {
        if (!v)
                idl_error(loc, "<%s> without the '%s' attribute", elem_names[e], attr);
        return v != NULL;
}

/* Returns false when the element is to be skipped. */
static bool open_elem(Ctx *c, Elem e, const Attrs *a, IdlLoc loc) {
        IdlMember *m;
        IdlField *f;
        char *base;

        switch (e) {
        case E_IFACE:
                if (!need(a->name, "name", e, loc))
                        return false;
                /* Nested nodes repeat the standard interfaces: keep the first. */
                if (xml_find_decl(c->ifaces, c->n_ifaces, a->name))
                        return false;
                c->iface = idl_xcalloc(1, sizeof(*c->iface));
                c->iface->kind = IDL_D_INTERFACE;
                c->iface->name = idl_xstrdup(a->name);
                c->iface->file = c->f;
                c->iface->meta.loc = loc;
                IDL_PUSH(c->ifaces, c->n_ifaces, c->iface);
                fix_c_name(&c->iface->meta, strrchr(a->name, '.') ? strrchr(a->name, '.') + 1 : a->name, loc);
                return true;
        case E_METHOD: case E_SIGNAL: case E_PROPERTY:
                if (!need(a->name, "name", e, loc))
                        return false;
                if (e == E_PROPERTY && (!need(a->type, "type", e, loc) || !need(a->access, "access", e, loc)))
                        return false;
                m = idl_xcalloc(1, sizeof(*m));
                m->kind = e == E_METHOD ? IDL_M_METHOD : e == E_SIGNAL ? IDL_M_SIGNAL : IDL_M_PROPERTY;
                m->name = idl_xstrdup(a->name);
                m->iface = c->iface;
                m->meta.loc = loc;
                IDL_PUSH(c->iface->members, c->iface->n_members, m);
                c->member = m;
                c->n_args = 0;
                fix_c_name(&m->meta, a->name, loc);
                if (e != E_PROPERTY)
                        return true;
                if (strcmp(a->access, "read") == 0)
                        m->access = IDL_ACCESS_READ;
                else if (strcmp(a->access, "readwrite") == 0)
                        m->access = IDL_ACCESS_READWRITE;
                else if (strcmp(a->access, "write") == 0)
                        m->access = IDL_ACCESS_WRITE;
                else
                        idl_error(loc, "invalid property access '%s': expected read, write or readwrite",
                                  a->access);
                c->cur_def = defer(c, &m->type, a->type, xml_pascal(a->name), loc);
                return true;
        case E_ARG:
                if (!need(a->type, "type", e, loc))
                        return false;
                f = idl_xcalloc(1, sizeof(*f));
                /* The D-Bus name for now; name_args() gives the C one. */
                f->name = a->name && *a->name ? idl_xstrdup(a->name) : idl_xasprintf("arg%zu", c->n_args);
                f->meta.loc = loc;
                c->n_args++;
                if (a->direction && strcmp(a->direction, "in") != 0 && strcmp(a->direction, "out") != 0)
                        idl_error(loc, "invalid direction '%s': expected in or out", a->direction);
                if (c->member->kind == IDL_M_SIGNAL && a->direction && strcmp(a->direction, "in") == 0)
                        idl_warning(loc, "signal arguments have no direction 'in'; taken as 'out'");
                if (c->member->kind == IDL_M_METHOD && a->direction && strcmp(a->direction, "out") == 0)
                        IDL_PUSH(c->member->out, c->member->n_out, f);
                else
                        IDL_PUSH(c->member->in, c->member->n_in, f);
                c->arg = f;
                {
                        char *cp = c_param(f->name);
                        char *mp = xml_pascal(c->member->name), *ap = xml_pascal(cp);
                        free(cp);
                        base = idl_xasprintf("%s%s", mp, ap);
                        free(mp);
                        free(ap);
                }
                c->cur_def = defer(c, &f->type, a->type, base, loc);
                return true;
        case E_ANNOT:
                if (!need(a->name, "name", e, loc))
                        return false;
                if (!a->value)
                        idl_warning(loc, "<annotation> without the 'value' attribute; taken as \"\"");
                on_annotation(c, c->stack[c->depth - 1], a->name, a->value ? a->value : "", loc);
                return true;
        default:
                return true;
        }
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs) {
        Ctx *c = ud;
        Elem parent = c->depth ? c->stack[c->depth - 1] : E_ROOT;
        Elem e = elem_of(name);
        IdlLoc loc = here(c);
        Attrs a;

        if (c->doc.meta) {
                doc_open(c, name, attrs);
                c->skip++;
                return;
        }
        if (c->skip) {
                c->skip++;
                return;
        }
        for (size_t i = 0; attrs[i]; i += 2)
                if (strncmp(attrs[i], "xmlns:", 6) == 0 && strcmp(attrs[i + 1], DOC_NS) == 0) {
                        free(c->doc_prefix);
                        c->doc_prefix = idl_xstrdup(attrs[i] + 6);
                }
        if (e == E_SKIP && (doc_local(c, name) && strcmp(doc_local(c, name), "doc") == 0) &&
            parent >= E_IFACE && parent <= E_ARG) {
                switch (parent) {
                case E_IFACE: c->doc.meta = &c->iface->meta; break;
                case E_ARG: c->doc.meta = &c->arg->meta; break;
                default: c->doc.meta = &c->member->meta; break;
                }
                c->doc_loc = loc;
                c->skip = 1;
                return;
        }
        if (!allowed_in(e, parent)) {
                if (parent == E_ROOT)
                        idl_error(loc, "the root element is <%s>; expected <node>", name);
                else if (doc_local(c, name) && strcmp(doc_local(c, name), "doc") == 0)
                        idl_warning(loc, "<%s> in <%s> has no place in IDL; ignored", name,
                                    elem_names[parent]);
                else if (strchr(name, ':'))
                        ; /* another extension: skipped quietly */
                else if (e == E_SKIP)
                        idl_warning(loc, "unknown element <%s> ignored", name);
                else
                        idl_warning(loc, "<%s> is not allowed in <%s>; ignored", name,
                                    elem_names[parent]);
                c->skip = 1;
                return;
        }
        a = read_attrs(e, attrs, loc);
        if (!open_elem(c, e, &a, loc)) {
                c->skip = 1;
                return;
        }
        if (c->depth == c->cap) {
                c->cap = c->cap ? c->cap * 2 : 16;
                c->stack = realloc(c->stack, c->cap * sizeof(*c->stack));
                if (!c->stack)
                        abort();
        }
        c->stack[c->depth++] = e;
}

static void XMLCALL on_end(void *ud, const XML_Char *name) {
        Ctx *c = ud;

        if (c->doc.meta) {
                if (c->skip == 1)
                        doc_done(c, c->doc_loc);
                else
                        doc_close(c, name);
                c->skip--;
                return;
        }
        if (c->skip) {
                c->skip--;
                return;
        }
        switch (c->stack[--c->depth]) {
        case E_IFACE:
                if (strcmp(c->iface->name, IDL_XML_TYPES_IFACE) == 0 && c->iface->n_members == 0) {
                        /* gen-xml.c's carrier of a file of types only: its
                         * declarations are taken, it is no interface. */
                        if (c->iface->meta.doc || c->iface->meta.n_annots)
                                idl_warning(c->iface->meta.loc,
                                            "annotations of <interface name=\"%s\"> other than "
                                            "types and imports are ignored", IDL_XML_TYPES_IFACE);
                        c->n_ifaces--;
                        idl_decl_free(c->iface);
                        c->types_only = true;
                }
                c->iface = NULL;
                break;
        case E_METHOD: case E_SIGNAL: case E_PROPERTY:
                name_args(c->member);
                c->member = NULL;
                c->cur_def = SIZE_MAX;
                break;
        case E_ARG:
                c->arg = NULL;
                c->cur_def = SIZE_MAX;
                break;
        default:
                break;
        }
}

/* ---- the file ---- */

/* The module: the base name without its extension, lowercased, every run
 * of other characters made one '_' ("org.example.Foo.xml": org_example_foo). */
static char *module_name(const char *path) {
        const char *base = strrchr(path, '/'), *dot;
        size_t n;
        char *out, *o;

        base = base ? base + 1 : path;
        dot = strrchr(base, '.');
        n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
        out = o = idl_xmalloc(n + 3);
        for (size_t i = 0; i < n; i++) {
                unsigned char ch = (unsigned char)base[i];
                if (isalnum(ch) && ch < 0x80)
                        *o++ = (char)tolower(ch);
                else if (o > out && o[-1] != '_')
                        *o++ = '_';
        }
        while (o > out && o[-1] == '_')
                o--;
        *o = '\0';
        if (!*out || isdigit((unsigned char)*out)) {
                memmove(out + 2, out, strlen(out) + 1);
                memcpy(out, "m_", 2);
        }
        return out;
}

static void free_list(IdlDecl **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                idl_decl_free(v[i]);
        free(v);
}

static void free_strs(char **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

IdlFile *idl_xml_import(const char *path, const char *text, size_t len) {
        Ctx c = { .cur_def = SIZE_MAX };
        IdlFile *f = idl_xcalloc(1, sizeof(*f));
        bool ok = true;

        f->path = idl_xstrdup(path);
        f->module = module_name(path);
        f->module_loc = (IdlLoc){ f->path, 1, 1 };
        f->from_xml = true;
        c.f = f;
        c.ty.f = f;
        if (len > INT_MAX) {
                idl_error((IdlLoc){ f->path, 0, 0 }, "file is too large");
                return f;
        }
        c.doc_prefix = idl_xstrdup("doc");
        c.xp = XML_ParserCreate(NULL);
        if (!c.xp)
                abort();
        XML_SetUserData(c.xp, &c);
        XML_SetElementHandler(c.xp, on_start, on_end);
        XML_SetCharacterDataHandler(c.xp, on_text);
        if (XML_Parse(c.xp, text, (int)len, XML_TRUE) == XML_STATUS_ERROR) {
                idl_error(here(&c), "%s", XML_ErrorString(XML_GetErrorCode(c.xp)));
                ok = false;
        }
        XML_ParserFree(c.xp);
        if (c.doc.meta) /* malformed XML ended inside a <doc:doc> */
                doc_done(&c, c.doc_loc);
        free(c.doc_prefix);

        for (size_t i = 0; ok && i < c.n_defs; i++)
                xml_resolve_deferred(&c.ty, &c.defs[i]);
        for (size_t i = 0; i < c.n_defs; i++) {
                free(c.defs[i].sig);
                free(c.defs[i].idl);
                free(c.defs[i].base);
        }
        free(c.defs);
        free(c.stack);
        free_strs(c.ty.type_src, c.ty.n_types);
        free_strs(c.ty.gen_sig, c.ty.n_gen_sig);
        if (!ok) {
                /* The error stands; an empty file (not NULL) lets the caller
                 * keep and free the source text as for any other file. */
                free_list(c.ty.types, c.ty.n_types);
                free_list(c.ty.gen, c.ty.n_gen);
                free_list(c.ifaces, c.n_ifaces);
                for (size_t i = 0; i < f->n_imports; i++) {
                        free(f->imports[i]->path);
                        free(f->imports[i]);
                }
                free(f->imports);
                f->imports = NULL;
                f->n_imports = 0;
                return f;
        }
        if (c.n_ifaces == 0 && !c.types_only)
                idl_warning((IdlLoc){ f->path, 1, 1 }, "no <interface> in this file");
        /* Declared types, then generated structs, then the interfaces. */
        for (size_t i = 0; i < c.ty.n_types; i++)
                IDL_PUSH(f->decls, f->n_decls, c.ty.types[i]);
        for (size_t i = 0; i < c.ty.n_gen; i++)
                IDL_PUSH(f->decls, f->n_decls, c.ty.gen[i]);
        for (size_t i = 0; i < c.n_ifaces; i++)
                IDL_PUSH(f->decls, f->n_decls, c.ifaces[i]);
        free(c.ty.types);
        free(c.ty.gen);
        free(c.ifaces);
        return f;
}
