/* fuzz-msg.h: the input format shared by the runtime's fuzz targets.
 *
 * An input that starts with 'l' or 'B' (a D-Bus byte-order mark) is a
 * whole marshalled message, given to dbus_message_demarshal() as it is:
 * every header field is the fuzzer's. Most mutations of such an input
 * break the header, so there is a second form, which spends the fuzzer's
 * effort on the arguments:
 *
 *     selector byte | signature | NUL | body bytes
 *
 * The selector picks a call from fuzz_calls[] (bit 7: path /fz/child
 * instead of /fz for the calls without a fixed path); the header is built
 * here, little-endian, and the whole is still demarshalled (and so
 * validated) by libdbus: nothing bypasses its checks. fuzz/mkseeds.py
 * writes seeds in both forms; its CALLS list must match fuzz_calls[].
 */
#pragma once

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <dbus/dbus.h>

typedef struct FuzzCall {
        const char *dest, *path, *iface, *member;
} FuzzCall;

#define FUZZ_IFACE "org.busrpc.fuzz.Every"
#define FUZZ_DRIVER "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus"

static const FuzzCall fuzz_calls[] = {
        { NULL, NULL, FUZZ_IFACE, "Basic" },
        { NULL, NULL, FUZZ_IFACE, "Arrays" },
        { NULL, NULL, FUZZ_IFACE, "Enums" },
        { NULL, NULL, FUZZ_IFACE, "Structs" },
        { NULL, NULL, FUZZ_IFACE, "Handles" },
        { NULL, NULL, FUZZ_IFACE, "Maps" },
        { NULL, NULL, FUZZ_IFACE, "Typedefs" },
        { NULL, NULL, FUZZ_IFACE, "Blob" },
        { NULL, NULL, FUZZ_IFACE, "Files" },
        { NULL, NULL, FUZZ_IFACE, "Nested" },
        { NULL, NULL, FUZZ_IFACE, "Fire" },
        { NULL, NULL, FUZZ_IFACE, "Nothing" },
        { NULL, NULL, FUZZ_IFACE, "Fail" },
        { NULL, NULL, "org.freedesktop.DBus.Properties", "Get" },
        { NULL, NULL, "org.freedesktop.DBus.Properties", "Set" },
        { NULL, NULL, "org.freedesktop.DBus.Properties", "GetAll" },
        { NULL, NULL, "org.freedesktop.DBus.Introspectable", "Introspect" },
        { NULL, "/", "org.freedesktop.DBus.ObjectManager", "GetManagedObjects" },
        { NULL, NULL, NULL, "Get" },
        { NULL, NULL, NULL, "Set" },
        { FUZZ_DRIVER, "Hello" },
        { FUZZ_DRIVER, "AddMatch" },
        { FUZZ_DRIVER, "RemoveMatch" },
        { FUZZ_DRIVER, "RequestName" },
        { FUZZ_DRIVER, "ReleaseName" },
        { FUZZ_DRIVER, "GetNameOwner" },
        { FUZZ_DRIVER, "NameHasOwner" },
        { FUZZ_DRIVER, "GetConnectionUnixUser" },
        { FUZZ_DRIVER, "GetConnectionCredentials" },
};

#define FUZZ_N_CALLS (sizeof(fuzz_calls) / sizeof(fuzz_calls[0]))

typedef struct FuzzBuf {
        uint8_t *p;
        size_t n, cap;
} FuzzBuf;

static inline int fuzz_put(FuzzBuf *b, const void *d, size_t n) {
        if (b->n + n > b->cap) {
                size_t cap = (b->n + n) * 2;
                uint8_t *p = realloc(b->p, cap);
                if (!p)
                        return -1;
                b->p = p;
                b->cap = cap;
        }
        if (n)
                memcpy(b->p + b->n, d, n);
        b->n += n;
        return 0;
}

static inline int fuzz_pad(FuzzBuf *b, size_t align) {
        static const uint8_t zero[8];
        return fuzz_put(b, zero, (align - b->n % align) % align);
}

static inline int fuzz_u32(FuzzBuf *b, uint32_t v) {
        uint8_t le[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
        return fuzz_put(b, le, 4);
}

/* A header field (code, type 's'/'o'/'g', value). */
static inline int fuzz_field(FuzzBuf *b, uint8_t code, char type, const char *v, size_t len) {
        uint8_t head[4] = { code, 1, (uint8_t)type, 0 };

        if (fuzz_pad(b, 8) < 0 || fuzz_put(b, head, 4) < 0)
                return -1;
        if (type == 'g') {
                uint8_t l = (uint8_t)len;
                if (fuzz_put(b, &l, 1) < 0)
                        return -1;
        } else if (fuzz_u32(b, (uint32_t)len) < 0)
                return -1;
        return fuzz_put(b, v, len) < 0 || fuzz_put(b, "", 1) < 0 ? -1 : 0;
}

/* The marshalled bytes of an input of the second form (in @b, freed by the
 * caller): 0, or -1 when it has none (no NUL after the signature). */
static inline int fuzz_marshal(const uint8_t *data, size_t size, FuzzBuf *out) {
        const FuzzCall *c;
        const uint8_t *nul;
        const char *path;
        FuzzBuf b = { NULL, 0, 0 };
        size_t siglen, fields_at;
        uint32_t body_len;
        int r = 0;

        c = &fuzz_calls[(data[0] & 0x7f) % FUZZ_N_CALLS];
        path = c->path ? c->path : data[0] & 0x80 ? "/fz/child" : "/fz";
        nul = memchr(data + 1, 0, size - 1 < 256 ? size - 1 : 256);
        if (!nul)
                return -1;
        siglen = (size_t)(nul - (data + 1));
        body_len = (uint32_t)(size - siglen - 2);
        r |= fuzz_put(&b, "l\1\0\1", 4);
        r |= fuzz_u32(&b, body_len);
        r |= fuzz_u32(&b, 1); /* serial */
        r |= fuzz_u32(&b, 0); /* the fields' length, set below */
        fields_at = b.n;
        r |= fuzz_field(&b, 1, 'o', path, strlen(path));
        if (c->iface)
                r |= fuzz_field(&b, 2, 's', c->iface, strlen(c->iface));
        r |= fuzz_field(&b, 3, 's', c->member, strlen(c->member));
        if (c->dest)
                r |= fuzz_field(&b, 6, 's', c->dest, strlen(c->dest));
        if (siglen)
                r |= fuzz_field(&b, 8, 'g', (const char *)data + 1, siglen);
        if (r == 0) {
                uint32_t fl = (uint32_t)(b.n - fields_at);
                uint8_t le[4] = { (uint8_t)fl, (uint8_t)(fl >> 8), (uint8_t)(fl >> 16), (uint8_t)(fl >> 24) };
                memcpy(b.p + 12, le, 4);
                r |= fuzz_pad(&b, 8);
                r |= fuzz_put(&b, nul + 1, body_len);
        }
        if (r != 0 || b.n > 0x7fffffff) {
                free(b.p);
                return -1;
        }
        *out = b;
        return 0;
}

/* The message of an input, or NULL when libdbus refuses it. */
static inline DBusMessage *fuzz_message(const uint8_t *data, size_t size) {
        FuzzBuf b = { NULL, 0, 0 };
        DBusMessage *m;

        if (size == 0 || size > 0x7fffffff)
                return NULL;
        if (data[0] == 'l' || data[0] == 'B')
                return dbus_message_demarshal((const char *)data, (int)size, NULL);
        if (fuzz_marshal(data, size, &b) < 0)
                return NULL;
        m = dbus_message_demarshal((const char *)b.p, (int)b.n, NULL);
        free(b.p);
        return m;
}
