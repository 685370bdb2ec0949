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

# One row per (case, implementation), each with a time per call; busrpc
# twice, on its own transport (-fast) and on libdbus (-dbus). A fast row
# that did not run on busrpc's transport is FAILED, so it fails here too.
both="busrpc-fast busrpc-dbus"
for row in "add p2p:$both libdbus sdbus raw" "add bus:$both libdbus sdbus" \
	"64 in flight p2p:$both libdbus sdbus raw" "64 in flight bus:$both libdbus sdbus" \
	"1 MiB byte\[\] p2p:$both libdbus sdbus raw" "16 MiB byte\[\] p2p:$both libdbus sdbus raw" \
	"1 MiB shm p2p:$both direct-fast direct-dbus fresh-fast fresh-dbus byte\[\]-fast byte\[\]-dbus raw" \
	"16 MiB shm p2p:$both direct-fast direct-dbus fresh-fast fresh-dbus byte\[\]-fast byte\[\]-dbus raw" \
	"add p2p, 1 object:$both libdbus sdbus" "add p2p, 10,000 objects:$both libdbus sdbus"; do
	case=${row%%:*}
	for impl in ${row#*:}; do
		grep -Eq "^$case +$impl +[0-9.]+ (us|ms) " "$out"
		ok $? "a figure for '$case' by $impl"
	done
done
# Every 64-in-flight client really kept 64 calls in flight (the driver
# fails a row whose client never had BENCH_WINDOW calls out at once).
for impl in $both libdbus sdbus raw; do
	grep -Eq "^64 in flight p2p +$impl +[0-9.]+ (us|ms) .* in flight: peak 64," "$out"
	ok $? "64 in flight p2p, $impl: 64 calls in flight at once"
done
for mode in fast dbus; do
	for line in "^1 MiB vs byte\[\]-$mode +shm \(pool, copied\) $mode: [0-9.]+x the time of byte\[\]" \
		"^1 MiB vs byte\[\]-$mode +shm \(pool, direct\) $mode: [0-9.]+x" \
		"^1 MiB vs byte\[\]-$mode +shm \(fresh memfd\) $mode: [0-9.]+x" \
		"^16 MiB vs raw +shm \(pool, copied\) $mode: [0-9.]+x the time of raw" \
		"^16 MiB vs raw +shm \(pool, direct\) $mode: [0-9.]+x" "^16 MiB vs raw +shm \(fresh memfd\) $mode: [0-9.]+x" \
		"^dispatch, 10,000 objects +busrpc-$mode: [0-9.]+x" "^wall time, p2p Add +busrpc-$mode: [0-9.]+x"; do
		grep -Eq "$line" "$out"
		ok $? "summary line /$line/"
	done
done
grep -Eq "^export +[0-9.]+ (us|ms) for 1000 objects" "$out"
ok $? "summary line: export"
# Instructions per call: positive counts for both sides of every implementation.
for t in peer bus; do
	for impl in libdbus sdbus $both; do
		grep -Eq "^$t +$impl +[1-9][0-9]* +[1-9][0-9]* +[1-9][0-9]* " "$out"
		ok $? "callgrind: instructions per Add for $impl ($t), client and server"
	done
	grep -Eq "^$t +link check, busrpc-fast: fast path on:" "$out"
	ok $? "callgrind: busrpc-fast runs its calls on busrpc's transport ($t)"
done
for impl in libdbus sdbus $both; do
	grep -Eq "^pipeline +$impl +[1-9][0-9]* +[1-9][0-9]* +[1-9][0-9]* +in flight" "$out"
	ok $? "callgrind: instructions per Add with 64 in flight for $impl"
done
grep -Eq '^peer +raw +[1-9]' "$out"
ok $? "callgrind: the raw socket's instructions per call"
for impl in $both; do
	grep -Eq "^peer +$impl +[1-9][0-9]* +[1-9][0-9]* +[1-9][0-9]* +\(100 objects exported" "$out"
	ok $? "callgrind: $impl with 100 objects exported"
done
# The targets block: one line per target of issues 10 and 12.
n=$(grep -Ec '^  #1[02] ' "$out")
[ "$n" -eq 14 ]
ok $? "targets: 14 lines (got $n)"
grep -q '^bench: done$' "$out"
ok $? "no measurement failed"

# A broken implementation does not stop the run: a fake bench-busrpc whose
# fast-path client hangs (add) or fails (pipeline) next to the real
# programs. Its rows are FAILED with the reason, the other rows have their
# figures, the run ends (--timeout 3) with exit status 1, and the hung
# processes are gone.
fake=$(mktemp -d)
trap 'rm -f "$out"; rm -rf "$fake"' EXIT
mkdir "$fake/bench"
for p in bench-libdbus bench-sdbus bench-raw; do
	[ -x "$b/bench/$p" ] && ln -s "$b/bench/$p" "$fake/bench/$p"
done
ln -s "$b/busrpc-bus" "$fake/busrpc-bus"
cat >"$fake/bench/bench-busrpc" <<EOF
#!/bin/sh
if [ "\$BUSRPC_FAST_PATH" = 1 ]; then
	echo \$\$ >>"$fake/pids"
	case "\$1 \$4" in
	"server "*) echo ready; exec sleep 600 ;;
	*" pipeline") echo "fake: pipeline broke" >&2; exit 3 ;;
	*) exec sleep 600 ;;
	esac
fi
exec "$b/bench/bench-busrpc" "\$@"
EOF
chmod +x "$fake/bench/bench-busrpc"
/usr/bin/python3 "$top_srcdir/bench/run" --builddir "$fake" --quick --only "add p2p,64 in flight p2p" --rounds 2 \
	--timeout 3 --no-link-check >"$out" 2>&1
r=$?
diag "$(cat "$out")"
[ $r -eq 1 ]
ok $? "a run with failing rows exits 1 (got $r)"
grep -Eq "^add p2p +busrpc-fast +FAILED: client timed out after 3 s" "$out"
ok $? "a hanging client: its row is FAILED, timed out"
grep -Eq "^64 in flight p2p +busrpc-fast +FAILED: client exited with 3: fake: pipeline broke" "$out"
ok $? "a failing client: its row is FAILED with its last error line"
for impl in busrpc-dbus libdbus raw; do
	grep -Eq "^add p2p +$impl +[0-9.]+ (us|ms) " "$out" && grep -Eq "^64 in flight p2p +$impl +[0-9.]+ (us|ms) " "$out"
	ok $? "the other rows have their figures ($impl)"
done
grep -Eq "^bench: [1-9][0-9]* measurement\(s\) failed$" "$out"
ok $? "the run says how many measurements failed"
left=0
for pid in $(cat "$fake/pids"); do
	kill -0 "$pid" 2>/dev/null && left=$((left + 1)) && kill "$pid"
done
[ $left -eq 0 ]
ok $? "no process of a failed row is left running ($left)"

# bench-wire (the wire codec vs libdbus, for callgrind): each mode runs and
# checks its own results (docs/performance.md has the figures).
for mode in encode decode dbus-encode dbus-decode; do
	"$b/bench/bench-wire" "$mode" 100 >"$out" 2>&1
	ok $? "bench-wire $mode: 100 Add messages, results checked"
done
tap_done
