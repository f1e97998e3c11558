//! Splice commands (SCTE 35 2023 §9.7).

use super::Scte35Error;
use super::bits::{BitReader, BitWriter, check_width};
use super::text::hex_bytes;
use serde::{Deserialize, Serialize};

/// A splice command. Times are 90 kHz ticks (33 bits), before
/// pts_adjustment is added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case", deny_unknown_fields)]
pub enum SpliceCommand {
    /// 0x00: a heartbeat; carries descriptors only.
    SpliceNull,
    /// 0x04: splices scheduled in UTC.
    SpliceSchedule {
        /// The scheduled events.
        events: Vec<SpliceScheduleEvent>,
    },
    /// 0x05: a splice point, out of or into the network.
    SpliceInsert(SpliceInsert),
    /// 0x06: a point in time, described by its descriptors.
    TimeSignal {
        /// The time.
        splice_time: SpliceTime,
    },
    /// 0x07: reserves bandwidth; carries nothing.
    BandwidthReservation,
    /// 0xFF: a private command.
    PrivateCommand {
        /// Registered 32-bit identifier of the owner.
        identifier: u32,
        /// The command's bytes.
        #[serde(with = "hex_bytes")]
        private_bytes: Vec<u8>,
    },
    /// A reserved command type, kept as bytes.
    Reserved {
        /// splice_command_type.
        command_type: u8,
        /// The command's bytes.
        #[serde(with = "hex_bytes")]
        bytes: Vec<u8>,
    },
}

/// splice_time(): a PTS, or none ("immediately" when a command allows it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpliceTime {
    /// 90 kHz ticks, 33 bits; `None` when time_specified_flag is 0.
    pub pts_time: Option<u64>,
}

/// break_duration().
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakDuration {
    /// The splicer returns to the network by itself when the break ends.
    pub auto_return: bool,
    /// 90 kHz ticks, 33 bits.
    pub duration: u64,
}

/// splice_insert().
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpliceInsert {
    /// Identifies the splice event.
    pub splice_event_id: u32,
    /// The event is cancelled (and nothing else is carried).
    pub splice_event_cancel_indicator: bool,
    /// The event, unless cancelled.
    pub event: Option<InsertEvent>,
}

/// The body of a splice_insert that is not a cancellation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InsertEvent {
    /// Out of the network (into a break) when set, back in when not.
    pub out_of_network_indicator: bool,
    /// The whole programme splices at once; when clear, components do
    /// (component mode, deprecated since SCTE 35 2022 but still read).
    pub program_splice_flag: bool,
    /// Splice at the next opportunity; no splice_time is carried.
    pub splice_immediate_flag: bool,
    /// The event id follows the standard's rules for ids.
    pub event_id_compliance_flag: bool,
    /// Present exactly when program_splice_flag is set and
    /// splice_immediate_flag is not.
    pub splice_time: Option<SpliceTime>,
    /// Present exactly when program_splice_flag is clear.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<ComponentSplice>,
    /// Present when duration_flag is set.
    pub break_duration: Option<BreakDuration>,
    /// Identifies the programme.
    pub unique_program_id: u16,
    /// Which avail this is within the break.
    pub avail_num: u8,
    /// How many avails the break has.
    pub avails_expected: u8,
}

/// A component of a component-mode splice_insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentSplice {
    /// The elementary stream's component tag.
    pub component_tag: u8,
    /// Its splice time, absent with splice_immediate_flag.
    pub splice_time: Option<SpliceTime>,
}

/// One event of a splice_schedule().
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpliceScheduleEvent {
    /// Identifies the splice event.
    pub splice_event_id: u32,
    /// The event is cancelled.
    pub splice_event_cancel_indicator: bool,
    /// The event id follows the standard's rules for ids.
    pub event_id_compliance_flag: bool,
    /// The event, unless cancelled.
    pub event: Option<ScheduleEvent>,
}

/// The body of a scheduled event that is not a cancellation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleEvent {
    /// Out of the network when set.
    pub out_of_network_indicator: bool,
    /// Seconds since 1980-01-06 00:00 UTC (GPS epoch) for the whole
    /// programme; absent in component mode.
    pub utc_splice_time: Option<u32>,
    /// Present in component mode (program_splice_flag clear).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<ScheduleComponent>,
    /// Present when duration_flag is set.
    pub break_duration: Option<BreakDuration>,
    /// Identifies the programme.
    pub unique_program_id: u16,
    /// Which avail this is.
    pub avail_num: u8,
    /// How many avails.
    pub avails_expected: u8,
}

/// A component of a component-mode scheduled event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleComponent {
    /// The elementary stream's component tag.
    pub component_tag: u8,
    /// Seconds since the GPS epoch.
    pub utc_splice_time: u32,
}

impl SpliceCommand {
    /// splice_command_type.
    pub fn command_type(&self) -> u8 {
        match self {
            SpliceCommand::SpliceNull => 0x00,
            SpliceCommand::SpliceSchedule { .. } => 0x04,
            SpliceCommand::SpliceInsert(_) => 0x05,
            SpliceCommand::TimeSignal { .. } => 0x06,
            SpliceCommand::BandwidthReservation => 0x07,
            SpliceCommand::PrivateCommand { .. } => 0xFF,
            SpliceCommand::Reserved { command_type, .. } => *command_type,
        }
    }

    /// Reads a command of `command_type` that fills `bytes` exactly.
    pub(crate) fn read(command_type: u8, bytes: &[u8]) -> Result<SpliceCommand, Scte35Error> {
        let mut r = BitReader::new(bytes);
        let command = match command_type {
            0xFF => {
                let identifier = r.u32("private_command identifier")?;
                SpliceCommand::PrivateCommand { identifier, private_bytes: r.rest().to_vec() }
            }
            0x00 | 0x04..=0x07 => SpliceCommand::read_known(command_type, &mut r)?,
            command_type => SpliceCommand::Reserved { command_type, bytes: r.rest().to_vec() },
        };
        if r.remaining_bytes() != 0 {
            return Err(Scte35Error::Length {
                field: "splice_command_length",
                declared: bytes.len(),
                actual: bytes.len() - r.remaining_bytes(),
            });
        }
        Ok(command)
    }

    /// Reads a command whose length is not given (splice_command_length
    /// 0xFFF) from the start of `bytes`, returning it and its length. Only
    /// commands whose syntax shows where they end can be read so.
    pub(crate) fn read_unsized(command_type: u8, bytes: &[u8]) -> Result<(SpliceCommand, usize), Scte35Error> {
        if !matches!(command_type, 0x00 | 0x04..=0x07) {
            return Err(Scte35Error::Inconsistent {
                field: "splice_command_length",
                reason: "0xFFF (unknown) for a command whose end cannot be found",
            });
        }
        let mut r = BitReader::new(bytes);
        let command = SpliceCommand::read_known(command_type, &mut r)?;
        Ok((command, bytes.len() - r.remaining_bytes()))
    }

    /// The self-delimiting commands: 0x00 and 0x04 to 0x07.
    fn read_known(command_type: u8, r: &mut BitReader<'_>) -> Result<SpliceCommand, Scte35Error> {
        Ok(match command_type {
            0x04 => {
                let count = r.u8("splice_count")?;
                let events = (0..count).map(|_| read_schedule_event(r)).collect::<Result<_, _>>()?;
                SpliceCommand::SpliceSchedule { events }
            }
            0x05 => SpliceCommand::SpliceInsert(read_insert(r)?),
            0x06 => SpliceCommand::TimeSignal { splice_time: read_splice_time(r)? },
            0x07 => SpliceCommand::BandwidthReservation,
            _ => SpliceCommand::SpliceNull,
        })
    }

    /// Writes the command's body (without its type).
    pub(crate) fn write(&self, w: &mut BitWriter) -> Result<(), Scte35Error> {
        match self {
            SpliceCommand::SpliceNull | SpliceCommand::BandwidthReservation => {}
            SpliceCommand::SpliceSchedule { events } => {
                let count = u8::try_from(events.len()).map_err(|_| Scte35Error::OutOfRange {
                    field: "splice_count",
                    value: events.len() as u64,
                    bits: 8,
                })?;
                w.bits(8, u64::from(count));
                for event in events {
                    write_schedule_event(w, event)?;
                }
            }
            SpliceCommand::SpliceInsert(insert) => write_insert(w, insert)?,
            SpliceCommand::TimeSignal { splice_time } => write_splice_time(w, splice_time)?,
            SpliceCommand::PrivateCommand { identifier, private_bytes } => {
                w.bits(32, u64::from(*identifier));
                w.bytes(private_bytes);
            }
            SpliceCommand::Reserved { bytes, .. } => w.bytes(bytes),
        }
        Ok(())
    }
}

pub(crate) fn read_splice_time(r: &mut BitReader<'_>) -> Result<SpliceTime, Scte35Error> {
    if r.flag("time_specified_flag")? {
        r.skip(6, "splice_time reserved")?;
        Ok(SpliceTime { pts_time: Some(r.bits(33, "pts_time")?) })
    } else {
        r.skip(7, "splice_time reserved")?;
        Ok(SpliceTime { pts_time: None })
    }
}

fn write_splice_time(w: &mut BitWriter, t: &SpliceTime) -> Result<(), Scte35Error> {
    match t.pts_time {
        Some(pts) => {
            check_width(pts, 33, "pts_time")?;
            w.flag(true);
            w.reserved(6);
            w.bits(33, pts);
        }
        None => {
            w.flag(false);
            w.reserved(7);
        }
    }
    Ok(())
}

fn read_break_duration(r: &mut BitReader<'_>) -> Result<BreakDuration, Scte35Error> {
    let auto_return = r.flag("auto_return")?;
    r.skip(6, "break_duration reserved")?;
    Ok(BreakDuration { auto_return, duration: r.bits(33, "duration")? })
}

fn write_break_duration(w: &mut BitWriter, d: &BreakDuration) -> Result<(), Scte35Error> {
    check_width(d.duration, 33, "break_duration")?;
    w.flag(d.auto_return);
    w.reserved(6);
    w.bits(33, d.duration);
    Ok(())
}

fn read_insert(r: &mut BitReader<'_>) -> Result<SpliceInsert, Scte35Error> {
    let splice_event_id = r.u32("splice_event_id")?;
    let cancel = r.flag("splice_event_cancel_indicator")?;
    r.skip(7, "splice_insert reserved")?;
    if cancel {
        return Ok(SpliceInsert { splice_event_id, splice_event_cancel_indicator: true, event: None });
    }
    let out_of_network_indicator = r.flag("out_of_network_indicator")?;
    let program_splice_flag = r.flag("program_splice_flag")?;
    let duration_flag = r.flag("duration_flag")?;
    let splice_immediate_flag = r.flag("splice_immediate_flag")?;
    let event_id_compliance_flag = r.flag("event_id_compliance_flag")?;
    r.skip(3, "splice_insert reserved")?;
    let mut splice_time = None;
    let mut components = Vec::new();
    if program_splice_flag {
        if !splice_immediate_flag {
            splice_time = Some(read_splice_time(r)?);
        }
    } else {
        for _ in 0..r.u8("component_count")? {
            let component_tag = r.u8("component_tag")?;
            let splice_time = if splice_immediate_flag { None } else { Some(read_splice_time(r)?) };
            components.push(ComponentSplice { component_tag, splice_time });
        }
    }
    let break_duration = if duration_flag { Some(read_break_duration(r)?) } else { None };
    Ok(SpliceInsert {
        splice_event_id,
        splice_event_cancel_indicator: false,
        event: Some(InsertEvent {
            out_of_network_indicator,
            program_splice_flag,
            splice_immediate_flag,
            event_id_compliance_flag,
            splice_time,
            components,
            break_duration,
            unique_program_id: r.u16("unique_program_id")?,
            avail_num: r.u8("avail_num")?,
            avails_expected: r.u8("avails_expected")?,
        }),
    })
}

fn write_insert(w: &mut BitWriter, s: &SpliceInsert) -> Result<(), Scte35Error> {
    w.bits(32, u64::from(s.splice_event_id));
    w.flag(s.splice_event_cancel_indicator);
    w.reserved(7);
    match (&s.event, s.splice_event_cancel_indicator) {
        (None, true) => return Ok(()),
        (Some(_), true) => {
            return Err(Scte35Error::Inconsistent {
                field: "splice_insert",
                reason: "a cancelled event carries no body",
            });
        }
        (None, false) => {
            return Err(Scte35Error::Inconsistent {
                field: "splice_insert",
                reason: "an event that is not cancelled needs its body",
            });
        }
        (Some(_), false) => {}
    }
    let Some(e) = &s.event else { return Ok(()) };
    w.flag(e.out_of_network_indicator);
    w.flag(e.program_splice_flag);
    w.flag(e.break_duration.is_some());
    w.flag(e.splice_immediate_flag);
    w.flag(e.event_id_compliance_flag);
    w.reserved(3);
    if e.program_splice_flag {
        if !e.components.is_empty() {
            return Err(Scte35Error::Inconsistent { field: "components", reason: "program_splice_flag is set" });
        }
        match (&e.splice_time, e.splice_immediate_flag) {
            (Some(t), false) => write_splice_time(w, t)?,
            (None, true) => {}
            (Some(_), true) => {
                return Err(Scte35Error::Inconsistent { field: "splice_time", reason: "splice_immediate_flag is set" });
            }
            (None, false) => {
                return Err(Scte35Error::Inconsistent {
                    field: "splice_time",
                    reason: "needed unless splice_immediate_flag",
                });
            }
        }
    } else {
        if e.splice_time.is_some() {
            return Err(Scte35Error::Inconsistent {
                field: "splice_time",
                reason: "component mode times each component",
            });
        }
        let count = u8::try_from(e.components.len()).map_err(|_| Scte35Error::OutOfRange {
            field: "component_count",
            value: e.components.len() as u64,
            bits: 8,
        })?;
        w.bits(8, u64::from(count));
        for c in &e.components {
            w.bits(8, u64::from(c.component_tag));
            match (&c.splice_time, e.splice_immediate_flag) {
                (Some(t), false) => write_splice_time(w, t)?,
                (None, true) => {}
                _ => {
                    return Err(Scte35Error::Inconsistent {
                        field: "component splice_time",
                        reason: "present exactly when splice_immediate_flag is clear",
                    });
                }
            }
        }
    }
    if let Some(d) = &e.break_duration {
        write_break_duration(w, d)?;
    }
    w.bits(16, u64::from(e.unique_program_id));
    w.bits(8, u64::from(e.avail_num));
    w.bits(8, u64::from(e.avails_expected));
    Ok(())
}

fn read_schedule_event(r: &mut BitReader<'_>) -> Result<SpliceScheduleEvent, Scte35Error> {
    let splice_event_id = r.u32("splice_event_id")?;
    let cancel = r.flag("splice_event_cancel_indicator")?;
    let event_id_compliance_flag = r.flag("event_id_compliance_flag")?;
    r.skip(6, "splice_schedule reserved")?;
    if cancel {
        return Ok(SpliceScheduleEvent {
            splice_event_id,
            splice_event_cancel_indicator: true,
            event_id_compliance_flag,
            event: None,
        });
    }
    let out_of_network_indicator = r.flag("out_of_network_indicator")?;
    let program_splice_flag = r.flag("program_splice_flag")?;
    let duration_flag = r.flag("duration_flag")?;
    r.skip(5, "splice_schedule reserved")?;
    let mut utc_splice_time = None;
    let mut components = Vec::new();
    if program_splice_flag {
        utc_splice_time = Some(r.u32("utc_splice_time")?);
    } else {
        for _ in 0..r.u8("component_count")? {
            let component_tag = r.u8("component_tag")?;
            components.push(ScheduleComponent { component_tag, utc_splice_time: r.u32("utc_splice_time")? });
        }
    }
    let break_duration = if duration_flag { Some(read_break_duration(r)?) } else { None };
    Ok(SpliceScheduleEvent {
        splice_event_id,
        splice_event_cancel_indicator: false,
        event_id_compliance_flag,
        event: Some(ScheduleEvent {
            out_of_network_indicator,
            utc_splice_time,
            components,
            break_duration,
            unique_program_id: r.u16("unique_program_id")?,
            avail_num: r.u8("avail_num")?,
            avails_expected: r.u8("avails_expected")?,
        }),
    })
}

fn write_schedule_event(w: &mut BitWriter, s: &SpliceScheduleEvent) -> Result<(), Scte35Error> {
    w.bits(32, u64::from(s.splice_event_id));
    w.flag(s.splice_event_cancel_indicator);
    w.flag(s.event_id_compliance_flag);
    w.reserved(6);
    let e = match (&s.event, s.splice_event_cancel_indicator) {
        (None, true) => return Ok(()),
        (Some(e), false) => e,
        _ => {
            return Err(Scte35Error::Inconsistent {
                field: "splice_schedule event",
                reason: "a body is carried exactly when the event is not cancelled",
            });
        }
    };
    w.flag(e.out_of_network_indicator);
    let program = e.utc_splice_time.is_some();
    if program && !e.components.is_empty() {
        return Err(Scte35Error::Inconsistent {
            field: "components",
            reason: "a programme-wide utc_splice_time is set",
        });
    }
    w.flag(program);
    w.flag(e.break_duration.is_some());
    w.reserved(5);
    if let Some(t) = e.utc_splice_time {
        w.bits(32, u64::from(t));
    } else {
        let count = u8::try_from(e.components.len()).map_err(|_| Scte35Error::OutOfRange {
            field: "component_count",
            value: e.components.len() as u64,
            bits: 8,
        })?;
        w.bits(8, u64::from(count));
        for c in &e.components {
            w.bits(8, u64::from(c.component_tag));
            w.bits(32, u64::from(c.utc_splice_time));
        }
    }
    if let Some(d) = &e.break_duration {
        write_break_duration(w, d)?;
    }
    w.bits(16, u64::from(e.unique_program_id));
    w.bits(8, u64::from(e.avail_num));
    w.bits(8, u64::from(e.avails_expected));
    Ok(())
}
