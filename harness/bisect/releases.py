"""The released versions of a package, from the package index's JSON API.

Bisect needs three facts per release: its version (ordered by PEP 440 with
``packaging.version``), the day it was uploaded (so its environment is resolved as
of that day, like the matrix's locks) and whether it can be used at all (yanked,
or a release with no files). Reading the index is one small function; everything
else here is pure and tested with recorded documents.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import urllib.error
import urllib.request

from packaging.version import InvalidVersion, Version

INDEX_JSON = "https://pypi.org/pypi/{name}/json"


class ReleaseLookupError(RuntimeError):
    """The index could not be read, or it does not know a version asked for."""


@dataclasses.dataclass(frozen=True)
class Release:
    version: str
    uploaded: datetime.date | None  # the newest file of the release: a late wheel counts
    yanked: bool = False
    has_files: bool = True

    @property
    def key(self) -> Version:
        """The version as packaging's Version, for ordering (PEP 440)."""
        return Version(self.version)

    @property
    def is_prerelease(self) -> bool:
        return self.key.is_prerelease

    @property
    def unusable(self) -> str | None:
        """Why this release cannot be installed at all, or None."""
        if not self.has_files:
            return "the index has no files for it"
        if self.yanked:
            return "yanked from the index"
        return None

    def exclude_newer(self) -> str | None:
        """The day after its upload: the index as it was once this release existed."""
        if self.uploaded is None:
            return None
        return (self.uploaded + datetime.timedelta(days=1)).isoformat()


def parse_releases(document: dict) -> list[Release]:
    """Every release with a PEP 440 version, oldest version first."""
    out = []
    for version, files in (document.get("releases") or {}).items():
        try:
            Version(version)
        except InvalidVersion:
            continue  # pre-PEP 440 strings cannot be ordered; no release we bisect has one
        dates = [datetime.date.fromisoformat(f["upload_time_iso_8601"][:10])
                 for f in files if f.get("upload_time_iso_8601")]
        out.append(Release(
            version=version,
            uploaded=max(dates) if dates else None,
            yanked=bool(files) and all(f.get("yanked") for f in files),
            has_files=bool(files),
        ))
    return sorted(out, key=lambda r: r.key)


def fetch_releases(package: str, timeout: float = 60.0, url: str = INDEX_JSON) -> list[Release]:
    """The releases of ``package`` as the index lists them today."""
    address = url.format(name=package)
    try:
        with urllib.request.urlopen(address, timeout=timeout) as response:
            document = json.load(response)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise ReleaseLookupError(f"the index has no package {package!r} ({address})") from exc
        raise ReleaseLookupError(f"could not read {address}: HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ReleaseLookupError(f"could not read {address}: {exc}") from exc
    return parse_releases(document)


def between(releases: list[Release], good: str, bad: str, prereleases: bool = False) -> list[Release]:
    """The releases from ``good`` to ``bad`` inclusive, in version order (either
    direction: a bisect may go back in time). Pre-releases in between are left out
    unless asked for; an endpoint is always kept, whatever it is."""
    by_version = {r.key: r for r in releases}
    ends = []
    for wanted in (good, bad):
        try:
            key = Version(wanted)
        except InvalidVersion as exc:
            raise ReleaseLookupError(f"{wanted!r} is not a version") from exc
        if key not in by_version:
            near = ", ".join(r.version for r in releases[-8:])
            raise ReleaseLookupError(f"the index has no release {wanted} (its latest: {near})")
        ends.append(key)
    low, high = sorted(ends)
    chosen = [r for r in releases if low <= r.key <= high
              and (prereleases or not r.is_prerelease or r.key in (low, high))]
    return chosen if ends[0] <= ends[1] else chosen[::-1]
