"""The old module path ``sibp_ref.datasets`` re-exports the same objects as
:mod:`sibp_ref.data` (the data tests live in ``test_data_*.py``, one per module)."""

from __future__ import annotations

import importlib

from sibp_ref import data, datasets
from sibp_ref.data import idx, mnist, paths
from tests.data_files import idx_bytes, write_fake_idx  # noqa: F401  (tests/test_cli.py)


def test_the_old_module_path_re_exports_the_same_objects():
    for name in data.__all__:
        if name not in ("available", "canonical_name", "locate"):
            assert getattr(datasets, name) is getattr(data, name), name
    assert datasets.KNOWN_SHA256 is idx.KNOWN_SHA256
    # the module, not the function `data.fetch` that shares its name
    fetch = importlib.import_module("sibp_ref.data.fetch")
    assert datasets.MIRRORS is fetch.MIRRORS
    assert datasets.IDX_FILES is mnist.IDX_FILES
    assert datasets._locate_idx is mnist.locate_idx
    assert datasets.DEBIAN_FASHION == paths.DEBIAN_FASHION
