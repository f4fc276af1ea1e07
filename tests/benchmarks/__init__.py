"""Benchmarks: `python -m tests.benchmarks` (or `./dev bench`), never collected by pytest.

Every figure is printed next to a baseline measured in the same run on the same machine, so a
noisy, shared machine changes both sides and the ratio stays meaningful. Nothing asserts on time.
"""
