# Two commands for a fresh machine (see README): `make demo` and `make test`.
PY ?= python3
# lit from the same Python (pyenv shims may not list freshly installed scripts).
LIT = $(PY) -c 'import lit.main; lit.main.main()'

.PHONY: setup demo test lit pytest wheel device-stage
setup:
	$(PY) -m pip install -q -r requirements-build.txt
	$(PY) -m pip install -q --no-build-isolation -e '.[test]'

demo: setup
	$(PY) examples/vector_add.py

test: setup
	$(LIT) -sv test
	$(PY) -m pytest -q test/python

# The binary wheel in dist/: one cp311-abi3 wheel for CPython 3.11 on, retagged by
# auditwheel with the manylinux policy its binaries meet (it fails if they need a library
# outside that policy); the MLIR libraries they link come from the MLIR wheels it requires.
wheel: setup
	rm -rf build/wheel
	$(PY) -m pip wheel . --no-build-isolation --no-deps -w build/wheel
	$(PY) -m auditwheel repair --patcher none --exclude libMLIR.so \
	  --exclude libMLIRPythonCAPI.so --exclude libLLVM.so -w dist build/wheel/tile-*.whl

# Copies the built C API library, the tile dialect's generated Python op
# bindings installed beside it (_tile_ops_gen.py, target TilePythonOps) and the
# C launch extension (the newest build/*/launch/_launch.abi3.so: `pip install -e .`
# or `ninja tile_launch`) into python/tile/_lib (git-ignored), so the device
# machine can use the source tree: carry [".mlir-bundle", "python/tile/_lib"].
device-stage:
	mkdir -p python/tile/_lib
	@lib=$$($(PY) -c 'import tile.compiler.mlir_context as m; print(m.find_library())'); \
	ops=$$(dirname "$$lib")/_tile_ops_gen.py; \
	if [ ! -f "$$ops" ]; then echo "device-stage: no $$ops; build the TilePythonOps" \
	  "target and install it beside $$lib" >&2; exit 1; fi; \
	if [ "$$(dirname "$$lib")" != "$$(cd python/tile/_lib && pwd)" ]; then \
	  cp "$$lib" "$$ops" python/tile/_lib/; fi
	@ext=$$(ls -t build/*/launch/_launch.abi3.so 2>/dev/null | head -n 1); \
	if [ -z "$$ext" ]; then echo "device-stage: no build/*/launch/_launch.abi3.so; build the" \
	  "tile_launch target (or launches take the slower Python path)" >&2; exit 1; fi; \
	cp "$$ext" python/tile/_lib/ && echo "device-stage: $$ext"
