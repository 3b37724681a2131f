"""test_gold: gold records on the real `jury serve` with simulated annotators of known error rates
(`juror bot --simulate`): gold records are mixed in at gold_rate, each annotator's accuracy on them
is tracked and comes within 0.05 of its simulated rate, an annotator simulated at 50% error is
paused on the dataset (told why, its session cut, no more work), and gold records stay out of the
record counts, consolidation and export. Bad gold values are refused at import."""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jurytest import (Checks, Peer, Server, Store, expect, expect_eq, make_tmpdir,  # noqa: E402
                      rmtree, run_jury)

JUROR_BIN = os.environ.get("JUROR_BIN") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "bin", "juror")
NORMAL, GOLD = 600, 400
SETTINGS = {
    "fields": [{"name": "text", "type": "text"}],
    "questions": [{"name": "label", "type": "label_selection", "labels": ["pos", "neg"]}],
    "metadata": [{"name": "truth", "type": "terms", "options": ["pos", "neg"], "visible_for_annotators": True}],
    "distribution": {"min_submitted": 1, "gold_rate": 0.4, "onboarding": 5,
                     "pause_below": {"accuracy": 0.7, "after_gold": 20}},
}


def truth(i):
    return "pos" if (i * 7919) % 5 < 3 else "neg"


def records():
    out = [{"id": f"n{i}", "fields": {"text": f"item {i}"}, "metadata": {"truth": truth(i)}}
           for i in range(NORMAL)]
    out += [{"id": f"g{i}", "fields": {"text": f"gold item {i}"}, "metadata": {"truth": truth(i + 1)},
             "gold": {"label": truth(i + 1)}} for i in range(GOLD)]
    return out


def bot(endpoint, name, error, seed):
    return subprocess.Popen([JUROR_BIN, "--connect", endpoint, "--dataset", "g", "--annotator", name,
                             "--timeout-ms", "20000", "bot", "--simulate",
                             f"error={error},gold=truth,seed={seed}", "--idle-exit", "2"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def main():
    root = make_tmpdir("jury-gold")
    checks = Checks("gold records")
    store = Store(os.path.join(root, "store"))
    server = Server(store.path)
    procs = []

    def bad_gold():
        store.create_dataset("b", SETTINGS)
        for rec, want in [({"id": "x", "fields": {"text": "t"}, "gold": {"label": "maybe"}},
                           "/gold/label: "),
                          ({"id": "x", "fields": {"text": "t"}, "gold": {"nope": "pos"}},
                           "/gold/nope: unknown question \"nope\""),
                          ({"id": "x", "fields": {"text": "t"}, "gold": {}},
                           "/gold: gold must be an object of known answers")]:
            p = run_jury(store.path, "import", "b", "-", input_bytes=(json.dumps(rec) + "\n").encode(),
                         check=False)
            expect_eq(p.returncode, 2, f"import of {rec['gold']}")
            expect(want in p.stderr, f"{want!r} in {p.stderr!r}")
        expect_eq(store.status("b")["records"], 0, "nothing imported")

    def setup():
        store.create_dataset("g", SETTINGS)
        store.import_records("g", records())
        st = store.status("g")
        expect_eq((st["records"], st["gold"]["records"]), (NORMAL, GOLD), "records and gold records")
        dump = store.dump("g")
        expect_eq(sum(1 for r in dump.values() if r.get("gold")), GOLD, "gold records in the dump")

    def campaign():
        server.start()
        good, bad = bot(server.endpoint, "good", 0.1, 11), bot(server.endpoint, "bad", 0.5, 12)
        procs.extend([good, bad])
        _, bad_err = bad.communicate(timeout=240)
        expect_eq(bad.returncode, 1, f"the paused bot stops (stderr: {bad_err.strip()[-300:]})")
        expect("paused" in bad_err and "gold accuracy on label" in bad_err,
               f"the bot is told why: {bad_err.strip()[-300:]}")
        _, good_err = good.communicate(timeout=240)
        expect_eq(good.returncode, 0, f"the good bot finishes (stderr: {good_err.strip()[-300:]})")
        st = store.status("g")
        expect_eq(st["completed"], NORMAL, "every record completed")
        acc = st["gold"]["accuracy"]
        g, b = acc["good"]["label"], acc["bad"]["label"]
        print(f"      good: {g['correct']} of {g['answered']} gold right ({g['accuracy']:.3f}); "
              f"bad: {b['correct']} of {b['answered']} ({b['accuracy']:.3f}), paused", flush=True)
        expect(g["answered"] >= 100, f"the good annotator answered {g['answered']} gold records")
        expect(abs(g["accuracy"] - 0.9) <= 0.05, f"good's gold accuracy {g['accuracy']} within 0.05 of 0.9")
        expect(b["answered"] >= 20 and b["accuracy"] < 0.7, f"bad's gold accuracy {b}")
        quality = {r["annotator"]: r for r in st["annotators_quality"]}
        expect_eq((quality["good"]["gold"], quality["bad"]["gold"], quality["bad"]["state"]),
                  (round(g["correct"] / g["answered"], 6), round(b["correct"] / b["answered"], 6), "paused"),
                  "the quality table's gold column and state")
        # Gold records are a share of what each annotator got: about gold_rate after onboarding.
        share = g["answered"] / (g["answered"] + st["annotators"]["good"]["submitted"]
                                 - g["answered"])
        expect(0.3 <= share <= 0.45, f"good's share of gold records {share:.3f}")

    def paused_gets_nothing():
        p = Peer(server.endpoint, name="bad-again")
        try:
            m = p.request("hello", annotator="bad", dataset="g")
            expect_eq((m["cmd"], m["code"]), ("error", "EPERM"), f"hello of the paused annotator: {m}")
            expect(m["reason"].startswith("hello: bad is paused on dataset g: gold accuracy on label is "),
                   m["reason"])
        finally:
            p.close()
        run_jury(store.path, "annotator", "resume", "bad", "g")
        p = Peer(server.endpoint, name="bad-resumed")
        try:
            p.hello("bad", "g")
        finally:
            p.close()

    def excluded():
        out = json.loads(run_jury(store.path, "consolidate", "g", "--json").stdout)
        counts = out.get("counts") or out
        text = json.dumps(counts)
        expect(str(NORMAL) in text and str(NORMAL + GOLD) not in text, f"consolidation counts {text[:300]}")
        lines = run_jury(store.path, "export", "g", "--format", "records").stdout.splitlines()
        ids = [json.loads(x)["id"] for x in lines if x.strip()]
        expect_eq((len(ids), any(i.startswith("g") for i in ids)), (NORMAL, False), "export holds no gold record")

    try:
        for name, fn in [("bad gold values are refused at import", bad_gold),
                         ("gold records imported apart from the records", setup),
                         ("two simulated annotators: gold accuracy tracked, 50% error paused", campaign),
                         ("a paused annotator gets no session until resumed", paused_gets_nothing),
                         ("gold records stay out of consolidation and export", excluded)]:
            if not checks.run(name, fn):
                break
        if server.running():
            expect_eq(server.stop(), 0, "coordinator exit after SIGTERM")
    except Exception as e:
        checks.failed += 1
        print(f"FAIL  setup: {e}", flush=True)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        server.kill()
    code = checks.finish()
    if code == 0 and not os.environ.get("JURY_TEST_KEEP"):
        rmtree(root)
    else:
        print(f"(kept {root} for inspection)")
    return code


if __name__ == "__main__":
    sys.exit(main())
