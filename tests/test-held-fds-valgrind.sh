#!/bin/sh
# test-held-fds-valgrind.sh: tests/test-held-fds (the fds a sync call holds
# back while it waits, busrpc_conn_set_max_held_fds()) under valgrind: no
# invalid access, no definite or indirect leak, no fd left open at exit but
# the standard ones and the harness's; the held fds are closed on the
# timeout's path too. The forked peer server and bus service are not
# watched (--child-silent-after-fork). Takes BUSRPC_FAST_PATH from the
# environment as the test does.
. "$top_srcdir/tests/tap.sh"

: "${VALGRIND:=valgrind}"
need "$VALGRIND"
prog=$top_builddir/tests/test-held-fds
[ -x "$prog" ] || tap_bail "$prog is not built"
tmp=$(mktemp -d) || tap_bail "mktemp failed"
trap 'rm -rf "$tmp"' EXIT INT TERM

# libtool wraps the program in a script when it links the uninstalled
# library: valgrind the real binary through libtool --mode=execute.
run="$VALGRIND"
if [ -x "$top_builddir/libtool" ]; then
	run="$top_builddir/libtool --mode=execute $VALGRIND"
fi
# shellcheck disable=SC2086
$run --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
	--track-fds=yes --child-silent-after-fork=yes --error-exitcode=99 --log-file="$tmp/vg.%p" \
	"$prog" >"$tmp/tap" 2>&1
status=$?

is "$status" 0 "test-held-fds passes under valgrind"
if [ "$status" -ne 0 ]; then
	grep -E '^(not ok|Bail)' "$tmp/tap" | head -20 | sed 's/^/#   /'
fi
ntap=$(grep -c '^ok ' "$tmp/tap")
[ "$ntap" -ge 60 ]; ok $? "its checks ran ($ntap passed)"

nsum=0
for log in "$tmp"/vg.*; do
	[ -e "$log" ] || continue
	errs=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$log" | tail -n 1)
	[ -n "$errs" ] || continue
	nsum=$((nsum + 1))
	is "$errs" 0 "no memory error or leak in the test process"
	[ "$errs" = 0 ] || grep -A12 -E 'definitely lost|indirectly lost|Invalid|uninitialised' "$log" | head -60 | sed 's/^/#   /'
	leaked=$(awk '/Open (file descriptor|AF_UNIX socket)/ { fd = $0; next }
		fd != "" { if ($0 !~ /inherited from parent/ && fd !~ /descriptor [012]:/) print fd; fd = "" }' "$log")
	if [ -z "$leaked" ]; then ok 0 "no fd left open in the test process"; else
		ok 1 "no fd left open in the test process"
		printf '%s\n' "$leaked" | sed 's/^/#   /'
	fi
done
is "$nsum" 1 "valgrind watched the test process"

tap_done
