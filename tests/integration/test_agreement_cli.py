"""test_agreement_cli: `jury agreement` end to end: from a store (also while `jury serve` runs), offline from --responses/--settings, the text and HTML files, and bad input."""

# The numbers come from published worked examples and from hand computations:
# Krippendorff (2011) "Computing Krippendorff's Alpha-Reliability", example C
# (../shared/data/agreement/krippendorff2011_C_4obs_12units.tsv, 4 observers x
# 12 units with missing values) is loaded as a rating question 1..5 and must
# give the published alpha at every level: nominal 0.743, ordinal 0.815,
# interval 0.849, ratio 0.797. The small all-types dataset below has the values
# derived step by step in tests/test_report.c.

import html.parser
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jurytest import (Checks, CheckFailed, Peer, Server, Store, expect, expect_eq,  # noqa: E402
                      make_tmpdir, rmtree, run_jury)

SHARED = os.environ.get("JURY_SHARED_DATA") or os.path.join(
    os.path.dirname(os.environ.get("JURY_SOURCE_DIR") or "."), "shared", "data")
KRIPP_C = os.path.join(SHARED, "agreement", "krippendorff2011_C_4obs_12units.tsv")

RATING_SETTINGS = {"fields": [{"name": "text", "type": "text"}],
                   "questions": [{"name": "score", "type": "rating", "values": [1, 2, 3, 4, 5]}],
                   "distribution": {"min_submitted": 2}}

ALL_SETTINGS = {
    "fields": [{"name": "text", "type": "text"}],
    "questions": [
        {"name": "label", "type": "label_selection", "labels": ["a", "b"]},
        {"name": "tags", "type": "multi_label_selection", "labels": ["p", "q", "r"], "required": False},
        {"name": "order", "type": "ranking", "values": ["a", "b", "c"], "required": False},
        {"name": "reply", "type": "text", "required": False},
        {"name": "ents", "type": "span", "field": "text", "labels": ["e", "f"], "required": False}],
    "distribution": {"min_submitted": 2}}

# record -> annotator -> values; x and y answer r1..r3 (r4: spans only matter).
ALL_ANSWERS = {
    "r1": {"x": {"label": "a", "tags": ["p"], "order": ["a", "b", "c"], "reply": "abc",
                 "ents": [{"start": 0, "end": 3, "label": "e"}]},
           "y": {"label": "a", "tags": ["p"], "order": ["a", "b", "c"], "reply": "abc",
                 "ents": [{"start": 0, "end": 3, "label": "e"}]}},
    "r2": {"x": {"label": "a", "tags": ["q", "p"], "order": ["a", "b", "c"], "reply": "abcd",
                 "ents": [{"start": 0, "end": 4, "label": "e"}]},
           "y": {"label": "b", "tags": ["p"], "order": ["c", "b", "a"], "reply": "abce",
                 "ents": [{"start": 2, "end": 6, "label": "e"}]}},
    "r3": {"x": {"label": "b", "tags": ["q"], "order": ["a", "b", "c"], "reply": "kitten",
                 "ents": [{"start": 0, "end": 2, "label": "e"}]},
           "y": {"label": "b", "tags": ["r"], "order": ["b", "a", "c"], "reply": "sitting",
                 "ents": [{"start": 0, "end": 2, "label": "f"}]}},
    "r4": {"x": {"label": "b", "ents": []}, "y": {"label": "b", "ents": []}},
}

# What those answers must give (hand-computed in tests/test_report.c).
ALL_EXPECTED = {
    "label": {"level": "nominal", "percent_agreement": 0.75, "records": 4, "responses": 8},
    "tags": {"level": "masi", "alpha": 0.21875, "percent_agreement": 0.333333},
    "order": {"level": "kendall_tau", "alpha": -0.111111},
    "reply": {"level": "edit_distance", "alpha": 0.643304, "mean_similarity": 0.77381},
    "ents": {"mean_f1": 0.625, "percent_agreement": 0.5, "records": 4},
}


def kripp_c():
    """Example C as {unit: {observer: value}}, missing values left out."""
    with open(KRIPP_C) as f:
        rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    units = rows[0][1:]
    data = {u: {} for u in units}
    for row in rows[1:]:
        for u, v in zip(units, row[1:]):
            if v != "*":
                data[u][row[0]] = int(v)
    return data


def kripp_c_records():
    return [{"id": u, "fields": {"text": f"unit {u}"},
             "responses": {"score": [{"value": v, "user_id": o} for o, v in answers.items()]}}
            for u, answers in kripp_c().items()]


def kripp_c_responses():
    return [{"record": u, "annotator": o, "status": "submitted", "values": {"score": v}}
            for u, answers in kripp_c().items() for o, v in answers.items()]


def all_records():
    recs = []
    for rid, by in ALL_ANSWERS.items():
        responses = {}
        for ann, values in by.items():
            for q, v in values.items():
                responses.setdefault(q, []).append({"value": v, "user_id": ann})
        recs.append({"id": rid, "fields": {"text": "a text with room for spans"}, "responses": responses})
    return recs


def write_jsonl(path, rows):
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f)


def agreement_json(store, *args):
    p = run_jury(store, "agreement", *args, "--format", "json")
    try:
        return json.loads(p.stdout)
    except ValueError as e:
        raise CheckFailed(f"agreement --format json printed no JSON: {e}: {p.stdout[:200]!r}")


def expect_kripp_c(model, level, alpha, what):
    q = model["questions"]["score"]
    expect_eq(q["type"], "rating", f"{what}: type")
    expect_eq(q["level"], level, f"{what}: level")
    expect_eq(round(q["alpha"], 3), alpha, f"{what}: alpha")
    expect_eq(q["records"], 12, f"{what}: records")
    expect_eq(q["responses"], 41, f"{what}: responses")
    lo, hi = q["alpha_ci95"]
    expect(lo <= q["alpha"] <= hi, f"{what}: alpha {q['alpha']} outside its interval [{lo}, {hi}]")
    expect_eq(q["notes"], [], f"{what}: notes")


def check_store(root):
    """Example C imported as pre-existing responses: the published alpha at every level."""
    st = Store(os.path.join(root, "store"))
    st.create_dataset("kripp", RATING_SETTINGS)
    st.import_records("kripp", kripp_c_records())
    m = agreement_json(st.path, "kripp")
    expect_kripp_c(m, "interval", 0.849, "default (interval)")
    q = m["questions"]["score"]
    expect_eq(round(q["alpha_ordinal"], 3), 0.815, "alpha_ordinal")
    expect_eq(sorted(q["annotators"]), ["A", "B", "C", "D"], "annotators")
    expect_eq(sum(a["responses"] for a in q["annotators"].values()), 41, "responses per annotator")
    expect_eq([(p["a"], p["b"]) for p in q["pairs"]],
              [("A", "B"), ("A", "C"), ("A", "D"), ("B", "C"), ("B", "D"), ("C", "D")], "pairs")
    for p in q["pairs"]:
        expect(set(p) >= {"a", "b", "n", "cohen_kappa", "weighted_kappa"}, f"pair keys {sorted(p)}")
    # Unit 6 (1 2 3 4) is the least agreed; unit 12 has one value and is not pairable.
    expect_eq(q["contested"][0]["record"], "u6", "most contested record")
    expect_eq(q["record_agreement"]["records"], 11, "pairable records")
    # The annotator quality table: its agreement with others is the report's per-annotator
    # agreement; the responses were imported in one transaction, so every gap is 0 s.
    rows = m["annotators_quality"]
    expect_eq([r["annotator"] for r in rows], ["A", "B", "C", "D"], "quality rows by name")
    for r in rows:
        name = r["annotator"]
        expect_eq(r["submitted"], q["annotators"][name]["responses"], f"{name}: submitted")
        expect_eq((r["discarded"], r["draft"], r["discard_rate"]), (0, 0, 0), f"{name}: discards")
        expect_eq(r["agreement"], {"score": q["annotators"][name]["agreement"]}, f"{name}: agreement")
        expect_eq(r["agreement_mean"], q["annotators"][name]["agreement"], f"{name}: agreement_mean")
        expect_eq((r["median_seconds"], r["gold"], r["state"]), (0, None, "active"), f"{name}: time, gold, state")
    for level, alpha in [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)]:
        expect_kripp_c(agreement_json(st.path, "kripp", "--level", level), level, alpha, f"--level {level}")
    # The same question by name; an unknown one is bad usage.
    expect_eq(agreement_json(st.path, "kripp", "--question", "score"), m, "--question score")
    p = run_jury(st.path, "agreement", "kripp", "--question", "colour", check=False)
    expect_eq(p.returncode, 2, "unknown --question exit")
    expect_eq(p.stderr, 'jury: agreement: --question: no question "colour" in the settings '
              '(questions: score)\n', "unknown --question message")
    p = run_jury(st.path, "agreement", "nope", check=False)
    expect_eq(p.returncode, 2, "unknown dataset exit")
    expect_eq(p.stderr, f"jury: agreement: no dataset 'nope' in {st.path} (see jury dataset list)\n",
              "unknown dataset message")


def check_while_serving(root):
    """While `jury serve` holds the store: a snapshot, and drafts do not count."""
    st = Store(os.path.join(root, "store"))
    st.create_dataset("kripp", RATING_SETTINGS)
    recs = kripp_c_records()
    # u12 has one response (B's): carol gets it from the coordinator and saves a draft.
    st.import_records("kripp", recs)
    with Server(st.path) as srv:
        peer = Peer(srv.endpoint, name="carol")
        try:
            peer.hello("carol", "kripp")
            batch = peer.fetch(5)
            ids = [r["id"] for r in batch]
            expect("u12" in ids, f"carol is offered u12 (got {ids})")
            res = peer.submit([{"record": "u12", "status": "draft", "values": {"score": 5}}])
            expect_eq(res[0]["ok"], True, f"draft accepted: {res}")
            m = agreement_json(st.path, "kripp")
            expect_kripp_c(m, "interval", 0.849, "while serving")
            expect("carol" not in m["questions"]["score"]["annotators"], "a draft does not count")
        finally:
            peer.close()
    dump = st.dump("kripp")
    expect("draft" in [r["status"] for r in dump["u12"]["responses"]], "the draft is stored")


def check_offline(root):
    """--responses/--settings give what the store gives, to stdout or --out."""
    settings = os.path.join(root, "settings.json")
    responses = os.path.join(root, "responses.jsonl")
    write_json(settings, RATING_SETTINGS)
    rows = kripp_c_responses()
    rows.append({"record": "u12", "annotator": "carol", "status": "draft", "values": {"score": 5}})
    rows.append({"record": "u11", "annotator": "carol", "status": "discarded"})
    write_jsonl(responses, rows)
    m = agreement_json(root, "--responses", responses, "--settings", settings)
    expect_kripp_c(m, "interval", 0.849, "offline")
    expect("carol" not in m["questions"]["score"]["annotators"], "offline: drafts do not count")
    # carol's draft and discard count in the quality table; a file has no times and no states.
    carol = [r for r in m["annotators_quality"] if r["annotator"] == "carol"]
    expect_eq(carol, [{"annotator": "carol", "submitted": 0, "discarded": 1, "draft": 1, "discard_rate": 1,
                       "agreement": {"score": None}, "agreement_mean": None, "median_seconds": None,
                       "gold": None, "state": "-"}], "offline: carol's quality row")
    for r in m["annotators_quality"]:
        if r["annotator"] != "carol":
            expect_eq(r["agreement"]["score"], m["questions"]["score"]["annotators"][r["annotator"]]["agreement"],
                      f"offline: {r['annotator']}'s agreement")
    expect_kripp_c(agreement_json(root, "--responses", responses, "--settings", settings,
                                  "--level", "nominal"), "nominal", 0.743, "offline nominal")
    out = os.path.join(root, "out.json")
    p = run_jury(root, "agreement", "--responses", responses, "--settings", settings,
                 "--format", "json", "--out", out)
    expect_eq(p.stdout, "", "--out: nothing on stdout")
    with open(out) as f:
        expect_eq(json.load(f), m, "--out holds the same model")
    # Same data, same seed: the same intervals; another seed moves them.
    again = agreement_json(root, "--responses", responses, "--settings", settings)
    expect_eq(again, m, "deterministic")
    other = agreement_json(root, "--responses", responses, "--settings", settings, "--seed", "99")
    expect_eq(other["questions"]["score"]["alpha"], m["questions"]["score"]["alpha"], "seed: same alpha")


def check_all_types(root):
    """Every question type from a store, with the hand-computed values."""
    st = Store(os.path.join(root, "store"))
    st.create_dataset("all", ALL_SETTINGS)
    st.import_records("all", all_records())
    m = agreement_json(st.path, "all")
    expect_eq(list(m["questions"]), ["label", "tags", "order", "reply", "ents"], "questions in order")
    for q, want in ALL_EXPECTED.items():
        got = m["questions"][q]
        for k, v in want.items():
            expect_eq(got[k], v, f"{q}.{k}")
        expect(not any(isinstance(v, float) and v != v for v in got.values()), f"{q}: no NaN")
    ents = m["questions"]["ents"]
    expect("alpha" not in ents and "level" not in ents, "span: no alpha")
    reply = m["questions"]["reply"]
    expect("fleiss_kappa" not in reply and "alpha_ordinal" not in reply, "text: keys that do not apply")
    expect("cohen_kappa" in m["questions"]["label"]["pairs"][0], "label pairs have kappa")
    expect("weighted_kappa" not in m["questions"]["label"]["pairs"][0], "label: no weighted kappa")


class _Tags(html.parser.HTMLParser):
    """Checks that every opened element is closed in order (void elements aside)."""

    VOID = {"meta", "br", "hr", "img", "input", "link", "area", "base", "col", "embed", "source",
            "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []
        self.errors = []
        self.tags = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.add(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
            return
        self.stack.pop()


def check_text_and_html(root):
    """--format text and html write files a person reads; html is one well-formed page."""
    st = Store(os.path.join(root, "store"))
    st.create_dataset("kripp", RATING_SETTINGS)
    recs = kripp_c_records()
    # A hostile record id must come out as text.
    recs[5]["id"] = "<script>alert('u6')</script>"
    st.import_records("kripp", recs)
    txt = os.path.join(root, "report.txt")
    run_jury(st.path, "agreement", "kripp", "--out", txt)
    with open(txt) as f:
        text = f.read()
    expect(text.startswith("Agreement: kripp (submitted responses only)\n"), f"text title: {text[:80]!r}")
    for line in ["score  (rating, interval)", "  alpha                 0.849   95% interval ",
                 "  alpha (ordinal)       0.815", "  records                  12",
                 "  responses                41", "  annotator pairs, by kappa", "  most contested records",
                 "annotator quality\n  annotator  submitted  discarded  discard%  agreement  median s   gold  state\n"]:
        expect(line in text, f"text report has {line!r}")
    expect(text.index("  most contested records") < text.index("<script>alert('u6')</script>"),
           "the most contested record is listed")
    page = os.path.join(root, "report.html")
    run_jury(st.path, "agreement", "kripp", "--format", "html", "--out", page)
    with open(page, encoding="utf-8") as f:
        doc = f.read()
    expect(doc.startswith("<!DOCTYPE html>"), "html doctype")
    expect("<svg" in doc, "html has inline SVG")
    expect("<h2>Annotator quality</h2>" in doc, "html has the annotator quality table")
    expect("<script" not in doc.lower(), "html has no script at all")
    expect("<script src=" not in doc, "html loads no script")
    expect("&lt;script&gt;alert(&#39;u6&#39;)&lt;/script&gt;" in doc, "record id escaped")
    expect("src=" not in doc and "href=" not in doc and "@import" not in doc, "nothing loaded from elsewhere")
    parser = _Tags()
    parser.feed(doc)
    parser.close()
    expect_eq(parser.errors, [], "html tags nest")
    expect_eq(parser.stack, [], "html tags all closed")
    expect({"html", "head", "body", "style", "svg", "table"} <= parser.tags, f"html elements {sorted(parser.tags)}")


def check_bad_input(root):
    """Unknown question, wrong value type, a line that is not JSON: exit 2 with FILE:LINE: reason."""
    settings = os.path.join(root, "settings.json")
    write_json(settings, RATING_SETTINGS)
    good = json.dumps({"record": "u1", "annotator": "A", "status": "submitted", "values": {"score": 1}})
    cases = [
        ({"record": "u1", "annotator": "B", "status": "submitted", "values": {"colour": "red"}},
         '/values/colour: unknown question "colour"; the dataset has questions: score'),
        ({"record": "u1", "annotator": "B", "status": "submitted", "values": {"score": "high"}},
         "/values/score: a rating must be an integer"),
        ({"record": "u1", "annotator": "B", "status": "submitted", "values": {"score": 9}},
         "/values/score: 9 is not one of the rating values 1, 2, 3, 4, 5"),
        ("this is not JSON", "invalid JSON at byte 1 of the line"),
        ('{"record": "u1", "annotator": "B", "status": "submitted", "values": {"score": 1}',
         "truncated JSON: the line ends inside a value"),
        ({"record": "u1", "annotator": "A", "status": "submitted", "values": {"score": 2}},
         'annotator "A" has a second response to record "u1"'),
    ]
    for i, (line, reason) in enumerate(cases):
        path = os.path.join(root, f"bad{i}.jsonl")
        with open(path, "w") as f:
            f.write(good + "\n\n")  # the bad line is line 3: blank lines count
            f.write((line if isinstance(line, str) else json.dumps(line)) + "\n")
        p = run_jury(root, "agreement", "--responses", path, "--settings", settings, check=False)
        expect_eq(p.returncode, 2, f"case {i}: exit")
        expect_eq(p.stdout, "", f"case {i}: no report")
        expect_eq(p.stderr, f"{path}:3: {reason}\n"
                  f"jury: agreement: 1 of 2 responses in {path} are invalid; no report was made\n",
                  f"case {i}: message")
    # A whole file that is not JSONL: every line is reported (the first 20), then the count.
    path = os.path.join(root, "pretty.json")
    with open(path, "w") as f:
        json.dump([{"record": "u1", "annotator": "A", "status": "submitted", "values": {"score": 1}}], f, indent=2)
    p = run_jury(root, "agreement", "--responses", path, "--settings", settings, check=False)
    expect_eq(p.returncode, 2, "pretty JSON: exit")
    expect(p.stderr.startswith(f"{path}:1: truncated JSON: the line ends inside a value\n"),
           f"pretty JSON: first problem: {p.stderr[:200]!r}")
    # Bad settings and bad usage.
    bad_settings = os.path.join(root, "bad-settings.json")
    write_json(bad_settings, {"fields": [{"name": "text", "type": "text"}],
                              "questions": [{"name": "score", "type": "rating", "values": [1]}]})
    p = run_jury(root, "agreement", "--responses", path, "--settings", bad_settings, check=False)
    expect_eq(p.returncode, 2, "bad settings: exit")
    expect_eq(p.stderr, f"jury: {bad_settings}: /questions/0/values: rating values must be 2 to 11 "
              "unique integers within 0..10\n", "bad settings: message")
    for args in (["--responses", path], ["kripp", "--responses", path, "--settings", settings],
                 ["kripp", "--format", "pdf"], ["kripp", "--level", "loud"], []):
        p = run_jury(root, "agreement", *args, check=False)
        expect_eq(p.returncode, 2, f"usage {args}: exit")


def main():
    checks = Checks("test_agreement_cli")
    if not os.path.exists(KRIPP_C):
        print(f"no reference data at {KRIPP_C} (set JURY_SHARED_DATA)", flush=True)
        print("0 passed, 1 failed", flush=True)
        return 1
    root = make_tmpdir("agreement-")
    try:
        for name, fn in [("store_krippendorff_c", check_store),
                         ("while_serving", check_while_serving),
                         ("offline", check_offline),
                         ("all_types", check_all_types),
                         ("text_and_html", check_text_and_html),
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
