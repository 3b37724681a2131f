"""test_spec_worker: a jury/1 worker written from protocol/SPEC.md alone, against the real `jury serve`: the dialogue, bad inputs, leases, liveness, shutdown."""

# Every check talks to a real coordinator over loopback and verifies what it
# stored with `jury status --json` and `jury dump`. Bad inputs also check that
# another, well-behaved worker is served meanwhile and that nothing stored
# changes. Section numbers refer to protocol/SPEC.md.

import ast
import json
import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jurytest import (PYTHON, SOURCE_DIR, Checks, Peer, Server, Store, expect, expect_eq,  # noqa: E402
                      label_settings, make_tmpdir, now_ms, rmtree, submitted, text_records,
                      wait_until, slim, run_jury)

LEASE_S = 300


class Suite:
    def __init__(self, root):
        self.root = root
        self.store = Store(os.path.join(root, "store"))
        s = self.store
        s.create_dataset("main", label_settings(2, lease_seconds=LEASE_S))
        s.import_records("main", text_records("m", 8))
        s.create_dataset("side", label_settings(2))
        s.import_records("side", text_records("s", 3))
        s.create_dataset("disc", label_settings(1, max_discards=2))
        s.import_records("disc", text_records("d", 3))
        s.create_dataset("take", label_settings(1))
        s.import_records("take", text_records("t", 4))
        s.create_dataset("late", label_settings(1))
        s.import_records("late", text_records("l", 1))
        two = label_settings(1)
        two["questions"].append({"name": "note", "type": "text", "required": False})
        s.create_dataset("keys", two)
        s.import_records("keys", text_records("k", 2))
        s.create_dataset("doomed", label_settings(1))
        s.import_records("doomed", text_records("z", 3))
        ex = os.path.join(SOURCE_DIR, "ops", "examples")
        with open(os.path.join(ex, "support-sft.settings.json")) as f:
            s.create_dataset("support", json.load(f))
        with open(os.path.join(ex, "support-sft.records.jsonl")) as f:
            s.import_records("support", [json.loads(line) for line in f if line.strip()])
        self.server = Server(s.path, heartbeat_ms=1000)
        self.peers = []
        self.bob = None
        self.alice_record = None

    def peer(self, name, **kw):
        p = Peer(self.server.endpoint, name=name, **kw)
        self.peers.append(p)
        return p

    def close_all(self):
        for p in self.peers:
            p.close()

    def live(self):
        return self.store.live("main")

    def wait_leases(self, want, timeout_s=5):
        """live.leases is refreshed each second (`jury status --help`)."""
        return wait_until(lambda: (lv := self.live()) is not None and lv["leases"] == want and lv,
                          timeout_s, f"live.leases == {want}", interval_s=0.1)

    # -- a well-behaved worker on another dataset, served while others misbehave

    def bob_round_trip(self):
        recs = self.bob.fetch(1)
        expect_eq(len(recs), 1, "bob: batch size")
        res = self.bob.release([recs[0]["id"]])
        expect(res[0]["ok"], f"bob: release: {res}")

    def unchanged(self, action):
        """Runs action(); checks bob is still served and dump main is unchanged."""
        before = self.store.dump("main")
        action()
        self.bob_round_trip()
        expect_eq(self.store.dump("main"), before, "dump main after the bad input")

    # -- 1. the SPEC section 13 dialogue

    def t_dialogue(self):
        bob = self.bob = self.peer("bob")
        bob.hello("bob", "side")
        alice = self.peer("alice", autobeat=False)
        t0 = now_ms()
        w = alice.hello("alice", "main", agent="spec-example/1")
        expect_eq(w["req"], 1, "welcome req")
        expect_eq((w["dataset"], w["annotator"]), ("main", "alice"), "welcome names")
        expect_eq(w["heartbeat_ms"], 1000, "welcome heartbeat_ms")
        expect_eq(w["lease_seconds"], LEASE_S, "welcome lease_seconds (the dataset's)")
        expect(1 <= w["batch_max"] <= 100, f"batch_max {w['batch_max']} in 1..100")
        st = w["settings"]
        expect_eq([q["name"] for q in st["questions"]], ["label"], "settings questions")
        expect_eq([f["name"] for f in st["fields"]], ["text"], "settings fields")
        expect_eq(st["distribution"]["min_submitted"], 2, "settings distribution.min_submitted")
        expect("guidelines" in st and "metadata" in st, f"settings keys {sorted(st)}")

        records = alice.fetch(2)
        t1 = now_ms()
        expect_eq(len(records), 2, "batch size")
        for r in records:
            expect(r["id"].startswith("m"), f"record id {r['id']!r}")
            expect_eq(r["fields"], {"text": f"text of {r['id']}"}, "record fields")
            le = r["lease_expires"]
            expect(t0 + LEASE_S * 1000 - 2000 <= le <= t1 + LEASE_S * 1000 + 2000,
                   f"lease_expires {le} is about now + {LEASE_S} s ({t1})")
        first, second = records

        # The annotator thinks for over 3 heartbeat intervals; heartbeats (ours
        # from receive(), the coordinator's when it has nothing else to say)
        # keep the session alive.
        expect_eq(alice.receive(3.5), None, "nothing but heartbeats while idle")
        expect(alice.heartbeats_received >= 2,
               f"coordinator heartbeats while idle: {alice.heartbeats_received}, want >= 2")
        lv = self.live()
        expect(lv is not None and "alice" in lv["connected"], f"live.connected has alice: {lv}")

        res = alice.submit([submitted(first["id"], "pos")])
        expect_eq(res, [{"record": first["id"], "ok": True}], "submit results")
        res = alice.release([second["id"]])
        expect_eq(res, [{"record": second["id"], "ok": True}], "release results")
        alice.bye("example done")
        self.alice_record = first["id"]

        lv = wait_until(lambda: (lv := self.live()) and "alice" not in lv["connected"] and lv,
                        5, "alice gone from live.connected", interval_s=0.1)
        st = self.store.status("main")
        expect_eq(st["responses"], {"submitted": 1, "discarded": 0, "draft": 0}, "status responses")
        expect_eq(st["annotators"].get("alice", {}).get("submitted"), 1, "status annotators.alice.submitted")
        expect_eq((st["records"], st["pending"], st["completed"]), (8, 8, 0), "records/pending/completed")
        d = self.store.dump("main")
        r = d[first["id"]]
        expect_eq((r["status"], r["target"], r["submitted"]), ("pending", 2, 1), "dump record status")
        expect_eq(slim(r["responses"]), [{"annotator": "alice", "status": "submitted", "values": {"label": "pos"}}],
                  "dump responses")
        expect_eq(d[second["id"]]["responses"], [], "released record has no response")
        # After bye the connection has no session (section 5).
        msg = alice.request("fetch", n=1)
        expect(msg and msg["cmd"] == "error" and msg["code"] == "ENOSESSION", f"fetch after bye: {msg}")
        self.wait_leases(0)

    # -- 2. bad inputs

    def t_malformed(self):
        m = self.mallory = self.peer("mallory")
        m.hello("mallory", "main")

        def act():
            m.send_raw(b"\xc1")
            msg = m.receive(5)
            expect(msg is not None, "no reply to b'\\xc1'")
            expect_eq((msg["cmd"], msg["code"]), ("error", "EPROTO"), "reply to b'\\xc1'")
            expect("req" not in msg or msg["req"] is None, f"no req in the reply: {msg}")
            expect(msg["reason"].startswith("byte 0: "), f"reason names byte 0: {msg['reason']!r}")
        self.unchanged(act)

    def t_unknown_command(self):
        def act():
            self.mallory.send("frobnicate", req=4242)
            msg = self.mallory.receive(5)
            expect(msg is not None, "no reply")
            expect_eq((msg["cmd"], msg["code"]), ("error", "EPROTO"), "reply")
            expect("frobnicate" in msg["reason"], f"reason names the command: {msg['reason']!r}")
        self.unchanged(act)

    def t_unknown_command_req(self):
        # SPEC 5: the error carries "the request's req when it could be read".
        self.mallory.send("frobnicate", req=4243)
        msg = self.mallory.receive(5)
        expect(msg is not None and msg["cmd"] == "error", f"reply {msg}")
        expect_eq(msg.get("req"), 4243, f"req of the error to an unknown command ({msg})")

    def t_wrong_version(self):
        def act():
            self.mallory.send_map({"v": 2, "cmd": "fetch", "req": 77, "n": 1})
            msg = self.mallory.receive(5)
            expect(msg is not None, "no reply")
            expect_eq((msg["cmd"], msg["code"], msg.get("req")), ("error", "EVERSION", 77), "reply")
            expect_eq(msg["reason"], "protocol version 2; this coordinator speaks 1", "reason")
            expect_eq(msg["v"], 1, "the reply carries the coordinator's version")
        self.unchanged(act)
        # Section 11: it does not end the session.
        recs = self.mallory.fetch(1)
        expect_eq(len(recs), 1, "fetch after EVERSION")
        self.mallory.release([recs[0]["id"]])

    def t_wrong_type(self):
        def act():
            msg = self.mallory.request("fetch", n="3")
            expect(msg is not None, "no reply")
            expect_eq((msg["cmd"], msg["code"]), ("error", "EPROTO"), "reply")
            expect(msg["reason"].startswith("fetch: n"), f"reason names command and field: {msg['reason']!r}")
        self.unchanged(act)

    def t_not_leased(self):
        def act():
            res = self.mallory.submit([submitted("m7", "pos")])
            expect_eq(len(res), 1, "results")
            expect_eq((res[0]["record"], res[0]["ok"], res[0]["code"]), ("m7", False, "ENOTLEASED"), "result")
            res = self.mallory.submit([submitted("no-such-record", "pos")])
            expect_eq((res[0]["ok"], res[0]["code"]), (False, "ENOTFOUND"), "result for an unknown record")
        self.unchanged(act)

    def t_invalid_values(self):
        recs = self.mallory.fetch(1)
        expect_eq(len(recs), 1, "batch")
        rid = recs[0]["id"]

        def act():
            res = self.mallory.submit([submitted(rid, "maybe")])
            expect_eq((res[0]["record"], res[0]["ok"], res[0]["code"]), (rid, False, "EINVAL"), "result")
            expect("label" in res[0]["reason"], f"reason names the question: {res[0]['reason']!r}")
            res = self.mallory.submit([{"record": rid, "status": "submitted", "values": {"label": "pos", "nope": "x"}}])
            expect_eq((res[0]["ok"], res[0]["code"]), (False, "EINVAL"), "unknown question")
            res = self.mallory.submit([{"record": rid, "status": "submitted", "values": {}}])
            expect_eq((res[0]["ok"], res[0]["code"]), (False, "EINVAL"), "required question missing")
            # A malformed response makes the whole request EPROTO (6.5).
            msg = self.mallory.request("submit", responses=[submitted(rid, "pos"),
                                                            {"record": rid, "status": "final", "values": {}}])
            expect(msg is not None and msg["cmd"] == "error" and msg["code"] == "EPROTO", f"bad status: {msg}")
            expect(msg["reason"].startswith("submit: responses[1].status"), f"reason: {msg['reason']!r}")
        self.unchanged(act)
        # the record is still leased to mallory
        expect_eq(self.mallory.release([rid]), [{"record": rid, "ok": True}], "release after EINVAL")

    def t_before_hello(self):
        p = self.peer("early")

        def act():
            msg = p.request("fetch", n=1)
            expect(msg is not None, "no reply")
            expect_eq((msg["cmd"], msg["code"], msg.get("req")), ("error", "ENOSESSION", 1), "reply")
            msg = p.request("submit", responses=[submitted("m0", "pos")])
            expect_eq((msg["cmd"], msg["code"]), ("error", "ENOSESSION"), "submit without a session")
            p.send("heartbeat")
            p.send("bye")
            expect_eq(p.collect(0.5), [], "heartbeat and bye without a session are ignored")
        self.unchanged(act)

    def t_hello_refused(self):
        p = self.peer("refused")

        def act():
            msg = p.request("hello", annotator="zoe", dataset="no-such-dataset")
            expect_eq((msg["cmd"], msg["code"], msg.get("req")), ("error", "ENOTFOUND", p.last_req), "unknown dataset")
            for bad in ("al ice", ".alice", "-alice", "caf\u00e9"):
                msg = p.request("hello", annotator=bad, dataset="main")
                expect_eq((msg["cmd"], msg["code"]), ("error", "EINVAL"), f"annotator {bad!r}")
            # longer than the 200-byte name limit of section 4: EPROTO there
            msg = p.request("hello", annotator="a" * 201, dataset="main")
            expect_eq((msg["cmd"], msg["code"]), ("error", "EPROTO"), "annotator of 201 bytes")
            msg = p.request("hello", annotator="", dataset="main")
            expect(msg["cmd"] == "error" and msg["code"] in ("EINVAL", "EPROTO"), f"empty annotator: {msg}")
            msg = p.request("fetch", n=1)
            expect_eq((msg["cmd"], msg["code"]), ("error", "ENOSESSION"), "no session after refused hellos")
        self.unchanged(act)

    def t_release_not_leased(self):
        def act():
            res = self.bob.release(["s0", "no-such-record"])
            expect_eq([(r["record"], r["ok"], r.get("code")) for r in res],
                      [("s0", False, "ENOTLEASED"), ("no-such-record", False, "ENOTFOUND")], "results")
        self.unchanged(act)

    def t_duplicate_in_submit(self):
        # 9.2: an identical resubmission is accepted whether or not the record
        # is still leased; SPEC nowhere forbids the same record twice in one
        # submit (a worker resubmitting its unacknowledged responses plus new
        # ones can do that).
        p = self.peer("dup")
        p.hello("dup", "side")
        recs = p.fetch(1)
        expect_eq(len(recs), 1, "batch")
        rid = recs[0]["id"]
        res = p.submit([submitted(rid, "pos"), submitted(rid, "pos")])
        expect_eq([(r["record"], r["ok"], r.get("code")) for r in res],
                  [(rid, True, None), (rid, True, None)], "results for the same response twice")

    def t_second_hello(self):
        def act():
            msg = self.mallory.request("hello", annotator="mallory", dataset="main")
            expect(msg is not None, "no reply")
            expect_eq((msg["cmd"], msg["code"], msg.get("req")), ("error", "EPROTO", self.mallory.last_req), "reply")
        self.unchanged(act)
        recs = self.mallory.fetch(1)
        expect_eq(len(recs), 1, "the session continues")
        self.mallory.release([recs[0]["id"]])

    def t_multi_frame(self):
        def act():
            self.mallory.send_raw(b"\x83\xa1v\x01\xa3cmd\xa5fetch\xa3req\xcd\x03\x09",
                                  b"\x81\xa1n\x01")
            msgs = self.mallory.collect(1.0)
            expect(all(m["cmd"] != "batch" for m in msgs), f"a multi-frame fetch was served: {msgs}")
            expect_eq([(m["cmd"], m.get("code")) for m in msgs], [("error", "EPROTO")], "replies")
        self.unchanged(act)

    def t_garbage(self):
        trudy = self.peer("trudy")
        trudy.hello("trudy", "main")
        recs = trudy.fetch(1)
        expect_eq(len(recs), 1, "trudy's batch")
        self.wait_leases(1)

        def act():
            for _ in range(10):
                trudy.send_raw(b"\xc1")
            msgs = trudy.collect(1.5)
            byes = [m for m in msgs if m["cmd"] == "goodbye"]
            errs = [m for m in msgs if m["cmd"] == "error"]
            expect_eq([(m["code"], m["reason"]) for m in byes], [("EPROTO", "too many malformed messages")],
                      "goodbye")
            expect(9 <= len(errs) <= 10 and all(m["code"] == "EPROTO" for m in errs),
                   f"an EPROTO error for each of the first 9 frames: {errs}")
            expect_eq(len(msgs), len(byes) + len(errs), f"nothing else: {msgs}")
            # ... and then everything it sends is dropped unanswered.
            trudy.send("hello", req=99, annotator="trudy", dataset="main")
            trudy.send("fetch", req=100, n=1)
            trudy.send_raw(b"\xc1")
            expect_eq(trudy.collect(1.0), [], "replies to a banned connection")
        self.unchanged(act)
        self.wait_leases(0)  # its session ended and its lease was released

    # -- responses

    def t_resubmit(self):
        a2 = self.peer("alice2")
        a2.hello("alice", "main")
        rid = self.alice_record
        before = self.store.dump("main")
        res = a2.submit([submitted(rid, "pos")])
        expect_eq(res, [{"record": rid, "ok": True}], "identical resubmit without a lease")
        res = a2.submit([submitted(rid, "neg")])
        expect_eq((res[0]["ok"], res[0]["code"]), (False, "EEXIST"), "changed values")
        res = a2.submit([{"record": rid, "status": "discarded"}])
        expect_eq((res[0]["ok"], res[0]["code"]), (False, "EEXIST"), "changed status")
        expect_eq(self.store.dump("main"), before, "dump main")
        expect_eq(self.store.status("main")["responses"]["submitted"], 1, "submitted count")
        self.alice2 = a2

    def t_draft(self):
        a2 = self.alice2
        recs = a2.fetch(1)
        expect_eq(len(recs), 1, "batch")
        rid, le0 = recs[0]["id"], recs[0]["lease_expires"]
        expect(rid != self.alice_record, "alice is never given a record she submitted")
        a2.receive(0.3)
        t0 = now_ms()
        res = a2.submit([{"record": rid, "status": "draft", "values": {"label": "neg"}}])
        t1 = now_ms()
        expect_eq((res[0]["record"], res[0]["ok"]), (rid, True), "draft result")
        le1 = res[0].get("lease_expires")
        expect(isinstance(le1, int) and le1 > le0, f"draft extends the lease: {le0} -> {le1}")
        expect(t0 + LEASE_S * 1000 - 2000 <= le1 <= t1 + LEASE_S * 1000 + 2000,
               f"draft lease_expires {le1} is about now + {LEASE_S} s")
        # A draft may be partial; a second draft replaces it.
        res = a2.submit([{"record": rid, "status": "draft", "values": {}}])
        expect(res[0]["ok"], f"partial draft: {res}")
        res = a2.submit([{"record": rid, "status": "draft", "values": {"label": "pos"}}])
        expect(res[0]["ok"], f"draft replaced: {res}")
        expect_eq(a2.release([rid]), [{"record": rid, "ok": True}], "release")
        st = self.store.status("main")
        expect_eq(st["responses"]["draft"], 1, "the draft of a released record is kept")
        d = self.store.dump("main")[rid]
        expect_eq(slim(d["responses"]), [{"annotator": "alice", "status": "draft", "values": {"label": "pos"}}],
                  "dump of the drafted record")
        # The next fetch of the record by alice carries her draft.
        res = a2.submit([{"record": rid, "status": "draft", "values": {"label": "neg"}}])
        expect_eq((res[0]["ok"], res[0].get("code")), (False, "ENOTLEASED"), "a draft needs a lease")
        got = {}
        for _ in range(5):
            recs = a2.fetch(100)
            got.update({r["id"]: r for r in recs})
            if rid in got:
                break
        expect(rid in got, f"alice gets {rid} again")
        expect_eq(got[rid].get("draft"), {"label": "pos"}, "batch carries the draft")
        a2.release(list(got))
        a2.bye()

    def t_discard(self):
        s = self.store
        carol = self.peer("carol")
        carol.hello("carol", "disc")
        recs = carol.fetch(100)
        expect_eq(sorted(r["id"] for r in recs), ["d0", "d1", "d2"], "carol's batch")
        res = carol.submit([{"record": "d0", "status": "discarded"}])
        expect_eq(res, [{"record": "d0", "ok": True}], "discard")
        carol.release(["d1", "d2"])
        for i in range(3):
            recs = carol.fetch(100)
            ids = sorted(r["id"] for r in recs)
            expect_eq(ids, ["d1", "d2"], f"carol's fetch {i + 1} after the discard")
            carol.release(ids)
        dave = self.peer("dave")
        dave.hello("dave", "disc")
        recs = dave.fetch(100)
        expect("d0" in [r["id"] for r in recs], "a discarded record goes to others")
        res = dave.submit([{"record": "d0", "status": "discarded", "values": None}])
        expect_eq(res, [{"record": "d0", "ok": True}], "second discard")
        dave.release([r["id"] for r in recs if r["id"] != "d0"])
        # max_discards 2: set aside
        st = s.status("disc")
        expect_eq((st["records"], st["pending"], st["completed"], st["discarded"]), (3, 2, 0, 1),
                  "records/pending/completed/discarded")
        expect_eq(st["responses"]["discarded"], 2, "discarded responses")
        d = s.dump("disc")["d0"]
        expect_eq(d["status"], "discarded", "dump status of the set-aside record")
        expect_eq(sorted((r["annotator"], r["status"]) for r in d["responses"]),
                  [("carol", "discarded"), ("dave", "discarded")], "its responses")
        erin = self.peer("erin")
        erin.hello("erin", "disc")
        recs = erin.fetch(100)
        expect_eq(sorted(r["id"] for r in recs), ["d1", "d2"], "nobody gets a set-aside record")
        res = erin.submit([submitted("d0", "pos")])
        expect_eq((res[0]["ok"], res[0]["code"]), (False, "ENOTLEASED"), "submit for a set-aside record")
        erin.release(["d1", "d2"])
        for p in (carol, dave, erin):
            p.bye()

    # -- reconnect, new records

    def t_takeover(self):
        a = self.peer("frank-a")
        a.hello("frank", "take")
        held = a.fetch(2)
        expect_eq(len(held), 2, "batch")
        ids = [r["id"] for r in held]
        res = a.submit([{"record": ids[0], "status": "draft", "values": {"label": "neg"}}])
        expect(res[0]["ok"], f"draft: {res}")
        le = {ids[0]: res[0]["lease_expires"], ids[1]: held[1]["lease_expires"]}
        b = self.peer("frank-b")
        b.hello("frank", "take")
        bye = a.goodbyes(5)
        expect(bye is not None, "the older connection gets goodbye")
        expect_eq(bye["code"], "EBUSY", "goodbye code")
        recs = b.fetch(4)
        got = [r["id"] for r in recs]
        expect_eq(sorted(got[:2]), sorted(ids), "still-valid leases come first (9.3)")
        expect_eq(sorted(got), ["t0", "t1", "t2", "t3"], "then the others")
        by = {r["id"]: r for r in recs}
        expect_eq(by[ids[0]].get("draft"), {"label": "neg"}, "with the draft")
        for i in ids:
            expect(abs(by[i]["lease_expires"] - le[i]) <= 1000,
                   f"{i}: the same lease: lease_expires {le[i]} then {by[i]['lease_expires']}")
        msg = a.request("fetch", n=1)
        expect(msg and msg["cmd"] == "error" and msg["code"] == "ENOSESSION", f"old connection: {msg}")
        b.release(got)
        b.bye()

    def t_late_import(self):
        g = self.peer("gina")
        g.hello("gina", "late")
        recs = g.fetch(10)
        expect_eq([r["id"] for r in recs], ["l0"], "first batch")
        expect_eq(g.submit([submitted("l0", "pos")]), [{"record": "l0", "ok": True}], "submit")
        expect_eq(g.fetch(10), [], "nothing left")
        self.store.import_records("late", text_records("l", 2, start=1))
        t0 = time.monotonic()
        got = set()
        while time.monotonic() - t0 < 5 and got != {"l1", "l2"}:
            got |= {r["id"] for r in g.fetch(10)}
            if got != {"l1", "l2"}:
                g.receive(0.05)
        dt = time.monotonic() - t0
        expect_eq(got, {"l1", "l2"}, "records imported while serving")
        print(f"      (imported records fetchable after {dt:.2f} s)")
        expect(dt <= 2.5, f"fetchable within about a second (9.4): took {dt:.2f} s")
        g.release(sorted(got))
        g.bye()

    def t_resubmit_key_order(self):
        k = self.peer("kim")
        k.hello("kim", "keys")
        recs = k.fetch(1)
        rid = recs[0]["id"]
        first = {"record": rid, "status": "submitted", "values": {"label": "pos", "note": "x"}}
        expect_eq(k.submit([first]), [{"record": rid, "ok": True}], "submit")
        again = {"record": rid, "status": "submitted", "values": {"note": "x", "label": "pos"}}
        expect_eq(k.submit([again]), [{"record": rid, "ok": True}],
                  "the same values with the keys in another order are the same response (9.2)")
        other = {"record": rid, "status": "submitted", "values": {"note": "y", "label": "pos"}}
        res = k.submit([other])
        expect_eq((res[0]["ok"], res[0]["code"]), (False, "EEXIST"), "different values")
        k.bye()

    def t_dataset_deleted(self):
        z = self.peer("zed")
        z.hello("zed", "doomed")
        expect_eq(len(z.fetch(2)), 2, "batch")
        run_jury(self.store.path, "dataset", "delete", "doomed", "--yes")
        msg = z.receive(5)
        expect(msg is not None, "a goodbye after the dataset was deleted")
        expect_eq((msg["code"], msg["reason"]), ("ENOTFOUND", "the dataset was deleted"), "goodbye")
        z.close()

    # -- SPEC section 13, verbatim

    def t_spec_example(self):
        with open(os.path.join(SOURCE_DIR, "protocol", "SPEC.md")) as f:
            spec = f.read()
        m = re.search(r"^## 13\..*?^```python\n(.*?)^```", spec, re.S | re.M)
        expect(m, "SPEC.md section 13 has a python block")
        code = m.group(1)
        expect('"tcp://127.0.0.1:5555"' in code, "the example connects to the default endpoint")
        path = os.path.join(self.root, "spec_example.py")
        with open(path, "w") as f:
            f.write(code.replace('"tcp://127.0.0.1:5555"', repr(self.server.endpoint)))
        before = self.store.status("support")
        p = subprocess.run([PYTHON, path], capture_output=True, text=True, timeout=60)
        expect_eq(p.returncode, 0, f"exit code of the example (stderr: {p.stderr.strip()[-2000:]})")
        out = p.stdout.splitlines()
        expect_eq(out[0], "questions: ['response', 'quality']", "first line")
        expect(out[1].startswith("leased: ['"), f"second line: {out[1]}")
        leased = ast.literal_eval(out[1][len("leased: "):])
        expect_eq(len(leased), 2, "records leased")
        first, second = leased
        expect(f"{first} ok" in out, f"the submit was acknowledged: {out}")
        expect(f"released {second} True" in out, f"the release was acknowledged: {out}")
        st = self.store.status("support")
        expect_eq(st["responses"]["submitted"], before["responses"]["submitted"] + 1, "submitted responses")
        expect_eq(st["annotators"]["alice"]["submitted"],
                  before["annotators"].get("alice", {}).get("submitted", 0) + 1, "alice's submitted responses")
        r = self.store.dump("support")[first]
        alice = [x for x in r["responses"] if x["annotator"] == "alice"]
        expect_eq(len(alice), 1, "alice's response in the dump")
        expect_eq((alice[0]["status"], alice[0]["values"]["quality"]), ("submitted", 4), "her answer")

    # -- shutdown

    def t_sigterm(self):
        p1 = self.peer("sigterm-1")
        p1.hello("henry", "main")
        recs = p1.fetch(1)
        expect_eq(len(recs), 1, "batch")
        bob = self.bob
        self.server.proc.terminate()
        for p in (p1, bob):
            bye = p.goodbyes(10)
            expect(bye is not None, f"{p.name} gets goodbye on SIGTERM")
            expect_eq(bye["code"], "EBUSY", f"{p.name}: goodbye code (6.11: shutting down)")
        rc = self.server.stop(20)
        expect_eq(rc, 0, "exit code after SIGTERM")
        expect_eq(self.store.status("main")["live"], None, "live after the coordinator stopped")


def heartbeat_death(root, checks):
    """A worker that stops heartbeating (--heartbeat-ms 200) loses its leases."""
    store = Store(os.path.join(root, "hb-store"))
    store.create_dataset("hb", label_settings(1, lease_seconds=600))
    store.import_records("hb", text_records("h", 3))
    server = Server(store.path, heartbeat_ms=200)
    peers = []

    def check():
        server.start()
        hank = Peer(server.endpoint, name="hank", autobeat=False)
        peers.append(hank)
        # Heartbeats go only to connections with a session (8).
        hank.send("heartbeat")
        expect_eq(hank.receive(0.8), None, "messages to a connection without a session")
        expect_eq(hank.heartbeats_received, 0, "heartbeats to a connection without a session")
        w = hank.hello("hank", "hb")
        expect_eq(w["heartbeat_ms"], 200, "welcome heartbeat_ms")
        recs = hank.fetch(3)
        expect_eq(len(recs), 3, "hank's batch")
        hank.receive(0.8)
        expect(hank.heartbeats_received >= 2, f"coordinator heartbeats in 0.8 s: {hank.heartbeats_received}")
        ivy = Peer(server.endpoint, name="ivy", heartbeat_s=0.2)
        peers.append(ivy)
        ivy.hello("ivy", "hb")
        expect_eq(ivy.fetch(3), [], "min_submitted 1: nothing while hank holds the leases")
        hank.beating = False  # silent from now on: no heartbeats, no reads
        t0 = time.monotonic()
        wait_until(lambda: (lv := store.live("hb")) and lv["leases"] == 0 and "hank" not in lv["connected"],
                   5, "hank's leases released (live.leases 0)", interval_s=0.1)
        got = wait_until(lambda: ivy.fetch(3), 3, "ivy gets the records")
        print(f"      (leases back after {time.monotonic() - t0:.2f} s of silence)")
        expect_eq(sorted(r["id"] for r in got), ["h0", "h1", "h2"], "ivy's batch")
        hank.beating = True
        msg = hank.request("fetch", n=1)
        expect(msg and msg["cmd"] == "error" and msg["code"] == "ENOSESSION", f"hank's next request: {msg}")
        ivy.release([r["id"] for r in got])
        ivy.bye()
        expect_eq(server.stop(), 0, "exit code after SIGTERM")

    try:
        checks.run("heartbeat death releases leases (8, --heartbeat-ms 200)", check)
    finally:
        for p in peers:
            p.close()
        server.kill()


def main():
    checks = Checks("spec_worker")
    root = make_tmpdir("spec-worker-")
    suite = None
    try:
        suite = Suite(root)
        suite.server.start()
        steps = [
            ("dialogue: hello, fetch, idle heartbeats, submit, release, bye (13)", suite.t_dialogue),
            ("malformed frame b'\\xc1' -> EPROTO", suite.t_malformed),
            ("unknown command -> EPROTO", suite.t_unknown_command),
            ("error to an unknown command carries its req (5)", suite.t_unknown_command_req),
            ("wrong version -> EVERSION, session continues (11)", suite.t_wrong_version),
            ("fetch n \"3\" -> EPROTO", suite.t_wrong_type),
            ("submit for a record not leased -> ENOTLEASED", suite.t_not_leased),
            ("submit with invalid values -> EINVAL", suite.t_invalid_values),
            ("request before hello -> ENOSESSION", suite.t_before_hello),
            ("hello refused: ENOTFOUND, EINVAL", suite.t_hello_refused),
            ("release of records not leased -> ENOTLEASED, ENOTFOUND", suite.t_release_not_leased),
            ("the same response twice in one submit -> ok twice (9.2)", suite.t_duplicate_in_submit),
            ("second hello -> EPROTO, session continues", suite.t_second_hello),
            ("multi-frame message -> EPROTO, not served", suite.t_multi_frame),
            ("10 garbage frames -> goodbye EPROTO, then ignored", suite.t_garbage),
            ("idempotent resubmit ok, changed resubmit EEXIST (9.2)", suite.t_resubmit),
            ("draft extends lease_expires, kept on release", suite.t_draft),
            ("discard: never again for the discarder; max_discards sets aside", suite.t_discard),
            ("takeover: goodbye EBUSY, valid leases first (9.3)", suite.t_takeover),
            ("records imported while serving become fetchable (9.4)", suite.t_late_import),
            ("resubmit with keys in another order is the same response (9.2)",
             suite.t_resubmit_key_order),
            ("dataset deleted while serving: goodbye ENOTFOUND", suite.t_dataset_deleted),
            ("SPEC section 13 example, run as written", suite.t_spec_example),
            ("SIGTERM: goodbye to workers, exit 0", suite.t_sigterm),
        ]
        for name, fn, *xfail in steps:
            ok = checks.run(name, fn, expected_failure=xfail[0] if xfail else None)
            if not ok and not suite.server.running():
                print("      coordinator is gone; log tail:\n" + suite.server.log_tail(), flush=True)
                break
    except Exception as e:
        checks.failed += 1
        print(f"FAIL  setup: {e}", flush=True)
    finally:
        if suite is not None:
            suite.close_all()
            suite.server.kill()
    heartbeat_death(root, checks)
    code = checks.finish()
    if code == 0 and not os.environ.get("JURY_TEST_KEEP"):
        rmtree(root)
    else:
        print(f"(kept {root} for inspection)")
    return code


if __name__ == "__main__":
    sys.exit(main())
