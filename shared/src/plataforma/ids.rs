//! Application-generated ids (schema.md §2.3): Prisma's `cuid()` has no database default.
//! We emit CUID-like values: 25 characters, starting with `c`, base36, time-ordered prefix.

use std::sync::atomic::{AtomicU32, Ordering};

const BASE36: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
static CONTADOR: AtomicU32 = AtomicU32::new(0);

fn base36(mut n: u64, ancho: usize, out: &mut String) {
    let mut buf = vec![b'0'; ancho];
    for slot in buf.iter_mut().rev() {
        *slot = BASE36[(n % 36) as usize];
        n /= 36;
    }
    out.push_str(std::str::from_utf8(&buf).expect("base36 is ascii"));
}

/// A new CUID-like id: `c` + 8 time chars + 4 counter chars + 12 random chars.
pub fn cuid() -> String {
    let ms = chrono::Utc::now().timestamp_millis().max(0) as u64;
    let n = CONTADOR.fetch_add(1, Ordering::Relaxed) as u64;
    let mut s = String::with_capacity(25);
    s.push('c');
    base36(ms, 8, &mut s);
    base36(n % 36u64.pow(4), 4, &mut s);
    let r: u64 = rand::random();
    base36(r % 36u64.pow(12), 12, &mut s);
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn cuid_tiene_forma_de_cuid_y_no_se_repite() {
        let a = super::cuid();
        let b = super::cuid();
        assert_eq!(a.len(), 25);
        assert!(a.starts_with('c'));
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
        );
        assert_ne!(a, b);
    }
}
