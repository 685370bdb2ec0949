# Generated C code: golden files and round trips.
