/* notes-service: serves org.example.Notes (notes.idl), a note store kept
 * in one file.
 *
 *   notes-service [--bus ADDRESS] [--file PATH]
 *
 * --bus: "session" (the default), "system" or a bus address; the service
 * owns org.example.Notes there. --file: the store (default ./notes.db),
 * created on the first change.
 *
 * Durability: every change rewrites the store to PATH.tmp, fsync()s it,
 * rename()s it over PATH and fsync()s the directory, and only then
 * replies. A crash at any point leaves either the old or the new file,
 * never a torn one, and a note whose Add was answered is on disk. If the
 * write fails the change is undone and the caller gets Notes.Error.Storage.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "notes.h"

#define NOTES_NAME "org.example.Notes"
#define NOTES_PATH "/org/example/Notes"
#define STORE_MAGIC "busrpc-notes 1"
#define TITLE_MAX 200
#define BODY_MAX 65536

typedef struct Store {
        char *path;
        notes_note *notes; /* oldest first */
        size_t n, cap;
        uint32_t next_id;
        busrpc_object *object;
} Store;

/* ---- the file: one note per line, tab-separated, \t \n \\ escaped ---- */

static void put_escaped(FILE *f, const char *s) {
        for (; *s; s++) {
                if (*s == '\\')
                        fputs("\\\\", f);
                else if (*s == '\t')
                        fputs("\\t", f);
                else if (*s == '\n')
                        fputs("\\n", f);
                else
                        fputc(*s, f);
        }
}

/* Unescape the field at *pos up to the next tab or the end, in place. */
static char *take_field(char **pos) {
        char *start = *pos, *in = start, *out = start;

        if (!start)
                return NULL;
        while (*in && *in != '\t') {
                if (*in == '\\') {
                        in++;
                        if (*in == 't')
                                *out++ = '\t';
                        else if (*in == 'n')
                                *out++ = '\n';
                        else if (*in == '\\')
                                *out++ = '\\';
                        else
                                return NULL;
                        in++;
                } else {
                        *out++ = *in++;
                }
        }
        *pos = *in ? in + 1 : NULL;
        *out = '\0';
        return start;
}

static int fsync_dir_of(const char *path) {
        char *copy = strdup(path);
        int fd, r = 0;

        if (!copy)
                return -ENOMEM;
        fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) < 0)
                r = -errno;
        if (fd >= 0)
                close(fd);
        free(copy);
        return r;
}

/* Write every note to PATH.tmp, make it durable, and put it in place. */
static int store_save(const Store *s) {
        char tmp[PATH_MAX];
        FILE *f;
        int fd, r = 0;

        if (snprintf(tmp, sizeof(tmp), "%s.tmp", s->path) >= (int)sizeof(tmp))
                return -ENAMETOOLONG;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        f = fdopen(fd, "w");
        if (!f) {
                r = -errno;
                close(fd);
                unlink(tmp);
                return r;
        }
        fprintf(f, "%s\n", STORE_MAGIC);
        for (size_t i = 0; i < s->n; i++) {
                fprintf(f, "%" PRIu32 "\t%" PRId64 "\t", s->notes[i].id, s->notes[i].created);
                put_escaped(f, s->notes[i].title);
                fputc('\t', f);
                put_escaped(f, s->notes[i].body);
                fputc('\n', f);
        }
        if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) < 0)
                r = -errno ? -errno : -EIO;
        if (fclose(f) != 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, s->path) < 0)
                r = -errno;
        if (r < 0) {
                unlink(tmp);
                return r;
        }
        /* The rename is durable only once the directory is. */
        return fsync_dir_of(s->path);
}

static int store_push(Store *s, notes_note *note) {
        if (s->n == s->cap) {
                size_t cap = s->cap ? 2 * s->cap : 16;
                notes_note *a = realloc(s->notes, cap * sizeof(*a));

                if (!a)
                        return -ENOMEM;
                s->notes = a;
                s->cap = cap;
        }
        s->notes[s->n++] = *note; /* the store takes what the note owns */
        if (note->id >= s->next_id)
                s->next_id = note->id + 1;
        return 0;
}

static int store_load(Store *s) {
        FILE *f = fopen(s->path, "re");
        char *line = NULL;
        size_t size = 0;
        ssize_t len;
        int r = 0, lineno = 0;

        if (!f)
                return errno == ENOENT ? 0 : -errno; /* no file yet: no notes */
        while ((len = getline(&line, &size, f)) >= 0) {
                notes_note note;
                char *pos = line, *id, *created, *title, *body, *end;

                lineno++;
                if (len > 0 && line[len - 1] == '\n')
                        line[len - 1] = '\0';
                if (lineno == 1) {
                        if (strcmp(line, STORE_MAGIC) != 0)
                                r = -EBADMSG;
                        if (r < 0)
                                break;
                        continue;
                }
                id = take_field(&pos);
                created = take_field(&pos);
                title = take_field(&pos);
                body = take_field(&pos);
                if (!id || !created || !title || !body || pos) {
                        r = -EBADMSG;
                        break;
                }
                notes_note_init(&note);
                note.id = (uint32_t)strtoul(id, &end, 10);
                note.created = strtoll(created, NULL, 10);
                note.title = strdup(title);
                note.body = strdup(body);
                if (*end || !note.title || !note.body || (r = store_push(s, &note)) < 0) {
                        notes_note_clear(&note);
                        r = r < 0 ? r : *end ? -EBADMSG : -ENOMEM;
                        break;
                }
        }
        if (r == 0 && ferror(f))
                r = -EIO;
        if (r < 0)
                fprintf(stderr, "notes-service: %s:%d: %s\n", s->path, lineno, strerror(-r));
        free(line);
        fclose(f);
        return r;
}

static ssize_t store_find(const Store *s, uint32_t id) {
        for (size_t i = 0; i < s->n; i++)
                if (s->notes[i].id == id)
                        return (ssize_t)i;
        return -1;
}

/* ---- the ops ---- */

static int notes_svc_add(void *self, busrpc_call *call, const char *title, const char *body, uint32_t *id) {
        Store *s = self;
        notes_note note;
        int r;

        if (!*title || strlen(title) > TITLE_MAX || strchr(title, '\n'))
                return notes_error_invalid(call, "a title is one line of 1 to %d bytes", TITLE_MAX);
        if (strlen(body) > BODY_MAX)
                return notes_error_invalid(call, "a body has at most %d bytes", BODY_MAX);
        notes_note_init(&note);
        note.id = s->next_id;
        note.created = (int64_t)time(NULL);
        note.title = strdup(title); /* inputs are borrowed: copy what we keep */
        note.body = strdup(body);
        if (!note.title || !note.body || store_push(s, &note) < 0) {
                notes_note_clear(&note);
                return -ENOMEM;
        }
        r = store_save(s);
        if (r < 0) {
                /* Not on disk, so not added: undo, and say why. */
                notes_note_clear(&s->notes[--s->n]);
                s->next_id--;
                return notes_error_storage(call, "cannot write %s: %s", s->path, strerror(-r));
        }
        *id = note.id;
        notes_emit_changed(s->object, note.id, NOTES_CHANGE_ADDED);
        notes_notify_count(s->object);
        return 0;
}

static int notes_svc_list(void *self, busrpc_call *call, notes_summary_array *out) {
        Store *s = self;

        (void)call;
        if (s->n == 0)
                return 0;
        /* The output starts empty; the skeleton frees what we put in it. */
        out->items = calloc(s->n, sizeof(*out->items));
        if (!out->items)
                return -ENOMEM;
        for (size_t i = 0; i < s->n; i++) {
                out->items[i].id = s->notes[i].id;
                out->items[i].title = strdup(s->notes[i].title);
                if (!out->items[i].title)
                        return -ENOMEM;
                out->n++;
        }
        return 0;
}

static int notes_svc_get(void *self, busrpc_call *call, uint32_t id, notes_note *note) {
        Store *s = self;
        ssize_t i = store_find(s, id);

        if (i < 0)
                return notes_error_not_found(call, "no note %" PRIu32, id);
        note->id = id;
        note->created = s->notes[i].created;
        note->title = strdup(s->notes[i].title);
        note->body = strdup(s->notes[i].body);
        return note->title && note->body ? 0 : -ENOMEM;
}

static int notes_svc_remove(void *self, busrpc_call *call, uint32_t id) {
        Store *s = self;
        ssize_t i = store_find(s, id);
        notes_note removed;
        int r;

        if (i < 0)
                return notes_error_not_found(call, "no note %" PRIu32, id);
        removed = s->notes[i];
        memmove(&s->notes[i], &s->notes[i + 1], (s->n - (size_t)i - 1) * sizeof(*s->notes));
        s->n--;
        r = store_save(s);
        if (r < 0) {
                /* Put it back where it was. */
                memmove(&s->notes[i + 1], &s->notes[i], (s->n - (size_t)i) * sizeof(*s->notes));
                s->notes[i] = removed;
                s->n++;
                return notes_error_storage(call, "cannot write %s: %s", s->path, strerror(-r));
        }
        notes_note_clear(&removed);
        notes_emit_changed(s->object, id, NOTES_CHANGE_DELETED);
        notes_notify_count(s->object);
        return 0;
}

static int notes_svc_get_count(void *self, uint32_t *count, busrpc_error *err) {
        (void)err;
        *count = (uint32_t)((Store *)self)->n;
        return 0;
}

static const notes_ops store_ops = {
        .add = notes_svc_add,
        .list = notes_svc_list,
        .get = notes_svc_get,
        .remove = notes_svc_remove,
        .get_count = notes_svc_get_count,
};

static void usage(FILE *f) {
        fprintf(f, "usage: notes-service [--bus ADDRESS] [--file PATH]\n");
}

int main(int argc, char **argv) {
        const char *bus = "session", *file = "notes.db";
        Store store = { .next_id = 1 };
        busrpc_conn *conn = NULL;
        int r;

        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--bus") == 0 && i + 1 < argc) {
                        bus = argv[++i];
                } else if (strcmp(argv[i], "--file") == 0 && i + 1 < argc) {
                        file = argv[++i];
                } else if (strcmp(argv[i], "--help") == 0) {
                        usage(stdout);
                        return 0;
                } else {
                        usage(stderr);
                        return 2;
                }
        }
        store.path = strdup(file);
        if (!store.path)
                return 1;
        r = store_load(&store);
        if (r < 0)
                goto out;

        r = busrpc_conn_open(bus, &conn);
        if (r < 0) {
                fprintf(stderr, "notes-service: cannot connect to %s: %s\n", bus, strerror(-r));
                goto out;
        }
        r = notes_export(conn, NOTES_PATH, &store_ops, &store, &store.object);
        if (r < 0)
                goto out;
        r = busrpc_conn_request_name(conn, NOTES_NAME, BUSRPC_NAME_DO_NOT_QUEUE, NULL, NULL, NULL);
        if (r < 0) {
                fprintf(stderr, "notes-service: cannot own %s: %s\n", NOTES_NAME, strerror(-r));
                goto out;
        }
        printf("notes-service: %zu note(s) from %s; ready\n", store.n, store.path);
        fflush(stdout);
        r = busrpc_conn_run(conn); /* until SIGTERM or SIGINT, or the bus goes away */
        if (r == -ECONNRESET) /* exit 1: a supervisor starts us again on the new bus */
                fprintf(stderr, "notes-service: lost the connection to %s; exiting\n", bus);
out:
        if (r < 0 && r != -ECONNRESET)
                fprintf(stderr, "notes-service: %s\n", strerror(-r));
        busrpc_object_release(store.object);
        busrpc_conn_unref(conn);
        for (size_t i = 0; i < store.n; i++)
                notes_note_clear(&store.notes[i]);
        free(store.notes);
        free(store.path);
        return r < 0 ? 1 : 0;
}
