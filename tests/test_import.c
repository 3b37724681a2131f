/* test_import.c: JSONL import into a real store: upserts, responses, all-or-nothing, skip-invalid,
 * and each kind of bad line. */
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "import.h"

static const char s_settings[] =
    "{\"fields\": [{\"name\": \"instruction\", \"type\": \"text\"},"
    "              {\"name\": \"context\", \"type\": \"text\", \"required\": false},"
    "              {\"name\": \"history\", \"type\": \"chat\", \"required\": false}],"
    " \"questions\": [{\"name\": \"response\", \"type\": \"text\"},"
    "                 {\"name\": \"quality\", \"type\": \"rating\", \"values\": [1, 2, 3, 4, 5]}],"
    " \"distribution\": {\"min_submitted\": 2}}";

typedef struct {
    char base[256];       /* temporary directory */
    char file[300];       /* input path */
    jury_store_t *store;  /* store in base/store */
    uint32_t ds;          /* dataset "d" */
    int nproblems;        /* problems reported */
    uint64_t lines[8];    /* their line numbers */
    char reasons[8][256]; /* and reasons */
    bool line_null[8];    /* whether the line text was dropped */
} fixture_t;

static jury_err s_create(jury_txn_t *txn, void *arg)
{
    return jury_store_dataset_create(txn, "d", s_settings, strlen(s_settings), arg);
}

static int s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    tu_tmpdir(f->base, sizeof f->base);
    char dir[300];
    snprintf(dir, sizeof dir, "%s/store", f->base);
    snprintf(f->file, sizeof f->file, "%s/records.jsonl", f->base);
    jury_store_opts_t opts = {.create = true};
    assert_int_equal(jury_store_open(&f->store, dir, &opts), JURY_OK);
    assert_int_equal(jury_store_write(f->store, s_create, &f->ds), JURY_OK);
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

static void s_problem(uint64_t line_no, const char *reason, const char *line, size_t len, void *arg)
{
    (void)len;
    fixture_t *f = arg;
    if (f->nproblems < 8) {
        f->lines[f->nproblems] = line_no;
        snprintf(f->reasons[f->nproblems], sizeof f->reasons[0], "%s", reason);
        f->line_null[f->nproblems] = line == NULL;
    }
    f->nproblems++;
}

static jury_err s_import(fixture_t *f, const char *text, bool skip, jury_import_stats_t *st)
{
    tu_write_file(f->file, text, strlen(text));
    jury_import_opts_t opts = {.skip_invalid = skip, .problem = s_problem, .arg = f};
    f->nproblems = 0;
    return jury_import_file(f->store, "d", f->file, &opts, st);
}

static jury_counts_t s_counts(fixture_t *f)
{
    jury_txn_t *txn;
    jury_counts_t c;
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    assert_int_equal(jury_store_dataset_counts(txn, f->ds, &c), JURY_OK);
    jury_txn_abort(&txn);
    return c;
}

static const char s_good[] =
    "{\"id\": \"a\", \"fields\": {\"instruction\": \"Reset my password\"},"
    " \"suggestions\": {\"response\": {\"value\": \"Click 'Forgot password'.\", \"score\": 0.5,"
    " \"agent\": \"draft-v1\"}}}\n"
    "\n"
    "{\"id\": \"b\", \"fields\": {\"instruction\": \"Refund?\", \"context\": \"order 7\"},"
    " \"metadata\": {},"
    " \"responses\": {\"response\": [{\"value\": \"Yes.\", \"user_id\": \"alice\"},"
    "                               {\"value\": \"Sure.\", \"user_id\": \"bob\"}],"
    "                 \"quality\": [{\"value\": 4, \"user_id\": \"alice\"},"
    "                              {\"value\": 5, \"user_id\": \"bob\"}]}}\n"
    "{\"id\": 42, \"fields\": {\"instruction\": \"Where is my parcel?\"},"
    " \"responses\": {\"response\": [{\"value\": \"On its way.\", \"user_id\": \"alice\"}],"
    "                 \"quality\": [{\"value\": 3, \"user_id\": \"alice\"}]}}\n";

static void test_import_creates_records_and_responses(void **state)
{
    fixture_t *f = *state;
    jury_import_stats_t st;
    assert_int_equal(s_import(f, s_good, false, &st), JURY_OK);
    assert_int_equal(st.lines, 4);
    assert_int_equal(st.created, 3);
    assert_int_equal(st.updated, 0);
    assert_int_equal(st.responses, 3);
    assert_int_equal(st.rejected, 0);
    assert_int_equal(f->nproblems, 0);
    jury_counts_t c = s_counts(f);
    assert_int_equal(c.records, 3);
    assert_int_equal(c.completed, 1); /* "b" has its 2 submitted responses */
    assert_int_equal(c.responses[JURY_RESPONSE_SUBMITTED], 3);

    jury_txn_t *txn;
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    uint64_t rid;
    assert_int_equal(jury_store_record_find(txn, f->ds, "42", 2, &rid), JURY_OK);
    assert_int_equal(jury_store_record_find(txn, f->ds, "b", 1, &rid), JURY_OK);
    /* The payload is the record as msgpack, id first; responses are not in it. */
    const void *p;
    size_t n;
    jury_record_state_t rs;
    assert_int_equal(jury_store_record_get(txn, rid, &p, &n, &rs), JURY_OK);
    assert_int_equal(rs.status, JURY_RECORD_COMPLETED);
    assert_int_equal(rs.target, 2);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, p, n, NULL), MSGPACK_UNPACK_SUCCESS);
    char text[256];
    assert_int_equal(msgpack_object_print_buffer(text, sizeof text, u.data) > 0, 1);
    assert_string_equal(text, "{\"id\"=>\"b\", \"fields\"=>{\"instruction\"=>\"Refund?\", "
                              "\"context\"=>\"order 7\"}, \"metadata\"=>{}}");
    msgpack_unpacked_destroy(&u);
    /* Alice's response holds her answers to both questions. */
    uint32_t alice;
    assert_int_equal(jury_store_annotator_find(txn, "alice", &alice), JURY_OK);
    jury_response_t r;
    assert_int_equal(jury_store_response_get(txn, rid, alice, &r), JURY_OK);
    assert_int_equal(r.status, JURY_RESPONSE_SUBMITTED);
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, r.values, r.values_len, NULL), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(msgpack_object_print_buffer(text, sizeof text, u.data) > 0, 1);
    assert_string_equal(text, "{\"response\"=>\"Yes.\", \"quality\"=>4}");
    msgpack_unpacked_destroy(&u);
    jury_txn_abort(&txn);
}

static void test_reimport_updates_and_keeps_responses(void **state)
{
    fixture_t *f = *state;
    jury_import_stats_t st;
    assert_int_equal(s_import(f, s_good, false, &st), JURY_OK);
    const char *again = "{\"id\": \"b\", \"fields\": {\"instruction\": \"Refund, please?\"}}\n"
                        "{\"id\": \"c\", \"fields\": {\"instruction\": \"New one\"}}\n";
    assert_int_equal(s_import(f, again, false, &st), JURY_OK);
    assert_int_equal(st.created, 1);
    assert_int_equal(st.updated, 1);
    assert_int_equal(st.responses, 0);
    jury_counts_t c = s_counts(f);
    assert_int_equal(c.records, 4);
    assert_int_equal(c.completed, 1);
    assert_int_equal(c.responses[JURY_RESPONSE_SUBMITTED], 3);
}

static void test_one_bad_line_imports_nothing(void **state)
{
    fixture_t *f = *state;
    jury_import_stats_t st;
    const char *text = "{\"id\": \"a\", \"fields\": {\"instruction\": \"ok\"}}\n"
                       "{\"id\": \"b\", \"fields\": {\"context\": \"no instruction\"}}\n"
                       "{\"id\": \"c\", \"fields\": {\"instruction\": \"ok\", \"extra\": \"x\"}}\n"
                       "[1, 2]\n"
                       "{\"id\": \"e\", \"fields\": {\"instruction\": \"ok\"}} {}\n";
    assert_int_equal(s_import(f, text, false, &st), JURY_EINVAL);
    assert_int_equal(st.rejected, 4);
    assert_int_equal(f->nproblems, 4);
    assert_int_equal(f->lines[0], 2);
    assert_string_equal(f->reasons[0],
                        "/fields/instruction: field \"instruction\" is required by the dataset "
                        "settings");
    assert_int_equal(f->lines[1], 3);
    assert_string_equal(f->reasons[1], "/fields/extra: unknown field \"extra\"; the dataset has "
                                       "fields: instruction, context, history");
    assert_int_equal(f->lines[2], 4);
    assert_string_equal(f->reasons[2], "/: a record must be a JSON object");
    assert_int_equal(f->lines[3], 5);
    assert_string_equal(f->reasons[3],
                        "invalid JSON at byte 46 of the line: text after the record");
    jury_counts_t c = s_counts(f);
    assert_int_equal(c.records, 0); /* not even line 1 */
}

static void test_skip_invalid_imports_the_rest(void **state)
{
    fixture_t *f = *state;
    jury_import_stats_t st;
    const char *text = "{\"id\": \"a\", \"fields\": {\"instruction\": \"ok\"}}\n"
                       "{\"id\": \"b\", \"fields\": {\"instruction\": \"caf\xc3\"}}\n"
                       "{\"id\": \"c\", \"fields\": {\"instruction\": \"cut\n"
                       "{\"id\": \"d\", \"fields\": {\"instruction\": \"ok\"},"
                       " \"suggestions\": {\"quality\": {\"value\": 9}}}\n"
                       "{\"id\": \"e\", \"fields\": {\"instruction\": \"ok\"}}";
    assert_int_equal(s_import(f, text, true, &st), JURY_OK);
    assert_int_equal(st.lines, 5);
    assert_int_equal(st.created, 2);
    assert_int_equal(st.rejected, 3);
    assert_int_equal(f->lines[0], 2);
    assert_string_equal(f->reasons[0], "invalid UTF-8 at byte 43 of the line");
    assert_int_equal(f->lines[1], 3);
    assert_string_equal(f->reasons[1], "truncated JSON: the line ends inside a value");
    assert_int_equal(f->lines[2], 4);
    assert_string_equal(f->reasons[2], "/suggestions/quality/value: 9 is not one of the rating "
                                       "values 1, 2, 3, 4, 5");
    assert_int_equal(s_counts(f).records, 2);
}

static void test_overlong_line_is_rejected_without_holding_it(void **state)
{
    fixture_t *f = *state;
    size_t big = JURY_IMPORT_LINE_MAX + 100;
    const char *head = "{\"id\": \"huge\", \"fields\": {\"instruction\": \"";
    const char *tail = "{\"id\": \"after\", \"fields\": {\"instruction\": \"ok\"}}\n";
    char *text = malloc(big + strlen(tail) + 2);
    memset(text, 'x', big);
    memcpy(text, head, strlen(head));
    text[big] = '\n';
    strcpy(text + big + 1, tail);
    jury_import_stats_t st;
    assert_int_equal(s_import(f, text, true, &st), JURY_OK);
    free(text);
    assert_int_equal(st.lines, 2);
    assert_int_equal(st.created, 1);
    assert_int_equal(st.rejected, 1);
    assert_int_equal(f->lines[0], 1);
    assert_string_equal(f->reasons[0], "line is longer than 16 MiB");
    assert_true(f->line_null[0]);
}

/* Appends n copies of c to the string at *p (grown with realloc). */
static void s_append_run(char **p, size_t *len, char c, size_t n)
{
    *p = realloc(*p, *len + n + 1);
    assert_non_null(*p);
    memset(*p + *len, c, n);
    *len += n;
    (*p)[*len] = '\0';
}

static void s_append(char **p, size_t *len, const char *s)
{
    size_t n = strlen(s);
    *p = realloc(*p, *len + n + 1);
    assert_non_null(*p);
    memcpy(*p + *len, s, n + 1);
    *len += n;
}

static void test_records_annotators_cannot_be_sent_are_rejected(void **state)
{
    fixture_t *f = *state;
    char *text = NULL;
    size_t len = 0;
    const size_t mib = (size_t)1 << 20;
    /* 1: a field one byte over the protocol's 1 MiB string limit. */
    s_append(&text, &len, "{\"id\": \"a\", \"fields\": {\"instruction\": \"");
    s_append_run(&text, &len, 'x', mib + 1);
    /* 2: exactly 1 MiB: sent. */
    s_append(&text, &len, "\"}}\n{\"id\": \"b\", \"fields\": {\"instruction\": \"");
    s_append_run(&text, &len, 'x', mib);
    /* 3: nine chat turns of 1 MiB: every string fits, the record does not fit one message. Encoded:
     * map(2) 1, "id" 3, "c" 2, "fields" 7, map(2) 1, "instruction" 12, "ok" 3, "history" 8,
     * array(9) 1, and per turn map(2) 1 + "role" 5 + "user" 5 + "content" 8 + str32 5 + 1 MiB. */
    s_append(&text, &len,
             "\"}}\n{\"id\": \"c\", \"fields\": {\"instruction\": \"ok\", \"history\": [");
    for (int i = 0; i < 9; i++) {
        s_append(&text, &len,
                 i ? ", {\"role\": \"user\", \"content\": \""
                   : "{\"role\": \"user\", \"content\": \"");
        s_append_run(&text, &len, 'y', mib);
        s_append(&text, &len, "\"}");
    }
    /* 4: a suggestion over the string limit: the answer's own limit says so first. */
    s_append(&text, &len,
             "]}}\n{\"id\": \"d\", \"fields\": {\"instruction\": \"ok\"}, "
             "\"suggestions\": {\"response\": {\"value\": \"");
    s_append_run(&text, &len, 'z', mib + 5);
    s_append(&text, &len, "\"}}}\n");
    jury_import_stats_t st;
    tu_write_file(f->file, text, len);
    free(text);
    jury_import_opts_t opts = {.skip_invalid = true, .problem = s_problem, .arg = f};
    f->nproblems = 0;
    assert_int_equal(jury_import_file(f->store, "d", f->file, &opts, &st), JURY_OK);
    assert_int_equal(st.lines, 4);
    assert_int_equal(st.created, 1);
    assert_int_equal(st.rejected, 3);
    assert_int_equal(f->nproblems, 3);
    assert_int_equal(f->lines[0], 1);
    assert_string_equal(f->reasons[0], "/fields/instruction: a string of 1048577 bytes; annotators "
                                       "can be sent strings of at most 1048576 bytes (protocol "
                                       "limit)");
    assert_int_equal(f->lines[1], 3);
    assert_string_equal(f->reasons[1], "/: the record takes 9437438 bytes encoded; a record sent "
                                       "to annotators takes at most 8384512 (one 8 MiB message)");
    assert_int_equal(f->lines[2], 4);
    assert_string_equal(f->reasons[2], "/suggestions/response/value: a text answer must be at "
                                       "most 65536 bytes, and this one has 1048581");
    assert_int_equal(s_counts(f).records, 1);
}

static void test_unknown_dataset_and_missing_file(void **state)
{
    fixture_t *f = *state;
    jury_import_stats_t st;
    tu_write_file(f->file, s_good, strlen(s_good));
    assert_int_equal(jury_import_file(f->store, "nope", f->file, NULL, &st), JURY_ENOTFOUND);
    char missing[320];
    snprintf(missing, sizeof missing, "%s/missing.jsonl", f->base);
    assert_int_equal(jury_import_file(f->store, "d", missing, NULL, &st), JURY_EIO);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(jury_import_file(f->store, "d", f->base, NULL, &st), JURY_EIO);
    assert_int_equal(errno, EISDIR);
    assert_int_equal(s_counts(f).records, 0);
}

static void test_records_without_id_get_uuids(void **state)
{
    fixture_t *f = *state;
    jury_import_stats_t st;
    const char *text = "{\"fields\": {\"instruction\": \"one\"}}\n"
                       "{\"fields\": {\"instruction\": \"one\"}}\n";
    assert_int_equal(s_import(f, text, false, &st), JURY_OK);
    assert_int_equal(st.created, 2); /* no id: each line is a new record */
    jury_txn_t *txn;
    assert_int_equal(jury_store_read(f->store, &txn), JURY_OK);
    const void *p;
    size_t n;
    uint64_t rid = ((uint64_t)f->ds << JURY_RECORD_SEQ_BITS) | 1;
    assert_int_equal(jury_store_record_get(txn, rid, &p, &n, NULL), JURY_OK);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, p, n, NULL), MSGPACK_UNPACK_SUCCESS);
    msgpack_object id = u.data.via.map.ptr[0].val;
    assert_int_equal(id.type, MSGPACK_OBJECT_STR);
    assert_int_equal(id.via.str.size, 36);
    assert_int_equal(id.via.str.ptr[14], '4'); /* UUID version 4 */
    uint64_t found;
    assert_int_equal(jury_store_record_find(txn, f->ds, id.via.str.ptr, 36, &found), JURY_OK);
    assert_int_equal(found, rid);
    msgpack_unpacked_destroy(&u);
    jury_txn_abort(&txn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_import_creates_records_and_responses, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_reimport_updates_and_keeps_responses, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_one_bad_line_imports_nothing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_skip_invalid_imports_the_rest, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_overlong_line_is_rejected_without_holding_it, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_records_annotators_cannot_be_sent_are_rejected,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_dataset_and_missing_file, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_records_without_id_get_uuids, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
