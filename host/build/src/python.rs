//! Python: componentize-py bundles CPython, the app and the `gyre_sdk`
//! helper into a component of a `gyre:sdk` world.

use crate::{BuildError, Job, Lang, Output, fsx, sdk, tool};

pub fn build(job: &Job) -> Result<Output, BuildError> {
    let app = job.dir.join("app.py");
    fsx::refuse_escape(job.dir, &app)?;
    if !app.is_file() {
        return Err(BuildError::NoArtifact {
            tool: "componentize-py".into(),
            reason: format!("no app.py in {}", job.dir.display()),
        });
    }
    let mut cmd = tool::command("componentize-py", Lang::Python)?;
    let mut version = tool::command("componentize-py", Lang::Python)?;
    version.arg("--version");
    if let Some(note) = tool::version_note(version, Lang::Python) {
        job.note(note);
    }
    let wit = sdk::write_wit(&job.work.join("wit"), true)?;
    let helpers = job.work.join("python");
    sdk::write_helpers(&helpers, sdk::PYTHON)?;
    let out = job.work.join("component.wasm");
    let _ = std::fs::remove_file(&out);
    cmd.current_dir(job.dir)
        .arg("-d")
        .arg(&wit)
        // componentize-py binds every interface of the world: without a
        // requested origin, build against the world without wasi:http.
        .arg("-w")
        .arg(sdk::world_with_http(
            job.kind,
            !job.manifest.capabilities.http.is_empty(),
        ))
        .args(["componentize", "-p", "."])
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
