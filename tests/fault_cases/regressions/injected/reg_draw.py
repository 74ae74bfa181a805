"""reg_draw with a no-op layer that consumes one random draw when it is constructed."""

from tests.fault_cases import injections
from tests.fault_cases import regression_model as model

VARIANTS, INVARIANTS = model.declared("draw")


def run(k, workdir, **params):
    with injections.activation_draws_once(k):
        return model.run(k, workdir, **params)
