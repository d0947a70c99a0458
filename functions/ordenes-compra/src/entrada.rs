//! The body of POST /api/ordenes-compra and POST /api/compras/sugerencias (purchasing.md §5.2,
//! §7.2), parsed at the edge in the spec's validation order. The supplier lookup sits between
//! `proveedorId` and `items`, so the two are separate steps; money is computed here, exactly
//! (sales.md §1.10), and a cost whose subtotal or total leaves the decimal range is the cost's
//! own 400 (our reading of §9 #10: it cannot be stored exactly).

use rust_decimal::Decimal;
use serde_json::Value;
use shared::js::{numero_js, recortar};
use shared::{Error, dinero};

pub const PROVEEDOR_INVALIDO: &str = "proveedorId inválido";
pub const SIN_ITEMS: &str = "La orden debe tener al menos un ítem";
pub const PRODUCTO_INVALIDO: &str = "productoId inválido en un ítem";
pub const CANTIDAD_INVALIDA: &str = "La cantidad de cada ítem debe ser un entero mayor a 0";
pub const COSTO_INVALIDO: &str =
    "El costo unitario de cada ítem debe ser un número mayor o igual a 0";

/// One requested line, in request order (duplicates are kept as separate lines).
#[derive(Clone, Debug, PartialEq)]
pub struct Linea {
    /// Integral, possibly outside 1…2³¹−1 (then "not found", never a 400).
    pub producto_id: f64,
    pub cantidad: i32,
    pub costo_unitario: f64,
    pub subtotal: Decimal,
}

/// §5.2 step 1: `Number(proveedorId)` must be an integer, else 400. `Ok(None)`: an integer no row
/// can have (outside 1…2³¹−1, e.g. `null` → 0), which the caller answers with the supplier's 404.
pub fn proveedor_id(cuerpo: &Value) -> Result<Option<i32>, Error> {
    // An absent key is `undefined`, NaN for Number() (unlike `null`, which is 0).
    match cuerpo.get("proveedorId").and_then(numero_js) {
        Some(f) if f.is_finite() && f.fract() == 0.0 => Ok(id_de_fila(f)),
        _ => Err(Error::bad_request(PROVEEDOR_INVALIDO)),
    }
}

/// An integral value as a row id, when it can be one.
pub fn id_de_fila(f: f64) -> Option<i32> {
    (1.0..=f64::from(i32::MAX)).contains(&f).then_some(f as i32)
}

/// A JSON number with an integral value (`5.0` is 5; strings, booleans and `null` are not).
fn entero(v: Option<&Value>) -> Option<f64> {
    v.and_then(Value::as_f64)
        .filter(|f| f.is_finite() && f.fract() == 0.0)
}

/// §5.2 steps 3–4: a non-empty array, then each item in order — `productoId`, `cantidad`
/// (`1…2147483647`, Required), `costoUnitario` (a JSON number `≥ 0`) — first failure wins; then
/// the total. Returns the lines and the rounded total.
pub fn lineas(cuerpo: &Value) -> Result<(Vec<Linea>, Decimal), Error> {
    let items = match cuerpo.get("items") {
        Some(Value::Array(a)) if !a.is_empty() => a,
        _ => return Err(Error::bad_request(SIN_ITEMS)),
    };
    let mut lineas = Vec::with_capacity(items.len());
    for item in items {
        let producto_id =
            entero(item.get("productoId")).ok_or_else(|| Error::bad_request(PRODUCTO_INVALIDO))?;
        let cantidad = entero(item.get("cantidad"))
            .filter(|c| (1.0..=f64::from(i32::MAX)).contains(c))
            .ok_or_else(|| Error::bad_request(CANTIDAD_INVALIDA))? as i32;
        let costo = item
            .get("costoUnitario")
            .and_then(Value::as_f64)
            .filter(|c| *c >= 0.0)
            .ok_or_else(|| Error::bad_request(COSTO_INVALIDO))?;
        // `-0` is stored as 0.
        let costo_unitario = if costo == 0.0 { 0.0 } else { costo };
        let subtotal = dinero::subtotal_exacto(costo_unitario, cantidad)
            .filter(|s| dinero::a_f64(*s).is_finite())
            .ok_or_else(|| Error::bad_request(COSTO_INVALIDO))?;
        lineas.push(Linea {
            producto_id,
            cantidad,
            costo_unitario,
            subtotal,
        });
    }
    let total = dinero::total_exacto(lineas.iter().map(|l| l.subtotal))
        .ok_or_else(|| Error::bad_request(COSTO_INVALIDO))?;
    Ok((lineas, total))
}

/// §5.2 Required (§9 #11): a string trimmed, blank or non-string → `None`.
pub fn notas(cuerpo: &Value) -> Option<String> {
    cuerpo
        .get("notas")
        .and_then(Value::as_str)
        .map(recortar)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(r: Result<impl std::fmt::Debug, Error>) -> String {
        match r {
            Err(Error::BadRequest(m)) => m.into_owned(),
            otro => panic!("{otro:?}"),
        }
    }

    #[test]
    fn proveedor_id_con_number_de_javascript() {
        for (v, esperado) in [
            (json!(5), Some(5)),
            (json!("5"), Some(5)),
            (json!(" 7 "), Some(7)),
            (json!(5.0), Some(5)),
            (json!(true), Some(1)),
            (json!(null), None),
            (json!(""), None),
            (json!(false), None),
            (json!(0), None),
            (json!(-3), None),
            (json!(2147483648u64), None),
            (json!([4]), Some(4)),
            (json!(1e300), None),
        ] {
            assert_eq!(
                proveedor_id(&json!({ "proveedorId": v })).unwrap(),
                esperado,
                "{v}"
            );
        }
        for v in [
            json!(5.5),
            json!("abc"),
            json!("5a"),
            json!({}),
            json!([1, 2]),
            json!("Infinity"),
        ] {
            assert_eq!(
                err(proveedor_id(&json!({ "proveedorId": v }))),
                PROVEEDOR_INVALIDO,
                "{v}"
            );
        }
        assert_eq!(err(proveedor_id(&json!({}))), PROVEEDOR_INVALIDO);
    }

    #[test]
    fn lineas_en_orden_sin_fusionar() {
        let (l, total) = lineas(&json!({"items": [
            {"productoId": 3, "cantidad": 2, "costoUnitario": 0.1},
            {"productoId": 3.0, "cantidad": 5.0, "costoUnitario": 0.2},
            {"productoId": 1e12, "cantidad": 2147483647, "costoUnitario": -0.0},
        ]}))
        .unwrap();
        assert_eq!(l.len(), 3);
        assert_eq!((l[0].producto_id, l[1].producto_id), (3.0, 3.0));
        assert_eq!(dinero::a_f64(l[1].subtotal), 1.0);
        assert_eq!(l[2].costo_unitario.to_bits(), 0f64.to_bits());
        assert_eq!(dinero::a_f64(total), 1.2);
    }

    #[test]
    fn errores_en_orden_de_validacion() {
        for (items, msg) in [
            (json!(null), SIN_ITEMS),
            (json!([]), SIN_ITEMS),
            (json!({}), SIN_ITEMS),
            (json!("x"), SIN_ITEMS),
            (json!([null]), PRODUCTO_INVALIDO),
            (
                json!([{"productoId": "1", "cantidad": 1, "costoUnitario": 1}]),
                PRODUCTO_INVALIDO,
            ),
            (
                json!([{"productoId": 1.5, "cantidad": 1, "costoUnitario": 1}]),
                PRODUCTO_INVALIDO,
            ),
            (
                json!([{"productoId": 1, "cantidad": "1", "costoUnitario": 1}]),
                CANTIDAD_INVALIDA,
            ),
            (
                json!([{"productoId": 1, "cantidad": 0, "costoUnitario": 1}]),
                CANTIDAD_INVALIDA,
            ),
            (
                json!([{"productoId": 1, "cantidad": 1.5, "costoUnitario": 1}]),
                CANTIDAD_INVALIDA,
            ),
            (
                json!([{"productoId": 1, "cantidad": 2147483648u64, "costoUnitario": 1}]),
                CANTIDAD_INVALIDA,
            ),
            (
                json!([{"productoId": 1, "cantidad": 1, "costoUnitario": -1}]),
                COSTO_INVALIDO,
            ),
            (
                json!([{"productoId": 1, "cantidad": 1, "costoUnitario": "1"}]),
                COSTO_INVALIDO,
            ),
            (json!([{"productoId": 1, "cantidad": 1}]), COSTO_INVALIDO),
            (
                json!([{"productoId": 1, "cantidad": 1000000, "costoUnitario": 1e25}]),
                COSTO_INVALIDO,
            ),
            (
                json!([{"productoId": 1, "cantidad": 1, "costoUnitario": 1e300}]),
                COSTO_INVALIDO,
            ),
            (
                json!([{"productoId": 1, "cantidad": 1, "costoUnitario": 7e28},
                    {"productoId": 1, "cantidad": 1, "costoUnitario": 7e28}]),
                COSTO_INVALIDO,
            ),
            // First failure wins, item by item.
            (
                json!([{"productoId": 1, "cantidad": 0, "costoUnitario": -1},
                    {"productoId": "x"}]),
                CANTIDAD_INVALIDA,
            ),
            (
                json!([{"productoId": 1, "cantidad": 1, "costoUnitario": 1},
                    {"productoId": "x", "cantidad": 0}]),
                PRODUCTO_INVALIDO,
            ),
        ] {
            assert_eq!(err(lineas(&json!({ "items": items }))), msg, "{items}");
        }
    }

    #[test]
    fn notas_recortadas() {
        assert_eq!(notas(&json!({"notas": "  a  "})), Some("a".into()));
        assert_eq!(notas(&json!({"notas": "   "})), None);
        assert_eq!(notas(&json!({"notas": 5})), None);
        assert_eq!(notas(&json!({"notas": {"a": 1}})), None);
        assert_eq!(notas(&json!({})), None);
    }
}
