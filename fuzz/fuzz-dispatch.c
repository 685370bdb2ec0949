/* fuzz-dispatch.c: libFuzzer target over the serving side of libbusrpc.
 *
 * Each input is a D-Bus message in one of the two forms of fuzz-msg.h (a
 * whole marshalled message, or a selected call's signature and body), made
 * a message by dbus_message_demarshal() and so validated by libdbus as a
 * received message is. A real libdbus client sends it over a real unix socket to a busrpc_server in this
 * process. The server serves the generated skeletons of fuzz/fuzz.idl (an
 * interface with every type as input, output and property) at /fz and
 * /fz/child, so the message goes through the runtime's filter, the bus
 * driver emulation, object dispatch, Introspect, Properties Get/Set/GetAll
 * and the generated unmarshalling, and the replies are produced and sent.
 * Setters announce their property and Fire emits a signal, so match rules
 * added by earlier inputs (AddMatch) are parsed and applied.
 *
 * After each message the client pings the server and runs both ends until
 * the Ping reply arrives: messages are served in order, so by then the
 * fuzzed one has been handled. The oracle, beyond the sanitizers: a method
 * call that expects a reply got one (a reply or an error) before the Ping
 * reply, and the server is still serving. A server that closes the
 * connection is allowed (that is a peer's fault); the client reconnects.
 *
 * Built by fuzz/local.mk with clang -fsanitize=fuzzer,address,undefined
 * over the runtime's own sources; `make fuzz` runs it, tests/test-fuzz.sh
 * runs it for 20 seconds and runs the inputs kept in fuzz/regress/.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dbus/dbus.h>

#include "fz.h"
#include "fuzz-msg.h"
#include "fz-service.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PING_SERIAL_BASE 0x7ff00000u

static void die(const char *what) {
        fprintf(stderr, "fuzz-dispatch: %s\n", what);
        abort();
}

static void fz_service_die(const char *what) {
        die(what);
}

static State state;

/* ---- the two ends ---- */

static busrpc_loop *loop;
static busrpc_server *server;
static DBusConnection *client;
static char dir[64];

/* What the client has seen of the current round. */
static dbus_uint32_t want_reply_to, ping_serial;
static bool got_reply, got_ping;

static DBusHandlerResult client_filter(DBusConnection *dc, DBusMessage *m, void *data) {
        int type = dbus_message_get_type(m);
        dbus_uint32_t rs;

        if (type != DBUS_MESSAGE_TYPE_METHOD_RETURN && type != DBUS_MESSAGE_TYPE_ERROR)
                return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
        rs = dbus_message_get_reply_serial(m);
        if (getenv("FUZZ_DISPATCH_VERBOSE"))
                fprintf(stderr, "fuzz-dispatch: reply to %u: %s %s\n", (unsigned)rs,
                        type == DBUS_MESSAGE_TYPE_ERROR ? dbus_message_get_error_name(m) : "return",
                        dbus_message_get_signature(m));
        if (rs == ping_serial)
                got_ping = true;
        else if (want_reply_to && rs == want_reply_to)
                got_reply = true;
        return DBUS_HANDLER_RESULT_HANDLED;
}

static void client_close(void) {
        if (!client)
                return;
        dbus_connection_close(client);
        dbus_connection_unref(client);
        client = NULL;
}

static void client_open(void) {
        DBusError e;

        dbus_error_init(&e);
        client = dbus_connection_open_private(busrpc_server_get_address(server), &e);
        if (!client)
                die(e.message ? e.message : "cannot connect to the server");
        dbus_connection_set_exit_on_disconnect(client, FALSE);
        if (!dbus_connection_add_filter(client, client_filter, NULL, NULL))
                die("out of memory");
        /* Subscribe to every signal, as busctl monitor does: emitting is
         * then always exercised; inputs add their own rules. */
        dbus_bus_add_match(client, "type='signal'", NULL);
}

static uint64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Run the server's loop and the client until @done or the client is
 * disconnected. Ten seconds without it is a hang: abort. */
static void pump(const bool *done) {
        uint64_t deadline = now_ms() + 10000;

        while (!*done && dbus_connection_get_is_connected(client)) {
                struct pollfd p[2];
                uint64_t usec = BUSRPC_TIMEOUT_INFINITE;
                int cfd = -1, t = busrpc_loop_get_timeout(loop, &usec) < 0 ? -1 : busrpc_usec_to_poll_ms(usec);

                if (now_ms() > deadline)
                        die("no answer within 10 s: the server hangs");
                if (!dbus_connection_get_socket(client, &cfd))
                        cfd = -1;
                p[0].fd = busrpc_loop_get_fd(loop);
                p[0].events = (short)busrpc_loop_get_events(loop);
                p[1].fd = cfd;
                p[1].events = POLLIN | (dbus_connection_has_messages_to_send(client) ? POLLOUT : 0);
                p[0].revents = p[1].revents = 0;
                if (t < 0 || t > 100)
                        t = 100;
                if (poll(p, 2, t) < 0 && errno != EINTR)
                        die("poll failed");
                if (busrpc_loop_process(loop) < 0)
                        die("the server's loop failed");
                dbus_connection_read_write(client, 0);
                while (dbus_connection_dispatch(client) == DBUS_DISPATCH_DATA_REMAINS)
                        ;
        }
}

static void setup(void) {
        busrpc_server_limits lim = { .max_connections = 4 };
        char addr[128];
        int r;

        snprintf(dir, sizeof(dir), "/tmp/fuzz-dispatch.XXXXXX");
        if (!mkdtemp(dir))
                die("mkdtemp failed");
        snprintf(addr, sizeof(addr), "unix:path=%s/s/socket", dir);
        if (busrpc_loop_default(&loop) < 0)
                die("no loop");
        r = busrpc_server_new(addr, &server);
        if (r < 0)
                die("busrpc_server_new failed");
        if (busrpc_server_set_limits(server, &lim) < 0 || busrpc_server_attach(server, loop) < 0)
                die("server setup failed");
        state_init(&state);
        if (every_export_server(server, "/fz", &ops, &state, &state.obj) < 0 ||
            every_export_server(server, "/fz/child", &ops, &state, NULL) < 0 ||
            busrpc_objects_add_manager(busrpc_server_get_objects(server), "/", NULL) < 0)
                die("export failed");
        client_open();
}

/* Remove the socket and its directories at exit (libFuzzer exits through
 * exit() after -runs / -max_total_time). */
static void cleanup(void) {
        char path[96];

        client_close();
        busrpc_object_release(state.obj);
        busrpc_server_free(server);
        server = NULL;
        snprintf(path, sizeof(path), "%s/s/socket", dir);
        unlink(path);
        snprintf(path, sizeof(path), "%s/s", dir);
        rmdir(path);
        rmdir(dir);
}

static bool is_noreply_method(DBusMessage *m) {
        const char *iface = dbus_message_get_interface(m);
        return dbus_message_has_member(m, "Fire") && (!iface || strcmp(iface, every_interface.name) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static dbus_uint32_t round;
        DBusMessage *m, *ping;
        dbus_uint32_t serial;

        if (!server) {
                setup();
                atexit(cleanup);
        }
        m = fuzz_message(data, size);
        if (!m)
                return 0;
        if (!dbus_connection_get_is_connected(client)) {
                client_close();
                client_open();
        }
        serial = dbus_message_get_serial(m);
        /* Every call that asks for a reply gets one, but for the @noreply
         * method Fire, which never replies (docs/runtime.md). */
        want_reply_to = dbus_message_get_type(m) == DBUS_MESSAGE_TYPE_METHOD_CALL && !dbus_message_get_no_reply(m) &&
                                        !is_noreply_method(m)
                                ? serial
                                : 0;
        got_reply = got_ping = false;
        /* A serial the fuzzed message cannot have. */
        ping_serial = PING_SERIAL_BASE + (round++ & 0xfffff);
        if (ping_serial == serial)
                ping_serial++;
        ping = dbus_message_new_method_call(NULL, "/", "org.freedesktop.DBus.Peer", "Ping");
        if (!ping)
                die("out of memory");
        dbus_message_set_serial(ping, ping_serial);
        if (!dbus_connection_send(client, m, NULL) || !dbus_connection_send(client, ping, NULL))
                die("out of memory");
        dbus_message_unref(m);
        dbus_message_unref(ping);
        pump(&got_ping);
        if (got_ping && want_reply_to && !got_reply)
                die("a method call got no reply");
        return 0;
}
