//! `scripts/bench-compras`: purchasing figures through the real handlers in-process
//! (`tests::despachar` on the `events/` API Gateway v2 events) against a real PostgreSQL, on a
//! fresh database cloned from the test template. Prints, never fails on a time:
//! - GET /api/compras/sugerencias at 10 000 products and 100 000 exits in the window (p50/p99 of
//!   `--repeticiones` sequential requests, rows returned);
//! - GET /api/pdf/orden-compra/{id} of a 300-line order (p50/p99 ms, bytes);
//! - 50 receipts released together, 50 orders with one line each on ONE product, from 50
//!   `Estado`s with a pool of 1 (50 warm containers): p50/p99 and the check
//!   stock = initial + Σ received.
//!
//!   bench-compras [--repeticiones N]

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use http::Method;
use serde_json::{Value, json};
use shared::Estado;
use tests::{App, Opciones, despachar, spawn_app_con};
use tokio::sync::Barrier;

const PRODUCTOS: i32 = 10_000;
const MOVIMIENTOS: i32 = 100_000;
const LINEAS_PDF: usize = 300;
const RECEPCIONES: usize = 50;

fn percentil(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let k = ((p / 100.0) * s.len() as f64).ceil() as usize;
    s[k.clamp(1, s.len()) - 1]
}

async fn enviar(
    app: &App,
    estado: &Estado,
    metodo: Method,
    path: &str,
    cookie: &str,
    cuerpo: Option<Value>,
) -> anyhow::Result<(u16, Vec<u8>, f64)> {
    let mut p = app.pet(metodo, path).cookie(cookie);
    if let Some(c) = cuerpo {
        p = p.json(c);
    }
    let req = lambda_http::request::from_str(&p.evento().to_string()).context("evento")?;
    let t = Instant::now();
    let res = despachar(estado, req).await;
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    Ok((res.status().as_u16(), res.body().as_ref().to_vec(), ms))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut repeticiones = 30usize;
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        match k.as_str() {
            "--repeticiones" => repeticiones = it.next().context("falta N")?.parse()?,
            _ => bail!("uso: bench-compras [--repeticiones N]"),
        }
    }
    let app = spawn_app_con(Opciones {
        rate_limit_max: 1_000_000,
        ..Opciones::default()
    })
    .await;
    let e = app.empresa().await;
    let (_, c) = app.admin(&e).await;
    let cat = app.categoria(&e, "Bench", "BEN").await;
    let prov: i32 = app.pg.query_one(
        r#"INSERT INTO "Proveedor" ("nombre", "empresaId") VALUES ('Bench', $1) RETURNING "id""#, &[&e],
    ).await?.get(0);
    // Half of the products in the alert zone; exits spread over the last 29 days.
    app.pg.execute(
        r#"INSERT INTO "Producto" ("nombre", "codigo", "precio", "cantidad", "stockMinimo", "categoriaId", "empresaId")
           SELECT 'Producto ' || g, 'BEN-' || g, 1000, CASE WHEN g % 2 = 0 THEN 1 ELSE 500 END, 5, $1, $2
           FROM generate_series(1, $3::int) g"#,
        &[&cat, &e, &PRODUCTOS],
    ).await?;
    app.pg.execute(
        r#"INSERT INTO "Movimiento" ("productoId", "tipo", "cantidad", "empresaId", "creadoEn")
           SELECT p."id", 'salida', 1 + g % 3, $1, (now() AT TIME ZONE 'UTC') - make_interval(mins => g % 41760)
           FROM generate_series(1, $2::int) g
           JOIN "Producto" p ON p."codigo" = 'BEN-' || (1 + g % $3::int) AND p."empresaId" = $1"#,
        &[&e, &MOVIMIENTOS, &PRODUCTOS],
    ).await?;
    app.pg.batch_execute("ANALYZE").await?;
    println!(
        "bench-compras: {PRODUCTOS} products, {MOVIMIENTOS} exits in the window; in-process handlers, {} CPUs",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let estado = app.estado.clone();
    let mut ms = Vec::new();
    let mut filas = 0;
    for _ in 0..repeticiones {
        let (s, cuerpo, t) = enviar(
            &app,
            &estado,
            Method::GET,
            "/api/compras/sugerencias",
            &c,
            None,
        )
        .await?;
        ensure!(s == 200, "sugerencias: {s}");
        filas = serde_json::from_slice::<Value>(&cuerpo)?
            .as_array()
            .map_or(0, Vec::len);
        ms.push(t);
    }
    println!(
        "  GET /api/compras/sugerencias  n={repeticiones}  p50 {:.1} ms  p99 {:.1} ms  rows {filas}",
        percentil(&ms, 50.0),
        percentil(&ms, 99.0)
    );

    let items: Vec<Value> = (0..LINEAS_PDF)
        .map(|i| json!({"productoId": 1 + i as i32, "cantidad": 1 + i, "costoUnitario": 1234.5}))
        .collect();
    let (s, cuerpo, _) = enviar(
        &app,
        &estado,
        Method::POST,
        "/api/ordenes-compra",
        &c,
        Some(json!({"proveedorId": prov, "items": items})),
    )
    .await?;
    ensure!(
        s == 201,
        "orden de {LINEAS_PDF} líneas: {s} {}",
        String::from_utf8_lossy(&cuerpo)
    );
    let id = serde_json::from_slice::<Value>(&cuerpo)?["id"]
        .as_i64()
        .context("id")?;
    let (mut ms, mut bytes) = (Vec::new(), 0);
    for _ in 0..repeticiones {
        let (s, cuerpo, t) = enviar(
            &app,
            &estado,
            Method::GET,
            &format!("/api/pdf/orden-compra/{id}"),
            &c,
            None,
        )
        .await?;
        ensure!(s == 200, "pdf: {s}");
        bytes = cuerpo.len();
        ms.push(t);
    }
    println!(
        "  GET /api/pdf/orden-compra ({LINEAS_PDF} lines)  p50 {:.1} ms  p99 {:.1} ms  {bytes} bytes",
        percentil(&ms, 50.0),
        percentil(&ms, 99.0)
    );

    let producto: i32 = app
        .pg
        .query_one(
            r#"SELECT "id" FROM "Producto" WHERE "codigo" = 'BEN-1'"#,
            &[],
        )
        .await?
        .get(0);
    let inicial = app.stock(producto).await;
    let mut ordenes = Vec::new();
    for _ in 0..RECEPCIONES {
        let (s, cuerpo, _) = enviar(&app, &estado, Method::POST, "/api/ordenes-compra", &c,
            Some(json!({"proveedorId": prov, "items": [{"productoId": producto, "cantidad": 2, "costoUnitario": 1}]}))).await?;
        ensure!(s == 201, "orden: {s}");
        ordenes.push(
            serde_json::from_slice::<Value>(&cuerpo)?["id"]
                .as_i64()
                .context("id")?,
        );
    }
    let mut cfg = app.estado.config.clone();
    cfg.db_pool_max = 1;
    let contenedores: Vec<Arc<Estado>> = (0..RECEPCIONES)
        .map(|_| Estado::new(cfg.clone()).map(Arc::new))
        .collect::<Result<_, _>>()?;
    // Warm every container's connection first (a session lookup).
    for est in &contenedores {
        enviar(&app, est, Method::GET, "/api/proveedores", &c, None).await?;
    }
    let barrera = Arc::new(Barrier::new(RECEPCIONES));
    let app = Arc::new(app);
    let tareas: Vec<_> = ordenes
        .iter()
        .zip(&contenedores)
        .map(|(id, est)| {
            let (app, est, barrera, c) = (app.clone(), est.clone(), barrera.clone(), c.clone());
            let path = format!("/api/ordenes-compra/{id}/recibir");
            tokio::spawn(async move {
                let req = lambda_http::request::from_str(
                    &app.post(&path).cookie(&c).evento().to_string(),
                )
                .expect("evento");
                barrera.wait().await;
                let t = Instant::now();
                let res = despachar(&est, req).await;
                (res.status().as_u16(), t.elapsed().as_secs_f64() * 1000.0)
            })
        })
        .collect();
    let mut ms = Vec::new();
    let mut ok = 0;
    for t in tareas {
        let (s, m) = t.await?;
        ok += usize::from(s == 200);
        ms.push(m);
    }
    let final_ = app.stock(producto).await;
    let esperado = inicial + 2 * ok as i32;
    println!(
        "  {RECEPCIONES} simultaneous receipts, one product, {RECEPCIONES} containers  200s {ok}  p50 {:.1} ms  p99 {:.1} ms  stock {inicial} → {final_} (expected {esperado}: {})",
        percentil(&ms, 50.0),
        percentil(&ms, 99.0),
        if final_ == esperado && ok == RECEPCIONES {
            "OK"
        } else {
            "MISMATCH"
        }
    );
    ensure!(
        final_ == esperado && ok == RECEPCIONES,
        "receipts inconsistent"
    );
    Ok(())
}
