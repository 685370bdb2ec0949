dist_doc_DATA += README.md
dist_man_MANS += docs/man/busrpc-idlc.1
EXTRA_DIST += docs/idl.md
