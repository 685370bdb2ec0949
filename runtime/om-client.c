/* om-client.c: following the objects of an org.freedesktop.DBus.ObjectManager
 * (busrpc_om_client_new()).
 *
 * InterfacesAdded and InterfacesRemoved are subscribed first (through
 * busrpc_proxy_subscribe(), so sender-checked and moved along on
 * reconnection), then GetManagedObjects is called. Its reply holds the
 * effect of every signal the manager sent before it (one sender's messages
 * arrive in order), so signals received before the reply are dropped and
 * the reply is taken as the whole state; signals after it are applied.
 *
 * The client keeps what it knows (object -> interfaces) so that an
 * interface is reported added once and removed only when it was added,
 * and so that each object has one proxy to hand to the callbacks.
 */
#include "validate.h"
#include "watch.h"
#include <stdlib.h>
#include <string.h>

#define OM_IFACE "org.freedesktop.DBus.ObjectManager"

typedef struct OmObject OmObject;
struct OmObject {
        char *path;
        busrpc_proxy *proxy;
        char **ifaces;
        size_t n_ifaces;
        OmObject *prev, *next;
};

struct busrpc_om_client {
        unsigned n_ref;
        bool dead;
        bool ready;
        busrpc_proxy *manager;
        const busrpc_property_table *const *tables;
        size_t n_tables;
        busrpc_om_fn fn;
        const void *ops;
        void *userdata;
        busrpc_subscription *added, *removed;
        busrpc_subscription *owner; /* NULL on a peer connection */
        busrpc_pending *initial;
        OmObject *objects;
        size_t n_objects;
        /* After a reconnection: what the new bus's GetManagedObjects listed
         * ("path\0interface"), so that only the difference is reported. */
        bool resync;
        bool seen_lost; /* out of memory recording: remove nothing */
        char **seen;
        size_t n_seen;
};

static void seen_clear(busrpc_om_client *om) {
        for (size_t i = 0; i < om->n_seen; i++)
                free(om->seen[i]);
        free(om->seen);
        om->seen = NULL;
        om->n_seen = 0;
        om->seen_lost = false;
        om->resync = false;
}

static void seen_add(busrpc_om_client *om, const char *path, const char *iface) {
        size_t a = strlen(path), b = strlen(iface);
        char **v = realloc(om->seen, (om->n_seen + 1) * sizeof(*v));
        char *k = v ? malloc(a + 1 + b + 1) : NULL;

        if (v)
                om->seen = v;
        if (!k) {
                om->seen_lost = true;
                return;
        }
        memcpy(k, path, a + 1);
        memcpy(k + a + 1, iface, b + 1);
        om->seen[om->n_seen++] = k;
}

static bool seen_has(busrpc_om_client *om, const char *path, const char *iface) {
        for (size_t i = 0; i < om->n_seen; i++) {
                const char *k = om->seen[i];

                if (strcmp(k, path) == 0 && strcmp(k + strlen(k) + 1, iface) == 0)
                        return true;
        }
        return false;
}

static void object_free(OmObject *o) {
        for (size_t i = 0; i < o->n_ifaces; i++)
                free(o->ifaces[i]);
        free(o->ifaces);
        busrpc_proxy_unref(o->proxy);
        free(o->path);
        free(o);
}

static void om_unref(busrpc_om_client *om) {
        if (--om->n_ref > 0)
                return;
        while (om->objects) {
                OmObject *o = om->objects;

                om->objects = o->next;
                object_free(o);
        }
        seen_clear(om);
        free(om);
}

static OmObject *object_find(busrpc_om_client *om, const char *path) {
        for (OmObject *o = om->objects; o; o = o->next)
                if (strcmp(o->path, path) == 0)
                        return o;
        return NULL;
}

static ssize_t object_iface(OmObject *o, const char *iface) {
        for (size_t i = 0; i < o->n_ifaces; i++)
                if (strcmp(o->ifaces[i], iface) == 0)
                        return (ssize_t)i;
        return -1;
}

static void object_unlink(busrpc_om_client *om, OmObject *o) {
        if (o->prev)
                o->prev->next = o->next;
        else
                om->objects = o->next;
        if (o->next)
                o->next->prev = o->prev;
        om->n_objects--;
}

static size_t table_of(busrpc_om_client *om, const char *iface) {
        for (size_t i = 0; i < om->n_tables; i++)
                if (strcmp(om->tables[i]->interface, iface) == 0)
                        return i;
        return (size_t)-1;
}

/* Run the callback; false when the client was freed meanwhile (by it). */
static bool om_emit(busrpc_om_client *om, const busrpc_om_event *ev) {
        bool live;

        om->n_ref++;
        om->fn(om, ev, om->ops, om->userdata);
        live = !om->dead;
        om_unref(om);
        return live;
}

/* @iface appeared at @path with the a{sv} at @props. */
static bool om_added(busrpc_om_client *om, const char *path, const char *iface, busrpc_iter *props) {
        busrpc_om_event ev = { .kind = BUSRPC_OM_INTERFACE_ADDED, .path = path, .interface = iface };
        const busrpc_property_table *t = NULL;
        busrpc_iter raw = *props;
        OmObject *o = object_find(om, path);
        char **v, *name;
        void *values = NULL;
        bool live;

        if (om->resync)
                seen_add(om, path, iface);
        if (o && object_iface(o, iface) >= 0)
                return true; /* reported once */
        if (!o) {
                if (!(o = calloc(1, sizeof(*o))) || !(o->path = strdup(path)) ||
                    busrpc_proxy_new(busrpc_proxy_get_conn(om->manager),
                                     busrpc_proxy_get_destination(om->manager), path, &o->proxy) < 0) {
                        if (o)
                                object_free(o);
                        return true; /* out of memory: this object is not followed */
                }
                o->next = om->objects;
                if (om->objects)
                        om->objects->prev = o;
                om->objects = o;
                om->n_objects++;
                ev.object_added = true;
        }
        name = strdup(iface);
        v = name ? realloc(o->ifaces, (o->n_ifaces + 1) * sizeof(*v)) : NULL;
        if (!v) {
                free(name);
                if (o->n_ifaces == 0) {
                        object_unlink(om, o);
                        object_free(o);
                }
                return true;
        }
        o->ifaces = v;
        o->ifaces[o->n_ifaces++] = name;

        ev.proxy = o->proxy;
        ev.table = table_of(om, iface);
        ev.props = &raw;
        if (ev.table != (size_t)-1) {
                t = om->tables[ev.table];
                values = calloc(1, t->size ? t->size : 1);
                if (values) {
                        for (size_t i = 0; i < t->n_props; i++)
                                busrpc_value_init(t->props[i].type, (char *)values + t->props[i].offset);
                        if (props_read_dict(t, props, values, &ev.present) >= 0)
                                ev.values = values;
                }
        }
        live = om_emit(om, &ev);
        if (values) {
                props_clear(t, values, ev.present);
                free(values);
        }
        return live;
}

static bool om_removed(busrpc_om_client *om, const char *path, const char *iface) {
        busrpc_om_event ev = { .kind = BUSRPC_OM_INTERFACE_REMOVED, .path = path, .interface = iface };
        OmObject *o = object_find(om, path);
        ssize_t i = o ? object_iface(o, iface) : -1;
        char *name;
        bool live;

        if (i < 0)
                return true; /* never seen: nothing to report */
        name = o->ifaces[i];
        o->ifaces[i] = o->ifaces[--o->n_ifaces];
        ev.interface = name;
        ev.object_removed = o->n_ifaces == 0;
        ev.proxy = o->proxy;
        ev.table = table_of(om, name);
        if (ev.object_removed)
                object_unlink(om, o); /* freed after the callback, which may use its proxy */
        live = om_emit(om, &ev);
        free(name);
        if (ev.object_removed)
                object_free(o);
        return live;
}

/* o a{sa{sv}}: the body of InterfacesAdded and of each GetManagedObjects entry. */
static bool om_read_object(busrpc_om_client *om, busrpc_iter *it) {
        busrpc_iter arr, entry;
        const char *path = NULL, *iface = NULL;

        if (busrpc_iter_get_basic(it, 'o', &path) < 0 || busrpc_iter_recurse(it, &arr) < 0)
                return true;
        while (busrpc_iter_type(&arr) == BUSRPC_TYPE_DICT_ENTRY) {
                if (busrpc_iter_recurse(&arr, &entry) < 0 || busrpc_iter_get_basic(&entry, 's', &iface) < 0)
                        break;
                if (!valid_interface_name(iface))
                        continue; /* nothing a proxy could call: not reported */
                if (!om_added(om, path, iface, &entry))
                        return false;
        }
        return true;
}

static void om_signal_added(busrpc_msg *m, busrpc_iter *args, void *userdata) {
        busrpc_om_client *om = userdata;

        (void)m;
        if (om->ready && !om->dead)
                (void)om_read_object(om, args);
}

static void om_signal_removed(busrpc_msg *m, busrpc_iter *args, void *userdata) {
        busrpc_om_client *om = userdata;
        const char *path = NULL, *iface = NULL;
        busrpc_iter arr;

        (void)m;
        if (!om->ready || om->dead || busrpc_iter_get_basic(args, 'o', &path) < 0 ||
            busrpc_iter_recurse(args, &arr) < 0)
                return;
        while (busrpc_iter_type(&arr) == BUSRPC_TYPE_STRING) {
                if (busrpc_iter_get_basic(&arr, 's', &iface) < 0 || !om_removed(om, path, iface))
                        break;
        }
}

static void om_got_objects(busrpc_msg *reply, int r, const busrpc_error *err, void *userdata) {
        busrpc_om_client *om = userdata;
        busrpc_om_event ev = { .kind = BUSRPC_OM_READY, .table = (size_t)-1 };
        busrpc_iter it, arr, entry;

        om->initial = busrpc_pending_unref(om->initial);
        if (om->dead || r == -ECANCELED) /* freed, or the owner changed: a new call follows */
                return;
        om->n_ref++;
        if (r >= 0) {
                busrpc_msg_read(reply, &it);
                if (busrpc_iter_recurse(&it, &arr) >= 0)
                        while (busrpc_iter_type(&arr) == BUSRPC_TYPE_DICT_ENTRY && !om->dead)
                                if (busrpc_iter_recurse(&arr, &entry) < 0 || !om_read_object(om, &entry))
                                        break;
        }
        if (om->resync && !om->dead) {
                /* After a reconnection: what the new view lacks went. */
                bool again = !om->seen_lost;

                while (again && !om->dead) {
                        OmObject *gone = NULL;
                        size_t i = 0;

                        for (OmObject *o = om->objects; o && !gone; o = o->next)
                                for (i = 0; i < o->n_ifaces; i++)
                                        if (!seen_has(om, o->path, o->ifaces[i])) {
                                                gone = o;
                                                break;
                                        }
                        /* The callback may free @gone and change the
                         * lists: nothing of them is used after it, and
                         * the walk starts over. */
                        again = gone && om_removed(om, gone->path, gone->ifaces[i]);
                }
        }
        seen_clear(om);
        if (!om->dead) {
                om->ready = r >= 0;
                ev.r = r;
                ev.error = r < 0 ? err : NULL;
                (void)om_emit(om, &ev);
        }
        om_unref(om);
}

static int om_get_objects(busrpc_om_client *om) {
        busrpc_msg *m = NULL;
        int r;

        r = busrpc_proxy_method_new(om->manager, OM_IFACE, "GetManagedObjects", &m);
        if (r < 0)
                return r;
        return busrpc_proxy_call_async(om->manager, m, "a{oa{sa{sv}}}", om_got_objects, om, &om->initial);
}

/* The destination changed hands: the old owner's objects are gone (each
 * interface reported removed); the new owner's are asked for, then READY
 * comes again. */
static void om_owner_changed(void *userdata, bool has_owner) {
        busrpc_om_client *om = userdata;
        busrpc_om_event ev = { .kind = BUSRPC_OM_READY, .table = (size_t)-1 };
        int r;

        if (om->dead)
                return;
        om->n_ref++;
        busrpc_pending_cancel(om->initial);
        seen_clear(om);
        om->ready = false;
        while (om->objects && !om->dead) {
                OmObject *o = om->objects;

                if (!om_removed(om, o->path, o->ifaces[o->n_ifaces - 1]))
                        break;
        }
        if (has_owner && !om->dead && (r = om_get_objects(om)) < 0) {
                ev.r = r;
                (void)om_emit(om, &ev);
        }
        om_unref(om);
}

/* The conn is on a new bus (reconnection) where the destination has an
 * owner: GetManagedObjects again, and only what differs from the old view
 * is reported (added, removed), then READY. */
static void om_relinked(void *userdata, bool has_owner) {
        busrpc_om_client *om = userdata;
        busrpc_om_event ev = { .kind = BUSRPC_OM_READY, .table = (size_t)-1 };
        int r;

        if (!has_owner) {
                om_owner_changed(om, false);
                return;
        }
        if (om->dead)
                return;
        om->n_ref++;
        busrpc_pending_cancel(om->initial);
        seen_clear(om);
        om->ready = false;
        om->resync = true;
        if (!om->dead && (r = om_get_objects(om)) < 0) {
                seen_clear(om);
                ev.r = r;
                (void)om_emit(om, &ev);
        }
        om_unref(om);
}

BUSRPC_EXPORT int busrpc_om_client_new(busrpc_conn *c, const char *destination, const char *path,
                                       const busrpc_property_table *const *tables, size_t n_tables,
                                       busrpc_om_fn fn, const void *ops, void *userdata,
                                       busrpc_om_client **ret) {
        busrpc_om_client *om;
        int r;

        return_if_fail(c && fn && ret && (tables || n_tables == 0), -EINVAL);
        for (size_t i = 0; i < n_tables; i++) {
                r = prop_table_check(tables[i]);
                if (r < 0)
                        return r;
        }
        om = calloc(1, sizeof(*om));
        if (!om)
                return -ENOMEM;
        om->n_ref = 1;
        om->tables = tables;
        om->n_tables = n_tables;
        om->fn = fn;
        om->ops = ops;
        om->userdata = userdata;
        r = busrpc_proxy_new(c, destination, path, &om->manager);
        if (r < 0) {
                free(om);
                return r;
        }
        r = busrpc_proxy_subscribe(om->manager, OM_IFACE, "InterfacesAdded", "oa{sa{sv}}", om_signal_added,
                                   om, NULL, &om->added);
        if (r >= 0)
                r = busrpc_proxy_subscribe(om->manager, OM_IFACE, "InterfacesRemoved", "oas",
                                           om_signal_removed, om, NULL, &om->removed);
        if (r >= 0)
                r = owner_follow(om->manager, om_owner_changed, om_relinked, om, &om->owner);
        if (r >= 0)
                r = om_get_objects(om);
        if (r < 0) {
                busrpc_om_client_release(om);
                return r;
        }
        *ret = om;
        return 0;
}

BUSRPC_EXPORT int busrpc_om_client_has(busrpc_om_client *om, const char *path, const char *interface) {
        OmObject *o;

        return_if_fail(om && path && interface, -EINVAL);
        o = object_find(om, path);
        return o && object_iface(o, interface) >= 0;
}

BUSRPC_EXPORT size_t busrpc_om_client_count(busrpc_om_client *om) {
        return om ? om->n_objects : 0;
}

BUSRPC_EXPORT busrpc_om_client *busrpc_om_client_release(busrpc_om_client *om) {
        if (!om || om->dead)
                return NULL;
        om->dead = true;
        om->added = busrpc_subscription_release(om->added);
        om->removed = busrpc_subscription_release(om->removed);
        om->owner = busrpc_subscription_release(om->owner);
        busrpc_pending_cancel(om->initial); /* its callback drops the handle */
        om->manager = busrpc_proxy_unref(om->manager);
        om_unref(om);
        return NULL;
}
