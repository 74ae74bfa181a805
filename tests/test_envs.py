"""The environment definition: one place, complete, consistent with its locks."""

import os
import re

from packaging.version import Version

from harness.matrix import envs, locks

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def python_for(tf: str) -> str:
    v = Version(tf)
    if v < Version("2.2"):
        return "3.7"
    if v < Version("2.5"):
        return "3.8"
    if v < Version("2.8"):
        return "3.9"
    if v < Version("2.12"):
        return "3.10"
    return "3.11"


def test_default_matrix_is_complete():
    ids = [e.id for e in envs.select()]
    assert len(ids) == len(set(ids)) >= 30
    bundled = {e.id for e in envs.select() if e.flavour == envs.BUNDLED}
    minors = ["1.14", "1.15"] + [f"2.{i}" for i in range(16)]
    assert bundled == {f"tf{m}-keras2" for m in minors}
    for minor in range(16, 22):
        assert any(e.id.startswith(f"tf2.{minor}-keras3.") for e in envs.select())
        assert f"tf2.{minor}-tfkeras" in ids
    assert {"tf1.14-keras2.2.4", "tf2.0-keras2.3.1"} <= set(ids)
    assert any(e.backend == "jax" for e in envs.select())
    assert envs.REFERENCE_ENV in ids


def test_tensorflow_runs_on_the_python_it_supports():
    for env in envs.select():
        tf = env.pin("tensorflow") or env.pin("tensorflow-cpu")
        if tf:
            assert env.python == python_for(tf), env.id


def test_cpu_wheels_where_the_release_offers_them():
    for env in envs.select():
        tf = env.pin("tensorflow")
        if tf:  # only releases without a tensorflow-cpu wheel use the full one
            assert tf in ("1.14.0", "2.0.0"), env.id


def test_every_environment_has_a_lock_made_for_it():
    for env in envs.select():
        path = locks.lock_path(env, ROOT)
        with open(path) as f:
            text = f.read()
        assert f"# Lock for environment {env.id}:" in text
        assert f"resolved as of {env.exclude_newer}" in text
        for req in env.requirements:
            name, version = req.split("==")
            assert re.search(rf"^{re.escape(name)}=={re.escape(version)} ", text, re.M), (env.id, req)
        assert "--hash=sha256:" in text


def test_ids_are_safe_file_names():
    from harness.core import store

    for env in envs.all_envs():
        store.document_path("results", env.id)
