"""Timing helpers shared by the benchmark scripts.

Implementations of one workload are timed interleaved (A, B, C, A, B, C, ...) in one process,
so that a noisy neighbour slows all of them alike and the ratios stay fair.
"""

import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
#: Name of the row that times a workload's FLOPs as plain GEMMs (see ``gemm_runner``).
GEMM_ALONE = "GEMM alone"


def torch_or_none():
    """Return the torch module when it is importable, else None (torch is optional)."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(os.cpu_count() or 1)
    return torch


def time_interleaved(candidates: dict, repeats=5, warmup=1):
    """Time each zero-argument callable ``repeats`` times, interleaved, after ``warmup`` runs.

    Returns:
        dict name -> {"median", "min", "max", "times"} in seconds.
    """
    for fn in candidates.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: {"median": statistics.median(t), "min": min(t), "max": max(t), "times": t}
            for name, t in times.items()}


def gemm_gflops(m=128, k=784, n=256, dtype=np.float32, repeats=200):
    """Measure this machine's float32 GEMM rate (GFLOP/s) for an (m, k) @ (k, n) product."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    out = np.empty((m, n), dtype=dtype)
    for _ in range(10):
        np.matmul(a, b, out=out)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats):
            np.matmul(a, b, out=out)
        best = min(best, (time.perf_counter() - start) / repeats)
    return 2.0 * m * k * n / best / 1e9


def gemm_runner(flops, m=128, k=784, n=256, dtype=np.float32):
    """Return ``(run, done)``: ``run`` performs as many (m, k) @ (k, n) products as make
    ``flops`` (``done`` FLOPs in all, rounded up to whole products).

    Timed among the candidates of ``time_interleaved``, it measures the GEMM rate under the
    same conditions as the workload, which a measurement before the run cannot (on a shared
    machine the rate drifts by 10% within a minute).
    """
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    out = np.empty((m, n), dtype=dtype)
    count = max(1, int(np.ceil(flops / (2.0 * m * k * n))))

    def run():
        for _ in range(count):
            np.matmul(a, b, out=out)
    return run, 2.0 * m * k * n * count


def print_table(title, results, reference, flops=None, gemm_rate=None):
    """Print a markdown table of the timings with ratios to ``reference``.

    Args:
        title: heading printed above the table.
        results: output of ``time_interleaved``.
        reference: name whose median the ratios divide by.
        flops: FLOPs of one run, to print achieved GFLOP/s.
        gemm_rate: GEMM GFLOP/s measured in the same process, to print the fraction reached.
    """
    print(f"\n### {title}\n")
    header = "| implementation | median s | min s | max s | ratio to " + reference + " |"
    if flops:
        header += " GFLOP/s |" + (" % of GEMM |" if gemm_rate else "")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    ref = results[reference]["median"]
    for name, r in results.items():
        line = (f"| {name} | {r['median']:.3f} | {r['min']:.3f} | {r['max']:.3f} "
                f"| {r['median'] / ref:.2f} |")
        if flops:
            rate = flops / r["median"] / 1e9
            line += f" {rate:.1f} |" + (f" {100 * rate / gemm_rate:.0f}% |" if gemm_rate else "")
        print(line)


def save_json(name, payload):
    """Write ``payload`` with machine facts to ``benchmarks/results/<name>.json``."""
    RESULTS.mkdir(exist_ok=True)
    payload = {"machine": {"python": platform.python_version(), "numpy": np.__version__,
                           "cpus": os.cpu_count(), "platform": platform.platform()},
               **payload}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=1, default=float))
    print(f"\nwrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")


def torch_epoch(torch, net, loss_fn, xt, yt, batch_size, learning_rate):
    """Return a callable running one shuffled SGD epoch of the PyTorch module ``net``."""
    optimizer = torch.optim.SGD(net.parameters(), lr=learning_rate)

    def run():
        order = torch.randperm(len(xt))
        for start in range(0, len(xt), batch_size):
            index = order[start:start + batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss_fn(net(xt[index]), yt[index]).backward()
            optimizer.step()
    return run
