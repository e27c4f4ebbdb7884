"""Checkpoints: all a run needs to go on, in a file that loads without pickle.

A checkpoint is one ``.npz`` file (read with ``allow_pickle=False``): the arrays ``a0, a1,
...`` and ``meta``, the UTF-8 bytes of a JSON object that holds everything else and says
where each array goes. It is written to a temporary file and renamed over the old one, so a
kill leaves either the old checkpoint or the new one, never half of one.

:func:`flatten` turns parameters and a method's state (NamedTuples, lists and tuples of
arrays, numbers, strings and None) into a JSON-able description and a list of host arrays;
:func:`unflatten` builds them back, taking each NamedTuple's class from a template (the
state that ``method.init`` returns), so no class is looked up by a name read from a file.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import backend as B

__all__ = ["Snapshot", "flatten", "unflatten", "save_checkpoint", "load_checkpoint"]

FORMAT = 1


@dataclass
class Snapshot:
    """A checkpoint in memory: ``meta`` (JSON-able) and the host arrays it refers to."""

    meta: dict
    arrays: list


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def flatten(obj: Any, arrays: list, memo: dict | None = None) -> dict:
    """A JSON-able description of ``obj``; its arrays are appended to ``arrays`` (as NumPy).

    The same array object met twice is stored once (``memo`` maps ``id`` to its index).
    """
    memo = {} if memo is None else memo
    if isinstance(obj, np.generic):  # before float: np.float64 is a float, but typed
        arrays.append(np.asarray(obj))
        return {"t": "np", "i": len(arrays) - 1}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"t": "py", "v": obj}
    if _is_namedtuple(obj):
        return {"t": "nt", "f": {k: flatten(getattr(obj, k), arrays, memo) for k in obj._fields}}
    if isinstance(obj, (list, tuple)):
        return {"t": type(obj).__name__, "v": [flatten(v, arrays, memo) for v in obj]}
    if isinstance(obj, dict):
        return {"t": "dict", "v": {str(k): flatten(v, arrays, memo) for k, v in obj.items()}}
    if id(obj) not in memo:
        memo[id(obj)] = len(arrays)
        arrays.append(np.asarray(B.to_numpy(obj)))
    return {"t": "a", "i": memo[id(obj)]}


def unflatten(spec: dict, arrays: list, template: Any, xp: Any, device: Any) -> Any:
    """Inverse of :func:`flatten`: arrays go back to ``xp`` on ``device``; NamedTuples take
    the class of the matching node of ``template`` (ValueError when the shapes differ)."""
    t = spec["t"]
    if t == "py":
        return spec["v"]
    if t == "np":
        return arrays[spec["i"]][()]
    if t == "a":
        return B.asarray(arrays[spec["i"]], xp, device=device)
    if t == "nt":
        if not _is_namedtuple(template) or list(template._fields) != list(spec["f"]):
            raise ValueError(
                f"the checkpoint's state has fields {list(spec['f'])}; the method's state "
                f"is {type(template).__name__}: the checkpoint is of another method"
            )
        return type(template)(
            *(unflatten(spec["f"][k], arrays, getattr(template, k), xp, device) for k in spec["f"])
        )
    if t == "dict":
        sub = template if isinstance(template, dict) else {}
        return {k: unflatten(v, arrays, sub.get(k), xp, device) for k, v in spec["v"].items()}
    sub = template if isinstance(template, (list, tuple)) else []
    items = [
        unflatten(v, arrays, sub[i] if i < len(sub) else None, xp, device)
        for i, v in enumerate(spec["v"])
    ]
    return tuple(items) if t == "tuple" else items


def save_checkpoint(path: str | os.PathLike, snap: Snapshot) -> None:
    """Write ``snap`` to ``path`` atomically (temporary file in the same folder, then rename);
    a write that fails removes its temporary file and raises, leaving the old checkpoint."""
    path = Path(path)
    meta = np.frombuffer(json.dumps({"format": FORMAT, **snap.meta}).encode(), dtype=np.uint8)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            np.savez(f, meta=meta, **{f"a{i}": a for i, a in enumerate(snap.arrays)})
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:  # a full disk, a file-size limit, an interrupt: leave no half file
        tmp.unlink(missing_ok=True)
        raise


def load_checkpoint(path: str | os.PathLike) -> Snapshot | None:
    """The checkpoint at ``path``, or None when there is none.

    Raises ValueError naming the file when it cannot be read as a checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(bytes(z["meta"]).decode("utf-8"))
            arrays = [z[f"a{i}"] for i in range(len(z.files) - 1)]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        raise ValueError(
            f"{path} is not a readable checkpoint ({exc}); delete it to run from the start"
        ) from None
    if meta.pop("format", None) != FORMAT:
        raise ValueError(f"{path} is a checkpoint of another format; delete it to start over")
    return Snapshot(meta=meta, arrays=arrays)
