#!/usr/bin/python3
"""pipe_frontend: an annotation frontend in Python that drives `juror pipe` as a child process (worker/PIPE.md); standard library only."""

# It stands in for a real user interface: it reads the dataset's settings,
# fetches records, "answers" each one with a fixed rule and submits it, then
# prints a summary. The rule, per question type:
#
#   text                   the question's suggestion, else a fixed edit of the first text field
#   rating                 the middle one of the question's values
#   label_selection        the first label
#   multi_label_selection  a list of the first label
#   ranking                the values in the order the settings list them
#   span                   no spans (an empty list)
#
# A record whose answer the coordinator refuses (EINVAL) is discarded instead,
# so that a campaign never stalls on it. Run it by hand against a running
# coordinator:
#
#   jury --store /tmp/jury-demo serve --insecure &
#   worker/examples/pipe_frontend.py --juror build/bin/juror \
#       --dataset support --annotator pipe-demo
#
# The juror program comes from --juror, else $JUROR_BIN, else `juror` on PATH.

import argparse
import itertools
import json
import os
import subprocess
import sys


class JurorError(Exception):
    """An error reply: {"error": {"code", "message"}}."""

    def __init__(self, op, code, message):
        super().__init__(f"{op}: {code}: {message}")
        self.code = code
        self.message = message


class Juror:
    """A `juror pipe` child: one JSON request per line in, one JSON reply per line out."""

    def __init__(self, juror_bin, connect, dataset, annotator, timeout_ms=None):
        argv = [juror_bin, "pipe", "--connect", connect, "--dataset", dataset, "--annotator", annotator]
        if timeout_ms:
            argv += ["--timeout-ms", str(timeout_ms)]
        # stderr is left to ours: juror's diagnostics go there, replies to stdout only. In a session
        # of its own, Ctrl-C in the terminal reaches only us; juror then sees its input end, waits
        # for outstanding acknowledgements and leaves cleanly.
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     start_new_session=True)
        self.ids = itertools.count(1)

    def call(self, op, **fields):
        """Sends one request and returns its reply (a dict); raises JurorError on an error reply."""
        rid = next(self.ids)
        line = json.dumps({"op": op, "id": rid, **fields}, ensure_ascii=False) + "\n"
        try:
            self.proc.stdin.write(line.encode("utf-8"))
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise SystemExit(f"juror exited with {self.proc.wait()} (see its message above)")
        out = self.proc.stdout.readline()
        if not out:
            raise SystemExit(f"juror exited with {self.proc.wait()} (see its message above)")
        reply = json.loads(out)
        if reply.get("id") != rid:
            raise RuntimeError(f"{op}: reply to request {reply.get('id')!r}, expected {rid}")
        if "error" in reply:
            raise JurorError(op, reply["error"]["code"], reply["error"]["message"])
        return reply

    def close(self):
        """Says bye (juror waits for every acknowledgement) and returns juror's exit code."""
        try:
            self.call("bye")
        finally:
            self.proc.stdin.close()
            code = self.proc.wait()
            self.proc.stdout.close()
        return code


def labels_of(question):
    """A label question's values: the list, or the keys of a {value: title} object."""
    labels = question["labels"]
    return list(labels) if isinstance(labels, (list, dict)) else []


def answer(settings, record):
    """The values for one record: question name -> value, by the rule at the top of this file."""
    suggestions = record.get("suggestions") or {}
    text_fields = [f["name"] for f in settings["fields"] if f["type"] == "text"]
    values = {}
    for q in settings["questions"]:
        kind, name = q["type"], q["name"]
        if kind == "text":
            suggested = (suggestions.get(name) or {}).get("value")
            if isinstance(suggested, str) and suggested:
                values[name] = suggested
            else:
                source = next((record["fields"][f] for f in text_fields if record["fields"].get(f)), "")
                values[name] = "Edited: " + source[:200] if source else "Edited."
        elif kind == "rating":
            ratings = q["values"]
            values[name] = ratings[len(ratings) // 2]
        elif kind == "label_selection":
            values[name] = labels_of(q)[0]
        elif kind == "multi_label_selection":
            values[name] = labels_of(q)[:1]
        elif kind == "ranking":
            values[name] = list(q["values"])
        elif kind == "span":
            values[name] = []
    return values


def main(argv=None):
    ap = argparse.ArgumentParser(description="Answer a dataset's records through `juror pipe` "
                                             "with a fixed rule, then print a summary.")
    ap.add_argument("--juror", default=os.environ.get("JUROR_BIN") or "juror",
                    help="the juror program (default: $JUROR_BIN, else juror on PATH)")
    ap.add_argument("--connect", default="tcp://127.0.0.1:5555", help="the coordinator's endpoint")
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--annotator", required=True)
    ap.add_argument("--batch", type=int, default=10, help="records per fetch (1..100)")
    ap.add_argument("--max", type=int, default=0, help="stop after this many records (0: no limit)")
    ap.add_argument("--timeout-ms", type=int, default=0, help="juror's --timeout-ms")
    args = ap.parse_args(argv)

    juror = Juror(args.juror, args.connect, args.dataset, args.annotator, args.timeout_ms)
    counts = {"submitted": 0, "discarded": 0, "refused": 0}
    try:
        hello = juror.call("settings")
        settings = hello["settings"]
        print(f"dataset {hello['dataset']} as {hello['annotator']}: "
              f"{len(settings['questions'])} questions "
              f"({', '.join(q['name'] for q in settings['questions'])}), "
              f"leases of {hello['lease_seconds']} s", flush=True)
        done = 0
        while not args.max or done < args.max:
            want = args.batch if not args.max else min(args.batch, args.max - done)
            records = juror.call("fetch", n=want)["records"]
            if not records:
                break  # nothing available now; a live frontend would ask again in a few seconds
            for record in records:
                try:
                    juror.call("submit", record=record["id"], status="submitted",
                               values=answer(settings, record))
                    counts["submitted"] += 1
                    print(f"  {record['id']}: submitted", flush=True)
                except JurorError as e:
                    if e.code == "EINVAL":
                        # The rule's answer breaks a rule of this dataset: skip the record.
                        juror.call("submit", record=record["id"], status="discarded")
                        counts["discarded"] += 1
                        print(f"  {record['id']}: discarded ({e.message})", flush=True)
                    elif e.code in ("ENOTLEASED", "ENOTFOUND", "EEXIST"):
                        # Lease gone (e.g. the coordinator restarted) or answered already: move on.
                        counts["refused"] += 1
                        print(f"  {record['id']}: {e.code}: {e.message}", flush=True)
                    else:
                        raise
                done += 1
        juror.call("flush")
    finally:
        code = juror.close()
    print(f"{counts['submitted']} submitted, {counts['discarded']} discarded, "
          f"{counts['refused']} refused; juror exited with {code}", flush=True)
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
