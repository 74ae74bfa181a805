"""Run the cases of one environment in its interpreter, and write its results.

One worker, or two side by side for the determinism check (harness.run.replicas);
whatever happens, the environment ends with one results file, written atomically
and merged with the earlier results that still hold (harness.run.incremental).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import threading
from collections.abc import Callable

from harness import config
from harness.core import store
from harness.core.documents import Results
from harness.matrix import envs
from harness.run import incremental, replicas
from harness.run.options import RunOptions, selected_cases
from harness.run.supervise import Supervisor, unavailable_document

ROOT = config.ROOT


def plan_environment(spec: envs.EnvSpec, options: RunOptions) -> incremental.Plan:
    """Which cases of ``spec`` need running, from results/<env>.json alone (cheap:
    nox calls this before it syncs the virtualenv)."""
    inputs = incremental.collect_inputs(spec, selected_cases(options), options.repeat, ROOT)
    previous, unusable = incremental.read_previous(options.results_dir, spec.id)
    return incremental.plan(inputs, previous, unusable, force=options.force)


def run_environment(spec: envs.EnvSpec, python: str, options: RunOptions | None = None,
                    progress: Callable[[str], None] = print, plan: incremental.Plan | None = None) -> Results | None:
    """Run the cases of ``spec`` that are not up to date with ``python``, and write
    results/<env>.json with them and the earlier results still valid."""
    options = options or RunOptions()
    os.makedirs(options.results_dir, exist_ok=True)
    path = store.document_path(options.results_dir, spec.id)
    with store.exclusive(path):
        plan = plan or plan_environment(spec, options)
        progress(f"{spec.id}: {plan.describe()}")
        if plan.up_to_date:
            return incremental.read_previous(options.results_dir, spec.id)[0]
        log_path = path[: -len(".json")] + ".log"
        open(log_path, "w").close()
        files = selected_cases(options)
        to_run = {case: files[case] for case, _ in plan.run}
        doc = _run_workers(spec, python, options, log_path, to_run, plan.inputs.stamp())
        previous, _ = incremental.read_previous(options.results_dir, spec.id)
        doc = incremental.merge(doc, previous, plan)
        store.write_results(path, doc)
    progress(f"{spec.id}: wrote {os.path.relpath(path, ROOT)}")
    return doc


def _run_workers(spec: envs.EnvSpec, python: str, options: RunOptions, log_path: str,
                 cases: dict[str, str], stamp: dict) -> Results:
    """One worker, or with the determinism check two side by side (harness.replicas):
    the second makes the repeat runs on the other core, in reverse order."""
    if options.repeat < 2:
        return Supervisor(spec, python, options, log_path, cases, stamp).run()
    second_log = log_path[: -len(".log")] + ".repeat.log"
    open(second_log, "w").close()
    stop = threading.Event()
    pair = [Supervisor(spec, python, options, log_path, cases, stamp, stop=stop),
            Supervisor(spec, python, options, second_log, cases, stamp, runs=options.repeat - 1, reverse=True,
                        stop=stop)]
    with concurrent.futures.ThreadPoolExecutor(len(pair)) as pool:
        futures = [pool.submit(supervisor.run) for supervisor in pair]
        try:
            # In steps, so that Ctrl-C reaches this thread and stops both workers.
            while concurrent.futures.wait(futures, timeout=0.5).not_done:
                pass
        except BaseException:
            stop.set()
            raise
        first, second = (future.result() for future in futures)
    return replicas.merge(first, second, options.repeat)


def write_unavailable(spec: envs.EnvSpec, reason: str, results_dir: str | None = None) -> str:
    """Record that ``spec`` cannot run here, keeping every earlier case result in the file."""
    folder = results_dir or RunOptions().results_dir
    os.makedirs(folder, exist_ok=True)  # the first thing a run writes may be this
    path = store.document_path(folder, spec.id)
    with store.exclusive(path):
        previous, _ = incremental.read_previous(folder, spec.id)
        doc = unavailable_document(spec, reason)
        if previous is not None:
            doc = dataclasses.replace(doc, cases=previous.cases)
        store.write_results(path, doc)
    return path
