/* test-names.c: the naming rules of DESIGN.md ("Generated C API").
 *
 * tests/gen/idl/reserved.idl names its parameters, fields and members like
 * the generator's own (p, o, out, err, call, cb, self, userdata, ret, reply,
 * msg, ...); tests/gen/idl/media.idl and video.idl both declare a
 * ...Player interface. Their generated code (from the in-tree busrpc-idlc)
 * links into this one program; a child process serves all three on one
 * connection of a private dbus-daemon and the parent calls them.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "data-bus.h"
#include "media.h"
#include "reserved.h"
#include "tap.h"
#include "video.h"

#define NAME "org.busrpc.test.Names"
#define PATH "/names"

static TestBus bus;
static busrpc_conn *conn;

/* ---- the server ---- */

static int32_t prop_p = 7, prop_self = 8;
static char *prop_free;
static busrpc_object *robj;

static int op_mix(void *self_, busrpc_call *call_, int32_t p, const char *o, int32_t out, const char *err,
                  int32_t call, int32_t cb, int32_t self, int32_t userdata, const reserved_rec *msg, reserved_kind c,
                  int32_t *ret, char **reply, int32_t *i, int32_t *r, reserved_rec *it, int32_t *sub,
                  reserved_int32_array *n, reserved_string_int32_map *m, int32_t *v, int32_t *a, int32_t *e) {
        (void)self_;
        (void)call_;
        *ret = p + out;
        *reply = malloc(strlen(o) + strlen(err) + 2);
        if (!*reply)
                return -ENOMEM;
        sprintf(*reply, "%s+%s", o, err);
        *i = call;
        *r = cb;
        *sub = self;
        *v = userdata;
        *a = (int32_t)c;
        *e = msg->p + msg->ret;
        it->p = msg->p * 2;
        it->o = strdup(msg->o);
        it->err = strdup(msg->err);
        it->reply = strdup(msg->reply);
        it->msg = strdup(msg->msg);
        it->userdata = msg->userdata;
        n->items = calloc(2, sizeof(*n->items));
        m->keys = calloc(1, sizeof(*m->keys));
        m->values = calloc(1, sizeof(*m->values));
        if (!it->o || !it->err || !it->reply || !it->msg || !n->items || !m->keys || !m->values)
                return -ENOMEM;
        n->items[0] = msg->n;
        n->items[1] = msg->v;
        n->n = 2;
        m->keys[0] = strdup("self");
        m->values[0] = self;
        m->n = 1;
        return m->keys[0] ? 0 : -ENOMEM;
}

static int op_swap(void *self_, busrpc_call *call_, int32_t ret, const char *reply, int32_t args, int32_t value,
                   int32_t ops, int32_t *p, char **o, int32_t *out, char **err, int32_t *call, int32_t *cb,
                   int32_t *self, int32_t *userdata, char **msg, int32_t *busrpc, int32_t *m, int32_t *it) {
        (void)self_;
        (void)call_;
        *p = ret;
        *out = args;
        *call = value;
        *cb = ops;
        *self = ret + 1;
        *userdata = ret + 2;
        *busrpc = ret + 3;
        *m = ret + 4;
        *it = ret + 5;
        *o = strdup(reply);
        *err = strdup("err");
        *msg = strdup("msg");
        return *o && *err && *msg ? 0 : -ENOMEM;
}

/* Names of what the generated .c files call: free(), malloc(), errno... */
static int op_stat(void *self, busrpc_call *call, const char *in_free, int32_t in_malloc,
                   const reserved_string_array *in_realloc, char **memset_, uint64_t *strlen_, int *close_,
                   int32_t *errno_, reserved_string_array *memcpy_) {
        (void)self;
        (void)call;
        *memset_ = strdup(in_free);
        *strlen_ = strlen(in_free);
        *close_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
        *errno_ = in_malloc;
        memcpy_->items = calloc(in_realloc->n, sizeof(char *));
        if (!*memset_ || *close_ < 0 || (in_realloc->n && !memcpy_->items))
                return -ENOMEM;
        for (size_t k = 0; k < in_realloc->n; k++)
                if (!(memcpy_->items[memcpy_->n++] = strdup(in_realloc->items[k])))
                        return -ENOMEM;
        return reserved_emit_freed(robj, in_free, in_malloc);
}

static int op_get_free(void *self, char **free_, busrpc_error *err) {
        (void)self;
        (void)err;
        *free_ = strdup(prop_free ? prop_free : "");
        return *free_ ? 0 : -ENOMEM;
}

static int op_set_free(void *self, const char *free_, busrpc_error *err) {
        char *copy = strdup(free_);
        (void)self;
        (void)err;
        if (!copy)
                return -ENOMEM;
        free(prop_free);
        prop_free = copy;
        return 0;
}

/* Out, Call, Cb, Userdata, O, Ret, Has: 100. */
static int op_get_100(void *self, int32_t *v, busrpc_error *err) {
        (void)self;
        (void)err;
        *v = 100;
        return 0;
}

static int op_get_err(void *self, char **err, busrpc_error *busrpc_err) {
        (void)self;
        (void)busrpc_err;
        *err = strdup("E");
        return *err ? 0 : -ENOMEM;
}

static int op_get_p(void *self, int32_t *p, busrpc_error *err) {
        (void)self;
        (void)err;
        *p = prop_p;
        return 0;
}

static int op_set_p(void *self, int32_t p, busrpc_error *err) {
        (void)self;
        (void)err;
        prop_p = p;
        return 0;
}

static int op_get_self(void *busrpc_self, int32_t *self, busrpc_error *err) {
        (void)busrpc_self;
        (void)err;
        *self = prop_self;
        return 0;
}

static int op_set_self(void *busrpc_self, int32_t self, busrpc_error *err) {
        (void)busrpc_self;
        (void)err;
        prop_self = self;
        return 0;
}

static const reserved_ops r_ops = {
        .mix = op_mix,
        .swap = op_swap,
        .get_p = op_get_p,
        .set_p = op_set_p,
        .get_self = op_get_self,
        .set_self = op_set_self,
        .stat = op_stat,
        .get_free = op_get_free,
        .set_free = op_set_free,
        .get_err = op_get_err,
        .get_out = op_get_100,
        .get_call = op_get_100,
        .get_cb = op_get_100,
        .get_userdata = op_get_100,
        .get_o = op_get_100,
        .get_ret = op_get_100,
        .get_has = op_get_100,
};

static int media_play(void *self, busrpc_call *call, const char *uri, uint32_t *id) {
        (void)self;
        (void)call;
        *id = (uint32_t)strlen(uri);
        return 0;
}

static int media_title(void *self, char **title, busrpc_error *err) {
        (void)self;
        (void)err;
        *title = strdup("media");
        return *title ? 0 : -ENOMEM;
}

static int video_play(void *self, busrpc_call *call, const char *uri, bool fullscreen, uint32_t *id,
                      int32_t *width) {
        (void)self;
        (void)call;
        *id = (uint32_t)strlen(uri) + 1000;
        *width = fullscreen ? 1920 : 640;
        return 0;
}

static int video_title(void *self, char **title, busrpc_error *err) {
        (void)self;
        (void)err;
        *title = strdup("video");
        return *title ? 0 : -ENOMEM;
}

static const media_player_ops m_ops = { .play = media_play, .get_title = media_title };
static const video_player_ops v_ops = { .play = video_play, .get_title = video_title };

static int run_server(int ready) {
        busrpc_conn *c = NULL;
        int r;

        if (busrpc_conn_open(bus.address, &c) < 0)
                return 10;
        if (busrpc_conn_request_name(c, NAME, BUSRPC_NAME_DO_NOT_QUEUE, NULL, NULL, NULL) != 0)
                return 11;
        /* One connection, one path: three interfaces of three modules. */
        if (reserved_export(c, PATH, &r_ops, NULL, &robj) < 0 || media_player_export(c, PATH, &m_ops, NULL, NULL) < 0 ||
            video_player_export(c, PATH, &v_ops, NULL, NULL) < 0)
                return 12;
        if (write(ready, "R", 1) != 1)
                return 13;
        close(ready);
        r = busrpc_conn_run(c);
        busrpc_conn_unref(c);
        free(prop_free);
        return r < 0 ? 14 : 0;
}

/* ---- the client ---- */

static void test_reserved(void) {
        busrpc_proxy *px = NULL;
        busrpc_error error = BUSRPC_ERROR_INIT;
        reserved_rec msg = { .p = 3, .o = "o", .err = "err", .reply = "reply", .msg = "msg", .ret = 4,
                             .userdata = 5, .n = 6, .v = 9 };
        reserved_rec it;
        int32_t ret = 0, i = 0, r = 0, sub = 0, v = 0, a = 0, e = 0;
        char *reply = NULL;
        reserved_int32_array n = { 0 };
        reserved_string_int32_map m = { 0 };
        int rc;

        rc = reserved_proxy_new(conn, NAME, PATH, &px);
        is_int(rc, 0, "reserved proxy");
        rc = reserved_mix(px, 1, "oo", 2, "ee", 3, 4, 5, 6, &msg, RESERVED_KIND_OUT, &ret, &reply, &i, &r, &it, &sub,
                          &n, &m, &v, &a, &e, &error);
        is_int(rc, 0, "Mix(p, o, out, err, call, cb, self, userdata, msg, c) round-trips");
        if (rc == 0) {
                ok(ret == 3 && i == 3 && r == 4 && sub == 5 && v == 6 && a == RESERVED_KIND_OUT && e == 7,
                   "every input reached the server under its own name (ret %d i %d r %d sub %d v %d a %d e %d)", ret,
                   i, r, sub, v, a, e);
                is_str(reply, "oo+ee", "string inputs o, err -> output reply");
                ok(it.p == 6 && it.userdata == 5, "struct fields p, userdata");
                is_str(it.o, "o", "struct field o");
                is_str(it.err, "err", "struct field err");
                is_str(it.reply, "reply", "struct field reply");
                is_str(it.msg, "msg", "struct field msg");
                ok(n.n == 2 && n.items[0] == 6 && n.items[1] == 9, "array output n (fields n, v)");
                ok(m.n == 1 && strcmp(m.keys[0], "self") == 0 && m.values[0] == 5, "map output m");
                free(reply);
                reserved_rec_clear(&it);
                reserved_int32_array_clear(&n);
                reserved_string_int32_map_clear(&m);
        }
        busrpc_error_clear(&error);

        {
                int32_t p = 0, out = 0, call = 0, cb = 0, self = 0, userdata = 0, busrpc = 0, mm = 0, iter = 0;
                char *o = NULL, *err = NULL, *msg2 = NULL;
                rc = reserved_swap(px, 10, "reply", 11, 12, 13, &p, &o, &out, &err, &call, &cb, &self, &userdata,
                                   &msg2, &busrpc, &mm, &iter, &error);
                is_int(rc, 0, "Swap -> (p, o, out, err, call, cb, self, userdata, msg, busrpc, m, it)");
                if (rc == 0) {
                        ok(p == 10 && out == 11 && call == 12 && cb == 13 && self == 11 && userdata == 12 &&
                                   busrpc == 13 && mm == 14 && iter == 15,
                           "every output came back under its own name");
                        is_str(o, "reply", "output o");
                        is_str(err, "err", "output err");
                        is_str(msg2, "msg", "output msg");
                }
                free(o);
                free(err);
                free(msg2);
                busrpc_error_clear(&error);
        }
        {
                int32_t p = 0, self = 0;
                rc = reserved_set_p(px, 42, &error);
                is_int(rc, 0, "property P written");
                rc = reserved_get_p(px, &p, &error);
                ok(rc == 0 && p == 42, "property P read back (%d)", p);
                rc = reserved_set_self(px, 43, &error);
                is_int(rc, 0, "property Self written");
                rc = reserved_get_self(px, &self, &error);
                ok(rc == 0 && self == 43, "property Self read back (%d)", self);
                busrpc_error_clear(&error);
        }
        busrpc_proxy_unref(px);
}

static bool freed_seen, stat_done;
static char *freed_free, *done_memset;
static int32_t freed_errno, done_errno = -1;

static void on_freed(const char *free, int32_t busrpc_arg_errno, void *userdata) {
        (void)userdata;
        freed_seen = true;
        freed_errno = busrpc_arg_errno;
        freed_free = strdup(free);
}

static void stat_finished(int r, const busrpc_error *err, const char *memset, uint64_t strlen, int close,
                          int32_t busrpc_arg_errno, const reserved_string_array *memcpy, void *userdata) {
        (void)err;
        (void)strlen;
        (void)close;
        (void)memcpy;
        (void)userdata;
        stat_done = true;
        if (r == 0) {
                done_errno = busrpc_arg_errno;
                done_memset = strdup(memset);
        }
}

static void wait_for(const bool *flag) {
        busrpc_loop *l = busrpc_conn_get_loop(conn);
        for (int k = 0; k < 200 && !*flag; k++)
                busrpc_loop_iterate(l, 50 * BUSRPC_USEC_PER_MSEC);
}

static void test_libc_names(void) {
        busrpc_proxy *px = NULL;
        busrpc_error error = BUSRPC_ERROR_INIT;
        char *items[] = { "x", "yz" };
        reserved_string_array in = { items, 2 }, out = { 0 };
        char *ms = NULL, *fr = NULL;
        uint64_t len = 0;
        int fd = -1, rc;
        int32_t en = 0;

        is_int(reserved_proxy_new(conn, NAME, PATH, &px), 0, "proxy");
        rc = reserved_on_freed(px, on_freed, NULL, NULL);
        is_int(rc, 0, "subscribed to Freed(free, errno)");
        rc = reserved_stat(px, "hello", 17, &in, &ms, &len, &fd, &en, &out, &error);
        is_int(rc, 0, "Stat(free, malloc, realloc) -> (memset, strlen, close, errno, memcpy)");
        if (rc == 0) {
                is_str(ms, "hello", "output memset");
                ok(len == 5 && en == 17 && fd >= 0, "outputs strlen, errno, close (fd %d)", fd);
                ok(out.n == 2 && strcmp(out.items[0], "x") == 0 && strcmp(out.items[1], "yz") == 0,
                   "output memcpy (an array) from input realloc");
        }
        if (fd >= 0)
                close(fd);
        free(ms);
        reserved_string_array_clear(&out);
        wait_for(&freed_seen);
        ok(freed_seen && freed_errno == 17 && freed_free && strcmp(freed_free, "hello") == 0,
           "signal Freed(free, errno) emitted and received");
        free(freed_free);

        rc = reserved_stat_async(px, "async", 5, &in, stat_finished, NULL, NULL);
        is_int(rc, 0, "Stat_async started");
        wait_for(&stat_done);
        ok(stat_done && done_errno == 5 && done_memset && strcmp(done_memset, "async") == 0,
           "async Stat's callback got memset and errno");
        free(done_memset);

        {
                reserved_properties all;
                rc = reserved_get_all(px, &all, &error);
                is_int(rc, 0, "GetAll of properties P, Err, Self, Has, Free...");
                if (rc == 0) {
                        ok(all.busrpc_has.has && all.has == 100 && all.busrpc_has.p && all.busrpc_has.err &&
                                   all.busrpc_has.self,
                           "X_properties: a property Has is .has, the presence flags are .busrpc_has");
                        is_str(all.err, "E", "property Err in GetAll");
                        reserved_properties_clear(&all);
                }
                busrpc_error_clear(&error);
        }
        rc = reserved_set_free(px, "lots", &error);
        is_int(rc, 0, "property Free written");
        rc = reserved_get_free(px, &fr, &error);
        ok(rc == 0 && fr && strcmp(fr, "lots") == 0, "property Free read back");
        free(fr);
        busrpc_error_clear(&error);
        busrpc_proxy_unref(px);
}

static void test_players(void) {
        busrpc_proxy *mp = NULL, *vp = NULL;
        busrpc_error err = BUSRPC_ERROR_INIT;
        uint32_t id = 0;
        int32_t width = 0;
        char *title = NULL;
        int r;

        r = media_player_proxy_new(conn, NAME, PATH, &mp);
        is_int(r, 0, "media_player proxy");
        r = video_player_proxy_new(conn, NAME, PATH, &vp);
        is_int(r, 0, "video_player proxy");
        r = media_player_play(mp, "abc", &id, &err);
        ok(r == 0 && id == 3, "media_player_play: org.example.Media.Player.Play served (id %u)", id);
        r = video_player_play(vp, "abcd", true, &id, &width, &err);
        ok(r == 0 && id == 1004 && width == 1920, "video_player_play: org.example.Video.Player.Play served (id %u)",
           id);
        r = media_player_get_title(mp, &title, &err);
        ok(r == 0 && title && strcmp(title, "media") == 0, "media_player_get_title");
        free(title);
        title = NULL;
        r = video_player_get_title(vp, &title, &err);
        ok(r == 0 && title && strcmp(title, "video") == 0, "video_player_get_title");
        free(title);
        is_str(MEDIA_PLAYER_INTERFACE_NAME, "org.example.Media.Player", "media_player is org.example.Media.Player");
        is_str(VIDEO_PLAYER_INTERFACE_NAME, "org.example.Video.Player", "video_player is org.example.Video.Player");
        busrpc_error_clear(&err);
        busrpc_proxy_unref(mp);
        busrpc_proxy_unref(vp);
}

int main(void) {
        int pfd[2], status = 0;
        pid_t pid;
        char ch;

        test_bus_start(&bus);
        if (pipe(pfd) < 0)
                tap_bail("pipe");
        fflush(stdout);
        pid = fork();
        if (pid < 0)
                tap_bail("fork");
        if (pid == 0) {
                close(pfd[0]);
                _exit(run_server(pfd[1]));
        }
        close(pfd[1]);
        if (read(pfd[0], &ch, 1) != 1) {
                waitpid(pid, &status, 0);
                test_bus_stop(&bus);
                tap_bail("the server did not start (status %d)", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        }
        close(pfd[0]);
        if (busrpc_conn_open(bus.address, &conn) < 0)
                tap_bail("cannot connect to the test bus");
        TAP_RUN(test_reserved);
        TAP_RUN(test_libc_names);
        TAP_RUN(test_players);
        busrpc_conn_unref(conn);
        kill(pid, SIGTERM);
        waitpid(pid, &status, 0);
        ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the server stopped cleanly (status %d)",
           WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        test_bus_stop(&bus);
        return tap_done();
}
