/* jury_keys.h: CURVE keys for jury: generating keypairs, Z85 text, and the key files that
 * coordinators and annotators keep (secrets in libsodium's guarded memory, mode checks). */
#ifndef JURY_KEYS_H
#define JURY_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "jury_err.h"

/*
 * Keys are Curve25519 keys as ZeroMQ's CURVE mechanism uses them: 32 bytes,
 * written as 40 characters of Z85 (ZeroMQ RFC 32). Public keys are plain
 * memory; secret keys live only in sodium_malloc'd memory (guard pages,
 * locked, never swapped) and are wiped (sodium_memzero) before it is freed.
 * Call sodium_init() once before any function here.
 */

/* Bytes of a key, and characters of its Z85 text (without the terminating NUL). */
#define JURY_KEY_BYTES 32
#define JURY_KEY_Z85   40

/* A keypair. Create with jury_keypair_new or jury_keyfile_read; destroy with jury_keypair_destroy.
 * The struct itself is sodium_malloc'd memory. */
typedef struct {
    unsigned char public_key[JURY_KEY_BYTES]; /* the public key */
    unsigned char secret_key[JURY_KEY_BYTES]; /* the secret key */
} jury_keypair_t;

/* Generates a new keypair (libsodium's crypto_box_keypair). Returns NULL when memory runs out. */
jury_keypair_t *jury_keypair_new(void);

/* Wipes and frees *self_p and sets it to NULL. Accepts NULL; safe twice. */
void jury_keypair_destroy(jury_keypair_t **self_p);

/* Writes the Z85 text of a 32-byte key into out (at least JURY_KEY_Z85 + 1 bytes, NUL-terminated).
 */
void jury_key_to_z85(const unsigned char key[JURY_KEY_BYTES], char out[JURY_KEY_Z85 + 1]);

/* Parses Z85 text (exactly 40 characters) into key. Returns false when it is not a key. */
bool jury_key_from_z85(const char *text, unsigned char key[JURY_KEY_BYTES]);

/*
 * A key file is UTF-8 text, one "name = value" per line; '#' starts a
 * comment line; names are lower case; unknown names are errors:
 *
 *     # jury key file: keep it secret (mode 0600)
 *     annotator = ana                     (absent in a coordinator's file)
 *     public-key = <40 characters of Z85>
 *     secret-key = <40 characters of Z85>
 *     coordinator-key = <Z85>             (annotator files: the coordinator's public key)
 *     endpoint = tcp://coord.example:5555 (annotator files, optional)
 *
 * A coordinator's public key alone goes in a file with only "public-key".
 */
typedef struct {
    jury_keypair_t *keys;                          /* owned; NULL in a public-key-only file */
    unsigned char public_key[JURY_KEY_BYTES];      /* the public key (also in keys) */
    char annotator[201];                           /* annotator name, or "" */
    bool has_coordinator_key;                      /* coordinator-key present */
    unsigned char coordinator_key[JURY_KEY_BYTES]; /* the coordinator's public key */
    char endpoint[256];                            /* endpoint, or "" */
} jury_keyfile_t;

/*
 * Writes a key file at path atomically (a temporary file in the same
 * directory, fsync, rename), with mode 0600 when kf->keys is set (it holds a
 * secret) and 0644 otherwise. An existing file is replaced only when
 * overwrite is true (else JURY_EEXIST; the refusal is atomic: the file is
 * linked into place, which fails when path exists). With kf->keys set, the
 * public key written is kf->keys->public_key, else kf->public_key. Errors:
 * JURY_EEXIST, JURY_EPERM, JURY_EIO (errno tells the system's reason, for
 * the message), JURY_EINVAL (a name or endpoint with a control character or
 * surrounding blanks, which would not read back). kf is borrowed.
 */
JURY_MUST_CHECK jury_err jury_keyfile_write(const char *path, const jury_keyfile_t *kf,
                                            bool overwrite);

/*
 * Reads the key file at path into *out (the caller owns out->keys and
 * releases it with jury_keyfile_clear). A file holding a secret key that
 * its group or others may read (mode & 077) is refused with JURY_EPERM and
 * err saying how to fix it ("chmod 600 PATH"). The file's bytes are read
 * into guarded memory and wiped after parsing. Errors: JURY_ENOTFOUND,
 * JURY_EPERM, JURY_EINVAL (a bad line, with its number and reason in err;
 * a file without public-key; a public-key that secret-key does not give),
 * JURY_ENOMEM. err gets one line (errlen bytes, NUL-terminated) starting
 * with the path ("ana.key:3: unknown name \"colour\""); it never quotes a
 * value. On failure *out is cleared.
 */
JURY_MUST_CHECK jury_err jury_keyfile_read(const char *path, jury_keyfile_t *out, char *err,
                                           size_t errlen);

/* Wipes kf and destroys its keypair. Safe on a zeroed or already-cleared struct. */
void jury_keyfile_clear(jury_keyfile_t *kf);

/*
 * Web tokens: an annotator's personal login for a web gateway (SPEC section 10.4), the text
 * "NAME:SECRET" with SECRET 32 random bytes in URL-safe base64 without padding (43 characters).
 * The store keeps only its hash.
 */
#define JURY_WEB_TOKEN_SECRET 43
/* The longest token: a 200-byte name, ':' and the secret. */
#define JURY_WEB_TOKEN_MAX (200 + 1 + JURY_WEB_TOKEN_SECRET)

/* Makes a new token for annotator name (1..200 bytes) into out (at least JURY_WEB_TOKEN_MAX + 1
 * bytes; the caller wipes it with sodium_memzero when done) and its hash into hash. Errors:
 * JURY_EINVAL (name empty, too long or holding ':'). */
JURY_MUST_CHECK jury_err jury_web_token_new(const char *name, char *out, size_t cap,
                                            unsigned char hash[JURY_KEY_BYTES]);

/* The hash under which the store keeps the len bytes at token (BLAKE2b-256: the secret is 256
 * random bits, so an unsalted fast hash suffices and cannot be reversed). */
void jury_web_token_hash(const char *token, size_t len, unsigned char hash[JURY_KEY_BYTES]);

/* The annotator name a token claims: the length of the part before the first ':' (0 when there
 * is none or the token is malformed: empty name or a secret that is not 43 base64url
 * characters). */
size_t jury_web_token_name_len(const char *token, size_t len);

#endif
