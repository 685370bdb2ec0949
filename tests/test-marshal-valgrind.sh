#!/bin/sh
# test-marshal-valgrind.sh: tests/test-marshal under valgrind, in both of
# its processes (the client and the forked server): no invalid access, no
# definite or indirect leak, no fd left open at exit except the standard
# ones and those inherited from the test harness (tests/valgrind-two.sh).
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/valgrind-two.sh"
valgrind_two test-marshal 140
tap_done
