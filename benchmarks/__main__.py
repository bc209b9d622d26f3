"""Run the benchmark workloads in turn: ``python -m benchmarks [workload ...]`` (``make bench``).

Each workload is one module of this package and can also run alone with its own options,
e.g. ``python -m benchmarks.cnn_epoch --profile``.
"""

import argparse
import importlib
import pkgutil
from pathlib import Path

SKIP = {"common"}


def workloads():
    """Names of the workload modules, in alphabetical order."""
    return sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)])
                  if m.name not in SKIP and not m.name.startswith("_"))


def main(argv=None) -> int:
    names = workloads()
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("workload", nargs="*",
                        help=f"which to run (default: all): {', '.join(names)}")
    args = parser.parse_args(argv)
    unknown = [name for name in args.workload if name not in names]
    if unknown:
        parser.error(f"unknown workload {unknown[0]!r}; choose from {', '.join(names)}")
    for name in args.workload or names:
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"\n## {name}")
        module.main([])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
