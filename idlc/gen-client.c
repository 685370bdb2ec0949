/* gen-client.c: <module>-client.c, the typed client stubs, and the client
 * part of each interface's section in <module>.h.
 *
 * A stub describes, the runtime does: per method one constant
 * busrpc_remote_method naming the header's busrpc_args rows; the sync
 * stub puts its inputs into the method's in struct (by value: a shallow
 * copy, nothing copied deep), calls busrpc_proxy_invoke() and hands the
 * outputs over only on success (an output the caller passed NULL for is
 * cleared); the async stub calls busrpc_proxy_invoke_async() with a small
 * trampoline that calls the user's typed callback. Properties go through
 * busrpc_proxy_get_value()/set_value(), signals through
 * busrpc_proxy_on_signal(). Locals are named busrpc_* because the
 * parameters carry the IDL's names.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "gen-c.h"
#include "gen.h"

static CType *ty(GenC *g, const IdlDecl *d, const IdlType *t) {
        return genc_type(g, t, d->file);
}

static bool is_kind(const CType *t, IdlTypeKind k) {
        return t->kind == CT_BASIC && t->basic->kind == k;
}

/* ---- the header part ---- */

/* A comment of the given lines about function fn: one line when there is
 * one, else a block. */
static void comment(GenC *g, const char *fn, char **lines, size_t n) {
        if (n == 1)
                genc_p(g, "/* %s: %s */\n", fn, lines[0]);
        else if (n > 1) {
                genc_p(g, "/*\n * %s:\n", fn);
                for (size_t i = 0; i < n; i++)
                        genc_p(g, " * %s\n", lines[i]);
                genc_p(g, " */\n");
        }
        for (size_t i = 0; i < n; i++)
                free(lines[i]);
        free(lines);
}

/* What a caller must know of each output: how to release it, its bound. */
static void output_notes(GenC *g, const IdlDecl *d, IdlField **a, size_t n, char ***lines, size_t *nl) {
        for (size_t i = 0; i < n; i++) {
                const CType *t = ty(g, d, a[i]->type);
                const char *rel = genc_release(t);
                const char *name = genc_arg(g, a[i]->name);
                if (rel)
                        IDL_PUSH(*lines, *nl, idl_xasprintf("@%s: the caller releases it with %s.", name, rel));
                if (is_kind(t, IDL_T_SHM)) {
                        const IdlAnnot *max = idl_meta_find_annot(&a[i]->meta, IDL_A_MAX_SIZE);
                        IDL_PUSH(*lines, *nl,
                                 max ? idl_xasprintf("@%s: over @max_size(\"%s\"): -EFBIG, InvalidArgs.", name, max->value)
                                     : idl_xasprintf("@%s: over busrpc_conn_get_max_shm_size() bytes: -EFBIG, "
                                                     "InvalidArgs.", name));
                }
        }
}

static void doc_lines(const char *doc, char ***lines, size_t *nl) {
        const char *p = doc;

        while (p && *p) {
                const char *e = strchr(p, '\n');
                size_t n = e ? (size_t)(e - p) : strlen(p);
                char *s = idl_xasprintf("%.*s", (int)n, p);
                /* never close the comment early */
                for (char *q = s; (q = strstr(q, "*/")); )
                        q[1] = ' ';
                IDL_PUSH(*lines, *nl, s);
                if (!e)
                        break;
                p = e + 1;
        }
}

static void header_method(GenC *g, const IdlDecl *d, const IdlMember *m) {
        char **lines = NULL, *fn = idl_xasprintf("%s_%s()", d->c_name, m->c_name);
        size_t nl = 0;

        doc_lines(m->meta.doc, &lines, &nl);
        if (m->deprecated)
                IDL_PUSH(lines, nl, idl_xstrdup("Deprecated."));
        if (m->noreply)
                IDL_PUSH(lines, nl, idl_xstrdup("@noreply: sends the call and returns 0 once it is queued; no reply comes back."));
        else
                output_notes(g, d, m->out, m->n_out, &lines, &nl);
        for (size_t i = 0; i < m->n_raises; i++)
                if (m->raises[i]->error) {
                        char *e = genc_error_macro(d, m->raises[i]->error), *code = NULL;
                        for (size_t j = 0; j < d->n_members && !code; j++)
                                if (d->members[j] == m->raises[i]->error)
                                        code = genc_error_code(d, m->raises[i]->error->c_name);
                        if (code)
                                IDL_PUSH(lines, nl, idl_xasprintf("the service may fail with %s (-EREMOTEIO; %s_error_classify() "
                                                                  "gives %s).", e, d->c_name, code));
                        else
                                IDL_PUSH(lines, nl, idl_xasprintf("the service may fail with %s.", e));
                        free(e);
                        free(code);
                }
        comment(g, fn, lines, nl);
        free(fn);
        genc_sig_sync(g, d, m);
        genc_p(g, ";\n");
        if (m->noreply)
                return;
        genc_sig_done_typedef(g, d, m);
        genc_p(g, ";\n");
        genc_sig_async(g, d, m);
        genc_p(g, ";\n");
}

static void header_property(GenC *g, const IdlDecl *d, const IdlMember *m) {
        const CType *t = ty(g, d, m->type);
        const char *rel = genc_release(t);
        char **lines = NULL, *fn = idl_xasprintf("property %s (%s)", m->name, t->sig);
        size_t nl = 0;

        doc_lines(m->meta.doc, &lines, &nl);
        if (rel && genc_prop_readable(m))
                IDL_PUSH(lines, nl, idl_xasprintf("%s_get_%s(): the caller releases @%s with %s.", d->c_name, m->c_name,
                                                  m->c_name, rel));
        comment(g, fn, lines, nl);
        free(fn);
        if (genc_prop_readable(m)) {
                genc_sig_get(g, d, m);
                genc_p(g, ";\n");
        }
        if (genc_prop_writable(m)) {
                genc_sig_set(g, d, m);
                genc_p(g, ";\n");
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

        genc_p(g, "\n/**\n * %s_properties - the readable properties of %s, as %s_get_all()\n"
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
                CType *t;
                char *ref;
                if (!genc_prop_readable(m) || !(t = ty(g, d, m->type))->owns)
                        continue;
                ref = genc_tref(g, t, &m->meta, d->file);
                genc_p(g, "        if (v->%s.%s)\n                busrpc_value_clear(%s, &v->%s);\n", has, m->c_name, ref,
                       m->c_name);
                free(ref);
        }
        genc_p(g, "        memset(v, 0, sizeof(*v));\n}\n\n");
        genc_p(g, "/* %s_get_all() - read every property at once (Properties.GetAll).\n"
                  " * @out: written only on success; release with %s_properties_clear().\n"
                  " * Unknown properties in the reply are ignored; a known one of the wrong type\n"
                  " * is -EBADMSG (InvalidArgs in @err). Return: as a call. */\n",
               d->c_name, d->c_name);
        genc_sig_get_all(g, d);
        genc_p(g, ";\n");
}

static void header_signal(GenC *g, const IdlDecl *d, const IdlMember *m) {
        char **lines = NULL, *fn = idl_xasprintf("signal %s", m->name);
        size_t nl = 0;

        doc_lines(m->meta.doc, &lines, &nl);
        comment(g, fn, lines, nl);
        free(fn);
        genc_sig_handler_typedef(g, d, m);
        genc_p(g, ";\n");
        genc_sig_on(g, d, m);
        genc_p(g, ";\n");
}

void genc_header_client(GenC *g, const IdlDecl *d) {
        const char *c = d->c_name;
        bool any = false;

        genc_p(g, "/* ---- %s: client ---- */\n\n", d->name);
        genc_p(g, "/**\n * %s_proxy_new() - a proxy for the %s object at @path of\n"
                  " * @destination (a bus name; NULL on a peer connection); same as\n"
                  " * busrpc_proxy_new(). Release with busrpc_proxy_unref().\n */\n",
               c, d->name);
        genc_sig_proxy_new(g, d);
        genc_p(g, ";\n\n");
        for (size_t i = 0; i < d->n_members && !any; i++)
                any = d->members[i]->kind == IDL_M_METHOD;
        if (any) {
                genc_p(g, "/*\n * Calls. %s_M(p, inputs..., outputs..., err) calls method M and waits for\n"
                          " * the reply; the timeout is the proxy's (busrpc_proxy_set_timeout(), in\n"
                          " * microseconds as every time in busrpc; busrpc_proxy_set_next_timeout()\n"
                          " * changes it for the next call only). Inputs are borrowed. Each output may\n"
                          " * be NULL to ignore it and is written only on success; what the caller gets\n"
                          " * is its own (to release as noted below). @err gets the error on failure\n"
                          " * (may be NULL; release with busrpc_error_clear()).\n"
                          " * Return: 0; -EREMOTEIO when the service replied with an error (in @err);\n"
                          " * -ETIMEDOUT, -ECONNRESET, -EBADMSG (a malformed reply), -EINVAL (an invalid\n"
                          " * input: a string that is not UTF-8, an invalid object path...), -ENOMEM.\n"
                          " *\n"
                          " * %s_M_async(p, inputs..., cb, userdata, out) calls M; the inputs are copied\n"
                          " * into the message before it returns. @cb (may be NULL: the reply is then\n"
                          " * dropped) runs exactly once, from the loop: r is 0 or a negative errno as\n"
                          " * above (-ECANCELED after busrpc_pending_cancel()), err NULL on success else\n"
                          " * the error (borrowed); the outputs are borrowed until it returns (copy, dup()\n"
                          " * or take a reference on what you keep) and empty (0, NULL, -1) on failure.\n"
                          " * @out may be NULL; else a handle for busrpc_pending_cancel() (the callback\n"
                          " * still runs once), valid until the callback ran; busrpc_pending_unref() it.\n"
                          " * Return: 0 (@cb will run), or a negative errno (@cb will not run).\n */\n",
                       c, c);
                for (size_t i = 0; i < d->n_members; i++)
                        if (d->members[i]->kind == IDL_M_METHOD)
                                header_method(g, d, d->members[i]);
                genc_p(g, "\n");
        }
        any = false;
        for (size_t i = 0; i < d->n_members && !any; i++)
                any = d->members[i]->kind == IDL_M_PROPERTY;
        if (any) {
                genc_p(g, "/* Properties. %s_get_P(p, &value, err) reads P: the value may be NULL, is\n"
                          " * written only on success and is the caller's; %s_set_P(p, value, err)\n"
                          " * writes it (borrowed). Return: as a call. */\n",
                       c, c);
                for (size_t i = 0; i < d->n_members; i++)
                        if (d->members[i]->kind == IDL_M_PROPERTY)
                                header_property(g, d, d->members[i]);
                if (genc_has_readable(d))
                        header_properties_struct(g, d);
                genc_p(g, "\n");
        }
        genc_header_typed_props(g, d);
        genc_header_typed_errors(g, d);
        any = false;
        for (size_t i = 0; i < d->n_members && !any; i++)
                any = d->members[i]->kind == IDL_M_SIGNAL;
        if (any) {
                genc_p(g, "/* Signals. %s_on_S(p, cb, userdata, out) calls @cb for every S signal of\n"
                          " * the proxy's object, only from the current owner of its destination; the\n"
                          " * arguments are borrowed until it returns (copy what you keep). A signal\n"
                          " * whose arguments are invalid (an unknown enum value...) is dropped. @out may\n"
                          " * be NULL (the subscription then lasts as long as the connection); else\n"
                          " * busrpc_subscription_release() ends it. Return: 0 or a negative errno. */\n",
                       c);
                for (size_t i = 0; i < d->n_members; i++)
                        if (d->members[i]->kind == IDL_M_SIGNAL)
                                header_signal(g, d, d->members[i]);
                genc_p(g, "\n");
        }
}

/* ---- the stubs ---- */

/* ", a, *points, (char *)s": the inputs as the in struct holds them. */
static void in_values(GenC *g, const IdlDecl *d, IdlField **a, size_t n) {
        for (size_t i = 0; i < n; i++) {
                char *v = genc_in_value(g, ty(g, d, a[i]->type), genc_arg(g, a[i]->name));
                genc_p(g, "%s%s", i ? ", " : "", v);
                free(v);
        }
}

/* "&(busrpc__x_m__in){ a, b }", or NULL without inputs. */
static void in_literal(GenC *g, const IdlDecl *d, const IdlMember *m) {
        char *s;

        if (!m->n_in) {
                genc_p(g, "NULL");
                return;
        }
        s = genc_mstruct(d, m, "in");
        genc_p(g, "&(%s){ ", s);
        in_values(g, d, m->in, m->n_in);
        genc_p(g, " }");
        free(s);
}

static void remote(GenC *g, const IdlDecl *d, const IdlMember *m) {
        char *mac = genc_iface_macro(d), *in = genc_args_ref(d, m, false), *out = genc_args_ref(d, m, true);

        genc_p(g, "static const busrpc_remote_method busrpc__%s_%s__remote = { %s, \"%s\", %s, %s, %s };\n", d->c_name,
               m->c_name, mac, m->name, in, out, m->noreply ? "BUSRPC_METHOD_NOREPLY" : "0");
        free(mac);
        free(in);
        free(out);
}

static bool any_owned(GenC *g, const IdlDecl *d, IdlField **a, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (ty(g, d, a[i]->type)->owns)
                        return true;
        return false;
}

static void stub_sync(GenC *g, const IdlDecl *d, const IdlMember *m) {
        bool outs = !m->noreply && m->n_out, owned = outs && any_owned(g, d, m->out, m->n_out);
        char *os = genc_mstruct(d, m, "out");

        genc_sig_sync(g, d, m);
        genc_p(g, " {\n");
        if (outs)
                genc_p(g, "        %s busrpc_o;\n        int busrpc_r = ", os);
        else
                genc_p(g, "        return ");
        genc_p(g, "busrpc_proxy_invoke(busrpc_p, &busrpc__%s_%s__remote, ", d->c_name, m->c_name);
        in_literal(g, d, m);
        genc_p(g, ", %s, busrpc_err);\n", outs ? "&busrpc_o" : "NULL");
        if (!outs) {
                genc_p(g, "}\n\n");
                free(os);
                return;
        }
        if (owned)
                genc_p(g, "        if (busrpc_r < 0)\n                return busrpc_r;\n");
        for (size_t i = 0; i < m->n_out; i++) {
                CType *t = ty(g, d, m->out[i]->type);
                const char *n = genc_arg(g, m->out[i]->name), *f = genc_mfield(m->out[i]->name);
                genc_p(g, "        if (%s%s)\n                *%s = busrpc_o.%s;\n", owned ? "" : "busrpc_r >= 0 && ", n, n,
                       f);
                if (t->owns) {
                        char *ref = genc_tref(g, t, &m->out[i]->meta, d->file);
                        genc_p(g, "        else\n                busrpc_value_clear(%s, &busrpc_o.%s);\n", ref, f);
                        free(ref);
                }
        }
        genc_p(g, "        return %s;\n}\n\n", owned ? "0" : "busrpc_r");
        free(os);
}

/* Arguments lent to a callback: aggregates by pointer, from the struct at
 * pointer p. */
static void lent_args(GenC *g, const IdlDecl *d, IdlField **a, size_t n, const char *p) {
        for (size_t i = 0; i < n; i++)
                genc_p(g, "%s%s->%s, ", genc_by_ptr(ty(g, d, a[i]->type)) ? "&" : "", p, genc_mfield(a[i]->name));
}

/* How a trampoline reaches the struct at void pointer v of type st: a
 * local busrpc_x when it is used more than once, else a cast. Caller
 * frees. */
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

static void stub_async(GenC *g, const IdlDecl *d, const IdlMember *m) {
        char *os = genc_mstruct(d, m, "out"), *o;

        /* The trampoline: the runtime's outputs into the user's callback. */
        genc_p(g, "static void busrpc__%s_%s_done(int busrpc_r, const busrpc_error *busrpc_e, void *busrpc_out, void (*busrpc_cb)(void), void *busrpc_u) {\n",
               d->c_name, m->c_name);
        o = struct_at(g, os, "busrpc_out", "busrpc_o", m->n_out);
        genc_p(g, "        ((%s_%s_done)busrpc_cb)(busrpc_r, busrpc_e, ", d->c_name, m->c_name);
        lent_args(g, d, m->out, m->n_out, o);
        genc_p(g, "busrpc_u);\n}\n\n");
        free(o);

        genc_sig_async(g, d, m);
        genc_p(g, " {\n        return busrpc_proxy_invoke_async(busrpc_p, &busrpc__%s_%s__remote, ", d->c_name, m->c_name);
        in_literal(g, d, m);
        genc_p(g, ", busrpc_cb ? busrpc__%s_%s_done : NULL, (void (*)(void))busrpc_cb, busrpc_userdata, busrpc_out);\n}\n\n",
               d->c_name, m->c_name);
        free(os);
}

static void stub_get(GenC *g, const IdlDecl *d, const IdlMember *m) {
        CType *t = ty(g, d, m->type);
        char *mac = genc_iface_macro(d), *decl = genc_decl(genc_value(t), "busrpc_v");
        char *ref = genc_tref(g, t, &m->meta, d->file);
        const char *n = genc_arg(g, m->c_name);

        genc_sig_get(g, d, m);
        genc_p(g, " {\n        %s;\n", decl);
        genc_p(g, "        int busrpc_r = busrpc_proxy_get_value(busrpc_p, %s, \"%s\", %s, &busrpc_v, busrpc_err);\n\n",
               mac, m->name, ref);
        if (t->owns) {
                genc_p(g, "        if (busrpc_r < 0)\n                return busrpc_r;\n");
                genc_p(g, "        if (%s)\n                *%s = busrpc_v;\n", n, n);
                genc_p(g, "        else\n                busrpc_value_clear(%s, &busrpc_v);\n        return 0;\n}\n\n", ref);
        } else {
                genc_p(g, "        if (busrpc_r >= 0 && %s)\n                *%s = busrpc_v;\n", n, n);
                genc_p(g, "        return busrpc_r;\n}\n\n");
        }
        free(mac);
        free(decl);
        free(ref);
}

static void stub_set(GenC *g, const IdlDecl *d, const IdlMember *m) {
        CType *t = ty(g, d, m->type);
        char *mac = genc_iface_macro(d), *ref = genc_tref(g, t, &m->meta, d->file);

        genc_sig_set(g, d, m);
        genc_p(g, " {\n        return busrpc_proxy_set_value(busrpc_p, %s, \"%s\", %s, %s%s, busrpc_err);\n}\n\n", mac,
               m->name, ref, genc_by_ptr(t) ? "" : "&", genc_arg(g, m->c_name));
        free(mac);
        free(ref);
}

/* Properties.GetAll: the runtime reads the reply by the header's property
 * table; the stub turns the bits of what was there into the has flags. */
static void stub_get_all(GenC *g, const IdlDecl *d) {
        size_t n = 0;

        for (size_t i = 0; i < d->n_members; i++)
                n += genc_prop_readable(d->members[i]);
        genc_sig_get_all(g, d);
        genc_p(g, " {\n        %s_properties busrpc_v;\n        uint64_t busrpc_m = 0;\n        int busrpc_r;\n\n", d->c_name);
        genc_p(g, "        memset(&busrpc_v, 0, sizeof(busrpc_v));\n");
        genc_p(g, "        busrpc_r = busrpc_proxy_get_all_values(p, &%s_property_table, &busrpc_v, &busrpc_m, err);\n",
               d->c_name);
        genc_p(g, "        if (busrpc_r < 0)\n                return busrpc_r;\n");
        genc_p(g, "        for (size_t busrpc_i = 0; busrpc_i < %zu; busrpc_i++)\n"
                  "                ((bool *)&busrpc_v.%s)[busrpc_i] = (busrpc_m >> busrpc_i) & 1;\n",
               n, has_name(d));
        genc_p(g, "        *out = busrpc_v;\n        return 0;\n}\n\n");
}

static void stub_signal(GenC *g, const IdlDecl *d, const IdlMember *m) {
        char *mac = genc_iface_macro(d), *is = genc_mstruct(d, m, "in"), *args = genc_args_ref(d, m, false), *a;

        genc_p(g, "static void busrpc__%s_%s(void *busrpc_v, void (*busrpc_cb)(void), void *busrpc_u) {\n", d->c_name,
               m->c_name);
        a = struct_at(g, is, "busrpc_v", "busrpc_a", m->n_in);
        genc_p(g, "        ((%s_%s_handler)busrpc_cb)(", d->c_name, m->c_name);
        lent_args(g, d, m->in, m->n_in, a);
        genc_p(g, "busrpc_u);\n}\n\n");
        free(a);

        genc_sig_on(g, d, m);
        genc_p(g, " {\n        if (!cb)\n                return -EINVAL;\n");
        genc_p(g, "        return busrpc_proxy_on_signal(p, %s, \"%s\", %s, busrpc__%s_%s, (void (*)(void))cb, userdata, out);\n}\n\n",
               mac, m->name, args, d->c_name, m->c_name);
        free(mac);
        free(is);
        free(args);
}

int idl_gen_client(const IdlUnit *u, FILE *out) {
        bool any_iface = false;
        GenC g;

        if (!u || u->n_files == 0 || !out)
                return -EINVAL;
        genc_init(&g, u, out);
        g.def = true;
        genc_c_preamble(&g, "client stubs");
        for (size_t i = 0; i < g.main->n_decls; i++) {
                const IdlDecl *d = g.main->decls[i];
                bool any = false;
                if (d->kind != IDL_D_INTERFACE)
                        continue;
                genc_p(&g, "/* ==== %s ==== */\n\n", d->name);
                genc_sig_proxy_new(&g, d);
                genc_p(&g, " {\n        return busrpc_proxy_new(c, destination, path, out);\n}\n\n");
                for (size_t j = 0; j < d->n_members; j++)
                        if (d->members[j]->kind == IDL_M_METHOD) {
                                remote(&g, d, d->members[j]);
                                any = true;
                        }
                if (any)
                        genc_p(&g, "\n");
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
                genc_client_typed_props(&g, d);
                genc_client_typed_errors(&g, d);
                any_iface = true;
        }
        if (any_iface)
                genc_client_typed_om(&g);
        genc_free(&g);
        return ferror(out) ? -EIO : 0;
}
