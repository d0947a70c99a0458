//! ventas: POST /api/ventas and POST /api/ventas/{id}/cancelar (sales.md §4.1–§4.3) over the real
//! handlers and Postgres: exact bodies, every documented error, guards, money, reservations,
//! idempotency, notifications, and the concurrency acceptance tests (each repeated in rounds).

use chrono::{NaiveDateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use tests::{App, Opciones, Res, spawn_app, spawn_app_con};

const GENERICO: &str = "Error al registrar la venta";
const GENERICO_CANCELAR: &str = "Error al cancelar la venta.";
const SIN_ITEMS: &str = "La venta debe incluir al menos un producto.";
const LINEA_INVALIDA: &str = "Cada item debe tener un producto valido y cantidad > 0.";
const SOLO_ADMIN: &str = "Solo un administrador puede cancelar ventas.";
const INACTIVO: &str = "Usuario inactivo o suspendido";
const NO_ENCONTRADA: &str = "Venta no encontrada.";
const YA_CANCELADA: &str = "Esta venta ya fue cancelada.";
const OTRO_DIA: &str = "Solo se pueden cancelar ventas registradas el mismo día calendario.";
const CLAVE_REUTILIZADA: &str =
    "Idempotency-Key ya usada con otra petición: usa una clave nueva para cada operación.";
const CLAVE_INVALIDA: &str = "Idempotency-Key inválida: usa entre 1 y 255 caracteres visibles.";

struct Base {
    app: App,
    e: String,
    /// The admin's id and cookie.
    u: String,
    c: String,
    cat: i32,
}

async fn base() -> Base {
    let app = spawn_app().await;
    let e = app.empresa().await;
    let (u, c) = app.admin(&e).await;
    let cat = app.categoria(&e, "General", "GEN").await;
    Base {
        app,
        e,
        u: u.id,
        c,
        cat,
    }
}

async fn fijar(app: &App, producto: i32, columna: &str, valor: f64) {
    app.pg
        .execute(
            &format!(r#"UPDATE "Producto" SET "{columna}" = $2 WHERE "id" = $1"#),
            &[&producto, &valor],
        )
        .await
        .unwrap();
}

async fn fijar_entero(app: &App, producto: i32, columna: &str, valor: i32) {
    app.pg
        .execute(
            &format!(r#"UPDATE "Producto" SET "{columna}" = $2 WHERE "id" = $1"#),
            &[&producto, &valor],
        )
        .await
        .unwrap();
}

async fn contar(app: &App, sql: &str) -> i64 {
    app.contar(sql, &[]).await
}

/// Movements of one `tipo` as `[productoId, tipo, cantidad, notas, ventaId, ordenCompraId]`,
/// in id order.
async fn movimientos(app: &App, tipo: &str) -> Vec<Value> {
    app.pg
        .query(
            r#"SELECT "productoId", "tipo"::text, "cantidad", "notas", "ventaId", "ordenCompraId"
               FROM "Movimiento" WHERE "tipo"::text = $1 ORDER BY "id""#,
            &[&tipo],
        )
        .await
        .unwrap()
        .iter()
        .map(|f| {
            json!([
                f.get::<_, i32>(0),
                f.get::<_, String>(1),
                f.get::<_, i32>(2),
                f.get::<_, Option<String>>(3),
                f.get::<_, Option<i32>>(4),
                f.get::<_, Option<i32>>(5)
            ])
        })
        .collect()
}

/// A timestamp column of a row as the API serializes it.
async fn fecha(app: &App, tabla: &str, columna: &str, id: i32) -> String {
    app.pg
        .query_one(
            &format!(
                r#"SELECT to_char("{columna}", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') FROM "{tabla}" WHERE "id" = $1"#
            ),
            &[&id],
        )
        .await
        .unwrap()
        .get(0)
}

/// A quote of `e` reserving `cantidad` of `producto`; `horas` from now until `validaHasta`.
async fn cotizacion(
    app: &App,
    e: &str,
    vendedor: Option<&str>,
    producto: i32,
    cantidad: i32,
    estado: &str,
    horas: i32,
) -> i32 {
    let id: i32 = app
        .pg
        .query_one(
            r#"INSERT INTO "Cotizacion" ("vendedorId", "total", "estado", "validaHasta", "empresaId")
               VALUES ($1, 1000, $2::text::"EstadoCotizacion",
                       (now() AT TIME ZONE 'UTC') + make_interval(hours => $3), $4)
               RETURNING "id""#,
            &[&vendedor, &estado, &horas, &e],
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
    id
}

async fn vender(app: &App, c: &str, items: Value) -> Res {
    app.post("/api/ventas")
        .cookie(c)
        .json(json!({ "items": items }))
        .send()
        .await
}

async fn cancelar(app: &App, c: &str, id: i64) -> Res {
    app.post(&format!("/api/ventas/{id}/cancelar"))
        .cookie(c)
        .json(json!({}))
        .send()
        .await
}

fn resumen(rs: &[Res]) -> Vec<(u16, String)> {
    rs.iter().map(|r| (r.status, r.texto.clone())).collect()
}

// ---------- POST /api/ventas ----------

#[tokio::test]
async fn crear_201_exacto_lineas_consolidadas_movimientos_y_auditoria() {
    let Base { app, e, u, c, cat } = base().await;
    let a = app.producto(&e, cat, "GEN-001", 10).await;
    let b = app.producto(&e, cat, "GEN-002", 5).await;
    fijar(&app, b, "precio", 2500.0).await;
    let r = app
        .post("/api/ventas")
        .cookie(&c)
        .json(json!({
            "items": [
                {"productoId": a, "cantidad": 2},
                {"productoId": b, "cantidad": "1", "precioUnitario": 1},
                {"productoId": a, "cantidad": 1},
            ],
            "notas": "  Mostrador  ",
            "clienteId": 99,
        }))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.texto);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let id = r.body["id"].as_i64().unwrap() as i32;
    let items: Vec<(i32, i32)> = app
        .pg
        .query(
            r#"SELECT "id", "productoId" FROM "ItemVenta" WHERE "ventaId" = $1 ORDER BY "id""#,
            &[&id],
        )
        .await
        .unwrap()
        .iter()
        .map(|f| (f.get(0), f.get(1)))
        .collect();
    assert_eq!(
        items.iter().map(|i| i.1).collect::<Vec<_>>(),
        vec![a, b],
        "merged per product, order of first appearance"
    );
    assert_eq!(
        r.body,
        json!({
            "id": id, "vendedorId": u, "clienteId": null, "total": 5500, "notas": "Mostrador",
            "creadoEn": fecha(&app, "Venta", "creadoEn", id).await,
            "canceladaEn": null, "canceladaPorId": null, "motivoCancelacion": null, "empresaId": e,
            "items": [
                {"id": items[0].0, "ventaId": id, "productoId": a, "cantidad": 3, "precioUnitario": 1000,
                 "subtotal": 3000, "producto": {"nombre": "GEN-001", "codigo": "GEN-001"}},
                {"id": items[1].0, "ventaId": id, "productoId": b, "cantidad": 1, "precioUnitario": 2500,
                 "subtotal": 2500, "producto": {"nombre": "GEN-002", "codigo": "GEN-002"}},
            ],
        })
    );
    assert_eq!((app.stock(a).await, app.stock(b).await), (7, 4));
    let nota = format!("Venta #{id} — Mostrador");
    assert_eq!(
        movimientos(&app, "salida").await,
        vec![
            json!([a, "salida", 3, nota, id, null]),
            json!([b, "salida", 1, nota, id, null]),
        ]
    );
    let (usuario, accion, entidad, entidad_id, datos, ip): (
        Option<String>,
        String,
        String,
        Option<String>,
        Value,
        Option<String>,
    ) = {
        let f = app
            .pg
            .query_one(
                r#"SELECT "usuarioId", "accion", "entidad", "entidadId", "datos", "ip" FROM "Auditoria""#,
                &[],
            )
            .await
            .unwrap();
        (f.get(0), f.get(1), f.get(2), f.get(3), f.get(4), f.get(5))
    };
    assert_eq!(
        (usuario, accion.as_str(), entidad.as_str(), entidad_id, ip),
        (
            Some(u),
            "CREAR",
            "Venta",
            Some(id.to_string()),
            Some(app.ip.clone())
        )
    );
    assert_eq!(
        datos,
        json!({"despues": {
            "id": id, "total": 5500, "totalItems": 2, "totalUnidades": 4, "notas": "Mostrador",
            "items": [
                {"productoId": a, "nombre": "GEN-001", "codigo": "GEN-001", "cantidad": 3, "precioUnitario": 1000},
                {"productoId": b, "nombre": "GEN-002", "codigo": "GEN-002", "cantidad": 1, "precioUnitario": 2500},
            ],
        }})
    );
}

#[tokio::test]
async fn crear_notas_vacias_o_no_texto_son_null_y_la_nota_del_movimiento_es_corta() {
    let Base { app, e, c, cat, .. } = base().await;
    let a = app.producto(&e, cat, "GEN-001", 10).await;
    for notas in [None, Some(json!("   ")), Some(json!(7)), Some(json!(null))] {
        let mut cuerpo = json!({"items": [{"productoId": a, "cantidad": 1}]});
        if let Some(n) = notas.clone() {
            cuerpo["notas"] = n;
        }
        let r = app.post("/api/ventas").cookie(&c).json(cuerpo).send().await;
        assert_eq!(r.status, 201, "{notas:?}: {}", r.texto);
        assert_eq!(r.body["notas"], Value::Null);
        let id = r.body["id"].as_i64().unwrap() as i32;
        let nota: Option<String> = app
            .pg
            .query_one(
                r#"SELECT "notas" FROM "Movimiento" WHERE "ventaId" = $1"#,
                &[&id],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(nota, Some(format!("Venta #{id}")));
        let datos: Value = app
            .pg
            .query_one(
                r#"SELECT "datos" FROM "Auditoria" WHERE "entidadId" = $1"#,
                &[&id.to_string()],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(datos["despues"]["notas"], Value::Null);
    }
}

#[tokio::test]
async fn crear_dinero_en_decimal_exacto_con_redondeo_lejos_de_cero() {
    let Base { app, e, c, cat, .. } = base().await;
    let p1 = app.producto(&e, cat, "GEN-001", 100).await;
    let p2 = app.producto(&e, cat, "GEN-002", 100).await;
    let p3 = app.producto(&e, cat, "GEN-003", 100).await;
    let p4 = app.producto(&e, cat, "GEN-004", 100).await;
    fijar(&app, p1, "precio", 0.1).await;
    fijar(&app, p2, "precio", 0.2).await;
    fijar(&app, p3, "precio", 19.99).await;
    fijar(&app, p4, "precio", 1.005).await;

    let r = vender(
        &app,
        &c,
        json!([{"productoId": p1, "cantidad": 1}, {"productoId": p2, "cantidad": 1}]),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.texto);
    assert!(!r.texto.contains("0.30000000000000004"));
    assert_eq!(r.body["total"], json!(0.3));
    assert_eq!(r.body["items"][0]["subtotal"], json!(0.1));
    assert_eq!(r.body["items"][1]["subtotal"], json!(0.2));

    let r = vender(&app, &c, json!([{"productoId": p3, "cantidad": 3}])).await;
    assert_eq!(
        (
            &r.body["total"],
            &r.body["items"][0]["precioUnitario"],
            &r.body["items"][0]["subtotal"]
        ),
        (&json!(59.97), &json!(19.99), &json!(59.97))
    );

    let r = vender(&app, &c, json!([{"productoId": p4, "cantidad": 1}])).await;
    assert_eq!(
        (
            &r.body["total"],
            &r.body["items"][0]["precioUnitario"],
            &r.body["items"][0]["subtotal"]
        ),
        (&json!(1.01), &json!(1.005), &json!(1.01)),
        "1.005 is the decimal 1.005, rounded half away from zero"
    );
    let id = r.body["id"].as_i64().unwrap() as i32;
    let (total, subtotal): (f64, f64) = {
        let f = app
            .pg
            .query_one(
                r#"SELECT v."total", i."subtotal" FROM "Venta" v JOIN "ItemVenta" i ON i."ventaId" = v."id"
                   WHERE v."id" = $1"#,
                &[&id],
            )
            .await
            .unwrap();
        (f.get(0), f.get(1))
    };
    assert_eq!(
        (total, subtotal),
        (1.01, 1.01),
        "stored as the rounded double"
    );
    let datos: Value = app
        .pg
        .query_one(
            r#"SELECT "datos" FROM "Auditoria" WHERE "entidadId" = $1"#,
            &[&id.to_string()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(datos["despues"]["total"], json!(1.01));
    assert_eq!(datos["despues"]["items"][0]["precioUnitario"], json!(1.005));
}

#[tokio::test]
async fn crear_errores_de_cuerpo_y_de_lineas() {
    let Base { app, e, c, cat, .. } = base().await;
    let a = app.producto(&e, cat, "GEN-001", 10).await;
    let sin_items = [
        ("sin items", json!({})),
        ("vacío", json!({"items": []})),
        ("objeto", json!({"items": {"productoId": a, "cantidad": 1}})),
        ("texto", json!({"items": "x"})),
        ("null", json!({"items": null})),
    ];
    for (caso, cuerpo) in sin_items {
        let r = app.post("/api/ventas").cookie(&c).json(cuerpo).send().await;
        assert_eq!(r.err(), (400, SIN_ITEMS), "{caso}");
    }
    let lineas = [
        ("item null", json!([null])),
        ("item número", json!([5])),
        ("sin cantidad", json!([{"productoId": a}])),
        ("sin productoId", json!([{"cantidad": 1}])),
        ("cantidad 0", json!([{"productoId": a, "cantidad": 0}])),
        (
            "cantidad negativa",
            json!([{"productoId": a, "cantidad": -1}]),
        ),
        ("cantidad 2.9", json!([{"productoId": a, "cantidad": 2.9}])),
        ("cantidad 1.0", json!([{"productoId": a, "cantidad": 1.0}])),
        (
            "cantidad '7abc'",
            json!([{"productoId": a, "cantidad": "7abc"}]),
        ),
        (
            "cantidad ' 1'",
            json!([{"productoId": a, "cantidad": " 1"}]),
        ),
        (
            "cantidad 1e3",
            json!([{"productoId": a, "cantidad": "1e3"}]),
        ),
        (
            "cantidad true",
            json!([{"productoId": a, "cantidad": true}]),
        ),
        (
            "cantidad > int4",
            json!([{"productoId": a, "cantidad": 2147483648u64}]),
        ),
        ("productoId 0", json!([{"productoId": 0, "cantidad": 1}])),
        (
            "productoId negativo",
            json!([{"productoId": -a, "cantidad": 1}]),
        ),
        (
            "productoId texto",
            json!([{"productoId": "abc", "cantidad": 1}]),
        ),
        (
            "segunda línea mala",
            json!([{"productoId": a, "cantidad": 1}, {"productoId": a, "cantidad": "x"}]),
        ),
        (
            "mala antes que producto inexistente",
            json!([{"productoId": 999999, "cantidad": 1}, {"productoId": a}]),
        ),
    ];
    for (caso, items) in lineas {
        let r = vender(&app, &c, items).await;
        assert_eq!(r.err(), (400, LINEA_INVALIDA), "{caso}");
    }
    // Malformed bodies: 400 with the generic message (§1.4 Required).
    for (caso, cuerpo, tipo) in [
        ("json roto", "{\"items\": [", Some("application/json")),
        ("vacío", "", Some("application/json")),
        ("null", "null", Some("application/json")),
        ("arreglo", "[1]", Some("application/json")),
        ("número", "5", Some("application/json")),
        ("texto", "\"x\"", Some("application/json")),
        ("sin content-type", "{\"items\": []}", None),
        ("text/plain", "{\"items\": []}", Some("text/plain")),
    ] {
        let mut pet = app.post("/api/ventas").cookie(&c).cuerpo(cuerpo);
        if let Some(t) = tipo {
            pet = pet.cabecera("content-type", t);
        }
        assert_eq!(pet.send().await.err(), (400, GENERICO), "{caso}");
    }
    // A string of digits is tolerated.
    let r = vender(
        &app,
        &c,
        json!([{"productoId": a.to_string(), "cantidad": "2"}]),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.texto);
    assert_eq!(app.stock(a).await, 8);
    assert_eq!(contar(&app, r#"SELECT count(*) FROM "Venta""#).await, 1);
}

#[tokio::test]
async fn crear_producto_ajeno_o_inexistente_404_y_stock_400_sin_escribir_nada() {
    let Base { app, e, c, cat, .. } = base().await;
    let a = app.producto(&e, cat, "GEN-001", 10).await;
    let b = app.producto(&e, cat, "GEN-002", 2).await;
    let otra = app.empresa().await;
    let cat_otra = app.categoria(&otra, "Otra", "OTR").await;
    let ajeno = app.producto(&otra, cat_otra, "OTR-001", 50).await;

    let r = vender(&app, &c, json!([{"productoId": ajeno, "cantidad": 1}])).await;
    assert_eq!(
        r.err(),
        (
            404,
            format!("Producto no encontrado o no pertenece a la empresa: {ajeno}").as_str()
        )
    );
    let r = vender(
        &app,
        &c,
        json!([{"productoId": a, "cantidad": 1}, {"productoId": 999999, "cantidad": 1}]),
    )
    .await;
    assert_eq!(
        r.err(),
        (
            404,
            "Producto no encontrado o no pertenece a la empresa: 999999"
        )
    );
    // Merged quantities are checked: 2 + 2 > 2.
    let r = vender(
        &app,
        &c,
        json!([{"productoId": b, "cantidad": 2}, {"productoId": a, "cantidad": 1}, {"productoId": b, "cantidad": 2}]),
    )
    .await;
    assert_eq!(
        r.err(),
        (
            400,
            "Stock insuficiente para \"GEN-002\". Solicitas 4, disponible 2."
        )
    );
    // First failing line decides: stock of line 1 before the missing product of line 2…
    let r = vender(
        &app,
        &c,
        json!([{"productoId": b, "cantidad": 3}, {"productoId": ajeno, "cantidad": 1}]),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.texto);
    // …and the missing product of line 1 before the stock of line 2.
    let r = vender(
        &app,
        &c,
        json!([{"productoId": ajeno, "cantidad": 1}, {"productoId": b, "cantidad": 3}]),
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.texto);
    // A merged quantity beyond int4 is just insufficient stock.
    let r = vender(
        &app,
        &c,
        json!([{"productoId": a, "cantidad": 2147483647}, {"productoId": a, "cantidad": 1}]),
    )
    .await;
    assert_eq!(
        r.err(),
        (
            400,
            "Stock insuficiente para \"GEN-001\". Solicitas 2147483648, disponible 10."
        )
    );
    assert_eq!(
        (
            app.stock(a).await,
            app.stock(b).await,
            app.stock(ajeno).await
        ),
        (10, 2, 50)
    );
    for tabla in [
        "Venta",
        "ItemVenta",
        "Movimiento",
        "Auditoria",
        "Notificacion",
    ] {
        assert_eq!(
            contar(&app, &format!(r#"SELECT count(*) FROM "{tabla}""#)).await,
            0,
            "{tabla}"
        );
    }
}

#[tokio::test]
async fn crear_guardas_en_orden() {
    let Base { app, e, cat, .. } = base().await;
    let a = app.producto(&e, cat, "GEN-001", 100).await;
    let items = json!([{"productoId": a, "cantidad": 1}]);

    // G1 before the body.
    let r = app.post("/api/ventas").cuerpo("{roto").send().await;
    assert_eq!(r.err(), (401, "No autenticado"));
    let r = app
        .post("/api/ventas")
        .cookie("__Secure-neon-auth.session_token=desconocido.firma")
        .json(json!({"items": items}))
        .send()
        .await;
    assert_eq!(r.err(), (401, "No autenticado"));

    // G2 for every role, before the permission and the body (Required, §8 #5).
    for (rol, estado, permisos) in [
        ("ADMIN", "SUSPENDIDO", vec![]),
        ("SUPER_ADMIN", "PENDIENTE", vec![]),
        ("USUARIO", "SUSPENDIDO", vec!["REALIZAR_VENTAS"]),
        ("USUARIO", "PENDIENTE", vec![]),
    ] {
        let u = app.usuario(&e, rol, estado, &permisos).await;
        let c = app.sesion(&u).await;
        let r = app
            .post("/api/ventas")
            .cookie(&c)
            .cuerpo("{roto")
            .send()
            .await;
        assert_eq!(r.err(), (403, INACTIVO), "{rol} {estado}");
    }

    // G4: a USUARIO needs REALIZAR_VENTAS, checked before the body.
    let u = app
        .usuario(
            &e,
            "USUARIO",
            "ACTIVO",
            &["VER_ANALISIS", "REGISTRAR_MOVIMIENTOS"],
        )
        .await;
    let c = app.sesion(&u).await;
    let r = app
        .post("/api/ventas")
        .cookie(&c)
        .cuerpo("{roto")
        .send()
        .await;
    assert_eq!(r.err(), (403, "No autorizado"));
    assert_eq!(
        vender(&app, &c, items.clone()).await.err(),
        (403, "No autorizado")
    );

    for (rol, permisos) in [
        ("USUARIO", vec!["REALIZAR_VENTAS"]),
        ("ADMIN", vec![]),
        ("SUPER_ADMIN", vec![]),
    ] {
        let u = app.usuario(&e, rol, "ACTIVO", &permisos).await;
        let c = app.sesion(&u).await;
        let r = vender(&app, &c, items.clone()).await;
        assert_eq!(r.status, 201, "{rol}: {}", r.texto);
        assert_eq!(r.body["vendedorId"], json!(u.id));
    }
    assert_eq!(app.stock(a).await, 97);
}

#[tokio::test]
async fn rutas_405_con_allow_y_404_json() {
    let Base { app, c, .. } = base().await;
    for metodo in [
        http::Method::GET,
        http::Method::PUT,
        http::Method::PATCH,
        http::Method::DELETE,
    ] {
        let r = app
            .pet(metodo.clone(), "/api/ventas")
            .cookie(&c)
            .send()
            .await;
        assert_eq!(r.err(), (405, "Método no permitido"), "{metodo}");
        assert_eq!(r.header("allow"), Some("POST"));
        assert_eq!(r.header("content-type"), Some("application/json"));
    }
    let r = app.get("/api/ventas/1/cancelar").cookie(&c).send().await;
    assert_eq!(r.err(), (405, "Método no permitido"));
    assert_eq!(r.header("allow"), Some("POST"));
    let r = app.get("/api/ventas/1").cookie(&c).send().await;
    assert_eq!(r.err(), (404, "Ruta no encontrada"));
    let r = app
        .post("/api/ventas/")
        .cookie(&c)
        .json(json!({}))
        .send()
        .await;
    assert_eq!(r.err(), (400, SIN_ITEMS), "one trailing slash is stripped");
}

#[tokio::test]
async fn crear_limitado_a_5_por_minuto_y_cancelar_no() {
    let app = spawn_app_con(Opciones {
        rate_limit_max: 5,
        redis: None,
        ..Opciones::default()
    })
    .await;
    for i in 0..5 {
        let r = app.post("/api/ventas").json(json!({})).send().await;
        assert_eq!(r.err(), (401, "No autenticado"), "intento {i}");
    }
    let r = app.post("/api/ventas").json(json!({})).send().await;
    // In-memory window opened by the first attempt, less than a second ago.
    assert!((59..=60).contains(&r.segundos_de_espera()));
    for _ in 0..3 {
        let r = app.post("/api/ventas/1/cancelar").send().await;
        assert_eq!(r.err(), (401, "No autenticado"));
    }
}

#[tokio::test]
async fn crear_respeta_reservas_vigentes_incluidas_las_propias_y_no_las_demas() {
    let Base { app, e, u, c, cat } = base().await;
    let a = app.producto(&e, cat, "GEN-001", 10).await;
    let otra = app.empresa().await;
    // Reserving: pending and unexpired, the seller's own quote included.
    cotizacion(&app, &e, Some(&u), a, 3, "PENDIENTE", 24).await;
    cotizacion(&app, &e, None, a, 2, "PENDIENTE", 1).await;
    // Not reserving: expired, converted, cancelled, another company's.
    cotizacion(&app, &e, None, a, 4, "PENDIENTE", -1).await;
    cotizacion(&app, &e, None, a, 4, "CONVERTIDA", 24).await;
    cotizacion(&app, &e, None, a, 4, "CANCELADA", 24).await;
    cotizacion(&app, &otra, None, a, 4, "PENDIENTE", 24).await;
    let r = vender(&app, &c, json!([{"productoId": a, "cantidad": 6}])).await;
    assert_eq!(
        r.err(),
        (
            400,
            "Stock insuficiente para \"GEN-001\". Solicitas 6, disponible 5."
        )
    );
    assert_eq!(
        vender(&app, &c, json!([{"productoId": a, "cantidad": 5}]))
            .await
            .status,
        201
    );
    // Physical stock below the reservations: disponible clamps to 0.
    fijar_entero(&app, a, "cantidad", 4).await;
    let r = vender(&app, &c, json!([{"productoId": a, "cantidad": 1}])).await;
    assert_eq!(
        r.err(),
        (
            400,
            "Stock insuficiente para \"GEN-001\". Solicitas 1, disponible 0."
        )
    );
}

#[tokio::test]
async fn crear_que_cruza_el_umbral_notifica_stock_bajo_una_vez() {
    let Base { app, e, c, cat, .. } = base().await;
    let a = app.producto(&e, cat, "GEN-001", 6).await;
    let b = app.producto(&e, cat, "GEN-002", 100).await;
    fijar_entero(&app, a, "stockMinimo", 2).await; // threshold 4
    let notificaciones = || async {
        app.pg
            .query(
                r#"SELECT "tipo"::text, "titulo", "mensaje", "link", "usuarioId", "empresaId", "leida"
                   FROM "Notificacion" ORDER BY "id""#,
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|f| {
                json!([f.get::<_, String>(0), f.get::<_, String>(1), f.get::<_, Option<String>>(2),
                       f.get::<_, Option<String>>(3), f.get::<_, Option<String>>(4),
                       f.get::<_, String>(5), f.get::<_, bool>(6)])
            })
            .collect::<Vec<_>>()
    };
    let fila = |n: i32| {
        json!([
            "STOCK_BAJO",
            "Stock bajo: GEN-001",
            format!("Quedan {n} unidades (mínimo 2)."),
            format!("/productos/{a}"),
            null,
            e,
            false
        ])
    };
    let dos = json!([{"productoId": a, "cantidad": 1}, {"productoId": b, "cantidad": 1}]);
    assert_eq!(vender(&app, &c, dos.clone()).await.status, 201); // 6 → 5
    assert!(notificaciones().await.is_empty());
    assert_eq!(vender(&app, &c, dos.clone()).await.status, 201); // 5 → 4: crossing
    assert_eq!(notificaciones().await, vec![fila(4)]);
    assert_eq!(vender(&app, &c, dos.clone()).await.status, 201); // 4 → 3: stays below
    assert_eq!(notificaciones().await, vec![fila(4)]);
    // A cancel (increment) creates nothing; a later crossing creates a new row.
    let r = vender(&app, &c, json!([{"productoId": a, "cantidad": 3}])).await; // 3 → 0
    assert_eq!(r.status, 201);
    assert_eq!(
        cancelar(&app, &c, r.body["id"].as_i64().unwrap())
            .await
            .status,
        200
    ); // 0 → 3
    fijar_entero(&app, a, "cantidad", 10).await;
    assert_eq!(
        vender(&app, &c, json!([{"productoId": a, "cantidad": 10}]))
            .await
            .status,
        201
    );
    assert_eq!(notificaciones().await, vec![fila(4), fila(0)]);
}

#[tokio::test]
async fn crear_error_de_base_de_datos_500_generico_sin_escribir_nada() {
    let Base { app, e, c, cat, .. } = base().await;
    let a = app.producto(&e, cat, "GEN-001", 10).await;
    app.pg
        .batch_execute(r#"ALTER TABLE "ItemVenta" ADD CONSTRAINT sabotaje CHECK (false) NOT VALID"#)
        .await
        .unwrap();
    let r = vender(&app, &c, json!([{"productoId": a, "cantidad": 1}])).await;
    assert_eq!(r.err(), (500, GENERICO));
    assert_eq!(app.stock(a).await, 10);
    for tabla in ["Venta", "Movimiento", "Auditoria"] {
        assert_eq!(
            contar(&app, &format!(r#"SELECT count(*) FROM "{tabla}""#)).await,
            0,
            "{tabla}"
        );
    }
}

#[tokio::test]
async fn crear_fallo_de_auditoria_no_cambia_la_respuesta() {
    let Base { app, e, c, cat, .. } = base().await;
    let a = app.producto(&e, cat, "GEN-001", 10).await;
    app.pg
        .batch_execute(
            r#"ALTER TABLE "Auditoria" ADD CONSTRAINT sabotaje CHECK ("entidad" <> 'Venta') NOT VALID"#,
        )
        .await
        .unwrap();
    let r = vender(&app, &c, json!([{"productoId": a, "cantidad": 1}])).await;
    assert_eq!(r.status, 201, "{}", r.texto);
    assert_eq!(app.stock(a).await, 9);
    let r = cancelar(&app, &c, r.body["id"].as_i64().unwrap()).await;
    assert_eq!(r.status, 200, "{}", r.texto);
    assert_eq!(app.stock(a).await, 10);
    assert_eq!(contar(&app, r#"SELECT count(*) FROM "Auditoria""#).await, 0);
}

// ---------- Idempotency-Key ----------

#[tokio::test]
async fn idempotencia_misma_clave_y_cuerpo_repite_la_respuesta_sin_otra_venta() {
    let Base { app, e, c, cat, .. } = base().await;
    let a = app.producto(&e, cat, "GEN-001", 10).await;
    let cuerpo = json!({"items": [{"productoId": a, "cantidad": 2}], "notas": "x"});
    let enviar = |clave: &str, cuerpo: Value| {
        app.post("/api/ventas")
            .cookie(&c)
            .cabecera("Idempotency-Key", clave)
            .json(cuerpo)
            .send()
    };
    let r1 = enviar("venta-0001", cuerpo.clone()).await;
    assert_eq!(r1.status, 201, "{}", r1.texto);
    assert_eq!(r1.header("idempotent-replayed"), None);
    let r2 = enviar("venta-0001", cuerpo.clone()).await;
    assert_eq!((r2.status, &r2.body), (201, &r1.body));
    assert_eq!(r2.header("idempotent-replayed"), Some("true"));
    assert_eq!(app.stock(a).await, 8);
    assert_eq!(contar(&app, r#"SELECT count(*) FROM "Venta""#).await, 1);
    assert_eq!(
        contar(&app, r#"SELECT count(*) FROM "Movimiento""#).await,
        1
    );
    assert_eq!(contar(&app, r#"SELECT count(*) FROM "Auditoria""#).await, 1);

    // Same key, another body → 422, nothing written.
    let r = enviar(
        "venta-0001",
        json!({"items": [{"productoId": a, "cantidad": 3}], "notas": "x"}),
    )
    .await;
    assert_eq!(r.err(), (422, CLAVE_REUTILIZADA));
    assert_eq!(app.stock(a).await, 8);

    // Another key is another sale; no key is always a new sale.
    assert_eq!(enviar("venta-0002", cuerpo.clone()).await.status, 201);
    let sin_clave = app
        .post("/api/ventas")
        .cookie(&c)
        .json(cuerpo.clone())
        .send()
        .await;
    assert_eq!(sin_clave.status, 201);
    assert_eq!(app.stock(a).await, 4);

    // A failed request stores nothing: retrying it runs it again.
    let r = enviar(
        "venta-0003",
        json!({"items": [{"productoId": a, "cantidad": 5}]}),
    )
    .await;
    assert_eq!(r.status, 400);
    fijar_entero(&app, a, "cantidad", 10).await;
    let r = enviar(
        "venta-0003",
        json!({"items": [{"productoId": a, "cantidad": 5}]}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.texto);
    assert_eq!(app.stock(a).await, 5);

    // Keys are per company: another company may use the same key.
    let otra = app.empresa().await;
    let (_, c2) = app.admin(&otra).await;
    let cat2 = app.categoria(&otra, "Otra", "OTR").await;
    let b = app.producto(&otra, cat2, "OTR-001", 10).await;
    let r = app
        .post("/api/ventas")
        .cookie(&c2)
        .cabecera("Idempotency-Key", "venta-0001")
        .json(json!({"items": [{"productoId": b, "cantidad": 1}]}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.texto);

    // An invalid key is a 400 before anything is written.
    for clave in ["", "con espacio", &"x".repeat(256)] {
        let r = enviar(clave, cuerpo.clone()).await;
        assert_eq!(r.err(), (400, CLAVE_INVALIDA), "{clave:?}");
    }
    assert_eq!(app.stock(a).await, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idempotencia_peticiones_concurrentes_con_la_misma_clave_crean_una_venta() {
    let Base { app, e, c, cat, .. } = base().await;
    let a = app.producto(&e, cat, "GEN-001", 1000).await;
    for ronda in 0..5 {
        let clave = format!("concurrente-{ronda}");
        let cuerpo = json!({"items": [{"productoId": a, "cantidad": 1}]});
        let rs = futures::future::join_all((0..10).map(|_| {
            app.post("/api/ventas")
                .cookie(&c)
                .cabecera("Idempotency-Key", &clave)
                .json(cuerpo.clone())
                .send()
        }))
        .await;
        assert!(
            rs.iter().all(|r| r.status == 201 && r.body == rs[0].body),
            "ronda {ronda}: {:?}",
            resumen(&rs)
        );
        assert_eq!(
            rs.iter()
                .filter(|r| r.header("idempotent-replayed").is_none())
                .count(),
            1,
            "ronda {ronda}: exactly one request did the work"
        );
        assert_eq!(app.stock(a).await, 1000 - (ronda + 1));
        assert_eq!(
            contar(&app, r#"SELECT count(*) FROM "Venta""#).await,
            i64::from(ronda + 1)
        );
    }
}

// ---------- POST /api/ventas/{id}/cancelar ----------

#[tokio::test]
async fn cancelar_200_exacto_devuelve_stock_una_vez_y_audita() {
    let Base { app, e, u, c, cat } = base().await;
    let a = app.producto(&e, cat, "GEN-001", 10).await;
    let b = app.producto(&e, cat, "GEN-002", 10).await;
    // The vendor is a USUARIO; an admin cancels.
    let vendedor = app
        .usuario(&e, "USUARIO", "ACTIVO", &["REALIZAR_VENTAS"])
        .await;
    let cv = app.sesion(&vendedor).await;
    // Item order (b, a) differs from the product order, so the restock runs in item order
    // after locking ascending.
    let creada = vender(
        &app,
        &cv,
        json!([{"productoId": b, "cantidad": 2}, {"productoId": a, "cantidad": 3}]),
    )
    .await;
    assert_eq!(creada.status, 201);
    let id = creada.body["id"].as_i64().unwrap() as i32;
    let r = app
        .post(&format!("/api/ventas/{id}/cancelar"))
        .cookie(&c)
        .json(json!({"motivo": "  Error de digitación  "}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.texto);
    let cancelada_en = fecha(&app, "Venta", "canceladaEn", id).await;
    let admin: (String, String) = {
        let f = app
            .pg
            .query_one(
                r#"SELECT "nombre", "email" FROM "Usuario" WHERE "id" = $1"#,
                &[&u],
            )
            .await
            .unwrap();
        (f.get(0), f.get(1))
    };
    let mut esperado = creada.body.clone();
    esperado["canceladaEn"] = json!(cancelada_en);
    esperado["canceladaPorId"] = json!(u);
    esperado["motivoCancelacion"] = json!("Error de digitación");
    esperado["canceladaPor"] = json!({"id": u, "nombre": admin.0, "email": admin.1});
    assert_eq!(r.body, esperado);
    assert!(r.body.get("vendedor").is_none());
    assert_eq!((app.stock(a).await, app.stock(b).await), (10, 10));
    let nota = format!("Devolución por cancelación de venta #{id}");
    assert_eq!(
        movimientos(&app, "entrada").await,
        vec![
            json!([b, "entrada", 2, nota, id, null]),
            json!([a, "entrada", 3, nota, id, null]),
        ]
    );
    // The original exits are kept.
    assert_eq!(
        contar(
            &app,
            r#"SELECT count(*) FROM "Movimiento" WHERE "tipo" = 'salida'"#
        )
        .await,
        2
    );
    let f = app
        .pg
        .query_one(
            r#"SELECT "usuarioId", "accion", "entidad", "entidadId", "datos", "ip" FROM "Auditoria"
               WHERE "accion" = 'ACTUALIZAR'"#,
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            f.get::<_, Option<String>>(0),
            f.get::<_, String>(1),
            f.get::<_, String>(2),
            f.get::<_, Option<String>>(3),
            f.get::<_, Option<String>>(5)
        ),
        (
            Some(u.clone()),
            "ACTUALIZAR".into(),
            "Venta".into(),
            Some(id.to_string()),
            Some(app.ip.clone())
        )
    );
    assert_eq!(
        f.get::<_, Value>(4),
        json!({
            "antes": {"canceladaEn": null},
            "despues": {"canceladaEn": cancelada_en, "canceladaPorId": u, "motivoCancelacion": "Error de digitación"},
            "operacion": "CANCELAR_VENTA",
        })
    );
    // A second cancel: 409, nothing else changes.
    let r = cancelar(&app, &c, id.into()).await;
    assert_eq!(r.err(), (409, YA_CANCELADA));
    assert_eq!((app.stock(a).await, app.stock(b).await), (10, 10));
    assert_eq!(
        contar(
            &app,
            r#"SELECT count(*) FROM "Movimiento" WHERE "tipo" = 'entrada'"#
        )
        .await,
        2
    );
}

#[tokio::test]
async fn cancelar_cuerpo_tolerante_y_motivo_vacio_es_null() {
    let Base { app, e, c, cat, .. } = base().await;
    let a = app.producto(&e, cat, "GEN-001", 100).await;
    let casos: [(&str, Option<&str>, Option<&str>); 9] = [
        ("sin cuerpo", None, None),
        ("json roto", Some("{\"motivo\": "), Some("application/json")),
        ("null", Some("null"), Some("application/json")),
        ("arreglo", Some("[\"x\"]"), Some("application/json")),
        ("número", Some("5"), Some("application/json")),
        (
            "motivo no texto",
            Some("{\"motivo\": 5}"),
            Some("application/json"),
        ),
        (
            "motivo en blanco",
            Some("{\"motivo\": \"   \"}"),
            Some("application/json"),
        ),
        ("vacío con tipo", Some(""), Some("application/json")),
        ("objeto vacío", Some("{}"), Some("application/json")),
    ];
    for (caso, cuerpo, tipo) in casos {
        let creada = vender(&app, &c, json!([{"productoId": a, "cantidad": 1}])).await;
        let id = creada.body["id"].as_i64().unwrap();
        let mut pet = app.post(&format!("/api/ventas/{id}/cancelar")).cookie(&c);
        if let Some(b) = cuerpo {
            pet = pet.cuerpo(b);
        }
        if let Some(t) = tipo {
            pet = pet.cabecera("content-type", t);
        }
        let r = pet.send().await;
        assert_eq!(r.status, 200, "{caso}: {}", r.texto);
        assert_eq!(r.body["motivoCancelacion"], Value::Null, "{caso}");
    }
    assert_eq!(app.stock(a).await, 100);
}

#[tokio::test]
async fn cancelar_errores_documentados_sin_escribir_nada() {
    let Base { app, e, c, cat, .. } = base().await;
    let a = app.producto(&e, cat, "GEN-001", 10).await;
    let creada = vender(&app, &c, json!([{"productoId": a, "cantidad": 4}])).await;
    let id = creada.body["id"].as_i64().unwrap() as i32;
    for malo in ["abc", "0", "-1", "12abc", "3.9", "2147483648"] {
        let r = app
            .post(&format!("/api/ventas/{malo}/cancelar"))
            .cookie(&c)
            .send()
            .await;
        assert_eq!(r.err(), (400, "ID inválido."), "{malo}");
    }
    let r = cancelar(&app, &c, 999_999).await;
    assert_eq!(r.err(), (404, NO_ENCONTRADA));

    // Another company's admin: 404, nothing written.
    let otra = app.empresa().await;
    let (_, c_otra) = app.admin(&otra).await;
    let r = cancelar(&app, &c_otra, id.into()).await;
    assert_eq!(r.err(), (404, NO_ENCONTRADA));

    // A sale of another calendar day: 400, the flip is rolled back.
    app.pg
        .execute(
            r#"UPDATE "Venta" SET "creadoEn" = "creadoEn" - interval '2 days' WHERE "id" = $1"#,
            &[&id],
        )
        .await
        .unwrap();
    let r = cancelar(&app, &c, id.into()).await;
    assert_eq!(r.err(), (400, OTRO_DIA));
    let (cancelada_en, por): (Option<NaiveDateTime>, Option<String>) = {
        let f = app
            .pg
            .query_one(
                r#"SELECT "canceladaEn", "canceladaPorId" FROM "Venta" WHERE "id" = $1"#,
                &[&id],
            )
            .await
            .unwrap();
        (f.get(0), f.get(1))
    };
    assert_eq!((cancelada_en, por), (None, None));
    assert_eq!(app.stock(a).await, 6);
    assert_eq!(
        contar(
            &app,
            r#"SELECT count(*) FROM "Movimiento" WHERE "tipo" = 'entrada'"#
        )
        .await,
        0
    );
    assert_eq!(
        contar(
            &app,
            r#"SELECT count(*) FROM "Auditoria" WHERE "accion" = 'ACTUALIZAR'"#
        )
        .await,
        0
    );

    // Already cancelled wins over the day rule (409 before 400).
    app.pg
        .execute(
            r#"UPDATE "Venta" SET "canceladaEn" = "creadoEn" WHERE "id" = $1"#,
            &[&id],
        )
        .await
        .unwrap();
    let r = cancelar(&app, &c, id.into()).await;
    assert_eq!(r.err(), (409, YA_CANCELADA));
    assert_eq!(app.stock(a).await, 6);
}

/// §4.3 Required (§8 #10): the calendar day is Bogotá's (UTC−5), not the server's UTC.
/// Whatever the hour the test runs, one of the two sales below sits on opposite sides of the
/// UTC and the Bogotá midnights, so a UTC rule fails this test.
#[tokio::test]
async fn cancelar_mismo_dia_calendario_en_bogota() {
    let Base { app, e, c, cat, .. } = base().await;
    let a = app.producto(&e, cat, "GEN-001", 10).await;
    let ahora = Utc::now().naive_utc();
    let hoy_bogota = (ahora - TimeDelta::hours(5)).date();
    let inicio_del_dia = hoy_bogota.and_hms_opt(5, 0, 0).unwrap(); // 00:00 Bogotá in UTC
    let venta_en = |creada: NaiveDateTime| {
        let app = &app;
        let c = &c;
        async move {
            let r = vender(app, c, json!([{"productoId": a, "cantidad": 1}])).await;
            let id = r.body["id"].as_i64().unwrap() as i32;
            app.pg
                .execute(
                    r#"UPDATE "Venta" SET "creadoEn" = $2 WHERE "id" = $1"#,
                    &[&id, &creada],
                )
                .await
                .unwrap();
            id
        }
    };
    let de_hoy = venta_en(inicio_del_dia + TimeDelta::seconds(1)).await;
    let de_ayer = venta_en(inicio_del_dia - TimeDelta::seconds(1)).await;
    let r = cancelar(&app, &c, de_hoy.into()).await;
    assert_eq!(r.status, 200, "00:00:01 Bogotá today: {}", r.texto);
    let r = cancelar(&app, &c, de_ayer.into()).await;
    assert_eq!(r.err(), (400, OTRO_DIA), "23:59:59 Bogotá yesterday");
}

#[tokio::test]
async fn cancelar_guardas_en_orden() {
    let Base { app, e, c, cat, .. } = base().await;
    let a = app.producto(&e, cat, "GEN-001", 10).await;
    let creada = vender(&app, &c, json!([{"productoId": a, "cantidad": 1}])).await;
    let id = creada.body["id"].as_i64().unwrap();
    let ruta = format!("/api/ventas/{id}/cancelar");

    let r = app.post(&ruta).send().await;
    assert_eq!(r.err(), (401, "No autenticado"));
    let r = app.post("/api/ventas/abc/cancelar").send().await;
    assert_eq!(r.err(), (401, "No autenticado"), "G1 before the path");

    for (rol, estado, permisos) in [
        ("ADMIN", "SUSPENDIDO", vec![]),
        ("SUPER_ADMIN", "PENDIENTE", vec![]),
        ("USUARIO", "SUSPENDIDO", vec!["REALIZAR_VENTAS"]),
    ] {
        let u = app.usuario(&e, rol, estado, &permisos).await;
        let cu = app.sesion(&u).await;
        let r = app.post(&ruta).cookie(&cu).send().await;
        assert_eq!(r.err(), (403, INACTIVO), "{rol} {estado}");
    }
    for permisos in [vec!["REALIZAR_VENTAS"], vec![]] {
        let u = app.usuario(&e, "USUARIO", "ACTIVO", &permisos).await;
        let cu = app.sesion(&u).await;
        let r = app.post(&ruta).cookie(&cu).send().await;
        assert_eq!(r.err(), (403, SOLO_ADMIN), "{permisos:?}");
        let r = app
            .post("/api/ventas/abc/cancelar")
            .cookie(&cu)
            .send()
            .await;
        assert_eq!(r.err(), (403, SOLO_ADMIN), "G4 before the path");
    }
    assert_eq!(app.stock(a).await, 9, "nothing cancelled");
    let sa = app.usuario(&e, "SUPER_ADMIN", "ACTIVO", &[]).await;
    let csa = app.sesion(&sa).await;
    let r = app.post(&ruta).cookie(&csa).send().await;
    assert_eq!(r.status, 200, "{}", r.texto);
    assert_eq!(r.body["canceladaPor"]["id"], json!(sa.id));
    assert_eq!(app.stock(a).await, 10);
}

#[tokio::test]
async fn cancelar_error_de_base_de_datos_500_generico_y_nada_cambia() {
    let Base { app, e, c, cat, .. } = base().await;
    let a = app.producto(&e, cat, "GEN-001", 10).await;
    let creada = vender(&app, &c, json!([{"productoId": a, "cantidad": 4}])).await;
    let id = creada.body["id"].as_i64().unwrap() as i32;
    app.pg
        .batch_execute(
            r#"ALTER TABLE "Movimiento" ADD CONSTRAINT sabotaje CHECK ("tipo" <> 'entrada') NOT VALID"#,
        )
        .await
        .unwrap();
    let r = cancelar(&app, &c, id.into()).await;
    assert_eq!(r.err(), (500, GENERICO_CANCELAR));
    let cancelada: Option<NaiveDateTime> = app
        .pg
        .query_one(
            r#"SELECT "canceladaEn" FROM "Venta" WHERE "id" = $1"#,
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(cancelada, None, "the flip is rolled back");
    assert_eq!(app.stock(a).await, 6);
    app.pg
        .batch_execute(r#"ALTER TABLE "Movimiento" DROP CONSTRAINT sabotaje"#)
        .await
        .unwrap();
    assert_eq!(cancelar(&app, &c, id.into()).await.status, 200);
    assert_eq!(app.stock(a).await, 10);
}

// ---------- Concurrency (each repeated in rounds) ----------

/// The issue's acceptance test: stock 10, 50 concurrent sales of 1 → exactly 10 succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrencia_50_ventas_sobre_stock_10() {
    let Base { app, e, c, cat, .. } = base().await;
    for ronda in 0..3 {
        let codigo = format!("GEN-{ronda:03}");
        let p = app.producto(&e, cat, &codigo, 10).await;
        let rs = futures::future::join_all(
            (0..50).map(|_| vender(&app, &c, json!([{"productoId": p, "cantidad": 1}]))),
        )
        .await;
        let ok = rs.iter().filter(|r| r.status == 201).count();
        let rechazadas: Vec<_> = rs.iter().filter(|r| r.status == 400).collect();
        assert_eq!(
            (ok, rechazadas.len()),
            (10, 40),
            "ronda {ronda}: {:?}",
            resumen(&rs)
        );
        let msg = format!("Stock insuficiente para \"{codigo}\". Solicitas 1, disponible 0.");
        for r in &rechazadas {
            assert_eq!(r.error(), Some(msg.as_str()), "ronda {ronda}");
        }
        assert_eq!(app.stock(p).await, 0, "ronda {ronda}");
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
                r#"SELECT count(*) FROM "ItemVenta" WHERE "productoId" = $1"#,
                &[&p]
            )
            .await,
            10
        );
    }
}

/// §8 #2: 20 concurrent cancels of one sale restock once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrencia_20_cancelaciones_devuelven_el_stock_una_vez() {
    let Base { app, e, c, cat, .. } = base().await;
    let a = app.producto(&e, cat, "GEN-001", 10).await;
    let b = app.producto(&e, cat, "GEN-002", 10).await;
    for ronda in 0..5 {
        let creada = vender(
            &app,
            &c,
            json!([{"productoId": b, "cantidad": 3}, {"productoId": a, "cantidad": 2}]),
        )
        .await;
        assert_eq!(creada.status, 201);
        let id = creada.body["id"].as_i64().unwrap();
        let rs = futures::future::join_all((0..20).map(|_| cancelar(&app, &c, id))).await;
        let ok = rs.iter().filter(|r| r.status == 200).count();
        let conflictos = rs.iter().filter(|r| r.err() == (409, YA_CANCELADA)).count();
        assert_eq!(
            (ok, conflictos),
            (1, 19),
            "ronda {ronda}: {:?}",
            resumen(&rs)
        );
        assert_eq!((app.stock(a).await, app.stock(b).await), (10, 10));
        assert_eq!(
            app.contar(
                r#"SELECT count(*) FROM "Movimiento" WHERE "ventaId" = $1 AND "tipo" = 'entrada'"#,
                &[&(id as i32)]
            )
            .await,
            2,
            "ronda {ronda}"
        );
    }
}

/// §3: a pending quote's reservation blocks the sale of the reserved units, also under
/// concurrency; once it expires the units are sellable again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrencia_reserva_de_cotizacion_bloquea_y_al_vencer_libera() {
    let Base { app, e, u, c, cat } = base().await;
    for ronda in 0..4 {
        let codigo = format!("RES-{ronda:03}");
        let p = app.producto(&e, cat, &codigo, 10).await;
        // The seller's own quote reserves against the seller too.
        let cot = cotizacion(&app, &e, Some(&u), p, 6, "PENDIENTE", 24).await;
        let rs = futures::future::join_all(
            (0..10).map(|_| vender(&app, &c, json!([{"productoId": p, "cantidad": 1}]))),
        )
        .await;
        let ok = rs.iter().filter(|r| r.status == 201).count();
        assert_eq!(ok, 4, "ronda {ronda}: {:?}", resumen(&rs));
        let msg = format!("Stock insuficiente para \"{codigo}\". Solicitas 1, disponible 0.");
        assert!(
            rs.iter()
                .filter(|r| r.status != 201)
                .all(|r| r.err() == (400, msg.as_str())),
            "ronda {ronda}: {:?}",
            resumen(&rs)
        );
        assert_eq!(app.stock(p).await, 6);
        let r = vender(&app, &c, json!([{"productoId": p, "cantidad": 6}])).await;
        assert_eq!(
            r.err(),
            (
                400,
                format!("Stock insuficiente para \"{codigo}\". Solicitas 6, disponible 0.")
                    .as_str()
            )
        );
        // The quote expires: its units are sellable again.
        app.pg
            .execute(
                r#"UPDATE "Cotizacion" SET "validaHasta" = (now() AT TIME ZONE 'UTC') - interval '1 second'
                   WHERE "id" = $1"#,
                &[&cot],
            )
            .await
            .unwrap();
        let r = vender(&app, &c, json!([{"productoId": p, "cantidad": 6}])).await;
        assert_eq!(r.status, 201, "ronda {ronda}: {}", r.texto);
        assert_eq!(app.stock(p).await, 0);
    }
}

/// Two sales on products A,B and B,A at the same time never deadlock: both lock ascending.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrencia_ventas_cruzadas_sin_interbloqueo() {
    let Base { app, e, c, cat, .. } = base().await;
    let a = app.producto(&e, cat, "GEN-001", 100_000).await;
    let b = app.producto(&e, cat, "GEN-002", 100_000).await;
    let mut total = 0;
    for ronda in 0..25 {
        let rs = futures::future::join_all((0..8).map(|i| {
            let items = if i % 2 == 0 {
                json!([{"productoId": a, "cantidad": 1}, {"productoId": b, "cantidad": 2}])
            } else {
                json!([{"productoId": b, "cantidad": 2}, {"productoId": a, "cantidad": 1}])
            };
            vender(&app, &c, items)
        }))
        .await;
        assert!(
            rs.iter().all(|r| r.status == 201),
            "ronda {ronda}: {:?}",
            resumen(&rs)
        );
        total += rs.len() as i32;
    }
    assert_eq!(
        (app.stock(a).await, app.stock(b).await),
        (100_000 - total, 100_000 - 2 * total)
    );
    // Sales and cancels crossing the same products at once.
    let ids: Vec<i64> = futures::future::join_all((0..6).map(|_| {
        vender(
            &app,
            &c,
            json!([{"productoId": b, "cantidad": 1}, {"productoId": a, "cantidad": 1}]),
        )
    }))
    .await
    .iter()
    .map(|r| r.body["id"].as_i64().unwrap())
    .collect();
    let (cancelaciones, ventas) = futures::join!(
        futures::future::join_all(ids.iter().map(|id| cancelar(&app, &c, *id))),
        futures::future::join_all((0..6).map(|_| {
            vender(
                &app,
                &c,
                json!([{"productoId": a, "cantidad": 1}, {"productoId": b, "cantidad": 1}]),
            )
        }))
    );
    assert!(
        cancelaciones.iter().all(|r| r.status == 200),
        "{:?}",
        resumen(&cancelaciones)
    );
    assert!(
        ventas.iter().all(|r| r.status == 201),
        "{:?}",
        resumen(&ventas)
    );
    assert_eq!(
        (app.stock(a).await, app.stock(b).await),
        (100_000 - total - 6, 100_000 - 2 * total - 6)
    );
}
