/* loop.h: what the runtime uses of the loop beyond the public API
 * (busrpc_loop_add_io/_timer/_signal). The loop knows fds, timers,
 * signals and deferred work; connections register with it through this
 * API like any other user (dbus-io.c, conn.c), and it knows nothing of
 * them.
 *
 * Timers: one min-heap of deadlines per loop. A LoopTimer may be embedded
 * in the object it times (a pending call's deadline, reply.c), so arming
 * one costs no allocation; a timer busrpc_source embeds one too. Arming,
 * re-arming and disarming are O(log n), finding the next deadline O(1).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include "busrpc-internal.h"

#define LOOP_TIMER_IDLE UINT32_MAX

typedef struct LoopTimer LoopTimer;
/* Called from the loop when @t's deadline passed; @t is disarmed first
 * and may be re-armed (or freed) by the callback. */
typedef void (*LoopTimerFn)(LoopTimer *t);

struct LoopTimer {
        uint64_t deadline;  /* usec, loop_now_usec() */
        uint64_t seq;       /* when armed: timers armed while timers run wait for the next round */
        busrpc_loop *loop;  /* the loop whose heap holds it; NULL while idle */
        uint32_t heap_idx;  /* LOOP_TIMER_IDLE while idle */
        LoopTimerFn fire;
};

/* CLOCK_MONOTONIC in microseconds: the clock of every deadline. */
uint64_t loop_now_usec(void);

static inline void loop_timer_init(LoopTimer *t, LoopTimerFn fire) {
        t->deadline = 0;
        t->seq = 0;
        t->loop = NULL;
        t->heap_idx = LOOP_TIMER_IDLE;
        t->fire = fire;
}
static inline bool loop_timer_armed(const LoopTimer *t) {
        return t->heap_idx != LOOP_TIMER_IDLE;
}
/* Arm @t on @l for @deadline (loop_now_usec() time); an armed @t is moved
 * (from another loop too). -ENOMEM when the heap cannot grow. */
int loop_timer_arm(busrpc_loop *l, LoopTimer *t, uint64_t deadline);
/* Take @t off its loop's heap; idle timers are left alone. */
void loop_timer_disarm(LoopTimer *t);

/* busrpc_loop_add_io() with any epoll @events (EPOLLRDHUP too), and a way
 * to change them: libdbus's watches ask for hangups with nothing else. */
int loop_add_io_events(busrpc_loop *l, int fd, uint32_t events, busrpc_io_fn cb, void *userdata,
                       busrpc_source **ret);
int loop_io_set_events(busrpc_source *s, uint32_t events);

/* A deferred source: while enabled, @cb runs once per loop iteration,
 * after io and timers, in the order the sources were enabled; it is
 * disabled before @cb runs (enable it again from @cb to run again). The
 * loop does not block while one is enabled. A bounded number run per
 * iteration, so io and timers are never starved. */
int loop_add_defer(busrpc_loop *l, busrpc_timer_fn cb, void *userdata, busrpc_source **ret);
void loop_defer_enable(busrpc_source *s);
/* An exit source: @cb runs when busrpc_loop_run() returns (replies queued
 * by the last handlers still go out), newest first. */
int loop_add_exit(busrpc_loop *l, busrpc_timer_fn cb, void *userdata, busrpc_source **ret);
/* Inside an exit callback: the loop stops because of SIGTERM/SIGINT. */
bool loop_quit_by_signal(busrpc_loop *l);
