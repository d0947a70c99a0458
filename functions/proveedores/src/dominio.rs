//! Supplier rules of purchasing.md §4. Every statement filters on the tenant, so another
//! empresa's supplier is a missing one (404). Writes are audited after the commit with the
//! purchasing fallback address `127.0.0.1` (§1.3). DELETE counts the orders and deletes under the
//! supplier's row lock, and an order insert takes `FOR KEY SHARE` on the same row, so the two
//! serialise: the delete either sees the order (409) or the create no longer sees the supplier
//! (404), never a foreign-key 500 (§9 #5).

use deadpool_postgres::Pool;
use serde_json::json;
use shared::auditoria::{self, Evento};
use shared::db::{self, Consulta, Type};
use shared::proveedor::Proveedor;
use shared::{Ctx, Error, Estado, ResultExt};

pub const NO_ENCONTRADO: &str = "Proveedor no encontrado";
pub const NOMBRE_OBLIGATORIO: &str = "El nombre es obligatorio.";
const CON_ORDENES: &str = "No se puede eliminar un proveedor con órdenes de compra asociadas";
/// The RESTRICT foreign key of `"OrdenCompra"."proveedorId"` (the second wall behind the lock).
const FK_ORDEN_PROVEEDOR: &str = "OrdenCompra_proveedorId_fkey";
/// §4.1: at most 200 rows, no pagination (§1.5).
const LIMITE_LISTA: i64 = 200;
const IP_DEFECTO: Option<&str> = Some("127.0.0.1");

pub struct NuevoProveedor {
    pub nombre: String,
    pub nit: Option<String>,
    pub contacto: Option<String>,
    pub telefono: Option<String>,
    pub email: Option<String>,
    pub direccion: Option<String>,
}

/// A partial update: `None` = leave as is; `Some(None)` = clear (for `nombre`: blank → 400).
pub struct Cambios {
    pub nombre: Option<Option<String>>,
    pub nit: Option<Option<String>>,
    pub contacto: Option<Option<String>>,
    pub telefono: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub direccion: Option<Option<String>>,
    pub activo: Option<bool>,
}

fn evento(accion: &'static str, id: i32, datos: serde_json::Value) -> Evento<'static> {
    Evento {
        ip_defecto: IP_DEFECTO,
        ..Evento::nuevo(accion, "Proveedor", Some(id.to_string()), datos)
    }
}

/// §4.1: active and inactive, by `nombre` (database collation), then id.
pub async fn listar(pool: &Pool, ctx: &Ctx) -> Result<Vec<Proveedor>, Error> {
    let c = pool.get().await?;
    let filas = c
        .consulta(
            &format!(
                r#"SELECT {} FROM "Proveedor" WHERE "empresaId" = $1
                   ORDER BY "nombre", "id" LIMIT $2"#,
                Proveedor::COLUMNAS
            ),
            &[
                (&ctx.empresa.as_str(), Type::TEXT),
                (&LIMITE_LISTA, Type::INT8),
            ],
        )
        .await?;
    Ok(filas.iter().map(|f| Proveedor::from_row(f, 0)).collect())
}

pub async fn obtener(pool: &Pool, ctx: &Ctx, id: i32) -> Result<Proveedor, Error> {
    let c = pool.get().await?;
    c.consulta(
        &format!(
            r#"SELECT {} FROM "Proveedor" WHERE "id" = $1 AND "empresaId" = $2"#,
            Proveedor::COLUMNAS
        ),
        &[(&id, Type::INT4), (&ctx.empresa.as_str(), Type::TEXT)],
    )
    .await?
    .first()
    .map(|f| Proveedor::from_row(f, 0))
    .ok_or_else(|| Error::not_found(NO_ENCONTRADO))
}

/// §4.2: `activo` is always `true` on create.
pub async fn crear(estado: &Estado, ctx: &Ctx, n: NuevoProveedor) -> Result<Proveedor, Error> {
    let c = estado.pool.get().await?;
    let filas = c
        .consulta(
            &format!(
                r#"INSERT INTO "Proveedor"
                     ("nombre", "nit", "contacto", "telefono", "email", "direccion", "activo", "creadoEn", "empresaId")
                   VALUES ($1, $2, $3, $4, $5, $6, true, now() AT TIME ZONE 'UTC', $7)
                   RETURNING {}"#,
                Proveedor::COLUMNAS
            ),
            &[
                (&n.nombre, Type::TEXT),
                (&n.nit, Type::TEXT),
                (&n.contacto, Type::TEXT),
                (&n.telefono, Type::TEXT),
                (&n.email, Type::TEXT),
                (&n.direccion, Type::TEXT),
                (&ctx.empresa.as_str(), Type::TEXT),
            ],
        )
        .await?;
    let p = Proveedor::from_row(&filas[0], 0);
    auditoria::registrar(estado, ctx, evento("CREAR", p.id, json!({ "despues": p }))).await;
    Ok(p)
}

/// Locks the tenant's supplier row for a write, or 404.
async fn bloquear(tx: &impl Consulta, ctx: &Ctx, id: i32) -> Result<Proveedor, Error> {
    tx.consulta(
        &format!(
            r#"SELECT {} FROM "Proveedor" WHERE "id" = $1 AND "empresaId" = $2 FOR UPDATE"#,
            Proveedor::COLUMNAS
        ),
        &[(&id, Type::INT4), (&ctx.empresa.as_str(), Type::TEXT)],
    )
    .await?
    .first()
    .map(|f| Proveedor::from_row(f, 0))
    .ok_or_else(|| Error::not_found(NO_ENCONTRADO))
}

/// §4.4: lookup (404) → `nombre` (400) → one UPDATE of every column with the merged values (an
/// empty body is a no-op update, still audited) → audit `{antes, despues}` after the commit.
pub async fn actualizar(
    estado: &Estado,
    ctx: &Ctx,
    id: i32,
    cambios: Cambios,
) -> Result<Proveedor, Error> {
    let mut c = estado.pool.get().await?;
    let tx = db::transaccion(&mut c).await?;
    let antes = bloquear(&tx, ctx, id).await?;
    let nombre = match cambios.nombre {
        Some(Some(n)) => n,
        Some(None) => return Err(Error::bad_request(NOMBRE_OBLIGATORIO)),
        None => antes.nombre.clone(),
    };
    let nuevo = |cambio: Option<Option<String>>, actual: &Option<String>| match cambio {
        Some(v) => v,
        None => actual.clone(),
    };
    let nit = nuevo(cambios.nit, &antes.nit);
    let contacto = nuevo(cambios.contacto, &antes.contacto);
    let telefono = nuevo(cambios.telefono, &antes.telefono);
    let email = nuevo(cambios.email, &antes.email);
    let direccion = nuevo(cambios.direccion, &antes.direccion);
    let activo = cambios.activo.unwrap_or(antes.activo);
    let filas = tx
        .consulta(
            &format!(
                r#"UPDATE "Proveedor" SET "nombre" = $3, "nit" = $4, "contacto" = $5, "telefono" = $6,
                     "email" = $7, "direccion" = $8, "activo" = $9
                   WHERE "id" = $1 AND "empresaId" = $2 RETURNING {}"#,
                Proveedor::COLUMNAS
            ),
            &[
                (&id, Type::INT4),
                (&ctx.empresa.as_str(), Type::TEXT),
                (&nombre, Type::TEXT),
                (&nit, Type::TEXT),
                (&contacto, Type::TEXT),
                (&telefono, Type::TEXT),
                (&email, Type::TEXT),
                (&direccion, Type::TEXT),
                (&activo, Type::BOOL),
            ],
        )
        .await?;
    let despues = Proveedor::from_row(&filas[0], 0);
    tx.commit().await?;
    auditoria::registrar(
        estado,
        ctx,
        evento(
            "ACTUALIZAR",
            id,
            json!({ "antes": antes, "despues": despues }),
        ),
    )
    .await;
    Ok(despues)
}

/// §4.5 Required: lock → count the tenant's orders of this supplier (any state) → delete, in one
/// transaction; the foreign key maps to the same 409 should anything slip past the lock.
pub async fn eliminar(estado: &Estado, ctx: &Ctx, id: i32) -> Result<(), Error> {
    let empresa = ctx.empresa.as_str();
    let mut c = estado.pool.get().await?;
    let tx = db::transaccion(&mut c).await?;
    let antes = bloquear(&tx, ctx, id).await?;
    let ordenes: i64 = tx
        .consulta(
            r#"SELECT count(*) FROM "OrdenCompra" WHERE "proveedorId" = $1 AND "empresaId" = $2"#,
            &[(&id, Type::INT4), (&empresa, Type::TEXT)],
        )
        .await?[0]
        .get(0);
    if ordenes > 0 {
        return Err(Error::conflict(CON_ORDENES));
    }
    tx.consulta(
        r#"DELETE FROM "Proveedor" WHERE "id" = $1 AND "empresaId" = $2 RETURNING "id""#,
        &[(&id, Type::INT4), (&empresa, Type::TEXT)],
    )
    .await
    .on_constraint(FK_ORDEN_PROVEEDOR, || Error::conflict(CON_ORDENES))?;
    tx.commit()
        .await
        .on_constraint(FK_ORDEN_PROVEEDOR, || Error::conflict(CON_ORDENES))?;
    auditoria::registrar(
        estado,
        ctx,
        evento("ELIMINAR", id, json!({ "antes": antes })),
    )
    .await;
    Ok(())
}
