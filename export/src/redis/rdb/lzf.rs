//! LZF decompression (the format of liblzf, which Redis uses for strings in
//! RDB files when `rdbcompression` is on). A few dozen lines, so no crate.
//!
//! The stream is a sequence of runs: a control byte below 32 copies the next
//! `ctrl + 1` bytes literally; otherwise the top three bits are a length
//! (7 means "add the next byte") and the rest, with the next byte, a
//! distance back into the output to copy `len + 2` bytes from.

/// Decompresses `input`, which must expand to exactly `expected` bytes,
/// appending to `out`. Errors say what was wrong (never a panic).
pub fn decompress(input: &[u8], expected: usize, out: &mut Vec<u8>) -> Result<(), String> {
    let start = out.len();
    out.reserve(expected);
    let mut i = 0usize;
    let byte = |i: usize| input.get(i).copied().ok_or_else(|| "LZF data ends inside a back reference".to_owned());
    while i < input.len() {
        let ctrl = input[i] as usize;
        i += 1;
        let produced = out.len() - start;
        if ctrl < 32 {
            let n = ctrl + 1;
            let Some(lit) = input.get(i..i + n) else {
                return Err(format!("LZF literal run of {n} bytes passes the end of the data"));
            };
            if produced + n > expected {
                return Err(format!("LZF data expands past the declared {expected} bytes"));
            }
            out.extend_from_slice(lit);
            i += n;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += byte(i)? as usize;
                i += 1;
            }
            let back = ((ctrl & 0x1f) << 8) + byte(i)? as usize + 1;
            i += 1;
            len += 2;
            if back > produced {
                return Err(format!("LZF back reference {back} bytes before the start of the output"));
            }
            if produced + len > expected {
                return Err(format!("LZF data expands past the declared {expected} bytes"));
            }
            let from = out.len() - back;
            if back >= len {
                out.extend_from_within(from..from + len);
            } else {
                // Overlapping copy: a run that repeats its own output.
                for k in 0..len {
                    let b = out[from + k];
                    out.push(b);
                }
            }
        }
    }
    let produced = out.len() - start;
    if produced != expected {
        return Err(format!("LZF data expands to {produced} bytes, the header says {expected}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::decompress;

    #[test]
    fn literals_and_overlapping_back_references() {
        // "abc" literally, then 6 bytes from 3 back: "abcabcabc".
        let data = [2, b'a', b'b', b'c', (4 << 5) as u8, 2];
        let mut out = Vec::new();
        decompress(&data, 9, &mut out).unwrap();
        assert_eq!(out, b"abcabcabc");
        // A long run: len 7 + extra byte.
        let data = [0, b'x', (7 << 5) as u8, 10, 0];
        let mut out = Vec::new();
        decompress(&data, 1 + 7 + 10 + 2, &mut out).unwrap();
        assert_eq!(out, vec![b'x'; 20]);
    }

    #[test]
    fn damage_is_an_error_not_a_panic() {
        let mut out = Vec::new();
        assert!(decompress(&[5, b'a'], 6, &mut out).is_err());
        assert!(decompress(&[(1 << 5) as u8, 9], 3, &mut Vec::new()).is_err());
        assert!(decompress(&[0, b'a', (1 << 5) as u8], 4, &mut Vec::new()).is_err());
        assert!(decompress(&[0, b'a'], 2, &mut Vec::new()).is_err());
        assert!(decompress(&[2, b'a', b'b', b'c'], 2, &mut Vec::new()).is_err());
    }
}
