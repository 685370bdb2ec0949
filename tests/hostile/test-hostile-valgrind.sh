#!/bin/sh
# tests/hostile/hostile.py with the server under valgrind: every case, and
# every stop of the server must be a clean valgrind exit (no error, no
# definite leak); time bounds are scaled for valgrind's slowness.
. "$top_srcdir/tests/tap.sh"
need /usr/bin/python3 setpriv "${BUSCTL:-busctl}" "${VALGRIND:-valgrind}"
HOSTILE_VALGRIND=1 exec /usr/bin/python3 "$top_srcdir/tests/hostile/hostile.py"
