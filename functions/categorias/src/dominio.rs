//! Category rules of catalog.md §4. Every statement filters on the tenant; another empresa's
//! category is a missing one (404). Deletions lock the category rows (`FOR UPDATE`) before
//! counting products, so a concurrent product insert either is counted or fails its foreign key
//! check: a category with products is never deleted and no product is ever orphaned.

use deadpool_postgres::Pool;
use serde::Serialize;
use serde_json::json;
use shared::auditoria::{self, Evento};
use shared::codigos::{prefijo_valido, sugerir_prefijo};
use shared::db::{self, Consulta, Type};
pub use shared::stock::Categoria;
use shared::{Ctx, Error, Estado, ResultExt};
use tokio_postgres::error::SqlState;

const UNICO_NOMBRE: &str = "Categoria_empresaId_nombre_key";
const UNICO_PREFIJO: &str = "Categoria_empresaId_prefijo_key";
const NO_ENCONTRADA: &str = "Categoría no encontrada.";
const NOMBRE_OBLIGATORIO: &str = "El nombre es obligatorio.";
const PREFIJO_OBLIGATORIO: &str = "El prefijo es obligatorio.";
const PREFIJO_FORMATO: &str =
    "El prefijo debe tener entre 2 y 8 letras o números (sin espacios ni símbolos).";
const CON_PRODUCTOS: &str = "No se puede eliminar una categoría con productos asociados";

fn prefijo_en_uso(prefijo: &str) -> Error {
    Error::conflict(format!(
        "Ya existe una categoría con el prefijo \"{prefijo}\". Elige uno distinto."
    ))
}

#[derive(Serialize)]
pub struct Conteo {
    productos: i64,
}

#[derive(Serialize)]
pub struct CategoriaConConteo {
    #[serde(flatten)]
    categoria: Categoria,
    #[serde(rename = "_count")]
    count: Conteo,
}

const COLUMNAS: &str = Categoria::COLUMNAS;

fn desde(f: &tokio_postgres::Row) -> Categoria {
    Categoria::from_row(f, 0)
}

pub async fn listar(pool: &Pool, ctx: &Ctx) -> Result<Vec<CategoriaConConteo>, Error> {
    let c = pool.get().await?;
    let filas = c
        .consulta(
            r#"SELECT c."id", c."nombre", c."prefijo", c."empresaId",
                      (SELECT count(*) FROM "Producto" p
                       WHERE p."categoriaId" = c."id" AND p."empresaId" = c."empresaId")
               FROM "Categoria" c WHERE c."empresaId" = $1
               ORDER BY c."nombre" ASC, c."id" ASC"#,
            &[(&ctx.empresa.as_str(), Type::TEXT)],
        )
        .await?;
    Ok(filas
        .iter()
        .map(|f| CategoriaConConteo {
            categoria: desde(f),
            count: Conteo {
                productos: f.get(4),
            },
        })
        .collect())
}

pub async fn crear(
    estado: &Estado,
    ctx: &Ctx,
    nombre: String,
    prefijo: Option<String>,
) -> Result<Categoria, Error> {
    if nombre.is_empty() {
        return Err(Error::bad_request(NOMBRE_OBLIGATORIO));
    }
    let mut c = estado.pool.get().await?;
    let tx = db::transaccion(&mut c).await?;
    shared::codigos::bloquear_prefijos(&tx, &ctx.empresa).await?;
    let usados: Vec<String> = tx
        .consulta(
            r#"SELECT "prefijo" FROM "Categoria" WHERE "empresaId" = $1"#,
            &[(&ctx.empresa.as_str(), Type::TEXT)],
        )
        .await?
        .iter()
        .map(|f| f.get(0))
        .collect();
    let prefijo = match prefijo {
        None => sugerir_prefijo(&nombre, |p| usados.iter().any(|u| u == p)),
        Some(p) => {
            // catalog.md §4.2: the "in use" check precedes the format check.
            if usados.contains(&p) {
                return Err(prefijo_en_uso(&p));
            }
            if !prefijo_valido(&p) {
                return Err(Error::bad_request(PREFIJO_FORMATO));
            }
            p
        }
    };
    let filas = tx
        .consulta(
            &format!(
                r#"INSERT INTO "Categoria" ("nombre", "prefijo", "empresaId") VALUES ($1, $2, $3)
                   RETURNING {COLUMNAS}"#
            ),
            &[
                (&nombre, Type::TEXT),
                (&prefijo, Type::TEXT),
                (&ctx.empresa.as_str(), Type::TEXT),
            ],
        )
        .await
        .on_constraint(UNICO_NOMBRE, || {
            Error::conflict(format!(
                "Ya existe una categoría con el nombre \"{nombre}\"."
            ))
        })
        .on_constraint(UNICO_PREFIJO, || prefijo_en_uso(&prefijo))?;
    let categoria = desde(&filas[0]);
    tx.commit().await?;
    drop(c);
    auditoria::registrar(
        estado,
        ctx,
        Evento {
            accion: "CREAR",
            entidad: "Categoria",
            entidad_id: Some(categoria.id.to_string()),
            datos: Some(json!({ "despues": categoria })),
            ip_defecto: Some("127.0.0.1"),
        },
    )
    .await;
    Ok(categoria)
}

pub async fn actualizar(
    estado: &Estado,
    ctx: &Ctx,
    id: i32,
    nombre: String,
    prefijo: String,
) -> Result<Categoria, Error> {
    if nombre.is_empty() {
        return Err(Error::bad_request(NOMBRE_OBLIGATORIO));
    }
    if prefijo.is_empty() {
        return Err(Error::bad_request(PREFIJO_OBLIGATORIO));
    }
    if !prefijo_valido(&prefijo) {
        return Err(Error::bad_request(PREFIJO_FORMATO));
    }
    let otra_prefijo = || Error::conflict("Ya existe otra categoría con ese prefijo.");
    let otra_nombre = || Error::conflict("Ya existe otra categoría con ese nombre.");
    let mut c = estado.pool.get().await?;
    let tx = db::transaccion(&mut c).await?;
    let empresa = ctx.empresa.as_str();
    let antes = tx
        .consulta(
            &format!(r#"SELECT {COLUMNAS} FROM "Categoria" WHERE "id" = $1 AND "empresaId" = $2 FOR UPDATE"#),
            &[(&id, Type::INT4), (&empresa, Type::TEXT)],
        )
        .await?
        .first()
        .map(desde)
        .ok_or_else(|| Error::not_found(NO_ENCONTRADA))?;
    if antes.nombre != nombre || antes.prefijo != prefijo {
        let choques = tx
            .consulta(
                r#"SELECT "prefijo" = $3 FROM "Categoria"
                   WHERE "empresaId" = $1 AND "id" <> $2 AND ("prefijo" = $3 OR "nombre" = $4)"#,
                &[
                    (&empresa, Type::TEXT),
                    (&id, Type::INT4),
                    (&prefijo, Type::TEXT),
                    (&nombre, Type::TEXT),
                ],
            )
            .await?;
        // Required: when two rows match, the prefix message wins.
        if choques.iter().any(|f| f.get::<_, bool>(0)) {
            return Err(otra_prefijo());
        }
        if !choques.is_empty() {
            return Err(otra_nombre());
        }
    }
    let despues = tx
        .consulta(
            &format!(
                r#"UPDATE "Categoria" SET "nombre" = $3, "prefijo" = $4
                   WHERE "id" = $1 AND "empresaId" = $2 RETURNING {COLUMNAS}"#
            ),
            &[
                (&id, Type::INT4),
                (&empresa, Type::TEXT),
                (&nombre, Type::TEXT),
                (&prefijo, Type::TEXT),
            ],
        )
        .await
        .on_constraint(UNICO_PREFIJO, otra_prefijo)
        .on_constraint(UNICO_NOMBRE, otra_nombre)?;
    let despues = desde(&despues[0]);
    tx.commit().await?;
    drop(c);
    auditoria::registrar(
        estado,
        ctx,
        Evento::nuevo(
            "ACTUALIZAR",
            "Categoria",
            Some(id.to_string()),
            json!({ "antes": antes, "despues": despues }),
        ),
    )
    .await;
    Ok(despues)
}

pub async fn eliminar(estado: &Estado, ctx: &Ctx, id: i32) -> Result<(), Error> {
    let mut c = estado.pool.get().await?;
    let tx = db::transaccion(&mut c).await?;
    let empresa = ctx.empresa.as_str();
    let antes = tx
        .consulta(
            &format!(r#"SELECT {COLUMNAS} FROM "Categoria" WHERE "id" = $1 AND "empresaId" = $2 FOR UPDATE"#),
            &[(&id, Type::INT4), (&empresa, Type::TEXT)],
        )
        .await?
        .first()
        .map(desde)
        .ok_or_else(|| Error::not_found(NO_ENCONTRADA))?;
    let productos: i64 = tx
        .consulta(
            r#"SELECT count(*) FROM "Producto" WHERE "categoriaId" = $1 AND "empresaId" = $2"#,
            &[(&id, Type::INT4), (&empresa, Type::TEXT)],
        )
        .await?[0]
        .get(0);
    if productos > 0 {
        return Err(Error::bad_request(CON_PRODUCTOS));
    }
    tx.consulta(
        r#"DELETE FROM "Categoria" WHERE "id" = $1 AND "empresaId" = $2 RETURNING "id""#,
        &[(&id, Type::INT4), (&empresa, Type::TEXT)],
    )
    .await
    .on_sqlstate(&SqlState::FOREIGN_KEY_VIOLATION, || {
        Error::bad_request(CON_PRODUCTOS)
    })?;
    tx.commit().await?;
    drop(c);
    auditoria::registrar(
        estado,
        ctx,
        Evento::nuevo(
            "ELIMINAR",
            "Categoria",
            Some(id.to_string()),
            json!({ "antes": antes }),
        ),
    )
    .await;
    Ok(())
}

/// Bulk delete (§4.5): all or nothing, the rows locked before the product check.
pub async fn eliminar_varias(estado: &Estado, ctx: &Ctx, ids: &[i32]) -> Result<Vec<i32>, Error> {
    let mut c = estado.pool.get().await?;
    let empresa = ctx.empresa.as_str();
    let ids = ids.to_vec();
    let tx = db::transaccion(&mut c).await?;
    let cats: Vec<Categoria> = tx
        .consulta(
            &format!(
                r#"SELECT {COLUMNAS} FROM "Categoria" WHERE "empresaId" = $1 AND "id" = ANY($2)
                   ORDER BY "id" FOR UPDATE"#
            ),
            &[(&empresa, Type::TEXT), (&ids, Type::INT4_ARRAY)],
        )
        .await?
        .iter()
        .map(desde)
        .collect();
    if cats.is_empty() {
        return Err(Error::not_found(
            "No se encontró ninguna categoría con esos IDs.",
        ));
    }
    let encontrados: Vec<i32> = cats.iter().map(|c| c.id).collect();
    let conteos = tx
        .consulta(
            r#"SELECT "categoriaId", count(*) FROM "Producto"
               WHERE "empresaId" = $1 AND "categoriaId" = ANY($2)
               GROUP BY "categoriaId" ORDER BY "categoriaId""#,
            &[(&empresa, Type::TEXT), (&encontrados, Type::INT4_ARRAY)],
        )
        .await?;
    if !conteos.is_empty() {
        let n = conteos.len();
        let lista: Vec<String> = conteos
            .iter()
            .take(5)
            .map(|f| {
                let id: i32 = f.get(0);
                let total: i64 = f.get(1);
                let nombre = cats
                    .iter()
                    .find(|c| c.id == id)
                    .map_or("", |c| c.nombre.as_str());
                format!("\"{nombre}\" ({total})")
            })
            .collect();
        let resto = if n > 5 {
            format!(" y {} más", n - 5)
        } else {
            String::new()
        };
        return Err(Error::bad_request(format!(
            "{n} categoría(s) tienen productos asociados: {}{resto}. Reasigna o borra esos productos primero.",
            lista.join(", ")
        )));
    }
    // With the rows locked a concurrent product insert waits and then fails its own foreign
    // key check, so this mapping is a second wall, not an expected path.
    tx.consulta(
        r#"DELETE FROM "Categoria" WHERE "empresaId" = $1 AND "id" = ANY($2) RETURNING "id""#,
        &[(&empresa, Type::TEXT), (&encontrados, Type::INT4_ARRAY)],
    )
    .await
    .on_sqlstate(&SqlState::FOREIGN_KEY_VIOLATION, || {
        Error::bad_request(CON_PRODUCTOS)
    })?;
    tx.commit().await?;
    drop(c);
    auditoria::registrar(
        estado,
        ctx,
        Evento::nuevo("ELIMINAR", "Categoria", None, json!({
                "operacion": "BULK_DELETE",
                "cantidad": cats.len(),
                "categorias": cats.iter().map(|c| json!({"id": c.id, "nombre": c.nombre, "prefijo": c.prefijo})).collect::<Vec<_>>(),
            })),
    )
    .await;
    Ok(encontrados)
}
