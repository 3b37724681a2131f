/* test_export.c: `jury export` on a real store: every format line by line, --with-meta, templates,
 * ranking and edit pairs, staleness, deterministic splits, each bad option, and the command. */
#include "testutil.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "decision.h"
#include "export.h"
#include "import.h"
#include "jury_jsonpack.h"

/* A support dataset: a reply to edit (with a model's draft as suggestion) and a rating. */
static const char s_sft_settings[] =
    "{\"fields\": [{\"name\": \"instruction\", \"type\": \"text\"},"
    "              {\"name\": \"context\", \"type\": \"text\", \"required\": false},"
    "              {\"name\": \"history\", \"type\": \"chat\", \"required\": false}],"
    " \"questions\": [{\"name\": \"response\", \"type\": \"text\"},"
    "                 {\"name\": \"quality\", \"type\": \"rating\", \"values\": [1, 2, 3, 4, 5]}],"
    " \"metadata\": [{\"name\": \"lang\", \"type\": \"terms\"}],"
    " \"distribution\": {\"min_submitted\": 2},"
    " \"consolidation\": {\"methods\": {\"quality\": \"median\"}}}";

static const char s_sft_records[] =
    "{\"id\": \"a\", \"fields\": {\"instruction\": \"Reset my password\", \"context\": \"web\"},"
    " \"suggestions\": {\"response\": {\"value\": \"Click 'Forgot password'.\", \"score\": 0.5,"
    " \"agent\": \"draft-v1\"}}}\n"
    "{\"id\": \"b\", \"fields\": {\"instruction\": \"Refund?\"}}\n"
    "{\"id\": \"c\", \"fields\": {\"instruction\": \"Where is my parcel?\"}}\n"
    "{\"id\": \"d\", \"fields\": {\"instruction\": \"Cancel\"}, \"metadata\": {\"lang\": \"en\"}}\n"
    "{\"id\": \"e\", \"fields\": {\"instruction\": \"Hello\"}}\n"
    "{\"id\": \"f\", \"fields\": {\"instruction\": \"Say \\\"hi\\\"\\tplease\\n\\u0001\","
    " \"history\": [{\"role\": \"user\", \"content\": \"hi\"},"
    " {\"role\": \"assistant\", \"content\": \"hello\"}]}}\n"
    "{\"id\": \"g\", \"fields\": {\"instruction\": \"Where?\"},"
    " \"suggestions\": {\"response\": {\"value\": \"Use the link now.\"}}}\n";

/* Candidates in fields a, b, c ranked by the question "best". */
static const char s_pref_settings[] =
    "{\"fields\": [{\"name\": \"prompt\", \"type\": \"text\"}, {\"name\": \"a\", \"type\": "
    "\"text\"},"
    "              {\"name\": \"b\", \"type\": \"text\"}, {\"name\": \"c\", \"type\": \"text\"}],"
    " \"questions\": [{\"name\": \"best\", \"type\": \"ranking\", \"values\": [\"a\", \"b\", "
    "\"c\"],"
    "                  \"allow_ties\": true}]}";

static const char s_pref_records[] =
    "{\"id\": \"p1\", \"fields\": {\"prompt\": \"2+2?\", \"a\": \"4\", \"b\": \"5\", \"c\": "
    "\"four\"}}\n"
    "{\"id\": \"p2\", \"fields\": {\"prompt\": \"Hi\", \"a\": \"A\", \"b\": \"B\", \"c\": \"C\"}}\n"
    "{\"id\": \"p3\", \"fields\": {\"prompt\": \"x\", \"a\": \"1\", \"b\": \"2\", \"c\": \"3\"}}\n"
    "{\"id\": \"p4\", \"fields\": {\"prompt\": \"y\", \"a\": \"1\", \"b\": \"2\", \"c\": \"3\"}}\n"
    "{\"id\": \"p5\", \"fields\": {\"prompt\": \"z\", \"a\": \"1\", \"b\": \"2\", \"c\": \"3\"}}\n";

/* A conversation answered with one reply. */
static const char s_chat_settings[] =
    "{\"fields\": [{\"name\": \"conversation\", \"type\": \"chat\"}],"
    " \"questions\": [{\"name\": \"reply\", \"type\": \"text\"}]}";

static const char s_chat_records[] = "{\"id\": \"m1\", \"fields\": {\"conversation\": [{\"role\": "
                                     "\"user\", \"content\": \"Hello\"}]}}\n"
                                     "{\"id\": \"m2\", \"fields\": {\"conversation\": [{\"role\": "
                                     "\"user\", \"content\": \"Bye\"}]}}\n";

/* Nothing to contrast: only a rating. */
static const char s_rate_settings[] =
    "{\"fields\": [{\"name\": \"x\", \"type\": \"text\"}],"
    " \"questions\": [{\"name\": \"quality\", \"type\": \"rating\", \"values\": [1, 2, 3]}]}";

/* Every field is a candidate: no default prompt. */
static const char s_allcand_settings[] =
    "{\"fields\": [{\"name\": \"a\", \"type\": \"text\"}, {\"name\": \"b\", \"type\": \"text\"}],"
    " \"questions\": [{\"name\": \"best\", \"type\": \"ranking\", \"values\": [\"a\", \"b\"]}]}";

typedef struct {
    char base[256];                          /* temporary directory */
    char dir[300];                           /* the store */
    jury_store_t *store;                     /* open on dir */
    uint32_t sft, pref, chat, rate, allcand; /* dataset ids */
} fixture_t;

/* ---- building the store ------------------------------------------------------------------- */

typedef struct {
    const char *name;     /* dataset name */
    const char *settings; /* settings JSON */
    uint32_t id;          /* its id */
} create_t;

static jury_err s_create_fn(jury_txn_t *txn, void *arg)
{
    create_t *c = arg;
    return jury_store_dataset_create(txn, c->name, c->settings, strlen(c->settings), &c->id);
}

static uint32_t s_dataset(fixture_t *f, const char *name, const char *settings)
{
    create_t c = {name, settings, 0};
    assert_int_equal(jury_store_write(f->store, s_create_fn, &c), JURY_OK);
    return c.id;
}

static void s_import(fixture_t *f, const char *name, const char *jsonl)
{
    char path[320];
    snprintf(path, sizeof path, "%s/in.jsonl", f->base);
    tu_write_file(path, jsonl, strlen(jsonl));
    jury_import_opts_t opts = {0};
    jury_import_stats_t st;
    assert_int_equal(jury_import_file(f->store, name, path, &opts, &st), JURY_OK);
}

/* Packs JSON text as msgpack into buf. */
static void s_pack(msgpack_sbuffer *buf, const char *json)
{
    cJSON *v = cJSON_Parse(json);
    assert_non_null(v);
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    assert_int_equal(jury_jsonpack_pack(&pk, v), 0);
    cJSON_Delete(v);
}

static uint64_t s_rid(jury_txn_t *txn, uint32_t ds, const char *ext)
{
    uint64_t rid = 0;
    assert_int_equal(jury_store_record_find(txn, ds, ext, strlen(ext), &rid), JURY_OK);
    return rid;
}

typedef struct {
    uint32_t ds;                 /* dataset */
    const char *ext;             /* record */
    const char *annotator;       /* who */
    jury_response_status status; /* response status */
    const char *values;          /* JSON object */
    int64_t ms;                  /* updated_ms */
} respond_t;

static jury_err s_respond_fn(jury_txn_t *txn, void *arg)
{
    respond_t *r = arg;
    uint32_t ann;
    jury_err err = jury_store_annotator_ensure(txn, r->annotator, &ann, NULL);
    if (err != JURY_OK)
        return err;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    s_pack(&buf, r->values);
    err = jury_store_response_put(txn, s_rid(txn, r->ds, r->ext), ann, r->status, buf.data,
                                  buf.size, r->ms, 3, NULL);
    msgpack_sbuffer_destroy(&buf);
    return err;
}

static void s_respond(fixture_t *f, uint32_t ds, const char *ext, const char *annotator,
                      jury_response_status status, const char *values, int64_t ms)
{
    respond_t r = {ds, ext, annotator, status, values, ms};
    assert_int_equal(jury_store_write(f->store, s_respond_fn, &r), JURY_OK);
}

typedef struct {
    uint32_t ds;             /* dataset */
    const char *ext;         /* record */
    jury_decision_kind kind; /* decision */
    const char *reason;      /* or NULL */
    uint32_t n;              /* submitted when decided */
    const char *unified;     /* JSON object {question: value} */
    const char *agreement;   /* JSON object {question: number}, or NULL */
} decide_t;

static jury_err s_decide_fn(jury_txn_t *txn, void *arg)
{
    decide_t *d = arg;
    jury_decision_item_t items[8];
    msgpack_sbuffer vals[8];
    size_t n = 0;
    cJSON *u = cJSON_Parse(d->unified);
    cJSON *a = d->agreement ? cJSON_Parse(d->agreement) : cJSON_CreateObject();
    assert_non_null(u);
    assert_non_null(a);
    for (cJSON *it = u->child; it; it = it->next, n++) {
        char *text = cJSON_PrintUnformatted(it);
        msgpack_sbuffer_init(&vals[n]);
        s_pack(&vals[n], text);
        free(text);
        cJSON *ag = cJSON_GetObjectItemCaseSensitive(a, it->string);
        items[n] = (jury_decision_item_t){.question = it->string,
                                          .value = vals[n].data,
                                          .value_len = vals[n].size,
                                          .has_agreement = ag != NULL,
                                          .agreement = ag ? ag->valuedouble : 0};
    }
    size_t nv = n;
    for (cJSON *ag = a->child; ag; ag = ag->next)
        if (!cJSON_GetObjectItemCaseSensitive(u, ag->string))
            items[n++] = (jury_decision_item_t){
                .question = ag->string, .has_agreement = true, .agreement = ag->valuedouble};
    msgpack_sbuffer blob;
    msgpack_sbuffer_init(&blob);
    jury_err err = jury_decision_encode(&blob, d->kind, d->reason,
                                        d->reason ? strlen(d->reason) : 0, d->n, items, n);
    if (err == JURY_OK)
        err = jury_store_decision_put(txn, s_rid(txn, d->ds, d->ext), blob.data, blob.size);
    msgpack_sbuffer_destroy(&blob);
    for (size_t i = 0; i < nv; i++)
        msgpack_sbuffer_destroy(&vals[i]);
    cJSON_Delete(u);
    cJSON_Delete(a);
    return err;
}

static void s_decide(fixture_t *f, uint32_t ds, const char *ext, jury_decision_kind kind,
                     const char *reason, uint32_t n, const char *unified, const char *agreement)
{
    decide_t d = {ds, ext, kind, reason, n, unified, agreement};
    assert_int_equal(jury_store_write(f->store, s_decide_fn, &d), JURY_OK);
}

static jury_err s_consolidated_fn(jury_txn_t *txn, void *arg)
{
    return jury_store_consolidation_put(txn, *(uint32_t *)arg, "{}", 2);
}

static void s_mark_consolidated(fixture_t *f, uint32_t ds)
{
    assert_int_equal(jury_store_write(f->store, s_consolidated_fn, &ds), JURY_OK);
}

static int s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    tu_tmpdir(f->base, sizeof f->base);
    snprintf(f->dir, sizeof f->dir, "%s/store", f->base);
    jury_store_opts_t opts = {.create = true};
    assert_int_equal(jury_store_open(&f->store, f->dir, &opts), JURY_OK);

    f->sft = s_dataset(f, "sft", s_sft_settings);
    s_import(f, "sft", s_sft_records);
    const jury_response_status SUB = JURY_RESPONSE_SUBMITTED;
    s_respond(f, f->sft, "a", "alice", SUB,
              "{\"response\": \"Use the \\\"Forgot password\\\" link.\", \"quality\": 4}", 1001);
    s_respond(f, f->sft, "a", "bob", SUB, "{\"response\": \"Use the link.\", \"quality\": 5}",
              1002);
    s_respond(f, f->sft, "a", "carol", JURY_RESPONSE_DRAFT, "{\"response\": \"Use\"}", 1003);
    s_respond(f, f->sft, "b", "alice", SUB, "{\"response\": \"Yes.\", \"quality\": 2}", 1004);
    s_respond(f, f->sft, "b", "bob", SUB, "{\"response\": \"No.\", \"quality\": 1}", 1005);
    s_respond(f, f->sft, "c", "carol", JURY_RESPONSE_DISCARDED, "{}", 1006);
    static const char *const two[] = {"d", "e", "f", "g"};
    for (int i = 0; i < 4; i++) {
        s_respond(f, f->sft, two[i], "alice", SUB, "{\"response\": \"Sure.\", \"quality\": 3}",
                  2000 + i);
        s_respond(f, f->sft, two[i], "bob", SUB, "{\"response\": \"OK.\", \"quality\": 3}",
                  3000 + i);
    }
    s_decide(f, f->sft, "a", JURY_DECISION_ACCEPTED, NULL, 2,
             "{\"response\": \"Use the link.\", \"quality\": 4.5}",
             "{\"response\": 0.5, \"quality\": 0.75}");
    s_decide(f, f->sft, "b", JURY_DECISION_REJECTED, "quality: agreement 0 is below 0.5", 2,
             "{\"response\": \"Yes.\", \"quality\": 1.5}", "{\"quality\": 0}");
    s_decide(f, f->sft, "c", JURY_DECISION_PENDING, NULL, 0, "{}", NULL);
    s_decide(f, f->sft, "d", JURY_DECISION_ACCEPTED, NULL, 2, "{\"quality\": 3}",
             "{\"quality\": 1}");
    /* Decided on 1 response; the record has 2 now: stale. */
    s_decide(f, f->sft, "e", JURY_DECISION_ACCEPTED, NULL, 1,
             "{\"response\": \"Hi.\", \"quality\": 3}", NULL);
    s_decide(f, f->sft, "f", JURY_DECISION_ACCEPTED, NULL, 2,
             "{\"response\": \"Hi!\", \"quality\": 5}", NULL);
    s_decide(f, f->sft, "g", JURY_DECISION_ACCEPTED, NULL, 2,
             "{\"response\": \"Use the link now!\", \"quality\": 4}", NULL);
    s_mark_consolidated(f, f->sft);

    f->pref = s_dataset(f, "pref", s_pref_settings);
    s_import(f, "pref", s_pref_records);
    s_decide(f, f->pref, "p1", JURY_DECISION_ACCEPTED, NULL, 0, "{\"best\": [\"c\", \"a\", \"b\"]}",
             NULL);
    s_decide(f, f->pref, "p2", JURY_DECISION_ACCEPTED, NULL, 0,
             "{\"best\": [\"a\", [\"b\", \"c\"]]}", NULL);
    s_decide(f, f->pref, "p3", JURY_DECISION_REJECTED, "tie", 0,
             "{\"best\": [\"a\", \"b\", \"c\"]}", NULL);
    s_decide(f, f->pref, "p4", JURY_DECISION_ACCEPTED, NULL, 0, "{}", NULL);
    /* Completed after a pending decision: stale. */
    s_respond(f, f->pref, "p5", "alice", SUB, "{\"best\": [\"a\", \"b\", \"c\"]}", 4000);
    s_decide(f, f->pref, "p5", JURY_DECISION_PENDING, NULL, 0, "{}", NULL);
    s_mark_consolidated(f, f->pref);

    f->chat = s_dataset(f, "chat", s_chat_settings);
    s_import(f, "chat", s_chat_records);
    s_decide(f, f->chat, "m1", JURY_DECISION_ACCEPTED, NULL, 0, "{\"reply\": \"Hi there\"}", NULL);
    s_respond(f, f->chat, "m2", "alice", SUB, "{\"reply\": \"Bye!\"}", 5000); /* no decision */

    f->rate = s_dataset(f, "rate", s_rate_settings);
    f->allcand = s_dataset(f, "allcand", s_allcand_settings);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *f = *state;
    jury_store_destroy(&f->store);
    tu_rmrf(f->base);
    free(f);
    return 0;
}

/* ---- running exports ---------------------------------------------------------------------- */

/* Exports into nouts memory streams; out[k] gets each one's text (caller frees). */
static jury_err s_export_n(fixture_t *f, const char *name, const jury_export_opts_t *o,
                           size_t nouts, char **out, jury_export_stats_t *st, char *err,
                           size_t errlen)
{
    FILE *fs[JURY_EXPORT_SPLIT_MAX];
    size_t len[JURY_EXPORT_SPLIT_MAX];
    for (size_t k = 0; k < nouts; k++) {
        fs[k] = open_memstream(&out[k], &len[k]);
        assert_non_null(fs[k]);
    }
    jury_err e = jury_export_run(f->store, name, o, fs, nouts, st, err, errlen);
    for (size_t k = 0; k < nouts; k++)
        assert_int_equal(fclose(fs[k]), 0);
    return e;
}

/* Exports into one stream and returns its text (caller frees); asserts success. */
static char *s_export(fixture_t *f, const char *name, const jury_export_opts_t *o,
                      jury_export_stats_t *st)
{
    char *out = NULL, err[512];
    jury_export_stats_t local;
    jury_err e = s_export_n(f, name, o, 1, &out, st ? st : &local, err, sizeof err);
    if (e != JURY_OK)
        fail_msg("export failed: %s (%s)", jury_strerror(e), err);
    return out;
}

/* Asserts that exporting fails with code and exactly message, writing nothing. */
static void s_export_fails(fixture_t *f, const char *name, const jury_export_opts_t *o,
                           jury_err code, const char *message)
{
    char *out = NULL, err[512];
    jury_export_stats_t st;
    assert_int_equal(s_export_n(f, name, o, 1, &out, &st, err, sizeof err), code);
    assert_string_equal(err, message);
    assert_string_equal(out, "");
    free(out);
}

/* Line i (0-based) of text into buf, without its newline. */
static const char *s_line(const char *text, int i, char *buf, size_t cap)
{
    const char *p = text;
    while (i-- > 0 && p) {
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    assert_non_null(p);
    const char *nl = strchr(p, '\n');
    assert_non_null(nl);
    size_t n = (size_t)(nl - p);
    assert_true(n < cap);
    memcpy(buf, p, n);
    buf[n] = '\0';
    return buf;
}

static size_t s_count_lines(const char *text)
{
    size_t n = 0;
    for (const char *p = text; (p = strchr(p, '\n')) != NULL; p++)
        n++;
    return n;
}

/* ---- formats ------------------------------------------------------------------------------ */

static void test_format_names(void **state)
{
    (void)state;
    static const char *const names[] = {"sft", "sft-messages", "dpo",      "rm",
                                        "coh", "records",      "responses"};
    for (int i = 0; i < JURY_EXPORT_NFORMATS; i++) {
        jury_export_format fmt;
        assert_string_equal(jury_export_format_name((jury_export_format)i), names[i]);
        assert_true(jury_export_format_parse(names[i], &fmt));
        assert_int_equal(fmt, i);
    }
    jury_export_format fmt;
    assert_null(jury_export_format_name(JURY_EXPORT_NFORMATS));
    assert_false(jury_export_format_parse("alpaca", &fmt));
}

static void test_sft(void **state)
{
    fixture_t *f = *state;
    jury_export_opts_t o = {.format = JURY_EXPORT_SFT};
    jury_export_stats_t st;
    char *out = s_export(f, "sft", &o, &st);
    assert_string_equal(out,
                        "{\"prompt\": \"Reset my password\", \"completion\": \"Use the link.\"}\n"
                        "{\"prompt\": \"Say \\\"hi\\\"\\tplease\\n\\u0001\", \"completion\": "
                        "\"Hi!\"}\n"
                        "{\"prompt\": \"Where?\", \"completion\": \"Use the link now!\"}\n");
    free(out);
    assert_int_equal(st.records, 7);
    assert_int_equal(st.accepted, 4); /* a, d, f, g */
    assert_int_equal(st.rejected, 1); /* b */
    assert_int_equal(st.pending, 2);  /* c, and e whose decision is stale */
    assert_int_equal(st.stale, 1);
    assert_int_equal(st.skipped, 1); /* d: no unified response */
    assert_int_equal(st.lines[0], 3);
}

static void test_sft_template(void **state)
{
    fixture_t *f = *state;
    /* A chat field becomes "role: content" lines; {{ and }} are braces. */
    jury_export_opts_t o = {.format = JURY_EXPORT_SFT,
                            .prompt = "{history}\n---\n{instruction} {{x}}"};
    char *out = s_export(f, "sft", &o, NULL);
    assert_string_equal(
        out, "{\"prompt\": \"\\n---\\nReset my password {x}\", \"completion\": \"Use the link.\"}\n"
             "{\"prompt\": \"user: hi\\nassistant: hello\\n---\\nSay \\\"hi\\\"\\tplease\\n"
             "\\u0001 {x}\", \"completion\": \"Hi!\"}\n"
             "{\"prompt\": \"\\n---\\nWhere? {x}\", \"completion\": \"Use the link now!\"}\n");
    free(out);
}

static void test_sft_with_meta(void **state)
{
    fixture_t *f = *state;
    jury_export_opts_t o = {.format = JURY_EXPORT_SFT, .with_meta = true};
    char *out = s_export(f, "sft", &o, NULL);
    char line[1024];
    /* Only submitted responders (carol's draft is not); agreement as decided; every method. */
    assert_string_equal(s_line(out, 0, line, sizeof line),
                        "{\"prompt\": \"Reset my password\", \"completion\": \"Use the link.\", "
                        "\"meta\": {\"id\": \"a\", \"annotators\": [\"alice\", \"bob\"], "
                        "\"agreement\": {\"response\": 0.5, \"quality\": 0.75}, "
                        "\"method\": {\"response\": \"medoid\", \"quality\": \"median\"}, "
                        "\"reviewed_by\": null}}");
    assert_string_equal(s_line(out, 2, line, sizeof line),
                        "{\"prompt\": \"Where?\", \"completion\": \"Use the link now!\", "
                        "\"meta\": {\"id\": \"g\", \"annotators\": [\"alice\", \"bob\"], "
                        "\"agreement\": {}, "
                        "\"method\": {\"response\": \"medoid\", \"quality\": \"median\"}, "
                        "\"reviewed_by\": null}}");
    assert_int_equal(s_count_lines(out), 3);
    free(out);
}

static void test_sft_messages(void **state)
{
    fixture_t *f = *state;
    jury_export_opts_t o = {.format = JURY_EXPORT_SFT_MESSAGES, .system = "Be brief."};
    char *out = s_export(f, "sft", &o, NULL);
    char line[1024];
    assert_string_equal(s_line(out, 0, line, sizeof line),
                        "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, "
                        "{\"role\": \"user\", \"content\": \"Reset my password\"}, "
                        "{\"role\": \"assistant\", \"content\": \"Use the link.\"}]}");
    assert_int_equal(s_count_lines(out), 3);
    free(out);

    /* The default prompt field is a chat: its turns as they are. */
    o = (jury_export_opts_t){.format = JURY_EXPORT_SFT_MESSAGES};
    jury_export_stats_t st;
    out = s_export(f, "chat", &o, &st);
    assert_string_equal(out, "{\"messages\": [{\"role\": \"user\", \"content\": \"Hello\"}, "
                             "{\"role\": \"assistant\", \"content\": \"Hi there\"}]}\n");
    free(out);
    /* m2 completed without a decision, and chat was never consolidated: pending, not stale. */
    assert_int_equal(st.accepted, 1);
    assert_int_equal(st.pending, 1);
    assert_int_equal(st.stale, 0);

    /* With a template the prompt is one user message, chat turns as lines. */
    o.prompt = "Reply to:\n{conversation}";
    o.with_meta = true;
    out = s_export(f, "chat", &o, NULL);
    assert_string_equal(out,
                        "{\"messages\": [{\"role\": \"user\", \"content\": \"Reply to:\\nuser: "
                        "Hello\"}, {\"role\": \"assistant\", \"content\": \"Hi there\"}], "
                        "\"meta\": {\"id\": \"m1\", \"annotators\": [], \"agreement\": {}, "
                        "\"method\": {\"reply\": \"medoid\"}, \"reviewed_by\": null}}\n");
    free(out);
}

static void test_dpo_ranking(void **state)
{
    fixture_t *f = *state;
    jury_export_opts_t o = {.format = JURY_EXPORT_DPO};
    jury_export_stats_t st;
    char *out = s_export(f, "pref", &o, &st);
    /* p1: best c, worst b. p2: a, then b and c tied: a against the last listed. */
    assert_string_equal(out, "{\"prompt\": \"2+2?\", \"chosen\": \"four\", \"rejected\": \"5\"}\n"
                             "{\"prompt\": \"Hi\", \"chosen\": \"A\", \"rejected\": \"C\"}\n");
    free(out);
    assert_int_equal(st.records, 5);
    assert_int_equal(st.accepted, 3);
    assert_int_equal(st.rejected, 1);
    assert_int_equal(st.pending, 1); /* p5: completed since its pending decision */
    assert_int_equal(st.stale, 1);
    assert_int_equal(st.skipped, 1); /* p4: no unified ranking */
}

static void test_dpo_pairs_all(void **state)
{
    fixture_t *f = *state;
    jury_export_opts_t o = {.format = JURY_EXPORT_DPO, .pairs_all = true, .ranking = "best"};
    char *out = s_export(f, "pref", &o, NULL);
    /* Every better-worse pair in ranking order; tied values make no pair. */
    assert_string_equal(out, "{\"prompt\": \"2+2?\", \"chosen\": \"four\", \"rejected\": \"4\"}\n"
                             "{\"prompt\": \"2+2?\", \"chosen\": \"four\", \"rejected\": \"5\"}\n"
                             "{\"prompt\": \"2+2?\", \"chosen\": \"4\", \"rejected\": \"5\"}\n"
                             "{\"prompt\": \"Hi\", \"chosen\": \"A\", \"rejected\": \"B\"}\n"
                             "{\"prompt\": \"Hi\", \"chosen\": \"A\", \"rejected\": \"C\"}\n");
    free(out);
}

static void test_rm_and_coh(void **state)
{
    fixture_t *f = *state;
    jury_export_opts_t o = {.format = JURY_EXPORT_RM};
    char *out = s_export(f, "pref", &o, NULL);
    assert_string_equal(out, "{\"chosen\": \"2+2?\\n\\nfour\", \"rejected\": \"2+2?\\n\\n5\"}\n"
                             "{\"chosen\": \"Hi\\n\\nA\", \"rejected\": \"Hi\\n\\nC\"}\n");
    free(out);

    o = (jury_export_opts_t){.format = JURY_EXPORT_COH};
    out = s_export(f, "pref", &o, NULL);
    assert_string_equal(out, "{\"text\": \"2+2? A helpful answer: four An unhelpful answer: 5\"}\n"
                             "{\"text\": \"Hi A helpful answer: A An unhelpful answer: C\"}\n");
    free(out);

    o.coh_template = "Q: {prompt}\nGood: {chosen}\nBad: {rejected} {{ok}}";
    o.with_meta = true;
    out = s_export(f, "pref", &o, NULL);
    char line[1024];
    assert_string_equal(s_line(out, 0, line, sizeof line),
                        "{\"text\": \"Q: 2+2?\\nGood: four\\nBad: 5 {ok}\", \"meta\": {\"id\": "
                        "\"p1\", \"annotators\": [], \"agreement\": {}, \"method\": {\"best\": "
                        "\"borda\"}, \"reviewed_by\": null}}");
    free(out);
}

static void test_dpo_edits(void **state)
{
    fixture_t *f = *state;
    /* No ranking question: the unified reply against the suggestion it edited. */
    jury_export_opts_t o = {.format = JURY_EXPORT_DPO, .min_edit = -1};
    jury_export_stats_t st;
    char *out = s_export(f, "sft", &o, &st);
    /* g: "Use the link now!" vs "Use the link now." is 1/17 = 0.059 < 0.1; f has no suggestion. */
    assert_string_equal(out, "{\"prompt\": \"Reset my password\", \"chosen\": \"Use the link.\", "
                             "\"rejected\": \"Click 'Forgot password'.\"}\n");
    free(out);
    assert_int_equal(st.skipped, 3); /* d, f, g */

    o.min_edit = 0.05;
    out = s_export(f, "sft", &o, &st);
    assert_int_equal(s_count_lines(out), 2);
    char line[512];
    assert_string_equal(s_line(out, 1, line, sizeof line),
                        "{\"prompt\": \"Where?\", \"chosen\": \"Use the link now!\", "
                        "\"rejected\": \"Use the link now.\"}");
    free(out);
    assert_int_equal(st.skipped, 2);

    o.min_edit = 0.06;
    out = s_export(f, "sft", &o, NULL);
    assert_int_equal(s_count_lines(out), 1);
    free(out);

    /* The same, explicitly, with the rm prompt joined by a blank line. */
    o = (jury_export_opts_t){.format = JURY_EXPORT_RM,
                             .source = JURY_PAIRS_EDITS,
                             .completion = "response",
                             .min_edit = -1};
    out = s_export(f, "sft", &o, NULL);
    assert_string_equal(out, "{\"chosen\": \"Reset my password\\n\\nUse the link.\", \"rejected\": "
                             "\"Reset my password\\n\\nClick 'Forgot password'.\"}\n");
    free(out);
}

static void test_records(void **state)
{
    fixture_t *f = *state;
    jury_export_opts_t o = {.format = JURY_EXPORT_RECORDS};
    jury_export_stats_t st;
    char *out = s_export(f, "sft", &o, &st);
    assert_int_equal(s_count_lines(out), 7);
    assert_int_equal(st.lines[0], 7);
    char line[2048];
    assert_string_equal(
        s_line(out, 0, line, sizeof line),
        "{\"id\": \"a\", \"fields\": {\"instruction\": \"Reset my password\", \"context\": "
        "\"web\"}, \"metadata\": {}, \"suggestions\": {\"response\": {\"value\": \"Click "
        "'Forgot password'.\", \"score\": 0.5, \"agent\": \"draft-v1\"}}, \"responses\": "
        "{\"response\": [{\"value\": \"Use the \\\"Forgot password\\\" link.\", \"user_id\": "
        "\"alice\"}, {\"value\": \"Use the link.\", \"user_id\": \"bob\"}], \"quality\": "
        "[{\"value\": 4, \"user_id\": \"alice\"}, {\"value\": 5, \"user_id\": \"bob\"}]}, "
        "\"status\": \"completed\", \"unified\": {\"response\": \"Use the link.\", \"quality\": "
        "4.5}, \"decision\": \"accepted\", \"reason\": null, "
        "\"reviewed_by\": null, \"reviewed_ms\": null, \"review_note\": null}");
    assert_string_equal(
        s_line(out, 1, line, sizeof line),
        "{\"id\": \"b\", \"fields\": {\"instruction\": \"Refund?\"}, \"metadata\": {}, "
        "\"suggestions\": {}, \"responses\": {\"response\": [{\"value\": \"Yes.\", \"user_id\": "
        "\"alice\"}, {\"value\": \"No.\", \"user_id\": \"bob\"}], \"quality\": [{\"value\": 2, "
        "\"user_id\": \"alice\"}, {\"value\": 1, \"user_id\": \"bob\"}]}, \"status\": "
        "\"completed\", \"unified\": {\"response\": \"Yes.\", \"quality\": 1.5}, \"decision\": "
        "\"rejected\", \"reason\": \"quality: agreement 0 is below 0.5\", "
        "\"reviewed_by\": null, \"reviewed_ms\": null, \"review_note\": null}");
    /* c: only a discard, so no responses and still pending. */
    assert_string_equal(
        s_line(out, 2, line, sizeof line),
        "{\"id\": \"c\", \"fields\": {\"instruction\": \"Where is my parcel?\"}, "
        "\"metadata\": {}, \"suggestions\": {}, \"responses\": {}, \"status\": "
        "\"pending\", \"unified\": {}, \"decision\": \"pending\", \"reason\": "
        "null, \"reviewed_by\": null, \"reviewed_ms\": null, \"review_note\": null}");
    assert_string_equal(
        s_line(out, 3, line, sizeof line),
        "{\"id\": \"d\", \"fields\": {\"instruction\": \"Cancel\"}, \"metadata\": {\"lang\": "
        "\"en\"}, \"suggestions\": {}, \"responses\": {\"response\": [{\"value\": \"Sure.\", "
        "\"user_id\": \"alice\"}, {\"value\": \"OK.\", \"user_id\": \"bob\"}], \"quality\": "
        "[{\"value\": 3, \"user_id\": \"alice\"}, {\"value\": 3, \"user_id\": \"bob\"}]}, "
        "\"status\": \"completed\", \"unified\": {\"quality\": 3}, \"decision\": \"accepted\", "
        "\"reason\": null, \"reviewed_by\": null, \"reviewed_ms\": null, \"review_note\": null}");
    /* e: a stale decision is no decision. */
    assert_non_null(strstr(s_line(out, 4, line, sizeof line),
                           "\"status\": \"completed\", \"unified\": {}, \"decision\": "
                           "\"pending\", \"reason\": null, \"reviewed_by\": null, \"reviewed_ms\": "
                           "null, \"review_note\": null}"));
    free(out);
}

static void test_records_round_trip(void **state)
{
    fixture_t *f = *state;
    jury_export_opts_t o = {.format = JURY_EXPORT_RECORDS};
    char *first = s_export(f, "sft", &o, NULL);
    /* Importing the export into a dataset with the same settings gives the same records and
     * submitted responses back. */
    (void)s_dataset(f, "copy", s_sft_settings);
    s_import(f, "copy", first);
    char *second = s_export(f, "copy", &o, NULL);
    assert_int_equal(s_count_lines(second), 7);
    for (int i = 0; i < 7; i++) {
        char a[2048], b[2048];
        s_line(first, i, a, sizeof a);
        s_line(second, i, b, sizeof b);
        char *sa = strstr(a, ", \"status\": "), *sb = strstr(b, ", \"status\": ");
        assert_non_null(sa);
        assert_non_null(sb);
        *sa = *sb = '\0';
        assert_string_equal(a, b);
    }
    free(first);
    free(second);
}

static void test_responses(void **state)
{
    fixture_t *f = *state;
    jury_export_opts_t o = {.format = JURY_EXPORT_RESPONSES};
    char *out = s_export(f, "sft", &o, NULL);
    /* 3 on a, 2 on b, 1 on c, 2 on each of d..g: every status, annotators in id order. */
    assert_int_equal(s_count_lines(out), 14);
    char line[1024];
    assert_string_equal(s_line(out, 0, line, sizeof line),
                        "{\"record\": \"a\", \"annotator\": \"alice\", \"status\": \"submitted\", "
                        "\"values\": {\"response\": \"Use the \\\"Forgot password\\\" link.\", "
                        "\"quality\": 4}, \"updated_ms\": 1001}");
    assert_string_equal(s_line(out, 2, line, sizeof line),
                        "{\"record\": \"a\", \"annotator\": \"carol\", \"status\": \"draft\", "
                        "\"values\": {\"response\": \"Use\"}, \"updated_ms\": 1003}");
    assert_string_equal(s_line(out, 5, line, sizeof line),
                        "{\"record\": \"c\", \"annotator\": \"carol\", \"status\": \"discarded\", "
                        "\"values\": {}, \"updated_ms\": 1006}");
    free(out);
}

/* ---- staleness ---------------------------------------------------------------------------- */

static void test_stale_after_consolidation(void **state)
{
    fixture_t *f = *state;
    jury_export_opts_t o = {.format = JURY_EXPORT_SFT};
    jury_export_stats_t st;
    /* Once chat has been consolidated, m2 (completed, no decision) is stale. */
    s_mark_consolidated(f, f->chat);
    char *out = s_export(f, "chat", &o, &st);
    free(out);
    assert_int_equal(st.pending, 1);
    assert_int_equal(st.stale, 1);
    /* Deciding it on its 1 response makes it current again. */
    s_decide(f, f->chat, "m2", JURY_DECISION_ACCEPTED, NULL, 1, "{\"reply\": \"Bye!\"}", NULL);
    out = s_export(f, "chat", &o, &st);
    assert_string_equal(out, "{\"prompt\": \"user: Hello\", \"completion\": \"Hi there\"}\n"
                             "{\"prompt\": \"user: Bye\", \"completion\": \"Bye!\"}\n");
    free(out);
    assert_int_equal(st.accepted, 2);
    assert_int_equal(st.stale, 0);
    /* A new response makes its decision stale. */
    s_respond(f, f->chat, "m2", "bob", JURY_RESPONSE_SUBMITTED, "{\"reply\": \"Ciao\"}", 5001);
    out = s_export(f, "chat", &o, &st);
    assert_int_equal(s_count_lines(out), 1);
    free(out);
    assert_int_equal(st.accepted, 1);
    assert_int_equal(st.pending, 1);
    assert_int_equal(st.stale, 1);
}

/* ---- split -------------------------------------------------------------------------------- */

static uint64_t s_fmix64(uint64_t k)
{
    k ^= k >> 33;
    k *= UINT64_C(0xff51afd7ed558ccd);
    k ^= k >> 33;
    k *= UINT64_C(0xc4ceb9fe1a85ec53);
    k ^= k >> 33;
    return k;
}

/* The split rule of export.h, written out again. */
static double s_unit(const char *id, uint64_t seed)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (const char *p = id; *p; p++)
        h = (h ^ (unsigned char)*p) * UINT64_C(0x100000001b3);
    return (double)(s_fmix64(h ^ seed) >> 11) * 0x1p-53;
}

typedef struct {
    uint32_t ds; /* dataset */
    int n;       /* records r0 .. r(n-1) */
} decide_all_t;

static jury_err s_decide_all_fn(jury_txn_t *txn, void *arg)
{
    decide_all_t *d = arg;
    msgpack_sbuffer val;
    msgpack_sbuffer_init(&val);
    s_pack(&val, "\"ok\"");
    jury_decision_item_t item = {.question = "t", .value = val.data, .value_len = val.size};
    jury_err err = JURY_OK;
    for (int i = 0; i < d->n && err == JURY_OK; i++) {
        char id[16];
        snprintf(id, sizeof id, "r%d", i);
        msgpack_sbuffer blob;
        msgpack_sbuffer_init(&blob);
        err = jury_decision_encode(&blob, JURY_DECISION_ACCEPTED, NULL, 0, 0, &item, 1);
        if (err == JURY_OK)
            err = jury_store_decision_put(txn, s_rid(txn, d->ds, id), blob.data, blob.size);
        msgpack_sbuffer_destroy(&blob);
    }
    msgpack_sbuffer_destroy(&val);
    return err;
}

static void test_split(void **state)
{
    fixture_t *f = *state;
    enum { N = 1000 };
    uint32_t ds = s_dataset(f, "big",
                            "{\"fields\": [{\"name\": \"x\", \"type\": \"text\"}],"
                            " \"questions\": [{\"name\": \"t\", \"type\": \"text\"}]}");
    size_t cap = (size_t)N * 64, len = 0;
    char *jsonl = malloc(cap);
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(jsonl + len, cap - len,
                                "{\"id\": \"r%d\", \"fields\": {\"x\": \"r%d\"}}\n", i, i);
    s_import(f, "big", jsonl);
    free(jsonl);
    decide_all_t d = {ds, N};
    assert_int_equal(jury_store_write(f->store, s_decide_all_fn, &d), JURY_OK);

    jury_split_part_t parts[2] = {{"train", 0.9}, {"test", 0.1}};
    jury_export_opts_t o = {.format = JURY_EXPORT_SFT, .split = parts, .nsplit = 2, .seed = 7};
    char *out[2], *again[2], *other[2], err[256];
    jury_export_stats_t st;
    assert_int_equal(s_export_n(f, "big", &o, 2, out, &st, err, sizeof err), JURY_OK);
    assert_int_equal(st.lines[0] + st.lines[1], N);
    /* Roughly the shares: 900 +- 4.5 standard deviations (sd = 9.5). */
    assert_in_range(st.lines[0], 857, 943);
    assert_int_equal(s_count_lines(out[0]), st.lines[0]);
    assert_int_equal(s_count_lines(out[1]), st.lines[1]);

    /* Every record in exactly one part, the part the documented hash gives. */
    static char seen[N];
    memset(seen, 0, sizeof seen);
    for (int k = 0; k < 2; k++) {
        for (const char *p = out[k]; (p = strstr(p, "{\"prompt\": \"r")) != NULL; p++) {
            int i = atoi(p + 13);
            assert_in_range(i, 0, N - 1);
            seen[i]++;
            char id[16];
            snprintf(id, sizeof id, "r%d", i);
            assert_int_equal(s_unit(id, 7) < 0.9 ? 0 : 1, k);
        }
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(seen[i], 1);

    /* The same seed, the same files; another seed, another assignment. */
    assert_int_equal(s_export_n(f, "big", &o, 2, again, &st, err, sizeof err), JURY_OK);
    assert_string_equal(again[0], out[0]);
    assert_string_equal(again[1], out[1]);
    o.seed = 8;
    assert_int_equal(s_export_n(f, "big", &o, 2, other, &st, err, sizeof err), JURY_OK);
    assert_string_not_equal(other[1], out[1]);
    for (int k = 0; k < 2; k++) {
        free(out[k]);
        free(again[k]);
        free(other[k]);
    }

    /* Three parts. */
    jury_split_part_t three[3] = {{"train", 0.8}, {"dev", 0.1}, {"test", 0.1}};
    o = (jury_export_opts_t){.format = JURY_EXPORT_RECORDS, .split = three, .nsplit = 3};
    char *o3[3];
    assert_int_equal(s_export_n(f, "big", &o, 3, o3, &st, err, sizeof err), JURY_OK);
    assert_int_equal(st.lines[0] + st.lines[1] + st.lines[2], N);
    assert_in_range(st.lines[1], 50, 150);
    assert_in_range(st.lines[2], 50, 150);
    for (int k = 0; k < 3; k++)
        free(o3[k]);
}

/* ---- bad options -------------------------------------------------------------------------- */

static void test_bad_templates(void **state)
{
    fixture_t *f = *state;
    jury_export_opts_t o = {.format = JURY_EXPORT_SFT, .prompt = "{nope}"};
    s_export_fails(f, "sft", &o, JURY_EINVAL,
                   "--prompt: dataset sft has no field \"nope\"; its fields are: instruction, "
                   "context, history");
    o.prompt = "Q: {instruction";
    s_export_fails(f, "sft", &o, JURY_EINVAL,
                   "--prompt: unclosed \"{\" at byte 4 (write \"{{\" for a brace)");
    o.prompt = "{instruction} }";
    s_export_fails(f, "sft", &o, JURY_EINVAL,
                   "--prompt: a lone \"}\" at byte 15 (write \"}}\" for a brace)");
    o = (jury_export_opts_t){.format = JURY_EXPORT_COH, .coh_template = "{prompt} {best}"};
    s_export_fails(f, "pref", &o, JURY_EINVAL,
                   "--coh-template: unknown placeholder \"{best}\"; use {prompt}, {chosen} and "
                   "{rejected}");
    /* Every field of allcand is ranked: the prompt must be given. */
    o = (jury_export_opts_t){.format = JURY_EXPORT_DPO};
    s_export_fails(f, "allcand", &o, JURY_EINVAL,
                   "dataset allcand has no field for the prompt besides the ranked candidates: "
                   "pass --prompt");
}

static void test_bad_questions(void **state)
{
    fixture_t *f = *state;
    jury_export_opts_t o = {.format = JURY_EXPORT_SFT, .completion = "nope"};
    s_export_fails(f, "sft", &o, JURY_EINVAL,
                   "--completion: dataset sft has no question \"nope\"; its text questions are: "
                   "response");
    o.completion = "quality";
    s_export_fails(f, "sft", &o, JURY_EINVAL,
                   "--completion: \"quality\" is a rating question, not a text question; the text "
                   "questions are: response");
    o = (jury_export_opts_t){.format = JURY_EXPORT_SFT};
    s_export_fails(f, "rate", &o, JURY_EINVAL,
                   "dataset rate has no text question to take completions from");
    o.format = JURY_EXPORT_DPO;
    s_export_fails(f, "rate", &o, JURY_EINVAL,
                   "dataset rate has no ranking question whose values name fields and no text "
                   "question: nothing to contrast for dpo");
    o.format = JURY_EXPORT_COH;
    o.source = JURY_PAIRS_EDITS;
    s_export_fails(f, "rate", &o, JURY_EINVAL,
                   "dataset rate has no text question: no edits to contrast with suggestions for "
                   "coh");
    o = (jury_export_opts_t){.format = JURY_EXPORT_RM, .source = JURY_PAIRS_RANKING};
    s_export_fails(f, "sft", &o, JURY_EINVAL,
                   "dataset sft has no ranking question whose values name text fields: nothing to "
                   "rank for rm");
    o = (jury_export_opts_t){.format = JURY_EXPORT_DPO, .ranking = "quality"};
    s_export_fails(f, "sft", &o, JURY_EINVAL,
                   "--ranking: \"quality\" is not a ranking question whose values all name text "
                   "fields of dataset sft");
    o.ranking = "nope";
    s_export_fails(f, "sft", &o, JURY_EINVAL, "--ranking: dataset sft has no question \"nope\"");
    o = (jury_export_opts_t){.format = JURY_EXPORT_DPO, .min_edit = 1.5};
    s_export_fails(f, "sft", &o, JURY_EINVAL, "--min-edit: 1.5 is not within 0..1");
    o = (jury_export_opts_t){.format = JURY_EXPORT_SFT};
    s_export_fails(f, "nope", &o, JURY_ENOTFOUND, "no dataset nope");
}

static void test_bad_splits(void **state)
{
    fixture_t *f = *state;
    jury_split_part_t parts[3] = {{"train", 0.9}, {"test", 0.2}, {"x", 0.1}};
    jury_export_opts_t o = {.format = JURY_EXPORT_SFT, .split = parts, .nsplit = 2};
    char *out[3], err[256];
    assert_int_equal(s_export_n(f, "sft", &o, 2, out, NULL, err, sizeof err), JURY_EINVAL);
    assert_string_equal(err, "--split: the shares add up to 1.1, not 1");
    assert_string_equal(out[0], "");
    free(out[0]);
    free(out[1]);

    parts[1] = (jury_split_part_t){"train", 0.1};
    assert_int_equal(s_export_n(f, "sft", &o, 2, out, NULL, err, sizeof err), JURY_EINVAL);
    assert_string_equal(err, "--split: part \"train\" is named twice");
    free(out[0]);
    free(out[1]);

    parts[1] = (jury_split_part_t){"te st", 0.1};
    assert_int_equal(s_export_n(f, "sft", &o, 2, out, NULL, err, sizeof err), JURY_EINVAL);
    assert_string_equal(err,
                        "--split: part name \"te st\" must be 1 to 64 letters, digits, '_' or '-'");
    free(out[0]);
    free(out[1]);

    parts[1] = (jury_split_part_t){"test", 0};
    assert_int_equal(s_export_n(f, "sft", &o, 2, out, NULL, err, sizeof err), JURY_EINVAL);
    assert_string_equal(err, "--split: the share of \"test\" must be a number above 0");
    free(out[0]);
    free(out[1]);

    parts[1] = (jury_split_part_t){"test", 0.1};
    assert_int_equal(s_export_n(f, "sft", &o, 3, out, NULL, err, sizeof err), JURY_EINVAL);
    assert_string_equal(err, "--split: 2 parts but 3 output streams");
    for (int k = 0; k < 3; k++)
        free(out[k]);

    o.nsplit = 1;
    assert_int_equal(s_export_n(f, "sft", &o, 1, out, NULL, err, sizeof err), JURY_EINVAL);
    assert_string_equal(err, "--split: 2 to 8 parts, not 1");
    free(out[0]);

    o.nsplit = 0;
    assert_int_equal(s_export_n(f, "sft", &o, 2, out, NULL, err, sizeof err), JURY_EINVAL);
    assert_string_equal(err, "one output stream without a split, not 2");
    free(out[0]);
    free(out[1]);
}

/* ---- the command -------------------------------------------------------------------------- */

static tu_result_t s_jury(fixture_t *f, const char *const *args)
{
    char *argv[32];
    int n = 0;
    argv[n++] = (char *)tu_env("JURY_BIN");
    argv[n++] = "export";
    for (; *args; args++)
        argv[n++] = (char *)*args;
    argv[n++] = "--store";
    argv[n++] = f->dir;
    argv[n] = NULL;
    return tu_run(argv, NULL);
}

static void test_command(void **state)
{
    fixture_t *f = *state;
    char out[400], train[400], test[400], tmp[420];
    snprintf(out, sizeof out, "%s/sft.jsonl", f->base);
    snprintf(train, sizeof train, "%s/sft.train.jsonl", f->base);
    snprintf(test, sizeof test, "%s/sft.test.jsonl", f->base);

    /* Standard output, with the summary on stderr. */
    tu_result_t r = s_jury(f, (const char *[]){"sft", "--format", "sft", NULL});
    assert_int_equal(r.status, 0);
    assert_int_equal(s_count_lines(r.out), 3);
    assert_string_equal(r.err, "exported 3 lines to standard output (accepted 4, rejected 1, "
                               "pending 2; 1 accepted without a line)\n"
                               "jury: export: warning: 1 record changed since `jury consolidate` "
                               "last ran and counts as pending: run `jury consolidate sft` to "
                               "decide them\n");
    tu_result_free(&r);

    /* A split into two files named after the parts; no temporary file is left. */
    r = s_jury(f, (const char *[]){"sft", "--format", "records", "--out", out, "--split",
                                   "train=0.5,test=0.5", "--seed", "3", NULL});
    assert_int_equal(r.status, 0);
    size_t a = 0, b = 0;
    char *ta = tu_read_file(train, &a), *tb = tu_read_file(test, &b);
    assert_non_null(ta);
    assert_non_null(tb);
    assert_int_equal(s_count_lines(ta) + s_count_lines(tb), 7);
    char expect[1400];
    snprintf(expect, sizeof expect,
             "exported 7 lines to %s (%zu) and %s (%zu) (accepted 4, "
             "rejected 1, pending 2; 0 accepted without a line)\n",
             train, s_count_lines(ta), test, s_count_lines(tb));
    assert_non_null(strstr(r.err, expect));
    free(ta);
    free(tb);
    snprintf(tmp, sizeof tmp, "%s.tmp", train);
    assert_int_not_equal(access(tmp, F_OK), 0);
    assert_int_not_equal(access(out, F_OK), 0);
    tu_result_free(&r);

    /* Never consolidated: the warning says so. */
    r = s_jury(f, (const char *[]){"rate", "--format", "records", "--out", out, NULL});
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.err, "warning: dataset rate has never been consolidated"));
    assert_non_null(strstr(r.err, "run `jury consolidate rate`"));
    tu_result_free(&r);
    unlink(out);

    /* Bad input: exit 2, a message, and no file. */
    static const struct {
        const char *args[8];
        const char *message;
    } bad[] = {
        {{"sft", "--format", "alpaca", NULL},
         "jury: export: --format: 'alpaca' is not sft, sft-messages, dpo, rm, coh, records or "
         "responses\n"},
        {{"sft", "--format", "sft", "--split", "train=0.9,test=0.1", NULL},
         "jury: export: --split writes one file per part: it needs --out FILE\n"},
        {{"sft", "--format", "sft", "--split", "train=0.9", "--out", "x.jsonl", NULL}, NULL},
        {{"sft", "--format", "sft", "--prompt", "{nope}", "--out", "x.jsonl", NULL},
         "jury: export: --prompt: dataset sft has no field \"nope\"; its fields are: "
         "instruction, context, history\n"},
        {{"rate", "--format", "dpo", "--out", "x.jsonl", NULL},
         "jury: export: dataset rate has no ranking question whose values name fields and no "
         "text question: nothing to contrast for dpo\n"},
        {{"nope", "--format", "sft", NULL}, "jury: export: no dataset nope\n"},
        {{"sft", NULL}, NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *args[12];
        size_t n = 0;
        for (; bad[i].args[n]; n++)
            args[n] = strcmp(bad[i].args[n], "x.jsonl") == 0 ? out : bad[i].args[n];
        args[n] = NULL;
        r = s_jury(f, args);
        assert_int_equal(r.status, 2);
        assert_string_equal(r.out, "");
        if (bad[i].message)
            assert_string_equal(r.err, bad[i].message);
        assert_int_not_equal(access(out, F_OK), 0);
        snprintf(tmp, sizeof tmp, "%s.tmp", out);
        assert_int_not_equal(access(tmp, F_OK), 0);
        tu_result_free(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_names),
        cmocka_unit_test_setup_teardown(test_sft, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_sft_template, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_sft_with_meta, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_sft_messages, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_dpo_ranking, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_dpo_pairs_all, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_rm_and_coh, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_dpo_edits, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_records, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_records_round_trip, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_responses, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_stale_after_consolidation, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_split, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_templates, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_questions, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_splits, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_command, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
