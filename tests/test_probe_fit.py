"""The probe sees every batch of ``k.fit`` in every backend: Keras 3 on JAX keeps the
training state outside the model's variables until an epoch ends, so the probe's
callback must ask for it (harness.inenv.framework._step_callback), or reading the
weights fails and the case errors."""

from __future__ import annotations

import pytest

from tests.fault_cases import drive

pytestmark = pytest.mark.envs


@pytest.mark.parametrize("env", ["jax-keras3.15", drive.KERAS3])
def test_fit_records_every_batch_with_the_weights_after_it(env, tmp_path):
    doc = drive.run_env(env, [drive.case_dir("regressions/clean")], tmp_path, repeat=1, only=("reg_bn_epsilon",))
    variant = doc.cases["reg_bn_epsilon"].variants["bn"]
    assert variant.ok, variant.error
    (model,) = variant.probe.models
    # 3 epochs of 40 samples in batches of 10 (tests/fault_cases/regression_model.py)
    assert len(model.steps) == 12
    states = [step.layers for step in model.steps]
    assert all(states[i] != states[i + 1] for i in range(len(states) - 1))  # each batch moved the weights
    assert all(step.loss is not None for step in model.steps)
