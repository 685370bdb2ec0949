/* limits.c: what a peer of a busrpc_server may cost, and what an attacker
 * gets for trying (docs/runtime.md, "Limits").
 *
 *  - Connections still authenticating have a budget of their own. When it
 *    is full, the oldest connection of the uid that holds the most of them
 *    (then of the process, by SO_PEERCRED, within that uid) is closed: a
 *    flood evicts its own connections, a real client that connects from
 *    another process is never the one to go, and no unauthenticated
 *    connection ever takes an authenticated peer's slot. A uid that may
 *    not authenticate is closed at accept.
 *  - Authenticated peers are bounded in total and per uid; the check runs
 *    when libdbus completes the authentication (its unix-user function),
 *    which refuses and disconnects over the limit; on the fast path when
 *    busrpc's SASL reads BEGIN (server.c), which closes over the limit.
 *  - Bytes queued toward a peer that does not read are bounded: past the
 *    bound the peer is closed (libdbus has no such bound; dbus-daemon's
 *    max_outgoing_bytes is the model; on the fast path the Transport
 *    enforces it, transport_set_max_outgoing_bytes()).
 *  - Shutdown flushes every peer at once against one deadline; a peer that
 *    has not read what is queued for it by then is closed. */
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include "server.h"
#include "loop.h"
#include "transport.h"

void limits_fill(busrpc_server_limits *l, const busrpc_server_limits *in) {
        *l = in ? *in : (busrpc_server_limits){ 0 };
        if (!l->max_connections)
                l->max_connections = DEFAULT_MAX_CONNECTIONS;
        if (!l->max_pending_calls)
                l->max_pending_calls = DEFAULT_MAX_PENDING_CALLS;
        if (!l->max_message_size)
                l->max_message_size = DEFAULT_MAX_MESSAGE_SIZE;
        if (!l->max_fds)
                l->max_fds = DEFAULT_MAX_FDS;
        if (!l->auth_timeout_usec)
                l->auth_timeout_usec = DEFAULT_AUTH_TIMEOUT_MS * BUSRPC_USEC_PER_MSEC;
        if (!l->max_shm_size)
                l->max_shm_size = BUSRPC_MAX_SHM_SIZE_DEFAULT;
        if (!l->max_connections_per_uid)
                l->max_connections_per_uid = DEFAULT_MAX_CONNECTIONS_PER_UID;
        if (!l->max_unauthenticated)
                l->max_unauthenticated = DEFAULT_MAX_UNAUTHENTICATED;
        if (!l->max_outgoing_bytes)
                l->max_outgoing_bytes = DEFAULT_MAX_OUTGOING_BYTES;
        if (!l->shutdown_timeout_usec)
                l->shutdown_timeout_usec = DEFAULT_SHUTDOWN_TIMEOUT_MS * BUSRPC_USEC_PER_MSEC;
        if (!l->max_call_fds)
                l->max_call_fds = DEFAULT_MAX_CALL_FDS;
}

int limits_check(const busrpc_server_limits *l) {
        if (l->max_message_size > 128u * 1024u * 1024u) /* libdbus's own cap */
                return -EINVAL;
        if (l->max_fds > 253)
                return -EINVAL;
        if (l->max_unauthenticated > MAX_UNAUTHENTICATED_CAP)
                return -EINVAL;
        if (l->max_outgoing_bytes > 0x7fffffffu) /* libdbus counts in a long, compared as one */
                return -EINVAL;
        /* A deadline is now + the time: keep it far from wrapping. */
        if (l->auth_timeout_usec > MAX_LIMIT_TIMEOUT_USEC || l->shutdown_timeout_usec > MAX_LIMIT_TIMEOUT_USEC)
                return -EINVAL;
        return 0;
}

bool limits_uid_allowed(busrpc_server *s, uid_t uid) {
        if (uid == s->self_uid)
                return true;
        for (unsigned i = 0; i < s->n_allowed; i++)
                if (uid == s->allowed[i])
                        return true;
        return false;
}

bool limits_peer_creds_fd(int fd, uid_t *ret_uid, pid_t *ret_pid) {
        struct sockaddr_storage sa;
        socklen_t len = sizeof(sa);
        struct ucred cred;
        socklen_t clen = sizeof(cred);

        /* SO_PEERCRED means nothing on tcp (it reports the overflow uid) */
        if (fd < 0 || getsockname(fd, (struct sockaddr *)&sa, &len) < 0 || sa.ss_family != AF_UNIX ||
            getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0)
                return false;
        *ret_uid = cred.uid;
        *ret_pid = cred.pid;
        return true;
}

bool limits_peer_creds(DBusConnection *dc, uid_t *ret_uid, pid_t *ret_pid) {
        int fd;

        return dbus_connection_get_socket(dc, &fd) && limits_peer_creds_fd(fd, ret_uid, ret_pid);
}

/* ---- admission ---- */

static unsigned count_unauth(busrpc_server *s, uid_t uid, const pid_t *pid) {
        unsigned n = 0;

        for (busrpc_conn *p = s->peers; p; p = p->peer_next)
                if (!p->authed && p->peer_uid == uid && (!pid || p->peer_pid == *pid))
                        n++;
        return n;
}

bool limits_evict_unauthenticated(busrpc_server *s) {
        busrpc_conn *victim = NULL;
        unsigned best_uid = 0, best_pid = 0;

        /* Newest first: on a tie the later (older) one wins. */
        for (busrpc_conn *p = s->peers; p; p = p->peer_next) {
                unsigned nu, np;
                if (p->authed || p->gone)
                        continue;
                nu = count_unauth(s, p->peer_uid, NULL);
                np = count_unauth(s, p->peer_uid, &p->peer_pid);
                if (!victim || nu > best_uid || (nu == best_uid && np >= best_pid)) {
                        victim = p;
                        best_uid = nu;
                        best_pid = np;
                }
        }
        if (!victim)
                return false;
        busrpc_conn_ref(victim);
        server_peer_gone(victim);
        busrpc_conn_unref(victim);
        return true;
}

bool limits_admit(busrpc_conn *c, uid_t uid) {
        busrpc_server *s = c ? c->server : NULL;
        unsigned same = 0;

        if (!s || c->gone)
                return false;
        if (c->authed)
                return true;
        if (!limits_uid_allowed(s, uid) || s->n_authed >= s->limits.max_connections)
                return false;
        for (busrpc_conn *p = s->peers; p; p = p->peer_next)
                if (p->authed && p->peer_uid == uid)
                        same++;
        if (same >= s->limits.max_connections_per_uid)
                return false;
        c->authed = true;
        c->peer_uid = uid;
        s->n_unauth--;
        s->n_authed++;
        return true;
}

dbus_bool_t limits_authenticate(DBusConnection *dc, unsigned long uid, void *data) {
        busrpc_conn *c = data;

        /* Refused: libdbus disconnects it; Disconnected reaps it. */
        if (!limits_admit(c, (uid_t)uid))
                return FALSE;
        /* Called by libdbus with its lock released: freeing a loop source
         * is safe here (the loop parks it until the iteration ends). */
        if (c->auth_timer)
                c->auth_timer = busrpc_source_release(c->auth_timer);
        return TRUE;
}

/* ---- bytes queued toward a peer ---- */

void server_peer_sent(busrpc_conn *c, long before) {
        busrpc_server *s = c->server;

        /* A message that finds nothing queued always goes (one reply may
         * be larger than the bound); past the bound with more queued, the
         * peer is not reading: close it. Disconnected reaps it later, so
         * the caller's @c stays valid. */
        if (!s || before <= 0)
                return;
        /* A Transport enforces the bound itself (transport_set_max_outgoing_bytes()). */
        if (c->tp)
                return;
        if (conn_outgoing_bytes(c) > (size_t)s->limits.max_outgoing_bytes)
                conn_close_link(c);
}

/* ---- one deadline for all peers ---- */

static bool has_queued(busrpc_conn *p) {
        return conn_is_open(p) && conn_outgoing_bytes(p) > 0;
}

/* Write what the kernel takes now, without blocking. */
static void write_some(busrpc_conn *p) {
        if (p->tp)
                (void)transport_flush(p->tp);
        else if (p->dbus)
                dbus_connection_read_write(p->dbus, 0);
}

/* A reference to every peer for which @pred holds: closing a peer on the
 * fast path reaps it at once (server_peer_gone()), so nothing iterates
 * the live list while closing. NULL when there is none (or no memory). */
static busrpc_conn **peers_where(busrpc_server *s, bool (*pred)(busrpc_conn *p), unsigned *ret_n) {
        busrpc_conn **v;
        unsigned n = 0;

        for (busrpc_conn *p = s->peers; p; p = p->peer_next)
                n += pred(p);
        *ret_n = 0;
        if (!n || !(v = calloc(n, sizeof(*v))))
                return NULL;
        for (busrpc_conn *p = s->peers; p && *ret_n < n; p = p->peer_next)
                if (pred(p))
                        v[(*ret_n)++] = busrpc_conn_ref(p);
        return v;
}

static void peers_release(busrpc_conn **v, unsigned n) {
        for (unsigned i = 0; i < n; i++)
                busrpc_conn_unref(v[i]);
        free(v);
}

void server_flush(busrpc_server *s) {
        uint64_t now = loop_now_usec();
        struct pollfd *pfd = NULL;
        busrpc_conn **who;
        unsigned n;

        /* Several flushes in a row (one per peer from the loop's end, then
         * busrpc_server_free()) share the deadline of the first. */
        if (now >= s->flush_deadline)
                s->flush_deadline = now + s->limits.shutdown_timeout_usec;
        for (;;) {
                unsigned k = 0;
                int r;

                now = loop_now_usec();
                if (now >= s->flush_deadline)
                        break;
                who = peers_where(s, has_queued, &n);
                if (!who)
                        break;
                free(pfd);
                pfd = calloc(n, sizeof(*pfd));
                for (unsigned i = 0; pfd && i < n; i++) {
                        int fd = conn_socket_fd(who[i]);
                        if (fd >= 0)
                                pfd[k++] = (struct pollfd){ .fd = fd, .events = POLLOUT };
                        else
                                who[i] = busrpc_conn_unref(who[i]);
                }
                r = k ? poll(pfd, k, (int)((s->flush_deadline - now + 999) / 1000)) : -1;
                if (r < 0 && errno == EINTR)
                        r = 0;
                /* pfd[j] belongs to the j-th peer left in who[] */
                for (unsigned i = 0, j = 0; r > 0 && i < n; i++) {
                        if (!who[i])
                                continue;
                        if (pfd[j++].revents)
                                write_some(who[i]);
                }
                peers_release(who, n);
                if (r < 0)
                        break;
        }
        free(pfd);
        /* Those that did not read in time are closed, so their queues go
         * and a later flush does not wait for them again. */
        who = peers_where(s, has_queued, &n);
        for (unsigned i = 0; i < n; i++)
                conn_close_link(who[i]);
        peers_release(who, n);
}
