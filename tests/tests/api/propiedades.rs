//! Property test of the stock invariants (sales.md §1.7, §3, §4.2–§4.7; movimientos.md §2.2,
//! §5.3, §7): random mixes of sales, quotes, conversions, quote and sale cancels and manual
//! movements on 2–4 products, run in 2–4 lanes at once against the real handlers. Afterwards
//! every product's stock is ≥ 0 and equals both its ledger (`Σ entradas − Σ salidas`) and the
//! client's own account of the requests that succeeded; reservations never exceed physical
//! stock; a converted quote has exactly one sale, a cancelled sale was restocked exactly once,
//! and every answer was one the spec documents for that request (never a 5xx).
//!
//! proptest drives the async cases through its `TestRunner`, each case on a fresh `spawn_app()`
//! inside one tokio runtime. `PROPTEST_CASES` overrides the number of cases (default 14).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use futures::future::join_all;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};
use tests::{App, Res, spawn_app};

const CASOS: u32 = 14;

const STOCK_INSUFICIENTE: &str = "Stock insuficiente para \"";
const COTIZACION_NO_ENCONTRADA: &str = "Cotización no encontrada.";
const COTIZACION_YA_CANCELADA: &str = "La cotización ya está cancelada.";
const COTIZACION_YA_CONVERTIDA: &str = "La cotización ya está convertida.";
const CANCELAR_CONVERTIDA: &str =
    "No se puede cancelar una cotización ya convertida. Cancela la venta resultante.";
const VENTA_NO_ENCONTRADA: &str = "Venta no encontrada.";
const VENTA_YA_CANCELADA: &str = "Esta venta ya fue cancelada.";
/// Only when a sale made just before midnight in Bogotá is cancelled just after it.
const OTRO_DIA: &str = "Solo se pueden cancelar ventas registradas el mismo día calendario.";
/// An id no case ever reaches: the target of a cancel or conversion issued before any
/// sale or quote exists.
const ID_INEXISTENTE: i32 = 2_000_000_000;

/// One request. Product indexes are taken modulo the case's number of products; `Index`
/// picks among the sales or quotes created so far (by any lane) when the request is sent.
#[derive(Clone, Debug)]
enum Op {
    Venta(Vec<(usize, i32)>),
    Cotizacion(Vec<(usize, i32)>),
    Convertir(Index),
    CancelarCotizacion(Index),
    CancelarVenta(Index),
    Entrada(usize, i32),
    Salida(usize, i32),
}

#[derive(Clone, Debug)]
struct Caso {
    stock_inicial: Vec<i32>,
    carriles: Vec<Vec<Op>>,
}

fn lineas() -> impl Strategy<Value = Vec<(usize, i32)>> {
    // Up to three lines, a product may repeat (the endpoints consolidate it).
    vec((0..4usize, 1..=5i32), 1..=3)
}

fn operacion() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => lineas().prop_map(Op::Venta),
        3 => lineas().prop_map(Op::Cotizacion),
        3 => any::<Index>().prop_map(Op::Convertir),
        1 => any::<Index>().prop_map(Op::CancelarCotizacion),
        2 => any::<Index>().prop_map(Op::CancelarVenta),
        2 => (0..4usize, 1..=6i32).prop_map(|(p, n)| Op::Entrada(p, n)),
        1 => (0..4usize, 1..=6i32).prop_map(|(p, n)| Op::Salida(p, n)),
    ]
}

fn caso() -> impl Strategy<Value = Caso> {
    (vec(0..=20i32, 2..=4), vec(vec(operacion(), 4..=10), 2..=4)).prop_map(
        |(stock_inicial, carriles)| Caso {
            stock_inicial,
            carriles,
        },
    )
}

/// A sale or quote that was created: its id and its consolidated lines (product index →
/// units).
#[derive(Clone, Debug)]
struct Documento {
    id: i32,
    lineas: BTreeMap<usize, i64>,
}

fn consolidar(lineas: &[(usize, i32)], n: usize) -> BTreeMap<usize, i64> {
    let mut m = BTreeMap::new();
    for (p, c) in lineas {
        *m.entry(p % n).or_insert(0) += i64::from(*c);
    }
    m
}

/// What the lanes saw, shared between them (the lock is never held across an await).
#[derive(Default)]
struct Libro {
    cotizaciones: Vec<Documento>,
    ventas: Vec<Documento>,
    /// Stock change per product index implied by the successful requests.
    delta: Vec<i64>,
    /// 2xx answers per quote id / sale id.
    convertidas: HashMap<i32, u32>,
    cotizaciones_canceladas: HashMap<i32, u32>,
    ventas_canceladas: HashMap<i32, u32>,
    /// Quote id → the sale id its conversion answered.
    venta_de_cotizacion: HashMap<i32, i32>,
    ventas_directas: i64,
    /// `(request, status)` → count, printed per case so the mix can be seen.
    resumen: BTreeMap<(&'static str, u16), u32>,
    fallos: Vec<String>,
}

impl Libro {
    fn elegir(documentos: &[Documento], i: &Index) -> Option<Documento> {
        (!documentos.is_empty()).then(|| documentos[i.index(documentos.len())].clone())
    }

    /// Records the answer and checks it against the statuses (and message prefixes) the spec
    /// documents for this request. Returns whether it was the success status.
    fn exigir(
        &mut self,
        que: &'static str,
        detalle: &str,
        r: &Res,
        exito: u16,
        errores: &[(u16, &str)],
    ) -> bool {
        *self.resumen.entry((que, r.status)).or_insert(0) += 1;
        if r.status == exito {
            return true;
        }
        let mensaje = r.error().unwrap_or("");
        if !errores
            .iter()
            .any(|(s, m)| *s == r.status && mensaje.starts_with(m))
        {
            self.fallos
                .push(format!("{que} {detalle}: {} {}", r.status, r.texto));
        }
        false
    }
}

fn items(lineas: &[(usize, i32)], productos: &[i32]) -> Value {
    json!(
        lineas
            .iter()
            .map(|(p, c)| json!({"productoId": productos[p % productos.len()], "cantidad": c}))
            .collect::<Vec<_>>()
    )
}

fn id_de(v: &Value) -> i32 {
    v.as_i64().and_then(|i| i32::try_from(i).ok()).unwrap_or(0)
}

async fn carril(app: &App, cookie: &str, productos: &[i32], ops: &[Op], libro: &Mutex<Libro>) {
    let n = productos.len();
    for op in ops {
        match op {
            Op::Venta(l) => {
                let r = app
                    .post("/api/ventas")
                    .cookie(cookie)
                    .json(json!({"items": items(l, productos)}))
                    .send()
                    .await;
                let mut lb = libro.lock().unwrap();
                let detalle = format!("{l:?}");
                if lb.exigir("venta", &detalle, &r, 201, &[(400, STOCK_INSUFICIENTE)]) {
                    let lineas = consolidar(l, n);
                    for (p, c) in &lineas {
                        lb.delta[*p] -= c;
                    }
                    lb.ventas_directas += 1;
                    lb.ventas.push(Documento {
                        id: id_de(&r.body["id"]),
                        lineas,
                    });
                }
            }
            Op::Cotizacion(l) => {
                let r = app
                    .post("/api/cotizaciones")
                    .cookie(cookie)
                    .json(json!({"items": items(l, productos), "diasValidez": 7}))
                    .send()
                    .await;
                let mut lb = libro.lock().unwrap();
                let detalle = format!("{l:?}");
                if lb.exigir(
                    "cotizacion",
                    &detalle,
                    &r,
                    201,
                    &[(400, STOCK_INSUFICIENTE)],
                ) {
                    lb.cotizaciones.push(Documento {
                        id: id_de(&r.body["id"]),
                        lineas: consolidar(l, n),
                    });
                }
            }
            Op::Convertir(i) => {
                let objetivo = Libro::elegir(&libro.lock().unwrap().cotizaciones, i);
                let id = objetivo.as_ref().map_or(ID_INEXISTENTE, |d| d.id);
                let r = app
                    .post(&format!("/api/cotizaciones/{id}/convertir"))
                    .cookie(cookie)
                    .send()
                    .await;
                let mut lb = libro.lock().unwrap();
                // A physical-stock 400 cannot happen here: reservations never exceed stock.
                let errores: &[(u16, &str)] = match objetivo {
                    Some(_) => &[
                        (409, COTIZACION_YA_CONVERTIDA),
                        (409, COTIZACION_YA_CANCELADA),
                    ],
                    None => &[(404, COTIZACION_NO_ENCONTRADA)],
                };
                if lb.exigir("convertir", &format!("#{id}"), &r, 200, errores)
                    && let Some(d) = objetivo
                {
                    let venta = id_de(&r.body["venta"]["id"]);
                    *lb.convertidas.entry(d.id).or_insert(0) += 1;
                    lb.venta_de_cotizacion.insert(d.id, venta);
                    for (p, c) in &d.lineas {
                        lb.delta[*p] -= c;
                    }
                    lb.ventas.push(Documento {
                        id: venta,
                        lineas: d.lineas,
                    });
                }
            }
            Op::CancelarCotizacion(i) => {
                let objetivo = Libro::elegir(&libro.lock().unwrap().cotizaciones, i);
                let id = objetivo.as_ref().map_or(ID_INEXISTENTE, |d| d.id);
                let r = app
                    .post(&format!("/api/cotizaciones/{id}/cancelar"))
                    .cookie(cookie)
                    .json(json!({"motivo": "prueba de propiedades"}))
                    .send()
                    .await;
                let mut lb = libro.lock().unwrap();
                let errores: &[(u16, &str)] = match objetivo {
                    Some(_) => &[(409, COTIZACION_YA_CANCELADA), (409, CANCELAR_CONVERTIDA)],
                    None => &[(404, COTIZACION_NO_ENCONTRADA)],
                };
                if lb.exigir("cancelar_cotizacion", &format!("#{id}"), &r, 200, errores)
                    && let Some(d) = objetivo
                {
                    *lb.cotizaciones_canceladas.entry(d.id).or_insert(0) += 1;
                }
            }
            Op::CancelarVenta(i) => {
                let objetivo = Libro::elegir(&libro.lock().unwrap().ventas, i);
                let id = objetivo.as_ref().map_or(ID_INEXISTENTE, |d| d.id);
                let r = app
                    .post(&format!("/api/ventas/{id}/cancelar"))
                    .cookie(cookie)
                    .json(json!({"motivo": "prueba de propiedades"}))
                    .send()
                    .await;
                let mut lb = libro.lock().unwrap();
                let errores: &[(u16, &str)] = match objetivo {
                    Some(_) => &[(409, VENTA_YA_CANCELADA), (400, OTRO_DIA)],
                    None => &[(404, VENTA_NO_ENCONTRADA)],
                };
                if lb.exigir("cancelar_venta", &format!("#{id}"), &r, 200, errores)
                    && let Some(d) = objetivo
                {
                    *lb.ventas_canceladas.entry(d.id).or_insert(0) += 1;
                    for (p, c) in &d.lineas {
                        lb.delta[*p] += c;
                    }
                }
            }
            Op::Entrada(p, c) | Op::Salida(p, c) => {
                let tipo = if matches!(op, Op::Entrada(..)) {
                    "entrada"
                } else {
                    "salida"
                };
                let r = app
                    .post("/api/movimientos")
                    .cookie(cookie)
                    .json(json!({"tipo": tipo, "productoId": productos[p % n], "cantidad": c}))
                    .send()
                    .await;
                let mut lb = libro.lock().unwrap();
                let errores: &[(u16, &str)] = match tipo {
                    "entrada" => &[],
                    _ => &[(400, STOCK_INSUFICIENTE)],
                };
                if lb.exigir(tipo, &format!("{p}×{c}"), &r, 201, errores) {
                    lb.delta[p % n] += if tipo == "entrada" {
                        i64::from(*c)
                    } else {
                        -i64::from(*c)
                    };
                }
            }
        }
    }
}

/// `Σ cantidad` of rows grouped by product id, from a query returning `(productoId, sum)`.
async fn por_producto(app: &App, sql: &str, id: i32) -> BTreeMap<i32, i64> {
    app.pg
        .query(sql, &[&id])
        .await
        .unwrap()
        .iter()
        .map(|f| (f.get(0), f.get(1)))
        .collect()
}

fn por_id(d: &Documento, productos: &[i32]) -> BTreeMap<i32, i64> {
    d.lineas.iter().map(|(p, c)| (productos[*p], *c)).collect()
}

async fn ejecutar(caso: Caso) -> Result<(), TestCaseError> {
    let app = spawn_app().await;
    let e = app.empresa().await;
    let cat = app.categoria(&e, "General", "GEN").await;
    let mut cookies = Vec::new();
    for _ in &caso.carriles {
        cookies.push(app.admin(&e).await.1);
    }
    // Initial stock through the API: POST /api/productos writes the `Stock inicial` entrada.
    let mut productos = Vec::new();
    for (i, s) in caso.stock_inicial.iter().enumerate() {
        let r = app
            .post("/api/productos")
            .cookie(&cookies[0])
            .json(json!({"nombre": format!("Producto {i}"), "categoriaId": cat, "precio": 1000, "cantidad": s}))
            .send()
            .await;
        prop_assert_eq!(r.status, 201, "{}", r.texto);
        productos.push(id_de(&r.body["id"]));
    }
    let n = productos.len();

    let libro = Mutex::new(Libro {
        delta: vec![0; n],
        ..Libro::default()
    });
    join_all(
        caso.carriles
            .iter()
            .zip(&cookies)
            .map(|(ops, c)| carril(&app, c, &productos, ops, &libro)),
    )
    .await;
    let libro = libro.into_inner().unwrap();
    eprintln!(
        "propiedades: {} productos, {} carriles: {:?}",
        n,
        caso.carriles.len(),
        libro.resumen
    );
    prop_assert!(
        libro.fallos.is_empty(),
        "respuestas no documentadas: {:#?}",
        libro.fallos
    );

    // Per product: stock ≥ 0, = ledger, = initial + what the client saw succeed, ≥ reserved.
    for (i, &id) in productos.iter().enumerate() {
        let f = app
            .pg
            .query_one(
                r#"SELECT p."cantidad",
                     (SELECT coalesce(sum(CASE m."tipo"::text WHEN 'entrada' THEN m."cantidad" ELSE -m."cantidad" END), 0)::int8
                        FROM "Movimiento" m WHERE m."productoId" = p."id"),
                     (SELECT coalesce(sum(ic."cantidad"), 0)::int8
                        FROM "ItemCotizacion" ic JOIN "Cotizacion" c ON c."id" = ic."cotizacionId"
                       WHERE ic."productoId" = p."id" AND c."estado" = 'PENDIENTE'
                         AND c."validaHasta" > (now() AT TIME ZONE 'UTC'))
                   FROM "Producto" p WHERE p."id" = $1"#,
                &[&id],
            )
            .await
            .unwrap();
        let (cantidad, libro_mayor, reservado): (i32, i64, i64) = (f.get(0), f.get(1), f.get(2));
        let cantidad = i64::from(cantidad);
        prop_assert!(cantidad >= 0, "producto {i}: stock negativo {cantidad}");
        prop_assert_eq!(
            cantidad,
            libro_mayor,
            "producto {}: stock ≠ Σ entradas − Σ salidas",
            i
        );
        prop_assert_eq!(
            cantidad,
            i64::from(caso.stock_inicial[i]) + libro.delta[i],
            "producto {}: stock ≠ inicial + lo que el cliente vio aceptado",
            i
        );
        prop_assert!(
            reservado <= cantidad,
            "producto {i}: reservado {reservado} > stock {cantidad}"
        );
    }

    // No sale without a 201 or a conversion's 200.
    let ventas = app.contar(r#"SELECT count(*) FROM "Venta""#, &[]).await;
    prop_assert_eq!(
        ventas,
        libro.ventas_directas
            + libro
                .convertidas
                .values()
                .map(|n| i64::from(*n))
                .sum::<i64>()
    );

    // Quotes: state ⇔ the one successful answer; a converted quote has exactly one sale, with
    // the quote's lines.
    for d in &libro.cotizaciones {
        let f = app
            .pg
            .query_one(
                r#"SELECT "estado"::text, "ventaId",
                     (SELECT count(*) FROM "Venta" v WHERE v."notas" = 'Venta convertida desde cotización #' || c."id")
                   FROM "Cotizacion" c WHERE "id" = $1"#,
                &[&d.id],
            )
            .await
            .unwrap();
        let (estado, venta_id, ventas): (String, Option<i32>, i64) = (f.get(0), f.get(1), f.get(2));
        let convertida = libro.convertidas.get(&d.id).copied().unwrap_or(0);
        let cancelada = libro
            .cotizaciones_canceladas
            .get(&d.id)
            .copied()
            .unwrap_or(0);
        prop_assert!(
            convertida <= 1 && cancelada <= 1 && convertida + cancelada <= 1,
            "cotización {}: {convertida} conversiones y {cancelada} cancelaciones aceptadas",
            d.id
        );
        let esperado = match (convertida, cancelada) {
            (1, _) => "CONVERTIDA",
            (_, 1) => "CANCELADA",
            _ => "PENDIENTE",
        };
        prop_assert_eq!(estado.as_str(), esperado, "cotización {}", d.id);
        prop_assert_eq!(
            ventas,
            i64::from(convertida),
            "ventas de la cotización {}",
            d.id
        );
        prop_assert_eq!(
            venta_id,
            libro.venta_de_cotizacion.get(&d.id).copied(),
            "ventaId de la cotización {}",
            d.id
        );
    }

    // Sales: items as requested, one salida per line, and one entrada per line iff cancelled
    // (exactly one accepted cancel).
    for d in &libro.ventas {
        let esperado = por_id(d, &productos);
        let items = por_producto(
            &app,
            r#"SELECT "productoId", sum("cantidad")::int8 FROM "ItemVenta" WHERE "ventaId" = $1 GROUP BY 1"#,
            d.id,
        )
        .await;
        prop_assert_eq!(&items, &esperado, "items de la venta {}", d.id);
        let salidas = por_producto(
            &app,
            r#"SELECT "productoId", sum("cantidad")::int8 FROM "Movimiento"
               WHERE "ventaId" = $1 AND "tipo" = 'salida' GROUP BY 1"#,
            d.id,
        )
        .await;
        prop_assert_eq!(&salidas, &esperado, "salidas de la venta {}", d.id);
        let canceladas = libro.ventas_canceladas.get(&d.id).copied().unwrap_or(0);
        prop_assert!(
            canceladas <= 1,
            "venta {}: {canceladas} cancelaciones aceptadas",
            d.id
        );
        let entradas = por_producto(
            &app,
            r#"SELECT "productoId", sum("cantidad")::int8 FROM "Movimiento"
               WHERE "ventaId" = $1 AND "tipo" = 'entrada' GROUP BY 1"#,
            d.id,
        )
        .await;
        let filas_entrada = app
            .contar(
                r#"SELECT count(*) FROM "Movimiento" WHERE "ventaId" = $1 AND "tipo" = 'entrada'"#,
                &[&d.id],
            )
            .await;
        let cancelada_en = app
            .contar(
                r#"SELECT count(*) FROM "Venta" WHERE "id" = $1 AND "canceladaEn" IS NOT NULL"#,
                &[&d.id],
            )
            .await;
        prop_assert_eq!(cancelada_en, i64::from(canceladas), "venta {}", d.id);
        if canceladas == 1 {
            prop_assert_eq!(&entradas, &esperado, "devolución de la venta {}", d.id);
            prop_assert_eq!(filas_entrada, esperado.len() as i64, "venta {}", d.id);
        } else {
            prop_assert!(entradas.is_empty(), "venta {} devuelta sin cancelar", d.id);
        }
    }
    Ok(())
}

#[test]
fn stock_consistente_bajo_operaciones_concurrentes() {
    let casos = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CASOS);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut runner = TestRunner::new(Config {
        cases: casos,
        // Each case is a whole app: shrink a little, not for minutes.
        max_shrink_iters: 24,
        max_shrink_time: 60_000,
        failure_persistence: None,
        ..Config::default()
    });
    if let Err(e) = runner.run(&caso(), |c| rt.block_on(ejecutar(c))) {
        panic!("{e}");
    }
}
