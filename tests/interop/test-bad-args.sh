#!/bin/sh
# Calls with the wrong argument types, from dbus-send and busctl, on a
# private bus and on the peer socket: each gets
# org.freedesktop.DBus.Error.InvalidArgs (never a crash, never a hang, never
# a success), and the next good call still works. On the bus, `busctl
# monitor` shows the error name of busctl's own failed calls, since busctl
# prints only the message. (python's wrong-signature calls are in
# client.py, test_bad_args.)
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/interop/lib.sh"
need dbus-send "$BUSCTL"

start_bus
start_c_service

# bad_send WHERE HOW DESC ARGS...: dbus-send fails with InvalidArgs, then Check 5 works.
bad_send() {
	where=$1 how=$2 desc=$3; shift 3
	got=$(dbus-send $how --print-reply --dest=$IOP_NAME $IOP_PATH "$@" 2>&1)
	st=$?
	ok $((! st)) "$where: dbus-send $desc: fails"
	has "$got" "Error org.freedesktop.DBus.Error.InvalidArgs" "$where: dbus-send $desc: InvalidArgs"
	got=$(dbus-send $how --print-reply=literal --dest=$IOP_NAME $IOP_PATH $IOP_IFACE.Check int32:5 2>&1)
	is "$(echo $got)" "int32 5" "$where: after $desc, a good call works"
}

# bad_busctl WHERE ADDR DESC TEXT ARGS...: busctl call fails saying TEXT, then Check works.
bad_busctl() {
	where=$1 addr=$2 desc=$3 want=$4; shift 4
	got=$("$BUSCTL" --address="$addr" -- call $IOP_NAME $IOP_PATH "$@" 2>&1)
	st=$?
	ok $((! st)) "$where: busctl $desc: fails"
	has "$got" "$want" "$where: busctl $desc: says '$want'"
	got=$("$BUSCTL" --address="$addr" -- call $IOP_NAME $IOP_PATH $IOP_IFACE Check i 6 2>&1)
	is "$got" "i 6" "$where: after $desc, a good busctl call works"
}

run_bad() {  # run_bad WHERE HOW ADDR
	where=$1 how=$2 addr=$3
	I=$IOP_IFACE P=org.freedesktop.DBus.Properties
	bad_send "$where" "$how" "Check(string)" $I.Check string:x
	bad_send "$where" "$how" "Check()" $I.Check
	bad_send "$where" "$how" "Check(int32, int32)" $I.Check int32:1 int32:2
	bad_send "$where" "$how" "Check(uint32)" $I.Check uint32:1
	bad_send "$where" "$how" "Arrays(ai)" $I.Arrays array:int32:1
	bad_send "$where" "$how" "Maps(a{ss}, a{us})" $I.Maps dict:string:string:a,b dict:uint32:string:1,x
	bad_send "$where" "$how" "Basics without the signature" $I.Basics boolean:true byte:1 int16:1 uint16:1 \
		int32:1 uint32:1 int64:1 uint64:1 double:1 string:s objpath:/
	bad_send "$where" "$how" "Variant(int32) instead of a variant" $I.Variant int32:1
	bad_send "$where" "$how" "Fd(int32) instead of an fd" $I.Fd int32:0
	bad_send "$where" "$how" "Enums with 3, not a Color" $I.Enums int32:3 uint32:0
	bad_send "$where" "$how" "Enums with 8, not a Perm flag" $I.Enums int32:0 uint32:8
	bad_send "$where" "$how" "Properties.Set Level <string>" $P.Set string:$I string:Level variant:string:x
	bad_send "$where" "$how" "Properties.Get with one argument" $P.Get string:$I
	bad_send "$where" "$how" "Properties.GetAll(int32)" $P.GetAll int32:1

	bad_busctl "$where" "$addr" "Check s" "Invalid arguments" $I Check s x
	bad_busctl "$where" "$addr" "Check ii" "Invalid arguments" $I Check ii 1 2
	bad_busctl "$where" "$addr" "Structs with (si)" "Invalid arguments" $I Structs '(si)(sua(is)a{sv})' x 1 r 1 0 0
	bad_busctl "$where" "$addr" "Nested with a{ss}" "Invalid arguments" $I Nested 'a{ss}aa(is)' 1 a b 0
	bad_busctl "$where" "$addr" "Variant with i" "Invalid arguments" $I Variant i 1
	bad_busctl "$where" "$addr" "Blob with s" "Invalid arguments" $I Blob s x

	# A burst of bad calls does not wear the service down.
	n=0
	for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		dbus-send $how --print-reply --dest=$IOP_NAME $IOP_PATH $I.Check string:x 2>&1 |
			grep -q "Error org.freedesktop.DBus.Error.InvalidArgs" && n=$((n + 1))
	done
	is "$n" 20 "$where: 20 bad calls in a row, 20 InvalidArgs"
	got=$(dbus-send $how --print-reply=literal --dest=$IOP_NAME $IOP_PATH $I.Check int32:7 2>&1)
	is "$(echo $got)" "int32 7" "$where: then a good call works"
}

# On the bus, watch the error names of busctl's failed calls.
mon=$iop_dir/errors.json
"$BUSCTL" --address="$BUS" monitor --json=short --match="type='error'" > "$mon" 2>&1 &
iop_pids="$iop_pids $!"
wait_grep "$mon" "Monitoring" || diag "busctl monitor printed no banner"
sleep 0.3

run_bad bus "--bus=$BUS" "$BUS"
run_bad peer "--peer=$PEER" "$PEER"

# 14 dbus-send cases, 6 busctl cases and a burst of 20, on the bus.
wait_grep "$mon" '"error_name"' 40
n=$(grep -c "\"sender\":\"$(busctl --address="$BUS" -- call org.freedesktop.DBus /org/freedesktop/DBus \
	org.freedesktop.DBus GetNameOwner s $IOP_NAME | sed 's/^s "\(.*\)"$/\1/')\".*\"error_name\":\"org.freedesktop.DBus.Error.InvalidArgs\"" "$mon")
is "$n" 40 "bus: busctl monitor saw the service send 40 InvalidArgs replies"
check "bus: monitor: the busctl 'Check s' reply is InvalidArgs, with the service's message" grep -F \
	"\"error_name\":\"org.freedesktop.DBus.Error.InvalidArgs\",\"payload\":{\"type\":\"s\",\"data\":[\"Invalid arguments for Check: expected signature 'i', got 's'\"]}" "$mon"
bad=$(grep '"error_name"' "$mon" | grep -v 'InvalidArgs' | head -3)
is "$bad" "" "bus: no error reply other than InvalidArgs"

stop_pid "$C_PID"
is "$STOP_STATUS" 0 "the service exits 0 on SIGTERM"
tap_done
