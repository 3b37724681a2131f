/* test_cli.c: the real `jury` binary end to end: dataset create/list/show/delete, import, status,
 * and their bad inputs. */
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

typedef struct {
    char base[256];  /* temporary directory */
    char store[300]; /* store directory inside it */
} fixture_t;

static int s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    tu_tmpdir(f->base, sizeof f->base);
    snprintf(f->store, sizeof f->store, "%s/store", f->base);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *f = *state;
    tu_rmrf(f->base);
    free(f);
    return 0;
}

/* Runs `jury --store STORE args... NULL` (up to 12 args) and returns its result. */
static tu_result_t s_jury(fixture_t *f, const char *stdin_data, ...)
{
    char *argv[16];
    int k = 0;
    argv[k++] = (char *)tu_env("JURY_BIN");
    argv[k++] = "--store";
    argv[k++] = f->store;
    va_list ap;
    va_start(ap, stdin_data);
    char *a;
    while ((a = va_arg(ap, char *)) != NULL && k < 15)
        argv[k++] = a;
    va_end(ap);
    argv[k] = NULL;
    return tu_run(argv, stdin_data);
}

static void s_path(char *out, size_t cap, const char *dir, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static void s_example(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/ops/examples/%s", tu_env("JURY_SOURCE_DIR"), name);
}

static void test_help(void **state)
{
    fixture_t *f = *state;
    tu_result_t r = s_jury(f, NULL, "--help", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "dataset create NAME --settings FILE"));
    assert_non_null(strstr(r.out, "import NAME FILE.jsonl"));
    assert_non_null(strstr(r.out, "status NAME [--json]"));
    tu_result_free(&r);
    const char *cmds[] = {"dataset", "import", "status"};
    for (int i = 0; i < 3; i++) {
        r = s_jury(f, NULL, cmds[i], "--help", NULL);
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(r.out, "usage: jury "));
        tu_result_free(&r);
    }
    r = s_jury(f, NULL, "frobnicate", NULL);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, "jury: unknown command 'frobnicate' (see jury --help)\n");
    tu_result_free(&r);
}

static void test_example_campaign(void **state)
{
    fixture_t *f = *state;
    char settings[512], records[512];
    s_example(settings, sizeof settings, "support-sft.settings.json");
    s_example(records, sizeof records, "support-sft.records.jsonl");

    tu_result_t r = s_jury(f, NULL, "dataset", "create", "support", "--settings", settings, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "created dataset support (2 questions, min_submitted 2)"));
    tu_result_free(&r);

    r = s_jury(f, NULL, "dataset", "create", "support", "--settings", settings, NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "dataset 'support' exists already"));
    tu_result_free(&r);

    r = s_jury(f, NULL, "import", "support", records, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "support: imported 12 records (12 new, 0 updated, 2 responses)"));
    tu_result_free(&r);

    /* alice's two imported responses carry the import's time: the median gap is 0 s. */
    r = s_jury(f, NULL, "status", "support", "--json", NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out,
                        "{\"dataset\": \"support\", \"records\": 12, \"pending\": 12, "
                        "\"completed\": 0, \"discarded\": 0, \"contested\": 0, \"review\": "
                        "{\"waiting\": 0, \"reviewed\": 0}, \"responses\": {\"submitted\": 2, "
                        "\"discarded\": 0, \"draft\": 0}, \"annotators\": {\"alice\": "
                        "{\"submitted\": 2, \"discarded\": 0, \"draft\": 0}}, \"live\": null, "
                        "\"agreement\": {}, \"annotators_quality\": [{\"annotator\": \"alice\", "
                        "\"submitted\": 2, \"discarded\": 0, \"draft\": 0, \"discard_rate\": 0, "
                        "\"agreement\": {\"quality\": null}, \"agreement_mean\": null, "
                        "\"median_seconds\": 0, \"gold\": null, \"state\": \"active\"}]}\n");
    tu_result_free(&r);

    /* show prints settings that create accepts again: a round trip. */
    r = s_jury(f, NULL, "dataset", "show", "support", NULL);
    assert_int_equal(r.status, 0);
    char copy[400];
    s_path(copy, sizeof copy, f->base, "shown.json");
    tu_write_file(copy, r.out, strlen(r.out));
    tu_result_free(&r);
    r = s_jury(f, NULL, "dataset", "create", "support-2", "--settings", copy, NULL);
    assert_int_equal(r.status, 0);
    tu_result_free(&r);

    r = s_jury(f, NULL, "dataset", "list", "--json", NULL);
    assert_int_equal(r.status, 0);
    cJSON *list = cJSON_Parse(r.out);
    assert_non_null(list);
    assert_int_equal(cJSON_GetArraySize(list), 2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "name")->valuestring,
                        "support");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "records")->valueint, 12);
    cJSON_Delete(list);
    tu_result_free(&r);

    r = s_jury(f, NULL, "dataset", "delete", "support", NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "add --yes to confirm"));
    tu_result_free(&r);
    r = s_jury(f, NULL, "dataset", "delete", "support", "--yes", NULL);
    assert_int_equal(r.status, 0);
    tu_result_free(&r);
    r = s_jury(f, NULL, "status", "support", NULL);
    assert_int_equal(r.status, 2);
    char want[600];
    snprintf(want, sizeof want,
             "jury: status: no dataset 'support' in %s (see jury dataset list)\n", f->store);
    assert_string_equal(r.err, want);
    tu_result_free(&r);
}

/* Converts Dolly-15k records to the example campaign: the instruction is the
 * field, the model's draft ("decoded") the suggestion for the response. */
static int s_convert_dolly(const char *in_path, const char *out_path, int *with_suggestion)
{
    size_t len;
    char *text = tu_read_file(in_path, &len);
    assert_non_null(text);
    FILE *out = fopen(out_path, "w");
    assert_non_null(out);
    int n = 0;
    *with_suggestion = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *src = cJSON_Parse(line);
        assert_non_null(src);
        cJSON *rec = cJSON_CreateObject();
        char id[32];
        snprintf(id, sizeof id, "dolly-%d", cJSON_GetObjectItem(src, "id")->valueint);
        cJSON_AddStringToObject(rec, "id", id);
        cJSON *fields = cJSON_AddObjectToObject(rec, "fields");
        cJSON_AddStringToObject(fields, "instruction",
                                cJSON_GetObjectItem(src, "instruction")->valuestring);
        const char *draft = cJSON_GetObjectItem(src, "decoded")->valuestring;
        /* A blank draft is no suggestion: five Dolly lines have one. */
        if (strspn(draft, " \t\n") != strlen(draft)) {
            cJSON *sugg = cJSON_AddObjectToObject(rec, "suggestions");
            cJSON *resp = cJSON_AddObjectToObject(sugg, "response");
            cJSON_AddStringToObject(resp, "value", draft);
            cJSON_AddStringToObject(resp, "agent", "flan-t5-base");
            (*with_suggestion)++;
        }
        char *json = cJSON_PrintUnformatted(rec);
        fprintf(out, "%s\n", json);
        free(json);
        cJSON_Delete(rec);
        cJSON_Delete(src);
        n++;
    }
    fclose(out);
    free(text);
    return n;
}

static void test_dolly_import(void **state)
{
    fixture_t *f = *state;
    char settings[512], src[512], dst[400];
    s_example(settings, sizeof settings, "support-sft.settings.json");
    snprintf(src, sizeof src, "%s/sft/dolly15k_first6400_with_flan-t5-base_outputs.jsonl",
             tu_env("JURY_SHARED_DATA"));
    s_path(dst, sizeof dst, f->base, "dolly.jsonl");
    int with_suggestion;
    assert_int_equal(s_convert_dolly(src, dst, &with_suggestion), 6400);
    assert_int_equal(with_suggestion, 6395);

    tu_result_t r = s_jury(f, NULL, "dataset", "create", "dolly", "--settings", settings, NULL);
    assert_int_equal(r.status, 0);
    tu_result_free(&r);
    r = s_jury(f, NULL, "import", "dolly", dst, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(
        strstr(r.out, "dolly: imported 6400 records (6400 new, 0 updated, 0 responses)"));
    assert_non_null(strstr(r.out, "0 rejected"));
    tu_result_free(&r);
    /* Importing the same file again is an idempotent upsert. */
    r = s_jury(f, NULL, "import", "dolly", dst, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(
        strstr(r.out, "dolly: imported 6400 records (0 new, 6400 updated, 0 responses)"));
    tu_result_free(&r);
    r = s_jury(f, NULL, "status", "dolly", "--json", NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out,
                        "{\"dataset\": \"dolly\", \"records\": 6400, \"pending\": 6400, "
                        "\"completed\": 0, \"discarded\": 0, \"contested\": 0, \"review\": "
                        "{\"waiting\": 0, \"reviewed\": 0}, \"responses\": {\"submitted\": 0, "
                        "\"discarded\": 0, \"draft\": 0}, \"annotators\": {}, \"live\": null, "
                        "\"agreement\": {}, \"annotators_quality\": []}\n");
    tu_result_free(&r);
}

static void test_bad_settings_write_nothing(void **state)
{
    fixture_t *f = *state;
    char path[400];
    s_path(path, sizeof path, f->base, "settings.json");
    const char *bad = "{\"fields\": [{\"name\": \"text\", \"type\": \"text\"}],"
                      " \"questions\": [{\"name\": \"label\", \"type\": \"label_selection\","
                      " \"labels\": [\"yes\", \"no\"]}, {\"name\": \"stars\", \"type\": \"rating\","
                      " \"values\": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]}]}";
    tu_write_file(path, bad, strlen(bad));
    tu_result_t r = s_jury(f, NULL, "dataset", "create", "d", "--settings", path, NULL);
    assert_int_equal(r.status, 2);
    char want[600];
    snprintf(want, sizeof want,
             "jury: %s: /questions/1/values: rating values must be 2 to 11 unique integers "
             "within 0..10\n",
             path);
    assert_string_equal(r.err, want);
    tu_result_free(&r);
    /* Nothing was written: not even the store directory. */
    struct stat st;
    assert_int_equal(stat(f->store, &st), -1);

    tu_write_file(path, "{\"fields\": [", 12);
    r = s_jury(f, NULL, "dataset", "create", "d", "--settings", path, NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "settings.json: /: "));
    tu_result_free(&r);

    r = s_jury(f, NULL, "dataset", "create", "bad name!", "--settings", path, NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "invalid name 'bad name!'"));
    tu_result_free(&r);

    r = s_jury(f, NULL, "dataset", "create", "d", "--settings", "/nonexistent/s.json", NULL);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, "jury: /nonexistent/s.json: No such file or directory\n");
    tu_result_free(&r);
}

static void test_bad_import_changes_nothing(void **state)
{
    fixture_t *f = *state;
    char settings[512], path[400], rejects[400];
    s_example(settings, sizeof settings, "support-sft.settings.json");
    s_path(path, sizeof path, f->base, "in.jsonl");
    s_path(rejects, sizeof rejects, f->base, "rejects.jsonl");
    tu_result_t r = s_jury(f, NULL, "dataset", "create", "s", "--settings", settings, NULL);
    assert_int_equal(r.status, 0);
    tu_result_free(&r);
    const char *first =
        "{\"id\": \"t1\", \"fields\": {\"instruction\": \"My card was charged twice\"}}\n";
    tu_write_file(path, first, strlen(first));
    r = s_jury(f, NULL, "import", "s", path, NULL);
    assert_int_equal(r.status, 0);
    tu_result_free(&r);

    const char *bad = "{\"id\": \"t1\", \"fields\": {\"instruction\": \"changed\"}}\n"
                      "{\"id\": \"t2\", \"fields\": {\"instruction\": \"bad \xe2\x82\"}}\n"
                      "{\"id\": \"t3\", \"fields\": {\"instruction\": \"cut\n";
    tu_write_file(path, bad, strlen(bad));
    r = s_jury(f, NULL, "import", "s", path, NULL);
    assert_int_equal(r.status, 2);
    char want[1200];
    snprintf(want, sizeof want,
             "%s:2: invalid UTF-8 at byte 45 of the line\n"
             "%s:3: truncated JSON: the line ends inside a value\n"
             "jury: import: 2 of 3 lines are invalid; nothing was imported (fix them, or use "
             "--skip-invalid to import the valid lines)\n",
             path, path);
    assert_string_equal(r.err, want);
    tu_result_free(&r);
    r = s_jury(f, NULL, "status", "s", "--json", NULL);
    assert_non_null(strstr(r.out, "\"records\": 1,"));
    tu_result_free(&r);

    r = s_jury(f, NULL, "import", "s", path, "--skip-invalid", "--rejects", rejects, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "s: imported 1 records (0 new, 1 updated, 0 responses)"));
    assert_non_null(strstr(r.out, "2 rejected"));
    tu_result_free(&r);
    char *rej = tu_read_file(rejects, NULL);
    assert_string_equal(rej, "{\"line\": 2, \"error\": \"invalid UTF-8 at byte 45 of the line\", "
                             "\"text\": \"{\\\"id\\\": \\\"t2\\\", \\\"fields\\\": "
                             "{\\\"instruction\\\": \\\"bad \xef\xbf\xbd\xef\xbf\xbd\\\"}}\"}\n"
                             "{\"line\": 3, \"error\": \"truncated JSON: the line ends inside a "
                             "value\", \"text\": \"{\\\"id\\\": \\\"t3\\\", \\\"fields\\\": "
                             "{\\\"instruction\\\": \\\"cut\"}\n");
    free(rej);

    r = s_jury(f, NULL, "import", "nope", path, NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "jury: import: no dataset 'nope' in "));
    tu_result_free(&r);

    /* Standard input works too. */
    r = s_jury(f, "{\"id\": \"t9\", \"fields\": {\"instruction\": \"from stdin\"}}\n", "import",
               "s", "-", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "s: imported 1 records (1 new, 0 updated, 0 responses)"));
    tu_result_free(&r);
}

static void test_demo_runs_a_whole_campaign(void **state)
{
    fixture_t *f = *state;
    char dir[400], status[500];
    s_path(dir, sizeof dir, f->base, "demo");
    tu_result_t r = s_jury(f, NULL, "demo", "--dir", dir, NULL);
    assert_int_equal(r.status, 0);
    /* 200 records, 3 simulated annotators each; the five bots' discards free
     * slots for others, so the submitted count is exactly 3 per record. */
    assert_non_null(strstr(r.out, "jury demo: a support-reply campaign of 200 records"));
    assert_non_null(strstr(r.out, "records    200 total, 200 completed, 0 set aside, 0 pending"));
    assert_non_null(strstr(r.out, "responses  600 submitted, "));
    assert_non_null(strstr(r.out, "  agreement  Krippendorff's alpha with its 95% interval"));
    assert_non_null(strstr(r.out, "    quality    alpha "));
    /* The campaign ends with the training files: every accepted record gives one sft line
     * (each has a corrected reply), and the decisions account for all 200 records. */
    const char *cons = strstr(r.out, "  consolidated  ");
    assert_non_null(cons);
    int accepted = -1, rejected = -1;
    assert_int_equal(sscanf(cons, "  consolidated  %d accepted, %d rejected", &accepted, &rejected),
                     2);
    assert_int_equal(accepted + rejected, 200);
    assert_true(accepted > 150);
    char sft[600], dpo[600];
    snprintf(sft, sizeof sft, "%s/sft.jsonl", dir);
    snprintf(dpo, sizeof dpo, "%s/dpo.jsonl", dir);
    char expect_line[700];
    snprintf(expect_line, sizeof expect_line, "  sft        %s (%d lines: ", sft, accepted);
    assert_non_null(strstr(r.out, expect_line));
    const char *files[] = {sft, dpo};
    const char *keys[][3] = {{"prompt", "completion", NULL}, {"prompt", "chosen", "rejected"}};
    for (int fi = 0; fi < 2; fi++) {
        char *body = tu_read_file(files[fi], NULL);
        assert_non_null(body);
        int lines = 0;
        for (char *line = strtok(body, "\n"); line; line = strtok(NULL, "\n"), lines++) {
            cJSON *o = cJSON_Parse(line);
            assert_non_null(o);
            const cJSON *k = o->child;
            for (int ki = 0; ki < 3 && keys[fi][ki]; ki++, k = k->next) {
                assert_non_null(k);
                assert_string_equal(k->string, keys[fi][ki]);
                assert_true(cJSON_IsString(k) && k->valuestring[0] != '\0');
            }
            assert_null(k);
            if (fi == 1)
                assert_string_not_equal(cJSON_GetObjectItem(o, "chosen")->valuestring,
                                        cJSON_GetObjectItem(o, "rejected")->valuestring);
            cJSON_Delete(o);
        }
        if (fi == 0)
            assert_int_equal(lines, accepted);
        free(body);
    }
    const char *bots[] = {"ana", "ben", "chen", "dana", "eli"};
    for (int i = 0; i < 5; i++) {
        char line[32];
        snprintf(line, sizeof line, "  %-8s", bots[i]);
        assert_non_null(strstr(r.out, line));
    }
    tu_result_free(&r);
    /* The store agrees, and nothing is left running: the coordinator removed
     * its live status file when it stopped, so status reports no live coordinator. */
    s_path(status, sizeof status, dir, "store");
    char *argv[] = {
        (char *)tu_env("JURY_BIN"), "--store", status, "status", "support-demo", "--json", NULL};
    r = tu_run(argv, NULL);
    assert_int_equal(r.status, 0);
    cJSON *st = cJSON_Parse(r.out);
    assert_non_null(st);
    assert_int_equal(cJSON_GetObjectItem(st, "completed")->valueint, 200);
    assert_int_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(st, "responses"), "submitted")->valueint, 600);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(st, "live")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(st, "annotators")), 5);
    /* The quality table has the five bots by name, their 600 submitted responses, and each one's
     * agreement with the others on the rating question. */
    cJSON *rows = cJSON_GetObjectItem(st, "annotators_quality");
    assert_int_equal(cJSON_GetArraySize(rows), 5);
    int submitted = 0;
    for (int i = 0; i < 5; i++) {
        cJSON *row = cJSON_GetArrayItem(rows, i);
        assert_string_equal(cJSON_GetObjectItem(row, "annotator")->valuestring, bots[i]);
        assert_string_equal(cJSON_GetObjectItem(row, "state")->valuestring, "active");
        assert_true(cJSON_IsNull(cJSON_GetObjectItem(row, "gold")));
        submitted += cJSON_GetObjectItem(row, "submitted")->valueint;
        cJSON *agree = cJSON_GetObjectItem(cJSON_GetObjectItem(row, "agreement"), "quality");
        assert_true(cJSON_IsNumber(agree) && agree->valuedouble > 0 && agree->valuedouble <= 1);
        assert_true(cJSON_IsNumber(cJSON_GetObjectItem(row, "median_seconds")));
    }
    assert_int_equal(submitted, 600);
    /* Live agreement: every completed record added its ratings to the quality
     * question's coincidence matrix as it completed. */
    cJSON *quality = cJSON_GetObjectItem(cJSON_GetObjectItem(st, "agreement"), "quality");
    assert_non_null(quality);
    assert_int_equal(cJSON_GetObjectItem(quality, "records")->valueint, 200);
    assert_string_equal(cJSON_GetObjectItem(quality, "level")->valuestring, "interval");
    cJSON *alpha = cJSON_GetObjectItem(quality, "alpha");
    assert_true(cJSON_IsNumber(alpha) && alpha->valuedouble > 0.3 && alpha->valuedouble <= 1.0);
    /* Two independent paths agree to the last printed digit: the coordinator's
     * running coincidence matrix, and `jury agreement` reading every response. */
    char report[600];
    snprintf(report, sizeof report, "%s/agreement.json", dir);
    char *text = tu_read_file(report, NULL);
    assert_non_null(text);
    cJSON *rep = cJSON_Parse(text);
    free(text);
    cJSON *rq = cJSON_GetObjectItem(cJSON_GetObjectItem(rep, "questions"), "quality");
    assert_non_null(rq);
    char live_alpha[32], report_alpha[32];
    snprintf(live_alpha, sizeof live_alpha, "%.6f", alpha->valuedouble);
    snprintf(report_alpha, sizeof report_alpha, "%.6f",
             cJSON_GetObjectItem(rq, "alpha")->valuedouble);
    assert_string_equal(live_alpha, report_alpha);
    /* `jury agreement` carries the same quality table, whose agreement with others is the
     * report's own per-annotator agreement. */
    assert_true(cJSON_Compare(cJSON_GetObjectItem(rep, "annotators_quality"), rows, 1));
    for (int i = 0; i < 5; i++) {
        cJSON *row = cJSON_GetArrayItem(rows, i);
        cJSON *per = cJSON_GetObjectItem(cJSON_GetObjectItem(rq, "annotators"), bots[i]);
        assert_float_equal(
            cJSON_GetObjectItem(cJSON_GetObjectItem(row, "agreement"), "quality")->valuedouble,
            cJSON_GetObjectItem(per, "agreement")->valuedouble, 0);
    }
    cJSON_Delete(rep);
    snprintf(report, sizeof report, "%s/agreement.html", dir);
    text = tu_read_file(report, NULL);
    assert_non_null(text);
    assert_non_null(strstr(text, "<svg"));
    assert_null(strstr(text, "<script"));
    free(text);
    cJSON_Delete(st);
    tu_result_free(&r);
    char path[600];
    snprintf(path, sizeof path, "%s/store/serve.status", dir);
    assert_int_equal(access(path, F_OK), -1);
    /* A second demo into the same directory is refused before anything happens. */
    r = s_jury(f, NULL, "demo", "--dir", dir, NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "(choose another --dir)"));
    tu_result_free(&r);
}

static void test_store_problems(void **state)
{
    fixture_t *f = *state;
    tu_result_t r = s_jury(f, NULL, "status", "x", NULL);
    assert_int_equal(r.status, 2);
    char want[600];
    snprintf(want, sizeof want,
             "jury: no jury store at %s (create a dataset first, or pass --store DIR or set "
             "JURY_STORE)\n",
             f->store);
    assert_string_equal(r.err, want);
    tu_result_free(&r);
    /* A file where the store directory should be. */
    tu_write_file(f->store, "x", 1);
    r = s_jury(f, NULL, "dataset", "list", NULL);
    assert_int_equal(r.status, 2);
    snprintf(want, sizeof want, "jury: store %s is not a directory holding a jury store\n",
             f->store);
    assert_string_equal(r.err, want);
    tu_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_help, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_example_campaign, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_dolly_import, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_settings_write_nothing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_import_changes_nothing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_demo_runs_a_whole_campaign, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_store_problems, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
