/* gen-server.c: <module>-server.c, the skeletons, ops table and
 * introspection data, and the server part of each interface's section in
 * <module>.h.
 *
 * A skeleton (busrpc_method_fn) runs after libbusrpc checked the call's
 * signature: it reads the inputs (enums and flags are checked; a bad value
 * is InvalidArgs), calls the op, replies with the outputs through the same
 * X_reply() function a deferred op uses, and frees everything it read and
 * everything the op handed over, whatever the op returned.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "gen-c.h"
#include "gen.h"

static CType *ty(GenC *g, const IdlDecl *d, const IdlType *t) {
        return genc_type(g, t, d->file);
}

/* A top-level string input is lent straight from the message. */
static bool lent_string(const CType *t) {
        return t->kind == CT_BASIC && (t->basic->kind == IDL_T_STRING || t->basic->kind == IDL_T_OBJPATH ||
                                       t->basic->kind == IDL_T_SIGNATURE);
}

static bool has_ops(const IdlDecl *d) {
        for (size_t i = 0; i < d->n_members; i++)
                if (d->members[i]->kind == IDL_M_METHOD || d->members[i]->kind == IDL_M_PROPERTY)
                        return true;
        return false;
}

/* ---- the header part ---- */

static void header_ops(GenC *g, const IdlDecl *d) {
        genc_p(g, "/**\n * %s_ops - the implementation of %s, one op per method and\n"
                  " * property accessor; a NULL op answers UnknownMethod (methods) or an error\n"
                  " * (properties). @self is the pointer given to %s_export().\n"
                  " *\n"
                  " * A method op returns 0 (the skeleton replies with the outputs), BUSRPC_DEFER\n"
                  " * (it kept @call with busrpc_call_ref() and replies later with the\n"
                  " * method's _reply() function or busrpc_call_fail()), or a negative errno\n"
                  " * (the reply is the error it set with busrpc_call_fail() or an\n"
                  " * %s_error_*() function, else org.freedesktop.DBus.Error.Failed).\n"
                  " * Inputs are borrowed until the op returns (take a reference on a variant or\n"
                  " * shm, dup() an fd, copy a string to keep it). Outputs start empty (0, NULL,\n"
                  " * -1); what the op stores is handed over: malloc()ed strings, references,\n"
                  " * fds, values whose _clear() releases them. The skeleton releases them after\n"
                  " * replying, whatever the op returned.\n"
                  " * Property ops get @err for a D-Bus error to return (busrpc_error_set()).\n */\n",
               d->c_name, d->name, d->c_name, d->c_name);
        genc_p(g, "typedef struct %s_ops {\n", d->c_name);
        for (size_t i = 0; i < d->n_members; i++) {
                const IdlMember *m = d->members[i];
                if (m->kind == IDL_M_METHOD) {
                        genc_p(g, "        /* %s%s */\n        ", m->name,
                               m->noreply ? " (@noreply: return 0; no reply is sent)" : "");
                        genc_sig_op(g, d, m);
                        genc_p(g, ";\n");
                }
        }
        for (size_t i = 0; i < d->n_members; i++) {
                const IdlMember *m = d->members[i];
                if (genc_prop_readable(m)) {
                        genc_p(g, "        /* property %s */\n        ", m->name);
                        genc_sig_op_get(g, d, m);
                        genc_p(g, ";\n");
                }
                if (genc_prop_writable(m)) {
                        genc_p(g, "        /* property %s: the new value */\n        ", m->name);
                        genc_sig_op_set(g, d, m);
                        genc_p(g, ";\n");
                }
        }
        if (!has_ops(d))
                genc_p(g, "        void *busrpc_unused; /* no methods or properties: ISO C wants a member */\n");
        genc_p(g, "} %s_ops;\n\n", d->c_name);
}

void genc_header_server(GenC *g, const IdlDecl *d) {
        genc_p(g, "/* ---- %s: server ---- */\n\n", d->name);
        header_ops(g, d);
        genc_p(g, "/* The description busrpc_object_export() takes; %s_export() passes it. */\n"
                  "extern const busrpc_interface_desc %s_interface;\n\n",
               d->c_name, d->c_name);
        genc_p(g, "/**\n * %s_export() - serve @ops at @path on @c: a bus connection, or\n"
                  " * busrpc_server_conn(server) to serve every peer of a peer-to-peer server.\n"
                  " * @ops, @self: borrowed; they must outlive the object.\n"
                  " * @out: may be NULL (the object lives as long as the connection); else\n"
                  " *       busrpc_object_unexport() removes it.\n"
                  " * Return: 0, -EEXIST (already exported at @path), -EINVAL, -ENOMEM.\n */\n",
               d->c_name);
        genc_sig_export(g, d);
        genc_p(g, ";\n\n");
        for (size_t i = 0; i < d->n_members; i++) {
                const IdlMember *m = d->members[i];
                if (m->kind != IDL_M_METHOD || m->noreply)
                        continue;
                genc_p(g, "/**\n * %s_%s_reply() - reply to a %s call that its op deferred; the\n"
                          " * outputs are borrowed. The caller still owns its reference on @%s.\n"
                          " * Return: 0, -EALREADY (already replied), -EINVAL (an invalid output),\n"
                          " * -ENOMEM, -ECONNRESET.\n */\n",
                       d->c_name, m->c_name, m->name, genc_own(g, m, "call"));
                genc_sig_reply(g, d, m);
                genc_p(g, ";\n\n");
        }
        for (size_t i = 0; i < d->n_members; i++) {
                const IdlMember *m = d->members[i];
                if (m->kind != IDL_M_SIGNAL)
                        continue;
                genc_p(g, "/**\n * %s_emit_%s() - emit signal %s from @%s; the arguments are borrowed.\n",
                       d->c_name, m->c_name, m->name, genc_own(g, m, "o"));
                if (m->meta.doc) {
                        genc_p(g, " *\n");
                        genc_emit_doc_lines(g, m->meta.doc);
                }
                genc_p(g, " * Return: 0 or a negative errno.\n */\n");
                genc_sig_emit(g, d, m);
                genc_p(g, ";\n\n");
        }
        for (size_t i = 0; i < d->n_members; i++) {
                const IdlMember *m = d->members[i];
                if (!genc_prop_notifies(m))
                        continue;
                genc_p(g, "/* %s_notify_%s() - tell subscribers that %s changed: %s. */\n", d->c_name,
                       m->c_name, m->name,
                       m->access == IDL_ACCESS_WRITE     ? "a writeonly property sends nothing"
                       : m->emits == IDL_EMITS_INVALIDATES ? "PropertiesChanged naming it (invalidated)"
                       : m->emits == IDL_EMITS_TRUE        ? "PropertiesChanged with the value from the getter"
                                                           : "nothing is sent (@emits_changed const or false)");
                genc_sig_notify(g, d, m);
                genc_p(g, ";\n\n");
        }
        for (size_t i = 0; i < d->n_members; i++) {
                const IdlMember *m = d->members[i];
                char *e;
                if (m->kind != IDL_M_ERROR)
                        continue;
                e = genc_error_macro(d, m);
                genc_p(g, "/**\n * %s_error_%s() - reply to @call with error %s and a printf-style\n"
                          " * message. Return: -EREMOTEIO (so an op can `return` it), or -EALREADY.\n */\n",
                       d->c_name, m->c_name, e);
                genc_sig_error(g, d, m);
                genc_p(g, " BUSRPC_PRINTF(2, 3);\n\n");
                free(e);
        }
}

/* ---- skeletons ---- */

static void in_locals(GenC *g, const IdlDecl *d, const IdlMember *m) {
        for (size_t i = 0; i < m->n_in; i++) {
                const CType *t = ty(g, d, m->in[i]->type);
                char *name = idl_xasprintf("in_%s", m->in[i]->name);
                char *decl = genc_decl(lent_string(t) ? "const char *" : genc_value(t), name);
                if (genc_zero(t))
                        genc_p(g, "        %s = %s;\n", decl, genc_zero(t));
                else
                        genc_p(g, "        %s;\n", decl);
                free(name);
                free(decl);
        }
}

static void locals(GenC *g, const IdlDecl *d, IdlField **a, size_t n, const char *prefix) {
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

/* Empty (init) or release the in_ / out_ locals; input strings are lent by
 * the message and never freed. */
static void for_each(GenC *g, const IdlDecl *d, IdlField **a, size_t n, const char *prefix, bool init) {
        bool inputs = strcmp(prefix, "in_") == 0;

        for (size_t i = 0; i < n; i++) {
                const CType *t = ty(g, d, a[i]->type);
                char *name = idl_xasprintf("%s%s", prefix, a[i]->name);
                if (init && genc_by_ptr(t))
                        genc_init_stmt(g, t, name, 1);
                else if (!init && !(inputs && lent_string(t)))
                        genc_clear_stmt(g, t, name, 1);
                free(name);
        }
}

static void skeleton(GenC *g, const IdlDecl *d, const IdlMember *m) {
        genc_p(g, "static int busrpc__%s_%s(busrpc_call *call, busrpc_iter *args, const void *ops_p, void *self) {\n",
               d->c_name, m->c_name);
        genc_p(g, "        const %s_ops *ops = ops_p;\n        busrpc_error err = BUSRPC_ERROR_INIT;\n", d->c_name);
        in_locals(g, d, m);
        if (!m->noreply)
                locals(g, d, m->out, m->n_out, "out_");
        genc_p(g, "        int r = 0;\n\n");
        genc_p(g, "        if (!ops->%s)\n                return -EOPNOTSUPP;\n", m->c_name);
        for_each(g, d, m->in, m->n_in, "in_", true);
        if (!m->noreply)
                for_each(g, d, m->out, m->n_out, "out_", true);
        for (size_t i = 0; i < m->n_in; i++) {
                CType *t = ty(g, d, m->in[i]->type);
                char *dest = idl_xasprintf("&in_%s", m->in[i]->name);
                char *s = lent_string(t) ? idl_xasprintf("busrpc_iter_get_basic(args, %s, %s)",
                                                         genc_type_const(t->basic), dest)
                                         : genc_read_meta(g, t, &m->in[i]->meta, "args", dest, "&err");
                genc_p(g, "        if (r >= 0)\n                r = %s;\n", s);
                free(dest);
                free(s);
        }
        if (m->n_in == 0)
                genc_p(g, "        (void)args;\n");
        if (m->n_in) {
                g->helpers |= GEN_H_FAIL_ARGS;
                genc_p(g, "        if (r < 0) {\n                r = busrpc__fail_args(call, r, &err);\n"
                          "                goto out;\n        }\n");
        }
        genc_p(g, "        r = ops->%s(self, call", m->c_name);
        for (size_t i = 0; i < m->n_in; i++)
                genc_p(g, ", %sin_%s", genc_by_ptr(ty(g, d, m->in[i]->type)) ? "&" : "", m->in[i]->name);
        if (!m->noreply)
                for (size_t i = 0; i < m->n_out; i++)
                        genc_p(g, ", &out_%s", m->out[i]->name);
        genc_p(g, ");\n");
        if (m->noreply) {
                genc_p(g, "        if (r > 0)\n                r = 0;\n");
        } else {
                genc_p(g, "        if (r == BUSRPC_DEFER)\n                r = 0;\n");
                genc_p(g, "        else if (r >= 0)\n                r = %s_%s_reply(call", d->c_name, m->c_name);
                for (size_t i = 0; i < m->n_out; i++)
                        genc_p(g, ", %sout_%s", genc_by_ptr(ty(g, d, m->out[i]->type)) ? "&" : "", m->out[i]->name);
                genc_p(g, ");\n");
        }
        if (m->n_in)
                genc_p(g, "out:\n");
        for_each(g, d, m->in, m->n_in, "in_", false);
        if (!m->noreply)
                for_each(g, d, m->out, m->n_out, "out_", false);
        genc_p(g, "        busrpc_error_clear(&err);\n        return r;\n}\n\n");
}

static void reply_fn(GenC *g, const IdlDecl *d, const IdlMember *m) {
        genc_sig_reply(g, d, m);
        genc_p(g, " {\n        busrpc_msg *busrpc_m = NULL;\n        busrpc_iter busrpc_it;\n        int busrpc_r;\n\n");
        genc_p(g, "        busrpc_r = busrpc_call_reply_new(busrpc_req, &busrpc_m);\n");
        genc_p(g, "        if (busrpc_r >= 0)\n                busrpc_r = busrpc_msg_append(busrpc_m, &busrpc_it);\n");
        for (size_t i = 0; i < m->n_out; i++) {
                CType *t = ty(g, d, m->out[i]->type);
                char *s = genc_append(g, t, "&busrpc_it", genc_arg(g, m->out[i]->name), genc_by_ptr(t));
                genc_p(g, "        if (busrpc_r >= 0)\n                busrpc_r = %s;\n", s);
                free(s);
        }
        genc_p(g, "        if (busrpc_r < 0) {\n                busrpc_msg_unref(busrpc_m);\n                return busrpc_r;\n"
                  "        }\n        return busrpc_msg_send(busrpc_m);\n}\n\n");
}

static void prop_get(GenC *g, const IdlDecl *d, const IdlMember *m) {
        CType *t = ty(g, d, m->type);
        char *decl = genc_decl(genc_value(t), "v"), *s = genc_append(g, t, "value", "v", false);

        genc_p(g, "static int busrpc__%s_get_%s(busrpc_iter *value, const void *ops_p, void *self, busrpc_error *err) {\n",
               d->c_name, m->c_name);
        genc_p(g, "        const %s_ops *ops = ops_p;\n", d->c_name);
        if (genc_zero(t))
                genc_p(g, "        %s = %s;\n", decl, genc_zero(t));
        else
                genc_p(g, "        %s;\n", decl);
        genc_p(g, "        int r;\n\n        if (!ops->get_%s)\n                return -EOPNOTSUPP;\n", m->c_name);
        if (genc_by_ptr(t))
                genc_init_stmt(g, t, "v", 1);
        genc_p(g, "        r = ops->get_%s(self, &v, err);\n", m->c_name);
        genc_p(g, "        if (r >= 0)\n                r = %s;\n", s);
        genc_clear_stmt(g, t, "v", 1);
        genc_p(g, "        return r;\n}\n\n");
        free(decl);
        free(s);
}

static void prop_set(GenC *g, const IdlDecl *d, const IdlMember *m) {
        CType *t = ty(g, d, m->type);
        char *decl = genc_decl(genc_value(t), "v"), *s = genc_read_meta(g, t, &m->meta, "value", "&v", "err");

        genc_p(g, "static int busrpc__%s_set_%s(busrpc_iter *value, const void *ops_p, void *self, busrpc_error *err) {\n",
               d->c_name, m->c_name);
        genc_p(g, "        const %s_ops *ops = ops_p;\n", d->c_name);
        if (genc_zero(t))
                genc_p(g, "        %s = %s;\n", decl, genc_zero(t));
        else
                genc_p(g, "        %s;\n", decl);
        genc_p(g, "        int r;\n\n        if (!ops->set_%s)\n                return -EOPNOTSUPP;\n", m->c_name);
        if (genc_by_ptr(t))
                genc_init_stmt(g, t, "v", 1);
        genc_p(g, "        r = %s;\n", s);
        genc_p(g, "        if (r >= 0)\n                r = ops->set_%s(self, %sv, err);\n", m->c_name,
               genc_by_ptr(t) ? "&" : "");
        genc_clear_stmt(g, t, "v", 1);
        genc_p(g, "        return r;\n}\n\n");
        free(decl);
        free(s);
}

static const char *emits_flag(IdlEmits e) {
        switch (e) {
        case IDL_EMITS_INVALIDATES: return "BUSRPC_PROP_EMITS_INVALIDATES";
        case IDL_EMITS_CONST: return "BUSRPC_PROP_EMITS_CONST";
        case IDL_EMITS_FALSE: return "BUSRPC_PROP_EMITS_FALSE";
        default: return "BUSRPC_PROP_EMITS_TRUE";
        }
}

static void descriptor(GenC *g, const IdlDecl *d) {
        size_t nm = 0, np = 0, ns = 0;
        char *mac = genc_iface_macro(d);

        for (size_t i = 0; i < d->n_members; i++) {
                const IdlMember *m = d->members[i];
                nm += m->kind == IDL_M_METHOD;
                np += m->kind == IDL_M_PROPERTY;
                ns += m->kind == IDL_M_SIGNAL;
        }
        if (nm) {
                genc_p(g, "static const busrpc_method_desc busrpc__%s_methods[] = {\n", d->c_name);
                for (size_t i = 0; i < d->n_members; i++) {
                        const IdlMember *m = d->members[i];
                        const char *fl = m->noreply && m->deprecated ? "BUSRPC_METHOD_NOREPLY | BUSRPC_METHOD_DEPRECATED"
                                         : m->noreply               ? "BUSRPC_METHOD_NOREPLY"
                                         : m->deprecated            ? "BUSRPC_METHOD_DEPRECATED"
                                                                    : "0";
                        if (m->kind != IDL_M_METHOD)
                                continue;
                        genc_p(g, "        { .name = \"%s\", .in_sig = \"%s\", .out_sig = \"%s\", .fn = busrpc__%s_%s, .flags = %s },\n",
                               m->name, m->in_sig ? m->in_sig : "", m->out_sig ? m->out_sig : "", d->c_name,
                               m->c_name, fl);
                }
                genc_p(g, "};\n\n");
        }
        if (np) {
                genc_p(g, "static const busrpc_property_desc busrpc__%s_properties[] = {\n", d->c_name);
                for (size_t i = 0; i < d->n_members; i++) {
                        const IdlMember *m = d->members[i];
                        char *get, *set;
                        if (m->kind != IDL_M_PROPERTY)
                                continue;
                        get = genc_prop_readable(m) ? idl_xasprintf("busrpc__%s_get_%s", d->c_name, m->c_name)
                                                    : idl_xstrdup("NULL");
                        set = genc_prop_writable(m) ? idl_xasprintf("busrpc__%s_set_%s", d->c_name, m->c_name)
                                                    : idl_xstrdup("NULL");
                        genc_p(g, "        { .name = \"%s\", .sig = \"%s\", .get = %s, .set = %s,\n"
                                  "          .flags = %s%s%s },\n",
                               m->name, ty(g, d, m->type)->sig, get, set,
                               genc_prop_readable(m) ? "BUSRPC_PROP_READ | " : "",
                               genc_prop_writable(m) ? "BUSRPC_PROP_WRITE | " : "", emits_flag(m->emits));
                        free(get);
                        free(set);
                }
                genc_p(g, "};\n\n");
        }
        if (ns) {
                genc_p(g, "static const busrpc_signal_desc busrpc__%s_signals[] = {\n", d->c_name);
                for (size_t i = 0; i < d->n_members; i++) {
                        const IdlMember *m = d->members[i];
                        if (m->kind == IDL_M_SIGNAL)
                                genc_p(g, "        { .name = \"%s\", .sig = \"%s\" },\n", m->name,
                                       m->in_sig ? m->in_sig : "");
                }
                genc_p(g, "};\n\n");
        }
        genc_p(g, "/* The <interface> element served by Introspect (as busrpc-idlc --xml writes it). */\n");
        if (genc_xml_length(g, d) > 4095)
                genc_p(g, "#if defined(__GNUC__)\n#pragma GCC diagnostic push\n"
                          "#pragma GCC diagnostic ignored \"-Woverlength-strings\"\n#endif\n");
        genc_p(g, "static const char busrpc__%s_xml[] =\n", d->c_name);
        genc_emit_xml_literal(g, d, 1);
        genc_p(g, "        ;\n");
        if (genc_xml_length(g, d) > 4095)
                genc_p(g, "#if defined(__GNUC__)\n#pragma GCC diagnostic pop\n#endif\n");
        genc_p(g, "\n");
        genc_p(g, "const busrpc_interface_desc %s_interface = {\n        .name = %s,\n        .xml = busrpc__%s_xml,\n",
               d->c_name, mac, d->c_name);
        if (nm)
                genc_p(g, "        .methods = busrpc__%s_methods,\n        .n_methods = %zu,\n", d->c_name, nm);
        if (np)
                genc_p(g, "        .properties = busrpc__%s_properties,\n        .n_properties = %zu,\n", d->c_name, np);
        if (ns)
                genc_p(g, "        .signals = busrpc__%s_signals,\n        .n_signals = %zu,\n", d->c_name, ns);
        genc_p(g, "};\n\n");
        free(mac);
}

static void emit_fn(GenC *g, const IdlDecl *d, const IdlMember *m) {
        genc_sig_emit(g, d, m);
        genc_p(g, " {\n        busrpc_msg *busrpc_m = NULL;\n        busrpc_iter busrpc_it;\n        int busrpc_r;\n\n");
        genc_p(g, "        busrpc_r = busrpc_object_signal_new(busrpc_o, \"%s\", &busrpc_m);\n", m->name);
        genc_p(g, "        if (busrpc_r >= 0)\n                busrpc_r = busrpc_msg_append(busrpc_m, &busrpc_it);\n");
        for (size_t i = 0; i < m->n_in; i++) {
                CType *t = ty(g, d, m->in[i]->type);
                char *s = genc_append(g, t, "&busrpc_it", genc_arg(g, m->in[i]->name), genc_by_ptr(t));
                genc_p(g, "        if (busrpc_r >= 0)\n                busrpc_r = %s;\n", s);
                free(s);
        }
        genc_p(g, "        if (busrpc_r < 0) {\n                busrpc_msg_unref(busrpc_m);\n                return busrpc_r;\n"
                  "        }\n        return busrpc_msg_send(busrpc_m);\n}\n\n");
}

static void iface(GenC *g, const IdlDecl *d) {
        genc_p(g, "/* ==== %s ==== */\n\n", d->name);
        for (size_t i = 0; i < d->n_members; i++) {
                const IdlMember *m = d->members[i];
                if (m->kind == IDL_M_METHOD && !m->noreply)
                        reply_fn(g, d, m);
        }
        for (size_t i = 0; i < d->n_members; i++) {
                const IdlMember *m = d->members[i];
                if (m->kind == IDL_M_METHOD)
                        skeleton(g, d, m);
                if (genc_prop_readable(m))
                        prop_get(g, d, m);
                if (genc_prop_writable(m))
                        prop_set(g, d, m);
        }
        descriptor(g, d);
        genc_sig_export(g, d);
        genc_p(g, " {\n        return busrpc_object_export(c, path, &%s_interface, ops, self, out);\n}\n\n", d->c_name);
        for (size_t i = 0; i < d->n_members; i++) {
                const IdlMember *m = d->members[i];
                if (m->kind == IDL_M_SIGNAL)
                        emit_fn(g, d, m);
                if (genc_prop_notifies(m)) {
                        genc_sig_notify(g, d, m);
                        genc_p(g, " {\n        return busrpc_object_notify(o, \"%s\");\n}\n\n", m->name);
                }
                if (m->kind == IDL_M_ERROR) {
                        char *e = genc_error_macro(d, m);
                        g->helpers |= GEN_H_VFAIL;
                        genc_sig_error(g, d, m);
                        genc_p(g, " {\n        va_list ap;\n        int r;\n\n        va_start(ap, fmt);\n"
                                  "        r = busrpc__vfail(call, %s, fmt, ap);\n        va_end(ap);\n        return r;\n}\n\n",
                               e);
                        free(e);
                }
        }
}

int idl_gen_server(const IdlUnit *u, FILE *out) {
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
        for (size_t i = 0; i < g.main->n_decls; i++)
                if (g.main->decls[i]->kind == IDL_D_INTERFACE)
                        iface(&g, g.main->decls[i]);
        body = genc_capture_end(&g);
        if (!body) {
                genc_free(&g);
                return -ENOMEM;
        }
        genc_c_preamble(&g, "server skeletons");
        genc_emit_helpers(&g);
        fputs(body, out);
        free(body);
        genc_free(&g);
        return ferror(out) ? -EIO : 0;
}
