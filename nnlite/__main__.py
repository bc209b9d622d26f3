"""``python -m nnlite``: the same as the ``nnlite`` command."""

from nnlite.cli import main

raise SystemExit(main())
