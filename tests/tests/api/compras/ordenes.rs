//! /api/ordenes-compra (purchasing.md §5) and POST /api/compras/sugerencias (§7.2): list, create
//! in the spec's validation order, read, receive (§9 #1, #4), cancel (§9 #2), guards (§9 #3),
//! bodies (§9 #9), money (§9 #10) and notes (§9 #11).

use http::Method;
use serde_json::{Value, json};
use tests::{Opciones, spawn_app_con};

use super::*;

/// A company with a supplier and two products (stock 10 and 0).
struct Base {
    f: Fx,
    prov: i32,
    p1: i32,
    p2: i32,
}

async fn base() -> Base {
    let f = fx().await;
    let prov = proveedor(&f.app, &f.e, "Ferretería Sur").await;
    let p1 = producto(&f.app, &f.e, "FER-001", 10, 2).await;
    let p2 = producto(&f.app, &f.e, "FER-002", 0, 1).await;
    Base { f, prov, p1, p2 }
}

/// `(productoId, tipo, cantidad, notas, ordenCompraId, ventaId, empresaId)` of a movement.
type FilaMovimiento = (i32, String, i32, String, Option<i32>, Option<i32>, String);

async fn fila_orden(app: &App, id: i64) -> Value {
    app.pg
        .query_one(
            r#"SELECT json_build_object('id', "id", 'proveedorId', "proveedorId", 'estado', "estado",
                 'total', "total", 'notas', "notas",
                 'creadoEn', to_char("creadoEn", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                 'recibidaEn', to_char("recibidaEn", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                 'empresaId', "empresaId")
               FROM "OrdenCompra" WHERE "id" = $1"#,
            &[&(id as i32)],
        )
        .await
        .unwrap()
        .get(0)
}

fn escalares(v: &Value) -> Value {
    let mut o = v.as_object().unwrap().clone();
    o.remove("items");
    o.remove("proveedor");
    o.remove("_count");
    Value::Object(o)
}

async fn crear(app: &App, c: &str, cuerpo: Value) -> Res {
    app.post("/api/ordenes-compra")
        .cookie(c)
        .json(cuerpo)
        .send()
        .await
}

#[tokio::test]
async fn ordenes_guardas_en_orden_en_cada_ruta() {
    let b = base().await;
    let (app, e) = (&b.f.app, &b.f.e);
    let o = orden(
        app,
        &b.f.c,
        b.prov,
        json!([{"productoId": b.p1, "cantidad": 1, "costoUnitario": 1}]),
    )
    .await;
    let id = o["id"].as_i64().unwrap();
    let cuerpo = Some(
        json!({"proveedorId": b.prov, "items": [{"productoId": b.p1, "cantidad": 1, "costoUnitario": 1}]}),
    );
    for path in [
        "/api/ordenes-compra".to_string(),
        format!("/api/ordenes-compra/{id}"),
        format!("/api/pdf/orden-compra/{id}"),
    ] {
        guardas_comunes(app, e, Method::GET, &path, None).await;
    }
    guardas_admin(
        app,
        e,
        Method::POST,
        "/api/ordenes-compra",
        cuerpo.clone(),
        "No autorizado",
    )
    .await;
    guardas_admin(
        app,
        e,
        Method::POST,
        &format!("/api/ordenes-compra/{id}/recibir"),
        None,
        "No autorizado",
    )
    .await;
    guardas_admin(
        app,
        e,
        Method::POST,
        &format!("/api/ordenes-compra/{id}/cancelar"),
        None,
        "No autorizado",
    )
    .await;
    guardas_admin(
        app,
        e,
        Method::GET,
        "/api/compras/sugerencias",
        None,
        "Solo administradores pueden ver sugerencias",
    )
    .await;
    guardas_admin(
        app,
        e,
        Method::POST,
        "/api/compras/sugerencias",
        cuerpo,
        "Solo administradores pueden crear órdenes",
    )
    .await;
    // Nothing changed: one draft, stock untouched.
    assert_eq!(
        app.contar(r#"SELECT count(*) FROM "OrdenCompra""#, &[])
            .await,
        1
    );
    assert_eq!(fila_orden(app, id).await["estado"], "BORRADOR");
    assert_eq!(app.stock(b.p1).await, 10);
    // Reads for a plain active user (family B).
    let u = app.usuario(e, "USUARIO", "ACTIVO", &[]).await;
    let cu = app.sesion(&u).await;
    for path in [
        "/api/ordenes-compra".to_string(),
        format!("/api/ordenes-compra/{id}"),
        format!("/api/pdf/orden-compra/{id}"),
    ] {
        assert_eq!(
            app.get(&path).cookie(&cu).send().await.status,
            200,
            "{path}"
        );
    }
    // SUPER_ADMIN acts like ADMIN inside its tenant.
    let s = app.usuario(e, "SUPER_ADMIN", "ACTIVO", &[]).await;
    let cs = app.sesion(&s).await;
    assert_eq!(
        app.get("/api/compras/sugerencias")
            .cookie(&cs)
            .send()
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn ordenes_ids_malos_405_y_rutas_no_limitadas() {
    let app = spawn_app_con(Opciones {
        rate_limit_max: 5,
        ..Opciones::default()
    })
    .await;
    let e = app.empresa().await;
    let (_, c) = app.admin(&e).await;
    ids_malos(&app, &c, Method::GET, "/api/ordenes-compra/{id}", None).await;
    ids_malos(
        &app,
        &c,
        Method::POST,
        "/api/ordenes-compra/{id}/recibir",
        None,
    )
    .await;
    ids_malos(
        &app,
        &c,
        Method::POST,
        "/api/ordenes-compra/{id}/cancelar",
        None,
    )
    .await;
    ids_malos(&app, &c, Method::GET, "/api/pdf/orden-compra/{id}", None).await;
    for m in [Method::PUT, Method::PATCH, Method::DELETE] {
        let r = app
            .pet(m.clone(), "/api/ordenes-compra/1")
            .cookie(&c)
            .json(json!({}))
            .send()
            .await;
        assert_eq!(
            (r.err(), r.header("allow")),
            ((405, "Método no permitido"), Some("GET")),
            "{m}"
        );
    }
    let r = app
        .get("/api/ordenes-compra/1/recibir")
        .cookie(&c)
        .send()
        .await;
    assert_eq!((r.status, r.header("allow")), (405, Some("POST")));
    let r = app.post("/api/pdf/orden-compra/1").cookie(&c).send().await;
    assert_eq!((r.status, r.header("allow")), (405, Some("GET")));
    let r = app
        .delete("/api/compras/sugerencias")
        .cookie(&c)
        .send()
        .await;
    assert_eq!((r.status, r.header("allow")), (405, Some("GET, POST")));
    // recibir, cancelar and suggestions are never rate limited (§1.2): far more than 5 POSTs.
    for _ in 0..4 {
        assert_eq!(
            app.post("/api/ordenes-compra/999/recibir")
                .cookie(&c)
                .send()
                .await
                .status,
            404
        );
        assert_eq!(
            app.post("/api/ordenes-compra/999/cancelar")
                .cookie(&c)
                .send()
                .await
                .status,
            404
        );
        assert_eq!(
            app.post("/api/compras/sugerencias")
                .cookie(&c)
                .json(json!({}))
                .send()
                .await
                .status,
            400
        );
    }
    let r = app
        .post("/api/ordenes-compra")
        .cookie(&c)
        .json(json!({}))
        .send()
        .await;
    assert_eq!(r.status, 400, "the limited path still has its 5 attempts");
}

#[tokio::test]
async fn ordenes_crear_201_forma_lineas_duplicadas_total_exacto_y_auditoria() {
    let b = base().await;
    let (app, c) = (&b.f.app, &b.f.c);
    app.pg
        .execute(
            r#"UPDATE "Proveedor" SET "activo" = false WHERE "id" = $1"#,
            &[&b.prov],
        )
        .await
        .unwrap();
    let r = crear(
        app,
        c,
        json!({
            "proveedorId": b.prov.to_string(),
            "items": [
                {"productoId": b.p2, "cantidad": 3, "costoUnitario": 0.1},
                {"productoId": b.p1 as f64, "cantidad": 2.0, "costoUnitario": 1500},
                {"productoId": b.p2, "cantidad": 1, "costoUnitario": 0.2, "subtotal": 99},
            ],
            "notas": "  urgente  ", "estado": "RECIBIDA", "total": 1, "empresaId": "x",
        }),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.texto);
    let id = r.body["id"].as_i64().unwrap();
    assert_eq!(escalares(&r.body), fila_orden(app, id).await);
    assert_eq!(
        (
            &r.body["estado"],
            &r.body["total"],
            &r.body["notas"],
            &r.body["recibidaEn"],
            &r.body["proveedorId"]
        ),
        (
            &json!("BORRADOR"),
            &json!(3000.5),
            &json!("urgente"),
            &Value::Null,
            &json!(b.prov)
        )
    );
    let items = r.body["items"].as_array().unwrap();
    let forma: Vec<Value> = items
        .iter()
        .map(|i| {
            json!([
                i["productoId"],
                i["cantidad"],
                i["costoUnitario"],
                i["subtotal"],
                i["ordenCompraId"]
            ])
        })
        .collect();
    assert_eq!(
        forma,
        vec![
            json!([b.p2, 3, 0.1, 0.3, id]),
            json!([b.p1, 2, 1500, 3000, id]),
            json!([b.p2, 1, 0.2, 0.2, id]),
        ]
    );
    assert!(
        items
            .windows(2)
            .all(|w| w[0]["id"].as_i64() < w[1]["id"].as_i64())
    );
    assert_eq!(items[0].as_object().unwrap().len(), 6, "item scalars only");
    assert_eq!(r.body["proveedor"]["nombre"], "Ferretería Sur");
    assert_eq!(
        r.body["proveedor"]["activo"], false,
        "inactive suppliers are accepted"
    );
    assert_eq!(
        r.body["proveedor"].as_object().unwrap().len(),
        10,
        "the full Proveedor row"
    );
    // Stock untouched, no movement.
    assert_eq!((app.stock(b.p1).await, app.stock(b.p2).await), (10, 0));
    assert_eq!(
        app.contar(r#"SELECT count(*) FROM "Movimiento""#, &[])
            .await,
        0
    );
    let a = auditoria(app, "OrdenCompra", id).await;
    assert_eq!(a.len(), 1);
    assert_eq!(
        (a[0].0.as_str(), a[0].1.as_deref(), a[0].2.as_deref()),
        ("CREAR", Some(b.f.admin.id.as_str()), Some(app.ip.as_str()))
    );
    assert_eq!(a[0].3, json!({"despues": r.body}));
}

#[tokio::test]
async fn ordenes_crear_errores_en_el_orden_de_5_2() {
    let b = base().await;
    let (app, c) = (&b.f.app, &b.f.c);
    let otra = app.empresa().await;
    let prov_ajeno = proveedor(app, &otra, "Ajeno").await;
    let prod_ajeno = producto(app, &otra, "AJ-1", 5, 1).await;
    let ok = |p: i32| json!({"productoId": p, "cantidad": 1, "costoUnitario": 1});
    let malo = json!({"productoId": "x"});
    for (cuerpo, esperado) in [
        // proveedorId format first.
        (json!({"items": [malo]}), (400, "proveedorId inválido")),
        (
            json!({"proveedorId": "abc", "items": []}),
            (400, "proveedorId inválido"),
        ),
        (json!({"proveedorId": 1.5}), (400, "proveedorId inválido")),
        (json!({"proveedorId": {}}), (400, "proveedorId inválido")),
        (
            json!({"proveedorId": "Infinity"}),
            (400, "proveedorId inválido"),
        ),
        // Then the supplier, before the items.
        (
            json!({"proveedorId": null, "items": [malo]}),
            (404, "Proveedor no encontrado"),
        ),
        (
            json!({"proveedorId": "", "items": []}),
            (404, "Proveedor no encontrado"),
        ),
        (
            json!({"proveedorId": false}),
            (404, "Proveedor no encontrado"),
        ),
        (json!({"proveedorId": 0}), (404, "Proveedor no encontrado")),
        (json!({"proveedorId": -4}), (404, "Proveedor no encontrado")),
        (
            json!({"proveedorId": 2147483648u64}),
            (404, "Proveedor no encontrado"),
        ),
        (
            json!({"proveedorId": 1e300}),
            (404, "Proveedor no encontrado"),
        ),
        (
            json!({"proveedorId": prov_ajeno, "items": [ok(b.p1)]}),
            (404, "Proveedor no encontrado"),
        ),
        (
            json!({"proveedorId": 999999, "items": [ok(b.p1)]}),
            (404, "Proveedor no encontrado"),
        ),
        // Then items.
        (
            json!({"proveedorId": b.prov}),
            (400, "La orden debe tener al menos un ítem"),
        ),
        (
            json!({"proveedorId": b.prov, "items": []}),
            (400, "La orden debe tener al menos un ítem"),
        ),
        (
            json!({"proveedorId": b.prov, "items": {"0": ok(b.p1)}}),
            (400, "La orden debe tener al menos un ítem"),
        ),
        (
            json!({"proveedorId": b.prov, "items": [ok(b.p1), malo]}),
            (400, "productoId inválido en un ítem"),
        ),
        (
            json!({"proveedorId": b.prov, "items": [null]}),
            (400, "productoId inválido en un ítem"),
        ),
        (
            json!({"proveedorId": b.prov, "items": [{"productoId": b.p1.to_string(), "cantidad": 1, "costoUnitario": 1}]}),
            (400, "productoId inválido en un ítem"),
        ),
        (
            json!({"proveedorId": b.prov, "items": [{"productoId": b.p1, "cantidad": "1", "costoUnitario": 1}]}),
            (400, "La cantidad de cada ítem debe ser un entero mayor a 0"),
        ),
        (
            json!({"proveedorId": b.prov, "items": [{"productoId": b.p1, "cantidad": 0, "costoUnitario": 1}]}),
            (400, "La cantidad de cada ítem debe ser un entero mayor a 0"),
        ),
        (
            json!({"proveedorId": b.prov, "items": [{"productoId": b.p1, "cantidad": 2.5, "costoUnitario": 1}]}),
            (400, "La cantidad de cada ítem debe ser un entero mayor a 0"),
        ),
        (
            json!({"proveedorId": b.prov, "items": [{"productoId": b.p1, "cantidad": 2147483648u64, "costoUnitario": 1}]}),
            (400, "La cantidad de cada ítem debe ser un entero mayor a 0"),
        ),
        (
            json!({"proveedorId": b.prov, "items": [{"productoId": b.p1, "cantidad": 1, "costoUnitario": -0.01}]}),
            (
                400,
                "El costo unitario de cada ítem debe ser un número mayor o igual a 0",
            ),
        ),
        (
            json!({"proveedorId": b.prov, "items": [{"productoId": b.p1, "cantidad": 1, "costoUnitario": "5"}]}),
            (
                400,
                "El costo unitario de cada ítem debe ser un número mayor o igual a 0",
            ),
        ),
        (
            json!({"proveedorId": b.prov, "items": [{"productoId": b.p1, "cantidad": 1000000, "costoUnitario": 1e25}]}),
            (
                400,
                "El costo unitario de cada ítem debe ser un número mayor o igual a 0",
            ),
        ),
        (
            json!({"proveedorId": b.prov, "items": [{"productoId": b.p1, "cantidad": 1, "costoUnitario": 1e300}]}),
            (
                400,
                "El costo unitario de cada ítem debe ser un número mayor o igual a 0",
            ),
        ),
        // Item validation (400) wins over an unknown product in an earlier line (404).
        (
            json!({"proveedorId": b.prov, "items": [ok(999999), malo]}),
            (400, "productoId inválido en un ítem"),
        ),
        // Then products of the tenant.
        (
            json!({"proveedorId": b.prov, "items": [ok(b.p1), ok(prod_ajeno)]}),
            (404, "Producto no encontrado o no pertenece a la empresa"),
        ),
        (
            json!({"proveedorId": b.prov, "items": [ok(999999)]}),
            (404, "Producto no encontrado o no pertenece a la empresa"),
        ),
        (
            json!({"proveedorId": b.prov, "items": [ok(0)]}),
            (404, "Producto no encontrado o no pertenece a la empresa"),
        ),
        (
            json!({"proveedorId": b.prov, "items": [{"productoId": 1e12, "cantidad": 1, "costoUnitario": 1}]}),
            (404, "Producto no encontrado o no pertenece a la empresa"),
        ),
    ] {
        assert_eq!(
            crear(app, c, cuerpo.clone()).await.err(),
            esperado,
            "{cuerpo}"
        );
    }
    for crudo in ["{", "null", "[]", "7", "\"x\"", ""] {
        let r = app
            .post("/api/ordenes-compra")
            .cookie(c)
            .cabecera("content-type", "application/json")
            .cuerpo(crudo)
            .send()
            .await;
        assert_eq!(
            r.err(),
            (400, "Error al crear la orden de compra"),
            "{crudo:?}"
        );
    }
    assert_eq!(
        app.contar(r#"SELECT count(*) FROM "OrdenCompra""#, &[])
            .await,
        0
    );
    assert_eq!(
        app.contar(r#"SELECT count(*) FROM "OrdenCompraItem""#, &[])
            .await,
        0
    );
}

#[tokio::test]
async fn ordenes_crear_quirks_de_number_notas_y_dinero_grande() {
    let b = base().await;
    let (app, c) = (&b.f.app, &b.f.c);
    // 1e25 × 1000 = 1e28 still fits the exact decimal range (1e25 × 10⁶ does not: a 400).
    let item = json!([{"productoId": b.p1, "cantidad": 1000, "costoUnitario": 1e25}]);
    // `true` is 1 for Number(): supplier 1 is this company's first supplier.
    assert_eq!(b.prov, 1);
    let r = crear(
        app,
        c,
        json!({"proveedorId": true, "items": item, "notas": {"a": 1}}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.texto);
    assert_eq!(
        r.body["notas"],
        Value::Null,
        "non-string notas → null (§9 #11)"
    );
    assert_eq!(r.body["items"][0]["subtotal"], json!(1e28));
    assert_eq!(r.body["total"], json!(1e28));
    for (proveedor_id, notas) in [
        (json!(" 1 "), json!("   ")),
        (json!([1]), json!(5)),
        (json!("0x1"), json!("")),
    ] {
        let r = crear(app, c, json!({"proveedorId": proveedor_id, "items": [{"productoId": b.p1, "cantidad": 1, "costoUnitario": 0}], "notas": notas})).await;
        assert_eq!(
            (r.status, &r.body["notas"], &r.body["total"]),
            (201, &Value::Null, &json!(0)),
            "{proveedor_id}"
        );
    }
}

#[tokio::test]
async fn ordenes_listar_mas_nuevas_primero_con_proveedor_y_conteo() {
    let b = base().await;
    let (app, c) = (&b.f.app, &b.f.c);
    let otra = app.empresa().await;
    let (_, c2) = app.admin(&otra).await;
    let prov2 = proveedor(app, &otra, "Ajeno").await;
    let px = producto(app, &otra, "X-1", 1, 1).await;
    orden(
        app,
        &c2,
        prov2,
        json!([{"productoId": px, "cantidad": 1, "costoUnitario": 1}]),
    )
    .await;
    let a = orden(
        app,
        c,
        b.prov,
        json!([{"productoId": b.p1, "cantidad": 1, "costoUnitario": 1}]),
    )
    .await;
    let bb = orden(app, c, b.prov, json!([{"productoId": b.p1, "cantidad": 1, "costoUnitario": 1}, {"productoId": b.p2, "cantidad": 1, "costoUnitario": 1}])).await;
    let cc = orden(
        app,
        c,
        b.prov,
        json!([{"productoId": b.p1, "cantidad": 1, "costoUnitario": 1}]),
    )
    .await;
    // `a` newest by creadoEn; `bb` and `cc` tie → higher id first.
    app.pg
        .execute(
            r#"UPDATE "OrdenCompra" SET "creadoEn" = '2030-01-01' WHERE "id" = $1"#,
            &[&(a["id"].as_i64().unwrap() as i32)],
        )
        .await
        .unwrap();
    app.pg
        .execute(
            r#"UPDATE "OrdenCompra" SET "creadoEn" = '2026-01-01' WHERE "id" = ANY($1)"#,
            &[&vec![
                bb["id"].as_i64().unwrap() as i32,
                cc["id"].as_i64().unwrap() as i32,
            ]],
        )
        .await
        .unwrap();
    let r = app.get("/api/ordenes-compra").cookie(c).send().await;
    assert_eq!(r.status, 200);
    let l = lista(&r);
    let ids: Vec<&Value> = l.iter().map(|o| &o["id"]).collect();
    assert_eq!(ids, vec![&a["id"], &cc["id"], &bb["id"]]);
    assert_eq!(l[2]["_count"], json!({"items": 2}));
    assert_eq!(l[2]["proveedor"], json!({"nombre": "Ferretería Sur"}));
    assert_eq!(
        escalares(&l[2]),
        fila_orden(app, bb["id"].as_i64().unwrap()).await
    );
    assert!(l[0].get("items").is_none());
}

#[tokio::test]
async fn ordenes_listar_hasta_200() {
    let b = base().await;
    b.f.app.pg.execute(
        r#"INSERT INTO "OrdenCompra" ("proveedorId", "empresaId") SELECT $1, $2 FROM generate_series(1, 203)"#,
        &[&b.prov, &b.f.e],
    ).await.unwrap();
    let r =
        b.f.app
            .get("/api/ordenes-compra")
            .cookie(&b.f.c)
            .send()
            .await;
    assert_eq!(lista(&r).len(), 200);
}

#[tokio::test]
async fn ordenes_obtener_con_proveedor_e_items_con_producto() {
    let b = base().await;
    let (app, c) = (&b.f.app, &b.f.c);
    let o = orden(app, c, b.prov, json!([{"productoId": b.p2, "cantidad": 4, "costoUnitario": 10}, {"productoId": b.p1, "cantidad": 1, "costoUnitario": 2.5}])).await;
    let id = o["id"].as_i64().unwrap();
    let r = app
        .get(&format!("/api/ordenes-compra/{id}"))
        .cookie(c)
        .send()
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(escalares(&r.body), fila_orden(app, id).await);
    assert_eq!(
        r.body["proveedor"],
        json!({"id": b.prov, "nombre": "Ferretería Sur", "nit": "900-1", "telefono": "300", "contacto": "Ana", "direccion": "Calle 1", "email": "a@b.co"})
    );
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(
        items[0]["producto"],
        json!({"nombre": "Producto FER-002", "codigo": "FER-002"})
    );
    assert_eq!(
        (
            &items[0]["cantidad"],
            &items[0]["subtotal"],
            &items[1]["costoUnitario"]
        ),
        (&json!(4), &json!(40), &json!(2.5))
    );
    let otra = app.empresa().await;
    let (_, c2) = app.admin(&otra).await;
    for (cookie, path) in [
        (c2.as_str(), format!("/api/ordenes-compra/{id}")),
        (c.as_str(), "/api/ordenes-compra/999999".to_string()),
    ] {
        assert_eq!(
            app.get(&path).cookie(cookie).send().await.err(),
            (404, "Orden de compra no encontrada")
        );
    }
}

#[tokio::test]
async fn ordenes_recibir_sube_stock_una_vez_movimientos_y_auditoria_en_tx() {
    let b = base().await;
    let (app, c) = (&b.f.app, &b.f.c);
    let o = orden(
        app,
        c,
        b.prov,
        json!([
            {"productoId": b.p1, "cantidad": 5, "costoUnitario": 999},
            {"productoId": b.p2, "cantidad": 7, "costoUnitario": 1},
            {"productoId": b.p1, "cantidad": 1, "costoUnitario": 1},
        ]),
    )
    .await;
    let id = o["id"].as_i64().unwrap();
    // The body is never read, content type included.
    let r = app
        .post(&format!("/api/ordenes-compra/{id}/recibir"))
        .cookie(c)
        .cabecera("content-type", "text/plain")
        .cuerpo("{no json")
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.texto);
    let fila = fila_orden(app, id).await;
    assert_eq!(escalares(&r.body), fila);
    assert_eq!(r.body["estado"], "RECIBIDA");
    assert!(r.body["recibidaEn"].is_string());
    assert!(r.body.get("proveedor").is_none());
    assert_eq!(r.body["items"], o["items"], "item scalars, no producto");
    assert_eq!((app.stock(b.p1).await, app.stock(b.p2).await), (16, 7));
    let movs = app.pg.query(
        r#"SELECT "productoId", "tipo"::text, "cantidad", "notas", "ordenCompraId", "ventaId", "empresaId" FROM "Movimiento" ORDER BY "id""#, &[],
    ).await.unwrap();
    let movs: Vec<FilaMovimiento> = movs
        .iter()
        .map(|f| {
            (
                f.get(0),
                f.get(1),
                f.get(2),
                f.get(3),
                f.get(4),
                f.get(5),
                f.get(6),
            )
        })
        .collect();
    let nota = format!("Orden de compra #{id}");
    assert_eq!(
        movs,
        vec![
            (
                b.p1,
                "entrada".into(),
                5,
                nota.clone(),
                Some(id as i32),
                None,
                b.f.e.clone()
            ),
            (
                b.p2,
                "entrada".into(),
                7,
                nota.clone(),
                Some(id as i32),
                None,
                b.f.e.clone()
            ),
            (
                b.p1,
                "entrada".into(),
                1,
                nota.clone(),
                Some(id as i32),
                None,
                b.f.e.clone()
            ),
        ]
    );
    let a = auditoria(app, "OrdenCompra", id).await;
    assert_eq!(a.len(), 2);
    assert_eq!(
        (
            a[1].0.as_str(),
            a[1].1.as_deref(),
            a[1].2.as_deref(),
            &a[1].3
        ),
        (
            "ACTUALIZAR",
            Some(b.f.admin.id.as_str()),
            Some(app.ip.as_str()),
            &json!({"recibida": true})
        )
    );
    // No price change, no price history, no notification.
    assert_eq!(
        app.contar(
            r#"SELECT count(*) FROM "Producto" WHERE "precio" <> 1000"#,
            &[]
        )
        .await,
        0
    );
    assert_eq!(
        app.contar(r#"SELECT count(*) FROM "Notificacion""#, &[])
            .await,
        0
    );
    // Second receipt and cancel → their 409s, nothing more applied.
    let r = app
        .post(&format!("/api/ordenes-compra/{id}/recibir"))
        .cookie(c)
        .send()
        .await;
    assert_eq!(r.err(), (409, "La orden ya fue recibida o cancelada"));
    let r = app
        .post(&format!("/api/ordenes-compra/{id}/cancelar"))
        .cookie(c)
        .send()
        .await;
    assert_eq!(
        r.err(),
        (409, "Solo se pueden cancelar órdenes en borrador")
    );
    assert_eq!((app.stock(b.p1).await, app.stock(b.p2).await), (16, 7));
    assert_eq!(fila_orden(app, id).await, fila);
}

#[tokio::test]
async fn ordenes_recibir_y_cancelar_404_de_otra_empresa() {
    let b = base().await;
    let (app, c) = (&b.f.app, &b.f.c);
    let o = orden(
        app,
        c,
        b.prov,
        json!([{"productoId": b.p1, "cantidad": 5, "costoUnitario": 1}]),
    )
    .await;
    let id = o["id"].as_i64().unwrap();
    let otra = app.empresa().await;
    let (_, c2) = app.admin(&otra).await;
    for accion in ["recibir", "cancelar"] {
        for (cookie, oid) in [(c2.as_str(), id), (c.as_str(), 999999)] {
            let r = app
                .post(&format!("/api/ordenes-compra/{oid}/{accion}"))
                .cookie(cookie)
                .send()
                .await;
            assert_eq!(
                r.err(),
                (404, "Orden de compra no encontrada"),
                "{accion} {oid}"
            );
        }
    }
    assert_eq!(fila_orden(app, id).await["estado"], "BORRADOR");
    assert_eq!(app.stock(b.p1).await, 10);
}

#[tokio::test]
async fn ordenes_cancelar_borrador_auditado_y_luego_409() {
    let b = base().await;
    let (app, c) = (&b.f.app, &b.f.c);
    let o = orden(
        app,
        c,
        b.prov,
        json!([{"productoId": b.p1, "cantidad": 5, "costoUnitario": 1}]),
    )
    .await;
    let id = o["id"].as_i64().unwrap();
    let antes = fila_orden(app, id).await;
    let r = app
        .post(&format!("/api/ordenes-compra/{id}/cancelar"))
        .cookie(c)
        .cuerpo("basura")
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.texto);
    let despues = fila_orden(app, id).await;
    assert_eq!(r.body, despues, "scalars only");
    assert_eq!(despues["estado"], "CANCELADA");
    let a = auditoria(app, "OrdenCompra", id).await;
    assert_eq!(
        (a[1].0.as_str(), a[1].1.as_deref(), &a[1].3),
        (
            "ACTUALIZAR",
            Some(b.f.admin.id.as_str()),
            &json!({"antes": antes, "despues": despues})
        )
    );
    let r = app
        .post(&format!("/api/ordenes-compra/{id}/cancelar"))
        .cookie(c)
        .send()
        .await;
    assert_eq!(
        r.err(),
        (409, "Solo se pueden cancelar órdenes en borrador")
    );
    let r = app
        .post(&format!("/api/ordenes-compra/{id}/recibir"))
        .cookie(c)
        .send()
        .await;
    assert_eq!(r.err(), (409, "La orden ya fue recibida o cancelada"));
    assert_eq!(app.stock(b.p1).await, 10);
    assert_eq!(
        app.contar(r#"SELECT count(*) FROM "Movimiento""#, &[])
            .await,
        0
    );
}

#[tokio::test]
async fn ordenes_crear_desde_sugerencias_fuerza_notas_y_sus_mensajes() {
    let b = base().await;
    let (app, c) = (&b.f.app, &b.f.c);
    let r = app.post("/api/compras/sugerencias").cookie(c)
        .json(json!({"proveedorId": b.prov, "items": [{"productoId": b.p2, "cantidad": 22, "costoUnitario": 0}], "notas": "otra cosa"}))
        .send().await;
    assert_eq!(r.status, 201, "{}", r.texto);
    let id = r.body["id"].as_i64().unwrap();
    assert_eq!(escalares(&r.body), fila_orden(app, id).await);
    assert_eq!(
        (&r.body["notas"], &r.body["total"], &r.body["estado"]),
        (
            &json!("Generada automáticamente desde sugerencias de compra"),
            &json!(0),
            &json!("BORRADOR")
        )
    );
    assert_eq!(r.body["proveedor"]["id"], b.prov);
    assert_eq!(r.body["items"][0]["cantidad"], 22);
    let a = auditoria(app, "OrdenCompra", id).await;
    assert_eq!(
        (a[0].0.as_str(), &a[0].3),
        ("CREAR", &json!({"despues": r.body}))
    );
    for (cuerpo, esperado) in [
        (json!({"proveedorId": "x"}), (400, "proveedorId inválido")),
        (
            json!({"proveedorId": 999}),
            (404, "Proveedor no encontrado"),
        ),
        (
            json!({"proveedorId": b.prov, "items": []}),
            (400, "La orden debe tener al menos un ítem"),
        ),
        (
            json!({"proveedorId": b.prov, "items": [{"productoId": 999, "cantidad": 1, "costoUnitario": 0}]}),
            (404, "Producto no encontrado o no pertenece a la empresa"),
        ),
    ] {
        let r = app
            .post("/api/compras/sugerencias")
            .cookie(c)
            .json(cuerpo.clone())
            .send()
            .await;
        assert_eq!(r.err(), esperado, "{cuerpo}");
    }
    for crudo in ["{", "null", "[1]"] {
        let r = app
            .post("/api/compras/sugerencias")
            .cookie(c)
            .cabecera("content-type", "application/json")
            .cuerpo(crudo)
            .send()
            .await;
        assert_eq!(r.err(), (400, "Error al crear orden de compra"), "{crudo}");
    }
}
