/* names.h: the D-Bus specification's rules for names and UTF-8 ("Valid
 * names", "Object paths"), one copy for every part of busrpc: the runtime
 * (runtime/validate.c for local callers, the wire codec runtime/wire*.c
 * for received bytes), busrpc-idlc (idlc/check-names.c, gen-xml.c,
 * gen-docs.c) and the busrpc tool (tools/busrpc-json.c). Plain C: no
 * libdbus, no locale. Never installed.
 *
 * Every rule takes a length (wire strings carry theirs and may hold a NUL,
 * which no rule accepts); the C-string forms below call it with strlen().
 */
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
/* @len bytes of valid UTF-8 without a NUL (what libdbus accepts;
 * noncharacters such as U+FFFE are allowed, as libdbus since 1.9 does). */
bool names_utf8_valid(const char *s, size_t len);

/* Why a name was refused: one code per rule. */
typedef enum NamesErr {
        NAMES_OK = 0,
        NAMES_E_EMPTY,         /* no name at all (member names) */
        NAMES_E_TOO_LONG,      /* above NAMES_MAX_LEN */
        NAMES_E_EMPTY_ELEMENT, /* "a..b", ".a", "a." (and "" for a dotted name) */
        NAMES_E_DIGIT,         /* an element starts with a digit (at *ret_at) */
        NAMES_E_CHAR,          /* a character outside the name's set (at *ret_at) */
        NAMES_E_ONE_ELEMENT,   /* a dotted name needs at least two elements */
} NamesErr;

/**
 * names_check_dotted() - the rule of interface and error names: at least
 * two elements separated by '.', each [A-Za-z_][A-Za-z0-9_]*, at most 255
 * characters. @ret_at (may be NULL) gets the offset of the offending
 * character for NAMES_E_DIGIT and NAMES_E_CHAR. Return: NAMES_OK or why not.
 */
NamesErr names_check_dotted(const char *s, size_t len, size_t *ret_at);
/* The same for a member name: [A-Za-z_][A-Za-z0-9_]*, 1 to 255 characters. */
NamesErr names_check_member(const char *s, size_t len, size_t *ret_at);
/* "/" or "/"-separated non-empty elements of [A-Za-z0-9_] (no length limit). */
bool names_valid_object_path_len(const char *s, size_t len);

/* names_valid_bus_name_len()'s @flags: unique names (":...") as libdbus
 * 1.14 reads them: the first element may be empty and one element is
 * enough (":", ":.a", ":x" pass), what a message from the wire must be
 * checked by so that busrpc accepts what libdbus accepts. Without it, the
 * specification's rule: two non-empty elements. */
#define NAMES_BUS_LAX_UNIQUE 1u
/**
 * names_valid_bus_name_len() - a unique (":1.42") or well-known bus name:
 * elements of [A-Za-z0-9_-] separated by '.', a well-known name's
 * elements not starting with a digit, at least two elements, at most 255
 * characters; @flags: 0 or NAMES_BUS_LAX_UNIQUE.
 */
bool names_valid_bus_name_len(const char *s, size_t len, unsigned flags);

/* Why @s is not a valid interface (or error) name (names_check_dotted()),
 * or NULL when it is. @buf (may be NULL, then the reason is less precise)
 * holds the reason when it needs formatting. */
const char *names_bad_dotted(const char *s, char *buf, size_t size);
/* The same for a member name. */
const char *names_bad_member(const char *s, char *buf, size_t size);
/* C strings (NULL is not valid). */
bool names_valid_object_path(const char *s);
bool names_valid_bus_name(const char *s);
