#!/bin/sh
# The data-layer tests again, under valgrind: no invalid accesses, no
# definite leaks, no leaked fds.
. "$top_srcdir/tests/tap.sh"
[ -n "$VALGRIND" ] || tap_bail "valgrind not found (configure found none)"
cd "$top_builddir" || tap_bail "no build dir"
for t in test-message test-variant test-shm test-dict test-error test-proxy test-peer-call test-reply test-python test-validate; do
	[ -x "tests/$t" ] || tap_bail "tests/$t not built"
	log=$(mktemp)
	./libtool --mode=execute "$VALGRIND" -q --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite --track-fds=yes "tests/$t" >"$log.out" 2>"$log"
	rc=$?
	ok "$rc" "$t under valgrind (exit $rc)"
	# Count fds that were neither inherited nor std streams.
	leaked=$(grep -A1 'Open file descriptor' "$log" | grep -vc -e 'Open file' -e 'inherited' -e '^--')
	is "$leaked" 0 "$t leaks no fds"
	[ "$rc" -eq 0 ] || sed -n '1,40p' "$log" | sed 's/^/#   /'
	rm -f "$log" "$log.out"
done
tap_done
