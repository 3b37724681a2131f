"""test_pause_quota: pausing an annotator on one dataset (`jury annotator pause|resume`) on the real
`jury serve`: the session is cut within a bound with the reason, its leases go back at once, a new
hello is refused with the reason, other datasets and annotators go on, resume lets them back; and
the per-annotator quota `distribution.max_records_per_annotator`, also across a restart."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jurytest import (Checks, Peer, Server, Store, audit_lines, expect, expect_eq,  # noqa: E402
                      label_settings, make_tmpdir, rmtree, run_jury, submitted, text_records)

CUT_BOUND_S = 10  # the coordinator rechecks access within about a second; generous for ASan


def main():
    root = make_tmpdir("jury-pause")
    checks = Checks("pause, resume and quotas")
    store = Store(os.path.join(root, "store"))
    store.create_dataset("a", label_settings(min_submitted=1))
    store.import_records("a", text_records("a", 6))
    store.create_dataset("b", label_settings(min_submitted=1))
    store.import_records("b", text_records("b", 3))
    store.create_dataset("q", label_settings(min_submitted=1, max_records_per_annotator=3))
    store.import_records("q", text_records("q", 10))
    server = Server(store.path)
    peers = []

    def peer(name, dataset):
        p = Peer(server.endpoint, name=f"{name}@{dataset}")
        peers.append(p)
        p.hello(name, dataset)
        return p

    def pause_cut():
        ana_a, ana_b, bob_a = peer("ana", "a"), peer("ana", "b"), peer("bob", "a")
        held = [r["id"] for r in ana_a.fetch(2)]
        expect_eq(len(held), 2, "ana holds two records of a")
        t0 = time.monotonic()
        out = run_jury(store.path, "annotator", "pause", "ana", "a", "--reason", "gold accuracy 0.41").stdout
        expect_eq(out.strip(), "paused annotator ana on dataset a (gold accuracy 0.41); their sessions "
                  "there end within a second", "pause output")
        bye = ana_a.goodbyes(CUT_BOUND_S)
        expect(bye is not None, f"goodbye within {CUT_BOUND_S} s")
        expect_eq(bye["code"], "EPERM", f"goodbye {bye}")
        expect_eq(bye["reason"], "access withdrawn: the annotator was paused on the dataset: gold accuracy 0.41",
                  "the reason reaches the worker")
        print(f"      cut after {time.monotonic() - t0:.2f} s", flush=True)
        # The leases went back: bob gets ana's two records first (complete_first: they come back
        # at the head of the queue).
        got = [r["id"] for r in bob_a.fetch(6)]
        expect(set(held) <= set(got), f"ana's records {held} are fetchable by bob: {got}")
        bob_a.release(got)
        # ana still works on b.
        expect_eq(len(ana_b.fetch(1)), 1, "ana's session on b goes on")
        # A new hello on a is refused with the reason.
        again = Peer(server.endpoint, name="ana-again")
        peers.append(again)
        m = again.request("hello", annotator="ana", dataset="a")
        expect_eq((m["cmd"], m["code"]), ("error", "EPERM"), f"hello while paused: {m}")
        expect_eq(m["reason"], "hello: ana is paused on dataset a: gold accuracy 0.41 (`jury annotator "
                  "resume ana a` lets them back)", "the hello's reason")
        cut = [x for x in audit_lines(store.path) if x.get("event") == "session.cut"]
        expect(cut and cut[-1].get("annotator") == "ana" and cut[-1].get("released") == "2",
               f"session.cut audit line {cut[-1:]}")

    def resume():
        out = run_jury(store.path, "annotator", "resume", "ana").stdout
        expect_eq(out.strip(), "resumed annotator ana on every dataset", "resume output")
        out = run_jury(store.path, "annotator", "resume", "ana", "a").stdout
        expect_eq(out.strip(), "annotator ana is not paused on dataset a", "resume twice")
        p = peer("ana", "a")
        res = p.submit([submitted(r["id"], "pos") for r in p.fetch(1)])
        expect_eq([x["ok"] for x in res], [True], "ana answers on a again")
        events = [(x.get("event"), x.get("dataset")) for x in audit_lines(store.path)
                  if x.get("event", "").startswith("annotator.")]
        expect_eq(events, [("annotator.pause", "a"), ("annotator.resume", "*")], "audit lines")

    def refusals():
        for args, want in [(["pause", "ana", "nope"], "no dataset 'nope'"),
                           (["pause", "zed", "a"], "no annotator 'zed'"),
                           (["pause", "ana"], "wrong number of arguments"),
                           (["resume", "ana", "--reason", "x"], "--reason does not apply"),
                           (["pause", "ana", "a", "--reason", "x" * 1001], "at most 1000 bytes")]:
            p = run_jury(store.path, "annotator", *args, check=False)
            expect_eq(p.returncode, 2, f"annotator {' '.join(args[:3])} exit")
            expect(want in p.stderr, f"{want!r} in {p.stderr!r}")

    def quota():
        cy = peer("cy", "q")
        first = [r["id"] for r in cy.fetch(10)]
        expect_eq(len(first), 3, "the quota holds the first fetch to 3")
        expect_eq(cy.fetch(10), [], "nothing more while holding 3")
        res = cy.submit([submitted(first[0], "pos")])
        expect_eq([x["ok"] for x in res], [True], "an answer")
        cy.release(first[1:])
        expect_eq(len(cy.fetch(10)), 2, "answered 1: room for 2")
        cy.bye()
        # After a restart the coordinator counts cy's answers from the store.
        server.stop()
        server.start()
        cy2 = peer("cy", "q")
        got = [r["id"] for r in cy2.fetch(10)]
        expect_eq(len(got), 2, "after a restart: 1 answered, room for 2")
        res = cy2.submit([submitted(i, "neg") for i in got])
        expect_eq([x["ok"] for x in res], [True, True], "two more answers")
        expect_eq(cy2.fetch(10), [], "quota reached: nothing more")
        st = store.status("q")
        expect_eq(st["annotators"]["cy"]["submitted"], 3, "cy answered exactly the quota")
        dee = peer("dee", "q")
        expect_eq(len(dee.fetch(10)), 3, "another annotator has a quota of its own")

    try:
        server.start()
        for name, fn in [("pause cuts the session with the reason, leases go back, hello refused", pause_cut),
                         ("resume lets the annotator back", resume),
                         ("pause and resume refusals", refusals),
                         ("max_records_per_annotator, across a restart", quota)]:
            checks.run(name, fn)
            for p in peers:
                p.close()
            peers.clear()
        expect_eq(server.stop(), 0, "coordinator exit after SIGTERM")
    except Exception as e:
        checks.failed += 1
        print(f"FAIL  setup: {e}", flush=True)
    finally:
        for p in peers:
            p.close()
        server.kill()
    code = checks.finish()
    if code == 0 and not os.environ.get("JURY_TEST_KEEP"):
        rmtree(root)
    else:
        print(f"(kept {root} for inspection)")
    return code


if __name__ == "__main__":
    sys.exit(main())
