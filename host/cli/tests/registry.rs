//! The registry commands as a user runs them: real `gyre` binary, the
//! embedded registry and a real OCI registry on 127.0.0.1, consent,
//! lockfile and exit codes.

use gyre_tests::registry::{DockerRegistry, manifest_text, with_manifest};
use gyre_tests::{TempDir, artifacts};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const SUCCESS: i32 = 0;
const FAILED: i32 = 1;
const DENIED: i32 = 4;

/// One user's machine: config, data and a project directory for gyre.lock.
struct User {
    home: TempDir,
}

impl User {
    fn new() -> Self {
        let u = Self {
            home: TempDir::new("cli-registry"),
        };
        std::fs::create_dir_all(u.home.join("project")).unwrap();
        u
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_gyre"))
            .args(args)
            .current_dir(self.home.join("project"))
            .env("GYRE_CONFIG_DIR", self.home.join("config"))
            .env("GYRE_STATE_DIR", self.home.join("data"))
            .env("GYRE_CACHE_DIR", self.home.join("cache"))
            .stdin(Stdio::null())
            .output()
            .expect("running gyre")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(SUCCESS),
            "gyre {args:?}: {}",
            text(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.push("--json");
        let stdout = self.ok(&args);
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
    }

    /// Generates a key NAME and trusts it for namespace NAME.
    fn publisher(&self, name: &str) -> String {
        let public = self.ok(&["key", "generate", name]).trim().to_string();
        self.ok(&["key", "trust", &public, "--namespace", name, "--name", name]);
        public
    }

    fn installed(&self) -> Vec<String> {
        self.json(&["list"])
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                format!(
                    "{}@{}",
                    r["package"].as_str().unwrap(),
                    r["version"].as_str().unwrap()
                )
            })
            .collect()
    }

    fn lockfile(&self) -> String {
        std::fs::read_to_string(self.home.join("project/gyre.lock")).unwrap_or_default()
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn publish_install_list_verify_remove_on_the_embedded_registry() {
    let u = User::new();
    u.publisher("acme");
    let out = u.json(&[
        "publish",
        artifacts::TESTS_GREEN,
        "--namespace",
        "acme",
        "--key",
        "acme",
    ]);
    assert_eq!(out["package"], "acme/tests-green");
    let digest = out["digest"].as_str().unwrap().to_string();

    // Found by search, installed with consent given up front, pinned.
    let hits = u.json(&["search", "cargo test"]);
    assert_eq!(hits[0]["package"], "acme/tests-green", "{hits}");
    let out = u.run(&["install", "acme/tests-green", "--yes"]);
    assert_eq!(out.status.code(), Some(SUCCESS), "{}", text(&out));
    assert!(
        text(&out).contains("tests-green (verifier)"),
        "{}",
        text(&out)
    );
    assert_eq!(u.installed(), ["acme/tests-green@0.1.0"]);
    assert!(u.lockfile().contains(&digest), "{}", u.lockfile());
    assert!(u.ok(&["verify"]).contains("ok      acme/tests-green@0.1.0"));

    // A component modified after install fails verification.
    let wasm = u
        .home
        .join("data/packages/acme/tests-green/tests-green.wasm");
    let mut bytes = std::fs::read(&wasm).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&wasm, bytes).unwrap();
    let out = u.run(&["verify"]);
    assert_eq!(out.status.code(), Some(FAILED), "{}", text(&out));
    assert!(
        text(&out).contains("modified after install"),
        "{}",
        text(&out)
    );

    u.ok(&["remove", "acme/tests-green"]);
    assert!(u.installed().is_empty());
    assert!(!u.lockfile().contains("tests-green"));
}

#[test]
fn install_without_consent_is_refused_and_leaves_nothing() {
    let u = User::new();
    u.publisher("acme");
    u.ok(&[
        "publish",
        artifacts::HTTP_JSON,
        "--namespace",
        "acme",
        "--key",
        "acme",
    ]);
    let out = u.run(&["install", "acme/http-json"]);
    assert_eq!(out.status.code(), Some(DENIED), "{}", text(&out));
    let shown = text(&out);
    for request in [
        "network https://api.github.com",
        "secret GITHUB_TOKEN",
        "needs your consent",
        "Nothing was installed",
    ] {
        assert!(shown.contains(request), "{request:?} not shown: {shown}");
    }
    assert!(u.installed().is_empty());
    assert!(
        !u.home.join("data/packages/acme").exists()
            || std::fs::read_dir(u.home.join("data/packages/acme"))
                .unwrap()
                .next()
                .is_none()
    );
    assert!(u.lockfile().is_empty());
}

#[test]
fn an_upgrade_that_widens_asks_again_and_a_grants_file_can_approve_it() {
    let u = User::new();
    u.publisher("acme");
    u.ok(&[
        "publish",
        artifacts::HTTP_JSON,
        "--namespace",
        "acme",
        "--key",
        "acme",
    ]);
    u.ok(&["install", "acme/http-json", "--yes"]);

    let text_v2 = manifest_text(Path::new(artifacts::HTTP_JSON))
        .replace("version = \"0.1.0\"", "version = \"0.2.0\"")
        .replace("http = [", "http = [\"https://collector.example\", ");
    let v2 = u.home.join("http-json-0.2.0.wasm");
    std::fs::write(
        &v2,
        with_manifest(&std::fs::read(artifacts::HTTP_JSON).unwrap(), &text_v2),
    )
    .unwrap();
    u.ok(&[
        "publish",
        v2.to_str().unwrap(),
        "--namespace",
        "acme",
        "--key",
        "acme",
    ]);

    let out = u.run(&["upgrade", "acme/http-json"]);
    assert_eq!(out.status.code(), Some(DENIED), "{}", text(&out));
    assert!(
        text(&out).contains("+ network https://collector.example (WIDENS)"),
        "{}",
        text(&out)
    );
    assert_eq!(
        u.installed(),
        ["acme/http-json@0.1.0"],
        "the refused upgrade changed the install"
    );
    assert!(u.lockfile().contains("0.1.0"));

    // A grants file that does not cover the new origin is not consent...
    let narrow = u.home.join("narrow.toml");
    std::fs::write(&narrow, "[packages.\"acme/http-json\".http-json]\nkind = \"connector\"\n[packages.\"acme/http-json\".http-json.capabilities]\nhttp = [\"https://api.github.com\"]\n").unwrap();
    assert_eq!(
        u.run(&[
            "upgrade",
            "acme/http-json",
            "--grants",
            narrow.to_str().unwrap()
        ])
        .status
        .code(),
        Some(DENIED)
    );
    // ...one that does is.
    let wide = u.home.join("wide.toml");
    std::fs::write(
        &wide,
        "[packages.\"acme/http-json\".http-json]\nkind = \"connector\"\n[packages.\"acme/http-json\".http-json.capabilities]\nhttp = [\"https://collector.example\", \"http://127.0.0.1:*\", \"http://localhost:*\", \"https://api.github.com\"]\nsecrets = [\"HTTP_JSON_TOKEN\", \"GITHUB_TOKEN\"]\n[packages.\"acme/http-json\".http-json.budgets]\nfuel = 1000000000\ntimeout-ms = 15000\nmemory-mib = 64\n",
    )
    .unwrap();
    u.ok(&[
        "upgrade",
        "acme/http-json",
        "--grants",
        wide.to_str().unwrap(),
    ]);
    assert_eq!(u.installed(), ["acme/http-json@0.2.0"]);
    assert!(u.lockfile().contains("0.2.0"));
}

#[test]
fn unknown_signers_are_refused_unless_the_loud_flag_is_given() {
    let u = User::new();
    // A key that is not in the trust policy.
    u.ok(&["key", "generate", "stranger"]);
    u.ok(&[
        "publish",
        artifacts::TESTS_GREEN,
        "--namespace",
        "stranger",
        "--key",
        "stranger",
    ]);
    let out = u.run(&["install", "stranger/tests-green", "--yes"]);
    assert_eq!(out.status.code(), Some(FAILED), "{}", text(&out));
    assert!(text(&out).contains("untrusted key"), "{}", text(&out));
    assert!(u.installed().is_empty());

    let out = u.run(&[
        "install",
        "stranger/tests-green",
        "--yes",
        "--dangerously-allow-untrusted",
    ]);
    assert_eq!(out.status.code(), Some(SUCCESS), "{}", text(&out));
    assert!(text(&out).contains("NOT TRUSTED"), "{}", text(&out));
    assert!(u.ok(&["list"]).contains("UNTRUSTED"));
}

#[test]
fn oci_publish_install_and_a_moved_tag_against_the_lockfile() {
    let server = DockerRegistry::start();
    let registry = format!("oci+http://{}", server.host());
    let u = User::new();
    u.publisher("acme");
    u.ok(&[
        "publish",
        artifacts::TESTS_GREEN,
        "--namespace",
        "acme",
        "--key",
        "acme",
        "--registry",
        &registry,
    ]);
    let hits = u.json(&["search", "--registry", &registry]);
    assert_eq!(hits[0]["package"], "acme/tests-green", "{hits}");
    u.ok(&[
        "install",
        "acme/tests-green",
        "--yes",
        "--registry",
        &registry,
    ]);
    assert_eq!(u.installed(), ["acme/tests-green@0.1.0"]);
    let pinned = u.lockfile();
    assert!(pinned.contains("acme/tests-green"), "{pinned}");

    // Reinstall from the lockfile after someone repointed the tag: refused.
    let evil_text =
        manifest_text(Path::new(artifacts::TESTS_GREEN)).replace("Passes", "Always passes");
    let evil = u.home.join("evil.wasm");
    std::fs::write(
        &evil,
        with_manifest(&std::fs::read(artifacts::TESTS_GREEN).unwrap(), &evil_text),
    )
    .unwrap();
    // Someone with push access to the registry (but not the key) moves the tag.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use gyre_registry::Backend;
        let backend = gyre_registry::OciRegistry::new(&server.host(), None, true);
        let built = gyre_registry::artifact::build(
            &"acme/tests-green".parse().unwrap(),
            vec![("evil.wasm".into(), std::fs::read(&evil).unwrap())],
        )
        .unwrap();
        backend
            .push(
                &"acme/tests-green".parse().unwrap(),
                "0.1.0",
                &built,
                &gyre_registry::progress::Quiet,
            )
            .await
            .unwrap();
    });
    u.ok(&["remove", "acme/tests-green"]);
    std::fs::write(u.home.join("project/gyre.lock"), &pinned).unwrap();
    let out = u.run(&["install", "--from-lock", "--yes", "--registry", &registry]);
    assert_eq!(out.status.code(), Some(FAILED), "{}", text(&out));
    assert!(text(&out).contains("moved tag"), "{}", text(&out));
    assert!(u.installed().is_empty());
}

#[test]
fn an_upgrade_signed_by_another_key_is_asked_about_even_if_trusted() {
    let u = User::new();
    u.publisher("acme");
    // A second key, also trusted for acme (say, a new maintainer).
    let other = u.ok(&["key", "generate", "acme-new"]).trim().to_string();
    u.ok(&[
        "key",
        "trust",
        &other,
        "--namespace",
        "acme",
        "--name",
        "acme-new",
    ]);
    u.ok(&[
        "publish",
        artifacts::TESTS_GREEN,
        "--namespace",
        "acme",
        "--key",
        "acme",
    ]);
    u.ok(&["install", "acme/tests-green", "--yes"]);

    let text_v2 = manifest_text(Path::new(artifacts::TESTS_GREEN)).replace("0.1.0", "0.1.1");
    let v2 = u.home.join("tests-green-0.1.1.wasm");
    std::fs::write(
        &v2,
        with_manifest(&std::fs::read(artifacts::TESTS_GREEN).unwrap(), &text_v2),
    )
    .unwrap();
    u.ok(&[
        "publish",
        v2.to_str().unwrap(),
        "--namespace",
        "acme",
        "--key",
        "acme-new",
    ]);

    let out = u.run(&["upgrade"]);
    assert_eq!(out.status.code(), Some(DENIED), "{}", text(&out));
    assert!(text(&out).contains("SIGNER CHANGED"), "{}", text(&out));
    assert_eq!(u.installed(), ["acme/tests-green@0.1.0"]);
    u.ok(&["upgrade", "--yes"]);
    assert_eq!(u.installed(), ["acme/tests-green@0.1.1"]);
}
