#!/bin/sh
# busrpc-bus: a private dbus-daemon on an owner-only socket. Every bus lives in
# a mktemp -d directory and is stopped by PID; the machine's session bus is
# never touched.
. "$top_srcdir/tests/tap.sh"
need dbus-send setpriv python3 "${BUSCTL:-busctl}" "${DBUS_DAEMON:-dbus-daemon}"
unset DBUS_SESSION_BUS_ADDRESS DBUS_STARTER_ADDRESS DBUS_STARTER_BUS_TYPE
BUS=$top_builddir/busrpc-bus
BUSCTL=${BUSCTL:-busctl}
[ -x "$BUS" ] || tap_bail "$BUS not built"
# A python3 with python3-dbus (the system one, when another python3 comes first in PATH).
for PYDBUS in python3 /usr/bin/python3 ""; do
	[ -n "$PYDBUS" ] && "$PYDBUS" -c 'import dbus' 2>/dev/null && break
done
[ -n "$PYDBUS" ] || tap_bail "python3-dbus not found"
tmp=$(mktemp -d) || tap_bail "mktemp failed"
tmp=$(cd "$tmp" && pwd -P)
pub=$(mktemp -d) || tap_bail "mktemp failed"
pub=$(cd "$pub" && pwd -P)
# busrpc-bus's private configuration directories go here, not in /tmp.
mkdir "$tmp/td" && TMPDIR=$tmp/td && export TMPDIR
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	rm -rf "$tmp" "$pub"
}
trap cleanup EXIT

# wait_lines FILE N: wait (up to 30 s) until FILE has N lines.
wait_lines() {
	i=0
	while [ "$(wc -l 2>/dev/null <"$1" || echo 0)" -lt "$2" ]; do
		i=$((i + 1))
		[ $i -gt 300 ] && return 1
		sleep 0.1
	done
}
# gone PID: the process has exited (a zombie of someone else's counts as gone:
# the container's init may not reap what it inherits).
gone() {
	i=0
	while [ -d "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 50 ] && return 1
		sleep 0.1
	done
}
# expect_usage DESC ARGS...: exit status 2 and a message on stderr.
expect_usage() {
	desc=$1; shift
	"$BUS" "$@" >/dev/null 2>"$tmp/usage.err"
	is "$?" 2 "usage error: $desc exits 2"
	check "usage error: $desc says why" test -s "$tmp/usage.err"
}

# --- command line ---
out=$("$BUS" --help)
ok $? "--help exits 0"
case $out in *--socket*) ok 0 "--help describes --socket" ;; *) ok 1 "--help describes --socket" ;; esac
out=$("$BUS" --version)
case $out in "busrpc-bus "[0-9]*) ok 0 "--version: $out" ;; *) ok 1 "--version: $out" ;; esac
expect_usage "no --socket"
expect_usage "unknown option" --socket "$tmp/u/bus" --bogus
expect_usage "argument without --" --socket "$tmp/u/bus" true
expect_usage "-- without a command" --socket "$tmp/u/bus" --
expect_usage "unknown limit" --socket "$tmp/u/bus" --limit nosuch=1
expect_usage "bad limit value" --socket "$tmp/u/bus" --limit auth_timeout=soon
expect_usage "--config-only with a command" --socket "$tmp/u/bus" --config-only -- true
expect_usage "a directory as socket" --socket "$tmp/u/"
check "usage errors create nothing" test ! -e "$tmp/u"

# --- the generated configuration ---
"$BUS" --config-only --socket "$tmp/c d/bus" --limit max_replies_per_connection=77 >"$tmp/conf"
ok $? "--config-only exits 0"
uid=$(id -u)
check "listens on the escaped path" grep -qF "<listen>unix:path=$tmp/c%20d/bus</listen>" "$tmp/conf"
check "EXTERNAL authentication only" test "$(grep -c '<auth>' "$tmp/conf")" = 1 -a \
	"$(grep -c '<auth>EXTERNAL</auth>' "$tmp/conf")" = 1
check "only uid $uid may connect" grep -qF "<allow user=\"$uid\"/>" "$tmp/conf"
check "everyone else is denied" grep -qF '<deny user="*"/>' "$tmp/conf"
check "no service activation" sh -c "! grep -qi servicedir '$tmp/conf'"
check "--limit reaches the configuration" \
	grep -qF '<limit name="max_replies_per_connection">77</limit>' "$tmp/conf"
check "--config-only creates nothing" test ! -e "$tmp/c d"

# --- a bus in the background ---
sock=$tmp/s/bus
"$BUS" --socket "$sock" --print-pid >"$tmp/out" 2>"$tmp/err" &
bpid=$!; pids="$pids $bpid"
wait_lines "$tmp/out" 2
ok $? "the bus prints its address and the daemon PID"
addr=$(sed -n 1p "$tmp/out")
dpid=$(sed -n 2p "$tmp/out")
is "$addr" "unix:path=$sock" "the address names the socket"
is "$(stat -c %a "$tmp/s")" 700 "the socket directory is created with mode 0700"
is "$(stat -c %a "$sock")" 600 "the socket is 0600"
check "the daemon runs (pid $dpid)" kill -0 "$dpid"
conf=$(tr '\0' '\n' <"/proc/$dpid/cmdline" | sed -n 's/^--config-file=//p')
case $conf in "$tmp/td/busrpc-bus."*/bus.conf) ok 0 "the daemon's configuration is in a private TMPDIR directory" ;;
*) ok 1 "the daemon's configuration is in a private TMPDIR directory"; diag "$conf" ;; esac
is "$(ls -A "$tmp/td")" "" "and removed once the daemon has read it"
out=$("$BUSCTL" --address="$addr" list --no-pager 2>&1)
case $out in *org.freedesktop.DBus*) ok 0 "busctl --address list shows org.freedesktop.DBus" ;;
*) ok 1 "busctl --address list shows org.freedesktop.DBus"; diag "$out" ;; esac
out=$(dbus-send --bus="$addr" --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.GetId 2>&1)
ok $? "dbus-send GetId on the bus"
case $out in *'string "'*) ok 0 "GetId returns the bus id" ;; *) ok 1 "GetId returns the bus id"; diag "$out" ;; esac

"$BUS" --socket "$sock" >/dev/null 2>"$tmp/err2"
is "$?" 1 "a second busrpc-bus on the same path exits 1"
check "and says why" grep -q "already" "$tmp/err2"
check "the first bus still answers" \
	dbus-send --bus="$addr" --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.GetId

kill -TERM "$bpid"
wait "$bpid"
is "$?" 0 "SIGTERM stops the bus with status 0"
check "the socket is gone" test ! -e "$sock"
check "the lock file is gone" test ! -e "$sock.lock"
check "the dbus-daemon is gone" gone "$dpid"
check "and was reaped by busrpc-bus (no zombie left)" test ! -d "/proc/$dpid"

# --- what may sit at the path ---
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$sock"
check "a stale socket file is replaced" "$BUS" --socket "$sock" -- \
	dbus-send --session --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.GetId
python3 -c 'import socket,sys,time
s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1); print("up", flush=True); time.sleep(30)' \
	"$sock" >"$tmp/py" &
pypid=$!; pids="$pids $pypid"
wait_lines "$tmp/py" 1
"$BUS" --socket "$sock" >/dev/null 2>"$tmp/err3"
is "$?" 1 "a live socket of another server is refused with status 1"
check "and says why" grep -q "already listening" "$tmp/err3"
kill "$pypid"; wait "$pypid" 2>/dev/null
rm -f "$sock"; : >"$sock"
"$BUS" --socket "$sock" >/dev/null 2>"$tmp/err4"
is "$?" 1 "a regular file at the path is refused with status 1"
check "and is left alone" test -f "$sock"
rm -f "$sock"

# --- COMMAND mode ---
out=$("$BUS" --socket "$sock" -- sh -c 'echo "$DBUS_SESSION_BUS_ADDRESS"; dbus-send --session --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.ListNames' 2>"$tmp/err5")
ok $? "-- CMD runs the command on the bus"
is "$(echo "$out" | sed -n 1p)" "unix:path=$sock" "CMD sees DBUS_SESSION_BUS_ADDRESS"
case $out in *'"org.freedesktop.DBus"'*) ok 0 "ListNames through the session address" ;;
*) ok 1 "ListNames through the session address"; diag "$out" ;; esac
"$BUS" --socket "$sock" -- sh -c 'exit 3' 2>/dev/null
is "$?" 3 "CMD's exit status is passed on"
"$BUS" --socket "$sock" -- sh -c 'kill -TERM $$' 2>/dev/null
is "$?" 143 "a CMD killed by SIGTERM gives 128+15"
"$BUS" --socket "$sock" -- "$tmp/no-such-program" 2>/dev/null
is "$?" 127 "a missing CMD gives 127"
check "the socket is gone after CMD" test ! -e "$sock"
"$BUS" --socket "$sock" -- sh -c 'echo $$ >"$1"; sleep 30' sh "$tmp/cmdpid" 2>/dev/null &
bpid=$!; pids="$pids $bpid"
wait_lines "$tmp/cmdpid" 1
kill -TERM "$bpid"
wait "$bpid"
is "$?" 143 "SIGTERM to busrpc-bus is passed on to CMD"
check "CMD is gone" gone "$(cat "$tmp/cmdpid")"

# ^C on a terminal reaches COMMAND once (busrpc-bus does not pass it on a
# second time) and leaves the bus, in its own process group, alone.
# The ^C is sent once COMMAND waits for it: its trap is set and its
# background sleep has been exec'd (from then on that child ignores SIGINT,
# as a non-interactive shell's background jobs do; a ^C during the fork could
# reach the child while it still had the shell's trap). A condition, not a
# delay.
python3 - "$BUS" "$sock" >"$tmp/pty" 2>&1 <<'EOF'
import os, pty, re, signal, sys, time
pid, fd = pty.fork()
if pid == 0:
    # A terminal's ^C reaches a shell whose SIGINT is not ignored: undo what
    # a background start (make's harness, `cmd &`) set, which a
    # non-interactive sh could not trap.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.execv(sys.argv[1], [sys.argv[1], "--socket", sys.argv[2], "--", "sh", "-c",
             'trap "echo got-INT; exit 5" INT; '
             'sleep 10 </dev/null >/dev/null 2>&1 & echo "ready $!"; wait'])
out = b""
m = None
while m is None:
    d = os.read(fd, 4096)
    if not d:
        sys.exit("COMMAND never said ready: %r" % out)
    out += d
    m = re.search(rb"ready (\d+)\r?\n", out)
sleeper = int(m.group(1))
def comm(p):
    try:
        with open("/proc/%d/comm" % p) as f:
            return f.read().strip()
    except OSError:
        return ""
deadline = time.monotonic() + 30
while comm(sleeper) != "sleep":
    if time.monotonic() > deadline:
        sys.exit("the background sleep of COMMAND never started")
    time.sleep(0.01)
os.write(fd, b"\x03")
while True:
    try:
        d = os.read(fd, 4096)
    except OSError:
        break
    if not d:
        break
    out += d
print(out.decode(errors="replace"))
print("status", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
try:
    os.kill(sleeper, signal.SIGTERM)  # it ignores ^C and outlives COMMAND
except OSError:
    pass
EOF
check "^C: CMD exits with its own status" grep -q "^status 5" "$tmp/pty" || diag "$(cat "$tmp/pty")"
is "$(grep -c got-INT "$tmp/pty")" 1 "^C: CMD gets SIGINT once"
check "^C: the bus did not die under CMD" sh -c "! grep -q unexpectedly '$tmp/pty'"
check "the socket is gone after ^C" test ! -e "$sock"

# The limits reach the daemon: with three names per connection (the unique
# name counts), a connection owns two well-known names, not three.
"$BUS" --socket "$sock" --limit max_names_per_connection=3 -- "$PYDBUS" -c '
import dbus, sys
b = dbus.SessionBus()
b.request_name("org.busrpc.Test.A"); b.request_name("org.busrpc.Test.B")
try:
    b.request_name("org.busrpc.Test.C")
except dbus.DBusException as e:
    print(e.get_dbus_name()); sys.exit(0)
sys.exit(1)' >"$tmp/lim" 2>&1
ok $? "--limit max_names_per_connection=3: the owner owns two names, not three"
check "the third fails with LimitsExceeded" grep -q "org.freedesktop.DBus.Error.LimitsExceeded" "$tmp/lim"

# --- failures ---
BUSRPC_DBUS_DAEMON=/bin/false "$BUS" --socket "$sock" >"$tmp/out" 2>"$tmp/err6"
is "$?" 1 "a daemon that fails to start gives status 1"
check "with a message" grep -q "before the bus was ready" "$tmp/err6"
is "$(cat "$tmp/out")" "" "and no address"
rm -f "$tmp/out"  # wait_lines must not read the previous bus's lines
"$BUS" --socket "$sock" --print-pid >"$tmp/out" 2>"$tmp/err7" &
bpid=$!; pids="$pids $bpid"
wait_lines "$tmp/out" 2
dpid=$(sed -n 2p "$tmp/out")
kill -KILL "$dpid"
wait "$bpid"
is "$?" 1 "a daemon that dies unexpectedly gives status 1"
check "with a message" grep -q "unexpectedly" "$tmp/err7"
rm -f "$tmp/out"  # wait_lines must not read the previous bus's lines
"$BUS" --socket "$sock" --print-pid >"$tmp/out" 2>/dev/null &
bpid=$!; pids="$pids $bpid"
wait_lines "$tmp/out" 2
dpid=$(sed -n 2p "$tmp/out")
{ kill -KILL "$bpid"; wait "$bpid"; } 2>/dev/null
check "SIGKILL of busrpc-bus takes the daemon down too" gone "$dpid"
is "$(ls -A "$tmp/td")" "" "and leaves no configuration behind"
rm -f "$sock"

# --- other users ---
# The bus's directory is 0755 here (made by us) so that another uid can reach
# the socket: the 0600 socket stops it, and with the socket opened up the bus
# policy still refuses it.
if [ "$uid" -ne 0 ]; then
	ok 1 "the other-uid cases need root (setpriv); run make check as root"
else
	chmod 0755 "$pub"
	nobody="setpriv --reuid=65534 --regid=65534 --clear-groups"
	rm -f "$tmp/out"  # wait_lines must not read the previous bus's lines
	"$BUS" --socket "$pub/bus" --print-pid >"$tmp/out" 2>"$tmp/err8" &
	bpid=$!; pids="$pids $bpid"
	wait_lines "$tmp/out" 2
	addr=$(sed -n 1p "$tmp/out")
	is "$addr" "unix:path=$pub/bus" "a bus for the other-uid cases is up"
	check "an existing group/other-accessible directory is warned about" grep -q "warning:.*0755" "$tmp/err8"
	out=$($nobody dbus-send --bus="$addr" --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.GetId 2>&1)
	is "$?" 1 "uid 65534 cannot connect to the 0600 socket"
	chmod 0666 "$pub/bus"
	out=$($nobody dbus-send --bus="$addr" --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.GetId 2>&1)
	is "$?" 1 "uid 65534 is refused by the bus even with the socket opened up"
	case $out in *"Permission denied"*) ok 1 "... by the bus, not by the file mode"; diag "$out" ;;
	*) ok 0 "... by the bus, not by the file mode" ;; esac
	check "the owner still gets through" \
		dbus-send --bus="$addr" --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.GetId
	kill -TERM "$bpid"; wait "$bpid"
	is "$?" 0 "that bus stops with status 0"

	# A bus owned by uid 65534: it works for its owner, and root, which file
	# modes do not stop, is refused by the policy.
	mkdir "$pub/n" && chown 65534:65534 "$pub/n" && cp "$BUS" "$pub/n/busrpc-bus"
	TMPDIR=$pub/n $nobody "$pub/n/busrpc-bus" --socket "$pub/n/d/bus" -- \
		dbus-send --session --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.GetId \
		>"$tmp/out" 2>&1
	ok $? "a bus owned by uid 65534 works for uid 65534"
	rm -f "$tmp/out"  # wait_lines must not read the previous bus's lines
	TMPDIR=$pub/n $nobody "$pub/n/busrpc-bus" --socket "$pub/n/d/bus" --print-pid >"$tmp/out" 2>/dev/null &
	bpid=$!; pids="$pids $bpid"
	wait_lines "$tmp/out" 2
	addr=$(sed -n 1p "$tmp/out")
	is "$addr" "unix:path=$pub/n/d/bus" "uid 65534's bus is up"
	dbus-send --bus="$addr" --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.GetId >/dev/null 2>&1
	is "$?" 1 "root is refused by a bus owned by uid 65534"
	kill -TERM "$bpid"; wait "$bpid"
	is "$?" 0 "uid 65534's bus stops with status 0"
fi

# --- valgrind ---
if [ -z "$VALGRIND" ]; then
	ok 1 "valgrind is needed for the leak checks"
else
	vg="$VALGRIND -q --leak-check=full --error-exitcode=99 --trace-children=no"
	$vg "$BUS" --socket "$tmp/v/bus" -- \
		dbus-send --session --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.GetId \
		>/dev/null 2>"$tmp/vg1"
	rc=$?
	is "$rc" 0 "under valgrind, -- CMD mode: no errors, no leaks"
	[ "$rc" -eq 0 ] || sed 's/^/#   /' "$tmp/vg1"
	rm -f "$tmp/out"  # wait_lines must not read the previous bus's lines
	$vg "$BUS" --socket "$tmp/v/bus" >"$tmp/out" 2>"$tmp/vg2" &
	bpid=$!; pids="$pids $bpid"
	wait_lines "$tmp/out" 1
	dbus-send --bus="$(cat "$tmp/out")" --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.GetId >/dev/null
	kill -TERM "$bpid"; wait "$bpid"
	rc=$?
	is "$rc" 0 "under valgrind, serve + SIGTERM: no errors, no leaks"
	[ "$rc" -eq 0 ] || sed 's/^/#   /' "$tmp/vg2"
	# The refusal needs the first bus up: wait for its address, not for time.
	"$BUS" --socket "$tmp/v/bus" >"$tmp/out4" 2>/dev/null &
	bpid=$!; pids="$pids $bpid"
	wait_lines "$tmp/out4" 1
	ok $? "a bus is up at $tmp/v/bus for the refusal case"
	$vg "$BUS" --socket "$tmp/v/bus" >/dev/null 2>"$tmp/vg3"
	rc=$?
	is "$rc" 1 "under valgrind, the refusal path: no errors, no leaks"
	[ "$rc" -eq 1 ] || sed 's/^/#   /' "$tmp/vg3"
	kill -TERM "$bpid"; wait "$bpid"
fi
tap_done
