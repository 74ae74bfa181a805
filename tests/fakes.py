"""Small, explicit results documents for testing the pipeline steps without an
environment. Real environments are exercised in test_real_envs.py."""

import copy
import json

from harness.check import bless
from harness.core import store
from harness.core.documents.results import Results
from harness.core.reader import Where
from harness.matrix import envs
from harness.run import supervise


def series(values, axis="epoch"):
    return {"kind": "series", "dtype": "float32", "shape": [len(values)], "axes": [axis], "values": list(values)}


def probe(loss, initial=(0.5, -0.25)):
    """What the adapter's probe records for a two-layer model that starts from weights
    summing to ``initial`` and reports ``loss`` at its steps (the state after a step
    follows from the losses so far)."""
    def digest(*values):
        return "d" + "-".join(repr(v) for v in values)

    start = [[digest(initial[0]), ""], [digest(initial[1]), ""]]
    steps = [{"loss": value, "layers": [[digest(initial[0], *loss[:k + 1]), ""], [digest(initial[1], *loss[:k + 1]), ""]]}
             for k, value in enumerate(loss)]
    return {"models": [{"layers": ["Dense#0", "Dense#1"], "shapes": [[[2, 2]], [[2, 2]]], "initial": start,
                        "start": start, "steps": steps, "outputs": [], "draws": [], "state_file": None}],
            "transplanted_from": None, "perturbation": None}


def variant(loss, initial=(0.5, -0.25), nondeterministic=(), with_probe=False):
    traj = [[initial[0] + i * 0.01, initial[1] - i * 0.01] for i in range(3)]
    return {
        "status": "ok",
        "observables": {
            "initial_weight_sums": series(initial, axis="layer"),
            "loss": series(loss),
            "trajectory": {"kind": "table", "dtype": "float32", "shape": [3, 2], "axes": ["step", "layer"],
                           "labels": ["Dense#0", "Dense#1"], "values": [x for row in traj for x in row]},
            "final_weights_digest": {"kind": "digest", "value": "sha256:" + str(loss[-1])},
        },
        "nondeterministic": list(nondeterministic),
        "repeats": 1,
        "seconds": 0.1,
        "probe": probe(list(loss), initial) if with_probe else None,
    }


def case(variants, invariants=(), claims=()):
    return {
        "status": "ok",
        "error": None,
        "source_sha256": "0" * 64,
        "declaration": {"doc": "", "variants": list(variants), "seeds": {}, "invariants": list(invariants),
                        "claims": list(claims), "tolerances": {}, "timeout": None},
        "variants": variants,
    }


def result(env_id, cases, packages=None):
    doc = supervise.base_document(envs.by_id(env_id))
    doc["fingerprint"] = {"packages": packages or {"tensorflow-cpu": "2.15.0", "numpy": "1.26.2"}, "cpu": {},
                          "env": {}}
    doc["versions"] = {"tensorflow": "2.15.0"}
    doc["cases"] = copy.deepcopy(cases)
    return doc


def write(folder, doc):
    store.write_json(store.document_path(str(folder), doc["env"]["id"]), doc)


def golden(doc):
    """The golden document a bless of every case of results ``doc`` writes."""
    result = Results.from_json(Where("fake results"), json.loads(json.dumps(doc)))
    return bless.golden_from_results(result, list(result.cases), None, prune=False).to_json()


SAME = {"type": "same", "name": "a equals b", "a": "a", "b": "b", "observables": None, "bitwise": False,
        "why": "test"}


def typed(doc):
    """A results document as the harness reads it."""
    return Results.from_json(Where("fake results"), json.loads(json.dumps(doc)))
