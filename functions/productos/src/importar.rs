//! PLACEHOLDER: POST /api/productos/importar and GET /api/productos/plantilla (catalog.md §6, §7.1).

use shared::{Error, Peticion, Respuesta};

use crate::R;

pub async fn importar(_p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    Err(Error::Interno(anyhow::anyhow!("sin implementar")))
}

pub async fn plantilla(_p: &Peticion<'_, R>) -> Result<Respuesta, Error> {
    Err(Error::Interno(anyhow::anyhow!("sin implementar")))
}
