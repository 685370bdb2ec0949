/* tap-util.h: two helpers several C tests share (with tap.h): a check
 * name made with printf, and a monotonic clock in milliseconds for the
 * bounds that keep a wait from hanging (never a timed assertion). */
#pragma once

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

/* A test name made with printf (is_int()/is_str() take a plain one); four
 * rotating buffers, so one check may use up to four. */
static inline const char *tap_name(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline const char *tap_name(const char *fmt, ...) {
        static char buf[4][256];
        static unsigned k;
        char *b = buf[k++ % 4];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(b, sizeof(buf[0]), fmt, ap);
        va_end(ap);
        return b;
}

static inline long tap_now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
