"""test_dpo_oasst: a whole preference campaign on real OpenAssistant rankings: `jury serve`, three simulated `juror bot` annotators, `jury consolidate` (Borda) and `jury export --format dpo`, checked pair by pair against a Borda count done here."""

# Data: $JURY_SHARED_DATA/sft/oasst_en_100_tree.jsonl, 100 OpenAssistant
# conversation trees (Apache-2.0). Every root prompt with at least 3 ranked
# replies (rank 0 best) becomes one record: fields "prompt", "reply_a",
# "reply_b", "reply_c" holding its 3 best-ranked replies in an order shuffled
# with a fixed seed, and a ranking question "preference" over the three field
# names whose suggestion is the true OASST order. The simulated annotators take
# the suggestion as the truth and, with probability 0.2, swap two neighbouring
# ranks (worker/simulate.h). Each of the three answers every record
# (min_submitted 3), and each answer depends only on its bot's seed and the
# record, so the whole campaign gives the same responses on every run.
#
# The oracle: Borda as the README defines it (values ordered by mean rank, ties
# by the suggestion's order, then the question's value order), computed from
# `jury export --format responses`, then the dpo lines it implies: chosen is
# the text of the field ranked best, rejected of the one ranked worst; with
# --pairs all, every (better, worse) pair.

import json
import os
import random
import re
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jurytest import (SOURCE_DIR, Checks, CheckFailed, Server, Store, expect, expect_eq,  # noqa: E402
                      make_tmpdir, rmtree, run_jury)

SHARED = os.environ.get("JURY_SHARED_DATA") or os.path.join(os.path.dirname(SOURCE_DIR), "shared", "data")
OASST = os.path.join(SHARED, "sft", "oasst_en_100_tree.jsonl")
JUROR_BIN = os.environ.get("JUROR_BIN") or os.path.join(SOURCE_DIR, "build", "bin", "juror")
BOT_TIMEOUT_S = 120  # a bound, not a measure: the campaign takes a few seconds
SHUFFLE_SEED = 2024
CANDIDATES = ["reply_a", "reply_b", "reply_c"]
BOTS = {"sim-1": 11, "sim-2": 22, "sim-3": 33}
SUMMARY = re.compile(r"^juror: bot: answered (\d+), discarded (\d+), released (\d+), errors (\d+) ", re.M)

SETTINGS = {
    "guidelines": "Rank the three replies to the prompt, best first.",
    "fields": [{"name": "prompt", "type": "text"}] + [{"name": c, "type": "text"} for c in CANDIDATES],
    "questions": [{"name": "preference", "type": "ranking", "values": CANDIDATES}],
    "distribution": {"min_submitted": 3},
}


def oasst_records():
    """The records, in file order: one per root prompt with 3 or more ranked replies."""
    rng = random.Random(SHUFFLE_SEED)
    out = []
    with open(OASST, encoding="utf-8") as f:
        for line in f:
            tree = json.loads(line)
            prompt = tree["prompt"]
            ranked = sorted((r for r in prompt["replies"] if r.get("rank") is not None), key=lambda r: r["rank"])
            if len(ranked) < 3:
                continue
            best3 = [r["text"] for r in ranked[:3]]
            slots = CANDIDATES[:]
            rng.shuffle(slots)  # slots[i] holds the reply ranked i
            fields = {"prompt": prompt["text"]}
            for i, slot in enumerate(slots):
                fields[slot] = best3[i]
            out.append({"id": tree["message_tree_id"], "fields": fields,
                        "suggestions": {"preference": {"value": slots, "agent": "oasst-ranks"}}})
    return out


def borda(rankings, suggestion):
    """Values ordered by mean rank (1 = best); ties by the suggestion's order, then value order."""
    ranks = {v: [] for v in CANDIDATES}
    for ranking in rankings:
        pos = 1
        for item in ranking:
            group = item if isinstance(item, list) else [item]
            # Tied values share the mean of the positions they take.
            mean = pos + (len(group) - 1) / 2
            for v in group:
                ranks[v].append(mean)
            pos += len(group)
    return sorted(CANDIDATES, key=lambda v: (sum(ranks[v]) / len(ranks[v]), suggestion.index(v),
                                             CANDIDATES.index(v)))


def run_bot(endpoint, annotator, seed, results):
    cmd = [JUROR_BIN, "bot", "--connect", endpoint, "--dataset", "oasst", "--annotator", annotator,
           "--simulate", f"error=0.2,seed={seed}", "--batch", "10", "--idle-exit", "2"]
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=BOT_TIMEOUT_S)
        results[annotator] = (p.returncode, p.stderr.decode("utf-8", "replace"))
    except subprocess.TimeoutExpired:
        results[annotator] = (None, f"no exit within {BOT_TIMEOUT_S} s")


def jsonl(text, what):
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        try:
            out.append(json.loads(line))
        except ValueError as e:
            raise CheckFailed(f"{what}: line {n} is not JSON: {e}: {line[:120]!r}")
    return out


class Campaign:
    """The store after the campaign, shared by the checks."""
    store = None
    records = None


def check_campaign(root):
    """Three simulated annotators complete every record with exactly 3 distinct responses."""
    records = oasst_records()
    expect(len(records) >= 50, f"only {len(records)} prompts with 3 ranked replies")
    st = Store(os.path.join(root, "store"))
    st.create_dataset("oasst", SETTINGS)
    st.import_records("oasst", records)
    with Server(st.path, log_level="info") as srv:
        results = {}
        threads = [threading.Thread(target=run_bot, args=(srv.endpoint, name, seed, results))
                   for name, seed in BOTS.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join(BOT_TIMEOUT_S + 10)
        expect_eq(sorted(results), sorted(BOTS), "bots finished")
        for name, (rc, err) in sorted(results.items()):
            expect_eq(rc, 0, f"{name} exit ({err.strip()[-400:]})")
            m = SUMMARY.search(err)
            expect(m is not None, f"{name}: no summary line:\n{err}")
            expect_eq(tuple(int(x) for x in m.groups()), (len(records), 0, 0, 0),
                      f"{name}: answered, discarded, released, errors")
    status = st.status("oasst")
    expect_eq((status["records"], status["completed"], status["responses"]["submitted"]),
              (len(records), len(records), 3 * len(records)), "status after the campaign")
    Campaign.store, Campaign.records = st, records
    print(f"campaign: {len(records)} records, {3 * len(records)} responses", flush=True)


def check_dpo(root):
    """consolidate (Borda), then dpo best-worst and --pairs all equal the pairs of a Python Borda."""
    del root
    st, records = Campaign.store, Campaign.records
    expect(st is not None, "the campaign ran")
    summary = json.loads(run_jury(st.path, "consolidate", "oasst", "--json").stdout)
    n = len(records)
    expect_eq((summary["records"], summary["accepted"], summary["rejected"], summary["pending"]),
              (n, n, 0, 0), "consolidate: records, accepted, rejected, pending")
    expect_eq(summary["methods"], {"preference": "borda"}, "consolidate: methods")
    expect_eq(sorted(summary["annotators"]), sorted(BOTS), "consolidate: annotators")

    responses = jsonl(run_jury(st.path, "export", "oasst", "--format", "responses").stdout, "responses")
    expect_eq(len(responses), 3 * n, "responses lines")
    by_record = {}
    for r in responses:
        expect_eq(r["status"], "submitted", f"{r['record']}: status")
        by_record.setdefault(r["record"], {})[r["annotator"]] = r["values"]["preference"]
    unified = {}
    wrong = ties = 0
    for rec in records:
        answers = by_record.get(rec["id"], {})
        expect_eq(sorted(answers), sorted(BOTS), f"{rec['id']}: annotators")
        truth = rec["suggestions"]["preference"]["value"]
        unified[rec["id"]] = borda(list(answers.values()), truth)
        wrong += sum(1 for a in answers.values() if a != truth)
        means = [sum(a.index(v) for a in answers.values()) for v in CANDIDATES]
        ties += len(set(means)) < len(means)
    # Enough wrong answers that the vote decides something (with 3 answers that swap at most one
    # neighbouring pair, a Borda tie needs 3 wrong answers of a record: rare, so not asserted).
    print(f"{wrong} of {3 * n} answers differ from the OASST order; {ties} records with a Borda tie",
          flush=True)
    expect(wrong >= 0.1 * 3 * n, f"only {wrong} wrong answers of {3 * n} at error=0.2")

    # records: the stored unified ranking is the Python Borda.
    exported = jsonl(run_jury(st.path, "export", "oasst", "--format", "records").stdout, "records")
    expect_eq([r["id"] for r in exported], [r["id"] for r in records], "records in import order")
    for r in exported:
        expect_eq((r["decision"], r["reason"]), ("accepted", None), f"{r['id']}: decision")
        expect_eq(r["unified"], {"preference": unified[r["id"]]}, f"{r['id']}: unified ranking")

    # dpo, best against worst: one line per accepted record, in import order.
    p = run_jury(st.path, "export", "oasst", "--format", "dpo")
    lines = jsonl(p.stdout, "dpo")
    expect_eq(len(lines), summary["accepted"], "dpo lines = accepted records")
    expect(f"exported {n} lines to standard output (accepted {n}, rejected 0, pending 0; "
           f"0 accepted without a line)" in p.stderr, f"dpo summary line: {p.stderr!r}")
    for rec, line in zip(records, lines):
        f, order = rec["fields"], unified[rec["id"]]
        want = {"prompt": f["prompt"], "chosen": f[order[0]], "rejected": f[order[-1]]}
        expect_eq(list(line), ["prompt", "chosen", "rejected"], f"{rec['id']}: dpo keys")
        expect_eq(line, want, f"{rec['id']}: dpo line")

    # --pairs all: every (better, worse) pair, 3 per record.
    lines = jsonl(run_jury(st.path, "export", "oasst", "--format", "dpo", "--pairs", "all").stdout, "dpo all")
    expect_eq(len(lines), 3 * summary["accepted"], "dpo --pairs all lines = 3 x accepted records")
    for i, rec in enumerate(records):
        f, order = rec["fields"], unified[rec["id"]]
        want = [{"prompt": f["prompt"], "chosen": f[order[a]], "rejected": f[order[b]]}
                for a in range(3) for b in range(a + 1, 3)]
        got = lines[3 * i:3 * i + 3]
        # The pairs of a record are consecutive; compare them as a set, then report their order.
        key = lambda d: (d["chosen"], d["rejected"])  # noqa: E731
        expect_eq(sorted(got, key=key), sorted(want, key=key), f"{rec['id']}: dpo --pairs all")
        expect_eq(got, want, f"{rec['id']}: dpo --pairs all order (best-second, best-worst, second-worst)")

    best = sum(1 for rec in records
               if unified[rec["id"]][0] == rec["suggestions"]["preference"]["value"][0])
    whole = sum(1 for rec in records if unified[rec["id"]] == rec["suggestions"]["preference"]["value"])
    print(f"unified best reply = OASST best in {best} of {n} records ({best / n:.1%}); "
          f"whole ranking = OASST order in {whole} of {n} ({whole / n:.1%})", flush=True)
    expect(best >= 0.9 * n, f"unified best = OASST best in only {best} of {n} records")


def main():
    checks = Checks("test_dpo_oasst")
    for path, what in ((OASST, "reference data (set JURY_SHARED_DATA)"), (JUROR_BIN, "juror (set JUROR_BIN)")):
        if not os.path.exists(path):
            print(f"no {what} at {path}", flush=True)
            print("0 passed, 1 failed", flush=True)
            return 1
    root = make_tmpdir("dpo-oasst-")
    try:
        if checks.run("campaign", check_campaign, root):
            checks.run("dpo", check_dpo, root)
    finally:
        rc = checks.finish()
        if rc == 0:
            rmtree(root)
        else:
            print(f"kept {root} for inspection", flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
