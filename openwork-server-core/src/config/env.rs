//! Where environment variables come from: the process, or a fixed map.
//!
//! The server reads some variables at startup (the `OPENWORK_*` configuration layer) and
//! others on every request (feature switches such as `OPENWORK_INBOX_ENABLED`), exactly as
//! the reference does. Both go through an [`EnvSource`] so that two servers in one process,
//! or a test, can each have their own environment without touching the process's.

use std::collections::HashMap;
use std::sync::Arc;

/// A source of environment variables.
#[derive(Clone, Debug, Default)]
pub struct EnvSource(Inner);

#[derive(Clone, Debug, Default)]
enum Inner {
    /// Read the process environment at the moment of each lookup.
    #[default]
    Process,
    /// A fixed set of variables, for embedding hosts and tests.
    Fixed(Arc<HashMap<String, String>>),
}

impl EnvSource {
    /// The process environment, read at each lookup (so per-request switches follow changes).
    pub fn process() -> Self {
        Self(Inner::Process)
    }

    /// A fixed environment made of the given pairs; the process environment is not consulted.
    pub fn fixed<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let map = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Self(Inner::Fixed(Arc::new(map)))
    }

    /// The value of `name`, if set and valid Unicode.
    pub fn get(&self, name: &str) -> Option<String> {
        match &self.0 {
            Inner::Process => std::env::var(name).ok(),
            Inner::Fixed(map) => map.get(name).cloned(),
        }
    }

    /// The value of `name` trimmed, treating unset and blank alike as absent.
    pub fn get_non_empty(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }
}
