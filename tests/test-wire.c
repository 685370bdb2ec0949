/* test-wire.c: runtime/wire*.c, busrpc's own D-Bus wire codec, held
 * against libdbus on the same bytes.
 *
 * - One crafted message per rule of the specification (both byte orders
 *   where it matters): busrpc's verdict and reason, and libdbus's verdict
 *   (dbus_message_demarshal()), must be what the case says; where both
 *   accept, every header field and value must be identical. The few cases
 *   where busrpc is stricter on purpose say so (docs/reliability.md).
 * - Messages libdbus builds (dbus_message_marshal()) decode identically.
 * - Messages busrpc's writer builds, little- and big-endian, load in
 *   libdbus with identical values; header templates too.
 * - The descriptor codec (wire-value-*.c) round-trips the contract's C values.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <unistd.h>

#include "tap.h"
#include "wire-compare.h"
#include "wire.h"

/* ---- a raw message builder: any bytes, valid or not ---- */

typedef struct Raw {
        uint8_t b[8192];
        size_t n;
        bool be;
        size_t fields_at;
} Raw;

static void raw_u8(Raw *r, uint8_t v) {
        r->b[r->n++] = v;
}

static void raw_pad(Raw *r, unsigned a) {
        while (r->n % a)
                r->b[r->n++] = 0;
}

static void raw_u32_at(Raw *r, size_t at, uint32_t v) {
        if (r->be) {
                r->b[at] = (uint8_t)(v >> 24);
                r->b[at + 1] = (uint8_t)(v >> 16);
                r->b[at + 2] = (uint8_t)(v >> 8);
                r->b[at + 3] = (uint8_t)v;
        } else {
                r->b[at] = (uint8_t)v;
                r->b[at + 1] = (uint8_t)(v >> 8);
                r->b[at + 2] = (uint8_t)(v >> 16);
                r->b[at + 3] = (uint8_t)(v >> 24);
        }
}

static void raw_u32(Raw *r, uint32_t v) {
        raw_pad(r, 4);
        raw_u32_at(r, r->n, v);
        r->n += 4;
}

static void raw_bytes(Raw *r, const void *p, size_t n) {
        memcpy(r->b + r->n, p, n);
        r->n += n;
}

/* A string value ('s' / 'o') of @len bytes, then @nul as the terminator. */
static void raw_str(Raw *r, const char *s, size_t len, uint8_t nul) {
        raw_u32(r, (uint32_t)len);
        raw_bytes(r, s, len);
        raw_u8(r, nul);
}

/* An array: its length (patched by raw_array_end()), padding to @align.
 * Returns where the length is. */
static size_t raw_array_begin(Raw *r, unsigned align) {
        size_t at;

        raw_u32(r, 0);
        at = r->n - 4;
        raw_pad(r, align);
        return at;
}

static void raw_array_end(Raw *r, size_t len_at, unsigned align) {
        size_t start = (len_at + 4 + align - 1) / align * align;

        raw_u32_at(r, len_at, (uint32_t)(r->n - start));
}

static void raw_sig(Raw *r, const char *s) {
        raw_u8(r, (uint8_t)strlen(s));
        raw_bytes(r, s, strlen(s) + 1);
}

/* The fixed header; fields follow until raw_fields_end(). */
static void raw_begin(Raw *r, bool be, uint8_t type, uint8_t flags, uint32_t serial) {
        memset(r, 0, sizeof(*r));
        r->be = be;
        raw_u8(r, be ? 'B' : 'l');
        raw_u8(r, type);
        raw_u8(r, flags);
        raw_u8(r, 1);
        raw_u32(r, 0); /* body length, patched */
        raw_u32(r, serial);
        raw_u32(r, 0); /* fields length, patched */
        r->fields_at = r->n;
}

/* A field whose variant holds a string-like value of type @t. */
static void raw_field_s(Raw *r, uint8_t code, char t, const char *s) {
        char sig[2] = { t, 0 };

        raw_pad(r, 8);
        raw_u8(r, code);
        raw_sig(r, sig);
        if (t == 'g')
                raw_sig(r, s);
        else
                raw_str(r, s, strlen(s), 0);
}

static void raw_field_u(Raw *r, uint8_t code, uint32_t v) {
        raw_pad(r, 8);
        raw_u8(r, code);
        raw_sig(r, "u");
        raw_u32(r, v);
}

static void raw_fields_end(Raw *r) {
        raw_u32_at(r, 12, (uint32_t)(r->n - r->fields_at));
        raw_pad(r, 8);
}

static size_t body_at;

static void raw_body_begin(Raw *r) {
        body_at = r->n;
}

static void raw_end(Raw *r) {
        raw_u32_at(r, 4, (uint32_t)(r->n - body_at));
}

/* A method call to /p member M with @sig (no fields end yet when @open). */
static void raw_call(Raw *r, bool be, const char *sig) {
        raw_begin(r, be, WIRE_METHOD_CALL, 0, 7);
        raw_field_s(r, WIRE_FIELD_PATH, 'o', "/p");
        raw_field_s(r, WIRE_FIELD_MEMBER, 's', "M");
        if (sig && *sig)
                raw_field_s(r, WIRE_FIELD_SIGNATURE, 'g', sig);
        raw_fields_end(r);
        raw_body_begin(r);
}

/* ---- the verdicts ---- */

enum { BOTH_OK, BOTH_BAD, STRICTER };

/* WIRE_WRITE_SEEDS=DIR: keep each crafted message as a file (fuzz/regress/wire/ holds them as seeds). */
static void write_seed(const char *name, const uint8_t *bytes, size_t n) {
        const char *dir = getenv("WIRE_WRITE_SEEDS");
        char path[512], *p;
        FILE *f;

        if (!dir)
                return;
        snprintf(path, sizeof(path), "%s/seed-%.56s", dir, name); /* tar (v7) keeps paths of 99 bytes */
        for (p = path + strlen(dir) + 1; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-'))
                        *p = '_';
        f = fopen(path, "wb");
        if (!f || fwrite(bytes, 1, n, f) != n)
                tap_bail("cannot write %s", path);
        fclose(f);
}

/* Run both decoders on @r's bytes: busrpc must say @why (WIRE_OK: accept),
 * libdbus must accept unless @want is BOTH_BAD; STRICTER: busrpc refuses
 * what libdbus accepts, on purpose. Accepted both: identical. */
static void verdict(const char *name, const uint8_t *bytes, size_t n, WireErr why, int want) {
        DBusError de;
        DBusMessage *d;
        WireMsg m;
        char buf[200];
        int k;

        write_seed(name, bytes, n);
        dbus_error_init(&de);
        d = dbus_message_demarshal((const char *)bytes, (int)n, &de);
        k = wire_message_parse(&m, bytes, n, 0, NULL);
        if (!ok(why == WIRE_OK ? k == (int)n : k == -EBADMSG && m.err == why, "%s: busrpc says %s", name,
                wire_strerror(why)))
                tap_diag("  got %d, %s at %u", k, k == -EBADMSG ? wire_strerror(m.err) : "-", m.err_at);
        if (want == BOTH_BAD) {
                if (!ok(!d, "%s: libdbus refuses it too", name))
                        tap_diag("  libdbus accepted it");
        } else if (!ok(d != NULL, "%s: libdbus accepts it%s", name,
                       want == STRICTER ? " (busrpc is stricter: documented)" : ""))
                tap_diag("  libdbus: %s", de.message ? de.message : "?");
        if (d && k > 0) {
                const char *e = wc_message(&m, d, buf, sizeof(buf));
                if (!ok(!e, "%s: same header and values in both", name))
                        tap_diag("  %s", e);
        }
        if (d)
                dbus_message_unref(d);
        dbus_error_free(&de);
}

static void check_raw(const char *name, Raw *r, WireErr why, int want) {
        verdict(name, r->b, r->n, why, want);
}

/* ---- crafted messages: valid ones ---- */

static void test_valid(void) {
        Raw r;
        static const char name[] = "org.example.Name";
        int be;

        for (be = 0; be <= 1; be++) {
                const char *e = be ? " (big-endian)" : "";
                char name_buf[120];

                raw_call(&r, be, "");
                raw_end(&r);
                snprintf(name_buf, sizeof(name_buf), "minimal call%s", e);
                check_raw(name_buf, &r, WIRE_OK, BOTH_OK);

                raw_begin(&r, be, WIRE_SIGNAL, 0, 1);
                raw_field_s(&r, WIRE_FIELD_PATH, 'o', "/a/b_c/D9");
                raw_field_s(&r, WIRE_FIELD_INTERFACE, 's', "org.example.If_1");
                raw_field_s(&r, WIRE_FIELD_MEMBER, 's', "Changed");
                raw_field_s(&r, WIRE_FIELD_SENDER, 's', ":1.42");
                raw_field_s(&r, WIRE_FIELD_SIGNATURE, 'g', "sybnqiuxtdog");
                raw_fields_end(&r);
                raw_body_begin(&r);
                {
                        static const char u[] = "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbe";

                        raw_str(&r, u, strlen(u), 0);
                }
                raw_u8(&r, 7);
                raw_u32(&r, 1);
                raw_pad(&r, 2);
                r.b[r.n++] = 0xff;
                r.b[r.n++] = 0xfe;
                r.b[r.n++] = 1;
                r.b[r.n++] = 2;
                raw_u32(&r, 0xfffffff0);
                raw_u32(&r, 123456);
                raw_pad(&r, 8);
                raw_u32(&r, 1);
                raw_u32(&r, 0x80000000);
                raw_u32(&r, 2);
                raw_u32(&r, 3);
                raw_u32(&r, 0);
                raw_u32(&r, 0x3ff00000); /* 1.0 in either order's high word... any bits do */
                raw_str(&r, "/", 1, 0);
                raw_sig(&r, "a{sv}(i)");
                raw_end(&r);
                snprintf(name_buf, sizeof(name_buf), "signal, every basic type, UTF-8 incl. U+FFFE%s", e);
                check_raw(name_buf, &r, WIRE_OK, BOTH_OK);

                raw_begin(&r, be, WIRE_ERROR, WIRE_FLAG_NO_REPLY | WIRE_FLAG_NO_AUTO_START, 9);
                raw_field_s(&r, WIRE_FIELD_ERROR_NAME, 's', "org.example.Error.Bad");
                raw_field_u(&r, WIRE_FIELD_REPLY_SERIAL, 3);
                raw_field_s(&r, WIRE_FIELD_DESTINATION, 's', name);
                raw_field_s(&r, WIRE_FIELD_SIGNATURE, 'g', "s");
                raw_fields_end(&r);
                raw_body_begin(&r);
                raw_str(&r, "why", 3, 0);
                raw_end(&r);
                snprintf(name_buf, sizeof(name_buf), "error with flags%s", e);
                check_raw(name_buf, &r, WIRE_OK, BOTH_OK);

                /* A return: empty array of structs (padding to 8 after the length), a{sv}, nested variant. */
                raw_begin(&r, be, WIRE_METHOD_RETURN, WIRE_FLAG_ALLOW_INTERACTIVE, 10);
                raw_field_u(&r, WIRE_FIELD_REPLY_SERIAL, 3);
                raw_field_s(&r, WIRE_FIELD_SIGNATURE, 'g', "a(ii)a{sv}vai");
                raw_field_u(&r, WIRE_FIELD_UNIX_FDS, 0);
                raw_fields_end(&r);
                raw_body_begin(&r);
                raw_u32(&r, 0);
                raw_pad(&r, 8);
                {
                        size_t len_at, start;

                        raw_u32(&r, 0);
                        len_at = r.n - 4;
                        raw_pad(&r, 8);
                        start = r.n;
                        raw_str(&r, "k", 1, 0);
                        raw_sig(&r, "(si)");
                        raw_pad(&r, 8);
                        raw_str(&r, "x", 1, 0);
                        raw_u32(&r, 5);
                        raw_pad(&r, 8);
                        raw_str(&r, "k2", 2, 0);
                        raw_sig(&r, "v");
                        raw_sig(&r, "b");
                        raw_u32(&r, 1);
                        raw_u32_at(&r, len_at, (uint32_t)(r.n - start));
                }
                raw_sig(&r, "as");
                {
                        size_t at = raw_array_begin(&r, 4);

                        raw_str(&r, "a", 1, 0);
                        raw_str(&r, "", 0, 0);
                        raw_array_end(&r, at, 4);
                }
                raw_u32(&r, 8);
                raw_u32(&r, 1);
                raw_u32(&r, 2);
                raw_end(&r);
                snprintf(name_buf, sizeof(name_buf), "return: a(ii) empty, a{sv}, v, ai, UNIX_FDS 0%s", e);
                check_raw(name_buf, &r, WIRE_OK, BOTH_OK);
        }

        /* libdbus keeps unknown message types (to be ignored) and unknown fields. */
        raw_begin(&r, false, 7, 0, 1);
        raw_pad(&r, 8);
        raw_u8(&r, 42);
        raw_sig(&r, "a{sv}");
        raw_u32(&r, 0);
        raw_pad(&r, 8);
        raw_fields_end(&r);
        raw_body_begin(&r);
        raw_end(&r);
        check_raw("unknown message type 7 with unknown field 42", &r, WIRE_OK, BOTH_OK);

        /* libdbus's reading of unique names: ":a" (one element) passes. */
        raw_begin(&r, false, WIRE_METHOD_CALL, 0, 1);
        raw_field_s(&r, WIRE_FIELD_PATH, 'o', "/");
        raw_field_s(&r, WIRE_FIELD_MEMBER, 's', "_");
        raw_field_s(&r, WIRE_FIELD_DESTINATION, 's', ":a");
        raw_field_s(&r, WIRE_FIELD_SENDER, 's', ":1.2-3.x");
        raw_fields_end(&r);
        raw_body_begin(&r);
        raw_end(&r);
        check_raw("unique names :a and :1.2-3.x", &r, WIRE_OK, BOTH_OK);

        raw_begin(&r, true, WIRE_METHOD_CALL, 0, 1);
        raw_field_s(&r, WIRE_FIELD_PATH, 'o', "/");
        raw_field_s(&r, WIRE_FIELD_MEMBER, 's', "_");
        raw_field_s(&r, WIRE_FIELD_SENDER, 's', ":");
        raw_fields_end(&r);
        raw_body_begin(&r);
        raw_end(&r);
        check_raw("unique name \":\" (libdbus's reading; the specification wants two elements)", &r, WIRE_OK,
                  BOTH_OK);
}

/* ---- crafted messages: one per rule ---- */

static void test_header_rules(void) {
        Raw r;
        char longname[300], longmember[300];

        raw_call(&r, false, "");
        raw_end(&r);
        r.b[0] = 'x';
        check_raw("byte order 'x'", &r, WIRE_E_ENDIAN, BOTH_BAD);

        raw_call(&r, false, "");
        raw_end(&r);
        r.b[1] = 0;
        check_raw("message type 0", &r, WIRE_E_TYPE, BOTH_BAD);

        raw_call(&r, true, "");
        raw_end(&r);
        r.b[3] = 2;
        check_raw("protocol version 2", &r, WIRE_E_VERSION, BOTH_BAD);

        raw_call(&r, false, "");
        raw_end(&r);
        raw_u32_at(&r, 8, 0);
        check_raw("serial 0", &r, WIRE_E_SERIAL, BOTH_BAD);

        raw_call(&r, false, "");
        raw_end(&r);
        raw_u32_at(&r, 4, WIRE_MAX_MESSAGE);
        check_raw("body length 128 MiB (with the header: too long)", &r, WIRE_E_TOO_LONG, BOTH_BAD);

        raw_call(&r, true, "");
        raw_end(&r);
        raw_u32_at(&r, 12, WIRE_MAX_MESSAGE + 1);
        check_raw("fields length above 128 MiB", &r, WIRE_E_TOO_LONG, BOTH_BAD);

        raw_begin(&r, false, WIRE_METHOD_CALL, 0, 1);
        raw_field_s(&r, WIRE_FIELD_PATH, 'o', "/p");
        raw_field_s(&r, WIRE_FIELD_MEMBER, 's', "M");
        raw_pad(&r, 8);
        raw_u8(&r, 0);
        raw_sig(&r, "u");
        raw_u32(&r, 1);
        raw_fields_end(&r);
        raw_body_begin(&r);
        raw_end(&r);
        check_raw("header field code 0", &r, WIRE_E_FIELD_CODE, BOTH_BAD);

        raw_begin(&r, false, WIRE_METHOD_CALL, 0, 1);
        raw_field_s(&r, WIRE_FIELD_PATH, 's', "/p");
        raw_field_s(&r, WIRE_FIELD_MEMBER, 's', "M");
        raw_fields_end(&r);
        raw_body_begin(&r);
        raw_end(&r);
        check_raw("PATH as a string", &r, WIRE_E_FIELD_TYPE, BOTH_BAD);

        raw_begin(&r, true, WIRE_METHOD_RETURN, 0, 1);
        raw_field_s(&r, WIRE_FIELD_REPLY_SERIAL, 's', "1");
        raw_fields_end(&r);
        raw_body_begin(&r);
        raw_end(&r);
        check_raw("REPLY_SERIAL as a string", &r, WIRE_E_FIELD_TYPE, BOTH_BAD);

        raw_begin(&r, false, WIRE_METHOD_CALL, 0, 1);
        raw_field_s(&r, WIRE_FIELD_PATH, 'o', "/p");
        raw_field_s(&r, WIRE_FIELD_MEMBER, 's', "M");
        raw_field_s(&r, WIRE_FIELD_CONTAINER, 's', "x");
        raw_fields_end(&r);
        raw_body_begin(&r);
        raw_end(&r);
        check_raw("field 10 (libdbus's CONTAINER_INSTANCE) as a string", &r, WIRE_E_FIELD_TYPE, BOTH_BAD);

        raw_begin(&r, false, WIRE_METHOD_CALL, 0, 1);
        raw_field_s(&r, WIRE_FIELD_PATH, 'o', "/p");
        raw_field_s(&r, WIRE_FIELD_MEMBER, 's', "M");
        raw_field_s(&r, WIRE_FIELD_MEMBER, 's', "N");
        raw_fields_end(&r);
        raw_body_begin(&r);
        raw_end(&r);
        check_raw("MEMBER twice", &r, WIRE_E_FIELD_TWICE, BOTH_BAD);

        raw_begin(&r, false, WIRE_METHOD_CALL, 0, 1);
        raw_field_s(&r, WIRE_FIELD_PATH, 'o', "/p");
        raw_fields_end(&r);
        raw_body_begin(&r);
        raw_end(&r);
        check_raw("call without MEMBER", &r, WIRE_E_MISSING, BOTH_BAD);

        raw_begin(&r, false, WIRE_METHOD_CALL, 0, 1);
        raw_field_s(&r, WIRE_FIELD_MEMBER, 's', "M");
        raw_fields_end(&r);
        raw_body_begin(&r);
        raw_end(&r);
        check_raw("call without PATH", &r, WIRE_E_MISSING, BOTH_BAD);

        raw_begin(&r, false, WIRE_SIGNAL, 0, 1);
        raw_field_s(&r, WIRE_FIELD_PATH, 'o', "/p");
        raw_field_s(&r, WIRE_FIELD_MEMBER, 's', "M");
        raw_fields_end(&r);
        raw_body_begin(&r);
        raw_end(&r);
        check_raw("signal without INTERFACE", &r, WIRE_E_MISSING, BOTH_BAD);

        raw_begin(&r, false, WIRE_ERROR, 0, 1);
        raw_field_s(&r, WIRE_FIELD_ERROR_NAME, 's', "a.b");
        raw_fields_end(&r);
        raw_body_begin(&r);
        raw_end(&r);
        check_raw("error without REPLY_SERIAL", &r, WIRE_E_MISSING, BOTH_BAD);

        raw_begin(&r, false, WIRE_ERROR, 0, 1);
        raw_field_u(&r, WIRE_FIELD_REPLY_SERIAL, 1);
        raw_fields_end(&r);
        raw_body_begin(&r);
        raw_end(&r);
        check_raw("error without ERROR_NAME", &r, WIRE_E_MISSING, BOTH_BAD);

        raw_begin(&r, false, WIRE_METHOD_RETURN, 0, 1);
        raw_fields_end(&r);
        raw_body_begin(&r);
        raw_end(&r);
        check_raw("return without REPLY_SERIAL", &r, WIRE_E_MISSING, BOTH_BAD);

        raw_begin(&r, false, WIRE_METHOD_RETURN, 0, 1);
        raw_field_u(&r, WIRE_FIELD_REPLY_SERIAL, 0);
        raw_fields_end(&r);
        raw_body_begin(&r);
        raw_end(&r);
        check_raw("REPLY_SERIAL 0", &r, WIRE_E_REPLY_SERIAL, BOTH_BAD);

        raw_begin(&r, false, WIRE_METHOD_CALL, 0, 1);
        raw_field_s(&r, WIRE_FIELD_PATH, 'o', "/org/freedesktop/DBus/Local");
        raw_field_s(&r, WIRE_FIELD_MEMBER, 's', "M");
        raw_fields_end(&r);
        raw_body_begin(&r);
        raw_end(&r);
        check_raw("path /org/freedesktop/DBus/Local", &r, WIRE_E_LOCAL, BOTH_BAD);

        raw_begin(&r, false, WIRE_METHOD_CALL, 0, 1);
        raw_field_s(&r, WIRE_FIELD_PATH, 'o', "/org/freedesktop/DBus/LocalX/y");
        raw_field_s(&r, WIRE_FIELD_MEMBER, 's', "M");
        raw_fields_end(&r);
        raw_body_begin(&r);
        raw_end(&r);
        check_raw("path with the local path as prefix (libdbus compares a prefix)", &r, WIRE_E_LOCAL, BOTH_BAD);

        raw_begin(&r, false, WIRE_SIGNAL, 0, 1);
        raw_field_s(&r, WIRE_FIELD_PATH, 'o', "/p");
        raw_field_s(&r, WIRE_FIELD_INTERFACE, 's', "org.freedesktop.DBus.Local");
        raw_field_s(&r, WIRE_FIELD_MEMBER, 's', "M");
        raw_fields_end(&r);
        raw_body_begin(&r);
        raw_end(&r);
        check_raw("interface org.freedesktop.DBus.Local", &r, WIRE_E_LOCAL, BOTH_BAD);

        {
                static const char *const paths[] = { "", "p", "//", "/a/", "/a//b", "/a-b", "/a.b", "/\xc3\xa9" };
                size_t i;

                for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
                        char n[80];

                        raw_begin(&r, i % 2, WIRE_METHOD_CALL, 0, 1);
                        raw_field_s(&r, WIRE_FIELD_PATH, 'o', paths[i]);
                        raw_field_s(&r, WIRE_FIELD_MEMBER, 's', "M");
                        raw_fields_end(&r);
                        raw_body_begin(&r);
                        raw_end(&r);
                        snprintf(n, sizeof(n), "bad object path \"%s\"", paths[i]);
                        check_raw(n, &r, WIRE_E_PATH, BOTH_BAD);
                }
        }
        memset(longmember, 'm', 256);
        longmember[256] = '\0';
        memset(longname, 'a', sizeof(longname));
        longname[0] = 'a';
        longname[1] = '.';
        longname[256] = '\0';
        {
                static const char *const ifaces[] = { "nodot", "a..b", "1a.b", ".a.b", "a.b.", "a.1b", "a-b.c", "" };
                size_t i;

                for (i = 0; i <= sizeof(ifaces) / sizeof(ifaces[0]); i++) {
                        const char *s = i < sizeof(ifaces) / sizeof(ifaces[0]) ? ifaces[i] : longname;
                        char n[80];

                        raw_begin(&r, false, WIRE_SIGNAL, 0, 1);
                        raw_field_s(&r, WIRE_FIELD_PATH, 'o', "/p");
                        raw_field_s(&r, WIRE_FIELD_INTERFACE, 's', s);
                        raw_field_s(&r, WIRE_FIELD_MEMBER, 's', "M");
                        raw_fields_end(&r);
                        raw_body_begin(&r);
                        raw_end(&r);
                        snprintf(n, sizeof(n), "bad interface \"%.20s\" (%zu bytes)", s, strlen(s));
                        check_raw(n, &r, WIRE_E_INTERFACE, BOTH_BAD);

                        raw_begin(&r, true, WIRE_ERROR, 0, 1);
                        raw_field_s(&r, WIRE_FIELD_ERROR_NAME, 's', s);
                        raw_field_u(&r, WIRE_FIELD_REPLY_SERIAL, 1);
                        raw_fields_end(&r);
                        raw_body_begin(&r);
                        raw_end(&r);
                        snprintf(n, sizeof(n), "bad error name \"%.20s\"", s);
                        check_raw(n, &r, WIRE_E_ERROR_NAME, BOTH_BAD);
                }
        }
        {
                static const char *const members[] = { "", "1x", "a.b", "a-b", "\xc3\xa9" };
                size_t i;

                for (i = 0; i <= sizeof(members) / sizeof(members[0]); i++) {
                        const char *s = i < sizeof(members) / sizeof(members[0]) ? members[i] : longmember;
                        char n[80];

                        raw_begin(&r, false, WIRE_METHOD_CALL, 0, 1);
                        raw_field_s(&r, WIRE_FIELD_PATH, 'o', "/p");
                        raw_field_s(&r, WIRE_FIELD_MEMBER, 's', s);
                        raw_fields_end(&r);
                        raw_body_begin(&r);
                        raw_end(&r);
                        snprintf(n, sizeof(n), "bad member \"%.20s\" (%zu bytes)", s, strlen(s));
                        check_raw(n, &r, WIRE_E_MEMBER, BOTH_BAD);
                }
        }
        {
                static const char *const names[] = { "nodot", "a..b", "1a.b", ".a.b", "a.b.", ":a.", ":a..b",
                                                     "a.b$", "" };
                size_t i;

                for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                        char n[80];

                        raw_begin(&r, false, WIRE_METHOD_CALL, 0, 1);
                        raw_field_s(&r, WIRE_FIELD_PATH, 'o', "/p");
                        raw_field_s(&r, WIRE_FIELD_MEMBER, 's', "M");
                        raw_field_s(&r, i % 2 ? WIRE_FIELD_SENDER : WIRE_FIELD_DESTINATION, 's', names[i]);
                        raw_fields_end(&r);
                        raw_body_begin(&r);
                        raw_end(&r);
                        snprintf(n, sizeof(n), "bad bus name \"%s\" as %s", names[i],
                                 i % 2 ? "sender" : "destination");
                        check_raw(n, &r, WIRE_E_BUS_NAME, BOTH_BAD);
                }
        }
        {
                static const char *const sigs[] = { "(", ")", "a", "()", "a{vs}", "{ss}", "a{s}", "a{sss}",
                                                    "a{(i)s}", "(i", "r", "m", "ii)", "a{sv", "z" };
                size_t i;

                for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
                        char n[80];

                        raw_call(&r, i % 2, sigs[i]);
                        raw_end(&r);
                        snprintf(n, sizeof(n), "bad signature \"%s\"", sigs[i]);
                        check_raw(n, &r, WIRE_E_SIGNATURE, BOTH_BAD);
                }
        }

        raw_call(&r, false, "");
        raw_end(&r);
        r.b[r.n - 1] = 1; /* the last padding byte of the header */
        check_raw("header padding not zero", &r, WIRE_E_PADDING, BOTH_BAD);
}

/* The 'g' of a call carrying @sig, with @n bytes of @body. */
static void body_case(const char *name, bool be, const char *sig, const void *body, size_t n, WireErr why, int want) {
        Raw r;

        raw_call(&r, be, sig);
        raw_bytes(&r, body, n);
        raw_end(&r);
        check_raw(name, &r, why, want);
}

static void test_body_rules(void) {
        Raw r;
        int be;

        body_case("padding before an int32 not zero", false, "yi", "\x01\x00\x01\x00\x05\x00\x00\x00", 8,
                  WIRE_E_PADDING, BOTH_BAD);
        body_case("body shorter than its signature", false, "u", "\x01\x00", 2, WIRE_E_SHORT, BOTH_BAD);
        body_case("bytes after the last value", false, "y", "\x01\x00", 2, WIRE_E_TRAILING, BOTH_BAD);
        body_case("a body without a signature", false, "", "\x01", 1, WIRE_E_TRAILING, BOTH_BAD);
        body_case("boolean 2", true, "b", "\x00\x00\x00\x02", 4, WIRE_E_BOOL, BOTH_BAD);
        body_case("boolean 2 in an array", false, "ab", "\x08\0\0\0\x01\0\0\0\x02\0\0\0", 12, WIRE_E_BOOL,
                  BOTH_BAD);
        body_case("string length past the end", false, "s", "\x09\0\0\0abc\0", 8, WIRE_E_SHORT, BOTH_BAD);
        body_case("string without its NUL", false, "s", "\x03\0\0\0abcd", 8, WIRE_E_NUL, BOTH_BAD);
        body_case("string with a NUL inside", false, "s", "\x03\0\0\0a\0c\0", 8, WIRE_E_UTF8, BOTH_BAD);
        body_case("overlong UTF-8 (C0 80)", false, "s", "\x02\0\0\0\xc0\x80\0", 7, WIRE_E_UTF8, BOTH_BAD);
        body_case("overlong UTF-8 (E0 80 AF)", false, "s", "\x03\0\0\0\xe0\x80\xaf\0", 8, WIRE_E_UTF8, BOTH_BAD);
        body_case("UTF-16 surrogate (ED A0 80)", true, "s", "\0\0\0\x03\xed\xa0\x80\0", 8, WIRE_E_UTF8, BOTH_BAD);
        body_case("above U+10FFFF (F4 90 80 80)", false, "s", "\x04\0\0\0\xf4\x90\x80\x80\0", 9, WIRE_E_UTF8,
                  BOTH_BAD);
        body_case("truncated UTF-8 sequence", false, "s", "\x02\0\0\0\xe2\x82\0", 7, WIRE_E_UTF8, BOTH_BAD);
        body_case("lone continuation byte", false, "s", "\x01\0\0\0\x80\0", 6, WIRE_E_UTF8, BOTH_BAD);
        body_case("bad object path value", false, "o", "\x03\0\0\0/a/\0", 8, WIRE_E_PATH, BOTH_BAD);
        body_case("object path without its NUL", false, "o", "\x02\0\0\0/ab", 7, WIRE_E_NUL, BOTH_BAD);
        body_case("bad signature value", false, "g", "\x02(i\0", 4, WIRE_E_SIGNATURE, BOTH_BAD);
        body_case("signature value without its NUL", false, "g", "\x01ii", 3, WIRE_E_NUL, BOTH_BAD);
        body_case("array length past the end", false, "ay", "\x09\0\0\0abc", 7, WIRE_E_SHORT, BOTH_BAD);
        body_case("array padding not zero", false, "at", "\x00\0\0\0\x01\0\0\0", 8, WIRE_E_PADDING, BOTH_BAD);
        body_case("array elements past its length", false, "as", "\x06\0\0\0\0\0\0\0\0x\0\0", 12,
                  WIRE_E_SHORT, BOTH_BAD);
        body_case("variant signature empty", false, "v", "\x00\0", 2, WIRE_E_VARIANT, BOTH_BAD);
        body_case("variant signature of two types", false, "v", "\x02ii\0\x01\0\0\0\x02\0\0\0", 12,
                  WIRE_E_VARIANT, BOTH_BAD);
        body_case("variant signature invalid", false, "v", "\x01" "a\0", 3, WIRE_E_VARIANT, BOTH_BAD);
        body_case("variant signature without NUL", false, "v", "\x01yy\x05", 4, WIRE_E_NUL, BOTH_BAD);
        body_case("struct padding not zero", false, "y(y)", "\x01\x02\0\0\0\0\0\0\x03", 9, WIRE_E_PADDING,
                  BOTH_BAD);

        /* Where busrpc is stricter than libdbus, on purpose (docs/reliability.md). */
        body_case("int32 array of 3 bytes", false, "ai", "\x03\0\0\0abc", 7, WIRE_E_ARRAY_PARTIAL, BOTH_BAD);
        body_case("fd index 0 with no UNIX_FDS", false, "h", "\0\0\0\0", 4, WIRE_E_FD_INDEX, STRICTER);
        body_case("fd index in an array, no UNIX_FDS", true, "ah", "\0\0\0\x04\0\0\0\0", 8, WIRE_E_FD_INDEX,
                  STRICTER);

        /* UNIX_FDS: demarshal has no fds to give, so 1 is refused by both. */
        raw_begin(&r, false, WIRE_METHOD_CALL, 0, 1);
        raw_field_s(&r, WIRE_FIELD_PATH, 'o', "/p");
        raw_field_s(&r, WIRE_FIELD_MEMBER, 's', "M");
        raw_field_s(&r, WIRE_FIELD_SIGNATURE, 'g', "h");
        raw_field_u(&r, WIRE_FIELD_UNIX_FDS, 1);
        raw_fields_end(&r);
        raw_body_begin(&r);
        raw_u32(&r, 0);
        raw_end(&r);
        check_raw("UNIX_FDS 1, no fd received", &r, WIRE_E_FDS_MISSING, BOTH_BAD);
        {
                WireMsg m;
                int k = wire_message_parse(&m, r.b, r.n, 1, NULL);

                ok(k == (int)r.n && m.unix_fds == 1, "UNIX_FDS 1 with one fd received: valid");
                r.b[r.n - 4] = 1;
                k = wire_message_parse(&m, r.b, r.n, 2, NULL);
                ok(k == -EBADMSG && m.err == WIRE_E_FD_INDEX, "fd index 1 with UNIX_FDS 1: out of range");
        }

        /* Nesting: 32 arrays in one signature pass, 33 do not. */
        for (be = 32; be <= 33; be++) {
                char sig[80], n[80];

                memset(sig, 'a', (size_t)be);
                strcpy(sig + be, "y");
                snprintf(n, sizeof(n), "%d nested arrays", be);
                body_case(n, false, sig, "\0\0\0\0", 4, be == 32 ? WIRE_OK : WIRE_E_DEPTH,
                          be == 32 ? BOTH_OK : BOTH_BAD);
                memset(sig, '(', (size_t)be);
                sig[be] = 'y';
                memset(sig + be + 1, ')', (size_t)be);
                sig[2 * be + 1] = '\0';
                snprintf(n, sizeof(n), "%d nested structs", be);
                body_case(n, false, sig, "\x05", 1, be == 32 ? WIRE_OK : WIRE_E_DEPTH, be == 32 ? BOTH_OK : BOTH_BAD);
        }
        {
                /* 33 arrays, apart by structs: libdbus counts only consecutive 'a's. */
                char sig[200];
                size_t n = 0;
                int i;

                for (i = 0; i < 33; i++) {
                        sig[n++] = 'a';
                        if (i < 32)
                                sig[n++] = '(';
                }
                sig[n++] = 'y';
                for (i = 0; i < 32; i++)
                        sig[n++] = ')';
                sig[n] = '\0';
                body_case("33 arrays nested through structs (libdbus counts consecutive 'a's only)", false, sig,
                          "\0\0\0\0\0\0\0\0", 8, WIRE_E_DEPTH, STRICTER);
        }
        {
                /* Variants: 64 containers in all pass, 65 do not. */
                uint8_t body[200];
                size_t n;
                int depth, i;

                for (depth = 63; depth <= 64; depth++) {
                        char name[80];

                        n = 0;
                        for (i = 0; i < depth; i++) {
                                body[n++] = 1;
                                body[n++] = 'v';
                                body[n++] = 0;
                        }
                        body[n++] = 1;
                        body[n++] = 'y';
                        body[n++] = 0;
                        body[n++] = 9;
                        snprintf(name, sizeof(name), "%d variants in a variant", depth);
                        body_case(name, false, "v", body, n, depth == 63 ? WIRE_OK : WIRE_E_DEPTH,
                                  depth == 63 ? BOTH_OK : BOTH_BAD);
                }
        }
}

/* A stream reader's view: too few bytes is "need N more", not "invalid". */
static void test_incomplete(void) {
        Raw r;
        WireMsg m;
        size_t need = 0, cut;
        int k, all = 1;

        raw_call(&r, false, "s");
        raw_str(&r, "hello", 5, 0);
        raw_end(&r);
        k = wire_message_parse(&m, r.b, 10, 0, &need);
        ok(k == -EAGAIN && need == 6, "10 bytes: need 6 more for the fixed header (got %d, %zu)", k, need);
        k = wire_message_parse(&m, r.b, 16, 0, &need);
        ok(k == -EAGAIN && need == r.n - 16, "16 bytes: need the rest of the message (%zu)", need);
        for (cut = 0; cut < r.n; cut++) {
                DBusMessage *d = dbus_message_demarshal((const char *)r.b, (int)cut, NULL);

                k = wire_message_parse(&m, r.b, cut, 0, &need);
                if (k != -EAGAIN || need == 0 || d) {
                        all = 0;
                        tap_diag("cut at %zu: %d need %zu, libdbus %p", cut, k, need, (void *)d);
                }
                if (d)
                        dbus_message_unref(d);
        }
        ok(all, "every prefix of a message is incomplete for busrpc and refused by libdbus");
        r.b[0] = 'x';
        k = wire_message_parse(&m, r.b, 16, 0, &need);
        ok(k == -EBADMSG && m.err == WIRE_E_ENDIAN, "a bad fixed header is invalid before the rest arrives");
        {
                /* Two messages in one buffer: the first is parsed, its length returned. */
                uint8_t two[2 * sizeof(r.b)];

                r.b[0] = 'l';
                memcpy(two, r.b, r.n);
                memcpy(two + r.n, r.b, r.n);
                k = wire_message_parse(&m, two, 2 * r.n, 0, NULL);
                ok(k == (int)r.n, "two messages back to back: the first one's length");
        }
}

/* A 64 MiB + 1 array: the length rule itself (with all its bytes there). */
static void test_array_max(void) {
        size_t len = WIRE_MAX_ARRAY + 8, n;
        uint8_t *b = calloc(1, len + 256);
        Raw hdr;
        DBusMessage *d;
        WireMsg m;
        int k;

        if (!b)
                tap_bail("no memory for the 64 MiB case");
        raw_call(&hdr, false, "ay");
        memcpy(b, hdr.b, hdr.n);
        n = hdr.n;
        b[n] = 1; /* length 64 MiB + 1, little-endian */
        b[n + 3] = 4;
        n += 4 + WIRE_MAX_ARRAY + 1;
        b[4] = (uint8_t)((n - hdr.n) & 0xff);
        b[5] = (uint8_t)((n - hdr.n) >> 8);
        b[6] = (uint8_t)((n - hdr.n) >> 16);
        b[7] = (uint8_t)((n - hdr.n) >> 24);
        k = wire_message_parse(&m, b, n, 0, NULL);
        ok(k == -EBADMSG && m.err == WIRE_E_ARRAY_LEN, "array of 64 MiB + 1: %s", wire_strerror(m.err));
        d = dbus_message_demarshal((const char *)b, (int)n, NULL);
        ok(!d, "libdbus refuses it too");
        if (d)
                dbus_message_unref(d);
        b[n - 1 - WIRE_MAX_ARRAY - 4] = 0; /* length exactly 64 MiB, one byte less of body */
        n -= 1;
        b[4] = (uint8_t)((n - hdr.n) & 0xff);
        k = wire_message_parse(&m, b, n, 0, NULL);
        ok(k == (int)n, "array of exactly 64 MiB: valid");
        free(b);
}

/* ---- what libdbus builds, busrpc reads ---- */

static void check_libdbus_built(const char *name, DBusMessage *d) {
        char *bytes = NULL;
        int len = 0;
        WireMsg m;
        char buf[200];
        const char *e;
        int k;

        dbus_message_set_serial(d, 77);
        if (!dbus_message_marshal(d, &bytes, &len))
                tap_bail("dbus_message_marshal failed");
        k = wire_message_parse(&m, (const uint8_t *)bytes, (size_t)len, 0, NULL);
        if (!ok(k == len, "libdbus-built %s: busrpc accepts it", name))
                tap_diag("  %d %s at %u", k, wire_strerror(m.err), m.err_at);
        if (k == len) {
                e = wc_message(&m, d, buf, sizeof(buf));
                if (!ok(!e, "libdbus-built %s: same header and values", name))
                        tap_diag("  %s", e);
        }
        dbus_free(bytes);
}

static void test_libdbus_built(void) {
        DBusMessage *d;
        DBusMessageIter it, sub, ent, var;
        const char *s = "str \xc3\xa9", *p = "/a/b", *g = "a{sv}";
        dbus_bool_t b = TRUE;
        uint8_t y = 200;
        int16_t n = -3;
        uint16_t q = 65535;
        int32_t i = -100000;
        uint32_t u = 4000000000u;
        int64_t x = INT64_MIN;
        uint64_t t = UINT64_MAX;
        double dd = -2.5;
        int32_t arr[5] = { 1, -2, 3, -4, 5 };
        const int32_t *ap = arr;
        int k;

        d = dbus_message_new_method_call("org.example.Dest", "/org/example/Obj", "org.example.If", "Method");
        dbus_message_append_args(d, DBUS_TYPE_BOOLEAN, &b, DBUS_TYPE_BYTE, &y, DBUS_TYPE_INT16, &n,
                                 DBUS_TYPE_UINT16, &q, DBUS_TYPE_INT32, &i, DBUS_TYPE_UINT32, &u, DBUS_TYPE_INT64,
                                 &x, DBUS_TYPE_UINT64, &t, DBUS_TYPE_DOUBLE, &dd, DBUS_TYPE_STRING, &s,
                                 DBUS_TYPE_OBJECT_PATH, &p, DBUS_TYPE_SIGNATURE, &g, DBUS_TYPE_ARRAY,
                                 DBUS_TYPE_INT32, &ap, 5, DBUS_TYPE_INVALID);
        dbus_message_iter_init_append(d, &it);
        dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{sv}", &sub);
        for (k = 0; k < 3; k++) {
                dbus_message_iter_open_container(&sub, DBUS_TYPE_DICT_ENTRY, NULL, &ent);
                dbus_message_iter_append_basic(&ent, DBUS_TYPE_STRING, &s);
                dbus_message_iter_open_container(&ent, DBUS_TYPE_VARIANT, k ? "(yd)" : "as", &var);
                if (k) {
                        DBusMessageIter st;

                        dbus_message_iter_open_container(&var, DBUS_TYPE_STRUCT, NULL, &st);
                        dbus_message_iter_append_basic(&st, DBUS_TYPE_BYTE, &y);
                        dbus_message_iter_append_basic(&st, DBUS_TYPE_DOUBLE, &dd);
                        dbus_message_iter_close_container(&var, &st);
                } else {
                        DBusMessageIter as;

                        dbus_message_iter_open_container(&var, DBUS_TYPE_ARRAY, "s", &as);
                        dbus_message_iter_append_basic(&as, DBUS_TYPE_STRING, &s);
                        dbus_message_iter_append_basic(&as, DBUS_TYPE_STRING, &p);
                        dbus_message_iter_close_container(&var, &as);
                }
                dbus_message_iter_close_container(&ent, &var);
                dbus_message_iter_close_container(&sub, &ent);
        }
        dbus_message_iter_close_container(&it, &sub);
        dbus_message_set_sender(d, ":1.7");
        dbus_message_set_no_reply(d, TRUE);
        check_libdbus_built("call of every type", d);
        {
                DBusMessage *rep = dbus_message_new_method_return(d);
                DBusMessage *err = dbus_message_new_error(d, "org.example.Error.Nope", "no");
                DBusMessage *sig = dbus_message_new_signal("/s", "org.example.S", "Sig");

                dbus_message_set_serial(d, 5);
                dbus_message_set_reply_serial(rep, 5);
                dbus_message_set_reply_serial(err, 5);
                check_libdbus_built("empty return", rep);
                check_libdbus_built("error", err);
                check_libdbus_built("empty signal", sig);
                dbus_message_unref(rep);
                dbus_message_unref(err);
                dbus_message_unref(sig);
        }
        dbus_message_unref(d);
}

/* ---- what busrpc writes, libdbus reads ---- */

static void check_busrpc_built(const char *name, WireBuf *b, int len) {
        DBusError de;
        DBusMessage *d;
        WireMsg m;
        char buf[200];
        const char *e;
        int k;

        dbus_error_init(&de);
        if (!ok(len > 0 && (size_t)len == b->n, "busrpc-built %s: written (%d)", name, len))
                return;
        d = dbus_message_demarshal((const char *)b->p, len, &de);
        if (!ok(d != NULL, "busrpc-built %s: libdbus accepts it", name)) {
                tap_diag("  %s", de.message);
                dbus_error_free(&de);
                return;
        }
        k = wire_message_parse(&m, b->p, b->n, 0, NULL);
        ok(k == len, "busrpc-built %s: busrpc accepts it", name);
        if (k == len) {
                e = wc_message(&m, d, buf, sizeof(buf));
                if (!ok(!e, "busrpc-built %s: libdbus reads the same values", name))
                        tap_diag("  %s", e);
        }
        dbus_message_unref(d);
}

static void test_writer(void) {
        int be;

        for (be = 0; be <= 1; be++) {
                uint8_t endian = be ? WIRE_BIG : WIRE_LITTLE;
                WireBuf body, msg;
                WireWriter w, a, e, v, st;
                WireHeader h = { .type = WIRE_METHOD_CALL,
                                 .path = "/org/example/Obj",
                                 .interface = "org.example.If",
                                 .member = "Every",
                                 .destination = "org.example.Dest" };
                char sig[WIRE_MAX_SIGNATURE + 1], name[80];
                uint32_t bv = 1, uv = 0xdeadbeef, hv = 0;
                uint8_t yv = 0xab;
                int16_t nv = -2;
                uint64_t tv = 0x0102030405060708ull;
                double dv = 3.25;
                const char *s = "sm\xc3\xb6rg\xc3\xa5sbord", *p = "/x/y", *g = "a(ii)";
                int32_t items[4] = { 7, -8, 9, INT32_MIN };
                uint16_t qs[3] = { 1, 2, 65535 };
                int k;

                wire_buf_init(&body);
                wire_buf_init(&msg);
                wire_writer_init(&w, &body, 0, endian, sig);
                wire_write_basic(&w, 'b', &bv);
                wire_write_basic(&w, 'y', &yv);
                wire_write_basic(&w, 'n', &nv);
                wire_write_basic(&w, 'u', &uv);
                wire_write_basic(&w, 't', &tv);
                wire_write_basic(&w, 'd', &dv);
                wire_write_basic(&w, 's', &s);
                wire_write_basic(&w, 'o', &p);
                wire_write_basic(&w, 'g', &g);
                wire_write_fixed_array(&w, 'i', items, 4);
                wire_write_fixed_array(&w, 'q', qs, 3);
                wire_write_fixed_array(&w, 'x', NULL, 0);
                wire_write_open(&w, &a, 'a', "{sv}");
                wire_write_open(&a, &e, 'e', NULL);
                wire_write_basic(&e, 's', &s);
                wire_write_open(&e, &v, 'v', "(yt)");
                wire_write_open(&v, &st, 'r', NULL);
                wire_write_basic(&st, 'y', &yv);
                wire_write_basic(&st, 't', &tv);
                wire_write_close(&v, &st);
                wire_write_close(&e, &v);
                wire_write_close(&a, &e);
                wire_write_close(&w, &a);
                wire_write_open(&w, &st, 'r', "ias");
                wire_write_basic(&st, 'i', &items[1]);
                wire_write_open(&st, &a, 'a', "s");
                wire_write_close(&st, &a);
                wire_write_close(&w, &st);
                ok(body.err == 0, "writer: no error");
                is_str(sig, "bynutdsogaiaqaxa{sv}(ias)", "writer: the signature it built");
                h.signature = sig;
                k = wire_message_build(&msg, endian, &h, 1234, body.p, body.n);
                snprintf(name, sizeof(name), "call of every kind%s", be ? " (big-endian)" : "");
                check_busrpc_built(name, &msg, k);
                {
                        /* Values as written, read back by libdbus. */
                        DBusMessage *d = dbus_message_demarshal((const char *)msg.p, (int)msg.n, NULL);
                        DBusMessageIter it;
                        dbus_uint64_t t2 = 0;
                        double d2 = 0;
                        const char *s2 = NULL;

                        if (d) {
                                dbus_message_iter_init(d, &it);
                                dbus_message_iter_next(&it);
                                dbus_message_iter_next(&it);
                                dbus_message_iter_next(&it);
                                dbus_message_iter_next(&it);
                                dbus_message_iter_get_basic(&it, &t2);
                                dbus_message_iter_next(&it);
                                dbus_message_iter_get_basic(&it, &d2);
                                dbus_message_iter_next(&it);
                                dbus_message_iter_get_basic(&it, &s2);
                                ok(t2 == tv && d2 == dv && wc_streq(s2, s),
                                   "libdbus reads the uint64, double and string as written%s",
                                   be ? " (big-endian)" : "");
                                ok(dbus_message_get_serial(d) == 1234, "serial as given");
                                dbus_message_unref(d);
                        }
                }
                /* Refusals: what the specification forbids is -EINVAL, sticky. */
                wire_buf_free(&body);
                wire_writer_init(&w, &body, 0, endian, sig);
                s = "bad\xc0\x80";
                ok(wire_write_basic(&w, 's', &s) == -EINVAL, "writer refuses overlong UTF-8");
                ok(wire_write_basic(&w, 'u', &hv) == -EINVAL, "and stays failed (sticky)");
                wire_buf_free(&body);
                wire_writer_init(&w, &body, 0, endian, sig);
                p = "/a/";
                ok(wire_write_basic(&w, 'o', &p) == -EINVAL, "writer refuses path /a/");
                wire_buf_free(&body);
                wire_writer_init(&w, &body, 0, endian, sig);
                ok(wire_write_open(&w, &v, 'v', "ii") == -EINVAL, "writer refuses a variant of two types");
                wire_buf_free(&body);
                wire_writer_init(&w, &body, 0, endian, sig);
                {
                        WireWriter outer[64];
                        int lvl, bad = 0;

                        /* 63 variants deep, then one holding an (empty) array: 65 containers in all. */
                        for (lvl = 0; lvl < 63; lvl++)
                                bad |= wire_write_open(lvl ? &outer[lvl - 1] : &w, &outer[lvl], 'v', "v") < 0;
                        ok(!bad && wire_write_open(&outer[62], &v, 'v', "ai") == -EINVAL,
                           "writer refuses a variant whose type nests beyond 64 containers in all");
                }
                wire_buf_free(&body);
                wire_writer_init(&w, &body, 0, endian, sig);
                ok(wire_write_open(&w, &e, 'e', NULL) == -EINVAL, "writer refuses a dict entry outside an array");
                wire_buf_free(&body);
                wire_buf_free(&msg);
        }
}

/* ---- header templates ---- */

static void test_template(void) {
        WireTemplate t, rt;
        WireHeader h = { .type = WIRE_METHOD_CALL,
                         .path = "/org/example/Calculator",
                         .interface = "org.example.Calculator",
                         .member = "Add",
                         .destination = "org.example.Calc",
                         .signature = "ii" };
        WireHeader rh = { .type = WIRE_METHOD_RETURN, .signature = "i", .destination = ":1.5" };
        WireBuf b;
        WireWriter w;
        int32_t a = 40, c = 2;
        int at, k, i;
        bool all = true;

        ok(wire_template_init(&t, WIRE_LITTLE, &h, 0) == 0, "template of Add(int32, int32)");
        ok(t.len % 8 == 0, "template length is 8-aligned (%u)", t.len);
        wire_buf_init(&b);
        for (i = 1; i <= 3; i++) {
                DBusMessage *d;
                dbus_int32_t x = 0, y = 0;

                b.n = 0;
                at = wire_template_begin(&t, &b, &w, NULL);
                a = 40 + i;
                wire_write_basic(&w, 'i', &a);
                wire_write_basic(&w, 'i', &c);
                k = wire_template_finish(&t, &b, (size_t)at, (uint32_t)i, 0, 0);
                d = dbus_message_demarshal((const char *)b.p, k, NULL);
                if (!d || dbus_message_get_serial(d) != (uint32_t)i ||
                    !dbus_message_get_args(d, NULL, DBUS_TYPE_INT32, &x, DBUS_TYPE_INT32, &y, DBUS_TYPE_INVALID) ||
                    x != a || y != 2 || !wc_streq(dbus_message_get_member(d), "Add") ||
                    !wc_streq(dbus_message_get_destination(d), "org.example.Calc"))
                        all = false;
                if (d)
                        dbus_message_unref(d);
        }
        ok(all, "three messages from one template: libdbus reads serial, member, destination, arguments");
        ok(wire_template_init(&rt, WIRE_BIG, &rh, WIRE_SLOT_REPLY_SERIAL | WIRE_SLOT_UNIX_FDS) == 0,
           "big-endian return template with REPLY_SERIAL and UNIX_FDS slots");
        b.n = 0;
        at = wire_template_begin(&rt, &b, &w, NULL);
        wire_write_basic(&w, 'i', &a);
        k = wire_template_finish(&rt, &b, (size_t)at, 9, 41, 0);
        {
                DBusMessage *d = dbus_message_demarshal((const char *)b.p, k, NULL);
                dbus_int32_t x = 0;

                ok(d && dbus_message_get_reply_serial(d) == 41 && dbus_message_get_serial(d) == 9 &&
                           dbus_message_get_args(d, NULL, DBUS_TYPE_INT32, &x, DBUS_TYPE_INVALID) && x == a,
                   "libdbus reads the patched reply serial, serial and value");
                if (d)
                        dbus_message_unref(d);
        }
        ok(wire_template_finish(&rt, &b, (size_t)at, 9, 0, 0) == -EINVAL, "a reply template needs a reply serial");
        wire_template_clear(&rt);
        h.member = "1bad";
        ok(wire_template_init(&rt, WIRE_LITTLE, &h, 0) == -EINVAL, "a bad member is refused once, at build time");
        h.member = NULL;
        ok(wire_template_init(&rt, WIRE_LITTLE, &h, 0) == -EINVAL, "a call without member is refused");
        wire_template_clear(&t);
        wire_buf_free(&b);
}

/* ---- re-encoding and the generic copy ---- */

static void test_reencode(void) {
        Raw r;
        WireMsg m, m2;
        WireBuf b;
        int k, be;

        raw_begin(&r, true, WIRE_SIGNAL, 0, 3);
        raw_field_s(&r, WIRE_FIELD_PATH, 'o', "/p");
        raw_field_s(&r, WIRE_FIELD_INTERFACE, 's', "a.b");
        raw_field_s(&r, WIRE_FIELD_MEMBER, 's', "S");
        raw_field_s(&r, WIRE_FIELD_SIGNATURE, 'g', "ava{st}");
        raw_fields_end(&r);
        raw_body_begin(&r);
        {
                size_t at = raw_array_begin(&r, 1);

                raw_sig(&r, "q");
                raw_u8(&r, 0);
                r.b[r.n++] = 0x12;
                r.b[r.n++] = 0x34;
                raw_sig(&r, "y");
                raw_u8(&r, 9);
                raw_array_end(&r, at, 1);
                at = raw_array_begin(&r, 8);
                raw_str(&r, "one", 3, 0);
                raw_pad(&r, 8);
                raw_u32(&r, 0);
                raw_u32(&r, 1);
                raw_array_end(&r, at, 8);
        }
        raw_end(&r);
        k = wire_message_parse(&m, r.b, r.n, 0, NULL);
        if (!ok(k == (int)r.n, "big-endian av a{st} message parses"))
                tap_diag("  %s at %u", wire_strerror(m.err), m.err_at);
        wire_buf_init(&b);
        for (be = 0; be <= 1 && k > 0; be++) {
                DBusMessage *d;
                char buf[200];
                const char *e;
                int k2 = wc_reencode(&m, be ? WIRE_BIG : WIRE_LITTLE, &b);

                ok(k2 > 0, "re-encoded %s-endian", be ? "big" : "little");
                d = k2 > 0 ? dbus_message_demarshal((const char *)b.p, k2, NULL) : NULL;
                ok(d != NULL, "libdbus accepts the re-encoding");
                if (d) {
                        e = wc_message(&m, d, buf, sizeof(buf));
                        if (!ok(!e, "with the values of the original"))
                                tap_diag("  %s", e);
                        dbus_message_unref(d);
                }
                ok(wire_message_parse(&m2, b.p, b.n, 0, NULL) == k2, "busrpc accepts it too");
        }
        wire_buf_free(&b);
}

/* ---- the descriptor codec ---- */

typedef struct Point {
        int32_t x, y;
} Point;

typedef struct PointArray {
        Point *items;
        size_t n;
} PointArray;

typedef struct StrU64Map {
        char **keys;
        uint64_t *values;
        size_t n;
} StrU64Map;

typedef struct BoolArray {
        bool *items;
        size_t n;
} BoolArray;

typedef enum Mode { MODE_A = 0, MODE_B = 5, MODE_C = -3 } Mode;

typedef struct Everything {
        bool b;
        uint8_t y;
        int16_t n;
        uint64_t t;
        double d;
        char *s;
        char *o;
        char *g;
        Point p;
        PointArray pts;
        StrU64Map counts;
        BoolArray bools;
        Mode mode;
        uint32_t caps;
        busrpc_variant *v;
        int fd;
} Everything;

static const busrpc_type t_bool = { .kind = 'b', .size = sizeof(bool), .signature = "b" };
static const busrpc_type t_byte = { .kind = 'y', .size = 1, .signature = "y" };
static const busrpc_type t_i16 = { .kind = 'n', .size = 2, .signature = "n" };
static const busrpc_type t_i32 = { .kind = 'i', .size = 4, .signature = "i" };
static const busrpc_type t_u64 = { .kind = 't', .size = 8, .signature = "t" };
static const busrpc_type t_dbl = { .kind = 'd', .size = 8, .signature = "d" };
static const busrpc_type t_str = { .kind = 's', .size = sizeof(char *), .signature = "s" };
static const busrpc_type t_path = { .kind = 'o', .size = sizeof(char *), .signature = "o" };
static const busrpc_type t_sig = { .kind = 'g', .size = sizeof(char *), .signature = "g" };
static const busrpc_type t_var = { .kind = 'v', .size = sizeof(void *), .signature = "v" };
static const busrpc_type t_fd = { .kind = 'h', .size = sizeof(int), .signature = "h" };
static const busrpc_field point_fields[] = { { &t_i32, offsetof(Point, x), "x" }, { &t_i32, offsetof(Point, y), "y" } };
static const busrpc_type t_point = { .kind = 'r',
                                     .size = sizeof(Point),
                                     .signature = "(ii)",
                                     .name = "t_point",
                                     .fields = point_fields,
                                     .n_fields = 2 };
static const busrpc_type t_points = { .kind = 'a', .size = sizeof(PointArray), .signature = "a(ii)", .elem = &t_point };
static const busrpc_type t_counts = {
        .kind = 'e', .size = sizeof(StrU64Map), .signature = "a{st}", .name = "t_counts", .elem = &t_str, .value = &t_u64
};
static const busrpc_type t_bools = { .kind = 'a', .size = sizeof(BoolArray), .signature = "ab", .elem = &t_bool };
static const uint64_t mode_values[] = { 0, 5, (uint64_t)(int64_t)-3 };
static const busrpc_type t_mode = { .kind = 'E',
                                    .wire = 'i',
                                    .size = sizeof(Mode),
                                    .signature = "i",
                                    .name = "t_mode",
                                    .values = mode_values,
                                    .n_values = 3 };
static const busrpc_type t_caps = {
        .kind = 'F', .wire = 'q', .size = 4, .signature = "q", .name = "t_caps", .mask = 0x3
};
#define F(t, m, n) { &t, offsetof(Everything, m), n }
static const busrpc_field every_fields[] = {
        F(t_bool, b, "b"),     F(t_byte, y, "y"),       F(t_i16, n, "n"),   F(t_u64, t, "t"),
        F(t_dbl, d, "d"),      F(t_str, s, "s"),        F(t_path, o, "o"),  F(t_sig, g, "g"),
        F(t_point, p, "p"),    F(t_points, pts, "pts"), F(t_counts, counts, "counts"),
        F(t_bools, bools, "bools"), F(t_mode, mode, "mode"), F(t_caps, caps, "caps"), F(t_var, v, "v"),
        F(t_fd, fd, "fd"),
};
static const busrpc_args every_args = { "byntdsog(ii)a(ii)a{st}abiqvh", every_fields,
                                        sizeof(every_fields) / sizeof(every_fields[0]), sizeof(Everything) };

static void test_descriptors(void) {
        Point pts[3] = { { 1, 2 }, { -3, 4 }, { INT32_MAX, INT32_MIN } };
        char *keys[2] = { "alpha", "\xce\xb2" };
        uint64_t vals[2] = { 10, UINT64_MAX };
        bool bools[3] = { true, false, true };
        Everything in = { .b = true,
                          .y = 0xfe,
                          .n = -1234,
                          .t = 1ull << 40,
                          .d = 0.125,
                          .s = "hello",
                          .o = NULL, /* NULL sends "/" */
                          .g = "a{sv}",
                          .p = { 5, -6 },
                          .pts = { pts, 3 },
                          .counts = { keys, vals, 2 },
                          .bools = { bools, 3 },
                          .mode = MODE_C,
                          .caps = 0x2 },
                   out;
        int pipefd[2], be;
        busrpc_error err = { 0 };

        if (pipe(pipefd) < 0)
                tap_bail("pipe");
        in.fd = pipefd[0];
        if (busrpc_variant_new_int32(77, &in.v) < 0)
                tap_bail("busrpc_variant_new_int32");
        for (be = 0; be <= 1; be++) {
                uint8_t endian = be ? WIRE_BIG : WIRE_LITTLE;
                WireBuf body, msg;
                WireWriter w;
                WireFds fds = { 0 };
                WireHeader h = { .type = WIRE_METHOD_CALL, .path = "/o", .member = "Every" };
                char sig[WIRE_MAX_SIGNATURE + 1];
                WireMsg m;
                WireReader r;
                int k, vi = 0;
                const char *E = be ? " (big-endian)" : "";

                wire_buf_init(&body);
                wire_buf_init(&msg);
                wire_writer_init(&w, &body, 0, endian, sig);
                k = wire_args_write(&w, &every_args, &in, &fds);
                ok(k == 0, "descriptors: every kind written%s (%d)", E, k);
                is_str(sig, "bynt" "dsog(ii)a(ii)a{st}abiqvh", "descriptors: the signature built");
                ok(fds.n == 1 && fds.fds[0] == pipefd[0], "descriptors: the fd went to the fd array (borrowed)");
                h.signature = sig;
                h.unix_fds = fds.n;
                k = wire_message_build(&msg, endian, &h, 1, body.p, body.n);
                ok(k > 0, "descriptors: message built");
                k = wire_message_parse(&m, msg.p, msg.n, fds.n, NULL);
                if (!ok(k == (int)msg.n, "descriptors: busrpc parses it back%s", E))
                        tap_diag("  %s at %u", wire_strerror(m.err), m.err_at);
                wire_reader_init(&r, &m, fds.fds, fds.n);
                k = wire_args_read(&r, &every_args, &out, &err);
                ok(k == 0, "descriptors: read back%s (%d)", E, k);
                if (k == 0) {
                        ok(out.b == in.b && out.y == in.y && out.n == in.n && out.t == in.t && out.d == in.d,
                           "descriptors: bool, byte, int16, uint64, double");
                        ok(wc_streq(out.s, "hello") && wc_streq(out.o, "/") && wc_streq(out.g, "a{sv}"),
                           "descriptors: string, NULL path as \"/\", signature");
                        ok(out.p.x == 5 && out.p.y == -6, "descriptors: struct");
                        ok(out.pts.n == 3 && memcmp(out.pts.items, pts, sizeof(pts)) == 0,
                           "descriptors: array of structs");
                        ok(out.counts.n == 2 && wc_streq(out.counts.keys[1], keys[1]) &&
                                   out.counts.values[1] == UINT64_MAX,
                           "descriptors: map<string, uint64>");
                        ok(out.bools.n == 3 && out.bools.items[0] && !out.bools.items[1] && out.bools.items[2],
                           "descriptors: bool[] (4 bytes each on the wire, 1 in C)");
                        ok(out.mode == MODE_C && out.caps == 0x2, "descriptors: signed enum, flags");
                        ok(out.v && busrpc_variant_get_int32(out.v, &vi) == 0 && vi == 77, "descriptors: variant");
                        ok(out.fd >= 0 && out.fd != pipefd[0], "descriptors: fd is a new one, owned by the value");
                        wire_args_clear(&every_args, &out);
                        ok(out.fd == -1 && out.s == NULL, "descriptors: cleared (fd -1, strings NULL)");
                }
                {
                        /* libdbus reads the same bytes (with no fds: the 'h' compares by type). */
                        DBusMessage *d;
                        char buf[200];
                        const char *e;

                        wire_buf_free(&msg);
                        h.unix_fds = 0;
                        k = wire_message_build(&msg, endian, &h, 1, body.p, body.n);
                        d = dbus_message_demarshal((const char *)msg.p, k, NULL);
                        ok(d != NULL, "descriptors: libdbus accepts the body%s", E);
                        if (d) {
                                wire_message_parse_flags(&m, msg.p, msg.n, 0, NULL, WIRE_PARSE_NO_FD_INDEX);
                                e = wc_message(&m, d, buf, sizeof(buf));
                                if (!ok(!e, "descriptors: libdbus reads the values written"))
                                        tap_diag("  %s", e);
                                dbus_message_unref(d);
                        }
                }
                wire_fds_free(&fds);
                wire_buf_free(&body);
                wire_buf_free(&msg);
        }
        {
                /* Refusals when reading: undeclared enum value, flags bits, a key twice. */
                static const busrpc_field f_mode[] = { { &t_mode, 0, "mode" } };
                static const busrpc_args a_mode = { "i", f_mode, 1, sizeof(Mode) };
                static const busrpc_field f_caps[] = { { &t_caps, 0, "caps" } };
                static const busrpc_args a_caps = { "q", f_caps, 1, 4 };
                static const busrpc_field f_map[] = { { &t_counts, 0, "counts" } };
                static const busrpc_args a_map = { "a{st}", f_map, 1, sizeof(StrU64Map) };
                WireReader r;
                Mode mo;
                uint32_t ca;
                StrU64Map mp;
                busrpc_error e2 = { 0 };

                wire_reader_init_raw(&r, (const uint8_t *)"\x04\0\0\0", 4, "i", WIRE_LITTLE);
                ok(wire_args_read(&r, &a_mode, &mo, &e2) == -EBADMSG && wc_streq(e2.name, BUSRPC_ERROR_INVALID_ARGS),
                   "enum value 4 not declared: -EBADMSG, InvalidArgs");
                busrpc_error_clear(&e2);
                wire_reader_init_raw(&r, (const uint8_t *)"\x04\0", 2, "q", WIRE_LITTLE);
                ok(wire_args_read(&r, &a_caps, &ca, &e2) == -EBADMSG, "flags bit 0x4 not declared: -EBADMSG");
                busrpc_error_clear(&e2);
                wire_reader_init_raw(&r,
                                     (const uint8_t *)"\x20\0\0\0\0\0\0\0"
                                                      "\x01\0\0\0k\0\0\0\x01\0\0\0\0\0\0\0"
                                                      "\x01\0\0\0k\0\0\0\x02\0\0\0\0\0\0\0",
                                     40, "a{st}", WIRE_LITTLE);
                ok(wire_args_read(&r, &a_map, &mp, &e2) == -ENOTUNIQ && mp.n == 0 && !mp.keys,
                   "map key twice: -ENOTUNIQ, the value left empty");
                busrpc_error_clear(&e2);
        }
        close(pipefd[0]);
        close(pipefd[1]);
        busrpc_variant_unref(in.v);
}


/* shm (a sealed memfd as an fd index) and variants holding containers, both ways. */
static void test_descriptors_shm_variant(void) {
        static const busrpc_type t_shm = { .kind = 'm', .size = sizeof(void *), .signature = "h", .name = "blob" };
        static const busrpc_type t_shm_small = {
                .kind = 'm', .size = sizeof(void *), .signature = "h", .name = "small", .max_size = 100
        };
        busrpc_shm *shm = NULL, *got = NULL;
        WireBuf body, body2;
        WireWriter w;
        WireFds fds = { 0 };
        WireReader r;
        busrpc_error err = { 0 };
        busrpc_variant *v = NULL, *v2 = NULL;
        char sig[WIRE_MAX_SIGNATURE + 1];
        int k;

        if (busrpc_shm_new(4096, &shm) < 0)
                tap_bail("busrpc_shm_new");
        memset(busrpc_shm_data(shm), 0x5a, 4096);
        wire_buf_init(&body);
        wire_writer_init(&w, &body, 0, WIRE_LITTLE, sig);
        k = wire_value_write(&w, &t_shm, &shm, &fds);
        ok(k == 0 && fds.n == 1 && busrpc_shm_is_sealed(shm), "shm: written as fd index 0, sealed");
        wire_reader_init_raw(&r, body.p, (uint32_t)body.n, "h", WIRE_LITTLE);
        r.fds = fds.fds;
        r.n_fds = fds.n;
        k = wire_value_read(&r, &t_shm, &got, &err);
        ok(k == 0 && got && busrpc_shm_size(got) == 4096 &&
                   ((const uint8_t *)busrpc_shm_const_data(got))[4095] == 0x5a,
           "shm: read back, same 4096 bytes");
        busrpc_shm_unref(got);
        got = NULL;
        wire_reader_init_raw(&r, body.p, (uint32_t)body.n, "h", WIRE_LITTLE);
        r.fds = fds.fds;
        r.n_fds = fds.n;
        k = wire_value_read(&r, &t_shm_small, &got, &err);
        ok(k == -EFBIG && !got && wc_streq(err.name, BUSRPC_ERROR_INVALID_ARGS),
           "shm above its descriptor's max_size: -EFBIG, InvalidArgs, nothing mapped");
        busrpc_error_clear(&err);
        wire_reader_init_raw(&r, body.p, (uint32_t)body.n, "h", WIRE_LITTLE);
        k = wire_value_read(&r, &t_shm, &got, &err);
        ok(k == -EBADMSG && !got, "shm: an index without fds is -EBADMSG");
        wire_fds_free(&fds);
        wire_buf_free(&body);
        busrpc_shm_unref(shm);

        /* A variant holding a{sv} with a struct and an array inside: wire -> busrpc_variant -> wire. */
        {
                WireWriter a, e, vv, st, arr;
                const char *key = "k";
                int32_t i = -9;
                uint8_t y = 3;
                char *str = NULL;

                wire_buf_init(&body);
                wire_writer_init(&w, &body, 0, WIRE_BIG, sig);
                wire_write_open(&w, &vv, 'v', "a{sv}");
                wire_write_open(&vv, &a, 'a', "{sv}");
                wire_write_open(&a, &e, 'e', NULL);
                wire_write_basic(&e, 's', &key);
                wire_write_open(&e, &st, 'v', "(iay)");
                {
                        WireWriter s2;

                        wire_write_open(&st, &s2, 'r', NULL);
                        wire_write_basic(&s2, 'i', &i);
                        wire_write_open(&s2, &arr, 'a', "y");
                        wire_write_basic(&arr, 'y', &y);
                        wire_write_basic(&arr, 'y', &y);
                        wire_write_close(&s2, &arr);
                        wire_write_close(&st, &s2);
                }
                wire_write_close(&e, &st);
                wire_write_close(&a, &e);
                wire_write_close(&vv, &a);
                wire_write_close(&w, &vv);
                ok(body.err == 0 && wire_body_check(body.p, body.n, "v", 1, 1, WIRE_BIG, 0, NULL) == WIRE_OK,
                   "variant a{sv} of (iay) written, big-endian, and valid");
                wire_reader_init_raw(&r, body.p, (uint32_t)body.n, "v", WIRE_BIG);
                k = wire_value_read(&r, &t_var, &v, &err);
                ok(k == 0 && v && wc_streq(busrpc_variant_get_signature(v), "a{sv}"), "variant read as a{sv}");
                if (v && busrpc_variant_to_string(v, &str) == 0)
                        tap_diag("  %s", str);
                free(str);
                wire_buf_init(&body2);
                wire_writer_init(&w, &body2, 0, WIRE_BIG, sig);
                k = wire_value_write(&w, &t_var, &v, NULL);
                ok(k == 0 && body2.n == body.n && memcmp(body.p, body2.p, body.n) == 0,
                   "the variant written back: the same bytes");
                wire_reader_init_raw(&r, body2.p, (uint32_t)body2.n, "v", WIRE_BIG);
                k = wire_value_read(&r, &t_var, &v2, &err);
                ok(k == 0 && busrpc_variant_equal(v, v2), "and it reads back equal");
                busrpc_variant_unref(v);
                busrpc_variant_unref(v2);
                wire_buf_free(&body);
                wire_buf_free(&body2);
        }
}

/* The reader on its own: skipping, partial reads, fixed arrays, byte lengths. */
static void test_reader(void) {
        WireBuf b;
        WireWriter w, a, e, v;
        WireReader r, sub;
        char sig[WIRE_MAX_SIGNATURE + 1];
        const char *k1 = "one", *s = NULL;
        int32_t items[3] = { 10, 20, 30 }, last = 77, got = 0;
        const int32_t *view = NULL;
        uint32_t n = 0;
        double d = 1.5;
        int be;

        for (be = 0; be <= 1; be++) {
                uint8_t endian = be ? WIRE_BIG : WIRE_LITTLE;

                wire_buf_init(&b);
                wire_writer_init(&w, &b, 0, endian, sig);
                wire_write_open(&w, &a, 'a', "{sv}");
                wire_write_open(&a, &e, 'e', NULL);
                wire_write_basic(&e, 's', &k1);
                wire_write_open(&e, &v, 'v', "d");
                wire_write_basic(&v, 'd', &d);
                wire_write_close(&e, &v);
                wire_write_close(&a, &e);
                wire_write_close(&w, &a);
                wire_write_fixed_array(&w, 'i', items, 3);
                wire_write_open(&w, &a, 'r', "si");
                wire_write_basic(&a, 's', &k1);
                wire_write_basic(&a, 'i', &last);
                wire_write_close(&w, &a);
                wire_write_basic(&w, 'i', &last);
                is_str(sig, "a{sv}ai(si)i", "reader: signature");
                ok(wire_body_check(b.p, b.n, sig, strlen(sig), 2, endian, 0, NULL) == WIRE_OK, "reader: body valid");
                wire_reader_init_raw(&r, b.p, (uint32_t)b.n, sig, endian);
                ok(wire_read_skip(&r) == 0 && wire_reader_peek(&r) == 'a', "skip a{sv}: next is the ai");
                if (!be) {
                        ok(wire_read_fixed_array(&r, 'i', (const void **)&view, &n) == 0 && n == 3 && view[2] == 30,
                           "ai read in place: 3 items");
                } else {
                        ok(wire_read_enter(&r, &sub) == 0 && wire_reader_left(&sub) == 12, "ai: 12 bytes long");
                        ok(wire_read_exit(&r, &sub) == 0, "leave it unread");
                }
                ok(wire_read_basic(&r, 'i', &got) == -EBADMSG, "an int32 where a struct is: -EBADMSG");
                ok(wire_read_enter(&r, &sub) == 0 && wire_read_basic(&sub, 's', &s) == 0 && wc_streq(s, "one"),
                   "enter the struct, read its first field");
                ok(wire_read_exit(&r, &sub) == 0, "leave the struct with a field unread");
                ok(wire_read_basic(&r, 'i', &got) == 0 && got == 77 && wire_reader_peek(&r) == 0,
                   "the last int32 after it, then the end");
                ok(wire_read_skip(&r) == -EBADMSG, "nothing to skip at the end");
                wire_buf_free(&b);
        }
}

/* ---- the name rules (common/names.c) against libdbus's validators ---- */

/* Strings of the characters that matter to the rules, lengths 0 to 14. */
static size_t names_gen(uint32_t *seed, char *out) {
        static const char *const atoms[] = { "a", "Z", "_", "9", "0", "-", ".", ":", "/", "\xc3\xa9", "\xed\xa0\x80",
                                             "\xc0\x80", "\xf4\x90\x80\x80", "\xe2\x82", "$", " ", "ab", "x.y" };
        size_t n = 0, len;

        *seed = *seed * 1103515245u + 12345u;
        len = (*seed >> 16) % 15;
        while (len--) {
                const char *a;

                *seed = *seed * 1103515245u + 12345u;
                a = atoms[(*seed >> 16) % (sizeof(atoms) / sizeof(atoms[0]))];
                memcpy(out + n, a, strlen(a));
                n += strlen(a);
        }
        out[n] = '\0';
        return n;
}

static void test_names(void) {
        static const char *const names[] = {
                "",        ":",        ":.a",       ":a.",      ":1.42",   ":1",       ":1..2",     ":-.9",
                "a",       "a.b",      "a.b.",      ".a.b",     "a..b",    "a.9b",     "a.b9",      "a-b.c",
                "-a.b",    "_.a",      "9a.b",      "org.x",    "/",       "//",       "/a",        "/a/",
                "/a//b",   "/a/b_9",   "a/b",       "Add",      "Add_2",   "2Add",     "a.b-c",     "a b.c",
                "caf\xc3\xa9", "\xed\xa0\x80", "\xc0\x80", "\xef\xbf\xbe", "\xf4\x8f\xbf\xbf", "\xf4\x90\x80\x80",
        };
        unsigned mism[5] = { 0 }, acc[5] = { 0 }, n_tried = 0;
        char buf[300], why[128];
        uint32_t seed = 42;
        size_t i, len;

        for (i = 0; i < sizeof(names) / sizeof(names[0]) + 20000; i++) {
                const char *s = buf;
                bool w[5], d[5];

                if (i < sizeof(names) / sizeof(names[0]))
                        s = names[i], len = strlen(s);
                else
                        len = names_gen(&seed, buf);
                w[0] = wire_valid_interface(s, len), d[0] = dbus_validate_interface(s, NULL);
                w[1] = wire_valid_member(s, len), d[1] = dbus_validate_member(s, NULL);
                w[2] = wire_valid_path(s, len), d[2] = dbus_validate_path(s, NULL);
                w[3] = wire_valid_bus_name(s, len), d[3] = dbus_validate_bus_name(s, NULL);
                w[4] = wire_valid_utf8(s, len), d[4] = dbus_validate_utf8(s, NULL);
                for (unsigned k = 0; k < 5; k++) {
                        if (w[k] != d[k] && mism[k]++ < 3)
                                tap_diag("rule %u: \"%s\": busrpc %d, libdbus %d", k, s, w[k], d[k]);
                        acc[k] += w[k];
                }
                /* The compiler's verdict is the same rule. */
                if ((names_bad_dotted(s, why, sizeof(why)) == NULL) != w[0] ||
                    (names_bad_member(s, why, sizeof(why)) == NULL) != w[1])
                        mism[0]++;
                n_tried++;
        }
        ok(mism[0] == 0, "interface and error names: busrpc (wire and compiler) and libdbus agree on %u strings",
           n_tried);
        ok(mism[1] == 0, "member names: busrpc and libdbus agree");
        ok(mism[2] == 0, "object paths: busrpc and libdbus agree");
        ok(mism[3] == 0, "bus names (unique ones as libdbus reads them): busrpc and libdbus agree");
        ok(mism[4] == 0, "UTF-8: busrpc and libdbus agree");
        ok(acc[0] > 20 && acc[1] > 100 && acc[2] > 10 && acc[3] > 20 && acc[4] > 1000,
           "each rule accepts some of them (%u %u %u %u %u)", acc[0], acc[1], acc[2], acc[3], acc[4]);

        /* Lengths: 255 characters pass, 256 do not (paths have no limit). */
        memset(buf, 'a', 256);
        ok(wire_valid_member(buf, 255) && !wire_valid_member(buf, 256), "member names: 255 pass, 256 not");
        buf[1] = '.';
        ok(wire_valid_interface(buf, 255) && !wire_valid_interface(buf, 256), "interface names: 255 pass, 256 not");
        ok(wire_valid_bus_name(buf, 255) && !wire_valid_bus_name(buf, 256), "bus names: 255 pass, 256 not");
        buf[0] = '/';
        buf[1] = 'a';
        ok(wire_valid_path(buf, 256), "object paths: no length limit");
        ok(!wire_valid_path("/a\0b", 4) && !wire_valid_member("a\0b", 3) && !wire_valid_utf8("a\0b", 3),
           "a NUL inside a wire string is refused by every rule");

        /* The specification's rule for local callers: unique names have two elements. */
        ok(names_valid_bus_name(":1.42") && !names_valid_bus_name(":1") && !names_valid_bus_name(":") &&
                   !names_valid_bus_name(":.a") && wire_valid_bus_name(":1", 2) && wire_valid_bus_name(":.a", 3),
           "unique names: the specification for local callers, libdbus's reading on the wire");
        is_str(names_bad_dotted("org.9x", why, sizeof(why)), "element '9x' starts with a digit",
               "the compiler's words: the element named");
        is_str(names_bad_dotted("org.a-b", why, sizeof(why)), "invalid character '-'",
               "the compiler's words: the character named");
}

/* ---- the two readers of a value agree: the fast path and the libdbus path ---- */

/* A value written by @write, read by wire_value_read() (the fast path) and
 * by busrpc_value_read() from a libdbus message holding the same value
 * (marshal.c, the libdbus path; the message is the variant wire-value
 * builds for a 'v'): the same result, error name and message. */
typedef int (*WriteFn)(WireWriter *w);

static int u16(WireWriter *w, uint16_t v) {
        return wire_write_basic(w, 'q', &v);
}

static int w_caps_bad(WireWriter *w) {
        return u16(w, 0x4);
}

static int w_caps_ok(WireWriter *w) {
        return u16(w, 0x3);
}

static int w_mode_bad(WireWriter *w) {
        int32_t v = -4;
        return wire_write_basic(w, 'i', &v);
}

static int w_mode_neg(WireWriter *w) {
        int32_t v = -3;
        return wire_write_basic(w, 'i', &v);
}

static int w_top_bit(WireWriter *w) {
        int32_t v = INT32_MIN; /* bit 31 of a flags type over int32 */
        return wire_write_basic(w, 'i', &v);
}

static int w_map(WireWriter *w, const char *const *keys, const int32_t *vals, unsigned n) {
        WireWriter a, e;
        int k = wire_write_open(w, &a, 'a', "{si}");

        for (unsigned i = 0; i < n && k == 0; i++)
                if ((k = wire_write_open(&a, &e, 'e', NULL)) == 0 && (k = wire_write_basic(&e, 's', &keys[i])) == 0 &&
                    (k = wire_write_basic(&e, 'i', &vals[i])) == 0)
                        k = wire_write_close(&a, &e);
        return k ? k : wire_write_close(w, &a);
}

static int w_map_dup_bad(WireWriter *w) {
        /* a key twice, and an undeclared value before it: the duplicate is what both say */
        return w_map(w, (const char *const[]){ "a", "b", "a" }, (const int32_t[]){ 0, 9, 5 }, 3);
}

static int w_map_bad(WireWriter *w) {
        return w_map(w, (const char *const[]){ "a", "b" }, (const int32_t[]){ 0, 9 }, 2);
}

static int w_map_ok(WireWriter *w) {
        return w_map(w, (const char *const[]){ "b", "a" }, (const int32_t[]){ 5, -3 }, 2);
}

static int w_dmap(WireWriter *w, double k1, double k2) {
        WireWriter a, e;
        const double keys[2] = { k1, k2 };
        int k = wire_write_open(w, &a, 'a', "{db}");

        for (unsigned i = 0; i < 2 && k == 0; i++) {
                uint32_t b = i;

                if ((k = wire_write_open(&a, &e, 'e', NULL)) == 0 && (k = wire_write_basic(&e, 'd', &keys[i])) == 0 &&
                    (k = wire_write_basic(&e, 'b', &b)) == 0)
                        k = wire_write_close(&a, &e);
        }
        return k ? k : wire_write_close(w, &a);
}

static int w_dmap_zeros(WireWriter *w) {
        return w_dmap(w, 0.0, -0.0);
}

static int w_dmap_nans(WireWriter *w) {
        uint64_t a = 0x7ff8000000000001ull, b = 0x7ff8000000000002ull;
        double x, y;

        memcpy(&x, &a, 8);
        memcpy(&y, &b, 8);
        return w_dmap(w, x, y);
}

static int w_dmap_same_nan(WireWriter *w) {
        uint64_t a = 0x7ff8000000000001ull;
        double x;

        memcpy(&x, &a, 8);
        return w_dmap(w, x, x);
}

static bool same_str(const char *a, const char *b) {
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void paths_agree(const char *what, const busrpc_type *type, WriteFn write, int want) {
        uint8_t value_a[64], value_b[64];
        busrpc_error ea = BUSRPC_ERROR_INIT, eb = BUSRPC_ERROR_INIT;
        busrpc_variant *v = NULL;
        WireBuf top, inv;
        WireWriter w, wv;
        WireReader r;
        busrpc_iter it;
        int ka, kb;

        wire_buf_init(&top);
        wire_buf_init(&inv);
        wire_writer_init(&w, &top, 0, WIRE_NATIVE, NULL);
        if (write(&w) < 0)
                tap_bail("%s: cannot write the value", what);
        wire_writer_init(&w, &inv, 0, WIRE_NATIVE, NULL);
        if (wire_write_open(&w, &wv, 'v', type->signature) < 0 || write(&wv) < 0 || wire_write_close(&w, &wv) < 0)
                tap_bail("%s: cannot write the variant", what);

        wire_reader_init_raw(&r, top.p, (uint32_t)top.n, type->signature, WIRE_NATIVE);
        ka = wire_value_read(&r, type, value_a, &ea);

        wire_reader_init_raw(&r, inv.p, (uint32_t)inv.n, "v", WIRE_NATIVE);
        if (wire_value_read(&r, &t_var, &v, NULL) < 0 || busrpc_variant_read(v, &it) < 0)
                tap_bail("%s: the libdbus copy cannot be made", what);
        busrpc_value_init(type, value_b);
        kb = busrpc_value_read(&it, type, value_b, &eb);

        ok(ka == want && kb == want && same_str(ea.name, eb.name) && same_str(ea.message, eb.message),
           "%s: both paths %d (%s)", what, want, ea.message ? ea.message : "no error");
        if (ka != kb || !same_str(ea.message, eb.message))
                tap_diag("  fast path %d \"%s\", libdbus path %d \"%s\"", ka, ea.message ? ea.message : "",
                         kb, eb.message ? eb.message : "");
        if (ka == 0 && kb == 0 && type->kind != BUSRPC_KIND_MAP)
                ok(memcmp(value_a, value_b, type->size) == 0, "%s: the same C value", what);
        if (ka == 0)
                busrpc_value_clear(type, value_a);
        busrpc_value_clear(type, value_b);
        busrpc_variant_unref(v);
        busrpc_error_clear(&ea);
        busrpc_error_clear(&eb);
        wire_buf_free(&top);
        wire_buf_free(&inv);
}

typedef struct ModeMap {
        char **keys;
        Mode *values;
        size_t n;
} ModeMap;

typedef struct BoolMap {
        double *keys;
        bool *values;
        size_t n;
} BoolMap;

static void test_paths_agree(void) {
        static const busrpc_type t_topflags = {
                .kind = 'F', .wire = 'i', .size = 4, .signature = "i", .name = "t_top", .mask = 0x80000001u
        };
        static const busrpc_type t_modes = { .kind = 'e', .size = sizeof(ModeMap), .signature = "a{si}",
                                             .name = "t_modes", .elem = &t_str, .value = &t_mode };
        static const busrpc_type t_dmap = { .kind = 'e', .size = sizeof(BoolMap), .signature = "a{db}",
                                            .name = "t_dmap", .elem = &t_dbl, .value = &t_bool };

        paths_agree("flags bit not declared", &t_caps, w_caps_bad, -EBADMSG);
        paths_agree("flags declared", &t_caps, w_caps_ok, 0);
        paths_agree("enum value not declared", &t_mode, w_mode_bad, -EBADMSG);
        paths_agree("negative enum value declared", &t_mode, w_mode_neg, 0);
        paths_agree("flags over int32 with bit 31", &t_topflags, w_top_bit, 0);
        paths_agree("map: a key twice after an undeclared value", &t_modes, w_map_dup_bad, -ENOTUNIQ);
        paths_agree("map: an undeclared value", &t_modes, w_map_bad, -EBADMSG);
        paths_agree("map: two entries", &t_modes, w_map_ok, 0);
        paths_agree("map: keys 0.0 and -0.0 are one key", &t_dmap, w_dmap_zeros, -ENOTUNIQ);
        paths_agree("map: two NaNs of other bits are two keys", &t_dmap, w_dmap_nans, 0);
        paths_agree("map: the same NaN twice is one key", &t_dmap, w_dmap_same_nan, -ENOTUNIQ);
}

int main(void) {
        TAP_RUN(test_names);
        TAP_RUN(test_valid);
        TAP_RUN(test_header_rules);
        TAP_RUN(test_body_rules);
        TAP_RUN(test_incomplete);
        TAP_RUN(test_array_max);
        TAP_RUN(test_libdbus_built);
        TAP_RUN(test_writer);
        TAP_RUN(test_template);
        TAP_RUN(test_reader);
        TAP_RUN(test_reencode);
        TAP_RUN(test_descriptors);
        TAP_RUN(test_descriptors_shm_variant);
        TAP_RUN(test_paths_agree);
        dbus_shutdown();
        return tap_done();
}
