"""Run every benchmark workload in turn: ``python -m benchmarks`` (or ``make bench``)."""

import importlib
import pkgutil
import sys
from pathlib import Path

SKIP = {"common"}


def main() -> int:
    names = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)])
                   if m.name not in SKIP and not m.name.startswith("_"))
    wanted = sys.argv[1:] or names
    for name in wanted:
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"\n## {name}")
        module.main([])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
