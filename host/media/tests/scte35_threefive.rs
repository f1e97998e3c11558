//! Field-by-field agreement with threefive, an independent SCTE-35 decoder
//! (PyPI), on the standard's worked examples and on generated cues that cover
//! every command and descriptor threefive reads.
//!
//! The cues are generated here, written by our encoder, read back by our
//! parser and by threefive, and `threefive_compare.py` compares the two
//! readings field by field. threefive 3.1.5 does not read splice_schedule,
//! component-mode splices, or the audio descriptor's fields; those are checked
//! against hand-built sections in `scte35_vectors.rs`, and the audio
//! descriptor's bytes are still compared here.
//!
//! Python and threefive come from `cargo xtask setup` (a virtual environment
//! in `target/py`); this test fails, rather than skips, without them.

#![allow(clippy::unwrap_used)] // a test fails by panicking

mod support;

use stagebox_media::scte35::*;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::Command;
use support::{Rng, python, scte35_spec_examples};

/// How many cues to generate.
const GENERATED: usize = 1500;

fn splice_time(rng: &mut Rng) -> SpliceTime {
    SpliceTime { pts_time: rng.flag().then(|| rng.bits(33)) }
}

fn command(rng: &mut Rng) -> SpliceCommand {
    match rng.below(5) {
        0 => SpliceCommand::SpliceNull,
        1 => SpliceCommand::BandwidthReservation,
        2 => SpliceCommand::TimeSignal { splice_time: splice_time(rng) },
        3 => {
            let len = rng.below(12) as usize;
            SpliceCommand::PrivateCommand { identifier: rng.next() as u32, private_bytes: rng.ascii(len) }
        }
        _ => {
            let cancel = rng.below(6) == 0;
            let immediate = rng.flag();
            SpliceCommand::SpliceInsert(SpliceInsert {
                splice_event_id: rng.next() as u32,
                splice_event_cancel_indicator: cancel,
                event: (!cancel).then(|| InsertEvent {
                    out_of_network_indicator: rng.flag(),
                    program_splice_flag: true,
                    splice_immediate_flag: immediate,
                    event_id_compliance_flag: rng.flag(),
                    splice_time: (!immediate).then(|| splice_time(rng)),
                    components: vec![],
                    break_duration: rng
                        .flag()
                        .then(|| BreakDuration { auto_return: rng.flag(), duration: rng.bits(33) }),
                    unique_program_id: rng.next() as u16,
                    avail_num: rng.next() as u8,
                    avails_expected: rng.next() as u8,
                }),
            })
        }
    }
}

fn upid(rng: &mut Rng, type_code: u8) -> Upid {
    let n = 1 + rng.below(30) as usize;
    match type_code {
        0x00 => Upid::NotUsed,
        0x01 => Upid::UserDefined { value: Text(rng.ascii(n)) },
        0x02 => Upid::Isci { value: Text(rng.ascii(8)) },
        0x03 => Upid::AdId { value: Text(rng.ascii(12)) },
        0x04 => Upid::Umid { value: rng.bytes(32) },
        0x05 => Upid::IsanDeprecated { value: rng.bytes(8) },
        0x06 => Upid::Isan { value: rng.bytes(12) },
        0x07 => Upid::Tid { value: Text(rng.ascii(12)) },
        0x08 => Upid::AiringId { value: rng.next() },
        0x09 => Upid::Adi { value: Text(rng.ascii(n)) },
        0x0A => Upid::Eidr { value: rng.bytes(12) },
        0x0B => Upid::Atsc(AtscContentId {
            tsid: rng.next() as u16,
            reserved: rng.bits(2) as u8,
            end_of_day: rng.below(24) as u8,
            unique_for: rng.bits(9) as u16,
            content_id: Text(rng.ascii(n)),
        }),
        0x0C => Upid::Mpu {
            format_identifier: u32::from_be_bytes([b'A' + rng.below(26) as u8, b'B', b'C', b'D']),
            private_data: rng.bytes(n),
        },
        0x0D => {
            let count = 1 + rng.below(3);
            Upid::Mid {
                upids: (0..count)
                    .map(|_| {
                        let t = rng.pick(&[0x03u8, 0x08, 0x09, 0x0C, 0x0F, 0x10]);
                        upid(rng, t)
                    })
                    .collect(),
            }
        }
        0x0E => Upid::AdsInfo { value: Text(rng.ascii(n)) },
        0x0F => Upid::Uri { value: Text(rng.ascii(n)) },
        0x10 => Upid::Uuid { value: rng.bytes(16) },
        _ => Upid::Scr { value: Text(rng.ascii(n)) },
    }
}

/// segmentation_type_ids of SCTE 35 2023 table 23.
const TYPE_IDS: &[u8] = &[
    0x00, 0x01, 0x02, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x20, 0x21, 0x22, 0x23,
    0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D, 0x3E, 0x3F, 0x40, 0x41, 0x42,
    0x43, 0x44, 0x45, 0x46, 0x47, 0x50, 0x51,
];
/// Types that carry sub_segment_num and sub_segments_expected.
const SUB_SEGMENT_TYPES: &[u8] = &[0x30, 0x32, 0x34, 0x36, 0x38, 0x3A, 0x44, 0x46];

fn descriptor(rng: &mut Rng, upid_type: &mut u8) -> SpliceDescriptor {
    match rng.below(5) {
        0 => SpliceDescriptor::Avail { provider_avail_id: rng.next() as u32 },
        1 => {
            let n = rng.below(8) as usize;
            SpliceDescriptor::Dtmf {
                preroll: rng.next() as u8,
                dtmf_chars: Text((0..n).map(|_| rng.pick(b"0123456789*#")).collect()),
            }
        }
        2 => SpliceDescriptor::Time {
            tai_seconds: rng.bits(48),
            tai_ns: rng.below(1_000_000_000) as u32,
            utc_offset: rng.next() as u16,
        },
        3 => SpliceDescriptor::Audio {
            // threefive reads this descriptor as text: keep every byte ASCII.
            components: (0..rng.below(4))
                .map(|_| AudioComponent {
                    component_tag: b'0' + rng.below(10) as u8,
                    iso_code: Text(rng.pick(&[b"eng", b"fra", b"deu"]).to_vec()),
                    bit_stream_mode: rng.below(4) as u8,
                    num_channels: 1 + rng.below(14) as u8,
                    full_srvc_audio: rng.flag(),
                })
                .collect(),
        },
        _ => {
            // UPID types in turn, so every one appears many times.
            let t = *upid_type;
            *upid_type = (*upid_type + 1) % 0x12;
            let cancel = rng.below(8) == 0;
            let type_id = rng.pick(TYPE_IDS);
            SpliceDescriptor::Segmentation(SegmentationDescriptor {
                segmentation_event_id: rng.next() as u32,
                segmentation_event_cancel_indicator: cancel,
                segmentation_event_id_compliance_indicator: rng.flag(),
                event: (!cancel).then(|| SegmentationEvent {
                    program_segmentation_flag: true,
                    delivery_restrictions: rng.flag().then(|| DeliveryRestrictions {
                        web_delivery_allowed_flag: rng.flag(),
                        no_regional_blackout_flag: rng.flag(),
                        archive_allowed_flag: rng.flag(),
                        device_restrictions: rng.bits(2) as u8,
                    }),
                    components: vec![],
                    segmentation_duration: rng.flag().then(|| rng.bits(40)),
                    segmentation_upid: upid(rng, t),
                    segmentation_type_id: type_id,
                    segment_num: rng.next() as u8,
                    segments_expected: rng.next() as u8,
                    sub_segment: SUB_SEGMENT_TYPES.contains(&type_id).then(|| SubSegment {
                        sub_segment_num: rng.next() as u8,
                        sub_segments_expected: rng.next() as u8,
                    }),
                }),
            })
        }
    }
}

fn generated() -> Vec<SpliceInfoSection> {
    let mut rng = Rng(0x5CE7_E035_0000_0001);
    let mut upid_type = 0;
    (0..GENERATED)
        .map(|_| SpliceInfoSection {
            private_indicator: false,
            sap_type: rng.bits(2) as u8,
            protocol_version: 0,
            pts_adjustment: rng.bits(33),
            cw_index: rng.next() as u8,
            tier: rng.bits(12) as u16,
            legacy_command_length: false,
            payload: Payload::Clear {
                command: command(&mut rng),
                descriptors: (0..rng.below(4)).map(|_| descriptor(&mut rng, &mut upid_type)).collect(),
            },
        })
        .collect()
}

#[test]
fn threefive_agrees_field_by_field() {
    let spec = scte35_spec_examples();
    let mut cues: Vec<(String, SpliceInfoSection)> =
        spec.iter().map(|(_, b64)| (b64.to_string(), SpliceInfoSection::from_text(b64).unwrap())).collect();
    for cue in generated() {
        let b64 = cue.to_base64().unwrap();
        // What threefive is given is what our parser reads back.
        let read = SpliceInfoSection::from_text(&b64).unwrap();
        assert_eq!(read, cue);
        cues.push((b64, read));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cues.jsonl");
    let mut file = std::fs::File::create(&path).unwrap();
    for (b64, cue) in &cues {
        let line = serde_json::json!({ "base64": b64, "ours": cue });
        writeln!(file, "{line}").unwrap();
    }
    drop(file);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/threefive_compare.py");
    let out = Command::new(python()).arg(&script).arg(&path).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "threefive disagrees:\n{stdout}\n{stderr}");
    // The script prints how many cues and fields it compared.
    let compared: usize = stdout
        .lines()
        .find_map(|l| l.strip_prefix("cues compared: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no count in:\n{stdout}"));
    assert_eq!(compared, cues.len());
    assert!(compared >= 1000 + spec.len());
    eprintln!("{stdout}");
}
