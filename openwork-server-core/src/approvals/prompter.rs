//! The hook through which a host shows approval requests to a person.

use super::{ApprovalRequest, Approvals};

/// Shows approval requests to a person on the host: the desktop app opens a native dialog,
/// the headless binary prints to its terminal. Methods are called synchronously from the
/// request path, so they must return quickly (spawn a task to wait for the person) and
/// answer later through [`Approvals::respond`].
pub trait ApprovalPrompter: Send + Sync + 'static {
    /// A new request is pending.
    fn request_opened(&self, request: &ApprovalRequest, approvals: &Approvals);

    /// A request is no longer pending: answered (here or through `POST /approvals/:id`),
    /// timed out, or withdrawn because its client went away. A dialog for it should close.
    fn request_closed(&self, _id: &str) {}
}
