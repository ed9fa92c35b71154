"""Benchmark modes of tools/benchmark.py (one module per mode)."""
