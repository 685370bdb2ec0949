/* subscription.c: signal subscriptions (busrpc_proxy_subscribe()).
 *
 * A subscription is a match rule on the bus (so the bus routes the signal
 * to us) and an entry of this thread's list, keyed by its busrpc_conn:
 * conn.c hands every signal of a conn to signal_deliver(), on either link
 * (libdbus or the fast path), so nothing here touches a DBusConnection.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "subscription.h"
#include "conn.h"
#include "message.h"
#include "proxy.h"
#include "validate.h"

/* What libdbus's DBUS_TIMEOUT_USE_DEFAULT meant for the bus's answers. */
#define BUS_CALL_TIMEOUT_MS 25000

struct busrpc_subscription {
        unsigned n_ref;    /* the handle's (or the conn's: floating), one per delivery running */
        busrpc_conn *conn; /* borrowed; NULL once detached (released, or the conn freed) */
        bool handle;       /* a handle was returned: busrpc_subscription_release() frees it */
        bool peer;
        bool track_owner; /* destination is a well-known name */
        char *dest, *path, *iface, *member, *sig;
        char *owner; /* current unique owner; NULL: nobody, drop everything */
        char *match, *owner_match;
        busrpc_signal_fn cb;
        void *userdata;
        busrpc_destroy_fn destroy;        /* set only once subscribed */
        uint64_t max_shm;                 /* the connection's shm bound when subscribing */
        busrpc_subscription *prev, *next; /* all_subs, while conn is set */
};

/* This thread's live subscriptions, newest first. */
static __thread busrpc_subscription *all_subs;

static void sub_unlink(busrpc_subscription *s) {
        if (!s->conn)
                return;
        if (s->prev)
                s->prev->next = s->next;
        else
                all_subs = s->next;
        if (s->next)
                s->next->prev = s->prev;
        s->prev = s->next = NULL;
        s->conn = NULL;
}

static void sub_link(busrpc_subscription *s, busrpc_conn *c) {
        s->conn = c;
        s->prev = NULL;
        s->next = all_subs;
        if (all_subs)
                all_subs->prev = s;
        all_subs = s;
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

static void track_owner_change(busrpc_subscription *s, DBusMessage *m) {
        const char *name = NULL, *old_owner = NULL, *new_owner = NULL;

        if (!dbus_message_is_signal(m, DBUS_INTERFACE_DBUS, "NameOwnerChanged") ||
            !dbus_message_has_sender(m, DBUS_SERVICE_DBUS) || !dbus_message_has_path(m, DBUS_PATH_DBUS) ||
            !dbus_message_has_signature(m, "sss"))
                return;
        if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &name, DBUS_TYPE_STRING, &old_owner,
                                   DBUS_TYPE_STRING, &new_owner, DBUS_TYPE_INVALID))
                return;
        if (strcmp(name, s->dest) == 0)
                (void)set_owner(s, new_owner); /* on ENOMEM: nobody, which drops signals */
}

/* One signal for one subscription: owner tracking, then the checks, then
 * the callback. */
static void sub_deliver(busrpc_subscription *s, DBusMessage *m) {
        busrpc_iter it;
        busrpc_msg *msg;

        if (s->track_owner)
                track_owner_change(s, m);
        if (!dbus_message_has_path(m, s->path) || !dbus_message_has_interface(m, s->iface) ||
            !dbus_message_has_member(m, s->member) || !dbus_message_has_signature(m, s->sig))
                return;
        if (!s->peer) {
                const char *sender = dbus_message_get_sender(m);
                if (!sender || !s->owner || strcmp(sender, s->owner) != 0)
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

BUSRPC_EXPORT int busrpc_proxy_subscribe(busrpc_proxy *p, const char *iface, const char *member,
                                         const char *sig, busrpc_signal_fn cb, void *userdata,
                                         busrpc_destroy_fn destroy, busrpc_subscription **ret) {
        busrpc_subscription *s;
        busrpc_conn *c;
        const char *dest;
        int r;

        return_if_fail(p && cb && valid_interface_name(iface) && valid_member_name(member), -EINVAL);
        return_if_fail(sig && valid_signature(sig), -EINVAL);
        c = busrpc_proxy_get_conn(p);
        if (c->kind == CONN_SERVER)
                return -EINVAL; /* the all-peers handle of a server calls nobody */
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
        s->match = rule_new(s->peer ? NULL : dest, s->path ? s->path : "/", iface, member, NULL);
        if (!s->path || !s->iface || !s->member || !s->sig || (dest && !s->dest) || !s->match) {
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
        /* In the list first, so that no owner change is missed between the
         * match rule and the GetNameOwner answer: what arrives while we
         * wait is held and delivered after, in order. */
        sub_link(s, c);
        if (s->peer) {
                r = bus_match(c, "AddMatch", s->match, false);
        } else {
                r = 0;
                if (s->owner_match)
                        r = bus_match(c, "AddMatch", s->owner_match, true);
                if (r >= 0)
                        r = bus_match(c, "AddMatch", s->match, true);
                if (r >= 0 && s->track_owner) {
                        char *owner = NULL;

                        r = get_name_owner(c, s->dest, &owner, NULL);
                        if (r >= 0) {
                                free(s->owner);
                                s->owner = owner;
                        }
                }
                if (r < 0 && conn_is_open(c)) {
                        if (s->owner_match)
                                (void)bus_match(c, "RemoveMatch", s->owner_match, false);
                        (void)bus_match(c, "RemoveMatch", s->match, false);
                }
        }
        if (r < 0) {
                sub_unref(s); /* no destroy: the caller keeps @userdata */
                return r;
        }
        s->handle = ret != NULL;
        s->destroy = destroy;
        if (ret)
                *ret = s;
        return 0;
}

void signal_conn_swapped(busrpc_conn *c) {
        for (busrpc_subscription *s = all_subs; s; s = s->next) {
                char *owner = NULL;

                if (s->conn != c)
                        continue;
                /* The owner rule first (the bus keeps the order), then who owns
                 * the name on the new bus; a unique name is gone for good. */
                if (s->owner_match)
                        (void)bus_match(c, "AddMatch", s->owner_match, false);
                (void)bus_match(c, "AddMatch", s->match, false);
                if (s->track_owner && get_name_owner(c, s->dest, &owner, NULL) >= 0) {
                        free(s->owner);
                        s->owner = owner;
                }
        }
}

void signal_conn_free(busrpc_conn *c) {
        busrpc_subscription *s = all_subs, *next;

        for (; s; s = next) {
                next = s->next;
                if (s->conn != c)
                        continue;
                sub_unlink(s);
                /* A floating one was the conn's: it goes now, its destroy
                 * function runs. A handle's waits for its release. */
                if (!s->handle)
                        sub_unref(s);
                /* @next may have been freed by a destroy function that
                 * released it: start over (the detached ones are skipped). */
                next = all_subs;
        }
}

void signal_deliver(busrpc_conn *c, DBusMessage *m) {
        busrpc_subscription *stack[16], **v = stack;
        size_t n = 0, i = 0;

        if (!c || dbus_message_get_type(m) != DBUS_MESSAGE_TYPE_SIGNAL)
                return;
        for (busrpc_subscription *s = all_subs; s; s = s->next)
                n += s->conn == c;
        if (n == 0)
                return;
        if (n > sizeof(stack) / sizeof(stack[0]) && !(v = calloc(n, sizeof(*v))))
                return;
        for (busrpc_subscription *s = all_subs; s; s = s->next)
                if (s->conn == c) {
                        s->n_ref++;
                        v[i++] = s;
                }
        /* Oldest first, as libdbus ran filters in the order they were
         * added. A callback may release any subscription (it is detached
         * then, and skipped) or subscribe anew (not in this round). */
        while (i-- > 0) {
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
        if (s->conn && conn_is_open(s->conn)) {
                (void)bus_match(s->conn, "RemoveMatch", s->match, false);
                if (s->owner_match)
                        (void)bus_match(s->conn, "RemoveMatch", s->owner_match, false);
        }
        sub_unlink(s);
        sub_unref(s); /* the handle's */
        return NULL;
}
