# busrpc-idlc. No per-target flags here: they would make automake rename the
# bison/flex outputs, and the lexer.o: parser.h rule below names the object.
bin_PROGRAMS += busrpc-idlc
busrpc_idlc_SOURCES = \
	idlc/main.c
busrpc_idlc_LDADD = $(EXPAT_LIBS)
