# Tests of busrpc-idlc: the IDL front end and the command line (test-idlc.sh).
# Automake needs literal names: no wildcards.
TESTS += tests/test-idlc.sh
EXTRA_DIST += tests/test-idlc.sh \
	tests/idl/bad-syntax/annotation-arguments.idl \
	tests/idl/bad-syntax/annotation-missing-value.idl \
	tests/idl/bad-syntax/array-too-deep.idl \
	tests/idl/bad-syntax/arrow-without-outputs.idl \
	tests/idl/bad-syntax/bad-escape.idl \
	tests/idl/bad-syntax/bad-integer.idl \
	tests/idl/bad-syntax/hex-overflow.idl \
	tests/idl/bad-syntax/import-not-string.idl \
	tests/idl/bad-syntax/integer-overflow.idl \
	tests/idl/bad-syntax/invalid-character.idl \
	tests/idl/bad-syntax/method-without-parens.idl \
	tests/idl/bad-syntax/missing-access.idl \
	tests/idl/bad-syntax/missing-semicolon.idl \
	tests/idl/bad-syntax/module-twice.idl \
	tests/idl/bad-syntax/non-ascii.idl \
	tests/idl/bad-syntax/nul-byte.idl \
	tests/idl/bad-syntax/recover-decls.idl \
	tests/idl/bad-syntax/recover-interface.idl \
	tests/idl/bad-syntax/recover-struct.idl \
	tests/idl/bad-syntax/several-errors.idl \
	tests/idl/bad-syntax/tab-column.idl \
	tests/idl/bad-syntax/unclosed-array.idl \
	tests/idl/bad-syntax/unexpected-eof.idl \
	tests/idl/bad-syntax/unterminated-comment.idl \
	tests/idl/bad-syntax/unterminated-string.idl \
	tests/idl/golden/calc.idl \
	tests/idl/golden/geometry.idl \
	tests/idl/golden/import-base.idl \
	tests/idl/golden/import-left.idl \
	tests/idl/golden/imports.idl \
	tests/idl/golden/sub-import-right.idl \
	tests/idl/golden/syntax.idl \
	tests/idl/golden/types.idl \
	tests/idl/golden/wire-names.idl \
	tests/idl/good/calc.idl \
	tests/idl/good/geometry.idl \
	tests/idl/good/import-base.idl \
	tests/idl/good/import-left.idl \
	tests/idl/good/imports.idl \
	tests/idl/good/sub/import-right.idl \
	tests/idl/good/syntax.idl \
	tests/idl/good/types.idl \
	tests/idl/good/wire-names.idl \
	tests/idl/include/shared.idl
