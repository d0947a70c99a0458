//! Product request bodies (catalog.md §5.2, §5.4) parsed once, at the edge, with the JavaScript
//! primitives of §1.4 (base 10 only: the Required fix), and the field rules with their messages.
//! POST validates `precio` and the quantities only after the category lookup (spec order), so
//! its body keeps the parsed values and [`NuevoProducto`] checks them on demand.

use serde_json::Value;
use shared::Error;
use shared::http::{campo, texto_recortado};
use shared::js::{parse_float, parse_int};

pub const NOMBRE_OBLIGATORIO: &str = "El nombre es obligatorio.";
pub const NOMBRE_CORTO: &str = "El nombre debe tener al menos 2 caracteres.";
pub const CATEGORIA_OBLIGATORIA: &str = "La categoría es obligatoria.";
pub const PRECIO_INVALIDO_CREAR: &str = "El precio debe ser un número válido.";
pub const PRECIO_INVALIDO_EDITAR: &str = "El precio debe ser un número válido no negativo.";
pub const CANTIDAD_INVALIDA: &str = "La cantidad debe ser un número entero no negativo.";
pub const STOCK_MINIMO_INVALIDO: &str = "El stock mínimo debe ser un número entero no negativo.";

/// `categoriaId` after `int()`: NaN or 0 is "missing"; any other value is looked up, and one
/// that cannot be an id (negative, beyond 32 bits) is simply a category that does not exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefCategoria {
    Falta,
    Id(i32),
    Inexistente,
}

impl RefCategoria {
    pub fn de(v: Option<&Value>) -> Self {
        match v.and_then(parse_int) {
            None | Some(0) => Self::Falta,
            Some(n) => i32::try_from(n)
                .ok()
                .filter(|n| *n > 0)
                .map_or(Self::Inexistente, Self::Id),
        }
    }
}

/// A non-negative `INTEGER`. Values beyond 2147483647 cannot be stored: they get the field's
/// 400 instead of the reference's database 500 (a decision of ours; the spec is silent).
fn entero_no_negativo(n: i64, msg: &'static str) -> Result<i32, Error> {
    i32::try_from(n)
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| Error::bad_request(msg))
}

/// `descripcion`: a non-empty string as sent (not trimmed, like the reference); anything else,
/// non-strings included (Required), is `null`.
fn descripcion(cuerpo: &Value) -> Option<String> {
    campo(cuerpo, "descripcion")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// `codigo`: trimmed; blank or non-string → none (auto-generated on POST, unchanged on PUT).
fn codigo(cuerpo: &Value) -> Option<String> {
    Some(texto_recortado(cuerpo, "codigo")).filter(|s| !s.is_empty())
}

/// `-0` is accepted and stored as `0`.
fn sin_cero_negativo(v: f64) -> f64 {
    v + 0.0
}

/// Body of POST /api/productos.
#[derive(Debug)]
pub struct NuevoProducto {
    pub nombre: String,
    pub categoria: RefCategoria,
    pub codigo: Option<String>,
    pub descripcion: Option<String>,
    precio: Option<f64>,
    cantidad: Option<i64>,
    stock_minimo: Option<i64>,
}

impl NuevoProducto {
    pub fn de(cuerpo: &Value) -> Self {
        Self {
            nombre: texto_recortado(cuerpo, "nombre"),
            categoria: RefCategoria::de(campo(cuerpo, "categoriaId")),
            codigo: codigo(cuerpo),
            descripcion: descripcion(cuerpo),
            precio: campo(cuerpo, "precio").and_then(parse_float),
            cantidad: campo(cuerpo, "cantidad").and_then(parse_int),
            stock_minimo: campo(cuerpo, "stockMinimo").and_then(parse_int),
        }
    }

    /// `float()`; NaN, ±Infinity or negative → 400.
    pub fn precio(&self) -> Result<f64, Error> {
        self.precio
            .filter(|p| p.is_finite() && *p >= 0.0)
            .map(sin_cero_negativo)
            .ok_or_else(|| Error::bad_request(PRECIO_INVALIDO_CREAR))
    }

    /// NaN → 0; negative → 400 (Required).
    pub fn cantidad(&self) -> Result<i32, Error> {
        entero_no_negativo(self.cantidad.unwrap_or(0), CANTIDAD_INVALIDA)
    }

    /// NaN → 1; `0` kept (Required); negative → 400 (Required).
    pub fn stock_minimo(&self) -> Result<i32, Error> {
        entero_no_negativo(self.stock_minimo.unwrap_or(1), STOCK_MINIMO_INVALIDO)
    }
}

/// Body of PUT /api/productos/{id}, with the pure checks done in the spec's order
/// (`cantidad` → `nombre` → `precio` → `stockMinimo`); `categoriaId` is checked later, after
/// the product lookup and the "cannot reduce" rule.
#[derive(Debug)]
pub struct EdicionProducto {
    pub cantidad: i32,
    pub nombre: String,
    pub precio: f64,
    pub stock_minimo: i32,
    pub categoria: RefCategoria,
    pub codigo: Option<String>,
    pub descripcion: Option<String>,
}

impl EdicionProducto {
    pub fn de(cuerpo: &Value) -> Result<Self, Error> {
        let cantidad = match campo(cuerpo, "cantidad").and_then(parse_int) {
            Some(n) => entero_no_negativo(n, CANTIDAD_INVALIDA)?,
            None => return Err(Error::bad_request(CANTIDAD_INVALIDA)),
        };
        let nombre = texto_recortado(cuerpo, "nombre");
        // JavaScript's `length` counts UTF-16 units.
        if nombre.encode_utf16().count() < 2 {
            return Err(Error::bad_request(NOMBRE_CORTO));
        }
        let precio = campo(cuerpo, "precio")
            .and_then(parse_float)
            .filter(|p| p.is_finite() && *p >= 0.0)
            .map(sin_cero_negativo)
            .ok_or_else(|| Error::bad_request(PRECIO_INVALIDO_EDITAR))?;
        // `int(stockMinimo ?? "1")`: absent or null is 1 (Required: also what is stored).
        let stock_minimo = match campo(cuerpo, "stockMinimo") {
            None | Some(Value::Null) => 1,
            Some(v) => match parse_int(v) {
                Some(n) => entero_no_negativo(n, STOCK_MINIMO_INVALIDO)?,
                None => return Err(Error::bad_request(STOCK_MINIMO_INVALIDO)),
            },
        };
        Ok(Self {
            cantidad,
            nombre,
            precio,
            stock_minimo,
            categoria: RefCategoria::de(campo(cuerpo, "categoriaId")),
            codigo: codigo(cuerpo),
            descripcion: descripcion(cuerpo),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msg(e: Error) -> String {
        match e {
            Error::BadRequest(m) => m.into_owned(),
            otro => panic!("{otro:?}"),
        }
    }

    #[test]
    fn nuevo_producto_con_valores_de_formulario() {
        let n = NuevoProducto::de(&json!({
            "nombre": "  Agua ", "categoriaId": "7", "codigo": "  AG-1 ", "precio": "1.250",
            "cantidad": "3.9", "stockMinimo": "0", "descripcion": " Sin gas "
        }));
        assert_eq!(n.nombre, "Agua");
        assert_eq!(n.categoria, RefCategoria::Id(7));
        assert_eq!(n.codigo.as_deref(), Some("AG-1"));
        assert_eq!(n.descripcion.as_deref(), Some(" Sin gas "));
        assert_eq!(n.precio().unwrap(), 1.25);
        assert_eq!(n.cantidad().unwrap(), 3);
        assert_eq!(n.stock_minimo().unwrap(), 0);
    }

    #[test]
    fn nuevo_producto_valores_por_defecto_y_errores() {
        let n = NuevoProducto::de(&json!({"nombre": 5, "categoriaId": "abc", "codigo": 12,
            "descripcion": {"a": 1}, "cantidad": "x", "stockMinimo": null, "precio": "-0"}));
        assert_eq!(n.nombre, "");
        assert_eq!(n.categoria, RefCategoria::Falta);
        assert_eq!(n.codigo, None);
        assert_eq!(n.descripcion, None);
        assert_eq!(n.cantidad().unwrap(), 0);
        assert_eq!(n.stock_minimo().unwrap(), 1);
        let cero = n.precio().unwrap();
        assert!(cero == 0.0 && cero.is_sign_positive());
        // Base 10 only: "0x10" is 0, not 16.
        assert_eq!(
            NuevoProducto::de(&json!({"cantidad": "0x10"}))
                .cantidad()
                .unwrap(),
            0
        );
        for (cuerpo, esperado) in [
            (json!({"precio": "abc"}), PRECIO_INVALIDO_CREAR),
            (json!({"precio": "Infinity"}), PRECIO_INVALIDO_CREAR),
            (json!({"precio": -1}), PRECIO_INVALIDO_CREAR),
            (json!({}), PRECIO_INVALIDO_CREAR),
        ] {
            assert_eq!(
                msg(NuevoProducto::de(&cuerpo).precio().unwrap_err()),
                esperado
            );
        }
        let n = NuevoProducto::de(&json!({"cantidad": -1, "stockMinimo": "-2"}));
        assert_eq!(msg(n.cantidad().unwrap_err()), CANTIDAD_INVALIDA);
        assert_eq!(msg(n.stock_minimo().unwrap_err()), STOCK_MINIMO_INVALIDO);
        let n = NuevoProducto::de(&json!({"cantidad": "2147483648"}));
        assert_eq!(msg(n.cantidad().unwrap_err()), CANTIDAD_INVALIDA);
    }

    #[test]
    fn referencia_de_categoria() {
        for (v, esperado) in [
            (json!(null), RefCategoria::Falta),
            (json!(0), RefCategoria::Falta),
            (json!("0"), RefCategoria::Falta),
            (json!("12abc"), RefCategoria::Id(12)),
            (json!(3.7), RefCategoria::Id(3)),
            (json!(-4), RefCategoria::Inexistente),
            (json!("9999999999"), RefCategoria::Inexistente),
        ] {
            assert_eq!(RefCategoria::de(Some(&v)), esperado, "{v}");
        }
        assert_eq!(RefCategoria::de(None), RefCategoria::Falta);
    }

    #[test]
    fn edicion_en_orden_de_validacion() {
        let base = json!({"cantidad": 5, "nombre": "Ab", "precio": 10, "stockMinimo": 2, "categoriaId": 1});
        let e = EdicionProducto::de(&base).unwrap();
        assert_eq!(
            (e.cantidad, e.nombre.as_str(), e.precio, e.stock_minimo),
            (5, "Ab", 10.0, 2)
        );
        let con = |k: &str, v: Value| {
            let mut c = base.clone();
            c[k] = v;
            c
        };
        let sin = |k: &str| {
            let mut c = base.clone();
            c.as_object_mut().unwrap().remove(k);
            c
        };
        for (cuerpo, esperado) in [
            (sin("cantidad"), CANTIDAD_INVALIDA),
            (con("cantidad", json!("-1")), CANTIDAD_INVALIDA),
            (con("cantidad", json!(null)), CANTIDAD_INVALIDA),
            (con("nombre", json!(" a ")), NOMBRE_CORTO),
            (con("nombre", json!(12)), NOMBRE_CORTO),
            (con("precio", json!("x")), PRECIO_INVALIDO_EDITAR),
            (con("precio", json!(-0.5)), PRECIO_INVALIDO_EDITAR),
            (con("stockMinimo", json!("")), STOCK_MINIMO_INVALIDO),
            (con("stockMinimo", json!(-1)), STOCK_MINIMO_INVALIDO),
            // Several invalid fields: the first in spec order wins.
            (json!({"nombre": "x", "precio": "x"}), CANTIDAD_INVALIDA),
            (
                json!({"cantidad": 1, "nombre": "x", "precio": "x"}),
                NOMBRE_CORTO,
            ),
        ] {
            assert_eq!(
                msg(EdicionProducto::de(&cuerpo).unwrap_err()),
                esperado,
                "{cuerpo}"
            );
        }
        assert_eq!(
            EdicionProducto::de(&sin("stockMinimo"))
                .unwrap()
                .stock_minimo,
            1
        );
        assert_eq!(
            EdicionProducto::de(&con("stockMinimo", json!(null)))
                .unwrap()
                .stock_minimo,
            1
        );
        // "ñ" is one UTF-16 unit, "😀" two.
        assert!(EdicionProducto::de(&con("nombre", json!("ñ"))).is_err());
        assert_eq!(
            EdicionProducto::de(&con("nombre", json!(" 😀 ")))
                .unwrap()
                .nombre,
            "😀"
        );
        let e = EdicionProducto::de(&con("codigo", json!("  "))).unwrap();
        assert_eq!(e.codigo, None);
    }
}
