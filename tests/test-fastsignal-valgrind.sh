#!/bin/sh
# test-fastsignal-valgrind.sh: tests/test-fastsignal (signals on the fast path,
# test and emitter processes, through a private dbus-daemon and a peer server)
# under valgrind: no invalid access, no definite or indirect leak, no fd
# left open at exit except the standard ones and those inherited from the
# test harness. The dbus-daemon children exec at once (no summary).
. "$top_srcdir/tests/tap.sh"

: "${VALGRIND:=valgrind}"
need "$VALGRIND"
prog=$top_builddir/tests/test-fastsignal
[ -x "$prog" ] || tap_bail "$prog is not built"
tmp=$(mktemp -d) || tap_bail "mktemp failed"
trap 'rm -rf "$tmp"' EXIT INT TERM

# libtool wraps the program in a script when it links the uninstalled
# library; run valgrind on the real binary through libtool --mode=execute.
run="$VALGRIND"
if [ -x "$top_builddir/libtool" ]; then
	run="$top_builddir/libtool --mode=execute $VALGRIND"
fi
# shellcheck disable=SC2086
$run --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
	--track-fds=yes --error-exitcode=99 --log-file="$tmp/vg.%p" "$prog" >"$tmp/tap" 2>&1
status=$?

is "$status" 0 "test-fastsignal passes under valgrind"
if [ "$status" -ne 0 ]; then
	grep -E '^(not ok|Bail)' "$tmp/tap" | head -20 | sed 's/^/#   /'
fi
ntap=$(grep -c '^ok ' "$tmp/tap")
[ "$ntap" -ge 82 ]; ok $? "its checks ran ($ntap passed)"

nlogs=0 nsum=0
for log in "$tmp"/vg.*; do
	[ -e "$log" ] || continue
	nlogs=$((nlogs + 1))
	pid=${log##*.}
	errs=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$log" | tail -n 1)
	# The dbus-daemon child execs at once: its log has no summary.
	[ -n "$errs" ] || continue
	nsum=$((nsum + 1))
	is "$errs" 0 "process $pid: no memory errors or leaks"
	[ "$errs" = 0 ] || grep -A12 -E 'definitely lost|indirectly lost|Invalid|uninitialised' "$log" | head -60 | sed 's/^/#   /'
	# An fd open at exit that is neither std nor inherited is a leak.
	leaked=$(awk '/Open (file descriptor|AF_UNIX socket)/ { fd = $0; next }
		fd != "" { if ($0 !~ /inherited from parent/ && fd !~ /descriptor [012]:/) print fd; fd = "" }' "$log")
	if [ -z "$leaked" ]; then ok 0 "process $pid: no fd leaked"; else
		ok 1 "process $pid: no fd leaked"
		printf '%s\n' "$leaked" | sed 's/^/#   /'
	fi
done
[ "$nsum" -ge 3 ]; ok $? "valgrind watched the test and both emitters ($nsum of $nlogs logs with a summary)"

tap_done
