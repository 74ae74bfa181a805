"""The GitHub job matrix of a project's own noxfile, for the reusable workflow.

    nox -l --json | python -m tfrepro.ci github [--envs a,b] >> "$GITHUB_OUTPUT"

Reads nox's session listing (so the matrix is exactly the noxfile's ``matrix(<env>)``
sessions: its ``envs=``/``tags=``, or HARNESS_TAGS), keeps the environments named in
``--envs`` when given, and prints one line, ``matrix=<JSON list>``, one entry per
environment: its id, its Python, the runner image and how the job gets that Python,
chosen as this project's own workflow chooses them (ci/matrix.py; a test keeps the
two equal): uv-managed Pythons wherever uv has a build, actions/setup-python on
ubuntu-22.04 for the others (3.7).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable

from harness.matrix import envs

UV_RUNNER = "ubuntu-24.04"
SETUP_PYTHON_RUNNER = "ubuntu-22.04"  # actions/python-versions has 3.7.17 up to this image
SESSION = re.compile(r"matrix\((?P<env>[^()]+)\)")


def uv_has_build(version: str) -> bool:
    """Whether ``uv python install <version>`` can download an interpreter."""
    uv = shutil.which("uv")
    if uv is None:
        raise SystemExit("tfrepro.ci: uv is not on PATH (the workflow installs it with astral-sh/setup-uv)")
    out = subprocess.run(
        [uv, "python", "list", "--only-downloads", "--all-versions", "--output-format", "json", version],
        capture_output=True, text=True, check=True,
    )
    return bool(json.loads(out.stdout or "[]"))


def environments(listing: list[dict], only: list[str]) -> list[str]:
    """The environment ids of the listing's matrix(<env>) sessions, in its order, kept
    to ``only`` when given (an id the noxfile does not run is an error)."""
    ids = [m.group("env") for m in (SESSION.fullmatch(s.get("name", "")) for s in listing) if m]
    unknown = [e for e in only if e not in ids]
    if unknown:
        raise SystemExit(f"tfrepro.ci: the noxfile runs no environment {', '.join(unknown)} "
                         f"(it runs: {', '.join(ids) or 'none'})")
    return [e for e in ids if e in only] if only else ids


def github_matrix(listing: list[dict], has_build: Callable[[str], bool]) -> list[dict]:
    """The ``include`` list of the job matrix for ``tfrepro list --json``-shaped entries."""
    known: dict[str, bool] = {}
    out = []
    for env in listing:
        version = env["python"]
        if version not in known:
            known[version] = has_build(version)
        from_uv = known[version]
        out.append({"env": env["id"], "python": version, "python_from": "uv" if from_uv else "setup-python",
                    "runner": UV_RUNNER if from_uv else SETUP_PYTHON_RUNNER})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tfrepro.ci", description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["github"])
    parser.add_argument("--envs", default="", help="comma-separated environment ids to keep (default: all)")
    args = parser.parse_args(argv)
    only = [e.strip() for e in args.envs.split(",") if e.strip()]
    ids = environments(json.load(sys.stdin), only)
    if not ids:
        raise SystemExit("tfrepro.ci: the noxfile defines no matrix(<env>) session")
    specs = [envs.by_id(e).to_json() for e in ids]
    print("matrix=" + json.dumps(github_matrix(specs, uv_has_build), separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
