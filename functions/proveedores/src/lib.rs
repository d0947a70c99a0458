//! `functions/proveedores`: the supplier routes of purchasing.md §4 (list, create, read, partial
//! update, delete). Reads are family B (any active user of the tenant), writes family C (admin,
//! §1.1 Required: 401 without a session, 403 when inactive, then role, then tenant as
//! `ctx_admin` orders them). Handlers stay thin: guards → path → body → domain → JSON.

mod dominio;

use http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use shared::error::{ERROR_INTERNO, NO_AUTORIZADO};
use shared::js::recortar;
use shared::{Error, Estado, Peticion, Respuesta, Ruta};

use dominio::{Cambios, NOMBRE_OBLIGATORIO, NuevoProveedor};

#[derive(Clone, Copy, Debug)]
pub enum R {
    Listar,
    Crear,
    Obtener,
    Actualizar,
    Eliminar,
}

pub const RUTAS: &[Ruta<R>] = &[
    Ruta {
        metodo: Method::GET,
        patron: "/api/proveedores",
        id: R::Listar,
        error_generico: ERROR_INTERNO,
    },
    Ruta {
        metodo: Method::POST,
        patron: "/api/proveedores",
        id: R::Crear,
        error_generico: "Error al crear el proveedor",
    },
    Ruta {
        metodo: Method::GET,
        patron: "/api/proveedores/{id}",
        id: R::Obtener,
        error_generico: ERROR_INTERNO,
    },
    Ruta {
        metodo: Method::PUT,
        patron: "/api/proveedores/{id}",
        id: R::Actualizar,
        error_generico: "Error al actualizar el proveedor",
    },
    Ruta {
        metodo: Method::DELETE,
        patron: "/api/proveedores/{id}",
        id: R::Eliminar,
        error_generico: "Error al eliminar el proveedor",
    },
];

pub async fn handle(estado: &Estado, req: Request) -> Response<Body> {
    shared::servir!(estado, req, RUTAS, |p| match p.ruta {
        R::Listar => listar(p).await,
        R::Crear => crear(p).await,
        R::Obtener => obtener(p).await,
        R::Actualizar => actualizar(p).await,
        R::Eliminar => eliminar(p).await,
    })
}

use shared::http::texto_opcional as texto;

/// §4.4: only string values are applied (`""` clears); `null` and non-strings are ignored,
/// unlike clientes, where a present non-string clears.
fn cambio_texto(o: &Value, k: &str) -> Option<Option<String>> {
    o.get(k)
        .and_then(Value::as_str)
        .map(|s| Some(recortar(s).to_string()).filter(|s| !s.is_empty()))
}

async fn listar(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = p.ctx(NO_AUTORIZADO).await?;
    Respuesta::ok(&dominio::listar(&p.estado.pool, &ctx).await?)
}

async fn crear(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = p.ctx_admin().await?;
    let o = p.json_objeto()?;
    let nuevo = NuevoProveedor {
        nombre: texto(o.get("nombre")).ok_or_else(|| Error::bad_request(NOMBRE_OBLIGATORIO))?,
        nit: texto(o.get("nit")),
        contacto: texto(o.get("contacto")),
        telefono: texto(o.get("telefono")),
        email: texto(o.get("email")),
        direccion: texto(o.get("direccion")),
    };
    Respuesta::created(&dominio::crear(p.estado, &ctx, nuevo).await?)
}

async fn obtener(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = p.ctx(NO_AUTORIZADO).await?;
    let id = p.id()?;
    Respuesta::ok(&dominio::obtener(&p.estado.pool, &ctx, id).await?)
}

/// §4.4 order: guard → tenant → `{id}` → body → lookup (404) → field rules → update → audit.
async fn actualizar(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = p.ctx_admin().await?;
    let id = p.id()?;
    let o = p.json_objeto()?;
    let cambios = Cambios {
        nombre: cambio_texto(&o, "nombre"),
        nit: cambio_texto(&o, "nit"),
        contacto: cambio_texto(&o, "contacto"),
        telefono: cambio_texto(&o, "telefono"),
        email: cambio_texto(&o, "email"),
        direccion: cambio_texto(&o, "direccion"),
        activo: o.get("activo").and_then(Value::as_bool),
    };
    Respuesta::ok(&dominio::actualizar(p.estado, &ctx, id, cambios).await?)
}

async fn eliminar(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = p.ctx_admin().await?;
    let id = p.id()?;
    dominio::eliminar(p.estado, &ctx, id).await?;
    Respuesta::ok(&serde_json::json!({ "ok": true }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn textos_de_creacion_y_de_cambio() {
        assert_eq!(texto(Some(&json!("  Sur \u{feff}"))), Some("Sur".into()));
        assert_eq!(texto(Some(&json!("   "))), None);
        assert_eq!(texto(Some(&json!(5))), None);
        let o = json!({"nit": "", "contacto": "  x ", "telefono": null, "email": 3});
        assert_eq!(cambio_texto(&o, "nit"), Some(None), "\"\" clears");
        assert_eq!(cambio_texto(&o, "contacto"), Some(Some("x".into())));
        assert_eq!(cambio_texto(&o, "telefono"), None, "null is ignored");
        assert_eq!(cambio_texto(&o, "email"), None, "non-strings are ignored");
        assert_eq!(cambio_texto(&o, "direccion"), None);
    }
}
