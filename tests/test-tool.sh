#!/bin/sh
# The busrpc command (H12) against real services on both transports: the
# interop kitchen sink (every type category round-tripping through JSON),
# examples/calc (every kind of member), examples/bulk (shm against
# sha256sum); get/set, introspect, tree, errors (exit status and error
# name), fds, monitor on a peer socket (busrpc, busctl and dbus-monitor) and
# on a bus, bash completion, and busrpc and the service under valgrind.
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/interop/lib.sh"
: "${VALGRIND:=valgrind}"
need "$BUSCTL" dbus-monitor sha256sum bash "$VALGRIND"
[ -x "$PY" ] || tap_bail "$PY not found"
BUSRPC=$top_builddir/busrpc
CALC=$top_builddir/examples/calc/calc-service
BULK=$top_builddir/examples/bulk/bulk-service
for p in "$BUSRPC" "$CALC" "$BULK"; do [ -x "$p" ] || tap_bail "$p not built"; done
D=$iop_dir

# same GOT WANT DESCRIPTION: equal as JSON values (numbers compared exactly).
same() {
	if "$PY" -c 'import json, sys
a = json.loads(sys.argv[1])
b = json.loads(sys.argv[2])
sys.exit(0 if a == b else 1)' "$1" "$2" 2>/dev/null; then ok 0 "$3"; else
		ok 1 "$3"
		printf '#   got:  %s\n#   want: %s\n' "$1" "$2"
	fi
}

start_bus
start_c_service
"$CALC" --bus "$BUS" --peer "unix:path=$D/calc.sock" > "$D/calc.out" 2> "$D/calc.err" &
iop_pids="$iop_pids $!"
"$BULK" --bus "$BUS" --peer "unix:path=$D/bulk.sock" > "$D/bulk.out" 2> "$D/bulk.err" &
iop_pids="$iop_pids $!"
wait_grep "$D/calc.out" ready || tap_bail "calc-service did not start"
wait_grep "$D/bulk.out" ready || tap_bail "bulk-service did not start"
CPEER=unix:path=$D/calc.sock
BPEER=unix:path=$D/bulk.sock

I=org.busrpc.Interop
C=org.example.Calculator
CP=/org/example/Calculator

# Each transport: "bus" (the private dbus-daemon, by name) and "peer" (the
# service's socket, no destination).
for tr in bus peer; do
	if [ $tr = bus ]; then
		R="$BUSRPC"; A=$BUS; DI=$IOP_NAME; DC=$C; AC=$BUS; DB=org.example.Bulk; AB=$BUS
	else
		R="$BUSRPC --peer"; A=$PEER; DI=-; DC=-; AC=$CPEER; DB=-; AB=$BPEER
	fi
	call() { $R call "$A" "$DI" "$IOP_PATH" "$@"; }

	out=$(call $I.Basics true 255 -32768 65535 21 4294967295 -9223372036854775808 18446744073709551614 \
		1.5 '"h\u00e9llo \"q\""' '"/a/b"' '"a{sv}"')
	same "$out" '[false,0,32767,0,42,0,9223372036854775807,18446744073709551615,3.0,"héllo \"q\"!","/a/b/child","a{sv}i"]' \
		"$tr: Basics: every basic type, 64-bit extremes exact, wrapping as the service computes"
	out=$(call $I.Arrays '[1,-2,2147483647]' '["a","b",""]' '{"base64":"AAEC/w=="}' '[1.5,-0.25,1e300]' '[true,false,false]')
	same "$out" '[[2147483647,-2,1],["","b","a"],[255,2,1,0],[1e300,-0.25,1.5],[false,false,true]]' \
		"$tr: Arrays: every array reversed; bytes given as base64"
	out=$($R --bytes base64 call "$A" "$DI" "$IOP_PATH" $I.Arrays '[]' '[]' '"abc"' '[]' '[]')
	same "$out" '[[],[],{"base64":"Y2Jh"},[],[]]' "$tr: Arrays: bytes given as a string, printed as base64"
	out=$($R --bytes string call "$A" "$DI" "$IOP_PATH" $I.Arrays '[]' '[]' '"abc"' '[]' '[]')
	same "$out" '[[],[],"cba",[],[]]' "$tr: Arrays: bytes printed as a string"
	out=$(call $I.Maps '{"a":1,"b":2}' '{"7":"x","3":"y"}')
	same "$out" '[{"1":"a","2":"b"},3,["y=3","x=7"]]' "$tr: Maps: dicts as objects, integer keys as strings both ways"
	out=$(call $I.Maps '[["a",1],["b",2]]' '[[7,"x"],[3,"y"]]')
	same "$out" '[{"1":"a","2":"b"},3,["y=3","x=7"]]' "$tr: Maps: dicts as arrays of pairs"
	out=$(call $I.Structs '[5,"p"]' '["n",9,[[1,"a"],[2,"b"]],{"k":{"type":"s","value":"v"},"n":7}]')
	same "$out" '[[6,"p!"],["n",10,[[2,"b"],[1,"a"]],{"k":{"type":"s","value":"v"},"n":{"type":"i","value":7},"seen":{"type":"b","value":true}}]]' \
		"$tr: Structs: structs as arrays, variants typed and inferred"
	out=$(call $I.Nested '{"g":[1,2,3],"h":[]}' '[[[1,"a"]],[[2,"b"],[3,"c"]]]')
	same "$out" '[{"g":6,"h":0},[[[2,"b"],[3,"c"]],[[1,"a"]]],3]' "$tr: Nested: containers in containers"
	out=$(call $I.Enums 5 1)
	same "$out" '[0,6]' "$tr: Enums: enum and flags as their integers"
	out=$(call $I.Variant '{"type":"a{sv}","value":{"x":{"type":"t","value":18446744073709551615}}}')
	same "$out" '["a{sv}",{"type":"a{sv}","value":{"x":{"type":"t","value":18446744073709551615}}}]' \
		"$tr: Variant: an explicitly typed variant round-trips"
	out=$(call $I.Variant '[1,2,3]')
	same "$out" '["ai",{"type":"ai","value":[1,2,3]}]' "$tr: Variant: a plain JSON array is inferred as ai"
	out=$(call $I.Variant '5000000000')
	same "$out" '["x",{"type":"x","value":5000000000}]' "$tr: Variant: a number past int32 is inferred as x"
	out=$(call $I.MakeVariant '"struct"')
	same "$out" '[{"type":"(is)","value":[7,"seven"]}]' "$tr: MakeVariant: a variant struct out"

	# fds and shm
	# Through a fifo: a pipe, as the service reads a regular file twice
	# (pread from 0, then read on from the unmoved offset).
	rm -f "$D/fifo" && mkfifo "$D/fifo"
	printf 'fd content %s' $tr > "$D/fifo" &
	out=$($R --fd "$D/fifo" call "$A" "$DI" "$IOP_PATH" $I.Fd 0)
	content=$(printf '%s' "$out" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0])')
	is "$content" "fd content $tr" "$tr: Fd: --fd FILE sends its descriptor"
	printf '%s' "$out" | grep -q '{"fd":[0-9]*}]$'
	ok $? "$tr: Fd: the returned fd is printed as {\"fd\": N}"
	printf 'fd content %s' $tr > "$D/fifo" &
	exec 7< "$D/fifo"
	out=$($R --fd 7 call "$A" "$DI" "$IOP_PATH" $I.Fd 0)
	exec 7<&-
	content=$(printf '%s' "$out" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0])')
	is "$content" "fd content $tr" "$tr: Fd: --fd N sends an inherited descriptor"
	head -c 100000 /dev/urandom > "$D/blob"
	want_sum=$("$PY" -c 'import sys; print(sum(open(sys.argv[1],"rb").read()) % 2**32)' "$D/blob")
	out=$($R --shm "$D/blob" call "$A" "$DI" "$IOP_PATH" $I.Blob 0)
	got=$(printf '%s' "$out" | "$PY" -c 'import json,sys; v=json.load(sys.stdin); print(v[0], v[1])')
	is "$got" "100000 $want_sum" "$tr: Blob: --shm FILE sends a sealed memfd the service accepts"
	out=$($R --shm "$D/blob" call "$AB" "$DB" /org/example/Bulk org.example.Bulk.Digest 0)
	want=$(sha256sum < "$D/blob" | cut -d' ' -f1)
	same "$out" "[\"$want\",100000]" "$tr: bulk Digest(--shm FILE) equals sha256sum"
	head -c 3000001 /dev/urandom > "$D/big"
	out=$($R --shm - call "$AB" "$DB" /org/example/Bulk org.example.Bulk.Digest 0 < "$D/big")
	want=$(sha256sum < "$D/big" | cut -d' ' -f1)
	same "$out" "[\"$want\",3000001]" "$tr: bulk Digest(--shm - from stdin, 3 MB) equals sha256sum"

	# properties
	out=$($R get "$A" "$DI" "$IOP_PATH" $I.Name $I.Tags)
	is "$out" '"interop"
["one","two"]' "$tr: get: two properties, one JSON value a line"
	$R set "$A" "$DI" "$IOP_PATH" $I.Tags '["x","y \"z\""]'
	ok $? "$tr: set: a string array"
	out=$($R --json get "$A" "$DI" "$IOP_PATH" $I.Tags)
	same "$out" '{"type":"as","value":["x","y \"z\""]}' "$tr: get --json: the value read back, with its type"
	$R set "$A" "$DI" "$IOP_PATH" $I.Level -5 && out=$($R get "$A" "$DI" "$IOP_PATH" $I.Level)
	is "$out" "-5" "$tr: set/get an int32 property"
	$R set "$A" "$DI" "$IOP_PATH" $I.Name '"no"' 2> "$D/err"
	is "$?" 1 "$tr: set a read-only property: exit 1"
	grep -q '^org.freedesktop.DBus.Error.PropertyReadOnly: ' "$D/err"
	ok $? "$tr: set a read-only property: the D-Bus error name on stderr"

	# errors
	call $I.Check -3 > /dev/null 2> "$D/err"
	is "$?" 1 "$tr: a declared error: exit 1"
	grep -q '^org.busrpc.Interop.Error.Refused: negative: -3$' "$D/err"
	ok $? "$tr: a declared error: its name and message on stderr"
	call $I.Enums 5 4294967296 > /dev/null 2> "$D/err"
	is "$?" 2 "$tr: a uint32 out of range: exit 2"
	grep -q '4294967296 is not an integer in \[0, 4294967295\]' "$D/err"
	ok $? "$tr: a uint32 out of range: says so"
	call $I.Enums 5 '[1,' > /dev/null 2> "$D/err"
	is "$?" 2 "$tr: bad JSON: exit 2"
	grep -q 'argument 2: bad JSON at offset 3 (line 1, column 4): unexpected end of input' "$D/err"
	ok $? "$tr: bad JSON: the argument and the position"
	call $I.Enums 5 > /dev/null 2> "$D/err"
	is "$?" 2 "$tr: too few arguments: exit 2"
	call $I.Nope > /dev/null 2> "$D/err"
	is "$?" 1 "$tr: a method not in the introspection data: exit 1"
	printf '<node><interface name="%s"><method name="Nope"/></interface></node>' $I > "$D/nope.xml"
	$R --xml "$D/nope.xml" call "$A" "$DI" "$IOP_PATH" $I.Nope > /dev/null 2> "$D/err"
	is "$?" 1 "$tr: --xml: an unknown method reaches the service: exit 1"
	grep -q '^org.freedesktop.DBus.Error.UnknownMethod: ' "$D/err"
	ok $? "$tr: --xml: the service's UnknownMethod error name"
	$R call "$A" "$DI" "not a path" $I.Check 1 > /dev/null 2>&1
	is "$?" 2 "$tr: a bad object path: exit 2"

	# calc: every kind of member
	out=$($R call "$AC" "$DC" $CP $C.Add 2 3)
	same "$out" '[5]' "$tr: calc Add"
	out=$($R call "$AC" "$DC" $CP $C.Centroid '[[0,0],[4,2],[2,4]]')
	same "$out" '[[2,2]]' "$tr: calc Centroid: an array of structs in, a struct out"
	out=$($R call "$AC" "$DC" $CP $C.Tally '{"b":2,"a":18446744073709551613}')
	same "$out" '[18446744073709551615,["b","a"]]' "$tr: calc Tally: map<string,uint64> in (in order), uint64 exact out"
	out=$($R call "$AC" "$DC" $CP $C.Slow 10 7)
	same "$out" '[7]' "$tr: calc Slow: a reply that comes later"
	out=$($R call "$AC" "$DC" $CP $C.Subtract 2 5)
	same "$out" '[-3]' "$tr: calc Subtract (deprecated)"
	$R call "$AC" "$DC" $CP $C.Divide 1 0 > /dev/null 2> "$D/err"
	is "$?" 1 "$tr: calc Divide by zero: exit 1"
	grep -q '^org.example.Calculator.Error.DivideByZero: ' "$D/err"
	ok $? "$tr: calc Divide by zero: the declared error name"
	out=$(timeout 10 $R call "$AC" "$DC" $CP $C.Reset)
	is "$?:$out" "0:" "$tr: calc Reset (noreply): returns at once, prints nothing"
	$R --idl "$top_srcdir/examples/calc/calc.idl" set "$AC" "$DC" $CP $C.Mode 2
	ok $? "$tr: --idl: set calc Mode typed by the IDL"
	out=$($R get "$AC" "$DC" $CP $C.Mode $C.Name)
	is "$out" '2
"busrpc calculator"' "$tr: calc get Mode and Name"
	out=$($R --idl "$top_srcdir/examples/calc/calc.idl" call "$AC" "$DC" $CP $C.Divide 7 2)
	same "$out" '[4]' "$tr: --idl: calc Divide typed by the IDL (7 / 2 rounded UP, Mode 2)"

	# introspect, tree
	out=$($R introspect "$AC" "$DC" $CP $C)
	for m in 'Add *method *ii *i' 'Tally *method *a{st} *tas' 'Overflowed *signal *- *xs' 'Mode *property *u *- *readwrite'; do
		printf '%s\n' "$out" | grep -q "^$m"
		ok $? "$tr: introspect lists $(echo "$m" | cut -d' ' -f1)"
	done
	out=$($R --names introspect "$AC" "$DC" $CP | grep -c "^$C\.")
	is "$out" 13 "$tr: introspect --names: the 13 calc members"
	$R --raw introspect "$AC" "$DC" $CP | grep -q '<method name="Centroid">'
	ok $? "$tr: introspect --raw prints the XML"
	out=$($R tree "$A" "$DI")
	printf '%s\n' "$out" | grep -qx "$IOP_PATH" && printf '%s\n' "$out" | grep -qx "$IOP_PATH/Child" &&
		printf '%s\n' "$out" | grep -qx /
	ok $? "$tr: tree lists /, $IOP_PATH and its child"
done

# Bad JSON: each refused with exit 2 and a message saying what and where.
bad_json() {  # bad_json JSON MESSAGE-PATTERN DESCRIPTION
	"$BUSRPC" --peer call "$PEER" - "$IOP_PATH" $I.Variant "$1" > /dev/null 2> "$D/err"
	st=$?
	grep -q -- "$2" "$D/err"
	is "$st:$?" "2:0" "bad JSON: $3"
	[ "$st" = 2 ] || sed 's/^/#   /' "$D/err"
}
bad_json "$(printf '"\377"')" 'offset 1 (line 1, column 2): invalid UTF-8' "invalid UTF-8"
bad_json '"\ud800"' 'lone surrogate' "a lone surrogate"
bad_json '"a\u0000"' 'cannot hold NUL' "\\u0000"
bad_json '[1,2,]' 'offset 5 (line 1, column 6): unexpected character' "a trailing comma"
bad_json '{"a":1,"a":2}' 'duplicate member name "a"' "a duplicate member"
bad_json "$(printf '[\n 1\n x]')" 'line 3, column 2' "line and column on a later line"
bad_json "$("$PY" -c 'print("[" * 100 + "]" * 100)')" 'nested deeper than 64' "100 levels of nesting"
bad_json '01' 'trailing characters' "a leading zero"
bad_json 'null' 'null has no D-Bus type' "null in a variant"
bad_json '' 'unexpected end of input' "an empty argument"

# Errors that need no service.
"$BUSRPC" call "$BUS" $IOP_NAME 2> /dev/null
is "$?" 2 "usage error: exit 2"
"$BUSRPC" --nope 2> /dev/null
is "$?" 2 "unknown option: exit 2"
"$BUSRPC" call "unix:path=$D/none.sock" x /x a.b 2> "$D/err"
is "$?" 1 "no such socket: exit 1"
grep -q 'org.freedesktop.DBus.Error' "$D/err"
ok $? "no such socket: the D-Bus error name on stderr"
"$BUSRPC" call "$BUS" org.example.NoSuch /x a.b.C 2> "$D/err"
is "$?" 1 "no such name on the bus: exit 1"
grep -q '^org.freedesktop.DBus.Error.ServiceUnknown: ' "$D/err"
ok $? "no such name on the bus: ServiceUnknown"

# Monitors on the calc peer socket, with the service under valgrind.
VG="$VALGRIND --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 -q"
LT=
[ -x "$top_builddir/libtool" ] && LT="$top_builddir/libtool --mode=execute"
MPEER=unix:path=$D/mcalc.sock
$LT $VG --log-file="$D/vg-calc.log" "$CALC" --peer "$MPEER" > "$D/mcalc.out" 2> "$D/mcalc.err" &
MCALC=$!
iop_pids="$iop_pids $MCALC"
wait_grep "$D/mcalc.out" ready || tap_bail "calc-service under valgrind did not start"
$VG --log-file="$D/vg-mon.log" "$BUSRPC" --peer --json monitor "$MPEER" > "$D/mon.json" 2> "$D/mon.err" &
MON=$!
"$BUSRPC" --peer monitor "$MPEER" > "$D/mon.txt" 2> "$D/mon.txt.err" &
MON2=$!
"$BUSCTL" monitor --address="$MPEER" > "$D/busctl.txt" 2> "$D/busctl.err" &
BMON=$!
dbus-monitor --address "$MPEER" > "$D/dm.txt" 2> "$D/dm.err" &
DMON=$!
# A monitor with a match rule: signals only.
dbus-monitor --address "$MPEER" "type='signal'" > "$D/dmsig.txt" 2> "$D/dmsig.err" &
DMON2=$!
iop_pids="$iop_pids $MON $MON2 $BMON $DMON $DMON2"
# Wait until all four monitor: probe calls (Subtract) until each shows one.
ready=1
for _ in $(seq 60); do
	"$BUSRPC" --peer call "$MPEER" - $CP $C.Subtract 9 9 > /dev/null
	ready=0
	for f in mon.json mon.txt busctl.txt dm.txt; do grep -q Subtract "$D/$f" || ready=1; done
	# the signals-only one: dbus-monitor prints the NameLost that BecomeMonitor brings
	grep -q member=NameLost "$D/dmsig.txt" || ready=1
	[ $ready = 0 ] && break
	sleep 0.2
done
is "$ready" 0 "busrpc monitor (--json and text), busctl monitor and dbus-monitor (twice) attach to the peer socket"
[ $ready = 0 ] || for f in mon.err mon.txt.err busctl.err dm.err dmsig.err; do sed "s/^/#   $f: /" "$D/$f"; done
out=$($VG --log-file="$D/vg-call.log" "$BUSRPC" --peer call "$MPEER" - $CP $C.Add 2147483647 1)
is "$?" 0 "busrpc call under valgrind: exit 0 (99: a valgrind error)"
same "$out" '[-2147483648]' "busrpc call under valgrind: the wrapped sum (and an Overflowed signal)"
wait_grep "$D/mon.json" '"member":"Overflowed"' && wait_grep "$D/dm.txt" 'member=Overflowed' &&
	wait_grep "$D/busctl.txt" 'Member=Overflowed' && wait_grep "$D/mon.txt" 'member=Overflowed'
ok $? "every monitor saw the signal"
grep -q '^{"type":"method_call","serial":[0-9]*,"sender":":1\.[0-9]*","path":"/org/example/Calculator","interface":"org.example.Calculator","member":"Add","signature":"ii","args":\[2147483647,1\]}$' "$D/mon.json"
ok $? "busrpc monitor --json: the call, with its arguments"
grep -q '^{"type":"signal",.*"member":"Overflowed","signature":"xs","args":\[2147483648,"Add"\]}$' "$D/mon.json"
ok $? "busrpc monitor --json: the signal, with its arguments"
grep -q '^{"type":"method_return",.*"signature":"i","args":\[-2147483648\]}$' "$D/mon.json"
ok $? "busrpc monitor --json: the reply"
grep -q 'method_call .*member=Add  signature=ii' "$D/mon.txt"
ok $? "busrpc monitor (text): the call"
grep -q 'Member=Add' "$D/busctl.txt" && grep -q 'Member=Overflowed' "$D/busctl.txt"
ok $? "busctl monitor --address on the peer socket: the call and the signal"
grep -q 'member=Add$' "$D/dm.txt" && grep -q 'int64 2147483648' "$D/dm.txt"
ok $? "dbus-monitor --address on the peer socket: the call and the signal's value"
wait_grep "$D/dmsig.txt" 'member=Overflowed'
ok $? "dbus-monitor with a match rule (type='signal') sees the signal"
grep -q 'member=Add$\|member=Subtract$\|^method return' "$D/dmsig.txt"
is "$?" 1 "dbus-monitor with a match rule (type='signal') sees no call and no reply"
# A monitor that sends anything is disconnected (the D-Bus specification):
# the service must stay healthy and keep serving the others.
out=$("$PY" - "$MPEER" <<'EOF'
import sys, dbus
c = dbus.connection.Connection(sys.argv[1])
c.call_blocking('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.Monitoring',
                'BecomeMonitor', 'asu', ([], 0))
try:
    c.call_blocking(None, '/org/example/Calculator', 'org.example.Calculator', 'Add', 'ii', (1, 2), timeout=5)
    print('answered')
except dbus.DBusException as e:
    print(e.get_dbus_name())
EOF
)
is "$out" "org.freedesktop.DBus.Error.NoReply" "a monitor that calls is disconnected, not answered"
out=$("$BUSRPC" --peer call "$MPEER" - $CP $C.Add 1 2)
same "$out" '[3]' "the service still serves after dropping a monitor"
stop_pid $MON
is "$STOP_STATUS" 143 "busrpc monitor under valgrind stops on SIGTERM"
grep -q 'ERROR SUMMARY: [1-9]' "$D/vg-mon.log" "$D/vg-call.log"
is "$?" 1 "busrpc (call and monitor) under valgrind: no memory errors"
for p in $MON2 $BMON $DMON $DMON2; do kill "$p" 2>/dev/null; done
stop_pid $MCALC
is "$STOP_STATUS" 0 "calc-service with monitors attached, under valgrind: exit 0 (99: a valgrind error or leak)"
[ "$STOP_STATUS" = 0 ] || sed 's/^/#   /' "$D/vg-calc.log" | head -40

# busrpc monitor on a bus (BecomeMonitor on dbus-daemon).
"$BUSRPC" --json monitor "$BUS" > "$D/busmon.json" 2> "$D/busmon.err" &
BMON2=$!
iop_pids="$iop_pids $BMON2"
wait_grep "$D/busmon.json" '"member":"NameLost"' || diag "busrpc monitor on the bus: $(cat "$D/busmon.err")"
"$BUSRPC" call "$BUS" $C $CP $C.Add 40 2 > /dev/null
wait_grep "$D/busmon.json" '"destination":"org.example.Calculator".*"member":"Add","signature":"ii","args":\[40,2\]'
ok $? "busrpc monitor on a bus sees a call"
wait_grep "$D/busmon.json" '"type":"method_return".*"args":\[42\]'
ok $? "busrpc monitor on a bus sees its reply"
kill $BMON2

# bash completion from introspection data.
"$BUSRPC" completion bash > "$D/completion.bash"
ok $? "completion bash prints a script"
complete_line() {  # complete_line LINE: the candidates, one a line
	bash -c '. "$1"; COMP_LINE=$2; COMP_POINT=${#COMP_LINE}; PATH=$3:$PATH
		_busrpc; printf "%s\n" "${COMPREPLY[@]}"' sh "$D/completion.bash" "$1" "$top_builddir"
}
out=$(complete_line "busrpc ca")
is "$out" "call" "completion: verbs"
out=$(complete_line "busrpc --peer call $CPEER - /org/example/C")
is "$out" "/org/example/Calculator" "completion: object paths from tree, on a peer socket"
out=$(complete_line "busrpc call $BUS $C $CP org.example.Calculator.")
printf '%s\n' "$out" | grep -qx org.example.Calculator.Add && printf '%s\n' "$out" | grep -qx org.example.Calculator.Tally &&
	printf '%s\n' "$out" | grep -qx org.example.Calculator.Reset
ok $? "completion: the calc methods from introspection, on the bus"

tap_done
