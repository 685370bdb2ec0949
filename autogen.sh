#!/bin/sh
# Generate configure and the build-aux/ and m4/ files (not committed).
set -e
cd "$(dirname "$0")"
mkdir -p m4 build-aux
autoreconf --force --install --warnings=all,no-portability
