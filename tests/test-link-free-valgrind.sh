#!/bin/sh
# test-link-free-valgrind.sh: tests/test-link-free (callbacks dropping the
# last reference to the conn whose link is reading: review finding F1)
# under valgrind: no invalid access, no definite or indirect leak, no fd
# left open at exit but the standard ones and the harness's. Run with
# BUSRPC_FAST_PATH=1 and =0 (the test takes the environment as it is).
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/valgrind-check.sh"
valgrind_one test-link-free 15
tap_done
