//! Sale rules of sales.md §3, §4.2, §4.3. Both writes are one transaction that takes the locks
//! in the order documented in `shared::stock` (idempotency key, then the sale row, then the
//! products ascending), so a sale can neither oversell (the availability check runs under the
//! product locks) nor be restocked twice (the cancel flips `canceladaEn` conditionally before it
//! touches stock). A deadlock or serialization failure that still happens is retried once.
//! Audit rows and `STOCK_BAJO` notifications run after the commit, best-effort.

use std::collections::HashMap;

use http::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};
use shared::auditoria::{self, Evento};
use shared::calendario::{ahora_ms, mismo_dia_en_bogota};
use shared::db::{self, Consulta, Type};
use shared::escritura::{self, LineaEscrita, Rechazo, Resultado};
use shared::idempotencia::Clave;
use shared::json::fecha;
use shared::stock::{self, NuevoMovimiento, Producto, TipoMovimiento};
use shared::ventas::{self, ItemVenta, ProductoDeItem, Venta, VentaCreada};
use shared::{Ctx, Error, Estado, Respuesta};
use tracing::instrument;

use crate::entrada;

const VENTA_NO_ENCONTRADA: &str = "Venta no encontrada.";
const YA_CANCELADA: &str = "Esta venta ya fue cancelada.";
const OTRO_DIA: &str = "Solo se pueden cancelar ventas registradas el mismo día calendario.";

fn producto_no_encontrado(id: i32) -> Error {
    Error::not_found(format!(
        "Producto no encontrado o no pertenece a la empresa: {id}"
    ))
}

/// §4.2: prices read without a lock, then the one-round-trip locked write of
/// `shared::escritura` (retried once on a deadlock), then (after the commit) the audit row and
/// the `STOCK_BAJO` crossings.
pub async fn crear(
    estado: &Estado,
    ctx: &Ctx,
    pedido: &entrada::NuevaVenta,
    clave: Option<&Clave>,
) -> Result<Respuesta, Error> {
    let c = estado.pool.get().await?;
    let ids: Vec<i32> = pedido.lineas.iter().map(|l| l.producto_id).collect();
    let precios = ventas::precios(&c, &ctx.empresa, &ids).await?;
    // A line whose product is not the empresa's is written with price 0 here and refused under
    // the lock (in line order, so an earlier line's stock 400 still comes first).
    let lineas: Vec<LineaEscrita> = pedido
        .lineas
        .iter()
        .map(|l| ventas::linea_a_precio(l, precios.get(&l.producto_id).copied()))
        .collect();
    let total = ventas::total_escrito(&lineas);
    let notas = pedido.notas.as_deref();
    let nota_despues = notas.map(|n| format!(" — {n}")).unwrap_or_default();
    let venta = escritura::Venta {
        vendedor_id: ctx.usuario_id(),
        cliente_id: None,
        notas,
        total,
        lineas: &lineas,
        nota_antes: "Venta #",
        nota_despues: &nota_despues,
    };
    let vendida = match db::reintentar_una_vez(|| escritura::vender(&c, ctx, &venta, clave)).await?
    {
        Resultado::Hecho(v) => v,
        Resultado::Repetido(r) => return Ok(r),
        Resultado::Rechazado(Rechazo::ProductoNoEncontrado(id)) => {
            return Err(producto_no_encontrado(id));
        }
        Resultado::Rechazado(Rechazo::StockInsuficiente {
            nombre,
            solicitado,
            disponible,
            ..
        }) => return Err(stock::stock_insuficiente(&nombre, solicitado, disponible)),
        Resultado::Rechazado(r) => {
            return Err(Error::Interno(anyhow::anyhow!("venta rechazada: {r:?}")));
        }
    };
    drop(c);
    let cuerpo = vendida.cuerpo;
    tracing::info!(
        venta_id = cuerpo["id"].as_i64(),
        lineas = lineas.len(),
        "venta creada"
    );
    auditoria::registrar(
        estado,
        ctx,
        Evento::nuevo(
            "CREAR",
            "Venta",
            cuerpo["id"].as_i64().map(|id| id.to_string()),
            datos_auditoria_crear(&cuerpo),
        ),
    )
    .await;
    stock::notificar_stock_bajo(estado, &ctx.empresa, &vendida.cambios).await;
    Respuesta::json(StatusCode::CREATED, &cuerpo)
}

/// platform.md §8.3: `{despues: {id, total, totalItems, totalUnidades, notas, items: [...]}}`,
/// read off the response body (`POST /api/ventas`'s JSON).
fn datos_auditoria_crear(v: &Value) -> Value {
    let items = v["items"].as_array().map(Vec::as_slice).unwrap_or_default();
    let unidades: i64 = items.iter().filter_map(|i| i["cantidad"].as_i64()).sum();
    json!({
        "despues": {
            "id": v["id"],
            "total": v["total"],
            "totalItems": items.len(),
            "totalUnidades": unidades,
            "notas": v["notas"],
            "items": items.iter().map(|i| json!({
                "productoId": i["productoId"],
                "nombre": i["producto"]["nombre"],
                "codigo": i["producto"]["codigo"],
                "cantidad": i["cantidad"],
                "precioUnitario": i["precioUnitario"],
            })).collect::<Vec<_>>(),
        }
    })
}

/// The session user as embedded in a response: only `{id, nombre, email}` (sales.md §2).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct UsuarioEmbebido {
    pub id: String,
    pub nombre: String,
    pub email: String,
}

/// §4.3 success body: the sale's scalars, `items[]` with `producto {nombre, codigo}`, and
/// `canceladaPor`; no `vendedor`.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VentaCancelada {
    #[serde(flatten)]
    pub venta: VentaCreada,
    pub cancelada_por: UsuarioEmbebido,
}

/// §4.3: flip, day check, restock, then (after the commit) the audit row.
pub async fn cancelar(
    estado: &Estado,
    ctx: &Ctx,
    id: i32,
    motivo: Option<&str>,
) -> Result<VentaCancelada, Error> {
    let venta = db::reintentar_una_vez(|| cancelar_en_transaccion(estado, ctx, id, motivo)).await?;
    let v = &venta.venta.venta;
    tracing::info!(venta_id = v.id, "venta cancelada");
    auditoria::registrar(
        estado,
        ctx,
        Evento::nuevo(
            "ACTUALIZAR",
            "Venta",
            Some(v.id.to_string()),
            json!({
                "antes": { "canceladaEn": null },
                "despues": {
                    "canceladaEn": v.cancelada_en.as_ref().map(fecha),
                    "canceladaPorId": v.cancelada_por_id,
                    "motivoCancelacion": v.motivo_cancelacion,
                },
                "operacion": "CANCELAR_VENTA",
            }),
        ),
    )
    .await;
    Ok(venta)
}

#[instrument(skip_all)]
async fn cancelar_en_transaccion(
    estado: &Estado,
    ctx: &Ctx,
    id: i32,
    motivo: Option<&str>,
) -> Result<VentaCancelada, Error> {
    let empresa = ctx.empresa.as_str();
    let ahora = ahora_ms();
    let mut c = estado.pool.get().await?;
    let tx = db::transaccion(&mut c).await?;
    // Lock order 2: the sale row, taken by the conditional flip itself (§8 #2). Concurrent
    // cancels queue on the row; once the winner commits they re-check `"canceladaEn" IS NULL`,
    // change nothing and answer 409, so stock is returned exactly once.
    let filas = tx
        .consulta(
            &format!(
                r#"UPDATE "Venta" SET "canceladaEn" = $3, "canceladaPorId" = $4, "motivoCancelacion" = $5
                   WHERE "id" = $1 AND "empresaId" = $2 AND "canceladaEn" IS NULL
                   RETURNING {}"#,
                Venta::COLUMNAS
            ),
            &[
                (&id, Type::INT4),
                (&empresa, Type::TEXT),
                (&ahora, Type::TIMESTAMP),
                (&ctx.usuario.id, Type::TEXT),
                (&motivo, Type::TEXT),
            ],
        )
        .await?;
    let Some(fila) = filas.first() else {
        let existe = tx
            .consulta(
                r#"SELECT 1 FROM "Venta" WHERE "id" = $1 AND "empresaId" = $2"#,
                &[(&id, Type::INT4), (&empresa, Type::TEXT)],
            )
            .await?;
        return Err(if existe.is_empty() {
            Error::not_found(VENTA_NO_ENCONTRADA)
        } else {
            Error::conflict(YA_CANCELADA)
        });
    };
    let venta = Venta::from_row(fila, 0);
    // Dropping the transaction undoes the flip.
    if !mismo_dia_en_bogota(venta.creado_en, ahora) {
        return Err(Error::bad_request(OTRO_DIA));
    }
    let lineas: Vec<(i32, i32, i32, f64, f64)> = tx
        .consulta(
            r#"SELECT "id", "productoId", "cantidad", "precioUnitario", "subtotal"
               FROM "ItemVenta" WHERE "ventaId" = $1 ORDER BY "id""#,
            &[(&id, Type::INT4)],
        )
        .await?
        .iter()
        .map(|f| (f.get(0), f.get(1), f.get(2), f.get(3), f.get(4)))
        .collect();
    // Lock order 3: the products, ascending, before the increments (which run in item order).
    let ids: Vec<i32> = lineas.iter().map(|l| l.1).collect();
    let productos: HashMap<i32, Producto> = stock::bloquear_productos(&tx, &ctx.empresa, &ids)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let nota = format!("Devolución por cancelación de venta #{id}");
    let mut items = Vec::with_capacity(lineas.len());
    for (item_id, producto_id, cantidad, precio_unitario, subtotal) in lineas {
        let producto = productos.get(&producto_id).ok_or_else(|| {
            Error::Interno(anyhow::anyhow!(
                "producto {producto_id} de la venta {id} fuera de la empresa"
            ))
        })?;
        stock::aplicar_movimiento(
            &tx,
            &ctx.empresa,
            &NuevoMovimiento {
                producto_id,
                tipo: TipoMovimiento::Entrada,
                cantidad,
                notas: Some(&nota),
                venta_id: Some(id),
                orden_compra_id: None,
            },
        )
        .await?
        .ok_or_else(|| Error::Interno(anyhow::anyhow!("devolución rechazada")))?;
        items.push(ItemVenta {
            id: item_id,
            venta_id: id,
            producto_id,
            cantidad,
            precio_unitario,
            subtotal,
            producto: ProductoDeItem {
                nombre: producto.nombre.clone(),
                codigo: producto.codigo.clone(),
            },
        });
    }
    tx.commit().await?;
    let u = &ctx.usuario;
    Ok(VentaCancelada {
        venta: VentaCreada { venta, items },
        cancelada_por: UsuarioEmbebido {
            id: u.id.clone(),
            nombre: u.nombre.clone(),
            email: u.email.clone(),
        },
    })
}
