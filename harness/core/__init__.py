"""Statuses, exit codes and the on-disk store every stage shares."""
