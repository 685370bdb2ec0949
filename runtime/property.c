/* property.c: the server side of org.freedesktop.DBus.Properties (Get, Set,
 * GetAll, PropertiesChanged) and of org.freedesktop.DBus.ObjectManager, on
 * top of busrpc_property_desc. A getter writes into a scratch message that
 * is copied into the reply only when it succeeded, so a getter that fails
 * half-way (or says -EOPNOTSUPP, skipped by GetAll) never leaves a broken
 * reply behind. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "busrpc-internal.h"
#include "conn.h"
#include "error-map.h"
#include "message.h"
#include "property.h"
#include "marshal.h"
#include "registry.h"
#include "variant.h"

/* Run @p's getter into a scratch message holding one variant. */
static int get_value(busrpc_object *o, const busrpc_property_desc *p, DBusMessage **ret, busrpc_error *err) {
        DBusMessage *scratch = dbus_message_new(DBUS_MESSAGE_TYPE_METHOD_RETURN);
        busrpc_iter it, sub;
        int r;

        if (!scratch)
                return -ENOMEM;
        iter_init_append(&it, scratch);
        r = busrpc_iter_open(&it, BUSRPC_TYPE_VARIANT, p->sig, &sub);
        if (r >= 0) {
                r = prop_get(p, &sub, o->ops, o->self, err);
                if (r >= 0)
                        r = busrpc_iter_close(&it, &sub);
                /* A getter that failed, or appended nothing (close refuses an
                 * empty variant): an open container left in the scratch
                 * message would leak libdbus's signature buffer. */
                if (r < 0)
                        busrpc_iter_abandon(&it, &sub);
        }
        if (r >= 0 && !dbus_message_has_signature(scratch, "v"))
                r = -EBADMSG;
        if (r < 0) {
                dbus_message_unref(scratch);
                return r;
        }
        *ret = scratch;
        return 0;
}

/* Append the variant of @p to @dst. */
static int append_value(busrpc_object *o, const busrpc_property_desc *p, DBusMessageIter *dst, busrpc_error *err) {
        DBusMessage *scratch;
        DBusMessageIter it;
        int r = get_value(o, p, &scratch, err);

        if (r < 0)
                return r;
        dbus_message_iter_init(scratch, &it);
        r = value_copy(&it, dst, 0);
        dbus_message_unref(scratch);
        return r;
}

static bool readable(const busrpc_property_desc *p) {
        return prop_can_get(p) && (p->flags & BUSRPC_PROP_READ);
}

int property_append_all(busrpc_object *o, DBusMessageIter *it, busrpc_error *err) {
        DBusMessageIter arr, entry;
        int r = 0;

        if (!dbus_message_iter_open_container(it, DBUS_TYPE_ARRAY, "{sv}", &arr))
                return -ENOMEM;
        for (size_t i = 0; i < o->iface->n_properties && r >= 0; i++) {
                const busrpc_property_desc *p = &o->iface->properties[i];
                DBusMessage *scratch;
                DBusMessageIter sit;
                if (!readable(p))
                        continue;
                r = get_value(o, p, &scratch, err);
                if (r == -EOPNOTSUPP) {
                        r = 0;
                        continue;
                }
                if (r < 0)
                        break;
                dbus_message_iter_init(scratch, &sit);
                if (!dbus_message_iter_open_container(&arr, DBUS_TYPE_DICT_ENTRY, NULL, &entry) ||
                    !dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, &p->name) ||
                    value_copy(&sit, &entry, 0) < 0 || !dbus_message_iter_close_container(&arr, &entry))
                        r = -ENOMEM;
                dbus_message_unref(scratch);
        }
        if (r < 0) {
                dbus_message_iter_abandon_container(it, &arr);
                return r;
        }
        return dbus_message_iter_close_container(it, &arr) ? 0 : -ENOMEM;
}

static const busrpc_property_desc *find_prop(busrpc_object *o, const char *name) {
        if (o->info)
                return iface_find_prop(o->info, name);
        /* unexported: the descriptor's table */
        for (size_t i = 0; i < o->iface->n_properties; i++)
                if (strcmp(o->iface->properties[i].name, name) == 0)
                        return &o->iface->properties[i];
        return NULL;
}

static DBusMessage *error_reply(DBusMessage *call, int r, busrpc_error *err, const char *fallback_name,
                                const char *fallback_text) {
        DBusMessage *reply;

        if (busrpc_error_is_set(err))
                reply = error_to_reply(call, err);
        else if (r == -ENOMEM)
                reply = dbus_message_new_error(call, BUSRPC_ERROR_NO_MEMORY, "Out of memory");
        else
                reply = dbus_message_new_error(call, fallback_name, fallback_text);
        busrpc_error_clear(err);
        return reply;
}

static DBusMessage *do_get(Registry *reg, DBusMessage *m, const char *path) {
        const char *iface, *name;
        busrpc_object *o;
        const busrpc_property_desc *p;
        busrpc_error err = BUSRPC_ERROR_INIT;
        DBusMessage *reply;
        DBusMessageIter it;
        int r;

        if (!dbus_message_has_signature(m, "ss"))
                return dbus_message_new_error_printf(m, BUSRPC_ERROR_INVALID_ARGS,
                                                     "Invalid arguments for Get: expected signature 'ss', got '%s'",
                                                     dbus_message_get_signature(m));
        dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &iface, DBUS_TYPE_STRING, &name, DBUS_TYPE_INVALID);
        o = tree_find(reg, path, *iface ? iface : NULL);
        p = o && o->iface ? find_prop(o, name) : NULL;
        if (!o || !o->iface)
                return dbus_message_new_error_printf(m, BUSRPC_ERROR_UNKNOWN_INTERFACE,
                                                     "Unknown interface '%s' at object '%s'", iface, path);
        if (!p)
                return dbus_message_new_error_printf(m, BUSRPC_ERROR_UNKNOWN_PROPERTY,
                                                     "Unknown property '%s' on interface '%s'", name, iface);
        if (!readable(p))
                return dbus_message_new_error_printf(m, BUSRPC_ERROR_ACCESS_DENIED, "Property '%s' is write-only",
                                                     name);
        reply = dbus_message_new_method_return(m);
        if (!reply)
                return NULL;
        dbus_message_iter_init_append(reply, &it);
        object_ref(o); /* the getter may unexport it */
        r = append_value(o, p, &it, &err);
        object_unref(o);
        if (r < 0) {
                dbus_message_unref(reply);
                if (r == -EOPNOTSUPP && !busrpc_error_is_set(&err))
                        return dbus_message_new_error_printf(m, BUSRPC_ERROR_NOT_SUPPORTED,
                                                             "Property '%s' is not implemented", name);
                return error_reply(m, r, &err, BUSRPC_ERROR_FAILED, "Reading the property failed");
        }
        return reply;
}

static int property_changed(busrpc_object *o, const busrpc_property_desc *p);

static DBusMessage *do_set(busrpc_conn *c, Registry *reg, DBusMessage *m, const char *path) {
        char sigbuf[BUSRPC_SIGNATURE_MAX + 1];
        const char *iface, *name, *vsig;
        busrpc_object *o;
        const busrpc_property_desc *p;
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_iter it, value;
        int r;

        if (!dbus_message_has_signature(m, "ssv"))
                return dbus_message_new_error_printf(m, BUSRPC_ERROR_INVALID_ARGS,
                                                     "Invalid arguments for Set: expected signature 'ssv', got '%s'",
                                                     dbus_message_get_signature(m));
        iter_init_read_conn(&it, m, c); /* the caller's connection: its shm bound */
        if (busrpc_iter_get_basic(&it, BUSRPC_TYPE_STRING, &iface) < 0 ||
            busrpc_iter_get_basic(&it, BUSRPC_TYPE_STRING, &name) < 0)
                return dbus_message_new_error(m, BUSRPC_ERROR_INVALID_ARGS, "Invalid arguments for Set");
        o = tree_find(reg, path, *iface ? iface : NULL);
        if (!o || !o->iface)
                return dbus_message_new_error_printf(m, BUSRPC_ERROR_UNKNOWN_INTERFACE,
                                                     "Unknown interface '%s' at object '%s'", iface, path);
        p = find_prop(o, name);
        if (!p)
                return dbus_message_new_error_printf(m, BUSRPC_ERROR_UNKNOWN_PROPERTY,
                                                     "Unknown property '%s' on interface '%s'", name, iface);
        if (!prop_can_set(p) || !(p->flags & BUSRPC_PROP_WRITE))
                return dbus_message_new_error_printf(m, BUSRPC_ERROR_PROPERTY_READ_ONLY, "Property '%s' is read-only",
                                                     name);
        vsig = busrpc_iter_get_variant_signature(&it, sigbuf, sizeof(sigbuf)) >= 0 ? sigbuf : NULL;
        if (!vsig || strcmp(vsig, p->sig) != 0)
                return dbus_message_new_error_printf(
                        m, BUSRPC_ERROR_INVALID_ARGS, "Invalid value for property '%s': expected signature '%s', got '%s'",
                        name, p->sig, vsig ? vsig : "");
        if (busrpc_iter_recurse(&it, &value) < 0)
                return dbus_message_new_error(m, BUSRPC_ERROR_INVALID_ARGS, "Invalid arguments for Set");
        object_ref(o); /* the setter may unexport it */
        r = prop_set(p, &value, o->ops, o->self, &err);
        /* Announced as the emits flag says, unless the setter said the
         * value is what it was (or unexported the object). */
        if (r >= 0 && r != BUSRPC_UNCHANGED && o->reg)
                property_changed(o, p);
        object_unref(o);
        if (r < 0) {
                if (r == -EOPNOTSUPP && !busrpc_error_is_set(&err))
                        return dbus_message_new_error_printf(m, BUSRPC_ERROR_PROPERTY_READ_ONLY,
                                                             "Property '%s' is read-only", name);
                if (r == -EINVAL && !busrpc_error_is_set(&err))
                        return dbus_message_new_error_printf(m, BUSRPC_ERROR_INVALID_ARGS,
                                                             "Invalid value for property '%s'", name);
                return error_reply(m, r, &err, BUSRPC_ERROR_FAILED, "Setting the property failed");
        }
        return dbus_message_new_method_return(m);
}

static DBusMessage *do_get_all(Registry *reg, DBusMessage *m, const char *path) {
        const char *iface;
        busrpc_object *o;
        busrpc_error err = BUSRPC_ERROR_INIT;
        DBusMessage *reply;
        DBusMessageIter it;
        int r;

        if (!dbus_message_has_signature(m, "s"))
                return dbus_message_new_error_printf(m, BUSRPC_ERROR_INVALID_ARGS,
                                                     "Invalid arguments for GetAll: expected signature 's', got '%s'",
                                                     dbus_message_get_signature(m));
        dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &iface, DBUS_TYPE_INVALID);
        o = tree_find(reg, path, *iface ? iface : NULL);
        if (!o || !o->iface)
                return dbus_message_new_error_printf(m, BUSRPC_ERROR_UNKNOWN_INTERFACE,
                                                     "Unknown interface '%s' at object '%s'", iface, path);
        reply = dbus_message_new_method_return(m);
        if (!reply)
                return NULL;
        dbus_message_iter_init_append(reply, &it);
        object_ref(o); /* a getter may unexport it */
        r = property_append_all(o, &it, &err);
        object_unref(o);
        if (r < 0) {
                dbus_message_unref(reply);
                return error_reply(m, r, &err, BUSRPC_ERROR_FAILED, "Reading the properties failed");
        }
        return reply;
}

DBusMessage *property_dispatch(busrpc_conn *c, Registry *reg, DBusMessage *m, const char *path,
                               const char *member) {
        if (!tree_has_path(reg, path))
                return dbus_message_new_error_printf(m, BUSRPC_ERROR_UNKNOWN_OBJECT, "Unknown object '%s'", path);
        if (strcmp(member, "Get") == 0)
                return do_get(reg, m, path);
        if (strcmp(member, "Set") == 0)
                return do_set(c, reg, m, path);
        if (strcmp(member, "GetAll") == 0)
                return do_get_all(reg, m, path);
        return dbus_message_new_error_printf(m, BUSRPC_ERROR_UNKNOWN_METHOD,
                                             "Unknown method '%s' on interface '" IFACE_PROPERTIES "'", member);
}

/* ---- PropertiesChanged, coalesced ----
 *
 * A change (busrpc_object_notify(), or a successful Set from the wire) is
 * queued, not sent: the changes made on one object tree during one loop
 * iteration go out at the start of the next one (a 0 ms timer of the
 * tree's loop), one PropertiesChanged per object (that is, per path and
 * interface), objects in the order of their first change, properties in
 * the order first changed, each once. Values are read through the getter
 * when the signal is built, so a property changed twice goes once, with its
 * latest value. Everything queued for a tree is sent before its objects go
 * (reg_disown(), busrpc_object_release()) and on
 * busrpc_object_flush_changes() / busrpc_objects_flush_changes().
 *
 * The queue lives here rather than in busrpc_object and busrpc_conn: it is
 * per thread, as a connection and its objects are used from one thread. */

/* The properties of one object changed since its last PropertiesChanged. */
typedef struct Changes {
        busrpc_object *o; /* referenced */
        const busrpc_property_desc **props;
        size_t n, cap;
        struct Changes *prev, *next;
} Changes;

/* What waits on one registry (of a bus or peer conn, or of a server), and
 * the timer that sends it. */
typedef struct Pending {
        Registry *reg;        /* not referenced: flushed before its owner goes */
        busrpc_loop *loop;    /* @timer's; not referenced (the owner holds it) */
        busrpc_source *timer; /* NULL while nothing is scheduled */
        Changes *first, *last;
        /* Changes by object (linear probing, at most half full), once
         * INDEX_MIN objects wait: a service that changes many objects in
         * one iteration finds each in O(1). NULL below that, or when the
         * table could not grow (the list is walked then). */
        Changes **index;
        size_t index_mask, n;
        struct Pending *next;
} Pending;

#define INDEX_MIN 8

static __thread Pending *pending;

static Pending *pending_find(Registry *reg) {
        for (Pending *pd = pending; pd; pd = pd->next)
                if (pd->reg == reg)
                        return pd;
        return NULL;
}

static size_t obj_hash(const busrpc_object *o) {
        uint64_t x = (uint64_t)(uintptr_t)o;

        x ^= x >> 29;
        x *= UINT64_C(0x9E3779B97F4A7C15);
        return (size_t)(x ^ (x >> 32));
}

static void index_put(Pending *pd, Changes *ch) {
        size_t i = obj_hash(ch->o) & pd->index_mask;

        while (pd->index[i])
                i = (i + 1) & pd->index_mask;
        pd->index[i] = ch;
}

/* @ch was appended to @pd's list: index it (or build the index). */
static void index_add(Pending *pd, Changes *ch) {
        Changes **v;
        size_t cap;

        pd->n++;
        if (pd->index && 2 * pd->n <= pd->index_mask + 1) {
                index_put(pd, ch);
                return;
        }
        free(pd->index);
        pd->index = NULL;
        if (pd->n < INDEX_MIN)
                return;
        for (cap = 4 * INDEX_MIN; cap < 4 * pd->n; cap *= 2)
                ;
        v = calloc(cap, sizeof(*v));
        if (!v)
                return; /* the list is walked instead */
        pd->index = v;
        pd->index_mask = cap - 1;
        for (Changes *c = pd->first; c; c = c->next)
                index_put(pd, c);
}

/* Take @ch out of @pd's index (backward-shift deletion). */
static void index_remove(Pending *pd, Changes *ch) {
        size_t i, j, k;

        pd->n--;
        if (!pd->index)
                return;
        for (i = obj_hash(ch->o) & pd->index_mask; pd->index[i] != ch; i = (i + 1) & pd->index_mask)
                ;
        pd->index[i] = NULL;
        for (j = (i + 1) & pd->index_mask; pd->index[j]; j = (j + 1) & pd->index_mask) {
                k = obj_hash(pd->index[j]->o) & pd->index_mask;
                /* the entry at j may move to i unless its home lies in (i, j] */
                if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
                        continue;
                pd->index[i] = pd->index[j];
                pd->index[j] = NULL;
                i = j;
        }
}

static Changes *changes_find(Pending *pd, busrpc_object *o) {
        /* Changes come in runs on one object: the last one first. */
        if (pd->last && pd->last->o == o)
                return pd->last;
        if (!pd->index) {
                for (Changes *c = pd->first; c; c = c->next)
                        if (c->o == o)
                                return c;
                return NULL;
        }
        for (size_t i = obj_hash(o) & pd->index_mask; pd->index[i]; i = (i + 1) & pd->index_mask)
                if (pd->index[i]->o == o)
                        return pd->index[i];
        return NULL;
}

static void changes_free(Changes *ch) {
        object_unref(ch->o);
        free(ch->props);
        free(ch);
}

/* Forget @pd (its changes must have been taken). */
static void pending_free(Pending *pd) {
        for (Pending **pp = &pending; *pp; pp = &(*pp)->next)
                if (*pp == pd) {
                        *pp = pd->next;
                        break;
                }
        busrpc_source_release(pd->timer);
        free(pd->index);
        free(pd);
}

/* Build and send the PropertiesChanged of @ch. A property whose getter
 * fails goes into the invalidated list: it did change, and clients that
 * want it will ask. An object unexported meanwhile sends nothing. */
static int changes_send(Changes *ch) {
        busrpc_object *o = ch->o;
        busrpc_error err = BUSRPC_ERROR_INIT;
        DBusMessageIter it, arr, entry, sit;
        DBusMessage *sig;
        bool *inval;
        int r = 0;

        if (!o->reg)
                return 0;
        inval = calloc(ch->n, sizeof(*inval));
        sig = dbus_message_new_signal(o->path, IFACE_PROPERTIES, "PropertiesChanged");
        if (!inval || !sig) {
                free(inval);
                if (sig)
                        dbus_message_unref(sig);
                return -ENOMEM;
        }
        dbus_message_iter_init_append(sig, &it);
        if (!dbus_message_iter_append_basic(&it, DBUS_TYPE_STRING, &o->iface->name) ||
            !dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{sv}", &arr)) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < ch->n && r >= 0; i++) {
                const busrpc_property_desc *p = ch->props[i];
                DBusMessage *scratch;

                if ((p->flags & BUSRPC_PROP_EMITS_MASK) != BUSRPC_PROP_EMITS_TRUE) {
                        inval[i] = true;
                        continue;
                }
                if (get_value(o, p, &scratch, &err) < 0) {
                        busrpc_error_clear(&err);
                        inval[i] = true;
                        continue;
                }
                dbus_message_iter_init(scratch, &sit);
                if (!dbus_message_iter_open_container(&arr, DBUS_TYPE_DICT_ENTRY, NULL, &entry))
                        r = -ENOMEM;
                else if (!dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, &p->name) ||
                         value_copy(&sit, &entry, 0) < 0) {
                        dbus_message_iter_abandon_container(&arr, &entry);
                        r = -ENOMEM;
                } else if (!dbus_message_iter_close_container(&arr, &entry))
                        r = -ENOMEM;
                dbus_message_unref(scratch);
        }
        if (r < 0) {
                dbus_message_iter_abandon_container(&it, &arr);
                goto out;
        }
        if (!dbus_message_iter_close_container(&it, &arr) ||
            !dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "s", &arr)) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < ch->n && r >= 0; i++)
                if (inval[i] && !dbus_message_iter_append_basic(&arr, DBUS_TYPE_STRING, &ch->props[i]->name))
                        r = -ENOMEM;
        if (r < 0) {
                dbus_message_iter_abandon_container(&it, &arr);
                goto out;
        }
        if (!dbus_message_iter_close_container(&it, &arr)) {
                r = -ENOMEM;
                goto out;
        }
        /* A getter may have unexported the object. */
        if (o->reg)
                r = reg_send(o->reg, sig);
out:
        dbus_message_unref(sig);
        free(inval);
        return r;
}

/* Send and free every Changes of @list, in order. Return: the first error. */
static int changes_send_all(Changes *list) {
        int r = 0;

        while (list) {
                Changes *ch = list;
                int k;

                list = ch->next;
                k = changes_send(ch);
                if (k < 0 && r >= 0)
                        r = k;
                changes_free(ch);
        }
        return r;
}

int property_flush_reg(Registry *reg) {
        Pending *pd = pending_find(reg);
        Changes *list;

        if (!pd)
                return 0;
        /* Take everything first: getters run while it is sent, and may queue
         * new changes (a new Pending, a new timer) or unexport objects. */
        list = pd->first;
        pending_free(pd);
        return changes_send_all(list);
}

int property_flush_object(busrpc_object *o) {
        Pending *pd = o->reg ? pending_find(o->reg) : NULL;
        Changes *ch = pd ? changes_find(pd, o) : NULL;

        if (!ch)
                return 0;
        index_remove(pd, ch);
        if (ch->prev)
                ch->prev->next = ch->next;
        else
                pd->first = ch->next;
        if (ch->next)
                ch->next->prev = ch->prev;
        else
                pd->last = ch->prev;
        ch->prev = ch->next = NULL;
        if (!pd->first)
                pending_free(pd);
        return changes_send_all(ch);
}

static int on_flush_timer(busrpc_source *s, void *userdata) {
        Pending *pd = pending_find(userdata);

        (void)s;
        if (pd)
                property_flush_reg(pd->reg);
        return 0;
}

/* Queue a change of @p on @o (exported) for the next flush. */
static int changes_add(busrpc_object *o, const busrpc_property_desc *p) {
        Registry *reg = o->reg;
        busrpc_loop *loop = reg_loop(reg);
        Pending *pd = pending_find(reg);
        Changes *ch;
        int r;

        if (!pd) {
                pd = calloc(1, sizeof(*pd));
                if (!pd)
                        return -ENOMEM;
                pd->reg = reg;
                pd->next = pending;
                pending = pd;
        }
        ch = changes_find(pd, o);
        if (!ch) {
                ch = calloc(1, sizeof(*ch));
                if (!ch) {
                        if (!pd->first)
                                pending_free(pd);
                        return -ENOMEM;
                }
                ch->o = object_ref(o);
                ch->prev = pd->last;
                if (pd->last)
                        pd->last->next = ch;
                else
                        pd->first = ch;
                pd->last = ch;
                index_add(pd, ch);
        }
        for (size_t i = 0; i < ch->n; i++)
                if (ch->props[i] == p)
                        goto scheduled;
        if (ch->n == ch->cap) {
                size_t cap = ch->cap ? 2 * ch->cap : 4;
                const busrpc_property_desc **v = realloc(ch->props, cap * sizeof(*v));
                if (!v)
                        return -ENOMEM; /* what is queued stays queued */
                ch->props = v;
                ch->cap = cap;
        }
        ch->props[ch->n++] = p;
scheduled:
        /* Without a loop, nothing would ever send it: now. */
        if (!loop)
                return property_flush_reg(reg);
        if (pd->timer && pd->loop != loop) /* the owner moved to another loop */
                pd->timer = busrpc_source_release(pd->timer);
        if (!pd->timer) {
                r = busrpc_loop_add_timer(loop, 0, false, on_flush_timer, reg, &pd->timer);
                if (r < 0)
                        return r;
                pd->loop = loop;
        }
        return 0;
}

/* @p of @o changed: queue it as its emits flag says (a property nobody can
 * read, with emits true, has nothing to send either). */
static int property_changed(busrpc_object *o, const busrpc_property_desc *p) {
        unsigned emits = p->flags & BUSRPC_PROP_EMITS_MASK;

        if (emits == BUSRPC_PROP_EMITS_CONST || emits == BUSRPC_PROP_EMITS_FALSE)
                return 0;
        if (emits == BUSRPC_PROP_EMITS_TRUE && !readable(p))
                return 0;
        return changes_add(o, p);
}

BUSRPC_EXPORT int busrpc_object_notify(busrpc_object *o, const char *prop) {
        const busrpc_property_desc *p;

        return_if_fail(o && o->iface && prop, -EINVAL);
        p = find_prop(o, prop);
        return_if_fail(p, -EINVAL);
        if (!o->reg)
                return -ENOTCONN;
        return property_changed(o, p);
}

BUSRPC_EXPORT int busrpc_object_flush_changes(busrpc_object *o) {
        return_if_fail(o, -EINVAL);
        return property_flush_object(o);
}

BUSRPC_EXPORT int busrpc_objects_flush_changes(busrpc_objects *objs) {
        return_if_fail(objs, -EINVAL);
        return property_flush_reg(objs);
}

/* ---- ObjectManager ---- */

/* Append a{sa{sv}}: the interfaces at @first's node from @first on, with
 * their properties. */
static int append_interfaces(busrpc_object *first, DBusMessageIter *it) {
        DBusMessageIter arr, entry;
        busrpc_error err = BUSRPC_ERROR_INIT;
        int r = 0;

        if (!dbus_message_iter_open_container(it, DBUS_TYPE_ARRAY, "{sa{sv}}", &arr))
                return -ENOMEM;
        for (busrpc_object *o = first, *next; o && r >= 0; o = next) {
                if (!dbus_message_iter_open_container(&arr, DBUS_TYPE_DICT_ENTRY, NULL, &entry) ||
                    !dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, &o->iface->name)) {
                        r = -ENOMEM;
                        break;
                }
                /* Getters may unexport objects: hold this one; once it is
                 * out of the tree its node_next is NULL and the walk ends. */
                object_ref(o);
                r = property_append_all(o, &entry, &err);
                next = o->node_next;
                object_unref(o);
                busrpc_error_clear(&err);
                if (r < 0) {
                        dbus_message_iter_abandon_container(&arr, &entry);
                        break;
                }
                dbus_message_iter_close_container(&arr, &entry);
        }
        if (r < 0) {
                dbus_message_iter_abandon_container(it, &arr);
                return r;
        }
        return dbus_message_iter_close_container(it, &arr) ? 0 : -ENOMEM;
}

static int cmp_seq(const void *a, const void *b) {
        uint64_t x = (*(busrpc_object *const *)a)->seq, y = (*(busrpc_object *const *)b)->seq;

        return (x > y) - (x < y);
}

/* The first interface object of every path strictly below @path, in export
 * order (the order the paths got their first interface), each referenced. */
static busrpc_object **managed_objects(Registry *reg, const char *path, size_t *ret_n) {
        RegNode *top = reg_node(reg, path);
        busrpc_object **v = NULL;
        size_t n = 0, cap = 0;

        for (RegNode *node = top; node && (node = node_next_below(top, node));) {
                if (!node->first)
                        continue;
                if (n == cap) {
                        busrpc_object **nv;
                        cap = cap ? 2 * cap : 16;
                        nv = realloc(v, cap * sizeof(*v));
                        if (!nv) {
                                for (size_t i = 0; i < n; i++)
                                        object_unref(v[i]);
                                free(v);
                                return NULL;
                        }
                        v = nv;
                }
                v[n++] = object_ref(node->first);
        }
        if (n > 1)
                qsort(v, n, sizeof(*v), cmp_seq);
        *ret_n = n;
        return v ? v : calloc(1, sizeof(*v)); /* non-NULL even when empty */
}

DBusMessage *object_manager_reply(Registry *reg, DBusMessage *call, const char *path) {
        DBusMessage *reply;
        DBusMessageIter it, arr, entry;
        busrpc_object **objs;
        size_t n = 0, i;
        int r = 0;

        if (!dbus_message_has_signature(call, ""))
                return dbus_message_new_error(call, BUSRPC_ERROR_INVALID_ARGS,
                                              "Invalid arguments for GetManagedObjects: expected signature ''");
        objs = managed_objects(reg, path, &n);
        if (!objs)
                return dbus_message_new_error(call, BUSRPC_ERROR_NO_MEMORY, "Out of memory");
        reply = dbus_message_new_method_return(call);
        if (!reply)
                goto out;
        dbus_message_iter_init_append(reply, &it);
        if (!dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{oa{sa{sv}}}", &arr)) {
                dbus_message_unref(reply);
                reply = NULL;
                goto out;
        }
        for (i = 0; i < n && r >= 0; i++) {
                /* Getters may have unexported objects: take the path's
                 * interfaces as they are now, and skip a path left empty. */
                busrpc_object *first = objs[i]->node ? objs[i]->node->first : NULL;
                const char *p = objs[i]->path;
                if (!first)
                        continue;
                if (!dbus_message_iter_open_container(&arr, DBUS_TYPE_DICT_ENTRY, NULL, &entry) ||
                    !dbus_message_iter_append_basic(&entry, DBUS_TYPE_OBJECT_PATH, &p)) {
                        r = -ENOMEM;
                        break;
                }
                r = append_interfaces(first, &entry);
                if (r < 0)
                        dbus_message_iter_abandon_container(&arr, &entry);
                else
                        dbus_message_iter_close_container(&arr, &entry);
        }
        if (r < 0) {
                dbus_message_iter_abandon_container(&it, &arr);
                dbus_message_unref(reply);
                reply = dbus_message_new_error(call, BUSRPC_ERROR_FAILED, "Reading the properties failed");
        } else {
                dbus_message_iter_close_container(&it, &arr);
        }
out:
        for (i = 0; i < n; i++)
                object_unref(objs[i]);
        free(objs);
        return reply;
}

int object_manager_emit(busrpc_object *o, bool added) {
        busrpc_object *om = tree_find_manager(o->reg, o->path);
        busrpc_error err = BUSRPC_ERROR_INIT;
        DBusMessageIter it, arr, entry;
        DBusMessage *sig;
        const char *path = o->path;
        int r = 0;

        if (!om || !o->iface)
                return 0;
        sig = dbus_message_new_signal(om->path, IFACE_OBJECT_MANAGER, added ? "InterfacesAdded" : "InterfacesRemoved");
        if (!sig)
                return -ENOMEM;
        dbus_message_iter_init_append(sig, &it);
        if (!dbus_message_iter_append_basic(&it, DBUS_TYPE_OBJECT_PATH, &path))
                r = -ENOMEM;
        else if (added) {
                if (!dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{sa{sv}}", &arr) ||
                    !dbus_message_iter_open_container(&arr, DBUS_TYPE_DICT_ENTRY, NULL, &entry) ||
                    !dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, &o->iface->name))
                        r = -ENOMEM;
                else {
                        r = property_append_all(o, &entry, &err);
                        busrpc_error_clear(&err);
                        if (r >= 0) {
                                dbus_message_iter_close_container(&arr, &entry);
                                dbus_message_iter_close_container(&it, &arr);
                        } else {
                                /* Open containers would leak with the message. */
                                dbus_message_iter_abandon_container(&arr, &entry);
                                dbus_message_iter_abandon_container(&it, &arr);
                        }
                }
        } else {
                if (!dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "s", &arr) ||
                    !dbus_message_iter_append_basic(&arr, DBUS_TYPE_STRING, &o->iface->name) ||
                    !dbus_message_iter_close_container(&it, &arr))
                        r = -ENOMEM;
        }
        if (r >= 0)
                r = reg_send(o->reg, sig);
        dbus_message_unref(sig);
        return r;
}
