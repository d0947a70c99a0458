//! Platform layer: auditoria (audit rows), conexion (DATABASE_URL as libpq reads it, TLS modes),
//! config (environment), correo (SMTP), db (pool,
//! transactions), error (the error enum → JSON), estado (per-container state, `run`), http
//! (request pipeline, responses), idempotencia (Idempotency-Key), identidad (Neon identity →
//! `Usuario`), ids (CUIDs), js (JavaScript-compatible parsing), json (serialization rules),
//! notificaciones (notification rows), paginacion (keyset lists), plazo (Postgres deadline),
//! rate_limit, rutas (routing), sesion (session + guards), telemetry (logs), usuario (user row).
//! Never imports `crate::dominio`.

pub mod auditoria;
pub mod conexion;
pub mod config;
#[cfg(feature = "correo")]
pub mod correo;
pub mod db;
pub mod error;
pub mod estado;
pub mod http;
pub mod idempotencia;
pub mod identidad;
pub mod ids;
pub mod js;
pub mod json;
pub mod notificaciones;
pub mod paginacion;
pub mod plazo;
pub mod rate_limit;
pub mod rutas;
pub mod sesion;
pub mod telemetry;
pub mod usuario;

pub use config::Config;
pub use error::{Error, ResultExt};
pub use estado::Estado;
pub use http::{Peticion, Respuesta};
pub use rutas::Ruta;
pub use sesion::{Ctx, EmpresaId};
