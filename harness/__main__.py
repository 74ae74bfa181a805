import sys

try:
    from harness.cli import main
except ModuleNotFoundError as exc:  # run from a bare checkout: a host dependency is missing, not a verdict
    from harness.core.errors import EXIT_INFRASTRUCTURE

    print(f"tfrepro: {exc}: the host side needs its dependencies; install the tool (`pip install -e .` in this "
          "checkout, or its wheel: see the README), or run it through nox (`nox -s compare`), which installs them",
          file=sys.stderr)
    sys.exit(EXIT_INFRASTRUCTURE)

sys.exit(main())
