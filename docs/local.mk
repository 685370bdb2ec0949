dist_doc_DATA += README.md
dist_man_MANS += docs/man/busrpc-idlc.1
dist_doc_DATA += docs/idl.md docs/generated-api.md
dist_doc_DATA += docs/tutorial.md docs/runtime.md docs/idl-checks.md docs/idl-xml.md
dist_doc_DATA += docs/reliability.md
dist_man_MANS += docs/man/busrpc.7
