"""CPU thread set-up shared by every entry point (tracking, evaluation, training).

Why this exists: on a machine with few cores, torch's default of one OpenMP thread per core with *active*
(busy-waiting) idle threads makes PyTorch 10-40x slower than one thread with passive waiting, because the
spinning threads take the cores from the DataLoader workers, OpenCV and the other process. OpenMP reads
``OMP_WAIT_POLICY`` once, when the runtime starts (the first ``import torch``), so :func:`prepare_environment`
must run before torch is imported; :func:`configure_torch_threads` then sets the intra-op count.

The measured choice (docs/runtime.md): passive waiting always; for training
``threads = max(1, cores - loader_workers)``; for tracking (one batch-1 stream, small networks)
:func:`inference_threads`: 1 thread on machines with up to 2 cores (a second thread made both onnxruntime and
torch slower there), half the cores, at most 4, on larger ones, unless the user gives a count.
"""

from __future__ import annotations

import os
import sys

__all__ = ["cpu_count", "default_threads", "inference_threads", "prepare_environment", "configure_torch_threads",
           "import_onnxruntime"]


def cpu_count() -> int:
    """Cores this process may run on (the affinity mask where the OS has one, not the machine's total)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS / Windows
        return max(1, os.cpu_count() or 1)


def default_threads(loader_workers: int = 0) -> int:
    """Intra-op threads for one process that shares the cores with ``loader_workers`` data-loading processes."""
    return max(1, cpu_count() - max(0, int(loader_workers)))


def inference_threads() -> int:
    """Intra-op threads for tracking one video (onnxruntime and torch alike), see docs/runtime.md.

    Measured on 2 cores (benchmarks/threads.py): 1 thread beats 2 for both back ends, so machines with up to
    2 cores get 1. Larger machines get half their cores, at most 4: a batch-1 NanoTrack step is a few
    milliseconds of small convolutions, which stop scaling after a few threads (not measured here; run
    benchmarks/threads.py on such a machine to check).
    """
    cores = cpu_count()
    return 1 if cores <= 2 else min(4, cores // 2)


def prepare_environment(threads: int | None = None) -> None:
    """Set OpenMP/MKL to passive waiting (and a thread count, if given) before torch or onnxruntime start.

    Values the user already exported win. After torch has been imported this can no longer change the wait
    policy, so it says so on stderr once instead of silently doing nothing.
    """
    if "torch" in sys.modules and "OMP_WAIT_POLICY" not in os.environ:
        print("dastsiam: note: torch was imported before dastsiam.runtime.prepare_environment(); "
              "set OMP_WAIT_POLICY=PASSIVE yourself for full CPU speed", file=sys.stderr)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("KMP_BLOCKTIME", "0")  # Intel OpenMP's spin time before sleeping
    if threads is not None and threads > 0:
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
        os.environ.setdefault("MKL_NUM_THREADS", str(threads))


def configure_torch_threads(threads: int | None = None, loader_workers: int = 0) -> int:
    """Set torch's intra-op threads (``None``/0 = :func:`default_threads`) and return the count used."""
    import torch

    count = int(threads) if threads else default_threads(loader_workers)
    torch.set_num_threads(count)
    return count


def import_onnxruntime():
    """``onnxruntime``, imported with its telemetry off (every dastsiam module imports it through here).

    onnxruntime 1.32 records telemetry (a device id, the Python path, the OS and CPU) in a database under the
    user's cache folder (``~/.cache/Microsoft/DeveloperTools/.onnxruntime/``); the first record is written
    while the module is *imported*, so its ``disable_telemetry_events()`` call alone comes too late. It reads
    ``ORT_DISABLE_TELEMETRY`` at import, so that is set for the import and then removed again (child processes
    keep the user's environment), and ``disable_telemetry_events()`` turns off the events of later sessions.
    A user who exported ``ORT_DISABLE_TELEMETRY=0`` keeps onnxruntime's telemetry; if onnxruntime was imported
    before dastsiam, its import record is already written and only the later events are turned off.
    """
    wanted = os.environ.get("ORT_DISABLE_TELEMETRY")
    if "onnxruntime" not in sys.modules and wanted is None:
        os.environ["ORT_DISABLE_TELEMETRY"] = "1"
        try:
            import onnxruntime
        finally:
            os.environ.pop("ORT_DISABLE_TELEMETRY", None)
    import onnxruntime

    if wanted != "0" and hasattr(onnxruntime, "disable_telemetry_events"):
        onnxruntime.disable_telemetry_events()
    return onnxruntime
