#!/usr/bin/python3
"""bench_overlap: fixed against dynamic overlap on the RTE items of Snow et al. (2008), with the real `jury serve` and `juror bot --simulate` annotators of known error rates."""

# What it measures, per campaign (a dataset's `distribution`) and seed:
#   - responses spent per record: submitted responses / records, from `jury status --json`;
#   - accuracy against gold of the unified label: `jury consolidate --method label=majority`
#     (then `label=dawid_skene`), `jury export --format records`, `unified.label` against the
#     item's gold label;
#   - the share of records marked contested (`contested` in `jury status --json`);
#   - the share of submitted answers that are wrong (what the pool actually delivered, which
#     depends on who took which record) and the wall time of the campaign.
# Each campaign runs once per seed on a fresh store; the table shows the median and the range.
#
# Data: Snow, O'Connor, Jurafsky, Ng (EMNLP 2008) "Cheap and Fast -- But is it Good?", the 800
# RTE items ($JURY_SHARED_DATA/crowd/snow2008/rte.standardized.tsv: `orig_id` and `gold`; the
# texts from rte1_texts.tsv). Only each item's id, text and gold label are used: the simulated
# annotators answer from the gold label (metadata property `gold`, which they must be able to
# see) with their error rate; the crowd's own answers are not used.
#
# The annotators: --annotators bots with error rates spread evenly over --error-min..--error-max
# (default 8 bots, 0.10..0.40, pool mean 0.25), seeds SEED*100+i, the same in every campaign,
# started in an order shuffled by the seed. A simulated answer depends only on the bot's seed and
# the record, so campaigns of one seed differ only in the rule and in who got which record.
#
# The reference column "model" is computed here, not measured: the expected responses per record
# and majority accuracy if each record's annotators were a uniformly random ordered draw from the
# pool (exact enumeration). A measured figure far from it means the pool did not share the work
# evenly or the coordinator did not apply the rule.
#
# Only the standard library. Run it through tests/bench/overlap (builds jury and juror, Release),
# or directly with --jury and --juror.

import argparse
import atexit
import csv
import datetime
import itertools
import json
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(os.path.dirname(HERE))
SHARED = os.environ.get("JURY_SHARED_DATA") or os.path.join(os.path.dirname(SOURCE_DIR), "shared", "data")
SNOW = os.path.join(SHARED, "crowd", "snow2008")
LABELS = {"1": "yes", "0": "no"}  # RTE gold 1 = the text entails the hypothesis

# name -> distribution (the campaigns, in table order). "dyn" needs dynamic overlap (issue 9).
CAMPAIGNS = {
    "fixed-3": {"min_submitted": 3},
    "fixed-5": {"min_submitted": 5},
    "dynamic-2..5@1.0": {"min_submitted": 2, "max_submitted": 5, "until": {"question": "label", "agreement": 1.0}},
    "dynamic-2..5@0.8": {"min_submitted": 2, "max_submitted": 5, "until": {"question": "label", "agreement": 0.8}},
    "dynamic-2..5@0.5": {"min_submitted": 2, "max_submitted": 5, "until": {"question": "label", "agreement": 0.5}},
    "dynamic-2..5@p0.9": {"min_submitted": 2, "max_submitted": 5,
                          "until": {"question": "label", "confidence": 0.9}},
}


def is_dynamic(dist):
    return "until" in dist


# ---------------------------------------------------------------------------
# Processes and temporary files: everything started is killed, everything made is removed.

_children = []
_tmp_roots = []


def _die_with_parent():
    # Linux: the child gets SIGKILL if this process dies without cleaning up (kill -9).
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def spawn(args, **kw):
    p = subprocess.Popen(args, preexec_fn=_die_with_parent, **kw)
    _children.append(p)
    return p


def stop(p, timeout_s=10):
    """SIGTERM, then SIGKILL after timeout_s; returns the exit code."""
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout_s)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)
    if p in _children:
        _children.remove(p)
    return p.returncode


def cleanup():
    for p in list(_children):
        try:
            stop(p, 5)
        except Exception:
            pass
    for d in _tmp_roots:
        shutil.rmtree(d, ignore_errors=True)
    _tmp_roots.clear()


def _on_signal(sig, _frame):
    raise SystemExit(128 + sig)


class BenchError(Exception):
    """A campaign could not run to the end."""


def jury(args, store, *rest, check=True, timeout_s=300):
    cmd = [args.jury, "--store", store] + [str(a) for a in rest]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    if check and p.returncode != 0:
        raise BenchError(f"{' '.join(cmd[1:])}: exit {p.returncode}: {p.stderr.strip()[-500:]}")
    return p


# ---------------------------------------------------------------------------
# Data

def load_items(limit):
    """[(id, gold label, text)] in the order of rte.standardized.tsv, at most `limit`."""
    gold = {}
    with open(os.path.join(SNOW, "rte.standardized.tsv"), newline="") as f:
        rows = csv.reader(f, delimiter="\t")
        header = next(rows)
        if header != ["!amt_annotation_ids", "!amt_worker_ids", "orig_id", "response", "gold"]:
            raise BenchError(f"rte.standardized.tsv: unexpected header {header}")
        for _aid, _worker, item, _response, g in rows:
            if gold.setdefault(item, g) != g:
                raise BenchError(f"rte.standardized.tsv: item {item} has two gold labels")
    texts = {}
    path = os.path.join(SNOW, "rte1_texts.tsv")
    if os.path.exists(path):
        with open(path, newline="") as f:
            rows = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
            next(rows)
            for row in rows:
                if len(row) == 5:
                    texts[row[0]] = f"{row[3]}\n\nHypothesis: {row[4]}"
    items = [(i, LABELS[g], texts.get(i, f"RTE item {i}")) for i, g in gold.items()]
    return items[:limit] if limit else items


def settings_for(dist):
    return {"guidelines": "Does the text entail the hypothesis? (RTE-1, Snow et al. 2008)",
            "fields": [{"name": "text", "type": "text"}],
            "questions": [{"name": "label", "type": "label_selection",
                           "labels": {"yes": "entails", "no": "does not entail"}}],
            # The simulated annotators answer from this property, so it must be visible to them.
            "metadata": [{"name": "gold", "type": "terms", "options": ["yes", "no"],
                          "visible_for_annotators": True}],
            "distribution": dict(dist)}


# ---------------------------------------------------------------------------
# The model: uniform ordered draws from the pool, exact.

def pair_agreement(counts, m):
    return sum(c * (c - 1) for c in counts) / (m * (m - 1))


def model(dist, errors):
    """(expected responses per record, expected majority accuracy) when each record's annotators
    are a uniformly random ordered draw without replacement from the pool and each answers wrong
    with its error rate, independently. Binary labels; no ties arise under these rules (a tie
    counts half)."""
    lo = int(dist["min_submitted"])
    hi = int(dist.get("max_submitted", lo))
    thr = dist["until"].get("agreement") if is_dynamic(dist) else None
    conf = dist["until"].get("confidence") if is_dynamic(dist) else None
    prior = dist["until"].get("prior_accuracy", 0.7) if conf else None

    def posterior(r, w):
        """The one-coin Dawid-Skene posterior of the majority label when every annotator counts
        with the prior accuracy (no gold here): it depends on r - w only."""
        d = abs(r - w)
        return 1.0 / (1.0 + ((1 - prior) / prior) ** d)

    def met(r, w, k):
        if conf is not None:
            return posterior(r, w) >= conf
        return thr is None or pair_agreement((r, w), k) >= thr
    n = len(errors)
    perms = list(itertools.permutations(range(n), hi))
    spent = acc = 0.0
    for order in perms:
        # Walk the outcomes of this draw: states (probability, answers so far as right/wrong).
        states = [(1.0, 0, 0)]  # (p, right, wrong)
        for k, a in enumerate(order, 1):
            e = errors[a]
            nxt = []
            for p, r, w in states:
                nxt.append((p * (1 - e), r + 1, w))
                nxt.append((p * e, r, w + 1))
            states = []
            for p, r, w in nxt:
                done = k == hi or (k >= lo and met(r, w, k))
                if done:
                    spent += p * k
                    acc += p * (1.0 if r > w else 0.5 if r == w else 0.0)
                else:
                    states.append((p, r, w))
            if not states:
                break
    return spent / len(perms), acc / len(perms)


# ---------------------------------------------------------------------------
# One campaign

def run_campaign(args, root, name, dist, seed, items, errors):
    t0 = time.monotonic()
    work = os.path.join(root, f"{name}-s{seed}")
    os.makedirs(work)
    store = os.path.join(work, "store")
    with open(os.path.join(work, "settings.json"), "w") as f:
        json.dump(settings_for(dist), f)
    with open(os.path.join(work, "records.jsonl"), "w") as f:
        for rid, gold, text in items:
            f.write(json.dumps({"id": rid, "fields": {"text": text}, "metadata": {"gold": gold}}) + "\n")
    jury(args, store, "dataset", "create", "d", "--settings", os.path.join(work, "settings.json"))
    jury(args, store, "import", "d", os.path.join(work, "records.jsonl"))

    sock = os.path.join(work, "serve.ipc")
    endpoint = "ipc://" + sock
    serve_log = open(os.path.join(work, "serve.log"), "wb")
    serve = spawn([args.jury, "--store", store, "serve", "--insecure", "--bind", endpoint,
                   "--log-level", "warn"], stdin=subprocess.DEVNULL, stdout=serve_log, stderr=serve_log)
    serve_log.close()
    bots = []
    try:
        deadline = time.monotonic() + 20
        while not os.path.exists(sock):
            if serve.poll() is not None:
                raise BenchError(f"jury serve exited with {serve.returncode} at start: {tail(work, 'serve.log')}")
            if time.monotonic() > deadline:
                raise BenchError("jury serve did not bind within 20 s")
            time.sleep(0.01)

        order = list(range(len(errors)))
        random.Random(seed).shuffle(order)
        think = f",think={args.think}" if args.think else ""
        for i in order:
            log = open(os.path.join(work, f"bot{i}.log"), "wb")
            bots.append(spawn([args.juror, "--connect", endpoint, "--dataset", "d", "--annotator", f"a{i}",
                               "--timeout-ms", "30000", "bot", "--simulate",
                               f"error={errors[i]:g},gold=gold,seed={seed * 100 + i}{think}",
                               "--batch", str(args.batch), "--idle-exit", str(args.timeout)],
                              stdin=subprocess.DEVNULL, stdout=log, stderr=log))
            log.close()

        # Done when no record is pending. The bots never idle out before that (--idle-exit is the
        # whole timeout): with dynamic overlap a record can come back after a quiet moment.
        deadline = time.monotonic() + args.timeout
        while True:
            st = json.loads(jury(args, store, "status", "d", "--json").stdout)
            if st["pending"] == 0:
                break
            if serve.poll() is not None:
                raise BenchError(f"jury serve exited with {serve.returncode}: {tail(work, 'serve.log')}")
            if all(b.poll() is not None for b in bots):
                raise BenchError(f"every bot exited with {st['pending']} records pending: {tail(work, 'bot0.log')}")
            if time.monotonic() > deadline:
                raise BenchError(f"{st['pending']} records still pending after {args.timeout} s")
            time.sleep(0.1)
        annotate_s = time.monotonic() - t0
    finally:
        for b in bots:
            stop(b)
        rc = stop(serve, 20)
    if rc != 0:
        raise BenchError(f"jury serve exited with {rc} on SIGTERM: {tail(work, 'serve.log')}")

    st = json.loads(jury(args, store, "status", "d", "--json").stdout)
    n = st["records"]
    if st["completed"] != n:
        raise BenchError(f"{st['completed']} of {n} records completed ({st['discarded']} set aside)")
    gold = {rid: g for rid, g, _t in items}
    out = {"records": n, "responses": st["responses"]["submitted"],
           "contested": st.get("contested"), "annotate_s": annotate_s,
           "per_annotator": {f"a{i}": st["annotators"].get(f"a{i}", {}).get("submitted", 0)
                             for i in range(len(errors))}}
    for method in ("majority", "dawid_skene"):
        jury(args, store, "consolidate", "d", "--method", f"label={method}", "--json")
        exported = jury(args, store, "export", "d", "--format", "records").stdout
        recs = [json.loads(line) for line in exported.splitlines()]
        if len(recs) != n:
            raise BenchError(f"export --format records gave {len(recs)} lines for {n} records")
        right = sum(1 for r in recs if r["unified"].get("label") == gold[r["id"]])
        undecided = sum(1 for r in recs if r["decision"] != "accepted")
        if undecided:
            raise BenchError(f"{method}: {undecided} records not accepted after consolidate")
        out[method] = right / n
        if method == "majority":
            answers = [(a["value"], gold[r["id"]]) for r in recs for a in r["responses"].get("label", [])]
            if len(answers) != out["responses"]:
                raise BenchError(f"export lists {len(answers)} answers, status {out['responses']}")
            out["wrong"] = sum(1 for v, g in answers if v != g) / len(answers)
    out["elapsed_s"] = time.monotonic() - t0
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return out


def tail(work, name, lines=5):
    try:
        with open(os.path.join(work, name), "rb") as f:
            return " | ".join(f.read().decode("utf-8", "replace").strip().splitlines()[-lines:])
    except OSError:
        return ""


def dynamic_supported(args, root):
    """Whether this jury accepts max_submitted and until (issue 9); the error when not."""
    path = os.path.join(root, "probe.json")
    with open(path, "w") as f:
        json.dump(settings_for(CAMPAIGNS["dynamic-2..5@1.0"]), f)
    p = jury(args, os.path.join(root, "probe-store"), "dataset", "create", "d", "--settings", path, check=False)
    shutil.rmtree(os.path.join(root, "probe-store"), ignore_errors=True)
    return p.returncode == 0, p.stderr.strip()


# ---------------------------------------------------------------------------
# Report

def med_range(values, fmt):
    m = statistics.median(values)
    if len(values) == 1 or min(values) == max(values):
        return fmt(m)
    return f"{fmt(m)} ({fmt(min(values))} .. {fmt(max(values))})"


def pct(x):
    return f"{100 * x:.1f}%"


def f3(x):
    return f"{x:.3f}"


def f2(x):
    return f"{x:.2f}"


def secs(x):
    return f"{x:.1f} s"


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            mem = f", {kb / 1048576:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return (f"{os.cpu_count()} cores (nproc {len(os.sched_getaffinity(0))}), {cpu}{mem}, "
            f"Linux {platform.release()}, Python {platform.python_version()}")


def build_table(results, models, with_contested):
    head = ["campaign", "responses / record", "accuracy, majority", "accuracy, Dawid-Skene"]
    if with_contested:
        head.append("contested")
    head += ["answers wrong", "model: responses / record, majority accuracy", "wall time"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, runs in results.items():
        row = [f"`{name}`", med_range([r["responses"] / r["records"] for r in runs], f2),
               med_range([r["majority"] for r in runs], f3), med_range([r["dawid_skene"] for r in runs], f3)]
        if with_contested:
            row.append(med_range([r["contested"] / r["records"] for r in runs], pct))
        sp, ac = models[name]
        row += [med_range([r["wrong"] for r in runs], pct), f"{sp:.2f}, {ac:.3f}",
                med_range([r["elapsed_s"] for r in runs], secs)]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def label(name):
    """A campaign's name for people: `fixed 3`, `dynamic 2..5 until 0.8`."""
    d = CAMPAIGNS[name]
    if is_dynamic(d) and "confidence" in d["until"]:
        return (f"dynamic {d['min_submitted']}..{d['max_submitted']} until posterior "
                f"{d['until']['confidence']:.2f}")
    if is_dynamic(d):
        return f"dynamic {d['min_submitted']}..{d['max_submitted']} until {d['until']['agreement']:.1f}"
    return f"fixed {d['min_submitted']}"


def paragraph(args, results, nrec, errors, with_contested):
    """The README "Performance" entry: a bold lead with the set-up, a table, and what it shows."""
    def med(name, key):
        runs = results[name]
        if key == "spent":
            return statistics.median(r["responses"] / r["records"] for r in runs)
        if key == "contested":
            return statistics.median(r["contested"] / r["records"] for r in runs)
        return statistics.median(r[key] for r in runs)

    def cell(name, key, fmt):
        runs = results[name]
        if key == "spent":
            vals = [r["responses"] / r["records"] for r in runs]
        elif key == "contested":
            vals = [r["contested"] / r["records"] for r in runs]
        else:
            vals = [r[key] for r in runs]
        return med_range(vals, fmt)

    seeds = f"{args.seeds} seed{'s' if args.seeds != 1 else ''}"
    text = (f"**Dynamic overlap** (`tests/bench/overlap`: the {nrec} RTE items of Snow et al. (2008) with "
            f"their gold labels; {len(errors)} `juror bot --simulate` annotators answering from the gold label "
            f"with error rates {errors[0]:.2f} to {errors[-1]:.2f} (mean {statistics.mean(errors):.2f}), think "
            f"time {args.think} ms; the real `jury serve`, then `jury consolidate` and `jury export --format "
            f"records` against gold; {seeds} per campaign, median (min .. max); `tests/bench/RESULTS-overlap.md` "
            f"adds the share of wrong answers and a reference computed for annotators drawn at random):\n\n")
    head = ["overlap", "responses / record", "accuracy, majority", "accuracy, Dawid-Skene"]
    if with_contested:
        head.append("contested")
    text += "| " + " | ".join(head) + " |\n|" + "---|" * len(head) + "\n"
    for name in results:
        row = [label(name), cell(name, "spent", f2), cell(name, "majority", f3), cell(name, "dawid_skene", f3)]
        if with_contested:
            row.append(cell(name, "contested", pct) if is_dynamic(CAMPAIGNS[name]) else "")
        text += "| " + " | ".join(row) + " |\n"
    dyn = [n for n in results if is_dynamic(CAMPAIGNS[n])]
    if dyn and "fixed-3" in results and "fixed-5" in results:
        f3m, f3d, f5s = med("fixed-3", "majority"), med("fixed-3", "dawid_skene"), med("fixed-5", "spent")
        f5m, f5d = med("fixed-5", "majority"), med("fixed-5", "dawid_skene")
        parts, held = [], []
        for n in dyn:
            sp, mj, dsk = med(n, "spent"), med(n, "majority"), med(n, "dawid_skene")
            held.append((n, sp < f5s and mj >= f3m and dsk >= f3d))
            parts.append(f"{label(n)} spends {sp:.2f} responses per record ({100 * (1 - sp / f5s):.0f}% fewer "
                         f"than fixed 5) for {mj:.3f} and {dsk:.3f}")
        text += (f"\nAccuracy by majority and by Dawid-Skene: fixed 3 gives {f3m:.3f} and {f3d:.3f}, fixed 5 "
                 f"{f5m:.3f} and {f5d:.3f}; " + "; ".join(parts) + ". ")
        yes = [label(n) for n, h in held if h]
        no = [label(n) for n, h in held if not h]
        claim = "fewer responses than fixed 5 at the accuracy of fixed 3 or better, by both methods"
        if not no:
            text += f"The issue's expectation ({claim}) holds for every dynamic campaign."
        elif not yes:
            text += f"The issue's expectation ({claim}) does not hold for any dynamic campaign."
        else:
            text += (f"The issue's expectation ({claim}) holds for {', '.join(yes)}, "
                     f"not for {', '.join(no)}.")
        if "dynamic-2..5@1.0" in results and "dynamic-2..5@0.8" in results:
            text += (" With two labels and at most five answers a record's agreement (the share of agreeing "
                     "pairs) is 1 or at most 0.6, so any threshold above 0.6 asks for unanimity and 0.8 "
                     "decides exactly as 1.0: one dissent sends a record to five answers and marks it contested "
                     "even when the other four agree; 0.5 lets a 3-1 record stop at four and gives the same "
                     "majority label as going on to five.")
        if "dynamic-2..5@p0.9" in results:
            text += (" The posterior rule with the prior accuracy 0.7 (no gold answers here) depends only on "
                     "the margin between the labels: 0.9 needs a margin of three (0.927; two give 0.845), so it "
                     "stops a record at 3-0 or 4-1 and otherwise goes to five.")
        text += ("\n\nThe seed fixes each annotator's answer to each record; who answers which record depends "
                 "on timing, so a rerun gives figures within the ranges above, not the same ones.")
    return text + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--jury", default=os.environ.get("JURY_BIN") or os.path.join(SOURCE_DIR, "build", "bin", "jury"))
    ap.add_argument("--juror", default=os.environ.get("JUROR_BIN") or os.path.join(SOURCE_DIR, "build", "bin", "juror"))
    ap.add_argument("--records", type=int, default=0, help="use the first N items (default all 800)")
    ap.add_argument("--seeds", type=int, default=3, help="runs per campaign, seeds 1..K (default 3)")
    ap.add_argument("--annotators", type=int, default=8)
    ap.add_argument("--error-min", type=float, default=0.10)
    ap.add_argument("--error-max", type=float, default=0.40)
    ap.add_argument("--think", default="0",
                    help="simulated think time per record in ms (MS or MIN..MAX, default 0: answer at once)")
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--campaigns", default=",".join(CAMPAIGNS),
                    help="comma-separated, from: " + ", ".join(CAMPAIGNS))
    ap.add_argument("--timeout", type=int, default=300, help="longest campaign in seconds")
    ap.add_argument("--results", default=os.path.join(HERE, "RESULTS-overlap.md"),
                    help="markdown file to write ('' for none)")
    ap.add_argument("--keep", action="store_true", help="keep each campaign's store and logs")
    args = ap.parse_args()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    atexit.register(cleanup)
    for path, what in ((args.jury, "jury"), (args.juror, "juror")):
        if not os.access(path, os.X_OK):
            sys.exit(f"bench_overlap: no {what} binary at {path} (build it, or pass --{what})")
    if not os.path.isdir(SNOW):
        sys.exit(f"bench_overlap: no reference data at {SNOW} (set JURY_SHARED_DATA)")
    names = [c.strip() for c in args.campaigns.split(",") if c.strip()]
    for c in names:
        if c not in CAMPAIGNS:
            sys.exit(f"bench_overlap: unknown campaign {c!r}; known: {', '.join(CAMPAIGNS)}")
    if args.annotators < 5:
        sys.exit("bench_overlap: at least 5 annotators (a record may need 5 distinct ones)")

    root = tempfile.mkdtemp(prefix="jury-bench-overlap-", dir="/tmp")
    if not args.keep:
        _tmp_roots.append(root)
    items = load_items(args.records)
    k = args.annotators
    errors = [round(args.error_min + (args.error_max - args.error_min) * i / (k - 1), 4) for i in range(k)]
    notes = []
    ok, why = dynamic_supported(args, root)
    if not ok:
        dropped = [c for c in names if is_dynamic(CAMPAIGNS[c])]
        names = [c for c in names if not is_dynamic(CAMPAIGNS[c])]
        if dropped:
            notes.append(f"dynamic campaigns skipped: this jury refuses max_submitted/until ({why})")
            print(f"bench_overlap: {notes[-1]}", file=sys.stderr, flush=True)

    started = datetime.datetime.now().astimezone()
    print(f"bench_overlap: {len(items)} records, {k} annotators (error {errors[0]:g}..{errors[-1]:g}, "
          f"mean {statistics.mean(errors):.3f}), {args.seeds} seeds, {len(names)} campaigns; "
          f"work in {root}", file=sys.stderr, flush=True)
    results, models = {}, {}
    total = len(names) * args.seeds
    done = 0
    t_all = time.monotonic()
    for name in names:
        models[name] = model(CAMPAIGNS[name], errors)
        results[name] = []
        for seed in range(1, args.seeds + 1):
            done += 1
            r = run_campaign(args, root, name, CAMPAIGNS[name], seed, items, errors)
            results[name].append(r)
            contested = "" if r["contested"] is None else f", contested {pct(r['contested'] / r['records'])}"
            shares = sorted(r["per_annotator"].values())
            print(f"[{done}/{total}] {name} seed {seed}: {r['responses'] / r['records']:.2f} responses/record, "
                  f"majority {r['majority']:.3f}, dawid_skene {r['dawid_skene']:.3f}{contested}, "
                  f"answers wrong {pct(r['wrong'])}, per annotator {shares[0]}..{shares[-1]}, "
                  f"{r['elapsed_s']:.1f} s (annotation {r['annotate_s']:.1f} s)", file=sys.stderr, flush=True)

    with_contested = all(r["contested"] is not None for runs in results.values() for r in runs)
    if not with_contested:
        notes.append("`jury status --json` has no `contested` count: the column is left out")
    table = build_table(results, models, with_contested)
    para = paragraph(args, results, len(items), errors, with_contested)
    # The wrapper's --jury and --juror are left out: they say where the binaries are, not what ran.
    shown, skip = [], False
    for a in sys.argv[1:]:
        if skip:
            skip = False
        elif a in ("--jury", "--juror"):
            skip = True
        elif not a.startswith(("--jury=", "--juror=")):
            shown.append(a)
    cmdline = "tests/bench/overlap " + " ".join(shown)
    desc = machine()
    report = (f"# Dynamic overlap against fixed overlap (issue 9)\n\n"
              f"Run {started.strftime('%Y-%m-%d %H:%M %Z')} on {desc}; `{cmdline.strip()}`; "
              f"{time.monotonic() - t_all:.0f} s in all.\n\n"
              f"{len(items)} RTE items (Snow et al. 2008) with their gold labels; {k} `juror bot --simulate` "
              f"annotators, error rates {', '.join(f'{e:g}' for e in errors)} (mean {statistics.mean(errors):.3f}), "
              f"think time {args.think} ms, batches of {args.batch}; the real `jury serve --insecure` on an ipc "
              f"socket; {args.seeds} seeds per campaign, median (min .. max). Accuracy is the share of records "
              f"whose unified label (`jury consolidate`, then `jury export --format records`) is the gold label. "
              f"\"answers wrong\" is the share of submitted answers that are wrong (the pool's error as "
              f"delivered). \"model\" is computed, not measured: each record's annotators drawn uniformly "
              f"from the pool (see bench_overlap.py).\n\n"
              f"{table}\n\n"
              + "".join(f"Note: {n}\n\n" for n in notes)
              + f"For README \"Performance\":\n\n{para}\n")
    print(table)
    for n in notes:
        print(f"\nNote: {n}")
    print("\nREADME Performance paragraph:\n")
    print(para)
    if args.results:
        with open(args.results, "w") as f:
            f.write(report)
        print(f"\nwrote {args.results}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as e:
        print(f"bench_overlap: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("bench_overlap: interrupted", file=sys.stderr)
        sys.exit(130)
