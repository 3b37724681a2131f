"""test_gold_consolidate: gold accuracy feeds `jury consolidate`. Three annotators answer through
the real `jury serve` (onboarding: their first 10 records are the 10 gold records): "good" gets
every gold answer right, "bad1" and "bad2" 2 of 10. On the one record where good disagrees with
both bad annotators, `weighted` follows good (gold weights 1 against 0.2 + 0.2) and so does
`dawid_skene` (the gold prior turns its fit), while `majority` follows the two; the summary
reports the gold accuracy used per annotator."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jurytest import (Checks, Peer, Server, Store, expect, expect_eq, make_tmpdir,  # noqa: E402
                      rmtree, run_jury, submitted)

NGOLD = 10
SETTINGS = {
    "fields": [{"name": "text", "type": "text"}],
    "questions": [{"name": "label", "type": "label_selection", "labels": ["pos", "neg"]}],
    "distribution": {"min_submitted": 3, "onboarding": NGOLD},
}
# Records n0..n5 and the answers all three give, except n0: good says pos, the others neg.
TRUTH = {"n0": "pos", "n1": "pos", "n2": "pos", "n3": "neg", "n4": "neg", "n5": "neg"}


def records():
    out = [{"id": rid, "fields": {"text": f"item {rid}"}} for rid in TRUTH]
    out += [{"id": f"g{i}", "fields": {"text": f"gold item {i}"}, "gold": {"label": "pos"}}
            for i in range(NGOLD)]
    return out


def answer(who, rid):
    if rid.startswith("g"):
        right = who == "good" or rid in ("g0", "g1")
        return "pos" if right else "neg"
    if rid == "n0" and who != "good":
        return "neg"
    return TRUTH[rid]


def work(endpoint, who):
    """Fetches and answers every record the coordinator gives `who`; returns the ids answered."""
    p = Peer(endpoint, name=who)
    done = []
    try:
        p.hello(who, "gc")
        while True:
            batch = p.fetch(20)
            if not batch:
                break
            results = p.submit([submitted(r["id"], answer(who, r["id"])) for r in batch])
            expect(all(x["ok"] for x in results), f"{who}: submits accepted: {results}")
            done += [r["id"] for r in batch]
        p.bye()
    finally:
        p.close()
    return done


def consolidate(store, method):
    out = run_jury(store.path, "consolidate", "gc", "--method", f"label={method}", "--json").stdout
    return json.loads(out)


def unified(store):
    lines = run_jury(store.path, "export", "gc", "--format", "records").stdout.splitlines()
    return {r["id"]: r["unified"].get("label") for r in map(json.loads, filter(str.strip, lines))}


def main():
    root = make_tmpdir("jury-gold-consolidate")
    checks = Checks("gold accuracy in consolidation")
    store = Store(os.path.join(root, "store"))
    server = Server(store.path)

    def campaign():
        store.create_dataset("gc", SETTINGS)
        store.import_records("gc", records())
        server.start()
        for who in ("good", "bad1", "bad2"):
            got = work(server.endpoint, who)
            expect_eq(sorted(got), sorted(list(TRUTH) + [f"g{i}" for i in range(NGOLD)]),
                      f"{who}: answered every record and every gold record")
        expect_eq(server.stop(), 0, "coordinator exit after SIGTERM")
        acc = store.status("gc")["gold"]["accuracy"]
        expect_eq({w: (acc[w]["label"]["correct"], acc[w]["label"]["answered"]) for w in acc},
                  {"good": (10, 10), "bad1": (2, 10), "bad2": (2, 10)}, "gold answers counted")

    def weighted():
        s = consolidate(store, "weighted")
        expect_eq(s["gold_accuracy"], {"good": {"label": 1}, "bad1": {"label": 0.2},
                                       "bad2": {"label": 0.2}}, "gold accuracy used")
        expect_eq(s["annotators"], {"good": {"label": 1}, "bad1": {"label": 0.2},
                                    "bad2": {"label": 0.2}}, "weights = gold accuracies")
        expect_eq(unified(store), TRUTH, "weighted: n0 follows the annotator with perfect gold")

    def dawid_skene():
        # Without gold, EM fits good as the odd one out on n0 (its posterior for neg reaches 1);
        # the gold prior (good 10 of 10 right, the others 2 of 10) turns it to pos.
        s = consolidate(store, "dawid_skene")
        expect_eq(s["gold_accuracy"], {"good": {"label": 1}, "bad1": {"label": 0.2},
                                       "bad2": {"label": 0.2}}, "gold accuracy used")
        expect_eq(s["annotators"]["good"], {"label": 1}, "good's estimated accuracy")
        expect_eq(unified(store), TRUTH, "dawid_skene: n0 follows the annotator with perfect gold")

    def majority():
        s = consolidate(store, "majority")
        expect("gold_accuracy" not in s, f"no gold_accuracy without a method that uses it: {list(s)}")
        expect_eq(unified(store), dict(TRUTH, n0="neg"), "majority: n0 follows the two")

    try:
        for name, fn in [("three annotators answer gold and records through jury serve", campaign),
                         ("weighted weighs each annotator by gold accuracy", weighted),
                         ("dawid_skene takes gold accuracy as a prior", dawid_skene),
                         ("majority ignores gold", majority)]:
            if not checks.run(name, fn):
                break
    except Exception as e:
        checks.failed += 1
        print(f"FAIL  setup: {e}", flush=True)
    finally:
        server.kill()
    code = checks.finish()
    if code == 0 and not os.environ.get("JURY_TEST_KEEP"):
        rmtree(root)
    else:
        print(f"(kept {root} for inspection)")
    return code


if __name__ == "__main__":
    sys.exit(main())
