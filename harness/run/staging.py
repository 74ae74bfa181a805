"""The in-environment runner, staged where a pinned interpreter can import it alone.

A worker must import the runner (harness.inenv) and nothing else of the host: in a
checkout the host's folder holds the whole harness, and in an installed tool it is
site-packages, full of host packages (numpy among them) that would shadow the
environment's pins. So the runner's files are copied once per content digest into
a cache folder holding only ``harness/__init__.py`` and ``harness/inenv/``, and the
worker's PYTHONPATH (and working folder) is that folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile

from harness import config


def _cache_root() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "tfrepro", "runner")


def _sources() -> list[str]:
    return sorted(n for n in os.listdir(config.RUNNER_DIR) if n.endswith(".py"))


def runner_path() -> str:
    """The folder to put on a worker's PYTHONPATH: the current runner, staged (once)."""
    digest = hashlib.sha256()
    names = _sources()
    for name in names:
        with open(os.path.join(config.RUNNER_DIR, name), "rb") as fh:
            digest.update(name.encode() + b"\0" + fh.read())
    root = os.path.join(_cache_root(), digest.hexdigest()[:16])
    if os.path.isdir(os.path.join(root, "harness", "inenv")):
        return root
    os.makedirs(_cache_root(), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".staging-", dir=_cache_root())
    inenv = os.path.join(tmp, "harness", "inenv")
    os.makedirs(inenv)
    with open(os.path.join(tmp, "harness", "__init__.py"), "w") as fh:
        fh.write('"""tfrepro\'s in-environment runner (staged copy)."""\n')
    for name in names:
        shutil.copyfile(os.path.join(config.RUNNER_DIR, name), os.path.join(inenv, name))
    try:
        os.replace(tmp, root)
    except OSError:  # another process staged the same runner meanwhile
        shutil.rmtree(tmp, ignore_errors=True)
    return root
