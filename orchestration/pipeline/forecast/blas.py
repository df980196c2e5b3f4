"""One BLAS thread while the forecast phase fits its models (`one_blas_thread`).

numpy and scipy each bundle an OpenBLAS that starts a thread per core and, after each call, keeps
those threads spinning for more work. The phase's linear algebra is hundreds of small problems (ETS
and Theta fits of a few hundred days, OLS of a few dozen weeks): a second thread has nothing to
share, and its spinning takes a core from the phase itself and from whatever else the night runs.
On the 1M-line bench home, a 2-core machine, one thread halved the phase's CPU time. The results
do not change: OpenBLAS splits a product across threads by rows and columns, never along the sums.

Done the way threadpoolctl does it (not a dependency of the project): the OpenBLAS libraries
already loaded in the process are found in /proc/self/maps and set through their own
`*_set_num_threads`; the previous counts are put back on the way out. Where that is not possible
(not Linux, another BLAS), it does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
from collections.abc import Iterator
from pathlib import Path

import numpy.linalg  # noqa: F401 — both bundled OpenBLAS loaded before they are looked for
import scipy.linalg  # noqa: F401

# (get, set) pairs: plain OpenBLAS, scipy-openblas (scipy) and its 64-bit-integer build (numpy)
_SYMBOLS = (
    ("openblas_get_num_threads", "openblas_set_num_threads"),
    ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
    ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
    ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
)


def _loaded_openblas() -> list[str]:
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return []
    paths = set()
    for line in maps.splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and "openblas" in os.path.basename(fields[5]).lower():
            paths.add(fields[5].strip())
    return sorted(paths)


def _controls() -> list[tuple[ctypes._CFuncPtr, ctypes._CFuncPtr]]:
    controls = []
    for path in _loaded_openblas():
        try:  # RTLD_NOLOAD: the library already in the process, never a second copy
            library = ctypes.CDLL(path, mode=os.RTLD_NOLOAD | os.RTLD_NOW)
        except (OSError, AttributeError):
            continue
        for get_name, set_name in _SYMBOLS:
            getter, setter = getattr(library, get_name, None), getattr(library, set_name, None)
            if getter is not None and setter is not None:
                getter.restype, getter.argtypes = ctypes.c_int, []
                setter.restype, setter.argtypes = None, [ctypes.c_int]
                controls.append((getter, setter))
                break
    return controls


@contextlib.contextmanager
def one_blas_thread() -> Iterator[int]:
    """Every loaded OpenBLAS on one thread inside the block, as before after it. Yields how many
    libraries it set (0: nothing found, nothing changed)."""
    saved = []
    try:
        for getter, setter in _controls():
            count = getter()
            setter(1)
            saved.append((setter, count))
    except Exception:  # noqa: BLE001 — a speed-up only: without it the phase runs as before
        pass
    try:
        yield len(saved)
    finally:
        for setter, count in reversed(saved):
            setter(count)
