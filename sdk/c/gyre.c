// Gyre's C SDK; see gyre.h.
#include "gyre.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The bindings reference this symbol of the object file wit-bindgen
// usually writes; gyre build embeds the world's type information itself.
void __component_type_object_force_link_plugin(void) {}

// --- Strings ---------------------------------------------------------------

static char *vformat(const char *fmt, va_list ap) {
  va_list copy;
  va_copy(copy, ap);
  int n = vsnprintf(NULL, 0, fmt, copy);
  va_end(copy);
  if (n < 0) n = 0;
  char *out = malloc((size_t)n + 1);
  if (!out) abort();
  vsnprintf(out, (size_t)n + 1, fmt, ap);
  return out;
}

static plugin_string_t take(char *s) {
  plugin_string_t out = {(uint8_t *)s, strlen(s)};
  return out;
}

plugin_string_t gyre_string(const char *s) {
  plugin_string_t out;
  plugin_string_dup(&out, s);
  return out;
}

plugin_string_t gyre_stringf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = vformat(fmt, ap);
  va_end(ap);
  return take(s);
}

char *gyre_cstr(const plugin_string_t *s) {
  char *out = malloc(s->len + 1);
  if (!out) abort();
  memcpy(out, s->ptr, s->len);
  out[s->len] = 0;
  return out;
}

bool gyre_string_eq(const plugin_string_t *s, const char *lit) {
  size_t n = strlen(lit);
  return s->len == n && memcmp(s->ptr, lit, n) == 0;
}

// --- Errors ----------------------------------------------------------------

bool gyre_fail(gyre_error_t *err, uint8_t kind, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = vformat(fmt, ap);
  va_end(ap);
  err->tag = kind;
  // Every case but `upstream` carries one string, at the same place.
  err->val.invalid_config = take(s);
  return false;
}

bool gyre_fail_upstream(gyre_error_t *err, uint16_t status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = vformat(fmt, ap);
  va_end(ap);
  err->tag = GYRE_PLUGIN_TYPES_PLUGIN_ERROR_UPSTREAM;
  err->val.upstream.status = status;
  err->val.upstream.message = take(s);
  return false;
}

// --- Logging ---------------------------------------------------------------

void gyre_log(gyre_plugin_log_level_t level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = vformat(fmt, ap);
  va_end(ap);
  plugin_string_t message = {(uint8_t *)s, strlen(s)};
  gyre_plugin_log_list_field_t fields = {NULL, 0};
  gyre_plugin_log_emit(level, &message, &fields);
  free(s);
}

// --- JSON ------------------------------------------------------------------

typedef struct {
  const uint8_t *p, *end;
  int depth;
} cursor_t;

static void ws(cursor_t *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static bool lit(cursor_t *c, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0) return false;
  c->p += n;
  return true;
}

static bool hex4(const uint8_t *p, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    uint8_t ch = p[i];
    v <<= 4;
    if (ch >= '0' && ch <= '9') v |= ch - '0';
    else if (ch >= 'a' && ch <= 'f') v |= ch - 'a' + 10;
    else if (ch >= 'A' && ch <= 'F') v |= ch - 'A' + 10;
    else return false;
  }
  *out = v;
  return true;
}

static void put_utf8(char **o, unsigned cp) {
  char *q = *o;
  if (cp < 0x80) *q++ = (char)cp;
  else if (cp < 0x800) { *q++ = (char)(0xC0 | (cp >> 6)); *q++ = (char)(0x80 | (cp & 0x3F)); }
  else if (cp < 0x10000) {
    *q++ = (char)(0xE0 | (cp >> 12)); *q++ = (char)(0x80 | ((cp >> 6) & 0x3F)); *q++ = (char)(0x80 | (cp & 0x3F));
  } else {
    *q++ = (char)(0xF0 | (cp >> 18)); *q++ = (char)(0x80 | ((cp >> 12) & 0x3F));
    *q++ = (char)(0x80 | ((cp >> 6) & 0x3F)); *q++ = (char)(0x80 | (cp & 0x3F));
  }
  *o = q;
}

// Reads a string at c->p (on its opening quote). With `out`, stores a
// malloc'd decoded copy.
static bool string(cursor_t *c, char **out) {
  if (c->p >= c->end || *c->p != '"') return false;
  const uint8_t *start = ++c->p;
  char *buf = NULL, *o = NULL;
  if (out) {
    buf = malloc((size_t)(c->end - start) + 1);
    if (!buf) abort();
    o = buf;
  }
  while (c->p < c->end && *c->p != '"') {
    uint8_t ch = *c->p++;
    if (ch < 0x20) goto fail;
    if (ch != '\\') {
      if (o) *o++ = (char)ch;
      continue;
    }
    if (c->p >= c->end) goto fail;
    uint8_t e = *c->p++;
    char plain = 0;
    switch (e) {
      case '"': plain = '"'; break;
      case '\\': plain = '\\'; break;
      case '/': plain = '/'; break;
      case 'b': plain = '\b'; break;
      case 'f': plain = '\f'; break;
      case 'n': plain = '\n'; break;
      case 'r': plain = '\r'; break;
      case 't': plain = '\t'; break;
      case 'u': {
        unsigned cp;
        if (c->end - c->p < 4 || !hex4(c->p, &cp)) goto fail;
        c->p += 4;
        if (cp >= 0xD800 && cp < 0xDC00) {
          unsigned lo;
          if (c->end - c->p < 6 || c->p[0] != '\\' || c->p[1] != 'u' || !hex4(c->p + 2, &lo) ||
              lo < 0xDC00 || lo > 0xDFFF)
            goto fail;
          c->p += 6;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        if (o) put_utf8(&o, cp);
        continue;
      }
      default: goto fail;
    }
    if (o) *o++ = plain;
  }
  if (c->p >= c->end) goto fail;
  c->p++;
  if (out) {
    *o = 0;
    *out = buf;
  }
  return true;
fail:
  free(buf);
  return false;
}

static bool number(cursor_t *c, double *out) {
  const uint8_t *start = c->p;
  if (c->p < c->end && *c->p == '-') c->p++;
  if (c->p >= c->end) return false;
  if (*c->p == '0') c->p++;
  else if (*c->p >= '1' && *c->p <= '9') while (c->p < c->end && *c->p >= '0' && *c->p <= '9') c->p++;
  else return false;
  if (c->p < c->end && *c->p == '.') {
    c->p++;
    if (c->p >= c->end || *c->p < '0' || *c->p > '9') return false;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') c->p++;
  }
  if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
    c->p++;
    if (c->p < c->end && (*c->p == '+' || *c->p == '-')) c->p++;
    if (c->p >= c->end || *c->p < '0' || *c->p > '9') return false;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') c->p++;
  }
  if (out) {
    char tmp[64];
    size_t n = (size_t)(c->p - start);
    if (n >= sizeof tmp) return false;
    memcpy(tmp, start, n);
    tmp[n] = 0;
    *out = strtod(tmp, NULL);
  }
  return true;
}

static bool value(cursor_t *c);

static bool container(cursor_t *c, uint8_t close, bool keys) {
  if (++c->depth > 128) return false;
  c->p++;
  ws(c);
  if (c->p < c->end && *c->p == close) {
    c->p++;
    c->depth--;
    return true;
  }
  for (;;) {
    ws(c);
    if (keys) {
      if (!string(c, NULL)) return false;
      ws(c);
      if (c->p >= c->end || *c->p++ != ':') return false;
    }
    if (!value(c)) return false;
    ws(c);
    if (c->p >= c->end) return false;
    if (*c->p == ',') { c->p++; continue; }
    if (*c->p == close) { c->p++; c->depth--; return true; }
    return false;
  }
}

static bool value(cursor_t *c) {
  ws(c);
  if (c->p >= c->end) return false;
  switch (*c->p) {
    case '{': return container(c, '}', true);
    case '[': return container(c, ']', false);
    case '"': return string(c, NULL);
    case 't': return lit(c, "true");
    case 'f': return lit(c, "false");
    case 'n': return lit(c, "null");
    default: return number(c, NULL);
  }
}

bool gyre_json_valid(const uint8_t *json, size_t len) {
  cursor_t c = {json, json + len, 0};
  if (!value(&c)) return false;
  ws(&c);
  return c.p == c.end;
}

bool gyre_json_is_object(const uint8_t *json, size_t len) {
  cursor_t c = {json, json + len, 0};
  ws(&c);
  return c.p < c.end && *c.p == '{' && gyre_json_valid(json, len);
}

// Calls `visit` on each top-level member of an object; stops when it
// returns true. `visit` gets the decoded key and a cursor on the value.
typedef bool (*visit_t)(const char *key, cursor_t *value, void *ctx);

static gyre_json_status_t members(const uint8_t *json, size_t len, visit_t visit, void *ctx) {
  if (!gyre_json_is_object(json, len)) return GYRE_JSON_INVALID;
  cursor_t c = {json, json + len, 0};
  ws(&c);
  c.p++;
  ws(&c);
  if (*c.p == '}') return GYRE_JSON_MISSING;
  for (;;) {
    ws(&c);
    char *key = NULL;
    string(&c, &key);
    ws(&c);
    c.p++; // ':'
    ws(&c);
    cursor_t at = c;
    bool stop = visit(key, &at, ctx);
    free(key);
    if (stop) return GYRE_JSON_OK;
    value(&c);
    ws(&c);
    if (*c.p++ == '}') return GYRE_JSON_MISSING;
  }
}

typedef struct {
  const char *key;
  bool found;
  gyre_json_status_t status;
  double number;
  char *string;
  bool want_string;
} lookup_t;

static bool find(const char *key, cursor_t *v, void *ctx) {
  lookup_t *l = ctx;
  // The last duplicate wins, as in most parsers: keep looking.
  if (strcmp(key, l->key) != 0) return false;
  l->found = true;
  free(l->string);
  l->string = NULL;
  if (l->want_string) {
    l->status = (*v->p == '"' && string(v, &l->string)) ? GYRE_JSON_OK : GYRE_JSON_WRONG_TYPE;
  } else {
    bool is_number = *v->p == '-' || (*v->p >= '0' && *v->p <= '9');
    l->status = is_number && number(v, &l->number) ? GYRE_JSON_OK : GYRE_JSON_WRONG_TYPE;
  }
  return false;
}

static gyre_json_status_t lookup(const uint8_t *json, size_t len, lookup_t *l) {
  gyre_json_status_t s = members(json, len, find, l);
  if (s == GYRE_JSON_INVALID) return s;
  return l->found ? l->status : GYRE_JSON_MISSING;
}

gyre_json_status_t gyre_json_number(const uint8_t *json, size_t len, const char *key, double *out) {
  lookup_t l = {.key = key};
  gyre_json_status_t s = lookup(json, len, &l);
  if (s == GYRE_JSON_OK) *out = l.number;
  return s;
}

gyre_json_status_t gyre_json_string(const uint8_t *json, size_t len, const char *key, char **out) {
  lookup_t l = {.key = key, .want_string = true};
  gyre_json_status_t s = lookup(json, len, &l);
  if (s == GYRE_JSON_OK) *out = l.string;
  else free(l.string);
  return s;
}

typedef struct {
  const char *const *allowed;
  char *unknown;
} keys_t;

static bool check_key(const char *key, cursor_t *v, void *ctx) {
  (void)v;
  keys_t *k = ctx;
  for (const char *const *a = k->allowed; *a; a++)
    if (strcmp(*a, key) == 0) return false;
  k->unknown = strdup(key);
  return true;
}

gyre_json_status_t gyre_json_only_keys(const uint8_t *json, size_t len, const char *const *allowed,
                                       char **unknown) {
  keys_t k = {allowed, NULL};
  gyre_json_status_t s = members(json, len, check_key, &k);
  if (s == GYRE_JSON_INVALID) return s;
  if (k.unknown) {
    *unknown = k.unknown;
    return GYRE_JSON_WRONG_TYPE;
  }
  return GYRE_JSON_OK;
}

#ifdef GYRE_VERIFIER
// --- Verifiers -------------------------------------------------------------

const plugin_list_u8_t *gyre_evidence(const gyre_verify_request_t *request, const char *name) {
  for (size_t i = 0; i < request->evidence.len; i++) {
    if (gyre_string_eq(&request->evidence.ptr[i].name, name)) return &request->evidence.ptr[i].data;
  }
  return NULL;
}

void gyre_verdict(gyre_verdict_t *verdict, bool passed, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = vformat(fmt, ap);
  va_end(ap);
  memset(verdict, 0, sizeof *verdict);
  verdict->passed = passed;
  verdict->summary = take(s);
}

void gyre_verdict_score(gyre_verdict_t *verdict, double score) {
  verdict->score.is_some = true;
  verdict->score.val = score;
}

void gyre_verdict_finding(gyre_verdict_t *verdict, uint8_t severity, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = vformat(fmt, ap);
  va_end(ap);
  exports_gyre_plugin_verification_list_finding_t *list = &verdict->findings;
  exports_gyre_plugin_verification_finding_t *grown =
      realloc(list->ptr, (list->len + 1) * sizeof *list->ptr);
  if (!grown) abort();
  list->ptr = grown;
  exports_gyre_plugin_verification_finding_t *f = &list->ptr[list->len++];
  memset(f, 0, sizeof *f);
  f->severity = severity;
  f->message = take(s);
}
#endif

#ifdef GYRE_CONNECTOR
// --- Connectors ------------------------------------------------------------

void gyre_operation(gyre_operation_t *op, const char *name, const char *description,
                    const char *input_schema, bool read_only) {
  op->name = gyre_string(name);
  op->description = gyre_string(description);
  op->input_schema = gyre_string(input_schema);
  op->read_only = read_only;
}

void gyre_http_response_free(gyre_http_response_t *response) {
  free(response->body);
  response->body = NULL;
  response->body_len = 0;
}

// Splits "scheme://authority/path?query" into its parts (malloc'd).
static bool split_url(const char *url, bool *https, char **authority, char **path) {
  const char *rest;
  if (strncmp(url, "http://", 7) == 0) { *https = false; rest = url + 7; }
  else if (strncmp(url, "https://", 8) == 0) { *https = true; rest = url + 8; }
  else return false;
  const char *slash = strpbrk(rest, "/?");
  size_t alen = slash ? (size_t)(slash - rest) : strlen(rest);
  if (alen == 0) return false;
  *authority = strndup(rest, alen);
  *path = strdup(slash ? (*slash == '?' ? "/" : slash) : "/");
  if (slash && *slash == '?') {
    free(*path);
    size_t n = strlen(slash) + 2;
    *path = malloc(n);
    snprintf(*path, n, "/%s", slash);
  }
  return true;
}

static bool transport_error(wasi_http_types_error_code_t *code, const char *url, gyre_error_t *err) {
  // The host's refusals: an origin not granted, or a granted name that
  // resolves to an address the grant does not name (loopback, private,
  // cloud metadata). Both are `denied`, never an upstream failure.
  if (code->tag == WASI_HTTP_TYPES_ERROR_CODE_HTTP_REQUEST_DENIED)
    return gyre_fail(err, GYRE_DENIED, "http %s: the host did not grant this origin", url);
  if (code->tag == WASI_HTTP_TYPES_ERROR_CODE_DESTINATION_IP_PROHIBITED)
    return gyre_fail(err, GYRE_DENIED, "http %s: the host refused the address it resolves to", url);
  return gyre_fail_upstream(err, 502, "%s: transport error %d", url, code->tag);
}

static void add_header(wasi_http_types_own_fields_t headers, const char *name, const char *value) {
  wasi_http_types_field_name_t n = {(uint8_t *)name, strlen(name)};
  wasi_http_types_field_value_t v = {(uint8_t *)value, strlen(value)};
  wasi_http_types_header_error_t herr;
  wasi_http_types_method_fields_append(wasi_http_types_borrow_fields(headers), &n, &v, &herr);
}

static const struct {
  const char *name;
  uint8_t tag;
} METHODS[] = {
    {"GET", WASI_HTTP_TYPES_METHOD_GET},         {"HEAD", WASI_HTTP_TYPES_METHOD_HEAD},
    {"POST", WASI_HTTP_TYPES_METHOD_POST},       {"PUT", WASI_HTTP_TYPES_METHOD_PUT},
    {"DELETE", WASI_HTTP_TYPES_METHOD_DELETE},   {"CONNECT", WASI_HTTP_TYPES_METHOD_CONNECT},
    {"OPTIONS", WASI_HTTP_TYPES_METHOD_OPTIONS}, {"TRACE", WASI_HTTP_TYPES_METHOD_TRACE},
    {"PATCH", WASI_HTTP_TYPES_METHOD_PATCH},
};

// Writes `body` to the request's body stream, 4096 bytes at a time (the
// most one blocking write may take).
static bool send_body(wasi_http_types_own_outgoing_body_t out, const uint8_t *body, size_t len) {
  wasi_http_types_own_output_stream_t stream;
  if (!wasi_http_types_method_outgoing_body_write(wasi_http_types_borrow_outgoing_body(out), &stream))
    return false;
  bool ok = true;
  for (size_t at = 0; ok && at < len; at += 4096) {
    size_t n = len - at < 4096 ? len - at : 4096;
    plugin_list_u8_t chunk = {(uint8_t *)body + at, n};
    wasi_io_streams_stream_error_t serr;
    ok = wasi_io_streams_method_output_stream_blocking_write_and_flush(
        wasi_io_streams_borrow_output_stream(stream), &chunk, &serr);
    if (!ok) wasi_io_streams_stream_error_free(&serr);
  }
  // A stream is a child of its body: drop it before finishing the body.
  wasi_io_streams_output_stream_drop_own(stream);
  return ok;
}

bool gyre_http_request(const char *method, const char *url, const char *accept,
                       const char *content_type, const uint8_t *body, size_t body_len,
                       size_t max_response, gyre_http_response_t *response, gyre_error_t *err) {
  memset(response, 0, sizeof *response);
  bool https;
  char *authority, *path;
  if (!split_url(url, &https, &authority, &path))
    return gyre_fail(err, GYRE_INVALID_INPUT, "%s is not an http(s) URL", url);

  wasi_http_types_own_fields_t headers = wasi_http_types_constructor_fields();
  if (accept) add_header(headers, "accept", accept);
  if (body && content_type) add_header(headers, "content-type", content_type);
  wasi_http_types_own_outgoing_request_t request = wasi_http_types_constructor_outgoing_request(headers);
  wasi_http_types_borrow_outgoing_request_t req = wasi_http_types_borrow_outgoing_request(request);
  wasi_http_types_method_t m = {.tag = WASI_HTTP_TYPES_METHOD_OTHER};
  m.val.other.ptr = (uint8_t *)method;
  m.val.other.len = strlen(method);
  for (size_t i = 0; i < sizeof METHODS / sizeof METHODS[0]; i++)
    if (strcmp(method, METHODS[i].name) == 0) m.tag = METHODS[i].tag;
  wasi_http_types_method_outgoing_request_set_method(req, &m);
  wasi_http_types_scheme_t scheme = {.tag = https ? WASI_HTTP_TYPES_SCHEME_HTTPS : WASI_HTTP_TYPES_SCHEME_HTTP};
  wasi_http_types_method_outgoing_request_set_scheme(req, &scheme);
  plugin_string_t auth = {(uint8_t *)authority, strlen(authority)};
  wasi_http_types_method_outgoing_request_set_authority(req, &auth);
  plugin_string_t pq = {(uint8_t *)path, strlen(path)};
  wasi_http_types_method_outgoing_request_set_path_with_query(req, &pq);

  wasi_http_types_own_outgoing_body_t out_body;
  wasi_http_types_method_outgoing_request_body(req, &out_body);

  wasi_http_outgoing_handler_own_future_incoming_response_t future;
  wasi_http_outgoing_handler_error_code_t code;
  bool ok = wasi_http_outgoing_handler_handle(request, NULL, &future, &code);
  free(authority);
  free(path);
  if (!ok) {
    wasi_http_types_outgoing_body_drop_own(out_body);
    bool r = transport_error(&code, url, err);
    wasi_http_types_error_code_free(&code);
    return r;
  }
  bool sent = !body || send_body(out_body, body, body_len);
  if (sent) {
    wasi_http_types_error_code_t finish_err;
    if (!wasi_http_types_static_outgoing_body_finish(out_body, NULL, &finish_err))
      wasi_http_types_error_code_free(&finish_err);
  } else {
    // Dropped unfinished, the body tells the host the request failed. The
    // host may have refused the request meanwhile (a denied origin closes
    // the body stream): the response below then says why.
    wasi_http_types_outgoing_body_drop_own(out_body);
  }

  wasi_http_types_borrow_future_incoming_response_t fut = wasi_http_types_borrow_future_incoming_response(future);
  wasi_io_poll_own_pollable_t pollable = wasi_http_types_method_future_incoming_response_subscribe(fut);
  wasi_io_poll_method_pollable_block(wasi_io_poll_borrow_pollable(pollable));
  wasi_io_poll_pollable_drop_own(pollable);

  wasi_http_types_result_result_own_incoming_response_error_code_void_t result;
  bool ready = wasi_http_types_method_future_incoming_response_get(fut, &result);
  wasi_http_types_future_incoming_response_drop_own(future);
  if (!ready || result.is_err) return gyre_fail(err, GYRE_INTERNAL, "the host did not answer %s", url);
  if (result.val.ok.is_err) {
    bool r = transport_error(&result.val.ok.val.err, url, err);
    wasi_http_types_error_code_free(&result.val.ok.val.err);
    return r;
  }
  if (!sent) {
    wasi_http_types_incoming_response_drop_own(result.val.ok.val.ok);
    return gyre_fail_upstream(err, 502, "sending the body of %s failed", url);
  }
  wasi_http_types_own_incoming_response_t incoming = result.val.ok.val.ok;
  wasi_http_types_borrow_incoming_response_t resp = wasi_http_types_borrow_incoming_response(incoming);
  response->status = wasi_http_types_method_incoming_response_status(resp);

  wasi_http_types_own_incoming_body_t in_body;
  if (!wasi_http_types_method_incoming_response_consume(resp, &in_body)) {
    wasi_http_types_incoming_response_drop_own(incoming);
    return gyre_fail(err, GYRE_INTERNAL, "the body of %s was already taken", url);
  }
  wasi_io_streams_own_input_stream_t stream;
  wasi_http_types_method_incoming_body_stream(wasi_http_types_borrow_incoming_body(in_body), &stream);
  size_t cap = 0;
  bool failed = false, too_large = false;
  for (;;) {
    plugin_list_u8_t chunk;
    wasi_io_streams_stream_error_t serr;
    if (!wasi_io_streams_method_input_stream_blocking_read(wasi_io_streams_borrow_input_stream(stream), 65536,
                                                           &chunk, &serr)) {
      bool closed = serr.tag == WASI_IO_STREAMS_STREAM_ERROR_CLOSED;
      if (!closed) wasi_io_streams_stream_error_free(&serr);
      failed = !closed;
      break;
    }
    if (chunk.len > max_response - response->body_len) {
      plugin_list_u8_free(&chunk);
      too_large = true;
      break;
    }
    if (response->body_len + chunk.len > cap) {
      cap = (response->body_len + chunk.len) * 2;
      if (cap > max_response) cap = max_response;
      uint8_t *grown = realloc(response->body, cap ? cap : 1);
      if (!grown) abort();
      response->body = grown;
    }
    if (chunk.len) memcpy(response->body + response->body_len, chunk.ptr, chunk.len);
    response->body_len += chunk.len;
    plugin_list_u8_free(&chunk);
  }
  // A stream is a child of its body, the body of its response: drop them
  // in that order, or the component traps.
  wasi_io_streams_input_stream_drop_own(stream);
  wasi_http_types_incoming_body_drop_own(in_body);
  wasi_http_types_incoming_response_drop_own(incoming);
  if (failed || too_large) {
    gyre_http_response_free(response);
    if (too_large)
      return gyre_fail_upstream(err, 502, "the response of %s is larger than %zu bytes", url, max_response);
    return gyre_fail_upstream(err, 502, "reading the response of %s failed", url);
  }
  return true;
}

bool gyre_http_get(const char *url, const char *accept, gyre_http_response_t *response,
                   gyre_error_t *err) {
  return gyre_http_request("GET", url, accept, NULL, NULL, 0, GYRE_HTTP_MAX_RESPONSE, response, err);
}

bool gyre_http_post(const char *url, const char *content_type, const uint8_t *body,
                    size_t body_len, const char *accept, gyre_http_response_t *response,
                    gyre_error_t *err) {
  return gyre_http_request("POST", url, accept, content_type, body ? body : (const uint8_t *)"",
                           body_len, GYRE_HTTP_MAX_RESPONSE, response, err);
}
#endif
