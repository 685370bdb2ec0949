/* names.h: the D-Bus specification's rules for names and UTF-8 ("Valid
 * names", "Object paths"), one copy for every part of busrpc: the runtime
 * (runtime/validate.c), busrpc-idlc (idlc/check-names.c, gen-xml.c,
 * gen-docs.c) and the busrpc tool (tools/busrpc-json.c). Plain C: no
 * libdbus, no locale. Never installed. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The specification's maximum length of any name. */
#define NAMES_MAX_LEN 255

/* Length (1 to 4) of the valid UTF-8 sequence at @s, of which at most
 * @avail bytes are read, and its code point in *@ret_cp (may be NULL); 0
 * when none starts there: a stray continuation byte, an overlong form, a
 * surrogate, a value past U+10FFFF, a truncated sequence. A NUL byte is a
 * sequence of 1 (callers that forbid it check). */
size_t names_utf8_len(const unsigned char *s, size_t avail, uint32_t *ret_cp);
/* @len bytes of valid UTF-8 without a NUL (what libdbus accepts). */
bool names_utf8_valid(const char *s, size_t len);

/* Why @s is not a valid interface (or error) name -- at least two
 * elements separated by '.', each [A-Za-z_][A-Za-z0-9_]*, at most 255
 * characters -- or NULL when it is. @buf (may be NULL, then the reason is
 * less precise) holds the reason when it needs formatting. */
const char *names_bad_dotted(const char *s, char *buf, size_t size);
/* The same for a member name: [A-Za-z_][A-Za-z0-9_]*, 1 to 255 characters. */
const char *names_bad_member(const char *s, char *buf, size_t size);
/* "/" or "/"-separated non-empty elements of [A-Za-z0-9_]. */
bool names_valid_object_path(const char *s);
/* A unique (":1.42") or well-known bus name. */
bool names_valid_bus_name(const char *s);
