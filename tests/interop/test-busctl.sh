#!/bin/sh
# busctl (systemd) calling the busrpc service, on a private bus and on the
# service's peer socket: tree, introspect, call (every type category that
# busctl can express; busctl 252 cannot send fds), get-property,
# set-property, and `busctl monitor` on the bus catching Event and
# PropertiesChanged. Every reply's values are compared, not only exit codes.
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/interop/lib.sh"
need "$BUSCTL"

start_bus
start_c_service

# expect DESC WANT CMD...: CMD succeeds and prints exactly WANT.
expect() {
	desc=$1 want=$2; shift 2
	got=$("$@" 2>&1)
	st=$?
	if [ $st -eq 0 ] && [ "$got" = "$want" ]; then ok 0 "$desc"; else
		ok 1 "$desc"
		printf '#   command: %s\n#   status: %s\n#   got:  %s\n#   want: %s\n' "$*" "$st" "$got" "$want"
	fi
}
# expect_fail DESC TEXT CMD...: CMD fails and its output contains TEXT.
expect_fail() {
	desc=$1 want=$2; shift 2
	got=$("$@" 2>&1)
	st=$?
	if [ $st -ne 0 ]; then ok 0 "$desc: fails"; else ok 1 "$desc: fails"; diag "command: $*"; fi
	has "$got" "$want" "$desc: says '$want'"
}

run_busctl() {  # run_busctl WHERE ADDRESS
	where=$1 addr=$2
	B="$BUSCTL --address=$addr --"
	C="$B call $IOP_NAME $IOP_PATH $IOP_IFACE"

	out=$($B tree $IOP_NAME 2>&1)
	ok $? "$where: busctl tree exits 0"
	has "$out" "/org/busrpc/Interop" "$where: tree shows /org/busrpc/Interop"
	has "$out" "/org/busrpc/Interop/Child" "$where: tree shows the child object"

	out=$($B introspect $IOP_NAME $IOP_PATH 2>&1)
	ok $? "$where: busctl introspect exits 0"
	flat=$(printf '%s\n' "$out" | tr -s ' ')
	has "$flat" "org.busrpc.Interop interface - - -" "$where: introspect lists the interface"
	has "$flat" ".Basics method bynqiuxtdsog bynqiuxtdsog -" "$where: introspect: Basics signature"
	has "$flat" ".Structs method (is)(sua(is)a{sv}) (is)(sua(is)a{sv}) -" "$where: introspect: Structs signature"
	has "$flat" ".Nested method a{sai}aa(is) a{si}aa(is)u -" "$where: introspect: Nested signature"
	has "$flat" ".Blob method h tuh -" "$where: introspect: Blob (shm as h)"
	has "$flat" ".Fd method h sh -" "$where: introspect: Fd"
	has "$flat" ".Event signal su - -" "$where: introspect: signal Event"
	has "$flat" '.Name property s "interop" emits-change' "$where: introspect: Name, readonly, with its value"
	has "$flat" ".Level property i 7 emits-change writable" "$where: introspect: Level, writable"
	has "$flat" '.Tags property as 2 "one" "two" emits-invalidation writable' "$where: introspect: Tags invalidates"
	has "$flat" "org.freedesktop.DBus.Properties interface" "$where: introspect: Properties"
	has "$flat" "org.freedesktop.DBus.Peer interface" "$where: introspect: Peer"

	expect "$where: call Basics (every basic type, wrapping)" \
		'bynqiuxtdsog false 0 32767 0 -2147483646 0 9223372036854775807 0 2.5 "h\303\251llo!" "/a/b/child" "a{sv}i"' \
		$C Basics bynqiuxtdsog true 255 -32768 65535 1073741825 4294967295 \
		-9223372036854775808 18446744073709551615 1.25 "héllo" /a/b "a{sv}"
	expect "$where: call Basics (zeros, root path, empty strings)" \
		'bynqiuxtdsog true 1 -1 1 0 1 -1 1 0 "!" "/child" "i"' \
		$C Basics bynqiuxtdsog false 0 0 0 0 0 0 0 0 "" / ""
	expect "$where: call Arrays (reversed)" \
		'aiasayadab 3 3 -2 1 2 "yy" "x" 3 255 1 0 2 -1.5 0.5 3 false false true' \
		$C Arrays aiasayadab 3 1 -2 3 2 x yy 3 0 1 255 2 0.5 -1.5 3 true false false
	expect "$where: call Arrays (empty)" 'aiasayadab 0 0 0 0 0' $C Arrays aiasayadab 0 0 0 0 0
	expect "$where: call Maps" 'a{is}xas 2 1 "a" -5 "b" -4 2 "one=1" "three=3"' \
		$C Maps 'a{si}a{us}' 2 a 1 b -5 2 3 three 1 one
	expect "$where: call Structs (struct in struct, array and map of variants)" \
		'(is)(sua(is)a{sv}) 42 "x!" "rec" 10 2 2 "q" 1 "p" 2 "n" i 5 "seen" b true' \
		$C Structs '(is)(sua(is)a{sv})' 41 x rec 9 2 1 p 2 q 1 n i 5
	expect "$where: call Nested" 'a{si}aa(is)u 2 "odd" 9 "neg" -3 2 2 2 "b" 3 "c" 1 1 "a" 3' \
		$C Nested 'a{sai}aa(is)' 2 odd 3 1 3 5 neg 2 -1 -2 2 1 1 a 2 2 b 3 c
	expect "$where: call Enums (RED, READ)" 'iu 1 6' $C Enums iu 0 1
	expect "$where: call Enums (BLUE, 0)" 'iu 0 7' $C Enums iu 5 0
	expect "$where: call Variant <int32>" 'gv "i" i 42' $C Variant v i 42
	expect "$where: call Variant <as>" 'gv "as" as 2 "a" "b"' $C Variant v as 2 a b
	expect "$where: call Variant <(is)>" 'gv "(is)" (is) 3 "c"' $C Variant v '(is)' 3 c
	expect "$where: call Variant <a{sv}>" 'gv "a{sv}" a{sv} 1 "k" u 1' $C Variant v 'a{sv}' 1 k u 1
	expect "$where: call MakeVariant struct" 'v (is) 7 "seven"' $C MakeVariant s struct
	expect "$where: call MakeVariant dict" 'v a{sv} 1 "k" u 1' $C MakeVariant s dict
	expect "$where: call MakeVariant variant" 'v v i 1' $C MakeVariant s variant
	expect "$where: call Fire" 'u 2' $C Fire su hi 2
	expect "$where: call Check 5" 'i 5' $C Check i 5
	expect_fail "$where: call Check -3 (declared error)" "negative: -3" $C Check i -3
	expect "$where: the next call works" 'i 6' $C Check i 6
	expect_fail "$where: an unknown method" "Unknown" $C NoSuchMethod
	expect_fail "$where: an unknown object" "Unknown" $B call $IOP_NAME /nowhere $IOP_IFACE Check i 1

	G="$B get-property $IOP_NAME $IOP_PATH $IOP_IFACE"
	S="$B set-property $IOP_NAME $IOP_PATH $IOP_IFACE"
	expect "$where: get-property Name" 's "interop"' $G Name
	expect "$where: get-property Level" 'i 7' $G Level
	expect "$where: get-property Shade (enum)" 'i 1' $G Shade
	expect "$where: get-property Tags" 'as 2 "one" "two"' $G Tags
	expect "$where: get-property, several" 's "interop"
i 7' $G Name Level
	expect "$where: set-property Level -12" '' $S Level i -12
	expect "$where: get-property Level after the set" 'i -12' $G Level
	expect "$where: set-property Tags" '' $S Tags as 3 x y z
	expect "$where: get-property Tags after the set" 'as 3 "x" "y" "z"' $G Tags
	expect_fail "$where: set-property Name (readonly)" "read-only" $S Name s x
	expect_fail "$where: set-property Level with a string" "Invalid" $S Level s x
	expect "$where: Level unchanged by the refused set" 'i -12' $G Level
	expect "$where: set-property Level back to 7" '' $S Level i 7
	expect "$where: set-property Tags back" '' $S Tags as 2 one two
}

run_busctl bus "$BUS"
run_busctl peer "$PEER"

# busctl monitor on the bus: the service's signals, as another client sees them.
mon=$iop_dir/monitor.json
"$BUSCTL" --address="$BUS" monitor --json=short \
	--match="type='signal',sender='$IOP_NAME'" > "$mon" 2>&1 &
mon_pid=$!
iop_pids="$iop_pids $mon_pid"
wait_grep "$mon" "Monitoring" || diag "busctl monitor printed no banner"
sleep 0.3
out=$("$BUSCTL" --address="$BUS" -- call $IOP_NAME $IOP_PATH $IOP_IFACE Fire su monitored 3 2>&1)
is "$out" "u 3" "monitor: Fire 3 sent"
"$BUSCTL" --address="$BUS" -- set-property $IOP_NAME $IOP_PATH $IOP_IFACE Level i 99
"$BUSCTL" --address="$BUS" -- set-property $IOP_NAME $IOP_PATH $IOP_IFACE Tags as 1 t
wait_grep "$mon" '"member":"PropertiesChanged"' 2
for seq in 1 2 3; do
	check "monitor: Event(\"monitored\", $seq) seen" grep -F \
		"\"path\":\"/org/busrpc/Interop\",\"interface\":\"org.busrpc.Interop\",\"member\":\"Event\",\"payload\":{\"type\":\"su\",\"data\":[\"monitored\",$seq]}" "$mon"
done
check "monitor: PropertiesChanged with Level = 99" grep -F \
	'"member":"PropertiesChanged","payload":{"type":"sa{sv}as","data":["org.busrpc.Interop",{"Level":{"type":"i","data":99}},[]]}' "$mon"
check "monitor: PropertiesChanged invalidating Tags" grep -F \
	'"member":"PropertiesChanged","payload":{"type":"sa{sv}as","data":["org.busrpc.Interop",{},["Tags"]]}' "$mon"
kill "$mon_pid" 2>/dev/null
[ "$tap_failed" -eq 0 ] || sed 's/^/#   monitor: /' "$mon" | head -20

stop_pid "$C_PID"
is "$STOP_STATUS" 0 "the service exits 0 on SIGTERM"
tap_done
