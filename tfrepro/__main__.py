"""python -m tfrepro: the command line (the same as the ``tfrepro`` script)."""

import sys

from harness.cli import main

sys.exit(main())
