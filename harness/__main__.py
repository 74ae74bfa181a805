import sys

try:
    from harness.cli import main
except ModuleNotFoundError as exc:  # run from a bare checkout: a host dependency is missing, not a verdict
    from harness.core.errors import EXIT_INFRASTRUCTURE, message

    print(message(exc), file=sys.stderr)
    sys.exit(EXIT_INFRASTRUCTURE)

sys.exit(main())
