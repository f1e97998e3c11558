//! The boot health check: a boot counts as healthy once `stageboxd`
//! reported READY (for a `Type=notify` unit, systemd's `active` state).
//!
//! It runs before `boot-complete.target`; `systemd-bless-boot` keeps a
//! trial slot only when that target is reached. On a trial boot that is not
//! healthy in time, the caller reboots, so systemd-boot counts the try and,
//! after the last one, boots the slot that was running before.

use std::time::Duration;

/// Restarts after which a unit that never reported READY counts as
/// failed, though systemd would go on restarting it.
pub const MAX_RESTARTS: u32 = 3;

/// Where a systemd unit is, as far as the check cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitState {
    /// `active`: READY was sent.
    Ready,
    /// `failed` (systemd gave up on it), or restarted [`MAX_RESTARTS`]
    /// times without getting READY.
    Failed,
    /// Anything else: starting, restarting, not started yet.
    Waiting,
}

impl UnitState {
    /// From `systemctl show --property=ActiveState,NRestarts` output
    /// (`KEY=value` lines).
    pub fn from_properties(text: &str) -> UnitState {
        let value = |key: &str| text.lines().find_map(|l| l.trim().strip_prefix(key)?.strip_prefix('='));
        let restarts: u32 = value("NRestarts").and_then(|n| n.parse().ok()).unwrap_or(0);
        match value("ActiveState") {
            Some("active") => UnitState::Ready,
            Some("failed") => UnitState::Failed,
            _ if restarts >= MAX_RESTARTS => UnitState::Failed,
            _ => UnitState::Waiting,
        }
    }
}

/// Why a boot is not healthy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unhealthy {
    /// systemd gave up starting the unit, or it kept failing.
    #[error("{unit} failed before it reported READY")]
    Failed {
        /// The unit.
        unit: String,
    },
    /// It did not report READY in time.
    #[error("{unit} did not report READY within {seconds} s")]
    Timeout {
        /// The unit.
        unit: String,
        /// How long the check waited.
        seconds: u64,
    },
}

/// Asks `probe` every `interval` until the unit is ready, has failed, or
/// `within` has passed; `sleep` waits one interval. Returns how long it
/// took.
pub fn wait_ready(
    unit: &str,
    within: Duration,
    interval: Duration,
    mut probe: impl FnMut() -> UnitState,
    mut sleep: impl FnMut(Duration),
) -> Result<Duration, Unhealthy> {
    let mut waited = Duration::ZERO;
    loop {
        match probe() {
            UnitState::Ready => return Ok(waited),
            UnitState::Failed => return Err(Unhealthy::Failed { unit: unit.to_owned() }),
            UnitState::Waiting if waited >= within => {
                return Err(Unhealthy::Timeout { unit: unit.to_owned(), seconds: within.as_secs() });
            }
            UnitState::Waiting => {
                sleep(interval);
                waited += interval;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ActiveState` and `NRestarts` as systemctl prints them.
    fn run(states: &[(&str, u32)], within: u64) -> (Result<Duration, Unhealthy>, usize) {
        let mut asked = 0;
        let result = wait_ready(
            "stageboxd.service",
            Duration::from_secs(within),
            Duration::from_secs(1),
            || {
                let (state, restarts) = states.get(asked).or(states.last()).copied().unwrap_or(("inactive", 0));
                asked += 1;
                UnitState::from_properties(&format!("ActiveState={state}\nNRestarts={restarts}\n"))
            },
            |_| {},
        );
        (result, asked)
    }

    #[test]
    fn ready_after_starting_is_healthy() {
        let (result, asked) = run(&[("inactive", 0), ("activating", 0), ("activating", 1), ("active", 1)], 60);
        assert_eq!(result, Ok(Duration::from_secs(3)));
        assert_eq!(asked, 4);
    }

    #[test]
    fn restarts_are_waited_out_but_a_final_failure_is_not() {
        let (result, asked) = run(&[("activating", 0), ("activating", 1), ("failed", 1)], 60);
        assert_eq!(result, Err(Unhealthy::Failed { unit: "stageboxd.service".into() }));
        assert_eq!(asked, 3);
        // systemd would restart it forever; the check stops at the third.
        let (result, asked) =
            run(&[("activating", 0), ("activating", 1), ("activating", 2), ("activating", MAX_RESTARTS)], 60);
        assert_eq!(result, Err(Unhealthy::Failed { unit: "stageboxd.service".into() }));
        assert_eq!(asked, 4);
    }

    #[test]
    fn a_unit_that_never_gets_ready_times_out() {
        let (result, asked) = run(&[("activating", 0)], 5);
        assert_eq!(result, Err(Unhealthy::Timeout { unit: "stageboxd.service".into(), seconds: 5 }));
        assert_eq!(asked, 6);
    }
}
