//! Ledger rules of movimientos.md §3–§6. A manual movement locks its product (the one lock order
//! of `shared::stock`), checks availability against the locked stock minus live reservations,
//! and writes stock, movement and audit row in one transaction (`shared::escritura::mover`), so
//! concurrent exits serialise on the row and can never take the stock below zero. Bulk delete removes manual rows only and
//! never adjusts stock (§2.2, §6).

use deadpool_postgres::Pool;
use serde::Serialize;
use serde_json::{Value, json};
use shared::auditoria::{self, Evento};
use shared::db::{self, Consulta, Type};
use shared::escritura::{self, Rechazo, Resultado};
use shared::stock::{self, Movimiento, Producto, TipoMovimiento};
use shared::{Ctx, Error, Estado};

const PRODUCTO_NO_ENCONTRADO: &str = "Producto no encontrado o no pertenece a la empresa";
const NINGUNO_ENCONTRADO: &str = "No se encontró ningún movimiento con esos IDs.";

fn de_ventas(n: usize) -> Error {
    Error::conflict(format!(
        "{n} movimiento(s) provienen de ventas o cancelaciones y no se pueden borrar. Filtra solo movimientos manuales o usa \"Restablecer datos\"."
    ))
}

fn de_ordenes_de_compra(n: usize) -> Error {
    Error::conflict(format!(
        "{n} movimiento(s) provienen de órdenes de compra y no se pueden borrar. Filtra solo movimientos manuales o usa \"Restablecer datos\"."
    ))
}

/// A movement with its product's current row (§4, §5.5).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct MovimientoConProducto {
    #[serde(flatten)]
    pub movimiento: Movimiento,
    pub producto: Producto,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pagina {
    items: Vec<MovimientoConProducto>,
    next_cursor: Option<i32>,
    total: usize,
}

/// §4: newest first, keyset `id < cursor` (Required: no existence requirement on the cursor).
pub async fn listar(
    pool: &Pool,
    ctx: &Ctx,
    limite: i64,
    cursor: Option<i32>,
) -> Result<Pagina, Error> {
    let c = pool.get().await?;
    // The page is cut in the subquery, so only `limite + 1` products are joined.
    let filas = c
        .consulta(
            &format!(
                r#"SELECT m.*, {}
                   FROM (SELECT {} FROM "Movimiento"
                         WHERE "empresaId" = $1 AND ($2::int4 IS NULL OR "id" < $2)
                         ORDER BY "id" DESC LIMIT $3) m
                   JOIN "Producto" p ON p."id" = m."productoId"
                   ORDER BY m."id" DESC"#,
                Producto::columnas("p"),
                Movimiento::COLUMNAS,
            ),
            &[
                (&ctx.empresa.as_str(), Type::TEXT),
                (&cursor, Type::INT4),
                (&(limite + 1), Type::INT8),
            ],
        )
        .await?;
    let mut items: Vec<MovimientoConProducto> = filas
        .iter()
        .map(|f| MovimientoConProducto {
            movimiento: Movimiento::from_row(f, 0),
            producto: Producto::from_row(f, 9),
        })
        .collect();
    let next_cursor = if items.len() as i64 > limite {
        items.truncate(limite as usize);
        items.last().map(|m| m.movimiento.id)
    } else {
        None
    };
    Ok(Pagina {
        total: items.len(),
        items,
        next_cursor,
    })
}

/// §5.3: lock → availability (exits) → stock, movement and audit row (platform.md §8.3: in the
/// transaction, ip fallback `''`), one pipelined round trip through `shared::escritura`;
/// `STOCK_BAJO` after the commit (§5.4). Returns the body: the movement with its product.
pub async fn crear(
    estado: &Estado,
    ctx: &Ctx,
    m: &escritura::Movimiento<'_>,
) -> Result<Value, Error> {
    let c = estado.pool.get().await?;
    let movido = match db::reintentar_una_vez(|| escritura::mover(&c, ctx, m, "")).await? {
        Resultado::Hecho(movido) => movido,
        Resultado::Rechazado(Rechazo::StockInsuficiente {
            nombre,
            solicitado,
            disponible,
            ..
        }) => return Err(stock::stock_insuficiente(&nombre, solicitado, disponible)),
        Resultado::Rechazado(Rechazo::ProductoNoEncontrado(_)) => {
            return Err(Error::not_found(PRODUCTO_NO_ENCONTRADO));
        }
        Resultado::Rechazado(r) => {
            return Err(Error::Interno(anyhow::anyhow!(
                "movimiento rechazado: {r:?}"
            )));
        }
        Resultado::Repetido(_) => {
            return Err(Error::Interno(anyhow::anyhow!(
                "movimiento sin clave repetido"
            )));
        }
    };
    drop(c);
    tracing::info!(
        movimiento_id = movido.cuerpo["id"].as_i64(),
        producto_id = m.producto_id,
        tipo = m.tipo.as_str(),
        cantidad = m.cantidad,
        "movimiento creado"
    );
    if m.tipo == TipoMovimiento::Salida {
        stock::notificar_stock_bajo(estado, &ctx.empresa, &[movido.cambio]).await;
    }
    Ok(movido.cuerpo)
}

struct Cargado {
    id: i32,
    venta_id: Option<i32>,
    orden_compra_id: Option<i32>,
    tipo: String,
    cantidad: i32,
    producto_id: i32,
}

/// §6: all or nothing; sale-linked rows are refused first, then purchase-order receipts
/// (Required). The rows are locked so the set deleted is the set checked. Stock is untouched.
pub async fn eliminar_varios(estado: &Estado, ctx: &Ctx, ids: &[i32]) -> Result<Vec<i32>, Error> {
    let mut c = estado.pool.get().await?;
    let empresa = ctx.empresa.as_str();
    let ids = ids.to_vec();
    let tx = db::transaccion(&mut c).await?;
    let cargados: Vec<Cargado> = tx
        .consulta(
            r#"SELECT "id", "ventaId", "ordenCompraId", "tipo"::text, "cantidad", "productoId"
               FROM "Movimiento" WHERE "empresaId" = $1 AND "id" = ANY($2)
               ORDER BY "id" FOR UPDATE"#,
            &[(&empresa, Type::TEXT), (&ids, Type::INT4_ARRAY)],
        )
        .await?
        .iter()
        .map(|f| Cargado {
            id: f.get(0),
            venta_id: f.get(1),
            orden_compra_id: f.get(2),
            tipo: f.get(3),
            cantidad: f.get(4),
            producto_id: f.get(5),
        })
        .collect();
    if cargados.is_empty() {
        return Err(Error::not_found(NINGUNO_ENCONTRADO));
    }
    let ventas = cargados.iter().filter(|m| m.venta_id.is_some()).count();
    if ventas > 0 {
        return Err(de_ventas(ventas));
    }
    let ordenes = cargados
        .iter()
        .filter(|m| m.orden_compra_id.is_some())
        .count();
    if ordenes > 0 {
        return Err(de_ordenes_de_compra(ordenes));
    }
    let encontrados: Vec<i32> = cargados.iter().map(|m| m.id).collect();
    tx.consulta(
        r#"DELETE FROM "Movimiento" WHERE "empresaId" = $1 AND "id" = ANY($2) RETURNING "id""#,
        &[(&empresa, Type::TEXT), (&encontrados, Type::INT4_ARRAY)],
    )
    .await?;
    tx.commit().await?;
    drop(c);
    auditoria::registrar(
        estado,
        ctx,
        Evento::nuevo(
            "ELIMINAR",
            "Movimiento",
            None,
            json!({
                "operacion": "BULK_DELETE",
                "cantidad": cargados.len(),
                "movimientos": cargados
                    .iter()
                    .map(|m| json!({"id": m.id, "tipo": m.tipo, "cantidad": m.cantidad, "productoId": m.producto_id}))
                    .collect::<Vec<_>>(),
            }),
        ),
    )
    .await;
    Ok(encontrados)
}
