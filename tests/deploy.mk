# Deployment outputs of busrpc-idlc (idlc/gen-deploy.c, gen-docs.c,
# check-deploy.c) and busrpc-bus --services (test-deploy.sh).
TESTS += tests/test-deploy.sh
EXTRA_DIST += tests/test-deploy.sh \
	tests/deploy/deploy.idl \
	tests/deploy/golden/deploy.7 \
	tests/deploy/golden/deploy.md \
	tests/deploy/golden/deploy.service \
	tests/deploy/golden/org.example.Deploy.conf \
	tests/deploy/golden/org.example.Deploy.service \
	tests/deploy/bad/bus-name-character.idl \
	tests/deploy/bad/bus-name-digit.idl \
	tests/deploy/bad/bus-name-empty-element.idl \
	tests/deploy/bad/bus-name-empty.idl \
	tests/deploy/bad/bus-name-one-element.idl \
	tests/deploy/bad/bus-name-too-long.idl \
	tests/deploy/bad/bus-name-unique.idl \
	tests/deploy/bad/dbus-spelling.idl \
	tests/deploy/bad/disagree.idl \
	tests/deploy/bad/exec-percent.idl \
	tests/deploy/bad/exec-quote.idl \
	tests/deploy/bad/exec-relative.idl \
	tests/deploy/bad/exec-spaces.idl \
	tests/deploy/bad/on-method.idl \
	tests/deploy/bad/unit-suffix.idl \
	tests/deploy/bad/unit-template.idl \
	tests/deploy/bad/user-character.idl \
	tests/deploy/bad/user-invalid.idl
