"""tile's benchmarks: `python3 benchmarks/run.py` (or `python -m benchmarks.run`) runs
every case side by side with its reference and prints the table; rows.py times them;
examples.py loads the kernels of examples/; experiments/ holds one-off measurements."""
