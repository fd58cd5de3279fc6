//! The first-party plugins, run as components in the sandbox with real
//! inputs and real HTTP on 127.0.0.1.

use gyre_sandbox::PluginError;
use gyre_sandbox::verifier::{Evidence, Verdict, VerifyRequest};
use gyre_tests::{Reply, Sandbox, TestServer, artifacts, grants};
use serde_json::{Value, json};

fn evidence(name: &str, content_type: &str, data: &str) -> Evidence {
    Evidence {
        name: name.into(),
        content_type: content_type.into(),
        data: data.as_bytes().to_vec(),
    }
}

async fn verify(
    artifact: &str,
    config: Value,
    evidence: Vec<Evidence>,
) -> Result<Verdict, PluginError> {
    let sandbox = Sandbox::new();
    let plugin = sandbox.load(artifact);
    let granted = sandbox.grant(&plugin, &Default::default());
    let request = VerifyRequest {
        config: config.to_string(),
        evidence,
        workspace: None,
    };
    let inv = plugin.verify(&granted, request).await;
    inv.outcome
        .unwrap_or_else(|f| panic!("{artifact} failed: {f}"))
}

#[tokio::test]
async fn tests_green_passes_a_green_cargo_run_and_fails_a_red_pytest_run() {
    let green = "running 3 tests\ntest a ... ok\ntest b ... ok\ntest c ... ok\n\ntest result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s\n";
    let verdict = verify(
        artifacts::TESTS_GREEN,
        json!({}),
        vec![evidence("test-log", "text/plain", green)],
    )
    .await
    .unwrap();
    assert!(verdict.passed, "{verdict:?}");
    assert_eq!(verdict.score, Some(100.0));

    let red = "============================= test session starts ==============================\n\
               collected 3 items\n\ntests/test_api.py ..F                                                   [100%]\n\n\
               =========================== short test summary info ============================\n\
               FAILED tests/test_api.py::test_create - AssertionError: 500 != 201\n\
               ========================= 1 failed, 2 passed in 0.12s ==========================\n";
    let verdict = verify(
        artifacts::TESTS_GREEN,
        json!({}),
        vec![evidence("test-log", "text/plain", red)],
    )
    .await
    .unwrap();
    assert!(!verdict.passed);
    assert!(
        verdict
            .findings
            .iter()
            .any(|f| f.message.contains("test_create")),
        "{verdict:?}"
    );
}

#[tokio::test]
async fn tests_green_never_passes_when_no_test_ran_or_the_log_is_missing() {
    let empty = "running 0 tests\n\ntest result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n";
    let verdict = verify(
        artifacts::TESTS_GREEN,
        json!({}),
        vec![evidence("test-log", "text/plain", empty)],
    )
    .await
    .unwrap();
    assert!(!verdict.passed, "{verdict:?}");
    let missing = verify(artifacts::TESTS_GREEN, json!({}), vec![]).await;
    assert!(
        matches!(missing, Err(PluginError::InvalidInput(_))),
        "{missing:?}"
    );
}

#[tokio::test]
async fn coverage_threshold_compares_lcov_line_coverage_with_the_minimum() {
    let lcov = "TN:\nSF:src/lib.rs\nDA:1,1\nDA:2,1\nDA:3,0\nDA:4,1\nLF:4\nLH:3\nend_of_record\n";
    let pass = verify(
        artifacts::COVERAGE_THRESHOLD,
        json!({"min-line-percent": 70}),
        vec![evidence("coverage", "text/plain", lcov)],
    )
    .await
    .unwrap();
    assert!(pass.passed, "{pass:?}");
    assert_eq!(pass.score, Some(75.0));
    let fail = verify(
        artifacts::COVERAGE_THRESHOLD,
        json!({"min-line-percent": 80}),
        vec![evidence("coverage", "text/plain", lcov)],
    )
    .await
    .unwrap();
    assert!(!fail.passed, "{fail:?}");
    let bad = verify(
        artifacts::COVERAGE_THRESHOLD,
        json!({"min-line-percent": 180}),
        vec![evidence("coverage", "text/plain", lcov)],
    )
    .await;
    assert!(matches!(bad, Err(PluginError::InvalidConfig(_))), "{bad:?}");
}

#[tokio::test]
async fn diff_guard_fails_a_diff_touching_a_forbidden_path_or_deleting_a_test() {
    let diff = "diff --git a/.github/workflows/ci.yml b/.github/workflows/ci.yml\n\
                index 1111111..2222222 100644\n--- a/.github/workflows/ci.yml\n+++ b/.github/workflows/ci.yml\n\
                @@ -1,3 +1,3 @@\n name: ci\n-on: [push]\n+on: [workflow_dispatch]\n jobs:\n";
    let verdict = verify(
        artifacts::DIFF_GUARD,
        json!({"forbidden-paths": [".github/**"]}),
        vec![evidence("diff", "text/x-diff", diff)],
    )
    .await
    .unwrap();
    assert!(!verdict.passed, "{verdict:?}");
    assert!(
        verdict
            .findings
            .iter()
            .any(|f| f.file.as_deref() == Some(".github/workflows/ci.yml")),
        "{verdict:?}"
    );

    let deletes_test = "diff --git a/tests/api_test.rs b/tests/api_test.rs\ndeleted file mode 100644\n\
                        index 3333333..0000000\n--- a/tests/api_test.rs\n+++ /dev/null\n@@ -1,4 +0,0 @@\n\
                        -#[test]\n-fn creates() {\n-    assert!(true);\n-}\n";
    let verdict = verify(
        artifacts::DIFF_GUARD,
        json!({}),
        vec![evidence("diff", "text/x-diff", deletes_test)],
    )
    .await
    .unwrap();
    assert!(!verdict.passed, "{verdict:?}");

    let clean = "diff --git a/src/lib.rs b/src/lib.rs\n--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1,2 +1,2 @@\n-fn a() {}\n+fn a() { let _ = 1; }\n fn b() {}\n";
    let verdict = verify(
        artifacts::DIFF_GUARD,
        json!({"max-changed-lines": 10}),
        vec![evidence("diff", "text/x-diff", clean)],
    )
    .await
    .unwrap();
    assert!(verdict.passed, "{verdict:?}");
}

#[tokio::test]
async fn http_json_calls_only_the_granted_origin_and_returns_typed_errors() {
    let server = TestServer::start(|req| match req.path.as_str() {
        "/items" if req.method == "POST" => Reply::json(201, r#"{"id": 7}"#),
        "/items/7" => Reply::json(200, r#"{"id": 7, "title": "fix the build"}"#),
        "/moved" => Reply::redirect("http://127.0.0.1:9/elsewhere"),
        _ => Reply::json(404, r#"{"message": "no such item"}"#),
    });
    let sandbox = Sandbox::new();
    let plugin = sandbox.load(artifacts::HTTP_JSON);
    let granted = sandbox.grant(
        &plugin,
        &grants(&format!("http = [\"{}\"]", server.origin())),
    );
    let config = json!({"base-url": server.origin()}).to_string();

    let ops = plugin.operations(&granted).await.outcome.unwrap();
    assert!(ops.iter().any(|o| o.name == "get" && o.read_only));
    assert!(
        ops.iter()
            .all(|o| serde_json::from_str::<Value>(&o.input_schema).is_ok())
    );

    let out = plugin
        .invoke(&granted, &config, "get", r#"{"path": "/items/7"}"#)
        .await
        .outcome
        .unwrap()
        .unwrap();
    let out: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(out["status"], 200);
    assert_eq!(out["body"]["title"], "fix the build");

    let created = plugin
        .invoke(
            &granted,
            &config,
            "post",
            r#"{"path": "/items", "body": {"title": "x"}}"#,
        )
        .await
        .outcome
        .unwrap()
        .unwrap();
    assert!(created.contains("201"), "{created}");
    let posted = server
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&posted.body).unwrap()["title"],
        "x"
    );

    let missing = plugin
        .invoke(&granted, &config, "get", r#"{"path": "/items/8"}"#)
        .await
        .outcome
        .unwrap();
    assert!(
        matches!(missing, Err(PluginError::NotFound(_))),
        "{missing:?}"
    );
    let moved = plugin
        .invoke(&granted, &config, "get", r#"{"path": "/moved"}"#)
        .await;
    assert!(
        moved.denials.is_empty(),
        "the connector must not even try to follow: {:?}",
        moved.denials
    );
    match moved.outcome.unwrap() {
        Err(PluginError::Upstream(u)) => assert_eq!(u.status, 302, "{u:?}"),
        other => panic!("a redirect is reported as the upstream's 302, never followed: {other:?}"),
    }
    let sneaky = plugin
        .invoke(&granted, &config, "get", r#"{"path": "//evil.example/x"}"#)
        .await
        .outcome
        .unwrap();
    assert!(
        matches!(sneaky, Err(PluginError::InvalidInput(_))),
        "{sneaky:?}"
    );
}

#[tokio::test]
async fn webhook_notify_posts_a_slack_message_to_the_url_in_a_secret_and_never_shows_it() {
    let receiver = TestServer::start(|_| Reply::text(200, "ok"));
    let url = receiver.url("/services/T000/B000/XXXXSECRETPATH");
    let sandbox = Sandbox::new();
    let plugin = sandbox.load(artifacts::WEBHOOK_NOTIFY);
    let mut g = grants(&format!("http = [\"{}\"]", receiver.origin()));
    g.secrets.insert(
        "SLACK_WEBHOOK_URL".parse().unwrap(),
        gyre_manifest::SecretSource::Value(url.clone()),
    );
    let granted = sandbox.grant(&plugin, &g);
    let config = json!({"url-secret": "SLACK_WEBHOOK_URL"}).to_string();
    let inv = plugin
        .invoke(
            &granted,
            &config,
            "notify",
            r#"{"text": "PR #42 is green"}"#,
        )
        .await;
    let out = inv.outcome.clone().unwrap().unwrap();
    assert!(out.contains("true"), "{out}");
    let posted = receiver.requests();
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].path, "/services/T000/B000/XXXXSECRETPATH");
    assert_eq!(
        serde_json::from_slice::<Value>(&posted[0].body).unwrap()["text"],
        "PR #42 is green"
    );
    assert!(
        !format!("{inv:?}").contains("XXXXSECRETPATH"),
        "the webhook URL leaked"
    );

    // Without the secret granted it is refused, naming the secret.
    let granted = sandbox.grant(
        &plugin,
        &grants(&format!("http = [\"{}\"]", receiver.origin())),
    );
    let refused = plugin
        .invoke(&granted, &config, "notify", r#"{"text": "x"}"#)
        .await
        .outcome
        .unwrap();
    assert!(
        matches!(&refused, Err(PluginError::Denied(m)) if m.contains("SLACK_WEBHOOK_URL")),
        "{refused:?}"
    );
    assert_eq!(receiver.requests().len(), 1);
}

#[tokio::test]
async fn schedule_fires_once_per_due_time_and_coalesces_missed_ones() {
    use gyre_sandbox::trigger::Firing;
    let sandbox = Sandbox::new();
    let plugin = sandbox.load(artifacts::SCHEDULE);
    let granted = sandbox.grant(&plugin, &Default::default());
    let config = json!({"cron": "*/15 * * * *"}).to_string();
    let firing = plugin
        .firing(&granted, &config)
        .await
        .outcome
        .unwrap()
        .unwrap();
    assert!(matches!(firing, Firing::Cron(_)), "{firing:?}");

    // 2026-01-01T00:00:00Z, then 50 minutes later: due at :15, :30, :45.
    let start = 1_767_225_600_000u64;
    let first = plugin
        .poll(&granted, &config, None, start)
        .await
        .outcome
        .unwrap()
        .unwrap();
    assert!(
        first.events.is_empty(),
        "no event on the first poll by default"
    );
    let cursor = first.cursor.expect("a cursor");
    let later = plugin
        .poll(&granted, &config, Some(&cursor), start + 50 * 60_000)
        .await
        .outcome
        .unwrap()
        .unwrap();
    assert_eq!(later.events.len(), 1, "{later:?}");
    let payload: Value = serde_json::from_str(&later.events[0].payload).unwrap();
    assert_eq!(payload["scheduled-ms"], start + 45 * 60_000);
    assert_eq!(payload["missed"], 2);

    let bad = plugin
        .firing(&granted, &json!({"cron": "61 * * * *"}).to_string())
        .await
        .outcome
        .unwrap();
    assert!(matches!(bad, Err(PluginError::InvalidConfig(_))), "{bad:?}");
}

#[tokio::test]
async fn the_webhook_trigger_accepts_only_correctly_signed_deliveries_of_wanted_events() {
    use gyre_sandbox::trigger::WebhookRequest;
    use hmac::Mac;
    let key = "whsec-4e1d7c";
    let body = br#"{"action": "opened", "number": 42}"#.to_vec();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(&body);
    let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let request = |sig: &str, event: &str| WebhookRequest {
        method: "POST".into(),
        path: "/hooks/github".into(),
        headers: vec![
            ("x-hub-signature-256".into(), sig.into()),
            ("x-github-event".into(), event.into()),
            ("x-github-delivery".into(), "d-1".into()),
        ],
        body: body.clone(),
    };

    let sandbox = Sandbox::new();
    let plugin = sandbox.load(artifacts::WEBHOOK);
    let mut g = gyre_manifest::Grants::default();
    g.secrets.insert(
        "WEBHOOK_SECRET".parse().unwrap(),
        gyre_manifest::SecretSource::Value(key.into()),
    );
    let granted = sandbox.grant(&plugin, &g);
    let config = json!({"secret": "WEBHOOK_SECRET", "events": ["pull_request"]}).to_string();

    let events = plugin
        .webhook(&granted, &config, request(&signature, "pull_request"))
        .await
        .outcome
        .unwrap()
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, "pull_request.opened");
    assert_eq!(events[0].id, "d-1");

    let forged = plugin
        .webhook(&granted, &config, request("sha256=00ff", "pull_request"))
        .await
        .outcome
        .unwrap();
    assert!(
        matches!(forged, Err(PluginError::Unauthorized(_))),
        "{forged:?}"
    );
    let unwanted = plugin
        .webhook(&granted, &config, request(&signature, "push"))
        .await
        .outcome
        .unwrap()
        .unwrap();
    assert!(unwanted.is_empty());
}
