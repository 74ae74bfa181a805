"""What the adapter sees of each model a case builds, and the few things it may do to it.

The adapter (harness.inenv.framework) calls a Probe when a model is created through
``k.sequential`` / ``k.model`` (or first used, if it was built later) and after every
training step it makes (``k.train_on_batch``, each batch of ``k.fit``). The probe:

- records the model's state: a digest of each weighted layer's trainable arrays and
  of its other arrays (BatchNormalization's moving statistics) when the model is
  created and after every step, with the loss the step reported. Two runs whose
  records agree took the same path bit for bit; where they part says where a
  difference entered (the forward pass of step k, the update of step k, layer L).
- saves the initial weights (numpy .npz), so another environment can start from them;
- in a transplant run, puts another environment's initial weights in instead
  (keras-team/keras#15899: the maintainers' advice for bypassing a changed random stream);
- in a round-off member, moves every float weight by one unit in the last place, up
  or down at random, once, when the model is created: a perturbation the size of
  round-off, as in the perturbation-growth test of Rosinski & Williamson (1997) and
  the ensemble consistency test of Baker et al. (2015). Once, not after every step:
  the calibration (harness.check.roundoff) found that a perturbation at every step
  adds more than a change of machine does, and the envelope then hides real changes.

Python 3.7+, standard library and numpy only.
"""

import contextlib
import hashlib
import inspect
import os
import re
import threading

import numpy as np

DIGEST_CHARS = 16
MAX_STATE_BYTES = 256 * 1024 * 1024  # initial weights larger than this are not saved (no transplant)
RANDOM_LAYERS = ("Dropout", "Noise", "Random")  # class names of layers that draw during training


def digest(arrays):
    """A short sha256 of arrays' dtypes, shapes and bytes ("" for none)."""
    if not arrays:
        return ""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(("%s%s" % (a.dtype.str, a.shape)).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:DIGEST_CHARS]


def safe_part(name):
    """A file-name-safe version of a case or variant name, unique by a short hash."""
    clean = re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:40].strip("._") or "x"
    return "%s-%s" % (clean, hashlib.sha256(name.encode("utf-8")).hexdigest()[:8])


class TransplantError(Exception):
    """The source's initial state does not fit this model (another architecture)."""


class Probe:
    """One run of one variant: the models it builds, in creation order.

    ``state_dir``: save each model's initial weights there (None: do not).
    ``transplant``: a list of .npz paths, one per model, whose weights replace the
    initial weights (None: none). ``perturb_seed``: make this a round-off member."""

    def __init__(self, fw, state_dir=None, transplant=None, transplanted_from=None, perturb_seed=None,
                 record=True):
        self.fw = fw
        self.state_dir = state_dir
        self.transplant = transplant
        self.transplanted_from = transplanted_from
        self.rng = np.random.RandomState(perturb_seed) if perturb_seed is not None else None
        self.record = record
        self.models = []  # [model, record dict] in the order the adapter first saw them
        self._index = {}  # id(model) -> position
        self._created = []  # the models the case built through the adapter, in order

    @property
    def created_any(self):
        """Whether the case built a model through the adapter (something to perturb)."""
        return bool(self._created)

    # -- called by the adapter ---------------------------------------------------
    def created(self, model):
        """``model`` was just built by the case (k.sequential, k.model): the models a
        transplant fills and a member perturbs are these, in creation order."""
        self._created.append(model)
        self.seen(model)

    def seen(self, model):
        """The first time the adapter sees ``model`` built: its initial state. A model first
        seen elsewhere (loaded from a file) is recorded, never transplanted or perturbed."""
        if id(model) in self._index or not self._built(model):
            return
        position = len(self.models)
        self._index[id(model)] = position
        built = next((i for i, m in enumerate(self._created) if m is model), None)
        record = {"layers": [], "shapes": [], "initial": [], "start": None, "steps": [], "outputs": [], "draws": [],
                  "state_file": None}
        self.models.append((model, record))
        if built is not None and self.transplant is not None:
            self._transplant(model, built)
        if built is not None and self.rng is not None:
            self._perturb(model)
        layers = self.fw.weighted_layers(model)
        record["layers"] = [label for label, _ in layers]
        record["shapes"] = [[_dims(w) for w in layer.weights] for _, layer in layers]
        record["draws"] = self._random_layers(model)
        if self.record:
            record["initial"] = self._state(model)
        if built is not None and self.state_dir is not None:
            record["state_file"] = self._save(model, built)

    def starting(self, model):
        """Right before the first training step of ``model`` (or its first forward pass, if
        that comes first): the weights it starts from, which a case may have set after
        creating the model (from numpy, say)."""
        self.seen(model)
        position = self._index.get(id(model))
        if position is None or not self.record or self.models[position][1]["start"] is not None:
            return
        self.models[position][1]["start"] = self._state(model)

    def predicted(self, model, outputs):
        """A forward pass outside training (``k.predict``): its outputs' digest, with the
        number of steps made so far, so that a changed forward pass shows before any step."""
        position = self._index.get(id(model))
        if position is None or not self.record:
            return
        record = self.models[position][1]
        if record["start"] is None:  # a model used before (or without) training starts from this
            record["start"] = self._state(model)
        # The state it ran on too: weights set outside training (set_weights) show here.
        record["outputs"].append([len(record["steps"]), digest([np.asarray(outputs)]), self._state(model)])

    def stepped(self, model, loss=None):
        """After one training step of ``model`` (loss: what the step reported)."""
        self.seen(model)
        position = self._index.get(id(model))
        if position is None:
            return
        if self.record and self.models[position][1]["start"] is None:
            self.models[position][1]["start"] = self.models[position][1]["initial"]
        if self.record:
            self.models[position][1]["steps"].append({"loss": _number(loss), "layers": self._state(model)})

    def drew(self, model, what):
        """A random draw during training that no transplant carries (fit's shuffling)."""
        self.seen(model)
        position = self._index.get(id(model))
        if position is not None and what not in self.models[position][1]["draws"]:
            self.models[position][1]["draws"].append(what)

    def report(self):
        """The probe document (harness.core.documents.probes.Probe) of this run."""
        return {"models": [record for _, record in self.models], "transplanted_from": self.transplanted_from,
                "perturbation": "1 ULP at random on every float weight, once, at creation"
                if self.rng is not None else None}

    # -- inside --------------------------------------------------------------------
    @staticmethod
    def _built(model):
        try:
            return bool(model.weights)
        except Exception:  # an unbuilt Keras 2 model raises on .weights in some versions
            return False

    def _state(self, model):
        """[trainable digest, other digest] per weighted layer, read in one go."""
        groups = self.fw.weight_groups(model)
        values = self.fw.read_variables([v for _, trainable, other in groups for v in trainable + other])
        out, i = [], 0
        for _, trainable, other in groups:
            n_train, n_other = len(trainable), len(other)
            out.append([digest(values[i:i + n_train]), digest(values[i + n_train:i + n_train + n_other])])
            i += n_train + n_other
        return out

    def _save(self, model, position):
        arrays = [np.asarray(w) for w in model.get_weights()]
        if sum(a.nbytes for a in arrays) > MAX_STATE_BYTES:
            return None
        if not os.path.isdir(self.state_dir):
            os.makedirs(self.state_dir)
        path = os.path.join(self.state_dir, "model%d.npz" % position)
        np.savez(path, *arrays)
        return path

    def _transplant(self, model, position):
        if position >= len(self.transplant):
            raise TransplantError("the source environment built %d model(s); this run builds more"
                                  % len(self.transplant))
        path = self.transplant[position]
        if path is None:
            raise TransplantError("the source's initial weights of model %d were not saved (too large)" % position)
        if not os.path.exists(path):
            raise TransplantError("the source's initial weights %s are gone (run the source again)" % path)
        with np.load(path, allow_pickle=False) as data:
            arrays = [data["arr_%d" % i] for i in range(len(data.files))]
        current = model.get_weights()
        shapes_here = [tuple(np.shape(w)) for w in current]
        shapes_there = [tuple(a.shape) for a in arrays]
        if shapes_here != shapes_there:
            raise TransplantError("model %d has weight shapes %s here and %s in the source: another architecture"
                                  % (position, shapes_here, shapes_there))
        model.set_weights([a.astype(np.asarray(w).dtype) for a, w in zip(arrays, current)])

    def _perturb(self, model):
        weights = model.get_weights()
        moved = []
        for w in weights:
            w = np.array(w)
            if w.dtype.kind == "f" and w.size:
                up = self.rng.randint(0, 2, size=w.shape).astype(bool)
                target = np.where(up, np.inf, -np.inf).astype(w.dtype)
                nudged = np.nextafter(w, target)
                w = np.where(w == 0, w, nudged).astype(w.dtype)  # exact zeros stay: round-off never moves them
            moved.append(w)
        model.set_weights(moved)

    def _random_layers(self, model):
        found = []
        for layer in getattr(model, "layers", []):
            name = type(layer).__name__
            if any(key in name for key in RANDOM_LAYERS):
                found.append("%s (%s)" % (name, layer.name))
        return found


def _dims(variable):
    """A variable's shape as plain ints (TF 1's shapes are Dimension objects)."""
    shape = getattr(variable, "shape", ())
    dims = shape.as_list() if hasattr(shape, "as_list") else list(shape)
    return [int(d) if d is not None else -1 for d in dims]


def _number(value):
    if value is None:
        return None
    try:
        return float(np.ravel(np.asarray(value, dtype=np.float64))[0])
    except (TypeError, ValueError, IndexError):
        return None


_DEPTH = threading.local()


@contextlib.contextmanager
def shifted_seeds(keras, offset):
    """Every explicit seed given to a Keras initializer or layer (``seed=``), shifted by
    ``offset`` for the time being: with the framework's own seeds shifted too (the
    worker does that), a run draws from another random stream and computes the same.
    Initializers that call a parent's constructor shift once (the outermost call)."""
    patched = []
    for module in (getattr(keras, "initializers", None), getattr(keras, "layers", None)):
        for name in dir(module) if module is not None else ():
            cls = getattr(module, name, None)
            if not isinstance(cls, type) or "__init__" not in cls.__dict__:
                continue
            original = cls.__dict__["__init__"]
            try:
                signature = inspect.signature(original)
            except (TypeError, ValueError):
                continue
            if "seed" not in signature.parameters:
                continue
            cls.__init__ = _shifting(original, signature, offset)
            patched.append((cls, original))
    try:
        yield
    finally:
        for cls, original in patched:
            cls.__init__ = original


def _shifting(original, signature, offset):
    def __init__(self, *args, **kwargs):
        depth = getattr(_DEPTH, "value", 0)
        if depth == 0:
            try:
                bound = signature.bind(self, *args, **kwargs)
            except TypeError:
                bound = None
            if bound is not None and isinstance(bound.arguments.get("seed"), int) \
                    and not isinstance(bound.arguments.get("seed"), bool):
                bound.arguments["seed"] = bound.arguments["seed"] + offset
                args, kwargs = bound.args[1:], bound.kwargs
        _DEPTH.value = depth + 1
        try:
            original(self, *args, **kwargs)
        finally:
            _DEPTH.value = depth

    return __init__
