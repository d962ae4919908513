"""One-off profiling tools (not run by the suite or CI): profile, stacks, decoders."""
