/* test-conn.c: connections on a private dbus-daemon and to a peer server:
 * opening, names, calls through the loop, an async timeout at the
 * configured time, a server killed mid-call, signals to a plain peer. The
 * service is tests/runtime-service, run as a child process. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dbus/dbus.h>
#include "busrpc/busrpc.h"
#include "tap.h"

#define is_intf(got, want, ...)                                                                 \
        do {                                                                                    \
                intmax_t g_ = (intmax_t)(got), w_ = (intmax_t)(want);                           \
                if (!ok(g_ == w_, __VA_ARGS__))                                                 \
                        tap_diag("  got %jd, want %jd", g_, w_);                                \
        } while (0)

static char dir[] = "/tmp/busrpc-conn-XXXXXX";
static char bus_addr[512];
static pid_t bus_pid = -1;

static uint64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Run @argv with stdout on a pipe; read its first line into @line. */
static pid_t spawn(char *const argv[], char *line, size_t size) {
        int p[2];
        pid_t pid;
        FILE *f;

        if (pipe(p) < 0)
                return -1;
        pid = fork();
        if (pid == 0) {
                dup2(p[1], 1);
                close(p[0]);
                execv(argv[0], argv);
                _exit(127);
        }
        close(p[1]);
        f = fdopen(p[0], "r");
        if (!f || !fgets(line, (int)size, f))
                line[0] = '\0';
        line[strcspn(line, "\n")] = '\0';
        if (f)
                fclose(f);
        return pid;
}

static void start_bus(void) {
        char conf[600], path[700];
        FILE *f;
        char *argv[] = { getenv("DBUS_DAEMON") ? getenv("DBUS_DAEMON") : "/usr/bin/dbus-daemon", path, "--nofork",
                         "--print-address=1", NULL };

        if (!mkdtemp(dir))
                tap_bail("mkdtemp");
        snprintf(conf, sizeof(conf), "%s/bus.conf", dir);
        f = fopen(conf, "w");
        if (!f)
                tap_bail("bus.conf");
        fprintf(f,
                "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
                " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
                "<busconfig><type>session</type><listen>unix:path=%s/bus</listen><auth>EXTERNAL</auth>\n"
                "<policy context=\"default\"><allow send_destination=\"*\" eavesdrop=\"true\"/>"
                "<allow eavesdrop=\"true\"/><allow own=\"*\"/></policy></busconfig>\n",
                dir);
        fclose(f);
        snprintf(path, sizeof(path), "--config-file=%s", conf);
        bus_pid = spawn(argv, bus_addr, sizeof(bus_addr));
        if (!bus_addr[0])
                tap_bail("dbus-daemon did not start");
}

static pid_t start_service(const char *mode, const char *addr, const char *name) {
        char svc[512], line[512];
        char *argv[] = { svc, (char *)mode, (char *)addr, "--name", (char *)name, NULL };
        pid_t pid;

        snprintf(svc, sizeof(svc), "%s/tests/runtime-service", getenv("top_builddir") ? getenv("top_builddir") : ".");
        pid = spawn(argv, line, sizeof(line));
        if (strncmp(line, "READY", 5) != 0)
                tap_bail("runtime-service did not start");
        return pid;
}

static void stop(pid_t pid, int sig) {
        int status;
        kill(pid, sig);
        waitpid(pid, &status, 0);
}

static void test_open(void) {
        busrpc_conn *c = NULL;
        char addr[600];

        is_int(busrpc_conn_open(NULL, &c), -EINVAL, "open(NULL)");
        is_int(busrpc_conn_open("not an address", &c), -EINVAL, "a malformed address");
        snprintf(addr, sizeof(addr), "unix:path=%s/nothing", dir);
        is_int(busrpc_conn_open(addr, &c), -ENOENT, "no socket there: -ENOENT");
        unsetenv("DBUS_SESSION_BUS_ADDRESS");
        setenv("XDG_RUNTIME_DIR", "/nonexistent-busrpc", 1);
        is_int(busrpc_conn_open("session", &c), -ENOENT, "no session bus: -ENOENT (never autolaunch)");
        setenv("DBUS_SESSION_BUS_ADDRESS", bus_addr, 1);
        is_int(busrpc_conn_open("session", &c), 0, "session from DBUS_SESSION_BUS_ADDRESS");
        ok(busrpc_conn_get_unique_name(c) && busrpc_conn_get_unique_name(c)[0] == ':', "a unique name");
        ok(busrpc_conn_is_connected(c), "connected");
        ok(busrpc_conn_get_loop(c) != NULL, "attached to the default loop");
        busrpc_conn_unref(c);
        unsetenv("DBUS_SESSION_BUS_ADDRESS");
}

static void test_names(void) {
        busrpc_conn *a, *b;
        busrpc_name *n1 = NULL, *n2 = NULL;

        busrpc_conn_open(bus_addr, &a);
        busrpc_conn_open(bus_addr, &b);
        is_int(busrpc_conn_request_name(a, "not a name", 0, NULL, NULL, &n1), -EINVAL, "an invalid name");
        is_int(busrpc_conn_request_name(a, ":1.5", 0, NULL, NULL, &n1), -EINVAL, "a unique name");
        is_int(busrpc_conn_request_name(a, "org.busrpc.N", 0, NULL, NULL, &n1), 0, "primary owner: 0");
        is_int(busrpc_conn_request_name(b, "org.busrpc.N", BUSRPC_NAME_DO_NOT_QUEUE, NULL, NULL, &n2), -EEXIST,
               "owned by another, DO_NOT_QUEUE: -EEXIST");
        is_int(busrpc_conn_request_name(b, "org.busrpc.N", 0, NULL, NULL, &n2), 1, "queued: 1");
        busrpc_name_release(n2);
        busrpc_name_release(n1);
        busrpc_conn_unref(b);
        busrpc_conn_unref(a);
}

typedef struct Result {
        int r;
        bool done;
        uint64_t at;
        char err[256];
} Result;

static void on_reply(busrpc_msg *reply, int r, const busrpc_error *err, void *userdata) {
        Result *res = userdata;
        res->r = r;
        res->done = true;
        res->at = now_ms();
        snprintf(res->err, sizeof(res->err), "%s", err && err->name ? err->name : "");
}

static int call_defer(busrpc_proxy *p, uint32_t ms, Result *res) {
        busrpc_msg *m;
        busrpc_iter it;
        int r = busrpc_proxy_method_new(p, "org.busrpc.Test", "Defer", &m);
        if (r < 0)
                return r;
        busrpc_msg_append(m, &it);
        busrpc_iter_append_basic(&it, 'u', &ms);
        return busrpc_proxy_call_async(p, m, "", on_reply, res, NULL);
}

static void wait_result(busrpc_conn *c, Result *res, int max_ms) {
        uint64_t t0 = now_ms();
        while (!res->done && now_ms() - t0 < (uint64_t)max_ms)
                busrpc_loop_iterate(busrpc_conn_get_loop(c), 50 * BUSRPC_USEC_PER_MSEC);
}

static int add(busrpc_proxy *p, int32_t a, int32_t b, int32_t *sum) {
        busrpc_msg *m, *reply = NULL;
        busrpc_iter it;
        busrpc_error err = BUSRPC_ERROR_INIT;
        int r = busrpc_proxy_method_new(p, "org.busrpc.Test", "Add", &m);
        if (r < 0)
                return r;
        busrpc_msg_append(m, &it);
        busrpc_iter_append_basic(&it, 'i', &a);
        busrpc_iter_append_basic(&it, 'i', &b);
        r = busrpc_proxy_call(p, m, "i", &reply, &err);
        if (r >= 0) {
                busrpc_msg_read(reply, &it);
                r = busrpc_iter_get_basic(&it, 'i', sum);
                busrpc_msg_unref(reply);
        }
        busrpc_error_clear(&err);
        return r;
}

static void test_calls(const char *mode, const char *addr, bool peer) {
        busrpc_conn *c;
        busrpc_proxy *p;
        Result res = { 0 };
        int32_t sum = 0;
        uint64_t t0;
        pid_t svc;

        svc = start_service(mode, addr, "org.busrpc.T");
        ok(svc > 0, "%s: service started", mode);
        if (peer) {
                char real[600];
                snprintf(real, sizeof(real), "%s", addr);
                is_intf(busrpc_conn_open_peer(real, &c), 0, "%s: open_peer", mode);
                ok(busrpc_conn_get_unique_name(c) == NULL, "%s: no unique name on a peer", mode);
        } else {
                is_intf(busrpc_conn_open(addr, &c), 0, "%s: open", mode);
        }
        busrpc_proxy_new(c, peer ? NULL : "org.busrpc.T", "/org/busrpc/Test", &p);
        is_intf(add(p, 20, 22, &sum), 0, "%s: sync call", mode);
        is_intf(sum, 42, "%s: the result", mode);

        /* a client-side timeout fires at the configured time (+-20%) */
        busrpc_proxy_set_timeout(p, 500 * BUSRPC_USEC_PER_MSEC);
        t0 = now_ms();
        is_intf(call_defer(p, 0, &res), 0, "%s: async call to a method that never replies", mode);
        wait_result(c, &res, 3000);
        ok(res.done, "%s: the callback ran", mode);
        is_intf(res.r, -ETIMEDOUT, "%s: -ETIMEDOUT", mode);
        ok(res.at - t0 >= 400 && res.at - t0 <= 600, "%s: after 500 ms +-20%% (%d ms)", mode, (int)(res.at - t0));

        /* a deferred reply arrives through the loop */
        memset(&res, 0, sizeof(res));
        busrpc_proxy_set_timeout(p, 5000 * BUSRPC_USEC_PER_MSEC);
        call_defer(p, 100, &res);
        wait_result(c, &res, 3000);
        is_intf(res.r, 0, "%s: a deferred reply arrives", mode);

        /* the server killed mid-call: an error, promptly */
        memset(&res, 0, sizeof(res));
        busrpc_proxy_set_timeout(p, 20000 * BUSRPC_USEC_PER_MSEC);
        call_defer(p, 0, &res);
        busrpc_loop_iterate(busrpc_conn_get_loop(c), 100 * BUSRPC_USEC_PER_MSEC);
        t0 = now_ms();
        stop(svc, SIGKILL);
        wait_result(c, &res, 5000);
        ok(res.done && res.r < 0, "%s: server killed mid-call: the call fails (%d %s)", mode, res.r, res.err);
        ok(res.at - t0 < 1000, "%s: promptly (%d ms)", mode, (int)(res.at - t0));
        busrpc_proxy_unref(p);
        busrpc_conn_unref(c);
}

static void sig_cb(busrpc_msg *m, busrpc_iter *args, void *userdata);

static void test_peer_signals(const char *addr) {
        busrpc_conn *c;
        busrpc_proxy *p;
        busrpc_msg *m;
        busrpc_iter it;
        busrpc_error err = BUSRPC_ERROR_INIT;
        const char *s = "to-all";
        pid_t svc = start_service("--listen", addr, "org.busrpc.T");
        int got = 0;
        uint64_t t0;

        is_int(busrpc_conn_open_peer(addr, &c), 0, "open_peer");
        busrpc_proxy_new(c, NULL, "/org/busrpc/Test", &p);
        is_int(busrpc_proxy_subscribe(p, "org.busrpc.Test", "Tick", "s", sig_cb, &got, NULL, NULL), 0, "subscribe");
        busrpc_proxy_method_new(p, "org.busrpc.Test", "Emit", &m);
        busrpc_msg_append(m, &it);
        busrpc_iter_append_basic(&it, 's', &s);
        is_int(busrpc_proxy_call(p, m, "", NULL, &err), 0, "Emit");
        t0 = now_ms();
        while (!got && now_ms() - t0 < 3000)
                busrpc_loop_iterate(busrpc_conn_get_loop(c), 50 * BUSRPC_USEC_PER_MSEC);
        is_int(got, 1, "a plain peer (no Hello, no AddMatch) receives the server's signal");
        busrpc_error_clear(&err);
        busrpc_proxy_unref(p);
        busrpc_conn_unref(c);
        stop(svc, SIGTERM);
}

static void sig_cb(busrpc_msg *m, busrpc_iter *args, void *userdata) {
        const char *s = NULL;
        busrpc_iter_get_basic(args, 's', &s);
        if (s && strcmp(s, "to-all") == 0)
                (*(int *)userdata)++;
}

/* Also when a check bails out: never leave the private bus running. */
static void cleanup(void) {
        char cmd[600];

        if (bus_pid > 0) {
                kill(bus_pid, SIGTERM);
                waitpid(bus_pid, NULL, 0);
                bus_pid = -1;
        }
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (dir[strlen(dir) - 1] != 'X' && system(cmd) != 0)
                fprintf(stderr, "cleanup failed\n");
}

int main(void) {
        char paddr[600], paddr2[600];

        atexit(cleanup);
        start_bus();
        TAP_RUN(test_open);
        TAP_RUN(test_names);
        test_calls("--bus", bus_addr, false);
        snprintf(paddr, sizeof(paddr), "unix:path=%s/peer/sock", dir);
        test_calls("--listen", paddr, true);
        snprintf(paddr2, sizeof(paddr2), "unix:path=%s/peer2/sock", dir);
        test_peer_signals(paddr2);
        cleanup();
        dbus_shutdown();
        return tap_done();
}
