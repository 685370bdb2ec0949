#!/bin/sh
# dbus-send (libdbus's own tool) calling the busrpc service: with --bus= on a
# private bus (dbus-send --address= never says Hello, so it cannot be used on
# a bus) and with --peer= on the service's peer socket. dbus-send can express
# basic types, arrays and dicts of basic types and variants of basic types
# (no structs, no signatures, no fds): those are checked, values included,
# plus Introspect, Properties Get/Set/GetAll, a declared error, and a signal
# reaching `dbus-monitor` on the bus.
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/interop/lib.sh"
need dbus-send dbus-monitor

start_bus
start_c_service

# expect DESC WANT ARGS...: dbus-send --print-reply ARGS succeeds; its reply,
# without the "method return" header line and with blanks squeezed, is WANT.
expect() {
	desc=$1 want=$2; shift 2
	raw=$(dbus-send "$@" 2>&1)
	st=$?
	got=$(printf '%s\n' "$raw" | sed 1d | tr -s ' \n' '  ' | sed 's/^ //; s/ $//')
	if [ $st -eq 0 ] && [ "$got" = "$want" ]; then ok 0 "$desc"; else
		ok 1 "$desc"
		printf '#   command: dbus-send %s\n#   status: %s\n#   got:  %s\n#   want: %s\n' "$*" "$st" "$got" "$want"
	fi
}
# expect_error DESC NAME: MESSAGE ARGS...: dbus-send fails with that error.
expect_error() {
	desc=$1 want=$2; shift 2
	got=$(dbus-send "$@" 2>&1)
	st=$?
	if [ $st -ne 0 ]; then ok 0 "$desc: fails"; else ok 1 "$desc: fails"; fi
	has "$got" "Error $want" "$desc: Error $want"
}

run_dbus_send() {  # run_dbus_send WHERE --bus=ADDR|--peer=ADDR
	where=$1 how=$2
	D="$how --print-reply --dest=$IOP_NAME $IOP_PATH"
	I=$IOP_IFACE
	P=org.freedesktop.DBus.Properties

	xml=$(dbus-send $how --print-reply=literal --dest=$IOP_NAME $IOP_PATH org.freedesktop.DBus.Introspectable.Introspect 2>&1)
	ok $? "$where: Introspect succeeds"
	has "$xml" '<interface name="org.busrpc.Interop">' "$where: Introspect: the interface"
	has "$xml" '<method name="Basics">' "$where: Introspect: Basics"
	has "$xml" '<signal name="Event">' "$where: Introspect: Event"
	has "$xml" '<property name="Level" type="i" access="readwrite"' "$where: Introspect: Level"
	has "$xml" '<property name="Name" type="s" access="read"' "$where: Introspect: Name readonly"
	has "$xml" '<node name="Child"/>' "$where: Introspect: the child node"
	xml=$(dbus-send $how --print-reply=literal --dest=$IOP_NAME /org/busrpc org.freedesktop.DBus.Introspectable.Introspect 2>&1)
	has "$xml" '<node name="Interop"/>' "$where: Introspect of the parent path lists Interop"

	expect "$where: Arrays" \
		'array [ int32 3 int32 -2 int32 1 ] array [ string "yy" string "x" ] array of bytes [ ff 01 00 ] array [ double -1.5 double 0.5 ] array [ boolean false boolean false boolean true ]' \
		$D $I.Arrays array:int32:1,-2,3 array:string:x,yy array:byte:0,1,255 array:double:0.5,-1.5 \
		array:boolean:true,false,false
	expect "$where: Maps" \
		'array [ dict entry( int32 1 string "a" ) dict entry( int32 -5 string "b" ) ] int64 -4 array [ string "one=1" string "three=3" ]' \
		$D $I.Maps dict:string:int32:a,1,b,-5 dict:uint32:string:3,three,1,one
	expect "$where: Maps with extreme keys" \
		'array [ dict entry( int32 -2147483648 string "lo" ) dict entry( int32 2147483647 string "hi" ) ] int64 -1 array [ string "max=4294967295" ]' \
		$D $I.Maps dict:string:int32:lo,-2147483648,hi,2147483647 dict:uint32:string:4294967295,max
	expect "$where: Enums (BLUE, 0)" 'int32 0 uint32 7' $D $I.Enums int32:5 uint32:0
	expect "$where: Enums (GREEN, 7)" 'int32 5 uint32 0' $D $I.Enums int32:1 uint32:7
	expect "$where: Variant <int64>" 'signature "x" variant int64 -9' $D $I.Variant variant:int64:-9
	expect "$where: Variant <double>" 'signature "d" variant double 0.25' $D $I.Variant variant:double:0.25
	expect "$where: Variant <objpath>" 'signature "o" variant object path "/x/y"' $D $I.Variant variant:objpath:/x/y
	expect "$where: Variant <string>" 'signature "s" variant string "héllo"' $D $I.Variant variant:string:héllo
	expect "$where: MakeVariant int" 'variant int32 42' $D $I.MakeVariant string:int
	expect "$where: MakeVariant struct" 'variant struct { int32 7 string "seven" }' $D $I.MakeVariant string:struct
	expect "$where: Fire 1" 'uint32 1' $D $I.Fire string:x uint32:1
	expect "$where: Check 12" 'int32 12' $D $I.Check int32:12
	expect_error "$where: Check -3" "org.busrpc.Interop.Error.Refused: negative: -3" $D $I.Check int32:-3
	expect "$where: the next call works" 'int32 13' $D $I.Check int32:13
	expect_error "$where: MakeVariant bogus" "org.busrpc.Interop.Error.Refused" $D $I.MakeVariant string:bogus

	expect "$where: Properties.Get Level" 'variant int32 7' $D $P.Get string:$I string:Level
	expect "$where: Properties.Get Name" 'variant string "interop"' $D $P.Get string:$I string:Name
	expect "$where: Properties.Set Level 3" '' $D $P.Set string:$I string:Level variant:int32:3
	expect "$where: Properties.Get Level after Set" 'variant int32 3' $D $P.Get string:$I string:Level
	expect "$where: Properties.GetAll" \
		'array [ dict entry( string "Name" variant string "interop" ) dict entry( string "Level" variant int32 3 ) dict entry( string "Shade" variant int32 1 ) dict entry( string "Tags" variant array [ string "one" string "two" ] ) ]' \
		$D $P.GetAll string:$I
	expect_error "$where: Set Name (readonly)" "org.freedesktop.DBus.Error.PropertyReadOnly" \
		$D $P.Set string:$I string:Name variant:string:x
	expect_error "$where: Set Shade to a uint32" "org.freedesktop.DBus.Error.InvalidArgs" \
		$D $P.Set string:$I string:Shade variant:uint32:1
	expect_error "$where: Get of an unknown interface" "org.freedesktop.DBus.Error.UnknownInterface" \
		$D $P.Get string:org.nope string:Level
	expect "$where: Properties.Set Level back to 7" '' $D $P.Set string:$I string:Level variant:int32:7
	expect "$where: Peer.Ping" '' $D org.freedesktop.DBus.Peer.Ping
	expect_error "$where: unknown method" "org.freedesktop.DBus.Error.UnknownMethod" $D $I.Nope
}

run_dbus_send bus "--bus=$BUS"
run_dbus_send peer "--peer=$PEER"

# A signal from the service reaches dbus-monitor on the bus.
mon=$iop_dir/dbus-monitor.txt
dbus-monitor --address "$BUS" "type='signal',interface='$IOP_IFACE'" > "$mon" 2>&1 &
mon_pid=$!
iop_pids="$iop_pids $mon_pid"
wait_grep "$mon" "NameAcquired\|NameLost\|member=" 1 || sleep 1
sleep 0.3
expect "monitor: Fire 2" 'uint32 2' --bus="$BUS" --print-reply --dest=$IOP_NAME $IOP_PATH $IOP_IFACE.Fire string:seen uint32:2
wait_grep "$mon" 'uint32 2'
body=$(tr -s ' \n' '  ' < "$mon")
has "$body" "path=/org/busrpc/Interop; interface=org.busrpc.Interop; member=Event string \"seen\" uint32 1" "monitor: Event(seen, 1)"
has "$body" "path=/org/busrpc/Interop; interface=org.busrpc.Interop; member=Event string \"seen\" uint32 2" "monitor: Event(seen, 2)"
kill "$mon_pid" 2>/dev/null

stop_pid "$C_PID"
is "$STOP_STATUS" 0 "the service exits 0 on SIGTERM"
tap_done
