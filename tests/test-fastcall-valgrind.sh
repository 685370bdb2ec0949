#!/bin/sh
# test-fastcall-valgrind.sh: tests/test-fastcall (the fast path, client and
# server processes, through a private dbus-daemon and a peer socket)
# under valgrind: no invalid access, no definite or indirect leak, no fd
# left open at exit except the standard ones and those inherited from the
# test harness. The dbus-daemon children exec at once (no summary).
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/valgrind-check.sh"
valgrind_all test-fastcall 120 2 test-fastcall
tap_done
