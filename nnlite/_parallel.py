"""Threads for a layer's own work: its batch cut into shards of whole samples, run at once.

BLAS spreads a product over every core, but NumPy's element-wise work (im2col's copies,
pooling, col2im's adds) runs on one core and takes most of a CNN's step. NumPy releases
the GIL during that work, so shards of the batch can run it on several threads; BLAS is
then asked for one thread, or its workers would spin on the other cores between products
and take the time from our threads (measured: two shards of a 1.4M-element maximum ran
in 0.36 ms against 0.70 ms on one thread with BLAS single-threaded, and in 0.74 ms, no
gain, right after a two-thread BLAS product).

A model enters ``split_batches()`` around a pass when its layers ask for it
(``Layer.threading``); outside it, ``shards`` returns the whole batch as
one shard, so a layer called on its own, or checked by ``gradcheck``, runs unchanged.
The number of threads is the number of cores this process may use (``NNLITE_NUM_THREADS``
sets it; 1 turns the splitting off).
"""

import math
import os
import threading
from contextlib import contextmanager, nullcontext

import numpy as np

_lock = threading.Lock()
_active = 0          # how many split_batches() blocks are open (they may nest)
_workers = 1         # shards per batch while one is open
_blas = None         # threadpoolctl's controller of the loaded BLAS, made on first use
_limiter = None      # the BLAS limit in force, to restore on leaving
_blas_depth = 0      # how many one_blas_thread() blocks are open
_helpers = []        # the helper threads (workers - 1 of them), made on first use
_run_lock = threading.Lock()   # one run() at a time uses the helpers


class _Helper:
    """A thread that runs one call at a time, handed over and back with two locks.

    Cheaper than a thread pool's futures and queues: ``run`` of two empty shards took 23
    microseconds here against 67 with ``ThreadPoolExecutor.submit`` and ``wait``, and a CNN
    step runs about a dozen of them.
    """

    def __init__(self):
        self._go, self._done = threading.Lock(), threading.Lock()
        self._go.acquire()
        self._done.acquire()
        self._call = self._result = None
        threading.Thread(target=self._loop, name="nnlite-helper", daemon=True).start()

    def _loop(self):
        while True:
            self._go.acquire()
            try:
                self._result = (True, self._call())
            except BaseException as exc:  # handed back to the caller, raised there
                self._result = (False, exc)
            self._done.release()

    def start(self, call):
        self._call = call
        self._go.release()

    def finish(self):
        """Wait for the call; return ``(True, result)`` or ``(False, the error it raised)``."""
        self._done.acquire()
        outcome, self._call, self._result = self._result, None, None
        return outcome


def _forget_helpers():
    # A forked child has none of the parent's threads, and a lock one of them held at the
    # fork would stay held forever.
    global _helpers, _run_lock, _lock
    _helpers, _run_lock, _lock = [], threading.Lock(), threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_helpers)


def available_threads() -> int:
    """The threads a pass may use: ``NNLITE_NUM_THREADS`` if set, else as many as NumPy's
    BLAS would use (``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS`` or ``threadpoolctl``
    limits are respected that way), at most the cores this process may run on (its CPU
    affinity and, in a container, its CPU quota)."""
    value = os.environ.get("NNLITE_NUM_THREADS", "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"NNLITE_NUM_THREADS must be a positive integer, got {value!r}.")
        return int(value)
    cores = _usable_cores()
    if cores == 1:
        return 1
    global _blas
    if _blas is None:
        _blas = _numpy_blas()
    blas = [lib.num_threads for lib in _blas.lib_controllers]
    return max(1, min(cores, *blas)) if blas else cores


def _usable_cores():
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:   # not on Linux
        cores = os.cpu_count() or 1
    # A container's CPU quota: cgroup v2's cpu.max, else v1's quota and period files.
    for files in (("/sys/fs/cgroup/cpu.max",),
                  ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu/cpu.cfs_period_us")):
        try:
            texts = []
            for name in files:
                with open(name) as file:
                    texts.append(file.read())
        except OSError:
            continue
        quota = quota_cores(" ".join(texts))
        return cores if quota is None else min(cores, quota)
    return cores


def quota_cores(text):
    """The cores a CPU quota grants, rounded up, from ``"<quota> <period>"`` (cgroup v2's
    ``cpu.max``, or v1's two files joined); None for no quota (``max`` or ``-1``)."""
    fields = text.split()
    if len(fields) != 2 or not all(f.isdigit() and int(f) > 0 for f in fields):
        return None
    return max(1, math.ceil(int(fields[0]) / int(fields[1])))


def _numpy_blas():
    """threadpoolctl's controller of the BLAS that NumPy calls: the one whose library lies in
    NumPy's own folders (a wheel's ``numpy.libs``), else every BLAS loaded (a system or
    conda NumPy links a shared one). Other BLAS libraries in the process, such as SciPy's
    own OpenBLAS, keep their threads."""
    import threadpoolctl  # a scikit-learn dependency, light to import

    controller = threadpoolctl.ThreadpoolController()
    home = os.path.dirname(np.__file__)
    numpy_libs = [lib.filepath for lib in controller.lib_controllers
                  if lib.user_api == "blas" and lib.filepath.startswith(home)]
    return controller.select(filepath=numpy_libs) if numpy_libs else controller


@contextmanager
def one_blas_thread():
    """BLAS on one thread while open (blocks nest); entering and leaving cost about 7
    microseconds, the BLAS controller being made once."""
    global _blas, _limiter, _blas_depth
    with _lock:
        if _blas_depth == 0:
            if _blas is None:
                _blas = _numpy_blas()
            _limiter = _blas.limit(limits=1, user_api="blas")
        _blas_depth += 1
    try:
        yield
    finally:
        with _lock:
            _blas_depth -= 1
            if _blas_depth == 0:
                _limiter.restore_original_limits()
                _limiter = None


@contextmanager
def split_batches():
    """While open, layers split their batches across threads and BLAS uses one thread.

    Cheap enough (about 10 microseconds) that a model opens it around each training step
    rather than around a whole ``fit``, so user callbacks never run with BLAS limited.
    """
    global _active, _workers
    with _lock:
        if _active == 0:
            _workers = available_threads()
            while len(_helpers) < _workers - 1:
                _helpers.append(_Helper())
        _active += 1
        workers = _workers
    try:
        with one_blas_thread() if workers > 1 else nullcontext():
            yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0:
                _workers = 1


#: The least work (elements written) worth a thread of its own: handing a shard to another
#: thread and back costs about 20 microseconds, the time NumPy takes to write ~40,000 values.
MIN_SHARD = 1 << 15


def shards(n: int, size: int = 1) -> list[slice]:
    """Cut ``n`` samples into contiguous slices, one per thread, for work that writes
    ``size`` values per sample; one slice outside ``split_batches`` or when the work is too
    small to be worth sharing (see ``MIN_SHARD``)."""
    count = min(_workers, n, n * size // MIN_SHARD)
    if count <= 1:
        return [slice(0, n)]
    bounds = [n * i // count for i in range(count + 1)]
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def run(work, parts: list[slice]) -> list:
    """Call ``work(part)`` for every part, the first on this thread and the rest on the
    helper threads; return the results in order. Every call has finished before this
    returns or raises, so no thread still writes to the caller's arrays."""
    if len(parts) == 1:
        return [work(parts[0])]
    with _run_lock:
        helpers = _helpers[:len(parts) - 1]
        mine = [parts[0], *parts[len(helpers) + 1:]]   # more parts than helpers: the rest here
        # A helper thread ignores, warns about or raises the floating-point errors the
        # caller does (NumPy keeps that setting per thread or per context).
        errors = np.geterr()

        def call(part):
            with np.errstate(**errors):
                return work(part)

        for helper, part in zip(helpers, parts[1:], strict=False):
            helper.start(lambda part=part: call(part))
        try:
            done_here = [work(part) for part in mine]
        finally:
            # Wait for every helper before anything is raised, so no thread still writes
            # into the caller's arrays; the first error wins.
            try:
                outcomes = [helper.finish() for helper in helpers]
            except BaseException:
                # Interrupted while waiting (a second Ctrl-C): these helpers may still be
                # busy, so later runs get new ones.
                _helpers[:len(helpers)] = [_Helper() for _ in helpers]
                raise
        for ok, value in outcomes:
            if not ok:
                raise value
        return [done_here[0], *(value for _, value in outcomes), *done_here[1:]]


def matmul(a, b):
    """``a @ b`` with the rows of ``a`` (its first axis) shared out over the threads;
    ``b`` is 2-D."""
    out = np.empty((*a.shape[:-1], b.shape[-1]), np.result_type(a.dtype, b.dtype))
    # A row of the product costs about as much as copying 1/16 of its multiply-adds.
    parts = shards(len(a), out[0].size * a.shape[-1] // 16)
    if len(parts) == 1:
        return np.matmul(a, b, out=out)
    run(lambda s: np.matmul(a[s], b, out=out[s]), parts)
    return out


def map_rows(fn, *arrays, size=1):
    """``fn(*arrays)`` for a ``fn`` that treats rows (first axis) alone, as activations do:
    inside a split pass shard by shard, the results joined in one copy; outside it one call
    and no copy. ``size`` is the values written per row (see ``shards``)."""
    parts = shards(len(arrays[0]), size)
    if len(parts) == 1:
        return fn(*arrays)
    return np.concatenate(run(lambda s: fn(*(a[s] for a in arrays)), parts))
