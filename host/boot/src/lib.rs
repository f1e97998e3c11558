//! Which root slot the Stagebox appliance boots, and whether an updated
//! slot is kept.
//!
//! The appliance has two root slots (A and B) and boots with systemd-boot.
//! RAUC writes updates to the slot not running and asks its bootloader
//! backend, this crate's `stagebox-boot` binary, to make that slot the next
//! one booted. The slot is booted on trial: systemd-boot's boot counting
//! gives it [`esp::TRIES`] boots, the [`health`] check keeps a boot only
//! once `stageboxd` reports READY, and `systemd-bless-boot` then keeps the
//! slot for good. A slot that never gets healthy runs out of tries and the
//! previous slot boots again: the automatic rollback.
//!
//! - [`entry`]: one loader entry's name (slot, boot counter) and
//!   systemd-boot's order;
//! - [`esp`]: the entries on the ESP: primary, good or bad, activate;
//! - [`health`]: waiting for READY.

#![forbid(unsafe_code)]

pub mod entry;
pub mod esp;
pub mod health;
