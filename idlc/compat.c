/* compat.c: busrpc-idlc --compat OLD NEW, API evolution checks.
 *
 * Two checked units are compared the way peers see them: interfaces and
 * members by D-Bus name, arguments and fields by position and signature,
 * types by name (a struct on the wire is its signature, so its fields are
 * compared where it is declared, once, not at every use). Each change is
 * one diagnostic at NEW's location, with a note at OLD's.
 *
 * Who a change breaks, in the words of the messages:
 *   existing clients   programs built on OLD, talking to a service of NEW;
 *   existing services  services built on OLD, called by clients of NEW
 *                      through the members both versions have.
 * A new member is an addition: using it needs a new service, as always.
 *
 * Each change has a kind (wire, source, change, addition); the level
 * (--compat-level) decides which kinds are errors. docs/idl.md has the
 * table.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "diag.h"
#include "gen.h"
#include "types.h"

typedef enum Kind {
        K_WIRE,   /* breaks peers on the D-Bus wire */
        K_SOURCE, /* same wire, different generated C */
        K_UNUSED, /* a type no member uses: only its C changes */
        K_CHANGE, /* compatible change to an existing member */
        K_ADD,    /* compatible addition */
} Kind;

enum { WHO_CLIENTS = 1, WHO_SERVICES = 2, WHO_BOTH = 3 };
enum { FLOW_TO_SERVICE = 1, FLOW_TO_CLIENT = 2 };

typedef struct Flow {
        const char *name; /* a type's IDL name (borrowed) */
        int flow;
} Flow;

typedef struct Cmp {
        const IdlUnit *ou, *nu;
        const IdlFile *of, *nf; /* the main files */
        IdlCompatLevel level;
        int breaking;
        bool module_renamed;
        const char *newest; /* the newest @since in OLD, or NULL */
        IdlLoc newest_loc;
        Flow *flows;
        size_t n_flows;
} Cmp;

int idl_compat_level_parse(const char *s, IdlCompatLevel *ret) {
        static const char *const names[] = {
                [IDL_COMPAT_WIRE] = "wire", [IDL_COMPAT_SOURCE] = "source", [IDL_COMPAT_STRICT] = "strict",
        };

        for (size_t i = 0; s && i < sizeof(names) / sizeof(names[0]); i++) {
                if (strcmp(s, names[i]) == 0) {
                        *ret = (IdlCompatLevel)i;
                        return 0;
                }
        }
        return -1;
}

/* ---- reporting ---- */

static IdlLoc at(IdlLoc l, const IdlFile *f) {
        if (!l.file && f)
                l.file = f->path;
        if (l.line <= 0)
                l.line = 1, l.col = 1;
        if (l.col <= 0)
                l.col = 1;
        return l;
}

/* Where a diagnostic about a file as a whole goes: its module line, or its
 * first line. */
static IdlLoc file_loc(const IdlFile *f) {
        if (f->module_loc.line > 0)
                return at(f->module_loc, f);
        return at((IdlLoc){ f->path, 1, 1 }, f);
}

static const char *why(Kind k, int who) {
        switch (k) {
        case K_WIRE:
                return who == WHO_CLIENTS    ? "breaks existing clients"
                       : who == WHO_SERVICES ? "breaks existing services"
                                             : "breaks existing clients and services";
        case K_SOURCE: return "wire-compatible; changes the generated C API";
        case K_UNUSED: return "no member uses it on the wire; changes the generated C API";
        case K_CHANGE: return "compatible change";
        case K_ADD: return "compatible addition";
        }
        return "?";
}

/* Report one change at loc (NEW), with the note (owned, may be NULL) at
 * old_loc (OLD). The level makes it an error, a warning or a note. */
static void change(Cmp *c, Kind k, int who, IdlLoc loc, IdlLoc old_loc, char *note, const char *fmt, ...)
        __attribute__((format(printf, 7, 8)));
static void change(Cmp *c, Kind k, int who, IdlLoc loc, IdlLoc old_loc, char *note, const char *fmt, ...) {
        va_list ap;
        char *msg;
        int sev; /* 2 error, 1 warning, 0 note */

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        switch (k) {
        case K_WIRE: sev = 2; break;
        case K_SOURCE:
        case K_UNUSED: sev = c->level >= IDL_COMPAT_SOURCE ? 2 : 1; break;
        case K_CHANGE: sev = c->level >= IDL_COMPAT_STRICT ? 2 : 0; break;
        default: sev = 0; break;
        }
        if (sev == 2) {
                c->breaking++;
                idl_error(loc, "%s (%s)", msg ? msg : "?", why(k, who));
        } else if (sev == 1) {
                idl_warning(loc, "%s (%s)", msg ? msg : "?", why(k, who));
        } else {
                idl_note(loc, "%s (%s)", msg ? msg : "?", why(k, who));
        }
        if (note)
                idl_note(old_loc, "%s", note);
        free(note);
        free(msg);
}

#define NOTE(...) idl_xasprintf(__VA_ARGS__)
#define NO_LOC ((IdlLoc){ NULL, 0, 0 })

/* ---- small helpers ---- */

static const char *str(const char *s) {
        return s ? s : "?";
}

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

static const char *field_name(const IdlField *f) {
        return f->dbus_name ? f->dbus_name : str(f->name);
}

static const char *member_kind(IdlMemberKind k) {
        switch (k) {
        case IDL_M_METHOD: return "method";
        case IDL_M_SIGNAL: return "signal";
        case IDL_M_PROPERTY: return "property";
        case IDL_M_ERROR: return "error";
        }
        return "member";
}

static const char *decl_kind(IdlDeclKind k) {
        switch (k) {
        case IDL_D_STRUCT: return "struct";
        case IDL_D_ENUM: return "enum";
        case IDL_D_FLAGS: return "flags";
        case IDL_D_TYPEDEF: return "typedef";
        case IDL_D_INTERFACE: return "interface";
        }
        return "declaration";
}

static const char *access_name(IdlAccess a) {
        return a == IDL_ACCESS_READ ? "readonly" : a == IDL_ACCESS_WRITE ? "writeonly" : "readwrite";
}

static const char *emits_name(IdlEmits e) {
        switch (e) {
        case IDL_EMITS_TRUE: return "true";
        case IDL_EMITS_INVALIDATES: return "invalidates";
        case IDL_EMITS_CONST: return "const";
        case IDL_EMITS_FALSE: return "false";
        }
        return "?";
}

static bool has_c_name_annot(const IdlMeta *m) {
        return idl_meta_find_annot(m, IDL_A_C_NAME) != NULL;
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

static int flow_of(Cmp *c, const char *name) {
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
static void flow_file(Cmp *c, const IdlFile *f) {
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

typedef enum Diff { D_SAME, D_SOURCE, D_WIRE } Diff;

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
static Diff type_diff(const IdlType *o, const IdlType *n) {
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
                        r = type_diff(o->elem, n->elem);
                else if (o->kind == IDL_T_MAP && n->kind == IDL_T_MAP) {
                        Diff k = type_diff(o->key, n->key), v = type_diff(o->elem, n->elem);
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
static char *retype_text(const IdlType *o, const IdlType *n, Diff d) {
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

typedef struct List {
        const char *owner;      /* "method 'Add'", "struct 'Point'" */
        const char *noun;       /* "argument", "output", "field" */
        IdlLoc old_loc, new_loc; /* the owners' */
        const IdlFile *of, *nf;
        Kind wire;              /* kind of a signature change: K_WIRE or K_UNUSED */
        int who;
} List;

static size_t find_field(IdlField *const *v, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(field_name(v[i]), name) == 0)
                        return i;
        return SIZE_MAX;
}

static void retyped(Cmp *c, const List *l, const IdlField *o, const IdlField *n) {
        Diff d = type_diff(o->type, n->type);
        char *t;

        if (d == D_SAME)
                return;
        t = retype_text(o->type, n->type, d);
        change(c, d == D_WIRE ? l->wire : K_SOURCE, l->who, at(n->meta.loc, l->nf), at(o->meta.loc, l->of),
               NOTE("%s '%s' was here", l->noun, field_name(o)), "%s '%s' of %s changed type %s", l->noun,
               field_name(n), l->owner, t);
        free(t);
}

static void cmp_list(Cmp *c, const List *l, IdlField *const *o, size_t no, IdlField *const *n, size_t nn) {
        bool by_name = no != nn, moved = false;
        size_t k;

        /* Same count: position by position, unless the names are the same
         * set in another order (then it is a reordering). */
        if (!by_name) {
                bool perm = true, differ = false;
                for (size_t i = 0; i < no; i++) {
                        if (find_field(n, nn, field_name(o[i])) == SIZE_MAX)
                                perm = false;
                        if (strcmp(field_name(o[i]), field_name(n[i])) != 0)
                                differ = true;
                }
                by_name = perm && differ;
        }
        if (!by_name) {
                for (size_t i = 0; i < no; i++) {
                        retyped(c, l, o[i], n[i]);
                        if (strcmp(field_name(o[i]), field_name(n[i])) != 0)
                                change(c, K_SOURCE, l->who, at(n[i]->meta.loc, l->nf), at(o[i]->meta.loc, l->of),
                                       NOTE("%s '%s' was here", l->noun, field_name(o[i])),
                                       "%s '%s' of %s renamed to '%s'", l->noun, field_name(o[i]), l->owner,
                                       field_name(n[i]));
                        else if (o[i]->name && n[i]->name && strcmp(o[i]->name, n[i]->name) != 0)
                                change(c, K_SOURCE, l->who, at(n[i]->meta.loc, l->nf), at(o[i]->meta.loc, l->of),
                                       NOTE("%s '%s' was here", l->noun, field_name(o[i])),
                                       "C name of %s '%s' of %s changed from '%s' to '%s'", l->noun,
                                       field_name(n[i]), l->owner, o[i]->name, n[i]->name);
                }
                return;
        }
        for (size_t i = 0; i < no; i++)
                if (find_field(n, nn, field_name(o[i])) == SIZE_MAX)
                        change(c, l->wire, l->who, l->new_loc, at(o[i]->meta.loc, l->of),
                               NOTE("%s '%s' was here", l->noun, field_name(o[i])), "%s lost %s '%s'", l->owner,
                               l->noun, field_name(o[i]));
        for (size_t j = 0; j < nn; j++) {
                size_t i = find_field(o, no, field_name(n[j]));
                if (i == SIZE_MAX)
                        change(c, l->wire, l->who, at(n[j]->meta.loc, l->nf), l->old_loc,
                               NOTE("%s was here", l->owner), "%s gained %s '%s'", l->owner, l->noun,
                               field_name(n[j]));
                else
                        retyped(c, l, o[i], n[j]);
        }
        /* The names both have: the same order? On the wire a swap of two
         * int32 is invisible, and every value lands in the wrong place. */
        k = 0;
        for (size_t j = 0; j < nn && !moved; j++) {
                size_t i = find_field(o, no, field_name(n[j]));
                if (i == SIZE_MAX)
                        continue;
                if (i < k)
                        moved = true;
                k = i;
        }
        if (!moved)
                return;
        for (size_t j = 0; j < nn; j++) {
                size_t i = find_field(o, no, field_name(n[j]));
                if (i == SIZE_MAX || i == j)
                        continue;
                change(c, l->wire, l->who, at(n[j]->meta.loc, l->nf), at(o[i]->meta.loc, l->of),
                       NOTE("%s '%s' was here", l->noun, field_name(o[i])),
                       "%s '%s' of %s moved from position %zu to %zu", l->noun, field_name(n[j]), l->owner, i + 1,
                       j + 1);
        }
}

/* ---- @since ---- */

static void since_newest(Cmp *c, const IdlMeta *m, const IdlFile *f) {
        const IdlAnnot *a = idl_meta_since(m);

        if (a && (!c->newest || idl_version_cmp(a->value, c->newest) > 0)) {
                c->newest = a->value;
                c->newest_loc = at(a->loc, f);
        }
}

static void since_scan(Cmp *c, const IdlUnit *u) {
        for (size_t i = 0; i < u->n_files; i++) {
                const IdlFile *f = u->files[i];
                for (size_t j = 0; j < f->n_decls; j++) {
                        const IdlDecl *d = f->decls[j];
                        since_newest(c, &d->meta, f);
                        for (size_t k = 0; k < d->n_members; k++)
                                since_newest(c, &d->members[k]->meta, f);
                        for (size_t k = 0; k < d->n_values; k++)
                                since_newest(c, &d->values[k]->meta, f);
                }
        }
}

/* A member or interface that NEW adds: it should say since when. */
static void since_added(Cmp *c, const IdlMeta *m, IdlLoc loc, const char *what) {
        const IdlAnnot *a = idl_meta_since(m);

        if (!a) {
                if (c->newest)
                        idl_warning(loc, "new %s has no @since (the newest @since of the old version is \"%s\")",
                                    what, c->newest);
                else
                        idl_warning(loc, "new %s has no @since", what);
                return;
        }
        if (c->newest && idl_version_cmp(a->value, c->newest) <= 0) {
                idl_warning(a->loc.file ? at(a->loc, NULL) : loc, "new %s has @since(\"%s\"), not newer than \"%s\", "
                            "the newest @since of the old version", what, a->value, c->newest);
                idl_note(c->newest_loc, "\"%s\" is here", c->newest);
        }
}

/* A member both versions have: the version that added it stays. */
static void since_kept(Cmp *c, const IdlMeta *om, const IdlMeta *nm, IdlLoc loc, const IdlFile *of,
                       const char *what) {
        const IdlAnnot *o = idl_meta_since(om), *n = idl_meta_since(nm);

        (void)c;
        if (!o)
                return;
        if (!n) {
                idl_warning(loc, "%s lost its @since(\"%s\")", what, o->value);
                idl_note(at(o->loc, of), "@since(\"%s\") was here", o->value);
        } else if (idl_version_cmp(o->value, n->value) != 0) {
                idl_warning(n->loc.file ? at(n->loc, NULL) : loc, "@since of %s changed from \"%s\" to \"%s\"", what, o->value,
                            n->value);
                idl_note(at(o->loc, of), "@since(\"%s\") was here", o->value);
        }
}

/* ---- declarations ---- */

/* C names: compared unless a renamed module explains the change. */
static void cmp_c_name(Cmp *c, const char *what, const char *owhat, const IdlMeta *om, const char *oc, const IdlMeta *nm,
                       const char *nc, IdlLoc loc, IdlLoc old_loc, bool module_dependent) {
        if (!oc || !nc || strcmp(oc, nc) == 0)
                return;
        if (module_dependent && c->module_renamed && !has_c_name_annot(om) && !has_c_name_annot(nm))
                return;
        change(c, K_SOURCE, WHO_BOTH, loc, old_loc, NOTE("%s was here", owhat), "C name of %s changed from '%s' to '%s'",
               what, oc, nc);
}

static void cmp_deprecated(Cmp *c, const char *what, const char *owhat, bool o, bool n, IdlLoc loc, IdlLoc old_loc) {
        if (o == n)
                return;
        change(c, K_CHANGE, WHO_BOTH, loc, old_loc, NOTE("%s was here", owhat), "%s is %s deprecated", what,
               n ? "now" : "no longer");
}

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
        IdlLoc nloc = at(n->meta.loc, n->file);
        Kind wire = flow ? K_WIRE : K_UNUSED;

        for (size_t i = 0; i < o->n_values; i++) {
                const IdlEnumValue *ov = o->values[i], *nv;
                int who;
                if (!ov->name || find_value(n, ov->name))
                        continue;
                /* The same number under a new name is a rename. */
                nv = find_value_by_number(n, ov->value);
                if (nv && !find_value(o, nv->name)) {
                        change(c, K_SOURCE, WHO_BOTH, at(nv->meta.loc, n->file), at(ov->meta.loc, o->file),
                               NOTE("'%s' was here", ov->name), "%s '%s' of %s renamed to '%s'", noun, ov->name, what,
                               nv->name);
                        continue;
                }
                /* Old clients may still send it; old services may still
                 * return it to new clients. */
                who = (flow & FLOW_TO_SERVICE ? WHO_CLIENTS : 0) | (flow & FLOW_TO_CLIENT ? WHO_SERVICES : 0);
                change(c, wire, who, nloc, at(ov->meta.loc, o->file), NOTE("'%s' was here", ov->name),
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
                        change(c, K_ADD, WHO_BOTH, at(nv->meta.loc, n->file), NO_LOC, NULL, "new %s '%s' in %s",
                               noun, nv->name, what);
                        continue;
                }
                if (ov->value != nv->value) {
                        char *a = value_text(o, ov->value), *b = value_text(n, nv->value);
                        change(c, wire, WHO_BOTH, at(nv->meta.loc, n->file), at(ov->meta.loc, o->file),
                               NOTE("'%s' was %s here", ov->name, a), "%s '%s' of %s renumbered from %s to %s", noun,
                               nv->name, what, a, b);
                        free(a);
                        free(b);
                }
                if (ov->c_name && nv->c_name && strcmp(ov->c_name, nv->c_name) != 0 && !c->module_renamed &&
                    !has_c_name_annot(&o->meta) && !has_c_name_annot(&n->meta))
                        change(c, K_SOURCE, WHO_BOTH, at(nv->meta.loc, n->file), at(ov->meta.loc, o->file),
                               NOTE("'%s' was here", ov->name), "C name of %s '%s' of %s changed from '%s' to '%s'",
                               noun, nv->name, what, ov->c_name, nv->c_name);
        }
}

static void cmp_type_decl(Cmp *c, const IdlDecl *o, const IdlDecl *n) {
        IdlLoc loc = at(n->meta.loc, n->file), old_loc = at(o->meta.loc, o->file);
        int flow = flow_of(c, n->name);
        Kind wire = flow ? K_WIRE : K_UNUSED;
        char *what = idl_xasprintf("%s '%s'", decl_kind(n->kind), n->name);

        if (o->kind != n->kind) {
                bool wire_same = o->signature && n->signature && strcmp(o->signature, n->signature) == 0;
                change(c, wire_same ? K_SOURCE : wire, WHO_BOTH, loc, old_loc,
                       NOTE("%s '%s' was here", decl_kind(o->kind), o->name), "'%s' changed from %s to %s", n->name,
                       decl_kind(o->kind), decl_kind(n->kind));
                goto out;
        }
        switch (n->kind) {
        case IDL_D_STRUCT: {
                List l = { what, "field", old_loc, loc, o->file, n->file, wire, WHO_BOTH };
                cmp_list(c, &l, o->fields, o->n_fields, n->fields, n->n_fields);
                break;
        }
        case IDL_D_ENUM:
        case IDL_D_FLAGS: {
                Diff d = type_diff(o->base, n->base);
                if (d != D_SAME) {
                        char *t = retype_text(o->base, n->base, d);
                        change(c, d == D_WIRE ? wire : K_SOURCE, WHO_BOTH, loc, old_loc, NOTE("%s was here", what),
                               "%s changed its base type %s", what, t);
                        free(t);
                }
                cmp_values(c, o, n, what, flow);
                break;
        }
        case IDL_D_TYPEDEF: {
                Diff d = type_diff(o->target, n->target);
                if (d != D_SAME) {
                        char *t = retype_text(o->target, n->target, d);
                        change(c, d == D_WIRE ? wire : K_SOURCE, WHO_BOTH, loc, old_loc, NOTE("%s was here", what),
                               "%s changed %s", what, t);
                        free(t);
                }
                break;
        }
        case IDL_D_INTERFACE:
                break;
        }
        cmp_c_name(c, what, what, &o->meta, o->c_name, &n->meta, n->c_name, loc, old_loc, true);
        cmp_deprecated(c, what, what, o->deprecated, n->deprecated, loc, old_loc);
        since_kept(c, &o->meta, &n->meta, loc, o->file, what);
out:
        free(what);
}

/* ---- interface members ---- */

static const IdlMember *find_member(const IdlDecl *d, const IdlMember *like, bool errors) {
        for (size_t i = 0; i < d->n_members; i++) {
                const IdlMember *m = d->members[i];
                if ((m->kind == IDL_M_ERROR) == errors && m->name && strcmp(m->name, like->name) == 0)
                        return m;
        }
        return NULL;
}

static bool raises(const IdlMember *m, const char *name) {
        for (size_t i = 0; i < m->n_raises; i++)
                if (m->raises[i]->name && strcmp(m->raises[i]->name, name) == 0)
                        return true;
        return false;
}

/* Arguments that moved between a method's inputs and outputs, filtered out
 * of both lists (the copies; caller frees). */
static void split_moves(Cmp *c, const IdlMember *o, const IdlMember *n, const char *what, IdlField ***oin,
                        size_t *noin, IdlField ***nin, size_t *nnin, IdlField ***oout, size_t *noout,
                        IdlField ***nout, size_t *nnout) {
        const IdlFile *of = o->iface->file, *nf = n->iface->file;

        *oin = idl_xcalloc(o->n_in + 1, sizeof(**oin));
        *nin = idl_xcalloc(n->n_in + 1, sizeof(**nin));
        *oout = idl_xcalloc(o->n_out + 1, sizeof(**oout));
        *nout = idl_xcalloc(n->n_out + 1, sizeof(**nout));
        *noin = *nnin = *noout = *nnout = 0;
        for (size_t i = 0; i < o->n_in; i++) {
                const char *name = field_name(o->in[i]);
                size_t j = find_field(n->out, n->n_out, name);
                if (find_field(n->in, n->n_in, name) == SIZE_MAX && j != SIZE_MAX &&
                    find_field(o->out, o->n_out, name) == SIZE_MAX) {
                        change(c, K_WIRE, WHO_BOTH, at(n->out[j]->meta.loc, nf), at(o->in[i]->meta.loc, of),
                               NOTE("argument '%s' was here", name),
                               "argument '%s' of %s moved from the inputs to the outputs", name, what);
                        continue;
                }
                (*oin)[(*noin)++] = o->in[i];
        }
        for (size_t i = 0; i < o->n_out; i++) {
                const char *name = field_name(o->out[i]);
                size_t j = find_field(n->in, n->n_in, name);
                if (find_field(n->out, n->n_out, name) == SIZE_MAX && j != SIZE_MAX &&
                    find_field(o->in, o->n_in, name) == SIZE_MAX) {
                        change(c, K_WIRE, WHO_BOTH, at(n->in[j]->meta.loc, nf), at(o->out[i]->meta.loc, of),
                               NOTE("output '%s' was here", name),
                               "output '%s' of %s moved from the outputs to the inputs", name, what);
                        continue;
                }
                (*oout)[(*noout)++] = o->out[i];
        }
        /* NEW's side: leave out what moved in from the other list. */
        for (size_t i = 0; i < n->n_in; i++) {
                const char *name = field_name(n->in[i]);
                if (find_field(o->in, o->n_in, name) == SIZE_MAX && find_field(*oout, *noout, name) == SIZE_MAX &&
                    find_field(o->out, o->n_out, name) != SIZE_MAX && find_field(n->out, n->n_out, name) == SIZE_MAX)
                        continue;
                (*nin)[(*nnin)++] = n->in[i];
        }
        for (size_t i = 0; i < n->n_out; i++) {
                const char *name = field_name(n->out[i]);
                if (find_field(o->out, o->n_out, name) == SIZE_MAX && find_field(*oin, *noin, name) == SIZE_MAX &&
                    find_field(o->in, o->n_in, name) != SIZE_MAX && find_field(n->in, n->n_in, name) == SIZE_MAX)
                        continue;
                (*nout)[(*nnout)++] = n->out[i];
        }
}

static void cmp_method(Cmp *c, const IdlMember *o, const IdlMember *n, const char *what, IdlLoc loc,
                       IdlLoc old_loc) {
        const IdlFile *of = o->iface->file, *nf = n->iface->file;
        IdlField **oin, **nin, **oout, **nout;
        size_t noin, nnin, noout, nnout;
        List in = { what, "argument", old_loc, loc, of, nf, K_WIRE, WHO_BOTH };
        List out = { what, "output", old_loc, loc, of, nf, K_WIRE, WHO_BOTH };

        split_moves(c, o, n, what, &oin, &noin, &nin, &nnin, &oout, &noout, &nout, &nnout);
        cmp_list(c, &in, oin, noin, nin, nnin);
        cmp_list(c, &out, oout, noout, nout, nnout);
        free(oin);
        free(nin);
        free(oout);
        free(nout);

        /* The server of a @noreply method never replies (runtime/call.c). */
        if (!o->noreply && n->noreply)
                change(c, K_WIRE, WHO_CLIENTS, loc, old_loc, NOTE("%s was here", what),
                       "%s is now @noreply: the service no longer replies", what);
        else if (o->noreply && !n->noreply)
                change(c, K_WIRE, WHO_SERVICES, loc, old_loc, NOTE("%s was here", what),
                       "%s is no longer @noreply: old services do not reply", what);

        /* A client is built knowing the errors it may get. */
        for (size_t i = 0; i < n->n_raises; i++) {
                const IdlRaise *r = n->raises[i];
                if (r->name && !raises(o, r->name))
                        change(c, K_WIRE, WHO_CLIENTS, at(r->loc, nf), old_loc, NOTE("%s was here", what),
                               "%s may now raise '%s'", what, r->name);
        }
        for (size_t i = 0; i < o->n_raises; i++) {
                const IdlRaise *r = o->raises[i];
                if (r->name && !raises(n, r->name))
                        change(c, K_CHANGE, WHO_BOTH, loc, at(r->loc, of), NOTE("'%s' was raised here", r->name),
                               "%s no longer raises '%s'", what, r->name);
        }
}

/* Whether clients lose nothing they could rely on: a notification that
 * appears, a value that now comes with it, or a property that no longer
 * changes at all. */
static bool emits_compatible(IdlEmits o, IdlEmits n) {
        return o == n || o == IDL_EMITS_FALSE || n == IDL_EMITS_CONST ||
               (o == IDL_EMITS_INVALIDATES && n == IDL_EMITS_TRUE);
}

static void cmp_property(Cmp *c, const IdlMember *o, const IdlMember *n, const char *what, IdlLoc loc,
                         IdlLoc old_loc) {
        Diff d = type_diff(o->type, n->type);
        bool o_r = o->access != IDL_ACCESS_WRITE, o_w = o->access != IDL_ACCESS_READ;
        bool n_r = n->access != IDL_ACCESS_WRITE, n_w = n->access != IDL_ACCESS_READ;

        if (d != D_SAME) {
                char *t = retype_text(o->type, n->type, d);
                change(c, d == D_WIRE ? K_WIRE : K_SOURCE, WHO_BOTH, loc, old_loc, NOTE("%s was here", what),
                       "%s changed type %s", what, t);
                free(t);
        }
        if (o->access != n->access) {
                /* Losing Get or Set breaks whoever used it; gaining one is
                 * an addition. */
                bool lost = (o_r && !n_r) || (o_w && !n_w);
                change(c, lost ? K_WIRE : K_ADD, WHO_CLIENTS, loc, lost ? old_loc : NO_LOC,
                       lost ? NOTE("%s was %s here", what, access_name(o->access)) : NULL,
                       "%s is now %s (was %s)", what, access_name(n->access), access_name(o->access));
        }
        if (o->emits != n->emits)
                change(c, emits_compatible(o->emits, n->emits) ? K_CHANGE : K_WIRE, WHO_CLIENTS, loc, old_loc,
                       NOTE("%s was here", what), "%s changed @emits_changed from \"%s\" to \"%s\"", what,
                       emits_name(o->emits), emits_name(n->emits));
}

static void cmp_member(Cmp *c, const IdlMember *o, const IdlMember *n) {
        IdlLoc loc = at(n->meta.loc, n->iface->file), old_loc = at(o->meta.loc, o->iface->file);
        char *what = idl_xasprintf("%s '%s'", member_kind(n->kind), n->name);

        if (o->kind != n->kind) {
                change(c, K_WIRE, WHO_BOTH, loc, old_loc, NOTE("%s '%s' was here", member_kind(o->kind), o->name),
                       "'%s' changed from a %s to a %s", n->name, member_kind(o->kind), member_kind(n->kind));
                free(what);
                return;
        }
        switch (n->kind) {
        case IDL_M_METHOD:
                cmp_method(c, o, n, what, loc, old_loc);
                break;
        case IDL_M_SIGNAL: {
                List l = { what, "argument", old_loc, loc, o->iface->file, n->iface->file, K_WIRE, WHO_BOTH };
                cmp_list(c, &l, o->in, o->n_in, n->in, n->n_in);
                break;
        }
        case IDL_M_PROPERTY:
                cmp_property(c, o, n, what, loc, old_loc);
                break;
        case IDL_M_ERROR:
                break;
        }
        cmp_c_name(c, what, what, &o->meta, o->c_name, &n->meta, n->c_name, loc, old_loc, false);
        cmp_deprecated(c, what, what, o->deprecated, n->deprecated, loc, old_loc);
        since_kept(c, &o->meta, &n->meta, loc, o->iface->file, what);
        free(what);
}

static void cmp_interface(Cmp *c, const IdlDecl *o, const IdlDecl *n) {
        IdlLoc loc = at(n->meta.loc, n->file), old_loc = at(o->meta.loc, o->file);
        char *what = idl_xasprintf("interface '%s'", n->name);
        char *owhat = idl_xasprintf("interface '%s'", o->name);

        for (size_t i = 0; i < n->n_members; i++) {
                const IdlMember *nm = n->members[i], *om;
                if (!nm->name)
                        continue;
                om = find_member(o, nm, nm->kind == IDL_M_ERROR);
                if (om) {
                        cmp_member(c, om, nm);
                } else {
                        char *mw = idl_xasprintf("%s '%s'", member_kind(nm->kind), nm->name);
                        IdlLoc mloc = at(nm->meta.loc, n->file);
                        change(c, K_ADD, WHO_BOTH, mloc, NO_LOC, NULL, "new %s in %s", mw, what);
                        since_added(c, &nm->meta, mloc, mw);
                        free(mw);
                }
        }
        for (size_t i = 0; i < o->n_members; i++) {
                const IdlMember *om = o->members[i];
                if (!om->name || find_member(n, om, om->kind == IDL_M_ERROR))
                        continue;
                /* An error the service stops raising breaks nobody on the
                 * wire; its generated name and reply function are gone. */
                change(c, om->kind == IDL_M_ERROR ? K_SOURCE : K_WIRE, WHO_CLIENTS, loc,
                       at(om->meta.loc, o->file), NOTE("%s '%s' was here", member_kind(om->kind), om->name),
                       "%s '%s' removed from %s", member_kind(om->kind), om->name, what);
        }
        cmp_c_name(c, what, owhat, &o->meta, o->c_name, &n->meta, n->c_name, loc, old_loc, true);
        cmp_deprecated(c, what, owhat, o->deprecated, n->deprecated, loc, old_loc);
        since_kept(c, &o->meta, &n->meta, loc, o->file, what);
        free(what);
        free(owhat);
}

/* ---- the units ---- */

static const IdlDecl *find_decl(const IdlFile *f, const char *name, bool iface) {
        for (size_t i = 0; i < f->n_decls; i++) {
                const IdlDecl *d = f->decls[i];
                if ((d->kind == IDL_D_INTERFACE) == iface && d->name && strcmp(d->name, name) == 0)
                        return d;
        }
        return NULL;
}

static const IdlDecl *find_type(const IdlUnit *u, const char *name) {
        for (size_t i = 0; i < u->n_files; i++) {
                const IdlDecl *d = find_decl(u->files[i], name, false);
                if (d)
                        return d;
        }
        return NULL;
}

/* Same members (kind and name), so probably the same interface renamed. */
static bool same_members(const IdlDecl *a, const IdlDecl *b) {
        if (a->n_members == 0 || a->n_members != b->n_members)
                return false;
        for (size_t i = 0; i < a->n_members; i++) {
                const IdlMember *m = a->members[i], *o;
                if (!m->name || !(o = find_member(b, m, m->kind == IDL_M_ERROR)) || o->kind != m->kind)
                        return false;
        }
        return true;
}

/* The OLD interface that NEW's n renames, if exactly one fits. */
static const IdlDecl *renamed_from(const Cmp *c, const IdlDecl *n) {
        const IdlDecl *found = NULL;

        for (size_t i = 0; i < c->of->n_decls; i++) {
                const IdlDecl *o = c->of->decls[i];
                if (o->kind != IDL_D_INTERFACE || find_decl(c->nf, o->name, true) || !same_members(o, n))
                        continue;
                if (found)
                        return NULL;
                found = o;
        }
        return found;
}

static bool is_renamed(const Cmp *c, const IdlDecl *o) {
        for (size_t i = 0; i < c->nf->n_decls; i++) {
                const IdlDecl *n = c->nf->decls[i];
                if (n->kind == IDL_D_INTERFACE && !find_decl(c->of, n->name, true) && renamed_from(c, n) == o)
                        return true;
        }
        return false;
}

static bool type_compared(Cmp *c, const IdlDecl *d, const IdlFile *main) {
        return d->file == main || flow_of(c, d->name) != 0;
}

int idl_compat(const IdlUnit *old_u, const IdlUnit *new_u, IdlCompatLevel level) {
        Cmp c = { .ou = old_u, .nu = new_u, .level = level };

        if (!old_u || !new_u || old_u->n_files == 0 || new_u->n_files == 0)
                return 0;
        c.of = old_u->files[0];
        c.nf = new_u->files[0];
        flow_file(&c, c.of);
        flow_file(&c, c.nf);
        since_scan(&c, old_u);

        /* XML cannot name a module: its module is the file's name, which is
         * where the file was saved, not the API. */
        if (c.of->module && c.nf->module && strcmp(c.of->module, c.nf->module) != 0) {
                c.module_renamed = true;
                if (!c.of->from_xml && !c.nf->from_xml)
                        change(&c, K_SOURCE, WHO_BOTH, file_loc(c.nf), file_loc(c.of),
                               NOTE("module '%s' was here", c.of->module),
                               "module renamed from '%s' to '%s': every generated C name changes",
                               c.of->module, c.nf->module);
        }

        /* NEW's declarations, in its order, then what it lost. */
        for (size_t fi = 0; fi < new_u->n_files; fi++) {
                const IdlFile *f = new_u->files[fi];
                for (size_t i = 0; i < f->n_decls; i++) {
                        const IdlDecl *n = f->decls[i], *o;
                        if (!n->name)
                                continue;
                        if (n->kind == IDL_D_INTERFACE) {
                                if (f != c.nf)
                                        continue;
                                if ((o = find_decl(c.of, n->name, true))) {
                                        cmp_interface(&c, o, n);
                                } else if ((o = renamed_from(&c, n))) {
                                        change(&c, K_WIRE, WHO_BOTH, at(n->meta.loc, f), at(o->meta.loc, o->file),
                                               NOTE("interface '%s' was here", o->name),
                                               "interface '%s' renamed to '%s'", o->name, n->name);
                                        cmp_interface(&c, o, n);
                                } else {
                                        char *w = idl_xasprintf("interface '%s'", n->name);
                                        change(&c, K_ADD, WHO_BOTH, at(n->meta.loc, f), NO_LOC, NULL, "new %s", w);
                                        since_added(&c, &n->meta, at(n->meta.loc, f), w);
                                        free(w);
                                }
                                continue;
                        }
                        if (!type_compared(&c, n, c.nf))
                                continue;
                        o = find_type(old_u, n->name);
                        if (o)
                                cmp_type_decl(&c, o, n);
                        else if (f == c.nf)
                                change(&c, K_ADD, WHO_BOTH, at(n->meta.loc, f), NO_LOC, NULL, "new %s '%s'",
                                       decl_kind(n->kind), n->name);
                }
        }
        for (size_t fi = 0; fi < old_u->n_files; fi++) {
                const IdlFile *f = old_u->files[fi];
                for (size_t i = 0; i < f->n_decls; i++) {
                        const IdlDecl *o = f->decls[i];
                        if (!o->name)
                                continue;
                        if (o->kind == IDL_D_INTERFACE) {
                                if (f != c.of || find_decl(c.nf, o->name, true) || is_renamed(&c, o))
                                        continue;
                                /* Old clients call it; new clients never did. */
                                change(&c, K_WIRE, WHO_CLIENTS, file_loc(c.nf), at(o->meta.loc, f),
                                       NOTE("interface '%s' was here", o->name), "interface '%s' removed", o->name);
                                continue;
                        }
                        if (f != c.of || find_type(new_u, o->name))
                                continue;
                        /* Its uses changed type and say so; here only its C
                         * declaration is gone. */
                        change(&c, K_SOURCE, WHO_BOTH, file_loc(c.nf), at(o->meta.loc, f),
                               NOTE("%s '%s' was here", decl_kind(o->kind), o->name), "%s '%s' removed",
                               decl_kind(o->kind), o->name);
                }
        }
        free(c.flows);
        return c.breaking;
}
