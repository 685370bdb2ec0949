/* check-names.c: names, on the bus and in C.
 *
 * D-Bus names follow the specification's "Valid Names" section; C names
 * are derived by fixed rules (docs/idl-checks.md) and every identifier the
 * generators will emit for the unit is registered once, so two IDL
 * declarations that would produce the same C symbol are an error here
 * rather than a compile error in generated code.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../common/names.h"
#include "check-internal.h"
#include "diag.h"
#include "types.h"

#define NAME_MAX_LEN NAMES_MAX_LEN /* DBUS_MAXIMUM_NAME_LENGTH */

/* ---- C identifiers ---- */

bool check_is_c_ident(const char *s) {
        if (!s || !(isalpha((unsigned char)*s) || *s == '_'))
                return false;
        for (s++; *s; s++)
                if (!(isalnum((unsigned char)*s) || *s == '_'))
                        return false;
        return true;
}

static bool in_list(const char *s, const char *const *list) {
        for (; *list; list++)
                if (strcmp(s, *list) == 0)
                        return true;
        return false;
}

const char *check_c_keyword(const char *s) {
        /* C11, C23 and the macros that act like keywords in our headers. */
        static const char *const c_kw[] = {
                "auto", "break", "case", "char", "const", "continue", "default", "do",
                "double", "else", "enum", "extern", "float", "for", "goto", "if", "inline",
                "int", "long", "register", "restrict", "return", "short", "signed", "sizeof",
                "static", "struct", "switch", "typedef", "union", "unsigned", "void",
                "volatile", "while", "_Alignas", "_Alignof", "_Atomic", "_Bool", "_Complex",
                "_Generic", "_Imaginary", "_Noreturn", "_Static_assert", "_Thread_local",
                "alignas", "alignof", "bool", "constexpr", "false", "nullptr",
                "static_assert", "thread_local", "true", "typeof", "typeof_unqual",
                "NULL", NULL,
        };
        /* The generated header is extern "C" guarded for C++ users. */
        static const char *const cxx_kw[] = {
                "asm", "catch", "class", "const_cast", "delete", "dynamic_cast", "explicit",
                "export", "friend", "mutable", "namespace", "new", "noexcept", "operator",
                "private", "protected", "public", "reinterpret_cast", "static_cast",
                "template", "this", "throw", "try", "typeid", "typename", "using",
                "virtual", "wchar_t", "char16_t", "char32_t", "char8_t", "concept",
                "requires", "co_await", "co_return", "co_yield", "decltype", NULL,
        };
        if (!s)
                return NULL;
        if (in_list(s, c_kw))
                return "C";
        if (in_list(s, cxx_kw))
                return "C++";
        return NULL;
}

/* Generated code reserves no name a user may write (DESIGN.md): its own
 * parameters and locals are named busrpc_*, so only that prefix is taken. */
bool check_is_reserved_param(const char *s) {
        return s && strncmp(s, "busrpc_", 7) == 0;
}

char *check_snake(const char *name) {
        size_t n = strlen(name);
        char *out = idl_xmalloc(2 * n + 1), *o = out;

        for (size_t i = 0; i < n; i++) {
                unsigned char ch = (unsigned char)name[i];
                if (isupper(ch) && i > 0 &&
                    (islower((unsigned char)name[i - 1]) || isdigit((unsigned char)name[i - 1])))
                        *o++ = '_';
                *o++ = isalnum(ch) ? (char)tolower(ch) : '_';
        }
        *o = '\0';
        return out;
}

static char *upper(const char *s) {
        char *u = idl_xstrdup(s);
        for (char *p = u; *p; p++)
                *p = (char)toupper((unsigned char)*p);
        return u;
}

/* ---- D-Bus names ---- */

/* The D-Bus name rules (names_bad_dotted(), names_bad_member()) are
 * common/names.c's: the runtime checks the same. */

void check_dbus_names(CheckCtx *c) {
        char buf[96];
        const char *why;

        for (size_t i = 0; i < c->u->n_files; i++) {
                IdlFile *f = c->u->files[i];
                if (!f || !f->module)
                        continue;
                if (!check_is_c_ident(f->module))
                        idl_error(check_loc(f->module_loc, f),
                                  "invalid module name '%s': it prefixes C names, so it must be a C identifier",
                                  f->module);
                else if (strcmp(f->module, "busrpc") == 0 || strncmp(f->module, "busrpc_", 7) == 0)
                        idl_error(check_loc(f->module_loc, f),
                                  "module name '%s' is reserved for the busrpc library", f->module);
        }

        for (size_t i = 0; i < c->n_decls; i++) {
                IdlDecl *d = c->decls[i];
                if (!d->name || !*d->name)
                        continue;
                if (d->kind != IDL_D_INTERFACE) {
                        if (idl_basic_type_by_name(d->name) || strcmp(d->name, "map") == 0)
                                idl_error(check_loc(d->meta.loc, d->file),
                                          "'%s' is a built-in type name and cannot name a %s",
                                          d->name, check_decl_kind(d->kind));
                        else if (!check_is_c_ident(d->name))
                                idl_error(check_loc(d->meta.loc, d->file),
                                          "invalid %s name '%s': expected an identifier",
                                          check_decl_kind(d->kind), d->name);
                        continue;
                }
                if ((why = names_bad_dotted(d->name, buf, sizeof(buf))))
                        idl_error(check_loc(d->meta.loc, d->file), "invalid interface name '%s': %s",
                                  d->name, why);
                for (size_t j = 0; j < d->n_members; j++) {
                        IdlMember *m = d->members[j];
                        IdlLoc loc;
                        if (!m || !m->name || !*m->name)
                                continue;
                        loc = check_loc(m->meta.loc, d->file);
                        if ((why = names_bad_member(m->name, buf, sizeof(buf)))) {
                                idl_error(loc, "invalid %s name '%s': %s", check_member_kind(m->kind),
                                          m->name, why);
                                continue;
                        }
                        if (m->kind != IDL_M_ERROR)
                                continue;
                        check_set(&m->dbus_error, idl_xasprintf("%s.Error.%s", d->name, m->name));
                        if (strlen(m->dbus_error) > NAME_MAX_LEN)
                                idl_error(loc, "error name '%s' is too long: %zu characters, D-Bus allows %d",
                                          m->dbus_error, strlen(m->dbus_error), NAME_MAX_LEN);
                }
        }
}

/* ---- C names and their collisions ---- */

typedef struct Origin {
        char *name;   /* the C identifier (owned; the table's key) */
        char *what;   /* "method 'GetName'" (owned) */
        char *dupkey; /* equal for things already reported as duplicates (owned) */
        IdlLoc loc;
} Origin;

typedef struct Names {
        CheckTab tab;
        Origin **all;
        size_t n_all;
        /* The pair of owners reported last: one error per pair, not one
         * per generated name (borrowed from the Origins). */
        const char *last_a, *last_b;
} Names;

/* Register one generated identifier; name and what are taken over. */
static void reg(Names *nm, char *name, IdlLoc loc, const char *what, const char *dupkey) {
        Origin *o = idl_xcalloc(1, sizeof(*o)), *old;

        o->name = name;
        o->what = idl_xstrdup(what);
        o->dupkey = idl_xstrdup(dupkey);
        o->loc = loc;
        IDL_PUSH(nm->all, nm->n_all, o);
        old = check_tab_put(&nm->tab, o->name, o);
        if (!old || strcmp(old->dupkey, o->dupkey) == 0)
                return;
        if (nm->last_a && strcmp(nm->last_a, old->dupkey) == 0 && strcmp(nm->last_b, o->dupkey) == 0)
                return;
        nm->last_a = old->dupkey;
        nm->last_b = o->dupkey;
        idl_error(loc, "C name '%s' of %s collides with %s", name, what, old->what);
        idl_note(old->loc, "'%s' is also the C name of %s", name, old->what);
}

static void c_name_kw(IdlLoc loc, const char *name, const char *what) {
        const char *kw = check_c_keyword(name);
        if (kw)
                idl_error(loc, "C name '%s' of %s is a %s keyword", name, what, kw);
}

static void reserved_prefix(IdlLoc loc, const char *name, const char *what) {
        if (strcmp(name, "busrpc") == 0 || strncmp(name, "busrpc_", 7) == 0)
                idl_error(loc, "C name '%s' of %s is reserved for the busrpc library", name, what);
}

static bool is_reserved_module(const char *m) {
        return strcmp(m, "busrpc") == 0 || strncmp(m, "busrpc_", 7) == 0;
}

static const char *annot_c_name(const IdlMeta *m) {
        const IdlAnnot *a = NULL;
        for (size_t i = 0; i < m->n_annots; i++)
                if (m->annots[i] && m->annots[i]->kind == IDL_A_C_NAME)
                        a = m->annots[i];
        return a && check_is_c_ident(a->value) ? a->value : NULL;
}

static void type_names(Names *nm, IdlDecl *d) {
        const IdlFile *f = d->file;
        IdlLoc loc = check_loc(d->meta.loc, f);
        const char *cn = annot_c_name(&d->meta);
        char *what = idl_xasprintf("%s '%s'", check_decl_kind(d->kind), d->name);
        char *key = idl_xasprintf("T/%s", d->name);

        if (cn) {
                check_set(&d->c_name, idl_xstrdup(cn));
        } else {
                char *s = check_snake(d->name);
                bool prefix = f && f->module && *f->module;
                check_set(&d->c_name, prefix ? idl_xasprintf("%s_%s", f->module, s) : idl_xstrdup(s));
                free(s);
        }
        c_name_kw(loc, d->c_name, what);
        if (cn) /* a reserved module is reported once, for the module */
                reserved_prefix(loc, d->c_name, what);
        reg(nm, idl_xstrdup(d->c_name), loc, what, key);
        if (d->kind == IDL_D_STRUCT || d->kind == IDL_D_TYPEDEF) {
                reg(nm, idl_xasprintf("%s_init", d->c_name), loc, what, key);
                reg(nm, idl_xasprintf("%s_clear", d->c_name), loc, what, key);
                reg(nm, idl_xasprintf("%s_free", d->c_name), loc, what, key);
        }
        if (d->kind == IDL_D_ENUM || d->kind == IDL_D_FLAGS) {
                char *prefix = upper(d->c_name);
                reg(nm, idl_xasprintf("%s_is_valid", d->c_name), loc, what, key);
                reg(nm, idl_xasprintf("%s_to_string", d->c_name), loc, what, key);
                for (size_t i = 0; i < d->n_values; i++) {
                        IdlEnumValue *v = d->values[i];
                        char *vwhat, *vkey;
                        if (!v || !v->name)
                                continue;
                        check_set(&v->c_name, idl_xasprintf("%s_%s", prefix, v->name));
                        for (char *p = v->c_name; *p; p++)
                                *p = (char)toupper((unsigned char)*p);
                        vwhat = idl_xasprintf("enumerator '%s.%s'", d->name, v->name);
                        vkey = idl_xasprintf("V/%s/%s", d->name, v->name);
                        reg(nm, idl_xstrdup(v->c_name), check_loc(v->meta.loc, f), vwhat, vkey);
                        free(vwhat);
                        free(vkey);
                }
                free(prefix);
        }
        free(what);
        free(key);
}

/* The identifiers generated for member m of interface I if its C name is
 * x (section 11 of docs/idl-checks.md); returns how many, at most 4. */
static size_t member_idents(const char *I, const IdlMember *m, const char *x, char *ids[4]) {
        size_t n = 0;

        switch (m->kind) {
        case IDL_M_METHOD:
                ids[n++] = idl_xasprintf("%s_%s", I, x);
                ids[n++] = idl_xasprintf("%s_%s_async", I, x);
                ids[n++] = idl_xasprintf("%s_%s_reply", I, x);
                ids[n++] = idl_xasprintf("%s_%s_done", I, x);
                break;
        case IDL_M_PROPERTY:
                if (m->access != IDL_ACCESS_WRITE)
                        ids[n++] = idl_xasprintf("%s_get_%s", I, x);
                if (m->access != IDL_ACCESS_READ)
                        ids[n++] = idl_xasprintf("%s_set_%s", I, x);
                ids[n++] = idl_xasprintf("%s_notify_%s", I, x);
                if (m->access != IDL_ACCESS_WRITE && m->emits != IDL_EMITS_FALSE)
                        ids[n++] = idl_xasprintf("%s_cached_%s", I, x); /* the typed cache's reader */
                break;
        case IDL_M_SIGNAL:
                ids[n++] = idl_xasprintf("%s_on_%s", I, x);
                ids[n++] = idl_xasprintf("%s_emit_%s", I, x);
                ids[n++] = idl_xasprintf("%s_%s_handler", I, x);
                break;
        case IDL_M_ERROR: {
                char *u = upper(I), *ux = upper(x);
                ids[n++] = idl_xasprintf("%s_error_%s", I, x);
                ids[n++] = idl_xasprintf("%s_ERROR_%s", u, ux);
                ids[n++] = idl_xasprintf("%s_error_is_%s", I, x);
                ids[n++] = idl_xasprintf("%s_ERROR_CODE_%s", u, ux);
                free(u);
                free(ux);
                break;
        }
        }
        return n;
}

static const Origin *first_clash(const Names *nm, char **ids, size_t n, const char *key, size_t *ret_i) {
        for (size_t i = 0; i < n; i++) {
                const Origin *o = check_tab_get(&nm->tab, ids[i]);
                if (o && strcmp(o->dupkey, key) != 0) {
                        *ret_i = i;
                        return o;
                }
        }
        return NULL;
}

static void free_ids(char **ids, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(ids[i]);
}

static void member_names(Names *nm, IdlDecl *d, IdlMember *m) {
        IdlLoc loc = check_loc(m->meta.loc, d->file);
        const char *cn = annot_c_name(&m->meta);
        const char *kind = check_member_kind(m->kind);
        char *what = idl_xasprintf("%s '%s'", kind, m->name);
        char *key = idl_xasprintf("M/%s/%s/%s", d->name, m->kind == IDL_M_ERROR ? "E" : "M", m->name);
        char *ids[4];
        size_t n, at = 0;
        const Origin *clash;

        check_set(&m->c_name, cn ? idl_xstrdup(cn) : check_snake(m->name));
        n = member_idents(d->c_name, m, m->c_name, ids);
        /* Introspection XML cannot say @c_name, and real services do have
         * a method GetDevices next to a property Devices: for XML, pick
         * another C name (name_method, name_method2, ...) and say so. */
        clash = d->file && d->file->from_xml && !cn ? first_clash(nm, ids, n, key, &at) : NULL;
        if (clash) {
                char *taken = idl_xstrdup(ids[at]);
                const char *by = clash->what;
                char *base = check_snake(m->name);
                for (int k = 1; clash && k < 1000; k++) {
                        free_ids(ids, n);
                        check_set(&m->c_name, k == 1 ? idl_xasprintf("%s_%s", base, kind)
                                                     : idl_xasprintf("%s_%s%d", base, kind, k));
                        n = member_idents(d->c_name, m, m->c_name, ids);
                        clash = first_clash(nm, ids, n, key, &at);
                }
                idl_warning(loc, "C name of %s is '%s': '%s' is already the C name of %s", what,
                            m->c_name, taken, by);
                free(taken);
                free(base);
        }

        if (m->kind == IDL_M_METHOD) /* also the name of its field in the ops struct */
                c_name_kw(loc, m->c_name, what);
        if (m->kind == IDL_M_PROPERTY) {
                /* also the name of the getter's and setter's parameter */
                c_name_kw(loc, m->c_name, what);
                if (check_is_reserved_param(m->c_name))
                        idl_error(loc, "C name '%s' of %s is reserved for generated code", m->c_name, what);
        }
        for (size_t i = 0; i < n; i++)
                reg(nm, ids[i], loc, what, key);
        free(what);
        free(key);
}

static void interface_names(Names *nm, CheckTab *ifaces, IdlDecl *d) {
        IdlLoc loc = check_loc(d->meta.loc, d->file);
        const char *cn = annot_c_name(&d->meta);
        char *what = idl_xasprintf("interface '%s'", d->name);
        char *key = idl_xasprintf("I/%s", d->name);
        char *up;
        IdlDecl *old;

        if (cn) {
                check_set(&d->c_name, idl_xstrdup(cn));
        } else {
                /* <module>_<snake(last component)>, the module left out when
                 * the component already starts with it (DESIGN.md): module
                 * media + org.example.Media.Player is media_player, module
                 * notifications + org.freedesktop.Notifications notifications. */
                const char *last = strrchr(d->name, '.');
                const char *mod = d->file ? d->file->module : NULL;
                char *s = check_snake(last ? last + 1 : d->name);
                if (mod && *mod && strncmp(s, mod, strlen(mod)) != 0) {
                        check_set(&d->c_name, idl_xasprintf("%s_%s", mod, s));
                        free(s);
                } else {
                        check_set(&d->c_name, s);
                }
        }
        if (cn || !d->file || !d->file->module || !is_reserved_module(d->file->module))
                reserved_prefix(loc, d->c_name, what); /* a reserved module is reported once, for the module */
        old = check_tab_put(ifaces, d->c_name, d);
        if (old && strcmp(old->name, d->name) != 0) {
                /* Every generated name would collide: say it once. */
                idl_error(loc, "C name '%s' of interface '%s' is also the C name of interface '%s'",
                          d->c_name, d->name, old->name);
                idl_note(check_loc(old->meta.loc, old->file), "'%s' is declared here", old->name);
                goto out;
        }
        if (old)
                goto out; /* a redefinition, reported already */
        reg(nm, idl_xasprintf("%s_ops", d->c_name), loc, what, key);
        reg(nm, idl_xasprintf("%s_export", d->c_name), loc, what, key);
        reg(nm, idl_xasprintf("%s_export_server", d->c_name), loc, what, key);
        reg(nm, idl_xasprintf("%s_proxy_new", d->c_name), loc, what, key);
        reg(nm, idl_xasprintf("%s_interface", d->c_name), loc, what, key);
        up = upper(d->c_name);
        reg(nm, idl_xasprintf("%s_INTERFACE_NAME", up), loc, what, key);
        free(up);
        for (size_t j = 0; j < d->n_members; j++) {
                IdlMember *m = d->members[j];
                if (m && m->kind == IDL_M_PROPERTY && m->access != IDL_ACCESS_WRITE) {
                        /* Properties.GetAll, for interfaces with a readable property. */
                        reg(nm, idl_xasprintf("%s_get_all", d->c_name), loc, what, key);
                        reg(nm, idl_xasprintf("%s_properties", d->c_name), loc, what, key);
                        reg(nm, idl_xasprintf("%s_properties_clear", d->c_name), loc, what, key);
                        /* the typed client (gen-c-typed.c) */
                        reg(nm, idl_xasprintf("%s_changes", d->c_name), loc, what, key);
                        reg(nm, idl_xasprintf("%s_changes_fn", d->c_name), loc, what, key);
                        reg(nm, idl_xasprintf("%s_cache_properties", d->c_name), loc, what, key);
                        break;
                }
        }
        for (size_t j = 0; j < d->n_members; j++) {
                IdlMember *m = d->members[j];
                if (m && m->kind == IDL_M_ERROR) {
                        /* typed errors: the code enum and its classifier */
                        up = upper(d->c_name);
                        reg(nm, idl_xasprintf("%s_error_code", d->c_name), loc, what, key);
                        reg(nm, idl_xasprintf("%s_error_classify", d->c_name), loc, what, key);
                        reg(nm, idl_xasprintf("%s_ERROR_CODE_NOT_DECLARED", up), loc, what, key);
                        free(up);
                        break;
                }
        }
        for (size_t j = 0; j < d->n_members; j++) {
                IdlMember *m = d->members[j];
                if (m && m->name && *m->name)
                        member_names(nm, d, m);
        }
out:
        free(what);
        free(key);
}

/* The C name gen-c.c gives a type: typedefs are transparent (and their
 * target is spelled in the typedef's module), struct and enum names are
 * their C names, basic types their IDL keyword, and containers
 * <module>_<elem>_array / <module>_<key>_<value>_map, where a named element
 * of the same module loses the module prefix. NULL when unknown. */
static char *ctype_name(const IdlType *t, const IdlFile *ctx, size_t limit) {
        const char *mod, *e, *k;
        char *en, *kn = NULL, *name;
        size_t n;

        for (size_t hops = 0; t && t->kind == IDL_T_NAMED && t->decl &&
                              t->decl->kind == IDL_D_TYPEDEF; hops++) {
                if (hops > limit)
                        return NULL; /* a cycle, reported already */
                ctx = t->decl->file;
                t = t->decl->target;
        }
        if (!t || limit == 0)
                return NULL;
        if (t->kind == IDL_T_NAMED)
                return t->decl && t->decl->c_name ? idl_xstrdup(t->decl->c_name) : NULL;
        if (t->kind != IDL_T_ARRAY && t->kind != IDL_T_MAP)
                return idl_basic_type(t->kind) ? idl_xstrdup(idl_basic_type(t->kind)->idl_name) : NULL;

        mod = ctx && ctx->module ? ctx->module : "";
        n = strlen(mod);
        if (!(en = ctype_name(t->elem, ctx, limit - 1)))
                return NULL;
        if (t->kind == IDL_T_MAP && !(kn = ctype_name(t->key, ctx, limit - 1))) {
                free(en);
                return NULL;
        }
        /* Basic names never carry the prefix: stripping "int32_" from a
         * module "int32" would not happen in gen-c.c either. */
        e = en, k = kn;
        if (!idl_basic_type_by_name(en) && strncmp(en, mod, n) == 0 && en[n] == '_')
                e = en + n + 1;
        if (kn && !idl_basic_type_by_name(kn) && strncmp(kn, mod, n) == 0 && kn[n] == '_')
                k = kn + n + 1;
        name = kn ? idl_xasprintf("%s_%s_%s_map", mod, k, e) : idl_xasprintf("%s_%s_array", mod, e);
        free(en);
        free(kn);
        return name;
}

/* Register the container types a written type makes gen-c.c declare. */
static void container_names(CheckCtx *c, Names *nm, const IdlType *t, const IdlFile *ctx) {
        while (t && (t->kind == IDL_T_ARRAY || t->kind == IDL_T_MAP)) {
                char *name = ctype_name(t, ctx, c->n_decls + 64);
                if (!name)
                        return;
                char *ts = check_type_str(t);
                char *what = idl_xasprintf("the container type '%s'", ts);
                char *key = idl_xasprintf("C/%s", name);
                IdlLoc loc = check_loc(t->loc, ctx);
                reg(nm, idl_xstrdup(name), loc, what, key);
                reg(nm, idl_xasprintf("%s_init", name), loc, what, key);
                reg(nm, idl_xasprintf("%s_clear", name), loc, what, key);
                reg(nm, idl_xasprintf("%s_free", name), loc, what, key);
                free(name);
                free(ts);
                free(what);
                free(key);
                if (t->kind == IDL_T_MAP)
                        container_names(c, nm, t->key, ctx);
                t = t->elem;
        }
}

static void container_names_of(CheckCtx *c, IdlType *t, const IdlFile *f, void *nm) {
        container_names(c, nm, t, f);
}

void check_c_names(CheckCtx *c) {
        Names nm = { 0 };
        CheckTab ifaces = { 0 };

        for (size_t i = 0; i < c->n_decls; i++) {
                IdlDecl *d = c->decls[i];
                if (!d->name || !*d->name)
                        continue;
                if (d->kind == IDL_D_INTERFACE)
                        interface_names(&nm, &ifaces, d);
                else
                        type_names(&nm, d);
        }
        check_each_type(c, container_names_of, &nm);
        for (size_t i = 0; i < nm.n_all; i++) {
                free(nm.all[i]->name);
                free(nm.all[i]->what);
                free(nm.all[i]->dupkey);
                free(nm.all[i]);
        }
        free(nm.all);
        check_tab_clear(&nm.tab);
        check_tab_clear(&ifaces);
}
