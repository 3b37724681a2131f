"""test_bot: `juror bot` against the real `jury serve`: --exec with a Python CMD (answers, crashes, garbage, timeouts, refusals) and --simulate (gold answers, error rate, a 3-bot campaign)."""

# Every check runs real `juror bot` processes against a real coordinator on a
# fresh store and verifies what the coordinator stored with `jury dump`, and
# what the bot said on stderr (one line per released record, a summary line).
#
# The CMD of the --exec checks is a Python script (written into the check's
# directory) that logs every line it receives and every start, so the checks
# also verify the line format ({"record": ..., "settings": ...}), that a crashed
# CMD is started again, and that a released record is never given to CMD twice.
# Records are handed out in import order (complete_first, one bot), so "the 2nd
# record" is the record imported second.

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jurytest import (PYTHON, SOURCE_DIR, Checks, CheckFailed, Server, Store, expect, expect_eq,  # noqa: E402
                      label_settings, make_tmpdir, rmtree, run_jury, text_records, wait_until)

JUROR_BIN = os.environ.get("JUROR_BIN") or os.path.join(SOURCE_DIR, "build", "bin", "juror")
BOT_TIMEOUT_S = 120  # a bound, not a measure: every run here takes a few seconds
SUMMARY = re.compile(r"^juror: bot: answered (\d+), discarded (\d+), released (\d+), errors (\d+) ", re.M)
SIMULATED = re.compile(r"^juror: bot: simulated: (\d+) wrong answers, (\d+) edited texts, seed (\d+)$", re.M)

# The --exec CMD. argv: MODE LOG. Logs {"start": pid} at start and {"line": ...} per line read.
CMD_SCRIPT = r'''
import json, os, sys, time
mode, log = sys.argv[1], sys.argv[2]
def note(obj):
    with open(log, "a") as f:
        f.write(json.dumps(obj) + "\n")
note({"start": os.getpid()})
for line in sys.stdin:
    note({"line": line})
    msg = json.loads(line)
    rec = msg["record"]
    rid = rec["id"]
    n = int(rid[1:])
    questions = [q["name"] for q in msg["settings"]["questions"]]
    answer = {"label": "pos" if n % 3 == 0 else "neg"}
    if "stars" in questions:
        answer["stars"] = 1 + n % 5
    if "reply" in questions:
        answer["reply"] = "re: " + rec["fields"]["text"] + " [" + ",".join(questions) + "]"
    if mode == "faults":
        if n == 1:
            sys.exit(3)                      # crash on the 2nd record
        if n == 2:
            print("this is not JSON", flush=True)   # garbage on the 3rd
            continue
    if mode == "mostly-garbage" and n < 110:
        print("garbage", flush=True)
        continue
    if mode == "more":
        if n == 1:
            time.sleep(60)                   # never answers in time
        elif n == 2:
            answer = {"label": "maybe"}      # refused by the coordinator (EINVAL)
        elif n == 3:
            answer = {"discard": True}
        elif n == 4:
            answer["discard"] = False        # a boolean discard is not a value
        elif n == 5:
            # the answer and a 2nd line nobody asked for, in one write (atomic below
            # PIPE_BUF, so both are there before the next record): the 2nd is dropped
            sys.stdout.write(json.dumps(answer) + "\n" + json.dumps({"label": "neg"}) + "\n")
            sys.stdout.flush()
            continue
        elif n == 7:
            print("[1, 2]", flush=True)      # JSON, but not an object
            continue
    print(json.dumps(answer), flush=True)
'''


def bot(endpoint, dataset, annotator, *args, timeout_s=BOT_TIMEOUT_S):
    """Runs `juror bot ARGS` to its end; returns the CompletedProcess (text)."""
    cmd = [JUROR_BIN, "bot", "--connect", endpoint, "--dataset", dataset, "--annotator", annotator,
           *[str(a) for a in args]]
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout_s)
    p.stdout = p.stdout.decode("utf-8", "replace")
    p.stderr = p.stderr.decode("utf-8", "replace")
    return p


def summary(p):
    """The (answered, discarded, released, errors) of a bot's summary line."""
    m = SUMMARY.search(p.stderr)
    if not m:
        raise CheckFailed(f"no summary line in the bot's stderr:\n{p.stderr}")
    return tuple(int(x) for x in m.groups())


def released_lines(p):
    """record id -> reason, from the bot's `record ID released: REASON` lines."""
    out = {}
    for m in re.finditer(r"^juror: bot: record (\S+) released: (.*)$", p.stderr, re.M):
        if m.group(1) in out:
            raise CheckFailed(f"record {m.group(1)} released twice:\n{p.stderr}")
        out[m.group(1)] = m.group(2)
    return out


def expect_exit0(p, what):
    if p.returncode != 0:
        raise CheckFailed(f"{what}: juror bot exited {p.returncode}:\n{p.stderr}")


def only_response(rec, annotator):
    """The single response of a dump record, which must be annotator's."""
    rs = rec["responses"]
    expect_eq(len(rs), 1, f"{rec['id']}: responses")
    expect_eq(rs[0]["annotator"], annotator, f"{rec['id']}: annotator")
    return rs[0]


class Setup:
    """A fresh store with one dataset and a coordinator on it; the CMD script in the directory."""

    def __init__(self, root, name, settings, records, datasets=("ds",)):
        self.dir = os.path.join(root, name)
        os.makedirs(self.dir)
        self.store = Store(os.path.join(self.dir, "store"))
        for ds in datasets:
            self.store.create_dataset(ds, settings)
            self.store.import_records(ds, records)
        self.server = Server(self.store.path, log_level="info")
        self.script = os.path.join(self.dir, "cmd.py")
        self.log = os.path.join(self.dir, "cmd.log")
        with open(self.script, "w") as f:
            f.write(CMD_SCRIPT)

    def cmd(self, mode):
        return f"{PYTHON} {self.script} {mode} {self.log}"

    def cmd_log(self):
        """(starts, lines) that CMD logged: its process ids, and the parsed lines it read."""
        starts, lines = [], []
        try:
            with open(self.log) as f:
                for raw in f:
                    e = json.loads(raw)
                    if "start" in e:
                        starts.append(e["start"])
                    else:
                        lines.append(e["line"])
        except FileNotFoundError:
            pass
        return starts, lines

    def __enter__(self):
        self.server.start()
        return self

    def __exit__(self, *exc):
        self.server.__exit__(*exc)


def exec_settings(min_submitted=1):
    """A text field, a required pos/neg label, a rating, a text question; one hidden metadata property."""
    s = label_settings(min_submitted)
    s["questions"] += [{"name": "stars", "type": "rating", "values": [1, 2, 3, 4, 5]},
                       {"name": "reply", "type": "text"}]
    s["metadata"] = [{"name": "src", "type": "terms"},
                     {"name": "hidden", "type": "terms", "visible_for_annotators": False}]
    return s


def expected_answer(rid, text):
    n = int(rid[1:])
    return {"label": "pos" if n % 3 == 0 else "neg", "stars": 1 + n % 5,
            "reply": f"re: {text} [label,stars,reply]"}


# ---------------------------------------------------------------------------
# --exec

def check_exec_answers(root):
    records = text_records("x", 30)
    for i, r in enumerate(records):
        r["metadata"] = {"src": f"s{i % 2}", "hidden": "no peeking"}
    with Setup(root, "exec", exec_settings(), records) as s:
        p = bot(s.server.endpoint, "ds", "judge", "--exec", s.cmd("plain"), "--batch", 7, "--idle-exit", 1)
        expect_exit0(p, "exec")
        expect_eq(summary(p), (30, 0, 0, 0), "answered, discarded, released, errors")
        dump = s.store.dump("ds")
        for r in records:
            rec = dump[r["id"]]
            expect_eq(rec["status"], "completed", f"{r['id']}: status")
            resp = only_response(rec, "judge")
            expect_eq(resp["status"], "submitted", f"{r['id']}: response status")
            expect_eq(resp["values"], expected_answer(r["id"], r["fields"]["text"]), f"{r['id']}: values")
        # The line format: exactly {"record", "settings"}, the record as leased, the
        # settings as annotators see them (the hidden metadata property left out).
        starts, lines = s.cmd_log()
        expect_eq(len(starts), 1, "CMD starts")
        expect_eq(len(lines), 30, "lines CMD read")
        shown = json.loads(run_jury(s.store.path, "dataset", "show", "ds").stdout)
        shown["metadata"] = [m for m in shown["metadata"] if m["visible_for_annotators"]]
        seen = []
        for line in lines:
            expect(line.endswith("\n") and line.count("\n") == 1, f"one line per record: {line[:80]!r}")
            msg = json.loads(line)
            expect_eq(sorted(msg), ["record", "settings"], "line keys")
            rec = msg["record"]
            expect_eq(sorted(rec), ["draft", "fields", "id", "lease_expires", "metadata", "suggestions"],
                      "record keys")
            i = int(rec["id"][1:])
            expect_eq(rec["fields"], {"text": f"text of x{i}"}, f"{rec['id']}: fields")
            expect_eq(rec["metadata"], {"src": f"s{i % 2}"}, f"{rec['id']}: metadata (visible only)")
            expect_eq(rec["draft"], None, f"{rec['id']}: draft")
            for k in ("fields", "questions", "metadata", "guidelines", "distribution"):
                expect_eq(msg["settings"].get(k), shown.get(k), f"settings.{k}")
            seen.append(rec["id"])
        expect_eq(seen, [r["id"] for r in records], "records in import order, each once")


def check_exec_faults(root):
    """CMD crashes on the 2nd record and prints garbage on the 3rd: both released, the rest answered."""
    records = text_records("e", 10)
    with Setup(root, "faults", exec_settings(), records) as s:
        p = bot(s.server.endpoint, "ds", "judge", "--exec", s.cmd("faults"), "--batch", 4, "--idle-exit", 1)
        expect_exit0(p, "exec faults")
        expect_eq(summary(p), (8, 0, 2, 0), "answered, discarded, released, errors")
        rel = released_lines(p)
        expect_eq(sorted(rel), ["e1", "e2"], "released records")
        expect_eq(rel["e1"], "no answer: CMD exited with status 3 (it is started again for the next record)",
                  "e1 reason")
        expect_eq(rel["e2"], "CMD's answer is not a JSON object: \"this is not JSON\"", "e2 reason")
        dump = s.store.dump("ds")
        for r in records:
            rec = dump[r["id"]]
            if r["id"] in ("e1", "e2"):
                expect_eq((rec["status"], rec["responses"]), ("pending", []), f"{r['id']}: left for others")
                continue
            expect_eq(rec["status"], "completed", f"{r['id']}: status")
            expect_eq(only_response(rec, "judge")["values"], expected_answer(r["id"], r["fields"]["text"]),
                      f"{r['id']}: values")
        # Started twice (once more after the crash, not after the garbage); every record
        # given to CMD once, although the released ones came back in later fetches.
        starts, lines = s.cmd_log()
        expect_eq(len(starts), 2, "CMD starts")
        expect_eq(sorted(json.loads(x)["record"]["id"] for x in lines), sorted(r["id"] for r in records),
                  "records given to CMD")
        # Given back, they are anyone else's: another annotator gets exactly those two.
        p2 = bot(s.server.endpoint, "ds", "other", "--exec", s.cmd("plain"), "--idle-exit", 1)
        expect_exit0(p2, "second bot")
        expect_eq(summary(p2), (2, 0, 0, 0), "second bot: answered, discarded, released, errors")
        expect_eq(s.store.status("ds")["completed"], 10, "completed after the second bot")


def check_exec_timeout_refusal_discard(root):
    """No answer in time, values the coordinator refuses, JSON that is not an object: released;
    {"discard": true} discards; "discard": false is not a value; extra output is dropped."""
    records = text_records("m", 9)
    with Setup(root, "more", exec_settings(), records) as s:
        p = bot(s.server.endpoint, "ds", "judge", "--exec", s.cmd("more"), "--exec-timeout-ms", 1500,
                "--batch", 3, "--idle-exit", 1)
        expect_exit0(p, "exec more")
        expect_eq(summary(p), (5, 1, 3, 0), "answered, discarded, released, errors")
        rel = released_lines(p)
        expect_eq(sorted(rel), ["m1", "m2", "m7"], "released records")
        expect_eq(rel["m1"], "no answer within 1500 ms (CMD was stopped and is started again for the next record)",
                  "m1 reason")
        expect_eq(rel["m2"], "the coordinator refused the values: /values/label: \"maybe\" is not one of the "
                  "labels \"pos\", \"neg\"", "m2 reason")
        expect_eq(rel["m7"], "CMD's answer is not a JSON object: \"[1, 2]\"", "m7 reason")
        expect(re.search(r"^juror: bot: dropping \d+ bytes CMD printed unasked: \"\{\"label\": \"neg\"\}\"$",
                         p.stderr, re.M), f"a warning about the unasked line:\n{p.stderr}")
        dump = s.store.dump("ds")
        expect_eq(dump["m3"]["responses"][0]["status"], "discarded", "m3 discarded")
        for rid in ("m0", "m4", "m5", "m6", "m8"):
            expect_eq(only_response(dump[rid], "judge")["values"],
                      expected_answer(rid, f"text of {rid}"), f"{rid}: values")
        for rid in ("m1", "m2", "m7"):
            expect_eq(dump[rid]["responses"], [], f"{rid}: no response")
        starts, _ = s.cmd_log()
        expect_eq(len(starts), 2, "CMD starts (again after the timeout)")


def check_exec_many_failures(root):
    """110 records given up on (more than a fetch holds) do not hide the 20 behind them: released
    records go back to the head of the coordinator's queue, so the bot keeps the ones that come
    back leased while more work may be behind them, and gives them back when its fetches run dry."""
    records = text_records("g", 130)
    with Setup(root, "many", exec_settings(), records) as s:
        p = bot(s.server.endpoint, "ds", "judge", "--exec", s.cmd("mostly-garbage"), "--batch", 10,
                "--idle-exit", 1)
        expect_exit0(p, "many failures")
        expect_eq(summary(p), (20, 0, 110, 0), "answered, discarded, released, errors")
        dump = s.store.dump("ds")
        for r in records:
            want = "completed" if int(r["id"][1:]) >= 110 else "pending"
            expect_eq(dump[r["id"]]["status"], want, f"{r['id']}: status")
        # serve.status is written each second: wait for one written after the bot left.
        wait_until(lambda: (s.store.live("ds") or {}).get("leases") == 0, 10,
                   "no leases left after the bot (parked records given back)")
        _, lines = s.cmd_log()
        expect_eq(len(lines), 130, "records given to CMD, each once")


def check_exec_missing_command(root):
    """A CMD that cannot run: every record released with the reason, and the bot still finishes."""
    with Setup(root, "missing", exec_settings(), text_records("z", 3)) as s:
        p = bot(s.server.endpoint, "ds", "judge", "--exec", os.path.join(s.dir, "no-such-cmd"), "--idle-exit", 1)
        expect_exit0(p, "missing command")
        expect_eq(summary(p), (0, 0, 3, 0), "answered, discarded, released, errors")
        for rid, why in released_lines(p).items():
            expect_eq(why, "no answer: CMD exited with status 127 (it is started again for the next record)",
                      f"{rid} reason")


# ---------------------------------------------------------------------------
# --simulate

def sim_settings(min_submitted=1):
    """One question of every type; the gold label comes from the visible metadata property `truth`."""
    return {"fields": [{"name": "text", "type": "text"}],
            "questions": [{"name": "reply", "type": "text"},
                          {"name": "sentiment", "type": "label_selection", "labels": ["pos", "neg", "mixed"]},
                          {"name": "stars", "type": "rating", "values": [1, 2, 3, 4, 5]},
                          {"name": "flags", "type": "multi_label_selection", "labels": ["spam", "toxic", "pii"]},
                          {"name": "order", "type": "ranking", "values": ["a", "b", "c"]},
                          {"name": "spans", "type": "span", "field": "text", "labels": ["who", "what"]}],
            "metadata": [{"name": "truth", "type": "terms"}],
            "distribution": {"min_submitted": min_submitted}}


LABELS = ["pos", "neg", "mixed"]


def sim_records(n, prefix="s"):
    """n records; gold in metadata `truth`; every 2nd with suggestions (one of them a different label)."""
    out = []
    for i in range(n):
        r = {"id": f"{prefix}{i}", "fields": {"text": f"Ann \u00e9crit {i}"},
             "metadata": {"truth": LABELS[i % 3]}}
        if i % 2:
            r["suggestions"] = {"reply": {"value": f"draft {i}"},
                                "sentiment": {"value": LABELS[(i + 1) % 3]},
                                "stars": {"value": 1 + i % 5},
                                "flags": {"value": ["pii"]},
                                "order": {"value": ["c", "a", "b"]},
                                "spans": {"value": [{"start": 0, "end": 3, "label": "who"}]}}
        out.append(r)
    return out


def check_simulate_gold(root):
    """error=0: the gold label exactly; every other answer the suggestion or the default."""
    records = sim_records(60)
    with Setup(root, "gold", sim_settings(), records) as s:
        p = bot(s.server.endpoint, "ds", "sim", "--simulate", "error=0,gold=truth", "--idle-exit", 1)
        expect_exit0(p, "simulate gold")
        expect_eq(summary(p), (60, 0, 0, 0), "answered, discarded, released, errors")
        dump = s.store.dump("ds")
        for i, r in enumerate(records):
            values = only_response(dump[r["id"]], "sim")["values"]
            if i % 2:
                want = {"reply": f"draft {i}", "sentiment": LABELS[i % 3], "stars": 1 + i % 5, "flags": ["pii"],
                        "order": ["c", "a", "b"], "spans": [{"start": 0, "end": 3, "label": "who"}]}
            else:
                want = {"reply": f"Simulated answer to reply for record s{i}.", "sentiment": LABELS[i % 3],
                        "stars": 3, "flags": ["spam"], "order": ["a", "b", "c"], "spans": []}
            expect_eq(values, want, f"{r['id']}: values")


def wrong_labels(dump, records, annotator):
    return sum(1 for r in records
               if only_response(dump[r["id"]], annotator)["values"]["sentiment"] != r["metadata"]["truth"])


# error=0.3 over 200 records gives a Binomial(200, 0.3) count of wrong labels: mean 60, sigma
# sqrt(200 * 0.3 * 0.7) = 6.5. The tolerance 60 +- 20 (3.1 sigma) fails a correct generator with
# probability 0.2%; it catches a rate that is off (0.2 or 0.4 would put the mean 3 sigma away).
# The count is also exact for a fixed seed: each record's draws depend only on the seed and the
# record id, so neither batching nor order changes it (test_simulate checks the rate tightly
# over 100,000 records).
SEED7_WRONG = 65


def check_simulate_error_rate(root):
    records = sim_records(200, "w")
    # Two runs of the same seed on two copies of the dataset, batched differently: the same answers.
    with Setup(root, "rate", sim_settings(), records, datasets=("ds", "ds2")) as s:
        p = bot(s.server.endpoint, "ds", "sim", "--simulate", "error=0.3,gold=truth,seed=7", "--batch", 13,
                "--idle-exit", 1)
        expect_exit0(p, "simulate error=0.3")
        p2 = bot(s.server.endpoint, "ds2", "other", "--simulate", "seed=7,gold=truth,error=0.3", "--batch", 4,
                 "--idle-exit", 1)
        expect_exit0(p2, "simulate error=0.3, second run")
        for run, ds, ann in ((p, "ds", "sim"), (p2, "ds2", "other")):
            expect_eq(summary(run), (200, 0, 0, 0), f"{ds}: answered, discarded, released, errors")
        d1, d2 = s.store.dump("ds"), s.store.dump("ds2")
        wrong = wrong_labels(d1, records, "sim")
        expect(40 <= wrong <= 80, f"{wrong} wrong labels of 200 at error=0.3: outside 60 +- 20")
        expect_eq(wrong, SEED7_WRONG, "wrong labels with seed=7")
        for r in records:
            expect_eq(only_response(d2[r["id"]], "other")["values"], only_response(d1[r["id"]], "sim")["values"],
                      f"{r['id']}: same seed, same answer")
        # The bot's own count covers the 5 graded questions; wrong labels are among them.
        m = SIMULATED.search(p.stderr)
        expect(m is not None, f"no simulated line:\n{p.stderr}")
        expect_eq(int(m.group(3)), 7, "seed in the summary")
        expect(wrong <= int(m.group(1)), "wrong labels within the bot's wrong answers")


def check_simulate_three_bots(root):
    """3 simulated bots, min_submitted 2: every record completed with exactly 2 distinct annotators."""
    records = sim_records(300, "c")
    with Setup(root, "three", sim_settings(min_submitted=2), records) as s:
        procs = {}
        results = {}

        def run(name):
            results[name] = bot(s.server.endpoint, "ds", name, "--simulate", "error=0.1,edit=0.3,think=0..3",
                                "--batch", 5, "--idle-exit", 2)

        for name in ("ann-1", "ann-2", "ann-3"):
            procs[name] = threading.Thread(target=run, args=(name,))
            procs[name].start()
        for t in procs.values():
            t.join(BOT_TIMEOUT_S + 10)
        answered = 0
        for name, p in sorted(results.items()):
            expect_exit0(p, name)
            a, d, rel, err = summary(p)
            expect_eq((d, rel, err), (0, 0, 0), f"{name}: discarded, released, errors")
            answered += a
        expect_eq(len(results), 3, "bots finished")
        expect_eq(answered, 600, "responses from the 3 bots")
        dump = s.store.dump("ds")
        for r in records:
            rec = dump[r["id"]]
            expect_eq(rec["status"], "completed", f"{r['id']}: status")
            anns = [x["annotator"] for x in rec["responses"] if x["status"] == "submitted"]
            expect_eq(len(anns), 2, f"{r['id']}: submitted responses")
            expect_eq(len(set(anns)), 2, f"{r['id']}: distinct annotators")
        st = s.store.status("ds")
        expect_eq((st["completed"], st["responses"]["submitted"]), (300, 600), "status")


def check_stop_signal(root):
    """SIGTERM stops a bot within seconds: with a live coordinator every answer it gave is stored
    (exit 0); with a coordinator that stopped answering (SIGSTOP) the call in progress gives up
    after 2 s instead of its 30 s timeout, and so does the final flush (exit 1)."""
    with Setup(root, "signal", sim_settings(), sim_records(3000, "t")) as s:
        def run_and_stop(annotator, freeze):
            cmd = [JUROR_BIN, "bot", "--connect", s.server.endpoint, "--dataset", "ds", "--annotator",
                   annotator, "--simulate", "think=20", "--batch", "5"]
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)
            try:
                wait_until(lambda: s.store.status("ds")["annotators"].get(annotator, {}).get("submitted", 0) >= 5,
                           30, f"{annotator}: 5 answers stored")
                if freeze:
                    os.kill(s.server.proc.pid, signal.SIGSTOP)
                    time.sleep(1.0)  # the bot is now waiting for an answer that does not come
                t0 = time.monotonic()
                proc.send_signal(signal.SIGTERM)
                out, err = proc.communicate(timeout=BOT_TIMEOUT_S)
                took = time.monotonic() - t0
            finally:
                if freeze:
                    os.kill(s.server.proc.pid, signal.SIGCONT)
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            return proc.returncode, err.decode("utf-8", "replace"), took

        rc, err, took = run_and_stop("live", False)
        expect_eq(rc, 0, f"live coordinator: exit code (stderr: {err})")
        expect(", stopped by a signal)" in err, f"the summary says why it stopped: {err}")
        answered = int(SUMMARY.search(err).group(1))
        wait_until(lambda: s.store.status("ds")["annotators"].get("live", {}).get("submitted") == answered,
                   10, f"the {answered} answers the bot counted are stored")

        rc, err, took = run_and_stop("frozen", True)
        expect_eq(rc, 1, f"frozen coordinator: exit code (stderr: {err})")
        expect(took < 15, f"stopped {took:.1f} s after SIGTERM; a call's timeout is 30 s (stderr: {err})")
        expect(re.search(r"no (answer|acknowledgement).* within \d+ ms|unacknowledged after \d+ ms", err),
               f"the bot says which call gave up: {err}")
        expect(", stopped by a signal)" in err, f"the summary says why it stopped: {err}")


def check_max_and_discard(root):
    """--max stops after N answers (submitted or discarded); discard=1 discards everything."""
    with Setup(root, "max", sim_settings(), sim_records(30, "q")) as s:
        p = bot(s.server.endpoint, "ds", "sim", "--simulate", "", "--max", 7, "--batch", 5, "--idle-exit", 1)
        expect_exit0(p, "--max")
        expect_eq(summary(p), (7, 0, 0, 0), "--max 7")
        # the 23 records not completed yet
        p = bot(s.server.endpoint, "ds", "tosser", "--simulate", "discard=1", "--idle-exit", 1)
        expect_exit0(p, "discard=1")
        expect_eq(summary(p), (0, 23, 0, 0), "discard=1")
        st = s.store.status("ds")
        expect_eq((st["completed"], st["responses"]["submitted"], st["responses"]["discarded"]), (7, 7, 23),
                  "status")


def check_bad_usage(root):
    del root
    cases = [
        ([], "juror: bot: give exactly one of --exec CMD and --simulate SPEC (see juror bot --help)"),
        (["--exec", "cat", "--simulate", ""], "juror: bot: give exactly one of --exec CMD and --simulate SPEC"
         " (see juror bot --help)"),
        (["--simulate", "bogus=1"], "juror: bot: --simulate: unknown key 'bogus' (keys: error, discard, edit, "
         "think, gold, seed)"),
        (["--simulate", "error=1.5"], "juror: bot: --simulate: error=1.5: must be a probability within 0..1, "
         "such as error=0.1"),
        (["--simulate", "", "--batch", "0"], "juror: bot: --batch: '0' is not a number of records within 1..100"),
        (["--simulate", "", "--frobnicate"], "juror: bot: unknown option '--frobnicate' (see juror bot --help)"),
    ]
    for args, want in cases:
        p = subprocess.run([JUROR_BIN, "bot", "--dataset", "d", "--annotator", "a", "--connect",
                            "tcp://127.0.0.1:1", *args], capture_output=True, timeout=30)
        expect_eq((p.returncode, p.stderr.decode().strip()), (2, want), f"juror bot {' '.join(args)}")
    p = subprocess.run([JUROR_BIN, "bot", "--help"], capture_output=True, timeout=30)
    expect_eq(p.returncode, 0, "--help exit")
    expect('{"record": RECORD, "settings": SETTINGS}' in p.stdout.decode(), "--help documents the line format")


def main():
    checks = Checks("test_bot")
    if not os.access(JUROR_BIN, os.X_OK):
        print(f"no juror program at {JUROR_BIN} (set JUROR_BIN)", flush=True)
        print("0 passed, 1 failed", flush=True)
        return 1
    root = make_tmpdir("bot-")
    try:
        for name, fn in [("bad_usage", check_bad_usage),
                         ("exec_answers", check_exec_answers),
                         ("exec_crash_and_garbage", check_exec_faults),
                         ("exec_timeout_refusal_discard", check_exec_timeout_refusal_discard),
                         ("exec_many_failures", check_exec_many_failures),
                         ("exec_missing_command", check_exec_missing_command),
                         ("simulate_gold_exact", check_simulate_gold),
                         ("simulate_error_rate_seed7", check_simulate_error_rate),
                         ("simulate_three_bots_n2", check_simulate_three_bots),
                         ("max_and_discard", check_max_and_discard),
                         ("stop_signal", check_stop_signal)]:
            if len(sys.argv) > 1 and name not in sys.argv[1:]:
                continue
            checks.run(name, fn, root)
    finally:
        rc = checks.finish()
        if rc == 0:
            rmtree(root)
        else:
            print(f"kept {root} for inspection", flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
