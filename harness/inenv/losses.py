"""Loss objects by name, and a loss's value on numpy arrays.

    loss = k.loss("mse")                                  # MeanSquaredError()
    loss = k.loss("CategoricalCrossentropy", from_logits=True)
    model.compile(optimizer=k.optimizer("adam"), loss=loss)
    k.loss_value(loss, y_true, y_pred)                    # a float

Names: the class (``MeanSquaredError``), its snake_case (``mean_squared_error``) or
Keras's short aliases (mse, mae, mape, msle). Standalone Keras 2.2 has no loss
classes: there a name without arguments gives the loss function.
"""

import numpy as np

from harness.inenv import names

ALIASES = {"mse": "mean_squared_error", "mae": "mean_absolute_error", "mape": "mean_absolute_percentage_error",
           "msle": "mean_squared_logarithmic_error", "kld": "kl_divergence"}
# One loss, two names across versions (standalone Keras 2.2 knows only the long one).
SYNONYMS = ({"kl_divergence", "kullback_leibler_divergence"},)


def _spellings(name):
    full = ALIASES.get(name.lower(), name)
    out = [full]
    for group in SYNONYMS:
        if names.snake(full) in group:
            out += sorted(group - {names.snake(full)})
    return out


def make(keras, name, **kwargs):
    """A loss object (a Loss subclass), or in a Keras without loss classes the loss
    function (then no arguments are allowed)."""
    base = getattr(keras.losses, "Loss", None)
    if base is not None:
        for spelling in _spellings(name):
            cls = names.find(keras.losses, names.camel(spelling) if spelling.islower() else spelling,
                             lambda obj: isinstance(obj, type) and issubclass(obj, base) and obj is not base)
            if cls is not None:
                return cls(**kwargs)
    for spelling in _spellings(name):
        function = names.find(keras.losses, spelling if spelling.islower() else names.snake(spelling),
                              lambda obj: callable(obj) and not isinstance(obj, type))
        if function is not None:
            break
    else:
        raise ValueError("this Keras has no loss %r" % (name,))
    if kwargs:
        raise ValueError("this Keras has no loss class for %r, only the function %s, which takes no %s"
                         % (name, function.__name__, ", ".join(sorted(kwargs))))
    return function


def value(fw, loss, y_true, y_pred):
    """``loss(y_true, y_pred)`` computed by the framework, as a float: a loss function's
    per-sample values are averaged, as compile() does with them. A loss object made
    with reduction="none" gives its numpy array."""
    out = np.asarray(fw.to_numpy(loss(fw.tensor(y_true), fw.tensor(y_pred))))
    if not hasattr(loss, "get_config"):  # a function: one value per sample
        return float(np.mean(out, dtype=np.float64))
    return float(out) if out.ndim == 0 else out
