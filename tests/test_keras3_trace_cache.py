"""Keras 3.0-3.6 without the retrace tax, with Keras's own bits (issue 17, point 3).

In a real Keras 3.0 environment (TF 2.16), a case trains the same model twice, once
through the adapter's cached train_on_batch and once through Keras's own
model.train_on_batch, over calls chosen to break a cache keyed wrongly
(fault_cases/keras3/trace_cache.py); its invariant says they agree bit for bit.
The full matrix shows the same on the built-in cases: tf2.16-keras3.0, tf2.17-keras3.4
and tf2.18-keras3.6 identical to their committed golden values."""

from __future__ import annotations

import numpy as np
import pytest

from tests.fault_cases import drive

pytestmark = pytest.mark.envs

ENV = "tf2.16-keras3.0"


def test_the_adapter_trains_bit_for_bit_like_keras_itself(tmp_path):
    doc = drive.run_env(ENV, [drive.case_dir("keras3")], tmp_path / "results", repeat=1)
    variants = doc.cases["trace_cache"].variants
    assert all(v.ok for v in variants.values()), {n: v.error for n, v in variants.items()}
    adapter, keras = (variants[n].observables for n in ("adapter", "keras"))
    assert len(adapter["loss"].values) == 18  # every call was made and recorded
    assert np.isfinite(adapter["loss"].values).all()
    for name in ("loss", "weight_sums", "final_weights_digest"):
        assert adapter[name].to_json() == keras[name].to_json(), name
    proc = drive.compare(tmp_path / "results", tmp_path / "no-golden", tmp_path / "report")
    summary = drive.load(tmp_path / "report" / "summary.json")
    invariant = drive.verdict(summary, ENV, "trace_cache", "invariant:the adapter's train_on_batch is Keras's own")
    assert invariant["status"] == "identical" and invariant["outcome"] == "pass", proc.stdout[-2000:]
