"""Optimizers by name with their arguments, from a config, and their learning rate.

    k.optimizer("adam", learning_rate=0.01)              # Adam, Adadelta, RMSprop, SGD, ...
    k.optimizer("legacy.Adam", learning_rate=0.01)      # a dotted name reaches a submodule
    k.optimizer_from_config({"class_name": "adam", "config": {"learning_rate": 0.01}})
    k.learning_rate(model.optimizer)                     # a float, however it is stored
    k.set_learning_rate(model.optimizer, 0.01)
    k.class_name(model.optimizer)                        # "keras.optimizers.legacy.adam.Adam"

``learning_rate`` is called ``lr`` in standalone Keras 2.2; both work everywhere.
In standalone Keras the optimizer's step counter is ordered after the step's other
updates (see quirks._ordered_iterations); ``wrap`` does that.
"""

import copy

import numpy as np

from harness.inenv import names

_SPELLINGS = ("learning_rate", "lr")


def find(keras, name):
    """The optimizer class ``name`` means ("adam", "Adadelta", "rmsprop", "legacy.SGD")."""
    found = names.find(keras.optimizers, name, _is_optimizer)
    if found is None:
        raise ValueError("this Keras has no optimizer %r; it has: %s" % (
            name, ", ".join(names.public(keras.optimizers, _is_optimizer))))
    return found


def _is_optimizer(obj):
    return isinstance(obj, type) and obj.__name__ not in ("Optimizer", "LossScaleOptimizer")


def make(keras, name, learning_rate=None, wrap=None, **kwargs):
    """An optimizer of class ``name`` with ``kwargs``; ``learning_rate`` under the name
    this Keras takes. A misspelt argument raises this Keras's TypeError."""
    cls = find(keras, name)
    if wrap is not None:
        cls = wrap(cls)
    if learning_rate is None:
        return cls(**kwargs)
    failure = None
    for spelling in _SPELLINGS:
        try:
            return cls(**dict(kwargs, **{spelling: learning_rate}))
        except TypeError as exc:  # standalone Keras 2.2: lr=; it names the argument it refused
            if spelling not in str(exc):
                raise
            failure = exc
    raise failure


def from_config(keras, config, wrap=None):
    """``keras.optimizers.deserialize(config)``: whatever class this Keras picks for a
    config (TF 2.11 picks the legacy one). A ``learning_rate`` in the config is renamed
    ``lr`` where this Keras knows only that."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError("an optimizer config is {'class_name': ..., 'config': {...}}, not %r" % (config,))
    try:
        optimizer = keras.optimizers.deserialize(copy.deepcopy(config))
    except TypeError as exc:
        inner = dict(config.get("config") or {})
        if "learning_rate" not in inner or "learning_rate" not in str(exc):
            raise
        inner["lr"] = inner.pop("learning_rate")
        optimizer = keras.optimizers.deserialize(dict(config, config=inner))
    if wrap is not None:
        cls = wrap(type(optimizer))
        if cls is not type(optimizer):
            optimizer = cls.from_config(optimizer.get_config())
    return optimizer


def _attribute(optimizer):
    for spelling in _SPELLINGS:
        if hasattr(optimizer, spelling):
            return spelling
    raise ValueError("%s has no learning rate" % names.full_name(optimizer))


def learning_rate(fw, optimizer):
    """The learning rate as a Python float (a float32 variable reads back as
    0.009999999776482582 for 0.01: claim it with a tolerance). A schedule raises."""
    value = getattr(optimizer, _attribute(optimizer))
    if isinstance(value, (int, float, np.floating)):
        return float(value)
    if fw.keras3:
        return float(np.asarray(fw.keras.ops.convert_to_numpy(value)))
    if callable(value) and not hasattr(value, "dtype"):
        raise ValueError("the learning rate of %s is a schedule (%s), not a number"
                         % (names.full_name(optimizer), names.full_name(value)))
    return float(np.asarray(fw.keras.backend.get_value(value)))


def set_learning_rate(fw, optimizer, value):
    """Set the learning rate, in place (a variable is assigned, so a compiled train
    step sees the new value)."""
    attribute = _attribute(optimizer)
    current = getattr(optimizer, attribute)
    if fw.flavour == "keras" and hasattr(current, "dtype"):  # standalone Keras: a backend variable
        fw.keras.backend.set_value(current, value)
    else:  # optimizer_v2, the TF 2.11 optimizers and Keras 3 assign in their setter
        setattr(optimizer, attribute, value)
