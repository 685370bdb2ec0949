#!/bin/sh
# test-examples.sh: run every example for real, on a private bus started
# with busrpc-bus and on peer-to-peer sockets, and check what they print:
# calc (all of it, bus and peer, busctl against both), notes (persistence
# across a restart, a failed write), bulk (SHA-256 against sha256sum, shm
# and inline), bus-client (typed stubs from XML), and the demo itself.
. "$top_srcdir/tests/tap.sh"
need busctl sha256sum head timeout
b=$top_builddir
for f in busrpc-bus examples/calc/calc-service examples/calc/calc-client examples/notes/notes-service \
	examples/notes/notes-client examples/bulk/bulk-service examples/bulk/bulk-client \
	examples/bus-client/bus-client; do
	[ -x "$b/$f" ] || tap_bail "$f not built"
done
tmp=$(mktemp -d) || tap_bail "mktemp failed"
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT

# wait_for FILE PATTERN: up to 10 s.
wait_for() {
	i=0
	while [ $i -lt 100 ]; do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
# stop PID: SIGTERM and its exit status.
stop() {
	kill "$1" && wait "$1"
}

"$b/busrpc-bus" --socket "$tmp/bus/socket" >"$tmp/bus.out" 2>"$tmp/bus.err" &
bus_pid=$!
pids=$bus_pid
wait_for "$tmp/bus.out" '^unix:' || tap_bail "busrpc-bus did not start: $(cat "$tmp/bus.err")"
bus=$(head -n 1 "$tmp/bus.out")
diag "bus: $bus"

# ---- calc ----
peer=unix:path=$tmp/peer/calc.sock
"$b/examples/calc/calc-service" --bus "$bus" --peer "$peer" >"$tmp/calc.log" 2>&1 &
calc_pid=$!
pids="$calc_pid $pids"
wait_for "$tmp/calc.log" ready || tap_bail "calc-service did not start: $(cat "$tmp/calc.log")"

calc_expected='Add(2, 3) = 5
Add(2147483647, 1) = -2147483648
  signal Overflowed(2147483648, "Add")
Subtract(10, 4) = 6 (deprecated, still served)
Divide(10, 4) = 2.5
Divide(1, 0) -> error org.example.Calculator.Error.DivideByZero: cannot divide 1 by zero
Centroid([(0, 0), (4, 0), (4, 6), (0, 6)]) = (2, 3)
Tally({apples: 3, pears: 5, plums: 34}) = 42, [apples, pears, plums]
Add(40, 2) = 42 (while Slow is pending)
Slow(300, 7) = 7 (the reply came after the calls made meanwhile)
Slow(100000, 1) -> error org.freedesktop.DBus.Error.InvalidArgs: delay_ms must be at most 60000
get Name = "busrpc calculator"
get Capabilities = 0x3 (FAST EXACT)
get Mode = NONE
set Mode = UP
Divide(10, 4) = 3 (rounded UP)
set Secret = "hunter2"
get Secret -> error org.freedesktop.DBus.Error.AccessDenied: Property '"'Secret'"' is write-only
get Calls = 11
Reset() (no reply expected)
GetAll = Name "busrpc calculator", Mode UP, Calls 0, Capabilities 0x3'

out=$(timeout 60 "$b/examples/calc/calc-client" --bus "$bus" 2>&1)
ok $? "calc-client --bus exits 0"
is "$out" "$calc_expected" "calc-client --bus prints every call and its result"
out=$(timeout 60 "$b/examples/calc/calc-client" --peer "$peer" 2>&1)
ok $? "calc-client --peer exits 0"
is "$out" "$calc_expected" "calc-client --peer: the same results with no bus in between"

out=$(timeout 10 busctl --address="$bus" call org.example.Calculator /org/example/Calculator \
	org.example.Calculator Add ii 20 22 2>&1)
is "$out" "i 42" "busctl calls Add on the bus"
out=$(timeout 10 busctl --address="$peer" call org.example.Calculator /org/example/Calculator \
	org.example.Calculator Divide dd 1 0 2>&1)
ok "$([ $? -ne 0 ] && echo 0 || echo 1)" "busctl Divide by zero over the peer socket fails"
is "$out" "Call failed: cannot divide 1 by zero" "... with the service's message"
out=$(timeout 10 busctl --address="$bus" get-property org.example.Calculator /org/example/Calculator \
	org.example.Calculator Mode 2>&1)
is "$out" "u 3" "Mode is back to NONE (3) after the clients"
out=$(timeout 10 busctl --address="$bus" tree org.example.Calculator 2>&1)
case $out in *"/org/example/Calculator"*) r=0 ;; *) r=1 ;; esac
ok $r "busctl tree on the bus shows /org/example/Calculator"
out=$(timeout 10 busctl --address="$peer" introspect org.example.Calculator /org/example/Calculator 2>&1)
for want in '^\.Slow  *method  *ui  *i ' '^\.Reset .*no-reply' '^\.Subtract .*deprecated' \
	'^\.Secret  *property  *s .*writable' '^\.Capabilities .*const' '^\.Overflowed  *signal  *xs ' \
	'^org\.freedesktop\.DBus\.Properties  *interface'; do
	printf '%s\n' "$out" | grep -q "$want"
	ok $? "busctl introspect over the peer socket: $want"
done
stop "$calc_pid"
ok $? "calc-service exits 0 on SIGTERM"
pids=$bus_pid
is "$(tail -n 1 "$tmp/calc.log")" "calc-service: stopped after 2 calls since the last reset" \
	"calc-service counted the calls after the last Reset"

# ---- notes ----
store=$tmp/notes/notes.db
mkdir -p "$tmp/notes"
start_notes() {  # start_notes FILE
	# Empty the log here, not in the background job: otherwise wait_for
	# can read the previous run's "ready" before the new job truncates it.
	: >"$tmp/notes.log"
	"$b/examples/notes/notes-service" --bus "$bus" --file "$1" >"$tmp/notes.log" 2>&1 &
	notes_pid=$!
	pids="$notes_pid $bus_pid"
	wait_for "$tmp/notes.log" ready || tap_bail "notes-service did not start: $(cat "$tmp/notes.log")"
}
nc() { timeout 30 "$b/examples/notes/notes-client" --bus "$bus" "$@" 2>&1; }
start_notes "$store"
is "$(nc count)" "0" "notes: an empty store"
is "$(nc add Shopping 'milk
eggs')" "added note 1
signal Changed(1, ADDED)" "notes: add prints the id and the Changed signal"
is "$(nc add 'Call Bob' 'about	tabs and \backslashes')" "added note 2
signal Changed(2, ADDED)" "notes: a second note"
is "$(nc add 'Dentist' 'Tuesday')" "added note 3
signal Changed(3, ADDED)" "notes: a third note"
is "$(nc list)" "1	Shopping
2	Call Bob
3	Dentist" "notes: list, oldest first"
is "$(nc delete 1)" "deleted note 1
signal Changed(1, DELETED)" "notes: delete prints the Changed signal"
out=$(nc get 1)
ok "$([ $? -eq 1 ] && echo 0 || echo 1)" "notes: get of a deleted note fails"
is "$out" "notes-client: org.example.Notes.Error.NotFound: no note 1" "... with NotFound"
out=$(nc add '' body)
is "$out" "notes-client: org.example.Notes.Error.Invalid: a title is one line of 1 to 200 bytes" \
	"notes: an empty title is Invalid"
is "$(nc count)" "2" "notes: Count property"
stop "$notes_pid"
ok $? "notes-service exits 0 on SIGTERM"
ok "$([ ! -e "$store.tmp" ] && echo 0 || echo 1)" "notes: no temporary file left"
is "$(head -n 1 "$store")" "busrpc-notes 1" "notes: the store file has its header"

start_notes "$store"
is "$(nc list)" "2	Call Bob
3	Dentist" "notes: the notes survive a restart"
out=$(nc get 2)
is "$(printf '%s\n' "$out" | sed -n '1,2p;4,$p')" "id: 2
title: Call Bob
about	tabs and \\backslashes" "notes: get returns the body intact (tabs, backslashes)"
is "$(nc add 'After restart' x)" "added note 4
signal Changed(4, ADDED)" "notes: ids continue after a restart"
stop "$notes_pid"
pids=$bus_pid

# A crash right after the reply: the acknowledged note is on disk.
start_notes "$store"
is "$(nc add 'Survives a crash' 'kill -9')" "added note 5
signal Changed(5, ADDED)" "notes: add before a crash"
kill -KILL "$notes_pid"
wait "$notes_pid" 2>/dev/null
start_notes "$store"
is "$(nc list | tail -n 1)" "5	Survives a crash" "notes: after kill -9 and a restart, the acknowledged note is there"
stop "$notes_pid"
pids=$bus_pid

# A store that cannot be written: the change is refused and not made.
start_notes "$tmp/no-such-dir/notes.db"
out=$(nc add 'Lost?' x)
case $out in "notes-client: org.example.Notes.Error.Storage: cannot write $tmp/no-such-dir/notes.db: "*) r=0 ;; *) r=1 ;; esac
ok $r "notes: a failed write is a Storage error"
[ $r -eq 0 ] || diag "got: $out"
is "$(nc count)" "0" "notes: ... and the note was not added"
stop "$notes_pid"
pids=$bus_pid

# ---- bulk ----
mkdir -p "$tmp/data"
: >"$tmp/data/empty"
printf abc >"$tmp/data/abc"
for n in 55 56 63 64 65 119 1000; do head -c $n /dev/urandom >"$tmp/data/r$n"; done
head -c 3000001 /dev/urandom >"$tmp/data/big"
for f in "$tmp"/data/*; do
	is "$("$b/examples/bulk/bulk-client" --local "$f")" "$(sha256sum "$f")" "sha256.c agrees with sha256sum on ${f##*/}"
done
bpeer=unix:path=$tmp/peer/bulk.sock
"$b/examples/bulk/bulk-service" --bus "$bus" --peer "$bpeer" >"$tmp/bulk.log" 2>&1 &
bulk_pid=$!
pids="$bulk_pid $bus_pid"
wait_for "$tmp/bulk.log" ready || tap_bail "bulk-service did not start: $(cat "$tmp/bulk.log")"
sum=$(sha256sum "$tmp/data/big" | cut -d' ' -f1)
for how in "--bus $bus" "--peer $bpeer"; do
	# shellcheck disable=SC2086
	out=$(timeout 60 "$b/examples/bulk/bulk-client" $how --inline "$tmp/data/big" 2>&1)
	ok $? "bulk-client ${how%% *} exits 0"
	is "$(printf '%s\n' "$out" | sed -n 's/^Digest(shm) = //p')" "$sum, 3000001 bytes" \
		"bulk ${how%% *}: the service's SHA-256 of the shm buffer is sha256sum's"
	is "$(printf '%s\n' "$out" | sed -n 's/^DigestBytes(byte\[\]) = //p')" "$sum, 3000001 bytes" \
		"bulk ${how%% *}: the same sent inline"
	printf '%s\n' "$out" | grep -q '^  shm (memfd): 2\.9 MiB in .* MiB/s'
	ok $? "bulk ${how%% *}: prints the throughput"
done
out=$(timeout 30 "$b/examples/bulk/bulk-client" --peer "$bpeer" "$tmp/data/empty" 2>&1)
is "$(printf '%s\n' "$out" | sed -n 's/^Digest(shm) = //p')" \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855, 0 bytes" "bulk: an empty file"

# ---- bus-client (bulk-service still owns its name) ----
out=$(timeout 30 "$b/examples/bus-client/bus-client" --bus "$bus" 2>&1)
ok $? "bus-client exits 0"
printf '%s\n' "$out" | grep -q '^org\.freedesktop\.DBus  *org\.freedesktop\.DBus '
ok $? "bus-client lists the bus driver"
printf '%s\n' "$out" | grep -q "^org\.example\.Bulk  *:1\.[0-9]*  *$(id -u)  *$bulk_pid\$"
ok $? "bus-client lists org.example.Bulk with its owner, uid and pid"
printf '%s\n' "$out" | grep -q '^my unique name: :1\.[0-9]*$'
ok $? "bus-client prints its unique name"
printf '%s\n' "$out" | grep -q "^my credentials:.* ProcessID=u [0-9]"
ok $? "bus-client reads a map of variants (GetConnectionCredentials)"
stop "$bulk_pid"
ok $? "bulk-service exits 0 on SIGTERM"
pids=$bus_pid
stop "$bus_pid"
pids=

# ---- the services under valgrind: no memory error, no leak, per call ----
if [ -n "$VALGRIND" ] && [ -x "$b/libtool" ]; then
	"$b/busrpc-bus" --socket "$tmp/vbus/socket" >"$tmp/vbus.out" 2>/dev/null &
	vbus_pid=$!
	pids=$vbus_pid
	wait_for "$tmp/vbus.out" '^unix:' || tap_bail "busrpc-bus did not start"
	vbus=$(head -n 1 "$tmp/vbus.out")
	vpeer=unix:path=$tmp/vpeer/calc.sock
	"$b/libtool" --mode=execute "$VALGRIND" -q --leak-check=full --errors-for-leak-kinds=definite \
		--error-exitcode=99 "$b/examples/calc/calc-service" --bus "$vbus" --peer "$vpeer" \
		>"$tmp/vcalc.log" 2>&1 &
	vcalc_pid=$!
	pids="$vcalc_pid $vbus_pid"
	wait_for "$tmp/vcalc.log" ready || tap_bail "calc-service under valgrind did not start: $(cat "$tmp/vcalc.log")"
	out=$(timeout 120 "$b/examples/calc/calc-client" --bus "$vbus" 2>&1)
	is "$out" "$calc_expected" "calc-client against calc-service under valgrind (bus)"
	out=$(timeout 120 "$b/libtool" --mode=execute "$VALGRIND" -q --leak-check=full \
		--errors-for-leak-kinds=definite --error-exitcode=99 "$b/examples/calc/calc-client" --peer "$vpeer" 2>&1)
	ok $? "calc-client under valgrind: no memory error, no definite leak"
	is "$out" "$calc_expected" "calc-client under valgrind against calc-service under valgrind (peer)"
	stop "$vcalc_pid"
	st=$?
	ok $st "calc-service: no valgrind error and no definite leak"
	[ $st -eq 0 ] || sed 's/^/#   /' "$tmp/vcalc.log"
	stop "$vbus_pid"
	pids=
else
	ok 1 "valgrind runs the services (VALGRIND='$VALGRIND', libtool in $b)"
fi

# ---- the demo ----
mkdir -p "$tmp/demo-tmp"
out=$(TMPDIR=$tmp/demo-tmp timeout 120 "$top_srcdir/examples/demo.sh" "$b" 2>&1)
st=$?
ok $st "examples/demo.sh exits 0"
[ $st -eq 0 ] || printf '%s\n' "$out" | tail -n 30 | sed 's/^/#   /'
printf '%s\n' "$out" | grep -q 'Demo done: every step worked'
ok $? "the demo says every step worked"
is "$(ls -A "$tmp/demo-tmp")" "" "the demo removed its directory"
left=
for p in /proc/[0-9]*; do
	grep -q "$tmp/demo-tmp" "$p/cmdline" 2>/dev/null && left="$left ${p#/proc/}"
done
is "$left" "" "the demo left no process behind"
tap_done
