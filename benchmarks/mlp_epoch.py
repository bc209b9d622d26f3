"""One training epoch of a 784-256-128-10 ReLU MLP: nnlite, scikit-learn and PyTorch.

Batch 128, plain SGD (learning rate 0.01), float32, synthetic data.
Run: ``python -m benchmarks.mlp_epoch [--rows 60000] [--repeats 5]``.
"""

import argparse
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

import nnlite
from benchmarks.common import (
    GEMM_ALONE,
    gemm_runner,
    print_table,
    save_json,
    time_interleaved,
    torch_epoch,
    torch_or_none,
)
from nnlite.layers import Dense

SIZES = (784, 256, 128, 10)
BATCH = 128
LR = 0.01


def make_data(rows, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, SIZES[0]), dtype=np.float32)
    y = rng.integers(0, SIZES[-1], rows)
    return x, y


def epoch_flops(rows, sizes=SIZES):
    """FLOPs of one epoch: 2mnk per layer forward, twice that backward, less the first
    layer's input gradient, which no implementation here computes."""
    forward = sum(2 * a * b for a, b in zip(sizes[:-1], sizes[1:], strict=False))
    return rows * (3 * forward - 2 * sizes[0] * sizes[1])


def nnlite_runner(x, y):
    nnlite.set_seed(0)
    model = nnlite.Sequential([Dense(SIZES[1], activation="relu"),
                               Dense(SIZES[2], activation="relu"),
                               Dense(SIZES[3], activation="softmax")], input_shape=(SIZES[0],))
    model.compile(optimizer=nnlite.optimizers.SGD(learning_rate=LR),
                  loss="sparse_categorical_crossentropy")
    return lambda: model.fit(x, y, epochs=1, batch_size=BATCH, verbose=0)


def sklearn_runner(x, y):
    def run():
        clf = MLPClassifier(hidden_layer_sizes=SIZES[1:-1], solver="sgd", batch_size=BATCH,
                            learning_rate_init=LR, momentum=0.0, alpha=0.0, max_iter=1,
                            random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(x, y)
    return run


def torch_runner(torch, x, y):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(SIZES[0], SIZES[1]), torch.nn.ReLU(),
                              torch.nn.Linear(SIZES[1], SIZES[2]), torch.nn.ReLU(),
                              torch.nn.Linear(SIZES[2], SIZES[3]))
    loss_fn = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    return torch_epoch(torch, net, loss_fn, xt, yt, BATCH, LR)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=60_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    x, y = make_data(args.rows)
    candidates = {"nnlite": nnlite_runner(x, y), "scikit-learn": sklearn_runner(x, y)}
    torch = torch_or_none()
    if torch is not None:
        candidates["pytorch"] = torch_runner(torch, x, y)
    run_gemm, gemm_flops = gemm_runner(epoch_flops(args.rows))
    candidates[GEMM_ALONE] = run_gemm
    results = time_interleaved(candidates, repeats=args.repeats)
    gemm = gemm_flops / results[GEMM_ALONE]["median"] / 1e9
    title = (f"MLP 784-256-128-10 epoch, {args.rows:,} rows, batch {BATCH}, SGD, float32 "
             f"(GEMM {gemm:.0f} GFLOP/s)")
    print_table(title, results, "nnlite", flops=epoch_flops(args.rows), gemm_rate=gemm)
    if torch is None:
        print("\n(PyTorch is not installed: pip install '.[bench]' to compare with it.)")
    save_json("mlp_epoch", {"rows": args.rows, "gemm_gflops": gemm, "results": results})
    return results


if __name__ == "__main__":
    main()
