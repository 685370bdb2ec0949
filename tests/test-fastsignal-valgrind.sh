#!/bin/sh
# test-fastsignal-valgrind.sh: tests/test-fastsignal (signals on the fast path,
# test and emitter processes, through a private dbus-daemon and a peer server)
# under valgrind: no invalid access, no definite or indirect leak, no fd
# left open at exit except the standard ones and those inherited from the
# test harness. The dbus-daemon children exec at once (no summary).
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/valgrind-check.sh"
valgrind_all test-fastsignal 82 3 "the test and both emitters"
tap_done
