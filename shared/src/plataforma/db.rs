//! The Postgres pool (one per container, built outside the handler) and transaction helpers.
//!
//! Pooler-safe by construction: queries go through `query_typed` (one round trip, unnamed
//! statements, no server-side prepared-statement state), and every transaction sets its own
//! `TimeZone`, `lock_timeout` and `statement_timeout` with `SET LOCAL`, so nothing relies on
//! session state surviving between transactions of a transaction-mode pooler.

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Hook, HookError, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::Config as PgConfig;

pub use deadpool_postgres::{Client, Transaction};
pub use tokio_postgres::types::Type;

/// Statement settings of every business transaction (platform.md §5: the reference aborts
/// interactive transactions after 5 s).
pub const AJUSTES_TRANSACCION: &str = "SET LOCAL TIME ZONE 'UTC'; SET LOCAL lock_timeout = '5s'; \
     SET LOCAL statement_timeout = '10s'; SET LOCAL idle_in_transaction_session_timeout = '15s'";

/// Installs ring as the process-wide rustls provider (Postgres, Redis and reqwest share it).
pub fn instalar_proveedor_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub fn tls() -> tokio_postgres_rustls::MakeRustlsConnect {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("ring supports the default TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    tokio_postgres_rustls::MakeRustlsConnect::new(config)
}

/// Client-side deadline of every round trip ([`crate::plataforma::plazo`]): the `statement_timeout` of
/// [`AJUSTES_TRANSACCION`] (10 s) plus a margin, so a silent server answers the request's JSON
/// error (503 while resolving the session, the route's 500 after it) within 15 s.
pub const PLAZO_RESPUESTA: Duration = Duration::from_secs(12);

/// Keepalives and `tcp_user_timeout` for real partitions (a peer that stops acknowledging):
/// probes after 30 s idle, every 5 s, 3 lost → closed; unacknowledged data for 15 s → closed.
pub fn ajustar_socket(pg: &mut PgConfig) {
    pg.keepalives(true);
    pg.keepalives_idle(Duration::from_secs(30));
    pg.keepalives_interval(Duration::from_secs(5));
    pg.keepalives_retries(3);
    pg.tcp_user_timeout(Duration::from_secs(15));
}

/// Builds the pool. No connection is opened here: deadpool connects on the first `get()`,
/// so a cold start never waits on the database.
pub fn pool(url: &str, max: usize) -> anyhow::Result<Pool> {
    let mut pg: PgConfig = url.parse()?;
    pg.connect_timeout(Duration::from_secs(3));
    ajustar_socket(&mut pg);
    if pg.get_application_name().is_none() {
        pg.application_name("inventario");
    }
    let mgr = Manager::from_connect(
        pg,
        crate::plataforma::plazo::Conector {
            tls: tls(),
            plazo: PLAZO_RESPUESTA,
        },
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let pool = Pool::builder(mgr)
        .max_size(max.max(1))
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(Duration::from_secs(5)))
        .create_timeout(Some(Duration::from_secs(4)))
        .post_create(Hook::async_fn(|client, _| {
            Box::pin(async move {
                // Direct connections keep it for their lifetime; through a transaction pooler the
                // per-transaction SET LOCAL of `AJUSTES_TRANSACCION` is what counts.
                client
                    .batch_execute("SET TIME ZONE 'UTC'")
                    .await
                    .map_err(|e| HookError::Message(e.to_string().into()))
            })
        }))
        .build()?;
    Ok(pool)
}

/// Opens a transaction with the settings of [`AJUSTES_TRANSACCION`].
pub async fn transaccion(client: &mut Client) -> Result<Transaction<'_>, tokio_postgres::Error> {
    let tx = client.transaction().await?;
    tx.batch_execute(AJUSTES_TRANSACCION).await?;
    Ok(tx)
}

/// Runs a whole transaction again, once, when it failed with a deadlock or a serialization
/// failure ([`es_reintentable`]; none is expected with the one lock order of `shared::stock`,
/// this is the safety net); a second failure is the endpoint's generic 500.
pub async fn reintentar_una_vez<T, F, Fut>(mut intento: F) -> Result<T, crate::plataforma::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, crate::plataforma::Error>>,
{
    match intento().await {
        Err(e) if es_reintentable(&e) => {
            tracing::warn!(error.message = %e, "transacción reintentada");
            intento().await
        }
        r => r,
    }
}

/// True for the SQLSTATEs that a retry of the whole transaction can cure.
pub fn es_reintentable(e: &crate::plataforma::Error) -> bool {
    use tokio_postgres::error::SqlState;
    match e {
        crate::plataforma::Error::Interno(e) => matches!(
            crate::plataforma::error::sqlstate_of(e),
            Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
        ),
        _ => false,
    }
}

/// Anything that runs a one-round-trip typed query: a pooled client or a transaction, so that
/// domain steps can take either (`&impl Consulta`).
pub trait Consulta: Sync {
    fn consulta(
        &self,
        sql: &str,
        params: &[(&(dyn tokio_postgres::types::ToSql + Sync), Type)],
    ) -> impl std::future::Future<Output = Result<Vec<tokio_postgres::Row>, tokio_postgres::Error>> + Send;
}

macro_rules! consulta_por_deref {
    ($($t:ty),*) => {$(
        impl Consulta for $t {
            fn consulta(
                &self,
                sql: &str,
                params: &[(&(dyn tokio_postgres::types::ToSql + Sync), Type)],
            ) -> impl std::future::Future<Output = Result<Vec<tokio_postgres::Row>, tokio_postgres::Error>> + Send {
                let c: &tokio_postgres::Client = self;
                c.query_typed(sql, params)
            }
        }
    )*};
}
consulta_por_deref!(
    tokio_postgres::Client,
    deadpool_postgres::ClientWrapper,
    deadpool_postgres::Object
);

impl Consulta for tokio_postgres::Transaction<'_> {
    fn consulta(
        &self,
        sql: &str,
        params: &[(&(dyn tokio_postgres::types::ToSql + Sync), Type)],
    ) -> impl std::future::Future<Output = Result<Vec<tokio_postgres::Row>, tokio_postgres::Error>> + Send
    {
        self.query_typed(sql, params)
    }
}

impl Consulta for deadpool_postgres::Transaction<'_> {
    fn consulta(
        &self,
        sql: &str,
        params: &[(&(dyn tokio_postgres::types::ToSql + Sync), Type)],
    ) -> impl std::future::Future<Output = Result<Vec<tokio_postgres::Row>, tokio_postgres::Error>> + Send
    {
        let t: &tokio_postgres::Transaction<'_> = self;
        t.query_typed(sql, params)
    }
}
