"""Results and golden documents: atomic writes, and reads that never crash."""

import json
import os

import pytest

from harness.core import store
from harness.core.documents.schema import GOLDEN_KIND, RESULTS_KIND, RESULTS_VERSION
from harness.core.reader import DocumentError


def good(kind=RESULTS_KIND, version=RESULTS_VERSION):
    return {"schema": kind, "version": version, "env": {"id": "tf2.15-keras2"}, "status": "ok", "cases": {}}


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "empty"),
        ('{"schema": "tfrepro-results", "vers', "not valid JSON"),
        ("[1, 2]", "not a tfrepro-results document"),
        (json.dumps(good(kind=GOLDEN_KIND)), "not a tfrepro-results document"),
        (json.dumps(good(version=RESULTS_VERSION + 1)), "newer harness"),
        (json.dumps(good(version=0)), "older"),
        (json.dumps({"schema": RESULTS_KIND, "version": 2, "env": {"id": "x"}, "status": "ok"}),
         "cases: missing"),
    ],
)
def test_broken_documents_are_named_errors(tmp_path, content, message):
    path = tmp_path / "env.json"
    path.write_text(content)
    with pytest.raises(DocumentError) as info:
        store.read_results(str(path))
    assert str(path) in str(info.value) and message in str(info.value)


def test_atomic_write_keeps_old_file_when_serialisation_fails(tmp_path):
    path = tmp_path / "env.json"
    store.write_json(str(path), good())
    with pytest.raises(TypeError):
        store.write_json(str(path), {"bad": object()})
    assert json.loads(path.read_text()) == good()
    assert os.listdir(tmp_path) == ["env.json"]  # no temporary file left behind


@pytest.mark.parametrize("name", ["../etc/passwd", "a/b", "..", "", "x" * 200, "name with space", "/abs"])
def test_unsafe_names_never_become_paths(name):
    with pytest.raises(ValueError):
        store.document_path("results", name)
