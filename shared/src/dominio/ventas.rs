//! Sales (sales.md §2, §4.2): the row types and their JSON ([`Venta`], [`VentaCreada`], as the
//! cancel answers and as `inventario.vender` builds the create's body), the requested lines of
//! a sale or a quote ([`lineas_pedidas`]) and their pricing before the locked write
//! ([`precios`], [`linea_a_precio`], [`total_escrito`]). The write itself is
//! `crate::dominio::escritura`. Money follows `shared::dinero` (exact decimal, half away from
//! zero, stored as `f64`).

use std::collections::HashMap;

use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::Value;

use crate::dominio::dinero;
use crate::dominio::escritura::LineaEscrita;
use crate::plataforma::db::{Consulta, Type};
use crate::plataforma::error::Error;
use crate::plataforma::http::campo;
use crate::plataforma::json::{ser_fecha, ser_fecha_opt, ser_numero};
use crate::plataforma::sesion::EmpresaId;

/// The `"Venta"` scalars (sales.md §2), serialized as §1.6 says.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Venta {
    pub id: i32,
    pub vendedor_id: Option<String>,
    pub cliente_id: Option<i32>,
    #[serde(serialize_with = "ser_numero")]
    pub total: f64,
    pub notas: Option<String>,
    #[serde(serialize_with = "ser_fecha")]
    pub creado_en: NaiveDateTime,
    #[serde(serialize_with = "ser_fecha_opt")]
    pub cancelada_en: Option<NaiveDateTime>,
    pub cancelada_por_id: Option<String>,
    pub motivo_cancelacion: Option<String>,
    pub empresa_id: String,
}

impl Venta {
    /// Columns in the order [`Venta::from_row`] reads them.
    pub const COLUMNAS: &'static str = r#""id", "vendedorId", "clienteId", "total", "notas", "creadoEn", "canceladaEn", "canceladaPorId", "motivoCancelacion", "empresaId""#;

    pub fn from_row(f: &tokio_postgres::Row, base: usize) -> Self {
        Self {
            id: f.get(base),
            vendedor_id: f.get(base + 1),
            cliente_id: f.get(base + 2),
            total: f.get(base + 3),
            notas: f.get(base + 4),
            creado_en: f.get(base + 5),
            cancelada_en: f.get(base + 6),
            cancelada_por_id: f.get(base + 7),
            motivo_cancelacion: f.get(base + 8),
            empresa_id: f.get(base + 9),
        }
    }
}

/// The product embedded in a sale line: only `{nombre, codigo}` (sales.md §4.2, §4.3).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ProductoDeItem {
    pub nombre: String,
    pub codigo: String,
}

/// An `"ItemVenta"` row with its product's `{nombre, codigo}`.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ItemVenta {
    pub id: i32,
    pub venta_id: i32,
    pub producto_id: i32,
    pub cantidad: i32,
    #[serde(serialize_with = "ser_numero")]
    pub precio_unitario: f64,
    #[serde(serialize_with = "ser_numero")]
    pub subtotal: f64,
    pub producto: ProductoDeItem,
}

impl ItemVenta {
    /// Columns (item alias `i`, product alias `p`) in the order [`ItemVenta::from_row`] reads them.
    pub const COLUMNAS: &'static str = r#"i."id", i."ventaId", i."productoId", i."cantidad", i."precioUnitario", i."subtotal", p."nombre", p."codigo""#;

    pub fn from_row(f: &tokio_postgres::Row, base: usize) -> Self {
        Self {
            id: f.get(base),
            venta_id: f.get(base + 1),
            producto_id: f.get(base + 2),
            cantidad: f.get(base + 3),
            precio_unitario: f.get(base + 4),
            subtotal: f.get(base + 5),
            producto: ProductoDeItem {
                nombre: f.get(base + 6),
                codigo: f.get(base + 7),
            },
        }
    }
}

/// A sale with its lines: the 201 body of `POST /api/ventas` (sales.md §4.2), items in id order.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct VentaCreada {
    #[serde(flatten)]
    pub venta: Venta,
    pub items: Vec<ItemVenta>,
}

/// The price of each of the empresa's products among `ids` (read without a lock, before the
/// locked write of `shared::escritura`: a direct sale is priced as the product is when it is
/// asked for). Ids of other empresas are absent.
pub async fn precios(
    c: &impl Consulta,
    empresa: &EmpresaId,
    ids: &[i32],
) -> Result<HashMap<i32, f64>, Error> {
    let filas = c
        .consulta(
            r#"SELECT "id", "precio" FROM "Producto" WHERE "empresaId" = $1 AND "id" = ANY($2)"#,
            &[(&empresa.as_str(), Type::TEXT), (&ids, Type::INT4_ARRAY)],
        )
        .await?;
    Ok(filas.iter().map(|f| (f.get(0), f.get(1))).collect())
}

/// A direct sale's line: the product's current price, `subtotal = precio × cantidad` in exact
/// decimal rounded half away from zero (sales.md §1.10). Without a price (not the empresa's
/// product) or above `i32` (it fails the stock check) the line is priced 0: it is never
/// written.
pub fn linea_a_precio(l: &LineaPedida, precio: Option<f64>) -> LineaEscrita {
    let (precio_unitario, subtotal) = match (precio, i32::try_from(l.cantidad)) {
        (Some(p), Ok(n)) => (p, dinero::a_f64(dinero::subtotal(p, n))),
        (Some(p), Err(_)) => (p, 0.0),
        (None, _) => (0.0, 0.0),
    };
    LineaEscrita {
        producto_id: l.producto_id,
        cantidad: l.cantidad,
        precio_unitario,
        subtotal,
    }
}

/// `total = Σ subtotal`, exact decimal, rounded (sales.md §1.10). For a conversion this is the
/// quote's total when the quote's total was computed the same way from the same subtotals.
pub fn total_escrito(lineas: &[LineaEscrita]) -> f64 {
    dinero::a_f64(dinero::total(
        lineas.iter().map(|l| dinero::decimal(l.subtotal)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lineas_y_total_en_decimal_exacto() {
        let l = |p: f64, n: i64| {
            linea_a_precio(
                &LineaPedida {
                    producto_id: 1,
                    cantidad: n,
                },
                Some(p),
            )
        };
        assert_eq!(total_escrito(&[l(0.1, 1), l(0.2, 1)]), 0.3);
        assert_eq!(l(19.99, 3).subtotal, 59.97);
        let x = l(1.005, 1);
        assert_eq!((x.precio_unitario, x.subtotal), (1.005, 1.01));
        let sin_precio = linea_a_precio(
            &LineaPedida {
                producto_id: 9,
                cantidad: 2,
            },
            None,
        );
        assert_eq!(
            (sin_precio.precio_unitario, sin_precio.subtotal),
            (0.0, 0.0)
        );
        assert_eq!(l(10.0, i64::from(i32::MAX) + 1).subtotal, 0.0);
    }

    #[test]
    fn venta_serializa_como_el_contrato() {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 6, 22)
            .unwrap()
            .and_hms_milli_opt(15, 4, 5, 123)
            .unwrap();
        let v = VentaCreada {
            venta: Venta {
                id: 42,
                vendedor_id: Some("u".into()),
                cliente_id: None,
                total: 300.0,
                notas: Some("Mostrador".into()),
                creado_en: t,
                cancelada_en: None,
                cancelada_por_id: None,
                motivo_cancelacion: None,
                empresa_id: "e".into(),
            },
            items: vec![ItemVenta {
                id: 77,
                venta_id: 42,
                producto_id: 5,
                cantidad: 3,
                precio_unitario: 100.0,
                subtotal: 300.0,
                producto: ProductoDeItem {
                    nombre: "Martillo".into(),
                    codigo: "HER-001".into(),
                },
            }],
        };
        assert_eq!(
            serde_json::to_value(&v).unwrap(),
            serde_json::json!({"id":42,"vendedorId":"u","clienteId":null,"total":300,"notas":"Mostrador",
                "creadoEn":"2026-06-22T15:04:05.123Z","canceladaEn":null,"canceladaPorId":null,
                "motivoCancelacion":null,"empresaId":"e",
                "items":[{"id":77,"ventaId":42,"productoId":5,"cantidad":3,"precioUnitario":100,"subtotal":300,
                          "producto":{"nombre":"Martillo","codigo":"HER-001"}}]})
        );
    }
}

/// One requested line of a sale or a quote after merging (sales.md §4.2 "Consolidation").
/// `cantidad` is the sum of the merged lines and may exceed `i32`; such a line always fails the
/// stock rule (stock is an `i32`), so it is never written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineaPedida {
    pub producto_id: i32,
    pub cantidad: i64,
}

/// The `items` of POST /api/ventas and POST /api/cotizaciones (§4.2, §4.5): a non-empty array
/// (else 400 `sin_items`), each line with strict positive integers (else 400 `linea_invalida`,
/// the first bad line decides), merged per product in order of first appearance.
pub fn lineas_pedidas(
    cuerpo: &Value,
    sin_items: &'static str,
    linea_invalida: &'static str,
) -> Result<Vec<LineaPedida>, Error> {
    let items = match campo(cuerpo, "items").and_then(Value::as_array) {
        Some(a) if !a.is_empty() => a,
        _ => return Err(Error::bad_request(sin_items)),
    };
    let mut lineas: Vec<LineaPedida> = Vec::new();
    for item in items {
        let (Some(producto_id), Some(cantidad)) = (
            entero_positivo(campo(item, "productoId")),
            entero_positivo(campo(item, "cantidad")),
        ) else {
            return Err(Error::bad_request(linea_invalida));
        };
        match lineas.iter_mut().find(|l| l.producto_id == producto_id) {
            Some(l) => l.cantidad += i64::from(cantidad),
            None => lineas.push(LineaPedida {
                producto_id,
                cantidad: i64::from(cantidad),
            }),
        }
    }
    Ok(lineas)
}

/// §4.2 Required: a JSON integer, or a string of ASCII digits only, with a value in
/// 1…2147483647. Fractions (`2.9`, `5.0`), exponents, signs, whitespace, `"7abc"`, booleans,
/// arrays and `null` are refused (the reference's `parseInt` accepted several of them).
pub fn entero_positivo(v: Option<&Value>) -> Option<i32> {
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
mod tests_pedido {
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
}
