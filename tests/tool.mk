# The busrpc command (H12): tests/test-tool.sh runs it against the interop
# service, examples/calc and examples/bulk on a private bus and on their peer
# sockets (uses the interop helpers, tests/interop/lib.sh).
TESTS += tests/test-tool.sh
EXTRA_DIST += tests/test-tool.sh
