//! The conformance battery: what every Gyre plugin must do, whatever
//! language it is written in. `gyre plugin test` runs it; the integration
//! tests run it against the reference plugins of every language.
//!
//! For each kind: the description is well-formed and deterministic;
//! invalid configuration and input yield a plugin error, never a trap;
//! budgets hold (a starved call runs out of fuel, a normal one stays within
//! the manifest's budgets); a refused capability comes back as a `denied`
//! error; the same input gives the same outcome. Then the author's own
//! cases from `gyre-test.toml`.
//!
//! Checks that cannot be made vacuous are failures, not skips: a plugin
//! that requests an origin or a secret must come with a case that reaches
//! for it, or the battery cannot show that a refusal is reported.

pub mod fixtures;

use fixtures::{Case, FixtureError, Fixtures, json_text};
use gyre_manifest::{BudgetSpec, Grants, PluginKind};
use gyre_sandbox::inspect;
use gyre_sandbox::text::printable;
use gyre_sandbox::verifier::{Evidence, VerifyRequest};
use gyre_sandbox::{Failure, Granted, Invocation, Plugin, PluginError, SystemResolver};
use std::fmt;
use std::sync::Arc;

/// How one check ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    Pass,
    Fail(String),
    /// Passed, with something the author should know (e.g. imports the
    /// host will refuse at run time).
    Warn(String),
    /// Not applicable to this plugin, with the reason.
    Skip(String),
}

#[derive(Debug, Clone)]
pub struct Check {
    pub name: String,
    pub status: Status,
}

/// Every check of one run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub plugin: String,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.failures().next().is_none()
    }
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks
            .iter()
            .filter(|c| matches!(c.status, Status::Fail(_)))
    }
    fn push(&mut self, name: impl Into<String>, status: Status) {
        self.checks.push(Check {
            name: name.into(),
            status,
        });
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Reasons quote the plugin's own text: escaped, and every line of
        // a reason indented under its check, so a plugin cannot print a
        // line that reads as the host's.
        for c in &self.checks {
            let name = printable(&c.name);
            match &c.status {
                Status::Pass => writeln!(f, "  ok    {name}")?,
                Status::Fail(why) => {
                    writeln!(f, "  FAIL  {name}")?;
                    for line in why.lines() {
                        writeln!(f, "        {}", printable(line.trim_start()))?;
                    }
                }
                Status::Warn(why) => writeln!(f, "  warn  {name}\n        {}", printable(why))?,
                Status::Skip(why) => writeln!(f, "  skip  {name} ({})", printable(why))?,
            }
        }
        let failed = self.failures().count();
        let skipped = self
            .checks
            .iter()
            .filter(|c| matches!(c.status, Status::Skip(_)))
            .count();
        write!(
            f,
            "{}: {} passed, {failed} failed, {skipped} skipped",
            printable(&self.plugin),
            self.checks.len() - failed - skipped
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConformanceError {
    #[error(transparent)]
    Fixtures(#[from] FixtureError),
    #[error("granting {plugin}: {reason}")]
    Grant { plugin: String, reason: String },
}

/// Fuel far below what any plugin needs to answer: the call must run out.
const STARVED_FUEL: u64 = 1_000;

/// Input no plugin can accept: not UTF-8, not JSON.
const GARBAGE: &[u8] = b"\xff\xfe\x00{{ not json <<<";

/// Runs the battery and the author's `fixtures` against `plugin`; the
/// author's cases run with `grants` (see [`Fixtures::grants`]), budgets
/// excepted.
pub async fn run(
    plugin: &Plugin,
    fixtures: &Fixtures,
    grants: &Grants,
) -> Result<Report, ConformanceError> {
    fixtures.check_kind(plugin.kind())?;
    let mut report = Report {
        plugin: format!("{} ({})", plugin.name(), plugin.kind()),
        checks: Vec::new(),
    };
    // Budgets are the manifest's, whatever the grants say: the battery
    // checks that the plugin keeps to them.
    let grants = Grants {
        budgets: BudgetSpec::default(),
        ..grants.clone()
    };
    let granted = plugin
        .grant(&grants.resolve(plugin.manifest()), Arc::new(SystemResolver))
        .map_err(|e| ConformanceError::Grant {
            plugin: plugin.name().into(),
            reason: e.to_string(),
        })?;
    let nothing = plugin
        .grant(
            &Grants::default().resolve(plugin.manifest()),
            Arc::new(SystemResolver),
        )
        .map_err(|e| ConformanceError::Grant {
            plugin: plugin.name().into(),
            reason: e.to_string(),
        })?;
    let starved = Granted::nothing(
        plugin.name(),
        BudgetSpec {
            fuel: Some(STARVED_FUEL),
            ..BudgetSpec::default()
        },
        plugin.runtime().limits(),
    );
    let ctx = Ctx {
        plugin,
        granted: &granted,
        nothing: &nothing,
        starved: &starved,
        cases: &fixtures.cases,
        config: valid_config(&fixtures.cases),
    };
    manifest_check(&mut report, plugin);
    match plugin.kind() {
        PluginKind::Verifier => verifier_battery(&mut report, &ctx).await,
        PluginKind::Connector => connector_battery(&mut report, &ctx).await,
        PluginKind::Trigger => trigger_battery(&mut report, &ctx).await,
    }
    for case in &fixtures.cases {
        let status = ctx.fixture(case).await;
        report.push(format!("case: {}", case.name), status);
    }
    if fixtures.cases.is_empty() {
        report.push(
            "author cases",
            Status::Skip(format!("no {} beside the plugin", fixtures::FILE_NAME)),
        );
    }
    Ok(report)
}

struct Ctx<'a> {
    plugin: &'a Plugin,
    /// The fixtures' grants (none unless gyre-test.toml grants some).
    granted: &'a Granted,
    /// Nothing granted, the manifest's budgets.
    nothing: &'a Granted,
    starved: &'a Granted,
    cases: &'a [Case],
    /// A configuration the plugin accepts, taken from the author's cases:
    /// with it, a probe's error must be about the input, not the config.
    config: Option<String>,
}

impl Ctx<'_> {
    fn config(&self) -> &str {
        self.config.as_deref().unwrap_or("{}")
    }
}

/// The configuration of the first case that does not expect it refused.
fn valid_config(cases: &[Case]) -> Option<String> {
    cases
        .iter()
        .find(|c| c.config.is_some() && c.expect.error.as_deref() != Some("invalid-config"))
        .map(|c| json_text(c.config.as_ref(), "{}"))
}

fn manifest_check(report: &mut Report, plugin: &Plugin) {
    // Only what stops the plugin from working as described fails here;
    // the rest (an unused import, say) is shown as a warning.
    // The world check `gyre build` makes; what a language runtime imports
    // regardless (sockets, an unused secrets interface) is a warning here,
    // since the language is not known.
    let (errors, warnings): (Vec<_>, Vec<_>) = inspect::world_problems(
        plugin.manifest(),
        plugin.info(),
        inspect::WorldPolicy::UNKNOWN_TOOLCHAIN,
    )
    .into_iter()
    .partition(|p| p.severity == inspect::Severity::Error);
    let joined = |v: Vec<inspect::Mismatch>| {
        v.into_iter()
            .map(|p| p.message)
            .collect::<Vec<_>>()
            .join("; ")
    };
    let status = if !errors.is_empty() {
        Status::Fail(joined(errors))
    } else if !warnings.is_empty() {
        Status::Warn(joined(warnings))
    } else {
        Status::Pass
    };
    report.push(
        "the component matches its manifest (world, imports, capabilities)",
        status,
    );
}

/// A plugin error (of kind `want`, when given) is the only acceptable
/// answer to garbage; `accept_ok` says whether a result (e.g. a failed
/// verdict) is acceptable too.
fn rejected<T>(
    inv: &Invocation<Result<T, PluginError>>,
    want: Option<&str>,
    accept_ok: impl Fn(&T) -> bool,
) -> Status {
    match &inv.outcome {
        Ok(Err(e)) => match want {
            Some(kind) if kind != e.kind() => {
                Status::Fail(format!("expected a {kind} error, got {}: {e}", e.kind()))
            }
            _ => Status::Pass,
        },
        Ok(Ok(v)) if accept_ok(v) => Status::Pass,
        Ok(Ok(_)) => Status::Fail("it accepted input it cannot have understood".into()),
        Err(failure) => Status::Fail(format!(
            "the call failed instead of returning a plugin error: {failure}"
        )),
    }
}

fn no_trap<T>(inv: &Invocation<T>) -> Status {
    match &inv.outcome {
        Ok(_) => Status::Pass,
        Err(failure) => Status::Fail(format!("the call failed: {failure}")),
    }
}

fn starved<T>(inv: &Invocation<T>) -> Status {
    match &inv.outcome {
        Err(Failure::OutOfFuel { .. }) => Status::Pass,
        Err(other) => Status::Fail(format!("expected out of fuel, got: {other}")),
        Ok(_) => Status::Fail(format!(
            "it answered within {STARVED_FUEL} fuel: is fuel metering on?"
        )),
    }
}

/// The call stayed within the budgets its manifest asks for.
fn within_budget<T>(inv: &Invocation<T>) -> Status {
    match &inv.outcome {
        Err(f) if f.is_budget() => Status::Fail(format!(
            "{f}; raise [budgets] in gyre.toml or make the plugin cheaper"
        )),
        Err(f) => Status::Fail(format!("the call failed: {f}")),
        Ok(_) => Status::Pass,
    }
}

/// Two runs of the same input gave the same outcome.
fn same<T: fmt::Debug>(a: &Invocation<T>, b: &Invocation<T>) -> Status {
    let (a, b) = (format!("{:?}", a.outcome), format!("{:?}", b.outcome));
    if a == b {
        Status::Pass
    } else {
        Status::Fail(format!("first: {a}\n        then: {b}"))
    }
}

/// A call the host refused a capability in must answer `denied`.
fn reports_denial<T>(inv: &Invocation<Result<T, PluginError>>) -> Option<Status> {
    if inv.denials.is_empty() {
        return None;
    }
    Some(match &inv.outcome {
        Ok(Err(PluginError::Denied(_))) => Status::Pass,
        Ok(Err(other)) => Status::Fail(format!(
            "the host refused {} but the plugin answered {} ({other}); answer denied",
            inv.denials[0].detail,
            other.kind()
        )),
        Ok(Ok(_)) => Status::Fail(format!(
            "the host refused {} but the plugin answered success",
            inv.denials[0].detail
        )),
        Err(f) => Status::Fail(format!(
            "the host refused a capability and the call failed: {f}"
        )),
    })
}

fn request(config: &str, evidence: Vec<Evidence>) -> VerifyRequest {
    VerifyRequest {
        config: config.into(),
        evidence,
        workspace: None,
    }
}

fn case_request(case: &Case) -> VerifyRequest {
    request(
        &json_text(case.config.as_ref(), "{}"),
        case.evidence
            .iter()
            .map(|e| Evidence {
                name: e.name.clone(),
                content_type: e.content_type(),
                data: e.data(),
            })
            .collect(),
    )
}

async fn verifier_battery(report: &mut Report, ctx: &Ctx<'_>) {
    let p = ctx.plugin;
    // The evidence names the author's cases use, else the common ones.
    let mut names: Vec<String> = ctx
        .cases
        .iter()
        .flat_map(|c| c.evidence.iter().map(|e| e.name.clone()))
        .collect();
    names.sort();
    names.dedup();
    if names.is_empty() {
        names = ["report", "test-log", "diff", "coverage"]
            .map(String::from)
            .to_vec();
    }
    let garbage = request(
        ctx.config(),
        names
            .iter()
            .map(|n| Evidence {
                name: n.clone(),
                content_type: "application/json".into(),
                data: GARBAGE.to_vec(),
            })
            .collect(),
    );
    let sample = ctx
        .cases
        .first()
        .map(case_request)
        .unwrap_or_else(|| request("{}", Vec::new()));

    let inv = p.verify(ctx.nothing, request("{}", Vec::new())).await;
    report.push("an empty request is answered, not trapped", no_trap(&inv));

    // With a configuration it accepts, the only thing wrong is the input.
    let want = ctx.config.as_ref().map(|_| "invalid-input");
    let inv = p.verify(ctx.nothing, garbage).await;
    report.push(
        match want {
            Some(_) => "garbage evidence yields an invalid-input error or a failed verdict, not a trap",
            None => "garbage evidence yields an error or a failed verdict, not a trap (any error kind: no case gives an accepted configuration)",
        },
        rejected(&inv, want, |v| !v.passed),
    );
    let mut bad_config = sample.clone();
    bad_config.config = String::from_utf8_lossy(GARBAGE).into_owned();
    let inv = p.verify(ctx.nothing, bad_config).await;
    report.push(
        "a configuration that is not JSON yields an invalid-config error, not a trap",
        rejected(&inv, Some("invalid-config"), |_| false),
    );

    let a = p.verify(ctx.granted, sample.clone()).await;
    let b = p.verify(ctx.granted, sample.clone()).await;
    report.push("the same input gives the same verdict", same(&a, &b));
    report.push(
        "a call stays within the manifest's budgets",
        within_budget(&a),
    );
    let inv = p.verify(ctx.starved, sample).await;
    report.push(
        "a starved call runs out of fuel and nothing else",
        starved(&inv),
    );
    let denial = ctx
        .denial_check_cases(|case| p.verify(ctx.nothing, case_request(case)))
        .await;
    report.push("a refused capability is reported as denied", denial);
}

impl Ctx<'_> {
    /// Runs the author's cases with nothing granted and checks every call
    /// the host refused something in answered `denied`. A plugin that
    /// requests an origin or a secret fails unless some case reaches for
    /// one: otherwise nothing was shown.
    async fn denial_check_cases<T, F, Fut>(&self, call: F) -> Status
    where
        F: Fn(&Case) -> Fut,
        Fut: std::future::Future<Output = Invocation<Result<T, PluginError>>>,
    {
        // Directories are not counted: one not granted is simply absent,
        // which the host does not record as a refusal.
        let requested = {
            let caps = &self.plugin.manifest().capabilities;
            !caps.http.is_empty() || !caps.secrets.is_empty()
        };
        if !requested {
            return Status::Skip("it requests no origin and no secret".into());
        }
        let mut checked = 0;
        for case in self.cases {
            let inv = call(case).await;
            if let Some(status) = reports_denial(&inv) {
                if status != Status::Pass {
                    return status;
                }
                checked += 1;
            }
        }
        if checked == 0 {
            Status::Fail(format!(
                "it requests an origin or a secret, but no case in {} reached for one with nothing granted; add a case that does (e.g. an origin that is not granted, expecting error = \"denied\")",
                fixtures::FILE_NAME
            ))
        } else {
            Status::Pass
        }
    }

    async fn fixture(&self, case: &Case) -> Status {
        let p = self.plugin;
        match p.kind() {
            PluginKind::Verifier => {
                let inv = p.verify(self.granted, case_request(case)).await;
                expect(case, &inv, |v, e| {
                    let mut problems = Vec::new();
                    if let Some(passed) = e.passed.filter(|want| *want != v.passed) {
                        problems.push(format!(
                            "expected passed = {passed}, got {} ({})",
                            v.passed, v.summary
                        ));
                    }
                    if let Some(score) = e.score {
                        match v.score {
                            Some(got) if (got - score).abs() <= 1e-9 * score.abs().max(1.0) => {}
                            got => problems.push(format!("expected score {score}, got {got:?}")),
                        }
                    }
                    problems
                })
            }
            PluginKind::Connector => {
                let Some(operation) = &case.operation else {
                    return Status::Fail("a connector case needs `operation`".into());
                };
                let inv = p
                    .invoke(
                        self.granted,
                        &json_text(case.config.as_ref(), "{}"),
                        operation,
                        &json_text(case.input.as_ref(), "{}"),
                    )
                    .await;
                expect(case, &inv, |text, e| {
                    let mut problems = Vec::new();
                    if let Some(want) = &e.output {
                        let want = serde_json::to_value(want).unwrap_or_default();
                        match serde_json::from_str::<serde_json::Value>(text) {
                            Ok(got) if got == want => {}
                            Ok(got) => problems.push(format!("expected output {want}, got {got}")),
                            Err(err) => {
                                problems.push(format!("the output is not JSON ({err}): {text}"))
                            }
                        }
                    }
                    problems
                })
            }
            PluginKind::Trigger => {
                let inv = p
                    .firing(self.granted, &json_text(case.config.as_ref(), "{}"))
                    .await;
                expect(case, &inv, |_, _| Vec::new())
            }
        }
    }
}

/// Compares one case's invocation with its expectations; `ok` checks a
/// successful result.
fn expect<T>(
    case: &Case,
    inv: &Invocation<Result<T, PluginError>>,
    ok: impl Fn(&T, &fixtures::Expect) -> Vec<String>,
) -> Status {
    let e = &case.expect;
    let mut problems = Vec::new();
    if let Some(denied) = e.denied
        && denied == inv.denials.is_empty()
    {
        problems.push(if denied {
            "expected the host to refuse a capability; it refused none".to_string()
        } else {
            format!("the host refused {}", inv.denials[0].detail)
        });
    }
    match &inv.outcome {
        Err(failure) => problems.push(format!("the call failed: {failure}")),
        Ok(Err(err)) => match &e.error {
            Some(kind) if kind == err.kind() => {}
            Some(kind) => problems.push(format!("expected a {kind} error, got {err}")),
            None => problems.push(format!("expected a result, got the error {err}")),
        },
        Ok(Ok(value)) => {
            if let Some(kind) = &e.error {
                problems.push(format!("expected a {kind} error, got a result"));
            }
            problems.extend(ok(value, e));
        }
    }
    if problems.is_empty() {
        Status::Pass
    } else {
        Status::Fail(problems.join("; "))
    }
}

fn operation_name_ok(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

async fn connector_battery(report: &mut Report, ctx: &Ctx<'_>) {
    let p = ctx.plugin;
    let first = p.operations(ctx.nothing).await;
    let second = p.operations(ctx.nothing).await;
    let ops = match &first.outcome {
        Ok(ops) => ops.clone(),
        Err(f) => {
            report.push(
                "describe lists well-formed operations",
                Status::Fail(format!("describe failed: {f}")),
            );
            return;
        }
    };
    let mut problems = Vec::new();
    if ops.is_empty() {
        problems.push("it offers no operation".to_string());
    }
    let mut seen = std::collections::BTreeSet::new();
    for op in &ops {
        if !operation_name_ok(&op.name) {
            problems.push(format!(
                "operation {:?}: use lowercase letters, digits, - and _",
                op.name
            ));
        }
        if !seen.insert(op.name.as_str()) {
            problems.push(format!("operation {:?} is listed twice", op.name));
        }
        if op.description.trim().is_empty() {
            problems.push(format!("operation {:?} has no description", op.name));
        }
        match serde_json::from_str::<serde_json::Value>(&op.input_schema) {
            Ok(serde_json::Value::Object(_)) => {}
            Ok(_) => problems.push(format!(
                "operation {:?}: the input schema is not a JSON object",
                op.name
            )),
            Err(e) => problems.push(format!(
                "operation {:?}: the input schema is not JSON: {e}",
                op.name
            )),
        }
    }
    report.push(
        "describe lists well-formed operations",
        if problems.is_empty() {
            Status::Pass
        } else {
            Status::Fail(problems.join("; "))
        },
    );
    report.push("describe is deterministic", same(&first, &second));
    report.push(
        "describe performs no I/O",
        match first.denials.first() {
            None => Status::Pass,
            Some(d) => Status::Fail(format!("it reached for {}", d.detail)),
        },
    );

    let inv = p
        .invoke(
            ctx.nothing,
            "{}",
            "gyre-conformance-no-such-operation",
            "{}",
        )
        .await;
    report.push(
        "an unknown operation yields not-found",
        match &inv.outcome {
            Ok(Err(PluginError::NotFound(_))) => Status::Pass,
            _ => match rejected(&inv, None, |_| false) {
                Status::Pass => Status::Fail(format!(
                    "expected not-found, got {}",
                    match &inv.outcome {
                        Ok(Err(e)) => e.kind().to_string(),
                        _ => "something else".into(),
                    }
                )),
                other => other,
            },
        },
    );
    let garbage = String::from_utf8_lossy(GARBAGE).into_owned();
    // With a configuration it accepts, the only thing wrong is the input.
    let want = ctx.config.as_ref().map(|_| "invalid-input");
    let mut statuses = Vec::new();
    for op in &ops {
        for input in [garbage.as_str(), "[]", "42"] {
            let inv = p.invoke(ctx.nothing, ctx.config(), &op.name, input).await;
            if let Status::Fail(why) = rejected(&inv, want, |_| false) {
                statuses.push(format!("{} with input {input:?}: {why}", op.name));
            }
        }
        let inv = p.invoke(ctx.nothing, &garbage, &op.name, "{}").await;
        if let Status::Fail(why) = rejected(&inv, Some("invalid-config"), |_| false) {
            statuses.push(format!(
                "{} with a configuration that is not JSON: {why}",
                op.name
            ));
        }
    }
    report.push(
        match want {
            Some(_) => "invalid input yields invalid-input and invalid configuration invalid-config, not traps",
            None => "invalid input and configuration yield errors, not traps (any error kind: no case gives an accepted configuration)",
        },
        if statuses.is_empty() {
            Status::Pass
        } else {
            Status::Fail(statuses.join("\n        "))
        },
    );

    // The author's first case, else the first operation with empty input.
    let first_op = ops.first().map(|o| o.name.as_str()).unwrap_or_default();
    let sample = |granted| async move {
        match ctx.cases.iter().find(|c| c.operation.is_some()) {
            Some(case) => {
                p.invoke(
                    granted,
                    &json_text(case.config.as_ref(), "{}"),
                    case.operation.as_deref().unwrap_or_default(),
                    &json_text(case.input.as_ref(), "{}"),
                )
                .await
            }
            None => p.invoke(granted, ctx.config(), first_op, "{}").await,
        }
    };
    let (a, b) = (sample(ctx.granted).await, sample(ctx.granted).await);
    report.push("the same input gives the same outcome", same(&a, &b));
    report.push(
        "a call stays within the manifest's budgets",
        within_budget(&a),
    );
    let inv = p.operations(ctx.starved).await;
    report.push(
        "a starved call runs out of fuel and nothing else",
        starved(&inv),
    );
    let denial = ctx
        .denial_check_cases(|case| {
            let config = json_text(case.config.as_ref(), "{}");
            let operation = case.operation.clone().unwrap_or_default();
            let input = json_text(case.input.as_ref(), "{}");
            async move { p.invoke(ctx.nothing, &config, &operation, &input).await }
        })
        .await;
    report.push("a refused capability is reported as denied", denial);
}

async fn trigger_battery(report: &mut Report, ctx: &Ctx<'_>) {
    let p = ctx.plugin;
    let garbage = String::from_utf8_lossy(GARBAGE).into_owned();
    let a = p.firing(ctx.nothing, ctx.config()).await;
    let b = p.firing(ctx.nothing, ctx.config()).await;
    report.push("describe is answered, not trapped", no_trap(&a));
    report.push("describe is deterministic", same(&a, &b));
    report.push(
        "describe performs no I/O",
        match a.denials.first() {
            None => Status::Pass,
            Some(d) => Status::Fail(format!("it reached for {}", d.detail)),
        },
    );
    let inv = p.firing(ctx.nothing, &garbage).await;
    report.push(
        "a configuration that is not JSON yields an invalid-config error, not a trap",
        rejected(&inv, Some("invalid-config"), |_| false),
    );
    let inv = p.poll(ctx.nothing, ctx.config(), Some(&garbage), 0).await;
    report.push("a garbage cursor is answered, not trapped", no_trap(&inv));
    let inv = p
        .webhook(ctx.nothing, ctx.config(), garbage_webhook())
        .await;
    report.push("a garbage webhook is answered, not trapped", no_trap(&inv));
    report.push(
        "a call stays within the manifest's budgets",
        within_budget(&a),
    );
    let inv = p.firing(ctx.starved, ctx.config()).await;
    report.push(
        "a starved call runs out of fuel and nothing else",
        starved(&inv),
    );
    // A trigger reaches out when polled or handed a delivery: each case
    // is polled, and handed a delivery if polling refused nothing.
    let denial = ctx
        .denial_check_cases(|case| {
            let config = json_text(case.config.as_ref(), "{}");
            async move {
                let inv = p
                    .poll(ctx.nothing, &config, None, 0)
                    .await
                    .map(|r| Ok(r.map(drop)));
                if !inv.denials.is_empty() {
                    return inv;
                }
                p.webhook(ctx.nothing, &config, garbage_webhook())
                    .await
                    .map(|r| Ok(r.map(drop)))
            }
        })
        .await;
    report.push("a refused capability is reported as denied", denial);
}

fn garbage_webhook() -> gyre_sandbox::trigger::WebhookRequest {
    gyre_sandbox::trigger::WebhookRequest {
        method: "POST".into(),
        path: "/".into(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: GARBAGE.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plugin_cannot_print_a_line_that_reads_as_the_hosts() {
        let mut report = Report {
            plugin: "p (verifier)".into(),
            checks: Vec::new(),
        };
        report.push(
            "case: x",
            Status::Fail("got \x1b[2K\r  ok    case: x\n  ok    forged".into()),
        );
        let text = report.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "  FAIL  case: x");
        assert_eq!(lines[1], "        got \\u{1b}[2K\\r  ok    case: x");
        assert_eq!(lines[2], "        ok    forged", "indented under the check");
        assert!(!text.contains('\x1b') && !text.contains('\r'));
        assert!(text.ends_with("0 passed, 1 failed, 0 skipped"));
    }

    #[test]
    fn operation_names_are_lowercase_identifiers() {
        assert!(operation_name_ok("get"));
        assert!(operation_name_ok("list_issues-2"));
        assert!(!operation_name_ok("Get"));
        assert!(!operation_name_ok(""));
        assert!(!operation_name_ok("-x"));
        assert!(!operation_name_ok("a b"));
    }
}
