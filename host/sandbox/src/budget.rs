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
    /// Bytes of log text kept per call, all lines and fields together.
    pub max_log_bytes: usize,
    /// Denials recorded per call; more are counted, not kept.
    pub max_denials: usize,
    /// Bytes the guest may hand the host in one host call or one result;
    /// bounds what the host copies before it can check a size.
    pub max_hostcall_bytes: usize,
    /// Resources (files, streams, requests) a call may hold at once.
    pub max_resources: usize,
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
            max_log_bytes: 256 * 1024,
            max_denials: 64,
            max_hostcall_bytes: 16 * MIB as usize,
            max_resources: 1024,
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
    /// The budget for one call. What the user set is clamped to the host's
    /// ceilings; what only the plugin's manifest asked for is clamped to the
    /// host's defaults, so a plugin cannot raise its own budget without the
    /// user's say; gaps take the defaults.
    pub fn resolve(user: BudgetSpec, requested: BudgetSpec, limits: &HostLimits) -> Budget {
        let pick = |user: Option<u64>, requested: Option<u64>, default: u64, max: u64| match (
            user, requested,
        ) {
            (Some(u), _) => u.min(max),
            (None, Some(r)) => r.min(default),
            (None, None) => default,
        };
        let ms = |d: Duration| d.as_millis() as u64;
        Budget {
            fuel: pick(
                user.fuel,
                requested.fuel,
                limits.default_fuel,
                limits.max_fuel,
            ),
            timeout: Duration::from_millis(pick(
                user.timeout_ms,
                requested.timeout_ms,
                ms(limits.default_timeout),
                ms(limits.max_timeout),
            )),
            memory: pick(
                user.memory_mib.map(|m| m.saturating_mul(MIB)),
                requested.memory_mib.map(|m| m.saturating_mul(MIB)),
                limits.default_memory,
                limits.max_memory,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GREEDY: BudgetSpec = BudgetSpec {
        fuel: Some(u64::MAX),
        timeout_ms: Some(u64::MAX),
        memory_mib: Some(u64::MAX),
    };

    #[test]
    fn nobody_can_raise_a_budget_past_the_host_ceiling() {
        let limits = HostLimits::default();
        let b = Budget::resolve(GREEDY, Default::default(), &limits);
        assert_eq!(b.fuel, limits.max_fuel);
        assert_eq!(b.timeout, limits.max_timeout);
        assert_eq!(b.memory, limits.max_memory);
    }

    #[test]
    fn a_manifest_cannot_raise_its_own_budget_past_the_defaults() {
        let limits = HostLimits::default();
        let b = Budget::resolve(Default::default(), GREEDY, &limits);
        assert_eq!(b.fuel, limits.default_fuel);
        assert_eq!(b.timeout, limits.default_timeout);
        assert_eq!(b.memory, limits.default_memory);
        // It may lower it.
        let modest = BudgetSpec {
            fuel: Some(5),
            ..Default::default()
        };
        assert_eq!(Budget::resolve(Default::default(), modest, &limits).fuel, 5);
    }

    #[test]
    fn gaps_are_filled_with_host_defaults() {
        let limits = HostLimits::default();
        let b = Budget::resolve(
            BudgetSpec {
                fuel: Some(7),
                ..Default::default()
            },
            Default::default(),
            &limits,
        );
        assert_eq!(b.fuel, 7);
        assert_eq!(b.timeout, limits.default_timeout);
        assert_eq!(b.memory, limits.default_memory);
    }
}
