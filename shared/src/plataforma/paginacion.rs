//! Query parameters of the keyset-paginated lists (catalog.md §5.1, movimientos.md §4), parsed
//! with JavaScript's `parseInt` as the reference does, with the Required clamps: a bad value
//! never reaches the database.

use crate::plataforma::js::parse_int_str;

pub const LIMITE_DEFECTO: i64 = 50;
pub const LIMITE_MAX: i64 = 100;

/// `limite`: absent or non-numeric → 50, `< 1` → 1, `> 100` → 100.
pub fn limite(q: Option<&str>) -> i64 {
    match q.and_then(parse_int_str) {
        None => LIMITE_DEFECTO,
        Some(n) => n.clamp(1, LIMITE_MAX),
    }
}

/// `cursor`: the id of the last item received; NaN, 0, negative or beyond 32 bits → first page.
pub fn cursor(q: Option<&str>) -> Option<i32> {
    q.and_then(parse_int_str)
        .filter(|n| (1..=i32::MAX as i64).contains(n))
        .map(|n| n as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limite_acotado() {
        for (q, esperado) in [
            (None, 50),
            (Some(""), 50),
            (Some("abc"), 50),
            (Some("0"), 1),
            (Some("-5"), 1),
            (Some("7"), 7),
            (Some(" 20abc"), 20),
            (Some("3.9"), 3),
            (Some("100"), 100),
            (Some("101"), 100),
            (Some("99999999999999999999999"), 100),
        ] {
            assert_eq!(limite(q), esperado, "{q:?}");
        }
    }

    #[test]
    fn cursor_valido_o_primera_pagina() {
        for (q, esperado) in [
            (None, None),
            (Some(""), None),
            (Some("x"), None),
            (Some("0"), None),
            (Some("-3"), None),
            (Some("2147483648"), None),
            (Some("12"), Some(12)),
            (Some("12abc"), Some(12)),
            (Some("2147483647"), Some(i32::MAX)),
        ] {
            assert_eq!(cursor(q), esperado, "{q:?}");
        }
    }
}
