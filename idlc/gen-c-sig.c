/* gen-c-sig.c: the prototypes of every generated public function and
 * callback type, printed once here so the header's declarations and the
 * .c files' definitions cannot drift apart. Each prints without the
 * terminating ";" or " {".
 */
#include <stdlib.h>
#include <string.h>
#include "gen-c.h"

static void param(GenC *g, const char *type, const char *name) {
        char *d = genc_decl(type, genc_arg(g, name));
        genc_p(g, ", %s", d);
        free(d);
}

/* The type of a pointer to type: "char **", "int32_t *". */
static char *genc_ptr_to(const char *type) {
        size_t n = strlen(type);
        return idl_xasprintf("%s%s", type, n > 0 && type[n - 1] == '*' ? "*" : " *");
}

static CType *arg_type(GenC *g, const IdlDecl *iface, const IdlField *f) {
        return genc_type(g, f->type, iface->file);
}

/* Inputs as the client (or a reply/emit) passes them. */
static void ins(GenC *g, const IdlDecl *iface, IdlField **a, size_t n) {
        for (size_t i = 0; i < n; i++)
                param(g, genc_in(arg_type(g, iface, a[i])), a[i]->name);
}

/* Values lent to user code: op inputs, async results, signal arguments. */
static void borrowed(GenC *g, const IdlDecl *iface, IdlField **a, size_t n) {
        for (size_t i = 0; i < n; i++)
                param(g, genc_borrowed(arg_type(g, iface, a[i])), a[i]->name);
}

/* Outputs: pointers to the stored type. */
static void outs(GenC *g, const IdlDecl *iface, IdlField **a, size_t n) {
        for (size_t i = 0; i < n; i++) {
                char *t = genc_ptr_to(genc_value(arg_type(g, iface, a[i])));
                param(g, t, a[i]->name);
                free(t);
        }
}

static const char *const own_names[][2] = {
        { "p", "busrpc_p" },       { "err", "busrpc_err" },   { "cb", "busrpc_cb" },
        { "userdata", "busrpc_userdata" }, { "out", "busrpc_out" }, { "call", "busrpc_req" },
        { "self", "busrpc_self" }, { "o", "busrpc_o" },
};

static bool has_arg(const IdlMember *m, const char *name) {
        if (!m)
                return false;
        if (m->kind == IDL_M_PROPERTY && m->c_name && strcmp(m->c_name, name) == 0)
                return true;
        for (size_t i = 0; i < m->n_in; i++)
                if (strcmp(m->in[i]->name, name) == 0)
                        return true;
        for (size_t i = 0; i < m->n_out; i++)
                if (strcmp(m->out[i]->name, name) == 0)
                        return true;
        return false;
}

/* What a generated .c file calls or names besides busrpc_* and its module's
 * own functions: a parameter of that name would hide it. */
static const char *const libc_names[][2] = {
        { "free", "busrpc_arg_free" },       { "malloc", "busrpc_arg_malloc" },
        { "calloc", "busrpc_arg_calloc" },   { "realloc", "busrpc_arg_realloc" },
        { "memset", "busrpc_arg_memset" },   { "memcpy", "busrpc_arg_memcpy" },
        { "memcmp", "busrpc_arg_memcmp" },   { "strlen", "busrpc_arg_strlen" },
        { "strcmp", "busrpc_arg_strcmp" },   { "strdup", "busrpc_arg_strdup" },
        { "close", "busrpc_arg_close" },     { "dup", "busrpc_arg_dup" },
        { "errno", "busrpc_arg_errno" },     { "vsnprintf", "busrpc_arg_vsnprintf" },
        { "va_start", "busrpc_arg_va_start" }, { "va_end", "busrpc_arg_va_end" },
        { "va_list", "busrpc_arg_va_list" },
};

const char *genc_arg(const GenC *g, const char *name) {
        for (size_t i = 0; i < sizeof(libc_names) / sizeof(libc_names[0]); i++)
                if (strcmp(libc_names[i][0], name) == 0)
                        /* errno is a macro wherever <errno.h> is included: the header too */
                        return g->def || strcmp(name, "errno") == 0 ? libc_names[i][1] : name;
        return name;
}

const char *genc_own(const GenC *g, const IdlMember *m, const char *name) {
        for (size_t i = 0; i < sizeof(own_names) / sizeof(own_names[0]); i++)
                if (strcmp(own_names[i][0], name) == 0)
                        return g->def || has_arg(m, name) ? own_names[i][1] : own_names[i][0];
        return name;
}

void genc_sig_proxy_new(GenC *g, const IdlDecl *iface) {
        genc_p(g, "int %s_proxy_new(busrpc_conn *c, const char *destination, const char *path, busrpc_proxy **out)",
               iface->c_name);
}

void genc_sig_sync(GenC *g, const IdlDecl *iface, const IdlMember *m) {
        genc_p(g, "int %s_%s(busrpc_proxy *%s", iface->c_name, m->c_name, genc_own(g, m, "p"));
        ins(g, iface, m->in, m->n_in);
        if (!m->noreply)
                outs(g, iface, m->out, m->n_out);
        genc_p(g, ", busrpc_error *%s)", genc_own(g, m, "err"));
}

/* The status parameter of a _done callback: "r", unless an output is
 * called r. */
const char *genc_done_status(const IdlMember *m) {
        for (size_t i = 0; i < m->n_out; i++)
                if (strcmp(m->out[i]->name, "r") == 0)
                        return "busrpc_r";
        return "r";
}

void genc_sig_done_typedef(GenC *g, const IdlDecl *iface, const IdlMember *m) {
        genc_p(g, "typedef void (*%s_%s_done)(int %s, const busrpc_error *%s", iface->c_name, m->c_name,
               genc_done_status(m), genc_own(g, m, "err"));
        borrowed(g, iface, m->out, m->n_out);
        genc_p(g, ", void *%s)", genc_own(g, m, "userdata"));
}

void genc_sig_async(GenC *g, const IdlDecl *iface, const IdlMember *m) {
        genc_p(g, "int %s_%s_async(busrpc_proxy *%s", iface->c_name, m->c_name, genc_own(g, m, "p"));
        ins(g, iface, m->in, m->n_in);
        genc_p(g, ", %s_%s_done %s, void *%s, busrpc_pending **%s)", iface->c_name, m->c_name, genc_own(g, m, "cb"),
               genc_own(g, m, "userdata"), genc_own(g, m, "out"));
}

void genc_sig_get(GenC *g, const IdlDecl *iface, const IdlMember *m) {
        char *t = genc_ptr_to(genc_value(genc_type(g, m->type, iface->file)));
        genc_p(g, "int %s_get_%s(busrpc_proxy *%s", iface->c_name, m->c_name, genc_own(g, m, "p"));
        param(g, t, m->c_name);
        genc_p(g, ", busrpc_error *%s)", genc_own(g, m, "err"));
        free(t);
}

void genc_sig_set(GenC *g, const IdlDecl *iface, const IdlMember *m) {
        genc_p(g, "int %s_set_%s(busrpc_proxy *%s", iface->c_name, m->c_name, genc_own(g, m, "p"));
        param(g, genc_in(genc_type(g, m->type, iface->file)), m->c_name);
        genc_p(g, ", busrpc_error *%s)", genc_own(g, m, "err"));
}

void genc_sig_get_all(GenC *g, const IdlDecl *iface) {
        genc_p(g, "int %s_get_all(busrpc_proxy *p, %s_properties *out, busrpc_error *err)", iface->c_name,
               iface->c_name);
}

void genc_sig_handler_typedef(GenC *g, const IdlDecl *iface, const IdlMember *m) {
        genc_p(g, "typedef void (*%s_%s_handler)(", iface->c_name, m->c_name);
        for (size_t i = 0; i < m->n_in; i++) {
                char *d = genc_decl(genc_borrowed(arg_type(g, iface, m->in[i])), genc_arg(g, m->in[i]->name));
                genc_p(g, "%s, ", d);
                free(d);
        }
        genc_p(g, "void *%s)", genc_own(g, m, "userdata"));
}

void genc_sig_on(GenC *g, const IdlDecl *iface, const IdlMember *m) {
        genc_p(g, "int %s_on_%s(busrpc_proxy *p, %s_%s_handler cb, void *userdata, busrpc_subscription **out)",
               iface->c_name, m->c_name, iface->c_name, m->c_name);
}

/* The ops table's member for a method. */
void genc_sig_op(GenC *g, const IdlDecl *iface, const IdlMember *m) {
        genc_p(g, "int (*%s)(void *%s, busrpc_call *%s", m->c_name, genc_own(g, m, "self"), genc_own(g, m, "call"));
        borrowed(g, iface, m->in, m->n_in);
        if (!m->noreply)
                outs(g, iface, m->out, m->n_out);
        genc_p(g, ")");
}

void genc_sig_op_get(GenC *g, const IdlDecl *iface, const IdlMember *m) {
        char *t = genc_ptr_to(genc_value(genc_type(g, m->type, iface->file)));
        genc_p(g, "int (*get_%s)(void *%s", m->c_name, genc_own(g, m, "self"));
        param(g, t, m->c_name);
        genc_p(g, ", busrpc_error *%s)", genc_own(g, m, "err"));
        free(t);
}

void genc_sig_op_set(GenC *g, const IdlDecl *iface, const IdlMember *m) {
        genc_p(g, "int (*set_%s)(void *%s", m->c_name, genc_own(g, m, "self"));
        param(g, genc_borrowed(genc_type(g, m->type, iface->file)), m->c_name);
        genc_p(g, ", busrpc_error *%s)", genc_own(g, m, "err"));
}

void genc_sig_export(GenC *g, const IdlDecl *iface, bool server) {
        genc_p(g, "int %s_export%s(%s, const char *path, const %s_ops *ops, void *self, busrpc_object **out)",
               iface->c_name, server ? "_server" : "", server ? "busrpc_server *s" : "busrpc_conn *c",
               iface->c_name);
}

void genc_sig_reply(GenC *g, const IdlDecl *iface, const IdlMember *m) {
        genc_p(g, "int %s_%s_reply(busrpc_call *%s", iface->c_name, m->c_name, genc_own(g, m, "call"));
        ins(g, iface, m->out, m->n_out);
        genc_p(g, ")");
}

void genc_sig_emit(GenC *g, const IdlDecl *iface, const IdlMember *m) {
        genc_p(g, "int %s_emit_%s(busrpc_object *%s", iface->c_name, m->c_name, genc_own(g, m, "o"));
        ins(g, iface, m->in, m->n_in);
        genc_p(g, ")");
}

void genc_sig_notify(GenC *g, const IdlDecl *iface, const IdlMember *m) {
        genc_p(g, "int %s_notify_%s(busrpc_object *o)", iface->c_name, m->c_name);
}

void genc_sig_error(GenC *g, const IdlDecl *iface, const IdlMember *m) {
        genc_p(g, "int %s_error_%s(busrpc_call *call, const char *fmt, ...)", iface->c_name, m->c_name);
}
