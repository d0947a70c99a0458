//! Purchase-order rules of purchasing.md §5. Every statement filters on the tenant.
//!
//! Lock order (the one of `shared::stock`): the document row first — the supplier row
//! (`FOR KEY SHARE`) for a create, the order row for a receipt or a cancel — then the products
//! ascending by id. A create takes `FOR KEY SHARE` on its products before inserting lines, so
//! the lines' foreign-key checks never take locks in request order. Receipt flips
//! `BORRADOR → RECIBIDA` with a conditional UPDATE, so of two concurrent receipts (or a receipt
//! and a cancel) exactly one proceeds and the other gets its 409 (§9 #1, #2).

use chrono::NaiveDateTime;
use deadpool_postgres::Pool;
use serde::Serialize;
use serde_json::{Value, json};
use shared::auditoria::{self, Evento};
use shared::db::{self, Consulta, Type};
use shared::json::{ser_fecha, ser_fecha_opt, ser_numero};
use shared::proveedor::Proveedor;
use shared::stock::{self, NuevoMovimiento, TipoMovimiento};
use shared::{Ctx, Error, Estado, ResultExt, dinero};
use tokio_postgres::error::SqlState;

use crate::entrada::{self, Linea};

pub const NO_ENCONTRADA: &str = "Orden de compra no encontrada";
pub const PROVEEDOR_NO_ENCONTRADO: &str = "Proveedor no encontrado";
pub const PRODUCTO_NO_ENCONTRADO: &str = "Producto no encontrado o no pertenece a la empresa";
const YA_PROCESADA: &str = "La orden ya fue recibida o cancelada";
const SOLO_BORRADOR: &str = "Solo se pueden cancelar órdenes en borrador";
/// §5.1: at most 200 rows, no pagination (§1.5).
const LIMITE_LISTA: i64 = 200;
const IP_DEFECTO: Option<&str> = Some("127.0.0.1");

/// `"OrdenCompra"` scalars (§2).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrdenCompra {
    pub id: i32,
    pub proveedor_id: i32,
    pub estado: String,
    #[serde(serialize_with = "ser_numero")]
    pub total: f64,
    pub notas: Option<String>,
    #[serde(serialize_with = "ser_fecha")]
    pub creado_en: NaiveDateTime,
    #[serde(serialize_with = "ser_fecha_opt")]
    pub recibida_en: Option<NaiveDateTime>,
    pub empresa_id: String,
}

impl OrdenCompra {
    const COLUMNAS: &'static str = r#""id", "proveedorId", "estado"::text, "total", "notas", "creadoEn", "recibidaEn", "empresaId""#;

    fn columnas(alias: &str) -> String {
        Self::COLUMNAS
            .split(", ")
            .map(|c| format!("{alias}.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn from_row(f: &tokio_postgres::Row, base: usize) -> Self {
        Self {
            id: f.get(base),
            proveedor_id: f.get(base + 1),
            estado: f.get(base + 2),
            total: f.get(base + 3),
            notas: f.get(base + 4),
            creado_en: f.get(base + 5),
            recibida_en: f.get(base + 6),
            empresa_id: f.get(base + 7),
        }
    }
}

/// `"OrdenCompraItem"` scalars.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    pub id: i32,
    pub orden_compra_id: i32,
    pub producto_id: i32,
    pub cantidad: i32,
    #[serde(serialize_with = "ser_numero")]
    pub costo_unitario: f64,
    #[serde(serialize_with = "ser_numero")]
    pub subtotal: f64,
}

impl Item {
    const COLUMNAS: &'static str =
        r#""id", "ordenCompraId", "productoId", "cantidad", "costoUnitario", "subtotal""#;

    fn from_row(f: &tokio_postgres::Row, base: usize) -> Self {
        Self {
            id: f.get(base),
            orden_compra_id: f.get(base + 1),
            producto_id: f.get(base + 2),
            cantidad: f.get(base + 3),
            costo_unitario: f.get(base + 4),
            subtotal: f.get(base + 5),
        }
    }
}

#[derive(Serialize)]
pub struct NombreProveedor {
    pub nombre: String,
}

#[derive(Serialize)]
pub struct ConteoItems {
    pub items: i64,
}

/// A row of §5.1.
#[derive(Serialize)]
pub struct OrdenEnLista {
    #[serde(flatten)]
    pub orden: OrdenCompra,
    pub proveedor: NombreProveedor,
    #[serde(rename = "_count")]
    pub count: ConteoItems,
}

/// The supplier of §5.3 (no `activo`, `creadoEn`, `empresaId`).
#[derive(Clone, Debug, Serialize)]
pub struct ProveedorDeOrden {
    pub id: i32,
    pub nombre: String,
    pub nit: Option<String>,
    pub telefono: Option<String>,
    pub contacto: Option<String>,
    pub direccion: Option<String>,
    pub email: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ProductoDeItem {
    pub nombre: String,
    pub codigo: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ItemConProducto {
    #[serde(flatten)]
    pub item: Item,
    pub producto: Option<ProductoDeItem>,
}

/// §5.3 (and the PDF's data, §6.1).
#[derive(Clone, Debug, Serialize)]
pub struct Detalle {
    #[serde(flatten)]
    pub orden: OrdenCompra,
    pub proveedor: Option<ProveedorDeOrden>,
    pub items: Vec<ItemConProducto>,
}

/// §5.2's 201: scalars, items and the full supplier.
#[derive(Serialize)]
pub struct Creada {
    #[serde(flatten)]
    pub orden: OrdenCompra,
    pub items: Vec<Item>,
    pub proveedor: Proveedor,
}

/// §5.4's 200 and the receipt's result.
#[derive(Serialize)]
pub struct ConItems {
    #[serde(flatten)]
    pub orden: OrdenCompra,
    pub items: Vec<Item>,
}

fn evento(id: i32, accion: &'static str, datos: Value) -> Evento<'static> {
    Evento {
        ip_defecto: IP_DEFECTO,
        ..Evento::nuevo(accion, "OrdenCompra", Some(id.to_string()), datos)
    }
}

/// §5.1: newest first (`creadoEn` desc, then id desc), with the supplier's name and item count.
pub async fn listar(pool: &Pool, ctx: &Ctx) -> Result<Vec<OrdenEnLista>, Error> {
    let c = pool.get().await?;
    let filas = c
        .consulta(
            &format!(
                r#"SELECT {}, pr."nombre",
                          (SELECT count(*) FROM "OrdenCompraItem" i WHERE i."ordenCompraId" = o."id")
                   FROM "OrdenCompra" o JOIN "Proveedor" pr ON pr."id" = o."proveedorId"
                   WHERE o."empresaId" = $1
                   ORDER BY o."creadoEn" DESC, o."id" DESC LIMIT $2"#,
                OrdenCompra::columnas("o")
            ),
            &[
                (&ctx.empresa.as_str(), Type::TEXT),
                (&LIMITE_LISTA, Type::INT8),
            ],
        )
        .await?;
    Ok(filas
        .iter()
        .map(|f| OrdenEnLista {
            orden: OrdenCompra::from_row(f, 0),
            proveedor: NombreProveedor { nombre: f.get(8) },
            count: ConteoItems { items: f.get(9) },
        })
        .collect())
}

/// §5.3: the order, its supplier and its items (id order) with product name and code; two
/// statements pipelined on one connection.
pub async fn obtener(pool: &Pool, ctx: &Ctx, id: i32) -> Result<Detalle, Error> {
    let empresa = ctx.empresa.as_str();
    let c = pool.get().await?;
    let sql_orden = format!(
        r#"SELECT {}, pr."id", pr."nombre", pr."nit", pr."telefono", pr."contacto", pr."direccion", pr."email"
           FROM "OrdenCompra" o LEFT JOIN "Proveedor" pr ON pr."id" = o."proveedorId"
           WHERE o."id" = $1 AND o."empresaId" = $2"#,
        OrdenCompra::columnas("o")
    );
    let sql_items = format!(
        r#"SELECT {}, p."nombre", p."codigo"
           FROM "OrdenCompraItem" i
           JOIN "OrdenCompra" o ON o."id" = i."ordenCompraId"
           LEFT JOIN "Producto" p ON p."id" = i."productoId" AND p."empresaId" = o."empresaId"
           WHERE i."ordenCompraId" = $1 AND o."empresaId" = $2
           ORDER BY i."id""#,
        Item::COLUMNAS
            .split(", ")
            .map(|c| format!("i.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let params: &[(&(dyn tokio_postgres::types::ToSql + Sync), Type)] =
        &[(&id, Type::INT4), (&empresa, Type::TEXT)];
    let (orden, items) = tokio::try_join!(
        c.consulta(&sql_orden, params),
        c.consulta(&sql_items, params)
    )?;
    let f = orden
        .first()
        .ok_or_else(|| Error::not_found(NO_ENCONTRADA))?;
    let proveedor = f.get::<_, Option<i32>>(8).map(|pid| ProveedorDeOrden {
        id: pid,
        nombre: f.get(9),
        nit: f.get(10),
        telefono: f.get(11),
        contacto: f.get(12),
        direccion: f.get(13),
        email: f.get(14),
    });
    Ok(Detalle {
        orden: OrdenCompra::from_row(f, 0),
        proveedor,
        items: items
            .iter()
            .map(|f| ItemConProducto {
                item: Item::from_row(f, 0),
                producto: f.get::<_, Option<String>>(6).map(|nombre| ProductoDeItem {
                    nombre,
                    codigo: f.get(7),
                }),
            })
            .collect(),
    })
}

/// §5.2 / §7.2: validation in the spec's order, then one transaction (supplier `FOR KEY SHARE`,
/// products `FOR KEY SHARE` ascending, order and lines), audit after the commit. `notas_forzadas`
/// replaces the body's `notas` (§7.2).
pub async fn crear(
    estado: &Estado,
    ctx: &Ctx,
    cuerpo: &Value,
    notas_forzadas: Option<&str>,
) -> Result<Creada, Error> {
    let proveedor_id = entrada::proveedor_id(cuerpo)?;
    let notas = match notas_forzadas {
        Some(n) => Some(n.to_string()),
        None => entrada::notas(cuerpo),
    };
    let creada = db::reintentar_una_vez(|| {
        crear_en_transaccion(estado, ctx, proveedor_id, cuerpo, notas.as_deref())
    })
    .await?;
    let datos = json!({ "despues": &creada });
    auditoria::registrar(estado, ctx, evento(creada.orden.id, "CREAR", datos)).await;
    Ok(creada)
}

async fn crear_en_transaccion(
    estado: &Estado,
    ctx: &Ctx,
    proveedor_id: Option<i32>,
    cuerpo: &Value,
    notas: Option<&str>,
) -> Result<Creada, Error> {
    let empresa = ctx.empresa.as_str();
    let no_proveedor = || Error::not_found(PROVEEDOR_NO_ENCONTRADO);
    let no_producto = || Error::not_found(PRODUCTO_NO_ENCONTRADO);
    let mut c = estado.pool.get().await?;
    let tx = db::transaccion(&mut c).await?;
    let proveedor_id = proveedor_id.ok_or_else(no_proveedor)?;
    // Inactive suppliers are accepted (§5.2).
    let proveedor = tx
        .consulta(
            &format!(
                r#"SELECT {} FROM "Proveedor" WHERE "id" = $1 AND "empresaId" = $2 FOR KEY SHARE"#,
                Proveedor::COLUMNAS
            ),
            &[(&proveedor_id, Type::INT4), (&empresa, Type::TEXT)],
        )
        .await?
        .first()
        .map(|f| Proveedor::from_row(f, 0))
        .ok_or_else(no_proveedor)?;
    let (lineas, total) = entrada::lineas(cuerpo)?;
    let mut ids = Vec::with_capacity(lineas.len());
    for l in &lineas {
        ids.push(entrada::id_de_fila(l.producto_id).ok_or_else(no_producto)?);
    }
    let mut distintos = ids.clone();
    distintos.sort_unstable();
    distintos.dedup();
    let encontrados = tx
        .consulta(
            r#"SELECT "id" FROM "Producto" WHERE "empresaId" = $1 AND "id" = ANY($2)
               ORDER BY "id" FOR KEY SHARE"#,
            &[(&empresa, Type::TEXT), (&distintos, Type::INT4_ARRAY)],
        )
        .await?;
    if encontrados.len() != distintos.len() {
        return Err(no_producto());
    }
    let total = dinero::a_f64(total);
    let fila = tx
        .consulta(
            &format!(
                r#"INSERT INTO "OrdenCompra" ("proveedorId", "estado", "total", "notas", "creadoEn", "recibidaEn", "empresaId")
                   VALUES ($1, 'BORRADOR', $2, $3, now() AT TIME ZONE 'UTC', NULL, $4)
                   RETURNING {}"#,
                OrdenCompra::COLUMNAS
            ),
            &[
                (&proveedor_id, Type::INT4),
                (&total, Type::FLOAT8),
                (&notas, Type::TEXT),
                (&empresa, Type::TEXT),
            ],
        )
        .await
        .on_sqlstate(&SqlState::FOREIGN_KEY_VIOLATION, no_proveedor)?;
    let orden = OrdenCompra::from_row(&fila[0], 0);
    let items = insertar_lineas(&tx, orden.id, &ids, &lineas)
        .await
        .on_sqlstate(&SqlState::FOREIGN_KEY_VIOLATION, no_producto)?;
    tx.commit().await?;
    Ok(Creada {
        orden,
        items,
        proveedor,
    })
}

/// The lines in request order, one statement (ids follow `WITH ORDINALITY`).
async fn insertar_lineas(
    tx: &impl Consulta,
    orden_id: i32,
    ids: &[i32],
    lineas: &[Linea],
) -> Result<Vec<Item>, Error> {
    let cantidades: Vec<i32> = lineas.iter().map(|l| l.cantidad).collect();
    let costos: Vec<f64> = lineas.iter().map(|l| l.costo_unitario).collect();
    let subtotales: Vec<f64> = lineas
        .iter()
        .map(|l: &Linea| dinero::a_f64(l.subtotal))
        .collect();
    let filas = tx
        .consulta(
            &format!(
                r#"INSERT INTO "OrdenCompraItem" ("ordenCompraId", "productoId", "cantidad", "costoUnitario", "subtotal")
                   SELECT $1, t.p, t.c, t.u, t.s
                   FROM unnest($2::int4[], $3::int4[], $4::float8[], $5::float8[])
                        WITH ORDINALITY AS t(p, c, u, s, n)
                   ORDER BY t.n
                   RETURNING {}"#,
                Item::COLUMNAS
            ),
            &[
                (&orden_id, Type::INT4),
                (&ids, Type::INT4_ARRAY),
                (&cantidades, Type::INT4_ARRAY),
                (&costos, Type::FLOAT8_ARRAY),
                (&subtotales, Type::FLOAT8_ARRAY),
            ],
        )
        .await?;
    let mut items: Vec<Item> = filas.iter().map(|f| Item::from_row(f, 0)).collect();
    items.sort_by_key(|i| i.id);
    Ok(items)
}

/// §5.4: one transaction — flip the state (the order row lock), lock the products, one entrada
/// per item in id order, the audit row with the acting admin (§9 #4) — retried once on a deadlock.
pub async fn recibir(estado: &Estado, ctx: &Ctx, id: i32) -> Result<ConItems, Error> {
    db::reintentar_una_vez(|| recibir_en_transaccion(estado, ctx, id)).await
}

async fn recibir_en_transaccion(estado: &Estado, ctx: &Ctx, id: i32) -> Result<ConItems, Error> {
    let empresa = ctx.empresa.as_str();
    let mut c = estado.pool.get().await?;
    let tx = db::transaccion(&mut c).await?;
    let filas = tx
        .consulta(
            &format!(
                r#"UPDATE "OrdenCompra" SET "estado" = 'RECIBIDA', "recibidaEn" = now() AT TIME ZONE 'UTC'
                   WHERE "id" = $1 AND "empresaId" = $2 AND "estado" = 'BORRADOR'
                   RETURNING {}"#,
                OrdenCompra::COLUMNAS
            ),
            &[(&id, Type::INT4), (&empresa, Type::TEXT)],
        )
        .await?;
    let Some(f) = filas.first() else {
        return Err(sin_borrador(&tx, ctx, id, YA_PROCESADA).await);
    };
    let orden = OrdenCompra::from_row(f, 0);
    let items: Vec<Item> = tx
        .consulta(
            &format!(
                r#"SELECT {} FROM "OrdenCompraItem" WHERE "ordenCompraId" = $1 ORDER BY "id""#,
                Item::COLUMNAS
            ),
            &[(&id, Type::INT4)],
        )
        .await?
        .iter()
        .map(|f| Item::from_row(f, 0))
        .collect();
    let ids: Vec<i32> = items.iter().map(|i| i.producto_id).collect();
    stock::bloquear_productos(&tx, &ctx.empresa, &ids).await?;
    let notas = format!("Orden de compra #{id}");
    for item in &items {
        let m = NuevoMovimiento {
            producto_id: item.producto_id,
            tipo: TipoMovimiento::Entrada,
            cantidad: item.cantidad,
            notas: Some(&notas),
            venta_id: None,
            orden_compra_id: Some(id),
        };
        if stock::aplicar_movimiento(&tx, &ctx.empresa, &m)
            .await?
            .is_none()
        {
            return Err(Error::Interno(anyhow::anyhow!(
                "producto {} de la orden {id} no encontrado",
                item.producto_id
            )));
        }
    }
    auditoria::registrar_en(
        &tx,
        ctx,
        &evento(id, "ACTUALIZAR", json!({ "recibida": true })),
    )
    .await?;
    tx.commit().await?;
    Ok(ConItems { orden, items })
}

/// The answer when the conditional update found no draft: 404 when the order is not the
/// tenant's, else the endpoint's 409.
async fn sin_borrador(tx: &impl Consulta, ctx: &Ctx, id: i32, conflicto: &'static str) -> Error {
    match tx
        .consulta(
            r#"SELECT 1 FROM "OrdenCompra" WHERE "id" = $1 AND "empresaId" = $2"#,
            &[(&id, Type::INT4), (&ctx.empresa.as_str(), Type::TEXT)],
        )
        .await
    {
        Ok(f) if f.is_empty() => Error::not_found(NO_ENCONTRADA),
        Ok(_) => Error::conflict(conflicto),
        Err(e) => e.into(),
    }
}

/// §5.5: row lock (404 first), conditional update (409), audit `{antes, despues}` after commit.
pub async fn cancelar(estado: &Estado, ctx: &Ctx, id: i32) -> Result<OrdenCompra, Error> {
    let empresa = ctx.empresa.as_str();
    let mut c = estado.pool.get().await?;
    let tx = db::transaccion(&mut c).await?;
    let antes = tx
        .consulta(
            &format!(
                r#"SELECT {} FROM "OrdenCompra" WHERE "id" = $1 AND "empresaId" = $2 FOR UPDATE"#,
                OrdenCompra::COLUMNAS
            ),
            &[(&id, Type::INT4), (&empresa, Type::TEXT)],
        )
        .await?
        .first()
        .map(|f| OrdenCompra::from_row(f, 0))
        .ok_or_else(|| Error::not_found(NO_ENCONTRADA))?;
    let filas = tx
        .consulta(
            &format!(
                r#"UPDATE "OrdenCompra" SET "estado" = 'CANCELADA'
                   WHERE "id" = $1 AND "empresaId" = $2 AND "estado" = 'BORRADOR'
                   RETURNING {}"#,
                OrdenCompra::COLUMNAS
            ),
            &[(&id, Type::INT4), (&empresa, Type::TEXT)],
        )
        .await?;
    let despues = filas
        .first()
        .map(|f| OrdenCompra::from_row(f, 0))
        .ok_or_else(|| Error::conflict(SOLO_BORRADOR))?;
    tx.commit().await?;
    auditoria::registrar(
        estado,
        ctx,
        evento(
            id,
            "ACTUALIZAR",
            json!({ "antes": antes, "despues": &despues }),
        ),
    )
    .await;
    Ok(despues)
}
