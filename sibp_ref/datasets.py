"""Old path of :mod:`sibp_ref.data`, kept as a re-export while other modules move over."""

from .data import (  # noqa: F401
    DATASETS,
    DataError,
    Dataset,
    cache_dir,
    fetch,
    from_numpy,
    load_cifar10,
    load_dataset,
    load_mnist,
    load_mnist_arrays,
    make_synthetic,
    parse_idx,
    read_idx,
    search_dirs,
)
from .data.cifar import CIFAR_RECORD, CIFAR_TEST, CIFAR_TRAIN  # noqa: F401
from .data.fetch import MIRRORS  # noqa: F401
from .data.idx import KNOWN_SHA256  # noqa: F401
from .data.mnist import IDX_FILES  # noqa: F401
from .data.mnist import locate_idx as _locate_idx  # noqa: F401
from .data.paths import CIFAR_DIRNAME, DEBIAN_FASHION, ENV_VAR  # noqa: F401
