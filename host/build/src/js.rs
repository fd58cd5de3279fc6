//! JavaScript: componentize-js (SpiderMonkey) turns an ES module into a
//! component of a `gyre:sdk` world. The SDK's `request` uses the world's
//! wasi:http directly: StarlingMonkey's `fetch` reports every failure as
//! the same NetworkError, and a plugin must tell a refused origin apart.

use crate::{BuildError, Job, Lang, Output, fsx, sdk, tool};

pub fn build(job: &Job) -> Result<Output, BuildError> {
    let entry = ["index.js", "src/index.js"]
        .into_iter()
        .map(|p| job.dir.join(p))
        .find(|p| p.is_file())
        .ok_or_else(|| BuildError::NoArtifact {
            tool: "componentize-js".into(),
            reason: format!("no index.js or src/index.js in {}", job.dir.display()),
        })?;
    fsx::refuse_escape(job.dir, &entry)?;
    let mut cmd = tool::command("componentize-js", Lang::Js)?;
    let mut version = tool::command("componentize-js", Lang::Js)?;
    version.arg("--version");
    if let Some(note) = tool::version_note(version, Lang::Js) {
        job.note(note);
    }
    let wit = sdk::write_wit(&job.work.join("wit"), true)?;
    // The helper sits beside the sources so that `import ... from './gyre.js'`
    // resolves; it is rewritten on every build.
    let helpers = entry.parent().unwrap_or(job.dir);
    // Written into the plugin's own directory: never through a link there.
    fsx::real_dir(job.dir, helpers)?;
    sdk::write_helpers(helpers, sdk::JS)?;
    let out = job.work.join("component.wasm");
    let _ = std::fs::remove_file(&out);
    cmd.current_dir(job.dir)
        .arg(&entry)
        .arg("--wit")
        .arg(&wit)
        .args(["--world-name", sdk::world(job.kind)])
        .arg("-o")
        .arg(&out);
    // Without a requested origin the plugin could reach nothing over HTTP:
    // leave wasi:http out of the component instead of importing it unused.
    if job.manifest.capabilities.http.is_empty() {
        cmd.args(["-d", "http"]);
    }
    cmd.args(["-d", "fetch-event"]);
    tool::run(cmd, "componentize-js")?;
    Ok(Output::Component(crate::read(
        &out,
        "the componentize-js output",
    )?))
}
