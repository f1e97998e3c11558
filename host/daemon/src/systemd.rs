//! Telling systemd how the daemon is doing (the sd_notify protocol): READY
//! once the API listens, WATCHDOG pings while the runtime is alive, STOPPING
//! on shutdown. Without `NOTIFY_SOCKET` (not under systemd) these do nothing.

use sd_notify::NotifyState;
use std::time::Duration;

fn send(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!("sd_notify failed: {e}");
    }
}

/// The service is up: the API is listening on `url`.
pub fn ready(url: &str) {
    let status = format!("serving the API on {url}");
    send(&[NotifyState::Ready, NotifyState::Status(&status)]);
}

/// The service is stopping.
pub fn stopping() {
    send(&[NotifyState::Stopping]);
}

/// When systemd asked for a watchdog (`WatchdogSec=`), pings it at half
/// the interval from a task on the runtime: a wedged runtime stops the
/// pings, and systemd restarts the daemon.
pub fn spawn_watchdog() {
    let Some(interval) = sd_notify::watchdog_enabled() else { return };
    let period = (interval / 2).max(Duration::from_millis(10));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        loop {
            tick.tick().await;
            send(&[NotifyState::Watchdog]);
        }
    });
}
