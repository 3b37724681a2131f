"""test_disk_full: the real `jury serve` when its disk fills mid-campaign: answers are refused with a retryable EFULL and never acknowledged unstored, fetches go on, and writes resume by themselves when space returns."""

# The disk is "filled" with a file size limit on the running coordinator
# (RLIMIT_FSIZE, set from outside with prlimit(2): writes that would take
# data.mdb past it fail, as they fail on a full file system; the coordinator
# ignores SIGXFSZ), and "freed" by lifting the limit again. A client written
# from SPEC.md (jurytest.Peer) answers records with 4 KB texts, so that a few
# dozen answers outgrow the room left.
#
# Checked, with exact values: every answer acknowledged before, during and
# after is in the store (`jury dump`), none that was refused is; the first
# failing commit's submit gets `error` EFULL naming that nothing was stored;
# while the disk is full, submits are refused at once with EFULL and fetches
# still return records; the log has `store_full` then `store_writable`; after
# the limit is lifted the refused answers, sent again, are stored and the
# campaign completes; `jury check` finds the store sound.

import os
import resource
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jurytest import (Checks, Peer, Server, Store, expect, expect_eq, make_tmpdir, rmtree,  # noqa: E402
                      run_jury, text_records, wait_until)

RECORDS = 120
TEXT = 4000  # bytes of each answer


def settings():
    return {"fields": [{"name": "text", "type": "text"}],
            "questions": [{"name": "answer", "type": "text"}],
            "distribution": {"min_submitted": 1}}


def answer(rid):
    return {"record": rid, "status": "submitted", "values": {"answer": (rid + " ") * (TEXT // (len(rid) + 1))}}


def stored_answers(st):
    dump = st.dump("d")
    return sorted(rid for rid, r in dump.items() if any(x["status"] == "submitted" for x in r["responses"]))


def main():
    root = make_tmpdir("diskfull-")
    checks = Checks("test_disk_full")
    st = Store(os.path.join(root, "store"))
    st.create_dataset("d", settings())
    st.import_records("d", text_records("r", RECORDS))
    srv = Server(st.path, log_level="info")
    srv.start()
    peer = Peer(srv.endpoint, name="ana")
    acked, refused = [], []
    state = {}

    def before_the_limit():
        peer.hello("ana", "d")
        recs = peer.fetch(10)
        expect_eq(len(recs), 10, "records fetched")
        for r in recs:
            res = peer.submit([answer(r["id"])])
            expect_eq(res[0]["ok"], True, f"{r['id']}: acknowledged")
            acked.append(r["id"])
        expect_eq(stored_answers(st), sorted(acked), "stored answers")

    def disk_fills():
        size = os.path.getsize(os.path.join(st.path, "data.mdb"))
        _, hard = resource.prlimit(srv.proc.pid, resource.RLIMIT_FSIZE)
        state["hard"] = hard
        resource.prlimit(srv.proc.pid, resource.RLIMIT_FSIZE, (size + 16 * 1024, hard))
        # Answer one record per submit until a commit fails; each earlier one was acknowledged.
        first_error = None
        for _ in range(60):
            recs = peer.fetch(1)
            expect_eq(len(recs), 1, "a record to answer")
            rid = recs[0]["id"]
            msg = peer.request("submit", responses=[answer(rid)])
            expect(msg is not None, f"{rid}: a reply")
            if msg["cmd"] == "results":
                expect_eq(msg["results"][0]["ok"], True, f"{rid}: acknowledged")
                acked.append(rid)
                continue
            expect_eq((msg["cmd"], msg["code"]), ("error", "EFULL"), f"{rid}: the failed commit's reply")
            expect("nothing was stored" in msg["reason"], f"{rid}: reason {msg['reason']!r}")
            refused.append(rid)
            first_error = rid
            break
        expect(first_error is not None, "a commit failed within 60 answers of 4 KB past a 16 KB limit")
        state["pending_rid"] = first_error

    def refused_at_once_and_fetches_go_on():
        # The refused record is still leased to ana: sent again at once, it is refused again (EFULL,
        # without a commit: the next try is not due), and a fetch still hands out a new record.
        msg = peer.request("submit", responses=[answer(state["pending_rid"])])
        expect_eq((msg["cmd"], msg["code"]), ("error", "EFULL"), "a submit while the disk is full")
        expect("disk is full" in msg["reason"] or "nothing was stored" in msg["reason"],
               f"reason {msg['reason']!r}")
        recs = peer.fetch(2)
        expect_eq(len(recs), 2, "fetch while the disk is full")
        state["later"] = [r["id"] for r in recs]
        expect_eq(stored_answers(st), sorted(acked), "stored answers: the acknowledged ones, only")
        log = open(srv.log_path).read()
        expect("event=store_full" in log, "store_full in the log")

    def space_returns():
        resource.prlimit(srv.proc.pid, resource.RLIMIT_FSIZE,
                         (resource.RLIM_INFINITY, state["hard"]))
        # The failed commit rebuilt the schedule from the store, which may hand the refused record
        # out again in the fetch above: each record once.
        todo = list(dict.fromkeys([state["pending_rid"]] + state["later"]))
        deadline = time.monotonic() + 30
        while todo and time.monotonic() < deadline:
            msg = peer.request("submit", responses=[answer(todo[0])])
            if msg["cmd"] == "error" and msg["code"] == "EFULL":
                time.sleep(0.2)  # the coordinator's next try is not due yet
                continue
            expect_eq(msg["cmd"], "results", f"{todo[0]}: reply")
            expect_eq(msg["results"][0]["ok"], True, f"{todo[0]}: acknowledged")
            acked.append(todo.pop(0))
        expect_eq(todo, [], "every refused answer stored once space returned")
        wait_until(lambda: "event=store_writable" in open(srv.log_path).read(), 5, "store_writable logged")

    def campaign_completes():
        while True:
            recs = peer.fetch(20)
            if not recs:
                break
            res = peer.submit([answer(r["id"]) for r in recs])
            expect_eq([x["ok"] for x in res], [True] * len(recs), "answers acknowledged")
            acked.extend(r["id"] for r in recs)
        dup = sorted({x for x in acked if acked.count(x) > 1})
        expect_eq(dup, [], "records acknowledged twice")
        expect_eq(len(acked), RECORDS, "answers acknowledged in all")
        expect_eq(stored_answers(st), sorted(acked), "stored answers")
        expect_eq(st.status("d")["completed"], RECORDS, "completed records")
        peer.bye()
        expect_eq(srv.stop(), 0, "jury serve exit code")
        p = run_jury(st.path, "check", "d")
        expect(p.stdout.startswith("ok: dataset d: "), f"jury check: {p.stdout!r}")

    try:
        for name, fn in (("answers before the limit are acknowledged and stored", before_the_limit),
                         ("the disk fills: the failing commit's answer gets EFULL", disk_fills),
                         ("while full: submits refused at once, fetches go on", refused_at_once_and_fetches_go_on),
                         ("space returns: the refused answers are stored", space_returns),
                         ("the campaign completes; the store is sound", campaign_completes)):
            if not checks.run(name, fn):
                break
    finally:
        peer.close()
        if srv.running():
            srv.kill()
    rc = checks.finish()
    if rc == 0:
        rmtree(root)
    else:
        print(f"kept {root} for inspection")
    return rc


if __name__ == "__main__":
    sys.exit(main())
