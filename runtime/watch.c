/* watch.c: the client side of typed properties: PropertiesChanged decoded
 * by a property table (busrpc_proxy_watch_properties()), and a cache of
 * the values kept by GetAll, the signal and Get
 * (busrpc_proxy_cache_properties()).
 *
 * Both ride on subscription_new(), so the sender check, the owner
 * tracking and the reconnection handling are the ones signals have; their
 * rules carry arg0=interface, so the watches and caches of one (conn,
 * sender, path, interface) share one match rule on the bus. After a
 * reconnection a cache asks GetAll again (owner_follow()'s hook): the
 * values of the old bus are reported invalidated, then the new ones. The
 * values are read with busrpc_value_read(), the one marshaller; what the
 * table does not describe, or describes with another signature, is skipped
 * as if it had not been sent: a property a newer service added, or a
 * service that changed a type, costs the client that property only.
 *
 * Ordering: a reply and the signals of one sender arrive in the order the
 * sender wrote them. So a signal received before the GetAll reply is older
 * than the reply (which holds its effect): the cache ignores it. A value
 * received while a Get of that property is on its way is older than the
 * Get's answer, which overwrites it when it comes.
 */
#include "watch.h"
#include "conn.h"
#include "marshal.h"
#include "subscription.h"
#include "validate.h"
#include <stdlib.h>
#include <string.h>

/* ---- the table ---- */

int prop_table_check(const busrpc_property_table *t) {
        return_if_fail(t && valid_interface_name(t->interface), -EINVAL);
        return_if_fail(t->props || t->n_props == 0, -EINVAL);
        if (t->n_props > 64)
                return -E2BIG;
        for (size_t i = 0; i < t->n_props; i++) {
                const busrpc_property_info *p = &t->props[i];

                /* The type is checked once here, so the marshaller trusts it later. */
                return_if_fail(valid_member_name(p->name) && marshal_type_valid(p->type), -EINVAL);
                return_if_fail(p->offset <= t->size && p->type->size <= t->size - p->offset, -EINVAL);
                for (size_t j = 0; j < i; j++)
                        return_if_fail(strcmp(t->props[j].name, p->name) != 0, -EINVAL);
        }
        return 0;
}

int prop_table_find(const busrpc_property_table *t, const char *name) {
        for (size_t i = 0; i < t->n_props; i++)
                if (strcmp(t->props[i].name, name) == 0)
                        return (int)i;
        return -1;
}

void *props_new(const busrpc_property_table *t) {
        char *v = calloc(1, t->size ? t->size : 1);

        if (v)
                for (size_t i = 0; i < t->n_props; i++)
                        busrpc_value_init(t->props[i].type, v + t->props[i].offset);
        return v;
}

void props_clear(const busrpc_property_table *t, void *values, uint64_t mask) {
        for (size_t i = 0; i < t->n_props; i++)
                if (mask & PROP_BIT(i))
                        busrpc_value_clear(t->props[i].type, (char *)values + t->props[i].offset);
}

static void props_free(const busrpc_property_table *t, void *values, uint64_t mask) {
        if (!values)
                return;
        props_clear(t, values, mask);
        free(values);
}

int props_read_dict(const busrpc_property_table *t, busrpc_iter *it, void *values, uint64_t *ret_present) {
        char sigbuf[BUSRPC_SIGNATURE_MAX + 1];
        busrpc_iter arr, entry, var;
        uint64_t present = 0;
        int r;

        r = busrpc_iter_recurse(it, &arr);
        if (r < 0)
                return r;
        while (busrpc_iter_type(&arr) == BUSRPC_TYPE_DICT_ENTRY) {
                const busrpc_property_info *p;
                const char *name = NULL, *sig;
                int i;

                if (busrpc_iter_recurse(&arr, &entry) < 0 || busrpc_iter_get_basic(&entry, 's', &name) < 0)
                        break;
                i = prop_table_find(t, name);
                if (i < 0 || (present & PROP_BIT(i)))
                        continue;
                p = &t->props[i];
                sig = busrpc_iter_get_variant_signature(&entry, sigbuf, sizeof(sigbuf)) >= 0 ? sigbuf : NULL;
                if (!sig || strcmp(sig, p->type->signature) != 0 || busrpc_iter_recurse(&entry, &var) < 0)
                        continue;
                if (busrpc_value_read(&var, p->type, (char *)values + p->offset, NULL) < 0)
                        continue; /* left empty by the marshaller */
                present |= PROP_BIT(i);
        }
        *ret_present = present;
        return 0;
}

/* Read PropertiesChanged (signature checked: sa{sv}as) by @t into @values. */
static bool changes_read(const busrpc_property_table *t, busrpc_iter *args, void *values,
                         uint64_t *ret_changed, uint64_t *ret_invalidated) {
        const char *iface = NULL, *name;
        uint64_t changed = 0, invalidated = 0;
        busrpc_iter arr;

        if (busrpc_iter_get_basic(args, 's', &iface) < 0 || strcmp(iface, t->interface) != 0)
                return false;
        if (props_read_dict(t, args, values, &changed) < 0 || busrpc_iter_recurse(args, &arr) < 0) {
                props_clear(t, values, changed);
                return false;
        }
        while (busrpc_iter_type(&arr) == BUSRPC_TYPE_STRING) {
                int i;

                name = NULL;
                if (busrpc_iter_get_basic(&arr, 's', &name) < 0)
                        break;
                if ((i = prop_table_find(t, name)) >= 0)
                        invalidated |= PROP_BIT(i);
        }
        if (!changed && !invalidated)
                return false;
        *ret_changed = changed;
        *ret_invalidated = invalidated;
        return true;
}

/* ---- who owns the destination ---- */

typedef struct OwnerFollow {
        busrpc_conn *conn; /* borrowed: the hook runs only while the subscription is on it */
        char *name;
        void (*cb)(void *userdata, bool has_owner);
        void (*relinked)(void *userdata, bool has_owner);
        void *userdata;
} OwnerFollow;

static void owner_follow_free(void *data) {
        OwnerFollow *f = data;

        free(f->name);
        free(f);
}

static void owner_changed(busrpc_msg *m, busrpc_iter *args, void *userdata) {
        OwnerFollow *f = userdata;
        const char *name = NULL, *old_owner = NULL, *new_owner = NULL;

        (void)m;
        if (busrpc_iter_get_basic(args, 's', &name) < 0 ||
            busrpc_iter_get_basic(args, 's', &old_owner) < 0 ||
            busrpc_iter_get_basic(args, 's', &new_owner) < 0 || strcmp(name, f->name) != 0)
                return;
        f->cb(f->userdata, new_owner[0] != '\0');
}

/* The conn is on a new bus (reconnection): whoever owns the name there is
 * a new owner, even if no NameOwnerChanged ever says so (the service was
 * back before us). */
static void owner_relinked(void *userdata) {
        OwnerFollow *f = userdata;
        char *owner = NULL;
        bool has_owner;

        if (signal_name_owner(f->conn, f->name, &owner) < 0)
                return;
        has_owner = owner != NULL;
        free(owner);
        (f->relinked ? f->relinked : f->cb)(f->userdata, has_owner);
}

int owner_follow(busrpc_proxy *p, void (*cb)(void *userdata, bool has_owner),
                 void (*relinked)(void *userdata, bool has_owner), void *userdata,
                 busrpc_subscription **ret) {
        const char *dest = busrpc_proxy_get_destination(p);
        busrpc_proxy *driver = NULL;
        OwnerFollow *f;
        int r;

        *ret = NULL;
        if (!dest || conn_is_peer(busrpc_proxy_get_conn(p)) || strcmp(dest, "org.freedesktop.DBus") == 0)
                return 0;
        f = calloc(1, sizeof(*f));
        if (!f || !(f->name = strdup(dest))) {
                free(f);
                return -ENOMEM;
        }
        f->conn = busrpc_proxy_get_conn(p);
        f->cb = cb;
        f->relinked = relinked;
        f->userdata = userdata;
        r = busrpc_proxy_new(busrpc_proxy_get_conn(p), "org.freedesktop.DBus", "/org/freedesktop/DBus",
                             &driver);
        if (r >= 0)
                r = subscription_new(driver, "org.freedesktop.DBus", "NameOwnerChanged", "sss", dest,
                                     owner_changed, f, owner_follow_free, ret);
        busrpc_proxy_unref(driver); /* the subscription copied what it needs */
        if (r < 0)
                owner_follow_free(f);
        else
                subscription_on_relink(*ret, owner_relinked);
        return r;
}

/* ---- watches ---- */

typedef struct Watch {
        const busrpc_property_table *t;
        busrpc_properties_fn fn;
        busrpc_property_fn prop_fn; /* per property: @index */
        size_t index;
        void (*cb)(void);
        void *userdata;
} Watch;

static void watch_signal(busrpc_msg *m, busrpc_iter *args, void *userdata) {
        Watch *w = userdata;
        const busrpc_property_table *t = w->t;
        busrpc_property_changes ch = { .table = t, .msg = m };
        void *values = props_new(t);

        if (!values)
                return; /* out of memory: this change is lost for this watch */
        if (!changes_read(t, args, values, &ch.changed, &ch.invalidated)) {
                free(values);
                return;
        }
        ch.values = values;
        /* The callback may free the watch: nothing of @w after it. */
        if (w->prop_fn) {
                uint64_t bit = PROP_BIT(w->index);

                if (ch.changed & bit)
                        w->prop_fn((char *)values + t->props[w->index].offset, w->cb, w->userdata);
                else if (ch.invalidated & bit)
                        w->prop_fn(NULL, w->cb, w->userdata);
        } else
                w->fn(&ch, w->cb, w->userdata);
        props_free(t, values, ch.changed);
}

static int watch_new(busrpc_proxy *p, const busrpc_property_table *t, Watch *tmpl,
                     busrpc_subscription **ret) {
        Watch *w;
        int r;

        r = prop_table_check(t);
        if (r < 0)
                return r;
        w = malloc(sizeof(*w));
        if (!w)
                return -ENOMEM;
        *w = *tmpl;
        w->t = t;
        /* arg0: one rule per (sender, path, interface), shared by the
         * watches and caches of the conn. */
        r = subscription_new(p, PROPS_IFACE, "PropertiesChanged", "sa{sv}as", t->interface, watch_signal, w,
                             free, ret);
        if (r < 0)
                free(w); /* no destroy call when subscribing fails */
        return r;
}

BUSRPC_EXPORT int busrpc_proxy_watch_properties(busrpc_proxy *p, const busrpc_property_table *t,
                                                busrpc_properties_fn fn, void (*cb)(void), void *userdata,
                                                busrpc_subscription **ret) {
        Watch w = { .fn = fn, .cb = cb, .userdata = userdata };

        return_if_fail(p && fn, -EINVAL);
        return watch_new(p, t, &w, ret);
}

BUSRPC_EXPORT int busrpc_proxy_watch_property(busrpc_proxy *p, const busrpc_property_table *t, size_t index,
                                              busrpc_property_fn fn, void (*cb)(void), void *userdata,
                                              busrpc_subscription **ret) {
        Watch w = { .prop_fn = fn, .index = index, .cb = cb, .userdata = userdata };

        return_if_fail(p && fn && t && index < t->n_props, -EINVAL);
        return watch_new(p, t, &w, ret);
}

/* ---- the cache ---- */

typedef struct CacheSlot {
        busrpc_property_cache *cache;
        size_t index;
        busrpc_pending *get; /* a Get on its way */
} CacheSlot;

struct busrpc_property_cache {
        unsigned n_ref;
        bool dead;
        bool ready;
        busrpc_proxy *proxy;
        const busrpc_property_table *t;
        busrpc_properties_fn fn;
        void (*cb)(void);
        void *userdata;
        busrpc_subscription *sub;
        busrpc_subscription *owner; /* NULL on a peer connection */
        busrpc_pending *get_all;
        CacheSlot *slots;
        void *values;
        uint64_t have;    /* bits of the values held */
        uint64_t nocache; /* EMITS_FALSE: never kept */
        int error;        /* GetAll's, when it failed */
        busrpc_error err;
};

static void cache_unref(busrpc_property_cache *c) {
        if (--c->n_ref > 0)
                return;
        props_free(c->t, c->values, c->have);
        busrpc_error_clear(&c->err);
        free(c->slots);
        free(c);
}

/* Store the values of @mask from @values (copies) and tell the user. */
static void cache_take(busrpc_property_cache *c, busrpc_property_changes *ch) {
        for (size_t i = 0; i < c->t->n_props; i++) {
                const busrpc_property_info *p = &c->t->props[i];
                uint64_t bit = PROP_BIT(i);
                char *dst = (char *)c->values + p->offset;

                if (!((ch->changed | ch->invalidated) & bit) || (c->nocache & bit))
                        continue;
                if (c->have & bit) {
                        busrpc_value_clear(p->type, dst);
                        c->have &= ~bit;
                }
                if ((ch->changed & bit) &&
                    busrpc_value_copy(p->type, dst, (const char *)ch->values + p->offset) >= 0)
                        c->have |= bit;
        }
        if (!c->fn || c->dead)
                return;
        c->n_ref++; /* the callback may free the cache */
        c->fn(ch, c->cb, c->userdata);
        cache_unref(c);
}

static void cache_got(busrpc_msg *reply, int r, const busrpc_error *err, void *userdata) {
        CacheSlot *slot = userdata;
        busrpc_property_cache *c = slot->cache;
        const busrpc_property_info *p = &c->t->props[slot->index];
        busrpc_property_changes ch = { .table = c->t };
        busrpc_iter it, var;
        char sigbuf[BUSRPC_SIGNATURE_MAX + 1];
        const char *sig;
        void *values;

        (void)err;
        slot->get = busrpc_pending_unref(slot->get);
        if (r < 0 || c->dead)
                return; /* the property stays unknown: -ENODATA */
        busrpc_msg_read(reply, &it);
        sig = busrpc_iter_get_variant_signature(&it, sigbuf, sizeof(sigbuf)) >= 0 ? sigbuf : NULL;
        if (!sig || strcmp(sig, p->type->signature) != 0 || busrpc_iter_recurse(&it, &var) < 0)
                return;
        values = props_new(c->t);
        if (!values)
                return;
        if (busrpc_value_read(&var, p->type, (char *)values + p->offset, NULL) >= 0) {
                ch.changed = PROP_BIT(slot->index);
                ch.values = values;
                cache_take(c, &ch);
        }
        props_free(c->t, values, ch.changed);
}

static int cache_fetch(busrpc_property_cache *c, size_t i) {
        CacheSlot *slot = &c->slots[i];
        const char *name = c->t->props[i].name;
        busrpc_msg *m = NULL;
        busrpc_iter it;
        int r;

        if (slot->get)
                return 0; /* its answer is newer than what made us ask again */
        r = busrpc_proxy_method_new(c->proxy, PROPS_IFACE, "Get", &m);
        if (r < 0)
                return r;
        busrpc_msg_append(m, &it);
        if ((r = busrpc_iter_append_basic(&it, 's', &c->t->interface)) < 0 ||
            (r = busrpc_iter_append_basic(&it, 's', &name)) < 0) {
                busrpc_msg_unref(m);
                return r;
        }
        return busrpc_proxy_call_async(c->proxy, m, "v", cache_got, slot, &slot->get);
}

static void cache_signal(busrpc_msg *m, busrpc_iter *args, void *userdata) {
        busrpc_property_cache *c = userdata;
        busrpc_property_changes ch = { .table = c->t, .msg = m };
        uint64_t refetch;
        void *values;

        if (!c->ready || c->dead)
                return; /* older than the GetAll reply still to come */
        values = props_new(c->t);
        if (!values)
                return;
        if (!changes_read(c->t, args, values, &ch.changed, &ch.invalidated)) {
                free(values);
                return;
        }
        ch.values = values;
        refetch = ch.invalidated & ~ch.changed & ~c->nocache;
        c->n_ref++;
        cache_take(c, &ch);
        for (size_t i = 0; i < c->t->n_props && !c->dead; i++)
                if (refetch & PROP_BIT(i))
                        (void)cache_fetch(c, i); /* on failure it stays unknown */
        cache_unref(c);
        props_free(ch.table, values, ch.changed);
}

static void cache_got_all(busrpc_msg *reply, int r, const busrpc_error *err, void *userdata) {
        busrpc_property_cache *c = userdata;
        busrpc_property_changes ch = { .table = c->t };
        busrpc_iter it;
        void *values;

        c->get_all = busrpc_pending_unref(c->get_all);
        if (c->dead || r == -ECANCELED) /* freed, or the owner changed: a new GetAll follows */
                return;
        if (r < 0) {
                c->error = r;
                if (err && err->name)
                        (void)busrpc_error_set(&c->err, err->name, "%s", err->message ? err->message : "");
                return;
        }
        values = props_new(c->t);
        if (!values) {
                c->error = -ENOMEM;
                return;
        }
        busrpc_msg_read(reply, &it);
        if (props_read_dict(c->t, &it, values, &ch.changed) < 0) {
                c->error = -EBADMSG;
                props_free(c->t, values, ch.changed);
                return;
        }
        c->ready = true;
        ch.values = values;
        cache_take(c, &ch);
        props_free(ch.table, values, ch.changed);
}

static int cache_get_all(busrpc_property_cache *c) {
        busrpc_msg *m = NULL;
        busrpc_iter it;
        int r;

        r = busrpc_proxy_method_new(c->proxy, PROPS_IFACE, "GetAll", &m);
        if (r < 0)
                return r;
        busrpc_msg_append(m, &it);
        r = busrpc_iter_append_basic(&it, 's', &c->t->interface);
        if (r < 0) {
                busrpc_msg_unref(m);
                return r;
        }
        return busrpc_proxy_call_async(c->proxy, m, "a{sv}", cache_got_all, c, &c->get_all);
}

/* The destination changed hands (the service restarted, or is gone): what
 * the cache holds was the old owner's. Forget it, tell the user (all of it
 * invalidated) and ask the new owner, if any, with GetAll. */
static void cache_owner_changed(void *userdata, bool has_owner) {
        busrpc_property_cache *c = userdata;
        busrpc_property_changes ch = { .table = c->t, .values = c->values };
        int r;

        if (c->dead)
                return;
        busrpc_pending_cancel(c->get_all);
        for (size_t i = 0; i < c->t->n_props; i++)
                busrpc_pending_cancel(c->slots[i].get);
        ch.invalidated = c->have;
        props_clear(c->t, c->values, c->have);
        c->have = 0;
        c->ready = false;
        c->error = 0;
        busrpc_error_clear(&c->err);
        c->n_ref++;
        if (ch.invalidated && c->fn)
                c->fn(&ch, c->cb, c->userdata);
        if (has_owner && !c->dead && (r = cache_get_all(c)) < 0)
                c->error = r;
        cache_unref(c);
}

BUSRPC_EXPORT int busrpc_proxy_cache_properties(busrpc_proxy *p, const busrpc_property_table *t,
                                                busrpc_properties_fn fn, void (*cb)(void), void *userdata,
                                                busrpc_property_cache **ret) {
        busrpc_property_cache *c;
        int r;

        return_if_fail(p && ret, -EINVAL);
        r = prop_table_check(t);
        if (r < 0)
                return r;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->n_ref = 1;
        c->t = t;
        c->fn = fn;
        c->cb = cb;
        c->userdata = userdata;
        c->values = props_new(t);
        c->slots = calloc(t->n_props ? t->n_props : 1, sizeof(*c->slots));
        if (!c->values || !c->slots) {
                cache_unref(c);
                return -ENOMEM;
        }
        for (size_t i = 0; i < t->n_props; i++) {
                c->slots[i].cache = c;
                c->slots[i].index = i;
                if ((t->props[i].flags & BUSRPC_PROP_EMITS_MASK) == BUSRPC_PROP_EMITS_FALSE)
                        c->nocache |= PROP_BIT(i);
        }
        c->proxy = busrpc_proxy_ref(p);
        /* The subscriptions first: no change after the GetAll is missed. */
        r = subscription_new(p, PROPS_IFACE, "PropertiesChanged", "sa{sv}as", t->interface, cache_signal, c,
                             NULL, &c->sub);
        if (r >= 0)
                r = owner_follow(p, cache_owner_changed, NULL, c, &c->owner);
        if (r >= 0)
                r = cache_get_all(c);
        if (r < 0) {
                busrpc_property_cache_release(c);
                return r;
        }
        *ret = c;
        return 0;
}

BUSRPC_EXPORT int busrpc_property_cache_get(busrpc_property_cache *c, size_t index, void *ret_value) {
        const busrpc_property_info *p;

        return_if_fail(c && ret_value && index < c->t->n_props, -EINVAL);
        if (c->nocache & PROP_BIT(index))
                return -EOPNOTSUPP;
        if (!(c->have & PROP_BIT(index)))
                return -ENODATA;
        p = &c->t->props[index];
        return busrpc_value_copy(p->type, ret_value, (const char *)c->values + p->offset);
}

BUSRPC_EXPORT bool busrpc_property_cache_is_ready(busrpc_property_cache *c) {
        return c && c->ready;
}

BUSRPC_EXPORT int busrpc_property_cache_get_error(busrpc_property_cache *c, busrpc_error *err) {
        return_if_fail(c, -EINVAL);
        if (c->error < 0 && err && c->err.name)
                (void)busrpc_error_set(err, c->err.name, "%s", c->err.message ? c->err.message : "");
        return c->error;
}

BUSRPC_EXPORT busrpc_property_cache *busrpc_property_cache_release(busrpc_property_cache *c) {
        if (!c || c->dead)
                return NULL;
        c->dead = true;
        c->sub = busrpc_subscription_release(c->sub);
        c->owner = busrpc_subscription_release(c->owner);
        /* Each callback runs now with -ECANCELED and drops its handle. */
        busrpc_pending_cancel(c->get_all);
        for (size_t i = 0; i < c->t->n_props; i++)
                busrpc_pending_cancel(c->slots[i].get);
        c->proxy = busrpc_proxy_unref(c->proxy);
        cache_unref(c);
        return NULL;
}
