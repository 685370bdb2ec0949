#!/bin/sh
# test-props.sh (issue 13 items 2-3): PropertiesChanged after a Set from
# the wire, and coalescing, through a private dbus-daemon and on a peer
# socket (busrpc_server). tests/props-service serves one property per
# emits flag; three listeners record every signal: a busrpc client
# subscription (tests/props-client listen), python3-dbus
# (tests/props/listen.py) and gdbus monitor. After each step the test calls
# Mark(N): the service flushes what is queued and emits Marker N, so a
# signal sent for a step is always seen before its marker, and "nothing
# was sent" is proven by the marker coming next, without sleeping.
# At the end the three transcripts must equal the expected one exactly:
# each Set sends exactly one PropertiesChanged, with the right value or
# invalidation, or none at all.
. "$top_srcdir/tests/tap.sh"
need "${BUSCTL:-busctl}" gdbus dbus-daemon /usr/bin/python3 "${VALGRIND:-valgrind}"
/usr/bin/python3 -c 'import dbus, gi.repository.GLib' 2>/dev/null || tap_bail "python3-dbus and python3-gi are required"
busctl=${BUSCTL:-busctl}
b=$top_builddir
SVC=$b/tests/props-service
CLI=$b/tests/props-client
LISTEN_PY=$top_srcdir/tests/props/listen.py
[ -x "$SVC" ] && [ -x "$CLI" ] || tap_bail "tests/props-service and tests/props-client are not built"
tmp=$(mktemp -d) || tap_bail "mktemp failed"
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
IFACE=org.busrpc.Props
OBJ=/org/busrpc/Props

# wait_for FILE PATTERN [PID]: up to 20 s for PATTERN in FILE (a live
# condition, not a delay: returns as soon as it is there).
wait_for() {
	i=0
	while [ $i -lt 400 ]; do
		grep -q "$2" "$1" 2>/dev/null && return 0
		[ -n "$3" ] && ! kill -0 "$3" 2>/dev/null && return 1
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

# The private bus.
cat >"$tmp/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$tmp/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
CONF
dbus-daemon --config-file="$tmp/bus.conf" --nofork --print-address=1 >"$tmp/bus.addr" 2>"$tmp/bus.log" &
pids="$pids $!"
wait_for "$tmp/bus.addr" unix: || tap_bail "dbus-daemon did not start: $(cat "$tmp/bus.log")"
BUS=$(head -n 1 "$tmp/bus.addr")

# What every listener must have seen after the "ready" marker. One line
# per signal; markers name the step that precedes them.
expected() {
	cat <<EOF
PC $OBJ $IFACE Level=5 |
Marker busctl-set-level
PC $OBJ $IFACE Level=6 |
Marker python-set-level
PC $OBJ $IFACE Level=7 |
Marker busrpc-set-level
PC $OBJ $IFACE | Tags
Marker busctl-set-tags
PC $OBJ $IFACE | Tags
Marker busrpc-set-tags
Marker busctl-set-quiet-emits-false
Marker python-set-quiet-emits-false
Marker busrpc-set-quiet-emits-false
Marker busctl-set-fixed-emits-const
Marker busctl-set-level-unchanged
Marker busrpc-set-level-unchanged
Marker busctl-set-level-refused
Marker busctl-set-readonly-refused
PC $OBJ $IFACE Typed=42 |
Marker busctl-set-typed
PC $OBJ $IFACE Typed=43 |
Marker busrpc-set-typed
Marker busctl-set-typed-unchanged
PC $OBJ $IFACE Level=9 Name="triple" Count=1 |
PC $OBJ/b $IFACE Name="b-triple" |
Marker triple
PC $OBJ/b $IFACE Name="bee" |
Marker busctl-set-b-name
Marker deferred
PC $OBJ $IFACE Level=20 |
Marker deferred-call
PC $OBJ $IFACE Level=21 |
Marker flushed
Marker flushed-call
PC $OBJ/b $IFACE Name="gone" |
Marker drop
Marker end
EOF
}

# The same in gdbus monitor's GVariant text (after gdbus_filter).
gdbus_expected() {
	cat <<EOF
PC $OBJ {'Level': <5>}, @as []
M busctl-set-level
PC $OBJ {'Level': <6>}, @as []
M python-set-level
PC $OBJ {'Level': <7>}, @as []
M busrpc-set-level
PC $OBJ @a{sv} {}, ['Tags']
M busctl-set-tags
PC $OBJ @a{sv} {}, ['Tags']
M busrpc-set-tags
M busctl-set-quiet-emits-false
M python-set-quiet-emits-false
M busrpc-set-quiet-emits-false
M busctl-set-fixed-emits-const
M busctl-set-level-unchanged
M busrpc-set-level-unchanged
M busctl-set-level-refused
M busctl-set-readonly-refused
PC $OBJ {'Typed': <42>}, @as []
M busctl-set-typed
PC $OBJ {'Typed': <43>}, @as []
M busrpc-set-typed
M busctl-set-typed-unchanged
PC $OBJ {'Level': <9>, 'Name': <'triple'>, 'Count': <uint32 1>}, @as []
PC $OBJ/b {'Name': <'b-triple'>}, @as []
M triple
PC $OBJ/b {'Name': <'bee'>}, @as []
M busctl-set-b-name
M deferred
PC $OBJ {'Level': <20>}, @as []
M deferred-call
PC $OBJ {'Level': <21>}, @as []
M flushed
M flushed-call
PC $OBJ/b {'Name': <'gone'>}, @as []
M drop
M end
EOF
}

# gdbus monitor's lines to the form above: PC <path> <dict>, <invalidated>; M <marker>.
gdbus_filter() {
	sed -n -e "s|^\\(/[^:]*\\): org.freedesktop.DBus.Properties.PropertiesChanged ('$IFACE', \\(.*\\))\$|PC \\1 \\2|p" \
		-e "s|^$OBJ: $IFACE.Marker ('\\(.*\\)',)\$|M \\1|p"
}

# same GOT WANT DESCRIPTION: the two files are equal (else the diff).
same() {
	if cmp -s "$1" "$2"; then ok 0 "$3"; else
		ok 1 "$3"
		diff -u "$2" "$1" | sed 's/^/#   /'
	fi
}

# after_ready FILE: the lines after the last "ready" marker.
after_ready() {
	awk '/^M(arker)? ready$/ { n = NR } { line[NR] = $0 } END { for (i = n + 1; i <= NR; i++) print line[i] }' "$1"
}

# mark WHERE NAME: Mark(NAME) through busctl; the marker ends a step.
mark() {
	$busctl $1 call $2 $OBJ $IFACE Mark s "$3" >/dev/null 2>"$tmp/mark.err" ||
		diag "Mark $3 failed: $(cat "$tmp/mark.err")"
}

# run_round TAG BUSCTL_ADDR_OPT DEST CLIENT_ADDR PY_ADDR GDBUS_ADDR_OPT
run_round() {
	tag=$1 bopt=$2 dest=$3 caddr=$4 pyaddr=$5 gopt=$6
	: >"$tmp/$tag-c.out"
	: >"$tmp/$tag-py.out"
	: >"$tmp/$tag-gdbus.out"
	"$CLI" "$caddr" $dest listen >"$tmp/$tag-c.out" 2>"$tmp/$tag-c.err" &
	cpid=$!
	/usr/bin/python3 "$LISTEN_PY" "$pyaddr" >"$tmp/$tag-py.out" 2>"$tmp/$tag-py.err" &
	pypid=$!
	gdbus monitor $gopt --dest $dest >"$tmp/$tag-gdbus.out" 2>"$tmp/$tag-gdbus.err" &
	gpid=$!
	pids="$pids $cpid $pypid $gpid"
	wait_for "$tmp/$tag-c.out" '^LISTENING' $cpid; ok $? "$tag: the busrpc listener subscribed"
	wait_for "$tmp/$tag-py.out" '^LISTENING' $pypid; ok $? "$tag: the python3-dbus listener subscribed"
	# gdbus monitor says nothing when its match rules are in: mark until
	# every listener has seen a marker (a condition, polled).
	i=0
	while [ $i -lt 100 ]; do
		mark "$bopt" $dest ready
		grep -q '^Marker ready' "$tmp/$tag-c.out" && grep -q '^Marker ready' "$tmp/$tag-py.out" &&
			grep -q "Marker ('ready',)" "$tmp/$tag-gdbus.out" && break
		sleep 0.1
		i=$((i + 1))
	done
	grep -q "Marker ('ready',)" "$tmp/$tag-gdbus.out"; ok $? "$tag: gdbus monitor sees the service's signals"

	$busctl $bopt set-property $dest $OBJ $IFACE Level i 5
	mark "$bopt" $dest busctl-set-level
	/usr/bin/python3 -c "import dbus, sys; c = dbus.bus.BusConnection(sys.argv[1]); \
o = c.get_object(sys.argv[2], '$OBJ'); \
o.Set('$IFACE', sys.argv[3], sys.argv[4] == 'i' and dbus.Int32(int(sys.argv[5])) or dbus.UInt32(int(sys.argv[5])), \
dbus_interface='org.freedesktop.DBus.Properties')" "$pyaddr" "$dest" Level i 6
	ok $? "$tag: python3-dbus Set Level"
	mark "$bopt" $dest python-set-level
	"$CLI" "$caddr" $dest set-level 7; ok $? "$tag: busrpc client Set Level"
	mark "$bopt" $dest busrpc-set-level
	$busctl $bopt set-property $dest $OBJ $IFACE Tags as 2 x y
	mark "$bopt" $dest busctl-set-tags
	"$CLI" "$caddr" $dest set-tags p q r; ok $? "$tag: busrpc client Set Tags"
	mark "$bopt" $dest busrpc-set-tags
	$busctl $bopt set-property $dest $OBJ $IFACE Quiet u 3
	mark "$bopt" $dest busctl-set-quiet-emits-false
	/usr/bin/python3 -c "import dbus, sys; c = dbus.bus.BusConnection(sys.argv[1]); \
c.get_object(sys.argv[2], '$OBJ').Set('$IFACE', 'Quiet', dbus.UInt32(4), dbus_interface='org.freedesktop.DBus.Properties')" \
		"$pyaddr" "$dest"
	ok $? "$tag: python3-dbus Set Quiet"
	mark "$bopt" $dest python-set-quiet-emits-false
	"$CLI" "$caddr" $dest set-quiet 5; ok $? "$tag: busrpc client Set Quiet"
	mark "$bopt" $dest busrpc-set-quiet-emits-false
	$busctl $bopt set-property $dest $OBJ $IFACE Fixed s changed
	mark "$bopt" $dest busctl-set-fixed-emits-const
	$busctl $bopt set-property $dest $OBJ $IFACE Level i 7
	mark "$bopt" $dest busctl-set-level-unchanged
	"$CLI" "$caddr" $dest set-level 7; ok $? "$tag: busrpc client Set Level to its value"
	mark "$bopt" $dest busrpc-set-level-unchanged
	out=$($busctl $bopt set-property $dest $OBJ $IFACE Level i -- -5000 2>&1)
	is "$?:$out" "1:Failed to set property Level on interface $IFACE: -5000 is too low" "$tag: a refused Set fails"
	mark "$bopt" $dest busctl-set-level-refused
	out=$($busctl $bopt set-property $dest $OBJ $IFACE Count u 9 2>&1)
	is "$?:$out" "1:Failed to set property Count on interface $IFACE: Property 'Count' is read-only" \
		"$tag: Set of a readonly property fails"
	mark "$bopt" $dest busctl-set-readonly-refused
	# the descriptor-driven path (get_op / set_op)
	$busctl $bopt set-property $dest $OBJ $IFACE Typed i 42
	mark "$bopt" $dest busctl-set-typed
	"$CLI" "$caddr" $dest set-typed 43; ok $? "$tag: busrpc client Set Typed"
	mark "$bopt" $dest busrpc-set-typed
	$busctl $bopt set-property $dest $OBJ $IFACE Typed i 43
	mark "$bopt" $dest busctl-set-typed-unchanged
	$busctl $bopt call $dest $OBJ $IFACE Triple
	mark "$bopt" $dest triple
	$busctl $bopt set-property $dest $OBJ/b $IFACE Name s bee
	mark "$bopt" $dest busctl-set-b-name
	$busctl $bopt call $dest $OBJ $IFACE Deferred i 20
	mark "$bopt" $dest deferred-call
	$busctl $bopt call $dest $OBJ $IFACE Flushed i 21
	mark "$bopt" $dest flushed-call
	$busctl $bopt call $dest $OBJ $IFACE Drop
	mark "$bopt" $dest drop
	mark "$bopt" $dest end
	wait $cpid; ok $? "$tag: the busrpc listener saw the end"
	wait $pypid; ok $? "$tag: the python3-dbus listener saw the end"
	wait_for "$tmp/$tag-gdbus.out" "Marker ('end',)" $gpid; ok $? "$tag: gdbus monitor saw the end"
	kill $gpid 2>/dev/null
	wait $gpid 2>/dev/null

	expected >"$tmp/want"
	after_ready "$tmp/$tag-c.out" >"$tmp/$tag-c.got"
	same "$tmp/$tag-c.got" "$tmp/want" "$tag: the busrpc subscription saw exactly the expected signals"
	after_ready "$tmp/$tag-py.out" >"$tmp/$tag-py.got"
	same "$tmp/$tag-py.got" "$tmp/want" "$tag: python3-dbus saw exactly the same signals"
	gdbus_expected >"$tmp/want-gdbus"
	gdbus_filter <"$tmp/$tag-gdbus.out" >"$tmp/$tag-gdbus.lines"
	after_ready "$tmp/$tag-gdbus.lines" >"$tmp/$tag-gdbus.got"
	same "$tmp/$tag-gdbus.got" "$tmp/want-gdbus" "$tag: gdbus monitor saw exactly the same signals"

	# Values as Get reads them after it all.
	is "$($busctl $bopt get-property $dest $OBJ $IFACE Level Tags Quiet Fixed 2>&1 | tr '\n' ' ')" \
		'i 21 as 3 "p" "q" "r" u 5 s "changed" ' "$tag: Get agrees with what was set"
	is "$($busctl $bopt get-property $dest $OBJ $IFACE Typed 2>&1)" "i 43" "$tag: and for the descriptor-driven property"
}

# serve TAG BINARY bus|peer: start BINARY on the private bus or on a new
# peer socket, run a round against it, and stop it with Quit().
serve() {
	tag=$1 bin=$2
	if [ "$3" = bus ]; then
		addr=$BUS
		set -- bus "$BUS" "--address=$BUS" "$BUS"
	else
		mkdir -m 0700 "$tmp/$tag"
		addr=unix:path=$tmp/$tag/sock
		set -- listen "$addr" "--address=$addr" "peer:$addr"
	fi
	$VG "$bin" --$1 "$2" --name org.busrpc.Props >"$tmp/$tag-svc.out" 2>"$tmp/$tag-svc.err" &
	svc=$!
	pids="$pids $svc"
	wait_for "$tmp/$tag-svc.out" '^READY' $svc || tap_bail "$bin ($tag): $(cat "$tmp/$tag-svc.err")"
	run_round "$tag" "$3" org.busrpc.Props "$4" "$addr" "--address $addr"
	$busctl "$3" call org.busrpc.Props $OBJ $IFACE Quit >/dev/null 2>&1
	wait $svc
	rc=$?
	is "$rc" 0 "$tag: the service quits cleanly${VG:+ (valgrind: no error, no definite leak)}"
	[ "$rc" -eq 0 ] || tail -40 "$tmp/$tag-svc.err" | sed 's/^/#   /'
}

# The built-in loop: a private dbus-daemon, then a peer socket (a
# busrpc_server: every peer gets every change).
serve bus "$SVC" bus
serve peer "$SVC" peer
# Under valgrind: the queued changes hold references to their objects,
# and Drop frees one with a change queued; nothing may leak or be misused.
VG="$b/libtool --mode=execute ${VALGRIND:-valgrind} -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99"
serve valgrind-bus "$SVC" bus
serve valgrind-peer "$SVC" peer
VG=
# tests/test-notify (the API's edges, from inside a service) under valgrind.
"$b/libtool" --mode=execute ${VALGRIND:-valgrind} -q --leak-check=full --errors-for-leak-kinds=definite \
	--error-exitcode=99 "$b/tests/test-notify" >"$tmp/notify.out" 2>"$tmp/notify.vg"
rc=$?
is "$rc" 0 "test-notify under valgrind: all passed, no error, no definite leak"
[ "$rc" -eq 0 ] || { grep '^not ok' "$tmp/notify.out"; tail -30 "$tmp/notify.vg"; } | sed 's/^/#   /'
# The foreign loops, through the adapters (tests/test-loops.sh covers the
# adapters themselves): the 0 ms flush timer must wake each of them.
for a in glib:libglib2.0-dev sd-event:libsystemd-dev libuv:libuv1-dev; do
	name=${a%%:*} pkg=${a#*:}
	if [ -x "$b/tests/props-service-$name" ]; then
		serve "$name-bus" "$b/tests/props-service-$name" bus
		serve "$name-peer" "$b/tests/props-service-$name" peer
	else
		ok 1 "props-service-$name was not built: configure did not find libbusrpc-$name's library (apt-get install $pkg, then re-run configure)"
	fi
done
tap_done
