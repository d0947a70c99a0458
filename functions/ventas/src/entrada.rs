//! The body of `POST /api/ventas` (sales.md §4.2), parsed once at the edge: a non-empty `items`
//! array of strict positive integers (Required, §8 #11), merged per product in order of first
//! appearance, and the trimmed `notas`.

use serde_json::Value;
use shared::Error;
use shared::http::texto_recortado;

pub const SIN_ITEMS: &str = "La venta debe incluir al menos un producto.";
/// `valido` without accent here (the quote's message has it).
pub const LINEA_INVALIDA: &str = "Cada item debe tener un producto valido y cantidad > 0.";

pub use shared::ventas::LineaPedida as Linea;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NuevaVenta {
    pub lineas: Vec<Linea>,
    /// Trimmed; `None` when empty or not a string.
    pub notas: Option<String>,
}

/// The caller passes an object (`Peticion::json_objeto`: a top-level non-object is a 400 with
/// the endpoint's generic message, like invalid JSON).
pub fn nueva_venta(cuerpo: &Value) -> Result<NuevaVenta, Error> {
    let lineas = shared::ventas::lineas_pedidas(cuerpo, SIN_ITEMS, LINEA_INVALIDA)?;
    let notas = texto_recortado(cuerpo, "notas");
    Ok(NuevaVenta {
        lineas,
        notas: (!notas.is_empty()).then_some(notas),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
