"""Benchmarks run against the local stack (moto server on loopback): `python -m bench.<name>`."""
