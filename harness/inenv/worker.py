"""The in-environment worker: runs cases and streams events to the host.

Protocol: one JSON object per line on the file descriptor given by ``--fd``
(stdout and stderr stay free for the framework's own chatter). The host supervises
this process: it enforces per-case timeouts and memory limits, notices crashes,
and restarts the worker with ``--skip`` for the cases still to run.

    python -m harness.inenv.worker --flavour tf.keras --cases cases --fd 3
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

from harness.inenv import determinism, fingerprint

DEFAULT_SEEDS = {"numpy": 1, "python": 2, "framework": 3}
TRACEBACK_LINES = 12


class Channel(object):
    def __init__(self, fd):
        self._fh = os.fdopen(fd, "w", buffering=1)

    def send(self, event, **fields):
        fields["event"] = event
        fields["time"] = time.time()
        self._fh.write(json.dumps(fields) + "\n")
        self._fh.flush()


def discover(folders):
    """Case files by name; a later folder's case does not shadow an earlier one."""
    found = {}
    for folder in folders:
        for entry in sorted(os.listdir(folder)):
            if entry.endswith(".py") and not entry.startswith("_"):
                name = entry[:-3]
                found.setdefault(name, os.path.join(folder, entry))
    return found


def source_digest(path):
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def load_case(name, path):
    spec = importlib.util.spec_from_file_location("harness_case_" + name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def declaration(module):
    variants = getattr(module, "VARIANTS", {"default": {}})
    return {
        "doc": (module.__doc__ or "").strip(),
        "variants": list(variants),
        "seeds": dict(DEFAULT_SEEDS, **getattr(module, "SEEDS", {})),
        "invariants": list(getattr(module, "INVARIANTS", ())),
        "claims": list(getattr(module, "CLAIMS", ())),
        "tolerances": dict(getattr(module, "TOLERANCES", {})),
        "timeout": getattr(module, "TIMEOUT", None),
    }


def error_info(exc):
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    text = "".join(lines).rstrip().splitlines()
    return {"type": type(exc).__name__, "message": str(exc)[:2000], "traceback": text[-TRACEBACK_LINES:]}


def run_once(fw, module, seeds, params, workdir):
    with fw.fresh(seeds):
        return module.run(fw, workdir=workdir, **params)


def differing(first, second):
    """Observables whose values are not bitwise equal between two runs."""
    names = []
    for name in sorted(set(first) | set(second)):
        a, b = first.get(name), second.get(name)
        if json.dumps(a, sort_keys=True) != json.dumps(b, sort_keys=True):
            names.append(name)
    return names


def run_case(channel, fw, name, path, repeat, reverse=False):
    channel.send("case_start", case=name, source_sha256=source_digest(path))
    try:
        module = load_case(name, path)
        decl = declaration(module)
    except Exception as exc:
        channel.send("case_error", case=name, error=error_info(exc))
        return
    channel.send("case_declared", case=name, declaration=decl)
    variants = list(getattr(module, "VARIANTS", {"default": {}}).items())
    for variant, params in reversed(variants) if reverse else variants:
        channel.send("variant_start", case=name, variant=variant)
        workdir = tempfile.mkdtemp(prefix="harness-")
        started = time.time()
        try:
            observables = run_once(fw, module, decl["seeds"], params, workdir)
            first_seconds = time.time() - started
            repeats = []
            for _ in range(repeat - 1):
                again = run_once(fw, module, decl["seeds"], params, workdir)
                repeats.append(differing(observables, again))
        except Exception as exc:
            channel.send("variant_error", case=name, variant=variant, error=error_info(exc),
                         seconds=time.time() - started)
            continue
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        nondeterministic = sorted({n for diff in repeats for n in diff})
        channel.send(
            "variant_done", case=name, variant=variant, observables=observables,
            repeats=len(repeats), nondeterministic=nondeterministic,
            seconds=time.time() - started, first_seconds=first_seconds,
        )
    channel.send("case_end", case=name)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flavour", required=True)
    parser.add_argument("--backend", default="tensorflow")
    parser.add_argument("--cases", action="append", required=True, help="a folder of case modules")
    parser.add_argument("--only", action="append", default=[], help="run only these cases")
    parser.add_argument("--skip", action="append", default=[], help="cases already done")
    parser.add_argument("--repeat", type=int, default=2, help="runs per variant (>= 2 checks determinism)")
    parser.add_argument("--reverse", action="store_true",
                        help="cases and variants in reverse order (the determinism run beside the first)")
    parser.add_argument("--fd", type=int, required=True)
    args = parser.parse_args(argv)
    channel = Channel(args.fd)
    # Determinism variables must be in place before the framework is imported;
    # the host sets them too, this covers a worker started by hand.
    for key, value in determinism.PROCESS_ENV.items():
        os.environ.setdefault(key, value)

    started = time.time()
    try:
        from harness.inenv.framework import Framework

        fw = Framework(args.flavour, args.backend)
    except Exception as exc:
        channel.send("framework_error", error=error_info(exc))
        return 3
    channel.send(
        "ready", fingerprint=fingerprint.collect(fw), versions=fw.versions(),
        determinism=dict(fw.settings, threads=determinism.THREADS),
        import_seconds=time.time() - started,
    )
    cases = list(discover(args.cases).items())
    for name, path in reversed(cases) if args.reverse else cases:
        if (args.only and name not in args.only) or name in args.skip:
            continue
        run_case(channel, fw, name, path, max(1, args.repeat), args.reverse)
    channel.send("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
