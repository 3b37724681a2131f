"""test_tui: `juror tui` driven like a person would, inside tmux (send-keys, capture-pane), against the real `jury serve`, checking what the coordinator stored."""

# Each session runs in a detached tmux session on a private tmux server
# (tmux -L NAME -f /dev/null), so nothing here touches anyone else's tmux.
# The screen is read with capture-pane and every expectation is polled with a
# timeout; what was answered is verified with `jury dump`, exactly.
#
#   a. the record (UTF-8, wide characters), its suggestion and the progress show;
#      submitting without the required rating shows the reason; the suggestion
#      kept plus a rating is stored exactly; an inline edit is stored exactly;
#      discard, skip and draft do what they say; q flushes and says bye.
#   b. $EDITOR edits a text answer while the session keeps its heartbeats
#      (the editor takes longer than the coordinator's dead-worker timeout).
#   c. the coordinator's refusal (an expired lease) shows its reason on screen.
#   d. a terminal smaller than 60x15 shows a clear message, and the UI once it
#      is resized; q quits from either.
#   e. guidelines and help toggle.
#   f. --review: an annotator is refused (exit 1, the coordinator's reason); a
#      reviewer sees why two rejected records wait, their responses and the
#      consolidation; 1 copies the first response and s accepts it; x rejects
#      the second with a note; `jury export --format records` shows both.
#
# Usage: test_tui.py [a|b|c|d|e|f ...] (default: all).

import itertools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jurytest import (SOURCE_DIR, Checks, CheckFailed, Peer, Server, Store, expect, expect_eq,  # noqa: E402
                      make_tmpdir, rmtree, run_jury, wait_until)

JUROR_BIN = os.environ.get("JUROR_BIN") or os.path.join(SOURCE_DIR, "build", "bin", "juror")
SCREEN_TIMEOUT_S = 30  # a bound, not a measure: screens change within milliseconds
HEARTBEAT_MS = 300     # the coordinator declares a worker dead after 3 silent intervals
_tmux_ids = itertools.count(1)

with open(os.path.join(SOURCE_DIR, "ops", "examples", "support-sft.settings.json")) as f:
    SUPPORT = json.load(f)
SUPPORT["distribution"] = {"min_submitted": 1}

QUALITY_REQUIRED = '/values/quality: question "quality" is required in a submitted response'


def records(prefix, n):
    """n support records with UTF-8 text and a suggested reply each."""
    out = []
    for i in range(1, n + 1):
        out.append({
            "id": f"{prefix}-{i}",
            "fields": {"instruction": f"Grüße aus Köln, Bestellung {i}00{i}: 日本語のテキスト {i}.",
                       "context": f"Order {i}00{i}, shipped."},
            "metadata": {"category": "shipping"},
            "suggestions": {"response": {"value": f"Danke! Ihre Bestellung {i}00{i} ist unterwegs.",
                                         "score": 0.62, "agent": "draft-v1"}},
        })
    return out


def squash(text):
    """Whitespace runs as single spaces: wrapped lines read as one text."""
    return " ".join(text.split())


class Tui:
    """`juror tui` in a detached tmux session of its own.

    stderr goes to a file (checked for sanitizer reports on close); the exit
    code is written to a file when juror ends, and the pane stays open so the
    last screen can still be read."""

    def __init__(self, dirpath, endpoint, dataset, annotator, cols=100, rows=30, args=(), env=None):
        self.name = f"jurytui-{os.getpid()}-{next(_tmux_ids)}"
        self.err_path = os.path.join(dirpath, self.name + ".stderr")
        self.exit_path = os.path.join(dirpath, self.name + ".exit")
        envs = {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TERM": "screen"}
        envs.update(env or {})
        argv = [JUROR_BIN, "tui", "--connect", endpoint, "--dataset", dataset,
                "--annotator", annotator, *args]
        shell = (" ".join(["env"] + [f"{k}={shlex.quote(v)}" for k, v in envs.items()] +
                          [shlex.quote(a) for a in argv]) +
                 f" 2>{shlex.quote(self.err_path)}; echo $? >{shlex.quote(self.exit_path)}; sleep 600")
        self._tmux("new-session", "-d", "-x", str(cols), "-y", str(rows), "-s", "tui", shell)

    def _tmux(self, *args):
        p = subprocess.run(["tmux", "-L", self.name, "-f", "/dev/null", *args],
                           capture_output=True, timeout=30)
        if p.returncode != 0:
            raise CheckFailed(f"tmux {' '.join(args[:2])}: {p.stderr.decode('utf-8', 'replace').strip()}")
        return p.stdout.decode("utf-8", "replace")

    def screen(self):
        """The pane as text, one line per row."""
        return self._tmux("capture-pane", "-p", "-t", "tui")

    def wait_for(self, *texts, timeout_s=SCREEN_TIMEOUT_S):
        """Waits until the screen shows every text (wrapping ignored); returns the screen."""
        want = [squash(t) for t in texts]
        last = [""]

        def shown():
            last[0] = self.screen()
            flat = squash(last[0])
            return last[0] if all(w in flat for w in want) else None
        try:
            return wait_until(shown, timeout_s, f"the screen to show {texts!r}", interval_s=0.1)
        except CheckFailed as e:
            raise CheckFailed(f"{e}; the screen was:\n{last[0]}\nstderr: {self.stderr()}")

    def keys(self, *keys):
        """tmux key names (Tab, Enter, C-u, Escape, ...) or single characters."""
        self._tmux("send-keys", "-t", "tui", *keys)

    def type(self, text):
        """Types text literally."""
        self._tmux("send-keys", "-t", "tui", "-l", text)

    def resize(self, cols, rows):
        self._tmux("resize-window", "-t", "tui", "-x", str(cols), "-y", str(rows))

    def record_id(self, not_id=None):
        """Waits for the header to name a record (other than not_id) and returns its id."""
        pat = re.compile(r"(\S+) · lease ")

        def current():
            m = pat.search(self.screen().splitlines()[0] if self.screen() else "")
            return m.group(1) if m and m.group(1) != not_id else None
        return wait_until(current, SCREEN_TIMEOUT_S, f"a record other than {not_id} in the header")

    def exit_code(self, timeout_s=SCREEN_TIMEOUT_S):
        def read():
            try:
                with open(self.exit_path) as f:
                    text = f.read().strip()
                return text or None
            except FileNotFoundError:
                return None
        return int(wait_until(read, timeout_s, "juror tui to exit"))

    def stderr(self):
        try:
            with open(self.err_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def close(self):
        """Ends the private tmux server (and juror with it, if still running)."""
        subprocess.run(["tmux", "-L", self.name, "-f", "/dev/null", "kill-server"],
                       capture_output=True, timeout=30)

    def expect_clean_stderr(self):
        err = self.stderr()
        for bad in ("Sanitizer", "runtime error:"):
            expect(bad not in err, f"juror tui's stderr has a {bad} report:\n{err}")


def responses_of(store, dataset, annotator):
    """record id -> the annotator's response {status, values} in `jury dump`."""
    out = {}
    for rid, rec in store.dump(dataset).items():
        for r in rec.get("responses") or []:
            if r["annotator"] == annotator:
                out[rid] = {"status": r["status"], "values": r.get("values")}
    return out


def leases_of(store, dataset):
    live = store.live(dataset) or {}
    return live.get("leases")


class Env:
    """One store and coordinator for all checks; each check has datasets of its own."""

    def __init__(self):
        self.dir = make_tmpdir("jury-tui-")
        self.store = Store(os.path.join(self.dir, "store"))
        self.store.create_dataset("support", SUPPORT)
        self.recs = {r["id"]: r for r in records("t", 5)}
        self.store.import_records("support", list(self.recs.values()))
        self.server = Server(self.store.path, heartbeat_ms=HEARTBEAT_MS, log_level="info")
        self.server.start()

    def tui(self, dataset, annotator, **kw):
        return Tui(self.dir, self.server.endpoint, dataset, annotator, **kw)

    def suggestion(self, rid):
        return self.recs[rid]["suggestions"]["response"]["value"]

    def close(self):
        try:
            self.server.stop()
        finally:
            rmtree(self.dir)


def check_session(env):
    """a: a whole session of one annotator."""
    tui = env.tui("support", "bob")
    try:
        # The record, its suggestion, and the progress.
        first = tui.record_id()
        rec = env.recs[first]
        tui.wait_for("juror · support · bob", "answered 0/3 leased", "Customer message",
                     rec["fields"]["instruction"], "Account and order context",
                     "Ticket category: shipping", "Corrected reply *",
                     env.suggestion(first), "(the suggestion, by draft-v1, score 0.62)")

        # Submitting without the required rating: the reason, on screen; nothing stored.
        tui.keys("Tab")
        tui.wait_for("Draft quality *", "(not rated yet)")
        tui.keys("s")
        tui.wait_for("cannot submit: " + QUALITY_REQUIRED)
        expect_eq(responses_of(env.store, "support", "bob"), {}, "responses after a refused submit")

        # Keep the suggestion, rate 4, submit: stored exactly.
        tui.keys("4")
        tui.wait_for("[4]")
        tui.keys("s")
        tui.wait_for(f"submitted {first}", "answered 1/3 leased")
        expect_eq(responses_of(env.store, "support", "bob"),
                  {first: {"status": "submitted",
                           "values": {"response": env.suggestion(first), "quality": 4}}},
                  "responses after the first submit")

        # The next record: edit the reply inline (UTF-8), rate 5, submit.
        second = tui.record_id(not_id=first)
        tui.wait_for(env.recs[second]["fields"]["instruction"], env.suggestion(second))
        reply = "Ma réponse ✓ 日本 — merci"
        tui.keys("i")
        tui.wait_for("edit:", "Enter keep")
        tui.keys("C-u")
        tui.type(reply)
        tui.keys("Enter")
        tui.wait_for(reply, "(edited; r goes back to the suggestion)", "text updated")
        tui.keys("Tab", "5", "s")
        tui.wait_for(f"submitted {second}", "answered 2/3 leased")
        expect_eq(responses_of(env.store, "support", "bob")[second],
                  {"status": "submitted", "values": {"response": reply, "quality": 5}},
                  "the inline-edited response")

        # Discard the third, after confirming.
        third = tui.record_id(not_id=second)
        tui.keys("x")
        tui.wait_for("Discard this record?")
        tui.keys("y")
        tui.wait_for(f"discarded {third}", "1 discarded")
        expect_eq(responses_of(env.store, "support", "bob")[third]["status"], "discarded",
                  "the discarded record's response")

        # Skip the fourth: released, no response.
        fourth = tui.record_id(not_id=third)
        tui.keys("n")
        tui.wait_for(f"skipped {fourth}", "1 skipped")
        fifth = tui.record_id(not_id=fourth)
        expect(fourth not in responses_of(env.store, "support", "bob"), "a skipped record has no response")

        # A draft of the fifth: partial answers, stored as a draft.
        tui.keys("Tab", "2", "d")
        tui.wait_for(f"draft of {fifth} saved")
        expect_eq(responses_of(env.store, "support", "bob")[fifth],
                  {"status": "draft", "values": {"response": env.suggestion(fifth), "quality": 2}},
                  "the draft")
        wait_until(lambda: (leases_of(env.store, "support") or 0) >= 1, SCREEN_TIMEOUT_S,
                   "`jury status` to show bob's leases")

        # q: nothing unsaved, so it flushes, says bye and exits 0.
        tui.keys("q")
        expect_eq(tui.exit_code(), 0, "juror tui's exit code")
        tui.wait_for("juror tui: 2 submitted, 1 discarded, 1 skipped this session")
        wait_until(lambda: leases_of(env.store, "support") == 0, SCREEN_TIMEOUT_S,
                   "bob's leases to be released by bye")
        tui.expect_clean_stderr()
    finally:
        tui.close()


def check_editor(env):
    """b: $EDITOR takes longer than the coordinator's dead-worker timeout; the session survives."""
    env.store.create_dataset("edit", SUPPORT)
    env.store.import_records("edit", records("e", 2))
    script = os.path.join(env.dir, "slow-editor.sh")
    text = "Rewritten in the editor: Größe 42, 日本."
    dead_s = 3 * HEARTBEAT_MS / 1000
    with open(script, "w") as f:
        # The file holds the current answer; the editor checks it, then replaces it.
        f.write("#!/bin/sh\n"
                f"grep -q 'Danke!' \"$1\" || exit 3\n"
                f"sleep {dead_s + 1.5:.1f}\n"
                f"printf '%s\\n' {shlex.quote(text)} > \"$1\"\n")
    os.chmod(script, 0o755)
    tui = env.tui("edit", "carol", env={"EDITOR": script, "VISUAL": ""})
    try:
        rid = tui.record_id()
        tui.wait_for("e: edit in $EDITOR")
        tui.keys("e")
        tui.wait_for(text, "text updated", "(edited; r goes back to the suggestion)")
        tui.keys("Tab", "3", "s")
        tui.wait_for(f"submitted {rid}")
        expect_eq(responses_of(env.store, "edit", "carol"),
                  {rid: {"status": "submitted", "values": {"response": text, "quality": 3}}},
                  "the response edited in $EDITOR")
        # One session all along: never declared dead, never reconnected.
        with open(env.server.log_path, encoding="utf-8", errors="replace") as f:
            log = [line for line in f if " annotator=carol " in line]
        expect(not any('reason="heartbeat timeout"' in line for line in log),
               "carol's session was declared dead while the editor ran")
        expect_eq(sum(" event=connect " in line for line in log), 1, "carol's connects")
        tui.keys("q")
        expect_eq(tui.exit_code(), 0, "juror tui's exit code")
        tui.expect_clean_stderr()
    finally:
        tui.close()


def check_refusal(env):
    """c: the coordinator refuses a response (the lease ran out): its reason shows on screen."""
    short = dict(SUPPORT, distribution={"min_submitted": 1, "lease_seconds": 5})
    env.store.create_dataset("short", short)
    env.store.import_records("short", records("s", 1))
    tui = env.tui("short", "dave", args=["--batch", "1"])
    try:
        rid = tui.record_id()
        tui.keys("Tab", "3")
        tui.wait_for("[3]")
        tui.wait_for("lease expired", timeout_s=15)
        time.sleep(1.0)  # past the coordinator's own clock too
        tui.keys("s")
        tui.wait_for(f"{rid}: record '{rid}' is not leased to dave", "on to the next record")
        expect_eq(responses_of(env.store, "short", "dave"), {}, "responses after an expired lease")
        tui.keys("q")
        expect_eq(tui.exit_code(), 0, "juror tui's exit code")
        tui.expect_clean_stderr()
    finally:
        tui.close()


def check_small(env):
    """d: too small a terminal: a clear message; the UI after a resize; q quits."""
    env.store.create_dataset("small", SUPPORT)
    env.store.import_records("small", records("m", 1))
    tui = env.tui("small", "erin", cols=40, rows=10)
    try:
        tui.wait_for("juror tui needs at least 60x15; this terminal is 40x10.",
                     "press q to quit")
        expect(leases_of(env.store, "small") == 0, "nothing is leased while the terminal is too small")
        tui.resize(100, 30)
        tui.wait_for("Customer message", "Corrected reply *")
        tui.resize(59, 30)
        tui.wait_for("juror tui needs at least 60x15; this terminal is 59x30.")
        tui.keys("q")
        expect_eq(tui.exit_code(), 0, "juror tui's exit code")
        tui.expect_clean_stderr()
    finally:
        tui.close()
    # Too small from start to end: q still ends it cleanly.
    tui = env.tui("small", "frank", cols=40, rows=10)
    try:
        tui.wait_for("this terminal is 40x10")
        tui.keys("q")
        expect_eq(tui.exit_code(), 0, "juror tui's exit code")
        tui.expect_clean_stderr()
    finally:
        tui.close()


def check_panes(env):
    """e: g shows the guidelines, ? the keys, Esc goes back to the record."""
    env.store.create_dataset("panes", SUPPORT)
    env.store.import_records("panes", records("p", 1))
    tui = env.tui("panes", "gina")
    try:
        tui.record_id()
        tui.keys("g")
        tui.wait_for("Guidelines", "## Your task", "(g or Esc: back to the record)")
        tui.keys("?")
        tui.wait_for("Keys", "s submit the answers", "(? or Esc: back to the record)")
        tui.keys("Escape")
        tui.wait_for("Customer message", "Account and order context")
        # An unsaved change asks before quitting; n keeps the session.
        tui.keys("Tab", "1", "q")
        tui.wait_for("Quit? Your answers to this record are not saved")
        tui.keys("n")
        tui.wait_for("Draft quality *")
        tui.keys("q")
        tui.wait_for("Quit? Your answers to this record are not saved")
        tui.keys("y")
        expect_eq(tui.exit_code(), 0, "juror tui's exit code")
        expect_eq(responses_of(env.store, "panes", "gina"), {}, "nothing stored on quit")
        tui.expect_clean_stderr()
    finally:
        tui.close()


def check_review(env):
    """f: --review: refused to an annotator; a reviewer accepts one record and rejects another."""
    settings = dict(SUPPORT, distribution={"min_submitted": 2},
                    consolidation={"accept": {"min_agreement": {"quality": 1.0}}})
    env.store.create_dataset("rv", settings)
    recs = {r["id"]: r for r in records("v", 2)}
    env.store.import_records("rv", list(recs.values()))
    # Two annotators who disagree on the draft's quality: consolidate rejects both records.
    answers = {"ann1": {"response": "Reply from ann1", "quality": 2},
               "ann2": {"response": "Reply from ann2", "quality": 4}}
    for name, values in answers.items():
        peer = Peer(env.server.endpoint, name=name)
        try:
            peer.hello(name, "rv")
            ids = [r["id"] for r in peer.fetch(2)]
            expect_eq(ids, ["v-1", "v-2"], f"{name}'s batch")
            res = peer.submit([{"record": rid, "status": "submitted", "values": values} for rid in ids])
            expect(all(r["ok"] for r in res), f"{name}'s answers: {res}")
            peer.bye()
        finally:
            peer.close()
    summary = json.loads(run_jury(env.store.path, "consolidate", "rv", "--json").stdout)
    expect_eq((summary["accepted"], summary["rejected"]), (0, 2), "consolidate rejects both")
    before = {r["id"]: r for r in map(json.loads, run_jury(env.store.path, "export", "rv", "--format",
                                                            "records").stdout.splitlines())}
    reason = before["v-1"]["reason"]
    expect_eq(before["v-1"]["unified"]["quality"], 3, "the consolidation's quality (the mean of 2 and 4)")
    run_jury(env.store.path, "keygen")
    run_jury(env.store.path, "annotator", "add", "rita", "--role", "reviewer", "--datasets", "rv",
             "--out", os.path.join(env.dir, "rita.key"))

    # An annotator may not review: the coordinator's reason on stderr, exit 1, no screen.
    tui = env.tui("rv", "ann1", args=["--review"])
    try:
        expect_eq(tui.exit_code(), 1, "juror tui --review's exit code for an annotator")
        expect_eq(tui.stderr().strip(),
                  "juror: tui --review: cannot fetch records to review: review_fetch: ann1 has the role "
                  "annotator; reviewing needs the role reviewer or admin", "the refusal")
    finally:
        tui.close()

    tui = env.tui("rv", "rita", args=["--review"], cols=120, rows=50)
    try:
        expect_eq(tui.record_id(), "v-1", "the first record to review")
        tui.wait_for("juror · rv · rita", "review: 0 accepted, 0 rejected of 2 leased",
                     "Waiting for review", f"rejected by jury consolidate: {reason}",
                     "Responses (1-2 copies one into the answers)",
                     "1 ann1 submitted Reply from ann1 2", "2 ann2 submitted Reply from ann2 4",
                     "Consolidation", "Draft quality: 3", "Customer message",
                     recs["v-1"]["fields"]["instruction"], "(the consolidation's value)")
        # 1 copies ann1's answers; s accepts them.
        tui.keys("1")
        tui.wait_for("copied response 1 (ann1) into your answers", "(copied from response 1, ann1;")
        tui.keys("s")
        tui.wait_for("accepted v-1", "review: 1 accepted, 0 rejected of 2 leased")
        expect_eq(tui.record_id(not_id="v-1"), "v-2", "the next record to review")
        # x asks for a note; Enter rejects.
        tui.keys("x")
        tui.wait_for("reject; note (optional):", "Enter reject")
        tui.type("both replies invent a refund")
        tui.keys("Enter")
        tui.wait_for("rejected v-2", "review: 1 accepted, 1 rejected of 2 leased",
                     "No record waits for review right now")
        tui.keys("q")
        expect_eq(tui.exit_code(), 0, "juror tui --review's exit code")
        tui.wait_for("juror tui: 1 accepted, 1 rejected, 0 skipped this session")
        tui.expect_clean_stderr()
    finally:
        tui.close()
    after = {r["id"]: r for r in map(json.loads, run_jury(env.store.path, "export", "rv", "--format",
                                                           "records").stdout.splitlines())}
    expect_eq({rid: {k: r[k] for k in ("decision", "unified", "reason", "reviewed_by", "review_note")}
               for rid, r in after.items()},
              {"v-1": {"decision": "accepted", "unified": answers["ann1"], "reason": None,
                       "reviewed_by": "rita", "review_note": None},
               "v-2": {"decision": "rejected", "unified": {},
                       "reason": "rejected by reviewer rita: both replies invent a refund",
                       "reviewed_by": "rita", "review_note": "both replies invent a refund"}},
              "export --format records after the review")


CHECKS = {"a": ("session", check_session), "b": ("editor", check_editor),
          "c": ("refusal", check_refusal), "d": ("small", check_small), "e": ("panes", check_panes),
          "f": ("review", check_review)}


def main(argv):
    checks = Checks("test_tui")
    if shutil.which("tmux") is None:
        print("tmux is not installed (apt-get install tmux)", flush=True)
        return 1
    if not os.access(JUROR_BIN, os.X_OK):
        print(f"no juror program at {JUROR_BIN} (set JUROR_BIN)", flush=True)
        return 1
    want = argv[1:] or sorted(CHECKS)
    env = Env()
    try:
        for key in want:
            name, fn = CHECKS[key]
            checks.run(name, fn, env)
    finally:
        env.close()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
