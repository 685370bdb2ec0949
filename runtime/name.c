/* name.c: well-known name ownership. On a bus, RequestName/ReleaseName and
 * the NameAcquired/NameLost signals the bus sends to the owner. A server
 * only records its names, so the bus driver emulation lists them (busctl
 * list, GetNameOwner) and peers can use them as destinations. */
#include <stdlib.h>
#include <string.h>
#include "name.h"
#include "conn.h"
#include "error-map.h"
#include "server.h"
#include "validate.h"

/* What libdbus's dbus_bus_request_name() waited for the bus (its default). */
#define NAME_CALL_TIMEOUT_MS 25000

/* The list @n is on (its conn's or its server's), or NULL: detached. */
static busrpc_name **name_list(busrpc_name *n) {
        if (n->conn)
                return &n->conn->names;
        return n->server ? server_names(n->server) : NULL;
}

static void name_link(busrpc_name **list, busrpc_name *n) {
        n->next = *list;
        if (*list)
                (*list)->prev = n;
        *list = n;
}

static void name_unlink(busrpc_name *n) {
        busrpc_name **list = name_list(n);

        if (!list)
                return;
        if (n->prev)
                n->prev->next = n->next;
        else
                *list = n->next;
        if (n->next)
                n->next->prev = n->prev;
        n->prev = n->next = NULL;
        n->conn = NULL;
        n->server = NULL;
}

static busrpc_name *name_new(const char *name, bool floating) {
        busrpc_name *n = calloc(1, sizeof(*n));

        if (!n)
                return NULL;
        n->name = strdup(name);
        if (!n->name) {
                free(n);
                return NULL;
        }
        n->floating = floating;
        return n;
}

static void name_free(busrpc_name *n) {
        free(n->name);
        free(n);
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

BUSRPC_EXPORT int busrpc_server_request_name(busrpc_server *s, const char *name, busrpc_name **ret) {
        busrpc_name *n;

        return_if_fail(s && name, -EINVAL);
        return_if_fail(valid_bus_name(name) && name[0] != ':' && strcmp(name, DRIVER_NAME) != 0, -EINVAL);
        if (name_server_has(s, name))
                return -EALREADY;
        n = name_new(name, !ret);
        if (!n)
                return -ENOMEM;
        n->owned = true;
        n->server = s;
        name_link(server_names(s), n);
        if (ret)
                *ret = n;
        return 0;
}

BUSRPC_EXPORT int busrpc_conn_request_name(busrpc_conn *c, const char *name, unsigned flags, busrpc_name_fn cb,
                                           void *userdata, busrpc_name **ret) {
        busrpc_name *n;
        int r;

        return_if_fail(c && name, -EINVAL);
        return_if_fail(valid_bus_name(name) && name[0] != ':', -EINVAL);
        return_if_fail((flags & ~7u) == 0, -EINVAL);
        if (c->kind != CONN_BUS)
                return -EOPNOTSUPP; /* no bus; a server has busrpc_server_request_name() */
        for (n = c->names; n; n = n->next)
                if (strcmp(n->name, name) == 0 && n->owned)
                        return -EALREADY;
        n = name_new(name, !ret);
        if (!n)
                return -ENOMEM;
        n->cb = cb;
        n->userdata = userdata;
        n->flags = flags;
        r = request_on_bus(c, name, flags);
        if (r < 0) {
                name_free(n);
                return r;
        }
        n->conn = c;
        name_link(&c->names, n);
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
                if (floating)
                        name_free(n);
        }
}

bool name_server_has(busrpc_server *s, const char *name) {
        for (busrpc_name *n = s ? *server_names(s) : NULL; n; n = n->next)
                if (strcmp(n->name, name) == 0)
                        return true;
        return false;
}

void name_server_detach_all(busrpc_server *s) {
        busrpc_name **list = server_names(s);

        while (*list) {
                busrpc_name *n = *list;
                bool floating = n->floating;

                name_unlink(n);
                if (floating)
                        name_free(n);
        }
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
