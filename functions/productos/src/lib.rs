//! `functions/productos`: the product routes of catalog.md §5–§8 and `/api/inventory`.
//! `catalogo` holds the CRUD, code suggestion, price history and inventory handlers;
//! `importar` the CSV/XLSX import and its template.

mod catalogo;
mod importar;

use http::Method;
use lambda_http::{Body, Request, Response};
use shared::{Estado, Ruta};

#[derive(Clone, Copy, Debug)]
pub enum R {
    Listar,
    Crear,
    Obtener,
    Actualizar,
    Eliminar,
    EliminarVarios,
    Importar,
    Plantilla,
    SugerirCodigo,
    HistorialPrecios,
    Inventario,
}

const fn ruta(
    metodo: Method,
    patron: &'static str,
    id: R,
    error_generico: &'static str,
) -> Ruta<R> {
    Ruta {
        metodo,
        patron,
        id,
        error_generico,
    }
}

pub const RUTAS: &[Ruta<R>] = &[
    ruta(
        Method::GET,
        "/api/productos",
        R::Listar,
        "Error al obtener productos",
    ),
    ruta(
        Method::POST,
        "/api/productos",
        R::Crear,
        "Error al crear producto",
    ),
    ruta(
        Method::GET,
        "/api/productos/{id}",
        R::Obtener,
        "Error al obtener producto",
    ),
    ruta(
        Method::PUT,
        "/api/productos/{id}",
        R::Actualizar,
        "Error al actualizar producto",
    ),
    ruta(
        Method::DELETE,
        "/api/productos/{id}",
        R::Eliminar,
        "Error al eliminar producto",
    ),
    ruta(
        Method::POST,
        "/api/productos/bulk-delete",
        R::EliminarVarios,
        "Error al eliminar productos.",
    ),
    ruta(
        Method::POST,
        "/api/productos/importar",
        R::Importar,
        "Error al procesar el archivo.",
    ),
    ruta(
        Method::GET,
        "/api/productos/plantilla",
        R::Plantilla,
        "Error interno",
    ),
    ruta(
        Method::GET,
        "/api/productos/sugerir-codigo",
        R::SugerirCodigo,
        "No se pudo sugerir el código.",
    ),
    ruta(
        Method::GET,
        "/api/productos/{id}/historial-precios",
        R::HistorialPrecios,
        "Error al obtener historial de precios",
    ),
    ruta(
        Method::GET,
        "/api/inventory",
        R::Inventario,
        "Error interno",
    ),
];

pub async fn handle(estado: &Estado, req: Request) -> Response<Body> {
    shared::servir!(estado, req, RUTAS, |p| match p.ruta {
        R::Listar => catalogo::listar(p).await,
        R::Crear => catalogo::crear(p).await,
        R::Obtener => catalogo::obtener(p).await,
        R::Actualizar => catalogo::actualizar(p).await,
        R::Eliminar => catalogo::eliminar(p).await,
        R::EliminarVarios => catalogo::eliminar_varios(p).await,
        R::SugerirCodigo => catalogo::sugerir_codigo(p).await,
        R::HistorialPrecios => catalogo::historial_precios(p).await,
        R::Inventario => catalogo::inventario(p).await,
        R::Importar => importar::importar(p).await,
        R::Plantilla => importar::plantilla(p).await,
    })
}
