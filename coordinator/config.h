/* config.h: `jury serve`'s settings: one table of options that both the command line and a config
 * file (`--config FILE`) set, so that a new option is one line of config.c. */
#ifndef JURY_CONFIG_H
#define JURY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "jury_err.h"
#include "serve.h"

/*
 * Everything `jury serve` is told: jury_serve_run's options, the store, and
 * where to serve metrics. Opaque; made by jury_serve_config_new, filled by
 * jury_serve_config_set (the command line) and jury_serve_config_parse or
 * jury_serve_config_read (a config file), read with the accessors below.
 *
 * Every option of `jury serve` is a key: the option's long name without its
 * leading "--" ("max-leases", "log-level", "store", "metrics", ...); see
 * jury_serve_config_key_name. A value set from the command line wins: a
 * config file read afterwards checks its own value for that key but keeps
 * the command line's.
 *
 * The config file format, one setting per line (ops/jury.conf documents
 * every key):
 *
 *     # a comment: blank lines and lines starting with '#' are ignored
 *     bind = tcp://0.0.0.0:5555
 *     max-rate = 2000        # a comment after a blank
 *     store = "/srv/jury data"
 *
 * Blanks around the key, the '=' and the value do not count; a value may be
 * written in double quotes (with \" and \\ inside) to keep blanks at its
 * ends or a " #" in it; a line may end in "\r\n". Flags (insecure) take
 * true/false, yes/no, on/off or 1/0. A key may appear once per file.
 */
typedef struct jury_serve_config jury_serve_config_t;

/*
 * Makes a config holding the defaults: bind tcp://127.0.0.1:5555, log
 * level info, heartbeat 1000 ms, every limit 0 (jury_serve_run's default),
 * no store and no metrics. The caller owns it and destroys it. NULL when
 * out of memory.
 */
jury_serve_config_t *jury_serve_config_new(void);

/* Destroys the config and sets *self_p to NULL. Accepts NULL; safe twice. */
void jury_serve_config_destroy(jury_serve_config_t **self_p);

/*
 * Sets key (an option name without "--") to value, as the command line
 * does: the value wins over any config file read later. A flag takes NULL
 * (meaning true) or a boolean word. value is copied.
 *
 * Errors, with why (cap bytes; the caller's) holding the reason without the
 * key, e.g. "'x' is not a whole number within 1..100": JURY_ENOTFOUND (no
 * such key), JURY_EINVAL (a bad value), JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_serve_config_set(jury_serve_config_t *cfg, const char *key,
                                               const char *value, char *why, size_t cap);

/*
 * Applies the len bytes of config text at text (borrowed; need not be
 * NUL-terminated) as if read from a file called path (for messages only).
 * Every line is checked, even one whose key the command line set (that key
 * keeps the command line's value). On the first bad line nothing more is
 * applied and why says "PATH:LINE: KEY: REASON", e.g.
 * "/etc/jury/jury.conf:12: max-rate: 'fast' is not a whole number within
 * 1..1000000"; an unknown key is "PATH:LINE: KEY: unknown key (...)"; a
 * line that is not "key = value" names its first word as KEY ("PATH:LINE:
 * WORD: a line is 'key = value'; '=' is missing"), or has none when it
 * starts with '=', and a NUL byte makes "PATH:LINE: a NUL byte: this is not
 * a text file". Settings of the lines before it stay applied.
 *
 * Errors: JURY_EINVAL (a bad line), JURY_ENOMEM.
 */
JURY_MUST_CHECK jury_err jury_serve_config_parse(jury_serve_config_t *cfg, const char *path,
                                                 const char *text, size_t len, char *why,
                                                 size_t cap);

/*
 * Reads the config file at path (at most 1 MiB) and applies it
 * (jury_serve_config_parse). Errors: those of jury_serve_config_parse, and
 * JURY_EIO when the file cannot be read, with why "PATH: REASON" (e.g.
 * "/etc/jury/jury.conf: No such file or directory").
 */
JURY_MUST_CHECK jury_err jury_serve_config_read(jury_serve_config_t *cfg, const char *path,
                                                char *why, size_t cap);

/*
 * jury_serve_run's options as set. Borrowed: valid, with the strings they
 * point to, until the config is destroyed. stop and secret_key are never
 * set here (they are the caller's business); neither is metrics.
 */
const jury_serve_opts_t *jury_serve_config_opts(const jury_serve_config_t *cfg);

/* The store directory set (key "store"), or NULL. Borrowed, like jury_serve_config_opts. */
const char *jury_serve_config_store(const jury_serve_config_t *cfg);

/* Where to serve metrics (key "metrics", ADDRESS:PORT), or NULL for nowhere. Borrowed. */
const char *jury_serve_config_metrics(const jury_serve_config_t *cfg);

/* The most bytes the store's map may grow to (key "map-max-mib", in MiB), 0 for no limit. */
uint64_t jury_serve_config_map_max(const jury_serve_config_t *cfg);

/* Whether key was set from the command line (jury_serve_config_set); false for unknown keys. */
bool jury_serve_config_from_cli(const jury_serve_config_t *cfg, const char *key);

/* Number of keys (options); keys are numbered 0 .. count - 1 in the order of `jury serve --help`.
 */
size_t jury_serve_config_key_count(void);

/* The name of key i (an option name without "--"), or NULL when i is out of range. Static. */
const char *jury_serve_config_key_name(size_t i);

/* Whether key i is a flag (an option that takes no value on the command line). */
bool jury_serve_config_key_is_flag(size_t i);

#endif
