"""Benchmarks and evaluation on ../shared data (never needed at run time)."""
