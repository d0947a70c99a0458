//! The project's library: every rule that more than one Lambda function needs lives here once
//! (config, pool, session and guards, errors, routing, rate limit, audit, notifications).

pub mod auditoria;
pub mod codigos;
pub mod conexion;
pub mod config;
#[cfg(feature = "correo")]
pub mod correo;
pub mod db;
pub mod dinero;
pub mod error;
pub mod http;
pub mod idempotencia;
pub mod identidad;
pub mod ids;
pub mod js;
pub mod json;
pub mod notificaciones;
pub mod paginacion;
pub mod rate_limit;
pub mod rutas;
pub mod sesion;
pub mod stock;
pub mod telemetry;
pub mod ventas;

use std::sync::{Arc, OnceLock};

pub use config::Config;
pub use error::{Error, ResultExt};
pub use http::{Peticion, Respuesta};
pub use rutas::Ruta;
pub use sesion::{Ctx, EmpresaId};

/// Per-container state, built once in `main` before the runtime loop; handlers borrow it.
pub struct Estado {
    pub config: Config,
    pub pool: deadpool_postgres::Pool,
    pub limitador: rate_limit::Limitador,
    http: OnceLock<reqwest::Client>,
    #[cfg(feature = "correo")]
    correo: OnceLock<correo::Correo>,
}

impl Estado {
    pub fn new(config: Config) -> anyhow::Result<Self> {
        // One rustls provider for Postgres, Redis and reqwest.
        db::instalar_proveedor_tls();
        let pool = db::pool(
            config.database_url.expose(),
            config.database_ca_pem.as_deref(),
            config.db_pool_max,
        )?;
        let limitador = rate_limit::Limitador::new(
            config.rate_limit_max,
            config.rate_limit_window_ms,
            config.redis_url.as_ref().map(|s| s.expose()),
        )?;
        Ok(Self {
            config,
            pool,
            limitador,
            http: OnceLock::new(),
            #[cfg(feature = "correo")]
            correo: OnceLock::new(),
        })
    }

    pub fn from_env() -> anyhow::Result<Self> {
        Self::new(Config::from_env()?)
    }

    /// Outbound HTTP client, built on first use (JWKS, `get-session`), never at init.
    pub fn http(&self) -> &reqwest::Client {
        self.http.get_or_init(|| {
            reqwest::Client::builder()
                .connect_timeout(std::time::Duration::from_secs(2))
                .build()
                .expect("static reqwest configuration")
        })
    }

    /// The SMTP mailer (platform.md §10), built on first use.
    #[cfg(feature = "correo")]
    pub fn correo(&self) -> &correo::Correo {
        self.correo
            .get_or_init(|| correo::Correo::new(&self.config.smtp))
    }
}

/// The body of every function's `main`: telemetry, state, runtime loop. A bad configuration is
/// one log line and a non-zero exit, not a panic per request.
pub async fn run<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(Arc<Estado>, lambda_http::Request) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = lambda_http::Response<lambda_http::Body>> + Send + 'static,
{
    telemetry::init();
    let estado = match Estado::from_env() {
        Ok(e) => Arc::new(e),
        Err(e) => {
            tracing::error!(error.message = %e, "no se pudo iniciar la función");
            std::process::exit(1);
        }
    };
    lambda_http::run(lambda_http::service_fn(move |req| {
        let fut = handler(estado.clone(), req);
        async move { Ok::<_, std::convert::Infallible>(fut.await) }
    }))
    .await
}
