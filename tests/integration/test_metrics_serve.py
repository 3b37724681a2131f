"""test_metrics_serve: `jury serve --metrics` on a real CURVE coordinator mid-campaign: every line of /metrics parses, and the figures are exactly what happened (workers, leases, responses by status, records by status, commits, live alpha, refused keys)."""

# Two annotators answer over CURVE (jurytest.Peer, written from SPEC.md); a
# third connection offers a key nobody holds. /metrics is then scraped over
# HTTP and parsed strictly (Prometheus text format 0.0.4: HELP and TYPE before
# each family, `name{labels} value` samples); the values are compared with
# what the test did and with `jury status --json`, which reads the same store.

import math
import os
import re
import sys
import time
import urllib.request

import zmq

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jurytest import (Checks, Peer, Server, Store, expect, expect_eq, curve_of, label_settings,  # noqa: E402
                      make_tmpdir, read_key_file, rmtree, run_jury, submitted, text_records, wait_until)

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def parse(text):
    """{(name, frozenset(labels)): value}, checking every line's form and HELP/TYPE order."""
    out, typed = {}, {}
    for n, line in enumerate(text.split("\n"), 1):
        if line == "":
            expect_eq(n, len(text.split("\n")), "only the last line is empty")
            continue
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            expect(len(parts) == 4, f"line {n}: {line!r}")
            if parts[1] == "TYPE":
                expect(parts[3] in ("counter", "gauge", "histogram", "summary", "untyped"), f"line {n}: type")
                typed[parts[2]] = parts[3]
            continue
        expect(not line.startswith("#"), f"line {n}: stray comment {line!r}")
        m = SAMPLE.match(line)
        expect(m is not None, f"line {n}: not a sample: {line!r}")
        name, _, labels, value = m.groups()
        family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in typed else name
        expect(family in typed, f"line {n}: {name} has no TYPE line before it")
        pairs = []
        rest = labels or ""
        while rest:
            lm = LABEL.match(rest)
            expect(lm is not None, f"line {n}: bad labels {labels!r}")
            pairs.append((lm.group(1), lm.group(2)))
            rest = rest[lm.end():]
        v = float(value) if value not in ("NaN", "+Inf", "-Inf") else float(value.replace("Inf", "inf"))
        key = (name, frozenset(pairs))
        expect(key not in out, f"line {n}: sample given twice")
        out[key] = v
    return out


def get(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


def main():
    root = make_tmpdir("metrics-")
    checks = Checks("test_metrics_serve")
    st = Store(os.path.join(root, "store"))
    run_jury(st.path, "keygen")
    st.create_dataset("d", label_settings(min_submitted=2))
    st.import_records("d", text_records("r", 8))
    keys = {}
    for name in ("ana", "bob"):
        path = os.path.join(root, name + ".key")
        run_jury(st.path, "annotator", "add", name, "--datasets", "d", "--out", path)
        keys[name] = curve_of(read_key_file(path))
    srv = Server(st.path, insecure=False, probe_curve=keys["ana"], log_level="info",
                 extra_args=["--metrics", "127.0.0.1:0"])
    srv.start()
    peers = {}
    state = {}

    def campaign():
        log = open(srv.log_path).read()
        m = re.search(r"metrics=(http://\S+/metrics)", log)
        expect(m is not None, "metrics_listening line with the URL")
        state["url"] = m.group(1)
        for name in ("ana", "bob"):
            peers[name] = Peer(srv.endpoint, name=name, curve=keys[name])
            peers[name].hello(name, "d")
        # ana answers all 8 (pos); bob answers 5 (pos, pos, pos, neg, neg), discards 1, holds 2 leases.
        recs = peers["ana"].fetch(8)
        expect_eq(len(recs), 8, "ana's records")
        res = peers["ana"].submit([submitted(r["id"], "pos") for r in recs])
        expect_eq([x["ok"] for x in res], [True] * 8, "ana's answers")
        recs = peers["bob"].fetch(8)
        expect_eq(len(recs), 8, "bob's records")
        labels = ["pos", "pos", "pos", "neg", "neg"]
        res = peers["bob"].submit([submitted(r["id"], lab) for r, lab in zip(recs, labels)] +
                                  [{"record": recs[5]["id"], "status": "discarded"}])
        expect_eq([x["ok"] for x in res], [True] * 6, "bob's answers")
        # A key no annotator holds: refused by the handshake.
        import zmq.utils.z85  # noqa: F401
        pub, sec = zmq.curve_keypair()
        stranger = Peer(srv.endpoint, name="stranger", autobeat=False, curve=(keys["ana"][0], pub, sec))
        expect(stranger.request("fetch", timeout_s=1.0, n=1) is None, "no reply to an unknown key")
        stranger.close()

    def scrape():
        def ready():
            text = urllib.request.urlopen(state["url"], timeout=5).read().decode()
            s = parse(text)
            ok = get(s, "jury_records", dataset="d", status="completed") == 5 and \
                get(s, "jury_auth_failures_total", reason="unknown_key") == 1
            if ok:
                state["s"] = s
            return ok
        wait_until(ready, 10, "a snapshot with the campaign in it", interval_s=0.2)
        s = state["s"]
        expect_eq(get(s, "jury_workers_connected"), 2.0, "workers connected")
        expect_eq(get(s, "jury_leases_active", dataset="d"), 2.0, "leases (bob's two unanswered)")
        for status, want in (("submitted", 13), ("discarded", 1), ("draft", 0)):
            expect_eq(get(s, "jury_responses_total", dataset="d", status=status), float(want),
                      f"responses {status}")
        for status, want in (("completed", 5), ("pending", 3), ("discarded", 0), ("contested", 0),
                             ("gold", 0)):
            expect_eq(get(s, "jury_records", dataset="d", status=status), float(want), f"records {status}")
        commits = get(s, "jury_commit_seconds_count")
        expect_eq(commits, 2.0, "group commits (one per submit)")
        expect_eq(get(s, "jury_commit_seconds_bucket", le="+Inf"), commits, "+Inf bucket = count")
        expect_eq(get(s, "jury_commit_failures_total"), 0.0, "commit failures")
        expect_eq(get(s, "jury_auth_failures_total", reason="disabled"), 0.0, "disabled keys")
        alpha = get(s, "jury_agreement_alpha", dataset="d", question="label")
        status = st.status("d")
        want = status["agreement"]["label"]["alpha"]
        expect(alpha is not None and not math.isnan(alpha) and abs(alpha - want) < 1e-6,
               f"alpha {alpha} against jury status {want}")

    try:
        for name, fn in (("two annotators answer, a stranger's key is refused", campaign),
                         ("/metrics says exactly that", scrape)):
            if not checks.run(name, fn):
                break
    finally:
        for p in peers.values():
            p.close()
        srv.stop()
    rc = checks.finish()
    if rc == 0:
        rmtree(root)
    return rc


if __name__ == "__main__":
    sys.exit(main())
