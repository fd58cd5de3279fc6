//! Spins forever. Contained by fuel or the wall-clock deadline.
use gyre_sdk::verifier::*;

struct Spin;
impl Verifier for Spin {
    type Config = gyre_sdk::json::Value;
    fn verify(_: Self::Config, input: Input) -> Result<Verdict, PluginError> {
        // The "behave" evidence lets a test check that the host still serves
        // normal calls after containing the runaway one.
        if input.get("behave").is_some() {
            return Ok(Verdict::pass("behaved"));
        }
        let mut x: u64 = 0;
        loop {
            x = std::hint::black_box(x.wrapping_add(1));
        }
    }
}
gyre_sdk::export_verifier!(Spin);
