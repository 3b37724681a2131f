#!/usr/bin/python3
"""bench_conns: thousands of CURVE workers connected at once to the real `jury serve`.

W workers (5,000 by default), one annotator and one CURVE DEALER connection
each, all in this process, connect to one coordinator (250 a second, as
annotators arrive: a connection's first request waits for its CURVE handshake,
and one client process doing thousands of handshakes at once is a benchmark of
itself), open their sessions and stay for S seconds (60 by default) after the
last has opened. Each keeps its session alive with
heartbeats and, once every P seconds (10 by default, at a random phase), fetches
one record and submits an answer: the slow, steady trickle of a large human
campaign. Measured:

  * sessions: opened, and lost (a goodbye, an ENOSESSION, a hello with no
    reply within 30 s, libjuror's default call timeout, or another request
    with no reply within 10 s) — the target is none lost;
  * the coordinator's heartbeats as the workers see them: the gap between two
    messages on an idle session (1000 ms when on time), p50, p99, max;
  * request round trips (fetch sent -> batch received, submit sent -> results
    received, the latter after fsync), p50 and p99;
  * the coordinator's RSS, its anonymous part (heap) and its CPU time.

Reference, in the same run with the same W connections and the same loop: a
raw ZeroMQ ROUTER over CURVE (a Python process that echoes every frame back),
with the workers' fetches replaced by echoed 100-byte pings, and heartbeats
echoed likewise: the round trip and heartbeat gaps that this client and
machine give without jury.

Prints a table; --json FILE also writes the figures as JSON (ops/bench reads
it). Needs Debian's python3-zmq and python3-msgpack, run as /usr/bin/python3.
"""

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import msgpack  # noqa: E402
import zmq  # noqa: E402

REPLY_TIMEOUT_S = 10.0
# A hello waits for the CURVE handshake too: libjuror's default call timeout.
HELLO_TIMEOUT_S = 30.0
HEARTBEAT_S = 1.0

ECHO_SERVER = r'''
import sys, zmq
ctx = zmq.Context()
ctx.set(zmq.IO_THREADS, 1)
s = ctx.socket(zmq.ROUTER)
s.curve_server = True
s.curve_secretkey = sys.argv[2].encode()
s.curve_publickey = sys.argv[3].encode()
s.setsockopt(zmq.LINGER, 0)
s.bind(sys.argv[1])
print("ready", flush=True)
while True:
    frames = s.recv_multipart()
    s.send_multipart(frames)
'''


def pct(values, p):
    """The p-th percentile (nearest rank) of values, or None when empty."""
    if not values:
        return None
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


def proc_status(pid):
    """VmRSS, RssAnon and VmHWM in KiB, and CPU seconds, of process pid."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                out[k] = int(v.split()[0])
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    out["cpu_s"] = (int(fields[11]) + int(fields[12])) / tick
    return out


def raise_fd_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < need:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, need))
            return
        except (ValueError, OSError):
            sys.exit(f"bench_conns: need {need} file descriptors, the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # ZeroMQ takes more than it says


class Worker:
    __slots__ = ("sock", "name", "req", "pending", "last_sent", "last_recv", "next_work",
                 "open", "lost", "idle_since_recv")

    def __init__(self, sock, name):
        self.sock = sock
        self.name = name
        self.req = 0
        self.pending = None  # (kind, req, sent_at)
        self.last_sent = 0.0
        self.last_recv = None
        self.next_work = 0.0
        self.open = False
        self.lost = None
        self.idle_since_recv = True


def pack(cmd, **fields):
    m = {"v": 1, "cmd": cmd}
    m.update(fields)
    return msgpack.packb(m, use_bin_type=False)


def run_phase(args, endpoint, server_key, keys, echo, duration_s, label):
    """Connects the workers, runs the loop for duration_s and returns the figures."""
    # zmq.Context(io_threads=N) goes through zmq_init, whose context ignores a later MAX_SOCKETS
    # (sockets past 1023 fail with EMFILE); set both on a plain context instead.
    ctx = zmq.Context()
    ctx.set(zmq.IO_THREADS, 1)
    ctx.set(zmq.MAX_SOCKETS, len(keys) + 64)
    workers = []
    poller = zmq.Poller()
    by_sock = {}
    t0 = time.monotonic()
    for i, (name, pub, sec) in enumerate(keys):
        s = ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.curve_serverkey = server_key
        s.curve_publickey = pub
        s.curve_secretkey = sec
        w = Worker(s, name)
        workers.append(w)
        by_sock[s] = w
        poller.register(s, zmq.POLLIN)
    rng = random.Random(7)
    rtt_fetch, rtt_submit, rtt_hello, gaps = [], [], [], []
    counts = {"fetch": 0, "submit": 0, "acked": 0, "empty": 0, "refused": 0}

    def send(w, data, now):
        w.sock.send(data, zmq.NOBLOCK)
        w.last_sent = now

    def start(w, now):
        """Connects w and opens its session (the echo reference has none: a first ping stands in
        for hello)."""
        w.sock.connect(endpoint)
        w.req += 1
        w.pending = ("hello", w.req, now)
        if echo:
            send(w, pack("ping", req=w.req, pad="x" * 100), now)
        else:
            send(w, pack("hello", req=w.req, annotator=w.name, dataset="bench", agent="bench_conns/1"),
                 now)

    started = 0
    opened = 0
    ramp_deadline = t0 + len(workers) / args.connect_rate + 120.0
    phase_end = None
    last_progress = 0.0
    while True:
        now = time.monotonic()
        # Annotators arrive at --connect-rate a second.
        while started < len(workers) and started < (now - t0) * args.connect_rate:
            start(workers[started], now)
            started += 1
        if phase_end is None and (opened == len(workers) or now > ramp_deadline):
            ramp_s = now - t0
            phase_end = now + duration_s
            for w in workers:
                w.next_work = now + rng.uniform(0, args.period)
        if phase_end is not None and now >= phase_end:
            # Stop starting work; wait (up to 5 s) for the replies still due.
            if now >= phase_end + 5.0 or all(w.pending is None or w.lost for w in workers):
                break
        if now - last_progress > 0.5:
            last_progress = now
            left = "" if phase_end is None else f", {phase_end - now:.0f} s left"
            progress(f"{label}: {opened}/{len(workers)} sessions, {counts['acked']} answers acked{left}")
        for sock, _ in poller.poll(20):
            w = by_sock[sock]
            while True:
                try:
                    data = sock.recv(zmq.NOBLOCK)
                except zmq.Again:
                    break
                t = time.monotonic()
                m = msgpack.unpackb(data, raw=False)
                cmd = m.get("cmd")
                if cmd == "heartbeat" or (echo and cmd == "heartbeat-echo"):
                    if w.last_recv is not None and w.open and w.pending is None:
                        gaps.append(t - w.last_recv)
                    w.last_recv = t
                    continue
                w.last_recv = t
                if cmd == "goodbye" or (cmd == "error" and m.get("code") == "ENOSESSION"):
                    if w.lost is None:
                        w.lost = f"{cmd} {m.get('code')}: {m.get('reason')}"
                    continue
                if w.pending is None or m.get("req") != w.pending[1]:
                    continue
                kind, _, sent = w.pending
                w.pending = None
                if kind == "hello":
                    rtt_hello.append(t - sent)
                    if cmd == "welcome" or (echo and cmd == "ping"):
                        w.open = True
                        opened += 1
                    else:
                        w.lost = f"hello: {m}"
                elif kind == "fetch":
                    rtt_fetch.append(t - sent)
                    recs = m.get("records", []) if not echo else [{"id": "echo"}]
                    if cmd == "error":
                        counts["refused"] += 1
                    elif not recs:
                        counts["empty"] += 1
                    elif not echo:
                        w.req += 1
                        w.pending = ("submit", w.req, t)
                        resp = [{"record": r["id"], "status": "submitted",
                                 "values": {"label": "pos" if rng.random() < 0.5 else "neg"}}
                                for r in recs]
                        send(w, pack("submit", req=w.req, responses=resp), t)
                        counts["submit"] += 1
                elif kind == "submit":
                    rtt_submit.append(t - sent)
                    if cmd == "results":
                        counts["acked"] += sum(1 for r in m["results"] if r.get("ok"))
        now = time.monotonic()
        for w in workers[:started]:
            if w.lost is not None:
                continue
            limit = HELLO_TIMEOUT_S if w.pending is not None and w.pending[0] == "hello" else REPLY_TIMEOUT_S
            if w.pending is not None and now - w.pending[2] > limit:
                w.lost = f"no reply to {w.pending[0]} within {limit:.0f} s"
                continue
            if (phase_end is not None and now < phase_end and w.open and w.pending is None and
                    now >= w.next_work):
                w.next_work += args.period
                w.req += 1
                w.pending = ("fetch", w.req, now)
                if echo:
                    send(w, pack("ping", req=w.req, pad="x" * 100), now)
                else:
                    send(w, pack("fetch", req=w.req, n=1), now)
                counts["fetch"] += 1
            elif now - w.last_sent >= HEARTBEAT_S:
                send(w, pack("heartbeat-echo" if echo else "heartbeat"), now)
    done_progress()
    lost = [w for w in workers if w.lost is not None]
    if not echo:
        for w in workers:
            if w.lost is None:
                w.sock.send(pack("bye", reason="benchmark over"))
    time.sleep(0.5)
    for w in workers:
        w.sock.close(0)
    ctx.term()
    return {
        "workers": len(workers),
        "sessions_opened": opened,
        "sessions_lost": len(lost),
        "lost_examples": [f"{w.name}: {w.lost}" for w in lost[:5]],
        "ramp_s": ramp_s,
        "seconds": duration_s,
        "fetches": counts["fetch"],
        "submits": counts["submit"],
        "acked": counts["acked"],
        "empty_fetches": counts["empty"],
        "heartbeat_gap_ms": {p: (pct(gaps, p) or 0) * 1000 for p in (50, 99, 100)},
        "heartbeats_seen": len(gaps),
        "hello_rtt_ms": {p: (pct(rtt_hello, p) or 0) * 1000 for p in (50, 99)},
        "fetch_rtt_ms": {p: (pct(rtt_fetch, p) or 0) * 1000 for p in (50, 99)},
        "submit_rtt_ms": {p: (pct(rtt_submit, p) or 0) * 1000 for p in (50, 99)},
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, default=5000)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--period", type=float, default=10.0, help="seconds between a worker's answers")
    ap.add_argument("--connect-rate", type=float, default=250.0,
                    help="workers that connect a second while the others are already working")
    ap.add_argument("--echo-seconds", type=float, default=20.0)
    ap.add_argument("--records", type=int, default=100000)
    ap.add_argument("--dir", default=None)
    ap.add_argument("--jury", default=os.environ.get("JURY_BIN"))
    ap.add_argument("--json", default=None, help="also write the figures here")
    args = ap.parse_args()
    if not args.jury:
        args.jury = os.path.join(HERE, "..", "..", "build", "bench", "bin", "jury")
    os.environ["JURY_BIN"] = os.path.abspath(args.jury)
    import jurytest as jt

    # Each connection costs this process a socket and a ZeroMQ mailbox; the coordinator (which
    # inherits the limit) a socket.
    raise_fd_limit(3 * args.workers + 1024)
    work = args.dir or tempfile.mkdtemp(prefix="bench_conns.")
    os.makedirs(work, exist_ok=True)
    store = os.path.join(work, "store")
    jt.run_jury(store, "keygen")
    st = jt.Store(store)
    st.create_dataset("bench", jt.label_settings(min_submitted=3))
    st.import_records("bench", jt.text_records("r", args.records))
    keydir = os.path.join(work, "keys")
    os.makedirs(keydir, exist_ok=True)
    keys = []
    for i in range(args.workers):
        name = f"w{i}"
        path = os.path.join(keydir, name + ".key")
        if not os.path.exists(path):
            jt.run_jury(store, "annotator", "add", name, "--datasets", "bench", "--out", path)
        k = jt.read_key_file(path)
        keys.append((name, k["public-key"].encode(), k["secret-key"].encode()))
        if i % 100 == 0:
            progress(f"annotators: {i}/{args.workers}")
    done_progress()
    server_key = jt.read_key_file(os.path.join(keydir, "w0.key"))["coordinator-key"].encode()

    # Reference: a raw CURVE ROUTER echo, same connections, same loop.
    ckey = jt.read_key_file(os.path.join(store, "coordinator.key"))
    sec, pub = ckey["secret-key"], ckey["public-key"]
    endpoint = jt.free_endpoint()
    echo = subprocess.Popen(["/usr/bin/python3", "-c", ECHO_SERVER, endpoint, sec, pub],
                            stdout=subprocess.PIPE, text=True)
    echo.stdout.readline()
    ref = run_phase(args, endpoint, server_key, keys, True, args.echo_seconds, "echo reference")
    echo_ps = proc_status(echo.pid)
    echo.kill()
    echo.wait()
    ref["server_rss_kib"] = echo_ps["VmRSS"]

    endpoint = jt.free_endpoint()
    srv = jt.Server(store, endpoint=endpoint, insecure=False, log_level="info",
                    probe_curve=(server_key, keys[0][1], keys[0][2]))
    srv.start()
    before = proc_status(srv.proc.pid)
    res = run_phase(args, endpoint, server_key, keys, False, args.seconds, "jury serve")
    ps = proc_status(srv.proc.pid)
    res["coordinator"] = {"rss_kib": ps["VmRSS"], "anon_kib": ps["RssAnon"], "hwm_kib": ps["VmHWM"],
                          "cpu_s": ps["cpu_s"] - before["cpu_s"]}
    srv.stop()
    status = st.status("bench")
    res["stored_submitted"] = status.get("responses", {}).get("submitted")
    out = {"machine": os.uname().nodename, "workers": args.workers, "jury": res, "echo": ref}

    def row(name, a, b):
        print(f"  {name:<44} {a:>16} {b:>16}")
    print(f"bench_conns: {args.workers} CURVE workers, {args.seconds:.0f} s (echo reference "
          f"{args.echo_seconds:.0f} s), one answer per worker every {args.period:.0f} s")
    row("", "jury serve", "ZeroMQ echo")
    row("sessions opened / lost", f"{res['sessions_opened']} / {res['sessions_lost']}",
        f"{ref['sessions_opened']} / {ref['sessions_lost']}")
    row("all connected after (s)", f"{res['ramp_s']:.1f}", f"{ref['ramp_s']:.1f}")
    row("hello round trip p50 / p99 (ms)", f"{res['hello_rtt_ms'][50]:.2f} / {res['hello_rtt_ms'][99]:.2f}",
        f"{ref['hello_rtt_ms'][50]:.2f} / {ref['hello_rtt_ms'][99]:.2f}")
    hg, rg = res["heartbeat_gap_ms"], ref["heartbeat_gap_ms"]
    row("heartbeat gap p50 / p99 / max (ms)", f"{hg[50]:.0f} / {hg[99]:.0f} / {hg[100]:.0f}",
        f"{rg[50]:.0f} / {rg[99]:.0f} / {rg[100]:.0f}")
    row("fetch round trip p50 / p99 (ms)", f"{res['fetch_rtt_ms'][50]:.2f} / {res['fetch_rtt_ms'][99]:.2f}",
        f"{ref['fetch_rtt_ms'][50]:.2f} / {ref['fetch_rtt_ms'][99]:.2f}")
    row("submit round trip p50 / p99 (ms)",
        f"{res['submit_rtt_ms'][50]:.2f} / {res['submit_rtt_ms'][99]:.2f}", "")
    row("answers acknowledged (stored)", f"{res['acked']} ({res['stored_submitted']})", "")
    c = res["coordinator"]
    row("server RSS (MiB), heap part", f"{c['rss_kib'] / 1024:.1f}, {c['anon_kib'] / 1024:.1f}",
        f"{ref['server_rss_kib'] / 1024:.1f}")
    row("coordinator CPU (s)", f"{c['cpu_s']:.1f}", "")
    for ex in res["lost_examples"]:
        print("  lost:", ex)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    if not args.dir:
        jt.rmtree(work)
    return 0 if res["sessions_lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
