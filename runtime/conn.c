/* conn.c: connections to a bus or to a peer, their attachment to a loop,
 * the link (libdbus or busrpc's own transport) and the message filter
 * through which everything we serve arrives.
 *
 * The fast path (conn_fast_path_wanted()): libdbus connects and
 * authenticates a unix socket (sending nothing), busrpc dups the fd,
 * closes the DBusConnection (libdbus only close()s: the dup lives on) and
 * owns a Transport on it; on a bus busrpc then sends Hello itself, to a
 * peer one Ping (a libdbus server loses fds pipelined with BEGIN). Every
 * send goes through transport_send_dbus(); what is read arrives in
 * conn_transport_msg(). */
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "conn.h"
#include "call.h"
#include "creds.h"
#include "dispatch.h"
#include "dbus-io.h"
#include "driver.h"
#include "error-map.h"
#include "fastcall.h"
#include "name.h"
#include "object.h"
#include "registry.h"
#include "reply.h"
#include "server.h"
#include "shm.h"
#include "subscription.h"
#include "transport.h"
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
 * cannot starve the others. On the fast path it runs what a sync wait
 * held, all of it (what arrives while anything is held is held too: one
 * message per turn would fall behind a busy peer). */
static int dispatch_step(busrpc_source *s, void *userdata) {
        busrpc_conn *c = userdata;

        busrpc_conn_ref(c);
        if (c->dbus) {
                if (conn_dispatch(c) == DBUS_DISPATCH_DATA_REMAINS)
                        conn_schedule_dispatch(c);
        } else {
                for (unsigned n = reply_held_count(c); n > 0 && !c->sync_wait; n--)
                        (void)conn_dispatch(c);
                if (reply_held_count(c) > 0)
                        conn_schedule_dispatch(c);
        }
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
        if (c->tp)
                transport_detach(c->tp);
        c->io = NULL;
        c->dispatch_src = busrpc_source_release(c->dispatch_src);
        c->exit_src = busrpc_source_release(c->exit_src);
        busrpc_loop_unref(c->loop);
        c->loop = NULL;
}

static int conn_attach(busrpc_conn *c, busrpc_loop *l) {
        c->loop = busrpc_loop_ref(l);
        if (loop_add_exit(l, exit_flush, c, &c->exit_src) < 0 ||
            loop_add_defer(l, dispatch_step, c, &c->dispatch_src) < 0 ||
            (c->dbus && dbus_io_attach_conn(c->dbus, l, &c->io) < 0)) {
                conn_detach(c);
                return -ENOMEM;
        }
        /* A closed transport has nothing left to watch. */
        if (c->tp && transport_is_open(c->tp) && transport_attach(c->tp, l) < 0) {
                conn_detach(c);
                return -ENOMEM;
        }
        if (reply_held_count(c) > 0)
                conn_schedule_dispatch(c);
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
        return_if_fail(c->kind != CONN_SERVED, -EINVAL);
        return conn_set_loop(c, l);
}

BUSRPC_EXPORT busrpc_loop *busrpc_conn_get_loop(busrpc_conn *c) {
        return c ? c->loop : NULL;
}

/* ---- the filter ---- */

/* The filter after the monitors' copies. */
static DBusHandlerResult filter_rest(busrpc_conn *c, DBusConnection *dc, DBusMessage *m) {
        int type = dbus_message_get_type(m);

        if (type == DBUS_MESSAGE_TYPE_METHOD_RETURN || type == DBUS_MESSAGE_TYPE_ERROR)
                return reply_handle(c, m);
        if (type == DBUS_MESSAGE_TYPE_SIGNAL) {
                /* libdbus's own: the transport reports a close by callback,
                 * and never passes a message that says it is local. */
                if (dc && dbus_message_is_signal(m, DBUS_INTERFACE_LOCAL, "Disconnected")) {
                        /* The calls in flight complete before anyone hears of the loss. */
                        if (c->dbus == dc || c->kind == CONN_SERVED)
                                reply_fail_all(c);
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
                if (dc && !dbus_connection_get_is_authenticated(dc))
                        return DBUS_HANDLER_RESULT_HANDLED;
                if (driver_is_for_driver(m))
                        return driver_handle(c, m);
        }
        return object_dispatch(c, m);
}

DBusHandlerResult conn_filter(DBusConnection *dc, DBusMessage *m, void *data) {
        busrpc_conn *c = data;
        DBusHandlerResult r;

        /* Copied to monitors; a monitor itself may send nothing. */
        if (c->kind == CONN_SERVED && server_monitor_incoming(c, m))
                return DBUS_HANDLER_RESULT_HANDLED;
        if (dbus_message_get_type(m) != DBUS_MESSAGE_TYPE_SIGNAL || dc != c->dbus ||
            dbus_message_is_signal(m, DBUS_INTERFACE_LOCAL, "Disconnected"))
                return filter_rest(c, dc, m);
        /* Subscriptions are no libdbus filters (link-users): they see the
         * signals of the libdbus link here, as deliver() gives them those
         * of the fast path and the held ones. */
        busrpc_conn_ref(c);
        r = filter_rest(c, dc, m);
        if (r == DBUS_HANDLER_RESULT_NOT_YET_HANDLED)
                signal_deliver(c, m);
        busrpc_conn_unref(c);
        return r;
}

int conn_new(ConnKind kind, DBusConnection *dbus, busrpc_loop *loop, busrpc_conn **ret) {
        busrpc_conn *c = calloc(1, sizeof(*c));
        int r;

        if (!c)
                return -ENOMEM;
        c->n_ref = 1;
        c->kind = kind;
        c->dbus = dbus;
        c->link_gen = 1;
        /* A bus or client peer conn owns its objects; a served peer's are
         * its server's. */
        if (kind != CONN_SERVED && !(c->registry = reg_new(c, NULL))) {
                free(c);
                return -ENOMEM;
        }
        if (dbus) {
                dbus_connection_set_exit_on_disconnect(dbus, FALSE);
                if (!dbus_connection_add_filter(dbus, conn_filter, c, NULL)) {
                        reg_unref(c->registry);
                        free(c);
                        return -ENOMEM;
                }
        }
        r = conn_attach(c, loop);
        if (r < 0) {
                if (dbus)
                        dbus_connection_remove_filter(dbus, conn_filter, c);
                reg_unref(c->registry);
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

/* libdbus's link, ready: registered on a bus, one round trip to a peer. */
static int finish_libdbus(ConnKind kind, DBusConnection *dc) {
        DBusMessage *ping, *reply;
        DBusError err;
        int r;

        dbus_error_init(&err);
        if (kind == CONN_BUS) {
                if (dbus_bus_register(dc, &err))
                        return 0;
                r = dbus_connection_get_is_authenticated(dc) ? error_errno_from_dbus(&err) : -EACCES;
                dbus_error_free(&err);
                return r;
        }
        /* One round trip before anything else: authentication completes, and
         * the first unix fd sent later is not lost with the last auth line. */
        ping = dbus_message_new_method_call(NULL, "/", IFACE_PEER, "Ping");
        if (!ping)
                return -ENOMEM;
        reply = dbus_connection_send_with_reply_and_block(dc, ping, PEER_PING_TIMEOUT_MS, &err);
        dbus_message_unref(ping);
        if (!reply) {
                r = dbus_connection_get_is_authenticated(dc) ? error_errno_from_dbus(&err) : -EACCES;
                dbus_error_free(&err);
                return r;
        }
        dbus_message_unref(reply);
        return 0;
}

/* The socket of @dc once libdbus authenticated it, having sent nothing
 * else (so nothing past the auth conversation was read either: the server
 * speaks after us). -EPROTONOSUPPORT: not a unix socket (tcp stays on
 * libdbus). Return: a dup in *@ret_fd. */
static int take_socket(DBusConnection *dc, int *ret_fd, bool *ret_unix_fds) {
        uint64_t end = loop_now_usec() + (uint64_t)PEER_PING_TIMEOUT_MS * 1000u;
        struct sockaddr_storage sa;
        socklen_t len = sizeof(sa);
        int fd = -1, nfd;

        while (!dbus_connection_get_is_authenticated(dc)) {
                uint64_t now = loop_now_usec();

                if (!dbus_connection_get_is_connected(dc) || now >= end)
                        return -EACCES;
                (void)dbus_connection_read_write(dc, (int)((end - now + 999) / 1000));
        }
        if (!dbus_connection_get_is_connected(dc))
                return -EACCES;
        if (!dbus_connection_get_socket(dc, &fd) || fd < 0)
                return -ENOTCONN;
        if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
                return -errno;
        if (sa.ss_family != AF_UNIX)
                return -EPROTONOSUPPORT;
        nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (nfd < 0)
                return -errno;
        *ret_unix_fds = dbus_connection_can_send_type(dc, DBUS_TYPE_UNIX_FD);
        *ret_fd = nfd;
        return 0;
}

/* A new link to c->address: a ready DBusConnection, or a Transport that
 * still needs its Hello / Ping (link_handshake()). */
static int open_link(busrpc_conn *c, bool fast, DBusConnection **ret_dc, Transport **ret_tp) {
        DBusConnection *dc = NULL;
        bool unix_fds = false;
        int fd = -1, r;

        if (!c->address)
                return -EINVAL;
        r = open_dbus(c->address, &dc);
        if (r < 0)
                return r;
        if (fast) {
                r = take_socket(dc, &fd, &unix_fds);
                if (r == 0) {
                        Transport *tp;

                        close_dbus(dc);
                        r = transport_new(&tp, fd, conn_transport_msg, conn_transport_close, c);
                        if (r < 0)
                                return r;
                        transport_set_unix_fds(tp, unix_fds);
                        /* the client's own bound (conn-limits.c), kept across reconnections */
                        (void)transport_set_max_outgoing_bytes(tp, (uint32_t)busrpc_conn_get_max_outgoing_bytes(c));
                        *ret_tp = tp;
                        return 0;
                }
                if (r != -EPROTONOSUPPORT) {
                        close_dbus(dc);
                        return r;
                }
        }
        r = finish_libdbus(c->kind, dc);
        if (r < 0) {
                close_dbus(dc);
                return r;
        }
        *ret_dc = dc;
        return 0;
}

/* The new link goes in, whatever was there goes (a lost link). */
static int install_link(busrpc_conn *c, DBusConnection *dc, Transport *tp) {
        busrpc_loop *l = busrpc_loop_ref(c->loop);
        DBusConnection *old_dc = c->dbus;
        Transport *old_tp = c->tp;
        int r = 0;

        if (dc && !dbus_connection_add_filter(dc, conn_filter, c, NULL)) {
                busrpc_loop_unref(l);
                close_dbus(dc);
                return -ENOMEM;
        }
        if (l)
                conn_detach(c);
        if (old_dc) {
                dbus_connection_remove_filter(old_dc, conn_filter, c);
                close_dbus(old_dc);
        }
        transport_free(old_tp);
        c->dbus = dc;
        c->tp = tp;
        if (dc && c->max_held_fds)
                dbus_connection_set_max_received_unix_fds(dc, (long)c->max_held_fds);
        c->link_fast = tp != NULL;
        c->link_gen++;
        if (l) {
                r = conn_attach(c, l);
                busrpc_loop_unref(l);
        }
        return r; /* the link is set: freed with c */
}

/* The first round trip on a new transport: Hello on a bus (the unique
 * name, before anything else), Ping to a peer. */
static int link_handshake(busrpc_conn *c, char **ret_unique) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        DBusMessage *m, *reply = NULL;
        const char *name = NULL;
        int r;

        if (c->kind == CONN_BUS)
                m = dbus_message_new_method_call(DRIVER_NAME, "/org/freedesktop/DBus", DRIVER_NAME, "Hello");
        else
                m = dbus_message_new_method_call(NULL, "/", IFACE_PEER, "Ping");
        if (!m)
                return -ENOMEM;
        r = reply_call_sync(c, m, c->kind == CONN_BUS ? DRIVER_NAME : NULL, PEER_PING_TIMEOUT_MS, &reply,
                            &err);
        dbus_message_unref(m);
        busrpc_error_clear(&err);
        if (r < 0)
                return r;
        if (dbus_message_get_type(reply) == DBUS_MESSAGE_TYPE_ERROR) {
                DBusError de = DBUS_ERROR_INIT;

                r = dbus_set_error_from_message(&de, reply) ? error_errno_from_dbus(&de) : -EPROTO;
                dbus_error_free(&de);
        } else if (c->kind == CONN_BUS) {
                if (!dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &name, DBUS_TYPE_INVALID))
                        r = -EPROTO;
                else if (!(*ret_unique = strdup(name)))
                        r = -ENOMEM;
        }
        dbus_message_unref(reply);
        return r;
}

/* Open, install and greet a new link of @c; its unique name on a bus. */
static int conn_link(busrpc_conn *c, bool fast) {
        DBusConnection *dc = NULL;
        Transport *tp = NULL;
        char *unique = NULL;
        int r = open_link(c, fast, &dc, &tp);

        if (r < 0)
                return r;
        if (dc && c->kind == CONN_BUS && !(unique = strdup(dbus_bus_get_unique_name(dc)))) {
                close_dbus(dc);
                return -ENOMEM;
        }
        r = install_link(c, dc, tp);
        if (r >= 0 && tp)
                r = link_handshake(c, &unique);
        if (r < 0) {
                /* No link rather than a half-made one (freeing is no loss to report). */
                c->tp = transport_free(c->tp);
                free(unique);
                return r;
        }
        if (unique) {
                free(c->unique_name);
                c->unique_name = unique;
        }
        return 0;
}

static int conn_open(ConnKind kind, const char *address, busrpc_conn **ret) {
        busrpc_conn *c;
        char *addr = NULL;
        int r = resolve_address(address, &addr);

        if (r < 0)
                return r;
        r = conn_new_default(kind, NULL, &c);
        if (r < 0) {
                free(addr);
                return r;
        }
        c->address = addr;
        r = conn_link(c, conn_fast_path_wanted());
        if (r < 0) {
                busrpc_conn_unref(c);
                return r;
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

int conn_relink(busrpc_conn *c) {
        DBusConnection *old = c->dbus;
        int r;

        /* libdbus's pending-call lists hold their own references to the old
         * DBusConnection: it goes with what libdbus still holds for it. */
        if (old)
                dbus_connection_ref(old);
        /* The same kind of link as the lost one (tcp stays on libdbus anyway). */
        r = conn_link(c, c->link_fast);
        if (r < 0) {
                if (old)
                        dbus_connection_unref(old);
                return r;
        }
        /* The subscriptions' match rules go to the new link (link-users). */
        signal_conn_swapped(c);
        if (old)
                dbus_connection_unref(old);
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
        if (c->kind == CONN_SERVED) {
                if (c->server)
                        server_flush(c->server);
                return;
        }
        end = now + (uint64_t)FLUSH_TIMEOUT_MS * 1000u;
        if (c->tp) {
                while (now < end && transport_flush(c->tp) == -EAGAIN) {
                        struct pollfd pfd = { .fd = transport_fd(c->tp), .events = POLLOUT };

                        if (poll(&pfd, 1, (int)((end - now + 999) / 1000)) < 0 && errno != EINTR)
                                break;
                        now = loop_now_usec();
                }
                return;
        }
        if (!c->dbus)
                return;
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
        reg_disown(c->registry); /* none on a served peer: its server's */
        c->registry = NULL;
        name_detach_all(c);
        signal_conn_free(c); /* subscriptions never keep a conn (link-users) */
        creds_clear(c);
        driver_free_matches(c);
        if (c->auth_timer)
                busrpc_source_release(c->auth_timer);
        if (c->dbus || c->tp)
                conn_flush_bounded(c);
        if (c->dbus)
                dbus_connection_remove_filter(c->dbus, conn_filter, c);
        conn_detach(c);
        reply_conn_free(c);
        if (c->dbus)
                close_dbus(c->dbus);
        c->tp = transport_free(c->tp);
        shm_conn_free(c); /* its shm pool and cache (link-users) */
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

BUSRPC_EXPORT int busrpc_conn_set_max_held_bytes(busrpc_conn *c, uint64_t bytes) {
        return_if_fail(c, -EINVAL);
        c->max_held_bytes = bytes;
        return 0;
}

BUSRPC_EXPORT uint64_t busrpc_conn_get_max_held_bytes(busrpc_conn *c) {
        if (!c)
                return 0;
        return c->max_held_bytes ? c->max_held_bytes : BUSRPC_MAX_HELD_BYTES_DEFAULT;
}

BUSRPC_EXPORT int busrpc_conn_set_max_held_fds(busrpc_conn *c, unsigned n) {
        return_if_fail(c && c->kind != CONN_SERVED && n <= BUSRPC_MAX_HELD_FDS_MAX, -EINVAL);
        c->max_held_fds = n;
        /* On libdbus's link the same bound is libdbus's own. */
        if (c->dbus)
                dbus_connection_set_max_received_unix_fds(c->dbus, (long)busrpc_conn_get_max_held_fds(c));
        return 0;
}

BUSRPC_EXPORT unsigned busrpc_conn_get_max_held_fds(busrpc_conn *c) {
        if (!c)
                return 0;
        return c->max_held_fds ? c->max_held_fds : BUSRPC_MAX_HELD_FDS_DEFAULT;
}

BUSRPC_EXPORT int busrpc_conn_set_max_call_fds(busrpc_conn *c, unsigned n) {
        return_if_fail(c && c->kind != CONN_SERVED, -EINVAL);
        c->max_call_fds = n;
        return 0;
}

unsigned conn_max_call_fds(busrpc_conn *c) {
        return c->max_call_fds ? c->max_call_fds : DEFAULT_MAX_CALL_FDS;
}

BUSRPC_EXPORT const char *busrpc_conn_get_unique_name(busrpc_conn *c) {
        if (!c || c->kind != CONN_BUS)
                return NULL;
        return c->unique_name;
}

BUSRPC_EXPORT bool busrpc_conn_is_connected(busrpc_conn *c) {
        if (!c)
                return false;
        return c->tp ? transport_is_open(c->tp) : c->dbus && dbus_connection_get_is_connected(c->dbus);
}

BUSRPC_EXPORT int busrpc_conn_flush(busrpc_conn *c) {
        return_if_fail(c, -EINVAL);
        if (!busrpc_conn_is_connected(c))
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

Registry *conn_objects(busrpc_conn *c) {
        if (c->kind == CONN_SERVED)
                return c->server ? server_objects(c->server) : NULL;
        return c->registry;
}

BUSRPC_EXPORT busrpc_objects *busrpc_conn_get_objects(busrpc_conn *c) {
        return c ? conn_objects(c) : NULL;
}

int conn_send(busrpc_conn *c, DBusMessage *m) {
        long queued;
        int type;

        return_if_fail(c && m, -EINVAL);
        type = dbus_message_get_type(m);
        /* A reply to a call that asked for none (marked by call.c). */
        if ((type == DBUS_MESSAGE_TYPE_METHOD_RETURN || type == DBUS_MESSAGE_TYPE_ERROR) &&
            msg_is_unwanted(m))
                return 0;
        if (!conn_is_open(c))
                return -ENOTCONN;
        /* A message with a serial was sent or received before: libdbus has
         * locked it, and setting a header on it would abort the process. */
        if (c->kind == CONN_SERVED && c->said_hello && !dbus_message_get_sender(m) &&
            dbus_message_get_serial(m) == 0 && !dbus_message_set_sender(m, SERVER_UNIQUE_NAME))
                return -ENOMEM;
        /* libdbus refuses fds on a transport that cannot pass them (tcp)
         * with the same FALSE as out of memory: tell them apart. */
        if (dbus_message_contains_unix_fds(m) && !conn_can_pass_fds(c))
                return -EOPNOTSUPP;
        queued = c->tp ? 0 : (long)conn_outgoing_bytes(c);
        if (c->tp) {
                uint32_t serial;
                int r = transport_send_dbus(c->tp, m, &serial);

                if (r < 0)
                        return r;
                conn_mark_sent(m, serial);
        } else if (!dbus_connection_send(c->dbus, m, NULL)) {
                return -ENOMEM;
        }
        if (c->kind == CONN_SERVED) { /* bytes queued toward a peer are bounded */
                server_peer_sent(c, queued);
                server_monitor_outgoing(c, m);
        } else {
                conn_outgoing_check(c, (size_t)queued);
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

/* ---- the link ---- */

void conn_mark_sent(DBusMessage *m, uint32_t serial) {
        if (dbus_message_get_serial(m) != 0)
                return;
        dbus_message_set_serial(m, serial);
        dbus_message_lock(m);
}

bool conn_fast_path_wanted(void) {
        const char *e = getenv("BUSRPC_FAST_PATH");

        if (e && strcmp(e, "1") == 0)
                return true;
        if (e && strcmp(e, "0") == 0)
                return false;
        return true; /* the default: the whole suite passes on it (and again on libdbus: make check-libdbus) */
}

bool conn_is_open(busrpc_conn *c) {
        if (!c)
                return false;
        if (c->tp)
                return transport_is_open(c->tp);
        if (!c->dbus || !dbus_connection_get_is_connected(c->dbus))
                return false;
        return c->kind != CONN_SERVED || dbus_connection_get_is_authenticated(c->dbus);
}

bool conn_can_pass_fds(busrpc_conn *c) {
        if (!c)
                return false;
        if (c->tp)
                return transport_get_unix_fds(c->tp);
        return c->dbus && dbus_connection_can_send_type(c->dbus, DBUS_TYPE_UNIX_FD);
}

size_t conn_outgoing_bytes(busrpc_conn *c) {
        long n;

        if (!c)
                return 0;
        if (c->tp)
                return transport_outgoing_bytes(c->tp);
        if (!c->dbus)
                return 0;
        n = dbus_connection_get_outgoing_size(c->dbus);
        return n > 0 ? (size_t)n : 0;
}

int conn_socket_fd(busrpc_conn *c) {
        int fd = -1;

        if (!c)
                return -1;
        if (c->tp)
                return transport_fd(c->tp);
        if (!c->dbus || !dbus_connection_get_socket(c->dbus, &fd))
                return -1;
        return fd;
}

void conn_close_link(busrpc_conn *c) {
        if (!c)
                return;
        if (c->tp)
                transport_close(c->tp, -ECONNRESET); /* conn_transport_close() follows */
        else if (c->dbus && dbus_connection_get_is_connected(c->dbus))
                dbus_connection_close(c->dbus); /* the local Disconnected follows */
}

int conn_call_sync(busrpc_conn *c, DBusMessage *m, const char *from, int timeout_ms, DBusMessage **ret,
                   busrpc_error *err) {
        DBusError de = DBUS_ERROR_INIT;
        DBusMessage *reply;

        if (!c || !m || !ret)
                return busrpc_error_set_errno(err, EINVAL);
        if (!c->tp && !c->dbus)
                return busrpc_error_set_errno(err, ENOTCONN);
        if (!reply_sync_must_block(c))
                return reply_call_sync(c, m, from, timeout_ms, ret, err);
        /* Inside a libdbus dispatch of this connection: libdbus waits. */
        reply = dbus_connection_send_with_reply_and_block(c->dbus, m, timeout_ms, &de);
        if (!reply) {
                int r = -EREMOTEIO;

                if (dbus_error_has_name(&de, DBUS_ERROR_NO_REPLY) ||
                    dbus_error_has_name(&de, DBUS_ERROR_TIMEOUT) ||
                    dbus_error_has_name(&de, DBUS_ERROR_TIMED_OUT))
                        r = -ETIMEDOUT;
                else if (dbus_error_has_name(&de, DBUS_ERROR_DISCONNECTED))
                        r = -ECONNRESET;
                /* libdbus completes the calls of a lost connection with NoReply. */
                if (r == -ETIMEDOUT && !dbus_connection_get_is_connected(c->dbus)) {
                        (void)busrpc_error_set(err, BUSRPC_ERROR_DISCONNECTED,
                                               "Connection closed before the reply");
                        r = -ECONNRESET;
                } else {
                        error_from_dbus(err, &de);
                }
                dbus_error_free(&de);
                return r;
        }
        *ret = reply;
        return 0;
}

/* What libdbus answers on org.freedesktop.DBus.Peer before any filter. */
static void peer_builtin(busrpc_conn *c, DBusMessage *m) {
        DBusMessage *reply = NULL;

        if (dbus_message_get_no_reply(m))
                return;
        if (dbus_message_has_member(m, "Ping")) {
                reply = dbus_message_new_method_return(m);
        } else if (dbus_message_has_member(m, "GetMachineId")) {
                DBusError de = DBUS_ERROR_INIT;
                char *id = dbus_try_get_local_machine_id(&de);

                if (id) {
                        reply = dbus_message_new_method_return(m);
                        if (reply &&
                            !dbus_message_append_args(reply, DBUS_TYPE_STRING, &id, DBUS_TYPE_INVALID)) {
                                dbus_message_unref(reply);
                                reply = NULL;
                        }
                        dbus_free(id);
                } else {
                        reply = dbus_message_new_error(m, de.name, de.message);
                        dbus_error_free(&de);
                }
        } else {
                reply = dbus_message_new_error(
                        m, DBUS_ERROR_UNKNOWN_METHOD,
                        "Unknown method invoked on org.freedesktop.DBus.Peer interface");
        }
        if (reply)
                (void)conn_send_reply(c, reply);
}

/* conn_deliver() with the monitors' copies made or not (@monitored). */
static void deliver(busrpc_conn *c, DBusMessage *m, bool monitored) {
        int type = dbus_message_get_type(m);

        busrpc_conn_ref(c);
        if (type == DBUS_MESSAGE_TYPE_METHOD_CALL && dbus_message_has_interface(m, DBUS_INTERFACE_PEER)) {
                peer_builtin(c, m);
                goto out;
        }
        if (!monitored && c->kind == CONN_SERVED && server_monitor_incoming(c, m))
                goto out;
        if (filter_rest(c, c->dbus, m) != DBUS_HANDLER_RESULT_NOT_YET_HANDLED)
                goto out;
        if (type == DBUS_MESSAGE_TYPE_SIGNAL) {
                signal_deliver(c, m);
                goto out;
        }
        if (type == DBUS_MESSAGE_TYPE_METHOD_CALL && !dbus_message_get_no_reply(m))
                (void)conn_send_error(c, m, DBUS_ERROR_UNKNOWN_OBJECT, "No object at '%s'",
                                      dbus_message_get_path(m));
out:
        busrpc_conn_unref(c);
}

void conn_deliver(busrpc_conn *c, DBusMessage *m) {
        deliver(c, m, false);
}

/* A served peer's monitors see every message it sends; true when @c is a
 * monitor itself (what it sends goes nowhere). *@ret: the copy made. */
static bool monitor_copy(busrpc_conn *c, const WireMsg *m, int *fds, unsigned n_fds, DBusMessage **ret) {
        if (c->kind != CONN_SERVED || !c->server || !server_has_monitors(c->server))
                return false;
        if (transport_to_dbus(m, fds, n_fds, ret) < 0) {
                *ret = NULL;
                return false;
        }
        if (!server_monitor_incoming(c, *ret))
                return false;
        dbus_message_unref(*ret);
        *ret = NULL;
        return true;
}

int conn_dispatch_wire(busrpc_conn *c, const WireMsg *m, int *fds, unsigned n_fds) {
        DBusMessage *dm = NULL;
        bool monitored;
        int r = 0;

        busrpc_conn_ref(c);
        monitored = c->kind == CONN_SERVED && c->server && server_has_monitors(c->server);
        if (monitor_copy(c, m, fds, n_fds, &dm))
                goto out;
        if (m->type == WIRE_METHOD_RETURN || m->type == WIRE_ERROR) {
                /* Not ours (cancelled, timed out, forged): dropped, as libdbus does. */
                (void)reply_handle_wire(c, m, fds, n_fds);
                goto out;
        }
        if (m->type == WIRE_METHOD_CALL) {
                r = fast_dispatch_call(c, m, fds, n_fds);
                if (r != 0)
                        goto out;
        }
        if (!dm) {
                r = transport_to_dbus(m, fds, n_fds, &dm);
                /* Valid for the codec but not for libdbus (a caller would
                 * wait for nothing): that peer's connection closes. Out of
                 * memory, the message is dropped. */
                if (r < 0) {
                        /* an 'h' indexing no fd: answered, as libdbus reads it as -1 (conn-limits.c) */
                        r = r == -EBADF ? conn_answer_bad_fd(c, m) : r == -EBADMSG ? r : 0;
                        goto out;
                }
        }
        deliver(c, dm, monitored);
out:
        if (dm)
                dbus_message_unref(dm);
        busrpc_conn_unref(c);
        return r < 0 ? r : 0;
}

int conn_transport_msg(Transport *t, const WireMsg *m, int *fds, unsigned n_fds, void *userdata) {
        busrpc_conn *c = userdata;

        (void)t;
        if ((m->type == WIRE_METHOD_RETURN || m->type == WIRE_ERROR) && c->sync_wait &&
            reply_sync_take(c, m, fds, n_fds))
                return 0;
        /* A sync wait dispatches nothing; what came before stays before. */
        if (c->sync_wait || reply_held_count(c) > 0)
                return reply_hold_wire(c, m, fds, n_fds);
        return conn_dispatch_wire(c, m, fds, n_fds);
}

void conn_transport_close(Transport *t, int error, void *userdata) {
        busrpc_conn *c = userdata;

        (void)t;
        (void)error;
        /* conn_free()'s last flush failed: the conn is going already (a
         * ref here would free it a second time). */
        if (c->closing)
                return;
        busrpc_conn_ref(c);
        /* The calls in flight complete before anyone hears of the loss. */
        reply_fail_all(c);
        if (c->kind == CONN_SERVED)
                server_peer_gone(c);
        else if (c->kind == CONN_BUS || c->kind == CONN_PEER)
                conn_lost(c);
        busrpc_conn_unref(c);
}
