"""Where things are: the project's folders and the tool's own files, in one place.

Every path default lives here. The stage modules import these names instead of
working out paths from their own ``__file__``.
"""

from __future__ import annotations

import os

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
# The checkout (or, for an installed tool, the folder holding the package).
ROOT = os.path.dirname(PACKAGE_DIR)
RUNNER_DIR = os.path.join(PACKAGE_DIR, "inenv")
BUILTIN_CASES = os.path.join(ROOT, "cases")
DEFAULT_RESULTS = os.path.join(ROOT, "results")
