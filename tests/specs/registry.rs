//! The registry as a user depends on it: packages published to a real OCI
//! registry (Debian's docker-registry on 127.0.0.1) and to the embedded
//! directory registry, installed with every check, and every tampering a
//! compromised registry could try refused with nothing installed.

use gyre_registry::backend::{AnyBackend, Backend, LocalRegistry, OciRegistry};
use gyre_registry::consent;
use gyre_registry::fetch::{self, Checks, Fetched, Pin};
use gyre_registry::index::{IndexBody, SignedIndex};
use gyre_registry::publish::{self, PublishOptions, Published};
use gyre_registry::seen::SeenStore;
use gyre_registry::{
    Digest, InstallRecord, Installed, PackageName, RegistryError, SecretKey, Timestamp,
    TrustPolicy, Want,
};
use gyre_tests::registry::{DockerRegistry, manifest_text, skopeo_inspect, with_manifest};
use gyre_tests::{Sandbox, TempDir, artifacts};
use std::path::{Path, PathBuf};

const DAY: u64 = 86_400;

/// A registry under test, with a way to reach its stored bytes as an
/// attacker with access to its disk would.
struct Target {
    backend: AnyBackend,
    server: Option<DockerRegistry>,
    _dir: TempDir,
}

impl Target {
    fn local() -> Self {
        let dir = TempDir::new("local-registry");
        Self {
            backend: AnyBackend::Local(LocalRegistry::new(&dir.join("registry"))),
            server: None,
            _dir: dir,
        }
    }

    fn oci() -> Self {
        let server = DockerRegistry::start();
        Self {
            backend: AnyBackend::Oci(OciRegistry::new(&server.host(), None, true)),
            server: Some(server),
            _dir: TempDir::new("oci-target"),
        }
    }

    fn blob_file(&self, digest: &Digest) -> PathBuf {
        match (&self.backend, &self.server) {
            (AnyBackend::Local(l), _) => l.blob_path(digest),
            (_, Some(server)) => server.blob_file(&digest.hex()),
            _ => unreachable!(),
        }
    }
}

/// One user (data dir, trust policy) and one publisher key, `acme`.
struct World {
    dir: TempDir,
    acme: SecretKey,
    policy: TrustPolicy,
}

fn tests_green() -> PackageName {
    "acme/tests-green".parse().unwrap()
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

impl World {
    fn new() -> Self {
        let acme = SecretKey::generate("acme");
        let mut policy = TrustPolicy::default();
        policy.trust("acme", acme.public(), "acme");
        Self {
            dir: TempDir::new("registry-world"),
            acme,
            policy,
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn installed(&self) -> Installed {
        Installed::open(&self.data())
    }

    async fn publish_as(
        &self,
        t: &Target,
        key: &SecretKey,
        name: &str,
        file: &str,
        bytes: Vec<u8>,
    ) -> Published {
        let opts = PublishOptions {
            key,
            policy: &self.policy,
            now: Timestamp::now(),
            valid_for: 90 * DAY,
        };
        publish::publish(
            &t.backend,
            &name.parse().unwrap(),
            vec![(file.to_string(), bytes)],
            &opts,
            &gyre_registry::progress::Quiet,
        )
        .await
        .unwrap_or_else(|e| panic!("publishing {name}: {e}"))
    }

    async fn publish(&self, t: &Target, name: &str, artifact: &str) -> Published {
        self.publish_as(t, &self.acme, name, "c.wasm", read(artifact))
            .await
    }

    async fn fetch_at(
        &self,
        t: &Target,
        name: &PackageName,
        pin: &Pin,
        allow_untrusted: bool,
        now: Timestamp,
    ) -> Result<Fetched, RegistryError> {
        let mut seen = SeenStore::open(&self.data().join("seen.toml")).unwrap();
        let mut checks = Checks {
            policy: &self.policy,
            seen: &mut seen,
            allow_untrusted,
            now,
        };
        fetch::fetch(
            &t.backend,
            name,
            pin,
            &mut checks,
            &gyre_registry::progress::Quiet,
        )
        .await
    }

    async fn install(
        &self,
        t: &Target,
        name: &PackageName,
        pin: &Pin,
    ) -> Result<InstallRecord, RegistryError> {
        let fetched = self.fetch_at(t, name, pin, false, Timestamp::now()).await?;
        self.installed().commit(&fetched, Timestamp::now())
    }

    async fn latest(&self, t: &Target, name: &PackageName) -> Result<InstallRecord, RegistryError> {
        self.install(t, name, &Pin::Want(Want::Latest)).await
    }

    fn assert_nothing_installed(&self) {
        let installed = self.installed();
        assert!(
            installed.list().unwrap().is_empty(),
            "something was installed"
        );
        assert!(
            installed.leftovers().is_empty(),
            "an install left files: {:?}",
            installed.leftovers()
        );
    }
}

/// Asserts a security refusal whose message says `why`.
fn assert_refused<T>(result: Result<T, RegistryError>, why: &str) -> String {
    match result {
        Ok(_) => panic!("accepted; expected a refusal mentioning {why:?}"),
        Err(e) => {
            let msg = e.to_string();
            assert!(e.is_refusal(), "not a refusal: {msg}");
            assert!(msg.contains(why), "expected {why:?} in: {msg}");
            msg
        }
    }
}

fn flip_byte(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let at = at.min(bytes.len() - 1);
    bytes[at] ^= 0x55;
    std::fs::write(path, bytes).unwrap();
}

// ---- scenarios, each run against both backends ----

async fn publish_then_install_round_trip(t: Target) {
    let w = World::new();
    let published = w
        .publish(&t, "acme/tests-green", artifacts::TESTS_GREEN)
        .await;
    assert_eq!(published.id.to_string(), "acme/tests-green@0.1.0");
    assert_eq!(published.index_version, 1);
    let record = w.latest(&t, &tests_green()).await.unwrap();
    assert_eq!(record.digest, published.digest);
    assert_eq!(record.publisher, Some(w.acme.public()));

    // What the recipe runner uses: the installed plugin, checked, loadable.
    let plugin = w.installed().plugin(&tests_green()).unwrap();
    assert_eq!(plugin.digest, Digest::of(&read(artifacts::TESTS_GREEN)));
    assert_eq!(plugin.manifest.plugin.name.as_str(), "tests-green");
    let sandbox = Sandbox::new();
    let loaded = sandbox.load(plugin.wasm.to_str().unwrap());
    assert_eq!(loaded.name(), "tests-green");
    assert!(w.installed().verify(&tests_green(), &w.policy).is_ok());

    // Publishing the same bytes again changes nothing; other bytes under
    // the same version are refused: versions are immutable.
    let again = w
        .publish(&t, "acme/tests-green", artifacts::TESTS_GREEN)
        .await;
    assert!(!again.new);
    let other = with_manifest(
        &read(artifacts::TESTS_GREEN),
        &manifest_text(Path::new(artifacts::TESTS_GREEN)).replace("Passes", "Now passes"),
    );
    let opts = PublishOptions {
        key: &w.acme,
        policy: &w.policy,
        now: Timestamp::now(),
        valid_for: DAY,
    };
    let err = publish::publish(
        &t.backend,
        &tests_green(),
        vec![("x.wasm".into(), other)],
        &opts,
        &gyre_registry::progress::Quiet,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("immutable"), "{err}");
}

async fn a_modified_blob_is_refused(t: Target) {
    let w = World::new();
    w.publish(&t, "acme/tests-green", artifacts::TESTS_GREEN)
        .await;
    let layer = Digest::of(&read(artifacts::TESTS_GREEN));
    flip_byte(&t.blob_file(&layer), 5000);
    assert_refused(
        w.latest(&t, &tests_green()).await,
        "does not match its digest",
    );
    w.assert_nothing_installed();
}

async fn a_swapped_manifest_is_refused(t: Target) {
    let w = World::new();
    let green = w
        .publish(&t, "acme/tests-green", artifacts::TESTS_GREEN)
        .await;
    let guard = w
        .publish(&t, "acme/diff-guard", artifacts::DIFF_GUARD)
        .await;
    // The registry now answers tests-green's manifest digest with
    // diff-guard's (validly signed) manifest.
    let guard_manifest = std::fs::read(t.blob_file(&guard.digest)).unwrap();
    std::fs::write(t.blob_file(&green.digest), guard_manifest).unwrap();
    assert_refused(
        w.latest(&t, &tests_green()).await,
        "does not match its digest",
    );
    w.assert_nothing_installed();
}

async fn a_bad_signature_is_refused(t: Target) {
    let w = World::new();
    w.publish(&t, "acme/tests-green", artifacts::TESTS_GREEN)
        .await;
    let ns = tests_green().namespace;
    let good = t.backend.get_index(&ns).await.unwrap().unwrap();

    // The index's own signature, damaged.
    let mut signed: SignedIndex = serde_json::from_slice(&good).unwrap();
    signed.payload = signed.payload.replace("\"version\":1", "\"version\":7");
    t.backend
        .put_index(&ns, &serde_json::to_vec(&signed).unwrap())
        .await
        .unwrap();
    assert_refused(w.latest(&t, &tests_green()).await, "bad signature");
    w.assert_nothing_installed();

    // A release whose signature is another release's, in an index the
    // publisher did sign.
    let mut body: IndexBody = serde_json::from_str(
        &serde_json::from_slice::<SignedIndex>(&good)
            .unwrap()
            .payload,
    )
    .unwrap();
    let release = body
        .packages
        .values_mut()
        .next()
        .unwrap()
        .releases
        .values_mut()
        .next()
        .unwrap();
    let forged = gyre_registry::index::Release::sign(
        &gyre_registry::PackageId {
            name: "acme/diff-guard".parse().unwrap(),
            version: "0.1.0".parse().unwrap(),
        },
        release.digest,
        &w.acme,
        Timestamp::now(),
    );
    release.signature = forged.signature;
    body.version = 2;
    t.backend
        .put_index(&ns, &body.sign_as_is(&w.acme))
        .await
        .unwrap();
    assert_refused(w.latest(&t, &tests_green()).await, "bad signature");
    w.assert_nothing_installed();
}

async fn an_untrusted_signer_is_refused(t: Target) {
    let w = World::new();
    let mallory = SecretKey::generate("mallory");
    w.publish_as(
        &t,
        &mallory,
        "acme/tests-green",
        "c.wasm",
        read(artifacts::TESTS_GREEN),
    )
    .await;
    let msg = assert_refused(w.latest(&t, &tests_green()).await, "untrusted key");
    assert!(msg.contains(&mallory.public().to_string()), "{msg}");
    w.assert_nothing_installed();

    // Only the loudly named override accepts it, and records no publisher.
    let fetched = w
        .fetch_at(
            &t,
            &tests_green(),
            &Pin::Want(Want::Latest),
            true,
            Timestamp::now(),
        )
        .await
        .unwrap();
    assert_eq!(fetched.publisher, None);
    let record = w.installed().commit(&fetched, Timestamp::now()).unwrap();
    assert_eq!(record.publisher, None);
    assert_eq!(
        w.installed().plugin(&tests_green()).unwrap().state_key(),
        None
    );
}

async fn a_rollback_to_an_older_index_is_refused(t: Target) {
    let w = World::new();
    w.publish(&t, "acme/tests-green", artifacts::TESTS_GREEN)
        .await;
    let ns = tests_green().namespace;
    let old = t.backend.get_index(&ns).await.unwrap().unwrap();
    w.publish(&t, "acme/diff-guard", artifacts::DIFF_GUARD)
        .await;
    w.latest(&t, &tests_green()).await.unwrap(); // sees index version 2
    w.installed().remove(&tests_green()).unwrap();

    t.backend.put_index(&ns, &old).await.unwrap();
    assert_refused(w.latest(&t, &tests_green()).await, "rollback refused");
    w.assert_nothing_installed();
}

async fn expired_metadata_is_refused(t: Target) {
    let w = World::new();
    w.publish(&t, "acme/tests-green", artifacts::TESTS_GREEN)
        .await;
    // A registry frozen on this index for 91 days.
    let later = Timestamp(Timestamp::now().0 + 91 * DAY);
    let fetched = w
        .fetch_at(&t, &tests_green(), &Pin::Want(Want::Latest), false, later)
        .await;
    assert_refused(fetched, "expired");
    // Not even the override accepts stale metadata.
    let fetched = w
        .fetch_at(&t, &tests_green(), &Pin::Want(Want::Latest), true, later)
        .await;
    assert_refused(fetched, "expired");
    w.assert_nothing_installed();
}

async fn a_moved_tag_after_locking_is_refused(t: Target) {
    let w = World::new();
    w.publish(&t, "acme/tests-green", artifacts::TESTS_GREEN)
        .await;
    let record = w.latest(&t, &tests_green()).await.unwrap();
    let locked = Pin::Locked {
        version: record.version.clone(),
        digest: record.digest,
    };

    // Someone with push access repoints the 0.1.0 tag at other code.
    let evil = with_manifest(
        &read(artifacts::TESTS_GREEN),
        &manifest_text(Path::new(artifacts::TESTS_GREEN)).replace("Passes", "Always passes"),
    );
    let built =
        gyre_registry::artifact::build(&tests_green(), vec![("c.wasm".into(), evil)]).unwrap();
    t.backend
        .push(
            &tests_green(),
            "0.1.0",
            &built,
            &gyre_registry::progress::Quiet,
        )
        .await
        .unwrap();
    assert_refused(w.install(&t, &tests_green(), &locked).await, "moved tag");
    // Without a lock the signed index still decides, and the tag must agree.
    assert_refused(w.latest(&t, &tests_green()).await, "moved tag");

    // Or the index itself is re-signed to say 0.1.0 is something else: the
    // lockfile pins the old digest, so it is refused too.
    let ns = tests_green().namespace;
    let good = t.backend.get_index(&ns).await.unwrap().unwrap();
    let mut body: IndexBody = serde_json::from_str(
        &serde_json::from_slice::<SignedIndex>(&good)
            .unwrap()
            .payload,
    )
    .unwrap();
    let release = body
        .packages
        .values_mut()
        .next()
        .unwrap()
        .releases
        .values_mut()
        .next()
        .unwrap();
    *release =
        gyre_registry::index::Release::sign(&built.id, built.digest, &w.acme, Timestamp::now());
    let (_, bytes) = body.sign(&w.acme, Timestamp::now(), DAY);
    t.backend.put_index(&ns, &bytes).await.unwrap();
    assert_refused(
        w.install(&t, &tests_green(), &locked).await,
        "gyre.lock pins",
    );

    // The installed package is still exactly what was locked.
    let still = w.installed().get(&tests_green()).unwrap().unwrap();
    assert_eq!(still.digest, record.digest);
}

async fn an_upgrade_that_widens_capabilities_is_flagged(t: Target) {
    let w = World::new();
    let name: PackageName = "acme/http-json".parse().unwrap();
    w.publish(&t, "acme/http-json", artifacts::HTTP_JSON).await;
    let v1 = w
        .fetch_at(&t, &name, &Pin::Want(Want::Latest), false, Timestamp::now())
        .await
        .unwrap();
    let text = manifest_text(Path::new(artifacts::HTTP_JSON))
        .replace("version = \"0.1.0\"", "version = \"0.2.0\"")
        .replace("secrets = [", "secrets = [\"AWS_SECRET_ACCESS_KEY\", ")
        .replace("http = [", "http = [\"https://collector.example\", ");
    let widened = with_manifest(&read(artifacts::HTTP_JSON), &text);
    w.publish_as(&t, &w.acme, "acme/http-json", "c.wasm", widened)
        .await;
    let v2 = w
        .fetch_at(&t, &name, &Pin::Want(Want::Latest), false, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(v2.id.version.to_string(), "0.2.0");
    let changes = consent::diff(&v1.requests(), &v2.requests());
    let widening: Vec<&str> = changes
        .iter()
        .filter(|c| c.widens)
        .map(|c| c.text.as_str())
        .collect();
    assert!(
        widening.contains(&"+ network https://collector.example"),
        "{widening:?}"
    );
    assert!(
        widening.contains(&"+ secret AWS_SECRET_ACCESS_KEY"),
        "{widening:?}"
    );
    assert!(!consent::covers(&v1.requests(), &v2.requests()));
    assert!(consent::covers(&v2.requests(), &v1.requests()));
}

macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {
        mod embedded {
            $(#[tokio::test] async fn $scenario() { super::$scenario(super::Target::local()).await })*
        }
        mod oci {
            $(#[tokio::test] async fn $scenario() { super::$scenario(super::Target::oci()).await })*
        }
    };
}

on_both_backends!(
    publish_then_install_round_trip,
    a_modified_blob_is_refused,
    a_swapped_manifest_is_refused,
    a_bad_signature_is_refused,
    an_untrusted_signer_is_refused,
    a_rollback_to_an_older_index_is_refused,
    expired_metadata_is_refused,
    a_moved_tag_after_locking_is_refused,
    an_upgrade_that_widens_capabilities_is_flagged,
);

// ---- OCI interoperability ----

#[tokio::test]
async fn a_standard_oci_client_can_inspect_what_gyre_pushed() {
    let t = Target::oci();
    let w = World::new();
    let published = w
        .publish(&t, "acme/tests-green", artifacts::TESTS_GREEN)
        .await;
    let host = t.server.as_ref().unwrap().host();
    let reference = format!("docker://{host}/acme/tests-green:0.1.0");

    let raw: serde_json::Value =
        serde_json::from_str(&skopeo_inspect(&["--raw"], &reference)).unwrap();
    assert_eq!(
        raw["config"]["mediaType"],
        "application/vnd.wasm.config.v0+json"
    );
    assert_eq!(raw["layers"][0]["mediaType"], "application/wasm");
    assert_eq!(raw["annotations"]["dev.gyre.package"], "acme/tests-green");
    let raw_bytes = skopeo_inspect(&["--raw"], &reference);
    assert_eq!(
        Digest::of(raw_bytes.trim_end().as_bytes()),
        published.digest
    );

    let config: serde_json::Value =
        serde_json::from_str(&skopeo_inspect(&["--config", "--raw"], &reference)).unwrap();
    assert_eq!(config["architecture"], "wasm");
    assert_eq!(config["gyre"]["components"][0]["plugin"], "tests-green");
    assert!(
        config["gyre"]["components"][0]["manifest"]
            .as_str()
            .unwrap()
            .contains("[plugin]")
    );
}

// ---- state keyed by signed identity ----

#[tokio::test]
async fn state_follows_the_signed_identity_across_upgrades_and_not_to_impostors() {
    let t = Target::local();
    let w = World::new();
    let name: PackageName = "acme/hostile-trap-midcall".parse().unwrap();
    let original = read(artifacts::HOSTILE_TRAP_MIDCALL);
    w.publish_as(
        &t,
        &w.acme,
        "acme/hostile-trap-midcall",
        "c.wasm",
        original.clone(),
    )
    .await;
    w.latest(&t, &name).await.unwrap();

    let sandbox = Sandbox::new();
    let run = |plugin: &gyre_registry::InstalledPlugin, input: &'static str| {
        let loaded = sandbox.load(plugin.wasm.to_str().unwrap());
        let granted = loaded
            .grant_keyed(
                &Default::default(),
                std::sync::Arc::new(gyre_sandbox::SystemResolver),
                plugin.state_key().as_deref(),
            )
            .unwrap();
        async move { loaded.invoke(&granted, "{}", "run", input).await.outcome }
    };
    let v1 = w.installed().plugin(&name).unwrap();
    let key = v1.state_key().unwrap();
    assert!(key.contains(&w.acme.public().fingerprint()), "{key}");
    let _ = run(&v1, r#"{"mode": "panic", "key": "k"}"#).await; // writes, then traps

    // A new version (new digest) from the same publisher sees its state.
    let text = manifest_text(Path::new(artifacts::HOSTILE_TRAP_MIDCALL)).replace("0.1.0", "0.2.0");
    w.publish_as(
        &t,
        &w.acme,
        "acme/hostile-trap-midcall",
        "c.wasm",
        with_manifest(&original, &text),
    )
    .await;
    w.latest(&t, &name).await.unwrap();
    let v2 = w.installed().plugin(&name).unwrap();
    assert_ne!(v2.digest, v1.digest);
    assert_eq!(v2.state_key(), v1.state_key());
    let seen = run(&v2, r#"{"key": "k"}"#).await.unwrap().unwrap();
    assert!(seen.contains("written before panic"), "{seen}");

    // The same name from another publisher, even one trusted for the
    // namespace, or installed untrusted, starts empty.
    for trusted in [true, false] {
        let other = TempDir::new("impostor");
        let impostor = SecretKey::generate("impostor");
        let mut w2 = World::new();
        if trusted {
            w2.policy.trust("impostor", impostor.public(), "acme");
        }
        let t2 = Target {
            backend: AnyBackend::Local(LocalRegistry::new(&other.join("r"))),
            server: None,
            _dir: other,
        };
        w2.publish_as(
            &t2,
            &impostor,
            "acme/hostile-trap-midcall",
            "c.wasm",
            original.clone(),
        )
        .await;
        let fetched = w2
            .fetch_at(
                &t2,
                &name,
                &Pin::Want(Want::Latest),
                !trusted,
                Timestamp::now(),
            )
            .await
            .unwrap();
        w2.installed().commit(&fetched, Timestamp::now()).unwrap();
        let theirs = w2.installed().plugin(&name).unwrap();
        assert_ne!(theirs.state_key(), v1.state_key());
        let seen = run(&theirs, r#"{"key": "k"}"#).await.unwrap().unwrap();
        assert!(
            seen.contains("\"kv_before_trap\":null"),
            "impostor saw state: {seen}"
        );
    }
}

#[tokio::test]
async fn a_lockfile_reinstall_is_reproducible_and_never_follows_a_newer_release() {
    let t = Target::local();
    let w = World::new();
    let name: PackageName = "acme/tests-green".parse().unwrap();
    let v1 = w
        .publish(&t, "acme/tests-green", artifacts::TESTS_GREEN)
        .await;
    let text = manifest_text(Path::new(artifacts::TESTS_GREEN)).replace("0.1.0", "0.1.1");
    w.publish_as(
        &t,
        &w.acme,
        "acme/tests-green",
        "c.wasm",
        with_manifest(&read(artifacts::TESTS_GREEN), &text),
    )
    .await;
    let locked = Pin::Locked {
        version: "0.1.0".parse().unwrap(),
        digest: v1.digest,
    };
    let record = w.install(&t, &name, &locked).await.unwrap();
    assert_eq!(record.digest, v1.digest);
    assert_eq!(record.version.to_string(), "0.1.0");
    let latest = w.latest(&t, &name).await.unwrap();
    assert_eq!(latest.version.to_string(), "0.1.1");
}

#[test]
#[should_panic(expected = "apt-get install -y no-such-package")]
fn a_missing_registry_tool_fails_the_tests_naming_the_install_command() {
    gyre_tests::registry::require_tool("gyre-no-such-tool", "no-such-package");
}
