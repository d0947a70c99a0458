//! `functions/categorias`: the five category routes (seed page 001, catalog.md §4).
//! Handlers stay thin: guards → path → body → domain (`dominio`) → JSON.

mod dominio;

use http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use shared::error::NO_AUTORIZADO;
use shared::http::{campo, texto_recortado};
use shared::{Error, Estado, Peticion, Respuesta, Ruta};

pub use dominio::Categoria;

#[derive(Clone, Copy, Debug)]
pub enum R {
    Listar,
    Crear,
    Actualizar,
    Eliminar,
    EliminarVarias,
}

pub const RUTAS: &[Ruta<R>] = &[
    Ruta {
        metodo: Method::GET,
        patron: "/api/categorias",
        id: R::Listar,
        error_generico: "Error interno",
    },
    Ruta {
        metodo: Method::POST,
        patron: "/api/categorias",
        id: R::Crear,
        error_generico: "Error al crear la categoría",
    },
    Ruta {
        metodo: Method::PUT,
        patron: "/api/categorias/{id}",
        id: R::Actualizar,
        error_generico: "Error al actualizar categoría",
    },
    Ruta {
        metodo: Method::DELETE,
        patron: "/api/categorias/{id}",
        id: R::Eliminar,
        error_generico: "Error al eliminar categoría",
    },
    Ruta {
        metodo: Method::POST,
        patron: "/api/categorias/bulk-delete",
        id: R::EliminarVarias,
        error_generico: "Error al eliminar categorías.",
    },
];

pub async fn handle(estado: &Estado, req: Request) -> Response<Body> {
    shared::servir!(estado, req, RUTAS, |p| match p.ruta {
        R::Listar => listar(p).await,
        R::Crear => crear(p).await,
        R::Actualizar => actualizar(p).await,
        R::Eliminar => eliminar(p).await,
        R::EliminarVarias => eliminar_varias(p).await,
    })
}

/// GET: the one documented exception to the guard order — an inactive user gets 401
/// `No autorizado` here (seed page 001), 403 everywhere else.
async fn listar(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let sesion = p.sesion(NO_AUTORIZADO).await?;
    if !sesion.es_activo() {
        return Err(Error::unauthorized(NO_AUTORIZADO));
    }
    let ctx = sesion.activo()?.con_empresa()?;
    let lista = dominio::listar(&p.estado.pool, &ctx).await?;
    Respuesta::ok(&lista)
}

async fn crear(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = p.ctx_admin().await?;
    let cuerpo = p.json()?;
    let nombre = texto_recortado(&cuerpo, "nombre");
    let prefijo = campo(&cuerpo, "prefijo")
        .and_then(Value::as_str)
        .map(|s| s.trim().to_uppercase())
        .filter(|s| !s.is_empty());
    let categoria = dominio::crear(p.estado, &ctx, nombre, prefijo).await?;
    Respuesta::created(&categoria)
}

async fn actualizar(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = p.ctx_admin().await?;
    let id = p.id()?;
    let cuerpo = p.json()?;
    let nombre = texto_recortado(&cuerpo, "nombre");
    let prefijo = texto_recortado(&cuerpo, "prefijo").to_uppercase();
    let categoria = dominio::actualizar(p.estado, &ctx, id, nombre, prefijo).await?;
    Respuesta::ok(&categoria)
}

async fn eliminar(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = p.ctx_admin().await?;
    let id = p.id()?;
    dominio::eliminar(p.estado, &ctx, id).await?;
    Respuesta::ok(&json!({ "mensaje": "Categoría eliminada correctamente" }))
}

async fn eliminar_varias(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = p.ctx_admin().await?;
    let cuerpo = p.json_tolerante()?;
    let ids = match campo(&cuerpo, "ids").and_then(Value::as_array) {
        Some(a) if !a.is_empty() => shared::js::ids_validos(a),
        _ => {
            return Err(Error::bad_request(
                "Debes seleccionar al menos una categoría.",
            ));
        }
    };
    if ids.is_empty() {
        return Err(Error::bad_request("IDs inválidos."));
    }
    let eliminadas = dominio::eliminar_varias(p.estado, &ctx, &ids).await?;
    Respuesta::ok(&json!({ "eliminadas": eliminadas.len(), "ids": eliminadas }))
}
