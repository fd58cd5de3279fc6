//! Human and JSON rendering of call results.

use gyre_sandbox::{Invocation, Level, PluginError};
use serde_json::{Value, json};

/// Guest text for a terminal: control characters (escape sequences, `\r`)
/// are shown escaped, so a plugin cannot forge or hide lines.
pub use gyre_sandbox::text::printable as clean;

/// Like [`clean`], keeping line breaks and tabs.
pub fn clean_block(text: &str) -> String {
    text.split('\n')
        .map(|l| clean(&l.replace('\t', "    ")))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn bytes(n: u64) -> String {
    const KIB: f64 = 1024.0;
    let f = n as f64;
    if f >= KIB * KIB {
        format!("{:.1} MiB", f / KIB / KIB)
    } else if f >= KIB {
        format!("{:.1} KiB", f / KIB)
    } else {
        format!("{n} B")
    }
}

pub fn millis(us: u64) -> String {
    if us >= 1_000_000 {
        format!("{:.2} s", us as f64 / 1e6)
    } else {
        format!("{:.2} ms", us as f64 / 1e3)
    }
}

pub fn plugin_error_json(e: &PluginError) -> Value {
    match e {
        PluginError::Upstream(u) => {
            json!({"kind": e.kind(), "status": u.status, "message": u.message})
        }
        PluginError::InvalidConfig(m)
        | PluginError::InvalidInput(m)
        | PluginError::NotFound(m)
        | PluginError::Denied(m)
        | PluginError::Unauthorized(m)
        | PluginError::Internal(m) => json!({"kind": e.kind(), "message": m}),
    }
}

/// Usage, output and denials, after the result itself.
pub fn print_footer<T>(inv: &Invocation<T>, notes: &[String]) {
    let u = &inv.usage;
    println!(
        "usage: fuel {} of {} · wall {} of {} · peak memory {} of {}",
        thousands(u.fuel_consumed),
        thousands(u.fuel_budget),
        millis(u.wall_time_us),
        millis(u.timeout_ms * 1000),
        bytes(u.peak_memory_bytes),
        bytes(u.memory_cap_bytes),
    );
    for d in &inv.denials {
        println!("denied: {} {}", d.capability, clean(&d.detail));
    }
    if inv.denials_dropped > 0 {
        println!("denied: … {} more", inv.denials_dropped);
    }
    let out = &inv.output;
    if !out.logs.is_empty() || out.logs_dropped > 0 {
        println!("logs:");
        for line in &out.logs {
            let fields: Vec<String> = line
                .fields
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            println!(
                "  {:5} {} {}",
                level(line.level),
                clean(&line.message),
                clean(&fields.join(" "))
            );
        }
        if out.logs_dropped > 0 {
            println!("  … {} more lines dropped", out.logs_dropped);
        }
    }
    for (name, text, dropped) in [
        ("stdout", &out.stdout, out.stdout_dropped),
        ("stderr", &out.stderr, out.stderr_dropped),
    ] {
        if !text.is_empty() {
            println!("{name}:");
            for line in text.lines() {
                println!("  {}", clean(line));
            }
            if dropped > 0 {
                println!("  … {} more bytes dropped", thousands(dropped));
            }
        }
    }
    print_notes(notes);
}

/// Grant notes, with the items of each kind of note on one line.
fn print_notes(notes: &[String]) {
    let mut grouped: Vec<(&str, Vec<&str>)> = Vec::new();
    for note in notes {
        let (head, item) = note.split_once(": ").unwrap_or((note.as_str(), ""));
        match grouped.iter_mut().find(|(h, _)| *h == head) {
            Some((_, items)) => items.push(item),
            None => grouped.push((head, vec![item])),
        }
    }
    for (head, items) in grouped {
        println!("note: {head}: {}", items.join(", "));
    }
}

fn level(l: Level) -> &'static str {
    match l {
        Level::Trace => "trace",
        Level::Debug => "debug",
        Level::Info => "info",
        Level::Warn => "warn",
        Level::Error => "error",
    }
}

/// The JSON envelope shared by every call.
pub fn envelope<T>(
    plugin: &gyre_sandbox::Plugin,
    load: &gyre_sandbox::LoadReport,
    call: &str,
    inv: &Invocation<T>,
    result: Value,
    notes: &[String],
) -> Value {
    json!({
        "plugin": plugin.name(),
        "version": plugin.manifest().plugin.version.to_string(),
        "kind": plugin.kind().as_str(),
        "digest": format!("sha256:{}", plugin.digest()),
        "load": {"compiled": load.compiled, "ms": load.load_time.as_secs_f64() * 1000.0},
        "call": call,
        "result": result,
        "usage": inv.usage,
        "output": inv.output,
        "denials": inv.denials,
        "denials-dropped": inv.denials_dropped,
        "notes": notes,
    })
}
