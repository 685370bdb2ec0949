#!/bin/sh
# The peer-to-peer server: busctl, gdbus, dbus-send and python3-dbus talk to
# the test service's busrpc_server directly, with no dbus-daemon.
. "$top_srcdir/tests/tap.sh"
need "${BUSCTL:-busctl}" gdbus dbus-send setpriv /usr/bin/python3
. "$top_srcdir/tests/runtime/lib.sh"

sock=$rt_dir/run/sub/sock
P=unix:path=$sock
start_service p --listen "$P" --name org.busrpc.P --objects 5 || tap_bail "peer service"
P_PID=$SVC_PID
is "$(stat -c %a "$rt_dir/run/sub")" 700 "the socket's directory is created with mode 0700"
is "$(stat -c %a "$rt_dir/run")" 700 "and its missing parents too"
check_verbs "$P" org.busrpc.P peer
list=$($BUSCTL --address="$P" list 2>&1)
echo "$list" | grep -Eq "^org.freedesktop.DBus +$P_PID "; ok $? "busctl list: the driver is the server"
echo "$list" | grep -Eq '^:1\.[1-9][0-9]* +[0-9]+ +busctl '; ok $? "busctl list: the caller has a unique name"
is "$($BUSCTL --address="$P" tree org.busrpc.P 2>&1 | grep -c 'objs/obj[0-9]$')" 5 "busctl tree lists the objects"
is "$($BUSCTL --address="$P" call :1.0 /org/busrpc/Test org.busrpc.Test Add ii 5 5 2>&1)" "i 10" "the server answers as :1.0"
is "$($BUSCTL --address="$P" call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetNameOwner s org.busrpc.P 2>&1)" \
	's ":1.0"' "GetNameOwner of the service's name"
is "$($BUSCTL --address="$P" call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus NameHasOwner s org.nope 2>&1)" \
	"b false" "NameHasOwner of an unknown name"
is "$($BUSCTL --address="$P" call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetConnectionUnixProcessID s :1.0 2>&1)" \
	"u $P_PID" "GetConnectionUnixProcessID"
is "$($BUSCTL --address="$P" call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetConnectionUnixUser s :1.0 2>&1)" \
	"u $(id -u)" "GetConnectionUnixUser"
$BUSCTL --address="$P" introspect org.freedesktop.DBus /org/freedesktop/DBus 2>&1 | grep -Eq '^\.GetConnectionCredentials +method +s +a\{sv\}'
ok $? "the driver introspects"
is "$(dbus-send --peer="$P" --print-reply /org/busrpc/Test org.busrpc.Test.Add int32:2 int32:3 2>&1 | sed -n 2p | tr -s ' ')" \
	" int32 5" "dbus-send --peer (no Hello)"

# signals: a peer that said Hello gets what it matched (AddMatch); the
# busctl monitor-less way is python3-dbus's BusConnection
start_listener sig "$P" 3
check "Emit" $BUSCTL --address="$P" call org.busrpc.P /org/busrpc/Test org.busrpc.Test Emit s peer
wait "$LISTEN_PID"
grep -q '^Tick peer$' "$rt_dir/sig.out"; ok $? "a subscribed peer received the signal"
grep -q '^PropertiesChanged org.busrpc.Test Count=8 invalidated=$' "$rt_dir/sig.out"; ok $? "and PropertiesChanged"
sed 's/^/#   /' "$rt_dir/sig.out"

# hostile or odd driver calls get errors, and the server goes on
D="$BUSCTL --address=$P call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus"
is "$($D AddMatch s "type='bogus'" 2>&1)" "Call failed: Invalid match rule" "AddMatch with a bad type"
is "$($D AddMatch s "member='unterminated" 2>&1)" "Call failed: Invalid match rule" "AddMatch with an open quote"
is "$($D AddMatch s "nokey" 2>&1)" "Call failed: Invalid match rule" "AddMatch without '='"
check "AddMatch with escapes and unknown argN keys" $D AddMatch s "type='signal',arg3='x',member='a'\\''b'"
is "$($D RemoveMatch s "type='signal'" 2>&1)" "Call failed: The given match rule wasn't found" "RemoveMatch of an unknown rule"
is "$($D GetNameOwner s "" 2>&1)" "Call failed: Could not get owner of name '': no such name" "GetNameOwner of ''"
is "$($D GetNameOwner s "no.such.Name" 2>&1)" "Call failed: Could not get owner of name 'no.such.Name': no such name" "GetNameOwner of an unknown name"
is "$($D Hello 2>&1)" "Call failed: Already handled an Hello message" "a second Hello"
is "$($D RequestName su org.x 0 2>&1)" "Call failed: Not supported by a peer-to-peer server" "RequestName"
is "$($D GetNameOwner i 5 2>&1)" "Call failed: Unknown method 'GetNameOwner' or wrong signature 'i'" "a driver call with a wrong signature"
is "$($BUSCTL --address="$P" call org.busrpc.P /org/busrpc/Test org.busrpc.Test Add ii 1 1 2>&1)" "i 2" "the server still answers"

# unix fds: checked like any argument; more than max_fds (16) per message
# costs the sender its connection, not the server
fds_before=$(ls /proc/$P_PID/fd | wc -l)
is "$("$PY" "$top_srcdir/tests/runtime/fds.py" "$P" 2 2>&1)" \
	"error org.freedesktop.DBus.Error.InvalidArgs Invalid arguments for Echo: expected signature 's', got 'shh'" \
	"a call carrying fds with the wrong signature"
"$PY" "$top_srcdir/tests/runtime/fds.py" "$P" 17 2>&1 | grep -q '^error org.freedesktop.DBus.Error.NoReply'
ok $? "17 fds in one message: the connection is dropped"
is "$($BUSCTL --address="$P" call org.busrpc.P /org/busrpc/Test org.busrpc.Test Add ii 2 1 2>&1)" "i 3" "the server still answers"
sleep 0.2
is "$(ls /proc/$P_PID/fd | wc -l)" "$fds_before" "the server closed every fd it received"

# a live socket is refused; the first server goes on
"$SERVICE" --listen "$P" > "$rt_dir/second.out" 2>&1
ok $(( $? == 0 )) "a second server on a path in use fails"
grep -q 'Address already in use' "$rt_dir/second.out"; ok $? "with EADDRINUSE"
is "$($BUSCTL --address="$P" call org.busrpc.P /org/busrpc/Test org.busrpc.Test Add ii 1 1 2>&1)" "i 2" "the first server still answers"
# a client killed mid-call leaves the server serving others
dbus-send --peer="$P" --print-reply /org/busrpc/Test org.busrpc.Test.Defer uint32:0 >/dev/null 2>&1 &
dpid=$!
sleep 0.3
kill -9 "$dpid" 2>/dev/null; wait "$dpid" 2>/dev/null
is "$($BUSCTL --address="$P" call org.busrpc.P /org/busrpc/Test org.busrpc.Test Add ii 2 2 2>&1)" "i 4" \
	"a client killed mid-call leaves the server serving others"
stop "$P_PID"; is "$STOP_RC" 0 "SIGTERM stops the server with status 0"

# a stale socket (server killed with SIGKILL) is replaced
start_service p2 --listen "$P" || tap_bail "peer service 2"
stop "$SVC_PID" KILL
test -S "$sock"; ok $? "SIGKILL leaves a stale socket behind"
start_service p3 --listen "$P" --name org.busrpc.P; ok $? "a new server replaces the stale socket"
is "$($BUSCTL --address="$P" call org.busrpc.P /org/busrpc/Test org.busrpc.Test Add ii 3 3 2>&1)" "i 6" "and serves"
stop "$SVC_PID"

# another uid is refused at authentication (abstract socket: reachable by
# anyone, so only the uid check stands in the way)
nobody="setpriv --reuid=65534 --regid=65534 --clear-groups"
ab=unix:abstract=busrpc-test-$$
start_service ab --listen "$ab" || tap_bail "abstract service"
out=$(HOME=/ timeout 10 $nobody $BUSCTL --address="$ab" call org.busrpc.P /org/busrpc/Test org.busrpc.Test Add ii 1 2 2>&1)
rc=$?
ok $(( rc == 0 )) "a caller of another uid is refused"
diag "refused: $out"
is "$(HOME=/ timeout 10 $nobody dbus-send --peer="$ab" --print-reply /org/busrpc/Test org.busrpc.Test.Add int32:2 int32:3 2>&1 | grep -c 'int32 5')" 0 \
	"dbus-send of another uid gets no answer"
is "$($BUSCTL --address="$ab" call org.busrpc.P /org/busrpc/Test org.busrpc.Test Add ii 1 2 2>&1)" "i 3" "the server's own uid is served"
stop "$SVC_PID"
ab2=unix:abstract=busrpc-test2-$$
start_service ab2 --listen "$ab2" --allow-uid 65534 || tap_bail "abstract service 2"
is "$(HOME=/ timeout 10 $nobody $BUSCTL --address="$ab2" call org.busrpc.P /org/busrpc/Test org.busrpc.Test Whoami 2>&1 | cut -d' ' -f1,2)" \
	"uu 65534" "busrpc_server_allow_uid() lets that uid in, and the server sees it"
stop "$SVC_PID"
tap_done
