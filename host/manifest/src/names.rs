use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! checked_name {
    ($(#[$doc:meta])* $name:ident, $what:literal, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(value: String) -> Result<Self, String> {
                let check: fn(&str) -> Result<(), String> = $check;
                check(&value).map_err(|why| format!("{value:?} is not a valid {}: {why}", $what))?;
                Ok(Self(value))
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                Self::try_from(s.to_string())
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

fn slug(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 64 {
        return Err("use 1 to 64 characters".into());
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err("use lowercase letters, digits and dashes".into());
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Err("must not start or end with a dash".into());
    }
    Ok(())
}

checked_name!(
    /// A plugin's name: lowercase letters, digits and dashes.
    PluginName, "plugin name", slug
);

checked_name!(
    /// A named directory mount the host binds, such as `workspace`.
    MountName, "mount name", slug
);

checked_name!(
    /// The name of a secret, such as `GITHUB_TOKEN`. Names are not values:
    /// they may be logged, values never are.
    SecretName, "secret name", |s| {
        if s.is_empty() || s.len() > 128 {
            return Err("use 1 to 128 characters".into());
        }
        if !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.') {
            return Err("use letters, digits, `_`, `-` and `.`".into());
        }
        Ok(())
    }
);

checked_name!(
    /// A loop's name in a recipe or the project config, such as `fix-tests`.
    LoopName, "loop name", slug
);

checked_name!(
    /// A recipe step's id, unique within the recipe, such as `notify`.
    StepId, "step id", slug
);

checked_name!(
    /// A role a recipe names and the user binds to a command, such as
    /// `maker` or `test`.
    RoleName, "role name", slug
);
