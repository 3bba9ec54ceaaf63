"""Fuzzers of tile-opt (fuzz_tile_opt.py) and of the frontend (fuzz_frontend.py):
a few hundred seeded cases, no crash, no hang, no Python exception other than
tile.CompilationError. The summary (counts per class) is printed; a failure
lists each class with a reproducer file and the command or call.

More cases or another seed, by hand:
    TILE_FUZZ_SEED=7 TILE_FUZZ_OPT_CASES=3000 TILE_FUZZ_FRONTEND_CASES=1000 \
        python -m pytest -s test/python/test_fuzz.py
or each fuzzer's own command line (see their docstrings).
"""
import os

import pytest

import fuzz_frontend
import fuzz_tile_opt

SEED = int(os.environ.get("TILE_FUZZ_SEED", "0"))
WORKERS = int(os.environ.get("TILE_FUZZ_WORKERS", "2"))


def test_tile_opt_survives_mutated_lit_inputs(tmp_path):
    try:
        fuzz_tile_opt.find_tile_opt()
    except FileNotFoundError as e:
        pytest.skip(str(e))
    report = fuzz_tile_opt.fuzz(int(os.environ.get("TILE_FUZZ_OPT_CASES", "200")), SEED,
                                WORKERS, workdir=str(tmp_path))
    summary = report.summary(f"tile-opt fuzzer (seed {SEED})")
    print(summary)
    if report.bad():
        pytest.fail(summary, pytrace=False)


def test_frontend_survives_mutated_kernels(tmp_path):
    report = fuzz_frontend.fuzz(int(os.environ.get("TILE_FUZZ_FRONTEND_CASES", "150")), SEED,
                                WORKERS, workdir=str(tmp_path))
    summary = report.summary(f"frontend fuzzer (seed {SEED})")
    print(summary)
    if report.bad():
        pytest.fail(summary, pytrace=False)
