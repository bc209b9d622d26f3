"""How nnlite's MLP epoch time scales with rows and width, and the peak memory of ``fit``.

Rows: 10k, 20k, 40k with 784-256-128-10 (time should grow linearly).
Width: 784-H-H-10 for H in 128, 256, 512, 1024 on 20k rows (time should track FLOPs).
Memory: peak of the allocations ``fit`` makes on 60,000 x 784 float32 rows, measured with
tracemalloc (NumPy reports its buffers to it), beside the size of the data itself.
Run: ``python -m benchmarks.scaling``.
"""

import argparse
import time
import tracemalloc

import numpy as np

import nnlite
from benchmarks.common import gemm_gflops, save_json
from benchmarks.mlp_epoch import BATCH, LR, epoch_flops, make_data
from nnlite.layers import Dense


def build(sizes):
    nnlite.set_seed(0)
    model = nnlite.Sequential([Dense(units, activation="relu") for units in sizes[1:-1]]
                              + [Dense(sizes[-1], activation="softmax")],
                              input_shape=(sizes[0],))
    model.compile(optimizer=nnlite.optimizers.SGD(learning_rate=LR),
                  loss="sparse_categorical_crossentropy")
    return model


def epoch_time(sizes, rows, repeats):
    x, y = make_data(rows)
    model = build(sizes)
    model.fit(x[:BATCH * 4], y[:BATCH * 4], epochs=1, batch_size=BATCH, verbose=0)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.fit(x, y, epochs=1, batch_size=BATCH, verbose=0)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    gemm = gemm_gflops()
    print(f"\n### Scaling of one MLP epoch (batch {BATCH}, SGD, float32; "
          f"GEMM {gemm:.0f} GFLOP/s)\n")
    print("| layers | rows | epoch s | s per 10k rows | GFLOP/s | % of GEMM |")
    print("|---|---|---|---|---|---|")
    rows_table = []
    cases = [((784, 256, 128, 10), r) for r in (10_000, 20_000, 40_000)]
    cases += [((784, h, h, 10), 20_000) for h in (128, 256, 512, 1024)]
    for sizes, rows in cases:
        seconds = epoch_time(sizes, rows, args.repeats)
        rate = epoch_flops(rows, sizes) / seconds / 1e9
        rows_table.append({"sizes": sizes, "rows": rows, "seconds": seconds, "gflops": rate})
        print(f"| {'-'.join(map(str, sizes))} | {rows:,} | {seconds:.3f} | "
              f"{seconds * 10_000 / rows:.3f} | {rate:.1f} | {100 * rate / gemm:.0f}% |")

    x, y = make_data(60_000)
    model = build((784, 256, 128, 10))
    tracemalloc.start()
    model.fit(x, y, epochs=1, batch_size=BATCH, verbose=0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    data_mb = (x.nbytes + y.nbytes) / 2**20
    print(f"\nPeak memory that fit allocates on 60,000 x 784 float32 rows: {peak / 2**20:.1f} MB "
          f"beyond the data ({data_mb:.0f} MB); budget 150 MB.")
    save_json("scaling", {"gemm_gflops": gemm, "rows": rows_table,
                          "fit_peak_mb": peak / 2**20, "data_mb": data_mb})


if __name__ == "__main__":
    main()
