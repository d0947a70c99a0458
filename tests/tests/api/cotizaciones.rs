//! cotizaciones: every route of sales.md §4.4–§4.7 over real handlers and Postgres: exact
//! shapes, documented errors, guards, tenant isolation, idempotency keys, and the races of §8
//! (double conversion, convert vs cancel, reservations), each repeated over several rounds.

use serde_json::{Value, json};
use tests::{App, Opciones, Res, UsuarioT, spawn_app, spawn_app_con};

const INACTIVO: &str = "Usuario inactivo o suspendido";
const NO_AUTORIZADO: &str = "No autorizado";
const NO_AUTENTICADO: &str = "No autenticado";
const ID_INVALIDO: &str = "ID inválido.";
const ERROR_CREAR: &str = "Error al crear la cotización";
const ERROR_CANCELAR: &str = "Error al cancelar la cotización.";
const ERROR_CONVERTIR: &str = "Error al convertir la cotización.";
const SIN_ITEMS: &str = "La cotización debe incluir al menos un producto.";
const LINEA_INVALIDA: &str = "Cada item debe tener un producto válido y cantidad > 0.";
const NO_ENCONTRADA: &str = "Cotización no encontrada.";
const SIN_MOTIVO: &str = "Debes indicar un motivo de cancelación.";
const YA_CANCELADA: &str = "La cotización ya está cancelada.";
const YA_CONVERTIDA: &str = "La cotización ya está convertida.";
const CANCELAR_CONVERTIDA: &str =
    "No se puede cancelar una cotización ya convertida. Cancela la venta resultante.";
const CANCELAR_AJENA: &str =
    "Solo el vendedor original o un administrador puede cancelar esta cotización.";
const CONVERTIR_AJENA: &str =
    "Solo el vendedor original o un administrador puede convertir esta cotización.";
const VENCIDA: &str =
    "La cotización está vencida. Cancélala y crea una nueva si la quieres revivir.";
const CLAVE_REUTILIZADA: &str =
    "Idempotency-Key ya usada con otra petición: usa una clave nueva para cada operación.";

/// `(productoId, tipo, cantidad, notas, ventaId)` of a `"Movimiento"`.
type FilaMovimiento = (i32, String, i32, Option<String>, Option<i32>);

struct Base {
    app: App,
    e: String,
    admin: UsuarioT,
    c: String,
    cat: i32,
}

async fn base() -> Base {
    base_con(spawn_app().await).await
}

async fn base_con(app: App) -> Base {
    let e = app.empresa().await;
    let (admin, c) = app.admin(&e).await;
    let cat = app.categoria(&e, "General", "GEN").await;
    Base {
        app,
        e,
        admin,
        c,
        cat,
    }
}

fn stock_insuficiente(nombre: &str, n: i64, d: i64) -> String {
    format!(
        "Stock insuficiente para \"{nombre}\". Solicitas {n}, disponible {d} (físico − reservado en otras cotizaciones)."
    )
}

fn fisico_insuficiente(nombre: &str, n: i32, hay: i32) -> String {
    format!("Stock físico insuficiente para \"{nombre}\". Necesitas {n}, hay {hay}.")
}

/// An active user of `e` with the given role and permissions, and its cookie.
async fn usuario(app: &App, e: &str, rol: &str, permisos: &[&str]) -> (UsuarioT, String) {
    let u = app.usuario(e, rol, "ACTIVO", permisos).await;
    let c = app.sesion(&u).await;
    (u, c)
}

async fn vendedor(app: &App, e: &str) -> (UsuarioT, String) {
    usuario(app, e, "USUARIO", &["REALIZAR_VENTAS"]).await
}

async fn post(app: &App, path: &str, cookie: &str, cuerpo: Value) -> Res {
    app.post(path).cookie(cookie).json(cuerpo).send().await
}

/// A quote through the API (must succeed); returns its id.
async fn cotizar(app: &App, cookie: &str, cuerpo: Value) -> i32 {
    let r = post(app, "/api/cotizaciones", cookie, cuerpo).await;
    assert_eq!(r.status, 201, "{}", r.texto);
    r.body["id"].as_i64().unwrap() as i32
}

/// A one-line quote through the API.
async fn cotizar_uno(app: &App, cookie: &str, producto: i32, cantidad: i32) -> i32 {
    cotizar(
        app,
        cookie,
        json!({"items": [{"productoId": producto, "cantidad": cantidad}]}),
    )
    .await
}

async fn convertir(app: &App, cookie: &str, id: i32) -> Res {
    app.post(&format!("/api/cotizaciones/{id}/convertir"))
        .cookie(cookie)
        .send()
        .await
}

async fn cancelar(app: &App, cookie: &str, id: i32, motivo: &str) -> Res {
    post(
        app,
        &format!("/api/cotizaciones/{id}/cancelar"),
        cookie,
        json!({ "motivo": motivo }),
    )
    .await
}

async fn sql(app: &App, sentencia: &str) {
    app.pg.batch_execute(sentencia).await.unwrap();
}

/// Moves a quote's `validaHasta` to `segundos` from now (negative: expired).
async fn vence_en(app: &App, id: i32, segundos: i32) {
    app.pg
        .execute(
            r#"UPDATE "Cotizacion" SET "validaHasta" = (now() AT TIME ZONE 'UTC') + make_interval(secs => $2)
               WHERE "id" = $1"#,
            &[&id, &f64::from(segundos)],
        )
        .await
        .unwrap();
}

/// A timestamp column as the API serializes it (`null` when NULL).
async fn fecha(app: &App, tabla: &str, columna: &str, id: i32) -> Value {
    let v: Option<String> = app
        .pg
        .query_one(
            &format!(
                r#"SELECT to_char("{columna}", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') FROM "{tabla}" WHERE "id" = $1"#
            ),
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    json!(v)
}

async fn contar(app: &App, tabla: &str, e: &str) -> i64 {
    app.contar(
        &format!(r#"SELECT count(*) FROM "{tabla}" WHERE "empresaId" = $1"#),
        &[&e],
    )
    .await
}

/// The audit rows of an entity id: `(usuarioId, accion, entidad, datos, ip)`.
async fn auditoria(
    app: &App,
    entidad: &str,
    id: i32,
) -> Vec<(Option<String>, String, Value, Option<String>)> {
    app.pg
        .query(
            r#"SELECT "usuarioId", "accion", "datos", "ip" FROM "Auditoria"
               WHERE "entidad" = $1 AND "entidadId" = $2 ORDER BY "id""#,
            &[&entidad, &id.to_string()],
        )
        .await
        .unwrap()
        .iter()
        .map(|f| (f.get(0), f.get(1), f.get(2), f.get(3)))
        .collect()
}

async fn estado_de(app: &App, id: i32) -> (String, Option<i32>) {
    let f = app
        .pg
        .query_one(
            r#"SELECT "estado"::text, "ventaId" FROM "Cotizacion" WHERE "id" = $1"#,
            &[&id],
        )
        .await
        .unwrap();
    (f.get(0), f.get(1))
}

/// The scalars of a quote as the API serializes them, read back from the database.
async fn cotizacion_json(app: &App, id: i32) -> Value {
    let f = app
        .pg
        .query_one(
            r#"SELECT "vendedorId", "clienteId", "total", "notas", "estado"::text, "ventaId",
                      "canceladaPorId", "motivoCancelacion", "empresaId"
               FROM "Cotizacion" WHERE "id" = $1"#,
            &[&id],
        )
        .await
        .unwrap();
    let total: f64 = f.get(2);
    json!({
        "id": id,
        "vendedorId": f.get::<_, Option<String>>(0),
        "clienteId": f.get::<_, Option<i32>>(1),
        "total": shared::json::numero(total),
        "notas": f.get::<_, Option<String>>(3),
        "estado": f.get::<_, String>(4),
        "validaHasta": fecha(app, "Cotizacion", "validaHasta", id).await,
        "creadoEn": fecha(app, "Cotizacion", "creadoEn", id).await,
        "ventaId": f.get::<_, Option<i32>>(5),
        "convertidaEn": fecha(app, "Cotizacion", "convertidaEn", id).await,
        "canceladaEn": fecha(app, "Cotizacion", "canceladaEn", id).await,
        "canceladaPorId": f.get::<_, Option<String>>(6),
        "motivoCancelacion": f.get::<_, Option<String>>(7),
        "empresaId": f.get::<_, String>(8),
    })
}

async fn fijar_precio(app: &App, producto: i32, precio: f64) {
    app.pg
        .execute(
            r#"UPDATE "Producto" SET "precio" = $2 WHERE "id" = $1"#,
            &[&producto, &precio],
        )
        .await
        .unwrap();
}

// ---------- GET /api/cotizaciones ----------

#[tokio::test]
async fn listar_exacto_por_rol_filtro_y_orden() {
    let Base {
        app,
        e,
        admin,
        c,
        cat,
    } = base().await;
    let p = app.producto(&e, cat, "GEN-001", 100).await;
    let q = app.producto(&e, cat, "GEN-002", 100).await;
    let (v, cv) = vendedor(&app, &e).await;
    let a1 = cotizar(
        &app,
        &c,
        json!({"items": [{"productoId": p, "cantidad": 1}, {"productoId": q, "cantidad": 2}], "cliente": "Ana"}),
    )
    .await;
    let v1 = cotizar_uno(&app, &cv, p, 1).await;
    let v2 = cotizar_uno(&app, &cv, q, 1).await;
    assert_eq!(cancelar(&app, &cv, v2, "no").await.status, 200);
    // Same creadoEn for every row: the id breaks the tie, descending.
    sql(
        &app,
        r#"UPDATE "Cotizacion" SET "creadoEn" = '2026-01-01 10:00:00'"#,
    )
    .await;
    // Another tenant's quote never shows.
    let e2 = app.empresa().await;
    let (_, c2) = app.admin(&e2).await;
    let cat2 = app.categoria(&e2, "Otra", "OTR").await;
    let po = app.producto(&e2, cat2, "X", 5).await;
    cotizar_uno(&app, &c2, po, 1).await;

    let r = app.get("/api/cotizaciones").cookie(&c).send().await;
    assert_eq!(r.status, 200, "{}", r.texto);
    let ids: Vec<i64> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![v2 as i64, v1 as i64, a1 as i64]);
    let mut esperado = cotizacion_json(&app, a1).await;
    esperado["vendedor"] = json!({"id": admin.id, "nombre": app.pg.query_one(r#"SELECT "nombre" FROM "Usuario" WHERE "id" = $1"#, &[&admin.id]).await.unwrap().get::<_, String>(0), "email": admin.email});
    esperado["_count"] = json!({"items": 2});
    assert_eq!(r.body[2], esperado);
    assert_eq!(r.body[0]["estado"], json!("CANCELADA"));
    assert_eq!(r.body[0]["vendedor"]["id"], json!(v.id));

    // A USUARIO sees only its own quotes.
    let r = app.get("/api/cotizaciones").cookie(&cv).send().await;
    let ids: Vec<i64> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![v2 as i64, v1 as i64]);

    // `estado` filters only with an exact label.
    for (filtro, esperado) in [
        ("PENDIENTE", vec![v1, a1]),
        ("CANCELADA", vec![v2]),
        ("CONVERTIDA", vec![]),
        ("pendiente", vec![v2, v1, a1]),
        ("", vec![v2, v1, a1]),
        ("VENCIDA", vec![v2, v1, a1]),
    ] {
        let r = app
            .get(&format!("/api/cotizaciones?estado={filtro}"))
            .cookie(&c)
            .send()
            .await;
        let ids: Vec<i32> = r
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].as_i64().unwrap() as i32)
            .collect();
        assert_eq!(ids, esperado, "estado={filtro}");
    }

    // Expired pending quotes are listed as PENDIENTE; a null seller is `vendedor: null`.
    vence_en(&app, v1, -60).await;
    app.pg
        .execute(
            r#"UPDATE "Cotizacion" SET "vendedorId" = NULL WHERE "id" = $1"#,
            &[&a1],
        )
        .await
        .unwrap();
    let r = app.get("/api/cotizaciones").cookie(&c).send().await;
    assert_eq!(r.body[1]["estado"], json!("PENDIENTE"));
    assert_eq!(r.body[2]["vendedor"], json!(null));
    assert_eq!(r.body[2]["vendedorId"], json!(null));
    assert!(r.body[2].get("items").is_none() && r.body[2].get("cliente").is_none());
}

#[tokio::test]
async fn listar_guardas_y_500_json() {
    let Base { app, e, .. } = base().await;
    assert_eq!(
        app.get("/api/cotizaciones").send().await.err(),
        (401, NO_AUTENTICADO)
    );
    for (rol, estado) in [
        ("ADMIN", "SUSPENDIDO"),
        ("SUPER_ADMIN", "PENDIENTE"),
        ("USUARIO", "SUSPENDIDO"),
    ] {
        let u = app.usuario(&e, rol, estado, &["REALIZAR_VENTAS"]).await;
        let c = app.sesion(&u).await;
        let r = app.get("/api/cotizaciones").cookie(&c).send().await;
        assert_eq!(r.err(), (403, INACTIVO), "{rol} {estado}");
    }
    for permisos in [&[][..], &["REGISTRAR_MOVIMIENTOS", "VER_ANALISIS"][..]] {
        let (_, c) = usuario(&app, &e, "USUARIO", permisos).await;
        let r = app.get("/api/cotizaciones").cookie(&c).send().await;
        assert_eq!(r.err(), (403, NO_AUTORIZADO), "{permisos:?}");
    }
    for (rol, permisos) in [
        ("USUARIO", &["REALIZAR_VENTAS"][..]),
        ("SUPER_ADMIN", &[][..]),
    ] {
        let (_, c) = usuario(&app, &e, rol, permisos).await;
        let r = app.get("/api/cotizaciones").cookie(&c).send().await;
        assert_eq!((r.status, r.body.clone()), (200, json!([])), "{rol}");
    }
    let (_, c) = usuario(&app, &e, "ADMIN", &[]).await;
    sql(
        &app,
        r#"ALTER TABLE "ItemCotizacion" RENAME TO "ItemCotizacionX""#,
    )
    .await;
    let r = app.get("/api/cotizaciones").cookie(&c).send().await;
    assert_eq!(r.err(), (500, "Error interno"));
    assert_eq!(r.header("content-type"), Some("application/json"));
}

// ---------- POST /api/cotizaciones ----------

#[tokio::test]
async fn crear_201_exacto_reserva_sin_mover_stock_y_audita() {
    let Base {
        app,
        e,
        admin,
        c,
        cat,
    } = base().await;
    let p = app.producto(&e, cat, "GEN-001", 10).await;
    let q = app.producto(&e, cat, "GEN-002", 10).await;
    fijar_precio(&app, q, 19.99).await;
    let r = post(
        &app,
        "/api/cotizaciones",
        &c,
        json!({
            "items": [
                {"productoId": q, "cantidad": 1, "precioUnitario": 1},
                {"productoId": p.to_string(), "cantidad": "2"},
                {"productoId": q, "cantidad": 2},
            ],
            "cliente": "  Ferretería Central ", "notas": "  Entrega el lunes ", "diasValidez": 10,
            "clienteId": 999, "clienteNombre": "otro",
        }),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.texto);
    let id = r.body["id"].as_i64().unwrap() as i32;
    let cliente: i32 = app
        .pg
        .query_one(
            r#"SELECT "id" FROM "Cliente" WHERE "empresaId" = $1 AND "nombre" = 'Ferretería Central'"#,
            &[&e],
        )
        .await
        .unwrap()
        .get(0);
    let items: Vec<i32> = app
        .pg
        .query(
            r#"SELECT "id" FROM "ItemCotizacion" WHERE "cotizacionId" = $1 ORDER BY "id""#,
            &[&id],
        )
        .await
        .unwrap()
        .iter()
        .map(|f| f.get(0))
        .collect();
    let creado = fecha(&app, "Cotizacion", "creadoEn", id).await;
    let valida = fecha(&app, "Cotizacion", "validaHasta", id).await;
    assert_eq!(
        r.body,
        json!({
            "id": id, "vendedorId": admin.id, "clienteId": cliente, "total": 2059.97,
            "notas": "Entrega el lunes", "estado": "PENDIENTE", "validaHasta": valida,
            "creadoEn": creado, "ventaId": null, "convertidaEn": null, "canceladaEn": null,
            "canceladaPorId": null, "motivoCancelacion": null, "empresaId": e,
            "items": [
                {"id": items[0], "cotizacionId": id, "productoId": q, "cantidad": 3,
                 "precioUnitario": 19.99, "subtotal": 59.97,
                 "producto": {"nombre": "GEN-002", "codigo": "GEN-002"}},
                {"id": items[1], "cotizacionId": id, "productoId": p, "cantidad": 2,
                 "precioUnitario": 1000, "subtotal": 2000,
                 "producto": {"nombre": "GEN-001", "codigo": "GEN-001"}},
            ],
        })
    );
    // Merged lines 3 × 19.99 + 2 × 1000 in exact decimals.
    assert_eq!(r.body["total"].as_f64(), Some(2059.97));
    // validaHasta = creation instant + 10 days.
    let dias: f64 = app
        .pg
        .query_one(
            r#"SELECT extract(epoch FROM "validaHasta" - "creadoEn")::float8 / 86400 FROM "Cotizacion" WHERE "id" = $1"#,
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(dias, 10.0);
    // A quote moves no stock and writes no movement.
    assert_eq!((app.stock(p).await, app.stock(q).await), (10, 10));
    assert_eq!(contar(&app, "Movimiento", &e).await, 0);
    assert_eq!(
        auditoria(&app, "Cotizacion", id).await,
        vec![(
            Some(admin.id.clone()),
            "CREAR".into(),
            json!({"despues": {"id": id, "cliente": "Ferretería Central", "total": 2059.97,
                               "validaHasta": valida, "totalItems": 2, "notas": "Entrega el lunes"}}),
            Some(app.ip.clone()),
        )]
    );
    // The reservation counts at once: 7 of GEN-002 left for the next quote.
    let r = post(
        &app,
        "/api/cotizaciones",
        &c,
        json!({"items": [{"productoId": q, "cantidad": 8}]}),
    )
    .await;
    assert_eq!(r.err(), (400, stock_insuficiente("GEN-002", 8, 7).as_str()));
}

#[tokio::test]
async fn crear_total_exacto_y_sin_cliente_ni_notas() {
    let Base { app, e, c, cat, .. } = base().await;
    let a = app.producto(&e, cat, "A", 10).await;
    let b = app.producto(&e, cat, "B", 10).await;
    fijar_precio(&app, a, 0.1).await;
    fijar_precio(&app, b, 0.2).await;
    let r = post(
        &app,
        "/api/cotizaciones",
        &c,
        json!({"items": [{"productoId": a, "cantidad": 1}, {"productoId": b, "cantidad": 1}],
               "cliente": "   ", "notas": 5}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.texto);
    assert_eq!(r.body["total"], json!(0.3));
    assert_eq!(r.body["clienteId"], json!(null));
    assert_eq!(r.body["notas"], json!(null));
    assert_eq!(contar(&app, "Cliente", &e).await, 0);
    fijar_precio(&app, a, 1.005).await;
    let r = post(
        &app,
        "/api/cotizaciones",
        &c,
        json!({"items": [{"productoId": a, "cantidad": 1}], "cliente": ["x"]}),
    )
    .await;
    assert_eq!(r.body["total"], json!(1.01), "half away from zero");
    assert_eq!(r.body["items"][0]["precioUnitario"], json!(1.005));
    let id = r.body["id"].as_i64().unwrap() as i32;
    assert_eq!(
        auditoria(&app, "Cotizacion", id).await[0].2["despues"],
        json!({"id": id, "cliente": null, "total": 1.01,
               "validaHasta": fecha(&app, "Cotizacion", "validaHasta", id).await,
               "totalItems": 1, "notas": null})
    );
}

#[tokio::test]
async fn crear_dias_validez_de_3_3() {
    let Base { app, e, c, cat, .. } = base().await;
    let p = app.producto(&e, cat, "GEN-001", 1000).await;
    for (dias, esperado) in [
        (json!(1), 1.0),
        (json!(30.0), 30.0),
        (json!(365), 365.0),
        (json!(366), 365.0),
        (json!(100000), 365.0),
        (json!(0), 7.0),
        (json!(-5), 7.0),
        (json!(2.5), 7.0),
        (json!("10"), 7.0),
        (json!(null), 7.0),
        (json!(true), 7.0),
    ] {
        let id = cotizar(
            &app,
            &c,
            json!({"items": [{"productoId": p, "cantidad": 1}], "diasValidez": dias}),
        )
        .await;
        let d: f64 = app
            .pg
            .query_one(
                r#"SELECT extract(epoch FROM "validaHasta" - "creadoEn")::float8 / 86400 FROM "Cotizacion" WHERE "id" = $1"#,
                &[&id],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(d, esperado, "{dias}");
    }
    let id = cotizar_uno(&app, &c, p, 1).await;
    let d: f64 = app
        .pg
        .query_one(
            r#"SELECT extract(epoch FROM "validaHasta" - "creadoEn")::float8 / 86400 FROM "Cotizacion" WHERE "id" = $1"#,
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(d, 7.0, "absent");
}

#[tokio::test]
async fn crear_cliente_por_nombre_exacto_del_tenant() {
    let Base { app, e, c, cat, .. } = base().await;
    let p = app.producto(&e, cat, "GEN-001", 100).await;
    let otra = app.empresa().await;
    let ajeno: i32 = app
        .pg
        .query_one(
            r#"INSERT INTO "Cliente" ("nombre", "empresaId") VALUES ('Ana', $1) RETURNING "id""#,
            &[&otra],
        )
        .await
        .unwrap()
        .get(0);
    let cliente_de = |r: Value| r["clienteId"].as_i64().unwrap() as i32;
    let crear = |cliente: &'static str| {
        post(
            &app,
            "/api/cotizaciones",
            &c,
            json!({"items": [{"productoId": p, "cantidad": 1}], "cliente": cliente, "clienteId": ajeno}),
        )
    };
    let ana = cliente_de(crear("Ana").await.body);
    assert_ne!(ana, ajeno, "another tenant's customer is never attached");
    assert_eq!(
        cliente_de(crear(" Ana ").await.body),
        ana,
        "trimmed, reused"
    );
    let ana2 = cliente_de(crear("ana").await.body);
    assert_ne!(ana2, ana, "case-sensitive");
    // With two customers of the same name, the first (lowest id) is taken.
    app.pg
        .execute(
            r#"INSERT INTO "Cliente" ("nombre", "empresaId") VALUES ('Ana', $1)"#,
            &[&e],
        )
        .await
        .unwrap();
    assert_eq!(cliente_de(crear("Ana").await.body), ana);
    let f = app
        .pg
        .query_one(
            r#"SELECT "nombre", "documento", "email", "telefono", "direccion", "notas" FROM "Cliente" WHERE "id" = $1"#,
            &[&ana],
        )
        .await
        .unwrap();
    assert_eq!(f.get::<_, String>(0), "Ana");
    for i in 1..6 {
        assert_eq!(f.get::<_, Option<String>>(i), None);
    }
    assert_eq!(contar(&app, "Cliente", &e).await, 3);
    assert_eq!(
        app.contar(
            r#"SELECT count(*) FROM "Auditoria" WHERE "entidad" = 'Cliente'"#,
            &[]
        )
        .await,
        0,
        "customers are never audited"
    );
}

#[tokio::test]
async fn crear_errores_documentados_sin_dejar_cliente() {
    let Base { app, e, c, cat, .. } = base().await;
    let p = app.producto(&e, cat, "GEN-001", 5).await;
    let q = app.producto(&e, cat, "GEN-002", 5).await;
    // Another tenant's product.
    let ajeno = app.empresa().await;
    let cat_ajena = app.categoria(&ajeno, "Otra", "OTR").await;
    let pa = app.producto(&ajeno, cat_ajena, "AJ-001", 50).await;
    let linea = |id: Value, n: Value| json!({"productoId": id, "cantidad": n});
    let casos: Vec<(&str, Value, u16, String)> = vec![
        ("sin items", json!({}), 400, SIN_ITEMS.into()),
        ("items vacío", json!({"items": []}), 400, SIN_ITEMS.into()),
        (
            "items objeto",
            json!({"items": {"0": 1}}),
            400,
            SIN_ITEMS.into(),
        ),
        (
            "cuerpo arreglo",
            json!([linea(json!(p), json!(1))]),
            400,
            ERROR_CREAR.into(),
        ),
        ("cuerpo número", json!(5), 400, ERROR_CREAR.into()),
        ("cuerpo texto", json!("items"), 400, ERROR_CREAR.into()),
        (
            "item null",
            json!({"items": [null]}),
            400,
            LINEA_INVALIDA.into(),
        ),
        (
            "cantidad 0",
            json!({"items": [linea(json!(p), json!(0))]}),
            400,
            LINEA_INVALIDA.into(),
        ),
        (
            "cantidad negativa",
            json!({"items": [linea(json!(p), json!(-1))]}),
            400,
            LINEA_INVALIDA.into(),
        ),
        (
            "cantidad 2.5",
            json!({"items": [linea(json!(p), json!(2.5))]}),
            400,
            LINEA_INVALIDA.into(),
        ),
        (
            "cantidad 7abc",
            json!({"items": [linea(json!(p), json!("7abc"))]}),
            400,
            LINEA_INVALIDA.into(),
        ),
        (
            "sin cantidad",
            json!({"items": [{"productoId": p}]}),
            400,
            LINEA_INVALIDA.into(),
        ),
        (
            "producto 0",
            json!({"items": [linea(json!(0), json!(1))]}),
            400,
            LINEA_INVALIDA.into(),
        ),
        (
            "producto texto",
            json!({"items": [linea(json!("abc"), json!(1))]}),
            400,
            LINEA_INVALIDA.into(),
        ),
        (
            "producto enorme",
            json!({"items": [linea(json!(2147483648u64), json!(1))]}),
            400,
            LINEA_INVALIDA.into(),
        ),
        (
            "segunda línea mala",
            json!({"items": [linea(json!(999999), json!(1)), linea(json!(p), json!(true))]}),
            400,
            LINEA_INVALIDA.into(),
        ),
        (
            "producto inexistente",
            json!({"items": [linea(json!(999999), json!(1))]}),
            404,
            "Producto 999999 no encontrado en la empresa actual.".into(),
        ),
        (
            "producto de otra empresa",
            json!({"items": [linea(json!(pa), json!(1))]}),
            404,
            format!("Producto {pa} no encontrado en la empresa actual."),
        ),
        (
            "existencia antes que stock",
            json!({"items": [linea(json!(p), json!(6)), linea(json!(pa), json!(1))]}),
            404,
            format!("Producto {pa} no encontrado en la empresa actual."),
        ),
        (
            "stock",
            json!({"items": [linea(json!(q), json!(1)), linea(json!(p), json!(6))]}),
            400,
            stock_insuficiente("GEN-001", 6, 5),
        ),
        (
            "stock de líneas fusionadas",
            json!({"items": [linea(json!(p), json!(3)), linea(json!(q), json!(9)), linea(json!(p), json!(3))]}),
            400,
            stock_insuficiente("GEN-001", 6, 5),
        ),
        (
            "suma mayor que i32",
            json!({"items": [linea(json!(p), json!(2147483647)), linea(json!(p), json!(2147483647))]}),
            400,
            stock_insuficiente("GEN-001", 4294967294, 5),
        ),
    ];
    for (etiqueta, mut cuerpo, status, msg) in casos {
        if let Some(o) = cuerpo.as_object_mut() {
            o.insert("cliente".into(), json!("Cliente Nuevo"));
        }
        let r = post(&app, "/api/cotizaciones", &c, cuerpo).await;
        assert_eq!(r.err(), (status, msg.as_str()), "{etiqueta}");
    }
    // Malformed bodies → 400 with the generic message (§1.4 Required).
    for (etiqueta, cuerpo, tipo) in [
        ("json roto", "{\"items\": [", "application/json"),
        ("vacío", "", "application/json"),
        ("null", "null", "application/json"),
        ("sin content-type json", "{\"items\": []}", "text/plain"),
    ] {
        let r = app
            .post("/api/cotizaciones")
            .cookie(&c)
            .cuerpo(cuerpo)
            .cabecera("content-type", tipo)
            .send()
            .await;
        assert_eq!(r.err(), (400, ERROR_CREAR), "{etiqueta}");
    }
    assert_eq!(contar(&app, "Cotizacion", &e).await, 0);
    assert_eq!(
        contar(&app, "Cliente", &e).await,
        0,
        "a rejected quote leaves no customer behind"
    );
    assert_eq!(
        app.contar(r#"SELECT count(*) FROM "Auditoria""#, &[]).await,
        0
    );
}

#[tokio::test]
async fn crear_fallo_inesperado_500_sin_cliente_ni_cotizacion() {
    let Base { app, e, c, cat, .. } = base().await;
    let p = app.producto(&e, cat, "GEN-001", 5).await;
    // Fails on the item insert: after the customer row and the quote row were written.
    sql(
        &app,
        r#"ALTER TABLE "ItemCotizacion" ADD CONSTRAINT sabotaje CHECK ("cantidad" < 0) NOT VALID"#,
    )
    .await;
    let r = post(
        &app,
        "/api/cotizaciones",
        &c,
        json!({"items": [{"productoId": p, "cantidad": 1}], "cliente": "Nuevo"}),
    )
    .await;
    assert_eq!(r.err(), (500, ERROR_CREAR));
    assert_eq!(contar(&app, "Cliente", &e).await, 0);
    assert_eq!(contar(&app, "Cotizacion", &e).await, 0);
    assert_eq!(
        app.contar(r#"SELECT count(*) FROM "Auditoria""#, &[]).await,
        0
    );
}

#[tokio::test]
async fn crear_guardas_y_limite_de_peticiones() {
    let app = spawn_app_con(Opciones {
        rate_limit_max: 5,
        redis: None,
        ..Opciones::default()
    })
    .await;
    let Base { app, e, cat, .. } = base_con(app).await;
    let p = app.producto(&e, cat, "GEN-001", 5).await;
    let cuerpo = json!({"items": [{"productoId": p, "cantidad": 1}], "cliente": "Nuevo"});
    let roto = |c: &str| {
        app.post("/api/cotizaciones")
            .ip("10.201.0.1")
            .cookie(c)
            .cuerpo("{roto")
            .cabecera("content-type", "application/json")
            .send()
    };
    // Each request below comes from its own address (the limit is per IP).
    let mut n = 0;
    let mut ip = || {
        n += 1;
        format!("10.200.0.{n}")
    };
    let r = app
        .post("/api/cotizaciones")
        .ip(&ip())
        .json(cuerpo.clone())
        .send()
        .await;
    assert_eq!(r.err(), (401, NO_AUTENTICADO));
    for (rol, estado) in [
        ("ADMIN", "SUSPENDIDO"),
        ("SUPER_ADMIN", "PENDIENTE"),
        ("USUARIO", "SUSPENDIDO"),
    ] {
        let u = app.usuario(&e, rol, estado, &["REALIZAR_VENTAS"]).await;
        let c = app.sesion(&u).await;
        let r = app
            .post("/api/cotizaciones")
            .ip(&ip())
            .cookie(&c)
            .json(cuerpo.clone())
            .send()
            .await;
        assert_eq!(r.err(), (403, INACTIVO), "{rol} {estado}");
        assert_eq!(roto(&c).await.err(), (403, INACTIVO), "body after G2");
    }
    let (_, c) = usuario(&app, &e, "USUARIO", &["REGISTRAR_MOVIMIENTOS"]).await;
    let r = app
        .post("/api/cotizaciones")
        .ip(&ip())
        .cookie(&c)
        .json(cuerpo.clone())
        .send()
        .await;
    assert_eq!(r.err(), (403, NO_AUTORIZADO));
    assert_eq!(contar(&app, "Cliente", &e).await, 0);
    assert_eq!(contar(&app, "Cotizacion", &e).await, 0);
    for (rol, permisos) in [
        ("USUARIO", &["REALIZAR_VENTAS"][..]),
        ("SUPER_ADMIN", &[][..]),
    ] {
        let (_, c) = usuario(&app, &e, rol, permisos).await;
        let r = app
            .post("/api/cotizaciones")
            .ip(&ip())
            .cookie(&c)
            .json(cuerpo.clone())
            .send()
            .await;
        assert_eq!(r.status, 201, "{rol}: {}", r.texto);
    }
    // Rate limit (§1.3): POST /api/cotizaciones counts, 5 per address; cancel and convert don't.
    let (_, c) = usuario(&app, &e, "ADMIN", &[]).await;
    for i in 0..5 {
        let r = app
            .post("/api/cotizaciones")
            .cookie(&c)
            .json(json!({}))
            .send()
            .await;
        assert_eq!(r.err(), (400, SIN_ITEMS), "intento {i}");
    }
    let r = app
        .post("/api/cotizaciones")
        .cookie(&c)
        .json(cuerpo.clone())
        .send()
        .await;
    assert_eq!(r.status, 429, "{}", r.texto);
    for _ in 0..6 {
        assert_eq!(cancelar(&app, &c, 999, "x").await.status, 404);
        assert_eq!(convertir(&app, &c, 999).await.status, 404);
    }
    assert_eq!(
        app.get("/api/cotizaciones").cookie(&c).send().await.status,
        200
    );
}

#[tokio::test]
async fn crear_reservas_vigentes_bloquean_y_las_vencidas_o_cerradas_no() {
    let Base { app, e, c, cat, .. } = base().await;
    let p = app.producto(&e, cat, "GEN-001", 10).await;
    let (_, cv) = vendedor(&app, &e).await;
    let a = cotizar_uno(&app, &c, p, 4).await;
    // Another seller's pending quote reserves against everyone; so do one's own.
    let r = post(
        &app,
        "/api/cotizaciones",
        &cv,
        json!({"items": [{"productoId": p, "cantidad": 7}]}),
    )
    .await;
    assert_eq!(r.err(), (400, stock_insuficiente("GEN-001", 7, 6).as_str()));
    let b = cotizar_uno(&app, &c, p, 6).await;
    let r = post(
        &app,
        "/api/cotizaciones",
        &c,
        json!({"items": [{"productoId": p, "cantidad": 1}]}),
    )
    .await;
    assert_eq!(r.err(), (400, stock_insuficiente("GEN-001", 1, 0).as_str()));
    // Expired: a's 4 units are free again (validaHasta ≤ now reserves nothing).
    vence_en(&app, a, 0).await;
    let x = cotizar_uno(&app, &cv, p, 4).await;
    // Cancelled: b's 6 free.
    assert_eq!(cancelar(&app, &c, b, "x").await.status, 200);
    let y = cotizar_uno(&app, &c, p, 6).await;
    // Converted: the units left the stock, the quote reserves nothing more.
    assert_eq!(convertir(&app, &c, y).await.status, 200);
    assert_eq!(app.stock(p).await, 4);
    let r = post(
        &app,
        "/api/cotizaciones",
        &c,
        json!({"items": [{"productoId": p, "cantidad": 1}]}),
    )
    .await;
    assert_eq!(r.err(), (400, stock_insuficiente("GEN-001", 1, 0).as_str()));
    // Physical stock below the reservations clamps `disponible` at 0.
    sql(&app, r#"UPDATE "Producto" SET "cantidad" = 2"#).await;
    let r = post(
        &app,
        "/api/cotizaciones",
        &c,
        json!({"items": [{"productoId": p, "cantidad": 1}]}),
    )
    .await;
    assert_eq!(r.err(), (400, stock_insuficiente("GEN-001", 1, 0).as_str()));
    // An expired quote cannot be converted.
    assert_eq!(convertir(&app, &c, a).await.err(), (400, VENCIDA));
    assert_eq!(estado_de(&app, x).await, ("PENDIENTE".into(), None));
}

#[tokio::test]
async fn crear_idempotente_repite_respuesta_y_422_si_cambia() {
    let Base { app, e, c, cat, .. } = base().await;
    let p = app.producto(&e, cat, "GEN-001", 10).await;
    let cuerpo = json!({"items": [{"productoId": p, "cantidad": 2}], "cliente": "Nuevo"});
    let enviar = |clave: &'static str, cuerpo: Value| {
        app.post("/api/cotizaciones")
            .cookie(&c)
            .json(cuerpo)
            .cabecera("Idempotency-Key", clave)
            .send()
    };
    let r1 = enviar("k-1", cuerpo.clone()).await;
    assert_eq!(r1.status, 201, "{}", r1.texto);
    assert_eq!(r1.header("idempotent-replayed"), None);
    let r2 = enviar("k-1", cuerpo.clone()).await;
    assert_eq!((r2.status, &r2.body), (201, &r1.body));
    assert_eq!(r2.header("idempotent-replayed"), Some("true"));
    assert_eq!(contar(&app, "Cotizacion", &e).await, 1);
    assert_eq!(contar(&app, "Cliente", &e).await, 1);
    assert_eq!(
        app.contar(r#"SELECT count(*) FROM "Auditoria""#, &[]).await,
        1,
        "a replay audits nothing"
    );
    // Same key, other body → 422 and nothing written.
    let r = enviar(
        "k-1",
        json!({"items": [{"productoId": p, "cantidad": 3}], "cliente": "Nuevo"}),
    )
    .await;
    assert_eq!(r.err(), (422, CLAVE_REUTILIZADA));
    // Same key on another route → 422.
    let id = r1.body["id"].as_i64().unwrap();
    let r = app
        .post(&format!("/api/cotizaciones/{id}/convertir"))
        .cookie(&c)
        .cabecera("Idempotency-Key", "k-1")
        .send()
        .await;
    assert_eq!(r.err(), (422, CLAVE_REUTILIZADA));
    assert_eq!(estado_de(&app, id as i32).await.0, "PENDIENTE");
    // A failed request stores nothing: retried with the same key it runs again.
    let r = enviar("k-2", json!({"items": [{"productoId": p, "cantidad": 9}]})).await;
    assert_eq!(r.err(), (400, stock_insuficiente("GEN-001", 9, 8).as_str()));
    assert_eq!(cancelar(&app, &c, id as i32, "libera").await.status, 200);
    let r = enviar("k-2", json!({"items": [{"productoId": p, "cantidad": 9}]})).await;
    assert_eq!(r.status, 201, "{}", r.texto);
    // Keys are per tenant: another empresa can use "k-1".
    let e2 = app.empresa().await;
    let cat2 = app.categoria(&e2, "G", "G").await;
    let p2 = app.producto(&e2, cat2, "OTRO", 10).await;
    let (_, c2) = app.admin(&e2).await;
    let r = app
        .post("/api/cotizaciones")
        .cookie(&c2)
        .json(json!({"items": [{"productoId": p2, "cantidad": 1}]}))
        .cabecera("Idempotency-Key", "k-1")
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.texto);
    assert_eq!(r.header("idempotent-replayed"), None);
    // An invalid key is refused before any work.
    let r = app
        .post("/api/cotizaciones")
        .cookie(&c)
        .json(cuerpo.clone())
        .cabecera("Idempotency-Key", &"x".repeat(256))
        .send()
        .await;
    assert_eq!(
        r.err(),
        (
            400,
            "Idempotency-Key inválida: usa entre 1 y 255 caracteres visibles."
        )
    );
}

/// Concurrent requests with one key: one quote, every response the same 201.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrencia_crear_misma_clave_una_sola_cotizacion() {
    let Base { app, e, c, cat, .. } = base().await;
    let p = app.producto(&e, cat, "GEN-001", 1000).await;
    for ronda in 0..5 {
        let clave = format!("ronda-{ronda}");
        let cuerpo = json!({"items": [{"productoId": p, "cantidad": 1}], "cliente": format!("Cliente {ronda}")});
        let rs = futures::future::join_all((0..8).map(|_| {
            app.post("/api/cotizaciones")
                .cookie(&c)
                .json(cuerpo.clone())
                .cabecera("Idempotency-Key", &clave)
                .send()
        }))
        .await;
        for r in &rs {
            assert_eq!(r.status, 201, "ronda {ronda}: {}", r.texto);
            assert_eq!(r.body, rs[0].body, "ronda {ronda}");
        }
        assert_eq!(
            rs.iter()
                .filter(|r| r.header("idempotent-replayed").is_none())
                .count(),
            1,
            "ronda {ronda}"
        );
        assert_eq!(contar(&app, "Cotizacion", &e).await, ronda + 1);
        assert_eq!(contar(&app, "Cliente", &e).await, ronda + 1);
    }
}

/// Two quotes for the same units at once: the product lock serialises them, one wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrencia_reserva_bloquea_segunda_cotizacion() {
    let Base { app, e, c, cat, .. } = base().await;
    for ronda in 0..5 {
        let p = app.producto(&e, cat, &format!("RES-{ronda}"), 5).await;
        let rs = futures::future::join_all((0..6).map(|i| {
            post(
                &app,
                "/api/cotizaciones",
                &c,
                json!({"items": [{"productoId": p, "cantidad": 5}], "cliente": format!("C{ronda}-{i}")}),
            )
        }))
        .await;
        let ok = rs.iter().filter(|r| r.status == 201).count();
        assert_eq!(
            ok,
            1,
            "ronda {ronda}: {:?}",
            rs.iter().map(|r| &r.texto).collect::<Vec<_>>()
        );
        let msg = stock_insuficiente(&format!("RES-{ronda}"), 5, 0);
        for r in rs.iter().filter(|r| r.status != 201) {
            assert_eq!(r.err(), (400, msg.as_str()), "ronda {ronda}");
        }
        assert_eq!(
            app.contar(
                r#"SELECT count(*) FROM "ItemCotizacion" WHERE "productoId" = $1"#,
                &[&p]
            )
            .await,
            1
        );
        // Losers left no customer behind.
        assert_eq!(contar(&app, "Cliente", &e).await, ronda as i64 + 1);
    }
}

/// Concurrent quotes for the same new customer name create one `Cliente`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrencia_mismo_cliente_nuevo_una_fila() {
    let Base { app, e, c, cat, .. } = base().await;
    let mut productos = Vec::new();
    for i in 0..6 {
        productos.push(app.producto(&e, cat, &format!("P{i}"), 100).await);
    }
    for ronda in 0..4 {
        let nombre = format!("Cliente concurrente {ronda}");
        let rs = futures::future::join_all(productos.iter().map(|p| {
            post(
                &app,
                "/api/cotizaciones",
                &c,
                json!({"items": [{"productoId": p, "cantidad": 1}], "cliente": nombre}),
            )
        }))
        .await;
        let clientes: Vec<&Value> = rs
            .iter()
            .map(|r| {
                assert_eq!(r.status, 201, "{}", r.texto);
                &r.body["clienteId"]
            })
            .collect();
        assert!(clientes.iter().all(|x| *x == clientes[0]), "ronda {ronda}");
        assert_eq!(
            app.contar(
                r#"SELECT count(*) FROM "Cliente" WHERE "nombre" = $1"#,
                &[&nombre]
            )
            .await,
            1
        );
    }
}

// ---------- POST /api/cotizaciones/{id}/cancelar ----------

#[tokio::test]
async fn cancelar_200_exacto_audita_y_libera_la_reserva() {
    let Base {
        app,
        e,
        admin,
        c,
        cat,
    } = base().await;
    let p = app.producto(&e, cat, "GEN-001", 5).await;
    let (v, cv) = vendedor(&app, &e).await;
    let id = cotizar_uno(&app, &cv, p, 5).await;
    let r = cancelar(&app, &cv, id, "  El cliente desistió  ").await;
    assert_eq!(r.status, 200, "{}", r.texto);
    let esperado = cotizacion_json(&app, id).await;
    assert_eq!(r.body, esperado);
    assert_eq!(r.body["estado"], json!("CANCELADA"));
    assert_eq!(r.body["canceladaPorId"], json!(v.id));
    assert_eq!(r.body["motivoCancelacion"], json!("El cliente desistió"));
    assert!(r.body["canceladaEn"].is_string());
    assert_eq!(
        auditoria(&app, "Cotizacion", id).await[1],
        (
            Some(v.id.clone()),
            "ACTUALIZAR".into(),
            json!({"antes": {"estado": "PENDIENTE"},
                   "despues": {"estado": "CANCELADA", "motivoCancelacion": "El cliente desistió"},
                   "operacion": "CANCELAR_COTIZACION"}),
            Some(app.ip.clone()),
        )
    );
    assert_eq!(app.stock(p).await, 5, "no stock change");
    // The 5 units are free again.
    cotizar_uno(&app, &c, p, 5).await;
    // An admin cancels anyone's quote, expired ones too; `canceladaPorId` is the admin.
    let q = app.producto(&e, cat, "GEN-002", 5).await;
    let vieja = cotizar_uno(&app, &cv, q, 1).await;
    vence_en(&app, vieja, -3600).await;
    let r = cancelar(&app, &c, vieja, "vencida").await;
    assert_eq!(r.status, 200, "{}", r.texto);
    assert_eq!(r.body["canceladaPorId"], json!(admin.id));
    assert_eq!(r.body["vendedorId"], json!(v.id));
}

#[tokio::test]
async fn cancelar_errores_documentados_y_cuerpo_tolerante() {
    let Base { app, e, c, cat, .. } = base().await;
    let p = app.producto(&e, cat, "GEN-001", 100).await;
    let (_, cv) = vendedor(&app, &e).await;
    let (_, cv2) = vendedor(&app, &e).await;
    let id = cotizar_uno(&app, &cv, p, 1).await;
    let ruta = format!("/api/cotizaciones/{id}/cancelar");
    // `motivo` required, checked before the lookup (an unknown id still answers 400).
    for (etiqueta, cuerpo, tipo) in [
        ("sin motivo", r#"{}"#, Some("application/json")),
        (
            "motivo vacío",
            r#"{"motivo": "   "}"#,
            Some("application/json"),
        ),
        (
            "motivo no texto",
            r#"{"motivo": 5}"#,
            Some("application/json"),
        ),
        ("json roto", r#"{"motivo": "#, Some("application/json")),
        ("null", "null", Some("application/json")),
        ("arreglo", r#"["motivo"]"#, Some("application/json")),
        ("sin cuerpo", "", None),
    ] {
        for path in [ruta.as_str(), "/api/cotizaciones/999999/cancelar"] {
            let mut pet = app.post(path).cookie(&cv).cuerpo(cuerpo);
            if let Some(t) = tipo {
                pet = pet.cabecera("content-type", t);
            }
            assert_eq!(
                pet.send().await.err(),
                (400, SIN_MOTIVO),
                "{etiqueta} {path}"
            );
        }
    }
    // A non-empty body without a JSON content type → 400 generic (§1.4).
    let r = app
        .post(&ruta)
        .cookie(&cv)
        .cuerpo(r#"{"motivo": "x"}"#)
        .cabecera("content-type", "text/plain")
        .send()
        .await;
    assert_eq!(r.err(), (400, ERROR_CANCELAR));
    for malo in ["0", "abc", "12abc", "-1", "2147483648", "1.5"] {
        let r = post(
            &app,
            &format!("/api/cotizaciones/{malo}/cancelar"),
            &cv,
            json!({"motivo": "x"}),
        )
        .await;
        assert_eq!(r.err(), (400, ID_INVALIDO), "{malo}");
    }
    assert_eq!(
        cancelar(&app, &cv, 999999, "x").await.err(),
        (404, NO_ENCONTRADA)
    );
    // Not the owner (USUARIO) → 403; a quote without seller too.
    assert_eq!(
        cancelar(&app, &cv2, id, "x").await.err(),
        (403, CANCELAR_AJENA)
    );
    let sin_vendedor = cotizar_uno(&app, &c, p, 1).await;
    app.pg
        .execute(
            r#"UPDATE "Cotizacion" SET "vendedorId" = NULL WHERE "id" = $1"#,
            &[&sin_vendedor],
        )
        .await
        .unwrap();
    assert_eq!(
        cancelar(&app, &cv, sin_vendedor, "x").await.err(),
        (403, CANCELAR_AJENA)
    );
    assert_eq!(estado_de(&app, id).await.0, "PENDIENTE");
    // 409 after cancel, 409 after convert; state precedes ownership.
    assert_eq!(cancelar(&app, &cv, id, "x").await.status, 200);
    assert_eq!(
        cancelar(&app, &cv, id, "x").await.err(),
        (409, YA_CANCELADA)
    );
    assert_eq!(
        cancelar(&app, &cv2, id, "x").await.err(),
        (409, YA_CANCELADA)
    );
    assert_eq!(cancelar(&app, &c, id, "x").await.err(), (409, YA_CANCELADA));
    let conv = cotizar_uno(&app, &cv, p, 1).await;
    assert_eq!(convertir(&app, &cv, conv).await.status, 200);
    assert_eq!(
        cancelar(&app, &cv, conv, "x").await.err(),
        (409, CANCELAR_CONVERTIDA)
    );
    assert_eq!(
        cancelar(&app, &cv2, conv, "x").await.err(),
        (409, CANCELAR_CONVERTIDA)
    );
    // Another tenant's quote: 404 and nothing written.
    let otra = app.empresa().await;
    let (_, c_otra) = app.admin(&otra).await;
    let r = cancelar(&app, &c_otra, conv, "x").await;
    assert_eq!(r.err(), (404, NO_ENCONTRADA));
    let r = cancelar(&app, &c_otra, sin_vendedor, "x").await;
    assert_eq!(r.err(), (404, NO_ENCONTRADA));
    assert_eq!(estado_de(&app, sin_vendedor).await.0, "PENDIENTE");
    // Lenient body: unknown keys are ignored.
    let r = post(
        &app,
        &format!("/api/cotizaciones/{sin_vendedor}/cancelar"),
        &c,
        json!({"motivo": "ok", "estado": "PENDIENTE"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.texto);
}

#[tokio::test]
async fn cancelar_guardas() {
    let Base { app, e, c, cat, .. } = base().await;
    let p = app.producto(&e, cat, "GEN-001", 100).await;
    let id = cotizar_uno(&app, &c, p, 1).await;
    let ruta = format!("/api/cotizaciones/{id}/cancelar");
    let r = app.post(&ruta).json(json!({"motivo": "x"})).send().await;
    assert_eq!(r.err(), (401, NO_AUTENTICADO));
    // Guards precede the id and the body.
    let r = app.post("/api/cotizaciones/abc/cancelar").send().await;
    assert_eq!(r.err(), (401, NO_AUTENTICADO));
    for (rol, estado) in [("ADMIN", "SUSPENDIDO"), ("USUARIO", "PENDIENTE")] {
        let u = app.usuario(&e, rol, estado, &["REALIZAR_VENTAS"]).await;
        let c = app.sesion(&u).await;
        assert_eq!(
            cancelar(&app, &c, id, "x").await.err(),
            (403, INACTIVO),
            "{rol}"
        );
    }
    let (_, sin) = usuario(&app, &e, "USUARIO", &["AGREGAR_STOCK"]).await;
    assert_eq!(
        cancelar(&app, &sin, id, "x").await.err(),
        (403, NO_AUTORIZADO)
    );
    let r = app
        .post("/api/cotizaciones/abc/cancelar")
        .cookie(&sin)
        .send()
        .await;
    assert_eq!(r.err(), (403, NO_AUTORIZADO));
    assert_eq!(estado_de(&app, id).await.0, "PENDIENTE");
    let (_, sa) = usuario(&app, &e, "SUPER_ADMIN", &[]).await;
    assert_eq!(cancelar(&app, &sa, id, "x").await.status, 200);
}

// ---------- POST /api/cotizaciones/{id}/convertir ----------

#[tokio::test]
async fn convertir_200_exacto_precios_congelados_cliente_y_movimientos() {
    let Base {
        app,
        e,
        admin,
        c,
        cat,
    } = base().await;
    let p = app.producto(&e, cat, "GEN-001", 20).await;
    let q = app.producto(&e, cat, "GEN-002", 10).await;
    fijar_precio(&app, q, 19.99).await;
    let (v, cv) = vendedor(&app, &e).await;
    let id = cotizar(
        &app,
        &cv,
        json!({"items": [{"productoId": q, "cantidad": 3}, {"productoId": p, "cantidad": 2}],
               "cliente": "Ana", "notas": "Urgente"}),
    )
    .await;
    let cliente: i32 = app
        .pg
        .query_one(
            r#"SELECT "clienteId" FROM "Cotizacion" WHERE "id" = $1"#,
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    // Prices changed after quoting: the sale keeps the quoted ones.
    fijar_precio(&app, p, 5000.0).await;
    fijar_precio(&app, q, 1.0).await;
    // Converted by an admin: the seller stays the quote's.
    let r = app
        .post(&format!("/api/cotizaciones/{id}/convertir"))
        .cookie(&c)
        .cuerpo("{esto no es json")
        .cabecera("content-type", "text/plain")
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.texto);
    let venta = r.body["venta"]["id"].as_i64().unwrap() as i32;
    assert_eq!(
        r.body,
        json!({
            "venta": {
                "id": venta, "vendedorId": v.id, "clienteId": cliente, "total": 2059.97,
                "notas": format!("Venta convertida desde cotización #{id} — Urgente"),
                "creadoEn": fecha(&app, "Venta", "creadoEn", venta).await,
                "canceladaEn": null, "canceladaPorId": null, "motivoCancelacion": null,
                "empresaId": e,
            },
            "cotizacion": cotizacion_json(&app, id).await,
        })
    );
    assert_eq!(r.body["cotizacion"]["estado"], json!("CONVERTIDA"));
    assert_eq!(r.body["cotizacion"]["ventaId"], json!(venta));
    assert!(r.body["cotizacion"]["convertidaEn"].is_string());
    let items: Vec<(i32, i32, f64, f64)> = app
        .pg
        .query(
            r#"SELECT "productoId", "cantidad", "precioUnitario", "subtotal" FROM "ItemVenta"
               WHERE "ventaId" = $1 ORDER BY "id""#,
            &[&venta],
        )
        .await
        .unwrap()
        .iter()
        .map(|f| (f.get(0), f.get(1), f.get(2), f.get(3)))
        .collect();
    assert_eq!(items, vec![(q, 3, 19.99, 59.97), (p, 2, 1000.0, 2000.0)]);
    assert_eq!((app.stock(p).await, app.stock(q).await), (18, 7));
    let movs: Vec<FilaMovimiento> = app
        .pg
        .query(
            r#"SELECT "productoId", "tipo"::text, "cantidad", "notas", "ventaId" FROM "Movimiento"
               WHERE "empresaId" = $1 ORDER BY "id""#,
            &[&e],
        )
        .await
        .unwrap()
        .iter()
        .map(|f| (f.get(0), f.get(1), f.get(2), f.get(3), f.get(4)))
        .collect();
    let nota = format!("Venta #{venta} (cotización #{id})");
    assert_eq!(
        movs,
        vec![
            (q, "salida".into(), 3, Some(nota.clone()), Some(venta)),
            (p, "salida".into(), 2, Some(nota), Some(venta)),
        ]
    );
    assert_eq!(
        auditoria(&app, "Cotizacion", id).await[1],
        (
            Some(admin.id.clone()),
            "ACTUALIZAR".into(),
            json!({"antes": {"estado": "PENDIENTE"},
                   "despues": {"estado": "CONVERTIDA", "ventaId": venta},
                   "operacion": "CONVERTIR_COTIZACION"}),
            Some(app.ip.clone()),
        )
    );
    assert_eq!(
        auditoria(&app, "Venta", venta).await,
        vec![],
        "no Venta audit row"
    );
    // GEN-002 went 10 → 7 with stockMinimo 1: 7 > 3, no notification yet.
    assert_eq!(contar(&app, "Notificacion", &e).await, 0);
}

#[tokio::test]
async fn convertir_sin_notas_ni_vendedor_y_stock_bajo() {
    let Base {
        app,
        e,
        admin,
        c,
        cat,
    } = base().await;
    let p = app.producto(&e, cat, "GEN-001", 10).await;
    let id = cotizar_uno(&app, &c, p, 6).await;
    app.pg
        .execute(
            r#"UPDATE "Cotizacion" SET "vendedorId" = NULL WHERE "id" = $1"#,
            &[&id],
        )
        .await
        .unwrap();
    let r = convertir(&app, &c, id).await;
    assert_eq!(r.status, 200, "{}", r.texto);
    assert_eq!(r.body["venta"]["vendedorId"], json!(admin.id));
    assert_eq!(r.body["venta"]["clienteId"], json!(null));
    assert_eq!(
        r.body["venta"]["notas"],
        json!(format!("Venta convertida desde cotización #{id}"))
    );
    assert_eq!(r.body["cotizacion"]["vendedorId"], json!(null));
    // Threshold stockMinimo (1) + 2 = 3: 10 → 4 does not cross it, 4 → 3 does.
    assert_eq!(contar(&app, "Notificacion", &e).await, 0);
    let id2 = cotizar_uno(&app, &c, p, 1).await;
    assert_eq!(convertir(&app, &c, id2).await.status, 200);
    let f = app
        .pg
        .query(
            r#"SELECT "tipo"::text, "titulo", "mensaje", "link", "usuarioId", "leida" FROM "Notificacion"
               WHERE "empresaId" = $1"#,
            &[&e],
        )
        .await
        .unwrap();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].get::<_, String>(0), "STOCK_BAJO");
    assert_eq!(f[0].get::<_, String>(1), "Stock bajo: GEN-001");
    assert_eq!(
        f[0].get::<_, Option<String>>(2).as_deref(),
        Some("Quedan 3 unidades (mínimo 1).")
    );
    assert_eq!(
        f[0].get::<_, Option<String>>(3),
        Some(format!("/productos/{p}"))
    );
    assert_eq!(f[0].get::<_, Option<String>>(4), None);
    assert!(!f[0].get::<_, bool>(5));
}

#[tokio::test]
async fn convertir_errores_documentados_en_orden() {
    let Base { app, e, c, cat, .. } = base().await;
    let p = app.producto(&e, cat, "GEN-001", 10).await;
    let (_, cv) = vendedor(&app, &e).await;
    let (_, cv2) = vendedor(&app, &e).await;
    for malo in ["0", "abc", "3.9", "-2", "99999999999"] {
        let r = app
            .post(&format!("/api/cotizaciones/{malo}/convertir"))
            .cookie(&cv)
            .send()
            .await;
        assert_eq!(r.err(), (400, ID_INVALIDO), "{malo}");
    }
    assert_eq!(
        convertir(&app, &cv, 999999).await.err(),
        (404, NO_ENCONTRADA)
    );
    let id = cotizar_uno(&app, &cv, p, 4).await;
    // Not the owner.
    assert_eq!(
        convertir(&app, &cv2, id).await.err(),
        (403, CONVERTIR_AJENA)
    );
    // Physical stock below the quote (edited elsewhere): 400, nothing written.
    sql(&app, r#"UPDATE "Producto" SET "cantidad" = 3"#).await;
    assert_eq!(
        convertir(&app, &cv, id).await.err(),
        (400, fisico_insuficiente("GEN-001", 4, 3).as_str())
    );
    assert_eq!(contar(&app, "Venta", &e).await, 0);
    assert_eq!(app.stock(p).await, 3);
    // Expired: 400 before the owner check.
    sql(&app, r#"UPDATE "Producto" SET "cantidad" = 10"#).await;
    vence_en(&app, id, -1).await;
    assert_eq!(convertir(&app, &cv, id).await.err(), (400, VENCIDA));
    assert_eq!(convertir(&app, &cv2, id).await.err(), (400, VENCIDA));
    vence_en(&app, id, 3600).await;
    // Another tenant: 404, nothing written.
    let otra = app.empresa().await;
    let (_, c_otra) = app.admin(&otra).await;
    assert_eq!(
        convertir(&app, &c_otra, id).await.err(),
        (404, NO_ENCONTRADA)
    );
    assert_eq!(estado_de(&app, id).await, ("PENDIENTE".into(), None));
    // Converted once; then 409, also for a non-owner (state before ownership) and after expiry.
    assert_eq!(convertir(&app, &cv, id).await.status, 200);
    assert_eq!(convertir(&app, &cv, id).await.err(), (409, YA_CONVERTIDA));
    assert_eq!(convertir(&app, &cv2, id).await.err(), (409, YA_CONVERTIDA));
    vence_en(&app, id, -1).await;
    assert_eq!(convertir(&app, &c, id).await.err(), (409, YA_CONVERTIDA));
    let cancelada = cotizar_uno(&app, &cv, p, 1).await;
    assert_eq!(cancelar(&app, &cv, cancelada, "x").await.status, 200);
    assert_eq!(
        convertir(&app, &cv, cancelada).await.err(),
        (409, YA_CANCELADA)
    );
    assert_eq!(contar(&app, "Venta", &e).await, 1);
    assert_eq!(app.stock(p).await, 6);
}

#[tokio::test]
async fn convertir_guardas_y_500() {
    let Base { app, e, c, cat, .. } = base().await;
    let p = app.producto(&e, cat, "GEN-001", 10).await;
    let id = cotizar_uno(&app, &c, p, 1).await;
    assert_eq!(
        app.post(&format!("/api/cotizaciones/{id}/convertir"))
            .send()
            .await
            .err(),
        (401, NO_AUTENTICADO)
    );
    for (rol, estado) in [("SUPER_ADMIN", "SUSPENDIDO"), ("USUARIO", "PENDIENTE")] {
        let u = app.usuario(&e, rol, estado, &["REALIZAR_VENTAS"]).await;
        let c = app.sesion(&u).await;
        assert_eq!(
            convertir(&app, &c, id).await.err(),
            (403, INACTIVO),
            "{rol}"
        );
    }
    let (_, sin) = usuario(&app, &e, "USUARIO", &["DESCONTAR_STOCK"]).await;
    assert_eq!(convertir(&app, &sin, id).await.err(), (403, NO_AUTORIZADO));
    assert_eq!(estado_de(&app, id).await.0, "PENDIENTE");
    // An unexpected failure after the sale rows were written: 500, all rolled back.
    sql(
        &app,
        r#"ALTER TABLE "Movimiento" ADD CONSTRAINT sabotaje CHECK ("notas" IS NULL) NOT VALID"#,
    )
    .await;
    assert_eq!(convertir(&app, &c, id).await.err(), (500, ERROR_CONVERTIR));
    assert_eq!(estado_de(&app, id).await, ("PENDIENTE".into(), None));
    assert_eq!(contar(&app, "Venta", &e).await, 0);
    assert_eq!(app.stock(p).await, 10);
    sql(&app, r#"ALTER TABLE "Movimiento" DROP CONSTRAINT sabotaje"#).await;
    assert_eq!(convertir(&app, &c, id).await.status, 200);
}

#[tokio::test]
async fn convertir_idempotente() {
    let Base { app, e, c, cat, .. } = base().await;
    let p = app.producto(&e, cat, "GEN-001", 10).await;
    let a = cotizar_uno(&app, &c, p, 2).await;
    let b = cotizar_uno(&app, &c, p, 2).await;
    let enviar = |id: i32, clave: &'static str| {
        app.post(&format!("/api/cotizaciones/{id}/convertir"))
            .cookie(&c)
            .cabecera("Idempotency-Key", clave)
            .send()
    };
    let r1 = enviar(a, "conv-a").await;
    assert_eq!(r1.status, 200, "{}", r1.texto);
    let r2 = enviar(a, "conv-a").await;
    assert_eq!((r2.status, &r2.body), (200, &r1.body), "replay, not 409");
    assert_eq!(r2.header("idempotent-replayed"), Some("true"));
    assert_eq!(contar(&app, "Venta", &e).await, 1);
    assert_eq!(app.stock(p).await, 8);
    // The fingerprint is route + body bytes (shared::idempotencia): the body is ignored by the
    // conversion, but a different one under the same key is still another request.
    let r3 = app
        .post(&format!("/api/cotizaciones/{a}/convertir"))
        .cookie(&c)
        .json(json!({"x": 1}))
        .cabecera("Idempotency-Key", "conv-a")
        .send()
        .await;
    assert_eq!(r3.err(), (422, CLAVE_REUTILIZADA));
    // Same key, another quote → 422, b untouched.
    assert_eq!(enviar(b, "conv-a").await.err(), (422, CLAVE_REUTILIZADA));
    assert_eq!(estado_de(&app, b).await.0, "PENDIENTE");
    // Without a key a second conversion is the 409.
    assert_eq!(convertir(&app, &c, a).await.err(), (409, YA_CONVERTIDA));
    assert_eq!(
        auditoria(&app, "Cotizacion", a).await.len(),
        2,
        "CREAR + one conversion"
    );
}

// ---------- concurrency (sales.md §8 #1, #3) ----------

/// The same quote converted by 10 concurrent requests: one sale, stock down once, 9 × 409.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrencia_10_conversiones_de_la_misma_cotizacion() {
    let Base { app, e, c, cat, .. } = base().await;
    let p = app.producto(&e, cat, "GEN-001", 1000).await;
    let q = app.producto(&e, cat, "GEN-002", 1000).await;
    for ronda in 0..5 {
        let id = cotizar(
            &app,
            &c,
            json!({"items": [{"productoId": q, "cantidad": 3}, {"productoId": p, "cantidad": 2}]}),
        )
        .await;
        let antes = (app.stock(p).await, app.stock(q).await);
        let rs = futures::future::join_all((0..10).map(|_| convertir(&app, &c, id))).await;
        let ok: Vec<&Res> = rs.iter().filter(|r| r.status == 200).collect();
        assert_eq!(
            ok.len(),
            1,
            "ronda {ronda}: {:?}",
            rs.iter().map(|r| &r.texto).collect::<Vec<_>>()
        );
        for r in rs.iter().filter(|r| r.status != 200) {
            assert_eq!(r.err(), (409, YA_CONVERTIDA), "ronda {ronda}");
        }
        let venta = ok[0].body["venta"]["id"].as_i64().unwrap() as i32;
        assert_eq!(
            app.contar(
                r#"SELECT count(*) FROM "Venta" WHERE "notas" = $1"#,
                &[&format!("Venta convertida desde cotización #{id}")]
            )
            .await,
            1
        );
        assert_eq!(
            (app.stock(p).await, app.stock(q).await),
            (antes.0 - 2, antes.1 - 3),
            "ronda {ronda}"
        );
        assert_eq!(
            app.contar(
                r#"SELECT count(*) FROM "Movimiento" WHERE "ventaId" = $1"#,
                &[&venta]
            )
            .await,
            2
        );
        assert_eq!(
            estado_de(&app, id).await,
            ("CONVERTIDA".into(), Some(venta))
        );
        assert_eq!(auditoria(&app, "Cotizacion", id).await.len(), 2);
    }
    assert_eq!(contar(&app, "Venta", &e).await, 5);
}

/// Convert racing cancel on the same quote: exactly one wins, the other gets its 409.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrencia_convertir_contra_cancelar() {
    let Base { app, e, c, cat, .. } = base().await;
    let p = app.producto(&e, cat, "GEN-001", 1000).await;
    let mut ganadores = (0, 0);
    for ronda in 0..10 {
        let id = cotizar_uno(&app, &c, p, 2).await;
        let antes = app.stock(p).await;
        let (conv, canc) = tokio::join!(convertir(&app, &c, id), cancelar(&app, &c, id, "carrera"));
        let (estado, venta) = estado_de(&app, id).await;
        match (conv.status, canc.status) {
            (200, 409) => {
                ganadores.0 += 1;
                assert_eq!(canc.err(), (409, CANCELAR_CONVERTIDA), "ronda {ronda}");
                assert_eq!(estado, "CONVERTIDA");
                assert!(venta.is_some());
                assert_eq!(app.stock(p).await, antes - 2);
            }
            (409, 200) => {
                ganadores.1 += 1;
                assert_eq!(conv.err(), (409, YA_CANCELADA), "ronda {ronda}");
                assert_eq!(estado, "CANCELADA");
                assert_eq!(venta, None);
                assert_eq!(app.stock(p).await, antes);
            }
            otro => panic!("ronda {ronda}: {otro:?} {} {}", conv.texto, canc.texto),
        }
    }
    assert_eq!(
        contar(&app, "Venta", &e).await,
        ganadores.0,
        "one sale per conversion that won"
    );
}

/// Many quotes of the same products converted at once: the product locks serialise the
/// decrements, physical stock is checked under them (never negative), no deadlock.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrencia_conversiones_distintas_sin_sobreventa() {
    let Base { app, e, c, cat, .. } = base().await;
    for ronda in 0..3 {
        let p = app.producto(&e, cat, &format!("A{ronda}"), 10).await;
        let q = app.producto(&e, cat, &format!("B{ronda}"), 10).await;
        let mut ids = Vec::new();
        for i in 0..5 {
            // Alternating line order: the lock helper sorts ids, so no deadlock either way.
            let items = if i % 2 == 0 {
                json!([{"productoId": p, "cantidad": 2}, {"productoId": q, "cantidad": 2}])
            } else {
                json!([{"productoId": q, "cantidad": 2}, {"productoId": p, "cantidad": 2}])
            };
            ids.push(cotizar(&app, &c, json!({ "items": items })).await);
        }
        // Stock dropped elsewhere: only 3 conversions can be served.
        app.pg
            .execute(
                r#"UPDATE "Producto" SET "cantidad" = 6 WHERE "id" = $1"#,
                &[&p],
            )
            .await
            .unwrap();
        let rs = futures::future::join_all(ids.iter().map(|id| convertir(&app, &c, *id))).await;
        let ok = rs.iter().filter(|r| r.status == 200).count();
        assert_eq!(
            ok,
            3,
            "ronda {ronda}: {:?}",
            rs.iter().map(|r| &r.texto).collect::<Vec<_>>()
        );
        for r in rs.iter().filter(|r| r.status != 200) {
            assert_eq!(
                r.err(),
                (
                    400,
                    fisico_insuficiente(&format!("A{ronda}"), 2, 0).as_str()
                )
            );
        }
        assert_eq!((app.stock(p).await, app.stock(q).await), (0, 4));
    }
}

#[tokio::test]
async fn rutas_405_con_allow_y_404_json() {
    let Base { app, c, .. } = base().await;
    for (metodo, path, allow) in [
        ("PUT", "/api/cotizaciones", "GET, POST"),
        ("DELETE", "/api/cotizaciones/", "GET, POST"),
        ("GET", "/api/cotizaciones/1/cancelar", "POST"),
        ("PUT", "/api/cotizaciones/1/convertir", "POST"),
    ] {
        let r = app
            .pet(metodo.parse().unwrap(), path)
            .cookie(&c)
            .send()
            .await;
        assert_eq!(r.err(), (405, "Método no permitido"), "{metodo} {path}");
        assert_eq!(r.header("allow"), Some(allow), "{metodo} {path}");
    }
    for path in ["/api/cotizaciones/1", "/api/cotizaciones/1/otra"] {
        let r = app.get(path).cookie(&c).send().await;
        assert_eq!(r.err(), (404, "Ruta no encontrada"), "{path}");
    }
}
