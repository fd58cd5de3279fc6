//! Outbound HTTP (`wasi:http/outgoing-handler`), deny by default.
//!
//! A request leaves the sandbox only when its origin matches both an origin
//! the plugin requested and one the user granted. The host then resolves the
//! name itself and connects to the address it checked, never re-resolving,
//! so DNS rebinding cannot swap in another address. Loopback, private,
//! link-local (cloud metadata) and other special addresses are refused unless
//! the grant names that address explicitly. Redirects are handed back to the
//! guest, never followed, so every hop is checked again. Timeouts are clamped
//! and bodies capped whatever the guest asks.

use crate::HostLimits;
use crate::invocation::Denial;
use bytes::Bytes;
use gyre_manifest::{Effective, Origin, OriginPattern, Scheme};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpStream;
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Name resolution, pluggable so that a deployment (or a test) can pin
/// names to addresses like curl's `--resolve`.
pub trait Resolve: Send + Sync {
    fn lookup(&self, host: &str, port: u16) -> BoxFuture<std::io::Result<Vec<IpAddr>>>;
}

/// The operating system's resolver.
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn lookup(&self, host: &str, port: u16) -> BoxFuture<std::io::Result<Vec<IpAddr>>> {
        let host = host.to_string();
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host.as_str(), port))
                .await?
                .map(|a| a.ip())
                .collect())
        })
    }
}

/// Fixed answers for some names; every other name goes to `fallback`, or
/// does not resolve when there is none.
#[derive(Default)]
pub struct StaticResolver {
    pub entries: HashMap<String, Vec<IpAddr>>,
    pub fallback: Option<Arc<dyn Resolve>>,
}

impl StaticResolver {
    pub fn new(fallback: Option<Arc<dyn Resolve>>) -> Self {
        Self {
            entries: HashMap::new(),
            fallback,
        }
    }
    pub fn insert(&mut self, host: &str, addr: IpAddr) {
        self.entries
            .entry(host.to_ascii_lowercase())
            .or_default()
            .push(addr);
    }
}

impl Resolve for StaticResolver {
    fn lookup(&self, host: &str, port: u16) -> BoxFuture<std::io::Result<Vec<IpAddr>>> {
        if let Some(addrs) = self.entries.get(&host.to_ascii_lowercase()) {
            let addrs = addrs.clone();
            return Box::pin(async move { Ok(addrs) });
        }
        match &self.fallback {
            Some(f) => f.lookup(host, port),
            None => {
                let host = host.to_string();
                Box::pin(async move {
                    Err(std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        format!("{host} does not resolve"),
                    ))
                })
            }
        }
    }
}

/// Why an address is not a public internet address, if it is not.
pub fn special_address(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return special_v4(v4);
            }
            let seg = v6.segments();
            let embedded = Ipv4Addr::new(
                (seg[6] >> 8) as u8,
                seg[6] as u8,
                (seg[7] >> 8) as u8,
                seg[7] as u8,
            );
            if seg[..6] == [0; 6] && !v6.is_loopback() && !v6.is_unspecified() {
                // IPv4-compatible (::a.b.c.d), deprecated but still routed
                // by some stacks.
                return special_v4(embedded).or(Some("IPv4-compatible"));
            }
            if seg[..4] == [0, 0, 0, 0] && seg[4] == 0xffff && seg[5] == 0 {
                // IPv4-translated (::ffff:0:a.b.c.d).
                return special_v4(embedded).or(Some("IPv4-translated"));
            }
            if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_unspecified() {
                Some("unspecified")
            } else if v6.is_multicast() {
                Some("multicast")
            } else if seg[0] & 0xffc0 == 0xfe80 {
                Some("link-local")
            } else if seg[0] & 0xfe00 == 0xfc00 {
                Some("private (unique local)")
            } else if seg[0] & 0xffc0 == 0xfec0 {
                Some("site-local")
            } else if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2] == 0x0001 {
                Some("local-use NAT64")
            } else if seg[0] == 0x64 && seg[1] == 0xff9b {
                // NAT64: judge the embedded IPv4 address.
                special_v4(embedded)
            } else if seg[0] == 0x0100 && seg[1..4] == [0, 0, 0] {
                Some("discard-only")
            } else if seg[0] == 0x2001 && seg[1] == 0x0db8 {
                Some("documentation")
            } else {
                None
            }
        }
    }
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some(if o == [169, 254, 169, 254] {
            "cloud metadata"
        } else {
            "link-local"
        })
    } else if ip.is_unspecified() || o[0] == 0 {
        Some("unspecified")
    } else if ip.is_broadcast() || ip.is_multicast() || o[0] >= 240 {
        Some("broadcast, multicast or reserved")
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        Some("shared address space (CGNAT)")
    } else if o[0] == 198 && (o[1] & 0xfe) == 18 {
        Some("benchmarking")
    } else if ip.is_documentation() {
        Some("documentation")
    } else if o == [168, 63, 129, 16] {
        Some("cloud metadata (Azure WireServer)")
    } else if o[0] == 192 && o[1] == 0 && o[2] == 0 {
        Some("IETF protocol assignments")
    } else {
        None
    }
}

/// The checked outcome of an egress request: where to connect.
pub struct Destination {
    pub origin: Origin,
    pub addrs: Vec<SocketAddr>,
}

/// A refusal, with the error code the guest sees.
pub struct Refusal {
    pub detail: String,
    pub code: HttpError,
}

pub struct EgressPolicy {
    effective: Effective,
    resolver: Arc<dyn Resolve>,
    connect: Duration,
    first_byte: Duration,
    between_bytes: Duration,
    max_request: u64,
    max_response: u64,
}

impl EgressPolicy {
    pub fn new(effective: Effective, resolver: Arc<dyn Resolve>, limits: &HostLimits) -> Self {
        Self {
            effective,
            resolver,
            connect: limits.max_http_connect,
            first_byte: limits.max_http_first_byte,
            between_bytes: limits.max_http_between_bytes,
            max_request: limits.max_http_request_bytes,
            max_response: limits.max_http_response_bytes,
        }
    }

    pub fn granted(&self) -> &[OriginPattern] {
        &self.effective.http_granted
    }

    /// Decides whether `scheme://authority` may be reached, and at which
    /// addresses.
    pub async fn check(&self, scheme: Scheme, authority: &str) -> Result<Destination, Refusal> {
        let origin = Origin::from_parts(scheme, authority).map_err(|e| Refusal {
            detail: format!("{authority}: {e}"),
            code: HttpError::HttpRequestUriInvalid,
        })?;
        let Some(pattern) = self.effective.allowed_origin(&origin) else {
            return Err(Refusal {
                detail: format!("{origin} is not a granted origin"),
                code: HttpError::HttpRequestDenied,
            });
        };
        let candidates = match origin.host.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => match tokio::time::timeout(
                self.connect,
                self.resolver.lookup(&origin.host, origin.port),
            )
            .await
            {
                Ok(Ok(addrs)) if !addrs.is_empty() => addrs,
                Ok(Ok(_)) | Ok(Err(_)) => {
                    return Err(Refusal {
                        detail: format!("{} does not resolve", origin.host),
                        code: HttpError::DnsError {
                            rcode: Some("NXDOMAIN".into()),
                            info_code: None,
                        },
                    });
                }
                Err(_) => {
                    return Err(Refusal {
                        detail: format!("resolving {} timed out", origin.host),
                        code: HttpError::DnsTimeout,
                    });
                }
            },
        };
        let mut addrs = Vec::new();
        let mut refused = Vec::new();
        for ip in candidates {
            match special_address(ip) {
                Some(kind) if !pattern.names_address(ip) => refused.push(format!("{ip} ({kind})")),
                _ => addrs.push(SocketAddr::new(ip, origin.port)),
            }
        }
        if addrs.is_empty() {
            return Err(Refusal {
                detail: format!(
                    "{origin} resolves to {}, which the grant {pattern} does not name; grant the address itself to allow it",
                    refused.join(", ")
                ),
                code: HttpError::DestinationIpProhibited,
            });
        }
        Ok(Destination { origin, addrs })
    }

    fn clamp(&self, asked: Option<Duration>, ceiling: Duration) -> Duration {
        asked.map_or(ceiling, |d| d.min(ceiling))
    }
}

/// The `wasi:http` hooks for one store: every outgoing request goes
/// through the policy.
pub struct EgressHooks {
    pub policy: Arc<EgressPolicy>,
    pub denials: Arc<Mutex<crate::state::Denials>>,
}

fn tls_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.into(),
            };
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map(|b| b.with_root_certificates(roots).with_no_client_auth());
            Arc::new(match config {
                Ok(c) => c,
                // The ring provider supports the safe defaults; this arm
                // only keeps the host panic-free if that ever changes.
                Err(_) => rustls::ClientConfig::builder()
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth(),
            })
        })
        .clone()
}

trait Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static> Stream for T {}

impl WasiHttpHooks for EgressHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (
                        http::Response<WasiBody>,
                        Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                    ),
                    HttpError,
                >,
            > + Send,
    > {
        let policy = self.policy.clone();
        let denials = self.denials.clone();
        Box::new(async move {
            let scheme = match request.uri().scheme_str() {
                Some("https") => Scheme::Https,
                Some("http") => Scheme::Http,
                _ => return Err(HttpError::HttpProtocolError),
            };
            let authority = request
                .uri()
                .authority()
                .map(|a| a.as_str().to_string())
                .unwrap_or_default();
            let destination = match policy.check(scheme, &authority).await {
                Ok(d) => d,
                Err(refusal) => {
                    // Logged with the rest of the call's denials, redacted,
                    // when the call ends: the detail holds guest input.
                    denials
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(Denial::http(refusal.detail));
                    return Err(refusal.code);
                }
            };
            send(&policy, destination, request, options).await
        })
    }
}

async fn send(
    policy: &EgressPolicy,
    destination: Destination,
    request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
) -> Result<
    (
        http::Response<WasiBody>,
        Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ),
    HttpError,
> {
    let connect_timeout = policy.clamp(options.and_then(|o| o.connect_timeout), policy.connect);
    let first_byte = policy.clamp(
        options.and_then(|o| o.first_byte_timeout),
        policy.first_byte,
    );
    let between_bytes = policy.clamp(
        options.and_then(|o| o.between_bytes_timeout),
        policy.between_bytes,
    );

    let mut tcp = None;
    let mut last_error = HttpError::ConnectionRefused;
    for addr in &destination.addrs {
        match tokio::time::timeout(connect_timeout, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                tcp = Some(stream);
                break;
            }
            Ok(Err(e)) => last_error = HttpError::Connect(e),
            Err(_) => last_error = HttpError::ConnectionTimeout,
        }
    }
    let tcp = tcp.ok_or(last_error)?;
    let stream: Box<dyn Stream> = match destination.origin.scheme {
        Scheme::Http => Box::new(tcp),
        Scheme::Https => {
            let name = rustls::pki_types::ServerName::try_from(destination.origin.host.clone())
                .map_err(|_| HttpError::TlsCertificateError)?;
            let connector = tokio_rustls::TlsConnector::from(tls_config());
            let tls = tokio::time::timeout(connect_timeout, connector.connect(name, tcp))
                .await
                .map_err(|_| HttpError::ConnectionTimeout)?
                .map_err(HttpError::Tls)?;
            Box::new(tls)
        }
    };
    let (mut sender, conn) = tokio::time::timeout(
        connect_timeout,
        hyper::client::conn::http1::handshake(TokioIo::new(stream)),
    )
    .await
    .map_err(|_| HttpError::ConnectionTimeout)?
    .map_err(HttpError::Hyper)?;
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let _ = done_tx.send(conn.await.map_err(HttpError::Hyper));
    });

    let (mut parts, body) = request.into_parts();
    // Origin-form on the wire: the authority travels in the Host header.
    parts.uri = http::Uri::builder()
        .path_and_query(
            parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/"),
        )
        .build()
        .map_err(|_| HttpError::HttpRequestUriInvalid)?;
    let body = Limited::new(body, policy.max_request, true, None).boxed_unsync();
    let response = tokio::time::timeout(
        first_byte,
        sender.send_request(http::Request::from_parts(parts, body)),
    )
    .await
    .map_err(|_| HttpError::ConnectionReadTimeout)?
    .map_err(HttpError::Hyper)?;
    let response = response.map(|incoming| {
        let incoming = incoming.map_err(HttpError::Hyper);
        Limited::new(incoming, policy.max_response, false, Some(between_bytes)).boxed_unsync()
    });
    let io = async move { done_rx.await.unwrap_or(Ok(())) };
    Ok((response, Box::new(io)))
}

/// A body cut off with an error past `max` bytes, and (for responses) when
/// no frame arrives within `idle`.
struct Limited<B> {
    inner: B,
    seen: u64,
    max: u64,
    is_request: bool,
    idle: Option<Duration>,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<B> Limited<B> {
    fn new(inner: B, max: u64, is_request: bool, idle: Option<Duration>) -> Self {
        Self {
            inner,
            seen: 0,
            max,
            is_request,
            idle,
            timer: idle.map(|d| Box::pin(tokio::time::sleep(d))),
        }
    }
}

impl<B> Body for Limited<B>
where
    B: Body<Data = Bytes, Error = HttpError> + Unpin,
{
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.seen += data.len() as u64;
                    if this.seen > this.max {
                        return Poll::Ready(Some(Err(if this.is_request {
                            HttpError::HttpRequestBodySize(Some(this.max))
                        } else {
                            HttpError::HttpResponseBodySize(Some(this.max))
                        })));
                    }
                }
                if let (Some(timer), Some(idle)) = (this.timer.as_mut(), this.idle) {
                    timer.as_mut().reset(tokio::time::Instant::now() + idle);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending => {
                if let Some(timer) = this.timer.as_mut() {
                    if timer.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(Some(Err(HttpError::ConnectionReadTimeout)));
                    }
                }
                Poll::Pending
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_addresses_are_recognized_in_every_spelling() {
        for (ip, kind) in [
            ("127.0.0.1", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "cloud metadata"),
            ("0.0.0.0", "unspecified"),
            ("100.64.0.1", "shared address space (CGNAT)"),
            ("::1", "loopback"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:169.254.169.254", "cloud metadata"),
            ("fe80::1", "link-local"),
            ("fd00:ec2::254", "private (unique local)"),
            ("64:ff9b::7f00:1", "loopback"),
            ("::127.0.0.1", "loopback"),
            ("::ffff:0:a9fe:a9fe", "cloud metadata"),
            ("::8.8.8.8", "IPv4-compatible"),
            ("fec0::1", "site-local"),
            ("64:ff9b:1::1", "local-use NAT64"),
            ("100::1", "discard-only"),
            ("168.63.129.16", "cloud metadata (Azure WireServer)"),
            ("192.0.0.8", "IETF protocol assignments"),
        ] {
            assert_eq!(special_address(ip.parse().unwrap()), Some(kind), "{ip}");
        }
        assert_eq!(special_address("93.184.216.34".parse().unwrap()), None);
        assert_eq!(special_address("2606:2800:220:1::1".parse().unwrap()), None);
    }
}
