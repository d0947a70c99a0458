//! The one sale writer (sales.md §4.2 steps 4–6, §4.7 step 7): `POST /api/ventas` and
//! `POST /api/cotizaciones/{id}/convertir` both create a sale through [`insertar_venta`], and
//! serialize it through [`Venta`] / [`VentaCreada`], so the two can never drift apart.
//!
//! Invariant: the caller has already taken the locks of `shared::stock` (idempotency key, parent
//! document, then [`crate::dominio::stock::bloquear_productos`]) and checked every line's availability
//! under them; this module only writes. Money follows `shared::dinero` (exact decimal, half away
//! from zero, stored as `f64`).

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;
use tokio_postgres::error::SqlState;

use crate::dominio::dinero;
use crate::dominio::stock::{CambioStock, Producto};
use crate::plataforma::db::{Consulta, Type};
use crate::plataforma::error::Error;
use crate::plataforma::http::campo;
use crate::plataforma::json::{ser_fecha, ser_fecha_opt, ser_numero};
use crate::plataforma::sesion::Ctx;

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

/// One line of a new sale. `producto` is the row returned by `bloquear_productos` (locked).
#[derive(Clone, Debug)]
pub struct LineaVenta {
    pub producto: Producto,
    pub cantidad: i32,
    /// Stored as `"precioUnitario"`: the current product price for a direct sale, the quoted
    /// (frozen) price for a conversion.
    pub precio_unitario: f64,
    /// Stored as `"subtotal"`, already rounded (see [`LineaVenta::a_precio_actual`]).
    pub subtotal: f64,
}

impl LineaVenta {
    /// A direct sale's line: the product's current price, `subtotal = precio × cantidad` in
    /// exact decimal rounded half away from zero (sales.md §1.10).
    pub fn a_precio_actual(producto: Producto, cantidad: i32) -> Self {
        let precio_unitario = producto.precio;
        Self {
            subtotal: dinero::a_f64(dinero::subtotal(precio_unitario, cantidad)),
            producto,
            cantidad,
            precio_unitario,
        }
    }

    /// A converted quote's line: price and subtotal copied 1:1 from the `ItemCotizacion`
    /// (sales.md §4.7: quoted prices are frozen).
    pub fn con_precio(
        producto: Producto,
        cantidad: i32,
        precio_unitario: f64,
        subtotal: f64,
    ) -> Self {
        Self {
            producto,
            cantidad,
            precio_unitario,
            subtotal,
        }
    }
}

/// What the sale row gets besides its lines.
#[derive(Clone, Copy, Debug)]
pub struct NuevaVenta<'a> {
    /// `"vendedorId"`: the session user for a direct sale; `quote.vendedorId ?? session user`
    /// for a conversion.
    pub vendedor_id: &'a str,
    /// `"clienteId"`: `None` for a direct sale (no customer input); the quote's customer for a
    /// conversion (sales.md §8 #6).
    pub cliente_id: Option<i32>,
    /// `"notas"`, already trimmed; `None` is stored as NULL.
    pub notas: Option<&'a str>,
}

/// `total = Σ subtotal`, exact decimal, rounded (sales.md §1.10). For a conversion this is the
/// quote's total when the quote's total was computed the same way from the same subtotals.
pub fn total(lineas: &[LineaVenta]) -> Decimal {
    dinero::total(lineas.iter().map(|l| dinero::decimal(l.subtotal)))
}

/// Inserts the `"Venta"`, one `"ItemVenta"` per line (in line order, so item ids ascend with
/// it), one `salida` `"Movimiento"` per line with `notas = nota_movimiento(ventaId)` and
/// `ventaId` set, and decrements each product's stock (`cantidad = cantidad − n`, conditional
/// on staying ≥ 0). Runs inside the caller's transaction and never commits.
///
/// Preconditions: every `lineas[i].producto` is a row of `ctx.empresa` locked by
/// `shared::stock::bloquear_productos` in this transaction, and availability was checked under
/// that lock. A stock that would still go negative (the conditional update or the CHECK
/// `Producto_cantidad_no_negativa` refusing it) is therefore a bug of the caller and comes back
/// as `Error::Interno`.
///
/// Returns the sale as both endpoints serialize it and the stock changes (one per distinct
/// product) for `shared::stock::notificar_stock_bajo` after the commit.
pub async fn insertar_venta(
    tx: &impl Consulta,
    ctx: &Ctx,
    venta: &NuevaVenta<'_>,
    lineas: &[LineaVenta],
    nota_movimiento: impl Fn(i32) -> String,
) -> Result<(VentaCreada, Vec<CambioStock>), Error> {
    if lineas.is_empty() {
        return Err(Error::Interno(anyhow::anyhow!("venta sin líneas")));
    }
    let empresa = ctx.empresa.as_str();
    let total = dinero::a_f64(total(lineas));
    let filas = tx
        .consulta(
            &format!(
                r#"INSERT INTO "Venta" ("vendedorId", "clienteId", "total", "notas", "empresaId", "creadoEn")
                   VALUES ($1, $2, $3, $4, $5, now() AT TIME ZONE 'UTC')
                   RETURNING {}"#,
                Venta::COLUMNAS
            ),
            &[
                (&venta.vendedor_id, Type::TEXT),
                (&venta.cliente_id, Type::INT4),
                (&total, Type::FLOAT8),
                (&venta.notas, Type::TEXT),
                (&empresa, Type::TEXT),
            ],
        )
        .await?;
    let cabecera = Venta::from_row(&filas[0], 0);

    let productos: Vec<i32> = lineas.iter().map(|l| l.producto.id).collect();
    let cantidades: Vec<i32> = lineas.iter().map(|l| l.cantidad).collect();
    let precios: Vec<f64> = lineas.iter().map(|l| l.precio_unitario).collect();
    let subtotales: Vec<f64> = lineas.iter().map(|l| l.subtotal).collect();
    // Rows go in in ordinality order, and the serial default is drawn row by row, so sorting
    // what comes back by id gives the lines' order.
    let mut ids: Vec<i32> = tx
        .consulta(
            r#"INSERT INTO "ItemVenta" ("ventaId", "productoId", "cantidad", "precioUnitario", "subtotal")
               SELECT $1, t.p, t.c, t.pu, t.s
               FROM unnest($2::int4[], $3::int4[], $4::float8[], $5::float8[]) WITH ORDINALITY AS t(p, c, pu, s, n)
               ORDER BY t.n
               RETURNING "id""#,
            &[
                (&cabecera.id, Type::INT4),
                (&productos, Type::INT4_ARRAY),
                (&cantidades, Type::INT4_ARRAY),
                (&precios, Type::FLOAT8_ARRAY),
                (&subtotales, Type::FLOAT8_ARRAY),
            ],
        )
        .await?
        .iter()
        .map(|f| f.get(0))
        .collect();
    ids.sort_unstable();
    let items: Vec<ItemVenta> = ids
        .iter()
        .zip(lineas)
        .map(|(id, l)| ItemVenta {
            id: *id,
            venta_id: cabecera.id,
            producto_id: l.producto.id,
            cantidad: l.cantidad,
            precio_unitario: l.precio_unitario,
            subtotal: l.subtotal,
            producto: ProductoDeItem {
                nombre: l.producto.nombre.clone(),
                codigo: l.producto.codigo.clone(),
            },
        })
        .collect();

    let cambios = descontar_stock(tx, ctx, &productos, &cantidades).await?;

    let nota = nota_movimiento(cabecera.id);
    tx.consulta(
        r#"INSERT INTO "Movimiento" ("productoId", "tipo", "cantidad", "notas", "ventaId", "ordenCompraId", "empresaId", "creadoEn")
           SELECT t.p, 'salida'::"TipoMovimiento", t.c, $3, $4, NULL, $5, now() AT TIME ZONE 'UTC'
           FROM unnest($1::int4[], $2::int4[]) WITH ORDINALITY AS t(p, c, n)
           ORDER BY t.n
           RETURNING "id""#,
        &[
            (&productos, Type::INT4_ARRAY),
            (&cantidades, Type::INT4_ARRAY),
            (&nota, Type::TEXT),
            (&cabecera.id, Type::INT4),
            (&empresa, Type::TEXT),
        ],
    )
    .await?;

    Ok((
        VentaCreada {
            venta: cabecera,
            items,
        },
        cambios,
    ))
}

/// `cantidad = cantidad − n` for every product in one statement (quantities of a repeated
/// product are summed first, so each row is updated once), conditional on staying ≥ 0.
async fn descontar_stock(
    tx: &impl Consulta,
    ctx: &Ctx,
    productos: &[i32],
    cantidades: &[i32],
) -> Result<Vec<CambioStock>, Error> {
    let actualizado = tx
        .consulta(
            r#"UPDATE "Producto" p SET "cantidad" = p."cantidad" - t.n
               FROM (SELECT u.p, sum(u.c)::int4 AS n FROM unnest($2::int4[], $3::int4[]) AS u(p, c)
                     GROUP BY u.p) t
               WHERE p."id" = t.p AND p."empresaId" = $1 AND p."cantidad" >= t.n
               RETURNING p."id", p."nombre", p."cantidad" + t.n, p."cantidad", p."stockMinimo""#,
            &[
                (&ctx.empresa.as_str(), Type::TEXT),
                (&productos, Type::INT4_ARRAY),
                (&cantidades, Type::INT4_ARRAY),
            ],
        )
        .await;
    let filas = match actualizado {
        Err(e) if e.code() == Some(&SqlState::CHECK_VIOLATION) => {
            return Err(Error::Interno(anyhow::Error::new(e).context(
                "venta: stock negativo (el llamador no bloqueó o no comprobó la disponibilidad)",
            )));
        }
        other => other?,
    };
    let mut distintos = productos.to_vec();
    distintos.sort_unstable();
    distintos.dedup();
    if filas.len() != distintos.len() {
        return Err(Error::Interno(anyhow::anyhow!(
            "venta: {} de {} productos sin stock suficiente o de otra empresa (el llamador no \
             bloqueó o no comprobó la disponibilidad)",
            distintos.len() - filas.len(),
            distintos.len()
        )));
    }
    let mut cambios: Vec<CambioStock> = filas
        .iter()
        .map(|f| CambioStock {
            producto_id: f.get(0),
            nombre: f.get(1),
            antes: f.get(2),
            despues: f.get(3),
            stock_minimo: f.get(4),
        })
        .collect();
    cambios.sort_by_key(|c| c.producto_id);
    Ok(cambios)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn producto(precio: f64) -> Producto {
        Producto {
            id: 1,
            nombre: "x".into(),
            descripcion: None,
            codigo: "X".into(),
            precio,
            cantidad: 10,
            stock_minimo: 1,
            categoria_id: 1,
            creado_en: NaiveDateTime::default(),
            empresa_id: "e".into(),
        }
    }

    #[test]
    fn lineas_y_total_en_decimal_exacto() {
        let l = [
            LineaVenta::a_precio_actual(producto(0.1), 1),
            LineaVenta::a_precio_actual(producto(0.2), 1),
        ];
        assert_eq!(dinero::a_f64(total(&l)), 0.3);
        let l = LineaVenta::a_precio_actual(producto(19.99), 3);
        assert_eq!(l.subtotal, 59.97);
        let l = LineaVenta::a_precio_actual(producto(1.005), 1);
        assert_eq!((l.precio_unitario, l.subtotal), (1.005, 1.01));
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
