//! Bounded capture of a guest's stdout and stderr. A flood is truncated,
//! never an error: the guest keeps running and the host keeps its memory.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

#[derive(Clone)]
pub struct BoundedOutput {
    inner: Arc<Mutex<Captured>>,
}

#[derive(Default)]
struct Captured {
    bytes: Vec<u8>,
    cap: usize,
    /// What is shown after redaction; `cap` keeps a little more.
    shown: usize,
    dropped: u64,
}

impl BoundedOutput {
    pub fn new(cap: usize) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Captured {
                cap,
                ..Captured::default()
            })),
        }
    }

    fn push(&self, data: &[u8]) {
        let mut c = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let room = c.cap.saturating_sub(c.bytes.len());
        let keep = room.min(data.len());
        c.bytes.extend_from_slice(&data[..keep]);
        c.dropped += (data.len() - keep) as u64;
    }

    /// Keeps `slack` bytes beyond the cap, so that [`BoundedOutput::take`]
    /// can redact a secret value straddling the cut before cutting.
    pub fn with_slack(cap: usize, slack: usize) -> Self {
        let out = Self::new(cap.saturating_add(slack));
        out.inner.lock().unwrap_or_else(|p| p.into_inner()).shown = cap;
        out
    }

    /// The captured text (lossy UTF-8, redacted, cut to the cap) and how
    /// many bytes were dropped.
    pub fn take(&self, secrets: &super::secrets::SecretValues) -> (String, u64) {
        let mut c = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut text = secrets.redact(&String::from_utf8_lossy(&c.bytes));
        let shown = if c.shown == 0 { c.cap } else { c.shown };
        let mut dropped = std::mem::take(&mut c.dropped);
        if text.len() > shown {
            let mut end = shown;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            dropped += (text.len() - end) as u64;
            text.truncate(end);
        }
        c.bytes.clear();
        (text, dropped)
    }
}

impl IsTerminal for BoundedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for BoundedOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl AsyncWrite for BoundedOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.push(buf);
        // Report everything as written, kept or not.
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_is_truncated_and_counted() {
        let out = BoundedOutput::new(10);
        out.push(b"0123456789abcdef");
        out.push(b"more");
        let (text, dropped) = out.take(&Default::default());
        assert_eq!(text, "0123456789");
        assert_eq!(dropped, 10);
    }

    #[test]
    fn a_secret_straddling_the_cut_is_redacted_before_cutting() {
        let mut granted = std::collections::BTreeMap::new();
        granted.insert(
            "T".parse().unwrap(),
            gyre_manifest::SecretSource::Value("abcdefgh".into()),
        );
        let secrets = crate::caps::secrets::SecretValues::resolve(&granted).unwrap();
        let out = BoundedOutput::with_slack(10, secrets.longest());
        out.push(b"123456abcdefgh-tail");
        let (text, _) = out.take(&secrets);
        assert!(!text.contains("abcd"), "{text}");
    }
}
