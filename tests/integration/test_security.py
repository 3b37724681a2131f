"""test_security: CURVE on the real `jury serve`: who gets in (ZAP), who may do what (identity, grants), withdrawal of access while serving, `juror --key`, and --insecure's local-only rule."""

# Keys are made with the real `jury keygen` and `jury annotator add`; the
# clients are python3-zmq CURVE DEALERs (jurytest.Peer with curve keys) and
# the real `juror`. What a refused client "gets" is checked as silence: no
# message at all within a bound, while the coordinator keeps serving others.
# Bounds are generous (an ASan build runs the same checks); the time a cut
# took is printed, not asserted (timing belongs in benchmarks).

import json
import os
import re
import stat
import subprocess
import sys
import time

import msgpack
import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jurytest import (PYTHON, SOURCE_DIR, Checks, CheckFailed, Peer, Server, Store, expect,  # noqa: E402
                      expect_eq, free_endpoint, label_settings, make_tmpdir, rmtree, run_jury,
                      submitted, text_records, wait_until, audit_lines, curve_of, read_key_file)

JUROR_BIN = os.environ.get("JUROR_BIN") or os.path.join(SOURCE_DIR, "build", "bin", "juror")
SILENCE_S = 1.5    # how long a refused client waits for a message that must not come
CUT_BOUND_S = 10   # bound on a cut (the coordinator promises about a second; printed)
JUROR_TIMEOUT_S = 120


class Suite:
    """One store with datasets `open` (granted to the annotators), `secret` (granted to bob
    only) and `camp` (for juror), the keys of several annotators, and a CURVE coordinator."""

    def __init__(self, root):
        self.root = root
        os.makedirs(root)
        self.store = Store(os.path.join(root, "store"))
        self.endpoint = free_endpoint()
        self.peers = []
        self.keys = {}
        self.server = None
        self.store.create_dataset("open", label_settings(min_submitted=1))
        self.store.import_records("open", text_records("o", 8))
        self.store.create_dataset("secret", label_settings(min_submitted=1))
        self.store.import_records("secret", text_records("s", 3))
        self.store.create_dataset("camp", label_settings(min_submitted=2))
        self.store.import_records("camp", text_records("c", 12))
        run_jury(self.store.path, "keygen")
        for name, extra in [("ana", ["--datasets", "open"]),
                            ("bob", ["--datasets", "open,secret"]),
                            ("carl", ["--datasets", "open"]),
                            ("dee", ["--datasets", "open"]),
                            ("eve", ["--datasets", "open"]),
                            ("root", ["--role", "admin"]),
                            ("fay", ["--datasets", "camp"]),
                            ("gus", ["--datasets", "camp"])]:
            self.add(name, *extra)
        self.server = Server(self.store.path, endpoint=self.endpoint, heartbeat_ms=1000,
                             insecure=False, probe_curve=curve_of(self.keys["root"]))
        self.server.start()

    def add(self, name, *extra):
        path = os.path.join(self.root, name + ".key")
        run_jury(self.store.path, "annotator", "add", name, "--out", path, "--endpoint", self.endpoint, *extra)
        self.keys[name] = read_key_file(path)
        self.keys[name]["path"] = path
        return self.keys[name]

    def peer(self, name, curve):
        p = Peer(self.endpoint, name=name, curve=curve)
        self.peers.append(p)
        return p

    def as_(self, annotator, name=None):
        """A peer holding annotator's keys."""
        return self.peer(name or annotator, curve_of(self.keys[annotator]))

    def close_all(self):
        for p in self.peers:
            p.close()
        self.peers = []

    def expect_silence(self, curve, what):
        """A client with curve keys (None: plaintext) sends hello and fetch, and must receive
        nothing at all. A raw socket with non-blocking sends: once the handshake fails, the
        DEALER has no peer and a blocking send would wait forever."""
        sock = zmq.Context.instance().socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        if curve:
            sock.curve_serverkey, sock.curve_publickey, sock.curve_secretkey = curve
        sock.connect(self.endpoint)
        try:
            for body in ({"v": 1, "cmd": "hello", "req": 1, "annotator": "ana", "dataset": "open"},
                         {"v": 1, "cmd": "fetch", "req": 2, "n": 10}):
                try:
                    sock.send(msgpack.packb(body), zmq.NOBLOCK)
                except zmq.Again:
                    pass
            got = []
            deadline = time.monotonic() + SILENCE_S
            while time.monotonic() < deadline:
                if sock.poll(50):
                    got.append(sock.recv_multipart())
            expect_eq(got, [], f"{what}: messages received")
        finally:
            sock.close(0)

    def expect_served(self):
        """The coordinator still answers an admitted client."""
        p = self.as_("root", "still-serving")
        p.hello("root", "open")
        p.bye()
        p.close()

    def auth_failures(self, key_prefix):
        return [a for a in audit_lines(self.store.path)
                if a.get("event") == "auth.fail" and a.get("key") == key_prefix]

    # -- who gets in

    def t_no_key(self):
        self.expect_silence(None, "a client without a key")
        self.expect_served()

    def t_unknown_key(self):
        pub, sec = zmq.curve_keypair()
        self.expect_silence((self.keys["root"]["coordinator-key"].encode(), pub, sec), "an unknown key")
        fails = wait_until(lambda: self.auth_failures(pub.decode()[:8]), 5, "the audit line of the unknown key")
        expect_eq(fails[-1].get("reason"), "unknown key", "audit reason")
        expect(fails[-1].get("ip") == "127.0.0.1", f"audit ip: {fails[-1]}")
        expect(pub.decode() not in open(os.path.join(self.store.path, "audit.log")).read(),
               "the audit log names only the key's first 8 characters")
        self.expect_served()

    def t_disabled_key(self):
        run_jury(self.store.path, "annotator", "disable", "carl")
        self.expect_silence(curve_of(self.keys["carl"]), "a disabled annotator's key")
        prefix = self.keys["carl"]["public-key"][:8]
        fails = wait_until(lambda: self.auth_failures(prefix), 5, "the audit line of carl's key")
        expect_eq((fails[-1].get("reason"), fails[-1].get("annotator")), ("annotator disabled", "carl"), "audit")
        # Enabled again: in at once.
        run_jury(self.store.path, "annotator", "enable", "carl")
        p = self.as_("carl", "carl-again")
        p.hello("carl", "open")
        p.bye()

    def t_wrong_coordinator_key(self):
        other_pub, _ = zmq.curve_keypair()
        k = self.keys["ana"]
        self.expect_silence((other_pub, k["public-key"].encode(), k["secret-key"].encode()),
                            "a client expecting another coordinator")

    # -- identity and grants

    def t_identity(self):
        p = self.as_("ana", "ana-as-bob")
        m = p.request("hello", annotator="bob", dataset="open")
        expect_eq((m["cmd"], m["code"]), ("error", "EPERM"), f"hello as bob over ana's key: {m}")
        expect("ana" in m["reason"] and "bob" in m["reason"], f"reason: {m['reason']}")
        m = p.request("fetch", n=1)
        expect_eq((m["cmd"], m["code"]), ("error", "ENOSESSION"), "no session after the refused hello")
        p.hello("ana", "open")  # the same connection may still open its own session
        expect_eq(p.welcome["annotator"], "ana", "welcome names ana")
        p.bye()

    def t_not_granted(self):
        p = self.as_("ana", "ana-grants")
        reasons = {}
        for ds in ("secret", "nosuch"):
            m = p.request("hello", annotator="ana", dataset=ds)
            expect_eq((m["cmd"], m["code"]), ("error", "EPERM"), f"hello {ds}: {m}")
            reasons[ds] = m["reason"].replace(ds, "DATASET")
        expect_eq(reasons["secret"], reasons["nosuch"], "a missing and a forbidden dataset get the same words")
        denied = [a for a in audit_lines(self.store.path)
                  if a.get("event") == "hello.denied" and a.get("annotator") == "ana" and a.get("dataset") == "secret"]
        expect(denied, "hello.denied audit line")
        # bob has it; the admin has everything, and learns that a dataset does not exist.
        b = self.as_("bob", "bob-secret")
        b.hello("bob", "secret")
        b.bye()
        r = self.as_("root", "root-any")
        r.hello("root", "secret")
        r.bye()
        r2 = self.as_("root", "root-nosuch")
        m = r2.request("hello", annotator="root", dataset="nosuch")
        expect_eq((m["cmd"], m["code"]), ("error", "ENOTFOUND"), "admin, unknown dataset")

    def t_submit_for_other(self):
        b = self.as_("bob", "bob-holds")
        b.hello("bob", "open")
        recs = b.fetch(1)
        expect_eq(len(recs), 1, "bob's batch")
        rid = recs[0]["id"]
        a = self.as_("ana", "ana-steals")
        a.hello("ana", "open")
        res = a.submit([submitted(rid, "pos")])
        expect_eq((res[0]["ok"], res[0]["code"]), (False, "ENOTLEASED"), "ana submits for bob's record")
        res = a.release([rid])
        expect_eq((res[0]["ok"], res[0]["code"]), (False, "ENOTLEASED"), "ana releases bob's record")
        # Bob's lease is intact and his answer is taken.
        res = b.submit([submitted(rid, "neg")])
        expect_eq(res[0]["ok"], True, "bob's own submit")
        rec = self.store.dump("open")[rid]
        expect_eq([(x["annotator"], x["values"]) for x in rec["responses"]], [("bob", {"label": "neg"})],
                  "stored responses")
        a.bye()
        b.bye()

    # -- withdrawal while serving

    def cut(self, annotator, command, want_reason):
        """annotator holds 2 leases on `open`; `command` runs; the session must be cut, its records
        fetchable by root, and later requests refused with EPERM."""
        p = self.as_(annotator, annotator + "-cut")
        p.hello(annotator, "open")
        held = [r["id"] for r in p.fetch(2)]
        expect_eq(len(held), 2, f"{annotator}'s batch")
        # Everything else open is taken by the admin, so that only the cut can free records.
        r = self.as_("root", "root-" + annotator)
        r.hello("root", "open")
        others = [x["id"] for x in r.fetch(100)]
        expect(not set(others) & set(held), "the admin got none of the held records")
        t0 = time.monotonic()
        run_jury(self.store.path, "annotator", *command)
        bye = p.goodbyes(CUT_BOUND_S)
        took = time.monotonic() - t0
        expect(bye is not None, f"goodbye within {CUT_BOUND_S} s")
        expect_eq(bye["code"], "EPERM", f"goodbye: {bye}")
        expect(want_reason in bye["reason"], f"goodbye reason: {bye['reason']}")
        print(f"      {' '.join(command)}: goodbye after {took:.2f} s", flush=True)
        for cmd, fields in [("fetch", {"n": 1}), ("submit", {"responses": [submitted(held[0], "pos")]}),
                            ("release", {"records": held})]:
            m = p.request(cmd, **fields)
            expect_eq((m["cmd"], m.get("code")), ("error", "EPERM"), f"{cmd} after the cut: {m}")
        freed = [x["id"] for x in r.fetch(100)]
        expect_eq(sorted(freed), sorted(held), "the cut annotator's records, fetchable by others at once")
        r.release(others + freed)
        r.bye()
        cuts = [a for a in audit_lines(self.store.path)
                if a.get("event") == "session.cut" and a.get("annotator") == annotator]
        expect(cuts and cuts[-1].get("dataset") == "open" and cuts[-1].get("released") == "2",
               f"session.cut audit line: {cuts}")
        return p

    def t_revoke(self):
        self.cut("ana", ["revoke", "ana", "open"], "no longer granted")
        p = self.as_("ana", "ana-after")
        m = p.request("hello", annotator="ana", dataset="open")
        expect_eq((m["cmd"], m["code"]), ("error", "EPERM"), "a new hello after the revoke")
        run_jury(self.store.path, "annotator", "grant", "ana", "open")
        p.hello("ana", "open")
        p.bye()

    def t_disable(self):
        self.cut("dee", ["disable", "dee"], "disabled")
        self.expect_silence(curve_of(self.keys["dee"]), "dee's key after disable")

    def t_rotate(self):
        out = os.path.join(self.root, "eve-new.key")
        self.cut("eve", ["rotate", "eve", "--out", out], "key was replaced")
        self.expect_silence(curve_of(self.keys["eve"]), "eve's old key")
        new = read_key_file(out)
        p = self.peer("eve-new", curve_of(new))
        p.hello("eve", "open")
        p.bye()

    # -- juror

    def juror(self, key, *args, stdin=subprocess.DEVNULL, input_text=None):
        cmd = [JUROR_BIN, "--key", key, *[str(a) for a in args]]
        p = subprocess.run(cmd, stdin=None if input_text is not None else stdin, input=input_text,
                           capture_output=True, text=True, timeout=JUROR_TIMEOUT_S)
        return p

    def t_juror_bot_campaign(self):
        procs = [subprocess.Popen([JUROR_BIN, "--key", self.keys[n]["path"], "--dataset", "camp", "bot",
                                   "--simulate", "error=0", "--idle-exit", "2"],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for n in ("fay", "gus")]
        for p in procs:
            out, err = p.communicate(timeout=JUROR_TIMEOUT_S)
            expect_eq(p.returncode, 0, f"juror bot exit (stderr: {err.strip()})")
        st = self.store.status("camp")
        expect_eq((st["completed"], st["responses"]["submitted"]), (12, 24), "campaign over CURVE")
        expect_eq(sorted(st["annotators"]), ["fay", "gus"], "annotators of the campaign")

    def t_juror_pipe_and_refusals(self):
        fay = self.keys["fay"]["path"]
        p = self.juror(fay, "--dataset", "camp", "pipe",
                       input_text='{"op": "settings", "id": 1}\n{"op": "bye", "id": 2}\n')
        expect_eq(p.returncode, 0, f"juror pipe exit (stderr: {p.stderr.strip()})")
        first = json.loads(p.stdout.splitlines()[0])
        expect_eq((first["annotator"], first["dataset"]), ("fay", "camp"), "pipe settings reply")
        # --connect overrides the key file's endpoint (here: nobody listens there).
        p = self.juror(fay, "--dataset", "camp", "--connect", "tcp://127.0.0.1:1", "--timeout-ms", 1000,
                       "bot", "--simulate", "")
        expect_eq(p.returncode, 1, "juror with --connect to nowhere")
        expect("tcp://127.0.0.1:1" in p.stderr, f"message names --connect's endpoint: {p.stderr}")
        # A dataset not granted: refused at once (EPERM is final), no retry loop.
        p = self.juror(fay, "--dataset", "open", "bot", "--simulate", "")
        expect_eq(p.returncode, 1, "juror on a dataset not granted")
        expect("is not open to fay" in p.stderr, f"message: {p.stderr}")
        # Another annotator's name with this key: refused before connecting.
        p = self.juror(fay, "--dataset", "camp", "--annotator", "gus", "bot", "--simulate", "")
        expect_eq(p.returncode, 1, "juror --annotator gus with fay's key")
        expect("is the key file of fay, not of gus" in p.stderr, f"message: {p.stderr}")
        # A disabled annotator's key: refused at the handshake, reported as such.
        run_jury(self.store.path, "annotator", "disable", "gus")
        t0 = time.monotonic()
        p = self.juror(self.keys["gus"]["path"], "--dataset", "camp", "bot", "--simulate", "")
        expect_eq(p.returncode, 1, "juror with a disabled key")
        expect("refused this key" in p.stderr, f"message: {p.stderr}")
        expect(time.monotonic() - t0 < 25, "a refused key ends juror before its 30 s timeout")
        run_jury(self.store.path, "annotator", "enable", "gus")
        # A key file others may read: refused before connecting, with the fix.
        loose = os.path.join(self.root, "loose.key")
        with open(self.keys["fay"]["path"]) as src, open(loose, "w") as dst:
            dst.write(src.read())
        os.chmod(loose, 0o644)
        p = self.juror(loose, "--dataset", "camp", "bot", "--simulate", "")
        expect_eq(p.returncode, 1, "juror with a 0644 key file")
        expect("chmod 600" in p.stderr, f"message: {p.stderr}")
        # Plaintext against a CURVE coordinator: nothing.
        p = subprocess.run([JUROR_BIN, "--connect", self.endpoint, "--dataset", "camp", "--annotator", "fay",
                            "--timeout-ms", "1500", "bot", "--simulate", ""],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=JUROR_TIMEOUT_S)
        expect_eq(p.returncode, 1, "plaintext juror against CURVE")
        expect("requires CURVE keys" in p.stderr, f"message: {p.stderr}")

    def t_spec_example(self):
        """SPEC.md section 13's worker, with KEY_FILE set, against the CURVE coordinator."""
        ex = os.path.join(SOURCE_DIR, "ops", "examples")
        with open(os.path.join(ex, "support-sft.settings.json")) as f:
            self.store.create_dataset("support", json.load(f))
        with open(os.path.join(ex, "support-sft.records.jsonl")) as f:
            self.store.import_records("support", [json.loads(line) for line in f if line.strip()])
        self.add("alice", "--datasets", "support")
        with open(os.path.join(SOURCE_DIR, "protocol", "SPEC.md")) as f:
            spec = f.read()
        m = re.search(r"^## 13\..*?^```python\n(.*?)^```", spec, re.S | re.M)
        expect(m, "SPEC.md section 13 has a python block")
        code = m.group(1)
        expect("KEY_FILE = None" in code, "the example has a KEY_FILE setting")
        code = code.replace('"tcp://127.0.0.1:5555"', repr(self.endpoint))
        code = code.replace("KEY_FILE = None", f"KEY_FILE = {self.keys['alice']['path']!r}", 1)
        path = os.path.join(self.root, "spec_example.py")
        with open(path, "w") as f:
            f.write(code)
        before = self.store.status("support")["annotators"].get("alice", {}).get("submitted", 0)
        p = subprocess.run([PYTHON, path], capture_output=True, text=True, timeout=60)
        expect_eq(p.returncode, 0, f"exit code of the example (stderr: {p.stderr.strip()[-2000:]})")
        st = self.store.status("support")
        expect_eq(st["annotators"]["alice"]["submitted"], before + 1, "alice's submitted responses")


def check_insecure_bind(root):
    """--insecure refuses endpoints others can reach (exit 2), and takes local ones."""
    store = os.path.join(root, "insecure")
    Store(store).create_dataset("d", label_settings())
    port = free_endpoint().rsplit(":", 1)[1]
    for bind in (f"tcp://0.0.0.0:{port}", f"tcp://*:{port}", f"tcp://192.0.2.1:{port}", f"tcp://127.0.0.1.evil:{port}",
                 f"tcp://lo:{port}", f"ws://127.0.0.1:{port}"):
        p = run_jury(store, "serve", "--insecure", "--bind", bind, check=False, timeout_s=20)
        expect_eq(p.returncode, 2, f"serve --insecure --bind {bind}")
        expect("not a local endpoint" in p.stderr, f"message for {bind}: {p.stderr}")
    # A local endpoint is fine (and needs no key): serve, then stop it.
    srv = Server(store, log_level="info")
    srv.start()
    expect_eq(srv.stop(), 0, "serve --insecure on 127.0.0.1")
    srv = Server(store, endpoint="tcp://localhost:" + free_endpoint().rsplit(":", 1)[1], log_level="info")
    srv.start()
    expect_eq(srv.stop(), 0, "serve --insecure on tcp://localhost")
    ipc = os.path.join(root, "insecure.sock")
    srv = Server(store, endpoint="ipc://" + ipc, log_level="info")
    srv.start()
    expect_eq(srv.stop(), 0, "serve --insecure on ipc://")


def check_no_key(root):
    """Without --insecure and without coordinator.key: exit 2, pointing at `jury keygen`; a key file
    others may read is refused too."""
    store = os.path.join(root, "nokey")
    Store(store).create_dataset("d", label_settings())
    p = run_jury(store, "serve", "--bind", free_endpoint(), check=False, timeout_s=20)
    expect_eq(p.returncode, 2, "serve without a key")
    expect("jury" in p.stderr and "keygen" in p.stderr, f"message: {p.stderr}")
    run_jury(store, "keygen")
    key = os.path.join(store, "coordinator.key")
    expect_eq(stat.S_IMODE(os.stat(key).st_mode), 0o600, "coordinator.key mode")
    os.chmod(key, 0o640)
    p = run_jury(store, "serve", "--bind", free_endpoint(), check=False, timeout_s=20)
    expect_eq(p.returncode, 2, "serve with a group-readable coordinator.key")
    expect("chmod 600" in p.stderr, f"message: {p.stderr}")


def main():
    checks = Checks("test_security")
    if not os.access(JUROR_BIN, os.X_OK):
        print(f"no juror program at {JUROR_BIN} (set JUROR_BIN)", flush=True)
        print("0 passed, 1 failed", flush=True)
        return 1
    root = make_tmpdir("security-")
    suite = None
    try:
        suite = Suite(os.path.join(root, "curve"))
        steps = [
            ("a client without a key gets nothing", suite.t_no_key),
            ("an unknown key gets nothing; audit auth.fail", suite.t_unknown_key),
            ("a disabled annotator's key gets nothing; enable lets it in", suite.t_disabled_key),
            ("a client with the wrong coordinator key gets nothing", suite.t_wrong_coordinator_key),
            ("hello cannot claim another annotator (EPERM)", suite.t_identity),
            ("datasets not granted: EPERM, same words as a missing one; admins see all", suite.t_not_granted),
            ("no submit or release for a record leased to another", suite.t_submit_for_other),
            ("revoke cuts the session, frees its leases, later requests EPERM", suite.t_revoke),
            ("disable cuts the session and the key", suite.t_disable),
            ("rotate cuts the session of the old key", suite.t_rotate),
            ("juror --key bot: a campaign over CURVE", suite.t_juror_bot_campaign),
            ("juror --key pipe, --connect, and refusals", suite.t_juror_pipe_and_refusals),
            ("SPEC section 13 example with a key file", suite.t_spec_example),
        ]
        for name, fn in steps:
            ok = checks.run(name, fn)
            suite.close_all()
            if not ok and not suite.server.running():
                print("      coordinator is gone; log tail:\n" + suite.server.log_tail(), flush=True)
                break
        if suite.server.running():
            expect_eq(suite.server.stop(), 0, "coordinator exit after SIGTERM")
    except Exception as e:
        checks.failed += 1
        print(f"FAIL  setup: {e}", flush=True)
    finally:
        if suite is not None:
            suite.close_all()
            if suite.server is not None:
                suite.server.kill()
    checks.run("serve --insecure only on local endpoints", check_insecure_bind, root)
    checks.run("serve without a coordinator key, or with a loose one: exit 2", check_no_key, root)
    code = checks.finish()
    if code == 0 and not os.environ.get("JURY_TEST_KEEP"):
        rmtree(root)
    else:
        print(f"(kept {root} for inspection)")
    return code


if __name__ == "__main__":
    sys.exit(main())
