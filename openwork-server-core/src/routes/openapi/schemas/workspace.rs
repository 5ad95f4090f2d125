//! Shapes of one workspace's agent setup: config, plugins, skills, MCP, commands, audit,
//! reload events, export and import (contract §4.6–§4.14, §6, §7).

use serde_json::{Map, Value};
use utoipa::ToSchema;

/// `GET /workspace/{id}/config` (contract §4.6).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct WorkspaceConfig {
    /// The project OpenCode config (`opencode.jsonc` or `opencode.json`), `{}` when absent.
    opencode: Map<String, Value>,
    /// `.opencode/openwork.json`, `{}` when absent.
    openwork: Map<String, Value>,
    /// Time of the workspace's newest audit entry (epoch ms).
    #[schema(required = true)]
    updated_at: Option<u64>,
}

/// `PATCH /workspace/{id}/config` body; at least one section must be given.
#[derive(ToSchema)]
pub(crate) struct ConfigPatch {
    /// Top-level keys to set in the project OpenCode config (of `permission`, only
    /// `external_directory` is honoured).
    #[schema(required = false)]
    opencode: Map<String, Value>,
    /// Keys merged into `.opencode/openwork.json`.
    #[schema(required = false)]
    openwork: Map<String, Value>,
}

/// `PATCH /workspace/{id}/config` answer.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct ConfigUpdated {
    /// When the change was written (epoch ms).
    updated_at: u64,
}

/// Which OpenCode config file.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub(crate) enum ConfigScope {
    /// The workspace's `opencode.jsonc`/`opencode.json`.
    Project,
    /// The host user's `~/.config/opencode/opencode.jsonc`.
    Global,
}

/// `GET /workspace/{id}/opencode-config` answer.
#[derive(ToSchema)]
pub(crate) struct OpencodeConfigFile {
    /// Absolute path of the file.
    path: String,
    /// Whether it exists.
    exists: bool,
    /// Its raw text, `null` when it does not exist.
    #[schema(required = true)]
    content: Option<String>,
}

/// `POST /workspace/{id}/opencode-config` body.
#[derive(ToSchema)]
pub(crate) struct OpencodeConfigWrite {
    /// `global` writes the host user's config; anything else the project's.
    #[schema(required = false, inline)]
    scope: ConfigScope,
    /// The new raw text (a newline is added when missing).
    content: String,
}

/// `POST /workspace/{id}/opencode-config` answer, shaped like a CLI run.
#[derive(ToSchema)]
pub(crate) struct CommandRun {
    /// Always `true`.
    ok: bool,
    /// Always `0`.
    status: i64,
    /// `Wrote <path>`.
    stdout: String,
    /// Always empty.
    stderr: String,
}

/// What a reload event is about.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub(crate) enum ReloadReason {
    /// Plugins changed.
    Plugins,
    /// Skills changed.
    Skills,
    /// MCP servers changed.
    Mcp,
    /// The OpenCode config changed.
    Config,
    /// Agents changed.
    Agents,
    /// Commands changed.
    Commands,
}

/// What changed, when known.
#[derive(ToSchema)]
pub(crate) struct ReloadTrigger {
    /// `skill`, `plugin`, `config`, `mcp`, `agent` or `command`.
    #[schema(rename = "type")]
    kind: String,
    /// The item's name.
    #[schema(required = false)]
    name: String,
    /// `added`, `removed` or `updated`.
    #[schema(required = false)]
    action: String,
    /// Absolute path of the changed file.
    #[schema(required = false)]
    path: String,
}

/// A reload event (contract §6.2).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct ReloadEvent {
    /// Event id (UUID).
    id: String,
    /// Global sequence number.
    seq: u64,
    /// The workspace.
    workspace_id: String,
    /// What to reload.
    #[schema(inline)]
    reason: ReloadReason,
    /// What changed.
    #[schema(required = false)]
    trigger: ReloadTrigger,
    /// When (epoch ms).
    timestamp: u64,
}

/// `GET /workspace/{id}/events` as a JSON poll.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct ReloadEventPoll {
    /// This workspace's events after `since`, oldest first.
    items: Vec<ReloadEvent>,
    /// The current global sequence number (the next `since`).
    cursor: u64,
    /// The workspace.
    workspace_id: String,
    /// Always `false`.
    disabled: bool,
}

/// An audit line (contract §6.1).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct AuditEntry {
    /// Entry id (UUID).
    id: String,
    /// The workspace.
    workspace_id: String,
    /// Who did it (the actor as recorded).
    actor: Map<String, Value>,
    /// Action, e.g. `skills.upsert`.
    action: String,
    /// What was written.
    target: String,
    /// Human-readable summary.
    summary: String,
    /// When (epoch ms).
    timestamp: u64,
}

/// `GET /workspace/{id}/audit`.
#[derive(ToSchema)]
pub(crate) struct AuditList {
    /// Newest first.
    items: Vec<AuditEntry>,
}

/// Where a plugin entry comes from.
#[derive(ToSchema)]
pub(crate) enum PluginSource {
    /// The project config's `plugin` list.
    #[schema(rename = "config")]
    Config,
    /// `.opencode/plugins/` of the workspace.
    #[schema(rename = "dir.project")]
    DirProject,
    /// `~/.config/opencode/plugins/`.
    #[schema(rename = "dir.global")]
    DirGlobal,
}

/// Project or global.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub(crate) enum ItemScope {
    /// The workspace's own.
    Project,
    /// The host user's.
    Global,
}

/// A plugin (contract §4.8).
#[derive(ToSchema)]
pub(crate) struct PluginItem {
    /// The spec (package name, `file://` URL, …).
    spec: String,
    /// Where it was found.
    #[schema(inline)]
    source: PluginSource,
    /// Project or global.
    #[schema(inline)]
    scope: ItemScope,
    /// File path (relative for project files, absolute for global ones).
    #[schema(required = false)]
    path: String,
}

/// `GET /workspace/{id}/plugins` and the answer of plugin writes.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct PluginList {
    /// Plugins.
    items: Vec<PluginItem>,
    /// Always `["config.global","config.project","dir.global","dir.project"]`.
    load_order: Vec<String>,
}

/// `POST /workspace/{id}/plugins` body.
#[derive(ToSchema)]
pub(crate) struct PluginAdd {
    /// The spec to add, e.g. `opencode-wakatime@1.2.3`.
    spec: String,
}

/// A skill (contract §4.9).
#[derive(ToSchema)]
pub(crate) struct SkillItem {
    /// Kebab-case name.
    name: String,
    /// Description from the frontmatter.
    description: String,
    /// Absolute path of its `SKILL.md`.
    path: String,
    /// Project or global.
    #[schema(inline)]
    scope: ItemScope,
    /// When to use it, when stated.
    #[schema(required = false)]
    trigger: String,
}

/// `GET /workspace/{id}/skills`.
#[derive(ToSchema)]
pub(crate) struct SkillList {
    /// Skills.
    items: Vec<SkillItem>,
}

/// `GET /workspace/{id}/skills/{name}`.
#[derive(ToSchema)]
pub(crate) struct SkillDetail {
    /// The skill.
    item: SkillItem,
    /// The raw `SKILL.md` text.
    content: String,
}

/// `POST /workspace/{id}/skills` body.
#[derive(ToSchema)]
pub(crate) struct SkillUpsert {
    /// Kebab-case name, 1–64 characters.
    name: String,
    /// The `SKILL.md` text, with or without frontmatter.
    content: String,
    /// Description (required unless the content's frontmatter has one).
    #[schema(required = false)]
    description: String,
}

/// `POST /workspace/{id}/skills` answer.
#[derive(ToSchema)]
pub(crate) struct SkillWritten {
    /// The name as sent.
    name: String,
    /// Absolute path of the written `SKILL.md`.
    path: String,
    /// The payload's description (`""` when none was sent).
    description: String,
    /// Always `project`.
    scope: String,
}

/// `DELETE /workspace/{id}/skills/{name}` answer.
#[derive(ToSchema)]
pub(crate) struct SkillDeleted {
    /// Always `true`.
    ok: bool,
    /// The skill's name.
    name: String,
    /// Absolute path of the removed folder.
    path: String,
}

/// Where an MCP entry comes from.
#[derive(ToSchema)]
pub(crate) enum McpSource {
    /// The host user's OpenCode config.
    #[schema(rename = "config.global")]
    Global,
    /// The project OpenCode config.
    #[schema(rename = "config.project")]
    Project,
}

/// An MCP server (contract §4.10).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct McpItem {
    /// Name.
    name: String,
    /// The stored config object, as written.
    config: Map<String, Value>,
    /// Where it was found.
    #[schema(inline)]
    source: McpSource,
    /// `true` when the config's `tools.deny` disables it.
    #[schema(required = false)]
    disabled_by_tools: bool,
}

/// `GET /workspace/{id}/mcp` and the answer of MCP writes.
#[derive(ToSchema)]
pub(crate) struct McpList {
    /// MCP servers, global first.
    items: Vec<McpItem>,
}

/// `POST /workspace/{id}/mcp` body.
#[derive(ToSchema)]
pub(crate) struct McpAdd {
    /// Name: letters, digits, `_`, `-`, not starting with `-`.
    name: String,
    /// `{"type":"local","command":[…]}` or `{"type":"remote","url":…}`, plus any other
    /// OpenCode fields.
    config: Map<String, Value>,
}

/// Workspace or global.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub(crate) enum CommandScope {
    /// `.opencode/commands/` of the workspace.
    Workspace,
    /// `~/.config/opencode/commands/`.
    Global,
}

/// A command (contract §4.11).
#[derive(ToSchema)]
pub(crate) struct CommandItem {
    /// Name.
    name: String,
    /// Description.
    #[schema(required = false)]
    description: String,
    /// The prompt template.
    template: String,
    /// Agent.
    #[schema(required = false)]
    agent: String,
    /// Model, `null` when not set.
    #[schema(required = true)]
    model: Option<String>,
    /// Whether it runs as a subtask.
    #[schema(required = false)]
    subtask: bool,
    /// Workspace or global.
    #[schema(inline)]
    scope: CommandScope,
}

/// `GET /workspace/{id}/commands` and the answer of `POST`.
#[derive(ToSchema)]
pub(crate) struct CommandList {
    /// Commands.
    items: Vec<CommandItem>,
}

/// `POST /workspace/{id}/commands` body.
#[derive(ToSchema)]
pub(crate) struct CommandUpsert {
    /// Name (leading `/` stripped): letters, digits, `_`, `-`.
    name: String,
    /// The prompt template.
    template: String,
    /// Description.
    #[schema(required = false)]
    description: String,
    /// Agent.
    #[schema(required = false)]
    agent: String,
    /// Model.
    #[schema(required = false)]
    model: String,
    /// Run as a subtask (default `false`).
    #[schema(required = false)]
    subtask: bool,
}

/// `POST /workspace/{id}/engine/reload` answer.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct EngineReloaded {
    /// Always `true`.
    ok: bool,
    /// When (epoch ms).
    reloaded_at: u64,
}

/// A skill in an export.
#[derive(ToSchema)]
pub(crate) struct ExportedSkill {
    /// Name.
    name: String,
    /// Description.
    description: String,
    /// The full `SKILL.md` text.
    content: String,
}

/// A command in an export.
#[derive(ToSchema)]
pub(crate) struct ExportedCommand {
    /// Name.
    name: String,
    /// Description.
    #[schema(required = false)]
    description: String,
    /// The prompt template.
    template: String,
}

/// A portable file (`.opencode/agents/`, `plugins/` or `tools/`).
#[derive(ToSchema)]
pub(crate) struct PortableFile {
    /// Workspace-relative path.
    path: String,
    /// UTF-8 text.
    content: String,
}

/// `GET /workspace/{id}/export` (contract §7.1).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct WorkspaceExport {
    /// The workspace.
    workspace_id: String,
    /// When (epoch ms).
    exported_at: u64,
    /// The project config reduced to its portable keys.
    opencode: Map<String, Value>,
    /// `.opencode/openwork.json` without materialised sessions.
    openwork: Map<String, Value>,
    /// Project skills with their text.
    skills: Vec<ExportedSkill>,
    /// Workspace commands.
    commands: Vec<ExportedCommand>,
    /// Portable files; left out when there are none.
    #[schema(required = false)]
    files: Vec<PortableFile>,
}

/// A skill in an import.
#[derive(ToSchema)]
pub(crate) struct ImportedSkill {
    /// Name.
    name: String,
    /// `SKILL.md` text.
    content: String,
    /// Description.
    #[schema(required = false)]
    description: String,
}

/// A command in an import: either `content` (frontmatter + template) or the fields.
#[derive(ToSchema)]
pub(crate) struct ImportedCommand {
    /// Name (else the frontmatter's).
    #[schema(required = false)]
    name: String,
    /// Frontmatter and template in one text.
    #[schema(required = false)]
    content: String,
    /// The prompt template.
    #[schema(required = false)]
    template: String,
    /// Description.
    #[schema(required = false)]
    description: String,
    /// Agent.
    #[schema(required = false)]
    agent: String,
    /// Model.
    #[schema(required = false)]
    model: String,
    /// Run as a subtask.
    #[schema(required = false)]
    subtask: bool,
}

/// How a section is imported.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub(crate) enum ImportMode {
    /// Merge into what is there.
    Merge,
    /// Replace what is there.
    Replace,
}

/// Per-section import modes; anything but `replace` merges.
#[derive(ToSchema)]
pub(crate) struct ImportModes {
    /// Project config.
    #[schema(required = false, inline)]
    opencode: ImportMode,
    /// `openwork.json`.
    #[schema(required = false, inline)]
    openwork: ImportMode,
    /// Skills.
    #[schema(required = false, inline)]
    skills: ImportMode,
    /// Commands.
    #[schema(required = false, inline)]
    commands: ImportMode,
    /// Portable files.
    #[schema(required = false, inline)]
    files: ImportMode,
}

/// `POST /workspace/{id}/import` body (contract §7.2); every section is optional.
#[derive(ToSchema)]
pub(crate) struct WorkspaceImport {
    /// Portable keys of the project config.
    #[schema(required = false)]
    opencode: Map<String, Value>,
    /// `openwork.json` keys.
    #[schema(required = false)]
    openwork: Map<String, Value>,
    /// Skills.
    #[schema(required = false)]
    skills: Vec<ImportedSkill>,
    /// Commands.
    #[schema(required = false)]
    commands: Vec<ImportedCommand>,
    /// Portable files.
    #[schema(required = false)]
    files: Vec<PortableFile>,
    /// Per-section modes.
    #[schema(required = false)]
    mode: ImportModes,
}
