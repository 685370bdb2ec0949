/* server.c: a peer-to-peer server on libdbus's DBusServer. Each accepted
 * peer becomes a SERVED busrpc_conn that dispatches through the server's
 * registry (the one object tree every peer sees; busrpc_server_get_objects()).
 * What its objects emit goes to every peer that wants it (server_broadcast()).
 *
 * libdbus traps handled here: the new-connection callback runs before
 * authentication (uid and fd passing are not known yet, so the uid check is
 * a unix-user function and an auth timer closes peers that never finish);
 * DBusServer deletes whatever socket is at its path, so a live socket is
 * refused first with -EADDRINUSE; its socket is mode 0777, so the directory
 * (created 0700 when missing) is the real gate; a failed accept() leaves
 * the listening socket readable, so its watch is ours (on_listen) and
 * never spins. What a peer may cost is decided in limits.c.
 *
 * The fast path (conn_fast_path_wanted(), unix sockets; tcp stays on
 * libdbus): the DBusServer still listens and accepts, but its
 * new-connection callback, which runs before libdbus has read a byte,
 * keeps a dup of the socket and lets libdbus drop its DBusConnection
 * (libdbus only close()s). busrpc then does SASL EXTERNAL itself (sasl.c,
 * a watch of its own per peer, PeerAuth below) under the same rules: the
 * uid at accept and at AUTH, the auth timer and the unauthenticated
 * budget until BEGIN, the admission (limits_admit()) at BEGIN. What the
 * client pipelined after BEGIN, bytes and fds, starts the peer's
 * Transport, so a first message with an fd arrives whole. */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "server.h"
#include "dbus-io.h"
#include "driver.h"
#include "error-map.h"
#include "name.h"
#include "object.h"
#include "property.h"
#include "registry.h"
#include "sasl.h"
#include "transport.h"

static void apply_limits(busrpc_server *s, busrpc_conn *c) {
        DBusConnection *dc = c->dbus;

        if (c->tp) {
                /* fds per message: served_msg() below */
                transport_set_max_message_size(c->tp, s->limits.max_message_size);
                transport_set_max_outgoing_bytes(c->tp, s->limits.max_outgoing_bytes);
                /* fds waiting for a message never completed: libdbus's bound (review F5) */
                (void)transport_set_max_queued_fds(c->tp, s->limits.max_fds * 4);
        }
        if (!dc)
                return;
        dbus_connection_set_max_message_size(dc, (long)s->limits.max_message_size);
        dbus_connection_set_max_received_size(dc, (long)s->limits.max_message_size);
        dbus_connection_set_max_message_unix_fds(dc, (long)s->limits.max_fds);
        dbus_connection_set_max_received_unix_fds(dc, (long)s->limits.max_fds * 4);
}

static dbus_bool_t deny_uid(DBusConnection *dc, unsigned long uid, void *data) {
        return FALSE;
}

/* ---- the SASL phase of a peer on the fast path ---- */

struct PeerAuth {
        busrpc_conn *conn; /* the server's reference is the conn's */
        busrpc_source *io;
        int fd; /* owned until the Transport takes it */
        uint32_t events;
        PeerAuth *next;
        SaslServer sasl; /* large (the auth budget): last */
};

static PeerAuth *auth_of(busrpc_server *s, busrpc_conn *c) {
        for (PeerAuth *pa = s->auths; pa; pa = pa->next)
                if (pa->conn == c)
                        return pa;
        return NULL;
}

/* Forget @pa; its socket is closed unless the Transport took it (-1). */
static void auth_free(busrpc_server *s, PeerAuth *pa) {
        for (PeerAuth **pp = &s->auths; *pp; pp = &(*pp)->next) {
                if (*pp != pa)
                        continue;
                *pp = pa->next;
                break;
        }
        pa->io = busrpc_source_release(pa->io);
        sasl_server_clear(&pa->sasl);
        if (pa->fd >= 0)
                close(pa->fd);
        free(pa);
}

/* sasl.h's uid check at the AUTH line; the admission (limits_admit())
 * waits for BEGIN, as libdbus's unix-user function does, so a connection
 * that stops half-way stays unauthenticated (evictable, on its timer). */
static bool sasl_uid_allowed(uid_t uid, void *userdata) {
        busrpc_conn *c = userdata;

        return c->server && limits_uid_allowed(c->server, uid);
}

/* The message callback of a served peer's Transport: libdbus's
 * max_message_unix_fds first (more fds in one message than the limit
 * costs the sender its connection), then the link's own (conn.c). */
static int served_msg(Transport *t, const WireMsg *m, int *fds, unsigned n_fds, void *userdata) {
        busrpc_conn *c = userdata;

        if (n_fds && c->server && n_fds > c->server->limits.max_fds)
                return -ETOOMANYREFS;
        return conn_transport_msg(t, m, fds, n_fds, userdata);
}

/* BEGIN was read and everything before it answered: the socket, and what
 * the client pipelined after BEGIN (bytes and fds), go to a Transport. */
static int auth_done(busrpc_server *s, PeerAuth *pa) {
        busrpc_conn *c = pa->conn;
        const void *rest;
        size_t len;
        int fds[SASL_MAX_FDS], fd = pa->fd, r;
        unsigned n_fds = 0;
        bool unix_fds = sasl_server_unix_fd(&pa->sasl);
        Transport *tp;

        /* Over max_connections or max_connections_per_uid: closed (the
         * client heard OK; libdbus's clients see the connection drop). */
        if (!limits_admit(c, pa->sasl.peer_uid))
                return -EACCES;
        rest = sasl_server_rest(&pa->sasl, &len);
        sasl_server_take_fds(&pa->sasl, fds, &n_fds);
        pa->fd = -1;
        pa->io = busrpc_source_release(pa->io);
        /* copies @rest (freeing @pa after is fine); closes fd and fds on failure */
        r = transport_new_with(&tp, fd, rest, len, fds, n_fds, served_msg, conn_transport_close, c);
        auth_free(s, pa);
        if (r < 0)
                return r;
        transport_set_unix_fds(tp, unix_fds);
        c->tp = tp;
        apply_limits(s, c);
        if (c->auth_timer)
                c->auth_timer = busrpc_source_release(c->auth_timer);
        return transport_attach(tp, c->loop);
}

/* What the SASL phase waits for. Once BEGIN is read, not for input: the
 * bytes after it stay in the socket for the Transport, and epoll being
 * level-triggered, waiting for them while the answers cannot go out yet
 * (a client that does not read) would wake the loop again and again. */
static uint32_t auth_events(const PeerAuth *pa) {
        return (sasl_server_wants_read(&pa->sasl) ? EPOLLIN : 0) |
               (sasl_server_wants_write(&pa->sasl) ? EPOLLOUT : 0);
}

static int on_auth_io(busrpc_source *src, int fd, uint32_t revents, void *userdata) {
        PeerAuth *pa = userdata;
        busrpc_conn *c = pa->conn;
        busrpc_server *s = c->server;
        int r = s ? sasl_server_step(&pa->sasl) : -ENOTCONN;

        if (r == 0) {
                uint32_t want = auth_events(pa);
                if (want == pa->events)
                        return 0;
                pa->events = want;
                r = loop_io_set_events(pa->io, want);
        } else if (r > 0) {
                r = auth_done(s, pa); /* frees @pa */
        }
        if (r < 0) { /* refused, a protocol error, or the peer left */
                busrpc_conn_ref(c);
                server_peer_gone(c);
                busrpc_conn_unref(c);
        }
        return 0;
}

static int auth_watch(PeerAuth *pa, busrpc_loop *l) {
        pa->io = busrpc_source_release(pa->io);
        pa->events = auth_events(pa);
        return loop_add_io_events(l, pa->fd, pa->events, on_auth_io, pa, &pa->io);
}

void server_peer_gone(busrpc_conn *c) {
        busrpc_server *s = c->server;
        PeerAuth *pa;

        if (c->gone || !s)
                return;
        c->gone = true;
        if (c->peer_prev)
                c->peer_prev->peer_next = c->peer_next;
        else
                s->peers = c->peer_next;
        if (c->peer_next)
                c->peer_next->peer_prev = c->peer_prev;
        c->peer_prev = c->peer_next = NULL;
        s->n_peers--;
        if (c->authed)
                s->n_authed--;
        else
                s->n_unauth--;
        if (c->monitor)
                s->n_monitors--;
        if (c->auth_timer)
                c->auth_timer = busrpc_source_release(c->auth_timer);
        driver_free_matches(c);
        pa = auth_of(s, c);
        if (pa)
                auth_free(s, pa);
        c->server = NULL;
        if (c->dbus)
                dbus_connection_set_unix_user_function(c->dbus, deny_uid, NULL, NULL);
        /* On the fast path the close callback finds the peer gone already. */
        if (c->tp || c->dbus)
                conn_close_link(c);
        busrpc_conn_unref(c); /* the server's reference */
        if (s->accept_retry) /* an fd is free again */
                server_accept_resume(s);
}

static int auth_timeout(busrpc_source *src, void *userdata) {
        busrpc_conn *c = userdata;

        c->auth_timer = busrpc_source_release(src);
        /* not authenticated yet (on the fast path: no Transport yet) */
        if (!conn_is_open(c)) {
                busrpc_conn_ref(c);
                server_peer_gone(c);
                busrpc_conn_unref(c);
        }
        return 0;
}

/* A new peer @c (the server's reference) joins the list, unauthenticated,
 * with its auth deadline; false: it could not (@c is gone then). */
static bool peer_add(busrpc_server *s, busrpc_conn *c) {
        c->peer_next = s->peers;
        if (s->peers)
                s->peers->peer_prev = c;
        s->peers = c;
        s->n_peers++;
        s->n_unauth++;
        if (busrpc_loop_add_timer(s->loop, s->limits.auth_timeout_usec, false, auth_timeout, c,
                                  &c->auth_timer) < 0) {
                server_peer_gone(c);
                return false;
        }
        return true;
}

/* The fast path: the socket libdbus accepted is ours before libdbus read
 * a byte of it (a DBusServer reads nothing before this callback). We keep
 * a duplicate and let libdbus drop its DBusConnection, which close()s its
 * fd (libdbus never calls shutdown(): the socket lives on in the dup). */
static void accept_fast(busrpc_server *s, DBusConnection *dc) {
        busrpc_conn *c;
        PeerAuth *pa;
        uid_t uid = (uid_t)-1;
        pid_t pid = 0;
        int fd = -1, dup_fd;

        if (!dbus_connection_get_socket(dc, &fd) || !limits_peer_creds_fd(fd, &uid, &pid))
                return;
        /* A uid that could not authenticate anyway takes no slot at all. */
        if (!limits_uid_allowed(s, uid))
                return;
        /* The budget is made room in before the dup, so that the socket
         * libdbus still holds and ours never add up to one fd more than
         * on libdbus's path (the new one would not be the victim anyway:
         * ties go to the older). */
        if (s->n_unauth >= s->limits.max_unauthenticated)
                limits_evict_unauthenticated(s);
        /* The dup needs one more fd than accept() did: at the limit, the
         * cheapest connection goes (as on_listen() does for accept()). */
        while ((dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0 && (errno == EMFILE || errno == ENFILE) &&
               limits_evict_unauthenticated(s))
                ;
        if (dup_fd < 0)
                return;
        pa = calloc(1, sizeof(*pa));
        if (!pa || sasl_server_init(&pa->sasl, dup_fd, s->guid, sasl_uid_allowed, NULL) < 0 ||
            conn_new(CONN_SERVED, NULL, s->loop, &c) < 0) {
                free(pa);
                close(dup_fd);
                return;
        }
        pa->conn = c;
        pa->fd = dup_fd;
        pa->sasl.userdata = c;
        /* fds before the first message is read: as libdbus's received bound (apply_limits()) */
        sasl_server_set_max_fds(&pa->sasl, s->limits.max_fds * 4);
        pa->next = s->auths;
        s->auths = pa;
        c->server = s;
        c->peer_uid = uid;
        c->peer_pid = pid;
        if (asprintf(&c->unique_name, ":1.%u", ++s->next_id) < 0) {
                c->unique_name = NULL;
                c->server = NULL;
                auth_free(s, pa);
                busrpc_conn_unref(c);
                return;
        }
        if (!peer_add(s, c))
                return;
        if (auth_watch(pa, s->loop) < 0) {
                server_peer_gone(c);
                return;
        }
        /* Over budget: the heaviest sender's oldest goes (maybe this one). */
        if (s->n_unauth > s->limits.max_unauthenticated)
                limits_evict_unauthenticated(s);
}

static void on_new_connection(DBusServer *ds, DBusConnection *dc, void *data) {
        busrpc_server *s = data;
        busrpc_conn *c;
        uid_t uid = (uid_t)-1;
        pid_t pid = 0;

        s->accepted = true;
        if (s->fast) {
                accept_fast(s, dc);
                return; /* not referenced: libdbus drops and closes its side */
        }
        /* Not referenced: libdbus drops and closes it. A uid that could
         * not authenticate anyway takes no slot at all. */
        if (limits_peer_creds(dc, &uid, &pid) && !limits_uid_allowed(s, uid))
                return;
        dbus_connection_ref(dc);
        dbus_connection_set_allow_anonymous(dc, FALSE);
        if (conn_new(CONN_SERVED, dc, s->loop, &c) < 0) {
                dbus_connection_close(dc);
                dbus_connection_unref(dc);
                return;
        }
        apply_limits(s, c);
        /* The uid check, and the count of authenticated peers, run when
         * libdbus completes authentication (nothing is read before). */
        dbus_connection_set_unix_user_function(dc, limits_authenticate, c, NULL);
        c->server = s;
        c->peer_uid = uid;
        c->peer_pid = pid;
        if (asprintf(&c->unique_name, ":1.%u", ++s->next_id) < 0) {
                c->unique_name = NULL;
                c->server = NULL;
                dbus_connection_set_unix_user_function(dc, deny_uid, NULL, NULL);
                busrpc_conn_unref(c);
                return;
        }
        if (!peer_add(s, c))
                return;
        /* Over budget: the heaviest sender's oldest goes (maybe this one). */
        if (s->n_unauth > s->limits.max_unauthenticated)
                limits_evict_unauthenticated(s);
}

/* ---- the listening sockets ---- */

struct ListenWatch {
        busrpc_server *server;
        DBusWatch *watch;
        busrpc_source *io;
        ListenWatch *next;
};

static int accept_retry(busrpc_source *src, void *userdata) {
        server_accept_resume(userdata);
        return 0;
}

static int on_listen(busrpc_source *src, int fd, uint32_t revents, void *userdata) {
        ListenWatch *lw = userdata;
        busrpc_server *s = lw->server;
        struct pollfd p = { .fd = fd, .events = POLLIN };

        s->accepted = false;
        dbus_watch_handle(lw->watch, DBUS_WATCH_READABLE);
        if (s->accepted || poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN))
                return 0;
        /* accept() failed with a connection waiting: out of fds (EMFILE,
         * ENFILE) or memory. The socket stays readable, so the loop would
         * spin: free an fd by closing the cheapest connection (the
         * heaviest sender's oldest unauthenticated one), or else stop
         * accepting until a peer goes or ACCEPT_RETRY_MS passes. */
        if (limits_evict_unauthenticated(s))
                return 0;
        for (ListenWatch *w = s->watches; w; w = w->next)
                w->io = busrpc_source_release(w->io);
        if (!s->accept_retry &&
            busrpc_loop_add_timer(s->loop, ACCEPT_RETRY_MS * 1000u, false, accept_retry, s, &s->accept_retry) < 0)
                server_accept_resume(s);
        return 0;
}

static int listen_arm(ListenWatch *lw) {
        busrpc_server *s = lw->server;
        bool want = dbus_watch_get_enabled(lw->watch) && !s->accept_retry;

        if (want && !lw->io)
                return busrpc_loop_add_io(s->loop, dbus_watch_get_unix_fd(lw->watch), EPOLLIN, on_listen, lw,
                                          &lw->io);
        if (!want && lw->io)
                lw->io = busrpc_source_release(lw->io);
        return 0;
}

void server_accept_resume(busrpc_server *s) {
        if (s->accept_retry)
                s->accept_retry = busrpc_source_release(s->accept_retry);
        for (ListenWatch *w = s->watches; w; w = w->next)
                listen_arm(w);
}

static dbus_bool_t listen_add(DBusWatch *watch, void *data) {
        busrpc_server *s = data;
        ListenWatch *lw = calloc(1, sizeof(*lw));

        if (!lw)
                return FALSE;
        lw->server = s;
        lw->watch = watch;
        if (listen_arm(lw) < 0) {
                free(lw);
                return FALSE;
        }
        lw->next = s->watches;
        s->watches = lw;
        return TRUE;
}

static void listen_remove(DBusWatch *watch, void *data) {
        busrpc_server *s = data;

        for (ListenWatch **pp = &s->watches; *pp; pp = &(*pp)->next) {
                ListenWatch *lw = *pp;
                if (lw->watch != watch)
                        continue;
                *pp = lw->next;
                busrpc_source_release(lw->io);
                free(lw);
                return;
        }
}

static void listen_toggle(DBusWatch *watch, void *data) {
        busrpc_server *s = data;

        for (ListenWatch *lw = s->watches; lw; lw = lw->next)
                if (lw->watch == watch)
                        listen_arm(lw);
}

/* ---- addresses ---- */

static int mkdir_parents(const char *path) {
        char *dir = strdup(path), *slash;
        int r = 0;

        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (!slash || slash == dir) {
                free(dir);
                return 0;
        }
        *slash = '\0';
        for (char *p = dir + 1; r == 0; p++) {
                if (*p != '/' && *p != '\0')
                        continue;
                char saved = *p;
                *p = '\0';
                if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                        r = -errno;
                *p = saved;
                if (saved == '\0')
                        break;
        }
        free(dir);
        return r;
}

/* 1: something accepts connections at the address. */
static int socket_alive(const char *name, bool abstract) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t n = strlen(name);
        socklen_t len;
        int fd, r;

        if (n + (abstract ? 1 : 0) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path + (abstract ? 1 : 0), name, n);
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (abstract ? 1 : 0));
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        r = connect(fd, (struct sockaddr *)&sa, len) == 0 ? 1 : 0;
        close(fd);
        return r;
}

static int prepare_address(const char *address, bool *ret_tcp) {
        DBusAddressEntry **entries;
        const char *method, *path, *abstract;
        struct stat st;
        int n, r = 0;

        if (!dbus_parse_address(address, &entries, &n, NULL))
                return -EINVAL;
        if (n != 1) {
                dbus_address_entries_free(entries);
                return -EINVAL;
        }
        method = dbus_address_entry_get_method(entries[0]);
        path = dbus_address_entry_get_value(entries[0], "path");
        abstract = dbus_address_entry_get_value(entries[0], "abstract");
        *ret_tcp = strcmp(method, "tcp") == 0;
        if (*ret_tcp) {
                /* fine as is */
        } else if (strcmp(method, "unix") != 0 || (!path == !abstract)) {
                r = -EINVAL; /* tmpdir=, dir=, runtime=: no control over the directory */
        } else if (abstract) {
                r = socket_alive(abstract, true);
                if (r > 0)
                        r = -EADDRINUSE;
        } else if (path[0] != '/') {
                r = -EINVAL;
        } else {
                r = mkdir_parents(path);
                if (r >= 0 && lstat(path, &st) == 0) {
                        if (!S_ISSOCK(st.st_mode))
                                r = -EEXIST;
                        else if ((r = socket_alive(path, false)) > 0)
                                r = -EADDRINUSE;
                        else if (r == 0 && unlink(path) < 0) /* stale */
                                r = -errno;
                }
        }
        dbus_address_entries_free(entries);
        return r < 0 ? r : 0;
}

/* ---- the public API ---- */

/* When the loop's run ends: what the last handlers queued reaches the
 * peers (one deadline for all). */
static int server_exit(busrpc_source *src, void *userdata) {
        busrpc_server *s = userdata;

        (void)src;
        server_flush(s);
        return 0;
}

static int server_hook(busrpc_server *s) {
        if (!dbus_server_set_watch_functions(s->dbus, listen_add, listen_remove, listen_toggle, s, NULL) ||
            loop_add_exit(s->loop, server_exit, s, &s->exit_src) < 0)
                return -ENOMEM;
        return dbus_io_attach_server(s->dbus, s->loop, &s->io);
}

static void server_unhook(busrpc_server *s) {
        if (s->accept_retry)
                s->accept_retry = busrpc_source_release(s->accept_retry);
        dbus_server_set_watch_functions(s->dbus, NULL, NULL, NULL, NULL, NULL);
        s->exit_src = busrpc_source_release(s->exit_src);
        if (s->io)
                dbus_io_detach_server(s->dbus, s->io);
        s->io = NULL;
}

BUSRPC_EXPORT int busrpc_server_new(const char *address, busrpc_server **ret) {
        static const char *unix_mechs[] = { "EXTERNAL", NULL };
        /* TCP carries no credentials: EXTERNAL cannot work there, so the
         * cookie mechanism (same user, shared ~/.dbus-keyrings) is used. */
        static const char *tcp_mechs[] = { "DBUS_COOKIE_SHA1", NULL };
        busrpc_server *s;
        DBusError err;
        bool tcp = false;
        char *a;
        int r;

        return_if_fail(address && ret, -EINVAL);
        r = prepare_address(address, &tcp);
        if (r < 0)
                return r;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        limits_fill(&s->limits, NULL);
        s->self_uid = geteuid();
        r = busrpc_loop_default(&s->loop);
        if (r < 0) {
                free(s);
                return r;
        }
        dbus_error_init(&err);
        s->dbus = dbus_server_listen(address, &err);
        if (!s->dbus) {
                r = error_errno_from_dbus(&err);
                dbus_error_free(&err);
                goto fail;
        }
        r = -ENOMEM;
        if (!dbus_server_set_auth_mechanisms(s->dbus, tcp ? tcp_mechs : unix_mechs))
                goto fail;
        a = dbus_server_get_address(s->dbus);
        if (!a)
                goto fail;
        s->address = strdup(a);
        dbus_free(a);
        if (!s->address)
                goto fail;
        if (!tcp && conn_fast_path_wanted()) {
                char *id = dbus_server_get_id(s->dbus);
                if (!id)
                        goto fail;
                snprintf(s->guid, sizeof(s->guid), "%s", id);
                dbus_free(id);
                s->fast = true;
        }
        dbus_server_set_new_connection_function(s->dbus, on_new_connection, s, NULL);
        s->registry = reg_new(NULL, s);
        if (!s->registry)
                goto fail;
        r = server_hook(s);
        if (r < 0)
                goto fail;
        *ret = s;
        return 0;
fail:
        busrpc_server_free(s);
        return r;
}

BUSRPC_EXPORT busrpc_server *busrpc_server_free(busrpc_server *s) {
        if (!s)
                return NULL;
        /* Replies queued last (held calls answered at exit) reach the
         * peers that read, within the one shutdown deadline. */
        property_flush_reg(s->registry); /* queued PropertiesChanged too */
        server_flush(s);
        while (s->peers)
                server_peer_gone(s->peers);
        if (s->dbus) {
                server_unhook(s);
                dbus_server_disconnect(s->dbus);
                dbus_server_unref(s->dbus);
        }
        reg_disown(s->registry); /* a dispatch under way keeps the struct */
        name_server_detach_all(s);
        busrpc_loop_unref(s->loop);
        free(s->address);
        free(s->allowed);
        free(s);
        return NULL;
}

BUSRPC_EXPORT int busrpc_server_set_limits(busrpc_server *s, const busrpc_server_limits *limits) {
        return_if_fail(s, -EINVAL);
        return_if_fail(!limits || limits_check(limits) == 0, -EINVAL);
        limits_fill(&s->limits, limits);
        for (busrpc_conn *p = s->peers; p; p = p->peer_next)
                apply_limits(s, p);
        return 0;
}

BUSRPC_EXPORT int busrpc_server_allow_uid(busrpc_server *s, uid_t uid) {
        uid_t *v;

        return_if_fail(s, -EINVAL);
        for (unsigned i = 0; i < s->n_allowed; i++)
                if (s->allowed[i] == uid)
                        return 0;
        v = realloc(s->allowed, (s->n_allowed + 1) * sizeof(*v));
        if (!v)
                return -ENOMEM;
        v[s->n_allowed++] = uid;
        s->allowed = v;
        return 0;
}

BUSRPC_EXPORT int busrpc_server_attach(busrpc_server *s, busrpc_loop *l) {
        int r;

        return_if_fail(s && l, -EINVAL);
        if (s->loop == l)
                return 0;
        server_unhook(s);
        for (busrpc_conn *p = s->peers; p; p = p->peer_next) {
                r = conn_set_loop(p, l);
                if (r < 0)
                        return r;
        }
        busrpc_loop_unref(s->loop);
        s->loop = busrpc_loop_ref(l);
        for (PeerAuth *pa = s->auths; pa; pa = pa->next) {
                r = auth_watch(pa, l);
                if (r < 0)
                        return r;
        }
        /* Peers still authenticating keep a deadline, on the new loop. */
        for (busrpc_conn *p = s->peers; p; p = p->peer_next) {
                if (!p->auth_timer)
                        continue;
                p->auth_timer = busrpc_source_release(p->auth_timer);
                r = busrpc_loop_add_timer(l, s->limits.auth_timeout_usec, false, auth_timeout, p,
                                          &p->auth_timer);
                if (r < 0)
                        return r;
        }
        return server_hook(s);
}

BUSRPC_EXPORT int busrpc_server_get_limits(busrpc_server *s, busrpc_server_limits *ret) {
        return_if_fail(s && ret, -EINVAL);
        *ret = s->limits;
        return 0;
}

BUSRPC_EXPORT busrpc_loop *busrpc_server_get_loop(busrpc_server *s) {
        return s ? s->loop : NULL;
}

BUSRPC_EXPORT int busrpc_server_run(busrpc_server *s) {
        int r;

        return_if_fail(s && s->loop, -EINVAL);
        r = busrpc_loop_handle_signals(s->loop);
        if (r < 0)
                return r;
        return busrpc_loop_run(s->loop);
}

BUSRPC_EXPORT busrpc_objects *busrpc_server_get_objects(busrpc_server *s) {
        return s ? s->registry : NULL;
}

BUSRPC_EXPORT int busrpc_server_flush(busrpc_server *s) {
        return_if_fail(s, -EINVAL);
        server_flush(s);
        return 0;
}

BUSRPC_EXPORT const char *busrpc_server_get_address(busrpc_server *s) {
        return s ? s->address : NULL;
}

BUSRPC_EXPORT unsigned busrpc_server_count_peers(busrpc_server *s) {
        return s ? s->n_peers : 0;
}

/* ---- used by conn.c and driver.c ---- */

Registry *server_objects(busrpc_server *s) {
        return s->registry;
}

busrpc_name **server_names(busrpc_server *s) {
        return &s->names;
}

unsigned server_max_call_fds(busrpc_server *s) {
        return s->limits.max_call_fds;
}

bool server_has_monitors(busrpc_server *s) {
        return s && s->n_monitors > 0;
}

busrpc_conn *server_first_peer(busrpc_server *s) {
        return s->peers;
}

unsigned server_max_pending_calls(busrpc_server *s) {
        return s->limits.max_pending_calls;
}

uint64_t server_max_shm_size(busrpc_server *s) {
        return s->limits.max_shm_size;
}

char *server_get_id(busrpc_server *s) {
        return dbus_server_get_id(s->dbus);
}

/* ---- monitors (BecomeMonitor, driver.c) ---- */

/* A reference to every connected, authenticated peer, in *@ret (free()
 * it after unref'ing them; NULL when there is none). */
int server_peers_open(busrpc_server *s, busrpc_conn ***ret, unsigned *ret_n) {
        busrpc_conn **v;
        unsigned n = 0;

        *ret = NULL;
        *ret_n = 0;
        for (busrpc_conn *p = s->peers; p; p = p->peer_next)
                n += conn_is_open(p);
        if (!n)
                return 0;
        v = calloc(n, sizeof(*v));
        if (!v)
                return -ENOMEM;
        for (busrpc_conn *p = s->peers; p && *ret_n < n; p = p->peer_next)
                if (conn_is_open(p))
                        v[(*ret_n)++] = busrpc_conn_ref(p);
        *ret = v;
        return 0;
}

void server_peers_unref(busrpc_conn **v, unsigned n) {
        for (unsigned i = 0; i < n; i++)
                busrpc_conn_unref(v[i]);
        free(v);
}

/* A copy of m to every monitor whose rules (none: all) accept it. The copy
 * keeps m's serial; a message without a sender gets from_name, one without
 * a destination to_name (if any), as a bus would have routed them. */
/* A copy for a monitor keeps the original's serial (monitors pair calls
 * and replies by it, as dbus-daemon's do). libdbus sends a message whose
 * serial is set as it is; a Transport numbers what it sends, so a copy
 * without fds goes as bytes (a monitor sends nothing of its own). */
static int monitor_send(busrpc_conn *p, DBusMessage *copy) {
        char *bytes = NULL;
        int len, r;

        if (!p->tp || !dbus_message_get_serial(copy) || dbus_message_contains_unix_fds(copy))
                return conn_send(p, copy);
        if (!dbus_message_marshal(copy, &bytes, &len))
                return -ENOMEM;
        r = transport_send(p->tp, bytes, (size_t)len, NULL, 0);
        dbus_free(bytes);
        return r;
}

static void monitor_copy(busrpc_server *s, DBusMessage *m, const char *from_name, const char *to_name) {
        busrpc_conn **to;
        unsigned n_to;

        if (!s->n_monitors)
                return;
        if (server_peers_open(s, &to, &n_to) < 0)
                return;
        for (unsigned i = 0; i < n_to; i++) {
                busrpc_conn *p = to[i];
                DBusMessage *copy;

                if (!p->monitor || p->gone || !conn_is_open(p))
                        continue;
                if (p->n_matches && !driver_match_accepts(p, m))
                        continue;
                if (dbus_message_contains_unix_fds(m) && !conn_can_pass_fds(p))
                        continue;
                copy = dbus_message_copy(m);
                if (!copy)
                        continue;
                if (dbus_message_get_serial(m))
                        dbus_message_set_serial(copy, dbus_message_get_serial(m));
                if ((dbus_message_get_sender(copy) || dbus_message_set_sender(copy, from_name)) &&
                    (!to_name || dbus_message_get_destination(copy) || dbus_message_set_destination(copy, to_name)))
                        (void)monitor_send(p, copy);
                dbus_message_unref(copy);
        }
        server_peers_unref(to, n_to);
}

bool server_monitor_incoming(busrpc_conn *c, DBusMessage *m) {
        if (!c->server || dbus_message_has_path(m, DBUS_PATH_LOCAL) || !conn_is_open(c))
                return false;
        if (c->monitor) {
                /* The specification: a monitor that sends is disconnected. */
                conn_close_link(c);
                return true;
        }
        if (c->unique_name)
                monitor_copy(c->server, m, c->unique_name, NULL);
        return false;
}

void server_monitor_outgoing(busrpc_conn *c, DBusMessage *m) {
        if (c->server && !c->monitor && !c->server->broadcasting)
                monitor_copy(c->server, m, SERVER_UNIQUE_NAME, c->unique_name);
}

int server_broadcast(busrpc_server *s, DBusMessage *m) {
        const char *dest = dbus_message_get_destination(m);
        bool is_signal = dbus_message_get_type(m) == DBUS_MESSAGE_TYPE_SIGNAL;
        int r = dest ? -ENXIO : 0;
        busrpc_conn **to;
        unsigned n_to = 0;

        monitor_copy(s, m, SERVER_UNIQUE_NAME, NULL);
        /* A send on the fast path may close a peer (the outgoing bound)
         * and reap it at once: walk references, not the live list. */
        if (server_peers_open(s, &to, &n_to) < 0)
                return -ENOMEM;
        s->broadcasting = true;
        for (unsigned i = 0; i < n_to; i++) {
                busrpc_conn *p = to[i];
                DBusMessage *copy;
                if (p->gone || !conn_is_open(p))
                        continue;
                if (p->monitor)
                        continue;
                if (dest && strcmp(dest, p->unique_name) != 0)
                        continue;
                /* Peers that talk to us as to a bus (Hello) get what their
                 * match rules ask for; plain peers get every signal. */
                if (!dest && is_signal && p->said_hello && !driver_match_accepts(p, m))
                        continue;
                copy = dbus_message_copy(m);
                if (!copy) {
                        r = -ENOMEM;
                        break;
                }
                r = conn_send(p, copy);
                dbus_message_unref(copy);
        }
        s->broadcasting = false;
        server_peers_unref(to, n_to);
        return r;
}
