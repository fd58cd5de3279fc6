// Gyre's JavaScript SDK, HTTP for connectors: `gyre build` writes this file
// beside your index.js; import it as './gyre-http.js' (only in a connector:
// a verifier's world has no wasi:http).
//
// It calls the host's wasi:http directly rather than `fetch`: fetch is
// asynchronous and reports every failure as the same NetworkError, while a
// plugin must answer `denied` when the host refused an origin.
import { handle } from 'wasi:http/outgoing-handler@0.2.12';
import { Fields, OutgoingBody, OutgoingRequest } from 'wasi:http/types@0.2.12';
import { denied, invalidInput, upstream } from './gyre.js';

export class Response {
  constructor(status, headers, body) {
    this.status = status;
    this.headers = headers;
    this.body = body;
  }
  get ok() {
    return this.status >= 200 && this.status < 300;
  }
  text() {
    return new TextDecoder().decode(this.body);
  }
  /** The body as JSON; a body that is not JSON is an upstream error. */
  json() {
    try {
      return JSON.parse(this.text());
    } catch (e) {
      throw upstream(this.status, `response is not JSON: ${e.message}`);
    }
  }
}

const METHODS = ['get', 'head', 'post', 'put', 'delete', 'connect', 'options', 'trace', 'patch'];

// The host's refusals, an origin not granted or a granted name resolving
// to an address the grant does not name (loopback, private, cloud
// metadata), are `denied`; anything else is the upstream's failure.
function transportError(code, url) {
  if (code?.tag === 'HTTP-request-denied') return denied(`http ${url}: the host did not grant this origin`);
  if (code?.tag === 'destination-IP-prohibited') return denied(`http ${url}: the host refused the address it resolves to`);
  return upstream(502, `${url}: ${code?.tag ?? code}`);
}

/** One blocking HTTP request through the host. A refused origin or
 * address throws `denied`, a transport failure `upstream(502)`. */
export function request(method, url, headers = {}, body = undefined, maxBytes = 16 << 20) {
  const parsed = /^(https?):\/\/([^/?#]+)([^#]*)$/.exec(url);
  if (!parsed) throw invalidInput(`${url} is not an http(s) URL`);
  const [, scheme, authority, rest] = parsed;
  const encoder = new TextEncoder();
  const fields = Fields.fromList(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), encoder.encode(String(v))]));
  const req = new OutgoingRequest(fields);
  const m = method.toLowerCase();
  req.setMethod(METHODS.includes(m) ? { tag: m } : { tag: 'other', val: method });
  req.setScheme({ tag: scheme === 'https' ? 'HTTPS' : 'HTTP' });
  req.setAuthority(authority);
  req.setPathWithQuery(rest.startsWith('/') ? rest : `/${rest}`);
  const outgoing = req.body();
  let future;
  try {
    future = handle(req, undefined);
  } catch (e) {
    throw transportError(e?.payload, url);
  }
  let sent = true;
  if (body !== undefined) {
    const stream = outgoing.write();
    const bytes = typeof body === 'string' ? encoder.encode(body) : body;
    try {
      for (let i = 0; i < bytes.length; i += 4096) stream.blockingWriteAndFlush(bytes.subarray(i, i + 4096));
    } catch {
      // The host may have refused the request meanwhile (a denied origin
      // closes the body stream): the response says why.
      sent = false;
    }
    // A stream is a child of its body: dropped before the body is finished.
    stream[Symbol.dispose]?.();
  }
  if (sent) OutgoingBody.finish(outgoing, undefined);
  future.subscribe().block();
  const result = future.get();
  if (result?.tag !== 'ok') throw upstream(502, `${url}: no response`);
  if (result.val.tag !== 'ok') throw transportError(result.val.val, url);
  if (!sent) throw upstream(502, `sending the body of ${url} failed`);
  const response = result.val.val;
  const status = response.status();
  const responseHeaders = response.headers().entries().map(([k, v]) => [k, new TextDecoder().decode(v)]);
  const stream = response.consume().stream();
  const chunks = [];
  let length = 0;
  for (;;) {
    let chunk;
    try {
      chunk = stream.blockingRead(65536n);
    } catch (e) {
      if (e?.payload?.tag === 'closed') break;
      throw upstream(502, `reading the response of ${url} failed`);
    }
    length += chunk.length;
    if (length > maxBytes) throw upstream(502, `the response of ${url} is larger than ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  const all = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return new Response(status, responseHeaders, all);
}
