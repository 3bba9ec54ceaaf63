"""The on-disk kernel cache.

An entry is one file named by the SHA-256 of (kernel source, specialization,
compile options including the target, compiler fingerprint). It is written to
a temporary file in the same directory and renamed into place, so a reader
never sees half of it; it starts with a magic line holding the SHA-256 of the
rest, so a truncated or corrupt entry is detected, reported, deleted and
rebuilt, never loaded. So is an entry whose payload has a valid checksum but not
the entry's schema (every field a launch reads is checked when it is loaded).
Temporary files that writers killed before their rename left behind are deleted
by later writes once they are STALE_TEMPORARY_SECONDS old.

    TILE_CACHE_DIR   where entries go (default: $XDG_CACHE_HOME/tile, ~/.cache/tile)
    TILE_CACHE=0     turns the disk cache off (compiles every time a process starts)
With TILE_DUMP_DIR set the disk cache is off too: every stage must be built to be dumped.
"""
from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
import tempfile
import time
import warnings
from functools import lru_cache
from pathlib import Path

from .metadata import Fields, MetadataError, check_launch_metadata, kind_of

MAGIC = b"tile-cache-v1 "
_ENTRY_FORMAT = 1
_TEMPORARY = ".tmp"  # write_checksummed's temporary files: ".<name>-<random>.tmp"
# A temporary file this old belongs to a writer that was killed (writing takes
# milliseconds); write_checksummed deletes such files in the directory it writes to.
STALE_TEMPORARY_SECONDS = 600


def cache_dir() -> Path | None:
    """The disk cache directory, or None when the disk cache is off."""
    if os.environ.get("TILE_CACHE", "1").strip().lower() in ("0", "off", "false", "no"):
        return None
    if os.environ.get("TILE_DUMP_DIR"):
        return None
    if env := os.environ.get("TILE_CACHE_DIR"):
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tile"


@lru_cache(maxsize=1)
def compiler_fingerprint() -> str:
    """Changes whenever the compiler could produce different code: tile's
    version, the compiler's Python sources, the C++ pass library and ptxas."""
    import tile
    from ..compiler import find_ptxas
    digest = hashlib.sha256(tile.__version__.encode())
    root = Path(tile.__file__).parent
    sources = sorted([*root.glob("compiler/*.py"), *root.glob("frontend/*.py"),
                      root / "signature.py", root / "language.py"])
    for path in sources:
        digest.update(path.name.encode() + path.read_bytes())
    for binary in (_library_path(), find_ptxas()):
        if binary and os.path.exists(binary):
            stat = os.stat(binary)
            digest.update(f"{os.path.realpath(binary)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def _library_path() -> str | None:
    try:
        from ..compiler.mlir_context import find_library
        return str(find_library())
    except FileNotFoundError:
        return None


def entry_key(source: str, specialization, options, fingerprint: str | None = None) -> str:
    """The entry name: `specialization` and `options` by repr (both are
    deterministic tuples/dataclasses; constexprs enter by repr)."""
    text = repr((source, specialization, options, fingerprint or compiler_fingerprint(),
                 os.environ.get("TILE_PIPELINE_OPTIONS", "")))  # see compiler/driver.py
    return hashlib.sha256(text.encode()).hexdigest()


def kernel_to_json(kernel) -> dict:
    """A CompiledKernel as JSON-able data (bytes stages in base64)."""
    asm = {stage: ({"base64": base64.b64encode(text).decode()} if isinstance(text, bytes)
                   else text) for stage, text in kernel.asm.items()}
    return {"name": kernel.name, "asm": asm, "metadata": kernel.metadata}


def kernel_from_json(data, fields: Fields):
    """The CompiledKernel of `kernel_to_json`'s data, its schema checked first
    (MetadataError naming the field): a bad entry must fail here, not at a launch."""
    from ..compiler import CompiledKernel
    data = fields.obj(data, "kernel")
    name = fields.string(data, "name", "kernel")
    asm = {stage: _stage_text(fields, text, f"kernel.asm.{stage}")
           for stage, text in fields.obj(fields.get(data, "asm", "kernel"), "kernel.asm").items()}
    if not isinstance(asm.get("ptx"), str):
        fields.fail("kernel.asm.ptx", "is missing or not text")
    if "cubin" in asm and not isinstance(asm["cubin"], bytes):
        fields.fail("kernel.asm.cubin", "is text, expected bytes as {\"base64\": ...}")
    metadata = fields.obj(fields.get(data, "metadata", "kernel"), "kernel.metadata")
    check_launch_metadata(fields, metadata, "kernel.metadata")
    return CompiledKernel(name, asm, metadata)


def _stage_text(fields: Fields, value, field: str) -> str | bytes:
    """One stage of `kernel_to_json`: text, or bytes as {"base64": ...}."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict) or not isinstance(value.get("base64"), str):
        fields.fail(field, f"is {kind_of(value)}, expected text or {{\"base64\": ...}}")
    try:
        return base64.b64decode(value["base64"], validate=True)
    except binascii.Error as e:
        return fields.fail(field, f"is not valid base64 ({e})")


def write_checksummed(path: Path, magic: bytes, payload: bytes) -> None:
    """Writes `magic`, the payload's sha256, a newline and the payload, atomically
    (a temporary file renamed over `path`). Raises OSError."""
    blob = magic + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem[:16]}-", suffix=_TEMPORARY, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def remove_stale_temporaries(directory: Path) -> None:
    """Deletes the temporary files of writers that were killed before their rename.
    A live writer's file is seconds old at most, so only files untouched for
    STALE_TEMPORARY_SECONDS go; each name is unique (mkstemp), so nothing new can
    take a deleted file's place."""
    cutoff = time.time() - STALE_TEMPORARY_SECONDS
    try:
        candidates = list(os.scandir(directory))
    except OSError:
        return
    for entry in candidates:
        if not (entry.name.startswith(".") and entry.name.endswith(_TEMPORARY)):
            continue
        with contextlib.suppress(OSError):  # gone already: another process swept it
            if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                os.unlink(entry.path)


def checksummed_payload(blob: bytes, magic: bytes) -> bytes:
    """The payload of what write_checksummed wrote; CorruptEntry when the header
    or the checksum does not match (a truncated or modified file)."""
    header, newline, payload = blob.partition(b"\n")
    if not header.startswith(magic) or not newline:
        raise CorruptEntry("bad header")
    if header[len(magic):].decode("ascii", "replace") != hashlib.sha256(payload).hexdigest():
        raise CorruptEntry("checksum mismatch (truncated or modified)")
    return payload


def checksummed_json(blob: bytes, magic: bytes):
    """The JSON document of what write_checksummed wrote; CorruptEntry also when a
    payload with a valid checksum is not JSON (a writer that wrote garbage)."""
    try:
        return json.loads(checksummed_payload(blob, magic))
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError
        raise CorruptEntry(f"not JSON ({e})") from None


class CorruptEntry(Exception):
    pass


class DiskCache:
    _swept: set[Path] = set()  # directories whose every subdirectory this process swept

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def load(self, key: str):
        """The cached CompiledKernel, or None (a missing or corrupt entry)."""
        path = self.path(key)
        try:
            blob = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as e:
            warnings.warn(f"tile cache: cannot read {path} ({e}); compiling", RuntimeWarning)
            return None
        try:
            return self._kernel(blob, key, path)
        except CorruptEntry as e:
            warnings.warn(f"tile cache: corrupt entry {path} ({e}); rebuilding it",
                          RuntimeWarning, stacklevel=2)
            with contextlib.suppress(OSError):
                path.unlink()
            return None

    @staticmethod
    def _kernel(blob: bytes, key: str, path: Path):
        """The entry's CompiledKernel; CorruptEntry saying what is wrong with it."""
        data = checksummed_json(blob, MAGIC)
        fields = Fields(path)
        try:
            fields.obj(data, "")
            if data.get("format") != _ENTRY_FORMAT or data.get("key") != key:
                raise CorruptEntry("entry is for another key or format")
            return kernel_from_json(fields.get(data, "kernel"), fields)
        except MetadataError as e:
            raise CorruptEntry(e.detail) from None

    def store(self, key: str, kernel) -> Path | None:
        """Writes an entry atomically; a cache that cannot be written is skipped
        with a warning (compiling still works)."""
        path = self.path(key)
        payload = json.dumps({"format": _ENTRY_FORMAT, "key": key,
                              "kernel": kernel_to_json(kernel)}).encode()
        if self.directory not in DiskCache._swept:  # the other subdirectories, once
            DiskCache._swept.add(self.directory)
            with contextlib.suppress(OSError):
                for sub in os.scandir(self.directory):
                    if sub.is_dir(follow_symlinks=False):
                        remove_stale_temporaries(Path(sub.path))
        try:
            write_checksummed(path, MAGIC, payload)
        except OSError as e:
            warnings.warn(f"tile cache: cannot write {path} ({e})", RuntimeWarning)
            return None
        return path


def disk_cache() -> DiskCache | None:
    directory = cache_dir()
    return None if directory is None else DiskCache(directory)
