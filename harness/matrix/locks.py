"""Resolve each environment as of its release date and write its lock file.

A lock is the full set of resolved packages with hashes, made by
``uv pip compile --exclude-newer``. Installs use the lock (``uv pip sync``), so a
run next year installs the same bits. The lock is compiled with the real target
interpreter because old sdists (absl-py 0.7, say) must be built with it to read
their metadata.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

from harness.matrix import envs, interpreters

LOCK_DIR = "locks"
PLATFORM = "x86_64-unknown-linux-gnu"


def uv_command() -> list[str]:
    """How to call uv: the one on PATH, else the one installed beside this Python
    (`pip install nox[uv]` puts it there without always putting it on PATH)."""
    found = shutil.which("uv")
    return [found] if found else [sys.executable, "-m", "uv"]


def lock_path(spec: envs.EnvSpec, root: str = ".") -> str:
    """``root``/locks/<lock name> of ``spec``."""
    return os.path.join(root, LOCK_DIR, spec.lock_name)


def lock_digest(spec: envs.EnvSpec, root: str = ".") -> str | None:
    """The hex sha256 of ``spec``'s lock file; None when it cannot be read."""
    try:
        with open(lock_path(spec, root), "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()
    except OSError:
        return None


def compile_command(spec: envs.EnvSpec, python: str, requirements_in: str, output: str) -> list[str]:
    """The ``uv pip compile`` argv that writes ``spec``'s lock to ``output``: for the x86-64
    Linux platform, with hashes, nothing newer than the environment's exclude_newer date."""
    return [
        "uv",
        "pip",
        "compile",
        requirements_in,
        "--python",
        python,
        "--python-platform",
        PLATFORM,
        "--exclude-newer",
        spec.exclude_newer,
        "--generate-hashes",
        "--no-header",
        "--quiet",
        "-o",
        output,
    ]


def write_lock(spec: envs.EnvSpec, root: str = ".") -> str:
    """Compile ``spec``'s lock into locks/<id>.txt (atomically); return its path."""
    python = interpreters.resolve(spec.python)
    if python is None:
        raise RuntimeError(interpreters.explain_missing(spec.python))
    target = lock_path(spec, root)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        req_in = os.path.join(tmp, "requirements.in")
        with open(req_in, "w") as fh:
            fh.write("\n".join(spec.requirements) + "\n")
        out = os.path.join(tmp, "lock.txt")
        proc = subprocess.run(compile_command(spec, python, req_in, out), capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"uv could not resolve {spec.id}:\n{proc.stderr.strip()}")
        with open(out) as fh:
            body = fh.read()
    header = (
        f"# Lock for environment {spec.id}: {' '.join(spec.requirements)}\n"
        f"# resolved as of {spec.exclude_newer} for Python {spec.python} on {PLATFORM}\n"
        f"# refresh with: nox -s lock -- {spec.id}\n"
    )
    tmp_target = target + ".tmp"
    with open(tmp_target, "w") as fh:
        fh.write(header + body)
    os.replace(tmp_target, target)
    return target


def main(argv: list[str]) -> int:
    """Lock the environments named in ``argv`` (all without any); 1 when any could not be
    locked (each failure printed), else 0."""
    chosen = envs.select(argv) if argv else envs.select()
    failed = 0
    for spec in chosen:
        try:
            path = write_lock(spec)
            print(f"locked {spec.id} -> {path}")
        except Exception as exc:  # one environment never stops the others
            failed += 1
            print(f"could not lock {spec.id}: {exc}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
