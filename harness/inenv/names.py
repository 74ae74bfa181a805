"""Finding a Keras object by the name a case gives, whatever this Keras calls it.

TF 1.x exports initializers in lower case (``he_normal``, a function), TF 2 and
Keras 3 as classes (``HeNormal``); standalone Keras 2.2 has only loss functions;
optimizers are ``SGD`` and ``RMSprop``, never ``Sgd``. A case names the thing once,
in any of these spellings.
"""


def camel(name):
    """he_normal -> HeNormal."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def snake(name):
    """HeNormal -> he_normal."""
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and (name[i - 1].islower() or (i + 1 < len(name) and name[i + 1].islower())):
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def _key(name):
    return name.replace("_", "").lower()


def find(module, name, accept):
    """The attribute of ``module`` that ``name`` means, or None: ``name`` as given, a
    dotted path ("legacy.Adam"), its CamelCase or snake_case spelling, else any public
    attribute equal to it ignoring case and underscores. ``accept(obj)`` says which
    attributes count (classes, callables)."""
    if "." in name:
        head, _, rest = name.partition(".")
        inner = getattr(module, head, None)
        return None if inner is None else find(inner, rest, accept)
    for candidate in (name, camel(name), snake(name)):
        obj = getattr(module, candidate, None)
        if obj is not None and accept(obj):
            return obj
    wanted = _key(name)
    for attr in sorted(dir(module)):
        if not attr.startswith("_") and _key(attr) == wanted:
            obj = getattr(module, attr, None)
            if obj is not None and accept(obj):
                return obj
    return None


def public(module, accept):
    """The public names in ``module`` that ``accept`` takes (for error messages)."""
    out = []
    for attr in sorted(dir(module)):
        if attr.startswith("_"):
            continue
        try:
            obj = getattr(module, attr)
        except Exception:  # lazy loaders may fail on odd names
            continue
        if accept(obj):
            out.append(attr)
    return out


def full_name(obj):
    """"module.Class" of an object's class, skipping the harness's own wrappers (the
    ordered standalone-Keras optimizer subclasses its Keras class)."""
    for cls in type(obj).__mro__:
        module = getattr(cls, "__module__", "") or ""
        if not module.startswith("harness."):
            return "%s.%s" % (module, cls.__name__)
    return type(obj).__name__
