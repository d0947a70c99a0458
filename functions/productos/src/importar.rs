//! POST /api/productos/importar (catalog.md §6) and GET /api/productos/plantilla (§7.1).
//! The upload is read into a [`Hoja`] (multipart CSV/XLSX or the legacy JSON `csv`), checked
//! file-wide (§6.5), validated row by row without the database (§6.7 steps 1–4), and then
//! written in batches by [`procesar`] with exactly the results sequential processing would give.

mod categorias;
mod csv;
mod mapeo;
mod multipart;
mod procesar;
mod validar;
mod xlsx;

use http::{StatusCode, header};
use serde::Serialize;
use serde_json::{Map, Value, json};
use shared::{Error, Peticion, Respuesta};

use crate::R;
use mapeo::Mapeo;

/// Largest accepted file part (§6.1). Behind API Gateway + Lambda the effective limit is lower:
/// a synchronous invocation carries at most 6 MB, and binary bodies travel base64-encoded
/// (4/3 larger), so uploads above ~4.4 MB are refused by the platform before this handler runs.
pub const LIMITE_ARCHIVO: usize = 10 * 1024 * 1024;
/// Most data rows per file (§6.5).
pub const MAX_FILAS: usize = 5000;

const SIN_ARCHIVO: &str = "No se recibió ningún archivo.";
const VACIO: &str = "El archivo está vacío.";

/// The template of §7.1: BOM, four lines, no trailing newline.
const PLANTILLA: &str = "\u{feff}codigo,nombre,descripcion,precio,cantidad,stockMinimo,categoria\n\
LAP-001,Lápiz HB,Caja por 12 unidades,5000,100,20,Oficina\n\
PAPEL-001,Resma carta,75 gr 500 hojas,15000,50,10,Oficina\n\
AGUA-001,Agua mineral 600ml,Sin gas,2500,200,40,Bebidas";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Formato {
    Csv,
    Xlsx,
}

impl Formato {
    fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Xlsx => "xlsx",
        }
    }
    /// `notas` of the initial-stock movement (movimientos.md §2.3).
    pub fn notas(self) -> &'static str {
        match self {
            Self::Csv => "Stock inicial (importación CSV)",
            Self::Xlsx => "Stock inicial (importación XLSX)",
        }
    }
    /// `origen` of the product audit rows (platform.md §8.3).
    pub fn origen(self) -> &'static str {
        match self {
            Self::Csv => "importacion_csv",
            Self::Xlsx => "importacion_xlsx",
        }
    }
}

/// A parsed file: its headers and data rows, each row's cells in header column order.
/// `None` headers (no line, no worksheet, no row) is the "empty file" of §6.5.
#[derive(Debug, Default, PartialEq)]
pub struct Hoja {
    pub encabezados: Vec<String>,
    pub filas: Vec<Vec<String>>,
}

/// One line of `resultados` (§6.8).
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Resultado {
    pub linea: usize,
    pub codigo: String,
    pub nombre: String,
    pub estado: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub producto_id: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mensaje: Option<String>,
}

pub async fn importar(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    let ctx = p.ctx_admin().await?;
    let (formato, hoja) = leer_subida(p)?;
    let hoja = hoja.ok_or_else(|| Error::bad_request(VACIO))?;
    if hoja.filas.len() > MAX_FILAS {
        return Err(Error::bad_request(format!(
            "El archivo contiene {} filas. El máximo permitido es 5,000.",
            miles(hoja.filas.len())
        )));
    }
    let mapeo = Mapeo::de(&hoja.encabezados);
    let faltantes = mapeo.faltantes();
    if !faltantes.is_empty() {
        return Err(columnas_faltantes(&mapeo, &faltantes));
    }
    let filas = validar::filas(&hoja, &mapeo);
    let total = filas.len();
    let resultados = procesar::procesar(p.estado, &ctx, formato, filas).await?;
    let creados = resultados.iter().filter(|r| r.estado == "creado").count();
    Respuesta::ok(&json!({
        "formato": formato.as_str(),
        "mapeo": mapeo_json(&mapeo),
        "ignoradas": mapeo.ignoradas,
        "total": total,
        "creados": creados,
        "errores": total - creados,
        "resultados": resultados,
    }))
}

pub async fn plantilla(p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    p.ctx_admin().await?;
    Ok(
        Respuesta::texto("text/csv; charset=utf-8", PLANTILLA.to_string())
            .con_cabecera(
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"plantilla_productos.csv\"",
            )
            .con_cabecera(header::CACHE_CONTROL, "no-store"),
    )
}

/// The two request variants of §6.1. Unparseable multipart or workbooks are a 400 with the
/// route's generic message (Required; the reference answers 500).
fn leer_subida(p: &Peticion<'_, R>) -> Result<(Formato, Option<Hoja>), Error> {
    let tipo = p
        .cabeceras()
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    // §6.1: a case-sensitive "contains", as the reference checks it.
    if tipo.contains("multipart/form-data") {
        let frontera = multipart::frontera(&tipo).ok_or(Error::CuerpoInvalido)?;
        let partes =
            multipart::partes(p.cuerpo_bytes(), &frontera).map_err(|_| Error::CuerpoInvalido)?;
        let archivo = partes
            .into_iter()
            .find(|parte| parte.nombre.as_deref() == Some("archivo"));
        let Some(archivo) = archivo else {
            return Err(Error::bad_request(SIN_ARCHIVO));
        };
        let Some(nombre) = archivo.archivo else {
            return Err(Error::bad_request(SIN_ARCHIVO));
        };
        if archivo.contenido.is_empty() {
            return Err(Error::bad_request(SIN_ARCHIVO));
        }
        if archivo.contenido.len() > LIMITE_ARCHIVO {
            return Err(Error::PayloadTooLarge(
                format!(
                    "El archivo excede el límite de 10 MB (tamaño recibido: {} MB).",
                    megas(archivo.contenido.len())
                )
                .into(),
            ));
        }
        let nombre = nombre.to_lowercase();
        if nombre.ends_with(".xlsx") || nombre.ends_with(".xlsm") {
            let hoja = xlsx::leer(archivo.contenido).map_err(|_| Error::CuerpoInvalido)?;
            Ok((Formato::Xlsx, hoja))
        } else {
            let texto = String::from_utf8_lossy(archivo.contenido);
            Ok((Formato::Csv, csv::leer(&texto)))
        }
    } else {
        // The legacy JSON variant takes any other content type (§6.1).
        let cuerpo: Value =
            serde_json::from_slice(p.cuerpo_bytes()).map_err(|_| Error::CuerpoInvalido)?;
        if cuerpo.is_null() {
            return Err(Error::CuerpoInvalido);
        }
        match cuerpo.get("csv").and_then(Value::as_str) {
            Some(texto) if !shared::js::recortar(texto).is_empty() => {
                Ok((Formato::Csv, csv::leer(texto)))
            }
            _ => Err(Error::bad_request(VACIO)),
        }
    }
}

/// The missing-columns 400 (§6.5 step 3), the one error body with more than `error`.
fn columnas_faltantes(mapeo: &Mapeo, faltantes: &[&'static str]) -> Error {
    let detalle: Vec<&str> = faltantes
        .iter()
        .map(|f| match *f {
            "nombre" => "nombre (acepta: nombre, producto, articulo)",
            _ => "precio (acepta: precio, valor, precio venta)",
        })
        .collect();
    Error::ConCuerpo(
        StatusCode::BAD_REQUEST,
        json!({
            "error": format!(
                "No se encontraron columnas para: {}. Verifica los encabezados del archivo.",
                detalle.join("; ")
            ),
            "mapeo": mapeo_json(mapeo),
            "ignoradas": mapeo.ignoradas,
            "faltantes": faltantes,
        }),
    )
}

fn mapeo_json(mapeo: &Mapeo) -> Value {
    let mut m = Map::new();
    for (campo, encabezado) in mapeo.encontrados() {
        m.insert(campo.to_string(), Value::String(encabezado.to_string()));
    }
    Value::Object(m)
}

/// `n` with en-US thousands separators (`5,001`).
fn miles(n: usize) -> String {
    let d = n.to_string();
    let mut out = String::new();
    for (i, c) in d.chars().enumerate() {
        if i > 0 && (d.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// JS `(bytes / 1048576).toFixed(1)`: the exact quotient rounded half up to one decimal.
fn megas(bytes: usize) -> String {
    let decimas = (bytes as u128 * 10 + (1 << 19)) >> 20;
    format!("{}.{}", decimas / 10, decimas % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separador_de_miles() {
        assert_eq!(miles(5001), "5,001");
        assert_eq!(miles(999), "999");
        assert_eq!(miles(1_234_567), "1,234,567");
    }

    #[test]
    fn megas_con_un_decimal() {
        assert_eq!(megas(10 * 1024 * 1024 + 1), "10.0");
        assert_eq!(megas(11 * 1024 * 1024), "11.0");
        // 10.05 MB exactly rounds up, as toFixed does on an exact half.
        assert_eq!(megas(10 * 1048576 + 1048576 / 20 + 1), "10.1");
        assert_eq!(megas(1048576 * 25 / 10), "2.5");
    }

    #[test]
    fn plantilla_de_7_1() {
        assert!(PLANTILLA.starts_with('\u{feff}'));
        assert!(!PLANTILLA.ends_with('\n'));
        assert_eq!(PLANTILLA.lines().count(), 4);
        assert_eq!(
            PLANTILLA.lines().nth(1),
            Some("LAP-001,Lápiz HB,Caja por 12 unidades,5000,100,20,Oficina")
        );
    }
}
