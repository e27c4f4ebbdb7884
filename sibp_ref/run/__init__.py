"""Running experiments: the training loop, its records, checkpoints and grids, the CLI.

=================  ========================================================================
module             what it holds
=================  ========================================================================
``loop``           :func:`train` as small pieces (batches, a step, a measurement, a record);
                   :class:`Loop`, its settings as one value
``inputs``         the checks ``train`` makes once, before any step
``records``        :class:`History`, the JSON-lines log (read strictly, written append-only)
``checkpoint``     a run's state in an ``.npz`` that loads without pickle, written atomically
``lock``           one writing process per run
``files``          a run's log, checkpoint and lock together
``config``         :class:`RunConfig` (a run by plain values) and :func:`run_config`
``grid``           :func:`run_grid`, serial or on any executor; :func:`make_executor`
``env``            versions and backend recorded in every log
``progress``       the one-line progress of a run or a grid
``threads``        BLAS threads per worker
``cli``            the ``sibp-ref`` command
``report``         the comparison figure
=================  ========================================================================
"""

from .checkpoint import Snapshot, load_checkpoint, save_checkpoint
from .config import RunConfig, run_config
from .env import environment
from .grid import make_executor, run_grid
from .lock import RunLocked
from .loop import CannotTrain, DivergedError, Loop, evaluate, train
from .records import History, LogError, RunNote, read_log

__all__ = [
    "CannotTrain",
    "DivergedError",
    "History",
    "LogError",
    "Loop",
    "RunConfig",
    "RunLocked",
    "RunNote",
    "Snapshot",
    "environment",
    "evaluate",
    "load_checkpoint",
    "make_executor",
    "read_log",
    "run_config",
    "run_grid",
    "save_checkpoint",
    "train",
]
