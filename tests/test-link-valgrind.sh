#!/bin/sh
# test-link-valgrind.sh: tests/test-link (client conns on busrpc's own
# transport: peer socket, private bus, reconnection, a hostile peer, a
# handler's nested sync calls) under valgrind, in the test's own process:
# no invalid access, no definite or indirect leak, no fd open at exit but
# the standard ones and those inherited from the harness. The service
# children it forks (they inherit the client's sockets, and some are
# killed in the middle of a call on purpose) are not watched
# (--child-silent-after-fork); their side has its own valgrind tests.
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/valgrind-check.sh"
valgrind_one test-link 100 "the client process"
tap_done
