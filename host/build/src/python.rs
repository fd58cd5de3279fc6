//! Python: componentize-py bundles CPython, the app and the `gyre_sdk`
//! helper into a component of a `gyre:sdk` world.

use crate::{BuildError, Job, Lang, Output, sdk, tool};

pub fn build(job: &Job) -> Result<Output, BuildError> {
    if !job.dir.join("app.py").is_file() {
        return Err(BuildError::NoArtifact {
            tool: "componentize-py".into(),
            reason: format!("no app.py in {}", job.dir.display()),
        });
    }
    let mut cmd = tool::command("componentize-py", Lang::Python)?;
    let wit = sdk::write_wit(&job.work.join("wit"), true)?;
    let helpers = job.work.join("python");
    sdk::write_helpers(&helpers, sdk::PYTHON)?;
    let out = job.work.join("component.wasm");
    let _ = std::fs::remove_file(&out);
    cmd.current_dir(job.dir)
        .arg("-d")
        .arg(&wit)
        .args(["-w", sdk::world(job.kind), "componentize", "-p", "."])
        .arg("-p")
        .arg(&helpers)
        .arg("app")
        .arg("-o")
        .arg(&out);
    tool::run(cmd, "componentize-py")?;
    Ok(Output::Component(crate::read(
        &out,
        "the componentize-py output",
    )?))
}
