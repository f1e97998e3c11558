//! Writing ISO BMFF boxes (ISO/IEC 14496-12): a box is its size, its type
//! and its body; a full box adds a version and flags.

/// Appends a box of type `kind` whose body `body` writes.
pub fn write_box(out: &mut Vec<u8>, kind: &[u8; 4], body: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(kind);
    body(out);
    let size = u32::try_from(out.len() - start).unwrap_or(u32::MAX);
    out[start..start + 4].copy_from_slice(&size.to_be_bytes());
}

/// Appends a full box: version and 24 bits of flags before the body.
pub fn full_box(out: &mut Vec<u8>, kind: &[u8; 4], version: u8, flags: u32, body: impl FnOnce(&mut Vec<u8>)) {
    write_box(out, kind, |out| {
        out.push(version);
        out.extend_from_slice(&flags.to_be_bytes()[1..]);
        body(out);
    });
}

/// Big-endian writers.
pub trait Put {
    /// A u16.
    fn u16(&mut self, v: u16);
    /// A u32.
    fn u32(&mut self, v: u32);
    /// A u64.
    fn u64(&mut self, v: u64);
    /// `n` zero bytes.
    fn zeros(&mut self, n: usize);
}

impl Put for Vec<u8> {
    fn u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn zeros(&mut self, n: usize) {
        self.resize(self.len() + n, 0);
    }
}

/// The unity matrix of `mvhd` and `tkhd`.
pub fn matrix(out: &mut Vec<u8>) {
    for v in [0x0001_0000u32, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] {
        out.u32(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_measure_themselves() {
        let mut out = Vec::new();
        write_box(&mut out, b"moov", |out| full_box(out, b"mvhd", 1, 0x0a0b0c, |out| out.u16(7)));
        assert_eq!(
            out,
            [0, 0, 0, 22, b'm', b'o', b'o', b'v', 0, 0, 0, 14, b'm', b'v', b'h', b'd', 1, 0x0a, 0x0b, 0x0c, 0, 7]
        );
    }
}
