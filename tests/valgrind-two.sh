# valgrind-two.sh: sourced by the -valgrind.sh wrappers of tests whose
# program forks a server (test-marshal, test-roundtrip). valgrind_two PROG
# MIN_OK runs $top_builddir/tests/PROG under valgrind in every process it
# makes, and checks: it passes, at least MIN_OK of its checks ran, each
# process with a valgrind summary has no invalid access and no definite
# or indirect leak, no fd is open at exit except the standard ones and
# those inherited from the test harness (tests/valgrind-check.sh), and
# valgrind saw at least two processes (the client and the forked server).
# shellcheck shell=sh
. "$top_srcdir/tests/valgrind-check.sh"

valgrind_two() {
	vg_check "$1" "$2" ""
	[ "$vg_nlogs" -ge 2 ]; ok $? "valgrind watched the client and the server ($vg_nlogs logs)"
}
