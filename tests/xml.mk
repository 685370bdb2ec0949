# XML front end, XML output and the fuzzer.
