/* client.c: the busrpc client of tests/test-props.sh.
 *
 *   props-client ADDRESS DEST listen      print PropertiesChanged of
 *                                         /org/busrpc/Props, .../b and
 *                                         .../m/0 to .../m/63, and Marker;
 *                                         exit after Marker "end"
 *   props-client ADDRESS DEST set-level N   Set Level (int32)
 *   props-client ADDRESS DEST set-tags T... Set Tags (as)
 *   props-client ADDRESS DEST set-quiet N   Set Quiet (uint32)
 *   props-client ADDRESS DEST set-typed N   Set Typed (int32)
 *
 * ADDRESS is a bus address, or "peer:" and a peer address (DEST is then
 * ignored). listen prints "LISTENING" once subscribed, then one line per
 * signal, the format tests/props/listen.py prints too:
 *   PC <path> <iface> <name>=<value>... | <invalidated>...
 *   Marker <s>
 * values: integers in decimal, strings in double quotes, as as [a,b].
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dbus/dbus.h>
#include "busrpc/busrpc.h"

#define IFACE "org.busrpc.Props"

static busrpc_loop *loop;

static int print_value(busrpc_iter *v, const char *sig) {
        if (strcmp(sig, "i") == 0) {
                int32_t n;
                if (busrpc_iter_get_basic(v, 'i', &n) < 0)
                        return -EBADMSG;
                printf("%" PRId32, n);
        } else if (strcmp(sig, "u") == 0) {
                uint32_t n;
                if (busrpc_iter_get_basic(v, 'u', &n) < 0)
                        return -EBADMSG;
                printf("%" PRIu32, n);
        } else if (strcmp(sig, "s") == 0) {
                const char *s;
                if (busrpc_iter_get_basic(v, 's', &s) < 0)
                        return -EBADMSG;
                printf("\"%s\"", s);
        } else if (strcmp(sig, "as") == 0) {
                busrpc_iter arr;
                const char *s;
                if (busrpc_iter_recurse(v, &arr) < 0)
                        return -EBADMSG;
                printf("[");
                for (int i = 0; !busrpc_iter_at_end(&arr); i++) {
                        if (busrpc_iter_get_basic(&arr, 's', &s) < 0)
                                return -EBADMSG;
                        printf("%s%s", i ? "," : "", s);
                }
                printf("]");
        } else {
                printf("?%s", sig);
        }
        return 0;
}

static void on_changed(busrpc_msg *m, busrpc_iter *args, void *userdata) {
        busrpc_iter dict, entry, v, inval;
        const char *iface, *name;

        (void)userdata;
        if (busrpc_iter_get_basic(args, 's', &iface) < 0 || busrpc_iter_recurse_dict(args, &dict) < 0) {
                printf("PC malformed\n");
                return;
        }
        printf("PC %s %s", busrpc_msg_get_path(m), iface);
        while (!busrpc_iter_at_end(&dict)) {
                char sigbuf[BUSRPC_SIGNATURE_MAX + 1];
                const char *sig;
                if (busrpc_iter_recurse(&dict, &entry) < 0 || busrpc_iter_get_basic(&entry, 's', &name) < 0)
                        break;
                sig = busrpc_iter_get_variant_signature(&entry, sigbuf, sizeof(sigbuf)) >= 0 ? sigbuf : NULL;
                printf(" %s=", name);
                if (!sig || busrpc_iter_recurse(&entry, &v) < 0 || print_value(&v, sig) < 0)
                        printf("?");
        }
        printf(" |");
        if (busrpc_iter_recurse(args, &inval) >= 0)
                while (!busrpc_iter_at_end(&inval) && busrpc_iter_get_basic(&inval, 's', &name) >= 0)
                        printf(" %s", name);
        printf("\n");
        fflush(stdout);
}

static void on_marker(busrpc_msg *m, busrpc_iter *args, void *userdata) {
        const char *s;

        (void)m, (void)userdata;
        if (busrpc_iter_get_basic(args, 's', &s) < 0)
                return;
        printf("Marker %s\n", s);
        fflush(stdout);
        if (strcmp(s, "end") == 0)
                busrpc_loop_quit(loop, 0);
}

#define N_MANY 64

static int listen_signals(busrpc_conn *c, const char *dest) {
        busrpc_proxy *a = NULL, *b = NULL, *m[N_MANY] = { NULL };
        busrpc_subscription *s1 = NULL, *s2 = NULL, *s3 = NULL, *sm[N_MANY] = { NULL };
        int r;

        r = busrpc_proxy_new(c, dest, "/org/busrpc/Props", &a);
        if (r >= 0)
                r = busrpc_proxy_new(c, dest, "/org/busrpc/Props/b", &b);
        if (r >= 0)
                r = busrpc_proxy_subscribe(a, "org.freedesktop.DBus.Properties", "PropertiesChanged", "sa{sv}as",
                                           on_changed, NULL, NULL, &s1);
        if (r >= 0)
                r = busrpc_proxy_subscribe(b, "org.freedesktop.DBus.Properties", "PropertiesChanged", "sa{sv}as",
                                           on_changed, NULL, NULL, &s2);
        if (r >= 0)
                r = busrpc_proxy_subscribe(a, IFACE, "Marker", "s", on_marker, NULL, NULL, &s3);
        for (int i = 0; r >= 0 && i < N_MANY; i++) {
                char path[64];
                snprintf(path, sizeof(path), "/org/busrpc/Props/m/%d", i);
                r = busrpc_proxy_new(c, dest, path, &m[i]);
                if (r >= 0)
                        r = busrpc_proxy_subscribe(m[i], "org.freedesktop.DBus.Properties", "PropertiesChanged",
                                                   "sa{sv}as", on_changed, NULL, NULL, &sm[i]);
        }
        if (r >= 0) {
                printf("LISTENING\n");
                fflush(stdout);
                r = busrpc_loop_run(loop);
        }
        busrpc_subscription_release(s1);
        busrpc_subscription_release(s2);
        busrpc_subscription_release(s3);
        for (int i = 0; i < N_MANY; i++) {
                busrpc_subscription_release(sm[i]);
                busrpc_proxy_unref(m[i]);
        }
        busrpc_proxy_unref(a);
        busrpc_proxy_unref(b);
        return r;
}

static int set(busrpc_conn *c, const char *dest, const char *prop, const char *sig, int argc, char **argv) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_proxy *p = NULL;
        busrpc_msg *m;
        busrpc_iter v, arr;
        int r;

        r = busrpc_proxy_new(c, dest, "/org/busrpc/Props", &p);
        if (r >= 0)
                r = busrpc_proxy_set_property_begin(p, IFACE, prop, sig, &m, &v);
        if (r < 0) {
                busrpc_proxy_unref(p);
                return r;
        }
        if (strcmp(sig, "i") == 0 && argc == 1) {
                int32_t n = (int32_t)strtol(argv[0], NULL, 10);
                r = busrpc_iter_append_basic(&v, 'i', &n);
        } else if (strcmp(sig, "u") == 0 && argc == 1) {
                uint32_t n = (uint32_t)strtoul(argv[0], NULL, 10);
                r = busrpc_iter_append_basic(&v, 'u', &n);
        } else {
                r = busrpc_iter_open(&v, BUSRPC_TYPE_ARRAY, "s", &arr);
                for (int i = 0; r >= 0 && i < argc; i++)
                        r = busrpc_iter_append_basic(&arr, 's', &argv[i]);
                if (r >= 0)
                        r = busrpc_iter_close(&v, &arr);
                else
                        busrpc_iter_abandon(&v, &arr);
        }
        /* finish consumes @m on every path, and refuses a half-built value */
        r = busrpc_proxy_set_property_finish(p, m, &v, &err);
        if (r < 0 && busrpc_error_is_set(&err))
                fprintf(stderr, "%s: %s\n", err.name, err.message);
        busrpc_error_clear(&err);
        busrpc_proxy_unref(p);
        return r;
}

int main(int argc, char **argv) {
        busrpc_conn *c = NULL;
        const char *addr, *dest, *cmd;
        int r;

        if (argc < 4) {
                fprintf(stderr, "usage: %s ADDRESS DEST listen|set-level N|set-tags T...|set-quiet N|set-typed N\n", argv[0]);
                return 2;
        }
        addr = argv[1], dest = argv[2], cmd = argv[3];
        if (strncmp(addr, "peer:", 5) == 0) {
                r = busrpc_conn_open_peer(addr + 5, &c);
                dest = NULL;
        } else {
                r = busrpc_conn_open(addr, &c);
        }
        if (r < 0) {
                fprintf(stderr, "props-client: %s: %s\n", addr, strerror(-r));
                return 1;
        }
        loop = busrpc_conn_get_loop(c);
        if (strcmp(cmd, "listen") == 0)
                r = listen_signals(c, dest);
        else if (strcmp(cmd, "set-level") == 0 && argc == 5)
                r = set(c, dest, "Level", "i", 1, argv + 4);
        else if (strcmp(cmd, "set-typed") == 0 && argc == 5)
                r = set(c, dest, "Typed", "i", 1, argv + 4);
        else if (strcmp(cmd, "set-quiet") == 0 && argc == 5)
                r = set(c, dest, "Quiet", "u", 1, argv + 4);
        else if (strcmp(cmd, "set-tags") == 0)
                r = set(c, dest, "Tags", "as", argc - 4, argv + 4);
        else
                r = -EINVAL;
        if (r < 0)
                fprintf(stderr, "props-client %s: %s\n", cmd, strerror(-r));
        busrpc_conn_unref(c);
        dbus_shutdown();
        return r < 0 ? 1 : 0;
}
