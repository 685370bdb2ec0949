#!/bin/sh
# configure names the Debian package of each missing dependency, a tree
# with the generated scanner builds without flex and bison, and the whole
# project builds warning-free under clang with --enable-werror.
. "$top_srcdir/tests/tap.sh"
need pkg-config clang make
tmp=$(mktemp -d) || tap_bail "mktemp failed"
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/empty" "$tmp/dbus-only"
pcdir=$(pkg-config --variable=pcfiledir dbus-1) || tap_bail "dbus-1.pc not found"
cp "$pcdir/dbus-1.pc" "$tmp/dbus-only/"

conf() {  # conf DIR ARGS...: configure into DIR, output in DIR.log
	d=$1; shift
	mkdir -p "$d"
	(cd "$d" && "$top_srcdir/configure" "$@") > "$d.log" 2>&1
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
if [ -f "$top_srcdir/idlc/lexer.c" ]; then
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
