"""Gyre's Python SDK: write verifiers and connectors for componentize-py.

`gyre build` puts this module on the path of every Python plugin. It turns
plain functions into the exports componentize-py expects, parses JSON
configuration, logs through the host, and, most importantly, turns every
exception into a typed plugin error: an uncaught Python exception in an
export would otherwise trap the component.
"""

import functools
import json
import traceback
from typing import Any, Callable, Dict, List, Optional

from componentize_py_types import Err
from wit_world.imports import log as _log

# componentize-py snapshots the modules imported while it builds: a module
# first imported inside a function at run time is not there. So every
# import is here, guarded where the world may lack it.
try:  # Worlds that also import wasi:http name Gyre's types interface apart.
    from wit_world.imports import gyre_plugin_types as _types
except ImportError:  # pragma: no cover - depends on the world
    from wit_world.imports import types as _types
try:  # Connectors and triggers: wasi:http.
    from wit_world.imports import outgoing_handler as _outgoing
    from wit_world.imports import streams as _streams
    from wit_world.imports import wasi_http_types as _http
except ImportError:  # pragma: no cover - a verifier's world has no HTTP
    _outgoing = _streams = _http = None
try:
    from wit_world.exports import verification as _verification
except ImportError:  # pragma: no cover - not a verifier
    _verification = None
try:
    from wit_world.exports import operations as _operations
except ImportError:  # pragma: no cover - not a connector
    _operations = None
try:
    from wit_world import exports as _exports
except ImportError:  # pragma: no cover
    _exports = None


# --- Errors -----------------------------------------------------------------

class PluginError(Exception):
    """A typed error the host receives as `plugin-error`. Raise a subclass."""

    kind = "internal"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def to_wit(self):
        cls = {
            "invalid-config": _types.PluginError_InvalidConfig,
            "invalid-input": _types.PluginError_InvalidInput,
            "not-found": _types.PluginError_NotFound,
            "denied": _types.PluginError_Denied,
            "unauthorized": _types.PluginError_Unauthorized,
            "internal": _types.PluginError_Internal,
        }[self.kind]
        return cls(self.message)


class InvalidConfig(PluginError):
    kind = "invalid-config"


class InvalidInput(PluginError):
    kind = "invalid-input"


class NotFound(PluginError):
    kind = "not-found"


class Denied(PluginError):
    kind = "denied"


class Unauthorized(PluginError):
    kind = "unauthorized"


class Internal(PluginError):
    kind = "internal"


class Upstream(PluginError):
    kind = "upstream"

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status

    def to_wit(self):
        return _types.PluginError_Upstream(_types.UpstreamFailure(self.status, self.message))


# The WIT `plugin-error` cases: an `Err` carrying one of them is the
# export's own error; any other `Err` (a host call's error that escaped)
# would trap the component if it left an export.
_PLUGIN_ERRORS = tuple(getattr(_types, n) for n in dir(_types) if n.startswith("PluginError_"))


def guard(fn: Callable) -> Callable:
    """Makes an export return a plugin error instead of trapping on any
    exception; unexpected ones become `internal` with their type named and
    the traceback logged."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Err as e:
            if isinstance(e.value, _PLUGIN_ERRORS):
                raise
            log.error("uncaught host error", traceback=traceback.format_exc())
            raise Err(_types.PluginError_Internal(f"a host call failed: {type(e.value).__name__}"))
        except PluginError as e:
            raise Err(e.to_wit())
        except Exception as e:  # noqa: BLE001 - the point is to catch all
            log.error("uncaught exception", traceback=traceback.format_exc())
            raise Err(_types.PluginError_Internal(f"{type(e).__name__}: {e}"))

    return wrapper


# --- JSON and configuration ------------------------------------------------

def parse_json(text, what: str, error=InvalidInput) -> Any:
    """Parses `text` (str or bytes) as JSON, or raises `error` naming `what`."""
    try:
        return json.loads(text)
    except (ValueError, UnicodeDecodeError) as e:
        raise error(f"{what} is not valid JSON: {e}")


def config(text: str, **defaults) -> Dict[str, Any]:
    """The user's configuration: a JSON object, with `defaults` for absent keys."""
    value = parse_json(text or "{}", "the configuration", InvalidConfig)
    if not isinstance(value, dict):
        raise InvalidConfig("the configuration must be a JSON object")
    return {**defaults, **value}


def number(obj: Dict[str, Any], key: str, what: str, error=InvalidInput) -> float:
    """`obj[key]` as a number (not a bool), or `error` naming `what`."""
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise error(f"{what} must be a number")
    return float(value)


# --- Logging -----------------------------------------------------------------

class log:
    """Structured log lines, captured by the host per call."""

    @staticmethod
    def _emit(level, message: str, fields: Dict[str, Any]) -> None:
        _log.emit(level, message, [_log.Field(k, str(v)) for k, v in fields.items()])

    @staticmethod
    def debug(message: str, **fields) -> None:
        log._emit(_log.Level.DEBUG, message, fields)

    @staticmethod
    def info(message: str, **fields) -> None:
        log._emit(_log.Level.INFO, message, fields)

    @staticmethod
    def warn(message: str, **fields) -> None:
        log._emit(_log.Level.WARN, message, fields)

    @staticmethod
    def error(message: str, **fields) -> None:
        log._emit(_log.Level.ERROR, message, fields)


# --- Verifiers ---------------------------------------------------------------

def evidence(request, name: str) -> bytes:
    """The data of the first evidence called `name`, or `InvalidInput`."""
    for e in request.evidence:
        if e.name == name:
            return bytes(e.data)
    given = ", ".join(e.name for e in request.evidence) or "none"
    raise InvalidInput(f"evidence {name!r} is missing (given: {given})")


def evidence_json(request, name: str) -> Any:
    return parse_json(evidence(request, name), f"evidence {name!r}")


def finding(severity: str, message: str, file: Optional[str] = None, line: Optional[int] = None):
    v = _verification
    level = {"info": v.Severity.INFO, "warning": v.Severity.WARNING, "error": v.Severity.ERROR}[severity]
    return v.Finding(level, message, file, line)


def verdict(passed: bool, summary: str, score: Optional[float] = None, findings: List = ()):
    return _verification.Verdict(passed, score, summary, list(findings))


def verifier(check: Callable[[Dict[str, Any], Any], Any]):
    """The `Verification` export class for `check(config, request) -> verdict`."""

    class Verification(_exports.Verification):
        @guard
        def verify(self, request):
            return check(config(request.config), request)

    return Verification


# --- Connectors --------------------------------------------------------------

def operation(name: str, description: str, input_schema: Dict[str, Any], read_only: bool = True):
    return _operations.Operation(name, description, json.dumps(input_schema), read_only)


def connector(operations: List, invoke: Callable[[Dict[str, Any], str, Any], Any]):
    """The `Operations` export class: `invoke(config, operation, input)`
    returns any JSON-serializable value."""

    class Operations(_exports.Operations):
        def describe(self):
            return list(operations)

        @guard
        def invoke(self, config_text, name, input_text):
            known = [op.name for op in operations]
            if name not in known:
                raise NotFound(f"unknown operation {name!r}; this connector offers {', '.join(known)}")
            cfg = config(config_text)
            value = parse_json(input_text or "{}", "the input")
            if not isinstance(value, dict):
                raise InvalidInput("the input must be a JSON object")
            return json.dumps(invoke(cfg, name, value))

    return Operations


# --- HTTP (connector and trigger worlds) -----------------------------------

class Response:
    def __init__(self, status: int, headers: List, body: bytes):
        self.status, self.headers, self.body = status, headers, body

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON; a body that is not JSON raises `Upstream`."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as e:
            raise Upstream(self.status, f"response is not JSON: {e}")


def request(method: str, url: str, headers: Optional[Dict[str, str]] = None,
            body: Optional[bytes] = None, max_bytes: int = 16 << 20) -> Response:
    """One blocking HTTP request through the host. A refused origin or
    address raises `Denied`; a transport failure raises `Upstream(502, ...)`.
    Every failure is a `PluginError`: none escapes as a host `Err`, which
    would trap the component."""
    if _http is None:
        if _verification is not None:
            raise Internal("a verifier has no HTTP (only connectors and triggers do)")
        raise Denied(
            "this plugin was built without HTTP because its gyre.toml requests no origin; "
            "add [capabilities] http = [\"https://...\"] and build again"
        )
    try:
        return _request(method, url, headers, body, max_bytes)
    except PluginError:
        raise
    except Err as e:
        raise Upstream(502, f"{url}: the host refused the request: {type(e.value).__name__}")
    except Exception as e:  # noqa: BLE001 - no failure may trap the component
        raise Internal(f"http {url}: {type(e).__name__}: {e}")


def _request(method: str, url: str, headers: Optional[Dict[str, str]],
             body: Optional[bytes], max_bytes: int) -> Response:
    h, streams, outgoing_handler = _http, _streams, _outgoing
    # urllib is not bundled: split "scheme://authority/path?query" here.
    scheme, sep, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    authority, question, query = authority.partition("?")
    if scheme not in ("http", "https") or not sep or not authority:
        raise InvalidInput(f"{url!r} is not an http(s) URL")
    path_with_query = "/" + path if slash else "/"
    if question:
        path_with_query += "?" + query
    fields = h.Fields.from_list([(k.lower(), v.encode()) for k, v in (headers or {}).items()])
    req = h.OutgoingRequest(fields)
    methods = {"GET": h.Method_Get(), "POST": h.Method_Post(), "PUT": h.Method_Put(),
               "PATCH": h.Method_Patch(), "DELETE": h.Method_Delete(), "HEAD": h.Method_Head()}
    req.set_method(methods.get(method.upper(), h.Method_Other(method)))
    req.set_scheme(h.Scheme_Https() if scheme == "https" else h.Scheme_Http())
    req.set_authority(authority)
    req.set_path_with_query(path_with_query)
    out_body = req.body()
    try:
        future = outgoing_handler.handle(req, None)
    except Err as e:
        raise _transport_error(e.value, url)
    sent = True
    if body:
        stream = out_body.write()
        try:
            for i in range(0, len(body), 4096):
                stream.blocking_write_and_flush(body[i:i + 4096])
        except Err:
            # The host may have refused the request meanwhile (a denied
            # origin closes the body stream): the response says why.
            sent = False
        finally:
            # A stream is a child of its body: dropped first, whatever
            # happened, or the component traps.
            stream.__exit__(None, None, None)
    if sent:
        h.OutgoingBody.finish(out_body, None)
    else:
        out_body.__exit__(None, None, None)
    pollable = future.subscribe()
    pollable.block()
    result = future.get()
    if result is None or isinstance(result, Err):
        raise Internal("the host answered an HTTP request twice")
    inner = result.value
    if isinstance(inner, Err):
        raise _transport_error(inner.value, url)
    if not sent:
        raise Upstream(502, f"sending the body of {url} failed")
    response = inner.value
    status = response.status()
    response_headers = [(k, v.decode("latin-1")) for k, v in response.headers().entries()]
    incoming = response.consume()
    stream = incoming.stream()
    data = bytearray()
    try:
        while True:
            try:
                chunk = stream.blocking_read(64 * 1024)
            except Err as e:
                if isinstance(e.value, streams.StreamError_Closed):
                    break
                raise Upstream(502, f"reading the response from {url} failed")
            data.extend(chunk)
            if len(data) > max_bytes:
                raise Upstream(502, f"the response from {url} is larger than {max_bytes} bytes")
    finally:
        # A stream is a child of its body: drop it first, on every path, or
        # the component traps.
        stream.__exit__(None, None, None)
        incoming.__exit__(None, None, None)
    return Response(status, response_headers, bytes(data))


def _transport_error(code, url: str) -> PluginError:
    # The host's refusals, an origin not granted or a granted name resolving
    # to an address the grant does not name (loopback, private, cloud
    # metadata), are `Denied`; anything else is the upstream's failure.
    if isinstance(code, _http.ErrorCode_HttpRequestDenied):
        return Denied(f"http {url}: the host did not grant this origin")
    if isinstance(code, _http.ErrorCode_DestinationIpProhibited):
        return Denied(f"http {url}: the host refused the address it resolves to")
    return Upstream(502, f"{url}: {type(code).__name__.removeprefix('ErrorCode_')}")


def get_json(url: str, headers: Optional[Dict[str, str]] = None) -> Any:
    """GET `url` and parse its JSON body; a non-2xx status raises `Upstream`."""
    response = request("GET", url, headers)
    if not 200 <= response.status < 300:
        raise Upstream(response.status, f"GET {url} answered {response.status}: {response.text()[:200]}")
    return response.json()
