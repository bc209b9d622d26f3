"""One training epoch of Embedding -> LSTM -> Dense(1, sigmoid), nnlite beside PyTorch.

Workload: 4,000 synthetic sequences of 50 token ids from a vocabulary of 5,000 (the task of
``rnn_epoch``: does token 7 come before token 3?); Embedding(5000, 64) -> LSTM(128) ->
Dense(1, sigmoid), binary cross-entropy, plain SGD, batch 64, float32, shuffled each epoch.
PyTorch (nn.Embedding + nn.LSTM + nn.Linear, same sizes, BCE on logits) is timed when it is
importable, interleaved with nnlite in the same process. ``--mask`` pads a random number of
leading steps of each sequence with id 0 and turns on ``mask_zero`` (PyTorch then runs
packed sequences of the real steps), which times the masked path.

Run ``python -m benchmarks.lstm_epoch [--rows 4000] [--repeats 5] [--mask]``; ``--profile``
prints a cProfile of one nnlite epoch instead, and ``--threads 1`` runs BLAS and PyTorch on
one thread.
"""

import argparse

import numpy as np
from threadpoolctl import threadpool_limits

import nnlite
from benchmarks.common import print_table, save_json, time_interleaved, torch_or_none
from benchmarks.rnn_epoch import VOCAB, make_data, profile_epoch
from nnlite.layers import LSTM, Dense, Embedding

N, T, EMBED, UNITS, BATCH, LR = 4000, 50, 64, 128, 64, 0.01


def padded_data(rows=N, seed=0):
    """``make_data`` with the first 0 to T/2 steps of each sequence replaced by padding (0),
    and the lengths of the real parts. The labels still describe the whole sequence; this
    workload times, it does not evaluate."""
    x, y = make_data(seed, n=rows)
    x[x == 0] = 1                                  # from here on, id 0 means padding
    pad = np.random.default_rng(seed + 1).integers(0, T // 2 + 1, size=rows)
    x[np.arange(T) < pad[:, None]] = 0
    return x, y, T - pad


def epoch_flops(rows):
    """FLOPs of the LSTM's GEMMs in one epoch (forward, backward; the rest is negligible)."""
    steps, gates = rows * T, 4 * UNITS
    # input projection, input gradient and kernel gradient: 3 of (steps, EMBED) x (EMBED, 4u);
    # recurrence forward and backward and recurrent-kernel gradient: 3 of (steps, u) x (u, 4u)
    return 2 * steps * gates * (3 * EMBED + 3 * UNITS)


def lstm_gemms(rows):
    """Return a callable that runs only the GEMMs of one nnlite LSTM epoch, at their shapes:
    per batch, the input projection, one recurrent product per step forward and backward,
    then the kernel, recurrent-kernel and input gradients. Timed beside the epochs, it is
    the floor this BLAS sets for nnlite's way of computing an LSTM."""
    rng = np.random.default_rng(0)
    n, u = BATCH, UNITS

    def rand(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    x, kernel, recurrent = rand(T * n, EMBED), rand(EMBED, 4 * u), rand(u, 4 * u)
    recurrent_t, h, grad_z = np.ascontiguousarray(recurrent.T), rand(T * n, u), rand(T * n, 4 * u)
    out_forward, out_backward = np.empty((n, 4 * u), np.float32), np.empty((n, u), np.float32)
    batches = -(-rows // BATCH)

    def run():
        for _ in range(batches):
            x @ kernel                                           # (t*n, in) @ (in, 4u)
            for s in range(T - 1):
                np.matmul(h[s * n:(s + 1) * n], recurrent, out=out_forward)
            for s in range(T - 1):
                np.matmul(grad_z[s * n:(s + 1) * n], recurrent_t, out=out_backward)
            x.T @ grad_z                                         # (in, t*n) @ (t*n, 4u)
            h[n:].T @ grad_z[n:]                                 # (u, .) @ (., 4u)
            grad_z @ kernel.T                                    # (t*n, 4u) @ (4u, in)
    return run


def nnlite_epoch(x, y, mask=False):
    nnlite.set_seed(0)
    model = nnlite.Sequential([Embedding(VOCAB, EMBED, mask_zero=mask), LSTM(UNITS),
                               Dense(1, activation="sigmoid")], input_shape=(T,))
    model.compile(loss="binary_crossentropy", optimizer=nnlite.optimizers.SGD(LR))
    return lambda: model.fit(x, y, epochs=1, batch_size=BATCH, verbose=0)


def torch_epoch(torch, x, y, lengths=None):
    torch.manual_seed(0)
    embed = torch.nn.Embedding(VOCAB, EMBED)
    lstm = torch.nn.LSTM(EMBED, UNITS, batch_first=True)
    head = torch.nn.Linear(UNITS, 1)
    params = [*embed.parameters(), *lstm.parameters(), *head.parameters()]
    optimizer = torch.optim.SGD(params, lr=LR)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y).reshape(-1, 1)
    if lengths is not None:
        # Pre-padded rows, turned into post-padded ones for pack_padded_sequence.
        shift = torch.from_numpy(T - lengths)
        steps = (torch.arange(T)[None, :] + shift[:, None]) % T
        xt = torch.gather(xt, 1, steps)
        lengths_t = torch.from_numpy(lengths)

    def epoch():
        order = torch.randperm(len(xt))
        for start in range(0, len(xt), BATCH):
            index = order[start:start + BATCH]
            optimizer.zero_grad(set_to_none=True)
            inputs = embed(xt[index])                            # (n, T, EMBED)
            if lengths is not None:
                inputs = torch.nn.utils.rnn.pack_padded_sequence(
                    inputs, lengths_t[index], batch_first=True, enforce_sorted=False)
            _, (h_last, _) = lstm(inputs)                        # h_last: (1, n, units)
            loss = loss_fn(head(h_last[0]), yt[index])
            loss.backward()
            optimizer.step()

    return epoch


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=N)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--mask", action="store_true",
                        help="pre-pad the sequences and train with Embedding(mask_zero=True)")
    parser.add_argument("--profile", action="store_true",
                        help="print a cProfile of one nnlite epoch instead of timing")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS and PyTorch threads (default: all cores)")
    args = parser.parse_args(argv)
    with threadpool_limits(args.threads):
        return _run(args)


def _run(args):
    if args.mask:
        x, y, lengths = padded_data(args.rows)
    else:
        (x, y), lengths = make_data(n=args.rows), None
    if args.profile:
        profile_epoch(nnlite_epoch(x, y, mask=args.mask))
        return
    candidates = {"nnlite": nnlite_epoch(x, y, mask=args.mask)}
    torch = torch_or_none()
    if torch is not None:
        if args.threads:
            torch.set_num_threads(args.threads)
        candidates["pytorch"] = torch_epoch(torch, x, y, lengths)
    candidates["GEMMs of the nnlite epoch alone"] = lstm_gemms(args.rows)
    results = time_interleaved(candidates, repeats=args.repeats)
    reference = "pytorch" if torch is not None else "nnlite"
    threads = args.threads or "all"
    masked = ", masked (pre-padded)" if args.mask else ""
    print_table(f"One epoch: Embedding({VOCAB}, {EMBED}) -> LSTM({UNITS}) -> Dense(1), "
                f"{args.rows} sequences of {T}{masked}, batch {BATCH}, SGD, float32, "
                f"threads: {threads}", results, reference, flops=epoch_flops(args.rows))
    payload = {"workload": {"n": args.rows, "timesteps": T, "vocab": VOCAB, "embed": EMBED,
                            "units": UNITS, "batch": BATCH, "dtype": "float32",
                            "masked": args.mask, "threads": threads},
               "results": results}
    if torch is not None:
        ratio = results["nnlite"]["median"] / results["pytorch"]["median"]
        payload["ratio_nnlite_to_pytorch"] = ratio
        payload["torch"] = torch.__version__
        print(f"\nnnlite / pytorch = {ratio:.2f} (target <= 0.8)")
    else:
        print("\n(PyTorch is not installed: pip install '.[bench]' to compare with it.)")
    name = "lstm_epoch" + ("_masked" if args.mask else "")
    save_json(name if args.threads is None else f"{name}_{threads}threads", payload)
    return results


if __name__ == "__main__":
    main()
