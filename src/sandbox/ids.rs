//! Random values: codes, hex ids and UUIDs.

use crate::random::random_u64;

/// `length` random decimal digits.
pub(super) fn random_code(length: usize) -> String {
    let mut code = String::with_capacity(length);
    while code.len() < length {
        let mut n = random_u64();
        for _ in 0..18 {
            if code.len() == length {
                break;
            }
            code.push(char::from(b'0' + (n % 10) as u8));
            n /= 10;
        }
    }
    code
}

/// `n` random lower-case hex digits.
pub(super) fn random_hex(n: usize) -> String {
    let mut out = String::with_capacity(n + 16);
    while out.len() < n {
        out.push_str(&format!("{:016x}", random_u64()));
    }
    out.truncate(n);
    out
}

/// A random version-4 UUID.
pub(super) fn random_uuid() -> String {
    let hex = random_hex(32);
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_ids_have_their_shapes() {
        for length in 4..=10 {
            let code = random_code(length);
            assert_eq!(code.len(), length);
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
        }
        let uuid = random_uuid();
        assert_eq!(uuid.len(), 36);
        assert_eq!(uuid.matches('-').count(), 4);
    }
}
