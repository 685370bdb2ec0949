# The test harness. Each part adds its tests in its own fragment below.
EXTRA_DIST += tests/tap.h tests/tap-util.h tests/tap.sh

TESTS += tests/test-install.sh tests/test-configure.sh
EXTRA_DIST += tests/test-install.sh tests/install-probe.c tests/test-configure.sh
TESTS += tests/test-docs.sh
EXTRA_DIST += tests/test-docs.sh

include tests/idlc.mk
include tests/check.mk
include tests/xml.mk
include tests/gen.mk
include tests/runtime.mk
include tests/interop.mk
include tests/data.mk
include tests/deploy.mk
include tests/compat.mk
include tests/faults.mk
include tests/hostile.mk
include tests/loops.mk
include tests/tool.mk
include tests/typing.mk
include tests/typed.mk
include tests/marshal.mk
include tests/props.mk
include tests/shm.mk
include tests/wire.mk
include tests/transport.mk
include tests/fastcall.mk
