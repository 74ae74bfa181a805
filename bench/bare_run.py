"""The floor's in-environment script: import the framework, train each case once.

Framework work only: no supervisor, no determinism repeat, no results file, no
fingerprint. It uses the same adapter and the same seeding as the worker, so the
framework does the same work; it prints one line of timings for the benchmark.
Runs inside the pinned environment, so Python 3.7 syntax, stdlib, numpy, framework.

    python bench/bare_run.py --flavour tf.keras --backend tensorflow --case PATH [--case PATH ...] [--out FILE]

``--out`` writes what each variant returned ({case: {variant: observables}}) after the
timing line, so the benchmark can check that the harness's runs gave the same bits.
"""

import argparse
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time

started = time.time()
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load(path):
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location("bare_case_" + name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return name, module


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--flavour", required=True)
    parser.add_argument("--backend", default="tensorflow")
    parser.add_argument("--case", action="append", default=[], help="a case module's path")
    parser.add_argument("--out", default=None, help="write the observables here (JSON)")
    args = parser.parse_args()
    from harness.inenv.framework import Framework

    fw = Framework(args.flavour, args.backend)
    imported = time.time()
    seconds, variant_seconds = {}, {}
    returned = {}
    for path in args.case:
        case_started = time.time()
        name, module = load(path)
        seeds = dict({"numpy": 1, "python": 2, "framework": 3}, **getattr(module, "SEEDS", {}))
        returned[name], variant_seconds[name] = {}, {}
        for variant, params in getattr(module, "VARIANTS", {"default": {}}).items():
            variant_started = time.time()
            workdir = tempfile.mkdtemp(prefix="bare-")
            try:
                with fw.fresh(seeds):
                    returned[name][variant] = module.run(fw, workdir=workdir, **params)
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
            variant_seconds[name][variant] = time.time() - variant_started
        seconds[name] = time.time() - case_started
    print("BARE_TIMING " + json.dumps({"import": imported - started, "cases": seconds, "variants": variant_seconds}))
    sys.stdout.flush()
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(returned, fh)
    # Skip the interpreter's teardown (TensorFlow's takes seconds): the worker is
    # killed at "done" too, so neither side pays it.
    os._exit(0)


if __name__ == "__main__":
    main()
