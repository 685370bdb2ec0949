/* name.c: well-known name ownership. On a bus, RequestName/ReleaseName and
 * the NameAcquired/NameLost signals the bus sends to the owner. On a
 * server's all-peers handle the name is only recorded, so the bus driver
 * emulation lists it (busctl list, GetNameOwner) and peers can use it as a
 * destination. */
#include <stdlib.h>
#include <string.h>
#include "name.h"
#include "conn.h"
#include "error-map.h"
#include "server.h"
#include "validate.h"

/* What libdbus's dbus_bus_request_name() waited for the bus (its default). */
#define NAME_CALL_TIMEOUT_MS 25000

static void name_unlink(busrpc_name *n) {
        busrpc_conn *c = n->conn;

        if (!c)
                return;
        if (n->prev)
                n->prev->next = n->next;
        else
                c->names = n->next;
        if (n->next)
                n->next->prev = n->prev;
        n->prev = n->next = NULL;
        n->conn = NULL;
}

static void name_free(busrpc_name *n) {
        if (n->notify)
                busrpc_source_release(n->notify);
        free(n->name);
        free(n);
}

static int notify_acquired(busrpc_source *s, void *userdata) {
        busrpc_name *n = userdata;

        n->notify = NULL;
        busrpc_source_release(s);
        if (n->conn && !n->owned) {
                n->owned = true;
                if (n->cb)
                        n->cb(n->conn, n->name, true, n->userdata);
        }
        return 0;
}

/* The RequestName answer: DBUS_REQUEST_NAME_REPLY_*, or -errno. */
static int request_name_call(busrpc_conn *c, const char *name, dbus_uint32_t dflags) {
        DBusError de = DBUS_ERROR_INIT;
        DBusMessage *m, *reply = NULL;
        dbus_uint32_t answer = 0;
        int r;

        m = dbus_message_new_method_call(DRIVER_NAME, DRIVER_PATH, DRIVER_IFACE, "RequestName");
        if (!m)
                return -ENOMEM;
        if (!dbus_message_append_args(m, DBUS_TYPE_STRING, &name, DBUS_TYPE_UINT32, &dflags, DBUS_TYPE_INVALID)) {
                dbus_message_unref(m);
                return -ENOMEM;
        }
        r = conn_call_sync(c, m, DRIVER_NAME, NAME_CALL_TIMEOUT_MS, &reply, NULL);
        dbus_message_unref(m);
        if (r < 0)
                return r;
        if (dbus_set_error_from_message(&de, reply)) {
                r = error_errno_from_dbus(&de);
                dbus_error_free(&de);
        } else if (!dbus_message_get_args(reply, NULL, DBUS_TYPE_UINT32, &answer, DBUS_TYPE_INVALID)) {
                r = -EBADMSG;
        } else {
                r = (int)(answer & 0xffu);
        }
        dbus_message_unref(reply);
        return r;
}

static int request_on_bus(busrpc_conn *c, const char *name, unsigned flags) {
        dbus_uint32_t dflags = 0;
        int r;

        if (flags & BUSRPC_NAME_ALLOW_REPLACEMENT)
                dflags |= DBUS_NAME_FLAG_ALLOW_REPLACEMENT;
        if (flags & BUSRPC_NAME_REPLACE_EXISTING)
                dflags |= DBUS_NAME_FLAG_REPLACE_EXISTING;
        if (flags & BUSRPC_NAME_DO_NOT_QUEUE)
                dflags |= DBUS_NAME_FLAG_DO_NOT_QUEUE;
        r = request_name_call(c, name, dflags);
        if (r < 0)
                return r;
        switch (r) {
        case DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER:
        case DBUS_REQUEST_NAME_REPLY_ALREADY_OWNER:
                return 0;
        case DBUS_REQUEST_NAME_REPLY_IN_QUEUE:
                return 1;
        case DBUS_REQUEST_NAME_REPLY_EXISTS:
                return -EEXIST;
        default:
                return -EIO;
        }
}

static int request_name(busrpc_conn *c, const char *name, unsigned flags, busrpc_name_fn cb, void *userdata,
                        busrpc_name **ret);

BUSRPC_EXPORT int busrpc_server_request_name(busrpc_server *s, const char *name, busrpc_name **ret) {
        return_if_fail(s && name, -EINVAL);
        return request_name(server_get_conn(s), name, 0, NULL, NULL, ret);
}

BUSRPC_EXPORT int busrpc_conn_request_name(busrpc_conn *c, const char *name, unsigned flags, busrpc_name_fn cb,
                                           void *userdata, busrpc_name **ret) {
        return_if_fail(!c || c->kind != CONN_SERVER, -EINVAL);
        return request_name(c, name, flags, cb, userdata, ret);
}

static int request_name(busrpc_conn *c, const char *name, unsigned flags, busrpc_name_fn cb, void *userdata,
                        busrpc_name **ret) {
        busrpc_name *n;
        int r;

        return_if_fail(c && name, -EINVAL);
        return_if_fail(valid_bus_name(name) && name[0] != ':', -EINVAL);
        return_if_fail((flags & ~7u) == 0, -EINVAL);
        if (c->kind == CONN_PEER || c->kind == CONN_SERVED)
                return -EOPNOTSUPP;
        if (c->kind == CONN_SERVER && strcmp(name, DRIVER_NAME) == 0)
                return -EINVAL;
        for (n = c->names; n; n = n->next)
                if (strcmp(n->name, name) == 0 && (n->owned || c->kind == CONN_SERVER))
                        return -EALREADY;

        n = calloc(1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        n->name = strdup(name);
        if (!n->name) {
                free(n);
                return -ENOMEM;
        }
        n->cb = cb;
        n->userdata = userdata;
        n->floating = !ret;
        n->flags = flags;
        if (c->kind == CONN_BUS) {
                r = request_on_bus(c, name, flags);
                if (r < 0) {
                        name_free(n);
                        return r;
                }
        } else {
                /* The acquired callback runs from the loop, after the caller
                 * has its handle, as it does on a bus. */
                r = busrpc_loop_add_timer(c->loop, 0, false, notify_acquired, n, &n->notify);
                if (r < 0) {
                        name_free(n);
                        return r;
                }
        }
        n->conn = c;
        n->next = c->names;
        if (c->names)
                c->names->prev = n;
        c->names = n;
        if (ret)
                *ret = n;
        return r;
}

static void release_on_bus(busrpc_conn *c, const char *name) {
        DBusMessage *m;

        if (!conn_is_open(c))
                return;
        /* Fire and forget: release never blocks the caller. */
        m = dbus_message_new_method_call(DRIVER_NAME, DRIVER_PATH, DRIVER_IFACE, "ReleaseName");
        if (!m)
                return;
        dbus_message_set_no_reply(m, TRUE);
        if (dbus_message_append_args(m, DBUS_TYPE_STRING, &name, DBUS_TYPE_INVALID))
                (void)conn_send(c, m);
        dbus_message_unref(m);
}

BUSRPC_EXPORT busrpc_name *busrpc_name_release(busrpc_name *n) {
        if (!n)
                return NULL;
        if (n->conn && n->conn->kind == CONN_BUS)
                release_on_bus(n->conn, n->name);
        name_unlink(n);
        name_free(n);
        return NULL;
}

int name_request_all(busrpc_conn *c) {
        int ret = 0;

        for (busrpc_name *n = c->names; n; n = n->next) {
                /* NameAcquired follows from the bus and runs the callback. */
                int r = request_on_bus(c, n->name, n->flags);
                if (r < 0 && ret == 0)
                        ret = r;
        }
        return ret;
}

void name_release_all(busrpc_conn *c) {
        for (busrpc_name *n = c->names; n; n = n->next) {
                if (c->kind == CONN_BUS)
                        release_on_bus(c, n->name);
                n->owned = false;
        }
}

void name_detach_all(busrpc_conn *c) {
        while (c->names) {
                busrpc_name *n = c->names;
                bool floating = n->floating;
                name_unlink(n);
                if (n->notify)
                        n->notify = busrpc_source_release(n->notify);
                if (floating)
                        name_free(n);
        }
}

bool name_is_owned_locally(busrpc_conn *server_conn, const char *name) {
        if (!server_conn)
                return false;
        for (busrpc_name *n = server_conn->names; n; n = n->next)
                if (strcmp(n->name, name) == 0)
                        return true;
        return false;
}

DBusHandlerResult name_handle_signal(busrpc_conn *c, DBusMessage *m) {
        const char *sender = dbus_message_get_sender(m), *name = NULL;
        bool acquired;
        busrpc_name *n, *next;

        if (!sender || strcmp(sender, DRIVER_NAME) != 0)
                return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
        if (dbus_message_is_signal(m, DRIVER_IFACE, "NameAcquired"))
                acquired = true;
        else if (dbus_message_is_signal(m, DRIVER_IFACE, "NameLost"))
                acquired = false;
        else
                return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
        if (!dbus_message_has_signature(m, "s") ||
            !dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &name, DBUS_TYPE_INVALID))
                return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
        busrpc_conn_ref(c);
        for (n = c->names; n; n = next) {
                next = n->next;
                if (strcmp(n->name, name) != 0 || n->owned == acquired)
                        continue;
                n->owned = acquired;
                if (n->cb)
                        n->cb(c, n->name, acquired, n->userdata);
                break; /* the callback may release any handle: stop here */
        }
        busrpc_conn_unref(c);
        /* Others (the data layer's subscriptions) may watch these too. */
        return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
}
