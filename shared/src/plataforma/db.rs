//! The Postgres pool (one per container, built outside the handler) and transaction helpers.
//!
//! Pooler-safe by construction: queries go through `query_typed` (one round trip, unnamed
//! statements, no server-side prepared-statement state), and every transaction sets its own
//! `TimeZone`, `lock_timeout` and `statement_timeout` with `SET LOCAL`, so nothing relies on
//! session state surviving between transactions of a transaction-mode pooler.

use std::time::Duration;

use deadpool_postgres::{Hook, HookError, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::Config as PgConfig;

pub use deadpool_postgres::{Client, Transaction};
pub use tokio_postgres::types::Type;

macro_rules! ajustes_transaccion {
    () => {
        "SET LOCAL TIME ZONE 'UTC'; SET LOCAL lock_timeout = '5s'; \
         SET LOCAL statement_timeout = '10s'; SET LOCAL idle_in_transaction_session_timeout = '15s'"
    };
}

/// Statement settings of every business transaction (platform.md §5: the reference aborts
/// interactive transactions after 5 s).
pub const AJUSTES_TRANSACCION: &str = ajustes_transaccion!();

/// `BEGIN` and [`AJUSTES_TRANSACCION`] as one simple query, the first step of a pipelined
/// transaction (`shared::dominio::escritura`).
pub const INICIO_TRANSACCION: &str = concat!("BEGIN; ", ajustes_transaccion!());

/// Installs ring as the process-wide rustls provider (Postgres, Redis and reqwest share it).
pub fn instalar_proveedor_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Builds the pool. No connection is opened here: deadpool connects on the first `get()`,
/// so a cold start never waits on the database. `url` is read with libpq's semantics
/// ([`crate::plataforma::conexion`]); `ca_pem` is `DATABASE_CA_PEM`.
pub fn pool(url: &str, ca_pem: Option<&str>, max: usize) -> anyhow::Result<Pool> {
    let conexion = crate::plataforma::conexion::Conexion::nueva(url, ca_pem)?;
    let mut pg: PgConfig = conexion.config().clone();
    pg.connect_timeout(Duration::from_secs(3));
    if pg.get_application_name().is_none() {
        pg.application_name("inventario");
    }
    let mgr = Manager::from_connect(
        pg,
        conexion.conector(),
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
