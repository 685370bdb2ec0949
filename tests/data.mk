# Tests of the runtime data layer (H5).
