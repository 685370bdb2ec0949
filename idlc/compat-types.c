/* compat-types.c: the types half of busrpc-idlc --compat (compat.c).
 *
 * Which way each named type travels (so a removed enum value breaks the
 * side that may still send it), how two types differ (on the wire, or only
 * in the generated C), lists of arguments and struct fields, and the type
 * declarations themselves: a struct is compared once where it is declared,
 * not at every use.
 */
#include <stdlib.h>
#include <string.h>

#include "compat-internal.h"
#include "gen.h"
#include "types.h"

static bool same(const char *a, const char *b) {
        return (a == NULL) == (b == NULL) && (!a || strcmp(a, b) == 0);
}

/* A type as IDL spells it; caller frees. */
static char *spell(const IdlType *t) {
        char *s = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&s, &len);

        if (!f)
                return idl_xstrdup("?");
        idl_gen_put_type(f, t);
        if (fclose(f) != 0 || !s) {
                free(s);
                return idl_xstrdup("?");
        }
        return s;
}

/* ---- where each type travels ---- */

static Flow *flow_get(Cmp *c, const char *name, bool add) {
        for (size_t i = 0; i < c->n_flows; i++)
                if (strcmp(c->flows[i].name, name) == 0)
                        return &c->flows[i];
        if (!add)
                return NULL;
        c->flows = realloc(c->flows, (c->n_flows + 1) * sizeof(*c->flows));
        if (!c->flows) {
                fputs("busrpc-idlc: out of memory\n", stderr);
                abort();
        }
        c->flows[c->n_flows] = (Flow){ name, 0 };
        return &c->flows[c->n_flows++];
}

int compat_flow_of(Cmp *c, const char *name) {
        const Flow *f = flow_get(c, name, false);
        return f ? f->flow : 0;
}

static void flow_type(Cmp *c, const IdlType *t, int flow, int depth) {
        const IdlDecl *d;
        Flow *f;

        if (!t || depth > 64)
                return;
        switch (t->kind) {
        case IDL_T_ARRAY:
                flow_type(c, t->elem, flow, depth + 1);
                return;
        case IDL_T_MAP:
                flow_type(c, t->key, flow, depth + 1);
                flow_type(c, t->elem, flow, depth + 1);
                return;
        case IDL_T_NAMED:
                break;
        default:
                return;
        }
        if (!(d = t->decl) || !d->name)
                return;
        f = flow_get(c, d->name, true);
        if ((f->flow & flow) == flow)
                return;
        f->flow |= flow;
        if (d->kind == IDL_D_STRUCT)
                for (size_t i = 0; i < d->n_fields; i++)
                        flow_type(c, d->fields[i]->type, flow, depth + 1);
        else if (d->kind == IDL_D_TYPEDEF)
                flow_type(c, d->target, flow, depth + 1);
}

/* Which way each named type goes in the main file's interfaces. */
void compat_flow_file(Cmp *c, const IdlFile *f) {
        for (size_t i = 0; i < f->n_decls; i++) {
                const IdlDecl *d = f->decls[i];
                if (d->kind != IDL_D_INTERFACE)
                        continue;
                for (size_t j = 0; j < d->n_members; j++) {
                        const IdlMember *m = d->members[j];
                        int in = m->kind == IDL_M_METHOD ? FLOW_TO_SERVICE : FLOW_TO_CLIENT;
                        for (size_t k = 0; k < m->n_in; k++)
                                flow_type(c, m->in[k]->type, in, 0);
                        for (size_t k = 0; k < m->n_out; k++)
                                flow_type(c, m->out[k]->type, FLOW_TO_CLIENT, 0);
                        if (m->kind == IDL_M_PROPERTY)
                                flow_type(c, m->type,
                                          (m->access != IDL_ACCESS_WRITE ? FLOW_TO_CLIENT : 0) |
                                                  (m->access != IDL_ACCESS_READ ? FLOW_TO_SERVICE : 0),
                                          0);
                }
        }
}

/* ---- types ---- */

/* The signature with shm told apart from fd: both are "h", but a receiver
 * of shm refuses an fd that is not a sealed memfd (runtime/shm.c). */
static void shm_sig(FILE *out, const IdlType *t, int depth) {
        const IdlBasicType *b;
        const IdlDecl *d;

        if (!t || depth > 64)
                return;
        switch (t->kind) {
        case IDL_T_SHM:
                fputc('!', out);
                return;
        case IDL_T_ARRAY:
                fputc('a', out);
                shm_sig(out, t->elem, depth + 1);
                return;
        case IDL_T_MAP:
                fputs("a{", out);
                shm_sig(out, t->key, depth + 1);
                shm_sig(out, t->elem, depth + 1);
                fputc('}', out);
                return;
        case IDL_T_NAMED:
                if (!(d = t->decl))
                        return;
                if (d->kind == IDL_D_TYPEDEF) {
                        shm_sig(out, d->target, depth + 1);
                } else if (d->kind == IDL_D_STRUCT) {
                        fputc('(', out);
                        for (size_t i = 0; i < d->n_fields; i++)
                                shm_sig(out, d->fields[i]->type, depth + 1);
                        fputc(')', out);
                } else {
                        shm_sig(out, d->base, depth + 1);
                }
                return;
        default:
                if ((b = idl_basic_type(t->kind)))
                        fputc(b->sig, out);
                return;
        }
}

static char *shm_sig_str(const IdlType *t) {
        char *s = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&s, &len);

        if (!f)
                return NULL;
        shm_sig(f, t, 0);
        if (fclose(f) != 0) {
                free(s);
                return NULL;
        }
        return s;
}

static bool shm_differs(const IdlType *o, const IdlType *n) {
        char *so = shm_sig_str(o), *sn = shm_sig_str(n);
        bool r = so && sn && strcmp(so, sn) != 0;

        free(so);
        free(sn);
        return r;
}

/* How two types differ. A named type of the same name and kind in both is
 * "the same" here: its declaration is compared on its own, once. */
Diff compat_type_diff(const IdlType *o, const IdlType *n) {
        char *so, *sn, *po, *pn;
        Diff r;

        if (!o || !n)
                return o == n ? D_SAME : D_WIRE;
        if (o->kind == IDL_T_NAMED && n->kind == IDL_T_NAMED && same(o->name, n->name) && o->decl &&
            n->decl && o->decl->kind == n->decl->kind)
                return D_SAME;
        so = idl_type_signature(o);
        sn = idl_type_signature(n);
        if (strcmp(so, sn) != 0) {
                if (o->kind == IDL_T_ARRAY && n->kind == IDL_T_ARRAY)
                        r = compat_type_diff(o->elem, n->elem);
                else if (o->kind == IDL_T_MAP && n->kind == IDL_T_MAP) {
                        Diff k = compat_type_diff(o->key, n->key), v = compat_type_diff(o->elem, n->elem);
                        r = k > v ? k : v;
                } else
                        r = D_WIRE;
        } else {
                po = spell(o);
                pn = spell(n);
                r = strcmp(po, pn) == 0 ? D_SAME : shm_differs(o, n) ? D_WIRE : D_SOURCE;
                free(po);
                free(pn);
        }
        free(so);
        free(sn);
        return r;
}

/* "from 'int32' to 'int64'" for a wire change, with the signature added
 * when the spellings agree; "... , same signature 'i'" for a source one. */
char *compat_retype_text(const IdlType *o, const IdlType *n, Diff d) {
        char *po = spell(o), *pn = spell(n), *r;
        char *so = idl_type_signature(o), *sn = idl_type_signature(n);

        if (d == D_SOURCE)
                r = idl_xasprintf("from '%s' to '%s', same signature '%s'", po, pn, sn);
        else if (strcmp(so, sn) == 0) /* only fd against shm (shm_sig()) */
                r = idl_xasprintf("from '%s' to '%s', same signature '%s' but a shm is only a sealed memfd",
                                  po, pn, sn);
        else if (strcmp(po, pn) == 0)
                r = idl_xasprintf("from '%s' (signature '%s') to '%s' (signature '%s')", po, so, pn, sn);
        else
                r = idl_xasprintf("from '%s' to '%s'", po, pn);
        free(so);
        free(sn);
        free(po);
        free(pn);
        return r;
}

/* ---- lists: arguments, outputs, struct fields ---- */

size_t compat_find_field(IdlField *const *v, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(compat_field_name(v[i]), name) == 0)
                        return i;
        return SIZE_MAX;
}

static void retyped(Cmp *c, const List *l, const IdlField *o, const IdlField *n) {
        Diff d = compat_type_diff(o->type, n->type);
        char *t;

        if (d == D_SAME)
                return;
        t = compat_retype_text(o->type, n->type, d);
        compat_change(c, d == D_WIRE ? l->wire : K_SOURCE, l->who, compat_at(n->meta.loc, l->nf), compat_at(o->meta.loc, l->of),
               NOTE("%s '%s' was here", l->noun, compat_field_name(o)), "%s '%s' of %s changed type %s", l->noun,
               compat_field_name(n), l->owner, t);
        free(t);
}

void compat_cmp_list(Cmp *c, const List *l, IdlField *const *o, size_t no, IdlField *const *n, size_t nn) {
        bool by_name = no != nn, moved = false;
        size_t k;

        /* Same count: position by position, unless the names are the same
         * set in another order (then it is a reordering). */
        if (!by_name) {
                bool perm = true, differ = false;
                for (size_t i = 0; i < no; i++) {
                        if (compat_find_field(n, nn, compat_field_name(o[i])) == SIZE_MAX)
                                perm = false;
                        if (strcmp(compat_field_name(o[i]), compat_field_name(n[i])) != 0)
                                differ = true;
                }
                by_name = perm && differ;
        }
        if (!by_name) {
                for (size_t i = 0; i < no; i++) {
                        retyped(c, l, o[i], n[i]);
                        if (strcmp(compat_field_name(o[i]), compat_field_name(n[i])) != 0)
                                compat_change(c, K_SOURCE, l->who, compat_at(n[i]->meta.loc, l->nf), compat_at(o[i]->meta.loc, l->of),
                                       NOTE("%s '%s' was here", l->noun, compat_field_name(o[i])),
                                       "%s '%s' of %s renamed to '%s'", l->noun, compat_field_name(o[i]), l->owner,
                                       compat_field_name(n[i]));
                        else if (o[i]->name && n[i]->name && strcmp(o[i]->name, n[i]->name) != 0)
                                compat_change(c, K_SOURCE, l->who, compat_at(n[i]->meta.loc, l->nf), compat_at(o[i]->meta.loc, l->of),
                                       NOTE("%s '%s' was here", l->noun, compat_field_name(o[i])),
                                       "C name of %s '%s' of %s changed from '%s' to '%s'", l->noun,
                                       compat_field_name(n[i]), l->owner, o[i]->name, n[i]->name);
                }
                return;
        }
        for (size_t i = 0; i < no; i++)
                if (compat_find_field(n, nn, compat_field_name(o[i])) == SIZE_MAX)
                        compat_change(c, l->wire, l->who, l->new_loc, compat_at(o[i]->meta.loc, l->of),
                               NOTE("%s '%s' was here", l->noun, compat_field_name(o[i])), "%s lost %s '%s'", l->owner,
                               l->noun, compat_field_name(o[i]));
        for (size_t j = 0; j < nn; j++) {
                size_t i = compat_find_field(o, no, compat_field_name(n[j]));
                if (i == SIZE_MAX)
                        compat_change(c, l->wire, l->who, compat_at(n[j]->meta.loc, l->nf), l->old_loc,
                               NOTE("%s was here", l->owner), "%s gained %s '%s'", l->owner, l->noun,
                               compat_field_name(n[j]));
                else
                        retyped(c, l, o[i], n[j]);
        }
        /* The names both have: the same order? On the wire a swap of two
         * int32 is invisible, and every value lands in the wrong place. */
        k = 0;
        for (size_t j = 0; j < nn && !moved; j++) {
                size_t i = compat_find_field(o, no, compat_field_name(n[j]));
                if (i == SIZE_MAX)
                        continue;
                if (i < k)
                        moved = true;
                k = i;
        }
        if (!moved)
                return;
        for (size_t j = 0; j < nn; j++) {
                size_t i = compat_find_field(o, no, compat_field_name(n[j]));
                if (i == SIZE_MAX || i == j)
                        continue;
                compat_change(c, l->wire, l->who, compat_at(n[j]->meta.loc, l->nf), compat_at(o[i]->meta.loc, l->of),
                       NOTE("%s '%s' was here", l->noun, compat_field_name(o[i])),
                       "%s '%s' of %s moved from position %zu to %zu", l->noun, compat_field_name(n[j]), l->owner, i + 1,
                       j + 1);
        }
}

/* ---- type declarations ---- */

static const IdlEnumValue *find_value(const IdlDecl *d, const char *name) {
        for (size_t i = 0; i < d->n_values; i++)
                if (d->values[i]->name && strcmp(d->values[i]->name, name) == 0)
                        return d->values[i];
        return NULL;
}

static const IdlEnumValue *find_value_by_number(const IdlDecl *d, int64_t v) {
        for (size_t i = 0; i < d->n_values; i++)
                if (d->values[i]->value == v)
                        return d->values[i];
        return NULL;
}

static char *value_text(const IdlDecl *d, int64_t v) {
        if (d->kind == IDL_D_FLAGS)
                return idl_xasprintf("0x%llx", (unsigned long long)v);
        return idl_xasprintf("%lld", (long long)v);
}

static void cmp_values(Cmp *c, const IdlDecl *o, const IdlDecl *n, const char *what, int flow) {
        const char *noun = n->kind == IDL_D_FLAGS ? "flag" : "value";
        IdlLoc nloc = compat_at(n->meta.loc, n->file);
        Kind wire = flow ? K_WIRE : K_UNUSED;

        for (size_t i = 0; i < o->n_values; i++) {
                const IdlEnumValue *ov = o->values[i], *nv;
                int who;
                if (!ov->name || find_value(n, ov->name))
                        continue;
                /* The same number under a new name is a rename. */
                nv = find_value_by_number(n, ov->value);
                if (nv && !find_value(o, nv->name)) {
                        compat_change(c, K_SOURCE, WHO_BOTH, compat_at(nv->meta.loc, n->file), compat_at(ov->meta.loc, o->file),
                               NOTE("'%s' was here", ov->name), "%s '%s' of %s renamed to '%s'", noun, ov->name, what,
                               nv->name);
                        continue;
                }
                /* Old clients may still send it; old services may still
                 * return it to new clients. */
                who = (flow & FLOW_TO_SERVICE ? WHO_CLIENTS : 0) | (flow & FLOW_TO_CLIENT ? WHO_SERVICES : 0);
                compat_change(c, wire, who, nloc, compat_at(ov->meta.loc, o->file), NOTE("'%s' was here", ov->name),
                       "%s '%s' of %s removed", noun, ov->name, what);
        }
        for (size_t i = 0; i < n->n_values; i++) {
                const IdlEnumValue *nv = n->values[i], *ov;
                if (!nv->name)
                        continue;
                ov = find_value(o, nv->name);
                if (!ov) {
                        const IdlEnumValue *same_num = find_value_by_number(o, nv->value);
                        if (same_num && !find_value(n, same_num->name))
                                continue; /* reported as a rename above */
                        compat_change(c, K_ADD, WHO_BOTH, compat_at(nv->meta.loc, n->file), NO_LOC, NULL, "new %s '%s' in %s",
                               noun, nv->name, what);
                        continue;
                }
                if (ov->value != nv->value) {
                        char *a = value_text(o, ov->value), *b = value_text(n, nv->value);
                        compat_change(c, wire, WHO_BOTH, compat_at(nv->meta.loc, n->file), compat_at(ov->meta.loc, o->file),
                               NOTE("'%s' was %s here", ov->name, a), "%s '%s' of %s renumbered from %s to %s", noun,
                               nv->name, what, a, b);
                        free(a);
                        free(b);
                }
                if (ov->c_name && nv->c_name && strcmp(ov->c_name, nv->c_name) != 0 && !c->module_renamed &&
                    !compat_has_c_name_annot(&o->meta) && !compat_has_c_name_annot(&n->meta))
                        compat_change(c, K_SOURCE, WHO_BOTH, compat_at(nv->meta.loc, n->file), compat_at(ov->meta.loc, o->file),
                               NOTE("'%s' was here", ov->name), "C name of %s '%s' of %s changed from '%s' to '%s'",
                               noun, nv->name, what, ov->c_name, nv->c_name);
        }
}

void compat_cmp_type_decl(Cmp *c, const IdlDecl *o, const IdlDecl *n) {
        IdlLoc loc = compat_at(n->meta.loc, n->file), old_loc = compat_at(o->meta.loc, o->file);
        int flow = compat_flow_of(c, n->name);
        Kind wire = flow ? K_WIRE : K_UNUSED;
        char *what = idl_xasprintf("%s '%s'", compat_decl_kind(n->kind), n->name);

        if (o->kind != n->kind) {
                bool wire_same = o->signature && n->signature && strcmp(o->signature, n->signature) == 0;
                compat_change(c, wire_same ? K_SOURCE : wire, WHO_BOTH, loc, old_loc,
                       NOTE("%s '%s' was here", compat_decl_kind(o->kind), o->name), "'%s' changed from %s to %s", n->name,
                       compat_decl_kind(o->kind), compat_decl_kind(n->kind));
                goto out;
        }
        switch (n->kind) {
        case IDL_D_STRUCT: {
                List l = { what, "field", old_loc, loc, o->file, n->file, wire, WHO_BOTH };
                compat_cmp_list(c, &l, o->fields, o->n_fields, n->fields, n->n_fields);
                break;
        }
        case IDL_D_ENUM:
        case IDL_D_FLAGS: {
                Diff d = compat_type_diff(o->base, n->base);
                if (d != D_SAME) {
                        char *t = compat_retype_text(o->base, n->base, d);
                        compat_change(c, d == D_WIRE ? wire : K_SOURCE, WHO_BOTH, loc, old_loc, NOTE("%s was here", what),
                               "%s changed its base type %s", what, t);
                        free(t);
                }
                cmp_values(c, o, n, what, flow);
                break;
        }
        case IDL_D_TYPEDEF: {
                Diff d = compat_type_diff(o->target, n->target);
                if (d != D_SAME) {
                        char *t = compat_retype_text(o->target, n->target, d);
                        compat_change(c, d == D_WIRE ? wire : K_SOURCE, WHO_BOTH, loc, old_loc, NOTE("%s was here", what),
                               "%s changed %s", what, t);
                        free(t);
                }
                break;
        }
        case IDL_D_INTERFACE:
                break;
        }
        compat_cmp_c_name(c, what, what, &o->meta, o->c_name, &n->meta, n->c_name, loc, old_loc, true);
        compat_cmp_deprecated(c, what, what, o->deprecated, n->deprecated, loc, old_loc);
        compat_since_kept(c, &o->meta, &n->meta, loc, o->file, what);
out:
        free(what);
}
