"""What differs between Keras versions, where the adapter (harness.inenv.framework) needs it.

Each function names the versions it is for and why. Python 3.7+, standard library,
numpy and the framework only.
"""

import collections
import hashlib
import importlib
import weakref

import numpy as np


def _keras_version(keras):
    # TF 2.15's tf.keras is a lazy loader of keras.api._v2.keras, which has no __version__.
    version = getattr(keras, "__version__", None)
    return version if version is not None else importlib.import_module("keras").__version__


def _executing_eagerly(tf):
    fn = getattr(tf, "executing_eagerly", None)
    return bool(fn()) if fn is not None else False


def _ordered_iterations(keras, tf, optimizer_class):
    """A standalone-Keras optimizer whose step count is incremented after every other
    update of the step. Keras 2.2/2.3 add ``iterations += 1`` and read ``iterations``
    (Adam's bias correction, SGD's decay) in the same graph step with no order
    between them, so two runs differ in the last bits. Ordering the increment last
    makes every read see the step's own count, as tf.keras's optimizers do."""
    K = keras.backend
    symbolic = getattr(K, "symbolic", lambda fn: fn)  # Keras 2.3 builds in its own graph

    class Ordered(optimizer_class):
        @symbolic
        def get_updates(self, loss, params):
            updates = super().get_updates(loss, params)
            with tf.control_dependencies(updates[1:]):
                updates[0] = K.update_add(self.iterations, 1)
            self.updates = updates
            return updates

    Ordered.__name__ = optimizer_class.__name__
    return Ordered


def _retracing_step_loop(train_function):
    """The Python step loop inside Keras's train function, where that function
    retraces on every train_on_batch call. Keras 3 on TensorFlow before 3.9 (3.0, 3.4
    and 3.6 here) hands train_on_batch's batch to a tf.function as a new Python
    generator each time, so every call traces again, with the batch baked into the
    graph as constants, and the function keeps every trace: a thousand calls spend
    minutes comparing signatures. None where Keras does not retrace (Keras 3.9
    iterates the generator eagerly and passes the batch as an argument: faster, but
    other last bits, so that is not done here; see _BatchTracedSteps)."""
    loop = getattr(train_function, "python_function", None)
    if getattr(loop, "__name__", "") == "one_step_on_iterator":
        return loop
    return None


# Keras's train function -> its _BatchTracedSteps. Weak: a recompiled model (a new
# train function) drops the old traces with the old function.
_STEP_CACHES = weakref.WeakKeyDictionary()  # type: weakref.WeakKeyDictionary


def _batch_traced_steps(tf, train_function):
    """What train_on_batch should call instead of ``train_function``, or None where
    Keras's own function is fine (it does not retrace per call)."""
    loop = _retracing_step_loop(train_function)
    if loop is None:
        return None
    steps = _STEP_CACHES.get(train_function)
    if steps is None:
        steps = _STEP_CACHES[train_function] = _BatchTracedSteps(tf, loop)
    return steps


class _BatchTracedSteps:
    """Keras's step loop traced once per batch content, then called again.

    Keras 3.0-3.6 trace their step loop anew on every train_on_batch call, the batch
    baked into the graph as constants. That graph is a function of the batch alone:
    the step itself (Keras's inner tf.function, cached by shape and dtype) belongs to
    this train function, and every weight, optimizer slot, step count, metric and
    RNG seed is a captured variable, read and written when the graph runs, never a
    constant (set_weights, reset_metrics and the optimizer's updates between calls
    all reach a reused trace). So a call whose batch has the bytes, dtypes, shapes and
    structure of an earlier call's runs that call's trace: the same graph, constants
    included, that a fresh trace would build, bit for bit, without tracing it again
    (deep_saturation trains 250 steps on one full batch). A batch seen for the first
    time is traced as Keras traces it: the loop, with an iterator over that batch,
    inside a tf.function. Anything but plain numeric arrays, None and tuples, lists
    or dicts of them is traced for its call only.

    Bounded: at most MAX_ENTRIES traces per train function and MAX_BYTES of batch
    data over them (a larger batch keeps only its own trace), least recently used
    first out. An evicted batch seen again is traced again, to the same graph."""

    MAX_ENTRIES = 32
    MAX_BYTES = 16 << 20

    def __init__(self, tf, loop):
        self.tf = tf
        self.loop = loop
        self.traces = collections.OrderedDict()  # batch digest -> (tf.function, bytes)
        self.nbytes = 0
        self.traced = 0  # how many traces were built, for the tests and the curious

    def __call__(self, iterator):
        batch = next(iterator)
        key, nbytes = _batch_digest(batch)
        if key is None:
            self.traced += 1
            return self.tf.function(self.loop, reduce_retracing=True)(iter((batch,)))
        entry = self.traces.pop(key, None)
        if entry is None:
            entry = (self._trace(_frozen(batch)), nbytes)
            self.nbytes += nbytes
            self.traced += 1
        self.traces[key] = entry  # most recently used last
        while len(self.traces) > 1 and (len(self.traces) > self.MAX_ENTRIES or self.nbytes > self.MAX_BYTES):
            _, (_, dropped) = self.traces.popitem(last=False)
            self.nbytes -= dropped
        return entry[0]()

    def _trace(self, batch):
        loop = self.loop

        def one_step_on_iterator():
            # A fresh iterator per trace: TensorFlow traces a function twice when
            # its first trace creates variables (an optimizer built on first use).
            return loop(iter((batch,)))

        # Keras's loop is do_not_convert; so is this wrapper, to trace nothing else.
        return self.tf.function(one_step_on_iterator, autograph=False)


def _batch_digest(batch):
    """(sha256 of a batch's structure, dtypes, shapes and bytes, its bytes), or
    (None, 0) where the batch holds anything but numeric numpy arrays and None in
    tuples, lists and dicts."""
    h = hashlib.sha256()
    nbytes = [0]

    def walk(value):
        kind = type(value)
        if value is None:
            h.update(b"N;")
        elif kind is np.ndarray:
            if value.dtype.kind not in "biufc":
                return False
            h.update(("A%s%s;" % (value.dtype.str, value.shape)).encode())
            h.update(np.ascontiguousarray(value).tobytes())
            nbytes[0] += value.nbytes
        elif kind in (tuple, list):
            h.update(("%s%d;" % ("T" if kind is tuple else "L", len(value))).encode())
            return all(walk(item) for item in value)
        elif kind is dict:
            if not all(type(k) is str for k in value):
                return False
            h.update(("D%d;" % len(value)).encode())
            for k in sorted(value):
                h.update(("K%r;" % (k,)).encode())
                if not walk(value[k]):
                    return False
        else:
            return False
        return True

    if not walk(batch):
        return None, 0
    return h.hexdigest(), nbytes[0]


def _frozen(batch):
    """A private, read-only copy of a batch's arrays (in the same structure), so a
    caller writing into its arrays later cannot change what a trace holds."""
    if isinstance(batch, np.ndarray):
        copy = np.array(batch, copy=True)
        copy.setflags(write=False)
        return copy
    if isinstance(batch, (tuple, list)):
        return type(batch)(_frozen(item) for item in batch)
    if isinstance(batch, dict):
        return {k: _frozen(v) for k, v in batch.items()}
    return batch


def _applies_decay(optimizer, decay):
    """Whether a Keras 2 optimizer kept ``decay`` (optimizer_v2 as ``_initial_decay``,
    standalone Keras as ``initial_decay``); Keras 3 keeps neither."""
    kept = getattr(optimizer, "_initial_decay", getattr(optimizer, "initial_decay", None))
    return kept is not None and float(kept) == float(decay)


def _metric_name(name):
    # Keras < 2.3 says "acc"; everything later says "accuracy".
    if name in ("acc", "val_acc"):
        return name.replace("acc", "accuracy")
    return name


def weights_digest(arrays):
    """"sha256:<hex>" over each array's dtype, shape and C-ordered bytes, in order:
    equal only for bit-identical arrays of the same dtypes and shapes."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(("%s%s" % (a.dtype.str, a.shape)).encode())
        h.update(a.tobytes())
    return "sha256:" + h.hexdigest()
