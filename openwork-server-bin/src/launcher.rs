//! Ties the server's life to the npm launcher that started it.
//!
//! The launcher forwards the signals it can catch, but nothing can catch SIGKILL: a
//! launcher killed that way would leave the server running, re-parented to init, holding
//! its port. The launcher therefore names itself in `OPENWORK_SERVER_LAUNCHER_PID`, and
//! the server shuts down gracefully as soon as its parent is no longer that process.

use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Set by the npm launcher to its own pid.
pub const LAUNCHER_PID_ENV: &str = "OPENWORK_SERVER_LAUNCHER_PID";

/// How often the parent is looked at: a syscall, so cheap, and a launcher's death is
/// noticed well within the 2.5 s that supervisors give a stop.
const POLL: Duration = Duration::from_millis(250);

/// Cancels `shutdown` once the launcher named in the environment is gone. Does nothing
/// when no launcher is named (run directly, by the orchestrator or the desktop app).
pub async fn watch(launcher_pid: Option<String>, shutdown: CancellationToken) {
    #[cfg(unix)]
    {
        let Some(pid) = launcher_pid.and_then(|pid| pid.trim().parse::<u32>().ok()) else {
            return;
        };
        let mut tick = tokio::time::interval(POLL);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            if std::os::unix::process::parent_id() != pid {
                tracing::info!("The launcher (pid {pid}) has exited; shutting down");
                shutdown.cancel();
                return;
            }
        }
    }
    #[cfg(not(unix))]
    {
        // Windows has no re-parenting to watch for; the launcher's job object is the tool
        // there, and it ends the child with the launcher already.
        let _ = (launcher_pid, shutdown, POLL);
    }
}
