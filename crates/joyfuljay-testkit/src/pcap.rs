//! Walking the records of a classic pcap file, independently of the reader.

/// Offsets of the records of a little-endian pcap file: each record header
/// from byte 24 on, stepping by its captured length, while a whole 16-byte
/// header fits (a final record may extend beyond the data).
pub fn pcap_record_offsets(b: &[u8]) -> Vec<usize> {
    let mut v = Vec::new();
    let mut off = 24;
    while off + 16 <= b.len() {
        let caplen = u32::from_le_bytes(b[off + 8..off + 12].try_into().expect("4 bytes")) as usize;
        v.push(off);
        off += 16 + caplen;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_of_a_hand_made_file() {
        let mut b = vec![0u8; 24];
        for caplen in [3u32, 0, 5] {
            let mut h = [0u8; 16];
            h[8..12].copy_from_slice(&caplen.to_le_bytes());
            b.extend_from_slice(&h);
            b.extend(std::iter::repeat_n(0xaa, caplen as usize));
        }
        assert_eq!(pcap_record_offsets(&b), [24, 43, 59]);
        // A header cut short is not a record; a cut in the data still is.
        assert_eq!(pcap_record_offsets(&b[..74]), [24, 43]);
        assert_eq!(pcap_record_offsets(&b[..76]), [24, 43, 59]);
    }
}
