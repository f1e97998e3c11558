//! `stagebox-boot`: RAUC's custom bootloader backend over systemd-boot's
//! loader entries, and the boot health check.
//!
//! ```text
//! stagebox-boot get-primary                 the slot booted next
//! stagebox-boot get-state SLOT              good | bad
//! stagebox-boot set-state SLOT good|bad
//! stagebox-boot set-primary SLOT            copy its kernel, boot it next, on trial
//! stagebox-boot list                        the loader entries, in boot order
//! stagebox-boot health [--unit U] [--within SECONDS]
//! ```
//!
//! The ESP is `/boot/efi` (`STAGEBOX_ESP` overrides it); a slot's root is
//! the partition labelled `root-SLOT`.

#![forbid(unsafe_code)]

use stagebox_boot::esp::Esp;
use stagebox_boot::health::{UnitState, wait_ready};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

/// systemd-boot's vendor GUID for its EFI variables; `LoaderBootCountPath`
/// is set only when the entry booted has a boot counter: a trial boot.
const BOOT_COUNT_VAR: &str = "/sys/firmware/efi/efivars/LoaderBootCountPath-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("stagebox-boot: {message}");
            ExitCode::FAILURE
        }
    }
}

fn esp() -> Esp {
    Esp::new(std::env::var_os("STAGEBOX_ESP").map_or_else(|| PathBuf::from("/boot/efi"), PathBuf::from))
}

fn run(args: &[String]) -> Result<(), String> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["get-primary"] => {
            println!("{}", esp().primary().map_err(|e| e.to_string())?);
            Ok(())
        }
        ["get-state", slot] => {
            let good = esp().is_good(slot).map_err(|e| e.to_string())?;
            println!("{}", if good { "good" } else { "bad" });
            Ok(())
        }
        ["set-state", slot, state @ ("good" | "bad")] => {
            esp().mark(slot, *state == "good").map_err(|e| e.to_string())?;
            eprintln!("stagebox-boot: slot {slot} marked {state}");
            Ok(())
        }
        ["set-primary", slot] => set_primary(slot),
        ["list"] => {
            let entries = esp().entries().map_err(|e| e.to_string())?;
            let listed: Vec<String> =
                entries.iter().map(|e| format!("{} (generation {})", e.name.file_name(), e.generation)).collect();
            println!("stagebox-boot: loader entries, in boot order: {}", listed.join(", "));
            Ok(())
        }
        ["health", rest @ ..] => health(rest),
        _ => Err(format!(
            "usage: stagebox-boot get-primary | get-state SLOT | set-state SLOT good|bad | \
             set-primary SLOT | list | health [--unit UNIT] [--within SECONDS] (got {args:?})"
        )),
    }
}

/// Mounts the freshly written slot read-only, takes its kernel and initrd
/// onto the ESP and makes it the next boot, on trial.
fn set_primary(slot: &str) -> Result<(), String> {
    if !stagebox_boot::entry::valid_slot(slot) {
        return Err(format!("{slot:?} is not a slot name"));
    }
    let device = format!("/dev/disk/by-partlabel/root-{slot}");
    let mount_point = PathBuf::from(format!("/run/stagebox-boot/{slot}"));
    std::fs::create_dir_all(&mount_point).map_err(|e| format!("{}: {e}", mount_point.display()))?;
    command(Command::new("mount").args(["-o", "ro", "-t", "ext4", &device]).arg(&mount_point))?;
    let result = esp().activate(slot, &mount_point.join("boot")).map_err(|e| e.to_string());
    let unmounted = command(Command::new("umount").arg(&mount_point));
    result?;
    unmounted?;
    eprintln!("stagebox-boot: slot {slot} boots next, on trial ({} tries)", stagebox_boot::esp::TRIES);
    Ok(())
}

fn command(command: &mut Command) -> Result<(), String> {
    let output = command.output().map_err(|e| format!("{command:?}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!("{command:?}: {}: {}", output.status, String::from_utf8_lossy(&output.stderr).trim()))
    }
}

fn health(args: &[&str]) -> Result<(), String> {
    let (mut unit, mut within) = ("stageboxd.service", 150u64);
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let value = rest.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match *flag {
            "--unit" => unit = value,
            "--within" => within = value.parse().map_err(|_| format!("--within {value}: not a number of seconds"))?,
            other => return Err(format!("unknown option {other}")),
        }
    }
    let trial = Path::new(BOOT_COUNT_VAR).exists();
    let probe = || {
        Command::new("systemctl")
            .args(["show", "--property=ActiveState,NRestarts", unit])
            .output()
            .map(|o| UnitState::from_properties(&String::from_utf8_lossy(&o.stdout)))
            .unwrap_or(UnitState::Waiting)
    };
    let result = wait_ready(unit, Duration::from_secs(within), Duration::from_secs(1), probe, std::thread::sleep);
    match result {
        Ok(after) => {
            eprintln!(
                "stagebox-boot: healthy: {unit} READY after {} s{}",
                after.as_secs(),
                if trial { "; this trial boot will be kept" } else { "" }
            );
            Ok(())
        }
        Err(why) if trial => {
            eprintln!("stagebox-boot: unhealthy trial boot: {why}; rebooting so the boot loader counts the try");
            command(Command::new("systemctl").args(["--no-block", "reboot"]))?;
            Err(why.to_string())
        }
        Err(why) => Err(format!("unhealthy: {why} (not a trial boot: nothing to roll back to)")),
    }
}
