/* server.c: the peer-to-peer service the hostile-peer tests attack.
 * Interface org.busrpc.Hostile at /h (and /h/pad/N to make Introspect
 * replies bigger):
 *
 *   Echo(s) -> s        Big(u n) -> ay (n bytes)
 *   Peers() -> u        Hold() -> u    (answered 42 at shutdown)
 *   Fd(h) -> u          (1: the fd arrived; it is closed)
 *
 *   hostile-server --listen ADDR [--allow-uid UID] [--pad N]
 *                  [--max-connections N] [--max-per-uid N]
 *                  [--max-unauthenticated N] [--auth-timeout MS]
 *                  [--max-outgoing BYTES] [--shutdown-timeout MS]
 *
 * Prints "READY <address>"; on SIGTERM answers every held call, frees the
 * server (busrpc_server_free()) and exits 0. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dbus/dbus.h>
#include "busrpc/busrpc.h"

static busrpc_server *srv;
static busrpc_call *held[256];
static unsigned n_held;

static int reply_u(busrpc_call *call, uint32_t v) {
        busrpc_msg *reply;
        busrpc_iter out;
        int r = busrpc_call_reply_new(call, &reply);

        if (r < 0)
                return r;
        busrpc_msg_append(reply, &out);
        busrpc_iter_append_basic(&out, 'u', &v);
        return busrpc_msg_send(reply);
}

static int sk_echo(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        const char *s;
        busrpc_msg *reply;
        busrpc_iter out;
        int r;

        if (busrpc_iter_get_basic(args, 's', &s) < 0)
                return -EBADMSG;
        r = busrpc_call_reply_new(call, &reply);
        if (r < 0)
                return r;
        busrpc_msg_append(reply, &out);
        busrpc_iter_append_basic(&out, 's', &s);
        return busrpc_msg_send(reply);
}

static int sk_big(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        uint32_t n;
        busrpc_msg *reply;
        busrpc_iter out;
        char *buf;
        int r;

        if (busrpc_iter_get_basic(args, 'u', &n) < 0 || n > 64u * 1024u * 1024u)
                return -EINVAL;
        buf = malloc(n ? n : 1);
        if (!buf)
                return -ENOMEM;
        memset(buf, 'b', n);
        r = busrpc_call_reply_new(call, &reply);
        if (r >= 0) {
                busrpc_msg_append(reply, &out);
                r = busrpc_iter_append_fixed_array(&out, 'y', buf, n);
                r = r < 0 ? r : busrpc_msg_send(reply);
        }
        free(buf);
        return r;
}

static int sk_peers(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        return reply_u(call, busrpc_server_count_peers(srv));
}

static int sk_hold(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        if (n_held >= sizeof(held) / sizeof(held[0]))
                return busrpc_call_fail(call, "org.busrpc.Hostile.Error.Busy", "too many held calls");
        held[n_held++] = busrpc_call_ref(call);
        return BUSRPC_DEFER;
}

static int sk_fd(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        int fd = -1;

        if (busrpc_iter_get_fd(args, &fd) < 0)
                return -EBADMSG;
        close(fd);
        return reply_u(call, 1);
}

static const busrpc_method_desc methods[] = {
        { "Echo", "s", "s", sk_echo, 0, NULL, NULL, NULL },
        { "Big", "u", "ay", sk_big, 0, NULL, NULL, NULL },
        { "Peers", "", "u", sk_peers, 0, NULL, NULL, NULL },
        { "Hold", "", "u", sk_hold, 0, NULL, NULL, NULL },
        { "Fd", "h", "u", sk_fd, 0, NULL, NULL, NULL },
};
static const busrpc_interface_desc iface = {
        .name = "org.busrpc.Hostile",
        .methods = methods,
        .n_methods = sizeof(methods) / sizeof(methods[0]),
};

static unsigned num(const char *s) {
        return (unsigned)strtoul(s, NULL, 0);
}

int main(int argc, char **argv) {
        busrpc_server_limits lim = { 0 };
        const char *addr = NULL;
        busrpc_object *o, **pad = NULL;
        unsigned n_pad = 0;
        long allow = -1;
        int r;

        for (int i = 1; i < argc; i++) {
                const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
                if (!v)
                        goto usage;
                i++;
                if (strcmp(a, "--listen") == 0)
                        addr = v;
                else if (strcmp(a, "--allow-uid") == 0)
                        allow = atol(v);
                else if (strcmp(a, "--pad") == 0)
                        n_pad = num(v);
                else if (strcmp(a, "--max-connections") == 0)
                        lim.max_connections = num(v);
                else if (strcmp(a, "--max-per-uid") == 0)
                        lim.max_connections_per_uid = num(v);
                else if (strcmp(a, "--max-unauthenticated") == 0)
                        lim.max_unauthenticated = num(v);
                else if (strcmp(a, "--auth-timeout") == 0)
                        lim.auth_timeout_usec = num(v) * BUSRPC_USEC_PER_MSEC;
                else if (strcmp(a, "--max-outgoing") == 0)
                        lim.max_outgoing_bytes = num(v);
                else if (strcmp(a, "--shutdown-timeout") == 0)
                        lim.shutdown_timeout_usec = num(v) * BUSRPC_USEC_PER_MSEC;
                else
                        goto usage;
        }
        if (!addr)
                goto usage;
        r = busrpc_server_new(addr, &srv);
        if (r < 0) {
                fprintf(stderr, "server: %s\n", strerror(-r));
                return 1;
        }
        r = busrpc_server_set_limits(srv, &lim);
        if (r < 0) {
                fprintf(stderr, "limits: %s\n", strerror(-r));
                return 1;
        }
        if (allow >= 0 && busrpc_server_allow_uid(srv, (uid_t)allow) < 0)
                return 1;
        if (busrpc_object_export(busrpc_server_get_objects(srv), "/h", &iface, NULL, NULL, &o) < 0)
                return 1;
        pad = calloc(n_pad + 1, sizeof(*pad));
        for (unsigned i = 0; i < n_pad; i++) {
                char path[64];
                snprintf(path, sizeof(path), "/h/pad/n%u", i);
                if (busrpc_object_export(busrpc_server_get_objects(srv), path, &iface, NULL, NULL, &pad[i]) < 0)
                        return 1;
        }
        printf("READY %s\n", busrpc_server_get_address(srv));
        fflush(stdout);
        r = busrpc_server_run(srv);
        /* well-behaved callers get their answer before the server goes */
        for (unsigned i = 0; i < n_held; i++) {
                reply_u(held[i], 42);
                busrpc_call_unref(held[i]);
        }
        for (unsigned i = 0; i < n_pad; i++)
                busrpc_object_release(pad[i]);
        free(pad);
        busrpc_object_release(o);
        busrpc_server_free(srv);
        dbus_shutdown();
        return r < 0 ? 1 : 0;
usage:
        fprintf(stderr, "usage: %s --listen ADDR [--max-... N]\n", argv[0]);
        return 2;
}
