#!/bin/sh
# busrpc-idlc --compat OLD NEW (idlc/compat.c) and @since.
#
# Each tests/compat/NAME.case holds one change pair and its verdicts:
#
#   # what the case shows (free text)
#   # run: ARGS            options for this run (e.g. --compat-level=source);
#                          every run: line starts a new run of the same pair
#   # exit: N              the exit status this run must have
#   # expect: LINE         a diagnostic line this run must print on stderr
#   --- old/FILE           the OLD file, up to the next --- line
#   --- new/FILE           the NEW file, up to the next --- line or the end
#   --- old/OTHER ...      more files (imported ones), written but not named
#
# The files are written under a fresh directory and the compiler runs there
# as "busrpc-idlc --compat ARGS old/FILE new/FILE" (the first old/ and new/
# sections). A run passes when the
# exit status is N, every expect: line is on stderr exactly as written, and
# stderr has no error: or warning: line that is not expected (notes may be
# more than listed).
. "$top_srcdir/tests/tap.sh"
: "${BUSRPC_IDLC:?}"
[ -x "$BUSRPC_IDLC" ] || tap_bail "busrpc-idlc not built: $BUSRPC_IDLC"
need awk cc cmp comm grep sed sort
tmp=$(mktemp -d) || tap_bail "mktemp failed"
trap 'rm -rf "$tmp"' EXIT
cases=$top_srcdir/tests/compat

# run_case FILE: split it, then check each run it declares.
run_case() {
	f=$1
	name=${f##*/}
	name=${name%.case}
	dir=$tmp/$name
	rm -rf "$dir" && mkdir -p "$dir/old" "$dir/new"
	# The file sections, and the runs as "args<TAB>exit" lines plus
	# "expect<TAB>runindex<TAB>line".
	awk -v dir="$dir" -v meta="$dir/.meta" '
		/^--- / { out = dir "/" substr($0, 5); files++; printf "" > out; next }
		out != "" { print > out; next }
		/^# run:/ { runs++; a = $0; sub(/^# run: */, "", a); args[runs] = a; ex[runs] = ""; next }
		/^# exit:/ { if (!runs) runs = 1; e = $0; sub(/^# exit: */, "", e); ex[runs] = e; next }
		/^# expect:/ { if (!runs) runs = 1; l = $0; sub(/^# expect: /, "", l);
			print "expect\t" runs "\t" l > meta; next }
		END {
			# "-" for no arguments: read would merge two tabs.
			for (i = 1; i <= runs; i++)
				print "run\t" i "\t" (args[i] == "" ? "-" : args[i]) "\t" ex[i] > meta
			print "files\t" files > meta
		}' "$f"
	files=$(sed -n 's/^files\t//p' "$dir/.meta")
	old=$(sed -n 's/^--- \(old\/.*\)/\1/p' "$f" | sed -n 1p)
	new=$(sed -n 's/^--- \(new\/.*\)/\1/p' "$f" | sed -n 1p)
	if [ "$files" -lt 2 ] || [ -z "$old" ] || [ -z "$new" ]; then
		ok 1 "$name: has an old/ and a new/ file"
		return
	fi
	grep '^run' "$dir/.meta" >"$dir/.runs"
	while IFS='	' read -r _ idx args want; do
		[ "$args" = - ] && args=
		desc="$name${args:+ ($args)}"
		if [ -z "$want" ]; then
			ok 1 "$desc: has an exit: line"
			continue
		fi
		# shellcheck disable=SC2086 # args are words
		(cd "$dir" && "$BUSRPC_IDLC" --compat $args "$old" "$new") >"$dir/out" 2>"$dir/err"
		st=$?
		is "$st" "$want" "$desc: exit status $want"
		[ "$st" = "$want" ] || sed 's/^/#   stderr: /' "$dir/err" | head -30
		awk -F'\t' -v i="$idx" '$1 == "expect" && $2 == i { print $3 }' "$dir/.meta" >"$dir/want"
		while IFS= read -r line; do
			if grep -Fqx -- "$line" "$dir/err"; then
				ok 0 "$desc: $line"
			else
				ok 1 "$desc: $line"
				sed 's/^/#   stderr: /' "$dir/err" | head -30
			fi
		done <"$dir/want"
		grep -E '^[^ ]*: (error|warning): ' "$dir/err" | sort >"$dir/got-ew"
		grep -E '^[^ ]*: (error|warning): ' "$dir/want" | sort >"$dir/want-ew"
		if cmp -s "$dir/got-ew" "$dir/want-ew"; then
			ok 0 "$desc: no other error or warning"
		else
			ok 1 "$desc: no other error or warning"
			comm -23 "$dir/got-ew" "$dir/want-ew" | sed 's/^/#   unexpected: /'
		fi
	done <"$dir/.runs"
}

n=0
for f in "$cases"/*.case; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	run_case "$f"
done
[ "$n" -ge 30 ]
ok $? "at least 30 change pairs ($n)"

# ---- real interface files ----
# Each vendor file against its own --idl: nothing changes on the wire or in
# C, at the strictest level, both ways. Then one method removed from it.
real=$(ls "$top_srcdir"/tests/xml/real/*.xml /usr/share/dbus-1/interfaces/*.xml 2>/dev/null)
[ -n "$real" ]
ok $? "real interface files to compare"
compat_lines='\((breaks|wire-compatible|compatible|no member uses)|@since'
i=0
for x in $real; do
	i=$((i + 1))
	b=${x##*/}
	d=$tmp/real/$i
	mkdir -p "$d"
	if ! "$BUSRPC_IDLC" --idl -o "$d" "$x" 2>"$d/err"; then
		ok 1 "$b: --idl"
		sed 's/^/#   stderr: /' "$d/err" | head -5
		continue
	fi
	idl=$(ls "$d"/*.idl)
	for order in "XML IDL" "IDL XML"; do
		if [ "$order" = "XML IDL" ]; then
			"$BUSRPC_IDLC" --compat --compat-level=strict "$x" "$idl" >/dev/null 2>"$d/err"
		else
			"$BUSRPC_IDLC" --compat --compat-level=strict "$idl" "$x" >/dev/null 2>"$d/err"
		fi
		st=$?
		desc="$b (${x%/*}): XML and its --idl compare equal at strict, $order"
		if [ $st -eq 0 ] && ! grep -Eq "$compat_lines" "$d/err"; then
			ok 0 "$desc"
		else
			ok 1 "$desc"
			diag "exit status $st"
			sed 's/^/#   stderr: /' "$d/err" | head -10
		fi
	done
done
d=$tmp/real/login1-cut
mkdir -p "$d"
x=$top_srcdir/tests/xml/real/org.freedesktop.login1.Manager.xml
"$BUSRPC_IDLC" --idl -o "$d" "$x" 2>/dev/null
idl=$(ls "$d"/*.idl)
line=$(grep -n '^    .*method CreateSession(' "$idl" | sed -n '1s/:.*//p')
if [ -n "$line" ]; then
	sed "${line}d" "$idl" >"$d/new.idl"
	iface_line=$(grep -n '^interface org.freedesktop.login1.Manager' "$d/new.idl" | cut -d: -f1)
	"$BUSRPC_IDLC" --compat "$x" "$d/new.idl" >/dev/null 2>"$d/err"
	st=$?
	want="$d/new.idl:$iface_line:11: error: method 'CreateSession' removed from interface 'org.freedesktop.login1.Manager' (breaks existing clients)"
	[ $st -eq 1 ] && grep -Fqx -- "$want" "$d/err" &&
		[ "$(grep -Ec "$compat_lines" "$d/err")" -eq 1 ] &&
		grep -Eq "^$x:[0-9]+:[0-9]+: note: method 'CreateSession' was here" "$d/err"
	ok $? "logind's CreateSession removed: one error at NEW's interface, a note into the XML"
	[ $st -eq 1 ] || sed 's/^/#   stderr: /' "$d/err" | head -10
else
	ok 1 "logind's IDL has a CreateSession line"
fi

# Memory: the checks run under valgrind when the suite has it.
if [ -n "${VALGRIND:-}" ]; then
	for c in interface-renamed xml-idl-struct-named enum-renumbered arg-moved-to-output; do
		dir=$tmp/$c
		old=$(sed -n 's/^--- \(old\/.*\)/\1/p' "$cases/$c.case" | sed -n 1p)
		new=$(sed -n 's/^--- \(new\/.*\)/\1/p' "$cases/$c.case" | sed -n 1p)
		(cd "$dir" && $VALGRIND -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
			--error-exitcode=99 "$BUSRPC_IDLC" --compat --compat-level=strict "$old" "$new") \
			>/dev/null 2>"$dir/vg"
		st=$?
		[ $st -ne 99 ] && ! grep -q '^==[0-9]*==' "$dir/vg"
		ok $? "$c: no memory error or leak under valgrind"
		[ $st -ne 99 ] || sed 's/^/#   /' "$dir/vg" | head -20
	done
fi

# ---- the command line ----
mkdir -p "$tmp/cli"
printf 'interface org.example.A {\n    method M();\n}\n' >"$tmp/cli/a.idl"
printf 'interface org.example.A {\n    method M(;\n}\n' >"$tmp/cli/broken.idl"

# usage ARGS...: exit status 2 and a message naming the problem.
usage() {
	want=$1; shift
	(cd "$tmp/cli" && "$BUSRPC_IDLC" "$@") >/dev/null 2>"$tmp/cli/err"
	st=$?
	if [ $st -eq 2 ] && grep -Fq -- "$want" "$tmp/cli/err"; then
		ok 0 "usage error: $*"
	else
		ok 1 "usage error: $*"
		diag "exit status $st (want 2)"
		sed 's/^/#   stderr: /' "$tmp/cli/err"
	fi
}
usage "needs two input files" --compat a.idl
usage "needs two input files" --compat a.idl a.idl a.idl
usage "invalid --compat-level 'loose'" --compat --compat-level=loose a.idl a.idl
usage "--compat-level needs --compat" --compat-level=wire a.idl
usage "--compat writes no output" --compat --header a.idl a.idl
usage "--compat writes no output" --compat -o out a.idl a.idl

(cd "$tmp/cli" && "$BUSRPC_IDLC" --compat a.idl a.idl) >"$tmp/cli/out" 2>"$tmp/cli/err"
st=$?
[ $st -eq 0 ] && [ ! -s "$tmp/cli/err" ] && [ ! -s "$tmp/cli/out" ]
ok $? "a file compared with itself: exit 0, nothing printed (status $st)"

# An input with errors: status 1, its diagnostics, and the other input is
# still checked.
(cd "$tmp/cli" && "$BUSRPC_IDLC" --compat broken.idl missing.idl) >/dev/null 2>"$tmp/cli/err"
st=$?
if [ $st -eq 1 ] && grep -q '^broken.idl:2:14: error: ' "$tmp/cli/err" &&
	grep -Fq "cannot read 'missing.idl'" "$tmp/cli/err"; then
	ok 0 "errors in both inputs are reported, exit 1"
else
	ok 1 "errors in both inputs are reported, exit 1"
	diag "exit status $st"
	sed 's/^/#   stderr: /' "$tmp/cli/err" | head -8
fi

"$BUSRPC_IDLC" --help >"$tmp/cli/help"
grep -q -- '--compat OLD NEW' "$tmp/cli/help" && grep -q -- '--compat-level=LEVEL' "$tmp/cli/help"
ok $? "--help lists --compat and --compat-level"

# ---- @since outside --compat ----
mkdir -p "$tmp/since"
cat >"$tmp/since/s.idl" <<'EOF'
module s;

@since("1.1")
struct Point { int32 x; int32 y; }
enum Mode : uint32 { SLOW, @since("1.2") FAST }

@since("1.0")
interface org.example.S {
    @since("1.1") method Add(int32 a, int32 b) -> (int32 sum) raises (Bad);
    @since("1.2") signal Moved(Point to);
    @since("1.3") property Mode Speed readwrite;
    @since("1.1") error Bad;
}
EOF
(cd "$tmp/since" && "$BUSRPC_IDLC" --check s.idl) 2>"$tmp/since/err"
st=$?
[ $st -eq 0 ] && [ ! -s "$tmp/since/err" ]
ok $? "@since on interface, members, types and enumerators is accepted silently"

# bad_since ANNOTATED-LINE WANT: one file, one diagnostic at 3:5.
bad_since() {
	printf 'module b;\ninterface org.example.B {\n    %s\n}\n' "$1" >"$tmp/since/b.idl"
	(cd "$tmp/since" && "$BUSRPC_IDLC" --check b.idl) 2>"$tmp/since/err"
	st=$?
	if [ $st -eq 1 ] && grep -Fqx -- "$2" "$tmp/since/err"; then
		ok 0 "$2"
	else
		ok 1 "$2"
		sed 's/^/#   stderr: /' "$tmp/since/err"
	fi
}
bad_since '@since("1.x") method M();' \
	"b.idl:3:5: error: invalid version '1.x' in '@since': expected dotted numbers such as \"1.2\""
bad_since '@since("1..2") method M();' \
	"b.idl:3:5: error: invalid version '1..2' in '@since': expected dotted numbers such as \"1.2\""
bad_since '@since(".1") method M();' \
	"b.idl:3:5: error: invalid version '.1' in '@since': expected dotted numbers such as \"1.2\""
bad_since '@since method M();' \
	"b.idl:3:5: error: annotation '@since' takes one string argument"
bad_since 'method M(@since("1.0") int32 a);' \
	"b.idl:3:14: error: annotation '@since' is not allowed on a parameter"

# Through XML and back: org.busrpc.Since, then the same IDL again.
(cd "$tmp/since" && "$BUSRPC_IDLC" --xml -o - s.idl) >"$tmp/since/s.xml" 2>"$tmp/since/err"
ok $? "--xml of a file with @since"
n_since=$(grep -c '<annotation name="org.busrpc.Since" value="1\.[0-3]"/>' "$tmp/since/s.xml")
is "$n_since" 4 "the XML carries org.busrpc.Since on the interface, method, signal and property"
grep -Fq '@since(&quot;1.1&quot;) struct Point' "$tmp/since/s.xml" &&
	grep -Fq '@since(&quot;1.2&quot;) FAST' "$tmp/since/s.xml" &&
	grep -Fq '@since(&quot;1.1&quot;) Bad' "$tmp/since/s.xml"
ok $? "the XML carries @since of types, enumerators and errors in their declarations"
mkdir -p "$tmp/since/back"
(cd "$tmp/since" && "$BUSRPC_IDLC" --idl -o back s.xml && "$BUSRPC_IDLC" --xml -o - back/s.idl) \
	>"$tmp/since/s2.xml" 2>"$tmp/since/err"
cmp -s "$tmp/since/s.xml" "$tmp/since/s2.xml"
ok $? "IDL -> XML -> IDL -> XML keeps every @since"
for w in '@since("1.0")' '@since("1.1") method Add' '@since("1.2") signal Moved' \
	'@since("1.3") property Mode Speed' '@since("1.1") error Bad' '@since("1.2") FAST'; do
	grep -Fq -- "$w" "$tmp/since/back/s.idl"
	ok $? "XML -> IDL gives back $w"
done

(cd "$tmp/since" && "$BUSRPC_IDLC" --header -o - s.idl) >"$tmp/since/s.h" 2>"$tmp/since/err"
ok $? "--header of a file with @since"
for w in ' *   interface org.example.S: 1.0' ' *   method Add: 1.1' ' *   signal Moved: 1.2' \
	' *   property Speed: 1.3' ' *   error Bad: 1.1'; do
	grep -Fqx -- "$w" "$tmp/since/s.h"
	ok $? "the header's availability comment: '$w'"
done
grep -A4 's_point - struct Point' "$tmp/since/s.h" | grep -Fq 'Available since version 1.1.'
ok $? "the header says since when struct Point is available"
printf '#include "s.h"\nint main(void) { return 0; }\n' >"$tmp/since/main.c"
if out=$(cc -std=c11 -Wall -Wextra -Werror -fsyntax-only -I"$top_srcdir/include" \
	-I"$top_builddir/include" -I"$tmp/since" "$tmp/since/main.c" 2>&1); then
	ok 0 "the header with availability comments compiles"
else
	ok 1 "the header with availability comments compiles"
	printf '%s\n' "$out" | sed 's/^/#   /'
fi

tap_done
