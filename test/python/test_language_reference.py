"""docs/language.md is generated from python/tile/language.py by
scripts/gen_language_ref.py: it must be what the script makes now, and name every
builtin (one under no section comment of language.py would be left out)."""
import importlib.util
from pathlib import Path

from tile import language

ROOT = Path(__file__).parents[2]


def generator():
    spec = importlib.util.spec_from_file_location("gen_language_ref",
                                                  ROOT / "scripts" / "gen_language_ref.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_language_md_is_current():
    assert (ROOT / "docs" / "language.md").read_text() == generator().render(), (
        "docs/language.md is stale: run python3 scripts/gen_language_ref.py")


def test_every_builtin_has_an_entry():
    text = generator().render()
    names = sorted(name for name, value in vars(language).items()
                   if getattr(value, "__tile_builtin__", None) == name)
    assert len(names) >= 25
    missing = [name for name in names if f"### `tile.{name}(" not in text]
    assert not missing, f"builtins outside a `# -- section --` of language.py: {missing}"
    assert ("### `tile.load(array, offset, shape=None, bound=None, multicast=False, mask=None, "
            "other=0)`") in text


def test_import_tile_exports_every_builtin_and_dtype():
    import tile
    names = [name for name, value in vars(language).items()
             if getattr(value, "__tile_builtin__", None) == name]
    names += list(language.DTYPES) + ["constexpr", "dtype"]
    assert not [n for n in names if getattr(tile, n, None) is not getattr(language, n)]
    assert set(names) <= set(tile.__all__)
