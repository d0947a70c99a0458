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
pub fn es_espacio_js(c: char) -> bool {
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

/// `String.prototype.trim()`: strips JavaScript whitespace (see [`es_espacio_js`]) at both ends.
pub fn recortar(s: &str) -> &str {
    s.trim_matches(es_espacio_js)
}

/// `parseInt(s)` without a radix (catalog.md §1.4 `intNoRadix`): like [`parse_int_str`], but a
/// `0x`/`0X` prefix after the sign reads hexadecimal digits (`"0x10"` → 16, `"0x"` → NaN).
/// Saturates beyond `i64`.
pub fn parse_int_sin_base_str(s: &str) -> Option<i64> {
    let t = s.trim_start_matches(es_espacio_js);
    let (neg, resto) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (base, digitos) = match resto.get(..2) {
        Some("0x" | "0X") => (16, &resto[2..]),
        _ => (10, resto),
    };
    let run: &str = &digitos[..digitos
        .bytes()
        .take_while(|b| (*b as char).is_digit(base))
        .count()];
    if run.is_empty() {
        return None;
    }
    let v = i64::from_str_radix(run, base).unwrap_or(i64::MAX);
    Some(if neg { -v } else { v })
}

/// `Number.prototype.toString()` (`String(n)`): shortest round-trip digits, exponent notation
/// from 1e21 up and below 1e-6 (`15000`, `0.30000000000000004`, `1e+21`, `1.5e-7`, `-0` → `0`).
pub fn numero_a_texto(n: f64) -> String {
    if n.is_nan() {
        return "NaN".into();
    }
    if n.is_infinite() {
        return if n > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if n == 0.0 {
        return "0".into();
    }
    // Rust's `{:e}` prints the shortest round-trip digits: `d[.ddd]e<exp>`.
    let e = format!("{:e}", n.abs());
    let (mantisa, exp) = e.split_once('e').expect("LowerExp always has an exponent");
    let digitos: String = mantisa.chars().filter(|c| *c != '.').collect();
    let k = digitos.len() as i32;
    // ECMAScript Number::toString: value = 0.digitos × 10^n.
    let n_exp = exp.parse::<i32>().expect("integer exponent") + 1;
    let signo = if n < 0.0 { "-" } else { "" };
    let cuerpo = if k <= n_exp && n_exp <= 21 {
        format!("{digitos}{}", "0".repeat((n_exp - k) as usize))
    } else if 0 < n_exp && n_exp <= 21 {
        format!(
            "{}.{}",
            &digitos[..n_exp as usize],
            &digitos[n_exp as usize..]
        )
    } else if -6 < n_exp && n_exp <= 0 {
        format!("0.{}{digitos}", "0".repeat((-n_exp) as usize))
    } else {
        let e = n_exp - 1;
        let signo_e = if e < 0 { '-' } else { '+' };
        if k == 1 {
            format!("{digitos}e{signo_e}{}", e.abs())
        } else {
            format!("{}.{}e{signo_e}{}", &digitos[..1], &digitos[1..], e.abs())
        }
    };
    format!("{signo}{cuerpo}")
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

/// JavaScript's `Number(v)` for a JSON value; NaN is `None`. `null`, `false`, `""` and `[]` are
/// 0, `true` is 1; strings are trimmed and read whole as a decimal literal, `Infinity` or a
/// `0x`/`0o`/`0b` integer (`"5"` → 5, `" 12 "` → 12, `"12abc"` → NaN); an array of one element
/// is that element as a string (`[7]` → 7); objects and longer arrays are NaN.
pub fn numero_js(v: &Value) -> Option<f64> {
    match v {
        Value::Null => Some(0.0),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        Value::Number(n) => n.as_f64(),
        Value::String(s) => numero_js_str(s),
        Value::Array(a) => match a.as_slice() {
            [] => Some(0.0),
            [x] => match x {
                Value::Null => Some(0.0),
                Value::Bool(_) | Value::Object(_) => None,
                Value::Array(_) => numero_js(&Value::String(como_texto_js(x)?)),
                Value::String(s) => numero_js_str(s),
                Value::Number(n) => n.as_f64(),
            },
            _ => None,
        },
        Value::Object(_) => None,
    }
}

/// `Number(s)` of a string (ECMAScript `StringToNumber`).
pub fn numero_js_str(s: &str) -> Option<f64> {
    let t = recortar(s);
    if t.is_empty() {
        return Some(0.0);
    }
    for (prefijo, base) in [
        ("0x", 16),
        ("0X", 16),
        ("0o", 8),
        ("0O", 8),
        ("0b", 2),
        ("0B", 2),
    ] {
        if let Some(d) = t.strip_prefix(prefijo) {
            if d.is_empty() || !d.chars().all(|c| c.is_digit(base)) {
                return None;
            }
            return Some(d.chars().fold(0.0, |a, c| {
                a * f64::from(base) + f64::from(c.to_digit(base).unwrap_or(0))
            }));
        }
    }
    let (signo, cuerpo) = match t.as_bytes()[0] {
        b'-' => (-1.0, &t[1..]),
        b'+' => (1.0, &t[1..]),
        _ => (1.0, t),
    };
    if cuerpo == "Infinity" {
        return Some(signo * f64::INFINITY);
    }
    // StrUnsignedDecimalLiteral: digits [. digits] [e±digits] with at least one digit in the
    // mantissa; Rust's parser accepts more (`inf`, `nan`), so the shape is checked first.
    let b = cuerpo.as_bytes();
    let mut i = 0;
    let digitos = |i: &mut usize| {
        let ini = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - ini
    };
    let mut mantisa = digitos(&mut i);
    if i < b.len() && b[i] == b'.' {
        i += 1;
        mantisa += digitos(&mut i);
    }
    if mantisa == 0 {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if digitos(&mut i) == 0 {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    let texto = if cuerpo.starts_with('.') {
        format!("0{cuerpo}")
    } else {
        cuerpo.replace(".e", ".0e").replace(".E", ".0E")
    };
    texto.parse::<f64>().ok().map(|f| signo * f)
}

/// `Math.round(x)`: the nearest integer, halves toward +∞ (`2.5` → 3, `-2.5` → -2).
pub fn math_round(x: f64) -> f64 {
    let f = x.floor();
    if x - f >= 0.5 { f + 1.0 } else { f }
}

/// `Math.round(x * 100) / 100` (reports.md §1 `round2`, purchasing.md §7.1 `consumoDiario`).
pub fn round2(x: f64) -> f64 {
    math_round(x * 100.0) / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn number_como_javascript() {
        for (v, esperado) in [
            (json!(5), Some(5.0)),
            (json!("5"), Some(5.0)),
            (json!(" 12 "), Some(12.0)),
            (json!("\u{a0}7\n"), Some(7.0)),
            (json!("5.0"), Some(5.0)),
            (json!("5.5"), Some(5.5)),
            (json!(".5"), Some(0.5)),
            (json!("5."), Some(5.0)),
            (json!("1e3"), Some(1000.0)),
            (json!("-3"), Some(-3.0)),
            (json!("+3"), Some(3.0)),
            (json!("0x10"), Some(16.0)),
            (json!("0b101"), Some(5.0)),
            (json!("0o17"), Some(15.0)),
            (json!("Infinity"), Some(f64::INFINITY)),
            (json!("-Infinity"), Some(f64::NEG_INFINITY)),
            (json!(""), Some(0.0)),
            (json!("   "), Some(0.0)),
            (json!(null), Some(0.0)),
            (json!(false), Some(0.0)),
            (json!(true), Some(1.0)),
            (json!([]), Some(0.0)),
            (json!([7]), Some(7.0)),
            (json!(["8"]), Some(8.0)),
            (json!([null]), Some(0.0)),
            (json!([1, 2]), None),
            (json!({}), None),
            (json!("12abc"), None),
            (json!("abc"), None),
            (json!("1e"), None),
            (json!("."), None),
            (json!("0x"), None),
            (json!("-0x10"), None),
            (json!("infinity"), None),
            (json!("inf"), None),
            (json!("NaN"), None),
            (json!("1_000"), None),
            (json!("1,5"), None),
        ] {
            assert_eq!(numero_js(&v), esperado, "{v}");
        }
    }

    #[test]
    fn round2_como_math_round() {
        assert_eq!(round2(1.5), 1.5);
        assert_eq!(round2(1.0 / 3.0), 0.33);
        assert_eq!(round2(2.0 / 3.0), 0.67);
        assert_eq!(round2(0.125), 0.13);
        assert_eq!(round2(-0.125), -0.12);
        assert_eq!(math_round(2.5), 3.0);
        assert_eq!(math_round(-2.5), -2.0);
        assert_eq!(round2(0.0), 0.0);
    }

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

    #[test]
    fn recortar_como_javascript() {
        assert_eq!(recortar("\u{feff}\u{a0} a b\u{3000}\n"), "a b");
        assert_eq!(recortar("\u{85}x"), "\u{85}x");
    }

    #[test]
    fn parse_int_sin_base_lee_hexadecimal() {
        for (s, esperado) in [
            ("0x10", Some(16)),
            ("0X1f", Some(31)),
            ("-0x10", Some(-16)),
            ("0x", None),
            ("0xg", None),
            ("3.7", Some(3)),
            ("10 uds", Some(10)),
            (" 7", Some(7)),
            ("", None),
            ("abc", None),
            ("-0", Some(0)),
            ("99999999999999999999999", Some(i64::MAX)),
        ] {
            assert_eq!(parse_int_sin_base_str(s), esperado, "{s}");
        }
    }

    #[test]
    fn numeros_a_texto_como_javascript() {
        for (n, esperado) in [
            (15000.0, "15000"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e21, "1e+21"),
            (1.5e21, "1.5e+21"),
            (123456789012345680000.0, "123456789012345680000"),
            (0.000001, "0.000001"),
            (0.0000015, "0.0000015"),
            (1e-7, "1e-7"),
            (1.25e-7, "1.25e-7"),
            (-2.5, "-2.5"),
            (-0.0, "0"),
            (99.99, "99.99"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (f64::INFINITY, "Infinity"),
        ] {
            assert_eq!(numero_a_texto(n), esperado, "{n}");
        }
    }
}
