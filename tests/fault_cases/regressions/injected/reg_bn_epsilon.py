"""reg_bn_epsilon with BatchNormalization's epsilon at 1e-5 instead of Keras's 1e-3."""

from _fixture import injections, model

VARIANTS, INVARIANTS = model.declared("bn_epsilon")


def run(k, workdir, **params):
    with injections.batchnorm_epsilon(k, 1e-5):
        return model.run(k, workdir, **params)
