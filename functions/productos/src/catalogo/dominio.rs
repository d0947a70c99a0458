//! Product rules of catalog.md §5, §7.2, §7.3. Every statement filters on the tenant, so another
//! empresa's product or category behaves as a missing one. Writes lock the product rows through
//! `shared::stock::bloquear_productos` (the codebase's one lock order) and change stock only
//! through `shared::stock::aplicar_movimiento`, so Σ entradas − Σ salidas stays equal to
//! `cantidad`; audit and change-log rows are written after the commit, best-effort.

use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::{Value, json};
use shared::auditoria::{self, Evento};
use shared::codigos::{bloquear_numeracion, siguiente_codigo};
use shared::db::{self, Consulta, Type};
use shared::json::{numero, ser_fecha, ser_numero};
use shared::stock::{
    Categoria, NuevoMovimiento, Producto, TipoMovimiento, aplicar_movimiento, bloquear_productos,
};
use shared::{Ctx, EmpresaId, Error, Estado, ResultExt};

use super::entrada::{
    CATEGORIA_OBLIGATORIA, EdicionProducto, NOMBRE_OBLIGATORIO, NuevoProducto, RefCategoria,
};

const UNICO_CODIGO: &str = "Producto_empresaId_codigo_key";
const FK_CATEGORIA: &str = "Producto_categoriaId_fkey";
pub const NO_ENCONTRADO: &str = "Producto no encontrado";
const CODIGO_EN_USO: &str = "Ya existe un producto con ese código.";
const CATEGORIA_AJENA: &str = "La categoría seleccionada no existe o no pertenece a la empresa.";
const CATEGORIA_INEXISTENTE: &str = "La categoría seleccionada no existe.";
const CATEGORIA_NO_ENCONTRADA: &str = "Categoría no encontrada.";
const FALTA_CATEGORIA: &str = "Falta la categoría.";
const NO_REDUCIR: &str = "No se puede reducir la cantidad desde la edición del producto. \
     Para descontar stock, registra un movimiento de salida desde Movimientos.";
const NINGUNO_ENCONTRADO: &str = "No se encontró ningún producto con esos IDs.";
const NOTAS_STOCK_INICIAL: &str = "Stock inicial";
const NOTAS_AJUSTE: &str = "Ajuste por edición";
/// Auto-coded inserts that lose the unique index to a concurrent manual code are retried with
/// the next free number (§3.2 Required); this bounds the loop.
const INTENTOS_CODIGO: usize = 10;
/// §7.3: at most 50 rows, no pagination.
const MAX_HISTORIAL: i64 = 50;

#[derive(Debug, Serialize)]
pub struct ProductoConCategoria {
    #[serde(flatten)]
    pub producto: Producto,
    /// Nested as in a list item (§5.1).
    pub categoria: Categoria,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pagina {
    pub items: Vec<ProductoConCategoria>,
    pub next_cursor: Option<i32>,
    pub total: usize,
}

impl Pagina {
    pub fn vacia() -> Self {
        Self {
            items: Vec::new(),
            next_cursor: None,
            total: 0,
        }
    }
}

/// GET /api/productos/{id}: no `categoriaId`, no `empresaId`, `categoria` without `empresaId`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductoDetalle {
    pub id: i32,
    pub nombre: String,
    pub descripcion: Option<String>,
    pub codigo: String,
    #[serde(serialize_with = "ser_numero")]
    pub precio: f64,
    pub cantidad: i32,
    pub stock_minimo: i32,
    #[serde(serialize_with = "ser_fecha")]
    pub creado_en: NaiveDateTime,
    pub categoria: CategoriaResumen,
}

#[derive(Debug, Serialize)]
pub struct CategoriaResumen {
    pub id: i32,
    pub nombre: String,
    pub prefijo: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CambioPrecio {
    pub id: i32,
    pub producto_id: i32,
    #[serde(serialize_with = "ser_numero")]
    pub precio_anterior: f64,
    #[serde(serialize_with = "ser_numero")]
    pub precio_nuevo: f64,
    #[serde(serialize_with = "ser_fecha")]
    pub creado_en: NaiveDateTime,
    pub cambiado_por_id: Option<String>,
    pub empresa_id: String,
    pub cambiado_por: Option<Autor>,
}

#[derive(Debug, Serialize)]
pub struct Autor {
    pub nombre: String,
    pub email: String,
}

/// §5.1: keyset on `(creadoEn, id)` descending, strictly after the cursor row, which is looked
/// up in the tenant; an unknown cursor (deleted, foreign) matches nothing → empty page.
pub async fn listar(
    estado: &Estado,
    ctx: &Ctx,
    limite: i64,
    cursor: Option<i32>,
) -> Result<Pagina, Error> {
    let c = estado.pool.get().await?;
    let filas = c
        .consulta(
            &format!(
                r#"SELECT {}, c."id", c."nombre", c."prefijo", c."empresaId"
                   FROM "Producto" p JOIN "Categoria" c ON c."id" = p."categoriaId"
                   WHERE p."empresaId" = $1
                     AND ($2::int4 IS NULL OR (p."creadoEn", p."id") <
                          (SELECT k."creadoEn", k."id" FROM "Producto" k WHERE k."id" = $2 AND k."empresaId" = $1))
                   ORDER BY p."creadoEn" DESC, p."id" DESC
                   LIMIT $3"#,
                Producto::columnas("p")
            ),
            &[(&ctx.empresa.as_str(), Type::TEXT), (&cursor, Type::INT4), (&(limite + 1), Type::INT8)],
        )
        .await?;
    let mut items: Vec<ProductoConCategoria> = filas
        .iter()
        .map(|f| ProductoConCategoria {
            producto: Producto::from_row(f, 0),
            categoria: Categoria::from_row(f, 10),
        })
        .collect();
    let mas = items.len() as i64 > limite;
    items.truncate(limite as usize);
    let next_cursor = if mas {
        items.last().map(|i| i.producto.id)
    } else {
        None
    };
    Ok(Pagina {
        total: items.len(),
        items,
        next_cursor,
    })
}

/// The prefix of a tenant category, holding `FOR KEY SHARE` until the transaction ends so the
/// category cannot be deleted under the insert or update.
async fn prefijo_de_categoria(
    tx: &impl Consulta,
    empresa: &EmpresaId,
    id: i32,
) -> Result<Option<String>, Error> {
    let filas = tx
        .consulta(
            r#"SELECT "prefijo" FROM "Categoria" WHERE "id" = $1 AND "empresaId" = $2 FOR KEY SHARE"#,
            &[(&id, Type::INT4), (&empresa.as_str(), Type::TEXT)],
        )
        .await?;
    Ok(filas.first().map(|f| f.get(0)))
}

/// §5.2. Order of checks: `nombre` → `categoriaId` → category in the tenant → `precio` →
/// `cantidad` → `stockMinimo` (the last two are Required additions). An automatic code is
/// generated under the per-(empresa, categoría) numbering lock, so concurrent creations get
/// distinct codes; the initial stock enters as an `entrada` movement in the same transaction.
pub async fn crear(estado: &Estado, ctx: &Ctx, nuevo: NuevoProducto) -> Result<Producto, Error> {
    if nuevo.nombre.is_empty() {
        return Err(Error::bad_request(NOMBRE_OBLIGATORIO));
    }
    let categoria_id = match nuevo.categoria {
        RefCategoria::Falta => return Err(Error::bad_request(CATEGORIA_OBLIGATORIA)),
        RefCategoria::Inexistente => return Err(Error::bad_request(CATEGORIA_AJENA)),
        RefCategoria::Id(id) => id,
    };
    let mut c = estado.pool.get().await?;
    let tx = db::transaccion(&mut c).await?;
    let prefijo = prefijo_de_categoria(&tx, &ctx.empresa, categoria_id)
        .await?
        .ok_or_else(|| Error::bad_request(CATEGORIA_AJENA))?;
    let precio = nuevo.precio()?;
    let cantidad = nuevo.cantidad()?;
    let stock_minimo = nuevo.stock_minimo()?;
    if nuevo.codigo.is_none() {
        bloquear_numeracion(&tx, &ctx.empresa, categoria_id).await?;
    }
    let empresa = ctx.empresa.as_str();
    let mut intento = 0;
    let mut producto = loop {
        intento += 1;
        let codigo = match &nuevo.codigo {
            Some(c) => c.clone(),
            None => siguiente_codigo(&tx, &ctx.empresa, categoria_id, &prefijo).await?,
        };
        // A savepoint lets an auto-coded insert that lost the unique index retry in the same
        // transaction; a user-supplied code is never altered and answers 409.
        tx.batch_execute("SAVEPOINT codigo").await?;
        let r = tx
            .consulta(
                &format!(
                    r#"INSERT INTO "Producto" ("nombre", "descripcion", "codigo", "precio", "cantidad", "stockMinimo", "categoriaId", "empresaId", "creadoEn")
                       VALUES ($1, $2, $3, $4, 0, $5, $6, $7, now() AT TIME ZONE 'UTC')
                       RETURNING {}"#,
                    Producto::COLUMNAS
                ),
                &[
                    (&nuevo.nombre, Type::TEXT),
                    (&nuevo.descripcion, Type::TEXT),
                    (&codigo, Type::TEXT),
                    (&precio, Type::FLOAT8),
                    (&stock_minimo, Type::INT4),
                    (&categoria_id, Type::INT4),
                    (&empresa, Type::TEXT),
                ],
            )
            .await
            .on_constraint(UNICO_CODIGO, || Error::conflict(CODIGO_EN_USO))
            .on_constraint(FK_CATEGORIA, || Error::bad_request(CATEGORIA_AJENA));
        match r {
            Ok(filas) => break Producto::from_row(&filas[0], 0),
            Err(Error::Conflict(_)) if nuevo.codigo.is_none() && intento < INTENTOS_CODIGO => {
                tx.batch_execute("ROLLBACK TO SAVEPOINT codigo").await?;
            }
            Err(e) => return Err(e),
        }
    };
    if cantidad > 0 {
        let movimiento = NuevoMovimiento {
            producto_id: producto.id,
            tipo: TipoMovimiento::Entrada,
            cantidad,
            notas: Some(NOTAS_STOCK_INICIAL),
            venta_id: None,
            orden_compra_id: None,
        };
        let (_, cambio) = aplicar_movimiento(&tx, &ctx.empresa, &movimiento)
            .await?
            .ok_or_else(|| anyhow::anyhow!("la entrada de stock inicial no se aplicó"))?;
        producto.cantidad = cambio.despues;
    }
    tx.commit().await?;
    drop(c);
    tracing::info!(producto_id = producto.id, "producto creado");
    auditoria::registrar(
        estado,
        ctx,
        Evento::nuevo(
            "CREAR",
            "Producto",
            Some(producto.id.to_string()),
            json!({ "despues": producto }),
        ),
    )
    .await;
    registrar_cambio(
        estado,
        ctx,
        Cambio {
            accion: "CREAR",
            recurso_id: producto.id,
            descripcion: format!(
                "Producto \"{}\" creado (stock inicial: {})",
                producto.nombre, producto.cantidad
            ),
            antes: None,
            despues: Some(json!({
                "nombre": producto.nombre,
                "cantidad": producto.cantidad,
                "precio": numero(producto.precio),
                "codigo": producto.codigo,
            })),
        },
    )
    .await;
    Ok(producto)
}

/// §5.3
pub async fn obtener(estado: &Estado, ctx: &Ctx, id: i32) -> Result<ProductoDetalle, Error> {
    let c = estado.pool.get().await?;
    let filas = c
        .consulta(
            r#"SELECT p."id", p."nombre", p."descripcion", p."codigo", p."precio", p."cantidad",
                      p."stockMinimo", p."creadoEn", c."id", c."nombre", c."prefijo"
               FROM "Producto" p JOIN "Categoria" c ON c."id" = p."categoriaId"
               WHERE p."id" = $1 AND p."empresaId" = $2"#,
            &[(&id, Type::INT4), (&ctx.empresa.as_str(), Type::TEXT)],
        )
        .await?;
    let f = filas
        .first()
        .ok_or_else(|| Error::not_found(NO_ENCONTRADO))?;
    Ok(ProductoDetalle {
        id: f.get(0),
        nombre: f.get(1),
        descripcion: f.get(2),
        codigo: f.get(3),
        precio: f.get(4),
        cantidad: f.get(5),
        stock_minimo: f.get(6),
        creado_en: f.get(7),
        categoria: CategoriaResumen {
            id: f.get(8),
            nombre: f.get(9),
            prefijo: f.get(10),
        },
    })
}

/// §5.4 with the lost-update fix: the row is locked and its stock re-read under the lock, the
/// "cannot reduce" rule and the delta use that value, and the requested quantity is reached by
/// an `entrada` of the delta, so a sale or exit committed just before is never overwritten.
pub async fn actualizar(
    estado: &Estado,
    ctx: &Ctx,
    id: i32,
    e: EdicionProducto,
) -> Result<Producto, Error> {
    let mut c = estado.pool.get().await?;
    let tx = db::transaccion(&mut c).await?;
    let antes = bloquear_productos(&tx, &ctx.empresa, &[id])
        .await?
        .pop()
        .ok_or_else(|| Error::not_found(NO_ENCONTRADO))?;
    if e.cantidad < antes.cantidad {
        return Err(Error::bad_request(NO_REDUCIR));
    }
    let categoria_id = match e.categoria {
        RefCategoria::Falta => return Err(Error::bad_request(CATEGORIA_OBLIGATORIA)),
        RefCategoria::Id(n) if n == antes.categoria_id => n,
        RefCategoria::Id(n) => {
            prefijo_de_categoria(&tx, &ctx.empresa, n)
                .await?
                .ok_or_else(|| Error::bad_request(CATEGORIA_INEXISTENTE))?;
            n
        }
        RefCategoria::Inexistente => return Err(Error::bad_request(CATEGORIA_INEXISTENTE)),
    };
    let empresa = ctx.empresa.as_str();
    let filas = tx
        .consulta(
            &format!(
                r#"UPDATE "Producto" SET "nombre" = $3, "codigo" = COALESCE($4, "codigo"), "descripcion" = $5,
                          "precio" = $6, "stockMinimo" = $7, "categoriaId" = $8
                   WHERE "id" = $1 AND "empresaId" = $2
                   RETURNING {}"#,
                Producto::COLUMNAS
            ),
            &[
                (&id, Type::INT4),
                (&empresa, Type::TEXT),
                (&e.nombre, Type::TEXT),
                (&e.codigo, Type::TEXT),
                (&e.descripcion, Type::TEXT),
                (&e.precio, Type::FLOAT8),
                (&e.stock_minimo, Type::INT4),
                (&categoria_id, Type::INT4),
            ],
        )
        .await
        .on_constraint(UNICO_CODIGO, || Error::conflict(CODIGO_EN_USO))
        .on_constraint(FK_CATEGORIA, || Error::bad_request(CATEGORIA_INEXISTENTE))?;
    let mut despues = Producto::from_row(&filas[0], 0);
    let delta = e.cantidad - antes.cantidad;
    if delta > 0 {
        let movimiento = NuevoMovimiento {
            producto_id: id,
            tipo: TipoMovimiento::Entrada,
            cantidad: delta,
            notas: Some(NOTAS_AJUSTE),
            venta_id: None,
            orden_compra_id: None,
        };
        let (_, cambio) = aplicar_movimiento(&tx, &ctx.empresa, &movimiento)
            .await?
            .ok_or_else(|| anyhow::anyhow!("el ajuste por edición no se aplicó"))?;
        despues.cantidad = cambio.despues;
    }
    // Exact comparison, as the reference (`!==` on the stored doubles).
    if antes.precio != e.precio {
        tx.consulta(
            r#"INSERT INTO "HistorialPrecio" ("productoId", "precioAnterior", "precioNuevo", "cambiadoPorId", "empresaId", "creadoEn")
               VALUES ($1, $2, $3, $4, $5, now() AT TIME ZONE 'UTC') RETURNING "id""#,
            &[
                (&id, Type::INT4),
                (&antes.precio, Type::FLOAT8),
                (&e.precio, Type::FLOAT8),
                (&ctx.usuario.id, Type::TEXT),
                (&empresa, Type::TEXT),
            ],
        )
        .await?;
    }
    tx.commit().await?;
    drop(c);
    auditoria::registrar(
        estado,
        ctx,
        Evento::nuevo(
            "ACTUALIZAR",
            "Producto",
            Some(id.to_string()),
            json!({ "antes": antes, "despues": despues }),
        ),
    )
    .await;
    let descripcion = if delta > 0 {
        format!(
            "Producto \"{}\" modificado: cantidad +{delta}",
            despues.nombre
        )
    } else {
        format!("Producto \"{}\" modificado", despues.nombre)
    };
    let resumen = |p: &Producto| json!({"nombre": p.nombre, "cantidad": p.cantidad, "precio": numero(p.precio)});
    registrar_cambio(
        estado,
        ctx,
        Cambio {
            accion: "MODIFICAR",
            recurso_id: id,
            descripcion,
            antes: Some(resumen(&antes)),
            despues: Some(resumen(&despues)),
        },
    )
    .await;
    Ok(despues)
}

/// The 409 of §5.5/§5.6: `n` blocked products, the first five (ascending id) named.
fn bloqueados(nombres: &[String]) -> Error {
    let n = nombres.len();
    let lista: Vec<String> = nombres.iter().take(5).map(|s| format!("\"{s}\"")).collect();
    let resto = if n > 5 {
        format!(" y {} más", n - 5)
    } else {
        String::new()
    };
    Error::conflict(format!(
        "{n} producto(s) tienen ventas o cotizaciones asociadas: {}{resto}. No se borrará nada hasta que se eliminen sus ventas/cotizaciones o uses \"Restablecer datos\".",
        lista.join(", ")
    ))
}

/// Locks the tenant's products among `ids`, refuses (409) when any is referenced by a sale line,
/// a quote line (any state) or a purchase-order line, then deletes their movements and them.
/// With the rows locked `FOR UPDATE`, a line inserted concurrently either committed before the
/// lock (and is seen by the check) or waits and then fails its own foreign-key check.
async fn borrar(
    tx: &impl Consulta,
    empresa: &EmpresaId,
    ids: &[i32],
) -> Result<Vec<Producto>, Error> {
    let productos = bloquear_productos(tx, empresa, ids).await?;
    if productos.is_empty() {
        return Ok(productos);
    }
    let encontrados: Vec<i32> = productos.iter().map(|p| p.id).collect();
    let referenciados: Vec<i32> = tx
        .consulta(
            r#"SELECT p FROM unnest($1::int4[]) AS p
               WHERE EXISTS (SELECT 1 FROM "ItemVenta" i WHERE i."productoId" = p)
                  OR EXISTS (SELECT 1 FROM "ItemCotizacion" i WHERE i."productoId" = p)
                  OR EXISTS (SELECT 1 FROM "OrdenCompraItem" i WHERE i."productoId" = p)
               ORDER BY p"#,
            &[(&encontrados, Type::INT4_ARRAY)],
        )
        .await?
        .iter()
        .map(|f| f.get(0))
        .collect();
    if !referenciados.is_empty() {
        let nombres: Vec<String> = productos
            .iter()
            .filter(|p| referenciados.contains(&p.id))
            .map(|p| p.nombre.clone())
            .collect();
        return Err(bloqueados(&nombres));
    }
    // The reference first records a `salida` of the remaining stock and then deletes every
    // movement of the product, that one included: nothing of it is observable, so it is skipped
    // (§5.5 allows it). The ids were resolved within the tenant just above.
    tx.consulta(
        r#"DELETE FROM "Movimiento" WHERE "productoId" = ANY($1) RETURNING "id""#,
        &[(&encontrados, Type::INT4_ARRAY)],
    )
    .await?;
    tx.consulta(
        r#"DELETE FROM "Producto" WHERE "empresaId" = $1 AND "id" = ANY($2) RETURNING "id""#,
        &[
            (&empresa.as_str(), Type::TEXT),
            (&encontrados, Type::INT4_ARRAY),
        ],
    )
    .await?;
    Ok(productos)
}

/// §5.5
pub async fn eliminar(estado: &Estado, ctx: &Ctx, id: i32) -> Result<(), Error> {
    let mut c = estado.pool.get().await?;
    let tx = db::transaccion(&mut c).await?;
    let producto = borrar(&tx, &ctx.empresa, &[id])
        .await?
        .pop()
        .ok_or_else(|| Error::not_found(NO_ENCONTRADO))?;
    tx.commit().await?;
    drop(c);
    auditoria::registrar(
        estado,
        ctx,
        Evento::nuevo(
            "ELIMINAR",
            "Producto",
            Some(id.to_string()),
            json!({ "antes": producto }),
        ),
    )
    .await;
    registrar_cambio(
        estado,
        ctx,
        Cambio {
            accion: "ELIMINAR",
            recurso_id: id,
            descripcion: format!(
                "Producto \"{}\" eliminado (stock final: {})",
                producto.nombre, producto.cantidad
            ),
            antes: Some(json!({"nombre": producto.nombre, "cantidad": producto.cantidad, "codigo": producto.codigo})),
            despues: None,
        },
    )
    .await;
    Ok(())
}

/// §5.6: all or nothing; returns the deleted ids ascending.
pub async fn eliminar_varios(estado: &Estado, ctx: &Ctx, ids: &[i32]) -> Result<Vec<i32>, Error> {
    let mut c = estado.pool.get().await?;
    let tx = db::transaccion(&mut c).await?;
    let productos = borrar(&tx, &ctx.empresa, ids).await?;
    if productos.is_empty() {
        return Err(Error::not_found(NINGUNO_ENCONTRADO));
    }
    tx.commit().await?;
    drop(c);
    auditoria::registrar(
        estado,
        ctx,
        Evento::nuevo(
            "ELIMINAR",
            "Producto",
            None,
            json!({
                "operacion": "BULK_DELETE",
                "cantidad": productos.len(),
                "productos": productos
                    .iter()
                    .map(|p| json!({"id": p.id, "nombre": p.nombre, "codigo": p.codigo}))
                    .collect::<Vec<_>>(),
            }),
        ),
    )
    .await;
    Ok(productos.iter().map(|p| p.id).collect())
}

/// §7.2: read-only, nothing reserved (two callers may get the same suggestion).
pub async fn sugerir_codigo(
    estado: &Estado,
    ctx: &Ctx,
    categoria: RefCategoria,
) -> Result<String, Error> {
    let id = match categoria {
        RefCategoria::Falta => return Err(Error::bad_request(FALTA_CATEGORIA)),
        RefCategoria::Inexistente => return Err(Error::not_found(CATEGORIA_NO_ENCONTRADA)),
        RefCategoria::Id(id) => id,
    };
    let c = estado.pool.get().await?;
    let filas = c
        .consulta(
            r#"SELECT "prefijo" FROM "Categoria" WHERE "id" = $1 AND "empresaId" = $2"#,
            &[(&id, Type::INT4), (&ctx.empresa.as_str(), Type::TEXT)],
        )
        .await?;
    let prefijo: String = filas
        .first()
        .map(|f| f.get(0))
        .ok_or_else(|| Error::not_found(CATEGORIA_NO_ENCONTRADA))?;
    siguiente_codigo(&**c, &ctx.empresa, id, &prefijo).await
}

/// §7.3: newest first (tie-break `id DESC`, Required), at most 50.
pub async fn historial_precios(
    estado: &Estado,
    ctx: &Ctx,
    id: i32,
) -> Result<Vec<CambioPrecio>, Error> {
    let c = estado.pool.get().await?;
    let empresa = ctx.empresa.as_str();
    let existe = c
        .consulta(
            r#"SELECT 1 FROM "Producto" WHERE "id" = $1 AND "empresaId" = $2"#,
            &[(&id, Type::INT4), (&empresa, Type::TEXT)],
        )
        .await?;
    if existe.is_empty() {
        return Err(Error::not_found(NO_ENCONTRADO));
    }
    let filas = c
        .consulta(
            r#"SELECT h."id", h."productoId", h."precioAnterior", h."precioNuevo", h."creadoEn",
                      h."cambiadoPorId", h."empresaId", u."nombre", u."email"
               FROM "HistorialPrecio" h LEFT JOIN "Usuario" u ON u."id" = h."cambiadoPorId"
               WHERE h."productoId" = $1 AND h."empresaId" = $2
               ORDER BY h."creadoEn" DESC, h."id" DESC
               LIMIT $3"#,
            &[
                (&id, Type::INT4),
                (&empresa, Type::TEXT),
                (&MAX_HISTORIAL, Type::INT8),
            ],
        )
        .await?;
    Ok(filas
        .iter()
        .map(|f| {
            let nombre: Option<String> = f.get(7);
            let email: Option<String> = f.get(8);
            CambioPrecio {
                id: f.get(0),
                producto_id: f.get(1),
                precio_anterior: f.get(2),
                precio_nuevo: f.get(3),
                creado_en: f.get(4),
                cambiado_por_id: f.get(5),
                empresa_id: f.get(6),
                cambiado_por: nombre
                    .zip(email)
                    .map(|(nombre, email)| Autor { nombre, email }),
            }
        })
        .collect())
}

/// A `"HistorialMovimientos"` row (catalog.md §1.8).
struct Cambio {
    accion: &'static str,
    recurso_id: i32,
    descripcion: String,
    antes: Option<Value>,
    despues: Option<Value>,
}

/// After the commit, best-effort (§1.8 Required): a failure is logged and the response kept,
/// so a client never retries a creation that did happen.
async fn registrar_cambio(estado: &Estado, ctx: &Ctx, cambio: Cambio) {
    let ip = ctx.ip.as_deref().unwrap_or("0.0.0.0");
    let antes = cambio.antes.as_ref().map(tokio_postgres::types::Json);
    let despues = cambio.despues.as_ref().map(tokio_postgres::types::Json);
    let r = match estado.pool.get().await {
        Ok(c) => c
            .consulta(
                r#"INSERT INTO "HistorialMovimientos" ("usuarioId", "accion", "recursoId", "descripcion", "datosAntes", "datosDespues", "ip", "empresaId", "creadoEn")
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now() AT TIME ZONE 'UTC') RETURNING "id""#,
                &[
                    (&ctx.usuario.id, Type::TEXT),
                    (&cambio.accion, Type::TEXT),
                    (&cambio.recurso_id, Type::INT4),
                    (&cambio.descripcion, Type::TEXT),
                    (&antes, Type::JSONB),
                    (&despues, Type::JSONB),
                    (&ip, Type::TEXT),
                    (&ctx.empresa.as_str(), Type::TEXT),
                ],
            )
            .await
            .map(|_| ())
            .map_err(anyhow::Error::from),
        Err(e) => Err(e.into()),
    };
    if let Err(e) = r {
        tracing::warn!(
            error.message = %e,
            accion = cambio.accion,
            producto_id = cambio.recurso_id,
            "historial de cambios no registrado"
        );
    }
}
