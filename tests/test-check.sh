#!/bin/sh
# The semantic checks of busrpc-idlc (idlc/check*.c), through the compiler.
#
# Convention for bad files (shared with tests/idl/bad-syntax/): each
# tests/idl/bad/NAME.idl has exactly one problem, and its first line is
#
#   // expect: LINE:COL: error: MESSAGE
#
# with the file name implied. The compiler, run on it from its directory,
# must exit with status 1, print exactly the line
# "NAME.idl:LINE:COL: error: MESSAGE" on stderr, and write no file. Files
# under tests/idl/bad/inc/ are only imported by the bad files.
. "$top_srcdir/tests/tap.sh"
: "${BUSRPC_IDLC:?}"
[ -x "$BUSRPC_IDLC" ] || tap_bail "busrpc-idlc not built: $BUSRPC_IDLC"
need grep sed
tmp=$(mktemp -d) || tap_bail "mktemp failed"
trap 'rm -rf "$tmp"' EXIT
bad=$top_srcdir/tests/idl/bad

# expect_error FILE: the bad-file convention above, with and without --check.
expect_error() {
	f=$1
	name=${f##*/}
	want=$(sed -n '1s|^// expect: ||p' "$f")
	if [ -z "$want" ]; then
		ok 1 "$name: first line is '// expect: LINE:COL: error: MESSAGE'"
		return
	fi
	for mode in --check ""; do
		rm -rf "$tmp/out" && mkdir "$tmp/out"
		(cd "${f%/*}" && "$BUSRPC_IDLC" $mode -o "$tmp/out" "$name") >"$tmp/stdout" 2>"$tmp/stderr"
		st=$?
		desc="$name${mode:+ ($mode)}"
		if [ $st -eq 1 ] && grep -Fqx -- "$name:$want" "$tmp/stderr" &&
			[ -z "$(ls -A "$tmp/out")" ]; then
			ok 0 "$desc: $want"
		else
			ok 1 "$desc: $want"
			diag "exit status $st (want 1); files written: $(ls -A "$tmp/out" | tr '\n' ' ')"
			sed 's/^/#   stderr: /' "$tmp/stderr" | head -20
		fi
	done
}

n=0
for f in "$bad"/*.idl; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	expect_error "$f"
done
[ $n -ge 40 ]
ok $? "at least 40 bad files ($n)"

# run FILE [ARGS]: compile a file of $tmp with --check; sets st, err.
run() {
	f=$1; shift
	(cd "$tmp" && "$BUSRPC_IDLC" --check "$@" "$f") >"$tmp/stdout" 2>"$tmp/stderr"
	st=$?
	err=$(cat "$tmp/stderr")
}
has() {  # has LINE DESCRIPTION: LINE is on stderr of the last run
	if printf '%s\n' "$err" | grep -Fqx -- "$1"; then ok 0 "$2"; else
		ok 1 "$2"
		diag "want: $1"
		printf '%s\n' "$err" | sed 's/^/#   stderr: /' | head -20
	fi
}

# The example of DESIGN.md is clean: no diagnostic at all.
cat >"$tmp/calc.idl" <<'EOF'
/* calc.idl */
module calc;

/** A point in the plane. */
struct Point { int32 x; int32 y; }

enum Rounding : uint32 { NEAREST = 0, DOWN, UP }
flags Caps : uint32 { FAST = 0x1, EXACT = 0x2 }
enum Temp : int16 { COLD = -40, WARM = 20, HOT, }
enum Small : small_t { LOW = 0, HIGH = 255 }
typedef byte small_t;
typedef map<string, Point[]> Shapes;

@c_name("calculator")
interface org.example.Calculator {
    method Add(int32 a, int32 b) -> (int32 sum);
    method Divide(double a, double b) -> (double quotient) raises (DivideByZero);
    method Centroid(Point[] points) -> (Point centre);
    method Tally(map<string, uint64> counts) -> (uint64 total, string[] keys);
    method Index(map<Rounding, Shapes> by_mode) -> (variant any);
    method Pass(fd file, shm blob) -> (fd copy);
    @noreply method Reset();
    @deprecated method Old();
    signal Overflowed(int64 value, string where);
    property string Name readonly;
    property Rounding Mode readwrite;
    @emits_changed("false") property uint64 Calls readonly;
    property Caps Flags writeonly;
    error DivideByZero;
}
EOF
run calc.idl
is "$st:$err" "0:" "the DESIGN.md example checks clean (exit 0, no diagnostics)"

# Several errors in one file: all reported, in one run, exit status 1.
cat >"$tmp/many.idl" <<'EOF'
module many;
struct Point { int32 x; int32 x; }
interface org.example.Many {
    method Go(Pointt a) -> (int32 a);
    @noreply method Stop() -> (int32 code);
    property fd Handle readonly;
}
EOF
run many.idl
is "$st" 1 "several errors: exit status 1"
has "many.idl:2:31: error: duplicate field 'x' in struct 'Point'" "several errors: duplicate field"
has "many.idl:4:15: error: unknown type 'Pointt'" "several errors: unknown type"
has "many.idl:4:35: error: duplicate parameter 'a' in method 'Go'" "several errors: duplicate parameter"
has "many.idl:5:21: error: @noreply method 'Stop' cannot have outputs" "several errors: @noreply with outputs"
has "many.idl:6:14: error: property 'Handle' cannot carry file descriptors (type 'fd')" "several errors: fd property"
is "$(printf '%s\n' "$err" | grep -c ': error: ')" 5 "several errors: exactly five errors"

# Duplicates come with a note at the first definition.
cat >"$tmp/dup.idl" <<'EOF'
module dup;
struct Point { int32 x; int32 y; }
interface org.example.Dup {
    method Get() -> (Point p1);
    method Get() -> (Point p2);
}
struct Point { double x; }
EOF
run dup.idl
has "dup.idl:7:8: error: redefinition of 'Point'" "redefinition reported"
has "dup.idl:2:8: note: previous definition is here" "redefinition: note at the first definition"
has "dup.idl:5:12: error: duplicate member 'Get' in interface 'org.example.Dup'" "duplicate member reported"
has "dup.idl:4:12: note: previous definition is here" "duplicate member: note at the first one"

# A C name collision names both sides.
cat >"$tmp/coll.idl" <<'EOF'
module coll;
interface org.example.Coll {
    method GetName() -> (string name);
    property string Name readonly;
}
EOF
run coll.idl
has "coll.idl:4:21: error: C name 'coll_get_name' of property 'Name' collides with method 'GetName'" \
	"C name collision reported"
has "coll.idl:3:12: note: 'coll_get_name' is also the C name of method 'GetName'" \
	"C name collision: note at the other side"

# Warnings do not fail the compilation.
cat >"$tmp/warn.idl" <<'EOF'
module warn;
enum Alias : uint32 { ONE = 1, UNO = 1 }
@frobnicate
interface org.example.Warn {
    @frobnicate("x") method Ping();
    method Pong() raises (Busy, Busy);
    error Busy;
}
EOF
run warn.idl
is "$st" 0 "warnings only: exit status 0"
has "warn.idl:3:1: warning: unknown annotation '@frobnicate' ignored" "unknown annotation on an interface is a warning"
has "warn.idl:5:5: warning: unknown annotation '@frobnicate' ignored" "unknown annotation on a method is a warning"
has "warn.idl:2:32: warning: enumerator 'UNO' has the same value as 'ONE'" "equal enumerator values are a warning"
has "warn.idl:6:33: warning: error 'Busy' is listed twice in raises" "an error raised twice is a warning"
is "$(printf '%s\n' "$err" | grep -c ': error: ')" 0 "warnings only: no error"

# No memory errors or leaks under valgrind, when it is there: the files
# above and one bad file for each pass of the checker (the fuzzer runs
# parse + check under ASan/UBSan on everything else).
if [ -n "$VALGRIND" ] && command -v "$VALGRIND" >/dev/null 2>&1; then
	for f in "$tmp"/*.idl "$bad"/redefinition-import.idl "$bad"/module-duplicate.idl \
		"$bad"/recursive-struct-indirect.idl "$bad"/typedef-cycle.idl \
		"$bad"/struct-nesting.idl "$bad"/signature-too-long-type.idl \
		"$bad"/map-key-typedef.idl "$bad"/enum-implicit-overflow.idl \
		"$bad"/raises-unknown.idl "$bad"/c-name-collision-container.idl \
		"$bad"/interface-name-too-long.idl; do
		(cd "${f%/*}" && "$VALGRIND" -q --error-exitcode=99 --leak-check=full \
			--errors-for-leak-kinds=definite "$BUSRPC_IDLC" --check "${f##*/}") >/dev/null 2>"$tmp/vg"
		st=$?
		[ $st -ne 99 ] && [ $st -lt 128 ]
		ok $? "valgrind clean: ${f##*/}"
		[ $st -eq 99 ] && sed 's/^/#   /' "$tmp/vg" | head -30
	done
fi
tap_done
