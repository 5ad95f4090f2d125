//! Server-wide shapes: health, status, capabilities, workspaces, tokens, approvals
//! (contract §4.1–§4.5, §4.16, §4.20, Appendix A workspace management).

use utoipa::ToSchema;

use super::{Actor, Scope};

/// `GET /health` (contract §4.1).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct Health {
    /// Always `true`.
    ok: bool,
    /// The server version, e.g. `0.11.207`.
    version: String,
    /// Milliseconds since the server's configuration was read.
    uptime_ms: u64,
}

/// The approval gate's configuration.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct ApprovalSettings {
    /// `manual` (a person answers) or `auto` (every write is allowed).
    #[schema(inline)]
    mode: ApprovalMode,
    /// How long a manual request waits before it is denied.
    timeout_ms: u64,
}

/// How writes are approved.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub(crate) enum ApprovalMode {
    /// A person on the host answers each request.
    Manual,
    /// Every request is allowed at once.
    Auto,
}

/// Where a token came from.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub(crate) enum TokenOrigin {
    /// `--token` / `--host-token`.
    Cli,
    /// `OPENWORK_TOKEN` / `OPENWORK_HOST_TOKEN`.
    Env,
    /// `server.json`.
    File,
    /// Generated at boot.
    Generated,
}

/// The listening address as configured.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct ServerAddress {
    /// Bind host.
    host: String,
    /// The configured port (`0` when an ephemeral port was asked for).
    port: u16,
    /// The `server.json` path.
    config_path: String,
}

/// Sources of the client and host tokens.
#[derive(ToSchema)]
pub(crate) struct TokenSources {
    /// Source of the client token.
    #[schema(inline)]
    client: TokenOrigin,
    /// Source of the host token.
    #[schema(inline)]
    host: TokenOrigin,
}

/// `GET /status` and `GET /w/{id}/status` (contract §4.2).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct Status {
    /// Always `true`.
    ok: bool,
    /// The server version.
    version: String,
    /// Milliseconds since start.
    uptime_ms: u64,
    /// Whether writes are refused.
    read_only: bool,
    /// The approval gate.
    approval: ApprovalSettings,
    /// Allowed CORS origins (`*` for any).
    cors_origins: Vec<String>,
    /// Number of workspaces (1 for the mounted form).
    workspace_count: u64,
    /// The active (first) workspace's id.
    #[schema(required = true)]
    active_workspace_id: Option<String>,
    /// The active workspace (the mounted one for `/w/{id}/status`).
    #[schema(required = true)]
    workspace: Option<Workspace>,
    /// Folders workspaces must live in.
    authorized_roots: Vec<String>,
    /// The configured address.
    server: ServerAddress,
    /// Where the tokens came from.
    token_source: TokenSources,
}

/// Whether a workspace is a folder on this host or served elsewhere.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub(crate) enum WorkspaceType {
    /// A folder on this host.
    Local,
    /// Another server's workspace.
    Remote,
}

/// How the workspace's OpenCode is reached. Credentials are shown to collaborators and
/// owners only (D2).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct OpencodeConnection {
    /// OpenCode base URL.
    #[schema(required = false)]
    base_url: String,
    /// The directory OpenCode works in (the path, for local workspaces).
    #[schema(required = false)]
    directory: String,
    /// Basic-auth user name.
    #[schema(required = false)]
    username: String,
    /// Basic-auth password.
    #[schema(required = false)]
    password: String,
}

/// A workspace as serialised by the server (contract §4.5). Optional fields appear only
/// when set.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct Workspace {
    /// `ws_` + 12 hex characters of a SHA-256, or the configured id.
    id: String,
    /// Display name.
    name: String,
    /// Absolute folder path (empty for remote workspaces without one).
    path: String,
    /// Preset, e.g. `starter` or `remote`.
    preset: String,
    /// `local` or `remote`.
    #[schema(inline)]
    workspace_type: WorkspaceType,
    /// `opencode` or `openwork`, for remote workspaces.
    #[schema(required = false)]
    remote_type: String,
    /// OpenCode base URL.
    #[schema(required = false)]
    base_url: String,
    /// OpenCode directory.
    #[schema(required = false)]
    directory: String,
    /// Name chosen by the user.
    #[schema(required = false)]
    display_name: String,
    /// Remote OpenWork server URL.
    #[schema(required = false)]
    openwork_host_url: String,
    /// Token for the remote OpenWork server (not shown to viewers, D2).
    #[schema(required = false)]
    openwork_token: String,
    /// Workspace id on the remote OpenWork server.
    #[schema(required = false)]
    openwork_workspace_id: String,
    /// Workspace name on the remote OpenWork server.
    #[schema(required = false)]
    openwork_workspace_name: String,
    /// Sandbox backend.
    #[schema(required = false)]
    sandbox_backend: String,
    /// Sandbox run id.
    #[schema(required = false)]
    sandbox_run_id: String,
    /// Sandbox container name.
    #[schema(required = false)]
    sandbox_container_name: String,
    /// How OpenCode is reached; present when any part is known.
    #[schema(required = false)]
    opencode: OpencodeConnection,
}

/// `GET /workspaces` (contract §4.5): `items` and `workspaces` are the same list.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct WorkspaceList {
    /// All workspaces, the active one first.
    items: Vec<Workspace>,
    /// The same list.
    workspaces: Vec<Workspace>,
    /// The active workspace's id.
    #[schema(required = true)]
    active_id: Option<String>,
}

/// `GET /w/{id}/workspaces`: the mounted workspace alone.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct MountedWorkspaceList {
    /// The mounted workspace.
    items: Vec<Workspace>,
    /// Its id.
    active_id: String,
}

/// `GET /whoami` (contract §4.4).
#[derive(ToSchema)]
pub(crate) struct Whoami {
    /// Always `true`.
    ok: bool,
    /// The caller.
    actor: Actor,
}

/// Read/write switches of one capability.
#[derive(ToSchema)]
pub(crate) struct ReadWrite {
    /// Always `true`.
    read: bool,
    /// `false` in read-only mode.
    write: bool,
}

/// Skills capability.
#[derive(ToSchema)]
pub(crate) struct SkillsCapability {
    /// Always `true`.
    read: bool,
    /// `false` in read-only mode.
    write: bool,
    /// Always `openwork`.
    source: String,
}

/// A GitHub repository.
#[derive(ToSchema)]
pub(crate) struct HubRepo {
    /// Owner.
    owner: String,
    /// Repository name.
    name: String,
    /// Git ref.
    #[schema(rename = "ref")]
    git_ref: String,
}

/// Hub skills capability.
#[derive(ToSchema)]
pub(crate) struct HubSkills {
    /// Always `true`.
    read: bool,
    /// `false` in read-only mode.
    install: bool,
    /// The default hub repository.
    repo: HubRepo,
}

/// Hub capability.
#[derive(ToSchema)]
pub(crate) struct HubCapability {
    /// Skills from the hub.
    skills: HubSkills,
}

/// Sandbox capability.
#[derive(ToSchema)]
pub(crate) struct SandboxCapability {
    /// Whether a sandbox is in use.
    enabled: bool,
    /// `docker`, `container` or `none`.
    backend: String,
}

/// Toy UI capability.
#[derive(ToSchema)]
pub(crate) struct UiCapability {
    /// Whether `/ui` is served.
    toy: bool,
}

/// Scoped tokens capability.
#[derive(ToSchema)]
pub(crate) struct TokensCapability {
    /// Always `true`.
    scoped: bool,
    /// `owner`, `collaborator`, `viewer`.
    scopes: Vec<Scope>,
}

/// Proxy capability.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct ProxyCapability {
    /// Some workspace has an OpenCode base URL.
    opencode: bool,
    /// `OPENCODE_ROUTER_HEALTH_PORT` is set.
    opencode_router: bool,
}

/// Browser tool provider.
#[derive(ToSchema)]
pub(crate) struct BrowserProvider {
    /// Whether a browser is provided.
    enabled: bool,
    /// `in-sandbox`, `host-machine`, `client-machine` or `external`.
    placement: String,
    /// `headless`, `interactive` or `none`.
    mode: String,
}

/// Files tool provider (inbox and outbox).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct FilesProvider {
    /// Uploads to the inbox are possible.
    injection: bool,
    /// The outbox is served.
    outbox: bool,
    /// Inbox folder relative to the workspace.
    inbox_path: String,
    /// Outbox folder relative to the workspace.
    outbox_path: String,
    /// Largest upload in bytes.
    max_bytes: u64,
}

/// Tool providers.
#[derive(ToSchema)]
pub(crate) struct ToolProviders {
    /// Browser.
    browser: BrowserProvider,
    /// Inbox and outbox.
    files: FilesProvider,
}

/// `GET /capabilities` (contract §4.3).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct Capabilities {
    /// Always `1`.
    schema_version: u64,
    /// The server version.
    server_version: String,
    /// Skills.
    skills: SkillsCapability,
    /// Hub.
    hub: HubCapability,
    /// Plugins.
    plugins: ReadWrite,
    /// MCP servers.
    mcp: ReadWrite,
    /// Commands.
    commands: ReadWrite,
    /// Config.
    config: ReadWrite,
    /// The approval gate.
    approvals: ApprovalSettings,
    /// Sandbox.
    sandbox: SandboxCapability,
    /// Toy UI.
    ui: UiCapability,
    /// Tokens.
    tokens: TokensCapability,
    /// Proxies.
    proxy: ProxyCapability,
    /// Tool providers.
    tool_providers: ToolProviders,
}

/// An issued token, without its secret.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct TokenInfo {
    /// Token id (UUID).
    id: String,
    /// Its scope.
    scope: Scope,
    /// Creation time (epoch ms).
    created_at: u64,
    /// Label, when one was given.
    #[schema(required = false)]
    label: String,
}

/// `GET /tokens`.
#[derive(ToSchema)]
pub(crate) struct TokenList {
    /// Issued tokens, newest first.
    items: Vec<TokenInfo>,
}

/// `POST /tokens` body.
#[derive(ToSchema)]
pub(crate) struct CreateToken {
    /// `owner`, `collaborator` or `viewer`; anything else is `400 invalid_scope`.
    scope: Scope,
    /// Optional label (trimmed; empty is dropped).
    #[schema(required = false)]
    label: String,
}

/// `POST /tokens` answer: the only time the plaintext token is shown.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct IssuedToken {
    /// Token id (UUID).
    id: String,
    /// `owt_` + 32 hex characters.
    token: String,
    /// Its scope.
    scope: Scope,
    /// Creation time (epoch ms).
    created_at: u64,
    /// Label, when one was given.
    #[schema(required = false)]
    label: String,
}

/// A pending write waiting for the host's answer (contract §5).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct ApprovalRequest {
    /// Workspace written to.
    workspace_id: String,
    /// Action, e.g. `plugins.add`.
    action: String,
    /// Human-readable summary.
    summary: String,
    /// Absolute host paths the write touches.
    paths: Vec<String>,
    /// Who asks.
    actor: Actor,
    /// Request id (UUID).
    id: String,
    /// When it was asked (epoch ms).
    created_at: u64,
}

/// `GET /approvals`.
#[derive(ToSchema)]
pub(crate) struct ApprovalList {
    /// Pending requests, oldest first.
    items: Vec<ApprovalRequest>,
}

/// `POST /approvals/{id}` body.
#[derive(ToSchema)]
pub(crate) struct ApprovalReply {
    /// Exactly `allow` allows; anything else (or nothing) denies.
    #[schema(required = false, examples("allow", "deny"))]
    reply: String,
}

/// `POST /approvals/{id}` answer.
#[derive(ToSchema)]
pub(crate) struct ApprovalReplied {
    /// Always `true`.
    ok: bool,
    /// Whether the write was allowed.
    allowed: bool,
}

/// `POST /workspaces/local` body.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct CreateLocalWorkspace {
    /// The folder (created if missing; relative paths resolve against the server's
    /// current directory).
    folder_path: String,
    /// Name (default: the folder's name).
    #[schema(required = false)]
    name: String,
    /// Preset (default `starter`).
    #[schema(required = false)]
    preset: String,
}

/// `PATCH /workspaces/{id}/display-name` body.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct RenameWorkspace {
    /// New display name; empty or absent clears it.
    #[schema(required = false)]
    display_name: String,
}

/// The workspace list after a change.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct WorkspacesChanged {
    /// The active workspace's id.
    #[schema(required = true)]
    active_id: Option<String>,
    /// All workspaces.
    workspaces: Vec<Workspace>,
    /// Whether `server.json` was rewritten (only when it exists).
    persisted: bool,
}

/// `POST /workspaces/{id}/activate` answer.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct WorkspaceActivated {
    /// The activated workspace's id.
    active_id: String,
    /// The activated workspace.
    workspace: Workspace,
    /// Always `false` (activation is not persisted).
    persisted: bool,
}

/// `DELETE /workspaces/{id}` answer.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct WorkspaceDeleted {
    /// Always `true`.
    ok: bool,
    /// Always `true`.
    deleted: bool,
    /// Whether `server.json` was rewritten.
    persisted: bool,
    /// The active workspace's id afterwards.
    #[schema(required = true)]
    active_id: Option<String>,
    /// The remaining workspaces.
    items: Vec<Workspace>,
    /// The same list.
    workspaces: Vec<Workspace>,
}
