# lib.sh: helpers for the runtime shell tests (source after tests/tap.sh).
# Every test gets its own directory, private dbus-daemon and services, all
# stopped by PID on exit. Never the machine's session bus.
rt_dir=$(mktemp -d) || tap_bail "mktemp failed"
chmod 0755 "$rt_dir"
rt_pids=""
rt_cleanup() {
	for p in $rt_pids; do kill "$p" 2>/dev/null; done
	for p in $rt_pids; do wait "$p" 2>/dev/null; done
	rm -rf "$rt_dir"
}
trap rt_cleanup EXIT
SERVICE=$top_builddir/tests/runtime-service
[ -x "$SERVICE" ] || tap_bail "tests/runtime-service not built"
BUSCTL=${BUSCTL:-busctl}
DBUS_DAEMON=${DBUS_DAEMON:-dbus-daemon}

# start_bus: a private dbus-daemon; sets BUS (its address) and BUS_PID.
start_bus() {
	cat > "$rt_dir/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$rt_dir/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
CONF
	"$DBUS_DAEMON" --config-file="$rt_dir/bus.conf" --nofork --print-address=1 > "$rt_dir/bus.addr" 2>"$rt_dir/bus.log" &
	BUS_PID=$!
	rt_pids="$rt_pids $BUS_PID"
	for _ in $(seq 100); do [ -s "$rt_dir/bus.addr" ] && break; sleep 0.05; done
	[ -s "$rt_dir/bus.addr" ] || tap_bail "dbus-daemon did not start"
	BUS=$(head -n1 "$rt_dir/bus.addr")
}

# start_service TAG ARGS...: run the test service in the background; waits
# for its READY line. Sets SVC_PID; output in $rt_dir/TAG.out/.err.
start_service() {
	tag=$1; shift
	$RT_WRAP "$SERVICE" "$@" > "$rt_dir/$tag.out" 2> "$rt_dir/$tag.err" &
	SVC_PID=$!
	rt_pids="$rt_pids $SVC_PID"
	for _ in $(seq 200); do
		grep -q '^READY' "$rt_dir/$tag.out" 2>/dev/null && return 0
		kill -0 "$SVC_PID" 2>/dev/null || break
		sleep 0.05
	done
	diag "service $tag did not start:"; sed 's/^/#   /' "$rt_dir/$tag.err"
	return 1
}

# wait_for FILE PATTERN: up to 5 s for PATTERN to appear in FILE.
wait_for() {
	for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
	return 1
}

# stop PID [SIGNAL]: signal (TERM) and wait; the exit status in $STOP_RC.
stop() {
	kill -"${2:-TERM}" "$1" 2>/dev/null
	wait "$1"
	STOP_RC=$?
}

PY=/usr/bin/python3
# start_listener TAG ADDRESS COUNT: python3-dbus subscriber in the background.
start_listener() {
	"$PY" "$top_srcdir/tests/runtime/listen.py" "$2" "$3" > "$rt_dir/$1.out" 2> "$rt_dir/$1.err" &
	LISTEN_PID=$!
	rt_pids="$rt_pids $LISTEN_PID"
	wait_for "$rt_dir/$1.out" '^LISTENING' || { diag "listener failed:"; sed 's/^/#   /' "$rt_dir/$1.err"; }
}

# check_verbs ADDRESS DEST TAG: the busctl verbs against the test service;
# the printed values are compared, not only the exit status.
check_verbs() {
	a=$1; d=$2; t=$3
	B="$BUSCTL --address=$a"
	is "$($B call "$d" /org/busrpc/Test org.busrpc.Test Add ii 2 3 2>&1)" "i 5" "$t: busctl call Add"
	is "$($B call "$d" /org/busrpc/Test org.busrpc.Test Echo s 'héllo wörld' 2>&1)" 's "h\303\251llo w\303\266rld"' "$t: busctl call Echo (UTF-8)"
	out=$($B introspect "$d" /org/busrpc/Test 2>&1)
	echo "$out" | grep -Eq '^\.Add +method +ii +i ' ; ok $? "$t: introspect lists Add(ii)->i"
	echo "$out" | grep -Eq '^\.Name +property +s +"test-service" +const'; ok $? "$t: introspect shows the Name value"
	echo "$out" | grep -Eq '^\.Reset +method .*no-reply'; ok $? "$t: introspect shows @noreply"
	echo "$out" | grep -q '^org.freedesktop.DBus.Properties'; ok $? "$t: introspect lists Properties"
	echo "$out" | grep -q '^org.freedesktop.DBus.Peer'; ok $? "$t: introspect lists Peer"
	tree=$($B tree "$d" 2>&1)
	echo "$tree" | grep -q '/org/busrpc/Test/objs/obj0$'; ok $? "$t: busctl tree shows the hierarchy"
	echo "$tree" | grep -q '└─/org/busrpc$'; ok $? "$t: busctl tree shows intermediate nodes"
	is "$($B get-property "$d" /org/busrpc/Test org.busrpc.Test Name 2>&1)" 's "test-service"' "$t: get-property Name"
	check "$t: set-property Count" $B set-property "$d" /org/busrpc/Test org.busrpc.Test Count u 7
	is "$($B get-property "$d" /org/busrpc/Test org.busrpc.Test Count 2>&1)" "u 7" "$t: get-property reads the value set"
	is "$($B call "$d" /org/busrpc/Test org.freedesktop.DBus.Properties GetAll s org.busrpc.Test 2>&1)" \
		'a{sv} 3 "Name" s "test-service" "Count" u 7 "Invalid" u 7' "$t: GetAll skips the unimplemented getter"
	is "$($B set-property "$d" /org/busrpc/Test org.busrpc.Test Name s x 2>&1)" \
		"Failed to set property Name on interface org.busrpc.Test: Property 'Name' is read-only" "$t: readonly property"
	is "$($B set-property "$d" /org/busrpc/Test org.busrpc.Test Count s x 2>&1)" \
		"Failed to set property Count on interface org.busrpc.Test: Invalid value for property 'Count': expected signature 'u', got 's'" \
		"$t: Set with a wrong type"
	is "$($B set-property "$d" /org/busrpc/Test org.busrpc.Test Count u 13 2>&1)" \
		"Failed to set property Count on interface org.busrpc.Test: 13 is not allowed" "$t: setter error travels"
	is "$($B get-property "$d" /org/busrpc/Test org.busrpc.Test Secret 2>&1)" \
		"Failed to get property Secret on interface org.busrpc.Test: Access denied" "$t: write-only property"
	is "$($B call "$d" /org/busrpc/Test org.busrpc.Test Add s x 2>&1)" \
		"Call failed: Invalid arguments for Add: expected signature 'ii', got 's'" "$t: wrong signature"
	list=$($B list 2>&1)
	echo "$list" | grep -Eq "^$d +$SVC_PID +runtime-service "; ok $? "$t: busctl list shows the service and its PID"
	st=$($B status "$d" 2>&1)
	echo "$st" | grep -q "^PID=$SVC_PID\$"; ok $? "$t: busctl status shows the PID"
	echo "$st" | grep -q "^UID=$(id -u)\$"; ok $? "$t: busctl status shows the UID"
	is "$($B call "$d" /org/busrpc/Test org.busrpc.Test Whoami 2>&1 | cut -d' ' -f1,2)" "uu $(id -u)" "$t: the service sees the caller's uid"
	# error names, through dbus-send (it prints them)
	ds() { dbus-send --bus="$a" --print-reply --reply-timeout=3000 --dest="$d" "$@" 2>&1 | head -n1 | cut -d: -f1; }
	is "$(ds /org/busrpc/Test org.busrpc.Test.Nope)" "Error org.freedesktop.DBus.Error.UnknownMethod" "$t: UnknownMethod"
	is "$(ds /org/busrpc/Test org.busrpc.Test.NotImpl)" "Error org.freedesktop.DBus.Error.UnknownMethod" "$t: -EOPNOTSUPP is UnknownMethod"
	is "$(ds /org/busrpc/Test org.busrpc.Nope.Add)" "Error org.freedesktop.DBus.Error.UnknownInterface" "$t: UnknownInterface"
	is "$(ds /org/busrpc/Nope org.busrpc.Test.Add)" "Error org.freedesktop.DBus.Error.UnknownObject" "$t: UnknownObject"
	is "$(ds /org/busrpc/Test org.busrpc.Test.Fail)" "Error org.busrpc.Test.Error.Custom" "$t: busrpc_call_fail error name"
	is "$(ds /org/busrpc/Test org.freedesktop.DBus.Properties.Get string:org.busrpc.Test string:Nope)" \
		"Error org.freedesktop.DBus.Error.UnknownProperty" "$t: UnknownProperty"
	is "$("$PY" -c 'import sys, dbus.bus; print(int(dbus.bus.BusConnection(sys.argv[1]).call_blocking(sys.argv[2], "/org/busrpc/Test", None, "Add", "ii", [1, 2])))' "$a" "$d" 2>&1)" \
		"3" "$t: a call without interface finds the method"
	# @noreply: no reply is sent even when one is expected, yet the op ran
	r0=$($B call "$d" /org/busrpc/Test org.busrpc.Test Resets 2>&1)
	is "$(dbus-send --bus="$a" --print-reply --reply-timeout=700 --dest="$d" /org/busrpc/Test org.busrpc.Test.Reset 2>&1 | cut -d: -f1)" \
		"Error org.freedesktop.DBus.Error.NoReply" "$t: @noreply method sends no reply"
	check "$t: call without expecting a reply" $B call --expect-reply=no "$d" /org/busrpc/Test org.busrpc.Test Reset
	is "$($B call "$d" /org/busrpc/Test org.busrpc.Test Resets 2>&1)" "u $(( ${r0#u } + 2 ))" "$t: both Reset calls ran"
	is "$(gdbus call --address "$a" --dest "$d" --object-path /org/busrpc/Test --method org.busrpc.Test.Add 4 5 2>&1)" \
		"(9,)" "$t: gdbus call"
	gdbus introspect --address "$a" --dest "$d" --object-path /org/busrpc/Test 2>&1 | grep -q 'Add(in  i arg_0,'
	ok $? "$t: gdbus introspect"
	gdbus introspect --address "$a" --dest "$d" --object-path /org/busrpc 2>&1 | grep -q 'node Test'
	ok $? "$t: gdbus introspect of an intermediate node lists its child"
}
