# valgrind-two.sh: sourced by the -valgrind.sh wrappers of tests whose
# program forks a server (test-marshal, test-roundtrip). valgrind_two PROG
# MIN_OK runs $top_builddir/tests/PROG under valgrind in every process it
# makes, and checks: it passes, at least MIN_OK of its checks ran, each
# process with a valgrind summary has no invalid access and no definite
# or indirect leak, no fd is open at exit except the standard ones and
# those inherited from the test harness, and valgrind saw at least two
# processes (the client and the forked server).
# shellcheck shell=sh
valgrind_two() {
	: "${VALGRIND:=valgrind}"
	need "$VALGRIND"
	vg_prog=$top_builddir/tests/$1
	[ -x "$vg_prog" ] || tap_bail "$vg_prog is not built"
	vg_tmp=$(mktemp -d) || tap_bail "mktemp failed"
	trap 'rm -rf "$vg_tmp"' EXIT INT TERM

	# libtool wraps the program in a script when it links the uninstalled
	# library; run valgrind on the real binary through libtool --mode=execute.
	vg_run="$VALGRIND"
	if [ -x "$top_builddir/libtool" ]; then
		vg_run="$top_builddir/libtool --mode=execute $VALGRIND"
	fi
	# shellcheck disable=SC2086
	$vg_run --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
		--track-fds=yes --error-exitcode=99 --log-file="$vg_tmp/vg.%p" "$vg_prog" >"$vg_tmp/tap" 2>&1
	vg_status=$?

	is "$vg_status" 0 "$1 passes under valgrind"
	if [ "$vg_status" -ne 0 ]; then
		grep -E '^(not ok|Bail)' "$vg_tmp/tap" | head -20 | sed 's/^/#   /'
	fi
	vg_ntap=$(grep -c '^ok ' "$vg_tmp/tap")
	[ "$vg_ntap" -ge "$2" ]; ok $? "its checks ran ($vg_ntap passed)"

	vg_nlogs=0
	for vg_log in "$vg_tmp"/vg.*; do
		[ -e "$vg_log" ] || continue
		vg_nlogs=$((vg_nlogs + 1))
		vg_pid=${vg_log##*.}
		vg_errs=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$vg_log" | tail -n 1)
		# The dbus-daemon child execs at once: its log has no summary.
		[ -n "$vg_errs" ] || continue
		is "$vg_errs" 0 "process $vg_pid: no memory errors or leaks"
		[ "$vg_errs" = 0 ] ||
			grep -A12 -E 'definitely lost|indirectly lost|Invalid|uninitialised' "$vg_log" | head -60 | sed 's/^/#   /'
		# An fd open at exit that is neither std nor inherited is a leak.
		vg_leaked=$(awk '/Open (file descriptor|AF_UNIX socket)/ { fd = $0; next }
			fd != "" { if ($0 !~ /inherited from parent/ && fd !~ /descriptor [012]:/) print fd; fd = "" }' "$vg_log")
		if [ -z "$vg_leaked" ]; then ok 0 "process $vg_pid: no fd leaked"; else
			ok 1 "process $vg_pid: no fd leaked"
			printf '%s\n' "$vg_leaked" | sed 's/^/#   /'
		fi
	done
	[ "$vg_nlogs" -ge 2 ]; ok $? "valgrind watched the client and the server ($vg_nlogs logs)"
}
