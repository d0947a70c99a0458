//! The body of `POST /api/ventas` (sales.md §4.2), parsed once at the edge: a non-empty `items`
//! array of strict positive integers (Required, §8 #11), merged per product in order of first
//! appearance, and the trimmed `notas`.

use serde_json::Value;
use shared::Error;
use shared::http::{campo, texto_recortado};

pub const SIN_ITEMS: &str = "La venta debe incluir al menos un producto.";
/// `valido` without accent here (the quote's message has it).
pub const LINEA_INVALIDA: &str = "Cada item debe tener un producto valido y cantidad > 0.";

/// One merged line. `cantidad` is the sum of the merged lines and may exceed `i32`; such a line
/// always fails the stock rule (stock is an `i32`), so it is never written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Linea {
    pub producto_id: i32,
    pub cantidad: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NuevaVenta {
    pub lineas: Vec<Linea>,
    /// Trimmed; `None` when empty or not a string.
    pub notas: Option<String>,
}

/// A top-level non-object (array, number, string) is a malformed body (§1.4 Required): 400 with
/// the endpoint's generic message, like invalid JSON.
pub fn nueva_venta(cuerpo: &Value) -> Result<NuevaVenta, Error> {
    if !cuerpo.is_object() {
        return Err(Error::CuerpoInvalido);
    }
    let items = match campo(cuerpo, "items").and_then(Value::as_array) {
        Some(a) if !a.is_empty() => a,
        _ => return Err(Error::bad_request(SIN_ITEMS)),
    };
    let mut lineas: Vec<Linea> = Vec::new();
    // Item by item: the first bad line decides (a `null` or non-object item has no fields).
    for item in items {
        let (Some(producto_id), Some(cantidad)) = (
            entero_positivo(campo(item, "productoId")),
            entero_positivo(campo(item, "cantidad")),
        ) else {
            return Err(Error::bad_request(LINEA_INVALIDA));
        };
        match lineas.iter_mut().find(|l| l.producto_id == producto_id) {
            Some(l) => l.cantidad += i64::from(cantidad),
            None => lineas.push(Linea {
                producto_id,
                cantidad: i64::from(cantidad),
            }),
        }
    }
    let notas = texto_recortado(cuerpo, "notas");
    Ok(NuevaVenta {
        lineas,
        notas: (!notas.is_empty()).then_some(notas),
    })
}

/// §4.2 Required: a JSON integer, or a string of ASCII digits only, with a value in
/// 1…2147483647. Fractions (`2.9`, `5.0`), exponents, signs, whitespace, `"7abc"`, booleans,
/// arrays and `null` are refused (the reference's `parseInt` accepted several of them).
fn entero_positivo(v: Option<&Value>) -> Option<i32> {
    let n = match v? {
        Value::Number(n) => n.as_i64()?,
        Value::String(s) => {
            if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse::<i64>().ok()?
        }
        _ => return None,
    };
    i32::try_from(n).ok().filter(|n| *n >= 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn enteros_positivos_estrictos() {
        for (v, esperado) in [
            (json!(5), Some(5)),
            (json!("5"), Some(5)),
            (json!("007"), Some(7)),
            (json!(2147483647), Some(i32::MAX)),
            (json!("2147483647"), Some(i32::MAX)),
            (json!(2147483648u64), None),
            (json!("2147483648"), None),
            (json!("99999999999"), None),
            (json!(0), None),
            (json!("0"), None),
            (json!(-3), None),
            (json!("-3"), None),
            (json!("+3"), None),
            (json!(" 7"), None),
            (json!(2.9), None),
            (json!(5.0), None),
            (json!("5.0"), None),
            (json!(1e3), None),
            (json!("1e3"), None),
            (json!("7abc"), None),
            (json!(""), None),
            (json!(true), None),
            (json!(null), None),
            (json!([5]), None),
            (json!({"n": 5}), None),
        ] {
            assert_eq!(entero_positivo(Some(&v)), esperado, "{v}");
        }
        assert_eq!(entero_positivo(None), None);
    }

    #[test]
    fn consolida_por_producto_en_orden_de_aparicion() {
        let v = nueva_venta(&json!({
            "items": [
                {"productoId": 9, "cantidad": 1},
                {"productoId": 3, "cantidad": "2"},
                {"productoId": 9, "cantidad": 4, "precioUnitario": 1},
            ],
            "notas": "  Mostrador  ",
            "clienteId": 5,
        }))
        .unwrap();
        assert_eq!(
            v.lineas,
            vec![
                Linea {
                    producto_id: 9,
                    cantidad: 5
                },
                Linea {
                    producto_id: 3,
                    cantidad: 2
                }
            ]
        );
        assert_eq!(v.notas.as_deref(), Some("Mostrador"));
        let v = nueva_venta(&json!({
            "items": [{"productoId": 1, "cantidad": 2147483647}, {"productoId": 1, "cantidad": 1}],
            "notas": 7,
        }))
        .unwrap();
        assert_eq!(v.lineas[0].cantidad, 2147483648);
        assert_eq!(v.notas, None);
    }

    #[test]
    fn errores_de_cuerpo() {
        let msg = |v: Value| match nueva_venta(&v) {
            Err(Error::BadRequest(m)) => m.to_string(),
            other => panic!("{other:?}"),
        };
        for v in [
            json!({}),
            json!({"items": []}),
            json!({"items": {"productoId": 1}}),
            json!({"items": "x"}),
        ] {
            assert_eq!(msg(v), SIN_ITEMS);
        }
        for v in [json!([1]), json!(5), json!("x"), json!(null)] {
            assert!(matches!(nueva_venta(&v), Err(Error::CuerpoInvalido)), "{v}");
        }
        for v in [
            json!({"items": [null]}),
            json!({"items": [{"productoId": 1}]}),
            json!({"items": [{"productoId": 1, "cantidad": 0}]}),
            json!({"items": [{"productoId": "1a", "cantidad": 1}]}),
            json!({"items": [{"productoId": 1, "cantidad": 1}, {"productoId": 2, "cantidad": 2.5}]}),
        ] {
            assert_eq!(msg(v), LINEA_INVALIDA);
        }
    }
}
