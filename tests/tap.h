/* tap.h: a tiny Test Anything Protocol producer for the C tests.
 *
 * Each test case is a function; tap_run() calls it and prints the result.
 * Checks print "not ok" with file:line on failure, and the suite exits 1
 * when any check failed, so automake's tap-driver.sh counts it.
 */
#pragma once

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_count;
static int tap_failed;

static inline void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void tap_diag(const char *fmt, ...) {
        va_list ap;
        fputs("# ", stdout);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        fputc('\n', stdout);
        fflush(stdout);
}

static inline bool tap_ok(bool cond, const char *file, int line, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static inline bool tap_ok(bool cond, const char *file, int line, const char *fmt, ...) {
        va_list ap;
        tap_count++;
        printf("%s %d - ", cond ? "ok" : "not ok", tap_count);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
        if (!cond) {
                tap_failed++;
                printf("#   failed at %s:%d\n", file, line);
        }
        fflush(stdout);
        return cond;
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define is_int(got, want, name)                                                                 \
        do {                                                                                    \
                intmax_t g_ = (intmax_t)(got), w_ = (intmax_t)(want);                           \
                if (!ok(g_ == w_, "%s", name))                                                  \
                        tap_diag("  got %jd, want %jd", g_, w_);                                \
        } while (0)

#define is_str(got, want, name)                                                                 \
        do {                                                                                    \
                const char *g_ = (got), *w_ = (want);                                           \
                if (!ok(g_ && w_ ? strcmp(g_, w_) == 0 : g_ == w_, "%s", name))                 \
                        tap_diag("  got \"%s\", want \"%s\"", g_ ? g_ : "(null)",               \
                                 w_ ? w_ : "(null)");                                           \
        } while (0)

/* A case that cannot run because something is missing fails; it never skips. */
#define tap_bail(...)                                                                           \
        do {                                                                                    \
                printf("Bail out! ");                                                           \
                printf(__VA_ARGS__);                                                            \
                putchar('\n');                                                                  \
                exit(1);                                                                        \
        } while (0)

static inline void tap_run(const char *name, void (*fn)(void)) {
        tap_diag("%s", name);
        fn();
}
#define TAP_RUN(fn) tap_run(#fn, fn)

static inline int tap_done(void) {
        printf("1..%d\n", tap_count);
        fflush(stdout);
        return tap_failed ? 1 : 0;
}
