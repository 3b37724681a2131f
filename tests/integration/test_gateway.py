"""test_gateway: web tokens and gateway keys on the real `jury serve` (SPEC section 10.4): a
gateway's CURVE key acts for an annotator only with that annotator's web token; wrong, foreign
and revoked tokens are refused with the same words; revoking a token, disabling the gateway or
revoking the dataset cuts the sessions it opened; welcome and batch carry the progress counts;
a response sent with reclaim takes a lost lease again only where the record has room (SPEC 9.3)."""

# Keys and tokens come from the real `jury annotator add ... --web-token` and `jury annotator
# web-token`; the gateway is a python3-zmq CURVE DEALER holding the gateway's keys, speaking the
# protocol as `juror web --gateway` does (the browser test drives the real one).

import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jurytest import (Checks, Peer, Server, Store, audit_lines, curve_of, expect,  # noqa: E402
                      expect_eq, free_endpoint, label_settings, make_tmpdir, read_key_file, rmtree,
                      run_jury, submitted, text_records)

CUT_BOUND_S = 10  # a cut comes within about a second (SPEC 10.1); generous for ASan


def token_of(stdout):
    """The token from the `web-token: NAME:SECRET` line a command printed."""
    found = re.findall(r"^web-token: (\S+)$", stdout, re.M)
    expect_eq(len(found), 1, f"one web-token line in {stdout!r}")
    return found[0]


class Suite:
    def __init__(self, root):
        self.root = root
        os.makedirs(root)
        self.store = Store(os.path.join(root, "store"))
        self.endpoint = free_endpoint()
        self.peers = []
        self.store.create_dataset("open", label_settings(min_submitted=2))
        self.store.import_records("open", text_records("o", 6))
        self.store.create_dataset("secret", label_settings(min_submitted=1))
        self.store.import_records("secret", text_records("s", 2))
        self.store.create_dataset("re", label_settings(min_submitted=1))
        self.store.import_records("re", text_records("r", 2))
        run_jury(self.store.path, "keygen")
        self.keys = {}
        self.tokens = {}
        for name, extra in [("ana", ["--datasets", "open,re", "--web-token"]),
                            ("bob", ["--datasets", "open", "--web-token"]),
                            ("cy", ["--datasets", "open,re"]),
                            ("web1", ["--role", "gateway"]),
                            ("web2", ["--role", "gateway"])]:
            path = os.path.join(root, name + ".key")
            out = run_jury(self.store.path, "annotator", "add", name, "--out", path, "--endpoint",
                           self.endpoint, *extra).stdout
            self.keys[name] = read_key_file(path)
            if "--web-token" in extra:
                self.tokens[name] = token_of(out)
        self.server = Server(self.store.path, endpoint=self.endpoint, heartbeat_ms=1000,
                             insecure=False, probe_curve=curve_of(self.keys["cy"]))
        self.server.start()

    def peer(self, holder, name=None):
        p = Peer(self.endpoint, name=name or holder, curve=curve_of(self.keys[holder]))
        self.peers.append(p)
        return p

    def close_all(self):
        for p in self.peers:
            p.close()
        self.peers = []

    def refused(self, p, annotator, token, dataset="open"):
        fields = {"annotator": annotator, "dataset": dataset}
        if token is not None:
            fields["token"] = token
        m = p.request("hello", **fields)
        expect(m is not None and m["cmd"] == "error", f"hello {fields.get('annotator')}: {m}")
        expect_eq(m["code"], "EPERM", f"code of {m}")
        return m["reason"]

    # -- the checks

    def t_token_format(self):
        for name in ("ana", "bob"):
            t = self.tokens[name]
            expect(re.fullmatch(rf"{name}:[A-Za-z0-9_-]{{43}}", t) is not None, f"token shape {t!r}")
        expect(self.tokens["ana"] not in open(os.path.join(self.store.path, "audit.log")).read(),
               "the audit log never holds a token")
        listed = {a["name"]: a for a in json.loads(run_jury(self.store.path, "annotator", "list",
                                                            "--json").stdout)}
        expect_eq({n: listed[n]["web_token"] for n in ("ana", "cy", "web1")},
                  {"ana": True, "cy": False, "web1": False}, "list --json web_token")
        expect_eq(listed["web1"]["role"], "gateway", "the gateway's role")

    def t_gateway_session(self):
        g = self.peer("web1")
        w = g.call("hello", "welcome", annotator="ana", dataset="open", token=self.tokens["ana"])
        expect_eq(w["annotator"], "ana", "the session's annotator")
        expect_eq(w["progress"], {"submitted": 0, "completed": 0, "records": 6}, "welcome progress")
        b = g.call("fetch", "batch", n=2)
        expect_eq(len(b["records"]), 2, "records fetched through the gateway")
        ids = [r["id"] for r in b["records"]]
        res = g.submit([submitted(i, "pos") for i in ids])
        expect_eq([r["ok"] for r in res], [True, True], f"submits acknowledged: {res}")
        b = g.call("fetch", "batch", n=1)
        expect_eq(b["progress"], {"submitted": 2, "completed": 0, "records": 6}, "batch progress")
        g.release([r["id"] for r in b["records"]])
        d = self.store.dump("open")
        expect_eq(sorted(i for i, r in d.items() if any(x["annotator"] == "ana" for x in r["responses"])),
                  sorted(ids), "responses stored as ana's")
        # A second annotator through the same gateway key, on its own connection.
        h = self.peer("web1", "web1-bob")
        h.call("hello", "welcome", annotator="bob", dataset="open", token=self.tokens["bob"])
        b = h.call("fetch", "batch", n=6)
        res = h.submit([submitted(r["id"], "neg") for r in b["records"] if r["id"] in ids])
        expect_eq([r["ok"] for r in res], [True, True], "bob completes ana's two records")
        b = h.call("fetch", "batch", n=1)
        expect_eq(b["progress"], {"submitted": 2, "completed": 2, "records": 6},
                  "progress after two completed records")
        g.bye()
        h.bye()

    def t_refusals(self):
        g = self.peer("web1")
        wrong = "ana:" + "A" * 43
        reasons = [self.refused(g, "ana", wrong),                   # a wrong secret
                   self.refused(g, "ana", self.tokens["bob"]),      # bob's token for ana
                   self.refused(g, "nobody", "nobody:" + "A" * 43),  # no such annotator
                   self.refused(g, "cy", "cy:" + "A" * 43),          # cy has no token
                   self.refused(g, "web2", "web2:" + "A" * 43),      # a gateway as annotator
                   self.refused(g, "ana", "not a token")]
        for r, who in zip(reasons, ["ana", "ana", "nobody", "cy", "web2", "ana"]):
            expect_eq(r, f"hello: token: not a valid web token for {who}", "the same words for every bad token")
        expect_eq(self.refused(g, "ana", self.tokens["ana"], dataset="secret"),
                  "hello: dataset: 'secret' is not open to ana", "a dataset not granted to ana")
        expect("gateway" in self.refused(g, "web1", None), "a gateway key alone opens nothing")
        expect("belongs to web1" in self.refused(g, "ana", None), "a gateway key without a token")
        a = self.peer("ana")
        expect("not a gateway" in self.refused(a, "bob", self.tokens["bob"]),
               "an annotator's key cannot use someone's token")
        denied = [x for x in audit_lines(self.store.path)
                  if x.get("event") == "hello.denied" and x.get("annotator") == "web1"]
        expect(len(denied) >= 7 and all(x.get("token") for x in denied), f"hello.denied audit lines: {denied[-2:]}")
        expect(all(self.tokens["ana"] not in json.dumps(x) for x in denied), "no token in the audit log")
        # The refusals did not end anything: a good hello on the same connection still works.
        g.call("hello", "welcome", annotator="ana", dataset="open", token=self.tokens["ana"])
        g.bye()

    def cut(self, command, annotator, want, token_holder="web1"):
        g = self.peer(token_holder)
        g.call("hello", "welcome", annotator=annotator, dataset="open", token=self.tokens[annotator])
        held = [r["id"] for r in g.call("fetch", "batch", n=1)["records"]]
        t0 = time.monotonic()
        out = run_jury(self.store.path, "annotator", *command).stdout
        bye = g.goodbyes(CUT_BOUND_S)
        expect(bye is not None, f"goodbye within {CUT_BOUND_S} s of {' '.join(command)}")
        expect_eq(bye["code"], "EPERM", f"goodbye {bye}")
        expect(want in bye["reason"], f"goodbye reason {bye['reason']!r} names {want!r}")
        print(f"      {' '.join(command)}: goodbye after {time.monotonic() - t0:.2f} s", flush=True)
        m = g.request("fetch", n=1)
        expect_eq((m["cmd"], m.get("code")), ("error", "EPERM"), "fetch after the cut")
        cuts = [x for x in audit_lines(self.store.path) if x.get("event") == "session.cut"]
        expect(cuts and cuts[-1].get("annotator") == annotator and cuts[-1].get("released") == str(len(held)),
               f"session.cut audit line {cuts[-1:]}")
        return out

    def t_revoke_token(self):
        out = self.cut(["web-token", "ana", "--revoke"], "ana", "web token was revoked")
        expect("revoked the web token of ana" in out, f"revoke output {out!r}")
        g = self.peer("web1", "after-revoke")
        self.refused(g, "ana", self.tokens["ana"])
        out = run_jury(self.store.path, "annotator", "web-token", "ana", "--revoke").stdout
        expect_eq(out.strip(), "annotator ana has no web token", "revoking twice")
        # A new token works; issuing another replaces it.
        t1 = token_of(run_jury(self.store.path, "annotator", "web-token", "ana").stdout)
        g.call("hello", "welcome", annotator="ana", dataset="open", token=t1)
        g.bye()
        self.tokens["ana"] = t1
        out = self.cut(["web-token", "ana"], "ana", "web token was revoked or replaced")
        expect("the old one no longer works" in out, f"replace output {out!r}")
        t2 = token_of(out)
        self.refused(self.peer("web1", "old-token"), "ana", t1)
        self.tokens["ana"] = t2
        actions = [x.get("action") for x in audit_lines(self.store.path) if x.get("event") == "annotator.web_token"]
        expect_eq(actions, ["revoke", "issue", "replace"], "annotator.web_token audit lines")

    def t_disable_gateway(self):
        self.cut(["disable", "web2"], "bob", "gateway was disabled", token_holder="web2")
        run_jury(self.store.path, "annotator", "enable", "web2")

    def t_revoke_dataset(self):
        self.cut(["revoke", "bob", "open"], "bob", "no longer granted")
        run_jury(self.store.path, "annotator", "grant", "bob", "open")

    def t_reclaim(self):
        """SPEC 9.3: a response with reclaim is leased anew when its record has room."""
        c = self.peer("cy")
        c.hello("cy", "re")
        r0 = {**submitted("r0", "pos"), "reclaim": True}
        expect_eq([(x["ok"], x.get("code")) for x in c.submit([r0])], [(True, None)],
                  "reclaim of an open record with room")
        g = self.peer("web1")
        g.call("hello", "welcome", annotator="ana", dataset="re", token=self.tokens["ana"])
        expect_eq([r["id"] for r in g.fetch(5)], ["r1"], "ana leases the last record")
        res = c.submit([{**submitted("r1", "neg"), "reclaim": True}, r0, submitted("r1", "neg")])
        expect_eq([(x["ok"], x.get("code")) for x in res],
                  [(False, "ENOTLEASED"), (True, None), (False, "ENOTLEASED")],
                  "no room (ana's lease), an identical resubmit, no reclaim")
        expect("cannot be leased again" in res[0]["reason"], res[0]["reason"])
        expect("not leased to cy" in res[2]["reason"], res[2]["reason"])
        d = self.store.dump("re")
        expect_eq({k: [x["annotator"] for x in v["responses"]] for k, v in d.items()},
                  {"r0": ["cy"], "r1": []}, "what the store holds")
        g.bye()
        c.bye()

    def t_cli_refusals(self):
        p = run_jury(self.store.path, "annotator", "web-token", "web1", check=False)
        expect_eq(p.returncode, 2, "web-token for a gateway")
        expect("gateway" in p.stderr, p.stderr)
        p = run_jury(self.store.path, "annotator", "web-token", "zed", check=False)
        expect_eq((p.returncode, "no annotator 'zed'" in p.stderr), (2, True), p.stderr)
        p = run_jury(self.store.path, "annotator", "add", "web3", "--role", "gateway", "--web-token",
                     "--out", os.path.join(self.root, "web3.key"), check=False)
        expect_eq(p.returncode, 2, "add --role gateway --web-token")
        expect(not os.path.exists(os.path.join(self.root, "web3.key")), "nothing written")
        p = run_jury(self.store.path, "annotator", "disable", "ana", "--revoke", check=False)
        expect_eq(p.returncode, 2, "--revoke outside web-token")


def main():
    root = make_tmpdir("jury-gateway")
    checks = Checks("gateway and web tokens (SPEC 10.4)")
    suite = None
    try:
        suite = Suite(os.path.join(root, "suite"))
        for name, fn in [("token shape, list --json, nothing secret in the audit log", suite.t_token_format),
                         ("a gateway acts for two annotators with their tokens; progress", suite.t_gateway_session),
                         ("bad tokens, foreign tokens and gateway misuse are refused", suite.t_refusals),
                         ("revoking or replacing a token cuts its sessions", suite.t_revoke_token),
                         ("disabling the gateway cuts the sessions it opened", suite.t_disable_gateway),
                         ("revoking the dataset cuts a gateway session", suite.t_revoke_dataset),
                         ("reclaim: a lost lease taken again only where there is room", suite.t_reclaim),
                         ("jury annotator web-token refusals", suite.t_cli_refusals)]:
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
            suite.server.kill()
    code = checks.finish()
    if code == 0 and not os.environ.get("JURY_TEST_KEEP"):
        rmtree(root)
    else:
        print(f"(kept {root} for inspection)")
    return code


if __name__ == "__main__":
    sys.exit(main())
