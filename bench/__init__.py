"""The bench (bench/run.py), importable so tests can check its pure parts."""
