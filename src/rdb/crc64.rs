//! CRC-64/Jones as Redis computes it: reflected polynomial 0x95ac9329ac4bc9b5 (0xad93d23594c935a9
//! bit-reversed), initial value 0, no final xor. Used for the RDB file trailer and the DUMP
//! payload footer. Table-driven, eight bytes per step ("slicing by 8").

const POLY_REFLECTED: u64 = 0x95ac_9329_ac4b_c9b5;

/// Eight 256-entry tables: `T[0]` is the classic byte table, `T[k][b]` is the CRC of byte `b`
/// followed by `k` zero bytes.
static TABLES: [[u64; 256]; 8] = build_tables();

const fn build_tables() -> [[u64; 256]; 8] {
    let mut t = [[0u64; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY_REFLECTED
            } else {
                crc >> 1
            };
            bit += 1;
        }
        t[0][i] = crc;
        i += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = t[k - 1][i];
            t[k][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            i += 1;
        }
        k += 1;
    }
    t
}

/// Continues a CRC-64 over `data` (start with `crc = 0`).
pub fn crc64(mut crc: u64, data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let v = crc ^ u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        crc = TABLES[7][(v & 0xff) as usize]
            ^ TABLES[6][((v >> 8) & 0xff) as usize]
            ^ TABLES[5][((v >> 16) & 0xff) as usize]
            ^ TABLES[4][((v >> 24) & 0xff) as usize]
            ^ TABLES[3][((v >> 32) & 0xff) as usize]
            ^ TABLES[2][((v >> 40) & 0xff) as usize]
            ^ TABLES[1][((v >> 48) & 0xff) as usize]
            ^ TABLES[0][(v >> 56) as usize];
    }
    for &b in chunks.remainder() {
        crc = TABLES[0][((crc ^ b as u64) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytewise(data: &[u8]) -> u64 {
        let mut crc = 0u64;
        for &b in data {
            crc = TABLES[0][((crc ^ b as u64) & 0xff) as usize] ^ (crc >> 8);
        }
        crc
    }

    #[test]
    fn redis_test_vector() {
        assert_eq!(crc64(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    }

    #[test]
    fn sliced_equals_bytewise_and_is_incremental() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 31 + 7) as u8).collect();
        for n in [0, 1, 7, 8, 9, 63, 64, 65, 999, 1000] {
            assert_eq!(crc64(0, &data[..n]), bytewise(&data[..n]), "n={n}");
        }
        let whole = crc64(0, &data);
        let split = crc64(crc64(0, &data[..333]), &data[333..]);
        assert_eq!(whole, split);
    }
}
