/* fuzz-message.c: libFuzzer target over the typed reader (runtime/message.c)
 * that generated unmarshalling code uses.
 *
 * Each input is a D-Bus message (fuzz-msg.h: a marshalled message, or a
 * selected call's signature and body). Its
 * arguments are read with busrpc_iter_*(), and at every value every reader
 * of another type is tried first: each must fail (-EBADMSG or -EINVAL)
 * without moving the iterator, as generated code relies on when a caller
 * lies about types; then the right reader must succeed. Fixed-size arrays
 * are read whole with busrpc_iter_get_fixed_array() (element count times
 * element size must stay inside the message), other containers entered.
 *
 * Built by fuzz/local.mk with clang -fsanitize=fuzzer,address,undefined;
 * `make fuzz` runs it, tests/test-fuzz.sh runs it for 20 seconds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "message.h"
#include "fuzz-msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char basic_types[] = "ybnqiuxtdsogh";
static const char fixed_types[] = "ybnqiuxtd";

static void die(const char *what, int type) {
        fprintf(stderr, "fuzz-message: %s (type '%c')\n", what, type ? type : '0');
        abort();
}

static size_t fixed_size(int t) {
        switch (t) {
        case 'y':
                return 1;
        case 'n':
        case 'q':
                return 2;
        case 'b':
        case 'i':
        case 'u':
                return 4;
        default:
                return 8;
        }
}

/* Every reader of a type other than @t must refuse, leaving @it where it is. */
static void confuse(busrpc_iter *it, int t) {
        union {
                uint64_t u64;
                const char *s;
                int fd;
        } val;
        const void *items;
        size_t n;
        busrpc_variant *v = NULL;
        busrpc_shm *shm = NULL;
        char sigbuf[BUSRPC_SIGNATURE_MAX + 1];
        busrpc_iter sub;

        for (const char *c = basic_types; *c; c++) {
                if (*c == t)
                        continue;
                if (busrpc_iter_get_basic(it, *c, &val) >= 0)
                        die("busrpc_iter_get_basic read another type", *c);
                if (busrpc_iter_type(it) != t)
                        die("a refused read moved the iterator", *c);
        }
        if (t != BUSRPC_TYPE_ARRAY)
                for (const char *c = fixed_types; *c; c++)
                        if (busrpc_iter_get_fixed_array(it, *c, &items, &n) >= 0)
                                die("busrpc_iter_get_fixed_array read a non-array", *c);
        if (t != BUSRPC_TYPE_VARIANT && busrpc_iter_get_variant(it, &v) >= 0)
                die("busrpc_iter_get_variant read a non-variant", t);
        if (t != BUSRPC_TYPE_UNIX_FD && busrpc_iter_get_shm(it, &shm) >= 0)
                die("busrpc_iter_get_shm read a non-fd", t);
        if (t != BUSRPC_TYPE_ARRAY && t != BUSRPC_TYPE_STRUCT && t != BUSRPC_TYPE_DICT_ENTRY &&
            t != BUSRPC_TYPE_VARIANT && busrpc_iter_recurse(it, &sub) >= 0)
                die("busrpc_iter_recurse entered a basic value", t);
        if (t != BUSRPC_TYPE_VARIANT && busrpc_iter_get_variant_signature(it, sigbuf, sizeof(sigbuf)) != -EBADMSG)
                die("a variant signature for a non-variant", t);
        if (busrpc_iter_type(it) != t)
                die("a refused read moved the iterator", t);
}

static void walk(busrpc_iter *it, unsigned depth) {
        char sigbuf[BUSRPC_SIGNATURE_MAX + 1];
        int t;

        if (depth > 2 * MAX_DEPTH)
                die("deeper than any valid message", 0);
        while ((t = busrpc_iter_type(it)) != BUSRPC_TYPE_INVALID) {
                busrpc_iter sub;
                union {
                        uint64_t u64;
                        const char *s;
                        int fd;
                } val;

                if (busrpc_iter_at_end(it))
                        die("at end with a value left", t);
                confuse(it, t);
                if (t == BUSRPC_TYPE_ARRAY) {
                        const uint8_t *items = NULL;
                        size_t n = 0;
                        int et = 0, r;

                        for (const char *c = fixed_types; *c && !et; c++) {
                                r = busrpc_iter_get_fixed_array(it, *c, (const void **)&items, &n);
                                if (r == 0)
                                        et = *c;
                        }
                        if (et) {
                                /* Touch every byte: ASan checks the count. */
                                volatile uint8_t sum = 0;
                                for (size_t k = 0; k < n * fixed_size(et); k++)
                                        sum += items[k];
                                (void)sum;
                                continue;
                        }
                }
                if (t == BUSRPC_TYPE_ARRAY || t == BUSRPC_TYPE_STRUCT || t == BUSRPC_TYPE_DICT_ENTRY ||
                    t == BUSRPC_TYPE_VARIANT) {
                        if (t == BUSRPC_TYPE_VARIANT && busrpc_iter_get_variant_signature(it, sigbuf, sizeof(sigbuf)) < 0)
                                die("a variant without a signature", t);
                        if (busrpc_iter_recurse(it, &sub) < 0)
                                die("cannot enter a container", t);
                        walk(&sub, depth + 1);
                        continue;
                }
                if (!strchr(basic_types, t))
                        die("an unknown type", t);
                memset(&val, 0, sizeof(val));
                if (busrpc_iter_get_basic(it, t, &val) < 0) {
                        if (t != BUSRPC_TYPE_UNIX_FD)
                                die("the right reader failed", t);
                        return; /* an 'h' with no fd in the message */
                }
                if (t == BUSRPC_TYPE_UNIX_FD)
                        close(val.fd);
                else if (strchr("sog", t) && (!val.s || !dbus_validate_utf8(val.s, NULL)))
                        die("a string that is not UTF-8", t);
        }
        if (!busrpc_iter_at_end(it))
                die("not at end after the last value", 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        DBusMessage *m;
        busrpc_msg *bm;
        busrpc_iter it;

        m = fuzz_message(data, size);
        if (!m)
                return 0;
        bm = msg_new(m, NULL);
        dbus_message_unref(m);
        if (!bm)
                abort();
        if (busrpc_msg_read(bm, &it) < 0)
                die("busrpc_msg_read failed", 0);
        walk(&it, 0);
        busrpc_msg_unref(bm);
        return 0;
}
