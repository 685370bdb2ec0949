#!/bin/sh
# test-docs.sh: every C code block of the documentation compiles, with
# gcc and clang, -std=c11 -Wall -Wextra -Werror, so no example can rot.
#
# Which documents: README.md, docs/*.md, examples/README*.md (globs, so a new
# page is picked up without touching this test). Which blocks: every fenced
# block whose info string starts with "c" (```c, ```c file=x.c, indented
# ones in lists too), and the IDL blocks those refer to.
#
# A block is a whole translation unit unless a marker line says otherwise.
# The marker is an HTML comment (invisible when the page is rendered) on
# the line before the fence, blank lines allowed in between:
#
#   <!-- docs-test: [KIND] [KEY=VALUE]... -->     (VALUE may be "quoted")
#
# KIND, for a C block:
#   unit     (the default) the block is a whole .c file. If it defines main()
#            it is also linked, with the generated client and server files
#            of its idl= and the in-tree libbusrpc.
#   body     the block is statements: it becomes the body of a function
#            `void docs_test_fragment(ARGS)`; <busrpc/busrpc.h> is included.
#   decl     the block restates declarations (prototypes, typedefs) of the
#            header generated from its idl=: it is compiled after that header,
#            so each must agree with the real one, and every NAME( it
#            declares must appear in the header.
#   excerpt  the block restates definitions (struct or enum bodies) of a
#            generated header, which cannot be compiled next to it: it is
#            compiled alone (with <busrpc/busrpc.h>, -Wno-unused-function,
#            since it declares the header's static inline helpers without
#            their bodies), and every NAME( it declares must appear in the
#            header generated from its idl=.
#   skip     not compiled; reason="..." is required and printed.
# KEYs:
#   idl=NAME         the IDL block of the same page named NAME (see below) is
#                    compiled by the in-tree busrpc-idlc; NAME.h is included
#                    for body and excerpt, and is on the include path.
#   define=A,B       #define A, #define B first (e.g. define=_GNU_SOURCE).
#   include=a.h,b.h  #include <a.h>, #include <b.h> next (the generated header
#                    may be named too: include=calc.h).
#   prelude="..."    file-scope C placed after the includes (helpers the block
#                    uses but does not show).
#   args="..."       body only: the parameter list of the wrapping function
#                    (the variables the fragment uses but does not declare).
#   use=f,g          unit only: the static functions f and g are referenced
#                    after the block (an excerpt of a file that uses them).
#   pkg=a,b          the compile flags of pkg-config modules a and b (e.g.
#                    glib-2.0 for a busrpc-glib example).
#
# An IDL block gets a name with ```idl file=NAME.idl or with a marker
# <!-- docs-test: idl=NAME --> before it; only named IDL blocks are compiled.
. "$top_srcdir/tests/tap.sh"
need awk gcc clang
idlc=${BUSRPC_IDLC:-$top_builddir/busrpc-idlc}
[ -x "$idlc" ] || tap_bail "$idlc not built"
libdir=$top_builddir/.libs
[ -f "$libdir/libbusrpc.so" ] || tap_bail "$libdir/libbusrpc.so not built"
tmp=$(mktemp -d) || tap_bail "mktemp failed"
trap 'rm -rf "$tmp"' EXIT
flags="-std=c11 -Wall -Wextra -Werror"
base_flags=$flags

cd "$top_srcdir" || tap_bail "cannot cd to $top_srcdir"
docs=
for f in README.md docs/*.md examples/README*.md; do
	[ -f "$f" ] && docs="$docs $f"
done

# Split the pages into $tmp/blocks/NNN.src (the block, fence indentation
# removed) and NNN.info (doc, line, lang, fence info, marker fields one per
# line as KEY=VALUE; the kind as kind=).
mkdir "$tmp/blocks"
# shellcheck disable=SC2086
awk -v dir="$tmp/blocks" '
	function parse_marker(s,    k, v) {
		nm = 0
		sub(/^[ \t]*<!--[ \t]*docs-test:[ \t]*/, "", s)
		sub(/[ \t]*-->[ \t]*$/, "", s)
		while (s != "") {
			if (match(s, /^[ \t]+/)) { s = substr(s, RLENGTH + 1); continue }
			if (match(s, /^[A-Za-z_]+="[^"]*"/)) {
				k = substr(s, 1, index(s, "=") - 1)
				v = substr(s, length(k) + 3, RLENGTH - length(k) - 3)
			} else if (match(s, /^[A-Za-z_]+=[^ \t]*/)) {
				k = substr(s, 1, index(s, "=") - 1)
				v = substr(s, length(k) + 2, RLENGTH - length(k) - 1)
			} else if (match(s, /^[^ \t]+/)) {
				k = "kind"; v = substr(s, 1, RLENGTH)
			}
			s = substr(s, RLENGTH + 1)
			mk[++nm] = k "=" v
		}
	}
	FNR == 1 { inblock = 0; nm = 0 }
	!inblock && /^[ \t]*<!--[ \t]*docs-test:/ { parse_marker($0); next }
	!inblock && /^[ \t]*```/ {
		inblock = 1
		match($0, /^[ \t]*/); indent = RLENGTH
		info = substr($0, indent + 4)
		lang = info; sub(/[ \t].*/, "", lang)
		keep = (lang == "c" || lang == "idl")
		if (keep) {
			n++
			src = sprintf("%s/%03d.src", dir, n)
			inf = sprintf("%s/%03d.info", dir, n)
			printf "doc=%s\nline=%d\nlang=%s\nfence=%s\n", FILENAME, FNR, lang, info > inf
			for (i = 1; i <= nm; i++)
				print mk[i] > inf
			close(inf)
			printf "" > src
		}
		nm = 0
		next
	}
	inblock && /^[ \t]*```[ \t]*$/ { inblock = 0; if (keep) close(src); next }
	inblock {
		if (keep) {
			l = $0
			if (substr(l, 1, indent) ~ /^[ \t]*$/)
				l = substr(l, indent + 1)
			print l > src
		}
		next
	}
	/[^ \t]/ { nm = 0 }
' $docs || tap_bail "cannot read the documentation"

# field FILE KEY: the value of KEY in an .info file (empty if absent).
field() { sed -n "s/^$2=//p" "$1" | head -n 1; }
# gendir DOC: where the IDL blocks of DOC are compiled.
gendir() { echo "$tmp/gen/$(echo "$1" | tr '/.' '__')"; }

# The named IDL blocks first.
n_idl=0
for inf in "$tmp"/blocks/*.info; do
	[ "$(field "$inf" lang)" = idl ] || continue
	doc=$(field "$inf" doc)
	line=$(field "$inf" line)
	name=$(field "$inf" idl)
	[ -n "$name" ] || name=$(field "$inf" fence | sed -n 's/.*file=\([^ ]*\)\.idl.*/\1/p')
	[ -n "$name" ] || continue
	g=$(gendir "$doc")
	mkdir -p "$g"
	cp "${inf%.info}.src" "$g/$name.idl"
	"$idlc" -o "$g" --header --client --server "$g/$name.idl" >"$tmp/idlc.log" 2>&1
	st=$?
	ok $st "$doc:$line: $name.idl compiles with busrpc-idlc"
	[ $st -eq 0 ] || sed 's/^/#   /' "$tmp/idlc.log"
	n_idl=$((n_idl + 1))
done

# compile NAME FILE [CC-ARGS...]: with gcc and clang; one result for both.
compile() {
	what=$1; shift
	st=0
	for cc in gcc clang; do
		if ! $cc "$@" >"$tmp/cc.log" 2>&1; then
			st=1
			sed "s/^/#   $cc: /" "$tmp/cc.log" | head -n 30
		elif [ -s "$tmp/cc.log" ]; then
			st=1
			sed "s/^/#   $cc: /" "$tmp/cc.log" | head -n 30
		fi
	done
	ok $st "$what"
}

n_c=0
n_skip=0
for inf in "$tmp"/blocks/*.info; do
	[ "$(field "$inf" lang)" = c ] || continue
	n_c=$((n_c + 1))
	src=${inf%.info}.src
	doc=$(field "$inf" doc)
	line=$(field "$inf" line)
	kind=$(field "$inf" kind)
	idl=$(field "$inf" idl)
	where="$doc:$line"
	[ -n "$kind" ] || kind=unit
	flags=$base_flags
	pkg=$(field "$inf" pkg | tr ',' ' ')
	if [ -n "$pkg" ] && ! pkgflags=$(pkg-config --cflags $pkg 2>&1); then
		ok 1 "$where: pkg-config finds $pkg (install its -dev package): $pkgflags"
		continue
	fi
	[ -z "$pkg" ] || flags="$flags $pkgflags"
	g=$(gendir "$doc")
	if [ -n "$idl" ] && [ ! -f "$g/$idl.h" ]; then
		ok 1 "$where: idl=$idl names an IDL block of $doc that was compiled"
		continue
	fi
	tu=$tmp/tu-${inf##*/}
	tu=${tu%.info}.c
	{
		for d in $(field "$inf" define | tr ',' ' '); do echo "#define $d" | sed 's/=/ /'; done
		case $kind in body | excerpt) echo "#include <busrpc/busrpc.h>" ;; esac
		for h in $(field "$inf" include | tr ',' ' '); do echo "#include <$h>"; done
		case $kind in body | decl) [ -n "$idl" ] && echo "#include <$idl.h>" ;; esac
		field "$inf" prelude
		echo "#line $((line + 1)) \"$doc\""
	} >"$tu"
	case $kind in
	unit)
		cat "$src" >>"$tu"
		use=$(field "$inf" use)
		if [ -n "$use" ]; then
			printf 'void (*const docs_test_used[])(void) = {' >>"$tu"
			for fn in $(echo "$use" | tr ',' ' '); do printf ' (void (*)(void))%s,' "$fn"; done >>"$tu"
			echo ' };' >>"$tu"
		fi
		if grep -Eq '^(int|static int)[ \t]+main[ \t]*\(' "$src"; then
			gen=
			[ -n "$idl" ] && gen="$g/$idl-client.c $g/$idl-server.c"
			# shellcheck disable=SC2086
			compile "$where: a whole program: compiles and links (${idl:+$idl, }libbusrpc)" \
				$flags -I"$top_srcdir/include" ${idl:+-I"$g"} -o "$tmp/prog" "$tu" $gen \
				-L"$libdir" -lbusrpc
		else
			# shellcheck disable=SC2086
			compile "$where: a whole translation unit compiles" \
				$flags -I"$top_srcdir/include" ${idl:+-I"$g"} -c -o "$tmp/tu.o" "$tu"
		fi
		;;
	body)
		args=$(field "$inf" args)
		{
			echo "void docs_test_fragment(${args:-void});"
			echo "void docs_test_fragment(${args:-void})"
			echo "{"
			# Mark the parameters used: the fragment may only assign some.
			echo "$args" | tr ',' '\n' | sed -n 's/.*[^A-Za-z0-9_]\([A-Za-z_][A-Za-z0-9_]*\)[][ \t]*$/\t(void)\1;/p'
			echo "#line $((line + 1)) \"$doc\""
			cat "$src"
			echo "}"
		} >>"$tu"
		# shellcheck disable=SC2086
		compile "$where: a fragment compiles as a function body${idl:+ (with $idl.h)}" \
			$flags -I"$top_srcdir/include" ${idl:+-I"$g"} -c -o "$tmp/tu.o" "$tu"
		;;
	decl | excerpt)
		cat "$src" >>"$tu"
		if [ "$kind" = decl ]; then
			# shellcheck disable=SC2086
			compile "$where: declarations agree with the generated ${idl:-(no idl=)}.h" \
				$flags -I"$top_srcdir/include" ${idl:+-I"$g"} -c -o "$tmp/tu.o" "$tu"
		else
			# shellcheck disable=SC2086
			compile "$where: an excerpt of a generated header compiles" \
				$flags -Wno-unused-function -I"$top_srcdir/include" -c -o "$tmp/tu.o" "$tu"
		fi
		if [ -z "$idl" ]; then
			ok 1 "$where: an excerpt names the IDL it comes from (idl=NAME)"
		else
			missing=
			for fn in $(grep -o '[A-Za-z_][A-Za-z0-9_]*(' "$src" | tr -d '(' | sort -u); do
				grep -q "[^A-Za-z0-9_]$fn(" "$g/$idl.h" || missing="$missing $fn"
			done
			is "$missing" "" "$where: every function the excerpt declares is in the generated $idl.h"
		fi
		;;
	skip)
		reason=$(field "$inf" reason)
		n_skip=$((n_skip + 1))
		ok "$([ -n "$reason" ]; echo $?)" "$where: not compiled, marked with a reason: ${reason:-(none given)}"
		;;
	*)
		ok 1 "$where: unknown docs-test kind '$kind'"
		;;
	esac
done
diag "$n_c C blocks ($n_skip marked skip), $n_idl IDL blocks compiled, in:$docs"
ok "$([ "$n_c" -ge 20 ]; echo $?)" "the documentation has C blocks to test ($n_c)"
ok "$([ "$n_skip" -le 3 ]; echo $?)" "few blocks are exempt ($n_skip)"
tap_done
