"""Helpers the field cases beside this file import (`import _shared`): the worker puts a
case's folder on sys.path, and this file counts in each case's digest, so an edit here
runs them again."""

import numpy as np


def uniform_weights(k, model, seed, low=-0.5, high=0.5):
    """Every weight of ``model`` from a fixed numpy stream, so that neither initializers
    nor the framework's random streams play any part."""
    rng = np.random.RandomState(seed)
    k.set_weights(model, [rng.uniform(low, high, w.shape).astype("float32") for w in k.weights(model)])


def is_legacy(optimizer):
    """1.0 for Keras 2's optimizer_v2 classes (the legacy ones from TF 2.11), else 0.0."""
    names = [c.__module__ + "." + c.__name__ for c in type(optimizer).__mro__]
    return 1.0 if any("optimizer_v2" in n or ".legacy" in n for n in names) else 0.0
