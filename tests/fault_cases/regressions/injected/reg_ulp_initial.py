"""reg_ulp_initial with one initial weight moved by one ULP when the model is created."""

from _fixture import injections, model

VARIANTS, INVARIANTS = model.declared("ulp_initial")


def run(k, workdir, **params):
    with injections.one_ulp_initial(k):
        return model.run(k, workdir, **params)
