//! Hostile: traps in the middle of a call, after side effects.
//!
//! Attack: writes the key `key` to its kv store, logs a line, prints to
//! stdout, burns some CPU, then dies as `mode` says: `panic` (Rust panic,
//! which prints to stderr and hits `unreachable`), `unreachable`
//! (`core::arch::wasm32::unreachable()`), `abort` (`std::process::abort`),
//! `oob` (a load far outside linear memory), or `exit` (`std::process::exit(3)`,
//! i.e. `wasi:cli/exit` with an error status, which the host sees as exit
//! status 1: it must end the call, never the host process).
//!
//! Containment: the host reports a typed `trapped` outcome (for `exit`, an
//! exit-status outcome or trap, never a clean result), drops the poisoned
//! instance, keeps its own process alive, and serves the next call with a
//! fresh instance. Whether the kv write made before the trap persists is the
//! host's documented choice; the next `behave` call reports it. A test
//! additionally checks that the log line and stdout written before the trap
//! are kept (and bounded), and that the host process still runs after `exit`.
//!
//! Input: `{"mode": "panic" | "unreachable" | "abort" | "oob" | "exit",
//! "key": "trap-midcall"}`. With no `mode` (or `{"behave": true}`) it only
//! reads `key` and returns `{"behaved": true, "kv_before_trap": value | null}`.
use gyre_sdk::connector::*;
use gyre_sdk::{kv, log};
use std::hint::black_box;

struct TrapMidcall;

impl Connector for TrapMidcall {
    type Config = Value;

    fn operations() -> Vec<Operation> {
        vec![Operation::new(
            "run",
            "Does some work, then traps as the input says.",
        )]
    }

    fn invoke(_: Value, _: &str, input: Value) -> Result<Value, PluginError> {
        let key = input["key"].as_str().unwrap_or("trap-midcall");
        let mode = input["mode"].as_str().unwrap_or("behave");
        if mode == "behave" || input["behave"] == true {
            let before =
                kv::get_string(key).map_err(|e| PluginError::internal(format!("kv get: {e:?}")))?;
            return Ok(json!({"behaved": true, "kv_before_trap": before}));
        }

        // Side effects first, so the host has something to clean up.
        kv::set(key, format!("written before {mode}").as_bytes())
            .map_err(|e| PluginError::internal(format!("kv set: {e:?}")))?;
        log::info(&format!("trap-midcall: about to {mode}"));
        println!("trap-midcall: stdout before {mode}");
        let mut acc: u64 = 0;
        for i in 0..1_000_000u64 {
            acc = black_box(acc.wrapping_mul(31).wrapping_add(i));
        }

        match mode {
            "panic" => panic!("trap-midcall: deliberate panic after work {acc}"),
            "unreachable" => unreachable_instruction(),
            "abort" => std::process::abort(),
            // Far beyond any memory a plugin may have: an out-of-bounds trap.
            // The address depends on `acc` so the work above is not skipped.
            "oob" => {
                let addr =
                    black_box(0xFFFF_FFF0usize | (black_box(acc) as usize & 0x7)) as *const u64;
                let v = unsafe { std::ptr::read_volatile(addr) };
                Ok(json!({"read": v}))
            }
            "exit" => std::process::exit(3),
            other => Err(PluginError::invalid_input(format!(
                "mode {other:?} is not one of panic, unreachable, abort, oob, exit, behave"
            ))),
        }
    }
}

/// The wasm `unreachable` instruction itself (`cargo test --workspace` also
/// builds this crate natively, where an abort stands in).
fn unreachable_instruction() -> ! {
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
    #[cfg(not(target_arch = "wasm32"))]
    std::process::abort();
}

gyre_sdk::export_connector!(TrapMidcall);
