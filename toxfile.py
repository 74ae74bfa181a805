"""tox plugin: the environments of the matrix as tox environments, from harness/matrix/envs.py.

    tox l                                                    # the same environments as `nox -l`
    tox -e tf2.15-keras2 -- --case linear_autoencoder --results /tmp/r
    tox p -m matrix                                          # every environment, in parallel
    tox p -e tf2.15-keras2,tf2.21-keras3.13 -- --results /tmp/r
    python -m harness compare --results /tmp/r               # one report from what they wrote

Each environment is a uv virtualenv (tox-uv) on the environment's own Python, an
absolute path found by harness.interpreters exactly as the noxfile finds it, with
the packages of locks/<env>.txt and nothing else (not even this project).

Its command is the harness's supervisor, `python -m harness run <env> --python
{env_python}`, run by the Python that runs tox, not by the environment's: the
supervisor needs Python >= 3.10 with numpy and packaging, and the pinned
environments run Python 3.7 and up and must hold nothing beyond their lock.
tox.toml lists numpy and packaging in `requires`, so tox provisions itself an
interpreter that has them when the one it was started with does not.

How the hooks fit (tox >= 4.29): tox_extend_envs names the environments;
tox_add_core_config seeds their settings as in-memory values; tox_add_env_config
fills in the command, which needs {env_python} and {posargs}: in-memory values are
taken as they are, without tox's substitutions.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path

from tox.config.loader.memory import MemoryLoader
from tox.config.sets import ConfigSet, EnvConfigSet
from tox.config.types import Command
from tox.plugin import impl
from tox.session.state import State
from tox.tox_env.python.pip.req_file import PythonDeps

ROOT = os.path.dirname(os.path.abspath(__file__))
if ROOT not in sys.path:  # harness.matrix (envs, interpreters, locks) import only the standard library
    sys.path.insert(0, ROOT)

from harness.matrix import envs, interpreters, locks

LABEL = "matrix"
# The same selection as the noxfile's: HARNESS_TAGS=default,keras3-sweep adds a sweep.
MATRIX: dict[str, envs.EnvSpec] = {
    spec.id: spec for spec in envs.select(tags=os.environ.get("HARNESS_TAGS", "default").split(","))
}


def settings(spec: envs.EnvSpec) -> dict:
    """The tox settings of one environment of the matrix, as tox's in-memory loader takes them."""
    python = interpreters.resolve(spec.python)
    return {
        "description": f"run the cases in {spec.id} ({' '.join(spec.requirements)} on Python {spec.python})",
        "labels": [LABEL],
        "runner": "uv-venv-runner",
        # No such Python here: a bare name makes tox fail saying which Python is missing, or skip the
        # environment with --skip-missing-interpreters (nox writes an "unavailable" result instead).
        "base_python": [python or f"python{spec.python}"],
        "package": "skip",
        "deps": PythonDeps(f"-r {locks.lock_path(spec, ROOT)}", root=Path(ROOT)),
        "change_dir": ROOT,
        "set_env": {"PYTHONPATH": ROOT},
        "pass_env": ["HARNESS_*"],
        "allowlist_externals": [sys.executable],
    }


def command(spec: envs.EnvSpec, env_python: str, posargs: Iterable[str]) -> Command:
    """The supervisor on the host's Python; the worker it starts runs on ``env_python``."""
    return Command([sys.executable, "-m", "harness", "run", spec.id, "--python", env_python, *posargs])


@impl
def tox_extend_envs() -> Iterable[str]:
    return tuple(MATRIX)


@impl
def tox_add_core_config(core_conf: ConfigSet, state: State) -> None:
    for spec in MATRIX.values():
        state.conf.memory_seed_loaders[spec.id].append(MemoryLoader(**settings(spec)))


@impl
def tox_add_env_config(env_conf: EnvConfigSet, state: State) -> None:
    spec = MATRIX.get(env_conf.name)
    if spec is None:
        return
    # The runner registered env_python just before this hook; it is a path, not a lookup.
    env_python = str(env_conf["env_python"])
    posargs = state.conf.pos_args(None) or ()
    env_conf.loaders.insert(0, MemoryLoader(commands=[command(spec, env_python, posargs)]))
