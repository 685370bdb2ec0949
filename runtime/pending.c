/* pending.c: async calls (busrpc_proxy_call_async()) and their handles.
 *
 * A call is an entry of its connection's reply table (reply.c): it
 * completes when its reply is dispatched, when its deadline passes (the
 * NoReply error is made then, not before), when the connection is lost
 * (-ECONNRESET, before the connection's event handler runs) or when it is
 * cancelled (-ECANCELED). Its callback runs exactly once, whichever comes
 * first; a reply that comes later is not ours any more and is dropped.
 */
#include <stdlib.h>
#include <string.h>
#include "reply.h"
#include "conn.h"
#include "message.h"
#include "proxy.h"

BUSRPC_EXPORT busrpc_pending *busrpc_pending_ref(busrpc_pending *pd) {
        if (pd)
                pd->n_ref++;
        return pd;
}

BUSRPC_EXPORT busrpc_pending *busrpc_pending_unref(busrpc_pending *pd) {
        if (!pd || --pd->n_ref > 0)
                return NULL;
        /* Off the table here: the table's reference goes only at completion. */
        if (pd->expected_sig != pd->sig_buf)
                free((char *)pd->expected_sig);
        free(pd->from);
        if (pd->conn)
                busrpc_conn_unref(pd->conn);
        free(pd);
        return NULL;
}

void pending_complete(busrpc_pending *pd, DBusMessage *reply, int r, busrpc_error *err) {
        busrpc_msg *msg = NULL;

        pd->done = true;
        if (reply && r >= 0) {
                r = reply_check(pd->conn, reply, pd->expected_sig, err);
                if (r >= 0) {
                        msg = msg_wrap(reply, pd->conn); /* its limits (shm size) */
                        if (!msg)
                                r = busrpc_error_set_errno(err, ENOMEM);
                }
        }
        pd->cb(msg, r, err, pd->userdata);
        busrpc_msg_unref(msg);
        busrpc_pending_unref(pd); /* the table's */
}

static int pending_set_sig(busrpc_pending *pd, const char *sig) {
        size_t n;

        if (!sig)
                return 0;
        n = strlen(sig);
        if (n < sizeof(pd->sig_buf)) {
                memcpy(pd->sig_buf, sig, n + 1);
                pd->expected_sig = pd->sig_buf;
                return 0;
        }
        pd->expected_sig = strdup(sig);
        return pd->expected_sig ? 0 : -ENOMEM;
}

BUSRPC_EXPORT int busrpc_proxy_call_async(busrpc_proxy *p, busrpc_msg *m, const char *expected_sig,
                                          busrpc_reply_fn cb, void *userdata, busrpc_pending **ret) {
        busrpc_pending *pd;
        busrpc_conn *c;
        const char *from;
        int r;

        if (!cb) {
                busrpc_msg_unref(m);
                return -EINVAL;
        }
        r = proxy_send_prepare(p, m, expected_sig, NULL);
        if (r < 0)
                return r;
        c = busrpc_proxy_get_conn(p);
        from = reply_expected_sender(c, busrpc_proxy_get_destination(p));
        pd = calloc(1, sizeof(*pd));
        if (pd)
                pd->n_ref = 1; /* the table's, once entered */
        if (!pd || pending_set_sig(pd, expected_sig) < 0 || (from && !(pd->from = strdup(from)))) {
                if (pd)
                        busrpc_pending_unref(pd);
                busrpc_msg_unref(m);
                return -ENOMEM;
        }
        pd->cb = cb;
        pd->userdata = userdata;
        /* The callback runs exactly once, even when the caller drops the
         * connection meanwhile: keep it (and its place in the loop). */
        pd->conn = busrpc_conn_ref(c);
        r = reply_register(c, msg_get_dbus(m), proxy_take_timeout(p), pd);
        busrpc_msg_unref(m);
        if (r < 0) {
                busrpc_pending_unref(pd);
                return r;
        }
        if (ret)
                *ret = busrpc_pending_ref(pd);
        return 0;
}

BUSRPC_EXPORT void busrpc_pending_cancel(busrpc_pending *pd) {
        busrpc_error err = BUSRPC_ERROR_INIT;

        if (!pd || pd->done)
                return;
        /* Out of the table first: a reply already queued is not ours any more. */
        reply_unregister(pd);
        (void)busrpc_error_set(&err, BUSRPC_ERROR_CANCELLED, "The call was cancelled");
        pending_complete(pd, NULL, -ECANCELED, &err);
        busrpc_error_clear(&err);
}
