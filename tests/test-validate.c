/* test-validate.c: the checks that stand between callers and libdbus's
 * aborts must agree with libdbus's own validators (which report instead of
 * aborting): a differential test over hand-picked and random strings.
 */
#include <dbus/dbus.h>
#include <stdlib.h>
#include <string.h>
#include "../common/names.h"
#include "validate.h"
#include "tap.h"

typedef struct Pair {
        const char *name;
        bool (*ours)(const char *);
        dbus_bool_t (*theirs)(const char *, DBusError *);
        /* Only "ours accepts => libdbus accepts" (what keeps libdbus from
         * aborting): libdbus takes ":1" and ":.1" as unique names, the
         * specification (and we) want two elements. */
        bool stricter;
} Pair;

static dbus_bool_t sig_theirs(const char *s, DBusError *e) {
        return dbus_signature_validate(s, e);
}

static dbus_bool_t utf8_theirs(const char *s, DBusError *e) {
        return dbus_validate_utf8(s, e);
}

static const Pair pairs[] = {
        { "object path", valid_object_path, dbus_validate_path, false },
        { "interface", valid_interface_name, dbus_validate_interface, false },
        { "member", valid_member_name, dbus_validate_member, false },
        { "error name", valid_error_name, dbus_validate_error_name, false },
        { "bus name", valid_bus_name, dbus_validate_bus_name, true },
        { "signature", valid_signature, sig_theirs, false },
        { "utf8", valid_utf8, utf8_theirs, false },
};

static const char *samples[] = {
        "", "/", "//", "/a", "/a/", "/a/b_c/D9", "/a-b", "a", "a.b", "a..b", ".a.b", "a.b.", "a.0b", "_a._b",
        "org.freedesktop.DBus", ":1.42", ":1", ":1.42.x", ":.1", "com.example-app", "-a.b", "a.b-c", "Member",
        "9member", "mem.ber", "a{sv}", "a{vs}", "(ii)", "()", "a", "aa", "{ss}", "a{s}", "v", "h", "ah",
        "(((((((((((((((((((((((((((((((((i)))))))))))))))))))))))))))))))))",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaai", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaai", "\xc3\xa9", "\xff", "\xc0\x80",
        "\xed\xa0\x80", "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xe2\x82", "ok\xe2\x82\xacok",
};

static void check_one(const Pair *p, const char *s, int *mismatches) {
        bool ours = p->ours(s);
        bool theirs = p->theirs(s, NULL);

        if (ours != theirs && !(p->stricter && !ours) && (*mismatches)++ < 5) {
                char hex[256] = "";
                for (size_t k = 0; s[k] && k < 60; k++)
                        snprintf(hex + strlen(hex), sizeof(hex) - strlen(hex), "%02x", (unsigned char)s[k]);
                tap_diag("  %s: ours %d, libdbus %d for \"%s\" (%s)", p->name, ours, theirs, s, hex);
        }
}

static void test_samples(void) {
        for (size_t k = 0; k < sizeof(pairs) / sizeof(pairs[0]); k++) {
                int mismatches = 0;
                for (size_t j = 0; j < sizeof(samples) / sizeof(samples[0]); j++)
                        check_one(&pairs[k], samples[j], &mismatches);
                ok(mismatches == 0, "%s: agrees with libdbus on %zu samples", pairs[k].name,
                   sizeof(samples) / sizeof(samples[0]));
        }
}

static void test_random(void) {
        static const char alphabet[] = "/._-:aZ09a{}()svih\xc3\xa9\x80\xff\xe2\xf0";
        char buf[40];
        unsigned seed = 12345;

        for (size_t k = 0; k < sizeof(pairs) / sizeof(pairs[0]); k++) {
                int mismatches = 0;
                for (int n = 0; n < 50000; n++) {
                        size_t len = (size_t)(rand_r(&seed) % 12);
                        for (size_t j = 0; j < len; j++)
                                buf[j] = alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
                        buf[len] = '\0';
                        check_one(&pairs[k], buf, &mismatches);
                }
                ok(mismatches == 0, "%s: agrees with libdbus on 50,000 random strings", pairs[k].name);
        }
}

static void test_limits(void) {
        char name[300];

        memset(name, 'a', sizeof(name));
        name[0] = 'a';
        name[1] = '.';
        name[255] = '\0';
        ok(valid_interface_name(name), "255-character name valid");
        name[255] = 'a';
        name[256] = '\0';
        ok(!valid_interface_name(name), "256-character name invalid");
        ok(!valid_bus_name(":1") && valid_bus_name(":1.0") && valid_unique_name(":1.0") &&
                   !valid_unique_name("a.b"),
           "unique names have two elements, as the specification says");
        ok(!valid_utf8(NULL) && !valid_object_path(NULL) && !valid_signature(NULL) && !valid_bus_name(NULL),
           "NULL is invalid, not a crash");
        ok(valid_single_signature("a{sv}") && !valid_single_signature("ii") && !valid_single_signature(""),
           "single complete types");
}

/* common/names.c directly: what busrpc-idlc and the busrpc tool read. */
static void test_common(void) {
        uint32_t cp = 0;
        char buf[96], longname[300];

        is_int((int)names_utf8_len((const unsigned char *)"\xe2\x82\xac", 3, &cp), 3, "EURO SIGN: 3 bytes");
        is_int((int)cp, 0x20ac, "its code point");
        is_int((int)names_utf8_len((const unsigned char *)"\xc0\x80", 2, NULL), 0, "overlong NUL refused");
        is_int((int)names_utf8_len((const unsigned char *)"\xed\xa0\x80", 3, NULL), 0, "surrogate refused");
        is_int((int)names_utf8_len((const unsigned char *)"\xf4\x90\x80\x80", 4, NULL), 0, "past U+10FFFF refused");
        is_int((int)names_utf8_len((const unsigned char *)"\xe2\x82\xac", 2, NULL), 0,
               "a sequence longer than what may be read refused");
        ok(!names_utf8_valid("a\0b", 3), "a NUL inside is not valid");
        ok(names_utf8_valid("caf\xc3\xa9", 5), "valid UTF-8");

        ok(names_bad_dotted("org.example.Calc", buf, sizeof(buf)) == NULL, "a valid interface name");
        is_str(names_bad_dotted("org..x", buf, sizeof(buf)), "empty element", "empty element");
        is_str(names_bad_dotted("org.9x", buf, sizeof(buf)), "element '9x' starts with a digit",
               "the element named (idlc's message)");
        is_str(names_bad_dotted("org", buf, sizeof(buf)), "it needs at least two elements separated by '.'",
               "one element");
        is_str(names_bad_dotted("org.a-b", buf, sizeof(buf)), "invalid character '-'", "the character named");
        memset(longname, 'a', 256);
        longname[1] = '.';
        longname[256] = '\0';
        is_str(names_bad_dotted(longname, buf, sizeof(buf)), "256 characters, D-Bus allows 255", "too long");
        ok(names_bad_dotted("org.9x", NULL, 0) != NULL, "without a buffer: still a reason");
        is_str(names_bad_member("9x", buf, sizeof(buf)), "it starts with a digit", "member starting with a digit");
        ok(names_bad_member("", NULL, 0) != NULL && names_bad_member("Add_2", NULL, 0) == NULL,
           "empty member refused, Add_2 accepted");
        ok(names_valid_bus_name(":1.42") && !names_valid_bus_name("org.9x") && names_valid_bus_name("org.a-b"),
           "bus names: unique elements may start with a digit, well-known may hold '-'");
        ok(names_valid_object_path("/a/b_1") && !names_valid_object_path("/a/") && !names_valid_object_path("/a//b"),
           "object paths");
}

int main(void) {
        TAP_RUN(test_samples);
        TAP_RUN(test_random);
        TAP_RUN(test_limits);
        TAP_RUN(test_common);
        dbus_shutdown();
        return tap_done();
}
