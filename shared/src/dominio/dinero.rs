//! Money (sales.md §1.10, Required): line subtotals and totals in exact decimal arithmetic,
//! each stored value rounded half away from zero to 2 decimals (not rust_decimal's default
//! banker's rounding). The columns stay `DOUBLE PRECISION` (schema.md R1 is Breaking while the
//! reference runs on the same database); JSON keeps emitting numbers. Every step is checked: a
//! value outside `Decimal`'s range (about ±7.9e28) is `None`, never a panic or a silent 0.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

/// A stored double as the decimal it was written as (shortest round-trip text: `0.1` → 0.1);
/// `None` when it is not finite or beyond `Decimal`'s range (`1e300`).
pub fn decimal_exacto(v: f64) -> Option<Decimal> {
    if !v.is_finite() {
        return None;
    }
    v.to_string()
        .parse::<Decimal>()
        .ok()
        .or_else(|| Decimal::from_f64_retain(v))
}

/// [`decimal_exacto`] for values already known to be in range (stored prices); out of range → 0.
pub fn decimal(v: f64) -> Decimal {
    decimal_exacto(v).unwrap_or_default()
}

pub fn redondear(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// `precio × cantidad`, rounded; `None` when it cannot be computed exactly (out of range).
pub fn subtotal_exacto(precio: f64, cantidad: i32) -> Option<Decimal> {
    decimal_exacto(precio)?
        .checked_mul(Decimal::from(cantidad))
        .map(redondear)
}

/// Σ subtotals, rounded; `None` on overflow.
pub fn total_exacto(subtotales: impl IntoIterator<Item = Decimal>) -> Option<Decimal> {
    subtotales
        .into_iter()
        .try_fold(Decimal::ZERO, |a, s| a.checked_add(s))
        .map(redondear)
}

/// `precio × cantidad`, rounded, for prices the catalogue already bounds (ventas,
/// cotizaciones); saturates instead of panicking.
pub fn subtotal(precio: f64, cantidad: i32) -> Decimal {
    subtotal_exacto(precio, cantidad).unwrap_or(Decimal::MAX)
}

/// Σ subtotals, rounded; saturates instead of panicking (see [`total_exacto`]).
pub fn total(subtotales: impl IntoIterator<Item = Decimal>) -> Decimal {
    total_exacto(subtotales).unwrap_or(Decimal::MAX)
}

/// The value to store in a `DOUBLE PRECISION` column.
pub fn a_f64(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exacto_y_mitad_lejos_de_cero() {
        assert_eq!(a_f64(total([subtotal(0.1, 1), subtotal(0.2, 1)])), 0.3);
        assert_eq!(
            a_f64(subtotal(1.005, 1)),
            1.01,
            "half away from zero, from the decimal 1.005"
        );
        assert_eq!(a_f64(subtotal(0.125, 1)), 0.13, "not banker's (0.12)");
        assert_eq!(a_f64(subtotal(1500.0, 3)), 4500.0);
        assert_eq!(a_f64(subtotal(19.99, 3)), 59.97);
    }

    #[test]
    fn fuera_de_rango_es_none_sin_panico() {
        assert_eq!(subtotal_exacto(1e25, 1_000_000), None);
        assert_eq!(subtotal_exacto(1e300, 1), None);
        assert_eq!(subtotal_exacto(f64::INFINITY, 1), None);
        assert_eq!(decimal_exacto(f64::NAN), None);
        assert_eq!(a_f64(subtotal_exacto(1e25, 2).unwrap()), 2e25);
        let grande = subtotal_exacto(7e28, 1).unwrap();
        assert_eq!(total_exacto([grande, grande]), None);
        assert_eq!(
            total_exacto([
                subtotal_exacto(0.1, 1).unwrap(),
                subtotal_exacto(0.2, 1).unwrap()
            ]),
            Some(Decimal::new(3, 1))
        );
        assert_eq!(subtotal(1e300, 1), Decimal::MAX, "saturates, never panics");
    }
}
