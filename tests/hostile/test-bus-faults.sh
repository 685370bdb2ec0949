#!/bin/sh
# Faults a bus service must survive or see (issue 9, items 1, 2, 8), on a
# private busrpc-bus, with the services under valgrind where it matters:
#  - 17 (and 200) fds in one unicast signal, and a method call with too
#    many fds: the service keeps its connection, its name and its fd count;
#  - SIGHUP: harmless by default, runs the hook when one is installed;
#  - the bus killed (kill -9 of dbus-daemon): services exit non-zero with
#    a message, a pending call completes with an error, a handler is told;
#    with reconnection, a service is back with its name after the bus
#    restarts on the same socket.
# Everything runs twice: the services on libdbus (BUSRPC_FAST_PATH=0), then
# on busrpc's own transport (=1); each check says which.
. "$top_srcdir/tests/tap.sh"
need "${VALGRIND:-valgrind}" "${BUSCTL:-busctl}" dbus-send /usr/bin/python3
/usr/bin/python3 -c 'import dbus' 2>/dev/null || tap_bail "python3-dbus not found"
. "$top_srcdir/tests/runtime/lib.sh"
SERVICE=$top_builddir/tests/faults-service
[ -x "$SERVICE" ] || tap_bail "tests/faults-service not built"
BUSRPC_BUS=$top_builddir/busrpc-bus
[ -x "$BUSRPC_BUS" ] || tap_bail "busrpc-bus not built"
VG=${VALGRIND:-valgrind}
B() { "$BUSCTL" --address="$BUS" "$@" 2>&1; }
owner() { B call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetNameOwner s "$1"; }
nfds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

# bus_up: busrpc-bus on $rt_dir/s/bus; sets BUS, BUSD_PID (busrpc-bus), DAEMON_PID.
bus_up() {
	: > "$rt_dir/bus.out"
	"$BUSRPC_BUS" --socket "$rt_dir/s/bus" --print-pid > "$rt_dir/bus.out" 2> "$rt_dir/bus.err" &
	BUSD_PID=$!
	rt_pids="$rt_pids $BUSD_PID"
	for _ in $(seq 200); do [ "$(wc -l < "$rt_dir/bus.out")" -ge 2 ] && break; sleep 0.05; done
	[ "$(wc -l < "$rt_dir/bus.out")" -ge 2 ] || tap_bail "busrpc-bus did not start: $(cat "$rt_dir/bus.err")"
	BUS=$(sed -n 1p "$rt_dir/bus.out")
	DAEMON_PID=$(sed -n 2p "$rt_dir/bus.out")
}

# vg TAG ARGS...: start the service under valgrind (fds tracked).
vg() {
	tag=$1; shift
	RT_WRAP="$top_builddir/libtool --mode=execute $VG --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 --track-fds=yes --log-file=$rt_dir/$tag.vg"
	start_service "$tag" "$@"
	r=$?
	RT_WRAP=
	return $r
}

# exited PID: wait up to 30 s (valgrind is slow) for PID to exit; status in $EXIT_RC.
exited() {
	for _ in $(seq 600); do kill -0 "$1" 2>/dev/null || break; sleep 0.05; done
	kill -0 "$1" 2>/dev/null && { EXIT_RC=timeout; return 1; }
	wait "$1"; EXIT_RC=$?
	return 0
}

# send_fds DEST N: one unicast signal carrying N fds to DEST.
send_fds() {
	/usr/bin/python3 - "$BUS" "$1" "$2" <<'EOF'
import os, sys, dbus, dbus.lowlevel
bus = dbus.bus.BusConnection(sys.argv[1])
n = int(sys.argv[3])
r, w = os.pipe()
m = dbus.lowlevel.SignalMessage("/x", "org.busrpc.Hostile", "ManyFds")
m.set_destination(sys.argv[2])
m.append(dbus.Array([dbus.types.UnixFd(r) for _ in range(n)], signature="h"))
bus.send_message(m)
bus.flush()
# a round trip through the bus: the signal has been delivered before it
bus.call_blocking("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetId", "", [])
print("sent", n)
EOF
}

# call_fds DEST N: Fds(ah) with N fds; prints the reply or the error name.
call_fds() {
	/usr/bin/python3 - "$BUS" "$1" "$2" <<'EOF'
import os, sys, dbus
bus = dbus.bus.BusConnection(sys.argv[1])
n = int(sys.argv[3])
r, w = os.pipe()
try:
    print("u", int(bus.call_blocking(sys.argv[2], "/org/busrpc/Faults", "org.busrpc.Faults", "Fds", "ah",
                                     [[dbus.types.UnixFd(r) for _ in range(n)]], timeout=20)))
except dbus.exceptions.DBusException as e:
    print(e.get_dbus_name())
EOF
}

# tap.sh's ok(), with the round's path in front of the description
ok() {
	tap_n=$((tap_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $tap_n - $round_tag$2"
	else
		echo "not ok $tap_n - $round_tag$2"
		tap_failed=$((tap_failed + 1))
	fi
}

faults_round() {
bus_up
is "$(B call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetConnectionUnixProcessID s org.freedesktop.DBus >/dev/null; echo $?)" 0 "busrpc-bus is up"

# --- 1. fds ---
vg fds --bus "$BUS" --name org.busrpc.Faults || tap_bail "faults-service under valgrind"
FDS_PID=$SVC_PID
wait_for "$rt_dir/fds.out" '^ACQUIRED org.busrpc.Faults' ; ok $? "fds: the service owns its name"
uniq=$(sed -n 's/^READY //p' "$rt_dir/fds.out")
is "$(B call org.busrpc.Faults /org/busrpc/Faults org.busrpc.Faults Add ii 2 3)" "i 5" "fds: the service answers"
fds0=$(nfds "$FDS_PID")
is "$(send_fds "$uniq" 17)" "sent 17" "fds: a unicast signal with 17 fds is delivered by the bus"
is "$(B call org.busrpc.Faults /org/busrpc/Faults org.busrpc.Faults Add ii 4 5)" "i 9" "fds: after 17 fds, the service still answers"
is "$(owner org.busrpc.Faults)" "s \"$uniq\"" "fds: after 17 fds, the service still owns its name"
is "$(send_fds "$uniq" 200)" "sent 200" "fds: a unicast signal with 200 fds is delivered by the bus"
is "$(B call org.busrpc.Faults /org/busrpc/Faults org.busrpc.Faults Add ii 1 1)" "i 2" "fds: after 200 fds, the service still answers"
is "$(call_fds org.busrpc.Faults 17)" "org.freedesktop.DBus.Error.LimitsExceeded" "fds: a call with 17 fds: LimitsExceeded (default 16)"
is "$(call_fds org.busrpc.Faults 16)" "u 16" "fds: a call with 16 fds reaches the skeleton"
is "$(call_fds org.busrpc.Faults 100)" "org.freedesktop.DBus.Error.LimitsExceeded" "fds: a call with 100 fds: LimitsExceeded"
is "$(owner org.busrpc.Faults)" "s \"$uniq\"" "fds: the service still owns its name"
fds1=$(nfds "$FDS_PID")
ok $(( fds1 > fds0 )) "fds: no received fd is left open ($fds0 before, $fds1 after)"

# a smaller per-call limit, set with busrpc_conn_set_max_call_fds()
start_service lim --bus "$BUS" --name org.busrpc.Faults.Lim --max-call-fds 2 || tap_bail "faults-service --max-call-fds"
LIM_PID=$SVC_PID
wait_for "$rt_dir/lim.out" '^ACQUIRED'
is "$(call_fds org.busrpc.Faults.Lim 2)" "u 2" "fds: max-call-fds 2: a call with 2 fds is served"
is "$(call_fds org.busrpc.Faults.Lim 3)" "org.freedesktop.DBus.Error.LimitsExceeded" "fds: max-call-fds 2: 3 fds refused"

# a peer server: its per-call limit (busrpc_server_limits.max_call_fds) covers every peer
call_peer_fds() {  # ADDRESS N: Fds(ah) with N fds from a plain peer
	/usr/bin/python3 - "$1" "$2" <<'EOF'
import os, sys, dbus, dbus.connection
c = dbus.connection.Connection(sys.argv[1])
c.call_blocking(None, "/", "org.freedesktop.DBus.Peer", "Ping", "", [], timeout=10)
r, w = os.pipe()
try:
    print("u", int(c.call_blocking(None, "/org/busrpc/Faults", "org.busrpc.Faults", "Fds", "ah",
                                   [[dbus.types.UnixFd(r) for _ in range(int(sys.argv[2]))]], timeout=20)))
except dbus.exceptions.DBusException as e:
    print(e.get_dbus_name())
EOF
}
vg peer --listen "unix:path=$rt_dir/p/sock" --max-fds 64 --max-call-fds 8 || tap_bail "faults-service --listen under valgrind"
PEER_PID=$SVC_PID
is "$(call_peer_fds "unix:path=$rt_dir/p/sock" 8)" "u 8" "peer: a call with 8 fds is served (max-call-fds 8)"
is "$(call_peer_fds "unix:path=$rt_dir/p/sock" 9)" "org.freedesktop.DBus.Error.LimitsExceeded" "peer: 9 fds: LimitsExceeded"
is "$(call_peer_fds "unix:path=$rt_dir/p/sock" 40)" "org.freedesktop.DBus.Error.LimitsExceeded" "peer: 40 fds (under max_fds 64): LimitsExceeded"
stop "$PEER_PID"; is "$STOP_RC" 0 "peer: SIGTERM: exit 0, valgrind clean"
[ "$STOP_RC" -eq 0 ] || sed 's/^/#   /' "$rt_dir/peer.vg" | tail -30
opened=$(awk '/Open (file descriptor|AF_UNIX socket)/ { getline nx; if (nx !~ /inherited from parent/) n++ } END { print n + 0 }' "$rt_dir/peer.vg")
is "$opened" 0 "peer: no fd the server opened or received is open at exit"

# --- 8. SIGHUP ---
kill -HUP "$FDS_PID"
is "$(B call org.busrpc.Faults /org/busrpc/Faults org.busrpc.Faults Add ii 6 7)" "i 13" "SIGHUP: the service (busrpc_loop_handle_signals) survives and answers"
start_service hup --bus "$BUS" --name org.busrpc.Faults.Hup --hup --conn-run || tap_bail "faults-service --hup"
HUP_PID=$SVC_PID
wait_for "$rt_dir/hup.out" '^ACQUIRED'
kill -HUP "$HUP_PID"; wait_for "$rt_dir/hup.out" '^HUP 1$'; ok $? "SIGHUP: the hook runs (busrpc_conn_run)"
kill -HUP "$HUP_PID"; wait_for "$rt_dir/hup.out" '^HUP 2$'; ok $? "SIGHUP: and runs again on the next one"
is "$(B call org.busrpc.Faults.Hup /org/busrpc/Faults org.busrpc.Faults Add ii 1 2)" "i 3" "SIGHUP: the hooked service answers"
start_service hup2 --bus "$BUS" --conn-run || tap_bail "faults-service --conn-run"
HUP2_PID=$SVC_PID
kill -HUP "$HUP2_PID"
is "$(B call "$(sed -n 's/^READY //p' "$rt_dir/hup2.out")" /org/busrpc/Faults org.busrpc.Faults Add ii 2 2)" "i 4" \
	"SIGHUP: a busrpc_conn_run() service without a hook survives"

# --- 2. losing the bus ---
# a client with a call pending on the fds service (which holds it)
vg hold --bus "$BUS" --events --hold org.busrpc.Faults || tap_bail "faults-service --hold under valgrind"
HOLD_PID=$SVC_PID
# a second reconnecting service, whose signals the first one watches
start_service src --bus "$BUS" --name org.busrpc.Faults.Src --reconnect 20000 || tap_bail "faults-service src"
SRC_PID=$SVC_PID
wait_for "$rt_dir/src.out" '^ACQUIRED org.busrpc.Faults.Src'
vg rec --bus "$BUS" --name org.busrpc.Faults.Rec --reconnect 20000 --events --watch org.busrpc.Faults.Src ||
	tap_bail "faults-service --reconnect under valgrind"
REC_PID=$SVC_PID
wait_for "$rt_dir/rec.out" '^ACQUIRED org.busrpc.Faults.Rec'; ok $? "lost: the reconnecting service owns its name"
B call org.busrpc.Faults.Src /org/busrpc/Faults org.busrpc.Faults Emit u 1 >/dev/null
wait_for "$rt_dir/rec.out" '^TICK 1$'; ok $? "lost: the reconnecting service gets the signals it subscribed to"
rec_uniq=$(sed -n 's/^READY //p' "$rt_dir/rec.out")
is "$(B call org.busrpc.Faults.Rec /org/busrpc/Faults org.busrpc.Faults Add ii 3 3)" "i 6" "lost: the reconnecting service answers"

# the examples' services, as a supervisor would run them
ex_pids=
for ex in calc bulk notes; do
	set -- "$top_builddir/examples/$ex/$ex-service" --bus "$BUS"
	[ "$ex" = notes ] && set -- "$@" --file "$rt_dir/notes.txt"
	"$@" > "$rt_dir/ex-$ex.out" 2> "$rt_dir/ex-$ex.err" &
	eval "ex_${ex}_pid=$!"
	rt_pids="$rt_pids $!"
	wait_for "$rt_dir/ex-$ex.out" 'ready' || diag "$ex-service did not start: $(cat "$rt_dir/ex-$ex.err")"
done
kill -HUP "$ex_calc_pid" "$ex_notes_pid"
is "$(B call org.example.Calculator /org/example/Calculator org.example.Calculator Add ii 1 2)" "i 3" \
	"SIGHUP: calc-service (busrpc_loop_run) survives and answers"
kill -0 "$ex_notes_pid"; ok $? "SIGHUP: notes-service (busrpc_conn_run) survives"

kill -KILL "$DAEMON_PID"
exited "$BUSD_PID"
exited "$FDS_PID"; is "$EXIT_RC" 1 "lost: the default service exits 1 when the bus is killed (valgrind clean)"
[ "$EXIT_RC" = 1 ] || sed 's/^/#   /' "$rt_dir/fds.vg" | tail -30
grep -q "lost the bus: Connection reset by peer" "$rt_dir/fds.err"; ok $? "lost: and says why"
# valgrind --track-fds lists each fd open at exit with where it was opened;
# those inherited from the test harness are not the service's.
vgfds=$(grep -o 'FILE DESCRIPTORS: [0-9]* open ([0-9]* std)' "$rt_dir/fds.vg" | tail -n1)
diag "valgrind at exit: $vgfds"
check "lost: valgrind tracked the fds" test -n "$vgfds"
opened=$(awk '/Open (file descriptor|AF_UNIX socket)/ { getline nx; if (nx !~ /inherited from parent/) n++ } END { print n + 0 }' "$rt_dir/fds.vg")
is "$opened" 0 "lost: no fd the service opened or received is open at exit (after 17 + 200 + 133 fds received)"
exited "$HUP_PID"; is "$EXIT_RC" 1 "lost: busrpc_conn_run() returns -ECONNRESET (exit 1)"
exited "$HUP2_PID"; is "$EXIT_RC" 1 "lost: a second busrpc_conn_run() service exits 1 too"
exited "$LIM_PID"; is "$EXIT_RC" 1 "lost: a third service exits 1 too"
for ex in calc bulk notes; do
	eval "p=\$ex_${ex}_pid"
	exited "$p"; is "$EXIT_RC" 1 "lost: $ex-service exits 1"
	is "$(tail -n1 "$rt_dir/ex-$ex.err")" "$ex-service: lost the connection to $BUS; exiting" "lost: $ex-service says why"
done
exited "$HOLD_PID"; is "$EXIT_RC" 1 "lost: the client with a handler exits 1 (its handler quit), valgrind clean (no pending call leaked)"
[ "$EXIT_RC" = 1 ] || sed 's/^/#   /' "$rt_dir/hold.vg" | tail -30
grep -q '^PENDING -104 org.freedesktop.DBus.Error.Disconnected$' "$rt_dir/hold.out"
ok $? "lost: the pending call completed with -ECONNRESET / Disconnected"
grep -q '^EVENT LOST -104$' "$rt_dir/hold.out"; ok $? "lost: the handler was told (BUSRPC_CONN_LOST)"
[ "$(grep -n '^PENDING' "$rt_dir/hold.out" | cut -d: -f1)" -lt "$(grep -n '^EVENT LOST' "$rt_dir/hold.out" | cut -d: -f1)" ]
ok $? "lost: the pending call completed before the handler ran"
wait_for "$rt_dir/rec.out" '^EVENT RECONNECTING'; ok $? "lost: the reconnecting service is told"
kill -0 "$REC_PID" 2>/dev/null; ok $? "lost: and keeps running while the bus is down"

bus_up
wait_for "$rt_dir/rec.out" '^EVENT RECONNECTED'; ok $? "restart: the service reconnected to the same socket"
for _ in $(seq 100); do [ "$(grep -c '^ACQUIRED org.busrpc.Faults.Rec' "$rt_dir/rec.out")" -ge 2 ] && break; sleep 0.05; done
is "$(grep -c '^ACQUIRED org.busrpc.Faults.Rec' "$rt_dir/rec.out")" 2 "restart: and acquired its name again"
new_uniq=$(sed -n 's/^EVENT RECONNECTED //p' "$rt_dir/rec.out")
is "$(owner org.busrpc.Faults.Rec)" "s \"$new_uniq\"" "restart: the name's owner is the new unique name"
is "$(B call org.busrpc.Faults.Rec /org/busrpc/Faults org.busrpc.Faults Add ii 20 22)" "i 42" "restart: the object answers calls again"
is "$(call_fds org.busrpc.Faults.Rec 3)" "u 3" "restart: fds still pass"
for _ in $(seq 100); do [ "$(grep -c '^ACQUIRED org.busrpc.Faults.Src' "$rt_dir/src.out")" -ge 2 ] && break; sleep 0.05; done
B call org.busrpc.Faults.Src /org/busrpc/Faults org.busrpc.Faults Emit u 2 >/dev/null
wait_for "$rt_dir/rec.out" '^TICK 2$'; ok $? "restart: its signal subscription was carried over (match rules added again)"
# the same signal from another sender is not the subscribed name's
/usr/bin/python3 - "$BUS" <<'EOF'
import sys, dbus, dbus.lowlevel
bus = dbus.bus.BusConnection(sys.argv[1])
m = dbus.lowlevel.SignalMessage("/org/busrpc/Faults", "org.busrpc.Faults", "Tick")
m.append(dbus.UInt32(99))
bus.send_message(m)
bus.flush()
EOF
B call org.busrpc.Faults.Src /org/busrpc/Faults org.busrpc.Faults Emit u 3 >/dev/null
wait_for "$rt_dir/rec.out" '^TICK 3$'
is "$(grep -c '^TICK 99$' "$rt_dir/rec.out")" 0 "restart: a Tick from another sender is still refused"
stop "$SRC_PID"
stop "$REC_PID"; is "$STOP_RC" 0 "restart: SIGTERM: exit 0, valgrind clean"
[ "$STOP_RC" -eq 0 ] || sed 's/^/#   /' "$rt_dir/rec.vg" | tail -30
diag "unique names: $rec_uniq before, $new_uniq after"

kill -TERM "$BUSD_PID"; exited "$BUSD_PID"
}

for BUSRPC_FAST_PATH in 0 1; do
	export BUSRPC_FAST_PATH
	if [ "$BUSRPC_FAST_PATH" = 1 ]; then round_tag="[fast] "; else round_tag="[libdbus] "; fi
	diag "--- the services on ${round_tag% }"
	faults_round
done
tap_done
