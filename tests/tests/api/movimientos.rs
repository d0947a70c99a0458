//! movimientos: every route of movimientos.md over real handlers and Postgres, including the
//! concurrent-exits acceptance test (50 exits of 1 on stock 10).

use serde_json::{Value, json};
use tests::{App, Opciones, spawn_app, spawn_app_con};

const SIN_PERMISO: &str = "No tienes permiso para realizar este movimiento";
const TIPO_INVALIDO: &str = "El tipo de movimiento debe ser \"entrada\" o \"salida\".";
const CAMPOS_INVALIDOS: &str = "Se requiere un productoId válido y una cantidad entera mayor a 0.";
const NO_ENCONTRADO: &str = "Producto no encontrado o no pertenece a la empresa";
const INACTIVO: &str = "Usuario inactivo o suspendido";

struct Base {
    app: App,
    e: String,
    c: String,
    cat: i32,
}

async fn base() -> Base {
    let app = spawn_app().await;
    let e = app.empresa().await;
    let (_, c) = app.admin(&e).await;
    let cat = app.categoria(&e, "General", "GEN").await;
    Base { app, e, c, cat }
}

/// A movement inserted directly (links optional).
async fn mov(
    app: &App,
    e: &str,
    producto: i32,
    tipo: &str,
    cantidad: i32,
    venta: Option<i32>,
    orden: Option<i32>,
) -> i32 {
    app.pg
        .query_one(
            r#"INSERT INTO "Movimiento" ("productoId", "tipo", "cantidad", "ventaId", "ordenCompraId", "empresaId")
               VALUES ($1, $2::text::"TipoMovimiento", $3, $4, $5, $6) RETURNING "id""#,
            &[&producto, &tipo, &cantidad, &venta, &orden, &e],
        )
        .await
        .unwrap()
        .get(0)
}

async fn venta(app: &App, e: &str) -> i32 {
    app.pg
        .query_one(
            r#"INSERT INTO "Venta" ("total", "empresaId") VALUES (1000, $1) RETURNING "id""#,
            &[&e],
        )
        .await
        .unwrap()
        .get(0)
}

async fn orden_compra(app: &App, e: &str) -> i32 {
    let prov: i32 = app
        .pg
        .query_one(
            r#"INSERT INTO "Proveedor" ("nombre", "empresaId") VALUES ('Prov', $1) RETURNING "id""#,
            &[&e],
        )
        .await
        .unwrap()
        .get(0);
    app.pg
        .query_one(
            r#"INSERT INTO "OrdenCompra" ("proveedorId", "estado", "empresaId")
               VALUES ($1, 'RECIBIDA', $2) RETURNING "id""#,
            &[&prov, &e],
        )
        .await
        .unwrap()
        .get(0)
}

/// A quote of `e` with one item of `producto`; `horas` from now until `validaHasta`.
async fn cotizacion(app: &App, e: &str, producto: i32, cantidad: i32, estado: &str, horas: i32) {
    let id: i32 = app
        .pg
        .query_one(
            r#"INSERT INTO "Cotizacion" ("total", "estado", "validaHasta", "empresaId")
               VALUES (1000, $1::text::"EstadoCotizacion",
                       (now() AT TIME ZONE 'UTC') + make_interval(hours => $2), $3)
               RETURNING "id""#,
            &[&estado, &horas, &e],
        )
        .await
        .unwrap()
        .get(0);
    app.pg
        .execute(
            r#"INSERT INTO "ItemCotizacion" ("cotizacionId", "productoId", "cantidad", "precioUnitario", "subtotal")
               VALUES ($1, $2, $3, 1000, 1000 * $3)"#,
            &[&id, &producto, &cantidad],
        )
        .await
        .unwrap();
}

async fn fijar_stock_minimo(app: &App, producto: i32, minimo: i32) {
    app.pg
        .execute(
            r#"UPDATE "Producto" SET "stockMinimo" = $2 WHERE "id" = $1"#,
            &[&producto, &minimo],
        )
        .await
        .unwrap();
}

/// `creadoEn` of a row as the API serializes it.
async fn fecha(app: &App, tabla: &str, id: i32) -> String {
    app.pg
        .query_one(
            &format!(
                r#"SELECT to_char("creadoEn", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') FROM "{tabla}" WHERE "id" = $1"#
            ),
            &[&id],
        )
        .await
        .unwrap()
        .get(0)
}

/// The product as `app.producto` creates it (nombre = codigo, precio 1000, stockMinimo 1).
async fn producto_json(
    app: &App,
    e: &str,
    cat: i32,
    id: i32,
    codigo: &str,
    cantidad: i32,
) -> Value {
    json!({
        "id": id, "nombre": codigo, "descripcion": null, "codigo": codigo, "precio": 1000,
        "cantidad": cantidad, "stockMinimo": 1, "categoriaId": cat,
        "creadoEn": fecha(app, "Producto", id).await, "empresaId": e,
    })
}

async fn contar_movimientos(app: &App, e: &str) -> i64 {
    app.contar(
        r#"SELECT count(*) FROM "Movimiento" WHERE "empresaId" = $1"#,
        &[&e],
    )
    .await
}

fn ids(r: &tests::Res) -> Vec<i64> {
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect()
}

// ---------- GET /api/movimientos ----------

#[tokio::test]
async fn listar_recientes_primero_con_producto_actual_y_cursor() {
    let Base { app, e, c, cat } = base().await;
    let otra = app.empresa().await;
    let cat_otra = app.categoria(&otra, "Ajena", "AJE").await;
    let p = app.producto(&e, cat, "GEN-001", 10).await;
    let q = app.producto(&otra, cat_otra, "AJE-001", 10).await;
    let m1 = mov(&app, &e, p, "entrada", 10, None, None).await;
    let m2 = mov(&app, &e, p, "salida", 2, None, None).await;
    let ajeno = mov(&app, &otra, q, "entrada", 1, None, None).await;
    let m3 = mov(&app, &e, p, "salida", 1, None, None).await;
    // The embedded product shows current values, not a snapshot.
    app.pg
        .execute(
            r#"UPDATE "Producto" SET "cantidad" = 7 WHERE "id" = $1"#,
            &[&p],
        )
        .await
        .unwrap();

    let r = app.get("/api/movimientos?limite=2").cookie(&c).send().await;
    assert_eq!(r.status, 200, "{}", r.texto);
    let prod = producto_json(&app, &e, cat, p, "GEN-001", 7).await;
    assert_eq!(
        r.body,
        json!({
            "items": [
                {"id": m3, "productoId": p, "tipo": "salida", "cantidad": 1, "notas": null,
                 "ventaId": null, "ordenCompraId": null, "creadoEn": fecha(&app, "Movimiento", m3).await,
                 "empresaId": e, "producto": prod},
                {"id": m2, "productoId": p, "tipo": "salida", "cantidad": 2, "notas": null,
                 "ventaId": null, "ordenCompraId": null, "creadoEn": fecha(&app, "Movimiento", m2).await,
                 "empresaId": e, "producto": prod},
            ],
            "nextCursor": m2,
            "total": 2,
        })
    );
    let r = app
        .get(&format!("/api/movimientos?limite=2&cursor={m2}"))
        .cookie(&c)
        .send()
        .await;
    assert_eq!(
        (ids(&r), &r.body["nextCursor"], &r.body["total"]),
        (vec![m1 as i64], &json!(null), &json!(1))
    );

    // Required keyset `id < cursor`: a cursor row that no longer exists still pages on, and a
    // cursor id of another empresa skips nothing of ours.
    app.pg
        .execute(r#"DELETE FROM "Movimiento" WHERE "id" = $1"#, &[&m2])
        .await
        .unwrap();
    let r = app
        .get(&format!("/api/movimientos?cursor={m2}"))
        .cookie(&c)
        .send()
        .await;
    assert_eq!(ids(&r), vec![m1 as i64]);
    let r = app
        .get(&format!("/api/movimientos?cursor={ajeno}&tipo=entrada"))
        .cookie(&c)
        .send()
        .await;
    assert_eq!(ids(&r), vec![m1 as i64], "other parameters are ignored");
}

#[tokio::test]
async fn listar_limite_acotado_y_cursor_invalido_es_primera_pagina() {
    let Base { app, e, c, cat } = base().await;
    let p = app.producto(&e, cat, "GEN-001", 0).await;
    app.pg
        .execute(
            r#"INSERT INTO "Movimiento" ("productoId", "tipo", "cantidad", "empresaId")
               SELECT $1, 'entrada', 1, $2 FROM generate_series(1, 105)"#,
            &[&p, &e],
        )
        .await
        .unwrap();
    let ultimo: i32 = app
        .pg
        .query_one(r#"SELECT max("id") FROM "Movimiento""#, &[])
        .await
        .unwrap()
        .get(0);
    for (q, n) in [
        ("", 50),
        ("?limite=", 50),
        ("?limite=abc", 50),
        ("?limite=0", 1),
        ("?limite=-5", 1),
        ("?limite=7xyz", 7),
        ("?limite=1000", 100),
        ("?cursor=abc", 50),
        ("?cursor=0", 50),
        ("?cursor=-4", 50),
        ("?cursor=99999999999", 50),
    ] {
        let r = app
            .get(&format!("/api/movimientos{q}"))
            .cookie(&c)
            .send()
            .await;
        assert_eq!(r.status, 200, "{q}: {}", r.texto);
        let got = ids(&r);
        assert_eq!(
            (got.len(), r.body["total"].as_u64()),
            (n, Some(n as u64)),
            "{q}"
        );
        assert_eq!(got[0], ultimo as i64, "{q}: first page");
        assert_eq!(r.body["nextCursor"], json!(got[n - 1]), "{q}");
    }
    let r = app
        .get("/api/movimientos?limite=100")
        .cookie(&c)
        .send()
        .await;
    let siguiente = r.body["nextCursor"].as_i64().unwrap();
    let r = app
        .get(&format!("/api/movimientos?limite=100&cursor={siguiente}"))
        .cookie(&c)
        .send()
        .await;
    assert_eq!(
        (ids(&r).len(), &r.body["nextCursor"]),
        (5, &json!(null)),
        "last page"
    );
    let vacia = spawn_app().await;
    let e2 = vacia.empresa().await;
    let (_, c2) = vacia.admin(&e2).await;
    let r = vacia
        .get("/api/movimientos?limite=0")
        .cookie(&c2)
        .send()
        .await;
    assert_eq!(
        (r.status, r.body),
        (200, json!({"items": [], "nextCursor": null, "total": 0}))
    );
}

#[tokio::test]
async fn listar_guardas() {
    let app = spawn_app().await;
    let e = app.empresa().await;
    assert_eq!(
        app.get("/api/movimientos").send().await.err(),
        (401, "No autenticado")
    );
    for (rol, estado) in [("ADMIN", "SUSPENDIDO"), ("USUARIO", "PENDIENTE")] {
        let u = app.usuario(&e, rol, estado, &[]).await;
        let c = app.sesion(&u).await;
        let r = app.get("/api/movimientos").cookie(&c).send().await;
        assert_eq!(r.err(), (403, INACTIVO), "{rol} {estado}");
    }
    let u = app.usuario(&e, "USUARIO", "ACTIVO", &[]).await;
    let c = app.sesion(&u).await;
    let r = app.get("/api/movimientos").cookie(&c).send().await;
    assert_eq!(r.status, 200, "any active user reads the ledger");
}

// ---------- POST /api/movimientos ----------

#[tokio::test]
async fn crear_entrada_201_exacto_y_auditoria_en_la_transaccion() {
    let Base { app, e, c, cat } = base().await;
    let p = app.producto(&e, cat, "GEN-001", 3).await;
    let r = app
        .post("/api/movimientos")
        .cookie(&c)
        .json(json!({"tipo": "entrada", "productoId": p.to_string(), "cantidad": " 5 ", "notas": "  Compra local "}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.texto);
    let id = r.body["id"].as_i64().unwrap() as i32;
    assert_eq!(
        r.body,
        json!({
            "id": id, "productoId": p, "tipo": "entrada", "cantidad": 5, "notas": "  Compra local ",
            "ventaId": null, "ordenCompraId": null, "creadoEn": fecha(&app, "Movimiento", id).await,
            "empresaId": e, "producto": producto_json(&app, &e, cat, p, "GEN-001", 8).await,
        })
    );
    assert_eq!(app.stock(p).await, 8);
    let usuario: String = app
        .pg
        .query_one(
            r#"SELECT "id" FROM "Usuario" WHERE "empresaId" = $1"#,
            &[&e],
        )
        .await
        .unwrap()
        .get(0);
    let f = app
        .pg
        .query_one(
            r#"SELECT "usuarioId", "accion", "entidad", "entidadId", "datos", "ip" FROM "Auditoria" WHERE "empresaId" = $1"#,
            &[&e],
        )
        .await
        .unwrap();
    assert_eq!(f.get::<_, String>(0), usuario);
    assert_eq!(f.get::<_, String>(1), "CREAR");
    assert_eq!(f.get::<_, String>(2), "Movimiento");
    assert_eq!(f.get::<_, String>(3), id.to_string());
    assert_eq!(f.get::<_, Value>(4), json!({"despues": r.body}));
    assert_eq!(f.get::<_, String>(5), app.ip);
    assert_eq!(
        app.contar(r#"SELECT count(*) FROM "Notificacion""#, &[])
            .await,
        0,
        "entries never notify"
    );
}

#[tokio::test]
async fn crear_salida_notas_vacias_o_no_texto_son_null_e_ip_por_defecto_vacia() {
    let Base { app, e, c, cat } = base().await;
    let p = app.producto(&e, cat, "GEN-001", 100).await;
    for (notas, i) in [
        (json!(""), 1),
        (json!(123), 2),
        (json!({"a": 1}), 3),
        (json!(null), 4),
    ] {
        let r = app
            .post("/api/movimientos")
            .cookie(&c)
            .json(json!({"tipo": "salida", "productoId": p, "cantidad": i, "notas": notas}))
            .send()
            .await;
        assert_eq!(r.status, 201, "{notas}: {}", r.texto);
        assert_eq!(r.body["notas"], json!(null), "{notas}");
        assert_eq!(
            r.body["producto"]["cantidad"],
            json!(100 - (1..=i).sum::<i32>())
        );
    }
    assert_eq!(app.stock(p).await, 90);
    // No client address known (local run): the audit ip is the literal ''.
    let r = app
        .post("/api/movimientos")
        .cookie(&c)
        .ip("")
        .json(json!({"tipo": "salida", "productoId": p, "cantidad": 1}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.texto);
    let ip: Option<String> = app
        .pg
        .query_one(
            r#"SELECT "ip" FROM "Auditoria" WHERE "entidadId" = $1"#,
            &[&r.body["id"].to_string()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(ip.as_deref(), Some(""));
}

#[tokio::test]
async fn crear_fallo_de_auditoria_revierte_todo() {
    let Base { app, e, c, cat } = base().await;
    let p = app.producto(&e, cat, "GEN-001", 10).await;
    app.pg
        .batch_execute(
            r#"ALTER TABLE "Auditoria" ADD CONSTRAINT sabotaje CHECK ("entidad" <> 'Movimiento') NOT VALID"#,
        )
        .await
        .unwrap();
    let r = app
        .post("/api/movimientos")
        .cookie(&c)
        .json(json!({"tipo": "salida", "productoId": p, "cantidad": 9}))
        .send()
        .await;
    assert_eq!(r.err(), (500, "Error al crear movimiento"));
    assert_eq!(app.stock(p).await, 10, "stock rolled back");
    assert_eq!(
        contar_movimientos(&app, &e).await,
        0,
        "movement rolled back"
    );
    assert_eq!(
        app.contar(r#"SELECT count(*) FROM "Notificacion""#, &[])
            .await,
        0
    );
}

#[tokio::test]
async fn crear_errores_documentados() {
    let Base { app, e, c, cat } = base().await;
    let p = app.producto(&e, cat, "GEN-001", 10).await;
    let otra = app.empresa().await;
    let cat_otra = app.categoria(&otra, "Ajena", "AJE").await;
    let ajeno = app.producto(&otra, cat_otra, "AJE-001", 10).await;
    let ok = |campo: &str, v: Value| {
        let mut b = json!({"tipo": "salida", "productoId": p, "cantidad": 1});
        b[campo] = v;
        b
    };
    let mut casos = vec![
        (
            "sin tipo",
            json!({"productoId": p, "cantidad": 1}),
            400,
            TIPO_INVALIDO.to_string(),
        ),
        (
            "tipo en mayúsculas",
            ok("tipo", json!("SALIDA")),
            400,
            TIPO_INVALIDO.into(),
        ),
        (
            "tipo número",
            ok("tipo", json!(1)),
            400,
            TIPO_INVALIDO.into(),
        ),
        (
            "tipo antes que campos",
            json!({"tipo": "x", "productoId": "abc", "cantidad": 0}),
            400,
            TIPO_INVALIDO.into(),
        ),
        ("cuerpo arreglo", json!([1]), 400, TIPO_INVALIDO.into()),
        (
            "sin productoId",
            json!({"tipo": "salida", "cantidad": 1}),
            400,
            CAMPOS_INVALIDOS.into(),
        ),
        (
            "sin cantidad",
            json!({"tipo": "salida", "productoId": p}),
            400,
            CAMPOS_INVALIDOS.into(),
        ),
        (
            "productoId de otra empresa",
            ok("productoId", json!(ajeno)),
            404,
            NO_ENCONTRADO.into(),
        ),
        (
            "productoId inexistente",
            ok("productoId", json!(2147483647)),
            404,
            NO_ENCONTRADO.into(),
        ),
        (
            "salida mayor que el stock",
            ok("cantidad", json!("11")),
            400,
            "Stock insuficiente para \"GEN-001\". Solicitas 11, disponible 10.".into(),
        ),
        (
            "entrada que desborda 32 bits",
            json!({"tipo": "entrada", "productoId": p, "cantidad": 2147483647}),
            500,
            "Error al crear movimiento".into(),
        ),
    ];
    // Strict integers (§5.1 Required): the reference's parseInt quirks are refused.
    for campo in ["productoId", "cantidad"] {
        for v in [
            json!("1e3"),
            json!(1e3),
            json!("5.0"),
            json!(5.0),
            json!(2.5),
            json!("5abc"),
            json!(true),
            json!(""),
            json!([5]),
            json!(null),
            json!(0),
            json!("0"),
            json!(-1),
            json!("-1"),
            json!("+1"),
            json!(2147483648u64),
            json!("2147483648"),
        ] {
            casos.push((
                "entero estricto",
                ok(campo, v),
                400,
                CAMPOS_INVALIDOS.into(),
            ));
        }
    }
    for (caso, cuerpo, status, msg) in casos {
        let r = app
            .post("/api/movimientos")
            .cookie(&c)
            .json(cuerpo.clone())
            .send()
            .await;
        assert_eq!(r.err(), (status, msg.as_str()), "{caso}: {cuerpo}");
    }
    for (caso, cuerpo, tipo) in [
        ("json roto", "{\"tipo\":", Some("application/json")),
        ("null", "null", Some("application/json")),
        ("vacío", "", Some("application/json")),
        ("sin cuerpo ni tipo", "", None),
        (
            "sin content-type json",
            "{\"tipo\":\"salida\",\"productoId\":1,\"cantidad\":1}",
            Some("text/plain"),
        ),
    ] {
        let mut r = app.post("/api/movimientos").cookie(&c).cuerpo(cuerpo);
        if let Some(t) = tipo {
            r = r.cabecera("content-type", t);
        }
        assert_eq!(
            r.send().await.err(),
            (400, "Error al crear movimiento"),
            "{caso}"
        );
    }
    assert_eq!(app.stock(p).await, 10);
    assert_eq!(
        app.stock(ajeno).await,
        10,
        "another empresa's product untouched"
    );
    assert_eq!(contar_movimientos(&app, &e).await, 0, "nothing written");
    assert_eq!(contar_movimientos(&app, &otra).await, 0, "nothing written");
    assert_eq!(
        app.contar(r#"SELECT count(*) FROM "Auditoria""#, &[]).await,
        0
    );
}

#[tokio::test]
async fn crear_guardas_y_permisos() {
    let Base { app, e, cat, .. } = base().await;
    let p = app.producto(&e, cat, "GEN-001", 100).await;
    let cuerpo = |tipo: &str| json!({"tipo": tipo, "productoId": p, "cantidad": 1});
    let roto = |c: Option<String>| {
        let mut r = app
            .post("/api/movimientos")
            .cuerpo("{roto")
            .cabecera("content-type", "application/json");
        if let Some(c) = c {
            r = r.cookie(&c);
        }
        r.send()
    };
    // G1 before the body.
    assert_eq!(roto(None).await.err(), (401, "No autenticado"));
    assert_eq!(
        app.post("/api/movimientos")
            .json(cuerpo("entrada"))
            .send()
            .await
            .err(),
        (401, "No autenticado")
    );
    // G2: inactive users of any role and permission get the inactive 403, even with a bad body.
    for (rol, estado) in [
        ("ADMIN", "SUSPENDIDO"),
        ("SUPER_ADMIN", "PENDIENTE"),
        ("USUARIO", "SUSPENDIDO"),
    ] {
        let u = app
            .usuario(&e, rol, estado, &["REGISTRAR_MOVIMIENTOS"])
            .await;
        let c = app.sesion(&u).await;
        let r = app
            .post("/api/movimientos")
            .cookie(&c)
            .json(cuerpo("entrada"))
            .send()
            .await;
        assert_eq!(r.err(), (403, INACTIVO), "{rol} {estado}");
        assert_eq!(roto(Some(c)).await.err(), (403, INACTIVO), "{rol} {estado}");
    }
    // G4 (§5.2 Required): REGISTRAR_MOVIMIENTOS or admin; REALIZAR_VENTAS alone grants no exit,
    // AGREGAR_STOCK / DESCONTAR_STOCK grant nothing. Checked before the body (403, not 400).
    for permisos in [
        &[][..],
        &["REALIZAR_VENTAS"][..],
        &["AGREGAR_STOCK", "DESCONTAR_STOCK", "VER_ANALISIS"][..],
    ] {
        let u = app.usuario(&e, "USUARIO", "ACTIVO", permisos).await;
        let c = app.sesion(&u).await;
        for tipo in ["entrada", "salida", "x"] {
            let r = app
                .post("/api/movimientos")
                .cookie(&c)
                .json(cuerpo(tipo))
                .send()
                .await;
            assert_eq!(r.err(), (403, SIN_PERMISO), "{permisos:?} {tipo}");
        }
        assert_eq!(
            roto(Some(c)).await.err(),
            (403, SIN_PERMISO),
            "{permisos:?}"
        );
    }
    assert_eq!(app.stock(p).await, 100, "no refused caller moved stock");
    assert_eq!(contar_movimientos(&app, &e).await, 0);
    // Allowed callers, both directions.
    let mut esperado = 100;
    for (rol, permisos) in [
        ("USUARIO", &["REGISTRAR_MOVIMIENTOS"][..]),
        ("ADMIN", &[][..]),
        ("SUPER_ADMIN", &[][..]),
    ] {
        let u = app.usuario(&e, rol, "ACTIVO", permisos).await;
        let c = app.sesion(&u).await;
        for (tipo, delta) in [("entrada", 1), ("salida", -1), ("salida", -1)] {
            let r = app
                .post("/api/movimientos")
                .cookie(&c)
                .json(cuerpo(tipo))
                .send()
                .await;
            esperado += delta;
            assert_eq!(r.status, 201, "{rol} {tipo}: {}", r.texto);
            assert_eq!(r.body["producto"]["cantidad"], json!(esperado));
            assert_eq!(r.body["empresaId"], json!(e));
        }
    }
    assert_eq!(app.stock(p).await, 97);
}

#[tokio::test]
async fn crear_salida_respeta_reservas_vigentes_y_no_las_vencidas() {
    let Base { app, e, c, cat } = base().await;
    let p = app.producto(&e, cat, "GEN-001", 10).await;
    let otra = app.empresa().await;
    // Reserving: PENDIENTE and validaHasta in the future, this empresa.
    cotizacion(&app, &e, p, 3, "PENDIENTE", 24).await;
    cotizacion(&app, &e, p, 1, "PENDIENTE", 1).await;
    // Not reserving: expired, converted, cancelled, another empresa's quote.
    cotizacion(&app, &e, p, 5, "PENDIENTE", -1).await;
    cotizacion(&app, &e, p, 5, "CONVERTIDA", 24).await;
    cotizacion(&app, &e, p, 5, "CANCELADA", 24).await;
    cotizacion(&app, &otra, p, 5, "PENDIENTE", 24).await;
    let salida = |n: i32| {
        app.post("/api/movimientos")
            .cookie(&c)
            .json(json!({"tipo": "salida", "productoId": p, "cantidad": n}))
            .send()
    };
    assert_eq!(
        salida(7).await.err(),
        (
            400,
            "Stock insuficiente para \"GEN-001\". Solicitas 7, disponible 6."
        )
    );
    assert_eq!(app.stock(p).await, 10);
    let r = salida(6).await;
    assert_eq!(
        (r.status, &r.body["producto"]["cantidad"]),
        (201, &json!(4))
    );
    assert_eq!(
        salida(1).await.err(),
        (
            400,
            "Stock insuficiente para \"GEN-001\". Solicitas 1, disponible 0."
        )
    );
    // Entries have no availability check.
    let r = app
        .post("/api/movimientos")
        .cookie(&c)
        .json(json!({"tipo": "entrada", "productoId": p, "cantidad": 1}))
        .send()
        .await;
    assert_eq!(r.status, 201);
    // Stock below the reservations (edited elsewhere): disponible clamps to 0.
    app.pg
        .execute(
            r#"UPDATE "Producto" SET "cantidad" = 2 WHERE "id" = $1"#,
            &[&p],
        )
        .await
        .unwrap();
    assert_eq!(
        salida(1).await.err(),
        (
            400,
            "Stock insuficiente para \"GEN-001\". Solicitas 1, disponible 0."
        )
    );
    assert_eq!(app.stock(p).await, 2);
}

#[tokio::test]
async fn crear_salida_que_cruza_el_umbral_notifica_stock_bajo_una_vez() {
    let Base { app, e, c, cat } = base().await;
    let p = app.producto(&e, cat, "GEN-001", 8).await;
    fijar_stock_minimo(&app, p, 3).await; // threshold: 3 + 2 = 5
    let mover = |tipo: &'static str, n: i32| {
        app.post("/api/movimientos")
            .cookie(&c)
            .json(json!({"tipo": tipo, "productoId": p, "cantidad": n}))
            .send()
    };
    let notificaciones = || async {
        app.pg
            .query(
                r#"SELECT "tipo"::text, "titulo", "mensaje", "link", "usuarioId", "leida", "leidaEn" IS NULL, "empresaId"
                   FROM "Notificacion" ORDER BY "id""#,
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|f| {
                json!([
                    f.get::<_, String>(0),
                    f.get::<_, String>(1),
                    f.get::<_, Option<String>>(2),
                    f.get::<_, Option<String>>(3),
                    f.get::<_, Option<String>>(4),
                    f.get::<_, bool>(5),
                    f.get::<_, bool>(6),
                    f.get::<_, String>(7),
                ])
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(mover("salida", 2).await.status, 201); // 8 → 6: still above
    assert!(notificaciones().await.is_empty());
    assert_eq!(mover("salida", 1).await.status, 201); // 6 → 5: crossing
    let fila = |n: i32| {
        json!([
            "STOCK_BAJO",
            "Stock bajo: GEN-001",
            format!("Quedan {n} unidades (mínimo 3)."),
            format!("/productos/{p}"),
            null,
            false,
            true,
            e,
        ])
    };
    assert_eq!(notificaciones().await, vec![fila(5)]);
    assert_eq!(mover("salida", 1).await.status, 201); // 5 → 4: staying below
    assert_eq!(mover("entrada", 1).await.status, 201); // entries create nothing
    assert_eq!(mover("entrada", 10).await.status, 201); // 5 → 15
    assert_eq!(notificaciones().await, vec![fila(5)]);
    assert_eq!(mover("salida", 15).await.status, 201); // 15 → 0: a new crossing
    assert_eq!(notificaciones().await, vec![fila(5), fila(0)]);
}

/// The issue's acceptance test: 50 concurrent exits of 1 on stock 10.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrencia_50_salidas_sobre_stock_10() {
    let Base { app, e, c, cat } = base().await;
    let p = app.producto(&e, cat, "GEN-001", 10).await;
    let peticiones = (0..50).map(|_| {
        app.post("/api/movimientos")
            .cookie(&c)
            .json(json!({"tipo": "salida", "productoId": p, "cantidad": 1}))
            .send()
    });
    let rs = futures::future::join_all(peticiones).await;
    let ok: Vec<_> = rs.iter().filter(|r| r.status == 201).collect();
    let rechazadas: Vec<_> = rs.iter().filter(|r| r.status == 400).collect();
    assert_eq!(
        (ok.len(), rechazadas.len()),
        (10, 40),
        "{:?}",
        rs.iter()
            .map(|r| (r.status, r.texto.clone()))
            .collect::<Vec<_>>()
    );
    for r in &rechazadas {
        assert_eq!(
            r.error(),
            Some("Stock insuficiente para \"GEN-001\". Solicitas 1, disponible 0.")
        );
    }
    // Serialised on the row lock: each success saw a different stock, 9 down to 0.
    let mut despues: Vec<i64> = ok
        .iter()
        .map(|r| r.body["producto"]["cantidad"].as_i64().unwrap())
        .collect();
    despues.sort_unstable();
    assert_eq!(despues, (0..10).collect::<Vec<_>>());
    assert_eq!(app.stock(p).await, 0);
    assert_eq!(
        app.contar(
            r#"SELECT count(*) FROM "Movimiento" WHERE "productoId" = $1 AND "tipo" = 'salida'"#,
            &[&p]
        )
        .await,
        10
    );
    assert_eq!(
        app.contar(
            r#"SELECT count(*) FROM "Auditoria" WHERE "entidad" = 'Movimiento'"#,
            &[]
        )
        .await,
        10
    );
}

#[tokio::test]
async fn crear_comparte_el_limite_de_5_por_minuto() {
    let app = spawn_app_con(Opciones {
        rate_limit_max: 5,
        redis: None,
        ..Opciones::default()
    })
    .await;
    for i in 0..5 {
        let r = app.post("/api/movimientos").json(json!({})).send().await;
        assert_eq!(r.err(), (401, "No autenticado"), "intento {i}");
    }
    let r = app.post("/api/movimientos").json(json!({})).send().await;
    // In-memory window opened by the first attempt, less than a second ago.
    assert!((59..=60).contains(&r.segundos_de_espera()));
    // GET and bulk-delete are not limited.
    assert_eq!(
        app.get("/api/movimientos").send().await.err(),
        (401, "No autenticado")
    );
    assert_eq!(
        app.post("/api/movimientos/bulk-delete")
            .json(json!({"ids": [1]}))
            .send()
            .await
            .err(),
        (401, "No autorizado")
    );
}

// ---------- POST /api/movimientos/bulk-delete ----------

#[tokio::test]
async fn eliminar_varios_borra_manuales_ascendentes_sin_tocar_stock_y_audita() {
    let Base { app, e, c, cat } = base().await;
    let p = app.producto(&e, cat, "GEN-001", 10).await;
    let q = app.producto(&e, cat, "GEN-002", 4).await;
    let otra = app.empresa().await;
    let cat_otra = app.categoria(&otra, "Ajena", "AJE").await;
    let ajeno_p = app.producto(&otra, cat_otra, "AJE-001", 1).await;
    let a = mov(&app, &e, p, "entrada", 10, None, None).await;
    let b = mov(&app, &e, q, "salida", 2, None, None).await;
    let d = mov(&app, &e, p, "salida", 3, None, None).await;
    let queda = mov(&app, &e, q, "entrada", 6, None, None).await;
    let ajeno = mov(&app, &otra, ajeno_p, "entrada", 1, None, None).await;
    let r = app
        .post("/api/movimientos/bulk-delete")
        .cookie(&c)
        .json(json!({"ids": [d, a.to_string(), b, b, 2147483647, ajeno, "x"]}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.texto);
    assert_eq!(r.body, json!({"eliminados": 3, "ids": [a, b, d]}));
    assert_eq!(contar_movimientos(&app, &e).await, 1);
    assert_eq!(
        contar_movimientos(&app, &otra).await,
        1,
        "foreign ids ignored"
    );
    let _ = queda;
    assert_eq!(
        (app.stock(p).await, app.stock(q).await),
        (10, 4),
        "stock not adjusted"
    );
    let f = app
        .pg
        .query_one(
            r#"SELECT "accion", "entidad", "entidadId", "datos", "ip" FROM "Auditoria" WHERE "empresaId" = $1"#,
            &[&e],
        )
        .await
        .unwrap();
    assert_eq!(f.get::<_, String>(0), "ELIMINAR");
    assert_eq!(f.get::<_, String>(1), "Movimiento");
    assert_eq!(f.get::<_, Option<String>>(2), None);
    assert_eq!(
        f.get::<_, Value>(3),
        json!({
            "operacion": "BULK_DELETE",
            "cantidad": 3,
            "movimientos": [
                {"id": a, "tipo": "entrada", "cantidad": 10, "productoId": p},
                {"id": b, "tipo": "salida", "cantidad": 2, "productoId": q},
                {"id": d, "tipo": "salida", "cantidad": 3, "productoId": p},
            ],
        })
    );
    assert_eq!(
        f.get::<_, Option<String>>(4).as_deref(),
        Some(app.ip.as_str())
    );
}

#[tokio::test]
async fn eliminar_varios_rechaza_movimientos_de_ventas_y_de_ordenes_de_compra() {
    let Base { app, e, c, cat } = base().await;
    let p = app.producto(&e, cat, "GEN-001", 10).await;
    let v = venta(&app, &e).await;
    let o = orden_compra(&app, &e).await;
    let manual = mov(&app, &e, p, "entrada", 1, None, None).await;
    let v1 = mov(&app, &e, p, "salida", 1, Some(v), None).await;
    let v2 = mov(&app, &e, p, "entrada", 1, Some(v), None).await;
    let o1 = mov(&app, &e, p, "entrada", 5, None, Some(o)).await;
    let borrar = |ids: Value| {
        app.post("/api/movimientos/bulk-delete")
            .cookie(&c)
            .json(json!({ "ids": ids }))
            .send()
    };
    let de_ventas = "2 movimiento(s) provienen de ventas o cancelaciones y no se pueden borrar. Filtra solo movimientos manuales o usa \"Restablecer datos\".";
    let de_ordenes = "1 movimiento(s) provienen de órdenes de compra y no se pueden borrar. Filtra solo movimientos manuales o usa \"Restablecer datos\".";
    assert_eq!(
        borrar(json!([manual, v1, v2, o1])).await.err(),
        (409, de_ventas),
        "sale-linked rows take precedence"
    );
    assert_eq!(
        borrar(json!([manual, v1, v2])).await.err(),
        (409, de_ventas)
    );
    assert_eq!(borrar(json!([manual, o1])).await.err(), (409, de_ordenes));
    assert_eq!(contar_movimientos(&app, &e).await, 4, "nothing deleted");
    assert_eq!(app.stock(p).await, 10);
    assert_eq!(
        app.contar(r#"SELECT count(*) FROM "Auditoria""#, &[]).await,
        0
    );
    let r = borrar(json!([manual])).await;
    assert_eq!(
        (r.status, r.body),
        (200, json!({"eliminados": 1, "ids": [manual]}))
    );
}

#[tokio::test]
async fn eliminar_varios_errores_documentados() {
    let Base { app, e, c, cat } = base().await;
    let otra = app.empresa().await;
    let cat_otra = app.categoria(&otra, "Ajena", "AJE").await;
    let q = app.producto(&otra, cat_otra, "AJE-001", 1).await;
    let ajeno = mov(&app, &otra, q, "entrada", 1, None, None).await;
    let _ = (e, cat);
    let sin = "Debes seleccionar al menos un movimiento.";
    for (caso, cuerpo, tipo) in [
        ("sin cuerpo", "", None),
        ("json roto", "{\"ids\":", Some("application/json")),
        ("null", "null", Some("application/json")),
        ("objeto vacío", "{}", Some("application/json")),
        ("ids vacío", "{\"ids\":[]}", Some("application/json")),
        (
            "ids no arreglo",
            "{\"ids\":\"1\"}",
            Some("application/json"),
        ),
        ("cuerpo arreglo", "[1,2]", Some("application/json")),
    ] {
        let mut r = app
            .post("/api/movimientos/bulk-delete")
            .cookie(&c)
            .cuerpo(cuerpo);
        if let Some(t) = tipo {
            r = r.cabecera("content-type", t);
        }
        assert_eq!(r.send().await.err(), (400, sin), "{caso}");
    }
    let r = app
        .post("/api/movimientos/bulk-delete")
        .cookie(&c)
        .json(json!({"ids": ["abc", 0, -1, null, true, 2147483648u64]}))
        .send()
        .await;
    assert_eq!(r.err(), (400, "IDs inválidos."));
    for ids in [json!([999999]), json!([ajeno])] {
        let r = app
            .post("/api/movimientos/bulk-delete")
            .cookie(&c)
            .json(json!({ "ids": ids }))
            .send()
            .await;
        assert_eq!(
            r.err(),
            (404, "No se encontró ningún movimiento con esos IDs."),
            "{ids}"
        );
    }
    assert_eq!(
        contar_movimientos(&app, &otra).await,
        1,
        "another empresa's row kept"
    );
}

#[tokio::test]
async fn eliminar_varios_guardas_de_la_familia_a() {
    let app = spawn_app().await;
    let e = app.empresa().await;
    let cuerpo = json!({"ids": [1]});
    assert_eq!(
        app.post("/api/movimientos/bulk-delete")
            .json(cuerpo.clone())
            .send()
            .await
            .err(),
        (401, "No autorizado")
    );
    let u = app.usuario(&e, "ADMIN", "SUSPENDIDO", &[]).await;
    let c = app.sesion(&u).await;
    let r = app
        .post("/api/movimientos/bulk-delete")
        .cookie(&c)
        .json(cuerpo.clone())
        .send()
        .await;
    assert_eq!(r.err(), (403, INACTIVO));
    let u = app
        .usuario(&e, "USUARIO", "ACTIVO", &["REGISTRAR_MOVIMIENTOS"])
        .await;
    let c = app.sesion(&u).await;
    let r = app
        .post("/api/movimientos/bulk-delete")
        .cookie(&c)
        .cuerpo("{roto")
        .cabecera("content-type", "application/json")
        .send()
        .await;
    assert_eq!(r.err(), (403, "No autorizado"));
}

#[tokio::test]
async fn rutas_405_con_allow_y_404_json() {
    let Base { app, c, .. } = base().await;
    let r = app.put("/api/movimientos").cookie(&c).send().await;
    assert_eq!(r.err(), (405, "Método no permitido"));
    assert_eq!(r.header("allow"), Some("GET, POST"));
    let r = app
        .get("/api/movimientos/bulk-delete")
        .cookie(&c)
        .send()
        .await;
    assert_eq!(r.err(), (405, "Método no permitido"));
    assert_eq!(r.header("allow"), Some("POST"));
    let r = app.get("/api/movimientos/5").cookie(&c).send().await;
    assert_eq!(r.err(), (404, "Ruta no encontrada"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let r = app.get("/api/movimientos/").cookie(&c).send().await;
    assert_eq!(r.status, 200, "one trailing slash is stripped");
}
