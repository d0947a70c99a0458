//! Product CRUD, code suggestion, price history and `/api/inventory` (catalog.md §5, §7.2, §7.3,
//! §8). Handlers stay thin: guards → `{id}` → body (`entrada`) → domain (`dominio`) → JSON.

mod dominio;
mod entrada;

use serde_json::{Value, json};
use shared::error::{NO_AUTENTICADO, NO_AUTORIZADO};
use shared::http::campo;
use shared::{Error, Peticion, Respuesta, paginacion};

use crate::R;
use entrada::{EdicionProducto, NuevoProducto, RefCategoria};

/// GET /api/productos — family R (`No autenticado`).
pub async fn listar(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = p.ctx(NO_AUTENTICADO).await?;
    let limite = paginacion::limite(p.query("limite"));
    // A cursor is the id of the last item received: a positive one is looked up in the tenant
    // (unknown → empty page; beyond 32 bits it cannot exist); NaN, 0 or negative → first page.
    let cursor = match p.query("cursor").and_then(shared::js::parse_int_str) {
        Some(n) if n > 0 => match i32::try_from(n) {
            Ok(id) => Some(id),
            Err(_) => return Respuesta::ok(&dominio::Pagina::vacia()),
        },
        _ => None,
    };
    let pagina = dominio::listar(p.estado, &ctx, limite, cursor).await?;
    Respuesta::ok(&pagina)
}

/// POST /api/productos — family A, rate limited.
pub async fn crear(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = p.ctx_admin().await?;
    let nuevo = NuevoProducto::de(&p.json()?);
    let producto = dominio::crear(p.estado, &ctx, nuevo).await?;
    Respuesta::created(&producto)
}

/// GET /api/productos/{id} — family R (`No autenticado`).
pub async fn obtener(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = p.ctx(NO_AUTENTICADO).await?;
    let id = p.id()?;
    Respuesta::ok(&dominio::obtener(p.estado, &ctx, id).await?)
}

/// PUT /api/productos/{id} — family A.
pub async fn actualizar(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = p.ctx_admin().await?;
    let id = p.id()?;
    let edicion = EdicionProducto::de(&p.json()?)?;
    Respuesta::ok(&dominio::actualizar(p.estado, &ctx, id, edicion).await?)
}

/// DELETE /api/productos/{id} — family A; body ignored.
pub async fn eliminar(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = p.ctx_admin().await?;
    let id = p.id()?;
    dominio::eliminar(p.estado, &ctx, id).await?;
    Respuesta::ok(&json!({ "mensaje": "Producto eliminado correctamente" }))
}

/// POST /api/productos/bulk-delete — family A; a malformed or `null` body reads as `{}`.
pub async fn eliminar_varios(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = p.ctx_admin().await?;
    let cuerpo = p.json_tolerante()?;
    let ids = match campo(&cuerpo, "ids").and_then(Value::as_array) {
        Some(a) if !a.is_empty() => shared::js::ids_validos(a),
        _ => {
            return Err(Error::bad_request(
                "Debes seleccionar al menos un producto.",
            ));
        }
    };
    if ids.is_empty() {
        return Err(Error::bad_request("IDs inválidos."));
    }
    let eliminados = dominio::eliminar_varios(p.estado, &ctx, &ids).await?;
    Respuesta::ok(&json!({ "eliminados": eliminados.len(), "ids": eliminados }))
}

/// GET /api/productos/sugerir-codigo?categoria={id} — family I (guards as family A).
pub async fn sugerir_codigo(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = p.ctx_admin().await?;
    let categoria = RefCategoria::de(
        p.query("categoria")
            .map(|s| Value::String(s.into()))
            .as_ref(),
    );
    let codigo = dominio::sugerir_codigo(p.estado, &ctx, categoria).await?;
    Respuesta::ok(&json!({ "codigo": codigo }))
}

/// GET /api/productos/{id}/historial-precios — family R (`No autorizado`).
pub async fn historial_precios(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = p.ctx(NO_AUTORIZADO).await?;
    let id = p.id()?;
    Respuesta::ok(&dominio::historial_precios(p.estado, &ctx, id).await?)
}

/// GET /api/inventory — the reference's public stub behind family-P guards (Required).
pub async fn inventario(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    p.ctx(NO_AUTORIZADO).await?;
    Ok(Respuesta::texto(
        "text/plain;charset=UTF-8",
        "Inventory endpoint".into(),
    ))
}
