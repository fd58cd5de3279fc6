use gyre_sdk::verifier::*;
#[derive(serde::Deserialize, Default)]
struct Config {}
struct T;
impl Verifier for T {
    type Config = Config;
    fn verify(_c: Config, input: Input) -> Result<Verdict, PluginError> {
        let t = input.text("test-log")?;
        Ok(Verdict::pass(format!("{} bytes", t.len())))
    }
}
gyre_sdk::export_verifier!(T);
