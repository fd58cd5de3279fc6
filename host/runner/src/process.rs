//! Starting the commands the user bound to roles: in the run's worktree,
//! in their own process group, with a cleared environment, a deadline, a
//! kill switch and bounded output.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Variables every role keeps; everything else is cleared unless the
/// binding lists it.
const BASE_ENV: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LC_ALL",
    "TERM",
    "TMPDIR",
    "CARGO_HOME",
    "RUSTUP_HOME",
];

/// Output kept per command; beyond it the rest is drained and dropped.
pub const MAX_LOG_BYTES: u64 = 16 << 20;
/// stdout kept in memory for an agent's spend report.
const MAX_STDOUT_BYTES: usize = 1 << 20;

pub struct Spawn<'a> {
    pub argv: Vec<String>,
    pub cwd: &'a Path,
    pub pass_env: &'a [String],
    pub set_env: Vec<(String, String)>,
    pub stdin: Option<String>,
    pub timeout: Duration,
    pub log: PathBuf,
    /// Keep stdout apart (in [`Finished::stdout`]) as well as in the log.
    pub keep_stdout: bool,
}

#[derive(Debug, Default)]
pub struct Finished {
    /// None when killed by a signal.
    pub exit: Option<i32>,
    pub timed_out: bool,
    pub stopped: bool,
    pub duration: Duration,
    /// stdout alone (bounded), for reading an agent's report.
    pub stdout: Vec<u8>,
    pub log_truncated: bool,
}

impl Finished {
    pub fn success(&self) -> bool {
        self.exit == Some(0) && !self.timed_out && !self.stopped
    }
}

struct Log {
    file: std::fs::File,
    written: u64,
    truncated: bool,
}

impl Log {
    fn write(&mut self, bytes: &[u8]) {
        let room = MAX_LOG_BYTES.saturating_sub(self.written) as usize;
        let take = bytes.len().min(room);
        if take < bytes.len() {
            self.truncated = true;
        }
        if take > 0 && self.file.write_all(&bytes[..take]).is_ok() {
            self.written += take as u64;
        }
    }
}

fn drain(
    mut from: impl Read + Send + 'static,
    log: Arc<Mutex<Log>>,
    keep: Option<Arc<Mutex<Vec<u8>>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if let Ok(mut log) = log.lock() {
                        log.write(&buf[..n]);
                    }
                    if let Some(keep) = &keep
                        && let Ok(mut keep) = keep.lock()
                    {
                        let room = MAX_STDOUT_BYTES.saturating_sub(keep.len());
                        keep.extend_from_slice(&buf[..n.min(room)]);
                    }
                }
            }
        }
    })
}

/// Whether process `pid` (our child) has exited, without reaping it.
fn exited(pid: i32) -> bool {
    // SAFETY: a zeroed siginfo_t is a valid out-parameter for waitid(2),
    // which only writes into it.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid on our own child with WNOWAIT leaves it unreaped.
    let rc = unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    // SAFETY: si_pid is set by waitid when a child changed state.
    rc == 0 && unsafe { info.si_pid() } != 0
}

/// Kills a whole process group.
pub fn kill_group(pgid: i32) {
    if pgid > 1 {
        // SAFETY: kill(2) with a negative pid signals a process group; it
        // touches no memory of ours.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
}

/// Kills the process group a crashed runner left behind, if its leader
/// still runs in `worktree` (so a recycled pid is never hit).
pub fn kill_leftover(pgid: i32, worktree: &Path) {
    let cwd = std::fs::read_link(format!("/proc/{pgid}/cwd"));
    let same = match (cwd, std::fs::canonicalize(worktree)) {
        (Ok(cwd), Ok(wt)) => cwd.starts_with(&wt),
        _ => false,
    };
    if same {
        tracing::warn!(
            pgid,
            "stopping a command left running by an interrupted run"
        );
        kill_group(pgid);
    }
}

/// Runs one command to its end, its deadline, or until `stop` says so.
/// `started` receives the process group id as soon as it exists.
pub fn run(
    spawn: Spawn<'_>,
    stop: &dyn Fn() -> bool,
    started: &dyn Fn(i32),
) -> std::io::Result<Finished> {
    let (program, args) = spawn
        .argv
        .split_first()
        .ok_or_else(|| std::io::Error::other("the command line is empty"))?;
    let mut cmd = Command::new(program);
    cmd.args(args).current_dir(spawn.cwd).env_clear();
    for name in BASE_ENV
        .iter()
        .copied()
        .chain(spawn.pass_env.iter().map(String::as_str))
    {
        if let Some(value) = std::env::var_os(name) {
            cmd.env(name, value);
        }
    }
    for (k, v) in &spawn.set_env {
        cmd.env(k, v);
    }
    cmd.process_group(0).stdin(if spawn.stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    // A command's log keeps stdout and stderr in the order they were
    // written (as `2>&1` would): one pipe for both. An agent's stdout is
    // kept apart as well, to read its report.
    let merged = if spawn.keep_stdout {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        None
    } else {
        let (reader, writer) = std::io::pipe()?;
        cmd.stdout(writer.try_clone()?).stderr(writer);
        Some(reader)
    };

    if let Some(dir) = spawn.log.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let log = Arc::new(Mutex::new(Log {
        file: std::fs::File::create(&spawn.log)?,
        written: 0,
        truncated: false,
    }));
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot start `{program}`: {e}")))?;
    let pgid = child.id() as i32;
    started(pgid);

    // Our copies of the pipe's write end must go, or it never reaches EOF.
    drop(cmd);
    let stdout_keep = Arc::new(Mutex::new(Vec::new()));
    let mut readers = Vec::new();
    if let Some(reader) = merged {
        readers.push(drain(reader, log.clone(), None));
    }
    if let Some(out) = child.stdout.take() {
        readers.push(drain(out, log.clone(), Some(stdout_keep.clone())));
    }
    if let Some(err) = child.stderr.take() {
        readers.push(drain(err, log.clone(), None));
    }
    if let (Some(mut input), Some(text)) = (child.stdin.take(), spawn.stdin) {
        // A command that never reads its stdin must not wedge us.
        std::thread::spawn(move || {
            let _ = input.write_all(text.as_bytes());
        });
    }

    let mut finished = Finished::default();
    let status = loop {
        if exited(pgid) {
            // The leader is a zombie now, so its group id cannot be reused:
            // end whatever it left in its group, then reap it.
            kill_group(pgid);
            break Some(child.wait()?);
        }
        if start.elapsed() >= spawn.timeout {
            finished.timed_out = true;
            break None;
        }
        if stop() {
            finished.stopped = true;
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    if status.is_none() {
        kill_group(pgid);
        let _ = child.wait();
    }
    // A process that left the group (setsid) may hold the pipes open: wait
    // for the output a little, then go on without it.
    let deadline = Instant::now() + Duration::from_secs(5);
    for r in readers {
        while !r.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        if r.is_finished() {
            let _ = r.join();
        }
    }
    finished.exit = status.and_then(|s| s.code());
    finished.duration = start.elapsed();
    finished.stdout = std::mem::take(&mut *stdout_keep.lock().unwrap_or_else(|p| p.into_inner()));
    finished.log_truncated = log.lock().map(|l| l.truncated).unwrap_or(false);
    Ok(finished)
}
