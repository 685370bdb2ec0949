#!/bin/sh
# tests/test-bench.sh: every benchmark program serves and calls, and the
# driver prints every row of its table. A smoke test with tiny counts: it
# asserts that each measurement ran and gave a figure, never how fast.
. "$top_srcdir/tests/tap.sh"

b=$top_builddir
out=$(mktemp)
trap 'rm -f "$out"' EXIT

for impl in busrpc libdbus sdbus raw; do
	if [ -x "$b/bench/bench-$impl" ]; then
		ok 0 "bench-$impl is built"
	else
		hint=
		[ "$impl" = sdbus ] && hint=" (configure did not find libsystemd: apt-get install libsystemd-dev)"
		ok 1 "bench-$impl is built$hint"
	fi
done

/usr/bin/python3 "$top_srcdir/bench/run" --builddir "$b" --quick --callgrind >"$out" 2>&1
ok $? "bench/run --quick --callgrind exits 0"
diag "$(cat "$out")"

# One row per (case, implementation), each with a time per call.
for row in "add p2p:busrpc libdbus sdbus raw" "add bus:busrpc libdbus sdbus" \
	"64 in flight p2p:busrpc libdbus sdbus raw" "64 in flight bus:busrpc libdbus sdbus" \
	"1 MiB byte\[\] p2p:busrpc libdbus sdbus raw" "1 MiB shm p2p:busrpc direct fresh byte\[\] raw" \
	"16 MiB byte\[\] p2p:busrpc libdbus sdbus raw" "16 MiB shm p2p:busrpc direct fresh byte\[\] raw" \
	"add p2p, 1 object:busrpc libdbus sdbus" "add p2p, 10,000 objects:busrpc libdbus sdbus"; do
	case=${row%%:*}
	for impl in ${row#*:}; do
		grep -Eq "^$case +$impl +[0-9.]+ (us|ms) " "$out"
		ok $? "a figure for '$case' by $impl"
	done
done
for line in "^1 MiB vs byte\[\] +shm \(pool, copied\): [0-9.]+x the time of byte\[\]" \
	"^1 MiB vs byte\[\] +shm \(pool, direct\): [0-9.]+x" "^1 MiB vs byte\[\] +shm \(fresh memfd\): [0-9.]+x" \
	"^16 MiB vs raw +shm \(pool, copied\): [0-9.]+x the time of raw" \
	"^16 MiB vs raw +shm \(pool, direct\): [0-9.]+x" "^16 MiB vs raw +shm \(fresh memfd\): [0-9.]+x" \
	"^dispatch, 10,000 objects +[0-9.]+x" "^export +[0-9.]+ (us|ms) for 1000 objects" \
	"^wall time, p2p Add +[0-9.]+x"; do
	grep -Eq "$line" "$out"
	ok $? "summary line /$line/"
done
# Instructions per call: positive counts for both sides of every implementation.
for t in peer bus; do
	for impl in libdbus sdbus busrpc; do
		grep -Eq "^$t +$impl +[1-9][0-9]* +[1-9][0-9]* +[1-9][0-9]* " "$out"
		ok $? "callgrind: instructions per Add for $impl ($t), client and server"
	done
done
grep -Eq '^peer +raw +[1-9]' "$out"
ok $? "callgrind: the raw socket's instructions per call"
grep -q '^bench: done$' "$out"
ok $? "no measurement failed"

# bench-wire (the wire codec vs libdbus, for callgrind): each mode runs and
# checks its own results (docs/performance.md has the figures).
for mode in encode decode dbus-encode dbus-decode; do
	"$b/bench/bench-wire" "$mode" 100 >"$out" 2>&1
	ok $? "bench-wire $mode: 100 Add messages, results checked"
done
tap_done
