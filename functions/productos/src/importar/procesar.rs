//! Writing the import (catalog.md §6.6–§6.10) in batches with the results of sequential
//! processing.
//!
//! Two transactions on one connection: categories first ([`categorias`]), then products. For
//! products the numbering locks of every category that needs generated codes are taken
//! (ascending id, the order POST /api/productos uses one at a time), then the empresa's codes
//! and per-category maxima are loaded once and each row is decided in memory, in file order:
//! code given or generated (§3.2), duplicate (first occurrence wins), doomed insert. Rows to
//! insert go in multi-row INSERTs of [`LOTE`] rows (products and their initial-stock movements
//! in one statement). Should a batch fail anyway (a concurrent writer, a value Postgres
//! refuses), its rows are replayed one by one under savepoints from the state before the
//! batch, so every row still gets the outcome sequential processing would give it.
//! Audit rows are written after both commits, best-effort (platform.md §8.3).

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use serde_json::json;
use shared::auditoria::{self, Evento};
use shared::codigos::bloquear_numeracion;
use shared::db::{self, Consulta, Transaction, Type};
use shared::stock::Producto;
use shared::{Ctx, Error, Estado};
use tokio_postgres::error::SqlState;

use super::categorias::{self, Asignacion};
use super::validar::Fila;
use super::{Formato, Resultado};

/// Rows per multi-row INSERT.
const LOTE: usize = 1000;
const UNICO_CODIGO: &str = "Producto_empresaId_codigo_key";
const SIN_CODIGO: &str = "No se pudo generar el código automáticamente.";
const ERROR_INSERCION: &str = "Error interno al crear el producto.";

fn duplicado(codigo: &str) -> String {
    format!("Ya existe un producto con código \"{codigo}\".")
}

pub async fn procesar(
    estado: &Estado,
    ctx: &Ctx,
    formato: Formato,
    filas: Vec<Fila>,
) -> Result<Vec<Resultado>, Error> {
    let mut resultados: Vec<Option<Resultado>> = filas.iter().map(|_| None).collect();
    // Steps 1–4 failures are final; the rest ask for a category.
    let validas: Vec<usize> = (0..filas.len())
        .filter(|i| match &filas[*i].campos {
            Ok(_) => true,
            Err(m) => {
                resultados[*i] = Some(error(&filas[*i], filas[*i].codigo.clone(), m.clone()));
                false
            }
        })
        .collect();
    let pedidas: Vec<Option<&str>> = validas
        .iter()
        .map(|i| {
            filas[*i]
                .campos
                .as_ref()
                .ok()
                .and_then(|c| c.categoria.as_deref())
        })
        .collect();

    let mut c = estado.pool.get().await?;
    let tx = db::transaccion(&mut c).await?;
    let asignaciones = categorias::resolver(&tx, ctx, &pedidas).await?;
    tx.commit().await?;

    let productos = if validas.is_empty() {
        Ok(Vec::new())
    } else {
        escribir_productos(&mut c, ctx, formato, &filas, &validas, &asignaciones).await
    };
    drop(c);

    // Audit in row order: a row's new category, then its product.
    let mut eventos = Vec::new();
    let mut creados: HashMap<usize, Producto> = HashMap::new();
    let decisiones = match productos {
        Ok(d) => d,
        Err(e) => {
            let solo_categorias: Vec<Evento> = asignaciones
                .iter()
                .filter_map(|a| a.creada.as_ref())
                .map(evento_categoria)
                .collect();
            auditoria::registrar_varios(estado, ctx, &solo_categorias).await;
            return Err(e);
        }
    };
    for (k, (i, decision)) in validas.iter().zip(decisiones).enumerate() {
        let asignacion = &asignaciones[k];
        if let Some(cat) = &asignacion.creada {
            eventos.push(evento_categoria(cat));
        }
        let fila = &filas[*i];
        resultados[*i] = Some(match decision {
            Decision::Creado(p) => {
                eventos.push(Evento::nuevo(
                    "CREAR",
                    "Producto",
                    Some(p.id.to_string()),
                    json!({ "despues": p, "origen": formato.origen() }),
                ));
                let r = Resultado {
                    linea: fila.linea,
                    codigo: p.codigo.clone(),
                    nombre: fila.nombre.clone(),
                    estado: "creado",
                    producto_id: Some(p.id),
                    mensaje: asignacion.sufijo.clone(),
                };
                creados.insert(*i, p);
                r
            }
            Decision::Error { codigo, mensaje } => error(
                fila,
                codigo,
                format!("{mensaje}{}", asignacion.sufijo.as_deref().unwrap_or("")),
            ),
            // Every planned row is resolved by `escribir_productos`; never reached.
            Decision::Insertar(codigo) => error(fila, codigo, ERROR_INSERCION.into()),
        });
    }
    auditoria::registrar_varios(estado, ctx, &eventos).await;
    Ok(resultados
        .into_iter()
        .map(|r| r.expect("every row has a result"))
        .collect())
}

fn error(fila: &Fila, codigo: String, mensaje: String) -> Resultado {
    Resultado {
        linea: fila.linea,
        codigo,
        nombre: fila.nombre.clone(),
        estado: "error",
        producto_id: None,
        mensaje: Some(mensaje),
    }
}

fn evento_categoria(c: &shared::stock::Categoria) -> Evento<'static> {
    Evento::nuevo(
        "CREAR",
        "Categoria",
        Some(c.id.to_string()),
        json!({ "despues": c, "origen": "importacion" }),
    )
}

#[derive(Debug)]
enum Decision {
    /// Planned, not yet written.
    Insertar(String),
    Creado(Producto),
    Error {
        codigo: String,
        mensaje: String,
    },
}

/// Products of the rows in `validas` (with their categories), in one transaction. Returns
/// one decision per entry of `validas`.
async fn escribir_productos(
    c: &mut db::Client,
    ctx: &Ctx,
    formato: Formato,
    filas: &[Fila],
    validas: &[usize],
    asignaciones: &[Asignacion],
) -> Result<Vec<Decision>, Error> {
    let tx = db::transaccion(c).await?;
    let mut auto: Vec<i32> = validas
        .iter()
        .zip(asignaciones)
        .filter(|(i, _)| filas[**i].codigo.is_empty())
        .map(|(_, a)| a.categoria_id)
        .collect();
    auto.sort_unstable();
    auto.dedup();
    for categoria_id in &auto {
        bloquear_numeracion(&tx, &ctx.empresa, *categoria_id).await?;
    }
    let mut codigos = Codigos::cargar(&tx, ctx, &auto).await?;

    let mut decisiones: Vec<Decision> = Vec::with_capacity(validas.len());
    let entradas: Vec<(&Fila, i32)> = validas
        .iter()
        .zip(asignaciones)
        .map(|(i, a)| (&filas[*i], a.categoria_id))
        .collect();
    for lote in entradas.chunks(LOTE) {
        let mut deshacer = Vec::new();
        let mut plan: Vec<Decision> = lote
            .iter()
            .map(|(fila, cat)| {
                let d = codigos.decidir(fila, *cat);
                if let Decision::Insertar(codigo) = &d {
                    codigos.registrar(codigo, *cat, &mut deshacer);
                }
                d
            })
            .collect();
        let a_insertar: Vec<(&Fila, i32, &str)> = lote
            .iter()
            .zip(&plan)
            .filter_map(|((f, cat), d)| match d {
                Decision::Insertar(codigo) => Some((*f, *cat, codigo.as_str())),
                _ => None,
            })
            .collect();
        if a_insertar.is_empty() {
            decisiones.extend(plan);
            continue;
        }
        tx.batch_execute("SAVEPOINT lote").await?;
        match insertar(&tx, ctx, formato, &a_insertar).await {
            Ok(productos) => {
                tx.batch_execute("RELEASE SAVEPOINT lote").await?;
                let mut por_codigo: HashMap<String, Producto> = productos
                    .into_iter()
                    .map(|p| (p.codigo.clone(), p))
                    .collect();
                for d in &mut plan {
                    if let Decision::Insertar(codigo) = d {
                        let p = por_codigo
                            .remove(codigo.as_str())
                            .ok_or_else(|| anyhow::anyhow!("producto insertado sin fila"))?;
                        *d = Decision::Creado(p);
                    }
                }
                decisiones.extend(plan);
            }
            Err(e) => {
                tracing::warn!(error.message = %e, "lote de la importación fallido; fila a fila");
                tx.batch_execute("ROLLBACK TO SAVEPOINT lote").await?;
                codigos.deshacer(deshacer);
                for (fila, cat) in lote {
                    decisiones.push(uno_a_uno(&tx, ctx, formato, &mut codigos, fila, *cat).await?);
                }
            }
        }
    }
    tx.commit().await?;
    Ok(decisiones)
}

/// Sequential processing of one row (the fallback of a failed batch): decide, insert under a
/// savepoint; a generated code that turns out to be taken is skipped (§3.2 Required).
async fn uno_a_uno(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    formato: Formato,
    codigos: &mut Codigos,
    fila: &Fila,
    cat: i32,
) -> Result<Decision, Error> {
    loop {
        let codigo = match codigos.decidir(fila, cat) {
            Decision::Insertar(codigo) => codigo,
            otra => return Ok(otra),
        };
        tx.batch_execute("SAVEPOINT fila").await?;
        match insertar(tx, ctx, formato, &[(fila, cat, &codigo)]).await {
            Ok(mut p) => {
                tx.batch_execute("RELEASE SAVEPOINT fila").await?;
                codigos.registrar(&codigo, cat, &mut Vec::new());
                let p = p
                    .pop()
                    .ok_or_else(|| anyhow::anyhow!("inserción sin fila"))?;
                return Ok(Decision::Creado(p));
            }
            Err(e) => {
                tx.batch_execute("ROLLBACK TO SAVEPOINT fila").await?;
                let choque = e.code() == Some(&SqlState::UNIQUE_VIOLATION)
                    && e.as_db_error().and_then(|d| d.constraint()) == Some(UNICO_CODIGO);
                if !choque {
                    tracing::warn!(error.message = %e, linea = fila.linea, "fila de la importación no creada");
                    return Ok(Decision::Error {
                        codigo,
                        mensaje: ERROR_INSERCION.into(),
                    });
                }
                // Taken by a writer we did not see: a generated code moves on, a given one is a
                // duplicate.
                codigos.usados.insert(codigo.clone());
                if !fila.codigo.is_empty() {
                    return Ok(Decision::Error {
                        mensaje: duplicado(&codigo),
                        codigo,
                    });
                }
            }
        }
    }
}

/// One multi-row INSERT of products and, for `cantidad > 0`, their initial-stock movements
/// (movimientos.md §2.3). Rows come back in input order.
async fn insertar(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    formato: Formato,
    filas: &[(&Fila, i32, &str)],
) -> Result<Vec<Producto>, tokio_postgres::Error> {
    let n = filas.len();
    let (mut nombres, mut descripciones, mut codigos) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut precios, mut cantidades, mut minimos, mut cats) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for (fila, cat, codigo) in filas {
        let Ok(c) = &fila.campos else { continue };
        nombres.push(fila.nombre.as_str());
        descripciones.push(c.descripcion.as_deref());
        codigos.push(*codigo);
        precios.push(c.precio);
        // Rows out of int4 never get here (`insercion_imposible`); saturate to stay total.
        cantidades.push(c.cantidad.clamp(i32::MIN as i64, i32::MAX as i64) as i32);
        minimos.push(c.stock_minimo.clamp(i32::MIN as i64, i32::MAX as i64) as i32);
        cats.push(*cat);
    }
    let sql = format!(
        r#"WITH nuevos AS (
             INSERT INTO "Producto" ("nombre", "descripcion", "codigo", "precio", "cantidad",
                                     "stockMinimo", "categoriaId", "empresaId", "creadoEn")
             SELECT t.n, t.d, t.c, t.p, t.q, t.m, t.k, $8, now() AT TIME ZONE 'UTC'
             FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::int4[], $6::int4[],
                         $7::int4[]) WITH ORDINALITY AS t(n, d, c, p, q, m, k, o)
             ORDER BY t.o
             RETURNING {cols}
           ), entradas AS (
             INSERT INTO "Movimiento" ("productoId", "tipo", "cantidad", "notas", "empresaId", "creadoEn")
             SELECT "id", 'entrada'::"TipoMovimiento", "cantidad", $9, "empresaId", now() AT TIME ZONE 'UTC'
             FROM nuevos WHERE "cantidad" > 0 ORDER BY "id"
           )
           SELECT {cols} FROM nuevos ORDER BY "id""#,
        cols = Producto::COLUMNAS
    );
    let filas = tx
        .consulta(
            &sql,
            &[
                (&nombres, Type::TEXT_ARRAY),
                (&descripciones, Type::TEXT_ARRAY),
                (&codigos, Type::TEXT_ARRAY),
                (&precios, Type::FLOAT8_ARRAY),
                (&cantidades, Type::INT4_ARRAY),
                (&minimos, Type::INT4_ARRAY),
                (&cats, Type::INT4_ARRAY),
                (&ctx.empresa.as_str(), Type::TEXT),
                (&formato.notas(), Type::TEXT),
            ],
        )
        .await?;
    Ok(filas.iter().map(|f| Producto::from_row(f, 0)).collect())
}

/// What §6.7 steps 6–7 read from the database, kept in memory for the whole file.
struct Codigos {
    /// Every code of the empresa, plus those written (or found taken) since.
    usados: HashSet<String>,
    /// Current prefix of each category that needs generated codes (absent: not found).
    prefijos: HashMap<i32, String>,
    /// Largest number matched by `{prefijo}-([0-9]+)` in each such category (§3.2 step 2).
    maximos: HashMap<i32, Numero>,
}

/// An undo record of [`Codigos::registrar`].
enum Cambio {
    Codigo(String),
    Maximo(i32, Numero),
}

impl Codigos {
    async fn cargar(tx: &Transaction<'_>, ctx: &Ctx, auto: &[i32]) -> Result<Self, Error> {
        let empresa = ctx.empresa.as_str();
        let usados = tx
            .consulta(
                r#"SELECT "codigo" FROM "Producto" WHERE "empresaId" = $1"#,
                &[(&empresa, Type::TEXT)],
            )
            .await?
            .iter()
            .map(|f| f.get(0))
            .collect();
        let prefijos = tx
            .consulta(
                r#"SELECT "id", "prefijo" FROM "Categoria" WHERE "empresaId" = $1 AND "id" = ANY($2)"#,
                &[(&empresa, Type::TEXT), (&auto, Type::INT4_ARRAY)],
            )
            .await?
            .iter()
            .map(|f| (f.get(0), f.get(1)))
            .collect();
        // The same expression as shared::codigos::siguiente_codigo, for every category at once.
        let maximos = tx
            .consulta(
                r#"SELECT p."categoriaId",
                          max((substring(p."codigo" from c."prefijo" || '-([0-9]+)'))::numeric)::text
                   FROM "Producto" p JOIN "Categoria" c ON c."id" = p."categoriaId"
                   WHERE p."empresaId" = $1 AND p."categoriaId" = ANY($2)
                   GROUP BY p."categoriaId""#,
                &[(&empresa, Type::TEXT), (&auto, Type::INT4_ARRAY)],
            )
            .await?
            .iter()
            .filter_map(|f| {
                let max: Option<String> = f.get(1);
                max.map(|m| (f.get(0), Numero::de(&m)))
            })
            .collect();
        Ok(Self {
            usados,
            prefijos,
            maximos,
        })
    }

    /// Steps 6–8 for one row against the current state; nothing is recorded.
    fn decidir(&self, fila: &Fila, cat: i32) -> Decision {
        let codigo = if fila.codigo.is_empty() {
            let Some(prefijo) = self.prefijos.get(&cat) else {
                return Decision::Error {
                    codigo: String::new(),
                    mensaje: SIN_CODIGO.into(),
                };
            };
            let mut n = self
                .maximos
                .get(&cat)
                .cloned()
                .unwrap_or_default()
                .siguiente();
            loop {
                let candidato = format!("{prefijo}-{:0>3}", n.0);
                if !self.usados.contains(&candidato) {
                    break candidato;
                }
                n = n.siguiente();
            }
        } else {
            fila.codigo.clone()
        };
        if self.usados.contains(&codigo) {
            return Decision::Error {
                mensaje: duplicado(&codigo),
                codigo,
            };
        }
        if fila.insercion_imposible(&codigo) {
            return Decision::Error {
                codigo,
                mensaje: ERROR_INSERCION.into(),
            };
        }
        Decision::Insertar(codigo)
    }

    /// A product with `codigo` now exists in `cat`.
    fn registrar(&mut self, codigo: &str, cat: i32, deshacer: &mut Vec<Cambio>) {
        self.usados.insert(codigo.to_string());
        deshacer.push(Cambio::Codigo(codigo.to_string()));
        let Some(prefijo) = self.prefijos.get(&cat) else {
            return;
        };
        let Some(n) = capturar(codigo, prefijo) else {
            return;
        };
        let n = Numero::de(n);
        let actual = self.maximos.get(&cat).cloned().unwrap_or_default();
        if n > actual {
            deshacer.push(Cambio::Maximo(cat, actual));
            self.maximos.insert(cat, n);
        }
    }

    fn deshacer(&mut self, cambios: Vec<Cambio>) {
        for c in cambios.into_iter().rev() {
            match c {
                Cambio::Codigo(codigo) => {
                    self.usados.remove(&codigo);
                }
                Cambio::Maximo(cat, n) => {
                    self.maximos.insert(cat, n);
                }
            }
        }
    }
}

/// The number captured by the first match of `{prefijo}-([0-9]+)` anywhere in `codigo`
/// (leftmost match, longest digit run), as PostgreSQL's `substring(… from …)` reads it.
fn capturar<'c>(codigo: &'c str, prefijo: &str) -> Option<&'c str> {
    let b = codigo.as_bytes();
    let p = prefijo.as_bytes();
    (0..b.len()).find_map(|i| {
        let resto = b[i..].strip_prefix(p)?.strip_prefix(b"-")?;
        let n = resto.iter().take_while(|c| c.is_ascii_digit()).count();
        let inicio = i + p.len() + 1;
        (n > 0).then(|| &codigo[inicio..inicio + n])
    })
}

/// A non-negative integer of any size, as decimal digits without leading zeros (`numeric`
/// semantics: codes may carry numbers beyond 64 bits, §3.2 Required "never fail").
#[derive(Clone, Debug, PartialEq, Eq)]
struct Numero(String);

impl Default for Numero {
    fn default() -> Self {
        Self("0".into())
    }
}

impl Numero {
    fn de(digitos: &str) -> Self {
        let d = digitos.trim_start_matches('0');
        Self(if d.is_empty() { "0".into() } else { d.into() })
    }

    fn siguiente(&self) -> Self {
        let mut d: Vec<u8> = self.0.bytes().collect();
        let mut i = d.len();
        loop {
            if i == 0 {
                d.insert(0, b'1');
                break;
            }
            i -= 1;
            if d[i] == b'9' {
                d[i] = b'0';
            } else {
                d[i] += 1;
                break;
            }
        }
        Self(String::from_utf8(d).expect("ASCII digits"))
    }
}

impl PartialOrd for Numero {
    fn partial_cmp(&self, otro: &Self) -> Option<Ordering> {
        Some(self.cmp(otro))
    }
}

impl Ord for Numero {
    fn cmp(&self, otro: &Self) -> Ordering {
        self.0
            .len()
            .cmp(&otro.0.len())
            .then_with(|| self.0.cmp(&otro.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captura_como_substring_de_postgres() {
        assert_eq!(capturar("BEB-007", "BEB"), Some("007"));
        assert_eq!(capturar("X-BEB-12-BEB-99", "BEB"), Some("12"));
        assert_eq!(capturar("AAA-5", "AA"), Some("5"));
        assert_eq!(capturar("BEB-", "BEB"), None);
        assert_eq!(capturar("beb-1", "BEB"), None);
        assert_eq!(capturar("BEB-x BEB-3", "BEB"), Some("3"));
        assert_eq!(capturar("ÑBEB-4", "BEB"), Some("4"));
    }

    #[test]
    fn numeros_grandes() {
        assert_eq!(Numero::de("00007").siguiente(), Numero::de("8"));
        assert_eq!(Numero::default().siguiente().0, "1");
        assert_eq!(Numero::de("999").siguiente().0, "1000");
        let grande = Numero::de("99999999999999999999999999999999999999999");
        assert_eq!(
            grande.siguiente().0,
            "100000000000000000000000000000000000000000"
        );
        assert!(Numero::de("10") > Numero::de("9"));
        assert!(Numero::de("0010") < Numero::de("11"));
    }
}
