"""sim_worker: a simulated annotator for jury's fault tests: fetch, answer with random valid labels, submit; survives crashes of either side."""

# Usage: sim_worker.py --endpoint EP --store DIR --dataset NAME --annotator NAME
#                      --ack-log FILE [--batch N] [--think-ms MS] [--empty N]
#                      [--deadline S] [--hold-first S] [--seed N]
#
# Behaviour (protocol/SPEC.md): hello, then loops fetch -> think -> submit.
# Heartbeats whenever it has sent nothing for heartbeat_ms. A coordinator
# silent for 3 heartbeat intervals, a goodbye, or a request unanswered in time
# make it close the socket and reconnect with backoff (0.1 s doubling up to
# 2 s, with jitter); ENOSESSION makes it say hello again on the same socket.
# Responses are kept until acknowledged and resubmitted after every new
# session; a refused one (ENOTLEASED, EEXIST, ENOTFOUND) is dropped. Every
# acknowledged (record, annotator) is appended to the ack log as one JSON line,
# flushed and fsynced before the next request.
#
# Exit: 0 after --empty consecutive empty fetches while `jury status` shows
# pending 0; 3 when --deadline passes first. With --hold-first S it prints
# `HOLD id...` after its first non-empty batch and keeps it S seconds (still
# heartbeating) before answering: a window for the test to kill it.

import argparse
import json
import os
import random
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jurytest import JURY_BIN, Peer  # noqa: E402

LABELS = ["pos", "neg"]


class Reconnect(Exception):
    """The session is gone (silence, goodbye, timeout): open a new socket."""


class Sim:
    def __init__(self, a):
        self.a = a
        self.rng = random.Random(a.seed if a.seed is not None else a.annotator)
        self.peer = None
        self.heartbeat_s = 1.0
        self.unacked = {}  # record id -> response, in submission order
        self.ack_log = open(a.ack_log, "a")
        self.acked = 0
        self.dropped = 0
        self.reconnects = 0
        self.sessions = 0
        self.deadline = time.monotonic() + a.deadline
        self.held = False

    def log(self, text):
        print(f"sim_worker {self.a.annotator}: {text}", file=sys.stderr, flush=True)

    # -- the connection

    def connect(self):
        """Opens a new socket and a session, with backoff (run() then resubmits what is unacknowledged)."""
        delay = 0.1
        while True:
            self.check_deadline()
            if self.peer is not None:
                self.peer.close()
            self.peer = Peer(self.a.endpoint, heartbeat_s=self.heartbeat_s, name=self.a.annotator)
            try:
                self.hello()
                return
            except Reconnect as e:
                self.log(f"connect failed ({e}); retrying in {delay:.2f} s")
                time.sleep(delay * (0.5 + self.rng.random()))
                delay = min(2.0, delay * 2)

    def hello(self):
        # No heartbeats come before welcome, so wait a fixed time for it.
        msg = self.wait(self.peer.request_nowait("hello", annotator=self.a.annotator,
                                                 dataset=self.a.dataset, agent="sim_worker/1"),
                        max(3 * self.heartbeat_s, 2.0))
        if msg["cmd"] != "welcome":
            raise Reconnect(f"hello: {msg.get('code')}: {msg.get('reason')}")
        self.heartbeat_s = msg["heartbeat_ms"] / 1000
        self.peer.heartbeat_s = self.heartbeat_s
        self.sessions += 1

    def wait(self, req, timeout_s=None):
        """The reply to `req`. Raises Reconnect on goodbye, on 3 silent heartbeat
        intervals, or when no reply comes within timeout_s (default 30 s)."""
        deadline = time.monotonic() + (timeout_s or 30.0)
        while True:
            self.check_deadline()
            msg = self.peer.receive(0.05)
            now = time.monotonic()
            if msg is None:
                if now - self.peer.last_recv > 3 * self.heartbeat_s and timeout_s is None:
                    raise Reconnect("coordinator silent for 3 heartbeat intervals")
                if now >= deadline:
                    raise Reconnect("no reply in time")
                continue
            if msg["cmd"] == "goodbye":
                raise Reconnect(f"goodbye: {msg['code']}: {msg['reason']}")
            if msg.get("req") == req:
                return msg
            if msg["cmd"] == "error" and msg.get("req") is None:
                self.log(f"error without req: {msg}")

    def request(self, cmd, **fields):
        """A request with its reply; re-opens the session on ENOSESSION and retries."""
        for _ in range(5):
            msg = self.wait(self.peer.request_nowait(cmd, **fields))
            if msg["cmd"] == "error":
                if msg["code"] == "ENOSESSION":
                    self.log("ENOSESSION: hello again")
                    self.hello()
                    continue
                if msg["code"] in ("EBUSY", "EINTERNAL", "EFULL"):
                    time.sleep(0.2 * (0.5 + self.rng.random()))
                    continue
                raise RuntimeError(f"{cmd}: {msg['code']}: {msg['reason']}")
            return msg
        raise Reconnect(f"{cmd}: no session after 5 tries")

    def check_deadline(self):
        if time.monotonic() >= self.deadline:
            raise TimeoutError("deadline")

    # -- the work

    def submit(self, responses):
        for i in range(0, len(responses), 100):
            chunk = responses[i:i + 100]
            results = self.request("submit", responses=chunk)["results"]
            if len(results) != len(chunk):
                raise RuntimeError(f"submit: {len(chunk)} responses, {len(results)} results")
            lines = []
            for resp, res in zip(chunk, results):
                if res["record"] != resp["record"]:
                    raise RuntimeError(f"submit: result for {res['record']} in place of {resp['record']}")
                if res["ok"]:
                    lines.append(json.dumps({"record": resp["record"], "annotator": self.a.annotator,
                                             "label": resp["values"]["label"]}) + "\n")
                    self.acked += 1
                else:
                    self.dropped += 1
                    self.log(f"dropped {resp['record']}: {res['code']}: {res.get('reason')}")
                self.unacked.pop(resp["record"], None)
            if lines:
                self.ack_log.write("".join(lines))
                self.ack_log.flush()
                os.fsync(self.ack_log.fileno())

    def pending(self):
        p = subprocess.run([JURY_BIN, "--store", self.a.store, "status", self.a.dataset, "--json"],
                           capture_output=True, timeout=30)
        if p.returncode != 0:
            self.log(f"jury status: exit {p.returncode}: {p.stderr.decode(errors='replace')}")
            return None
        return json.loads(p.stdout)["pending"]

    def run(self):
        self.connect()
        empties = 0
        while True:
            try:
                if self.unacked:
                    # after a new session: what was never acknowledged goes again (9.2)
                    self.log(f"resubmitting {len(self.unacked)} unacknowledged responses")
                    self.submit(list(self.unacked.values()))
                records = self.request("fetch", n=self.a.batch)["records"]
                if not records:
                    empties += 1
                    if empties >= self.a.empty and self.pending() == 0:
                        return 0
                    self.peer.receive(0.1)  # a pause, heartbeating
                    continue
                empties = 0
                if self.a.hold_first and not self.held:
                    self.held = True
                    print("HOLD " + " ".join(r["id"] for r in records), flush=True)
                    self.sleep(self.a.hold_first)
                if self.a.think_ms:
                    self.sleep(self.a.think_ms / 1000)
                for r in records:
                    self.unacked[r["id"]] = {"record": r["id"], "status": "submitted",
                                             "values": {"label": self.rng.choice(LABELS)}}
                self.submit(list(self.unacked.values()))
            except Reconnect as e:
                self.reconnects += 1
                self.log(f"reconnecting: {e}")
                time.sleep(0.1 * (0.5 + self.rng.random()))
                self.connect()

    def sleep(self, seconds):
        """Thinks for `seconds`, heartbeating; a goodbye meanwhile means reconnect."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            msg = self.peer.receive(deadline - time.monotonic())
            if msg is not None and msg["cmd"] == "goodbye":
                raise Reconnect(f"goodbye: {msg['code']}: {msg['reason']}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--store", required=True)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--annotator", required=True)
    ap.add_argument("--ack-log", required=True)
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--think-ms", type=int, default=0)
    ap.add_argument("--empty", type=int, default=3)
    ap.add_argument("--deadline", type=float, default=60)
    ap.add_argument("--hold-first", type=float, default=0)
    ap.add_argument("--seed", type=int)
    sim = Sim(ap.parse_args())
    code = 1
    try:
        code = sim.run()
    except TimeoutError:
        sim.log("deadline passed")
        code = 3
    finally:
        sim.log(f"exit {code}: acked {sim.acked}, dropped {sim.dropped}, sessions {sim.sessions}, "
                f"reconnects {sim.reconnects}, "
                f"unacked {len(sim.unacked)}")
        if sim.peer is not None:
            sim.peer.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
