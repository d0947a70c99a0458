//! Once-only processing by `X-Neon-Event-Id` (neon-auth.md §6.3 step 8, platform.md §13.2),
//! stored in `inventario.webhook_evento` and consulted only after the signature was verified.
//!
//! Concurrent deliveries of one id: the id is claimed with `INSERT … ON CONFLICT DO NOTHING` in a
//! transaction that stays open while the event runs (on a second pooled connection) and commits
//! together with the stored answer. A second delivery's insert waits on the unique index until the
//! first transaction ends, then finds the row and replays its status and body. Only final answers
//! (2xx, 4xx) are stored: on a 5xx the claim rolls back, because Neon retries 5xx with the same
//! event id (neon-auth.md §6.1) and a transient failure (SMTP down) must not be frozen. A process
//! that dies mid-event also rolls back, so no claim is ever left dangling. Cost: two connections
//! per delivery; a Lambda container serves one request at a time and the pool holds two.

use http::StatusCode;
use serde_json::Value;
use shared::db::{self, Consulta, Type};
use shared::{Error, Estado, Respuesta};

const SQL_RECLAMAR: &str = r#"INSERT INTO inventario.webhook_evento ("eventId", "tipo") VALUES ($1, $2)
ON CONFLICT ("eventId") DO NOTHING RETURNING "eventId""#;
const SQL_LEER: &str =
    r#"SELECT "status", "cuerpo" FROM inventario.webhook_evento WHERE "eventId" = $1"#;
const SQL_GUARDAR: &str = r#"UPDATE inventario.webhook_evento SET "status" = $2, "cuerpo" = $3
WHERE "eventId" = $1 RETURNING "eventId""#;

/// Runs `procesar` once per `event_id`; a repeated id gets the stored answer. `generico` is the
/// route's generic 500 message (needed to store a 4xx body exactly as it is sent).
pub async fn una_vez<Fut>(
    estado: &Estado,
    event_id: &str,
    tipo: Option<&str>,
    generico: &str,
    procesar: impl FnOnce() -> Fut,
) -> Result<Respuesta, Error>
where
    Fut: Future<Output = Result<Value, Error>>,
{
    let mut c = estado.pool.get().await?;
    let tx = db::transaccion(&mut c).await?;
    let reclamado = !tx
        .consulta(
            SQL_RECLAMAR,
            &[(&event_id, Type::TEXT), (&tipo, Type::TEXT)],
        )
        .await?
        .is_empty();
    if !reclamado {
        let filas = tx.consulta(SQL_LEER, &[(&event_id, Type::TEXT)]).await?;
        let guardado = filas.first().and_then(|f| {
            let status: Option<i32> = f.get(0);
            let cuerpo: Option<Value> = f.get(1);
            let status = StatusCode::from_u16(u16::try_from(status?).ok()?).ok()?;
            Some((status, cuerpo?))
        });
        let Some((status, cuerpo)) = guardado else {
            return Err(Error::Interno(anyhow::anyhow!(
                "webhook_evento {event_id} sin respuesta guardada"
            )));
        };
        tracing::info!(
            event_id,
            status = status.as_u16(),
            "entrega repetida: respuesta guardada"
        );
        return Respuesta::json(status, &cuerpo);
    }
    let (status, cuerpo) = match procesar().await {
        Ok(v) => (StatusCode::OK, v),
        Err(e) if !e.status().is_server_error() => (e.status(), e.cuerpo(generico)),
        // Dropping `tx` rolls the claim back: the retry runs the event again.
        Err(e) => return Err(e),
    };
    tx.consulta(
        SQL_GUARDAR,
        &[
            (&event_id, Type::TEXT),
            (&i32::from(status.as_u16()), Type::INT4),
            (&cuerpo, Type::JSONB),
        ],
    )
    .await?;
    tx.commit().await?;
    Respuesta::json(status, &cuerpo)
}
