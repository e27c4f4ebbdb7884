"""Copy the peer-code fixtures into this folder without the keys the tests do not need.

Usage: ``python tests/data/peer_codes/shrink.py SOURCE_FOLDER`` (the folder of the 26
``.npz`` files as they were recorded, README.md here). Every key is kept, bit for bit,
except three per ProxProp layer ``K``, each dropped only after checking that it adds
nothing:

- ``layer{K}_X0`` (the prox centre and CG start): equal, bit for bit and in every case,
  to ``[W{K}ᵀ; b{K}ᵀ]`` of the start parameters, which the tests rebuild it from;
- ``layer{K}_M`` and ``layer{K}_B`` (the system matrix and right-hand side the peer's solve
  was given): equal to ``ĀᵀĀ + I/τ`` and ``Āᵀz̃ + X0/τ`` recomputed from the stored
  ``Abar``, ``Ztilde``, ``X0`` and ``tau`` to rounding (checked to 1e-14 relative).

The files are written compressed (``np.savez_compressed``; the three cases of ``Abar`` and
``Ztilde`` repeat one another): 2.63 MB recorded, 1.20 MB here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DROPPED = ("_X0", "_M", "_B")


def _check_dropped(z: dict, name: str) -> None:
    """The dropped keys are what the kept ones say they are (module docstring)."""
    for K in range(1, int(z.get("n_prox_layers", 0)) + 1):
        X0 = np.concatenate([z[f"W{K}"].T, z[f"b{K}"].T])
        for c in range(z[f"layer{K}_X0"].shape[0]):
            assert np.array_equal(z[f"layer{K}_X0"][c], X0), (name, K, c, "X0")
            A, Zt, tau = z[f"layer{K}_Abar"][c], z[f"layer{K}_Ztilde"][c], z[f"layer{K}_tau"][c]
            M = A.T @ A + np.eye(A.shape[1]) / tau
            Bm = A.T @ Zt + X0 / tau
            for key, want in (("M", M), ("B", Bm)):
                got = z[f"layer{K}_{key}"][c]
                err = np.abs(got - want).max() / np.abs(want).max()
                assert err < 1e-14, (name, K, c, key, err)


def shrink(source: Path) -> None:
    files = sorted(source.glob("*.npz"))
    if not files:
        raise SystemExit(f"no .npz files in {source}")
    for path in files:
        z = dict(np.load(path, allow_pickle=False))
        _check_dropped(z, path.name)
        kept = {k: v for k, v in z.items() if not (k.startswith("layer") and k.endswith(DROPPED))}
        np.savez_compressed(HERE / path.name, **kept)
        print(f"{path.name}: {len(z) - len(kept)} keys dropped")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python tests/data/peer_codes/shrink.py SOURCE_FOLDER")
    shrink(Path(sys.argv[1]))
