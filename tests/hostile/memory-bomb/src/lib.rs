//! Hostile: allocates until memory runs out.
//!
//! Attack: allocates `chunk-mib` blocks one after another, writes a byte
//! into every 4 KiB page of each (so the memory is really committed, and
//! `black_box` keeps the optimizer from dropping it), and keeps them all.
//! It uses `try_reserve`, so when the host refuses to grow linear memory the
//! guest sees the failure and reports how far it got.
//!
//! Containment: linear memory never exceeds the memory budget
//! (`memory-mib`). The host either traps the grow (`memory-limit` outcome)
//! or makes `memory.grow` fail, in which case this plugin returns a failed
//! verdict whose `score` is the MiB it obtained; a test checks that figure
//! is at most the cap (minus what the program itself occupies) and that the
//! host's own memory stayed bounded.
//!
//! Config: `{"chunk-mib": 1, "max-mib": N}` (defaults: 1 MiB chunks, no
//! maximum). Benign path: evidence `behave` or config `{"behave": true}`
//! allocates one chunk and passes.
//! Verdict: `passed: false`, `score: <MiB held>`, summary
//! `"allocated N MiB, then: <error>"`.
use gyre_sdk::json::Value;
use gyre_sdk::verifier::*;
use std::hint::black_box;

const MIB: usize = 1024 * 1024;

struct MemoryBomb;

impl Verifier for MemoryBomb {
    type Config = Value;

    fn verify(config: Value, input: Input) -> Result<Verdict, PluginError> {
        let chunk = config["chunk-mib"].as_u64().unwrap_or(1).max(1) as usize * MIB;
        if config["behave"] == true || input.get("behave").is_some() {
            let block = allocate(chunk).map_err(PluginError::internal)?;
            return Ok(Verdict::pass(format!(
                "behaved: allocated {} bytes",
                black_box(block).len()
            )));
        }
        let max = config["max-mib"]
            .as_u64()
            .map(|m| m as usize * MIB)
            .unwrap_or(usize::MAX);
        let mut held: Vec<Vec<u8>> = Vec::new();
        let mut total = 0usize;
        let stop = loop {
            if total >= max {
                break "reached max-mib".to_string();
            }
            if let Err(e) = held.try_reserve(1) {
                break e.to_string();
            }
            match allocate(chunk) {
                Ok(block) => {
                    total += block.len();
                    held.push(black_box(block));
                }
                Err(e) => break e,
            }
        };
        black_box(&held);
        let mib = total / MIB;
        Ok(Verdict::fail(format!("allocated {mib} MiB, then: {stop}")).with_score(mib as f64))
    }
}

/// A block of `size` bytes with every page written.
fn allocate(size: usize) -> Result<Vec<u8>, String> {
    let mut block: Vec<u8> = Vec::new();
    block.try_reserve_exact(size).map_err(|e| e.to_string())?;
    block.resize(size, 0);
    for i in (0..size).step_by(4096) {
        block[i] = black_box((i >> 12) as u8 | 1);
    }
    Ok(block)
}

gyre_sdk::export_verifier!(MemoryBomb);
