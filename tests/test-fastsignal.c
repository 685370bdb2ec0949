/* test-fastsignal.c: signals emitted on the fast path without a
 * DBusMessage (runtime/fastcall.c fast_emit(), issue 12): the emitter, a
 * child process, exports the same object on a private dbus-daemon and on
 * a peer server; busrpc_object_emit() on each is watched by every kind
 * of receiver, once with the emitter on the fast path (BUSRPC_FAST_PATH=1,
 * set here) and once on libdbus (=0), with the same checks.
 *
 * As in test-fastcall.c, the emitter defines libdbus's message
 * constructors itself and counts them (tests/libdbus-count.h); each Emit
 * answers how many DBusMessages its emits made: none on the fast path,
 * at least one per signal on libdbus (the counter works).
 *
 * Receivers: busrpc subscribers (bus conn, and a plain peer conn of the
 * server), /usr/bin/python3 with python3-dbus (on the bus; on the peer
 * server two peers that said Hello: one whose match rule takes the
 * signals by arg0, one whose rule excludes them), `gdbus monitor` on the
 * bus and on the peer server. Checked: every signal, in order, with its
 * values and sender (":1.0" to peers that said Hello, the emitter's
 * unique name on the bus), an excluded peer gets none, an fd in a signal
 * arrives as the same file in each busrpc receiver, and a peer attached
 * with BecomeMonitor sees the signals (the DBusMessage path, taken then
 * on purpose: counted). Both processes stop cleanly: valgrind-clean
 * (test-fastsignal-valgrind.sh).
 */
#include <dbus/dbus.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <busrpc/busrpc.h>

#include "libdbus-count.h"
#include "marshal-types.h"
#include "tap.h"
#include "bus-fixture.h"

#define NAME     "org.busrpc.test.FastSignal"
#define IFACE    "org.busrpc.test.FastSignal"
#define OBJ_PATH "/org/busrpc/test/fastsignal"
#define N_PINGS  50u
/* How long a receiver may take to show what it got (a deadline, not a
 * measured time: every wait ends as soon as its condition holds). */
#define DEADLINE_SEC 30

/* ------------------------------------------------------------------ */
/* The interface, in descriptors                                        */

typedef struct PingArgs {
        char *what;
        uint32_t seq;
        I32Array nums;
} PingArgs;
static const busrpc_field ping_fields[] = { FIELD(busrpc_type_string, PingArgs, what),
                                            FIELD(busrpc_type_uint32, PingArgs, seq),
                                            FIELD(i32_array_type, PingArgs, nums) };
static const busrpc_args ping_args = { "suai", ping_fields, 3, sizeof(PingArgs) };

typedef struct FdArgs {
        int fd;
        char *text;
} FdArgs;
static const busrpc_field fd_fields[] = { FIELD(busrpc_type_fd, FdArgs, fd),
                                          FIELD(busrpc_type_string, FdArgs, text) };
static const busrpc_args fd_args = { "hs", fd_fields, 2, sizeof(FdArgs) };

typedef struct DoneArgs {
        uint32_t n;
} DoneArgs;
static const busrpc_field done_fields[] = { FIELD(busrpc_type_uint32, DoneArgs, n) };
static const busrpc_args done_args = { "u", done_fields, 1, sizeof(DoneArgs) };

/* Emit(where, what, n): n Pings (seq 0..n-1, nums seq..seq+2) then
 * Done(n) from the object on the bus or the peer server; what the emits
 * cost in DBusMessages. EmitFd(where): one Fd signal. */
typedef struct EmitIn {
        char *where;
        char *what;
        uint32_t n;
} EmitIn;
static const busrpc_field emit_in_fields[] = { FIELD(busrpc_type_string, EmitIn, where),
                                               FIELD(busrpc_type_string, EmitIn, what),
                                               FIELD(busrpc_type_uint32, EmitIn, n) };
static const busrpc_args emit_in = { "ssu", emit_in_fields, 3, sizeof(EmitIn) };
typedef struct EmitOut {
        uint64_t msgs;
        int32_t r; /* the first failing emit's return, else 0 */
} EmitOut;
static const busrpc_field emit_out_fields[] = { FIELD(busrpc_type_uint64, EmitOut, msgs),
                                                FIELD(busrpc_type_int32, EmitOut, r) };
static const busrpc_args emit_out = { "ti", emit_out_fields, 2, sizeof(EmitOut) };

/* ------------------------------------------------------------------ */
/* The emitter (a child process)                                        */

typedef struct Server {
        busrpc_conn *conn;
        busrpc_server *peers;
        busrpc_object *obj, *peer_obj;
} Server;

static busrpc_object *target(Server *s, const char *where) {
        return strcmp(where, "bus") == 0 ? s->obj : s->peer_obj;
}

static int op_emit(busrpc_call *call, const void *ops, void *self, void *in, void *out) {
        const EmitIn *e = in;
        EmitOut *o = out;
        busrpc_object *obj = target(self, e->where);
        unsigned long before = msgs_made;
        int32_t nums[3];
        int r;

        (void)call, (void)ops;
        for (uint32_t i = 0; i < e->n; i++) {
                PingArgs p = { e->what, i, { nums, 3 } };

                nums[0] = (int32_t)i;
                nums[1] = (int32_t)i + 1;
                nums[2] = (int32_t)i + 2;
                r = busrpc_object_emit(obj, "Ping", &ping_args, &p);
                if (r < 0 && !o->r)
                        o->r = r;
        }
        r = busrpc_object_emit(obj, "Done", &done_args, &(DoneArgs){ e->n });
        if (r < 0 && !o->r)
                o->r = r;
        o->msgs = msgs_made - before;
        return 0;
}

static int op_emit_fd(busrpc_call *call, const void *ops, void *self, void *in, void *out) {
        const EmitIn *e = in;
        EmitOut *o = out;
        unsigned long before = msgs_made;
        int fd = memfd_create("fastsignal", MFD_CLOEXEC);

        (void)call, (void)ops;
        if (fd < 0 || write(fd, e->what, strlen(e->what)) < 0)
                o->r = -errno;
        else
                o->r = busrpc_object_emit(target(self, e->where), "Fd", &fd_args,
                                          &(FdArgs){ fd, e->what });
        o->msgs = msgs_made - before;
        if (fd >= 0)
                close(fd);
        return 0;
}

#define METHOD(name, sig_in, sig_out, in, out, op) { name, sig_in, sig_out, NULL, 0, &(in), &(out), op }
static const busrpc_method_desc methods[] = {
        METHOD("Emit", "ssu", "ti", emit_in, emit_out, op_emit),
        METHOD("EmitFd", "ssu", "ti", emit_in, emit_out, op_emit_fd),
};
static const busrpc_signal_desc signals[] = {
        { "Ping", "suai", &ping_args },
        { "Fd", "hs", &fd_args },
        { "Done", "u", &done_args },
};

static const busrpc_interface_desc iface = {
        .name = IFACE,
        .xml = "  <interface name=\"" IFACE "\"/>\n",
        .methods = methods,
        .n_methods = sizeof(methods) / sizeof(methods[0]),
        .signals = signals,
        .n_signals = sizeof(signals) / sizeof(signals[0]),
};

/* Both emitters (fast path and libdbus) run from the start: forked
 * before this process makes its loop, so no epoll set is shared. */
typedef struct Emitter {
        const char *mode; /* BUSRPC_FAST_PATH */
        char name[64];
        char peer_address[128];
        pid_t pid;
} Emitter;

static char dir[64];
static char address[128];
static pid_t daemon_pid = -1;
static Emitter emitters[2] = { { .mode = "1", .pid = -1 }, { .mode = "0", .pid = -1 } };
static const char *name_ = NAME;        /* the current emitter's bus name */
static const char *peer_address = NULL; /* and its peer server */

static int run_server(int ready_fd, const char *fast) {
        Server srv = { 0 };
        int r;

        setenv("BUSRPC_FAST_PATH", fast, 1);
        r = busrpc_conn_open(address, &srv.conn);
        if (r < 0)
                return 10;
        r = busrpc_conn_request_name(srv.conn, name_, BUSRPC_NAME_DO_NOT_QUEUE, NULL, NULL, NULL);
        if (r != 0)
                return 11;
        r = busrpc_object_export(busrpc_conn_get_objects(srv.conn), OBJ_PATH, &iface, "ops", &srv, &srv.obj);
        if (r < 0)
                return 12;
        r = busrpc_server_new(peer_address, &srv.peers);
        if (r >= 0)
                r = busrpc_object_export(busrpc_server_get_objects(srv.peers), OBJ_PATH, &iface, "ops", &srv,
                                         &srv.peer_obj);
        if (r < 0)
                return 13;
        if (write(ready_fd, "R", 1) != 1)
                return 14;
        close(ready_fd);
        r = busrpc_conn_run(srv.conn);
        busrpc_object_release(srv.obj);
        busrpc_object_release(srv.peer_obj);
        busrpc_server_free(srv.peers);
        busrpc_conn_unref(srv.conn);
        dbus_shutdown();
        return r < 0 ? 15 : 0;
}

/* ------------------------------------------------------------------ */
/* Processes                                                            */

static pid_t main_pid;
static pid_t helpers[8];
static unsigned n_helpers;

static void stop_pid(pid_t *pid) {
        if (*pid <= 0)
                return;
        kill(*pid, SIGTERM);
        waitpid(*pid, NULL, 0);
        *pid = -1;
}

/* A bail-out still stops what this process started, by its pid. */
static void cleanup(void) {
        char cmd[128];

        if (getpid() != main_pid)
                return;
        for (unsigned i = 0; i < n_helpers; i++)
                if (helpers[i] > 0)
                        kill(helpers[i], SIGTERM);
        for (int i = 0; i < 2; i++)
                if (emitters[i].pid > 0)
                        kill(emitters[i].pid, SIGTERM);
        if (daemon_pid > 0)
                kill(daemon_pid, SIGTERM);
        if (dir[0]) {
                snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
                if (system(cmd) != 0)
                        fprintf(stderr, "could not remove %s\n", dir);
        }
}

/* The private daemon: tests/bus-fixture.h's, kept in this file's globals. */
static BusFixture daemon_fixture;

static void start_daemon(void) {
        fixture_start_daemon(&daemon_fixture, "fastsignal", NULL);
        snprintf(dir, sizeof(dir), "%s", daemon_fixture.dir);
        snprintf(address, sizeof(address), "%s", daemon_fixture.address);
        daemon_pid = daemon_fixture.daemon_pid;
}

static void start_server(Emitter *e) {
        int p[2];
        char c;

        if (pipe(p) < 0)
                tap_bail("pipe");
        name_ = e->name;
        peer_address = e->peer_address;
        fflush(stdout);
        e->pid = fork();
        if (e->pid < 0)
                tap_bail("fork");
        if (e->pid == 0) {
                close(p[0]);
                exit(run_server(p[1], e->mode));
        }
        close(p[1]);
        if (read(p[0], &c, 1) != 1) {
                int status = 0;

                waitpid(e->pid, &status, 0);
                e->pid = -1;
                tap_bail("the emitter did not start (exit status %d)",
                         WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        }
        close(p[0]);
}

static void stop_server(Emitter *e) {
        int status = -1;

        if (e->pid <= 0)
                return;
        kill(e->pid, SIGTERM);
        waitpid(e->pid, &status, 0);
        e->pid = -1;
        ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the emitter stopped cleanly (status %d)",
           WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* Start @argv (from $PATH) with stdout and stderr into the file @out;
 * its pid is kept to stop it. */
static pid_t spawn(const char *const *argv, const char *out) {
        pid_t pid;

        unlink(out); /* what the previous mode's helper wrote is not this one's */
        fflush(stdout);
        pid = fork();
        if (pid < 0)
                tap_bail("fork");
        if (pid == 0) {
                int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

                if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
                        _exit(126);
                execvp(argv[0], (char *const *)argv);
                _exit(127);
        }
        if (n_helpers < sizeof(helpers) / sizeof(helpers[0]))
                helpers[n_helpers++] = pid;
        return pid;
}

static char *slurp(const char *path) {
        static char buf[256 * 1024];
        ssize_t n = 0, got;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        buf[0] = '\0';
        if (fd < 0)
                return buf;
        while (n < (ssize_t)sizeof(buf) - 1 && (got = read(fd, buf + n, sizeof(buf) - 1 - (size_t)n)) > 0)
                n += got;
        close(fd);
        buf[n] = '\0';
        return buf;
}

static unsigned count_str(const char *hay, const char *needle) {
        unsigned n = 0;

        for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
                n++;
        return n;
}

/* ------------------------------------------------------------------ */
/* Receivers                                                            */

/* A python3-dbus receiver: connects (Hello), adds its match rules
 * (argv[2], ';'-separated; AddMatch is answered before it says "ready"),
 * and, optionally, becomes a monitor; prints one line per Ping and Done
 * it gets (member, sender, args) and exits after Done. */
static const char py_receiver[] =
        "import sys, dbus, dbus.mainloop.glib\n"
        "from gi.repository import GLib\n"
        "dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)\n"
        "c = dbus.bus.BusConnection(sys.argv[1])\n"
        "for rule in filter(None, sys.argv[2].split(';')):\n"
        "    c.add_match_string(rule)\n"
        "if len(sys.argv) > 3 and sys.argv[3] == 'monitor':\n"
        "    c.call_blocking('org.freedesktop.DBus', '/org/freedesktop/DBus',\n"
        "                    'org.freedesktop.DBus.Monitoring', 'BecomeMonitor', 'asu', ([], 0))\n"
        "loop = GLib.MainLoop()\n"
        "def f(conn, m):\n"
        "    if m.get_type() == 4 and m.get_interface() == '" IFACE "':\n"
        "        a = m.get_args_list()\n"
        "        if m.get_member() == 'Ping':\n"
        "            print('Ping %s %s %d %s' % (m.get_sender(), a[0], a[1], ','.join(str(int(x)) for x in a[2])))\n"
        "        elif m.get_member() == 'Done':\n"
        "            print('Done %s %d' % (m.get_sender(), a[0]))\n"
        "            if a[0] == int(sys.argv[4]):\n"
        "                loop.quit()\n"
        "        sys.stdout.flush()\n"
        "c.add_message_filter(f)\n"
        "print('ready')\n"
        "sys.stdout.flush()\n"
        "GLib.timeout_add_seconds(60, loop.quit)\n"
        "loop.run()\n";

/* @done: the Done that ends it (sync Pings come with Done(1)). */
static pid_t start_python(const char *addr, const char *rules, const char *mode, const char *done,
                          const char *out) {
        const char *argv[] = { "/usr/bin/python3", "-c", py_receiver, addr, rules, mode, done, NULL };
        pid_t pid = spawn(argv, out);

        for (int i = 0; i < DEADLINE_SEC * 100 && !strstr(slurp(out), "ready"); i++) {
                if (waitpid(pid, NULL, WNOHANG) == pid)
                        break;
                usleep(10000);
        }
        if (!strstr(slurp(out), "ready"))
                tap_bail("python3-dbus receiver did not start (python3-dbus and python3-gi needed): %s",
                         slurp(out));
        return pid;
}

/* Wait for @pid to exit by itself (it quits after Done). */
static bool wait_exit(pid_t pid) {
        for (int i = 0; i < DEADLINE_SEC * 100; i++) {
                if (waitpid(pid, NULL, WNOHANG) == pid) {
                        for (unsigned k = 0; k < n_helpers; k++)
                                if (helpers[k] == pid)
                                        helpers[k] = -1;
                        return true;
                }
                usleep(10000);
        }
        return false;
}

/* The Pings one receiver (a python line set) got for @what: all of
 * 0..n-1 in order with their values, each from @sender. */
static bool py_pings_ok(const char *out, const char *sender, const char *what, unsigned n) {
        char line[160];
        const char *p = out;

        for (unsigned i = 0; i < n; i++) {
                snprintf(line, sizeof(line), "Ping %s %s %u %u,%u,%u\n", sender, what, i, i, i + 1, i + 2);
                p = strstr(p, line);
                if (!p) {
                        tap_diag("  missing: %s", line);
                        return false;
                }
                p += strlen(line);
        }
        return true;
}

typedef struct Sub {
        const char *what;  /* the Pings counted */
        unsigned n_pings;  /* in order, right values */
        unsigned n_bad;    /* out of order or wrong values */
        unsigned done_n; /* the Done counted (sync Pings come with Done(1)) */
        unsigned n_done;
        unsigned n_other;  /* Pings of another what (sync pings) */
        unsigned n_fd;
        char fd_text[64];
} Sub;

static void on_ping(void *args, void (*cb)(void), void *userdata) {
        const PingArgs *p = args;
        Sub *s = userdata;

        (void)cb;
        if (!s->what || strcmp(p->what, s->what) != 0) {
                s->n_other++;
                return;
        }
        if (p->seq == s->n_pings && p->nums.n == 3 && p->nums.items[0] == (int32_t)p->seq &&
            p->nums.items[1] == (int32_t)p->seq + 1 && p->nums.items[2] == (int32_t)p->seq + 2)
                s->n_pings++;
        else
                s->n_bad++;
}

static void on_done(void *args, void (*cb)(void), void *userdata) {
        Sub *s = userdata;

        (void)cb;
        if (((DoneArgs *)args)->n == s->done_n)
                s->n_done++;
}

static void on_fd(void *args, void (*cb)(void), void *userdata) {
        const FdArgs *f = args;
        Sub *s = userdata;
        ssize_t n;

        (void)cb;
        s->n_fd++;
        n = pread(f->fd, s->fd_text, sizeof(s->fd_text) - 1, 0);
        s->fd_text[n > 0 ? n : 0] = '\0';
}

typedef struct Side {
        const char *name; /* "bus", "peer" */
        busrpc_conn *conn;
        busrpc_proxy *proxy, *emitter;
        busrpc_subscription *subs[3];
        Sub sub;
} Side;

static const busrpc_remote_method r_emit = { IFACE, "Emit", &emit_in, &emit_out, 0 };
static const busrpc_remote_method r_emit_fd = { IFACE, "EmitFd", &emit_in, &emit_out, 0 };

static void side_open(Side *s, const char *name, bool bus) {
        int r;

        s->name = name;
        r = bus ? busrpc_conn_open(address, &s->conn) : busrpc_conn_open_peer(peer_address, &s->conn);
        if (r >= 0)
                r = busrpc_proxy_new(s->conn, bus ? name_ : NULL, OBJ_PATH, &s->proxy);
        if (r >= 0)
                r = busrpc_proxy_on_signal(s->proxy, IFACE, "Ping", &ping_args, on_ping, NULL, &s->sub,
                                           &s->subs[0]);
        if (r >= 0)
                r = busrpc_proxy_on_signal(s->proxy, IFACE, "Done", &done_args, on_done, NULL, &s->sub,
                                           &s->subs[1]);
        if (r >= 0)
                r = busrpc_proxy_on_signal(s->proxy, IFACE, "Fd", &fd_args, on_fd, NULL, &s->sub,
                                           &s->subs[2]);
        if (r < 0)
                tap_bail("%s: receiver connection: %s", name, strerror(-r));
}

static void side_close(Side *s) {
        for (int i = 0; i < 3; i++)
                busrpc_subscription_release(s->subs[i]);
        busrpc_proxy_unref(s->proxy);
        busrpc_conn_unref(s->conn);
}

static EmitOut emit(Side *caller, const busrpc_remote_method *m, const char *where, const char *what,
                    uint32_t n) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        EmitOut o = { 0 };
        int r;

        r = busrpc_proxy_invoke(caller->proxy, m, &(EmitIn){ (char *)where, (char *)what, n }, &o, &err);
        if (r < 0) {
                tap_diag("%s: %s: %s", where, m->member, err.message ? err.message : strerror(-r));
                o.r = r;
        }
        busrpc_error_clear(&err);
        return o;
}

static busrpc_loop *loop;

/* Run the loop until @s saw @n_done Done signals (or the deadline). */
static void wait_done(Sub *s, unsigned n_done) {
        for (int i = 0; i < DEADLINE_SEC * 20 && s->n_done < n_done; i++)
                busrpc_loop_iterate(loop, 50 * BUSRPC_USEC_PER_MSEC);
}

/* Emit sync Pings from @where until @sub and the gdbus monitor writing
 * @gdbus_out have seen one: then every receiver's match rule is in
 * place (a subscription's AddMatch and gdbus's are asynchronous). */
static void sync_receivers(Side *caller, const char *where, Sub *sub, const char *gdbus_out) {
        bool seen = false;

        for (int i = 0; i < DEADLINE_SEC * 10 && !seen; i++) {
                EmitOut o = emit(caller, &r_emit, where, "sync", 1);

                if (o.r < 0)
                        break;
                for (int k = 0; k < 4; k++)
                        busrpc_loop_iterate(loop, 25 * BUSRPC_USEC_PER_MSEC);
                seen = sub->n_other > 0 && strstr(slurp(gdbus_out), "'sync'");
        }
        if (!seen)
                tap_bail("%s: the receivers never saw a signal (gdbus: %s)", where, slurp(gdbus_out));
}

/* ------------------------------------------------------------------ */
/* Cases                                                                */

static bool fast;

static void check_cost(const char *where, EmitOut o, unsigned n_emits) {
        ok(o.r == 0, "%s: every emit returned 0 (%d)", where, o.r);
        if (fast)
                ok(o.msgs == 0, "%s: %u emits on the fast path made no DBusMessage (%llu)", where, n_emits,
                   (unsigned long long)o.msgs);
        else
                ok(o.msgs >= n_emits, "%s: on libdbus the counter sees the emits' DBusMessages (%llu)",
                   where, (unsigned long long)o.msgs);
}

/* Signals on the bus: a busrpc subscriber, python3-dbus, gdbus monitor. */
static void test_bus(Side *bus) {
        char py_out[128], gd_out[128], line[160], *gd;
        const char *gd_argv[] = { "stdbuf", "-oL", "gdbus", "monitor", "--address", address, "--dest", name_,
                                  NULL };
        pid_t py, gdb;
        EmitOut o;

        tap_diag("signals on the bus");
        snprintf(py_out, sizeof(py_out), "%s/py-bus", dir);
        snprintf(gd_out, sizeof(gd_out), "%s/gdbus-bus", dir);
        py = start_python(address, "type='signal',interface='" IFACE "',arg0='hello';type='signal',member='Done'",
                          "", "50", py_out);
        gdb = spawn(gd_argv, gd_out);
        bus->sub.what = "hello";
        bus->sub.done_n = N_PINGS;
        sync_receivers(bus, "bus", &bus->sub, gd_out);

        o = emit(bus, &r_emit, "bus", "hello", N_PINGS);
        check_cost("bus", o, N_PINGS + 1);
        wait_done(&bus->sub, 1);
        is_int(bus->sub.n_pings, N_PINGS, "bus: the busrpc subscriber got every Ping, in order, right values");
        is_int(bus->sub.n_bad, 0, "bus: no Ping out of order or wrong");
        is_int(bus->sub.n_done, 1, "bus: and Done");

        ok(wait_exit(py), "bus: python3-dbus got Done");
        {
                char *out = slurp(py_out), sender[96] = "";
                const char *p = strstr(out, "Ping :");

                if (p)
                        sscanf(p, "Ping %95s", sender);
                ok(sender[0] == ':' && py_pings_ok(out, sender, "hello", N_PINGS),
                   "bus: python3-dbus got the %u Pings in order from %s", N_PINGS, sender);
                ok(strstr(out, "Done :") != NULL, "bus: python3-dbus got Done");
                is_int(count_str(out, " sync "), 0, "bus: python3-dbus's arg0 rule kept the sync Pings out");
        }
        /* gdbus prints what it gets as it gets it (line buffered) */
        snprintf(line, sizeof(line), "Ping ('hello', uint32 %u, [%u, %u, %u])", N_PINGS - 1, N_PINGS - 1,
                 N_PINGS, N_PINGS + 1);
        for (int i = 0; i < DEADLINE_SEC * 100 && !strstr(slurp(gd_out), "Done (uint32"); i++)
                usleep(10000);
        gd = slurp(gd_out);
        is_int(count_str(gd, "Ping ('hello'"), N_PINGS, "bus: gdbus monitor saw the 50 Pings");
        ok(strstr(gd, line) != NULL, "bus: the last with its values (%s)", line);
        ok(strstr(gd, IFACE ".Done (uint32 50,)") != NULL, "bus: gdbus saw Done");
        stop_pid(&gdb);
}

/* Signals of a peer server: a plain busrpc peer, two python3-dbus peers
 * that said Hello (one rule takes the Pings by arg0, one excludes them),
 * gdbus monitor (Hello, AddMatch sender=':1.0'). */
static void test_peer(Side *peer) {
        char in_out[128], ex_out[128], gd_out[128], *gd;
        const char *gd_argv[] = { "stdbuf", "-oL", "gdbus", "monitor", "--address", peer_address, "--dest",
                                  ":1.0", NULL };
        pid_t in, ex, gdb;
        EmitOut o;

        tap_diag("signals of a peer server");
        snprintf(in_out, sizeof(in_out), "%s/py-in", dir);
        snprintf(ex_out, sizeof(ex_out), "%s/py-ex", dir);
        snprintf(gd_out, sizeof(gd_out), "%s/gdbus-peer", dir);
        in = start_python(peer_address,
                          "type='signal',interface='" IFACE "',member='Ping',arg0='hello';"
                          "type='signal',sender=':1.0',member='Done'",
                          "", "50", in_out);
        ex = start_python(peer_address,
                          "type='signal',interface='" IFACE "',member='Ping',arg0='other';"
                          "type='signal',path='" OBJ_PATH "',member='Done'",
                          "", "50", ex_out);
        gdb = spawn(gd_argv, gd_out);
        peer->sub.what = "hello";
        peer->sub.done_n = N_PINGS;
        sync_receivers(peer, "peer", &peer->sub, gd_out);

        o = emit(peer, &r_emit, "peer", "hello", N_PINGS);
        check_cost("peer", o, N_PINGS + 1);
        wait_done(&peer->sub, 1);
        is_int(peer->sub.n_pings, N_PINGS, "peer: the busrpc peer (no Hello: every signal) got every Ping in order");
        is_int(peer->sub.n_bad, 0, "peer: no Ping out of order or wrong");
        is_int(peer->sub.n_done, 1, "peer: and Done");

        ok(wait_exit(in), "peer: the python3-dbus peer with arg0='hello' got Done");
        ok(py_pings_ok(slurp(in_out), ":1.0", "hello", N_PINGS),
           "peer: it got the %u Pings in order, sender :1.0", N_PINGS);
        ok(strstr(slurp(in_out), "Done :1.0 50") != NULL, "peer: and Done from :1.0");
        is_int(count_str(slurp(in_out), " sync "), 0, "peer: its arg0 rule kept the sync Pings out");
        if (!ok(wait_exit(ex), "peer: the python3-dbus peer with arg0='other' got Done"))
                tap_diag("  it printed: %s", slurp(ex_out));
        is_int(count_str(slurp(ex_out), "Ping "), 0, "peer: its rule excluded every Ping");
        ok(strstr(slurp(ex_out), "Done :1.0 50") != NULL, "peer: and let Done through (path rule)");

        for (int i = 0; i < DEADLINE_SEC * 100 && !strstr(slurp(gd_out), "Done (uint32"); i++)
                usleep(10000);
        gd = slurp(gd_out);
        is_int(count_str(gd, "Ping ('hello'"), N_PINGS, "peer: gdbus monitor saw the 50 Pings");
        ok(strstr(gd, "Ping ('hello', uint32 0, [0, 1, 2])") != NULL, "peer: the first with its values");
        ok(strstr(gd, IFACE ".Done (uint32 50,)") != NULL, "peer: gdbus saw Done");
        stop_pid(&gdb);
}

/* An fd in a signal: the same file in each receiver, no DBusMessage on the fast path. */
static void test_fd(Side *bus, Side *peer) {
        Side *sides[2] = { bus, peer };

        tap_diag("an fd in a signal");
        for (int i = 0; i < 2; i++) {
                Side *s = sides[i];
                unsigned before = s->sub.n_fd;
                EmitOut o = emit(s, &r_emit_fd, s->name, s->name, 0);

                check_cost(s->name, o, 1);
                for (int k = 0; k < DEADLINE_SEC * 20 && s->sub.n_fd == before; k++)
                        busrpc_loop_iterate(loop, 50 * BUSRPC_USEC_PER_MSEC);
                ok(s->sub.n_fd == before + 1, "%s: the Fd signal arrived", s->name);
                ok(strcmp(s->sub.fd_text, s->name) == 0, "%s: its fd reads what the emitter wrote (%s)", s->name,
                   s->sub.fd_text);
        }
}

/* A peer that called BecomeMonitor: the server's signals take the
 * DBusMessage path while it is there (counted), it sees them, the
 * other peers still get theirs. */
static void test_monitor(Side *peer) {
        char mon_out[128];
        pid_t mon;
        EmitOut o;

        tap_diag("a monitor on the peer server");
        snprintf(mon_out, sizeof(mon_out), "%s/py-mon", dir);
        mon = start_python(peer_address, "", "monitor", "5", mon_out);
        peer->sub.what = "mon";
        peer->sub.done_n = 5;
        peer->sub.n_pings = peer->sub.n_done = 0;
        /* BecomeMonitor was answered before "ready": the server knows */
        o = emit(peer, &r_emit, "peer", "mon", 5);
        is_int(o.r, 0, "monitor: the emits returned 0");
        ok(o.msgs >= 6, "monitor: with a monitor attached the signals take the DBusMessage path (%llu)",
           (unsigned long long)o.msgs);
        wait_done(&peer->sub, 1);
        is_int(peer->sub.n_pings, 5, "monitor: the busrpc peer still got the 5 Pings in order");
        if (!ok(wait_exit(mon), "monitor: the monitor got Done"))
                tap_diag("  it printed: %s", slurp(mon_out));
        ok(py_pings_ok(slurp(mon_out), ":1.0", "mon", 5), "monitor: and the 5 Pings, from :1.0");
}

static void run_mode(Emitter *e) {
        Side bus = { 0 }, peer = { 0 };

        fast = strcmp(e->mode, "1") == 0;
        name_ = e->name;
        peer_address = e->peer_address;
        tap_diag("the emitter with BUSRPC_FAST_PATH=%s", e->mode);
        setenv("BUSRPC_FAST_PATH", e->mode, 1);
        side_open(&bus, "bus", true);
        side_open(&peer, "peer", false);
        test_bus(&bus);
        test_peer(&peer);
        test_fd(&bus, &peer);
        test_monitor(&peer);
        side_close(&bus);
        side_close(&peer);
        stop_server(e);
}

int main(void) {
        main_pid = getpid();
        atexit(cleanup);
        signal(SIGPIPE, SIG_IGN);
        start_daemon();
        for (int i = 0; i < 2; i++) {
                snprintf(emitters[i].name, sizeof(emitters[i].name), NAME ".M%s", emitters[i].mode);
                snprintf(emitters[i].peer_address, sizeof(emitters[i].peer_address), "unix:path=%s/p%s/sock",
                         dir, emitters[i].mode);
                start_server(&emitters[i]);
        }
        if (busrpc_loop_default(&loop) < 0)
                tap_bail("loop");
        run_mode(&emitters[0]);
        run_mode(&emitters[1]);
        stop_pid(&daemon_pid);
        busrpc_loop_unref(loop);
        dbus_shutdown();
        return tap_done();
}
