//! The recipe format as authors meet it: the shipped recipes load, and each
//! kind of mistake is refused with the field that is wrong.

use gyre_recipe::{Project, Recipe};
use std::path::Path;

const RECIPES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../recipes");

#[test]
fn the_four_ported_recipes_load_with_their_documented_caps() {
    for (file, name, cap) in [
        ("ship-pr-until-green.toml", "ship-pr-until-green", 10),
        ("de-sloppify.toml", "de-sloppify", 4),
        ("pr-babysitter.toml", "pr-babysitter", 20),
        (
            "coverage-until-threshold.toml",
            "coverage-until-threshold",
            12,
        ),
    ] {
        let (recipe, _) = Recipe::load(&Path::new(RECIPES).join(file)).unwrap();
        assert_eq!(recipe.name.as_str(), name);
        assert_eq!(recipe.guardrails.max_iterations, cap, "{file}");
    }
    let (babysitter, _) = Recipe::load(&Path::new(RECIPES).join("pr-babysitter.toml")).unwrap();
    assert_eq!(babysitter.trigger.unwrap().config["cron"], "*/15 * * * *");
    let (coverage, _) =
        Recipe::load(&Path::new(RECIPES).join("coverage-until-threshold.toml")).unwrap();
    assert_eq!(coverage.verify[0].config["min-line-percent"], 80.0);
}

const MINIMAL: &str = r#"
recipe = 1
name = "r"
[maker]
role = "maker"
prompt = "go"
[[check]]
role = "test"
"#;

fn refused(text: &str) -> String {
    Recipe::parse(text, "r.toml").unwrap_err().to_string()
}

#[test]
fn a_minimal_recipe_gets_safe_default_guardrails() {
    let r = Recipe::parse(MINIMAL, "r.toml").unwrap();
    assert_eq!(r.guardrails.max_iterations, 5);
    assert_eq!(r.guardrails.no_progress, 3);
    assert_eq!(r.guardrails.max_wall_time.to_string(), "1h");
}

#[test]
fn mistakes_are_refused_naming_the_field() {
    let cases: &[(&str, &str)] = &[
        (
            &MINIMAL.replace("recipe = 1", "recipe = 2"),
            "`recipe`: format 2",
        ),
        (
            &format!("{MINIMAL}\n[[check]]\nrole = \"test\"\n"),
            "used twice",
        ),
        (
            &format!("{MINIMAL}\n[goal]\nrequire = [\"lint\"]\n"),
            "`goal.require`",
        ),
        (&format!("{MINIMAL}\n[[ship]]\nid = \"s\"\n"), "`ship.s`"),
        (
            &format!(
                "{MINIMAL}\n[[ship]]\nid = \"s\"\nrole = \"push\"\nplugin = \"a/b\"\noperation = \"x\"\n"
            ),
            "`ship.s`",
        ),
        (
            &format!("{MINIMAL}\n[guardrails]\nmax-iterations = 0\n"),
            "max-iterations",
        ),
        (
            &format!("{MINIMAL}\n[guardrails]\nmax-wall-time = \"soon\"\n"),
            "not a duration",
        ),
        (
            &format!("{MINIMAL}\n[[verify]]\nid = \"v\"\nplugin = \"x.wasm\"\n"),
            "not a plugin reference",
        ),
        (
            &format!(
                "{MINIMAL}\n[[verify]]\nid = \"v\"\nplugin = \"./v.wasm\"\nevidence = [\"lint\"]\n"
            ),
            "`verify.v.evidence`",
        ),
        (
            &format!("{MINIMAL}\n[[ship]]\nid = \"diff\"\nrole = \"push\"\n"),
            "reserved",
        ),
        (
            &MINIMAL.replace("[[check]]\nrole = \"test\"\n", ""),
            "at least one check",
        ),
        (
            &MINIMAL.replace("prompt = \"go\"", "prompt = \"{{nope}}\""),
            "`maker.prompt`",
        ),
        (
            &format!("{MINIMAL}\nschedule = \"daily\"\n"),
            "line 10, column 1: unknown field `schedule`",
        ),
    ];
    for (text, expected) in cases {
        let err = refused(text);
        assert!(err.starts_with("r.toml"), "{err}");
        assert!(err.contains(expected), "expected {expected:?} in: {err}");
    }
}

#[test]
fn a_project_config_binds_roles_and_refuses_what_it_cannot_serve() {
    let dir = std::env::temp_dir().join(format!("gyre-recipe-project-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gyre.toml");
    std::fs::write(
        &path,
        "[agents.maker]\nrun = \"claude -p\"\n[commands.test]\nrun = [\"cargo\", \"test\"]\n",
    )
    .unwrap();
    let project = Project::load(&path).unwrap();
    let recipe = Recipe::parse(
        &MINIMAL.replace("role = \"test\"", "role = \"lint\""),
        "r.toml",
    )
    .unwrap();
    let unbound = project.unbound_roles(&recipe);
    assert_eq!(unbound.len(), 1);
    assert!(unbound[0].contains("command role `lint`"));

    std::fs::write(&path, "[daemon]\nlisten = \"0.0.0.0:8787\"\n").unwrap();
    let err = Project::load(&path).unwrap_err().to_string();
    assert!(
        err.contains("daemon.listen") && err.contains("loopback"),
        "{err}"
    );

    std::fs::write(&path, "[plugin]\nname = \"p\"\n").unwrap();
    let err = Project::load(&path).unwrap_err().to_string();
    assert!(err.contains("plugin's manifest"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
