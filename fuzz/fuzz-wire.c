/* fuzz-wire.c: differential libFuzzer target, busrpc's own wire codec
 * (runtime/wire*.c) against libdbus's dbus_message_demarshal().
 *
 * Each input is marshalled bytes (fuzz-msg.h: a whole message, or a
 * selected call's signature and body). For every input:
 *  1. The verdicts agree. busrpc reads the bytes as libdbus's loader does
 *     in dbus_message_demarshal(): the first message must be valid; after
 *     it, each further complete message must be valid too, an insane
 *     fixed header refuses all, an incomplete rest is ignored. busrpc may
 *     refuse what libdbus accepts only where it is stricter on purpose
 *     (WIRE_E_DEPTH, WIRE_E_FD_INDEX; docs/reliability.md), never the
 *     other way round. The fd index rule is held apart: the comparison
 *     parses without it, then the strict parse may only add that reason.
 *  2. When both accept: the header fields and every value are identical
 *     (tests/wire-compare.h walks both readers side by side).
 *  3. What busrpc accepted, re-encoded by busrpc's writer in the other
 *     byte order (header from the parsed fields, body value by value),
 *     loads in libdbus with the same values, and in busrpc again.
 * A disagreement aborts with the reasons, so libFuzzer keeps the input.
 *
 * Built by fuzz/local.mk with clang -fsanitize=fuzzer,address,undefined;
 * `make fuzz` runs it, tests/test-fuzz.sh runs it for 20 seconds.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-msg.h"
#include "../tests/wire-compare.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* FUZZ_WIRE_STATS=1 prints how the verdicts fell at exit (docs/reliability.md's figures). */
static unsigned long n_both_ok, n_both_bad, n_stricter, n_reencoded;

static void stats(void) {
        fprintf(stderr, "fuzz-wire: both accept %lu (re-encoded %lu), both refuse %lu, busrpc stricter %lu\n",
                n_both_ok, n_reencoded, n_both_bad, n_stricter);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
        if (getenv("FUZZ_WIRE_STATS"))
                atexit(stats);
        return 0;
}

static void die(const char *what, const char *detail, const uint8_t *p, size_t n) {
        size_t i;

        fprintf(stderr, "fuzz-wire: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
        for (i = 0; i < n && i < 512; i++)
                fprintf(stderr, "%02x%s", p[i], i % 32 == 31 ? "\n" : " ");
        fputc('\n', stderr);
        abort();
}

/* busrpc's verdict on @p as dbus_message_demarshal() reads a buffer. */
static bool busrpc_accepts(const uint8_t *p, size_t n, WireMsg *first, WireErr *why) {
        WireMsg m;
        size_t at;
        int k;

        k = wire_message_parse_flags(first, p, n, 0, NULL, WIRE_PARSE_NO_FD_INDEX);
        if (k < 0) {
                *why = k == -EAGAIN ? WIRE_E_SHORT : first->err;
                return false;
        }
        for (at = (size_t)k; n - at >= WIRE_FIXED_HEADER; at += (size_t)k) {
                WireErr e = WIRE_OK;

                k = wire_frame(p + at, n - at, NULL, &e);
                if (k == -EAGAIN)
                        break;
                if (k < 0) {
                        *why = e;
                        return false;
                }
                k = wire_message_parse_flags(&m, p + at, n - at, 0, NULL, WIRE_PARSE_NO_FD_INDEX);
                if (k < 0) {
                        *why = m.err;
                        return false;
                }
        }
        *why = WIRE_OK;
        return true;
}

static void check(const uint8_t *p, size_t n) {
        DBusMessage *d, *d2;
        WireMsg m, m2;
        WireErr why;
        WireBuf b;
        char buf[256];
        const char *e;
        bool mine;
        int k;

        d = dbus_message_demarshal((const char *)p, (int)n, NULL);
        mine = busrpc_accepts(p, n, &m, &why);
        if (mine && !d)
                die("busrpc accepts what libdbus refuses", NULL, p, n);
        if (!mine && d) {
                if (why != WIRE_E_DEPTH)
                        die("busrpc refuses what libdbus accepts", wire_strerror(why), p, n);
                n_stricter++;
                dbus_message_unref(d);
                return;
        }
        if (!mine) {
                n_both_bad++;
                return;
        }
        n_both_ok++;

        /* Both accept the first message: the strict parse may only add the fd index rule. */
        k = wire_message_parse(&m2, p, n, 0, NULL);
        if (k < 0 && m2.err != WIRE_E_FD_INDEX)
                die("the strict parse refuses for another reason than fd indexes", wire_strerror(m2.err), p, n);
        if ((e = wc_message(&m, d, buf, sizeof(buf))))
                die("busrpc and libdbus read different messages", e, p, n);
        dbus_message_unref(d);

        if (m.type > WIRE_SIGNAL)
                return; /* unknown types are read and ignored, never written */
        wire_buf_init(&b);
        k = wc_reencode(&m, m.endian == WIRE_LITTLE ? WIRE_BIG : WIRE_LITTLE, &b);
        if (k < 0) {
                snprintf(buf, sizeof(buf), "%d", k);
                die("busrpc cannot re-encode what it accepted", buf, p, n);
        }
        d2 = dbus_message_demarshal((const char *)b.p, k, NULL);
        if (!d2)
                die("libdbus refuses busrpc's re-encoding", NULL, b.p, b.n);
        if ((e = wc_message(&m, d2, buf, sizeof(buf))))
                die("the re-encoding holds other values", e, b.p, b.n);
        dbus_message_unref(d2);
        if (wire_message_parse_flags(&m2, b.p, b.n, 0, NULL, WIRE_PARSE_NO_FD_INDEX) != k)
                die("busrpc refuses its own re-encoding", wire_strerror(m2.err), b.p, b.n);
        wire_buf_free(&b);
        n_reencoded++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        FuzzBuf b = { NULL, 0, 0 };

        if (size == 0 || size > 0x7fffffff)
                return 0;
        if (data[0] == 'l' || data[0] == 'B') {
                check(data, size);
                return 0;
        }
        if (fuzz_marshal(data, size, &b) == 0)
                check(b.p, b.n);
        free(b.p);
        return 0;
}
