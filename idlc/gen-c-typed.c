/* gen-c-typed.c: the typed client of issue 13, over the runtime's watch.c,
 * error.c and om-client.c: property changes (per interface and per
 * property), the property cache, typed errors, and the ObjectManager
 * client of a module.
 *
 * The header holds, per interface, one constant busrpc_property_table (the
 * readable properties, decoded into the interface's X_properties struct,
 * which the watches, the cache, the ObjectManager client and X_get_all()
 * share) and the declarations; the client file holds trampolines of a few
 * lines each. Nothing here is per method: a simple method costs what it
 * did. Definitions name their own parameters busrpc_*, so no property or
 * error name can hide them.
 */
#include <stdlib.h>
#include <string.h>
#include "gen-c.h"
#include "gen.h"

/* Bit / index of readable property m in its interface's table. */
static size_t prop_index(const IdlDecl *d, const IdlMember *m) {
        size_t n = 0;

        for (size_t i = 0; i < d->n_members && d->members[i] != m; i++)
                if (genc_prop_readable(d->members[i]))
                        n++;
        return n;
}

static size_t n_readable(const IdlDecl *d) {
        return prop_index(d, NULL);
}

/* Whether d has a member of kind k whose C name is name: then the typed
 * function that would be named after it is not generated. Real services
 * have such members (NetworkManager's older interfaces carry a signal
 * PropertiesChanged; a signal TitleChanged may sit next to a property
 * Title), and their generated code must still compile; the runtime's
 * busrpc_proxy_watch_properties() with the interface's table does the
 * same job. */
static bool taken(const IdlDecl *d, IdlMemberKind k, const char *name, const char *suffix) {
        char *want = idl_xasprintf("%s%s", name, suffix);
        bool found = false;

        for (size_t i = 0; i < d->n_members && !found; i++)
                found = d->members[i]->kind == k && d->members[i]->c_name && strcmp(d->members[i]->c_name, want) == 0;
        free(want);
        return found;
}

static bool props_watch_taken(const IdlDecl *d) {
        return taken(d, IDL_M_SIGNAL, "properties_changed", "");
}

/* Whether a change of m is ever signalled (on_X_changed is generated). */
static bool prop_signalled(const IdlMember *m) {
        return genc_prop_readable(m) && (m->emits == IDL_EMITS_TRUE || m->emits == IDL_EMITS_INVALIDATES);
}

/* Whether X_on_P_changed() is generated for m of d. */
static bool prop_watched(const IdlDecl *d, const IdlMember *m) {
        return prop_signalled(m) && !taken(d, IDL_M_SIGNAL, m->c_name, "_changed");
}

/* Whether the cache keeps m (X_cached_P is generated). */
static bool prop_cached(const IdlMember *m) {
        return genc_prop_readable(m) && m->emits != IDL_EMITS_FALSE;
}

static bool any_signalled(const IdlDecl *d) {
        for (size_t i = 0; i < d->n_members; i++)
                if (prop_signalled(d->members[i]))
                        return true;
        return false;
}

/* "const T *name" for a value of stored type v: "char *const *title". */
static void const_ptr(GenC *g, const char *v, const char *name) {
        genc_p(g, "%s%sconst *%s", v, v[strlen(v) - 1] == '*' ? "" : " ", name);
}

/* ---- prototypes, shared by the header and the client file ---- */

static char *own(const GenC *g, const char *name) {
        return g->def ? idl_xasprintf("busrpc_%s", name) : idl_xstrdup(name);
}

static void sig_on_changes(GenC *g, const IdlDecl *d) {
        char *p = own(g, "p"), *cb = own(g, "cb"), *u = own(g, "userdata"),
             *o = own(g, "out");

        genc_p(g, "int %s_on_properties_changed(busrpc_proxy *%s, %s_changes_fn %s, void *%s, "
                  "busrpc_subscription **%s)",
               d->c_name, p, d->c_name, cb, u, o);
        free(p), free(cb), free(u), free(o);
}

static void sig_on_prop(GenC *g, const IdlDecl *d, const IdlMember *m) {
        char *p = own(g, "p"), *cb = own(g, "cb"), *u = own(g, "userdata"),
             *o = own(g, "out");

        genc_p(g, "int %s_on_%s_changed(busrpc_proxy *%s, %s_%s_changed_handler %s, void *%s, busrpc_subscription **%s)",
               d->c_name, m->c_name, p, d->c_name, m->c_name, cb, u, o);
        free(p), free(cb), free(u), free(o);
}

static void sig_cache(GenC *g, const IdlDecl *d) {
        char *p = own(g, "p"), *cb = own(g, "cb"), *u = own(g, "userdata");

        genc_p(g, "int %s_cache_properties(busrpc_proxy *%s, %s_changes_fn %s, void *%s, "
                  "busrpc_property_cache **out)",
               d->c_name, p, d->c_name, cb, u);
        free(p), free(cb), free(u);
}

static void sig_cached(GenC *g, const IdlDecl *d, const IdlMember *m) {
        CType *t = genc_type(g, m->type, d->file);
        const char *v = genc_value(t);

        genc_p(g, "int %s_cached_%s(busrpc_property_cache *%s, %s%s*%s)", d->c_name, m->c_name,
               g->def || strcmp(m->c_name, "c") == 0 ? "busrpc_c" : "c", v, v[strlen(v) - 1] == '*' ? "" : " ",
               g->def ? "busrpc_v" : genc_arg(g, m->c_name));
}

static void sig_om_follow(GenC *g) {
        genc_p(g, "int %s_object_manager_follow(busrpc_conn *c, const char *destination, const char *path, "
                  "const %s_object_manager_callbacks *cbs, void *userdata, busrpc_om_client **out)",
               g->module, g->module);
}

/* ---- the header ---- */

static void header_table(GenC *g, const IdlDecl *d) {
        char *up = genc_upper(d->c_name), *mac = genc_iface_macro(d);
        size_t n = n_readable(d);

        if (n) {
                genc_p(g, "/* Bit i of the masks below (changed, invalidated, present) is the i-th readable property. */\n");
                for (size_t i = 0; i < d->n_members; i++) {
                        const IdlMember *m = d->members[i];
                        char *pu;
                        if (!genc_prop_readable(m))
                                continue;
                        pu = genc_upper(m->c_name);
                        genc_p(g, "#define %s_PROPERTY_%s (UINT64_C(1) << %zu)\n", up, pu, prop_index(d, m));
                        free(pu);
                }
                genc_p(g, "static const busrpc_property_info busrpc__%s__props[] BUSRPC_UNUSED = {\n", d->c_name);
                for (size_t i = 0; i < d->n_members; i++) {
                        const IdlMember *m = d->members[i];
                        char *ref;
                        if (!genc_prop_readable(m))
                                continue;
                        ref = genc_tref(g, genc_type(g, m->type, d->file), &m->meta, d->file);
                        genc_p(g, "        { \"%s\", %s, offsetof(%s_properties, %s), %s },\n", m->name, ref, d->c_name,
                               m->c_name, genc_emits_flag(m->emits));
                        free(ref);
                }
                genc_p(g, "};\n");
        }
        genc_p(g, "/* The readable properties of %s as the runtime decodes them (watches,\n"
                  " * caches, ObjectManager clients: busrpc_property_table)%s%s%s. */\n",
               d->name, n ? ", into " : ": it has none", n ? d->c_name : "", n ? "_properties" : "");
        if (n)
                genc_p(g, "static const busrpc_property_table %s_property_table BUSRPC_UNUSED = { %s, busrpc__%s__props, %zu, "
                          "sizeof(%s_properties) };\n\n",
                       d->c_name, mac, d->c_name, n, d->c_name);
        else
                genc_p(g, "static const busrpc_property_table %s_property_table BUSRPC_UNUSED = { %s, NULL, 0, 0 };\n\n",
                       d->c_name, mac);
        free(up);
        free(mac);
}

void genc_header_typed_props(GenC *g, const IdlDecl *d) {
        const char *c = d->c_name;
        char *up;

        header_table(g, d);
        if (!n_readable(d))
                return;
        up = genc_upper(c);
        genc_p(g, "/**\n * %s_changes - what changed in the properties of a %s object.\n"
                  " * @changed: the %s_PROPERTY_* bits whose new value is in @values.\n"
                  " * @invalidated: the bits of properties that changed without their value\n"
                  " *               (read them with %s_get_P(); a cache fetches them itself\n"
                  " *               and calls again).\n"
                  " * @values: borrowed until the callback returns (copy what you keep); the\n"
                  " *          fields not in @changed are empty and values->has is unused.\n */\n",
               c, d->name, up, c);
        free(up);
        genc_p(g, "typedef struct %s_changes {\n        uint64_t changed;\n        uint64_t invalidated;\n"
                  "        const %s_properties *values;\n} %s_changes;\n",
               c, c, c);
        genc_p(g, "typedef void (*%s_changes_fn)(const %s_changes *changes, void *userdata);\n\n", c, c);
        if (any_signalled(d)) {
                genc_p(g, "/*\n * %s_on_properties_changed() - call @cb for every PropertiesChanged of\n"
                          " * %s at the proxy's object that names one of its properties; only\n"
                          " * from the current owner of its destination (as signals). Changes made in\n"
                          " * one loop iteration of the service come as one call.\n"
                          " * %s_on_P_changed() - call @cb when property P changed: with its new value\n"
                          " * (borrowed until @cb returns), or NULL when the service invalidated it.\n"
                          " * Properties declared @emits_changed(\"false\") or (\"const\") send nothing\n"
                          " * and have no _on_P_changed(); nor has P when a signal PChanged has its name.\n"
                          " * @out: may be NULL (the watch lasts as long as the connection); else\n"
                          " *       busrpc_subscription_release() ends it.\n"
                          " * Return: 0, -EINVAL (@cb NULL), -ENOMEM, or what busrpc_proxy_subscribe() returns.\n */\n",
                       c, d->name, c);
                if (!props_watch_taken(d)) {
                        sig_on_changes(g, d);
                        genc_p(g, ";\n");
                } else {
                        genc_p(g, "/* (%s has a signal PropertiesChanged, which has %s_on_properties_changed():\n"
                                  " * use busrpc_proxy_watch_properties() with %s_property_table.) */\n",
                               d->name, c, c);
                }
                for (size_t i = 0; i < d->n_members; i++) {
                        const IdlMember *m = d->members[i];
                        if (!prop_watched(d, m))
                                continue;
                        genc_p(g, "typedef void (*%s_%s_changed_handler)(", c, m->c_name);
                        const_ptr(g, genc_value(genc_type(g, m->type, d->file)), genc_arg(g, m->c_name));
                        genc_p(g, ", void *%s);\n", genc_own(g, m, "userdata"));
                        sig_on_prop(g, d, m);
                        genc_p(g, ";\n");
                }
        }
        genc_p(g, "\n/*\n * %s_cache_properties() - keep the properties of the proxy's object at\n"
                  " * hand: GetAll (async, from the loop), then every PropertiesChanged applied;\n"
                  " * an invalidated property is read again with Get. @cb (may be NULL) is\n"
                  " * called after each change the cache took (first with what GetAll gave).\n"
                  " * @out: the cache (required); busrpc_property_cache_release() stops it.\n"
                  " * Return: 0, -EINVAL, -ENOMEM, or a subscription's -errno.\n"
                  " * %s_cached_P(c, &value) - P's cached value, without a round trip; the\n"
                  " * value is written only on success and is the caller's (release it as\n"
                  " * %s_get_P()'s). Return: 0; -ENODATA before the first GetAll completed,\n"
                  " * when GetAll did not give P, or while P is invalidated and read again;\n"
                  " * -EINVAL; -ENOMEM. Properties declared @emits_changed(\"false\") are not\n"
                  " * kept (nothing would say they changed): read them with %s_get_P().\n */\n",
               c, c, c, c);
        sig_cache(g, d);
        genc_p(g, ";\n");
        for (size_t i = 0; i < d->n_members; i++)
                if (prop_cached(d->members[i])) {
                        sig_cached(g, d, d->members[i]);
                        genc_p(g, ";\n");
                }
        genc_p(g, "\n");
}

static bool has_errors(const IdlDecl *d) {
        for (size_t i = 0; i < d->n_members; i++)
                if (d->members[i]->kind == IDL_M_ERROR)
                        return true;
        return false;
}

char *genc_error_code(const IdlDecl *d, const char *what) {
        char *up = genc_upper(d->c_name), *w = genc_upper(what), *s = idl_xasprintf("%s_ERROR_CODE_%s", up, w);

        free(up);
        free(w);
        return s;
}

void genc_header_typed_errors(GenC *g, const IdlDecl *d) {
        const char *c = d->c_name;
        char *nd;

        if (!has_errors(d))
                return;
        nd = genc_error_code(d, "not_declared");
        genc_p(g, "/*\n * Errors. %s_error_classify(err) tells which error of %s\n"
                  " * @err (borrowed) is: %s for any other (another remote\n"
                  " * error, a local one such as a timeout or a lost connection, or no error).\n"
                  " * %s_error_is_E(err): whether @err is error E.\n */\n",
               c, d->name, nd, c);
        genc_p(g, "typedef enum %s_error_code {\n", c);
        for (size_t i = 0; i < d->n_members; i++)
                if (d->members[i]->kind == IDL_M_ERROR) {
                        char *e = genc_error_code(d, d->members[i]->c_name), *n = genc_error_macro(d, d->members[i]);
                        genc_p(g, "        %s, /* %s */\n", e, n);
                        free(e);
                        free(n);
                }
        genc_p(g, "        %s,\n} %s_error_code;\n", nd, c);
        genc_p(g, "%s_error_code %s_error_classify(const busrpc_error *err);\n", c, c);
        for (size_t i = 0; i < d->n_members; i++)
                if (d->members[i]->kind == IDL_M_ERROR)
                        genc_p(g, "bool %s_error_is_%s(const busrpc_error *err);\n", c, d->members[i]->c_name);
        genc_p(g, "\n");
        free(nd);
}

void genc_header_typed_om(GenC *g) {
        const char *mod = g->module;

        genc_p(g, "/* ==== module %s: ObjectManager client ==== */\n\n", mod);
        genc_p(g, "/**\n * %s_object_manager_callbacks - what %s_object_manager_follow() calls, from\n"
                  " * the loop; each member may be NULL. Every pointer is borrowed for the call\n"
                  " * only (busrpc_proxy_ref() the proxy to keep it).\n"
                  " * @object_added: an object appeared (before the callbacks of its interfaces).\n"
                  " * @X_added: interface X appeared at the proxy's object; @props: the properties\n"
                  " *           sent with it (props->changed: the X_PROPERTY_* bits present).\n"
                  " * @X_removed: interface X went from the proxy's object.\n"
                  " * @object_removed: the object's last interface went (after its _removed).\n"
                  " * @ready: GetManagedObjects answered (r 0; every object already there was\n"
                  " *         reported added), or failed (r < 0, @err its error).\n"
                  " * Interfaces of other modules come only as object_added/object_removed.\n"
                  " * Free the client (busrpc_om_client_release()) only from @ready or outside\n"
                  " * the callbacks.\n */\n",
               mod, mod);
        genc_p(g, "typedef struct %s_object_manager_callbacks {\n", mod);
        genc_p(g, "        void (*object_added)(busrpc_proxy *p, void *userdata);\n");
        for (size_t i = 0; i < g->main->n_decls; i++) {
                const IdlDecl *d = g->main->decls[i];
                if (d->kind != IDL_D_INTERFACE)
                        continue;
                if (n_readable(d))
                        genc_p(g, "        void (*%s_added)(busrpc_proxy *p, const %s_changes *props, void *userdata);\n",
                               d->c_name, d->c_name);
                else
                        genc_p(g, "        void (*%s_added)(busrpc_proxy *p, void *userdata);\n", d->c_name);
                genc_p(g, "        void (*%s_removed)(busrpc_proxy *p, void *userdata);\n", d->c_name);
        }
        genc_p(g, "        void (*object_removed)(busrpc_proxy *p, void *userdata);\n");
        genc_p(g, "        void (*ready)(int r, const busrpc_error *err, void *userdata);\n} %s_object_manager_callbacks;\n\n",
               mod);
        genc_p(g, "/**\n * %s_object_manager_follow() - follow the objects under the ObjectManager at\n"
                  " * @path of @destination (NULL on a peer connection), objects there before\n"
                  " * included (busrpc_om_client_new()).\n"
                  " * @cbs: borrowed; must outlive the client. @userdata: passed to each callback.\n"
                  " * @out: the client (required); busrpc_om_client_release() stops following.\n"
                  " * Return: 0, -EINVAL, -ENOMEM, or a subscription's -errno.\n */\n",
               mod);
        sig_om_follow(g);
        genc_p(g, ";\n\n");
}

/* ---- the client file ---- */

void genc_client_typed_props(GenC *g, const IdlDecl *d) {
        const char *c = d->c_name;

        if (!n_readable(d))
                return;
        genc_p(g, "static void busrpc__%s__props_changed(const busrpc_property_changes *busrpc_ch, void (*busrpc_cb)(void), "
                  "void *busrpc_u) {\n",
               c);
        genc_p(g, "        %s_changes busrpc_c = { busrpc_ch->changed, busrpc_ch->invalidated, "
                  "(const %s_properties *)busrpc_ch->values };\n\n",
               c, c);
        genc_p(g, "        ((%s_changes_fn)busrpc_cb)(&busrpc_c, busrpc_u);\n}\n\n", c);
        if (any_signalled(d)) {
                if (!props_watch_taken(d)) {
                        sig_on_changes(g, d);
                        genc_p(g, " {\n        if (!busrpc_cb)\n                return -EINVAL;\n");
                        genc_p(g, "        return busrpc_proxy_watch_properties(busrpc_p, &%s_property_table, "
                                  "busrpc__%s__props_changed, (void (*)(void))busrpc_cb, busrpc_userdata, busrpc_out);\n}\n\n",
                               c, c);
                }
                for (size_t i = 0; i < d->n_members; i++) {
                        const IdlMember *m = d->members[i];
                        if (!prop_watched(d, m))
                                continue;
                        genc_p(g, "static void busrpc__%s__%s_changed(const void *busrpc_v, void (*busrpc_cb)(void), "
                                  "void *busrpc_u) {\n        ((%s_%s_changed_handler)busrpc_cb)(busrpc_v, busrpc_u);\n}\n\n",
                               c, m->c_name, c, m->c_name);
                        sig_on_prop(g, d, m);
                        genc_p(g, " {\n        if (!busrpc_cb)\n                return -EINVAL;\n");
                        genc_p(g, "        return busrpc_proxy_watch_property(busrpc_p, &%s_property_table, %zu, "
                                  "busrpc__%s__%s_changed, (void (*)(void))busrpc_cb, busrpc_userdata, busrpc_out);\n}\n\n",
                               c, prop_index(d, m), c, m->c_name);
                }
        }
        sig_cache(g, d);
        genc_p(g, " {\n        return busrpc_proxy_cache_properties(busrpc_p, &%s_property_table, busrpc_cb ? "
                  "busrpc__%s__props_changed : NULL, (void (*)(void))busrpc_cb, busrpc_userdata, out);\n}\n\n",
               c, c);
        for (size_t i = 0; i < d->n_members; i++) {
                const IdlMember *m = d->members[i];
                if (!prop_cached(m))
                        continue;
                sig_cached(g, d, m);
                genc_p(g, " {\n        return busrpc_property_cache_get(busrpc_c, %zu, busrpc_v);\n}\n\n", prop_index(d, m));
        }
}

void genc_client_typed_errors(GenC *g, const IdlDecl *d) {
        const char *c = d->c_name;
        size_t n = 0;

        if (!has_errors(d))
                return;
        genc_p(g, "static const char *const busrpc__%s__errors[] = {", c);
        for (size_t i = 0; i < d->n_members; i++)
                if (d->members[i]->kind == IDL_M_ERROR) {
                        char *e = genc_error_macro(d, d->members[i]);
                        genc_p(g, "%s %s", n++ ? "," : "", e);
                        free(e);
                }
        genc_p(g, " };\n\n");
        genc_p(g, "%s_error_code %s_error_classify(const busrpc_error *busrpc_e) {\n"
                  "        return (%s_error_code)busrpc_error_classify(busrpc_e, busrpc__%s__errors, %zu);\n}\n\n",
               c, c, c, c, n);
        for (size_t i = 0; i < d->n_members; i++)
                if (d->members[i]->kind == IDL_M_ERROR) {
                        char *e = genc_error_macro(d, d->members[i]);
                        genc_p(g, "bool %s_error_is_%s(const busrpc_error *busrpc_e) {\n"
                                  "        return busrpc_error_has_name(busrpc_e, %s);\n}\n\n",
                               c, d->members[i]->c_name, e);
                        free(e);
                }
}

void genc_client_typed_om(GenC *g) {
        const char *mod = g->module;
        size_t n = 0;

        genc_p(g, "/* ==== module %s: ObjectManager client ==== */\n\n", mod);
        genc_p(g, "static const busrpc_property_table *const busrpc__%s__om_tables[] = {", mod);
        for (size_t i = 0; i < g->main->n_decls; i++)
                if (g->main->decls[i]->kind == IDL_D_INTERFACE)
                        genc_p(g, "%s &%s_property_table", n++ ? "," : "", g->main->decls[i]->c_name);
        genc_p(g, " };\n\n");
        genc_p(g, "static void busrpc__%s__om(busrpc_om_client *busrpc_om, const busrpc_om_event *busrpc_ev, "
                  "const void *busrpc_ops, void *busrpc_u) {\n",
               mod);
        genc_p(g, "        const %s_object_manager_callbacks *busrpc_c = busrpc_ops;\n        size_t busrpc_t = busrpc_ev->table;\n\n"
                  "        (void)busrpc_om;\n",
               mod);
        genc_p(g, "        if (busrpc_ev->kind == BUSRPC_OM_READY) {\n                if (busrpc_c->ready)\n"
                  "                        busrpc_c->ready(busrpc_ev->r, busrpc_ev->error, busrpc_u);\n"
                  "                return;\n        }\n");
        genc_p(g, "        if (busrpc_ev->kind == BUSRPC_OM_INTERFACE_ADDED) {\n"
                  "                if (busrpc_ev->object_added && busrpc_c->object_added)\n"
                  "                        busrpc_c->object_added(busrpc_ev->proxy, busrpc_u);\n");
        n = 0;
        for (size_t i = 0; i < g->main->n_decls; i++) {
                const IdlDecl *d = g->main->decls[i];
                if (d->kind != IDL_D_INTERFACE)
                        continue;
                genc_p(g, "                %sif (busrpc_t == %zu && busrpc_c->%s_added) {\n", n ? "else " : "", n,
                       d->c_name);
                if (n_readable(d))
                        genc_p(g, "                        %s_changes busrpc_ch = { busrpc_ev->present, 0, "
                                  "(const %s_properties *)busrpc_ev->values };\n"
                                  "                        busrpc_c->%s_added(busrpc_ev->proxy, &busrpc_ch, busrpc_u);\n",
                               d->c_name, d->c_name, d->c_name);
                else
                        genc_p(g, "                        busrpc_c->%s_added(busrpc_ev->proxy, busrpc_u);\n", d->c_name);
                genc_p(g, "                }\n");
                n++;
        }
        genc_p(g, "                return;\n        }\n");
        n = 0;
        for (size_t i = 0; i < g->main->n_decls; i++) {
                const IdlDecl *d = g->main->decls[i];
                if (d->kind != IDL_D_INTERFACE)
                        continue;
                genc_p(g, "        %sif (busrpc_t == %zu && busrpc_c->%s_removed)\n"
                          "                busrpc_c->%s_removed(busrpc_ev->proxy, busrpc_u);\n",
                       n ? "else " : "", n, d->c_name, d->c_name);
                n++;
        }
        genc_p(g, "        if (busrpc_ev->object_removed && busrpc_c->object_removed)\n"
                  "                busrpc_c->object_removed(busrpc_ev->proxy, busrpc_u);\n}\n\n");
        sig_om_follow(g);
        genc_p(g, " {\n        if (!cbs)\n                return -EINVAL;\n"
                  "        return busrpc_om_client_new(c, destination, path, busrpc__%s__om_tables, %zu, busrpc__%s__om, cbs, "
                  "userdata, out);\n}\n\n",
               mod, n, mod);
}
