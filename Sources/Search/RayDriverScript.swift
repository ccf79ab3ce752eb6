// The Python half of `RayExecutor`: a small Ray driver that sibyl writes into the run directory
// (tasks/ray-driver.py, rewritten at every start) and runs with the Python that has Ray. Sibyl keeps the
// scheduler; this script only runs the member-rounds it is given, one Ray task per member, and reports.
//
// Protocol (JSON lines): argv[1] holds the settings; the driver answers {"event": "ready", ...} or
// {"event": "error", "message": ...}, then reads one request per round on stdin
// ({"round": R, "members": [...], "run": DIR, "label": NAME}) and writes events on stdout: "started"
// (a task began on a node), "done", "retry" (an attempt failed and is resubmitted), "failed" (no attempts
// left, or a failure no retry can fix) and finally {"event": "round", "failed": [...]}.
//
// Storage: "shared" runs the worker in the run directory, which every node must see at the same path;
// "driver" ships the files a member-round reads (plan request, task, its input checkpoint, the baseline)
// to the node through Ray's object store and writes back what it produced (checkpoint, result), so only the
// datasets and the sibyl binary need to be on every node.
enum RayDriverScript {
    static let fileName = "ray-driver.py"

    static let source = #"""
# Sibyl's Ray driver, written by `sibyl plan --executor ray` into the run directory at every start.
# Do not edit: sibyl rewrites it. See Sources/Search/RayDriverScript.swift.
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time


def emit(event, **fields):
    fields["event"] = event
    sys.stdout.write(json.dumps(fields, sort_keys=True) + "\n")
    sys.stdout.flush()


def die_with_parent(sig):
    # Linux prctl(PR_SET_DEATHSIG, sig): this process gets `sig` when its parent exits, so a killed sibyl
    # leaves no driver behind and a killed Ray worker leaves no training process behind.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(sig), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def tail(path, lines=12):
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.rstrip("\n").split("\n")[-lines:])


def atomic_write(path, data):
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)


FATAL = "FATAL: "  # a failure that no retry can fix (raised inside a task, recognised by the driver)


def run_worker(spec, run, cwd, log_path):
    host = socket.gethostname()
    executable = spec["executable"]
    if not os.access(executable, os.X_OK):
        raise RuntimeError(FATAL + f"{executable} is not an executable file on node {host}: install sibyl at "
                           "the same path on every node of the cluster")
    env = dict(os.environ)
    for name in spec["unset"]:
        env.pop(name, None)
    env.update(spec["env"])
    command = [executable, "plan-worker", "--run", run, "--round", str(spec["round"]),
               "--member", str(spec["member"]), "--threads", str(spec["threads"])]
    # The training process dies with this Ray worker: util-linux's setpriv sets its parent-death signal
    # before exec (a preexec_fn would run Python between fork and exec in a threaded process).
    setpriv = shutil.which("setpriv")
    if setpriv:
        command = [setpriv, "--pdeathsig", "KILL", "--"] + command
    with open(log_path, "ab") as log:
        log.write(f"--- attempt {spec['attempt']} on {host}\n".encode())
        log.flush()
        code = subprocess.call(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, env=env)
    if code != 0:
        what = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
        raise RuntimeError(f"sibyl plan-worker {what} on {host}; the end of its log ({log_path}):\n"
                           + tail(log_path))


def member_round(spec, hub, request=None, baseline=None, task=None, checkpoint=None):
    """One member-round on whichever node Ray picked: runs `sibyl plan-worker --member M`."""
    host = socket.gethostname()
    hub.started.remote(spec["member"], spec["attempt"], host)
    start = time.time()
    cwd = spec["cwd"]
    if request is None:
        if not os.path.isdir(cwd):
            raise RuntimeError(FATAL + f"the working directory {cwd} of sibyl plan does not exist on node {host}: "
                               "--ray-storage shared needs it (with --out, --baseline and --data-dir) on storage "
                               "every node mounts at the same path; use --ray-storage driver otherwise")
        run = os.path.join(cwd, spec["run"])
        if not os.path.isdir(run):
            raise RuntimeError(FATAL + f"the run directory {run} is not visible on node {host}: --ray-storage "
                               "shared needs it on storage every node mounts at the same path; use "
                               "--ray-storage driver otherwise")
        folder = os.path.join(run, "tasks", f"round-{spec['round']}")
        run_worker(spec, run, cwd, os.path.join(folder, f"member-{spec['member']}.log"))
        return {"host": host, "seconds": time.time() - start}
    # Storage "driver": the member-round's inputs arrive as bytes; a private run directory on this node.
    scratch = tempfile.mkdtemp(prefix="sibyl-member-")
    try:
        plan = json.loads(request)
        plan["baseline"] = os.path.join(scratch, "baseline.h5")
        plan["dataDirectory"] = os.path.join(cwd, plan["dataDirectory"])
        if not os.path.isdir(cwd):
            cwd = scratch
        job = json.loads(task)
        job["input"] = os.path.join(scratch, "input.ckpt")
        job["output"] = os.path.join(scratch, "output.ckpt")
        folder = os.path.join(scratch, "tasks", f"round-{spec['round']}")
        os.makedirs(folder)
        for path, data in ((plan["baseline"], baseline), (job["input"], checkpoint),
                           (os.path.join(scratch, "plan-request.json"), json.dumps(plan).encode()),
                           (os.path.join(folder, f"member-{spec['member']}.json"), json.dumps(job).encode())):
            with open(path, "wb") as f:
                f.write(data)
        log_path = os.path.join(folder, "worker.log")
        try:
            run_worker(spec, scratch, cwd, log_path)
        finally:
            log = open(log_path, "rb").read() if os.path.exists(log_path) else b""
        with open(os.path.join(folder, f"member-{spec['member']}.result.json"), "rb") as f:
            result = f.read()
        with open(job["output"], "rb") as f:
            output = f.read()
        return {"host": host, "seconds": time.time() - start, "result": result, "checkpoint": output, "log": log}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def describe(ray, error):
    if isinstance(error, ray.exceptions.RayTaskError):
        cause = getattr(error, "cause", None)
        return str(cause) if cause is not None else str(error).strip().split("\n")[-1]
    if isinstance(error, ray.exceptions.WorkerCrashedError):
        return "the Ray worker process running it died (killed, or out of memory)"
    if isinstance(error, ray.exceptions.NodeDiedError):
        return "the node running it died"
    return f"{type(error).__name__}: {error}"


def run_round(ray, remote, hub, settings, request, shipped):
    """Runs one round's members as Ray tasks; retries each failed one up to settings['retries'] times."""
    base = {key: settings[key] for key in ("executable", "threads", "cwd", "env", "unset")}
    base.update(round=request["round"], run=request["run"])
    folder = os.path.join(settings["cwd"], request["run"], "tasks", f"round-{request['round']}")
    pending = {}

    def submit(member, attempt):
        spec = dict(base, member=member, attempt=attempt)
        name = f"sibyl plan {request['label']}: round {request['round']} member {member}"
        if attempt > 1:
            name += f" (attempt {attempt})"
        arguments = []
        if shipped is not None:
            with open(os.path.join(folder, f"member-{member}.json"), "rb") as f:
                task = f.read()
            with open(os.path.join(settings["cwd"], json.loads(task)["input"]), "rb") as f:
                checkpoint = f.read()
            arguments = [shipped["request"], shipped["baseline"], task, ray.put(checkpoint)]
        pending[remote.options(name=name).remote(spec, hub, *arguments)] = (member, attempt)

    for member in request["members"]:
        submit(member, 1)
    failed = []
    running = set()
    quiet_since = time.time()
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
        if orphaned():  # a second guard beside the death signal
            os._exit(143)
        # Notes of tasks that started since the wait; emitted after the finished ones (a task starts when the
        # one before it frees its CPUs, often before this loop sees that one finish).
        started = ray.get(hub.drain.remote())
        running.update(note["member"] for note in started)
        if ready or started:
            quiet_since = time.time()
        elif not running and time.time() - quiet_since > 60:
            # Nothing has started for a minute: say so (an unschedulable task would otherwise wait silently).
            free = ray.available_resources().get("CPU", 0)
            emit("waiting", queued=len(pending), seconds=round(time.time() - quiet_since),
                 message=f"{len(pending)} member-round(s) still wait for {settings['threads']} CPUs each; the "
                         f"cluster has {free:g} free now")
            quiet_since = time.time()
        for ref in ready:
            member, attempt = pending.pop(ref)
            running.discard(member)
            try:
                value = ray.get(ref)
            except Exception as error:  # a task's own error, a dead worker or node: all are retried alike
                message = describe(ray, error)
                if message.startswith(FATAL) or attempt > settings["retries"]:
                    emit("failed", member=member, attempts=attempt, error=message.replace(FATAL, "", 1))
                    failed.append(member)
                else:
                    emit("retry", member=member, attempt=attempt, error=message)
                    submit(member, attempt + 1)
                continue
            if shipped is not None:
                with open(os.path.join(folder, f"member-{member}.json"), "rb") as f:
                    output = json.loads(f.read())["output"]
                with open(os.path.join(folder, f"member-{member}.log"), "ab") as f:
                    f.write(value["log"])
                # The checkpoint first: a result file means its checkpoint is complete.
                atomic_write(os.path.join(settings["cwd"], output), value["checkpoint"])
                atomic_write(os.path.join(folder, f"member-{member}.result.json"), value["result"])
            emit("done", member=member, attempt=attempt, host=value["host"], seconds=value["seconds"])
        for note in started:
            emit("started", **note)
    for started in ray.get(hub.drain.remote()):
        emit("started", **started)
    emit("round", round=request["round"], failed=sorted(failed))


class Hub:
    """Collects the tasks' "started" notes for the driver (an actor that takes no CPU)."""

    def __init__(self):
        self.events = []

    def started(self, member, attempt, host):
        self.events.append({"member": member, "attempt": attempt, "host": host})

    def drain(self):
        events, self.events = self.events, []
        return events


PARENT = os.getppid()


def orphaned():
    return os.getppid() != PARENT


def main():
    die_with_parent(signal.SIGTERM)
    settings = json.loads(sys.argv[1])
    try:
        import ray
    except Exception as error:
        emit("error", message=f"Ray is not importable by {sys.executable} ({error}); install it with `make ray` "
             "(Ray into .venv) or pass --ray-python with a Python that has Ray")
        return 3
    address = settings["address"]
    try:
        context = ray.init(address=address, namespace="sibyl", log_to_driver=False, logging_level="ERROR",
                           configure_logging=True)
    except Exception as error:
        hint = ("start one with `.venv/bin/ray start --head`, or pass --ray-address local for a private Ray "
                "started for this search" if address == "auto" else "check --ray-address")
        emit("error", message=f"cannot connect to a Ray cluster at {address}: {error}; {hint}")
        return 3
    # After ray.init, which installs handlers of its own: sibyl gone (or stopping the driver) ends the driver at
    # once; Ray then cancels the tasks this driver submitted.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(143))
    if orphaned():
        return 143
    nodes = [node for node in ray.nodes() if node.get("Alive")]
    largest = max([node.get("Resources", {}).get("CPU", 0) for node in nodes] or [0])
    if largest < 1:
        emit("error", message="no node of the Ray cluster at " + address + " has CPUs (yet): start a worker node "
             "with CPUs (ray start --address HEAD:PORT) and run the search again")
        return 3
    if settings["threads"] > largest:
        emit("error", message=f"each member-round asks for {settings['threads']} CPUs (--threads) but the "
             f"largest node of the Ray cluster has {largest:g}: pass --threads {int(largest)} or fewer")
        return 3
    remote = ray.remote(num_cpus=settings["threads"], max_retries=0)(member_round)
    hub = ray.remote(num_cpus=0)(Hub).remote()
    shipped = None
    if settings["storage"] == "driver":
        run = os.path.join(settings["cwd"], settings["run"])
        with open(os.path.join(run, "plan-request.json"), "rb") as f:
            request = f.read()
        with open(os.path.join(settings["cwd"], json.loads(request)["baseline"]), "rb") as f:
            baseline = f.read()
        shipped = {"request": ray.put(request), "baseline": ray.put(baseline)}
    dashboard = getattr(context, "dashboard_url", None) or ""
    emit("ready", address=context.address_info.get("gcs_address", address), nodes=len(nodes),
         cpus=sum(node.get("Resources", {}).get("CPU", 0) for node in nodes), dashboard=dashboard)
    for line in sys.stdin:
        if line.strip():
            run_round(ray, remote, hub, settings, json.loads(line), shipped)
    return 0


if __name__ == "__main__":
    sys.exit(main())
"""#
}
