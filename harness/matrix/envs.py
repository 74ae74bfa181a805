"""The one definition of the environment matrix.

Read by the noxfile, tox's plugin, the CI listing and the comparison step. Each
environment is plain data; nothing here touches the network or the disk, so it is
cheap to import from a noxfile.

Dates are the day after the newest pinned release: the resolver sees the package
index as it was when that combination was current (``uv --exclude-newer``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

# Keras flavours: how the framework under test exposes Keras.
BUNDLED = "tf.keras"  # Keras 2 shipped inside TensorFlow (1.14 ... 2.15)
TF_KERAS = "tf-keras"  # the tf-keras package, Keras 2 line on TF >= 2.16
KERAS3 = "keras3"  # multi-backend Keras 3
STANDALONE = "keras"  # standalone Keras 2.x on a TensorFlow backend


@dataclasses.dataclass(frozen=True)
class EnvSpec:
    """One pinned environment of the matrix."""

    id: str
    python: str  # "X.Y"
    requirements: tuple[str, ...]
    exclude_newer: str  # YYYY-MM-DD, the index as of that day
    flavour: str
    backend: str = "tensorflow"
    tags: tuple[str, ...] = ("default",)
    env_vars: tuple[tuple[str, str], ...] = ()

    @property
    def lineage(self) -> str:
        """Environments of one lineage are compared with their predecessor."""
        return self.flavour if self.backend == "tensorflow" else f"{self.flavour}-{self.backend}"

    @property
    def lock_name(self) -> str:
        """The file name of this environment's lock in locks/: ``<id>.txt``."""
        return f"{self.id}.txt"

    def pin(self, package: str) -> str | None:
        """The pinned version of ``package`` in this environment's requirements."""
        for req in self.requirements:
            name, _, version = req.partition("==")
            if _canonical(name) == _canonical(package):
                return version
        return None

    @property
    def framework_version(self) -> str:
        """The version that orders this environment within its lineage."""
        if self.flavour in (KERAS3, STANDALONE):
            key = "keras"
        elif self.flavour == TF_KERAS:
            key = "tf-keras"
        else:
            key = "tensorflow"
        version = self.pin(key) or self.pin("tensorflow-cpu") or self.pin("tensorflow")
        return version or "0"

    def to_json(self) -> dict:
        data = dataclasses.asdict(self)
        data["lineage"] = self.lineage
        data["env_vars"] = dict(self.env_vars)
        return data


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _bundled(tf: str, python: str, date: str, package: str = "tensorflow-cpu") -> EnvSpec:
    minor = ".".join(tf.split(".")[:2])
    return EnvSpec(
        id=f"tf{minor}-keras2",
        python=python,
        requirements=(f"{package}=={tf}",),
        exclude_newer=date,
        flavour=BUNDLED,
    )


def _keras3(tf: str, keras: str, date: str) -> EnvSpec:
    return EnvSpec(
        id=f"tf{_minor(tf)}-keras{_minor(keras)}",
        python="3.11",
        requirements=(f"tensorflow-cpu=={tf}", f"keras=={keras}"),
        exclude_newer=date,
        flavour=KERAS3,
        env_vars=(("KERAS_BACKEND", "tensorflow"),),
    )


def _tf_keras(tf: str, tf_keras: str, date: str) -> EnvSpec:
    return EnvSpec(
        id=f"tf{_minor(tf)}-tfkeras",
        python="3.11",
        requirements=(f"tensorflow-cpu=={tf}", f"tf-keras=={tf_keras}"),
        exclude_newer=date,
        flavour=TF_KERAS,
        env_vars=(("TF_USE_LEGACY_KERAS", "1"),),
    )


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


# tensorflow-cpu exists from 1.15 (only 1.15.0) and 2.1 on; TF 1.14 and 2.0 ship
# a CPU-only `tensorflow` wheel, so those use it.
DEFAULT_MATRIX: tuple[EnvSpec, ...] = (
    _bundled("1.14.0", "3.7", "2019-06-20", package="tensorflow"),
    _bundled("1.15.0", "3.7", "2019-10-17"),
    _bundled("2.0.0", "3.7", "2019-10-01", package="tensorflow"),
    _bundled("2.1.0", "3.7", "2020-01-09"),
    _bundled("2.2.0", "3.8", "2020-05-08"),
    _bundled("2.3.0", "3.8", "2020-07-28"),
    _bundled("2.4.0", "3.8", "2020-12-15"),
    _bundled("2.5.0", "3.9", "2021-05-14"),
    _bundled("2.6.0", "3.9", "2021-08-12"),
    _bundled("2.7.0", "3.9", "2021-11-05"),
    _bundled("2.8.0", "3.10", "2022-02-03"),
    _bundled("2.9.0", "3.10", "2022-05-17"),
    _bundled("2.10.0", "3.10", "2022-09-07"),
    _bundled("2.11.0", "3.10", "2022-11-19"),
    _bundled("2.12.0", "3.11", "2023-03-23"),
    _bundled("2.13.0", "3.11", "2023-07-06"),
    _bundled("2.14.0", "3.11", "2023-09-27"),
    _bundled("2.15.0", "3.11", "2023-11-15"),
    # Keras 3, pinned to the release current when that TensorFlow came out.
    _keras3("2.16.1", "3.0.5", "2024-03-10"),
    _keras3("2.17.0", "3.4.1", "2024-07-12"),
    _keras3("2.18.0", "3.6.0", "2024-10-26"),
    _keras3("2.19.0", "3.9.0", "2025-03-13"),
    _keras3("2.20.0", "3.11.2", "2025-08-14"),
    _keras3("2.21.0", "3.13.2", "2026-03-07"),
    # The Keras 2 line as the tf-keras package.
    _tf_keras("2.16.1", "2.16.0", "2024-03-10"),
    _tf_keras("2.17.0", "2.17.0", "2024-07-16"),
    _tf_keras("2.18.0", "2.18.0", "2024-10-26"),
    _tf_keras("2.19.0", "2.19.0", "2025-03-13"),
    _tf_keras("2.20.0", "2.20.1", "2025-09-05"),
    _tf_keras("2.21.0", "2.21.0", "2026-03-19"),
    # Standalone Keras on a TensorFlow backend, as in seed 001.
    EnvSpec(
        id="tf1.14-keras2.2.4",
        python="3.7",
        requirements=("tensorflow==1.14.0", "keras==2.2.4"),
        exclude_newer="2019-06-20",
        flavour=STANDALONE,
    ),
    EnvSpec(
        id="tf2.0-keras2.3.1",
        python="3.7",
        requirements=("tensorflow==2.0.0", "keras==2.3.1"),
        exclude_newer="2019-10-08",
        flavour=STANDALONE,
    ),
    # Keras 3 (latest) on the JAX backend.
    EnvSpec(
        id="jax-keras3.15",
        python="3.12",  # jax 0.12 needs Python >= 3.12
        requirements=("keras==3.15.1", "jax==0.12.0.1", "jaxlib==0.12.0.1"),
        exclude_newer="2026-11-01",
        flavour=KERAS3,
        backend="jax",
        env_vars=(("KERAS_BACKEND", "jax"),),
    ),
)

# The environment every other one is also compared with: today's stack.
REFERENCE_ENV = "tf2.21-keras3.13"

# The steps users take between lineages, compared by default beside each lineage's own
# steps (drift:migration): (from, to, what the step is).
MIGRATIONS: tuple[tuple[str, str, str], ...] = (
    ("tf2.15-keras2", "tf2.16-keras3.0", "TF 2.16 made Keras 3 the keras that tf.keras means"),
    ("tf2.15-keras2", "tf2.16-tfkeras", "TF 2.16 with the tf-keras package, to keep Keras 2"),
    ("tf1.14-keras2", "tf1.14-keras2.2.4", "tf.keras to standalone Keras 2.2.4 on the same TensorFlow"),
    ("tf2.0-keras2", "tf2.0-keras2.3.1", "tf.keras to standalone Keras 2.3.1 on the same TensorFlow"),
    ("tf2.21-keras3.13", "jax-keras3.15", "Keras 3 from the TensorFlow backend to JAX"),
)


def all_envs() -> tuple[EnvSpec, ...]:
    """Every defined environment: the default matrix, then the optional sweeps."""
    from harness.matrix import sweeps  # optional sets, kept apart from the default

    return DEFAULT_MATRIX + sweeps.SWEEPS


def select(ids: Iterable[str] | None = None, tags: Iterable[str] | None = None) -> list[EnvSpec]:
    """Environments by id (exact) or tag; no arguments means the default matrix."""
    envs = all_envs()
    chosen = list(envs)
    if ids:
        wanted = list(ids)
        known = {e.id for e in envs}
        unknown = [i for i in wanted if i not in known]
        if unknown:
            raise KeyError(f"unknown environment(s): {', '.join(unknown)}")
        chosen = [e for e in chosen if e.id in wanted]
    if tags:
        tagset = set(tags)
        chosen = [e for e in chosen if tagset & set(e.tags)]
    if not ids and not tags:
        chosen = [e for e in chosen if "default" in e.tags]
    return chosen


def by_id(env_id: str) -> EnvSpec:
    """The environment named ``env_id``; KeyError ("unknown environment: …") when there is none."""
    for env in all_envs():
        if env.id == env_id:
            return env
    raise KeyError(f"unknown environment: {env_id}")
