"""test_review: the review step (issue 9 part 5; protocol/SPEC.md 6.2, 6.12-6.14, 9.7) on the real
`jury serve` over CURVE: welcome carries each session's role (a gateway's session the person's);
a record contested by dynamic overlap waits for a reviewer with every submitted and discarded
response shown; only reviewers may review; a review lease keeps a record from other reviewers
until it is released or its session ends; decisions are checked (required questions, rankings
without ties), stored once (the same decision again is acknowledged, another one refused) and
override consolidation in every export; a record `jury consolidate` rejects waits with its reason;
a review_batch stops where the next record would take it over the 8 MiB frame."""

# Settings: a text field; questions label (pos/neg, required), answer (text, optional) and rank
# (ranking of a, b, c, ties allowed, optional); dynamic overlap min_submitted 2, max_submitted 3,
# until label agreement 1.0; consolidation accepts only records labelled pos. Records r0..r3,
# answered by scripted peers:
#   r0: ana pos, bob pos                       -> completed; consolidate accepts it
#   r1: ana pos, bob neg                       -> target 3, pending again
#       eve saves a draft and releases it; dan discards it (neither fills the target)
#       cat pos                                -> at max_submitted 3 without agreement: contested
#   r2: ana neg, bob neg                       -> completed; consolidate rejects it (require pos)
#   r3: never answered
# rev1 reviews with its own key; rev2 through the gateway web1 with its web token. Every step
# waits for the coordinator's reply, which comes after the commit: nothing depends on timing.
# A second dataset, big, holds 12 records of 700,000 bytes each, all rejected by consolidate:
# one review_batch can carry 11 of them within the 8 MiB frame (SPEC 4).

import json
import os
import re
import sys
import time

import msgpack

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jurytest import (Checks, Peer, Server, Store, curve_of, expect, expect_eq,  # noqa: E402
                      free_endpoint, make_tmpdir, now_ms, read_key_file, rmtree, run_jury,
                      submitted, text_records)

DATASET = "dyn"
LEASE_S = 600
SETTINGS = {
    "fields": [{"name": "text", "type": "text"}],
    "questions": [
        {"name": "label", "type": "label_selection", "labels": ["pos", "neg"]},
        {"name": "answer", "type": "text", "required": False},
        {"name": "rank", "type": "ranking", "values": ["a", "b", "c"], "allow_ties": True,
         "required": False},
    ],
    "distribution": {"min_submitted": 2, "max_submitted": 3, "lease_seconds": LEASE_S,
                     "until": {"question": "label", "agreement": 1.0}},
    "consolidation": {"accept": {"require": {"label": ["pos"]}}},
}
ALL = [f"r{i}" for i in range(4)]
BIG = "big"
BIG_SETTINGS = {"fields": [{"name": "text", "type": "text"}],
                "questions": [{"name": "label", "type": "label_selection", "labels": ["pos", "neg"]}],
                "distribution": {"min_submitted": 1},
                "consolidation": {"accept": {"require": {"label": ["pos"]}}}}
BIG_TEXT = 700_000
FRAME_MAX = 8 << 20
ANNOTATORS = ("ana", "bob", "cat", "dan", "eve")
# rev1's accepted decision on r1.
FINAL = {"label": "neg", "answer": "a reviewed answer", "rank": ["b", "a", "c"]}
NOTE = "two of three said pos, but the text is negative"


def raw_reply(peer, timeout_s=30):
    """The next frame from the coordinator other than a heartbeat, as bytes (its size counts)."""
    deadline = time.monotonic() + timeout_s
    while True:
        left = deadline - time.monotonic()
        expect(left > 0 and peer.sock.poll(int(left * 1000)), f"{peer.name}: a reply within {timeout_s} s")
        frames = peer.sock.recv_multipart()
        expect_eq(len(frames), 1, "frames of one message")
        if msgpack.unpackb(frames[0], raw=False)["cmd"] != "heartbeat":
            return frames[0]


def token_of(stdout):
    found = re.findall(r"^web-token: (\S+)$", stdout, re.M)
    expect_eq(len(found), 1, f"one web-token line in {stdout!r}")
    return found[0]


def main():
    root = make_tmpdir("jury-review")
    checks = Checks("review")
    store = Store(os.path.join(root, "store"))
    endpoint = free_endpoint()
    keys = {}
    tokens = {}
    server = None
    peers = {}
    t0 = now_ms()

    def connect(name):
        """A session for name: its own key, or (rev2) the gateway's key and rev2's web token."""
        p = peers.get(name)
        if p is None:
            holder = "web1" if name == "rev2" else name
            p = peers[name] = Peer(endpoint, name=name, curve=curve_of(keys[holder]))
            fields = {"annotator": name, "dataset": DATASET, "agent": "test_review/1"}
            if name == "rev2":
                fields["token"] = tokens["rev2"]
            p.welcome = p.call("hello", "welcome", **fields)
        return p

    def drop(name):
        p = peers.pop(name)
        p.bye()
        p.close()

    def answer(name, rid, status="submitted", label=None):
        """The annotator fetches rid (it must be offered) and answers it; the rest goes back."""
        p = connect(name)
        ids = [r["id"] for r in p.fetch(len(ALL))]
        expect(rid in ids, f"{name}: {rid} is in the fetched batch {ids}")
        if status == "submitted":
            res = p.submit([submitted(rid, label)])
        else:
            res = p.submit([{"record": rid, "status": status,
                             **({"values": {"label": label}} if label else {})}])
        expect_eq([(x["record"], x["ok"]) for x in res], [(rid, True)], f"{name}: {status} {rid}: {res}")
        others = [i for i in ids if i != rid or status == "draft"]
        if others:
            expect(all(x["ok"] for x in p.release(others)), f"{name}: release {others}")

    def review_fetch(name, n=10):
        return connect(name).call("review_fetch", "review_batch", n=n)["records"]

    def review_submit(name, decisions):
        return connect(name).call("review_submit", "results", decisions=decisions)["results"]

    def outcome(results):
        return [(r["record"], r["ok"], r.get("code"), r.get("reason")) for r in results]

    def export(fmt):
        out = run_jury(store.path, "export", DATASET, "--format", fmt).stdout
        return [json.loads(line) for line in out.splitlines()]

    def exported_records():
        return {r["id"]: r for r in export("records")}

    def review_counts():
        st = store.status(DATASET)
        return (st["contested"], st["review"]["waiting"], st["review"]["reviewed"])

    def log_events(event):
        return [line for line in server.log_tail(100000).splitlines() if f"event={event} " in line]

    def responses_of(record):
        """A review_batch record's responses without updated_ms, which is checked apart."""
        for r in record["responses"]:
            expect(isinstance(r["updated_ms"], int) and t0 <= r["updated_ms"] <= now_ms(),
                   f"updated_ms {r['updated_ms']} lies within the test")
        return [{k: v for k, v in r.items() if k != "updated_ms"} for r in record["responses"]]

    def setup():
        nonlocal server
        store.create_dataset(DATASET, SETTINGS)
        store.import_records(DATASET, text_records("r", 4))
        run_jury(store.path, "keygen")
        for name, extra in ([(a, ["--datasets", DATASET]) for a in ANNOTATORS]
                            + [("rev1", ["--role", "reviewer", "--datasets", DATASET]),
                               ("rev2", ["--role", "reviewer", "--datasets", DATASET, "--web-token"]),
                               ("web1", ["--role", "gateway"])]):
            path = os.path.join(root, name + ".key")
            out = run_jury(store.path, "annotator", "add", name, "--out", path, "--endpoint",
                           endpoint, *extra).stdout
            keys[name] = read_key_file(path)
            if "--web-token" in extra:
                tokens[name] = token_of(out)
        server = Server(store.path, endpoint=endpoint, insecure=False, probe_curve=curve_of(keys["ana"]))
        server.start()

    def welcome_roles():
        got = {name: connect(name).welcome.get("role") for name in ("ana", "rev1", "rev2")}
        expect_eq(got, {"ana": "annotator", "rev1": "reviewer", "rev2": "reviewer"},
                  "welcome role (rev2's session was opened by the gateway web1)")
        expect_eq(connect("rev2").welcome["annotator"], "rev2", "the gateway's session is rev2's")

    def contested_by_dynamic_overlap():
        answer("ana", "r0", label="pos")
        answer("bob", "r0", label="pos")
        answer("ana", "r1", label="pos")
        answer("bob", "r1", label="neg")
        answer("eve", "r1", status="draft", label="neg")  # a draft: never shown to reviewers
        answer("dan", "r1", status="discarded")
        answer("cat", "r1", label="pos")
        answer("ana", "r2", label="neg")
        answer("bob", "r2", label="neg")
        dump = store.dump(DATASET)
        expect_eq({rid: (dump[rid]["status"], dump[rid]["target"], dump[rid].get("contested", False))
                   for rid in ALL},
                  {"r0": ("completed", 2, False), "r1": ("completed", 3, True),
                   "r2": ("completed", 2, False), "r3": ("pending", 2, False)},
                  "status, target and contested of each record")
        expect_eq(review_counts(), (1, 1, 0), "contested, waiting for a reviewer, reviewed")

    def annotator_gets_eperm():
        for cmd, fields in (("review_fetch", {"n": 5}),
                            ("review_submit", {"decisions": [{"record": "r1", "accept": True,
                                                              "values": FINAL}]})):
            m = connect("ana").call(cmd, "error", **fields)
            expect_eq((m["code"], m["reason"]),
                      ("EPERM", f"{cmd}: ana has the role annotator; reviewing needs the role reviewer or admin"),
                      f"{cmd} by an annotator")
        expect_eq(review_counts(), (1, 1, 0), "nothing changed")

    def reviewer_gets_contested_record():
        before = now_ms()
        got = review_fetch("rev1")
        expect_eq([r["id"] for r in got], ["r1"], "rev1's review batch")
        rec = got[0]
        expect_eq(sorted(rec), ["fields", "id", "lease_expires", "metadata", "responses",
                                "suggestions", "why"],
                  "keys of a review record never consolidated (no reason, no unified)")
        expect_eq((rec["fields"], rec["why"]), ({"text": "text of r1"}, ["contested"]), "fields and why")
        expect(before + LEASE_S * 1000 - 5000 <= rec["lease_expires"] <= now_ms() + LEASE_S * 1000 + 5000,
               f"lease_expires {rec['lease_expires']} is lease_seconds from now")
        expect_eq(responses_of(rec),
                  [{"annotator": "ana", "status": "submitted", "values": {"label": "pos"}},
                   {"annotator": "bob", "status": "submitted", "values": {"label": "neg"}},
                   {"annotator": "cat", "status": "submitted", "values": {"label": "pos"}},
                   {"annotator": "dan", "status": "discarded", "values": {}}],
                  "every submitted and discarded response, in annotator order (eve's draft left out)")

    def second_reviewer_is_kept_out():
        expect_eq(review_fetch("rev2"), [], "rev2's batch while rev1 holds r1")
        res = review_submit("rev2", [{"record": "r1", "accept": False}])
        expect_eq(outcome(res), [("r1", False, "ENOTLEASED", "record 'r1' is review-leased to another reviewer")],
                  "rev2 decides r1 leased to rev1")
        again = review_fetch("rev1")
        expect_eq([r["id"] for r in again], ["r1"], "rev1 fetching again gets its own lease back")

    def bad_values_are_refused():
        res = review_submit("rev1", [
            {"record": "r1", "accept": True, "values": {"answer": "no label"}},
            {"record": "r1", "accept": True, "values": {"label": "pos", "rank": [["a", "b"], "c"]}},
            {"record": "r1", "accept": True, "values": {"label": "maybe"}},
            {"record": "r9", "accept": True, "values": FINAL},
        ])
        expect_eq(outcome(res), [
            ("r1", False, "EINVAL", '/values/label: question "label" is required in a submitted response'),
            ("r1", False, "EINVAL", "/values/rank: item 0: a reviewer's ranking has no ties; give each value its own rank"),
            ("r1", False, "EINVAL", '/values/label: "maybe" is not one of the labels "pos", "neg"'),
            ("r9", False, "ENOTFOUND", "no record 'r9' in dataset dyn"),
        ], "refused decisions")
        m = connect("rev1").call("review_submit", "error", decisions=[{"record": "r1", "accept": True}])
        expect_eq(m["code"], "EPROTO", f"an accepted decision without values: {m}")
        expect_eq(review_counts(), (1, 1, 0), "nothing stored")

    def accept_is_stored_once():
        res = review_submit("rev1", [{"record": "r1", "accept": True, "values": FINAL, "note": NOTE}])
        expect_eq(outcome(res), [("r1", True, None, None)], "rev1 accepts r1")
        expect_eq(review_counts(), (1, 0, 1), "r1 left the queue, reviewed")
        # The same decision after a lost acknowledgement (values in another key order): ok again.
        same = {"record": "r1", "accept": True, "note": NOTE, "values": dict(reversed(list(FINAL.items())))}
        expect_eq(outcome(review_submit("rev1", [same])), [("r1", True, None, None)], "the same decision again")
        changed = "record 'r1' was already accepted by reviewer rev1; a decision cannot change"
        res = review_submit("rev1", [{"record": "r1", "accept": True, "values": dict(FINAL, label="pos"), "note": NOTE},
                                     {"record": "r1", "accept": False, "note": NOTE}])
        expect_eq(outcome(res), [("r1", False, "EEXIST", changed)] * 2, "another decision by rev1")
        res = review_submit("rev2", [{"record": "r1", "accept": True, "values": FINAL, "note": NOTE}])
        expect_eq(outcome(res), [("r1", False, "EEXIST", changed)], "the same values from rev2")
        expect_eq(review_fetch("rev1") + review_fetch("rev2"), [], "nothing waits for review")
        lines = log_events("reviewed")
        expect_eq(len(lines), 1, f"one reviewed log line: {lines}")
        expect('annotator=rev1 dataset=dyn record="r1" accept=true' in lines[0], f"the line: {lines[0]}")

    def export_shows_the_review():
        r1 = exported_records()["r1"]
        expect_eq({k: r1[k] for k in ("unified", "decision", "reason", "reviewed_by", "review_note")},
                  {"unified": FINAL, "decision": "accepted", "reason": None, "reviewed_by": "rev1",
                   "review_note": NOTE}, "r1 in export records before any consolidate")
        expect(isinstance(r1["reviewed_ms"], int) and t0 <= r1["reviewed_ms"] <= now_ms(),
               f"reviewed_ms {r1['reviewed_ms']}")

    def consolidate_keeps_the_review():
        s = json.loads(run_jury(store.path, "consolidate", DATASET, "--json").stdout)
        expect_eq((s["records"], s["accepted"], s["rejected"], s["pending"], s["reviewed"]), (4, 2, 1, 1, 1),
                  "consolidate: records, accepted, rejected, pending, reviewed")
        recs = exported_records()
        expect_eq({rid: (recs[rid]["decision"], recs[rid]["unified"], recs[rid]["reviewed_by"]) for rid in ALL},
                  {"r0": ("accepted", {"label": "pos"}, None), "r1": ("accepted", FINAL, "rev1"),
                   "r2": ("rejected", {"label": "neg"}, None), "r3": ("pending", {}, None)},
                  "decision, unified and reviewed_by of each record")
        expect_eq(export("sft"), [{"prompt": "text of r1", "completion": "a reviewed answer"}],
                  "sft: the reviewer's answer (r0 has no unified answer)")
        expect_eq(review_counts(), (1, 1, 1), "r2 waits for a reviewer; r1 stays reviewed")

    def rejected_record_waits_with_reason():
        recs = exported_records()
        got = review_fetch("rev2")
        expect_eq([(r["id"], r["why"]) for r in got], [("r2", ["rejected"])], "rev2's review batch")
        reason = '"label" not one of the required labels: pos'
        expect_eq(recs["r2"]["reason"], reason, "r2's reason in export records")
        expect_eq((got[0]["reason"], got[0]["unified"]), (reason, {"label": "neg"}),
                  "reason and unified from consolidate")
        expect_eq(responses_of(got[0]),
                  [{"annotator": "ana", "status": "submitted", "values": {"label": "neg"}},
                   {"annotator": "bob", "status": "submitted", "values": {"label": "neg"}}], "r2's responses")

    def leases_end_on_release_and_session_end():
        expect_eq(review_fetch("rev1"), [], "r2 is rev2's")
        expect_eq(outcome(connect("rev2").release(["r2"])), [("r2", True, None, None)], "rev2 releases r2")
        expect_eq([r["id"] for r in review_fetch("rev1")], ["r2"], "released, r2 goes to rev1")
        expect_eq(review_fetch("rev2"), [], "now rev1 holds it")
        drop("rev1")  # bye: its session ends, and its review lease with it
        expect_eq([r["id"] for r in review_fetch("rev2")], ["r2"], "rev1 left, r2 goes to rev2")

    def reject_is_stored():
        # Three decisions in one request: the first is not on disk when the others are decided.
        reject = {"record": "r2", "accept": False, "note": "off topic"}
        res = review_submit("rev2", [reject, reject, dict(reject, note="")])
        expect_eq(outcome(res), [("r2", True, None, None)] * 2 + [
            ("r2", False, "EEXIST", "record 'r2' was already rejected by reviewer rev2; a decision cannot change")],
            "rev2 rejects r2, the same again, then without the note")
        expect_eq(len(log_events("reviewed")), 2, "one reviewed log line per decision stored")
        r2 = exported_records()["r2"]
        expect_eq({k: r2[k] for k in ("decision", "reason", "reviewed_by", "review_note", "unified")},
                  {"decision": "rejected", "reason": "rejected by reviewer rev2: off topic",
                   "reviewed_by": "rev2", "review_note": "off topic", "unified": {}}, "r2 exported")
        expect_eq(review_counts(), (1, 0, 2), "nothing waits; two reviewed")
        s = json.loads(run_jury(store.path, "consolidate", DATASET, "--json").stdout)
        expect_eq((s["accepted"], s["rejected"], s["reviewed"]), (2, 1, 2), "consolidate keeps both reviews")
        expect_eq(review_counts(), (1, 0, 2), "and queues nothing again")

    def review_batch_fits_a_frame():
        store.create_dataset(BIG, BIG_SETTINGS)
        store.import_records(BIG, [{"id": f"b{i:02d}", "fields": {"text": chr(ord("a") + i) * BIG_TEXT}}
                                   for i in range(12)])
        run_jury(store.path, "annotator", "grant", "ana", BIG)
        run_jury(store.path, "annotator", "grant", "rev1", BIG)
        ana = Peer(endpoint, name="ana-big", curve=curve_of(keys["ana"]))
        rev = Peer(endpoint, name="rev1-big", curve=curve_of(keys["rev1"]))
        try:
            ana.call("hello", "welcome", annotator="ana", dataset=BIG)
            for i in range(12):
                got = [r["id"] for r in ana.fetch(1)]
                expect_eq(got, [f"b{i:02d}"], f"ana's batch {i}")
                expect_eq([x["ok"] for x in ana.submit([submitted(got[0], "neg")])], [True], f"submit {got}")
            s = json.loads(run_jury(store.path, "consolidate", BIG, "--json").stdout)
            expect_eq((s["accepted"], s["rejected"]), (0, 12), "consolidate big: all rejected")
            rev.call("hello", "welcome", annotator="rev1", dataset=BIG)
            req = rev.request_nowait("review_fetch", n=12)
            raw = raw_reply(rev)
            msg = msgpack.unpackb(raw, raw=False)
            expect_eq((msg["cmd"], msg["req"]), ("review_batch", req), "the reply")
            expect(len(raw) <= FRAME_MAX, f"the frame holds {len(raw)} bytes, at most {FRAME_MAX}")
            expect_eq([r["id"] for r in msg["records"]], [f"b{i:02d}" for i in range(11)],
                      "eleven records fit in one frame; the twelfth stays queued")
            expect_eq({len(r["fields"]["text"]) for r in msg["records"]}, {BIG_TEXT}, "whole texts")
            expect_eq([r["id"] for r in rev.call("review_fetch", "review_batch", n=1)["records"]], ["b00"],
                      "rev1 asking again gets its own lease on b00 back")
        finally:
            ana.close()
            rev.close()

    try:
        for name, fn in (("setup", setup),
                         ("welcome carries the role", welcome_roles),
                         ("dynamic overlap contests r1", contested_by_dynamic_overlap),
                         ("an annotator gets EPERM", annotator_gets_eperm),
                         ("a reviewer gets the contested record with every response", reviewer_gets_contested_record),
                         ("a second reviewer is kept out by the lease", second_reviewer_is_kept_out),
                         ("bad decisions are refused, naming the question", bad_values_are_refused),
                         ("an accepted decision is stored once", accept_is_stored_once),
                         ("export shows the reviewer's decision", export_shows_the_review),
                         ("consolidate keeps the review", consolidate_keeps_the_review),
                         ("a rejected record waits with its reason", rejected_record_waits_with_reason),
                         ("review leases end on release and with the session", leases_end_on_release_and_session_end),
                         ("a rejection is stored", reject_is_stored),
                         ("a review batch stops at the frame limit", review_batch_fits_a_frame)):
            if not checks.run(name, fn):
                break  # every check builds on the one before
    finally:
        for p in peers.values():
            p.close()
        if server:
            server.kill()
        rc = checks.finish()
        if rc == 0:
            rmtree(root)
        else:
            print(f"kept {root} for inspection", flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
