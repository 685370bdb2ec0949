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

busrpc_object *tree_find(Registry *reg, const char *path, const char *iface) {
        return node_find(reg_node(reg, path), iface);
}

bool tree_has_path(Registry *reg, const char *path) {
        return node_has_objects(reg_node(reg, path));
}

/* The ObjectManager strictly above @path exported first, or NULL: the
 * ancestors of the nearest node at or above @path. */
busrpc_object *tree_find_manager(Registry *reg, const char *path) {
        busrpc_object *best = NULL;
        RegNode *n;
        char *p;

        if (!reg)
                return NULL;
        n = reg_node(reg, path);
        if (!n) {
                /* Not a node: start from the nearest ancestor that is one. */
                p = strdup(path);
                if (!p)
                        return NULL;
                while (!n && strcmp(p, "/") != 0) {
                        char *slash = strrchr(p, '/');
                        slash[slash == p ? 1 : 0] = '\0';
                        n = reg_node(reg, p);
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

static int tree_add(Registry *reg, const char *path, const busrpc_interface_desc *iface, const void *ops,
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
        r = reg_add(reg, o);
        if (r < 0) {
                free(o->path);
                free(o);
                return r;
        }
        o->n_ref = ret ? 2 : 1; /* the registry's, and the caller's handle */
        if (ret)
                *ret = o;
        return 0;
}

BUSRPC_EXPORT int busrpc_object_export(busrpc_objects *objs, const char *path, const busrpc_interface_desc *iface,
                                       const void *ops, void *self, busrpc_object **ret) {
        busrpc_object *o;
        int r;

        return_if_fail(objs && path && iface, -EINVAL);
        return_if_fail(valid_object_path(path), -EINVAL);
        /* A descriptor is validated when the registry first sees it. */
        return_if_fail(reg_knows_iface(objs, iface) || iface_desc_valid(iface), -EINVAL);
        r = tree_add(objs, path, iface, ops, self, &o);
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
        return_if_fail(objs && path, -EINVAL);
        return_if_fail(valid_object_path(path), -EINVAL);
        return tree_add(objs, path, NULL, NULL, NULL, ret);
}

BUSRPC_EXPORT busrpc_object *busrpc_object_release(busrpc_object *o) {
        if (!o)
                return NULL;
        if (o->reg) {
                property_flush_object(o); /* its last changes, before it goes */
                if (o->iface)
                        object_manager_emit(o, false);
                reg_remove(o);
                o->n_ref--; /* the registry's reference; the caller's is dropped below */
        }
        object_unref(o); /* the caller's handle */
        return NULL;
}

BUSRPC_EXPORT const char *busrpc_object_get_path(busrpc_object *o) {
        return o ? o->path : NULL;
}

BUSRPC_EXPORT busrpc_conn *busrpc_object_get_conn(busrpc_object *o) {
        return o && o->reg ? o->reg->conn : NULL;
}

BUSRPC_EXPORT busrpc_server *busrpc_object_get_server(busrpc_object *o) {
        return o && o->reg ? o->reg->server : NULL;
}

BUSRPC_EXPORT int busrpc_object_signal_new(busrpc_object *o, const char *member, busrpc_msg **ret) {
        DBusMessage *m;
        busrpc_msg *bm;

        return_if_fail(o && member && ret, -EINVAL);
        return_if_fail(o->iface && valid_member_name(member), -EINVAL);
        if (!o->reg)
                return -ENOTCONN;
        m = dbus_message_new_signal(o->path, o->iface->name, member);
        if (!m)
                return -ENOMEM;
        bm = msg_new_signal(m, o->reg);
        dbus_message_unref(m);
        if (!bm)
                return -ENOMEM;
        *ret = bm;
        return 0;
}
