"""The in-environment worker: runs the tasks of a job and streams events to the host.

The host supervises this process: it enforces per-run timeouts and memory limits,
notices crashes, and starts a new worker for the cases still to run. The job and
the events are described in harness.inenv.protocol.

    python -m harness.inenv.worker --job JOB.json --fd 3
"""

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
import traceback

from harness.inenv import determinism, fingerprint, protocol
from harness.inenv.probe import Probe, safe_part, shifted_seeds

DEFAULT_SEEDS = {"numpy": 1, "python": 2, "framework": 3}
TRACEBACK_LINES = 12
KINDS = ("scalar", "series", "table", "array", "digest", "text")


class Channel:
    def __init__(self, fd):
        self._fh = os.fdopen(fd, "w", buffering=1)

    def send(self, event, **fields):
        fields["event"] = event
        fields["time"] = time.time()
        line = json.dumps(fields) + "\n"  # encoded first: a failure writes nothing half-way
        self._fh.write(line)
        self._fh.flush()


# -- cases ------------------------------------------------------------------------------
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


def error_info(exc):
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    text = "".join(lines).rstrip().splitlines()
    return {"type": type(exc).__name__, "message": str(exc)[:2000], "traceback": text[-TRACEBACK_LINES:]}


class BadObservables(Exception):
    """A case's run() returned something that is not a dict of observables."""


def check_observables(value):
    """``value`` if it is what run() must return ({name: observable made by
    harness.inenv.observe}, sizes within the limit), else BadObservables saying what."""
    if not isinstance(value, dict):
        raise BadObservables("run() must return a dict {name: observable} made with harness.inenv.observe, "
                             "not %s" % type(value).__name__)
    for name, obs in value.items():
        if not isinstance(name, str) or not isinstance(obs, dict) or obs.get("kind") not in KINDS:
            raise BadObservables("observable %r is %s; make it with observe.scalar/series/table/array/digest/"
                                 "text" % (name, type(obs).__name__ if not isinstance(obs, dict) else "a dict "
                                           "without a known kind"))
        if obs["kind"] in ("digest", "text"):
            if not isinstance(obs.get("value"), str):
                raise BadObservables("observable %r has no text value" % name)
            continue
        values = obs.get("values")
        if not isinstance(values, list):
            raise BadObservables("observable %r has no list of values" % name)
        if len(values) > protocol.MAX_OBSERVABLE_VALUES:
            raise BadObservables("observable %r holds %d values, more than the limit of %d; record a "
                                 "summary (sums, a digest) instead" % (name, len(values), protocol.MAX_OBSERVABLE_VALUES))
    return value


# -- runs -------------------------------------------------------------------------------
def run_once(fw, module, seeds, params, workdir, probe=None):
    with fw.fresh(seeds):
        fw.probe = probe
        try:
            return check_observables(module.run(fw, workdir=workdir, **params))
        finally:
            fw.probe = None


def differing(first, second):
    """Observables whose values are not bitwise equal between two runs (NaN equals NaN)."""
    names = []
    for name in sorted(set(first) | set(second)):
        if not same_bits(first.get(name), second.get(name)):
            names.append(name)
    return names


def same_bits(a, b):
    if a is None or b is None:
        return a is b
    if a.get("kind") != b.get("kind") or a.get("value") != b.get("value") or a.get("shape") != b.get("shape"):
        return False
    xs, ys = a.get("values") or [], b.get("values") or []
    if len(xs) != len(ys):
        return False
    # equal, or both NaN (x != x holds for NaN only)
    return all(x == y or (x != x and y != y) for x, y in zip(xs, ys))


def envelope(reference, members):
    """For every numeric observable: the largest |member - reference| over the members,
    value by value (a value that is NaN in one and not the other: infinity)."""
    import numpy as np

    out = {}
    for name, obs in reference.items():
        if obs.get("kind") in ("digest", "text"):
            continue
        ref = np.asarray(obs.get("values") or [], dtype=np.float64)
        widest = np.zeros(ref.shape)
        for member in members:
            other = member.get(name)
            values = np.asarray((other or {}).get("values") or [], dtype=np.float64)
            if values.shape != ref.shape:
                widest[:] = np.inf
                continue
            with np.errstate(invalid="ignore", over="ignore"):
                gap = np.abs(values - ref)
            both_nan = np.isnan(values) & np.isnan(ref)
            gap = np.where(both_nan, 0.0, np.where(np.isnan(gap), np.inf, gap))
            widest = np.maximum(widest, gap)
        out[name] = [float(x) for x in widest]
    return out


def _members(fw, module, seeds, params, reference, count, channel, case, variant):
    """``count`` round-off members of one variant and their envelope around ``reference``.
    A variant that builds no model through the adapter has nothing to perturb: one member
    shows that, and its envelope is zero (the floor of harness.check.roundoff decides)."""
    started, runs = time.time(), []
    for seed in range(1, count + 1):
        channel.send("run_start", case=case, variant=variant, what="round-off member %d" % seed)
        workdir = tempfile.mkdtemp(prefix="harness-")
        probe = Probe(fw, perturb_seed=seed, record=False)
        try:
            runs.append(run_once(fw, module, seeds, params, workdir, probe))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        if not probe.created_any:
            break
    return {"members": count, "perturbation": "1 ULP at random on every float weight, at creation and after "
            "every training step", "values": envelope(reference, runs), "seconds": time.time() - started}


def _stream(fw, module, seeds, params, reference, count, channel, case, variant):
    """``count`` runs with every seed shifted (the framework's, numpy's, Python's and
    every explicit ``seed=`` of a Keras initializer or layer): how far another random
    stream moves each value, around ``reference``."""
    started, runs = time.time(), []
    for offset in range(1, count + 1):
        channel.send("run_start", case=case, variant=variant, what="stream member %d" % offset)
        workdir = tempfile.mkdtemp(prefix="harness-")
        shifted = dict((k, v + 1000 * offset) for k, v in seeds.items())
        try:
            with shifted_seeds(fw.keras, 1000 * offset):
                runs.append(run_once(fw, module, shifted, params, workdir))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    return {"members": count, "perturbation": "every seed shifted by 1000 per member (framework, numpy, Python, "
            "and the seed= of Keras initializers and layers)", "values": envelope(reference, runs),
            "seconds": time.time() - started}


def _starts(probe):
    """The state training starts from, per created model, as the host keys it."""
    report = probe.report()
    created = [m for m in report["models"] if m["state_file"] is not None] or report["models"]
    return "|".join("/".join("%s:%s" % tuple(s) for s in (m["start"] or m["initial"])) for m in created) or None


def _transplant(fw, module, seeds, params, states, source, channel, case, variant):
    """One more run of a variant, from ``source``'s initial weights (the .npz ``states``)."""
    channel.send("run_start", case=case, variant=variant, what="run from %s's initial weights" % source)
    started = time.time()
    workdir = tempfile.mkdtemp(prefix="harness-")
    probe = Probe(fw, transplant=states, transplanted_from=source)
    try:
        observables = run_once(fw, module, seeds, params, workdir, probe)
        return {"source": source, "observables": observables, "probe": probe.report(),
                "seconds": time.time() - started}
    except Exception as exc:
        return {"source": source, "observables": {}, "error": error_info(exc), "seconds": time.time() - started}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run_task(channel, fw, task, name, path):
    channel.send("case_start", case=name, mode=task["mode"], source_sha256=source_digest(path))
    try:
        module = load_case(name, path)
        decl = declaration(module, path)
    except Exception as exc:
        channel.send("case_error", case=name, error=error_info(exc))
        return
    channel.send("case_declared", case=name, declaration=decl)
    all_variants = getattr(module, "VARIANTS", {"default": {}})
    chosen = task.get("variants") or list(all_variants)
    if task.get("reverse"):
        chosen = list(reversed(chosen))
    for variant in chosen:
        if variant not in all_variants:
            channel.send("variant_error", case=name, variant=variant, seconds=0.0,
                         error={"type": "UnknownVariant", "message": "the case has no variant %r" % variant,
                                "traceback": []})
            continue
        _run_variant(channel, fw, task, name, module, decl["seeds"], variant, all_variants[variant])
    channel.send("case_end", case=name)


def _run_variant(channel, fw, task, case, module, seeds, variant, params):
    mode = task["mode"]
    channel.send("run_start", case=case, variant=variant, what=mode)
    workdir = tempfile.mkdtemp(prefix="harness-")
    started = time.time()
    done = {"case": case, "variant": variant, "mode": mode}
    try:
        if mode == "run":
            state_dir = task.get("state_dir")
            if state_dir:
                state_dir = os.path.join(state_dir, safe_part(case), safe_part(variant))
            probe = Probe(fw, state_dir=state_dir)
            observables = run_once(fw, module, seeds, params, workdir, probe)
            done.update(observables=observables, probe=probe.report(), first_seconds=time.time() - started)
            golden = (task.get("golden") or {}).get(variant)
            if golden is not None:
                done["golden_match"] = not differing(golden, observables)
                if not done["golden_match"] and task.get("members"):
                    done["envelope"] = _members(fw, module, seeds, params, observables, task["members"],
                                                channel, case, variant)
                states = (task.get("golden_states") or {}).get(variant)
                if not done["golden_match"] and states and _starts(probe) != (task.get("golden_starts") or {}).get(
                        variant):
                    done["transplant"] = _transplant(fw, module, seeds, params, states, "golden", channel, case,
                                                     variant)
        elif mode == "repeat":
            observables = run_once(fw, module, seeds, params, workdir)
            again = []
            for _ in range(int(task.get("runs", 1)) - 1):
                again.append(differing(observables, run_once(fw, module, seeds, params, workdir)))
            done.update(observables=observables, repeats=len(again),
                        nondeterministic=sorted({n for diff in again for n in diff}))
        elif mode in ("envelope", "stream"):
            reference = (task.get("reference") or {}).get(variant)
            if reference is None:
                raise ValueError("no reference values for %s/%s" % (case, variant))
            gather = _members if mode == "envelope" else _stream
            done[mode] = gather(fw, module, seeds, params, reference, int(task.get("members") or 1), channel, case,
                                variant)
        elif mode == "transplant":
            spec = task["transplant"]
            probe = Probe(fw, transplant=(spec.get("states") or {}).get(variant) or [],
                          transplanted_from=spec.get("source"))
            done.update(observables=run_once(fw, module, seeds, params, workdir, probe), probe=probe.report(),
                        source=spec.get("source"))
    except Exception as exc:  # TransplantError and whatever the case raised
        source = (task.get("transplant") or {}).get("source") if mode == "transplant" else None
        channel.send("variant_error", case=case, variant=variant, mode=mode, error=error_info(exc),
                     seconds=time.time() - started, source=source)
        return
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    done["seconds"] = time.time() - started
    try:
        channel.send("variant_done", **done)
    except (TypeError, ValueError) as exc:  # something the runner recorded is not JSON: a bug, said here
        channel.send("variant_error", case=case, variant=variant, mode=mode, error=error_info(exc),
                     seconds=time.time() - started)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--job", required=True, help="the job file (harness.inenv.protocol)")
    parser.add_argument("--fd", type=int, required=True, help="the file descriptor events go to")
    args = parser.parse_args(argv)
    channel = Channel(args.fd)
    try:
        with open(args.job) as fh:
            job = protocol.check_job(json.load(fh))
    except (OSError, ValueError) as exc:
        channel.send("framework_error", error=error_info(exc))
        return 3
    # Determinism variables must be in place before the framework is imported;
    # the host sets them too, this covers a worker started by hand.
    for key, value in determinism.PROCESS_ENV.items():
        os.environ.setdefault(key, value)

    started = time.time()
    try:
        from harness.inenv.framework import Framework

        fw = Framework(job["flavour"], job["backend"])
    except Exception as exc:
        channel.send("framework_error", error=error_info(exc))
        return 3
    channel.send(
        "ready", protocol=protocol.PROTOCOL, fingerprint=fingerprint.collect(fw), versions=fw.versions(),
        determinism=dict(fw.settings, threads=determinism.THREADS), import_seconds=time.time() - started,
    )
    cases = discover(job["case_dirs"])
    for task in job["tasks"]:
        path = cases.get(task["case"])
        if path is None:
            channel.send("case_start", case=task["case"], mode=task["mode"], source_sha256=None)
            channel.send("case_error", case=task["case"], error={"type": "UnknownCase", "traceback": [],
                                                                 "message": "no case module %r" % task["case"]})
            continue
        run_task(channel, fw, task, task["case"], path)
    channel.send("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
