#!/bin/sh
# The busrpc service under valgrind while foreign clients drive it: python
# (every type category, fds, shm, signals, properties, bad signatures) on the
# bus and on the peer socket, busctl and dbus-send with wrong arguments, and
# a peer that disconnects abruptly. After SIGTERM: exit status 0, no memory
# error, no definite or indirect leak, no fd left open but the std ones.
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/interop/lib.sh"
: "${VALGRIND:=valgrind}"
need "$VALGRIND" dbus-send "$BUSCTL"
need_python

IOP_WRAP="$VALGRIND"
[ -x "$top_builddir/libtool" ] && IOP_WRAP="$top_builddir/libtool --mode=execute $VALGRIND"
IOP_WRAP="$IOP_WRAP --leak-check=full --errors-for-leak-kinds=definite,indirect \
	--show-leak-kinds=definite,indirect --track-fds=yes --error-exitcode=99 --log-file=$iop_dir/vg.log"

start_bus
start_c_service

"$PY" "$top_srcdir/tests/interop/client.py" --bus "$BUS" > "$iop_dir/py-bus.out" 2>&1
is "$?" 0 "python client on the bus passes against the service under valgrind"
"$PY" "$top_srcdir/tests/interop/client.py" --peer "$PEER" > "$iop_dir/py-peer.out" 2>&1
is "$?" 0 "python client on the peer socket passes against the service under valgrind"
grep -h '^not ok' "$iop_dir/py-bus.out" "$iop_dir/py-peer.out" | head -20 | sed 's/^/#   /'

out=$("$BUSCTL" --address="$PEER" -- call $IOP_NAME $IOP_PATH $IOP_IFACE Structs '(si)(sua(is)a{sv})' x 1 r 1 0 0 2>&1)
has "$out" "Invalid arguments" "busctl: a wrong signature on the peer socket is refused"
out=$(dbus-send --bus="$BUS" --print-reply --dest=$IOP_NAME $IOP_PATH $IOP_IFACE.Maps \
	dict:string:string:a,b dict:uint32:string:1,x 2>&1)
has "$out" "org.freedesktop.DBus.Error.InvalidArgs" "dbus-send: a wrong signature on the bus is refused"

# A peer that sends a call and vanishes before the reply.
"$PY" - "$PEER" <<'PYEOF'
import sys, dbus, dbus.connection, dbus.lowlevel
c = dbus.connection.Connection(sys.argv[1])
m = dbus.lowlevel.MethodCallMessage(None, "/org/busrpc/Interop", "org.busrpc.Interop", "Fire")
m.append("gone", dbus.UInt32(50), signature="su")
c.send_message(m)
c.flush()
c.close()
PYEOF
ok $? "a peer sent Fire(50) and hung up at once"
out=$(dbus-send --peer="$PEER" --print-reply=literal --dest=$IOP_NAME $IOP_PATH $IOP_IFACE.Check int32:11 2>&1)
is "$(echo $out)" "int32 11" "the service still answers after a peer vanished mid-call"

stop_pid "$C_PID"
is "$STOP_STATUS" 0 "the service exits 0 on SIGTERM (99 would be a valgrind error)"
errs=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$iop_dir/vg.log" | tail -n 1)
is "${errs:-none}" 0 "valgrind: no memory errors or leaks"
[ "${errs:-none}" = 0 ] || grep -A14 -E 'definitely lost|indirectly lost|Invalid|uninitialised' "$iop_dir/vg.log" | head -80 | sed 's/^/#   /'
leaked=$(awk '/Open (file descriptor|AF_UNIX socket)/ { fd = $0; next }
	fd != "" { if ($0 !~ /inherited from parent/ && fd !~ /descriptor [012]:/) print fd; fd = "" }' "$iop_dir/vg.log")
is "$leaked" "" "valgrind: no fd left open at exit"
tap_done
