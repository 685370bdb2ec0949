/* error.c: busrpc_error, and its conversions to and from libdbus. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "error-map.h"
#include "validate.h"

static int error_set_owned(busrpc_error *e, char *name, char *message) {
        if (!name || !message) {
                free(name);
                free(message);
                return -ENOMEM;
        }
        e->name = name;
        e->message = message;
        return 0;
}

BUSRPC_EXPORT int busrpc_error_set(busrpc_error *e, const char *name, const char *fmt, ...) {
        va_list ap;
        char *message = NULL;
        int r;

        if (!e || e->name)
                return -EREMOTEIO;
        if (!name)
                name = BUSRPC_ERROR_FAILED;
        if (fmt) {
                va_start(ap, fmt);
                r = vasprintf(&message, fmt, ap);
                va_end(ap);
                if (r < 0)
                        message = NULL;
        } else
                message = strdup("");
        /* Out of memory here still leaves the error unset rather than half set;
         * the caller's -EREMOTEIO then comes with no name, which callers
         * treat as Failed. */
        (void)error_set_owned(e, strdup(name), message);
        return -EREMOTEIO;
}

/* The one table between errno values and D-Bus error names, read both
 * ways: errno -> name takes the first row with the errno, name -> errno
 * the first row with the name (so the row a name prefers comes first). */
static const struct {
        int errnum;
        const char *name;
} error_table[] = {
        { ENOMEM, BUSRPC_ERROR_NO_MEMORY },
        { EINVAL, BUSRPC_ERROR_INVALID_ARGS },
        { EBADMSG, BUSRPC_ERROR_INVALID_ARGS },
        { EACCES, BUSRPC_ERROR_ACCESS_DENIED },
        { EPERM, BUSRPC_ERROR_ACCESS_DENIED },
        { ETIMEDOUT, BUSRPC_ERROR_TIMEOUT },
        { ENOENT, "org.freedesktop.DBus.Error.FileNotFound" },
        { EEXIST, "org.freedesktop.DBus.Error.FileExists" },
        { ECONNRESET, BUSRPC_ERROR_DISCONNECTED },
        { ENOTCONN, BUSRPC_ERROR_DISCONNECTED },
        { EPIPE, BUSRPC_ERROR_DISCONNECTED },
        { EOPNOTSUPP, BUSRPC_ERROR_NOT_SUPPORTED },
        { ENOBUFS, BUSRPC_ERROR_LIMITS_EXCEEDED },
        { E2BIG, BUSRPC_ERROR_LIMITS_EXCEEDED },
        { EMSGSIZE, BUSRPC_ERROR_LIMITS_EXCEEDED },
        { EADDRINUSE, "org.freedesktop.DBus.Error.AddressInUse" },
        { ECONNREFUSED, "org.freedesktop.DBus.Error.NoServer" },
        { EHOSTUNREACH, "org.freedesktop.DBus.Error.NoServer" },
        { ENETUNREACH, "org.freedesktop.DBus.Error.NoServer" },
        { ECANCELED, BUSRPC_ERROR_CANCELLED },
        /* read from names only */
        { ETIMEDOUT, BUSRPC_ERROR_NO_REPLY },
        { ETIMEDOUT, "org.freedesktop.DBus.Error.TimedOut" },
        { EACCES, "org.freedesktop.DBus.Error.AuthFailed" },
        { EINVAL, "org.freedesktop.DBus.Error.BadAddress" },
        { ENXIO, "org.freedesktop.DBus.Error.NameHasNoOwner" },
};

static const char *errno_to_name(int errnum) {
        for (size_t i = 0; i < sizeof(error_table) / sizeof(error_table[0]); i++)
                if (error_table[i].errnum == errnum)
                        return error_table[i].name;
        return BUSRPC_ERROR_FAILED;
}

BUSRPC_EXPORT int busrpc_error_set_errno(busrpc_error *e, int errnum) {
        if (errnum < 0)
                errnum = -errnum;
        if (errnum == 0)
                errnum = EIO; /* "failed with success" is still a failure */
        if (e && !e->name)
                (void)busrpc_error_set(e, errno_to_name(errnum), "%s", strerror(errnum));
        return -errnum;
}

BUSRPC_EXPORT void busrpc_error_clear(busrpc_error *e) {
        if (!e)
                return;
        free(e->name);
        free(e->message);
        e->name = NULL;
        e->message = NULL;
}

BUSRPC_EXPORT bool busrpc_error_is_set(const busrpc_error *e) {
        return e && e->name;
}

BUSRPC_EXPORT bool busrpc_error_has_name(const busrpc_error *e, const char *name) {
        return e && e->name && name && strcmp(e->name, name) == 0;
}

/* The typed client's declared errors: a generated enum ends with @n. */
BUSRPC_EXPORT size_t busrpc_error_classify(const busrpc_error *e, const char *const *names, size_t n) {
        if (!e || !e->name || !names)
                return n;
        for (size_t i = 0; i < n; i++)
                if (names[i] && strcmp(e->name, names[i]) == 0)
                        return i;
        return n;
}

BUSRPC_EXPORT void busrpc_error_move(busrpc_error *to, busrpc_error *from) {
        if (!from)
                return;
        if (to && !to->name && from->name) {
                *to = *from;
                from->name = NULL;
                from->message = NULL;
                return;
        }
        busrpc_error_clear(from);
}

void error_from_dbus(busrpc_error *e, DBusError *de) {
        if (!de || !dbus_error_is_set(de))
                return;
        if (e && !e->name)
                (void)busrpc_error_set(e, de->name, "%s", de->message ? de->message : "");
        dbus_error_free(de);
}

int error_name_to_errno(const char *name, int fallback) {
        if (!name)
                return fallback;
        for (size_t i = 0; i < sizeof(error_table) / sizeof(error_table[0]); i++)
                if (strcmp(error_table[i].name, name) == 0)
                        return -error_table[i].errnum;
        return fallback;
}

int error_errno_from_dbus(const DBusError *e) {
        return error_name_to_errno(e ? e->name : NULL, -EIO);
}

/* libdbus aborts on an invalid error name or a message that is not UTF-8:
 * both come from local code here, but may have been built from anything. */
DBusMessage *error_to_reply(DBusMessage *call_msg, const busrpc_error *e) {
        const char *name = BUSRPC_ERROR_FAILED, *message = "Failed";

        if (!call_msg)
                return NULL;
        if (e && e->name && valid_error_name(e->name)) {
                name = e->name;
                message = e->message && valid_utf8(e->message) ? e->message : "";
        } else if (e && e->message && valid_utf8(e->message))
                message = e->message;
        return dbus_message_new_error(call_msg, name, message);
}
