//! The state of a database, read from `pg_catalog` inside the migration's transaction: empty,
//! the reference schema (Appendix A, with the extras schema.md §1.1 allows), or something else,
//! reported as its first differences.

use std::collections::{BTreeMap, BTreeSet};

/// Columns schema.md §1.1 allows besides the model: (table, column).
const COLUMNAS_PERMITIDAS: &[(&str, &str)] = &[("Cotizacion", "cliente")];
/// Scratch schema where Appendix A is built to read the expected catalog (dropped at once).
const ESQUEMA_ESPERADO: &str = "inventario_esperado";

/// Tables → columns → (type, NOT NULL); enums → labels (order ignored: §1.1).
#[derive(Debug, Default, PartialEq)]
pub struct Catalogo {
    pub tablas: BTreeMap<String, BTreeMap<String, (String, bool)>>,
    pub enums: BTreeMap<String, BTreeSet<String>>,
}

pub enum Estado {
    Vacia,
    Referencia,
    Desconocido(Vec<String>),
}

pub async fn leer(tx: &tokio_postgres::Transaction<'_>, esquema: &str) -> anyhow::Result<Catalogo> {
    let mut c = Catalogo::default();
    for f in tx
        .query(
            r#"SELECT c.relname::text, a.attname::text,
                      CASE WHEN t.typtype = 'e' THEN t.typname::text
                           WHEN e.typtype = 'e' THEN e.typname::text || '[]'
                           ELSE format_type(a.atttypid, a.atttypmod) END,
                      a.attnotnull
               FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
               JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
               JOIN pg_type t ON t.oid = a.atttypid
               LEFT JOIN pg_type e ON e.oid = t.typelem AND t.typcategory = 'A'
               WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')"#,
            &[&esquema],
        )
        .await?
    {
        c.tablas
            .entry(f.get(0))
            .or_default()
            .insert(f.get(1), (f.get(2), f.get(3)));
    }
    for f in tx
        .query(
            r#"SELECT t.typname::text, e.enumlabel::text
               FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
               JOIN pg_enum e ON e.enumtypid = t.oid
               WHERE n.nspname = $1"#,
            &[&esquema],
        )
        .await?
    {
        c.enums.entry(f.get(0)).or_default().insert(f.get(1));
    }
    Ok(c)
}

/// Appendix A's catalog: V1 built in a scratch schema of this transaction, read, dropped.
pub async fn esperado(tx: &tokio_postgres::Transaction<'_>, v1: &str) -> anyhow::Result<Catalogo> {
    let ruta: String = tx
        .query_one("SELECT current_setting('search_path')", &[])
        .await?
        .get(0);
    tx.batch_execute(&format!(
        "CREATE SCHEMA {ESQUEMA_ESPERADO}; SET LOCAL search_path TO {ESQUEMA_ESPERADO};"
    ))
    .await?;
    tx.batch_execute(v1).await?;
    let c = leer(tx, ESQUEMA_ESPERADO).await?;
    tx.batch_execute(&format!("DROP SCHEMA {ESQUEMA_ESPERADO} CASCADE"))
        .await?;
    tx.execute("SELECT set_config('search_path', $1, true)", &[&ruta])
        .await?;
    Ok(c)
}

/// Compares `public` with the expected catalog.
pub fn comparar(esperado: &Catalogo, real: &Catalogo) -> Estado {
    let nuestras = |c: &Catalogo| {
        esperado.tablas.keys().any(|t| c.tablas.contains_key(t))
            || esperado.enums.keys().any(|e| c.enums.contains_key(e))
    };
    if !nuestras(real) {
        return Estado::Vacia;
    }
    let mut d = Vec::new();
    for (tabla, columnas) in &esperado.tablas {
        let Some(reales) = real.tablas.get(tabla) else {
            d.push(format!("falta la tabla \"{tabla}\""));
            continue;
        };
        for (col, (tipo, nn)) in columnas {
            match reales.get(col) {
                None => d.push(format!("falta la columna \"{tabla}\".\"{col}\"")),
                Some((t, _)) if t != tipo => {
                    d.push(format!("\"{tabla}\".\"{col}\" es {t}, se esperaba {tipo}"))
                }
                Some((_, n)) if n != nn => d.push(format!(
                    "\"{tabla}\".\"{col}\": NOT NULL {n}, se esperaba {nn}"
                )),
                _ => {}
            }
        }
        for col in reales.keys() {
            if !columnas.contains_key(col)
                && !COLUMNAS_PERMITIDAS
                    .iter()
                    .any(|(t, c)| t == tabla && c == col)
            {
                d.push(format!("columna inesperada \"{tabla}\".\"{col}\""));
            }
        }
    }
    for (nombre, etiquetas) in &esperado.enums {
        match real.enums.get(nombre) {
            None => d.push(format!("falta el tipo enum \"{nombre}\"")),
            Some(e) if e != etiquetas => d.push(format!(
                "el enum \"{nombre}\" tiene {e:?}, se esperaba {etiquetas:?}"
            )),
            _ => {}
        }
    }
    if d.is_empty() {
        Estado::Referencia
    } else {
        Estado::Desconocido(d)
    }
}
