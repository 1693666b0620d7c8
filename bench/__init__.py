"""Benchmarks: each prints its figures; none is part of `make test`."""
