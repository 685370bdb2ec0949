/* test-typed.c: the typed client busrpc-idlc generates (issue 13), with
 * a generated server, through a private dbus-daemon and on a
 * busrpc_server's peer socket. The code of both sides comes from
 * tests/gen/idl/player.idl (an MPRIS-like player) compiled by the in-tree
 * busrpc-idlc; this file uses only what player.h declares (and the public
 * runtime for the service's loop and the ObjectManager).
 *
 * A client (connection A) watches a player with player_on_properties_changed(),
 * player_on_volume_changed(), player_on_position_changed() and a cache
 * (player_cache_properties(), player_cached_*()); changes come from
 * another client's calls and Set (connection B), busctl set-property and
 * python3-dbus. Load changes three properties in one op: one callback.
 * Tick changes Position (invalidates) and Ticks (@emits_changed("false")):
 * only the invalidation arrives. After every change the cache agrees with
 * Get. Fail returns each declared error and an undeclared one, told apart
 * by player_error_classify() / player_error_is_*(). An ObjectManager client
 * (player_object_manager_follow()) sees the object exported before it
 * came, and objects the service adds and removes later.
 */
#include "player.h"
#include "typing-util.h"
#include <dbus/dbus.h>
#include <stdarg.h>
#include <stddef.h>

#define T_NAME  "org.busrpc.TypedTest"
#define T_ROOT  "/org/busrpc/test"
#define T_P1    T_ROOT "/p1"
#define T_P2    T_ROOT "/p2"
#define T_CTL   "/ctl"
#define T_OTHER "org.busrpc.test.Player.Error.Other"

/* A check's name, formatted (tap.h's is_int/is_str take a plain one). */
static const char *nm(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *nm(const char *fmt, ...) {
        static char buf[4][256];
        static unsigned n;
        char *b = buf[n++ % 4];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(b, sizeof(buf[0]), fmt, ap);
        va_end(ap);
        return b;
}
#define IS_INT(got, want, ...) is_int(got, want, nm(__VA_ARGS__))
#define IS_STR(got, want, ...) is_str(got, want, nm(__VA_ARGS__))

/* ------------------------------------------------------------------ */
/* The service (a child process), on the generated skeletons             */

typedef struct Player {
        char path[64];
        char title[64];
        player_play_state state;
        uint32_t length;
        double volume;
        int64_t position;
        uint32_t ticks;
        busrpc_object *obj, *tracks_obj;
} Player;

static Player players[4];
static busrpc_conn *svc_conn;  /* the service on a bus */
static busrpc_server *svc_srv; /* or serving peers: the generated X_export_server() */

static int p_load(void *self, busrpc_call *call, const char *title, uint32_t length) {
        Player *pl = self;
        int r;

        (void)call;
        snprintf(pl->title, sizeof(pl->title), "%s", title);
        pl->length = length;
        pl->state = PLAYER_PLAY_STATE_PLAYING;
        /* three changes in one op: the runtime sends them as one signal */
        if ((r = player_notify_title(pl->obj)) < 0 || (r = player_notify_state(pl->obj)) < 0 ||
            (r = player_notify_current(pl->obj)) < 0)
                return r;
        return 0;
}

static int p_tick(void *self, busrpc_call *call) {
        Player *pl = self;
        int r;

        (void)call;
        pl->position += 1000;
        pl->ticks++;
        if ((r = player_notify_position(pl->obj)) < 0 || (r = player_notify_ticks(pl->obj)) < 0)
                return r;
        return 0;
}

static int p_fail(void *self, busrpc_call *call, const char *which) {
        (void)self;
        if (strcmp(which, "no-track") == 0)
                return player_error_no_track(call, "nothing loaded");
        if (strcmp(which, "busy") == 0)
                return player_error_busy(call, "busy now");
        return busrpc_call_fail(call, T_OTHER, "not declared");
}

static int p_get_title(void *self, char **title, busrpc_error *err) {
        (void)err;
        *title = strdup(((Player *)self)->title);
        return *title ? 0 : -ENOMEM;
}

static int p_get_state(void *self, player_play_state *state, busrpc_error *err) {
        (void)err;
        *state = ((Player *)self)->state;
        return 0;
}

static int p_get_current(void *self, player_track *current, busrpc_error *err) {
        Player *pl = self;

        (void)err;
        current->title = strdup(pl->title);
        current->length = pl->length;
        return current->title ? 0 : -ENOMEM;
}

static int p_get_volume(void *self, double *volume, busrpc_error *err) {
        (void)err;
        *volume = ((Player *)self)->volume;
        return 0;
}

static int p_set_volume(void *self, double volume, busrpc_error *err) {
        (void)err;
        ((Player *)self)->volume = volume;
        return 0;
}

static int p_get_position(void *self, int64_t *position, busrpc_error *err) {
        (void)err;
        *position = ((Player *)self)->position;
        return 0;
}

static int p_get_ticks(void *self, uint32_t *ticks, busrpc_error *err) {
        (void)err;
        *ticks = ((Player *)self)->ticks;
        return 0;
}

static int p_get_identity(void *self, char **identity, busrpc_error *err) {
        (void)self, (void)err;
        *identity = strdup("busrpc test player");
        return *identity ? 0 : -ENOMEM;
}

static const player_ops p_ops = {
        .load = p_load,
        .tick = p_tick,
        .fail = p_fail,
        .get_title = p_get_title,
        .get_state = p_get_state,
        .get_current = p_get_current,
        .get_volume = p_get_volume,
        .set_volume = p_set_volume,
        .get_position = p_get_position,
        .get_ticks = p_get_ticks,
        .get_identity = p_get_identity,
};

static int t_get_count(void *self, uint32_t *count, busrpc_error *err) {
        (void)err;
        *count = (uint32_t)strlen(((Player *)self)->title);
        return 0;
}

static const player_tracks_ops t_ops = { .get_count = t_get_count };

static int player_add(const char *path) {
        for (size_t i = 0; i < 4; i++) {
                Player *pl = &players[i];
                int r;
                if (pl->obj)
                        continue;
                memset(pl, 0, sizeof(*pl));
                snprintf(pl->path, sizeof(pl->path), "%s", path);
                snprintf(pl->title, sizeof(pl->title), "initial");
                pl->volume = 1.0;
                if (svc_srv) {
                        if ((r = player_export_server(svc_srv, path, &p_ops, pl, &pl->obj)) < 0)
                                return r;
                        return player_tracks_export_server(svc_srv, path, &t_ops, pl, &pl->tracks_obj);
                }
                if ((r = player_export(svc_conn, path, &p_ops, pl, &pl->obj)) < 0)
                        return r;
                return player_tracks_export(svc_conn, path, &t_ops, pl, &pl->tracks_obj);
        }
        return -ENOSPC;
}

static int c_add(void *self, busrpc_call *call, const char *path) {
        (void)self, (void)call;
        return player_add(path);
}

static int c_remove(void *self, busrpc_call *call, const char *path) {
        (void)self, (void)call;
        for (size_t i = 0; i < 4; i++)
                if (players[i].obj && strcmp(players[i].path, path) == 0) {
                        players[i].tracks_obj = busrpc_object_release(players[i].tracks_obj);
                        players[i].obj = busrpc_object_release(players[i].obj);
                        return 0;
                }
        return -ENOENT;
}

static const player_control_ops c_ops = { .add = c_add, .remove = c_remove };

static void serve(const char *bus_address, const char *peer_address, int ready_fd) {
        busrpc_objects *objs;
        busrpc_loop *loop = NULL;
        int r;

        if (bus_address) {
                if (busrpc_conn_open(bus_address, &svc_conn) < 0 ||
                    busrpc_conn_request_name(svc_conn, T_NAME, 0, NULL, NULL, NULL) < 0)
                        _exit(2);
                objs = busrpc_conn_get_objects(svc_conn);
        } else {
                if (busrpc_server_new(peer_address, &svc_srv) < 0)
                        _exit(2);
                objs = busrpc_server_get_objects(svc_srv);
        }
        if (busrpc_objects_add_manager(objs, T_ROOT, NULL) < 0 || player_add(T_P1) < 0)
                _exit(3);
        if (svc_srv)
                r = player_control_export_server(svc_srv, T_CTL, &c_ops, NULL, NULL);
        else
                r = player_control_export(svc_conn, T_CTL, &c_ops, NULL, NULL);
        if (r < 0)
                _exit(3);
        if (write(ready_fd, "r", 1) != 1)
                _exit(4);
        close(ready_fd);
        busrpc_loop_default(&loop);
        busrpc_loop_handle_signals(loop);
        busrpc_loop_run(loop);
        _exit(0);
}

/* ------------------------------------------------------------------ */
/* What the client saw                                                   */

static busrpc_loop *loop;

typedef struct Seen {
        int calls;
        uint64_t changed, invalidated, ever_changed; /* changed, invalidated: since the last reset */
        char title[64];
        player_play_state state;
        char current[64];
        uint32_t length;
        double volume;
} Seen;

static void seen_reset(Seen *s) {
        s->changed = s->invalidated = 0;
}

static void on_changes(const player_changes *ch, void *userdata) {
        Seen *s = userdata;
        const player_properties *v = ch->values;

        s->calls++;
        s->changed |= ch->changed;
        s->ever_changed |= ch->changed;
        s->invalidated |= ch->invalidated;
        if (ch->changed & PLAYER_PROPERTY_TITLE)
                snprintf(s->title, sizeof(s->title), "%s", v->title ? v->title : "(null)");
        if (ch->changed & PLAYER_PROPERTY_STATE)
                s->state = v->state;
        if (ch->changed & PLAYER_PROPERTY_CURRENT) {
                snprintf(s->current, sizeof(s->current), "%s", v->current.title ? v->current.title : "(null)");
                s->length = v->current.length;
        }
        if (ch->changed & PLAYER_PROPERTY_VOLUME)
                s->volume = v->volume;
}

typedef struct Want {
        Seen *s;
        uint64_t changed, invalidated;
} Want;

static bool want_met(void *arg) {
        Want *w = arg;
        return (w->s->changed & w->changed) == w->changed && (w->s->invalidated & w->invalidated) == w->invalidated;
}

typedef struct One {
        int calls, invalidations;
        double volume;
        int64_t position;
} One;

static void on_volume(double const *volume, void *userdata) {
        One *o = userdata;
        o->calls++;
        if (volume)
                o->volume = *volume;
        else
                o->invalidations++;
}

static void on_position(int64_t const *position, void *userdata) {
        One *o = userdata;
        o->calls++;
        if (position)
                o->position = *position;
        else
                o->invalidations++;
}

static bool cache_ready(void *arg) {
        return busrpc_property_cache_is_ready(arg);
}

/* The cache against Get, property by property. */
static bool cache_agrees(busrpc_property_cache *c, busrpc_proxy *p, const char *when) {
        char *ct = NULL, *gt = NULL, *ci = NULL, *gi = NULL;
        player_track cc = { 0 }, gc = { 0 };
        player_play_state cs = 0, gs = 0;
        double cv = -1, gv = -2;
        int64_t cp = -1, gp = -2;
        bool good = true;

        if (player_cached_title(c, &ct) < 0 || player_get_title(p, &gt, NULL) < 0 || strcmp(ct, gt) != 0)
                good = false, tap_diag("%s: Title cached '%s', Get '%s'", when, ct ? ct : "-", gt ? gt : "-");
        if (player_cached_state(c, &cs) < 0 || player_get_state(p, &gs, NULL) < 0 || cs != gs)
                good = false, tap_diag("%s: State cached %d, Get %d", when, (int)cs, (int)gs);
        if (player_cached_current(c, &cc) < 0 || player_get_current(p, &gc, NULL) < 0 || !cc.title || !gc.title ||
            strcmp(cc.title, gc.title) != 0 || cc.length != gc.length)
                good = false, tap_diag("%s: Current differs", when);
        if (player_cached_volume(c, &cv) < 0 || player_get_volume(p, &gv, NULL) < 0 || cv != gv)
                good = false, tap_diag("%s: Volume cached %g, Get %g", when, cv, gv);
        if (player_cached_position(c, &cp) < 0 || player_get_position(p, &gp, NULL) < 0 || cp != gp)
                good = false, tap_diag("%s: Position cached %lld, Get %lld", when, (long long)cp, (long long)gp);
        if (player_cached_identity(c, &ci) < 0 || player_get_identity(p, &gi, NULL) < 0 || strcmp(ci, gi) != 0)
                good = false, tap_diag("%s: Identity differs", when);
        free(ct), free(gt), free(ci), free(gi);
        player_track_clear(&cc);
        player_track_clear(&gc);
        return good;
}

typedef struct Mode {
        const char *label;
        bool peer;
        busrpc_conn *a, *b;
        const char *dest;
        char address[512];
        char busctl_dest[64];
} Mode;

static int run_busctl_set_volume(const Mode *m, const char *value) {
        const char *busctl = getenv("BUSCTL") ? getenv("BUSCTL") : "busctl";
        char cmd[1024];

        snprintf(cmd, sizeof(cmd),
                 "%s --address='%s' set-property %s " T_P1 " " PLAYER_INTERFACE_NAME " Volume d %s", busctl,
                 m->address, m->busctl_dest, value);
        return typing_sh(cmd);
}

static int run_python_set_volume(const Mode *m, const char *value) {
        char cmd[2048];

        snprintf(cmd, sizeof(cmd),
                 "/usr/bin/python3 -c \"import dbus, sys\n"
                 "a = sys.argv[1]\n"
                 "c = dbus.connection.Connection(a) if sys.argv[2] == 'peer' else dbus.bus.BusConnection(a)\n"
                 "o = c.get_object(None if sys.argv[2] == 'peer' else '" T_NAME "', '" T_P1 "', introspect=False)\n"
                 "o.Set('" PLAYER_INTERFACE_NAME "', 'Volume', dbus.Double(float(sys.argv[3]), variant_level=1), "
                 "dbus_interface='org.freedesktop.DBus.Properties')\n"
                 "\" '%s' %s '%s'",
                 m->address, m->peer ? "peer" : "bus", value);
        return typing_sh(cmd);
}

/* A Volume change from somewhere: the watch, the per-property watch and
 * the cache see @want, and the cache then agrees with Get. */
static void volume_seen(const Mode *m, Seen *w, One *vol, Seen *cs, busrpc_property_cache *cache,
                        busrpc_proxy *pa, double want, const char *from) {
        Want ww = { w, PLAYER_PROPERTY_VOLUME, 0 }, wc = { cs, PLAYER_PROPERTY_VOLUME, 0 };
        int calls = w->calls;

        (void)m;
        ok(typing_wait(loop, want_met, &ww) && w->volume == want, "%s: typed watch sees Volume %g from %s",
           m->label, want, from);
        IS_INT(w->calls - calls, 1, "%s: one callback for it", m->label);
        ok(w->invalidated == 0, "%s: nothing invalidated", m->label);
        ok(typing_wait(loop, want_met, &wc) && cs->volume == want, "%s: the cache took it", m->label);
        if (vol)
                ok(vol->volume == want, "%s: player_on_volume_changed saw %g", m->label, want);
        ok(cache_agrees(cache, pa, from), "%s: cache agrees with Get after %s", m->label, from);
        seen_reset(w);
        seen_reset(cs);
}

static void test_changes(const Mode *m) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_proxy *pa = NULL, *pb = NULL;
        busrpc_subscription *sub = NULL, *vsub = NULL, *psub = NULL;
        busrpc_property_cache *cache = NULL;
        Seen w = { 0 }, cs = { 0 };
        One vol = { 0 }, pos = { 0 };
        char *s = NULL;
        uint32_t ticks = 0;
        int64_t p64 = 0;
        Want ww, wc;
        int calls;

        tap_diag("--- property changes (%s) ---", m->label);
        if (player_proxy_new(m->a, m->dest, T_P1, &pa) < 0 || player_proxy_new(m->b, m->dest, T_P1, &pb) < 0)
                tap_bail("proxies");
        IS_INT(player_on_properties_changed(pa, on_changes, &w, &sub), 0, "%s: player_on_properties_changed",
               m->label);
        IS_INT(player_on_volume_changed(pa, on_volume, &vol, &vsub), 0, "%s: player_on_volume_changed", m->label);
        IS_INT(player_on_position_changed(pa, on_position, &pos, &psub), 0, "%s: player_on_position_changed",
               m->label);
        IS_INT(player_on_properties_changed(pa, NULL, NULL, NULL), -EINVAL, "%s: a NULL callback is -EINVAL",
               m->label);
        IS_INT(player_cache_properties(pa, on_changes, &cs, &cache), 0, "%s: player_cache_properties", m->label);
        IS_INT(player_cached_title(cache, &s), -ENODATA, "%s: cached_title before GetAll: -ENODATA", m->label);
        ok(typing_wait(loop, cache_ready, cache), "%s: the cache's GetAll completed", m->label);
        IS_INT(player_cached_title(cache, &s), 0, "%s: cached_title after GetAll", m->label);
        IS_STR(s, "initial", "%s: the title GetAll gave", m->label);
        free(s);
        s = NULL;
        ok(cache_agrees(cache, pa, "GetAll"), "%s: cache agrees with Get after GetAll", m->label);
        seen_reset(&cs);

        /* Three changes in one op of the service: one callback. */
        calls = w.calls;
        IS_INT(player_load(pb, "Song", 215, &err), 0, "%s: another client calls Load", m->label);
        ww = (Want){ &w, PLAYER_PROPERTY_TITLE | PLAYER_PROPERTY_STATE | PLAYER_PROPERTY_CURRENT, 0 };
        ok(typing_wait(loop, want_met, &ww), "%s: typed watch: Title, State, Current changed", m->label);
        IS_INT(w.calls - calls, 1, "%s: the three changes came as one callback", m->label);
        IS_STR(w.title, "Song", "%s: Title value", m->label);
        IS_INT(w.state, PLAYER_PLAY_STATE_PLAYING, "%s: State value (typed enum)", m->label);
        ok(strcmp(w.current, "Song") == 0 && w.length == 215, "%s: Current value (typed struct)", m->label);
        wc = (Want){ &cs, ww.changed, 0 };
        ok(typing_wait(loop, want_met, &wc), "%s: the cache took them", m->label);
        ok(cache_agrees(cache, pa, "Load"), "%s: cache agrees with Get after Load", m->label);
        seen_reset(&w);
        seen_reset(&cs);

        /* Set from the wire: another busrpc client, busctl, python3-dbus. */
        IS_INT(player_set_volume(pb, 0.5, &err), 0, "%s: another client Sets Volume 0.5", m->label);
        volume_seen(m, &w, &vol, &cs, cache, pa, 0.5, "another client's Set");
        IS_INT(run_busctl_set_volume(m, "0.25"), 0, "%s: busctl set-property Volume 0.25", m->label);
        volume_seen(m, &w, &vol, &cs, cache, pa, 0.25, "busctl set-property");
        IS_INT(run_python_set_volume(m, "0.75"), 0, "%s: python3-dbus Sets Volume 0.75", m->label);
        volume_seen(m, &w, &vol, &cs, cache, pa, 0.75, "python3-dbus");
        IS_INT(vol.calls, 3, "%s: player_on_volume_changed called once per Set", m->label);

        /* Tick: Position invalidated (no value), Ticks (emits false) sends nothing. */
        calls = w.calls;
        IS_INT(player_tick(pb, &err), 0, "%s: Tick", m->label);
        ww = (Want){ &w, 0, PLAYER_PROPERTY_POSITION };
        ok(typing_wait(loop, want_met, &ww), "%s: typed watch: Position invalidated", m->label);
        IS_INT(w.calls - calls, 1, "%s: one callback", m->label);
        ok(w.changed == 0, "%s: no value sent with it (changed 0x%llx)", m->label, (unsigned long long)w.changed);
        ok(pos.invalidations == 1 && pos.calls == 1, "%s: player_on_position_changed got NULL (invalidated)",
           m->label);
        wc = (Want){ &cs, PLAYER_PROPERTY_POSITION, PLAYER_PROPERTY_POSITION };
        ok(typing_wait(loop, want_met, &wc), "%s: the cache invalidated Position, then read it with Get", m->label);
        ok(player_cached_position(cache, &p64) == 0 && p64 == 1000, "%s: cached Position 1000", m->label);
        ok(cache_agrees(cache, pa, "Tick"), "%s: cache agrees with Get after Tick", m->label);
        IS_INT(player_get_ticks(pa, &ticks, &err), 0, "%s: Get Ticks", m->label);
        IS_INT((int)ticks, 1, "%s: Ticks did change", m->label);
        seen_reset(&w);
        seen_reset(&cs);

        /* A later Set is the next thing the watch sees: nothing for Ticks came between. */
        IS_INT(player_set_volume(pb, 0.125, &err), 0, "%s: Set Volume 0.125", m->label);
        volume_seen(m, &w, &vol, &cs, cache, pa, 0.125, "a Set after Tick");
        ok(!(w.ever_changed & PLAYER_PROPERTY_TICKS), "%s: @emits_changed(\"false\") Ticks never reached the watch",
           m->label);
        IS_INT(player_get_ticks(pa, &ticks, &err), 0, "%s: Get Ticks again", m->label);
        IS_INT((int)ticks, 1, "%s: Ticks is 1: it changed, silently", m->label);
        ok(!(w.ever_changed & PLAYER_PROPERTY_IDENTITY), "%s: const Identity never changed", m->label);

        /* The subscription's release stops the typed callback. */
        busrpc_subscription_release(vsub);
        vsub = NULL;
        calls = vol.calls;
        IS_INT(player_set_volume(pb, 0.0625, &err), 0, "%s: Set Volume after the release", m->label);
        volume_seen(m, &w, NULL, &cs, cache, pa, 0.0625, "a Set after a release");
        IS_INT(vol.calls, calls, "%s: a released per-property watch is not called", m->label);

        busrpc_error_clear(&err);
        busrpc_subscription_release(sub);
        busrpc_subscription_release(psub);
        busrpc_property_cache_release(cache);
        busrpc_proxy_unref(pa);
        busrpc_proxy_unref(pb);
}

/* ------------------------------------------------------------------ */
/* Typed errors                                                          */

static void test_errors(const Mode *m) {
        static const struct {
                const char *which, *name;
                player_error_code code;
        } cases[] = {
                { "no-track", PLAYER_ERROR_NO_TRACK, PLAYER_ERROR_CODE_NO_TRACK },
                { "busy", PLAYER_ERROR_BUSY, PLAYER_ERROR_CODE_BUSY },
                { "other", T_OTHER, PLAYER_ERROR_CODE_NOT_DECLARED },
        };
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_proxy *p = NULL;

        tap_diag("--- typed errors (%s) ---", m->label);
        if (player_proxy_new(m->b, m->dest, T_P1, &p) < 0)
                tap_bail("proxy");
        for (size_t i = 0; i < 3; i++) {
                IS_INT(player_fail(p, cases[i].which, &err), -EREMOTEIO, "%s: Fail(%s) fails", m->label,
                       cases[i].which);
                IS_STR(err.name, cases[i].name, "%s: with %s", m->label, cases[i].name);
                IS_INT(player_error_classify(&err), cases[i].code, "%s: player_error_classify gives %d", m->label,
                       (int)cases[i].code);
                ok(player_error_is_no_track(&err) == (cases[i].code == PLAYER_ERROR_CODE_NO_TRACK),
                   "%s: player_error_is_no_track", m->label);
                ok(player_error_is_busy(&err) == (cases[i].code == PLAYER_ERROR_CODE_BUSY),
                   "%s: player_error_is_busy", m->label);
                busrpc_error_clear(&err);
        }
        IS_INT(player_error_classify(&err), PLAYER_ERROR_CODE_NOT_DECLARED, "%s: no error: NOT_DECLARED", m->label);
        IS_INT(player_error_classify(NULL), PLAYER_ERROR_CODE_NOT_DECLARED, "%s: NULL: NOT_DECLARED", m->label);
        busrpc_proxy_unref(p);
}

/* ------------------------------------------------------------------ */
/* ObjectManager client                                                  */

typedef struct OmLog {
        bool ready;
        int r;
        int objects_added, objects_removed, players_added, players_removed, tracks_added, tracks_removed;
        char last_added[64], last_removed[64];
        char title[64];
        uint64_t present;
        bool proxy_works;
} OmLog;

static void om_object_added(busrpc_proxy *p, void *userdata) {
        OmLog *l = userdata;
        l->objects_added++;
        snprintf(l->last_added, sizeof(l->last_added), "%s", busrpc_proxy_get_path(p));
}

static void om_object_removed(busrpc_proxy *p, void *userdata) {
        OmLog *l = userdata;
        l->objects_removed++;
        snprintf(l->last_removed, sizeof(l->last_removed), "%s", busrpc_proxy_get_path(p));
}

static void om_player_added(busrpc_proxy *p, const player_changes *props, void *userdata) {
        OmLog *l = userdata;
        (void)p;
        l->players_added++;
        l->present = props->changed;
        snprintf(l->title, sizeof(l->title), "%s",
                 (props->changed & PLAYER_PROPERTY_TITLE) && props->values->title ? props->values->title : "-");
}

static void om_player_removed(busrpc_proxy *p, void *userdata) {
        (void)p;
        ((OmLog *)userdata)->players_removed++;
}

static void om_tracks_added(busrpc_proxy *p, const player_tracks_changes *props, void *userdata) {
        (void)p, (void)props;
        ((OmLog *)userdata)->tracks_added++;
}

static void om_tracks_removed(busrpc_proxy *p, void *userdata) {
        (void)p;
        ((OmLog *)userdata)->tracks_removed++;
}

static void om_ready(int r, const busrpc_error *err, void *userdata) {
        OmLog *l = userdata;
        (void)err;
        l->ready = true;
        l->r = r;
}

static const player_object_manager_callbacks om_cbs = {
        .object_added = om_object_added,
        .player_added = om_player_added,
        .player_removed = om_player_removed,
        .player_tracks_added = om_tracks_added,
        .player_tracks_removed = om_tracks_removed,
        .object_removed = om_object_removed,
        .ready = om_ready,
};

static bool om_is_ready(void *arg) {
        return ((OmLog *)arg)->ready;
}

static bool om_two_players(void *arg) {
        return ((OmLog *)arg)->players_added >= 2 && ((OmLog *)arg)->tracks_added >= 2;
}

static bool om_removed(void *arg) {
        return ((OmLog *)arg)->objects_removed >= 1;
}

static void test_object_manager(const Mode *m) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_om_client *om = NULL;
        busrpc_proxy *ctl = NULL;
        OmLog l = { 0 };

        tap_diag("--- ObjectManager client (%s) ---", m->label);
        if (player_control_proxy_new(m->b, m->dest, T_CTL, &ctl) < 0)
                tap_bail("proxy");
        IS_INT(player_object_manager_follow(m->a, m->dest, T_ROOT, NULL, &l, &om), -EINVAL,
               "%s: NULL callbacks: -EINVAL", m->label);
        IS_INT(player_object_manager_follow(m->a, m->dest, T_ROOT, &om_cbs, &l, &om), 0,
               "%s: player_object_manager_follow", m->label);
        ok(typing_wait(loop, om_is_ready, &l) && l.r == 0, "%s: GetManagedObjects answered", m->label);
        IS_INT(l.objects_added, 1, "%s: the object exported before the client came is reported", m->label);
        IS_STR(l.last_added, T_P1, "%s: at its path", m->label);
        ok(l.players_added == 1 && l.tracks_added == 1, "%s: with both interfaces of this module, typed", m->label);
        ok((l.present & PLAYER_PROPERTY_TITLE) && (l.present & PLAYER_PROPERTY_VOLUME),
           "%s: its properties came with it", m->label);
        IS_STR(l.title, "Song", "%s: its Title (Loaded earlier), typed", m->label);

        IS_INT(player_control_add(ctl, T_P2, &err), 0, "%s: the service exports %s", m->label, T_P2);
        ok(typing_wait(loop, om_two_players, &l), "%s: the client follows it", m->label);
        IS_STR(l.last_added, T_P2, "%s: object_added for %s", m->label, T_P2);
        IS_STR(l.title, "initial", "%s: its Title, typed", m->label);
        IS_INT(l.objects_added, 2, "%s: two objects now", m->label);
        IS_INT((int)busrpc_om_client_count(om), 2, "%s: busrpc_om_client_count agrees", m->label);

        IS_INT(player_control_remove(ctl, T_P2, &err), 0, "%s: the service unexports %s", m->label, T_P2);
        ok(typing_wait(loop, om_removed, &l), "%s: the client sees it go", m->label);
        IS_STR(l.last_removed, T_P2, "%s: object_removed for %s", m->label, T_P2);
        ok(l.players_removed == 1 && l.tracks_removed == 1, "%s: both interfaces reported removed", m->label);
        IS_INT((int)busrpc_om_client_count(om), 1, "%s: one object left", m->label);
        busrpc_om_client_release(om);
        busrpc_error_clear(&err);
        busrpc_proxy_unref(ctl);
}

/* ------------------------------------------------------------------ */
/* GetAll by table (runtime/getall.c, what player_get_all() calls)       */

typedef struct WrongTitle {
        int32_t title;
} WrongTitle;

static void test_get_all(const Mode *m) {
        static const busrpc_property_info wrong_props[] = {
                { "Title", &busrpc_type_int32, offsetof(WrongTitle, title), 0 },
        };
        static const busrpc_property_table wrong = { PLAYER_INTERFACE_NAME, wrong_props, 1, sizeof(WrongTitle) };
        static const busrpc_property_table bad = { "not an interface", wrong_props, 1, sizeof(WrongTitle) };
        busrpc_error err = BUSRPC_ERROR_INIT;
        player_properties all;
        busrpc_proxy *p = NULL;
        WrongTitle wt = { 7 };
        uint64_t present = 0;

        tap_diag("--- GetAll (%s) ---", m->label);
        if (player_proxy_new(m->b, m->dest, T_P1, &p) < 0)
                tap_bail("proxy");
        IS_INT(player_get_all(p, &all, &err), 0, "%s: player_get_all", m->label);
        ok(all.has.title && all.has.volume && all.has.ticks && all.has.identity, "%s: has.* set for what came",
           m->label);
        IS_STR(all.title, "Song", "%s: Title", m->label);
        ok(all.current.length == 215 && all.current.title && strcmp(all.current.title, "Song") == 0,
           "%s: Current (a struct)", m->label);
        player_properties_clear(&all);
        IS_INT(busrpc_proxy_get_all_values(p, &player_property_table, &all, &present, &err), 0,
               "%s: busrpc_proxy_get_all_values", m->label);
        ok(present == (PLAYER_PROPERTY_TITLE | PLAYER_PROPERTY_STATE | PLAYER_PROPERTY_CURRENT |
                       PLAYER_PROPERTY_VOLUME | PLAYER_PROPERTY_POSITION | PLAYER_PROPERTY_TICKS |
                       PLAYER_PROPERTY_IDENTITY),
           "%s: every readable property present (0x%llx)", m->label, (unsigned long long)present);
        /* has.* is the generated stub's: released field by field here */
        for (size_t i = 0; i < player_property_table.n_props; i++)
                busrpc_value_clear(player_property_table.props[i].type,
                                   (char *)&all + player_property_table.props[i].offset);
        present = 99;
        IS_INT(busrpc_proxy_get_all_values(p, &wrong, &wt, &present, &err), -EBADMSG,
               "%s: a property of another type than the table's: -EBADMSG", m->label);
        IS_STR(err.name, BUSRPC_ERROR_INVALID_ARGS, "%s: InvalidArgs", m->label);
        ok(err.message && strstr(err.message, "Title"), "%s: naming the property", m->label);
        ok(wt.title == 0 && present == 99, "%s: values emptied, present untouched", m->label);
        busrpc_error_clear(&err);
        IS_INT(busrpc_proxy_get_all_values(p, &bad, &wt, &present, &err), -EINVAL, "%s: a bad table: -EINVAL",
               m->label);
        IS_INT(busrpc_proxy_get_all_values(p, &wrong, &wt, NULL, &err), -EINVAL, "%s: no present: -EINVAL",
               m->label);
        busrpc_error_clear(&err);
        busrpc_proxy_unref(p);
}

static TestBus bus;

int main(int argc, char **argv) {
        TypingService on_bus = { 0 }, on_peer = { 0 };
        busrpc_conn *bus_a, *bus_b;
        Mode m;

        typing_serve_main(argc, argv, serve);
        test_bus_start(&bus);
        typing_service_start(&on_bus, bus.address, false);
        typing_service_start(&on_peer, NULL, true);

        m = (Mode){ .label = "bus", .dest = T_NAME };
        if (busrpc_conn_open(bus.address, &m.a) < 0 || busrpc_conn_open(bus.address, &m.b) < 0)
                tap_bail("cannot connect to the private bus");
        loop = busrpc_conn_get_loop(m.a);
        snprintf(m.address, sizeof(m.address), "%s", bus.address);
        snprintf(m.busctl_dest, sizeof(m.busctl_dest), "%s", T_NAME);
        test_changes(&m);
        test_errors(&m);
        test_get_all(&m);
        test_object_manager(&m);
        bus_a = m.a, bus_b = m.b; /* kept: they hold the loop the waits run */

        m = (Mode){ .label = "peer socket", .peer = true, .dest = NULL };
        if (busrpc_conn_open_peer(on_peer.address, &m.a) < 0 || busrpc_conn_open_peer(on_peer.address, &m.b) < 0)
                tap_bail("cannot connect to the peer socket");
        snprintf(m.address, sizeof(m.address), "%s", on_peer.address);
        snprintf(m.busctl_dest, sizeof(m.busctl_dest), ":1.0");
        test_changes(&m);
        test_errors(&m);
        test_get_all(&m);
        test_object_manager(&m);
        busrpc_conn_unref(m.a);
        busrpc_conn_unref(m.b);

        busrpc_conn_unref(bus_a);
        busrpc_conn_unref(bus_b);
        typing_service_stop(&on_peer);
        typing_service_stop(&on_bus);
        test_bus_stop(&bus);
        dbus_shutdown();
        return tap_done();
}
