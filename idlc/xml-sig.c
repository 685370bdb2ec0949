/* xml-sig.c: the types of D-Bus introspection XML, for xml-import.c.
 *
 * A type attribute is a D-Bus signature: basic codes map to IDL basic
 * types, "a" to arrays, "a{..}" to maps, and every struct "(...)" becomes
 * a generated struct named after where it appears (MemberArg, then
 * MemberArgField0 for a struct inside it, ...; a name is reused only for
 * the same signature). An org.busrpc.Type annotation gives the IDL type
 * instead; it must agree with the signature when it names only types of
 * this file. docs/idl-xml.md states the rule for users.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "types.h"
#include "xml-import.h"
#include "xml-sig.h"

#define MAX_DEPTH 32

char *xml_pascal(const char *s) {
        size_t n = strlen(s);
        char *out = idl_xmalloc(n + 2), *o = out;
        bool up = true;

        for (; *s; s++) {
                if (!isalnum((unsigned char)*s)) {
                        up = true;
                        continue;
                }
                if (o == out && isdigit((unsigned char)*s))
                        *o++ = 'T';
                *o++ = up ? (char)toupper((unsigned char)*s) : *s;
                up = false;
        }
        *o = '\0';
        return out;
}

/* ---- the IDL spelling of a type (org.busrpc.Type) ---- */

void xml_skip_ws(const char **p) {
        while (isspace((unsigned char)**p))
                (*p)++;
}

static IdlType *parse_idl_type(const char **p, IdlLoc loc, int depth) {
        const char *s;
        IdlType *t;

        xml_skip_ws(p);
        s = *p;
        while (isalnum((unsigned char)**p) || **p == '_')
                (*p)++;
        if (*p == s || depth > 2 * MAX_DEPTH)
                return NULL;
        if ((size_t)(*p - s) == 3 && strncmp(s, "map", 3) == 0) {
                t = idl_type_new(IDL_T_MAP, loc);
                xml_skip_ws(p);
                if (**p != '<' || (++*p, !(t->key = parse_idl_type(p, loc, depth + 1))))
                        goto fail;
                xml_skip_ws(p);
                if (**p != ',' || (++*p, !(t->elem = parse_idl_type(p, loc, depth + 1))))
                        goto fail;
                xml_skip_ws(p);
                if (**p != '>')
                        goto fail;
                (*p)++;
        } else {
                char *name = idl_xstrndup(s, (size_t)(*p - s));
                const IdlBasicType *b = idl_basic_type_by_name(name);
                t = idl_type_new(b ? b->kind : IDL_T_NAMED, loc);
                if (b)
                        free(name);
                else
                        t->name = name;
        }
        for (int n = 0;; n++) {
                IdlType *a;
                xml_skip_ws(p);
                if (**p != '[')
                        return t;
                (*p)++;
                xml_skip_ws(p);
                if (**p != ']' || n > 2 * MAX_DEPTH)
                        goto fail;
                (*p)++;
                a = idl_type_new(IDL_T_ARRAY, loc);
                a->elem = t;
                t = a;
        }
fail:
        idl_type_free(t);
        return NULL;
}

/* ---- D-Bus signatures ---- */

IdlDecl *xml_find_decl(IdlDecl **v, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (v[i]->name && strcmp(v[i]->name, name) == 0)
                        return v[i];
        return NULL;
}

/* The struct for the signature [s, e) (its parentheses included), named
 * base or base2, base3...: an existing generated struct of that name and
 * signature is reused. Takes ownership of fields. */
static IdlDecl *struct_for(XmlTypes *c, const char *base, const char *s, const char *e,
                           IdlField **fields, size_t n_fields, IdlLoc loc) {
        char *sig = idl_xstrndup(s, (size_t)(e - s));
        IdlDecl *d;

        for (unsigned k = 1;; k++) {
                char *name = k == 1 ? idl_xstrdup(base) : idl_xasprintf("%s%u", base, k);
                IdlDecl *old = xml_find_decl(c->gen, c->n_gen, name);
                if (old) {
                        size_t i = 0;
                        while (c->gen[i] != old)
                                i++;
                        if (strcmp(c->gen_sig[i], sig) == 0) {
                                for (size_t j = 0; j < n_fields; j++)
                                        idl_field_free(fields[j]);
                                free(fields);
                                free(name);
                                free(sig);
                                return old;
                        }
                } else if (!xml_find_decl(c->types, c->n_types, name)) {
                        d = idl_xcalloc(1, sizeof(*d));
                        d->kind = IDL_D_STRUCT;
                        d->name = name;
                        d->file = c->f;
                        d->meta.loc = loc;
                        d->fields = fields;
                        d->n_fields = n_fields;
                        IDL_PUSH(c->gen, c->n_gen, d);
                        IDL_PUSH(c->gen_sig, c->n_gen_sig, sig);
                        return d;
                }
                free(name);
        }
}

typedef struct SigErr {
        char msg[80];
} SigErr;

static IdlType *sig_type(XmlTypes *c, const char **p, const char *base, int ad, int sd, IdlLoc loc,
                         SigErr *err);

static IdlType *sig_struct(XmlTypes *c, const char **p, const char *base, int ad, int sd, IdlLoc loc,
                           SigErr *err) {
        const char *start = *p;
        IdlField **fields = NULL;
        size_t n = 0;
        IdlDecl *d;
        IdlType *t;

        if (sd >= MAX_DEPTH) {
                snprintf(err->msg, sizeof(err->msg), "structs nested deeper than %d", MAX_DEPTH);
                return NULL;
        }
        for ((*p)++; **p != ')';) {
                char *fbase = idl_xasprintf("%sField%zu", base, n);
                IdlField *f;
                if (!**p) {
                        snprintf(err->msg, sizeof(err->msg), "unterminated struct");
                        t = NULL;
                } else {
                        t = sig_type(c, p, fbase, ad, sd + 1, loc, err);
                }
                free(fbase);
                if (!t) {
                        for (size_t i = 0; i < n; i++)
                                idl_field_free(fields[i]);
                        free(fields);
                        return NULL;
                }
                f = idl_xcalloc(1, sizeof(*f));
                f->name = idl_xasprintf("field%zu", n);
                f->type = t;
                f->meta.loc = loc;
                IDL_PUSH(fields, n, f);
        }
        if (n == 0) {
                snprintf(err->msg, sizeof(err->msg), "a struct needs at least one member");
                return NULL;
        }
        (*p)++;
        if (c->dry) {
                for (size_t i = 0; i < n; i++)
                        idl_field_free(fields[i]);
                free(fields);
                return idl_type_new(IDL_T_NAMED, loc);
        }
        d = struct_for(c, base, start, *p, fields, n, loc);
        t = idl_type_new(IDL_T_NAMED, loc);
        t->name = idl_xstrdup(d->name);
        return t;
}

static IdlType *sig_type(XmlTypes *c, const char **p, const char *base, int ad, int sd, IdlLoc loc,
                         SigErr *err) {
        const IdlBasicType *b;
        IdlType *t, *key;
        char ch = **p;

        switch (ch) {
        case '\0':
                snprintf(err->msg, sizeof(err->msg), "a type is missing at the end");
                return NULL;
        case '(':
                return sig_struct(c, p, base, ad, sd, loc, err);
        case 'a':
                if (ad >= MAX_DEPTH) {
                        snprintf(err->msg, sizeof(err->msg), "arrays nested deeper than %d", MAX_DEPTH);
                        return NULL;
                }
                (*p)++;
                if (**p != '{') {
                        if (!(key = sig_type(c, p, base, ad + 1, sd, loc, err)))
                                return NULL;
                        t = idl_type_new(IDL_T_ARRAY, loc);
                        t->elem = key;
                        return t;
                }
                (*p)++;
                b = idl_basic_type_by_sig(**p);
                if (!b || !b->is_basic) {
                        snprintf(err->msg, sizeof(err->msg),
                                 "the key of a dict entry must be a basic type");
                        return NULL;
                }
                (*p)++;
                if (sd >= MAX_DEPTH) {
                        snprintf(err->msg, sizeof(err->msg), "structs nested deeper than %d", MAX_DEPTH);
                        return NULL;
                }
                t = idl_type_new(IDL_T_MAP, loc);
                t->key = idl_type_new(b->kind, loc);
                if (!(t->elem = sig_type(c, p, base, ad + 1, sd + 1, loc, err))) {
                        idl_type_free(t);
                        return NULL;
                }
                if (**p != '}') {
                        snprintf(err->msg, sizeof(err->msg),
                                 "a dict entry needs exactly one key and one value");
                        idl_type_free(t);
                        return NULL;
                }
                (*p)++;
                return t;
        case '{':
                snprintf(err->msg, sizeof(err->msg), "a dict entry must be the element of an array");
                return NULL;
        default:
                b = idl_basic_type_by_sig(ch);
                if (!b) {
                        if (isprint((unsigned char)ch))
                                snprintf(err->msg, sizeof(err->msg), "unexpected '%c'", ch);
                        else
                                snprintf(err->msg, sizeof(err->msg), "unexpected byte 0x%02x",
                                         (unsigned char)ch);
                        return NULL;
                }
                (*p)++;
                return idl_type_new(b->kind, loc);
        }
}

/* The type a signature denotes, or NULL after an error at loc. */
static IdlType *sig_to_type(XmlTypes *c, const char *sig, const char *base, IdlLoc loc) {
        const char *p = sig;
        SigErr err = { "" };
        IdlType *t = NULL;

        if (strlen(sig) > XML_MAX_SIG)
                snprintf(err.msg, sizeof(err.msg), "longer than %d characters", XML_MAX_SIG);
        else if (!*sig)
                snprintf(err.msg, sizeof(err.msg), "empty");
        else if ((t = sig_type(c, &p, base, 0, 0, loc, &err)) && *p) {
                snprintf(err.msg, sizeof(err.msg), "more than one complete type");
                idl_type_free(t);
                t = NULL;
        }
        if (!t)
                idl_error(loc, "invalid D-Bus signature '%.300s': %s", sig, err.msg);
        return t;
}

/* The signature of a type written in IDL, when every name in it is
 * declared in this file; NULL when it names something imported. */
static bool local_sig(XmlTypes *c, const IdlType *t, char *buf, size_t *len, int depth) {
        const IdlBasicType *b;
        const IdlDecl *d;

        if (!t || depth > 64 || *len > XML_MAX_SIG)
                return false;
        switch (t->kind) {
        case IDL_T_ARRAY:
                buf[(*len)++] = 'a';
                return local_sig(c, t->elem, buf, len, depth + 1);
        case IDL_T_MAP:
                buf[(*len)++] = 'a';
                buf[(*len)++] = '{';
                if (!local_sig(c, t->key, buf, len, depth + 1) ||
                    !local_sig(c, t->elem, buf, len, depth + 1) || *len > XML_MAX_SIG)
                        return false;
                buf[(*len)++] = '}';
                return true;
        case IDL_T_NAMED:
                d = xml_find_decl(c->types, c->n_types, t->name);
                if (!d)
                        return false;
                if (d->kind == IDL_D_TYPEDEF)
                        return local_sig(c, d->target, buf, len, depth + 1);
                if (d->kind != IDL_D_STRUCT)
                        return local_sig(c, d->base, buf, len, depth + 1);
                buf[(*len)++] = '(';
                for (size_t i = 0; i < d->n_fields; i++)
                        if (!d->fields[i] || !local_sig(c, d->fields[i]->type, buf, len, depth + 1) ||
                            *len > XML_MAX_SIG)
                                return false;
                buf[(*len)++] = ')';
                return true;
        default:
                b = idl_basic_type(t->kind);
                if (!b)
                        return false;
                buf[(*len)++] = b->sig;
                return true;
        }
}

void xml_resolve_deferred(XmlTypes *c, XmlDeferred *df) {
        IdlType *t = NULL;

        if (df->idl) {
                const char *p = df->idl;
                /* Room for any signature up to the limit plus the longest step. */
                char buf[XML_MAX_SIG + 8];
                size_t len = 0;

                t = parse_idl_type(&p, df->loc, 0);
                xml_skip_ws(&p);
                if (!t || *p) {
                        idl_error(df->loc, "invalid type '%.300s' in annotation '%s'", df->idl,
                                  IDL_XML_TYPE);
                        idl_type_free(t);
                        t = NULL;
                } else if (local_sig(c, t, buf, &len, 0) && len <= XML_MAX_SIG &&
                           (buf[len] = '\0', strcmp(buf, df->sig) != 0)) {
                        idl_error(df->loc, "type '%s' of annotation '%s' has the signature '%s', "
                                  "not '%.300s'", df->idl, IDL_XML_TYPE, buf, df->sig);
                }
                /* The signature must be valid anyway; what it builds is dropped. */
                if (t) {
                        c->dry = true;
                        idl_type_free(sig_to_type(c, df->sig, df->base, df->loc));
                        c->dry = false;
                }
        }
        if (!t)
                t = sig_to_type(c, df->sig, df->base, df->loc);
        *df->slot = t;
}
