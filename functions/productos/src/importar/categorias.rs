//! Category resolution of catalog.md §6.6, in one transaction before any product is written.
//! Only rows that passed steps 1–4 ask for a category, and a row's category does not depend on
//! any product, so every category the file needs is created here, in file order, in one
//! multi-row INSERT. If that INSERT fails, the same requests are replayed one by one (each under
//! a savepoint), which reproduces the sequential outcome exactly: a failed creation is not
//! cached, the row falls back to "Sin clasificar", and a later row retries.

use std::collections::{HashMap, HashSet};

use shared::codigos::sugerir_prefijo;
use shared::db::{Consulta, Transaction, Type};
use shared::stock::Categoria;
use shared::{Ctx, Error};

const SIN_CLASIFICAR: &str = "Sin clasificar";

/// The category a row ends up in, the suffix its message carries, and the category it created.
#[derive(Debug, PartialEq)]
pub struct Asignacion {
    pub categoria_id: i32,
    pub sufijo: Option<String>,
    pub creada: Option<Categoria>,
}

/// The map key of §6.6 step 1: lower-cased and trimmed, no accent folding.
fn clave(nombre: &str) -> String {
    shared::js::recortar(nombre).to_lowercase()
}

/// Resolves `pedidas` (per row that passed steps 1–4: its trimmed category name, or `None`).
/// Creates "Sin clasificar" first when the empresa lacks it, even if no row needs it; a failure
/// there is the route's 500.
pub async fn resolver(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    pedidas: &[Option<&str>],
) -> Result<Vec<Asignacion>, Error> {
    let empresa = ctx.empresa.as_str();
    // The lock POST /api/categorias takes.
    shared::codigos::bloquear_prefijos(tx, &ctx.empresa).await?;
    let existentes: Vec<Categoria> = tx
        .consulta(
            &format!(
                r#"SELECT {} FROM "Categoria" WHERE "empresaId" = $1 ORDER BY "id""#,
                Categoria::COLUMNAS
            ),
            &[(&empresa, Type::TEXT)],
        )
        .await?
        .iter()
        .map(|f| Categoria::from_row(f, 0))
        .collect();
    let mut usados: HashSet<String> = existentes.iter().map(|c| c.prefijo.clone()).collect();
    // As the reference builds its map: a later row of the same key replaces an earlier one.
    let mut mapa: HashMap<String, i32> = existentes
        .iter()
        .map(|c| (clave(&c.nombre), c.id))
        .collect();
    let sin_clasificar = match mapa.get("sin clasificar") {
        Some(id) => *id,
        None => {
            let prefijo = sugerir_prefijo(SIN_CLASIFICAR, |p| usados.contains(p));
            let creada = insertar(tx, ctx, &[(SIN_CLASIFICAR, &prefijo)]).await?;
            usados.insert(prefijo);
            mapa.insert(clave(SIN_CLASIFICAR), creada[0].id);
            creada[0].id
        }
    };

    // Plan every creation in file order, then try them in one statement.
    let mut plan: Vec<(&str, String)> = Vec::new();
    let mut planeadas: HashSet<String> = HashSet::new();
    for nombre in pedidas.iter().flatten() {
        let k = clave(nombre);
        if mapa.contains_key(&k) || planeadas.contains(&k) || !creable(nombre) {
            continue;
        }
        let prefijo = sugerir_prefijo(nombre, |p| usados.contains(p));
        usados.insert(prefijo.clone());
        planeadas.insert(k);
        plan.push((nombre, prefijo));
    }
    let mut lote: HashMap<String, Categoria> = HashMap::new();
    let mut uno_a_uno = false;
    if !plan.is_empty() {
        let filas: Vec<(&str, &str)> = plan.iter().map(|(n, p)| (*n, p.as_str())).collect();
        tx.batch_execute("SAVEPOINT categorias").await?;
        match insertar(tx, ctx, &filas).await {
            Ok(creadas) => {
                tx.batch_execute("RELEASE SAVEPOINT categorias").await?;
                lote = creadas.into_iter().map(|c| (clave(&c.nombre), c)).collect();
            }
            Err(e) => {
                tracing::warn!(error.message = %e, "creación de categorías en lote fallida; una a una");
                tx.batch_execute("ROLLBACK TO SAVEPOINT categorias").await?;
                for (_, p) in &plan {
                    usados.remove(p);
                }
                uno_a_uno = true;
            }
        }
    }

    let mut asignaciones = Vec::with_capacity(pedidas.len());
    for pedida in pedidas {
        let Some(nombre) = pedida else {
            asignaciones.push(Asignacion {
                categoria_id: sin_clasificar,
                sufijo: None,
                creada: None,
            });
            continue;
        };
        let k = clave(nombre);
        if let Some(id) = mapa.get(&k) {
            asignaciones.push(Asignacion {
                categoria_id: *id,
                sufijo: None,
                creada: None,
            });
            continue;
        }
        let creada = match lote.remove(&k) {
            Some(c) => Some(c),
            None if uno_a_uno && creable(nombre) => crear_una(tx, ctx, nombre, &mut usados).await?,
            None => None,
        };
        asignaciones.push(match creada {
            Some(c) => {
                mapa.insert(k, c.id);
                Asignacion {
                    categoria_id: c.id,
                    sufijo: Some(format!(
                        " Categoría \"{nombre}\" creada con prefijo {}.",
                        c.prefijo
                    )),
                    creada: Some(c),
                }
            }
            None => Asignacion {
                categoria_id: sin_clasificar,
                sufijo: Some(format!(
                    " Categoría \"{nombre}\" no se pudo crear; se asignó \"Sin clasificar\"."
                )),
                creada: None,
            },
        });
    }
    Ok(asignaciones)
}

/// A name Postgres can store (text cannot hold NUL): others fail without a round trip.
fn creable(nombre: &str) -> bool {
    !nombre.contains('\0')
}

/// One creation under its own savepoint; `None` when the INSERT fails.
async fn crear_una(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    nombre: &str,
    usados: &mut HashSet<String>,
) -> Result<Option<Categoria>, Error> {
    let prefijo = sugerir_prefijo(nombre, |p| usados.contains(p));
    tx.batch_execute("SAVEPOINT categoria").await?;
    match insertar(tx, ctx, &[(nombre, &prefijo)]).await {
        Ok(mut c) => {
            tx.batch_execute("RELEASE SAVEPOINT categoria").await?;
            usados.insert(prefijo);
            Ok(c.pop())
        }
        Err(e) => {
            tracing::warn!(error.message = %e, "categoría de la importación no creada");
            tx.batch_execute("ROLLBACK TO SAVEPOINT categoria").await?;
            Ok(None)
        }
    }
}

/// Inserts `(nombre, prefijo)` rows in order and returns them in that order.
async fn insertar(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    filas: &[(&str, &str)],
) -> Result<Vec<Categoria>, tokio_postgres::Error> {
    let nombres: Vec<&str> = filas.iter().map(|f| f.0).collect();
    let prefijos: Vec<&str> = filas.iter().map(|f| f.1).collect();
    let filas = tx
        .consulta(
            &format!(
                r#"INSERT INTO "Categoria" ("nombre", "prefijo", "empresaId")
                   SELECT t.n, t.p, $3 FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(n, p, o)
                   ORDER BY t.o
                   RETURNING {}"#,
                Categoria::COLUMNAS
            ),
            &[
                (&nombres, Type::TEXT_ARRAY),
                (&prefijos, Type::TEXT_ARRAY),
                (&ctx.empresa.as_str(), Type::TEXT),
            ],
        )
        .await?;
    let mut creadas: Vec<Categoria> = filas.iter().map(|f| Categoria::from_row(f, 0)).collect();
    creadas.sort_by_key(|c| c.id);
    Ok(creadas)
}
