"""The adapter `k` covers what real cases need (issue 16): initializers by name with a
seed, optimizers by name and from a config, loss objects, weights, the functional API,
text observables, claims with ==, != and a tolerance, helper modules beside a case,
the SEEDS hook; and field cases rewritten on it give the same numbers as the originals.

The first tests need no framework; those marked `envs` run the adapter inside real
pinned environments (TF 1.14 graph mode, standalone Keras 2.2.4, TF 2.15, Keras 3).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import types

import pytest

from harness import cli
from harness.check.verdicts import holds
from harness.core.documents.declarations import Claim
from harness.core.documents.observables import Kind, Observable
from harness.core.reader import Where
from harness.inenv import cases, declare, names, observe, runs
from harness.matrix import envs
from harness.run import staging

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIELD_CASES = os.path.join(ROOT, "tests", "field_cases")
SHARED_FIELD_CASES = os.path.normpath(os.path.join(ROOT, "..", "shared", "field-cases"))
REWRITTEN = ("he_normal_range", "optimizer_from_config", "seeded_init_instances")


# -- text observables ------------------------------------------------------------------------
def test_a_text_observable_is_a_kind_the_worker_and_the_host_accept():
    obs = observe.text(type("Adam", (), {}).__name__)
    assert obs == {"kind": "text", "value": "Adam"}
    assert observe.text(3) == {"kind": "text", "value": "3"}
    assert runs.check_observables({"optimizer_class": obs}) == {"optimizer_class": obs}
    parsed = Observable.from_json(Where("results.json"), obs)
    assert parsed.kind == Kind.TEXT and not parsed.kind.numeric


def test_two_texts_are_the_same_bits_only_when_equal():
    assert runs.differing({"c": observe.text("Adam")}, {"c": observe.text("Adam")}) == []
    assert runs.differing({"c": observe.text("Adam")}, {"c": observe.text("LegacyAdam")}) == ["c"]


# -- claims ----------------------------------------------------------------------------------
def _claim(op, rhs, tolerance=0.0):
    raw = declare.claim("lr", "the learning rate is 0.001", ("a", "learning_rate", "last"), op, rhs,
                        tolerance=tolerance)
    return raw, Claim.from_json(Where("results.json"), raw)


@pytest.mark.parametrize(("op", "tolerance", "expected"), [
    ("==", 0.0, False), ("==", 1e-9, True), ("!=", 0.0, True), ("!=", 1e-9, False),
    ("<=", 1e-9, True), (">=", 1e-9, True), ("<", 1e-9, False), (">", 1e-9, False),
])
def test_claims_compare_with_equality_and_a_tolerance(op, tolerance, expected):
    float32_lr = 0.0010000000474974513  # numpy.float32(0.001), read back as a Python float
    raw, claim = _claim(op, 0.001, tolerance)
    assert claim.op == op and claim.tolerance == tolerance
    assert ("tolerance" in raw) == bool(tolerance)  # claims without one keep their old form
    assert holds(claim, float32_lr, 0.001) is expected


def test_a_claim_refuses_an_unknown_operator_or_a_bad_tolerance():
    with pytest.raises(ValueError, match="one of <, <=, >, >=, ==, !="):
        declare.claim("x", "x", 1.0, "=", 1.0)
    for bad in (-1.0, float("inf"), float("nan"), "0.1", True):
        with pytest.raises(ValueError, match="tolerance"):
            declare.claim("x", "x", 1.0, "==", 1.0, tolerance=bad)


# -- names across Keras versions --------------------------------------------------------------
def test_names_are_found_in_any_spelling_a_keras_exports():
    class HeNormal:
        pass

    class SGD:
        pass

    class KLDivergence:
        pass

    def he_uniform(seed=None):
        return seed

    legacy = types.SimpleNamespace(Adam=type("Adam", (), {}))
    module = types.SimpleNamespace(HeNormal=HeNormal, SGD=SGD, KLDivergence=KLDivergence, he_uniform=he_uniform,
                                   legacy=legacy)
    assert names.find(module, "he_normal", callable) is HeNormal  # TF 2's class for TF 1's name
    assert names.find(module, "HeUniform", callable) is he_uniform  # TF 1's function for TF 2's name
    assert names.find(module, "sgd", callable) is SGD
    assert names.find(module, "kl_divergence", callable) is KLDivergence
    assert names.find(module, "legacy.Adam", callable) is legacy.Adam
    assert names.find(module, "glorot_uniform", callable) is None
    assert names.camel("glorot_uniform") == "GlorotUniform" and names.snake("RandomNormal") == "random_normal"
    assert names.snake("SGD") == "sgd" and names.snake("KLDivergence") == "kl_divergence"


def test_a_class_name_skips_the_harness_own_wrappers():
    base = type("Adam", (), {"__module__": "keras.optimizers"})
    ordered = type("Adam", (base,), {"__module__": "harness.inenv.framework"})
    assert names.full_name(ordered()) == "keras.optimizers.Adam"


# -- helpers beside a case, and the seeds ---------------------------------------------------------
def _case_folder(tmp_path, helper="SCALE = 2.0\n"):
    folder = tmp_path / "cases"
    folder.mkdir()
    (folder / "_shared.py").write_text(helper)
    (folder / "scaled.py").write_text(
        '"""Uses the helper beside it."""\n'
        "import _shared\n"
        "from harness.inenv import observe\n"
        'SEEDS = {"numpy": 11}\n'
        "def run(k, workdir):\n"
        '    return {"scale": observe.scalar(_shared.SCALE)}\n')
    return folder


def test_a_case_imports_a_helper_beside_it_and_the_helper_counts_in_its_digest(tmp_path):
    folder = _case_folder(tmp_path)
    found = cases.discover([str(folder)])
    assert list(found) == ["scaled"]  # _shared.py is a helper, not a case
    path = found["scaled"]
    module = cases.load_case("scaled", path)
    assert module.run(None, workdir=str(tmp_path)) == {"scale": observe.scalar(2.0)}
    decl = cases.declaration(module, path)
    assert decl["helpers"] == ["_shared.py"]
    # SEEDS changes the seeds a case starts from; the others keep their defaults
    assert decl["seeds"] == {"numpy": 11, "python": 2, "framework": 3}

    before = cases.source_digest(path)
    (folder / "_shared.py").write_text("SCALE = 3.0\n")
    edited = cases.source_digest(path)
    assert edited != before  # an edit to the helper runs the case again
    (folder / "_other.py").write_text("")
    assert cases.source_digest(path) not in (before, edited)  # so does a new helper


# -- the rewritten field cases ----------------------------------------------------------------------
def _reaches_into_the_framework(path: str) -> list[str]:
    """Every `k.keras` / `k.tf` in a case's source."""
    with open(path) as fh:
        tree = ast.parse(fh.read())
    return [f"line {node.lineno}: k.{node.attr}" for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr in ("keras", "tf")
            and isinstance(node.value, ast.Name) and node.value.id == "k"]


@pytest.mark.parametrize("case", REWRITTEN)
def test_the_rewritten_field_cases_use_the_adapter_alone(case):
    path = os.path.join(FIELD_CASES, case + ".py")
    assert _reaches_into_the_framework(path) == []
    original = os.path.join(SHARED_FIELD_CASES, case + ".py")
    if os.path.exists(original):  # the original did reach in (shared/ sits beside the checkout)
        assert _reaches_into_the_framework(original)


def test_the_rewritten_field_cases_are_valid_python_3_7():
    for name in os.listdir(FIELD_CASES):
        if name.endswith(".py"):
            with open(os.path.join(FIELD_CASES, name)) as fh:
                ast.parse(fh.read(), feature_version=(3, 7))
    inenv = os.path.join(ROOT, "harness", "inenv")
    for name in ("names.py", "initializers.py", "optimizers.py", "losses.py", "observe.py", "declare.py",
                 "framework.py"):
        with open(os.path.join(inenv, name)) as fh:
            ast.parse(fh.read(), feature_version=(3, 7))


# -- inside real environments --------------------------------------------------------------------------
PROBE = r'''
import json, sys
import numpy as np
from harness.inenv.framework import Framework

k = Framework(sys.argv[1], sys.argv[2])
out = {}


def fresh(fn):
    with k.fresh():
        return fn()


def error(fn):
    try:
        fn()
    except (ValueError, TypeError) as exc:
        return str(exc)
    return None


# initializers by name, with a seed: the same values as the direct API
he = fresh(lambda: k.draw("he_normal", (64, 32), seed=1))
direct = fresh(lambda: k.to_numpy(k.keras.initializers.he_normal(seed=1)((64, 32))))
out["he_equal"] = bool(np.array_equal(he, direct))
out["he_std"] = float(np.std(he))
out["glorot_max"] = fresh(lambda: float(np.max(np.abs(k.draw("GlorotUniform", (64, 32), seed=1)))))
u = fresh(lambda: k.draw(k.initializer("RandomUniform", minval=-0.05, maxval=0.05, seed=0), (30, 40)))
out["uniform_range"] = [float(u.min()), float(u.max())]
out["zeros"] = fresh(lambda: float(np.abs(k.draw("zeros", (2, 2))).sum()))
out["unknown_initializer"] = error(lambda: k.initializer("no_such_thing"))
out["seeded_layer"] = fresh(lambda: float(np.sum(k.weights(k.sequential([
    k.layers.Dense(3, input_shape=(2,), kernel_initializer=k.initializer("he_normal", seed=5))]))[0])))
out["seeded_layer_again"] = fresh(lambda: float(np.sum(k.weights(k.sequential([
    k.layers.Dense(3, input_shape=(2,), kernel_initializer=k.initializer("he_normal", seed=5))]))[0])))


# optimizers by name and from a config, and their learning rate
def optimizers():
    res = {}
    for name, lr in (("adam", 0.01), ("Adadelta", 1.0), ("rmsprop", 0.002), ("sgd", 0.1), ("adagrad", 0.05)):
        opt = k.optimizer(name, learning_rate=lr)
        res[name] = [k.class_name(opt), k.learning_rate(opt)]
    opt = k.optimizer_from_config({"class_name": "adam", "config": {"learning_rate": 0.01}})
    res["config"] = [k.class_name(opt), k.learning_rate(opt)]
    opt = k.adam(learning_rate=0.02)
    res["adam()"] = [k.class_name(opt), k.learning_rate(opt)]
    k.set_learning_rate(opt, 0.5)
    res["set"] = k.learning_rate(opt)
    res["unknown"] = error(lambda: k.optimizer("no_such_optimizer"))
    res["bad_argument"] = error(lambda: k.optimizer("adam", learning_rate=0.1, no_such_argument=1))
    return res


out["optimizers"] = fresh(optimizers)


# the functional API, set/get weights, a loss object, training with them
def train():
    res = {}
    x = np.random.normal(0, 1, (16, 4)).astype("float32")
    y = (x[:, :1] - x[:, 1:2]).astype("float32")
    inputs = k.Input((4,))
    hidden = k.layers.Dense(5, activation="tanh")(inputs)
    model = k.model(inputs, k.layers.Dense(1)(hidden))
    rng = np.random.RandomState(0)
    start = [rng.uniform(-0.5, 0.5, w.shape).astype("float32") for w in k.weights(model)]
    k.set_weights(model, start)
    res["weights_set"] = all(np.array_equal(a, b) for a, b in zip(k.weights(model), start))
    loss = k.loss("mse")
    res["loss_class"] = k.class_name(loss)
    predicted = k.predict(model, x)
    res["predict_shape"] = list(predicted.shape)
    res["loss_value"] = k.loss_value(loss, y, predicted)
    res["numpy_mse"] = float(np.mean((y - predicted.astype("float64")) ** 2))
    res["mae"] = k.loss_value(k.loss("mean_absolute_error"), y, predicted)
    res["numpy_mae"] = float(np.mean(np.abs(y - predicted.astype("float64"))))
    res["kl_divergence"] = k.class_name(k.loss("kl_divergence"))
    res["with_arguments"] = error(lambda: k.loss("BinaryCrossentropy", from_logits=True))
    model.compile(optimizer="adam", loss=loss)
    k.set_learning_rate(model.optimizer, 0.05)  # compile("adam") and then the rate, as a report does
    steps = [float(np.asarray(k.train_on_batch(model, x, y)).ravel()[0]) for _ in range(5)]
    res["steps"] = steps
    res["compiled_lr"] = k.learning_rate(model.optimizer)
    return res


out["train"] = fresh(train)
print("@@@" + json.dumps(out))
'''

PROBE_ENVS = ["tf1.14-keras2", "tf1.14-keras2.2.4", "tf2.15-keras2", "tf2.21-keras3.13"]


def _probe(env_id: str, tmp_path) -> dict:
    from tests.realenv import env_python

    spec = envs.by_id(env_id)
    python = env_python(env_id)
    proc = subprocess.run([python, "-c", PROBE, spec.flavour, spec.backend], cwd=tmp_path, capture_output=True,
                          text=True, timeout=900, check=False,
                          env={**os.environ, "PYTHONPATH": staging.runner_path(), "TF_CPP_MIN_LOG_LEVEL": "2",
                               "CUDA_VISIBLE_DEVICES": "", **dict(spec.env_vars)})
    lines = [line for line in proc.stdout.splitlines() if line.startswith("@@@")]
    assert proc.returncode == 0 and lines, proc.stdout[-3000:] + proc.stderr[-5000:]
    return json.loads(lines[-1][3:])


@pytest.mark.envs
@pytest.mark.parametrize("env_id", PROBE_ENVS)
def test_the_adapter_in_a_real_environment(env_id, tmp_path):
    out = _probe(env_id, tmp_path)
    # initializers: the name finds what the version calls it, the seed reaches it
    assert out["he_equal"] is True
    assert abs(out["he_std"] - (2 / 64) ** 0.5) < 0.03
    assert 0.2 < out["glorot_max"] <= (6 / 96) ** 0.5 + 1e-6
    low, high = out["uniform_range"]
    assert -0.05 <= low < -0.04 and 0.04 < high <= 0.05
    assert out["zeros"] == 0.0
    assert "no initializer 'no_such_thing'" in out["unknown_initializer"]
    assert out["seeded_layer"] == out["seeded_layer_again"]

    opts = out["optimizers"]
    for name, lr in (("adam", 0.01), ("Adadelta", 1.0), ("rmsprop", 0.002), ("sgd", 0.1), ("adagrad", 0.05)):
        cls, value = opts[name]
        assert cls.rsplit(".", 1)[1].lower() == name.lower(), (name, cls)
        assert value == pytest.approx(lr, rel=1e-6)
    assert opts["config"][0].rsplit(".", 1)[1] == "Adam" and opts["config"][1] == pytest.approx(0.01, rel=1e-6)
    assert opts["adam()"][1] == pytest.approx(0.02, rel=1e-6)
    assert opts["set"] == pytest.approx(0.5, rel=1e-6)
    assert "no optimizer 'no_such_optimizer'" in opts["unknown"]
    assert "no_such_argument" in opts["bad_argument"]

    train = out["train"]
    assert train["weights_set"] is True and train["predict_shape"] == [16, 1]
    assert train["loss_value"] == pytest.approx(train["numpy_mse"], rel=1e-5)
    assert train["mae"] == pytest.approx(train["numpy_mae"], rel=1e-5)
    assert train["compiled_lr"] == pytest.approx(0.05, rel=1e-6)
    assert train["steps"][-1] < train["steps"][0]  # it trains, with the rate set after compile
    if env_id == "tf1.14-keras2.2.4":  # standalone Keras 2.2 has loss functions, no classes
        assert train["loss_class"] == "builtins.function"
        assert "only the function" in train["with_arguments"]
    else:
        assert train["loss_class"].endswith(".MeanSquaredError")
        assert train["kl_divergence"].endswith(".KLDivergence")
        assert train["with_arguments"] is None


def _run_cases(env_id: str, folder: str, tmp_path, name: str) -> dict:
    from tests.realenv import env_python

    python = env_python(env_id)
    results = tmp_path / name / "results"
    code = cli.main(["run", env_id, "--python", python, "--cases-dir", folder, "--results", str(results),
                     "--golden", str(tmp_path / name / "golden"), "--repeat", "1", "--envelope", "0"])
    assert code == 0
    with open(results / f"{env_id}.json") as fh:
        return json.load(fh)


@pytest.mark.envs
@pytest.mark.parametrize("env_id", ["tf1.14-keras2", "tf2.11-keras2", "tf2.21-keras3.13"])
def test_the_rewritten_field_cases_give_the_originals_numbers(env_id, tmp_path, monkeypatch):
    # The originals from shared/field-cases where that folder sits beside the checkout, else
    # their copies kept as test input (the same code, a docstring line added).
    source = SHARED_FIELD_CASES if os.path.isdir(SHARED_FIELD_CASES) else os.path.join(FIELD_CASES, "reports")
    monkeypatch.chdir(tmp_path)
    originals = tmp_path / "originals"
    originals.mkdir()
    for case in REWRITTEN:  # only the three rewritten ones: the others are not needed here
        with open(os.path.join(source, case + ".py")) as src:
            (originals / f"{case}.py").write_text(src.read())
    before = _run_cases(env_id, str(originals), tmp_path, "before")
    after = _run_cases(env_id, FIELD_CASES, tmp_path, "after")

    for case in REWRITTEN:
        old, new = before["cases"][case], after["cases"][case]
        assert new["status"] == "ok", new.get("error")
        for variant, entry in old["variants"].items():
            assert entry["status"] == "ok", entry.get("error")
            mine = new["variants"][variant]
            assert mine["status"] == "ok", mine.get("error")
            shared = set(entry["observables"]) & set(mine["observables"])
            assert shared == set(entry["observables"])  # every original observable is still there
            for obs in sorted(shared):  # and holds the same bits
                assert not runs.differing({obs: entry["observables"][obs]}, {obs: mine["observables"][obs]}), \
                    (case, variant, obs)

    rewritten = after["cases"]["optimizer_from_config"]
    assert rewritten["declaration"]["helpers"] == ["_shared.py"]
    observables = rewritten["variants"]["config"]["observables"]
    assert observables["optimizer_class"]["kind"] == "text"
    assert observables["learning_rate"]["values"][0] == pytest.approx(0.01, rel=1e-6)
    if env_id == "tf2.11-keras2":  # the report: Adam() the new class, Adam from a config the legacy one
        classes = {v: after["cases"]["optimizer_from_config"]["variants"][v]["observables"]["optimizer_class"]
                   ["value"] for v in ("class", "config")}
        assert "optimizer_v2" in classes["config"] and "optimizer_v2" not in classes["class"], classes

    # The claims with == and a tolerance are judged by the host like any other.
    from harness.check.verdicts import claim_verdicts
    from harness.core import store

    doc = store.read_results(str(tmp_path / "after" / "results" / f"{env_id}.json"))
    verdicts = {v.name: v for v in claim_verdicts(env_id, doc) if v.case == "optimizer_from_config"}
    assert "holds" in verdicts["learning rate from a config"].message
