# examples/: arrive with the examples issue.
