"""test_faults: whole campaigns with real `jury serve` and simulated annotator processes, through worker and coordinator crashes."""

# a. 3 workers, min_submitted 2, 1,000 records: every record ends completed
#    with exactly 2 submitted responses from 2 distinct annotators.
# b. the same while one worker is SIGKILLed holding a batch: its leases go to
#    the others once it is declared dead (--heartbeat-ms 200; the leases
#    themselves last 600 s, so only the heartbeat can free them in time).
# c. the same while the coordinator is SIGKILLed at about 40% and restarted
#    on the same store and endpoint: every acknowledged response is stored
#    exactly once, no record ever has more than 2 submitted, all complete.
#
# Workers are tests/integration/sim_worker.py processes; each appends the
# responses acknowledged to it to an ack log (fsynced), which is compared with
# `jury dump` at the end. Usage: test_faults.py [a|b|c ...] (default: all).

import json
import os
import signal
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jurytest import (PYTHON, Checks, CheckFailed, Server, Store, expect, expect_eq,  # noqa: E402
                      label_settings, make_tmpdir, popen_tied, rmtree, text_records)

HERE = os.path.dirname(os.path.abspath(__file__))
SIM = os.path.join(HERE, "sim_worker.py")
RECORDS = 1000
N = 2
ANNOTATORS = ["ann-1", "ann-2", "ann-3"]
HEARTBEAT_MS = 200
CAMPAIGN_TIMEOUT_S = 80  # a bound, not a measure: healthy runs take a few seconds


class Worker:
    """One sim_worker process; its stdout lines are collected by a thread."""

    def __init__(self, dirpath, endpoint, store, annotator, extra=()):
        self.annotator = annotator
        self.ack_log = os.path.join(dirpath, annotator + ".acks")
        self.err_path = os.path.join(dirpath, annotator + ".stderr")
        self.lines = []
        with open(self.err_path, "ab") as err:
            self.proc = popen_tied(
                [PYTHON, SIM, "--endpoint", endpoint, "--store", store, "--dataset", "camp",
                 "--annotator", annotator, "--ack-log", self.ack_log, "--batch", "5",
                 "--deadline", str(CAMPAIGN_TIMEOUT_S - 10), *extra],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.decode("utf-8", "replace").strip())

    def acks(self):
        out = []
        try:
            with open(self.ack_log) as f:
                for line in f:
                    out.append(json.loads(line))
        except FileNotFoundError:
            pass
        return out

    def stderr_tail(self, n=15):
        try:
            with open(self.err_path, "rb") as f:
                return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-n:])
        except OSError:
            return ""

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass


def check_dump_invariants(dump, where):
    """No record has more submitted responses than its target, or one annotator twice."""
    for rid, r in dump.items():
        subs = [x for x in r["responses"] if x["status"] == "submitted"]
        if len(subs) > r["target"] or r["submitted"] > r["target"]:
            raise CheckFailed(f"{where}: {rid} has {len(subs)} submitted responses, target {r['target']}: {r}")
        anns = [x["annotator"] for x in r["responses"]]
        if len(set(anns)) != len(anns):
            raise CheckFailed(f"{where}: {rid} has one annotator twice: {anns}")


def campaign(root, name, kill_worker=False, kill_coordinator=False):
    d = os.path.join(root, name)
    os.makedirs(d)
    store = Store(os.path.join(d, "store"))
    store.create_dataset("camp", label_settings(N, lease_seconds=600))
    store.import_records("camp", text_records("c", RECORDS))
    server = Server(store.path, heartbeat_ms=HEARTBEAT_MS, log_level="info")
    workers = []
    notes = []
    t0 = time.monotonic()
    try:
        server.start()
        think = "20" if kill_coordinator else "0"
        for i, ann in enumerate(ANNOTATORS):
            extra = ["--think-ms", think, "--seed", str(i)]
            if kill_worker and i == 0:
                extra += ["--hold-first", "60"]
            workers.append(Worker(d, server.endpoint, store.path, ann, extra))
        victim = workers[0] if kill_worker else None
        held = None
        restarted = False
        dumps = 0
        last_dump = 0.0
        deadline = t0 + CAMPAIGN_TIMEOUT_S
        while True:
            now = time.monotonic()
            if now >= deadline:
                raise CheckFailed(f"campaign not done within {CAMPAIGN_TIMEOUT_S} s")
            alive = [w for w in workers if w.proc.poll() is None]
            if not alive:
                break
            if victim is not None and held is None:
                hold = [ln for ln in victim.lines if ln.startswith("HOLD ")]
                if hold:
                    held = hold[0].split()[1:]
                    victim.kill()
                    notes.append(f"killed {victim.annotator} holding {len(held)} records "
                                 f"at {now - t0:.1f} s")
            if kill_coordinator and not restarted:
                st = store.status("camp")
                if st["completed"] >= 0.4 * RECORDS:
                    server.kill()
                    notes.append(f"killed the coordinator at {st['completed']} completed, "
                                 f"{st['responses']['submitted']} submitted, {now - t0:.1f} s")
                    # down for longer than 3 heartbeat intervals: workers
                    # declare it dead and reconnect with backoff (8)
                    time.sleep(1.0)
                    server.start()
                    restarted = True
            if now - last_dump >= 0.5:
                check_dump_invariants(store.dump("camp"), f"dump during the campaign at {now - t0:.1f} s")
                dumps += 1
                last_dump = now
            time.sleep(0.05)
        elapsed = time.monotonic() - t0

        for w in workers:
            if w is victim:
                expect_eq(w.proc.returncode, -signal.SIGKILL, f"{w.annotator} exit (SIGKILLed)")
                continue
            if w.proc.returncode != 0:
                raise CheckFailed(f"{w.annotator} exited {w.proc.returncode}:\n{w.stderr_tail()}")
        if kill_worker:
            expect(held, "the victim fetched a batch")
        if kill_coordinator:
            expect(restarted, "the coordinator was killed and restarted mid-campaign")

        dump = store.dump("camp")
        check_dump_invariants(dump, "final dump")
        expect_eq(len(dump), RECORDS, "records in the dump")
        stored = {}
        for rid, r in dump.items():
            subs = [x for x in r["responses"] if x["status"] == "submitted"]
            if (r["status"], r["target"], r["submitted"], len(subs), len(r["responses"])) != ("completed", N, N, N, N):
                raise CheckFailed(f"record {rid} is not completed with exactly {N} submitted responses: {r}")
            for x in subs:
                stored[(rid, x["annotator"])] = x["values"]
        st = store.status("camp")
        expect_eq((st["records"], st["pending"], st["completed"], st["discarded"]), (RECORDS, 0, RECORDS, 0),
                  "status records/pending/completed/discarded")
        expect_eq(st["responses"], {"submitted": N * RECORDS, "discarded": 0, "draft": 0}, "status responses")

        acked = {}
        for w in workers:
            for a in w.acks():
                key = (a["record"], a["annotator"])
                if key in acked:
                    raise CheckFailed(f"{key} acknowledged twice (a record leased again to its annotator?)")
                acked[key] = {"label": a["label"]}
        for key, values in acked.items():
            if key not in stored:
                raise CheckFailed(f"acknowledged response {key} is not in the dump")
            if stored[key] != values:
                raise CheckFailed(f"acknowledged response {key}: dump has {stored[key]}, worker sent {values}")
        # A stored response was either acknowledged, or its worker resubmitted
        # it until it was (9.2): every stored one is in some ack log.
        missing = sorted(set(stored) - set(acked))
        expect(not missing, f"{len(missing)} stored responses were never acknowledged, e.g. {missing[:3]}")
        if kill_worker:
            vict = victim.annotator
            expect(all(a != vict for (_, a) in stored), "the killed worker stored nothing")
            for rid in held:
                anns = sorted(x["annotator"] for x in dump[rid]["responses"])
                expect(vict not in anns, f"{rid} (held by the victim) completed by others: {anns}")
        expect_eq(server.stop(), 0, "coordinator exit code after SIGTERM")
        per = {w.annotator: len(w.acks()) for w in workers}
        notes.append(f"{elapsed:.1f} s, acks per worker {per}, {dumps} dumps checked during the run")
        for n in notes:
            print(f"      ({n})", flush=True)
    except BaseException:
        for n in notes:
            print(f"      ({n})", flush=True)
        for w in workers:
            print(f"      {w.annotator} stderr:\n{w.stderr_tail()}", flush=True)
        print(f"      coordinator log:\n{server.log_tail()}", flush=True)
        raise
    finally:
        for w in workers:
            w.kill()
        server.kill()


def main(argv):
    parts = argv or ["a", "b", "c"]
    checks = Checks("faults")
    root = make_tmpdir("faults-")
    table = {
        "a": ("a. 3 workers, N=2, 1,000 records: exactly 2 distinct submitted each", {}),
        "b": ("b. a worker SIGKILLed holding a batch: its records go to others", {"kill_worker": True}),
        "c": ("c. the coordinator SIGKILLed at ~40% and restarted: no acknowledged response lost",
              {"kill_coordinator": True}),
    }
    for p in parts:
        title, kw = table[p]
        checks.run(title, lambda p=p, kw=kw: campaign(root, p, **kw))
    code = checks.finish()
    if code == 0 and not os.environ.get("JURY_TEST_KEEP"):
        rmtree(root)
    else:
        print(f"(kept {root} for inspection)")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
