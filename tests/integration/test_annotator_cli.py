"""test_annotator_cli: `jury keygen` and `jury annotator` end to end on real stores: key files and their modes, the keys the store registers, grants, and the audit log."""

# The checks read key files and `annotator list --json` the way a person or a
# script would, and prove keypairs with pyzmq's zmq.curve_public (libzmq's
# Curve25519), not with jury's own code. Secrets must never show up in any
# output, listing or audit line: every check that sees a secret looks for it.

import json
import os
import re
import stat
import subprocess
import sys

import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jurytest import (CLI_TIMEOUT_S, JURY_BIN, Checks, CheckFailed, Store, expect,  # noqa: E402
                      expect_eq, label_settings, make_tmpdir, rmtree, text_records)

Z85 = re.compile(r"^[0-9a-zA-Z.\-:+=^!/*?&<>()\[\]{}@%$#]{40}$")
TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def jury(store, *args, cwd=None, check=True):
    """Runs `jury --store STORE ARGS...` in cwd; returns the CompletedProcess (text)."""
    cmd = [JURY_BIN, "--store", store] + [str(a) for a in args]
    p = subprocess.run(cmd, capture_output=True, timeout=CLI_TIMEOUT_S, cwd=cwd, text=True)
    if check and p.returncode != 0:
        raise CheckFailed(f"{' '.join(cmd[1:])}: exit {p.returncode}: {p.stderr.strip()}")
    return p


def expect_exit(p, code, what):
    expect_eq(p.returncode, code, f"{what}: exit code (stderr: {p.stderr.strip()!r})")


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def read_keyfile(path):
    """A key file as {name: value}; fails on a line that is not `name = value`."""
    fields = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, sep, value = line.partition("=")
            expect(sep == "=", f"{path}:{n}: not name = value: {line!r}")
            name, value = name.strip(), value.strip()
            expect(name not in fields, f"{path}:{n}: {name} twice")
            fields[name] = value
    return fields


def parse_logfmt(line):
    """One logfmt line as a dict: bare values, or double-quoted ones with backslash escapes."""
    out, i, n = {}, 0, len(line)
    while i < n:
        while i < n and line[i] == " ":
            i += 1
        if i >= n:
            break
        j = line.index("=", i)
        key = line[i:j]
        expect(re.fullmatch(r"[A-Za-z0-9_.\-]+", key) is not None, f"logfmt key {key!r} in {line!r}")
        i = j + 1
        if i < n and line[i] == '"':
            i += 1
            val = []
            while line[i] != '"':
                if line[i] == "\\":
                    i += 1
                    val.append({"n": "\n", "r": "\r", "t": "\t"}.get(line[i], line[i]))
                else:
                    val.append(line[i])
                i += 1
            i += 1
            value = "".join(val)
        else:
            j = line.find(" ", i)
            j = n if j < 0 else j
            value = line[i:j]
            expect('"' not in value and "=" not in value, f"unquoted value {value!r} in {line!r}")
            i = j
        expect(key not in out, f"logfmt key {key} twice in {line!r}")
        out[key] = value
    return out


def audit(store):
    """The store's audit log as a list of dicts (checking the file's mode and each ts)."""
    path = os.path.join(store, "audit.log")
    expect_eq(mode(path), 0o600, "audit.log mode")
    with open(path) as f:
        lines = [parse_logfmt(line.rstrip("\n")) for line in f if line.strip()]
    for rec in lines:
        expect(TS.match(rec.get("ts", "")) is not None, f"audit ts {rec.get('ts')!r}")
        expect_eq(rec.get("by"), "cli", f"audit line {rec}: by")
    return lines


def listing(store):
    """`jury annotator list --json` as {name: entry}."""
    entries = json.loads(jury(store, "annotator", "list", "--json").stdout)
    return {e["name"]: e for e in entries}


def new_store(root, datasets=("a", "b"), keygen=True):
    """A store with datasets (a text field, a label question) and, with keygen, a coordinator key."""
    path = os.path.join(root, "store")
    st = Store(path)
    for name in datasets:
        st.create_dataset(name, label_settings(min_submitted=1))
    if keygen:
        jury(path, "keygen")
    return path


def coordinator_public(store):
    return read_keyfile(os.path.join(store, "coordinator.pub"))["public-key"]


def expect_no_secret(secret, *texts):
    for t in texts:
        expect(secret not in t, "a secret key shows in output or a log")


# ---------------------------------------------------------------------------

def check_keygen(root):
    store = os.path.join(root, "store")
    p = jury(store, "keygen")
    key_path, pub_path = os.path.join(store, "coordinator.key"), os.path.join(store, "coordinator.pub")
    expect_eq(mode(key_path), 0o600, "coordinator.key mode")
    expect_eq(mode(pub_path), 0o644, "coordinator.pub mode")
    secret_file, public_file = read_keyfile(key_path), read_keyfile(pub_path)
    expect_eq(sorted(secret_file), ["public-key", "secret-key"], "coordinator.key fields")
    expect_eq(sorted(public_file), ["public-key"], "coordinator.pub fields")
    pub, sec = public_file["public-key"], secret_file["secret-key"]
    expect(Z85.match(pub) and Z85.match(sec), "keys are 40 characters of Z85")
    expect_eq(secret_file["public-key"], pub, "the two files hold one public key")
    expect_eq(zmq.curve_public(sec.encode()).decode(), pub, "the secret gives the public key")
    expect(f"coordinator public key: {pub}" in p.stdout, f"keygen prints the public key: {p.stdout!r}")
    expect_no_secret(sec, p.stdout, p.stderr)

    again = jury(store, "keygen", check=False)
    expect_exit(again, 2, "a second keygen")
    expect("--force" in again.stderr, f"the refusal names --force: {again.stderr!r}")
    expect_eq(read_keyfile(key_path)["secret-key"], sec, "the refused keygen left the key alone")

    forced = jury(store, "keygen", "--force")
    new_pub = coordinator_public(store)
    expect(new_pub != pub, "--force makes a new key")
    expect_eq(read_keyfile(key_path)["public-key"], new_pub, "both files have the new key")
    expect_eq(mode(key_path), 0o600, "coordinator.key mode after --force")
    expect_no_secret(read_keyfile(key_path)["secret-key"], forced.stdout, forced.stderr)
    events = audit(store)
    expect_eq([(e["event"], e["key"], e["replaced"]) for e in events],
              [("keygen", pub, "false"), ("keygen", new_pub, "true")], "audit lines of keygen")


def check_add_without_keygen(root):
    store = new_store(root, keygen=False)
    p = jury(store, "annotator", "add", "ana", "--datasets", "a", cwd=root, check=False)
    expect_exit(p, 2, "add before keygen")
    expect("jury keygen" in p.stderr, f"the hint says to run jury keygen: {p.stderr!r}")
    expect(not os.path.exists(os.path.join(root, "ana.key")), "no key file written")
    expect_eq(listing(store), {}, "no annotator registered")

    # With only coordinator.pub lost, its public key still comes from coordinator.key.
    jury(store, "keygen")
    pub = coordinator_public(store)
    os.unlink(os.path.join(store, "coordinator.pub"))
    jury(store, "annotator", "add", "ana", "--datasets", "a", cwd=root)
    expect_eq(read_keyfile(os.path.join(root, "ana.key"))["coordinator-key"], pub,
              "the coordinator key from coordinator.key")
    # A coordinator.key that others may read is refused with the fix, even just for its public key.
    os.chmod(os.path.join(store, "coordinator.key"), 0o644)
    p = jury(store, "annotator", "add", "bob", cwd=root, check=False)
    expect_exit(p, 2, "add with a readable coordinator.key")
    expect("chmod 600" in p.stderr, f"the message says how to fix the mode: {p.stderr!r}")
    expect(not os.path.exists(os.path.join(root, "bob.key")), "no key file for bob")


def check_add(root):
    store = new_store(root)
    p = jury(store, "annotator", "add", "ana", "--datasets", "a,b", "--endpoint",
             "tcp://coord.example:5555", cwd=root)
    path = os.path.join(root, "ana.key")
    expect_eq(mode(path), 0o600, "ana.key mode")
    kf = read_keyfile(path)
    expect_eq(sorted(kf), ["annotator", "coordinator-key", "endpoint", "public-key", "secret-key"],
              "annotator key file fields")
    expect_eq(kf["annotator"], "ana", "annotator")
    expect_eq(kf["endpoint"], "tcp://coord.example:5555", "endpoint")
    expect_eq(kf["coordinator-key"], coordinator_public(store), "coordinator-key is coordinator.pub's")
    expect_eq(zmq.curve_public(kf["secret-key"].encode()).decode(), kf["public-key"],
              "the file's secret gives its public key")
    expect("warning" not in p.stderr, f"no warning with datasets: {p.stderr!r}")

    ana = listing(store)["ana"]
    expect_eq(ana["public_key"], kf["public-key"], "the stored key is the file's public key")
    expect_eq(ana["key"], True, "key")
    expect_eq(ana["key_prefix"], kf["public-key"][:8], "key prefix")
    expect_eq(ana["role"], "annotator", "default role")
    expect_eq(ana["state"], "active", "state")
    expect_eq(ana["datasets"], ["a", "b"], "granted datasets")
    text = jury(store, "annotator", "list").stdout
    expect(re.search(r"^ana\s+annotator\s+active\s+yes " + re.escape(kf["public-key"][:8]) + r"\s+a,b\s",
                     text, re.M) is not None, f"text listing: {text!r}")
    expect_no_secret(kf["secret-key"], p.stdout, p.stderr, text, json.dumps(ana),
                     open(os.path.join(store, "audit.log")).read())

    # A reviewer without datasets is allowed, with a warning; an admin needs none.
    p = jury(store, "annotator", "add", "rev", "--role", "reviewer", "--out",
             os.path.join(root, "keys-rev"), cwd=root)
    expect("warning" in p.stderr and "grant" in p.stderr, f"the warning: {p.stderr!r}")
    expect_eq(read_keyfile(os.path.join(root, "keys-rev"))["annotator"], "rev", "--out file")
    expect("endpoint" not in read_keyfile(os.path.join(root, "keys-rev")), "no endpoint without --endpoint")
    p = jury(store, "annotator", "add", "boss", "--role", "admin", cwd=root)
    expect("warning" not in p.stderr, f"no warning for an admin: {p.stderr!r}")
    got = listing(store)
    expect_eq((got["rev"]["role"], got["rev"]["datasets"]), ("reviewer", []), "rev")
    expect_eq(got["boss"]["role"], "admin", "boss")

    events = [e for e in audit(store) if e["event"] == "annotator.add"]
    expect_eq([(e["annotator"], e["role"], e["datasets"], e["key"], e["source"]) for e in events],
              [("ana", "annotator", "a,b", kf["public-key"], "generated"),
               ("rev", "reviewer", "", got["rev"]["public_key"], "generated"),
               ("boss", "admin", "", got["boss"]["public_key"], "generated")], "annotator.add lines")


def check_add_public_key(root):
    store = new_store(root)
    # libzmq's CURVE test client key (tests/testutil_security.cpp).
    pub = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
    jury(store, "annotator", "add", "own", "--public-key", pub, "--datasets", "b", cwd=root)
    expect_eq(sorted(os.listdir(root)), ["store"], "no key file is written for a registered key")
    own = listing(store)["own"]
    expect_eq((own["public_key"], own["datasets"]), (pub, ["b"]), "the registered key")
    line = [e for e in audit(store) if e["event"] == "annotator.add"][-1]
    expect_eq((line["key"], line["source"]), (pub, "provided"), "audit of a provided key")

    # The same key for someone else, and things that are not keys.
    p = jury(store, "annotator", "add", "other", "--public-key", pub, cwd=root, check=False)
    expect_exit(p, 2, "a key registered to another annotator")
    for bad in ["HelloWorld", pub[:-1] + " ", "0" * 40]:
        p = jury(store, "annotator", "add", "other", "--public-key", bad, cwd=root, check=False)
        expect_exit(p, 2, f"--public-key {bad!r}")
    p = jury(store, "annotator", "add", "other", "--public-key", pub, "--out", "x.key", cwd=root, check=False)
    expect_exit(p, 2, "--public-key with --out")
    expect("other" not in listing(store), "nothing registered by the refused adds")


def check_refusals(root):
    store = new_store(root)
    jury(store, "annotator", "add", "ana", "--datasets", "a", cwd=root)
    before = read_keyfile(os.path.join(root, "ana.key"))
    listed = listing(store)["ana"]["public_key"]

    p = jury(store, "annotator", "add", "ana", "--out", "ana2.key", cwd=root, check=False)
    expect_exit(p, 2, "a second add of ana")
    expect("rotate" in p.stderr, f"the refusal points at rotate: {p.stderr!r}")
    expect(not os.path.exists(os.path.join(root, "ana2.key")), "no key file for the refused add")
    expect_eq(listing(store)["ana"]["public_key"], listed, "ana's key unchanged")

    p = jury(store, "annotator", "add", "bob", "--datasets", "a,nope", cwd=root, check=False)
    expect_exit(p, 2, "add with a dataset that does not exist")
    expect("'nope'" in p.stderr, f"the message names the dataset: {p.stderr!r}")
    expect(not os.path.exists(os.path.join(root, "bob.key")), "no key file left behind")
    expect("bob" not in listing(store), "bob not registered")

    # An existing key file is never overwritten by add.
    with open(os.path.join(root, "carl.key"), "w") as f:
        f.write("mine\n")
    p = jury(store, "annotator", "add", "carl", cwd=root, check=False)
    expect_exit(p, 2, "add onto an existing key file")
    expect_eq(open(os.path.join(root, "carl.key")).read(), "mine\n", "the existing file is intact")
    expect("carl" not in listing(store), "carl not registered")

    for args in (["add", "bad name"], ["add", ".x"], ["add", "x", "--role", "gateway", "--web-token"],
                 ["add", "x", "--role", "boss"], ["add", "x", "--datasets", "a,,b"],
                 ["add", "x", "--endpoint", "tcp://a b"], ["disable", "nobody"],
                 ["grant", "ana", "nope"], ["grant", "nobody", "a"], ["revoke", "ana", "nope"],
                 ["rotate", "nobody"], ["frobnicate", "ana"], ["list", "--role", "admin"],
                 ["grant", "ana"], ["add", "y", "--out", os.path.join(root, "no-such-dir", "y.key")]):
        p = jury(store, "annotator", *args, cwd=root, check=False)
        expect_exit(p, 2, f"annotator {' '.join(args)}")
    expect_eq(read_keyfile(os.path.join(root, "ana.key")), before, "ana.key untouched")
    expect_eq(sorted(listing(store)), ["ana"], "nobody else registered")
    expect_eq(len([e for e in audit(store) if e["event"] == "annotator.add"]), 1, "one add audited")


def check_disable_enable_rotate(root):
    store = new_store(root)
    jury(store, "annotator", "add", "ana", "--datasets", "a", "--endpoint", "tcp://h:5555", cwd=root)
    first = read_keyfile(os.path.join(root, "ana.key"))

    jury(store, "annotator", "disable", "ana")
    expect_eq(listing(store)["ana"]["state"], "disabled", "after disable")
    p = jury(store, "annotator", "disable", "ana")
    expect("already" in p.stdout, f"disabling twice: {p.stdout!r}")
    jury(store, "annotator", "enable", "ana")
    expect_eq(listing(store)["ana"]["state"], "active", "after enable")

    p = jury(store, "annotator", "rotate", "ana", cwd=root)
    second = read_keyfile(os.path.join(root, "ana.key"))
    expect_eq(mode(os.path.join(root, "ana.key")), 0o600, "rotated key file mode")
    expect(second["public-key"] != first["public-key"], "rotate changes the public key")
    expect(second["secret-key"] != first["secret-key"], "rotate changes the secret key")
    expect_eq(zmq.curve_public(second["secret-key"].encode()).decode(), second["public-key"],
              "the new secret gives the new public key")
    expect_eq(second["endpoint"], "tcp://h:5555", "rotate keeps the endpoint of the file it replaces")
    expect_eq(second["coordinator-key"], coordinator_public(store), "coordinator key")
    listed = listing(store)
    expect_eq(listed["ana"]["public_key"], second["public-key"], "the new key is registered")
    keys = [e["public_key"] for e in listed.values()]
    expect(first["public-key"] not in keys, "the old key is no longer listed")
    expect_eq(listed["ana"]["datasets"], ["a"], "grants survive rotation")
    expect_no_secret(second["secret-key"], p.stdout, p.stderr)

    # Rotating to a key the annotator made, into a chosen file.
    own = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
    jury(store, "annotator", "rotate", "ana", "--public-key", own, cwd=root)
    expect_eq(listing(store)["ana"]["public_key"], own, "rotated to a provided key")
    p = jury(store, "annotator", "rotate", "ana", "--public-key", own, cwd=root, check=False)
    expect_exit(p, 2, "rotating to the key ana has")
    # rotate replaces only the annotator's own key file.
    jury(store, "annotator", "add", "bob", cwd=root)
    bob = read_keyfile(os.path.join(root, "bob.key"))
    for other in ("bob.key", os.path.join(store, "coordinator.pub")):
        p = jury(store, "annotator", "rotate", "ana", "--out", other, cwd=root, check=False)
        expect_exit(p, 2, f"rotate ana into {other}")
    expect_eq(read_keyfile(os.path.join(root, "bob.key")), bob, "bob's key file untouched")
    expect_eq(listing(store)["ana"]["public_key"], own, "ana's key unchanged by the refusals")
    jury(store, "annotator", "rotate", "ana", "--out", os.path.join(root, "new.key"), cwd=root)
    third = read_keyfile(os.path.join(root, "new.key"))
    expect_eq(listing(store)["ana"]["public_key"], third["public-key"], "rotated with --out")

    events = [(e["event"], e.get("key"), e.get("old_key")) for e in audit(store)
              if e["event"] != "keygen" and e.get("annotator") == "ana"]
    expect_eq(events, [("annotator.add", first["public-key"], None),
                       ("annotator.disable", None, None),
                       ("annotator.enable", None, None),
                       ("annotator.rotate", second["public-key"], first["public-key"]),
                       ("annotator.rotate", own, second["public-key"]),
                       ("annotator.rotate", third["public-key"], own)],
              "audit lines (disabling twice is one change)")


def check_grant_revoke(root):
    store = new_store(root, datasets=("a", "b", "c"))
    jury(store, "annotator", "add", "ana", "--datasets", "b", cwd=root)
    jury(store, "annotator", "grant", "ana", "c")
    jury(store, "annotator", "grant", "ana", "a")
    p = jury(store, "annotator", "grant", "ana", "a")
    expect("already" in p.stdout, f"granting twice: {p.stdout!r}")
    expect_eq(listing(store)["ana"]["datasets"], ["a", "b", "c"], "after grants (dataset order)")
    jury(store, "annotator", "revoke", "ana", "b")
    jury(store, "annotator", "revoke", "ana", "b")
    expect_eq(listing(store)["ana"]["datasets"], ["a", "c"], "after revoke")

    # Deleting a dataset takes its grants with it; a new dataset of that name is not granted.
    jury(store, "dataset", "delete", "c", "--yes")
    expect_eq(listing(store)["ana"]["datasets"], ["a"], "after deleting dataset c")
    Store(store).create_dataset("c", label_settings())
    expect_eq(listing(store)["ana"]["datasets"], ["a"], "a new dataset c is not granted")

    events = [(e["event"], e["dataset"]) for e in audit(store) if e["event"] in
              ("annotator.grant", "annotator.revoke")]
    expect_eq(events, [("annotator.grant", "c"), ("annotator.grant", "a"), ("annotator.revoke", "b")],
              "audit lines of grants")


def check_imported_annotator_gets_a_key(root):
    store = new_store(root)
    recs = text_records("r", 3)
    for r in recs:
        r["responses"] = {"label": [{"value": "pos", "user_id": "imp"}]}
    Store(store).import_records("a", recs)
    imp = listing(store)["imp"]
    expect_eq((imp["key"], imp["public_key"], imp["datasets"]), (False, None, []), "imported annotator")
    expect_eq(imp["responses"], {"submitted": 3, "discarded": 0, "draft": 0}, "imported responses")
    text = jury(store, "annotator", "list").stdout
    expect(re.search(r"^imp\s+annotator\s+active\s+no\s+-\s+3\s+0\s+0$", text, re.M) is not None,
           f"text listing of a keyless annotator: {text!r}")

    p = jury(store, "annotator", "add", "imp", "--datasets", "a", cwd=root)
    expect("gave a key" in p.stdout, f"add of an imported annotator: {p.stdout!r}")
    kf = read_keyfile(os.path.join(root, "imp.key"))
    imp = listing(store)["imp"]
    expect_eq((imp["public_key"], imp["datasets"], imp["id"]), (kf["public-key"], ["a"], 1),
              "the imported annotator keeps its id and gets the key")
    expect_eq(imp["responses"]["submitted"], 3, "and keeps its responses")
    line = [e for e in audit(store) if e["event"] == "annotator.add"][-1]
    expect_eq(line["existing"], "true", "audit: an existing annotator")
    p = jury(store, "annotator", "add", "imp", "--out", "again.key", cwd=root, check=False)
    expect_exit(p, 2, "a second add once it has a key")


def main():
    checks = Checks("test_annotator_cli")
    root = make_tmpdir("annotator-")
    try:
        for name, fn in [("keygen", check_keygen),
                         ("add_without_keygen", check_add_without_keygen),
                         ("add", check_add),
                         ("add_public_key", check_add_public_key),
                         ("refusals", check_refusals),
                         ("disable_enable_rotate", check_disable_enable_rotate),
                         ("grant_revoke", check_grant_revoke),
                         ("imported_annotator", check_imported_annotator_gets_a_key)]:
            if len(sys.argv) > 1 and name not in sys.argv[1:]:
                continue
            d = os.path.join(root, name)
            os.makedirs(d)
            checks.run(name, fn, d)
    finally:
        rc = checks.finish()
        if rc == 0:
            rmtree(root)
        else:
            print(f"kept {root} for inspection", flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
