"""Benchmark scripts (not tests): each prints its figures and appends them to ``bench/RESULTS.md``."""
