#!/bin/sh
# test-held-fds-valgrind.sh: tests/test-held-fds (the fds a sync call holds
# back while it waits, busrpc_conn_set_max_held_fds()) under valgrind: no
# invalid access, no definite or indirect leak, no fd left open at exit but
# the standard ones and the harness's; the held fds are closed on the
# timeout's path too. The forked peer server and bus service are not
# watched (--child-silent-after-fork). Takes BUSRPC_FAST_PATH from the
# environment as the test does.
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/valgrind-check.sh"
valgrind_one test-held-fds 60
tap_done
