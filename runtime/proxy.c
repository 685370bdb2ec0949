/* proxy.c: the calling side. A proxy names a remote object (destination,
 * path) on a connection; calls go out sync (reply.c waits for the reply
 * and dispatches nothing meanwhile) or async (pending.c). Properties are calls on
 * org.freedesktop.DBus.Properties whose values are checked against the
 * expected signature before they are handed over.
 */
#include <stdlib.h>
#include <string.h>
#include "proxy.h"
#include "conn.h"
#include "error-map.h"
#include "message.h"
#include "reply.h"
#include "validate.h"
#include "variant.h"

#define TIMEOUT_DEFAULT_MS 25000
#define PROPERTIES_IFACE "org.freedesktop.DBus.Properties"

struct busrpc_proxy {
        unsigned n_ref;
        busrpc_conn *conn;
        char *dest; /* NULL on a peer connection */
        char *path;
        uint64_t timeout_usec;      /* BUSRPC_TIMEOUT_INFINITE: none */
        uint64_t next_timeout_usec; /* the next call's; BUSRPC_TIMEOUT_DEFAULT: none */
        FastProxy *fast;            /* fastcall.c: call templates by method; NULL until used */
};

FastProxy **proxy_fast_slot(busrpc_proxy *p) {
        return &p->fast;
}


BUSRPC_EXPORT int busrpc_proxy_new(busrpc_conn *c, const char *destination, const char *path, busrpc_proxy **ret) {
        busrpc_proxy *p;

        return_if_fail(c && ret && valid_object_path(path), -EINVAL);
        return_if_fail(!destination || valid_bus_name(destination), -EINVAL);
        /* On a bus, a call without destination goes to nobody in particular. */
        return_if_fail(destination || conn_is_peer(c), -EINVAL);
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->n_ref = 1;
        p->path = strdup(path);
        p->dest = destination ? strdup(destination) : NULL;
        if (!p->path || (destination && !p->dest)) {
                free(p->path);
                free(p->dest);
                free(p);
                return -ENOMEM;
        }
        p->conn = busrpc_conn_ref(c);
        p->timeout_usec = TIMEOUT_DEFAULT_MS * BUSRPC_USEC_PER_MSEC;
        p->next_timeout_usec = BUSRPC_TIMEOUT_DEFAULT;
        *ret = p;
        return 0;
}

BUSRPC_EXPORT busrpc_proxy *busrpc_proxy_ref(busrpc_proxy *p) {
        if (p)
                p->n_ref++;
        return p;
}

BUSRPC_EXPORT busrpc_proxy *busrpc_proxy_unref(busrpc_proxy *p) {
        if (!p || --p->n_ref > 0)
                return NULL;
        busrpc_conn_unref(p->conn);
        fast_proxy_free(p->fast);
        free(p->dest);
        free(p->path);
        free(p);
        return NULL;
}

BUSRPC_EXPORT int busrpc_proxy_set_timeout(busrpc_proxy *p, uint64_t timeout_usec) {
        return_if_fail(p, -EINVAL);
        p->timeout_usec = timeout_usec == BUSRPC_TIMEOUT_DEFAULT ? TIMEOUT_DEFAULT_MS * BUSRPC_USEC_PER_MSEC
                                                                 : timeout_usec;
        return 0;
}

BUSRPC_EXPORT int busrpc_proxy_get_timeout(busrpc_proxy *p, uint64_t *out) {
        return_if_fail(p && out, -EINVAL);
        *out = p->timeout_usec;
        return 0;
}

BUSRPC_EXPORT int busrpc_proxy_set_next_timeout(busrpc_proxy *p, uint64_t timeout_usec) {
        return_if_fail(p, -EINVAL);
        p->next_timeout_usec = timeout_usec;
        return 0;
}

/* The public API's microseconds as the runtime's call timeouts take them:
 * milliseconds rounded up, INT_MAX (libdbus's DBUS_TIMEOUT_INFINITE) for
 * none and for anything as long (24.8 days). */
int proxy_take_timeout(busrpc_proxy *p) {
        uint64_t t = p->next_timeout_usec != BUSRPC_TIMEOUT_DEFAULT ? p->next_timeout_usec : p->timeout_usec;
        int ms = busrpc_usec_to_poll_ms(t);

        p->next_timeout_usec = BUSRPC_TIMEOUT_DEFAULT;
        return ms < 0 ? INT_MAX : ms;
}

BUSRPC_EXPORT busrpc_conn *busrpc_proxy_get_conn(busrpc_proxy *p) {
        return p ? p->conn : NULL;
}

BUSRPC_EXPORT const char *busrpc_proxy_get_destination(busrpc_proxy *p) {
        return p ? p->dest : NULL;
}

BUSRPC_EXPORT const char *busrpc_proxy_get_path(busrpc_proxy *p) {
        return p ? p->path : NULL;
}

BUSRPC_EXPORT int busrpc_proxy_method_new(busrpc_proxy *p, const char *iface, const char *member, busrpc_msg **ret) {
        DBusMessage *m;
        busrpc_msg *msg;

        return_if_fail(p && ret && valid_member_name(member), -EINVAL);
        return_if_fail(!iface || valid_interface_name(iface), -EINVAL);
        m = dbus_message_new_method_call(p->dest, p->path, iface, member);
        if (!m)
                return -ENOMEM;
        msg = msg_wrap(m, p->conn);
        dbus_message_unref(m);
        if (!msg)
                return -ENOMEM;
        *ret = msg;
        return 0;
}

/* ---- results ---- */

int call_error(busrpc_conn *c, DBusError *de, busrpc_error *err) {
        int r = -EREMOTEIO;

        if (dbus_error_has_name(de, DBUS_ERROR_NO_REPLY) || dbus_error_has_name(de, DBUS_ERROR_TIMEOUT) ||
            dbus_error_has_name(de, DBUS_ERROR_TIMED_OUT))
                r = -ETIMEDOUT;
        else if (dbus_error_has_name(de, DBUS_ERROR_DISCONNECTED))
                r = -ECONNRESET;
        /* libdbus completes the calls of a lost connection with NoReply. */
        if (r == -ETIMEDOUT && c && !conn_is_open(c)) {
                dbus_error_free(de);
                (void)busrpc_error_set(err, BUSRPC_ERROR_DISCONNECTED, "Connection closed before the reply");
                return -ECONNRESET;
        }
        error_from_dbus(err, de);
        return r;
}

int reply_check(busrpc_conn *c, DBusMessage *reply, const char *expected_sig, busrpc_error *err) {
        if (dbus_message_get_type(reply) == DBUS_MESSAGE_TYPE_ERROR) {
                DBusError de = DBUS_ERROR_INIT;

                if (!dbus_set_error_from_message(&de, reply))
                        return busrpc_error_set(err, BUSRPC_ERROR_FAILED, "Malformed error reply");
                return call_error(c, &de, err);
        }
        if (expected_sig && !dbus_message_has_signature(reply, expected_sig)) {
                (void)busrpc_error_set(err, BUSRPC_ERROR_INVALID_ARGS, "Reply has signature '%s', expected '%s'",
                                       dbus_message_get_signature(reply), expected_sig);
                return -EBADMSG;
        }
        return 0;
}

int proxy_send_prepare(busrpc_proxy *p, busrpc_msg *m, const char *expected_sig, busrpc_error *err) {
        int r = 0;

        if (!p || !m || (expected_sig && !valid_signature(expected_sig)) || m->prop_value ||
            dbus_message_get_type(m->dbus) != DBUS_MESSAGE_TYPE_METHOD_CALL)
                r = -EINVAL;
        else if (!conn_is_open(p->conn))
                r = -ECONNRESET;
        /* libdbus fails such a call as if the connection were gone (async)
         * or with a remote-looking Failed error (sync). */
        else if (dbus_message_contains_unix_fds(m->dbus) && !conn_can_pass_fds(p->conn))
                r = -EOPNOTSUPP;
        if (r < 0) {
                busrpc_msg_unref(m);
                if (r == -ECONNRESET)
                        (void)busrpc_error_set(err, BUSRPC_ERROR_DISCONNECTED, "Not connected");
                return r;
        }
        return 0;
}

BUSRPC_EXPORT int busrpc_proxy_call(busrpc_proxy *p, busrpc_msg *m, const char *expected_sig,
                                    busrpc_msg **ret_reply, busrpc_error *err) {
        DBusMessage *reply;
        busrpc_msg *msg;
        int timeout, r;

        r = proxy_send_prepare(p, m, expected_sig, err);
        if (r < 0)
                return r;
        timeout = proxy_take_timeout(p);
        /* Either link; nothing else is dispatched while it waits. */
        r = conn_call_sync(p->conn, m->dbus, reply_expected_sender(p->conn, p->dest), timeout, &reply, err);
        busrpc_msg_unref(m);
        if (r < 0)
                return r;
        /* Error replies become -errno and @err; the signature is checked. */
        r = reply_check(p->conn, reply, expected_sig, err);
        if (r < 0 || !ret_reply) {
                dbus_message_unref(reply);
                return r;
        }
        msg = msg_wrap(reply, p->conn);
        dbus_message_unref(reply);
        if (!msg)
                return -ENOMEM;
        *ret_reply = msg;
        return 0;
}

BUSRPC_EXPORT int busrpc_proxy_send(busrpc_proxy *p, busrpc_msg *m) {
        int r;

        r = proxy_send_prepare(p, m, NULL, NULL);
        if (r < 0)
                return r;
        dbus_message_set_no_reply(m->dbus, TRUE);
        r = conn_send(p->conn, m->dbus);
        busrpc_msg_unref(m);
        return r;
}

/* ---- properties ---- */

BUSRPC_EXPORT int busrpc_proxy_get_property(busrpc_proxy *p, const char *iface, const char *name,
                                            const char *sig, busrpc_msg **ret_reply, busrpc_iter *ret_value,
                                            busrpc_error *err) {
        busrpc_msg *m = NULL, *reply = NULL;
        busrpc_iter it, sub;
        char sigbuf[BUSRPC_SIGNATURE_MAX + 1];
        const char *got;
        int r;

        return_if_fail(p && valid_interface_name(iface) && valid_member_name(name), -EINVAL);
        return_if_fail(valid_single_signature(sig), -EINVAL);
        return_if_fail(ret_reply || !ret_value, -EINVAL); /* the value lives in the reply */
        r = busrpc_proxy_method_new(p, PROPERTIES_IFACE, "Get", &m);
        if (r < 0)
                return r;
        busrpc_msg_append(m, &it);
        if ((r = busrpc_iter_append_basic(&it, 's', &iface)) < 0 ||
            (r = busrpc_iter_append_basic(&it, 's', &name)) < 0) {
                busrpc_msg_unref(m);
                return r;
        }
        r = busrpc_proxy_call(p, m, "v", &reply, err);
        if (r < 0)
                return r;
        busrpc_msg_read(reply, &it);
        got = busrpc_iter_get_variant_signature(&it, sigbuf, sizeof(sigbuf)) >= 0 ? sigbuf : NULL;
        if (!got || strcmp(got, sig) != 0) {
                (void)busrpc_error_set(err, BUSRPC_ERROR_INVALID_ARGS, "Property %s.%s has type '%s', expected '%s'",
                                       iface, name, got ? got : "?", sig);
                busrpc_msg_unref(reply);
                return -EBADMSG;
        }
        if (ret_value) {
                r = busrpc_iter_recurse(&it, &sub);
                if (r < 0) {
                        busrpc_msg_unref(reply);
                        return r;
                }
                *ret_value = sub;
        }
        if (ret_reply)
                *ret_reply = reply;
        else
                busrpc_msg_unref(reply);
        return 0;
}

BUSRPC_EXPORT int busrpc_proxy_set_property_begin(busrpc_proxy *p, const char *iface, const char *name,
                                                  const char *sig, busrpc_msg **ret, busrpc_iter *ret_value) {
        busrpc_msg *m = NULL;
        busrpc_iter it;
        int r;

        return_if_fail(p && ret && ret_value, -EINVAL);
        return_if_fail(valid_interface_name(iface) && valid_member_name(name), -EINVAL);
        return_if_fail(valid_single_signature(sig), -EINVAL);
        r = busrpc_proxy_method_new(p, PROPERTIES_IFACE, "Set", &m);
        if (r < 0)
                return r;
        busrpc_msg_append(m, &it);
        if ((r = busrpc_iter_append_basic(&it, 's', &iface)) < 0 ||
            (r = busrpc_iter_append_basic(&it, 's', &name)) < 0)
                goto fail;
        r = -ENOMEM;
        m->prop_value = dbus_message_new(DBUS_MESSAGE_TYPE_SIGNAL);
        m->prop_sig = strdup(sig);
        if (!m->prop_value || !m->prop_sig)
                goto fail;
        iter_init_append_one(ret_value, m->prop_value, sig);
        *ret = m;
        return 0;
fail:
        busrpc_msg_unref(m);
        return r;
}

BUSRPC_EXPORT int busrpc_proxy_set_property_finish(busrpc_proxy *p, busrpc_msg *m, busrpc_iter *value,
                                                   busrpc_error *err) {
        DBusMessageIter from, to, var;
        DBusMessage *v;
        int r;

        if (!p || !m || !m->prop_value) {
                busrpc_msg_unref(m);
                return -EINVAL;
        }
        v = m->prop_value;
        m->prop_value = NULL;
        if (strcmp(dbus_message_get_signature(v), m->prop_sig) != 0) {
                r = -EINVAL; /* nothing or something else was appended */
                goto out;
        }
        r = -ENOMEM;
        dbus_message_iter_init_append(m->dbus, &to);
        if (!dbus_message_iter_open_container(&to, DBUS_TYPE_VARIANT, m->prop_sig, &var))
                goto out;
        (void)dbus_message_iter_init(v, &from);
        r = value_copy(&from, &var, 1);
        if (r < 0) {
                dbus_message_iter_abandon_container(&to, &var);
                goto out;
        }
        if (!dbus_message_iter_close_container(&to, &var)) {
                r = -ENOMEM;
                goto out;
        }
        dbus_message_unref(v);
        return busrpc_proxy_call(p, m, "", NULL, err);
out:
        dbus_message_unref(v);
        busrpc_msg_unref(m);
        return r;
}

BUSRPC_EXPORT int busrpc_proxy_get_all(busrpc_proxy *p, const char *iface, busrpc_msg **ret_reply,
                                       busrpc_error *err) {
        busrpc_msg *m = NULL;
        busrpc_iter it;
        int r;

        return_if_fail(p && ret_reply, -EINVAL);
        return_if_fail(!iface || valid_interface_name(iface), -EINVAL);
        if (!iface)
                iface = ""; /* the specification: all interfaces */
        r = busrpc_proxy_method_new(p, PROPERTIES_IFACE, "GetAll", &m);
        if (r < 0)
                return r;
        busrpc_msg_append(m, &it);
        r = busrpc_iter_append_basic(&it, 's', &iface);
        if (r < 0) {
                busrpc_msg_unref(m);
                return r;
        }
        return busrpc_proxy_call(p, m, "a{sv}", ret_reply, err);
}
