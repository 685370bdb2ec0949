#!/bin/sh
# The XML side of busrpc-idlc: idlc/xml-import.c and idlc/gen-xml.c.
#
# 1. Real introspection XML that nobody here wrote, taken at test time: a
#    private dbus-daemon's own org.freedesktop.DBus (fetched with busctl,
#    gdbus and dbus-send), a running busrpc service (examples/calc), every
#    file in /usr/share/dbus-1/interfaces/, and the vendor interfaces
#    written down by hand from their specifications in tests/xml/real/
#    (logind, MPRIS, Notifications, NetworkManager, UPower, PackageKit).
#    Each goes XML -> IDL -> XML and XML -> XML keeping every interface,
#    member, arg name, signature, direction, access, annotation and doc
#    (tests/xml/canon.py), XML -> IDL -> XML -> IDL gives the same IDL
#    twice, and its header, client and server compile with gcc and clang,
#    -Wall -Wextra -Werror, and link together.
# 2. IDL -> XML -> IDL -> XML -> IDL is a fixed point for every good IDL
#    file (tests/idl/good/) and the samples here.
# 3. Golden outputs: tests/xml/golden/ (--xml of calc.idl and shapes.idl,
#    --idl of stats.xml, which shows the struct naming rule).
# 4. Bad and dubious XML (tests/xml/bad/, tests/xml/warn/): the first line
#    of each is "<!-- expect: LINE:COL: error|warning: MESSAGE -->"; the
#    compiler prints exactly "FILE:LINE:COL: ..." and exits 1 writing no
#    file (bad) or exits 0 and writes its outputs (warn).
. "$top_srcdir/tests/tap.sh"
: "${BUSRPC_IDLC:?}"
IDLC=$BUSRPC_IDLC
[ -x "$IDLC" ] || tap_bail "busrpc-idlc not built: $IDLC"
PY=/usr/bin/python3
[ -x "$PY" ] || tap_bail "$PY is needed to compare XML files"
DAEMON=${DBUS_DAEMON:-dbus-daemon}
BUSCTL=${BUSCTL:-busctl}
need "$DAEMON" "$BUSCTL" gdbus dbus-send diff sed
x=$top_srcdir/tests/xml
canon="$PY $x/canon.py"
ifaces=/usr/share/dbus-1/interfaces

tmp=$(mktemp -d) || tap_bail "mktemp failed"
daemon_pid=
calc_pid=
cleanup() {
	[ -n "$calc_pid" ] && kill "$calc_pid" 2>/dev/null
	[ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# only_file DIR: the one file in DIR (the output named after the module).
only_file() {
	set -- "$1"/*
	[ $# -eq 1 ] && [ -f "$1" ] && echo "$1"
}

added_cnames='import re, sys
c1, c2, err = (open(f).read() for f in sys.argv[1:4])
for line in c2.splitlines():
    m = re.match(r"\s*@org\.busrpc\.CName=.(.*).$", line)
    if m and line not in c1.splitlines() and " is \x27%s\x27: \x27" % m.group(1) in err:
        continue
    print(line)'

# roundtrip NAME XML [IDLC-ARGS...]: XML -> IDL -> XML -> IDL.
roundtrip() {
	name=$1 xml=$2
	shift 2
	d=$tmp/rt/$name
	rm -rf "$d"
	mkdir -p "$d/i1" "$d/x2" "$d/i3"
	if ! "$IDLC" --idl -o "$d/i1" "$@" "$xml" 2>"$d/err"; then
		ok 1 "$name: XML -> IDL"
		sed 's/^/#   /' "$d/err"
		return
	fi
	cp "$d/err" "$d/err1"
	ok 0 "$name: XML -> IDL"
	i1=$(only_file "$d/i1")
	if "$IDLC" --xml -o "$d/x2" "$@" "$i1" 2>"$d/err" && x2=$(only_file "$d/x2") &&
	   "$IDLC" --idl -o "$d/i3" "$@" "$x2" 2>>"$d/err" && i3=$(only_file "$d/i3"); then
		ok 0 "$name: IDL -> XML -> IDL"
	else
		ok 1 "$name: IDL -> XML -> IDL"
		sed 's/^/#   /' "$d/err"
		return
	fi
	# The one thing the IDL adds: @c_name for a member the checker had to
	# rename (it warned: "C name of property 'Devices' is 'devices_property'").
	if $canon "$xml" >"$d/c1" && $canon "$x2" >"$d/c2" &&
	   $PY -c "$added_cnames" "$d/c1" "$d/c2" "$d/err1" >"$d/c2b" && diff -u "$d/c1" "$d/c2b" >"$d/diff"; then
		ok 0 "$name: XML -> IDL -> XML keeps every name, signature, direction, access, annotation"
	else
		ok 1 "$name: XML -> IDL -> XML keeps every name, signature, direction, access, annotation"
		head -40 "$d/diff" | sed 's/^/#   /'
	fi
	if diff -u "$i1" "$i3" >"$d/diff"; then
		ok 0 "$name: XML -> IDL -> XML -> IDL is a fixed point"
	else
		ok 1 "$name: XML -> IDL -> XML -> IDL is a fixed point"
		head -40 "$d/diff" | sed 's/^/#   /'
	fi
	# XML -> XML directly: what --xml makes of someone else's XML.
	mkdir -p "$d/xx"
	if "$IDLC" --xml -o "$d/xx" "$@" "$xml" 2>"$d/err" && xx=$(only_file "$d/xx") &&
	   $canon "$xx" >"$d/c3" && diff -u "$d/c1" "$d/c3" >"$d/diff"; then
		ok 0 "$name: XML -> XML keeps every name, signature, direction, access, annotation, doc"
	else
		ok 1 "$name: XML -> XML keeps every name, signature, direction, access, annotation, doc"
		head -40 "$d/diff" "$d/err" | sed 's/^/#   /'
	fi
}

# compiles NAME XML: its header, client and server compile with gcc and
# clang without a warning, and client and server link into one object.
CFLAGS_GEN="-std=c11 -O2 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Werror"
compiles() {
	name=$1 xml=$2
	d=$tmp/cc/$name
	rm -rf "$d"
	mkdir -p "$d"
	if ! "$IDLC" -o "$d" --header --client --server "$xml" 2>"$d/err"; then
		ok 1 "$name: header, client and server generated"
		sed 's/^/#   /' "$d/err"
		return
	fi
	for cc in gcc clang; do
		st=0
		for c in "$d"/*-client.c "$d"/*-server.c; do
			"$cc" $CFLAGS_GEN -I"$top_srcdir/include" -I"$d" -c "$c" -o "${c%.c}.$cc.o" \
				2>>"$d/cc.err" || st=1
		done
		[ $st -eq 0 ] && "$cc" -r -nostdlib "$d"/*.$cc.o -o "$d/all.$cc.o" 2>>"$d/cc.err" || st=1
		if [ $st -eq 0 ]; then
			ok 0 "$name: header, client and server compile with $cc -Wall -Wextra -Werror and link"
		else
			ok 1 "$name: header, client and server compile with $cc -Wall -Wextra -Werror and link"
			head -20 "$d/cc.err" | sed 's/^/#   /'
		fi
	done
}

# --- the comparison itself must see differences ----------------------------
cat >"$tmp/c-a.xml" <<'EOF'
<node><interface name="a.B"><method name="M"><arg name="x" type="s" direction="in"/>
<annotation name="org.example.A" value="1"/></method>
<property name="P" type="u" access="read"/></interface></node>
EOF
for mut in 's/direction="in"/direction="out"/' 's/type="s"/type="o"/' 's/name="x"/name="y"/' \
           's/value="1"/value="2"/' 's/access="read"/access="readwrite"/' 's/<annotation[^>]*>//'; do
	sed "$mut" "$tmp/c-a.xml" >"$tmp/c-b.xml"
	if [ "$($canon "$tmp/c-a.xml")" != "$($canon "$tmp/c-b.xml")" ]; then
		ok 0 "canon.py tells files apart after $mut"
	else
		ok 1 "canon.py tells files apart after $mut"
	fi
done

# --- 1. real XML: a private dbus-daemon ----------------------------------------
mkdir -p "$tmp/real"
cat >"$tmp/bus.conf" <<EOF
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
EOF
"$DAEMON" --config-file="$tmp/bus.conf" --nofork --print-address=1 >"$tmp/addr" 2>"$tmp/daemon.err" &
daemon_pid=$!
i=0
while [ ! -s "$tmp/addr" ] && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
addr=$(head -n 1 "$tmp/addr")
[ -n "$addr" ] || tap_bail "dbus-daemon did not start: $(cat "$tmp/daemon.err")"
diag "private bus: $addr"

# busctl and gdbus/dbus-send register on the bus first (Hello): gdbus and
# dbus-send do so only for --session, so the bus is given as the session bus.
"$BUSCTL" --address="$addr" introspect --xml-interface org.freedesktop.DBus /org/freedesktop/DBus \
	>"$tmp/real/dbus-busctl.xml" 2>"$tmp/err"
ok $? "busctl introspect --xml-interface of the private bus"
DBUS_SESSION_BUS_ADDRESS=$addr gdbus introspect --session --xml --dest org.freedesktop.DBus \
	--object-path /org/freedesktop/DBus >"$tmp/real/dbus-gdbus.xml" 2>>"$tmp/err"
ok $? "gdbus introspect --xml of the private bus"
DBUS_SESSION_BUS_ADDRESS=$addr dbus-send --session --print-reply=literal --dest=org.freedesktop.DBus \
	/org/freedesktop/DBus org.freedesktop.DBus.Introspectable.Introspect \
	>"$tmp/real/dbus-send.xml" 2>>"$tmp/err"
ok $? "dbus-send Introspect of the private bus"

# A running busrpc service on the same bus: examples/calc, as busctl sees it.
calc=$top_builddir/examples/calc/calc-service
[ -x "$calc" ] || tap_bail "$calc is not built (make builds it)"
"$calc" --bus "$addr" >"$tmp/calc.log" 2>&1 &
calc_pid=$!
i=0
while ! grep -q ready "$tmp/calc.log" 2>/dev/null && [ $i -lt 400 ]; do
	sleep 0.05
	i=$((i + 1))
done
grep -q ready "$tmp/calc.log" || tap_bail "calc-service did not start: $(cat "$tmp/calc.log")"
"$BUSCTL" --address="$addr" introspect --xml-interface org.example.Calculator /org/example/Calculator \
	>"$tmp/calc-service.xml" 2>"$tmp/err"
ok $? "busctl introspect --xml-interface of a running busrpc service (examples/calc)"
kill "$calc_pid" 2>/dev/null
wait "$calc_pid" 2>/dev/null
calc_pid=
kill "$daemon_pid" 2>/dev/null
wait "$daemon_pid" 2>/dev/null
daemon_pid=

for f in "$tmp"/real/dbus-*.xml; do
	n=${f##*/}
	case $($canon "$f" 2>&1) in
	*"interface org.freedesktop.DBus"*"method RequestName"*"in arg arg0 type=s"*) ok 0 "$n: the bus driver's interface, as read" ;;
	*) ok 1 "$n: the bus driver's interface, as read"; head -5 "$f" | sed 's/^/#   /' ;;
	esac
	roundtrip "$n" "$f"
	compiles "$n" "$f"
	# The whole chain keeps the driver's methods callable: spot-check the IDL.
	if grep -q 'method RequestName(string arg0, uint32 arg1) -> (uint32 arg2);' "$tmp/rt/$n/i1"/*.idl; then
		ok 0 "$n: RequestName in IDL, nameless args named by position"
	else
		ok 1 "$n: RequestName in IDL, nameless args named by position"
	fi
done

# The service's XML is what the compiler says of calc.idl, less what only
# IDL knows (org.busrpc.* annotations, doc strings), plus the standard
# interfaces the runtime serves.
f=$tmp/calc-service.xml
"$IDLC" --xml -o "$tmp" "$top_srcdir/examples/calc/calc.idl" 2>"$tmp/err"
strip_busrpc() { grep -v "@org\.busrpc\.\|@org\.gtk\.GDBus\.DocString"; }
$canon "$tmp/calc.xml" | strip_busrpc >"$tmp/calc.c1"
$canon "$f" >"$tmp/calc.all"
strip_busrpc <"$tmp/calc.all" | sed -n '/^interface org.example.Calculator$/,/^interface /p' |
	sed '$!b; /^interface /d' >"$tmp/calc.c2"
if [ -s "$tmp/calc.c1" ] && diff -u "$tmp/calc.c1" "$tmp/calc.c2" >"$tmp/diff"; then
	ok 0 "calc-service.xml: the running service describes the interface --xml gives for calc.idl"
else
	ok 1 "calc-service.xml: the running service describes the interface --xml gives for calc.idl"
	head -30 "$tmp/diff" | sed 's/^/#   /'
fi
for i in Properties Introspectable Peer; do
	grep -qx "interface org.freedesktop.DBus.$i" "$tmp/calc.all"
	ok $? "calc-service.xml: the service serves org.freedesktop.DBus.$i"
done
roundtrip calc-service.xml "$f"
compiles calc-service.xml "$f"

# --- 1. real XML: the system's interface files ---------------------------------
[ -d "$ifaces" ] || tap_bail "$ifaces is missing: it holds the real-world XML this test reads"
set -- "$ifaces"/*.xml
[ -f "$1" ] || tap_bail "$ifaces holds no *.xml file"
for f in "$@"; do
	set -- $($canon --count "$f")
	if [ "${1:-0}" -gt 0 ] && [ "${2:-0}" -gt 0 ]; then
		ok 0 "${f##*/}: has $1 interfaces, $2 members, $3 args, $4 annotations"
	else
		ok 1 "${f##*/}: has interfaces and members"
	fi
	roundtrip "${f##*/}" "$f"
	compiles "${f##*/}" "$f"
done

# --- 1. vendor interfaces, written down by hand from their specifications ---
real=$x/real
set -- "$real"/*.xml
[ $# -ge 6 ] && [ -f "$1" ] || tap_bail "$real should hold the six vendor interface files"
for f in "$@"; do
	n=${f##*/}
	roundtrip "$n" "$f"
	compiles "$n" "$f"
done
# logind's CreateSession takes and returns uid, seat_id and vtnr: the C
# outputs are renamed with a warning each, the D-Bus names stay.
lg=org.freedesktop.login1.Manager.xml
(cd "$real" && "$IDLC" --check "$lg") 2>"$tmp/err"
ok $? "$lg: compiles (warnings only)"
for w in "59:7: warning: argument name 'uid' is used twice in method 'CreateSession'; C parameter renamed 'uid_out'" \
         "60:7: warning: argument name 'seat_id' is used twice in method 'CreateSession'; C parameter renamed 'seat_id_out'" \
         "61:7: warning: argument name 'vtnr' is used twice in method 'CreateSession'; C parameter renamed 'vtnr_out'" \
         "45:7: warning: argument name 'class' cannot be a C parameter; renamed 'class_'"; do
	grep -qxF "$lg:$w" "$tmp/err"
	ok $? "$lg:$w"
done
[ "$(grep -c ': warning: ' "$tmp/err")" -eq 5 ] && ! grep -q ': error: ' "$tmp/err"
ok $? "$lg: five warnings (four arguments, one property C name) and no error"
i1=$(only_file "$tmp/rt/$lg/i1")
grep -qF '@c_name("uid_out") uint32 uid, @c_name("seat_id_out") string seat_id, @c_name("vtnr_out") uint32 vtnr, bool existing);' "$i1"
ok $? "$lg: --idl keeps the D-Bus names and gives the C ones with @c_name"
h=$tmp/cc/$lg/org_freedesktop_login1_manager.h
grep -q 'int org_freedesktop_login1_manager_manager_create_session(busrpc_proxy \*p, uint32_t uid, .*uint32_t \*uid_out, char \*\*seat_id_out, uint32_t \*vtnr_out, bool \*existing, busrpc_error \*err);' "$h"
ok $? "$lg: the client stub takes uid and returns uid_out"
"$IDLC" --header -o - "$i1" 2>/dev/null | cmp -s - "$h"
ok $? "$lg: its --idl output gives the same header as the XML"
srv=$tmp/cc/$lg/org_freedesktop_login1_manager-server.c
[ "$(grep -o 'arg name=\\"uid\\" type=\\"u\\" direction=\\"[a-z]*' "$srv" | sort -u | wc -l)" -eq 2 ]
ok $? "$lg: the service's introspection data names both arguments uid"
# PackageKit documents everything in <doc:doc>: each becomes a doc comment.
pk=org.freedesktop.PackageKit.xml
ndoc=$(grep -c '^ *<doc:doc>' "$real/$pk")
xx=$(only_file "$tmp/rt/$pk/xx")
[ "$ndoc" -gt 30 ] && [ "$(grep -c 'name="org.gtk.GDBus.DocString"' "$xx")" -eq "$ndoc" ]
ok $? "$pk: all $ndoc <doc:doc> elements come back as doc strings"
i1=$(only_file "$tmp/rt/$pk/i1")
grep -qxF '     * - offline: no connection at all' "$i1" &&
	grep -qF '/** The name of the backend, for instance `dnf` or `apt`. */' "$i1" &&
	grep -qF 'Creates a transaction. The daemon removes it again when it stays unused for a while; see the reference manual (https://www.freedesktop.org/software/PackageKit/gtk-doc/).' "$i1" &&
	grep -qF '/** The polkit action, for instance `org.freedesktop.packagekit.package-install`. */' "$i1"
ok $? "$pk: doc text, code, list items and links in the IDL doc comments"

# --- 1b. XML samples written here: struct naming, doc strings, escapes -----
for f in "$x/stats.xml" "$x/docs.xml"; do
	roundtrip "${f##*/}" "$f"
done
# Arguments of one name, nameless ones, and a name a nameless one takes.
roundtrip duplicate-args.xml "$x/warn/duplicate-args.xml"
compiles duplicate-args.xml "$x/warn/duplicate-args.xml"
grep -q '^ *\* Two lines,$' "$tmp/rt/docs.xml/i1/docs.idl" &&
	grep -q '@annotation("org.gtk.GDBus.DocString", "Ends \*/ early") method Closing();' "$tmp/rt/docs.xml/i1/docs.idl"
ok $? "docs.xml: doc strings become doc comments where they survive, annotations elsewhere"

# --- 2. IDL -> XML -> IDL -> XML -> IDL ----------------------------------------
# Same declarations (blank-line separated paragraphs), in any order.
same_paragraphs='import sys
a, b = (sorted(open(f).read().split("\n\n")) for f in sys.argv[1:3])
sys.exit(a != b)'
good=$top_srcdir/tests/idl/good
inc=$top_srcdir/tests/idl/include
set -- "$good"/*.idl "$good"/*/*.idl
[ -f "$1" ] || tap_bail "no good IDL files in $good"
for f in "$@" "$x/calc.idl" "$x/shapes.idl"; do
	n=${f#"$top_srcdir"/tests/}
	d=$tmp/fp/$(echo "$n" | tr / _)
	mkdir -p "$d/x1" "$d/i1" "$d/x2" "$d/i2"
	incs="-I $good -I $good/sub -I $inc -I $x"
	# shellcheck disable=SC2086
	if "$IDLC" --xml -o "$d/x1" $incs "$f" 2>"$d/err" && x1=$(only_file "$d/x1") &&
	   "$IDLC" --idl -o "$d/i1" $incs "$x1" 2>>"$d/err" && i1=$(only_file "$d/i1") &&
	   "$IDLC" --xml -o "$d/x2" $incs "$i1" 2>>"$d/err" && x2=$(only_file "$d/x2") &&
	   "$IDLC" --idl -o "$d/i2" $incs "$x2" 2>>"$d/err" && i2=$(only_file "$d/i2"); then
		ok 0 "$n: IDL -> XML -> IDL -> XML -> IDL compiles"
	else
		ok 1 "$n: IDL -> XML -> IDL -> XML -> IDL compiles"
		sed 's/^/#   /' "$d/err"
		continue
	fi
	diff -u "$i1" "$i2" >"$d/diff"
	ok $? "$n: IDL -> XML -> IDL is a fixed point"
	diff -u "$x1" "$x2" >>"$d/diff"
	ok $? "$n: and so is the XML"
	# The first step loses nothing either: the IDL printed from the XML is
	# the IDL printed from the source, when types come before interfaces.
	# shellcheck disable=SC2086
	"$IDLC" --idl -o - $incs "$f" >"$d/i0" 2>/dev/null
	if diff -u "$d/i0" "$i1" >>"$d/diff"; then
		ok 0 "$n: --idl of the XML equals --idl of the source"
	elif $PY -c "$same_paragraphs" "$d/i0" "$i1"; then
		ok 0 "$n: --idl of the XML equals --idl of the source, declarations reordered"
	else
		ok 1 "$n: --idl of the XML equals --idl of the source"
		head -40 "$d/diff" | sed 's/^/#   /'
	fi
done

# --- 3. golden files -----------------------------------------------------------
for g in calc.xml shapes.xml types.xml stats.idl; do
	case $g in
	*.xml) src=$x/${g%.xml}.idl; opt=--xml ;;
	*) src=$x/${g%.idl}.xml; opt=--idl ;;
	esac
	if "$IDLC" $opt -o - -I "$x" "$src" >"$tmp/out" 2>"$tmp/err" &&
	   diff -u "$x/golden/$g" "$tmp/out" >"$tmp/diff"; then
		ok 0 "golden/$g: $opt output of ${src##*/}"
	else
		ok 1 "golden/$g: $opt output of ${src##*/}"
		head -40 "$tmp/diff" "$tmp/err" | sed 's/^/#   /'
	fi
done
# A file of types only: its XML carries them on org.busrpc.Types, which
# reads back as the same types and no interface.
"$IDLC" --idl -o - -I "$x" "$x/golden/types.xml" >"$tmp/t1" 2>"$tmp/err" &&
	"$IDLC" --idl -o - -I "$x" "$x/types.idl" >"$tmp/t0" 2>>"$tmp/err" &&
	diff -u "$tmp/t0" "$tmp/t1" >"$tmp/diff" && grep -q '^struct Outline {' "$tmp/t1" &&
	! grep -q '^interface' "$tmp/t1" && [ ! -s "$tmp/err" ]
ok $? "golden/types.xml: --idl gives the types of types.idl back, no interface, no diagnostic"
"$IDLC" --header -o - -I "$x" "$x/golden/types.xml" >"$tmp/t1.h" 2>/dev/null &&
	"$IDLC" --header -o - -I "$x" "$x/types.idl" >"$tmp/t0.h" 2>/dev/null &&
	sed 's/types\.xml/types.idl/g' "$tmp/t1.h" | cmp -s - "$tmp/t0.h" && grep -q 'types_outline' "$tmp/t0.h"
ok $? "golden/types.xml: the same C header as types.idl"
# The golden XML is what the standard tools accept: xml.etree reads it, and
# it carries the DOCTYPE of the introspection format.
head -n 1 "$x/golden/calc.xml" | grep -qxF '<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">'
ok $? "golden/calc.xml starts with the introspection DOCTYPE"
# ...and it is valid against the introspection DTD (libdbus-1-dev ships it),
# as is every XML the round trips above wrote.
dtd=/usr/share/xml/dbus-1/introspect.dtd
[ -f "$dtd" ] || tap_bail "$dtd missing (libdbus-1-dev)"
need xmllint
for f in "$x"/golden/*.xml "$tmp"/rt/*/x2/*.xml "$tmp"/rt/*/xx/*.xml "$tmp"/fp/*/x*/*.xml; do
	xmllint --noout --nonet --dtdvalid "$dtd" "$f" 2>"$tmp/err" || {
		ok 1 "${f#"$tmp"/} is valid against introspect.dtd"
		head -5 "$tmp/err" | sed 's/^/#   /'
		continue
	}
	nvalid=$((${nvalid:-0} + 1))
done
[ "${nvalid:-0}" -gt 20 ]
ok $? "${nvalid:-0} generated XML files are valid against introspect.dtd"
$canon "$x/golden/calc.xml" | grep -q '@org.example.Custom=.a "quoted" & <odd> value.'
ok $? "golden/calc.xml: attribute values are escaped and read back"

# --- 4. bad and dubious XML ------------------------------------------------------
for kind in bad warn; do
	set -- "$x/$kind"/*.xml
	[ -f "$1" ] || tap_bail "no files in $x/$kind"
	for f in "$@"; do
		n=${f##*/}
		want=$(sed -n '1s/^<!-- expect: \(.*\) -->$/\1/p' "$f")
		if [ -z "$want" ]; then
			ok 1 "$kind/$n: first line is '<!-- expect: LINE:COL: ... -->'"
			continue
		fi
		out=$tmp/out-$n
		rm -rf "$out"
		mkdir -p "$out"
		(cd "$x/$kind" && "$IDLC" -o "$out" --xml --idl "$n") >"$tmp/stdout" 2>"$tmp/err"
		rc=$?
		files=$(ls -A "$out")
		if [ $kind = bad ]; then
			if [ $rc -eq 1 ] && [ -z "$files" ] && grep -qxF "$n:$want" "$tmp/err"; then
				ok 0 "$kind/$n: exit 1, no output, '$want'"
			else
				ok 1 "$kind/$n: exit 1, no output, '$want' (rc $rc, files: $files)"
				sed 's/^/#   /' "$tmp/err"
			fi
		else
			if [ $rc -eq 0 ] && [ -n "$files" ] && grep -qxF "$n:$want" "$tmp/err" &&
			   ! grep -q ': error:' "$tmp/err"; then
				ok 0 "$kind/$n: exit 0, outputs written, '$want'"
			else
				ok 1 "$kind/$n: exit 0, outputs written, '$want' (rc $rc, files: $files)"
				sed 's/^/#   /' "$tmp/err"
			fi
		fi
	done
done
# An unknown element is skipped with what it holds.
(cd "$x/warn" && "$IDLC" --idl -o - unknown-element.xml) 2>/dev/null >"$tmp/out"
grep -q 'method Frob(string a);' "$tmp/out" && ! grep -q skipped "$tmp/out"
ok $? "warn/unknown-element.xml: the unknown element's content is skipped"

# A C name the checker changed (an XML file cannot say @c_name) is kept as
# @c_name in the IDL, so the IDL compiles to the same C API as the XML.
clash=$x/warn/c-name-clash.xml
"$IDLC" --idl -o - "$clash" >"$tmp/clash.idl" 2>/dev/null
grep -q '^    @c_name("devices_property") property string\[\] Devices readonly;$' "$tmp/clash.idl" &&
	[ "$(grep -c '@c_name' "$tmp/clash.idl")" -eq 1 ]
ok $? "warn/c-name-clash.xml: --idl gives the renamed property, and only it, @c_name"
"$IDLC" --header -o - "$tmp/clash.idl" >"$tmp/clash-idl.h" 2>"$tmp/err"
is "$?:$(cat "$tmp/err")" "0:" "warn/c-name-clash.xml: its --idl output compiles with no diagnostic"
"$IDLC" --header -o - "$clash" >"$tmp/clash-xml.h" 2>/dev/null &&
	grep -q 'manager_get_devices_property' "$tmp/clash-xml.h" &&
	cmp -s "$tmp/clash-xml.h" "$tmp/clash-idl.h"
ok $? "warn/c-name-clash.xml: the XML and its --idl output give the same header"

tap_done
