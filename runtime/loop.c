/* loop.c: the built-in event loop. One epoll fd carries io sources and
 * the signalfd; timers sit in one min-heap of deadlines (LoopTimer, see
 * loop.h), so the integration API (get_fd/get_timeout/process) needs
 * nothing else; deferred sources run after io and timers, exit sources
 * when busrpc_loop_run() returns. The loop knows no connection: libdbus's
 * watches and timeouts, and a connection's dispatching, are sources like
 * any user's (dbus-io.c, conn.c). Freed sources are parked until the end
 * of the iteration, so an event already returned by epoll_wait() never
 * points at freed memory. */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include "loop.h"

enum { ITEM_IO, ITEM_SIGNAL, ITEM_TIMER, ITEM_SIGHOOK, ITEM_DEFER, ITEM_EXIT };

/* Deferred sources run per iteration at most (one busy connection cannot
 * starve io and timers). */
#define DEFER_BUDGET 64u

struct busrpc_source {
        int type; /* ITEM_*; first, as the epoll cookie of io sources */
        busrpc_loop *loop; /* NULL once the loop is gone */
        bool dead;
        bool enabled;
        bool floating; /* no handle was returned: the loop frees it */
        /* io */
        int fd;
        busrpc_io_fn io_cb;
        /* timer */
        LoopTimer timer;
        uint64_t interval;
        bool repeat;
        /* timer, defer and exit callback */
        busrpc_timer_fn timer_cb;
        /* signal hook */
        int signo;
        busrpc_loop_signal_fn signal_cb;
        void *userdata;
        busrpc_source *next; /* every source of the loop */
        /* defer: the queue of enabled ones */
        bool queued;
        busrpc_source *defer_next;
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
        busrpc_source *sources;
        bool in_iteration;
        /* the deadline heap */
        LoopTimer **heap;
        uint32_t heap_n, heap_cap;
        uint64_t timer_seq; /* arming order */
        /* enabled deferred sources, in the order enabled */
        busrpc_source *defer_head, *defer_tail;
        unsigned fork_gen; /* fork_gen when made */
};

static __thread busrpc_loop *default_loop;

/* Forks seen in this process's ancestry (counted in each child). A loop
 * made before a fork shares its epoll instance and signalfd with the
 * parent: used in the child, it would take the parent's events and hand
 * the parent's pointers to the child's callbacks. So a child gets a
 * default loop of its own (the parent's copy is forgotten, not freed:
 * releasing its sources would remove the parent's registrations). */
static unsigned fork_gen;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void on_fork_child(void) {
        fork_gen++;
}

static void fork_watch(void) {
        (void)pthread_atfork(NULL, NULL, on_fork_child);
}

/* @l was made before a fork of this process's ancestry: its epoll
 * instance and signalfd are the parent's too. Nothing may wait on them or
 * change them here (-ECHILD, as sd-event); a source released here leaves
 * the parent's registration alone. */
static inline bool loop_forked(const busrpc_loop *l) {
        return l->fork_gen != fork_gen;
}

static int loop_update_signals(busrpc_loop *l);

uint64_t loop_now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- the deadline heap ---- */

static void heap_set(busrpc_loop *l, uint32_t i, LoopTimer *t) {
        l->heap[i] = t;
        t->heap_idx = i;
}

static bool timer_before(const LoopTimer *a, const LoopTimer *b) {
        return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static void heap_up(busrpc_loop *l, uint32_t i) {
        LoopTimer *t = l->heap[i];

        while (i > 0) {
                uint32_t parent = (i - 1) / 2;
                if (!timer_before(t, l->heap[parent]))
                        break;
                heap_set(l, i, l->heap[parent]);
                i = parent;
        }
        heap_set(l, i, t);
}

static void heap_down(busrpc_loop *l, uint32_t i) {
        LoopTimer *t = l->heap[i];

        for (;;) {
                uint32_t c = 2 * i + 1, m = i;
                LoopTimer *best = t;

                if (c < l->heap_n && timer_before(l->heap[c], best)) {
                        m = c;
                        best = l->heap[c];
                }
                if (c + 1 < l->heap_n && timer_before(l->heap[c + 1], best))
                        m = c + 1;
                if (m == i)
                        break;
                heap_set(l, i, l->heap[m]);
                i = m;
        }
        heap_set(l, i, t);
}

void loop_timer_disarm(LoopTimer *t) {
        busrpc_loop *l = t->loop;
        uint32_t i = t->heap_idx;
        LoopTimer *last;

        if (i == LOOP_TIMER_IDLE || !l)
                return;
        t->heap_idx = LOOP_TIMER_IDLE;
        t->loop = NULL;
        last = l->heap[--l->heap_n];
        if (i == l->heap_n)
                return;
        heap_set(l, i, last);
        heap_up(l, i);
        heap_down(l, last->heap_idx);
}

int loop_timer_arm(busrpc_loop *l, LoopTimer *t, uint64_t deadline) {
        if (t->loop != l) {
                loop_timer_disarm(t);
                if (l->heap_n == l->heap_cap) {
                        uint32_t cap = l->heap_cap ? l->heap_cap * 2 : 16;
                        LoopTimer **h = realloc(l->heap, cap * sizeof(*h));

                        if (!h)
                                return -ENOMEM;
                        l->heap = h;
                        l->heap_cap = cap;
                }
                t->loop = l;
                t->deadline = deadline;
                t->seq = ++l->timer_seq;
                l->heap[l->heap_n] = t;
                heap_up(l, l->heap_n++);
                return 0;
        }
        /* Re-armed where it is: one sift, up or down. */
        t->deadline = deadline;
        t->seq = ++l->timer_seq;
        heap_up(l, t->heap_idx);
        heap_down(l, t->heap_idx);
        return 0;
}

/* ---- the loop ---- */

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
        (void)pthread_once(&fork_once, fork_watch);
        l->fork_gen = fork_gen;
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
        if (default_loop && default_loop->fork_gen != fork_gen)
                default_loop = NULL; /* the parent's: see fork_gen */
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

        while (*sp) {
                busrpc_source *s = *sp;
                if (s->dead) {
                        *sp = s->next;
                        free(s);
                } else
                        sp = &s->next;
        }
}

BUSRPC_EXPORT busrpc_loop *busrpc_loop_unref(busrpc_loop *l) {
        busrpc_source *s;

        if (!l || --l->n_ref > 0)
                return NULL;
        if (default_loop == l)
                default_loop = NULL;
        /* Timers embedded elsewhere become idle. */
        for (uint32_t i = 0; i < l->heap_n; i++) {
                l->heap[i]->heap_idx = LOOP_TIMER_IDLE;
                l->heap[i]->loop = NULL;
        }
        l->heap_n = 0;
        /* Sources the user still holds become inert; releasing them frees
         * them later (their loop pointer is NULL). */
        while (l->sources) {
                s = l->sources;
                l->sources = s->next;
                s->next = NULL;
                if (s->dead || s->floating) {
                        free(s);
                } else {
                        s->dead = true;
                        s->loop = NULL;
                }
        }
        if (l->sigfd >= 0) {
                close(l->sigfd);
                pthread_sigmask(SIG_SETMASK, &l->old_mask, NULL);
        }
        close(l->epfd);
        free(l->heap);
        free(l);
        return NULL;
}

/* ---- sources ---- */

static void source_timer_fire(LoopTimer *t);

static busrpc_source *source_new(busrpc_loop *l, int type) {
        busrpc_source *s = calloc(1, sizeof(*s));
        if (!s)
                return NULL;
        s->type = type;
        s->loop = l;
        s->fd = -1;
        s->enabled = true;
        loop_timer_init(&s->timer, source_timer_fire);
        s->next = l->sources;
        l->sources = s;
        return s;
}

static void defer_unqueue(busrpc_source *s) {
        busrpc_loop *l = s->loop;
        busrpc_source *prev = NULL;

        if (!s->queued)
                return;
        for (busrpc_source **pp = &l->defer_head; *pp; pp = &(*pp)->defer_next) {
                if (*pp == s) {
                        *pp = s->defer_next;
                        if (l->defer_tail == s)
                                l->defer_tail = prev;
                        break;
                }
                prev = *pp;
        }
        s->queued = false;
        s->defer_next = NULL;
}

/* Off the loop for good: no callback runs again; the memory is parked
 * until the end of the iteration. */
static void source_kill(busrpc_source *s) {
        busrpc_loop *l = s->loop;

        if (s->dead)
                return;
        if (s->type == ITEM_IO && s->enabled && !loop_forked(l))
                epoll_ctl(l->epfd, EPOLL_CTL_DEL, s->fd, NULL);
        loop_timer_disarm(&s->timer);
        defer_unqueue(s);
        s->dead = true;
        s->enabled = false;
        if (s->type == ITEM_SIGHOOK && !loop_forked(l))
                (void)loop_update_signals(l);
        if (!l->in_iteration)
                free_dead(l);
}

/* A callback returned < 0: the source stops; a floating one goes, a held
 * handle stays valid (inert) until it is released. */
static void source_stop(busrpc_source *s) {
        if (s->floating) {
                source_kill(s);
                return;
        }
        if (s->type == ITEM_IO && s->enabled && !loop_forked(s->loop))
                epoll_ctl(s->loop->epfd, EPOLL_CTL_DEL, s->fd, NULL);
        loop_timer_disarm(&s->timer);
        s->enabled = false;
        if (s->type == ITEM_SIGHOOK && !loop_forked(s->loop))
                (void)loop_update_signals(s->loop);
}

/* The source was made: hand it out, or keep it floating. */
static void source_give(busrpc_source *s, busrpc_source **ret) {
        if (ret)
                *ret = s;
        else
                s->floating = true;
}

static void source_timer_fire(LoopTimer *t) {
        busrpc_source *s = (busrpc_source *)(void *)((char *)t - offsetof(busrpc_source, timer));
        busrpc_loop *l = s->loop;
        int r;

        if (s->repeat)
                (void)loop_timer_arm(l, t, loop_now_usec() + s->interval);
        r = s->timer_cb(s, s->userdata);
        if (s->dead)
                return;
        if (r < 0)
                source_stop(s);
        else if (r > 0)
                (void)loop_timer_arm(l, t, loop_now_usec() + (uint64_t)r);
        else if (s->floating && !loop_timer_armed(t))
                source_kill(s); /* a floating one-shot that fired: nothing can re-arm it */
}

BUSRPC_EXPORT int busrpc_loop_add_timer(busrpc_loop *l, uint64_t usec, bool repeat, busrpc_timer_fn cb,
                                        void *userdata, busrpc_source **ret) {
        busrpc_source *s;

        return_if_fail(l && cb, -EINVAL);
        return_if_fail(!repeat || usec > 0, -EINVAL);
        if (loop_forked(l))
                return -ECHILD;
        s = source_new(l, ITEM_TIMER);
        if (!s)
                return -ENOMEM;
        s->interval = usec;
        s->repeat = repeat;
        s->timer_cb = cb;
        s->userdata = userdata;
        if (loop_timer_arm(l, &s->timer, loop_now_usec() + usec) < 0) {
                source_kill(s);
                return -ENOMEM;
        }
        source_give(s, ret);
        return 0;
}

int loop_add_io_events(busrpc_loop *l, int fd, uint32_t events, busrpc_io_fn cb, void *userdata,
                       busrpc_source **ret) {
        busrpc_source *s;
        struct epoll_event ev = { 0 };

        if (loop_forked(l))
                return -ECHILD;
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
                s->enabled = false;
                source_kill(s);
                return r;
        }
        source_give(s, ret);
        return 0;
}

int loop_io_set_events(busrpc_source *s, uint32_t events) {
        struct epoll_event ev = { 0 };

        if (!s->loop || s->dead || !s->enabled)
                return -ESTALE;
        if (loop_forked(s->loop))
                return -ECHILD;
        ev.events = events;
        ev.data.ptr = s;
        return epoll_ctl(s->loop->epfd, EPOLL_CTL_MOD, s->fd, &ev) < 0 ? -errno : 0;
}

BUSRPC_EXPORT int busrpc_loop_add_io(busrpc_loop *l, int fd, uint32_t events, busrpc_io_fn cb, void *userdata,
                                     busrpc_source **ret) {
        return_if_fail(l && fd >= 0 && cb, -EINVAL);
        return_if_fail((events & ~(uint32_t)(EPOLLIN | EPOLLOUT | EPOLLPRI)) == 0, -EINVAL);
        return loop_add_io_events(l, fd, events, cb, userdata, ret);
}

int loop_add_defer(busrpc_loop *l, busrpc_timer_fn cb, void *userdata, busrpc_source **ret) {
        busrpc_source *s;

        if (loop_forked(l))
                return -ECHILD;
        s = source_new(l, ITEM_DEFER);
        if (!s)
                return -ENOMEM;
        s->enabled = false;
        s->timer_cb = cb;
        s->userdata = userdata;
        source_give(s, ret);
        return 0;
}

void loop_defer_enable(busrpc_source *s) {
        busrpc_loop *l = s->loop;

        if (!l || s->dead || s->queued)
                return;
        s->queued = true;
        s->defer_next = NULL;
        if (l->defer_tail)
                l->defer_tail->defer_next = s;
        else
                l->defer_head = s;
        l->defer_tail = s;
}

int loop_add_exit(busrpc_loop *l, busrpc_timer_fn cb, void *userdata, busrpc_source **ret) {
        busrpc_source *s;

        if (loop_forked(l))
                return -ECHILD;
        s = source_new(l, ITEM_EXIT);
        if (!s)
                return -ENOMEM;
        s->timer_cb = cb;
        s->userdata = userdata;
        source_give(s, ret);
        return 0;
}

bool loop_quit_by_signal(busrpc_loop *l) {
        return l->by_signal;
}

BUSRPC_EXPORT busrpc_source *busrpc_source_release(busrpc_source *s) {
        if (!s)
                return NULL;
        if (!s->loop) { /* the loop is already gone */
                free(s);
                return NULL;
        }
        source_kill(s);
        return NULL;
}

/* ---- iterating ---- */

/* Microseconds until the first timer is due; BUSRPC_TIMEOUT_INFINITE: none. */
static uint64_t next_timer_usec(busrpc_loop *l) {
        uint64_t now, best;

        if (l->heap_n == 0)
                return BUSRPC_TIMEOUT_INFINITE;
        best = l->heap[0]->deadline;
        now = loop_now_usec();
        if (best <= now)
                return 0;
        /* A deadline can never be "infinite" itself. */
        return best - now < BUSRPC_TIMEOUT_INFINITE ? best - now : BUSRPC_TIMEOUT_INFINITE - 1;
}

static void run_timers(busrpc_loop *l) {
        uint64_t now = loop_now_usec(), last = l->timer_seq;

        /* Timers armed by these callbacks wait for the next round, so a
         * timer that re-arms itself for "now" cannot hold the loop here. */
        while (l->heap_n > 0) {
                LoopTimer *t = l->heap[0];

                if (t->deadline > now || t->seq > last)
                        break;
                loop_timer_disarm(t);
                t->fire(t);
        }
}

static void run_deferred(busrpc_loop *l) {
        for (unsigned budget = DEFER_BUDGET; l->defer_head && budget > 0; budget--) {
                busrpc_source *s = l->defer_head;

                l->defer_head = s->defer_next;
                if (!l->defer_head)
                        l->defer_tail = NULL;
                s->queued = false;
                s->defer_next = NULL;
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
                        if (s->type != ITEM_SIGHOOK || s->dead || !s->enabled || s->signo != signo)
                                continue;
                        hooked = true;
                        if (s->signal_cb(s, signo, s->userdata) < 0 && !s->dead)
                                source_stop(s);
                }
                /* SIGHUP without a hook: nothing (a daemon's "reload"). */
                if (!hooked && l->default_signals && (signo == SIGTERM || signo == SIGINT)) {
                        l->by_signal = true;
                        busrpc_loop_quit(l, 0);
                }
        }
}

BUSRPC_EXPORT int busrpc_loop_iterate(busrpc_loop *l, uint64_t timeout_usec) {
        struct epoll_event ev[32];
        uint64_t t;
        int n;

        return_if_fail(l, -EINVAL);
        if (loop_forked(l))
                return -ECHILD;
        if (l->in_iteration)
                return -EBUSY;
        if (l->defer_head)
                timeout_usec = 0;
        t = next_timer_usec(l);
        if (t < timeout_usec)
                timeout_usec = t;
        n = epoll_wait(l->epfd, ev, 32, busrpc_usec_to_poll_ms(timeout_usec));
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
                } else {
                        busrpc_source *s = ev[i].data.ptr;
                        if (!s->dead && s->enabled && s->io_cb(s, s->fd, ev[i].events, s->userdata) < 0 &&
                            !s->dead)
                                source_stop(s);
                }
        }
        run_timers(l);
        run_deferred(l);
        l->in_iteration = false;
        free_dead(l);
        busrpc_loop_unref(l);
        return n;
}

/* Replies queued by the last handlers reach their callers. */
static void run_exit(busrpc_loop *l) {
        l->in_iteration = true;
        for (busrpc_source *s = l->sources; s; s = s->next)
                if (s->type == ITEM_EXIT && !s->dead)
                        s->timer_cb(s, s->userdata);
        l->in_iteration = false;
        free_dead(l);
}

BUSRPC_EXPORT int busrpc_loop_run(busrpc_loop *l) {
        int r = 0;

        return_if_fail(l, -EINVAL);
        if (loop_forked(l))
                return -ECHILD; /* not even its exit sources: they would write the parent's sockets */
        busrpc_loop_ref(l);
        l->quit = false;
        l->by_signal = false;
        while (!l->quit) {
                r = busrpc_loop_iterate(l, BUSRPC_TIMEOUT_INFINITE);
                if (r < 0)
                        break;
        }
        run_exit(l);
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
                if (s->type == ITEM_SIGHOOK && !s->dead && s->enabled)
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
        if (loop_forked(l))
                return -ECHILD;
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

        return_if_fail(l && cb, -EINVAL);
        return_if_fail(signo > 0 && signo < SIGRTMAX, -EINVAL);
        return_if_fail(signo != SIGKILL && signo != SIGSTOP && signo != SIGSEGV && signo != SIGBUS &&
                               signo != SIGILL && signo != SIGFPE,
                       -EINVAL);
        if (loop_forked(l))
                return -ECHILD;
        s = source_new(l, ITEM_SIGHOOK);
        if (!s)
                return -ENOMEM;
        s->signo = signo;
        s->signal_cb = cb;
        s->userdata = userdata;
        r = loop_update_signals(l);
        if (r < 0) {
                s->enabled = false;
                source_kill(s);
                return r;
        }
        source_give(s, ret);
        return 0;
}

/* ---- integration ---- */

BUSRPC_EXPORT int busrpc_loop_get_fd(busrpc_loop *l) {
        return_if_fail(l, -EINVAL);
        if (loop_forked(l))
                return -ECHILD;
        return l->epfd;
}

/* The public API talks EPOLL* only; foreign loops pass them to poll(). */
_Static_assert(EPOLLIN == POLLIN && EPOLLOUT == POLLOUT && EPOLLPRI == POLLPRI && EPOLLERR == POLLERR &&
                       EPOLLHUP == POLLHUP,
               "EPOLL* and POLL* flags differ");

BUSRPC_EXPORT int busrpc_loop_get_events(busrpc_loop *l) {
        return_if_fail(l, -EINVAL);
        return EPOLLIN;
}

BUSRPC_EXPORT int busrpc_loop_get_timeout(busrpc_loop *l, uint64_t *out) {
        return_if_fail(l && out, -EINVAL);
        *out = l->defer_head || l->quit ? 0 : next_timer_usec(l);
        return 0;
}

BUSRPC_EXPORT int busrpc_loop_process(busrpc_loop *l) {
        int r;

        return_if_fail(l, -EINVAL);
        r = busrpc_loop_iterate(l, 0);
        return r < 0 ? r : 0;
}

BUSRPC_EXPORT int busrpc_loop_take_quit(busrpc_loop *l, int *out) {
        return_if_fail(l, -EINVAL);
        if (!l->quit)
                return 0;
        /* Taken: get_timeout() no longer says 0 for it, so a foreign loop
         * that forwards the quit does not spin. */
        l->quit = false;
        if (out)
                *out = l->exit_code;
        return 1;
}
