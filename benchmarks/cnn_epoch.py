"""One training epoch of a small CNN on 28x28x1 images: nnlite and PyTorch.

Conv2D(32, 3, relu) -> MaxPool2D -> Conv2D(64, 3, relu) -> MaxPool2D -> Flatten ->
Dense(10, softmax); batch 64, plain SGD (learning rate 0.01), float32. PyTorch starts from
the same weights (copied over) when it is installed.

The data kind matters, to PyTorch more than to nnlite (``--data``): ``uniform`` noise in
[0, 1), ``digits`` (scikit-learn's 8x8 digits upscaled to 28x28: values in [0, 1] with many
exact zeros, like MNIST) and ``normal`` (standard normal noise); ``--data all`` runs the three
in turn. Run: ``python -m benchmarks.cnn_epoch [--rows 4000] [--repeats 5]
[--data uniform|digits|normal|all] [--profile]``.
"""

import argparse
import cProfile
import pstats

import numpy as np

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
from nnlite.layers import Conv2D, Dense, Flatten, MaxPool2D

IMAGE = (28, 28, 1)
BATCH = 64
LR = 0.01
DATA_KINDS = ("uniform", "digits", "normal")


def make_data(rows, seed=0, kind="uniform"):
    """Return ``rows`` float32 images ``(rows, 28, 28, 1)`` of the given kind and labels."""
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        x = rng.random((rows, *IMAGE), dtype=np.float32)
    elif kind == "normal":
        x = rng.standard_normal((rows, *IMAGE), dtype=np.float32)
    elif kind == "digits":
        return _digits(rows, rng)
    else:
        raise ValueError(f"make_data: kind must be one of {DATA_KINDS}, got {kind!r}.")
    y = rng.integers(0, 10, rows)
    return x, y


def _digits(rows, rng):
    """scikit-learn's 8x8 digits (drawn with replacement) scaled to [0, 1], upscaled to 20x20
    by bilinear interpolation and centred in a 28x28 frame of zeros, as MNIST's digits are:
    a pixel whose neighbours are all 0 stays exactly 0 (about 60% of the pixels)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    pick = rng.integers(0, len(digits.images), rows)
    images = digits.images[pick] / 16.0                              # (rows, 8, 8)
    grid = np.linspace(0.0, 7.0, 20)
    low = np.minimum(grid.astype(int), 6)
    frac = grid - low                                                # (20,)
    # Along rows, then along columns: each a weighted sum of the two nearest source pixels.
    tall = images[:, low] * (1 - frac)[:, None] + images[:, low + 1] * frac[:, None]
    big = tall[:, :, low] * (1 - frac) + tall[:, :, low + 1] * frac  # (rows, 20, 20)
    x = np.zeros((rows, *IMAGE), dtype=np.float32)
    x[:, 4:24, 4:24, 0] = np.clip(big, 0.0, 1.0)
    return x, digits.target[pick]


def epoch_flops(rows):
    """FLOPs of one epoch: 2mnk per GEMM, three GEMMs per layer (forward, weight gradient,
    input gradient) less the first layer's input gradient, which neither side computes."""
    conv1 = 2 * 26 * 26 * (3 * 3 * 1) * 32
    conv2 = 2 * 11 * 11 * (3 * 3 * 32) * 64
    dense = 2 * (5 * 5 * 64) * 10
    return (3 * (conv1 + conv2 + dense) - conv1) * rows


def build_model():
    nnlite.set_seed(0)
    model = nnlite.Sequential([
        Conv2D(32, 3, activation="relu"), MaxPool2D(),
        Conv2D(64, 3, activation="relu"), MaxPool2D(),
        Flatten(), Dense(10, activation="softmax"),
    ], input_shape=IMAGE)
    model.compile(optimizer=nnlite.optimizers.SGD(learning_rate=LR),
                  loss="sparse_categorical_crossentropy")
    return model


def nnlite_runner(model, x, y):
    return lambda: model.fit(x, y, epochs=1, batch_size=BATCH, verbose=0)


def torch_runner(torch, model, x, y):
    """The same network in PyTorch (channels-first), starting from ``model``'s weights."""
    nn = torch.nn
    net = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(5 * 5 * 64, 10))
    conv1, conv2, dense = (layer for layer in model.layers if layer.params)
    with torch.no_grad():
        for torch_conv, conv in ((net[0], conv1), (net[3], conv2)):
            # (kh, kw, in, out) -> (out, in, kh, kw)
            torch_conv.weight.copy_(torch.from_numpy(conv.params["kernel"].transpose(3, 2, 0, 1)))
            torch_conv.bias.copy_(torch.from_numpy(conv.params["bias"]))
        # nnlite flattens (h, w, c), PyTorch (c, h, w): reorder the Dense kernel's rows.
        kernel = dense.params["kernel"].reshape(5, 5, 64, 10)              # (h, w, c, units)
        net[7].weight.copy_(torch.from_numpy(kernel.transpose(3, 2, 0, 1).reshape(10, -1)))
        net[7].bias.copy_(torch.from_numpy(dense.params["bias"]))
    loss_fn = nn.CrossEntropyLoss()
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))  # (n, 1, 28, 28)
    yt = torch.from_numpy(y)
    return torch_epoch(torch, net, loss_fn, xt, yt, BATCH, LR)


def profile_epoch(x, y, top=15, kind="uniform"):
    """Print the ``top`` functions of one nnlite epoch by own time, with their share."""
    run = nnlite_runner(build_model(), x, y)
    run()  # warm-up: buffers allocated, BLAS threads started
    profiler = cProfile.Profile()
    profiler.runcall(run)
    stats = pstats.Stats(profiler)
    total = sum(row[2] for row in stats.stats.values())
    rows = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)[:top]
    print(f"\n### cProfile of one nnlite epoch, {kind} data ({total:.2f} s of own time)\n")
    print("| function | calls | own s | share |")
    print("|---|---|---|---|")
    for (path, line, name), (_, calls, own, _, _) in rows:
        where = f"{path.rsplit('/', 1)[-1]}:{line}({name})" if line else name
        print(f"| {where} | {calls} | {own:.3f} | {100 * own / total:.0f}% |")


def count_subnormals(x, y, epochs=1):
    """Train a fresh model for ``epochs`` and count the subnormal (denormal) float values in
    everything a step computes: each layer's outputs, the gradients passed between layers,
    the parameters' gradients and the parameters after each step.

    Subnormal operands can make floating-point arithmetic much slower on x86, and NumPy has
    no flush-to-zero switch, so the only defence is not to produce them; this measures
    whether a run does. Returns ``{"values": counted, "subnormal": how many were}``.
    """
    model = build_model()
    tiny = np.finfo(np.float32).tiny
    seen = {"values": 0, "subnormal": 0}

    def count(a):
        if isinstance(a, np.ndarray) and a.dtype.kind == "f":
            seen["values"] += a.size
            seen["subnormal"] += int(np.count_nonzero((a != 0) & (np.abs(a) < tiny)))
        return a

    for layer in model.layers:   # instance attributes: this model only, for this count
        layer.forward = (lambda f: lambda *a, **k: count(f(*a, **k)))(layer.forward)
        layer.backward = (lambda f: lambda *a, **k: count(f(*a, **k)))(layer.backward)

    class AfterStep(nnlite.callbacks.Callback):
        def on_batch_end(self, batch, logs=None):
            for layer in model.layers:
                for key in layer.params:
                    count(layer.params[key])
                    count(layer.grads[key])

    model.fit(x, y, epochs=epochs, batch_size=BATCH, verbose=0, callbacks=[AfterStep()])
    return seen


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--data", choices=(*DATA_KINDS, "all"), default="all",
                        help="the images: uniform noise, upscaled digits, normal noise, or all "
                             "three in turn (default)")
    parser.add_argument("--profile", action="store_true", help="also cProfile one epoch")
    parser.add_argument("--denormals", action="store_true",
                        help="also count subnormal values in one epoch's arrays")
    args = parser.parse_args(argv)
    kinds = DATA_KINDS if args.data == "all" else (args.data,)
    if args.denormals:
        print("\n| data | float values computed in one epoch | subnormal |\n|---|---|---|")
        for kind in kinds:
            seen = count_subnormals(*make_data(args.rows, kind=kind))
            print(f"| {kind} | {seen['values']:,} | {seen['subnormal']:,} |")
    runs = {kind: run_kind(args, kind) for kind in kinds}
    save_json("cnn_epoch", {"rows": args.rows, "batch": BATCH,
                            "gemm_gflops": {kind: gemm for kind, (_, gemm) in runs.items()},
                            "results": {kind: results for kind, (results, _) in runs.items()}})
    return {kind: results for kind, (results, _) in runs.items()}


def run_kind(args, kind):
    """Time nnlite, PyTorch and the GEMM-only run on one kind of data and print the table;
    return the timings and the GEMM rate (GFLOP/s) measured among them."""
    x, y = make_data(args.rows, kind=kind)
    model = build_model()
    candidates = {"nnlite": nnlite_runner(model, x, y)}
    torch = torch_or_none()
    if torch is not None:
        candidates["pytorch"] = torch_runner(torch, model, x, y)
    run_gemm, gemm_flops = gemm_runner(epoch_flops(args.rows))
    candidates[GEMM_ALONE] = run_gemm
    results = time_interleaved(candidates, repeats=args.repeats)
    gemm = gemm_flops / results[GEMM_ALONE]["median"] / 1e9
    title = (f"CNN epoch (conv32-pool-conv64-pool-dense10) on {args.rows:,} 28x28x1 images, "
             f"{kind} data, batch {BATCH}, SGD, float32 (GEMM {gemm:.0f} GFLOP/s)")
    reference = "pytorch" if torch is not None else "nnlite"
    print_table(title, results, reference, flops=epoch_flops(args.rows), gemm_rate=gemm)
    if torch is None:
        print("\n(PyTorch is not installed: pip install '.[bench]' to compare with it.)")
    if args.profile:
        profile_epoch(x, y, kind=kind)
    return results, gemm


if __name__ == "__main__":
    main()
