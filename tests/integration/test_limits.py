"""test_limits: the limits of `jury serve` on a real CURVE coordinator: message size, records per fetch, leases per annotator, response size, messages per second, the disconnect for abuse, and 100,000 hostile frames from an authenticated client."""

# Two coordinators on one store, both serving CURVE with keys made by the real
# `jury keygen` and `jury annotator add`; the clients are python3-zmq CURVE
# DEALERs (jurytest.Peer) and, for the campaign after the fuzzing, the real
# `juror`.
#
# 1. Small limits (`--max-message-bytes 65536 --batch-max 5 --max-leases 12
#    --max-response-bytes 4096 --max-rate 500 --burst 100 --abuse-max 30`):
#    each limit gets its error reply with its code (ETOOBIG, ELIMIT; a fetch
#    over 100 is EPROTO, the protocol's own cap), a frame over twice the
#    message limit makes ZeroMQ drop the connection, and a flood gets ELIMIT
#    errors, then goodbye ELIMIT, its leases released, silence, and an
#    abuse.disconnect line in the audit log.
# 2. Default limits, except that malformed messages never send the fuzzing
#    connection away and its rate is not limited (so that every frame is
#    decoded rather than refused unread): FUZZ_FRAMES (100,000, also under
#    ASan; $JURY_LIMITS_FUZZ_FRAMES changes it) random and mutated frames from an
#    admitted annotator, while another worker is served in between; then
#    two `juror` bots complete a campaign, every response stored before is
#    unchanged (`jury dump` before and after), and the coordinator stops
#    cleanly (exit 0).
#
# No timing is asserted; the bounds are generous (an ASan build runs the same).

import os
import random
import subprocess
import sys
import time

import msgpack
import zmq

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jurytest import (JURY_BIN, SOURCE_DIR, Checks, CheckFailed, Peer, Server, Store, expect,  # noqa: E402
                      expect_eq, free_endpoint, label_settings, make_tmpdir, popen_tied, rmtree,
                      run_jury, submitted, text_records, wait_until, audit_lines, curve_of, read_key_file)

JUROR_BIN = os.environ.get("JUROR_BIN") or os.path.join(SOURCE_DIR, "build", "bin", "juror")
FUZZ_FRAMES = int(os.environ.get("JURY_LIMITS_FUZZ_FRAMES", "100000"))
FUZZ_SEED = int(os.environ.get("JURY_LIMITS_FUZZ_SEED", "20261128"))
SILENCE_S = 1.0
JUROR_TIMEOUT_S = 120

# The small limits of the first coordinator.
MSG_MAX = 65536
BATCH_MAX = 5
LEASES_MAX = 12
RESPONSE_MAX = 4096
RATE = 500
BURST = 100
ABUSE_MAX = 30
# The text of a record of dataset big: two fit an 8 MiB frame, three do not.
BIG = 3200 << 10
SMALL_LIMITS = ["--max-message-bytes", MSG_MAX, "--batch-max", BATCH_MAX, "--max-leases", LEASES_MAX,
                "--max-response-bytes", RESPONSE_MAX, "--max-rate", RATE, "--burst", BURST,
                "--abuse-max", ABUSE_MAX, "--abuse-window-s", 10]
# The fuzzing coordinator: defaults, but malformed frames and the rate never stop the fuzzer.
FUZZ_LIMITS = ["--max-malformed", 1000000000, "--max-rate", 1000000, "--burst", 10000000]


class LimitedServer(Server):
    """jurytest.Server with extra `jury serve` options (the limits)."""

    def __init__(self, store_path, extra, **kw):
        super().__init__(store_path, **kw)
        self.extra = [str(a) for a in extra]

    def start(self, ready_timeout_s=20):
        self.returncode = None
        log = open(self.log_path, "ab")
        try:
            self.proc = popen_tied(
                [JURY_BIN, "--store", self.store_path, "serve", "--bind", self.endpoint,
                 "--heartbeat-ms", str(self.heartbeat_ms), "--log-level", self.log_level] + self.extra,
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        finally:
            log.close()
        probe = Peer(self.endpoint, autobeat=False, curve=self.probe_curve)
        try:
            deadline = time.monotonic() + ready_timeout_s
            while True:
                if self.proc.poll() is not None:
                    raise CheckFailed(f"jury serve exited with {self.proc.returncode} at start:\n{self.log_tail()}")
                if time.monotonic() >= deadline:
                    raise CheckFailed(f"jury serve did not answer within {ready_timeout_s} s:\n{self.log_tail()}")
                msg = probe.request("fetch", timeout_s=0.5, n=1)
                if msg is not None:
                    expect_eq(msg.get("code"), "ENOSESSION", "readiness probe")
                    return self
        finally:
            probe.close()


def note_settings(min_submitted=1):
    """A required label and an optional free-text note (up to 64 KiB, SPEC 9.6)."""
    s = label_settings(min_submitted=min_submitted)
    s["questions"].append({"name": "note", "type": "text", "required": False})
    return s


class Suite:
    """The store, its annotators and the coordinator of the moment."""

    def __init__(self, root):
        self.root = root
        os.makedirs(root)
        self.store = Store(os.path.join(root, "store"))
        self.keys = {}
        self.peers = []
        self.server = None
        self.store.create_dataset("lim", note_settings())
        self.store.import_records("lim", text_records("m", 40))
        self.store.create_dataset("lim2", label_settings(min_submitted=1))
        self.store.import_records("lim2", text_records("n", 10))
        # The fuzzing: `done` completed before it, `live` half done, `after` done after it.
        self.store.create_dataset("done", label_settings(min_submitted=2))
        self.store.import_records("done", text_records("d", 10))
        self.store.create_dataset("live", note_settings(min_submitted=2))
        self.store.import_records("live", text_records("l", 30))
        self.store.create_dataset("after", label_settings(min_submitted=2))
        self.store.import_records("after", text_records("a", 12))
        # Records near the frame: BIG bytes each in four fields (a string may not pass 1 MiB),
        # two to a batch but not three.
        big = label_settings(min_submitted=1)
        big["fields"] = [{"name": f"t{k}", "type": "text"} for k in range(4)]
        self.store.create_dataset("big", big)
        self.store.import_records("big", [{"id": f"g{i}", "fields": {f"t{k}": "abcde"[i] * (BIG // 4) for k in range(4)}}
                                          for i in range(5)])
        run_jury(self.store.path, "keygen")
        for name, datasets in [("ana", "lim,lim2"), ("bob", "lim"), ("flo", "lim"), ("root", None),
                               ("fuzz", "live,after"), ("wit", "done,live"), ("pat", "done,live"),
                               ("fay", "after"), ("gus", "after"), ("max", "big")]:
            path = os.path.join(root, name + ".key")
            extra = ["--role", "admin"] if datasets is None else ["--datasets", datasets]
            run_jury(self.store.path, "annotator", "add", name, "--out", path, *extra)
            self.keys[name] = read_key_file(path)
            self.keys[name]["path"] = path

    def serve(self, extra):
        self.stop()
        self.endpoint = free_endpoint()
        self.server = LimitedServer(self.store.path, extra, endpoint=self.endpoint, heartbeat_ms=1000,
                                    insecure=False, probe_curve=curve_of(self.keys["root"]))
        self.server.start()
        return self.server

    def stop(self):
        self.close_all()
        if self.server is not None and self.server.running():
            code = self.server.stop()
            expect_eq(code, 0, f"jury serve exit code (log: {self.server.log_tail(10)})")

    def as_(self, annotator, name=None):
        p = Peer(self.endpoint, name=name or annotator, curve=curve_of(self.keys[annotator]))
        self.peers.append(p)
        return p

    def close_all(self):
        for p in self.peers:
            p.close()
        self.peers = []

    def leases(self, dataset):
        return (self.store.live(dataset) or {}).get("leases", 0)

    def expect_served(self):
        """Someone else still gets served: a hello and a fetch on `lim2` as root."""
        p = self.as_("root", "witness")
        p.hello("root", "lim2")
        recs = p.fetch(1)
        if recs:
            p.release([recs[0]["id"]])
        p.bye()

    # -- 1. each limit

    def t_batch_max(self):
        p = self.as_("bob")
        w = p.hello("bob", "lim")
        expect_eq(w["batch_max"], BATCH_MAX, "welcome's batch_max is --batch-max")
        recs = p.fetch(50)
        expect_eq(len(recs), BATCH_MAX, "a fetch of 50 gets batch_max records (SPEC 6.3: min(n, batch_max))")
        msg = p.request("fetch", n=101)
        expect_eq((msg["cmd"], msg["code"], msg.get("req")), ("error", "EPROTO", p.last_req),
                  "fetch n=101: over the protocol's cap of 100")
        p.release([r["id"] for r in recs])

    def t_message_size(self):
        p = self.as_("bob")
        p.hello("bob", "lim")
        # req comes before the padding, so the refusal names it without reading the rest.
        p.send_map({"v": 1, "cmd": "fetch", "req": 7, "n": 1, "pad": "x" * (MSG_MAX + 10)})
        msg = p.await_reply(7, 10)
        expect(msg is not None, "no reply to a message over --max-message-bytes")
        expect_eq((msg["cmd"], msg["code"], msg.get("req")), ("error", "ETOOBIG", 7), "reply")
        expect(str(MSG_MAX) in msg["reason"], f"the reason names the limit: {msg['reason']!r}")
        # A heartbeat over the limit is refused too, but (SPEC 5) never answered.
        p.send_map({"v": 1, "cmd": "heartbeat", "pad": "x" * (MSG_MAX + 10)})
        expect_eq(p.collect(SILENCE_S), [], "replies to a big heartbeat")
        # The session goes on.
        recs = p.fetch(1)
        expect_eq(len(recs), 1, "fetch after ETOOBIG")
        p.release([recs[0]["id"]])
        # Over twice the limit, ZeroMQ drops the connection unread (ZMQ_MAXMSGSIZE): the DEALER
        # reconnects by itself as a new connection, which has no session.
        p.send_map({"v": 1, "cmd": "fetch", "req": 8, "n": 1, "pad": "x" * (2 * MSG_MAX + 1000)})
        expect_eq(p.collect(SILENCE_S), [], "replies to a frame over twice the limit")
        msg = wait_until(lambda: p.request("fetch", timeout_s=2, n=1), 15, "a reply after the drop")
        expect_eq((msg["cmd"], msg["code"]), ("error", "ENOSESSION"), "the dropped connection's session is gone")
        self.expect_served()

    def t_leases(self):
        p = self.as_("ana")
        p.hello("ana", "lim")
        got = []
        for want in (BATCH_MAX, BATCH_MAX, LEASES_MAX - 2 * BATCH_MAX):
            recs = p.fetch(BATCH_MAX)
            expect_eq(len(recs), want, f"fetch with {len(got)} leases held")
            got += [r["id"] for r in recs]
        msg = p.request("fetch", n=1)
        expect_eq((msg["cmd"], msg["code"], msg.get("req")), ("error", "ELIMIT", p.last_req),
                  f"fetch with {LEASES_MAX} leases held")
        expect(f"holds {LEASES_MAX} leases" in msg["reason"], f"reason: {msg['reason']!r}")
        # The limit is per annotator, over every dataset.
        q = self.as_("ana", "ana-lim2")
        q.hello("ana", "lim2")
        msg = q.request("fetch", n=1)
        expect_eq((msg["cmd"], msg["code"]), ("error", "ELIMIT"), "fetch on another dataset at the limit")
        # Giving one back makes room for one.
        p.release(got[:1])
        extra = p.fetch(BATCH_MAX)
        expect_eq(len(extra), 1, "fetch after releasing one lease")
        held = got[1:] + [extra[0]["id"]]
        # A reconnect gets the leases it holds back, limit or not (SPEC 9.3).
        p.close()
        r = self.as_("ana", "ana-again")
        r.hello("ana", "lim")
        back = []
        for want in (BATCH_MAX, BATCH_MAX, LEASES_MAX - 2 * BATCH_MAX):
            recs = r.fetch(BATCH_MAX)
            expect_eq(len(recs), want, f"fetch after a reconnect with {len(back)} leases handed back")
            back += [x["id"] for x in recs]
        expect_eq(sorted(back), sorted(held), "the leases handed back are the ones held")
        expect_eq(r.request("fetch", n=1)["code"], "ELIMIT", "and then the limit again")
        r.release(back)
        q.bye()
        r.bye()

    def t_frame(self):
        p = self.as_("max")
        p.hello("max", "big")
        got = []
        for k, want in enumerate((2, 2, 1, 0), 1):
            recs = p.fetch(5)
            expect_eq(len(recs), want, f"fetch {k}: records in one 8 MiB frame (SPEC 6.3)")
            wait_until(lambda: self.leases("big") == want, 10,
                       f"fetch {k}: the status file shows {want} leases, only those of the records sent")
            for r in recs:
                expect_eq(r["fields"], {f"t{j}": "abcde"[int(r["id"][1:])] * (BIG // 4)
                                        for j in range(4)}, f"{r['id']}'s fields")
            got += [r["id"] for r in recs]
            if recs:
                res = p.submit([submitted(r["id"], "pos") for r in recs])
                expect_eq([x["ok"] for x in res], [True] * want, f"fetch {k}: submits")
        expect_eq(sorted(got), [f"g{i}" for i in range(5)], "each record sent once")
        st = self.store.status("big")
        expect_eq((st["records"], st["pending"], st["completed"]), (5, 0, 5), "big: all completed")

    def t_response_size(self):
        p = self.as_("bob")
        p.hello("bob", "lim")
        recs = p.fetch(2)
        expect_eq(len(recs), 2, "batch")
        big = {"record": recs[0]["id"], "status": "submitted",
               "values": {"label": "pos", "note": "y" * (RESPONSE_MAX + 1)}}
        res = p.submit([big, submitted(recs[1]["id"], "neg")])
        expect_eq([(r["record"], r["ok"], r.get("code")) for r in res],
                  [(recs[0]["id"], False, "ETOOBIG"), (recs[1]["id"], True, None)],
                  "results: the big response refused, the other stored")
        expect(str(RESPONSE_MAX) in res[0]["reason"], f"reason names the limit: {res[0]['reason']!r}")
        # The record is still leased: a smaller answer is taken.
        small = dict(big, values={"label": "pos", "note": "y" * 100})
        expect_eq([r["ok"] for r in p.submit([small])], [True], "the same record with a smaller note")
        d = self.store.dump("lim")
        expect_eq([x["values"] for x in d[recs[0]["id"]]["responses"]], [{"label": "pos", "note": "y" * 100}],
                  "stored values")

    def t_flood(self):
        p = self.as_("flo")
        p.hello("flo", "lim")
        held = [r["id"] for r in p.fetch(3)]
        expect_eq(len(held), 3, "leases before the flood")
        wait_until(lambda: self.leases("lim") == 3, 10, "the status file shows the 3 leases")
        # Far more than the burst, as fast as a DEALER sends: releases of an unknown record
        # (results ENOTFOUND: nothing changes) until the coordinator sends the connection away.
        n = 3000
        first = p.last_req + 1
        with p.lock:
            for i in range(n):
                p.send("release", req=first + i, records=["nope"])
        msgs = p.collect(3.0)
        results = [m for m in msgs if m["cmd"] == "results"]
        errors = [m for m in msgs if m["cmd"] == "error"]
        byes = [m for m in msgs if m["cmd"] == "goodbye"]
        expect(BURST // 2 <= len(results) < n, f"served: about the burst ({len(results)} results)")
        expect(errors and all(e["code"] == "ELIMIT" for e in errors), f"over the rate: ELIMIT ({errors[:3]})")
        expect(all(isinstance(e.get("req"), int) and e["req"] >= first for e in errors), "errors carry req")
        expect(len(errors) <= ABUSE_MAX, f"at most --abuse-max errors before the goodbye ({len(errors)})")
        expect_eq([(b["code"], "ignored for 60 s" in b["reason"]) for b in byes], [("ELIMIT", True)],
                  f"goodbye {byes}")
        expect_eq(len(results) + len(errors) + len(byes), len(msgs), "nothing else")
        # Its leases are released at once; what it sends now is ignored.
        wait_until(lambda: self.leases("lim") == 0, 10, "the flooder's leases released")
        p.send("fetch", req=999999, n=1)
        expect_eq(p.collect(SILENCE_S), [], "replies to the connection sent away")
        lines = wait_until(lambda: [a for a in audit_lines(self.store.path) if a.get("event") == "abuse.disconnect"],
                           5, "the abuse.disconnect audit line")
        a = lines[-1]
        expect_eq((a.get("annotator"), a.get("dataset"), a.get("released"), a.get("by")), ("flo", "lim", "3", "serve"),
                  f"audit line {a}")
        expect("messages per second" in a.get("reason", ""), f"audit reason {a}")
        # Another connection of the same annotator is a fresh start; others were served all along.
        q = self.as_("flo", "flo-again")
        q.hello("flo", "lim")
        q.bye()
        self.expect_served()

    def t_hostile_over_limits(self):
        """Hostile frames over the size limit are refused unread (only their first entries are
        looked at, for cmd and req): ETOOBIG errors, then goodbye ELIMIT; others are served."""
        fz = Fuzzer(self, random.Random(FUZZ_SEED + 1), ["m1", "m2"])
        peers = [self.as_("bob", f"bob-big-{c}") for c in range(4)]
        for p in peers:
            with p.lock:
                for _ in range(ABUSE_MAX + 5):
                    # (a short head, so that no frame reaches twice the limit: ZeroMQ drops those)
                    p.send_raw(fz.frame()[:1000] + b"\0" * (MSG_MAX + 1))
        for c, p in enumerate(peers):
            msgs = p.collect(1.0)
            byes = [m for m in msgs if m["cmd"] == "goodbye"]
            errors = [m for m in msgs if m["cmd"] == "error"]
            expect_eq([b["code"] for b in byes], ["ELIMIT"], f"connection {c}: goodbye")
            expect(all(e["code"] == "ETOOBIG" for e in errors) and len(errors) <= ABUSE_MAX,
                   f"connection {c}: errors {[(e['code'], e.get('req')) for e in errors]}")
            expect_eq(len(msgs), len(byes) + len(errors), f"connection {c}: nothing else")
        self.expect_served()

    def t_options(self):
        for args in (["--max-rate", "0"], ["--batch-max", "101"], ["--max-message-bytes", "8388609"],
                     ["--max-leases", "x"], ["--abuse-window-s", "-1"]):
            p = run_jury(self.store.path, "serve", "--bind", free_endpoint(), *args, check=False, timeout_s=20)
            expect_eq(p.returncode, 2, f"serve {' '.join(args)}")
            expect(args[0] in p.stderr, f"message names the option: {p.stderr.strip()}")

    # -- 2. hostile frames from an admitted annotator

    def campaign(self, dataset, pairs):
        """Peers answer every record of dataset, each pair (annotator, label) in turn."""
        for name, label in pairs:
            p = self.as_(name)
            p.hello(name, dataset)
            while True:
                recs = p.fetch(5)
                if not recs:
                    break
                res = p.submit([submitted(r["id"], label) for r in recs])
                expect(all(r["ok"] for r in res), f"{name}: {res}")
            p.bye()

    def t_fuzz(self):
        # Before: `done` complete (2 x 10), `live` with responses and a draft, half its records open.
        self.campaign("done", [("wit", "pos"), ("pat", "neg")])
        w = self.as_("wit")
        w.hello("wit", "live")
        recs = w.fetch(15)
        res = w.submit([submitted(r["id"], "pos") for r in recs[:14]] +
                       [{"record": recs[14]["id"], "status": "draft", "values": {"note": "half"}}])
        expect(all(r["ok"] for r in res), f"wit's responses: {res}")
        w.bye()
        done_before = self.store.dump("done")
        live_before = self.store.dump("live")
        expect(all(r["status"] == "completed" for r in done_before.values()), "done is complete")

        t0 = time.monotonic()
        stats = Fuzzer(self, random.Random(FUZZ_SEED), ["l%d" % i for i in range(30)] + ["d1", "a2"]).run(FUZZ_FRAMES)
        print(f"      {FUZZ_FRAMES} frames in {time.monotonic() - t0:.1f} s: {stats}", flush=True)
        expect(self.server.running(), f"the coordinator is running (log: {self.server.log_tail(20)})")

        # The fuzzer's sessions are over (its last said bye; those ZeroMQ dropped time out after 3
        # heartbeats): whatever it leased is free again.
        for d in ("after", "live"):
            wait_until(lambda: self.leases(d) == 0, 15, f"the fuzzer's leases on {d} released")
        # Another worker completes a campaign: two real `juror` bots.
        procs = [subprocess.Popen([JUROR_BIN, "--key", self.keys[n]["path"], "--connect", self.endpoint,
                                   "--dataset", "after", "bot", "--simulate", "error=0", "--idle-exit", "2"],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for n in ("fay", "gus")]
        for p in procs:
            out, err = p.communicate(timeout=JUROR_TIMEOUT_S)
            expect_eq(p.returncode, 0, f"juror bot exit (stderr: {err.strip()[-1000:]})")
        st = self.store.status("after")
        expect_eq((st["completed"], st["responses"]["submitted"]), (12, 24), "the campaign after the fuzzing")

        # Every response stored before is there, unchanged.
        expect_eq(self.store.dump("done"), done_before, "jury dump done, before and after")
        live_after = self.store.dump("live")
        for rid, rec in live_before.items():
            after = {x["annotator"]: x for x in live_after[rid]["responses"]}
            for x in rec["responses"]:
                expect_eq(after.get(x["annotator"]), x, f"live record {rid}: {x['annotator']}'s response")
        others = {x["annotator"] for r in live_after.values() for x in r["responses"]} - {"wit", "fuzz"}
        expect_eq(others, set(), "annotators of live after the fuzzing")
        self.stop()
        log = open(self.server.log_path, "rb").read().decode("utf-8", "replace")
        expect("ERROR: AddressSanitizer" not in log and "runtime error:" not in log,
               "no sanitizer report in the coordinator's log")


class Fuzzer:
    """Random and mutated frames from the annotator `fuzz` (admitted to `live` and `after`).

    Frames come in chunks; after each, a valid hello on the same connection is the sync point: its
    reply (welcome, or EPROTO when a session is open) means the coordinator has read the chunk. A
    goodbye, a connection dropped by ZeroMQ (a frame over twice the message limit) or a sync that
    gets no answer starts a new connection. Every tenth chunk another worker must be served."""

    CHUNK = 400

    def __init__(self, suite, rng, ids):
        self.suite = suite
        self.rng = rng
        self.ids = ids
        self.sock = None
        self.req = 1_000_000
        self.stats = {"frames": 0, "replies": 0, "connections": 0, "goodbyes": 0, "big": 0}

    def connect(self):
        if self.sock is not None:
            self.sock.close(0)
        self.sock = zmq.Context.instance().socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.SNDHWM, 100000)
        self.sock.setsockopt(zmq.RCVHWM, 100000)
        self.sock.curve_serverkey, self.sock.curve_publickey, self.sock.curve_secretkey = \
            curve_of(self.suite.keys["fuzz"])
        self.sock.connect(self.suite.endpoint)
        self.stats["connections"] += 1

    # -- frames

    def rand_bytes(self, lo, hi):
        return bytes(self.rng.getrandbits(8) for _ in range(self.rng.randint(lo, hi)))

    def rand_value(self, depth=0):
        r = self.rng
        kinds = ["int", "neg", "big", "float", "str", "bin", "nil", "bool", "ext"]
        if depth < 3:
            kinds += ["list", "map"]
        k = r.choice(kinds)
        if k == "int":
            return r.randint(0, 300)
        if k == "neg":
            return -r.randint(1, 2 ** 63)
        if k == "big":
            return r.choice([2 ** 53, 2 ** 53 + 1, 2 ** 64 - 1, 2 ** 32])
        if k == "float":
            return r.choice([0.5, -1e308, float("nan"), float("inf")])
        if k == "str":
            return r.choice(["", "x" * r.randint(0, 600), "pos", "submitted", "l3", "\u00e9\u6771", "\ud7ff"])
        if k == "bin":
            return self.rand_bytes(0, 20)
        if k == "nil":
            return None
        if k == "bool":
            return r.random() < 0.5
        if k == "ext":
            if r.random() < 0.3:
                return msgpack.Timestamp(r.randint(0, 2 ** 34), r.randint(0, 999999999))
            return msgpack.ExtType(r.randint(0, 127), self.rand_bytes(0, 12))
        if k == "list":
            return [self.rand_value(depth + 1) for _ in range(r.randint(0, 5))]
        return {r.choice(["record", "status", "values", "label", "note", "n", "x"]): self.rand_value(depth + 1)
                for _ in range(r.randint(0, 4))}

    def valid(self):
        r = self.rng
        self.req += 1
        cmd = r.choice(["hello", "fetch", "fetch", "submit", "submit", "release", "heartbeat", "bye"])
        m = {"v": 1, "cmd": cmd, "req": self.req}
        if cmd == "hello":
            m.update(annotator=r.choice(["fuzz", "fuzz", "wit", "x"]), dataset=r.choice(["live", "done", "after"]))
        elif cmd == "fetch":
            m["n"] = r.randint(1, 100)
        elif cmd == "submit":
            m["responses"] = [{"record": r.choice(self.ids),
                               "status": r.choice(["submitted", "discarded", "draft"]),
                               "values": r.choice([{"label": "pos"}, {"label": "neg", "note": "n"}, {"note": "d"},
                                                   {"label": "maybe"}, {}])}
                              for _ in range(r.randint(1, 4))]
        elif cmd == "release":
            m["records"] = [r.choice(self.ids) for _ in range(r.randint(1, 4))]
        return m

    def huge_header(self):
        """Containers and strings whose headers claim far more than the frame holds."""
        r = self.rng
        claims = [b"\xdd\xff\xff\xff\xff", b"\xdf\xff\xff\xff\xff", b"\xdb\xff\xff\xff\xff", b"\xc6\xff\xff\xff\xff",
                  b"\xdc\xff\xff", b"\xde\xff\xff", b"\xda\xff\xff", b"\x9f", b"\x8f", b"\xbf", b"\xc9\x7f\xff\xff\xff\x01"]
        claim = r.choice(claims) + self.rand_bytes(0, 8)
        where = r.randint(0, 3)
        if where == 0:
            return claim
        head = msgpack.packb({"v": 1, "cmd": r.choice(["submit", "release", "fetch", "hello"]), "req": 5})
        key = r.choice(["responses", "records", "n", "annotator", "values"])
        # The body map, one entry more than packed, whose last value is the claim.
        return bytes([head[0] + 1]) + head[1:] + msgpack.packb(key) + claim

    def frame(self):
        r = self.rng
        k = r.random()
        if k < 0.15:
            return self.rand_bytes(0, r.choice([8, 64, 600]))
        if k < 0.25:
            return msgpack.packb(self.valid())
        if k < 0.40:
            b = msgpack.packb(self.valid())
            return b[:r.randint(0, len(b) - 1)]  # truncated
        if k < 0.50:
            return msgpack.packb(self.valid()) + self.rand_bytes(1, 20)  # extended
        if k < 0.65:
            b = bytearray(msgpack.packb(self.valid()))
            for _ in range(r.randint(1, 6)):
                b[r.randrange(len(b))] = r.getrandbits(8)  # flipped bytes
            return bytes(b)
        if k < 0.82:
            m = self.valid()  # a valid map with a field of the wrong type
            key = r.choice([x for x in m if x != "req"] + ["responses", "records", "n"])
            m[key] = self.rand_value()
            if r.random() < 0.3 and m.get("cmd") == "submit" and isinstance(m.get("responses"), list) \
                    and m["responses"]:
                m["responses"][0] = {"record": self.rand_value(), "status": self.rand_value(),
                                     "values": self.rand_value()}
            try:
                return msgpack.packb(m, use_bin_type=True)
            except (TypeError, ValueError, OverflowError):
                return msgpack.packb(self.valid())
        if k < 0.94:
            return self.huge_header()
        if k < 0.97:
            depth = r.choice([31, 33, 200, 5000])
            return b"\x81\xa1v" + b"\x91" * depth + b"\xc0"  # deep nesting
        # many objects, non-string keys, repeated keys
        return r.choice([b"\xdd\x00\x03\x0d\x41" + b"\xc0" * 200001,
                         b"\x83\x01\x01\xa3cmd\xa5fetch\xa1v\x01",
                         b"\x84\xa1v\x01\xa3cmd\xa5fetch\xa3req\x01\xa3req\x02"])

    # -- the run

    def sync(self):
        """A hello as the sync point; True when its reply came (the connection is usable)."""
        self.req += 1
        req = self.req
        self.sock.send(msgpack.packb({"v": 1, "cmd": "hello", "req": req, "annotator": "fuzz", "dataset": "live"}))
        deadline = time.monotonic() + 10
        fresh = False
        while time.monotonic() < deadline:
            if not self.sock.poll(100):
                continue
            raw = self.sock.recv()
            self.stats["replies"] += 1
            try:
                msg = msgpack.unpackb(raw, raw=False)
            except Exception as e:
                raise CheckFailed(f"the coordinator sent a frame that is not msgpack: {raw[:80]!r}: {e}")
            expect(isinstance(msg, dict) and msg.get("v") == 1, f"reply without v 1: {msg!r}")
            if msg.get("cmd") == "goodbye":
                self.stats["goodbyes"] += 1
                fresh = True
            if msg.get("req") == req:
                return not fresh
        return False

    def run(self, total):
        self.connect()
        expect(self.sync(), "the fuzzer's first hello")
        sent = 0
        chunk_no = 0
        while sent < total:
            n = min(self.CHUNK, total - sent)
            for _ in range(n):
                self.sock.send(self.frame())
            sent += n
            chunk_no += 1
            # A few frames over the message limit (4 MiB), and over twice it (ZeroMQ drops those).
            if chunk_no % 50 == 25:
                self.stats["big"] += 1
                big = 5 << 20 if chunk_no % 100 == 25 else 9 << 20
                self.req += 1
                self.sock.send(b"\x84\xa1v\x01\xa3cmd\xa5fetch\xa3req" + msgpack.packb(self.req) +
                               b"\xa3pad\xdb" + big.to_bytes(4, "big") + b"z" * big)
                sent += 1
            if not self.sync():
                expect(self.suite.server.running(), f"the coordinator died (log: {self.suite.server.log_tail(20)})")
                self.connect()
                expect(self.sync(), "a hello on a fresh connection")
            if chunk_no % 10 == 0:
                self.suite.expect_served()
                self.suite.close_all()
        self.stats["frames"] = sent
        self.sock.send(msgpack.packb({"v": 1, "cmd": "bye"}))
        self.sock.close(0)
        return self.stats


def main():
    checks = Checks("test_limits")
    if not os.access(JUROR_BIN, os.X_OK):
        print(f"no juror program at {JUROR_BIN} (set JUROR_BIN)", flush=True)
        print("0 passed, 1 failed", flush=True)
        return 1
    root = make_tmpdir("limits-")
    suite = None
    try:
        suite = Suite(os.path.join(root, "curve"))
        suite.serve(SMALL_LIMITS)
        steps = [
            ("records per fetch: batch_max, and EPROTO over 100", suite.t_batch_max),
            ("message size: ETOOBIG unread; over twice it ZeroMQ drops the connection", suite.t_message_size),
            ("leases per annotator: ELIMIT over all datasets; reconnects get theirs back", suite.t_leases),
            ("response size: ETOOBIG in the result, the rest stored", suite.t_response_size),
            ("a batch stops at the 8 MiB frame; the leases of records not sent are given back", suite.t_frame),
            ("a flood: ELIMIT, then goodbye, leases released, silence, audit line", suite.t_flood),
            ("hostile frames over the size limit: ETOOBIG, then goodbye", suite.t_hostile_over_limits),
            ("limit options out of range: exit 2", suite.t_options),
        ]
        for name, fn in steps:
            ok = checks.run(name, fn)
            suite.close_all()
            if not ok and not suite.server.running():
                print(f"the coordinator is gone:\n{suite.server.log_tail()}", flush=True)
                break
        if suite.server.running():
            checks.run("coordinator with small limits stops cleanly", suite.stop)
            suite.serve(FUZZ_LIMITS)
            checks.run(f"{FUZZ_FRAMES} hostile frames from an admitted key; a campaign after; stored responses intact",
                       suite.t_fuzz)
    finally:
        if suite is not None:
            suite.close_all()
            if suite.server is not None:
                suite.server.kill()
    code = checks.finish()
    if code == 0:
        rmtree(root)
    else:
        print(f"kept {root} for inspection", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
