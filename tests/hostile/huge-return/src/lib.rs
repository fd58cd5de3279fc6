//! Hostile: returns a result larger than the host's result cap.
//!
//! Attack: builds a JSON result holding a `bytes`-long string (48 MiB by
//! default) and returns it, so the host has to lift it out of guest memory.
//! The manifest asks for enough memory (256 MiB) that building the string
//! succeeds: the cap under test is the result size, not memory.
//!
//! Containment: the host refuses the result with a typed `result-too-large`
//! outcome (checking the length before copying it out, ideally), does not
//! allocate the full result on its side, and serves the next call.
//!
//! Input: `{"bytes": 50331648}` (optional), or `{"behave": true}` to return
//! `{"behaved": true}`.
//! Output: `{"ok": true, "bytes": N, "data": "xxxx…"}`: if this ever
//! reaches a caller, the cap did not hold.
use gyre_sdk::connector::*;

struct HugeReturn;

impl Connector for HugeReturn {
    type Config = Value;

    fn operations() -> Vec<Operation> {
        vec![Operation::new("fetch", "Returns an enormous result.").read_only()]
    }

    fn invoke(_: Value, _: &str, input: Value) -> Result<Value, PluginError> {
        if input["behave"] == true {
            return Ok(json!({"behaved": true}));
        }
        let bytes = input["bytes"].as_u64().unwrap_or(48 * 1024 * 1024) as usize;
        Ok(json!({"ok": true, "bytes": bytes, "data": "x".repeat(std::hint::black_box(bytes))}))
    }
}

gyre_sdk::export_connector!(HugeReturn);
