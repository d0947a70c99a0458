//! The `"Proveedor"` row (purchasing.md §2), shared by proveedores (its CRUD) and ordenes-compra
//! (the full supplier of a created order, the PDF's supplier block), so its JSON shape exists once.

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::plataforma::json::ser_fecha;

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Proveedor {
    pub id: i32,
    pub nombre: String,
    pub nit: Option<String>,
    pub contacto: Option<String>,
    pub telefono: Option<String>,
    pub email: Option<String>,
    pub direccion: Option<String>,
    pub activo: bool,
    #[serde(serialize_with = "ser_fecha")]
    pub creado_en: NaiveDateTime,
    pub empresa_id: String,
}

impl Proveedor {
    /// Columns in the order [`Proveedor::from_row`] reads them.
    pub const COLUMNAS: &'static str = r#""id", "nombre", "nit", "contacto", "telefono", "email", "direccion", "activo", "creadoEn", "empresaId""#;

    /// The same columns qualified by a table alias, e.g. `pr."id", pr."nombre", …`.
    pub fn columnas(alias: &str) -> String {
        Self::COLUMNAS
            .split(", ")
            .map(|c| format!("{alias}.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn from_row(f: &tokio_postgres::Row, base: usize) -> Self {
        Self {
            id: f.get(base),
            nombre: f.get(base + 1),
            nit: f.get(base + 2),
            contacto: f.get(base + 3),
            telefono: f.get(base + 4),
            email: f.get(base + 5),
            direccion: f.get(base + 6),
            activo: f.get(base + 7),
            creado_en: f.get(base + 8),
            empresa_id: f.get(base + 9),
        }
    }
}
