import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from harness import config  # noqa: E402 (the checkout's harness, from the line above)

# The harness's settings (harness.config.VARIABLES: HARNESS_RESULTS, HARNESS_GOLDEN, ...) belong
# to whoever runs the tests: a shell that exports them, or the noxfile (tfrepro.nox sets the
# folders for its sessions, and `nox -s tests` inherits them) would point every test at the
# checkout's results/, golden/ and report/. Each test sets what it needs. The interpreter
# overrides (HARNESS_PYTHON_3_7, ...) are facts of this machine: they stay.
for _name in config.VARIABLES:
    os.environ.pop(_name, None)
