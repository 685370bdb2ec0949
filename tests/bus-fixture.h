/* bus-fixture.h: the setup test-marshal, test-roundtrip and test-held-fds share: a
 * private dbus-daemon (its own config: EXTERNAL auth, everything allowed,
 * eavesdropping too) in a fresh mkdtemp directory and stopped by PID, the
 * test's server in a forked process that says when it is ready, the
 * process's open fds counted, the loop run until a flag is set. Never the
 * machine's session bus.
 */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <busrpc/busrpc.h>
#include "tap.h"

typedef struct BusFixture {
        char dir[64];      /* the mkdtemp directory: bus.conf, bus, and what the test adds */
        char address[128]; /* the bus: unix:path=DIR/bus */
        pid_t daemon_pid, server_pid;
} BusFixture;

/* Start the daemon (DBUS_DAEMON, default dbus-daemon) in a new directory
 * named after @name; @extra_config (may be NULL) goes inside <busconfig>.
 * Returns once it listens: it prints its address (--print-address) after
 * listen(), where the socket file exists from bind() on, a moment before
 * a connect can succeed. Bails out when the address does not come. */
static inline void fixture_start_daemon(BusFixture *f, const char *name, const char *extra_config) {
        const char *bin = getenv("DBUS_DAEMON");
        char conf[96], sock[96], arg[160], parg[40], line[256];
        struct pollfd pfd;
        size_t got = 0;
        int p[2];
        FILE *cf;

        if (!bin || !*bin)
                bin = "dbus-daemon";
        f->daemon_pid = f->server_pid = -1;
        snprintf(f->dir, sizeof(f->dir), "/tmp/busrpc-%s-XXXXXX", name);
        if (!mkdtemp(f->dir))
                tap_bail("mkdtemp: %s", strerror(errno));
        snprintf(conf, sizeof(conf), "%s/bus.conf", f->dir);
        snprintf(sock, sizeof(sock), "%s/bus", f->dir);
        snprintf(f->address, sizeof(f->address), "unix:path=%s", sock);
        cf = fopen(conf, "w");
        if (!cf)
                tap_bail("cannot write %s", conf);
        fprintf(cf, "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
                    " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
                    "<busconfig>\n  <type>session</type>\n  <listen>%s</listen>\n  <auth>EXTERNAL</auth>\n"
                    "  <policy context=\"default\">\n    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
                    "    <allow eavesdrop=\"true\"/>\n    <allow own=\"*\"/>\n  </policy>\n%s</busconfig>\n",
                f->address, extra_config ? extra_config : "");
        fclose(cf);
        snprintf(arg, sizeof(arg), "--config-file=%s", conf);
        if (pipe(p) < 0)
                tap_bail("pipe: %s", strerror(errno));
        snprintf(parg, sizeof(parg), "--print-address=%d", p[1]);
        fflush(stdout);
        f->daemon_pid = fork();
        if (f->daemon_pid < 0)
                tap_bail("fork: %s", strerror(errno));
        if (f->daemon_pid == 0) {
                close(p[0]);
                execlp(bin, bin, arg, parg, "--nofork", "--nopidfile", (char *)NULL);
                _exit(127);
        }
        close(p[1]);
        /* One line, within 10 s (a loaded machine, valgrind beside). */
        pfd = (struct pollfd){ .fd = p[0], .events = POLLIN };
        while (got < sizeof(line) - 1 && !memchr(line, '\n', got) && poll(&pfd, 1, 10000) > 0) {
                ssize_t n = read(p[0], line + got, sizeof(line) - 1 - got);
                if (n <= 0)
                        break;
                got += (size_t)n;
        }
        close(p[0]);
        line[got] = '\0';
        if (!strchr(line, '\n') || !strstr(line, sock))
                tap_bail("dbus-daemon (%s) did not say it listens on %s", bin, sock);
}

/* Fork the server: @run_server(ready_fd) writes one byte to ready_fd once
 * it serves, and its return value is the child's exit status. Returns when
 * the byte came; bails out when the child exited first. */
static inline void fixture_start_server(BusFixture *f, int (*run_server)(int ready_fd)) {
        int p[2];
        char c;

        if (pipe(p) < 0)
                tap_bail("pipe");
        fflush(stdout);
        f->server_pid = fork();
        if (f->server_pid < 0)
                tap_bail("fork");
        if (f->server_pid == 0) {
                close(p[0]);
                exit(run_server(p[1]));
        }
        close(p[1]);
        if (read(p[0], &c, 1) != 1) {
                int status = 0;
                waitpid(f->server_pid, &status, 0);
                tap_bail("the server process did not start (exit status %d)",
                         WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        }
        close(p[0]);
}

/* Remove @path and, one level down, what it holds. */
static inline void fixture_remove_tree(const char *path, int depth) {
        DIR *d = opendir(path);
        struct dirent *e;
        char sub[256];

        if (d) {
                while ((e = readdir(d))) {
                        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                                continue;
                        if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name) >= sizeof(sub))
                                continue;
                        if (unlink(sub) < 0 && depth > 0)
                                fixture_remove_tree(sub, depth - 1);
                }
                closedir(d);
        }
        rmdir(path);
}

/* SIGTERM to the server, then to the daemon, both waited for; the
 * directory removed. Return: the server's exit status, -1 when it did not
 * exit by itself. */
static inline int fixture_stop(BusFixture *f) {
        int status = 0, code = -1;

        if (f->server_pid > 0) {
                kill(f->server_pid, SIGTERM);
                if (waitpid(f->server_pid, &status, 0) == f->server_pid && WIFEXITED(status))
                        code = WEXITSTATUS(status);
        }
        if (f->daemon_pid > 0) {
                kill(f->daemon_pid, SIGTERM);
                waitpid(f->daemon_pid, NULL, 0);
        }
        f->server_pid = f->daemon_pid = -1;
        fixture_remove_tree(f->dir, 2);
        return code;
}

/* Open fds of this process, to see that nothing leaks. */
static inline int fixture_count_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *e;
        int n = 0;

        if (!d)
                return -1;
        while ((e = readdir(d)))
                n += e->d_name[0] != '.';
        closedir(d);
        return n - 1; /* the DIR's own */
}

/* Run @c's loop until *@flag, or ten seconds passed. */
static inline void fixture_wait_for(busrpc_conn *c, const bool *flag) {
        busrpc_loop *l = busrpc_conn_get_loop(c);

        for (int i = 0; i < 200 && !*flag; i++)
                busrpc_loop_iterate(l, 50 * BUSRPC_USEC_PER_MSEC);
}
