// Gyre's C SDK: helpers over the bindings `gyre build` generates from the
// plugin's world (`plugin.h`, written with this file to `.gyre/c/`).
//
// Ownership, the one rule that matters in C: every argument an export
// receives is yours to free (the `*_free` functions in plugin.h), and
// everything you put in a result or error is freed by the bindings after
// the host has copied it, so it must come from malloc (use gyre_string).
#ifndef GYRE_H
#define GYRE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gyre_world.h"
#include "plugin.h"

typedef gyre_plugin_types_plugin_error_t gyre_error_t;

// --- Strings ---------------------------------------------------------------

// A malloc'd copy of `s`, for results and errors.
plugin_string_t gyre_string(const char *s);
// A malloc'd copy of `fmt, ...` formatted.
plugin_string_t gyre_stringf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
// A NUL-terminated malloc'd copy of `s` (WIT strings are not terminated).
char *gyre_cstr(const plugin_string_t *s);
// Whether `s` equals the C string `lit`.
bool gyre_string_eq(const plugin_string_t *s, const char *lit);

// --- Errors ----------------------------------------------------------------

enum {
  GYRE_INVALID_CONFIG = GYRE_PLUGIN_TYPES_PLUGIN_ERROR_INVALID_CONFIG,
  GYRE_INVALID_INPUT = GYRE_PLUGIN_TYPES_PLUGIN_ERROR_INVALID_INPUT,
  GYRE_NOT_FOUND = GYRE_PLUGIN_TYPES_PLUGIN_ERROR_NOT_FOUND,
  GYRE_DENIED = GYRE_PLUGIN_TYPES_PLUGIN_ERROR_DENIED,
  GYRE_UNAUTHORIZED = GYRE_PLUGIN_TYPES_PLUGIN_ERROR_UNAUTHORIZED,
  GYRE_INTERNAL = GYRE_PLUGIN_TYPES_PLUGIN_ERROR_INTERNAL,
};

// Fills `err` with a `kind` error (GYRE_INVALID_INPUT, ...) and returns
// false, so that an export can `return gyre_fail(err, ...);`.
bool gyre_fail(gyre_error_t *err, uint8_t kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
// Fills `err` with an `upstream` error and returns false.
bool gyre_fail_upstream(gyre_error_t *err, uint16_t status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

// --- Logging ---------------------------------------------------------------

void gyre_log(gyre_plugin_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
#define gyre_debug(...) gyre_log(GYRE_PLUGIN_LOG_LEVEL_DEBUG, __VA_ARGS__)
#define gyre_info(...) gyre_log(GYRE_PLUGIN_LOG_LEVEL_INFO, __VA_ARGS__)
#define gyre_warn(...) gyre_log(GYRE_PLUGIN_LOG_LEVEL_WARN, __VA_ARGS__)
#define gyre_error(...) gyre_log(GYRE_PLUGIN_LOG_LEVEL_ERROR, __VA_ARGS__)

// --- JSON: a small reader for the top level of an object -------------------
// Enough for configuration and flat reports; bring a full parser (cJSON,
// yyjson) for anything deeper.

typedef enum {
  GYRE_JSON_OK = 0,
  GYRE_JSON_MISSING,    // the key is absent
  GYRE_JSON_WRONG_TYPE, // present, but not of the type asked for
  GYRE_JSON_INVALID,    // the document is not a JSON object
} gyre_json_status_t;

// Whether `json` is one valid JSON value (any type), and nothing else.
bool gyre_json_valid(const uint8_t *json, size_t len);
// Whether `json` is a valid JSON object.
bool gyre_json_is_object(const uint8_t *json, size_t len);
gyre_json_status_t gyre_json_number(const uint8_t *json, size_t len, const char *key, double *out);
// `*out` is a malloc'd, NUL-terminated copy (escapes decoded); free it.
gyre_json_status_t gyre_json_string(const uint8_t *json, size_t len, const char *key, char **out);
// The first top-level key not in `allowed` (NULL-terminated list), as a
// malloc'd string in `*unknown`; GYRE_JSON_OK when every key is allowed.
gyre_json_status_t gyre_json_only_keys(const uint8_t *json, size_t len, const char *const *allowed,
                                       char **unknown);

#ifdef GYRE_VERIFIER
// --- Verifiers -------------------------------------------------------------
typedef exports_gyre_plugin_verification_verify_request_t gyre_verify_request_t;
typedef exports_gyre_plugin_verification_verdict_t gyre_verdict_t;

// The data of the first evidence called `name`, or NULL.
const plugin_list_u8_t *gyre_evidence(const gyre_verify_request_t *request, const char *name);
// Sets the verdict's outcome and summary; no score, no findings yet.
void gyre_verdict(gyre_verdict_t *verdict, bool passed, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void gyre_verdict_score(gyre_verdict_t *verdict, double score);
// Appends a finding (EXPORTS_GYRE_PLUGIN_VERIFICATION_SEVERITY_ERROR, ...).
void gyre_verdict_finding(gyre_verdict_t *verdict, uint8_t severity, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#endif

#ifdef GYRE_CONNECTOR
// --- Connectors ------------------------------------------------------------
typedef exports_gyre_plugin_operations_operation_t gyre_operation_t;

// Fills `op`; `input_schema` is JSON text.
void gyre_operation(gyre_operation_t *op, const char *name, const char *description,
                    const char *input_schema, bool read_only);

typedef struct {
  uint16_t status;
  uint8_t *body;
  size_t body_len;
} gyre_http_response_t;

// The most a response body may hold unless a call says otherwise (the
// host caps bodies too): 16 MiB, as in the JavaScript and Python SDKs.
#define GYRE_HTTP_MAX_RESPONSE ((size_t)16 << 20)

// One request through the host: `method` ("GET", "POST", ...) to `url`,
// with an Accept header when `accept` is not NULL, and `body_len` bytes of
// `body` (with a Content-Type header when `content_type` is not NULL) when
// `body` is not NULL. On failure fills `err` and returns false: `denied`
// when the host refused the origin or the address it resolves to,
// `upstream` 502 on a transport failure or a body longer than
// `max_response` bytes, `invalid-input` for a URL that is not http(s).
// Free the response with gyre_http_response_free.
bool gyre_http_request(const char *method, const char *url, const char *accept,
                       const char *content_type, const uint8_t *body, size_t body_len,
                       size_t max_response, gyre_http_response_t *response, gyre_error_t *err);
// A GET, at most GYRE_HTTP_MAX_RESPONSE bytes.
bool gyre_http_get(const char *url, const char *accept, gyre_http_response_t *response,
                   gyre_error_t *err);
// A POST of `body`, at most GYRE_HTTP_MAX_RESPONSE bytes back.
bool gyre_http_post(const char *url, const char *content_type, const uint8_t *body,
                    size_t body_len, const char *accept, gyre_http_response_t *response,
                    gyre_error_t *err);
void gyre_http_response_free(gyre_http_response_t *response);
#endif

#endif
