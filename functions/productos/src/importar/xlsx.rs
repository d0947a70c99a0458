//! Excel reading of catalog.md §6.3 (first worksheet only) through calamine: cells become the
//! text the reference's exceljs would give (with the Required fixes: rich text is its runs'
//! text, error cells and formulas without a cached result are `""`), the header row is found
//! below any title rows, and reading stops after three consecutive blank rows.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use shared::js::{numero_a_texto, recortar};
use unicode_normalization::UnicodeNormalization;

use super::Hoja;

/// Header keywords of §6.3 step 2 (compared after accent folding, lower-casing and trim).
const CLAVES: &[&str] = &[
    "codigo",
    "cod",
    "sku",
    "referencia",
    "nombre",
    "producto",
    "articulo",
    "descripcion",
    "precio",
    "valor",
    "pvp",
    "cantidad",
    "stock",
    "existencia",
    "categoria",
    "grupo",
];

/// Consecutive blank rows that end the data (§6.3 step 4).
const HUECOS_MAX: usize = 3;

/// `Ok(None)`: no worksheet or no rows. `Err`: not a readable workbook.
pub fn leer(bytes: &[u8]) -> Result<Option<Hoja>, calamine::XlsxError> {
    let mut libro = Xlsx::new(Cursor::new(bytes))?;
    let Some(rango) = libro.worksheet_range_at(0) else {
        return Ok(None);
    };
    let rango = rango?;
    Ok(hoja(filas_con_valores(&rango)))
}

/// Step 1: rows with at least one value, each as the text of its cells up to its last value.
fn filas_con_valores(rango: &calamine::Range<Data>) -> Vec<Vec<String>> {
    rango
        .rows()
        .filter_map(|fila| {
            let ultima = fila.iter().rposition(|c| !matches!(c, Data::Empty))?;
            Some(fila[..=ultima].iter().map(texto).collect())
        })
        .collect()
}

/// Steps 2–5 over the rows of step 1.
fn hoja(filas: Vec<Vec<String>>) -> Option<Hoja> {
    if filas.is_empty() {
        return None;
    }
    let i = filas.iter().position(|f| es_encabezado(f)).unwrap_or(0);
    let encabezados: Vec<String> = filas[i].iter().map(|h| recortar(h).to_string()).collect();
    let utiles: Vec<usize> = (0..encabezados.len())
        .filter(|j| !encabezados[*j].is_empty())
        .collect();
    let mut datos = Vec::new();
    let mut huecos = 0;
    for fila in &filas[i + 1..] {
        let valores: Vec<String> = (0..encabezados.len())
            .map(|j| fila.get(j).map_or("", |v| recortar(v)).to_string())
            .collect();
        if utiles.iter().all(|j| valores[*j].is_empty()) {
            huecos += 1;
            if huecos >= HUECOS_MAX {
                break;
            }
            continue;
        }
        huecos = 0;
        datos.push(valores);
    }
    Some(Hoja {
        encabezados,
        filas: datos,
    })
}

/// At least two non-blank cells, one of them a known header word.
fn es_encabezado(fila: &[String]) -> bool {
    let no_vacias = fila.iter().filter(|c| !recortar(c).is_empty()).count();
    no_vacias >= 2
        && fila.iter().any(|c| {
            let plano: String = c
                .nfd()
                .filter(|ch| !('\u{0300}'..='\u{036f}').contains(ch))
                .collect::<String>()
                .to_lowercase();
            CLAVES.contains(&recortar(&plano))
        })
}

/// A cell as text (§6.3 step 1). Formula cells arrive as their cached value; hyperlinks as
/// their display text; rich text as the concatenation of its runs (calamine reads them so).
fn texto(c: &Data) -> String {
    match c {
        Data::Empty | Data::Error(_) => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) => numero_a_texto(*f),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => d
            .as_datetime()
            .map(|t| shared::json::fecha(&t))
            .unwrap_or_else(|| numero_a_texto(d.as_f64())),
        Data::DateTimeIso(s) => fecha_iso(s).unwrap_or_else(|| s.clone()),
        Data::DurationIso(s) => s.clone(),
    }
}

/// An ISO 8601 date or date-time cell (`t="d"`) as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
fn fecha_iso(s: &str) -> Option<String> {
    use chrono::{NaiveDate, NaiveDateTime};
    let s = s.trim_end_matches('Z');
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M"))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
        .map(|t| shared::json::fecha(&t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn encabezado_bajo_filas_de_titulo() {
        let h = hoja(vec![
            v(&["Inventario 2026"]),
            v(&["Empresa", "Demo"]),
            v(&[" Código ", "Nombre", "", "Precio"]),
            v(&["A-1", " Uno ", "nota", "10"]),
        ])
        .unwrap();
        assert_eq!(h.encabezados, v(&["Código", "Nombre", "", "Precio"]));
        assert_eq!(h.filas, vec![v(&["A-1", "Uno", "nota", "10"])]);
    }

    #[test]
    fn sin_palabra_clave_el_encabezado_es_la_primera_fila() {
        let h = hoja(vec![v(&["x", "y"]), v(&["1", "2"])]).unwrap();
        assert_eq!(h.encabezados, v(&["x", "y"]));
        assert_eq!(hoja(vec![]), None);
    }

    #[test]
    fn tres_huecos_seguidos_terminan_la_lectura() {
        let h = hoja(vec![
            v(&["nombre", "precio"]),
            v(&["a", "1"]),
            v(&["", "", "fuera"]),
            v(&[" "]),
            v(&["b", "2"]),
            v(&["", "", "x"]),
            v(&["", "", "x"]),
            v(&["", "", "x"]),
            v(&["c", "3"]),
        ])
        .unwrap();
        assert_eq!(h.filas, vec![v(&["a", "1"]), v(&["b", "2"])]);
    }

    #[test]
    fn celdas_como_texto() {
        assert_eq!(texto(&Data::Float(15000.0)), "15000");
        assert_eq!(texto(&Data::Float(0.1 + 0.2)), "0.30000000000000004");
        assert_eq!(texto(&Data::Float(1e21)), "1e+21");
        assert_eq!(texto(&Data::Bool(true)), "true");
        assert_eq!(texto(&Data::Error(calamine::CellErrorType::Div0)), "");
        let fecha =
            calamine::ExcelDateTime::new(45943.5, calamine::ExcelDateTimeType::DateTime, false);
        assert_eq!(texto(&Data::DateTime(fecha)), "2025-10-13T12:00:00.000Z");
        assert_eq!(
            texto(&Data::DateTimeIso("2026-01-02T03:04:05".into())),
            "2026-01-02T03:04:05.000Z"
        );
        assert_eq!(
            texto(&Data::DateTimeIso("2026-01-02".into())),
            "2026-01-02T00:00:00.000Z"
        );
    }
}
