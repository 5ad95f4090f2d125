//! The workspace resources clients edit, as files on disk: how each is discovered, read,
//! validated and written. Routes call these; export and import reuse them.
pub(crate) mod commands;
pub(crate) mod mcp;
pub(crate) mod plugins;
pub(crate) mod portable;
pub(crate) mod server_file;
pub(crate) mod sessions;
pub(crate) mod skills;
pub(crate) mod starter;
