/* subscription.c: signal subscriptions (busrpc_proxy_subscribe()).
 *
 * A subscription is a match rule on the bus (so the bus routes the signal
 * to us) and an entry of its conn's SubTable (c->subs): conn.c hands every
 * signal of a conn to signal_deliver(), on either link (libdbus or the
 * fast path), so nothing here touches a DBusConnection. The table indexes
 * the subscriptions by (interface, member), so a signal costs one lookup
 * and the subscriptions of its member, whatever else is subscribed (each
 * chain oldest first: the order of delivery), and by followed name, for
 * NameOwnerChanged. Identical match rules of one conn (many subscriptions
 * of one name share the NameOwnerChanged rule; property watches of one
 * interface share theirs, arg0=interface) are counted: AddMatch goes with
 * the first user, RemoveMatch with the last, and a reconnection adds each
 * once. Hooks (subscription_on_relink()) then tell the users who keep
 * state read from the old bus (property caches, ObjectManager clients).
 * The check trusts nothing the match rule promised: any connection can
 * send us a unicast signal with any path, interface and member. It
 * accepts a signal only from the CURRENT unique owner of the proxy's
 * destination, which it tracks from GetNameOwner at subscribe time and
 * NameOwnerChanged after.
 *
 * On a peer connection there is one peer and no sender to check; the
 * AddMatch still goes out (to "org.freedesktop.DBus", unanswered-safe) so
 * a busrpc server knows which signals this peer wants.
 *
 * Lifetime: a subscription never keeps its conn alive. conn_free() calls
 * signal_conn_free(), which detaches the conn's subscriptions: a floating
 * one (no handle) is freed there, one with a handle waits for
 * busrpc_subscription_release(). A delivery in progress holds a reference,
 * so a callback may release any subscription, its own included.
 */
#include "subscription.h"
#include "conn.h"
#include "message.h"
#include "proxy.h"
#include "validate.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What libdbus's DBUS_TIMEOUT_USE_DEFAULT meant for the bus's answers. */
#define BUS_CALL_TIMEOUT_MS 25000

/* A subscription sits in two chains of its conn's index: the one of its
 * (interface, member), which a signal looks up, and, when it follows a
 * well-known name, the one of that name, which NameOwnerChanged looks up. */
enum { BY_MEMBER, BY_OWNER, N_CHAINS };

typedef struct SubEntry SubEntry;

typedef struct SubLink {
        busrpc_subscription *prev, *next;
        SubEntry *entry; /* NULL: in no chain */
} SubLink;

/* One key of a SubTable: a chain of subscriptions (oldest first), or a
 * match rule and how many subscriptions use it. */
struct SubEntry {
        SubEntry *next; /* in its bucket */
        uint32_t hash;
        unsigned n; /* rules: users; chains: members */
        busrpc_subscription *head, *tail;
        size_t len;
        char key[];
};

typedef struct Table {
        SubEntry **buckets;
        size_t n_buckets, n;
} Table;

/* c->subs: a conn's subscriptions, oldest first, indexed; its match rules
 * counted, so identical rules go to the bus once. */
struct SubTable {
        busrpc_subscription *head, *tail;
        size_t n;
        Table chains, rules;
};

struct busrpc_subscription {
        unsigned n_ref;    /* the handle's (or the conn's: floating), one per delivery running */
        busrpc_conn *conn; /* borrowed; NULL once detached (released, or the conn freed) */
        bool handle;       /* a handle was returned: busrpc_subscription_release() frees it */
        bool peer;
        bool track_owner; /* destination is a well-known name */
        bool rules_added; /* match and owner_match counted in the conn's rules */
        char *dest, *path, *iface, *member, *sig, *arg0;
        char *owner; /* current unique owner; NULL: nobody, drop everything */
        char *match, *owner_match;
        busrpc_signal_fn cb;
        void *userdata;
        busrpc_destroy_fn destroy;        /* set only once subscribed */
        void (*relinked)(void *userdata); /* subscription_on_relink() */
        uint64_t max_shm;                 /* the connection's shm bound when subscribing */
        busrpc_subscription *prev, *next; /* the conn's, while conn is set */
        SubLink link[N_CHAINS];
};

/* ---- the index ---- */

static uint32_t key_hash(const char *key, size_t len) {
        uint32_t h = 2166136261u; /* FNV-1a */

        for (size_t i = 0; i < len; i++) {
                h ^= (unsigned char)key[i];
                h *= 16777619u;
        }
        return h;
}

static SubEntry *table_find(Table *t, const char *key, size_t len, uint32_t hash) {
        if (!t->n_buckets)
                return NULL;
        for (SubEntry *e = t->buckets[hash & (t->n_buckets - 1)]; e; e = e->next)
                if (e->hash == hash && e->len == len && memcmp(e->key, key, len) == 0)
                        return e;
        return NULL;
}

static int table_grow(Table *t) {
        size_t nb = t->n_buckets ? 2 * t->n_buckets : 16;
        SubEntry **b = calloc(nb, sizeof(*b));

        if (!b)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_buckets; i++)
                while (t->buckets[i]) {
                        SubEntry *e = t->buckets[i];

                        t->buckets[i] = e->next;
                        e->next = b[e->hash & (nb - 1)];
                        b[e->hash & (nb - 1)] = e;
                }
        free(t->buckets);
        t->buckets = b;
        t->n_buckets = nb;
        return 0;
}

/* The entry of @key, made (with n == 0) when missing. */
static SubEntry *table_get(Table *t, const char *key, size_t len) {
        uint32_t hash = key_hash(key, len);
        SubEntry *e = table_find(t, key, len, hash);

        if (e)
                return e;
        if (t->n >= t->n_buckets && table_grow(t) < 0)
                return NULL;
        e = calloc(1, sizeof(*e) + len + 1);
        if (!e)
                return NULL;
        e->hash = hash;
        e->len = len;
        memcpy(e->key, key, len);
        e->next = t->buckets[hash & (t->n_buckets - 1)];
        t->buckets[hash & (t->n_buckets - 1)] = e;
        t->n++;
        return e;
}

static void table_drop(Table *t, SubEntry *e) {
        SubEntry **pp = &t->buckets[e->hash & (t->n_buckets - 1)];

        while (*pp != e)
                pp = &(*pp)->next;
        *pp = e->next;
        t->n--;
        free(e);
}

static void table_clear(Table *t) {
        for (size_t i = 0; i < t->n_buckets; i++)
                while (t->buckets[i]) {
                        SubEntry *e = t->buckets[i];

                        t->buckets[i] = e->next;
                        free(e);
                }
        free(t->buckets);
        *t = (Table){ 0 };
}

/* Keys: "interface\0member" for BY_MEMBER; "\0name" for BY_OWNER (no
 * interface is empty, so the two never meet). */
static size_t member_key(char *buf, size_t size, const char *iface, const char *member) {
        size_t a = strlen(iface), b = strlen(member);

        if (a + 1 + b > size)
                return 0;
        memcpy(buf, iface, a);
        buf[a] = '\0';
        memcpy(buf + a + 1, member, b);
        return a + 1 + b;
}

static size_t owner_key(char *buf, size_t size, const char *name) {
        size_t a = strlen(name);

        if (1 + a > size)
                return 0;
        buf[0] = '\0';
        memcpy(buf + 1, name, a);
        return 1 + a;
}

/* Names are at most 255 bytes (the specification's limit). */
#define KEY_MAX (2 * 255 + 2)

static int chain_add(SubTable *st, int which, const char *key, size_t len, busrpc_subscription *s) {
        SubEntry *e = table_get(&st->chains, key, len);
        SubLink *l = &s->link[which];

        if (!e)
                return -ENOMEM;
        l->entry = e;
        l->next = NULL;
        l->prev = e->tail;
        if (e->tail)
                e->tail->link[which].next = s;
        else
                e->head = s;
        e->tail = s;
        e->n++;
        return 0;
}

static void chain_remove(SubTable *st, int which, busrpc_subscription *s) {
        SubLink *l = &s->link[which];
        SubEntry *e = l->entry;

        if (!e)
                return;
        if (l->prev)
                l->prev->link[which].next = l->next;
        else
                e->head = l->next;
        if (l->next)
                l->next->link[which].prev = l->prev;
        else
                e->tail = l->prev;
        l->prev = l->next = NULL;
        l->entry = NULL;
        if (--e->n == 0)
                table_drop(&st->chains, e);
}

static SubTable *sub_table(busrpc_conn *c) {
        if (!c->subs)
                c->subs = calloc(1, sizeof(*c->subs));
        return c->subs;
}

/* A match rule's first user sends AddMatch (return 1), the others count. */
static int rule_ref(SubTable *st, const char *rule) {
        SubEntry *e = table_get(&st->rules, rule, strlen(rule));

        if (!e)
                return -ENOMEM;
        return e->n++ == 0;
}

/* The last user of a rule: return 1, RemoveMatch is due. */
static bool rule_unref(SubTable *st, const char *rule) {
        size_t len = strlen(rule);
        SubEntry *e = table_find(&st->rules, rule, len, key_hash(rule, len));

        if (!e || --e->n > 0)
                return false;
        table_drop(&st->rules, e);
        return true;
}

static void sub_unlink(busrpc_subscription *s) {
        SubTable *st;

        if (!s->conn)
                return;
        st = s->conn->subs;
        if (s->prev)
                s->prev->next = s->next;
        else
                st->head = s->next;
        if (s->next)
                s->next->prev = s->prev;
        else
                st->tail = s->prev;
        st->n--;
        for (int i = 0; i < N_CHAINS; i++)
                chain_remove(st, i, s);
        if (s->rules_added) {
                /* The bus's rules are the release's business; the count
                 * goes with the subscription in every case. */
                (void)rule_unref(st, s->match);
                if (s->owner_match)
                        (void)rule_unref(st, s->owner_match);
                s->rules_added = false;
        }
        s->prev = s->next = NULL;
        s->conn = NULL;
}

static int sub_link(busrpc_subscription *s, busrpc_conn *c) {
        SubTable *st = sub_table(c);
        char key[KEY_MAX];
        size_t len;
        int r;

        if (!st)
                return -ENOMEM;
        len = member_key(key, sizeof(key), s->iface, s->member);
        if (!len)
                return -EINVAL;
        r = chain_add(st, BY_MEMBER, key, len, s);
        if (r >= 0 && s->track_owner) {
                len = owner_key(key, sizeof(key), s->dest);
                r = len ? chain_add(st, BY_OWNER, key, len, s) : -EINVAL;
        }
        if (r < 0) {
                chain_remove(st, BY_MEMBER, s);
                return r;
        }
        s->conn = c;
        s->next = NULL;
        s->prev = st->tail;
        if (st->tail)
                st->tail->next = s;
        else
                st->head = s;
        st->tail = s;
        st->n++;
        return 0;
}

static void sub_unref(busrpc_subscription *s) {
        if (--s->n_ref > 0)
                return;
        sub_unlink(s);
        if (s->destroy)
                s->destroy(s->userdata);
        free(s->dest);
        free(s->path);
        free(s->iface);
        free(s->member);
        free(s->sig);
        free(s->arg0);
        free(s->owner);
        free(s->match);
        free(s->owner_match);
        free(s);
}

static int set_owner(busrpc_subscription *s, const char *owner) {
        char *o = NULL;

        if (owner && *owner && !(o = strdup(owner)))
                return -ENOMEM;
        free(s->owner);
        s->owner = o;
        return 0;
}

/* One signal for one subscription: the checks, then the callback. */
static void sub_deliver(busrpc_subscription *s, DBusMessage *m) {
        busrpc_iter it;
        busrpc_msg *msg;

        if (!dbus_message_has_path(m, s->path) || !dbus_message_has_interface(m, s->iface) ||
            !dbus_message_has_member(m, s->member) || !dbus_message_has_signature(m, s->sig))
                return;
        if (!s->peer) {
                const char *sender = dbus_message_get_sender(m);
                if (!sender || !s->owner || strcmp(sender, s->owner) != 0)
                        return;
        }
        if (s->arg0) {
                DBusMessageIter a0;
                const char *v = NULL;

                if (!dbus_message_iter_init(m, &a0) ||
                    dbus_message_iter_get_arg_type(&a0) != DBUS_TYPE_STRING)
                        return;
                dbus_message_iter_get_basic(&a0, &v);
                if (strcmp(v, s->arg0) != 0)
                        return;
        }
        msg = msg_wrap(m, NULL);
        if (!msg)
                return;
        iter_init_read(&it, m);
        iter_priv(&it)->max_shm = s->max_shm;
        s->cb(msg, &it, s->userdata);
        busrpc_msg_unref(msg);
}

/* A call to the bus driver; without @ret it is sent and forgotten (peers,
 * and removal), else the answer (a method return or an error) is waited for. */
static int bus_call(busrpc_conn *c, const char *method, const char *arg, DBusMessage **ret,
                    busrpc_error *err) {
        DBusMessage *m;
        int r;

        m = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS, DBUS_INTERFACE_DBUS, method);
        if (!m)
                return -ENOMEM;
        if (!dbus_message_append_args(m, DBUS_TYPE_STRING, &arg, DBUS_TYPE_INVALID)) {
                dbus_message_unref(m);
                return -ENOMEM;
        }
        if (!ret) {
                dbus_message_set_no_reply(m, TRUE);
                r = conn_send(c, m);
        } else {
                r = conn_call_sync(c, m, DBUS_SERVICE_DBUS, BUS_CALL_TIMEOUT_MS, ret, err);
        }
        dbus_message_unref(m);
        return r;
}

/* AddMatch / RemoveMatch. With @wait the call waits for the bus's answer. */
static int bus_match(busrpc_conn *c, const char *method, const char *rule, bool wait) {
        DBusMessage *reply = NULL;
        int r;

        if (!wait)
                return bus_call(c, method, rule, NULL, NULL);
        r = bus_call(c, method, rule, &reply, NULL);
        if (r < 0)
                return r;
        r = reply_check(c, reply, NULL, NULL);
        dbus_message_unref(reply);
        return r;
}

static int get_name_owner(busrpc_conn *c, const char *name, char **ret, busrpc_error *err) {
        DBusMessage *reply = NULL;
        const char *owner = NULL;
        int r;

        r = bus_call(c, "GetNameOwner", name, &reply, err);
        if (r < 0)
                return r;
        if (dbus_message_is_error(reply, "org.freedesktop.DBus.Error.NameHasNoOwner")) {
                dbus_message_unref(reply);
                *ret = NULL; /* nobody yet: NameOwnerChanged will tell */
                return 0;
        }
        r = reply_check(c, reply, "s", err);
        if (r >= 0) {
                if (!dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &owner, DBUS_TYPE_INVALID)) {
                        (void)busrpc_error_set(err, BUSRPC_ERROR_INVALID_ARGS, "Bad GetNameOwner reply");
                        r = -EBADMSG;
                } else if (!(*ret = strdup(owner))) {
                        r = -ENOMEM;
                }
        }
        dbus_message_unref(reply);
        return r;
}

int signal_name_owner(busrpc_conn *c, const char *name, char **ret) {
        return get_name_owner(c, name, ret, NULL);
}

/* A rule's first user sends AddMatch (with @wait: and waits for the
 * answer); the others only count. */
static int rule_add(busrpc_conn *c, const char *rule, bool wait) {
        int r = rule_ref(c->subs, rule);

        if (r <= 0)
                return r;
        r = bus_match(c, "AddMatch", rule, wait);
        if (r < 0)
                (void)rule_unref(c->subs, rule);
        return r;
}

/* The last user of a rule takes it off the bus. */
static void rule_remove(busrpc_conn *c, const char *rule) {
        if (rule_unref(c->subs, rule) && conn_is_open(c))
                (void)bus_match(c, "RemoveMatch", rule, false);
}

static char *rule_new(const char *sender, const char *path, const char *iface, const char *member,
                      const char *arg0) {
        char *rule = NULL;
        /* The values are validated names and paths: none holds a quote. */
        if (asprintf(&rule, "type='signal'%s%s%s,path='%s',interface='%s',member='%s'%s%s%s",
                     sender ? ",sender='" : "", sender ? sender : "", sender ? "'" : "", path, iface, member,
                     arg0 ? ",arg0='" : "", arg0 ? arg0 : "", arg0 ? "'" : "") < 0)
                return NULL;
        return rule;
}

int subscription_new(busrpc_proxy *p, const char *iface, const char *member, const char *sig,
                     const char *arg0, busrpc_signal_fn cb, void *userdata, busrpc_destroy_fn destroy,
                     busrpc_subscription **ret) {
        busrpc_subscription *s;
        busrpc_conn *c;
        const char *dest;
        int r;

        return_if_fail(p && cb && valid_interface_name(iface) && valid_member_name(member), -EINVAL);
        return_if_fail(sig && valid_signature(sig), -EINVAL);
        /* arg0 is a string, quoted in the rule: no quote in it. */
        return_if_fail(!arg0 || (sig[0] == 's' && !strchr(arg0, '\'')), -EINVAL);
        c = busrpc_proxy_get_conn(p);
        if (!conn_is_open(c))
                return -ECONNRESET;
        dest = busrpc_proxy_get_destination(p);
        if (!dest && !conn_is_peer(c))
                return -EINVAL; /* on a bus, whose signals? */

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->n_ref = 1;
        s->max_shm = busrpc_conn_get_max_shm_size(c);
        s->peer = conn_is_peer(c);
        s->cb = cb;
        s->userdata = userdata;
        s->path = strdup(busrpc_proxy_get_path(p));
        s->iface = strdup(iface);
        s->member = strdup(member);
        s->sig = strdup(sig);
        s->dest = dest ? strdup(dest) : NULL;
        s->arg0 = arg0 ? strdup(arg0) : NULL;
        s->match = rule_new(s->peer ? NULL : dest, s->path ? s->path : "/", iface, member, arg0);
        if (!s->path || !s->iface || !s->member || !s->sig || (dest && !s->dest) || (arg0 && !s->arg0) ||
            !s->match) {
                sub_unref(s);
                return -ENOMEM;
        }
        if (!s->peer) {
                if (dest[0] == ':' || strcmp(dest, DBUS_SERVICE_DBUS) == 0) {
                        /* A unique name never changes owner; nor does the bus. */
                        if (!(s->owner = strdup(dest))) {
                                sub_unref(s);
                                return -ENOMEM;
                        }
                } else {
                        s->track_owner = true;
                        s->owner_match = rule_new(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS, DBUS_INTERFACE_DBUS,
                                                  "NameOwnerChanged", dest);
                        if (!s->owner_match) {
                                sub_unref(s);
                                return -ENOMEM;
                        }
                }
        }
        /* In the index first, so that no owner change is missed between the
         * match rule and the GetNameOwner answer: what arrives while we
         * wait is held and delivered after, in order. */
        r = sub_link(s, c);
        if (r < 0) {
                sub_unref(s);
                return r;
        }
        if (s->peer) {
                r = rule_add(c, s->match, false);
        } else {
                bool owner_added = false, match_added = false;

                r = 0;
                if (s->owner_match)
                        owner_added = (r = rule_add(c, s->owner_match, true)) >= 0;
                if (r >= 0)
                        match_added = (r = rule_add(c, s->match, true)) >= 0;
                if (r >= 0 && s->track_owner) {
                        char *owner = NULL;

                        r = get_name_owner(c, s->dest, &owner, NULL);
                        if (r >= 0) {
                                free(s->owner);
                                s->owner = owner;
                        }
                }
                if (r < 0) {
                        if (match_added)
                                rule_remove(c, s->match);
                        if (owner_added)
                                rule_remove(c, s->owner_match);
                }
        }
        if (r < 0) {
                sub_unref(s); /* no destroy: the caller keeps @userdata */
                return r;
        }
        s->rules_added = true;
        s->handle = ret != NULL;
        s->destroy = destroy;
        if (ret)
                *ret = s;
        return 0;
}

BUSRPC_EXPORT int busrpc_proxy_subscribe(busrpc_proxy *p, const char *iface, const char *member,
                                         const char *sig, busrpc_signal_fn cb, void *userdata,
                                         busrpc_destroy_fn destroy, busrpc_subscription **ret) {
        return subscription_new(p, iface, member, sig, NULL, cb, userdata, destroy, ret);
}

void subscription_on_relink(busrpc_subscription *s, void (*fn)(void *userdata)) {
        if (s)
                s->relinked = fn;
}

/* The subscriptions of @st with a hook, referenced (oldest first). */
static busrpc_subscription **hooked(SubTable *st, size_t *ret_n) {
        busrpc_subscription **v;
        size_t n = 0;

        for (busrpc_subscription *s = st->head; s; s = s->next)
                n += s->relinked != NULL;
        *ret_n = 0;
        if (!n || !(v = calloc(n, sizeof(*v))))
                return NULL;
        for (busrpc_subscription *s = st->head; s; s = s->next)
                if (s->relinked) {
                        s->n_ref++;
                        v[(*ret_n)++] = s;
                }
        return v;
}

void signal_conn_swapped(busrpc_conn *c) {
        SubTable *st = c->subs;
        busrpc_subscription **v;
        size_t n;

        if (!st)
                return;
        /* Every rule once (the bus answers GetNameOwner below after all of
         * them: it keeps the order), then who owns each followed name on
         * the new bus, once per name; a unique name is gone for good. */
        for (size_t i = 0; i < st->rules.n_buckets; i++)
                for (SubEntry *e = st->rules.buckets[i]; e; e = e->next)
                        (void)bus_match(c, "AddMatch", e->key, false);
        for (size_t i = 0; i < st->chains.n_buckets; i++)
                for (SubEntry *e = st->chains.buckets[i]; e; e = e->next) {
                        char *owner = NULL;

                        if (e->key[0] != '\0' || get_name_owner(c, e->key + 1, &owner, NULL) < 0)
                                continue;
                        for (busrpc_subscription *s = e->head; s; s = s->link[BY_OWNER].next)
                                if (set_owner(s, owner) < 0)
                                        break;
                        free(owner);
                }
        /* Then those who keep state of the old link hear of the new one;
         * a hook may release any subscription. */
        v = hooked(st, &n);
        for (size_t i = 0; i < n; i++) {
                if (v[i]->conn == c)
                        v[i]->relinked(v[i]->userdata);
                sub_unref(v[i]);
        }
        free(v);
}

void signal_conn_free(busrpc_conn *c) {
        SubTable *st = c->subs;
        busrpc_subscription *s;

        if (!st)
                return;
        /* A floating one was the conn's: it goes now, its destroy function
         * runs (and may release others: they leave the list). A handle's
         * is detached and waits for its release. */
        while ((s = st->head)) {
                sub_unlink(s);
                if (!s->handle)
                        sub_unref(s);
        }
        table_clear(&st->chains);
        table_clear(&st->rules);
        free(st);
        c->subs = NULL;
}

/* NameOwnerChanged from the bus: the subscriptions following that name
 * (and only those) learn the new owner. */
static void owner_changed(SubTable *st, DBusMessage *m) {
        const char *name = NULL, *old_owner = NULL, *new_owner = NULL;
        char key[KEY_MAX];
        size_t len;
        SubEntry *e;

        if (!dbus_message_has_sender(m, DBUS_SERVICE_DBUS) || !dbus_message_has_path(m, DBUS_PATH_DBUS) ||
            !dbus_message_has_signature(m, "sss"))
                return;
        if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &name, DBUS_TYPE_STRING, &old_owner,
                                   DBUS_TYPE_STRING, &new_owner, DBUS_TYPE_INVALID))
                return;
        len = owner_key(key, sizeof(key), name);
        if (!len || !(e = table_find(&st->chains, key, len, key_hash(key, len))))
                return;
        for (busrpc_subscription *s = e->head; s; s = s->link[BY_OWNER].next)
                (void)set_owner(s, new_owner); /* on ENOMEM: nobody, which drops signals */
}

void signal_deliver(busrpc_conn *c, DBusMessage *m) {
        busrpc_subscription *stack[16], **v = stack;
        const char *iface, *member;
        char key[KEY_MAX];
        SubTable *st;
        SubEntry *e;
        size_t len, n = 0;

        if (!c || !(st = c->subs) || dbus_message_get_type(m) != DBUS_MESSAGE_TYPE_SIGNAL)
                return;
        iface = dbus_message_get_interface(m);
        member = dbus_message_get_member(m);
        if (!iface || !member)
                return;
        if (strcmp(member, "NameOwnerChanged") == 0 && strcmp(iface, DBUS_INTERFACE_DBUS) == 0)
                owner_changed(st, m);
        len = member_key(key, sizeof(key), iface, member);
        if (!len || !(e = table_find(&st->chains, key, len, key_hash(key, len))))
                return;
        if (e->n > sizeof(stack) / sizeof(stack[0]) && !(v = calloc(e->n, sizeof(*v))))
                return;
        for (busrpc_subscription *s = e->head; s; s = s->link[BY_MEMBER].next) {
                s->n_ref++;
                v[n++] = s;
        }
        /* Oldest first, as libdbus ran filters in the order they were
         * added. A callback may release any subscription (it is detached
         * then, and skipped) or subscribe anew (not in this round). */
        for (size_t i = 0; i < n; i++) {
                if (v[i]->conn == c)
                        sub_deliver(v[i], m);
                sub_unref(v[i]);
        }
        if (v != stack)
                free(v);
}

BUSRPC_EXPORT busrpc_subscription *busrpc_subscription_release(busrpc_subscription *s) {
        if (!s)
                return NULL;
        if (s->conn && s->rules_added) {
                s->rules_added = false;
                rule_remove(s->conn, s->match);
                if (s->owner_match)
                        rule_remove(s->conn, s->owner_match);
        }
        sub_unlink(s);
        sub_unref(s); /* the handle's */
        return NULL;
}
