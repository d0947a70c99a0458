//! GET /api/compras/sugerencias (purchasing.md §7.1, §9 #8): the seven worked examples, which
//! exits count (30-day window, `salida` only, cancelled sales out, other tenants out), the
//! suggested supplier, ordering, and no 500-product cap.

use serde_json::{Value, json};

use super::*;

/// `n` units of `tipo` for product `p`, `dias` days ago, optionally linked to a sale.
async fn movimiento(app: &App, e: &str, p: i32, tipo: &str, n: i32, dias: i32, venta: Option<i32>) {
    app.pg
        .execute(
            r#"INSERT INTO "Movimiento" ("productoId", "tipo", "cantidad", "ventaId", "empresaId", "creadoEn")
               VALUES ($1, $2::text::"TipoMovimiento", $3, $4, $5,
                       (now() AT TIME ZONE 'UTC') - make_interval(days => $6))"#,
            &[&p, &tipo, &n, &venta, &e, &dias],
        )
        .await
        .unwrap();
}

async fn venta(app: &App, e: &str, cancelada: bool) -> i32 {
    app.pg
        .query_one(
            r#"INSERT INTO "Venta" ("total", "empresaId", "canceladaEn")
               VALUES (1, $1, CASE WHEN $2 THEN now() AT TIME ZONE 'UTC' END) RETURNING "id""#,
            &[&e, &cancelada],
        )
        .await
        .unwrap()
        .get(0)
}

async fn sugerencias(app: &App, c: &str) -> Vec<Value> {
    let r = app.get("/api/compras/sugerencias").cookie(c).send().await;
    assert_eq!(r.status, 200, "{}", r.texto);
    lista(&r).clone()
}

#[tokio::test]
async fn sugerencias_siete_ejemplos_de_7_1_ordenados() {
    let f = fx().await;
    // Raw negative stock exists in legacy data (V3 is NOT VALID there): §7.1's (3, −2, 0).
    f.app
        .pg
        .batch_execute(r#"ALTER TABLE "Producto" DROP CONSTRAINT "Producto_cantidad_no_negativa""#)
        .await
        .unwrap();
    let mut esperado = Vec::new();
    for (i, (m, q, salidas, sugerencia, consumo)) in [
        (5, 4, 45, 22, json!(1.5)),
        (5, 7, 0, 3, json!(0)),
        (0, 2, 0, 1, json!(0)),
        (1, 3, 2, 1, json!(0.07)),
        (10, 0, 1, 13, json!(0.03)),
        (5, 5, 150, 70, json!(5)),
        (3, -2, 0, 6, json!(0)),
    ]
    .into_iter()
    .enumerate()
    {
        let codigo = format!("EJ-{i}");
        let p = producto(&f.app, &f.e, &codigo, q, m).await;
        if salidas > 0 {
            // Split in two exits, both inside the window.
            movimiento(&f.app, &f.e, p, "salida", salidas - salidas / 2, 1, None).await;
            if salidas / 2 > 0 {
                movimiento(&f.app, &f.e, p, "salida", salidas / 2, 29, None).await;
            }
        }
        esperado.push(
            json!({"productoId": p, "nombre": format!("Producto {codigo}"), "codigo": codigo,
            "stockActual": q, "stockMinimo": m, "consumoDiario": consumo, "sugerencia": sugerencia,
            "proveedorSugerido": null}),
        );
    }
    // Above the alert zone (cantidad > stockMinimo + 2): not listed, whatever its consumption.
    let alto = producto(&f.app, &f.e, "ALTO", 8, 5).await;
    movimiento(&f.app, &f.e, alto, "salida", 300, 1, None).await;
    esperado.sort_by(|a, b| {
        b["sugerencia"]
            .as_i64()
            .cmp(&a["sugerencia"].as_i64())
            .then(a["productoId"].as_i64().cmp(&b["productoId"].as_i64()))
    });
    assert_eq!(sugerencias(&f.app, &f.c).await, esperado);
    // Ties (the two 1s) are by productoId ascending.
    let l = sugerencias(&f.app, &f.c).await;
    let unos: Vec<i64> = l
        .iter()
        .filter(|s| s["sugerencia"] == 1)
        .map(|s| s["productoId"].as_i64().unwrap())
        .collect();
    assert!(unos.len() == 2 && unos[0] < unos[1]);
}

#[tokio::test]
async fn sugerencias_solo_salidas_recientes_sin_ventas_canceladas_ni_otra_empresa() {
    let f = fx().await;
    let otra = f.app.empresa().await;
    let p = producto(&f.app, &f.e, "S-1", 5, 5).await;
    let viva = venta(&f.app, &f.e, false).await;
    let cancelada = venta(&f.app, &f.e, true).await;
    movimiento(&f.app, &f.e, p, "salida", 15, 2, Some(viva)).await; // counts (sale)
    movimiento(&f.app, &f.e, p, "salida", 15, 3, None).await; // counts (manual)
    movimiento(&f.app, &f.e, p, "salida", 900, 3, Some(cancelada)).await; // cancelled sale: out
    movimiento(&f.app, &f.e, p, "salida", 900, 31, None).await; // outside the window
    movimiento(&f.app, &f.e, p, "entrada", 900, 1, None).await; // entries never count
    // Another tenant's exit of a product id it cannot have: never joined.
    let ajeno = producto(&f.app, &otra, "S-2", 0, 1).await;
    movimiento(&f.app, &otra, ajeno, "salida", 900, 1, None).await;
    let l = sugerencias(&f.app, &f.c).await;
    assert_eq!(l.len(), 1, "{l:?}");
    // C = 30 → k = 1, objetivo = max(8, 14 + 5) = 19 → 14 (reports.md §2.5's (5, 5, 30)).
    assert_eq!(
        (
            &l[0]["productoId"],
            &l[0]["consumoDiario"],
            &l[0]["sugerencia"]
        ),
        (&json!(p), &json!(1), &json!(14))
    );
}

#[tokio::test]
async fn sugerencias_proveedor_de_la_orden_mas_reciente_no_cancelada() {
    let f = fx().await;
    let x = proveedor(&f.app, &f.e, "Viejo").await;
    let y = proveedor(&f.app, &f.e, "Nuevo").await;
    let z = proveedor(&f.app, &f.e, "Empate").await;
    let p = producto(&f.app, &f.e, "P-1", 0, 1).await;
    let q = producto(&f.app, &f.e, "P-2", 0, 1).await;
    let item = |id: i32| json!([{"productoId": id, "cantidad": 1, "costoUnitario": 1}]);
    let o1 = orden(&f.app, &f.c, x, item(p)).await["id"]
        .as_i64()
        .unwrap() as i32;
    let o2 = orden(&f.app, &f.c, y, item(p)).await["id"]
        .as_i64()
        .unwrap() as i32;
    f.app
        .pg
        .execute(
            r#"UPDATE "OrdenCompra" SET "creadoEn" = '2026-01-01' WHERE "id" = $1"#,
            &[&o1],
        )
        .await
        .unwrap();
    f.app
        .pg
        .execute(
            r#"UPDATE "OrdenCompra" SET "creadoEn" = '2026-02-01' WHERE "id" = $1"#,
            &[&o2],
        )
        .await
        .unwrap();
    let proveedor_de = |l: &[Value], id: i32| {
        l.iter().find(|s| s["productoId"] == id).unwrap()["proveedorSugerido"].clone()
    };
    let l = sugerencias(&f.app, &f.c).await;
    assert_eq!(proveedor_de(&l, p), json!({"id": y, "nombre": "Nuevo"}));
    assert_eq!(proveedor_de(&l, q), Value::Null);
    // The newer order cancelled: the older supplier stays suggested.
    assert_eq!(
        f.app
            .post(&format!("/api/ordenes-compra/{o2}/cancelar"))
            .cookie(&f.c)
            .send()
            .await
            .status,
        200
    );
    let l = sugerencias(&f.app, &f.c).await;
    assert_eq!(proveedor_de(&l, p), json!({"id": x, "nombre": "Viejo"}));
    // A received order counts; equal creadoEn → the higher order id (our reading).
    let o3 = orden(&f.app, &f.c, z, item(q)).await["id"]
        .as_i64()
        .unwrap() as i32;
    let o4 = orden(&f.app, &f.c, x, item(q)).await["id"]
        .as_i64()
        .unwrap() as i32;
    f.app
        .pg
        .execute(
            r#"UPDATE "OrdenCompra" SET "creadoEn" = '2026-03-01' WHERE "id" = ANY($1)"#,
            &[&vec![o3, o4]],
        )
        .await
        .unwrap();
    assert_eq!(
        f.app
            .post(&format!("/api/ordenes-compra/{o4}/recibir"))
            .cookie(&f.c)
            .send()
            .await
            .status,
        200
    );
    let l = sugerencias(&f.app, &f.c).await;
    // q now has stock 1 ≤ 1 + 2: still listed.
    assert_eq!(proveedor_de(&l, q), json!({"id": x, "nombre": "Viejo"}));
}

#[tokio::test]
async fn sugerencias_seiscientos_productos_sin_tope() {
    let f = fx().await;
    let cat = f.app.categoria(&f.e, "Masiva", "MAS").await;
    f.app.pg.execute(
        r#"INSERT INTO "Producto" ("nombre", "codigo", "precio", "cantidad", "stockMinimo", "categoriaId", "empresaId")
           SELECT 'M' || g, 'MAS-' || g, 1, 0, 1, $1, $2 FROM generate_series(1, 600) g"#,
        &[&cat, &f.e],
    ).await.unwrap();
    let l = sugerencias(&f.app, &f.c).await;
    assert_eq!(l.len(), 600);
    // (stockMinimo 1, cantidad 0, no exits): max(2, 1 + 3) − 0 = 4.
    assert!(l.iter().all(|s| s["sugerencia"] == 4));
    assert!(
        l.windows(2)
            .all(|w| w[0]["productoId"].as_i64() < w[1]["productoId"].as_i64())
    );
}

#[tokio::test]
async fn sugerencias_vacia_es_arreglo() {
    let f = fx().await;
    producto(&f.app, &f.e, "OK-1", 100, 1).await;
    assert_eq!(sugerencias(&f.app, &f.c).await, Vec::<Value>::new());
}
