"""test_backup_check: `jury backup` and `jury check` on real stores: a backup taken while `jury serve` and three `juror bot`s write is a sound store (`jury check` clean) from which a new coordinator finishes the campaign (every record completed with exactly N submitted responses from distinct annotators); a backup onto an existing path fails without --force and replaces it with --force; `jury check` names the exact problem in a store damaged with lmdb-utils (mdb_dump / mdb_load), and a store of a newer schema is refused with a message that says to upgrade."""

# Campaign: 90 records, min_submitted 2, three simulated annotators that think 30..60 ms per
# record, so that the campaign runs for seconds. The backup is taken once the first 20 responses
# are in; whatever state it catches, it must be whole (each record's responses, counters and index
# agreeing), which `jury check` verifies, and partial (the campaign is finished from it later).

import os
import re
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jurytest import (SOURCE_DIR, Checks, CheckFailed, Server, Store, expect, expect_eq,  # noqa: E402
                      label_settings, make_tmpdir, popen_tied, rmtree, run_jury, text_records,
                      wait_until)

JUROR_BIN = os.environ.get("JUROR_BIN") or os.path.join(SOURCE_DIR, "build", "bin", "juror")
DATASET = "ops"
RECORDS = 90
N = 2
BOTS = ("ana", "bob", "cat")
BOT_TIMEOUT_S = 120  # a bound, not a measure
WROTE = re.compile(r"^wrote (\S+)/data\.mdb: [0-9.]+ (bytes|KiB|MiB) \((\d+) bytes; the store uses "
                   r"[0-9.]+ (bytes|KiB|MiB)\), snapshot of \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, in "
                   r"[0-9.]+ s$")


def start_bot(endpoint, name, think):
    return popen_tied([JUROR_BIN, "bot", "--connect", endpoint, "--dataset", DATASET, "--annotator", name,
                       "--simulate", f"think={think},seed=7", "--batch", "5", "--idle-exit", "1"],
                      stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_bots(procs, what):
    for name, p in procs.items():
        try:
            _, err = p.communicate(timeout=BOT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            raise CheckFailed(f"{what}: {name} did not exit within {BOT_TIMEOUT_S} s")
        expect_eq(p.returncode, 0, f"{what}: {name} exit ({err.strip()[-400:]})")


def mdb_dump(store, table):
    """The rows of one table as [(key bytes, value bytes)], read with lmdb-utils' mdb_dump."""
    out = subprocess.run(["mdb_dump", "-s", table, store], capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    body = lines[lines.index("HEADER=END") + 1:lines.index("DATA=END")]
    return [(bytes.fromhex(body[i].strip()), bytes.fromhex(body[i + 1].strip())) for i in range(0, len(body), 2)]


def mdb_put(store, table, rows):
    """Writes rows [(key, value)] into one table with mdb_load (replacing those keys)."""
    text = "VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n"
    text += "".join(f" {k.hex()}\n {v.hex()}\n" for k, v in rows) + "DATA=END\n"
    subprocess.run(["mdb_load", "-s", table, store], input=text, capture_output=True, text=True, check=True)


def main():
    root = make_tmpdir("jury-backup")
    checks = Checks("backup and check")
    store = Store(os.path.join(root, "store"))
    bk = os.path.join(root, "bk")
    server = Server(store.path, log_level="info")
    procs = {}

    def backup_while_serving():
        store.create_dataset(DATASET, label_settings(min_submitted=N))
        store.import_records(DATASET, text_records("r", RECORDS))
        server.start()
        for name in BOTS:
            procs[name] = start_bot(server.endpoint, name, "30..60")
        wait_until(lambda: store.status(DATASET)["responses"]["submitted"] >= 20, 60,
                   "the first 20 responses")
        p = run_jury(store.path, "backup", bk)
        m = WROTE.match(p.stdout.strip())
        expect(m is not None, f"backup output: {p.stdout!r}")
        expect_eq(m.group(1), bk, "the path it names")
        expect_eq(int(m.group(3)), os.path.getsize(os.path.join(bk, "data.mdb")), "the size it names")
        expect_eq(os.stat(bk).st_mode & 0o777, 0o700, "backup directory mode")
        expect_eq(os.stat(os.path.join(bk, "data.mdb")).st_mode & 0o777, 0o600, "data.mdb mode")
        expect(not [n for n in os.listdir(root) if ".tmp-" in n], f"no temporary left: {os.listdir(root)}")
        # Stop everything: the bots give their leases back, the coordinator exits cleanly.
        for p in procs.values():
            p.send_signal(signal.SIGTERM)
        finish_bots(procs, "stopping the bots")
        procs.clear()
        expect_eq(server.stop(), 0, "jury serve exits 0 on SIGTERM")

    def backup_is_sound_and_partial():
        p = run_jury(bk, "check")
        st = Store(bk).status(DATASET)
        done, sub = st["completed"], st["responses"]["submitted"]
        expect_eq(p.stdout, f"ok: dataset {DATASET}: {RECORDS} records, {sub} responses\n", "jury check on the backup")
        expect(20 <= sub < N * RECORDS and done < RECORDS, f"a partial campaign: {done} completed, {sub} submitted")
        recs = Store(bk).dump(DATASET)
        expect_eq(sum(r["submitted"] for r in recs.values()), sub, "dump and status agree on submitted responses")
        for rid, r in recs.items():
            expect_eq(r["status"], "completed" if r["submitted"] >= N else "pending", f"{rid} status")
        # The live store, written on after the backup, is sound too.
        p = run_jury(store.path, "check")
        expect(re.fullmatch(rf"ok: dataset {DATASET}: {RECORDS} records, \d+ responses\n", p.stdout),
               f"jury check on the store: {p.stdout!r}")
        print(f"the backup holds {sub} of {N * RECORDS} submitted responses, {done} of {RECORDS} records completed",
              flush=True)

    def campaign_finishes_from_backup():
        with Server(bk, log_level="info", log_path=bk + ".serve.log") as srv:
            bots = {name: start_bot(srv.endpoint, name, "0") for name in BOTS}
            finish_bots(bots, "finishing the campaign")
        st = Store(bk).status(DATASET)
        expect_eq((st["records"], st["pending"], st["completed"], st["discarded"]), (RECORDS, 0, RECORDS, 0),
                  "records, pending, completed, set aside")
        expect_eq(st["responses"], {"submitted": N * RECORDS, "discarded": 0, "draft": 0}, "responses")
        expect_eq(sum(a["submitted"] for a in st["annotators"].values()), N * RECORDS, "annotators' responses")
        recs = Store(bk).dump(DATASET)
        expect_eq(len(recs), RECORDS, "records in dump")
        for rid, r in recs.items():
            who = [x["annotator"] for x in r["responses"] if x["status"] == "submitted"]
            expect_eq((r["status"], r["submitted"], len(who), len(set(who))), ("completed", N, N, N),
                      f"{rid}: status, submitted, responses, distinct annotators")
        out = run_jury(bk, "export", DATASET, "--format", "responses").stdout
        expect_eq(len(out.splitlines()), N * RECORDS, "exported responses")
        p = run_jury(bk, "check", DATASET)
        expect_eq(p.stdout, f"ok: dataset {DATASET}: {RECORDS} records, {N * RECORDS} responses\n",
                  "jury check after the campaign")

    def backup_onto_existing_path():
        p = run_jury(store.path, "backup", bk, check=False)
        expect_eq((p.returncode, p.stdout, p.stderr),
                  (1, "", f"jury: backup: {bk} exists already; --force replaces it\n"), "backup onto a backup")
        expect_eq(run_jury(bk, "status", DATASET, "--json", check=False).returncode, 0, "the old backup is intact")
        expect_eq(Store(bk).status(DATASET)["completed"], RECORDS, "the old backup is unchanged")
        p = run_jury(store.path, "backup", bk, "--force")
        expect(WROTE.match(p.stdout.strip()), f"backup --force output: {p.stdout!r}")
        expect_eq(Store(bk).status(DATASET)["responses"]["submitted"], store.status(DATASET)["responses"]["submitted"],
                  "the backup replaced by the store's state")
        other = os.path.join(root, "notes")
        os.mkdir(other)
        with open(os.path.join(other, "keep.txt"), "w") as f:
            f.write("keep")
        p = run_jury(store.path, "backup", other, "--force", check=False)
        expect_eq((p.returncode, p.stderr),
                  (1, f"jury: backup: {other} is a directory of other files, not a backup (no data.mdb): "
                      "not replacing it, even with --force\n"), "backup --force onto a directory of other files")
        expect(os.path.exists(os.path.join(other, "keep.txt")), "its files are kept")
        for args, want in ((["backup"], 2), (["backup", "a", "b"], 2), (["backup", bk, "--frobnicate"], 2)):
            expect_eq(run_jury(store.path, *args, check=False).returncode, want, f"jury {' '.join(args)}")
        expect(not [n for n in os.listdir(root) if ".tmp-" in n], f"no temporary left: {os.listdir(root)}")

    def check_names_the_damage():
        damaged = os.path.join(root, "damaged")
        run_jury(bk, "backup", damaged)
        # The dataset's counter row (dataset 1, annotator 0): one record more than there is.
        rows = dict(mdb_dump(damaged, "counters"))
        key = bytes.fromhex("0000000100000000")
        v = bytearray(rows[key])
        v[0:8] = (int.from_bytes(v[0:8], "big") + 1).to_bytes(8, "big")
        # Record r5's state: one submitted response more than it has.
        rid = dict(mdb_dump(damaged, "extids"))[bytes.fromhex("00000001") + b"r5"]
        st = bytearray(dict(mdb_dump(damaged, "rstate"))[rid])
        st[5:9] = (int.from_bytes(st[5:9], "big") + 1).to_bytes(4, "big")
        mdb_put(damaged, "counters", [(key, bytes(v))])
        mdb_put(damaged, "rstate", [(rid, bytes(st))])
        p = run_jury(damaged, "check", check=False)
        expect_eq((p.returncode, p.stdout, p.stderr),
                  (1, f"dataset {DATASET}: record \"r5\": its state counts {N + 1} submitted responses; it has {N}\n"
                      f"dataset {DATASET}: dataset counters: {RECORDS + 1} records; the records say {RECORDS}\n"
                      f"dataset {DATASET}: 2 problems\n", ""), "jury check on the damaged store")
        p = run_jury(damaged, "check", "nope", check=False)
        expect_eq((p.returncode, p.stderr), (2, f"jury: check: no dataset 'nope' in {damaged} (see jury dataset list)\n"),
                  "jury check of an unknown dataset")

    def newer_schema_refused():
        newer = os.path.join(root, "newer")
        run_jury(bk, "backup", newer)
        mdb_put(newer, "meta", [(b"schema_version", (2).to_bytes(4, "big"))])
        for args in (["check"], ["status", DATASET], ["backup", os.path.join(root, "x")]):
            p = run_jury(newer, *args, check=False)
            expect_eq(p.returncode, 1, f"jury {args[0]} on a newer store: exit")
            expect(f"jury: error: store {newer} was written by a newer jury (store schema 2; this jury reads 1): "
                   "upgrade jury\n" in p.stderr, f"jury {args[0]} on a newer store: {p.stderr!r}")

    try:
        for name, fn in (("backup while jury serve and three bots write", backup_while_serving),
                         ("the backup is sound and partial", backup_is_sound_and_partial),
                         ("the campaign finishes from the backup", campaign_finishes_from_backup),
                         ("backup onto an existing path: refused, then --force", backup_onto_existing_path),
                         ("jury check names the damage", check_names_the_damage),
                         ("a store of a newer schema is refused", newer_schema_refused)):
            if not checks.run(name, fn):
                break  # every check builds on the one before
    finally:
        for p in procs.values():
            p.kill()
        server.kill()
        rc = checks.finish()
        if rc == 0:
            rmtree(root)
        else:
            print(f"kept {root} for inspection", flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
