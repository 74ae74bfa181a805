"""Optional environment sets, selected by tag; not part of the default matrix.

    HARNESS_TAGS=keras3-sweep nox -s matrix      # or: nox -t keras3-sweep
    python -m harness list --tag keras3-sweep

- ``keras3-sweep``: every Keras 3 minor release (its latest patch) on one
  TensorFlow. TensorFlow 2.16.1 is the one TensorFlow every Keras 3 release
  installs with: later TensorFlow wheels require a newer Keras (2.17: keras>=3.2,
  2.19: >=3.5, 2.20: >=3.10). Keras 3.0 on TF 2.16.1 is the default matrix's
  ``tf2.16-keras3.0`` (run ``HARNESS_TAGS=default,keras3-sweep`` to compare the
  whole line).
- ``tfkeras-sweep``: the tf-keras releases the default matrix does not have
  (it has one per TensorFlow minor from 2.16). tf-keras requires the full
  ``tensorflow`` wheel, so these pin that one rather than ``tensorflow-cpu``.
- ``backends-sweep``: Keras 3.13 on JAX and on PyTorch, at the Keras of the
  reference environment ``tf2.21-keras3.13``, so three backends run one Keras
  release. PyPI has no CPU-only torch for Linux: its wheel is the CUDA build and
  pulls the nvidia-* wheels (a 6.7 GB virtualenv; the CPU wheels are only on
  download.pytorch.org, which the locks do not use). It runs on the CPU all the
  same; the sweep is opt-in, so only those who ask pay for the download.

Each environment is resolved as of the day after its newest pinned release, like
the default matrix, and locked in locks/<id>.txt (``nox -s lock -- <id>``).
"""

from __future__ import annotations

from harness.matrix.envs import KERAS3, TF_KERAS, EnvSpec

SWEEP = "sweep"  # every optional environment
KERAS3_SWEEP = "keras3-sweep"
TFKERAS_SWEEP = "tfkeras-sweep"
BACKENDS_SWEEP = "backends-sweep"

SWEEP_TF = "2.16.1"


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def _keras3_on_tf216(keras: str, date: str) -> EnvSpec:
    return EnvSpec(
        id=f"tf{_minor(SWEEP_TF)}-keras{_minor(keras)}",
        python="3.11",
        requirements=(f"tensorflow-cpu=={SWEEP_TF}", f"keras=={keras}"),
        exclude_newer=date,
        flavour=KERAS3,
        tags=(SWEEP, KERAS3_SWEEP),
        env_vars=(("KERAS_BACKEND", "tensorflow"),),
    )


def _tf_keras(tf: str, tf_keras: str, date: str) -> EnvSpec:
    return EnvSpec(
        id=f"tf{_minor(tf)}-tfkeras{tf_keras}",
        python="3.11",
        requirements=(f"tensorflow=={tf}", f"tf-keras=={tf_keras}"),
        exclude_newer=date,
        flavour=TF_KERAS,
        tags=(SWEEP, TFKERAS_SWEEP),
        env_vars=(("TF_USE_LEGACY_KERAS", "1"),),
    )


# Dates: the day after the newer of TensorFlow 2.16.1 (uploaded 2024-03-09) and that Keras.
KERAS3_LINE: tuple[EnvSpec, ...] = (
    _keras3_on_tf216("3.1.1", "2024-03-20"),
    _keras3_on_tf216("3.2.1", "2024-04-11"),
    _keras3_on_tf216("3.3.3", "2024-04-27"),
    _keras3_on_tf216("3.4.1", "2024-06-27"),
    _keras3_on_tf216("3.5.0", "2024-08-13"),
    _keras3_on_tf216("3.6.0", "2024-10-04"),
    _keras3_on_tf216("3.7.0", "2024-11-27"),
    _keras3_on_tf216("3.8.0", "2025-01-08"),
    _keras3_on_tf216("3.9.2", "2025-04-03"),
    _keras3_on_tf216("3.10.0", "2025-05-20"),
    _keras3_on_tf216("3.11.3", "2025-08-22"),
    _keras3_on_tf216("3.12.4", "2026-07-30"),  # a late patch of 3.12, after 3.13 and 3.14
    _keras3_on_tf216("3.13.2", "2026-01-31"),
    _keras3_on_tf216("3.14.1", "2026-05-08"),
    _keras3_on_tf216("3.15.1", "2026-07-30"),
)

TF_KERAS_LINE: tuple[EnvSpec, ...] = (
    _tf_keras("2.14.0", "2.14.1", "2023-09-30"),
    _tf_keras("2.15.0", "2.15.0", "2023-11-15"),
    _tf_keras("2.15.1", "2.15.1", "2024-03-09"),
)

BACKENDS: tuple[EnvSpec, ...] = (
    EnvSpec(
        id="jax-keras3.13",
        python="3.11",
        requirements=("keras==3.13.2", "jax==0.9.0", "jaxlib==0.9.0"),  # the jax current on 2026-01-30
        exclude_newer="2026-01-31",
        flavour=KERAS3,
        backend="jax",
        tags=(SWEEP, BACKENDS_SWEEP),
        env_vars=(("KERAS_BACKEND", "jax"),),
    ),
    EnvSpec(
        id="torch-keras3.13",
        python="3.11",
        requirements=("keras==3.13.2", "torch==2.9.1"),  # the torch current on 2026-01-30
        exclude_newer="2026-01-31",
        flavour=KERAS3,
        backend="torch",
        tags=(SWEEP, BACKENDS_SWEEP),
        env_vars=(("KERAS_BACKEND", "torch"),),
    ),
)

SWEEPS: tuple[EnvSpec, ...] = KERAS3_LINE + TF_KERAS_LINE + BACKENDS
