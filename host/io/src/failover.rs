//! Choosing between a primary and a backup input: a pure state machine fed
//! with packet arrivals and the time, so its rules are tested without
//! sockets or sleeps.
//!
//! - On the primary, when it has been silent for `detect` and the backup
//!   is alive, switch to the backup.
//! - On the backup, switch back once the primary has delivered without a
//!   silence of `detect` for `revert_after`; or at once if the backup goes
//!   silent while the primary is alive.
//! - An operator may select either source. Selecting the backup holds it
//!   (no automatic return) until the backup itself fails.

use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// One of the two inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The first input URL.
    Primary,
    /// The second.
    Backup,
}

impl Source {
    /// The other one.
    pub fn other(self) -> Source {
        match self {
            Source::Primary => Source::Backup,
            Source::Backup => Source::Primary,
        }
    }
}

/// The failover timings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailoverConfig {
    /// Silence on the active input that counts as lost (default 500 ms).
    pub detect: Duration,
    /// How long the primary must be healthy before the channel returns to
    /// it (default 10 s); `None` stays on the backup until told.
    pub revert_after: Option<Duration>,
}

impl Default for FailoverConfig {
    fn default() -> Self {
        FailoverConfig { detect: Duration::from_millis(500), revert_after: Some(Duration::from_secs(10)) }
    }
}

/// Why the active source changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// The active source went silent.
    Lost,
    /// The primary has been healthy for `revert_after`.
    Recovered,
    /// An operator asked.
    Selected,
}

/// A change of the active source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Switch {
    /// The source now active.
    pub to: Source,
    /// Why.
    pub reason: Reason,
}

#[derive(Debug, Clone, Copy, Default)]
struct Seen {
    last: Option<Instant>,
    /// Since when it has delivered with no silence of `detect`.
    healthy_since: Option<Instant>,
}

impl Seen {
    fn alive(&self, now: Instant, detect: Duration) -> bool {
        self.last.is_some_and(|l| now.saturating_duration_since(l) < detect)
    }
}

/// The primary/backup decision for one channel.
#[derive(Debug, Clone)]
pub struct Failover {
    config: FailoverConfig,
    active: Source,
    held: bool,
    seen: [Seen; 2],
    /// The first packet from either source.
    first: Option<Instant>,
}

fn slot(source: Source) -> usize {
    match source {
        Source::Primary => 0,
        Source::Backup => 1,
    }
}

impl Failover {
    /// Starts on the primary.
    pub fn new(config: FailoverConfig) -> Failover {
        Failover { config, active: Source::Primary, held: false, seen: [Seen::default(); 2], first: None }
    }

    /// The source whose packets go out.
    pub fn active(&self) -> Source {
        self.active
    }

    /// The timings.
    pub fn config(&self) -> FailoverConfig {
        self.config
    }

    /// Whether `source` delivered within the detection time.
    pub fn alive(&self, source: Source, now: Instant) -> bool {
        self.seen[slot(source)].alive(now, self.config.detect)
    }

    /// A packet arrived from `source`. Returns whether it goes out, and a
    /// switch if its arrival caused one (checked before the answer).
    pub fn packet(&mut self, source: Source, now: Instant) -> (bool, Option<Switch>) {
        self.heard(source, now);
        let switch = self.poll(now);
        (source == self.active, switch)
    }

    /// Notes that `source` delivered, without applying any rule (for a
    /// merge, where both are always used and only liveness is reported).
    pub fn heard(&mut self, source: Source, now: Instant) {
        let detect = self.config.detect;
        let seen = &mut self.seen[slot(source)];
        if !seen.alive(now, detect) {
            seen.healthy_since = Some(now);
        }
        seen.last = Some(now);
        self.first.get_or_insert(now);
    }

    /// The operator's choice: switch now (if not already there).
    pub fn select(&mut self, source: Source) -> Option<Switch> {
        self.held = source == Source::Backup;
        (source != self.active).then(|| self.switch(source, Reason::Selected))
    }

    fn switch(&mut self, to: Source, reason: Reason) -> Switch {
        self.active = to;
        if to == Source::Primary {
            self.held = false;
        }
        Switch { to, reason }
    }

    /// Applies the time-based rules at `now`.
    pub fn poll(&mut self, now: Instant) -> Option<Switch> {
        let detect = self.config.detect;
        let (primary, backup) = (self.seen[0], self.seen[1]);
        match self.active {
            Source::Primary => {
                // At start-up the primary gets `detect` from the first
                // packet of either source to be heard.
                let lost = match primary.last {
                    Some(_) => !primary.alive(now, detect),
                    None => self.first.is_some_and(|f| now.saturating_duration_since(f) >= detect),
                };
                (lost && backup.alive(now, detect)).then(|| self.switch(Source::Backup, Reason::Lost))
            }
            Source::Backup => {
                if !primary.alive(now, detect) {
                    return None;
                }
                if !backup.alive(now, detect) {
                    return Some(self.switch(Source::Primary, Reason::Lost));
                }
                let revert = self.config.revert_after.filter(|_| !self.held)?;
                let since = primary.healthy_since?;
                (now.saturating_duration_since(since) >= revert)
                    .then(|| self.switch(Source::Primary, Reason::Recovered))
            }
        }
    }

    /// When [`Failover::poll`] next needs calling, if nothing arrives
    /// before: the moment the active source would count as silent, or the
    /// primary as recovered. Never at or before `now` (a moment already
    /// past is handled by the next packet's poll).
    pub fn deadline(&self, now: Instant) -> Option<Instant> {
        let detect = self.config.detect;
        let active = match (self.active, self.seen[slot(self.active)].last) {
            (_, Some(last)) => Some(last + detect),
            (Source::Primary, None) => self.first.map(|f| f + detect),
            (Source::Backup, None) => None,
        };
        let revert = match (self.active, self.config.revert_after, self.held) {
            (Source::Backup, Some(revert), false) => self.seen[0].healthy_since.map(|s| s + revert),
            _ => None,
        };
        [active, revert].into_iter().flatten().filter(|d| *d > now).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn config() -> FailoverConfig {
        FailoverConfig { detect: 100 * MS, revert_after: Some(1000 * MS) }
    }

    /// Both sources deliver every 10 ms from `from` for `span`; returns
    /// the switches seen.
    fn run(f: &mut Failover, from: Instant, span: Duration, sources: &[Source]) -> Vec<(Duration, Switch)> {
        let mut switches = Vec::new();
        let mut t = Duration::ZERO;
        while t < span {
            for &s in sources {
                if let (_, Some(sw)) = f.packet(s, from + t) {
                    switches.push((t, sw));
                }
            }
            t += 10 * MS;
        }
        switches
    }

    #[test]
    fn a_silent_primary_fails_over_within_the_detection_time() {
        let t0 = Instant::now();
        let mut f = Failover::new(config());
        assert!(run(&mut f, t0, 500 * MS, &[Source::Primary, Source::Backup]).is_empty());
        // The primary's last packet was at 490 ms: lost at 590 ms, while
        // the backup carries on.
        assert!(run(&mut f, t0 + 500 * MS, 90 * MS, &[Source::Backup]).is_empty());
        let deadline = f.deadline(t0 + 580 * MS).unwrap_or(t0);
        assert_eq!(deadline, t0 + 590 * MS);
        assert_eq!(f.poll(t0 + 589 * MS), None);
        assert_eq!(f.poll(t0 + 590 * MS), Some(Switch { to: Source::Backup, reason: Reason::Lost }));
        assert_eq!(f.packet(Source::Backup, t0 + 595 * MS), (true, None));
    }

    #[test]
    fn the_primary_returns_after_being_healthy_for_revert_after() {
        let t0 = Instant::now();
        let mut f = Failover::new(config());
        run(&mut f, t0, 100 * MS, &[Source::Primary, Source::Backup]);
        let switches = run(&mut f, t0 + 100 * MS, 400 * MS, &[Source::Backup]);
        assert_eq!(switches.len(), 1);
        // The primary comes back at 500 ms: packets go out from the backup
        // until it has been healthy for 1 s.
        let switches = run(&mut f, t0 + 500 * MS, 1500 * MS, &[Source::Primary, Source::Backup]);
        assert_eq!(switches, [(1000 * MS, Switch { to: Source::Primary, reason: Reason::Recovered })]);
    }

    #[test]
    fn a_flapping_primary_does_not_return() {
        let t0 = Instant::now();
        let mut f = Failover::new(config());
        run(&mut f, t0, 100 * MS, &[Source::Primary, Source::Backup]);
        run(&mut f, t0 + 100 * MS, 300 * MS, &[Source::Backup]);
        // 800 ms on, 150 ms off, 800 ms on: never 1 s healthy in one go.
        let mut switches = run(&mut f, t0 + 400 * MS, 800 * MS, &[Source::Primary, Source::Backup]);
        switches.extend(run(&mut f, t0 + 1200 * MS, 150 * MS, &[Source::Backup]));
        switches.extend(run(&mut f, t0 + 1350 * MS, 800 * MS, &[Source::Primary, Source::Backup]));
        assert!(switches.is_empty(), "{switches:?}");
        assert_eq!(f.active(), Source::Backup);
    }

    #[test]
    fn a_held_backup_stays_until_it_fails() {
        let t0 = Instant::now();
        let mut f = Failover::new(config());
        run(&mut f, t0, 100 * MS, &[Source::Primary, Source::Backup]);
        assert_eq!(f.select(Source::Backup), Some(Switch { to: Source::Backup, reason: Reason::Selected }));
        assert!(run(&mut f, t0 + 100 * MS, 3000 * MS, &[Source::Primary, Source::Backup]).is_empty());
        // The backup dies after its packet at 3090 ms: back to the live
        // primary at 3190 ms.
        let switches = run(&mut f, t0 + 3100 * MS, 200 * MS, &[Source::Primary]);
        assert_eq!(switches, [(90 * MS, Switch { to: Source::Primary, reason: Reason::Lost })]);
        assert_eq!(f.select(Source::Primary), None);
    }

    #[test]
    fn the_primary_gets_the_detection_time_to_start() {
        let t0 = Instant::now();
        let mut f = Failover::new(config());
        // The backup is heard first: its packets wait for the primary...
        assert_eq!(f.packet(Source::Backup, t0), (false, None));
        assert_eq!(f.deadline(t0), Some(t0 + 100 * MS));
        assert_eq!(f.packet(Source::Backup, t0 + 50 * MS), (false, None));
        // ...which is heard within the detection time: no switch at all.
        assert_eq!(f.packet(Source::Primary, t0 + 60 * MS), (true, None));
        assert_eq!(f.poll(t0 + 150 * MS), None);
        // Without it, the backup takes over once the detection time is up.
        let mut f = Failover::new(config());
        f.packet(Source::Backup, t0);
        assert_eq!(f.poll(t0 + 99 * MS), None);
        assert_eq!(
            f.packet(Source::Backup, t0 + 100 * MS),
            (true, Some(Switch { to: Source::Backup, reason: Reason::Lost }))
        );
    }

    #[test]
    fn with_both_silent_nothing_switches() {
        let t0 = Instant::now();
        let mut f = Failover::new(config());
        run(&mut f, t0, 100 * MS, &[Source::Primary, Source::Backup]);
        assert_eq!(f.poll(t0 + 5000 * MS), None);
        assert_eq!(f.deadline(t0 + 5000 * MS), None, "nothing to wait for");
        // The backup wakes first: it takes over on its first packet.
        assert_eq!(
            f.packet(Source::Backup, t0 + 5001 * MS),
            (true, Some(Switch { to: Source::Backup, reason: Reason::Lost }))
        );
    }
}
