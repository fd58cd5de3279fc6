use gyre_manifest::{BudgetSpec, MIB};
use std::time::Duration;

/// The host's own ceilings and defaults. Plugins and users choose budgets
/// within these; nothing can raise them.
#[derive(Debug, Clone)]
pub struct HostLimits {
    pub default_fuel: u64,
    pub max_fuel: u64,
    pub default_timeout: Duration,
    pub max_timeout: Duration,
    pub default_memory: u64,
    pub max_memory: u64,
    /// Linear memories one instance may create.
    pub max_memories: u32,
    pub max_tables: u32,
    pub max_instances: u32,
    /// Bytes of stdout and of stderr kept per call; the rest is dropped.
    pub max_output_bytes: usize,
    /// Log lines kept per call, and bytes kept of each message.
    pub max_log_lines: usize,
    pub max_log_line_bytes: usize,
    /// The largest result a plugin may return.
    pub max_result_bytes: usize,
    /// The largest input (evidence, webhook body) handed to a plugin.
    pub max_input_bytes: usize,
    /// Key-value store quotas per plugin.
    pub max_kv_key_bytes: usize,
    pub max_kv_value_bytes: usize,
    pub max_kv_keys: usize,
    /// Outbound HTTP: request and response bodies, and the longest a
    /// connection or first byte may take whatever the guest asks.
    pub max_http_request_bytes: u64,
    pub max_http_response_bytes: u64,
    pub max_http_connect: Duration,
    pub max_http_first_byte: Duration,
    pub max_http_between_bytes: Duration,
}

impl Default for HostLimits {
    fn default() -> Self {
        Self {
            default_fuel: 2_000_000_000,
            max_fuel: 200_000_000_000,
            default_timeout: Duration::from_secs(10),
            max_timeout: Duration::from_secs(600),
            default_memory: 128 * MIB,
            max_memory: 1024 * MIB,
            max_memories: 8,
            max_tables: 32,
            max_instances: 64,
            max_output_bytes: 64 * 1024,
            max_log_lines: 1000,
            max_log_line_bytes: 4096,
            max_result_bytes: 4 * MIB as usize,
            max_input_bytes: 32 * MIB as usize,
            max_kv_key_bytes: 100,
            max_kv_value_bytes: 64 * 1024,
            max_kv_keys: 1000,
            max_http_request_bytes: 8 * MIB,
            max_http_response_bytes: 16 * MIB,
            max_http_connect: Duration::from_secs(10),
            max_http_first_byte: Duration::from_secs(30),
            max_http_between_bytes: Duration::from_secs(30),
        }
    }
}

/// The budget one call runs under, already clamped to the host's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub fuel: u64,
    pub timeout: Duration,
    /// Cap on linear memory, all memories of the instance together, in bytes.
    pub memory: u64,
}

impl Budget {
    /// The budget for `spec` (user settings over manifest defaults), with
    /// the host's defaults filling gaps and its ceilings clamping the rest.
    pub fn resolve(spec: BudgetSpec, limits: &HostLimits) -> Budget {
        Budget {
            fuel: spec.fuel.unwrap_or(limits.default_fuel).min(limits.max_fuel),
            timeout: spec
                .timeout_ms
                .map(Duration::from_millis)
                .unwrap_or(limits.default_timeout)
                .min(limits.max_timeout),
            memory: spec
                .memory_mib
                .map(|m| m.saturating_mul(MIB))
                .unwrap_or(limits.default_memory)
                .min(limits.max_memory),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nobody_can_raise_a_budget_past_the_host_ceiling() {
        let limits = HostLimits::default();
        let greedy = BudgetSpec { fuel: Some(u64::MAX), timeout_ms: Some(u64::MAX), memory_mib: Some(u64::MAX) };
        let b = Budget::resolve(greedy, &limits);
        assert_eq!(b.fuel, limits.max_fuel);
        assert_eq!(b.timeout, limits.max_timeout);
        assert_eq!(b.memory, limits.max_memory);
    }

    #[test]
    fn gaps_are_filled_with_host_defaults() {
        let limits = HostLimits::default();
        let b = Budget::resolve(BudgetSpec { fuel: Some(7), ..Default::default() }, &limits);
        assert_eq!(b.fuel, 7);
        assert_eq!(b.timeout, limits.default_timeout);
        assert_eq!(b.memory, limits.default_memory);
    }
}
