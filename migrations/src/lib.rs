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

/// Connects with TLS when the server offers it (`sslmode` from the URL; Neon requires it).
pub async fn conectar(url: &str) -> anyhow::Result<tokio_postgres::Client> {
    shared::db::instalar_proveedor_tls();
    let (client, conn) = tokio_postgres::connect(url, shared::db::tls())
        .await
        .context("conectando a Postgres")?;
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
    let cfg: tokio_postgres::Config = url.parse()?;
    let nombre = cfg
        .get_dbname()
        .context("la URL no nombra una base de datos")?
        .to_string();
    let mut admin = cfg.clone();
    admin.dbname("postgres");
    shared::db::instalar_proveedor_tls();
    let (client, conn) = admin
        .connect(shared::db::tls())
        .await
        .context("conectando a la base postgres")?;
    tokio::spawn(conn);
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
