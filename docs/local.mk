dist_doc_DATA += README.md
dist_man_MANS += docs/man/busrpc-idlc.1
dist_doc_DATA += docs/idl.md docs/generated-api.md
