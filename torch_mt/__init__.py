"""torch_mt: parallel CPU operators for PyTorch.

Each operator is a C++ kernel that fans out over torch_mt's own thread pool
and is registered with the PyTorch dispatcher as ``torch.ops.mt.<name>``, so
it runs the same in eager mode, TorchScript and ``torch.compile``. The
functions here are typed, documented wrappers around those operators.
"""

import torch  # the dispatcher must exist before our library registers with it

try:
    from . import _C  # noqa: F401  (loading it runs the TORCH_LIBRARY registrations)
except ImportError as error:  # pragma: no cover - depends on the install
    raise ImportError(
        "torch_mt: the compiled extension torch_mt._C could not be loaded "
        f"({error}). Build it against the installed torch {torch.__version__} with "
        "`make install` (pip install --no-build-isolation -e .) from the source tree."
    ) from error

from ._runtime import get_num_threads, num_threads, set_num_threads

# Decide the thread count now, so a bad TORCH_MT_NUM_THREADS fails at import
# with its message, not later (or never, for inputs too small to fan out).
get_num_threads()

from .alignment import dtw, dtw_path, soft_dtw
from .assignment import linear_sum_assignment
from .decoding import viterbi_decode
from .detection import batched_nms, nms, nms_padded
from .sequences import edit_distance, edit_distance_pairwise, pad_sequences

__all__ = [
    "batched_nms",
    "dtw",
    "dtw_path",
    "soft_dtw",
    "linear_sum_assignment",
    "nms",
    "nms_padded",
    "edit_distance",
    "edit_distance_pairwise",
    "get_num_threads",
    "num_threads",
    "pad_sequences",
    "set_num_threads",
    "viterbi_decode",
]
__version__ = "0.1.0"
