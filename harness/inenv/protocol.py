"""How the host and the worker talk: a job file in, a stream of events out.

The host (harness.run.supervise) writes a job (JSON) and starts

    python -m harness.inenv.worker --job JOB.json --fd N

inside the pinned environment. The worker writes one JSON event per line on file
descriptor N (stdout and stderr stay free for the framework's own chatter). Both
sides import this module; PROTOCOL is checked at start, so a worker and a host of
different versions stop with a clear message instead of misreading each other.

Job (all keys required unless marked):

    protocol      PROTOCOL
    flavour       "tf.keras" | "tf-keras" | "keras3" | "keras"
    backend       "tensorflow" | "jax" | "torch"
    case_dirs     [folder, ...]
    tasks         [task, ...] in the order to run them; a task is
        case        the case's name (a module in case_dirs)
        mode        "run"        the case's variants, recorded by the probe, checked against
                                 golden values, with round-off members where they differ
                    "repeat"     plain runs for the determinism check (runs each)
                    "envelope"   round-off members only, measured against "reference"
                    "stream"     members with every seed shifted, measured against "reference"
                    "transplant" runs started from another environment's initial weights
        variants    [name, ...] or null for every variant
        runs        (repeat) runs per variant, default 1
        golden      (run, optional) {variant: observables} to check bit for bit
        reference   (envelope, stream) {variant: observables} the members are measured against
        members     (run, envelope, stream) members where a difference needs them, default 0
        state_dir   (run, optional) where the initial weights are saved
        transplant  (transplant) {"source": env id, "states": {variant: [npz path, ...]}}
        reverse     (optional) variants in reverse order

Events: ready, framework_error, case_start, case_declared, case_error, run_start,
variant_done, variant_error, case_end, done (see harness.inenv.worker).
"""

PROTOCOL = 2

MODES = ("run", "repeat", "envelope", "stream", "transplant")
MAX_OBSERVABLE_VALUES = 1000000  # per observable; harness.core.documents.observables.MAX_VALUES
EVENT_TYPES = ("ready", "framework_error", "case_start", "case_declared", "case_error", "run_start",
               "variant_done", "variant_error", "case_end", "done")


class JobError(ValueError):
    """A job file the worker cannot follow."""


def check_job(job):
    """The job, checked; JobError names what is wrong."""
    if not isinstance(job, dict):
        raise JobError("the job is not a JSON object")
    if job.get("protocol") != PROTOCOL:
        raise JobError("job protocol %r, this worker speaks %d: the host and the runner are of different "
                       "versions" % (job.get("protocol"), PROTOCOL))
    for key in ("flavour", "backend", "case_dirs", "tasks"):
        if key not in job:
            raise JobError("the job has no %r" % key)
    for i, task in enumerate(job["tasks"]):
        if not isinstance(task, dict) or task.get("mode") not in MODES or not isinstance(task.get("case"), str):
            raise JobError("task %d is not a task (case and mode %s)" % (i, "/".join(MODES)))
    return job
