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

static inline void bench_ready(void) {
        printf("ready\n");
        fflush(stdout);
}

#endif
