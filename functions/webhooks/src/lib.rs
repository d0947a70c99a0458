//! `functions/webhooks`: POST /api/webhooks/neon (platform.md §13, neon-auth.md §6).
//! PLACEHOLDER being replaced by the webhook implementation.

use http::Method;
use lambda_http::{Body, Request, Response};
use shared::{Error, Estado, Peticion, Ruta};

#[derive(Clone, Copy, Debug)]
pub enum R {
    Neon,
}

pub const RUTAS: &[Ruta<R>] = &[Ruta {
    metodo: Method::POST,
    patron: "/api/webhooks/neon",
    id: R::Neon,
    error_generico: "Error interno procesando webhook",
}];

pub async fn handle(estado: &Estado, req: Request) -> Response<Body> {
    let p = match Peticion::abrir(estado, req, RUTAS).await {
        Ok(p) => p,
        Err(res) => return res,
    };
    let res = Err(Error::Interno(anyhow::anyhow!("sin implementar")));
    p.cerrar(res)
}
