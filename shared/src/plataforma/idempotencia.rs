//! `Idempotency-Key` for the POSTs that create sales (beyond the reference; issue "Sales"):
//! a retry with the same key and body returns the stored response without doing the work
//! again; the same key with another body (or on another route) → 422.
//!
//! The key row is inserted in the **same transaction** as the work and carries the response, so
//! it exists iff the work committed (z2p's idempotency shape). A concurrent request with the same
//! key blocks on the unique index until the first transaction ends, then sees its row. Failed
//! requests (4xx/5xx) roll back and store nothing: retrying them runs them again. Keys are
//! scoped to the empresa and expire after 24 h (an expired row is replaced).

use http::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::plataforma::db::{Consulta, Type};
use crate::plataforma::error::Error;
use crate::plataforma::http::{Peticion, Respuesta};
use crate::plataforma::sesion::Ctx;

pub const CABECERA: &str = "idempotency-key";
pub const CLAVE_INVALIDA: &str = "Idempotency-Key inválida: usa entre 1 y 255 caracteres visibles.";
pub const CLAVE_REUTILIZADA: &str =
    "Idempotency-Key ya usada con otra petición: usa una clave nueva para cada operación.";

/// A request's key and the fingerprint of what it asks for (route + body bytes).
#[derive(Debug, Clone)]
pub struct Clave {
    valor: String,
    ruta: String,
    huella: String,
}

/// The request's `Idempotency-Key`, if any. `ruta` is the concrete path (so the same key on two
/// different quotes' `convertir` is a mismatch).
pub fn de_peticion<R: Copy + 'static>(p: &Peticion<'_, R>) -> Result<Option<Clave>, Error> {
    let Some(v) = p.cabeceras().get(CABECERA) else {
        return Ok(None);
    };
    let valor = v
        .to_str()
        .map_err(|_| Error::bad_request(CLAVE_INVALIDA))?
        .trim()
        .to_string();
    if valor.is_empty() || valor.len() > 255 || !valor.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(Error::bad_request(CLAVE_INVALIDA));
    }
    let ruta = crate::plataforma::rutas::normalizar(p.req.uri().path()).to_string();
    let mut h = Sha256::new();
    h.update(ruta.as_bytes());
    h.update([0]);
    h.update(p.cuerpo_bytes());
    let huella = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(Some(Clave {
        valor,
        ruta,
        huella,
    }))
}

impl Clave {
    /// The key as the client sent it (trimmed).
    pub fn valor(&self) -> &str {
        &self.valor
    }
    /// The concrete path the key was sent on.
    pub fn ruta(&self) -> &str {
        &self.ruta
    }
    /// SHA-256 of route and body bytes, hex.
    pub fn huella(&self) -> &str {
        &self.huella
    }

    /// What a key found already committed answers: the stored response (marked
    /// `Idempotent-Replayed: true`) when route and body are the same, else 422.
    pub fn repeticion(
        &self,
        ruta: &str,
        huella: &str,
        status: i32,
        cuerpo: &Value,
    ) -> Result<Respuesta, Error> {
        if ruta != self.ruta || huella != self.huella {
            return Err(Error::Unprocessable(CLAVE_REUTILIZADA.into()));
        }
        let status = u16::try_from(status)
            .ok()
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or(StatusCode::OK);
        Ok(Respuesta::json(status, cuerpo)?
            .con_cabecera(http::HeaderName::from_static("idempotent-replayed"), "true"))
    }
}

/// The one statement that claims a key (`inventario.reclamar`, migration V6): drops an expired
/// row, inserts the claim, and returns `nuestra, ruta, huella, status, cuerpo`. Also sent inside
/// the pipelines of `shared::dominio::escritura`.
pub const SQL_RECLAMAR: &str =
    r#"SELECT nuestra, ruta, huella, status, cuerpo FROM inventario.reclamar($1, $2, $3, $4, $5)"#;

/// Reads the row of [`SQL_RECLAMAR`]: `None` when the key is ours, else [`Clave::repeticion`].
pub fn leer_reclamo(clave: &Clave, fila: &tokio_postgres::Row) -> Result<Option<Respuesta>, Error> {
    let nuestra: bool = fila.get(0);
    if nuestra {
        return Ok(None);
    }
    let (ruta, huella, status, cuerpo): (String, String, i32, Value) =
        (fila.get(1), fila.get(2), fila.get(3), fila.get(4));
    clave.repeticion(&ruta, &huella, status, &cuerpo).map(Some)
}

/// Inside the business transaction, **first** (before any other lock, see the lock order in
/// `shared::stock`): claims the key. `Ok(None)`: the key is ours, run the work and call
/// [`guardar`]. `Ok(Some(stored response))`: this same request already committed (the caller
/// returns it and lets its transaction roll back). 422: the key was used for another request.
/// A concurrent request with the same key waits on the primary key until the first transaction
/// ends, then replays its response (or claims the key if the first one rolled back).
pub async fn reclamar(
    tx: &impl Consulta,
    ctx: &Ctx,
    clave: &Clave,
) -> Result<Option<Respuesta>, Error> {
    let filas = tx
        .consulta(
            SQL_RECLAMAR,
            &[
                (&ctx.empresa.as_str(), Type::TEXT),
                (&clave.valor, Type::TEXT),
                (&clave.ruta, Type::TEXT),
                (&clave.huella, Type::TEXT),
                (&ctx.usuario.id, Type::TEXT),
            ],
        )
        .await?;
    let fila = filas
        .first()
        .ok_or_else(|| Error::Interno(anyhow::anyhow!("clave de idempotencia desaparecida")))?;
    leer_reclamo(clave, fila)
}

/// The statement of [`guardar`] (`$1` empresa, `$2` key, `$3` status, `$4` body), also sent
/// inside the pipelines of `shared::dominio::escritura`.
pub const SQL_GUARDAR: &str = r#"UPDATE inventario.idempotencia SET "status" = $3, "cuerpo" = $4
    WHERE "empresaId" = $1 AND "clave" = $2 RETURNING "clave""#;

/// Inside the business transaction, after the work and before the commit: stores the response
/// on the key claimed by [`reclamar`].
pub async fn guardar(
    tx: &impl Consulta,
    ctx: &Ctx,
    clave: &Clave,
    status: StatusCode,
    cuerpo: &Value,
) -> Result<(), Error> {
    let status = status.as_u16() as i32;
    let cuerpo = tokio_postgres::types::Json(cuerpo);
    tx.consulta(
        SQL_GUARDAR,
        &[
            (&ctx.empresa.as_str(), Type::TEXT),
            (&clave.valor, Type::TEXT),
            (&status, Type::INT4),
            (&cuerpo, Type::JSONB),
        ],
    )
    .await?;
    Ok(())
}
