"""reg_one_ulp with one trained weight moved by one ULP before the final values are read."""

from tests.fault_cases import injections
from tests.fault_cases import regression_model as model

VARIANTS, INVARIANTS = model.declared("one_ulp")


def run(k, workdir, **params):
    with injections.one_ulp_after_fit(k):
        return model.run(k, workdir, **params)
