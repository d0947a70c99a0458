//! `functions/movimientos`: the stock ledger routes of movimientos.md (list, manual movement,
//! bulk delete). Handlers stay thin: guards → body → domain (`dominio`) → JSON.

mod dominio;

use http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use shared::error::NO_AUTENTICADO;
use shared::http::campo;
use shared::sesion::Permiso;
use shared::stock::TipoMovimiento;
use shared::{Error, Estado, Peticion, Respuesta, Ruta, paginacion};

pub use dominio::MovimientoConProducto;

const SIN_PERMISO: &str = "No tienes permiso para realizar este movimiento";
const TIPO_INVALIDO: &str = "El tipo de movimiento debe ser \"entrada\" o \"salida\".";
const CAMPOS_INVALIDOS: &str = "Se requiere un productoId válido y una cantidad entera mayor a 0.";
const SIN_SELECCION: &str = "Debes seleccionar al menos un movimiento.";
const IDS_INVALIDOS: &str = "IDs inválidos.";

#[derive(Clone, Copy, Debug)]
pub enum R {
    Listar,
    Crear,
    EliminarVarios,
}

pub const RUTAS: &[Ruta<R>] = &[
    Ruta {
        metodo: Method::GET,
        patron: "/api/movimientos",
        id: R::Listar,
        error_generico: "Error al obtener movimientos",
    },
    Ruta {
        metodo: Method::POST,
        patron: "/api/movimientos",
        id: R::Crear,
        error_generico: "Error al crear movimiento",
    },
    Ruta {
        metodo: Method::POST,
        patron: "/api/movimientos/bulk-delete",
        id: R::EliminarVarios,
        error_generico: "Error al eliminar movimientos.",
    },
];

pub async fn handle(estado: &Estado, req: Request) -> Response<Body> {
    shared::servir!(estado, req, RUTAS, |p| match p.ruta {
        R::Listar => listar(p).await,
        R::Crear => crear(p).await,
        R::EliminarVarios => eliminar_varios(p).await,
    })
}

/// §4: any active user of the tenant.
async fn listar(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = p.ctx(NO_AUTENTICADO).await?;
    let limite = paginacion::limite(p.query("limite"));
    let cursor = paginacion::cursor(p.query("cursor"));
    let pagina = dominio::listar(&p.estado.pool, &ctx, limite, cursor).await?;
    Respuesta::ok(&pagina)
}

/// §5: the permission is checked before the body is read (Required, §1), and it does not
/// depend on `tipo`: the reference's `REALIZAR_VENTAS` path for exits is dropped (§5.2).
async fn crear(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = p
        .ctx(NO_AUTENTICADO)
        .await?
        .permiso(Permiso::RegistrarMovimientos, SIN_PERMISO)?;
    let cuerpo = p.json()?;
    let tipo = campo(&cuerpo, "tipo")
        .and_then(Value::as_str)
        .and_then(TipoMovimiento::parse)
        .ok_or_else(|| Error::bad_request(TIPO_INVALIDO))?;
    let (Some(producto_id), Some(cantidad)) = (
        entero_estricto(campo(&cuerpo, "productoId")),
        entero_estricto(campo(&cuerpo, "cantidad")),
    ) else {
        return Err(Error::bad_request(CAMPOS_INVALIDOS));
    };
    let notas = campo(&cuerpo, "notas")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let nuevo = shared::escritura::Movimiento {
        tipo,
        producto_id,
        cantidad,
        notas,
    };
    let creado = dominio::crear(p.estado, &ctx, &nuevo).await?;
    Respuesta::created(&creado)
}

/// §6: family A guards; a missing, malformed or `null` body reads as `{}`.
async fn eliminar_varios(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = p.ctx_admin().await?;
    let cuerpo = p.json_tolerante()?;
    let ids = match campo(&cuerpo, "ids").and_then(Value::as_array) {
        Some(a) if !a.is_empty() => shared::js::ids_validos(a),
        _ => return Err(Error::bad_request(SIN_SELECCION)),
    };
    if ids.is_empty() {
        return Err(Error::bad_request(IDS_INVALIDOS));
    }
    let eliminados = dominio::eliminar_varios(p.estado, &ctx, &ids).await?;
    Respuesta::ok(&json!({ "eliminados": eliminados.len(), "ids": eliminados }))
}

/// §5.1 Required: a JSON integer, or a string of ASCII digits (surrounding whitespace allowed),
/// with a value in 1…2147483647. Fractions, exponents, signs, booleans and arrays are refused
/// (the reference read `"1e3"` as 1 and `[5]` as 5).
fn entero_estricto(v: Option<&Value>) -> Option<i32> {
    let n = match v? {
        Value::Number(n) => n.as_i64()?,
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() || t.len() > 10 || !t.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            t.parse::<i64>().ok()?
        }
        _ => return None,
    };
    i32::try_from(n).ok().filter(|n| *n >= 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enteros_estrictos_de_5_1() {
        for (v, esperado) in [
            (json!(5), Some(5)),
            (json!("5"), Some(5)),
            (json!(" 7 "), Some(7)),
            (json!("007"), Some(7)),
            (json!(2147483647), Some(i32::MAX)),
            (json!("2147483647"), Some(i32::MAX)),
            (json!(2147483648u64), None),
            (json!("2147483648"), None),
            (json!("99999999999"), None),
            (json!(0), None),
            (json!("0"), None),
            (json!(-3), None),
            (json!("-3"), None),
            (json!("+3"), None),
            (json!(2.5), None),
            (json!(5.0), None),
            (json!("5.0"), None),
            (json!("1e3"), None),
            (json!("5abc"), None),
            (json!(""), None),
            (json!("  "), None),
            (json!(true), None),
            (json!(null), None),
            (json!([5]), None),
            (json!({"n": 5}), None),
        ] {
            assert_eq!(entero_estricto(Some(&v)), esperado, "{v}");
        }
        assert_eq!(entero_estricto(None), None);
    }
}
