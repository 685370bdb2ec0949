/* call.c: a method call being served. The dispatcher holds one reference
 * while the skeleton runs; an op that returns BUSRPC_DEFER takes its own
 * (busrpc_call_ref) and replies later. A call dropped without any reply
 * gets a Failed error, so the caller never waits for its timeout. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "call.h"
#include "conn.h"
#include "creds.h"
#include "error-map.h"
#include "marshal.h"
#include "message.h"
#include "object.h"
#include "validate.h"

struct busrpc_call {
        unsigned n_ref;
        busrpc_conn *conn;
        busrpc_object *object;
        DBusMessage *msg;
        busrpc_msg *wrapped; /* lazily, for busrpc_call_get_msg() */
        bool replied;
        bool no_reply;
        bool counted; /* in conn->n_calls */
};

/* Replies nobody asked for carry this mark; conn_send() drops them. (The
 * no-reply header flag cannot serve: libdbus sets it on every reply.) */
static dbus_int32_t unwanted_slot = -1;

static void mark_unwanted(DBusMessage *m) {
        if (unwanted_slot < 0 && !dbus_message_allocate_data_slot(&unwanted_slot))
                return;
        dbus_message_set_data(m, unwanted_slot, (void *)1, NULL);
}

bool msg_is_unwanted(DBusMessage *m) {
        return unwanted_slot >= 0 && dbus_message_get_data(m, unwanted_slot) != NULL;
}

busrpc_call *call_new(busrpc_conn *c, busrpc_object *o, DBusMessage *m, bool no_reply) {
        busrpc_call *call = calloc(1, sizeof(*call));

        if (!call)
                return NULL;
        call->n_ref = 1;
        call->conn = busrpc_conn_ref(c);
        call->object = object_ref(o);
        call->msg = dbus_message_ref(m);
        call->no_reply = no_reply || dbus_message_get_no_reply(m);
        call->counted = true;
        c->n_calls++;
        return call;
}

static void call_mark_replied(busrpc_call *call) {
        call->replied = true;
        if (call->counted) {
                call->counted = false;
                call->conn->n_calls--;
        }
}

/* Send @reply (consumed) for @call, unless the caller asked for none. */
static int call_send(busrpc_call *call, DBusMessage *reply) {
        if (!reply)
                return -ENOMEM;
        call_mark_replied(call);
        if (call->no_reply) {
                dbus_message_unref(reply);
                return 0;
        }
        return conn_send_reply(call->conn, reply);
}

void call_finish(busrpc_call *call, int r) {
        if (r < 0 && !call->replied) {
                if (r == -EOPNOTSUPP)
                        busrpc_call_fail(call, BUSRPC_ERROR_UNKNOWN_METHOD, "Method '%s' is not implemented",
                                         dbus_message_get_member(call->msg));
                else if (r == -ENOMEM)
                        busrpc_call_fail(call, BUSRPC_ERROR_NO_MEMORY, "Out of memory");
                else if (r == -EINVAL || r == -EBADMSG)
                        busrpc_call_fail(call, BUSRPC_ERROR_INVALID_ARGS, "Invalid arguments: %s", strerror(-r));
                else
                        busrpc_call_fail(call, BUSRPC_ERROR_FAILED, "%s", strerror(-r));
        }
        busrpc_call_unref(call);
}

BUSRPC_EXPORT busrpc_call *busrpc_call_ref(busrpc_call *call) {
        if (call)
                call->n_ref++;
        return call;
}

BUSRPC_EXPORT busrpc_call *busrpc_call_unref(busrpc_call *call) {
        if (!call || --call->n_ref > 0)
                return NULL;
        if (!call->replied && !call->no_reply)
                busrpc_call_fail(call, BUSRPC_ERROR_FAILED, "Method '%s' returned without a reply",
                                 dbus_message_get_member(call->msg));
        call_mark_replied(call);
        if (call->wrapped)
                busrpc_msg_unref(call->wrapped);
        dbus_message_unref(call->msg);
        object_unref(call->object);
        busrpc_conn_unref(call->conn);
        free(call);
        return NULL;
}

BUSRPC_EXPORT busrpc_msg *busrpc_call_get_msg(busrpc_call *call) {
        if (!call)
                return NULL;
        if (!call->wrapped)
                call->wrapped = msg_new(call->msg, call->conn);
        return call->wrapped;
}

BUSRPC_EXPORT busrpc_conn *busrpc_call_get_conn(busrpc_call *call) {
        return call ? call->conn : NULL;
}

BUSRPC_EXPORT busrpc_object *busrpc_call_get_object(busrpc_call *call) {
        return call ? call->object : NULL;
}

BUSRPC_EXPORT const char *busrpc_call_get_sender(busrpc_call *call) {
        if (!call || call->conn->kind != CONN_BUS)
                return NULL;
        return dbus_message_get_sender(call->msg);
}

BUSRPC_EXPORT int busrpc_call_get_uid(busrpc_call *call, uid_t *ret) {
        uid_t uid;
        int r;

        return_if_fail(call && ret, -EINVAL);
        r = creds_get(call->conn, dbus_message_get_sender(call->msg), &uid, NULL);
        if (r < 0)
                return r;
        *ret = uid;
        return 0;
}

BUSRPC_EXPORT int busrpc_call_get_pid(busrpc_call *call, pid_t *ret) {
        pid_t pid;
        int r;

        return_if_fail(call && ret, -EINVAL);
        r = creds_get(call->conn, dbus_message_get_sender(call->msg), NULL, &pid);
        if (r < 0)
                return r;
        *ret = pid;
        return 0;
}

BUSRPC_EXPORT bool busrpc_call_is_replied(busrpc_call *call) {
        return call && call->replied;
}

BUSRPC_EXPORT bool busrpc_call_no_reply_expected(busrpc_call *call) {
        return call && call->no_reply;
}

BUSRPC_EXPORT int busrpc_call_reply_new(busrpc_call *call, busrpc_msg **ret) {
        DBusMessage *reply;
        busrpc_msg *m;

        return_if_fail(call && ret, -EINVAL);
        if (call->replied)
                return -EALREADY;
        reply = dbus_message_new_method_return(call->msg);
        if (!reply)
                return -ENOMEM;
        if (call->no_reply)
                mark_unwanted(reply);
        m = msg_new(reply, call->conn);
        dbus_message_unref(reply);
        if (!m)
                return -ENOMEM;
        call_mark_replied(call);
        *ret = m;
        return 0;
}

static int call_fail_text(busrpc_call *call, const char *name, const char *text) {
        DBusMessage *reply;

        reply = dbus_message_new_error(call->msg, name, valid_utf8(text) ? text : "(invalid UTF-8 in message)");
        call_send(call, reply);
        return -EREMOTEIO;
}

BUSRPC_EXPORT int busrpc_call_failv(busrpc_call *call, const char *name, const char *fmt, va_list ap) {
        char *text = NULL;
        int r;

        return_if_fail(call && fmt, -EINVAL);
        if (call->replied)
                return -EALREADY;
        if (!name || !valid_interface_name(name))
                name = BUSRPC_ERROR_FAILED;
        r = vasprintf(&text, fmt, ap);
        if (r < 0) {
                call_fail_text(call, BUSRPC_ERROR_NO_MEMORY, "Out of memory");
                return -EREMOTEIO;
        }
        r = call_fail_text(call, name, text);
        free(text);
        return r;
}

BUSRPC_EXPORT int busrpc_call_fail(busrpc_call *call, const char *name, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = busrpc_call_failv(call, name, fmt, ap);
        va_end(ap);
        return r;
}

BUSRPC_EXPORT int busrpc_call_fail_error(busrpc_call *call, const busrpc_error *e) {
        return_if_fail(call, -EINVAL);
        if (call->replied)
                return -EALREADY;
        call_send(call, error_to_reply(call->msg, e));
        return -EREMOTEIO;
}

BUSRPC_EXPORT int busrpc_call_reply_args(busrpc_call *call, const busrpc_args *out, const void *values) {
        DBusMessage *reply;
        int r;

        return_if_fail(call && out && (values || out->n_fields == 0), -EINVAL);
        return_if_fail(marshal_args_valid(out), -EINVAL);
        if (call->replied)
                return -EALREADY;
        if (call->no_reply) {
                call_mark_replied(call);
                return 0;
        }
        reply = dbus_message_new_method_return(call->msg);
        if (!reply)
                return -ENOMEM;
        r = marshal_args_append_msg(reply, out, values);
        if (r < 0) {
                /* Not replied: the op's caller still answers (with the error). */
                dbus_message_unref(reply);
                return r;
        }
        return call_send(call, reply);
}
