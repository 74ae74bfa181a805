"""tfrepro: is it a bug? Seeded Keras cases across pinned TensorFlow/Keras versions.

The public entry points of an installed tfrepro:

    tfrepro ...                      the command line (compare, bless, run, list, bisect, init)
    python -m tfrepro ...            the same
    import tfrepro.nox               the nox plugin for your own noxfile:
    tfrepro.nox.matrix_sessions(cases="cases/")

The implementation lives in the ``harness`` package; this one only names what a
project may rely on.
"""

from harness import __version__

__all__ = ["__version__"]
