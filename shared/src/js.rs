//! JavaScript parsing primitives the reference applies to request values (catalog.md §1.4),
//! reproduced where its behaviour is kept.

use serde_json::Value;

/// `parseInt(s, 10)`: leading whitespace, optional sign, longest run of ASCII digits.
pub fn parse_int_str(s: &str) -> Option<i64> {
    let t = s.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let run: String = digits.chars().take_while(|c| c.is_ascii_digit()).collect();
    if run.is_empty() {
        return None;
    }
    // Beyond i64 the value is out of every id range anyway: saturate.
    let v = run.parse::<i64>().unwrap_or(i64::MAX);
    Some(if neg { -v } else { v })
}

/// `String(v)` for the values `parseInt` can read a number from (others → `None`).
fn como_texto_js(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                return Some(i.to_string());
            }
            let f = n.as_f64()?;
            let a = f.abs();
            // JavaScript switches to exponent notation outside [1e-6, 1e21).
            if a != 0.0 && !(1e-6..1e21).contains(&a) {
                Some(format!("{f:e}"))
            } else {
                Some(format!("{}", f.trunc() as i64))
            }
        }
        Value::Array(a) => {
            let partes: Option<Vec<String>> = a
                .iter()
                .map(|x| match x {
                    Value::Null => Some(String::new()),
                    other => como_texto_js(other).or_else(|| match other {
                        Value::Bool(b) => Some(b.to_string()),
                        _ => Some("[object Object]".into()),
                    }),
                })
                .collect();
            partes.map(|p| p.join(","))
        }
        _ => None,
    }
}

/// `parseInt(String(v), 10)` for a JSON value; `None` is NaN.
pub fn parse_int(v: &Value) -> Option<i64> {
    parse_int_str(&como_texto_js(v)?)
}

/// JavaScript's `StrWhiteSpaceChar`: Unicode `Zs`, tab, VT, FF, BOM and the line terminators
/// (Rust's `White_Space` minus U+0085, plus U+FEFF).
fn es_espacio_js(c: char) -> bool {
    (c.is_whitespace() && c != '\u{85}') || c == '\u{feff}'
}

/// `parseFloat(s)`: leading whitespace, then the longest prefix that is a decimal literal
/// (sign, digits, optional `.` and fraction, optional exponent) or `Infinity`; `None` is NaN.
/// `"12abc"` → 12, `"1e3"` → 1000, `"1.250"` → 1.25, `"1e"` → 1, `".5"` → 0.5, `"1e999"` → ∞.
pub fn parse_float_str(s: &str) -> Option<f64> {
    let t = s.trim_start_matches(es_espacio_js);
    let b = t.as_bytes();
    let (neg, mut i) = match b.first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        _ => (false, 0),
    };
    if t[i..].starts_with("Infinity") {
        return Some(if neg {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    let digitos = |desde: usize| b[desde..].iter().take_while(|c| c.is_ascii_digit()).count();
    let entero = &t[i..i + digitos(i)];
    i += entero.len();
    let mut fraccion = "";
    if b.get(i) == Some(&b'.') {
        fraccion = &t[i + 1..i + 1 + digitos(i + 1)];
        i += 1 + fraccion.len();
    }
    if entero.is_empty() && fraccion.is_empty() {
        return None;
    }
    let mut exponente = String::new();
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let (signo, j) = match b.get(i + 1) {
            Some(b'-') => ("-", i + 2),
            Some(b'+') => ("", i + 2),
            _ => ("", i + 1),
        };
        let n = digitos(j);
        if n > 0 {
            exponente = format!("e{signo}{}", &t[j..j + n]);
        }
    }
    // Rebuilt in the one shape Rust's parser surely reads (`0.5`, `1.0e3`); huge exponents
    // saturate to ±∞ or 0 exactly as in JavaScript.
    let texto = format!(
        "{}{}.{}{exponente}",
        if neg { "-" } else { "" },
        if entero.is_empty() { "0" } else { entero },
        if fraccion.is_empty() { "0" } else { fraccion },
    );
    texto.parse::<f64>().ok()
}

/// `parseFloat(String(v))` for a JSON value (catalog.md §1.4 `float()`); `None` is NaN.
/// Numbers come back as they are (`-0` as `0`, as `String(-0)` is `"0"`); `null`, booleans and
/// objects are NaN; an array reads as its first element (`String([a, b])` is `"a,b"` and the
/// comma ends any literal).
pub fn parse_float(v: &Value) -> Option<f64> {
    match v {
        Value::String(s) => parse_float_str(s),
        Value::Number(n) => n.as_f64().map(|f| if f == 0.0 { 0.0 } else { f }),
        Value::Array(a) => a.first().and_then(parse_float),
        _ => None,
    }
}

/// The ids of a bulk-delete body (catalog.md §4.5 step 2): `parseInt` of each element, kept when
/// 1…2147483647, duplicates collapsed, ascending.
pub fn ids_validos(elementos: &[Value]) -> Vec<i32> {
    let mut ids: Vec<i32> = elementos
        .iter()
        .filter_map(parse_int)
        .filter(|n| (1..=i32::MAX as i64).contains(n))
        .map(|n| n as i32)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parse_int_como_javascript() {
        for (v, esperado) in [
            (json!("12abc"), Some(12)),
            (json!("3.9"), Some(3)),
            (json!(" 7 "), Some(7)),
            (json!("1e3"), Some(1)),
            (json!(true), None),
            (json!(null), None),
            (json!(""), None),
            (json!(5.9), Some(5)),
            (json!(1e21), Some(1)),
            (json!([5]), Some(5)),
            (json!({"a": 1}), None),
            (json!("-4"), Some(-4)),
        ] {
            assert_eq!(parse_int(&v), esperado, "{v}");
        }
    }

    #[test]
    fn ids_de_bulk_delete() {
        let v = json!([
            5,
            "5",
            5.9,
            "5abc",
            [5],
            null,
            true,
            "abc",
            {},
            0,
            -1,
            3,
            2147483648u64
        ]);
        assert_eq!(ids_validos(v.as_array().unwrap()), vec![3, 5]);
    }

    #[test]
    fn parse_float_como_javascript() {
        for (v, esperado) in [
            (json!("12abc"), Some(12.0)),
            (json!("1e3"), Some(1000.0)),
            (json!("1.250"), Some(1.25)),
            (json!(null), None),
            (json!(""), None),
            (json!("  -3.5kg"), Some(-3.5)),
            (json!(".5"), Some(0.5)),
            (json!("-.5"), Some(-0.5)),
            (json!("5."), Some(5.0)),
            (json!("1.e2"), Some(100.0)),
            (json!("1e"), Some(1.0)),
            (json!("1e+"), Some(1.0)),
            (json!("2E-2"), Some(0.02)),
            (json!("."), None),
            (json!("-"), None),
            (json!("abc"), None),
            (json!("0x10"), Some(0.0)),
            (json!("1,5"), Some(1.0)),
            (json!("\u{a0}\u{feff}\n7"), Some(7.0)),
            (json!("\u{85}7"), None),
            (json!(true), None),
            (json!({"a": 1}), None),
            (json!(99.99), Some(99.99)),
            (json!(1500), Some(1500.0)),
            (json!(["2.5", 3]), Some(2.5)),
            (json!([]), None),
        ] {
            assert_eq!(parse_float(&v), esperado, "{v}");
        }
        assert_eq!(parse_float_str("Infinity"), Some(f64::INFINITY));
        assert_eq!(parse_float_str("-Infinityx"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_float_str("1e999"), Some(f64::INFINITY));
        assert_eq!(parse_float_str("infinity"), None);
        let menos_cero = parse_float(&json!(-0.0)).unwrap();
        assert!(menos_cero == 0.0 && menos_cero.is_sign_positive());
        assert!(parse_float_str("-0").unwrap().is_sign_negative());
    }
}
