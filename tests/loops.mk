# tests/loops.mk (H11): the foreign-loop adapters (runtime/adapters/) with
# the examples of examples/loops/; see tests/test-loops.sh.
TESTS += tests/test-loops.sh
EXTRA_DIST += tests/test-loops.sh
