# Sourced by the suite scripts: the repository's root as the working directory,
# the MLIR Python bindings (unpacked from the bundle where none are installed)
# and tile's sources on PYTHONPATH.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! python3 -c "import mlir.ir" 2>/dev/null; then
  mkdir -p /tmp/site && tar xJf .mlir-bundle/mlir-py312.tar.xz -C /tmp/site
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD/python:${PYTHONPATH:-} PYTHONUNBUFFERED=1
