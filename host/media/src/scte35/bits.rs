//! Big-endian bit reading and writing, as SCTE-35 lays fields out.

use super::Scte35Error;

/// Reads fields of up to 64 bits from a byte slice, most significant bit
/// first. Running past the end is [`Scte35Error::Truncated`] naming the field.
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    /// Position in bits.
    pos: usize,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        BitReader { data, pos: 0 }
    }

    /// Bits left to read.
    pub(crate) fn remaining_bits(&self) -> usize {
        self.data.len() * 8 - self.pos
    }

    /// Whole bytes left (the reader must be byte-aligned to use them).
    pub(crate) fn remaining_bytes(&self) -> usize {
        self.remaining_bits() / 8
    }

    pub(crate) fn bits(&mut self, n: u32, field: &'static str) -> Result<u64, Scte35Error> {
        debug_assert!(n <= 64);
        if (n as usize) > self.remaining_bits() {
            return Err(Scte35Error::Truncated { field });
        }
        let mut value = 0u64;
        let mut left = n as usize;
        while left > 0 {
            let byte = self.data[self.pos / 8];
            let offset = self.pos % 8;
            let take = (8 - offset).min(left);
            let chunk = (byte >> (8 - offset - take)) & ((1u16 << take) - 1) as u8;
            value = (value << take) | u64::from(chunk);
            self.pos += take;
            left -= take;
        }
        Ok(value)
    }

    pub(crate) fn flag(&mut self, field: &'static str) -> Result<bool, Scte35Error> {
        Ok(self.bits(1, field)? == 1)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, Scte35Error> {
        Ok(self.bits(8, field)? as u8)
    }

    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, Scte35Error> {
        Ok(self.bits(16, field)? as u16)
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, Scte35Error> {
        Ok(self.bits(32, field)? as u32)
    }

    pub(crate) fn skip(&mut self, n: u32, field: &'static str) -> Result<(), Scte35Error> {
        self.bits(n, field).map(drop)
    }

    /// `len` whole bytes; the reader must be byte-aligned.
    pub(crate) fn bytes(&mut self, len: usize, field: &'static str) -> Result<&'a [u8], Scte35Error> {
        debug_assert_eq!(self.pos % 8, 0, "{field} read unaligned");
        let start = self.pos / 8;
        let end = start.checked_add(len).filter(|&e| e <= self.data.len()).ok_or(Scte35Error::Truncated { field })?;
        self.pos = end * 8;
        Ok(&self.data[start..end])
    }

    /// The rest of the data, whole bytes.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let start = self.pos.div_ceil(8).min(self.data.len());
        self.pos = self.data.len() * 8;
        &self.data[start..]
    }
}

/// Writes fields most significant bit first into a growing buffer.
#[derive(Default)]
pub(crate) struct BitWriter {
    data: Vec<u8>,
    /// Bits used in the last byte (0 = aligned).
    used: u32,
}

impl BitWriter {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Writes the low `n` bits of `value`. Values wider than `n` bits are the
    /// caller's bug: `check_width` guards input-derived values first.
    pub(crate) fn bits(&mut self, n: u32, value: u64) {
        debug_assert!(n == 64 || value >> n == 0, "value {value} wider than {n} bits");
        let mut left = n;
        while left > 0 {
            if self.used == 0 {
                self.data.push(0);
            }
            let free = 8 - self.used;
            let take = free.min(left);
            let chunk = ((value >> (left - take)) & ((1u64 << take) - 1)) as u8;
            if let Some(last) = self.data.last_mut() {
                *last |= chunk << (free - take);
            }
            self.used = (self.used + take) % 8;
            left -= take;
        }
    }

    pub(crate) fn flag(&mut self, value: bool) {
        self.bits(1, u64::from(value));
    }

    /// `n` reserved bits, all ones as the standard asks.
    pub(crate) fn reserved(&mut self, n: u32) {
        self.bits(n, (1u64 << n) - 1);
    }

    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        debug_assert_eq!(self.used, 0, "unaligned byte write");
        self.data.extend_from_slice(bytes);
    }

    pub(crate) fn len(&self) -> usize {
        self.data.len()
    }

    /// Overwrites a 12-bit length whose top 4 bits are already in place,
    /// at byte `at` (the length's high nibble is the low nibble of `at`).
    pub(crate) fn patch_u12(&mut self, at: usize, value: u16) {
        self.data[at] = (self.data[at] & 0xF0) | ((value >> 8) as u8 & 0x0F);
        self.data[at + 1] = value as u8;
    }

    pub(crate) fn patch_u8(&mut self, at: usize, value: u8) {
        self.data[at] = value;
    }

    pub(crate) fn patch_u16(&mut self, at: usize, value: u16) {
        self.data[at..at + 2].copy_from_slice(&value.to_be_bytes());
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.data
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.data
    }
}

/// Fails if `value` does not fit in `bits` bits.
pub(crate) fn check_width(value: u64, bits: u32, field: &'static str) -> Result<(), Scte35Error> {
    if bits < 64 && value >> bits != 0 {
        return Err(Scte35Error::OutOfRange { field, value, bits });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn written_fields_read_back() {
        let mut w = BitWriter::new();
        w.flag(true);
        w.bits(6, 0b10_1010);
        w.bits(33, (1 << 33) - 5);
        w.bits(12, 0xABC);
        w.reserved(4);
        let bytes = w.into_bytes();
        assert_eq!(bytes.len(), 7);
        let mut r = BitReader::new(&bytes);
        assert!(r.flag("a").unwrap());
        assert_eq!(r.bits(6, "b").unwrap(), 0b10_1010);
        assert_eq!(r.bits(33, "c").unwrap(), (1 << 33) - 5);
        assert_eq!(r.bits(12, "d").unwrap(), 0xABC);
        assert_eq!(r.bits(4, "e").unwrap(), 0xF);
        assert!(matches!(r.bits(1, "past"), Err(Scte35Error::Truncated { field: "past" })));
    }
}
