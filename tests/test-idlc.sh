#!/bin/sh
# test-idlc.sh: the IDL front end (scanner, parser, loader) and the command
# line of busrpc-idlc.
#
# Data:
#   tests/idl/good/**.idl      valid files: --check prints nothing, and
#                              --idl prints tests/idl/golden/<path with / as ->
#   tests/idl/include/         found only through -I (imported by imports.idl)
#   tests/idl/bad-syntax/*.idl one syntax error case per file. The file starts
#                              with one line per expected error, in order, in
#                              the format of tests/idl/bad (test-check.sh):
#                                // expect: LINE:COL: error: MESSAGE
#                              The test compiles the file from its own
#                              directory; the error lines printed must be
#                              exactly "FILE:" followed by these, each one
#                              followed by the source line and a caret, and
#                              the exit status must be 1.
. "$top_srcdir/tests/tap.sh"

IDLC=${BUSRPC_IDLC:?}
[ -x "$IDLC" ] || tap_bail "busrpc-idlc not built: $IDLC"
VG=${VALGRIND:-valgrind}
need "$VG" cmp diff sed grep

idl=$top_srcdir/tests/idl
good=$idl/good
inc=$idl/include
tmp=$(mktemp -d) || tap_bail "mktemp failed"
trap 'rm -rf "$tmp"' EXIT INT TERM

# run CMD...: sets $rc, $out (stdout) and $err (stderr).
run() {
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
}

# out_is_golden DESCRIPTION: the last run exited 0 and printed $golden.
out_is_golden() {
	if [ "$rc" -eq 0 ] && cmp -s "$tmp/out" "$golden"; then
		ok 0 "$1"
	else
		ok 1 "$1 (rc $rc)"
		printf '%s\n' "$err" | sed 's/^/#   /'
		diff -u "$golden" "$tmp/out" | sed 's/^/#   /'
	fi
}

good_files=$(cd "$good" && find . -name '*.idl' | sed 's|^\./||' | LC_ALL=C sort)
[ -n "$good_files" ] || tap_bail "no good IDL files in $good"

# --- good files: no diagnostics, golden --idl output, fixed point ----------
for f in $good_files; do
	run "$IDLC" --check -I "$inc" "$good/$f"
	is "$rc:$err" "0:" "good/$f: --check passes with no diagnostics"

	golden=$idl/golden/$(printf '%s' "$f" | tr / -)
	run "$IDLC" --idl -o - -I "$inc" "$good/$f"
	out_is_golden "good/$f: --idl output equals the golden file"

	# The golden file compiled again (from elsewhere, imports through -I)
	# prints itself: the canonical form is a fixed point.
	mkdir -p "$tmp/fp"
	cp "$golden" "$tmp/fp/$(basename "$f")"
	run "$IDLC" --idl -o - -I "$good" -I "$good/sub" -I "$inc" "$tmp/fp/$(basename "$f")"
	out_is_golden "good/$f: --idl of the --idl output is identical"
	rm -rf "$tmp/fp"
done

# IDL -> XML -> IDL is a fixed point after the first step (needs the XML
# generator and the XML front end).
for f in types.idl syntax.idl; do
	mkdir -p "$tmp/x1" "$tmp/x2" "$tmp/i1" "$tmp/i2"
	m=${f%.idl}
	"$IDLC" --xml -o "$tmp/x1" "$good/$f" 2>"$tmp/err" &&
	"$IDLC" --idl -o "$tmp/i1" "$tmp/x1/$m.xml" 2>>"$tmp/err" &&
	"$IDLC" --xml -o "$tmp/x2" "$tmp/i1/$m.idl" 2>>"$tmp/err" &&
	"$IDLC" --idl -o "$tmp/i2" "$tmp/x2/$m.xml" 2>>"$tmp/err" &&
	cmp -s "$tmp/i1/$m.idl" "$tmp/i2/$m.idl"
	r=$?
	ok $r "good/$f: IDL -> XML -> IDL -> XML -> IDL gives the same IDL twice"
	[ $r -eq 0 ] || sed 's/^/#   /' "$tmp/err"
	rm -rf "$tmp/x1" "$tmp/x2" "$tmp/i1" "$tmp/i2"
done

# --- syntax errors: exact file:line:col and message, source line, caret -----
for path in "$idl"/bad-syntax/*.idl; do
	f=$(basename "$path")
	want=$(sed -n "s|^// expect: |$f:|p" "$path")
	[ -n "$want" ] || { ok 1 "bad-syntax/$f: has '// expect:' lines"; continue; }
	(cd "$idl/bad-syntax" && "$IDLC" --check "$f") >"$tmp/out" 2>"$tmp/err"
	rc=$?
	got=$(grep ': error: ' "$tmp/err")
	if [ "$rc" -eq 1 ] && [ "$got" = "$want" ]; then
		ok 0 "bad-syntax/$f: $(printf '%s' "$want" | head -n 1 | sed 's/^[^ ]* error: //')"
	else
		ok 1 "bad-syntax/$f: exit $rc, errors as expected"
		printf '#   want: %s\n' "$want"
		sed 's/^/#   got:  /' "$tmp/err"
	fi
	# Each error is followed by its source line and a caret line.
	n_err=$(grep -c ': error: ' "$tmp/err")
	n_caret=$(grep -c '^[[:space:]]*\^$' "$tmp/err")
	is "$n_caret" "$n_err" "bad-syntax/$f: a caret under every error"
done

# --- command line ------------------------------------------------------------
run "$IDLC" --version
ok $(( rc != 0 )) "--version exits 0"
case $out in "busrpc-idlc "[0-9]*) ok 0 "--version prints the version" ;;
	*) ok 1 "--version prints the version (got '$out')" ;; esac

run "$IDLC" --help
is "$rc" 0 "--help exits 0"
case $out in *"Usage: busrpc-idlc"*"-I"*"--check"*) ok 0 "--help prints the usage" ;;
	*) ok 1 "--help prints the usage" ;; esac

run "$IDLC"
is "$rc" 2 "no input file: exit 2"
case $err in *"no input file"*) ok 0 "no input file: says so" ;; *) ok 1 "no input file: says so" ;; esac

run "$IDLC" --frobnicate "$good/calc.idl"
is "$rc" 2 "unknown option: exit 2"
case $err in *"unknown option '--frobnicate'"*) ok 0 "unknown option: names it" ;;
	*) ok 1 "unknown option: names it (got '$err')" ;; esac

run "$IDLC" -x "$good/calc.idl"
is "$rc" 2 "unknown short option: exit 2"

run "$IDLC" --check "$good/calc.idl" "$good/types.idl"
is "$rc" 2 "two input files: exit 2"

run "$IDLC" "$good/calc.idl" -o
is "$rc" 2 "-o without a directory: exit 2"

run "$IDLC" --idl --xml -o - "$good/types.idl"
is "$rc" 2 "-o - with two outputs: exit 2"

run "$IDLC" --check "$tmp/does-not-exist.idl"
is "$rc" 1 "missing input file: exit 1"
case $err in *"cannot read '$tmp/does-not-exist.idl'"*) ok 0 "missing input file: says so" ;;
	*) ok 1 "missing input file: says so (got '$err')" ;; esac

# An error writes nothing, whatever the outputs.
mkdir "$tmp/o"
run "$IDLC" -o "$tmp/o" "$idl/bad-syntax/several-errors.idl"
is "$rc" 1 "syntax errors with default outputs: exit 1"
is "$(ls -A "$tmp/o")" "" "syntax errors: the output directory stays empty"
run "$IDLC" --idl --header --client --server --xml -o "$tmp/o" "$idl/bad-syntax/missing-semicolon.idl"
is "$rc:$(ls -A "$tmp/o")" "1:" "syntax error with every output: nothing written"

# --idl writes <module>.idl only, named after the module, not the file.
cp "$good/types.idl" "$tmp/renamed-input.idl"
run "$IDLC" --idl -o "$tmp/o" "$tmp/renamed-input.idl"
is "$rc:$(ls -A "$tmp/o")" "0:types.idl" "--idl -o DIR writes DIR/<module>.idl and nothing else"
cmp -s "$tmp/o/types.idl" "$idl/golden/types.idl"
ok $? "--idl -o DIR: the file holds the canonical IDL"
rm -f "$tmp/o/types.idl"

# Never overwrite the input.
cp "$good/types.idl" "$tmp/types.idl"
run "$IDLC" --idl -o "$tmp" "$tmp/types.idl"
is "$rc" 1 "output over the input: exit 1"
cmp -s "$tmp/types.idl" "$good/types.idl"
ok $? "output over the input: the input is untouched"
is "$(ls -A "$tmp" | grep -c '^\.types')" 0 "output over the input: no temporary file left"

# A missing output directory is created (mkdir -p, 0777 & ~umask), but
# only when there is no error.
run "$IDLC" --idl -o "$tmp/new/sub/dir" "$good/types.idl"
is "$rc:$err" "0:" "missing output directory: exit 0"
cmp -s "$tmp/new/sub/dir/types.idl" "$idl/golden/types.idl"
ok $? "missing output directory: created with its parents, the output inside"
run "$IDLC" --idl -o "$tmp/new/sub/dir/" "$good/types.idl"
is "$rc:$err" "0:" "existing output directory with a trailing '/': exit 0"
(umask 027 && "$IDLC" --idl -o "$tmp/masked/d" "$good/types.idl")
is "$(stat -c %a "$tmp/masked" "$tmp/masked/d" | tr '\n' ' ')" "750 750 " \
	"created directories have mode 0777 less the umask"
run "$IDLC" -o "$tmp/not-made/sub" "$idl/bad-syntax/missing-semicolon.idl"
is "$rc" 1 "missing output directory and a syntax error: exit 1"
[ ! -e "$tmp/not-made" ]
ok $? "missing output directory and a syntax error: nothing created"
run "$IDLC" -o "$tmp/not-made" "$top_srcdir/tests/idl/bad/unknown-type.idl"
[ "$rc" -eq 1 ] && [ ! -e "$tmp/not-made" ]
ok $? "missing output directory and a check error: exit 1, nothing created"
run "$IDLC" --check -o "$tmp/not-made" "$good/types.idl"
[ "$rc" -eq 0 ] && [ ! -e "$tmp/not-made" ]
ok $? "--check with a missing output directory: nothing created"
# Writing fails (no file may grow: EFBIG) after the directory was made:
# the directories this run created go again.
# (stderr goes through a pipe, which the file size limit does not cover.)
err=$( (trap '' XFSZ; ulimit -f 0; "$IDLC" -o "$tmp/gone/sub" "$good/calc.idl") 2>&1 >/dev/null)
r=$?
case $err in *"cannot write '$tmp/gone/sub/"*) e=0 ;; *) e=1 ;; esac
[ "$r" -eq 1 ] && [ ! -e "$tmp/gone" ] && [ $e -eq 0 ]
ok $? "a write error in a new output directory: exit 1, the directory is removed (rc $r)"
: >"$tmp/a-file"
run "$IDLC" --idl -o "$tmp/a-file/sub" "$good/types.idl"
is "$rc" 1 "output directory under a regular file: exit 1"
case $err in *"output directory '$tmp/a-file/sub'"*) ok 0 "output directory under a regular file: says so" ;;
	*) ok 1 "output directory under a regular file: says so (got '$err')" ;; esac
run "$IDLC" --idl -o "$tmp/a-file" "$good/types.idl"
case $rc:$err in "1:"*"not a directory"*) ok 0 "output directory is a regular file: exit 1, says so" ;;
	*) ok 1 "output directory is a regular file: exit 1, says so (got $rc '$err')" ;; esac

# Warnings do not fail.
printf 'module w;\n@frobnicate("x") struct S { int32 x; }\n' >"$tmp/warn.idl"
run "$IDLC" --idl -o "$tmp/o" "$tmp/warn.idl"
is "$rc" 0 "a warning alone: exit 0"
case $err in *"warn.idl:2:1: warning: "*) ok 0 "a warning alone: reported at file:line:col" ;;
	*) ok 1 "a warning alone: reported at file:line:col (got '$err')" ;; esac
grep -q '^@frobnicate("x")$' "$tmp/o/w.idl"
ok $? "an unknown annotation survives into the canonical IDL"
rm -f "$tmp/o/w.idl"

# Imports: cycles, a file importing itself, a missing import, -I order.
mkdir "$tmp/imp" "$tmp/imp/inc1" "$tmp/imp/inc2"
printf 'module a;\nimport "b.idl";\nstruct A { int32 x; }\n' >"$tmp/imp/a.idl"
printf 'module b;\nimport "a.idl";\nstruct B { int32 x; }\n' >"$tmp/imp/b.idl"
run "$IDLC" --check "$tmp/imp/a.idl"
is "$rc" 1 "import cycle: exit 1"
case $err in *"b.idl:2:8: error: import cycle: $tmp/imp/a.idl -> $tmp/imp/b.idl -> $tmp/imp/a.idl"*)
	ok 0 "import cycle: reported at the import closing it" ;;
	*) ok 1 "import cycle: reported at the import closing it (got '$err')" ;; esac
printf 'module self;\n\n  import "self.idl";\n' >"$tmp/imp/self.idl"
run "$IDLC" --check "$tmp/imp/self.idl"
case $rc:$err in "1:$tmp/imp/self.idl:3:10: error: import cycle: "*) ok 0 "a file importing itself: an import cycle" ;;
	*) ok 1 "a file importing itself: an import cycle (got $rc '$err')" ;; esac
printf 'module lost;\nimport "nowhere.idl";\n' >"$tmp/imp/lost.idl"
run "$IDLC" --check "$tmp/imp/lost.idl"
case $rc:$err in "1:$tmp/imp/lost.idl:2:8: error: cannot find imported file 'nowhere.idl'"*)
	ok 0 "missing import: exit 1 at the import" ;;
	*) ok 1 "missing import: exit 1 at the import (got $rc '$err')" ;; esac
printf 'module one;\nstruct One { int32 x; }\n' >"$tmp/imp/inc1/dep.idl"
printf 'module two;\nstruct Two { int32 x; }\n' >"$tmp/imp/inc2/dep.idl"
printf 'module user;\nimport "dep.idl";\nstruct U { One o; }\n' >"$tmp/imp/user.idl"
run "$IDLC" --check -I "$tmp/imp/inc1" -I "$tmp/imp/inc2" "$tmp/imp/user.idl"
is "$rc:$err" "0:" "-I: directories are searched in order"
run "$IDLC" --check -I "$tmp/imp/inc2" --include="$tmp/imp/inc1" "$tmp/imp/user.idl"
is "$rc" 1 "-I: the first directory holding the file wins"

# A UTF-8 byte order mark is skipped; CRLF line ends are blanks.
printf '\357\273\277module bom;\r\nstruct S { int32 x; }\r\n' >"$tmp/bom.idl"
run "$IDLC" --check "$tmp/bom.idl"
is "$rc:$err" "0:" "a byte order mark and CRLF line ends are accepted"

# Doc comments: after annotations, between items, and unattached ones.
cat >"$tmp/docs.idl" <<'EOF'
module docs;
/** dropped: the closest doc comment wins */
/** On S. */ struct S {
    int32 a; /** On b. */ int32 b;
    /** dropped: before a closing brace */
}
interface org.example.Docs {
    @noreply /** On M, after its annotation. */ method M(
        @annotation("org.example.A", "1") /** On x. */ int32 x);
}
EOF
run "$IDLC" --idl -o - "$tmp/docs.idl"
want='/** On S. */
struct S {
    int32 a;
    /** On b. */
    int32 b;
}

interface org.example.Docs {
    /** On M, after its annotation. */
    @noreply method M(
        /** On x. */
        @annotation("org.example.A", "1") int32 x);
}'
is "$rc:$(printf '%s\n' "$out" | sed '1,/^module docs;$/d' | sed '1d')" "0:$want" "doc comments attach to the next item"

# Several files, several errors: all reported in one run.
printf 'module m;\nimport "e2.idl";\nstruct S { int32 }\n' >"$tmp/imp/e1.idl"
printf 'module n;\nstruct T { int32 x }\n' >"$tmp/imp/e2.idl"
run "$IDLC" --check "$tmp/imp/e1.idl"
is "$rc:$(printf '%s\n' "$err" | grep -c ': error: ')" "1:2" "errors in two files: both reported"

# --- leaks and memory errors -----------------------------------------------
for f in "$good/calc.idl" "$good/syntax.idl" "$idl/bad-syntax/several-errors.idl" \
	"$idl/bad-syntax/unterminated-string.idl" "$tmp/imp/a.idl" "$tmp/imp/lost.idl" \
	"$tmp/imp/e1.idl" "$tmp/does-not-exist.idl" \
	"$top_srcdir/tests/xml/bad/not-well-formed.xml" "$top_srcdir/tests/xml/stats.xml"; do
	"$VG" -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--error-exitcode=9 "$IDLC" --idl -o - -I "$inc" "$f" >/dev/null 2>"$tmp/vg"
	r=$?
	if [ $r -ne 9 ]; then ok 0 "valgrind: no leak or memory error on $(basename "$f")"; else
		ok 1 "valgrind: no leak or memory error on $(basename "$f")"
		sed 's/^/#   /' "$tmp/vg"
	fi
done

tap_done
