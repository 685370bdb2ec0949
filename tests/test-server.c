/* test-server.c: busrpc_server's address handling and limits, and the
 * server's own API (no connection-like handle): its objects, names,
 * limits, loop, run and flush, seen by real peers. The server runs in a
 * forked child (its own loop); the parent is the client. */
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
#include <dirent.h>
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

static int reply_i(busrpc_call *call, int32_t v) {
        busrpc_msg *reply;
        busrpc_iter out;
        int r = busrpc_call_reply_new(call, &reply);
        if (r < 0)
                return r;
        busrpc_msg_append(reply, &out);
        busrpc_iter_append_basic(&out, 'i', &v);
        return busrpc_msg_send(reply);
}

/* The names a peer asked the server to hold (RequestName/ReleaseName). */
#define MAX_HELD_NAMES 4
static busrpc_name *held_names[MAX_HELD_NAMES];
static char *held_name_str[MAX_HELD_NAMES];

/* busrpc_server_request_name() for a peer; answers with its result. */
static int sk_request_name(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        const char *name = "";
        unsigned i = 0;
        int r;

        busrpc_iter_get_basic(args, 's', &name);
        while (i < MAX_HELD_NAMES && held_names[i])
                i++;
        if (i == MAX_HELD_NAMES)
                return reply_i(call, -ENOBUFS);
        r = busrpc_server_request_name(the_server, name, &held_names[i]);
        if (r >= 0) {
                held_name_str[i] = strdup(name);
                if (!held_name_str[i])
                        held_names[i] = busrpc_name_release(held_names[i]);
        }
        return reply_i(call, r);
}

static void release_held_name(unsigned i) {
        held_names[i] = busrpc_name_release(held_names[i]);
        free(held_name_str[i]);
        held_name_str[i] = NULL;
}

/* busrpc_name_release() of a name held by RequestName; -ENOENT if none. */
static int sk_release_name(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        const char *name = "";

        busrpc_iter_get_basic(args, 's', &name);
        for (unsigned i = 0; i < MAX_HELD_NAMES; i++) {
                if (held_names[i] && strcmp(held_name_str[i], name) == 0) {
                        release_held_name(i);
                        return reply_i(call, 0);
                }
        }
        return reply_i(call, -ENOENT);
}

/* Answers with how many fds it was handed, each closed. */
static int sk_fds(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        busrpc_iter sub;
        uint32_t n = 0;
        int r, fd;

        r = busrpc_iter_recurse(args, &sub);
        if (r < 0)
                return r;
        while (!busrpc_iter_at_end(&sub)) {
                r = busrpc_iter_get_fd(&sub, &fd);
                if (r < 0)
                        return r;
                close(fd);
                n++;
        }
        return reply_u(call, n);
}

/* busrpc_loop_quit() on busrpc_server_get_loop() with the code given:
 * busrpc_server_run() returns it and the child exits with it. */
static int sk_quit(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        int32_t code = 0;

        busrpc_iter_get_basic(args, 'i', &code);
        busrpc_loop_quit(busrpc_server_get_loop(the_server), code);
        return reply_u(call, 0);
}

/* Emits the signal Blob with a string of @size bytes to every peer, then
 * (if @flush) busrpc_server_flush(), and ends the child at once with
 * _exit(): what the flush did not write never leaves. Exit status 0, or
 * 2 if the flush failed, 3 if the signal could not be sent. */
static int sk_flush_exit(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        uint32_t size = 0, flush = 0;
        busrpc_msg *m;
        busrpc_iter it;
        char *blob;
        int r;

        busrpc_iter_get_basic(args, 'u', &size);
        busrpc_iter_get_basic(args, 'b', &flush);
        blob = malloc((size_t)size + 1);
        if (!blob)
                _exit(3);
        memset(blob, 'b', size);
        blob[size] = '\0';
        r = busrpc_object_signal_new(busrpc_call_get_object(call), "Blob", &m);
        if (r >= 0) {
                busrpc_msg_append(m, &it);
                r = busrpc_iter_append_basic(&it, 's', &blob);
                if (r >= 0)
                        r = busrpc_msg_send(m);
                else
                        busrpc_msg_unref(m);
        }
        free(blob);
        if (r < 0)
                _exit(3);
        if (flush)
                _exit(busrpc_server_flush(the_server) == 0 ? 0 : 2);
        _exit(0);
}

/* What a served peer's conn and the called object say of their owner:
 * bit 0, busrpc_conn_get_objects() of the caller's conn is the server's
 * registry; bit 1, busrpc_object_get_server() is the server; bit 2,
 * busrpc_object_get_conn() is NULL; bit 3, busrpc_conn_set_max_call_fds()
 * on the peer's conn is -EINVAL (busrpc_server_limits.max_call_fds is). */
static int sk_owner(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        busrpc_object *o = busrpc_call_get_object(call);
        uint32_t bits = 0;

        if (busrpc_conn_get_objects(busrpc_call_get_conn(call)) == busrpc_server_get_objects(the_server))
                bits |= 1;
        if (busrpc_object_get_server(o) == the_server)
                bits |= 2;
        if (!busrpc_object_get_conn(o))
                bits |= 4;
        if (busrpc_conn_set_max_call_fds(busrpc_call_get_conn(call), 2) == -EINVAL)
                bits |= 8;
        return reply_u(call, bits);
}

static const busrpc_method_desc methods[] = {
        { "Peers", "", "u", sk_peers, 0, NULL, NULL, NULL },
        { "Len", "s", "u", sk_len, 0, NULL, NULL, NULL },
        { "Hold", "", "", sk_hold, 0, NULL, NULL, NULL },
        { "Bounce", "", "u", sk_bounce, 0, NULL, NULL, NULL },
        { "FdSignal", "", "u", sk_fd_signal, 0, NULL, NULL, NULL },
        { "Big", "", "s", sk_big, 0, NULL, NULL, NULL },
        { "RequestName", "s", "i", sk_request_name, 0, NULL, NULL, NULL },
        { "ReleaseName", "s", "i", sk_release_name, 0, NULL, NULL, NULL },
        { "Fds", "ah", "u", sk_fds, 0, NULL, NULL, NULL },
        { "Quit", "i", "u", sk_quit, 0, NULL, NULL, NULL },
        { "FlushExit", "ub", "", sk_flush_exit, 0, NULL, NULL, NULL },
        { "Owner", "", "u", sk_owner, 0, NULL, NULL, NULL },
};
static const busrpc_interface_desc iface = { .name = "org.busrpc.Srv",
                                             .methods = methods,
                                             .n_methods = sizeof(methods) / sizeof(methods[0]) };

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
/* The limits of the next child when set (the tests of the server's own
 * API); else the small ones below. */
static const busrpc_server_limits *child_limits;

/* The child: a server with small limits until SIGTERM (busrpc_server_run()
 * returns 0) or Quit (its code is the exit status). Its address (the
 * listening one, with the port for tcp) goes to @ret_addr. */
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
                busrpc_objects *objs;
                busrpc_object *o;
                int r;
                close(p[0]);
                if (busrpc_server_new(addr, &the_server) < 0 ||
                    busrpc_server_set_limits(the_server, child_limits ? child_limits : &lim) < 0)
                        _exit(1);
                objs = busrpc_server_get_objects(the_server);
                if (busrpc_object_export(objs, "/s", &iface, NULL, NULL, &o) < 0)
                        _exit(1);
                /* InterfacesAdded of an object whose getter fails; objects
                 * whose getters misbehave (no handles: freed with the server) */
                if (busrpc_objects_add_manager(objs, "/fail", NULL) < 0 ||
                    busrpc_object_export(objs, "/fail/x", &iface_failing, NULL, NULL, NULL) < 0 ||
                    busrpc_object_export(objs, "/empty", &iface_empty, NULL, NULL, NULL) < 0 ||
                    busrpc_objects_add_manager(objs, "/bye", NULL) < 0 ||
                    busrpc_object_export(objs, "/bye/one", &iface_bye, NULL, &bye1, &bye1) < 0 ||
                    busrpc_object_export(objs, "/bye/two", &iface_bye, NULL, &bye2, &bye2) < 0)
                        _exit(1);
                /* SIGTERM handled before the parent may send it (busrpc_server_run()
                 * does it again: a no-op) */
                if (busrpc_loop_handle_signals(busrpc_server_get_loop(the_server)) < 0)
                        _exit(1);
                if (write(p[1], busrpc_server_get_address(the_server), strlen(busrpc_server_get_address(the_server))) <= 0)
                        _exit(1);
                close(p[1]);
                r = busrpc_server_run(the_server);
                for (unsigned i = 0; i < n_held; i++)
                        busrpc_call_unref(held[i]);
                for (unsigned i = 0; i < MAX_HELD_NAMES; i++)
                        release_held_name(i);
                busrpc_object_release(bye1);
                busrpc_object_release(bye2);
                busrpc_object_release(o);
                busrpc_server_free(the_server);
                dbus_shutdown();
                _exit(r >= 0 && r < 64 ? r : 1);
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
        ok(busrpc_server_get_objects(s) != NULL, "the server's objects");
        ok(busrpc_server_get_loop(s) != NULL, "the server's loop");
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
        busrpc_objects *c;
        busrpc_loop *dl = NULL;
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
        c = busrpc_server_get_objects(s);
        ok(c != NULL && busrpc_server_get_objects(s) == c, "the server's objects: the same registry each time");
        is_int(busrpc_object_export(NULL, "/a", &iface, NULL, NULL, &o1), -EINVAL, "export on NULL");
        is_int(busrpc_object_export(c, "a/b", &iface, NULL, NULL, &o1), -EINVAL, "an invalid path");
        is_int(busrpc_object_export(c, "/a//b", &iface, NULL, NULL, &o1), -EINVAL, "an invalid path (//)");
        is_int(busrpc_object_export(c, "/a", &bad_iface, NULL, NULL, &o1), -EINVAL, "an invalid member name");
        is_int(busrpc_object_export(c, "/a", &badsig_iface, NULL, NULL, &o1), -EINVAL, "an invalid signature");
        is_int(busrpc_object_export(c, "/a", &std_iface, NULL, NULL, &o1), -EINVAL, "a standard interface");
        is_int(busrpc_object_export(c, "/a/b", &iface, NULL, NULL, &o1), 0, "export");
        is_str(busrpc_object_get_path(o1), "/a/b", "get_path");
        ok(busrpc_object_get_server(o1) == s, "get_server: the server");
        ok(busrpc_object_get_conn(o1) == NULL, "get_conn: NULL for a server's object");
        is_int(busrpc_object_export(c, "/a/b", &iface, NULL, NULL, &o2), -EEXIST, "the same interface twice: -EEXIST");
        is_int(busrpc_object_export(c, "/a/c", &iface, NULL, NULL, &o2), 0, "another path");
        is_int(busrpc_object_export(c, "/x", &iface, NULL, NULL, NULL), 0, "no handle: lives as long as the server");
        is_int(busrpc_objects_add_manager(c, "/a", &om), 0, "object manager");
        is_int(busrpc_objects_add_manager(c, "/a", NULL), -EEXIST, "twice");
        is_int(busrpc_object_signal_new(om, "X", NULL), -EINVAL, "signal_new without ret");
        is_int(busrpc_object_notify(o1, "Nope"), -EINVAL, "notify of an unknown property");
        ok(busrpc_object_release(o2) == NULL, "unexport");
        is_int(busrpc_object_export(c, "/a/c", &iface, NULL, NULL, &o3), 0, "export again after unexport");
        is_int(busrpc_server_request_name(s, "org.busrpc.Srv", &n), 0, "a name for the server");
        is_int(busrpc_server_request_name(s, "org.busrpc.Srv", NULL), -EALREADY, "twice");
        busrpc_loop_default(&dl);
        ok(dl && busrpc_server_get_loop(s) == dl, "the server is on the default loop (busrpc_server_get_loop)");
        busrpc_loop_unref(dl);
        busrpc_server_free(s);
        ok(busrpc_object_get_server(o1) == NULL, "after the server is gone the handles are detached");
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

static bool limits_equal(const busrpc_server_limits *a, const busrpc_server_limits *b) {
        return a->max_connections == b->max_connections && a->max_pending_calls == b->max_pending_calls &&
               a->max_message_size == b->max_message_size && a->max_fds == b->max_fds &&
               a->auth_timeout_usec == b->auth_timeout_usec && a->max_shm_size == b->max_shm_size &&
               a->max_connections_per_uid == b->max_connections_per_uid &&
               a->max_unauthenticated == b->max_unauthenticated && a->max_outgoing_bytes == b->max_outgoing_bytes &&
               a->shutdown_timeout_usec == b->shutdown_timeout_usec && a->max_call_fds == b->max_call_fds;
}

/* The server's own calls without peers: limits, names, objects, loop,
 * flush and shm settings, and their argument checks. */
static void test_server_api(void) {
        const busrpc_server_limits all = { .max_connections = 5,
                                           .max_pending_calls = 6,
                                           .max_message_size = 70000,
                                           .max_fds = 7,
                                           .auth_timeout_usec = 3 * BUSRPC_USEC_PER_SEC,
                                           .max_shm_size = 1 << 20,
                                           .max_connections_per_uid = 4,
                                           .max_unauthenticated = 9,
                                           .max_outgoing_bytes = 1 << 21,
                                           .shutdown_timeout_usec = 1 * BUSRPC_USEC_PER_SEC,
                                           .max_call_fds = 3 };
        busrpc_server_limits dflt, got, lim;
        busrpc_shm_limits sl, sg, sg2;
        busrpc_server *s = NULL;
        busrpc_name *n1 = NULL, *n2 = NULL;
        busrpc_loop *dl = NULL;
        char addr[300];

        snprintf(addr, sizeof(addr), "unix:path=%s/api/sock", dir);
        if (busrpc_server_new(addr, &s) < 0)
                tap_bail("server");

        /* limits */
        memset(&dflt, 0, sizeof(dflt));
        is_int(busrpc_server_get_limits(s, &dflt), 0, "get_limits of a new server");
        is_int(dflt.max_connections, 128, "default max_connections 128");
        is_int(dflt.max_pending_calls, 128, "default max_pending_calls 128");
        is_int(dflt.max_message_size, 32 * 1024 * 1024, "default max_message_size 32 MiB");
        is_int(dflt.max_fds, 16, "default max_fds 16");
        ok(dflt.auth_timeout_usec == 2 * BUSRPC_USEC_PER_SEC, "default auth_timeout_usec 2 s");
        ok(dflt.max_shm_size == BUSRPC_MAX_SHM_SIZE_DEFAULT, "default max_shm_size BUSRPC_MAX_SHM_SIZE_DEFAULT");
        is_int(dflt.max_connections_per_uid, 64, "default max_connections_per_uid 64");
        is_int(dflt.max_unauthenticated, 64, "default max_unauthenticated 64");
        is_int(dflt.max_outgoing_bytes, 16 * 1024 * 1024, "default max_outgoing_bytes 16 MiB");
        ok(dflt.shutdown_timeout_usec == 2 * BUSRPC_USEC_PER_SEC, "default shutdown_timeout_usec 2 s");
        is_int(dflt.max_call_fds, 16, "default max_call_fds 16");
        is_int(busrpc_server_set_limits(s, &all), 0, "set_limits with every field set");
        memset(&got, 0, sizeof(got));
        is_int(busrpc_server_get_limits(s, &got), 0, "get_limits");
        ok(limits_equal(&got, &all), "get_limits reads back every field set");
        lim = (busrpc_server_limits){ .max_call_fds = 2 };
        is_int(busrpc_server_set_limits(s, &lim), 0, "set_limits with max_call_fds alone");
        busrpc_server_get_limits(s, &got);
        lim = dflt;
        lim.max_call_fds = 2;
        ok(limits_equal(&got, &lim), "max_call_fds 2, every zero field back to its default");
        /* one field changed: get, change, set */
        busrpc_server_set_limits(s, &all);
        busrpc_server_get_limits(s, &lim);
        lim.max_pending_calls = 11;
        is_int(busrpc_server_set_limits(s, &lim), 0, "get_limits, one field changed, set_limits");
        busrpc_server_get_limits(s, &got);
        lim = all;
        lim.max_pending_calls = 11;
        ok(limits_equal(&got, &lim), "that field changed, the others kept");
        lim.max_fds = 254;
        is_int(busrpc_server_set_limits(s, &lim), -EINVAL, "max_fds 254: -EINVAL");
        busrpc_server_get_limits(s, &got);
        ok(got.max_fds == 7 && got.max_pending_calls == 11, "a refused set_limits changes nothing");
        is_int(busrpc_server_get_limits(NULL, &got), -EINVAL, "get_limits(NULL)");
        is_int(busrpc_server_get_limits(s, NULL), -EINVAL, "get_limits without out");
        lim = (busrpc_server_limits){ 0 };
        busrpc_server_set_limits(s, &lim);
        busrpc_server_get_limits(s, &got);
        ok(limits_equal(&got, &dflt), "all zero: the defaults again");

        /* names */
        is_int(busrpc_server_request_name(NULL, "org.busrpc.A", &n1), -EINVAL, "request_name(NULL server)");
        is_int(busrpc_server_request_name(s, NULL, &n1), -EINVAL, "request_name(NULL name)");
        is_int(busrpc_server_request_name(s, "nodots", &n1), -EINVAL, "request_name: not a bus name");
        is_int(busrpc_server_request_name(s, "org..busrpc", &n1), -EINVAL, "request_name: an empty element");
        is_int(busrpc_server_request_name(s, ":1.5", &n1), -EINVAL, "request_name: a unique name");
        is_int(busrpc_server_request_name(s, "org.freedesktop.DBus", &n1), -EINVAL,
               "request_name: org.freedesktop.DBus (the driver's)");
        ok(n1 == NULL, "a refused request writes no handle");
        is_int(busrpc_server_request_name(s, "org.busrpc.A", &n1), 0, "request_name");
        ok(n1 != NULL, "with a handle");
        is_int(busrpc_server_request_name(s, "org.busrpc.A", &n2), -EALREADY, "the same name again: -EALREADY");
        is_int(busrpc_server_request_name(s, "org.busrpc.A", NULL), -EALREADY, "and without a handle");
        n1 = busrpc_name_release(n1);
        is_int(busrpc_server_request_name(s, "org.busrpc.A", &n1), 0, "released, it can be requested again");
        is_int(busrpc_server_request_name(s, "org.busrpc.B", NULL), 0, "a name without a handle");
        is_int(busrpc_server_request_name(s, "org.busrpc.B", &n2), -EALREADY, "is held: -EALREADY");

        /* objects, loop, run, flush */
        ok(busrpc_server_get_objects(NULL) == NULL, "get_objects(NULL): NULL");
        ok(busrpc_conn_get_objects(NULL) == NULL, "busrpc_conn_get_objects(NULL): NULL");
        is_int(busrpc_objects_add_manager(NULL, "/m", NULL), -EINVAL, "add_manager(NULL)");
        is_int(busrpc_objects_add_manager(busrpc_server_get_objects(s), "m", NULL), -EINVAL,
               "add_manager: an invalid path");
        is_int(busrpc_objects_flush_changes(NULL), -EINVAL, "objects_flush_changes(NULL)");
        is_int(busrpc_objects_flush_changes(busrpc_server_get_objects(s)), 0, "objects_flush_changes, nothing queued");
        ok(busrpc_server_get_loop(NULL) == NULL, "get_loop(NULL): NULL");
        busrpc_loop_default(&dl);
        ok(dl && busrpc_server_get_loop(s) == dl, "get_loop: the default loop the server attached to");
        busrpc_loop_unref(dl);
        dl = NULL;
        if (busrpc_loop_new(&dl) < 0)
                tap_bail("loop");
        is_int(busrpc_server_attach(s, dl), 0, "attach to another loop");
        ok(busrpc_server_get_loop(s) == dl, "get_loop follows busrpc_server_attach()");
        is_int(busrpc_server_run(NULL), -EINVAL, "run(NULL)");
        is_int(busrpc_server_flush(NULL), -EINVAL, "flush(NULL)");
        is_int(busrpc_server_flush(s), 0, "flush with no peer");

        /* shm settings (what peers served later get: test-shm-pool) */
        memset(&sg, 0, sizeof(sg));
        is_int(busrpc_server_get_shm_limits(s, &sg), 0, "get_shm_limits");
        ok(sg.pool_bytes && sg.pool_slots && sg.cache_bytes && sg.cache_entries && sg.copy_bytes,
           "the shm limits in force: no zero field");
        sl = (busrpc_shm_limits){ .pool_slots = 3, .cache_entries = 30, .copy_bytes = 3u << 20 };
        is_int(busrpc_server_set_shm_limits(s, &sl), 0, "set_shm_limits");
        memset(&sg2, 0, sizeof(sg2));
        busrpc_server_get_shm_limits(s, &sg2);
        ok(sg2.pool_slots == 3 && sg2.cache_entries == 30 && sg2.copy_bytes == 3u << 20 &&
                   sg2.pool_bytes == sg.pool_bytes && sg2.cache_bytes == sg.cache_bytes,
           "get_shm_limits reads them back, the zero fields at their defaults");
        is_int(busrpc_server_set_shm_limits(s, NULL), 0, "set_shm_limits(NULL): the defaults");
        busrpc_server_get_shm_limits(s, &sg2);
        ok(sg2.pool_slots == sg.pool_slots && sg2.cache_entries == sg.cache_entries && sg2.copy_bytes == sg.copy_bytes,
           "the defaults again");
        is_int(busrpc_server_set_shm_limits(NULL, &sl), -EINVAL, "set_shm_limits(NULL server)");
        is_int(busrpc_server_get_shm_limits(NULL, &sg2), -EINVAL, "get_shm_limits(NULL server)");
        is_int(busrpc_server_get_shm_limits(s, NULL), -EINVAL, "get_shm_limits without out");
        is_int(busrpc_server_set_shm_direct(NULL, true), -EINVAL, "set_shm_direct(NULL)");
        is_int(busrpc_server_set_shm_direct(s, true), 0, "set_shm_direct");
        is_int(busrpc_server_set_shm_direct(s, false), 0, "and off again");

        busrpc_server_free(s);
        busrpc_loop_unref(dl);
        busrpc_name_release(n1);
}

/* A call from a peer's libdbus: a reply's first string, or NULL with the
 * error name in @ret_err (for the driver calls below). */
static char *raw_call_s(DBusConnection *dc, const char *member, const char *arg, char *ret_err, size_t size) {
        DBusMessage *r = raw_call(dc, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", member,
                                  arg, NULL, ret_err, size);
        const char *v = NULL;
        char *copy = NULL;

        if (r && dbus_message_get_args(r, NULL, DBUS_TYPE_STRING, &v, DBUS_TYPE_INVALID))
                copy = strdup(v);
        if (r)
                dbus_message_unref(r);
        return copy;
}

/* Whether the driver's ListNames, asked by @dc, holds @name. */
static bool raw_list_has(DBusConnection *dc, const char *name) {
        char err[256];
        DBusMessage *r = raw_call(dc, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                  "ListNames", NULL, NULL, err, sizeof(err));
        char **v = NULL;
        int n = 0;
        bool found = false;

        if (r && dbus_message_get_args(r, NULL, DBUS_TYPE_ARRAY, DBUS_TYPE_STRING, &v, &n, DBUS_TYPE_INVALID)) {
                for (int i = 0; i < n; i++)
                        found = found || strcmp(v[i], name) == 0;
                dbus_free_string_array(v);
        }
        if (r)
                dbus_message_unref(r);
        return found;
}

/* RequestName / ReleaseName on the child: the int32 it answers, or
 * INT32_MIN when the call itself failed. */
static int32_t name_call(busrpc_conn *c, const char *member, const char *name) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_proxy *p;
        busrpc_msg *m, *reply = NULL;
        busrpc_iter it;
        int32_t v = INT32_MIN;

        busrpc_proxy_new(c, NULL, "/s", &p);
        busrpc_proxy_method_new(p, "org.busrpc.Srv", member, &m);
        busrpc_msg_append(m, &it);
        busrpc_iter_append_basic(&it, 's', &name);
        if (busrpc_proxy_call(p, m, "i", &reply, &err) >= 0) {
                busrpc_msg_read(reply, &it);
                busrpc_iter_get_basic(&it, 'i', &v);
                busrpc_msg_unref(reply);
        }
        busrpc_error_clear(&err);
        busrpc_proxy_unref(p);
        return v;
}

/* busrpc_server_request_name() seen by real peers: the driver calls of a
 * libdbus peer, busctl and a busrpc proxy addressing the name. */
static void test_server_names(void) {
        static const busrpc_server_limits lim = { .max_call_fds = 4 };
        const char *N = "org.busrpc.Named";
        char addr[400], real[400], err[256], cmd[900], out[256] = "";
        DBusConnection *dc;
        DBusError e = DBUS_ERROR_INIT;
        busrpc_error berr = BUSRPC_ERROR_INIT;
        busrpc_conn *c = NULL;
        busrpc_proxy *p;
        busrpc_msg *m, *reply = NULL;
        busrpc_iter it;
        const char *arg = "seven..";
        uint32_t len = 0;
        char *owner;
        FILE *f;
        pid_t pid;
        int r;

        snprintf(addr, sizeof(addr), "unix:path=%s/names/sock", dir);
        child_limits = &lim;
        pid = start_server_addr(addr, real, sizeof(real));
        child_limits = NULL;
        if (busrpc_conn_open_peer(addr, &c) < 0)
                tap_bail("open_peer");
        dc = dbus_connection_open_private(addr, &e);
        if (!dc)
                tap_bail("raw connect: %s", e.message);
        owner = raw_call_s(dc, "Hello", NULL, err, sizeof(err));
        ok(owner != NULL, "a libdbus peer says Hello (%s)", owner ? owner : err);
        free(owner);

        owner = raw_call_s(dc, "GetNameOwner", N, err, sizeof(err));
        ok(!owner && strcmp(err, DBUS_ERROR_NAME_HAS_NO_OWNER) == 0, "before the request: NameHasNoOwner (%s)", err);
        free(owner);
        is_int(name_call(c, "RequestName", N), 0, "busrpc_server_request_name() (from a skeleton, a peer asking)");
        owner = raw_call_s(dc, "GetNameOwner", N, err, sizeof(err));
        is_str(owner, ":1.0", "a peer's GetNameOwner: the server (:1.0)");
        free(owner);
        ok(raw_list_has(dc, N), "a peer's ListNames lists it");

        /* busctl addresses a call to the name */
        snprintf(cmd, sizeof(cmd), "%s --address='%s' call %s /s org.busrpc.Srv Len s four 2>&1",
                 getenv("BUSCTL") ? getenv("BUSCTL") : "busctl", addr, N);
        f = popen(cmd, "r");
        if (f) {
                if (!fgets(out, sizeof(out), f))
                        out[0] = '\0';
                pclose(f);
        }
        out[strcspn(out, "\n")] = '\0';
        is_str(out, "u 4", "busctl --address calls the server by the name");

        /* a busrpc proxy addressed to the name */
        busrpc_proxy_new(c, N, "/s", &p);
        busrpc_proxy_method_new(p, "org.busrpc.Srv", "Len", &m);
        busrpc_msg_append(m, &it);
        busrpc_iter_append_basic(&it, 's', &arg);
        r = busrpc_proxy_call(p, m, "u", &reply, &berr);
        if (r >= 0) {
                busrpc_msg_read(reply, &it);
                busrpc_iter_get_basic(&it, 'u', &len);
                busrpc_msg_unref(reply);
        }
        ok(r >= 0 && len == 7, "a busrpc proxy with the name as destination is answered (%d, %u)", r, len);
        busrpc_error_clear(&berr);
        busrpc_proxy_unref(p);

        len = 0;
        is_int(call_u(c, "Owner", NULL, &len, &berr), 0, "Owner");
        is_int(len, 15, "in a skeleton: the served peer's busrpc_conn_get_objects() is the server's, the "
                        "object's get_server the server, its get_conn NULL; set_max_call_fds on the peer -EINVAL");
        busrpc_error_clear(&berr);
        is_int(name_call(c, "RequestName", N), -EALREADY, "requested again: -EALREADY");
        is_int(name_call(c, "RequestName", "org.freedesktop.DBus"), -EINVAL, "org.freedesktop.DBus: -EINVAL");
        is_int(name_call(c, "RequestName", "not a name"), -EINVAL, "not a bus name: -EINVAL");
        is_int(name_call(c, "ReleaseName", N), 0, "busrpc_name_release()");
        owner = raw_call_s(dc, "GetNameOwner", N, err, sizeof(err));
        ok(!owner && strcmp(err, DBUS_ERROR_NAME_HAS_NO_OWNER) == 0,
           "released: a peer's GetNameOwner says NameHasNoOwner (%s)", err);
        free(owner);
        ok(!raw_list_has(dc, N), "and ListNames no longer lists it");
        is_int(name_call(c, "RequestName", N), 0, "requested again after the release");
        owner = raw_call_s(dc, "GetNameOwner", N, err, sizeof(err));
        is_str(owner, ":1.0", "owned again");
        free(owner);

        dbus_connection_close(dc);
        dbus_connection_unref(dc);
        busrpc_conn_unref(c);
        is_int(stop(pid), 0, "SIGTERM: busrpc_server_run() returns 0, the child exits 0 holding the name");
}

static int count_open_fds(pid_t pid) {
        char path[64];
        struct dirent *d;
        DIR *dp;
        int n = 0;

        snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
        dp = opendir(path);
        if (!dp)
                return -1;
        while ((d = readdir(dp)))
                if (d->d_name[0] != '.')
                        n++;
        closedir(dp);
        return n;
}

/* Fds(ah) with @n copies of @fd: 0 and *@ret_n, or -errno and @err. */
static int call_fds(busrpc_conn *c, int fd, unsigned n, uint32_t *ret_n, busrpc_error *err) {
        busrpc_proxy *p;
        busrpc_msg *m, *reply = NULL;
        busrpc_iter it, sub;
        int r;

        busrpc_proxy_new(c, NULL, "/s", &p);
        busrpc_proxy_method_new(p, "org.busrpc.Srv", "Fds", &m);
        busrpc_msg_append(m, &it);
        busrpc_iter_open(&it, 'a', "h", &sub);
        for (unsigned i = 0; i < n; i++)
                busrpc_iter_append_fd(&sub, fd);
        busrpc_iter_close(&it, &sub);
        r = busrpc_proxy_call(p, m, "u", &reply, err);
        if (r >= 0) {
                busrpc_msg_read(reply, &it);
                busrpc_iter_get_basic(&it, 'u', ret_n);
                busrpc_msg_unref(reply);
        }
        busrpc_proxy_unref(p);
        return r;
}

/* busrpc_server_limits.max_call_fds on calls from a real peer: @limit
 * served, @limit + 1 refused with LimitsExceeded, and the server keeps
 * none of the fds either way. */
static void call_fds_case(const busrpc_server_limits *lim, unsigned limit, const char *tag) {
        char addr[400], real[400];
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_conn *c = NULL;
        uint32_t n = 0;
        int p[2], n0, n1, r;
        pid_t pid;

        snprintf(addr, sizeof(addr), "unix:path=%s/fds-%u/sock", dir, limit);
        child_limits = lim;
        pid = start_server_addr(addr, real, sizeof(real));
        child_limits = NULL;
        if (busrpc_conn_open_peer(addr, &c) < 0 || pipe(p) < 0)
                tap_bail("open_peer");
        /* a round trip without fds first (libdbus drops fds sent with the
         * last authentication line) */
        is_int(call_u(c, "Peers", NULL, &n, &err), 0, "Peers");
        n0 = count_open_fds(pid);
        n = 0;
        is_int(call_fds(c, p[0], limit, &n, &err), 0, tag);
        is_int(n, limit, "the skeleton was handed them all");
        busrpc_error_clear(&err);
        r = call_fds(c, p[0], limit + 1, &n, &err);
        ok(r == -EREMOTEIO && busrpc_error_has_name(&err, BUSRPC_ERROR_LIMITS_EXCEEDED),
           "one fd more: LimitsExceeded (%d %s)", r, err.name ? err.name : "");
        busrpc_error_clear(&err);
        r = call_fds(c, p[0], 3 * limit, &n, &err);
        ok(r == -EREMOTEIO && busrpc_error_has_name(&err, BUSRPC_ERROR_LIMITS_EXCEEDED),
           "three times as many: LimitsExceeded (%d)", r);
        busrpc_error_clear(&err);
        is_int(call_u(c, "Peers", NULL, &n, &err), 0, "the peer keeps its connection");
        n1 = count_open_fds(pid);
        ok(n0 > 0 && n1 == n0, "the server holds none of the fds, served or refused (%d open before, %d after)", n0,
           n1);
        busrpc_error_clear(&err);
        close(p[0]);
        close(p[1]);
        busrpc_conn_unref(c);
        is_int(stop(pid), 0, "the server exits 0");
}

static void test_server_call_fds(void) {
        static const busrpc_server_limits four = { .max_call_fds = 4 };
        static const busrpc_server_limits dflt = { .max_fds = 64 }; /* max_call_fds: the default */

        call_fds_case(&four, 4, "max_call_fds 4: a call with 4 fds is served");
        call_fds_case(&dflt, 16, "max_call_fds by default (16): a call with 16 fds is served");
}

/* busrpc_server_run() ends with busrpc_loop_quit() on the server's loop
 * (busrpc_server_get_loop()) and returns the code: the child's status. */
static void test_server_quit(void) {
        static const busrpc_server_limits lim = { .max_call_fds = 4 };
        char addr[400], real[400];
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_conn *c = NULL;
        busrpc_proxy *p;
        busrpc_msg *m;
        busrpc_iter it;
        int32_t code = 7;
        int status = -1;
        pid_t pid;

        snprintf(addr, sizeof(addr), "unix:path=%s/quit/sock", dir);
        child_limits = &lim;
        pid = start_server_addr(addr, real, sizeof(real));
        child_limits = NULL;
        if (busrpc_conn_open_peer(addr, &c) < 0)
                tap_bail("open_peer");
        busrpc_proxy_new(c, NULL, "/s", &p);
        busrpc_proxy_method_new(p, "org.busrpc.Srv", "Quit", &m);
        busrpc_msg_append(m, &it);
        busrpc_iter_append_basic(&it, 'i', &code);
        is_int(busrpc_proxy_call(p, m, "u", NULL, &err), 0, "Quit(7) is answered before the loop ends");
        busrpc_error_clear(&err);
        busrpc_proxy_unref(p);
        busrpc_conn_unref(c);
        waitpid(pid, &status, 0);
        ok(WIFEXITED(status) && WEXITSTATUS(status) == 7,
           "busrpc_server_run() returned busrpc_loop_quit()'s 7 (status %d)", status);
}

/* The Blob signal's length as @dc receives it, or -1 when the connection
 * ends without it (60 s at most). */
static long read_blob(DBusConnection *dc) {
        uint64_t t0 = now_ms();
        bool open = true;

        while (now_ms() - t0 < 60000) {
                DBusMessage *m;
                while ((m = dbus_connection_pop_message(dc))) {
                        const char *v = NULL;
                        long len = -2;
                        if (dbus_message_is_signal(m, "org.busrpc.Srv", "Blob") &&
                            dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &v, DBUS_TYPE_INVALID))
                                len = (long)strlen(v);
                        else if (dbus_message_is_signal(m, DBUS_INTERFACE_LOCAL, "Disconnected"))
                                len = -1;
                        dbus_message_unref(m);
                        if (len != -2)
                                return len;
                }
                if (!open)
                        return -1;
                open = dbus_connection_read_write(dc, 1000);
        }
        return -1;
}

#define BLOB_SIZE (4u << 20) /* far more than a socket holds */

/* busrpc_server_flush(): a 4 MiB signal, then the child ends with _exit()
 * right after the flush: the peer gets it whole. Without the flush it
 * does not (the peer reads only after the child is gone). */
static void flush_case(bool flush) {
        static const busrpc_server_limits lim = { .shutdown_timeout_usec = 60 * BUSRPC_USEC_PER_SEC };
        char addr[400], real[400], err[256];
        DBusConnection *dc;
        DBusMessage *m;
        DBusError e = DBUS_ERROR_INIT;
        dbus_uint32_t size = BLOB_SIZE;
        dbus_bool_t fl = flush;
        int status = -1;
        long got;
        pid_t pid;

        snprintf(addr, sizeof(addr), "unix:path=%s/flush-%d/sock", dir, (int)flush);
        child_limits = &lim;
        pid = start_server_addr(addr, real, sizeof(real));
        child_limits = NULL;
        dc = dbus_connection_open_private(addr, &e);
        if (!dc)
                tap_bail("raw connect: %s", e.message);
        m = raw_call(dc, NULL, "/s", "org.busrpc.Srv", "Peers", NULL, NULL, err, sizeof(err));
        ok(m != NULL, "%s: a plain libdbus peer (every signal reaches it)", flush ? "flush" : "no flush");
        if (m)
                dbus_message_unref(m);
        m = dbus_message_new_method_call(NULL, "/s", "org.busrpc.Srv", "FlushExit");
        dbus_message_append_args(m, DBUS_TYPE_UINT32, &size, DBUS_TYPE_BOOLEAN, &fl, DBUS_TYPE_INVALID);
        dbus_message_set_no_reply(m, TRUE);
        dbus_connection_send(dc, m, NULL);
        dbus_connection_flush(dc);
        dbus_message_unref(m);
        if (flush) {
                got = read_blob(dc);
                waitpid(pid, &status, 0);
                is_int(got, BLOB_SIZE, "busrpc_server_flush() then _exit(): the peer got the 4 MiB signal whole");
                ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "busrpc_server_flush() returned 0 (status %d)",
                   status);
        } else {
                waitpid(pid, &status, 0);
                got = read_blob(dc);
                ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "no flush: the child sent and ended (status %d)",
                   status);
                ok(got != BLOB_SIZE,
                   "no flush, _exit(): the signal does not arrive whole (%ld): the check above can fail", got);
        }
        dbus_connection_close(dc);
        dbus_connection_unref(dc);
}

static void test_server_flush(void) {
        flush_case(true);
        flush_case(false);
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
        TAP_RUN(test_server_api);
        TAP_RUN(test_server_names);
        TAP_RUN(test_server_call_fds);
        TAP_RUN(test_server_quit);
        TAP_RUN(test_server_flush);
        dbus_shutdown();
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
                tap_diag("cleanup failed");
        return tap_done();
}
