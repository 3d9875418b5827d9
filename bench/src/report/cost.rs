//! The cost model: what Lambda would bill for one ticket, from the measured
//! wall time, CPU time and peak RSS. Every price is a named input here, so a
//! price change is one edit and the JSON names what was assumed.

/// Lambda, arm64 (what CDK deploys), us-east-1, first pricing tier.
pub const PRICE_PER_GB_S: f64 = 0.000_013_333_4;
pub const PRICE_PER_MILLION_REQUESTS: f64 = 0.20;
/// Lambda gives a function one full vCPU at 1,769 MB, proportionally less below.
pub const FULL_VCPU_MB: f64 = 1769.0;
pub const MB: f64 = 1e6;

/// Step Functions Standard workflows, us-east-1: $0.025 per 1,000 state
/// transitions. An HTTP task that files the ticket itself (through an
/// EventBridge connection, no Lambda) costs one transition per ticket.
pub const SFN_PRICE_PER_STATE_TRANSITION: f64 = 0.025 / 1000.0;
/// Secrets Manager: $0.05 per 10,000 API calls. A cold notifier reads the
/// connection secret once; a warm one serves it from its cache.
pub const SM_PRICE_PER_API_CALL: f64 = 0.05 / 10_000.0;

/// Dollars per million tickets filed by an HTTP task in the state machine.
pub fn http_task_usd_per_million() -> f64 {
    SFN_PRICE_PER_STATE_TRANSITION * 1e6
}

/// 1.25 × peak RSS, rounded up to 64 MB, never below Lambda's 128 MB.
pub fn memory_for(peak_mb: f64) -> u64 {
    (((peak_mb * 1.25) / 64.0).ceil() as u64 * 64).max(128)
}

/// Lambda bills wall time in 1 ms steps, and below 1,769 MB the CPU-bound
/// part of it stretches by 1769/memory; the waiting part does not.
pub fn billed_ms(wall_ms: f64, cpu_ms: f64, memory_mb: u64) -> f64 {
    let share = (memory_mb as f64 / FULL_VCPU_MB).min(1.0);
    ((wall_ms - cpu_ms).max(0.0) + cpu_ms / share).ceil()
}

/// GB-seconds a million invocations of `billed_ms` at `memory_mb` use.
pub fn gb_s_per_million(billed_ms: f64, memory_mb: u64) -> f64 {
    billed_ms / 1e3 * memory_mb as f64 / 1024.0 * 1e6
}

/// Dollars per million invocations: compute plus the request charge.
pub fn usd_per_million(billed_ms: f64, memory_mb: u64) -> f64 {
    gb_s_per_million(billed_ms, memory_mb) * PRICE_PER_GB_S + PRICE_PER_MILLION_REQUESTS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_rss_with_headroom_in_64_mb_steps() {
        assert_eq!(memory_for(10.0), 128);
        assert_eq!(memory_for(102.0), 128);
        assert_eq!(memory_for(103.0), 192);
    }

    #[test]
    fn cpu_bound_time_stretches_below_a_full_vcpu() {
        // 10 ms waiting + 1 ms CPU at 1769 MB: 11 ms; at 128 MB the CPU ms
        // takes 1769/128 ≈ 13.8 ms.
        assert_eq!(billed_ms(11.0, 1.0, 1769), 11.0);
        assert_eq!(billed_ms(11.0, 1.0, 128), 24.0);
        assert_eq!(billed_ms(0.2, 0.5, 3008), 1.0);
    }

    #[test]
    fn a_million_one_ms_calls_at_1_gb() {
        assert_eq!(gb_s_per_million(1.0, 1024), 1000.0);
        let usd = usd_per_million(1.0, 1024);
        assert!((usd - (1000.0 * PRICE_PER_GB_S + 0.20)).abs() < 1e-12);
    }
}
