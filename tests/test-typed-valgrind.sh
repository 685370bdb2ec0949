#!/bin/sh
# test-typed-valgrind.sh: tests/test-typed (the generated typed client and
# server in one process, through a private dbus-daemon and a peer socket)
# under valgrind: no invalid access, no definite or indirect leak, no fd
# left open at exit except the standard ones and those inherited from the
# test harness. The dbus-daemon children exec at once (no summary).
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/valgrind-check.sh"
valgrind_all test-typed 200 1 test-typed
tap_done
