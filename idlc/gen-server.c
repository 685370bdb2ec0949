/* gen-server.c: <module>-server.c, the skeletons, ops table and
 * introspection data, and the server part of each interface's section in
 * <module>.h.
 *
 * The runtime reads a call's inputs into the method's in struct (by its
 * busrpc_args row: enums and flags are checked, a bad value is
 * InvalidArgs), calls the method's busrpc_op_fn trampoline, replies with
 * the out struct and releases both, whatever the op returned. So a
 * trampoline only casts: the user's op with the in struct's fields and
 * pointers into the out struct. Properties likewise (busrpc_prop_get_op,
 * busrpc_prop_set_op); X_reply(), X_emit_S() and X_error_E() hand their
 * values to busrpc_call_reply_args(), busrpc_object_emit() and
 * busrpc_call_failv().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "gen-c.h"
#include "gen.h"

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
                        genc_p(g, "        ");
                        genc_sig_op(g, d, m);
                        genc_p(g, ";%s\n", m->noreply ? " /* @noreply: return 0; no reply is sent */" : "");
                }
        }
        for (size_t i = 0; i < d->n_members; i++) {
                const IdlMember *m = d->members[i];
                if (genc_prop_readable(m)) {
                        genc_p(g, "        ");
                        genc_sig_op_get(g, d, m);
                        genc_p(g, ";\n");
                }
                if (genc_prop_writable(m)) {
                        genc_p(g, "        ");
                        genc_sig_op_set(g, d, m);
                        genc_p(g, "; /* the new value */\n");
                }
        }
        if (!has_ops(d))
                genc_p(g, "        void *busrpc_unused; /* no methods or properties: ISO C wants a member */\n");
        genc_p(g, "} %s_ops;\n\n", d->c_name);
}

void genc_header_server(GenC *g, const IdlDecl *d) {
        bool any;

        genc_p(g, "/* ---- %s: server ---- */\n\n", d->name);
        header_ops(g, d);
        genc_p(g, "/* The description busrpc_object_export() takes; %s_export() and\n"
                  " * %s_export_server() pass it. */\n"
                  "extern const busrpc_interface_desc %s_interface;\n\n",
               d->c_name, d->c_name, d->c_name);
        genc_p(g, "/**\n * %s_export() - serve @ops at @path on @c: a bus connection, or a\n"
                  " * client peer connection (busrpc_conn_open_peer()).\n"
                  " * %s_export_server() - serve them to every peer of @s, now or later.\n"
                  " * @ops, @self: borrowed; they must outlive the object.\n"
                  " * @out: may be NULL (the object lives as long as @c or @s); else\n"
                  " *       busrpc_object_release() removes it.\n"
                  " * Return: 0, -EEXIST (already exported at @path), -EINVAL, -ENOMEM.\n */\n",
               d->c_name, d->c_name);
        genc_sig_export(g, d, false);
        genc_p(g, ";\n");
        genc_sig_export(g, d, true);
        genc_p(g, ";\n\n");
        any = false;
        for (size_t i = 0; i < d->n_members; i++) {
                const IdlMember *m = d->members[i];
                if (m->kind != IDL_M_METHOD || m->noreply)
                        continue;
                if (!any)
                        genc_p(g, "/* %s_M_reply(call, outputs...) - reply to an M call that its op deferred;\n"
                                  " * the outputs are borrowed. The caller still owns its reference on @call.\n"
                                  " * Return: 0, -EALREADY (already replied), -EINVAL (an invalid output),\n"
                                  " * -ENOMEM, -ECONNRESET. */\n",
                               d->c_name);
                any = true;
                genc_sig_reply(g, d, m);
                genc_p(g, ";\n");
        }
        if (any)
                genc_p(g, "\n");
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

/* ---- trampolines ---- */

/* How a trampoline reaches the struct at void pointer v of type st: a
 * local when it is used more than once, else a cast. Caller frees. */
static char *struct_at(GenC *g, const char *st, const char *v, const char *local, size_t uses) {
        if (uses == 0) {
                genc_p(g, "        (void)%s;\n", v);
                return NULL;
        }
        if (uses > 1) {
                genc_p(g, "        %s *%s = %s;\n", st, local, v);
                return idl_xstrdup(local);
        }
        return idl_xasprintf("((%s *)%s)", st, v);
}

/* The user's op with the in struct's fields and pointers into the out
 * struct; a NULL op is -EOPNOTSUPP (the runtime answers UnknownMethod).
 * Trampolines are declarations and one statement. */
static void trampoline(GenC *g, const IdlDecl *d, const IdlMember *m) {
        char *is = genc_mstruct(d, m, "in"), *os = genc_mstruct(d, m, "out"), *i, *o;
        size_t n_out = m->noreply ? 0 : m->n_out;

        genc_p(g, "static int busrpc__%s_%s(busrpc_call *busrpc_c, const void *busrpc_ops, void *busrpc_self, void *busrpc_in, void *busrpc_out) {\n",
               d->c_name, m->c_name);
        genc_p(g, "        const %s_ops *busrpc_o = busrpc_ops;\n", d->c_name);
        i = struct_at(g, is, "busrpc_in", "busrpc_i", m->n_in);
        o = struct_at(g, os, "busrpc_out", "busrpc_r", n_out);
        genc_p(g, "        return busrpc_o->%s ? busrpc_o->%s(busrpc_self, busrpc_c", m->c_name, m->c_name);
        for (size_t k = 0; k < m->n_in; k++)
                genc_p(g, ", %s%s->%s", genc_by_ptr(genc_type(g, m->in[k]->type, d->file)) ? "&" : "", i,
                       genc_mfield(m->in[k]->name));
        for (size_t k = 0; k < n_out; k++)
                genc_p(g, ", &%s->%s", o, genc_mfield(m->out[k]->name));
        genc_p(g, ") : -EOPNOTSUPP;\n}\n\n");
        free(is);
        free(os);
        free(i);
        free(o);
}

static void prop_get(GenC *g, const IdlDecl *d, const IdlMember *m) {
        genc_p(g, "static int busrpc__%s_get_%s(const void *busrpc_ops, void *busrpc_self, void *busrpc_v, busrpc_error *busrpc_err) {\n",
               d->c_name, m->c_name);
        genc_p(g, "        const %s_ops *busrpc_o = busrpc_ops;\n", d->c_name);
        genc_p(g, "        return busrpc_o->get_%s ? busrpc_o->get_%s(busrpc_self, busrpc_v, busrpc_err) : -EOPNOTSUPP;\n}\n\n",
               m->c_name, m->c_name);
}

static void prop_set(GenC *g, const IdlDecl *d, const IdlMember *m) {
        CType *t = genc_type(g, m->type, d->file);

        genc_p(g, "static int busrpc__%s_set_%s(const void *busrpc_ops, void *busrpc_self, const void *busrpc_v, busrpc_error *busrpc_err) {\n",
               d->c_name, m->c_name);
        genc_p(g, "        const %s_ops *busrpc_o = busrpc_ops;\n", d->c_name);
        genc_p(g, "        return busrpc_o->set_%s ? busrpc_o->set_%s(busrpc_self, ", m->c_name, m->c_name);
        if (genc_by_ptr(t))
                genc_p(g, "busrpc_v");
        else {
                const char *v = genc_value(t);
                genc_p(g, "*(%s%sconst *)busrpc_v", v, v[strlen(v) - 1] == '*' ? "" : " ");
        }
        genc_p(g, ", busrpc_err) : -EOPNOTSUPP;\n}\n\n");
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
                        char *in, *out;
                        if (m->kind != IDL_M_METHOD)
                                continue;
                        in = genc_args_ref(d, m, false);
                        out = genc_args_ref(d, m, true);
                        genc_p(g, "        { .name = \"%s\", .in_sig = \"%s\", .out_sig = \"%s\", .flags = %s, .in = %s, .out = %s, .op = busrpc__%s_%s },\n",
                               m->name, m->in_sig ? m->in_sig : "", m->out_sig ? m->out_sig : "", fl, in, out, d->c_name,
                               m->c_name);
                        free(in);
                        free(out);
                }
                genc_p(g, "};\n\n");
        }
        if (np) {
                genc_p(g, "static const busrpc_property_desc busrpc__%s_properties[] = {\n", d->c_name);
                for (size_t i = 0; i < d->n_members; i++) {
                        const IdlMember *m = d->members[i];
                        char *get, *set, *ref;
                        if (m->kind != IDL_M_PROPERTY)
                                continue;
                        get = genc_prop_readable(m) ? idl_xasprintf("busrpc__%s_get_%s", d->c_name, m->c_name)
                                                    : idl_xstrdup("NULL");
                        set = genc_prop_writable(m) ? idl_xasprintf("busrpc__%s_set_%s", d->c_name, m->c_name)
                                                    : idl_xstrdup("NULL");
                        ref = genc_tref(g, genc_type(g, m->type, d->file), &m->meta, d->file);
                        genc_p(g, "        { .name = \"%s\", .sig = \"%s\", .flags = %s%s%s, .type = %s,\n"
                                  "          .get_op = %s, .set_op = %s },\n",
                               m->name, genc_type(g, m->type, d->file)->sig,
                               genc_prop_readable(m) ? "BUSRPC_PROP_READ | " : "",
                               genc_prop_writable(m) ? "BUSRPC_PROP_WRITE | " : "", genc_emits_flag(m->emits), ref, get, set);
                        free(get);
                        free(set);
                        free(ref);
                }
                genc_p(g, "};\n\n");
        }
        if (ns) {
                genc_p(g, "static const busrpc_signal_desc busrpc__%s_signals[] = {\n", d->c_name);
                for (size_t i = 0; i < d->n_members; i++) {
                        const IdlMember *m = d->members[i];
                        char *args;
                        if (m->kind != IDL_M_SIGNAL)
                                continue;
                        args = genc_args_ref(d, m, false);
                        genc_p(g, "        { .name = \"%s\", .sig = \"%s\", .args = %s },\n", m->name,
                               m->in_sig ? m->in_sig : "", args);
                        free(args);
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

/* "&(busrpc__x_m__dir){ a, b }" of the arguments as the definition names
 * them, or NULL without any. */
static void literal(GenC *g, const IdlDecl *d, const IdlMember *m, const char *dir, IdlField **a, size_t n) {
        char *s;

        if (!n) {
                genc_p(g, "NULL");
                return;
        }
        s = genc_mstruct(d, m, dir);
        genc_p(g, "&(%s){ ", s);
        for (size_t i = 0; i < n; i++) {
                char *v = genc_in_value(g, genc_type(g, a[i]->type, d->file), genc_arg(g, a[i]->name));
                genc_p(g, "%s%s", i ? ", " : "", v);
                free(v);
        }
        genc_p(g, " }");
        free(s);
}

static void reply_fn(GenC *g, const IdlDecl *d, const IdlMember *m) {
        char *out = genc_args_ref(d, m, true);

        genc_sig_reply(g, d, m);
        genc_p(g, " {\n        return busrpc_call_reply_args(busrpc_req, %s, ", out);
        literal(g, d, m, "out", m->out, m->n_out);
        genc_p(g, ");\n}\n\n");
        free(out);
}

static void emit_fn(GenC *g, const IdlDecl *d, const IdlMember *m) {
        char *args = genc_args_ref(d, m, false);

        genc_sig_emit(g, d, m);
        genc_p(g, " {\n        return busrpc_object_emit(busrpc_o, \"%s\", %s, ", m->name, args);
        literal(g, d, m, "in", m->in, m->n_in);
        genc_p(g, ");\n}\n\n");
        free(args);
}

static void error_fn(GenC *g, const IdlDecl *d, const IdlMember *m) {
        char *e = genc_error_macro(d, m);

        genc_sig_error(g, d, m);
        genc_p(g, " {\n        va_list ap;\n        int r;\n\n"
                  "        if (!fmt)\n                return busrpc_call_fail(call, %s, \"%%s\", %s);\n"
                  "        va_start(ap, fmt);\n        r = busrpc_call_failv(call, %s, fmt, ap);\n"
                  "        va_end(ap);\n        return r;\n}\n\n",
               e, e, e);
        free(e);
}

static void iface(GenC *g, const IdlDecl *d) {
        genc_p(g, "/* ==== %s ==== */\n\n", d->name);
        for (size_t i = 0; i < d->n_members; i++) {
                const IdlMember *m = d->members[i];
                if (m->kind == IDL_M_METHOD)
                        trampoline(g, d, m);
                if (genc_prop_readable(m))
                        prop_get(g, d, m);
                if (genc_prop_writable(m))
                        prop_set(g, d, m);
        }
        descriptor(g, d);
        genc_sig_export(g, d, false);
        genc_p(g, " {\n        return busrpc_object_export(busrpc_conn_get_objects(c), path, &%s_interface, ops, self, out);\n}\n\n",
               d->c_name);
        genc_sig_export(g, d, true);
        genc_p(g, " {\n        return busrpc_object_export(busrpc_server_get_objects(s), path, &%s_interface, ops, self, out);\n}\n\n",
               d->c_name);
        for (size_t i = 0; i < d->n_members; i++) {
                const IdlMember *m = d->members[i];
                if (m->kind == IDL_M_METHOD && !m->noreply)
                        reply_fn(g, d, m);
        }
        for (size_t i = 0; i < d->n_members; i++) {
                const IdlMember *m = d->members[i];
                if (m->kind == IDL_M_SIGNAL)
                        emit_fn(g, d, m);
                if (genc_prop_notifies(m)) {
                        genc_sig_notify(g, d, m);
                        genc_p(g, " {\n        return busrpc_object_notify(o, \"%s\");\n}\n\n", m->name);
                }
                if (m->kind == IDL_M_ERROR)
                        error_fn(g, d, m);
        }
}

int idl_gen_server(const IdlUnit *u, FILE *out) {
        GenC g;

        if (!u || u->n_files == 0 || !out)
                return -EINVAL;
        genc_init(&g, u, out);
        g.def = true;
        genc_c_preamble(&g, "server skeletons");
        for (size_t i = 0; i < g.main->n_decls; i++)
                if (g.main->decls[i]->kind == IDL_D_INTERFACE)
                        iface(&g, g.main->decls[i]);
        genc_free(&g);
        return ferror(out) ? -EIO : 0;
}
