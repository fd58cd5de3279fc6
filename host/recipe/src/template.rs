//! `{{placeholder}}` templates in prompts and connector inputs.
//!
//! Deliberately tiny: no logic, no escapes beyond `{{{{` for a literal
//! `{{`. A recipe's templates are checked against [`KNOWN`] when it loads,
//! so a typo fails before a run starts, not in the middle of one.

use serde_json::Value;
use std::collections::BTreeMap;

/// Every placeholder a run fills in.
pub const KNOWN: &[(&str, &str)] = &[
    ("loop", "the loop's name"),
    ("run", "the run's id"),
    ("branch", "the run's git branch"),
    ("iteration", "the current iteration, from 1"),
    ("max-iterations", "the iteration cap"),
    ("event", "the trigger event that started the run (JSON)"),
    ("findings", "what discovery found (JSON, by step id)"),
    (
        "previous",
        "the failed checks of the previous iteration, as text",
    ),
    ("goal", "the goal's outcome, as text (ship steps)"),
    ("usage", "the run's budget use, as text (ship steps)"),
    (
        "idempotency-key",
        "a key unique to this run and ship step, stable across restarts",
    ),
];

/// One piece of a parsed template.
enum Piece<'a> {
    Text(&'a str),
    Var(&'a str),
}

fn parse(template: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        if rest[start..].starts_with("{{{{") {
            out.push(Piece::Text(&rest[..start + 2]));
            rest = &rest[start + 4..];
            continue;
        }
        out.push(Piece::Text(&rest[..start]));
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| "a `{{` is never closed by `}}`".to_string())?;
        out.push(Piece::Var(after[..end].trim()));
        rest = &after[end + 2..];
    }
    out.push(Piece::Text(rest));
    Ok(out)
}

/// Checks that `template` uses only known placeholders.
pub fn check(template: &str) -> Result<(), String> {
    for piece in parse(template)? {
        if let Piece::Var(name) = piece
            && !KNOWN.iter().any(|(k, _)| *k == name)
        {
            let known: Vec<&str> = KNOWN.iter().map(|(k, _)| *k).collect();
            return Err(format!(
                "unknown placeholder {{{{{name}}}}}; known: {}",
                known.join(", ")
            ));
        }
    }
    Ok(())
}

/// Checks every string inside a JSON value.
pub fn check_json(value: &Value) -> Result<(), String> {
    match value {
        Value::String(s) => check(s),
        Value::Array(items) => items.iter().try_for_each(check_json),
        Value::Object(map) => map.values().try_for_each(check_json),
        _ => Ok(()),
    }
}

/// Fills `template` from `vars`; a placeholder without a value is empty.
pub fn render(template: &str, vars: &BTreeMap<&str, String>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    for piece in parse(template)? {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Var(name) => out.push_str(vars.get(name).map_or("", String::as_str)),
        }
    }
    Ok(out)
}

/// Renders every string inside a JSON value. A string that is exactly one
/// placeholder holding JSON becomes that JSON value, so `input.items =
/// "{{findings}}"` passes structure, not text.
pub fn render_json(value: &Value, vars: &BTreeMap<&str, String>) -> Result<Value, String> {
    Ok(match value {
        Value::String(s) => {
            let rendered = render(s, vars)?;
            let whole = s.trim().starts_with("{{")
                && s.trim().ends_with("}}")
                && s.matches("{{").count() == 1;
            match (whole, serde_json::from_str::<Value>(&rendered)) {
                (true, Ok(v @ (Value::Object(_) | Value::Array(_)))) => v,
                _ => Value::String(rendered),
            }
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| render_json(v, vars))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), render_json(v, vars)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars() -> BTreeMap<&'static str, String> {
        BTreeMap::from([
            ("iteration", "2".to_string()),
            ("findings", r#"{"prs":[1,2]}"#.to_string()),
        ])
    }

    #[test]
    fn fills_placeholders_and_keeps_escaped_braces() {
        let out = render("try {{ iteration }} of {{{{x}}", &vars()).unwrap();
        assert_eq!(out, "try 2 of {{x}}");
    }

    #[test]
    fn an_unknown_placeholder_is_refused_by_name() {
        let err = check("hello {{findngs}}").unwrap_err();
        assert!(
            err.contains("{{findngs}}") && err.contains("findings"),
            "{err}"
        );
        assert!(check("open {{ but never closed").is_err());
    }

    #[test]
    fn a_lone_json_placeholder_passes_structure() {
        let input = json!({"items": "{{findings}}", "text": "n={{iteration}}"});
        let out = render_json(&input, &vars()).unwrap();
        assert_eq!(out, json!({"items": {"prs": [1, 2]}, "text": "n=2"}));
    }
}
