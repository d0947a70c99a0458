//! Customer rules of sales.md §4.8–§4.13. Every statement filters on the tenant, so another
//! empresa's customer is a missing one (404). `documento` is unique per empresa (schema.md R4,
//! applied by `migrate --cut-over` and on an empty database): the in-tenant check gives the
//! 409, the unique index settles concurrent writes
//! with the same 409, and nothing ever looks at another empresa's documents. Customers are never
//! audited (sales.md §1.8).

use chrono::NaiveDateTime;
use deadpool_postgres::Pool;
use serde::Serialize;
use shared::db::{self, Consulta, Type};
use shared::json::{ser_fecha, ser_fecha_opt, ser_numero};
use shared::{Ctx, Error, ResultExt};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

/// Per-tenant unique index (R4, from `migrate --cut-over` or an empty database; replaces the
/// reference's global `Cliente_documento_key`).
const UNICO_DOCUMENTO: &str = "Cliente_empresaId_documento_key";
/// The reference's global index, still there until `migrate --cut-over` (schema.md §7 R4): its
/// violation means another tenant holds the `documento`; a 409, never a 500.
const UNICO_DOCUMENTO_GLOBAL: &str = "Cliente_documento_key";
pub const NO_ENCONTRADO: &str = "Cliente no encontrado";
pub const NOMBRE_OBLIGATORIO: &str = "El nombre del cliente es obligatorio";
const DOCUMENTO_DUPLICADO: &str = "Ya existe un cliente con ese documento";
const DOCUMENTO_EN_USO: &str = "El documento ya está en uso";

/// §4.13: how many sales and pending quotes the history lists.
const VENTAS_EN_HISTORIAL: i64 = 20;
const COTIZACIONES_EN_HISTORIAL: i64 = 10;

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cliente {
    pub id: i32,
    pub nombre: String,
    pub documento: Option<String>,
    pub email: Option<String>,
    pub telefono: Option<String>,
    pub direccion: Option<String>,
    pub notas: Option<String>,
    #[serde(serialize_with = "ser_fecha")]
    pub creado_en: NaiveDateTime,
    pub empresa_id: String,
}

const COLUMNAS: &str = r#""id", "nombre", "documento", "email", "telefono", "direccion", "notas", "creadoEn", "empresaId""#;

fn cliente(f: &Row) -> Cliente {
    Cliente {
        id: f.get(0),
        nombre: f.get(1),
        documento: f.get(2),
        email: f.get(3),
        telefono: f.get(4),
        direccion: f.get(5),
        notas: f.get(6),
        creado_en: f.get(7),
        empresa_id: f.get(8),
    }
}

/// A new customer, already trimmed: blank or non-string optional fields are `None`.
pub struct NuevoCliente {
    pub nombre: String,
    pub documento: Option<String>,
    pub email: Option<String>,
    pub telefono: Option<String>,
    pub direccion: Option<String>,
    pub notas: Option<String>,
}

/// A partial update: `None` = key absent (unchanged); `Some(None)` = key present but blank or
/// not a string (clears the column; for `nombre` it is a 400).
#[derive(Default)]
pub struct Cambios {
    pub nombre: Option<Option<String>>,
    pub documento: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub telefono: Option<Option<String>>,
    pub direccion: Option<Option<String>>,
    pub notas: Option<Option<String>>,
}

/// `busqueda` as an `ILIKE` pattern that matches it as a literal substring (§4.8 Required:
/// `%` and `_` are not wildcards; `\` is the escape character).
fn patron_literal(busqueda: &str) -> String {
    let mut p = String::with_capacity(busqueda.len() + 2);
    p.push('%');
    for c in busqueda.chars() {
        if matches!(c, '\\' | '%' | '_') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// §4.8: newest first; `busqueda` (non-empty) matches nombre, documento, email or teléfono.
pub async fn listar(
    pool: &Pool,
    ctx: &Ctx,
    busqueda: Option<&str>,
    limite: i64,
) -> Result<Vec<Cliente>, Error> {
    let patron = busqueda.filter(|b| !b.is_empty()).map(patron_literal);
    let c = pool.get().await?;
    let filas = c
        .consulta(
            &format!(
                r#"SELECT {COLUMNAS} FROM "Cliente"
                   WHERE "empresaId" = $1
                     AND ($2::text IS NULL OR "nombre" ILIKE $2 OR "documento" ILIKE $2
                          OR "email" ILIKE $2 OR "telefono" ILIKE $2)
                   ORDER BY "id" DESC
                   LIMIT $3"#
            ),
            &[
                (&ctx.empresa.as_str(), Type::TEXT),
                (&patron, Type::TEXT),
                (&limite, Type::INT8),
            ],
        )
        .await?;
    Ok(filas.iter().map(cliente).collect())
}

pub async fn obtener(pool: &Pool, ctx: &Ctx, id: i32) -> Result<Cliente, Error> {
    let c = pool.get().await?;
    c.consulta(
        &format!(r#"SELECT {COLUMNAS} FROM "Cliente" WHERE "id" = $1 AND "empresaId" = $2"#),
        &[(&id, Type::INT4), (&ctx.empresa.as_str(), Type::TEXT)],
    )
    .await?
    .first()
    .map(cliente)
    .ok_or_else(|| Error::not_found(NO_ENCONTRADO))
}

/// §4.9. One statement: the `NOT EXISTS` is the in-tenant duplicate check (no row back → 409);
/// two concurrent creates both pass it and the unique index turns the loser into the same 409.
/// `creadoEn` is written as UTC explicitly, independent of the connection's time zone.
pub async fn crear(pool: &Pool, ctx: &Ctx, nuevo: NuevoCliente) -> Result<Cliente, Error> {
    let c = pool.get().await?;
    let filas = c
        .consulta(
            &format!(
                r#"INSERT INTO "Cliente"
                     ("nombre", "documento", "email", "telefono", "direccion", "notas", "creadoEn", "empresaId")
                   SELECT $1, $2, $3, $4, $5, $6, now() AT TIME ZONE 'UTC', $7
                   WHERE $2::text IS NULL OR NOT EXISTS (
                     SELECT 1 FROM "Cliente" WHERE "empresaId" = $7 AND "documento" = $2)
                   RETURNING {COLUMNAS}"#
            ),
            &[
                (&nuevo.nombre, Type::TEXT),
                (&nuevo.documento, Type::TEXT),
                (&nuevo.email, Type::TEXT),
                (&nuevo.telefono, Type::TEXT),
                (&nuevo.direccion, Type::TEXT),
                (&nuevo.notas, Type::TEXT),
                (&ctx.empresa.as_str(), Type::TEXT),
            ],
        )
        .await
        .on_constraint(UNICO_DOCUMENTO, || Error::conflict(DOCUMENTO_DUPLICADO))
        .on_constraint(UNICO_DOCUMENTO_GLOBAL, || {
            Error::conflict(DOCUMENTO_DUPLICADO)
        })?;
    filas
        .first()
        .map(cliente)
        .ok_or_else(|| Error::conflict(DOCUMENTO_DUPLICADO))
}

/// §4.11: lookup (404) → `nombre` (400) → `documento` in use by another customer of the
/// tenant (409) → update of the present keys only. The row is locked so the checks and the
/// update see the same customer.
pub async fn actualizar(
    pool: &Pool,
    ctx: &Ctx,
    id: i32,
    cambios: Cambios,
) -> Result<Cliente, Error> {
    let empresa = ctx.empresa.as_str();
    let mut c = pool.get().await?;
    let tx = db::transaccion(&mut c).await?;
    let actual = tx
        .consulta(
            &format!(
                r#"SELECT {COLUMNAS} FROM "Cliente" WHERE "id" = $1 AND "empresaId" = $2 FOR UPDATE"#
            ),
            &[(&id, Type::INT4), (&empresa, Type::TEXT)],
        )
        .await?
        .first()
        .map(cliente)
        .ok_or_else(|| Error::not_found(NO_ENCONTRADO))?;
    if matches!(cambios.nombre, Some(None)) {
        return Err(Error::bad_request(NOMBRE_OBLIGATORIO));
    }
    if let Some(Some(doc)) = &cambios.documento
        && actual.documento.as_ref() != Some(doc)
    {
        let en_uso = tx
            .consulta(
                r#"SELECT 1 FROM "Cliente" WHERE "empresaId" = $1 AND "documento" = $2 AND "id" <> $3"#,
                &[(&empresa, Type::TEXT), (doc, Type::TEXT), (&id, Type::INT4)],
            )
            .await?;
        if !en_uso.is_empty() {
            return Err(Error::conflict(DOCUMENTO_EN_USO));
        }
    }
    let columnas: Vec<(&str, &Option<String>)> = [
        ("nombre", &cambios.nombre),
        ("documento", &cambios.documento),
        ("email", &cambios.email),
        ("telefono", &cambios.telefono),
        ("direccion", &cambios.direccion),
        ("notas", &cambios.notas),
    ]
    .into_iter()
    .filter_map(|(col, v)| v.as_ref().map(|v| (col, v)))
    .collect();
    // An empty object is a no-op update that still answers the row.
    if columnas.is_empty() {
        return Ok(actual);
    }
    let mut params: Vec<(&(dyn ToSql + Sync), Type)> =
        vec![(&id, Type::INT4), (&empresa, Type::TEXT)];
    let mut sets = Vec::with_capacity(columnas.len());
    for (col, v) in columnas {
        params.push((v, Type::TEXT));
        sets.push(format!(r#""{col}" = ${}"#, params.len()));
    }
    let filas = tx
        .consulta(
            &format!(
                r#"UPDATE "Cliente" SET {} WHERE "id" = $1 AND "empresaId" = $2 RETURNING {COLUMNAS}"#,
                sets.join(", ")
            ),
            &params,
        )
        .await
        .on_constraint(UNICO_DOCUMENTO, || Error::conflict(DOCUMENTO_EN_USO))
        .on_constraint(UNICO_DOCUMENTO_GLOBAL, || Error::conflict(DOCUMENTO_EN_USO))?;
    let despues = filas
        .first()
        .map(cliente)
        .ok_or_else(|| Error::not_found(NO_ENCONTRADO))?;
    tx.commit().await?;
    Ok(despues)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Venta {
    id: i32,
    vendedor_id: Option<String>,
    cliente_id: Option<i32>,
    #[serde(serialize_with = "ser_numero")]
    total: f64,
    notas: Option<String>,
    #[serde(serialize_with = "ser_fecha")]
    creado_en: NaiveDateTime,
    #[serde(serialize_with = "ser_fecha_opt")]
    cancelada_en: Option<NaiveDateTime>,
    cancelada_por_id: Option<String>,
    motivo_cancelacion: Option<String>,
    empresa_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cotizacion {
    id: i32,
    vendedor_id: Option<String>,
    cliente_id: Option<i32>,
    #[serde(serialize_with = "ser_numero")]
    total: f64,
    notas: Option<String>,
    estado: String,
    #[serde(serialize_with = "ser_fecha")]
    valida_hasta: NaiveDateTime,
    #[serde(serialize_with = "ser_fecha")]
    creado_en: NaiveDateTime,
    venta_id: Option<i32>,
    #[serde(serialize_with = "ser_fecha_opt")]
    convertida_en: Option<NaiveDateTime>,
    #[serde(serialize_with = "ser_fecha_opt")]
    cancelada_en: Option<NaiveDateTime>,
    cancelada_por_id: Option<String>,
    motivo_cancelacion: Option<String>,
    empresa_id: String,
}

#[derive(Serialize)]
pub struct Conteo {
    ventas: i64,
    cotizaciones: i64,
}

#[derive(Serialize)]
pub struct Historial {
    #[serde(flatten)]
    cliente: Cliente,
    ventas: Vec<Venta>,
    cotizaciones: Vec<Cotizacion>,
    #[serde(rename = "_count")]
    count: Conteo,
}

/// §4.13. The three statements are pipelined on one connection (one round trip); each filters
/// on the tenant of the parent rows, so a sale or quote of another empresa that points at this
/// customer is never listed or counted. Ties on `creadoEn` fall back to the newest id.
pub async fn historial(pool: &Pool, ctx: &Ctx, id: i32) -> Result<Historial, Error> {
    let empresa = ctx.empresa.as_str();
    let c = pool.get().await?;
    let params: &[(&(dyn ToSql + Sync), Type)] = &[(&id, Type::INT4), (&empresa, Type::TEXT)];
    let sql_cliente = format!(
        r#"SELECT {COLUMNAS},
                  (SELECT count(*) FROM "Venta" v
                   WHERE v."clienteId" = c."id" AND v."empresaId" = c."empresaId"),
                  (SELECT count(*) FROM "Cotizacion" q
                   WHERE q."clienteId" = c."id" AND q."empresaId" = c."empresaId")
           FROM "Cliente" c WHERE c."id" = $1 AND c."empresaId" = $2"#
    );
    let sql_ventas = format!(
        r#"SELECT "id", "vendedorId", "clienteId", "total", "notas", "creadoEn", "canceladaEn",
                  "canceladaPorId", "motivoCancelacion", "empresaId"
           FROM "Venta" WHERE "clienteId" = $1 AND "empresaId" = $2
           ORDER BY "creadoEn" DESC, "id" DESC LIMIT {VENTAS_EN_HISTORIAL}"#
    );
    let sql_cotizaciones = format!(
        r#"SELECT "id", "vendedorId", "clienteId", "total", "notas", "estado"::text, "validaHasta",
                  "creadoEn", "ventaId", "convertidaEn", "canceladaEn", "canceladaPorId",
                  "motivoCancelacion", "empresaId"
           FROM "Cotizacion"
           WHERE "clienteId" = $1 AND "empresaId" = $2 AND "estado" = 'PENDIENTE'
           ORDER BY "creadoEn" DESC, "id" DESC LIMIT {COTIZACIONES_EN_HISTORIAL}"#
    );
    let (fila, ventas, cotizaciones) = tokio::try_join!(
        c.consulta(&sql_cliente, params),
        c.consulta(&sql_ventas, params),
        c.consulta(&sql_cotizaciones, params),
    )?;
    let fila = fila
        .first()
        .ok_or_else(|| Error::not_found(NO_ENCONTRADO))?;
    Ok(Historial {
        cliente: cliente(fila),
        count: Conteo {
            ventas: fila.get(9),
            cotizaciones: fila.get(10),
        },
        ventas: ventas
            .iter()
            .map(|f| Venta {
                id: f.get(0),
                vendedor_id: f.get(1),
                cliente_id: f.get(2),
                total: f.get(3),
                notas: f.get(4),
                creado_en: f.get(5),
                cancelada_en: f.get(6),
                cancelada_por_id: f.get(7),
                motivo_cancelacion: f.get(8),
                empresa_id: f.get(9),
            })
            .collect(),
        cotizaciones: cotizaciones
            .iter()
            .map(|f| Cotizacion {
                id: f.get(0),
                vendedor_id: f.get(1),
                cliente_id: f.get(2),
                total: f.get(3),
                notas: f.get(4),
                estado: f.get(5),
                valida_hasta: f.get(6),
                creado_en: f.get(7),
                venta_id: f.get(8),
                convertida_en: f.get(9),
                cancelada_en: f.get(10),
                cancelada_por_id: f.get(11),
                motivo_cancelacion: f.get(12),
                empresa_id: f.get(13),
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::patron_literal;

    #[test]
    fn comodines_de_like_se_buscan_literalmente() {
        assert_eq!(patron_literal("ana"), "%ana%");
        assert_eq!(patron_literal("50%_x\\"), "%50\\%\\_x\\\\%");
        assert_eq!(patron_literal(" a "), "% a %");
    }
}
