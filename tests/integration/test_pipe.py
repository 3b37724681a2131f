"""test_pipe: `juror pipe` (worker/PIPE.md) as a frontend's child process, against the real `jury serve`: a whole session, bad input, review, a coordinator crash mid-batch, and the Python example."""

# Every check drives a real `juror pipe` process over its stdin/stdout, the
# way a frontend in another language would, and verifies what the coordinator
# stored with `jury dump`. The replies are compared whole; only lease_expires
# (a time) is checked for its format and range and then masked.

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jurytest import (PYTHON, SOURCE_DIR, Checks, CheckFailed, Server, Store, expect, expect_eq,  # noqa: E402
                      label_settings, make_tmpdir, now_ms, rmtree, run_jury, text_records, wait_until)

JUROR_BIN = os.environ.get("JUROR_BIN") or os.path.join(SOURCE_DIR, "build", "bin", "juror")
EXAMPLE = os.path.join(SOURCE_DIR, "worker", "examples", "pipe_frontend.py")
REPLY_TIMEOUT_S = 60  # a bound, not a measure: replies take milliseconds
LEASE_S = 300
OPS = "settings, fetch, submit, release, review_fetch, review, flush, ping, bye"
ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z$")


def iso_ms(text):
    """ms since the epoch of an ISO 8601 UTC time as juror writes it (2026-11-27T23:59:59.123Z)."""
    m = ISO.match(text) if isinstance(text, str) else None
    if not m:
        raise CheckFailed(f"lease_expires {text!r} is not ISO 8601 UTC with milliseconds")
    y, mo, d, h, mi, s, ms = (int(x) for x in m.groups())
    return int(datetime(y, mo, d, h, mi, s, tzinfo=timezone.utc).timestamp()) * 1000 + ms


def mask_leases(obj, lo_ms, hi_ms):
    """Checks every lease_expires in obj lies within [lo_ms, hi_ms] and replaces it with "<lease>"."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k == "lease_expires":
                t = iso_ms(v)
                if not lo_ms <= t <= hi_ms:
                    raise CheckFailed(f"lease_expires {v} is not within the expected "
                                      f"{(lo_ms - now_ms()) / 1000:.0f}..{(hi_ms - now_ms()) / 1000:.0f} s from now")
                out[k] = "<lease>"
            else:
                out[k] = mask_leases(v, lo_ms, hi_ms)
        return out
    if isinstance(obj, list):
        return [mask_leases(v, lo_ms, hi_ms) for v in obj]
    return obj


class Pipe:
    """A `juror pipe` child process. A thread reads its stdout: every line must be one JSON object."""

    def __init__(self, endpoint, dataset, annotator, err_path, extra=()):
        self.err_path = err_path
        self.argv = [JUROR_BIN, "pipe", "--connect", endpoint, "--dataset", dataset,
                     "--annotator", annotator, *extra]
        with open(err_path, "ab") as err:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
        self.lines = queue.Queue()
        self.bad = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.next_id = 0

    def _read(self):
        for raw in self.proc.stdout:
            try:
                msg = json.loads(raw)
                if not isinstance(msg, dict):
                    raise ValueError("not an object")
            except ValueError as e:
                self.bad.append((raw, str(e)))
                msg = {"<not a JSON object>": raw.decode("utf-8", "replace")}
            self.lines.put(msg)
        self.lines.put(None)  # end of output

    def send_raw(self, data):
        """Writes bytes to juror's stdin as they are."""
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, request):
        self.send_raw(json.dumps(request, ensure_ascii=False).encode("utf-8") + b"\n")

    def reply(self, timeout_s=REPLY_TIMEOUT_S):
        """The next reply line as a dict; CheckFailed on timeout or end of output."""
        try:
            msg = self.lines.get(timeout=timeout_s)
        except queue.Empty:
            raise CheckFailed(f"no reply within {timeout_s} s; juror stderr:\n{self.stderr_tail()}")
        if msg is None:
            self.lines.put(None)
            raise CheckFailed(f"juror closed its output (exit {self.proc.poll()}):\n{self.stderr_tail()}")
        if self.bad:
            raise CheckFailed(f"juror wrote a line that is not a JSON object: {self.bad}")
        return msg

    def call(self, request, timeout_s=REPLY_TIMEOUT_S):
        self.send(request)
        return self.reply(timeout_s)

    def raw_call(self, data, timeout_s=REPLY_TIMEOUT_S):
        self.send_raw(data)
        return self.reply(timeout_s)

    def ok(self, op, **fields):
        """A request with a fresh id whose reply must not be an error; returns the reply without its id."""
        self.next_id += 1
        rid = f"r{self.next_id}"
        msg = self.call({"op": op, "id": rid, **fields})
        expect_eq(msg.get("id"), rid, f"{op}: id echoed")
        expect("error" not in msg, f"{op}: error reply {msg}")
        del msg["id"]
        return msg

    def expect_pong(self, what="ping"):
        self.next_id += 1
        rid = f"p{self.next_id}"
        expect_eq(self.call({"op": "ping", "id": rid}),
                  {"id": rid, "pong": True, "connected": True, "pending": 0}, what)

    def close_stdin(self):
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass

    def wait(self, timeout_s=REPLY_TIMEOUT_S):
        """Waits for exit; returns the code (CheckFailed on timeout)."""
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            raise CheckFailed(f"juror pipe did not exit within {timeout_s} s")

    def stdout_done(self, timeout_s=10):
        """Checks nothing but the end of output follows."""
        try:
            msg = self.lines.get(timeout=timeout_s)
        except queue.Empty:
            raise CheckFailed("juror's output did not end")
        expect(msg is None, f"unexpected output after the last reply: {msg}")

    def stderr_tail(self, n=20):
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
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except (OSError, ValueError):
                pass


SESSION_SETTINGS = {
    "guidelines": "Fix the reply, rate the draft.",
    "fields": [{"name": "text", "type": "text"}],
    "questions": [
        {"name": "response", "type": "text"},
        {"name": "quality", "type": "rating", "values": [1, 2, 3, 4, 5]},
        {"name": "topic", "type": "label_selection", "labels": ["billing", "shipping"], "required": False},
    ],
    "distribution": {"min_submitted": 1, "lease_seconds": LEASE_S},
}


def session_records():
    out = []
    for i in range(5):
        r = {"id": f"s{i}", "fields": {"text": f"message {i}: héllo ✓"}}
        if i % 2 == 0:
            r["suggestions"] = {"response": {"value": f"draft reply {i}", "score": 0.5, "agent": "m1"}}
        out.append(r)
    return out


def expected_record(r):
    """A fetched record as juror.h describes it, lease_expires masked."""
    return {"id": r["id"], "fields": r["fields"], "suggestions": r.get("suggestions", {}),
            "metadata": {}, "lease_expires": "<lease>", "draft": None}


class Suite:
    def __init__(self, root):
        self.root = root
        self.store = Store(os.path.join(root, "store"))
        s = self.store
        s.create_dataset("sess", SESSION_SETTINGS)
        s.import_records("sess", session_records())
        s.create_dataset("bad", label_settings(1, lease_seconds=LEASE_S))
        s.import_records("bad", text_records("b", 5))
        ex = os.path.join(SOURCE_DIR, "ops", "examples")
        with open(os.path.join(ex, "support-sft.settings.json")) as f:
            s.create_dataset("support", json.load(f))
        with open(os.path.join(ex, "support-sft.records.jsonl")) as f:
            self.support_records = [json.loads(line) for line in f if line.strip()]
        s.import_records("support", self.support_records)
        # Review: one answer per record, accepted only when labelled pos; rev may review. The
        # coordinator is --insecure, so the key file goes unused: the role comes from the store.
        s.create_dataset("rev", dict(label_settings(1, lease_seconds=LEASE_S),
                                     consolidation={"accept": {"require": {"label": ["pos"]}}}))
        s.import_records("rev", text_records("v", 3))
        run_jury(s.path, "keygen")
        run_jury(s.path, "annotator", "add", "rev", "--role", "reviewer", "--datasets", "rev",
                 "--out", os.path.join(root, "rev.key"))
        self.server = Server(s.path, heartbeat_ms=1000)
        self.pipes = []

    def pipe(self, dataset, annotator, extra=(), endpoint=None):
        p = Pipe(endpoint or self.server.endpoint, dataset, annotator,
                 os.path.join(self.root, f"{annotator}.stderr"), extra)
        self.pipes.append(p)
        return p

    def close_all(self):
        for p in self.pipes:
            p.kill()

    # -- 1. a whole session, every reply compared whole

    def t_session(self):
        p = self.pipe("sess", "ann", extra=["-v"])
        recs = {r["id"]: r for r in session_records()}

        expect_eq(p.call({"op": "ping", "id": 1}), {"id": 1, "pong": True, "connected": True, "pending": 0},
                  "ping")
        shown = json.loads(run_jury(self.store.path, "dataset", "show", "sess").stdout)
        expect_eq(p.call({"op": "settings", "id": "s"}),
                  {"id": "s", "settings": shown, "dataset": "sess", "annotator": "ann",
                   "lease_seconds": LEASE_S, "role": "annotator"},
                  "settings (the settings are `jury dataset show`'s; a plaintext newcomer is an annotator)")

        lo = now_ms() + LEASE_S * 1000 - 5000
        got = p.call({"op": "fetch", "n": 2, "id": {"any": ["json", 1]}})
        hi = now_ms() + LEASE_S * 1000 + 5000
        expect_eq(mask_leases(got, lo, hi),
                  {"id": {"any": ["json", 1]}, "records": [expected_record(recs["s0"]), expected_record(recs["s1"])]},
                  "fetch n 2 (any JSON id is echoed)")

        expect_eq(p.call({"op": "submit", "id": 4, "record": "s0", "status": "submitted",
                          "values": {"response": "Fixed reply 0", "quality": 4, "topic": "billing"}}),
                  {"id": 4, "ok": True}, "submit s0 submitted")
        lo = now_ms() + LEASE_S * 1000 - 5000
        got = p.call({"op": "submit", "id": 5, "record": "s1", "status": "draft", "values": {"quality": 2}})
        hi = now_ms() + LEASE_S * 1000 + 5000
        expect_eq(mask_leases(got, lo, hi), {"id": 5, "ok": True, "lease_expires": "<lease>"},
                  "submit s1 draft: the extended lease")

        lo = now_ms() + LEASE_S * 1000 - 5000
        got = p.call({"op": "fetch", "id": 6})
        hi = now_ms() + LEASE_S * 1000 + 5000
        expect_eq(mask_leases(got, lo, hi),
                  {"id": 6, "records": [expected_record(recs[i]) for i in ("s2", "s3", "s4")]},
                  "fetch (n defaults to 10): the records not leased yet")

        got = p.call({"op": "submit", "id": 7, "responses": [
            {"record": "s2", "status": "discarded"},
            {"record": "s3", "values": {"response": "Fixed reply 3", "quality": 5}},
            {"record": "s1", "status": "submitted", "values": {"response": "Fixed reply 1", "quality": 2}},
            {"record": "s0", "status": "submitted", "values": {"response": "Changed", "quality": 1}},
        ]})
        expect_eq(got["results"][3].get("error", {}).get("code"), "EEXIST", "changing a submitted response")
        expect(got["results"][3]["error"]["message"], "EEXIST has a message")
        got["results"][3]["error"]["message"] = "<message>"
        expect_eq(got, {"id": 7, "results": [
            {"record": "s2", "ok": True},
            {"record": "s3", "ok": True},
            {"record": "s1", "ok": True},
            {"record": "s0", "ok": False, "error": {"code": "EEXIST", "message": "<message>"}},
        ]}, "batch submit: discarded, submitted (status by default), a draft finished, a change refused")

        expect_eq(p.call({"op": "release", "id": 8, "records": ["s4"]}), {"id": 8, "released": 1}, "release s4")
        got = p.call({"op": "release", "id": 9, "records": ["s4"]})
        expect_eq(got.get("error", {}).get("code"), "ENOTLEASED", f"release s4 again: {got}")
        expect_eq(set(got), {"id", "error"}, "error reply keys")
        expect_eq(set(got["error"]), {"code", "message"}, "error object keys")

        expect_eq(p.call({"op": "flush", "id": 10}), {"id": 10, "ok": True}, "flush")
        expect_eq(p.call({"op": "bye", "id": 11}), {"id": 11, "ok": True}, "bye")
        p.stdout_done()
        expect_eq(p.wait(), 0, "exit code after bye")

        dump = self.store.dump("sess")
        got = {rid: [(x["annotator"], x["status"], x.get("values")) for x in r["responses"]]
               for rid, r in dump.items()}
        expect_eq(got, {
            "s0": [("ann", "submitted", {"response": "Fixed reply 0", "quality": 4, "topic": "billing"})],
            "s1": [("ann", "submitted", {"response": "Fixed reply 1", "quality": 2})],
            "s2": [("ann", "discarded", {})],
            "s3": [("ann", "submitted", {"response": "Fixed reply 3", "quality": 5})],
            "s4": [],
        }, "responses in the dump")
        expect_eq({rid: r["status"] for rid, r in dump.items()},
                  {"s0": "completed", "s1": "completed", "s2": "pending", "s3": "completed", "s4": "pending"},
                  "record states in the dump")
        log = p.stderr_tail(100)
        expect("#1 ping: ok" in log and "#11 bye: ok" in log, f"-v logs each request on stderr:\n{log}")

    # -- 2. bad input: an error reply each, and the pipe stays usable

    def t_bad_input(self):
        p = self.pipe("bad", "bea")
        dump_before = self.store.dump("bad")

        def err(code, message, rid=None):
            e = {"error": {"code": code, "message": message}}
            return {"id": rid, **e} if rid is not None else e

        raw_cases = [
            (b"not json\n", err("EPROTO", "byte 0: malformed JSON")),
            (b'{"op": "fetch", "n": }\n', err("EPROTO", "byte 21: malformed JSON")),
            (b'{"op": "fetch", "n": 3\n', err("EPROTO", "byte 22: truncated JSON: the line ends inside a value")),
            (b'{"op": "ping", "id": "\xff"}\n', err("EPROTO", "byte 22: invalid UTF-8")),
            (b'{"op": "ping", "id": "\xed\xa0\x80"}\n', err("EPROTO", "byte 22: invalid UTF-8")),
            (b"[1, 2]\n", err("EPROTO", "a request must be a JSON object, got an array")),
            (b'"ping"\n', err("EPROTO", "a request must be a JSON object, got a string")),
            (b'{"op": "ping"} {"op": "ping"}\n', err("EPROTO", "byte 15: text after the JSON value (one request per line)")),
            (b'{"op": "ping", "id": "a\\u0000b"}\n', err("EPROTO", "byte 23: \\u0000 in a string (strings must not hold NUL)")),
            (b'{"op": "ping", "op": "bye", "id": 1}\n', err("EINVAL", 'duplicate key "op"', 1)),
            (b'{"op": "submit", "id": 2, "record": "b0", "values": {"label": "pos", "label": "neg"}}\n',
             err("EINVAL", '/values: duplicate key "label"', 2)),
            (b'{"op": "submit", "id": 3, "record": "b0", "values": {"label": 1e400}}\n',
             err("EINVAL", "/values/label: number out of range", 3)),
        ]
        for data, want in raw_cases:
            expect_eq(p.raw_call(data), want, f"reply to {data!r}")
            p.expect_pong(f"ping after {data!r}")

        cases = [
            ({"op": "frobnicate", "id": 9}, err("EINVAL", f'unknown op "frobnicate": one of {OPS}', 9)),
            ({"id": "x"}, err("EINVAL", f'missing "op": one of {OPS}', "x")),
            ({"op": 5}, err("EINVAL", f"op: must be a string, one of {OPS}, got 5")),
            ({"op": "fetch", "n": 0}, err("EINVAL", "fetch: n: must be an integer within 1..100, got 0")),
            ({"op": "fetch", "n": 101}, err("EINVAL", "fetch: n: must be an integer within 1..100, got 101")),
            ({"op": "fetch", "n": 2.5}, err("EINVAL", "fetch: n: must be an integer within 1..100, got 2.5")),
            ({"op": "fetch", "n": "3"}, err("EINVAL", "fetch: n: must be an integer within 1..100, got a string")),
            ({"op": "fetch", "m": 3}, err("EINVAL", 'fetch: unknown key "m" (fetch takes n)')),
            ({"op": "ping", "x": 1}, err("EINVAL", 'ping: unknown key "x" (ping takes nothing but op and id)')),
            ({"op": "submit", "record": "b0", "status": "done"},
             err("EINVAL", 'submit: status: must be "submitted", "discarded" or "draft", got "done"')),
            ({"op": "submit", "record": "b0", "values": []},
             err("EINVAL", "submit: values: must be an object of answers by question name, got an array")),
            ({"op": "submit", "record": 5, "values": {}},
             err("EINVAL", "submit: record: must be a record id (a string), got 5")),
            ({"op": "submit", "values": {}}, err("EINVAL", "submit: record: must be a record id (a string), got nothing")),
            ({"op": "submit", "record": "x" * 501}, err("EINVAL", "submit: record: record ids are 1..500 bytes long, got 501")),
            ({"op": "submit", "record": "b0", "responses": []},
             err("EINVAL", "submit: give either record, status and values (one response) or responses (a batch), not both")),
            ({"op": "submit", "responses": []}, err("EINVAL", "submit: responses: must hold 1..100 responses, got 0")),
            ({"op": "submit", "responses": [{"record": "b0", "valeus": {}}]},
             err("EINVAL", 'submit: responses[0]: unknown key "valeus" (a response takes record, status, values)')),
            ({"op": "submit", "responses": [{"record": "b0"}, 7]},
             err("EINVAL", "submit: responses[1]: must be an object {record, status, values}, got 7")),
            ({"op": "release", "records": []}, err("EINVAL", "release: records: must hold 1..100 ids, got 0")),
            ({"op": "release", "records": "b0"}, err("EINVAL", "release: records: must be an array of record ids, got a string")),
            ({"op": "release", "records": ["b0", None]},
             err("EINVAL", "release: records[1]: must be a record id (a string), got null")),
        ]
        for req, want in cases:
            expect_eq(p.call(req), want, f"reply to {json.dumps(req)[:80]}")
            p.expect_pong(f"ping after {json.dumps(req)[:80]}")
        expect_eq(self.store.dump("bad"), dump_before, "nothing stored changed after the requests refused by juror")

        # Refused by the coordinator: the code and its reason come through.
        expect_eq([r["id"] for r in p.ok("fetch", n=1)["records"]], ["b0"], "fetch 1")
        got = p.call({"op": "submit", "id": 20, "record": "b0", "values": {"label": "maybe"}})
        expect_eq(got.get("error", {}).get("code"), "EINVAL", f"a label that does not exist: {got}")
        expect("label" in got["error"]["message"] and "maybe" in got["error"]["message"],
               f"the reason names the question and the value: {got}")
        got = p.call({"op": "submit", "id": 21, "record": "b0", "values": {}})
        expect_eq(got.get("error", {}).get("code"), "EINVAL", f"a required question unanswered: {got}")
        got = p.call({"op": "submit", "id": 22, "record": "b3", "values": {"label": "pos"}})
        expect_eq(got.get("error", {}).get("code"), "ENOTLEASED", f"a record not leased: {got}")
        got = p.call({"op": "submit", "id": 23, "record": "nosuch", "values": {"label": "pos"}})
        expect(got.get("error", {}).get("code") in ("ENOTFOUND", "ENOTLEASED"), f"an unknown record: {got}")
        got = p.call({"op": "submit", "id": 24, "responses": [
            {"record": "b3", "values": {"label": "pos"}}, {"record": "b0", "values": {"label": "pos"}}]})
        expect_eq([(r["record"], r["ok"], r.get("error", {}).get("code")) for r in got["results"]],
                  [("b3", False, "ENOTLEASED"), ("b0", True, None)], "a batch: one refused, one stored")
        got = p.call({"op": "release", "id": 25, "records": ["b0"]})
        expect_eq(got.get("error", {}).get("code"), "ENOTLEASED", f"release of an answered record: {got}")
        p.expect_pong("ping after the refusals")

        # A line over 16 MiB is dropped whole; the next one is served.
        big = b'{"op": "ping", "id": "' + b"x" * (16 * 1024 * 1024) + b'"}\n'
        expect_eq(p.raw_call(big), err("ETOOBIG", "the line is longer than 16777216 bytes (16 MiB); it was dropped"),
                  "a line of 16 MiB + 24 bytes")
        p.expect_pong("ping after the long line")
        # One just under the limit is a request like any other.
        fits = b'{"op": "ping", "id": "' + b"y" * (16 * 1024 * 1024 - 24) + b'"}'
        expect_eq(len(fits), 16 * 1024 * 1024, "the test's line length")
        got = p.raw_call(fits + b"\n")
        expect_eq((got.get("pong"), len(got.get("id", ""))), (True, 16 * 1024 * 1024 - 24), "a line of exactly 16 MiB")

        # Blank lines are not requests: no reply; CRLF is fine.
        expect_eq(p.raw_call(b'\n   \n\t\r\n{"op": "ping", "id": 77}\r\n'),
                  {"id": 77, "pong": True, "connected": True, "pending": 0}, "blank lines get no reply")

        # End of input without bye: a last line without a newline is served, then juror flushes and exits 0,
        # and the coordinator drops this annotator's leases.
        expect_eq([r["id"] for r in p.ok("fetch", n=2)["records"]], ["b1", "b2"], "fetch 2")
        p.send_raw(b'{"op": "ping", "id": "last"}')
        p.close_stdin()
        expect_eq(p.reply(), {"id": "last", "pong": True, "connected": True, "pending": 0}, "the last line")
        p.stdout_done()
        expect_eq(p.wait(), 0, "exit code at end of input")
        wait_until(lambda: (lv := self.store.live("bad")) is not None and lv["leases"] == 0, 10,
                   "the coordinator to drop the leases of a juror that ended")
        dump = self.store.dump("bad")
        expect_eq({rid: [(x["annotator"], x["status"], x.get("values")) for x in r["responses"]]
                   for rid, r in dump.items()},
                  {"b0": [("bea", "submitted", {"label": "pos"})], "b1": [], "b2": [], "b3": [], "b4": []},
                  "only b0 was stored")

    def t_signal(self):
        p = self.pipe("bad", "sig")
        expect_eq(len(p.ok("fetch", n=1)["records"]), 1, "fetch 1")
        wait_until(lambda: (lv := self.store.live("bad")) is not None and lv["leases"] == 1, 10,
                   "the lease to show in status")
        p.proc.send_signal(signal.SIGTERM)
        p.stdout_done()
        expect_eq(p.wait(), 0, "exit code after SIGTERM")
        wait_until(lambda: self.store.live("bad")["leases"] == 0, 10, "the lease to be released")

    # -- 3. review: review_fetch and review, against records `jury consolidate` rejected

    def t_review(self):
        ann = self.pipe("rev", "ava")
        expect_eq([r["id"] for r in ann.ok("fetch", n=3)["records"]], ["v0", "v1", "v2"], "ava fetches 3")
        got = ann.ok("submit", responses=[{"record": "v0", "values": {"label": "neg"}},
                                          {"record": "v1", "values": {"label": "pos"}},
                                          {"record": "v2", "values": {"label": "neg"}}])
        expect_eq(got, {"results": [{"record": r, "ok": True} for r in ("v0", "v1", "v2")]}, "ava answers all 3")
        summary = json.loads(run_jury(self.store.path, "consolidate", "rev", "--json").stdout)
        expect_eq((summary["accepted"], summary["rejected"]), (1, 2), "consolidate: v1 accepted, v0 and v2 rejected")

        # An annotator may not review: EPERM with the coordinator's reason, and the pipe carries on.
        expect_eq(ann.ok("settings")["role"], "annotator", "ava's role")
        for req, cmd in (({"op": "review_fetch", "n": 5}, "review_fetch"),
                         ({"op": "review", "record": "v0", "accept": False}, "review_submit")):
            expect_eq(ann.call(req), {"error": {"code": "EPERM", "message":
                      f"{cmd}: ava has the role annotator; reviewing needs the role reviewer or admin"}},
                      f"{req['op']} by an annotator")
        ann.expect_pong("ava's pipe after EPERM")

        rev = self.pipe("rev", "rev")
        expect_eq(rev.ok("settings")["role"], "reviewer", "rev's role")
        lo = now_ms() + LEASE_S * 1000 - 5000
        got = rev.ok("review_fetch", n=1)
        hi = now_ms() + LEASE_S * 1000 + 5000
        updated = got["records"][0]["responses"][0].pop("updated") if got.get("records") else None
        t = iso_ms(updated)
        expect(now_ms() - 60000 <= t <= now_ms(), f"the response's updated time {updated} is recent")
        expect_eq(mask_leases(got, lo, hi), {"records": [{
            "id": "v0", "fields": {"text": "text of v0"}, "suggestions": {}, "metadata": {},
            "lease_expires": "<lease>", "why": ["rejected"],
            "reason": '"label" not one of the required labels: pos', "unified": {"label": "neg"},
            "responses": [{"annotator": "ava", "status": "submitted", "values": {"label": "neg"}}]}]},
            "review_fetch n 1: the first rejected record, with its responses")

        # Malformed decisions are refused by juror, naming the key; nothing reaches the coordinator.
        cases = [
            ({"op": "review", "record": "v0", "accept": True, "valeus": {}},
             'review: unknown key "valeus" (review takes record, accept, values, note)'),
            ({"op": "review", "accept": False}, "review: record: must be a record id (a string), got nothing"),
            ({"op": "review", "record": "v0"},
             "review: accept: must be true (the record goes into the final datasets with values) or false "
             "(it stays out), got nothing"),
            ({"op": "review", "record": "v0", "accept": "yes"},
             "review: accept: must be true (the record goes into the final datasets with values) or false "
             "(it stays out), got a string"),
            ({"op": "review", "record": "v0", "accept": True},
             "review: values: required when accept is true (the final answers)"),
            ({"op": "review", "record": "v0", "accept": True, "values": ["pos"]},
             "review: values: must be an object of answers by question name, got an array"),
            ({"op": "review", "record": "v0", "accept": False, "note": 3}, "review: note: must be a string, got 3"),
            ({"op": "review", "record": "v0", "accept": False, "note": "n" * 1025},
             "review: note: must be at most 1024 bytes, got 1025"),
            ({"op": "review_fetch", "n": 0}, "review_fetch: n: must be an integer within 1..100, got 0"),
            ({"op": "review_fetch", "m": 1}, 'review_fetch: unknown key "m" (review_fetch takes n)'),
        ]
        for req, message in cases:
            expect_eq(rev.call(req), {"error": {"code": "EINVAL", "message": message}},
                      f"reply to {json.dumps(req)[:80]}")
        # Refused by the coordinator: the question named.
        expect_eq(rev.call({"op": "review", "id": 1, "record": "v0", "accept": True, "values": {}}),
                  {"id": 1, "error": {"code": "EINVAL", "message":
                   '/values/label: question "label" is required in a submitted response'}},
                  "an acceptance without the required label")

        # Accept v0 with the reviewer's values; the same decision again is acknowledged again, another is not.
        decision = {"op": "review", "record": "v0", "accept": True, "values": {"label": "pos"},
                    "note": "reads positive"}
        expect_eq(rev.call(dict(decision, id=2)), {"id": 2, "ok": True}, "review: accept v0")
        expect_eq(rev.call(dict(decision, id=3)), {"id": 3, "ok": True}, "the same decision again")
        expect_eq(rev.call({"op": "review", "id": 4, "record": "v0", "accept": False}),
                  {"id": 4, "error": {"code": "EEXIST", "message":
                   "record 'v0' was already accepted by reviewer rev; a decision cannot change"}},
                  "another decision on v0")

        # release gives a review lease back; the record comes again; reject it.
        expect_eq([r["id"] for r in rev.ok("review_fetch")["records"]], ["v2"], "review_fetch: v2 waits")
        expect_eq(rev.ok("release", records=["v2"]), {"released": 1}, "release v2's review lease")
        expect_eq([r["id"] for r in rev.ok("review_fetch")["records"]], ["v2"], "v2 again")
        expect_eq(rev.ok("review", record="v2", accept=False, values={"label": "neg"}, note="off topic"),
                  {"ok": True}, "review: reject v2 (values given with a rejection are not sent)")
        expect_eq(rev.ok("review_fetch", n=5), {"records": []}, "nothing waits any more")
        for p, who in ((ann, "ava"), (rev, "rev")):
            expect_eq(p.ok("bye"), {"ok": True}, f"{who}: bye")
            p.stdout_done()
            expect_eq(p.wait(), 0, f"{who}: exit code")

        out = run_jury(self.store.path, "export", "rev", "--format", "records").stdout
        got = {r["id"]: {k: r.get(k) for k in ("decision", "unified", "reason", "reviewed_by", "review_note")}
               for r in map(json.loads, out.splitlines())}
        expect_eq(got, {
            "v0": {"decision": "accepted", "unified": {"label": "pos"}, "reason": None,
                   "reviewed_by": "rev", "review_note": "reads positive"},
            "v1": {"decision": "accepted", "unified": {"label": "pos"}, "reason": None,
                   "reviewed_by": None, "review_note": None},
            "v2": {"decision": "rejected", "unified": {}, "reason": "rejected by reviewer rev: off topic",
                   "reviewed_by": "rev", "review_note": "off topic"},
        }, "export --format records: the reviewer's values and decisions")

    # -- 4. the command line

    def t_usage(self):
        def run(*args, stdin=b""):
            return subprocess.run([JUROR_BIN, *args], input=stdin, capture_output=True, timeout=REPLY_TIMEOUT_S)

        r = run("pipe", "--help")
        expect_eq(r.returncode, 0, "--help exit code")
        expect(r.stdout.startswith(b"usage: juror pipe"), f"--help prints the usage: {r.stdout[:80]!r}")
        r = run("pipe", "--frobnicate", "--dataset", "bad", "--annotator", "x")
        expect_eq((r.returncode, r.stdout), (2, b""), "an unknown option: exit 2, nothing on stdout")
        expect(b"--frobnicate" in r.stderr, f"the message names the option: {r.stderr!r}")
        r = run("pipe", "--connect", self.server.endpoint, "--dataset", "nosuch", "--annotator", "x",
                "--timeout-ms", "5000", stdin=b'{"op": "ping"}\n')
        expect_eq((r.returncode, r.stdout), (1, b""), "no such dataset: exit 1, nothing on stdout")
        expect(b"nosuch" in r.stderr, f"the message names the dataset: {r.stderr!r}")
        r = run("pipe", "--connect", self.server.endpoint, "--annotator", "x")
        expect_eq((r.returncode, r.stdout), (1, b""), "no --dataset: exit 1")
        # An immediate end of input: nothing to do, exit 0.
        r = run("pipe", "--connect", self.server.endpoint, "--dataset", "bad", "--annotator", "x")
        expect_eq((r.returncode, r.stdout), (0, b""), "empty input: exit 0, no output")

    # -- 5. the Python example, run as a user would

    def t_example(self):
        r = subprocess.run([PYTHON, EXAMPLE, "--juror", JUROR_BIN, "--connect", self.server.endpoint,
                            "--dataset", "support", "--annotator", "example", "--batch", "5"],
                           capture_output=True, timeout=120)
        out = r.stdout.decode("utf-8", "replace")
        expect_eq(r.returncode, 0, f"example exit code; stderr:\n{r.stderr.decode('utf-8', 'replace')}\nstdout:\n{out}")
        n = len(self.support_records)
        expect(out.startswith("dataset support as example: 2 questions (response, quality), leases of 600 s\n"),
               f"the example's first line:\n{out}")
        expect(out.endswith(f"{n} submitted, 0 discarded, 0 refused; juror exited with 0\n"),
               f"the example's summary:\n{out}")
        dump = self.store.dump("support")
        for rec in self.support_records:
            mine = [x for x in dump[rec["id"]]["responses"] if x["annotator"] == "example"]
            want = {"response": rec["suggestions"]["response"]["value"], "quality": 3}
            expect_eq([(x["status"], x["values"]) for x in mine], [("submitted", want)],
                      f"{rec['id']}: the example's response (the suggestion, the middle rating)")


# -- 6. the coordinator killed mid-batch and restarted on the same store and endpoint

CRASH_RECORDS = 150
CRASH_HEARTBEAT_MS = 200


def crash(root):
    store = Store(os.path.join(root, "crash-store"))
    store.create_dataset("crash", label_settings(1, lease_seconds=LEASE_S))
    store.import_records("crash", text_records("c", CRASH_RECORDS))
    server = Server(store.path, heartbeat_ms=CRASH_HEARTBEAT_MS)
    p = None
    acked = {}  # record -> values of every response juror said ok to
    notes = []

    def label(rid):
        return {"label": "pos" if int(rid[1:]) % 2 == 0 else "neg"}

    def note_results(results, where):
        for r in results:
            if r["ok"]:
                expect(r["record"] not in acked, f"{where}: {r['record']} acknowledged twice")
                acked[r["record"]] = label(r["record"])
            else:
                raise CheckFailed(f"{where}: refused: {r}")

    try:
        server.start()
        p = Pipe(server.endpoint, "crash", "crasher", os.path.join(root, "crasher.stderr"),
                 extra=["-v", "--timeout-ms", "60000"])
        batch = [r["id"] for r in p.ok("fetch", n=100)["records"]]
        expect_eq(len(batch), 100, "first batch")
        for rid in batch[:3]:
            expect_eq(p.ok("submit", record=rid, values=label(rid)), {"ok": True}, f"submit {rid}")
            acked[rid] = label(rid)

        # Idle for 10 heartbeat intervals: juror keeps the session (and its leases) alive meanwhile.
        time.sleep(10 * CRASH_HEARTBEAT_MS / 1000)
        p.expect_pong("ping after idling")
        rid = batch[3]
        expect_eq(p.ok("submit", record=rid, values=label(rid)), {"ok": True}, "submit after idling: lease kept")
        acked[rid] = label(rid)

        # Mid-batch: juror sends the 96 responses of a batch one by one, and the coordinator dies once
        # the first of them is on disk; it stays down long enough to be declared dead (3 heartbeats).
        # Where exactly the kill lands is up to timing: each result must agree with the dump at the end.
        rest = batch[4:]
        p.send({"op": "submit", "id": "mid", "responses": [
            {"record": r, "status": "submitted", "values": label(r)} for r in rest]})
        wait_until(lambda: store.status("crash")["responses"]["submitted"] > 4, 30,
                   "the first response of the batch to be stored", interval_s=0.001)
        server.kill()
        stored_at_kill = store.status("crash")["responses"]["submitted"] - 4
        time.sleep(1.5)
        server.start()
        got = p.reply()
        expect_eq(got.get("id"), "mid", f"the reply to the batch: {got}")
        expect_eq([r["record"] for r in got.get("results", [])], rest, f"one result per response: {got}")
        note_results(got["results"], "batch across the crash")
        oks = sum(r["ok"] for r in got["results"])
        notes.append(f"batch across the crash: {stored_at_kill} of {len(rest)} stored when the coordinator "
                     f"was killed; {oks} acknowledged in all")
        # The ones stored before the kill are identical resubmits; the others lost their leases with
        # the coordinator and are taken with new ones (reclaim, SPEC 9.3): every answer is kept.
        expect_eq(oks, len(rest), "every response of the batch acknowledged after the restart")

        # The coordinator already gone when a batch goes out: juror waits, reconnects and sends it to the
        # new coordinator, which lost every lease but leases the open records again: all stored.
        batch2 = [r["id"] for r in p.ok("fetch", n=5)["records"]]
        expect_eq(len(batch2), 5, "second batch")
        server.kill()
        p.send({"op": "submit", "id": "down", "responses": [
            {"record": r, "status": "submitted", "values": label(r)} for r in batch2]})
        time.sleep(1.5)
        server.start()
        got = p.reply()
        expect_eq([(r["record"], r["ok"]) for r in got.get("results", [])],
                  [(r, True) for r in batch2], f"a batch sent while the coordinator was down: {got}")
        note_results(got["results"], "batch sent while down")

        # A second crash while juror idles: it reconnects by itself.
        server.kill()
        time.sleep(1.0)
        server.start()
        wait_until(lambda: p.ok("ping")["connected"], 30, "juror to reconnect while idle")

        # Carry on until nothing is left; records whose leases died come back to us.
        rounds = 0
        while True:
            rounds += 1
            expect(rounds < 100, "the campaign does not end")
            ids = [r["id"] for r in p.ok("fetch", n=20)["records"]]
            if not ids:
                break
            expect(not set(ids) & set(acked), f"fetched again after being acknowledged: {set(ids) & set(acked)}")
            half = (len(ids) + 1) // 2  # half in one batch, the rest one by one
            got = p.ok("submit", responses=[{"record": r, "values": label(r)} for r in ids[:half]])
            note_results(got["results"], f"round {rounds}")
            for rid in ids[half:]:
                note_results([{"record": rid, **p.ok("submit", record=rid, values=label(rid))}], f"round {rounds}")
        expect_eq(p.ok("flush"), {"ok": True}, "flush")
        expect_eq(p.ok("bye"), {"ok": True}, "bye")
        expect_eq(p.wait(), 0, "exit code")

        dump = store.dump("crash")
        expect_eq(len(dump), CRASH_RECORDS, "records")
        stored = {}
        for rid, r in dump.items():
            expect_eq([(x["annotator"], x["status"]) for x in r["responses"]], [("crasher", "submitted")],
                      f"{rid}: exactly one submitted response")
            expect_eq(r["status"], "completed", f"{rid} state")
            stored[rid] = r["responses"][0]["values"]
        expect_eq(stored, acked, "the dump holds exactly the acknowledged responses, with their values")
        for n in notes:
            print(f"      ({n})", flush=True)
    except BaseException:
        for n in notes:
            print(f"      ({n})", flush=True)
        if p is not None:
            print(f"      juror stderr:\n{p.stderr_tail(40)}", flush=True)
        print(f"      coordinator log:\n{server.log_tail()}", flush=True)
        raise
    finally:
        if p is not None:
            p.kill()
        server.kill()


# -- 7. answers not acknowledged in time

def timeouts(root):
    store = Store(os.path.join(root, "timeout-store"))
    store.create_dataset("slow", label_settings(1, lease_seconds=LEASE_S))
    store.import_records("slow", text_records("w", 4))
    server = Server(store.path, heartbeat_ms=CRASH_HEARTBEAT_MS)
    pipes = []
    try:
        server.start()
        # A submit that times out (EIO) is kept and sent again; the coordinator, back after a restart
        # that lost the lease, takes it with a new lease (reclaim), and the next flush says all is well.
        p = Pipe(server.endpoint, "slow", "tim", os.path.join(root, "tim.stderr"), extra=["--timeout-ms", "1500"])
        pipes.append(p)
        rid = p.ok("fetch", n=1)["records"][0]["id"]
        server.kill()
        got = p.call({"op": "submit", "id": 1, "record": rid, "values": {"label": "pos"}})
        expect_eq(got.get("error", {}).get("code"), "EIO", f"submit while the coordinator is down: {got}")
        expect_eq(p.ok("ping")["pending"], 1, "the response is kept")
        server.start()
        wait_until(lambda: (r := p.ok("ping"))["connected"] and r["pending"] == 0, 30,
                   "juror to reconnect and resend the response")
        expect_eq(p.call({"op": "flush", "id": 2}), {"id": 2, "ok": True}, "flush: the kept answer was stored")
        expect_eq([x["annotator"] for x in store.dump("slow")[rid]["responses"]], ["tim"],
                  "the answer given while the coordinator was down is in the store")
        expect_eq(p.call({"op": "flush", "id": 3}), {"id": 3, "ok": True}, "a second flush: nothing left")
        expect_eq(p.call({"op": "bye", "id": 4}), {"id": 4, "ok": True}, "bye")
        expect_eq(p.wait(), 0, "exit code")

        # bye while a response is still unacknowledged: juror waits --timeout-ms, says so, exits 1.
        q = Pipe(server.endpoint, "slow", "tom", os.path.join(root, "tom.stderr"), extra=["--timeout-ms", "1500"])
        pipes.append(q)
        rid = q.ok("fetch", n=1)["records"][0]["id"]
        server.kill()
        got = q.call({"op": "submit", "id": 1, "record": rid, "values": {"label": "neg"}})
        expect_eq(got.get("error", {}).get("code"), "EIO", f"submit while the coordinator is down: {got}")
        got = q.call({"op": "bye", "id": 2})
        expect_eq(got.get("error", {}).get("code"), "EIO", f"bye with an unacknowledged response: {got}")
        q.stdout_done()
        expect_eq(q.wait(), 1, "exit code when an answer may be lost")
        expect("1 responses were never acknowledged" in q.stderr_tail(), f"stderr says so:\n{q.stderr_tail()}")
        expect_eq({k: [x["annotator"] for x in v["responses"]] for k, v in store.dump("slow").items()},
                  {"w0": ["tim"], "w1": [], "w2": [], "w3": []}, "tom's answer was never stored")
    finally:
        for p in pipes:
            p.kill()
        server.kill()


def main():
    checks = Checks("pipe")
    root = make_tmpdir("pipe-")
    suite = None
    try:
        expect(os.access(JUROR_BIN, os.X_OK), f"no juror program at {JUROR_BIN} (set JUROR_BIN)")
        suite = Suite(root)
        suite.server.start()
        steps = [
            ("a whole session: settings, fetch, submit (3 statuses, batch), release, flush, bye", suite.t_session),
            ("bad input: an error reply each, the pipe stays usable", suite.t_bad_input),
            ("SIGTERM: juror flushes, says bye and exits 0", suite.t_signal),
            ("review: review_fetch and review against rejected records; EPERM; export shows the decisions",
             suite.t_review),
            ("command line: --help, bad option, no such dataset, empty input", suite.t_usage),
            ("worker/examples/pipe_frontend.py runs to completion", suite.t_example),
        ]
        for name, fn in steps:
            ok = checks.run(name, fn)
            if not ok and not suite.server.running():
                print("      coordinator is gone; log tail:\n" + suite.server.log_tail(), flush=True)
                break
    except Exception as e:
        checks.failed += 1
        print(f"FAIL  setup: {e}", flush=True)
    finally:
        if suite is not None:
            suite.close_all()
            suite.server.kill()
    checks.run("coordinator SIGKILLed mid-batch and restarted: every acknowledged answer stored once",
               crash, root)
    checks.run("answers not acknowledged in time: EIO, kept, resent; flush and bye report the outcome",
               timeouts, root)
    code = checks.finish()
    if code == 0 and not os.environ.get("JURY_TEST_KEEP"):
        rmtree(root)
    else:
        print(f"(kept {root} for inspection)")
    return code


if __name__ == "__main__":
    sys.exit(main())
