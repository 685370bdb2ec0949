/* gen-c.c: the C view of IDL types, shared by the header, client and server
 * generators (see gen-c.h). The type descriptors are in gen-c-marshal.c.
 */
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "gen-c.h"
#include "gen.h"

void genc_p(GenC *g, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vfprintf(g->out, fmt, ap);
        va_end(ap);
}

char *genc_upper(const char *s) {
        char *u = idl_xstrdup(s);

        for (char *p = u; *p; p++)
                *p = (char)toupper((unsigned char)*p);
        return u;
}

char *genc_decl(const char *type, const char *name) {
        size_t n = strlen(type);

        if (n > 0 && type[n - 1] == '*')
                return idl_xasprintf("%s%s", type, name);
        return idl_xasprintf("%s %s", type, name);
}

static const char *module_of(const IdlFile *f) {
        return f && f->module && *f->module ? f->module : "out";
}

/* ---- the registry ---- */

static CType *add_type(GenC *g, CType *t) {
        IDL_PUSH(g->types, g->n_types, t);
        return t;
}

static CType *find_named(GenC *g, const char *name) {
        for (size_t i = 0; i < g->n_types; i++)
                if (g->types[i]->name && strcmp(g->types[i]->name, name) == 0)
                        return g->types[i];
        return NULL;
}

static CType *basic(GenC *g, IdlTypeKind kind) {
        const IdlBasicType *b = idl_basic_type(kind);
        CType *t;

        if (!b)
                return NULL;
        if (g->basics[kind])
                return g->basics[kind];
        t = idl_xcalloc(1, sizeof(*t));
        t->kind = CT_BASIC;
        t->basic = b;
        t->stem = idl_xstrdup(b->idl_name);
        t->sig = idl_xasprintf("%c", b->sig);
        t->owns = b->owns_memory || b->is_fd;
        t->c_value = idl_xstrdup(b->c_out);
        /* Sending a shm seals it: the caller's object changes, so no const. */
        t->c_in = idl_xstrdup(kind == IDL_T_SHM ? "busrpc_shm *" : b->c_in);
        switch (kind) {
        case IDL_T_STRING:
        case IDL_T_OBJPATH:
        case IDL_T_SIGNATURE:
                t->c_borrowed = idl_xstrdup("const char *");
                break;
        default: /* refcounted objects lent non-const so they can be ref'd */
                t->c_borrowed = idl_xstrdup(b->c_out);
                break;
        }
        g->basics[kind] = t;
        return t;
}

/* The value of an enumerator as the base type sees it (unsigned bases:
 * the bits of check's int64_t). */
static bool enum_fits_int(const IdlDecl *d, const IdlBasicType *b) {
        uint64_t mask = 0;

        for (size_t i = 0; i < d->n_values; i++) {
                int64_t v = d->values[i]->value;
                if (!b->is_signed && (uint64_t)v > INT_MAX)
                        return false;
                if (b->is_signed && (v < INT_MIN || v > INT_MAX))
                        return false;
                if (d->kind == IDL_D_FLAGS && v < 0)
                        return false;
                mask |= (uint64_t)v;
        }
        return d->kind != IDL_D_FLAGS || mask <= INT_MAX;
}

/* The name part a type lends to container names in module mod. */
static const char *stem_in(const CType *t, const char *mod, char *buf, size_t size) {
        size_t n = strlen(mod);

        if (t->kind == CT_BASIC)
                return t->stem;
        if (strncmp(t->name, mod, n) == 0 && t->name[n] == '_') {
                snprintf(buf, size, "%s", t->name + n + 1);
                return buf;
        }
        return t->name;
}

static void set_aggregate_spellings(CType *t) {
        t->c_value = idl_xstrdup(t->name);
        t->c_in = idl_xasprintf("const %s *", t->name);
        t->c_borrowed = idl_xstrdup(t->c_in);
}

static CType *named(GenC *g, const IdlDecl *d) {
        CType *t;

        for (size_t i = 0; i < g->n_types; i++)
                if (g->types[i]->decl == d)
                        return g->types[i];
        t = idl_xcalloc(1, sizeof(*t));
        t->decl = d;
        t->name = idl_xstrdup(d->c_name ? d->c_name : d->name);
        t->stem = idl_xstrdup(t->name);
        t->file = d->file;
        if (d->kind == IDL_D_ENUM || d->kind == IDL_D_FLAGS) {
                const IdlType *base = d->base ? idl_type_resolve(d->base) : NULL;
                t->kind = CT_ENUM;
                t->basic = idl_basic_type(base ? base->kind : IDL_T_UINT32);
                if (!t->basic)
                        t->basic = idl_basic_type(IDL_T_UINT32);
                t->sig = idl_xasprintf("%c", t->basic->sig);
                t->c_enum = enum_fits_int(d, t->basic);
                t->c_value = idl_xstrdup(t->name);
                t->c_in = idl_xstrdup(t->name);
                t->c_borrowed = idl_xstrdup(t->name);
                return add_type(g, t);
        }
        t->kind = CT_STRUCT;
        set_aggregate_spellings(t);
        add_type(g, t); /* before the fields: a (rejected) cycle cannot loop */
        t->fields = idl_xcalloc(d->n_fields ? d->n_fields : 1, sizeof(*t->fields));
        {
                char *sig = idl_xstrdup("(");
                for (size_t i = 0; i < d->n_fields; i++) {
                        CType *f = genc_type(g, d->fields[i]->type, d->file);
                        char *s2;
                        t->fields[i] = f;
                        if (!f)
                                continue;
                        t->owns |= f->owns;
                        if ((f->kind == CT_BASIC && f->basic->kind == IDL_T_FD) ||
                            (f->kind == CT_STRUCT && f->direct_fd))
                                t->direct_fd = true;
                        s2 = idl_xasprintf("%s%s", sig, f->sig);
                        free(sig);
                        sig = s2;
                }
                t->sig = idl_xasprintf("%s)", sig);
                free(sig);
        }
        return t;
}

CType *genc_type(GenC *g, const IdlType *t, const IdlFile *ctx) {
        char b1[256], b2[256];
        const char *mod;
        CType *elem, *key = NULL, *c;
        char *name;

        /* Typedefs are transparent; what they name is written in their file. */
        for (int depth = 0; t && t->kind == IDL_T_NAMED && t->decl && t->decl->kind == IDL_D_TYPEDEF &&
                            depth < 1024;
             depth++) {
                ctx = t->decl->file;
                t = t->decl->target;
        }
        if (!t)
                return NULL;
        if (t->kind == IDL_T_NAMED)
                return t->decl ? named(g, t->decl) : NULL;
        if (t->kind != IDL_T_ARRAY && t->kind != IDL_T_MAP)
                return basic(g, t->kind);

        mod = module_of(ctx);
        elem = genc_type(g, t->elem, ctx);
        if (!elem)
                return NULL;
        if (t->kind == IDL_T_MAP) {
                key = genc_type(g, t->key, ctx);
                if (!key)
                        return NULL;
                name = idl_xasprintf("%s_%s_%s_map", mod, stem_in(key, mod, b1, sizeof(b1)),
                                     stem_in(elem, mod, b2, sizeof(b2)));
        } else {
                name = idl_xasprintf("%s_%s_array", mod, stem_in(elem, mod, b1, sizeof(b1)));
        }
        if ((c = find_named(g, name))) {
                free(name);
                return c;
        }
        c = idl_xcalloc(1, sizeof(*c));
        c->kind = t->kind == IDL_T_MAP ? CT_MAP : CT_ARRAY;
        c->name = name;
        c->stem = idl_xstrdup(name);
        c->elem = elem;
        c->key = key;
        c->file = ctx;
        c->owns = true;
        c->sig = key ? idl_xasprintf("a{%s%s}", key->sig, elem->sig) : idl_xasprintf("a%s", elem->sig);
        set_aggregate_spellings(c);
        return add_type(g, c);
}

bool genc_is_local(const GenC *g, const CType *t) {
        return t->kind != CT_BASIC && t->file == g->main;
}

static void collect_fields(GenC *g, IdlField **f, size_t n, const IdlFile *ctx) {
        for (size_t i = 0; i < n; i++)
                if (f[i])
                        genc_type(g, f[i]->type, ctx);
}

void genc_init(GenC *g, const IdlUnit *u, FILE *out) {
        memset(g, 0, sizeof(*g));
        g->u = u;
        g->main = u->files[0];
        g->module = module_of(g->main);
        g->out = out;
        for (size_t i = 0; i < g->main->n_decls; i++) {
                const IdlDecl *d = g->main->decls[i];
                switch (d->kind) {
                case IDL_D_STRUCT:
                case IDL_D_ENUM:
                case IDL_D_FLAGS:
                        named(g, d);
                        break;
                case IDL_D_TYPEDEF:
                        genc_type(g, d->target, d->file);
                        break;
                case IDL_D_INTERFACE:
                        for (size_t j = 0; j < d->n_members; j++) {
                                const IdlMember *m = d->members[j];
                                collect_fields(g, m->in, m->n_in, d->file);
                                collect_fields(g, m->out, m->n_out, d->file);
                                if (m->kind == IDL_M_PROPERTY)
                                        genc_type(g, m->type, d->file);
                        }
                        break;
                }
        }
}

static void ctype_free(CType *t) {
        free(t->name);
        free(t->stem);
        free(t->sig);
        free(t->fields);
        free(t->c_value);
        free(t->c_in);
        free(t->c_borrowed);
        free(t);
}

void genc_free(GenC *g) {
        for (size_t i = 0; i < g->n_types; i++)
                ctype_free(g->types[i]);
        free(g->types);
        for (size_t i = 0; i <= IDL_T_SHM; i++)
                if (g->basics[i])
                        ctype_free(g->basics[i]);
        memset(g, 0, sizeof(*g));
}

/* ---- spellings ---- */

const char *genc_value(const CType *t) {
        return t->c_value;
}

const char *genc_in(const CType *t) {
        return t->c_in;
}

const char *genc_borrowed(const CType *t) {
        return t->c_borrowed;
}

bool genc_by_ptr(const CType *t) {
        return t->kind == CT_STRUCT || t->kind == CT_ARRAY || t->kind == CT_MAP;
}

const char *genc_release(const CType *t) {
        static char buf[512];

        if (!t->owns)
                return NULL;
        if (genc_by_ptr(t)) {
                snprintf(buf, sizeof(buf), "%s_clear()", t->name);
                return buf;
        }
        switch (t->basic->kind) {
        case IDL_T_VARIANT:
                return "busrpc_variant_unref()";
        case IDL_T_SHM:
                return "busrpc_shm_unref()";
        case IDL_T_FD:
                return "close()";
        default:
                return "free()";
        }
}

/* ---- the argument structs of an interface ---- */

char *genc_mstruct(const IdlDecl *iface, const IdlMember *m, const char *dir) {
        return idl_xasprintf("busrpc__%s_%s__%s", iface->c_name, m->c_name, dir);
}

bool genc_has_args(const IdlMember *m) {
        return m->kind == IDL_M_METHOD || m->kind == IDL_M_SIGNAL;
}

char *genc_args_ref(const IdlDecl *iface, const IdlMember *m, bool out) {
        size_t row = 0;

        for (size_t i = 0; i < iface->n_members && iface->members[i] != m; i++)
                if (genc_has_args(iface->members[i]))
                        row += iface->members[i]->kind == IDL_M_METHOD ? 2 : 1;
        return idl_xasprintf("&busrpc__%s__args[%zu]", iface->c_name, row + (out ? 1 : 0));
}

const char *genc_mfield(const char *name) {
        /* errno is a macro wherever <errno.h> is included */
        return strcmp(name, "errno") == 0 ? "busrpc_arg_errno" : name;
}

char *genc_in_value(GenC *g, const CType *t, const char *name) {
        (void)g;
        if (genc_by_ptr(t))
                return idl_xasprintf("*%s", name);
        if (t->kind == CT_BASIC && strncmp(t->c_in, "const ", 6) == 0)
                return idl_xasprintf("(%s)%s", t->c_value, name);
        return idl_xstrdup(name);
}

/* ---- names and small pieces of the interface ---- */

char *genc_iface_macro(const IdlDecl *iface) {
        char *u = genc_upper(iface->c_name), *s = idl_xasprintf("%s_INTERFACE_NAME", u);
        free(u);
        return s;
}

char *genc_error_macro(const IdlDecl *iface, const IdlMember *err) {
        char *s = idl_xasprintf("%s_error_%s", iface->c_name, err->c_name), *u = genc_upper(s);
        free(s);
        return u;
}

bool genc_prop_readable(const IdlMember *m) {
        return m->kind == IDL_M_PROPERTY && m->access != IDL_ACCESS_WRITE;
}

bool genc_prop_writable(const IdlMember *m) {
        return m->kind == IDL_M_PROPERTY && m->access != IDL_ACCESS_READ;
}

bool genc_prop_notifies(const IdlMember *m) {
        /* Every property has one (docs/idl-checks.md reserves the name);
         * libbusrpc sends what the emits flag says, possibly nothing. */
        return m->kind == IDL_M_PROPERTY;
}

const char *genc_emits_flag(IdlEmits e) {
        switch (e) {
        case IDL_EMITS_INVALIDATES: return "BUSRPC_PROP_EMITS_INVALIDATES";
        case IDL_EMITS_CONST: return "BUSRPC_PROP_EMITS_CONST";
        case IDL_EMITS_FALSE: return "BUSRPC_PROP_EMITS_FALSE";
        default: return "BUSRPC_PROP_EMITS_TRUE";
        }
}

bool genc_has_readable(const IdlDecl *iface) {
        for (size_t i = 0; i < iface->n_members; i++)
                if (genc_prop_readable(iface->members[i]))
                        return true;
        return false;
}

void genc_emit_doc_lines(GenC *g, const char *doc) {
        const char *p = doc;

        if (!doc || !*doc)
                return;
        while (*p) {
                const char *e = strchr(p, '\n');
                size_t n = e ? (size_t)(e - p) : strlen(p);
                genc_p(g, " *");
                if (n)
                        genc_p(g, " ");
                for (size_t i = 0; i < n; i++) {
                        /* never close the comment early */
                        if (p[i] == '/' && i > 0 && p[i - 1] == '*')
                                genc_p(g, " ");
                        genc_p(g, "%c", p[i]);
                }
                genc_p(g, "\n");
                if (!e)
                        break;
                p = e + 1;
        }
}

void genc_c_preamble(GenC *g, const char *what) {
        genc_p(g, "%s/* %s-%s.c: %s of module %s. */\n", GEN_C_BANNER, g->module,
               strcmp(what, "client stubs") == 0 ? "client" : "server", what, g->module);
        genc_p(g, "#include <errno.h>\n#include <stdarg.h>\n\n#include \"%s.h\"\n\n", g->module);
}
