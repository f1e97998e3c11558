//! The slots' loader entries on the EFI system partition, read and changed
//! the way RAUC's bootloader backend needs.
//!
//! - the **primary** slot is the one systemd-boot boots next: the first
//!   entry in [`Entry::boot_order`];
//! - a slot is **good** while its entry has tries left (or no counter at
//!   all) and **bad** once it has none, or has no entry;
//! - **activating** a slot (RAUC's `set-primary`, after it wrote the slot)
//!   copies the slot's kernel (and initrd, where it has one) onto the ESP,
//!   gives its entry the next generation and three tries: systemd-boot
//!   boots it next, and `systemd-bless-boot` keeps it once a boot of it
//!   was healthy. Three boots that never got there and it sorts last
//!   again: the slot that was running before comes back.
//!
//! Every change writes a new file and renames it into place, so a power cut
//! leaves the old entry or the new one, never half of one.

use crate::entry::{Counter, Entry, EntryName, field, valid_slot, with_field, without_field};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Boots a freshly activated slot gets before it counts as failed.
pub const TRIES: u32 = 3;

/// What went wrong with the ESP.
#[derive(Debug, thiserror::Error)]
pub enum EspError {
    /// A file or folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The slot name is not one a loader entry can carry.
    #[error("{0:?} is not a slot name (lower-case letters and digits)")]
    BadSlot(String),
    /// No loader entry boots this slot.
    #[error("no loader entry for slot {slot} in {dir}")]
    NoEntry {
        /// The slot.
        slot: String,
        /// The entries folder.
        dir: PathBuf,
    },
    /// More than one entry file boots this slot (the boot loader would see
    /// two): the ESP was changed by hand.
    #[error("slot {slot} has more than one loader entry: {files:?}")]
    Duplicate {
        /// The slot.
        slot: String,
        /// The files.
        files: Vec<String>,
    },
    /// No entry at all: this is not a Stagebox ESP.
    #[error("no stagebox-*.conf loader entries in {0}")]
    Empty(PathBuf),
    /// The slot's root holds no kernel, or several, or a Debian kernel
    /// without its initrd.
    #[error("{dir}: {what}")]
    Kernel {
        /// The slot's `/boot`.
        dir: PathBuf,
        /// What was found instead of one kernel (and its initrd).
        what: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> EspError + '_ {
    move |source| EspError::Io { path: path.to_owned(), source }
}

/// The EFI system partition, mounted at `root`.
#[derive(Debug, Clone)]
pub struct Esp {
    root: PathBuf,
}

impl Esp {
    /// The ESP mounted at `root` (`/boot/efi` on the appliance).
    pub fn new(root: impl Into<PathBuf>) -> Esp {
        Esp { root: root.into() }
    }

    fn entries_dir(&self) -> PathBuf {
        self.root.join("loader/entries")
    }

    /// Every Stagebox entry, in the order systemd-boot boots them.
    pub fn entries(&self) -> Result<Vec<Entry>, EspError> {
        let dir = self.entries_dir();
        let mut entries = Vec::new();
        for item in fs::read_dir(&dir).map_err(io(&dir))? {
            let item = item.map_err(io(&dir))?;
            let Some(name) = item.file_name().to_str().and_then(EntryName::parse) else { continue };
            let path = item.path();
            let text = fs::read_to_string(&path).map_err(io(&path))?;
            let generation = field(&text, "version").and_then(|v| v.parse().ok()).unwrap_or(0);
            entries.push(Entry { name, generation });
        }
        if entries.is_empty() {
            return Err(EspError::Empty(dir));
        }
        entries.sort_by(Entry::boot_order);
        Ok(entries)
    }

    /// The slot systemd-boot boots next.
    pub fn primary(&self) -> Result<String, EspError> {
        let entries = self.entries()?;
        // `entries` is never empty.
        Ok(entries.first().map(|e| e.name.slot.clone()).unwrap_or_default())
    }

    fn entry_of(&self, slot: &str) -> Result<Option<Entry>, EspError> {
        check_slot(slot)?;
        entry_in(&self.entries()?, slot)
    }

    /// Whether the slot is good: it has an entry with tries left.
    pub fn is_good(&self, slot: &str) -> Result<bool, EspError> {
        Ok(self.entry_of(slot)?.is_some_and(|e| !e.name.is_bad()))
    }

    /// Marks the slot good (its entry loses its counter: what
    /// `systemd-bless-boot` does after a healthy boot) or bad (no tries
    /// left: systemd-boot sorts it last).
    pub fn mark(&self, slot: &str, good: bool) -> Result<(), EspError> {
        let entry = self.entry_of(slot)?.ok_or_else(|| self.no_entry(slot))?;
        let counter =
            if good { None } else { Some(Counter { left: 0, done: entry.name.counter.map_or(0, |c| c.done) }) };
        let renamed = EntryName { slot: slot.to_owned(), counter };
        let dir = self.entries_dir();
        let (from, to) = (dir.join(entry.name.file_name()), dir.join(renamed.file_name()));
        if from != to {
            fs::rename(&from, &to).map_err(io(&from))?;
        }
        sync_dir(&dir)
    }

    /// Makes the slot the one booted next, on trial: its kernel (and
    /// initrd, where it has one) from `boot`, the slot's own `/boot`, go to
    /// the ESP, and its entry gets the next generation and [`TRIES`] tries.
    /// Without an initrd the entry loses its `initrd` line, so a kernel is
    /// never booted with another build's initrd.
    pub fn activate(&self, slot: &str, boot: &Path) -> Result<(), EspError> {
        check_slot(slot)?;
        let entries = self.entries()?;
        let entry = entry_in(&entries, slot)?.ok_or_else(|| self.no_entry(slot))?;
        let generation = entries.iter().map(|e| e.generation).max().unwrap_or(0) + 1;
        let kernel = kernel_of(boot)?;
        let slot_dir = self.root.join(slot);
        fs::create_dir_all(&slot_dir).map_err(io(&slot_dir))?;
        copy_replacing(&kernel.image, &slot_dir.join("vmlinuz"))?;
        let on_esp = slot_dir.join("initrd.img");
        match &kernel.initrd {
            Some(initrd) => copy_replacing(initrd, &on_esp)?,
            None => match fs::remove_file(&on_esp) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&on_esp)(e)),
                _ => {}
            },
        }

        let dir = self.entries_dir();
        let old = dir.join(entry.name.file_name());
        let text = fs::read_to_string(&old).map_err(io(&old))?;
        let text = with_field(&text, "version", &generation.to_string());
        let text = match kernel.initrd {
            Some(_) => with_field(&text, "initrd", &format!("/{slot}/initrd.img")),
            None => without_field(&text, "initrd"),
        };
        let trial = EntryName { slot: slot.to_owned(), counter: Some(Counter { left: TRIES, done: 0 }) };
        write_replacing(&dir.join(trial.file_name()), text.as_bytes())?;
        if trial.file_name() != entry.name.file_name() {
            fs::remove_file(&old).map_err(io(&old))?;
        }
        sync_dir(&dir)
    }

    fn no_entry(&self, slot: &str) -> EspError {
        EspError::NoEntry { slot: slot.to_owned(), dir: self.entries_dir() }
    }
}

fn check_slot(slot: &str) -> Result<(), EspError> {
    if valid_slot(slot) { Ok(()) } else { Err(EspError::BadSlot(slot.to_owned())) }
}

/// The slot's one entry among `entries`, if it has one.
fn entry_in(entries: &[Entry], slot: &str) -> Result<Option<Entry>, EspError> {
    let mine: Vec<&Entry> = entries.iter().filter(|e| e.name.slot == slot).collect();
    match mine.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some((*one).clone())),
        _ => {
            Err(EspError::Duplicate { slot: slot.to_owned(), files: mine.iter().map(|e| e.name.file_name()).collect() })
        }
    }
}

/// A slot's kernel, and its initrd where it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotKernel {
    /// The kernel image.
    pub image: PathBuf,
    /// The initial RAM disk.
    pub initrd: Option<PathBuf>,
}

/// The kernel images a slot's `/boot` may hold, by file-name prefix, and
/// whether that kind needs an initrd: Debian's `vmlinuz-VERSION` boots
/// with its `initrd.img-VERSION` (its modules are there), Yocto's
/// `bzImage-VERSION` (the layer's image) with the drivers built in, and
/// with `initrd.img-VERSION` only if the build made one.
const KERNELS: [(&str, bool); 2] = [("vmlinuz-", true), ("bzImage-", false)];

/// The one kernel in a slot's `/boot` and its initrd (see [`KERNELS`]).
/// Links such as Yocto's `bzImage` → `bzImage-VERSION` are not kernels of
/// their own.
pub fn kernel_of(boot: &Path) -> Result<SlotKernel, EspError> {
    let mut kernels = Vec::new();
    for item in fs::read_dir(boot).map_err(io(boot))? {
        let name = item.map_err(io(boot))?.file_name();
        let Some(name) = name.to_str() else { continue };
        for (prefix, needs_initrd) in KERNELS {
            if let Some(version) = name.strip_prefix(prefix) {
                kernels.push((name.to_owned(), version.to_owned(), needs_initrd));
            }
        }
    }
    let fail = |what: String| EspError::Kernel { dir: boot.to_owned(), what };
    let (name, version, needs_initrd) = match kernels.as_slice() {
        [one] => one,
        [] => return Err(fail("no kernel (vmlinuz-* or bzImage-*)".into())),
        many => {
            let names: Vec<&str> = many.iter().map(|(name, ..)| name.as_str()).collect();
            return Err(fail(format!("several kernels: {names:?}")));
        }
    };
    let initrd = boot.join(format!("initrd.img-{version}"));
    let initrd = if initrd.is_file() {
        Some(initrd)
    } else if *needs_initrd {
        return Err(fail(format!("no initrd.img-{version} for {name}")));
    } else {
        None
    };
    Ok(SlotKernel { image: boot.join(name), initrd })
}

/// Writes `path` through a temporary file beside it, synced, then renamed.
fn write_replacing(path: &Path, bytes: &[u8]) -> Result<(), EspError> {
    let temporary = temporary_beside(path);
    let mut file = fs::File::create(&temporary).map_err(io(&temporary))?;
    file.write_all(bytes).map_err(io(&temporary))?;
    file.sync_all().map_err(io(&temporary))?;
    fs::rename(&temporary, path).map_err(io(path))
}

fn copy_replacing(from: &Path, to: &Path) -> Result<(), EspError> {
    let temporary = temporary_beside(to);
    fs::copy(from, &temporary).map_err(io(from))?;
    fs::File::open(&temporary).and_then(|f| f.sync_all()).map_err(io(&temporary))?;
    fs::rename(&temporary, to).map_err(io(to))
}

fn temporary_beside(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".new");
    path.with_file_name(name)
}

fn sync_dir(dir: &Path) -> Result<(), EspError> {
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ESP as the image builder makes it: slot a (generation 1) and
    /// slot b (generation 0), both good, a kernel each.
    fn fresh() -> (tempfile::TempDir, Esp) {
        let dir = tempfile::tempdir().expect("temporary folder");
        let entries = dir.path().join("loader/entries");
        fs::create_dir_all(&entries).expect("mkdir");
        for (slot, generation) in [("a", 1), ("b", 0)] {
            let text = format!(
                "title   Stagebox (slot {slot})\nversion {generation}\nsort-key stagebox\nlinux   /{slot}/vmlinuz\n\
                 initrd  /{slot}/initrd.img\noptions root=PARTUUID=x rauc.slot={slot}\n"
            );
            fs::write(entries.join(format!("stagebox-{slot}.conf")), text).expect("entry");
            fs::create_dir_all(dir.path().join(slot)).expect("mkdir");
            fs::write(dir.path().join(slot).join("vmlinuz"), "old kernel").expect("kernel");
        }
        let esp = Esp::new(dir.path());
        (dir, esp)
    }

    fn slot_boot(kernel: &str) -> tempfile::TempDir {
        let boot = tempfile::tempdir().expect("temporary folder");
        fs::write(boot.path().join("vmlinuz-6.1.0-99-amd64"), kernel).expect("kernel");
        fs::write(boot.path().join("initrd.img-6.1.0-99-amd64"), "initrd").expect("initrd");
        fs::write(boot.path().join("config-6.1.0-99-amd64"), "").expect("config");
        boot
    }

    fn files(esp: &Esp) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(esp.entries_dir())
            .expect("entries")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// systemd-boot's boot of an entry: it renames the file one try down.
    fn boot_attempt(esp: &Esp) -> String {
        let first = esp.entries().expect("entries").remove(0);
        if let Some(c) = first.name.counter
            && c.left > 0
        {
            let next = EntryName {
                slot: first.name.slot.clone(),
                counter: Some(Counter { left: c.left - 1, done: c.done + 1 }),
            };
            let dir = esp.entries_dir();
            fs::rename(dir.join(first.name.file_name()), dir.join(next.file_name())).expect("rename");
        }
        first.name.slot
    }

    #[test]
    fn an_activated_slot_boots_next_and_is_kept_once_blessed() {
        let (_dir, esp) = fresh();
        assert_eq!(esp.primary().expect("primary"), "a");
        assert!(esp.is_good("b").expect("state"));
        // RAUC: mark the target bad, write it, make it primary.
        esp.mark("b", false).expect("mark bad");
        assert!(!esp.is_good("b").expect("state"));
        assert_eq!(esp.primary().expect("primary"), "a");
        let boot = slot_boot("new kernel");
        esp.activate("b", boot.path()).expect("activate");
        assert_eq!(files(&esp), ["stagebox-a.conf", "stagebox-b+3.conf"]);
        assert_eq!(fs::read_to_string(esp.root.join("b/vmlinuz")).expect("kernel"), "new kernel");
        assert_eq!(fs::read_to_string(esp.root.join("b/initrd.img")).expect("initrd"), "initrd");
        let text = fs::read_to_string(esp.entries_dir().join("stagebox-b+3.conf")).expect("entry");
        assert_eq!(field(&text, "version"), Some("2"));
        assert_eq!(field(&text, "options"), Some("root=PARTUUID=x rauc.slot=b"));
        assert_eq!(esp.primary().expect("primary"), "b");
        // The boot loader tries it; the health check passes; it is blessed.
        assert_eq!(boot_attempt(&esp), "b");
        assert_eq!(files(&esp), ["stagebox-a.conf", "stagebox-b+2-1.conf"]);
        esp.mark("b", true).expect("bless");
        assert_eq!(files(&esp), ["stagebox-a.conf", "stagebox-b.conf"]);
        assert_eq!(boot_attempt(&esp), "b");
        assert_eq!(boot_attempt(&esp), "b");
        // The next update goes to a and wins over b's generation.
        esp.activate("a", slot_boot("newer").path()).expect("activate a");
        assert_eq!(esp.primary().expect("primary"), "a");
    }

    #[test]
    fn a_slot_that_never_gets_healthy_rolls_back_after_its_tries() {
        let (_dir, esp) = fresh();
        esp.activate("b", slot_boot("broken").path()).expect("activate");
        for _ in 0..TRIES {
            assert_eq!(boot_attempt(&esp), "b");
        }
        assert_eq!(files(&esp), ["stagebox-a.conf", "stagebox-b+0-3.conf"]);
        assert!(!esp.is_good("b").expect("state"));
        assert_eq!(esp.primary().expect("primary"), "a");
        assert_eq!(boot_attempt(&esp), "a");
        assert_eq!(files(&esp), ["stagebox-a.conf", "stagebox-b+0-3.conf"]);
    }

    /// A slot of the Yocto layer's image: `bzImage-VERSION`, a `bzImage`
    /// link to it, no initrd.
    fn yocto_boot(kernel: &str) -> tempfile::TempDir {
        let boot = tempfile::tempdir().expect("temporary folder");
        fs::write(boot.path().join("bzImage-6.6.21-yocto-standard"), kernel).expect("kernel");
        std::os::unix::fs::symlink("bzImage-6.6.21-yocto-standard", boot.path().join("bzImage")).expect("link");
        boot
    }

    #[test]
    fn a_yocto_slot_boots_its_bzimage_without_an_initrd() {
        let (_dir, esp) = fresh();
        fs::write(esp.root.join("b/initrd.img"), "the Debian slot's initrd").expect("initrd");
        let boot = yocto_boot("yocto kernel");
        assert_eq!(
            kernel_of(boot.path()).expect("kernel"),
            SlotKernel { image: boot.path().join("bzImage-6.6.21-yocto-standard"), initrd: None }
        );
        esp.activate("b", boot.path()).expect("activate");
        assert_eq!(fs::read_to_string(esp.root.join("b/vmlinuz")).expect("kernel"), "yocto kernel");
        // No other build's initrd left to boot it with, on the ESP or in the entry.
        assert!(!esp.root.join("b/initrd.img").exists());
        let text = fs::read_to_string(esp.entries_dir().join("stagebox-b+3.conf")).expect("entry");
        assert_eq!(field(&text, "initrd"), None, "{text}");
        assert_eq!(field(&text, "linux"), Some("/b/vmlinuz"));
        assert_eq!(esp.primary().expect("primary"), "b");
        // A Yocto build with an initrd gets it back in the entry.
        fs::write(boot.path().join("initrd.img-6.6.21-yocto-standard"), "yocto initrd").expect("initrd");
        esp.activate("a", boot.path()).expect("activate a");
        let text = fs::read_to_string(esp.entries_dir().join("stagebox-a+3.conf")).expect("entry");
        assert_eq!(field(&text, "initrd"), Some("/a/initrd.img"));
        assert_eq!(fs::read_to_string(esp.root.join("a/initrd.img")).expect("initrd"), "yocto initrd");
    }

    #[test]
    fn bad_requests_are_refused_and_change_nothing() {
        let (_dir, esp) = fresh();
        let before = files(&esp);
        assert!(matches!(esp.mark("../a", true), Err(EspError::BadSlot(_))));
        assert!(matches!(esp.mark("c", true), Err(EspError::NoEntry { .. })));
        assert!(!esp.is_good("c").expect("state"));
        let empty = tempfile::tempdir().expect("temporary folder");
        assert!(matches!(esp.activate("b", empty.path()), Err(EspError::Kernel { .. })));
        let two = slot_boot("k");
        fs::write(two.path().join("vmlinuz-6.2"), "k2").expect("kernel");
        let err = esp.activate("b", two.path()).expect_err("two kernels");
        assert!(err.to_string().contains("several kernels"), "{err}");
        // A Debian kernel without its initrd, and a Debian and a Yocto kernel.
        let lone = tempfile::tempdir().expect("temporary folder");
        fs::write(lone.path().join("vmlinuz-6.1.0-99-amd64"), "k").expect("kernel");
        let err = esp.activate("b", lone.path()).expect_err("no initrd");
        assert!(err.to_string().contains("no initrd.img-6.1.0-99-amd64"), "{err}");
        fs::write(lone.path().join("bzImage-6.6"), "k").expect("kernel");
        let err = esp.activate("b", lone.path()).expect_err("two kinds");
        assert!(err.to_string().contains("several kernels"), "{err}");
        assert_eq!(files(&esp), before);
        assert_eq!(fs::read_to_string(esp.root.join("b/vmlinuz")).expect("kernel"), "old kernel");
        // A hand-made second entry for one slot is named, not guessed at.
        fs::write(esp.entries_dir().join("stagebox-b+1.conf"), "version 9\n").expect("entry");
        let err = esp.is_good("b").expect_err("duplicate");
        assert!(matches!(err, EspError::Duplicate { .. }), "{err}");
        let none = tempfile::tempdir().expect("temporary folder");
        fs::create_dir_all(none.path().join("loader/entries")).expect("mkdir");
        assert!(matches!(Esp::new(none.path()).primary(), Err(EspError::Empty(_))));
    }
}
