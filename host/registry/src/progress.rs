//! Transfer progress, reported to whoever shows it (the CLI draws bars
//! when attached to a terminal; the library itself prints nothing).

pub trait Progress: Send + Sync {
    /// A transfer of `total` bytes named `what` begins.
    fn start(&self, _what: &str, _total: u64) {}
    /// `bytes` more arrived.
    fn advance(&self, _bytes: u64) {}
    /// The current transfer ended.
    fn finish(&self) {}
}

/// Reports nothing.
pub struct Quiet;
impl Progress for Quiet {}
