#!/bin/sh
# test-link-users-valgrind.sh: tests/test-link-users (signal subscriptions
# released from their own callbacks, after their conn was freed, across a
# reconnection; caller credentials; on libdbus and on the fast path) under
# valgrind: no invalid access, no definite or indirect leak, no fd left open
# at exit except the standard ones and those inherited from the test
# harness. The dbus-daemon and peer-server children exec at once (no
# summary).
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/valgrind-check.sh"
valgrind_all test-link-users 140 1 test-link-users
tap_done
