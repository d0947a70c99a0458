//! The body of POST /api/cotizaciones (sales.md §4.5), parsed once at the edge: strict positive
//! integer lines merged by product (order of first appearance), the customer name, the notes and
//! the validity window of §3.3.

use serde_json::Value;
use shared::Error;
use shared::http::{campo, texto_recortado};

const SIN_ITEMS: &str = "La cotización debe incluir al menos un producto.";
const LINEA_INVALIDA: &str = "Cada item debe tener un producto válido y cantidad > 0.";

/// §3.3: default and cap of `diasValidez`.
pub const DIAS_VALIDEZ_DEFECTO: i32 = 7;
pub const DIAS_VALIDEZ_MAX: i32 = 365;

pub use shared::ventas::LineaPedida as Linea;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NuevaCotizacion {
    pub lineas: Vec<Linea>,
    /// Customer name, trimmed; empty = no customer.
    pub cliente: String,
    pub notas: Option<String>,
    pub dias_validez: i32,
}

pub fn nueva_cotizacion(cuerpo: &Value) -> Result<NuevaCotizacion, Error> {
    let lineas = shared::ventas::lineas_pedidas(cuerpo, SIN_ITEMS, LINEA_INVALIDA)?;
    let notas = texto_recortado(cuerpo, "notas");
    Ok(NuevaCotizacion {
        lineas,
        cliente: texto_recortado(cuerpo, "cliente"),
        notas: (!notas.is_empty()).then_some(notas),
        dias_validez: dias_validez(campo(cuerpo, "diasValidez")),
    })
}

/// §3.3: a JSON number with an integral value `> 0`, capped at 365; anything else → 7.
fn dias_validez(v: Option<&Value>) -> i32 {
    match v.and_then(Value::as_f64) {
        Some(f) if f.is_finite() && f.fract() == 0.0 && f > 0.0 => {
            f.min(f64::from(DIAS_VALIDEZ_MAX)) as i32
        }
        _ => DIAS_VALIDEZ_DEFECTO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dias_de_validez_de_3_3() {
        for (v, esperado) in [
            (json!(10), 10),
            (json!(1), 1),
            (json!(365), 365),
            (json!(366), 365),
            (json!(1e9), 365),
            (json!(30.0), 30),
            (json!(0), 7),
            (json!(-3), 7),
            (json!(2.5), 7),
            (json!("10"), 7),
            (json!(null), 7),
            (json!(true), 7),
            (json!([10]), 7),
        ] {
            assert_eq!(dias_validez(Some(&v)), esperado, "{v}");
        }
        assert_eq!(dias_validez(None), 7);
    }

    #[test]
    fn lineas_fusionadas_en_orden_de_aparicion() {
        let n = nueva_cotizacion(&json!({
            "items": [
                {"productoId": 9, "cantidad": 1},
                {"productoId": 3, "cantidad": "2", "precioUnitario": 1},
                {"productoId": 9, "cantidad": 4},
            ],
            "cliente": "  Ana  ", "notas": "   ", "diasValidez": 3, "clienteId": 5,
        }))
        .unwrap();
        assert_eq!(
            n,
            NuevaCotizacion {
                lineas: vec![
                    Linea {
                        producto_id: 9,
                        cantidad: 5
                    },
                    Linea {
                        producto_id: 3,
                        cantidad: 2
                    },
                ],
                cliente: "Ana".into(),
                notas: None,
                dias_validez: 3,
            }
        );
        let n = nueva_cotizacion(&json!({
            "items": [{"productoId": 1, "cantidad": i32::MAX}, {"productoId": 1, "cantidad": 2}],
            "cliente": 42, "notas": " x ",
        }))
        .unwrap();
        assert_eq!(n.lineas[0].cantidad, i64::from(i32::MAX) + 2);
        assert_eq!((n.cliente.as_str(), n.notas.as_deref()), ("", Some("x")));
    }

    #[test]
    fn errores_de_items() {
        for cuerpo in [
            json!({}),
            json!({"items": []}),
            json!({"items": {}}),
            json!({"items": "x"}),
            json!([1]),
        ] {
            assert!(
                matches!(nueva_cotizacion(&cuerpo), Err(Error::BadRequest(m)) if m == SIN_ITEMS),
                "{cuerpo}"
            );
        }
        for items in [
            json!([null]),
            json!([{"productoId": 1}]),
            json!([{"productoId": 1, "cantidad": 1}, {"productoId": "a", "cantidad": 1}]),
            json!([{"productoId": 1, "cantidad": 0}]),
        ] {
            assert!(
                matches!(nueva_cotizacion(&json!({"items": items})), Err(Error::BadRequest(m)) if m == LINEA_INVALIDA),
                "{items}"
            );
        }
    }
}
