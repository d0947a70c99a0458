//! Serialization rules of sales.md §1.6: dates as `2026-06-22T15:04:05.123Z`, floats printed
//! like JavaScript numbers (`1500`, not `1500.0`).

use chrono::NaiveDateTime;
use serde::Serializer;
use serde_json::Value;

/// A `TIMESTAMP(3)` (UTC wall clock) as JavaScript's `Date.toISOString()`.
pub fn fecha(t: &NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// `#[serde(serialize_with = "shared::json::ser_fecha")]`
pub fn ser_fecha<S: Serializer>(t: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&fecha(t))
}

pub fn ser_fecha_opt<S: Serializer>(t: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&fecha(t)),
        None => s.serialize_none(),
    }
}

/// A double as JavaScript prints it: integral values without a fraction.
pub fn numero(v: f64) -> Value {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 9_007_199_254_740_992.0 {
        Value::from(v as i64)
    } else {
        serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
    }
}

pub fn ser_numero<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&numero(*v), s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeros_como_javascript() {
        assert_eq!(numero(1500.0).to_string(), "1500");
        assert_eq!(numero(99.99).to_string(), "99.99");
        assert_eq!(numero(0.1 + 0.2).to_string(), "0.30000000000000004");
        assert_eq!(numero(-3.0).to_string(), "-3");
    }

    #[test]
    fn fecha_con_milisegundos_y_z() {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 6, 22)
            .unwrap()
            .and_hms_milli_opt(15, 4, 5, 123)
            .unwrap();
        assert_eq!(fecha(&t), "2026-06-22T15:04:05.123Z");
    }
}
