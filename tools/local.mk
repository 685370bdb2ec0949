# busrpc-bus (H7).
