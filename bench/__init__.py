"""The tokenyard benchmark suite (run with `python bench/run.py`)."""
