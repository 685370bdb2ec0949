/* subscription.c: signal subscriptions (busrpc_proxy_subscribe()).
 *
 * A subscription is a match rule on the bus (so the bus routes the signal
 * to us) and a filter on the connection (so we see it). The filter trusts
 * nothing the match rule promised: any connection can send us a unicast
 * signal with any path, interface and member. It accepts a signal only
 * from the CURRENT unique owner of the proxy's destination, which it
 * tracks from GetNameOwner at subscribe time and NameOwnerChanged after.
 *
 * On a peer connection there is one peer and no sender to check; the
 * AddMatch still goes out (to "org.freedesktop.DBus", unanswered-safe) so
 * a busrpc server knows which signals this peer wants.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "subscription.h"
#include "conn.h"
#include "message.h"
#include "proxy.h"
#include "validate.h"

struct busrpc_subscription {
        DBusConnection *dc;
        bool dc_ref;      /* we hold a reference (a handle was returned) */
        bool peer;
        bool track_owner; /* destination is a well-known name */
        char *dest, *path, *iface, *member, *sig;
        char *owner; /* current unique owner; NULL: nobody, drop everything */
        char *match, *owner_match;
        busrpc_signal_fn cb;
        void *userdata;
        busrpc_destroy_fn destroy; /* set only once subscribed */
        uint64_t max_shm;          /* the connection's shm bound when subscribing */
        bool linked, moving;
        busrpc_subscription *prev, *next; /* all_subs */
};

/* This thread's live subscriptions, so that a connection that reconnects
 * takes them along (signal_conn_swapped()). */
static __thread busrpc_subscription *all_subs;

static void sub_free_data(void *data) {
        busrpc_subscription *s = data;

        if (s->moving) /* its filter moves to another DBusConnection */
                return;
        if (s->linked) {
                if (s->prev)
                        s->prev->next = s->next;
                else
                        all_subs = s->next;
                if (s->next)
                        s->next->prev = s->prev;
        }
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

static DBusHandlerResult sub_filter(DBusConnection *dc, DBusMessage *m, void *data) {
        busrpc_subscription *s = data;
        busrpc_iter it;
        busrpc_msg *msg;

        if (dbus_message_get_type(m) != DBUS_MESSAGE_TYPE_SIGNAL)
                return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
        if (s->track_owner)
                track_owner_change(s, m);
        if (!dbus_message_has_path(m, s->path) || !dbus_message_has_interface(m, s->iface) ||
            !dbus_message_has_member(m, s->member) || !dbus_message_has_signature(m, s->sig))
                return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
        if (!s->peer) {
                const char *sender = dbus_message_get_sender(m);
                if (!sender || !s->owner || strcmp(sender, s->owner) != 0)
                        return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
        }
        msg = msg_wrap(m, NULL);
        if (!msg)
                return DBUS_HANDLER_RESULT_NEED_MEMORY;
        iter_init_read(&it, m);
        iter_priv(&it)->max_shm = s->max_shm;
        /* The callback may free this subscription: touch nothing of it after. */
        s->cb(msg, &it, s->userdata);
        busrpc_msg_unref(msg);
        /* Other subscriptions (and the core) may want the same signal. */
        return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
}

/* AddMatch / RemoveMatch. With @de the call waits for the bus's answer;
 * without, it is sent and forgotten (peers, and removal). */
static int bus_match(DBusConnection *dc, const char *method, const char *rule, DBusError *de) {
        DBusMessage *m, *reply;

        m = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS, DBUS_INTERFACE_DBUS, method);
        if (!m)
                return -ENOMEM;
        if (!dbus_message_append_args(m, DBUS_TYPE_STRING, &rule, DBUS_TYPE_INVALID)) {
                dbus_message_unref(m);
                return -ENOMEM;
        }
        if (!de) {
                dbus_message_set_no_reply(m, TRUE);
                dbus_bool_t ok = dbus_connection_send(dc, m, NULL);
                dbus_message_unref(m);
                return ok ? 0 : -ENOMEM;
        }
        reply = dbus_connection_send_with_reply_and_block(dc, m, DBUS_TIMEOUT_USE_DEFAULT, de);
        dbus_message_unref(m);
        if (!reply)
                return -EIO;
        dbus_message_unref(reply);
        return 0;
}

static int get_name_owner(DBusConnection *dc, const char *name, char **ret, busrpc_error *err) {
        DBusError de = DBUS_ERROR_INIT;
        DBusMessage *m, *reply;
        const char *owner = NULL;
        int r = 0;

        m = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS, DBUS_INTERFACE_DBUS, "GetNameOwner");
        if (!m)
                return -ENOMEM;
        if (!dbus_message_append_args(m, DBUS_TYPE_STRING, &name, DBUS_TYPE_INVALID)) {
                dbus_message_unref(m);
                return -ENOMEM;
        }
        reply = dbus_connection_send_with_reply_and_block(dc, m, DBUS_TIMEOUT_USE_DEFAULT, &de);
        dbus_message_unref(m);
        if (!reply) {
                if (dbus_error_has_name(&de, "org.freedesktop.DBus.Error.NameHasNoOwner")) {
                        dbus_error_free(&de);
                        *ret = NULL; /* nobody yet: NameOwnerChanged will tell */
                        return 0;
                }
                return call_error(dc, &de, err);
        }
        if (!dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &owner, DBUS_TYPE_INVALID)) {
                (void)busrpc_error_set(err, BUSRPC_ERROR_INVALID_ARGS, "Bad GetNameOwner reply");
                r = -EBADMSG;
        } else if (!(*ret = strdup(owner)))
                r = -ENOMEM;
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

BUSRPC_EXPORT int busrpc_proxy_subscribe(busrpc_proxy *p, const char *iface, const char *member, const char *sig,
                                         busrpc_signal_fn cb, void *userdata, busrpc_destroy_fn destroy,
                                         busrpc_subscription **ret) {
        DBusError de = DBUS_ERROR_INIT;
        busrpc_subscription *s;
        DBusConnection *dc;
        busrpc_conn *c;
        const char *dest;
        int r;

        return_if_fail(p && cb && valid_interface_name(iface) && valid_member_name(member), -EINVAL);
        return_if_fail(sig && valid_signature(sig), -EINVAL);
        c = busrpc_proxy_get_conn(p);
        dc = conn_get_dbus(c);
        if (!dc)
                return -EINVAL; /* the all-peers handle of a server calls nobody */
        if (!dbus_connection_get_is_connected(dc))
                return -ECONNRESET;
        dest = busrpc_proxy_get_destination(p);
        if (!dest && !conn_is_peer(c))
                return -EINVAL; /* on a bus, whose signals? */

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->dc = dc;
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
                sub_free_data(s);
                return -ENOMEM;
        }
        if (!s->peer) {
                if (dest[0] == ':' || strcmp(dest, DBUS_SERVICE_DBUS) == 0) {
                        /* A unique name never changes owner; nor does the bus. */
                        if (!(s->owner = strdup(dest))) {
                                sub_free_data(s);
                                return -ENOMEM;
                        }
                } else {
                        s->track_owner = true;
                        s->owner_match = rule_new(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS, DBUS_INTERFACE_DBUS,
                                                  "NameOwnerChanged", dest);
                        if (!s->owner_match) {
                                sub_free_data(s);
                                return -ENOMEM;
                        }
                }
        }
        /* The filter first, so that no owner change is missed between the
         * match rule and the GetNameOwner answer. From here on libdbus owns
         * @s and frees it through sub_free_data(). */
        if (!dbus_connection_add_filter(dc, sub_filter, s, sub_free_data)) {
                sub_free_data(s);
                return -ENOMEM;
        }
        if (s->peer) {
                r = bus_match(dc, "AddMatch", s->match, NULL);
        } else {
                r = 0;
                if (s->owner_match)
                        r = bus_match(dc, "AddMatch", s->owner_match, &de);
                if (r >= 0)
                        r = bus_match(dc, "AddMatch", s->match, &de);
                if (r == -EIO)
                        r = call_error(dc, &de, NULL);
                if (r >= 0 && s->track_owner) {
                        char *owner = NULL;

                        r = get_name_owner(dc, s->dest, &owner, NULL);
                        if (r >= 0) {
                                free(s->owner);
                                s->owner = owner;
                        }
                }
                if (r < 0) {
                        if (s->owner_match)
                                (void)bus_match(dc, "RemoveMatch", s->owner_match, NULL);
                        (void)bus_match(dc, "RemoveMatch", s->match, NULL);
                }
        }
        if (r < 0) {
                dbus_connection_remove_filter(dc, sub_filter, s); /* frees s */
                return r;
        }
        if (ret) {
                /* The handle keeps the DBusConnection (not the busrpc_conn)
                 * alive, so freeing it after the connection is safe. */
                s->dc_ref = true;
                dbus_connection_ref(dc);
                *ret = s;
        }
        s->destroy = destroy;
        s->linked = true;
        s->next = all_subs;
        if (all_subs)
                all_subs->prev = s;
        all_subs = s;
        return 0;
}

void signal_conn_swapped(DBusConnection *old, DBusConnection *dc) {
        for (busrpc_subscription *s = all_subs; s; s = s->next) {
                char *owner = NULL;

                if (s->dc != old || !dbus_connection_add_filter(dc, sub_filter, s, sub_free_data))
                        continue; /* on ENOMEM it stays with the lost connection: silent */
                s->moving = true;
                dbus_connection_remove_filter(old, sub_filter, s);
                s->moving = false;
                s->dc = dc;
                if (s->dc_ref) {
                        dbus_connection_ref(dc);
                        dbus_connection_unref(old); /* the caller still holds one */
                }
                /* The owner rule first (the bus keeps the order), then who owns
                 * the name on the new bus; a unique name is gone for good. */
                if (s->owner_match)
                        (void)bus_match(dc, "AddMatch", s->owner_match, NULL);
                (void)bus_match(dc, "AddMatch", s->match, NULL);
                if (s->track_owner && get_name_owner(dc, s->dest, &owner, NULL) >= 0) {
                        free(s->owner);
                        s->owner = owner;
                }
        }
}

static bool sub_is_live(busrpc_subscription *s) {
        for (busrpc_subscription *i = all_subs; i; i = i->next)
                if (i == s)
                        return true;
        return false;
}

void signal_deliver(DBusConnection *dc, DBusMessage *m) {
        busrpc_subscription **v;
        size_t n = 0, i = 0;

        if (dbus_message_get_type(m) != DBUS_MESSAGE_TYPE_SIGNAL)
                return;
        for (busrpc_subscription *s = all_subs; s; s = s->next)
                n += s->dc == dc;
        if (n == 0 || !(v = calloc(n, sizeof(*v))))
                return;
        for (busrpc_subscription *s = all_subs; s; s = s->next)
                if (s->dc == dc)
                        v[i++] = s;
        /* Oldest first, as libdbus runs filters in the order they were
         * added; a callback may free any subscription, so each is looked
         * up again before it runs. */
        while (i-- > 0)
                if (sub_is_live(v[i]) && v[i]->dc == dc)
                        (void)sub_filter(dc, m, v[i]);
        free(v);
}

BUSRPC_EXPORT busrpc_subscription *busrpc_subscription_release(busrpc_subscription *s) {
        DBusConnection *dc;
        bool dc_ref;

        if (!s)
                return NULL;
        dc = s->dc;
        dc_ref = s->dc_ref;
        if (dbus_connection_get_is_connected(dc)) {
                (void)bus_match(dc, "RemoveMatch", s->match, NULL);
                if (s->owner_match)
                        (void)bus_match(dc, "RemoveMatch", s->owner_match, NULL);
        }
        dbus_connection_remove_filter(dc, sub_filter, s); /* frees s */
        if (dc_ref)
                dbus_connection_unref(dc);
        return NULL;
}
