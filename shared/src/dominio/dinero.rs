//! Money (sales.md §1.10, Required): line subtotals and totals in exact decimal arithmetic,
//! each stored value rounded half away from zero to 2 decimals (not rust_decimal's default
//! banker's rounding). The columns stay `DOUBLE PRECISION` (schema.md R1 is Breaking while the
//! reference runs on the same database); JSON keeps emitting numbers.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

/// A stored double as the decimal it was written as (shortest round-trip text: `0.1` → 0.1).
pub fn decimal(v: f64) -> Decimal {
    v.to_string()
        .parse::<Decimal>()
        .unwrap_or_else(|_| Decimal::from_f64_retain(v).unwrap_or_default())
}

pub fn redondear(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// `precio × cantidad`, rounded.
pub fn subtotal(precio: f64, cantidad: i32) -> Decimal {
    redondear(decimal(precio) * Decimal::from(cantidad))
}

/// Σ subtotals, rounded.
pub fn total(subtotales: impl IntoIterator<Item = Decimal>) -> Decimal {
    redondear(subtotales.into_iter().sum())
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
}
