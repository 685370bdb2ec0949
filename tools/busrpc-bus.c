/* busrpc-bus: run a private message bus (the real dbus-daemon, with a generated
 * configuration) on a Unix socket only its owner can use; print its address and
 * serve until SIGTERM, or run "-- COMMAND" on it. See docs/man/busrpc-bus.1.
 * Linux only (signalfd, PR_SET_PDEATHSIG). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE 2
/* dbus-daemon prints its address once it listens; a daemon that takes longer is
 * stuck (valgrind'ed clients are slow, the daemon itself is not). */
#define STARTUP_TIMEOUT_MS 60000
/* After SIGTERM the daemon gets this long before SIGKILL. */
#define STOP_TIMEOUT_MS 5000

/* The bus serves one user's programs: generous for messages (benchmarks move
 * large payloads), tight where only a bug or a leak would reach the limit.
 * Documented in busrpc-bus(1); --limit NAME=VALUE overrides one. */
static struct {
        const char *name;
        long value;
} limits[] = {
        {"max_message_size", 134217728},  /* 128 MiB: the D-Bus maximum */
        {"max_message_unix_fds", 1024},
        {"max_incoming_bytes", 268435456}, /* two maximal messages queued */
        {"max_incoming_unix_fds", 4096},
        {"max_outgoing_bytes", 268435456},
        {"max_outgoing_unix_fds", 4096},
        {"max_completed_connections", 4096},
        {"max_incomplete_connections", 64},
        {"max_connections_per_user", 4096},
        {"max_names_per_connection", 1024},
        {"max_match_rules_per_connection", 4096},
        {"max_replies_per_connection", 16384},
        {"max_pending_service_starts", 16}, /* activation only with --services */
        {"service_start_timeout", 25000},   /* ms */
        {"auth_timeout", 30000},            /* ms; EXTERNAL on a local socket takes < 1 ms */
        {"pending_fd_timeout", 60000},      /* ms */
};
#define N_LIMITS (sizeof(limits) / sizeof(limits[0]))

/* --services DIR: directories of D-Bus .service files the bus activates
 * from (absolute, resolved); none by default. */
static char **service_dirs;
static size_t n_service_dirs;

typedef struct Bus {
        char *path;        /* absolute socket path */
        char *lock_path;   /* PATH.lock, flock()ed while we run */
        char *address;     /* unix:path=PATH, escaped */
        char *tmpdir;      /* private directory holding the configuration */
        char *config_path;
        int lock_fd;
        int sig_fd;
        pid_t daemon_pid; /* 0 once reaped */
        int daemon_status;
        bool socket_up;
} Bus;

static __attribute__((format(printf, 1, 2))) void msg(const char *fmt, ...) {
        va_list ap;

        fputs("busrpc-bus: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

static void usage(FILE *f) {
        fputs("Usage: busrpc-bus --socket PATH [OPTION...] [-- COMMAND [ARG...]]\n"
              "Run a private D-Bus message bus (dbus-daemon) on the Unix socket PATH, usable\n"
              "only by the current user. Without COMMAND, print the bus address and serve until\n"
              "SIGTERM or SIGINT; with COMMAND, run it with DBUS_SESSION_BUS_ADDRESS set to the\n"
              "bus, stop the bus when it ends and exit with its status.\n"
              "\n"
              "  -s, --socket=PATH       socket path; a missing directory is created with mode 0700\n"
              "  -l, --limit=NAME=VALUE  override one dbus-daemon limit (see busrpc-bus(1))\n"
              "  -p, --print-pid         print the dbus-daemon PID on a second line\n"
              "      --services=DIR      activate services from the .service files in DIR\n"
              "                          (repeatable; default: no activation)\n"
              "      --config-only       print the generated dbus-daemon configuration and exit\n"
              "  -h, --help              show this help and exit\n"
              "      --version           show the version and exit\n"
              "\n"
              "Environment: BUSRPC_DBUS_DAEMON overrides the daemon (default " DBUS_DAEMON_PATH ").\n",
              f);
}

static __attribute__((noreturn)) void oom(void) {
        msg("out of memory");
        exit(1);
}

static __attribute__((format(printf, 1, 2))) char *xasprintf(const char *fmt, ...) {
        va_list ap;
        char *r;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&r, fmt, ap);
        va_end(ap);
        if (n < 0)
                oom();
        return r;
}

/* D-Bus address escaping: bytes outside [-0-9A-Za-z_/.\*] become %XX. The
 * result needs no XML escaping either. */
static char *address_for(const char *path) {
        static const char hex[] = "0123456789abcdef";
        const char *prefix = "unix:path=";
        size_t n = strlen(prefix);
        char *r = malloc(n + 3 * strlen(path) + 1);
        char *o;

        if (!r)
                oom();
        memcpy(r, prefix, n);
        o = r + n;
        for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
                if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                    strchr("-_/.\\*", *p)) {
                        *o++ = (char)*p;
                } else {
                        *o++ = '%';
                        *o++ = hex[*p >> 4];
                        *o++ = hex[*p & 0xf];
                }
        }
        *o = '\0';
        return r;
}

static int set_limit(const char *arg) {
        const char *eq = strchr(arg, '=');
        char *end;
        long v;

        if (!eq || eq == arg || !eq[1]) {
                msg("--limit: expected NAME=VALUE, got '%s'", arg);
                return -EINVAL;
        }
        errno = 0;
        v = strtol(eq + 1, &end, 10);
        /* dbus-daemon keeps limits in 32-bit signed integers. */
        if (errno || *end || v < 0 || v > INT_MAX) {
                msg("--limit: '%s' is not a number between 0 and %d", eq + 1, INT_MAX);
                return -EINVAL;
        }
        for (size_t i = 0; i < N_LIMITS; i++) {
                if (strlen(limits[i].name) == (size_t)(eq - arg) && !strncmp(limits[i].name, arg, eq - arg)) {
                        limits[i].value = v;
                        return 0;
                }
        }
        msg("--limit: unknown limit '%.*s' (see busrpc-bus(1))", (int)(eq - arg), arg);
        return -EINVAL;
}

/* Text for an XML element's content: &, < and > escaped. */
static void put_xml_text(FILE *f, const char *s) {
        for (; *s; s++) {
                switch (*s) {
                case '&': fputs("&amp;", f); break;
                case '<': fputs("&lt;", f); break;
                case '>': fputs("&gt;", f); break;
                default: fputc(*s, f); break;
                }
        }
}

/* --services DIR, as an absolute path to a directory; 0 or -errno. */
static int add_service_dir(const char *arg) {
        struct stat st;
        char *real = realpath(arg, NULL);

        if (!real || stat(real, &st) != 0) {
                msg("--services: %s: %s", arg, strerror(errno));
                free(real);
                return -ENOENT;
        }
        if (!S_ISDIR(st.st_mode)) {
                msg("--services: %s: not a directory", arg);
                free(real);
                return -ENOTDIR;
        }
        char **v = realloc(service_dirs, (n_service_dirs + 1) * sizeof(*v));
        if (!v)
                oom();
        service_dirs = v;
        service_dirs[n_service_dirs++] = real;
        return 0;
}

/* The configuration: EXTERNAL authentication only, one listening socket,
 * activation only from the --services directories (services start as our
 * uid, with the bus's address in their environment), and a policy that
 * admits the owner's uid and nobody else (connections of other users are
 * refused, and the default context denies every message, so a rule the
 * owner's context lacks fails closed). */
static int write_config(FILE *f, const char *address) {
        unsigned long uid = (unsigned long)getuid();

        fprintf(f,
                "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
                " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
                "<!-- Generated by busrpc-bus %s: a private bus for uid %lu. -->\n"
                "<busconfig>\n"
                "  <type>session</type>\n"
                "  <listen>%s</listen>\n"
                "  <auth>EXTERNAL</auth>\n"
                "  <policy context=\"default\">\n"
                "    <deny user=\"*\"/>\n"
                "    <allow user=\"%lu\"/>\n"
                "    <deny send_destination=\"*\"/>\n"
                "    <deny receive_sender=\"*\"/>\n"
                "    <deny own=\"*\"/>\n"
                "  </policy>\n"
                "  <policy user=\"%lu\">\n"
                "    <allow send_destination=\"*\"/>\n"
                "    <allow receive_sender=\"*\"/>\n"
                "    <allow own=\"*\"/>\n"
                "  </policy>\n",
                PACKAGE_VERSION, uid, address, uid, uid);
        for (size_t i = 0; i < n_service_dirs; i++) {
                fputs("  <servicedir>", f);
                put_xml_text(f, service_dirs[i]);
                fputs("</servicedir>\n", f);
        }
        for (size_t i = 0; i < N_LIMITS; i++)
                fprintf(f, "  <limit name=\"%s\">%ld</limit>\n", limits[i].name, limits[i].value);
        fputs("</busconfig>\n", f);
        return fflush(f) || ferror(f) ? -EIO : 0;
}

/* Create the missing directories of DIR with mode 0700; warn when DIR already
 * exists and lets other users in (the socket is 0600 and the policy admits
 * only us, but a directory others can write lets them replace the socket).
 * Ancestors of a directory we create are not checked: ours is the gate. */
static int prepare_dir(char *dir, bool warn) {
        struct stat st;

        if (stat(dir, &st) == 0) {
                if (!S_ISDIR(st.st_mode)) {
                        msg("%s: not a directory", dir);
                        return -ENOTDIR;
                }
                if (!warn)
                        return 0;
                if (st.st_uid != getuid())
                        msg("warning: %s belongs to uid %lu, not to us (uid %lu)", dir,
                            (unsigned long)st.st_uid, (unsigned long)getuid());
                else if (st.st_mode & 077)
                        msg("warning: %s is accessible to other users (mode %04o); the socket is made "
                            "0600 and the bus admits only uid %lu",
                            dir, (unsigned)(st.st_mode & 07777), (unsigned long)getuid());
                return 0;
        }
        if (errno != ENOENT) {
                msg("%s: %s", dir, strerror(errno));
                return -errno;
        }
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = '\0';
                int r = prepare_dir(dir, false);
                *slash = '/';
                if (r < 0)
                        return r;
        }
        if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
                msg("cannot create %s: %s", dir, strerror(errno));
                return -errno;
        }
        /* mkdir obeys the umask; make the mode exact. */
        if (chmod(dir, 0700) < 0) {
                msg("cannot chmod %s: %s", dir, strerror(errno));
                return -errno;
        }
        return 0;
}

/* Turn the --socket argument into an absolute path, creating its directory
 * unless only the configuration is wanted. */
static int resolve_path(Bus *b, const char *arg, bool create) {
        const char *slash = strrchr(arg, '/');
        char *dir = slash == arg ? xasprintf("/")
                    : slash      ? xasprintf("%.*s", (int)(slash - arg), arg)
                                 : xasprintf(".");
        char *real = NULL;
        int r = 0;

        if (create) {
                r = prepare_dir(dir, true);
                if (r == 0 && !(real = realpath(dir, NULL))) {
                        r = -errno;
                        msg("%s: %s", dir, strerror(errno));
                }
        } else {
                char *cwd = dir[0] == '/' ? NULL : getcwd(NULL, 0);
                real = !cwd                ? xasprintf("%s", dir)
                       : strcmp(dir, ".") ? xasprintf("%s/%s", cwd, dir)
                                          : xasprintf("%s", cwd);
                free(cwd);
        }
        if (r == 0) {
                b->path = xasprintf("%s%s%s", real, strcmp(real, "/") ? "/" : "", slash ? slash + 1 : arg);
                if (strlen(b->path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
                        msg("%s: socket path too long (the limit is %zu bytes)", b->path,
                            sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
                        r = -ENAMETOOLONG;
                } else {
                        b->address = address_for(b->path);
                }
        }
        free(real);
        free(dir);
        return r;
}

/* One busrpc-bus per path: a lock file beside the socket closes the window
 * between our check of the path and the daemon binding it (libdbus replaces a
 * socket it finds there). The inode check makes unlink-on-exit safe. */
static int take_lock(Bus *b) {
        b->lock_path = xasprintf("%s.lock", b->path);
        for (;;) {
                struct stat st_fd, st_path;
                int fd = open(b->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

                if (fd < 0) {
                        msg("%s: %s", b->lock_path, strerror(errno));
                        return -errno;
                }
                if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                        int e = errno;
                        close(fd);
                        if (e == EWOULDBLOCK)
                                msg("%s: another busrpc-bus is already running a bus there", b->path);
                        else
                                msg("%s: %s", b->lock_path, strerror(e));
                        return -e;
                }
                if (fstat(fd, &st_fd) == 0 && stat(b->lock_path, &st_path) == 0 &&
                    st_fd.st_dev == st_path.st_dev && st_fd.st_ino == st_path.st_ino) {
                        b->lock_fd = fd;
                        return 0;
                }
                close(fd); /* the previous owner unlinked it meanwhile: retry */
        }
}

/* Refuse a live socket at PATH, remove a stale one. */
static int check_socket(const Bus *b) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        struct stat st;
        int fd, r;

        if (lstat(b->path, &st) < 0) {
                if (errno == ENOENT)
                        return 0;
                msg("%s: %s", b->path, strerror(errno));
                return -errno;
        }
        if (!S_ISSOCK(st.st_mode)) {
                msg("%s: exists and is not a socket; refusing to replace it", b->path);
                return -EEXIST;
        }
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                msg("socket: %s", strerror(errno));
                return -errno;
        }
        strcpy(sa.sun_path, b->path);
        r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
        if (r == 0 || errno == EAGAIN) {
                close(fd);
                msg("%s: a bus (or another server) is already listening there", b->path);
                return -EADDRINUSE;
        }
        r = errno;
        close(fd);
        if (r != ECONNREFUSED) {
                msg("%s: %s", b->path, strerror(r));
                return -r;
        }
        if (unlink(b->path) < 0 && errno != ENOENT) {
                msg("cannot remove stale socket %s: %s", b->path, strerror(errno));
                return -errno;
        }
        return 0;
}

static int make_config(Bus *b) {
        const char *tmp = getenv("TMPDIR");
        FILE *f;
        int fd, r;

        b->tmpdir = xasprintf("%s/busrpc-bus.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(b->tmpdir)) {
                msg("cannot create a temporary directory %s: %s", b->tmpdir, strerror(errno));
                free(b->tmpdir);
                b->tmpdir = NULL;
                return -errno;
        }
        b->config_path = xasprintf("%s/bus.conf", b->tmpdir);
        fd = open(b->config_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        f = fd < 0 ? NULL : fdopen(fd, "w");
        if (!f) {
                msg("%s: %s", b->config_path, strerror(errno));
                if (fd >= 0)
                        close(fd);
                return -errno;
        }
        r = write_config(f, b->address);
        if (fclose(f) != 0 || r < 0) {
                msg("%s: write error", b->config_path);
                return -EIO;
        }
        return 0;
}

/* In a child before exec: the signals we block and ignore are ours, not its. */
static void child_reset_signals(void) {
        sigset_t none;

        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
}

static void close_fds_from(int first) {
#ifdef SYS_close_range
        if (syscall(SYS_close_range, (unsigned)first, ~0U, 0) == 0)
                return;
#endif
        struct rlimit rl;
        long max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? (long)rl.rlim_cur : 65536;
        for (long fd = first; fd < max && fd < 65536; fd++)
                close((int)fd);
}

static void exec_daemon(const Bus *b, int addr_fd, pid_t parent) {
        const char *daemon = getenv("BUSRPC_DBUS_DAEMON");
        char config_arg[PATH_MAX + 32];
        int null_fd;

        child_reset_signals();
        /* The daemon must not outlive us, even if we are SIGKILLed. */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
                _exit(127);
        /* Its own process group: a ^C meant for COMMAND must not kill the bus under it. */
        setpgid(0, 0);
        if (!daemon || !*daemon)
                daemon = DBUS_DAEMON_PATH;
        /* stdin from /dev/null, stdout to our stderr: our stdout carries only
         * the address (or belongs to COMMAND). */
        null_fd = open("/dev/null", O_RDONLY);
        if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(2, 1) < 0)
                _exit(127);
        /* dup2() onto itself would keep O_CLOEXEC. */
        if (addr_fd == 3 ? fcntl(3, F_SETFD, 0) < 0 : dup2(addr_fd, 3) < 0)
                _exit(127);
        close_fds_from(4);
        snprintf(config_arg, sizeof(config_arg), "--config-file=%s", b->config_path);
        execl(daemon, daemon, config_arg, "--nofork", "--nopidfile", "--nosyslog", "--print-address=3",
              (char *)NULL);
        msg("cannot run %s: %s", daemon, strerror(errno));
        _exit(127);
}

/* How the reaped daemon ended (without WUNTRACED: an exit or a signal). */
static void report_daemon(const Bus *b, const char *when) {
        int st = b->daemon_status;

        if (WIFEXITED(st))
                msg("dbus-daemon exited with status %d %s", WEXITSTATUS(st), when);
        else
                msg("dbus-daemon was killed by signal %d (%s) %s", WTERMSIG(st), strsignal(WTERMSIG(st)), when);
}

/* Reap the daemon if it has exited; true when it is gone. */
static bool daemon_reaped(Bus *b) {
        if (b->daemon_pid > 0 && waitpid(b->daemon_pid, &b->daemon_status, WNOHANG) == b->daemon_pid)
                b->daemon_pid = 0;
        return b->daemon_pid == 0;
}

static long now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Drain the signalfd; returns the last stop signal seen (0 if none). */
static int read_signals(const Bus *b, bool *user_sent) {
        struct signalfd_siginfo si;
        int stop = 0;

        while (read(b->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                if (si.ssi_signo != SIGCHLD) {
                        stop = (int)si.ssi_signo;
                        if (user_sent)
                                *user_sent = si.ssi_code != SI_KERNEL;
                }
        }
        return stop;
}

static void stop_daemon(Bus *b) {
        long deadline;

        if (b->daemon_pid <= 0)
                return;
        kill(b->daemon_pid, SIGTERM);
        deadline = now_ms() + STOP_TIMEOUT_MS;
        while (!daemon_reaped(b)) {
                long left = deadline - now_ms();
                struct pollfd pfd = {.fd = b->sig_fd, .events = POLLIN};

                if (left <= 0) {
                        msg("dbus-daemon (pid %ld) ignored SIGTERM; killing it", (long)b->daemon_pid);
                        kill(b->daemon_pid, SIGKILL);
                        while (waitpid(b->daemon_pid, &b->daemon_status, 0) < 0 && errno == EINTR)
                                ;
                        b->daemon_pid = 0;
                        break;
                }
                if (poll(&pfd, 1, (int)left) > 0)
                        read_signals(b, NULL);
        }
}

/* Start the daemon and wait until it prints its address (it listens by then).
 * Returns 0, -EINTR when a stop signal came first, another -errno on failure. */
static int start_daemon(Bus *b) {
        char buf[1024];
        size_t len = 0;
        long deadline;
        pid_t self = getpid();
        int pipefd[2];
        int r = -EIO;

        if (pipe2(pipefd, O_CLOEXEC) < 0) {
                msg("pipe: %s", strerror(errno));
                return -errno;
        }
        b->daemon_pid = fork();
        if (b->daemon_pid < 0) {
                msg("fork: %s", strerror(errno));
                b->daemon_pid = 0;
                close(pipefd[0]);
                close(pipefd[1]);
                return -errno;
        }
        if (b->daemon_pid == 0)
                exec_daemon(b, pipefd[1], self);
        close(pipefd[1]);

        deadline = now_ms() + STARTUP_TIMEOUT_MS;
        for (;;) {
                struct pollfd pfd[2] = {{.fd = pipefd[0], .events = POLLIN}, {.fd = b->sig_fd, .events = POLLIN}};
                long left = deadline - now_ms();
                ssize_t n;

                if (left <= 0) {
                        msg("dbus-daemon did not become ready within %d s", STARTUP_TIMEOUT_MS / 1000);
                        r = -ETIMEDOUT;
                        break;
                }
                if (poll(pfd, 2, (int)left) < 0) {
                        if (errno == EINTR)
                                continue;
                        msg("poll: %s", strerror(errno));
                        break;
                }
                if (pfd[1].revents && read_signals(b, NULL)) {
                        msg("interrupted while starting the bus");
                        r = -EINTR;
                        break;
                }
                if (!pfd[0].revents)
                        continue;
                n = read(pipefd[0], buf + len, sizeof(buf) - 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n > 0) {
                        len += (size_t)n;
                        if (memchr(buf, '\n', len)) {
                                r = 0;
                                break;
                        }
                        if (len < sizeof(buf) - 1)
                                continue;
                }
                /* EOF (or garbage) before the address: the daemon failed. */
                stop_daemon(b);
                report_daemon(b, "before the bus was ready");
                break;
        }
        close(pipefd[0]);
        if (r < 0) {
                stop_daemon(b);
                return r;
        }
        b->socket_up = true;
        /* The daemon has read its configuration: remove it now, so that even a
         * SIGKILL leaves none behind (a reload then fails, keeping the old one). */
        unlink(b->config_path);
        rmdir(b->tmpdir);
        /* libdbus makes the socket 0777; the directory is the first gate, this the second. */
        if (chmod(b->path, 0600) < 0) {
                msg("cannot chmod %s: %s", b->path, strerror(errno));
                stop_daemon(b);
                return -errno;
        }
        return 0;
}

static void bus_cleanup(Bus *b) {
        struct stat st;

        stop_daemon(b);
        if (b->socket_up && lstat(b->path, &st) == 0 && S_ISSOCK(st.st_mode))
                unlink(b->path);
        if (b->config_path)
                unlink(b->config_path);
        if (b->tmpdir)
                rmdir(b->tmpdir);
        if (b->lock_fd >= 0) {
                unlink(b->lock_path); /* while still holding the lock: see take_lock() */
                close(b->lock_fd);
        }
        if (b->sig_fd >= 0)
                close(b->sig_fd);
        free(b->path);
        free(b->lock_path);
        free(b->address);
        free(b->tmpdir);
        free(b->config_path);
}

/* Without COMMAND: serve until a stop signal (exit 0) or the daemon dies (1). */
static int serve(Bus *b) {
        for (;;) {
                struct pollfd pfd = {.fd = b->sig_fd, .events = POLLIN};

                if (poll(&pfd, 1, -1) < 0 && errno != EINTR) {
                        msg("poll: %s", strerror(errno));
                        return 1;
                }
                if (read_signals(b, NULL))
                        return 0;
                if (daemon_reaped(b)) {
                        report_daemon(b, "unexpectedly; the bus is gone");
                        return 1;
                }
        }
}

/* With COMMAND: its exit status, 128+N if killed by signal N, 126/127 if it
 * could not be run. Stop signals sent with kill(2) are passed on to it; those
 * from the terminal reached its process group already. */
static int run_command(Bus *b, char **argv) {
        pid_t pid = fork();
        bool daemon_died = false;
        int st;

        if (pid < 0) {
                msg("fork: %s", strerror(errno));
                return 1;
        }
        if (pid == 0) {
                child_reset_signals();
                if (setenv("DBUS_SESSION_BUS_ADDRESS", b->address, 1) < 0)
                        _exit(127);
                unsetenv("DBUS_STARTER_ADDRESS");
                unsetenv("DBUS_STARTER_BUS_TYPE");
                execvp(argv[0], argv);
                int e = errno;
                msg("%s: %s", argv[0], strerror(e));
                _exit(e == ENOENT ? 127 : 126);
        }
        for (;;) {
                struct pollfd pfd = {.fd = b->sig_fd, .events = POLLIN};
                bool user_sent = false;
                int sig;

                if (poll(&pfd, 1, -1) < 0 && errno != EINTR) {
                        msg("poll: %s", strerror(errno));
                        /* Keep going: COMMAND must be waited for. */
                }
                sig = read_signals(b, &user_sent);
                if (sig && user_sent)
                        kill(pid, sig);
                if (!daemon_died && daemon_reaped(b)) {
                        daemon_died = true;
                        report_daemon(b, "unexpectedly; the bus is gone");
                }
                if (waitpid(pid, &st, WNOHANG) == pid)
                        break;
        }
        if (WIFSIGNALED(st))
                return 128 + WTERMSIG(st);
        st = WEXITSTATUS(st);
        return daemon_died && st == 0 ? 1 : st;
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                {"socket", required_argument, NULL, 's'},
                {"limit", required_argument, NULL, 'l'},
                {"print-pid", no_argument, NULL, 'p'},
                {"config-only", no_argument, NULL, 'C'},
                {"services", required_argument, NULL, 'S'},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, 'V'},
                {NULL, 0, NULL, 0},
        };
        Bus b = {.lock_fd = -1, .sig_fd = -1};
        const char *socket_arg = NULL, *last_optarg = NULL;
        bool print_pid = false, config_only = false;
        char **cmd = NULL;
        sigset_t mask;
        int c, status = 1;

        /* Our stdout and stderr mean something: a closed one must not be reused for a pipe. */
        for (int fd = 0; fd <= 2; fd++)
                if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
                        return 1;
        while ((c = getopt_long(argc, argv, "+s:l:ph", opts, NULL)) != -1) {
                last_optarg = optarg;
                switch (c) {
                case 's':
                        socket_arg = optarg;
                        break;
                case 'l':
                        if (set_limit(optarg) < 0)
                                return EXIT_USAGE;
                        break;
                case 'p':
                        print_pid = true;
                        break;
                case 'C':
                        config_only = true;
                        break;
                case 'S':
                        if (add_service_dir(optarg) < 0)
                                return EXIT_USAGE;
                        break;
                case 'h':
                        usage(stdout);
                        return fflush(stdout) ? 1 : 0;
                case 'V':
                        printf("busrpc-bus %s\n", PACKAGE_VERSION);
                        return fflush(stdout) ? 1 : 0;
                default:
                        fputs("Try 'busrpc-bus --help'.\n", stderr);
                        return EXIT_USAGE;
                }
        }
        /* getopt skipped a "--" that was not an option's argument: COMMAND follows. */
        bool dashdash = optind > 1 && !strcmp(argv[optind - 1], "--") && argv[optind - 1] != last_optarg;
        if (optind < argc) {
                if (!dashdash) {
                        msg("unexpected argument '%s' (put COMMAND after --)", argv[optind]);
                        return EXIT_USAGE;
                }
                cmd = argv + optind;
        } else if (dashdash) {
                msg("no COMMAND after --");
                return EXIT_USAGE;
        }
        if (!socket_arg || !*socket_arg) {
                msg("--socket PATH is required");
                fputs("Try 'busrpc-bus --help'.\n", stderr);
                return EXIT_USAGE;
        }
        const char *base = strrchr(socket_arg, '/') ? strrchr(socket_arg, '/') + 1 : socket_arg;
        if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) {
                msg("--socket: '%s' does not name a socket file", socket_arg);
                return EXIT_USAGE;
        }
        if (cmd && (config_only || print_pid)) {
                msg("%s cannot be used with a COMMAND", config_only ? "--config-only" : "--print-pid");
                return EXIT_USAGE;
        }
        if (config_only) {
                status = resolve_path(&b, socket_arg, false) < 0 ? EXIT_USAGE
                         : write_config(stdout, b.address) < 0  ? 1
                                                                : 0;
                free(b.path);
                free(b.address);
                return status;
        }

        /* Block the signals we wait for before any child exists, so none is lost.
         * An inherited SIG_IGN would discard SIGTERM, or auto-reap our children. */
        signal(SIGTERM, SIG_DFL);
        signal(SIGCHLD, SIG_DFL);
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGCHLD);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);
        b.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (b.sig_fd < 0) {
                msg("signalfd: %s", strerror(errno));
                goto out;
        }

        if (resolve_path(&b, socket_arg, true) < 0 || take_lock(&b) < 0 || check_socket(&b) < 0 ||
            make_config(&b) < 0 || start_daemon(&b) < 0)
                goto out;

        if (cmd) {
                status = run_command(&b, cmd);
                goto out;
        }
        printf("%s\n", b.address);
        if (print_pid)
                printf("%ld\n", (long)b.daemon_pid);
        if (fflush(stdout) != 0) {
                msg("cannot write the address to standard output: %s", strerror(errno));
                goto out;
        }
        status = serve(&b);
out:
        bus_cleanup(&b);
        for (size_t i = 0; i < n_service_dirs; i++)
                free(service_dirs[i]);
        free(service_dirs);
        return status;
}
