"""The opt-in download, against a local HTTP server only (never the network)."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import importlib
import threading

import pytest

from sibp_ref import data as D
from sibp_ref.data import DataError
from sibp_ref.data import idx as I
from tests.data_files import isolate, write_fake_idx

# the module, not the function `D.fetch` that shares its name
F = importlib.import_module("sibp_ref.data.fetch")


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    return isolate(monkeypatch, tmp_path)


@pytest.fixture
def http_server(tmp_path):
    """A local server on 127.0.0.1 serving tmp_path/www (never the network)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield root, f"http://127.0.0.1:{srv.server_address[1]}/"
    srv.shutdown()
    srv.server_close()


def test_fetch_downloads_verifies_and_writes_atomically(http_server, tmp_path):
    root, url = http_server
    sums = write_fake_idx(root / "good")
    dest = tmp_path / "dest"
    # the first mirror has nothing: the second is used
    D.fetch("mnist", dest, mirrors=[url + "missing/", url + "good/"], checksums=sums)
    assert sorted(p.name for p in dest.iterdir()) == sorted(s + ".gz" for s in sums)
    for stem, sha in sums.items():
        assert (
            hashlib.sha256(gzip.decompress((dest / (stem + ".gz")).read_bytes())).hexdigest() == sha
        )


def test_fetch_rejects_a_corrupt_download_and_leaves_no_file(http_server, tmp_path):
    root, url = http_server
    sums = write_fake_idx(root / "bad")
    sums["train-images-idx3-ubyte"] = "f" * 64
    dest = tmp_path / "dest"
    with pytest.raises(DataError, match="could not download train-images"):
        D.fetch("mnist", dest, mirrors=[url + "bad/"], checksums=sums)
    assert not (dest / "train-images-idx3-ubyte.gz").exists()
    assert not any(p.name.endswith(".part") for p in dest.iterdir())


def test_download_true_fills_the_cache_then_loads(http_server, isolated, monkeypatch):
    root, url = http_server
    sums = write_fake_idx(root / "m", n_train=5)
    monkeypatch.setitem(F.MIRRORS, "mnist", [url + "m/"])
    monkeypatch.setitem(I.KNOWN_SHA256, "mnist", sums)
    ds = D.load_dataset("mnist", download=True)
    assert ds.n_train == 5
    assert (isolated / "cache" / "sibp_ref" / "mnist" / "train-images-idx3-ubyte.gz").is_file()


def test_fetch_refuses_unknown_data_sets():
    with pytest.raises(ValueError, match="downloadable: mnist, fashion-mnist"):
        D.fetch("cifar10")
