# Interop tests (H9).
