"""jurytest: what jury's integration tests share: the real `jury` binary on temporary stores, and a jury/1 worker client."""

# The client here (Peer) is written from protocol/SPEC.md alone, in the style
# of its section 13 example, so that the tests check the coordinator against
# the contract rather than against its own code. Only the standard library,
# Debian's python3-zmq and python3-msgpack are used.

import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import traceback

import msgpack
import zmq

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("JURY_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE))
JURY_BIN = os.environ.get("JURY_BIN") or os.path.join(SOURCE_DIR, "build", "bin", "jury")
TEST_TMP = os.environ.get("JURY_TEST_TMP") or tempfile.gettempdir()
PYTHON = "/usr/bin/python3"

# Every wait in these tests is bounded; a slow (ASan) build gets the same
# bounds, which are generous next to what a healthy coordinator needs.
CLI_TIMEOUT_S = 60


class CheckFailed(AssertionError):
    """A check's expectation did not hold."""


def expect(cond, what):
    """Fails the current check with `what` unless cond is true."""
    if not cond:
        raise CheckFailed(what)


def expect_eq(got, want, what):
    """Fails the current check unless got == want, showing both."""
    if got != want:
        raise CheckFailed(f"{what}: got {got!r}, want {want!r}")


def wait_until(pred, timeout_s, what, interval_s=0.05):
    """Calls pred() until it returns a true value (returned), or fails after timeout_s."""
    deadline = time.monotonic() + timeout_s
    last = None
    while True:
        last = pred()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise CheckFailed(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(interval_s)


def now_ms():
    """Wall-clock milliseconds since the Unix epoch, the unit of lease_expires."""
    return int(time.time() * 1000)


def make_tmpdir(prefix):
    """A fresh directory under $JURY_TEST_TMP; the caller removes it (rmtree)."""
    os.makedirs(TEST_TMP, exist_ok=True)
    return tempfile.mkdtemp(prefix=prefix, dir=TEST_TMP)


def rmtree(path):
    shutil.rmtree(path, ignore_errors=True)


def _die_with_parent():
    # Linux: the child gets SIGKILL when the test process dies, so a test
    # killed by ctest's timeout leaves no coordinator or worker behind.
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def popen_tied(args, **kw):
    """subprocess.Popen for a child that must not outlive this process."""
    return subprocess.Popen(args, preexec_fn=_die_with_parent, **kw)


def free_endpoint():
    """A tcp://127.0.0.1:PORT endpoint on a port the kernel just said is free."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return "tcp://127.0.0.1:%d" % s.getsockname()[1]
    finally:
        s.close()


class Checks:
    """Runs named checks, prints one line each and the final `N passed, M failed`."""

    def __init__(self, title):
        self.title = title
        self.passed = 0
        self.failed = 0
        self.started = time.monotonic()

    def run(self, name, fn, *args, expected_failure=None):
        """Runs fn(*args) as check `name`. With expected_failure (a reason: a
        known coordinator bug), a failure counts as passed (xfail) and a pass
        as failed (XPASS: the bug is fixed, drop the marker)."""
        t0 = time.monotonic()
        try:
            fn(*args)
        except Exception as e:  # every failure is reported, none stops the run
            dt = time.monotonic() - t0
            if expected_failure:
                self.passed += 1
                print(f"xfail {name} ({dt:.2f} s): {e} [expected: {expected_failure}]", flush=True)
                return False
            self.failed += 1
            print(f"FAIL  {name} ({dt:.2f} s): {e}", flush=True)
            if not isinstance(e, CheckFailed):
                traceback.print_exc()
            return False
        dt = time.monotonic() - t0
        if expected_failure:
            self.failed += 1
            print(f"XPASS {name} ({dt:.2f} s): passes now; remove its expected_failure marker", flush=True)
            return True
        self.passed += 1
        print(f"ok    {name} ({dt:.2f} s)", flush=True)
        return True

    def finish(self):
        """Prints the summary line and returns the process exit code."""
        print(f"{self.title}: {time.monotonic() - self.started:.1f} s", flush=True)
        print(f"{self.passed} passed, {self.failed} failed", flush=True)
        return 1 if self.failed else 0


# ---------------------------------------------------------------------------
# The jury command line

def run_jury(store, *args, input_bytes=None, timeout_s=CLI_TIMEOUT_S, check=True):
    """Runs `jury --store STORE ARGS...`; returns the CompletedProcess (text
    output). With check, a non-zero exit raises CheckFailed with its stderr."""
    cmd = [JURY_BIN, "--store", store] + [str(a) for a in args]
    p = subprocess.run(cmd, input=input_bytes, capture_output=True, timeout=timeout_s)
    p.stdout = p.stdout.decode("utf-8", "replace")
    p.stderr = p.stderr.decode("utf-8", "replace")
    if check and p.returncode != 0:
        raise CheckFailed(f"{' '.join(cmd[1:])}: exit {p.returncode}: {p.stderr.strip()}")
    return p


class Store:
    """A store directory on disk, driven through the jury command line."""

    def __init__(self, path):
        self.path = path

    def create_dataset(self, name, settings):
        """Creates dataset `name` from a settings dict."""
        f = os.path.join(self.path + ".settings-" + name + ".json")
        with open(f, "w") as out:
            json.dump(settings, out)
        try:
            run_jury(self.path, "dataset", "create", name, "--settings", f)
        finally:
            os.unlink(f)

    def import_records(self, name, records):
        """Imports a list of record dicts (Argilla record shape) into `name`."""
        data = "".join(json.dumps(r) + "\n" for r in records).encode()
        return run_jury(self.path, "import", name, "-", input_bytes=data)

    def status(self, name):
        """`jury status NAME --json` as a dict."""
        return json.loads(run_jury(self.path, "status", name, "--json").stdout)

    def dump(self, name):
        """`jury dump NAME` as a dict: record id -> the record's JSON object."""
        out = run_jury(self.path, "dump", name).stdout
        records = {}
        for n, line in enumerate(out.splitlines(), 1):
            if not line.strip():
                continue
            r = json.loads(line)
            if r["id"] in records:
                raise CheckFailed(f"dump {name}: line {n}: record {r['id']!r} printed twice")
            records[r["id"]] = r
        return records

    def live(self, name):
        """The `live` part of status: {pid, leases, connected} or None."""
        return self.status(name)["live"]


def text_records(prefix, n, start=0):
    """n records with ids PREFIX<i> and one text field `text`."""
    return [{"id": f"{prefix}{i}", "fields": {"text": f"text of {prefix}{i}"}}
            for i in range(start, start + n)]


def label_settings(min_submitted=2, **distribution):
    """Settings with a text field and a required pos/neg label question."""
    d = {"min_submitted": min_submitted}
    d.update(distribution)
    return {"fields": [{"name": "text", "type": "text"}],
            "questions": [{"name": "label", "type": "label_selection", "labels": ["pos", "neg"]}],
            "distribution": d}


# ---------------------------------------------------------------------------
# The coordinator process

class Server:
    """A `jury serve` process on a store; stderr (logfmt) goes to a file."""

    def __init__(self, store_path, endpoint=None, heartbeat_ms=1000, log_level="debug", log_path=None,
                 insecure=True, probe_curve=None, extra_args=()):
        self.store_path = store_path
        # Plaintext (`serve --insecure`, identity from hello) unless insecure is False: then the
        # coordinator serves CURVE with the store's coordinator.key, and the readiness probe
        # connects with probe_curve (Peer's curve argument: an admitted annotator's keys).
        self.insecure = insecure
        self.probe_curve = probe_curve
        self.endpoint = endpoint or free_endpoint()
        self.heartbeat_ms = heartbeat_ms
        self.log_level = log_level
        self.log_path = log_path or (store_path.rstrip("/") + ".serve.log")
        self.extra_args = list(extra_args)  # further `jury serve` options
        self.proc = None
        self.returncode = None

    def start(self, ready_timeout_s=20):
        """Starts the coordinator and waits until it answers on its endpoint
        (a request without a session gets ENOSESSION, SPEC section 5)."""
        self.returncode = None
        log = open(self.log_path, "ab")
        try:
            self.proc = popen_tied(
                [JURY_BIN, "--store", self.store_path, "serve", "--bind", self.endpoint,
                 "--heartbeat-ms", str(self.heartbeat_ms), "--log-level", self.log_level]
                + (["--insecure"] if self.insecure else []) + self.extra_args,
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        finally:
            log.close()
        probe = Peer(self.endpoint, autobeat=False, curve=None if self.insecure else self.probe_curve)
        try:
            deadline = time.monotonic() + ready_timeout_s
            while True:
                if self.proc.poll() is not None:
                    raise CheckFailed(f"jury serve exited with {self.proc.returncode} at start:\n{self.log_tail()}")
                if time.monotonic() >= deadline:
                    raise CheckFailed(f"jury serve did not answer within {ready_timeout_s} s:\n{self.log_tail()}")
                msg = probe.request("fetch", timeout_s=0.5, n=1)
                if msg is not None:
                    if msg.get("code") != "ENOSESSION":
                        raise CheckFailed(f"readiness probe: want ENOSESSION, got {msg}")
                    return self
        finally:
            probe.close()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout_s=20):
        """SIGTERM, then waits; returns the exit code (SIGKILL and CheckFailed on timeout)."""
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                self.returncode = self.proc.returncode
                self.proc = None
                raise CheckFailed(f"jury serve did not exit within {timeout_s} s of SIGTERM")
        self.returncode = self.proc.returncode
        self.proc = None
        return self.returncode

    def kill(self):
        """SIGKILL (a crash); waits for the process to be gone."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait(10)
            self.returncode = self.proc.returncode
            self.proc = None

    def log_tail(self, lines=40):
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if self.running():
            try:
                self.stop()
            except CheckFailed:
                pass
        self.kill()


# ---------------------------------------------------------------------------
# A jury/1 worker connection, from protocol/SPEC.md

class Peer:
    """One DEALER connection to the coordinator (SPEC section 3).

    Every message is one frame holding one msgpack map with `v` and `cmd`.
    receive() skips heartbeats (counting them) and sends ours whenever we have
    sent nothing for heartbeat_s, as SPEC section 13's example does; with
    autobeat a background thread also does so while the test does something
    else (runs a command, sleeps), so a session never dies by accident. Set
    `beating` False to make the peer fall silent. Messages that are not the
    reply being waited for (goodbye, late replies) go to `events`.
    """

    def __init__(self, endpoint, heartbeat_s=1.0, autobeat=True, name="peer", curve=None):
        self.name = name
        self.endpoint = endpoint
        self.ctx = zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        if curve:
            # (coordinator public key, our public key, our secret key), Z85 (SPEC section 10).
            self.sock.curve_serverkey, self.sock.curve_publickey, self.sock.curve_secretkey = curve
        self.sock.connect(endpoint)
        self.req_ids = itertools.count(1)
        self.last_req = None
        self.heartbeat_s = heartbeat_s
        self.beating = True
        self.last_sent = time.monotonic()
        self.last_recv = time.monotonic()
        self.heartbeats_received = 0
        self.events = []
        self.welcome = None
        self.lock = threading.RLock()
        self.closed = False
        self.thread = None
        if autobeat:
            self.thread = threading.Thread(target=self._beat, name=f"beat-{name}", daemon=True)
            self.thread.start()

    def _beat(self):
        while not self.closed:
            time.sleep(min(self.heartbeat_s / 4, 0.1))
            with self.lock:
                if self.closed:
                    return
                if self.beating and time.monotonic() - self.last_sent >= self.heartbeat_s:
                    self._send_frames([msgpack.packb({"v": 1, "cmd": "heartbeat"})])

    def _send_frames(self, frames):
        with self.lock:
            self.sock.send_multipart(frames)
            self.last_sent = time.monotonic()

    def send(self, cmd, **fields):
        """Sends one message: a single frame holding {v: 1, cmd, **fields}."""
        self._send_frames([msgpack.packb({"v": 1, "cmd": cmd, **fields})])

    def send_map(self, body):
        """Sends a map exactly as given (to break the rules on purpose)."""
        self._send_frames([msgpack.packb(body)])

    def send_raw(self, *frames):
        """Sends raw bytes as one message of len(frames) frames."""
        self._send_frames(list(frames))

    def receive(self, timeout_s):
        """Returns the next message other than a heartbeat, or None after
        timeout_s. Sends our heartbeats while it waits (unless not beating)."""
        deadline = time.monotonic() + timeout_s
        while True:
            now = time.monotonic()
            if now >= deadline:
                return None
            with self.lock:
                if self.beating and now - self.last_sent >= self.heartbeat_s:
                    self.send("heartbeat")
                ready = self.sock.poll(max(1, min(20, int((deadline - now) * 1000))))
                if ready:
                    frames = self.sock.recv_multipart()
                    self.last_recv = time.monotonic()
            if not ready:
                continue
            if len(frames) != 1:
                raise CheckFailed(f"{self.name}: coordinator sent a {len(frames)}-frame message")
            msg = msgpack.unpackb(frames[0], raw=False, strict_map_key=True)
            if not isinstance(msg, dict) or msg.get("v") != 1 or not isinstance(msg.get("cmd"), str):
                raise CheckFailed(f"{self.name}: coordinator sent a message without v 1 and cmd: {msg!r}")
            if msg["cmd"] == "heartbeat":
                self.heartbeats_received += 1
                continue
            return msg

    def collect(self, timeout_s):
        """Every non-heartbeat message received within timeout_s (plus pending events)."""
        out, self.events = self.events, []
        deadline = time.monotonic() + timeout_s
        while True:
            msg = self.receive(max(0.0, deadline - time.monotonic()))
            if msg is None:
                return out
            out.append(msg)

    def request(self, cmd, timeout_s=15.0, **fields):
        """Sends a request with a fresh req and returns the reply with that req
        (an `error` without req also counts as the reply), or None on timeout."""
        return self.await_reply(self.request_nowait(cmd, **fields), timeout_s)

    def request_nowait(self, cmd, **fields):
        """Sends a request with a fresh req and returns the req."""
        req = self.last_req = next(self.req_ids)
        self.send(cmd, req=req, **fields)
        return req

    def await_reply(self, req, timeout_s=15.0):
        deadline = time.monotonic() + timeout_s
        while True:
            msg = self.receive(max(0.0, deadline - time.monotonic()))
            if msg is None:
                return None
            if msg.get("req") == req or (msg["cmd"] == "error" and msg.get("req") is None):
                return msg
            self.events.append(msg)

    def call(self, cmd, want, **fields):
        """request() that insists on a reply of command `want`."""
        msg = self.request(cmd, **fields)
        if msg is None:
            raise CheckFailed(f"{self.name}: {cmd}: no reply")
        if msg["cmd"] != want:
            raise CheckFailed(f"{self.name}: {cmd}: want {want}, got {msg}")
        return msg

    def hello(self, annotator, dataset, agent="jurytest/1"):
        """Opens a session; returns the welcome and adopts its heartbeat_ms."""
        msg = self.call("hello", "welcome", annotator=annotator, dataset=dataset, agent=agent)
        self.heartbeat_s = msg["heartbeat_ms"] / 1000
        self.welcome = msg
        return msg

    def fetch(self, n):
        """The records of one batch (list of maps)."""
        return self.call("fetch", "batch", n=n)["records"]

    def submit(self, responses):
        """The results of one submit (list of maps, in request order)."""
        return self.call("submit", "results", responses=responses)["results"]

    def release(self, ids):
        return self.call("release", "results", records=list(ids))["results"]

    def bye(self, reason="done"):
        self.send("bye", reason=reason)

    def goodbyes(self, timeout_s):
        """Waits up to timeout_s for a goodbye; returns it, or None."""
        for i, m in enumerate(self.events):
            if m["cmd"] == "goodbye":
                return self.events.pop(i)
        deadline = time.monotonic() + timeout_s
        while True:
            msg = self.receive(max(0.0, deadline - time.monotonic()))
            if msg is None:
                return None
            if msg["cmd"] == "goodbye":
                return msg
            self.events.append(msg)

    def close(self):
        with self.lock:
            if self.closed:
                return
            self.closed = True
            self.sock.close(0)
        if self.thread is not None:
            self.thread.join(2)


def submitted(record_id, label):
    """A submitted response answering the label question."""
    return {"record": record_id, "status": "submitted", "values": {"label": label}}


def slim(responses):
    """A dump record's responses as {annotator, status, values} maps, sorted by annotator."""
    return sorted(({"annotator": r["annotator"], "status": r["status"], "values": r.get("values")}
                   for r in responses), key=lambda r: r["annotator"])


def results_by_record(results):
    return {r["record"]: r for r in results}


# ---- keys and the audit log (tests of the security features) ----

def read_key_file(path):
    """A key file as a dict (section 10.1 of SPEC.md: name = value lines, # comments)."""
    out = {}
    with open(path) as f:
        for line in f:
            name, sep, value = line.partition("=")
            if sep and not line.lstrip().startswith("#"):
                out[name.strip()] = value.strip()
    return out


def curve_of(key):
    """Peer's curve argument for a key file's dict."""
    return (key["coordinator-key"].encode(), key["public-key"].encode(), key["secret-key"].encode())


def audit_lines(store_path):
    """STORE/audit.log as a list of {key: value} dicts (logfmt; quoted values unescaped enough here)."""
    path = os.path.join(store_path, "audit.log")
    if not os.path.exists(path):
        return []
    out = []
    with open(path) as f:
        for line in f:
            fields = {}
            for m in re.finditer(r'([A-Za-z0-9_.-]+)=("(?:[^"\\]|\\.)*"|\S*)', line):
                v = m.group(2)
                if v.startswith('"'):
                    v = v[1:-1].replace('\\"', '"').replace("\\\\", "\\")
                fields[m.group(1)] = v
            out.append(fields)
    return out
