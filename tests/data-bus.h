/* data-bus.h: a private dbus-daemon for one test program, in a fresh
 * mktemp -d directory, stopped by PID. Never the machine's session bus.
 */
#pragma once

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "tap.h"

typedef struct TestBus {
        char dir[64];
        char address[512];
        pid_t pid;
} TestBus;

static inline void test_bus_start(TestBus *b) {
        const char *daemon = getenv("DBUS_DAEMON");
        char addr_arg[128], fd_arg[32];
        int pfd[2];
        ssize_t n;
        size_t len = 0;

        if (!daemon || !*daemon)
                daemon = "/usr/bin/dbus-daemon";
        if (access(daemon, X_OK) != 0)
                tap_bail("dbus-daemon not found at %s", daemon);
        snprintf(b->dir, sizeof(b->dir), "/tmp/busrpc-test-XXXXXX");
        if (!mkdtemp(b->dir))
                tap_bail("mkdtemp: %s", strerror(errno));
        if (pipe(pfd) < 0)
                tap_bail("pipe: %s", strerror(errno));
        snprintf(addr_arg, sizeof(addr_arg), "--address=unix:dir=%s", b->dir);
        snprintf(fd_arg, sizeof(fd_arg), "--print-address=%d", pfd[1]);
        b->pid = fork();
        if (b->pid < 0)
                tap_bail("fork: %s", strerror(errno));
        if (b->pid == 0) {
                close(pfd[0]);
                prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive a crashed test */
                execl(daemon, daemon, "--session", "--nofork", "--nopidfile", addr_arg, fd_arg, (char *)NULL);
                _exit(127);
        }
        close(pfd[1]);
        while (len < sizeof(b->address) - 1 &&
               (n = read(pfd[0], b->address + len, sizeof(b->address) - 1 - len)) > 0) {
                len += (size_t)n;
                if (memchr(b->address, '\n', len))
                        break;
        }
        close(pfd[0]);
        b->address[len] = '\0';
        b->address[strcspn(b->address, "\n")] = '\0';
        if (!*b->address)
                tap_bail("dbus-daemon printed no address");
        setenv("DBUS_SESSION_BUS_ADDRESS", b->address, 1); /* only for our children */
}

static inline void test_bus_stop(TestBus *b) {
        char cmd[128];

        if (b->pid > 0) {
                kill(b->pid, SIGTERM);
                waitpid(b->pid, NULL, 0);
                b->pid = 0;
        }
        if (b->dir[0]) {
                snprintf(cmd, sizeof(cmd), "rm -rf '%s'", b->dir);
                if (system(cmd) != 0)
                        tap_diag("could not remove %s", b->dir);
                b->dir[0] = '\0';
        }
}
