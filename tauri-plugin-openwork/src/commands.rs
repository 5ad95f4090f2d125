//! The commands the app's frontend invokes (`plugin:openwork|<name>`), each allowed by a
//! permission in `permissions/`.
//!
//! SECURITY: the host token and the host's powers (answering approvals, issuing tokens,
//! restarting) belong to the app's own pages only. A page from a remote origin that an app
//! grants these commands through a remote capability gets the public server info and
//! nothing else.

use openwork_server_core::Scope;
use tauri::ipc::{CommandArg, CommandItem, InvokeError};
use tauri::utils::acl::ExecutionContext;
use tauri::{AppHandle, Runtime, command};

use crate::models::{ApprovalRequest, IssuedToken, ServerInfo};
use crate::{Error, OpenworkExt, Result};

/// Whether the invoking page is the app's own (its local origin), as Tauri's access control
/// resolved it for this very call.
pub(crate) struct Caller {
    local: bool,
}

impl Caller {
    fn require_local(&self) -> Result<()> {
        if self.local {
            Ok(())
        } else {
            Err(Error::RemoteOrigin)
        }
    }
}

impl<'de, R: Runtime> CommandArg<'de, R> for Caller {
    fn from_command(command: CommandItem<'de, R>) -> std::result::Result<Self, InvokeError> {
        // Tauri resolves the grants that match the request's origin; a remote page only
        // ever matches `Remote` grants. No grant at all counts as remote.
        let local = command.acl.as_ref().is_some_and(|grants| {
            !grants.is_empty()
                && grants
                    .iter()
                    .all(|grant| matches!(grant.context, ExecutionContext::Local))
        });
        Ok(Self { local })
    }
}

/// Where the server listens, the workspace ids and the client token; the host token only
/// for the app's own pages.
#[command]
pub(crate) fn server_info<R: Runtime>(app: AppHandle<R>, caller: Caller) -> Result<ServerInfo> {
    app.openwork().info(caller.local)
}

/// The pending approval requests, oldest first.
#[command]
pub(crate) fn list_approvals<R: Runtime>(
    app: AppHandle<R>,
    caller: Caller,
) -> Result<Vec<ApprovalRequest>> {
    caller.require_local()?;
    Ok(app.openwork().handle()?.approvals().pending())
}

/// Answers a pending request; `false` when it is no longer pending.
#[command]
pub(crate) fn respond_approval<R: Runtime>(
    app: AppHandle<R>,
    caller: Caller,
    id: String,
    allow: bool,
) -> Result<bool> {
    caller.require_local()?;
    Ok(app.openwork().handle()?.approvals().respond(&id, allow))
}

/// Issues a scoped token (`owner`, `collaborator` or `viewer`), as `POST /tokens` does.
#[command]
pub(crate) async fn create_token<R: Runtime>(
    app: AppHandle<R>,
    caller: Caller,
    scope: String,
    label: Option<String>,
) -> Result<IssuedToken> {
    caller.require_local()?;
    let scope = Scope::from_name(&scope).ok_or(Error::InvalidScope)?;
    let handle = app.openwork().handle()?;
    Ok(handle.create_token(scope, label).await?)
}

/// Restarts the server from its configuration layers (after the config file changed) and
/// returns the new server info.
#[command]
pub(crate) async fn restart<R: Runtime>(app: AppHandle<R>, caller: Caller) -> Result<ServerInfo> {
    caller.require_local()?;
    app.openwork().restart().await
}
