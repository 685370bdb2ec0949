/* test-loop-heap.c: the loop's deadline heap (runtime/loop.c, linked in,
 * through the private loop.h): timers with explicit deadlines, all already
 * due, fire in one iteration in (deadline, arming order); re-arming moves
 * a timer; disarmed ones never fire; a timer moves between loops; a loop
 * that goes leaves its embedded timers idle. */
#include <stdlib.h>
#include "loop.h"
#include "tap.h"

#define N 1000

typedef struct Item {
        LoopTimer t;
        unsigned id;
} Item;

static Item items[N];
static unsigned order[N], n_fired;

static void on_fire(LoopTimer *t) {
        order[n_fired++] = ((Item *)(void *)t)->id;
}

static uint64_t base;

/* A scrambled permutation of 0..N-1 (7 is prime to 1000). */
static uint64_t deadline_of(unsigned i) {
        return base + (uint64_t)((i * 7u) % N) * 10u;
}

static void test_order(void) {
        busrpc_loop *l;
        unsigned bad = 0, n_disarmed = 0, arm_failed = 0, still_armed = 0;

        busrpc_loop_new(&l);
        /* Everything due a second ago: one iteration fires them all. */
        base = loop_now_usec() - 1000000u - (uint64_t)N * 10u;
        for (unsigned i = 0; i < N; i++) {
                loop_timer_init(&items[i].t, on_fire);
                items[i].id = i;
                if (loop_timer_arm(l, &items[i].t, deadline_of(i)) < 0)
                        arm_failed++;
        }
        is_int((int)arm_failed, 0, "1,000 timers armed");
        /* Every 10th disarmed, every 10th + 5 re-armed to the very front. */
        for (unsigned i = 0; i < N; i += 10) {
                loop_timer_disarm(&items[i].t);
                n_disarmed++;
                if (loop_timer_armed(&items[i].t))
                        still_armed++;
        }
        for (unsigned i = 5; i < N; i += 10)
                loop_timer_arm(l, &items[i].t, base - 1000u + i);
        busrpc_loop_iterate(l, 0);
        is_int((int)n_fired, N - (int)n_disarmed, "one iteration fired every due timer but the disarmed");
        /* The re-armed ones first, in their new order, then the rest by deadline. */
        for (unsigned k = 0; k < n_fired; k++) {
                unsigned id = order[k];
                if (id % 10 == 0)
                        bad++;
                if (k == 0)
                        continue;
                unsigned prev = order[k - 1];
                uint64_t dp = prev % 10 == 5 ? base - 1000u + prev : deadline_of(prev);
                uint64_t dk = id % 10 == 5 ? base - 1000u + id : deadline_of(id);
                if (dk < dp)
                        bad++;
        }
        is_int((int)bad, 0, "in deadline order, re-armed ones where they were moved, no disarmed one");
        for (unsigned i = 0; i < N; i++)
                if (loop_timer_armed(&items[i].t))
                        still_armed++;
        is_int((int)still_armed, 0, "every timer is idle after firing or being disarmed");
        busrpc_loop_unref(l);
}

static void test_ties_and_moves(void) {
        busrpc_loop *a, *b;
        uint64_t when;

        busrpc_loop_new(&a);
        busrpc_loop_new(&b);
        n_fired = 0;
        when = loop_now_usec() - 1000u;
        for (unsigned i = 0; i < 4; i++) {
                loop_timer_init(&items[i].t, on_fire);
                items[i].id = i;
        }
        /* Same deadline: the order they were armed in (3 re-armed last). */
        loop_timer_arm(a, &items[3].t, when);
        loop_timer_arm(a, &items[1].t, when);
        loop_timer_arm(a, &items[2].t, when);
        loop_timer_arm(a, &items[3].t, when);
        busrpc_loop_iterate(a, 0);
        is_int((int)n_fired, 3, "three timers due together fired");
        ok(order[0] == 1 && order[1] == 2 && order[2] == 3, "in arming order (1 2 3: %u %u %u)", order[0],
           order[1], order[2]);

        /* Moved to another loop: only that loop fires it. */
        n_fired = 0;
        loop_timer_arm(a, &items[0].t, when);
        loop_timer_arm(b, &items[0].t, when);
        ok(items[0].t.loop == b, "the timer is on the second loop");
        busrpc_loop_iterate(a, 0);
        is_int((int)n_fired, 0, "the first loop no longer fires it");
        busrpc_loop_iterate(b, 0);
        is_int((int)n_fired, 1, "the second does");

        /* A loop that goes leaves its timers idle (their owner frees them). */
        loop_timer_arm(a, &items[1].t, when + 3600000000u);
        busrpc_loop_unref(a);
        ok(!loop_timer_armed(&items[1].t) && items[1].t.loop == NULL, "a freed loop's timers are idle");
        loop_timer_disarm(&items[1].t); /* harmless */
        busrpc_loop_unref(b);
}

int main(void) {
        TAP_RUN(test_order);
        TAP_RUN(test_ties_and_moves);
        return tap_done();
}
