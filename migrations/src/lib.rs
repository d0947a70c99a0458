//! Database migrations, run by the `migrate` binary (never inside a Lambda cold start).
//!
//! - `sql/`: the baseline (schema.md Appendix A, run only on an empty database) and the Safe
//!   changes; history in `inventario.refinery_schema_history`, outside `public`, written by
//!   [`ejecutar`] in the same transaction as the changes (refinery is kept for `dev/` only).
//! - [`corte`]: R2 CHECKs (adopt adds those no row violates) and the Coexistence changes R4, R5,
//!   R6 of `migrate --cut-over`; [`estado`]: the catalog check that decides empty / adopt / refuse.
//! - `dev/`: the minimal `neon_auth` fixture of schema.md §6.3, applied only with `--dev`
//!   (local runs and tests), with its own history table.

use anyhow::Context;

pub mod corte;
pub mod estado;

mod dev {
    refinery::embed_migrations!("dev");
}

/// The Safe migrations of `sql/` (schema.md §7): (version, name, SQL). V1 (Appendix A) runs only
/// on an empty database; on a reference database it is recorded as adopted. V3 and V5 of earlier
/// builds became part of the cut-over ([`corte`]); their history rows, where present, stay.
const SEGURAS: &[(i32, &str, &str)] = &[
    (1, "baseline", include_str!("../sql/V1__baseline.sql")),
    (
        2,
        "esquema_propio",
        include_str!("../sql/V2__esquema_propio.sql"),
    ),
    (
        4,
        "idempotencia",
        include_str!("../sql/V4__idempotencia.sql"),
    ),
    (
        6,
        "escritura_bloqueada",
        include_str!("../sql/V6__escritura_bloqueada.sql"),
    ),
];

/// What one run did (printed by `migrate`).
#[derive(Debug, Default)]
pub struct Informe {
    /// The database was empty: everything created, cut-over state.
    pub creada: bool,
    /// The cut-over is recorded (now or before).
    pub cortada: bool,
    pub aplicadas: Vec<i32>,
    pub checks_agregados: Vec<String>,
    /// R2 CHECKs skipped in adopt: (constraint, violating rows, first ids).
    pub checks_omitidos: Vec<(String, i64, Vec<String>)>,
}

impl std::fmt::Display for Informe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let estado = match (self.creada, self.cortada) {
            (true, _) => "base vacía: esquema completo creado (estado de corte)",
            (false, true) => "estado de corte",
            (false, false) => "base de la referencia adoptada (sin cambios de coexistencia)",
        };
        writeln!(f, "{estado}; migraciones aplicadas: {:?}", self.aplicadas)?;
        for c in &self.checks_agregados {
            writeln!(f, "CHECK agregado y validado: {c}")?;
        }
        for (c, n, ids) in &self.checks_omitidos {
            writeln!(
                f,
                "CHECK omitido: {c}: {n} filas lo violan (primeros id: {})",
                ids.join(", ")
            )?;
        }
        Ok(())
    }
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

/// Applies the migrations without cutting over (see [`ejecutar`]); `dev` adds the `neon_auth`
/// fixture tables. An empty database still ends in the full (cut-over) state.
pub async fn aplicar(client: &mut tokio_postgres::Client, dev: bool) -> anyhow::Result<Informe> {
    ejecutar(client, dev, false).await
}

/// Detects the state of the database and acts, in one transaction (a failing run leaves nothing
/// applied): empty → everything, cut-over included; the reference schema → adopt (Safe changes
/// only; R2 CHECKs only where no row violates them); anything else → refused, naming the first
/// differences. `cortar` (or a cut-over already recorded) applies R2, R4, R5, R6, refusing while
/// rows violate R2 or R6. The `dev` fixture is applied afterwards (its own history).
pub async fn ejecutar(
    client: &mut tokio_postgres::Client,
    dev: bool,
    cortar: bool,
) -> anyhow::Result<Informe> {
    let mut informe = Informe::default();
    let tx = client.transaction().await?;
    // Two `migrate` at once: the second waits and then sees the first one's result.
    tx.batch_execute("SELECT pg_advisory_xact_lock(740211500)")
        .await?;
    let esperado = estado::esperado(&tx, SEGURAS[0].2)
        .await
        .context("leyendo el catálogo esperado (apéndice A)")?;
    let real = estado::leer(&tx, "public").await?;
    let vacia = match estado::comparar(&esperado, &real) {
        estado::Estado::Vacia => true,
        estado::Estado::Referencia => false,
        estado::Estado::Desconocido(d) => {
            let n = d.len();
            let primeras: Vec<String> = d.into_iter().take(10).collect();
            anyhow::bail!(
                "la base no es vacía ni tiene el esquema de la referencia; nada se cambió ({n} diferencias):\n  {}",
                primeras.join("\n  ")
            );
        }
    };
    informe.creada = vacia;
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS inventario;
         CREATE TABLE IF NOT EXISTS {TABLA_HISTORIAL} (
           version INT4 PRIMARY KEY, name VARCHAR(255), applied_on VARCHAR(255), checksum VARCHAR(255));
         {}",
        corte::SQL_TABLA_CORTE
    ))
    .await?;
    let hechas: Vec<i32> = tx
        .query(&format!("SELECT version FROM {TABLA_HISTORIAL}"), &[])
        .await?
        .iter()
        .map(|f| f.get(0))
        .collect();
    for (version, nombre, sql) in SEGURAS {
        if hechas.contains(version) {
            continue;
        }
        if *version != 1 || vacia {
            tx.batch_execute(sql)
                .await
                .with_context(|| format!("aplicando V{version}__{nombre}"))?;
        }
        tx.execute(
            &format!(
                "INSERT INTO {TABLA_HISTORIAL} (version, name, applied_on, checksum)
                 VALUES ($1, $2, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), $3)"
            ),
            &[version, nombre, &if *version == 1 && !vacia { "adoptada" } else { "aplicada" }],
        )
        .await?;
        informe.aplicadas.push(*version);
    }
    let ya_cortada = tx
        .query_opt("SELECT 1 FROM inventario.corte", &[])
        .await?
        .is_some();
    let cortar = cortar || vacia || ya_cortada;
    informe.cortada = cortar;

    // R2, checked row by row first.
    let mut violadas = Vec::new();
    for (nombre, tabla, expr) in corte::CHECKS {
        let existente: Option<bool> = tx
            .query_opt(
                "SELECT convalidated FROM pg_constraint
                 WHERE conname = $1 AND conrelid = format('public.%I', $2::text)::regclass",
                &[nombre, tabla],
            )
            .await?
            .map(|f| f.get(0));
        if existente == Some(true) {
            continue;
        }
        let f = tx
            .query_one(
                &format!(
                    r#"SELECT count(*), coalesce((array_agg("id"::text ORDER BY "id"))[1:5], '{{}}')
                       FROM public."{tabla}" WHERE ({expr}) IS FALSE"#
                ),
                &[],
            )
            .await?;
        let (n, ids): (i64, Vec<String>) = (f.get(0), f.get(1));
        if n > 0 {
            if existente == Some(false) {
                // A NOT VALID CHECK of an earlier build still applies to every write of those rows.
                tx.batch_execute(&format!(
                    r#"ALTER TABLE public."{tabla}" DROP CONSTRAINT "{nombre}""#
                ))
                .await?;
            }
            violadas.push((nombre.to_string(), n, ids));
        } else {
            tx.batch_execute(&if existente == Some(false) {
                format!(r#"ALTER TABLE public."{tabla}" VALIDATE CONSTRAINT "{nombre}""#)
            } else {
                format!(r#"ALTER TABLE public."{tabla}" ADD CONSTRAINT "{nombre}" CHECK ({expr})"#)
            })
            .await
            .with_context(|| format!("agregando {nombre}"))?;
            informe.checks_agregados.push(nombre.to_string());
        }
    }
    if cortar {
        let f = tx.query_one(corte::SQL_HUERFANOS_HISTORIAL, &[]).await?;
        let (n, ids): (i64, Vec<String>) = (
            f.get(0),
            f.get::<_, Option<Vec<String>>>(1).unwrap_or_default(),
        );
        let fk = tx
            .query_opt(
                "SELECT 1 FROM pg_constraint WHERE conname = $1",
                &[&corte::FK_HISTORIAL],
            )
            .await?
            .is_some();
        if n > 0 && !fk {
            violadas.push((corte::FK_HISTORIAL.to_string(), n, ids));
        }
        if !violadas.is_empty() {
            let lineas: Vec<String> = violadas
                .iter()
                .map(|(c, n, ids)| {
                    format!("{c}: {n} filas lo violan (primeros id: {})", ids.join(", "))
                })
                .collect();
            anyhow::bail!(
                "corte rechazado; nada se cambió. Corrija estas filas y repita:\n  {}",
                lineas.join("\n  ")
            );
        }
        tx.batch_execute(corte::SQL_R4).await.context("R4")?;
        for (indice, tabla, columna) in corte::INDICES {
            // Inside the transaction (not CONCURRENTLY): the cut-over is a maintenance step on
            // small tables, and it must be all-or-nothing.
            tx.batch_execute(&format!(
                r#"CREATE INDEX IF NOT EXISTS "{indice}" ON public."{tabla}" ("{columna}")"#
            ))
            .await
            .with_context(|| format!("R5 {indice}"))?;
        }
        if !fk {
            tx.batch_execute(corte::SQL_FK_HISTORIAL)
                .await
                .context("R6")?;
        }
        tx.batch_execute("INSERT INTO inventario.corte DEFAULT VALUES ON CONFLICT DO NOTHING")
            .await?;
    }
    informe.checks_omitidos = violadas;
    tx.commit().await?;
    if dev {
        dev::migrations::runner()
            .set_migration_table_name(TABLA_HISTORIAL_DEV)
            .run_async(client)
            .await
            .context("aplicando migrations/dev")?;
    }
    Ok(informe)
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
