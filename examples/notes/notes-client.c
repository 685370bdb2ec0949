/* notes-client: a command line for org.example.Notes (notes.idl).
 *
 *   notes-client [--bus ADDRESS] add TITLE BODY
 *   notes-client [--bus ADDRESS] list
 *   notes-client [--bus ADDRESS] get ID
 *   notes-client [--bus ADDRESS] delete ID
 *   notes-client [--bus ADDRESS] count
 *
 * add and delete also print the Changed signal the service sends. Exit
 * status 0 on success, 1 on an error (printed as NAME: MESSAGE), 2 on a
 * usage error.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "notes.h"

#define NOTES_NAME "org.example.Notes"
#define NOTES_PATH "/org/example/Notes"

static void usage(FILE *f) {
        fprintf(f, "usage: notes-client [--bus ADDRESS] add TITLE BODY | list | get ID | delete ID | count\n");
}

/* Print a failed call's error (NAME: MESSAGE for a D-Bus error) and clear it. */
static int report(int r, busrpc_error *err) {
        if (r == -EREMOTEIO && busrpc_error_is_set(err))
                fprintf(stderr, "notes-client: %s: %s\n", err->name, err->message);
        else
                fprintf(stderr, "notes-client: %s\n", strerror(-r));
        busrpc_error_clear(err);
        return 1;
}

static bool parse_id(const char *s, uint32_t *id) {
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || end == s || *end || v > UINT32_MAX)
                return false;
        *id = (uint32_t)v;
        return true;
}

typedef struct Seen {
        int n;
} Seen;

static void on_changed(uint32_t id, notes_change change, void *userdata) {
        Seen *seen = userdata;

        printf("signal Changed(%" PRIu32 ", %s)\n", id, change == NOTES_CHANGE_ADDED ? "ADDED" : "DELETED");
        seen->n++;
}

/* The service signals before it replies; the signal may still be in the
 * socket when the call returns, so run the loop briefly for it. */
static void wait_changed(busrpc_proxy *p, Seen *seen) {
        busrpc_loop *loop = busrpc_conn_get_loop(busrpc_proxy_get_conn(p));

        for (int waited = 0; seen->n == 0 && waited < 2000; waited += 50)
                busrpc_loop_iterate(loop, 50 * BUSRPC_USEC_PER_MSEC);
}

static int run(busrpc_proxy *p, int argc, char **argv) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        const char *cmd = argv[0];
        Seen seen = { 0 };
        uint32_t id;
        int r;

        if (strcmp(cmd, "add") == 0 && argc == 3) {
                /* Subscribe first, so the signal of our own change is not missed. */
                r = notes_on_changed(p, on_changed, &seen, NULL);
                if (r >= 0)
                        r = notes_add(p, argv[1], argv[2], &id, &err);
                if (r < 0)
                        return report(r, &err);
                printf("added note %" PRIu32 "\n", id);
                wait_changed(p, &seen);
        } else if (strcmp(cmd, "list") == 0 && argc == 1) {
                notes_summary_array notes = { NULL, 0 };

                r = notes_list(p, &notes, &err);
                if (r < 0)
                        return report(r, &err);
                for (size_t i = 0; i < notes.n; i++)
                        printf("%" PRIu32 "\t%s\n", notes.items[i].id, notes.items[i].title);
                if (notes.n == 0)
                        printf("(no notes)\n");
                notes_summary_array_clear(&notes);
        } else if (strcmp(cmd, "get") == 0 && argc == 2) {
                notes_note note;
                char when[64] = "?";
                time_t t;

                if (!parse_id(argv[1], &id)) {
                        usage(stderr);
                        return 2;
                }
                r = notes_get(p, id, &note, &err);
                if (r < 0) /* e.g. NOTES_ERROR_NOT_FOUND */
                        return report(r, &err);
                t = (time_t)note.created;
                strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime(&t));
                printf("id: %" PRIu32 "\ntitle: %s\ncreated: %s\n%s\n", note.id, note.title, when, note.body);
                notes_note_clear(&note);
        } else if (strcmp(cmd, "delete") == 0 && argc == 2) {
                if (!parse_id(argv[1], &id)) {
                        usage(stderr);
                        return 2;
                }
                r = notes_on_changed(p, on_changed, &seen, NULL);
                if (r >= 0)
                        r = notes_remove(p, id, &err);
                if (r < 0)
                        return report(r, &err);
                printf("deleted note %" PRIu32 "\n", id);
                wait_changed(p, &seen);
        } else if (strcmp(cmd, "count") == 0 && argc == 1) {
                uint32_t count;

                r = notes_get_count(p, &count, &err);
                if (r < 0)
                        return report(r, &err);
                printf("%" PRIu32 "\n", count);
        } else {
                usage(stderr);
                return 2;
        }
        return 0;
}

int main(int argc, char **argv) {
        const char *bus = "session";
        busrpc_conn *conn = NULL;
        busrpc_proxy *proxy = NULL;
        int i = 1, r;

        if (argc > 2 && strcmp(argv[1], "--bus") == 0) {
                bus = argv[2];
                i = 3;
        }
        if (i >= argc) {
                usage(stderr);
                return 2;
        }
        if (strcmp(argv[i], "--help") == 0) {
                usage(stdout);
                return 0;
        }
        r = busrpc_conn_open(bus, &conn);
        if (r < 0) {
                fprintf(stderr, "notes-client: cannot connect to %s: %s\n", bus, strerror(-r));
                return 1;
        }
        r = notes_proxy_new(conn, NOTES_NAME, NOTES_PATH, &proxy);
        if (r < 0) {
                fprintf(stderr, "notes-client: %s\n", strerror(-r));
                busrpc_conn_unref(conn);
                return 1;
        }
        r = run(proxy, argc - i, argv + i);
        busrpc_proxy_unref(proxy);
        busrpc_conn_unref(conn);
        return r;
}
