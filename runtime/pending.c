/* pending.c: async calls (busrpc_proxy_call_async()) and their handles.
 *
 * A DBusPendingCall completes through its notify function when the reply
 * arrives or its timeout fires (a DBusTimeout the loop drives). Two things
 * libdbus does not do, done here:
 *  - cancellation that still runs the callback, once;
 *  - completion on disconnect: libdbus removes a lost connection's pending
 *    calls from its table and queues their NoReply errors as orphans, so
 *    their notify functions never run. Every outstanding call is kept on a
 *    list per DBusConnection, and a filter completes them all with
 *    -ECONNRESET when the local Disconnected signal is dispatched.
 */
#include <stdlib.h>
#include <string.h>
#include "data.h"

struct busrpc_pending {
        unsigned n_ref;
        DBusPendingCall *dp; /* until completion or cancellation */
        DBusConnection *dc;  /* a reference */
        busrpc_conn *conn;   /* a reference: the loop keeps serving it until we complete */
        busrpc_reply_fn cb;
        void *userdata;
        char *expected_sig; /* NULL: any */
        bool done;
        struct PendingList *list; /* while outstanding */
        busrpc_pending *prev, *next;
};

/* The outstanding calls of one DBusConnection; lives as long as it. */
typedef struct PendingList {
        busrpc_pending *head;
} PendingList;

static dbus_int32_t list_slot = -1;

BUSRPC_EXPORT busrpc_pending *busrpc_pending_ref(busrpc_pending *pd) {
        if (pd)
                pd->n_ref++;
        return pd;
}

BUSRPC_EXPORT busrpc_pending *busrpc_pending_unref(busrpc_pending *pd) {
        if (!pd || --pd->n_ref > 0)
                return NULL;
        /* pd->dp is NULL and pd is off the list here: libdbus's reference
         * and the list's go only at completion. */
        free(pd->expected_sig);
        if (pd->conn)
                busrpc_conn_unref(pd->conn);
        if (pd->dc)
                dbus_connection_unref(pd->dc);
        free(pd);
        return NULL;
}

static void pending_free_data(void *data) {
        busrpc_pending_unref(data);
}

static void list_unlink(busrpc_pending *pd) {
        if (!pd->list)
                return;
        if (pd->prev)
                pd->prev->next = pd->next;
        else
                pd->list->head = pd->next;
        if (pd->next)
                pd->next->prev = pd->prev;
        pd->prev = pd->next = NULL;
        pd->list = NULL;
}

/* Run the callback once, then let the DBusPendingCall go. */
static void pending_complete(busrpc_pending *pd, DBusMessage *reply, int r, busrpc_error *err) {
        DBusPendingCall *dp = pd->dp;
        busrpc_msg *msg = NULL;

        pd->done = true;
        pd->dp = NULL;
        list_unlink(pd);
        busrpc_pending_ref(pd); /* the callback may drop the caller's reference */
        if (reply && r >= 0) {
                r = reply_check(pd->dc, reply, pd->expected_sig, err);
                if (r >= 0) {
                        msg = msg_wrap(reply, pd->conn); /* its limits (shm size) */
                        if (!msg)
                                r = busrpc_error_set_errno(err, ENOMEM);
                }
        }
        pd->cb(msg, r, err, pd->userdata);
        busrpc_msg_unref(msg);
        if (dp)
                dbus_pending_call_unref(dp); /* libdbus then drops its reference to pd */
        busrpc_pending_unref(pd);
}

static void pending_notify(DBusPendingCall *dp, void *data) {
        busrpc_pending *pd = data;
        busrpc_error err = BUSRPC_ERROR_INIT;
        DBusMessage *reply;

        if (pd->done)
                return;
        reply = dbus_pending_call_steal_reply(dp);
        if (reply)
                pending_complete(pd, reply, 0, &err);
        else
                pending_complete(pd, NULL, busrpc_error_set_errno(&err, ENOMEM), &err);
        if (reply)
                dbus_message_unref(reply);
        busrpc_error_clear(&err);
}

static DBusHandlerResult list_filter(DBusConnection *dc, DBusMessage *m, void *data) {
        PendingList *list = data;

        if (!dbus_message_is_signal(m, DBUS_INTERFACE_LOCAL, "Disconnected") ||
            !dbus_message_has_path(m, DBUS_PATH_LOCAL))
                return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
        /* Each completion unlinks its call; a callback may start new calls,
         * which fail at once on a closed connection and never get here. */
        while (list->head) {
                busrpc_pending *pd = list->head;
                busrpc_error err = BUSRPC_ERROR_INIT;

                if (pd->dp)
                        dbus_pending_call_cancel(pd->dp);
                (void)busrpc_error_set(&err, BUSRPC_ERROR_DISCONNECTED, "Connection closed before the reply");
                pending_complete(pd, NULL, -ECONNRESET, &err);
                busrpc_error_clear(&err);
        }
        return DBUS_HANDLER_RESULT_NOT_YET_HANDLED; /* the core wants it too */
}

static PendingList *list_get(DBusConnection *dc) {
        PendingList *list;

        if (list_slot < 0 && !dbus_connection_allocate_data_slot(&list_slot))
                return NULL;
        list = dbus_connection_get_data(dc, list_slot);
        if (list)
                return list;
        list = calloc(1, sizeof(*list));
        if (!list)
                return NULL;
        /* The filter owns the list; libdbus frees both with the connection. */
        if (!dbus_connection_add_filter(dc, list_filter, list, free)) {
                free(list);
                return NULL;
        }
        if (!dbus_connection_set_data(dc, list_slot, list, NULL)) {
                dbus_connection_remove_filter(dc, list_filter, list); /* frees list */
                return NULL;
        }
        return list;
}

BUSRPC_EXPORT int busrpc_proxy_call_async(busrpc_proxy *p, busrpc_msg *m, const char *expected_sig,
                                          busrpc_reply_fn cb, void *userdata, busrpc_pending **ret) {
        DBusPendingCall *dp = NULL;
        DBusConnection *dc;
        PendingList *list;
        busrpc_pending *pd;
        int r;

        if (!cb) {
                busrpc_msg_unref(m);
                return -EINVAL;
        }
        r = proxy_send_prepare(p, m, expected_sig, &dc, NULL);
        if (r < 0)
                return r;
        list = list_get(dc);
        pd = calloc(1, sizeof(*pd));
        if (!list || !pd || (expected_sig && !(pd->expected_sig = strdup(expected_sig)))) {
                free(pd);
                busrpc_msg_unref(m);
                return -ENOMEM;
        }
        pd->n_ref = 1; /* held by libdbus, as the notify data */
        pd->cb = cb;
        pd->userdata = userdata;
        pd->dc = dbus_connection_ref(dc);
        /* The callback runs exactly once, even when the caller drops the
         * connection meanwhile: keep it (and its place in the loop). */
        pd->conn = busrpc_conn_ref(busrpc_proxy_get_conn(p));
        if (!dbus_connection_send_with_reply(dc, msg_get_dbus(m), &dp, proxy_take_timeout(p)))
                r = -ENOMEM;
        else if (!dp)
                r = -ECONNRESET; /* libdbus: the connection is already closed */
        busrpc_msg_unref(m);
        if (r >= 0 && !dbus_pending_call_set_notify(dp, pending_notify, pd, pending_free_data)) {
                dbus_pending_call_cancel(dp);
                r = -ENOMEM;
        }
        if (r < 0) {
                if (dp)
                        dbus_pending_call_unref(dp);
                busrpc_pending_unref(pd);
                return r;
        }
        pd->dp = dp;
        pd->list = list;
        pd->next = list->head;
        if (list->head)
                list->head->prev = pd;
        list->head = pd;
        if (ret)
                *ret = busrpc_pending_ref(pd);
        return 0;
}

BUSRPC_EXPORT void busrpc_pending_cancel(busrpc_pending *pd) {
        busrpc_error err = BUSRPC_ERROR_INIT;

        if (!pd || pd->done)
                return;
        /* Detach from libdbus first: its notification will not come. */
        if (pd->dp)
                dbus_pending_call_cancel(pd->dp);
        (void)busrpc_error_set(&err, BUSRPC_ERROR_CANCELLED, "The call was cancelled");
        pending_complete(pd, NULL, -ECANCELED, &err);
        busrpc_error_clear(&err);
}
