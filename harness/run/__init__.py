"""Stage 2: run the cases of one environment in its pinned interpreter; results/<env>.json."""
