//! Error lines shared by several routes' response descriptions, one `- `code`: message`
//! line per error (the codes and messages of the contract).

/// A workspace config file does not parse.
pub(crate) const CONFIG_UNPARSEABLE: &str = "\
- `invalid_jsonc`: Failed to parse JSONC (details: `[{code, offset, length}]`)
- `invalid_json`: Failed to parse openwork.json";

/// The project OpenCode config does not parse.
pub(crate) const JSONC_UNPARSEABLE: &str =
    "- `invalid_jsonc`: Failed to parse JSONC (details: `[{code, offset, length}]`)";

/// The workspace has no usable OpenCode connection.
pub(crate) const OPENCODE_UNCONFIGURED: &str = "\
- `opencode_unconfigured`: OpenCode base URL is missing for this workspace
- `opencode_url_invalid`: OpenCode base URL is invalid";

/// The session does not exist (or expired), or its workspace is gone.
pub(crate) const SESSION_NOT_FOUND: &str = "\
- `file_session_not_found`: File session not found
- `workspace_not_found`: Workspace not found for this file session";

/// The session belongs to another token.
pub(crate) const SESSION_OTHER_TOKEN: &str =
    "- `forbidden`: File session does not belong to this token";
