//! `functions/ordenes-compra`: purchase orders of purchasing.md §5 (list, create, read, receive,
//! cancel), the order PDF (§6) and the purchase suggestions (§7). Reads are family B, writes
//! family C (admin), suggestions family D (admin with their own 403 messages). `…/{id}` answers
//! GET only: PUT/PATCH/DELETE are the router's JSON 405 (§3). `recibir`/`cancelar` never read
//! their body, content type included. Handlers stay thin: guards → path → body → domain → JSON.

mod dominio;
mod entrada;
mod pdf;
mod sugerencias;

use http::{Method, header};
use lambda_http::{Body, Request, Response};
use shared::error::{ERROR_INTERNO, NO_AUTORIZADO};
use shared::{Error, Estado, Peticion, Respuesta, Ruta};

const SOLO_ADMIN_VER: &str = "Solo administradores pueden ver sugerencias";
const SOLO_ADMIN_CREAR: &str = "Solo administradores pueden crear órdenes";
/// §7.2: the notes of an order created from suggestions (the body's `notas` is ignored).
pub const NOTAS_SUGERENCIAS: &str = "Generada automáticamente desde sugerencias de compra";

#[derive(Clone, Copy, Debug)]
pub enum R {
    Listar,
    Crear,
    Obtener,
    Recibir,
    Cancelar,
    Pdf,
    Sugerencias,
    CrearDesdeSugerencias,
}

pub const RUTAS: &[Ruta<R>] = &[
    Ruta {
        metodo: Method::GET,
        patron: "/api/ordenes-compra",
        id: R::Listar,
        error_generico: ERROR_INTERNO,
    },
    Ruta {
        metodo: Method::POST,
        patron: "/api/ordenes-compra",
        id: R::Crear,
        error_generico: "Error al crear la orden de compra",
    },
    Ruta {
        metodo: Method::GET,
        patron: "/api/ordenes-compra/{id}",
        id: R::Obtener,
        error_generico: ERROR_INTERNO,
    },
    Ruta {
        metodo: Method::POST,
        patron: "/api/ordenes-compra/{id}/recibir",
        id: R::Recibir,
        error_generico: "Error al recibir la orden de compra",
    },
    Ruta {
        metodo: Method::POST,
        patron: "/api/ordenes-compra/{id}/cancelar",
        id: R::Cancelar,
        error_generico: "Error al cancelar la orden de compra",
    },
    Ruta {
        metodo: Method::GET,
        patron: "/api/pdf/orden-compra/{id}",
        id: R::Pdf,
        error_generico: "Error al generar el PDF",
    },
    Ruta {
        metodo: Method::GET,
        patron: "/api/compras/sugerencias",
        id: R::Sugerencias,
        error_generico: "Error al generar sugerencias",
    },
    Ruta {
        metodo: Method::POST,
        patron: "/api/compras/sugerencias",
        id: R::CrearDesdeSugerencias,
        error_generico: "Error al crear orden de compra",
    },
];

pub async fn handle(estado: &Estado, req: Request) -> Response<Body> {
    shared::servir!(estado, req, RUTAS, |p| match p.ruta {
        R::Listar => listar(p).await,
        R::Crear => crear(p).await,
        R::Obtener => obtener(p).await,
        R::Recibir => recibir(p).await,
        R::Cancelar => cancelar(p).await,
        R::Pdf => pdf(p).await,
        R::Sugerencias => sugerencias(p).await,
        R::CrearDesdeSugerencias => crear_desde_sugerencias(p).await,
    })
}

async fn listar(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = p.ctx(NO_AUTORIZADO).await?;
    Respuesta::ok(&dominio::listar(&p.estado.pool, &ctx).await?)
}

async fn crear(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = p.ctx_admin().await?;
    let cuerpo = p.json_objeto()?;
    Respuesta::created(&dominio::crear(p.estado, &ctx, &cuerpo, None).await?)
}

async fn obtener(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = p.ctx(NO_AUTORIZADO).await?;
    let id = p.id()?;
    Respuesta::ok(&dominio::obtener(&p.estado.pool, &ctx, id).await?)
}

async fn recibir(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = p.ctx_admin().await?;
    let id = p.id()?;
    Respuesta::ok(&dominio::recibir(p.estado, &ctx, id).await?)
}

async fn cancelar(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = p.ctx_admin().await?;
    let id = p.id()?;
    Respuesta::ok(&dominio::cancelar(p.estado, &ctx, id).await?)
}

/// §6: errors are JSON; the 200 is the PDF with `Content-Disposition: inline`.
async fn pdf(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = p.ctx(NO_AUTORIZADO).await?;
    let id = p.id()?;
    let detalle = dominio::obtener(&p.estado.pool, &ctx, id).await?;
    Ok(
        Respuesta::binario("application/pdf", pdf::generar(&detalle)).con_cabecera(
            header::CONTENT_DISPOSITION,
            &format!("inline; filename=\"orden-compra-{id}.pdf\""),
        ),
    )
}

async fn sugerencias(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = p.ctx(NO_AUTORIZADO).await?.admin(SOLO_ADMIN_VER)?;
    Respuesta::ok(&sugerencias::listar(&p.estado.pool, &ctx).await?)
}

/// §7.2: §5.2 with `notas` forced; a `null` or malformed body is a 400 with this route's message.
async fn crear_desde_sugerencias(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = p.ctx(NO_AUTORIZADO).await?.admin(SOLO_ADMIN_CREAR)?;
    let cuerpo = p.json_objeto()?;
    Respuesta::created(&dominio::crear(p.estado, &ctx, &cuerpo, Some(NOTAS_SUGERENCIAS)).await?)
}
