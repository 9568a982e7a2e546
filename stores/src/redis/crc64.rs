//! CRC-64 as Redis computes it for RDB files and DUMP payloads: the Jones
//! polynomial (0xad93d23594c935a9), reflected input and output, initial
//! value 0, no final xor. Slice-by-8 tables, built at compile time.

/// The Jones polynomial, bit-reversed for the LSB-first algorithm.
const POLY_REFLECTED: u64 = 0x95ac_9329_ac4b_c9b5;

const fn tables() -> [[u64; 256]; 8] {
    let mut t = [[0u64; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u64;
        let mut bit = 0;
        while bit < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ POLY_REFLECTED } else { c >> 1 };
            bit += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = t[k - 1][i];
            t[k][i] = t[0][(prev & 0xff) as usize] ^ (prev >> 8);
            i += 1;
        }
        k += 1;
    }
    t
}

static TABLES: [[u64; 256]; 8] = tables();

/// Continues `crc` over `bytes` (start with 0).
pub fn update(mut crc: u64, bytes: &[u8]) -> u64 {
    let t = &TABLES;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let x = crc ^ u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        crc = t[7][(x & 0xff) as usize]
            ^ t[6][((x >> 8) & 0xff) as usize]
            ^ t[5][((x >> 16) & 0xff) as usize]
            ^ t[4][((x >> 24) & 0xff) as usize]
            ^ t[3][((x >> 32) & 0xff) as usize]
            ^ t[2][((x >> 40) & 0xff) as usize]
            ^ t[1][((x >> 48) & 0xff) as usize]
            ^ t[0][(x >> 56) as usize];
    }
    for &b in chunks.remainder() {
        crc = t[0][((crc ^ b as u64) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::update;

    #[test]
    fn matches_the_check_value_redis_tests_with() {
        // crc64.c's own test: crc64(0, "123456789", 9) == 0xe9c6d914c4b8d9ca.
        assert_eq!(update(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    }

    #[test]
    fn slicing_agrees_with_byte_at_a_time() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let whole = update(0, &data);
        let mut bytewise = 0;
        for b in &data {
            bytewise = update(bytewise, std::slice::from_ref(b));
        }
        assert_eq!(whole, bytewise);
        let (a, b) = data.split_at(333);
        assert_eq!(update(update(0, a), b), whole);
    }
}
