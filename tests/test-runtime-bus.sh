#!/bin/sh
# The runtime on a bus: a private dbus-daemon, the test service, and
# busctl / gdbus / dbus-send / python3-dbus as clients.
. "$top_srcdir/tests/tap.sh"
need "${DBUS_DAEMON:-dbus-daemon}" "${BUSCTL:-busctl}" gdbus dbus-send dbus-run-session /usr/bin/python3
. "$top_srcdir/tests/runtime/lib.sh"

start_bus
start_service a --bus "$BUS" --name org.busrpc.A --allow-replacement --objects 1000 || tap_bail "service A"
A_PID=$SVC_PID
wait_for "$rt_dir/a.out" '^ACQUIRED org.busrpc.A$'; ok $? "the acquired callback ran"
check_verbs "$BUS" org.busrpc.A bus

n=$($BUSCTL --address="$BUS" tree org.busrpc.A 2>&1 | grep -c '/org/busrpc/Test/objs/obj[0-9]*$')
is "$n" 1000 "busctl tree lists 1,000 objects"
is "$($BUSCTL --address="$BUS" call org.busrpc.A /org/busrpc/Test/objs/obj999 org.busrpc.Leaf Echo s z 2>&1)" 's "z"' \
	"the 1,000th object answers"

# signals and PropertiesChanged reach a subscribed client
start_listener sig "$BUS" 3
check "Emit" $BUSCTL --address="$BUS" call org.busrpc.A /org/busrpc/Test org.busrpc.Test Emit s hello
wait "$LISTEN_PID"
grep -q '^Tick hello$' "$rt_dir/sig.out"; ok $? "the client received the signal"
grep -q '^PropertiesChanged org.busrpc.Test Count=8 invalidated=$' "$rt_dir/sig.out"; ok $? "PropertiesChanged with the value (emits true)"
grep -q '^PropertiesChanged org.busrpc.Test  invalidated=Invalid$' "$rt_dir/sig.out"; ok $? "PropertiesChanged invalidating (emits invalidates)"
sed 's/^/#   /' "$rt_dir/sig.out"

# two services on one bus; name replacement
start_service c --bus "$BUS" --name org.busrpc.C || tap_bail "service C"
C_PID=$SVC_PID
is "$($BUSCTL --address="$BUS" call org.busrpc.C /org/busrpc/Test org.busrpc.Test Add ii 1 1 2>&1)" "i 2" "a second service on the same bus"
is "$($BUSCTL --address="$BUS" call org.busrpc.A /org/busrpc/Test org.busrpc.Test Add ii 1 2 2>&1)" "i 3" "the first still answers"
start_service b --bus "$BUS" --name org.busrpc.A --replace || tap_bail "service B"
B_PID=$SVC_PID
wait_for "$rt_dir/a.out" '^LOST org.busrpc.A$'; ok $? "ALLOW_REPLACEMENT + REPLACE_EXISTING: the old owner's lost callback ran"
wait_for "$rt_dir/b.out" '^ACQUIRED org.busrpc.A$'; ok $? "the new owner's acquired callback ran"
is "$($BUSCTL --address="$BUS" status org.busrpc.A 2>&1 | grep '^PID=')" "PID=$B_PID" "the name moved to the new owner"

# a deferred call outlives a client killed mid-call; the service goes on
dbus-send --bus="$BUS" --print-reply --dest=org.busrpc.C /org/busrpc/Test org.busrpc.Test.Defer uint32:0 >/dev/null 2>&1 &
dpid=$!
sleep 0.3
kill -9 "$dpid" 2>/dev/null; wait "$dpid" 2>/dev/null
is "$($BUSCTL --address="$BUS" call org.busrpc.C /org/busrpc/Test org.busrpc.Test Add ii 20 22 2>&1)" "i 42" \
	"a client killed mid-call leaves the service serving others"

# SIGTERM: clean exit 0, the name is released
stop "$B_PID"; is "$STOP_RC" 0 "SIGTERM stops the service with status 0"
grep -q 'loop returned 0' "$rt_dir/b.err"; ok $? "busrpc_loop_run returned 0 after SIGTERM"
stop "$C_PID"; is "$STOP_RC" 0 "SIGTERM with a deferred call pending: status 0"
stop "$A_PID" INT; is "$STOP_RC" 0 "SIGINT stops the first service with status 0"

# ObjectManager: InterfacesAdded when exported, InterfacesRemoved when unexported
dbus-monitor --address "$BUS" "type='signal',interface='org.freedesktop.DBus.ObjectManager'" > "$rt_dir/om.mon" 2>&1 &
mon=$!
rt_pids="$rt_pids $mon"
sleep 0.5  # dbus-monitor prints nothing until a match: give it time to subscribe
start_service om --bus "$BUS" --name org.busrpc.OM --objects 2 --object-manager || tap_bail "service OM"
stop "$SVC_PID"
sleep 0.3
kill "$mon"
grep -A1 'member=InterfacesAdded' "$rt_dir/om.mon" | grep -q 'object path "/org/busrpc/Test/objs/obj1"'
ok $? "InterfacesAdded for an object exported below an ObjectManager"
grep -A1 'member=InterfacesRemoved' "$rt_dir/om.mon" | grep -q 'object path "/org/busrpc/Test/objs/obj1"'
ok $? "InterfacesRemoved when it is unexported"

# busrpc_conn_open("session") under dbus-run-session
cat > "$rt_dir/session.sh" <<SH
"$SERVICE" --name org.busrpc.S > "$rt_dir/s.out" 2>&1 &
p=\$!
for i in \$(seq 100); do grep -q ACQUIRED "$rt_dir/s.out" && break; sleep 0.05; done
$BUSCTL --address="\$DBUS_SESSION_BUS_ADDRESS" call org.busrpc.S /org/busrpc/Test org.busrpc.Test Add ii 3 4
kill -TERM \$p; wait \$p; echo "exit \$?"
SH
is "$(dbus-run-session -- sh "$rt_dir/session.sh" 2>/dev/null | tr '\n' ' ')" "i 7 exit 0 " 'busrpc_conn_open("session") under dbus-run-session'
tap_done
