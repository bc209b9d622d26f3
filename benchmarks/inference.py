"""Inference throughput of the 784-256-128-10 MLP on 60,000 rows: rows per second.

nnlite's ``predict`` beside scikit-learn's ``predict_proba`` and, when installed, PyTorch
under ``torch.inference_mode()``, all with the same batch size and float32 input.
Run: ``python -m benchmarks.inference [--rows 60000] [--batch-size 256]``.
"""

import argparse
import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

import nnlite
from benchmarks.common import print_table, save_json, time_interleaved, torch_or_none
from benchmarks.mlp_epoch import SIZES, make_data
from nnlite.layers import Dense


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=60_000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    x, y = make_data(args.rows)
    nnlite.set_seed(0)
    net = nnlite.Sequential([Dense(SIZES[1], activation="relu"),
                             Dense(SIZES[2], activation="relu"),
                             Dense(SIZES[3], activation="softmax")], input_shape=(SIZES[0],))
    candidates = {"nnlite": lambda: net.predict(x, batch_size=args.batch_size)}

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

        def torch_predict():
            with torch.inference_mode():
                out = [tnet(xt[s:s + args.batch_size]) for s in range(0, len(xt),
                                                                       args.batch_size)]
                return torch.cat(out).numpy()

        candidates["pytorch"] = torch_predict
    results = time_interleaved(candidates, repeats=args.repeats)
    print_table(f"MLP inference, {args.rows:,} rows, batch {args.batch_size}, float32",
                results, "nnlite")
    print("\n| implementation | rows/s |\n|---|---|")
    for name, r in results.items():
        print(f"| {name} | {args.rows / r['median']:,.0f} |")
    save_json("inference", {"rows": args.rows, "results": results})
    return results


if __name__ == "__main__":
    main()
