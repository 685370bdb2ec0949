/* ast.c: constructors, destructors and lookups of the busrpc-idlc AST.
 *
 * Allocation failure in the compiler is not an input error: the x*
 * helpers print one line and abort, so every caller can treat memory as
 * infinite and the front ends stay readable.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"

static void oom(void) {
        fputs("busrpc-idlc: out of memory\n", stderr);
        abort();
}

void *idl_xmalloc(size_t size) {
        void *p = malloc(size ? size : 1);
        if (!p)
                oom();
        return p;
}

void *idl_xcalloc(size_t n, size_t size) {
        void *p = calloc(n ? n : 1, size ? size : 1);
        if (!p)
                oom();
        return p;
}

char *idl_xstrdup(const char *s) {
        return idl_xstrndup(s, strlen(s));
}

char *idl_xstrndup(const char *s, size_t n) {
        char *p = idl_xmalloc(n + 1);
        memcpy(p, s, n);
        p[n] = '\0';
        return p;
}

char *idl_xasprintf(const char *fmt, ...) {
        va_list ap;
        char *p;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&p, fmt, ap);
        va_end(ap);
        if (n < 0)
                oom();
        return p;
}

void idl_push(void ***items, size_t *n, void *item) {
        /* Capacity is implied by the count: 4, then every power of two. */
        if (*n == 0 || (*n >= 4 && (*n & (*n - 1)) == 0)) {
                void **p = realloc(*items, (*n ? *n * 2 : 4) * sizeof(void *));
                if (!p)
                        oom();
                *items = p;
        }
        (*items)[(*n)++] = item;
}

IdlType *idl_type_new(IdlTypeKind kind, IdlLoc loc) {
        IdlType *t = idl_xcalloc(1, sizeof(*t));
        t->kind = kind;
        t->loc = loc;
        return t;
}

void idl_type_free(IdlType *t) {
        /* Iterate down the element chain: T[][]... may be deep. */
        while (t) {
                IdlType *elem = t->elem;
                idl_type_free(t->key);
                free(t->name);
                free(t);
                t = elem;
        }
}

static void annot_free(IdlAnnot *a) {
        if (!a)
                return;
        free(a->name);
        free(a->value);
        free(a);
}

void idl_meta_clear(IdlMeta *m) {
        if (!m)
                return;
        free(m->doc);
        for (size_t i = 0; i < m->n_annots; i++)
                annot_free(m->annots[i]);
        free(m->annots);
        m->doc = NULL;
        m->annots = NULL;
        m->n_annots = 0;
}

void idl_field_free(IdlField *f) {
        if (!f)
                return;
        idl_meta_clear(&f->meta);
        free(f->name);
        free(f->dbus_name);
        idl_type_free(f->type);
        free(f);
}

static void fields_free(IdlField **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                idl_field_free(v[i]);
        free(v);
}

void idl_member_free(IdlMember *m) {
        if (!m)
                return;
        idl_meta_clear(&m->meta);
        free(m->name);
        fields_free(m->in, m->n_in);
        fields_free(m->out, m->n_out);
        for (size_t i = 0; i < m->n_raises; i++) {
                free(m->raises[i]->name);
                free(m->raises[i]);
        }
        free(m->raises);
        idl_type_free(m->type);
        free(m->c_name);
        free(m->dbus_error);
        free(m->in_sig);
        free(m->out_sig);
        free(m);
}

void idl_decl_free(IdlDecl *d) {
        if (!d)
                return;
        idl_meta_clear(&d->meta);
        free(d->name);
        fields_free(d->fields, d->n_fields);
        idl_type_free(d->base);
        for (size_t i = 0; i < d->n_values; i++) {
                IdlEnumValue *v = d->values[i];
                idl_meta_clear(&v->meta);
                free(v->name);
                free(v->c_name);
                free(v);
        }
        free(d->values);
        idl_type_free(d->target);
        for (size_t i = 0; i < d->n_members; i++)
                idl_member_free(d->members[i]);
        free(d->members);
        free(d->c_name);
        free(d->signature);
        free(d);
}

void idl_file_free(IdlFile *f) {
        if (!f)
                return;
        for (size_t i = 0; i < f->n_imports; i++) {
                free(f->imports[i]->path);
                free(f->imports[i]);
        }
        free(f->imports);
        for (size_t i = 0; i < f->n_decls; i++)
                idl_decl_free(f->decls[i]);
        free(f->decls);
        free(f->module);
        free(f->text);
        free(f->path);
        free(f);
}

void idl_unit_free(IdlUnit *u) {
        if (!u)
                return;
        for (size_t i = 0; i < u->n_files; i++)
                idl_file_free(u->files[i]);
        free(u->files);
        free(u);
}

const IdlAnnot *idl_meta_find_annot(const IdlMeta *m, IdlAnnotKind kind) {
        for (size_t i = 0; i < m->n_annots; i++)
                if (m->annots[i]->kind == kind)
                        return m->annots[i];
        return NULL;
}

const IdlType *idl_type_resolve(const IdlType *t) {
        /* A typedef chain is at most as long as the number of declarations;
         * the bound keeps an unchecked cycle from looping forever. */
        for (int depth = 0; t && depth < 1024; depth++) {
                if (t->kind != IDL_T_NAMED || !t->decl || t->decl->kind != IDL_D_TYPEDEF)
                        return t;
                t = t->decl->target;
        }
        return t;
}

const IdlDecl *idl_type_decl(const IdlType *t) {
        t = idl_type_resolve(t);
        if (!t || t->kind != IDL_T_NAMED)
                return NULL;
        return t->decl;
}

static const char basic_sig[] = {
        [IDL_T_BOOL] = 'b',   [IDL_T_BYTE] = 'y',      [IDL_T_INT16] = 'n',
        [IDL_T_UINT16] = 'q', [IDL_T_INT32] = 'i',     [IDL_T_UINT32] = 'u',
        [IDL_T_INT64] = 'x',  [IDL_T_UINT64] = 't',    [IDL_T_DOUBLE] = 'd',
        [IDL_T_STRING] = 's', [IDL_T_OBJPATH] = 'o',   [IDL_T_SIGNATURE] = 'g',
        [IDL_T_VARIANT] = 'v', [IDL_T_FD] = 'h',       [IDL_T_SHM] = 'h',
};

static void sig_append(char **buf, size_t *len, const char *s) {
        size_t n = strlen(s);
        char *p = realloc(*buf, *len + n + 1);
        if (!p)
                oom();
        memcpy(p + *len, s, n + 1);
        *buf = p;
        *len += n;
}

static void sig_build(const IdlType *t, char **buf, size_t *len, int depth) {
        const IdlDecl *d;
        char c[2] = { 0, 0 };

        if (!t || depth > 64)
                return;
        switch (t->kind) {
        case IDL_T_ARRAY:
                sig_append(buf, len, "a");
                sig_build(t->elem, buf, len, depth + 1);
                return;
        case IDL_T_MAP:
                sig_append(buf, len, "a{");
                sig_build(t->key, buf, len, depth + 1);
                sig_build(t->elem, buf, len, depth + 1);
                sig_append(buf, len, "}");
                return;
        case IDL_T_NAMED:
                d = t->decl;
                if (!d)
                        return;
                if (d->signature) {
                        sig_append(buf, len, d->signature);
                } else if (d->kind == IDL_D_TYPEDEF) {
                        sig_build(d->target, buf, len, depth + 1);
                } else if (d->kind == IDL_D_ENUM || d->kind == IDL_D_FLAGS) {
                        sig_build(d->base, buf, len, depth + 1);
                } else if (d->kind == IDL_D_STRUCT) {
                        sig_append(buf, len, "(");
                        for (size_t i = 0; i < d->n_fields; i++)
                                sig_build(d->fields[i]->type, buf, len, depth + 1);
                        sig_append(buf, len, ")");
                }
                return;
        default:
                c[0] = basic_sig[t->kind];
                sig_append(buf, len, c);
                return;
        }
}

char *idl_type_signature(const IdlType *t) {
        char *buf = idl_xstrdup("");
        size_t len = 0;

        sig_build(t, &buf, &len, 0);
        return buf;
}
