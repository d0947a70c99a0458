//! The project's library, in two layers (README "Layout"):
//! - [`plataforma`]: what every function needs to speak HTTP behind API Gateway (config, pool,
//!   errors, request/response, routing, session and guards, rate limit, audit, idempotency, logs).
//!   It never imports `dominio`.
//! - [`dominio`]: business rules shared by several resources (stock and its lock order, the sale,
//!   money, codes). It may use `plataforma`.
//!
//! Functions import through the re-exports below, one block per layer.

pub mod dominio;
pub mod plataforma;

// Platform.
#[cfg(feature = "correo")]
pub use plataforma::correo;
pub use plataforma::estado::{Estado, TalCual, run};
pub use plataforma::{Config, Ctx, EmpresaId, Error, Peticion, Respuesta, ResultExt, Ruta};
pub use plataforma::{
    auditoria, conexion, config, db, error, http, idempotencia, identidad, ids, js, json,
    notificaciones, paginacion, plazo, rate_limit, rutas, sesion, telemetry, usuario,
};

// Domain.
pub use dominio::{calendario, codigos, dinero, escritura, proveedor, reposicion, stock, ventas};
