//! The locked write path of sales, conversions and manual movements: under the product row locks
//! a request sends **one locking statement, one statement that checks availability and writes
//! every row, and `COMMIT`, pipelined** (tokio-postgres writes a request when its future is
//! first polled; [`join_all`] polls them in order, so they leave in one write and the server
//! answers them in one round trip). The statements are the functions of migration V6:
//! `inventario.bloquear` (Idempotency-Key, then the products ascending: the lock order of
//! [`crate::dominio::stock`]), `inventario.vender` and `inventario.mover`.
//!
//! Why two statements and not one: under READ COMMITTED a statement that waited for a row lock
//! re-checks only that row, with its other reads (the reservations) still on its old snapshot,
//! so a quote committed while it waited would be oversold. The write statement starts after
//! the locking one has returned and takes a fresh snapshot.
//!
//! Work that needs no lock (body validation, the price read) runs before; audit rows that
//! platform.md §8.3 lets follow the commit, and `STOCK_BAJO`, after. A refusal raised by the
//! write statement aborts the transaction, so the pipelined `COMMIT` answers `ROLLBACK`: nothing
//! is half-written.

use deadpool_postgres::{Object, Pool};
use futures_util::future::{BoxFuture, join_all};
use serde::Deserialize;
use serde_json::Value;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::dominio::stock::{CambioStock, TipoMovimiento};
use crate::plataforma::db::{INICIO_TRANSACCION, Type};
use crate::plataforma::error::Error;
use crate::plataforma::http::Respuesta;
use crate::plataforma::idempotencia::{self, Clave};
use crate::plataforma::sesion::Ctx;

/// Why the write statement refused (the caller words the answer: its messages differ).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rechazo {
    /// The first line whose product is not the empresa's (404).
    ProductoNoEncontrado(i32),
    /// The first line above availability (400 with `disponible`).
    StockInsuficiente {
        producto_id: i32,
        nombre: String,
        solicitado: i64,
        disponible: i64,
    },
    /// The quote being converted is no longer `PENDIENTE`.
    CotizacionNoPendiente,
}

/// What a write came to.
pub enum Resultado<T> {
    Hecho(T),
    /// The same Idempotency-Key and request already committed: its stored response.
    Repetido(Respuesta),
    Rechazado(Rechazo),
}

type Params<'a> = [(&'a (dyn ToSql + Sync), Type)];
type Paso<'a> = BoxFuture<'a, Result<Vec<Row>, tokio_postgres::Error>>;

fn simple<'a>(c: &'a tokio_postgres::Client, sql: &'a str) -> Paso<'a> {
    Box::pin(async move { c.batch_execute(sql).await.map(|()| Vec::new()) })
}

fn tipada<'a>(c: &'a tokio_postgres::Client, sql: &'a str, params: &'a Params<'a>) -> Paso<'a> {
    Box::pin(c.query_typed(sql, params))
}

/// Sends `pasos` in one pipeline and waits for all of them. The first error in statement order
/// is the cause (what follows it in the transaction fails with 25P02, and `COMMIT` answers
/// `ROLLBACK`).
async fn en_tubo(pasos: Vec<Paso<'_>>) -> Result<Vec<Vec<Row>>, tokio_postgres::Error> {
    join_all(pasos).await.into_iter().collect()
}

/// The refusal raised by `inventario.vender` / `inventario.mover` (SQLSTATE `IV404`, `IV400`,
/// `IV409`), if that is what `e` is.
fn rechazo(e: &tokio_postgres::Error) -> Option<Rechazo> {
    let db = e.as_db_error()?;
    match db.code().code() {
        "IV404" => Some(Rechazo::ProductoNoEncontrado(db.detail()?.parse().ok()?)),
        "IV400" => {
            #[derive(Deserialize)]
            #[serde(rename_all = "camelCase")]
            struct Detalle {
                producto_id: i32,
                nombre: String,
                solicitado: i64,
                disponible: i64,
            }
            let d: Detalle = serde_json::from_str(db.detail()?).ok()?;
            Some(Rechazo::StockInsuficiente {
                producto_id: d.producto_id,
                nombre: d.nombre,
                solicitado: d.solicitado,
                disponible: d.disponible,
            })
        }
        "IV409" => Some(Rechazo::CotizacionNoPendiente),
        _ => None,
    }
}

fn resultado<T>(
    r: Result<Vec<Vec<Row>>, tokio_postgres::Error>,
    leer: impl FnOnce(Vec<Vec<Row>>) -> Result<Resultado<T>, Error>,
) -> Result<Resultado<T>, Error> {
    match r {
        Ok(filas) => leer(filas),
        Err(e) => match rechazo(&e) {
            Some(r) => Ok(Resultado::Rechazado(r)),
            None => Err(e.into()),
        },
    }
}

fn jsonb(filas: &[Vec<Row>], paso: usize) -> Result<Value, Error> {
    filas
        .get(paso)
        .and_then(|f| f.first())
        .map(|f| f.get(0))
        .ok_or_else(|| Error::Interno(anyhow::anyhow!("paso {paso} sin fila")))
}

fn json_a<T: serde::de::DeserializeOwned>(v: &Value) -> Result<T, Error> {
    serde_json::from_value(v.clone()).map_err(|e| Error::Interno(e.into()))
}

/// One line as written: prices were read (and subtotals rounded, `shared::dinero`) before the
/// lock. `cantidad` may exceed `i32` (merged lines): such a line always fails the stock check.
#[derive(Clone, Debug)]
pub struct LineaEscrita {
    pub producto_id: i32,
    pub cantidad: i64,
    pub precio_unitario: f64,
    pub subtotal: f64,
}

/// A sale for `inventario.vender`.
#[derive(Clone, Copy, Debug)]
pub struct Venta<'a> {
    pub vendedor_id: &'a str,
    pub cliente_id: Option<i32>,
    pub notas: Option<&'a str>,
    pub total: f64,
    pub lineas: &'a [LineaEscrita],
    /// Each exit's `notas` is `nota_antes + ventaId + nota_despues`.
    pub nota_antes: &'a str,
    pub nota_despues: &'a str,
}

/// A committed sale: the body as `POST /api/ventas` answers it (also stored under the key) and
/// the stock changes for `stock::notificar_stock_bajo`.
#[derive(Clone, Debug)]
pub struct Vendida {
    pub cuerpo: Value,
    pub cambios: Vec<CambioStock>,
}

const SQL_BLOQUEAR: &str = "SELECT inventario.bloquear($1, $2, $3, $4, $5, $6)";
const SQL_VENDER: &str =
    "SELECT inventario.vender($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
const SQL_MOVER: &str = "SELECT inventario.mover($1, $2, $3, $4, $5, $6, $7)";

/// The arrays of a sale's lines, owned so their parameters can be borrowed by a pipeline.
struct Columnas {
    productos: Vec<i32>,
    cantidades: Vec<i64>,
    precios: Vec<f64>,
    subtotales: Vec<f64>,
}

impl Columnas {
    fn de(lineas: &[LineaEscrita]) -> Self {
        Self {
            productos: lineas.iter().map(|l| l.producto_id).collect(),
            cantidades: lineas.iter().map(|l| l.cantidad).collect(),
            precios: lineas.iter().map(|l| l.precio_unitario).collect(),
            subtotales: lineas.iter().map(|l| l.subtotal).collect(),
        }
    }
}

/// The parameters of `inventario.bloquear`: empresa, products, then the key's value, route,
/// fingerprint and the user (all `None` without a key).
fn params_bloqueo<'a>(
    empresa: &'a &'a str,
    productos: &'a Vec<i32>,
    clave: &'a [Option<&'a str>; 4],
) -> [(&'a (dyn ToSql + Sync), Type); 6] {
    [
        (empresa, Type::TEXT),
        (productos, Type::INT4_ARRAY),
        (&clave[0], Type::TEXT),
        (&clave[1], Type::TEXT),
        (&clave[2], Type::TEXT),
        (&clave[3], Type::TEXT),
    ]
}

/// The parameters of `inventario.vender`.
fn params_venta<'a>(
    empresa: &'a &'a str,
    venta: &'a Venta<'a>,
    col: &'a Columnas,
    clave: &'a Option<&'a str>,
    cotizacion: &'a Option<i32>,
) -> [(&'a (dyn ToSql + Sync), Type); 13] {
    [
        (empresa, Type::TEXT),
        (&venta.vendedor_id, Type::TEXT),
        (&venta.cliente_id, Type::INT4),
        (&venta.notas, Type::TEXT),
        (&venta.total, Type::FLOAT8),
        (&col.productos, Type::INT4_ARRAY),
        (&col.cantidades, Type::INT8_ARRAY),
        (&col.precios, Type::FLOAT8_ARRAY),
        (&col.subtotales, Type::FLOAT8_ARRAY),
        (&venta.nota_antes, Type::TEXT),
        (&venta.nota_despues, Type::TEXT),
        (clave, Type::TEXT),
        (cotizacion, Type::INT4),
    ]
}

fn leer_venta(v: Value, clave: Option<&Clave>) -> Result<Resultado<Vendida>, Error> {
    if v.get("repetida").and_then(Value::as_bool) == Some(true) {
        let clave = clave.ok_or_else(|| Error::Interno(anyhow::anyhow!("repetición sin clave")))?;
        let texto = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default();
        let status = v.get("status").and_then(Value::as_i64).unwrap_or(200) as i32;
        let cuerpo = v.get("cuerpo").cloned().unwrap_or(Value::Null);
        return clave
            .repeticion(texto("ruta"), texto("huella"), status, &cuerpo)
            .map(Resultado::Repetido);
    }
    let cambios = json_a(v.get("cambios").unwrap_or(&Value::Null))?;
    let cuerpo = v.get("cuerpo").cloned().unwrap_or(Value::Null);
    Ok(Resultado::Hecho(Vendida { cuerpo, cambios }))
}

/// `POST /api/ventas` (sales.md §4.2): `[BEGIN + settings] [lock: key, products] [check and
/// write, response stored under the key] [COMMIT]`, one round trip. Under the locks the
/// empresa's products are re-read, so a product deleted or moved meanwhile is still the first
/// failing line's 404.
pub async fn vender(
    c: &Object,
    ctx: &Ctx,
    venta: &Venta<'_>,
    clave: Option<&Clave>,
) -> Result<Resultado<Vendida>, Error> {
    let empresa = ctx.empresa.as_str();
    let col = Columnas::de(venta.lineas);
    let valor = clave.map(Clave::valor);
    let datos_clave = [
        valor,
        clave.map(Clave::ruta),
        clave.map(Clave::huella),
        clave.map(|_| ctx.usuario_id()),
    ];
    let sin_cotizacion: Option<i32> = None;
    let bloqueo = params_bloqueo(&empresa, &col.productos, &datos_clave);
    let escritura = params_venta(&empresa, venta, &col, &valor, &sin_cotizacion);
    let cl: &tokio_postgres::Client = c;
    let r = en_tubo(vec![
        simple(cl, INICIO_TRANSACCION),
        tipada(cl, SQL_BLOQUEAR, &bloqueo),
        tipada(cl, SQL_VENDER, &escritura),
        simple(cl, "COMMIT"),
    ])
    .await;
    resultado(r, |filas| leer_venta(jsonb(&filas, 2)?, clave))
}

/// A quote's conversion (sales.md §4.7), in two pipelines on one transaction:
/// [`Conversion::abrir`] sends `[BEGIN + settings] [claim the key] [lock and read the quote]
/// [its lines]`, the caller checks the quote, then [`Conversion::vender`] sends `[lock
/// products] [check physical stock and write, flip the quote] [read the quote] [COMMIT]`.
/// With an Idempotency-Key the body (sale + quote) is known only after that answer, so the key
/// row and `COMMIT` go in a third pipeline ([`Conversion::guardar`]).
///
/// If the value is dropped while its transaction is open (an early return, a cancelled
/// request), the connection is detached from the pool and closed, which rolls back.
pub struct Conversion {
    c: Option<Object>,
    abierta: bool,
}

impl Drop for Conversion {
    fn drop(&mut self) {
        if self.abierta
            && let Some(c) = self.c.take()
        {
            // Not reusable with a transaction open: detached from the pool and dropped, the
            // connection closes and the server rolls back.
            drop(Object::take(c));
        }
    }
}

/// The quote row and its lines as read under the quote lock.
pub struct CotizacionLeida {
    /// `None` when the claim found a committed response for this key.
    pub repetida: Option<Respuesta>,
    /// The rows of the caller's quote query (empty: not the empresa's).
    pub cotizacion: Vec<Row>,
    pub lineas: Vec<Row>,
}

impl Conversion {
    /// First pipeline: claim the key (first in the lock order), then the quote query
    /// (`sql_cotizacion` with `[id, empresa]`, `FOR UPDATE`) and the lines query
    /// (`sql_lineas` with `[id]`).
    pub async fn abrir(
        pool: &Pool,
        ctx: &Ctx,
        clave: Option<&Clave>,
        id: i32,
        sql_cotizacion: &str,
        sql_lineas: &str,
    ) -> Result<(Conversion, CotizacionLeida), Error> {
        let c = pool.get().await?;
        let empresa = ctx.empresa.as_str();
        let usuario = ctx.usuario_id();
        let (valor, ruta, huella) = (
            clave.map(Clave::valor).unwrap_or_default(),
            clave.map(Clave::ruta).unwrap_or_default(),
            clave.map(Clave::huella).unwrap_or_default(),
        );
        let reclamo: [(&(dyn ToSql + Sync), Type); 5] = [
            (&empresa, Type::TEXT),
            (&valor, Type::TEXT),
            (&ruta, Type::TEXT),
            (&huella, Type::TEXT),
            (&usuario, Type::TEXT),
        ];
        let cot: [(&(dyn ToSql + Sync), Type); 2] = [(&id, Type::INT4), (&empresa, Type::TEXT)];
        let lin: [(&(dyn ToSql + Sync), Type); 1] = [(&id, Type::INT4)];
        let conv = Conversion {
            c: Some(c),
            abierta: true,
        };
        let cl: &tokio_postgres::Client = conv.cliente();
        let mut pasos = vec![simple(cl, INICIO_TRANSACCION)];
        if clave.is_some() {
            pasos.push(tipada(cl, idempotencia::SQL_RECLAMAR, &reclamo));
        }
        pasos.push(tipada(cl, sql_cotizacion, &cot));
        pasos.push(tipada(cl, sql_lineas, &lin));
        let mut filas = en_tubo(pasos).await?;
        let lineas = filas.pop().unwrap_or_default();
        let cotizacion = filas.pop().unwrap_or_default();
        let repetida = match clave {
            Some(clave) => {
                let fila = filas.pop().and_then(|mut f| f.pop()).ok_or_else(|| {
                    Error::Interno(anyhow::anyhow!("clave de idempotencia desaparecida"))
                })?;
                idempotencia::leer_reclamo(clave, &fila)?
            }
            None => None,
        };
        Ok((
            conv,
            CotizacionLeida {
                repetida,
                cotizacion,
                lineas,
            },
        ))
    }

    fn cliente(&self) -> &tokio_postgres::Client {
        self.c.as_deref().expect("conexión de la conversión")
    }

    /// Ends the transaction without writing (a refusal decided by the caller).
    pub async fn deshacer(mut self) -> Result<(), Error> {
        self.cliente().batch_execute("ROLLBACK").await?;
        self.abierta = false;
        Ok(())
    }

    /// Second pipeline: products locked ascending, the sale written with physical stock only
    /// (this quote's own reservation is what is being consumed), the quote flipped to
    /// `CONVERTIDA` and read back with `sql_cotizacion` (`[id, empresa]`, without `FOR
    /// UPDATE`); `COMMIT` too when `cerrar` (no key). Returns the sale and the quote's row.
    pub async fn vender(
        &mut self,
        ctx: &Ctx,
        id: i32,
        venta: &Venta<'_>,
        sql_cotizacion: &str,
        cerrar: bool,
    ) -> Result<Resultado<(Vendida, Row)>, Error> {
        let empresa = ctx.empresa.as_str();
        let col = Columnas::de(venta.lineas);
        let ninguno: Option<&str> = None;
        let sin_clave = [None; 4];
        let cotizacion = Some(id);
        let bloqueo = params_bloqueo(&empresa, &col.productos, &sin_clave);
        let escritura = params_venta(&empresa, venta, &col, &ninguno, &cotizacion);
        let lectura: [(&(dyn ToSql + Sync), Type); 2] = [(&id, Type::INT4), (&empresa, Type::TEXT)];
        let cl = self.cliente();
        let mut pasos = vec![
            tipada(cl, SQL_BLOQUEAR, &bloqueo),
            tipada(cl, SQL_VENDER, &escritura),
            tipada(cl, sql_cotizacion, &lectura),
        ];
        if cerrar {
            pasos.push(simple(cl, "COMMIT"));
        }
        let r = en_tubo(pasos).await;
        if !cerrar && r.is_err() {
            // After a failed statement the transaction only accepts its end.
            self.cliente().batch_execute("ROLLBACK").await?;
        }
        if cerrar || r.is_err() {
            self.abierta = false;
        }
        resultado(r, |mut filas| {
            let fila = filas
                .get_mut(2)
                .and_then(Vec::pop)
                .ok_or_else(|| Error::Interno(anyhow::anyhow!("cotización sin fila")))?;
            match leer_venta(jsonb(&filas, 1)?, None)? {
                Resultado::Hecho(v) => Ok(Resultado::Hecho((v, fila))),
                Resultado::Repetido(r) => Ok(Resultado::Repetido(r)),
                Resultado::Rechazado(r) => Ok(Resultado::Rechazado(r)),
            }
        })
    }

    /// Third pipeline (with a key): the response stored under it, then `COMMIT`.
    pub async fn guardar(
        mut self,
        ctx: &Ctx,
        clave: &Clave,
        status: http::StatusCode,
        cuerpo: &Value,
    ) -> Result<(), Error> {
        let empresa = ctx.empresa.as_str();
        let status = i32::from(status.as_u16());
        let cuerpo = tokio_postgres::types::Json(cuerpo);
        let valor = clave.valor();
        let params: [(&(dyn ToSql + Sync), Type); 4] = [
            (&empresa, Type::TEXT),
            (&valor, Type::TEXT),
            (&status, Type::INT4),
            (&cuerpo, Type::JSONB),
        ];
        let cl = self.cliente();
        let r = en_tubo(vec![
            tipada(cl, idempotencia::SQL_GUARDAR, &params),
            simple(cl, "COMMIT"),
        ])
        .await;
        self.abierta = false;
        r?;
        Ok(())
    }
}

/// A manual movement for `inventario.mover`.
#[derive(Clone, Copy, Debug)]
pub struct Movimiento<'a> {
    pub producto_id: i32,
    pub tipo: TipoMovimiento,
    pub cantidad: i32,
    pub notas: Option<&'a str>,
}

/// A committed movement: the body as `POST /api/movimientos` answers it (also the audit row's
/// `despues`) and the stock change.
#[derive(Clone, Debug)]
pub struct Movido {
    pub cuerpo: Value,
    pub cambio: CambioStock,
}

/// `POST /api/movimientos` (movimientos.md §5.3): `[BEGIN + settings] [lock the product]
/// [check (exits), stock, movement and its audit row] [COMMIT]`, one round trip. The audit row
/// is the one `shared::auditoria::registrar_en` would write, with `ip` = the request's or
/// `ip_defecto`.
pub async fn mover(
    c: &Object,
    ctx: &Ctx,
    m: &Movimiento<'_>,
    ip_defecto: &str,
) -> Result<Resultado<Movido>, Error> {
    let empresa = ctx.empresa.as_str();
    let ids = vec![m.producto_id];
    let sin_clave = [None; 4];
    let usuario = ctx.usuario_id();
    let ip = ctx.ip.as_deref().unwrap_or(ip_defecto);
    let tipo = m.tipo.as_str();
    let bloqueo = params_bloqueo(&empresa, &ids, &sin_clave);
    let escritura: [(&(dyn ToSql + Sync), Type); 7] = [
        (&empresa, Type::TEXT),
        (&m.producto_id, Type::INT4),
        (&tipo, Type::TEXT),
        (&m.cantidad, Type::INT4),
        (&m.notas, Type::TEXT),
        (&usuario, Type::TEXT),
        (&ip, Type::TEXT),
    ];
    let cl: &tokio_postgres::Client = c;
    let r = en_tubo(vec![
        simple(cl, INICIO_TRANSACCION),
        tipada(cl, SQL_BLOQUEAR, &bloqueo),
        tipada(cl, SQL_MOVER, &escritura),
        simple(cl, "COMMIT"),
    ])
    .await;
    resultado(r, |filas| {
        let v = jsonb(&filas, 2)?;
        Ok(Resultado::Hecho(Movido {
            cambio: json_a(v.get("cambio").unwrap_or(&Value::Null))?,
            cuerpo: v.get("cuerpo").cloned().unwrap_or(Value::Null),
        }))
    })
}
