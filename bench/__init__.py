"""Benchmarks (`make bench`): always a ratio against a raw baseline measured in the same run."""
