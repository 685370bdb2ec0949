/* check.c: the semantic checks of busrpc-idlc, for both front ends.
 *
 * idl_check() runs the passes in an order where each can trust the ones
 * before it: declarations are collected and type names resolved here, then
 * check-types.c rejects cycles and computes signatures, and check-names.c
 * validates D-Bus names and derives every C name. Every problem is one
 * diagnostic at the best location we have, and the walk always goes on, so
 * one run reports everything. Nothing here may crash on a tree the parser
 * or the XML import can build, however broken: names, types and lists may
 * be NULL or empty.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "check-internal.h"
#include "compat.h"
#include "diag.h"
#include "types.h"

/* ---- small helpers shared by the check files ---- */

static size_t tab_hash(const char *s) {
        size_t h = 14695981039346656037ULL & SIZE_MAX;
        for (; *s; s++)
                h = (h ^ (unsigned char)*s) * (size_t)1099511628211ULL;
        return h;
}

void *check_tab_get(const CheckTab *t, const char *key) {
        if (!key || t->cap == 0)
                return NULL;
        for (size_t i = tab_hash(key) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
                if (!t->keys[i])
                        return NULL;
                if (strcmp(t->keys[i], key) == 0)
                        return t->vals[i];
        }
}

static void tab_grow(CheckTab *t) {
        CheckTab n = { .cap = t->cap ? t->cap * 2 : 16 };

        n.keys = idl_xcalloc(n.cap, sizeof(*n.keys));
        n.vals = idl_xcalloc(n.cap, sizeof(*n.vals));
        for (size_t i = 0; i < t->cap; i++)
                if (t->keys[i])
                        check_tab_put(&n, t->keys[i], t->vals[i]);
        free(t->keys);
        free(t->vals);
        *t = n;
}

void *check_tab_put(CheckTab *t, const char *key, void *val) {
        size_t i;

        if (!key)
                return NULL;
        if ((t->n + 1) * 2 > t->cap)
                tab_grow(t);
        for (i = tab_hash(key) & (t->cap - 1); t->keys[i]; i = (i + 1) & (t->cap - 1))
                if (strcmp(t->keys[i], key) == 0)
                        return t->vals[i];
        t->keys[i] = key;
        t->vals[i] = val;
        t->n++;
        return NULL;
}

void check_tab_clear(CheckTab *t) {
        free(t->keys);
        free(t->vals);
        *t = (CheckTab){ 0 };
}

DeclInfo *check_info(CheckCtx *c, const IdlDecl *d) {
        char key[32];
        DeclInfo *info;

        snprintf(key, sizeof(key), "%p", (const void *)d);
        info = check_tab_get(&c->infos, key);
        if (!info) {
                info = idl_xcalloc(1, sizeof(*info) + sizeof(key));
                /* The key lives in the same allocation as the info. */
                char *k = (char *)(info + 1);
                memcpy(k, key, sizeof(key));
                check_tab_put(&c->infos, k, info);
        }
        return info;
}

IdlLoc check_loc(IdlLoc l, const IdlFile *f) {
        if (!l.file && f)
                l.file = f->path;
        if (l.line <= 0) {
                l.line = 1;
                l.col = 1;
        }
        if (l.col <= 0)
                l.col = 1;
        return l;
}

const char *check_str(const char *s) {
        return s ? s : "";
}

void check_set(char **slot, char *s) {
        free(*slot);
        *slot = s;
}

const char *check_decl_kind(IdlDeclKind k) {
        switch (k) {
        case IDL_D_STRUCT: return "struct";
        case IDL_D_ENUM: return "enum";
        case IDL_D_FLAGS: return "flags";
        case IDL_D_TYPEDEF: return "typedef";
        case IDL_D_INTERFACE: return "interface";
        }
        return "declaration";
}

const char *check_member_kind(IdlMemberKind k) {
        switch (k) {
        case IDL_M_METHOD: return "method";
        case IDL_M_SIGNAL: return "signal";
        case IDL_M_PROPERTY: return "property";
        case IDL_M_ERROR: return "error";
        }
        return "member";
}

const IdlType *check_resolve(CheckCtx *c, const IdlType *t) {
        /* A typedef chain longer than the number of declarations is a cycle. */
        for (size_t hops = 0; t && t->kind == IDL_T_NAMED && hops <= c->n_decls; hops++) {
                const IdlDecl *d = t->decl;
                if (!d || d->kind != IDL_D_TYPEDEF || check_info(c, d)->cyclic)
                        return t;
                t = d->target;
        }
        return t;
}

/* ---- annotations ---- */

typedef enum Place {
        P_INTERFACE,
        P_METHOD,
        P_SIGNAL,
        P_PROPERTY,
        P_ERROR,
        P_TYPE,
        P_FIELD,
        P_ARG,
        P_ENUM_VALUE,
} Place;

static const char *const place_names[] = {
        [P_INTERFACE] = "an interface", [P_METHOD] = "a method", [P_SIGNAL] = "a signal",
        [P_PROPERTY] = "a property", [P_ERROR] = "an error", [P_TYPE] = "a type declaration",
        [P_FIELD] = "a struct field", [P_ARG] = "a parameter", [P_ENUM_VALUE] = "an enumerator",
};

#define BIT(p) (1u << (p))

static const char *annot_name(const IdlAnnot *a) {
        switch (a->kind) {
        case IDL_A_NOREPLY: return "noreply";
        case IDL_A_DEPRECATED: return "deprecated";
        case IDL_A_C_NAME: return "c_name";
        case IDL_A_EMITS_CHANGED: return "emits_changed";
        case IDL_A_DBUS: return "annotation";
        case IDL_A_BUS_NAME: return "bus_name";
        case IDL_A_EXEC: return "exec";
        case IDL_A_SYSTEMD_SERVICE: return "systemd_service";
        case IDL_A_USER: return "user";
        case IDL_A_SINCE: return "since";
        case IDL_A_MAX_SIZE: return "max_size";
        case IDL_A_UNKNOWN: return check_str(a->name);
        }
        return "?";
}

static bool parse_emits(const char *v, IdlEmits *ret) {
        static const struct { const char *s; IdlEmits e; } tab[] = {
                { "true", IDL_EMITS_TRUE }, { "false", IDL_EMITS_FALSE },
                { "invalidates", IDL_EMITS_INVALIDATES }, { "const", IDL_EMITS_CONST },
        };
        for (size_t i = 0; v && i < sizeof(tab) / sizeof(tab[0]); i++)
                if (strcmp(v, tab[i].s) == 0) {
                        *ret = tab[i].e;
                        return true;
                }
        return false;
}

/* The flags a meta's annotations set. Standard D-Bus annotations written
 * with @annotation(...) (as the XML import may) count like their IDL forms. */
typedef struct Flags {
        bool noreply, deprecated, has_emits;
        IdlEmits emits;
        const IdlAnnot *max_size; /* a valid @max_size, for check_max_size() */
} Flags;

static Flags check_annots(CheckCtx *c, const IdlMeta *m, Place place, const IdlFile *f) {
        static const unsigned allowed[] = {
                [IDL_A_NOREPLY] = BIT(P_METHOD),
                [IDL_A_DEPRECATED] = BIT(P_INTERFACE) | BIT(P_METHOD) | BIT(P_SIGNAL) |
                                     BIT(P_PROPERTY) | BIT(P_TYPE),
                [IDL_A_C_NAME] = BIT(P_INTERFACE) | BIT(P_METHOD) | BIT(P_SIGNAL) |
                                 BIT(P_PROPERTY) | BIT(P_ERROR) | BIT(P_TYPE) | BIT(P_ARG),
                [IDL_A_EMITS_CHANGED] = BIT(P_INTERFACE) | BIT(P_PROPERTY),
                [IDL_A_DBUS] = BIT(P_INTERFACE) | BIT(P_METHOD) | BIT(P_SIGNAL) |
                               BIT(P_PROPERTY) | BIT(P_ARG),
                /* Values are checked in check-deploy.c. */
                [IDL_A_BUS_NAME] = BIT(P_INTERFACE),
                [IDL_A_EXEC] = BIT(P_INTERFACE),
                [IDL_A_SYSTEMD_SERVICE] = BIT(P_INTERFACE),
                [IDL_A_USER] = BIT(P_INTERFACE),
                [IDL_A_SINCE] = BIT(P_INTERFACE) | BIT(P_METHOD) | BIT(P_SIGNAL) | BIT(P_PROPERTY) |
                                BIT(P_ERROR) | BIT(P_TYPE) | BIT(P_ENUM_VALUE),
                [IDL_A_MAX_SIZE] = BIT(P_ARG) | BIT(P_FIELD), /* properties carry no fds */
        };
        Flags fl = { 0 };

        (void)c;
        for (size_t i = 0; i < m->n_annots; i++) {
                const IdlAnnot *a = m->annots[i];
                IdlLoc loc;
                if (!a)
                        continue;
                loc = check_loc(a->loc, f);
                if (a->kind == IDL_A_UNKNOWN || (unsigned)a->kind > IDL_A_UNKNOWN) {
                        idl_warning(loc, "unknown annotation '@%s' ignored", annot_name(a));
                        continue;
                }
                if (!(allowed[a->kind] & BIT(place))) {
                        if (a->kind == IDL_A_DBUS)
                                idl_warning(loc, "D-Bus annotation on %s has no effect; ignored",
                                            place_names[place]);
                        else
                                idl_error(loc, "annotation '@%s' is not allowed on %s",
                                          annot_name(a), place_names[place]);
                        continue;
                }
                switch (a->kind) {
                case IDL_A_NOREPLY:
                        fl.noreply = true;
                        break;
                case IDL_A_DEPRECATED:
                        fl.deprecated = true;
                        break;
                case IDL_A_C_NAME:
                        if (!a->value)
                                idl_error(loc, "annotation '@c_name' needs a value");
                        else if (!check_is_c_ident(a->value))
                                idl_error(loc, "invalid C name '%s' in '@c_name': expected a C identifier",
                                          a->value);
                        break;
                case IDL_A_EMITS_CHANGED:
                        if (!parse_emits(a->value, &fl.emits))
                                idl_error(loc, "invalid '@emits_changed' value '%s': expected "
                                          "\"true\", \"false\", \"invalidates\" or \"const\"",
                                          check_str(a->value));
                        else
                                fl.has_emits = true;
                        break;
                case IDL_A_DBUS:
                        if (!a->name || !*a->name) {
                                idl_error(loc, "D-Bus annotation without a name");
                        } else if (strcmp(a->name, "org.freedesktop.DBus.Deprecated") == 0) {
                                fl.deprecated = a->value && strcmp(a->value, "true") == 0;
                        } else if (strcmp(a->name, "org.freedesktop.DBus.Method.NoReply") == 0) {
                                if (place == P_METHOD)
                                        fl.noreply = a->value && strcmp(a->value, "true") == 0;
                        } else if (strcmp(a->name, "org.freedesktop.DBus.Property.EmitsChangedSignal") == 0) {
                                if (place != P_INTERFACE && place != P_PROPERTY)
                                        break;
                                if (!parse_emits(a->value, &fl.emits))
                                        idl_error(loc, "invalid value '%s' for annotation '%s'",
                                                  check_str(a->value), a->name);
                                else
                                        fl.has_emits = true;
                        }
                        break;
                case IDL_A_BUS_NAME:
                case IDL_A_EXEC:
                case IDL_A_SYSTEMD_SERVICE:
                case IDL_A_USER:
                        break;
                case IDL_A_SINCE:
                        if (!idl_version_valid(a->value))
                                idl_error(loc, "invalid version '%s' in '@since': expected dotted "
                                          "numbers such as \"1.2\"", check_str(a->value));
                        break;
                case IDL_A_MAX_SIZE:
                        if (!check_parse_size(a->value, &(uint64_t){ 0 }))
                                idl_error(loc, "invalid size '%s' in '@max_size': expected bytes from 1 to "
                                          "2^63-1, with an optional K, M, G or T suffix (\"64M\")",
                                          check_str(a->value));
                        else
                                fl.max_size = a;
                        break;
                case IDL_A_UNKNOWN:
                        break;
                }
        }
        return fl;
}

bool check_parse_size(const char *s, uint64_t *ret) {
        static const char units[] = "KMGT";
        uint64_t v = 0;
        const char *u;
        int shift = 0;

        if (!s || *s < '0' || *s > '9')
                return false;
        for (; *s >= '0' && *s <= '9'; s++) {
                if (v > (UINT64_C(1) << 62) / 5)
                        return false; /* v * 10 would pass 2^63 */
                v = v * 10 + (uint64_t)(*s - '0');
        }
        if (*s && (u = strchr(units, *s))) {
                shift = 10 * (int)(u - units + 1);
                s++;
                if (strcmp(s, "iB") == 0)
                        s += 2;
        }
        if (*s || v == 0 || v > (uint64_t)INT64_MAX >> shift)
                return false;
        *ret = v << shift;
        return true;
}

/* @max_size bounds what a shm may cost its receiver: on anything else it
 * would promise a check nobody makes. */
static void check_max_size(CheckCtx *c, Flags fl, const IdlType *t, const IdlFile *f) {
        const IdlType *r = check_resolve(c, t);

        if (fl.max_size && r && r->kind != IDL_T_SHM)
                idl_error(check_loc(fl.max_size->loc, f), "annotation '@max_size' applies to type shm only");
}

/* ---- declarations and type names ---- */

/* The module a file without a module line gets: its basename without the
 * extension (DESIGN.md), with every character that cannot be in a C
 * identifier made '_' (my-calc.idl: my_calc). The front end may set it. */
static void default_module(IdlFile *f) {
        const char *base, *dot;
        char *m;

        if (f->module || !f->path)
                return;
        base = strrchr(f->path, '/');
        base = base ? base + 1 : f->path;
        dot = strrchr(base, '.');
        m = idl_xstrndup(base, dot && dot != base ? (size_t)(dot - base) : strlen(base));
        for (char *p = m; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
                      (p != m && *p >= '0' && *p <= '9')))
                        *p = '_';
        f->module = m;
}

/* Imported files first, the main file last: a clash between the main file
 * and an import is then reported in the main file, where it is fixed. */
static void collect_decls(CheckCtx *c) {
        CheckTab modules = { 0 };

        for (size_t i = c->u->n_files; i-- > 0;) {
                IdlFile *f = c->u->files[i];
                IdlFile *prev;
                if (!f)
                        continue;
                default_module(f);
                if (f->module && (prev = check_tab_put(&modules, f->module, f))) {
                        idl_error(check_loc(f->module_loc, f),
                                  "module '%s' is declared by two files of this compilation",
                                  f->module);
                        idl_note(check_loc(prev->module_loc, prev), "previous definition is here");
                }
                for (size_t j = 0; j < f->n_decls; j++) {
                        IdlDecl *d = f->decls[j];
                        IdlDecl *old;
                        if (!d)
                                continue;
                        if (!d->file)
                                d->file = f;
                        IDL_PUSH(c->decls, c->n_decls, d);
                        if (!d->name || !*d->name) {
                                idl_error(check_loc(d->meta.loc, f), "%s without a name",
                                          check_decl_kind(d->kind));
                                continue;
                        }
                        old = check_tab_put(&c->types, d->name, d);
                        if (old) {
                                idl_error(check_loc(d->meta.loc, f), "redefinition of '%s'", d->name);
                                idl_note(check_loc(old->meta.loc, old->file), "previous definition is here");
                        }
                }
        }
        check_tab_clear(&modules);
}

static void resolve_type(CheckCtx *c, IdlType *t, const IdlFile *f) {
        /* Iterate down array chains, recurse into map keys. */
        while (t) {
                switch (t->kind) {
                case IDL_T_ARRAY:
                        t = t->elem;
                        continue;
                case IDL_T_MAP:
                        resolve_type(c, t->key, f);
                        t = t->elem;
                        continue;
                case IDL_T_NAMED: {
                        IdlDecl *d = check_tab_get(&c->types, t->name);
                        t->decl = NULL;
                        if (!d)
                                idl_error(check_loc(t->loc, f), "unknown type '%s'", check_str(t->name));
                        else if (d->kind == IDL_D_INTERFACE)
                                idl_error(check_loc(t->loc, f), "'%s' is an interface, not a type", d->name);
                        else
                                t->decl = d;
                        return;
                }
                default:
                        return;
                }
        }
}

void check_each_type(CheckCtx *c, CheckTypeFn *fn, void *ud) {
        for (size_t i = 0; i < c->n_decls; i++) {
                IdlDecl *d = c->decls[i];
                const IdlFile *f = d->file;
                for (size_t j = 0; j < d->n_fields; j++)
                        if (d->fields[j])
                                fn(c, d->fields[j]->type, f, ud);
                fn(c, d->base, f, ud);
                fn(c, d->target, f, ud);
                for (size_t j = 0; j < d->n_members; j++) {
                        IdlMember *m = d->members[j];
                        if (!m)
                                continue;
                        for (size_t k = 0; k < m->n_in; k++)
                                if (m->in[k])
                                        fn(c, m->in[k]->type, f, ud);
                        for (size_t k = 0; k < m->n_out; k++)
                                if (m->out[k])
                                        fn(c, m->out[k]->type, f, ud);
                        fn(c, m->type, f, ud);
                }
        }
}

static void resolve_one(CheckCtx *c, IdlType *t, const IdlFile *f, void *ud) {
        (void)ud;
        resolve_type(c, t, f);
}

/* ---- names of fields and parameters ---- */

static void check_var_name(const IdlField *fl, const char *what, bool is_param, const IdlFile *f) {
        IdlLoc loc = check_loc(fl->meta.loc, f);
        const char *kw;

        if (!check_is_c_ident(fl->name))
                idl_error(loc, "invalid %s name '%s': expected a C identifier", what, fl->name);
        else if ((kw = check_c_keyword(fl->name)))
                idl_error(loc, "'%s' is a %s keyword and cannot be used as a %s name",
                          fl->name, kw, what);
        else if (is_param && check_is_reserved_param(fl->name))
                idl_error(loc, "%s name '%s' is reserved for generated code", what, fl->name);
}

/* ---- structs and enums ---- */

static void check_struct(CheckCtx *c, IdlDecl *d) {
        CheckTab names = { 0 };
        const IdlFile *f = d->file;

        if (d->n_fields == 0)
                idl_error(check_loc(d->meta.loc, f), "struct '%s' has no fields", check_str(d->name));
        for (size_t i = 0; i < d->n_fields; i++) {
                IdlField *fl = d->fields[i];
                IdlField *old;
                if (!fl)
                        continue;
                check_max_size(c, check_annots(c, &fl->meta, P_FIELD, f), fl->type, f);
                if (!fl->type)
                        idl_error(check_loc(fl->meta.loc, f), "field '%s' has no type", check_str(fl->name));
                if (!fl->name) {
                        idl_error(check_loc(fl->meta.loc, f), "field without a name in struct '%s'",
                                  check_str(d->name));
                        continue;
                }
                if ((old = check_tab_put(&names, fl->name, fl))) {
                        idl_error(check_loc(fl->meta.loc, f), "duplicate field '%s' in struct '%s'",
                                  fl->name, check_str(d->name));
                        idl_note(check_loc(old->meta.loc, f), "previous definition is here");
                        continue;
                }
                check_var_name(fl, "field", false, f);
        }
        check_tab_clear(&names);
}

static void check_enum(CheckCtx *c, IdlDecl *d) {
        CheckTab names = { 0 };
        const IdlFile *f = d->file;
        const char *kind = check_decl_kind(d->kind);
        IdlTypeKind base = IDL_T_UINT32;
        bool base_ok = true, prev_neg = false;
        uint64_t prev_mag = 0;
        bool *bad = idl_xcalloc(d->n_values + 1, sizeof(*bad));

        if (d->base) {
                const IdlType *b = check_resolve(c, d->base);
                if (b && idl_kind_is_integer(b->kind)) {
                        base = b->kind;
                } else if (b && (b->kind != IDL_T_NAMED ||
                                 (b->decl && !check_info(c, b->decl)->cyclic))) {
                        /* (An unknown name was reported already.) */
                        const char *what = d->base->kind == IDL_T_NAMED ? d->base->name
                                                                         : idl_kind_name(d->base->kind);
                        idl_error(check_loc(d->base->loc, f),
                                  "base type of %s '%s' must be an integer type, not '%s'",
                                  kind, check_str(d->name), check_str(what));
                        base_ok = false;
                } else {
                        base_ok = false;
                }
        }
        if (d->n_values == 0)
                idl_error(check_loc(d->meta.loc, f), "%s '%s' has no values", kind, check_str(d->name));

        for (size_t i = 0; i < d->n_values; i++) {
                IdlEnumValue *v = d->values[i];
                IdlEnumValue *old;
                IdlLoc loc;
                bool neg;
                uint64_t mag;
                int64_t val = 0;

                if (!v)
                        continue;
                loc = check_loc(v->meta.loc, f);
                check_annots(c, &v->meta, P_ENUM_VALUE, f);
                if (!v->name)
                        idl_error(loc, "enumerator without a name in %s '%s'", kind, check_str(d->name));
                else if ((old = check_tab_put(&names, v->name, v))) {
                        idl_error(loc, "duplicate enumerator '%s' in %s '%s'", v->name, kind,
                                  check_str(d->name));
                        idl_note(check_loc(old->meta.loc, f), "previous definition is here");
                }

                if (v->has_value) {
                        neg = v->negative && v->magnitude != 0;
                        mag = v->magnitude;
                } else if (i == 0) {
                        neg = false;
                        mag = 0;
                } else if (prev_neg) {
                        mag = prev_mag - 1;
                        neg = mag != 0;
                } else if (prev_mag == UINT64_MAX) {
                        if (base_ok)
                                idl_error(loc, "implicit value of enumerator '%s' overflows '%s'",
                                          check_str(v->name), idl_kind_name(base));
                        v->value = 0;
                        bad[i] = true;
                        prev_neg = false, prev_mag = 0;
                        continue;
                } else {
                        neg = false;
                        mag = prev_mag + 1;
                }
                prev_neg = neg;
                prev_mag = mag;
                if (base_ok && !idl_int_fits(base, neg, mag, &val)) {
                        if (v->has_value)
                                idl_error(loc, "value %s%" PRIu64 " of enumerator '%s' does not fit in '%s'",
                                          neg ? "-" : "", mag, check_str(v->name), idl_kind_name(base));
                        else
                                idl_error(loc, "implicit value of enumerator '%s' overflows '%s'",
                                          check_str(v->name), idl_kind_name(base));
                        val = 0;
                        bad[i] = true;
                }
                v->value = val;
        }
        if (!base_ok)
                goto out;
        /* Aliases are legal C but usually a slip: warn, once per value. */
        for (size_t i = 1; i < d->n_values; i++) {
                IdlEnumValue *v = d->values[i];
                if (!v || bad[i])
                        continue;
                for (size_t j = 0; j < i; j++) {
                        IdlEnumValue *w = d->values[j];
                        if (w && !bad[j] && w->value == v->value) {
                                idl_warning(check_loc(v->meta.loc, f),
                                            "enumerator '%s' has the same value as '%s'",
                                            check_str(v->name), check_str(w->name));
                                idl_note(check_loc(w->meta.loc, f), "'%s' is here", check_str(w->name));
                                break;
                        }
                }
                /* Quadratic only in pathological inputs: stop comparing after a while. */
                if (i > 4096)
                        break;
        }
out:
        free(bad);
        check_tab_clear(&names);
}

/* ---- interfaces ---- */

static void check_params(CheckCtx *c, IdlMember *m, const IdlFile *f) {
        CheckTab names = { 0 };
        const char *kind = check_member_kind(m->kind);
        size_t n = m->n_in + m->n_out;

        for (size_t i = 0; i < n; i++) {
                IdlField *p = i < m->n_in ? m->in[i] : m->out[i - m->n_in];
                IdlField *old;
                if (!p)
                        continue;
                check_max_size(c, check_annots(c, &p->meta, P_ARG, f), p->type, f);
                if (!p->type)
                        idl_error(check_loc(p->meta.loc, f), "parameter '%s' of %s '%s' has no type",
                                  check_str(p->name), kind, check_str(m->name));
                /* D-Bus arguments may be nameless (introspection XML): name
                 * them by position, as gdbus-codegen does. */
                if (!p->name)
                        p->name = idl_xasprintf("arg%zu", i);
                if ((old = check_tab_put(&names, p->name, p))) {
                        idl_error(check_loc(p->meta.loc, f), "duplicate parameter '%s' in %s '%s'",
                                  p->name, kind, check_str(m->name));
                        idl_note(check_loc(old->meta.loc, f), "previous definition is here");
                        continue;
                }
                /* An invalid @c_name is reported as such, once. */
                if (!p->dbus_name || check_is_c_ident(p->name))
                        check_var_name(p, "parameter", true, f);
        }
        check_tab_clear(&names);
}

static void check_interface(CheckCtx *c, IdlDecl *d) {
        CheckTab members = { 0 }, errors = { 0 };
        const IdlFile *f = d->file;
        Flags ifl = check_annots(c, &d->meta, P_INTERFACE, f);
        static const Place places[] = {
                [IDL_M_METHOD] = P_METHOD, [IDL_M_SIGNAL] = P_SIGNAL,
                [IDL_M_PROPERTY] = P_PROPERTY, [IDL_M_ERROR] = P_ERROR,
        };

        d->deprecated = ifl.deprecated;
        if (d->n_members == 0)
                idl_warning(check_loc(d->meta.loc, f), "interface '%s' has no members",
                            check_str(d->name));

        /* First pass: names, so raises may name errors declared later. */
        for (size_t i = 0; i < d->n_members; i++) {
                IdlMember *m = d->members[i];
                IdlMember *old;
                const char *kind;
                if (!m)
                        continue;
                if (!m->iface)
                        m->iface = d;
                kind = check_member_kind(m->kind);
                if (!m->name || !*m->name) {
                        idl_error(check_loc(m->meta.loc, f), "%s without a name", kind);
                        continue;
                }
                if (m->kind == IDL_M_ERROR) {
                        if ((old = check_tab_put(&errors, m->name, m))) {
                                idl_error(check_loc(m->meta.loc, f), "duplicate error '%s' in interface '%s'",
                                          m->name, check_str(d->name));
                                idl_note(check_loc(old->meta.loc, f), "previous definition is here");
                        }
                } else if ((old = check_tab_put(&members, m->name, m))) {
                        idl_error(check_loc(m->meta.loc, f), "duplicate member '%s' in interface '%s'",
                                  m->name, check_str(d->name));
                        idl_note(check_loc(old->meta.loc, f), "previous definition is here");
                }
        }

        for (size_t i = 0; i < d->n_members; i++) {
                IdlMember *m = d->members[i];
                IdlLoc loc;
                Flags fl;
                const char *kind;
                CheckTab seen = { 0 };

                if (!m || (unsigned)m->kind > IDL_M_ERROR)
                        continue;
                loc = check_loc(m->meta.loc, f);
                kind = check_member_kind(m->kind);
                fl = check_annots(c, &m->meta, places[m->kind], f);
                check_max_size(c, fl, m->type, f);
                m->noreply = fl.noreply;
                m->deprecated = fl.deprecated;
                m->emits = fl.has_emits ? fl.emits : ifl.has_emits ? ifl.emits : IDL_EMITS_TRUE;
                if (m->kind != IDL_M_PROPERTY)
                        m->emits = IDL_EMITS_TRUE;

                if (m->kind != IDL_M_METHOD && m->n_out)
                        idl_error(loc, "%s '%s' cannot have outputs", kind, check_str(m->name));
                if ((m->kind == IDL_M_PROPERTY || m->kind == IDL_M_ERROR) && m->n_in)
                        idl_error(loc, "%s '%s' cannot have parameters", kind, check_str(m->name));
                if (m->kind != IDL_M_METHOD && m->n_raises)
                        idl_error(loc, "%s '%s' cannot raise errors", kind, check_str(m->name));
                if (m->kind == IDL_M_PROPERTY && !m->type)
                        idl_error(loc, "property '%s' has no type", check_str(m->name));
                if (m->noreply && m->n_out)
                        idl_error(loc, "@noreply method '%s' cannot have outputs", check_str(m->name));
                if (m->noreply && m->n_raises)
                        idl_error(loc, "@noreply method '%s' cannot raise errors", check_str(m->name));

                check_params(c, m, f);

                for (size_t k = 0; k < m->n_raises; k++) {
                        IdlRaise *r = m->raises[k];
                        IdlLoc rloc;
                        if (!r)
                                continue;
                        rloc = check_loc(r->loc, f);
                        r->error = check_tab_get(&errors, r->name);
                        if (!r->error)
                                idl_error(rloc, "unknown error '%s' in raises of %s '%s'",
                                          check_str(r->name), kind, check_str(m->name));
                        else if (check_tab_put(&seen, r->name, r))
                                idl_warning(rloc, "error '%s' is listed twice in raises", r->name);
                }
                check_tab_clear(&seen);
        }
        check_tab_clear(&members);
        check_tab_clear(&errors);
}

int idl_check(IdlUnit *u) {
        CheckCtx c = { .u = u };
        int before = idl_diag_errors();

        if (!u)
                return 0;
        collect_decls(&c);
        check_each_type(&c, resolve_one, NULL);
        check_cycles(&c);
        for (size_t i = 0; i < c.n_decls; i++) {
                IdlDecl *d = c.decls[i];
                Flags fl;
                switch (d->kind) {
                case IDL_D_STRUCT:
                        fl = check_annots(&c, &d->meta, P_TYPE, d->file);
                        d->deprecated = fl.deprecated;
                        check_struct(&c, d);
                        break;
                case IDL_D_ENUM:
                case IDL_D_FLAGS:
                        fl = check_annots(&c, &d->meta, P_TYPE, d->file);
                        d->deprecated = fl.deprecated;
                        check_enum(&c, d);
                        break;
                case IDL_D_TYPEDEF:
                        fl = check_annots(&c, &d->meta, P_TYPE, d->file);
                        d->deprecated = fl.deprecated;
                        if (!d->target)
                                idl_error(check_loc(d->meta.loc, d->file), "typedef '%s' has no type",
                                          check_str(d->name));
                        break;
                case IDL_D_INTERFACE:
                        check_interface(&c, d);
                        break;
                }
        }
        check_signatures(&c);
        check_dbus_names(&c);
        check_deploy(&c);
        check_c_names(&c);

        for (size_t i = 0; i < c.infos.cap; i++)
                if (c.infos.keys && c.infos.keys[i])
                        free(c.infos.vals[i]);
        check_tab_clear(&c.infos);
        check_tab_clear(&c.types);
        free(c.decls);
        return idl_diag_errors() - before;
}
