/* dbus-io.c: libdbus's watches and timeouts on a busrpc_loop (see
 * dbus-io.h). Everything here goes through loop.h; the loop never hears
 * of libdbus. */
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include "dbus-io.h"

#define MAX_WATCHES_PER_FD 4

typedef struct WatchFd WatchFd;

struct WatchFd {
        DBusIo *io;
        int fd;
        busrpc_source *src;
        uint32_t registered; /* epoll events asked for; 0: no source */
        DBusWatch *watches[MAX_WATCHES_PER_FD];
        unsigned n_watches;
        unsigned busy; /* inside on_watch_io(): freed when it returns */
        bool dead;
        WatchFd *next;
};

typedef struct TimeoutItem {
        LoopTimer timer;
        DBusTimeout *timeout;
        DBusIo *io;
} TimeoutItem;

struct DBusIo {
        busrpc_loop *loop;
        WatchFd *fds;
};

static DBusIo *io_new(busrpc_loop *l) {
        DBusIo *io = calloc(1, sizeof(*io));

        if (io)
                io->loop = busrpc_loop_ref(l);
        return io;
}

static void io_free(DBusIo *io) {
        if (!io)
                return;
        /* libdbus removed every watch when the functions were unset. */
        busrpc_loop_unref(io->loop);
        free(io);
}

/* ---- watches ---- */

static WatchFd *watchfd_find(DBusIo *io, int fd) {
        for (WatchFd *w = io->fds; w; w = w->next)
                if (w->fd == fd)
                        return w;
        return NULL;
}

static bool watch_still_there(WatchFd *w, DBusWatch *watch) {
        if (w->dead)
                return false;
        for (unsigned i = 0; i < w->n_watches; i++)
                if (w->watches[i] == watch)
                        return true;
        return false;
}

static int on_watch_io(busrpc_source *s, int fd, uint32_t revents, void *userdata) {
        WatchFd *w = userdata;
        DBusWatch *snap[MAX_WATCHES_PER_FD];
        unsigned n = w->n_watches;

        memcpy(snap, w->watches, n * sizeof(snap[0]));
        w->busy++;
        for (unsigned i = 0; i < n; i++) {
                unsigned f, flags = 0;
                if (!watch_still_there(w, snap[i]) || !dbus_watch_get_enabled(snap[i]))
                        continue;
                f = dbus_watch_get_flags(snap[i]);
                if ((f & DBUS_WATCH_READABLE) && (revents & EPOLLIN))
                        flags |= DBUS_WATCH_READABLE;
                if ((f & DBUS_WATCH_WRITABLE) && (revents & EPOLLOUT))
                        flags |= DBUS_WATCH_WRITABLE;
                if (revents & (EPOLLHUP | EPOLLRDHUP))
                        flags |= DBUS_WATCH_HANGUP;
                if (revents & EPOLLERR)
                        flags |= DBUS_WATCH_ERROR;
                if (flags)
                        dbus_watch_handle(snap[i], flags);
        }
        if (--w->busy == 0 && w->dead)
                free(w);
        return 0;
}

static void watchfd_update(WatchFd *w) {
        uint32_t want = 0;

        for (unsigned i = 0; i < w->n_watches; i++) {
                unsigned f;
                if (!dbus_watch_get_enabled(w->watches[i]))
                        continue;
                f = dbus_watch_get_flags(w->watches[i]);
                if (f & DBUS_WATCH_READABLE)
                        want |= EPOLLIN;
                if (f & DBUS_WATCH_WRITABLE)
                        want |= EPOLLOUT;
        }
        /* Registered with no events while any watch exists, so hangups are
         * still reported. */
        if (w->n_watches > 0)
                want |= EPOLLRDHUP;
        if (want == w->registered)
                return;
        if (!want) {
                w->src = busrpc_source_release(w->src);
        } else if (!w->src) {
                if (loop_add_io_events(w->io->loop, w->fd, want, on_watch_io, w, &w->src) < 0)
                        return; /* registered stays 0: the next toggle tries again */
        } else if (loop_io_set_events(w->src, want) < 0) {
                return;
        }
        w->registered = want;
}

static void watchfd_unlink(WatchFd *w) {
        for (WatchFd **pp = &w->io->fds; *pp; pp = &(*pp)->next) {
                if (*pp == w) {
                        *pp = w->next;
                        break;
                }
        }
        w->src = busrpc_source_release(w->src);
        w->dead = true;
        if (!w->busy)
                free(w);
}

static dbus_bool_t watch_add(DBusWatch *watch, void *data) {
        DBusIo *io = data;
        int fd = dbus_watch_get_unix_fd(watch);
        WatchFd *w = watchfd_find(io, fd);

        if (!w) {
                w = calloc(1, sizeof(*w));
                if (!w)
                        return FALSE;
                w->io = io;
                w->fd = fd;
                w->next = io->fds;
                io->fds = w;
        }
        if (w->n_watches >= MAX_WATCHES_PER_FD)
                return FALSE;
        w->watches[w->n_watches++] = watch;
        watchfd_update(w);
        if (!w->src) {
                w->n_watches--;
                if (w->n_watches == 0)
                        watchfd_unlink(w);
                return FALSE;
        }
        return TRUE;
}

static void watch_remove(DBusWatch *watch, void *data) {
        WatchFd *w = watchfd_find(data, dbus_watch_get_unix_fd(watch));

        if (!w)
                return;
        for (unsigned i = 0; i < w->n_watches; i++) {
                if (w->watches[i] != watch)
                        continue;
                memmove(&w->watches[i], &w->watches[i + 1], (w->n_watches - i - 1) * sizeof(w->watches[0]));
                w->n_watches--;
                break;
        }
        if (w->n_watches == 0)
                watchfd_unlink(w);
        else
                watchfd_update(w);
}

static void watch_toggle(DBusWatch *watch, void *data) {
        WatchFd *w = watchfd_find(data, dbus_watch_get_unix_fd(watch));

        if (w)
                watchfd_update(w);
}

/* ---- timeouts ---- */

static uint64_t timeout_interval(DBusTimeout *t) {
        int ms = dbus_timeout_get_interval(t);

        return ms > 0 ? (uint64_t)ms * 1000u : 1000u;
}

static void timeout_fire(LoopTimer *lt) {
        TimeoutItem *it = (TimeoutItem *)(void *)lt;
        DBusTimeout *t = it->timeout;

        /* libdbus removes or disables it when done. */
        (void)loop_timer_arm(it->io->loop, lt, loop_now_usec() + timeout_interval(t));
        dbus_timeout_handle(t);
}

static void timeout_arm(TimeoutItem *it) {
        if (dbus_timeout_get_enabled(it->timeout))
                (void)loop_timer_arm(it->io->loop, &it->timer, loop_now_usec() + timeout_interval(it->timeout));
        else
                loop_timer_disarm(&it->timer);
}

static dbus_bool_t timeout_add(DBusTimeout *t, void *data) {
        TimeoutItem *it = calloc(1, sizeof(*it));

        if (!it)
                return FALSE;
        loop_timer_init(&it->timer, timeout_fire);
        it->timeout = t;
        it->io = data;
        timeout_arm(it);
        dbus_timeout_set_data(t, it, NULL);
        return TRUE;
}

static void timeout_remove(DBusTimeout *t, void *data) {
        TimeoutItem *it = dbus_timeout_get_data(t);

        if (!it)
                return;
        dbus_timeout_set_data(t, NULL, NULL);
        loop_timer_disarm(&it->timer);
        free(it);
}

static void timeout_toggle(DBusTimeout *t, void *data) {
        TimeoutItem *it = dbus_timeout_get_data(t);

        if (it)
                timeout_arm(it);
}

/* ---- attaching ---- */

int dbus_io_attach_conn(DBusConnection *dc, busrpc_loop *l, DBusIo **ret) {
        DBusIo *io = io_new(l);

        if (!io)
                return -ENOMEM;
        if (!dbus_connection_set_watch_functions(dc, watch_add, watch_remove, watch_toggle, io, NULL) ||
            !dbus_connection_set_timeout_functions(dc, timeout_add, timeout_remove, timeout_toggle, io, NULL)) {
                dbus_io_detach_conn(dc, io);
                return -ENOMEM;
        }
        *ret = io;
        return 0;
}

void dbus_io_detach_conn(DBusConnection *dc, DBusIo *io) {
        dbus_connection_set_watch_functions(dc, NULL, NULL, NULL, NULL, NULL);
        dbus_connection_set_timeout_functions(dc, NULL, NULL, NULL, NULL, NULL);
        io_free(io);
}

int dbus_io_attach_server(DBusServer *ds, busrpc_loop *l, DBusIo **ret) {
        DBusIo *io = io_new(l);

        if (!io)
                return -ENOMEM;
        if (!dbus_server_set_timeout_functions(ds, timeout_add, timeout_remove, timeout_toggle, io, NULL)) {
                dbus_io_detach_server(ds, io);
                return -ENOMEM;
        }
        *ret = io;
        return 0;
}

void dbus_io_detach_server(DBusServer *ds, DBusIo *io) {
        dbus_server_set_timeout_functions(ds, NULL, NULL, NULL, NULL, NULL);
        io_free(io);
}
