#!/usr/bin/python3
"""make_corpus.py: writes the seed corpora of the fuzz targets (tests/fuzz/corpus/NAME/).

Frames follow protocol/SPEC.md, settings the README's "Dataset settings", and records the README's
"Importing records" against the fixed settings in fuzz_common.h. Run it after changing any of
those, from anywhere: tests/fuzz/make_corpus.py. It rewrites the seeds it owns and leaves
other files in the corpus directories alone. Needs python3-msgpack (ops/setup installs it).
"""
import json
import os

import msgpack

HERE = os.path.dirname(os.path.abspath(__file__))
SEP = b"\xc1"  # fuzz_proto.c's frame separator: never part of a valid frame's structure or text


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def pack(obj):
    return msgpack.packb(obj, use_bin_type=True)


def msg(cmd, req=None, **fields):
    m = {"v": 1, "cmd": cmd}
    if req is not None:
        m["req"] = req
    m.update(fields)
    return pack(m)


# ---- the wire protocol -------------------------------------------------------------------------

WELCOME_SETTINGS = {
    "guidelines": "Edit the **draft** reply, then rate it.",
    "fields": [
        {"name": "instruction", "title": "Customer message", "type": "text", "required": True,
         "use_markdown": False},
        {"name": "history", "title": "history", "type": "chat", "required": False,
         "use_markdown": False},
    ],
    "questions": [
        {"name": "response", "title": "Corrected reply", "type": "text", "required": True,
         "use_markdown": True},
        {"name": "quality", "title": "quality", "type": "rating", "required": True,
         "values": [1, 2, 3, 4, 5]},
    ],
    "metadata": [{"name": "category", "title": "category", "type": "terms",
                  "options": ["billing", "shipping"], "visible_for_annotators": True}],
    "allow_extra_metadata": False,
    "distribution": {"strategy": "overlap", "min_submitted": 1.5, "max_discards": 3,
                     "order": "complete_first", "lease_seconds": 600},
}

ALL_VALUES = {
    "response": "Sorry for the double charge: the second payment is refunded.",
    "quality": 4,
    "topic": "billing",
    "issues": ["vague", "wrong"],
    "best": ["reply-b", ["reply-a", "reply-c"]],
    "order": ["y", "x"],
    "entities": [{"start": 0, "end": 5, "label": "order-id"},
                 {"start": 10, "end": 17, "label": "product"}],
}

frames = {
    "hello": msg("hello", 1, annotator="alice", dataset="support"),
    "hello-agent": msg("hello", 2, annotator="bob.smith", dataset="support-sft",
                       agent="juror/0.1"),
    "hello-token": msg("hello", 2, annotator="ana", dataset="support", agent="juror-web/0.1",
                       token="ana:" + "Qm9vZ3Vz" * 5 + "abc"),
    "fetch": msg("fetch", 3, n=10),
    "submit-all-types": msg("submit", 4, responses=[
        {"record": "ticket-0001", "status": "submitted", "values": ALL_VALUES}]),
    "submit-three": msg("submit", 5, responses=[
        {"record": "ticket-0002", "status": "draft", "values": {"response": "Hello"}},
        {"record": "ticket-0003", "status": "discarded"},
        {"record": "42", "status": "submitted",
         "values": {"response": "Done.", "quality": 5, "topic": None}}]),
    "release": msg("release", 6, records=["ticket-0004", "ticket-0005", "7"]),
    "heartbeat": msg("heartbeat"),
    "bye": msg("bye", reason="closing the laptop"),
    "welcome": msg("welcome", 1, dataset="support", annotator="alice",
                   settings=WELCOME_SETTINGS, heartbeat_ms=1000, lease_seconds=600,
                   batch_max=100, progress={"submitted": 12, "completed": 40, "records": 100}),
    "batch": msg("batch", 3, records=[
        {"id": "ticket-0001",
         "fields": {"instruction": "I was charged twice for order 4417.",
                    "history": [{"role": "user", "content": "Hi"},
                                {"role": "assistant", "content": "Hello! How can I help?"}]},
         "suggestions": {"response": {"value": "Sorry about that!", "score": 0.82,
                                      "agent": "support-draft-v1"}},
         "metadata": {"category": "billing"},
         "lease_expires": 1767225600000, "draft": None},
        {"id": "17", "fields": {"instruction": "Where is my parcel?"}, "suggestions": {},
         "metadata": {}, "lease_expires": 1767225600000,
         "draft": {"response": "It left the warehouse"}}]),
    "batch-empty": msg("batch", 8, records=[]),
    "welcome-role": msg("welcome", 1, dataset="support", annotator="rita",
                        settings={"fields": [], "questions": []}, heartbeat_ms=1000,
                        lease_seconds=600, batch_max=100, role="reviewer"),
    # Review (SPEC.md 6.12-6.14, 9.7).
    "review-fetch": msg("review_fetch", 10, n=5),
    "review-batch": msg("review_batch", 10, records=[
        {"id": "ticket-0001",
         "fields": {"instruction": "I was charged twice for order 4417."},
         "suggestions": {}, "metadata": {"category": "billing"},
         "lease_expires": 1767225600000, "why": ["contested", "rejected"],
         "reason": "min_agreement: quality 0.33 < 0.6",
         "unified": {"response": "Sorry!", "quality": 3},
         "responses": [
             {"annotator": "alice", "status": "submitted",
              "values": {"response": "Sorry!", "quality": 2}, "updated_ms": 1767225000000},
             {"annotator": "bob", "status": "discarded", "values": None,
              "updated_ms": 1767225100000}]},
        {"id": "17", "fields": {"instruction": "Where is my parcel?"},
         "lease_expires": 1767225600000, "why": ["rejected"], "responses": []}]),
    "review-batch-empty": msg("review_batch", 11, records=[]),
    "review-submit": msg("review_submit", 12, decisions=[
        {"record": "ticket-0001", "accept": True,
         "values": {"response": "Sorry for the double charge.", "quality": 4},
         "note": "alice was right"},
        {"record": "17", "accept": False, "note": "off topic"},
        {"record": "42", "accept": False, "values": None}]),
    "results": msg("results", 4, results=[
        {"record": "ticket-0001", "ok": True},
        {"record": "ticket-0002", "ok": True, "lease_expires": 1767225660000},
        {"record": "ticket-0003", "ok": False, "code": "ENOTLEASED",
         "reason": "record 'ticket-0003' is not leased to alice"},
        {"record": "ticket-0004", "ok": False, "code": "EINVAL",
         "reason": "/values/quality: rating must be one of 1, 2, 3, 4, 5"}]),
    "error": msg("error", 9, code="EPROTO",
                 reason="submit: responses[0].status: must be \"submitted\", \"discarded\" or \"draft\""),
    "error-noreq": msg("error", code="ETOOBIG", reason="byte 0: frame of 9000000 bytes"),
    "goodbye": msg("goodbye", code="EBUSY", reason="taken over by a newer connection"),
    # Refused ones: each breaks one rule of SPEC.md section 4.
    "bad-version": msg("hello", 1, annotator="alice", dataset="support") .replace(b"\xa1v\x01", b"\xa1v\x02"),
    "bad-unknown-cmd": msg("dance", 1),
    "bad-no-req": msg("fetch", n=1),
    "bad-fetch-n": msg("fetch", 3, n=101),
    "bad-status": msg("submit", 4, responses=[{"record": "a", "status": "maybe", "values": {}}]),
    "bad-int-key": pack({"v": 1, "cmd": "heartbeat", 1: 2}),
    "bad-bin": pack({"v": 1, "cmd": "bye", "reason": b"\xff\xfe"}),
    "bad-utf8": msg("bye", reason="x").replace(b"\xa1x", b"\xa1\xff"),
    "bad-trailing": msg("heartbeat") + b"\x00",
    "bad-truncated": msg("hello", 1, annotator="alice", dataset="support")[:-3],
    "bad-huge-array": b"\x81\xa1v\xdd\xff\xff\xff\xff",
    "bad-deep": b"\x81\xa1v" + b"\x91" * 40 + b"\x00",
    "bad-dup-key": b"\x83\xa1v\x01\xa3cmd\xa9heartbeat\xa1v\x01",
    "bad-review-accept": msg("review_submit", 12, decisions=[
        {"record": "ticket-0001", "accept": True}]),
    "bad-review-status": msg("review_batch", 10, records=[
        {"id": "1", "fields": {}, "lease_expires": 0, "why": ["contested"],
         "responses": [{"annotator": "a", "status": "draft", "values": {}, "updated_ms": 0}]}]),
    "bad-dup-values": msg("submit", 4, responses=[
        {"record": "a", "status": "draft", "values": {"quality": 1}}]).replace(
            b"\x81\xa7quality\x01", b"\x82\xa7quality\x01\xa7quality\x02"),
}
for name, data in frames.items():
    write("proto", name, data)
# Several frames in one input, as one loop turn of the coordinator sees them.
write("proto", "multi-session",
      SEP.join([frames["hello"], frames["fetch"], frames["submit-three"], frames["release"],
                frames["heartbeat"], frames["bad-truncated"], frames["bye"]]))
write("proto", "multi-replies",
      SEP.join([frames["welcome"], frames["batch"], frames["results"], frames["error"],
                frames["goodbye"]]))
write("proto", "multi-review",
      SEP.join([frames["hello"], frames["welcome-role"], frames["review-fetch"],
                frames["review-batch"], frames["review-submit"], frames["results"],
                frames["bad-review-accept"]]))

# ---- settings ----------------------------------------------------------------------------------

README_SETTINGS = {
    "guidelines": "Markdown shown to annotators.",
    "fields": [
        {"name": "instruction", "title": "Customer message", "type": "text", "required": True,
         "use_markdown": False},
        {"name": "history", "type": "chat", "required": False},
    ],
    "questions": [
        {"name": "response", "title": "Corrected reply", "type": "text", "required": True,
         "use_markdown": True},
        {"name": "quality", "type": "rating", "values": [1, 2, 3, 4, 5]},
        {"name": "topic", "type": "label_selection",
         "labels": {"billing": "Billing", "shipping": "Shipping"}},
        {"name": "issues", "type": "multi_label_selection", "labels": ["rude", "wrong", "vague"],
         "labels_order": "natural"},
        {"name": "best", "type": "ranking", "values": ["reply-a", "reply-b", "reply-c"],
         "allow_ties": True},
        {"name": "entities", "type": "span", "field": "instruction",
         "labels": ["order-id", "product"], "allow_overlapping": False},
    ],
    "metadata": [
        {"name": "category", "type": "terms", "options": ["billing", "shipping"],
         "visible_for_annotators": True},
        {"name": "length", "type": "integer", "min": 0, "max": 100000},
    ],
    "allow_extra_metadata": False,
    "distribution": {"strategy": "overlap", "min_submitted": 1.5, "max_discards": 3,
                     "order": "complete_first", "lease_seconds": 600},
}


def variant(**changes):
    s = json.loads(json.dumps(README_SETTINGS))
    s.update(changes)
    return s


def qvariant(i, **changes):
    s = variant()
    s["questions"][i].update(changes)
    return s


MINIMAL = {"fields": [{"name": "text", "type": "text"}],
           "questions": [{"name": "label", "type": "label_selection", "labels": ["yes", "no"]}]}

settings = {
    "valid-readme": json.dumps(README_SETTINGS, indent=2),
    "valid-minimal": json.dumps(MINIMAL),
    "valid-consolidation": json.dumps(variant(consolidation={
        "methods": {"quality": "median", "topic": "dawid_skene", "best": "majority",
                    "response": None},
        "accept": {"min_agreement": {"topic": 0.6, "response": 0.2},
                   "min_value": {"quality": 2.5}, "max_value": {"quality": 5},
                   "require": {"topic": ["billing"]}}})),
    "valid-metadata": json.dumps(variant(metadata=[
        {"name": "category", "title": "Category", "type": "terms"},
        {"name": "tags", "type": "terms", "options": ["a", "b", "c"],
         "visible_for_annotators": False},
        {"name": "length", "type": "integer", "min": -5, "max": 5},
        {"name": "score", "type": "float", "min": 0.25, "max": 0.75}],
        allow_extra_metadata=True)),
    "valid-distribution": json.dumps(variant(distribution={
        "strategy": "overlap", "min_submitted": 3, "max_discards": 1000, "order": "random",
        "lease_seconds": 5})),
    "valid-unicode": json.dumps({
        "guidelines": "Übersetzungen prüfen \u2014 日本語 \U0001F600",
        "fields": [{"name": "text", "title": "Текст", "type": "text"}],
        "questions": [{"name": "ok", "title": "Richtig?", "type": "label_selection",
                       "labels": {"ja": "Ja ✓", "nein": "Nein ✗"}, "description": "é"}]},
        ensure_ascii=False),
    "valid-example": open(os.path.join(HERE, "..", "..", "ops", "examples",
                                       "support-sft.settings.json"), encoding="utf-8").read(),
    "bad-json": '{"fields": [{"name": "text", "type": "text"}], "questions": [',
    "bad-rating": json.dumps(qvariant(1, values=[0, 11])),
    "bad-unknown-key": json.dumps(variant(colour="blue")),
    "bad-duplicate-name": json.dumps(qvariant(2, name="quality")),
    "bad-span-field": json.dumps(qvariant(5, field="history")),
    "bad-no-required": json.dumps({"fields": [{"name": "t", "type": "text"}],
                                   "questions": [{"name": "q", "type": "text",
                                                  "required": False}]}),
    "bad-min-submitted": json.dumps(variant(distribution={"min_submitted": 0.5})),
    "bad-require-label": json.dumps(variant(consolidation={
        "accept": {"require": {"topic": ["refunds"]}}})),
    "bad-method": json.dumps(variant(consolidation={"methods": {"quality": "borda"}})),
    "bad-name": json.dumps({"fields": [{"name": "Text!", "type": "text"}],
                            "questions": [{"name": "q", "type": "text"}]}),
    "bad-not-object": "[1, 2, 3]",
    "bad-empty": "",
    "bad-dup-key": '{"fields": [{"name": "t", "type": "text"}], "fields": [], '
                   '"questions": [{"name": "q", "type": "text"}]}',
}
for name, text in settings.items():
    write("settings", name, text)
write("settings", "bad-utf8", b'{"guidelines": "\xc3\x28", "fields": []}')

# ---- records, against fuzz_common.h's settings ----------------------------------------------------

INSTRUCTION = "Order 4417: the blue kettle arrived broken."  # spans count code points

records = {
    "valid-minimal": {"fields": {"instruction": "Where is my parcel?"}},
    "valid-int-id": {"id": 42, "fields": {"instruction": "Hi", "context": None}},
    "valid-chat": {"id": "chat-1", "fields": {
        "instruction": "Summarise the chat.",
        "history": [{"role": "user", "content": "My order is late."},
                    {"role": "assistant", "content": "Sorry! Let me check."}]}},
    "valid-metadata": {"id": "meta-1", "fields": {"instruction": "Hello"},
                       "metadata": {"category": "billing", "model": "draft-v1", "length": 120,
                                    "score": -0.25}},
    "valid-suggestions": {"id": "sugg-1", "fields": {"instruction": INSTRUCTION,
                                                     "context": "Kettle KT-2, shipped 2024-05-01."},
                          "suggestions": {
                              "response": {"value": "Sorry! A new kettle is on its way.",
                                           "score": 0.82, "agent": "support-draft-v1"},
                              "quality": {"value": 3},
                              "topic": {"value": "shipping", "score": 1},
                              "issues": {"value": ["vague"], "agent": "rules"},
                              "best": {"value": ["reply-c", "reply-a", "reply-b"]},
                              "order": {"value": ["x", "y"]},
                              "entities": {"value": [{"start": 6, "end": 10, "label": "order-id"},
                                                     {"start": 16, "end": 27,
                                                      "label": "product"}]},
                              "marks": {"value": [{"start": 0, "end": 6, "label": "fact"},
                                                  {"start": 2, "end": 8, "label": "fact"}]}}},
    "valid-responses": {"id": "resp-1", "fields": {"instruction": INSTRUCTION},
                        "responses": {
                            "response": [{"value": "We will replace it.", "user_id": "alice"},
                                         {"value": "A new one ships today.", "user_id": "bob"}],
                            "quality": [{"value": 2, "user_id": "alice"},
                                        {"value": 5, "user_id": "bob"}],
                            "best": [{"value": ["reply-b", ["reply-a", "reply-c"]],
                                      "user_id": "alice"}],
                            "entities": [{"value": [{"start": 6, "end": 10, "label": "order-id"}],
                                          "user_id": "bob"}]}},
    "valid-exported": {"id": "exp-1", "fields": {"instruction": "Hi"}, "status": "completed",
                       "unified": {"quality": 4}, "decision": "accepted", "reason": None,
                       "meta": {"annotators": 2}},
    "valid-unicode": {"id": "ünï-😀", "fields": {"instruction": "😀 Größe: 日本"},
                      "responses": {"response": [{"value": "ok", "user_id": "carol_1"}],
                                    "quality": [{"value": 1, "user_id": "carol_1"}],
                                    "entities": [{"value": [{"start": 0, "end": 1,
                                                             "label": "product"}],
                                                  "user_id": "carol_1"}]}},
    "bad-missing-field": {"id": "x", "fields": {"context": "no instruction"}},
    "bad-unknown-field": {"fields": {"instruction": "a", "colour": "blue"}},
    "bad-unknown-key": {"fields": {"instruction": "a"}, "label": "x"},
    "bad-metadata": {"fields": {"instruction": "a"}, "metadata": {"length": -1}},
    "bad-rating": {"fields": {"instruction": "a"}, "suggestions": {"quality": {"value": 7}}},
    "bad-score": {"fields": {"instruction": "a"},
                  "suggestions": {"topic": {"value": "billing", "score": 1.5}}},
    "bad-ties": {"fields": {"instruction": "a"},
                 "suggestions": {"order": {"value": [["x", "y"]]}}},
    "bad-span-overlap": {"fields": {"instruction": INSTRUCTION},
                         "suggestions": {"entities": {"value": [
                             {"start": 0, "end": 10, "label": "order-id"},
                             {"start": 5, "end": 12, "label": "product"}]}}},
    "bad-span-no-field": {"fields": {"instruction": "a"},
                          "suggestions": {"marks": {"value": [{"start": 0, "end": 1,
                                                               "label": "fact"}]}}},
    "bad-required-response": {"fields": {"instruction": "a"},
                              "responses": {"quality": [{"value": 3, "user_id": "alice"}]}},
    "bad-user": {"fields": {"instruction": "a"},
                 "responses": {"response": [{"value": "x", "user_id": "-bad name"}],
                               "quality": [{"value": 3, "user_id": "-bad name"}]}},
    "bad-twice": {"fields": {"instruction": "a"},
                  "responses": {"response": [{"value": "x", "user_id": "alice"},
                                             {"value": "y", "user_id": "alice"}],
                                "quality": [{"value": 3, "user_id": "alice"}]}},
    "bad-id": {"id": -3, "fields": {"instruction": "a"}},
}
for name, rec in records.items():
    write("import", name, json.dumps(rec, ensure_ascii=False))
write("import", "bad-utf8", b'{"fields": {"instruction": "caf\xe9"}}')
write("import", "bad-truncated", '{"id": "t", "fields": {"instruction": "cut')
write("import", "bad-trailing", '{"fields": {"instruction": "a"}} {"fields": {}}')
write("import", "bad-dup-key", '{"fields": {"instruction": "a"}, "fields": {"instruction": "b"}}')
write("import", "bad-array", '[{"fields": {"instruction": "a"}}]')

# ---- dictionaries (libFuzzer -dict=, which ops/fuzz passes) ---------------------------------------


def write_dict(target, tokens):
    lines = ["# %s.dict: tokens for fuzz_%s (written by make_corpus.py)" % (target, target)]
    for i, tok in enumerate(tokens):
        if isinstance(tok, str):
            tok = tok.encode("utf-8")
        esc = "".join(chr(b) if 0x20 <= b < 0x7f and b not in (0x22, 0x5c) else "\\x%02x" % b
                      for b in tok)
        lines.append('t%d="%s"' % (i, esc))
    with open(os.path.join(HERE, target + ".dict"), "w") as f:
        f.write("\n".join(lines) + "\n")


SETTINGS_WORDS = """accept agent allow_extra_metadata allow_overlapping allow_ties best_annotator borda chat
complete_first consolidation content dawid_skene description disagreement distribution end field
fields float guidelines integer label label_selection labels labels_order lease_seconds majority
max max_discards max_value mean median medoid metadata methods min min_agreement min_submitted
min_value multi_label_selection name natural options order overlap questions random ranking rating
require required role score span start strategy terms text title type use_markdown values
visible_for_annotators""".split()
RECORD_WORDS = """id fields metadata suggestions responses value user_id score agent start end label
status unified decision reason meta role content instruction context history response quality
topic issues best order entities marks category model length billing shipping other rude wrong
vague reply-a reply-b reply-c x y order-id product fact alice bob user assistant""".split()
JSON_TOKENS = ["{", "}", "[", "]", ":", ",", "true", "false", "null", "\\u0000", "\\ud83d\\ude00",
               "1e308", "-0", "0.5", "9007199254740993", "é", "😀"]
write_dict("settings", ['"%s"' % w for w in SETTINGS_WORDS] + JSON_TOKENS)
write_dict("import", ['"%s"' % w for w in RECORD_WORDS] + JSON_TOKENS)
PROTO_WORDS = """v cmd req hello fetch submit release heartbeat bye welcome batch results error goodbye
annotator dataset agent n responses record status values submitted discarded draft records settings
heartbeat_ms lease_seconds batch_max id fields suggestions metadata lease_expires ok code reason
token progress completed role review_fetch review_batch review_submit decisions accept note why
contested rejected unified updated_ms reviewer admin
EPROTO ENOTLEASED EINVAL EPERM""".split()
write_dict("proto", [pack(w) for w in PROTO_WORDS] + [
    b"\xc0", b"\xc2", b"\xc3", b"\xcb", b"\xcf\x00\x20\x00\x00\x00\x00\x00\x00", b"\xd9", b"\xda",
    b"\xdb", b"\xdc", b"\xdd", b"\xde", b"\xdf", b"\xc4", b"\xd4", b"\xc1"])
