//! `functions/ventas`: register a sale and cancel it (sales.md §4.1–§4.3). Handlers stay thin:
//! guards → path → body → domain (`dominio`) → JSON. `GET /api/ventas` is deliberately not
//! declared: the router answers the JSON 405 with `Allow: POST` (§4.1).

mod dominio;
mod entrada;

use http::Method;
use lambda_http::{Body, Request, Response};
use shared::error::{NO_AUTENTICADO, NO_AUTORIZADO};
use shared::http::texto_recortado;
use shared::sesion::Permiso;
use shared::{Error, Estado, Peticion, Respuesta, Ruta, idempotencia};

pub use dominio::VentaCancelada;

const SOLO_ADMIN: &str = "Solo un administrador puede cancelar ventas.";

#[derive(Clone, Copy, Debug)]
pub enum R {
    Crear,
    Cancelar,
}

pub const RUTAS: &[Ruta<R>] = &[
    Ruta {
        metodo: Method::POST,
        patron: "/api/ventas",
        id: R::Crear,
        error_generico: "Error al registrar la venta",
    },
    Ruta {
        metodo: Method::POST,
        patron: "/api/ventas/{id}/cancelar",
        id: R::Cancelar,
        error_generico: "Error al cancelar la venta.",
    },
];

pub async fn handle(estado: &Estado, req: Request) -> Response<Body> {
    shared::servir!(estado, req, RUTAS, |p| match p.ruta {
        R::Crear => crear(p).await,
        R::Cancelar => cancelar(p).await,
    })
}

/// §4.2: family A (admin or `REALIZAR_VENTAS`, G2 for everyone), optional `Idempotency-Key`,
/// strict body, then one locked transaction.
async fn crear(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = p
        .ctx(NO_AUTENTICADO)
        .await?
        .permiso(Permiso::RealizarVentas, NO_AUTORIZADO)?;
    let clave = idempotencia::de_peticion(p)?;
    let pedido = entrada::nueva_venta(&p.json_objeto()?)?;
    dominio::crear(p.estado, &ctx, &pedido, clave.as_ref()).await
}

/// §4.3: family A′ (active ADMIN/SUPER_ADMIN), lenient body (`{}` when missing or malformed).
async fn cancelar(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = p.ctx(NO_AUTENTICADO).await?.admin(SOLO_ADMIN)?;
    let id = p.id()?;
    let motivo = texto_recortado(&p.json_tolerante()?, "motivo");
    let motivo = (!motivo.is_empty()).then_some(motivo);
    let cancelada = dominio::cancelar(p.estado, &ctx, id, motivo.as_deref()).await?;
    Respuesta::ok(&cancelada)
}
