/* loop.c: the built-in event loop. One epoll fd carries user io sources,
 * libdbus watches (grouped per fd: libdbus makes two watches per socket and
 * epoll accepts one registration per fd) and the signalfd. Timers (user
 * timers and libdbus timeouts) are a list with computed deadlines, so the
 * integration API (get_fd/get_timeout/process) needs nothing else. Freed
 * sources are parked until the end of the iteration, so an event already
 * returned by epoll_wait() never points at freed memory. */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include "core.h"

enum { ITEM_IO, ITEM_WATCHFD, ITEM_SIGNAL, ITEM_TIMER, ITEM_SIGHOOK };

#define MAX_WATCHES_PER_FD 4

typedef struct WatchFd {
        int type; /* ITEM_WATCHFD */
        int fd;
        bool dead;
        uint32_t registered; /* epoll events currently registered; 0: not in epoll */
        LoopHook *owner;
        DBusWatch *watches[MAX_WATCHES_PER_FD];
        unsigned n_watches;
        struct WatchFd *next;
} WatchFd;

struct busrpc_source {
        int type; /* ITEM_IO, ITEM_TIMER or ITEM_SIGHOOK */
        busrpc_loop *loop;
        bool dead;
        bool enabled;
        /* io */
        int fd;
        busrpc_io_fn io_cb;
        /* timer */
        uint64_t deadline, interval;
        bool repeat;
        busrpc_timer_fn timer_cb;
        DBusTimeout *dbus_timeout; /* a libdbus timeout, when set */
        /* signal hook */
        int signo;
        busrpc_loop_signal_fn signal_cb;
        LoopHook *owner;           /* of a libdbus timeout */
        void *userdata;
        busrpc_source *next;
};

struct busrpc_loop {
        unsigned n_ref;
        int epfd;
        int sigfd;
        int sigitem; /* ITEM_SIGNAL: &sigitem is the epoll cookie */
        sigset_t old_mask; /* the thread's mask before the loop blocked any */
        sigset_t sigmask;  /* what the signalfd reads (and the loop blocked) */
        bool default_signals; /* busrpc_loop_handle_signals() was called */
        bool quit;
        bool by_signal;
        int exit_code;
        busrpc_source *sources; /* io + timers */
        WatchFd *watchfds;
        busrpc_conn *conns;        /* attached connections */
        busrpc_conn *dispatch_head; /* pending dispatch */
        busrpc_conn *dispatch_tail;
        bool in_iteration;
};

static __thread busrpc_loop *default_loop;

static int loop_update_signals(busrpc_loop *l);

uint64_t loop_now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

BUSRPC_EXPORT int busrpc_loop_new(busrpc_loop **ret) {
        busrpc_loop *l;
        struct sigaction sa;

        return_if_fail(ret, -EINVAL);
        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->n_ref = 1;
        l->sigfd = -1;
        l->sigitem = ITEM_SIGNAL;
        l->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (l->epfd < 0) {
                int r = -errno;
                free(l);
                return r;
        }
        /* A peer that goes away must never kill the process: ignore SIGPIPE
         * unless the application installed its own handler. */
        if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
                memset(&sa, 0, sizeof(sa));
                sa.sa_handler = SIG_IGN;
                sigemptyset(&sa.sa_mask);
                sigaction(SIGPIPE, &sa, NULL);
        }
        *ret = l;
        return 0;
}

BUSRPC_EXPORT int busrpc_loop_default(busrpc_loop **ret) {
        int r;

        return_if_fail(ret, -EINVAL);
        if (!default_loop) {
                r = busrpc_loop_new(&default_loop);
                if (r < 0)
                        return r;
                *ret = default_loop;
                return 0;
        }
        *ret = busrpc_loop_ref(default_loop);
        return 0;
}

BUSRPC_EXPORT busrpc_loop *busrpc_loop_ref(busrpc_loop *l) {
        if (l)
                l->n_ref++;
        return l;
}

static void free_dead(busrpc_loop *l) {
        busrpc_source **sp = &l->sources;
        WatchFd **wp = &l->watchfds;

        while (*sp) {
                busrpc_source *s = *sp;
                if (s->dead) {
                        *sp = s->next;
                        free(s);
                } else
                        sp = &s->next;
        }
        while (*wp) {
                WatchFd *w = *wp;
                if (w->dead) {
                        *wp = w->next;
                        free(w);
                } else
                        wp = &w->next;
        }
}

BUSRPC_EXPORT busrpc_loop *busrpc_loop_unref(busrpc_loop *l) {
        busrpc_source *s;

        if (!l || --l->n_ref > 0)
                return NULL;
        if (default_loop == l)
                default_loop = NULL;
        /* Sources the user still holds become inert; busrpc_source_free()
         * frees them later (their loop pointer is NULL). */
        while (l->sources) {
                s = l->sources;
                l->sources = s->next;
                s->next = NULL;
                if (s->dead || s->dbus_timeout) {
                        free(s);
                } else {
                        s->dead = true;
                        s->loop = NULL;
                }
        }
        for (WatchFd *w = l->watchfds; w; w = w->next)
                w->dead = true;
        free_dead(l);
        if (l->sigfd >= 0) {
                close(l->sigfd);
                pthread_sigmask(SIG_SETMASK, &l->old_mask, NULL);
        }
        close(l->epfd);
        free(l);
        return NULL;
}

/* ---- sources ---- */

static busrpc_source *source_new(busrpc_loop *l, int type) {
        busrpc_source *s = calloc(1, sizeof(*s));
        if (!s)
                return NULL;
        s->type = type;
        s->loop = l;
        s->fd = -1;
        s->enabled = true;
        s->next = l->sources;
        l->sources = s;
        return s;
}

BUSRPC_EXPORT int busrpc_loop_add_timer(busrpc_loop *l, uint64_t usec, bool repeat, busrpc_timer_fn cb,
                                        void *userdata, busrpc_source **ret) {
        busrpc_source *s;

        return_if_fail(l && cb && ret, -EINVAL);
        return_if_fail(!repeat || usec > 0, -EINVAL);
        s = source_new(l, ITEM_TIMER);
        if (!s)
                return -ENOMEM;
        s->interval = usec;
        s->deadline = loop_now_usec() + usec;
        s->repeat = repeat;
        s->timer_cb = cb;
        s->userdata = userdata;
        *ret = s;
        return 0;
}

void loop_timer_set_deadline(busrpc_source *s, uint64_t deadline) {
        s->deadline = deadline;
        s->enabled = true;
}

BUSRPC_EXPORT int busrpc_loop_add_io(busrpc_loop *l, int fd, uint32_t events, busrpc_io_fn cb, void *userdata,
                                     busrpc_source **ret) {
        busrpc_source *s;
        struct epoll_event ev = { 0 };

        return_if_fail(l && fd >= 0 && cb && ret, -EINVAL);
        return_if_fail((events & ~(uint32_t)(EPOLLIN | EPOLLOUT | EPOLLPRI)) == 0, -EINVAL);
        s = source_new(l, ITEM_IO);
        if (!s)
                return -ENOMEM;
        s->fd = fd;
        s->io_cb = cb;
        s->userdata = userdata;
        ev.events = events;
        ev.data.ptr = s;
        if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
                int r = -errno;
                s->dead = true;
                if (!l->in_iteration)
                        free_dead(l);
                return r;
        }
        *ret = s;
        return 0;
}

BUSRPC_EXPORT busrpc_source *busrpc_source_free(busrpc_source *s) {
        if (!s)
                return NULL;
        if (!s->loop) { /* the loop is already gone */
                free(s);
                return NULL;
        }
        if (s->type == ITEM_IO && !s->dead)
                epoll_ctl(s->loop->epfd, EPOLL_CTL_DEL, s->fd, NULL);
        s->dead = true;
        if (s->type == ITEM_SIGHOOK)
                (void)loop_update_signals(s->loop);
        if (!s->loop->in_iteration)
                free_dead(s->loop);
        return NULL;
}

/* ---- libdbus watches ---- */

static WatchFd *watchfd_find(busrpc_loop *l, int fd) {
        for (WatchFd *w = l->watchfds; w; w = w->next)
                if (!w->dead && w->fd == fd)
                        return w;
        return NULL;
}

static void watchfd_update(busrpc_loop *l, WatchFd *w) {
        uint32_t want = 0;
        struct epoll_event ev = { 0 };

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
        ev.events = want;
        ev.data.ptr = w;
        if (!want) {
                epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
        } else if (!w->registered) {
                if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0 && errno == EEXIST)
                        epoll_ctl(l->epfd, EPOLL_CTL_MOD, w->fd, &ev);
        } else {
                epoll_ctl(l->epfd, EPOLL_CTL_MOD, w->fd, &ev);
        }
        w->registered = want;
}

dbus_bool_t loop_watch_add(DBusWatch *watch, void *data) {
        busrpc_loop *l = ((LoopHook *)data)->loop;
        int fd = dbus_watch_get_unix_fd(watch);
        WatchFd *w = watchfd_find(l, fd);

        if (!w) {
                w = calloc(1, sizeof(*w));
                if (!w)
                        return FALSE;
                w->type = ITEM_WATCHFD;
                w->fd = fd;
                w->owner = data;
                w->next = l->watchfds;
                l->watchfds = w;
        }
        if (w->n_watches >= MAX_WATCHES_PER_FD)
                return FALSE;
        w->watches[w->n_watches++] = watch;
        watchfd_update(l, w);
        return TRUE;
}

void loop_watch_remove(DBusWatch *watch, void *data) {
        busrpc_loop *l = ((LoopHook *)data)->loop;
        WatchFd *w = watchfd_find(l, dbus_watch_get_unix_fd(watch));

        if (!w)
                return;
        for (unsigned i = 0; i < w->n_watches; i++) {
                if (w->watches[i] != watch)
                        continue;
                memmove(&w->watches[i], &w->watches[i + 1], (w->n_watches - i - 1) * sizeof(w->watches[0]));
                w->n_watches--;
                break;
        }
        if (w->n_watches == 0) {
                if (w->registered)
                        epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
                w->registered = 0;
                w->dead = true;
                if (!l->in_iteration)
                        free_dead(l);
        } else
                watchfd_update(l, w);
}

void loop_watch_toggle(DBusWatch *watch, void *data) {
        busrpc_loop *l = ((LoopHook *)data)->loop;
        WatchFd *w = watchfd_find(l, dbus_watch_get_unix_fd(watch));

        if (w)
                watchfd_update(l, w);
}

static bool watch_still_there(WatchFd *w, DBusWatch *watch) {
        if (w->dead)
                return false;
        for (unsigned i = 0; i < w->n_watches; i++)
                if (w->watches[i] == watch)
                        return true;
        return false;
}

static void watchfd_handle(busrpc_loop *l, WatchFd *w, uint32_t revents) {
        DBusWatch *snap[MAX_WATCHES_PER_FD];
        unsigned n = w->n_watches;

        memcpy(snap, w->watches, n * sizeof(snap[0]));
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
}

/* ---- libdbus timeouts ---- */

static int dbus_timeout_fire(busrpc_source *s, void *userdata) {
        dbus_timeout_handle(userdata);
        return 0;
}

static void timeout_arm(busrpc_source *s) {
        int ms = dbus_timeout_get_interval(s->dbus_timeout);
        s->interval = (uint64_t)(ms > 0 ? ms : 0) * 1000u;
        s->deadline = loop_now_usec() + s->interval;
        s->enabled = dbus_timeout_get_enabled(s->dbus_timeout);
}

dbus_bool_t loop_timeout_add(DBusTimeout *t, void *data) {
        busrpc_loop *l = ((LoopHook *)data)->loop;
        busrpc_source *s = source_new(l, ITEM_TIMER);

        if (!s)
                return FALSE;
        s->dbus_timeout = t;
        s->owner = data;
        s->timer_cb = dbus_timeout_fire;
        s->userdata = t;
        s->repeat = true; /* libdbus removes or disables it when done */
        timeout_arm(s);
        dbus_timeout_set_data(t, s, NULL);
        return TRUE;
}

void loop_timeout_remove(DBusTimeout *t, void *data) {
        busrpc_loop *l = ((LoopHook *)data)->loop;
        busrpc_source *s = dbus_timeout_get_data(t);

        if (!s)
                return;
        dbus_timeout_set_data(t, NULL, NULL);
        s->dead = true;
        s->dbus_timeout = NULL;
        if (!l->in_iteration)
                free_dead(l);
}

void loop_timeout_toggle(DBusTimeout *t, void *data) {
        busrpc_source *s = dbus_timeout_get_data(t);

        if (s)
                timeout_arm(s);
}

/* ---- connections ---- */

void loop_attach_conn(busrpc_loop *l, busrpc_conn *c) {
        c->loop_prev = NULL;
        c->loop_next = l->conns;
        if (l->conns)
                l->conns->loop_prev = c;
        l->conns = c;
}

void loop_detach_conn(busrpc_loop *l, busrpc_conn *c) {
        busrpc_conn **pp;

        if (c->loop_prev)
                c->loop_prev->loop_next = c->loop_next;
        else if (l->conns == c)
                l->conns = c->loop_next;
        if (c->loop_next)
                c->loop_next->loop_prev = c->loop_prev;
        c->loop_prev = c->loop_next = NULL;
        if (c->dispatch_pending) {
                busrpc_conn *prev = NULL;
                for (pp = &l->dispatch_head; *pp; pp = &(*pp)->dispatch_next) {
                        if (*pp == c) {
                                *pp = c->dispatch_next;
                                if (l->dispatch_tail == c)
                                        l->dispatch_tail = prev;
                                break;
                        }
                        prev = *pp;
                }
                c->dispatch_pending = false;
                c->dispatch_next = NULL;
        }
}

void loop_schedule_dispatch(busrpc_loop *l, busrpc_conn *c) {
        if (c->dispatch_pending)
                return;
        c->dispatch_pending = true;
        c->dispatch_next = NULL;
        if (l->dispatch_tail)
                l->dispatch_tail->dispatch_next = c;
        else
                l->dispatch_head = c;
        l->dispatch_tail = c;
}

static void dispatch_pending(busrpc_loop *l) {
        /* Bounded, so one busy connection cannot starve io and timers. */
        for (unsigned budget = 64; l->dispatch_head && budget > 0; budget--) {
                busrpc_conn *c = l->dispatch_head;
                l->dispatch_head = c->dispatch_next;
                if (!l->dispatch_head)
                        l->dispatch_tail = NULL;
                c->dispatch_pending = false;
                c->dispatch_next = NULL;
                if (!c->dbus)
                        continue;
                busrpc_conn_ref(c);
                if (conn_dispatch(c) == DBUS_DISPATCH_DATA_REMAINS && c->loop == l)
                        loop_schedule_dispatch(l, c);
                busrpc_conn_unref(c);
        }
}

/* ---- iterating ---- */

static int64_t next_timer_ms(busrpc_loop *l) {
        uint64_t now = loop_now_usec(), best = UINT64_MAX;

        for (busrpc_source *s = l->sources; s; s = s->next)
                if (s->type == ITEM_TIMER && !s->dead && s->enabled && s->deadline < best)
                        best = s->deadline;
        if (best == UINT64_MAX)
                return -1;
        if (best <= now)
                return 0;
        return (int64_t)((best - now + 999) / 1000);
}

static void run_timers(busrpc_loop *l) {
        uint64_t now = loop_now_usec();

        for (busrpc_source *s = l->sources; s; s = s->next) {
                if (s->type != ITEM_TIMER || s->dead || !s->enabled || s->deadline > now)
                        continue;
                if (s->repeat)
                        s->deadline = now + (s->interval ? s->interval : 1000);
                else
                        s->enabled = false;
                s->timer_cb(s, s->userdata);
        }
}

static void read_signals(busrpc_loop *l) {
        struct signalfd_siginfo si;

        while (read(l->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                int signo = (int)si.ssi_signo;
                bool hooked = false;

                /* A hook added by a hook is not in this walk's past: fine. */
                for (busrpc_source *s = l->sources; s; s = s->next) {
                        if (s->type != ITEM_SIGHOOK || s->dead || s->signo != signo)
                                continue;
                        hooked = true;
                        s->signal_cb(s, signo, s->userdata);
                }
                /* SIGHUP without a hook: nothing (a daemon's "reload"). */
                if (!hooked && l->default_signals && (signo == SIGTERM || signo == SIGINT)) {
                        l->by_signal = true;
                        busrpc_loop_quit(l, 0);
                }
        }
}

BUSRPC_EXPORT int busrpc_loop_iterate(busrpc_loop *l, int timeout_ms) {
        struct epoll_event ev[32];
        int64_t t;
        int n;

        return_if_fail(l, -EINVAL);
        if (l->in_iteration)
                return -EBUSY;
        if (l->dispatch_head)
                timeout_ms = 0;
        t = next_timer_ms(l);
        if (t >= 0 && (timeout_ms < 0 || t < timeout_ms))
                timeout_ms = t > 0x7fffffff ? 0x7fffffff : (int)t;
        n = epoll_wait(l->epfd, ev, 32, timeout_ms);
        if (n < 0) {
                if (errno != EINTR)
                        return -errno;
                n = 0;
        }
        busrpc_loop_ref(l);
        l->in_iteration = true;
        for (int i = 0; i < n; i++) {
                int type = *(int *)ev[i].data.ptr;
                if (type == ITEM_SIGNAL) {
                        read_signals(l);
                } else if (type == ITEM_WATCHFD) {
                        WatchFd *w = ev[i].data.ptr;
                        if (!w->dead)
                                watchfd_handle(l, w, ev[i].events);
                } else {
                        busrpc_source *s = ev[i].data.ptr;
                        if (!s->dead && s->enabled)
                                s->io_cb(s, s->fd, ev[i].events, s->userdata);
                }
        }
        run_timers(l);
        dispatch_pending(l);
        l->in_iteration = false;
        free_dead(l);
        busrpc_loop_unref(l);
        return n;
}

static void flush_all(busrpc_loop *l, bool release_names) {
        for (busrpc_conn *c = l->conns; c; c = c->loop_next) {
                if (release_names)
                        name_release_all(c);
                conn_flush_bounded(c);
        }
}

BUSRPC_EXPORT int busrpc_loop_run(busrpc_loop *l) {
        int r = 0;

        return_if_fail(l, -EINVAL);
        busrpc_loop_ref(l);
        l->quit = false;
        l->by_signal = false;
        while (!l->quit) {
                r = busrpc_loop_iterate(l, -1);
                if (r < 0)
                        break;
        }
        /* Replies queued by the last handlers reach their callers. */
        flush_all(l, l->by_signal);
        if (l->quit)
                r = l->exit_code;
        l->quit = false;
        busrpc_loop_unref(l);
        return r;
}

BUSRPC_EXPORT void busrpc_loop_quit(busrpc_loop *l, int code) {
        if (!l)
                return;
        l->quit = true;
        l->exit_code = code;
}

/* The signals the loop reads: SIGTERM, SIGINT and SIGHUP once
 * busrpc_loop_handle_signals() was called, and every hooked one. */
static void wanted_signals(busrpc_loop *l, sigset_t *mask) {
        sigemptyset(mask);
        if (l->default_signals) {
                sigaddset(mask, SIGTERM);
                sigaddset(mask, SIGINT);
                sigaddset(mask, SIGHUP);
        }
        for (busrpc_source *s = l->sources; s; s = s->next)
                if (s->type == ITEM_SIGHOOK && !s->dead)
                        sigaddset(mask, s->signo);
}

static int loop_update_signals(busrpc_loop *l) {
        struct epoll_event ev = { 0 };
        sigset_t want, unblock;
        int r;

        wanted_signals(l, &want);
        if (l->sigfd < 0) {
                if (sigisemptyset(&want))
                        return 0;
                r = pthread_sigmask(SIG_BLOCK, &want, &l->old_mask);
                if (r != 0)
                        return -r;
                l->sigfd = signalfd(-1, &want, SFD_NONBLOCK | SFD_CLOEXEC);
                if (l->sigfd < 0) {
                        r = -errno;
                        pthread_sigmask(SIG_SETMASK, &l->old_mask, NULL);
                        return r;
                }
                ev.events = EPOLLIN;
                ev.data.ptr = &l->sigitem;
                if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->sigfd, &ev) < 0) {
                        r = -errno;
                        close(l->sigfd);
                        l->sigfd = -1;
                        pthread_sigmask(SIG_SETMASK, &l->old_mask, NULL);
                        return r;
                }
                l->sigmask = want;
                return 0;
        }
        r = pthread_sigmask(SIG_BLOCK, &want, NULL);
        if (r != 0)
                return -r;
        if (signalfd(l->sigfd, &want, SFD_NONBLOCK | SFD_CLOEXEC) < 0)
                return -errno;
        /* Give back what the loop blocked and no longer reads. */
        sigemptyset(&unblock);
        for (int signo = 1; signo < SIGRTMAX; signo++)
                if (sigismember(&l->sigmask, signo) == 1 && sigismember(&want, signo) != 1 &&
                    sigismember(&l->old_mask, signo) != 1)
                        sigaddset(&unblock, signo);
        if (!sigisemptyset(&unblock))
                pthread_sigmask(SIG_UNBLOCK, &unblock, NULL);
        l->sigmask = want;
        return 0;
}

BUSRPC_EXPORT int busrpc_loop_handle_signals(busrpc_loop *l) {
        int r;

        return_if_fail(l, -EINVAL);
        if (l->default_signals)
                return 0;
        l->default_signals = true;
        r = loop_update_signals(l);
        if (r < 0)
                l->default_signals = false;
        return r;
}

BUSRPC_EXPORT int busrpc_loop_add_signal(busrpc_loop *l, int signo, busrpc_loop_signal_fn cb, void *userdata,
                                         busrpc_source **ret) {
        busrpc_source *s;
        int r;

        return_if_fail(l && cb && ret, -EINVAL);
        return_if_fail(signo > 0 && signo < SIGRTMAX, -EINVAL);
        return_if_fail(signo != SIGKILL && signo != SIGSTOP && signo != SIGSEGV && signo != SIGBUS &&
                               signo != SIGILL && signo != SIGFPE,
                       -EINVAL);
        s = source_new(l, ITEM_SIGHOOK);
        if (!s)
                return -ENOMEM;
        s->signo = signo;
        s->signal_cb = cb;
        s->userdata = userdata;
        r = loop_update_signals(l);
        if (r < 0) {
                s->dead = true;
                if (!l->in_iteration)
                        free_dead(l);
                return r;
        }
        *ret = s;
        return 0;
}

/* ---- integration ---- */

BUSRPC_EXPORT int busrpc_loop_get_fd(busrpc_loop *l) {
        return_if_fail(l, -EINVAL);
        return l->epfd;
}

BUSRPC_EXPORT int busrpc_loop_get_events(busrpc_loop *l) {
        return_if_fail(l, -EINVAL);
        return POLLIN;
}

BUSRPC_EXPORT int busrpc_loop_get_timeout(busrpc_loop *l) {
        int64_t t;

        return_if_fail(l, -EINVAL);
        if (l->dispatch_head || l->quit)
                return 0;
        t = next_timer_ms(l);
        return t > 0x7fffffff ? 0x7fffffff : (int)t;
}

BUSRPC_EXPORT int busrpc_loop_process(busrpc_loop *l) {
        int r;

        return_if_fail(l, -EINVAL);
        r = busrpc_loop_iterate(l, 0);
        return r < 0 ? r : 0;
}

BUSRPC_EXPORT int busrpc_loop_take_quit(busrpc_loop *l, int *ret_code) {
        return_if_fail(l, -EINVAL);
        if (!l->quit)
                return 0;
        /* Taken: get_timeout() no longer says 0 for it, so a foreign loop
         * that forwards the quit does not spin. */
        l->quit = false;
        if (ret_code)
                *ret_code = l->exit_code;
        return 1;
}
