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
 *  4. The descriptor codec (wire-value-*.c): descriptors are made from the
 *     body's signature (the C layout generated code has), the body is read
 *     into C values by them and written back, in the message's byte order:
 *     the bytes must equal the generic copy's (wire_write_from()), and
 *     reading may only refuse a map with a key twice (-ENOTUNIQ).
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
static unsigned long n_both_ok, n_both_bad, n_stricter, n_reencoded, n_descriptors, n_dupkeys;

static void stats(void) {
        fprintf(stderr,
                "fuzz-wire: both accept %lu (re-encoded %lu, through descriptors %lu, a map key twice %lu), "
                "both refuse %lu, busrpc stricter %lu\n",
                n_both_ok, n_reencoded, n_descriptors, n_dupkeys, n_both_bad, n_stricter);
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


/* ---- descriptors made from a signature, as generated code has them ---- */

typedef struct Desc {
        busrpc_type types[WIRE_MAX_SIGNATURE];
        busrpc_field fields[WIRE_MAX_SIGNATURE];
        char sigs[WIRE_MAX_SIGNATURE * (WIRE_MAX_SIGNATURE + 1)]; /* each type's own signature: quadratic when nested */
        size_t nt, nf, ns;
} Desc;

typedef struct CArr {
        void *items;
        size_t n;
} CArr;

typedef struct CMap2 {
        void *keys, *values;
        size_t n;
} CMap2;

static size_t c_align(const busrpc_type *t) {
        size_t a = 1, i;

        switch (t->kind) {
        case 'b':
        case 'y':
                return 1;
        case 'n':
        case 'q':
                return 2;
        case 'i':
        case 'u':
                return 4;
        case 'r':
                for (i = 0; i < t->n_fields; i++) {
                        size_t fa = c_align(t->fields[i].type); /* once: twice is 2^depth calls */

                        if (fa > a)
                                a = fa;
                }
                return a;
        default:
                return 8; /* 64-bit integers, doubles, pointers, {items, n} */
        }
}

/* Lay @n fields out as a C struct: offsets, then the size. */
static size_t layout(busrpc_field *f, size_t n, size_t *ret_align) {
        size_t off = 0, align = 1, i, a;

        for (i = 0; i < n; i++) {
                a = c_align(f[i].type);
                off = (off + a - 1) / a * a;
                f[i].offset = off;
                off += f[i].type->size;
                if (a > align)
                        align = a;
        }
        *ret_align = align;
        return (off + align - 1) / align * align;
}

/* The descriptor of the complete type at *@sig (advanced past it); NULL for 'h'. */
static const busrpc_type *desc_of(Desc *d, const char **sig) {
        const char *start = *sig;
        busrpc_type *t = &d->types[d->nt++];
        size_t len = wire_type_len(start), align;
        char c = *(*sig)++;

        memset(t, 0, sizeof(*t));
        t->kind = (uint8_t)c;
        memcpy(d->sigs + d->ns, start, len);
        d->sigs[d->ns + len] = '\0';
        t->signature = d->sigs + d->ns;
        t->name = t->signature;
        d->ns += len + 1;
        switch (c) {
        case 'h':
                return NULL;
        case 'b':
                t->size = sizeof(bool);
                return t;
        case 'y':
                t->size = 1;
                return t;
        case 'n':
        case 'q':
                t->size = 2;
                return t;
        case 'i':
        case 'u':
                t->size = 4;
                return t;
        case 'x':
        case 't':
        case 'd':
                t->size = 8;
                return t;
        case 's':
        case 'o':
        case 'g':
        case 'v':
                t->size = sizeof(void *);
                return t;
        case 'a':
                if (**sig == '{') {
                        (*sig)++;
                        t->kind = BUSRPC_KIND_MAP;
                        t->size = sizeof(CMap2);
                        if (!(t->elem = desc_of(d, sig)) || !(t->value = desc_of(d, sig)))
                                return NULL;
                        (*sig)++; /* '}' */
                        return t;
                }
                t->size = sizeof(CArr);
                t->elem = desc_of(d, sig);
                return t->elem ? t : NULL;
        case '(': {
                busrpc_field *f = &d->fields[d->nf];
                const char *q;
                size_t n = 0;

                /* The fields take consecutive slots: reserve them before nested structs take theirs. */
                for (q = *sig; *q != ')'; q += wire_type_len(q))
                        d->nf++;
                t->kind = BUSRPC_KIND_STRUCT;
                while (**sig != ')') {
                        f[n].name = "f";
                        if (!(f[n].type = desc_of(d, sig)))
                                return NULL;
                        n++;
                }
                (*sig)++;
                t->fields = f;
                t->n_fields = n;
                t->size = (uint32_t)layout(f, n, &align);
                return t;
        }
        default:
                return NULL;
        }
}

/* Read @m's body into C values by descriptors and write it back: the same bytes as @copy. */
static void check_descriptors(const WireMsg *m, const WireBuf *copy, const uint8_t *p, size_t n) {
        static Desc d;
        busrpc_field args_fields[WIRE_MAX_SIGNATURE];
        busrpc_args args = { m->signature, args_fields, 0, 0 };
        busrpc_error err = { 0 };
        const char *s = m->signature;
        char sig[WIRE_MAX_SIGNATURE + 1], num[32];
        size_t align;
        WireReader r;
        WireWriter w;
        WireBuf b;
        void *values;
        int k;

        d.nt = d.nf = d.ns = 0;
        while (*s) {
                args_fields[args.n_fields].name = "arg";
                if (!(args_fields[args.n_fields++].type = desc_of(&d, &s)))
                        return; /* fds: not without real ones */
        }
        args.size = layout(args_fields, args.n_fields, &align);
        values = calloc(1, args.size ? args.size : 1);
        if (!values)
                return;
        wire_reader_init(&r, m, NULL, 0);
        k = wire_args_read(&r, &args, values, &err);
        busrpc_error_clear(&err);
        if (k == -ENOTUNIQ) {
                n_dupkeys++;
                free(values);
                return;
        }
        if (k < 0) {
                snprintf(num, sizeof(num), "%d", k);
                die("the descriptor codec refuses a valid body", num, p, n);
        }
        wire_buf_init(&b);
        wire_writer_init(&w, &b, 0, m->endian, sig);
        k = wire_args_write(&w, &args, values, NULL);
        wire_args_clear(&args, values);
        free(values);
        if (k < 0) {
                snprintf(num, sizeof(num), "%d", k);
                die("the descriptor codec cannot write back what it read", num, p, n);
        }
        if (strcmp(sig, m->signature) != 0 || b.n != copy->n || (b.n && memcmp(b.p, copy->p, b.n) != 0))
                die("descriptors wrote other bytes than the generic copy", sig, p, n);
        wire_buf_free(&b);
        n_descriptors++;
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

        /* The generic copy in the message's own byte order (fixed arrays in one copy), then descriptors. */
        {
                WireWriter w;
                WireReader r;
                char sig[WIRE_MAX_SIGNATURE + 1];

                wire_buf_init(&b);
                wire_writer_init(&w, &b, 0, m.endian, sig);
                wire_reader_init(&r, &m, NULL, 0);
                k = 0;
                while (k >= 0 && wire_reader_peek(&r))
                        k = wire_write_from(&w, &r);
                if (k < 0 || b.n != m.body_len || (b.n && memcmp(b.p, m.data + m.header_len, b.n) != 0))
                        die("the generic copy in the same byte order is not the body", NULL, p, n);
                if (wire_message_parse(&m2, p, n, 0, NULL) > 0)
                        check_descriptors(&m, &b, p, n);
                wire_buf_free(&b);
        }
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
