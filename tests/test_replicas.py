"""The determinism run in a second worker: how the pair is judged, and, in a real
environment, that it runs beside the first and catches what a repeat must catch."""

import json
import textwrap
import time

import pytest

from harness.core.documents.results import Determinism
from harness.matrix import envs
from harness.run import environment, replicas
from harness.run import options as run_options
from tests import fakes
from tests.realenv import env_python

ENV = "tf2.15-keras2"


def merge(first, second, repeat):
    """replicas.merge on the documents as the harness reads them, back as JSON."""
    return replicas.merge(fakes.typed(first), fakes.typed(second), repeat).to_json()


def pair(first_loss, second_loss, **second_changes):
    first = fakes.result(ENV, {"toy": fakes.case({"a": fakes.variant(first_loss)})})
    second = fakes.result(ENV, {"toy": fakes.case({"a": fakes.variant(second_loss)})})
    for doc in (first, second):  # each worker ran every variant once: no repeat of its own
        doc["cases"]["toy"]["variants"]["a"]["repeats"] = 0
    first["timing"] = {"cases": {"toy": 2.0}, "repeats": {}, "total": 3.0}
    second["timing"] = {"cases": {"toy": 2.5}, "repeats": {}, "total": 3.5}
    second.update(second_changes)
    return first, second


def test_equal_runs_are_deterministic_and_count_as_one_repeat():
    doc = merge(*pair([1.0, 0.5], [1.0, 0.5]), repeat=2)
    result = doc["cases"]["toy"]["variants"]["a"]
    assert result["nondeterministic"] == [] and result["repeats"] == 1  # the second process's run
    assert doc["determinism"]["runs"]["processes"] == 2
    assert doc["timing"]["repeats"] == {"toy": 2.5} and doc["timing"]["repeats_beside"]
    assert doc["timing"]["total"] == 3.5 and doc["timing"]["first_process_total"] == 3.0


def test_a_single_differing_bit_names_the_observable():
    doc = merge(*pair([1.0, 0.5], [1.0, 0.5000000000000001]), repeat=2)
    assert doc["cases"]["toy"]["variants"]["a"]["nondeterministic"] == ["final_weights_digest", "loss"]


def test_a_case_that_fails_only_in_the_second_process_is_an_error_naming_it():
    first, second = pair([1.0], [1.0])
    second["cases"]["toy"].update(status="error", error={"type": "Crash", "message": "killed by SIGSEGV",
                                                          "traceback": ["x"]})
    entry = merge(first, second, repeat=2)["cases"]["toy"]
    assert entry["status"] == "error"
    assert entry["error"]["message"] == f"{replicas.SECOND_RUN} failed: killed by SIGSEGV"
    assert entry["error"]["type"] == "Crash" and entry["error"]["traceback"] == ["x"]


def test_a_variant_that_raises_only_in_the_second_process_is_an_error():
    first, second = pair([1.0], [1.0])
    second["cases"]["toy"]["variants"]["a"] = {"status": "error", "seconds": 0.1,
                                               "error": {"type": "ValueError", "message": "boom", "traceback": []}}
    result = merge(first, second, repeat=2)["cases"]["toy"]["variants"]["a"]
    assert result["status"] == "error" and result["error"]["message"].endswith("of this variant failed: boom")


def test_the_first_process_decides_availability():
    first, second = pair([1.0], [1.0], status="unavailable", reason="the framework could not start: Crash")
    entry = merge(first, second, repeat=2)["cases"]["toy"]
    assert entry["status"] == "error" and "could not start: the framework could not start" in entry["error"]["message"]
    first, second = pair([1.0], [1.0])
    first.update(status="unavailable", reason="no interpreter")
    assert merge(first, second, repeat=2)["status"] == "unavailable"


def test_merge_leaves_its_inputs_alone():
    first, second = pair([1.0], [2.0])
    before = json.dumps(first, sort_keys=True)
    merge(first, second, repeat=2)
    assert json.dumps(first, sort_keys=True) == before


# A case whose result depends on what ran before it in the same process: the second
# process runs the variants in reverse order, so each one follows another predecessor.
LEAKY = textwrap.dedent('''
    """Carries a counter from one run to the next."""
    import numpy as np
    from harness.inenv import observe

    VARIANTS = {"first": {}, "second": {}}
    RUNS = []

    def run(k, workdir):
        RUNS.append(1)
        return {"runs_so_far": observe.series([float(len(RUNS))], axis="call")}
''')

CLEAN = textwrap.dedent('''
    """The same numbers in every run."""
    import numpy as np
    from harness.inenv import observe

    VARIANTS = {"first": {}, "second": {}}

    def run(k, workdir):
        return {"draw": observe.series(np.random.rand(3).tolist(), axis="i")}
''')


@pytest.fixture(scope="module")
def paired(tmp_path_factory):
    python = env_python(ENV)
    folder = tmp_path_factory.mktemp("replica-cases")
    (folder / "leaky.py").write_text(LEAKY)
    (folder / "clean.py").write_text(CLEAN)
    results = tmp_path_factory.mktemp("replica-results")
    options = run_options.RunOptions(case_dirs=(str(folder),), results_dir=str(results), repeat=2)
    started = time.perf_counter()
    doc = environment.run_environment(envs.by_id(ENV), python, options, progress=lambda _: None)
    return doc, results, time.perf_counter() - started


@pytest.mark.envs
def test_second_process_catches_state_carried_between_runs(paired):
    doc, _, _ = paired
    leaky = doc.cases["leaky"].variants
    assert leaky["first"].nondeterministic == ("runs_so_far",)
    assert leaky["second"].nondeterministic == ("runs_so_far",)
    clean = doc.cases["clean"].variants
    assert clean["first"].nondeterministic == () and clean["second"].nondeterministic == ()
    assert {v.determinism for v in clean.values()} == {Determinism.REPEATED}


@pytest.mark.envs
def test_the_two_workers_run_at_the_same_time_with_logs_of_their_own(paired):
    doc, results, wall = paired
    timing, second = doc.timing, doc.timing["second_process"]
    assert timing["imports"] and second["imports"]  # each worker imported TensorFlow
    # One after the other they would take the sum of their times; side by side, on two
    # cores, little more than the slower one.
    serial = timing["first_process_total"] + second["total"]
    assert wall < 0.8 * serial, (wall, serial)
    assert (results / f"{ENV}.log").exists() and (results / f"{ENV}.repeat.log").exists()
    assert doc.determinism["runs"] == {"per_variant": 2, "processes": 2, "second_process_order": "reversed"}
