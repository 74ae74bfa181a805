"""reg_one_ulp with one trained weight moved by one ULP before the final values are read."""

from _fixture import injections, model

VARIANTS, INVARIANTS = model.declared("one_ulp")


def run(k, workdir, **params):
    with injections.one_ulp_after_fit(k):
        return model.run(k, workdir, **params)
