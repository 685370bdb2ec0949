/* gen-client.c: <module>-client.c, the typed client stubs, and the client
 * part of each interface's section in <module>.h.
 *
 * Every stub builds the call with busrpc_proxy_method_new() and the
 * append snippets, lets libbusrpc check the reply's signature
 * (busrpc_proxy_call(..., out_sig, ...)), reads the outputs into locals
 * and hands them over only when all were read, so outputs are written only
 * on success. Locals are named busrpc_* because the parameters carry the
 * IDL's names (check.c reserves that prefix).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "gen-c.h"
#include "gen.h"

static CType *ty(GenC *g, const IdlDecl *d, const IdlType *t) {
        return genc_type(g, t, d->file);
}

/* ---- the header part ---- */

static void doc_raises(GenC *g, const IdlDecl *d, const IdlMember *m) {
        for (size_t i = 0; i < m->n_raises; i++) {
                char *e;
                if (!m->raises[i]->error)
                        continue;
                e = genc_error_macro(d, m->raises[i]->error);
                genc_p(g, " *       The service may fail with %s.\n", e);
                free(e);
        }
}

static void doc_outputs(GenC *g, const IdlDecl *d, IdlField **a, size_t n) {
        for (size_t i = 0; i < n; i++) {
                const CType *t = ty(g, d, a[i]->type);
                const char *rel = genc_release(t);
                genc_p(g, " * @%s: output (%s; may be NULL to ignore it), written only on success",
                       genc_arg(g, a[i]->name), t->sig);
                if (rel)
                        genc_p(g, ";\n *       the caller owns it and releases it with %s", rel);
                if (t->kind == CT_BASIC && t->basic->kind == IDL_T_SHM) {
                        const IdlAnnot *max = idl_meta_find_annot(&a[i]->meta, IDL_A_MAX_SIZE);
                        if (max)
                                genc_p(g, ";\n *       over @max_size(\"%s\"): -EFBIG, InvalidArgs", max->value);
                        else
                                genc_p(g, ";\n *       over busrpc_conn_get_max_shm_size() bytes: -EFBIG, InvalidArgs");
                }
                genc_p(g, ".\n");
        }
}

static void doc_inputs(GenC *g, const IdlDecl *d, IdlField **a, size_t n) {
        for (size_t i = 0; i < n; i++)
                genc_p(g, " * @%s: input (%s), borrowed.\n", genc_arg(g, a[i]->name), ty(g, d, a[i]->type)->sig);
}

static void doc_borrowed(GenC *g, const IdlDecl *d, IdlField **a, size_t n) {
        for (size_t i = 0; i < n; i++) {
                const CType *t = ty(g, d, a[i]->type);
                genc_p(g, " * @%s: (%s) borrowed until the callback returns", genc_arg(g, a[i]->name), t->sig);
                if (t->kind == CT_BASIC && (t->basic->kind == IDL_T_VARIANT || t->basic->kind == IDL_T_SHM))
                        genc_p(g, "; take a reference to keep it");
                else if (t->kind == CT_BASIC && t->basic->kind == IDL_T_FD)
                        genc_p(g, "; dup() it to keep it");
                else if (t->owns)
                        genc_p(g, "; copy what you keep");
                genc_p(g, ".\n");
        }
}

/* printf format: the name of the error parameter. */
static const char ret_doc[] =
        " * Return: 0; -EREMOTEIO when the service replied with an error (in @%s);\n"
        " * -ETIMEDOUT, -ECONNRESET, -EBADMSG (a malformed reply), -EINVAL (an invalid\n"
        " * input: a string that is not UTF-8, an invalid object path...), -ENOMEM.\n";

static void header_method(GenC *g, const IdlDecl *d, const IdlMember *m) {
        const char *p = genc_own(g, m, "p"), *err = genc_own(g, m, "err"), *cb = genc_own(g, m, "cb");

        genc_p(g, "/**\n * %s_%s() - call %s%s.\n", d->c_name, m->c_name, m->name,
               m->noreply ? " without waiting (@noreply: no reply comes back)" : " and wait for the reply");
        if (m->meta.doc) {
                genc_p(g, " *\n");
                genc_emit_doc_lines(g, m->meta.doc);
        }
        if (m->deprecated)
                genc_p(g, " *\n * Deprecated.\n");
        genc_p(g, " *\n * @%s: the proxy. The timeout is the proxy's; busrpc_proxy_set_next_timeout()\n"
                  " *     changes it for the next call only.\n", p);
        doc_inputs(g, d, m->in, m->n_in);
        if (!m->noreply)
                doc_outputs(g, d, m->out, m->n_out);
        genc_p(g, " * @%s: the error on failure (may be NULL); release with busrpc_error_clear().\n", err);
        doc_raises(g, d, m);
        genc_p(g, " *\n");
        if (m->noreply)
                genc_p(g, " * Return: 0 once queued for sending, or a negative errno.\n");
        else
                genc_p(g, ret_doc, err);
        genc_p(g, " */\n");
        genc_sig_sync(g, d, m);
        genc_p(g, ";\n\n");
        if (m->noreply)
                return;

        genc_p(g, "/**\n * %s_%s_done - completion of %s_%s_async(); runs exactly once, from the loop.\n",
               d->c_name, m->c_name, d->c_name, m->c_name);
        genc_p(g, " * @%s: 0, or a negative errno as for %s_%s() (-ECANCELED after\n"
                  " *     busrpc_pending_cancel()).\n", genc_done_status(m), d->c_name, m->c_name);
        genc_p(g, " * @%s: NULL on success; else the error (borrowed).\n", err);
        doc_borrowed(g, d, m->out, m->n_out);
        genc_p(g, " * Outputs are empty (0, NULL, -1) on failure.\n */\n");
        genc_sig_done_typedef(g, d, m);
        genc_p(g, ";\n\n");
        genc_p(g, "/**\n * %s_%s_async() - call %s; @%s runs with the outputs when the reply comes.\n",
               d->c_name, m->c_name, m->name, cb);
        genc_p(g, " * Inputs are borrowed (copied into the message before this returns).\n"
                  " * @%s: may be NULL (the reply is then dropped).\n"
                  " * @%s: may be NULL; else a handle for busrpc_pending_cancel() (the callback\n"
                  " *       still runs once), valid until the callback ran; busrpc_pending_unref() it.\n"
                  " * Return: 0 (@%s will run), or a negative errno (@%s will not run).\n */\n",
               cb, genc_own(g, m, "out"), cb, cb);
        genc_sig_async(g, d, m);
        genc_p(g, ";\n\n");
}

static void header_property(GenC *g, const IdlDecl *d, const IdlMember *m) {
        const CType *t = ty(g, d, m->type);
        const char *rel = genc_release(t);

        if (genc_prop_readable(m)) {
                genc_p(g, "/**\n * %s_get_%s() - read property %s (%s).\n", d->c_name, m->c_name, m->name, t->sig);
                if (m->meta.doc) {
                        genc_p(g, " *\n");
                        genc_emit_doc_lines(g, m->meta.doc);
                }
                genc_p(g, " * @%s: the value (may be NULL), written only on success", m->c_name);
                if (rel)
                        genc_p(g, "; the caller releases\n *       it with %s", rel);
                genc_p(g, ".\n *\n");
                genc_p(g, ret_doc, genc_own(g, m, "err"));
                genc_p(g, " */\n");
                genc_sig_get(g, d, m);
                genc_p(g, ";\n\n");
        }
        if (genc_prop_writable(m)) {
                genc_p(g, "/**\n * %s_set_%s() - write property %s (%s); @%s is borrowed.\n *\n",
                       d->c_name, m->c_name, m->name, t->sig, m->c_name);
                genc_p(g, ret_doc, genc_own(g, m, "err"));
                genc_p(g, " */\n");
                genc_sig_set(g, d, m);
                genc_p(g, ";\n\n");
        }
}

/* The member of X_properties that says which properties the reply held:
 * "has", or "busrpc_has" when a readable property is named has. */
static const char *has_name(const IdlDecl *d) {
        for (size_t i = 0; i < d->n_members; i++)
                if (genc_prop_readable(d->members[i]) && strcmp(d->members[i]->c_name, "has") == 0)
                        return "busrpc_has";
        return "has";
}

static void header_properties_struct(GenC *g, const IdlDecl *d) {
        const char *has = has_name(d);

        genc_p(g, "/**\n * %s_properties - the readable properties of %s, as %s_get_all()\n"
                  " * reads them. %s.X tells whether the reply held X; the others are empty.\n"
                  " * Release with %s_properties_clear().\n */\n",
               d->c_name, d->name, d->c_name, has, d->c_name);
        genc_p(g, "typedef struct %s_properties {\n", d->c_name);
        for (size_t i = 0; i < d->n_members; i++) {
                const IdlMember *m = d->members[i];
                char *decl;
                if (!genc_prop_readable(m))
                        continue;
                decl = genc_decl(genc_value(ty(g, d, m->type)), m->c_name);
                genc_p(g, "        %s;\n", decl);
                free(decl);
        }
        genc_p(g, "        struct {\n");
        for (size_t i = 0; i < d->n_members; i++)
                if (genc_prop_readable(d->members[i]))
                        genc_p(g, "                bool %s;\n", d->members[i]->c_name);
        genc_p(g, "        } %s;\n} %s_properties;\n\n", has, d->c_name);

        genc_p(g, "static inline void %s_properties_clear(%s_properties *v) {\n", d->c_name, d->c_name);
        genc_p(g, "        if (!v)\n                return;\n");
        for (size_t i = 0; i < d->n_members; i++) {
                const IdlMember *m = d->members[i];
                const CType *t;
                char *lv;
                if (!genc_prop_readable(m) || !(t = ty(g, d, m->type))->owns)
                        continue;
                lv = idl_xasprintf("v->%s", m->c_name);
                genc_p(g, "        if (v->%s.%s) {\n", has, m->c_name);
                genc_clear_stmt(g, t, lv, 2);
                genc_p(g, "        }\n");
                free(lv);
        }
        genc_p(g, "        memset(v, 0, sizeof(*v));\n}\n\n");
        genc_p(g, "/**\n * %s_get_all() - read every property at once (Properties.GetAll).\n"
                  " * @ret: written only on success; release with %s_properties_clear().\n"
                  " * Unknown properties in the reply are ignored; a known one of the wrong type\n"
                  " * is -EBADMSG (InvalidArgs in @err).\n *\n",
               d->c_name, d->c_name);
        genc_p(g, ret_doc, "err");
        genc_p(g, " */\n");
        genc_sig_get_all(g, d);
        genc_p(g, ";\n\n");
}

static void header_signal(GenC *g, const IdlDecl *d, const IdlMember *m) {
        genc_p(g, "/**\n * %s_%s_handler - receives signal %s.\n", d->c_name, m->c_name, m->name);
        if (m->meta.doc) {
                genc_p(g, " *\n");
                genc_emit_doc_lines(g, m->meta.doc);
        }
        doc_borrowed(g, d, m->in, m->n_in);
        genc_p(g, " * A signal whose arguments are invalid (an unknown enum value...) is dropped.\n */\n");
        genc_sig_handler_typedef(g, d, m);
        genc_p(g, ";\n\n");
        genc_p(g, "/**\n * %s_on_%s() - call @cb for every %s signal of the proxy's object (only from\n"
                  " * the current owner of its destination).\n"
                  " * @out: may be NULL (the subscription then lasts as long as the connection);\n"
                  " *       else busrpc_subscription_free() ends it.\n"
                  " * Return: 0 or a negative errno.\n */\n",
               d->c_name, m->c_name, m->name);
        genc_sig_on(g, d, m);
        genc_p(g, ";\n\n");
}

void genc_header_client(GenC *g, const IdlDecl *d) {
        genc_p(g, "/* ---- %s: client ---- */\n\n", d->name);
        genc_p(g, "/**\n * %s_proxy_new() - a proxy for the %s object at @path of\n"
                  " * @destination (a bus name; NULL on a peer connection); same as\n"
                  " * busrpc_proxy_new(). Release with busrpc_proxy_unref().\n */\n",
               d->c_name, d->name);
        genc_sig_proxy_new(g, d);
        genc_p(g, ";\n\n");
        for (size_t i = 0; i < d->n_members; i++) {
                const IdlMember *m = d->members[i];
                if (m->kind == IDL_M_METHOD)
                        header_method(g, d, m);
        }
        for (size_t i = 0; i < d->n_members; i++)
                if (d->members[i]->kind == IDL_M_PROPERTY)
                        header_property(g, d, d->members[i]);
        if (genc_has_readable(d))
                header_properties_struct(g, d);
        for (size_t i = 0; i < d->n_members; i++)
                if (d->members[i]->kind == IDL_M_SIGNAL)
                        header_signal(g, d, d->members[i]);
}

/* ---- the stubs ---- */

/* "busrpc_out_<name>" locals for outputs, declared and emptied. */
static void out_locals(GenC *g, const IdlDecl *d, IdlField **a, size_t n, const char *prefix) {
        for (size_t i = 0; i < n; i++) {
                const CType *t = ty(g, d, a[i]->type);
                char *name = idl_xasprintf("%s%s", prefix, a[i]->name), *decl = genc_decl(genc_value(t), name);
                if (genc_zero(t))
                        genc_p(g, "        %s = %s;\n", decl, genc_zero(t));
                else
                        genc_p(g, "        %s;\n", decl);
                free(name);
                free(decl);
        }
}

static void init_aggregates(GenC *g, const IdlDecl *d, IdlField **a, size_t n, const char *prefix, int indent) {
        for (size_t i = 0; i < n; i++) {
                const CType *t = ty(g, d, a[i]->type);
                char *name;
                if (!genc_by_ptr(t))
                        continue;
                name = idl_xasprintf("%s%s", prefix, a[i]->name);
                genc_init_stmt(g, t, name, indent);
                free(name);
        }
}

static void clear_all(GenC *g, const IdlDecl *d, IdlField **a, size_t n, const char *prefix, int indent) {
        for (size_t i = 0; i < n; i++) {
                char *name = idl_xasprintf("%s%s", prefix, a[i]->name);
                genc_clear_stmt(g, ty(g, d, a[i]->type), name, indent);
                free(name);
        }
}

/* Append the inputs named by their parameters: "if (r >= 0) r = ...;". */
static void append_inputs(GenC *g, const IdlDecl *d, IdlField **a, size_t n, const char *r, const char *it) {
        for (size_t i = 0; i < n; i++) {
                CType *t = ty(g, d, a[i]->type);
                char *s = genc_append(g, t, it, genc_arg(g, a[i]->name), genc_by_ptr(t));
                genc_p(g, "        if (%s >= 0)\n                %s = %s;\n", r, r, s);
                free(s);
        }
}

/* Read outputs into prefix<name>: "if (r >= 0) r = ...;". */
static void read_outputs(GenC *g, const IdlDecl *d, IdlField **a, size_t n, const char *prefix, const char *r,
                         const char *it, const char *err, int indent) {
        for (size_t i = 0; i < n; i++) {
                char *dest = idl_xasprintf("&%s%s", prefix, a[i]->name);
                char *s = genc_read_meta(g, ty(g, d, a[i]->type), &a[i]->meta, it, dest, err);
                for (int k = 0; k < indent; k++)
                        genc_p(g, "        ");
                genc_p(g, "if (%s >= 0)\n", r);
                for (int k = 0; k < indent + 1; k++)
                        genc_p(g, "        ");
                genc_p(g, "%s = %s;\n", r, s);
                free(dest);
                free(s);
        }
}

static void begin_call(GenC *g, const IdlDecl *d, const IdlMember *m) {
        char *mac = genc_iface_macro(d);
        genc_p(g, "        busrpc_r = busrpc_proxy_method_new(busrpc_p, %s, \"%s\", &busrpc_m);\n", mac, m->name);
        genc_p(g, "        if (busrpc_r >= 0)\n                busrpc_r = busrpc_msg_append(busrpc_m, &busrpc_it);\n");
        append_inputs(g, d, m->in, m->n_in, "busrpc_r", "&busrpc_it");
        free(mac);
}

static void stub_sync(GenC *g, const IdlDecl *d, const IdlMember *m) {
        genc_sig_sync(g, d, m);
        genc_p(g, " {\n        busrpc_msg *busrpc_m = NULL%s;\n        busrpc_iter busrpc_it;\n",
               m->noreply ? "" : ", *busrpc_reply = NULL");
        if (!m->noreply)
                out_locals(g, d, m->out, m->n_out, "busrpc_out_");
        genc_p(g, "        int busrpc_r;\n\n");
        if (!m->noreply)
                init_aggregates(g, d, m->out, m->n_out, "busrpc_out_", 1);
        begin_call(g, d, m);
        genc_p(g, "        if (busrpc_r < 0) {\n                busrpc_msg_unref(busrpc_m);\n"
                  "                return busrpc_error_set_errno(busrpc_err, busrpc_r);\n        }\n");
        if (m->noreply) {
                genc_p(g, "        busrpc_r = busrpc_proxy_send(busrpc_p, busrpc_m);\n");
                genc_p(g, "        return busrpc_r < 0 ? busrpc_error_set_errno(busrpc_err, busrpc_r) : 0;\n}\n\n");
                return;
        }
        genc_p(g, "        busrpc_r = busrpc_proxy_call(busrpc_p, busrpc_m, \"%s\", &busrpc_reply, busrpc_err);\n",
               m->out_sig ? m->out_sig : "");
        genc_p(g, "        if (busrpc_r < 0)\n                return busrpc_r;\n");
        if (m->n_out) {
                genc_p(g, "        busrpc_r = busrpc_msg_read(busrpc_reply, &busrpc_it);\n");
                read_outputs(g, d, m->out, m->n_out, "busrpc_out_", "busrpc_r", "&busrpc_it", "busrpc_err", 1);
        }
        genc_p(g, "        busrpc_msg_unref(busrpc_reply);\n");
        if (m->n_out) {
                genc_p(g, "        if (busrpc_r < 0) {\n");
                clear_all(g, d, m->out, m->n_out, "busrpc_out_", 2);
                genc_p(g, "                return busrpc_error_set_errno(busrpc_err, busrpc_r);\n        }\n");
        }
        for (size_t i = 0; i < m->n_out; i++) {
                const char *n = m->out[i]->name;
                const CType *t = ty(g, d, m->out[i]->type);
                char *lv = idl_xasprintf("busrpc_out_%s", n);
                genc_p(g, "        if (%s)\n                *%s = busrpc_out_%s;\n", genc_arg(g, n), genc_arg(g, n), n);
                if (t->owns) {
                        genc_p(g, "        else {\n");
                        genc_clear_stmt(g, t, lv, 2);
                        genc_p(g, "        }\n");
                }
                free(lv);
        }
        genc_p(g, "        return 0;\n}\n\n");
}

static void stub_async(GenC *g, const IdlDecl *d, const IdlMember *m) {
        g->helpers |= GEN_H_ASYNC;
        /* The trampoline: reads the outputs and calls the user's callback. */
        genc_p(g, "static void busrpc__%s_%s_done(busrpc_msg *reply, int r, const busrpc_error *err, void *userdata) {\n",
               d->c_name, m->c_name);
        genc_p(g, "        busrpc__closure *a = userdata;\n");
        genc_p(g, "        %s_%s_done cb = (%s_%s_done)a->cb;\n", d->c_name, m->c_name, d->c_name, m->c_name);
        genc_p(g, "        busrpc_error e = BUSRPC_ERROR_INIT;\n");
        if (m->n_out)
                genc_p(g, "        busrpc_iter it;\n");
        out_locals(g, d, m->out, m->n_out, "out_");
        genc_p(g, "\n");
        init_aggregates(g, d, m->out, m->n_out, "out_", 1);
        if (m->n_out) {
                genc_p(g, "        if (r >= 0) {\n                r = busrpc_msg_read(reply, &it);\n");
                read_outputs(g, d, m->out, m->n_out, "out_", "r", "&it", "&e", 2);
                genc_p(g, "                if (r < 0) {\n");
                clear_all(g, d, m->out, m->n_out, "out_", 3);
                for (size_t i = 0; i < m->n_out; i++) {
                        char *lv = idl_xasprintf("out_%s", m->out[i]->name);
                        genc_init_stmt(g, ty(g, d, m->out[i]->type), lv, 3);
                        free(lv);
                }
                genc_p(g, "                }\n        }\n");
        } else {
                genc_p(g, "        (void)reply;\n");
        }
        genc_p(g, "        if (r >= 0)\n                err = NULL;\n");
        genc_p(g, "        else if (!err || !busrpc_error_is_set(err)) {\n"
                  "                busrpc_error_set_errno(&e, r);\n                err = &e;\n        }\n");
        genc_p(g, "        if (cb)\n                cb(r, err");
        for (size_t i = 0; i < m->n_out; i++)
                genc_p(g, ", %sout_%s", genc_by_ptr(ty(g, d, m->out[i]->type)) ? "&" : "", m->out[i]->name);
        genc_p(g, ", a->userdata);\n");
        clear_all(g, d, m->out, m->n_out, "out_", 1);
        genc_p(g, "        busrpc_error_clear(&e);\n        free(a);\n}\n\n");

        genc_sig_async(g, d, m);
        genc_p(g, " {\n        busrpc_msg *busrpc_m = NULL;\n        busrpc_iter busrpc_it;\n"
                  "        busrpc__closure *busrpc_a;\n        int busrpc_r;\n\n");
        genc_p(g, "        busrpc_a = malloc(sizeof(*busrpc_a));\n        if (!busrpc_a)\n                return -ENOMEM;\n");
        genc_p(g, "        busrpc_a->cb = (void (*)(void))busrpc_cb;\n        busrpc_a->userdata = busrpc_userdata;\n");
        begin_call(g, d, m);
        genc_p(g, "        if (busrpc_r < 0) {\n                busrpc_msg_unref(busrpc_m);\n"
                  "                free(busrpc_a);\n                return busrpc_r;\n        }\n");
        genc_p(g, "        busrpc_r = busrpc_proxy_call_async(busrpc_p, busrpc_m, \"%s\", busrpc__%s_%s_done, busrpc_a, busrpc_out);\n",
               m->out_sig ? m->out_sig : "", d->c_name, m->c_name);
        genc_p(g, "        if (busrpc_r < 0)\n                free(busrpc_a);\n        return busrpc_r;\n}\n\n");
}

static void stub_get(GenC *g, const IdlDecl *d, const IdlMember *m) {
        CType *t = ty(g, d, m->type);
        char *mac = genc_iface_macro(d), *decl = genc_decl(genc_value(t), "busrpc_v");
        char *s = genc_read_meta(g, t, &m->meta, "&busrpc_it", "&busrpc_v", "busrpc_err");

        genc_sig_get(g, d, m);
        genc_p(g, " {\n        busrpc_msg *busrpc_reply = NULL;\n        busrpc_iter busrpc_it;\n");
        if (genc_zero(t))
                genc_p(g, "        %s = %s;\n", decl, genc_zero(t));
        else
                genc_p(g, "        %s;\n", decl);
        genc_p(g, "        int busrpc_r;\n\n");
        if (genc_by_ptr(t))
                genc_init_stmt(g, t, "busrpc_v", 1);
        genc_p(g, "        busrpc_r = busrpc_proxy_get_property(busrpc_p, %s, \"%s\", \"%s\", &busrpc_reply, &busrpc_it, busrpc_err);\n",
               mac, m->name, t->sig);
        genc_p(g, "        if (busrpc_r < 0)\n                return busrpc_r;\n");
        genc_p(g, "        busrpc_r = %s;\n        busrpc_msg_unref(busrpc_reply);\n", s);
        genc_p(g, "        if (busrpc_r < 0) {\n");
        genc_clear_stmt(g, t, "busrpc_v", 2);
        genc_p(g, "                return busrpc_error_set_errno(busrpc_err, busrpc_r);\n        }\n");
        genc_p(g, "        if (%s)\n                *%s = busrpc_v;\n", genc_arg(g, m->c_name), genc_arg(g, m->c_name));
        if (t->owns) {
                genc_p(g, "        else {\n");
                genc_clear_stmt(g, t, "busrpc_v", 2);
                genc_p(g, "        }\n");
        }
        genc_p(g, "        return 0;\n}\n\n");
        free(mac);
        free(decl);
        free(s);
}

static void stub_set(GenC *g, const IdlDecl *d, const IdlMember *m) {
        CType *t = ty(g, d, m->type);
        char *mac = genc_iface_macro(d);
        char *s = genc_append(g, t, "&busrpc_it", genc_arg(g, m->c_name), genc_by_ptr(t));

        genc_sig_set(g, d, m);
        genc_p(g, " {\n        busrpc_msg *busrpc_m = NULL;\n        busrpc_iter busrpc_it;\n        int busrpc_r;\n\n");
        genc_p(g, "        busrpc_r = busrpc_proxy_set_property_begin(busrpc_p, %s, \"%s\", \"%s\", &busrpc_m, &busrpc_it);\n",
               mac, m->name, t->sig);
        genc_p(g, "        if (busrpc_r >= 0)\n                busrpc_r = %s;\n", s);
        genc_p(g, "        if (busrpc_r < 0) {\n                busrpc_msg_unref(busrpc_m);\n"
                  "                return busrpc_error_set_errno(busrpc_err, busrpc_r);\n        }\n");
        genc_p(g, "        return busrpc_proxy_set_property_finish(busrpc_p, busrpc_m, &busrpc_it, busrpc_err);\n}\n\n");
        free(mac);
        free(s);
}

static void stub_get_all(GenC *g, const IdlDecl *d) {
        char *mac = genc_iface_macro(d);
        const char *has = has_name(d);
        bool first = true;

        g->helpers |= GEN_H_ENTER_VARIANT;
        genc_sig_get_all(g, d);
        genc_p(g, " {\n        busrpc_msg *busrpc_reply = NULL;\n"
                  "        busrpc_iter busrpc_it, busrpc_dict, busrpc_entry, busrpc_value;\n"
                  "        %s_properties busrpc_v;\n        const char *busrpc_key;\n        int busrpc_r;\n\n",
               d->c_name);
        genc_p(g, "        memset(&busrpc_v, 0, sizeof(busrpc_v));\n");
        genc_p(g, "        busrpc_r = busrpc_proxy_get_all(p, %s, &busrpc_reply, err);\n", mac);
        genc_p(g, "        if (busrpc_r < 0)\n                return busrpc_r;\n");
        genc_p(g, "        busrpc_r = busrpc_msg_read(busrpc_reply, &busrpc_it);\n");
        genc_p(g, "        if (busrpc_r >= 0)\n                busrpc_r = busrpc_iter_recurse(&busrpc_it, &busrpc_dict);\n");
        genc_p(g, "        while (busrpc_r >= 0 && busrpc_iter_type(&busrpc_dict) != BUSRPC_TYPE_INVALID) {\n");
        genc_p(g, "                busrpc_r = busrpc_iter_recurse(&busrpc_dict, &busrpc_entry);\n");
        genc_p(g, "                if (busrpc_r >= 0)\n                        busrpc_r = busrpc_iter_get_basic(&busrpc_entry, BUSRPC_TYPE_STRING, &busrpc_key);\n");
        genc_p(g, "                if (busrpc_r < 0)\n                        break;\n");
        for (size_t i = 0; i < d->n_members; i++) {
                const IdlMember *m = d->members[i];
                CType *t;
                char *lv, *dest, *s;
                if (!genc_prop_readable(m))
                        continue;
                t = ty(g, d, m->type);
                lv = idl_xasprintf("busrpc_v.%s", m->c_name);
                dest = idl_xasprintf("&busrpc_v.%s", m->c_name);
                s = genc_read_meta(g, t, &m->meta, "&busrpc_value", dest, "err");
                genc_p(g, "                %sif (strcmp(busrpc_key, \"%s\") == 0 && !busrpc_v.%s.%s) {\n",
                       first ? "" : "else ", m->name, has, m->c_name);
                genc_p(g, "                        busrpc_r = busrpc__enter_variant(&busrpc_entry, \"%s\", \"%s\", &busrpc_value, err);\n",
                       t->sig, m->name);
                genc_p(g, "                        if (busrpc_r < 0)\n                                break;\n");
                genc_init_stmt(g, t, lv, 3);
                genc_p(g, "                        busrpc_v.%s.%s = true;\n", has, m->c_name);
                genc_p(g, "                        busrpc_r = %s;\n                }\n", s);
                first = false;
                free(lv);
                free(dest);
                free(s);
        }
        genc_p(g, "        }\n        busrpc_msg_unref(busrpc_reply);\n");
        genc_p(g, "        if (busrpc_r < 0) {\n                %s_properties_clear(&busrpc_v);\n"
                  "                return busrpc_error_set_errno(err, busrpc_r);\n        }\n",
               d->c_name);
        genc_p(g, "        *ret = busrpc_v;\n        return 0;\n}\n\n");
        free(mac);
}

static void stub_signal(GenC *g, const IdlDecl *d, const IdlMember *m) {
        char *mac = genc_iface_macro(d);

        g->helpers |= GEN_H_ASYNC;
        genc_p(g, "static void busrpc__%s_%s(busrpc_msg *m, busrpc_iter *args, void *userdata) {\n", d->c_name,
               m->c_name);
        genc_p(g, "        busrpc__closure *c = userdata;\n");
        genc_p(g, "        %s_%s_handler cb = (%s_%s_handler)c->cb;\n", d->c_name, m->c_name, d->c_name, m->c_name);
        genc_p(g, "        busrpc_error e = BUSRPC_ERROR_INIT;\n");
        out_locals(g, d, m->in, m->n_in, "in_");
        genc_p(g, "        int r = 0;\n\n        (void)m;\n");
        if (!m->n_in)
                genc_p(g, "        (void)args;\n");
        init_aggregates(g, d, m->in, m->n_in, "in_", 1);
        read_outputs(g, d, m->in, m->n_in, "in_", "r", "args", "&e", 1);
        genc_p(g, "        if (r >= 0)\n                cb(");
        for (size_t i = 0; i < m->n_in; i++)
                genc_p(g, "%sin_%s, ", genc_by_ptr(ty(g, d, m->in[i]->type)) ? "&" : "", m->in[i]->name);
        genc_p(g, "c->userdata);\n");
        clear_all(g, d, m->in, m->n_in, "in_", 1);
        genc_p(g, "        busrpc_error_clear(&e);\n}\n\n");

        genc_sig_on(g, d, m);
        genc_p(g, " {\n        busrpc__closure *busrpc_c;\n        int busrpc_r;\n\n");
        genc_p(g, "        if (!cb)\n                return -EINVAL;\n");
        genc_p(g, "        busrpc_c = malloc(sizeof(*busrpc_c));\n        if (!busrpc_c)\n                return -ENOMEM;\n");
        genc_p(g, "        busrpc_c->cb = (void (*)(void))cb;\n        busrpc_c->userdata = userdata;\n");
        /* The closure must be freed when the subscription ends, which needs
         * a destroy notification from libbusrpc (requested; see
         * docs/generated-api.md, "Known limits"). */
        genc_p(g, "#ifdef BUSRPC_HAVE_SUBSCRIBE_FULL\n");
        genc_p(g, "        busrpc_r = busrpc_proxy_subscribe_full(p, %s, \"%s\", \"%s\", busrpc__%s_%s, busrpc_c, free, out);\n",
               mac, m->name, m->in_sig ? m->in_sig : "", d->c_name, m->c_name);
        genc_p(g, "#else\n        /* This libbusrpc cannot free the closure when the subscription ends. */\n");
        genc_p(g, "        busrpc_r = busrpc_proxy_subscribe(p, %s, \"%s\", \"%s\", busrpc__%s_%s, busrpc_c, out);\n",
               mac, m->name, m->in_sig ? m->in_sig : "", d->c_name, m->c_name);
        genc_p(g, "#endif\n");
        genc_p(g, "        if (busrpc_r < 0)\n                free(busrpc_c);\n        return busrpc_r;\n}\n\n");
        free(mac);
}

int idl_gen_client(const IdlUnit *u, FILE *out) {
        GenC g;
        char *body;

        if (!u || u->n_files == 0 || !out)
                return -EINVAL;
        genc_init(&g, u, out);
        g.def = true;
        if (genc_capture_begin(&g) < 0) {
                genc_free(&g);
                return -ENOMEM;
        }
        for (size_t i = 0; i < g.main->n_decls; i++) {
                const IdlDecl *d = g.main->decls[i];
                if (d->kind != IDL_D_INTERFACE)
                        continue;
                genc_p(&g, "/* ==== %s ==== */\n\n", d->name);
                genc_sig_proxy_new(&g, d);
                genc_p(&g, " {\n        return busrpc_proxy_new(c, destination, path, ret);\n}\n\n");
                for (size_t j = 0; j < d->n_members; j++) {
                        const IdlMember *m = d->members[j];
                        if (m->kind != IDL_M_METHOD)
                                continue;
                        stub_sync(&g, d, m);
                        if (!m->noreply)
                                stub_async(&g, d, m);
                }
                for (size_t j = 0; j < d->n_members; j++) {
                        const IdlMember *m = d->members[j];
                        if (genc_prop_readable(m))
                                stub_get(&g, d, m);
                        if (genc_prop_writable(m))
                                stub_set(&g, d, m);
                }
                if (genc_has_readable(d))
                        stub_get_all(&g, d);
                for (size_t j = 0; j < d->n_members; j++)
                        if (d->members[j]->kind == IDL_M_SIGNAL)
                                stub_signal(&g, d, d->members[j]);
        }
        body = genc_capture_end(&g);
        if (!body) {
                genc_free(&g);
                return -ENOMEM;
        }
        genc_c_preamble(&g, "client stubs");
        genc_emit_helpers(&g);
        fputs(body, out);
        free(body);
        genc_free(&g);
        return ferror(out) ? -EIO : 0;
}
