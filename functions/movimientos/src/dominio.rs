//! Ledger rules of movimientos.md §3–§6. A manual movement locks its product (the one lock order
//! of `shared::stock`), checks availability against the locked stock minus live reservations,
//! and writes stock, movement and audit row in one transaction, so concurrent exits serialise on
//! the row and can never take the stock below zero. Bulk delete removes manual rows only and
//! never adjusts stock (§2.2, §6).

use deadpool_postgres::Pool;
use serde::Serialize;
use serde_json::json;
use shared::auditoria::{self, Evento};
use shared::db::{self, Consulta, Type};
use shared::stock::{self, Movimiento, NuevoMovimiento, Producto, TipoMovimiento};
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

pub struct Nuevo<'a> {
    pub tipo: TipoMovimiento,
    pub producto_id: i32,
    pub cantidad: i32,
    pub notas: Option<&'a str>,
}

/// §5.3: lock → availability (exits) → stock and movement → audit row, all in one transaction;
/// `STOCK_BAJO` after the commit (§5.4).
pub async fn crear(
    estado: &Estado,
    ctx: &Ctx,
    n: &Nuevo<'_>,
) -> Result<MovimientoConProducto, Error> {
    let mut c = estado.pool.get().await?;
    let tx = db::transaccion(&mut c).await?;
    let producto = stock::bloquear_productos(&tx, &ctx.empresa, &[n.producto_id])
        .await?
        .pop()
        .ok_or_else(|| Error::not_found(PRODUCTO_NO_ENCONTRADO))?;
    // With the row locked, no other exit, sale or quote of this product runs until the commit,
    // so the stock and the reservations read here are the ones the update applies to.
    let disponible = match n.tipo {
        TipoMovimiento::Entrada => None,
        TipoMovimiento::Salida => {
            let reservado = stock::reservado(&tx, &ctx.empresa, &[producto.id])
                .await?
                .get(&producto.id)
                .copied()
                .unwrap_or(0);
            Some(stock::disponible(producto.cantidad, reservado))
        }
    };
    if let Some(d) = disponible
        && i64::from(n.cantidad) > d
    {
        return Err(stock::stock_insuficiente(
            &producto.nombre,
            n.cantidad.into(),
            d,
        ));
    }
    let aplicado = stock::aplicar_movimiento(
        &tx,
        &ctx.empresa,
        &NuevoMovimiento {
            producto_id: producto.id,
            tipo: n.tipo,
            cantidad: n.cantidad,
            notas: n.notas,
            venta_id: None,
            orden_compra_id: None,
        },
    )
    .await?;
    // `None` is the conditional update / CHECK refusing a negative stock: unreachable after the
    // check above, kept as a second wall with the same answer.
    let Some((movimiento, cambio)) = aplicado else {
        return Err(match disponible {
            Some(d) => stock::stock_insuficiente(&producto.nombre, n.cantidad.into(), d),
            None => Error::Interno(anyhow::anyhow!(
                "entrada rechazada por la condición de stock"
            )),
        });
    };
    let creado = MovimientoConProducto {
        movimiento,
        producto: Producto {
            cantidad: cambio.despues,
            ..producto
        },
    };
    // §5.3 step 6 / platform.md §8.3: in tx, ip fallback `''`.
    auditoria::registrar_en(
        &tx,
        ctx,
        &Evento {
            accion: "CREAR",
            entidad: "Movimiento",
            entidad_id: Some(creado.movimiento.id.to_string()),
            datos: Some(json!({ "despues": creado })),
            ip_defecto: Some(""),
        },
    )
    .await?;
    tx.commit().await?;
    drop(c);
    tracing::info!(
        movimiento_id = creado.movimiento.id,
        producto_id = creado.producto.id,
        tipo = n.tipo.as_str(),
        cantidad = n.cantidad,
        "movimiento creado"
    );
    if n.tipo == TipoMovimiento::Salida {
        stock::notificar_stock_bajo(estado, &ctx.empresa, &[cambio]).await;
    }
    Ok(creado)
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
        Evento {
            accion: "ELIMINAR",
            entidad: "Movimiento",
            entidad_id: None,
            datos: Some(json!({
                "operacion": "BULK_DELETE",
                "cantidad": cargados.len(),
                "movimientos": cargados
                    .iter()
                    .map(|m| json!({"id": m.id, "tipo": m.tipo, "cantidad": m.cantidad, "productoId": m.producto_id}))
                    .collect::<Vec<_>>(),
            })),
            ip_defecto: None,
        },
    )
    .await;
    Ok(encontrados)
}
