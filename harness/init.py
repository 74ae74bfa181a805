"""`tfrepro init [DIR]`: a project of your own, with your noxfile and your cases.

Writes, in DIR (the current folder by default, made when missing):

    noxfile.py      calls tfrepro.nox.matrix_sessions(cases="cases/")
    cases/          one example case (left out when the folder already holds cases)
    .gitignore      results/, report/ and .nox/ (golden/ and cases/ are yours to commit)

A file that exists is never overwritten: it is kept, and the summary says so (and,
for a .gitignore, which lines it lacks).
"""

from __future__ import annotations

import dataclasses
import os

from harness.core.errors import UsageError
from harness.inenv.cases import discover
from harness.matrix import envs

NOXFILE = '''\
"""tfrepro's matrix for this project (`nox -l` lists every session).

    nox -s "matrix({env})"   # one environment: build it, run the cases in {cases}/
    nox -s bless -- {env}    # accept its results as golden values ({golden}/)
    nox -s compare   # verdicts for the results present; writes {report}/
    nox -s matrix    # every environment whose inputs changed, then compare

Results, golden values and the report are folders beside this file.
"""

import tfrepro.nox

tfrepro.nox.matrix_sessions(cases="{cases}/")
'''

EXAMPLE_CASE = '''\
"""An example case: a small Dense regression trained for three epochs. Make it your model.

A case is a module in this folder: VARIANTS (the settings to run), run(k, workdir,
**variant) returning observables, and optionally INVARIANTS, CLAIMS, TOLERANCES and
SEEDS. `k` is tfrepro's adapter over tf.keras, tf-keras, Keras 3 and standalone
Keras: with it one case runs unchanged from TF 1.14 to Keras 3. Case code runs
inside each pinned environment (Python 3.7 and later) and imports only numpy,
tfrepro's harness.inenv and modules named _*.py beside it.
"""

import numpy as np

from harness.inenv import observe
from harness.inenv.declare import same

# numpy, Python's random and the framework are seeded before every variant (these are
# the defaults; change them here).
SEEDS = {"numpy": 1, "python": 2, "framework": 3}

VARIANTS = {"adam": {"optimizer": "adam"}, "adam_again": {"optimizer": "adam"}}

INVARIANTS = [same("the same model twice gives the same numbers", "adam", "adam_again",
                   why="same seeds, same data, same model")]


def run(k, workdir, optimizer):
    x = np.random.normal(0, 1, (64, 4)).astype("float32")
    y = (x[:, :1] - 0.5 * x[:, 1:2]).astype("float32")
    model = k.sequential([k.layers.Dense(8, activation="tanh", input_shape=(4,)), k.layers.Dense(1)])
    model.compile(optimizer=k.optimizer(optimizer, learning_rate=0.01), loss="mse")
    history = k.fit(model, x, y, epochs=3, batch_size=16, shuffle=False)
    return {
        "loss": observe.series(history["loss"], dtype="float32"),
        "final_weight_sums": observe.series(k.weight_sums(model), axis="layer"),
        "predictions": observe.array(k.predict(model, x[:4]), axes=["sample", "output"]),
    }
'''

GITIGNORE = """\
# tfrepro: results/ and report/ are remade by every run; commit cases/ and golden/
/results/
/report/
/.nox/
"""


@dataclasses.dataclass(frozen=True)
class Step:
    path: str
    done: bool  # written (False: kept as it was)
    note: str = ""

    def line(self, root: str) -> str:
        where = os.path.relpath(self.path, root)
        return f"  {'wrote' if self.done else 'kept '} {where}" + (f" ({self.note})" if self.note else "")


def _write_new(path: str, text: str) -> bool:
    """Write ``text`` to ``path`` unless something is there already (exclusive create:
    never overwrites, even a file made a moment ago)."""
    try:
        with open(path, "x") as fh:
            fh.write(text)
    except FileExistsError:
        return False
    return True


def init(root: str, cases: str = "cases") -> list[Step]:
    """Lay out a project in ``root``; the steps taken, one per file."""
    if os.path.exists(root) and not os.path.isdir(root):
        raise UsageError(f"tfrepro init: {root} is not a folder")
    cases = cases.strip("/") or "cases"
    if os.path.isabs(cases) or cases.startswith(".."):
        raise UsageError(f"tfrepro init: --cases {cases!r} must be a folder inside the project")
    os.makedirs(root, exist_ok=True)
    env = envs.REFERENCE_ENV
    steps = []
    text = NOXFILE.format(env=env, cases=cases, golden="golden", report="report")
    path = os.path.join(root, "noxfile.py")
    if _write_new(path, text):
        steps.append(Step(path, True))
    else:
        with open(path, errors="replace") as fh:
            calls = "matrix_sessions" in fh.read()
        steps.append(Step(path, False, "exists" if calls else
                          f'exists; it does not call tfrepro.nox.matrix_sessions(cases="{cases}/")'))

    folder = os.path.join(root, cases)
    os.makedirs(folder, exist_ok=True)
    example = os.path.join(folder, "example.py")
    present = discover([folder])
    if present and "example" not in present:
        steps.append(Step(example, False, f"not written: {cases}/ already holds {len(present)} case(s)"))
    else:
        written = _write_new(example, EXAMPLE_CASE)
        steps.append(Step(example, written, "" if written else "exists"))

    path = os.path.join(root, ".gitignore")
    if _write_new(path, GITIGNORE):
        steps.append(Step(path, True))
    else:
        with open(path, errors="replace") as fh:
            have = {line.strip().strip("/") for line in fh}
        wanted = [line for line in GITIGNORE.splitlines() if line and not line.startswith("#")]
        missing = [line for line in wanted if line.strip("/") not in have]
        steps.append(Step(path, False, "exists" + (f"; it lacks {' '.join(missing)}" if missing else "")))
    return steps


def summary(root: str, steps: list[Step]) -> str:
    """What init did (one line per step) and the commands to run next, as text."""
    env = envs.REFERENCE_ENV
    lines = [f"tfrepro init: {os.path.abspath(root)}"] + [s.line(root) for s in steps]
    lines += [
        "next, where this tfrepro is installed (it brings nox; README: 'Use it in your project'):",
        f"  cd {root}" if os.path.abspath(root) != os.getcwd() else "",
        "  nox -l                                # the sessions: one matrix(<env>) per environment",
        f'  nox -s "matrix({env})"     # run your cases in one environment',
        f"  nox -s bless -- {env}      # accept the results as golden values",
        "  nox -s compare                        # check the results present; writes report/",
        "  nox -s matrix                         # every environment, then compare and write report/",
        "example.py in the cases folder runs like any case: edit it into your own, or delete it.",
    ]
    return "\n".join(line for line in lines if line)
