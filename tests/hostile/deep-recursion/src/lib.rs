//! Hostile: unbounded, non-tail recursion.
//!
//! Attack: recurses until the stack runs out. Each frame keeps an array live
//! across the recursive call (through `black_box`), so the compiler can turn
//! it neither into a loop nor into a tail call, and the frame occupies both
//! wasm's own call stack and Rust's shadow stack in linear memory.
//!
//! Containment: the call ends in a trap: wasm `call stack exhausted` (the
//! engine's `max_wasm_stack`), or an out-of-bounds access if Rust's shadow
//! stack underflows linear memory first. The host reports a typed `trapped`
//! (stack overflow) outcome, its own native stack is untouched, and it
//! serves the next call. Fuel and the deadline must not be what stops it: a
//! test can check the outcome arrives well before the timeout.
//!
//! Config: `{"depth": N}` caps the recursion (default: no cap).
//! Benign path: evidence `behave` or config `{"behave": true}` recurses 1000
//! deep and passes. If an attack call ever returns, the verdict fails with
//! the depth it reached.
use gyre_sdk::json::Value;
use gyre_sdk::verifier::*;
use std::hint::black_box;

struct DeepRecursion;

impl Verifier for DeepRecursion {
    type Config = Value;

    fn verify(config: Value, input: Input) -> Result<Verdict, PluginError> {
        if config["behave"] == true || input.get("behave").is_some() {
            let sum = recurse(0, 1000);
            return Ok(Verdict::pass(format!(
                "behaved: recursed 1000 deep (checksum {sum})"
            )));
        }
        let limit = config["depth"].as_u64().unwrap_or(u64::MAX);
        let sum = recurse(0, black_box(limit));
        Ok(Verdict::fail(format!(
            "recursed {limit} deep without a trap (checksum {sum})"
        )))
    }
}

#[inline(never)]
fn recurse(depth: u64, limit: u64) -> u64 {
    // Live across the call: this frame cannot be reused by the callee.
    let frame = black_box([depth; 8]);
    if depth >= limit {
        return frame[0];
    }
    let below = recurse(black_box(depth + 1), limit);
    below.wrapping_add(frame[(depth % 8) as usize])
}

gyre_sdk::export_verifier!(DeepRecursion);
