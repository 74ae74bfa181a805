"""The CI matrix, made from the harness's own listing so that no CI file repeats the environments.

    python -m harness list --json | python3 ci/matrix.py github >> "$GITHUB_OUTPUT"
    python -m harness list --json | python3 ci/matrix.py gitlab > ci/gitlab-ci.yml

github: one line, ``matrix=<JSON list>``, one entry per environment: its id, its
Python, the runner image and how the job gets that Python. uv-managed Pythons are
used wherever uv has a build; uv has none for 3.7, so those environments get
actions/setup-python, which has 3.7 builds only up to the ubuntu-22.04 image.

gitlab: the whole GitLab CI pipeline. GitLab's parallel:matrix needs the values
written out, so the committed ci/gitlab-ci.yml is generated here and a test fails
when it no longer matches harness/matrix/envs.py.

Standard library only: it runs on the CI runner's own python3, before anything is installed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable

UV_RUNNER = "ubuntu-24.04"
# actions/python-versions (versions-manifest.json) has 3.7.17 for ubuntu-20.04 and 22.04 x64 only.
SETUP_PYTHON_RUNNER = "ubuntu-22.04"


def uv_has_build(version: str) -> bool:
    """Whether ``uv python install <version>`` can download an interpreter (asked once per version)."""
    uv = shutil.which("uv")
    if uv is None:
        raise SystemExit("ci/matrix.py: uv is not on PATH (the workflow installs it with astral-sh/setup-uv)")
    out = subprocess.run(
        [uv, "python", "list", "--only-downloads", "--all-versions", "--output-format", "json", version],
        capture_output=True, text=True, check=True,
    )
    return bool(json.loads(out.stdout or "[]"))


def github_matrix(listing: list[dict], has_build: Callable[[str], bool]) -> list[dict]:
    """The ``include`` list of the GitHub job matrix."""
    known: dict[str, bool] = {}
    out = []
    for env in listing:
        version = env["python"]
        if version not in known:
            known[version] = has_build(version)
        from_uv = known[version]
        out.append({
            "env": env["id"],
            "python": version,
            "python_from": "uv" if from_uv else "setup-python",
            "runner": UV_RUNNER if from_uv else SETUP_PYTHON_RUNNER,
        })
    return out


GITLAB_HEADER = """\
# tfrepro on GitLab CI: one job per environment (parallel:matrix), then one report.
#
# GENERATED from harness/matrix/envs.py; do not edit. Regenerate after changing the matrix with
#     python -m harness list --json | python3 ci/matrix.py gitlab > ci/gitlab-ci.yml
# (tests/test_ci.py fails while this file and harness/matrix/envs.py disagree). Use it as the
# project's CI/CD configuration file (Settings > CI/CD > General pipelines), or include it.
#
# Each environment's job runs in the official python:<version> image, which gives every
# version its interpreter (3.7 included, which uv cannot install); nox and the harness's
# host side run on a uv-managed Python 3.12 beside it.

workflow:
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
    - if: $CI_PIPELINE_SOURCE == "web"

stages:
  - run
  - report

variables:
  UV_VERSION: "0.13.9"
  HOST_PYTHON: "3.12"
  UV_CACHE_DIR: "$CI_PROJECT_DIR/.uv-cache"
  UV_LINK_MODE: copy
  HARNESS_TAGS: default

.uv:
  before_script:
    - curl -LsSf "https://astral.sh/uv/$UV_VERSION/install.sh" | env UV_INSTALL_DIR=/usr/local/bin sh
    - uv python install "$HOST_PYTHON"

run:
  stage: run
  extends: .uv
  image: "python:$PYTHON"
  timeout: 3h
  variables:
    HARNESS_SKIP_COMPARE: "1"  # compare runs once, in the report job
  cache:
    key: "uv-$ENV"
    paths:
      - .uv-cache
  script:
    - uvx --python "$HOST_PYTHON" --from "nox[uv]>=2026.8.17" nox -s "matrix($ENV)"
    - uv cache prune --ci
  artifacts:
    when: always
    name: "results-$ENV"
    expire_in: 30 days
    paths:
      - "results/$ENV.json"
      - "results/$ENV.log"
  parallel:
    matrix:
"""

GITLAB_FOOTER = """\

report:
  stage: report
  extends: .uv
  image: "python:3.12"
  needs:
    - run
  when: always
  script:
    # The exit code is the harness's: 1 regression, 5 golden values missing, 3 nondeterminism, 4 errors.
    - uvx --python "$HOST_PYTHON" --from . tfrepro compare --results results --report report
  artifacts:
    when: always
    expire_in: 30 days
    paths:
      - report/
    reports:
      junit: report/junit.xml
"""


def gitlab_pipeline(listing: list[dict]) -> str:
    """ci/gitlab-ci.yml: the fixed jobs around one matrix entry per Python version."""
    by_python: dict[str, list[str]] = {}
    for env in listing:
        by_python.setdefault(env["python"], []).append(env["id"])
    entries = []
    for version, ids in by_python.items():
        entries.append(f'      - PYTHON: "{version}"\n        ENV:\n'
                       + "".join(f'          - "{env_id}"\n' for env_id in ids))
    return GITLAB_HEADER + "".join(entries) + GITLAB_FOOTER


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in ("github", "gitlab"):
        print(__doc__.split("\n\n")[0], file=sys.stderr)
        return 2
    listing = json.load(sys.stdin)
    if not listing:
        print("ci/matrix.py: the listing names no environment", file=sys.stderr)
        return 2
    if argv[0] == "github":
        print("matrix=" + json.dumps(github_matrix(listing, uv_has_build), separators=(",", ":")))
    else:
        sys.stdout.write(gitlab_pipeline(listing))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
