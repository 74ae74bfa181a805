"""tfrepro: a reproducibility regression harness across TensorFlow/Keras versions.

This package is imported in two very different places: on the host (nox, compare,
report) and, through ``harness.inenv``, inside pinned environments as old as
Python 3.7 with TensorFlow 1.14. So this file imports nothing.
"""

__version__ = "0.1.0"
