"""test_sessions: many connections coming and going on a real `jury serve`: every open session is still found by its routing id, every closed one is gone."""

# The coordinator finds a connection by its ZeroMQ routing id in a hash table
# that grows with the connections and shifts entries back when one leaves.
# This drives it through growth (600 connections: the table doubles four
# times) and through removals in random order: connections that go silent
# (closed sockets, and connections after their bye) are forgotten after three
# heartbeats, and a new connection for an open annotator takes its session
# over. After each round every remaining connection must still be served
# (fetch, release), every connection that said bye must get ENOSESSION, and
# `jury status` must list exactly the open ones' annotators.
#
# Plaintext coordinator (the table does not depend on CURVE); heartbeats of
# 2 s, sent by the test to every open connection while it waits.

import os
import random
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jurytest import (Checks, Peer, Server, Store, expect_eq, label_settings,  # noqa: E402
                      make_tmpdir, rmtree, text_records, wait_until)

CONNECTIONS = 600
ROUNDS = 3
BYES = 30     # per round: connections that say bye
SILENT = 30   # per round: connections closed without a word
HEARTBEAT_S = 2.0
SEED = 20261128


class Suite:
    def __init__(self, root):
        self.store = Store(os.path.join(root, "store"))
        self.store.create_dataset("s", label_settings(min_submitted=1))
        self.store.import_records("s", text_records("r", 2000))
        self.server = Server(self.store.path, heartbeat_ms=int(HEARTBEAT_S * 1000), log_level="info")
        self.server.start()
        self.rng = random.Random(SEED)
        self.open = {}    # annotator -> Peer with a session
        self.ended = []   # Peers whose session ended (bye, taken over)
        self.silent = []  # Peers closed

    def stop(self):
        for p in list(self.open.values()) + self.ended + self.silent:
            p.close()
        self.server.stop()

    def connect(self, name):
        p = Peer(self.server.endpoint, name=name, autobeat=False, heartbeat_s=3600.0)
        p.hello(name, "s")
        return p

    def served(self, p):
        recs = p.fetch(1)
        expect_eq(len(recs), 1, f"{p.name}: fetch")
        res = p.release([recs[0]["id"]])
        expect_eq([r["ok"] for r in res], [True], f"{p.name}: release")

    def not_served(self, p):
        msg = p.request("fetch", n=1)
        expect_eq((msg or {}).get("code"), "ENOSESSION", f"{p.name} after its session ended: fetch")

    def connected(self):
        """The annotators `jury status` shows connected, sorted."""
        return sorted((self.store.live("s") or {}).get("connected") or [])

    def t_open(self):
        for i in range(CONNECTIONS):
            name = f"a{i}"
            self.open[name] = self.connect(name)
        for p in self.open.values():
            self.served(p)
        wait_until(lambda: self.connected() == sorted(self.open), 10, f"status: the {CONNECTIONS} connected")

    def beat_until(self, pred, timeout_s, what):
        """Sends a heartbeat to every open connection twice a heartbeat until pred() holds."""
        deadline = time.monotonic() + timeout_s
        while True:
            for p in self.open.values():
                p.send("heartbeat")
            if pred():
                return
            expect_eq(time.monotonic() < deadline, True, f"{what} within {timeout_s} s")
            time.sleep(HEARTBEAT_S / 2)

    def t_churn(self):
        for rnd in range(ROUNDS):
            names = self.rng.sample(sorted(self.open), BYES + SILENT)
            for name in names[:BYES]:
                p = self.open.pop(name)
                p.bye()
                self.ended.append(p)
            for name in names[BYES:]:
                p = self.open.pop(name)
                p.close()
                self.silent.append(p)
            # A take-over: a new connection for an open annotator ends the old one's session.
            name = self.rng.choice(sorted(self.open))
            old = self.open[name]
            self.open[name] = self.connect(name)
            bye = old.goodbyes(10)
            expect_eq((bye or {}).get("code"), "EBUSY", f"round {rnd}: {name}'s old connection: goodbye")
            self.ended.append(old)
            expect_eq(len(self.open), CONNECTIONS - (rnd + 1) * (BYES + SILENT), "open connections")
            self.beat_until(lambda: self.connected() == sorted(self.open), 10,
                            f"round {rnd}: status lists the open connections' annotators")
            # Three heartbeats of silence and the closed connections are forgotten (the log says so).
            want = (rnd + 1) * SILENT
            self.beat_until(lambda: self.server.log_tail(100000).count('reason="heartbeat timeout"') >= want,
                            4 * HEARTBEAT_S + 10, f"round {rnd}: {want} connections timed out")
            for p in self.open.values():
                self.served(p)
            for p in self.ended:
                self.not_served(p)


def main():
    checks = Checks("test_sessions")
    root = make_tmpdir("sessions-")
    suite = Suite(root)
    try:
        if checks.run(f"{CONNECTIONS} connections open, each served", suite.t_open):
            checks.run(f"{ROUNDS} rounds of {BYES} byes, {SILENT} closed, a take-over: the open served, "
                       "the ended ENOSESSION", suite.t_churn)
    finally:
        suite.stop()
    code = checks.finish()
    if code == 0:
        rmtree(root)
    else:
        print(f"kept {root} for inspection (log: {suite.server.log_path})", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
