//! Loops as a user runs them: the real `gyre` binary, real git repositories
//! in temp dirs, real `cargo test` as the checked command, real HTTP on
//! 127.0.0.1, first-party and hostile plugin components.

use gyre_tests::{Recorded, Reply, TempDir, TestServer, artifacts};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/quickstart/sample"
);
const STAND_IN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/quickstart/stand-in-agent.py"
);

/// A project with a sample crate holding two bugs, in its own git repo.
struct Project {
    root: TempDir,
}

/// A maker that changes nothing and reports $0.04.
const IDLE_MAKER: &str = r#"["sh", "-c", "cat >/dev/null; echo '{\"total_cost_usd\": 0.04}'"]"#;

fn sh(dir: &Path, script: &str) {
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Project {
    fn new(tag: &str) -> Self {
        let root = TempDir::new(tag);
        let dir = root.join("project");
        sh(root.path(), &format!("cp -r {SAMPLE} {}", dir.display()));
        sh(
            &dir,
            "git init -q -b main && git add -A && git -c user.name=t -c user.email=t@localhost commit -q -m init",
        );
        Self { root }
    }

    fn dir(&self) -> PathBuf {
        self.root.join("project")
    }

    /// A file the scripts of a test share (markers, counters).
    fn mark(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Writes gyre.toml: the maker binding, the `test` command, the first-
    /// party plugins mapped, then `extra` (loops, grants, more roles).
    fn config(&self, maker: &str, extra: &str) {
        let wasm = |a: &str| a.to_string();
        let text = format!(
            r#"
[agents.maker]
run = {maker}
spend = "/total_cost_usd"
timeout = "2m"

[commands.test]
run = "cargo test --offline --color never"
env = ["CARGO_TARGET_DIR"]

[plugins]
"gyre/tests-green" = "{}"
"gyre/diff-guard" = "{}"
"gyre/webhook-notify" = "{}"
"gyre/schedule" = "{}"
"gyre/webhook" = "{}"
"gyre/http-json" = "{}"
"hostile/secrets" = "{}"
"hostile/deep-recursion" = "{}"
"hostile/infinite-loop" = "{}"
"hostile/kv-smuggle" = "{}"

{extra}
"#,
            wasm(artifacts::TESTS_GREEN),
            wasm(artifacts::DIFF_GUARD),
            wasm(artifacts::WEBHOOK_NOTIFY),
            wasm(artifacts::SCHEDULE),
            wasm(artifacts::WEBHOOK),
            wasm(artifacts::HTTP_JSON),
            wasm(artifacts::HOSTILE_SECRET_NOT_GRANTED),
            wasm(artifacts::HOSTILE_DEEP_RECURSION),
            wasm(artifacts::HOSTILE_INFINITE_LOOP),
            wasm(artifacts::HOSTILE_KV_SMUGGLE),
        );
        std::fs::write(self.dir().join("gyre.toml"), text).unwrap();
    }

    fn recipe(&self, name: &str, text: &str) -> PathBuf {
        let path = self.root.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gyre"));
        cmd.args(args)
            .current_dir(self.dir())
            // Plugins compile once for all these tests.
            .env(
                "GYRE_CACHE_DIR",
                Path::new(env!("CARGO_TARGET_TMPDIR")).join("loops-cache"),
            )
            .env("GYRE_STATE_DIR", self.root.join("state"))
            .env("GYRE_CONFIG_DIR", self.root.join("config"))
            // Shared by this project's worktrees, which build one after another.
            .env("CARGO_TARGET_DIR", self.root.join("cargo-target"))
            .env("MARKS", self.root.path());
        cmd
    }

    fn gyre(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("running gyre")
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting gyre")
    }

    /// `gyre show <newest run> --json`.
    fn last_run(&self) -> Value {
        let out = self.gyre(&["runs", "--json"]);
        let runs: Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
        let id = runs[0]["run"]["id"].as_str().expect("a run").to_string();
        let out = self.gyre(&["show", &id, "--json"]);
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)))
    }

    fn wait_for(&self, what: &str, timeout: Duration, ready: impl Fn() -> bool) {
        let start = Instant::now();
        while !ready() {
            assert!(start.elapsed() < timeout, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn reason(show: &Value) -> &str {
    show["run"]["reason"].as_str().unwrap_or("none")
}

fn checks(show: &Value, n: usize) -> Vec<Value> {
    show["iterations"][n]["checks"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn check<'a>(checks: &'a [Value], id: &str) -> &'a Value {
    checks
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id}"))
}

/// Tests until green, then notifies: the recipe most tests use.
fn until_green(max: u32, no_progress: u32, extra: &str) -> String {
    format!(
        r#"
recipe = 1
name = "until-green"

[maker]
role = "maker"
prompt = "Iteration {{{{iteration}}}}. Failing last time:\n{{{{previous}}}}"

[[check]]
role = "test"

[[verify]]
id = "tests-green"
plugin = "gyre/tests-green"
evidence = ["test"]
config = {{ evidence = "test", min-tests = 1 }}

[[ship]]
id = "notify"
plugin = "gyre/webhook-notify"
operation = "notify"
config = {{ url-secret = "SLACK_WEBHOOK_URL" }}
input = {{ text = "green: {{{{goal}}}}", idempotency-key = "{{{{idempotency-key}}}}" }}

[guardrails]
max-iterations = {max}
no-progress = {no_progress}
{extra}
"#
    )
}

fn notify_grants(server: &TestServer) -> String {
    format!(
        r#"
[loops.until-green.grants.notify]
http = ["{origin}"]
secrets = {{ SLACK_WEBHOOK_URL = {{ value = "{url}" }} }}
"#,
        origin = server.origin(),
        url = server.url("/hooks/T0/B0/s3cr3t-webhook-path")
    )
}

/// A project whose loop `until-green` runs `recipe` with `maker`, its
/// notify step granted a receiver on loopback.
fn green_loop(tag: &str, maker: &str, recipe: &str) -> (Project, TestServer) {
    let p = Project::new(tag);
    let server = receiver();
    let path = p.recipe("until-green.toml", recipe);
    p.config(
        maker,
        &format!(
            "[loops.until-green]\nrecipe = \"{}\"\n{}",
            path.display(),
            notify_grants(&server)
        ),
    );
    (p, server)
}

fn receiver() -> TestServer {
    TestServer::start(|_| Reply::json(200, r#"{"ok": true}"#))
}

fn notifications(server: &TestServer) -> Vec<Recorded> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/hooks/"))
        .collect()
}

#[test]
fn a_loop_iterates_until_the_goal_holds_then_ships_once() {
    let (p, server) = green_loop(
        "loop-goal",
        &format!(r#"["python3", "{STAND_IN}"]"#),
        &until_green(5, 3, ""),
    );
    let out = p.gyre(&["run", "until-green", "--once"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let show = p.last_run();
    assert_eq!(reason(&show), "goal-met");
    // The stand-in fixes one bug per call: iteration 1 fails, 2 passes.
    let logs: Vec<String> = show["iterations"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|i| i["checks"].as_array().cloned().unwrap_or_default())
        .filter_map(|c| {
            c["evidence"]
                .as_str()
                .map(|p| std::fs::read_to_string(p).unwrap_or_default())
        })
        .collect();
    assert_eq!(show["iterations"].as_array().unwrap().len(), 2, "{logs:#?}");
    let first = checks(&show, 0);
    assert_eq!(check(&first, "test")["passed"], false);
    assert_eq!(check(&first, "tests-green")["passed"], false);
    assert!(
        check(&first, "tests-green")["summary"]
            .as_str()
            .unwrap()
            .contains("1 failed")
    );
    let second = checks(&show, 1);
    assert!(second.iter().all(|c| c["passed"] == true), "{second:?}");
    // The maker saw the first iteration's failures in its prompt.
    let maker_log = show["iterations"][1]["maker"]["log"].as_str().unwrap();
    let log = std::fs::read_to_string(maker_log).unwrap();
    assert!(log.contains(r#""read_previous_failures": true"#), "{log}");
    // Spend as the agent reported it: 2 × $0.04.
    assert!((show["run"]["totals"]["spend_usd"].as_f64().unwrap() - 0.08).abs() < 1e-9);

    let sent = notifications(&server);
    assert_eq!(sent.len(), 1, "shipped exactly once");
    let key = sent[0].header("idempotency-key").unwrap();
    assert_eq!(key, show["ships"][0]["idempotency_key"].as_str().unwrap());
    // The work is committed on the run's branch; the worktree is cleaned up.
    let branch = show["run"]["branch"].as_str().unwrap();
    let log = Command::new("git")
        .args(["-C", &p.dir().to_string_lossy(), "show", "--stat", branch])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&log.stdout).contains("src/lib.rs"));
    assert!(!Path::new(show["run"]["worktree"].as_str().unwrap()).exists());
    // The user's checkout is untouched.
    let main = std::fs::read_to_string(p.dir().join("src/lib.rs")).unwrap();
    assert!(
        main.contains("a - b"),
        "the run must not edit the main checkout"
    );
}

#[test]
fn the_iteration_cap_stops_a_loop_and_lands_it_in_the_inbox() {
    let (p, server) = green_loop("loop-cap", IDLE_MAKER, &until_green(2, 0, ""));
    let out = p.gyre(&["run", "until-green", "--once"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let show = p.last_run();
    assert_eq!(reason(&show), "max-iterations");
    assert_eq!(show["iterations"].as_array().unwrap().len(), 2);
    assert!(
        notifications(&server).is_empty(),
        "nothing ships when the goal does not hold"
    );
    // Kept for review, and in the inbox with the evidence.
    assert_eq!(show["run"]["worktree_kept"], true);
    let inbox = p.gyre(&["inbox"]);
    let inbox = text(&inbox);
    assert!(
        inbox.contains("max-iterations") && inbox.contains("failing tests-green"),
        "{inbox}"
    );
    let id = show["run"]["id"].as_str().unwrap();
    assert!(p.gyre(&["inbox", "--dismiss", id]).status.success());
    assert!(text(&p.gyre(&["inbox"])).contains("inbox empty"));
}

#[test]
fn the_same_diff_twice_in_a_row_is_no_progress() {
    let (p, _server) = green_loop("loop-stuck", IDLE_MAKER, &until_green(10, 2, ""));
    let out = p.gyre(&["run", "until-green", "--once"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let show = p.last_run();
    assert_eq!(reason(&show), "no-progress");
    assert_eq!(
        show["iterations"].as_array().unwrap().len(),
        2,
        "stopped after 2, not at the cap of 10"
    );
    assert!(
        show["run"]["detail"]
            .as_str()
            .unwrap()
            .contains("same diff")
    );
}

#[test]
fn spend_and_wall_time_budgets_stop_a_run() {
    let (p, _server) = green_loop(
        "loop-budget",
        IDLE_MAKER,
        &until_green(10, 0, "max-spend-usd = 0.10"),
    );
    let out = p.gyre(&["run", "until-green", "--once"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let show = p.last_run();
    assert_eq!(reason(&show), "budget");
    // $0.04 per iteration: the third crosses $0.10, and no fourth starts.
    assert_eq!(show["iterations"].as_array().unwrap().len(), 3);
    assert!(
        show["run"]["detail"]
            .as_str()
            .unwrap()
            .contains("max-spend-usd")
    );

    // A maker that would run for a minute is cut off at the wall budget.
    let slow = p.recipe(
        "slow.toml",
        &until_green(10, 0, "max-wall-time = \"2s\"").replace("until-green", "slow"),
    );
    p.config(
        r#"["sh", "-c", "sleep 60"]"#,
        &format!("[loops.slow]\nrecipe = \"{}\"", slow.display()),
    );
    let started = Instant::now();
    let out = p.gyre(&["run", "slow", "--once"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the maker was not cut off"
    );
    let show = p.last_run();
    assert_eq!(reason(&show), "budget");
    assert!(
        show["run"]["detail"]
            .as_str()
            .unwrap()
            .contains("max-wall-time")
    );
    assert_eq!(show["iterations"][0]["maker"]["timed_out"], true);
}

#[test]
fn a_verifier_that_traps_or_runs_out_of_fuel_is_a_failed_check() {
    let p = Project::new("loop-trap");
    let server = receiver();
    let extra_checks = r#"
[[verify]]
id = "recursion"
plugin = "hostile/deep-recursion"

[[verify]]
id = "spin"
plugin = "hostile/infinite-loop"
"#;
    let recipe_text =
        until_green(2, 0, "").replace("[[ship]]", &format!("{extra_checks}\n[[ship]]"));
    let recipe = p.recipe("until-green.toml", &recipe_text);
    p.config(
        &format!(r#"["python3", "{STAND_IN}"]"#),
        &format!(
            "[loops.until-green]\nrecipe = \"{}\"\n{}\n[loops.until-green.grants.spin]\nbudgets = {{ fuel = 50000000 }}\n",
            recipe.display(),
            notify_grants(&server)
        ),
    );
    let out = p.gyre(&["run", "until-green", "--once"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let show = p.last_run();
    // The tests went green in iteration 2, but the goal never held.
    assert_eq!(reason(&show), "max-iterations");
    let last = checks(&show, 1);
    assert_eq!(
        check(&last, "tests-green")["passed"],
        true,
        "{:#}",
        show["iterations"]
    );
    let recursion = check(&last, "recursion");
    assert_eq!(recursion["passed"], false);
    assert!(
        recursion["summary"]
            .as_str()
            .unwrap()
            .contains("the verifier failed"),
        "{recursion}"
    );
    let spin = check(&last, "spin");
    assert_eq!(spin["passed"], false);
    assert!(spin["summary"].as_str().unwrap().contains("fuel"), "{spin}");
    assert!(notifications(&server).is_empty());
}

#[test]
fn a_recipe_naming_a_role_the_user_did_not_bind_is_refused_before_anything_runs() {
    let p = Project::new("loop-unbound");
    let recipe = p.recipe(
        "lint.toml",
        &until_green(3, 0, "").replace(
            "[[check]]\nrole = \"test\"",
            "[[check]]\nrole = \"test\"\n\n[[check]]\nrole = \"lint\"",
        ),
    );
    let touched = p.mark("maker-ran");
    p.config(
        &format!(r#"["sh", "-c", "touch {}"]"#, touched.display()),
        &format!("[loops.until-green]\nrecipe = \"{}\"", recipe.display()),
    );
    let out = p.gyre(&["run", "until-green", "--once"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let message = text(&out);
    assert!(
        message.contains("command role `lint`") && message.contains("[commands.lint]"),
        "{message}"
    );
    assert!(!touched.exists(), "the maker must not run");
    assert!(
        !p.dir().join(".gyre/worktrees").exists(),
        "no worktree is created"
    );
    let branches = Command::new("git")
        .args(["-C", &p.dir().to_string_lossy(), "branch"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&branches.stdout).contains("gyre/"));
}

#[test]
fn a_recipe_with_a_mistake_is_refused_with_its_line_and_field() {
    let p = Project::new("loop-bad-recipe");
    p.config(IDLE_MAKER, "");
    let bad = p.recipe("bad.toml", "recipe = 1\nname = \"bad\"\n\n[maker]\nrole = \"maker\"\nprompt = \"x\"\nmodel = \"gpt\"\n");
    let out = p.gyre(&["run", &bad.to_string_lossy(), "--once"]);
    assert_eq!(out.status.code(), Some(2));
    let message = text(&out);
    assert!(
        message.contains("bad.toml") && message.contains("line 7") && message.contains("model"),
        "{message}"
    );

    let typo = p.recipe(
        "typo.toml",
        &until_green(3, 0, "").replace("{{previous}}", "{{previos}}"),
    );
    let out = p.gyre(&["run", &typo.to_string_lossy(), "--once"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("maker.prompt") && text(&out).contains("{{previos}}"),
        "{}",
        text(&out)
    );
}

#[test]
fn each_step_sees_only_its_own_grants() {
    let p = Project::new("loop-grants");
    const SENTINEL: &str = "ship-only-sentinel-7c1e";
    // The same hostile plugin runs as discovery and as a ship step. It
    // requests GRANTED_TOKEN and tries to read it and every common secret
    // name. The user grants the token to the ship step only.
    let recipe = p.recipe(
        "grants.toml",
        r#"
recipe = 1
name = "grants"

[[discover]]
id = "probe"
plugin = "hostile/secrets"
operation = "steal"
input = { names = ["SLACK_WEBHOOK_URL"], leak_in = "result" }

[maker]
role = "maker"
prompt = "{{findings}}"

[[check]]
role = "test"

[goal]
require = ["test"]

[[ship]]
id = "ship"
plugin = "hostile/secrets"
operation = "steal"
input = { names = ["SLACK_WEBHOOK_URL"], leak_in = "result" }

[guardrails]
max-iterations = 3
"#,
    );
    p.config(
        &format!(r#"["python3", "{STAND_IN}"]"#),
        &format!(
            "[loops.grants]\nrecipe = \"{}\"\n[loops.grants.grants.ship]\nsecrets = {{ GRANTED_TOKEN = {{ value = \"{SENTINEL}\" }} }}\n",
            recipe.display()
        ),
    );
    let out = p.gyre(&["run", "grants", "--once"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let show = p.last_run();
    let probe = &show["run"]["findings"]["probe"];
    assert_eq!(probe["ok"], false, "{probe}");
    assert_eq!(
        probe["granted"]["ok"], false,
        "discovery must not see the ship step's secret: {probe}"
    );
    let shipped = &show["ships"][0];
    assert_eq!(
        shipped["output"]["granted"]["ok"], true,
        "the ship step gets its grant: {shipped}"
    );
    // It also reached for names nobody granted: a ship step that was denied
    // anything has failed, whatever it returned.
    assert_eq!(shipped["status"], "failed");
    assert!(
        shipped["error"].as_str().unwrap().contains("denied"),
        "{shipped}"
    );
    assert_eq!(reason(&show), "error");
    // The value itself is redacted wherever the plugin pushed it, and is
    // nowhere in the run database, the journal or the evidence.
    let mut files = vec![
        p.dir().join(".gyre/runs.db"),
        p.dir().join(".gyre/runs.db-wal"),
    ];
    let walk = Command::new("find")
        .arg(p.dir().join(".gyre"))
        .args(["-type", "f"])
        .output()
        .unwrap();
    files.extend(
        String::from_utf8_lossy(&walk.stdout)
            .lines()
            .map(PathBuf::from),
    );
    for f in files {
        if let Ok(bytes) = std::fs::read(&f) {
            assert!(
                !bytes
                    .windows(SENTINEL.len())
                    .any(|w| w == SENTINEL.as_bytes()),
                "the secret leaked into {}",
                f.display()
            );
        }
    }
    assert!(!text(&out).contains(SENTINEL));
}

fn run_id(p: &Project) -> Option<String> {
    let out = p.gyre(&["runs", "--json"]);
    let runs: Value = serde_json::from_slice(&out.stdout).ok()?;
    runs[0]["run"]["id"].as_str().map(str::to_string)
}

#[test]
fn a_run_killed_mid_iteration_and_mid_ship_resumes_losing_nothing_and_shipping_once() {
    let p = Project::new("loop-crash");
    let server = receiver();
    let maker_marker = p.mark("maker-crashed-once");
    let push_marker = p.mark("push-crashed-once");
    // The maker hangs on its first call (so the runner can be killed in the
    // middle of it), then behaves like the stand-in agent.
    let maker = format!(
        r#"["sh", "-c", "if [ ! -f {m} ]; then touch {m}; sleep 120; fi; exec python3 {STAND_IN}"]"#,
        m = maker_marker.display()
    );
    let recipe_text = until_green(5, 0, "").replace(
        "[guardrails]",
        "[[ship]]\nid = \"push\"\nrole = \"push\"\n\n[guardrails]",
    );
    let recipe = p.recipe("until-green.toml", &recipe_text);
    p.config(
        &maker,
        &format!(
            "[commands.push]\nrun = \"if [ ! -f {m} ]; then touch {m}; sleep 120; fi; echo pushed\"\n\n[loops.until-green]\nrecipe = \"{}\"\n{}",
            recipe.display(),
            notify_grants(&server),
            m = push_marker.display()
        ),
    );

    // Crash 1: kill -9 while the maker works on iteration 1.
    let mut child = p.spawn(&["run", "until-green", "--once"]);
    p.wait_for("the maker to start", Duration::from_secs(60), || {
        maker_marker.exists()
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let id = run_id(&p).expect("the run was recorded before the maker started");
    let before = p.last_run();
    assert_eq!(before["run"]["phase"], "iterate");
    assert_eq!(before["iterations"][0]["n"], 1);
    let runs = text(&p.gyre(&["runs"]));
    assert!(runs.contains("interrupted"), "{runs}");

    // Resume: iteration 1 is redone from the maker on; then crash 2, kill -9
    // during the second ship step (notify is already done).
    let mut child = p.spawn(&["resume", &id]);
    p.wait_for("the push step to start", Duration::from_secs(120), || {
        push_marker.exists()
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let mid = p.last_run();
    assert_eq!(mid["run"]["phase"], "ship");
    assert_eq!(notifications(&server).len(), 1);

    let out = p.gyre(&["resume", &id]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let done = p.last_run();
    assert_eq!(reason(&done), "goal-met");
    // Nothing lost: both iterations, every check, and the journal from the
    // very first entry, across both crashes.
    assert_eq!(
        done["iterations"].as_array().unwrap().len(),
        2,
        "{:#}",
        done["journal"]
    );
    assert_eq!(check(&checks(&done, 0), "tests-green")["passed"], false);
    assert_eq!(check(&checks(&done, 1), "tests-green")["passed"], true);
    let kinds: Vec<&str> = done["journal"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|j| j["kind"].as_str())
        .collect();
    assert_eq!(kinds.first(), Some(&"started"));
    assert_eq!(kinds.iter().filter(|k| **k == "resumed").count(), 2);
    // Nothing shipped twice: notify once; the push re-ran because it had
    // not finished.
    assert_eq!(
        notifications(&server).len(),
        1,
        "notify must not be re-sent"
    );
    let ships = done["ships"].as_array().unwrap();
    let by_step = |s: &str| ships.iter().find(|x| x["step"] == s).unwrap().clone();
    assert_eq!(by_step("notify")["attempts"], 1);
    assert_eq!(by_step("push")["attempts"], 2);
    assert_eq!(by_step("push")["status"], "done");
}

#[test]
fn gyre_stop_ends_a_live_run_as_stopped() {
    let p = Project::new("loop-stop");
    let server = receiver();
    let started = p.mark("maker-started");
    let recipe = p.recipe("until-green.toml", &until_green(5, 0, ""));
    p.config(
        &format!(r#"["sh", "-c", "touch {}; sleep 120"]"#, started.display()),
        &format!(
            "[loops.until-green]\nrecipe = \"{}\"\n{}",
            recipe.display(),
            notify_grants(&server)
        ),
    );
    let mut child = p.spawn(&["run", "until-green", "--once"]);
    p.wait_for("the maker to start", Duration::from_secs(60), || {
        started.exists()
    });
    let id = run_id(&p).unwrap();
    let out = p.gyre(&["stop", &id]);
    assert!(out.status.success(), "{}", text(&out));
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1));
    let show = p.last_run();
    assert_eq!(reason(&show), "stopped");
    assert!(text(&p.gyre(&["inbox"])).contains("stopped"));

    // Ctrl-C on `gyre run --once` is the same kill switch.
    std::fs::remove_file(&started).unwrap();
    let mut child = p.spawn(&["run", "until-green", "--once"]);
    p.wait_for("the maker to start again", Duration::from_secs(60), || {
        started.exists()
    });
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert_eq!(child.wait().unwrap().code(), Some(1));
    let show = p.last_run();
    assert_eq!(reason(&show), "stopped");
    assert_ne!(show["run"]["id"].as_str(), Some(id.as_str()));
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn post(port: u16, path: &str, headers: &[(&str, String)], body: &str) -> Option<u16> {
    post_full(port, path, headers, body).map(|(status, _)| status)
}

fn post_full(
    port: u16,
    path: &str,
    headers: &[(&str, String)],
    body: &str,
) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let status = answer.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, answer))
}

fn sign(secret: &str, body: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[test]
fn a_webhook_flood_gets_429_with_bounded_memory_and_the_daemon_keeps_serving() {
    let p = Project::new("loop-flood");
    let port = free_port();
    let recipe = p.recipe(
        "hook.toml",
        &until_green(1, 0, "").replace(
            "[maker]",
            "[trigger]\nplugin = \"gyre/webhook\"\nconfig = { secret = \"WEBHOOK_SECRET\" }\n\n[maker]",
        ),
    );
    // Every run's maker is slow, so fires pile up behind it.
    p.config(
        r#"["sh", "-c", "sleep 20"]"#,
        &format!(
            r#"
[daemon]
listen = "127.0.0.1:{port}"
queue = 4

[loops.until-green]
recipe = "{}"
schedule = {{ overlap = "queue" }}
[loops.until-green.grants.trigger]
secrets = {{ WEBHOOK_SECRET = {{ value = "hook-key" }} }}
"#,
            recipe.display()
        ),
    );
    let mut daemon = p.spawn(&["daemon"]);
    p.wait_for("the daemon to listen", Duration::from_secs(60), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });

    // Unsigned: 401, nothing queued.
    assert_eq!(
        post(
            port,
            "/hooks/until-green",
            &[("x-github-event", "push".into())],
            "{}"
        ),
        Some(401)
    );
    let baseline = rss_kib(daemon.id());

    let sent = std::sync::atomic::AtomicUsize::new(0);
    let statuses = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..16 {
            s.spawn(|| {
                loop {
                    let n = sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if n >= 600 {
                        break;
                    }
                    let body = format!(r#"{{"n": {n}, "pad": "{}"}}"#, "x".repeat(4096));
                    let headers = [
                        ("x-github-event", "push".to_string()),
                        ("x-github-delivery", format!("delivery-{n}")),
                        ("x-hub-signature-256", sign("hook-key", &body)),
                    ];
                    let answer = post_full(port, "/hooks/until-green", &headers, &body);
                    if let Some((503, text)) = &answer {
                        eprintln!("503: {text}");
                    }
                    statuses.lock().unwrap().push(answer.map(|(s, _)| s));
                }
            });
        }
    });
    let statuses = statuses.into_inner().unwrap();
    let count = |code: u16| statuses.iter().filter(|s| **s == Some(code)).count();
    let accepted = count(202);
    let refused = count(429);
    assert_eq!(
        accepted + refused,
        600,
        "every delivery is answered with 202 or 429: {:?}",
        statuses
            .iter()
            .filter(|s| !matches!(s, Some(202 | 429)))
            .collect::<Vec<_>>()
    );
    // One run starts, one fire waits for it, `queue` fires wait in the
    // queue; every other delivery is refused.
    assert!(
        accepted <= 1 + 1 + 4,
        "accepted {accepted}: the queue must be bounded"
    );
    assert!(refused >= 590, "refused {refused}");
    let grown = rss_kib(daemon.id()).saturating_sub(baseline);
    eprintln!(
        "flood: {accepted} accepted, {refused} refused (429), daemon RSS {baseline} KiB + {grown} KiB"
    );
    assert!(
        grown < 40 * 1024,
        "the daemon grew by {grown} KiB under the flood"
    );

    // Still serving: a fresh, valid delivery is answered (429: still full).
    let body = "{}";
    let headers = [
        ("x-github-event", "push".to_string()),
        ("x-github-delivery", "after".to_string()),
        ("x-hub-signature-256", sign("hook-key", body)),
    ];
    assert!(matches!(
        post(port, "/hooks/until-green", &headers, body),
        Some(202 | 429)
    ));
    daemon.kill().unwrap();
    daemon.wait().unwrap();
}

#[test]
fn the_daemon_fires_an_interval_trigger_and_runs_the_loop() {
    let p = Project::new("loop-daemon");
    let server = receiver();
    let recipe = p.recipe(
        "until-green.toml",
        &until_green(3, 0, "").replace(
            "[maker]",
            "[trigger]\nplugin = \"gyre/schedule\"\nconfig = { every = \"1s\", fire-on-first-poll = true }\n\n[maker]",
        ),
    );
    p.config(
        &format!(r#"["python3", "{STAND_IN}"]"#),
        &format!(
            "[loops.until-green]\nrecipe = \"{}\"\n{}",
            recipe.display(),
            notify_grants(&server)
        ),
    );
    let mut daemon = p.spawn(&["daemon"]);
    p.wait_for("a run to meet its goal", Duration::from_secs(120), || {
        run_id(&p).is_some() && p.last_run()["run"]["reason"] == "goal-met"
    });
    daemon.kill().unwrap();
    daemon.wait().unwrap();
    let show = p.last_run();
    assert_eq!(show["run"]["event"]["kind"], "tick");
    assert!(!notifications(&server).is_empty());
}

/// Starts the daemon with its stdout collected line by line.
fn daemon_with_output(p: &Project) -> (Child, std::sync::Arc<std::sync::Mutex<String>>) {
    use std::io::BufRead;
    let mut child = p
        .command(&["daemon"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let stdout = child.stdout.take().unwrap();
    let sink = out.clone();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let mut s = sink.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
    (child, out)
}

fn run_count(p: &Project) -> usize {
    let out = p.gyre(&["runs", "--json"]);
    serde_json::from_slice::<Value>(&out.stdout)
        .ok()
        .and_then(|v| v.as_array().map(Vec::len))
        .unwrap_or(0)
}

#[test]
fn fires_missed_while_the_daemon_was_down_follow_the_loop_policy() {
    let p = Project::new("loop-missed");
    let server = receiver();
    let recipe = p.recipe(
        "until-green.toml",
        &until_green(3, 0, "").replace(
            "[maker]",
            "[trigger]\nplugin = \"gyre/schedule\"\nconfig = { every = \"2s\" }\n\n[maker]",
        ),
    );
    let configure = |policy: &str| {
        p.config(
            &format!(r#"["python3", "{STAND_IN}"]"#),
            &format!(
                "[loops.until-green]\nrecipe = \"{}\"\nschedule = {{ missed = \"{policy}\" }}\n{}",
                recipe.display(),
                notify_grants(&server)
            ),
        )
    };
    configure("skip");
    // First start: the first poll records a cursor and owes nothing.
    let (mut daemon, out) = daemon_with_output(&p);
    p.wait_for("the daemon to be ready", Duration::from_secs(60), || {
        out.lock().unwrap().contains("daemon ready")
    });
    std::thread::sleep(Duration::from_millis(500));
    daemon.kill().unwrap();
    daemon.wait().unwrap();
    assert_eq!(run_count(&p), 0);

    // Down for longer than two periods: ticks came due.
    std::thread::sleep(Duration::from_secs(5));
    let (mut daemon, out) = daemon_with_output(&p);
    p.wait_for(
        "the missed fires to be reported",
        Duration::from_secs(60),
        || out.lock().unwrap().contains("skipped"),
    );
    let text = out.lock().unwrap().clone();
    assert!(
        text.contains("came due while the daemon was down"),
        "{text}"
    );
    assert_eq!(
        run_count(&p),
        0,
        "missed = \"skip\" starts nothing for them"
    );
    daemon.kill().unwrap();
    daemon.wait().unwrap();

    configure("run-once");
    std::thread::sleep(Duration::from_secs(5));
    let (mut daemon, out) = daemon_with_output(&p);
    p.wait_for(
        "one run for the missed fires",
        Duration::from_secs(60),
        || run_count(&p) >= 1,
    );
    daemon.kill().unwrap();
    daemon.wait().unwrap();
    let text = out.lock().unwrap().clone();
    assert!(text.contains("running once now"), "{text}");
    let show = p.last_run();
    // The schedule coalesced the missed ticks into one event.
    assert_eq!(show["run"]["event"]["kind"], "tick");
    assert!(
        show["run"]["event"]["payload"]["missed"].as_u64().unwrap() >= 1,
        "{}",
        show["run"]["event"]
    );
}

const BABYSITTER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../recipes/pr-babysitter.toml"
);

#[test]
fn the_pr_babysitter_recipe_finds_labelled_prs_and_does_nothing_without_them() {
    let p = Project::new("loop-babysitter");
    let prs = std::sync::Arc::new(std::sync::Mutex::new("[]".to_string()));
    let answer = prs.clone();
    // A loopback stand-in for GitHub's issues API and a Slack webhook.
    let server = TestServer::start(move |r| {
        if r.path.starts_with("/repos/") {
            Reply::json(200, &answer.lock().unwrap())
        } else {
            Reply::json(200, r#"{"ok": true}"#)
        }
    });
    p.config(
        &format!(r#"["python3", "{STAND_IN}"]"#),
        &format!(
            r#"
[commands.push]
run = "true"

[loops.babysit]
recipe = "{BABYSITTER}"
[loops.babysit.config.prs]
base-url = "{origin}/repos/me/calc"
[loops.babysit.grants.prs]
http = ["{origin}"]
secrets = {{ GITHUB_TOKEN = {{ value = "read-token" }} }}
[loops.babysit.grants.comment]
http = ["{origin}"]
secrets = {{ SLACK_WEBHOOK_URL = {{ value = "{origin}/hooks/babysit" }} }}
"#,
            origin = server.origin()
        ),
    );
    let out = p.gyre(&["run", "babysit", "--once"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let show = p.last_run();
    assert_eq!(reason(&show), "no-work");
    assert!(
        show["iterations"].as_array().unwrap().is_empty(),
        "no maker without work"
    );
    let asked = server.requests();
    assert!(
        asked[0].path.contains("labels=gyre-babysit"),
        "{:?}",
        asked[0].path
    );
    assert_eq!(asked[0].header("authorization"), Some("Bearer read-token"));

    *prs.lock().unwrap() =
        r#"[{"number": 7, "title": "Fix add", "labels": [{"name": "gyre-babysit"}]}]"#.into();
    let out = p.gyre(&["run", "babysit", "--once"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let show = p.last_run();
    assert_eq!(reason(&show), "goal-met");
    assert_eq!(show["run"]["findings"]["prs"][0]["number"], 7);
    let comments: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/hooks/babysit")
        .collect();
    assert_eq!(comments.len(), 1);
}

#[test]
fn a_crash_at_any_checkpoint_resumes_to_the_same_outcome_shipping_once() {
    // GYRE_CRASH_AT aborts the process at a named checkpoint, as abruptly as
    // kill -9. For each one: crash there, resume, and check the run ends as
    // an uninterrupted run would: goal met in iteration 2, one delivery.
    for point in [
        "worktree",
        "discovered",
        "maker",
        "checks",
        "goal-met",
        "committed",
        "ship-started",
        "ship-called",
        "finishing",
    ] {
        let (p, server) = green_loop(
            "loop-checkpoint",
            &format!(r#"["python3", "{STAND_IN}"]"#),
            &until_green(5, 0, ""),
        );
        let crashed = p
            .command(&["run", "until-green", "--once"])
            .env("GYRE_CRASH_AT", point)
            .output()
            .unwrap();
        assert!(
            !crashed.status.success(),
            "{point}: the run must have crashed: {}",
            text(&crashed)
        );
        let id = run_id(&p).unwrap_or_else(|| panic!("{point}: no run recorded"));
        let out = p.gyre(&["resume", &id]);
        let show = p.last_run();
        assert_eq!(reason(&show), "goal-met", "{point}: {}", text(&out));
        let logs = |n: usize| {
            checks(&show, n)
                .iter()
                .filter_map(|c| {
                    c["evidence"]
                        .as_str()
                        .map(|p| std::fs::read_to_string(p).unwrap_or_default())
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(
            show["iterations"].as_array().unwrap().len(),
            2,
            "{point}: iterations; iteration 2 test log:\n{}\njournal {:#}",
            logs(1),
            show["journal"]
        );
        let sent = notifications(&server);
        // A call interrupted after delivery is re-sent with the same key,
        // which the receiver uses to drop the repeat.
        let keys: std::collections::BTreeSet<_> = sent
            .iter()
            .map(|r| r.header("idempotency-key").unwrap_or("").to_string())
            .collect();
        assert_eq!(keys.len(), 1, "{point}: one delivery by key, got {keys:?}");
        let expected = if point == "ship-called" { 2 } else { 1 };
        assert_eq!(sent.len(), expected, "{point}: deliveries");
        assert!(
            !Path::new(show["run"]["worktree"].as_str().unwrap()).exists(),
            "{point}: the worktree is cleaned up after the goal is met"
        );
    }
}

#[test]
fn a_recipe_file_named_like_a_configured_loop_never_gets_its_grants_even_after_a_crash() {
    let p = Project::new("loop-impostor");
    let server = receiver();
    let loop_recipe = p.recipe("until-green.toml", &until_green(5, 0, ""));
    p.config(
        &format!(r#"["python3", "{STAND_IN}"]"#),
        &format!(
            "[loops.until-green]\nrecipe = \"{}\"\n{}",
            loop_recipe.display(),
            notify_grants(&server)
        ),
    );
    // A stranger's recipe calling itself `until-green`, run directly.
    let impostor = p.recipe("shared.toml", &until_green(5, 0, ""));
    let crashed = p
        .command(&["run", &impostor.to_string_lossy(), "--once"])
        .env("GYRE_CRASH_AT", "maker")
        .output()
        .unwrap();
    assert!(!crashed.status.success());
    let id = run_id(&p).unwrap();
    let out = p.gyre(&["resume", &id]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let show = p.last_run();
    assert_eq!(show["run"]["configured"], false);
    assert_eq!(
        reason(&show),
        "error",
        "the notify step has no grant: {}",
        text(&out)
    );
    assert!(
        notifications(&server).is_empty(),
        "the loop's webhook secret was used"
    );
}

#[test]
fn a_plugin_cannot_carry_a_ship_secret_to_discovery_through_its_store() {
    let p = Project::new("loop-kv");
    const SENTINEL: &str = "kv-smuggled-sentinel-51d2";
    // The same component at two steps: `stash` (ship, holds the secret)
    // writes it to the plugin's store; `peek` (discovery, next run) reads.
    let recipe = p.recipe(
        "kv.toml",
        r#"
recipe = 1
name = "kv"

[[discover]]
id = "peek"
plugin = "hostile/kv-smuggle"
operation = "peek"

[maker]
role = "maker"
prompt = "{{findings}}"

[[check]]
role = "test"

[goal]
require = ["test"]

[[ship]]
id = "stash"
plugin = "hostile/kv-smuggle"
operation = "stash"
"#,
    );
    p.config(
        &format!(r#"["python3", "{STAND_IN}"]"#),
        &format!(
            "[loops.kv]\nrecipe = \"{}\"\n[loops.kv.grants.stash]\nsecrets = {{ GRANTED_TOKEN = {{ value = \"{SENTINEL}\" }} }}\n",
            recipe.display()
        ),
    );
    for n in 1..=2 {
        let out = p.gyre(&["run", "kv", "--once"]);
        assert_eq!(out.status.code(), Some(0), "run {n}: {}", text(&out));
        let show = p.last_run();
        assert_eq!(
            show["ships"][0]["output"]["stashed"], true,
            "run {n}: the ship step holds its secret"
        );
        assert_eq!(
            show["run"]["findings"]["peek"]["loot"],
            Value::Null,
            "run {n}: discovery read what the ship step stored: {}",
            show["run"]["findings"]
        );
        assert!(!text(&out).contains(SENTINEL));
    }
}

#[test]
fn a_recipe_can_name_an_installed_package_instead_of_a_mapped_file() {
    let p = Project::new("loop-installed");
    let ok = |args: &[&str]| {
        let out = p.gyre(args);
        assert!(out.status.success(), "gyre {args:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let public = ok(&["key", "generate", "acme"]).trim().to_string();
    ok(&[
        "key",
        "trust",
        &public,
        "--namespace",
        "acme",
        "--name",
        "acme",
    ]);
    ok(&[
        "publish",
        artifacts::TESTS_GREEN,
        "--namespace",
        "acme",
        "--key",
        "acme",
    ]);
    ok(&["install", "acme/tests-green", "--yes"]);
    let recipe = p.recipe(
        "installed.toml",
        // Without the ship step (its plugin is not installed here).
        &format!(
            "{}[guardrails]\nmax-iterations = 3\n",
            until_green(3, 0, "")
                .replace("gyre/tests-green", "acme/tests-green")
                .split("[[ship]]")
                .next()
                .unwrap()
        ),
    );
    p.config(
        &format!(r#"["python3", "{STAND_IN}"]"#),
        &format!("[loops.until-green]\nrecipe = \"{}\"", recipe.display()),
    );
    let out = p.gyre(&["run", "until-green", "--once"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let show = p.last_run();
    assert_eq!(check(&checks(&show, 1), "tests-green")["passed"], true);

    // A package that is not installed is named in a refusal with the fix.
    let missing = p.recipe(
        "missing.toml",
        &std::fs::read_to_string(&recipe)
            .unwrap()
            .replace("acme/tests-green", "acme/coverage"),
    );
    let out = p.gyre(&["run", &missing.to_string_lossy(), "--once"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("gyre install acme/coverage"),
        "{}",
        text(&out)
    );
}
