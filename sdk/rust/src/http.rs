//! A small blocking HTTP client over `wasi:http`.
//!
//! Every request goes through the host's egress policy: only origins the
//! user granted are reachable, and redirects are returned to the plugin, not
//! followed, so each hop is checked again.

use crate::PluginError;
use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, Fields, IncomingBody, Method, OutgoingBody, OutgoingRequest, Scheme,
};

/// The largest response body [`send`] reads by default.
pub const DEFAULT_MAX_BODY: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Responses larger than this are cut off with an error.
    pub max_body: usize,
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn new(method: &str, url: impl Into<String>) -> Self {
        Self {
            method: method.to_ascii_uppercase(),
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
            max_body: DEFAULT_MAX_BODY,
        }
    }
    pub fn get(url: impl Into<String>) -> Self {
        Self::new("GET", url)
    }
    pub fn post(url: impl Into<String>) -> Self {
        Self::new("POST", url)
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
    /// A JSON body, with its content type.
    pub fn json(self, value: &serde_json::Value) -> Self {
        let mut req = self.header("content-type", "application/json");
        req.body = value.to_string().into_bytes();
        req
    }
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }
    pub fn send(self) -> Result<Response, HttpError> {
        send(self)
    }
}

impl Response {
    /// A response built by hand, e.g. to test a plugin's handling of
    /// upstream answers without a server.
    pub fn new(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Self {
        Self {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.to_vec(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> Result<serde_json::Value, PluginError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| PluginError::upstream(self.status, format!("response is not JSON: {e}")))
    }
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// At most `max` characters of `text` on one line (control characters
/// become spaces), for error messages that quote an upstream's answer.
pub fn excerpt(text: &str, max: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match flat.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &flat[..i]),
        None => flat,
    }
}

/// Why a request did not produce a response.
#[derive(Debug, Clone)]
pub enum HttpError {
    /// The host's egress policy refused the destination.
    Denied(String),
    /// The URL or request could not be built.
    Invalid(String),
    /// Connection, TLS, timeout or protocol failure.
    Transport(String),
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Denied(m) => write!(f, "denied by the host: {m}"),
            Self::Invalid(m) => write!(f, "invalid request: {m}"),
            Self::Transport(m) => write!(f, "transport error: {m}"),
        }
    }
}

impl From<HttpError> for PluginError {
    fn from(e: HttpError) -> Self {
        match e {
            HttpError::Denied(m) => PluginError::Denied(m),
            HttpError::Invalid(m) => PluginError::InvalidInput(m),
            HttpError::Transport(m) => PluginError::upstream(502, m),
        }
    }
}

fn transport(code: ErrorCode) -> HttpError {
    match code {
        ErrorCode::HttpRequestDenied => HttpError::Denied("outbound request not allowed".into()),
        ErrorCode::DestinationIpProhibited => {
            HttpError::Denied("destination address is prohibited".into())
        }
        other => HttpError::Transport(format!("{other:?}")),
    }
}

struct Url<'a> {
    scheme: Scheme,
    authority: &'a str,
    path: &'a str,
}

fn parse_url(url: &str) -> Result<Url<'_>, HttpError> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| HttpError::Invalid(format!("{url:?} has no scheme")))?;
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => return Err(HttpError::Invalid(format!("unsupported scheme {other:?}"))),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(HttpError::Invalid(format!("{url:?} has no host")));
    }
    Ok(Url {
        scheme,
        authority,
        path,
    })
}

fn write_body(body: &OutgoingBody, data: &[u8]) -> Result<(), HttpError> {
    let stream = body
        .write()
        .map_err(|_| HttpError::Invalid("the request body stream was already taken".into()))?;
    for chunk in data.chunks(4096) {
        stream
            .blocking_write_and_flush(chunk)
            .map_err(|e| HttpError::Transport(format!("writing body: {e:?}")))?;
    }
    Ok(())
}

/// Sends `request` and reads the whole response.
pub fn send(request: Request) -> Result<Response, HttpError> {
    let url = parse_url(&request.url)?;
    let headers = Fields::new();
    let has_length = request
        .headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-length"));
    if !request.body.is_empty() && !has_length {
        // A known length spares servers that dislike chunked uploads.
        headers
            .append("content-length", request.body.len().to_string().as_bytes())
            .map_err(|e| HttpError::Invalid(format!("content-length: {e:?}")))?;
    }
    for (name, value) in &request.headers {
        headers
            .append(name, value.as_bytes())
            .map_err(|e| HttpError::Invalid(format!("header {name}: {e:?}")))?;
    }
    let outgoing = OutgoingRequest::new(headers);
    let method = match request.method.as_str() {
        "GET" => Method::Get,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "PATCH" => Method::Patch,
        "DELETE" => Method::Delete,
        "HEAD" => Method::Head,
        "OPTIONS" => Method::Options,
        other => Method::Other(other.to_string()),
    };
    let invalid = |what: &str| HttpError::Invalid(format!("{what} rejected: {}", request.url));
    outgoing
        .set_method(&method)
        .map_err(|_| invalid("method"))?;
    outgoing
        .set_scheme(Some(&url.scheme))
        .map_err(|_| invalid("scheme"))?;
    outgoing
        .set_authority(Some(url.authority))
        .map_err(|_| invalid("authority"))?;
    outgoing
        .set_path_with_query(Some(url.path))
        .map_err(|_| invalid("path"))?;

    let body = outgoing.body().map_err(|_| invalid("body"))?;
    let future = outgoing_handler::handle(outgoing, None).map_err(transport)?;
    let written = write_body(&body, &request.body)
        .and_then(|()| OutgoingBody::finish(body, None).map_err(transport));

    future.subscribe().block();
    let answer = future.get();
    if let Err(write_error) = written {
        // The host may refuse the request while its body is written (a
        // denied origin): the response then says why, which is the error
        // to report, not the closed stream.
        return Err(match answer {
            Some(Ok(Err(code))) => transport(code),
            _ => write_error,
        });
    }
    let incoming = match answer {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(code))) => return Err(transport(code)),
        Some(Err(())) | None => return Err(HttpError::Transport("response already taken".into())),
    };
    let status = incoming.status();
    let headers = incoming
        .headers()
        .entries()
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
        .collect();
    let body_handle = incoming
        .consume()
        .map_err(|_| HttpError::Transport("response body already consumed".into()))?;
    let body = read_body(&body_handle, request.max_body)?;
    drop(body_handle);
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn read_body(body: &IncomingBody, max: usize) -> Result<Vec<u8>, HttpError> {
    let stream = body
        .stream()
        .map_err(|_| HttpError::Transport("response body stream unavailable".into()))?;
    let mut out = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => {
                if out.len() + chunk.len() > max {
                    return Err(HttpError::Transport(format!(
                        "response body exceeds {max} bytes"
                    )));
                }
                out.extend_from_slice(&chunk);
            }
            Err(wasip2::io::streams::StreamError::Closed) => break,
            Err(e) => return Err(HttpError::Transport(format!("reading body: {e:?}"))),
        }
    }
    Ok(out)
}
