//! Hostile: floods every output channel, then returns normally.
//!
//! Attack: writes `stdout-mib` (64) MiB to stdout and `stderr-mib` (64) MiB
//! to stderr in 64 KiB chunks, emits `log-lines` (200 000) log lines, then
//! one log line whose message is `huge-log-mib` (8) MiB and one whose field
//! value is as large.
//!
//! Containment: the host keeps a bounded amount of each stream and of the
//! logs and drops (or marks as truncated) the rest; it neither traps the
//! guest (a full `MemoryOutputPipe` would) nor grows its own memory with the
//! flood. The call returns this plugin's verdict normally, and the test
//! checks the captured stdout, stderr and logs are each within the host's
//! caps and flagged as truncated. If a write fails, the verdict says when.
//!
//! Config: `{"stdout-mib": 64, "stderr-mib": 64, "log-lines": 200000,
//! "huge-log-mib": 8}`. Benign path: evidence `behave` or config
//! `{"behave": true}` prints one line to each channel and passes.
//! Verdict: `passed: true`, summary `"stdout: wrote A of B bytes; stderr:
//! ...; log: N lines + 2 huge"`, one error finding per failed write.
use gyre_sdk::json::Value;
use gyre_sdk::log::{self, Level};
use gyre_sdk::verifier::*;
use std::io::Write;

const MIB: u64 = 1024 * 1024;

struct OutputFlood;

impl Verifier for OutputFlood {
    type Config = Value;

    fn verify(config: Value, input: Input) -> Result<Verdict, PluginError> {
        if config["behave"] == true || input.get("behave").is_some() {
            println!("output-flood: behaving");
            eprintln!("output-flood: behaving");
            log::info("output-flood: behaving");
            return Ok(Verdict::pass("behaved"));
        }
        let size = |key: &str, default: u64| config[key].as_u64().unwrap_or(default);
        let mut findings = Vec::new();
        let out = flood(
            &mut std::io::stdout().lock(),
            size("stdout-mib", 64) * MIB,
            "stdout",
            &mut findings,
        );
        let err = flood(
            &mut std::io::stderr().lock(),
            size("stderr-mib", 64) * MIB,
            "stderr",
            &mut findings,
        );
        let lines = size("log-lines", 200_000);
        for i in 0..lines {
            log::info(&format!("output-flood: log line {i}"));
        }
        let huge = "L".repeat((size("huge-log-mib", 8) * MIB) as usize);
        log::info(&huge);
        log::with(Level::Info, "output-flood: huge field", &[("huge", &huge)]);
        Ok(Verdict::pass(format!(
            "stdout: {out}; stderr: {err}; log: {lines} lines + 2 huge"
        ))
        .with_findings(findings))
    }
}

/// Writes `total` bytes of recognizable lines to `stream`; stops at the
/// first error and records it.
fn flood(stream: &mut dyn Write, total: u64, name: &str, findings: &mut Vec<Finding>) -> String {
    let line = format!("output-flood {name} {}\n", "x".repeat(64));
    let chunk = line.repeat(64 * 1024 / line.len()).into_bytes();
    let mut written = 0u64;
    while written < total {
        let n = chunk.len().min((total - written) as usize);
        if let Err(e) = stream.write_all(&chunk[..n]).and_then(|_| stream.flush()) {
            findings.push(Finding::error(format!(
                "{name}: write failed after {written} bytes: {e}"
            )));
            break;
        }
        written += n as u64;
    }
    format!("wrote {written} of {total} bytes")
}

gyre_sdk::export_verifier!(OutputFlood);
