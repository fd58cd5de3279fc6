//! Memory and table limits for one store, recording the peak so that a
//! call can report what it used.

use wasmtime::ResourceLimiter;

/// Raised (as a trap) when a guest tries to grow a memory past its cap.
#[derive(Debug, thiserror::Error)]
#[error("memory limit of {limit} bytes exceeded (asked for {desired} bytes)")]
pub struct MemoryLimitExceeded {
    pub limit: u64,
    pub desired: u64,
}

pub struct Limiter {
    /// Bytes of linear memory the store may hold, all memories together.
    pub memory_cap: u64,
    pub memories: u32,
    pub tables: u32,
    pub instances: u32,
    pub table_elements: usize,
    current: u64,
    pub peak: u64,
    pub hit_memory_limit: bool,
}

impl Limiter {
    pub fn new(memory_cap: u64, memories: u32, tables: u32, instances: u32) -> Self {
        Self {
            memory_cap,
            memories,
            tables,
            instances,
            table_elements: 1_000_000,
            current: 0,
            peak: 0,
            hit_memory_limit: false,
        }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let grown = (desired - current.min(desired)) as u64;
        // The cap bounds every memory together, so extra memories cannot
        // multiply it.
        if desired as u64 > self.memory_cap || self.current.saturating_add(grown) > self.memory_cap
        {
            self.hit_memory_limit = true;
            // An error, not `Ok(false)`: a guest allocator that ignores a
            // failed grow would otherwise limp on, and the outcome would read
            // as a generic trap instead of a memory limit.
            return Err(wasmtime::Error::new(MemoryLimitExceeded {
                limit: self.memory_cap,
                desired: desired as u64,
            }));
        }
        self.current = self.current.saturating_add(grown);
        self.peak = self.peak.max(self.current);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= self.table_elements)
    }

    fn instances(&self) -> usize {
        self.instances as usize
    }
    fn tables(&self) -> usize {
        self.tables as usize
    }
    fn memories(&self) -> usize {
        self.memories as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_bounds_all_memories_together() {
        let mut limiter = Limiter::new(64 << 20, 8, 8, 8);
        // Two memories of 40 MiB each: the first fits, the second would
        // take the store to 80 MiB.
        assert!(limiter.memory_growing(0, 40 << 20, None).unwrap());
        assert!(limiter.memory_growing(0, 40 << 20, None).is_err());
        assert!(limiter.hit_memory_limit);
        assert_eq!(limiter.peak, 40 << 20);
    }

    #[test]
    fn one_memory_past_the_cap_is_refused() {
        let mut limiter = Limiter::new(64 << 20, 8, 8, 8);
        assert!(limiter.memory_growing(0, 65 << 20, None).is_err());
    }
}
