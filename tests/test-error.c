/* test-error.c: busrpc_error: first error wins, errno mapping, moves. */
#include <dbus/dbus.h>
#include <errno.h>
#include "busrpc/busrpc.h"
#include "tap.h"

static void test_set(void) {
        busrpc_error e = BUSRPC_ERROR_INIT;

        ok(!busrpc_error_is_set(&e), "starts unset");
        is_int(busrpc_error_set(&e, "org.example.Error.One", "first %d", 1), -EREMOTEIO, "set returns -EREMOTEIO");
        is_int(busrpc_error_set(&e, "org.example.Error.Two", "second"), -EREMOTEIO, "second set too");
        is_str(e.name, "org.example.Error.One", "the first error wins");
        is_str(e.message, "first 1", "formatted message");
        ok(busrpc_error_has_name(&e, "org.example.Error.One"), "has_name");
        ok(!busrpc_error_has_name(&e, "org.example.Error.Two"), "has_name other");
        busrpc_error_clear(&e);
        ok(e.name == NULL && e.message == NULL, "cleared");
        busrpc_error_clear(&e);
        is_int(busrpc_error_set(NULL, BUSRPC_ERROR_FAILED, "x"), -EREMOTEIO, "NULL error is fine");
        busrpc_error_set(&e, NULL, NULL);
        is_str(e.name, BUSRPC_ERROR_FAILED, "NULL name: Failed");
        ok(e.message != NULL, "message never NULL when set");
        busrpc_error_clear(&e);
}

static void test_errno(void) {
        static const struct {
                int errnum;
                const char *name;
        } map[] = {
                { ENOMEM, BUSRPC_ERROR_NO_MEMORY },
                { EINVAL, BUSRPC_ERROR_INVALID_ARGS },
                { EACCES, BUSRPC_ERROR_ACCESS_DENIED },
                { EPERM, BUSRPC_ERROR_ACCESS_DENIED },
                { ETIMEDOUT, BUSRPC_ERROR_TIMEOUT },
                { ENOENT, "org.freedesktop.DBus.Error.FileNotFound" },
                { ECONNRESET, BUSRPC_ERROR_DISCONNECTED },
                { EOPNOTSUPP, BUSRPC_ERROR_NOT_SUPPORTED },
                { ECANCELED, BUSRPC_ERROR_CANCELLED },
                { EDOM, BUSRPC_ERROR_FAILED },
        };

        for (size_t k = 0; k < sizeof(map) / sizeof(map[0]); k++) {
                busrpc_error e = BUSRPC_ERROR_INIT;
                int r = busrpc_error_set_errno(&e, -map[k].errnum);

                if (!ok(r == -map[k].errnum && busrpc_error_has_name(&e, map[k].name), "%s -> %s",
                        strerror(map[k].errnum), map[k].name))
                        tap_diag("  got %d %s", r, e.name ? e.name : "(null)");
                busrpc_error_clear(&e);
        }
        {
                busrpc_error e = BUSRPC_ERROR_INIT;
                is_int(busrpc_error_set_errno(&e, EINVAL), -EINVAL, "positive errno accepted, negative returned");
                is_str(e.message, strerror(EINVAL), "message is strerror");
                busrpc_error_clear(&e);
        }
}

static void test_move(void) {
        busrpc_error a = BUSRPC_ERROR_INIT, b = BUSRPC_ERROR_INIT;

        busrpc_error_set(&b, "org.example.Error.B", "b");
        busrpc_error_move(&a, &b);
        is_str(a.name, "org.example.Error.B", "moved");
        ok(!busrpc_error_is_set(&b), "source cleared");
        busrpc_error_set(&b, "org.example.Error.C", "c");
        busrpc_error_move(&a, &b);
        is_str(a.name, "org.example.Error.B", "target kept (first wins)");
        ok(!busrpc_error_is_set(&b), "source cleared anyway");
        busrpc_error_clear(&a);
}

int main(void) {
        TAP_RUN(test_set);
        TAP_RUN(test_errno);
        TAP_RUN(test_move);
        dbus_shutdown();
        return tap_done();
}
