# busrpc-idlc. No per-target flags here: they would make automake rename the
# bison/flex outputs, and the lexer.o: parser.h rule below names the object.
bin_PROGRAMS += busrpc-idlc
busrpc_idlc_SOURCES = \
	idlc/main.c \
	idlc/ast.h idlc/ast.c \
	idlc/diag.h idlc/diag.c \
	idlc/types.h idlc/types.c \
	idlc/parse.h idlc/parser.y idlc/lexer.l idlc/load.c \
	idlc/check.h idlc/check.c \
	idlc/check-internal.h idlc/check-types.c idlc/check-names.c common/names.c common/names.h \
	idlc/xml-import.h idlc/xml-import.c idlc/xml-sig.h idlc/xml-sig.c \
	idlc/gen.h idlc/gen.c idlc/gen-c.h idlc/gen-c.c \
	idlc/gen-c-marshal.c idlc/gen-c-sig.c idlc/gen-c-xml.c idlc/gen-c-typed.c \
	idlc/gen-header.c idlc/gen-client.c idlc/gen-server.c \
	idlc/gen-xml.c idlc/gen-idl.c \
	idlc/check-deploy.c idlc/gen-deploy.c idlc/gen-docs.c \
	idlc/compat.h idlc/compat-internal.h idlc/compat.c idlc/compat-types.c
busrpc_idlc_LDADD = $(EXPAT_LIBS)
# The scanner includes the parser's header: parallel builds need this edge.
idlc/lexer.$(OBJEXT): idlc/parser.h
