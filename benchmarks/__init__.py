"""Benchmarks comparing nnlite with scikit-learn and, when installed, PyTorch."""
