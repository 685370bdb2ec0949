#!/bin/sh
# tests/test-shm-pool under valgrind: no invalid access (a slot read after
# its mapping went would show), no definite leak, no leaked fd; the
# service child runs under valgrind too (fork, no exec).
. "$top_srcdir/tests/tap.sh"
[ -n "$VALGRIND" ] || tap_bail "valgrind not found (configure found none)"
cd "$top_builddir" || tap_bail "no build dir"
[ -x tests/test-shm-pool ] || tap_bail "tests/test-shm-pool not built"
log=$(mktemp)
./libtool --mode=execute "$VALGRIND" -q --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite --track-fds=yes tests/test-shm-pool >"$log.out" 2>"$log"
rc=$?
ok "$rc" "test-shm-pool under valgrind (exit $rc)"
[ "$rc" -eq 0 ] || { sed -n '1,60p' "$log" | sed 's/^/#   /'; grep '^not ok' "$log.out" | sed 's/^/#   /'; }
fails=$(grep -c '^not ok' "$log.out")
passed=$(grep -c '^ok ' "$log.out")
plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$log.out")
is "$fails" 0 "no check of test-shm-pool fails under valgrind"
is "$passed" "${plan:-none}" "every planned check ran and passed ($passed of ${plan:-no plan})"
leaked=$(grep -A1 'Open file descriptor' "$log" | grep -vc -e 'Open file' -e 'inherited' -e '^--')
is "$leaked" 0 "test-shm-pool leaks no fds"
rm -f "$log" "$log.out"
tap_done
