"""One-off measurements behind the suite's choices (README.md here: what each measured
and concluded). Run one from the repository root: `python -m benchmarks.experiments.NAME`."""
