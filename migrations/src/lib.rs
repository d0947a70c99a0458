//! Database migrations, run by the `migrate` binary (never inside a Lambda cold start).
//!
//! - `sql/`: the baseline (schema.md Appendix A, a no-op on a reference database) and the
//!   changes we adopt; history in `inventario.refinery_schema_history`, outside `public`.
//! - `dev/`: the minimal `neon_auth` fixture of schema.md §6.3, applied only with `--dev`
//!   (local runs and tests), with its own history table.

use anyhow::Context;

mod base {
    refinery::embed_migrations!("sql");
}
mod dev {
    refinery::embed_migrations!("dev");
}

pub const TABLA_HISTORIAL: &str = "inventario.refinery_schema_history";
pub const TABLA_HISTORIAL_DEV: &str = "inventario.refinery_dev_history";

/// Opens one connection to `url` (URL or `key=value` form) with libpq's `sslmode` /
/// `sslrootcert` meaning ([`shared::conexion`]); the CA may also come in `DATABASE_CA_PEM`.
pub async fn conectar(url: &str) -> anyhow::Result<tokio_postgres::Client> {
    let conexion = leer_url(url)?;
    conectar_a(&conexion).await
}

/// Bounds of the connections of `migrate`, `seed` and the test harness: a connection attempt
/// (unless the URL sets `connect_timeout`) and the wait for any answer once a statement was sent
/// ([`shared::plazo`]); long enough for a constraint validated over a large table.
pub const TIEMPO_CONEXION: std::time::Duration = std::time::Duration::from_secs(10);
pub const PLAZO_RESPUESTA: std::time::Duration = std::time::Duration::from_secs(300);

/// `url` parsed with the CA of `DATABASE_CA_PEM`, if set, and the bounds above.
pub fn leer_url(url: &str) -> anyhow::Result<shared::conexion::Conexion> {
    let ca = std::env::var(shared::conexion::VARIABLE_CA).ok();
    let mut c = shared::conexion::Conexion::nueva(url, ca.as_deref())?.con_plazo(PLAZO_RESPUESTA);
    if c.config().get_connect_timeout().is_none() {
        c.config_mut().connect_timeout(TIEMPO_CONEXION);
    }
    Ok(c)
}

async fn conectar_a(
    conexion: &shared::conexion::Conexion,
) -> anyhow::Result<tokio_postgres::Client> {
    shared::db::instalar_proveedor_tls();
    let (client, conn) = conexion
        .conectar()
        .await
        .map_err(|e| anyhow::anyhow!("no se pudo conectar a Postgres: {e}"))?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            eprintln!("conexión de migración cerrada: {e}");
        }
    });
    Ok(client)
}

/// Applies the migrations; `dev` adds the `neon_auth` fixture tables.
pub async fn aplicar(client: &mut tokio_postgres::Client, dev: bool) -> anyhow::Result<()> {
    client
        .batch_execute("CREATE SCHEMA IF NOT EXISTS inventario")
        .await
        .context("creando el esquema inventario")?;
    base::migrations::runner()
        .set_migration_table_name(TABLA_HISTORIAL)
        .run_async(client)
        .await
        .context("aplicando migrations/sql")?;
    if dev {
        dev::migrations::runner()
            .set_migration_table_name(TABLA_HISTORIAL_DEV)
            .run_async(client)
            .await
            .context("aplicando migrations/dev")?;
    }
    Ok(())
}

/// Creates the database named in `url` when it does not exist (connecting to `postgres`).
pub async fn crear_bd_si_falta(url: &str) -> anyhow::Result<()> {
    let mut admin = leer_url(url)?;
    let nombre = admin
        .config()
        .get_dbname()
        .context("la URL no nombra una base de datos")?
        .to_string();
    admin.config_mut().dbname("postgres");
    let client = conectar_a(&admin).await?;
    let existe = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&nombre])
        .await?
        .is_some();
    if !existe {
        let ident = nombre.replace('"', "\"\"");
        client
            .batch_execute(&format!("CREATE DATABASE \"{ident}\""))
            .await?;
    }
    Ok(())
}
