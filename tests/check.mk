# Semantic checks (idlc/check*.c): the bad IDL files, one problem each, and
# test-check.sh, which runs the compiler on them (docs/idl-checks.md lists
# every check). Automake needs literal names: no wildcards.
TESTS += tests/test-check.sh
EXTRA_DIST += tests/test-check.sh docs/idl-checks.md \
	tests/idl/bad/array-nesting.idl \
	tests/idl/bad/builtin-type-name.idl \
	tests/idl/bad/c-name-collision-annotated.idl \
	tests/idl/bad/c-name-collision-container.idl \
	tests/idl/bad/c-name-collision-enumerator.idl \
	tests/idl/bad/c-name-collision-error.idl \
	tests/idl/bad/c-name-collision-export-server.idl \
	tests/idl/bad/c-name-collision-typed-error.idl \
	tests/idl/bad/c-name-collision-typed-cache.idl \
	tests/idl/bad/c-name-collision-typed-changes.idl \
	tests/idl/bad/c-name-collision-free.idl \
	tests/idl/bad/c-name-collision-get-all.idl \
	tests/idl/bad/c-name-collision-interface.idl \
	tests/idl/bad/c-name-collision-macro.idl \
	tests/idl/bad/c-name-collision-signal.idl \
	tests/idl/bad/c-name-collision-type.idl \
	tests/idl/bad/c-name-collision.idl \
	tests/idl/bad/c-name-invalid-dash.idl \
	tests/idl/bad/c-name-invalid.idl \
	tests/idl/bad/c-name-keyword-type.idl \
	tests/idl/bad/c-name-reserved.idl \
	tests/idl/bad/deprecated-on-error.idl \
	tests/idl/bad/duplicate-enumerator.idl \
	tests/idl/bad/duplicate-error.idl \
	tests/idl/bad/duplicate-field.idl \
	tests/idl/bad/duplicate-interface.idl \
	tests/idl/bad/duplicate-member-kinds.idl \
	tests/idl/bad/duplicate-member.idl \
	tests/idl/bad/duplicate-param-out.idl \
	tests/idl/bad/duplicate-param.idl \
	tests/idl/bad/duplicate-signal-arg.idl \
	tests/idl/bad/emits-changed-bad-value.idl \
	tests/idl/bad/emits-changed-on-method.idl \
	tests/idl/bad/empty-enum.idl \
	tests/idl/bad/empty-struct.idl \
	tests/idl/bad/enum-base-bool.idl \
	tests/idl/bad/enum-base-string.idl \
	tests/idl/bad/enum-base-struct.idl \
	tests/idl/bad/enum-implicit-overflow.idl \
	tests/idl/bad/enum-value-int16-min.idl \
	tests/idl/bad/enum-value-negative-unsigned.idl \
	tests/idl/bad/enum-value-range.idl \
	tests/idl/bad/error-name-too-long.idl \
	tests/idl/bad/field-c-keyword.idl \
	tests/idl/bad/flags-value-range.idl \
	tests/idl/bad/interface-name-one-element.idl \
	tests/idl/bad/interface-name-too-long.idl \
	tests/idl/bad/map-key-array.idl \
	tests/idl/bad/map-key-fd.idl \
	tests/idl/bad/map-key-struct.idl \
	tests/idl/bad/map-key-typedef.idl \
	tests/idl/bad/map-key-variant.idl \
	tests/idl/bad/max-size-method.idl \
	tests/idl/bad/max-size-type.idl \
	tests/idl/bad/max-size-value.idl \
	tests/idl/bad/max-size-zero.idl \
	tests/idl/bad/member-name-too-long.idl \
	tests/idl/bad/method-c-keyword.idl \
	tests/idl/bad/module-duplicate.idl \
	tests/idl/bad/module-reserved.idl \
	tests/idl/bad/noreply-on-field.idl \
	tests/idl/bad/noreply-on-signal.idl \
	tests/idl/bad/noreply-outputs.idl \
	tests/idl/bad/noreply-raises.idl \
	tests/idl/bad/param-c-keyword-default.idl \
	tests/idl/bad/param-c-name-duplicate.idl \
	tests/idl/bad/param-c-name-invalid.idl \
	tests/idl/bad/param-c-name-keyword.idl \
	tests/idl/bad/param-c-keyword.idl \
	tests/idl/bad/param-cxx-keyword.idl \
	tests/idl/bad/param-reserved-prefix.idl \
	tests/idl/bad/param-string-name.idl \
	tests/idl/bad/property-fd.idl \
	tests/idl/bad/property-reserved.idl \
	tests/idl/bad/property-shm-in-struct.idl \
	tests/idl/bad/raises-unknown.idl \
	tests/idl/bad/recursive-struct-array.idl \
	tests/idl/bad/recursive-struct-indirect.idl \
	tests/idl/bad/recursive-struct-map.idl \
	tests/idl/bad/recursive-struct.idl \
	tests/idl/bad/recursive-typedef-struct.idl \
	tests/idl/bad/redefinition-import.idl \
	tests/idl/bad/redefinition.idl \
	tests/idl/bad/signature-too-long-args.idl \
	tests/idl/bad/signature-too-long-outputs.idl \
	tests/idl/bad/signature-too-long-struct.idl \
	tests/idl/bad/signature-too-long-type.idl \
	tests/idl/bad/struct-nesting.idl \
	tests/idl/bad/typedef-cycle.idl \
	tests/idl/bad/typedef-self.idl \
	tests/idl/bad/unknown-type.idl \
	tests/idl/bad/inc/point.idl \
	tests/idl/bad/inc/same-module.idl

# The checker on hand-built trees (what the XML import can produce).
check_PROGRAMS += tests/test-check-ast
TESTS += tests/test-check-ast
tests_test_check_ast_SOURCES = tests/test-check-ast.c tests/tap.h \
	idlc/ast.c idlc/diag.c idlc/types.c \
	idlc/check.c idlc/check-types.c idlc/check-names.c idlc/check-deploy.c common/names.c
