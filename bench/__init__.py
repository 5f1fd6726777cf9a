"""Benchmarks: each prints figures and a floor measured in the same run; none is a test."""
