//! `functions/clientes`: the customer routes of sales.md §4.8–§4.13 (list with search, create,
//! read, partial update, history). Family B: any active user of the tenant, no role or
//! permission. There is no delete (§4.12): DELETE/PATCH on `{id}` are the router's JSON 405.
//! Handlers stay thin: guards → path → body → domain (`dominio`) → JSON.

mod dominio;

use http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use shared::error::NO_AUTORIZADO;
use shared::js::parse_int_str;
use shared::{Error, Estado, Peticion, Respuesta, Ruta};

pub use dominio::Cliente;
use dominio::{Cambios, NOMBRE_OBLIGATORIO, NuevoCliente};

/// §4.8 `limite`: absent, NaN or 0 → 200; otherwise clamped to 1…500.
const LIMITE_DEFECTO: i64 = 200;
const LIMITE_MAX: i64 = 500;

#[derive(Clone, Copy, Debug)]
pub enum R {
    Listar,
    Crear,
    Obtener,
    Actualizar,
    Historial,
}

pub const RUTAS: &[Ruta<R>] = &[
    Ruta {
        metodo: Method::GET,
        patron: "/api/clientes",
        id: R::Listar,
        error_generico: "Error al obtener clientes",
    },
    Ruta {
        metodo: Method::POST,
        patron: "/api/clientes",
        id: R::Crear,
        error_generico: "Error al crear cliente",
    },
    Ruta {
        metodo: Method::GET,
        patron: "/api/clientes/{id}",
        id: R::Obtener,
        error_generico: "Error al obtener cliente",
    },
    Ruta {
        metodo: Method::PUT,
        patron: "/api/clientes/{id}",
        id: R::Actualizar,
        error_generico: "Error al actualizar cliente",
    },
    Ruta {
        metodo: Method::GET,
        patron: "/api/clientes/{id}/historial",
        id: R::Historial,
        error_generico: "Error al obtener historial",
    },
];

pub async fn handle(estado: &Estado, req: Request) -> Response<Body> {
    shared::servir!(estado, req, RUTAS, |p| match p.ruta {
        R::Listar => listar(p).await,
        R::Crear => crear(p).await,
        R::Obtener => obtener(p).await,
        R::Actualizar => actualizar(p).await,
        R::Historial => historial(p).await,
    })
}

use shared::http::texto_opcional as texto;

/// A key of a partial update: absent → `None`; present → `Some(texto)`.
fn presente(o: &Value, k: &str) -> Option<Option<String>> {
    o.get(k).map(|v| texto(Some(v)))
}

fn limite(q: Option<&str>) -> i64 {
    match q.and_then(parse_int_str) {
        None | Some(0) => LIMITE_DEFECTO,
        Some(n) => n.clamp(1, LIMITE_MAX),
    }
}

async fn listar(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = p.ctx(NO_AUTORIZADO).await?;
    let lista = dominio::listar(
        &p.estado.pool,
        &ctx,
        p.query("busqueda"),
        limite(p.query("limite")),
    )
    .await?;
    Respuesta::ok(&lista)
}

async fn crear(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = p.ctx(NO_AUTORIZADO).await?;
    let o = p.json_objeto()?;
    let nuevo = NuevoCliente {
        nombre: texto(o.get("nombre")).ok_or_else(|| Error::bad_request(NOMBRE_OBLIGATORIO))?,
        documento: texto(o.get("documento")),
        email: texto(o.get("email")),
        telefono: texto(o.get("telefono")),
        direccion: texto(o.get("direccion")),
        notas: texto(o.get("notas")),
    };
    let cliente = dominio::crear(&p.estado.pool, &ctx, nuevo).await?;
    Respuesta::created(&cliente)
}

async fn obtener(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = p.ctx(NO_AUTORIZADO).await?;
    let id = p.id()?;
    Respuesta::ok(&dominio::obtener(&p.estado.pool, &ctx, id).await?)
}

/// §4.11: the body is read before the lookup, so a malformed one is a 400 even for an unknown id.
async fn actualizar(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = p.ctx(NO_AUTORIZADO).await?;
    let id = p.id()?;
    let o = p.json_objeto()?;
    let cambios = Cambios {
        nombre: presente(&o, "nombre"),
        documento: presente(&o, "documento"),
        email: presente(&o, "email"),
        telefono: presente(&o, "telefono"),
        direccion: presente(&o, "direccion"),
        notas: presente(&o, "notas"),
    };
    let cliente = dominio::actualizar(&p.estado.pool, &ctx, id, cambios).await?;
    Respuesta::ok(&cliente)
}

async fn historial(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = p.ctx(NO_AUTORIZADO).await?;
    let id = p.id()?;
    Respuesta::ok(&dominio::historial(&p.estado.pool, &ctx, id).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limite_por_defecto_y_acotado() {
        for (q, n) in [
            (None, 200),
            (Some("abc"), 200),
            (Some("0"), 200),
            (Some("-5"), 1),
            (Some("7"), 7),
            (Some("12abc"), 12),
            (Some("500"), 500),
            (Some("501"), 500),
            (Some("99999999999999999999999"), 500),
        ] {
            assert_eq!(limite(q), n, "{q:?}");
        }
    }

    #[test]
    fn textos_recortados_y_vacios_como_nulo() {
        assert_eq!(
            texto(Some(&Value::from("  a b \u{feff}"))),
            Some("a b".into())
        );
        assert_eq!(texto(Some(&Value::from("   "))), None);
        assert_eq!(texto(Some(&Value::from(5))), None);
        assert_eq!(texto(Some(&Value::Null)), None);
        assert_eq!(texto(None), None);
    }
}
