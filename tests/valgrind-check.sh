# valgrind-check.sh: sourced by the -valgrind.sh wrappers (and by
# valgrind-two.sh). Each runs $top_builddir/tests/PROG under valgrind and
# checks: it passes, at least MIN_OK of its checks ran, each process with a
# valgrind summary has no invalid access and no definite or indirect leak,
# and no fd is open at its exit except the standard ones and those
# inherited from the test harness. They differ in which processes valgrind
# watches and in how many it must have seen:
#
# valgrind_one PROG MIN_OK [WHO]: the test process only
#	(--child-silent-after-fork: its forked peers and services are not
#	watched); valgrind saw exactly one process. WHO names it in the check
#	descriptions ("the test process" unless given).
# valgrind_all PROG MIN_OK MIN_WATCHED WHAT: every process the test makes;
#	at least MIN_WATCHED of them left a valgrind summary (a child that
#	execs at once, such as a dbus-daemon, leaves a log with none). WHAT
#	names them in the last check's description.
# shellcheck shell=sh

# vg_check PROG MIN_OK WHO: runs PROG and checks each log. With WHO set, only
# the test process is watched and the checks are named after WHO; with WHO
# empty, every process is, and the checks are named after its pid. Sets
# vg_nlogs (the logs valgrind wrote) and vg_nsum (those with a summary).
vg_check() {
	: "${VALGRIND:=valgrind}"
	need "$VALGRIND"
	vg_prog=$top_builddir/tests/$1
	[ -x "$vg_prog" ] || tap_bail "$vg_prog is not built"
	vg_tmp=$(mktemp -d) || tap_bail "mktemp failed"
	trap 'rm -rf "$vg_tmp"' EXIT INT TERM

	vg_silent=
	[ -z "$3" ] || vg_silent=--child-silent-after-fork=yes
	# libtool wraps the program in a script when it links the uninstalled
	# library; run valgrind on the real binary through libtool --mode=execute.
	vg_run="$VALGRIND"
	if [ -x "$top_builddir/libtool" ]; then
		vg_run="$top_builddir/libtool --mode=execute $VALGRIND"
	fi
	# shellcheck disable=SC2086
	$vg_run --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
		--track-fds=yes $vg_silent --error-exitcode=99 --log-file="$vg_tmp/vg.%p" "$vg_prog" >"$vg_tmp/tap" 2>&1
	vg_status=$?

	is "$vg_status" 0 "$1 passes under valgrind"
	if [ "$vg_status" -ne 0 ]; then
		grep -E '^(not ok|Bail)' "$vg_tmp/tap" | head -20 | sed 's/^/#   /'
	fi
	vg_ntap=$(grep -c '^ok ' "$vg_tmp/tap")
	[ "$vg_ntap" -ge "$2" ]; ok $? "its checks ran ($vg_ntap passed)"

	vg_nlogs=0 vg_nsum=0
	for vg_log in "$vg_tmp"/vg.*; do
		[ -e "$vg_log" ] || continue
		vg_nlogs=$((vg_nlogs + 1))
		vg_errs=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$vg_log" | tail -n 1)
		# A child that execs at once leaves a log with no summary.
		[ -n "$vg_errs" ] || continue
		vg_nsum=$((vg_nsum + 1))
		if [ -n "$3" ]; then
			vg_name_mem="no memory error or leak in $3"
			vg_name_fd="no fd left open in $3"
		else
			vg_pid=${vg_log##*.}
			vg_name_mem="process $vg_pid: no memory errors or leaks"
			vg_name_fd="process $vg_pid: no fd leaked"
		fi
		is "$vg_errs" 0 "$vg_name_mem"
		[ "$vg_errs" = 0 ] ||
			grep -A12 -E 'definitely lost|indirectly lost|Invalid|uninitialised' "$vg_log" | head -60 | sed 's/^/#   /'
		# An fd open at exit that is neither std nor inherited is a leak.
		vg_leaked=$(awk '/Open (file descriptor|AF_UNIX socket)/ { fd = $0; next }
			fd != "" { if ($0 !~ /inherited from parent/ && fd !~ /descriptor [012]:/) print fd; fd = "" }' "$vg_log")
		if [ -z "$vg_leaked" ]; then ok 0 "$vg_name_fd"; else
			ok 1 "$vg_name_fd"
			printf '%s\n' "$vg_leaked" | sed 's/^/#   /'
		fi
	done
}

valgrind_one() {
	vg_who=${3:-the test process}
	vg_check "$1" "$2" "$vg_who"
	is "$vg_nsum" 1 "valgrind watched $vg_who"
}

valgrind_all() {
	vg_check "$1" "$2" ""
	[ "$vg_nsum" -ge "$3" ]; ok $? "valgrind watched $4 ($vg_nsum of $vg_nlogs logs with a summary)"
}
