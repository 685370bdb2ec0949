/* bench-wire.c: what one Add(int32 a, int32 b) call message costs to build
 * and to read, busrpc's wire codec (runtime/wire*.c) against libdbus.
 *
 *   bench-wire MODE [N]     MODE: encode decode dbus-encode dbus-decode
 *
 * encode       N messages from one header template (prebuilt once), the
 *              body written by the descriptors (wire_args_write())
 * decode       N times: parse and validate the whole message
 *              (wire_message_parse()), read the arguments by descriptor
 * dbus-encode  N times: dbus_message_new_method_call() +
 *              dbus_message_append_args() + dbus_message_marshal()
 * dbus-decode  N times: dbus_message_demarshal() + dbus_message_get_args()
 *
 * Each mode's loop is one function (bench_<mode>), so callgrind counts
 * just it: valgrind --tool=callgrind --toggle-collect='bench_*' (see
 * docs/performance.md). Every result is checked (the decoded values, the
 * encoder's bytes through libdbus): a wrong answer exits 1, never a figure.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dbus/dbus.h>

#include "wire.h"

typedef struct AddIn {
        int32_t a, b;
} AddIn;

static const busrpc_type t_int32 = { .kind = BUSRPC_KIND_INT32, .size = 4, .signature = "i", .name = "int32" };
static const busrpc_field add_fields[] = { { &t_int32, offsetof(AddIn, a), "a" }, { &t_int32, offsetof(AddIn, b), "b" } };
static const busrpc_args add_in = { "ii", add_fields, 2, sizeof(AddIn) };

#define DEST "org.example.Calc"
#define PATH "/org/example/Calculator"
#define IFACE "org.example.Calculator"

static int fail(const char *what) {
        fprintf(stderr, "bench-wire: %s\n", what);
        return 1;
}

/* N messages into @b (emptied each time, as a send buffer would be); returns the last one's length. */
__attribute__((noinline)) static int bench_encode(const WireTemplate *t, WireBuf *b, long n) {
        WireWriter w;
        int len = 0;
        long i;

        for (i = 0; i < n; i++) {
                AddIn in = { (int32_t)i, 2 };
                int at;

                b->n = 0;
                at = wire_template_begin(t, b, &w, NULL);
                wire_args_write(&w, &add_in, &in, NULL);
                len = wire_template_finish(t, b, (size_t)at, (uint32_t)i + 1, 0, 0);
        }
        return len;
}

__attribute__((noinline)) static int bench_decode(const uint8_t *p, size_t len, long n, AddIn *out) {
        long i;
        int k = 0;

        for (i = 0; i < n; i++) {
                WireMsg m;
                WireReader r;

                k = wire_message_parse(&m, p, len, 0, NULL);
                if (k < 0)
                        return k;
                wire_reader_init(&r, &m, NULL, 0);
                k = wire_args_read(&r, &add_in, out, NULL);
        }
        return k;
}

__attribute__((noinline)) static int bench_dbus_encode(long n, char **ret, int *ret_len) {
        long i;

        for (i = 0; i < n; i++) {
                DBusMessage *m = dbus_message_new_method_call(DEST, PATH, IFACE, "Add");
                dbus_int32_t a = (dbus_int32_t)i, b = 2;

                if (!m || !dbus_message_append_args(m, DBUS_TYPE_INT32, &a, DBUS_TYPE_INT32, &b, DBUS_TYPE_INVALID))
                        return -ENOMEM;
                dbus_message_set_serial(m, (dbus_uint32_t)i + 1);
                dbus_free(*ret);
                *ret = NULL;
                if (!dbus_message_marshal(m, ret, ret_len))
                        return -ENOMEM;
                dbus_message_unref(m);
        }
        return 0;
}

__attribute__((noinline)) static int bench_dbus_decode(const char *p, int len, long n, AddIn *out) {
        long i;

        for (i = 0; i < n; i++) {
                DBusMessage *m = dbus_message_demarshal(p, len, NULL);

                if (!m || !dbus_message_get_args(m, NULL, DBUS_TYPE_INT32, &out->a, DBUS_TYPE_INT32, &out->b,
                                                 DBUS_TYPE_INVALID))
                        return -EBADMSG;
                dbus_message_unref(m);
        }
        return 0;
}

int main(int argc, char **argv) {
        WireHeader h = { .type = WIRE_METHOD_CALL,
                         .path = PATH,
                         .interface = IFACE,
                         .member = "Add",
                         .destination = DEST,
                         .signature = "ii" };
        const char *mode = argc > 1 ? argv[1] : "";
        long n = argc > 2 ? strtol(argv[2], NULL, 10) : 1000;
        WireTemplate t;
        WireBuf b;
        AddIn out = { 0, 0 };
        int len, r = 0;

        if (n < 1)
                return fail("N must be at least 1");
        if (wire_template_init(&t, WIRE_NATIVE, &h, 0) < 0)
                return fail("template");
        wire_buf_init(&b);
        /* The message every mode reads, from the template: checked through libdbus once. */
        len = bench_encode(&t, &b, 1);
        {
                DBusMessage *m = len > 0 ? dbus_message_demarshal((const char *)b.p, len, NULL) : NULL;
                dbus_int32_t x = -1, y = -1;

                if (!m || !dbus_message_get_args(m, NULL, DBUS_TYPE_INT32, &x, DBUS_TYPE_INT32, &y, DBUS_TYPE_INVALID) ||
                    x != 0 || y != 2 || strcmp(dbus_message_get_member(m), "Add") != 0)
                        return fail("libdbus does not read the template's message as Add(0, 2)");
                dbus_message_unref(m);
        }
        if (strcmp(mode, "encode") == 0) {
                len = bench_encode(&t, &b, n);
                if (len <= 0 || bench_decode(b.p, (size_t)len, 1, &out) < 0 || out.a != (int32_t)(n - 1) || out.b != 2)
                        r = fail("encode: the last message does not read back");
        } else if (strcmp(mode, "decode") == 0) {
                if (bench_decode(b.p, (size_t)len, n, &out) < 0 || out.a != 0 || out.b != 2)
                        r = fail("decode: wrong values");
        } else if (strcmp(mode, "dbus-encode") == 0) {
                char *p = NULL;
                int plen = 0;
                WireMsg m;

                if (bench_dbus_encode(n, &p, &plen) < 0 || wire_message_parse(&m, (const uint8_t *)p, (size_t)plen, 0, NULL) != plen)
                        r = fail("dbus-encode: busrpc does not read libdbus's message");
                dbus_free(p);
        } else if (strcmp(mode, "dbus-decode") == 0) {
                if (bench_dbus_decode((const char *)b.p, len, n, &out) < 0 || out.a != 0 || out.b != 2)
                        r = fail("dbus-decode: wrong values");
        } else {
                fprintf(stderr, "usage: bench-wire encode|decode|dbus-encode|dbus-decode [N]\n");
                r = 2;
        }
        if (r == 0)
                printf("%s: %ld messages of %d bytes\n", mode, n, len);
        wire_buf_free(&b);
        wire_template_clear(&t);
        dbus_shutdown();
        return r;
}
