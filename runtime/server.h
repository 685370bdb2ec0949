/* server.h: the peer server's private state, shared by server.c (the
 * listening socket, the peers, the registry, the names) and limits.c (what a
 * peer may cost: admission, the outgoing bound, the shutdown deadline). */
#pragma once

#include <stdint.h>
#include <sys/types.h>
#include "conn.h"

/* Defaults of the limits (docs/runtime.md, "Limits"). */
#define DEFAULT_MAX_CONNECTIONS 128u
#define DEFAULT_MAX_PENDING_CALLS 128u
#define DEFAULT_MAX_MESSAGE_SIZE (32u * 1024u * 1024u)
#define DEFAULT_MAX_FDS 16u
#define DEFAULT_AUTH_TIMEOUT_MS 2000u
#define DEFAULT_MAX_CONNECTIONS_PER_UID 64u
#define DEFAULT_MAX_UNAUTHENTICATED 64u
#define MAX_UNAUTHENTICATED_CAP 1024u /* eviction is quadratic in it */
#define DEFAULT_MAX_OUTGOING_BYTES (16u * 1024u * 1024u)
#define DEFAULT_SHUTDOWN_TIMEOUT_MS 2000u
/* busrpc_server_limits' times are uint64_t usec (auth_timeout_usec,
 * shutdown_timeout_usec: api engineer, session 4), one hour at most. */
#define MAX_LIMIT_TIMEOUT_USEC (UINT64_C(3600) * BUSRPC_USEC_PER_SEC)
/* accept() failed with a connection waiting and nothing to evict (out of
 * fds): wait this long, or until a peer goes, before accepting again. */
#define ACCEPT_RETRY_MS 100u

typedef struct ListenWatch ListenWatch;
typedef struct PeerAuth PeerAuth; /* server.c: a fast-path peer in its SASL phase */

struct busrpc_server {
        DBusServer *dbus;
        Registry *registry; /* the objects every peer sees (registry.h), made with the server */
        busrpc_name *names; /* busrpc_server_request_name() (name.c) */
        busrpc_source *exit_src; /* flush when the loop's run ends */
        busrpc_loop *loop;
        DBusIo *io; /* libdbus's timeouts of the DBusServer on the loop */
        char *address;
        busrpc_server_limits limits;
        uid_t self_uid;
        uid_t *allowed;
        unsigned n_allowed;
        busrpc_conn *peers; /* newest first */
        unsigned n_peers;   /* n_unauth + n_authed */
        unsigned n_unauth;
        unsigned n_authed;
        unsigned n_monitors; /* peers that called BecomeMonitor, still here */
        unsigned next_id;

        /* the listening sockets: our own watches, so a failed accept
         * (EMFILE) cannot make a level-triggered loop spin */
        ListenWatch *watches;
        busrpc_source *accept_retry; /* set while accepting is paused */
        bool accepted;               /* the last watch dispatch accepted one */

        /* The fast path (conn_fast_path_wanted(), unix sockets): the
         * DBusServer only accepts; busrpc does SASL EXTERNAL (sasl.h) and
         * serves each peer on a Transport. */
        bool fast;
        char guid[33];    /* dbus_server_get_id(), for the SASL OK line */
        PeerAuth *auths;  /* peers still authenticating on the fast path */

        /* shm-pool.c (link-users): what busrpc_server_set_shm_limits() and
         * _set_shm_direct() said, for the peers served afterwards; zeros:
         * the defaults. Nothing to free. */
        busrpc_shm_limits shm_limits;
        bool shm_direct;

        uint64_t flush_deadline; /* usec: the shutdown deadline in force */
        bool broadcasting; /* server_broadcast: monitors get one copy, not one per peer */
};

/* server.c */
void server_accept_resume(busrpc_server *s);
/* After @c (SERVED) queued a message: @before is what was queued before it. */
void server_peer_sent(busrpc_conn *c, long before);
/* Write out what is queued to every peer, all at once, within the shutdown deadline. */
void server_flush(busrpc_server *s);
void server_peer_gone(busrpc_conn *peer);
int server_broadcast(busrpc_server *s, DBusMessage *m);
/* A reference to every open peer in *@ret (NULL when none; release with
 * server_peers_unref()): a send may close and reap a peer, so callers
 * that send to several walk these, not the live list. 0, -ENOMEM. */
int server_peers_open(busrpc_server *s, busrpc_conn ***ret, unsigned *ret_n);
void server_peers_unref(busrpc_conn **v, unsigned n);
/* Monitors (BecomeMonitor): copies of what a peer sent (true: the message
 * is consumed, the sender was a monitor) and of what was sent to a peer. */
bool server_monitor_incoming(busrpc_conn *c, DBusMessage *m);
void server_monitor_outgoing(busrpc_conn *c, DBusMessage *m);
/* The registry every peer dispatches through; the list of names (borrowed). */
Registry *server_objects(busrpc_server *s);
busrpc_name **server_names(busrpc_server *s);
unsigned server_max_call_fds(busrpc_server *s);
/* Whether a monitor is attached: then every message must pass through the
 * DBusMessage path (server_monitor_incoming/outgoing), so the fast
 * dispatch (fastcall.c) must not serve it in place. */
bool server_has_monitors(busrpc_server *s);
busrpc_conn *server_first_peer(busrpc_server *s);
char *server_get_id(busrpc_server *s); /* dbus_free() */
unsigned server_max_pending_calls(busrpc_server *s);
uint64_t server_max_shm_size(busrpc_server *s);

/* limits.c */
void limits_fill(busrpc_server_limits *l, const busrpc_server_limits *in);
int limits_check(const busrpc_server_limits *l);
bool limits_uid_allowed(busrpc_server *s, uid_t uid);
/* The peer's credentials from the socket (unix sockets only). */
bool limits_peer_creds(DBusConnection *dc, uid_t *ret_uid, pid_t *ret_pid);
bool limits_peer_creds_fd(int fd, uid_t *ret_uid, pid_t *ret_pid);
/* @c (SERVED, still authenticating) authenticates as @uid: counts it as
 * authenticated, or refuses it (false) over max_connections or
 * max_connections_per_uid, or when the uid may not connect. */
bool limits_admit(busrpc_conn *c, uid_t uid);
/* Close the oldest unauthenticated connection of the uid, then the
 * process, that holds the most of them. false: there is none. */
bool limits_evict_unauthenticated(busrpc_server *s);
/* libdbus's unix-user function: the authentication of @data (a SERVED
 * busrpc_conn) completes; counts it, or refuses it over the limits. */
dbus_bool_t limits_authenticate(DBusConnection *dc, unsigned long uid, void *data);
