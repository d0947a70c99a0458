//! Per-row field checks of catalog.md §6.7 steps 1–4, which need no database: every row is
//! classified here before [`super::procesar`] touches Postgres.

use shared::js::{parse_float_str, parse_int_sin_base_str};

use super::Hoja;
use super::mapeo::{Campo, Mapeo};

/// A data row with its values trimmed (unmapped → `""`) and the outcome of steps 1–4.
#[derive(Debug, PartialEq)]
pub struct Fila {
    /// Index among the parsed data rows + 2 (not the physical line).
    pub linea: usize,
    /// As given; `""` asks for a generated code (step 6).
    pub codigo: String,
    pub nombre: String,
    pub campos: Result<Campos, String>,
}

/// Values of a row that passed steps 1–4.
#[derive(Debug, PartialEq)]
pub struct Campos {
    pub descripcion: Option<String>,
    pub precio: f64,
    /// Parsed as JavaScript would (`intNoRadix`); outside `int4` the insert fails (step 8).
    pub cantidad: i64,
    pub stock_minimo: i64,
    /// Trimmed category name; `None` → "Sin clasificar".
    pub categoria: Option<String>,
}

pub fn filas(hoja: &Hoja, mapeo: &Mapeo) -> Vec<Fila> {
    hoja.filas
        .iter()
        .enumerate()
        .map(|(i, fila)| {
            let v = |c| mapeo.valor(fila, c);
            let nombre = v(Campo::Nombre).to_string();
            let campos = validar(
                &nombre,
                v(Campo::Precio),
                v(Campo::Cantidad),
                v(Campo::StockMinimo),
            )
            .map(|(precio, cantidad, stock_minimo)| Campos {
                descripcion: Some(v(Campo::Descripcion).to_string()).filter(|d| !d.is_empty()),
                precio,
                cantidad,
                stock_minimo,
                categoria: Some(v(Campo::Categoria).to_string()).filter(|c| !c.is_empty()),
            });
            Fila {
                linea: i + 2,
                codigo: v(Campo::Codigo).to_string(),
                nombre,
                campos,
            }
        })
        .collect()
}

/// Steps 1–4, in order; the first failure is the row's message.
fn validar(
    nombre: &str,
    precio: &str,
    cantidad: &str,
    stock_minimo: &str,
) -> Result<(f64, i64, i64), String> {
    if nombre.is_empty() {
        return Err("Falta el nombre.".into());
    }
    // `$` and every whitespace character go, then every `,` (a decimal comma is lost: `1,5` → 15).
    let limpio: String = precio
        .chars()
        .filter(|c| *c != '$' && !shared::js::es_espacio_js(*c))
        .filter(|c| *c != ',')
        .collect();
    let precio = match parse_float_str(&limpio) {
        // Required: `Infinity` (and overflowing literals) are rejected too.
        Some(p) if p.is_finite() && p >= 0.0 => p + 0.0, // `-0` is stored as 0
        _ => return Err(format!("Precio inválido: \"{limpio}\".")),
    };
    let cantidad = match entero(cantidad, 0) {
        Some(n) => n,
        None => return Err(format!("Cantidad inválida: \"{cantidad}\".")),
    };
    let stock_minimo = match entero(stock_minimo, 1) {
        Some(n) => n,
        None => return Err(format!("Stock mínimo inválido: \"{stock_minimo}\".")),
    };
    Ok((precio, cantidad, stock_minimo))
}

/// Blank → `defecto`; else `intNoRadix`, NaN or negative → `None`.
fn entero(crudo: &str, defecto: i64) -> Option<i64> {
    if crudo.is_empty() {
        return Some(defecto);
    }
    parse_int_sin_base_str(crudo).filter(|n| *n >= 0)
}

impl Fila {
    /// Step 8 would fail on this row whatever the database holds: an integer beyond `int4` or a
    /// NUL character (Postgres text cannot hold it).
    pub fn insercion_imposible(&self, codigo: &str) -> bool {
        let Ok(c) = &self.campos else { return true };
        let fuera = |n: i64| i32::try_from(n).is_err();
        fuera(c.cantidad)
            || fuera(c.stock_minimo)
            || codigo.contains('\0')
            || self.nombre.contains('\0')
            || c.descripcion.as_deref().is_some_and(|d| d.contains('\0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precio_limpio_y_reglas_de_6_7() {
        let p = |s: &str| validar("x", s, "", "");
        assert_eq!(p("$1,250"), Ok((1250.0, 0, 1)));
        assert_eq!(p("1.250"), Ok((1.25, 0, 1)));
        assert_eq!(p("1,5"), Ok((15.0, 0, 1)));
        assert_eq!(p("$ 1 000\u{a0}"), Ok((1000.0, 0, 1)));
        assert_eq!(p("12abc"), Ok((12.0, 0, 1)));
        assert_eq!(p("Infinity"), Err("Precio inválido: \"Infinity\".".into()));
        assert_eq!(p("1e400"), Err("Precio inválido: \"1e400\".".into()));
        assert_eq!(p("-5"), Err("Precio inválido: \"-5\".".into()));
        assert_eq!(p("$ abc"), Err("Precio inválido: \"abc\".".into()));
        assert_eq!(p(""), Err("Precio inválido: \"\".".into()));
        let (cero, _, _) = p("-0").unwrap();
        assert!(cero == 0.0 && cero.is_sign_positive());
    }

    #[test]
    fn enteros_sin_base() {
        assert_eq!(validar("x", "1", "3.7", "0"), Ok((1.0, 3, 0)));
        assert_eq!(validar("x", "1", "10 uds", "0x10"), Ok((1.0, 10, 16)));
        assert_eq!(
            validar("x", "1", "-1", ""),
            Err("Cantidad inválida: \"-1\".".into())
        );
        assert_eq!(
            validar("x", "1", "muchas", ""),
            Err("Cantidad inválida: \"muchas\".".into())
        );
        assert_eq!(
            validar("x", "1", "", "bajo"),
            Err("Stock mínimo inválido: \"bajo\".".into())
        );
        assert_eq!(validar("", "abc", "-1", ""), Err("Falta el nombre.".into()));
    }
}
