#!/bin/sh
# gdbus (GLib) calling the busrpc service, on a private bus and on its peer
# socket: introspect (also --recurse, properties with values), call for every
# type category gdbus can express (it reads the argument types from the
# service's introspection, so this also checks that XML), Properties
# Get/Set/GetAll, a declared error, and `gdbus monitor` on the bus.
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/interop/lib.sh"
need gdbus

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

run_gdbus() {  # run_gdbus WHERE ADDRESS
	where=$1 addr=$2
	G="gdbus call --address $addr --dest $IOP_NAME --object-path $IOP_PATH --method"

	out=$(gdbus introspect --address "$addr" --dest $IOP_NAME --object-path $IOP_PATH 2>&1)
	ok $? "$where: gdbus introspect exits 0"
	flat=$(printf '%s\n' "$out" | tr -s ' \n' ' ')
	# Argument annotations (@org.busrpc.Type("shm") ...) are printed inline: drop them to match signatures.
	bare=$(printf '%s\n' "$flat" | sed 's/@org\.busrpc\.[A-Za-z]*("[^"]*") //g')
	has "$flat" "interface org.busrpc.Interop {" "$where: introspect shows the interface"
	has "$bare" "Basics(in b b, in y y, in n n, in q q, in i i, in u u, in x x, in t t, in d d, in s s, in o path, in g g, out b ob," \
		"$where: introspect: Basics with argument names"
	has "$bare" "Structs(in (is) pair, in (sua(is)a{sv}) r, out (is) op, out (sua(is)a{sv}) or);" "$where: introspect: Structs"
	has "$bare" "Blob(in h data, out t size, out u sum, out h doubled);" "$where: introspect: Blob (shm is h)"
	has "$bare" "Event(s text, u seq);" "$where: introspect: signal Event"
	has "$flat" "readonly s Name = 'interop';" "$where: introspect: Name readonly, with its value"
	has "$flat" "readwrite i Level = 7;" "$where: introspect: Level readwrite"
	has "$flat" '@org.freedesktop.DBus.Property.EmitsChangedSignal("invalidates") readwrite as Tags = ['"'one', 'two'];" \
		"$where: introspect: Tags with its EmitsChangedSignal annotation"
	has "$flat" "interface org.freedesktop.DBus.Properties {" "$where: introspect: Properties"

	out=$(gdbus introspect --address "$addr" --dest $IOP_NAME --object-path / --recurse --only-properties 2>&1)
	ok $? "$where: gdbus introspect --recurse from / exits 0"
	has "$out" "node /org/busrpc/Interop/Child {" "$where: --recurse reaches the child object"

	expect "$where: call Basics" \
		"(false, byte 0x00, int16 32767, uint16 0, -2147483646, uint32 0, int64 9223372036854775807, uint64 0, 2.5, 'héllo!', objectpath '/a/b/child', signature 'a{sv}i')" \
		$G $IOP_IFACE.Basics true 255 -- -32768 65535 1073741825 4294967295 -9223372036854775808 \
		18446744073709551615 1.25 "héllo" /a/b "a{sv}"
	expect "$where: call Arrays" "([3, -2, 1], ['yy', 'x'], b'\\377\\001', [-1.5, 0.5], [false, false, true])" \
		$G $IOP_IFACE.Arrays "[1,-2,3]" "['x','yy']" "[0,1,255]" "[0.5,-1.5]" "[true,false,false]"
	expect "$where: call Maps" "({1: 'a', -5: 'b'}, int64 -4, ['one=1', 'three=3'])" \
		$G $IOP_IFACE.Maps "{'a':1,'b':-5}" "{3:'three',1:'one'}"
	expect "$where: call Structs" \
		"((42, 'x!'), ('rec', uint32 10, [(2, 'q'), (1, 'p')], {'n': <5>, 'seen': <true>}))" \
		$G $IOP_IFACE.Structs "(41,'x')" "('rec',9,[(1,'p'),(2,'q')],{'n':<5>})"
	expect "$where: call Nested" "({'odd': 9, 'e': 0}, [@a(is) [], [(2, 'b'), (3, 'c')], [(1, 'a')]], uint32 3)" \
		$G $IOP_IFACE.Nested "{'odd':[1,3,5],'e':[]}" "[[(1,'a')],[(2,'b'),(3,'c')],[]]"
	expect "$where: call Enums" "(1, uint32 6)" $G $IOP_IFACE.Enums 0 1
	expect "$where: call Variant <as>" "(signature 'as', <['a', 'b']>)" $G $IOP_IFACE.Variant "<['a','b']>"
	expect "$where: call Variant <<int16>>" "(signature 'v', <<int16 -4>>)" $G $IOP_IFACE.Variant "<<int16 -4>>"
	expect "$where: call MakeVariant dict" "(<{'k': <uint32 1>}>,)" $G $IOP_IFACE.MakeVariant dict
	expect "$where: call MakeVariant strings" "(<['a', 'b']>,)" $G $IOP_IFACE.MakeVariant strings
	expect "$where: call Check 3" "(3,)" $G $IOP_IFACE.Check 3
	got=$($G $IOP_IFACE.Check -- -3 2>&1)
	ok $((! $?)) "$where: call Check -3 fails"
	has "$got" "GDBus.Error:org.busrpc.Interop.Error.Refused: negative: -3" "$where: Check -3: the declared error, name and message"
	expect "$where: the next call works" "(4,)" $G $IOP_IFACE.Check 4

	P=org.freedesktop.DBus.Properties
	expect "$where: Properties.Get Tags" "(<['one', 'two']>,)" $G $P.Get $IOP_IFACE Tags
	expect "$where: Properties.Set Level 9" "()" $G $P.Set $IOP_IFACE Level "<int32 9>"
	expect "$where: Properties.GetAll" "({'Name': <'interop'>, 'Level': <9>, 'Shade': <1>, 'Tags': <['one', 'two']>},)" \
		$G $P.GetAll $IOP_IFACE
	got=$($G $P.Set $IOP_IFACE Name "<'x'>" 2>&1)
	has "$got" "org.freedesktop.DBus.Error.PropertyReadOnly" "$where: Set Name (readonly): PropertyReadOnly"
	got=$($G $P.Set $IOP_IFACE Level "<'x'>" 2>&1)
	has "$got" "org.freedesktop.DBus.Error.InvalidArgs" "$where: Set Level to a string: InvalidArgs"
	got=$($G $P.Get $IOP_IFACE Nope 2>&1)
	has "$got" "org.freedesktop.DBus.Error.UnknownProperty" "$where: Get Nope: UnknownProperty"
	expect "$where: Properties.Set Level back to 7" "()" $G $P.Set $IOP_IFACE Level "<int32 7>"
}

run_gdbus bus "$BUS"
run_gdbus peer "$PEER"

# GLib's own (strict) introspection parser accepts what the service serves,
# and what busrpc-idlc --xml writes, with the right signatures.
need_python
IDLC=${BUSRPC_IDLC:-$top_builddir/busrpc-idlc}
"$IDLC" -o "$iop_dir" --xml "$top_srcdir/tests/interop/interop.idl" > "$iop_dir/idlc.out" 2>&1 ||
	{ sed 's/^/#   /' "$iop_dir/idlc.out"; tap_bail "busrpc-idlc --xml failed"; }
gdbus call --address "$BUS" --dest $IOP_NAME --object-path $IOP_PATH \
	--method org.freedesktop.DBus.Introspectable.Introspect > "$iop_dir/live.gvariant" 2>&1
ok $? "Introspect through gdbus call"
for xml in "$iop_dir/interop.xml" "$iop_dir/live.gvariant"; do
	out=$("$PY" - "$xml" <<'PYEOF' 2>&1
import sys
from gi.repository import Gio, GLib
text = open(sys.argv[1]).read()
if text.startswith("("):  # gdbus call output: a GVariant tuple holding the string
    text = GLib.Variant.parse(GLib.VariantType.new("(s)"), text.strip(), None, None).unpack()[0]
node = Gio.DBusNodeInfo.new_for_xml(text)
it = node.lookup_interface("org.busrpc.Interop")
sig = lambda args: "".join(a.signature for a in args)
for name in ("Basics", "Structs", "Nested", "Blob", "Variant"):
    m = it.lookup_method(name)
    print("%s %s %s" % (name, sig(m.in_args), sig(m.out_args)))
print("Event", sig(it.lookup_signal("Event").args))
for p in it.properties:
    print("prop", p.name, p.signature, int(p.flags))
PYEOF
)
	st=$?
	what=${xml##*/}
	is "$st" 0 "GLib's Gio.DBusNodeInfo parses $what"
	is "$(printf '%s\n' "$out" | tr '\n' ';')" \
		"Basics bynqiuxtdsog bynqiuxtdsog;Structs (is)(sua(is)a{sv}) (is)(sua(is)a{sv});Nested a{sai}aa(is) a{si}aa(is)u;Blob h tuh;Variant v gv;Event su;prop Name s 1;prop Level i 3;prop Shade i 3;prop Tags as 3;" \
		"GLib sees the signatures and property access in $what"
done

# gdbus monitor on the bus: signals of org.busrpc.Interop.
mon=$iop_dir/gdbus-monitor.txt
gdbus monitor --address "$BUS" --dest $IOP_NAME > "$mon" 2>&1 &
mon_pid=$!
iop_pids="$iop_pids $mon_pid"
wait_grep "$mon" "is owned by" || diag "gdbus monitor did not find the name owner"
sleep 0.3
G="gdbus call --address $BUS --dest $IOP_NAME --object-path $IOP_PATH --method"
expect "monitor: Fire 2" "(uint32 2,)" $G $IOP_IFACE.Fire watched 2
expect "monitor: Set Level 5" "()" $G org.freedesktop.DBus.Properties.Set $IOP_IFACE Level "<int32 5>"
wait_grep "$mon" "PropertiesChanged"
check "monitor: Event('watched', 1)" grep -F "/org/busrpc/Interop: org.busrpc.Interop.Event ('watched', uint32 1)" "$mon"
check "monitor: Event('watched', 2)" grep -F "/org/busrpc/Interop: org.busrpc.Interop.Event ('watched', uint32 2)" "$mon"
check "monitor: PropertiesChanged Level = 5" grep -F \
	"/org/busrpc/Interop: org.freedesktop.DBus.Properties.PropertiesChanged ('org.busrpc.Interop', {'Level': <5>}, @as [])" "$mon"
kill "$mon_pid" 2>/dev/null
[ "$tap_failed" -eq 0 ] || sed 's/^/#   monitor: /' "$mon" | head -20

stop_pid "$C_PID"
is "$STOP_STATUS" 0 "the service exits 0 on SIGTERM"
tap_done
