# Tests of libbusrpc.
