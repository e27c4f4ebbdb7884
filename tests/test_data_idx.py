"""The IDX parser (fuzzed), gzip and raw files alike, and what a checksum mismatch means:
another published file (MNIST's where Fashion-MNIST's was expected) or a corrupt one."""

from __future__ import annotations

import gzip
import hashlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sibp_ref.data import idx as I
from sibp_ref.data import parse_idx, read_idx
from sibp_ref.data.dataset import DataError
from tests.data_files import idx_bytes


@given(
    shape=st.lists(st.integers(0, 5), min_size=1, max_size=3),
    dt=st.sampled_from(["u1", "i1", "i2", "i4", "f4", "f8"]),
    seed=st.integers(0, 99),
)
def test_idx_parser_inverts_the_format_definition(shape, dt, seed):
    a = (np.random.default_rng(seed).normal(size=shape) * 50).astype(dt)
    b = parse_idx(idx_bytes(a))
    assert b.shape == a.shape and b.dtype == a.dtype
    np.testing.assert_array_equal(b, a)


@given(st.binary(max_size=64))
def test_idx_parser_on_random_bytes_returns_or_raises_data_error(data):
    try:
        out = parse_idx(data, "fuzz")
    except DataError as exc:
        assert "fuzz" in str(exc)
    else:  # only a well-formed file parses: its size is exactly what its header says
        assert 4 + 4 * data[3] + out.nbytes == len(data)


@given(cut=st.integers(0, 4 + 12 + 2 * 3 * 3 - 1))
def test_idx_parser_rejects_every_truncation(cut):
    good = idx_bytes(np.arange(18, dtype=np.uint8).reshape(2, 3, 3))
    with pytest.raises(DataError, match="f.idx"):
        parse_idx(good[:cut], "f.idx")


def test_idx_parser_names_the_problem():
    good = idx_bytes(np.zeros((2, 3), np.uint8))
    with pytest.raises(DataError, match="magic"):
        parse_idx(b"\x01" + good[1:])
    with pytest.raises(DataError, match="type code 0x07"):
        parse_idx(good[:2] + b"\x07" + good[3:])
    with pytest.raises(DataError, match="trailing"):
        parse_idx(good + b"\x00")
    with pytest.raises(DataError, match="truncated"):
        parse_idx(good[:-1])


def test_read_idx_reads_gzip_and_raw_alike_and_checks_sha256(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    raw = idx_bytes(a)
    (tmp_path / "a").write_bytes(raw)
    (tmp_path / "a.gz").write_bytes(gzip.compress(raw))
    sha = hashlib.sha256(raw).hexdigest()
    np.testing.assert_array_equal(read_idx(tmp_path / "a", sha256=sha), a)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.gz", sha256=sha), a)
    with pytest.raises(DataError, match=r"a\.gz: SHA-256 .* expected 0+"):
        read_idx(tmp_path / "a.gz", sha256="0" * 64)
    (tmp_path / "b.gz").write_bytes(gzip.compress(raw)[:-8])
    with pytest.raises(DataError, match=r"b\.gz: corrupt gzip"):
        read_idx(tmp_path / "b.gz")


# ------------------------------------------------------------------ which file is it
@pytest.fixture
def published(monkeypatch):
    """Two small generated 'published' data sets standing in for MNIST and Fashion-MNIST."""
    files = {}
    for name, seed in (("mnist", 1), ("fashion-mnist", 2)):
        a = np.random.default_rng(seed).integers(0, 256, (3, 28, 28), dtype=np.uint8)
        files[name] = idx_bytes(a)
        sums = dict(I.KNOWN_SHA256[name], **{"train-images-idx3-ubyte": _sha(files[name])})
        monkeypatch.setitem(I.KNOWN_SHA256, name, sums)
    return files


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def test_a_file_of_another_published_data_set_is_named_not_called_corrupt(published, tmp_path):
    p = tmp_path / "train-images-idx3-ubyte"
    p.write_bytes(published["mnist"])
    want = I.KNOWN_SHA256["fashion-mnist"]["train-images-idx3-ubyte"]
    with pytest.raises(DataError) as info:
        read_idx(p, sha256=want, dataset="fashion-mnist")
    msg = str(info.value)
    assert msg.startswith(f"{p}: these are the MNIST files, not Fashion-MNIST's")
    assert "matches MNIST's train-images-idx3-ubyte" in msg
    assert "point --data-dir (data_dir=...) at the Fashion-MNIST folder" in msg
    assert "corrupt" not in msg and "fetch it again" not in msg


def test_a_file_under_another_files_name_is_named(published, tmp_path):
    p = tmp_path / "t10k-images-idx3-ubyte"
    p.write_bytes(published["fashion-mnist"])
    want = I.KNOWN_SHA256["fashion-mnist"]["t10k-images-idx3-ubyte"]
    with pytest.raises(DataError, match="Fashion-MNIST's train-images-idx3-ubyte under another"):
        read_idx(p, sha256=want, dataset="fashion-mnist")


def test_bytes_that_match_no_published_file_are_corrupt(published, tmp_path):
    p = tmp_path / "train-images-idx3-ubyte"
    p.write_bytes(published["mnist"][:-1] + b"\x01")  # one byte changed
    want = I.KNOWN_SHA256["fashion-mnist"]["train-images-idx3-ubyte"]
    with pytest.raises(DataError) as info:
        read_idx(p, sha256=want, dataset="fashion-mnist")
    msg = str(info.value)
    assert f"SHA-256 of the uncompressed bytes is {_sha(p.read_bytes())}" in msg
    assert "corrupt or not the published one (delete it and fetch it again)" in msg
    assert "these are the" not in msg
