//! Quote rules of sales.md §3–§5: a quote reserves stock while `PENDIENTE` and not expired;
//! creation checks availability under the product locks and resolves the customer only after
//! every check passed; cancel and convert are conditional `PENDIENTE → …` transitions, so a
//! quote changes state once. Conversion writes the sale through `shared::ventas`, the same
//! writer as `POST /api/ventas`.
//!
//! Lock order (`shared::stock`): idempotency key, then the quote row (convert), then the
//! products ascending; creation adds, last, a transaction advisory lock on the customer name
//! (taken nowhere else), so two quotes for a new customer create one `Cliente`.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use deadpool_postgres::Pool;
use http::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};
use shared::auditoria::{self, Evento};
use shared::db::{self, Consulta, Transaction, Type};
use shared::escritura::{self, LineaEscrita, Rechazo};
use shared::idempotencia::{self, Clave};
use shared::json::{fecha, numero, ser_fecha, ser_fecha_opt, ser_numero};
use shared::stock::{self, Producto};
use shared::ventas;
use shared::{Ctx, Error, Estado, Respuesta, dinero};

use crate::entrada::NuevaCotizacion;

const NO_ENCONTRADA: &str = "Cotización no encontrada.";
const YA_CANCELADA: &str = "La cotización ya está cancelada.";
const YA_CONVERTIDA: &str = "La cotización ya está convertida.";
const CANCELAR_CONVERTIDA: &str =
    "No se puede cancelar una cotización ya convertida. Cancela la venta resultante.";
const CANCELAR_AJENA: &str =
    "Solo el vendedor original o un administrador puede cancelar esta cotización.";
const CONVERTIR_AJENA: &str =
    "Solo el vendedor original o un administrador puede convertir esta cotización.";
const VENCIDA: &str =
    "La cotización está vencida. Cancélala y crea una nueva si la quieres revivir.";

fn producto_no_encontrado(id: i32) -> Error {
    Error::not_found(format!("Producto {id} no encontrado en la empresa actual."))
}

fn stock_insuficiente(nombre: &str, cantidad: i64, disponible: i64) -> Error {
    Error::bad_request(format!(
        "Stock insuficiente para \"{nombre}\". Solicitas {cantidad}, disponible {disponible} (físico − reservado en otras cotizaciones)."
    ))
}

fn stock_fisico_insuficiente(nombre: &str, cantidad: i64, hay: i64) -> Error {
    Error::bad_request(format!(
        "Stock físico insuficiente para \"{nombre}\". Necesitas {cantidad}, hay {hay}."
    ))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EstadoCotizacion {
    Pendiente,
    Convertida,
    Cancelada,
}

impl EstadoCotizacion {
    /// Exactly one of the enum labels (case-sensitive, §4.4).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "PENDIENTE" => Self::Pendiente,
            "CONVERTIDA" => Self::Convertida,
            "CANCELADA" => Self::Cancelada,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pendiente => "PENDIENTE",
            Self::Convertida => "CONVERTIDA",
            Self::Cancelada => "CANCELADA",
        }
    }
}

/// The `"Cotizacion"` scalars (sales.md §2, §1.6).
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Cotizacion {
    pub id: i32,
    pub vendedor_id: Option<String>,
    pub cliente_id: Option<i32>,
    #[serde(serialize_with = "ser_numero")]
    pub total: f64,
    pub notas: Option<String>,
    pub estado: EstadoCotizacion,
    #[serde(serialize_with = "ser_fecha")]
    pub valida_hasta: NaiveDateTime,
    #[serde(serialize_with = "ser_fecha")]
    pub creado_en: NaiveDateTime,
    pub venta_id: Option<i32>,
    #[serde(serialize_with = "ser_fecha_opt")]
    pub convertida_en: Option<NaiveDateTime>,
    #[serde(serialize_with = "ser_fecha_opt")]
    pub cancelada_en: Option<NaiveDateTime>,
    pub cancelada_por_id: Option<String>,
    pub motivo_cancelacion: Option<String>,
    pub empresa_id: String,
}

impl Cotizacion {
    /// Columns in the order [`Cotizacion::from_row`] reads them.
    const COLUMNAS: &'static str = r#""id", "vendedorId", "clienteId", "total", "notas", "estado"::text, "validaHasta", "creadoEn", "ventaId", "convertidaEn", "canceladaEn", "canceladaPorId", "motivoCancelacion", "empresaId""#;
    const N: usize = 14;

    fn columnas(alias: &str) -> String {
        Self::COLUMNAS
            .split(", ")
            .map(|c| format!("{alias}.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn from_row(f: &tokio_postgres::Row, base: usize) -> Result<Self, Error> {
        let estado: String = f.get(base + 5);
        Ok(Self {
            id: f.get(base),
            vendedor_id: f.get(base + 1),
            cliente_id: f.get(base + 2),
            total: f.get(base + 3),
            notas: f.get(base + 4),
            estado: EstadoCotizacion::parse(&estado).ok_or_else(|| {
                Error::Interno(anyhow::anyhow!(
                    "estado de cotización desconocido: {estado}"
                ))
            })?,
            valida_hasta: f.get(base + 6),
            creado_en: f.get(base + 7),
            venta_id: f.get(base + 8),
            convertida_en: f.get(base + 9),
            cancelada_en: f.get(base + 10),
            cancelada_por_id: f.get(base + 11),
            motivo_cancelacion: f.get(base + 12),
            empresa_id: f.get(base + 13),
        })
    }
}

/// The embedded `Usuario`: only these three keys (sales.md §2).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Vendedor {
    pub id: String,
    pub nombre: String,
    pub email: String,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Conteo {
    pub items: i64,
}

/// A row of `GET /api/cotizaciones` (§4.4): scalars, `vendedor`, `_count.items`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CotizacionListada {
    #[serde(flatten)]
    pub cotizacion: Cotizacion,
    pub vendedor: Option<Vendedor>,
    #[serde(rename = "_count")]
    pub count: Conteo,
}

/// An `"ItemCotizacion"` row with its product's `{nombre, codigo}` (§4.5).
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ItemCotizacion {
    pub id: i32,
    pub cotizacion_id: i32,
    pub producto_id: i32,
    pub cantidad: i32,
    #[serde(serialize_with = "ser_numero")]
    pub precio_unitario: f64,
    #[serde(serialize_with = "ser_numero")]
    pub subtotal: f64,
    pub producto: ventas::ProductoDeItem,
}

/// The 201 body of `POST /api/cotizaciones`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CotizacionCreada {
    #[serde(flatten)]
    pub cotizacion: Cotizacion,
    pub items: Vec<ItemCotizacion>,
}

/// What one attempt of a keyed write produced.
enum Resultado<T> {
    /// The key's stored response (same key, same request, already committed).
    Repetida(Respuesta),
    /// The work committed; `cuerpo` is the response body, also stored under the key.
    Hecha { cuerpo: Value, datos: T },
}

/// Claims the request's key, first in the transaction (`shared::idempotencia`).
async fn reclamar(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    clave: Option<&Clave>,
) -> Result<Option<Respuesta>, Error> {
    match clave {
        Some(c) => idempotencia::reclamar(tx, ctx, c).await,
        None => Ok(None),
    }
}

// ---------- GET /api/cotizaciones ----------

/// §4.4: admins see the whole tenant, other users their own quotes; newest first (`id` breaks
/// ties).
pub async fn listar(
    pool: &Pool,
    ctx: &Ctx,
    estado: Option<EstadoCotizacion>,
) -> Result<Vec<CotizacionListada>, Error> {
    let c = pool.get().await?;
    let estado = estado.map(EstadoCotizacion::as_str);
    let vendedor = (!ctx.es_admin()).then(|| ctx.usuario_id());
    let filas = c
        .consulta(
            &format!(
                r#"SELECT {}, u."id", u."nombre", u."email",
                          (SELECT count(*) FROM "ItemCotizacion" i WHERE i."cotizacionId" = c."id")
                   FROM "Cotizacion" c LEFT JOIN "Usuario" u ON u."id" = c."vendedorId"
                   WHERE c."empresaId" = $1
                     AND ($2::text IS NULL OR c."estado" = $2::text::"EstadoCotizacion")
                     AND ($3::text IS NULL OR c."vendedorId" = $3)
                   ORDER BY c."creadoEn" DESC, c."id" DESC"#,
                Cotizacion::columnas("c")
            ),
            &[
                (&ctx.empresa.as_str(), Type::TEXT),
                (&estado, Type::TEXT),
                (&vendedor, Type::TEXT),
            ],
        )
        .await?;
    let n = Cotizacion::N;
    filas
        .iter()
        .map(|f| {
            let id: Option<String> = f.get(n);
            Ok(CotizacionListada {
                cotizacion: Cotizacion::from_row(f, 0)?,
                vendedor: id.map(|id| Vendedor {
                    id,
                    nombre: f.get(n + 1),
                    email: f.get(n + 2),
                }),
                count: Conteo {
                    items: f.get(n + 3),
                },
            })
        })
        .collect()
}

// ---------- POST /api/cotizaciones ----------

/// §4.5 with the Required fixes: one transaction that claims the key, locks the products,
/// checks every line (existence first, then availability = physical − reserved by the other
/// reserving quotes), and only then finds or creates the customer and writes the quote.
/// Audit after the commit.
pub async fn crear(
    estado: &Estado,
    ctx: &Ctx,
    nueva: &NuevaCotizacion,
    clave: Option<&Clave>,
) -> Result<Respuesta, Error> {
    let (cuerpo, creada) =
        match db::reintentar_una_vez(|| crear_en_transaccion(estado, ctx, nueva, clave)).await? {
            Resultado::Repetida(r) => return Ok(r),
            Resultado::Hecha { cuerpo, datos } => (cuerpo, datos),
        };
    let c = &creada.cotizacion;
    tracing::info!(
        cotizacion_id = c.id,
        total = c.total,
        lineas = creada.items.len(),
        "cotización creada"
    );
    auditoria::registrar(
        estado,
        ctx,
        Evento::nuevo(
            "CREAR",
            "Cotizacion",
            Some(c.id.to_string()),
            json!({
                "despues": {
                    "id": c.id,
                    "cliente": (!nueva.cliente.is_empty()).then_some(nueva.cliente.as_str()),
                    "total": numero(c.total),
                    "validaHasta": fecha(&c.valida_hasta),
                    "totalItems": creada.items.len(),
                    "notas": c.notas,
                }
            }),
        ),
    )
    .await;
    Respuesta::json(StatusCode::CREATED, &cuerpo)
}

async fn crear_en_transaccion(
    estado: &Estado,
    ctx: &Ctx,
    nueva: &NuevaCotizacion,
    clave: Option<&Clave>,
) -> Result<Resultado<CotizacionCreada>, Error> {
    let mut c = estado.pool.get().await?;
    let tx = db::transaccion(&mut c).await?;
    if let Some(r) = reclamar(&tx, ctx, clave).await? {
        return Ok(Resultado::Repetida(r));
    }
    let ids: Vec<i32> = nueva.lineas.iter().map(|l| l.producto_id).collect();
    let productos: HashMap<i32, Producto> = stock::bloquear_productos(&tx, &ctx.empresa, &ids)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    // Reference order: every line's product is looked up before any stock check. The lookup
    // happens under the lock, so the reference's "vanished inside the transaction" 403 cannot
    // occur.
    if let Some(l) = nueva
        .lineas
        .iter()
        .find(|l| !productos.contains_key(&l.producto_id))
    {
        return Err(producto_no_encontrado(l.producto_id));
    }
    // With the products locked, no sale, conversion or other quote of them runs until the
    // commit; this quote is not written yet, so every reserving quote counted is another one.
    let reservado = stock::reservado(&tx, &ctx.empresa, &ids).await?;
    let mut lineas: Vec<(&Producto, i32)> = Vec::with_capacity(nueva.lineas.len());
    for l in &nueva.lineas {
        let p = &productos[&l.producto_id];
        let disponible = stock::disponible(p.cantidad, reservado.get(&p.id).copied().unwrap_or(0));
        if l.cantidad > disponible {
            return Err(stock_insuficiente(&p.nombre, l.cantidad, disponible));
        }
        // ≤ disponible ≤ an i32 stock.
        lineas.push((p, l.cantidad as i32));
    }
    let cliente_id = match nueva.cliente.as_str() {
        "" => None,
        nombre => Some(cliente(&tx, ctx, nombre).await?),
    };
    let subtotales: Vec<_> = lineas
        .iter()
        .map(|(p, n)| dinero::subtotal(p.precio, *n))
        .collect();
    let total = dinero::a_f64(dinero::total(subtotales.iter().copied()));
    let filas = tx
        .consulta(
            &format!(
                r#"INSERT INTO "Cotizacion" ("vendedorId", "clienteId", "total", "notas", "estado", "validaHasta", "creadoEn", "empresaId")
                   VALUES ($1, $2, $3, $4, 'PENDIENTE',
                           (now() AT TIME ZONE 'UTC') + make_interval(days => $5),
                           now() AT TIME ZONE 'UTC', $6)
                   RETURNING {}"#,
                Cotizacion::COLUMNAS
            ),
            &[
                (&ctx.usuario_id(), Type::TEXT),
                (&cliente_id, Type::INT4),
                (&total, Type::FLOAT8),
                (&nueva.notas, Type::TEXT),
                (&nueva.dias_validez, Type::INT4),
                (&ctx.empresa.as_str(), Type::TEXT),
            ],
        )
        .await?;
    let cotizacion = Cotizacion::from_row(&filas[0], 0)?;
    let productos_ids: Vec<i32> = lineas.iter().map(|(p, _)| p.id).collect();
    let cantidades: Vec<i32> = lineas.iter().map(|(_, n)| *n).collect();
    let precios: Vec<f64> = lineas.iter().map(|(p, _)| p.precio).collect();
    let subtotales: Vec<f64> = subtotales.into_iter().map(dinero::a_f64).collect();
    // Inserted in line order; the serial is drawn row by row, so ids ascend with the lines.
    let mut item_ids: Vec<i32> = tx
        .consulta(
            r#"INSERT INTO "ItemCotizacion" ("cotizacionId", "productoId", "cantidad", "precioUnitario", "subtotal")
               SELECT $1, t.p, t.c, t.pu, t.s
               FROM unnest($2::int4[], $3::int4[], $4::float8[], $5::float8[]) WITH ORDINALITY AS t(p, c, pu, s, n)
               ORDER BY t.n
               RETURNING "id""#,
            &[
                (&cotizacion.id, Type::INT4),
                (&productos_ids, Type::INT4_ARRAY),
                (&cantidades, Type::INT4_ARRAY),
                (&precios, Type::FLOAT8_ARRAY),
                (&subtotales, Type::FLOAT8_ARRAY),
            ],
        )
        .await?
        .iter()
        .map(|f| f.get(0))
        .collect();
    item_ids.sort_unstable();
    let items = item_ids
        .iter()
        .zip(lineas.iter().zip(&subtotales))
        .map(|(id, ((p, n), s))| ItemCotizacion {
            id: *id,
            cotizacion_id: cotizacion.id,
            producto_id: p.id,
            cantidad: *n,
            precio_unitario: p.precio,
            subtotal: *s,
            producto: ventas::ProductoDeItem {
                nombre: p.nombre.clone(),
                codigo: p.codigo.clone(),
            },
        })
        .collect();
    let creada = CotizacionCreada { cotizacion, items };
    let cuerpo = serde_json::to_value(&creada).map_err(|e| Error::Interno(e.into()))?;
    if let Some(clave) = clave {
        idempotencia::guardar(&tx, ctx, clave, StatusCode::CREATED, &cuerpo).await?;
    }
    tx.commit().await?;
    Ok(Resultado::Hecha {
        cuerpo,
        datos: creada,
    })
}

/// §4.5 step 2, inside the quote's transaction and after every check (Required, §8 #7): the
/// tenant's first customer with exactly this name, else a new one (no audit). The advisory lock
/// makes concurrent quotes for the same new name create one row.
async fn cliente(tx: &Transaction<'_>, ctx: &Ctx, nombre: &str) -> Result<i32, Error> {
    let empresa = ctx.empresa.as_str();
    tx.consulta(
        r#"SELECT pg_advisory_xact_lock(hashtextextended('Cliente' || chr(31) || $1 || chr(31) || $2, 0))"#,
        &[(&empresa, Type::TEXT), (&nombre, Type::TEXT)],
    )
    .await?;
    let filas = tx
        .consulta(
            r#"WITH existente AS (
                 SELECT "id" FROM "Cliente" WHERE "empresaId" = $1 AND "nombre" = $2
                 ORDER BY "id" LIMIT 1
               ), nuevo AS (
                 INSERT INTO "Cliente" ("nombre", "empresaId", "creadoEn")
                 SELECT $2, $1, now() AT TIME ZONE 'UTC' WHERE NOT EXISTS (SELECT 1 FROM existente)
                 RETURNING "id"
               )
               SELECT "id" FROM existente UNION ALL SELECT "id" FROM nuevo"#,
            &[(&empresa, Type::TEXT), (&nombre, Type::TEXT)],
        )
        .await?;
    filas
        .first()
        .map(|f| f.get(0))
        .ok_or_else(|| Error::Interno(anyhow::anyhow!("cliente no resuelto")))
}

// ---------- POST /api/cotizaciones/{id}/cancelar ----------

/// §4.6 with the Required conditional transition: one `UPDATE … WHERE estado = 'PENDIENTE'`
/// that also carries the owner rule; when it changes nothing, the row is read again to give
/// the documented answer (404, the two 409s, then the owner 403).
pub async fn cancelar(
    estado: &Estado,
    ctx: &Ctx,
    id: i32,
    motivo: &str,
) -> Result<Cotizacion, Error> {
    let cotizacion =
        db::reintentar_una_vez(|| cancelar_en_transaccion(estado, ctx, id, motivo)).await?;
    tracing::info!(cotizacion_id = id, "cotización cancelada");
    auditoria::registrar(
        estado,
        ctx,
        Evento::nuevo(
            "ACTUALIZAR",
            "Cotizacion",
            Some(id.to_string()),
            json!({
                "antes": {"estado": EstadoCotizacion::Pendiente},
                "despues": {"estado": cotizacion.estado, "motivoCancelacion": cotizacion.motivo_cancelacion},
                "operacion": "CANCELAR_COTIZACION",
            }),
        ),
    )
    .await;
    Ok(cotizacion)
}

async fn cancelar_en_transaccion(
    estado: &Estado,
    ctx: &Ctx,
    id: i32,
    motivo: &str,
) -> Result<Cotizacion, Error> {
    let mut c = estado.pool.get().await?;
    let tx = db::transaccion(&mut c).await?;
    let empresa = ctx.empresa.as_str();
    let filas = tx
        .consulta(
            &format!(
                r#"UPDATE "Cotizacion"
                   SET "estado" = 'CANCELADA', "canceladaEn" = now() AT TIME ZONE 'UTC',
                       "canceladaPorId" = $3, "motivoCancelacion" = $4
                   WHERE "id" = $1 AND "empresaId" = $2 AND "estado" = 'PENDIENTE'
                     AND ($5 OR "vendedorId" = $3)
                   RETURNING {}"#,
                Cotizacion::COLUMNAS
            ),
            &[
                (&id, Type::INT4),
                (&empresa, Type::TEXT),
                (&ctx.usuario_id(), Type::TEXT),
                (&motivo, Type::TEXT),
                (&ctx.es_admin(), Type::BOOL),
            ],
        )
        .await?;
    if let Some(f) = filas.first() {
        let cotizacion = Cotizacion::from_row(f, 0)?;
        tx.commit().await?;
        return Ok(cotizacion);
    }
    // Nothing changed. The UPDATE waited for any concurrent transition of the row, so this read
    // sees its outcome.
    let filas = tx
        .consulta(
            r#"SELECT "estado"::text FROM "Cotizacion" WHERE "id" = $1 AND "empresaId" = $2"#,
            &[(&id, Type::INT4), (&empresa, Type::TEXT)],
        )
        .await?;
    let Some(f) = filas.first() else {
        return Err(Error::not_found(NO_ENCONTRADA));
    };
    let actual: String = f.get(0);
    Err(match EstadoCotizacion::parse(&actual) {
        Some(EstadoCotizacion::Cancelada) => Error::conflict(YA_CANCELADA),
        Some(EstadoCotizacion::Convertida) => Error::conflict(CANCELAR_CONVERTIDA),
        // Still pending: only the owner rule can have refused it.
        Some(EstadoCotizacion::Pendiente) => Error::forbidden(CANCELAR_AJENA),
        None => Error::Interno(anyhow::anyhow!(
            "estado de cotización desconocido: {actual}"
        )),
    })
}

// ---------- POST /api/cotizaciones/{id}/convertir ----------

/// The 200 body of the conversion: the sale scalars (no items) and the updated quote.
#[derive(Serialize)]
struct CuerpoConversion<'a> {
    /// The sale's scalars (the body of `POST /api/ventas` without `items`).
    venta: &'a Value,
    cotizacion: &'a Cotizacion,
}

struct Convertida {
    cotizacion: Cotizacion,
    venta_id: i32,
    cambios: Vec<stock::CambioStock>,
}

/// §4.7 with the Required fixes (§8 #1, #6, #8): one transaction that claims the key, locks the
/// quote, re-validates it, locks its products, checks physical stock under the lock, writes the
/// sale through `shared::ventas` and flips the quote with `WHERE estado = 'PENDIENTE'`. The
/// loser of a race waits on the quote lock and then gets 409. Audit and `STOCK_BAJO` after the
/// commit.
pub async fn convertir(
    estado: &Estado,
    ctx: &Ctx,
    id: i32,
    clave: Option<&Clave>,
) -> Result<Respuesta, Error> {
    let (cuerpo, hecho) =
        match db::reintentar_una_vez(|| convertir_en_transaccion(estado, ctx, id, clave)).await? {
            Resultado::Repetida(r) => return Ok(r),
            Resultado::Hecha { cuerpo, datos } => (cuerpo, datos),
        };
    tracing::info!(
        cotizacion_id = id,
        venta_id = hecho.venta_id,
        total = hecho.cotizacion.total,
        "cotización convertida"
    );
    auditoria::registrar(
        estado,
        ctx,
        Evento::nuevo(
            "ACTUALIZAR",
            "Cotizacion",
            Some(id.to_string()),
            json!({
                "antes": {"estado": EstadoCotizacion::Pendiente},
                "despues": {"estado": hecho.cotizacion.estado, "ventaId": hecho.venta_id},
                "operacion": "CONVERTIR_COTIZACION",
            }),
        ),
    )
    .await;
    stock::notificar_stock_bajo(estado, &ctx.empresa, &hecho.cambios).await;
    Respuesta::ok(&cuerpo)
}

async fn convertir_en_transaccion(
    estado: &Estado,
    ctx: &Ctx,
    id: i32,
    clave: Option<&Clave>,
) -> Result<Resultado<Convertida>, Error> {
    // Pipeline 1 (`shared::escritura::Conversion`): the key, then the quote row locked, and its
    // lines. Expiry is judged at the moment of the check (after any wait for the lock), §1.9.
    let sql_cotizacion = format!(
        r#"SELECT {}, "validaHasta" <= (clock_timestamp() AT TIME ZONE 'UTC')
           FROM "Cotizacion" WHERE "id" = $1 AND "empresaId" = $2 FOR UPDATE"#,
        Cotizacion::COLUMNAS
    );
    let (mut conv, leida) = escritura::Conversion::abrir(
        &estado.pool,
        ctx,
        clave,
        id,
        &sql_cotizacion,
        r#"SELECT "productoId", "cantidad", "precioUnitario", "subtotal"
           FROM "ItemCotizacion" WHERE "cotizacionId" = $1 ORDER BY "id""#,
    )
    .await?;
    if let Some(r) = leida.repetida {
        conv.deshacer().await?;
        return Ok(Resultado::Repetida(r));
    }
    let rechazo = match leida.cotizacion.first() {
        None => Some(Error::not_found(NO_ENCONTRADA)),
        Some(f) => {
            let cotizacion = Cotizacion::from_row(f, 0)?;
            let vencida: bool = f.get(Cotizacion::N);
            match cotizacion.estado {
                EstadoCotizacion::Convertida => Some(Error::conflict(YA_CONVERTIDA)),
                EstadoCotizacion::Cancelada => Some(Error::conflict(YA_CANCELADA)),
                EstadoCotizacion::Pendiente if vencida => Some(Error::bad_request(VENCIDA)),
                EstadoCotizacion::Pendiente
                    if !ctx.es_admin()
                        && cotizacion.vendedor_id.as_deref() != Some(ctx.usuario_id()) =>
                {
                    Some(Error::forbidden(CONVERTIR_AJENA))
                }
                EstadoCotizacion::Pendiente => None,
            }
        }
    };
    if let Some(e) = rechazo {
        conv.deshacer().await?;
        return Err(e);
    }
    let cotizacion = Cotizacion::from_row(&leida.cotizacion[0], 0)?;
    // Quoted prices are frozen (§4.7): price and subtotal copied 1:1 from the lines.
    let lineas: Vec<LineaEscrita> = leida
        .lineas
        .iter()
        .map(|f| LineaEscrita {
            producto_id: f.get(0),
            cantidad: i64::from(f.get::<_, i32>(1)),
            precio_unitario: f.get(2),
            subtotal: f.get(3),
        })
        .collect();
    let notas = match cotizacion.notas.as_deref() {
        Some(n) => format!("Venta convertida desde cotización #{id} — {n}"),
        None => format!("Venta convertida desde cotización #{id}"),
    };
    let nota_despues = format!(" (cotización #{id})");
    let venta = escritura::Venta {
        vendedor_id: cotizacion
            .vendedor_id
            .as_deref()
            .unwrap_or(ctx.usuario_id()),
        cliente_id: cotizacion.cliente_id,
        notas: Some(&notas),
        total: ventas::total_escrito(&lineas),
        lineas: &lineas,
        nota_antes: "Venta #",
        nota_despues: &nota_despues,
    };
    // Pipeline 2: products locked, physical stock checked (this quote's own reservation is what
    // is being consumed), sale written, quote flipped and read back; COMMIT when no key.
    let sql_releer = format!(
        r#"SELECT {} FROM "Cotizacion" WHERE "id" = $1 AND "empresaId" = $2"#,
        Cotizacion::COLUMNAS
    );
    let (vendida, fila) = match conv
        .vender(ctx, id, &venta, &sql_releer, clave.is_none())
        .await?
    {
        escritura::Resultado::Hecho(v) => v,
        escritura::Resultado::Rechazado(Rechazo::StockInsuficiente {
            nombre,
            solicitado,
            disponible,
            ..
        }) => return Err(stock_fisico_insuficiente(&nombre, solicitado, disponible)),
        // Unreachable while the quote lock is held; kept as the documented race answer.
        escritura::Resultado::Rechazado(Rechazo::CotizacionNoPendiente) => {
            return Err(Error::conflict(YA_CONVERTIDA));
        }
        escritura::Resultado::Rechazado(Rechazo::ProductoNoEncontrado(p)) => {
            return Err(Error::Interno(anyhow::anyhow!(
                "producto {p} de la cotización {id} fuera de la empresa"
            )));
        }
        escritura::Resultado::Repetido(r) => return Ok(Resultado::Repetida(r)),
    };
    let cotizacion = Cotizacion::from_row(&fila, 0)?;
    let mut venta = vendida.cuerpo;
    if let Some(o) = venta.as_object_mut() {
        o.remove("items");
    }
    let venta_id = venta["id"]
        .as_i64()
        .and_then(|v| i32::try_from(v).ok())
        .ok_or_else(|| Error::Interno(anyhow::anyhow!("venta sin id")))?;
    let cuerpo = serde_json::to_value(CuerpoConversion {
        venta: &venta,
        cotizacion: &cotizacion,
    })
    .map_err(|e| Error::Interno(e.into()))?;
    // Pipeline 3 (with a key): the response stored under it, then COMMIT.
    if let Some(clave) = clave {
        conv.guardar(ctx, clave, StatusCode::OK, &cuerpo).await?;
    }
    Ok(Resultado::Hecha {
        cuerpo,
        datos: Convertida {
            venta_id,
            cotizacion,
            cambios: vendida.cambios,
        },
    })
}
