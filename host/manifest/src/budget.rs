use serde::{Deserialize, Serialize};

pub const MIB: u64 = 1024 * 1024;

/// Budget settings for one invocation, any of which may be left to the
/// next layer (manifest defaults, then the host's defaults). The host clamps
/// whatever is asked to its own ceilings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BudgetSpec {
    /// Wasm fuel units (roughly, instructions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel: Option<u64>,
    /// Wall-clock deadline, including time blocked in host calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Cap on linear memory, all of an instance's memories together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mib: Option<u64>,
}

impl BudgetSpec {
    /// `self`, with gaps filled from `fallback`.
    pub fn or(self, fallback: BudgetSpec) -> BudgetSpec {
        BudgetSpec {
            fuel: self.fuel.or(fallback.fuel),
            timeout_ms: self.timeout_ms.or(fallback.timeout_ms),
            memory_mib: self.memory_mib.or(fallback.memory_mib),
        }
    }
}
