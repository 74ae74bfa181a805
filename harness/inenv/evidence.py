"""The extra runs of a variant that explain a difference from its golden values.

- round-off members: the variant again with 1 ULP of noise on its model's weights;
  the envelope says how far round-off alone moves each value;
- stream members: the variant again with every seed shifted; the envelope says how
  far another random stream moves each value;
- a transplant: the variant again from another environment's initial weights.

The host asks for them (harness.run.evidence) and weighs them (harness.check.causes,
harness.check.roundoff). Runs inside the pinned environment: Python 3.7+, numpy.
"""

import shutil
import tempfile
import time

from harness.inenv.probe import Probe, shifted_seeds
from harness.inenv.runs import error_info, run_once


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


def roundoff_envelope(fw, module, seeds, params, reference, count, channel, case, variant, first=1):
    """``count`` round-off members of one variant and their envelope around ``reference``;
    members are numbered from ``first`` (their perturbation seeds), so that members 2..N
    asked for later make, with member 1, the same envelope as N members at once (the host
    takes the largest of the two envelopes, harness.run.members). A variant that builds no
    model through the adapter has nothing to perturb: one member shows that, and its
    envelope is zero (the floor of harness.check.roundoff decides)."""
    started, runs = time.time(), []
    for seed in range(first, first + count):
        channel.send("run_start", case=case, variant=variant, what="round-off member %d" % seed)
        workdir = tempfile.mkdtemp(prefix="harness-")
        probe = Probe(fw, perturb_seed=seed, record=False)
        try:
            runs.append(run_once(fw, module, seeds, params, workdir, probe))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        if not probe.created_any:
            break
    return {"members": len(runs), "perturbation": "1 ULP at random on every float weight, at creation and after "
            "every training step", "values": envelope(reference, runs), "seconds": time.time() - started}


def stream_envelope(fw, module, seeds, params, reference, count, channel, case, variant):
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


def starts_key(probe):
    """The state training starts from, per created model, as the host keys it."""
    report = probe.report()
    created = [m for m in report["models"] if m["state_file"] is not None] or report["models"]
    return "|".join("/".join("%s:%s" % tuple(s) for s in (m["start"] or m["initial"])) for m in created) or None


def run_transplant(fw, module, seeds, params, states, source, channel, case, variant):
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
