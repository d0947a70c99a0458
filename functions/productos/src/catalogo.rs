//! PLACEHOLDER: product CRUD, code suggestion, price history, /api/inventory (catalog.md §5, §7.2, §7.3, §8).

use shared::{Error, Peticion, Respuesta};

use crate::R;

fn pendiente() -> Result<Respuesta, Error> {
    Err(Error::Interno(anyhow::anyhow!("sin implementar")))
}

pub async fn listar(_p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    pendiente()
}
pub async fn crear(_p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    pendiente()
}
pub async fn obtener(_p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    pendiente()
}
pub async fn actualizar(_p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    pendiente()
}
pub async fn eliminar(_p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    pendiente()
}
pub async fn eliminar_varios(_p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    pendiente()
}
pub async fn sugerir_codigo(_p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    pendiente()
}
pub async fn historial_precios(_p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    pendiente()
}
pub async fn inventario(_p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    pendiente()
}
