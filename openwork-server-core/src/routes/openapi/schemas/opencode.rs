//! Shapes of the sessions read model over the workspace's OpenCode (contract Appendix A).
//! Sessions, messages and todos are OpenCode's own objects, passed through; only the
//! fields the server checks are described.

use serde_json::{Map, Value};
use utoipa::ToSchema;

/// An OpenCode session (any object with a string `id`).
#[derive(ToSchema)]
pub(crate) struct OpencodeSession {
    /// Session id, e.g. `ses_…`.
    id: String,
}

/// `GET /workspace/{id}/sessions`.
#[derive(ToSchema)]
pub(crate) struct SessionList {
    /// Sessions, as OpenCode lists them.
    items: Vec<OpencodeSession>,
}

/// `GET /workspace/{id}/sessions/{session_id}`.
#[derive(ToSchema)]
pub(crate) struct SessionDetail {
    /// The session.
    item: OpencodeSession,
}

/// A message with its parts.
#[derive(ToSchema)]
pub(crate) struct SessionMessage {
    /// OpenCode's message info.
    info: Map<String, Value>,
    /// OpenCode's message parts.
    parts: Vec<Value>,
}

/// `GET /workspace/{id}/sessions/{session_id}/messages`.
#[derive(ToSchema)]
pub(crate) struct SessionMessages {
    /// Messages, oldest first.
    items: Vec<SessionMessage>,
}

/// A session with its messages, todos and status.
#[derive(ToSchema)]
pub(crate) struct SessionSnapshotItem {
    /// The session.
    session: OpencodeSession,
    /// Its messages.
    messages: Vec<SessionMessage>,
    /// Its todo list.
    todos: Vec<Value>,
    /// Its status (`{"type":"idle"}` when OpenCode lists none).
    status: Map<String, Value>,
}

/// `GET /workspace/{id}/sessions/{session_id}/snapshot`.
#[derive(ToSchema)]
pub(crate) struct SessionSnapshot {
    /// The snapshot.
    item: SessionSnapshotItem,
}
