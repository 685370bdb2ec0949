/* check-types.c: what D-Bus demands of types.
 *
 * D-Bus has no recursive types, so a struct may not contain itself (not
 * even through an array or a map) and typedefs may not go round in a
 * circle. Every complete type's signature must fit in 255 characters with
 * at most 32 nested arrays and 32 nested structs (a dict entry counts as a
 * struct, as libdbus counts it), and so must the concatenated arguments of
 * a method or signal. Map keys must be basic types; this is where
 * signatures are computed and stored in the tree.
 */
#include <stdlib.h>
#include <string.h>
#include "check-internal.h"
#include "diag.h"
#include "types.h"

#define SIG_MAX 255   /* DBUS_MAXIMUM_SIGNATURE_LENGTH */
#define DEPTH_MAX 32  /* DBUS_MAXIMUM_TYPE_RECURSION_DEPTH */
/* Signatures are stored up to this length: anything longer is an error
 * already, and capping keeps pathological inputs (each struct holding two
 * of the previous one) from growing exponentially. */
#define SIG_STORE 1024

/* ---- cycles ---- */

typedef struct Stack {
        IdlDecl **items;
        size_t n;
} Stack;

static void dfs(CheckCtx *c, IdlDecl *d, Stack *st);

static void visit_type(CheckCtx *c, IdlDecl *from, const IdlType *t, Stack *st) {
        while (t) {
                if (t->kind == IDL_T_ARRAY) {
                        t = t->elem;
                } else if (t->kind == IDL_T_MAP) {
                        visit_type(c, from, t->key, st);
                        t = t->elem;
                } else {
                        break;
                }
        }
        if (!t || t->kind != IDL_T_NAMED || !t->decl)
                return;
        IdlDecl *to = t->decl;
        DeclInfo *info = check_info(c, to);
        if (info->visit == 0) {
                dfs(c, to, st);
        } else if (info->visit == 1) {
                /* A back edge: everything on the stack from `to` up is a cycle.
                 * Name a struct when there is one: that is what the user
                 * has to change. */
                IdlLoc loc = check_loc(t->loc, from->file);
                const IdlDecl *subj = from, *via = to;
                size_t k = st->n;
                while (k > 0 && st->items[k - 1] != to)
                        k--;
                for (size_t i = k ? k - 1 : 0; i < st->n; i++)
                        check_info(c, st->items[i])->cyclic = true;
                if (from->kind != IDL_D_STRUCT && to->kind == IDL_D_STRUCT)
                        subj = to, via = from;
                if (subj == via)
                        idl_error(loc, "%s '%s' %s itself", check_decl_kind(subj->kind),
                                  check_str(subj->name),
                                  subj->kind == IDL_D_STRUCT ? "contains" : "refers to");
                else
                        idl_error(loc, "%s '%s' %s itself (through '%s')", check_decl_kind(subj->kind),
                                  check_str(subj->name),
                                  subj->kind == IDL_D_STRUCT ? "contains" : "refers to",
                                  check_str(via->name));
        }
}

static void dfs(CheckCtx *c, IdlDecl *d, Stack *st) {
        DeclInfo *info = check_info(c, d);

        info->visit = 1;
        IDL_PUSH(st->items, st->n, d);
        for (size_t i = 0; i < d->n_fields; i++)
                if (d->fields[i])
                        visit_type(c, d, d->fields[i]->type, st);
        visit_type(c, d, d->target, st);
        visit_type(c, d, d->base, st);
        st->n--;
        check_info(c, d)->visit = 2;
}

void check_cycles(CheckCtx *c) {
        Stack st = { 0 };

        for (size_t i = 0; i < c->n_decls; i++) {
                IdlDecl *d = c->decls[i];
                if (d->kind != IDL_D_INTERFACE && check_info(c, d)->visit == 0)
                        dfs(c, d, &st);
        }
        free(st.items);
}

/* ---- signatures ---- */

typedef struct Sig {
        char *s;      /* NUL-terminated, at most SIG_STORE characters kept */
        size_t len;   /* the real length */
        size_t cap;
        int adepth, sdepth;
} Sig;

static void sig_add(Sig *g, const char *s, size_t n) {
        if (g->len + n <= SIG_STORE) {
                if (g->len + n + 1 > g->cap) {
                        size_t cap = g->cap ? g->cap : 32;
                        while (cap < g->len + n + 1)
                                cap *= 2;
                        char *p = realloc(g->s, cap);
                        if (!p)
                                abort(); /* out of memory, as idl_xmalloc does */
                        g->s = p;
                        g->cap = cap;
                }
                memcpy(g->s + g->len, s, n);
                g->s[g->len + n] = '\0';
        }
        g->len += n;
}

/* Append another signature, which may have been capped. */
static void sig_cat(Sig *g, const Sig *o) {
        size_t kept = o->s ? strlen(o->s) : 0;

        sig_add(g, o->s ? o->s : "", kept);
        g->len += o->len - kept;
}

static char *sig_take(Sig *g) {
        char *s = g->s ? g->s : idl_xstrdup("");
        g->s = NULL;
        return s;
}

static int imax(int a, int b) {
        return a > b ? a : b;
}

char *check_type_str(const IdlType *t) {
        if (!t)
                return idl_xstrdup("?");
        switch (t->kind) {
        case IDL_T_ARRAY: {
                char *e = check_type_str(t->elem);
                char *s = idl_xasprintf("%s[]", e);
                free(e);
                return s;
        }
        case IDL_T_MAP: {
                char *k = check_type_str(t->key), *v = check_type_str(t->elem);
                char *s = idl_xasprintf("map<%s, %s>", k, v);
                free(k);
                free(v);
                return s;
        }
        case IDL_T_NAMED:
                return idl_xstrdup(check_str(t->name));
        default:
                return idl_xstrdup(idl_kind_name(t->kind));
        }
}

static bool decl_sig(CheckCtx *c, IdlDecl *d);
static bool occurrence_sig(CheckCtx *c, const IdlType *t, const IdlFile *f, Sig *out);

static bool check_map_key(CheckCtx *c, const IdlType *key, const IdlFile *f) {
        const IdlType *k = check_resolve(c, key);
        const char *why = NULL;

        if (!k)
                return false;
        if (k->kind == IDL_T_NAMED) {
                if (!k->decl || check_info(c, k->decl)->cyclic)
                        return false; /* reported already */
                if (k->decl->kind == IDL_D_STRUCT)
                        why = "a key must be a basic type, not a struct";
        } else if (k->kind == IDL_T_ARRAY || k->kind == IDL_T_MAP) {
                why = "a key must be a basic type, not a container";
        } else if (k->kind == IDL_T_VARIANT) {
                why = "a key must be a basic type, not a variant";
        } else if (k->kind == IDL_T_FD || k->kind == IDL_T_SHM) {
                why = "file descriptors cannot be compared, so they cannot be keys";
        }
        if (why) {
                char *s = check_type_str(key);
                idl_error(check_loc(key->loc, f), "invalid map key type '%s': %s", s, why);
                free(s);
                return false;
        }
        return true;
}

/* Append t's signature to g; false when it cannot be computed (the reason
 * was reported, here or earlier). */
static bool type_sig(CheckCtx *c, const IdlType *t, const IdlFile *f, Sig *g) {
        const IdlBasicType *b;
        Sig k = { 0 }, v = { 0 };
        bool ok;

        if (!t)
                return false;
        switch (t->kind) {
        case IDL_T_ARRAY:
                sig_add(g, "a", 1);
                ok = type_sig(c, t->elem, f, &v);
                if (ok) {
                        sig_cat(g, &v);
                        g->adepth = imax(g->adepth, v.adepth + 1);
                        g->sdepth = imax(g->sdepth, v.sdepth);
                }
                free(v.s);
                return ok;
        case IDL_T_MAP:
                ok = check_map_key(c, t->key, f);
                ok = type_sig(c, t->key, f, &k) && ok;
                ok = type_sig(c, t->elem, f, &v) && ok;
                if (ok) {
                        sig_add(g, "a{", 2);
                        sig_cat(g, &k);
                        sig_cat(g, &v);
                        sig_add(g, "}", 1);
                        g->adepth = imax(g->adepth, imax(k.adepth, v.adepth) + 1);
                        g->sdepth = imax(g->sdepth, imax(k.sdepth, v.sdepth) + 1);
                }
                free(k.s);
                free(v.s);
                return ok;
        case IDL_T_NAMED: {
                DeclInfo *info;
                if (!t->decl || !decl_sig(c, t->decl))
                        return false;
                info = check_info(c, t->decl);
                sig_add(g, t->decl->signature, strlen(t->decl->signature));
                g->adepth = imax(g->adepth, info->adepth);
                g->sdepth = imax(g->sdepth, info->sdepth);
                return true;
        }
        default:
                b = idl_basic_type(t->kind);
                if (!b)
                        return false;
                sig_add(g, &b->sig, 1);
                return true;
        }
}

/* A complete type where one is written (field, argument, property,
 * typedef target): compute it and hold it to the limits. */
static bool occurrence_sig(CheckCtx *c, const IdlType *t, const IdlFile *f, Sig *out) {
        IdlLoc loc;
        char *s;

        *out = (Sig){ 0 };
        if (!type_sig(c, t, f, out))
                return false;
        loc = check_loc(t->loc, f);
        if (out->len <= SIG_MAX && out->adepth <= DEPTH_MAX && out->sdepth <= DEPTH_MAX)
                return true;
        s = check_type_str(t);
        if (out->len > SIG_MAX)
                idl_error(loc, "signature of type '%s' is too long: %zu characters, D-Bus allows %d",
                          s, out->len, SIG_MAX);
        else if (out->adepth > DEPTH_MAX)
                idl_error(loc, "arrays in type '%s' are nested too deeply: %d levels, D-Bus allows %d",
                          s, out->adepth, DEPTH_MAX);
        else
                idl_error(loc, "structs in type '%s' are nested too deeply: %d levels, D-Bus allows %d",
                          s, out->sdepth, DEPTH_MAX);
        free(s);
        return false;
}

static bool decl_sig(CheckCtx *c, IdlDecl *d) {
        DeclInfo *info = check_info(c, d);
        IdlLoc loc = check_loc(d->meta.loc, d->file);
        Sig g = { 0 }, one;
        bool ok = true;

        if (info->sig_done)
                return !info->poisoned;
        info->sig_done = true;
        info->poisoned = true;
        if (info->cyclic)
                return false;

        switch (d->kind) {
        case IDL_D_STRUCT:
                sig_add(&g, "(", 1);
                for (size_t i = 0; i < d->n_fields; i++) {
                        const IdlField *fl = d->fields[i];
                        one = (Sig){ 0 };
                        if (!fl || !occurrence_sig(c, fl->type, d->file, &one)) {
                                ok = false;
                        } else {
                                sig_cat(&g, &one);
                                g.adepth = imax(g.adepth, one.adepth);
                                g.sdepth = imax(g.sdepth, one.sdepth);
                        }
                        free(one.s);
                        one.s = NULL;
                }
                sig_add(&g, ")", 1);
                g.sdepth++;
                ok = ok && d->n_fields > 0;
                if (ok && g.len > SIG_MAX) {
                        idl_error(loc, "signature of struct '%s' is too long: %zu characters, "
                                  "D-Bus allows %d", check_str(d->name), g.len, SIG_MAX);
                        ok = false;
                } else if (ok && g.sdepth > DEPTH_MAX) {
                        idl_error(loc, "struct '%s' is nested too deeply: %d levels, D-Bus allows %d",
                                  check_str(d->name), g.sdepth, DEPTH_MAX);
                        ok = false;
                }
                break;
        case IDL_D_ENUM:
        case IDL_D_FLAGS: {
                const IdlType *b = d->base ? check_resolve(c, d->base) : NULL;
                const IdlBasicType *bt = idl_basic_type(b ? b->kind : IDL_T_UINT32);
                if (!bt || !bt->is_integer) {
                        ok = false;
                        break;
                }
                sig_add(&g, &bt->sig, 1);
                break;
        }
        case IDL_D_TYPEDEF:
                ok = occurrence_sig(c, d->target, d->file, &g);
                break;
        case IDL_D_INTERFACE:
                ok = false;
                break;
        }
        if (ok) {
                check_set(&d->signature, sig_take(&g));
                info->adepth = g.adepth;
                info->sdepth = g.sdepth;
                info->poisoned = false;
        }
        free(g.s);
        return ok;
}

/* Concatenate a list of arguments into *slot; check the total length. */
static void args_sig(CheckCtx *c, IdlMember *m, IdlField **args, size_t n, const char *what,
                     char **slot) {
        const IdlFile *f = m->iface ? m->iface->file : NULL;
        Sig all = { 0 }, one;
        bool ok = true;

        for (size_t i = 0; i < n; i++) {
                one = (Sig){ 0 };
                if (!args[i] || !occurrence_sig(c, args[i]->type, f, &one))
                        ok = false;
                else
                        sig_cat(&all, &one);
                free(one.s);
                one.s = NULL;
        }
        if (ok && all.len > SIG_MAX) {
                idl_error(check_loc(m->meta.loc, f),
                          "signature of the %s of %s '%s' is too long: %zu characters, D-Bus allows %d",
                          what, check_member_kind(m->kind), check_str(m->name), all.len, SIG_MAX);
                ok = false;
        }
        check_set(slot, ok ? sig_take(&all) : NULL);
        free(all.s);
}

static void property_sig(CheckCtx *c, IdlMember *m) {
        const IdlFile *f = m->iface ? m->iface->file : NULL;
        Sig g = { 0 };

        if (!m->type)
                return;
        if (occurrence_sig(c, m->type, f, &g) && g.s && strchr(g.s, 'h')) {
                /* Properties.GetAll and PropertiesChanged would have to carry
                 * descriptors in every reply: not supported. */
                char *s = check_type_str(m->type);
                idl_error(check_loc(m->type->loc, f),
                          "property '%s' cannot carry file descriptors (type '%s')",
                          check_str(m->name), s);
                free(s);
        }
        free(g.s);
}

void check_signatures(CheckCtx *c) {
        for (size_t i = 0; i < c->n_decls; i++) {
                IdlDecl *d = c->decls[i];
                if (d->kind != IDL_D_INTERFACE) {
                        decl_sig(c, d);
                        continue;
                }
                for (size_t j = 0; j < d->n_members; j++) {
                        IdlMember *m = d->members[j];
                        if (!m)
                                continue;
                        switch (m->kind) {
                        case IDL_M_METHOD:
                                args_sig(c, m, m->in, m->n_in, "inputs", &m->in_sig);
                                args_sig(c, m, m->out, m->n_out, "outputs", &m->out_sig);
                                break;
                        case IDL_M_SIGNAL:
                                args_sig(c, m, m->in, m->n_in, "arguments", &m->in_sig);
                                break;
                        case IDL_M_PROPERTY:
                                property_sig(c, m);
                                break;
                        case IDL_M_ERROR:
                                break;
                        }
                }
        }
}
