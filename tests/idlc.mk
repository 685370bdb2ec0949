# Tests of busrpc-idlc.
