/* test-fdindex.c: a call whose 'h' value indexes no fd the message
 * carries (index >= UNIX_FDS) is answered InvalidArgs and the peer keeps
 * its connection, on both links (BUSRPC_FAST_PATH=1 and =0, set by the
 * test itself): libdbus checks the index only when the value is read, and
 * busrpc's transport leaves the check to its reader as well.
 *
 * The client is raw bytes on a unix socket (SASL by hand, messages
 * marshalled by libdbus with a 'u' then patched into an 'h', sent with
 * sendmsg()), so nothing on the client side refuses the message first.
 * Cases: no fds at all ('h' index 0), and one fd with indexes 1 (none)
 * and 0; then a valid call with an fd is still served, and the server's
 * count of open fds comes back to what it was (every fd sent is closed).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dbus/dbus.h>
#include "busrpc/busrpc.h"
#include "tap.h"
#include "tap-util.h"

#define IFACE "org.busrpc.FdIndex"
#define PATH  "/org/busrpc/FdIndex"

/* ---- the server (this program with --serve ADDRESS) ---- */

/* Reads its fds; a valid call is answered with how many it got. */
static int srv_take(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        busrpc_msg *reply = NULL;
        busrpc_iter it;
        uint32_t n = 0;
        int r, fd;

        (void)ops;
        (void)self;
        while (busrpc_iter_type(args) == 'h') {
                r = busrpc_iter_get_fd(args, &fd);
                if (r < 0)
                        return busrpc_call_fail(call, BUSRPC_ERROR_INVALID_ARGS, "fd: %s", strerror(-r));
                close(fd);
                n++;
        }
        r = busrpc_call_reply_new(call, &reply);
        if (r < 0)
                return r;
        busrpc_msg_append(reply, &it);
        busrpc_iter_append_basic(&it, 'u', &n);
        return busrpc_msg_send(reply);
}

static const busrpc_method_desc srv_methods[] = {
        { .name = "Take", .in_sig = "h", .out_sig = "u", .fn = srv_take },
        { .name = "Take2", .in_sig = "hh", .out_sig = "u", .fn = srv_take },
};
static const busrpc_interface_desc srv_iface = {
        .name = IFACE,
        .methods = srv_methods,
        .n_methods = 2,
};

static int serve(const char *address) {
        busrpc_server *s = NULL;
        busrpc_loop *l = NULL;

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (busrpc_server_new(address, &s) < 0 ||
            busrpc_object_export(busrpc_server_get_objects(s), PATH, &srv_iface, NULL, NULL, NULL) < 0)
                return 1;
        busrpc_loop_default(&l);
        busrpc_loop_run(l);
        return 0;
}

/* ---- the raw client ---- */

static int count_fds(pid_t pid) {
        char path[64];
        struct dirent *e;
        int n = 0;
        DIR *d;

        snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
        d = opendir(path);
        if (!d)
                return -1;
        while ((e = readdir(d)))
                if (e->d_name[0] != '.')
                        n++;
        closedir(d);
        return n;
}

static bool read_line(int s, char *buf, size_t size) {
        size_t n = 0;

        while (n + 1 < size) {
                char ch;
                struct pollfd p = { .fd = s, .events = POLLIN };

                if (poll(&p, 1, 10000) <= 0 || read(s, &ch, 1) != 1)
                        return false;
                buf[n++] = ch;
                if (n >= 2 && buf[n - 2] == '\r' && ch == '\n') {
                        buf[n] = '\0';
                        return true;
                }
        }
        return false;
}

static bool write_all(int s, const void *p, size_t len) {
        const char *b = p;

        while (len) {
                ssize_t k = write(s, b, len);

                if (k <= 0)
                        return false;
                b += k;
                len -= (size_t)k;
        }
        return true;
}

/* Connect and authenticate (EXTERNAL, fds negotiated); -1 if the server is not there yet. */
static int raw_connect(const char *sock) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char line[256], auth[128];
        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        unsigned uid = (unsigned)getuid();
        char dec[16];
        size_t k = 0;

        if (strlen(sock) >= sizeof(sa.sun_path))
                tap_bail("socket path too long: %s", sock);
        memcpy(sa.sun_path, sock, strlen(sock) + 1);
        if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                if (s >= 0)
                        close(s);
                return -1;
        }
        snprintf(dec, sizeof(dec), "%u", uid);
        k = (size_t)snprintf(auth, sizeof(auth), "%cAUTH EXTERNAL ", '\0');
        for (const char *p = dec; *p; p++)
                k += (size_t)snprintf(auth + k, sizeof(auth) - k, "%02x", (unsigned char)*p);
        k += (size_t)snprintf(auth + k, sizeof(auth) - k, "\r\n");
        if (!write_all(s, auth, k) || !read_line(s, line, sizeof(line)) || strncmp(line, "OK ", 3) != 0)
                tap_bail("AUTH EXTERNAL refused");
        if (!write_all(s, "NEGOTIATE_UNIX_FD\r\n", 19) || !read_line(s, line, sizeof(line)) ||
            strcmp(line, "AGREE_UNIX_FD\r\n") != 0)
                tap_bail("NEGOTIATE_UNIX_FD refused");
        if (!write_all(s, "BEGIN\r\n", 7))
                tap_bail("BEGIN");
        return s;
}

/* @m marshalled with its signature's 'u's from @from_sig turned into
 * @to_sig (same length), sent with @fd (if >= 0). */
static void send_patched(int s, DBusMessage *m, const char *from_sig, const char *to_sig, int fd) {
        char *bytes = NULL, needle[16], *hit = NULL;
        size_t sl = strlen(from_sig), nl;
        int len = 0;
        char cbuf[CMSG_SPACE(sizeof(int))];
        struct iovec iov;
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (!dbus_message_marshal(m, &bytes, &len))
                tap_bail("dbus_message_marshal");
        /* the SIGNATURE header field: code 8, variant 'g', length, text, NUL */
        nl = (size_t)snprintf(needle, sizeof(needle), "%c%cg%c%c%s", 8, 1, 0, (int)sl, from_sig) + 1;
        for (int i = 0; i + (int)nl <= len; i++)
                if (memcmp(bytes + i, needle, nl) == 0) {
                        hit = bytes + i;
                        break;
                }
        if (sl && !hit)
                tap_bail("no signature field in the marshalled message");
        if (sl)
                memcpy(hit + 5, to_sig, sl);
        iov = (struct iovec){ bytes, (size_t)len };
        if (fd >= 0) {
                struct cmsghdr *cm;

                memset(cbuf, 0, sizeof(cbuf));
                mh.msg_control = cbuf;
                mh.msg_controllen = sizeof(cbuf);
                cm = CMSG_FIRSTHDR(&mh);
                cm->cmsg_level = SOL_SOCKET;
                cm->cmsg_type = SCM_RIGHTS;
                cm->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(cm), &fd, sizeof(int));
        }
        if (sendmsg(s, &mh, MSG_NOSIGNAL) != (ssize_t)len)
                tap_bail("sendmsg");
        dbus_free(bytes);
}

/* The next message from the server, NULL if it closed the connection. */
static DBusMessage *recv_msg(int s) {
        static char buf[65536];
        static size_t have;
        long end = tap_now_ms() + 10000;

        for (;;) {
                int need = have >= 16 ? dbus_message_demarshal_bytes_needed(buf, (int)have) : 0;
                struct pollfd p = { .fd = s, .events = POLLIN };
                ssize_t k;

                if (need > 0 && (size_t)need <= have) {
                        DBusMessage *m = dbus_message_demarshal(buf, need, NULL);

                        memmove(buf, buf + need, have - (size_t)need);
                        have -= (size_t)need;
                        return m;
                }
                if (need < 0 || have == sizeof(buf) || tap_now_ms() > end || poll(&p, 1, 1000) < 0)
                        return NULL;
                if (!(p.revents & (POLLIN | POLLHUP)))
                        continue;
                k = read(s, buf + have, sizeof(buf) - have);
                if (k <= 0) {
                        have = 0;
                        return NULL;
                }
                have += (size_t)k;
        }
}

static DBusMessage *call_new(const char *member, uint32_t serial) {
        DBusMessage *m = dbus_message_new_method_call(NULL, PATH, IFACE, member);

        if (!m)
                tap_bail("dbus_message_new_method_call");
        dbus_message_set_serial(m, serial);
        return m;
}

/* The answer to @serial; NULL if the connection closed first. */
static DBusMessage *answer(int s, uint32_t serial) {
        DBusMessage *m;

        while ((m = recv_msg(s))) {
                if (dbus_message_get_reply_serial(m) == serial)
                        return m;
                dbus_message_unref(m);
        }
        return NULL;
}

static void check_error(DBusMessage *r, const char *mode, const char *what) {
        ok(r != NULL, "%s, %s: answered (the connection stays open)", mode, what);
        is_str(r ? dbus_message_get_error_name(r) : NULL, DBUS_ERROR_INVALID_ARGS,
               tap_name("%s, %s: InvalidArgs", mode, what));
}

static void test_mode(const char *dir, const char *mode) {
        char address[300], sock[200], sig[2] = "u";
        DBusMessage *m, *r;
        dbus_uint32_t idx = 0, one = 1, n = 99;
        int s = -1, fd, before, after = -1;
        pid_t pid;

        snprintf(sock, sizeof(sock), "%s/peer-%c", dir, mode[0]);
        snprintf(address, sizeof(address), "unix:path=%s", sock);
        pid = fork();
        if (pid < 0)
                tap_bail("fork");
        if (pid == 0) {
                execl("/proc/self/exe", "test-fdindex", "--serve", address, (char *)NULL);
                _exit(127);
        }
        for (long end = tap_now_ms() + 10000; s < 0 && tap_now_ms() < end; usleep(10000))
                s = raw_connect(sock);
        if (s < 0)
                tap_bail("the server did not start");

        /* a Ping first: the server serves this peer */
        m = dbus_message_new_method_call(NULL, "/", DBUS_INTERFACE_PEER, "Ping");
        dbus_message_set_serial(m, 1);
        send_patched(s, m, "", "", -1);
        dbus_message_unref(m);
        r = answer(s, 1);
        ok(r && dbus_message_get_type(r) == DBUS_MESSAGE_TYPE_METHOD_RETURN, "%s: Ping answered", mode);
        if (r)
                dbus_message_unref(r);
        before = count_fds(pid);

        /* no fds at all, 'h' index 0 */
        m = call_new("Take", 2);
        dbus_message_append_args(m, DBUS_TYPE_UINT32, &idx, DBUS_TYPE_INVALID);
        send_patched(s, m, sig, "h", -1);
        dbus_message_unref(m);
        r = answer(s, 2);
        check_error(r, mode, "'h' 0 with no fds");
        if (r)
                dbus_message_unref(r);

        /* one fd, indexes 1 (none) then 0 */
        /* libdbus writes UNIX_FDS 1 for the real fd appended after the 'u' */
        fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        m = call_new("Take2", 3);
        dbus_message_append_args(m, DBUS_TYPE_UINT32, &one, DBUS_TYPE_UNIX_FD, &fd, DBUS_TYPE_INVALID);
        send_patched(s, m, "uh", "hh", fd);
        dbus_message_unref(m);
        r = answer(s, 3);
        check_error(r, mode, "'h' 1 with one fd");
        if (r)
                dbus_message_unref(r);

        /* the connection still serves: a valid call with its fd */
        m = call_new("Take", 4);
        dbus_message_append_args(m, DBUS_TYPE_UNIX_FD, &fd, DBUS_TYPE_INVALID);
        send_patched(s, m, "h", "h", fd);
        dbus_message_unref(m);
        close(fd);
        r = answer(s, 4);
        if (r && dbus_message_get_type(r) == DBUS_MESSAGE_TYPE_METHOD_RETURN)
                (void)dbus_message_get_args(r, NULL, DBUS_TYPE_UINT32, &n, DBUS_TYPE_INVALID);
        is_int(n, 1, tap_name("%s: then a valid call with its fd is answered: the server read 1 fd", mode));
        if (r)
                dbus_message_unref(r);
        /* the server kept none of the fds sent (its count is back) */
        for (long end = tap_now_ms() + 5000; tap_now_ms() < end; usleep(10000))
                if ((after = count_fds(pid)) == before)
                        break;
        is_int(after, before, tap_name("%s: the server holds no fd it was sent", mode));
        close(s);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
}

int main(int argc, char **argv) {
        char dir[] = "/tmp/busrpc-fdindex-XXXXXX", cmd[320];

        if (argc == 3 && strcmp(argv[1], "--serve") == 0)
                return serve(argv[2]);
        signal(SIGPIPE, SIG_IGN);
        if (!mkdtemp(dir))
                tap_bail("mkdtemp");
        setenv("BUSRPC_FAST_PATH", "1", 1);
        tap_diag("BUSRPC_FAST_PATH=1");
        test_mode(dir, "fast path");
        setenv("BUSRPC_FAST_PATH", "0", 1);
        tap_diag("BUSRPC_FAST_PATH=0");
        test_mode(dir, "libdbus");
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
                tap_diag("could not remove %s", dir);
        return tap_done();
}
