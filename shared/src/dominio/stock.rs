//! Product stock, used by every function that moves it (productos, movimientos, ventas,
//! cotizaciones, órdenes de compra).
//!
//! **Lock order** (the one order of the whole codebase, so concurrent sales, conversions,
//! receipts and movements cannot deadlock): first the request's idempotency key when it has one
//! (`shared::idempotencia::reclamar`), then the parent document row (venta, cotizacion, orden de
//! compra) when there is one, then the `"Producto"` rows ascending by id, through
//! [`bloquear_productos`] or `inventario.bloquear` (the pipelined path of
//! `crate::dominio::escritura`, which takes key and products in one statement). Stock changes are `cantidad = cantidad ± n` with a condition, in the
//! same transaction as the movement row; the CHECK `"Producto_cantidad_no_negativa"`
//! (migration V3) is the second wall.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use tokio_postgres::error::SqlState;

use crate::plataforma::Estado;
use crate::plataforma::db::{Consulta, Type};
use crate::plataforma::error::Error;
use crate::plataforma::json::{ser_fecha, ser_numero};
use crate::plataforma::sesion::EmpresaId;

/// `MARGEN_ALERTA_STOCK` (catalog.md §3.3): low stock is `cantidad ≤ stockMinimo + 2`.
pub const MARGEN_ALERTA_STOCK: i32 = 2;
pub const CHECK_CANTIDAD: &str = "Producto_cantidad_no_negativa";

/// A `"Producto"` row as the API serializes it (catalog.md §5).
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Producto {
    pub id: i32,
    pub nombre: String,
    pub descripcion: Option<String>,
    pub codigo: String,
    #[serde(serialize_with = "ser_numero")]
    pub precio: f64,
    pub cantidad: i32,
    pub stock_minimo: i32,
    pub categoria_id: i32,
    #[serde(serialize_with = "ser_fecha")]
    pub creado_en: NaiveDateTime,
    pub empresa_id: String,
}

impl Producto {
    /// Columns in the order [`Producto::from_row`] reads them (prefix with an alias if needed).
    pub const COLUMNAS: &'static str = r#""id", "nombre", "descripcion", "codigo", "precio", "cantidad", "stockMinimo", "categoriaId", "creadoEn", "empresaId""#;

    /// The same columns qualified by a table alias, e.g. `p."id", p."nombre", …`.
    pub fn columnas(alias: &str) -> String {
        Self::COLUMNAS
            .split(", ")
            .map(|c| format!("{alias}.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn from_row(f: &tokio_postgres::Row, base: usize) -> Self {
        Self {
            id: f.get(base),
            nombre: f.get(base + 1),
            descripcion: f.get(base + 2),
            codigo: f.get(base + 3),
            precio: f.get(base + 4),
            cantidad: f.get(base + 5),
            stock_minimo: f.get(base + 6),
            categoria_id: f.get(base + 7),
            creado_en: f.get(base + 8),
            empresa_id: f.get(base + 9),
        }
    }
}

/// A `"Categoria"` row as the API serializes it (catalog.md §2), alone or nested in a product.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Categoria {
    pub id: i32,
    pub nombre: String,
    pub prefijo: String,
    pub empresa_id: String,
}

impl Categoria {
    /// Columns in the order [`Categoria::from_row`] reads them.
    pub const COLUMNAS: &'static str = r#""id", "nombre", "prefijo", "empresaId""#;

    pub fn from_row(f: &tokio_postgres::Row, base: usize) -> Self {
        Self {
            id: f.get(base),
            nombre: f.get(base + 1),
            prefijo: f.get(base + 2),
            empresa_id: f.get(base + 3),
        }
    }
}

/// Locks the empresa's products among `ids` (sorted and deduplicated here, so the lock order is
/// always ascending id) and returns them in that order; ids of other empresas are absent.
pub async fn bloquear_productos(
    tx: &impl Consulta,
    empresa: &EmpresaId,
    ids: &[i32],
) -> Result<Vec<Producto>, Error> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let filas = tx
        .consulta(
            &format!(
                r#"SELECT {} FROM "Producto" WHERE "empresaId" = $1 AND "id" = ANY($2)
                   ORDER BY "id" FOR UPDATE"#,
                Producto::COLUMNAS
            ),
            &[(&empresa.as_str(), Type::TEXT), (&ids, Type::INT4_ARRAY)],
        )
        .await?;
    Ok(filas.iter().map(|f| Producto::from_row(f, 0)).collect())
}

/// Units reserved by reserving quotes (sales.md §3.1: `PENDIENTE` and `validaHasta > now`, the
/// transaction's clock, every quote of the empresa) per product: `inventario.reservas`
/// (migration V6), the one definition, also read by the write statements of
/// `crate::dominio::escritura`.
pub async fn reservado(
    tx: &impl Consulta,
    empresa: &EmpresaId,
    ids: &[i32],
) -> Result<HashMap<i32, i64>, Error> {
    let filas = tx
        .consulta(
            r#"SELECT "productoId", "reservado" FROM inventario.reservas($1, $2)"#,
            &[(&empresa.as_str(), Type::TEXT), (&ids, Type::INT4_ARRAY)],
        )
        .await?;
    Ok(filas.iter().map(|f| (f.get(0), f.get(1))).collect())
}

/// The 400 of an exit or a sale above availability (sales.md §3.2/§3.4, movimientos.md §3).
pub fn stock_insuficiente(nombre: &str, cantidad: i64, disponible: i64) -> Error {
    Error::bad_request(format!(
        "Stock insuficiente para \"{nombre}\". Solicitas {cantidad}, disponible {disponible}."
    ))
}

/// `disponible = max(0, cantidad − reservado)`.
pub fn disponible(cantidad: i32, reservado: i64) -> i64 {
    (cantidad as i64 - reservado).max(0)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TipoMovimiento {
    Entrada,
    Salida,
}

impl TipoMovimiento {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Entrada => "entrada",
            Self::Salida => "salida",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "entrada" => Some(Self::Entrada),
            "salida" => Some(Self::Salida),
            _ => None,
        }
    }
}

/// A `"Movimiento"` row (movimientos.md §2.1).
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Movimiento {
    pub id: i32,
    pub producto_id: i32,
    pub tipo: String,
    pub cantidad: i32,
    pub notas: Option<String>,
    pub venta_id: Option<i32>,
    pub orden_compra_id: Option<i32>,
    #[serde(serialize_with = "ser_fecha")]
    pub creado_en: NaiveDateTime,
    pub empresa_id: String,
}

impl Movimiento {
    pub const COLUMNAS: &'static str = r#""id", "productoId", "tipo"::text, "cantidad", "notas", "ventaId", "ordenCompraId", "creadoEn", "empresaId""#;

    pub fn from_row(f: &tokio_postgres::Row, base: usize) -> Self {
        Self {
            id: f.get(base),
            producto_id: f.get(base + 1),
            tipo: f.get(base + 2),
            cantidad: f.get(base + 3),
            notas: f.get(base + 4),
            venta_id: f.get(base + 5),
            orden_compra_id: f.get(base + 6),
            creado_en: f.get(base + 7),
            empresa_id: f.get(base + 8),
        }
    }
}

pub struct NuevoMovimiento<'a> {
    pub producto_id: i32,
    pub tipo: TipoMovimiento,
    pub cantidad: i32,
    pub notas: Option<&'a str>,
    pub venta_id: Option<i32>,
    pub orden_compra_id: Option<i32>,
}

/// A product's stock before and after a movement (for `STOCK_BAJO`), also as the write
/// statements of `shared::dominio::escritura` return it.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CambioStock {
    pub producto_id: i32,
    pub nombre: String,
    pub antes: i32,
    pub despues: i32,
    pub stock_minimo: i32,
}

impl CambioStock {
    /// The downward crossing of platform.md §9.2: from `> stockMinimo + 2` to `≤ stockMinimo + 2`.
    pub fn cruza_stock_bajo(&self) -> bool {
        let umbral = self.stock_minimo + MARGEN_ALERTA_STOCK;
        self.antes > umbral && self.despues <= umbral
    }
}

/// Applies a movement inside the caller's transaction: the conditional stock update and the
/// movement row. `Ok(None)` when an exit would make the stock negative (the condition or the
/// CHECK refused it): the caller answers its own "insufficient stock" message. Call it only on
/// products locked with [`bloquear_productos`].
pub async fn aplicar_movimiento(
    tx: &impl Consulta,
    empresa: &EmpresaId,
    m: &NuevoMovimiento<'_>,
) -> Result<Option<(Movimiento, CambioStock)>, Error> {
    let delta: i32 = match m.tipo {
        TipoMovimiento::Entrada => m.cantidad,
        TipoMovimiento::Salida => -m.cantidad,
    };
    let actualizado = tx
        .consulta(
            r#"UPDATE "Producto" SET "cantidad" = "cantidad" + $3
               WHERE "id" = $1 AND "empresaId" = $2 AND "cantidad" + $3 >= 0
               RETURNING "nombre", "cantidad" - $3, "cantidad", "stockMinimo""#,
            &[
                (&m.producto_id, Type::INT4),
                (&empresa.as_str(), Type::TEXT),
                (&delta, Type::INT4),
            ],
        )
        .await;
    let filas = match actualizado {
        Err(e) if e.code() == Some(&SqlState::CHECK_VIOLATION) => return Ok(None),
        other => other?,
    };
    let Some(f) = filas.first() else {
        return Ok(None);
    };
    let cambio = CambioStock {
        producto_id: m.producto_id,
        nombre: f.get(0),
        antes: f.get(1),
        despues: f.get(2),
        stock_minimo: f.get(3),
    };
    let tipo = m.tipo.as_str();
    let filas = tx
        .consulta(
            &format!(
                r#"INSERT INTO "Movimiento" ("productoId", "tipo", "cantidad", "notas", "ventaId", "ordenCompraId", "empresaId", "creadoEn")
                   VALUES ($1, $2::text::"TipoMovimiento", $3, $4, $5, $6, $7, now() AT TIME ZONE 'UTC')
                   RETURNING {}"#,
                Movimiento::COLUMNAS
            ),
            &[
                (&m.producto_id, Type::INT4),
                (&tipo, Type::TEXT),
                (&m.cantidad, Type::INT4),
                (&m.notas, Type::TEXT),
                (&m.venta_id, Type::INT4),
                (&m.orden_compra_id, Type::INT4),
                (&empresa.as_str(), Type::TEXT),
            ],
        )
        .await?;
    Ok(Some((Movimiento::from_row(&filas[0], 0), cambio)))
}

/// After the commit, best-effort: one company-wide `STOCK_BAJO` row per downward crossing
/// (platform.md §9.2, sales.md §6, movimientos.md §5.4).
pub async fn notificar_stock_bajo(estado: &Estado, empresa: &EmpresaId, cambios: &[CambioStock]) {
    let cruces: Vec<&CambioStock> = cambios.iter().filter(|c| c.cruza_stock_bajo()).collect();
    if cruces.is_empty() {
        return;
    }
    let c = match estado.pool.get().await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error.message = %e, tipo = "STOCK_BAJO", "notificación no registrada");
            return;
        }
    };
    for cambio in cruces {
        let titulo = format!("Stock bajo: {}", cambio.nombre);
        let mensaje = format!(
            "Quedan {} unidades (mínimo {}).",
            cambio.despues, cambio.stock_minimo
        );
        let link = format!("/productos/{}", cambio.producto_id);
        let r = c
            .consulta(
                r#"INSERT INTO "Notificacion" ("tipo", "titulo", "mensaje", "link", "usuarioId", "empresaId", "creadoEn")
                   VALUES ('STOCK_BAJO', $1, $2, $3, NULL, $4, now() AT TIME ZONE 'UTC') RETURNING "id""#,
                &[
                    (&titulo, Type::TEXT),
                    (&mensaje, Type::TEXT),
                    (&link, Type::TEXT),
                    (&empresa.as_str(), Type::TEXT),
                ],
            )
            .await;
        if let Err(e) = r {
            tracing::warn!(error.message = %e, tipo = "STOCK_BAJO", "notificación no registrada");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cruce_de_stock_bajo() {
        let c = |antes, despues| CambioStock {
            producto_id: 1,
            nombre: "x".into(),
            antes,
            despues,
            stock_minimo: 5,
        };
        assert!(c(8, 7).cruza_stock_bajo());
        assert!(c(20, 0).cruza_stock_bajo());
        assert!(!c(7, 6).cruza_stock_bajo(), "staying below creates nothing");
        assert!(!c(9, 8).cruza_stock_bajo());
        assert_eq!(disponible(5, 7), 0);
        assert_eq!(disponible(10, 3), 7);
    }
}
