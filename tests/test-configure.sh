#!/bin/sh
# configure names the Debian package of each missing dependency, a tree
# with the generated scanner builds without flex and bison, the whole
# project builds warning-free under clang with --enable-werror, and
# ./autogen.sh prints no warning.
#
# The configure runs below build elsewhere from the source tree. A source
# tree that was itself configured (the plain in-tree `./configure && make
# check`) refuses that ("source directory already configured"), and its
# objects would leak into the other builds through VPATH; so then they
# configure a pristine copy of the tree made by `make distdir`.
. "$top_srcdir/tests/tap.sh"
need pkg-config clang make autoreconf libtoolize
tmp=$(mktemp -d) || tap_bail "mktemp failed"
trap 'rm -rf "$tmp"' EXIT

src=$top_srcdir
if [ -f "$top_srcdir/config.status" ]; then
	src=$tmp/src
	${MAKE:-make} -C "$top_builddir" distdir distdir="$src" top_distdir="$src" \
		>"$tmp/distdir.log" 2>&1
	is $? 0 "the source tree is configured in place: configure a copy (make distdir)"
	[ -f "$src/config.status" ] && tap_bail "the copy is configured too"
else
	ok 0 "the source tree is not configured in place: configure it elsewhere"
fi

# ./autogen.sh on the autotools inputs alone (a copy: the test never touches
# the source tree): it must succeed without a single warning.
mkdir "$tmp/ag"
(cd "$top_srcdir" && find . \( -name .git -o -name autom4te.cache -o -name 'build' -o -name 'build-*' \) -prune \
	-o -type f \( -name configure.ac -o -name autogen.sh -o -name '*.am' -o -name '*.mk' -o -name '*.in' \) -print |
	tar -cf - -T -) | tar -C "$tmp/ag" -xf -
(cd "$tmp/ag" && sh ./autogen.sh) >"$tmp/autogen.log" 2>&1
is $? 0 "./autogen.sh succeeds"
grep -i 'warn' "$tmp/autogen.log" >"$tmp/autogen.warn"
is "$(cat "$tmp/autogen.warn")" "" "./autogen.sh prints no warning"
[ -s "$tmp/autogen.warn" ] && grep -i -A2 'warn' "$tmp/autogen.log" | sed 's/^/#   /'
mkdir "$tmp/empty" "$tmp/dbus-only"
pcdir=$(pkg-config --variable=pcfiledir dbus-1) || tap_bail "dbus-1.pc not found"
cp "$pcdir/dbus-1.pc" "$tmp/dbus-only/"

conf() {  # conf DIR ARGS...: configure into DIR, output in DIR.log
	d=$1; shift
	mkdir -p "$d"
	(cd "$d" && "$src/configure" "$@") > "$d.log" 2>&1
}

conf "$tmp/c1" PKG_CONFIG_LIBDIR="$tmp/empty" PKG_CONFIG_PATH=
ok $((! $?)) "without libdbus-1 configure fails"
grep -q 'apt-get install libdbus-1-dev' "$tmp/c1.log"
ok $? "and names libdbus-1-dev"

conf "$tmp/c2" PKG_CONFIG_LIBDIR="$tmp/dbus-only" PKG_CONFIG_PATH=
ok $((! $?)) "without expat configure fails"
grep -q 'apt-get install libexpat1-dev' "$tmp/c2.log"
ok $? "and names libexpat1-dev"

conf "$tmp/c3" LEX=/nonexistent/flex BISON=/nonexistent/bison
status=$?
if [ -f "$src/idlc/lexer.c" ]; then
	is "$status" 0 "a tree that ships the scanner and parser configures without flex and bison"
else
	ok $((! status)) "a git tree without flex configures to an error"
	grep -q 'apt-get install flex' "$tmp/c3.log"
	ok $? "and names flex"
fi

conf "$tmp/clang" CC=clang --enable-werror
is $? 0 "configure with clang and --enable-werror"
make -C "$tmp/clang" -j2 >"$tmp/clang-make.log" 2>&1
status=$?
is "$status" 0 "everything builds with clang -Wall -Wextra -Werror"
[ "$status" -eq 0 ] || tail -n 30 "$tmp/clang-make.log" | sed 's/^/#   /'
tap_done
