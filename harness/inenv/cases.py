"""The case modules: found in their folders, digested with their helpers, loaded, and
their declarations read and checked.

The host uses ``discover`` and ``source_digest`` too (what to run, and whether a
case changed since its results), so both run on the host's Python and in the pinned
environment's (Python 3.7+, standard library only).
"""

import hashlib
import importlib.util
import os
import sys

DEFAULT_SEEDS = {"numpy": 1, "python": 2, "framework": 3}


def discover(folders):
    """Case files by name; a later folder's case does not shadow an earlier one. Files
    starting with "_" are helpers a case may import, not cases."""
    found = {}
    for folder in folders:
        for entry in sorted(os.listdir(folder)):
            if entry.endswith(".py") and not entry.startswith("_"):
                name = entry[:-3]
                found.setdefault(name, os.path.join(folder, entry))
    return found


def helpers(path):
    """The helper modules beside a case ("_*.py" in its folder): it may import them, so
    they count in its digest."""
    folder = os.path.dirname(os.path.abspath(path))
    return sorted(os.path.join(folder, e) for e in os.listdir(folder)
                  if e.startswith("_") and e.endswith(".py") and e != "__init__.py")


def source_digest(path):
    """The sha256 of a case's source, combined with those of the helpers beside it
    when there are any: an edit to either runs the case again."""
    with open(path, "rb") as fh:
        data = fh.read()
    extra = helpers(path)
    if not extra:
        return hashlib.sha256(data).hexdigest()
    total = hashlib.sha256(hashlib.sha256(data).digest())
    for name in extra:
        with open(name, "rb") as fh:
            total.update(os.path.basename(name).encode() + b"\0" + hashlib.sha256(fh.read()).digest())
    return total.hexdigest()


def load_case(name, path):
    """The case module at ``path``, imported as ``harness_case_<name>`` with its folder on
    sys.path (for its ``_*.py`` helpers); whatever the module raises on import propagates."""
    folder = os.path.dirname(os.path.abspath(path))
    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)  # `import _shared` from the case's own folder
    spec = importlib.util.spec_from_file_location("harness_case_" + name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def declaration(module, path=None):
    """What a case declares, checked: an invariant or claim naming a variant the case does
    not have is an error that names it."""
    variants = getattr(module, "VARIANTS", {"default": {}})
    if not isinstance(variants, dict) or not variants or not all(isinstance(v, dict) for v in variants.values()):
        raise ValueError("VARIANTS must be a non-empty dict of {name: {parameter: value}}")
    seeds = dict(DEFAULT_SEEDS)
    seeds.update(getattr(module, "SEEDS", {}))
    decl = {
        "doc": (module.__doc__ or "").strip(),
        "variants": list(variants),
        "seeds": seeds,
        "invariants": list(getattr(module, "INVARIANTS", ())),
        "claims": list(getattr(module, "CLAIMS", ())),
        "tolerances": dict(getattr(module, "TOLERANCES", {})),
        "timeout": getattr(module, "TIMEOUT", None),
        "helpers": [os.path.basename(h) for h in helpers(path)] if path else [],
    }
    for name in _named_variants(decl):
        if name not in variants:
            raise ValueError("a declaration names the variant %r, which VARIANTS does not have (%s)"
                             % (name, ", ".join(variants)))
    return decl


def _named_variants(decl):
    for inv in decl["invariants"]:
        if inv.get("type") == "same":
            for side in (inv.get("a"), inv.get("b")):
                yield str(side).partition(":")[0]
        elif inv.get("type") == "at_most":
            yield inv.get("variant")
    for claim in decl["claims"]:
        for side in (claim.get("lhs"), claim.get("rhs")):
            if isinstance(side, dict):
                yield side.get("variant")
