//! H.264 (ISO/IEC 14496-10) as far as Stagebox reads and writes it without
//! decoding: the NAL units of an Annex B stream, emulation prevention,
//! and what a sequence parameter set says about the picture. Used by the
//! caption SEI code, the FLV mux and the fMP4 writer.

/// An IDR slice.
pub const NAL_IDR: u8 = 5;
/// Supplemental enhancement information.
pub const NAL_SEI: u8 = 6;
/// Sequence parameter set.
pub const NAL_SPS: u8 = 7;
/// Picture parameter set.
pub const NAL_PPS: u8 = 8;
/// Access unit delimiter.
pub const NAL_AUD: u8 = 9;

/// The NAL units of an Annex B byte stream, start codes removed.
pub fn nal_units(stream: &[u8]) -> impl Iterator<Item = &[u8]> {
    nal_spans(stream).into_iter().map(move |(s, e)| &stream[s..e])
}

/// Where each NAL unit of an Annex B stream lies: (start, end) byte offsets.
pub(crate) fn nal_spans(stream: &[u8]) -> Vec<(usize, usize)> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= stream.len() {
        if stream[i] == 0 && stream[i + 1] == 0 && stream[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let ends: Vec<usize> = starts
        .iter()
        .skip(1)
        .map(|&s| {
            // The next start code, less a leading zero of a 4-byte one.
            let mut e = s - 3;
            while e > 0 && stream[e - 1] == 0 {
                e -= 1;
            }
            e
        })
        .chain(std::iter::once(stream.len()))
        .collect();
    starts.into_iter().zip(ends).filter(|(s, e)| s < e).collect()
}

/// Removes emulation prevention bytes (00 00 03 → 00 00).
pub fn unescape(nal: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(nal.len());
    let mut zeros = 0;
    for &b in nal {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

/// Adds emulation prevention bytes, so no start code appears inside.
pub fn escape(rbsp: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rbsp.len() + rbsp.len() / 64);
    let mut zeros = 0;
    for &b in rbsp {
        if zeros >= 2 && b <= 3 {
            out.push(3);
            zeros = 0;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

/// `avc1.PPCCLL` (RFC 6381) from an SPS NAL unit: profile_idc, the
/// constraint flags and level_idc.
pub fn codec_string(sps: &[u8]) -> Option<String> {
    let b = sps.get(1..4)?;
    Some(format!("avc1.{:02x}{:02x}{:02x}", b[0], b[1], b[2]))
}

/// Reads bits of an RBSP (emulation prevention bytes removed).
struct Bits {
    bytes: Vec<u8>,
    at: usize,
}

impl Bits {
    fn new(nal: &[u8]) -> Bits {
        Bits { bytes: unescape(nal), at: 0 }
    }

    fn bit(&mut self) -> Option<u32> {
        let byte = self.bytes.get(self.at / 8)?;
        let bit = (byte >> (7 - self.at % 8)) & 1;
        self.at += 1;
        Some(u32::from(bit))
    }

    fn bits(&mut self, n: u32) -> Option<u32> {
        (0..n).try_fold(0, |v, _| Some(v << 1 | self.bit()?))
    }

    /// ue(v).
    fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        Some((1u64 << zeros) as u32 - 1 + self.bits(zeros)?)
    }

    /// se(v).
    fn se(&mut self) -> Option<i32> {
        let k = self.ue()?;
        Some(if k % 2 == 1 { k.div_ceil(2) as i32 } else { -((k / 2) as i32) })
    }
}

/// What an SPS says that a sample entry repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpsInfo {
    /// The displayed width (cropping applied).
    pub width: u32,
    /// The displayed height.
    pub height: u32,
    /// chroma_format_idc (1: 4:2:0).
    pub chroma_format: u32,
    /// bit_depth_luma_minus8.
    pub luma_depth_minus8: u32,
    /// bit_depth_chroma_minus8.
    pub chroma_depth_minus8: u32,
}

/// What an SPS says, or `None` when it is cut short or not an SPS.
pub fn sps_info(sps: &[u8]) -> Option<SpsInfo> {
    if sps.first()? & 0x1f != NAL_SPS {
        return None;
    }
    let mut r = Bits::new(sps.get(1..)?);
    let profile = r.bits(8)?;
    r.bits(16)?; // constraint flags, level_idc
    r.ue()?; // seq_parameter_set_id
    let (mut chroma_format, mut luma_depth_minus8, mut chroma_depth_minus8) = (1, 0, 0);
    if matches!(profile, 100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135) {
        chroma_format = r.ue()?;
        if chroma_format == 3 {
            r.bit()?; // separate_colour_plane_flag
        }
        luma_depth_minus8 = r.ue()?;
        chroma_depth_minus8 = r.ue()?;
        r.bit()?; // qpprime_y_zero_transform_bypass_flag
        if r.bit()? == 1 {
            // seq_scaling_matrix_present: each list present is skipped.
            for i in 0..if chroma_format == 3 { 12 } else { 8 } {
                if r.bit()? == 1 {
                    let size = if i < 6 { 16 } else { 64 };
                    let (mut last, mut next) = (8i64, 8i64);
                    for _ in 0..size {
                        if next != 0 {
                            next = (last + i64::from(r.se()?)).rem_euclid(256);
                        }
                        last = if next == 0 { last } else { next };
                    }
                }
            }
        }
    }
    r.ue()?; // log2_max_frame_num_minus4
    match r.ue()? {
        0 => {
            r.ue()?; // log2_max_pic_order_cnt_lsb_minus4
        }
        1 => {
            r.bit()?;
            r.se()?;
            r.se()?;
            for _ in 0..r.ue()?.min(255) {
                r.se()?;
            }
        }
        _ => {}
    }
    r.ue()?; // max_num_ref_frames
    r.bit()?; // gaps_in_frame_num_value_allowed_flag
    // Level 6.2 allows 139,264 macroblocks a picture; anything past 1,024
    // a side is not a picture.
    let width_mbs = r.ue()?.checked_add(1).filter(|w| *w <= 1024)?;
    let height_units = r.ue()?.checked_add(1).filter(|h| *h <= 1024)?;
    let frame_mbs_only = r.bit()?;
    if frame_mbs_only == 0 {
        r.bit()?; // mb_adaptive_frame_field_flag
    }
    r.bit()?; // direct_8x8_inference_flag
    let mut width = width_mbs * 16;
    let mut height = height_units * 16 * (2 - frame_mbs_only);
    if r.bit()? == 1 {
        let mut crop = || r.ue().filter(|c| *c <= 1 << 16);
        let (left, right, top, bottom) = (crop()?, crop()?, crop()?, crop()?);
        let (sub_w, sub_h) = match chroma_format {
            1 => (2, 2),
            2 => (2, 1),
            _ => (1, 1),
        };
        let crop_y = sub_h * (2 - frame_mbs_only);
        width = width.checked_sub(sub_w * (left + right))?;
        height = height.checked_sub(crop_y * (top + bottom))?;
    }
    Some(SpsInfo { width, height, chroma_format, luma_depth_minus8, chroma_depth_minus8 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nal_units_split_at_start_codes_of_either_length() {
        let stream = [0, 0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x67, 0x42, 0, 0, 0, 1, 0x68, 0xce];
        let units: Vec<&[u8]> = nal_units(&stream).collect();
        assert_eq!(units, [&[0x09, 0xf0][..], &[0x67, 0x42][..], &[0x68, 0xce][..]]);
        assert_eq!(nal_units(&[1, 2, 3]).count(), 0);
    }

    #[test]
    fn escape_and_unescape() {
        let raw = [0, 0, 0, 0, 0, 1, 0, 0, 2, 0, 0, 3, 0, 0];
        let escaped = escape(&raw);
        assert_eq!(escaped, [0, 0, 3, 0, 0, 3, 0, 1, 0, 0, 3, 2, 0, 0, 3, 3, 0, 0]);
        assert_eq!(unescape(&escaped), raw);
    }

    #[test]
    fn a_baseline_sps_gives_its_size() {
        // Constrained Baseline, level 3.1, 80 × 45 macroblocks, no
        // cropping: id ue 0, log2_max_frame_num ue 0, POC type ue 2,
        // 1 reference frame, width_in_mbs_minus1 ue 79, height ue 44,
        // frame_mbs_only, direct_8x8, no cropping, VUI follows.
        let sps = [
            0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8, 0x40, 0x00, 0x00, 0x03, 0x00, 0x40, 0x00, 0x00, 0x0c,
            0x83, 0xc6, 0x0c, 0xa8,
        ];
        let info = sps_info(&sps).unwrap_or_else(|| panic!("not read"));
        assert_eq!((info.width, info.height, info.chroma_format, info.luma_depth_minus8), (1280, 720, 1, 0));
        assert_eq!(sps_info(&sps[..4]), None, "cut short");
        assert_eq!(sps_info(&[0x68, 0xce]), None, "a PPS");
    }
}
