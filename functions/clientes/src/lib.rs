//! PLACEHOLDER: `functions/clientes` (sales.md). Routes are added with the implementation.

use lambda_http::{Body, Request, Response};
use shared::{Estado, Peticion, Ruta};

#[derive(Clone, Copy, Debug)]
pub enum R {}

pub const RUTAS: &[Ruta<R>] = &[];

pub async fn handle(estado: &Estado, req: Request) -> Response<Body> {
    match Peticion::abrir(estado, req, RUTAS).await {
        Ok(p) => match p.ruta {},
        Err(res) => res,
    }
}
