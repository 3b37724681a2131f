/* jury_jsonpack.h: converting between cJSON trees and msgpack: JSON is what files and frontends
 * speak, msgpack what the store and the wire hold. */
#ifndef JURY_JSONPACK_H
#define JURY_JSONPACK_H

#include <cjson/cJSON.h>
#include <msgpack.h>

/*
 * Packs the JSON value v with pk: objects become maps (keys in document
 * order), arrays arrays, strings strings, true/false/null themselves, and
 * numbers integers when their value is integral within +-2^53, doubles
 * otherwise. Returns 0 or the packer's error.
 */
int jury_jsonpack_pack(msgpack_packer *pk, const cJSON *v);

/*
 * Builds a cJSON tree from the msgpack object o: maps with string keys
 * become objects (a map with a non-string key gives NULL), integers and
 * floats numbers, strings strings (o's strings must be valid UTF-8 and hold
 * no NUL byte; one that does gives NULL), bin and ext give NULL. Nesting
 * deeper than 64 gives NULL. Returns the tree, which the caller owns and
 * frees with cJSON_Delete, or NULL.
 */
cJSON *jury_jsonpack_to_json(const msgpack_object *o);

#endif
