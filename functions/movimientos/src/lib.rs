//! PLACEHOLDER: `functions/movimientos` (movimientos.md): list, manual movement, bulk delete.

use http::Method;
use lambda_http::{Body, Request, Response};
use shared::{Error, Estado, Peticion, Ruta};

#[derive(Clone, Copy, Debug)]
pub enum R {
    Listar,
    Crear,
    EliminarVarios,
}

pub const RUTAS: &[Ruta<R>] = &[
    Ruta { metodo: Method::GET, patron: "/api/movimientos", id: R::Listar, error_generico: "Error al obtener movimientos" },
    Ruta { metodo: Method::POST, patron: "/api/movimientos", id: R::Crear, error_generico: "Error al crear movimiento" },
    Ruta {
        metodo: Method::POST,
        patron: "/api/movimientos/bulk-delete",
        id: R::EliminarVarios,
        error_generico: "Error al eliminar movimientos.",
    },
];

pub async fn handle(estado: &Estado, req: Request) -> Response<Body> {
    let p = match Peticion::abrir(estado, req, RUTAS).await {
        Ok(p) => p,
        Err(res) => return res,
    };
    let res = Err(Error::Interno(anyhow::anyhow!("sin implementar")));
    p.cerrar(res)
}
