"""One BLAS thread for the SHAP solves, at a cost of microseconds per call.

``threadpoolctl.threadpool_limits`` scans the process's loaded libraries on every call: about
0.5 ms in a bare interpreter and over 20 ms once scikit-learn, numba and their libraries are
loaded, which is most of an online explanation's overhead. The scan is done once here (when
first needed: numpy's and scipy's BLAS, which the solves use, are loaded at import) and the
limit is then applied through the cached controller.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from typing import Any

from threadpoolctl import ThreadpoolController

_lock = threading.Lock()
_controller: ThreadpoolController | None = None


def one_blas_thread() -> AbstractContextManager[Any]:
    """Context manager: BLAS libraries use one thread inside, their former count after."""
    global _controller
    with _lock:
        if _controller is None:
            _controller = ThreadpoolController()
        controller = _controller
    return controller.limit(limits=1, user_api="blas")
