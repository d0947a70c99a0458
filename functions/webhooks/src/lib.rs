//! `functions/webhooks`: `POST /api/webhooks/neon`, the Neon Auth webhook receiver
//! (platform.md §13, neon-auth.md §6). Public: no session, no rate limit; the Ed25519 signature
//! (`firma`) is checked before anything else, then the event id is deduplicated (`entregas`) and
//! the event handled (`eventos`).

mod entregas;
mod eventos;
mod firma;

use std::time::{SystemTime, UNIX_EPOCH};

use http::Method;
use lambda_http::{Body, Request, Response};
use shared::{Error, Estado, Peticion, Respuesta, Ruta};

pub use eventos::{
    ENLACE_INCOMPLETO, OTP_INCOMPLETO, PAYLOAD_INVALIDO, SIN_DESTINATARIO, USER_CREATED_INVALIDO,
};
pub use firma::FIRMA_INVALIDA;

pub const ERROR_WEBHOOK: &str = "Error interno procesando webhook";

#[derive(Clone, Copy, Debug)]
pub enum R {
    Neon,
}

pub const RUTAS: &[Ruta<R>] = &[Ruta {
    metodo: Method::POST,
    patron: "/api/webhooks/neon",
    id: R::Neon,
    error_generico: ERROR_WEBHOOK,
}];

pub async fn handle(estado: &Estado, req: Request) -> Response<Body> {
    let ahora_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    handle_con_reloj(estado, req, ahora_ms).await
}

/// [`handle`] with an injected clock (Unix ms), for the freshness window and the JWKS cache.
pub async fn handle_con_reloj(estado: &Estado, req: Request, ahora_ms: i64) -> Response<Body> {
    shared::servir!(estado, req, RUTAS, |p| match p.ruta {
        R::Neon => neon(p, ahora_ms).await,
    })
}

async fn neon(p: &Peticion<'_, R>, ahora_ms: i64) -> Result<Respuesta, Error> {
    let cuerpo = p.cuerpo_bytes();
    firma::verificar(p.estado, p.cabeceras(), cuerpo, ahora_ms).await?;
    let cabecera = |k: &str| {
        p.cabeceras()
            .get(k)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
    };
    let event_id = cabecera("x-neon-event-id");
    let tipo = cabecera("x-neon-event-type");
    tracing::info!(
        event_id = event_id.unwrap_or(""),
        tipo = tipo.unwrap_or(""),
        intento = cabecera("x-neon-delivery-attempt").unwrap_or(""),
        "webhook de Neon verificado"
    );
    let procesar = || eventos::procesar(p.estado, cuerpo);
    match event_id {
        Some(id) => entregas::una_vez(p.estado, id, tipo, ERROR_WEBHOOK, procesar).await,
        None => Respuesta::ok(&procesar().await?),
    }
}
