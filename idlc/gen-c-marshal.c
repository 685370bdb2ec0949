/* gen-c-marshal.c: the code that moves C values in and out of messages.
 *
 * Call snippets (genc_append(), genc_read()) are int expressions used by
 * the stubs and skeletons; the static busrpc__append_X / busrpc__read_X
 * helpers they call are emitted by genc_emit_helpers() for exactly the
 * types that were marked, so a generated file has no unused function.
 *
 * Wire rules the helpers follow (see docs/generated-api.md):
 *  - D-Bus booleans are 4 bytes, C bool 1: converted one by one;
 *  - fixed arrays (y n q i u x t d) are copied with one memcpy; never for
 *    'h' (libdbus aborts on get_fixed_array of "ah") nor bool/enums;
 *  - enum and flags values from the wire are checked (unknown value or
 *    unknown bit: InvalidArgs, -EBADMSG), so a C switch can trust them.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "gen-c.h"

static void need(GenC *g, CType *t, unsigned what) {
        if (!t || (t->need & what) == what)
                return;
        t->need |= what;
        switch (t->kind) {
        case CT_STRUCT:
                for (size_t i = 0; i < t->decl->n_fields; i++)
                        need(g, t->fields[i], what);
                break;
        case CT_MAP:
                need(g, t->key, what);
                /* fall through */
        case CT_ARRAY:
                need(g, t->elem, what);
                break;
        case CT_ENUM:
                break;
        case CT_BASIC:
                if (what & GEN_NEED_READ) {
                        switch (t->basic->kind) {
                        case IDL_T_BOOL:
                                g->helpers |= GEN_H_READ_BOOL;
                                break;
                        case IDL_T_STRING:
                        case IDL_T_OBJPATH:
                        case IDL_T_SIGNATURE:
                                g->helpers |= GEN_H_READ_STRING;
                                break;
                        case IDL_T_SHM:
                                g->helpers |= GEN_H_READ_SHM;
                                break;
                        default:
                                break;
                        }
                }
                break;
        }
}

/* An array whose items are copied with one memcpy. */
static bool is_fixed_array(const CType *t) {
        const CType *e = t->elem;

        if (t->kind != CT_ARRAY || e->kind != CT_BASIC || !e->basic->is_fixed)
                return false;
        return e->basic->kind != IDL_T_BOOL && e->basic->kind != IDL_T_FD;
}

char *genc_append(GenC *g, const CType *t, const char *it, const char *v, bool ptr) {
        need(g, (CType *)t, GEN_NEED_APPEND);
        if (genc_by_ptr(t))
                return idl_xasprintf("busrpc__append_%s(%s, %s%s)", t->name, it, ptr ? "" : "&", v);
        if (t->kind == CT_ENUM)
                return idl_xasprintf("busrpc_iter_append_basic(%s, %s, &(%s){ (%s)%s })", it,
                                     genc_type_const(t->basic), t->basic->c_out, t->basic->c_out, v);
        switch (t->basic->kind) {
        case IDL_T_BOOL:
                return idl_xasprintf("busrpc_iter_append_basic(%s, BUSRPC_TYPE_BOOLEAN, &(uint32_t){ %s ? 1 : 0 })",
                                     it, v);
        case IDL_T_VARIANT:
                return idl_xasprintf("busrpc_iter_append_variant(%s, %s)", it, v);
        case IDL_T_FD:
                return idl_xasprintf("busrpc_iter_append_fd(%s, %s)", it, v);
        case IDL_T_SHM:
                return idl_xasprintf("busrpc_iter_append_shm(%s, %s)", it, v);
        default:
                return idl_xasprintf("busrpc_iter_append_basic(%s, %s, &%s)", it, genc_type_const(t->basic), v);
        }
}

/* A shm's bound: its @max_size in bytes, or 0 (the connection's). */
static uint64_t shm_max(const IdlMeta *meta) {
        const IdlAnnot *a = meta ? idl_meta_find_annot(meta, IDL_A_MAX_SIZE) : NULL;
        uint64_t v = 0;

        if (!a || !check_parse_size(a->value, &v))
                return 0;
        return v;
}

char *genc_read_meta(GenC *g, CType *t, const IdlMeta *meta, const char *it, const char *dest, const char *err) {
        uint64_t max = shm_max(meta);

        if (t->kind != CT_BASIC || t->basic->kind != IDL_T_SHM || !max)
                return genc_read(g, t, it, dest, err);
        need(g, t, GEN_NEED_READ);
        return idl_xasprintf("busrpc__read_shm(%s, %s, UINT64_C(%" PRIu64 "), %s)", it, dest, max, err);
}

char *genc_read(GenC *g, CType *t, const char *it, const char *dest, const char *err) {
        need(g, t, GEN_NEED_READ);
        if (t->kind != CT_BASIC)
                return idl_xasprintf("busrpc__read_%s(%s, %s, %s)", t->name, it, dest, err);
        switch (t->basic->kind) {
        case IDL_T_BOOL:
                return idl_xasprintf("busrpc__read_bool(%s, %s)", it, dest);
        case IDL_T_STRING:
        case IDL_T_OBJPATH:
        case IDL_T_SIGNATURE:
                return idl_xasprintf("busrpc__read_string(%s, %s, %s)", it, genc_type_const(t->basic), dest);
        case IDL_T_VARIANT:
                return idl_xasprintf("busrpc_iter_get_variant(%s, %s)", it, dest);
        case IDL_T_FD:
                return idl_xasprintf("busrpc_iter_get_fd(%s, %s)", it, dest);
        case IDL_T_SHM:
                return idl_xasprintf("busrpc__read_shm(%s, %s, 0, %s)", it, dest, err);
        default:
                return idl_xasprintf("busrpc_iter_get_basic(%s, %s, %s)", it, genc_type_const(t->basic), dest);
        }
}

/* ---- helper prototypes ---- */

static void proto_append(GenC *g, const CType *t, const char *end) {
        genc_p(g, "static int busrpc__append_%s(busrpc_iter *it, const %s *v)%s", t->name, t->name, end);
}

static void proto_read(GenC *g, const CType *t, const char *end) {
        genc_p(g, "static int busrpc__read_%s(busrpc_iter *it, %s *v, busrpc_error *err)%s", t->name, t->name,
               end);
}

/* "r = <snippet>;" or "if (r >= 0)\n r = <snippet>;" at indent 1. */
static void chain(GenC *g, bool first, char *snippet) {
        if (first)
                genc_p(g, "        r = %s;\n", snippet);
        else
                genc_p(g, "        if (r >= 0)\n                r = %s;\n", snippet);
        free(snippet);
}

/* ---- appending ---- */

static void def_append_struct(GenC *g, CType *t) {
        const IdlDecl *d = t->decl;

        proto_append(g, t, " {\n");
        genc_p(g, "        busrpc_iter sub;\n        int r;\n\n");
        genc_p(g, "        r = busrpc_iter_open(it, BUSRPC_TYPE_STRUCT, NULL, &sub);\n");
        genc_p(g, "        if (r < 0)\n                return r;\n");
        for (size_t i = 0; i < d->n_fields; i++) {
                char *lv = idl_xasprintf("v->%s", d->fields[i]->name);
                chain(g, i == 0, genc_append(g, t->fields[i], "&sub", lv, false));
                free(lv);
        }
        genc_p(g, "        if (r < 0) {\n                busrpc_iter_abandon(it, &sub);\n                return r;\n        }\n");
        genc_p(g, "        return busrpc_iter_close(it, &sub);\n}\n\n");
}

static void def_append_array(GenC *g, CType *t) {
        char *s;

        proto_append(g, t, " {\n");
        if (is_fixed_array(t)) {
                genc_p(g, "        return busrpc_iter_append_fixed_array(it, %s, v->items, v->n);\n}\n\n",
                       genc_type_const(t->elem->basic));
                return;
        }
        genc_p(g, "        busrpc_iter sub;\n        size_t i;\n        int r;\n\n");
        genc_p(g, "        r = busrpc_iter_open(it, BUSRPC_TYPE_ARRAY, \"%s\", &sub);\n", t->elem->sig);
        genc_p(g, "        if (r < 0)\n                return r;\n");
        genc_p(g, "        for (i = 0; i < v->n && r >= 0; i++)\n");
        s = genc_append(g, t->elem, "&sub", "v->items[i]", false);
        genc_p(g, "                r = %s;\n", s);
        free(s);
        genc_p(g, "        if (r < 0) {\n                busrpc_iter_abandon(it, &sub);\n                return r;\n        }\n");
        genc_p(g, "        return busrpc_iter_close(it, &sub);\n}\n\n");
}

static void def_append_map(GenC *g, CType *t) {
        char *k = genc_append(g, t->key, "&entry", "v->keys[i]", false);
        char *e = genc_append(g, t->elem, "&entry", "v->values[i]", false);

        proto_append(g, t, " {\n");
        genc_p(g, "        busrpc_iter sub, entry;\n        size_t i;\n        int r;\n\n");
        genc_p(g, "        r = busrpc_iter_open(it, BUSRPC_TYPE_ARRAY, \"{%s%s}\", &sub);\n", t->key->sig,
               t->elem->sig);
        genc_p(g, "        if (r < 0)\n                return r;\n");
        genc_p(g, "        for (i = 0; i < v->n && r >= 0; i++) {\n");
        genc_p(g, "                r = busrpc_iter_open(&sub, BUSRPC_TYPE_DICT_ENTRY, NULL, &entry);\n");
        genc_p(g, "                if (r < 0)\n                        break;\n");
        genc_p(g, "                r = %s;\n", k);
        genc_p(g, "                if (r >= 0)\n                        r = %s;\n", e);
        genc_p(g, "                if (r < 0) {\n                        busrpc_iter_abandon(&sub, &entry);\n"
                  "                        break;\n                }\n");
        genc_p(g, "                r = busrpc_iter_close(&sub, &entry);\n        }\n");
        genc_p(g, "        if (r < 0) {\n                busrpc_iter_abandon(it, &sub);\n                return r;\n        }\n");
        genc_p(g, "        return busrpc_iter_close(it, &sub);\n}\n\n");
        free(k);
        free(e);
}

/* ---- reading ---- */

static void def_read_enum(GenC *g, CType *t) {
        const IdlBasicType *b = t->basic;

        proto_read(g, t, " {\n");
        genc_p(g, "        %s x;\n        int r;\n\n", b->c_out);
        genc_p(g, "        r = busrpc_iter_get_basic(it, %s, &x);\n", genc_type_const(b));
        genc_p(g, "        if (r < 0)\n                return r;\n");
        genc_p(g, "        if (!%s_is_valid(x)) {\n", t->name);
        genc_p(g, "                busrpc_error_set(err, BUSRPC_ERROR_INVALID_ARGS, \"%s is not a valid %s\", %s);\n",
               b->is_signed ? "%\" PRId64 \"" : "%\" PRIu64 \"", t->name,
               b->is_signed ? "(int64_t)x" : "(uint64_t)x");
        genc_p(g, "                return -EBADMSG;\n        }\n");
        genc_p(g, "        *v = (%s)x;\n        return 0;\n}\n\n", t->name);
}

static void def_read_struct(GenC *g, CType *t) {
        const IdlDecl *d = t->decl;

        proto_read(g, t, " {\n");
        genc_p(g, "        busrpc_iter sub;\n        int r;\n\n        (void)err;\n");
        genc_p(g, "        r = busrpc_iter_recurse(it, &sub);\n");
        for (size_t i = 0; i < d->n_fields; i++) {
                char *dest = idl_xasprintf("&v->%s", d->fields[i]->name);
                chain(g, false, genc_read_meta(g, t->fields[i], &d->fields[i]->meta, "&sub", dest, "err"));
                free(dest);
        }
        genc_p(g, "        return r;\n}\n\n");
}

/* Make room for one more item in (*items, cap); the loop's r keeps errors. */
static void grow(GenC *g, const char *field, const CType *elem) {
        char *d = genc_decl(genc_value(elem), "*p");

        genc_p(g, "                        %s = realloc(v->%s, ncap * sizeof(*p));\n", d, field);
        genc_p(g, "                        if (!p)\n                                return -ENOMEM;\n");
        genc_p(g, "                        v->%s = p;\n", field);
        free(d);
}

static void def_read_array(GenC *g, CType *t) {
        char *s, *lv;

        proto_read(g, t, " {\n");
        if (is_fixed_array(t)) {
                genc_p(g, "        const void *items;\n        size_t n;\n        int r;\n\n        (void)err;\n");
                genc_p(g, "        r = busrpc_iter_get_fixed_array(it, %s, &items, &n);\n",
                       genc_type_const(t->elem->basic));
                genc_p(g, "        if (r < 0 || n == 0)\n                return r;\n");
                genc_p(g, "        v->items = malloc(n * sizeof(*v->items));\n");
                genc_p(g, "        if (!v->items)\n                return -ENOMEM;\n");
                genc_p(g, "        memcpy(v->items, items, n * sizeof(*v->items));\n");
                genc_p(g, "        v->n = n;\n        return 0;\n}\n\n");
                return;
        }
        genc_p(g, "        busrpc_iter sub;\n        size_t cap = 0;\n        int r;\n\n        (void)err;\n");
        genc_p(g, "        r = busrpc_iter_recurse(it, &sub);\n");
        genc_p(g, "        while (r >= 0 && busrpc_iter_type(&sub) != BUSRPC_TYPE_INVALID) {\n");
        genc_p(g, "                if (v->n == cap) {\n");
        genc_p(g, "                        size_t ncap = cap ? 2 * cap : 16;\n");
        grow(g, "items", t->elem);
        genc_p(g, "                        cap = ncap;\n                }\n");
        genc_init_stmt(g, t->elem, "v->items[v->n]", 2);
        genc_p(g, "                v->n++;\n");
        lv = idl_xstrdup("&v->items[v->n - 1]");
        s = genc_read(g, t->elem, "&sub", lv, "err");
        genc_p(g, "                r = %s;\n        }\n        return r;\n}\n\n", s);
        free(s);
        free(lv);
}

static void def_read_map(GenC *g, CType *t) {
        char *k = genc_read(g, t->key, "&entry", "&v->keys[v->n - 1]", "err");
        char *e = genc_read(g, t->elem, "&entry", "&v->values[v->n - 1]", "err");

        proto_read(g, t, " {\n");
        genc_p(g, "        busrpc_iter sub, entry;\n        size_t cap = 0;\n        int r;\n\n");
        genc_p(g, "        r = busrpc_iter_recurse_dict(it, &sub);\n");
        genc_p(g, "        if (r == -ENOTUNIQ)\n                busrpc_error_set(err, BUSRPC_ERROR_INVALID_ARGS, "
                  "\"duplicate key in map %s\");\n", t->sig);
        genc_p(g, "        while (r >= 0 && busrpc_iter_type(&sub) != BUSRPC_TYPE_INVALID) {\n");
        genc_p(g, "                if (v->n == cap) {\n");
        genc_p(g, "                        size_t ncap = cap ? 2 * cap : 16;\n");
        genc_p(g, "                        {\n");
        {
                char *d = genc_decl(genc_value(t->key), "*p");
                genc_p(g, "                        %s = realloc(v->keys, ncap * sizeof(*p));\n", d);
                genc_p(g, "                        if (!p)\n                                return -ENOMEM;\n");
                genc_p(g, "                        v->keys = p;\n                        }\n");
                free(d);
        }
        genc_p(g, "                        {\n");
        grow(g, "values", t->elem);
        genc_p(g, "                        }\n");
        genc_p(g, "                        cap = ncap;\n                }\n");
        genc_init_stmt(g, t->key, "v->keys[v->n]", 2);
        genc_init_stmt(g, t->elem, "v->values[v->n]", 2);
        genc_p(g, "                v->n++;\n");
        genc_p(g, "                r = busrpc_iter_recurse(&sub, &entry);\n");
        genc_p(g, "                if (r >= 0)\n                        r = %s;\n", k);
        genc_p(g, "                if (r >= 0)\n                        r = %s;\n", e);
        genc_p(g, "        }\n        return r;\n}\n\n");
        free(k);
        free(e);
}

/* ---- the basic helpers ---- */

static void def_basic_helpers(GenC *g) {
        if (g->helpers & GEN_H_ASYNC)
                fputs("/* What an async call or a subscription hands to its trampoline: the\n"
                          " * user's callback (cast back to its real type before the call). */\n"
                          "typedef struct busrpc__closure {\n"
                          "        void (*cb)(void);\n"
                          "        void *userdata;\n"
                          "} busrpc__closure;\n\n", g->out);
        if (g->helpers & GEN_H_ENTER_VARIANT)
                fputs("/* Enter the variant at it, which must hold a value of signature sig. */\n"
                          "static int busrpc__enter_variant(busrpc_iter *it, const char *sig, const char *prop, busrpc_iter *value,\n"
                          "                                 busrpc_error *err) {\n"
                          "        const char *got = busrpc_iter_get_variant_signature(it);\n\n"
                          "        if (!got || strcmp(got, sig) != 0) {\n"
                          "                busrpc_error_set(err, BUSRPC_ERROR_INVALID_ARGS, \"property %s has type '%s', expected '%s'\",\n"
                          "                                 prop, got ? got : \"?\", sig);\n"
                          "                return -EBADMSG;\n"
                          "        }\n"
                          "        return busrpc_iter_recurse(it, value);\n}\n\n", g->out);
        if (g->helpers & GEN_H_FAIL_ARGS)
                fputs("/* Arguments that could not be read: answer InvalidArgs (or the error a\n"
                          " * reader set) and return r for the runtime. */\n"
                          "static int busrpc__fail_args(busrpc_call *call, int r, const busrpc_error *err) {\n"
                          "        if (busrpc_error_is_set(err))\n"
                          "                busrpc_call_fail_error(call, err);\n"
                          "        else if (r == -ENOMEM)\n"
                          "                busrpc_call_fail(call, BUSRPC_ERROR_NO_MEMORY, \"out of memory\");\n"
                          "        else\n"
                          "                busrpc_call_fail(call, BUSRPC_ERROR_INVALID_ARGS, \"invalid arguments (%s)\", strerror(-r));\n"
                          "        return r;\n}\n\n", g->out);
        if (g->helpers & GEN_H_VFAIL)
                fputs("/* busrpc_call_fail() with a va_list: format, then pass the text as \"%s\". */\n"
                          "static int busrpc__vfail(busrpc_call *call, const char *name, const char *fmt, va_list ap)\n"
                          "        BUSRPC_PRINTF(3, 0);\n"
                          "static int busrpc__vfail(busrpc_call *call, const char *name, const char *fmt, va_list ap) {\n"
                          "        va_list aq;\n"
                          "        char *msg;\n"
                          "        int n, r;\n\n"
                          "        if (!fmt)\n"
                          "                return busrpc_call_fail(call, name, \"%s\", name);\n"
                          "        va_copy(aq, ap);\n"
                          "        n = vsnprintf(NULL, 0, fmt, aq);\n"
                          "        va_end(aq);\n"
                          "        if (n < 0 || !(msg = malloc((size_t)n + 1)))\n"
                          "                return busrpc_call_fail(call, name, \"%s\", fmt);\n"
                          "        vsnprintf(msg, (size_t)n + 1, fmt, ap);\n"
                          "        r = busrpc_call_fail(call, name, \"%s\", msg);\n"
                          "        free(msg);\n"
                          "        return r;\n}\n\n", g->out);
        if (g->helpers & GEN_H_READ_BOOL)
                fputs("/* D-Bus booleans are 4 bytes on the wire, C bool is 1. */\n"
                          "static int busrpc__read_bool(busrpc_iter *it, bool *v) {\n"
                          "        uint32_t x;\n"
                          "        int r;\n\n"
                          "        r = busrpc_iter_get_basic(it, BUSRPC_TYPE_BOOLEAN, &x);\n"
                          "        if (r < 0)\n                return r;\n"
                          "        *v = x != 0;\n"
                          "        return 0;\n}\n\n", g->out);
        if (g->helpers & GEN_H_READ_STRING)
                fputs("/* A copy of the string at it (borrowed from the message). */\n"
                          "static int busrpc__read_string(busrpc_iter *it, int type, char **v) {\n"
                          "        const char *s;\n"
                          "        size_t n;\n"
                          "        int r;\n\n"
                          "        r = busrpc_iter_get_basic(it, type, &s);\n"
                          "        if (r < 0)\n                return r;\n"
                          "        n = strlen(s) + 1;\n"
                          "        *v = malloc(n);\n"
                          "        if (!*v)\n                return -ENOMEM;\n"
                          "        memcpy(*v, s, n);\n"
                          "        return 0;\n}\n\n", g->out);
        if (g->helpers & GEN_H_READ_SHM)
                fputs("/* A shm of at most max bytes (0: the connection's bound), checked\n"
                          " * before anything maps it. */\n"
                          "static int busrpc__read_shm(busrpc_iter *it, busrpc_shm **v, uint64_t max, busrpc_error *err) {\n"
                          "        int r;\n\n"
                          "        r = busrpc_iter_get_shm_max(it, max, v);\n"
                          "        if (r == -EPERM)\n"
                          "                busrpc_error_set(err, BUSRPC_ERROR_INVALID_ARGS, \"shm argument is not sealed\");\n"
                          "        else if (r == -EFBIG)\n"
                          "                busrpc_error_set(err, BUSRPC_ERROR_INVALID_ARGS, \"shm argument is larger than its size limit\");\n"
                          "        return r;\n}\n\n", g->out);
}

void genc_emit_helpers(GenC *g) {
        bool any = false;

        /* Prototypes first: helpers call each other in any order. */
        for (size_t i = 0; i < g->n_types; i++) {
                CType *t = g->types[i];
                if ((t->need & GEN_NEED_APPEND) && genc_by_ptr(t)) {
                        proto_append(g, t, ";\n");
                        any = true;
                }
                if ((t->need & GEN_NEED_READ) && t->kind != CT_BASIC) {
                        proto_read(g, t, ";\n");
                        any = true;
                }
        }
        if (any)
                genc_p(g, "\n");
        def_basic_helpers(g);
        /* Emitting a helper marks nothing new: need() marked recursively. */
        for (size_t i = 0; i < g->n_types; i++) {
                CType *t = g->types[i];
                if (t->need & GEN_NEED_APPEND) {
                        if (t->kind == CT_STRUCT)
                                def_append_struct(g, t);
                        else if (t->kind == CT_ARRAY)
                                def_append_array(g, t);
                        else if (t->kind == CT_MAP)
                                def_append_map(g, t);
                }
                if (t->need & GEN_NEED_READ) {
                        if (t->kind == CT_ENUM)
                                def_read_enum(g, t);
                        else if (t->kind == CT_STRUCT)
                                def_read_struct(g, t);
                        else if (t->kind == CT_ARRAY)
                                def_read_array(g, t);
                        else if (t->kind == CT_MAP)
                                def_read_map(g, t);
                }
        }
}
