"""Inference throughput of the 784-256-128-10 MLP on 60,000 rows: rows per second.

nnlite's ``predict`` beside scikit-learn's ``predict_proba`` (all rows in one pass, as it
always does) and, when installed, PyTorch under ``torch.inference_mode()``, float32 input.
nnlite picks its batch size from the layers' sizes (``predict(batch_size=None)``) unless
``--batch-size`` is given; PyTorch runs with the same batch size, and both also run with
batches of 256 for reference.
Run: ``python -m benchmarks.inference [--rows 60000] [--batch-size N] [--repeats 7]``.
"""

import argparse
import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

import nnlite
from benchmarks.common import print_table, save_json, time_interleaved, torch_or_none
from benchmarks.mlp_epoch import SIZES, make_data
from nnlite.layers import Dense

REFERENCE_BATCH = 256


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=60_000)
    parser.add_argument("--batch-size", type=int, default=None,
                        help="rows per batch for nnlite and PyTorch (default: nnlite's choice)")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    x, y = make_data(args.rows)
    nnlite.set_seed(0)
    net = nnlite.Sequential([Dense(SIZES[1], activation="relu"),
                             Dense(SIZES[2], activation="relu"),
                             Dense(SIZES[3], activation="softmax")], input_shape=(SIZES[0],))
    batch = args.batch_size or net._predict_batch_size(x.dtype.itemsize)
    candidates = {"nnlite": lambda: net.predict(x, batch_size=args.batch_size),
                  f"nnlite, batch {REFERENCE_BATCH}":
                      lambda: net.predict(x, batch_size=REFERENCE_BATCH)}

    clf = MLPClassifier(hidden_layer_sizes=SIZES[1:-1], max_iter=1, batch_size=256)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x[:2000], y[:2000])
    candidates["scikit-learn"] = lambda: clf.predict_proba(x)

    torch = torch_or_none()
    if torch is not None:
        tnet = torch.nn.Sequential(torch.nn.Linear(SIZES[0], SIZES[1]), torch.nn.ReLU(),
                                   torch.nn.Linear(SIZES[1], SIZES[2]), torch.nn.ReLU(),
                                   torch.nn.Linear(SIZES[2], SIZES[3]), torch.nn.Softmax(dim=1))
        tnet.eval()
        xt = torch.from_numpy(x)

        def torch_predict(size):
            with torch.inference_mode():
                out = [tnet(xt[s:s + size]) for s in range(0, len(xt), size)]
                return torch.cat(out).numpy()

        candidates["pytorch"] = lambda: torch_predict(batch)
        candidates[f"pytorch, batch {REFERENCE_BATCH}"] = lambda: torch_predict(REFERENCE_BATCH)
    results = time_interleaved(candidates, repeats=args.repeats)
    print_table(f"MLP inference, {args.rows:,} rows, float32; nnlite and pytorch in batches of "
                f"{batch}", results, "nnlite")
    print("\n| implementation | rows/s |\n|---|---|")
    for name, r in results.items():
        print(f"| {name} | {args.rows / r['median']:,.0f} |")
    save_json("inference", {"rows": args.rows, "batch_size": batch, "results": results})
    return results


if __name__ == "__main__":
    main()
