//! Compression of request bodies and stored objects.

use std::io::Write;

use flate2::write::GzEncoder;
use flate2::Compression;

/// Gzip at level 1: several times faster than the default level for a slightly larger body, which
/// suits a Lambda billed by CPU time.
pub fn gzip(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(data.len() / 4 + 64), Compression::fast());
    encoder.write_all(data)?;
    encoder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_round_trips() {
        let data = b"{\"a\":1}\n".repeat(1000);
        let packed = gzip(&data).unwrap();
        assert!(packed.len() < data.len() / 10);
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&packed[..]), &mut out).unwrap();
        assert_eq!(out, data);
    }
}
