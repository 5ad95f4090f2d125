//! How the in-process server is configured: the same layers as the binary (config file <
//! `OPENWORK_*` environment < explicit overrides), kept so a restart reads them again.

use openwork_server_core::{CliOverrides, EnvSource, Server, ServerBuilder};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::ApprovalPrompter;

/// The server configuration layers given to the plugin's [`Builder`](crate::Builder).
#[derive(Clone, Debug, Default)]
pub(crate) struct ServerOptions {
    /// `--config`; without it the binary's default lookup applies.
    pub(crate) config_file: Option<PathBuf>,
    /// The environment layer (default: the process environment).
    pub(crate) env: EnvSource,
    /// Explicit overrides, the highest layer.
    pub(crate) overrides: CliOverrides,
    /// What relative paths resolve against.
    pub(crate) current_dir: Option<PathBuf>,
    /// How long in-flight requests may finish after shutdown starts.
    pub(crate) shutdown_grace: Option<Duration>,
}

impl ServerOptions {
    /// A core builder with every layer and the plugin's prompter.
    pub(crate) fn server_builder(&self, prompter: Arc<dyn ApprovalPrompter>) -> ServerBuilder {
        let mut builder = Server::builder()
            .env(self.env.clone())
            .cli(self.overrides.clone())
            .prompter(prompter);
        if let Some(path) = &self.config_file {
            builder = builder.config_file(path.clone());
        }
        if let Some(dir) = &self.current_dir {
            builder = builder.current_dir(dir.clone());
        }
        if let Some(grace) = self.shutdown_grace {
            builder = builder.shutdown_grace(grace);
        }
        builder
    }
}
