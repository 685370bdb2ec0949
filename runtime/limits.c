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
 *    which refuses and disconnects over the limit.
 *  - Bytes queued toward a peer that does not read are bounded: past the
 *    bound the peer is closed (libdbus has no such bound; dbus-daemon's
 *    max_outgoing_bytes is the model).
 *  - Shutdown flushes every peer at once against one deadline; a peer that
 *    has not read what is queued for it by then is closed. */
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include "server.h"
#include "loop.h"

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
        if (!l->auth_timeout_ms)
                l->auth_timeout_ms = DEFAULT_AUTH_TIMEOUT_MS;
        if (!l->max_shm_size)
                l->max_shm_size = BUSRPC_MAX_SHM_SIZE_DEFAULT;
        if (!l->max_connections_per_uid)
                l->max_connections_per_uid = DEFAULT_MAX_CONNECTIONS_PER_UID;
        if (!l->max_unauthenticated)
                l->max_unauthenticated = DEFAULT_MAX_UNAUTHENTICATED;
        if (!l->max_outgoing_bytes)
                l->max_outgoing_bytes = DEFAULT_MAX_OUTGOING_BYTES;
        if (!l->shutdown_timeout_ms)
                l->shutdown_timeout_ms = DEFAULT_SHUTDOWN_TIMEOUT_MS;
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

bool limits_peer_creds(DBusConnection *dc, uid_t *ret_uid, pid_t *ret_pid) {
        struct sockaddr_storage sa;
        socklen_t len = sizeof(sa);
        struct ucred cred;
        socklen_t clen = sizeof(cred);
        int fd;

        /* SO_PEERCRED means nothing on tcp (it reports the overflow uid) */
        if (!dbus_connection_get_socket(dc, &fd) || getsockname(fd, (struct sockaddr *)&sa, &len) < 0 ||
            sa.ss_family != AF_UNIX || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0)
                return false;
        *ret_uid = cred.uid;
        *ret_pid = cred.pid;
        return true;
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

dbus_bool_t limits_authenticate(DBusConnection *dc, unsigned long uid, void *data) {
        busrpc_conn *c = data;
        busrpc_server *s = c ? c->server : NULL;
        unsigned same = 0;

        if (!s || c->gone)
                return FALSE;
        if (c->authed)
                return TRUE;
        if (!limits_uid_allowed(s, (uid_t)uid) || s->n_authed >= s->limits.max_connections)
                return FALSE;
        for (busrpc_conn *p = s->peers; p; p = p->peer_next)
                if (p->authed && p->peer_uid == (uid_t)uid)
                        same++;
        if (same >= s->limits.max_connections_per_uid)
                return FALSE; /* libdbus disconnects it; Disconnected reaps it */
        c->authed = true;
        c->peer_uid = (uid_t)uid;
        s->n_unauth--;
        s->n_authed++;
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
        if (dbus_connection_get_outgoing_size(c->dbus) > (long)s->limits.max_outgoing_bytes)
                dbus_connection_close(c->dbus);
}

/* ---- one deadline for all peers ---- */

static bool has_queued(busrpc_conn *p) {
        return p->dbus && dbus_connection_get_is_connected(p->dbus) && dbus_connection_has_messages_to_send(p->dbus);
}

void server_flush(busrpc_server *s) {
        uint64_t now = loop_now_usec();
        struct pollfd *pfd = NULL;
        busrpc_conn **who = NULL;
        unsigned cap = 0;

        /* Several flushes in a row (one per peer from the loop's end, then
         * busrpc_server_free()) share the deadline of the first. */
        if (now >= s->flush_deadline)
                s->flush_deadline = now + (uint64_t)s->limits.shutdown_timeout_ms * 1000u;
        for (;;) {
                unsigned n = 0;
                int fd, r;

                for (busrpc_conn *p = s->peers; p; p = p->peer_next)
                        n += has_queued(p);
                now = loop_now_usec();
                if (n == 0 || now >= s->flush_deadline)
                        break;
                if (n > cap) {
                        struct pollfd *np = realloc(pfd, n * sizeof(*pfd));
                        busrpc_conn **nw = np ? realloc(who, n * sizeof(*who)) : NULL;
                        if (np)
                                pfd = np;
                        if (!nw)
                                break;
                        who = nw;
                        cap = n;
                }
                n = 0;
                for (busrpc_conn *p = s->peers; p; p = p->peer_next) {
                        if (!has_queued(p) || !dbus_connection_get_socket(p->dbus, &fd))
                                continue;
                        pfd[n] = (struct pollfd){ .fd = fd, .events = POLLOUT };
                        who[n++] = p;
                }
                if (n == 0)
                        break;
                r = poll(pfd, n, (int)((s->flush_deadline - now + 999) / 1000));
                if (r < 0 && errno != EINTR)
                        break;
                /* Writing touches no peer list: no callback runs here. */
                for (unsigned i = 0; r > 0 && i < n; i++)
                        if (pfd[i].revents)
                                dbus_connection_read_write(who[i]->dbus, 0);
        }
        free(pfd);
        free(who);
        /* Those that did not read in time are closed, so their queues go
         * and a later flush does not wait for them again. */
        for (busrpc_conn *p = s->peers; p; p = p->peer_next)
                if (has_queued(p))
                        dbus_connection_close(p->dbus);
}
