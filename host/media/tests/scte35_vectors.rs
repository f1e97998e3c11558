//! The worked examples printed in ANSI/SCTE 35 2023 §14, read field by field
//! and written back byte for byte, plus hand-built sections for what the
//! examples do not show, and bad input.

#![allow(clippy::unwrap_used)] // a test fails by panicking

mod support;

use stagebox_media::scte35::*;
use support::scte35_spec_examples;

#[test]
fn spec_examples_round_trip_byte_for_byte() {
    for (name, b64) in scte35_spec_examples() {
        let cue = SpliceInfoSection::from_text(b64).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(&cue.to_base64().unwrap(), b64, "{name}");
        // And through JSON, as the CLI prints and takes it.
        let json = serde_json::to_string(&cue).unwrap();
        let back: SpliceInfoSection = serde_json::from_str(&json).unwrap();
        assert_eq!(back, cue, "{name}");
    }
}

fn segmentation(cue: &SpliceInfoSection, i: usize) -> &SegmentationDescriptor {
    match &cue.descriptors()[i] {
        SpliceDescriptor::Segmentation(s) => s,
        other => panic!("descriptor {i} is {other:?}"),
    }
}

#[test]
fn spec_example_14_1_fields() {
    let cue = SpliceInfoSection::from_text(scte35_spec_examples()[0].1).unwrap();
    assert_eq!(
        (cue.sap_type, cue.protocol_version, cue.pts_adjustment, cue.cw_index, cue.tier),
        (3, 0, 0, 0xFF, 0xFFF)
    );
    assert_eq!(
        cue.command(),
        Some(&SpliceCommand::TimeSignal { splice_time: SpliceTime { pts_time: Some(0x0_72BD_0050) } })
    );
    let seg = segmentation(&cue, 0);
    assert_eq!(seg.segmentation_event_id, 0x4800_008E);
    assert!(!seg.segmentation_event_cancel_indicator);
    let e = seg.event.as_ref().unwrap();
    assert!(e.program_segmentation_flag);
    assert_eq!(
        e.delivery_restrictions,
        Some(DeliveryRestrictions {
            web_delivery_allowed_flag: false,
            no_regional_blackout_flag: true,
            archive_allowed_flag: true,
            device_restrictions: 3
        })
    );
    assert_eq!(e.segmentation_duration, Some(307 * 90_000)); // 307.0 s
    assert_eq!(e.segmentation_upid, Upid::AiringId { value: 0x2CA0_A18A });
    assert_eq!((e.segmentation_type_id, e.segment_num, e.segments_expected), (0x34, 2, 0));
    assert_eq!(e.sub_segment, None);
}

#[test]
fn spec_example_14_2_fields() {
    let cue = SpliceInfoSection::from_text(scte35_spec_examples()[1].1).unwrap();
    let Some(SpliceCommand::SpliceInsert(insert)) = cue.command() else { panic!("{cue:?}") };
    assert_eq!(insert.splice_event_id, 0x4800_008F);
    let e = insert.event.as_ref().unwrap();
    assert!(e.out_of_network_indicator && e.program_splice_flag && !e.splice_immediate_flag);
    assert_eq!(e.splice_time, Some(SpliceTime { pts_time: Some(0x0_7369_C02E) }));
    assert_eq!(e.break_duration, Some(BreakDuration { auto_return: true, duration: 0x0052_CCF5 }));
    assert_eq!((e.unique_program_id, e.avail_num, e.avails_expected), (0, 0, 0));
    assert_eq!(cue.descriptors(), &[SpliceDescriptor::Avail { provider_avail_id: 0x0000_0135 }]);
}

#[test]
fn spec_example_14_4_has_two_descriptors() {
    let cue = SpliceInfoSection::from_text(scte35_spec_examples()[3].1).unwrap();
    let types: Vec<u8> = (0..2).map(|i| segmentation(&cue, i).event.as_ref().unwrap().segmentation_type_id).collect();
    assert_eq!(types, [0x11, 0x10]); // program end, program start
}

/// Builds, writes, reads back and compares, then checks the bytes are stable.
fn round_trip(cue: &SpliceInfoSection) -> Vec<u8> {
    let bytes = cue.to_bytes().unwrap();
    assert_eq!(&SpliceInfoSection::parse(&bytes).unwrap(), cue);
    assert_eq!(crc32_mpeg2(&bytes), 0, "CRC over the whole section must leave 0");
    bytes
}

fn section(command: SpliceCommand, descriptors: Vec<SpliceDescriptor>) -> SpliceInfoSection {
    SpliceInfoSection {
        private_indicator: false,
        sap_type: 3,
        protocol_version: 0,
        pts_adjustment: 0x1_0000_0000,
        cw_index: 0,
        tier: 0xFFF,
        legacy_command_length: false,
        payload: Payload::Clear { command, descriptors },
    }
}

#[test]
fn every_command_round_trips() {
    let br = Some(BreakDuration { auto_return: false, duration: 2_700_000 });
    let commands = vec![
        SpliceCommand::SpliceNull,
        SpliceCommand::BandwidthReservation,
        SpliceCommand::SpliceSchedule {
            events: vec![
                SpliceScheduleEvent {
                    splice_event_id: 1,
                    splice_event_cancel_indicator: false,
                    event_id_compliance_flag: true,
                    event: Some(ScheduleEvent {
                        out_of_network_indicator: true,
                        utc_splice_time: Some(1_400_000_000),
                        components: vec![],
                        break_duration: br,
                        unique_program_id: 7,
                        avail_num: 1,
                        avails_expected: 2,
                    }),
                },
                SpliceScheduleEvent {
                    splice_event_id: 2,
                    splice_event_cancel_indicator: false,
                    event_id_compliance_flag: false,
                    event: Some(ScheduleEvent {
                        out_of_network_indicator: false,
                        utc_splice_time: None,
                        components: vec![
                            ScheduleComponent { component_tag: 1, utc_splice_time: 5 },
                            ScheduleComponent { component_tag: 2, utc_splice_time: 6 },
                        ],
                        break_duration: None,
                        unique_program_id: 8,
                        avail_num: 0,
                        avails_expected: 0,
                    }),
                },
                SpliceScheduleEvent {
                    splice_event_id: 3,
                    splice_event_cancel_indicator: true,
                    event_id_compliance_flag: true,
                    event: None,
                },
            ],
        },
        SpliceCommand::SpliceInsert(SpliceInsert {
            splice_event_id: 9,
            splice_event_cancel_indicator: false,
            event: Some(InsertEvent {
                out_of_network_indicator: true,
                program_splice_flag: false,
                splice_immediate_flag: false,
                event_id_compliance_flag: true,
                splice_time: None,
                components: vec![ComponentSplice {
                    component_tag: 0x21,
                    splice_time: Some(SpliceTime { pts_time: Some(5) }),
                }],
                break_duration: br,
                unique_program_id: 1,
                avail_num: 1,
                avails_expected: 1,
            }),
        }),
        SpliceCommand::SpliceInsert(SpliceInsert {
            splice_event_id: 10,
            splice_event_cancel_indicator: true,
            event: None,
        }),
        SpliceCommand::TimeSignal { splice_time: SpliceTime { pts_time: None } },
        SpliceCommand::PrivateCommand { identifier: 0x5342_5831, private_bytes: vec![1, 2, 3] },
        SpliceCommand::Reserved { command_type: 0x42, bytes: vec![9, 9] },
    ];
    for command in commands {
        round_trip(&section(command, vec![]));
    }
}

#[test]
fn every_descriptor_and_upid_round_trips() {
    let upids = vec![
        Upid::NotUsed,
        Upid::UserDefined { value: Text(b"anything".to_vec()) },
        Upid::Isci { value: Text(b"ABCD1234".to_vec()) },
        Upid::AdId { value: Text(b"ABCD0001000H".to_vec()) },
        Upid::Umid { value: (0..32).collect() },
        Upid::IsanDeprecated { value: vec![0, 0, 0, 0, 0x3A, 0x8D, 0, 0] },
        Upid::Isan { value: (0..12).collect() },
        Upid::Tid { value: Text(b"EP0123456789".to_vec()) },
        Upid::AiringId { value: 0x2CA0_A18A },
        Upid::Adi { value: Text(b"PREVIEW:provider.com/123".to_vec()) },
        Upid::Eidr { value: vec![0x14, 0x78, 0xF8, 0x5A, 0xE1, 0, 0, 0, 0, 0, 0, 1] },
        Upid::Atsc(AtscContentId {
            tsid: 241,
            reserved: 3,
            end_of_day: 23,
            unique_for: 511,
            content_id: Text(b"human012".to_vec()),
        }),
        Upid::Mpu { format_identifier: 0x4144_4652, private_data: vec![1, 2, 3, 4] },
        Upid::Mid {
            upids: vec![
                Upid::AdId { value: Text(b"ABCD0001000H".to_vec()) },
                Upid::Uri { value: Text(b"urn:x".to_vec()) },
            ],
        },
        Upid::AdsInfo { value: Text(b"ads".to_vec()) },
        Upid::Uri { value: Text(b"urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6".to_vec()) },
        Upid::Uuid { value: (0..16).collect() },
        Upid::Scr { value: Text(b"scr-id".to_vec()) },
        Upid::Other { type_code: 0x20, value: vec![1] },
        // A fixed-length type with the wrong length is kept as bytes.
        Upid::Other { type_code: 0x03, value: b"short".to_vec() },
    ];
    let mut descriptors = vec![
        SpliceDescriptor::Avail { provider_avail_id: 0x135 },
        SpliceDescriptor::Dtmf { preroll: 50, dtmf_chars: Text(b"121#".to_vec()) },
        SpliceDescriptor::Time { tai_seconds: 0x0000_6000_0000, tai_ns: 999_999_999, utc_offset: 37 },
        SpliceDescriptor::Audio {
            components: vec![AudioComponent {
                component_tag: 1,
                iso_code: Text(b"eng".to_vec()),
                bit_stream_mode: 2,
                num_channels: 5,
                full_srvc_audio: true,
            }],
        },
        SpliceDescriptor::Private { tag: 0x02, identifier: 0x4741_3934, bytes: vec![0xDE, 0xAD] },
        SpliceDescriptor::Private { tag: 0xF0, identifier: CUEI, bytes: vec![] },
        SpliceDescriptor::Segmentation(SegmentationDescriptor {
            segmentation_event_id: 5,
            segmentation_event_cancel_indicator: true,
            segmentation_event_id_compliance_indicator: true,
            event: None,
        }),
    ];
    for (i, upid) in upids.into_iter().enumerate() {
        descriptors.push(SpliceDescriptor::Segmentation(SegmentationDescriptor {
            segmentation_event_id: i as u32,
            segmentation_event_cancel_indicator: false,
            segmentation_event_id_compliance_indicator: i % 2 == 0,
            event: Some(SegmentationEvent {
                program_segmentation_flag: i % 3 != 0,
                delivery_restrictions: (i % 2 == 1).then_some(DeliveryRestrictions {
                    web_delivery_allowed_flag: true,
                    no_regional_blackout_flag: false,
                    archive_allowed_flag: true,
                    device_restrictions: (i % 4) as u8,
                }),
                components: if i % 3 != 0 {
                    vec![]
                } else {
                    vec![SegmentationComponent { component_tag: 3, pts_offset: (1 << 33) - 1 }]
                },
                segmentation_duration: (i % 2 == 0).then_some((1 << 40) - 1),
                segmentation_upid: upid,
                segmentation_type_id: 0x34,
                segment_num: 1,
                segments_expected: 2,
                sub_segment: (i % 2 == 0).then_some(SubSegment { sub_segment_num: 1, sub_segments_expected: 3 }),
            }),
        }));
    }
    for d in descriptors {
        round_trip(&section(SpliceCommand::TimeSignal { splice_time: SpliceTime { pts_time: Some(1) } }, vec![d]));
    }
}

#[test]
fn encrypted_sections_are_reported_and_kept() {
    let cue = SpliceInfoSection {
        payload: Payload::Encrypted { encryption_algorithm: 1, splice_command_length: 5, bytes: vec![0xAA; 16] },
        ..section(SpliceCommand::SpliceNull, vec![])
    };
    let bytes = round_trip(&cue);
    assert_eq!(bytes[4] & 0x80, 0x80, "encrypted_packet set");
    assert!(SpliceInfoSection::parse(&bytes).unwrap().command().is_none());
}

#[test]
fn legacy_unknown_command_length_is_found_and_kept() {
    let mut cue = section(
        SpliceCommand::TimeSignal { splice_time: SpliceTime { pts_time: Some(77) } },
        vec![SpliceDescriptor::Avail { provider_avail_id: 1 }],
    );
    cue.legacy_command_length = true;
    let bytes = round_trip(&cue);
    assert_eq!(bytes[11] & 0x0F, 0x0F);
    assert_eq!(bytes[12], 0xFF);
}

#[test]
fn legacy_length_needs_a_command_whose_end_can_be_found() {
    // Found by fuzzing: with length 0xFFF a private or reserved command has no
    // end, and guessing one could read the descriptors differently.
    let mut cue = section(SpliceCommand::Reserved { command_type: 0x42, bytes: vec![0; 4] }, vec![]);
    cue.legacy_command_length = true;
    assert!(matches!(cue.to_bytes(), Err(Scte35Error::Inconsistent { field: "legacy_command_length", .. })));
    cue.legacy_command_length = false;
    let mut bytes = cue.to_bytes().unwrap();
    bytes[11] |= 0x0F;
    bytes[12] = 0xFF;
    let crc_at = bytes.len() - 4;
    let crc = crc32_mpeg2(&bytes[..crc_at]);
    bytes[crc_at..].copy_from_slice(&crc.to_be_bytes());
    assert!(matches!(
        SpliceInfoSection::parse(&bytes),
        Err(Scte35Error::Inconsistent { field: "splice_command_length", .. })
    ));
}

#[test]
fn bad_input_is_a_clear_error() {
    let good = SpliceInfoSection::from_text(scte35_spec_examples()[1].1).unwrap().to_bytes().unwrap();
    // Every truncation fails without panicking.
    for len in 0..good.len() {
        assert!(SpliceInfoSection::parse(&good[..len]).is_err(), "truncated to {len}");
    }
    // A flipped bit fails the CRC.
    let mut bad = good.clone();
    bad[20] ^= 0x10;
    assert!(matches!(SpliceInfoSection::parse(&bad), Err(Scte35Error::Crc { .. })));
    // Wrong table id.
    let mut bad = good.clone();
    bad[0] = 0xFD;
    assert_eq!(SpliceInfoSection::parse(&bad), Err(Scte35Error::TableId(0xFD)));
    // Trailing bytes.
    let mut bad = good.clone();
    bad.push(0);
    assert!(matches!(SpliceInfoSection::parse(&bad), Err(Scte35Error::SectionLength { .. })));
    // Not base64 or hex.
    assert!(matches!(SpliceInfoSection::from_text("hello, world"), Err(Scte35Error::Encoding(_))));
    // Values that do not fit are refused when writing, naming the field.
    let cue = section(SpliceCommand::TimeSignal { splice_time: SpliceTime { pts_time: Some(1 << 33) } }, vec![]);
    assert_eq!(cue.to_bytes(), Err(Scte35Error::OutOfRange { field: "pts_time", value: 1 << 33, bits: 33 }));
    // Contradicting fields too.
    let insert = SpliceCommand::SpliceInsert(SpliceInsert {
        splice_event_id: 1,
        splice_event_cancel_indicator: false,
        event: None,
    });
    assert!(matches!(section(insert, vec![]).to_bytes(), Err(Scte35Error::Inconsistent { .. })));
    // Unknown JSON fields are refused, not ignored.
    let err = serde_json::from_str::<SpliceInfoSection>(r#"{"sap_type":3,"protocol_version":0,"pts_adjustment":0,"cw_index":0,"tier":4095,"payload":{"encrypted_packet":"false","command":{"command":"splice_null"},"descriptors":[]},"colour":"red"}"#).unwrap_err();
    assert!(err.to_string().contains("colour"), "{err}");
}
