# Tests of the runtime core (H4).
