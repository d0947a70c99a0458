//! Restocking rules shared by the purchase suggestions (purchasing.md §7.1) and the analytics
//! `stockCritico` (reports.md §2.5): the exit set `E` of the last 30 days (exits of cancelled
//! sales excluded), the low-stock threshold of `stock::MARGEN_ALERTA_STOCK` and the suggested
//! quantity. One query computes consumption for every product of the tenant at once.

use crate::dominio::stock::MARGEN_ALERTA_STOCK;

/// `DIAS_VENTANA_CONSUMO`: consumption is measured over the last 30 days.
pub const DIAS_VENTANA_CONSUMO: i64 = 30;
/// `DIAS_COBERTURA_OBJETIVO`: a suggestion covers 14 days of consumption.
pub const DIAS_COBERTURA_OBJETIVO: f64 = 14.0;

/// `E` of reports.md §1.5 grouped by product, as a CTE body: `("productoId", "vendido")` over the
/// tenant `$1`'s `salida` movements with `creadoEn ≥ $2`, without the exits of cancelled sales.
pub const SQL_CONSUMO: &str = r#"SELECT m."productoId", sum(m."cantidad")::int8 AS "vendido"
    FROM "Movimiento" m
    LEFT JOIN "Venta" v ON v."id" = m."ventaId"
    WHERE m."empresaId" = $1 AND m."tipo" = 'salida' AND m."creadoEn" >= $2
      AND (m."ventaId" IS NULL OR v."canceladaEn" IS NULL)
    GROUP BY m."productoId""#;

/// The alert zone of catalog.md §3.3: `cantidad ≤ stockMinimo + 2` (raw values).
pub fn en_zona_critica(cantidad: i32, stock_minimo: i32) -> bool {
    i64::from(cantidad) <= i64::from(stock_minimo) + i64::from(MARGEN_ALERTA_STOCK)
}

/// Units per day over the window (unrounded; the JSON rounds it with `js::round2`).
pub fn consumo_diario(vendido: i64) -> f64 {
    vendido as f64 / DIAS_VENTANA_CONSUMO as f64
}

/// purchasing.md §7.1 step 5 / reports.md §2.5: `s = max(0, stockMinimo)`, `c = max(0, cantidad)`,
/// `k = max(0, consumoDiario)`, `umbral = s + 3`; `objetivo = max(2s, umbral)` without consumption,
/// else `max(umbral, ceil(14k) + s)` (in f64, as the reference); the result is `max(0, objetivo − c)`.
pub fn sugerencia(stock_minimo: i32, cantidad: i32, consumo_diario: f64) -> i64 {
    let s = i64::from(stock_minimo.max(0));
    let c = i64::from(cantidad.max(0));
    let k = consumo_diario.max(0.0);
    let umbral = s + i64::from(MARGEN_ALERTA_STOCK) + 1;
    let objetivo = if k == 0.0 {
        (2 * s).max(umbral)
    } else {
        umbral.max((k * DIAS_COBERTURA_OBJETIVO).ceil() as i64 + s)
    };
    (objetivo - c).max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ejemplos_de_purchasing_7_1_y_reports_2_5() {
        for ((m, q, vendido), esperado) in [
            ((5, 4, 45), 22),
            ((5, 7, 0), 3),
            ((0, 2, 0), 1),
            ((1, 3, 2), 1),
            ((10, 0, 1), 13),
            ((5, 5, 150), 70),
            ((3, -2, 0), 6),
            ((5, 5, 30), 14),
            ((5, 5, 0), 5),
            ((5, 0, 0), 10),
            ((1, 2, 0), 2),
            ((0, 0, 30), 14),
            ((1, 3, 15), 5),
        ] {
            assert_eq!(
                sugerencia(m, q, consumo_diario(vendido)),
                esperado,
                "{m} {q} {vendido}"
            );
        }
    }

    #[test]
    fn ceil_en_f64_coincide_con_el_entero_exacto() {
        // reports.md §2.5: ceil(14 × C/30) = ceil(7C/15); the f64 route of §7.1 agrees.
        for c in 0..200_000i64 {
            let f = (consumo_diario(c) * DIAS_COBERTURA_OBJETIVO).ceil() as i64;
            assert_eq!(f, (7 * c + 14) / 15, "C = {c}");
        }
    }

    #[test]
    fn zona_critica_con_margen_2() {
        assert!(en_zona_critica(7, 5));
        assert!(!en_zona_critica(8, 5));
        assert!(en_zona_critica(-3, -5));
        assert!(en_zona_critica(i32::MAX, i32::MAX));
    }
}
