"""test_export_formats: `jury consolidate` and every `jury export` format on one small dataset with every question type: keys and types of each line, exact lines, splits, the records round trip, and bad input."""

# The dataset: five text fields (an instruction, an optional context, three
# candidate answers named by a ranking question) and one question of every
# type. Responses are imported as pre-existing ones (min_submitted 2); one
# annotator saves a draft through a real `jury serve`, which `responses` lists
# and `records` leaves out. The acceptance rules reject one record per rule,
# and one record whose responses leave a rule's question (the optional flags)
# unanswered. Every expected value below is derived by hand from the README's
# definitions ("Consolidation", "Export"); the comments next to the records
# give the arithmetic. The split parts are predicted here from the README's
# split rule (FNV-1a-64 and fmix64).

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jurytest import (Checks, CheckFailed, Peer, Server, Store, expect, expect_eq,  # noqa: E402
                      make_tmpdir, rmtree, run_jury)

CANDS = ["answer_a", "answer_b", "answer_c"]
FIELDS = [{"name": "instruction", "type": "text"},
          {"name": "context", "type": "text", "required": False}] + \
         [{"name": c, "type": "text"} for c in CANDS]
QUESTIONS = [
    {"name": "reply", "type": "text"},
    {"name": "quality", "type": "rating", "values": [1, 2, 3, 4, 5]},
    {"name": "topic", "type": "label_selection", "labels": ["billing", "shipping", "other"]},
    {"name": "flags", "type": "multi_label_selection", "labels": ["rude", "wrong", "vague"], "required": False},
    {"name": "best", "type": "ranking", "values": CANDS},
    {"name": "ents", "type": "span", "field": "instruction", "labels": ["order", "product"], "required": False},
]
QNAMES = [q["name"] for q in QUESTIONS]
POLICY = {"methods": {"quality": "mean"},
          "accept": {"min_agreement": {"topic": 0.5, "flags": 0},
                     "min_value": {"quality": 3},
                     "require": {"topic": ["billing", "shipping"]}}}
SETTINGS = {"guidelines": "Correct the reply, rate it, tag it and rank the three answers.",
            "fields": FIELDS, "questions": QUESTIONS,
            "metadata": [{"name": "source", "type": "terms"}],
            "distribution": {"min_submitted": 2},
            "consolidation": POLICY}
METHODS = {"reply": "medoid", "quality": "mean", "topic": "majority", "flags": "majority", "best": "borda",
           "ents": "majority"}

REASONS = {
    "r03": '"quality" below min_value 3',
    "r04": 'agreement on "topic" below min_agreement 0.5',
    "r05": '"topic" not one of the required labels: billing, shipping',
    "r06": 'no submitted answer to "flags"',
}

KEYS = {
    "sft": ["prompt", "completion"],
    "sft-messages": ["messages"],
    "dpo": ["prompt", "chosen", "rejected"],
    "rm": ["chosen", "rejected"],
    "coh": ["text"],
    "records": ["id", "fields", "metadata", "suggestions", "responses", "status", "unified", "decision", "reason",
                "reviewed_by", "reviewed_ms", "review_note"],
    "responses": ["record", "annotator", "status", "values", "updated_ms"],
}
META_KEYS = ["id", "annotators", "agreement", "method", "reviewed_by"]
TRAINING = ["sft", "sft-messages", "dpo", "rm", "coh"]


def answer(reply, quality, topic, best, flags=None, ents=None):
    v = {"reply": reply, "quality": quality, "topic": topic, "best": best}
    if flags is not None:
        v["flags"] = flags
    if ents is not None:
        v["ents"] = ents
    return v


def record(rid, instruction, answers, context=None, suggestions=None, metadata=None, cands=None):
    fields = {"instruction": instruction}
    if context is not None:
        fields["context"] = context
    for c, text in zip(CANDS, cands or [f"{rid} first answer", f"{rid} second answer", f"{rid} third answer"]):
        fields[c] = text
    r = {"id": rid, "fields": fields}
    if metadata:
        r["metadata"] = metadata
    if suggestions:
        r["suggestions"] = suggestions
    responses = {}
    for ann, values in answers.items():
        for q in QNAMES:  # settings order, as `jury export --format records` writes them
            if q in values:
                responses.setdefault(q, []).append({"value": values[q], "user_id": ann})
    r["responses"] = responses
    return r


ABC = ["answer_a", "answer_b", "answer_c"]
ORDER_4417 = [{"start": 31, "end": 35, "label": "order"}]
R01_REPLY = "Sorry for the double charge; we refunded order 4417."
R09_REPLY = "Elle arrive \u2014 demain \u2713."

RECORDS = [
    # Accepted. quality (4 + 5) / 2 = 4.5 rounds half up to 5. best: b has mean rank 1; a and c
    # 2.5 each, tied with no suggestion for best: value order, a before c. The reply's suggestion
    # differs from the answer: an edits pair.
    record("r01", "I was charged twice for order 4417.", {
        "alice": answer(R01_REPLY, 4, "billing", ["answer_b", "answer_a", "answer_c"], ["vague"], ORDER_4417),
        "bob": answer(R01_REPLY, 5, "billing", ["answer_b", "answer_c", "answer_a"], ["vague"], ORDER_4417)},
        context="Customer since 2019.", metadata={"source": "mail"},
        suggestions={"reply": {"value": "Sorry about that.", "score": 0.5, "agent": "draft-v1"}},
        cands=["Refund issued.", "We refunded the second charge for order 4417.", "Not our problem."]),
    # Accepted. best: a, b, c all have mean rank 2: the suggestion's order c, a, b decides.
    # flags: each label held by exactly half and not by the (absent) suggestion: none kept. The
    # reply equals its suggestion: no edits pair.
    record("r02", "Where is my parcel?", {
        "alice": answer("Your parcel ships tomorrow.", 3, "shipping", ABC, ["rude"], []),
        "bob": answer("Your parcel ships tomorrow.", 3, "shipping", ["answer_c", "answer_b", "answer_a"],
                      ["wrong"], [])},
        suggestions={"reply": {"value": "Your parcel ships tomorrow."},
                     "best": {"value": ["answer_c", "answer_a", "answer_b"]}}),
    # Rejected: quality (1 + 2) / 2 = 1.5 rounds to 2, below min_value 3.
    record("r03", "Low quality.", {"alice": answer("x", 1, "billing", ABC, ["wrong"]),
                                   "bob": answer("x", 2, "billing", ABC, ["wrong"])}),
    # Rejected: the two topics differ, agreement 0 < 0.5.
    record("r04", "Mixed topics.", {"alice": answer("x", 4, "billing", ABC, ["wrong"]),
                                    "bob": answer("x", 4, "shipping", ABC, ["wrong"])}),
    # Rejected: the topic is "other", not in require.
    record("r05", "Other topic.", {"alice": answer("x", 4, "other", ABC, ["wrong"]),
                                   "bob": answer("x", 4, "other", ABC, ["wrong"])}),
    # Rejected, not dropped: nobody answered flags, which min_agreement names.
    record("r06", "No flags.", {"alice": answer("x", 4, "billing", ABC),
                                "bob": answer("x", 4, "billing", ABC)}),
    # Pending: one submitted response of the two needed (and dave's draft, added while serving).
    record("r07", "Pending.", {"alice": answer("x", 4, "billing", ABC, ["wrong"])}),
    # Accepted, three annotators. reply: the two equal answers are the medoid. quality
    # (4 + 4 + 2) / 3 = 3.33 -> 3. flags: "wrong" 2 of 3 kept, "vague" 1 of 3 not. best mean
    # ranks a (1+1+2)/3, b (2+3+1)/3, c (3+2+3)/3: a, b, c. No suggestion: no edits pair.
    record("r08", "How do I reset my password?", {
        "alice": answer("Reset it from the login page.", 4, "billing", ABC, ["wrong"]),
        "bob": answer("Reset it from the login page.", 4, "billing", ["answer_a", "answer_c", "answer_b"],
                      ["wrong"]),
        "carol": answer("Call us.", 2, "billing", ["answer_b", "answer_a", "answer_c"], ["vague"])}),
    # Accepted; non-ASCII text everywhere. Edit distance to the suggestion: 11 of 23 code points.
    record("r09", "O\u00f9 est ma commande n\u00b0 12 ? \U0001F4E6", {
        "alice": answer(R09_REPLY, 5, "shipping", ABC, ["wrong"]),
        "bob": answer(R09_REPLY, 5, "shipping", ABC, ["wrong"])},
        suggestions={"reply": {"value": "Elle arrive."}}),
] + [
    # Fillers, all accepted, so that a split has something to split.
    record(f"g{i:02d}", f"Filler question {i}?", {
        "alice": answer(f"Filler reply {i}.", 4, "billing", ABC, ["wrong"]),
        "bob": answer(f"Filler reply {i}.", 4, "billing", ABC, ["wrong"])})
    for i in range(1, 25)
]
BY_ID = {r["id"]: r for r in RECORDS}
ACCEPTED = [r["id"] for r in RECORDS if r["id"] not in REASONS and r["id"] != "r07"]

UNIFIED = {
    "r01": {"reply": R01_REPLY, "quality": 5, "topic": "billing", "flags": ["vague"],
            "best": ["answer_b", "answer_a", "answer_c"], "ents": ORDER_4417},
    "r02": {"reply": "Your parcel ships tomorrow.", "quality": 3, "topic": "shipping", "flags": [],
            "best": ["answer_c", "answer_a", "answer_b"], "ents": []},
    "r08": {"reply": "Reset it from the login page.", "quality": 3, "topic": "billing", "flags": ["wrong"],
            "best": ABC},
    "r09": {"reply": R09_REPLY, "quality": 5, "topic": "shipping", "flags": ["wrong"], "best": ABC},
}
for _i in range(1, 25):
    UNIFIED[f"g{_i:02d}"] = {"reply": f"Filler reply {_i}.", "quality": 4, "topic": "billing",
                             "flags": ["wrong"], "best": ABC}


# ---------------------------------------------------------------------------
# Helpers

def read_lines(text, what):
    """Each line through json.loads; a line that is not one JSON object fails."""
    out = []
    expect(text == "" or text.endswith("\n"), f"{what}: output ends with a newline")
    for n, line in enumerate(text.split("\n")[:-1], 1):
        try:
            obj = json.loads(line)
        except ValueError as e:
            raise CheckFailed(f"{what}: line {n} is not JSON: {e}: {line[:120]!r}")
        expect(isinstance(obj, dict), f"{what}: line {n} is not an object")
        out.append(obj)
    return out


def export(store, *args, name="all"):
    """`jury export NAME ARGS` as (lines, stdout, stderr)."""
    p = run_jury(store, "export", name, *args)
    return read_lines(p.stdout, " ".join(args)), p.stdout, p.stderr


def is_num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def is_str(x):
    return isinstance(x, str)


def levenshtein(a, b):
    """Edit distance over code points."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def norm_edit(a, b):
    return levenshtein(a, b) / max(len(a), len(b), 1)


M64 = (1 << 64) - 1


def split_u(rid, seed):
    """README "The split rule": u = fmix64(FNV-1a-64(id) ^ seed) >> 11, scaled by 2^-53."""
    h = 0xcbf29ce484222325
    for byte in rid.encode():
        h = ((h ^ byte) * 0x100000001b3) & M64
    k = h ^ seed
    k ^= k >> 33
    k = (k * 0xff51afd7ed558ccd) & M64
    k ^= k >> 33
    k = (k * 0xc4ceb9fe1a85ec53) & M64
    k ^= k >> 33
    return (k >> 11) * 2.0 ** -53


def expect_meta(meta, rid, what):
    expect_eq(list(meta), META_KEYS, f"{what}: meta keys")
    expect_eq(meta["id"], rid, f"{what}: meta id")
    anns = sorted(BY_ID[rid]["responses"]["reply"], key=lambda x: x["user_id"])
    expect_eq(meta["annotators"], [a["user_id"] for a in anns], f"{what}: meta annotators")
    expect(isinstance(meta["agreement"], dict), f"{what}: meta agreement is an object")
    answered = [q for q in QNAMES if q in BY_ID[rid]["responses"]]
    expect_eq(list(meta["agreement"]), answered, f"{what}: agreement per answered question, in order")
    for q, v in meta["agreement"].items():
        expect(is_num(v) and 0 <= v <= 1, f"{what}: agreement {q} = {v!r}")
    expect_eq(meta["method"], METHODS, f"{what}: meta method")
    expect_eq(list(meta["method"]), QNAMES, f"{what}: method in question order")


# ---------------------------------------------------------------------------
# The fixture: a store with the dataset, the draft, and one consolidation

class Fixture:
    store = None
    summary = None


def check_setup(root):
    """Import, a draft through `jury serve`, then `jury consolidate` with the settings' policy."""
    st = Store(os.path.join(root, "store"))
    st.create_dataset("all", SETTINGS)
    st.import_records("all", RECORDS)
    with Server(st.path, log_level="info") as srv:
        dave = Peer(srv.endpoint, name="dave")
        try:
            dave.hello("dave", "all")
            ids = [r["id"] for r in dave.fetch(10)]
            expect_eq(ids, ["r07"], "the only record left to answer")
            res = dave.submit([{"record": "r07", "status": "draft", "values": {"reply": "a draft"}}])
            expect_eq(res[0]["ok"], True, f"draft stored: {res}")
        finally:
            dave.close()
    p = run_jury(st.path, "consolidate", "all")
    n, acc = len(RECORDS), len(ACCEPTED)
    expect(p.stdout.startswith(f"dataset all: {acc} accepted, 4 rejected, 1 pending\n"),
           f"consolidate summary:\n{p.stdout}")
    expect("methods: reply=medoid quality=mean topic=majority flags=majority best=borda ents=majority\n"
           in p.stdout, f"consolidate methods line:\n{p.stdout}")
    summary = json.loads(run_jury(st.path, "consolidate", "all", "--json").stdout)
    expect_eq(list(summary), ["dataset", "records", "accepted", "rejected", "pending", "reviewed", "methods", "rules",
                              "rejections", "annotators", "consolidated_ms"], "summary keys")
    expect_eq((summary["records"], summary["accepted"], summary["rejected"], summary["pending"]),
              (n, acc, 4, 1), "records, accepted, rejected, pending")
    expect_eq(summary["methods"], METHODS, "methods")
    expect_eq(summary["rules"], ["min_agreement topic 0.5", "min_agreement flags 0", "min_value quality 3",
                                 "require topic billing, shipping"], "rules, by kind then question")
    expect_eq(sorted((x["reason"], x["records"]) for x in summary["rejections"]),
              sorted((why, 1) for why in REASONS.values()), "rejections")
    expect_eq(sorted(summary["annotators"]), ["alice", "bob", "carol"], "annotators (not dave: a draft)")
    expect(is_num(summary["consolidated_ms"]), "consolidated_ms is a number")
    Fixture.store, Fixture.summary = st, summary


def fixture():
    expect(Fixture.store is not None, "the setup check passed")
    return Fixture.store


# ---------------------------------------------------------------------------
# Checks

def check_records_and_responses(root):
    """records: every record, decided, exact unified values; responses: every response, drafts too."""
    del root
    st = fixture()
    lines, text, err = export(st.path, "--format", "records")
    n = len(RECORDS)
    expect_eq(err, f"exported {n} lines to standard output (accepted {len(ACCEPTED)}, rejected 4, "
              "pending 1; 0 accepted without a line)\n", "records summary line")
    expect_eq([r["id"] for r in lines], [r["id"] for r in RECORDS], "every record, in import order")
    for got in lines:
        rid = got["id"]
        src = BY_ID[rid]
        expect_eq(list(got), KEYS["records"], f"{rid}: keys")
        for k in ("fields", "metadata", "suggestions", "responses", "unified"):
            expect(isinstance(got[k], dict), f"{rid}: {k} is an object")
        expect_eq(got["fields"], src["fields"], f"{rid}: fields")
        expect_eq(list(got["fields"]), [f["name"] for f in FIELDS if f["name"] in src["fields"]],
                  f"{rid}: fields in settings order")
        expect_eq(got["metadata"], src.get("metadata", {}), f"{rid}: metadata")
        expect_eq(got["suggestions"], src.get("suggestions", {}), f"{rid}: suggestions")
        # Only submitted responses: dave's draft on r07 is not there.
        expect_eq(got["responses"], src["responses"], f"{rid}: responses")
        expect_eq(list(got["responses"]), [q for q in QNAMES if q in src["responses"]],
                  f"{rid}: responses in question order")
        if rid == "r07":
            expect_eq((got["status"], got["unified"], got["decision"], got["reason"]),
                      ("pending", {}, "pending", None), "r07: pending")
            continue
        expect_eq(got["status"], "completed", f"{rid}: status")
        if rid in REASONS:
            expect_eq((got["decision"], got["reason"]), ("rejected", REASONS[rid]), f"{rid}: rejected")
        else:
            expect_eq((got["decision"], got["reason"]), ("accepted", None), f"{rid}: accepted")
            expect_eq(got["unified"], UNIFIED[rid], f"{rid}: unified")
            expect_eq(list(got["unified"]), [q for q in QNAMES if q in UNIFIED[rid]], f"{rid}: unified order")
    # A rejected record is decided like any other: its unified values are there.
    r = {x["id"]: x for x in lines}
    expect_eq(r["r03"]["unified"]["quality"], 2, "r03: (1 + 2) / 2 rounds half up to 2")
    expect_eq(r["r04"]["unified"]["topic"], "billing", "r04: a tie between equally reliable annotators goes to the first label")
    expect("flags" not in r["r06"]["unified"], "r06: no unified flags")
    # --with-meta does not apply to records: refused, nothing written.
    r = run_jury(st.path, "export", "all", "--format", "records", "--with-meta", check=False)
    expect_eq(r.returncode, 2, "records --with-meta: exit")
    expect("--with-meta applies to" in r.stderr, "records --with-meta: message")

    lines, text, _ = export(st.path, "--format", "responses")
    want = [(rid, ann) for r in RECORDS for rid in [r["id"]]
            for ann in sorted({x["user_id"] for v in r["responses"].values() for x in v})]
    want.insert(want.index(("r07", "alice")) + 1, ("r07", "dave"))
    expect_eq([(x["record"], x["annotator"]) for x in lines], want, "one line per response, records in order")
    for x in lines:
        what = f"responses {x['record']}/{x['annotator']}"
        expect_eq(list(x), KEYS["responses"], f"{what}: keys")
        expect(is_str(x["record"]) and is_str(x["annotator"]), f"{what}: record and annotator are strings")
        expect(isinstance(x["updated_ms"], int) and x["updated_ms"] > 1.6e12, f"{what}: updated_ms {x['updated_ms']}")
        if x["annotator"] == "dave":
            expect_eq((x["status"], x["values"]), ("draft", {"reply": "a draft"}), "dave's draft")
            continue
        expect_eq(x["status"], "submitted", f"{what}: status")
        src = BY_ID[x["record"]]["responses"]
        want_values = {q: v["value"] for q, vs in src.items() for v in vs if v["user_id"] == x["annotator"]}
        # (values keep the order they were stored in; compare as a mapping)
        expect_eq(x["values"], want_values, f"{what}: values")
    r = run_jury(st.path, "export", "all", "--format", "responses", "--with-meta", check=False)
    expect_eq(r.returncode, 2, "responses --with-meta: exit")


def check_training_formats(root):
    """sft, sft-messages, dpo, rm, coh with and without --with-meta: keys, types, exact lines."""
    del root
    st = fixture()
    acc = len(ACCEPTED)
    prompt = {rid: BY_ID[rid]["fields"]["instruction"] for rid in ACCEPTED}

    def best_worst(rid):
        f, order = BY_ID[rid]["fields"], UNIFIED[rid]["best"]
        return f[order[0]], f[order[-1]]

    want = {
        "sft": [{"prompt": prompt[r], "completion": UNIFIED[r]["reply"]} for r in ACCEPTED],
        "sft-messages": [{"messages": [{"role": "user", "content": prompt[r]},
                                       {"role": "assistant", "content": UNIFIED[r]["reply"]}]} for r in ACCEPTED],
        "dpo": [{"prompt": prompt[r], "chosen": best_worst(r)[0], "rejected": best_worst(r)[1]} for r in ACCEPTED],
        "rm": [{"chosen": prompt[r] + "\n\n" + best_worst(r)[0], "rejected": prompt[r] + "\n\n" + best_worst(r)[1]}
               for r in ACCEPTED],
        "coh": [{"text": f"{prompt[r]} A helpful answer: {best_worst(r)[0]} An unhelpful answer: {best_worst(r)[1]}"}
                for r in ACCEPTED],
    }
    for fmt in TRAINING:
        lines, _, err = export(st.path, "--format", fmt)
        expect_eq(err, f"exported {acc} lines to standard output (accepted {acc}, rejected 4, pending 1; "
                  "0 accepted without a line)\n", f"{fmt}: summary line")
        for i, line in enumerate(lines):
            expect_eq(list(line), KEYS[fmt], f"{fmt} line {i + 1}: keys")
            for k, v in line.items():
                if fmt == "sft-messages":
                    expect(isinstance(v, list) and all(list(m) == ["role", "content"] and is_str(m["role"])
                                                       and is_str(m["content"]) for m in v),
                           f"{fmt} line {i + 1}: messages are {{role, content}} strings")
                else:
                    expect(is_str(v), f"{fmt} line {i + 1}: {k} is a string")
        expect_eq(lines, want[fmt], f"{fmt}: lines")
        meta_lines, _, _ = export(st.path, "--format", fmt, "--with-meta")
        expect_eq(len(meta_lines), len(lines), f"{fmt} --with-meta: lines")
        for rid, line, plain in zip(ACCEPTED, meta_lines, lines):
            expect_eq(list(line), KEYS[fmt] + ["meta"], f"{fmt} --with-meta {rid}: keys, meta last")
            expect_eq({k: v for k, v in line.items() if k != "meta"}, plain, f"{fmt} --with-meta {rid}: same line")
            expect_meta(line["meta"], rid, f"{fmt} --with-meta {rid}")

    # A few lines exactly, as text a reader can check.
    sft, _, _ = export(st.path, "--format", "sft", "--with-meta")
    expect_eq(sft[0], {"prompt": "I was charged twice for order 4417.", "completion": R01_REPLY,
                       "meta": {"id": "r01", "annotators": ["alice", "bob"],
                                "agreement": {"reply": 1, "quality": 0, "topic": 1, "flags": 1, "best": 1 - 1 / 3,
                                              "ents": 1},
                                "method": METHODS, "reviewed_by": None}}, "sft --with-meta r01")
    # r08: pairs of (a,b,c), (a,c,b), (b,a,c) agree on 2/3, 2/3, 1/3 of their 3 item pairs: 5/9.
    r08 = sft[ACCEPTED.index("r08")]["meta"]
    expect_eq(r08["annotators"], ["alice", "bob", "carol"], "r08 annotators")
    expect(abs(r08["agreement"]["best"] - 5 / 9) < 1e-12, f"r08 best agreement {r08['agreement']['best']}")
    expect(abs(r08["agreement"]["quality"] - 1 / 3) < 1e-12, f"r08 quality agreement {r08['agreement']}")
    dpo, _, _ = export(st.path, "--format", "dpo")
    expect_eq(dpo[0], {"prompt": "I was charged twice for order 4417.",
                       "chosen": "We refunded the second charge for order 4417.",
                       "rejected": "Not our problem."}, "dpo r01")
    expect_eq(dpo[1], {"prompt": "Where is my parcel?", "chosen": "r02 third answer",
                       "rejected": "r02 second answer"}, "dpo r02: the Borda tie follows the suggestion")
    rm, _, _ = export(st.path, "--format", "rm")
    expect_eq(rm[0], {"chosen": "I was charged twice for order 4417.\n\nWe refunded the second charge for order 4417.",
                      "rejected": "I was charged twice for order 4417.\n\nNot our problem."}, "rm r01")
    coh, _, _ = export(st.path, "--format", "coh", "--coh-template", "Q: {prompt} | good: {chosen} | bad: {rejected}")
    expect_eq(coh[0], {"text": "Q: I was charged twice for order 4417. | good: We refunded the second charge "
                               "for order 4417. | bad: Not our problem."}, "coh --coh-template r01")
    msgs, _, _ = export(st.path, "--format", "sft-messages", "--system", "Be brief.")
    expect_eq(msgs[3], {"messages": [{"role": "system", "content": "Be brief."},
                                     {"role": "user", "content": "O\u00f9 est ma commande n\u00b0 12 ? \U0001F4E6"},
                                     {"role": "assistant", "content": R09_REPLY}]}, "sft-messages --system r09")
    # A template, with an absent optional field (empty) and literal braces.
    tmpl, _, _ = export(st.path, "--format", "sft", "--prompt", "{{ctx}} {context}\n\n{instruction}")
    expect_eq(tmpl[0]["prompt"], "{ctx} Customer since 2019.\n\nI was charged twice for order 4417.", "template r01")
    expect_eq(tmpl[1]["prompt"], "{ctx} \n\nWhere is my parcel?", "template r02 (no context)")
    # --pairs all: every (better, worse) pair of the unified ranking.
    allp, _, _ = export(st.path, "--format", "dpo", "--pairs", "all")
    expect_eq(len(allp), 3 * acc, "dpo --pairs all: 3 pairs per accepted record")
    f = BY_ID["r02"]["fields"]
    expect_eq([(x["chosen"], x["rejected"]) for x in allp[3:6]],
              [(f["answer_c"], f["answer_a"]), (f["answer_c"], f["answer_b"]), (f["answer_a"], f["answer_b"])],
              "dpo --pairs all r02")


def check_edits(root):
    """dpo --source edits: the unified reply against its suggestion, at least --min-edit apart."""
    del root
    st = fixture()
    with_sugg = [r for r in ACCEPTED if "reply" in BY_ID[r].get("suggestions", {})]
    expect_eq(with_sugg, ["r01", "r02", "r09"], "accepted records with a reply suggestion")
    dist = {r: norm_edit(UNIFIED[r]["reply"], BY_ID[r]["suggestions"]["reply"]["value"]) for r in with_sugg}
    expect_eq(dist["r02"], 0.0, "r02: the reply is its suggestion")
    expect(abs(dist["r09"] - 11 / 23) < 1e-12, f"r09 distance {dist['r09']}")
    # r09's 11/23 = 0.478 is a pair at 0.47, none at 0.48.
    for min_edit in (None, 0.47, 0.48):
        args = ["--format", "dpo", "--source", "edits"] + ([] if min_edit is None else ["--min-edit", str(min_edit)])
        lines, _, err = export(st.path, *args)
        threshold = 0.1 if min_edit is None else min_edit
        pairs = [r for r in with_sugg if dist[r] >= threshold]
        want = [{"prompt": BY_ID[r]["fields"]["instruction"], "chosen": UNIFIED[r]["reply"],
                 "rejected": BY_ID[r]["suggestions"]["reply"]["value"]} for r in pairs]
        expect_eq(lines, want, f"dpo {' '.join(args)}")
        acc = len(ACCEPTED)
        expect_eq(err, f"exported {len(want)} lines to standard output (accepted {acc}, rejected 4, pending 1; "
                  f"{acc - len(want)} accepted without a line)\n", f"{args}: summary line")
    lines, _, _ = export(st.path, "--format", "dpo", "--source", "edits", "--with-meta")
    expect_eq([x["meta"]["id"] for x in lines], ["r01", "r09"], "edits --with-meta ids")
    for x in lines:
        expect_eq(list(x), KEYS["dpo"] + ["meta"], "edits --with-meta keys")


def check_split(root):
    """--split train=0.8,test=0.2 --seed 7: files partition the accepted records as the README's rule
    says, and a second run writes the same bytes."""
    st = fixture()
    out = os.path.join(root, "split", "sft.jsonl")
    os.makedirs(os.path.dirname(out))
    want_train = [r for r in ACCEPTED if split_u(r, 7) < 0.8]
    want_test = [r for r in ACCEPTED if split_u(r, 7) >= 0.8]
    expect(want_train and want_test, f"the seed splits the {len(ACCEPTED)} accepted records")
    files = {}
    for fmt, path in (("sft", out), ("dpo", os.path.join(root, "split", "dpo"))):
        p = run_jury(st.path, "export", "all", "--format", fmt, "--with-meta", "--split", "train=0.8,test=0.2",
                     "--seed", 7, "--out", path)
        expect_eq(p.stdout, "", f"{fmt} split: nothing on stdout")
        base, ext = os.path.splitext(path)
        train, test = base + ".train" + ext, base + ".test" + ext
        expect_eq(p.stderr, f"exported {len(ACCEPTED)} lines to {train} ({len(want_train)}) and {test} "
                  f"({len(want_test)}) (accepted {len(ACCEPTED)}, rejected 4, pending 1; 0 accepted without "
                  "a line)\n", f"{fmt} split summary line")
        got = {}
        for part, fname in (("train", train), ("test", test)):
            with open(fname, "rb") as f:
                data = f.read()
            files[fname] = data
            lines = read_lines(data.decode("utf-8"), fname)
            for line in lines:
                expect_eq(list(line), KEYS[fmt] + ["meta"], f"{fname}: keys")
            got[part] = [x["meta"]["id"] for x in lines]
        expect_eq(got["train"], want_train, f"{fmt}: train part (u < 0.8)")
        expect_eq(got["test"], want_test, f"{fmt}: test part (u >= 0.8)")
        expect_eq(sorted(got["train"] + got["test"]), sorted(ACCEPTED), f"{fmt}: the parts partition the accepted")
        expect(not os.path.exists(path) and not os.path.exists(path + ".tmp"), f"{fmt}: no {path} nor .tmp")
    print(f"split seed 7: train {len(want_train)}, test {len(want_test)} of {len(ACCEPTED)}", flush=True)
    # Again: byte-identical.
    for fmt, path in (("sft", out), ("dpo", os.path.join(root, "split", "dpo"))):
        run_jury(st.path, "export", "all", "--format", fmt, "--with-meta", "--split", "train=0.8,test=0.2",
                 "--seed", 7, "--out", path)
    for fname, data in files.items():
        with open(fname, "rb") as f:
            expect(f.read() == data, f"{fname}: a second run writes the same bytes")
    expect_eq(sorted(os.listdir(os.path.dirname(out))),
              ["dpo.test", "dpo.train", "sft.test.jsonl", "sft.train.jsonl"], "files written")
    # Another seed moves some records.
    run_jury(st.path, "export", "all", "--format", "sft", "--with-meta", "--split", "train=0.8,test=0.2",
             "--seed", 8, "--out", out)
    with open(os.path.join(root, "split", "sft.test.jsonl")) as f:
        ids = [x["meta"]["id"] for x in read_lines(f.read(), "seed 8")]
    expect_eq(ids, [r for r in ACCEPTED if split_u(r, 8) >= 0.8], "seed 8: test part")


def check_roundtrip(root):
    """records imports into a new dataset with the same settings and exports the same records again."""
    st = fixture()
    path = os.path.join(root, "records.jsonl")
    run_jury(st.path, "export", "all", "--format", "records", "--out", path)
    expect(not os.path.exists(path + ".tmp"), "no .tmp left")
    run_jury(st.path, "dataset", "create", "copy", "--settings", write_settings(root, SETTINGS))
    p = run_jury(st.path, "import", "copy", path)
    expect(f"imported {len(RECORDS)} records ({len(RECORDS)} new, 0 updated, " in p.stdout, f"import: {p.stdout}")
    with open(path) as f:
        first = read_lines(f.read(), "records")
    again, _, err = export(st.path, "--format", "records", name="copy")
    expect("has never been consolidated" in err, f"warning before consolidating the copy: {err!r}")
    same = ["id", "fields", "metadata", "suggestions", "responses", "status"]
    expect_eq([{k: r[k] for k in same} for r in again], [{k: r[k] for k in same} for r in first],
              "round trip: id, fields, metadata, suggestions, responses, status")
    for r in again:
        expect_eq((r["unified"], r["decision"]), ({}, "pending"), f"copy {r['id']}: not decided yet")
    # Consolidated, the copy decides exactly as the original (the draft was never part of it).
    run_jury(st.path, "consolidate", "copy")
    decided, _, _ = export(st.path, "--format", "records", name="copy")
    expect_eq(decided, first, "the consolidated copy exports the same records")
    # Importing the export again changes nothing.
    run_jury(st.path, "import", "copy", path)
    _, text, _ = export(st.path, "--format", "records", name="copy")
    with open(path) as f:
        expect_eq(text, f.read(), "re-import: the same bytes")


def write_settings(root, settings, name="settings.json"):
    path = os.path.join(root, name)
    with open(path, "w") as f:
        json.dump(settings, f)
    return path


def expect_exit2(store, args, message, what, out=None):
    p = run_jury(store, *args, check=False)
    expect_eq(p.returncode, 2, f"{what}: exit ({p.stderr.strip()})")
    expect_eq(p.stdout, "", f"{what}: nothing on stdout")
    expect_eq(p.stderr, message + "\n", f"{what}: message")
    if out is not None:
        expect(not os.path.exists(out) and not os.path.exists(out + ".tmp"), f"{what}: no {out} written")


def check_bad_input(root):
    """Bad formats, templates, questions and methods: exit 2 with a message naming what is wrong."""
    st = fixture()
    out = os.path.join(root, "out.jsonl")
    fields = "instruction, context, answer_a, answer_b, answer_c"
    for args, msg in [
        (["--format", "csv"], "jury: export: --format: 'csv' is not sft, sft-messages, dpo, rm, coh, records or "
                              "responses"),
        (["--format", "sft", "--prompt", "{input}"],
         f'jury: export: --prompt: dataset all has no field "input"; its fields are: {fields}'),
        (["--format", "dpo", "--prompt", "{instruction} {input}"],
         f'jury: export: --prompt: dataset all has no field "input"; its fields are: {fields}'),
        (["--format", "sft", "--prompt", "{instruction"],
         'jury: export: --prompt: unclosed "{" at byte 1 (write "{{" for a brace)'),
        (["--format", "sft", "--completion", "quality"],
         'jury: export: --completion: "quality" is a rating question, not a text question; the text questions '
         'are: reply'),
        (["--format", "sft", "--completion", "nope"],
         'jury: export: --completion: dataset all has no question "nope"; its text questions are: reply'),
        (["--format", "dpo", "--source", "edits", "--completion", "topic"],
         'jury: export: --completion: "topic" is a label_selection question, not a text question; the text '
         'questions are: reply'),
        (["--format", "dpo", "--ranking", "topic"],
         'jury: export: --ranking: "topic" is not a ranking question whose values all name text fields of '
         'dataset all'),
    ]:
        expect_exit2(st.path, ["export", "all", *args, "--out", out], msg, f"export {' '.join(args)}", out)

    # A dataset with neither a ranking question nor a text question: nothing to contrast.
    rate = {"fields": [{"name": "text", "type": "text"}],
            "questions": [{"name": "score", "type": "rating", "values": [1, 2, 3]}]}
    run_jury(st.path, "dataset", "create", "rate", "--settings", write_settings(root, rate, "rate.json"))
    st.import_records("rate", [{"id": "a", "fields": {"text": "t"},
                                "responses": {"score": [{"value": 2, "user_id": "u"}]}}])
    run_jury(st.path, "consolidate", "rate")
    for fmt in ("dpo", "rm", "coh"):
        expect_exit2(st.path, ["export", "rate", "--format", fmt, "--out", out],
                     "jury: export: dataset rate has no ranking question whose values name fields and no text "
                     f"question: nothing to contrast for {fmt}", f"{fmt} on rate", out)
    expect_exit2(st.path, ["export", "rate", "--format", "sft", "--out", out],
                 "jury: export: dataset rate has no text question to take completions from", "sft on rate", out)
    lines, _, _ = export(st.path, "--format", "records", name="rate")
    expect_eq([(x["id"], x["unified"], x["decision"]) for x in lines], [("a", {"score": 2}, "accepted")],
              "rate: records still export")

    # consolidate --method: unknown question, a method of another type, an unknown method.
    for arg, msg in [
        ("colour=majority", 'jury: consolidate: --method: dataset "all" has no question "colour"'),
        ("topic=borda", 'jury: consolidate: --method: borda is not a method for "topic" (use one of: majority, '
                        'weighted, dawid_skene, disagreement)'),
        ("topic=nonsense", "jury: consolidate: --method topic=nonsense: unknown method (methods: majority, "
                           "weighted, dawid_skene, disagreement, mean, median, min, max, borda, medoid, "
                           "best_annotator)"),
        ("topic", "jury: consolidate: --method 'topic': expected QUESTION=METHOD"),
    ]:
        expect_exit2(st.path, ["consolidate", "all", "--method", arg], msg, f"--method {arg}")
    # ... and the decisions stored before are untouched.
    lines, _, _ = export(st.path, "--format", "records")
    expect_eq(sum(1 for x in lines if x["decision"] == "accepted"), len(ACCEPTED), "decisions kept")

    # A consolidation section naming an unknown question: dataset create exits 2, nothing created.
    for section, pointer in [({"methods": {"colour": "majority"}}, "/consolidation/methods/colour"),
                             ({"accept": {"min_agreement": {"colour": 0.5}}},
                              "/consolidation/accept/min_agreement/colour"),
                             ({"accept": {"require": {"colour": ["billing"]}}},
                              "/consolidation/accept/require/colour")]:
        bad = dict(SETTINGS, consolidation=section)
        path = write_settings(root, bad, "bad.json")
        expect_exit2(st.path, ["dataset", "create", "bad", "--settings", path],
                     f'jury: {path}: {pointer}: unknown question "colour"; the dataset has questions: '
                     + ", ".join(QNAMES), f"create with {section}")
    names = [d["name"] for d in json.loads(run_jury(st.path, "dataset", "list", "--json").stdout)]
    expect("bad" not in names, f"no dataset created: {names}")


def main():
    checks = Checks("test_export_formats")
    root = make_tmpdir("export-")
    try:
        if checks.run("setup_and_consolidate", check_setup, root):
            for name, fn in [("records_and_responses", check_records_and_responses),
                             ("training_formats", check_training_formats),
                             ("edits", check_edits),
                             ("split", check_split),
                             ("records_roundtrip", check_roundtrip),
                             ("bad_input", check_bad_input)]:
                if len(sys.argv) > 1 and name not in sys.argv[1:]:
                    continue
                d = os.path.join(root, name)
                os.makedirs(d)
                checks.run(name, fn, d)
    finally:
        rc = checks.finish()
        if rc == 0:
            rmtree(root)
        else:
            print(f"kept {root} for inspection", flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
