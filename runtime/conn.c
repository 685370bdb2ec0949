/* conn.c: connections to a bus or to a peer, their attachment to a loop,
 * and the message filter through which everything we serve arrives. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "conn.h"
#include "call.h"
#include "creds.h"
#include "dispatch.h"
#include "dbus-io.h"
#include "driver.h"
#include "error-map.h"
#include "name.h"
#include "object.h"
#include "reply.h"
#include "server.h"
#include "subscription.h"
#include "validate.h"

/* ---- loop glue: the conn is a user of its loop like any other ---- */

static void dispatch_status_changed(DBusConnection *dc, DBusDispatchStatus st, void *data) {
        busrpc_conn *c = data;
        if (st == DBUS_DISPATCH_DATA_REMAINS)
                conn_schedule_dispatch(c);
}

void conn_schedule_dispatch(busrpc_conn *c) {
        if (c->dispatch_src)
                loop_defer_enable(c->dispatch_src);
}

/* The deferred source: one dispatch step per turn, so one busy connection
 * cannot starve the others. */
static int dispatch_step(busrpc_source *s, void *userdata) {
        busrpc_conn *c = userdata;

        if (!c->dbus)
                return 0;
        busrpc_conn_ref(c);
        if (conn_dispatch(c) == DBUS_DISPATCH_DATA_REMAINS)
                conn_schedule_dispatch(c);
        busrpc_conn_unref(c);
        return 0;
}

/* The exit source: replies queued by the last handlers reach their
 * callers; names go back to the bus when a signal stopped the loop. */
static int exit_flush(busrpc_source *s, void *userdata) {
        busrpc_conn *c = userdata;

        if (loop_quit_by_signal(c->loop))
                name_release_all(c);
        conn_flush_bounded(c);
        return 0;
}

static void conn_detach(busrpc_conn *c) {
        if (!c->loop)
                return;
        if (c->dbus) {
                dbus_connection_set_dispatch_status_function(c->dbus, NULL, NULL, NULL);
                if (c->io)
                        dbus_io_detach_conn(c->dbus, c->io);
        }
        c->io = NULL;
        c->dispatch_src = busrpc_source_release(c->dispatch_src);
        c->exit_src = busrpc_source_release(c->exit_src);
        busrpc_loop_unref(c->loop);
        c->loop = NULL;
}

static int conn_attach(busrpc_conn *c, busrpc_loop *l) {
        c->loop = busrpc_loop_ref(l);
        /* A server's handle only knows its loop (for its users); the
         * server registers with it itself. */
        if (c->kind == CONN_SERVER)
                return 0;
        if (loop_add_exit(l, exit_flush, c, &c->exit_src) < 0 ||
            (c->dbus && (loop_add_defer(l, dispatch_step, c, &c->dispatch_src) < 0 ||
                         dbus_io_attach_conn(c->dbus, l, &c->io) < 0))) {
                conn_detach(c);
                return -ENOMEM;
        }
        if (!c->dbus)
                return 0;
        dbus_connection_set_dispatch_status_function(c->dbus, dispatch_status_changed, c, NULL);
        if (dbus_connection_get_dispatch_status(c->dbus) == DBUS_DISPATCH_DATA_REMAINS)
                conn_schedule_dispatch(c);
        return 0;
}

int conn_set_loop(busrpc_conn *c, busrpc_loop *l) {
        busrpc_loop *old;
        int r;

        if (c->loop == l)
                return 0;
        /* Kept until the calls' deadlines have moved from its heap to @l's. */
        old = busrpc_loop_ref(c->loop);
        conn_detach(c);
        r = conn_attach(c, l);
        if (r >= 0) {
                conn_lost_moved(c);
                reply_conn_moved(c);
        }
        busrpc_loop_unref(old);
        return r;
}

BUSRPC_EXPORT int busrpc_conn_attach(busrpc_conn *c, busrpc_loop *l) {
        return_if_fail(c && l, -EINVAL);
        /* A server's conns follow busrpc_server_attach(). */
        return_if_fail(c->kind != CONN_SERVED && c->kind != CONN_SERVER, -EINVAL);
        return conn_set_loop(c, l);
}

BUSRPC_EXPORT busrpc_loop *busrpc_conn_get_loop(busrpc_conn *c) {
        return c ? c->loop : NULL;
}

/* ---- the filter ---- */

DBusHandlerResult conn_filter(DBusConnection *dc, DBusMessage *m, void *data) {
        busrpc_conn *c = data;
        int type = dbus_message_get_type(m);

        /* Copied to monitors; a monitor itself may send nothing. */
        if (c->kind == CONN_SERVED && server_monitor_incoming(c, m))
                return DBUS_HANDLER_RESULT_HANDLED;
        if (type == DBUS_MESSAGE_TYPE_METHOD_RETURN || type == DBUS_MESSAGE_TYPE_ERROR)
                return reply_handle(c, dc, m);
        if (type == DBUS_MESSAGE_TYPE_SIGNAL) {
                if (dbus_message_is_signal(m, DBUS_INTERFACE_LOCAL, "Disconnected")) {
                        /* The calls in flight complete before anyone hears of the loss. */
                        reply_fail_all(c, dc);
                        if (c->kind == CONN_SERVED)
                                server_peer_gone(c);
                        else if (c->dbus == dc)
                                conn_lost(c);
                        return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
                }
                if (c->kind == CONN_BUS) {
                        creds_handle_owner_changed(c, m);
                        return name_handle_signal(c, m);
                }
                return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
        }
        if (type != DBUS_MESSAGE_TYPE_METHOD_CALL)
                return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
        if (c->kind == CONN_SERVED) {
                if (!dbus_connection_get_is_authenticated(dc))
                        return DBUS_HANDLER_RESULT_HANDLED;
                if (driver_is_for_driver(m))
                        return driver_handle(c, m);
        }
        return object_dispatch(c, m);
}

int conn_new(ConnKind kind, DBusConnection *dbus, busrpc_loop *loop, busrpc_conn **ret) {
        busrpc_conn *c = calloc(1, sizeof(*c));
        int r;

        if (!c)
                return -ENOMEM;
        c->n_ref = 1;
        c->kind = kind;
        c->dbus = dbus;
        if (dbus) {
                dbus_connection_set_exit_on_disconnect(dbus, FALSE);
                if (!dbus_connection_add_filter(dbus, conn_filter, c, NULL)) {
                        free(c);
                        return -ENOMEM;
                }
        }
        r = conn_attach(c, loop);
        if (r < 0) {
                if (dbus)
                        dbus_connection_remove_filter(dbus, conn_filter, c);
                free(c);
                return r;
        }
        *ret = c;
        return 0;
}

static int conn_new_default(ConnKind kind, DBusConnection *dbus, busrpc_conn **ret) {
        busrpc_loop *l;
        int r = busrpc_loop_default(&l);

        if (r < 0)
                return r;
        r = conn_new(kind, dbus, l, ret);
        busrpc_loop_unref(l);
        return r;
}

static void close_dbus(DBusConnection *dc) {
        dbus_connection_close(dc);
        dbus_connection_unref(dc);
}

static int resolve_address(const char *address, char **ret) {
        const char *e;

        if (strcmp(address, "session") == 0) {
                e = getenv("DBUS_SESSION_BUS_ADDRESS");
                if (e && *e) {
                        *ret = strdup(e);
                } else {
                        const char *rt = getenv("XDG_RUNTIME_DIR");
                        char path[4096];
                        struct stat st;
                        if (!rt || snprintf(path, sizeof(path), "%s/bus", rt) >= (int)sizeof(path) ||
                            stat(path, &st) < 0)
                                return -ENOENT; /* never X11 autolaunch from a library */
                        if (asprintf(ret, "unix:path=%s", path) < 0)
                                return -ENOMEM;
                        return 0;
                }
        } else if (strcmp(address, "system") == 0) {
                e = getenv("DBUS_SYSTEM_BUS_ADDRESS");
                *ret = strdup(e && *e ? e : "unix:path=/run/dbus/system_bus_socket");
        } else {
                DBusAddressEntry **entries;
                int n;
                if (!dbus_parse_address(address, &entries, &n, NULL))
                        return -EINVAL;
                dbus_address_entries_free(entries);
                *ret = strdup(address);
        }
        return *ret ? 0 : -ENOMEM;
}

static int open_dbus(const char *addr, DBusConnection **ret) {
        DBusError err;
        DBusConnection *dc;
        int r;

        dbus_error_init(&err);
        dc = dbus_connection_open_private(addr, &err);
        if (!dc) {
                r = error_errno_from_dbus(&err);
                dbus_error_free(&err);
                return r;
        }
        dbus_connection_set_exit_on_disconnect(dc, FALSE);
        /* libdbus's own default (16 fds per message) is below what a bus
         * delivers: one message with more would cost the whole connection.
         * Accept what a bus accepts; busrpc_conn_set_max_call_fds() bounds
         * what a call may hand a skeleton. */
        dbus_connection_set_max_message_unix_fds(dc, CONN_MAX_MESSAGE_FDS);
        dbus_connection_set_max_received_unix_fds(dc, CONN_MAX_RECEIVED_FDS);
        *ret = dc;
        return 0;
}

static int connect_bus(const char *addr, DBusConnection **ret) {
        DBusConnection *dc;
        DBusError err;
        int r = open_dbus(addr, &dc);

        if (r < 0)
                return r;
        dbus_error_init(&err);
        if (!dbus_bus_register(dc, &err)) {
                r = error_errno_from_dbus(&err);
                if (!dbus_connection_get_is_authenticated(dc))
                        r = -EACCES;
                dbus_error_free(&err);
                close_dbus(dc);
                return r;
        }
        *ret = dc;
        return 0;
}

static int connect_peer(const char *addr, DBusConnection **ret) {
        DBusConnection *dc;
        DBusMessage *ping, *reply;
        DBusError err;
        int r = open_dbus(addr, &dc);

        if (r < 0)
                return r;
        /* One round trip before anything else: authentication completes, and
         * the first unix fd sent later is not lost with the last auth line. */
        ping = dbus_message_new_method_call(NULL, "/", IFACE_PEER, "Ping");
        if (!ping) {
                close_dbus(dc);
                return -ENOMEM;
        }
        dbus_error_init(&err);
        reply = dbus_connection_send_with_reply_and_block(dc, ping, PEER_PING_TIMEOUT_MS, &err);
        dbus_message_unref(ping);
        if (!reply) {
                r = dbus_connection_get_is_authenticated(dc) ? error_errno_from_dbus(&err) : -EACCES;
                dbus_error_free(&err);
                close_dbus(dc);
                return r;
        }
        dbus_message_unref(reply);
        *ret = dc;
        return 0;
}

int conn_open_dbus(busrpc_conn *c, DBusConnection **ret) {
        if (!c->address)
                return -EINVAL;
        return c->kind == CONN_BUS ? connect_bus(c->address, ret) : connect_peer(c->address, ret);
}

static int conn_open(ConnKind kind, const char *address, busrpc_conn **ret) {
        DBusConnection *dc;
        busrpc_conn *c;
        char *addr = NULL;
        int r = resolve_address(address, &addr);

        if (r < 0)
                return r;
        r = kind == CONN_BUS ? connect_bus(addr, &dc) : connect_peer(addr, &dc);
        if (r < 0) {
                free(addr);
                return r;
        }
        r = conn_new_default(kind, dc, &c);
        if (r < 0) {
                free(addr);
                close_dbus(dc);
                return r;
        }
        c->address = addr;
        if (kind == CONN_BUS) {
                c->unique_name = strdup(dbus_bus_get_unique_name(dc));
                if (!c->unique_name) {
                        busrpc_conn_unref(c);
                        return -ENOMEM;
                }
        }
        *ret = c;
        return 0;
}

BUSRPC_EXPORT int busrpc_conn_open(const char *address, busrpc_conn **ret) {
        return_if_fail(address && ret, -EINVAL);
        return conn_open(CONN_BUS, address, ret);
}

BUSRPC_EXPORT int busrpc_conn_open_peer(const char *address, busrpc_conn **ret) {
        return_if_fail(address && ret, -EINVAL);
        return conn_open(CONN_PEER, address, ret);
}

/* Replace a lost connection's DBusConnection by a new one to the same
 * address. The old one goes with what libdbus still holds for it (the
 * pending-call lists hold their own references). */
int conn_swap_dbus(busrpc_conn *c, DBusConnection *dc) {
        busrpc_loop *l = busrpc_loop_ref(c->loop);
        DBusConnection *old = c->dbus;
        char *unique = NULL;
        int r;

        if (c->kind == CONN_BUS && !(unique = strdup(dbus_bus_get_unique_name(dc)))) {
                busrpc_loop_unref(l);
                close_dbus(dc);
                return -ENOMEM;
        }
        if (!dbus_connection_add_filter(dc, conn_filter, c, NULL)) {
                free(unique);
                busrpc_loop_unref(l);
                close_dbus(dc);
                return -ENOMEM;
        }
        signal_conn_swapped(old, dc);
        conn_detach(c);
        dbus_connection_remove_filter(old, conn_filter, c);
        close_dbus(old);
        c->dbus = dc;
        r = conn_attach(c, l);
        busrpc_loop_unref(l);
        if (r < 0)
                return r; /* c->dbus is set: freed with c */
        if (unique) {
                free(c->unique_name);
                c->unique_name = unique;
        }
        creds_clear(c);
        c->creds_match_added = false;
        return 0;
}

BUSRPC_EXPORT busrpc_conn *busrpc_conn_ref(busrpc_conn *c) {
        if (c)
                c->n_ref++;
        return c;
}

void conn_flush_bounded(busrpc_conn *c) {
        uint64_t now = loop_now_usec(), end;

        /* A server's peers are flushed all at once against one deadline. */
        if (c->kind == CONN_SERVED || c->kind == CONN_SERVER) {
                if (c->server)
                        server_flush(c->server);
                return;
        }
        if (!c->dbus)
                return;
        end = now + (uint64_t)FLUSH_TIMEOUT_MS * 1000u;
        while (now < end && dbus_connection_get_is_connected(c->dbus) &&
               dbus_connection_has_messages_to_send(c->dbus)) {
                if (!dbus_connection_read_write(c->dbus, (int)((end - now + 999) / 1000)))
                        break;
                now = loop_now_usec();
        }
}

static void conn_free(busrpc_conn *c) {
        c->closing = true;
        conn_lost_free(c);
        if (c->kind == CONN_SERVER && c->server)
                server_conn_gone(c->server);
        object_detach_all(c); /* nothing for a served peer: its server's */
        name_detach_all(c);
        creds_clear(c);
        driver_free_matches(c);
        if (c->auth_timer)
                busrpc_source_release(c->auth_timer);
        if (c->dbus) {
                conn_flush_bounded(c);
                dbus_connection_remove_filter(c->dbus, conn_filter, c);
        }
        conn_detach(c);
        reply_conn_free(c);
        if (c->dbus)
                close_dbus(c->dbus);
        free(c->unique_name);
        free(c->address);
        free(c);
}

BUSRPC_EXPORT busrpc_conn *busrpc_conn_unref(busrpc_conn *c) {
        if (!c || --c->n_ref > 0)
                return NULL;
        conn_free(c);
        return NULL;
}

BUSRPC_EXPORT int busrpc_conn_run(busrpc_conn *c) {
        int r;

        return_if_fail(c && c->loop, -EINVAL);
        /* A loss seen before the run (busrpc_loop_run() forgets an earlier
         * quit): never run on no connection. */
        if (c->lost_error < 0)
                return c->lost_error;
        r = busrpc_loop_handle_signals(c->loop);
        if (r < 0)
                return r;
        return busrpc_loop_run(c->loop);
}

BUSRPC_EXPORT int busrpc_conn_set_max_shm_size(busrpc_conn *c, uint64_t bytes) {
        return_if_fail(c, -EINVAL);
        if (c->kind == CONN_SERVER && c->server)
                server_set_max_shm_size(c->server, bytes); /* one number for all peers */
        else
                c->max_shm_size = bytes;
        return 0;
}

BUSRPC_EXPORT uint64_t busrpc_conn_get_max_shm_size(busrpc_conn *c) {
        if (!c)
                return 0;
        if (c->max_shm_size)
                return c->max_shm_size;
        if (c->server)
                return server_max_shm_size(c->server);
        return BUSRPC_MAX_SHM_SIZE_DEFAULT;
}

BUSRPC_EXPORT int busrpc_conn_set_max_call_fds(busrpc_conn *c, unsigned n) {
        return_if_fail(c && c->kind != CONN_SERVED, -EINVAL);
        c->max_call_fds = n;
        return 0;
}

BUSRPC_EXPORT const char *busrpc_conn_get_unique_name(busrpc_conn *c) {
        if (!c || c->kind != CONN_BUS)
                return NULL;
        return c->unique_name;
}

BUSRPC_EXPORT bool busrpc_conn_is_connected(busrpc_conn *c) {
        if (!c)
                return false;
        if (c->kind == CONN_SERVER)
                return c->server != NULL;
        return c->dbus && dbus_connection_get_is_connected(c->dbus);
}

BUSRPC_EXPORT int busrpc_conn_flush(busrpc_conn *c) {
        return_if_fail(c, -EINVAL);
        if (c->kind == CONN_SERVER) {
                if (!c->server)
                        return -ENOTCONN;
                for (busrpc_conn *p = server_first_peer(c->server); p; p = p->peer_next)
                        conn_flush_bounded(p);
                return 0;
        }
        if (!dbus_connection_get_is_connected(c->dbus))
                return -ENOTCONN;
        conn_flush_bounded(c);
        return 0;
}

/* ---- the seam with the data layer ---- */

DBusConnection *conn_get_dbus(busrpc_conn *c) {
        return c ? c->dbus : NULL;
}

bool conn_is_peer(busrpc_conn *c) {
        return c && c->kind != CONN_BUS;
}

busrpc_conn *conn_tree(busrpc_conn *c) {
        if (c->kind == CONN_SERVED)
                return c->server ? server_get_conn(c->server) : NULL;
        return c;
}

int conn_send(busrpc_conn *c, DBusMessage *m) {
        long queued;
        int type;

        return_if_fail(c && m, -EINVAL);
        type = dbus_message_get_type(m);
        /* A reply to a call that asked for none (marked by call.c). */
        if ((type == DBUS_MESSAGE_TYPE_METHOD_RETURN || type == DBUS_MESSAGE_TYPE_ERROR) && msg_is_unwanted(m))
                return 0;
        if (c->kind == CONN_SERVER)
                return c->server ? server_broadcast(c->server, m) : -ENOTCONN;
        if (!c->dbus || !dbus_connection_get_is_connected(c->dbus))
                return -ENOTCONN;
        if (c->kind == CONN_SERVED && !dbus_connection_get_is_authenticated(c->dbus))
                return -ENOTCONN;
        /* A message with a serial was sent or received before: libdbus has
         * locked it, and setting a header on it would abort the process. */
        if (c->kind == CONN_SERVED && c->said_hello && !dbus_message_get_sender(m) &&
            dbus_message_get_serial(m) == 0 && !dbus_message_set_sender(m, SERVER_UNIQUE_NAME))
                return -ENOMEM;
        /* libdbus refuses fds on a transport that cannot pass them (tcp)
         * with the same FALSE as out of memory: tell them apart. */
        if (dbus_message_contains_unix_fds(m) && !dbus_connection_can_send_type(c->dbus, DBUS_TYPE_UNIX_FD))
                return -EOPNOTSUPP;
        queued = c->kind == CONN_SERVED ? dbus_connection_get_outgoing_size(c->dbus) : 0;
        if (!dbus_connection_send(c->dbus, m, NULL))
                return -ENOMEM;
        if (c->kind == CONN_SERVED) { /* bytes queued toward a peer are bounded */
                server_peer_sent(c, queued);
                server_monitor_outgoing(c, m);
        }
        return 0;
}

int conn_send_reply(busrpc_conn *c, DBusMessage *reply) {
        int r;

        if (!reply)
                return -ENOMEM;
        r = conn_send(c, reply);
        dbus_message_unref(reply);
        return r;
}

int conn_send_error(busrpc_conn *c, DBusMessage *call, const char *name, const char *fmt, ...) {
        va_list ap;
        char *text = NULL;
        DBusMessage *reply;
        int r;

        if (dbus_message_get_no_reply(call))
                return 0;
        va_start(ap, fmt);
        r = vasprintf(&text, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        reply = dbus_message_new_error(call, name, valid_utf8(text) ? text : "(invalid UTF-8 in message)");
        free(text);
        return conn_send_reply(c, reply);
}
