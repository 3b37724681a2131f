/* test_keys.c: CURVE keys: Z85 against ZeroMQ RFC 32, keypairs, and key files on real files (modes,
 * bad lines, atomic writes). */
#include "testutil.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sodium.h>

#include "jury_keys.h"

/*
 * Known keys. The Z85 vector is ZeroMQ RFC 32's (rfc.zeromq.org/spec/32):
 * the 8 bytes 86 4F D2 6F B5 59 F7 5B encode as "HelloWorld". A key of those
 * bytes four times is therefore "HelloWorld" four times. The keypairs are
 * libzmq's CURVE test keys (tests/testutil_security.cpp, also in zmq_curve(7)
 * style examples); pyzmq's zmq.curve_public gives the same public keys.
 */
static const unsigned char s_hello[8] = {0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B};
static const char s_client_public[] = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
static const char s_client_secret[] = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";
static const char s_server_public[] = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
static const char s_server_secret[] = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";

typedef struct {
    char dir[256]; /* a fresh directory for key files */
} fixture_t;

static int s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    tu_tmpdir(f->dir, sizeof f->dir);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *f = *state;
    tu_rmrf(f->dir);
    free(f);
    return 0;
}

/* A keypair holding the given Z85 keys, in guarded memory like every keypair. */
static jury_keypair_t *s_known_keypair(const char *pub, const char *sec)
{
    jury_keypair_t *kp = jury_keypair_new();
    assert_non_null(kp);
    assert_true(jury_key_from_z85(pub, kp->public_key));
    assert_true(jury_key_from_z85(sec, kp->secret_key));
    return kp;
}

static mode_t s_mode(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

/* Entries in dir other than . and .. */
static int s_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

/* Writes text to dir/name with mode 0600 and returns the path in a static buffer. */
static const char *s_file(const fixture_t *f, const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    unlink(path);
    tu_write_file(path, text, strlen(text));
    assert_int_equal(chmod(path, 0600), 0);
    return path;
}

/* ---- Z85 ---- */

static void test_z85_rfc32_vector(void **state)
{
    (void)state;
    unsigned char key[JURY_KEY_BYTES];
    for (int i = 0; i < 4; i++)
        memcpy(key + 8 * i, s_hello, 8);
    char z[JURY_KEY_Z85 + 1];
    jury_key_to_z85(key, z);
    assert_string_equal(z, "HelloWorldHelloWorldHelloWorldHelloWorld");

    unsigned char back[JURY_KEY_BYTES];
    assert_true(jury_key_from_z85("HelloWorldHelloWorldHelloWorldHelloWorld", back));
    assert_memory_equal(back, key, JURY_KEY_BYTES);
}

static void test_z85_round_trips(void **state)
{
    (void)state;
    unsigned char key[JURY_KEY_BYTES], back[JURY_KEY_BYTES];
    char z[JURY_KEY_Z85 + 1];

    memset(key, 0, sizeof key);
    jury_key_to_z85(key, z);
    assert_string_equal(z, "0000000000000000000000000000000000000000");
    /* 0xFFFFFFFF = 2^32 - 1 is "%nSc0" in Z85 (the largest group). */
    memset(key, 0xFF, sizeof key);
    jury_key_to_z85(key, z);
    assert_string_equal(z, "%nSc0%nSc0%nSc0%nSc0%nSc0%nSc0%nSc0%nSc0");
    assert_true(jury_key_from_z85(z, back));
    assert_memory_equal(back, key, sizeof key);

    for (int i = 0; i < 2000; i++) {
        randombytes_buf(key, sizeof key);
        jury_key_to_z85(key, z);
        assert_int_equal(strlen(z), JURY_KEY_Z85);
        assert_true(jury_key_from_z85(z, back));
        assert_memory_equal(back, key, sizeof key);
    }
}

static void test_z85_rejects_what_is_not_a_key(void **state)
{
    (void)state;
    unsigned char key[JURY_KEY_BYTES];
    assert_false(jury_key_from_z85(NULL, key));
    assert_false(jury_key_from_z85("", key));
    assert_false(jury_key_from_z85("HelloWorld", key));
    /* 39 and 41 characters. */
    assert_false(jury_key_from_z85("HelloWorldHelloWorldHelloWorldHelloWorl", key));
    assert_false(jury_key_from_z85("HelloWorldHelloWorldHelloWorldHelloWorld0", key));
    /* Characters outside the alphabet: space, quote, comma, backslash, tilde, a byte >= 0x80. */
    const char *bad[] = {
        "HelloWorldHelloWorld HelloWorldHelloWorl", "HelloWorldHelloWorld\"HelloWorldHelloWorl",
        "HelloWorldHelloWorld,HelloWorldHelloWorl", "HelloWorldHelloWorld\\HelloWorldHelloWorl",
        "HelloWorldHelloWorld~HelloWorldHelloWorl", "HelloWorldHelloWorld\xc3HelloWorldHelloWorl"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(key, 0xAA, sizeof key);
        assert_false(jury_key_from_z85(bad[i], key));
        /* Nothing half-decoded is left behind. */
        unsigned char zero[JURY_KEY_BYTES] = {0};
        assert_memory_equal(key, zero, sizeof key);
    }
    /* "%nSc1" is 2^32: five digits that no four bytes give. */
    assert_false(jury_key_from_z85("%nSc1%nSc0%nSc0%nSc0%nSc0%nSc0%nSc0%nSc0", key));
    assert_false(jury_key_from_z85("#####00000000000000000000000000000000000", key));
}

/* ---- keypairs ---- */

static void test_libzmq_test_keys_are_keypairs(void **state)
{
    (void)state;
    const char *pairs[2][2] = {{s_client_public, s_client_secret},
                               {s_server_public, s_server_secret}};
    for (int i = 0; i < 2; i++) {
        jury_keypair_t *kp = s_known_keypair(pairs[i][0], pairs[i][1]);
        unsigned char derived[JURY_KEY_BYTES];
        assert_int_equal(crypto_scalarmult_base(derived, kp->secret_key), 0);
        assert_memory_equal(derived, kp->public_key, JURY_KEY_BYTES);
        char z[JURY_KEY_Z85 + 1];
        jury_key_to_z85(kp->secret_key, z);
        assert_string_equal(z, pairs[i][1]);
        jury_keypair_destroy(&kp);
    }
}

static void test_keypair_new(void **state)
{
    (void)state;
    jury_keypair_t *a = jury_keypair_new(), *b = jury_keypair_new();
    assert_non_null(a);
    assert_non_null(b);
    unsigned char derived[JURY_KEY_BYTES];
    assert_int_equal(crypto_scalarmult_base(derived, a->secret_key), 0);
    assert_memory_equal(derived, a->public_key, JURY_KEY_BYTES);
    assert_int_equal(crypto_scalarmult_base(derived, b->secret_key), 0);
    assert_memory_equal(derived, b->public_key, JURY_KEY_BYTES);
    assert_memory_not_equal(a->public_key, b->public_key, JURY_KEY_BYTES);
    assert_memory_not_equal(a->secret_key, b->secret_key, JURY_KEY_BYTES);
    jury_keypair_destroy(&a);
    assert_null(a);
    jury_keypair_destroy(&a);
    jury_keypair_destroy(NULL);
    jury_keypair_destroy(&b);
}

/* ---- key files ---- */

static void test_coordinator_file_round_trip(void **state)
{
    fixture_t *f = *state;
    char path[512];
    snprintf(path, sizeof path, "%s/coordinator.key", f->dir);
    jury_keyfile_t kf = {.keys = s_known_keypair(s_server_public, s_server_secret)};
    assert_int_equal(jury_keyfile_write(path, &kf, false), JURY_OK);
    assert_int_equal(s_mode(path), 0600);
    /* The exact text: the format is a contract with people who read and edit these files. */
    char *text = tu_read_file(path, NULL);
    assert_string_equal(text, "# jury coordinator key file: keep it secret (mode 0600)\n"
                              "public-key = rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\n"
                              "secret-key = JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6\n");
    free(text);

    jury_keyfile_t got;
    char err[256];
    assert_int_equal(jury_keyfile_read(path, &got, err, sizeof err), JURY_OK);
    assert_non_null(got.keys);
    assert_memory_equal(got.keys->public_key, kf.keys->public_key, JURY_KEY_BYTES);
    assert_memory_equal(got.keys->secret_key, kf.keys->secret_key, JURY_KEY_BYTES);
    assert_memory_equal(got.public_key, kf.keys->public_key, JURY_KEY_BYTES);
    assert_string_equal(got.annotator, "");
    assert_false(got.has_coordinator_key);
    assert_string_equal(got.endpoint, "");
    jury_keyfile_clear(&got);
    assert_null(got.keys);
    jury_keyfile_clear(&got);
    jury_keyfile_clear(&kf);
    assert_int_equal(s_entries(f->dir), 1);
}

static void test_annotator_file_round_trip(void **state)
{
    fixture_t *f = *state;
    char path[512];
    snprintf(path, sizeof path, "%s/ana.key", f->dir);
    jury_keyfile_t kf = {.keys = s_known_keypair(s_client_public, s_client_secret),
                         .has_coordinator_key = true};
    snprintf(kf.annotator, sizeof kf.annotator, "ana");
    snprintf(kf.endpoint, sizeof kf.endpoint, "tcp://coord.example:5555");
    assert_true(jury_key_from_z85(s_server_public, kf.coordinator_key));
    assert_int_equal(jury_keyfile_write(path, &kf, false), JURY_OK);
    assert_int_equal(s_mode(path), 0600);
    char *text = tu_read_file(path, NULL);
    assert_string_equal(text, "# jury annotator key file: keep it secret (mode 0600)\n"
                              "annotator = ana\n"
                              "public-key = Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID\n"
                              "secret-key = D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs\n"
                              "coordinator-key = rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\n"
                              "endpoint = tcp://coord.example:5555\n");
    free(text);

    jury_keyfile_t got;
    char err[256];
    assert_int_equal(jury_keyfile_read(path, &got, err, sizeof err), JURY_OK);
    assert_string_equal(got.annotator, "ana");
    assert_string_equal(got.endpoint, "tcp://coord.example:5555");
    assert_true(got.has_coordinator_key);
    assert_memory_equal(got.coordinator_key, kf.coordinator_key, JURY_KEY_BYTES);
    assert_memory_equal(got.keys->secret_key, kf.keys->secret_key, JURY_KEY_BYTES);
    assert_memory_equal(got.public_key, kf.keys->public_key, JURY_KEY_BYTES);
    jury_keyfile_clear(&got);
    jury_keyfile_clear(&kf);
}

static void test_public_only_file(void **state)
{
    fixture_t *f = *state;
    char path[512];
    snprintf(path, sizeof path, "%s/coordinator.pub", f->dir);
    jury_keyfile_t kf = {0};
    assert_true(jury_key_from_z85(s_server_public, kf.public_key));
    assert_int_equal(jury_keyfile_write(path, &kf, false), JURY_OK);
    /* Nothing secret in it: readable by all, and readable back at that mode. */
    assert_int_equal(s_mode(path), 0644);
    char *text = tu_read_file(path, NULL);
    assert_string_equal(text, "# jury public key: safe to share\n"
                              "public-key = rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\n");
    free(text);
    jury_keyfile_t got;
    char err[256];
    assert_int_equal(jury_keyfile_read(path, &got, err, sizeof err), JURY_OK);
    assert_null(got.keys);
    assert_memory_equal(got.public_key, kf.public_key, JURY_KEY_BYTES);
    jury_keyfile_clear(&got);
}

static void test_readable_secret_file_is_refused(void **state)
{
    fixture_t *f = *state;
    char path[512];
    snprintf(path, sizeof path, "%s/coordinator.key", f->dir);
    jury_keyfile_t kf = {.keys = jury_keypair_new()};
    assert_int_equal(jury_keyfile_write(path, &kf, false), JURY_OK);
    jury_keyfile_clear(&kf);

    const mode_t modes[] = {0644, 0640, 0604, 0660, 0700 | 0004};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        assert_int_equal(chmod(path, modes[i]), 0);
        jury_keyfile_t got;
        char err[1024], want[600];
        assert_int_equal(jury_keyfile_read(path, &got, err, sizeof err), JURY_EPERM);
        assert_null(got.keys);
        snprintf(want, sizeof want, "chmod 600 %s", path);
        assert_non_null(strstr(err, want));
        assert_non_null(strstr(err, "group or others"));
    }
    /* Fixed as the message says, it reads. */
    assert_int_equal(chmod(path, 0600), 0);
    jury_keyfile_t got;
    char err[256];
    assert_int_equal(jury_keyfile_read(path, &got, err, sizeof err), JURY_OK);
    assert_non_null(got.keys);
    jury_keyfile_clear(&got);
    /* 0400 is private too. */
    assert_int_equal(chmod(path, 0400), 0);
    assert_int_equal(jury_keyfile_read(path, &got, err, sizeof err), JURY_OK);
    jury_keyfile_clear(&got);
}

/* Reads text as a key file; returns the error and the message in err. */
static jury_err s_read_text(const fixture_t *f, const char *text, char *err, size_t errlen)
{
    const char *path = s_file(f, "k.key", text);
    jury_keyfile_t got;
    jury_err rc = jury_keyfile_read(path, &got, err, errlen);
    if (rc != JURY_OK) {
        assert_null(got.keys);
        assert_string_equal(got.annotator, "");
    }
    jury_keyfile_clear(&got);
    return rc;
}

/* err must be "DIR/k.key:" followed by tail. */
static void s_expect_err(const fixture_t *f, const char *err, const char *tail)
{
    char want[1024];
    snprintf(want, sizeof want, "%s/k.key%s", f->dir, tail);
    assert_string_equal(err, want);
}

static void test_bad_lines_name_their_number(void **state)
{
    fixture_t *f = *state;
    char err[512];
    const char *pub = "public-key = Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID\n";
    char text[1024];

    /* Comments, blank lines, CRLF and blanks around '=' are fine. */
    snprintf(text, sizeof text, "# a comment\r\n\r\n   %s  annotator\t=\tana  \r\n", pub);
    assert_int_equal(s_read_text(f, text, err, sizeof err), JURY_OK);

    snprintf(text, sizeof text, "# key\n%scolour = blue\n", pub);
    assert_int_equal(s_read_text(f, text, err, sizeof err), JURY_EINVAL);
    s_expect_err(f, err,
                 ":3: unknown name \"colour\" (known: annotator, public-key, secret-key, "
                 "coordinator-key, endpoint)");

    /* Names are lower case. */
    assert_int_equal(
        s_read_text(f, "Public-Key = Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID\n", err, sizeof err),
        JURY_EINVAL);
    assert_non_null(strstr(err, ":1: unknown name \"Public-Key\""));

    assert_int_equal(s_read_text(f, "\npublic-key = HelloWorld\n", err, sizeof err), JURY_EINVAL);
    s_expect_err(f, err, ":2: public-key: not a key (40 characters of Z85)");

    snprintf(text, sizeof text, "%scoordinator-key = HelloWorld,elloWorldHelloWorldHelloWorld\n",
             pub);
    assert_int_equal(s_read_text(f, text, err, sizeof err), JURY_EINVAL);
    s_expect_err(f, err, ":2: coordinator-key: not a key (40 characters of Z85)");

    /* A bad secret is not quoted back. */
    snprintf(text, sizeof text, "%ssecret-key = sEcReT-sEcReT\n", pub);
    assert_int_equal(s_read_text(f, text, err, sizeof err), JURY_EINVAL);
    s_expect_err(f, err, ":2: secret-key: not a key (40 characters of Z85)");
    assert_null(strstr(err, "sEcReT"));

    snprintf(text, sizeof text, "%sannotator = a\n%s", pub, pub);
    assert_int_equal(s_read_text(f, text, err, sizeof err), JURY_EINVAL);
    s_expect_err(f, err, ":3: duplicate public-key (first on line 1)");

    assert_int_equal(s_read_text(f, "annotator ana\n", err, sizeof err), JURY_EINVAL);
    s_expect_err(f, err, ":1: expected \"name = value\"");

    snprintf(text, sizeof text, "%sannotator =\n", pub);
    assert_int_equal(s_read_text(f, text, err, sizeof err), JURY_EINVAL);
    s_expect_err(f, err, ":2: annotator: must be 1 to 200 printable bytes");

    assert_int_equal(s_read_text(f, "annotator = ana\n", err, sizeof err), JURY_EINVAL);
    s_expect_err(f, err, ": no public-key line: not a jury key file");

    /* A secret that does not give the public key next to it. */
    snprintf(text, sizeof text, "%ssecret-key = %s\n", pub, s_server_secret);
    assert_int_equal(s_read_text(f, text, err, sizeof err), JURY_EINVAL);
    s_expect_err(f, err, ":1: public-key does not belong to the secret-key (line 2)");

    /* Binary junk. */
    const char *path = s_file(f, "k.key", "x");
    tu_write_file(path, "public-key\0=", 12);
    jury_keyfile_t got;
    assert_int_equal(jury_keyfile_read(path, &got, err, sizeof err), JURY_EINVAL);
    s_expect_err(f, err, ": not a key file (binary data)");
}

static void test_missing_file(void **state)
{
    fixture_t *f = *state;
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/none.key", f->dir);
    jury_keyfile_t got;
    assert_int_equal(jury_keyfile_read(path, &got, err, sizeof err), JURY_ENOTFOUND);
    assert_non_null(strstr(err, "none.key"));
    assert_int_equal(jury_keyfile_read(f->dir, &got, err, sizeof err), JURY_EINVAL);
    assert_non_null(strstr(err, "not a regular file"));
}

static void test_write_refuses_to_overwrite(void **state)
{
    fixture_t *f = *state;
    char path[512];
    snprintf(path, sizeof path, "%s/ana.key", f->dir);
    jury_keyfile_t first = {.keys = jury_keypair_new()};
    jury_keyfile_t second = {.keys = jury_keypair_new()};
    snprintf(first.annotator, sizeof first.annotator, "ana");
    snprintf(second.annotator, sizeof second.annotator, "ana");
    assert_int_equal(jury_keyfile_write(path, &first, false), JURY_OK);
    assert_int_equal(jury_keyfile_write(path, &second, false), JURY_EEXIST);
    /* The first file is intact and no temporary file is left. */
    assert_int_equal(s_entries(f->dir), 1);
    jury_keyfile_t got;
    char err[256];
    assert_int_equal(jury_keyfile_read(path, &got, err, sizeof err), JURY_OK);
    assert_memory_equal(got.keys->secret_key, first.keys->secret_key, JURY_KEY_BYTES);
    jury_keyfile_clear(&got);

    /* With overwrite, the file is replaced whole, still private. */
    assert_int_equal(jury_keyfile_write(path, &second, true), JURY_OK);
    assert_int_equal(s_entries(f->dir), 1);
    assert_int_equal(s_mode(path), 0600);
    assert_int_equal(jury_keyfile_read(path, &got, err, sizeof err), JURY_OK);
    assert_memory_equal(got.keys->secret_key, second.keys->secret_key, JURY_KEY_BYTES);
    jury_keyfile_clear(&got);
    jury_keyfile_clear(&first);
    jury_keyfile_clear(&second);
}

static void test_write_rejects_what_would_not_read_back(void **state)
{
    fixture_t *f = *state;
    char path[512];
    snprintf(path, sizeof path, "%s/x.key", f->dir);
    jury_keyfile_t kf = {.keys = jury_keypair_new()};
    snprintf(kf.annotator, sizeof kf.annotator, "ana\nsecret-key = x");
    assert_int_equal(jury_keyfile_write(path, &kf, false), JURY_EINVAL);
    snprintf(kf.annotator, sizeof kf.annotator, "ana");
    snprintf(kf.endpoint, sizeof kf.endpoint, "tcp://host:1 ");
    assert_int_equal(jury_keyfile_write(path, &kf, false), JURY_EINVAL);
    assert_int_equal(s_entries(f->dir), 0);
    /* A directory that does not exist. */
    snprintf(path, sizeof path, "%s/missing/x.key", f->dir);
    kf.endpoint[0] = '\0';
    assert_int_equal(jury_keyfile_write(path, &kf, false), JURY_EIO);
    assert_int_equal(errno, ENOENT);
    jury_keyfile_clear(&kf);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_z85_rfc32_vector),
        cmocka_unit_test(test_z85_round_trips),
        cmocka_unit_test(test_z85_rejects_what_is_not_a_key),
        cmocka_unit_test(test_libzmq_test_keys_are_keypairs),
        cmocka_unit_test(test_keypair_new),
        cmocka_unit_test_setup_teardown(test_coordinator_file_round_trip, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_annotator_file_round_trip, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_public_only_file, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_readable_secret_file_is_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_lines_name_their_number, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_missing_file, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_write_refuses_to_overwrite, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_write_rejects_what_would_not_read_back, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
