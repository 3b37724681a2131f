"""test_overlap: dynamic overlap (issue 9) on the real `jury serve`, driven by raw protocol peers answering scripted labels: a record whose first answers agree completes at min_submitted; one whose answers disagree gets its target raised one by one, goes back to pending for annotators who have not answered it, and at max_submitted is completed and marked contested; the target survives a restart; idempotent resubmissions change nothing; only completed records enter the live agreement; the posterior rule (until.confidence) stops a record at the one-coin Dawid-Skene confidence asked, with the prior accuracy or, after 10 gold answers, each annotator's gold accuracy."""

# Settings: one label question (pos/neg), distribution min_submitted 2, max_submitted 4,
# until {question: label, agreement: 1.0}. Six records r0..r5; only r0 (A) and r1 (B) are
# answered, by four annotators:
#   A: ana pos, bob pos                    -> agreement 1 at 2: completed, target 2
#   B: ana pos, bob neg                    -> agreement 0 < 1: target 3, pending
#      cat pos                             -> agreement 1/3: target 4, pending
#      dan neg                             -> at max_submitted 4, agreement 1/3: completed, contested
# Nothing here depends on timing: every step waits for the coordinator's reply, which comes
# after the commit, and then reads the store with `jury status --json` and `jury dump`.

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jurytest import (Checks, Peer, Server, Store, expect, expect_eq, label_settings,  # noqa: E402
                      make_tmpdir, rmtree, run_jury, slim, submitted, text_records)

DATASET = "dyn"
SETTINGS = label_settings(min_submitted=2, max_submitted=4,
                          until={"question": "label", "agreement": 1.0})
A, B = "r0", "r1"
ALL = [f"r{i}" for i in range(6)]


def main():
    root = make_tmpdir("jury-overlap")
    checks = Checks("dynamic overlap")
    store = Store(os.path.join(root, "store"))
    server = Server(store.path)
    peers = {}

    def peer(name):
        """The annotator's session (a new one after a restart)."""
        p = peers.get(name)
        if p is None:
            p = peers[name] = Peer(server.endpoint, name=name)
            p.hello(name, DATASET)
        return p

    def drop_sessions():
        for p in peers.values():
            p.bye()
            p.close()
        peers.clear()

    def available(name):
        """The ids the annotator can fetch now (every one is released again)."""
        p = peer(name)
        ids = [r["id"] for r in p.fetch(len(ALL))]
        if ids:
            expect(all(x["ok"] for x in p.release(ids)), f"{name}: release {ids}")
        return ids

    def answer(name, rid, label):
        """The annotator fetches the record (it must be available to them) and submits label."""
        p = peer(name)
        ids = [r["id"] for r in p.fetch(len(ALL))]
        expect(rid in ids, f"{name}: {rid} is in the fetched batch {ids}")
        res = p.submit([submitted(rid, label)])
        expect_eq([(x["record"], x["ok"]) for x in res], [(rid, True)], f"{name}: submit {rid} {label}: {res}")
        others = [i for i in ids if i != rid]
        if others:
            expect(all(x["ok"] for x in p.release(others)), f"{name}: release {others}")

    def state(rid):
        """(status, target, submitted, contested) of a record in `jury dump`."""
        r = store.dump(DATASET)[rid]
        return (r["status"], r["target"], r["submitted"], r.get("contested", False))

    def counts():
        """(records, pending, completed, discarded, contested, submitted responses) of `jury status --json`."""
        st = store.status(DATASET)
        return (st["records"], st["pending"], st["completed"], st["discarded"], st["contested"],
                st["responses"]["submitted"])

    def log_events(event):
        return [line for line in server.log_tail(100000).splitlines() if f"event={event} " in line]

    def setup():
        store.create_dataset(DATASET, SETTINGS)
        shown = run_jury(store.path, "dataset", "show", DATASET).stdout
        for want in ('"max_submitted":\t4', '"question":\t"label"', '"agreement":\t1'):
            expect(want in shown, f"dataset show has {want!r}:\n{shown}")
        store.import_records(DATASET, text_records("r", 6))
        expect_eq(counts(), (6, 6, 0, 0, 0, 0), "records, pending, completed, set aside, contested, responses")
        for rid in ALL:
            expect_eq(state(rid), ("pending", 2, 0, False), f"{rid} before any answer")
        server.start()

    def agreeing_pair_completes_at_two():
        answer("ana", A, "pos")
        expect_eq(state(A), ("pending", 2, 1, False), "A after one answer")
        answer("bob", A, "pos")
        expect_eq(state(A), ("completed", 2, 2, False), "A after two agreeing answers")
        expect_eq(counts(), (6, 5, 1, 0, 0, 2), "status after A")
        expect(A not in available("cat"), "a completed record is not handed out")

    def disagreement_raises_target_to_three():
        answer("ana", B, "pos")
        answer("bob", B, "neg")
        expect_eq(state(B), ("pending", 3, 2, False), "B after pos, neg")
        expect_eq(counts(), (6, 5, 1, 0, 0, 4), "status after B's first two answers: B is pending")
        for name in ("ana", "bob"):
            expect(B not in available(name), f"{name} answered B and never gets it again")
        # complete_first: B, the only pending record with answers, comes first.
        cat = peer("cat")
        got = [r["id"] for r in cat.fetch(1)]
        expect_eq(got, [B], "cat's first record is B, pending again")
        # B has room for one more: cat's lease fills it, so dan does not get B meanwhile.
        expect(B not in available("dan"), "B leased to cat is not handed to dan too (2 submitted + 1 lease = target 3)")
        expect(all(x["ok"] for x in cat.release([B])), "cat releases B")
        expect(B in available("dan"), "released, B is available to dan")
        expect_eq(len(log_events("record_reopened")), 1, "one record_reopened log line")

    def target_survives_restart():
        drop_sessions()
        expect_eq(server.stop(), 0, "jury serve exits 0 on SIGTERM")
        expect_eq(state(B), ("pending", 3, 2, False), "B in the store, coordinator stopped")
        expect_eq(counts(), (6, 5, 1, 0, 0, 4), "status, coordinator stopped")
        server.start()
        got = [r["id"] for r in peer("cat").fetch(1)]
        expect_eq(got, [B], "after a restart B is still the first record for cat")
        expect(all(x["ok"] for x in peer("cat").release(got)), "cat releases B")

    def third_disagreement_raises_target_to_four():
        answer("cat", B, "pos")
        expect_eq(state(B), ("pending", 4, 3, False), "B after pos, neg, pos")
        expect_eq(counts(), (6, 5, 1, 0, 0, 5), "status after B's third answer")
        for name in ("ana", "bob", "cat"):
            expect(B not in available(name), f"{name} answered B and never gets it again")

    def max_submitted_completes_contested():
        answer("dan", B, "neg")
        expect_eq(state(B), ("completed", 4, 4, True), "B after pos, neg, pos, neg: completed, contested")
        expect_eq(counts(), (6, 4, 2, 0, 1, 6), "status after B: 2 completed, 1 contested")
        expect(B not in available("eve"), "a contested record is completed: nobody gets it")
        expect_eq(slim(store.dump(DATASET)[B]["responses"]),
                  [{"annotator": "ana", "status": "submitted", "values": {"label": "pos"}},
                   {"annotator": "bob", "status": "submitted", "values": {"label": "neg"}},
                   {"annotator": "cat", "status": "submitted", "values": {"label": "pos"}},
                   {"annotator": "dan", "status": "submitted", "values": {"label": "neg"}}],
                  "B's responses")
        for rid in ALL[2:]:
            expect_eq(state(rid), ("pending", 2, 0, False), f"{rid}, never answered")
        pending = run_jury(store.path, "dump", DATASET, "--status", "pending").stdout
        expect_eq(len(pending.splitlines()), 4, "jury dump --status pending: the four unanswered records")
        done = log_events("record_completed")
        expect_eq(len(done), 2, f"two record_completed log lines: {done}")
        expect("submitted=2 contested=false" in done[0], f"A's line: {done[0]}")
        expect("submitted=4 contested=true" in done[1], f"B's line: {done[1]}")
        reopened = log_events("record_reopened")
        expect_eq(len(reopened), 2, f"two record_reopened log lines: {reopened}")
        expect("submitted=2 target=3" in reopened[0] and "submitted=3 target=4" in reopened[1],
               f"record_reopened lines: {reopened}")

    def resubmission_changes_nothing():
        before = (counts(), state(A), state(B))
        # SPEC 9.2: an identical resubmission is accepted, lease or not; it must not decide again.
        for name, rid, label in (("ana", B, "pos"), ("dan", B, "neg"), ("bob", A, "pos")):
            res = peer(name).submit([submitted(rid, label)])
            expect_eq([(x["record"], x["ok"]) for x in res], [(rid, True)], f"{name} resubmits {rid}: {res}")
        res = peer("cat").submit([submitted(B, "neg")])
        expect_eq([(x["ok"], x.get("code")) for x in res], [(False, "EEXIST")], f"cat changes B's answer: {res}")
        expect_eq((counts(), state(A), state(B)), before, "status and states after resubmissions")
        expect_eq(len(log_events("record_completed")), 2, "no new record_completed line for a resubmission")

    def live_agreement_counts_completed_only():
        st = store.status(DATASET)
        label = st["agreement"]["label"]
        expect_eq(label["records"], 2, "live agreement: the two completed records")
        # Krippendorff's nominal alpha of A (pos, pos) and B (pos, neg, pos, neg): observed
        # disagreement 4/9, expected 8/15, alpha = 1 - (4/9)/(8/15) = 1/6.
        expect(abs(label["alpha"] - 1 / 6) < 1e-6, f"live alpha {label['alpha']}, want 1/6")

    def consolidate_and_export():
        drop_sessions()
        expect_eq(server.stop(), 0, "jury serve exits 0 on SIGTERM")
        s = json.loads(run_jury(store.path, "consolidate", DATASET, "--json").stdout)
        expect_eq((s["records"], s["accepted"], s["rejected"], s["pending"]), (6, 2, 0, 4),
                  "consolidate: records, accepted, rejected, pending")
        recs = {}
        for line in run_jury(store.path, "export", DATASET, "--format", "records").stdout.splitlines():
            r = json.loads(line)
            recs[r["id"]] = r
        expect_eq((recs[A]["unified"], recs[A]["decision"]), ({"label": "pos"}, "accepted"), "A exported")
        expect_eq(len(recs[B]["responses"]["label"]), 4, "B exported with its four answers")
        expect_eq(recs[B]["decision"], "accepted", "B decided")

    # The posterior rule (until.confidence), on two more datasets of the same coordinator.
    # "post": prior accuracy 0.7 for everyone (no gold), pos/neg, min 2, max 4, confidence 0.9:
    #   C: pos, pos -> 0.49/0.58 = 0.845: target 3; pos -> 0.343/0.370 = 0.927: completed at 3
    #   D: pos, neg -> 0.5: target 3; pos -> 0.7: target 4; pos -> 0.845: completed, contested
    # "postgold": onboarding 10 on gold records g0..g9 (label pos); eve answers hers right and fay
    # hers wrong, so their gold accuracies are (10+1)/(10+2) and (0+1)/(10+2); then on E eve says
    # pos and fay neg: the posterior of pos is 0.8403/(0.8403+0.0069) = 0.992, completed at 2,
    # where the prior alone (0.5) would have asked for a third answer.
    post_peers = {}

    def post_answer(ds, name, rid, label):
        key = (ds, name)
        if key not in post_peers:
            post_peers[key] = Peer(server.endpoint, name=f"{name}@{ds}")
            post_peers[key].hello(name, ds)
        p = post_peers[key]
        ids = [r["id"] for r in p.fetch(20)]
        expect(rid in ids, f"{name}@{ds}: {rid} is in the fetched batch {ids}")
        res = p.submit([submitted(rid, label)])
        expect_eq([(x["record"], x["ok"]) for x in res], [(rid, True)], f"{name}@{ds}: submit {rid}")
        others = [i for i in ids if i != rid]
        if others:
            expect(all(x["ok"] for x in p.release(others)), f"release {others}")

    def post_state(ds, rid):
        r = store.dump(ds)[rid]
        return (r["status"], r["target"], r["submitted"], r.get("contested", False))

    def posterior_rule():
        server.start()  # consolidate_and_export stopped it
        store.create_dataset("post", label_settings(min_submitted=2, max_submitted=4,
                                                    until={"question": "label", "confidence": 0.9}))
        shown = run_jury(store.path, "dataset", "show", "post").stdout
        expect('"prior_accuracy":\t0.7' in shown, f"dataset show has the default prior:\n{shown}")
        store.import_records("post", [{"id": "C", "fields": {"text": "c"}}, {"id": "D", "fields": {"text": "d"}}])
        steps = (("ana", "C", "pos", ("pending", 3, 2, False)),
                 ("bob", "D", "neg", None), ("ana", "D", "pos", ("pending", 3, 2, False)),
                 ("cat", "C", "pos", ("completed", 3, 3, False)),
                 ("cat", "D", "pos", ("pending", 4, 3, False)),
                 ("dan", "D", "pos", ("completed", 4, 4, True)))
        post_answer("post", "bob", "C", "pos")
        for name, rid, label, want in steps:
            post_answer("post", name, rid, label)
            if want:
                expect_eq(post_state("post", rid), want, f"{rid} after {name} {label}")

    def posterior_rule_with_gold():
        settings = label_settings(min_submitted=2, max_submitted=4, onboarding=10,
                                  until={"question": "label", "confidence": 0.9})
        store.create_dataset("postgold", settings)
        recs = [{"id": f"g{i}", "fields": {"text": f"gold {i}"}, "gold": {"label": "pos"}} for i in range(10)]
        store.import_records("postgold", recs + [{"id": "E", "fields": {"text": "e"}}])
        for name, label in (("eve", "pos"), ("fay", "neg")):
            p = Peer(server.endpoint, name=f"{name}@postgold")
            post_peers[("postgold", name)] = p
            p.hello(name, "postgold")
            for _ in range(10):
                got = p.fetch(1)
                expect(len(got) == 1 and got[0]["id"].startswith("g"), f"{name}: onboarding gold, got {got}")
                res = p.submit([submitted(got[0]["id"], label)])
                expect(res[0]["ok"], f"{name}: gold answer {res}")
        post_answer("postgold", "eve", "E", "pos")
        expect_eq(post_state("postgold", "E"), ("pending", 2, 1, False), "E after eve")
        post_answer("postgold", "fay", "E", "neg")
        expect_eq(post_state("postgold", "E"), ("completed", 2, 2, False),
                  "E after eve pos (gold 11/12) and fay neg (gold 1/12)")

    try:
        for name, fn in (("setup", setup),
                         ("agreeing pair completes at min_submitted", agreeing_pair_completes_at_two),
                         ("disagreement raises the target to 3, pending again", disagreement_raises_target_to_three),
                         ("the raised target survives a restart", target_survives_restart),
                         ("another disagreement raises it to 4", third_disagreement_raises_target_to_four),
                         ("max_submitted completes the record, contested", max_submitted_completes_contested),
                         ("identical resubmissions change nothing", resubmission_changes_nothing),
                         ("live agreement counts completed records only", live_agreement_counts_completed_only),
                         ("consolidate and export", consolidate_and_export),
                         ("posterior rule: confidence with the prior accuracy", posterior_rule),
                         ("posterior rule: gold accuracies weigh the answers", posterior_rule_with_gold)):
            if not checks.run(name, fn):
                break  # every check builds on the one before
    finally:
        for p in list(peers.values()) + list(post_peers.values()):
            p.close()
        server.kill()
        rc = checks.finish()
        if rc == 0:
            rmtree(root)
        else:
            print(f"kept {root} for inspection", flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
