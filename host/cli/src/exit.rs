/// The documented exit codes of `gyre`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The call succeeded; a verifier passed.
    Success = 0,
    /// A verifier failed, or the plugin returned an error.
    Failed = 1,
    /// Bad command line, manifest, grants or plugin file.
    Usage = 2,
    /// A budget ran out (fuel, time, memory, sizes) or the plugin trapped.
    Budget = 3,
    /// The plugin reached for a capability it was not granted.
    Denied = 4,
}
