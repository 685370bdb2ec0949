# tools/: busrpc-bus arrives with the runtime issue.
