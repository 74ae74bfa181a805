"""The in-environment worker: runs the tasks of a job and streams events to the host.

The host supervises this process: it enforces per-run timeouts and memory limits,
notices crashes, and starts a new worker for the cases still to run. The job and
the events are described in harness.inenv.protocol. The case modules are found and
read by harness.inenv.cases, one run is harness.inenv.runs, and the runs that
explain a difference from the golden values are harness.inenv.evidence.

    python -m harness.inenv.worker --job JOB.json --fd 3
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

from harness.inenv import determinism, evidence, fingerprint, protocol
from harness.inenv.cases import declaration, discover, load_case, source_digest
from harness.inenv.probe import Probe, safe_part
from harness.inenv.runs import differing, error_info, run_once


class Channel:
    def __init__(self, fd):
        self._fh = os.fdopen(fd, "w", buffering=1)

    def send(self, event, **fields):
        """One event as one JSON line, with its name and the time (seconds since the epoch);
        TypeError/ValueError, before anything is written, when a field is not JSON."""
        fields["event"] = event
        fields["time"] = time.time()
        line = json.dumps(fields) + "\n"  # encoded first: a failure writes nothing half-way
        self._fh.write(line)
        self._fh.flush()


def run_task(channel, fw, task, name, path):
    """One task of the job: declare the case, then run each chosen variant in the task's
    mode, as events (case_start, case_declared or case_error, variant_*, case_end)."""
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
                    done["envelope"] = evidence.roundoff_envelope(fw, module, seeds, params, observables,
                                                                  task["members"], channel, case, variant)
                states = (task.get("golden_states") or {}).get(variant)
                golden_start = (task.get("golden_starts") or {}).get(variant)
                if not done["golden_match"] and states and evidence.starts_key(probe) != golden_start:
                    done["transplant"] = evidence.run_transplant(fw, module, seeds, params, states, "golden",
                                                                 channel, case, variant)
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
            count = int(task.get("members") or 1)
            if mode == "envelope":
                done[mode] = evidence.roundoff_envelope(fw, module, seeds, params, reference, count, channel, case,
                                                        variant, first=int(task.get("first_member") or 1))
            else:
                done[mode] = evidence.stream_envelope(fw, module, seeds, params, reference, count, channel, case,
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
    """The worker's command line: read the job, import the framework, send ``ready`` with the
    fingerprint, run every task, send ``done``. Exit code 0, or 3 when the job or the
    framework cannot be loaded (a framework_error event says why)."""
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
