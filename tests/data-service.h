/* data-service.h: the test service of test-proxy.c, a child process on
 * plain libdbus (so that busrpc's calling side is tested against code that
 * is not its own): Echo returns its arguments, Fail an error, Hang never
 * answers, Emit sends a signal, Release gives the name away, and
 * org.freedesktop.DBus.Properties Get/Set/GetAll for Name (s) and Count (u).
 *
 * The includer defines SVC_NAME, SVC_PATH, SVC_IFACE, and the globals
 * `bus` (TestBus) and `svc_pid`.
 */
#pragma once

#include <dbus/dbus.h>
#include <sys/prctl.h>
#include "data-bus.h"

static int copy_values(DBusMessageIter *from, DBusMessageIter *to) {
        int t;

        while ((t = dbus_message_iter_get_arg_type(from)) != DBUS_TYPE_INVALID) {
                if (dbus_type_is_basic(t)) {
                        DBusBasicValue v;
                        dbus_message_iter_get_basic(from, &v);
                        dbus_message_iter_append_basic(to, t, &v);
                        if (t == DBUS_TYPE_UNIX_FD)
                                close(v.fd);
                } else {
                        DBusMessageIter fs, ts;
                        char *sig = NULL;

                        dbus_message_iter_recurse(from, &fs);
                        if (t == DBUS_TYPE_ARRAY || t == DBUS_TYPE_VARIANT)
                                sig = dbus_message_iter_get_signature(t == DBUS_TYPE_ARRAY ? from : &fs);
                        dbus_message_iter_open_container(to, t, sig ? sig + (t == DBUS_TYPE_ARRAY) : NULL, &ts);
                        copy_values(&fs, &ts);
                        dbus_message_iter_close_container(to, &ts);
                        dbus_free(sig);
                }
                dbus_message_iter_next(from);
        }
        return 0;
}

static char svc_prop_name[64] = "svc";

static void svc_append_prop(DBusMessageIter *it, const char *name) {
        DBusMessageIter v;
        const char *s = svc_prop_name;
        uint32_t count = 7;

        if (strcmp(name, "Name") == 0) {
                dbus_message_iter_open_container(it, DBUS_TYPE_VARIANT, "s", &v);
                dbus_message_iter_append_basic(&v, DBUS_TYPE_STRING, &s);
        } else {
                dbus_message_iter_open_container(it, DBUS_TYPE_VARIANT, "u", &v);
                dbus_message_iter_append_basic(&v, DBUS_TYPE_UINT32, &count);
        }
        dbus_message_iter_close_container(it, &v);
}

static DBusHandlerResult svc_filter(DBusConnection *dc, DBusMessage *m, void *data) {
        DBusMessage *reply = NULL;
        DBusMessageIter from, to;
        const char *a = NULL, *b = NULL;

        if (dbus_message_get_type(m) != DBUS_MESSAGE_TYPE_METHOD_CALL)
                return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
        if (dbus_message_is_method_call(m, SVC_IFACE, "Echo")) {
                reply = dbus_message_new_method_return(m);
                dbus_message_iter_init(m, &from);
                dbus_message_iter_init_append(reply, &to);
                copy_values(&from, &to);
        } else if (dbus_message_is_method_call(m, SVC_IFACE, "Fail")) {
                reply = dbus_message_new_error(m, "org.busrpc.Test.Error.Boom", "boom");
        } else if (dbus_message_is_method_call(m, SVC_IFACE, "Hang")) {
                return DBUS_HANDLER_RESULT_HANDLED; /* never answered */
        } else if (dbus_message_is_method_call(m, SVC_IFACE, "Emit") &&
                   dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &a, DBUS_TYPE_STRING, &b, DBUS_TYPE_INVALID)) {
                /* Emit(member, destination): "" broadcasts. */
                const char *arg = "from-service";
                DBusMessage *sig = dbus_message_new_signal(SVC_PATH, SVC_IFACE, a);
                if (*b)
                        dbus_message_set_destination(sig, b);
                dbus_message_append_args(sig, DBUS_TYPE_STRING, &arg, DBUS_TYPE_INVALID);
                dbus_connection_send(dc, sig, NULL);
                dbus_message_unref(sig);
                if (!dbus_message_get_no_reply(m))
                        reply = dbus_message_new_method_return(m);
        } else if (dbus_message_is_method_call(m, SVC_IFACE, "Release")) {
                dbus_bus_release_name(dc, SVC_NAME, NULL);
                reply = dbus_message_new_method_return(m);
        } else if (dbus_message_is_method_call(m, "org.freedesktop.DBus.Properties", "Get") &&
                   dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &a, DBUS_TYPE_STRING, &b, DBUS_TYPE_INVALID)) {
                reply = dbus_message_new_method_return(m);
                dbus_message_iter_init_append(reply, &to);
                svc_append_prop(&to, b);
        } else if (dbus_message_is_method_call(m, "org.freedesktop.DBus.Properties", "Set")) {
                DBusMessageIter v;
                dbus_message_iter_init(m, &from);
                dbus_message_iter_next(&from);
                dbus_message_iter_next(&from);
                dbus_message_iter_recurse(&from, &v);
                if (dbus_message_iter_get_arg_type(&v) == DBUS_TYPE_STRING) {
                        dbus_message_iter_get_basic(&v, &a);
                        snprintf(svc_prop_name, sizeof(svc_prop_name), "%s", a);
                        reply = dbus_message_new_method_return(m);
                } else
                        reply = dbus_message_new_error(m, DBUS_ERROR_INVALID_ARGS, "Name is a string");
        } else if (dbus_message_is_method_call(m, "org.freedesktop.DBus.Properties", "GetAll")) {
                DBusMessageIter arr, e;
                const char *names[] = { "Name", "Count" };
                reply = dbus_message_new_method_return(m);
                dbus_message_iter_init_append(reply, &to);
                dbus_message_iter_open_container(&to, DBUS_TYPE_ARRAY, "{sv}", &arr);
                for (int k = 0; k < 2; k++) {
                        dbus_message_iter_open_container(&arr, DBUS_TYPE_DICT_ENTRY, NULL, &e);
                        dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &names[k]);
                        svc_append_prop(&e, names[k]);
                        dbus_message_iter_close_container(&arr, &e);
                }
                dbus_message_iter_close_container(&to, &arr);
        } else if (dbus_message_is_method_call(m, SVC_IFACE, "WrongSig")) {
                const char *s = "not an int";
                reply = dbus_message_new_method_return(m);
                dbus_message_append_args(reply, DBUS_TYPE_STRING, &s, DBUS_TYPE_INVALID);
        } else
                return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
        if (reply) {
                dbus_connection_send(dc, reply, NULL);
                dbus_message_unref(reply);
        }
        return DBUS_HANDLER_RESULT_HANDLED;
}

static void svc_main(int ready_fd) {
        DBusConnection *dc = dbus_connection_open_private(bus.address, NULL);

        if (!dc || !dbus_bus_register(dc, NULL) ||
            dbus_bus_request_name(dc, SVC_NAME, DBUS_NAME_FLAG_DO_NOT_QUEUE, NULL) !=
                    DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER)
                _exit(2);
        dbus_connection_add_filter(dc, svc_filter, NULL, NULL);
        if (write(ready_fd, "r", 1) != 1)
                _exit(3);
        close(ready_fd);
        while (dbus_connection_read_write_dispatch(dc, -1))
                ;
        _exit(0);
}

static void svc_start(void) {
        int p[2];
        char c;

        if (pipe(p) < 0)
                tap_bail("pipe");
        svc_pid = fork();
        if (svc_pid < 0)
                tap_bail("fork");
        if (svc_pid == 0) {
                close(p[0]);
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                svc_main(p[1]);
        }
        close(p[1]);
        if (read(p[0], &c, 1) != 1)
                tap_bail("test service did not start");
        close(p[0]);
}

