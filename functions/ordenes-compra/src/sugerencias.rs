//! GET /api/compras/sugerencias (purchasing.md §7.1): one set-based query over every product of
//! the tenant (Required §9 #8: no 500-product cap) with its 30-day consumption `E` (exits of
//! cancelled sales excluded, `shared::reposicion::SQL_CONSUMO`) and the supplier of its most
//! recent non-cancelled order (ties on `creadoEn` → the higher order id, our reading); the
//! formula and the low-stock filter come from `shared::reposicion`.

use deadpool_postgres::Pool;
use serde::Serialize;
use shared::db::{Consulta, Type};
use shared::js::round2;
use shared::json::ser_numero;
use shared::reposicion::{self, DIAS_VENTANA_CONSUMO};
use shared::stock::MARGEN_ALERTA_STOCK;
use shared::{Ctx, Error, calendario};

#[derive(Serialize)]
pub struct ProveedorSugerido {
    pub id: i32,
    pub nombre: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sugerencia {
    pub producto_id: i32,
    pub nombre: String,
    pub codigo: String,
    pub stock_actual: i32,
    pub stock_minimo: i32,
    #[serde(serialize_with = "ser_numero")]
    pub consumo_diario: f64,
    pub sugerencia: i64,
    pub proveedor_sugerido: Option<ProveedorSugerido>,
}

pub async fn listar(pool: &Pool, ctx: &Ctx) -> Result<Vec<Sugerencia>, Error> {
    let desde = calendario::ahora_ms() - chrono::TimeDelta::days(DIAS_VENTANA_CONSUMO);
    let c = pool.get().await?;
    let filas = c
        .consulta(
            &format!(
                r#"WITH consumo AS ({}),
                   criticos AS (
                     SELECT p."id", p."nombre", p."codigo", p."cantidad", p."stockMinimo"
                     FROM "Producto" p
                     WHERE p."empresaId" = $1
                       AND p."cantidad"::int8 <= p."stockMinimo"::int8 + $3)
                   SELECT k."id", k."nombre", k."codigo", k."cantidad", k."stockMinimo",
                          coalesce(c."vendido", 0)::int8, u."proveedorId", u."nombre"
                   FROM criticos k
                   LEFT JOIN consumo c ON c."productoId" = k."id"
                   LEFT JOIN LATERAL (
                     SELECT o."proveedorId", pr."nombre"
                     FROM "OrdenCompraItem" i
                     JOIN "OrdenCompra" o ON o."id" = i."ordenCompraId"
                     JOIN "Proveedor" pr ON pr."id" = o."proveedorId"
                     WHERE i."productoId" = k."id" AND o."empresaId" = $1
                       AND o."estado" <> 'CANCELADA'
                     ORDER BY o."creadoEn" DESC, o."id" DESC
                     LIMIT 1) u ON true"#,
                reposicion::SQL_CONSUMO
            ),
            &[
                (&ctx.empresa.as_str(), Type::TEXT),
                (&desde, Type::TIMESTAMP),
                (&i64::from(MARGEN_ALERTA_STOCK), Type::INT8),
            ],
        )
        .await?;
    let mut lista: Vec<Sugerencia> = filas
        .iter()
        .map(|f| {
            let (cantidad, stock_minimo): (i32, i32) = (f.get(3), f.get(4));
            let k = reposicion::consumo_diario(f.get(5));
            Sugerencia {
                producto_id: f.get(0),
                nombre: f.get(1),
                codigo: f.get(2),
                stock_actual: cantidad,
                stock_minimo,
                consumo_diario: round2(k),
                sugerencia: reposicion::sugerencia(stock_minimo, cantidad, k),
                proveedor_sugerido: f.get::<_, Option<i32>>(6).map(|id| ProveedorSugerido {
                    id,
                    nombre: f.get(7),
                }),
            }
        })
        .filter(|s| s.sugerencia > 0)
        .collect();
    lista.sort_by(|a, b| {
        b.sugerencia
            .cmp(&a.sugerencia)
            .then(a.producto_id.cmp(&b.producto_id))
    });
    Ok(lista)
}
