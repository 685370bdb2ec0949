/* libdbus-count.h: count the DBusMessages this process makes.
 *
 * A test that must show a path makes no DBusMessage (the fast path of
 * runtime/fastcall.c) includes this once, in the .c file of its program:
 * the program then defines libdbus's message constructors
 * (dbus_message_new*, dbus_message_demarshal, dbus_message_copy) itself.
 * Each adds one to msgs_made and hands the call to libdbus's own
 * (dlsym(RTLD_NEXT)); libbusrpc's calls bind to these, so the count
 * covers the library too. A control on the DBusMessage path
 * (BUSRPC_FAST_PATH=0) shows the counter sees what libdbus makes.
 *
 * Used by test-fastcall.c and test-fastsignal.c. It defines functions
 * with external linkage: one translation unit per program only.
 */
#ifndef BUSRPC_TESTS_LIBDBUS_COUNT_H
#define BUSRPC_TESTS_LIBDBUS_COUNT_H

#include <dbus/dbus.h>
#include <dlfcn.h>
#include <stdlib.h>

static unsigned long msgs_made;

#define REAL(name, type) ((type)real_fn(#name))

static void *real_fn(const char *name) {
        void *f = dlsym(RTLD_NEXT, name);

        if (!f)
                abort(); /* libdbus is linked: cannot happen */
        return f;
}

DBusMessage *dbus_message_new(int type) {
        msgs_made++;
        return REAL(dbus_message_new, DBusMessage * (*)(int))(type);
}

DBusMessage *dbus_message_new_signal(const char *path, const char *iface, const char *name) {
        msgs_made++;
        return REAL(dbus_message_new_signal,
                    DBusMessage * (*)(const char *, const char *, const char *))(path, iface, name);
}

DBusMessage *dbus_message_new_method_call(const char *dest, const char *path, const char *iface,
                                          const char *method) {
        msgs_made++;
        return REAL(dbus_message_new_method_call,
                    DBusMessage * (*)(const char *, const char *, const char *, const char *))(
                dest, path, iface, method);
}

DBusMessage *dbus_message_new_method_return(DBusMessage *call) {
        msgs_made++;
        return REAL(dbus_message_new_method_return, DBusMessage * (*)(DBusMessage *))(call);
}

DBusMessage *dbus_message_new_error(DBusMessage *to, const char *name, const char *text) {
        msgs_made++;
        return REAL(dbus_message_new_error,
                    DBusMessage * (*)(DBusMessage *, const char *, const char *))(to, name, text);
}

DBusMessage *dbus_message_demarshal(const char *str, int len, DBusError *error) {
        msgs_made++;
        return REAL(dbus_message_demarshal, DBusMessage * (*)(const char *, int, DBusError *))(str, len,
                                                                                               error);
}

DBusMessage *dbus_message_copy(const DBusMessage *m) {
        msgs_made++;
        return REAL(dbus_message_copy, DBusMessage * (*)(const DBusMessage *))(m);
}

#endif
