"""Synthetic data with planted ground truth, for demos, tests and benchmarks."""
