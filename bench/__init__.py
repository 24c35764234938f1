"""Benchmarks: never imported by the app, never run by ``make test`` (see bench/README.md)."""
