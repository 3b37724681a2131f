"""test_top: `jury top` against a store the real `jury serve` serves while `juror bot`s answer: the text snapshot (--once, and by default when stdout is not a terminal) during and after the campaign, NAME, bad usage, and the curses dashboard in tmux (q quits)."""

# During the campaign the figures move, so the checks there are on the shape
# of every line and on what must hold (a rate above 0, the ETA of the needed
# responses at that rate, counts between two `jury status` readings taken
# before and after). After the bots are done the store is still, and the
# whole output is checked exactly against `jury status --json`.

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jurytest import (JURY_BIN, SOURCE_DIR, Checks, CheckFailed, Server, Store, expect,  # noqa: E402
                      expect_eq, label_settings, make_tmpdir, popen_tied, rmtree, run_jury,
                      text_records, wait_until)

JUROR_BIN = os.environ.get("JUROR_BIN") or os.path.join(SOURCE_DIR, "build", "bin", "juror")
BOT_TIMEOUT_S = 120  # a bound, not a measure: the campaign takes a few seconds
BOTS = ("ana", "bo", "cy")
RECORDS = 150

DATASET_LINE = re.compile(r"^ds    \[(#*)(\.*)\]  +(\d+\.\d)%  (\d+\.\d) resp/s  (ETA (\S+)|done)$")
ANNOTATOR_LINE = re.compile(r"^  (\S+) +(\d+\.\d|-) +(\d+\.\d%|-) +(-?\d\.\d{3}|-) +(\d+)$")
DURATION = re.compile(r"^(\d+)s$|^(\d+)m(\d\d)s$|^(\d+)h(\d\d)m$|^(\d+)d(\d\d)h$")


def settings():
    """Two label answers per record (min_submitted 2) and a rating, both tracked live; a record
    discarded once is set aside (max_discards 1)."""
    s = label_settings(min_submitted=2, max_discards=1)
    s["questions"].append({"name": "stars", "type": "rating", "values": [1, 2, 3, 4, 5]})
    return s


def top(store, *args, check=True):
    """`jury top ARGS` with stdout a pipe; returns the CompletedProcess."""
    return run_jury(store.path, "top", *args, check=check)


def duration_s(text):
    """Seconds of a dashboard duration ("45s", "3m12s", "2h05m", "3d04h")."""
    m = DURATION.match(text)
    expect(m, f"a duration: {text!r}")
    g = [int(x) if x else 0 for x in m.groups()]
    return g[0] + g[1] * 60 + g[2] + g[3] * 3600 + g[4] * 60 + g[5] * 86400 + g[6] * 3600


def counts(status):
    """(completed, set aside, submitted, discarded) of `jury status --json`."""
    r = status["responses"]
    return (status["completed"], status["discarded"], r["submitted"], r["discarded"])


def parse_block(lines, name):
    """The lines of dataset `name`'s block (its progress line to the line before the next blank)."""
    for i, line in enumerate(lines):
        if line.startswith(name + " ") and "[" in line:
            j = i
            while j < len(lines) and lines[j] != "":
                j += 1
            return lines[i:j]
    raise CheckFailed(f"no block of dataset {name} in:\n" + "\n".join(lines))


class Campaign:
    """A store with datasets ds (RECORDS records) and idle (3 records, never served to anyone),
    a coordinator on it, and a bot per name in BOTS answering ds."""

    def __init__(self, root):
        self.dir = os.path.join(root, "campaign")
        os.makedirs(self.dir)
        self.store = Store(os.path.join(self.dir, "store"))
        self.store.create_dataset("ds", settings())
        self.store.import_records("ds", text_records("r", RECORDS))
        self.store.create_dataset("idle", settings())
        self.store.import_records("idle", text_records("i", 3))
        self.server = Server(self.store.path, log_level="info").start()
        self.bots = []

    def start_bots(self):
        for name in BOTS:
            log = open(os.path.join(self.dir, f"bot-{name}.log"), "wb")
            # Slow enough (10..30 ms a record) that the campaign lasts a few seconds; a few
            # discards and wrong answers so that every figure has something to show.
            self.bots.append((popen_tied(
                [JUROR_BIN, "bot", "--connect", self.server.endpoint, "--dataset", "ds",
                 "--annotator", name, "--simulate", "error=0.2,discard=0.05,think=10..30",
                 "--idle-exit", "2"], stdin=subprocess.DEVNULL, stdout=log, stderr=log), log))

    def wait_bots(self):
        for p, log in self.bots:
            try:
                rc = p.wait(BOT_TIMEOUT_S)
            finally:
                log.close()
            expect_eq(rc, 0, "juror bot's exit code")
        self.bots = []

    def close(self):
        for p, log in self.bots:
            p.kill()
            p.wait()
            log.close()
        self.server.stop()


def check_during(c):
    """Mid-campaign: every line's shape; the rate above 0 and the ETA at that rate; counts between
    two status readings."""
    c.start_bots()
    wait_until(lambda: len((c.store.live("ds") or {}).get("connected", [])) == 3, 30,
               "3 bots connected (serve.status)")
    wait_until(lambda: c.store.status("ds")["responses"]["submitted"] >= 30, 30, "30 responses")
    before = counts(c.store.status("ds"))
    p = top(c.store, "--once", "--interval-ms", 500)
    after = counts(c.store.status("ds"))
    lines = p.stdout.splitlines()
    expect_eq(lines[0], f"jury top: coordinator pid {c.server.proc.pid}, 3 sessions", "header")
    block = parse_block(lines, "ds")
    m = DATASET_LINE.match(block[0])
    expect(m, f"the dataset line: {block[0]!r}")
    expect_eq(len(m.group(1)) + len(m.group(2)), 20, "bar width at 80 columns")
    rate = float(m.group(4))
    expect(rate > 0, f"a rate above 0 while 3 bots answer: {block[0]!r}")
    m2 = re.match(r"^  records    (\d+): (\d+) completed, (\d+) set aside, (\d+) pending$", block[1])
    expect(m2, f"the records line: {block[1]!r}")
    total, completed, set_aside, pending = (int(x) for x in m2.groups())
    expect_eq(total, RECORDS, "records")
    expect_eq(completed + set_aside + pending, RECORDS, "completed + set aside + pending")
    expect(before[0] <= completed <= after[0], f"completed {completed} within {before[0]}..{after[0]}")
    permille = (completed + set_aside) * 1000 // RECORDS
    expect_eq(m.group(3), f"{permille // 10}.{permille % 10}", "progress percentage")
    expect_eq(len(m.group(1)), (completed + set_aside) * 20 // RECORDS, "# in the bar")
    m3 = re.match(r"^  responses  (\d+) submitted, (\d+) discarded, (\d+) draft, (\d+) more needed$",
                  block[2])
    expect(m3, f"the responses line: {block[2]!r}")
    submitted, discarded, _, needed = (int(x) for x in m3.groups())
    expect(before[2] <= submitted <= after[2], f"submitted {submitted} within {before[2]}..{after[2]}")
    expect(before[3] <= discarded <= after[3], f"discarded {discarded} within {before[3]}..{after[3]}")
    expect(needed >= pending, f"{needed} responses needed for {pending} pending records")
    if pending:
        # The ETA is the needed responses at the rate, rounded up to the unit shown.
        eta = duration_s(m.group(6))
        expect(needed / rate <= eta <= needed / rate + 60, f"ETA {m.group(6)} for {needed} at {rate}/s")
    m4 = re.match(r"^  live       (\d+) connected, (\d+) leases?$", block[3])
    expect(m4, f"the live line: {block[3]!r}")
    expect_eq(int(m4.group(1)), 3, "connected")
    expect(re.match(r"^  agreement  label  (-?\d\.\d{3}|n/a: .*) \(\d+ records?\)$", block[4]),
           f"the label agreement line: {block[4]!r}")
    expect(re.match(r"^             stars  (-?\d\.\d{3}|n/a: .*) \(\d+ records?\)$", block[5]),
           f"the stars agreement line: {block[5]!r}")
    expect_eq(block[6], "  annotator  resp/min  discards  agreement  submitted", "table heading")
    names = []
    for line in block[7:]:
        m5 = ANNOTATOR_LINE.match(line)
        expect(m5, f"an annotator line: {line!r}")
        names.append(m5.group(1))
        expect(m5.group(2) != "-" and float(m5.group(2)) > 0, f"{m5.group(1)} answers: {line!r}")
    expect_eq(sorted(names), sorted(BOTS), "annotators")
    # The idle dataset: the coordinator loads a dataset on its first session, so no live line.
    idle = parse_block(lines, "idle")
    expect_eq(idle, ["idle  [....................]    0.0%  0.0 resp/s  ETA -",
                     "  records    3: 0 completed, 0 set aside, 3 pending",
                     "  responses  0 submitted, 0 discarded, 0 draft, 6 more needed"],
              "the idle dataset's block")


def fmt_share(a):
    answered = a["submitted"] + a["discarded"]
    return "-" if answered == 0 else "%.1f%%" % (a["discarded"] / answered * 100)


def check_after(c):
    """The campaign over: the whole output, exactly, from `jury status --json`; NAME shows one
    dataset; with stdout a pipe `jury top` prints once without --once."""
    c.wait_bots()
    wait_until(lambda: (c.store.live("ds") or {}).get("connected") == [], 30,
               "no session left (serve.status)")
    st = c.store.status("ds")
    # Whatever is left pending (a bot that gave up while the only records left were leased to
    # others) is in the ETA and the needed count: 2 submitted responses a record.
    dump = c.store.dump("ds")
    needed = sum(2 - sum(1 for x in rec["responses"] if x["status"] == "submitted")
                 for rec in dump.values() if rec["status"] == "pending")
    finished = st["completed"] + st["discarded"]
    permille = finished * 1000 // RECORDS
    bar = "#" * (finished * 20 // RECORDS) + "." * (20 - finished * 20 // RECORDS)
    expect(st["discarded"] > 0, "records set aside (discarded once, max_discards 1)")
    # Agreement with others per annotator, as `jury status` computes it (6 decimals).
    quality = {q["annotator"]: q["agreement_mean"] for q in st["annotators_quality"]}
    p = top(c.store, "ds", "--once", "--interval-ms", 200)
    lines = p.stdout.splitlines()
    r = st["responses"]
    want = [f"jury top: coordinator pid {c.server.proc.pid}, 0 sessions",
            "",
            f"ds  [{bar}]  {permille // 10:3}.{permille % 10}%  0.0 resp/s  "
            + ("done" if st["pending"] == 0 else "ETA -"),
            f"  records    {RECORDS}: {st['completed']} completed, {st['discarded']} set aside, "
            f"{st['pending']} pending",
            f"  responses  {r['submitted']} submitted, {r['discarded']} discarded, {r['draft']} draft, "
            f"{needed} more needed",
            "  live       0 connected, 0 leases"]
    # Alpha: the same value `jury status` prints to 6 decimals, shown to 3 (compared within
    # rounding, since rounding twice may differ in the last place).
    for i, q in enumerate(("label", "stars")):
        line = lines[len(want)]
        m = re.match(r"^(  agreement|           ) {2}(\S+) {2}(-?\d\.\d{3}) \((\d+) records\)$", line)
        expect(m, f"agreement line {i}: {line!r}")
        expect_eq(m.group(2), q, "question")
        a = st["agreement"][q]
        expect(abs(float(m.group(3)) - a["alpha"]) <= 0.0005 + 1e-9, f"{q}: alpha {m.group(3)} vs {a['alpha']}")
        expect_eq(int(m.group(4)), a["records"], f"{q}: records")
        want.append(line)
    want.append("  annotator  resp/min  discards  agreement  submitted")
    # Nobody answers any more: every rate is 0.0, so the table is by name.
    for name in sorted(BOTS):
        a = st["annotators"][name]
        agree = "-" if quality.get(name) is None else "%.3f" % quality[name]
        want.append(f"  {name:<9}  {'0.0':>8}  {fmt_share(a):>8}  {agree:>9}  {a['submitted']:>9}")
    expect_eq(lines, want, "jury top ds --once")

    # Without NAME both datasets; without --once, stdout a pipe: one snapshot all the same.
    p = top(c.store, "--interval-ms", 100)
    lines = p.stdout.splitlines()
    expect_eq([ln.split("[")[0].strip() for ln in lines if "[" in ln], ["ds", "idle"], "datasets shown")
    expect_eq(parse_block(lines, "ds")[0], want[2].replace("ds  [", "ds    ["), "ds aligned with idle")


def check_usage(c):
    """A dataset that is not there, bad options, and a store without a coordinator."""
    p = top(c.store, "nosuch", "--once", check=False)
    expect_eq((p.returncode, p.stdout), (2, ""), "exit code and output for a missing dataset")
    expect_eq(p.stderr.strip(), f"jury: top: no dataset 'nosuch' in {c.store.path} (see jury dataset list)",
              "message")
    p = top(c.store, "--interval-ms", "5", check=False)
    expect_eq(p.returncode, 2, "exit code for --interval-ms 5")
    expect_eq(p.stderr.splitlines()[0],
              "jury: top: --interval-ms: '5' is not a number of milliseconds from 10 to 600000", "message")
    expect_eq(top(c.store, "a", "b", check=False).returncode, 2, "exit code for two names")
    p = run_jury(os.path.join(c.dir, "nostore"), "top", "--once", check=False)
    expect_eq(p.returncode, 2, "exit code without a store")
    c.server.stop()
    lines = top(c.store, "idle", "--once", "--interval-ms", 50).stdout.splitlines()
    expect_eq(lines[:3], ["jury top: no coordinator is running on this store", "",
                          "idle  [....................]    0.0%  0.0 resp/s  ETA -"], "without a coordinator")
    expect("  live" not in "\n".join(lines), "no live line without a coordinator")


class Tmux:
    """A command in a detached tmux session on a private tmux server; the exit code goes to a file."""

    def __init__(self, dirpath, argv, cols=100, rows=30):
        self.name = f"jurytop-{os.getpid()}"
        self.exit_path = os.path.join(dirpath, self.name + ".exit")
        self.err_path = os.path.join(dirpath, self.name + ".stderr")
        env = "env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=screen"
        shell = (f"{env} {' '.join(shlex.quote(a) for a in argv)} 2>{shlex.quote(self.err_path)}; "
                 f"echo $? >{shlex.quote(self.exit_path)}; sleep 600")
        self._tmux("new-session", "-d", "-x", str(cols), "-y", str(rows), "-s", "top", shell)

    def _tmux(self, *args):
        p = subprocess.run(["tmux", "-L", self.name, "-f", "/dev/null", *args], capture_output=True, timeout=30)
        if p.returncode != 0:
            raise CheckFailed(f"tmux {' '.join(args[:2])}: {p.stderr.decode('utf-8', 'replace').strip()}")
        return p.stdout.decode("utf-8", "replace")

    def screen(self):
        return self._tmux("capture-pane", "-p", "-t", "top")

    def exit_code(self):
        def read():
            try:
                with open(self.exit_path) as f:
                    return f.read().strip() or None
            except FileNotFoundError:
                return None
        return int(wait_until(read, 30, "jury top to exit"))

    def close(self):
        subprocess.run(["tmux", "-L", self.name, "-f", "/dev/null", "kill-server"], capture_output=True, timeout=30)


def check_screen(c):
    """The curses dashboard in a 100x30 terminal: readings every 200 ms, the keys line, q quits."""
    if shutil.which("tmux") is None:
        raise CheckFailed("tmux is not installed (apt-get install tmux)")
    t = Tmux(c.dir, [JURY_BIN, "--store", c.store.path, "top", "ds", "--interval-ms", "200"])
    try:
        last = [""]

        def shown():
            last[0] = t.screen()
            return "q quits; a reading every 0.2 s" in last[0] and "0.0 resp/s" in last[0]
        try:
            wait_until(shown, 30, "the dashboard", interval_s=0.1)
        except CheckFailed as e:
            raise CheckFailed(f"{e}; the screen was:\n{last[0]}")
        rows = last[0].split("\n")
        # 100 columns: a 30-wide bar.
        expect(re.match(r"^ds  \[[#.]{30}\] +\d+\.\d%  0\.0 resp/s", rows[2]), f"row 2: {rows[2]!r}")
        expect_eq(rows[29].rstrip(), "q quits; a reading every 0.2 s", "the last row")
        time.sleep(0.5)  # a few more readings
        t._tmux("send-keys", "-t", "top", "q")
        expect_eq(t.exit_code(), 0, "exit code after q")
        with open(t.err_path, "rb") as f:
            err = f.read().decode("utf-8", "replace")
        expect_eq(err, "", "stderr")
    finally:
        t.close()


def main():
    checks = Checks("test_top")
    for binary in (JURY_BIN, JUROR_BIN):
        if not os.access(binary, os.X_OK):
            print(f"no program at {binary} (set JURY_BIN and JUROR_BIN)", flush=True)
            return 1
    root = make_tmpdir("jury-top-")
    c = None
    try:
        c = Campaign(root)
        if checks.run("during the campaign", check_during, c):
            checks.run("after the campaign", check_after, c)
            checks.run("the curses dashboard", check_screen, c)
        checks.run("bad usage, no coordinator", check_usage, c)
    finally:
        if c is not None:
            c.close()
    rc = checks.finish()
    if rc == 0:
        rmtree(root)
    return rc


if __name__ == "__main__":
    sys.exit(main())
