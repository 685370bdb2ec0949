/* core.h: private declarations of the runtime core (loop, connections,
 * serving). Shared by loop.c conn.c name.c server.c driver.c object.c
 * introspect.c property.c call.c creds.c; never installed.
 *
 * Model:
 *  - A busrpc_loop owns an epoll fd. libdbus watches are grouped per fd
 *    (libdbus makes one read and one write watch per socket), libdbus
 *    timeouts are loop timers, and connections whose dispatch status is
 *    DATA_REMAINS sit on the loop's pending list until dispatched.
 *  - A busrpc_conn is one of: a bus connection, a client peer connection,
 *    a peer served by a busrpc_server (SERVED), or a server's all-peers
 *    handle (SERVER, no DBusConnection). Objects live in the tree of the
 *    conn they were exported on; a SERVED conn dispatches through its
 *    server's tree, so every peer sees the same objects.
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>
#include "busrpc-internal.h"

#define DRIVER_NAME "org.freedesktop.DBus"
#define DRIVER_PATH "/org/freedesktop/DBus"
#define DRIVER_IFACE "org.freedesktop.DBus"
#define IFACE_PROPERTIES "org.freedesktop.DBus.Properties"
#define IFACE_INTROSPECTABLE "org.freedesktop.DBus.Introspectable"
#define IFACE_PEER "org.freedesktop.DBus.Peer"
#define IFACE_OBJECT_MANAGER "org.freedesktop.DBus.ObjectManager"
#define SERVER_UNIQUE_NAME ":1.0"

/* Default limits (documented in docs/runtime.md). */
#define DEFAULT_MAX_CONNECTIONS 128u
#define DEFAULT_MAX_PENDING_CALLS 128u
#define DEFAULT_MAX_MESSAGE_SIZE (32u * 1024u * 1024u)
#define DEFAULT_MAX_FDS 16u
/* What a bus or client peer connection accepts per message, as libdbus
 * reads it: at least what a bus delivers (dbus-daemon's and busrpc-bus's
 * max_message_unix_fds; Linux passes at most 253 per sendmsg anyway), so
 * no delivered message costs the connection. */
#define CONN_MAX_MESSAGE_FDS 1024u
#define CONN_MAX_RECEIVED_FDS (4u * CONN_MAX_MESSAGE_FDS)
/* fds one method call may hand a skeleton (busrpc_conn_set_max_call_fds()). */
#define DEFAULT_MAX_CALL_FDS 16u
/* Reconnection: first retry at once, then doubling up to the cap. */
#define RECONNECT_FIRST_MS 50u
#define RECONNECT_MAX_INTERVAL_MS 1000u
#define DEFAULT_AUTH_TIMEOUT_MS 2000u
#define MAX_MATCH_RULES 256u
#define CREDS_CACHE_SIZE 128u
#define CREDS_CALL_TIMEOUT_MS 5000
#define PEER_PING_TIMEOUT_MS 25000
/* How long a flush may wait for a peer to read (libdbus's own flush waits
 * forever: a peer that stops reading would hang us at exit). A server's
 * peers share one deadline instead (busrpc_server_limits.shutdown_timeout_ms). */
#define FLUSH_TIMEOUT_MS 5000

typedef enum ConnKind {
        CONN_BUS,    /* a bus (session, system, private dbus-daemon) */
        CONN_PEER,   /* client side of a direct peer connection */
        CONN_SERVED, /* a peer accepted by a busrpc_server */
        CONN_SERVER, /* a server's all-peers handle */
} ConnKind;

typedef struct MatchRule MatchRule;

/* What libdbus watch/timeout callbacks get as data: the loop, and by its
 * address which connection or server the watch or timeout belongs to. */
typedef struct LoopHook {
        busrpc_loop *loop;
} LoopHook;
typedef struct CredsEntry CredsEntry;
/* the outstanding calls and held messages of a connection (reply.c) */
typedef struct ReplyTable ReplyTable;
/* the object registry (registry.h) */
typedef struct Registry Registry;
typedef struct RegNode RegNode;
typedef struct IfaceInfo IfaceInfo;

struct busrpc_object {
        unsigned n_ref;
        busrpc_conn *conn; /* the tree's conn; NULL once removed */
        char *path;
        const busrpc_interface_desc *iface; /* NULL for an ObjectManager */
        const void *ops;
        void *self;
        /* registry.c; all NULL once removed */
        RegNode *node;
        IfaceInfo *info; /* NULL for an ObjectManager */
        uint64_t seq;    /* export order */
        busrpc_object *prev, *next;           /* every object of the registry */
        busrpc_object *node_prev, *node_next; /* the interface objects of node */
};

struct busrpc_name {
        busrpc_conn *conn; /* NULL once the conn is gone */
        char *name;
        busrpc_name_fn cb;
        void *userdata;
        bool owned;
        bool floating; /* no handle was returned: freed with the conn */
        unsigned flags; /* BUSRPC_NAME_*: asked again after a reconnection */
        busrpc_source *notify; /* SERVER conns: deferred acquired callback */
        busrpc_name *prev, *next;
};

struct busrpc_conn {
        unsigned n_ref;
        ConnKind kind;
        DBusConnection *dbus; /* NULL for CONN_SERVER */
        busrpc_loop *loop;
        LoopHook hook;
        char *unique_name;
        bool closing;
        unsigned max_call_fds; /* 0: DEFAULT_MAX_CALL_FDS */
        uint64_t max_shm_size; /* received shm; 0: the server's, else the default */

        /* losing the connection (reconnect.c) */
        char *address; /* resolved; bus and client peer conns */
        busrpc_conn_event_fn event_cb;
        void *event_userdata;
        unsigned reconnect_ms; /* 0: no reconnection */
        busrpc_source *lost_timer; /* deferred loss handling, then retries */
        uint64_t lost_at;          /* usec, loop_now_usec() */
        unsigned retry_ms;
        int lost_error; /* < 0 once lost for good */
        bool lost;

        /* the object tree (unused on SERVED conns: they use the server's);
         * NULL until the first export */
        Registry *registry;

        busrpc_name *names;

        /* calls made on this connection and awaiting their replies; NULL
         * until the first call */
        ReplyTable *replies;
        unsigned in_dispatch; /* inside dbus_connection_dispatch() (reply.c) */

        /* caller credentials cache (bus conns) */
        CredsEntry *creds;
        unsigned n_creds;
        bool creds_match_added;

        /* SERVED and SERVER conns */
        busrpc_server *server;
        bool said_hello;
        bool monitor; /* BecomeMonitor: gets copies, may send nothing more */
        bool gone;
        MatchRule *matches;
        unsigned n_matches;
        unsigned n_calls; /* calls being served and not yet replied */
        busrpc_source *auth_timer;
        uid_t peer_uid; /* SO_PEERCRED at accept, then the authenticated uid; -1: unknown (tcp) */
        pid_t peer_pid; /* SO_PEERCRED at accept; 0: unknown */
        bool authed;    /* counted by the server as authenticated */
        busrpc_conn *peer_prev, *peer_next;

        /* loop bookkeeping */
        bool dispatch_pending;
        busrpc_conn *dispatch_next;
        busrpc_conn *loop_prev, *loop_next;
};

/* loop.c */
void loop_attach_conn(busrpc_loop *l, busrpc_conn *c);
void loop_detach_conn(busrpc_loop *l, busrpc_conn *c);
void loop_schedule_dispatch(busrpc_loop *l, busrpc_conn *c);
/* libdbus callbacks; @hook is a LoopHook. */
dbus_bool_t loop_watch_add(DBusWatch *w, void *hook);
void loop_watch_remove(DBusWatch *w, void *hook);
void loop_watch_toggle(DBusWatch *w, void *hook);
dbus_bool_t loop_timeout_add(DBusTimeout *t, void *hook);
void loop_timeout_remove(DBusTimeout *t, void *hook);
void loop_timeout_toggle(DBusTimeout *t, void *hook);
uint64_t loop_now_usec(void);
/* Re-arm the one-shot timer @s for @deadline (loop_now_usec() time). */
void loop_timer_set_deadline(busrpc_source *s, uint64_t deadline);

/* conn.c */
/* libdbus's filter of every DBusConnection (@data: its busrpc_conn) */
DBusHandlerResult conn_filter(DBusConnection *dc, DBusMessage *m, void *data);
int conn_new(ConnKind kind, DBusConnection *dbus, busrpc_loop *loop, busrpc_conn **ret);
int conn_set_loop(busrpc_conn *c, busrpc_loop *l);
busrpc_conn *conn_tree(busrpc_conn *c); /* the conn whose object tree serves @c */
int conn_errno_from_dbus(const DBusError *e);
int conn_send_error(busrpc_conn *c, DBusMessage *call, const char *name, const char *fmt, ...)
        BUSRPC_PRINTF(4, 5);
int conn_send_reply(busrpc_conn *c, DBusMessage *reply); /* consumes @reply */
/* Write out what is queued on @c, for a bounded time (see FLUSH_TIMEOUT_MS). */
void conn_flush_bounded(busrpc_conn *c);

/* reply.c */
/* One dispatch step: a message a sync call held back, else libdbus's next. */
DBusDispatchStatus conn_dispatch(busrpc_conn *c);
/* A method return or error arrived on @dc: complete its call, if ours. */
DBusHandlerResult reply_handle(busrpc_conn *c, DBusConnection *dc, DBusMessage *m);
/* @dc is gone: every call sent on it completes with -ECONNRESET. */
void reply_fail_all(busrpc_conn *c, DBusConnection *dc);
void reply_conn_moved(busrpc_conn *c); /* after conn_set_loop() */
void reply_conn_free(busrpc_conn *c);

/* reconnect.c */
/* The local Disconnected signal of a bus or client peer conn was dispatched. */
void conn_lost(busrpc_conn *c);
void conn_lost_free(busrpc_conn *c);
void conn_lost_moved(busrpc_conn *c); /* after conn_set_loop() */
/* conn.c, for reconnect.c */
int conn_open_dbus(busrpc_conn *c, DBusConnection **ret); /* c->address, c->kind */
int conn_swap_dbus(busrpc_conn *c, DBusConnection *dc);  /* consumes @dc */

/* name.c */
int name_request_all(busrpc_conn *c); /* after a reconnection */
DBusHandlerResult name_handle_signal(busrpc_conn *c, DBusMessage *m);
void name_release_all(busrpc_conn *c);
void name_detach_all(busrpc_conn *c);
bool name_is_owned_locally(busrpc_conn *server_conn, const char *name);

/* server.c, limits.c */
/* After @c (SERVED) queued a message: @before is what was queued before it. */
void server_peer_sent(busrpc_conn *c, long before);
/* Write out what is queued to every peer, all at once, within the shutdown deadline. */
void server_flush(busrpc_server *s);
void server_peer_gone(busrpc_conn *peer);
int server_broadcast(busrpc_server *s, DBusMessage *m);
/* Monitors (BecomeMonitor): copies of what a peer sent (true: the message
 * is consumed, the sender was a monitor) and of what was sent to a peer. */
bool server_monitor_incoming(busrpc_conn *c, DBusMessage *m);
void server_monitor_outgoing(busrpc_conn *c, DBusMessage *m);
DBusConnection *server_dbus_of(busrpc_server *s);
busrpc_conn *server_get_conn(busrpc_server *s);
busrpc_conn *server_first_peer(busrpc_server *s);
char *server_get_id(busrpc_server *s); /* dbus_free() */
void server_conn_gone(busrpc_server *s);
unsigned server_max_pending_calls(busrpc_server *s);
uint64_t server_max_shm_size(busrpc_server *s);
void server_set_max_shm_size(busrpc_server *s, uint64_t bytes); /* 0: the default */

/* driver.c */
bool driver_is_for_driver(DBusMessage *m);
DBusHandlerResult driver_handle(busrpc_conn *peer, DBusMessage *m);
bool driver_match_accepts(busrpc_conn *peer, DBusMessage *m);
void driver_free_matches(busrpc_conn *peer);

/* object.c */
DBusHandlerResult object_dispatch(busrpc_conn *c, DBusMessage *m);
/* fds a skeleton would be handed for @m (the 'h' values in its body). */
unsigned msg_count_fds(DBusMessage *m);
void object_detach_all(busrpc_conn *c);
bool tree_has_path(busrpc_conn *tree, const char *path);
busrpc_object *tree_find(busrpc_conn *tree, const char *path, const char *iface);
busrpc_object *object_ref(busrpc_object *o);
void object_unref(busrpc_object *o);
/* ObjectManager covering @path (strictly above it), or NULL. */
busrpc_object *tree_find_manager(busrpc_conn *tree, const char *path);

/* introspect.c */
DBusMessage *introspect_reply(busrpc_conn *tree, DBusMessage *call, const char *path);
char **tree_children(busrpc_conn *tree, const char *path, size_t *ret_n); /* free with strv_free */
void strv_free(char **v, size_t n);

/* property.c */
DBusMessage *property_dispatch(busrpc_conn *c, busrpc_conn *tree, DBusMessage *m, const char *path,
                               const char *member);
/* Append a{sv} of the readable properties of @o to @it. */
int property_append_all(busrpc_object *o, DBusMessageIter *it, busrpc_error *err);
DBusMessage *object_manager_reply(busrpc_conn *tree, DBusMessage *call, const char *path);
int object_manager_emit(busrpc_object *o, bool added);

/* call.c */
busrpc_call *call_new(busrpc_conn *c, busrpc_object *o, DBusMessage *m, bool no_reply);
void call_finish(busrpc_call *call, int r); /* after the skeleton ran */
bool msg_is_unwanted(DBusMessage *m);

/* creds.c */
int creds_get(busrpc_conn *c, const char *sender, uid_t *ret_uid, pid_t *ret_pid);
void creds_handle_owner_changed(busrpc_conn *c, DBusMessage *m);
void creds_clear(busrpc_conn *c);
