/* test-loop.c: the built-in loop (timers, io, signals, SIGPIPE) and its
 * integration API, which drives a real service (a busrpc_server answering
 * busctl) from a plain poll() loop. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dbus/dbus.h>
#include "busrpc/busrpc.h"
#include "tap.h"

static uint64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int fired;

/* busrpc_loop_get_timeout()'s microseconds; 12345 when it fails. */
static uint64_t loop_timeout(busrpc_loop *l) {
        uint64_t usec = 12345;

        if (busrpc_loop_get_timeout(l, &usec) < 0)
                return 12345;
        return usec;
}

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int on_timer(busrpc_source *s, void *userdata) {
        fired++;
        if (userdata && fired >= 5)
                busrpc_loop_quit(userdata, 7);
        return 0;
}

static void test_args(void) {
        busrpc_loop *l;
        busrpc_source *s;

        is_int(busrpc_loop_new(NULL), -EINVAL, "loop_new(NULL)");
        is_int(busrpc_loop_run(NULL), -EINVAL, "loop_run(NULL)");
        is_int(busrpc_loop_get_fd(NULL), -EINVAL, "loop_get_fd(NULL)");
        ok(busrpc_loop_unref(NULL) == NULL, "loop_unref(NULL)");
        ok(busrpc_source_release(NULL) == NULL, "source_free(NULL)");
        busrpc_loop_new(&l);
        is_int(busrpc_loop_add_timer(l, 0, true, on_timer, NULL, &s), -EINVAL, "a repeating timer of 0 us");
        is_int(busrpc_loop_add_io(l, -1, EPOLLIN, NULL, NULL, &s), -EINVAL, "io with fd -1");
        is_int(busrpc_loop_get_events(l), EPOLLIN, "loop_get_events() is EPOLL* (EPOLLIN)");
        is_int(busrpc_loop_get_events(NULL), -EINVAL, "loop_get_events(NULL)");
        busrpc_loop_unref(l);
}

static void test_timer(void) {
        busrpc_loop *l;
        busrpc_source *s;
        uint64_t t0;

        busrpc_loop_new(&l);
        fired = 0;
        t0 = now_ms();
        is_int(busrpc_loop_add_timer(l, 50000, false, on_timer, NULL, &s), 0, "add a 50 ms timer");
        while (!fired && now_ms() - t0 < 2000)
                busrpc_loop_iterate(l, BUSRPC_TIMEOUT_INFINITE);
        is_int(fired, 1, "the timer fired once");
        ok(now_ms() - t0 >= 50 && now_ms() - t0 < 150, "after 50 ms (%d ms)", (int)(now_ms() - t0));
        busrpc_loop_iterate(l, 60 * BUSRPC_USEC_PER_MSEC);
        is_int(fired, 1, "a one-shot timer does not fire again");
        busrpc_source_release(s);

        fired = 0;
        busrpc_loop_add_timer(l, 10000, true, on_timer, l, &s);
        t0 = now_ms();
        is_int(busrpc_loop_run(l), 7, "run() returns the code given to quit()");
        is_int(fired, 5, "a repeating timer fired 5 times");
        ok(now_ms() - t0 >= 50, "10 ms apart");
        busrpc_source_release(s);
        busrpc_loop_unref(l);
}

static int got_io;

static int on_io(busrpc_source *s, int fd, uint32_t revents, void *userdata) {
        char c;
        if (read(fd, &c, 1) == 1)
                got_io = c;
        busrpc_source_release(s); /* freeing itself from its callback is fine */
        return 0;
}

static void test_io(void) {
        busrpc_loop *l;
        busrpc_source *s;
        int p[2];

        busrpc_loop_new(&l);
        ok(pipe(p) == 0, "pipe");
        is_int(busrpc_loop_add_io(l, p[0], EPOLLRDNORM, on_io, NULL, &s), -EINVAL,
               "a flag that is not EPOLLIN/EPOLLOUT/EPOLLPRI");
        is_int(busrpc_loop_add_io(l, p[0], EPOLLIN, on_io, NULL, &s), 0, "watch the pipe");
        ok(write(p[1], "x", 1) == 1, "write");
        busrpc_loop_iterate(l, 1000 * BUSRPC_USEC_PER_MSEC);
        is_int(got_io, 'x', "the io callback read the byte");
        close(p[0]);
        close(p[1]);
        busrpc_loop_unref(l);
}

static int count_io(busrpc_source *s, int fd, uint32_t revents, void *userdata) {
        char c;

        if (read(fd, &c, 1) == 1)
                (*(int *)userdata)++;
        return 0;
}

/* The static inline cleanup helpers of busrpc.h, as
 * __attribute__((cleanup)) uses them. */
static void test_cleanup(void) {
        busrpc_loop *keep;
        int p[2], n = 0;

        busrpc_loop_new(&keep);
        ok(pipe(p) == 0, "pipe");
        {
                busrpc_loop *l __attribute__((cleanup(busrpc_loop_unrefp))) = busrpc_loop_ref(keep);
                busrpc_source *s __attribute__((cleanup(busrpc_source_releasep))) = NULL;

                is_int(busrpc_loop_add_io(l, p[0], EPOLLIN, count_io, &n, &s), 0, "an io source in a scope");
                ok(write(p[1], "x", 1) == 1, "write");
                busrpc_loop_iterate(l, 1000 * BUSRPC_USEC_PER_MSEC);
                is_int(n, 1, "the scoped source ran");
        }
        ok(write(p[1], "y", 1) == 1, "write after the scope");
        busrpc_loop_iterate(keep, 0); /* the pipe is readable now: a watched fd would run */
        is_int(n, 1, "busrpc_source_releasep() released the source when the scope ended");
        {
                /* NULL pointers: every helper does nothing. */
                busrpc_loop *l = NULL;
                busrpc_source *s = NULL;
                busrpc_name *nm = NULL;
                busrpc_server *sv = NULL;
                busrpc_object *o = NULL;
                busrpc_pending *pd = NULL;
                busrpc_subscription *sub = NULL;
                busrpc_property_cache *pc = NULL;
                busrpc_om_client *om = NULL;

                busrpc_loop_unrefp(&l);
                busrpc_source_releasep(&s);
                busrpc_name_releasep(&nm);
                busrpc_server_freep(&sv);
                busrpc_object_releasep(&o);
                busrpc_pending_unrefp(&pd);
                busrpc_subscription_releasep(&sub);
                busrpc_property_cache_releasep(&pc);
                busrpc_om_client_releasep(&om);
                ok(!l && !s && !nm && !sv && !o && !pd && !sub && !pc && !om, "the helpers accept a NULL pointer");
        }
        close(p[0]);
        close(p[1]);
        busrpc_loop_unref(keep);
}

/* A forked child must not use the parent's default loop: its epoll
 * instance is the parent's too, so the child would take the parent's
 * events and run the parent's callbacks on them. The child's default loop
 * is its own; the parent's event stays the parent's. */
static int fork_report_fd = -1;

static int fork_io_cb(busrpc_source *src, int fd, uint32_t revents, void *userdata) {
        char c;

        if (read(fd, &c, 1) == 1 && write(fork_report_fd, userdata, 1) != 1)
                return -1;
        return 0;
}

static void test_fork_default(void) {
        busrpc_loop *l = NULL, *cl = NULL;
        busrpc_source *src = NULL;
        int data[2], report[2], status = -1;
        char got[8] = "";
        ssize_t n;
        pid_t pid;

        ok(pipe(data) == 0 && pipe(report) == 0, "fork: pipes");
        fcntl(report[0], F_SETFL, O_NONBLOCK);
        fork_report_fd = report[1];
        is_int(busrpc_loop_default(&l), 0, "fork: the parent's default loop");
        is_int(busrpc_loop_add_io(l, data[0], EPOLLIN, fork_io_cb, "P", &src), 0, "fork: a source on a pipe");
        ok(write(data[1], "x", 1) == 1, "fork: the pipe is readable");
        fflush(stdout);
        pid = fork();
        if (pid == 0) {
                /* Before the fix the parent's source fired here ("C"). */
                src = NULL;
                if (busrpc_loop_default(&cl) < 0)
                        _exit(2);
                for (int i = 0; i < 3; i++)
                        (void)busrpc_loop_iterate(cl, 0);
                _exit(cl == l ? 3 : 0);
        }
        ok(pid > 0 && waitpid(pid, &status, 0) == pid, "fork: the child ran");
        ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "fork: the child's default loop is a new one (status %d)",
           status);
        /* userdata "P" in the parent, the same bytes in the child's copy:
         * a callback run by the child reports what the parent would; the
         * child consumed the byte then, and the parent below sees none. */
        n = read(report[0], got, sizeof(got) - 1);
        ok(n < 0, "fork: no callback ran before the parent's loop did (read %zd)", n);
        got[0] = '\0';
        for (int i = 0; i < 20 && read(report[0], got, 1) != 1; i++)
                (void)busrpc_loop_iterate(l, 100 * BUSRPC_USEC_PER_MSEC);
        ok(got[0] == 'P', "fork: the parent's loop still gets its event (got '%c')", got[0] ? got[0] : '-');
        busrpc_source_release(src);
        busrpc_loop_unref(l);
        close(data[0]);
        close(data[1]);
        close(report[0]);
        close(report[1]);
        fork_report_fd = -1;
}

/* The parent's loop used in the child through a variable (not
 * busrpc_loop_default()): everything that would wait on it or change its
 * epoll instance is -ECHILD there, and the child releasing the parent's
 * source removes nothing from the parent's epoll (it is one instance). */
static int fork_timer_cb(busrpc_source *s, void *userdata) {
        *(int *)userdata += 1;
        return 0;
}

static void test_fork_variable(void) {
        busrpc_loop *l = NULL;
        busrpc_source *src = NULL;
        int data[2], report[2], status = -1;
        char got[8] = "";
        pid_t pid;

        ok(pipe(data) == 0 && pipe(report) == 0, "fork (variable): pipes");
        fcntl(report[0], F_SETFL, O_NONBLOCK);
        fork_report_fd = report[1];
        is_int(busrpc_loop_new(&l), 0, "fork (variable): a loop of the parent's");
        is_int(busrpc_loop_add_io(l, data[0], EPOLLIN, fork_io_cb, "P", &src), 0,
               "fork (variable): a source on a pipe");
        fflush(stdout);
        pid = fork();
        if (pid == 0) {
                busrpc_source *s = NULL;
                busrpc_loop *own = NULL;
                int ticks = 0, bad = 0, p2[2];

                /* Each refused call sets one bit of the exit status. */
                if (busrpc_loop_iterate(l, 0) != -ECHILD)
                        bad |= 1;
                if (busrpc_loop_run(l) != -ECHILD)
                        bad |= 2;
                if (busrpc_loop_get_fd(l) != -ECHILD || busrpc_loop_process(l) != -ECHILD)
                        bad |= 4;
                if (busrpc_loop_add_timer(l, 0, false, fork_timer_cb, &ticks, &s) != -ECHILD || s)
                        bad |= 8;
                if (pipe(p2) < 0 || busrpc_loop_add_io(l, p2[0], EPOLLIN, fork_io_cb, "C", &s) != -ECHILD ||
                    busrpc_loop_handle_signals(l) != -ECHILD)
                        bad |= 16;
                /* Released here: the parent's registration must stay. */
                busrpc_source_release(src);
                busrpc_loop_unref(l);
                /* The child's own loop works. */
                if (busrpc_loop_new(&own) < 0 || busrpc_loop_add_timer(own, 0, false, fork_timer_cb, &ticks, NULL) < 0 ||
                    busrpc_loop_iterate(own, 0) < 0 || ticks != 1)
                        bad |= 32;
                busrpc_loop_unref(own);
                _exit(bad);
        }
        ok(pid > 0 && waitpid(pid, &status, 0) == pid, "fork (variable): the child ran");
        ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
           "fork (variable): in the child the parent's loop is -ECHILD, its own works (status %d)",
           WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        ok(write(data[1], "x", 1) == 1, "fork (variable): the pipe is readable");
        for (int i = 0; i < 20 && read(report[0], got, 1) != 1; i++)
                (void)busrpc_loop_iterate(l, 100 * BUSRPC_USEC_PER_MSEC);
        ok(got[0] == 'P', "fork (variable): the parent's source survived the child's release (got '%c')",
           got[0] ? got[0] : '-');
        busrpc_source_release(src);
        busrpc_loop_unref(l);
        close(data[0]);
        close(data[1]);
        close(report[0]);
        close(report[1]);
        fork_report_fd = -1;
}

static void test_sigpipe(void) {
        busrpc_loop *l;
        struct sigaction sa;
        int p[2];

        busrpc_loop_new(&l);
        sigaction(SIGPIPE, NULL, &sa);
        ok(sa.sa_handler == SIG_IGN, "SIGPIPE is ignored once a loop exists");
        ok(pipe(p) == 0, "pipe");
        close(p[0]);
        ok(write(p[1], "x", 1) < 0 && errno == EPIPE, "writing to a closed pipe is EPIPE, not death");
        close(p[1]);
        busrpc_loop_unref(l);
}

static int raise_term(busrpc_source *s, void *userdata) {
        kill(getpid(), SIGTERM);
        return 0;
}

static void test_signals(void) {
        busrpc_loop *l;
        busrpc_source *s;

        busrpc_loop_new(&l);
        is_int(busrpc_loop_handle_signals(l), 0, "handle_signals");
        busrpc_loop_add_timer(l, 20000, false, raise_term, NULL, &s);
        is_int(busrpc_loop_run(l), 0, "SIGTERM makes run() return 0");
        busrpc_source_release(s);
        busrpc_loop_unref(l);
}

/* ---- a service driven by poll() ---- */

static int sk_add(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        int32_t a, b, sum;
        busrpc_msg *reply;
        busrpc_iter out;
        int r;

        busrpc_iter_get_basic(args, 'i', &a);
        busrpc_iter_get_basic(args, 'i', &b);
        sum = a + b;
        r = busrpc_call_reply_new(call, &reply);
        if (r < 0)
                return r;
        busrpc_msg_append(reply, &out);
        busrpc_iter_append_basic(&out, 'i', &sum);
        return busrpc_msg_send(reply);
}

static const busrpc_method_desc methods[] = { { "Add", "ii", "i", sk_add, 0, NULL, NULL, NULL } };
static const busrpc_interface_desc iface = { .name = "org.busrpc.Loop", .methods = methods, .n_methods = 1 };

static void test_integration(void) {
        busrpc_loop *l;
        busrpc_server *srv;
        busrpc_object *o;
        char dir[] = "/tmp/busrpc-loop-XXXXXX", addr[128], out[256] = "";
        int p[2], status = -1;
        pid_t pid;
        uint64_t t0;
        ssize_t n = 0;

        ok(mkdtemp(dir) != NULL, "mkdtemp");
        snprintf(addr, sizeof(addr), "unix:path=%s/sock", dir);
        busrpc_loop_new(&l);
        is_int(busrpc_server_new(addr, &srv), 0, "server");
        is_int(busrpc_server_attach(srv, l), 0, "attach the server to our loop");
        ok(busrpc_server_get_loop(srv) == l, "busrpc_server_get_loop(): our loop");
        is_int(busrpc_object_export(busrpc_server_get_objects(srv), "/x", &iface, NULL, NULL, &o), 0, "export");
        ok(pipe(p) == 0, "pipe");
        pid = fork();
        if (pid == 0) {
                dup2(p[1], 1);
                execlp(getenv("BUSCTL") ? getenv("BUSCTL") : "busctl", "busctl", "--address", addr, "call", ":1.0",
                       "/x", "org.busrpc.Loop", "Add", "ii", "40", "2", (char *)NULL);
                _exit(127);
        }
        close(p[1]);
        t0 = now_ms();
        /* The foreign loop: poll() on the busrpc fd with its timeout. */
        while (now_ms() - t0 < 10000) {
                struct pollfd pfd = { .fd = busrpc_loop_get_fd(l), .events = (short)busrpc_loop_get_events(l) };
                uint64_t usec = 0;
                int timeout;

                if (busrpc_loop_get_timeout(l, &usec) < 0)
                        break;
                timeout = busrpc_usec_to_poll_ms(usec);
                if (timeout < 0 || timeout > 100)
                        timeout = 100;
                poll(&pfd, 1, timeout);
                busrpc_loop_process(l);
                if (waitpid(pid, &status, WNOHANG) == pid)
                        break;
        }
        n = read(p[0], out, sizeof(out) - 1);
        out[n > 0 ? n : 0] = '\0';
        close(p[0]);
        ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "busctl succeeded against a service driven by poll()");
        is_str(out, "i 42\n", "and printed the sum");
        busrpc_object_release(o);
        busrpc_server_free(srv);
        busrpc_loop_unref(l);
        rmdir(dir);
}

/* busrpc_loop_take_quit(): how a foreign loop learns of quit() without spinning. */
static int on_watchdog(busrpc_source *s, int signo, void *userdata) {
        ++*(int *)userdata;
        return 0;
}

/* One time unit: busrpc_loop_iterate() and busrpc_loop_get_timeout() talk
 * microseconds, as timers do, and busrpc_usec_to_poll_ms() gives poll()
 * its milliseconds. A wait that took the number as milliseconds would run
 * into the SIGALRM watchdog (10 s) instead of returning after its 30 ms. */
static void test_time_unit(void) {
        busrpc_loop *l;
        busrpc_source *t = NULL, *dog = NULL;
        uint64_t usec = 7, t0, took;
        int alarms = 0;

        ok(BUSRPC_USEC_PER_MSEC == 1000 && BUSRPC_USEC_PER_SEC == 1000000, "USEC_PER_MSEC, USEC_PER_SEC");
        ok(BUSRPC_TIMEOUT_INFINITE == UINT64_MAX && BUSRPC_TIMEOUT_DEFAULT == 0, "TIMEOUT_INFINITE, _DEFAULT");
        is_int(busrpc_usec_to_poll_ms(BUSRPC_TIMEOUT_INFINITE), -1, "usec_to_poll_ms(INFINITE) is -1");
        is_int(busrpc_usec_to_poll_ms(0), 0, "usec_to_poll_ms(0) is 0");
        is_int(busrpc_usec_to_poll_ms(1), 1, "1 us: 1 ms (rounded up: poll never wakes early)");
        is_int(busrpc_usec_to_poll_ms(1000), 1, "1000 us: 1 ms");
        is_int(busrpc_usec_to_poll_ms(1001), 2, "1001 us: 2 ms");
        is_int(busrpc_usec_to_poll_ms(UINT64_MAX - 1), INT_MAX, "longer than INT_MAX ms: INT_MAX");

        busrpc_loop_new(&l);
        is_int(busrpc_loop_get_timeout(NULL, &usec), -EINVAL, "get_timeout(NULL)");
        is_int(busrpc_loop_get_timeout(l, NULL), -EINVAL, "get_timeout(l, NULL)");
        ok(usec == 7, "a failed get_timeout() writes nothing");
        ok(loop_timeout(l) == BUSRPC_TIMEOUT_INFINITE, "no timer: get_timeout() is BUSRPC_TIMEOUT_INFINITE");

        is_int(busrpc_loop_add_timer(l, 60 * BUSRPC_USEC_PER_SEC, false, on_timer, NULL, &t), 0, "a 60 s timer");
        usec = loop_timeout(l);
        ok(usec <= 60 * BUSRPC_USEC_PER_SEC && usec > 30 * BUSRPC_USEC_PER_SEC,
           "get_timeout() is the timer's microseconds (got %llu)", (unsigned long long)usec);
        t = busrpc_source_release(t);
        is_int(busrpc_loop_add_timer(l, 1500, false, on_timer, NULL, &t), 0, "a 1500 us timer");
        usec = loop_timeout(l);
        ok(usec <= 1500, "get_timeout() keeps the microseconds, not whole ms (got %llu)", (unsigned long long)usec);
        fired = 0;
        while (!fired)
                busrpc_loop_iterate(l, BUSRPC_TIMEOUT_INFINITE);
        is_int(fired, 1, "iterate(INFINITE) returns once the timer fired");
        ok(loop_timeout(l) == BUSRPC_TIMEOUT_INFINITE, "fired: no timeout again");
        t = busrpc_source_release(t);

        /* The watchdog: SIGALRM through the loop's own signalfd ends a
         * wait that would be 1000 times too long. */
        is_int(busrpc_loop_add_signal(l, SIGALRM, on_watchdog, &alarms, &dog), 0, "watchdog on SIGALRM");
        alarm(10);
        t0 = now_usec();
        is_int(busrpc_loop_iterate(l, 30 * BUSRPC_USEC_PER_MSEC), 0, "iterate(30 ms in usec) on an idle loop: 0 events");
        took = now_usec() - t0;
        alarm(0);
        is_int(alarms, 0, "it returned by its timeout, not by the 10 s watchdog");
        ok(took >= 30 * BUSRPC_USEC_PER_MSEC, "and waited its 30 ms at least (%llu us)", (unsigned long long)took);
        alarm(10);
        t0 = now_usec();
        is_int(busrpc_loop_iterate(l, 1500), 0, "iterate(1500 us)");
        took = now_usec() - t0;
        alarm(0);
        is_int(alarms, 0, "returned by its timeout");
        ok(took >= 1500, "after 1500 us at least, rounded up (%llu us)", (unsigned long long)took);
        is_int(busrpc_loop_iterate(l, 0), 0, "iterate(0) does not wait");
        dog = busrpc_source_release(dog);
        busrpc_loop_unref(l);
}

static void test_take_quit(void) {
        busrpc_loop *l;
        int code = -1;

        busrpc_loop_new(&l);
        is_int(busrpc_loop_take_quit(NULL, &code), -EINVAL, "take_quit(NULL)");
        is_int(busrpc_loop_take_quit(l, &code), 0, "no quit requested: 0");
        ok(loop_timeout(l) == BUSRPC_TIMEOUT_INFINITE, "an idle loop has no timeout");
        busrpc_loop_quit(l, 5);
        ok(loop_timeout(l) == 0, "a pending quit makes get_timeout() 0");
        is_int(busrpc_loop_take_quit(l, &code), 1, "quit(5) is taken once");
        is_int(code, 5, "with its code");
        is_int(busrpc_loop_take_quit(l, NULL), 0, "and then it is gone");
        ok(loop_timeout(l) == BUSRPC_TIMEOUT_INFINITE, "so get_timeout() no longer says 0");
        busrpc_loop_unref(l);
}

/* ---- registrations without a handle, callbacks' return values, the heap ---- */

static int count_cb(busrpc_source *s, void *userdata) {
        ++*(int *)userdata;
        return 0;
}

static int stop_after_3(busrpc_source *s, void *userdata) {
        return ++*(int *)userdata >= 3 ? -1 : 0;
}

static int rearm_until_3(busrpc_source *s, void *userdata) {
        return ++*(int *)userdata >= 3 ? 0 : 1000;
}

static int io_stop(busrpc_source *s, int fd, uint32_t revents, void *userdata) {
        ++*(int *)userdata;
        return -1;
}

/* Iterate until @sentinel (a repeating 1 ms timer's count) reached @n:
 * that many rounds of timers have run, without a clock in the test. */
static void rounds(busrpc_loop *l, int *sentinel, int n) {
        for (int guard = 0; *sentinel < n && guard < 100000; guard++)
                busrpc_loop_iterate(l, BUSRPC_TIMEOUT_INFINITE);
}

static void test_floating(void) {
        busrpc_loop *l;
        busrpc_source *sent;
        int once = 0, stopped = 0, ticks = 0, io_n = 0, p[2];

        busrpc_loop_new(&l);
        is_int(busrpc_loop_add_timer(l, 1000, false, count_cb, &once, NULL), 0,
               "add_timer(..., NULL): a floating timer (was -EINVAL)");
        is_int(busrpc_loop_add_timer(l, 1000, true, stop_after_3, &stopped, NULL), 0,
               "a floating repeating timer");
        busrpc_loop_add_timer(l, 1000, true, count_cb, &ticks, &sent);
        rounds(l, &ticks, 8);
        is_int(ticks, 8, "the sentinel ran 8 rounds");
        is_int(once, 1, "the floating one-shot fired once");
        is_int(stopped, 3, "the floating repeating timer stopped when its callback returned < 0");
        busrpc_source_release(sent);

        ok(pipe(p) == 0, "pipe");
        is_int(busrpc_loop_add_io(l, p[0], EPOLLIN, io_stop, &io_n, NULL), 0, "add_io(..., NULL)");
        ok(write(p[1], "xy", 2) == 2, "write 2 bytes (never read: the fd stays readable)");
        for (int i = 0; i < 5; i++)
                busrpc_loop_iterate(l, 0);
        is_int(io_n, 1, "an io callback returning < 0 removed its source");
        /* Floating sources still on the loop go with it (valgrind checks). */
        is_int(busrpc_loop_add_timer(l, 3600000000u, false, count_cb, &once, NULL), 0,
               "a floating timer left on the loop");
        busrpc_loop_unref(l);
        close(p[0]);
        close(p[1]);
}

static void test_timer_return(void) {
        busrpc_loop *l;
        busrpc_source *a, *b, *sent;
        int na = 0, nb = 0, ticks = 0;

        busrpc_loop_new(&l);
        busrpc_loop_add_timer(l, 1000, false, rearm_until_3, &na, &a);
        busrpc_loop_add_timer(l, 1000, true, stop_after_3, &nb, &b);
        busrpc_loop_add_timer(l, 1000, true, count_cb, &ticks, &sent);
        rounds(l, &ticks, 10);
        is_int(na, 3, "a one-shot returning > 0 fired again, until it returned 0");
        is_int(nb, 3, "a repeating timer returning < 0 stopped");
        ok(busrpc_source_release(a) == NULL && busrpc_source_release(b) == NULL,
           "the handles stay valid until freed");
        busrpc_source_release(sent);
        busrpc_loop_unref(l);
}

#define N_HEAP 300

static unsigned heap_order[N_HEAP], heap_n;
static busrpc_source *heap_src[N_HEAP];

static int heap_fire(busrpc_source *s, void *userdata) {
        heap_order[heap_n++] = (unsigned)(uintptr_t)userdata;
        return 0;
}

static int free_other(busrpc_source *s, void *userdata) {
        busrpc_source **other = userdata;
        *other = busrpc_source_release(*other);
        return 0;
}

static int rearm_now(busrpc_source *s, void *userdata) {
        ++*(int *)userdata;
        return 1; /* due again at once */
}

static void test_timer_heap(void) {
        busrpc_loop *l;
        busrpc_source *first, *second = NULL, *self;
        unsigned freed_fired = 0;
        int n_other = 0, n_self = 0;

        busrpc_loop_new(&l);
        /* Deadlines 0..2990 us in a scrambled order; every 6th removed again
         * (the exact order of the heap is test-loop-heap's: here the time
         * spent adding them blurs the deadlines). */
        for (unsigned i = 0; i < N_HEAP; i++) {
                unsigned off = (i * 37u) % N_HEAP;
                busrpc_loop_add_timer(l, off * 10u, false, heap_fire, (void *)(uintptr_t)off, &heap_src[i]);
        }
        for (unsigned i = 0; i < N_HEAP; i += 6)
                heap_src[i] = busrpc_source_release(heap_src[i]);
        for (int guard = 0; heap_n < N_HEAP - N_HEAP / 6 && guard < 100000; guard++)
                busrpc_loop_iterate(l, BUSRPC_TIMEOUT_INFINITE);
        is_int((int)heap_n, N_HEAP - N_HEAP / 6, "250 of 300 timers fired, the 50 removed did not");
        for (unsigned i = 0; i < heap_n; i++)
                if (((heap_order[i] * 73u) % N_HEAP) % 6 == 0) /* 73 = 37^-1 mod 300: back to i */
                        freed_fired++;
        is_int((int)freed_fired, 0, "no removed timer fired");
        for (unsigned i = 0; i < N_HEAP; i++)
                busrpc_source_release(heap_src[i]);

        /* Two timers due together: the first frees the second before it runs. */
        busrpc_loop_add_timer(l, 0, false, free_other, &second, &first);
        busrpc_loop_add_timer(l, 0, false, count_cb, &n_other, &second);
        for (int guard = 0; second && guard < 100000; guard++)
                busrpc_loop_iterate(l, BUSRPC_TIMEOUT_INFINITE);
        busrpc_loop_iterate(l, 0);
        is_int(n_other, 0, "a timer freed by one due at the same time never runs");
        busrpc_source_release(first);

        /* A timer that re-arms itself for "now" runs once per iteration. */
        busrpc_loop_add_timer(l, 0, false, rearm_now, &n_self, &self);
        for (int guard = 0; n_self == 0 && guard < 100000; guard++)
                busrpc_loop_iterate(l, BUSRPC_TIMEOUT_INFINITE);
        is_int(n_self, 1, "a timer due again at once waits for the next iteration");
        busrpc_source_release(self);
        busrpc_loop_unref(l);
}

int main(void) {
        TAP_RUN(test_args);
        TAP_RUN(test_take_quit);
        TAP_RUN(test_time_unit);
        TAP_RUN(test_timer);
        TAP_RUN(test_floating);
        TAP_RUN(test_timer_return);
        TAP_RUN(test_timer_heap);
        TAP_RUN(test_io);
        TAP_RUN(test_cleanup);
        TAP_RUN(test_sigpipe);
        TAP_RUN(test_fork_default);
        TAP_RUN(test_fork_variable);
        TAP_RUN(test_integration);
        TAP_RUN(test_signals);
        dbus_shutdown();
        return tap_done();
}
