# Semantic checks: the bad IDL files.
