"""One training epoch of Embedding -> SimpleRNN -> Dense(1, sigmoid), nnlite beside PyTorch.

Workload: 5,000 synthetic sequences of 50 token ids from a vocabulary of 5,000, labelled by
whether token 7 appears before token 3; Embedding(5000, 64) -> SimpleRNN(128, tanh) ->
Dense(1, sigmoid), binary cross-entropy, plain SGD, batch 64, float32, shuffled each epoch.
PyTorch (nn.Embedding + nn.RNN + nn.Linear, same sizes, BCE on logits) is timed when it is
importable. Run ``python -m benchmarks.rnn_epoch`` (``--profile`` prints a cProfile of one
nnlite epoch instead; ``--threads 1`` runs BLAS and PyTorch on one thread, which keeps the
timings steady when other programs share the cores).
"""

import argparse
import cProfile
import io
import pstats

import numpy as np
from threadpoolctl import threadpool_limits

import nnlite
from benchmarks.common import print_table, save_json, time_interleaved, torch_or_none
from nnlite.layers import Dense, Embedding, SimpleRNN

N, T, VOCAB, EMBED, UNITS, BATCH, LR = 5000, 50, 5000, 64, 128, 64, 0.01


def make_data(seed=0, n=N):
    """Return ids ``(n, T)`` and 0/1 labels ``(n,)``: does token 7 come before token 3?"""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, VOCAB, size=(n, T))
    # Plant a 7 and a 3 in random order and places, so both classes are common.
    rows = np.arange(n)
    first, second = rng.integers(0, T, size=(2, n))
    x[rows, first], x[rows, second] = 7, 3
    is7, is3 = x == 7, x == 3
    y = (is7.argmax(axis=1) < is3.argmax(axis=1)).astype(np.float32)
    return x, y


def nnlite_epoch(x, y):
    nnlite.set_seed(0)
    model = nnlite.Sequential([Embedding(VOCAB, EMBED), SimpleRNN(UNITS),
                               Dense(1, activation="sigmoid")], input_shape=(T,))
    model.compile(loss="binary_crossentropy", optimizer=nnlite.optimizers.SGD(LR))
    return lambda: model.fit(x, y, epochs=1, batch_size=BATCH, verbose=0)


def torch_epoch(torch, x, y):
    torch.manual_seed(0)
    embed = torch.nn.Embedding(VOCAB, EMBED)
    rnn = torch.nn.RNN(EMBED, UNITS, nonlinearity="tanh", batch_first=True)
    head = torch.nn.Linear(UNITS, 1)
    params = [*embed.parameters(), *rnn.parameters(), *head.parameters()]
    optimizer = torch.optim.SGD(params, lr=LR)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y).reshape(-1, 1)

    def epoch():
        order = torch.randperm(len(xt))
        for start in range(0, len(xt), BATCH):
            index = order[start:start + BATCH]
            optimizer.zero_grad(set_to_none=True)
            _, h_last = rnn(embed(xt[index]))                # h_last: (1, n, units)
            loss = loss_fn(head(h_last[0]), yt[index])
            loss.backward()
            optimizer.step()

    return epoch


def profile_epoch(run, top=15):
    """Print a cProfile of the epoch callable ``run`` (after one warm-up run)."""
    run()  # warm-up: first-call allocations are not what a long training run pays
    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    print(out.getvalue())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--profile", action="store_true",
                        help="print a cProfile of one nnlite epoch instead of timing")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS and PyTorch threads (default: all cores)")
    args = parser.parse_args(argv)
    with threadpool_limits(args.threads):
        return _run(args)


def _run(args):
    x, y = make_data()
    if args.profile:
        profile_epoch(nnlite_epoch(x, y))
        return
    candidates = {"nnlite": nnlite_epoch(x, y)}
    torch = torch_or_none()
    if torch is not None:
        if args.threads:
            torch.set_num_threads(args.threads)
        candidates["pytorch"] = torch_epoch(torch, x, y)
    results = time_interleaved(candidates, repeats=args.repeats)
    reference = "pytorch" if torch is not None else "nnlite"
    threads = args.threads or "all"
    print_table(f"One epoch: Embedding({VOCAB}, {EMBED}) -> SimpleRNN({UNITS}) -> Dense(1), "
                f"{N} sequences of {T}, batch {BATCH}, SGD, float32, threads: {threads}",
                results, reference)
    payload = {"workload": {"n": N, "timesteps": T, "vocab": VOCAB, "embed": EMBED,
                            "units": UNITS, "batch": BATCH, "dtype": "float32",
                            "threads": threads},
               "results": results}
    if torch is not None:
        ratio = results["nnlite"]["median"] / results["pytorch"]["median"]
        payload["ratio_nnlite_to_pytorch"] = ratio
        payload["torch"] = torch.__version__
        print(f"\nnnlite / pytorch = {ratio:.2f} (target <= 0.8)")
    else:
        print("\n(PyTorch is not installed: pip install '.[bench]' to compare with it.)")
    save_json("rnn_epoch" if args.threads is None else f"rnn_epoch_{threads}threads", payload)
    return results


if __name__ == "__main__":
    main()
