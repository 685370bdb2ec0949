/* call.c: a method call being served. The dispatcher holds one reference
 * while the skeleton runs; an op that returns BUSRPC_DEFER takes its own
 * (busrpc_call_ref) and replies later. A call dropped without any reply
 * gets a Failed error, so the caller never waits for its timeout. A call
 * served on the fast path (call.h) has no DBusMessage: its replies are
 * written on the wire by fastcall.c. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "call.h"
#include "conn.h"
#include "creds.h"
#include "error-map.h"
#include "fastcall.h"
#include "marshal.h"
#include "message.h"
#include "object.h"
#include "transport.h"
#include "validate.h"

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

busrpc_call *call_new_fast(busrpc_conn *c, busrpc_object *o, const busrpc_method_desc *md, const WireMsg *m,
                           int *fds, unsigned n_fds, bool no_reply) {
        busrpc_call *call = calloc(1, sizeof(*call));
        size_t n;

        if (!call)
                return NULL;
        if (m->sender) {
                n = strlen(m->sender) + 1;
                call->sender = n <= sizeof(call->sender_buf) ? memcpy(call->sender_buf, m->sender, n)
                                                             : strdup(m->sender);
                if (!call->sender) {
                        free(call);
                        return NULL;
                }
        }
        call->n_ref = 1;
        call->conn = busrpc_conn_ref(c);
        call->object = object_ref(o);
        call->no_reply = no_reply || (m->flags & WIRE_FLAG_NO_REPLY);
        call->counted = true;
        call->fast = true;
        call->serial = m->serial;
        call->link_gen = c->link_gen;
        call->member = md->name;
        call->wire = m;
        call->wire_fds = fds;
        call->n_wire_fds = n_fds;
        c->n_calls++;
        return call;
}

static void close_fds(int *fds, unsigned n) {
        for (unsigned i = 0; i < n; i++)
                if (fds[i] >= 0)
                        close(fds[i]);
}

void call_detach_wire(busrpc_call *call) {
        const WireMsg *m = call->wire;
        int *fds = call->wire_fds;
        unsigned i, n = call->n_wire_fds;

        call->wire = NULL;
        call->wire_fds = NULL;
        call->n_wire_fds = 0;
        if (!m || call->n_ref <= 1 || call->msg)
                return;
        /* Kept past the op (deferred): busrpc_call_get_msg() may still
         * want the message, whose bytes are about to go. */
        call->copy = malloc(m->size);
        if (!call->copy)
                return; /* busrpc_call_get_msg() then returns NULL */
        memcpy(call->copy, m->data, m->size);
        call->copy_len = m->size;
        if (!n)
                return;
        call->copy_fds = malloc(n * sizeof(int));
        if (!call->copy_fds)
                goto fail;
        for (i = 0; i < n; i++) {
                call->copy_fds[i] = fds[i] < 0 ? -1 : fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
                call->n_copy_fds = i + 1;
                if (fds[i] >= 0 && call->copy_fds[i] < 0)
                        goto fail;
        }
        return;
fail:
        if (call->copy_fds)
                close_fds(call->copy_fds, call->n_copy_fds);
        free(call->copy_fds);
        call->copy_fds = NULL;
        call->n_copy_fds = 0;
        free(call->copy);
        call->copy = NULL;
}

/* The DBusMessage of @call: a fast call's is built from its bytes on
 * first use. NULL when that fails. */
static DBusMessage *call_dbus(busrpc_call *call) {
        WireMsg m;

        if (call->msg || !call->fast)
                return call->msg;
        if (call->wire) {
                if (transport_to_dbus(call->wire, call->wire_fds, call->n_wire_fds, &call->msg) < 0)
                        call->msg = NULL;
        } else if (call->copy) {
                if (wire_message_parse(&m, call->copy, call->copy_len, call->n_copy_fds, NULL) < 0 ||
                    transport_to_dbus(&m, call->copy_fds, call->n_copy_fds, &call->msg) < 0)
                        call->msg = NULL;
        }
        return call->msg;
}

static const char *call_member(busrpc_call *call) {
        return call->msg ? dbus_message_get_member(call->msg) : call->member;
}

void call_mark_replied(busrpc_call *call) {
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
                                         call_member(call));
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
                                 call_member(call));
        call_mark_replied(call);
        if (call->wrapped)
                busrpc_msg_unref(call->wrapped);
        if (call->msg)
                dbus_message_unref(call->msg);
        if (call->sender != call->sender_buf)
                free(call->sender);
        if (call->copy_fds) {
                close_fds(call->copy_fds, call->n_copy_fds);
                free(call->copy_fds);
        }
        free(call->copy);
        object_unref(call->object);
        busrpc_conn_unref(call->conn);
        free(call);
        return NULL;
}

BUSRPC_EXPORT busrpc_msg *busrpc_call_get_msg(busrpc_call *call) {
        if (!call)
                return NULL;
        if (!call->wrapped && call_dbus(call))
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
        return call->fast ? call->sender : dbus_message_get_sender(call->msg);
}

/* SENDER of the call, whatever the connection. */
static const char *call_sender(busrpc_call *call) {
        return call->fast ? call->sender : dbus_message_get_sender(call->msg);
}

BUSRPC_EXPORT int busrpc_call_get_uid(busrpc_call *call, uid_t *ret) {
        uid_t uid;
        int r;

        return_if_fail(call && ret, -EINVAL);
        r = creds_get(call->conn, call_sender(call), &uid, NULL);
        if (r < 0)
                return r;
        *ret = uid;
        return 0;
}

BUSRPC_EXPORT int busrpc_call_get_pid(busrpc_call *call, pid_t *ret) {
        pid_t pid;
        int r;

        return_if_fail(call && ret, -EINVAL);
        r = creds_get(call->conn, call_sender(call), NULL, &pid);
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

/* A method return for @call, as dbus_message_new_method_return() makes it. */
static DBusMessage *call_new_return(busrpc_call *call) {
        DBusMessage *reply;

        if (!call->fast)
                return dbus_message_new_method_return(call->msg);
        reply = dbus_message_new(DBUS_MESSAGE_TYPE_METHOD_RETURN);
        if (!reply)
                return NULL;
        dbus_message_set_no_reply(reply, TRUE);
        if (!dbus_message_set_reply_serial(reply, call->serial) ||
            (call->sender && !dbus_message_set_destination(reply, call->sender))) {
                dbus_message_unref(reply);
                return NULL;
        }
        return reply;
}

/* An error reply for a fast @call, as dbus_message_new_error() makes it. */
static DBusMessage *call_new_error(busrpc_call *call, const char *name, const char *text) {
        DBusMessage *reply;

        reply = dbus_message_new(DBUS_MESSAGE_TYPE_ERROR);
        if (!reply)
                return NULL;
        dbus_message_set_no_reply(reply, TRUE);
        if (!dbus_message_set_error_name(reply, name) || !dbus_message_set_reply_serial(reply, call->serial) ||
            (call->sender && !dbus_message_set_destination(reply, call->sender)) ||
            !dbus_message_append_args(reply, DBUS_TYPE_STRING, &text, DBUS_TYPE_INVALID)) {
                dbus_message_unref(reply);
                return NULL;
        }
        return reply;
}

BUSRPC_EXPORT int busrpc_call_reply_new(busrpc_call *call, busrpc_msg **ret) {
        DBusMessage *reply;
        busrpc_msg *m;

        return_if_fail(call && ret, -EINVAL);
        if (call->replied)
                return -EALREADY;
        reply = call_new_return(call);
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

        if (!valid_utf8(text))
                text = "(invalid UTF-8 in message)";
        if (call->fast && fast_call_direct(call)) {
                (void)fast_call_error(call, name, text);
                return -EREMOTEIO;
        }
        reply = call->fast ? call_new_error(call, name, text) : dbus_message_new_error(call->msg, name, text);
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
        if (call->fast) {
                const char *name = BUSRPC_ERROR_FAILED, *message = "Failed";

                /* What error_to_reply() makes of @e. */
                if (e && e->name && valid_error_name(e->name)) {
                        name = e->name;
                        message = e->message && valid_utf8(e->message) ? e->message : "";
                } else if (e && e->message && valid_utf8(e->message))
                        message = e->message;
                return call_fail_text(call, name, message);
        }
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
        if (call->fast) {
                r = fast_call_return(call, out, values);
                if (r != -EOPNOTSUPP)
                        return r;
                /* What the wire writer does not carry yet (an fd in a
                 * variant): through libdbus. */
        }
        reply = call_new_return(call);
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
