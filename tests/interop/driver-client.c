/* driver-client.c: busrpc's typed stubs for a service busrpc did not write
 * (H9): dbus-daemon's own org.freedesktop.DBus. test-driver-stubs.sh
 * captures the daemon's introspection XML at test time, runs busrpc-idlc on
 * it (module "fdo", from the file name fdo.xml: the interface C name is
 * fdo_dbus, fdo_peer..., DESIGN.md), and compiles this file
 * against the generated fdo.h / fdo-client.c.
 *
 * Usage: driver-client BUS_ADDRESS BUS_ID
 * BUS_ID is what dbus-send printed for GetId, to compare with. Prints TAP.
 */
#include <dbus/dbus.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fdo.h"
#include "tap.h"

#define DRIVER "org.freedesktop.DBus"
#define DRIVER_PATH "/org/freedesktop/DBus"
#define TEST_NAME "org.busrpc.DriverTest"

static busrpc_conn *conn;
static busrpc_proxy *drv;
static const char *me;

static bool contains(const fdo_string_array *a, const char *s) {
        for (size_t i = 0; i < a->n; i++)
                if (strcmp(a->items[i], s) == 0)
                        return true;
        return false;
}

static bool is_hex32(const char *s) {
        if (!s || strlen(s) != 32)
                return false;
        for (; *s; s++)
                if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
                        return false;
        return true;
}

static void wait_until(const int *flag, int want) {
        struct timespec t0, t;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        while (*flag < want) {
                clock_gettime(CLOCK_MONOTONIC, &t);
                if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > 5000)
                        return;
                busrpc_loop_iterate(busrpc_conn_get_loop(conn), 100 * BUSRPC_USEC_PER_MSEC);
        }
}

static void test_names(void) {
        busrpc_error e = BUSRPC_ERROR_INIT;
        fdo_string_array names = { NULL, 0 };
        char *owner = NULL;
        bool has = false;
        int r;

        r = fdo_dbus_list_names(drv, &names, &e);
        is_int(r, 0, "ListNames succeeds");
        ok(contains(&names, me), "ListNames contains our unique name %s", me);
        ok(contains(&names, DRIVER), "ListNames contains org.freedesktop.DBus");
        fdo_string_array_clear(&names);

        r = fdo_dbus_get_name_owner(drv, DRIVER, &owner, &e);
        is_int(r, 0, "GetNameOwner(org.freedesktop.DBus) succeeds");
        is_str(owner, DRIVER, "GetNameOwner(org.freedesktop.DBus) is the driver itself");
        free(owner);
        owner = NULL;
        r = fdo_dbus_get_name_owner(drv, me, &owner, &e);
        is_str(owner, me, "GetNameOwner(our unique name) is us");
        free(owner);
        owner = NULL;
        r = fdo_dbus_get_name_owner(drv, "org.busrpc.Nobody", &owner, &e);
        is_int(r, -EREMOTEIO, "GetNameOwner(unowned): an error reply");
        is_str(e.name, "org.freedesktop.DBus.Error.NameHasNoOwner", "GetNameOwner(unowned): NameHasNoOwner");
        ok(owner == NULL, "GetNameOwner(unowned): output untouched");
        busrpc_error_clear(&e);

        r = fdo_dbus_name_has_owner(drv, me, &has, &e);
        ok(r == 0 && has, "NameHasOwner(us): true");
        has = true;
        r = fdo_dbus_name_has_owner(drv, "org.busrpc.Nobody", &has, &e);
        ok(r == 0 && !has, "NameHasOwner(unowned): false");
        busrpc_error_clear(&e);
}

static void test_id(const char *want_id) {
        busrpc_error e = BUSRPC_ERROR_INIT;
        char *id = NULL, *mid = NULL;
        busrpc_proxy *peer = NULL;
        int r;

        r = fdo_dbus_get_id(drv, &id, &e);
        is_int(r, 0, "GetId succeeds");
        ok(is_hex32(id), "GetId is 32 hex digits (%s)", id ? id : "null");
        is_str(id, want_id, "GetId is what dbus-send printed");
        free(id);

        r = fdo_peer_proxy_new(conn, DRIVER, DRIVER_PATH, &peer);
        is_int(r, 0, "a Peer proxy on the driver");
        r = fdo_peer_get_machine_id(peer, &mid, &e);
        ok(r == 0 && is_hex32(mid), "Peer.GetMachineId: 32 hex digits");
        free(mid);
        r = fdo_peer_ping(peer, &e);
        is_int(r, 0, "Peer.Ping");
        busrpc_proxy_unref(peer);
        busrpc_error_clear(&e);
}

static int owner_changes, acquired;
static char *changed_new_owner;

static void on_owner_changed(const char *name, const char *old_owner, const char *new_owner, void *userdata) {
        (void)userdata;
        if (strcmp(name, TEST_NAME) != 0 || *old_owner)
                return;
        free(changed_new_owner);
        changed_new_owner = strdup(new_owner);
        owner_changes++;
}

static void on_acquired(const char *name, void *userdata) {
        (void)userdata;
        if (strcmp(name, TEST_NAME) == 0)
                acquired++;
}

static void test_request_name(void) {
        busrpc_error e = BUSRPC_ERROR_INIT;
        busrpc_subscription *s1 = NULL, *s2 = NULL;
        fdo_string_array names = { NULL, 0 };
        uint32_t result = 0;
        char *owner = NULL;
        int r;

        r = fdo_dbus_on_name_owner_changed(drv, on_owner_changed, NULL, &s1);
        is_int(r, 0, "subscribed to NameOwnerChanged");
        r = fdo_dbus_on_name_acquired(drv, on_acquired, NULL, &s2);
        is_int(r, 0, "subscribed to NameAcquired");
        r = fdo_dbus_request_name(drv, TEST_NAME, 4 /* DO_NOT_QUEUE */, &result, &e);
        is_int(r, 0, "RequestName succeeds");
        is_int(result, 1, "RequestName: PRIMARY_OWNER");
        r = fdo_dbus_get_name_owner(drv, TEST_NAME, &owner, &e);
        is_str(owner, me, "GetNameOwner(the new name) is us");
        free(owner);
        r = fdo_dbus_list_names(drv, &names, &e);
        ok(r == 0 && contains(&names, TEST_NAME), "ListNames contains the new name");
        fdo_string_array_clear(&names);
        wait_until(&owner_changes, 1);
        is_int(owner_changes, 1, "NameOwnerChanged signal received");
        is_str(changed_new_owner, me, "NameOwnerChanged: the new owner is us");
        wait_until(&acquired, 1);
        is_int(acquired, 1, "NameAcquired signal received");
        r = fdo_dbus_release_name(drv, TEST_NAME, &result, &e);
        ok(r == 0 && result == 1, "ReleaseName: RELEASED");
        busrpc_subscription_release(s1);
        busrpc_subscription_release(s2);
        free(changed_new_owner);
        busrpc_error_clear(&e);
}

static void test_credentials(void) {
        busrpc_error e = BUSRPC_ERROR_INIT;
        uint32_t pid = 0, uid = 1234567;
        fdo_string_variant_map creds = { NULL, NULL, 0 };
        uint32_t cpid = 0;
        int r;

        r = fdo_dbus_get_connection_unix_process_id(drv, me, &pid, &e);
        ok(r == 0 && pid == (uint32_t)getpid(), "GetConnectionUnixProcessID(us) is our pid");
        r = fdo_dbus_get_connection_unix_user(drv, me, &uid, &e);
        ok(r == 0 && uid == (uint32_t)getuid(), "GetConnectionUnixUser(us) is our uid");
        r = fdo_dbus_get_connection_credentials(drv, me, &creds, &e);
        is_int(r, 0, "GetConnectionCredentials succeeds");
        for (size_t i = 0; i < creds.n; i++)
                if (strcmp(creds.keys[i], "ProcessID") == 0)
                        busrpc_variant_get_uint32(creds.values[i], &cpid);
        ok(cpid == (uint32_t)getpid(), "GetConnectionCredentials: ProcessID is our pid (a{sv})");
        fdo_string_variant_map_clear(&creds);
        busrpc_error_clear(&e);
}

static void test_properties_and_xml(void) {
        busrpc_error e = BUSRPC_ERROR_INIT;
        fdo_string_array ifaces = { NULL, 0 }, features = { NULL, 0 };
        busrpc_proxy *intro = NULL;
        char *xml = NULL;
        int r;

        r = fdo_dbus_get_interfaces(drv, &ifaces, &e);
        is_int(r, 0, "property Interfaces (as) read");
        ok(contains(&ifaces, "org.freedesktop.DBus.Monitoring"), "Interfaces lists org.freedesktop.DBus.Monitoring");
        r = fdo_dbus_get_features(drv, &features, &e);
        is_int(r, 0, "property Features (as) read");
        fdo_string_array_clear(&ifaces);
        fdo_string_array_clear(&features);

        r = fdo_introspectable_proxy_new(conn, DRIVER, DRIVER_PATH, &intro);
        if (r >= 0)
                r = fdo_introspectable_introspect(intro, &xml, &e);
        is_int(r, 0, "Introspectable.Introspect through the generated stub");
        ok(xml && strstr(xml, "<interface name=\"org.freedesktop.DBus\">"), "the XML holds org.freedesktop.DBus");
        free(xml);
        busrpc_proxy_unref(intro);
        busrpc_error_clear(&e);
}

static int async_done;
static char *async_id;
static void on_id(int r, const busrpc_error *err, const char *id, void *userdata) {
        (void)err;
        (void)userdata;
        async_id = r == 0 && id ? strdup(id) : NULL;
        async_done = 1;
}

static void test_async(const char *want_id) {
        int r = fdo_dbus_get_id_async(drv, on_id, NULL, NULL);
        is_int(r, 0, "GetId async: sent");
        wait_until(&async_done, 1);
        is_str(async_id, want_id, "GetId async: the same id");
        free(async_id);
}

int main(int argc, char **argv) {
        int r;

        if (argc != 3) {
                fprintf(stderr, "usage: driver-client BUS_ADDRESS BUS_ID\n");
                return 2;
        }
        r = busrpc_conn_open(argv[1], &conn);
        if (r < 0)
                tap_bail("cannot connect to %s: %s", argv[1], strerror(-r));
        me = busrpc_conn_get_unique_name(conn);
        if (!me)
                tap_bail("no unique name");
        r = fdo_dbus_proxy_new(conn, DRIVER, DRIVER_PATH, &drv);
        if (r < 0)
                tap_bail("fdo_dbus_proxy_new: %s", strerror(-r));

        test_names();
        test_id(argv[2]);
        test_request_name();
        test_credentials();
        test_properties_and_xml();
        test_async(argv[2]);

        busrpc_proxy_unref(drv);
        busrpc_conn_unref(conn);
        dbus_shutdown();
        return tap_done();
}
