"""Stage 1: the environment matrix, its locks and interpreters."""
