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
}
