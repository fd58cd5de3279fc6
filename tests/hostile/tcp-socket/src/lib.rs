//! Hostile: raw sockets, around the HTTP egress policy.
//!
//! Attack: `TcpStream::connect` to an address from the input (the test
//! listens there) and, if it connects, sends a request line; `TcpListener::bind`
//! on loopback; `UdpSocket::bind` and, with `udp`, a `send_to`; and name
//! resolution of `localhost:80` and of `resolve` through `to_socket_addrs`.
//!
//! Containment: a plugin gets no sockets: the host either links
//! `wasi:sockets` with every address and lookup refused (the guest sees
//! `PermissionDenied`/`AccessDenied`-like errors and the call returns
//! normally with `"ok": false`) or does not link it at all (then this
//! component, which imports it, is refused at instantiation, behave path
//! included). A `ConnectionRefused` error would mean the host let the
//! connect through: the test must check that its listener accepted nothing,
//! and that its UDP socket received nothing.
//!
//! Input: `{"connect": "127.0.0.1:8080", "udp": "127.0.0.1:8081",
//! "resolve": "example.com:443"}`, all optional; `{"behave": true}` returns
//! `{"behaved": true}`.
//! Output: `{"ok": <any socket operation succeeded>, "attempts": [{"op",
//! "target", "ok", "error" | "data"}]}`.
use gyre_sdk::connector::*;
use hostile_report::{attempt, io_error, report};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs, UdpSocket};
use std::time::Duration;

struct TcpSocket;

impl Connector for TcpSocket {
    type Config = Value;

    fn operations() -> Vec<Operation> {
        vec![Operation::new("connect", "Opens raw TCP and UDP sockets.")]
    }

    fn invoke(_: Value, _: &str, input: Value) -> Result<Value, PluginError> {
        if input["behave"] == true {
            return Ok(json!({"behaved": true}));
        }
        let mut attempts = Vec::new();
        if let Some(addr) = input["connect"].as_str() {
            attempts.push(attempt("tcp connect", addr, connect(addr)));
        }
        attempts.push(attempt("tcp listen", "127.0.0.1:0", listen("127.0.0.1:0")));
        attempts.push(attempt("udp bind", "0.0.0.0:0", udp(input["udp"].as_str())));
        attempts.push(attempt("resolve", "localhost:80", resolve("localhost:80")));
        if let Some(name) = input["resolve"].as_str() {
            attempts.push(attempt("resolve", name, resolve(name)));
        }
        Ok(report(attempts))
    }
}

fn connect(addr: &str) -> Result<Value, String> {
    let mut stream = match addr.parse() {
        Ok(sa) => TcpStream::connect_timeout(&sa, Duration::from_secs(2)),
        Err(_) => TcpStream::connect(addr),
    }
    .map_err(io_error)?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    stream
        .write_all(b"GET / HTTP/1.0\r\n\r\n")
        .map_err(|e| format!("connected, then write failed: {}", io_error(e)))?;
    let mut buf = vec![0u8; 256];
    let n = stream.read(&mut buf).unwrap_or(0);
    Ok(json!({"connected": true, "read": String::from_utf8_lossy(&buf[..n])}))
}

fn listen(addr: &str) -> Result<Value, String> {
    let listener = TcpListener::bind(addr).map_err(io_error)?;
    Ok(json!(
        listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default()
    ))
}

fn udp(target: Option<&str>) -> Result<Value, String> {
    let socket = UdpSocket::bind("0.0.0.0:0").map_err(io_error)?;
    let local = socket
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let sent = match target {
        Some(t) => json!(socket.send_to(b"gyre-hostile-udp", t).map_err(io_error)),
        None => Value::Null,
    };
    Ok(json!({"bound": local, "send_to": sent}))
}

fn resolve(name: &str) -> Result<Value, String> {
    let addrs: Vec<String> = name
        .to_socket_addrs()
        .map_err(io_error)?
        .map(|a| a.to_string())
        .collect();
    Ok(json!(addrs))
}

gyre_sdk::export_connector!(TcpSocket);
