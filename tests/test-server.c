/* test-server.c: busrpc_server's address handling and limits. The server
 * runs in a forked child (its own loop); the parent is the client. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dbus/dbus.h>
#include "busrpc/busrpc.h"
#include "tap.h"

static char dir[] = "/tmp/busrpc-server-XXXXXX";
static busrpc_server *the_server;

static uint64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

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

static int sk_peers(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        return reply_u(call, busrpc_server_count_peers(the_server));
}

static int sk_len(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        const char *s = "";
        busrpc_iter_get_basic(args, 's', &s);
        return reply_u(call, (uint32_t)strlen(s));
}

static busrpc_call *held[16];
static unsigned n_held;

static int sk_hold(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        if (n_held < 16)
                held[n_held++] = busrpc_call_ref(call);
        return BUSRPC_DEFER;
}

/* Sends the call it serves back to the caller (a received, hence locked,
 * message) and answers with the errno of appending to it. */
static int sk_bounce(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        busrpc_msg *m = busrpc_call_get_msg(call);
        busrpc_iter it;
        int r = busrpc_msg_append(m, &it);
        busrpc_msg_send(busrpc_msg_ref(m));
        return reply_u(call, (uint32_t)-r);
}

/* Emits a signal carrying an fd to every peer and answers with the errno
 * of sending it (EOPNOTSUPP over tcp). */
static int sk_fd_signal(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        busrpc_msg *m;
        busrpc_iter it;
        int r = busrpc_object_signal_new(busrpc_call_get_object(call), "Fd", &m);
        if (r < 0)
                return r;
        busrpc_msg_append(m, &it);
        busrpc_iter_append_fd(&it, 0);
        r = busrpc_msg_send(m);
        return reply_u(call, (uint32_t)-r);
}

/* A 1 MiB reply: more than the socket holds, for a caller that never reads. */
static int sk_big(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        busrpc_msg *reply;
        busrpc_iter out;
        char *big = malloc(1u << 20);
        int r;

        if (!big)
                return -ENOMEM;
        memset(big, 'x', (1u << 20) - 1);
        big[(1u << 20) - 1] = '\0';
        r = busrpc_call_reply_new(call, &reply);
        if (r >= 0) {
                busrpc_msg_append(reply, &out);
                busrpc_iter_append_basic(&out, 's', &big);
                r = busrpc_msg_send(reply);
        }
        free(big);
        return r;
}

static const busrpc_method_desc methods[] = {
        { "Peers", "", "u", sk_peers, 0, NULL, NULL, NULL },
        { "Len", "s", "u", sk_len, 0, NULL, NULL, NULL },
        { "Hold", "", "", sk_hold, 0, NULL, NULL, NULL },
        { "Bounce", "", "u", sk_bounce, 0, NULL, NULL, NULL },
        { "FdSignal", "", "u", sk_fd_signal, 0, NULL, NULL, NULL },
        { "Big", "", "s", sk_big, 0, NULL, NULL, NULL },
};
static const busrpc_interface_desc iface = { .name = "org.busrpc.Srv", .methods = methods, .n_methods = 6 };

/* Getters that misbehave, for test_hostile (the child runs under valgrind
 * in test-runtime-valgrind.sh, where a leak or a use after free fails). */
static int get_seven(busrpc_iter *v, const void *ops, void *self, busrpc_error *err) {
        uint32_t u = 7;
        return busrpc_iter_append_basic(v, 'u', &u);
}
static int get_nothing(busrpc_iter *v, const void *ops, void *self, busrpc_error *err) {
        return 0; /* appends no value */
}
static int get_failing(busrpc_iter *v, const void *ops, void *self, busrpc_error *err) {
        return -EIO;
}
/* Unexports its own object (the handle is *self; NULL while exporting). */
static int get_unexport(busrpc_iter *v, const void *ops, void *self, busrpc_error *err) {
        busrpc_object **h = self;
        if (*h)
                *h = busrpc_object_release(*h);
        return get_seven(v, ops, self, err);
}
static const busrpc_property_desc props_empty[] = {
        { "Empty", "u", get_nothing, NULL, BUSRPC_PROP_READ, NULL, NULL, NULL },
};
static const busrpc_interface_desc iface_empty = { .name = "org.busrpc.Empty", .properties = props_empty,
                                                   .n_properties = 1 };
static const busrpc_property_desc props_failing[] = {
        { "Failing", "u", get_failing, NULL, BUSRPC_PROP_READ, NULL, NULL, NULL },
};
static const busrpc_interface_desc iface_failing = { .name = "org.busrpc.Failing", .properties = props_failing,
                                                     .n_properties = 1 };
static const busrpc_property_desc props_bye[] = {
        { "Bye", "u", get_unexport, NULL, BUSRPC_PROP_READ, NULL, NULL, NULL },
        { "Seven", "u", get_seven, NULL, BUSRPC_PROP_READ, NULL, NULL, NULL },
};
static const busrpc_interface_desc iface_bye = { .name = "org.busrpc.Bye", .properties = props_bye,
                                                 .n_properties = 2 };
static busrpc_object *bye1, *bye2;

/* The auth timeout of the next child: short by default (one case tests
 * it), long where authentication itself is slow (cookie auth under valgrind). */
static uint64_t child_auth_timeout_usec = 300 * BUSRPC_USEC_PER_MSEC;

/* The child: a server with small limits until SIGTERM. Its address
 * (the listening one, with the port for tcp) goes to @ret_addr. */
static pid_t start_server_addr(const char *addr, char *ret_addr, size_t size) {
        int p[2];
        pid_t pid;
        ssize_t n;

        if (pipe(p) < 0)
                return -1;
        pid = fork();
        if (pid == 0) {
                busrpc_server_limits lim = { .max_connections = 3, .max_pending_calls = 2, .max_message_size = 4096,
                                             .max_fds = 2, .auth_timeout_usec = child_auth_timeout_usec };
                busrpc_object *o;
                int r;
                close(p[0]);
                busrpc_conn *sc;
                if (busrpc_server_new(addr, &the_server) < 0 || busrpc_server_set_limits(the_server, &lim) < 0 ||
                    busrpc_object_export(busrpc_server_conn(the_server), "/s", &iface, NULL, NULL, &o) < 0 ||
                    busrpc_loop_handle_signals(busrpc_conn_get_loop(busrpc_server_conn(the_server))) < 0)
                        _exit(1);
                sc = busrpc_server_conn(the_server);
                /* InterfacesAdded of an object whose getter fails; objects
                 * whose getters misbehave (no handles: freed with the conn) */
                if (busrpc_conn_add_object_manager(sc, "/fail", NULL) < 0 ||
                    busrpc_object_export(sc, "/fail/x", &iface_failing, NULL, NULL, NULL) < 0 ||
                    busrpc_object_export(sc, "/empty", &iface_empty, NULL, NULL, NULL) < 0 ||
                    busrpc_conn_add_object_manager(sc, "/bye", NULL) < 0 ||
                    busrpc_object_export(sc, "/bye/one", &iface_bye, NULL, &bye1, &bye1) < 0 ||
                    busrpc_object_export(sc, "/bye/two", &iface_bye, NULL, &bye2, &bye2) < 0)
                        _exit(1);
                if (write(p[1], busrpc_server_get_address(the_server), strlen(busrpc_server_get_address(the_server))) <= 0)
                        _exit(1);
                close(p[1]);
                r = busrpc_conn_run(busrpc_server_conn(the_server));
                for (unsigned i = 0; i < n_held; i++)
                        busrpc_call_unref(held[i]);
                busrpc_object_release(bye1);
                busrpc_object_release(bye2);
                busrpc_object_release(o);
                busrpc_server_free(the_server);
                dbus_shutdown();
                _exit(r == 0 ? 0 : 1);
        }
        close(p[1]);
        n = read(p[0], ret_addr, size - 1);
        if (n <= 0)
                tap_bail("the server child did not start");
        ret_addr[n] = '\0';
        close(p[0]);
        return pid;
}

static pid_t start_server(const char *addr) {
        char buf[512];
        return start_server_addr(addr, buf, sizeof(buf));
}

static int stop(pid_t pid) {
        int status = -1;
        kill(pid, SIGTERM);
        waitpid(pid, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int call_u(busrpc_conn *c, const char *member, const char *arg, uint32_t *ret, busrpc_error *err) {
        busrpc_proxy *p;
        busrpc_msg *m, *reply = NULL;
        busrpc_iter it;
        int r;

        busrpc_proxy_new(c, NULL, "/s", &p);
        busrpc_proxy_method_new(p, "org.busrpc.Srv", member, &m);
        if (arg) {
                busrpc_msg_append(m, &it);
                busrpc_iter_append_basic(&it, 's', &arg);
        }
        r = busrpc_proxy_call(p, m, "u", &reply, err);
        if (r >= 0) {
                busrpc_msg_read(reply, &it);
                busrpc_iter_get_basic(&it, 'u', ret);
                busrpc_msg_unref(reply);
        }
        busrpc_proxy_unref(p);
        return r;
}

static void test_addresses(void) {
        busrpc_server *s;
        char addr[400], file[300];
        FILE *f;
        pid_t pid;

        is_int(busrpc_server_new(NULL, &s), -EINVAL, "NULL address");
        is_int(busrpc_server_new("bogus", &s), -EINVAL, "a malformed address");
        is_int(busrpc_server_new("unix:tmpdir=/tmp", &s), -EINVAL, "unix:tmpdir= (no control over the directory)");
        is_int(busrpc_server_new("unix:path=relative/sock", &s), -EINVAL, "a relative path");
        snprintf(file, sizeof(file), "%s/file", dir);
        f = fopen(file, "w");
        if (f)
                fclose(f);
        snprintf(addr, sizeof(addr), "unix:path=%s", file);
        is_int(busrpc_server_new(addr, &s), -EEXIST, "a path that is not a socket is left alone");
        snprintf(addr, sizeof(addr), "unix:path=%s/live/sock", dir);
        pid = start_server(addr);
        is_int(busrpc_server_new(addr, &s), -EADDRINUSE, "a live socket: -EADDRINUSE");
        is_int(stop(pid), 0, "the server child exits 0 on SIGTERM");
        snprintf(addr, sizeof(addr), "unix:abstract=busrpc-test-server-%d", (int)getpid());
        pid = start_server(addr);
        is_int(busrpc_server_new(addr, &s), -EADDRINUSE, "an abstract name in use: -EADDRINUSE");
        stop(pid);

        {
                char real[512];
                busrpc_conn *c = NULL;
                busrpc_error err = BUSRPC_ERROR_INIT;
                uint32_t n = 0;
                int r;
                child_auth_timeout_usec = 30 * BUSRPC_USEC_PER_SEC;
                pid = start_server_addr("tcp:host=127.0.0.1,port=0", real, sizeof(real));
                child_auth_timeout_usec = 300 * BUSRPC_USEC_PER_MSEC;
                ok(strncmp(real, "tcp:host=127.0.0.1,port=", 24) == 0, "a tcp server (%s)", real);
                r = busrpc_conn_open_peer(real, &c);
                is_int(r, 0, "a peer connects over tcp (DBUS_COOKIE_SHA1)");
                if (r >= 0)
                        r = call_u(c, "Len", "four", &n, &err);
                is_int(r, 0, "and calls");
                is_int(n, 4, "the result over tcp");
                busrpc_error_clear(&err);
                if (c) {
                        /* tcp passes no fds: a local -EOPNOTSUPP, not a
                         * remote-looking error or a lost connection */
                        busrpc_proxy *p;
                        busrpc_msg *m;
                        busrpc_iter it;
                        busrpc_proxy_new(c, NULL, "/s", &p);
                        busrpc_proxy_method_new(p, "org.busrpc.Srv", "Len", &m);
                        busrpc_msg_append(m, &it);
                        busrpc_iter_append_fd(&it, 0);
                        is_int(busrpc_proxy_call(p, m, "u", NULL, &err), -EOPNOTSUPP, "an fd over tcp: -EOPNOTSUPP");
                        busrpc_error_clear(&err);
                        n = 0;
                        is_int(call_u(c, "FdSignal", NULL, &n, &err), 0, "FdSignal");
                        is_int(n, EOPNOTSUPP, "the server sending an fd to a tcp peer: -EOPNOTSUPP, not -ENOMEM");
                        busrpc_error_clear(&err);
                        busrpc_proxy_unref(p);
                }
                busrpc_conn_unref(c);
                stop(pid);
        }
        is_int(busrpc_server_new("tcp:host=127.0.0.1,port=0", &s), 0, "tcp");
        ok(strstr(busrpc_server_get_address(s), "tcp:host=127.0.0.1,port=") != NULL, "tcp address has the port (%s)",
           busrpc_server_get_address(s));
        ok(busrpc_server_conn(s) != NULL, "the all-peers handle");
        ok(busrpc_conn_get_unique_name(busrpc_server_conn(s)) == NULL, "which has no unique name");
        is_int(busrpc_server_count_peers(s), 0, "no peers yet");
        busrpc_server_free(s);
}

static void test_limits(void) {
        char addr[300];
        busrpc_conn *a, *b, *c, *d;
        busrpc_error err = BUSRPC_ERROR_INIT;
        uint32_t n = 0;
        pid_t pid;
        int fd, r;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char buf[16];
        uint64_t t0;
        char *big;

        snprintf(addr, sizeof(addr), "unix:path=%s/lim/sock", dir);
        pid = start_server(addr);
        {
                struct stat st;
                char d2[300];
                snprintf(d2, sizeof(d2), "%s/lim", dir);
                ok(stat(d2, &st) == 0 && (st.st_mode & 0777) == 0700, "the socket directory is 0700");
        }
        /* a connection that never authenticates is closed */
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/lim/sock", dir);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        ok(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "raw connect");
        t0 = now_ms();
        r = (int)read(fd, buf, sizeof(buf));
        ok(r == 0 && now_ms() - t0 < 2000, "silent client closed after the auth timeout (%d ms)", (int)(now_ms() - t0));
        close(fd);

        is_int(busrpc_conn_open_peer(addr, &a), 0, "peer 1");
        is_int(busrpc_conn_open_peer(addr, &b), 0, "peer 2");
        is_int(busrpc_conn_open_peer(addr, &c), 0, "peer 3");
        is_int(call_u(a, "Peers", NULL, &n, &err), 0, "Peers");
        is_int(n, 3, "the server counts 3 peers");
        ok(busrpc_conn_open_peer(addr, &d) < 0, "a 4th peer is refused (max_connections 3)");
        busrpc_conn_unref(c);

        /* pending calls per peer */
        {
                busrpc_proxy *p;
                busrpc_msg *m;
                busrpc_proxy_new(b, NULL, "/s", &p);
                for (int i = 0; i < 2; i++) {
                        busrpc_proxy_method_new(p, "org.busrpc.Srv", "Hold", &m);
                        busrpc_proxy_send(p, m);
                }
                busrpc_proxy_method_new(p, "org.busrpc.Srv", "Hold", &m);
                busrpc_proxy_set_timeout(p, 2000 * BUSRPC_USEC_PER_MSEC);
                r = busrpc_proxy_call(p, m, "", NULL, &err);
                ok(r == -EREMOTEIO && busrpc_error_has_name(&err, BUSRPC_ERROR_LIMITS_EXCEEDED),
                   "a 3rd held call is refused with LimitsExceeded (max_pending_calls 2)");
                busrpc_error_clear(&err);
                busrpc_proxy_unref(p);
        }
        /* message size */
        big = malloc(8000);
        memset(big, 'x', 7999);
        big[7999] = '\0';
        r = call_u(a, "Len", "short", &n, &err);
        is_int(n, 5, "a small message passes");
        r = call_u(a, "Len", big, &n, &err);
        ok(r < 0, "a message over max_message_size (4096) fails (%d)", r);
        busrpc_error_clear(&err);
        free(big);
        ok(!busrpc_conn_is_connected(a) || call_u(a, "Peers", NULL, &n, &err) < 0,
           "and costs the sender its connection");
        busrpc_error_clear(&err);
        is_int(busrpc_conn_open_peer(addr, &d), 0, "a new peer is accepted again");
        is_int(call_u(d, "Peers", NULL, &n, &err), 0, "and served");
        is_int(n, 2, "the peer that sent too much is gone");
        busrpc_conn_unref(d);
        busrpc_conn_unref(a);
        busrpc_conn_unref(b);
        is_int(stop(pid), 0, "SIGTERM with held calls: exit 0");
}

/* busrpc_server_limits' times are microseconds, one hour at most each (a
 * deadline is now + the time: it must not wrap). */
static void test_limit_times(void) {
        busrpc_server_limits lim = { 0 };
        busrpc_server *s = NULL;
        char addr[300];

        snprintf(addr, sizeof(addr), "unix:path=%s/times/sock", dir);
        if (busrpc_server_new(addr, &s) < 0)
                tap_bail("server");
        lim.auth_timeout_usec = 3600 * BUSRPC_USEC_PER_SEC;
        lim.shutdown_timeout_usec = 3600 * BUSRPC_USEC_PER_SEC;
        is_int(busrpc_server_set_limits(s, &lim), 0, "auth and shutdown timeouts of one hour: accepted");
        lim.auth_timeout_usec = 3600 * BUSRPC_USEC_PER_SEC + 1;
        is_int(busrpc_server_set_limits(s, &lim), -EINVAL, "auth_timeout_usec over one hour: -EINVAL");
        lim.auth_timeout_usec = 0;
        lim.shutdown_timeout_usec = BUSRPC_TIMEOUT_INFINITE;
        is_int(busrpc_server_set_limits(s, &lim), -EINVAL, "shutdown_timeout_usec INFINITE: -EINVAL");
        lim.shutdown_timeout_usec = 0;
        is_int(busrpc_server_set_limits(s, &lim), 0, "0: the defaults (2 s each)");
        busrpc_server_free(s);
}

static void test_export(void) {
        char addr[400];
        busrpc_server *s;
        busrpc_conn *c;
        busrpc_object *o1, *o2, *o3, *om;
        busrpc_name *n;
        static const busrpc_method_desc bad_m[] = { { "Bad Name", "", "", sk_peers, 0, NULL, NULL, NULL } };
        static const busrpc_interface_desc bad_iface = { .name = "org.busrpc.Bad", .methods = bad_m, .n_methods = 1 };
        static const busrpc_interface_desc std_iface = { .name = "org.freedesktop.DBus.Properties" };
        static const busrpc_method_desc badsig_m[] = { { "M", "a", "", sk_peers, 0, NULL, NULL, NULL } };
        static const busrpc_interface_desc badsig_iface = { .name = "org.busrpc.Sig", .methods = badsig_m,
                                                            .n_methods = 1 };

        snprintf(addr, sizeof(addr), "unix:path=%s/exp/sock", dir);
        is_int(busrpc_server_new(addr, &s), 0, "server");
        c = busrpc_server_conn(s);
        is_int(busrpc_object_export(NULL, "/a", &iface, NULL, NULL, &o1), -EINVAL, "export on NULL");
        is_int(busrpc_object_export(c, "a/b", &iface, NULL, NULL, &o1), -EINVAL, "an invalid path");
        is_int(busrpc_object_export(c, "/a//b", &iface, NULL, NULL, &o1), -EINVAL, "an invalid path (//)");
        is_int(busrpc_object_export(c, "/a", &bad_iface, NULL, NULL, &o1), -EINVAL, "an invalid member name");
        is_int(busrpc_object_export(c, "/a", &badsig_iface, NULL, NULL, &o1), -EINVAL, "an invalid signature");
        is_int(busrpc_object_export(c, "/a", &std_iface, NULL, NULL, &o1), -EINVAL, "a standard interface");
        is_int(busrpc_object_export(c, "/a/b", &iface, NULL, NULL, &o1), 0, "export");
        is_str(busrpc_object_get_path(o1), "/a/b", "get_path");
        ok(busrpc_object_get_conn(o1) == c, "get_conn");
        is_int(busrpc_object_export(c, "/a/b", &iface, NULL, NULL, &o2), -EEXIST, "the same interface twice: -EEXIST");
        is_int(busrpc_object_export(c, "/a/c", &iface, NULL, NULL, &o2), 0, "another path");
        is_int(busrpc_object_export(c, "/x", &iface, NULL, NULL, NULL), 0, "no handle: lives as long as the conn");
        is_int(busrpc_conn_add_object_manager(c, "/a", &om), 0, "object manager");
        is_int(busrpc_conn_add_object_manager(c, "/a", NULL), -EEXIST, "twice");
        is_int(busrpc_object_signal_new(om, "X", NULL), -EINVAL, "signal_new without ret");
        is_int(busrpc_object_notify(o1, "Nope"), -EINVAL, "notify of an unknown property");
        ok(busrpc_object_release(o2) == NULL, "unexport");
        is_int(busrpc_object_export(c, "/a/c", &iface, NULL, NULL, &o3), 0, "export again after unexport");
        is_int(busrpc_conn_request_name(c, "org.busrpc.Srv", 0, NULL, NULL, &n), 0, "a name on the all-peers handle");
        is_int(busrpc_conn_request_name(c, "org.busrpc.Srv", 0, NULL, NULL, NULL), -EALREADY, "twice");
        is_int(busrpc_conn_attach(c, busrpc_conn_get_loop(c)), -EINVAL, "the all-peers handle follows its server");
        busrpc_server_free(s);
        ok(busrpc_object_get_conn(o1) == NULL, "after the server is gone the handles are detached");
        ok(busrpc_object_release(o1) == NULL && busrpc_object_release(o3) == NULL &&
                   busrpc_object_release(om) == NULL,
           "and can still be released");
        busrpc_name_release(n);
}

/* A raw libdbus call: @a1/@a2 are string arguments (NULL: none). Returns
 * the reply (caller unrefs) or NULL with the error name in @ret_err. */
static DBusMessage *raw_call(DBusConnection *dc, const char *dest, const char *path, const char *iname,
                             const char *member, const char *a1, const char *a2, char *ret_err, size_t size) {
        DBusMessage *m = dbus_message_new_method_call(dest, path, iname, member), *reply;
        DBusError e = DBUS_ERROR_INIT;

        if (a1)
                dbus_message_append_args(m, DBUS_TYPE_STRING, &a1, DBUS_TYPE_INVALID);
        if (a2)
                dbus_message_append_args(m, DBUS_TYPE_STRING, &a2, DBUS_TYPE_INVALID);
        reply = dbus_connection_send_with_reply_and_block(dc, m, 5000, &e);
        dbus_message_unref(m);
        snprintf(ret_err, size, "%s", dbus_error_is_set(&e) ? e.name : "");
        dbus_error_free(&e);
        return reply;
}

/* A peer that says Hello (as busctl does) and then asks for what the
 * server's getters and skeletons handle badly. The child must survive
 * every call, and (under valgrind) exit clean. */
static void test_hostile(void) {
        char addr[400], err[256];
        DBusConnection *dc;
        DBusMessage *r;
        DBusError e = DBUS_ERROR_INIT;
        const char *P = "org.freedesktop.DBus.Properties";
        uint32_t u = 0;
        pid_t pid;

        snprintf(addr, sizeof(addr), "unix:path=%s/hostile/sock", dir);
        pid = start_server(addr);
        dc = dbus_connection_open_private(addr, &e);
        if (!dc)
                tap_bail("raw connect: %s", e.message);
        r = raw_call(dc, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello", NULL, NULL,
                     err, sizeof(err));
        ok(r != NULL, "Hello");
        if (r)
                dbus_message_unref(r);

        /* a getter that appends nothing: an error, nothing left open */
        r = raw_call(dc, NULL, "/empty", P, "Get", "org.busrpc.Empty", "Empty", err, sizeof(err));
        ok(!r && strcmp(err, BUSRPC_ERROR_FAILED) == 0, "Get of a property whose getter appends nothing: Failed (%s)",
           err);
        r = raw_call(dc, NULL, "/empty", P, "GetAll", "", NULL, err, sizeof(err));
        ok(!r && err[0], "GetAll with that getter: an error (%s)", err);

        /* getters that unexport their own object while GetAll and
         * GetManagedObjects run */
        r = raw_call(dc, NULL, "/bye/one", P, "GetAll", "org.busrpc.Bye", NULL, err, sizeof(err));
        ok(r != NULL, "GetAll whose getter unexports the object answers (%s)", err);
        if (r)
                dbus_message_unref(r);
        r = raw_call(dc, NULL, "/bye/one", P, "GetAll", "org.busrpc.Bye", NULL, err, sizeof(err));
        ok(!r && strcmp(err, BUSRPC_ERROR_UNKNOWN_OBJECT) == 0, "and the object is gone (%s)", err);
        r = raw_call(dc, NULL, "/bye", "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", NULL, NULL, err,
                     sizeof(err));
        ok(r != NULL, "GetManagedObjects whose getter unexports an object answers (%s)", err);
        if (r)
                dbus_message_unref(r);
        r = raw_call(dc, NULL, "/bye/two", P, "Get", "org.busrpc.Bye", "Seven", err, sizeof(err));
        ok(!r && strcmp(err, BUSRPC_ERROR_UNKNOWN_OBJECT) == 0, "and that object is gone too (%s)", err);

        /* a skeleton that appends to and sends the received call */
        r = raw_call(dc, NULL, "/s", "org.busrpc.Srv", "Bounce", NULL, NULL, err, sizeof(err));
        ok(r && dbus_message_get_args(r, NULL, DBUS_TYPE_UINT32, &u, DBUS_TYPE_INVALID) && u == EPERM,
           "appending to a received message is -EPERM, and sending it back does not abort");
        if (r)
                dbus_message_unref(r);

        {
                /* an append iterator kept across sending: the message is
                 * locked by then, and libdbus would abort */
                busrpc_conn *bc = NULL;
                busrpc_proxy *p;
                busrpc_msg *m;
                busrpc_iter it, sub;
                uint32_t v = 1;
                if (busrpc_conn_open_peer(addr, &bc) < 0)
                        tap_bail("open_peer");
                busrpc_proxy_new(bc, NULL, "/s", &p);
                busrpc_proxy_method_new(p, "org.busrpc.Srv", "Hold", &m);
                busrpc_msg_append(m, &it);
                busrpc_proxy_send(p, busrpc_msg_ref(m));
                is_int(busrpc_iter_append_basic(&it, 'u', &v), -EPERM, "appending to a sent message: -EPERM");
                is_int(busrpc_iter_open(&it, 'a', "u", &sub), -EPERM, "opening a container in it: -EPERM");
                busrpc_msg_unref(m);
                busrpc_proxy_unref(p);
                busrpc_conn_unref(bc);
        }

        r = raw_call(dc, NULL, "/s", "org.busrpc.Srv", "Peers", NULL, NULL, err, sizeof(err));
        ok(r != NULL, "the server still answers (%s)", err);
        if (r)
                dbus_message_unref(r);
        dbus_connection_close(dc);
        dbus_connection_unref(dc);
        is_int(stop(pid), 0, "the server exits 0 (under valgrind: no leak, no invalid access)");
}

/* A peer that asks for a big reply and then never reads: the server must
 * still stop on SIGTERM (libdbus's flush would wait for it forever). */
static void test_stuck_peer(void) {
        char addr[400];
        DBusConnection *dc;
        DBusMessage *m;
        DBusError e = DBUS_ERROR_INIT;
        pid_t pid;
        int status = 0;
        uint64_t t0;
        bool exited = false;

        snprintf(addr, sizeof(addr), "unix:path=%s/stuck/sock", dir);
        pid = start_server(addr);
        dc = dbus_connection_open_private(addr, &e);
        if (!dc)
                tap_bail("raw connect: %s", e.message);
        m = dbus_message_new_method_call(NULL, "/s", "org.busrpc.Srv", "Big");
        dbus_connection_send(dc, m, NULL);
        dbus_connection_flush(dc);
        dbus_message_unref(m);
        sleep(2); /* the server answers (slowly under valgrind); we read nothing */
        t0 = now_ms();
        kill(pid, SIGTERM);
        while (now_ms() - t0 < 20000) {
                if (waitpid(pid, &status, WNOHANG) == pid) {
                        exited = true;
                        break;
                }
                usleep(50000);
        }
        if (!exited) {
                kill(pid, SIGKILL);
                waitpid(pid, &status, 0);
        }
        ok(exited, "SIGTERM stops a server whose peer stopped reading (%d ms)", (int)(now_ms() - t0));
        ok(exited && WIFEXITED(status) && WEXITSTATUS(status) == 0, "with exit status 0");
        dbus_connection_close(dc);
        dbus_connection_unref(dc);
}

int main(void) {
        char cmd[300];

        if (!mkdtemp(dir))
                tap_bail("mkdtemp");
        TAP_RUN(test_export);
        TAP_RUN(test_addresses);
        TAP_RUN(test_limits);
        TAP_RUN(test_limit_times);
        TAP_RUN(test_hostile);
        TAP_RUN(test_stuck_peer);
        dbus_shutdown();
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
                tap_diag("cleanup failed");
        return tap_done();
}
