//! Configuration errors. Each names where the bad value came from (the file and position,
//! the environment variable, or the flag) and the setting, so the person who wrote it can
//! find it (D7).

use std::path::PathBuf;

/// Why the server could not be configured.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A layer could not be read or a value has the wrong type.
    #[error("invalid configuration: {0}")]
    Layer(String),
    /// A value has the right type but is out of range.
    #[error("invalid configuration: {key} in {source_name}: {message}")]
    Value {
        /// The layer and its spelling of the key, e.g. "environment variable OPENWORK_PORT".
        source_name: String,
        /// The config key, e.g. `port`.
        key: String,
        /// What is wrong with it.
        message: String,
    },
    /// The token store exists but cannot be read or parsed; it is left untouched.
    #[error("cannot read token store {path}: {message}")]
    TokenStore {
        /// The token store file.
        path: PathBuf,
        /// What went wrong, with the position for parse errors.
        message: String,
    },
}

impl From<figment::Error> for ConfigError {
    fn from(error: figment::Error) -> Self {
        Self::Layer(
            error
                .into_iter()
                .map(|e| describe(&e))
                .collect::<Vec<_>>()
                .join("; "),
        )
    }
}

/// "<source>: key `<key>`: <problem>", with the file's full path or the variable or flag
/// that set the key. figment's own display shows paths relative to the working directory
/// and prefixes keys with the profile name, which helps nobody reading a boot error.
fn describe(error: &figment::Error) -> String {
    let key = error.path.join(".");
    let source = match &error.metadata {
        Some(meta) => match &meta.source {
            Some(figment::Source::File(path)) => format!("config file {}", path.display()),
            _ if !key.is_empty() => format!(
                "{} {}",
                meta.name,
                meta.interpolate(&figment::Profile::Default, &error.path)
            ),
            _ => meta.name.to_string(),
        },
        None => "configuration".to_owned(),
    };
    if key.is_empty() {
        format!("{source}: {}", error.kind)
    } else {
        format!("{source}: key `{key}`: {}", error.kind)
    }
}
