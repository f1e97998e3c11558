//! What every track's init segment and fragments share: the `moov`
//! around a sample entry, and `moof` + `mdat` around samples.

use super::boxes::{Put, full_box, matrix, write_box};

/// The track's ID in the init segment and every fragment: one track a
/// file.
const TRACK_ID: u32 = 1;

/// What kind of track, with what its headers say about it.
pub enum TrackKind {
    /// Pictures of this size.
    Video {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// Sound.
    Audio,
    /// Timed text (WebVTT).
    Text,
}

/// One sample as a `trun` lists it.
pub struct FragmentSample {
    /// In the track's timescale.
    pub duration: u32,
    /// Bytes.
    pub size: u32,
    /// sample_flags (ISO/IEC 14496-12 §8.8.3.1).
    pub flags: u32,
    /// Composition time minus decoding time.
    pub offset: i32,
}

/// `ftyp` (CMAF brands and `codec_brand`) and `moov` with one track of
/// `kind` at `timescale`, whose `stsd` holds what `sample_entry` writes.
pub fn init_segment(
    kind: &TrackKind,
    timescale: u32,
    codec_brand: &[u8; 4],
    sample_entry: impl FnOnce(&mut Vec<u8>),
) -> Vec<u8> {
    let (width, height, volume) = match kind {
        TrackKind::Video { width, height } => (*width, *height, 0),
        TrackKind::Audio => (0, 0, 0x0100),
        TrackKind::Text => (0, 0, 0),
    };
    let mut out = Vec::new();
    write_box(&mut out, b"ftyp", |o| {
        o.extend_from_slice(b"cmf2");
        o.u32(0);
        for brand in [b"cmf2", b"iso6", b"cmfc", codec_brand] {
            o.extend_from_slice(brand);
        }
    });
    write_box(&mut out, b"moov", |o| {
        full_box(o, b"mvhd", 0, 0, |o| {
            o.zeros(8); // creation, modification
            o.u32(timescale);
            o.u32(0); // duration: fragmented
            o.u32(0x0001_0000); // rate
            o.u16(0x0100); // volume
            o.zeros(10);
            matrix(o);
            o.zeros(24); // pre_defined
            o.u32(TRACK_ID + 1); // next_track_ID
        });
        write_box(o, b"trak", |o| {
            // Enabled, in the movie.
            full_box(o, b"tkhd", 0, 0x3, |o| {
                o.zeros(8);
                o.u32(TRACK_ID);
                o.zeros(4);
                o.u32(0); // duration
                o.zeros(8);
                o.u16(0); // layer
                o.u16(0); // alternate_group
                o.u16(volume);
                o.zeros(2);
                matrix(o);
                o.u32(width << 16);
                o.u32(height << 16);
            });
            write_box(o, b"mdia", |o| {
                full_box(o, b"mdhd", 0, 0, |o| {
                    o.zeros(8);
                    o.u32(timescale);
                    o.u32(0);
                    o.u16(0x55c4); // language: und
                    o.u16(0);
                });
                let (handler, name): (&[u8; 4], &[u8]) = match kind {
                    TrackKind::Video { .. } => (b"vide", b"Stagebox video\0"),
                    TrackKind::Audio => (b"soun", b"Stagebox audio\0"),
                    TrackKind::Text => (b"text", b"Stagebox captions\0"),
                };
                full_box(o, b"hdlr", 0, 0, |o| {
                    o.zeros(4);
                    o.extend_from_slice(handler);
                    o.zeros(12);
                    o.extend_from_slice(name);
                });
                write_box(o, b"minf", |o| {
                    match kind {
                        TrackKind::Video { .. } => full_box(o, b"vmhd", 0, 1, |o| o.zeros(8)),
                        TrackKind::Audio => full_box(o, b"smhd", 0, 0, |o| o.zeros(4)),
                        // ISO/IEC 14496-30 §7.3: a null media header.
                        TrackKind::Text => full_box(o, b"nmhd", 0, 0, |_| {}),
                    }
                    write_box(o, b"dinf", |o| {
                        full_box(o, b"dref", 0, 0, |o| {
                            o.u32(1);
                            full_box(o, b"url ", 0, 1, |_| {});
                        });
                    });
                    write_box(o, b"stbl", |o| {
                        full_box(o, b"stsd", 0, 0, |o| {
                            o.u32(1);
                            sample_entry(o);
                        });
                        for kind in [b"stts", b"stsc", b"stco"] {
                            full_box(o, kind, 0, 0, |o| o.u32(0));
                        }
                        full_box(o, b"stsz", 0, 0, |o| o.zeros(8));
                    });
                });
            });
        });
        write_box(o, b"mvex", |o| {
            full_box(o, b"trex", 0, 0, |o| {
                o.u32(TRACK_ID);
                o.u32(1); // default_sample_description_index
                o.zeros(12);
            });
        });
    });
    out
}

/// `moof` (fragment `sequence`, decode time `base` of the first sample)
/// and `mdat` with the samples' bytes, in order.
pub fn fragment<'a>(
    sequence: u32,
    base: u64,
    samples: &[FragmentSample],
    data: impl Iterator<Item = &'a [u8]>,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut data_offset_at = 0;
    write_box(&mut out, b"moof", |o| {
        full_box(o, b"mfhd", 0, 0, |o| o.u32(sequence));
        write_box(o, b"traf", |o| {
            // default-base-is-moof.
            full_box(o, b"tfhd", 0, 0x02_0000, |o| o.u32(TRACK_ID));
            full_box(o, b"tfdt", 1, 0, |o| o.u64(base));
            // data offset, and per sample: duration, size, flags,
            // composition offset (signed: version 1).
            full_box(o, b"trun", 1, 0x0001 | 0x0100 | 0x0200 | 0x0400 | 0x0800, |o| {
                o.u32(samples.len() as u32);
                data_offset_at = o.len();
                o.u32(0);
                for s in samples {
                    o.u32(s.duration);
                    o.u32(s.size);
                    o.u32(s.flags);
                    o.u32(s.offset as u32);
                }
            });
        });
    });
    // The samples start after the mdat's header.
    let offset = (out.len() + 8) as u32;
    out[data_offset_at..data_offset_at + 4].copy_from_slice(&offset.to_be_bytes());
    write_box(&mut out, b"mdat", |o| {
        for bytes in data {
            o.extend_from_slice(bytes);
        }
    });
    out
}
