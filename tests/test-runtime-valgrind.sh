#!/bin/sh
# The test service under valgrind, on a bus and as a peer server: calls,
# properties, introspection, errors, signals, a deferred call pending at
# exit; SIGTERM must give exit status 0 with no definite leak and no error.
. "$top_srcdir/tests/tap.sh"
need "${VALGRIND:-valgrind}" "${DBUS_DAEMON:-dbus-daemon}" "${BUSCTL:-busctl}"
. "$top_srcdir/tests/runtime/lib.sh"
VG=${VALGRIND:-valgrind}

exercise() {  # ADDRESS DEST TAG
	B="$BUSCTL --address=$1"
	is "$($B call "$2" /org/busrpc/Test org.busrpc.Test Add ii 2 3 2>&1)" "i 5" "$3: call"
	$B introspect "$2" /org/busrpc/Test >/dev/null 2>&1; ok $? "$3: introspect"
	$B tree "$2" >/dev/null 2>&1; ok $? "$3: tree"
	check "$3: set-property" $B set-property "$2" /org/busrpc/Test org.busrpc.Test Count u 4
	is "$($B get-property "$2" /org/busrpc/Test org.busrpc.Test Count 2>&1)" "u 4" "$3: get-property"
	$B call "$2" /org/busrpc/Test org.freedesktop.DBus.Properties GetAll s org.busrpc.Test >/dev/null 2>&1; ok $? "$3: GetAll"
	$B call "$2" /org/busrpc/Test org.busrpc.Test Add s x >/dev/null 2>&1; ok $(( $? == 0 )) "$3: wrong signature fails"
	$B call "$2" /org/busrpc/Test org.busrpc.Test Fail >/dev/null 2>&1; ok $(( $? == 0 )) "$3: error reply"
	$B set-property "$2" /org/busrpc/Test org.busrpc.Test Count u 13 >/dev/null 2>&1; ok $(( $? == 0 )) "$3: setter error"
	check "$3: emit" $B call "$2" /org/busrpc/Test org.busrpc.Test Emit s x
	$B call "$2" /org/busrpc/Test org.busrpc.Test Whoami >/dev/null 2>&1; ok $? "$3: caller credentials"
	$B call "$2" /org/busrpc org.freedesktop.DBus.ObjectManager GetManagedObjects 2>&1 | grep -q '^a{oa{sa{sv}}} 21 "/org/busrpc/Test" 1 "org.busrpc.Test" 3 "Name" s "test-service" "Count" u 5 '
	ok $? "$3: GetManagedObjects lists the 21 objects with their properties"
	$B --timeout=1 call "$2" /org/busrpc/Test org.busrpc.Test Defer u 0 >/dev/null 2>&1
	ok $(( $? == 0 )) "$3: a call left deferred"
	$B call "$2" /org/busrpc/Test org.busrpc.Test Defer u 50 >/dev/null 2>&1; ok $? "$3: a deferred reply"
}

run_vg() {  # TAG ARGS...: start the service under valgrind
	tag=$1; shift
	RT_WRAP="$top_builddir/libtool --mode=execute $VG --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 --log-file=$rt_dir/$tag.vg"
	start_service "$tag" "$@"
	r=$?
	RT_WRAP=
	return $r
}

start_bus
run_vg bus --bus "$BUS" --name org.busrpc.V --objects 20 --object-manager || tap_bail "service under valgrind"
exercise "$BUS" org.busrpc.V bus
stop "$SVC_PID"; is "$STOP_RC" 0 "bus: SIGTERM: exit 0, valgrind clean"
[ "$STOP_RC" -eq 0 ] || sed 's/^/#   /' "$rt_dir/bus.vg" | tail -40

run_vg peer --listen "unix:path=$rt_dir/p/sock" --name org.busrpc.V --objects 20 --object-manager || tap_bail "peer service under valgrind"
exercise "unix:path=$rt_dir/p/sock" org.busrpc.V peer
stop "$SVC_PID"; is "$STOP_RC" 0 "peer: SIGTERM: exit 0, valgrind clean"
[ "$STOP_RC" -eq 0 ] || sed 's/^/#   /' "$rt_dir/peer.vg" | tail -40
# the client side too: the C tests under valgrind (loop, server limits,
# calls, timeouts, a server killed mid-call)
for t in test-loop test-server test-conn; do
	"$top_builddir/libtool" --mode=execute $VG -q --leak-check=full --errors-for-leak-kinds=definite \
		--error-exitcode=99 "$top_builddir/tests/$t" > "$rt_dir/$t.out" 2> "$rt_dir/$t.vg"
	rc=$?
	is "$rc" 0 "$t under valgrind: no error, no definite leak, all passed"
	[ "$rc" -eq 0 ] || { grep '^not ok' "$rt_dir/$t.out"; tail -30 "$rt_dir/$t.vg"; } | sed 's/^/#   /'
done
tap_done
