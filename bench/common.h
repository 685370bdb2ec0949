/* bench/common.h: what every benchmark program shares: the tests, the
 * names, the clock and the byte sum the server computes. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_NAME "org.busrpc.Bench"
#define BENCH_IFACE "org.busrpc.Bench"
#define BENCH_PATH_FMT "/org/busrpc/Bench/%u" /* objects 0 … n-1 */
#define BENCH_WINDOW 64                       /* calls in flight in the "pipeline" test */

static inline uint64_t bench_now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The server reads every byte: that is what a real consumer of a buffer pays. */
static inline uint64_t bench_sum(const uint8_t *p, size_t n) {
        uint64_t s = 0;

        for (size_t i = 0; i < n; i++)
                s += p[i];
        return s;
}

/* A client's payload: deterministic, not all zero, so a wrong sum shows. */
static inline uint8_t *bench_payload(size_t n, uint64_t *sum) {
        uint8_t *p = malloc(n ? n : 1);

        if (!p)
                return NULL;
        for (size_t i = 0; i < n; i++)
                p[i] = (uint8_t)(i * 31u + 7u);
        *sum = bench_sum(p, n);
        return p;
}

/* Every client prints one line the driver reads: TEST N NS_TOTAL. */
static inline void bench_report(const char *test, unsigned long n, uint64_t ns) {
        printf("%s %lu %llu\n", test, n, (unsigned long long)ns);
        fflush(stdout);
}

/* The "pipeline" test's window as the client saw it: the most calls in
 * flight at once, and how many were in flight, on average, when a reply
 * came back. A client that keeps its window full averages close to
 * BENCH_WINDOW; one that drains the window before refilling it averages
 * half of it; a "async" call that secretly waits for its reply never gets
 * past 1. The driver checks both (bench/run). */
typedef struct BenchWindow {
        unsigned outstanding;
        unsigned peak;
        unsigned failed;
        uint64_t in_flight_sum;
        uint64_t replies;
} BenchWindow;

/* Count a call as in flight before it is sent: a reply delivered inside
 * the sending function then shows as a window of 1. */
static inline void bench_window_send(BenchWindow *w) {
        w->outstanding++;
}

static inline void bench_window_sent(BenchWindow *w) {
        if (w->outstanding > w->peak)
                w->peak = w->outstanding;
}

static inline void bench_window_reply(BenchWindow *w, int ok) {
        w->in_flight_sum += w->outstanding;
        w->replies++;
        w->outstanding--;
        if (!ok)
                w->failed++;
}

/* TEST N NS_TOTAL PEAK MEAN_IN_FLIGHT */
static inline void bench_report_window(const char *test, unsigned long n, uint64_t ns, const BenchWindow *w) {
        printf("%s %lu %llu %u %.2f\n", test, n, (unsigned long long)ns, w->peak,
               w->replies ? (double)w->in_flight_sum / (double)w->replies : 0.0);
        fflush(stdout);
}

static inline void bench_ready(void) {
        printf("ready\n");
        fflush(stdout);
}

#endif
