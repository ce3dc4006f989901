//! Stable ids from content: the SHA-256 of some byte strings, as lowercase hex.

use sha2::{Digest, Sha256};

/// The first `bytes` bytes (at most 32) of the SHA-256 of `parts`, hashed one after the other,
/// as `2 × bytes` lowercase hex digits.
pub(crate) fn sha256_hex(parts: &[&[u8]], bytes: usize) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    let digest = hasher.finalize();
    let mut out = String::with_capacity(bytes * 2);
    for byte in digest.iter().take(bytes) {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_the_parts_in_order_and_keeps_the_leading_bytes() {
        // SHA-256("abc") (FIPS 180-2, appendix B.1).
        let full = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(sha256_hex(&[b"abc"], 32), full);
        assert_eq!(sha256_hex(&[b"a", b"", b"bc"], 32), full);
        assert_eq!(sha256_hex(&[b"abc"], 16), full[..32]);
    }
}
