#!/usr/bin/python3
"""bench_size: `jury serve` on a store of 10,000,000 records at the end of a campaign.

Generates N records (10,000,000 by default; one short text field, a pos/neg
label question, min_submitted 2) of which all but P (1,000) come with two
submitted responses (completed), and the last P with one (pending). Annotator
`probe` gave the one response of 90% of the pending records, so a fetch by
`probe` must pass over them to find the others. Then:

  * `jury import` of the file, timed (records/s);
  * the coordinator's start-up: from starting `jury serve` until the first
    session on the dataset is open (a dataset is loaded then), against reading the store's data file once (`cat data.mdb`:
    the least any start-up that reads the store can take);
  * its heap: anonymous RSS after start-up, per record (the target is at most
    64 bytes per record; LMDB's pages are mapped from the file, not heap);
  * fetch latency at the end of the campaign: `probe` and a new annotator
    each fetch one record and release it, 500 times; p50 and p99 of the
    round trip, against a raw ZeroMQ echo of the same size measured now.

Plaintext (`jury serve --insecure`): CURVE does not change any of these.
Prints a table; --json FILE writes the figures (ops/bench reads it).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import zmq  # noqa: E402

ECHO_SERVER = r'''
import sys, zmq
ctx = zmq.Context()
s = ctx.socket(zmq.ROUTER)
s.bind(sys.argv[1])
print("ready", flush=True)
while True:
    s.send_multipart(s.recv_multipart())
'''


def pct(values, p):
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def progress(msg):
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K" + msg)
        sys.stderr.flush()


def done_progress():
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()


def anon_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    return None


def generate(path, n, pending):
    """Writes the records; returns the number of pending records `probe` answered."""
    probed = 0
    first_pending = n - pending
    with open(path, "w", buffering=1 << 20) as f:
        for i in range(n):
            a = i % 97
            if i < first_pending:
                f.write('{"id":"r%d","fields":{"text":"record %d of the size benchmark"},'
                        '"responses":{"label":[{"value":"pos","user_id":"a%d"},'
                        '{"value":"neg","user_id":"a%d"}]}}\n' % (i, i, a, a + 100))
            else:
                who = "probe" if (i - first_pending) % 10 != 9 else "a%d" % a
                probed += who == "probe"
                f.write('{"id":"r%d","fields":{"text":"record %d of the size benchmark"},'
                        '"responses":{"label":[{"value":"pos","user_id":"%s"}]}}\n' % (i, i, who))
            if i % 500000 == 0:
                progress(f"generating: {i:,}/{n:,}")
    done_progress()
    return probed


def fetch_latency(jt, endpoint, annotator, rounds):
    peer = jt.Peer(endpoint, name=annotator)
    try:
        peer.hello(annotator, "bench")
        rtts = []
        got = 0
        for _ in range(rounds):
            t = time.monotonic()
            recs = peer.fetch(1)
            rtts.append(time.monotonic() - t)
            if recs:
                got += 1
                peer.release([r["id"] for r in recs])
        peer.bye()
        return rtts, got
    finally:
        peer.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=10_000_000)
    ap.add_argument("--pending", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=500)
    ap.add_argument("--dir", default=None)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--jury", default=os.environ.get("JURY_BIN"))
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    if not args.jury:
        args.jury = os.path.join(HERE, "..", "..", "build", "bench", "bin", "jury")
    os.environ["JURY_BIN"] = os.path.abspath(args.jury)
    import jurytest as jt

    work = args.dir or tempfile.mkdtemp(prefix="bench_size.")
    os.makedirs(work, exist_ok=True)
    store = os.path.join(work, "store")
    jt.rmtree(store)
    src = os.path.join(work, "records.jsonl")
    probed = generate(src, args.records, args.pending)
    st = jt.Store(store)
    st.create_dataset("bench", jt.label_settings(min_submitted=2))
    t = time.monotonic()
    subprocess.run([args.jury, "--store", store, "import", "bench", src], check=True,
                   stdout=subprocess.DEVNULL)
    import_s = time.monotonic() - t
    os.unlink(src)
    status = st.status("bench")
    data = os.path.join(store, "data.mdb")
    size = os.path.getsize(data)

    # Reference: reading the data file once, from the page cache as the coordinator will.
    subprocess.run(["cat", data], stdout=subprocess.DEVNULL, check=True)
    t = time.monotonic()
    subprocess.run(["cat", data], stdout=subprocess.DEVNULL, check=True)
    cat_s = time.monotonic() - t

    endpoint = jt.free_endpoint()
    srv = jt.Server(store, endpoint=endpoint, log_level="info")
    t = time.monotonic()
    srv.start(ready_timeout_s=600)
    # A dataset is loaded when its first session opens: start-up ends with the first welcome.
    first = jt.Peer(endpoint, name="first")
    try:
        first.call("hello", "welcome", timeout_s=600, annotator="first", dataset="bench",
                   agent="bench_size/1")
        start_s = time.monotonic() - t
        heap = anon_kib(srv.proc.pid)
        first.bye()
    finally:
        first.close()
    probe_rtt, probe_got = fetch_latency(jt, endpoint, "probe", args.rounds)
    fresh_rtt, fresh_got = fetch_latency(jt, endpoint, "newcomer", args.rounds)
    srv.stop()

    echo_ep = jt.free_endpoint()
    echo = subprocess.Popen(["/usr/bin/python3", "-c", ECHO_SERVER, echo_ep], stdout=subprocess.PIPE,
                            text=True)
    echo.stdout.readline()
    ctx = zmq.Context.instance()
    s = ctx.socket(zmq.DEALER)
    s.connect(echo_ep)
    echo_rtt = []
    payload = b"x" * 120
    for _ in range(args.rounds):
        t = time.monotonic()
        s.send(payload)
        s.recv()
        echo_rtt.append(time.monotonic() - t)
    s.close(0)
    echo.kill()
    echo.wait()

    res = {
        "records": args.records,
        "completed": status.get("completed"),
        "pending_records": args.pending,
        "probe_answered_pending": probed,
        "import_s": import_s,
        "import_rate": args.records / import_s,
        "store_bytes": size,
        "start_s": start_s,
        "cat_s": cat_s,
        "heap_kib": heap,
        "heap_bytes_per_record": heap * 1024 / args.records,
        "fetch_probe_ms": {"50": pct(probe_rtt, 50) * 1000, "99": pct(probe_rtt, 99) * 1000,
                           "records_got": probe_got},
        "fetch_new_ms": {"50": pct(fresh_rtt, 50) * 1000, "99": pct(fresh_rtt, 99) * 1000,
                         "records_got": fresh_got},
        "echo_ms": {"50": pct(echo_rtt, 50) * 1000, "99": pct(echo_rtt, 99) * 1000},
    }
    print(f"bench_size: {args.records:,} records ({res['completed']:,} completed, {args.pending:,} "
          f"pending, {probed:,} of them answered by `probe`), store {size / 2**30:.2f} GiB")
    print(f"  import: {import_s:.1f} s, {res['import_rate']:,.0f} records/s")
    print(f"  start-up: {start_s:.2f} s (reference: reading data.mdb once {cat_s:.2f} s)")
    print(f"  heap after start-up: {heap / 1024:.1f} MiB, {res['heap_bytes_per_record']:.1f} bytes "
          f"per record (target <= 64)")
    for name, key in (("probe", "fetch_probe_ms"), ("newcomer", "fetch_new_ms")):
        r = res[key]
        print(f"  fetch 1 + release as {name:<8}: p50 {r['50']:.2f} ms, p99 {r['99']:.2f} ms "
              f"({r['records_got']} of {args.rounds} fetches got a record)")
    print(f"  reference: ZeroMQ echo round trip p50 {res['echo_ms']['50']:.2f} ms, "
          f"p99 {res['echo_ms']['99']:.2f} ms")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    if not args.keep and not args.dir:
        jt.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
