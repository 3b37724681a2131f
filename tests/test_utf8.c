/* test_utf8.c: strict UTF-8 validation against RFC 3629's rules and Markus Kuhn's classic edge
 * cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "jury_utf8.h"

/* Asserts that s (n bytes) is rejected and that the first bad sequence starts at want. */
static void s_bad(const char *s, size_t n, size_t want)
{
    size_t at = 12345;
    assert_false(jury_utf8_valid(s, n, &at));
    assert_int_equal(at, want);
}

static void test_valid_text(void **state)
{
    (void)state;
    const char *samples[] = {
        "",
        "plain ASCII long enough to take the eight-byte fast path twice over",
        "caf\xc3\xa9",                          /* U+00E9, 2 bytes */
        "\xe2\x82\xac 10",                      /* U+20AC, 3 bytes */
        "\xf0\x9f\x98\x80 smile",               /* U+1F600, 4 bytes */
        "\xed\x9f\xbf",                         /* U+D7FF, last before the surrogates */
        "\xee\x80\x80",                         /* U+E000, first after them */
        "\xf4\x8f\xbf\xbf",                     /* U+10FFFF, the last code point */
        "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", /* Japanese */
    };
    for (size_t i = 0; i < sizeof samples / sizeof *samples; i++)
        assert_true(jury_utf8_valid(samples[i], strlen(samples[i]), NULL));
    /* NUL is a valid code point. */
    assert_true(jury_utf8_valid("a\0b", 3, NULL));
    assert_true(jury_utf8_valid(NULL, 0, NULL));
}

static void test_invalid_sequences(void **state)
{
    (void)state;
    s_bad("\x80", 1, 0);             /* lone continuation byte */
    s_bad("abc\xc3", 4, 3);          /* truncated at the end */
    s_bad("abcdefgh\xc3(", 10, 8);   /* bad continuation after the fast path */
    s_bad("\xc0\xaf", 2, 0);         /* overlong '/' */
    s_bad("\xc1\xbf", 2, 0);         /* overlong */
    s_bad("\xe0\x80\xaf", 3, 0);     /* overlong 3-byte */
    s_bad("\xf0\x80\x80\xaf", 4, 0); /* overlong 4-byte */
    s_bad("ok\xed\xa0\x80", 5, 2);   /* U+D800, a surrogate */
    s_bad("\xed\xbf\xbf", 3, 0);     /* U+DFFF */
    s_bad("\xf4\x90\x80\x80", 4, 0); /* U+110000, above the range */
    s_bad("\xf5\x80\x80\x80", 4, 0); /* never a lead byte */
    s_bad("\xff", 1, 0);
    s_bad("\xe2\x82", 2, 0);         /* truncated 3-byte */
    s_bad("\xe2\x28\xa1", 3, 0);     /* second byte not a continuation */
    s_bad("\xf0\x9f\x98\x28", 4, 0); /* fourth byte not a continuation */
}

static void test_codepoints(void **state)
{
    (void)state;
    assert_int_equal(jury_utf8_codepoints("", 0), 0);
    assert_int_equal(jury_utf8_codepoints("abc", 3), 3);
    assert_int_equal(jury_utf8_codepoints("caf\xc3\xa9", 5), 4);
    assert_int_equal(jury_utf8_codepoints("\xf0\x9f\x98\x80!", 5), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_text),
        cmocka_unit_test(test_invalid_sequences),
        cmocka_unit_test(test_codepoints),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
