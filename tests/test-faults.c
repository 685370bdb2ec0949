/* test-faults.c: the loop's signal hooks and the default of SIGHUP, and a
 * connection that loses its bus (a private dbus-daemon killed with
 * SIGKILL): the run returns -ECONNRESET, the handler is told, a later
 * busrpc_conn_run() does not run on no bus, reconnection gives up after
 * its timeout. The end-to-end cases (fds through a bus, a restart on the
 * same socket) are in tests/hostile/test-bus-faults.sh. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <dbus/dbus.h>
#include "busrpc/busrpc.h"
#include "tap.h"

static char dir[] = "/tmp/busrpc-faults-XXXXXX";
static char bus_addr[512];
static pid_t bus_pid = -1;

static bool blocked(int signo) {
        sigset_t cur;
        pthread_sigmask(SIG_BLOCK, NULL, &cur);
        return sigismember(&cur, signo) == 1;
}

typedef struct Hits {
        int n;
        int last;
        busrpc_loop *quit_loop; /* quit it with 42 when set */
} Hits;

static int on_signal(busrpc_source *s, int signo, void *userdata) {
        Hits *h = userdata;
        h->n++;
        h->last = signo;
        if (h->quit_loop)
                busrpc_loop_quit(h->quit_loop, 42);
        return 0;
}

/* Iterate until @cond or 500 rounds of at most 10 ms: conditions, not sleeps. */
#define ITERATE_UNTIL(l, cond)                                                                              \
        do {                                                                                                \
                for (int i_ = 0; i_ < 500 && !(cond); i_++)                                                 \
                        busrpc_loop_iterate((l), 10 * BUSRPC_USEC_PER_MSEC);                                \
        } while (0)

static int send_self(busrpc_source *s, void *userdata) {
        kill(getpid(), *(int *)userdata);
        return 0;
}

static void test_signal_hooks(void) {
        busrpc_loop *l;
        busrpc_source *s = NULL, *s2 = NULL, *t = NULL;
        Hits h = { 0 }, h2 = { 0 };
        uint64_t usec = 0;
        int sig = SIGTERM;

        if (busrpc_loop_new(&l) < 0)
                tap_bail("loop");
        is_int(busrpc_loop_add_signal(l, SIGKILL, on_signal, &h, &s), -EINVAL, "SIGKILL cannot be hooked");
        is_int(busrpc_loop_add_signal(l, SIGSEGV, on_signal, &h, &s), -EINVAL, "SIGSEGV cannot be hooked");
        is_int(busrpc_loop_add_signal(l, 0, on_signal, &h, &s), -EINVAL, "signal 0 is -EINVAL");
        is_int(busrpc_loop_add_signal(l, SIGUSR1, NULL, &h, &s), -EINVAL, "no callback is -EINVAL");
        ok(!blocked(SIGUSR1), "SIGUSR1 not blocked before a hook");
        is_int(busrpc_loop_add_signal(l, SIGUSR1, on_signal, &h, &s), 0, "hook SIGUSR1");
        is_int(busrpc_loop_add_signal(l, SIGUSR1, on_signal, &h2, &s2), 0, "a second hook on SIGUSR1");
        ok(blocked(SIGUSR1), "a hooked signal is blocked (read through the signalfd)");
        kill(getpid(), SIGUSR1);
        ITERATE_UNTIL(l, h.n > 0 && h2.n > 0);
        is_int(h.n, 1, "the hook ran once");
        is_int(h.last, SIGUSR1, "with the signal number");
        is_int(h2.n, 1, "the second hook ran too");
        s2 = busrpc_source_release(s2);
        kill(getpid(), SIGUSR1);
        ITERATE_UNTIL(l, h.n > 1);
        is_int(h.n, 2, "the remaining hook runs again");
        is_int(h2.n, 1, "the freed hook does not");
        s = busrpc_source_release(s);
        ok(!blocked(SIGUSR1), "SIGUSR1 unblocked again once no hook is left");

        /* SIGHUP with the default signal handling: nothing happens. */
        is_int(busrpc_loop_handle_signals(l), 0, "handle_signals");
        ok(blocked(SIGHUP) && blocked(SIGTERM) && blocked(SIGINT),
           "SIGHUP, SIGTERM, SIGINT are read by the loop");
        kill(getpid(), SIGHUP);
        for (int i = 0; i < 5; i++)
                busrpc_loop_iterate(l, 10 * BUSRPC_USEC_PER_MSEC);
        ok(true, "SIGHUP without a hook does not kill the process");
        ok(busrpc_loop_get_timeout(l, &usec) == 0 && usec == BUSRPC_TIMEOUT_INFINITE, "and does not quit the loop");
        is_int(busrpc_loop_add_signal(l, SIGHUP, on_signal, &h, &s), 0, "hook SIGHUP");
        h.n = 0;
        kill(getpid(), SIGHUP);
        ITERATE_UNTIL(l, h.n > 0);
        is_int(h.last, SIGHUP, "the SIGHUP hook runs");
        s = busrpc_source_release(s);
        ok(blocked(SIGHUP), "SIGHUP stays blocked after its hook goes (handle_signals reads it)");

        /* A hook on SIGTERM replaces the default quit. */
        h.n = 0;
        h.quit_loop = l;
        is_int(busrpc_loop_add_signal(l, SIGTERM, on_signal, &h, &s), 0, "hook SIGTERM");
        busrpc_loop_add_timer(l, 1000, false, send_self, &sig, &t);
        is_int(busrpc_loop_run(l), 42, "SIGTERM ran the hook, whose quit code the run returns");
        is_int(h.n, 1, "the SIGTERM hook ran once");
        busrpc_source_release(t);
        busrpc_source_release(s);
        busrpc_loop_add_timer(l, 1000, false, send_self, &sig, &t);
        is_int(busrpc_loop_run(l), 0, "without the hook SIGTERM quits the run with 0 again");
        busrpc_source_release(t);
        busrpc_loop_unref(l);
        ok(!blocked(SIGHUP) && !blocked(SIGTERM), "the freed loop restores the signal mask");
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
        char *argv[] = { getenv("DBUS_DAEMON") ? getenv("DBUS_DAEMON") : "/usr/bin/dbus-daemon", path,
                         "--nofork", "--print-address=1", NULL };

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

static void kill_bus(void) {
        int st;

        if (bus_pid <= 0)
                return;
        kill(bus_pid, SIGKILL);
        waitpid(bus_pid, &st, 0);
        bus_pid = -1;
        unlink(strchr(bus_addr, '=') + 1);
}

typedef struct Events {
        int n[4];
        int last_error;
        busrpc_loop *loop;
} Events;

static void on_event(busrpc_conn *c, busrpc_conn_event ev, int error, void *userdata) {
        Events *e = userdata;
        e->n[ev]++;
        e->last_error = error;
        if (ev == BUSRPC_CONN_LOST)
                busrpc_loop_quit(e->loop, 7);
}

static int quit_guard(busrpc_source *s, void *userdata) {
        busrpc_loop_quit(userdata, -ETIME);
        return 0;
}

static int set_flag(busrpc_source *s, void *userdata) {
        *(bool *)userdata = true;
        return 0;
}

static void test_lost(void) {
        busrpc_conn *c = NULL;
        busrpc_loop *l;
        Events e = { 0 };
        char plain[700];
        bool waited = false;

        start_bus();
        is_int(busrpc_conn_open(bus_addr, &c), 0, "open");
        l = busrpc_conn_get_loop(c);
        kill_bus();
        is_int(busrpc_loop_run(l), -ECONNRESET,
               "no handler: the loop's run returns -ECONNRESET when the bus dies");
        ok(!busrpc_conn_is_connected(c), "the connection says it is not connected");
        is_int(busrpc_conn_run(c), -ECONNRESET, "busrpc_conn_run() on the lost connection returns at once");
        c = busrpc_conn_unref(c);

        /* A loss seen on one loop, then the conn moved to another loop: the
         * second loop's run sees it (a guard timer ends a run that would not). */
        start_bus();
        is_int(busrpc_conn_open(bus_addr, &c), 0, "open (to move it)");
        l = busrpc_conn_get_loop(c);
        kill_bus();
        for (int i = 0; i < 500 && busrpc_conn_is_connected(c); i++)
                busrpc_loop_iterate(l, 10 * BUSRPC_USEC_PER_MSEC);
        ok(!busrpc_conn_is_connected(c), "the loss was seen on the first loop");
        {
                busrpc_loop *l2;
                busrpc_source *guard = NULL;
                if (busrpc_loop_new(&l2) < 0)
                        tap_bail("loop");
                busrpc_loop_add_timer(l2, 5000000, false, quit_guard, l2, &guard);
                is_int(busrpc_conn_attach(c, l2), 0, "attach the lost conn to another loop");
                is_int(busrpc_loop_run(l2), -ECONNRESET, "that loop's run returns -ECONNRESET");
                busrpc_source_release(guard);
                c = busrpc_conn_unref(c);
                busrpc_loop_unref(l2);
        }

        start_bus();
        is_int(busrpc_conn_open(bus_addr, &c), 0, "open again");
        l = busrpc_conn_get_loop(c);
        e.loop = l;
        is_int(busrpc_conn_on_event(c, on_event, &e), 0, "set a handler");
        kill_bus();
        is_int(busrpc_loop_run(l), 7, "with a handler: the handler decides (it quit with 7)");
        is_int(e.n[BUSRPC_CONN_LOST], 1, "the handler was told once: LOST");
        is_int(e.last_error, -ECONNRESET, "with -ECONNRESET");
        is_int(e.n[BUSRPC_CONN_RECONNECTING], 0, "no reconnection without opting in");
        c = busrpc_conn_unref(c);

        /* Reconnection that finds no bus gives up after its timeout. */
        memset(&e, 0, sizeof(e));
        start_bus();
        is_int(busrpc_conn_open(bus_addr, &c), 0, "open a third time");
        l = busrpc_conn_get_loop(c);
        e.loop = l;
        busrpc_conn_on_event(c, on_event, &e);
        is_int(busrpc_conn_set_reconnect(c, 300 * BUSRPC_USEC_PER_MSEC), 0, "reconnect for 300 ms");
        kill_bus();
        is_int(busrpc_loop_run(l), 7, "the run ends when reconnection gives up");
        is_int(e.n[BUSRPC_CONN_RECONNECTING], 1, "RECONNECTING was reported");
        is_int(e.n[BUSRPC_CONN_LOST], 1, "then LOST");
        ok(e.last_error == -ENOENT || e.last_error == -ECONNREFUSED, "with the last connect error (%d)",
           e.last_error);
        c = busrpc_conn_unref(c);

        /* BUSRPC_TIMEOUT_INFINITE: no end. Still trying after twice the
         * 300 ms above, and back once a bus listens at the path again. */
        memset(&e, 0, sizeof(e));
        start_bus();
        snprintf(plain, sizeof(plain), "unix:path=%s/bus", dir); /* no guid: the next bus will do */
        is_int(busrpc_conn_open(plain, &c), 0, "open by path");
        l = busrpc_conn_get_loop(c);
        e.loop = l;
        busrpc_conn_on_event(c, on_event, &e);
        is_int(busrpc_conn_set_reconnect(c, BUSRPC_TIMEOUT_INFINITE), 0, "reconnect without end");
        kill_bus();
        busrpc_loop_add_timer(l, 600 * BUSRPC_USEC_PER_MSEC, false, set_flag, &waited, NULL);
        ITERATE_UNTIL(l, waited);
        ok(waited, "600 ms passed");
        is_int(e.n[BUSRPC_CONN_RECONNECTING], 1, "RECONNECTING was reported");
        is_int(e.n[BUSRPC_CONN_LOST], 0, "and no LOST: reconnection has no end");
        start_bus();
        ITERATE_UNTIL(l, e.n[BUSRPC_CONN_RECONNECTED] > 0);
        is_int(e.n[BUSRPC_CONN_RECONNECTED], 1, "RECONNECTED once a bus is back");
        ok(busrpc_conn_is_connected(c), "and connected");
        c = busrpc_conn_unref(c);
        kill_bus();
}

static void test_args(void) {
        busrpc_server_limits lim;
        busrpc_server *s = NULL;
        char addr[600];

        is_int(busrpc_conn_on_event(NULL, on_event, NULL), -EINVAL, "on_event(NULL)");
        is_int(busrpc_conn_set_reconnect(NULL, 1), -EINVAL, "set_reconnect(NULL)");
        is_int(busrpc_conn_set_max_call_fds(NULL, 1), -EINVAL, "set_max_call_fds(NULL)");
        snprintf(addr, sizeof(addr), "unix:path=%s/peer/sock", dir);
        if (busrpc_server_new(addr, &s) < 0)
                tap_bail("server");
        /* A server is no connection: no event handler, no reconnection;
         * what it has instead is checked here. */
        is_int(busrpc_server_request_name(s, "org.freedesktop.DBus", NULL), -EINVAL,
               "a server cannot take the driver's name");
        is_int(busrpc_server_set_limits(NULL, NULL), -EINVAL, "set_limits(NULL server)");
        is_int(busrpc_server_get_limits(s, &lim), 0, "get_limits");
        lim.max_call_fds = 4;
        is_int(busrpc_server_set_limits(s, &lim), 0, "a per-call fd limit for all peers (max_call_fds)");
        lim.max_call_fds = 0;
        busrpc_server_get_limits(s, &lim);
        is_int(lim.max_call_fds, 4, "read back with get_limits");
        is_int(busrpc_server_set_limits(s, NULL), 0, "set_limits(NULL limits): every default again");
        busrpc_server_get_limits(s, &lim);
        is_int(lim.max_call_fds, 16, "max_call_fds back to 16");
        busrpc_server_free(s);
}

static void cleanup(void) {
        char cmd[600];
        kill_bus();
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (dir[sizeof(dir) - 2] != 'X')
                (void)!system(cmd);
}

int main(void) {
        if (!mkdtemp(dir))
                tap_bail("mkdtemp");
        atexit(cleanup);
        TAP_RUN(test_signal_hooks);
        TAP_RUN(test_lost);
        TAP_RUN(test_args);
        dbus_shutdown();
        return tap_done();
}
