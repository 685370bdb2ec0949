/* typing-util.h: what test-watch.c and test-om-client.c share: a service
 * in a child process (on a private dbus-daemon or a busrpc_server's peer
 * socket, both in a fresh mktemp -d directory), a loop that waits for a
 * condition, and a shell command run to completion.
 */
#pragma once

#include "busrpc/busrpc.h"
#include "data-bus.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static inline long typing_now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Iterate @l until cond(arg) holds; the bound only keeps a broken run from
 * hanging (the condition, not the time, is what a check asserts). */
static inline bool typing_wait(busrpc_loop *l, bool (*cond)(void *), void *arg) {
        long end = typing_now_ms() + 10000;

        while (!cond(arg)) {
                if (typing_now_ms() > end)
                        return false;
                busrpc_loop_iterate(l, 50 * BUSRPC_USEC_PER_MSEC);
        }
        return true;
}

typedef struct TypingService {
        pid_t pid;
        char dir[64];      /* peer mode: the socket's directory */
        char address[256]; /* peer mode: unix:path=dir/s.sock */
} TypingService;

/* This program, as main() got it (not /proc/self/exe: under valgrind that
 * is valgrind). */
static const char *typing_argv0;

/* Start the service: this test program again (exec'd, so no state of the
 * client crosses the fork), as
 *   PROG --serve BUS|- PEER|- READY_FD
 * which main() hands to typing_serve_main(); wait for its "r". */
static inline void typing_service_start(TypingService *s, const char *bus_address, bool peer) {
        char c, fd_arg[16];
        int p[2];

        if (!peer || !s->dir[0]) {
                memset(s, 0, sizeof(*s));
                if (peer) {
                        snprintf(s->dir, sizeof(s->dir), "/tmp/busrpc-typing-XXXXXX");
                        if (!mkdtemp(s->dir))
                                tap_bail("mkdtemp: %s", strerror(errno));
                        snprintf(s->address, sizeof(s->address), "unix:path=%s/s.sock", s->dir);
                }
        }
        if (pipe(p) < 0)
                tap_bail("pipe: %s", strerror(errno));
        fflush(stdout);
        s->pid = fork();
        if (s->pid < 0)
                tap_bail("fork: %s", strerror(errno));
        if (s->pid == 0) {
                close(p[0]);
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                snprintf(fd_arg, sizeof(fd_arg), "%d", p[1]);
                execl(typing_argv0, typing_argv0, "--serve", peer ? "-" : bus_address,
                      peer ? s->address : "-", fd_arg, (char *)NULL);
                _exit(127);
        }
        close(p[1]);
        if (read(p[0], &c, 1) != 1 || c != 'r')
                tap_bail("the test service did not start");
        close(p[0]);
}

/* In main(): run the service when started as one (never returns then). */
static inline void typing_serve_main(int argc, char **argv,
                                     void (*serve)(const char *bus, const char *peer, int ready_fd)) {
        typing_argv0 = argv[0];
        if (argc != 5 || strcmp(argv[1], "--serve") != 0)
                return;
        serve(strcmp(argv[2], "-") ? argv[2] : NULL, strcmp(argv[3], "-") ? argv[3] : NULL, atoi(argv[4]));
        _exit(0);
}

static inline void typing_service_stop(TypingService *s) {
        char cmd[128];

        if (s->pid > 0) {
                kill(s->pid, SIGTERM);
                waitpid(s->pid, NULL, 0);
                s->pid = 0;
        }
        if (s->dir[0]) {
                snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
                if (system(cmd) != 0)
                        tap_diag("could not remove %s", s->dir);
                s->dir[0] = '\0';
        }
}

/* Run @cmd (sh -c) to completion: its exit status, or -1. */
static inline int typing_sh(const char *cmd) {
        int st = system(cmd);

        if (st == -1 || !WIFEXITED(st))
                return -1;
        return WEXITSTATUS(st);
}
