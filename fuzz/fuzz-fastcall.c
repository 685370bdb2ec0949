/* fuzz-fastcall.c: libFuzzer target holding the fast path's serving side
 * (runtime/fastcall.c on busrpc's own transport, issue 12) to the libdbus
 * path's answers.
 *
 * Two busrpc_servers in this process serve the same object (fuzz/fuzz.idl's
 * generated descriptors and fz-service.h's ops, each server its own copy of
 * the state): one made with BUSRPC_FAST_PATH=1, whose peers are read and
 * answered by busrpc's transport and, for descriptor-served methods, by
 * fastcall.c (the body decoded by wire_args_read(), the reply written by
 * wire_args_write()), and one with BUSRPC_FAST_PATH=0, served through
 * libdbus and marshal.c. A real libdbus client is connected to each.
 *
 * Each input is a message in fuzz-msg.h's forms (a whole marshalled
 * message, or a call of fuzz_calls[] with a fuzzed signature and body),
 * validated by libdbus's dbus_message_demarshal() as a received message
 * is. The same message (same serial) goes to both servers, followed by a
 * Peer.Ping; both ends run until both Pings are answered. The oracle:
 * both servers answer it the same way: no reply from either, or a method
 * return from both with the same signature and the same body bytes (but
 * for the bus driver's GetId: each server has its own GUID), or an error
 * from both with the same error name and message; and both keep the
 * connection, or both close it; an 'h' indexing no fd (the client sends
 * none) is one of these: both answer InvalidArgs, as the transport leaves
 * the index to the reader as libdbus does. One exception, checked as
 * such: a message whose UNIX_FDS header asks for fds the client never
 * sends costs the fast-path peer its connection, where the libdbus path
 * waits for them or answers an error. Any other difference aborts
 * (libFuzzer keeps the input), printing both answers.
 *
 * Built by fuzz/local.mk with clang -fsanitize=fuzzer,address,undefined
 * over the runtime's own sources; tests/test-fuzz.sh runs the inputs kept
 * in fuzz/regress/ through it and fuzzes it for 20 seconds.
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

#include "fuzz-msg.h"
#include "fz.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PING_SERIAL_BASE 0x7ff00000u

static void die(const char *what) {
        fprintf(stderr, "fuzz-fastcall: %s\n", what);
        abort();
}

static void fz_service_die(const char *what) {
        die(what);
}

#include "fz-service.h"

/* One server, its object and the client talking to it. */
typedef struct Side {
        const char *name; /* "fast" / "libdbus" */
        const char *env;  /* BUSRPC_FAST_PATH while its server is made */
        busrpc_server *server;
        State state;
        DBusConnection *client;
        dbus_uint32_t want, ping;
        bool got_ping;
        DBusMessage *reply; /* the answer to want, if any */
        char dir[64];
} Side;

static Side sides[2] = { { .name = "fast", .env = "1" }, { .name = "libdbus", .env = "0" } };
static busrpc_loop *loop;
/* Inputs that reached both servers, answers compared, of them refused by the codec. */
static unsigned long n_sent, n_returns, n_errors, n_refused;

static DBusHandlerResult client_filter(DBusConnection *dc, DBusMessage *m, void *data) {
        Side *s = data;
        int type = dbus_message_get_type(m);
        dbus_uint32_t rs;

        (void)dc;
        if (type != DBUS_MESSAGE_TYPE_METHOD_RETURN && type != DBUS_MESSAGE_TYPE_ERROR)
                return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
        rs = dbus_message_get_reply_serial(m);
        if (rs == s->ping)
                s->got_ping = true;
        else if (s->want && rs == s->want && !s->reply)
                s->reply = dbus_message_ref(m);
        return DBUS_HANDLER_RESULT_HANDLED;
}

static void client_close(Side *s) {
        if (!s->client)
                return;
        dbus_connection_close(s->client);
        dbus_connection_unref(s->client);
        s->client = NULL;
}

static void client_open(Side *s) {
        DBusError e;

        dbus_error_init(&e);
        s->client = dbus_connection_open_private(busrpc_server_get_address(s->server), &e);
        if (!s->client)
                die(e.message ? e.message : "cannot connect to a server");
        dbus_connection_set_exit_on_disconnect(s->client, FALSE);
        if (!dbus_connection_add_filter(s->client, client_filter, s, NULL))
                die("out of memory");
}

static bool connected(const Side *s) {
        return s->client && dbus_connection_get_is_connected(s->client);
}

static uint64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static bool side_done(const Side *s) {
        return s->got_ping || !connected(s);
}

/* Run the servers' loop and both clients until each side has its Ping
 * answer or lost its connection. Ten seconds without it is a hang. */
static void pump(void) {
        uint64_t deadline = now_ms() + 10000;

        while (!side_done(&sides[0]) || !side_done(&sides[1])) {
                struct pollfd p[3];
                uint64_t usec = BUSRPC_TIMEOUT_INFINITE;
                int t = busrpc_loop_get_timeout(loop, &usec) < 0 ? -1 : busrpc_usec_to_poll_ms(usec);

                if (now_ms() > deadline)
                        die("no answer within 10 s: a server hangs");
                p[0].fd = busrpc_loop_get_fd(loop);
                p[0].events = (short)busrpc_loop_get_events(loop);
                for (int i = 0; i < 2; i++) {
                        int cfd = -1;

                        if (!connected(&sides[i]) || !dbus_connection_get_socket(sides[i].client, &cfd))
                                cfd = -1;
                        p[i + 1].fd = cfd;
                        p[i + 1].events = POLLIN;
                        if (cfd >= 0 && dbus_connection_has_messages_to_send(sides[i].client))
                                p[i + 1].events |= POLLOUT;
                }
                for (int i = 0; i < 3; i++)
                        p[i].revents = 0;
                if (t < 0 || t > 100)
                        t = 100;
                if (poll(p, 3, t) < 0 && errno != EINTR)
                        die("poll failed");
                if (busrpc_loop_process(loop) < 0)
                        die("the servers' loop failed");
                for (int i = 0; i < 2; i++) {
                        if (!connected(&sides[i]))
                                continue;
                        dbus_connection_read_write(sides[i].client, 0);
                        while (dbus_connection_dispatch(sides[i].client) == DBUS_DISPATCH_DATA_REMAINS)
                                ;
                }
        }
}

static void setup_side(Side *s) {
        busrpc_server_limits lim = { .max_connections = 4 };
        char addr[128];

        snprintf(s->dir, sizeof(s->dir), "/tmp/fuzz-fastcall.XXXXXX");
        if (!mkdtemp(s->dir))
                die("mkdtemp failed");
        snprintf(addr, sizeof(addr), "unix:path=%s/s/socket", s->dir);
        if (setenv("BUSRPC_FAST_PATH", s->env, 1) < 0 || busrpc_server_new(addr, &s->server) < 0)
                die("busrpc_server_new failed");
        if (busrpc_server_set_limits(s->server, &lim) < 0 || busrpc_server_attach(s->server, loop) < 0)
                die("server setup failed");
        state_init(&s->state);
        if (every_export_server(s->server, "/fz", &ops, &s->state, &s->state.obj) < 0 ||
            every_export_server(s->server, "/fz/child", &ops, &s->state, NULL) < 0 ||
            busrpc_objects_add_manager(busrpc_server_get_objects(s->server), "/", NULL) < 0)
                die("export failed");
        client_open(s);
}

/* Remove the sockets and their directories at exit (libFuzzer exits
 * through exit() after -runs / -max_total_time). */
static void cleanup(void) {
        fprintf(stderr,
                "fuzz-fastcall: %lu messages to both servers: %lu returns and %lu errors alike, "
                "%lu refused by the fast path as documented\n",
                n_sent, n_returns, n_errors, n_refused);
        for (int i = 0; i < 2; i++) {
                Side *s = &sides[i];
                char path[96];

                client_close(s);
                busrpc_object_release(s->state.obj);
                busrpc_server_free(s->server);
                s->server = NULL;
                snprintf(path, sizeof(path), "%s/s/socket", s->dir);
                unlink(path);
                snprintf(path, sizeof(path), "%s/s", s->dir);
                rmdir(path);
                rmdir(s->dir);
        }
}

/* The body of @m (its bytes after the header), native byte order. */
static bool body_of(DBusMessage *m, char **ret_bytes, int *ret_len, const uint8_t **ret_body, size_t *ret_body_len) {
        WireMsg w;
        int k;

        if (!dbus_message_marshal(m, ret_bytes, ret_len))
                die("out of memory");
        /* the fds stayed with the client: their indexes are compared, not the fds */
        k = wire_message_parse_flags(&w, (const uint8_t *)*ret_bytes, (size_t)*ret_len, WIRE_MAX_FDS, NULL,
                                     WIRE_PARSE_NO_FD_INDEX);
        if (k < 0)
                return false;
        *ret_body = w.data + w.header_len;
        *ret_body_len = w.body_len;
        return true;
}

/* Does busrpc's transport refuse @m as a server gets it from the client
 * (with no fds; 'h' indexes are the reader's, as in runtime/transport.c)? */
static bool wire_refuses(DBusMessage *m) {
        char *bytes = NULL;
        int len = 0, k;
        WireMsg w;

        if (!dbus_message_marshal(m, &bytes, &len))
                die("out of memory");
        k = wire_message_parse_flags(&w, (const uint8_t *)bytes, (size_t)len, 0, NULL, WIRE_PARSE_NO_FD_INDEX);
        dbus_free(bytes);
        return k < 0;
}

static void print_answer(const Side *s) {
        DBusMessage *m = s->reply;

        if (!m) {
                fprintf(stderr, "  %s: no answer%s\n", s->name, connected(s) ? "" : " (connection closed)");
                return;
        }
        fprintf(stderr, "  %s: %s %s \"%s\"%s\n", s->name,
                dbus_message_get_type(m) == DBUS_MESSAGE_TYPE_ERROR ? "error" : "return",
                dbus_message_get_type(m) == DBUS_MESSAGE_TYPE_ERROR ? dbus_message_get_error_name(m) : "",
                dbus_message_get_signature(m), connected(s) ? "" : " (connection closed)");
        if (dbus_message_get_type(m) == DBUS_MESSAGE_TYPE_ERROR) {
                const char *text = NULL;

                if (dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &text, DBUS_TYPE_INVALID))
                        fprintf(stderr, "    %s\n", text);
        }
}

static void differ(const char *what) {
        fprintf(stderr, "fuzz-fastcall: the fast path and the libdbus path answer differently: %s\n", what);
        print_answer(&sides[0]);
        print_answer(&sides[1]);
        abort();
}

/* The oracle: both answers alike. @refused: the wire codec refuses the
 * message as the server receives it (without fds); @own_guid: an answer
 * that is the server's own (GetId). */
static void compare(bool refused, bool own_guid) {
        DBusMessage *a = sides[0].reply, *b = sides[1].reply;

        n_sent++;
        if (refused) {
                if (connected(&sides[0]) || a)
                        differ("the fast path served a message its wire codec refuses");
                if (b && dbus_message_get_type(b) != DBUS_MESSAGE_TYPE_ERROR)
                        differ("the libdbus path returned values for a message the fast path refuses");
                n_refused++;
                return;
        }
        if (connected(&sides[0]) != connected(&sides[1]))
                differ("one kept the connection, the other closed it");
        if (!a || !b) {
                if (a || b)
                        differ("one answered, the other did not");
                return;
        }
        if (dbus_message_get_type(a) != dbus_message_get_type(b))
                differ("a return and an error");
        if (dbus_message_get_type(a) == DBUS_MESSAGE_TYPE_ERROR) {
                const char *ta = NULL, *tb = NULL;

                if (strcmp(dbus_message_get_error_name(a), dbus_message_get_error_name(b)) != 0)
                        differ("error names");
                (void)dbus_message_get_args(a, NULL, DBUS_TYPE_STRING, &ta, DBUS_TYPE_INVALID);
                (void)dbus_message_get_args(b, NULL, DBUS_TYPE_STRING, &tb, DBUS_TYPE_INVALID);
                if ((ta || tb) && (!ta || !tb || strcmp(ta, tb) != 0))
                        differ("error messages");
                n_errors++;
                return;
        }
        if (strcmp(dbus_message_get_signature(a), dbus_message_get_signature(b)) != 0)
                differ("return signatures");
        {
                char *ba = NULL, *bb = NULL;
                int la, lb;
                const uint8_t *pa, *pb;
                size_t na, nb;

                if (!body_of(a, &ba, &la, &pa, &na) || !body_of(b, &bb, &lb, &pb, &nb))
                        die("a reply libdbus accepted does not parse");
                if (!own_guid && (na != nb || memcmp(pa, pb, na) != 0))
                        differ("return values (body bytes)");
                dbus_free(ba);
                dbus_free(bb);
        }
        n_returns++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static dbus_uint32_t round;
        DBusMessage *m;
        dbus_uint32_t serial, ping_serial;
        bool want, refused, own_guid;

        if (!loop) {
                if (busrpc_loop_default(&loop) < 0)
                        die("no loop");
                setup_side(&sides[0]);
                setup_side(&sides[1]);
                atexit(cleanup);
        }
        m = fuzz_message(data, size);
        if (!m)
                return 0;
        refused = wire_refuses(m);
        own_guid = dbus_message_has_member(m, "GetId");
        serial = dbus_message_get_serial(m);
        /* Fire is @noreply: neither side answers it, whatever the flag says. */
        want = dbus_message_get_type(m) == DBUS_MESSAGE_TYPE_METHOD_CALL && !dbus_message_get_no_reply(m);
        ping_serial = PING_SERIAL_BASE + (round++ & 0xfffff);
        if (ping_serial == serial)
                ping_serial++;
        /* A lost connection is made again on both sides, so that the
         * servers' peers keep the same unique names (:1.N). */
        if (!connected(&sides[0]) || !connected(&sides[1]))
                for (int i = 0; i < 2; i++) {
                        client_close(&sides[i]);
                        client_open(&sides[i]);
                }
        for (int i = 0; i < 2; i++) {
                Side *s = &sides[i];
                DBusMessage *ping = dbus_message_new_method_call(NULL, "/", "org.freedesktop.DBus.Peer", "Ping");

                if (!ping)
                        die("out of memory");
                dbus_message_set_serial(ping, ping_serial);
                s->want = want ? serial : 0;
                s->ping = ping_serial;
                s->got_ping = false;
                if (s->reply)
                        dbus_message_unref(s->reply);
                s->reply = NULL;
                if (!dbus_connection_send(s->client, m, NULL) || !dbus_connection_send(s->client, ping, NULL))
                        die("out of memory");
                dbus_message_unref(ping);
        }
        dbus_message_unref(m);
        pump();
        compare(refused, own_guid);
        return 0;
}
