//! LEB128 numbers, seven bits a byte (small numbers, most of what the packed forms
//! hold, in one): shared by the packed import lists, outlines and what the table keeps.

/// Appends `value`.
pub fn write(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// The number at `*at` in `bytes`, moving `*at` past it; None if the bytes end first
/// or it does not fit in 64 bits.
pub fn read(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_come_back_as_written() {
        let numbers = [0, 1, 127, 128, 300, 70_001, u64::from(u32::MAX), u64::MAX];
        let mut bytes = Vec::new();
        for n in numbers {
            write(&mut bytes, n);
        }
        let mut at = 0;
        for n in numbers {
            assert_eq!(read(&bytes, &mut at), Some(n));
        }
        assert_eq!(at, bytes.len());
        assert_eq!(read(&bytes, &mut at), None);
        assert_eq!(read(&[0x80], &mut 0), None);
    }
}
