/* conn.h: connections (conn.c) and losing them (reconnect.c).
 *
 * A busrpc_conn is one of: a bus connection, a client peer connection, or
 * a peer served by a busrpc_server (SERVED). A registry of objects is owned
 * by a bus or client peer connection, or by a server (registry.h): a
 * SERVED conn dispatches through its server's, so every peer sees the same
 * objects. (There is no connection standing for "all peers": what a
 * server's objects emit goes out through the registry, reg_send().)
 *
 * A conn registers with its loop like any user: its libdbus watches and
 * timeouts (dbus-io.h), a deferred source that dispatches it while libdbus
 * has data, and an exit source that flushes it when busrpc_loop_run()
 * returns.
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>
#include "busrpc-internal.h"
#include "wire.h"

/* The name a server answers as, to peers that said Hello. */
#define SERVER_UNIQUE_NAME        ":1.0"
/* What a bus or client peer connection accepts per message, as libdbus
 * reads it: at least what a bus delivers (dbus-daemon's and busrpc-bus's
 * max_message_unix_fds; Linux passes at most 253 per sendmsg anyway), so
 * no delivered message costs the connection. */
#define CONN_MAX_MESSAGE_FDS      1024u
#define CONN_MAX_RECEIVED_FDS     BUSRPC_MAX_HELD_FDS_DEFAULT
/* fds one method call may hand a skeleton (busrpc_conn_set_max_call_fds()). */
#define DEFAULT_MAX_CALL_FDS      16u
/* Reconnection: first retry at once, then doubling up to the cap. */
#define RECONNECT_FIRST_MS        50u
#define RECONNECT_MAX_INTERVAL_MS 1000u
#define PEER_PING_TIMEOUT_MS      25000
/* How long a flush may wait for a peer to read (libdbus's own flush waits
 * forever: a peer that stops reading would hang us at exit). A server's
 * peers share one deadline instead (busrpc_server_limits.shutdown_timeout_usec). */
#define FLUSH_TIMEOUT_MS          5000

typedef enum ConnKind {
        CONN_BUS,    /* a bus (session, system, private dbus-daemon) */
        CONN_PEER,   /* client side of a direct peer connection */
        CONN_SERVED, /* a peer accepted by a busrpc_server */
} ConnKind;

typedef struct DBusIo DBusIo;         /* dbus-io.h */
typedef struct MatchRule MatchRule;   /* driver.c */
typedef struct CredsEntry CredsEntry; /* creds.c */
typedef struct ReplyTable ReplyTable; /* reply.c */
typedef struct busrpc_objects Registry; /* registry.h */
typedef struct Transport Transport;   /* transport.h */
typedef struct ShmPeer ShmPeer;       /* shm-pool.c */
typedef struct SyncWait SyncWait;     /* reply.c */
typedef struct SubTable SubTable;     /* subscription.c */

struct busrpc_conn {
        unsigned n_ref;
        ConnKind kind;
        /* The link: exactly one of @dbus (libdbus reads and writes the
         * socket) and @tp (the fast path: busrpc does, transport.h) is set
         * (neither once closed). */
        DBusConnection *dbus;
        Transport *tp;
        /* Bumped whenever the link is replaced (reconnection): calls and
         * subscriptions remember the generation they were made on, in
         * place of the DBusConnection pointer they used to keep. */
        uint32_t link_gen;
        bool link_fast; /* the link is, or was when lost, a Transport: a reconnection keeps the kind */
        ShmPeer *shm;   /* shm-pool.c's state for this conn; NULL until used */
        busrpc_loop *loop;
        DBusIo *io;                  /* the libdbus watches and timeouts on the loop */
        busrpc_source *dispatch_src; /* deferred: enabled while libdbus has data */
        busrpc_source *exit_src;     /* flush when the loop's run ends */
        char *unique_name;
        bool closing;
        unsigned max_call_fds; /* 0: DEFAULT_MAX_CALL_FDS */
        uint64_t max_shm_size; /* received shm; 0: the server's, else the default */

        /* losing the connection (reconnect.c) */
        char *address; /* resolved; bus and client peer conns */
        busrpc_conn_event_fn event_cb;
        void *event_userdata;
        uint64_t reconnect_usec;   /* 0: no reconnection; BUSRPC_TIMEOUT_INFINITE: no end */
        busrpc_source *lost_timer; /* deferred loss handling, then retries */
        uint64_t lost_at;          /* usec, loop_now_usec() */
        unsigned retry_ms;
        int lost_error; /* < 0 once lost for good */
        bool lost;

        /* the object registry of a bus or client peer conn (made with the
         * conn); NULL on a served peer (its server's serves it) */
        Registry *registry;

        busrpc_name *names;
        /* signal subscriptions, indexed by (interface, member) (subscription.c);
         * NULL until the first */
        SubTable *subs;

        /* calls made on this connection and awaiting their replies; NULL
         * until the first call */
        ReplyTable *replies;
        unsigned in_dispatch;    /* inside dbus_connection_dispatch() (reply.c) */
        SyncWait *sync_wait;     /* the innermost sync wait on the fast path (reply.c) */
        uint64_t max_held_bytes; /* what a sync wait may hold; 0: BUSRPC_MAX_HELD_BYTES_DEFAULT */
        unsigned max_held_fds;   /* the fds it may hold; 0: BUSRPC_MAX_HELD_FDS_DEFAULT */
        uint64_t max_outgoing_bytes; /* client conns; 0: BUSRPC_MAX_OUTGOING_BYTES_DEFAULT (conn-limits.c) */

        /* caller credentials cache (bus conns) */
        CredsEntry *creds;
        unsigned n_creds;
        bool creds_match_added;

        /* SERVED conns */
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
};

/* conn.c */
/* libdbus's filter of every DBusConnection (@data: its busrpc_conn) */
DBusHandlerResult conn_filter(DBusConnection *dc, DBusMessage *m, void *data);
int conn_new(ConnKind kind, DBusConnection *dbus, busrpc_loop *loop, busrpc_conn **ret);
int conn_set_loop(busrpc_conn *c, busrpc_loop *l);
/* Dispatch @c from its loop soon (its deferred source). */
void conn_schedule_dispatch(busrpc_conn *c);
/* The registry whose objects serve calls that come on @c: its own, or a
 * served peer's server's (NULL once the server went). Borrowed. */
Registry *conn_objects(busrpc_conn *c);
int conn_send_error(busrpc_conn *c, DBusMessage *call, const char *name, const char *fmt, ...)
        BUSRPC_PRINTF(4, 5);
int conn_send_reply(busrpc_conn *c, DBusMessage *reply); /* consumes @reply */
/* Write out what is queued on @c, for a bounded time (see FLUSH_TIMEOUT_MS). */
void conn_flush_bounded(busrpc_conn *c);
/* The libdbus connection of a bus or peer connection; NULL on the fast
 * path or once closed. Borrowed. */
DBusConnection *conn_get_dbus(busrpc_conn *c);
/* Send @m (borrowed) on @c. (To every peer of a server: reg_send(),
 * server_broadcast().) */
int conn_send(busrpc_conn *c, DBusMessage *m);
/* busrpc_conn_set_max_call_fds()'s bound (a bus or client peer conn). */
unsigned conn_max_call_fds(busrpc_conn *c);
/* True for a peer-to-peer connection (no bus driver). */
bool conn_is_peer(busrpc_conn *c);

/* ---- the link (conn.c): what every other file uses instead of calling
 * dbus_connection_*() itself, the same on libdbus and on the fast path.
 * Outside conn.c, reply.c and server.c (accepting) no file touches
 * c->dbus or c->tp. ---- */

/* Connected (a served peer: and authenticated). */
bool conn_is_open(busrpc_conn *c);
/* Whether unix fds can be sent (negotiated; never on tcp). */
bool conn_can_pass_fds(busrpc_conn *c);
/* Bytes queued toward the peer and not yet taken by the kernel. */
size_t conn_outgoing_bytes(busrpc_conn *c);
/* After a send on a client conn's libdbus link that found @before bytes
 * queued: past busrpc_conn_get_max_outgoing_bytes(), close the link. */
void conn_outgoing_check(busrpc_conn *c, size_t before);
/* A message of the fast path whose 'h' indexes no fd it carries (it
 * cannot become a DBusMessage): a call is answered InvalidArgs, anything
 * else dropped; the connection stays. Return: 0. */
int conn_answer_bad_fd(busrpc_conn *c, const WireMsg *m);
/* The socket (borrowed), -1 when there is none. */
int conn_socket_fd(busrpc_conn *c);
/* Close the link now (a hostile or broken peer), as if the peer hung up:
 * its calls fail, a served peer is gone, a client conn is lost. */
void conn_close_link(busrpc_conn *c);
/**
 * conn_call_sync() - send the call @m (borrowed) on @c and wait for its
 * reply, on either link, without dispatching anything meanwhile (what is
 * read is held and dispatched later, in order; inside a libdbus dispatch
 * libdbus blocks, as reply_sync_must_block() says). @from: the sender the
 * reply must come from (reply_expected_sender()), or NULL. Replaces every
 * dbus_connection_send_with_reply_and_block(). Return: 0 and *@ret (a
 * method return or an error reply: reply_check() tells), -ETIMEDOUT,
 * -ECONNRESET, -ENOMEM; @err set on failure.
 */
int conn_call_sync(busrpc_conn *c, DBusMessage *m, const char *from, int timeout_ms, DBusMessage **ret,
                   busrpc_error *err);
/**
 * conn_deliver() - one incoming message (not a reply that completed a
 * call), through what libdbus's dispatch runs: the Peer interface's
 * built-ins, conn_filter(), the signal subscriptions (signal_deliver()),
 * UnknownObject for a call nobody took. Used for held messages and for
 * everything the fast path converts to a DBusMessage.
 */
void conn_deliver(busrpc_conn *c, DBusMessage *m);
/* @m (built by the runtime) went out on a transport as @serial: numbered
 * and locked as libdbus's own send would (appending to it is refused,
 * and a resend keeps its headers). A received or resent message (serial
 * set) is left alone. */
void conn_mark_sent(DBusMessage *m, uint32_t serial);
/* The transport callbacks of every conn on the fast path (@userdata: the
 * busrpc_conn). A reply completes its call (reply_handle_wire()); a method
 * call goes to fast_dispatch_call() first (fastcall.h), the rest is
 * converted (transport_to_dbus()) and given to conn_deliver(). On close:
 * the calls in flight fail, then a served peer is gone
 * (server_peer_gone()) and a client conn lost (conn_lost()). */
int conn_transport_msg(Transport *t, const WireMsg *m, int *fds, unsigned n_fds, void *userdata);
void conn_transport_close(Transport *t, int error, void *userdata);
/* What conn_transport_msg() does with a message nobody waits for (also
 * for one held by a sync wait, later): a reply completes its call, a call
 * goes to fast_dispatch_call() first, the rest through conn_deliver(). */
int conn_dispatch_wire(busrpc_conn *c, const WireMsg *m, int *fds, unsigned n_fds);
/* Whether new connections take the fast path: the environment's
 * BUSRPC_FAST_PATH ("0": libdbus reads and writes, "1": busrpc does),
 * else the default: on. Unix sockets only: tcp stays on libdbus. */
bool conn_fast_path_wanted(void);

/* reconnect.c */
/* The local Disconnected signal of a bus or client peer conn was dispatched. */
void conn_lost(busrpc_conn *c);
void conn_lost_free(busrpc_conn *c);
void conn_lost_moved(busrpc_conn *c); /* after conn_set_loop() */
/* conn.c, for reconnect.c: a new link of the same kind to c->address in
 * place of the lost one (libdbus or the fast path, as conn_fast_path_wanted()
 * says now), c->link_gen bumped, the subscriptions' match rules added
 * again; the old link stays when this fails. Return: 0, -errno. */
int conn_relink(busrpc_conn *c);
