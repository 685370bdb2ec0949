/* object.c: the object tree of a connection (or of a server, shared by all
 * its peers), export/unexport, and dispatch of method calls to the
 * skeletons named by busrpc_method_desc. The standard interfaces are
 * answered here too: Introspectable (introspect.c), Properties and
 * ObjectManager (property.c); org.freedesktop.DBus.Peer is answered by
 * libdbus itself before our filter runs, and here when a call omits the
 * interface. */
#include <stdlib.h>
#include <string.h>
#include "call.h"
#include "conn.h"
#include "introspect.h"
#include "marshal.h"
#include "message.h"
#include "property.h"
#include "registry.h"
#include "server.h"
#include "validate.h"

busrpc_object *object_ref(busrpc_object *o) {
        if (o)
                o->n_ref++;
        return o;
}

void object_unref(busrpc_object *o) {
        if (!o || --o->n_ref > 0)
                return;
        free(o->path);
        free(o);
}

static void tree_remove(busrpc_object *o) {
        if (!o->conn)
                return;
        reg_remove(o);
        object_unref(o); /* the tree's reference */
}

busrpc_object *tree_find(busrpc_conn *tree, const char *path, const char *iface) {
        return node_find(reg_node(tree, path), iface);
}

bool tree_has_path(busrpc_conn *tree, const char *path) {
        return node_has_objects(reg_node(tree, path));
}

/* The ObjectManager strictly above @path exported first, or NULL: the
 * ancestors of the nearest node at or above @path. */
busrpc_object *tree_find_manager(busrpc_conn *tree, const char *path) {
        busrpc_object *best = NULL;
        RegNode *n;
        char *p;

        if (!reg_get(tree))
                return NULL;
        n = reg_node(tree, path);
        if (!n) {
                /* Not a node: start from the nearest ancestor that is one. */
                p = strdup(path);
                if (!p)
                        return NULL;
                while (!n && strcmp(p, "/") != 0) {
                        char *slash = strrchr(p, '/');
                        slash[slash == p ? 1 : 0] = '\0';
                        n = reg_node(tree, p);
                }
                free(p);
                if (!n)
                        return NULL;
                if (n->manager)
                        best = n->manager;
        }
        for (n = n->parent; n; n = n->parent)
                if (n->manager && (!best || n->manager->seq < best->seq))
                        best = n->manager;
        return best;
}

#define STD_PREFIX "org.freedesktop.DBus."

static bool is_standard_iface(const char *name) {
        /* Most calls are to other interfaces: one compare tells. */
        if (strncmp(name, STD_PREFIX, sizeof(STD_PREFIX) - 1) != 0)
                return false;
        return strcmp(name, IFACE_PROPERTIES) == 0 || strcmp(name, IFACE_INTROSPECTABLE) == 0 ||
               strcmp(name, IFACE_PEER) == 0 || strcmp(name, IFACE_OBJECT_MANAGER) == 0;
}

static bool iface_desc_valid(const busrpc_interface_desc *d) {
        if (!d->name || !valid_interface_name(d->name) || is_standard_iface(d->name))
                return false;
        if ((d->n_methods && !d->methods) || (d->n_properties && !d->properties) ||
            (d->n_signals && !d->signals))
                return false;
        for (size_t i = 0; i < d->n_methods; i++) {
                const busrpc_method_desc *m = &d->methods[i];
                if (!m->name || !valid_member_name(m->name) || (!m->fn && !m->op))
                        return false;
                if (!m->in_sig || !valid_signature(m->in_sig) || !m->out_sig || !valid_signature(m->out_sig))
                        return false;
        }
        for (size_t i = 0; i < d->n_properties; i++) {
                const busrpc_property_desc *p = &d->properties[i];
                if (!p->name || !valid_member_name(p->name) || !p->sig || !valid_signature(p->sig) ||
                    !dbus_signature_validate_single(p->sig, NULL))
                        return false;
        }
        for (size_t i = 0; i < d->n_signals; i++) {
                const busrpc_signal_desc *s = &d->signals[i];
                if (!s->name || !valid_member_name(s->name) || !s->sig || !valid_signature(s->sig))
                        return false;
        }
        return marshal_iface_valid(d); /* the type descriptors, once */
}

static int tree_add(busrpc_conn *c, const char *path, const busrpc_interface_desc *iface, const void *ops,
                    void *self, busrpc_object **ret) {
        busrpc_object *o;
        int r;

        o = calloc(1, sizeof(*o));
        if (!o)
                return -ENOMEM;
        o->path = strdup(path);
        if (!o->path) {
                free(o);
                return -ENOMEM;
        }
        o->iface = iface;
        o->ops = ops;
        o->self = self;
        r = reg_add(c, o);
        if (r < 0) {
                free(o->path);
                free(o);
                return r;
        }
        o->n_ref = ret ? 2 : 1; /* the tree's, and the caller's handle */
        if (ret)
                *ret = o;
        return 0;
}

BUSRPC_EXPORT int busrpc_object_export(busrpc_conn *c, const char *path, const busrpc_interface_desc *iface,
                                       const void *ops, void *self, busrpc_object **ret) {
        busrpc_object *o;
        int r;

        return_if_fail(c && path && iface, -EINVAL);
        return_if_fail(c->kind != CONN_SERVED, -EINVAL);
        return_if_fail(valid_object_path(path), -EINVAL);
        /* A descriptor is validated when the registry first sees it. */
        return_if_fail(reg_knows_iface(c, iface) || iface_desc_valid(iface), -EINVAL);
        r = tree_add(c, path, iface, ops, self, &o);
        if (r < 0)
                return r;
        object_manager_emit(o, true);
        if (ret)
                *ret = o;
        else
                object_unref(o);
        return 0;
}

BUSRPC_EXPORT int busrpc_conn_add_object_manager(busrpc_conn *c, const char *path, busrpc_object **ret) {
        return_if_fail(c && path, -EINVAL);
        return_if_fail(c->kind != CONN_SERVED, -EINVAL);
        return_if_fail(valid_object_path(path), -EINVAL);
        return tree_add(c, path, NULL, NULL, NULL, ret);
}

BUSRPC_EXPORT busrpc_object *busrpc_object_release(busrpc_object *o) {
        if (!o)
                return NULL;
        if (o->conn) {
                property_flush_object(o); /* its last changes, before it goes */
                if (o->iface)
                        object_manager_emit(o, false);
                reg_remove(o);
                o->n_ref--; /* the tree's reference; the caller's is dropped below */
        }
        object_unref(o); /* the caller's handle */
        return NULL;
}

void object_detach_all(busrpc_conn *c) {
        Registry *reg;

        /* A served peer's objects are its server's. */
        if (c->kind == CONN_SERVED)
                return;
        property_flush_tree(c); /* queued PropertiesChanged go out first */
        while ((reg = reg_get(c)) && reg->objects)
                tree_remove(reg->objects);
        reg_free(c);
}

BUSRPC_EXPORT const char *busrpc_object_get_path(busrpc_object *o) {
        return o ? o->path : NULL;
}

BUSRPC_EXPORT busrpc_conn *busrpc_object_get_conn(busrpc_object *o) {
        return o ? o->conn : NULL;
}

BUSRPC_EXPORT int busrpc_object_signal_new(busrpc_object *o, const char *member, busrpc_msg **ret) {
        DBusMessage *m;
        busrpc_msg *bm;

        return_if_fail(o && member && ret, -EINVAL);
        return_if_fail(o->iface && valid_member_name(member), -EINVAL);
        if (!o->conn)
                return -ENOTCONN;
        m = dbus_message_new_signal(o->path, o->iface->name, member);
        if (!m)
                return -ENOMEM;
        bm = msg_new(m, o->conn);
        dbus_message_unref(m);
        if (!bm)
                return -ENOMEM;
        *ret = bm;
        return 0;
}

/* ---- dispatch ---- */

static unsigned count_fds(DBusMessageIter *it, unsigned depth) {
        unsigned n = 0;
        int t;

        /* The bus bounds nesting at 64; stay well inside the stack. */
        if (depth > 64)
                return 0;
        while ((t = dbus_message_iter_get_arg_type(it)) != DBUS_TYPE_INVALID) {
                if (t == DBUS_TYPE_UNIX_FD) {
                        n++;
                } else if (t == DBUS_TYPE_ARRAY && dbus_message_iter_get_element_type(it) == DBUS_TYPE_UNIX_FD) {
                        n += (unsigned)dbus_message_iter_get_element_count(it);
                } else if (t == DBUS_TYPE_ARRAY || t == DBUS_TYPE_STRUCT || t == DBUS_TYPE_DICT_ENTRY ||
                           t == DBUS_TYPE_VARIANT) {
                        char *sig = dbus_message_iter_get_signature(it);
                        bool has_fd = sig && strchr(sig, DBUS_TYPE_UNIX_FD);
                        dbus_free(sig);
                        if (has_fd || t == DBUS_TYPE_VARIANT) {
                                DBusMessageIter sub;
                                dbus_message_iter_recurse(it, &sub);
                                n += count_fds(&sub, depth + 1);
                        }
                }
                dbus_message_iter_next(it);
        }
        return n;
}

unsigned msg_count_fds(DBusMessage *m) {
        DBusMessageIter it;

        if (!dbus_message_contains_unix_fds(m) || !dbus_message_iter_init(m, &it))
                return 0;
        return count_fds(&it, 0);
}

static unsigned max_call_fds(busrpc_conn *tree) {
        return tree->max_call_fds ? tree->max_call_fds : DEFAULT_MAX_CALL_FDS;
}

/* The method @member of @iface (any interface when NULL) at @n. */
static const busrpc_method_desc *find_method(RegNode *n, const char *iface, const char *member,
                                             busrpc_object **ret_obj, bool *ret_iface_found) {
        *ret_iface_found = false;
        for (busrpc_object *o = n->first; o; o = o->node_next) {
                const busrpc_method_desc *md;
                if (iface && strcmp(o->iface->name, iface) != 0)
                        continue;
                *ret_iface_found = true;
                md = iface_find_method(o->info, member);
                if (md) {
                        *ret_obj = o;
                        return md;
                }
                if (iface)
                        break; /* one object per interface and path */
        }
        return NULL;
}

static DBusHandlerResult reply_and_handled(busrpc_conn *c, DBusMessage *call, DBusMessage *reply) {
        if (reply && dbus_message_get_no_reply(call))
                dbus_message_unref(reply);
        else if (reply)
                conn_send_reply(c, reply);
        return DBUS_HANDLER_RESULT_HANDLED;
}

static DBusHandlerResult dispatch_standard(busrpc_conn *c, busrpc_conn *tree, DBusMessage *m, const char *path,
                                           const char *iface, const char *member, bool *handled) {
        if (iface && !is_standard_iface(iface)) {
                *handled = false;
                return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
        }
        *handled = true;
        if ((!iface || strcmp(iface, IFACE_INTROSPECTABLE) == 0) && strcmp(member, "Introspect") == 0)
                return reply_and_handled(c, m, introspect_reply(tree, m, path));
        if (iface && strcmp(iface, IFACE_PROPERTIES) == 0)
                return reply_and_handled(c, m, property_dispatch(c, tree, m, path, member));
        if (!iface && (strcmp(member, "Get") == 0 || strcmp(member, "Set") == 0 || strcmp(member, "GetAll") == 0) &&
            (dbus_message_has_signature(m, "ss") || dbus_message_has_signature(m, "ssv") ||
             dbus_message_has_signature(m, "s")))
                return reply_and_handled(c, m, property_dispatch(c, tree, m, path, member));
        if ((!iface || strcmp(iface, IFACE_OBJECT_MANAGER) == 0) && strcmp(member, "GetManagedObjects") == 0 &&
            tree_find(tree, path, IFACE_OBJECT_MANAGER))
                return reply_and_handled(c, m, object_manager_reply(tree, m, path));
        if ((!iface || strcmp(iface, IFACE_PEER) == 0) && strcmp(member, "Ping") == 0 &&
            dbus_message_has_signature(m, ""))
                return reply_and_handled(c, m, dbus_message_new_method_return(m));
        if (iface && is_standard_iface(iface)) {
                conn_send_error(c, m, BUSRPC_ERROR_UNKNOWN_METHOD, "Unknown method '%s' on interface '%s'", member,
                                iface);
                return DBUS_HANDLER_RESULT_HANDLED;
        }
        *handled = false;
        return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
}

DBusHandlerResult object_dispatch(busrpc_conn *c, DBusMessage *m) {
        busrpc_conn *tree = conn_tree(c);
        const char *path = dbus_message_get_path(m);
        const char *iface = dbus_message_get_interface(m);
        const char *member = dbus_message_get_member(m);
        const busrpc_method_desc *md;
        busrpc_object *o = NULL;
        RegNode *node;
        busrpc_call *call;
        busrpc_iter args;
        bool handled, iface_found;
        DBusHandlerResult res;
        int r;

        if (!tree || !path || !member)
                return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
        busrpc_conn_ref(c);
        busrpc_conn_ref(tree);
        res = dispatch_standard(c, tree, m, path, iface, member, &handled);
        if (handled)
                goto out;
        res = DBUS_HANDLER_RESULT_HANDLED;
        node = reg_node(tree, path);
        if (!node_has_objects(node)) {
                conn_send_error(c, m, BUSRPC_ERROR_UNKNOWN_OBJECT, "Unknown object '%s'", path);
                goto out;
        }
        md = find_method(node, iface, member, &o, &iface_found);
        if (!md) {
                if (iface && !iface_found)
                        conn_send_error(c, m, BUSRPC_ERROR_UNKNOWN_INTERFACE,
                                        "Unknown interface '%s' at object '%s'", iface, path);
                else
                        conn_send_error(c, m, BUSRPC_ERROR_UNKNOWN_METHOD, "Unknown method '%s' at object '%s'",
                                        member, path);
                goto out;
        }
        if (!dbus_message_has_signature(m, md->in_sig)) {
                conn_send_error(c, m, BUSRPC_ERROR_INVALID_ARGS,
                                "Invalid arguments for %s: expected signature '%s', got '%s'", md->name, md->in_sig,
                                dbus_message_get_signature(m));
                goto out;
        }
        /* The fds stay with the message: libdbus closes them when it goes. */
        if (msg_count_fds(m) > max_call_fds(tree)) {
                conn_send_error(c, m, BUSRPC_ERROR_LIMITS_EXCEEDED, "Too many file descriptors (at most %u per call)",
                                max_call_fds(tree));
                goto out;
        }
        if (c->server && c->kind == CONN_SERVED && c->n_calls >= server_max_pending_calls(c->server)) {
                conn_send_error(c, m, BUSRPC_ERROR_LIMITS_EXCEEDED, "Too many calls in progress (%u)", c->n_calls);
                goto out;
        }
        call = call_new(c, o, m, md->flags & BUSRPC_METHOD_NOREPLY);
        if (!call) {
                conn_send_error(c, m, BUSRPC_ERROR_NO_MEMORY, "Out of memory");
                goto out;
        }
        iter_init_read_conn(&args, m, c);
        if (md->op)
                r = marshal_dispatch(call, md, &args, o->ops, o->self);
        else
                r = md->fn(call, &args, o->ops, o->self);
        call_finish(call, r);
out:
        busrpc_conn_unref(tree);
        busrpc_conn_unref(c);
        return res;
}
