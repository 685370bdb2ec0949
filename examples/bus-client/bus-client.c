/* bus-client: lists the names on a bus, through typed stubs for
 * org.freedesktop.DBus that busrpc-idlc generated from the introspection
 * XML the bus reports about itself (org.freedesktop.DBus.xml here). No IDL
 * was written: any existing service can be called this way.
 *
 *   bus-client [--bus ADDRESS]
 *
 * Prints the bus id and features, then one line per name: the name, its
 * owner's unique name, and the owner's uid and pid.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "org_freedesktop_dbus.h"

#define DBUS_NAME "org.freedesktop.DBus"
#define DBUS_PATH "/org/freedesktop/DBus"

static int fail(const char *what, int r, busrpc_error *err) {
        if (r == -EREMOTEIO && busrpc_error_is_set(err))
                fprintf(stderr, "bus-client: %s: %s: %s\n", what, err->name, err->message);
        else
                fprintf(stderr, "bus-client: %s: %s\n", what, strerror(-r));
        busrpc_error_clear(err);
        return 1;
}

static int compare(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One line for @name. An owner may leave between ListNames and our calls:
 * then the line says so instead of failing. */
static void print_name(busrpc_proxy *bus, const char *name) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        char *owner = NULL;
        uint32_t uid, pid;
        char uid_s[16] = "-", pid_s[16] = "-";

        if (dbus_get_name_owner(bus, name, &owner, &err) < 0) {
                printf("%-40s (gone: %s)\n", name, err.name ? err.name : "?");
                busrpc_error_clear(&err);
                return;
        }
        if (dbus_get_connection_unix_user(bus, name, &uid, &err) >= 0)
                snprintf(uid_s, sizeof(uid_s), "%" PRIu32, uid);
        busrpc_error_clear(&err);
        if (dbus_get_connection_unix_process_id(bus, name, &pid, &err) >= 0)
                snprintf(pid_s, sizeof(pid_s), "%" PRIu32, pid);
        busrpc_error_clear(&err);
        printf("%-40s %-20s %6s %8s\n", name, owner, uid_s, pid_s);
        free(owner);
}

int main(int argc, char **argv) {
        const char *address = "session";
        busrpc_error err = BUSRPC_ERROR_INIT;
        org_freedesktop_dbus_string_array names = { NULL, 0 }, features = { NULL, 0 };
        org_freedesktop_dbus_string_variant_map creds = { NULL, NULL, 0 };
        busrpc_conn *conn = NULL;
        busrpc_proxy *bus = NULL;
        char *id = NULL;
        int r, status = 1;

        if (argc == 3 && strcmp(argv[1], "--bus") == 0) {
                address = argv[2];
        } else if (argc != 1) {
                fprintf(stderr, "usage: bus-client [--bus ADDRESS]\n");
                return 2;
        }
        r = busrpc_conn_open(address, &conn);
        if (r < 0) {
                fprintf(stderr, "bus-client: cannot connect to %s: %s\n", address, strerror(-r));
                return 1;
        }
        /* The bus driver is an object like any other: a proxy, typed calls. */
        r = dbus_proxy_new(conn, DBUS_NAME, DBUS_PATH, &bus);
        if (r < 0)
                goto out;

        r = dbus_get_id(bus, &id, &err);
        if (r < 0) {
                status = fail("GetId", r, &err);
                goto out;
        }
        printf("bus id: %s\n", id);
        printf("my unique name: %s\n", busrpc_conn_get_unique_name(conn));

        /* A property, read through its typed getter. */
        r = dbus_get_features(bus, &features, &err);
        if (r < 0) {
                status = fail("Features", r, &err);
                goto out;
        }
        printf("features:");
        for (size_t i = 0; i < features.n; i++)
                printf(" %s", features.items[i]);
        printf("%s\n", features.n ? "" : " (none)");

        /* A map of variants: our own credentials as the bus sees them. */
        r = dbus_get_connection_credentials(bus, busrpc_conn_get_unique_name(conn), &creds, &err);
        if (r < 0) {
                status = fail("GetConnectionCredentials", r, &err);
                goto out;
        }
        printf("my credentials:");
        for (size_t i = 0; i < creds.n; i++) {
                char *value = NULL;

                if (busrpc_variant_to_string(creds.values[i], &value) >= 0)
                        printf(" %s=%s", creds.keys[i], value);
                free(value);
        }
        printf("\n");

        r = dbus_list_names(bus, &names, &err);
        if (r < 0) {
                status = fail("ListNames", r, &err);
                goto out;
        }
        qsort(names.items, names.n, sizeof(*names.items), compare);
        printf("%zu names:\n%-40s %-20s %6s %8s\n", names.n, "NAME", "OWNER", "UID", "PID");
        for (size_t i = 0; i < names.n; i++)
                print_name(bus, names.items[i]);
        status = 0;
out:
        if (r < 0 && status && !busrpc_error_is_set(&err))
                fprintf(stderr, "bus-client: %s\n", strerror(-r));
        busrpc_error_clear(&err);
        free(id);
        org_freedesktop_dbus_string_array_clear(&features);
        org_freedesktop_dbus_string_array_clear(&names);
        org_freedesktop_dbus_string_variant_map_clear(&creds);
        busrpc_proxy_unref(bus);
        busrpc_conn_unref(conn);
        return status;
}
