//! Registry fixtures: Debian's `docker-registry` started on 127.0.0.1 with
//! its storage in a temp dir, `skopeo` to inspect what Gyre pushed, and
//! rewriting a component's embedded manifest to make new versions.

use crate::TempDir;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Finds `tool` on PATH or fails the test naming how to install it: these
/// tests must never pass by skipping.
pub fn require_tool(tool: &str, package: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(tool))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "`{tool}` is not installed; the registry tests need it. Install it with \
             `apt-get update && apt-get install -y {package}` (.ci/run does this)"
        )
    })
}

/// A real OCI distribution registry (Debian's docker-registry 2.8) on
/// 127.0.0.1, stopped and deleted on drop.
pub struct DockerRegistry {
    pub addr: SocketAddr,
    pub storage: PathBuf,
    child: Child,
    _dir: TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("finding a free port on 127.0.0.1")
}

fn answers_v2(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req = format!("GET /v2/ HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut buf = [0u8; 32];
    let n = s.read(&mut buf).unwrap_or(0);
    buf[..n].starts_with(b"HTTP/1.1 200")
}

impl DockerRegistry {
    pub fn start() -> Self {
        let binary = require_tool("docker-registry", "docker-registry");
        let dir = TempDir::new("oci-registry");
        let storage = dir.join("storage");
        std::fs::create_dir_all(&storage).expect("creating registry storage");
        for _attempt in 0..3 {
            let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
            let config = dir.join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n",
                    storage.display()
                ),
            )
            .expect("writing the registry config");
            let mut child = Command::new(&binary)
                .arg("serve")
                .arg(&config)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("starting docker-registry");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if answers_v2(addr) {
                    return Self {
                        addr,
                        storage,
                        child,
                        _dir: dir,
                    };
                }
                if let Ok(Some(_)) = child.try_wait() {
                    break; // port taken meanwhile: try another
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("docker-registry did not answer on 127.0.0.1");
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// Where the registry keeps a blob's bytes (its filesystem driver).
    pub fn blob_file(&self, digest_hex: &str) -> PathBuf {
        self.storage
            .join("docker/registry/v2/blobs/sha256")
            .join(&digest_hex[..2])
            .join(digest_hex)
            .join("data")
    }
}

impl Drop for DockerRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `skopeo inspect --tls-verify=false` with `args` on `reference`
/// (`docker://HOST/REPO:TAG`) and returns stdout, failing the test on error.
pub fn skopeo_inspect(args: &[&str], reference: &str) -> String {
    let skopeo = require_tool("skopeo", "skopeo");
    let out = Command::new(skopeo)
        .args(["inspect", "--tls-verify=false"])
        .args(args)
        .arg(reference)
        .output()
        .expect("running skopeo");
    assert!(
        out.status.success(),
        "skopeo inspect {reference} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A copy of a component with its embedded manifest replaced by `manifest`:
/// the old `gyre-manifest` section is renamed in place (same length) and a
/// new one appended at the top level. This is how tests make a new version
/// of a first-party plugin that asks for more.
pub fn with_manifest(component: &[u8], manifest: &str) -> Vec<u8> {
    let needle = b"\x0dgyre-manifest";
    let mut bytes = component.to_vec();
    let mut at = 0;
    let mut renamed = 0;
    while let Some(pos) = bytes[at..].windows(needle.len()).position(|w| w == needle) {
        let start = at + pos + 1;
        bytes[start..start + 13].copy_from_slice(b"gyre-disabled");
        at = start + 13;
        renamed += 1;
    }
    assert!(renamed > 0, "the component embeds no manifest");
    let mut payload = vec![13u8];
    payload.extend_from_slice(b"gyre-manifest");
    payload.extend_from_slice(manifest.as_bytes());
    bytes.push(0); // custom section
    leb128(&mut bytes, payload.len());
    bytes.extend_from_slice(&payload);
    bytes
}

fn leb128(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// The embedded manifest of a component, as text.
pub fn manifest_text(component: &Path) -> String {
    let bytes = std::fs::read(component).expect("reading the component");
    gyre_sandbox::inspect::read(&bytes)
        .expect("a component")
        .manifest_text
        .expect("an embedded manifest")
}
