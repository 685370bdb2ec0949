# bench/: benchmark programs, built on demand (make bench).
