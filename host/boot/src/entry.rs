//! One slot's systemd-boot loader entry (`loader/entries/stagebox-b+2-1.conf`)
//! and the order systemd-boot picks entries in.
//!
//! The file name carries the boot counter of the Boot Loader
//! Specification's automatic boot assessment: `+LEFT[-DONE]` before
//! `.conf`. systemd-boot renames the file before each boot it makes from it
//! (`+3` → `+2-1` → `+1-2` → `+0-3`); `systemd-bless-boot` drops the counter
//! once the boot reached `boot-complete.target`. An entry without a counter
//! is known good; one with no tries left is bad.

use std::cmp::{Ordering, Reverse};

/// The prefix of every entry file this crate manages.
pub const PREFIX: &str = "stagebox-";

/// A slot's name as RAUC and the entries know it (`a`, `b`): lower-case
/// ASCII letters and digits only, so it is safe in a file name.
pub fn valid_slot(slot: &str) -> bool {
    !slot.is_empty() && slot.len() <= 16 && slot.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// A boot counter: tries left and tries done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    /// Boots systemd-boot will still attempt from this entry.
    pub left: u32,
    /// Boots it has attempted so far.
    pub done: u32,
}

/// An entry file's name, taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryName {
    /// The slot it boots.
    pub slot: String,
    /// Its boot counter; `None` for an entry blessed as good.
    pub counter: Option<Counter>,
}

impl EntryName {
    /// Parses `stagebox-SLOT[+LEFT[-DONE]].conf`; `None` for any other name.
    pub fn parse(file: &str) -> Option<EntryName> {
        let stem = file.strip_prefix(PREFIX)?.strip_suffix(".conf")?;
        let (slot, counter) = match stem.split_once('+') {
            None => (stem, None),
            Some((slot, counter)) => {
                let (left, done) = counter.split_once('-').unwrap_or((counter, "0"));
                let number = |s: &str| -> Option<u32> {
                    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                        return None;
                    }
                    s.parse().ok()
                };
                (slot, Some(Counter { left: number(left)?, done: number(done)? }))
            }
        };
        valid_slot(slot).then(|| EntryName { slot: slot.to_owned(), counter })
    }

    /// The file name.
    pub fn file_name(&self) -> String {
        match self.counter {
            None => format!("{PREFIX}{}.conf", self.slot),
            Some(Counter { left, done: 0 }) => format!("{PREFIX}{}+{left}.conf", self.slot),
            Some(Counter { left, done }) => format!("{PREFIX}{}+{left}-{done}.conf", self.slot),
        }
    }

    /// Whether systemd-boot has given up on it: a counter with no tries left.
    pub fn is_bad(&self) -> bool {
        matches!(self.counter, Some(Counter { left: 0, .. }))
    }
}

/// An entry as the boot loader sees it: its name and the `version` line
/// that orders it (the slot's generation: every activation takes the next
/// number, so the newest activated slot sorts first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The file name, parsed.
    pub name: EntryName,
    /// The `version` line, a generation number (0 when absent).
    pub generation: u64,
}

impl Entry {
    /// systemd-boot's order for our entries, best first, as its
    /// `boot_entry_compare` does it: entries with no tries left go last;
    /// then (all our entries share one `sort-key`) the higher version
    /// first; then the file name, descending; then more tries left, then
    /// fewer tries done. With a `default stagebox-*` pattern in
    /// `loader.conf`, the first entry in this order is the one it boots.
    ///
    /// systemd-boot compares versions and names with `strverscmp`; our
    /// versions are plain numbers and our names differ first in the slot
    /// letter, where byte order is the same thing.
    pub fn boot_order(&self, other: &Entry) -> Ordering {
        let key = |e: &Entry| {
            let counter = e.name.counter.map(|c| (Reverse(c.left), c.done));
            (e.name.is_bad(), Reverse(e.generation), Reverse(e.name.file_name()), counter)
        };
        key(self).cmp(&key(other))
    }
}

/// The value of `key` in an entry file's text (`version 3`), if present.
pub fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|line| {
        let line = line.trim_start();
        let rest = line.strip_prefix(key)?;
        rest.starts_with([' ', '\t']).then(|| rest.trim())
    })
}

/// `text` with its `key` line set to `value` (replaced where it is, or
/// added after the first line).
pub fn with_field(text: &str, key: &str, value: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut done = false;
    for line in text.lines() {
        if !done && field(line, key).is_some() {
            lines.push(format!("{key} {value}"));
            done = true;
        } else {
            lines.push(line.to_owned());
        }
    }
    if !done {
        let at = usize::from(!lines.is_empty());
        lines.insert(at, format!("{key} {value}"));
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// `text` without its `key` lines.
pub fn without_field(text: &str, key: &str) -> String {
    let mut out: String =
        text.lines().filter(|line| field(line, key).is_none()).flat_map(|line| [line, "\n"]).collect();
    if out.is_empty() {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(file: &str, generation: u64) -> Entry {
        Entry { name: EntryName::parse(file).expect(file), generation }
    }

    #[test]
    fn names_round_trip_with_their_counters() {
        for (file, slot, counter) in [
            ("stagebox-a.conf", "a", None),
            ("stagebox-b+3.conf", "b", Some(Counter { left: 3, done: 0 })),
            ("stagebox-b+2-1.conf", "b", Some(Counter { left: 2, done: 1 })),
            ("stagebox-b+0-3.conf", "b", Some(Counter { left: 0, done: 3 })),
        ] {
            let name = EntryName::parse(file).expect(file);
            assert_eq!(name, EntryName { slot: slot.into(), counter });
            assert_eq!(name.file_name(), file);
        }
        assert!(EntryName::parse("stagebox-b+0-3.conf").expect("parses").is_bad());
        assert!(!EntryName::parse("stagebox-b+1-2.conf").expect("parses").is_bad());
    }

    #[test]
    fn other_names_are_not_ours() {
        for file in [
            "debian.conf",
            "stagebox-.conf",
            "stagebox-a.conf~",
            "stagebox-A.conf",
            "stagebox-a+.conf",
            "stagebox-a+x.conf",
            "stagebox-a+1-.conf",
            "stagebox-a+-1.conf",
            "stagebox-a+99999999999.conf",
            "stagebox-../x.conf",
        ] {
            assert_eq!(EntryName::parse(file), None, "{file}");
        }
    }

    #[test]
    fn the_newest_generation_boots_first_until_its_tries_run_out() {
        let old = entry("stagebox-a.conf", 1);
        let trial = entry("stagebox-b+2-1.conf", 2);
        let spent = entry("stagebox-b+0-3.conf", 2);
        assert_eq!(trial.boot_order(&old), Ordering::Less);
        assert_eq!(spent.boot_order(&old), Ordering::Greater);
        // A blessed older slot still loses to a newer good one.
        assert_eq!(entry("stagebox-b.conf", 3).boot_order(&old), Ordering::Less);
        // Equal generations: the name decides, descending, as systemd-boot does.
        assert_eq!(entry("stagebox-b.conf", 1).boot_order(&entry("stagebox-a.conf", 1)), Ordering::Less);
    }

    #[test]
    fn fields_are_read_and_replaced_in_place() {
        let text = "title   Stagebox (slot b)\nversion 4\nlinux   /b/vmlinuz\n";
        assert_eq!(field(text, "version"), Some("4"));
        assert_eq!(field(text, "linux"), Some("/b/vmlinuz"));
        assert_eq!(field(text, "vers"), None);
        let bumped = with_field(text, "version", "5");
        assert_eq!(bumped, "title   Stagebox (slot b)\nversion 5\nlinux   /b/vmlinuz\n");
        assert_eq!(without_field(text, "version"), "title   Stagebox (slot b)\nlinux   /b/vmlinuz\n");
        assert_eq!(without_field(text, "initrd"), text);
        let added = with_field("title x\nlinux /a/vmlinuz\n", "version", "1");
        assert_eq!(added, "title x\nversion 1\nlinux /a/vmlinuz\n");
    }
}
