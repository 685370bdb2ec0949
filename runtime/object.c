/* object.c: exported objects of a connection (or of a server, shared by
 * all its peers): export and release, lookups in the registry, signals
 * from an object. Calls to them are dispatched in dispatch.c. */
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
        fast_signals_free(o->fast_signals);
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

BUSRPC_EXPORT busrpc_objects *busrpc_conn_get_objects(busrpc_conn *c) {
        return reg_ensure(c);
}

BUSRPC_EXPORT int busrpc_object_export(busrpc_objects *objs, const char *path, const busrpc_interface_desc *iface,
                                       const void *ops, void *self, busrpc_object **ret) {
        busrpc_conn *c = reg_tree(objs);
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

BUSRPC_EXPORT int busrpc_objects_add_manager(busrpc_objects *objs, const char *path, busrpc_object **ret) {
        busrpc_conn *c = reg_tree(objs);

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
        return o && o->conn && o->conn->kind != CONN_SERVER ? o->conn : NULL;
}

BUSRPC_EXPORT busrpc_server *busrpc_object_get_server(busrpc_object *o) {
        return o && o->conn && o->conn->kind == CONN_SERVER ? o->conn->server : NULL;
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
