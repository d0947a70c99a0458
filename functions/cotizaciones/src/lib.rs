//! `functions/cotizaciones`: quotes of sales.md §4.4–§4.7 (list, create with stock reservation,
//! cancel, convert into a sale). Handlers stay thin: guards → path → body → domain (`dominio`)
//! → JSON. Every route is family A: 401 `No autenticado`, inactive 403, admin or
//! `REALIZAR_VENTAS`.

mod dominio;
mod entrada;

use http::Method;
use lambda_http::{Body, Request, Response};
use shared::error::{NO_AUTENTICADO, NO_AUTORIZADO};
use shared::http::texto_recortado;
use shared::sesion::Permiso;
use shared::{Ctx, Error, Estado, Peticion, Respuesta, Ruta, idempotencia};

use dominio::EstadoCotizacion;

const SIN_MOTIVO: &str = "Debes indicar un motivo de cancelación.";

#[derive(Clone, Copy, Debug)]
pub enum R {
    Listar,
    Crear,
    Cancelar,
    Convertir,
}

pub const RUTAS: &[Ruta<R>] = &[
    Ruta {
        metodo: Method::GET,
        patron: "/api/cotizaciones",
        id: R::Listar,
        // §4.4 Required: the reference had no handler; platform.md §6.2 `Error interno`.
        error_generico: shared::error::ERROR_INTERNO,
    },
    Ruta {
        metodo: Method::POST,
        patron: "/api/cotizaciones",
        id: R::Crear,
        error_generico: "Error al crear la cotización",
    },
    Ruta {
        metodo: Method::POST,
        patron: "/api/cotizaciones/{id}/cancelar",
        id: R::Cancelar,
        error_generico: "Error al cancelar la cotización.",
    },
    Ruta {
        metodo: Method::POST,
        patron: "/api/cotizaciones/{id}/convertir",
        id: R::Convertir,
        error_generico: "Error al convertir la cotización.",
    },
];

pub async fn handle(estado: &Estado, req: Request) -> Response<Body> {
    shared::servir!(estado, req, RUTAS, |p| match p.ruta {
        R::Listar => listar(p).await,
        R::Crear => crear(p).await,
        R::Cancelar => cancelar(p).await,
        R::Convertir => convertir(p).await,
    })
}

/// G1–G4 of family A (sales.md §1.2, Required uniformly on the four routes).
async fn ctx(p: &Peticion<'_, R>) -> Result<Ctx, Error> {
    p.ctx(NO_AUTENTICADO)
        .await?
        .permiso(Permiso::RealizarVentas, NO_AUTORIZADO)
}

/// §4.4: `estado` filters only when it is exactly one of the three values.
async fn listar(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = ctx(p).await?;
    let estado = p.query("estado").and_then(EstadoCotizacion::parse);
    let filas = dominio::listar(&p.estado.pool, &ctx, estado).await?;
    Respuesta::ok(&filas)
}

/// §4.5: body → key → validation → domain. A malformed body or a top-level non-object is a 400
/// with the generic message (§1.4 Required).
async fn crear(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = ctx(p).await?;
    let cuerpo = p.json_objeto()?;
    let clave = idempotencia::de_peticion(p)?;
    let nueva = entrada::nueva_cotizacion(&cuerpo)?;
    dominio::crear(p.estado, &ctx, &nueva, clave.as_ref()).await
}

/// §4.6: lenient body; `motivo` is checked before the quote is looked up.
async fn cancelar(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = ctx(p).await?;
    let id = p.id()?;
    let cuerpo = p.json_tolerante()?;
    let motivo = texto_recortado(&cuerpo, "motivo");
    if motivo.is_empty() {
        return Err(Error::bad_request(SIN_MOTIVO));
    }
    let cotizacion = dominio::cancelar(p.estado, &ctx, id, &motivo).await?;
    Respuesta::ok(&cotizacion)
}

/// §4.7: the body is ignored (not even its content type is looked at).
async fn convertir(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = ctx(p).await?;
    let id = p.id()?;
    let clave = idempotencia::de_peticion(p)?;
    dominio::convertir(p.estado, &ctx, id, clave.as_ref()).await
}
