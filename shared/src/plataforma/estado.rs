//! Per-container state (`Estado`: config, pool, limiter, lazily built HTTP client and mailer)
//! and `run`, the body of every function's `main`.

use std::sync::{Arc, OnceLock};

use super::config::Config;
#[cfg(feature = "correo")]
use super::correo;
use super::{db, rate_limit, telemetry};

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
        async move { Ok::<_, std::convert::Infallible>(TalCual(fut.await)) }
    }))
    .await
}

/// A finished response handed to lambda_http as it is. lambda_http's own `IntoResponse` for
/// `Response<Body>` re-decodes every body whose content type looks textual (`text/*`, JSON, XML)
/// with encoding_rs, which turns `Body::Binary` back into `Body::Text` and drops a leading
/// U+FEFF — the CSV template's BOM (catalog.md §7.1) was lost that way, in Lambda and under
/// `cargo lambda watch` alike. Our bodies are already what must go out: `Body::Text` for JSON,
/// `Body::Binary` (→ `isBase64Encoded: true`) for files.
pub struct TalCual(pub lambda_http::Response<lambda_http::Body>);

impl lambda_http::IntoResponse for TalCual {
    fn into_response(
        self,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = lambda_http::Response<lambda_http::Body>> + Send>,
    > {
        Box::pin(std::future::ready(self.0))
    }
}

#[cfg(test)]
mod tests {
    use lambda_http::{Body, IntoResponse, Response};

    fn csv_con_bom() -> Response<Body> {
        Response::builder()
            .header("content-type", "text/csv; charset=utf-8")
            .body(Body::Binary(b"\xef\xbb\xbfcodigo".to_vec()))
            .unwrap()
    }

    #[tokio::test]
    async fn tal_cual_conserva_los_bytes_de_un_csv() {
        let r = super::TalCual(csv_con_bom()).into_response().await;
        match r.body() {
            Body::Binary(b) => assert_eq!(b, b"\xef\xbb\xbfcodigo"),
            otro => panic!("se esperaba Body::Binary: {otro:?}"),
        }
    }

    /// Why `TalCual` exists: lambda_http's conversion of a plain `Response<Body>` loses the BOM.
    /// If this starts failing, lambda_http changed and `TalCual` may no longer be needed.
    #[tokio::test]
    async fn la_conversion_de_lambda_http_pierde_el_bom() {
        let r = csv_con_bom().into_response().await;
        assert_eq!(r.body().as_ref(), b"codigo");
    }
}
