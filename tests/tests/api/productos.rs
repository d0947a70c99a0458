//! productos: the catalog routes of catalog.md §5, §7.2, §7.3 and §8 over the real handlers and
//! Postgres — exact bodies, every documented error, guard order, tenant isolation, the database
//! afterwards, and the concurrency guarantees (distinct auto codes, no lost stock exit).

use serde_json::{Value, json};
use shared::json::{fecha, numero};
use tests::{App, Opciones, UsuarioT, spawn_app, spawn_app_con};

const NO_REDUCIR: &str = "No se puede reducir la cantidad desde la edición del producto. Para descontar stock, registra un movimiento de salida desde Movimientos.";

struct Fx {
    app: App,
    e: String,
    u: UsuarioT,
    c: String,
}

async fn fx() -> Fx {
    let app = spawn_app().await;
    let e = app.empresa().await;
    let (u, c) = app.admin(&e).await;
    Fx { app, e, u, c }
}

/// A product row as the API serializes it (catalog.md §5), read from the database.
async fn fila(app: &App, id: i32) -> Option<Value> {
    let f = app
        .pg
        .query_opt(
            r#"SELECT "id", "nombre", "descripcion", "codigo", "precio", "cantidad", "stockMinimo",
                      "categoriaId", "creadoEn", "empresaId" FROM "Producto" WHERE "id" = $1"#,
            &[&id],
        )
        .await
        .unwrap()?;
    Some(json!({
        "id": f.get::<_, i32>(0),
        "nombre": f.get::<_, String>(1),
        "descripcion": f.get::<_, Option<String>>(2),
        "codigo": f.get::<_, String>(3),
        "precio": numero(f.get(4)),
        "cantidad": f.get::<_, i32>(5),
        "stockMinimo": f.get::<_, i32>(6),
        "categoriaId": f.get::<_, i32>(7),
        "creadoEn": fecha(&f.get(8)),
        "empresaId": f.get::<_, String>(9),
    }))
}

/// A product with full control of its columns (the harness one fixes price and name).
async fn producto(
    app: &App,
    e: &str,
    cat: i32,
    nombre: &str,
    codigo: &str,
    cantidad: i32,
    creado: &str,
) -> i32 {
    app.pg
        .query_one(
            r#"INSERT INTO "Producto" ("nombre", "codigo", "precio", "cantidad", "stockMinimo", "categoriaId", "empresaId", "creadoEn")
               VALUES ($1, $2, 99.99, $3, 4, $4, $5, $6::text::timestamp) RETURNING "id""#,
            &[&nombre, &codigo, &cantidad, &cat, &e, &creado],
        )
        .await
        .unwrap()
        .get(0)
}

/// Σ entradas − Σ salidas of a product's movements.
async fn saldo_movimientos(app: &App, id: i32) -> i64 {
    app.contar(
        r#"SELECT COALESCE(SUM(CASE WHEN "tipo" = 'entrada' THEN "cantidad" ELSE -"cantidad" END), 0)::int8
           FROM "Movimiento" WHERE "productoId" = $1"#,
        &[&id],
    )
    .await
}

async fn contar_productos(app: &App, e: &str) -> i64 {
    app.contar(
        r#"SELECT count(*) FROM "Producto" WHERE "empresaId" = $1"#,
        &[&e],
    )
    .await
}

async fn auditorias(app: &App, e: &str) -> Vec<(String, String, Option<String>, Value)> {
    app.pg
        .query(
            r#"SELECT "accion", "entidad", "entidadId", "datos" FROM "Auditoria" WHERE "empresaId" = $1 ORDER BY "id""#,
            &[&e],
        )
        .await
        .unwrap()
        .iter()
        .map(|f| (f.get(0), f.get(1), f.get(2), f.get(3)))
        .collect()
}

/// `(usuarioId, accion, recursoId, descripcion, datosAntes, datosDespues, ip)` of the change log.
async fn cambios(
    app: &App,
    e: &str,
) -> Vec<(
    String,
    String,
    i32,
    String,
    Option<Value>,
    Option<Value>,
    String,
)> {
    app.pg
        .query(
            r#"SELECT "usuarioId", "accion", "recursoId", "descripcion", "datosAntes", "datosDespues", "ip"
               FROM "HistorialMovimientos" WHERE "empresaId" = $1 ORDER BY "id""#,
            &[&e],
        )
        .await
        .unwrap()
        .iter()
        .map(|f| (f.get(0), f.get(1), f.get(2), f.get(3), f.get(4), f.get(5), f.get(6)))
        .collect()
}

/// Movements of a product as `(tipo, cantidad, notas)`.
async fn movimientos(app: &App, id: i32) -> Vec<(String, i32, Option<String>)> {
    app.pg
        .query(
            r#"SELECT "tipo"::text, "cantidad", "notas" FROM "Movimiento" WHERE "productoId" = $1 ORDER BY "id""#,
            &[&id],
        )
        .await
        .unwrap()
        .iter()
        .map(|f| (f.get(0), f.get(1), f.get(2)))
        .collect()
}

async fn linea_de_venta(app: &App, e: &str, producto: i32) {
    let v: i32 = app
        .pg
        .query_one(
            r#"INSERT INTO "Venta" ("total", "empresaId") VALUES (10, $1) RETURNING "id""#,
            &[&e],
        )
        .await
        .unwrap()
        .get(0);
    app.pg
        .execute(
            r#"INSERT INTO "ItemVenta" ("ventaId", "productoId", "cantidad", "precioUnitario", "subtotal") VALUES ($1, $2, 1, 10, 10)"#,
            &[&v, &producto],
        )
        .await
        .unwrap();
}

async fn linea_de_cotizacion(app: &App, e: &str, producto: i32, estado: &str) {
    let q: i32 = app
        .pg
        .query_one(
            r#"INSERT INTO "Cotizacion" ("total", "estado", "validaHasta", "empresaId")
               VALUES (10, $2::text::"EstadoCotizacion", now() + interval '1 day', $1) RETURNING "id""#,
            &[&e, &estado],
        )
        .await
        .unwrap()
        .get(0);
    app.pg
        .execute(
            r#"INSERT INTO "ItemCotizacion" ("cotizacionId", "productoId", "cantidad", "precioUnitario", "subtotal") VALUES ($1, $2, 1, 10, 10)"#,
            &[&q, &producto],
        )
        .await
        .unwrap();
}

async fn linea_de_orden(app: &App, e: &str, producto: i32) {
    let prov: i32 = app
        .pg
        .query_one(
            r#"INSERT INTO "Proveedor" ("nombre", "empresaId") VALUES ('Proveedor', $1) RETURNING "id""#,
            &[&e],
        )
        .await
        .unwrap()
        .get(0);
    let o: i32 = app
        .pg
        .query_one(
            r#"INSERT INTO "OrdenCompra" ("proveedorId", "estado", "empresaId") VALUES ($1, 'RECIBIDA', $2) RETURNING "id""#,
            &[&prov, &e],
        )
        .await
        .unwrap()
        .get(0);
    app.pg
        .execute(
            r#"INSERT INTO "OrdenCompraItem" ("ordenCompraId", "productoId", "cantidad", "costoUnitario", "subtotal") VALUES ($1, $2, 1, 10, 10)"#,
            &[&o, &producto],
        )
        .await
        .unwrap();
}

/// The three non-admin / no-session cases of an admin route (family A / I): 401 without a
/// session, 403 for inactive users, 403 `No autorizado` for a USUARIO.
async fn guardas_admin(app: &App, e: &str, metodo: &str, path: &str, cuerpo: Value) {
    let pet = |c: Option<&str>| {
        let p = app.pet(metodo.parse().unwrap(), path).json(cuerpo.clone());
        match c {
            Some(c) => p.cookie(c),
            None => p,
        }
    };
    assert_eq!(
        pet(None).send().await.err(),
        (401, "No autorizado"),
        "{metodo} {path} sin sesión"
    );
    for estado in ["PENDIENTE", "SUSPENDIDO"] {
        let u = app.usuario(e, "ADMIN", estado, &[]).await;
        let c = app.sesion(&u).await;
        assert_eq!(
            pet(Some(&c)).send().await.err(),
            (403, "Usuario inactivo o suspendido"),
            "{metodo} {path} {estado}"
        );
    }
    let u = app
        .usuario(
            e,
            "USUARIO",
            "ACTIVO",
            &["AGREGAR_STOCK", "REGISTRAR_MOVIMIENTOS"],
        )
        .await;
    let c = app.sesion(&u).await;
    assert_eq!(
        pet(Some(&c)).send().await.err(),
        (403, "No autorizado"),
        "{metodo} {path} USUARIO"
    );
}

/// Family R: 401 with `msg` without a session, 403 for inactive users.
async fn guardas_lectura(app: &App, e: &str, path: &str, msg: &str) {
    assert_eq!(
        app.get(path).send().await.err(),
        (401, msg),
        "{path} sin sesión"
    );
    for estado in ["PENDIENTE", "SUSPENDIDO"] {
        let u = app.usuario(e, "USUARIO", estado, &[]).await;
        let c = app.sesion(&u).await;
        assert_eq!(
            app.get(path).cookie(&c).send().await.err(),
            (403, "Usuario inactivo o suspendido"),
            "{path} {estado}"
        );
    }
}

const IDS_MALOS: &[&str] = &["abc", "0", "-1", "12abc", "3.9", "2147483648", "0x10"];

// ---------- GET /api/productos ----------

#[tokio::test]
async fn listar_items_con_categoria_del_mas_nuevo_al_mas_viejo() {
    let Fx { app, e, c, .. } = fx().await;
    let otra = app.empresa().await;
    let cat = app.categoria(&e, "Bebidas", "BEB").await;
    let cat_otra = app.categoria(&otra, "Ajena", "AJE").await;
    let viejo = producto(
        &app,
        &e,
        cat,
        "Viejo",
        "BEB-001",
        3,
        "2026-01-01 10:00:00.123",
    )
    .await;
    let nuevo = producto(&app, &e, cat, "Nuevo", "BEB-002", 0, "2026-02-01 10:00:00").await;
    producto(
        &app,
        &otra,
        cat_otra,
        "Ajeno",
        "AJE-001",
        1,
        "2026-03-01 10:00:00",
    )
    .await;
    let r = app.get("/api/productos").cookie(&c).send().await;
    assert_eq!(r.status, 200, "{}", r.texto);
    let categoria = json!({"id": cat, "nombre": "Bebidas", "prefijo": "BEB", "empresaId": e});
    let mut a = fila(&app, nuevo).await.unwrap();
    a["categoria"] = categoria.clone();
    let mut b = fila(&app, viejo).await.unwrap();
    b["categoria"] = categoria;
    assert_eq!(
        r.body,
        json!({"items": [a, b], "nextCursor": null, "total": 2})
    );
    assert_eq!(
        r.body["items"][1]["creadoEn"],
        json!("2026-01-01T10:00:00.123Z")
    );
    assert_eq!(r.body["items"][1]["precio"], json!(99.99));
}

#[tokio::test]
async fn listar_pagina_sin_duplicar_ni_saltar_con_creado_en_identico() {
    let Fx { app, e, c, .. } = fx().await;
    let cat = app.categoria(&e, "Bebidas", "BEB").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            producto(
                &app,
                &e,
                cat,
                "P",
                &format!("BEB-{i}"),
                1,
                "2026-05-05 05:05:05.555",
            )
            .await,
        );
    }
    let mut vistos = Vec::new();
    let mut cursor: Option<i64> = None;
    let mut paginas = Vec::new();
    loop {
        let path = match cursor {
            Some(c) => format!("/api/productos?limite=2&cursor={c}"),
            None => "/api/productos?limite=2".into(),
        };
        let r = app.get(&path).cookie(&c).send().await;
        assert_eq!(r.status, 200, "{}", r.texto);
        let items = r.body["items"].as_array().unwrap();
        assert_eq!(r.body["total"], json!(items.len()));
        paginas.push(items.len());
        vistos.extend(items.iter().map(|i| i["id"].as_i64().unwrap() as i32));
        match r.body["nextCursor"].as_i64() {
            Some(n) => {
                assert_eq!(Some(n), items.last().and_then(|i| i["id"].as_i64()));
                cursor = Some(n);
            }
            None => break,
        }
        assert!(paginas.len() < 10, "pagination does not end");
    }
    assert_eq!(paginas, vec![2, 2, 1]);
    ids.reverse();
    assert_eq!(
        vistos, ids,
        "every product exactly once, id DESC within equal creadoEn"
    );
}

#[tokio::test]
async fn listar_limite_acotado_y_cursor() {
    let Fx { app, e, c, .. } = fx().await;
    let otra = app.empresa().await;
    let cat = app.categoria(&e, "Bebidas", "BEB").await;
    let cat_otra = app.categoria(&otra, "Ajena", "AJE").await;
    app.pg
        .execute(
            r#"INSERT INTO "Producto" ("nombre", "codigo", "precio", "categoriaId", "empresaId", "creadoEn")
               SELECT 'P', 'BEB-' || g, 1, $1, $2, now() AT TIME ZONE 'UTC' FROM generate_series(1, 105) g"#,
            &[&cat, &e],
        )
        .await
        .unwrap();
    let ajeno = producto(
        &app,
        &otra,
        cat_otra,
        "Ajeno",
        "AJE-1",
        1,
        "2026-01-01 00:00:00",
    )
    .await;
    let largo = |q: &'static str| {
        let app = &app;
        let c = c.clone();
        async move {
            let r = app
                .get(&format!("/api/productos{q}"))
                .cookie(&c)
                .send()
                .await;
            assert_eq!(r.status, 200, "{q}: {}", r.texto);
            (
                r.body["items"].as_array().unwrap().len(),
                r.body["nextCursor"].clone(),
            )
        }
    };
    for (q, esperado) in [
        ("", 50),
        ("?limite=abc", 50),
        ("?limite=", 50),
        ("?limite=0", 1),
        ("?limite=-5", 1),
        ("?limite=7", 7),
        ("?limite=3.9", 3),
        ("?limite=101", 100),
        ("?limite=100", 100),
    ] {
        assert_eq!(largo(q).await.0, esperado, "{q}");
    }
    // Malformed, zero or negative cursors are the first page.
    for q in ["?cursor=abc", "?cursor=0", "?cursor=-3"] {
        assert_eq!(largo(q).await.0, 50, "{q}");
    }
    // An unknown id, or another empresa's product, as cursor → empty page.
    for q in [
        format!("?cursor={ajeno}"),
        "?cursor=99999999".into(),
        "?cursor=2147483648".into(),
    ] {
        let r = app
            .get(&format!("/api/productos{q}"))
            .cookie(&c)
            .send()
            .await;
        assert_eq!(
            r.body,
            json!({"items": [], "nextCursor": null, "total": 0}),
            "{q}"
        );
    }
    assert!(largo("?limite=100").await.1.is_number());
}

#[tokio::test]
async fn listar_guardas_y_usuario_comun_puede_leer() {
    let Fx { app, e, .. } = fx().await;
    guardas_lectura(&app, &e, "/api/productos", "No autenticado").await;
    let u = app.usuario(&e, "USUARIO", "ACTIVO", &[]).await;
    let c = app.sesion(&u).await;
    let r = app.get("/api/productos").cookie(&c).send().await;
    assert_eq!(
        (r.status, r.body),
        (200, json!({"items": [], "nextCursor": null, "total": 0}))
    );
}

// ---------- POST /api/productos ----------

#[tokio::test]
async fn crear_con_codigo_automatico_stock_inicial_auditoria_e_historial() {
    let Fx { app, e, u, c } = fx().await;
    let cat = app.categoria(&e, "Bebidas", "BEB").await;
    let r = app
        .post("/api/productos")
        .cookie(&c)
        .json(json!({
            "nombre": "  Agua mineral ", "categoriaId": cat.to_string(), "precio": "2500.50",
            "cantidad": "200", "stockMinimo": "40", "descripcion": " Sin gas ", "codigo": "  "
        }))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.texto);
    let id = r.body["id"].as_i64().unwrap() as i32;
    let esperado = fila(&app, id).await.unwrap();
    assert_eq!(r.body, esperado);
    assert_eq!(
        (
            &r.body["nombre"],
            &r.body["codigo"],
            &r.body["precio"],
            &r.body["cantidad"],
            &r.body["stockMinimo"],
            &r.body["descripcion"]
        ),
        (
            &json!("Agua mineral"),
            &json!("BEB-001"),
            &json!(2500.5),
            &json!(200),
            &json!(40),
            &json!(" Sin gas ")
        )
    );
    assert_eq!(
        movimientos(&app, id).await,
        vec![("entrada".into(), 200, Some("Stock inicial".into()))]
    );
    assert_eq!(
        auditorias(&app, &e).await,
        vec![(
            "CREAR".into(),
            "Producto".into(),
            Some(id.to_string()),
            json!({"despues": r.body})
        )]
    );
    let ip: String = app
        .pg
        .query_one(
            r#"SELECT "ip" FROM "Auditoria" WHERE "empresaId" = $1"#,
            &[&e],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(ip, app.ip);
    assert_eq!(
        cambios(&app, &e).await,
        vec![(
            u.id.clone(),
            "CREAR".into(),
            id,
            "Producto \"Agua mineral\" creado (stock inicial: 200)".into(),
            None,
            Some(
                json!({"nombre": "Agua mineral", "cantidad": 200, "precio": 2500.5, "codigo": "BEB-001"})
            ),
            app.ip.clone()
        )]
    );
    // The next automatic code of the category.
    let r = app
        .post("/api/productos")
        .cookie(&c)
        .json(json!({"nombre": "Otra", "categoriaId": cat, "precio": 1}))
        .send()
        .await;
    assert_eq!((r.status, &r.body["codigo"]), (201, &json!("BEB-002")));
}

#[tokio::test]
async fn crear_valores_por_defecto_y_codigo_manual() {
    let Fx { app, e, c, .. } = fx().await;
    let cat = app.categoria(&e, "Bebidas", "BEB").await;
    let r = app
        .post("/api/productos")
        .cookie(&c)
        .json(json!({"nombre": "Uno", "categoriaId": cat, "precio": -0.0, "codigo": " X-1 ", "descripcion": {"a": 1}}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.texto);
    let id = r.body["id"].as_i64().unwrap() as i32;
    assert_eq!(
        (
            &r.body["codigo"],
            &r.body["precio"],
            &r.body["cantidad"],
            &r.body["stockMinimo"],
            &r.body["descripcion"]
        ),
        (&json!("X-1"), &json!(0), &json!(0), &json!(1), &json!(null))
    );
    assert!(
        movimientos(&app, id).await.is_empty(),
        "no movement without initial stock"
    );
    // stockMinimo 0 is kept (Required); base-10 parsing ("0x10" → 0); "3.9" → 3.
    let r = app
        .post("/api/productos")
        .cookie(&c)
        .json(json!({"nombre": "Dos", "categoriaId": cat, "precio": "1e3", "stockMinimo": 0, "cantidad": "0x10"}))
        .send()
        .await;
    assert_eq!(
        (
            r.status,
            &r.body["stockMinimo"],
            &r.body["cantidad"],
            &r.body["precio"]
        ),
        (201, &json!(0), &json!(0), &json!(1000))
    );
    let r = app
        .post("/api/productos")
        .cookie(&c)
        .json(json!({"nombre": "Tres", "categoriaId": cat, "precio": 5, "cantidad": "3.9", "stockMinimo": "abc"}))
        .send()
        .await;
    assert_eq!(
        (r.status, &r.body["cantidad"], &r.body["stockMinimo"]),
        (201, &json!(3), &json!(1))
    );
    // The same manual code in another empresa is fine.
    let otra = app.empresa().await;
    let (_, c2) = app.admin(&otra).await;
    let cat2 = app.categoria(&otra, "Bebidas", "BEB").await;
    let r = app
        .post("/api/productos")
        .cookie(&c2)
        .json(json!({"nombre": "Uno", "categoriaId": cat2, "precio": 1, "codigo": "X-1"}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.texto);
}

#[tokio::test]
async fn crear_codigo_automatico_salta_codigos_usados_y_relleno_de_tres() {
    let Fx { app, e, c, .. } = fx().await;
    let beb = app.categoria(&e, "Bebidas", "BEB").await;
    let otra_cat = app.categoria(&e, "Otros", "OTR").await;
    // A reference-era 5-digit code counts; a manual code in another category is skipped.
    producto(
        &app,
        &e,
        beb,
        "Viejo",
        "BEB-00007",
        0,
        "2026-01-01 00:00:00",
    )
    .await;
    producto(
        &app,
        &e,
        otra_cat,
        "Manual",
        "BEB-008",
        0,
        "2026-01-01 00:00:00",
    )
    .await;
    let r = app
        .post("/api/productos")
        .cookie(&c)
        .json(json!({"nombre": "Nuevo", "categoriaId": beb, "precio": 1}))
        .send()
        .await;
    assert_eq!(
        (r.status, &r.body["codigo"]),
        (201, &json!("BEB-009")),
        "{}",
        r.texto
    );
    // 64-bit-safe: a huge number never fails.
    producto(
        &app,
        &e,
        beb,
        "Enorme",
        "BEB-99999999999",
        0,
        "2026-01-01 00:00:00",
    )
    .await;
    let r = app
        .post("/api/productos")
        .cookie(&c)
        .json(json!({"nombre": "Después", "categoriaId": beb, "precio": 1}))
        .send()
        .await;
    assert_eq!(
        (r.status, &r.body["codigo"]),
        (201, &json!("BEB-100000000000"))
    );
}

#[tokio::test]
async fn crear_errores_documentados_sin_escribir_nada() {
    let Fx { app, e, c, .. } = fx().await;
    let cat = app.categoria(&e, "Bebidas", "BEB").await;
    let otra = app.empresa().await;
    let ajena = app.categoria(&otra, "Ajena", "AJE").await;
    producto(
        &app,
        &e,
        cat,
        "Existente",
        "DUP-1",
        0,
        "2026-01-01 00:00:00",
    )
    .await;
    let ok = json!({"nombre": "X", "categoriaId": cat, "precio": 10});
    let con = |k: &str, v: Value| {
        let mut b = ok.clone();
        b[k] = v;
        b
    };
    const NO_PERTENECE: &str = "La categoría seleccionada no existe o no pertenece a la empresa.";
    let casos = [
        (
            "sin nombre",
            json!({"categoriaId": cat, "precio": 1}),
            400,
            "El nombre es obligatorio.",
        ),
        (
            "nombre en blanco",
            con("nombre", json!("   ")),
            400,
            "El nombre es obligatorio.",
        ),
        (
            "nombre no texto",
            con("nombre", json!(7)),
            400,
            "El nombre es obligatorio.",
        ),
        (
            "cuerpo arreglo",
            json!([1]),
            400,
            "El nombre es obligatorio.",
        ),
        ("cuerpo número", json!(5), 400, "El nombre es obligatorio."),
        (
            "sin categoría",
            json!({"nombre": "X", "precio": 1}),
            400,
            "La categoría es obligatoria.",
        ),
        (
            "categoría 0",
            con("categoriaId", json!("0")),
            400,
            "La categoría es obligatoria.",
        ),
        (
            "categoría texto",
            con("categoriaId", json!("abc")),
            400,
            "La categoría es obligatoria.",
        ),
        (
            "categoría ajena",
            con("categoriaId", json!(ajena)),
            400,
            NO_PERTENECE,
        ),
        (
            "categoría inexistente",
            con("categoriaId", json!(999999)),
            400,
            NO_PERTENECE,
        ),
        (
            "categoría negativa",
            con("categoriaId", json!(-1)),
            400,
            NO_PERTENECE,
        ),
        (
            "categoría enorme",
            con("categoriaId", json!("99999999999")),
            400,
            NO_PERTENECE,
        ),
        (
            "sin precio",
            json!({"nombre": "X", "categoriaId": cat}),
            400,
            "El precio debe ser un número válido.",
        ),
        (
            "precio texto",
            con("precio", json!("abc")),
            400,
            "El precio debe ser un número válido.",
        ),
        (
            "precio negativo",
            con("precio", json!(-1)),
            400,
            "El precio debe ser un número válido.",
        ),
        (
            "precio infinito",
            con("precio", json!("Infinity")),
            400,
            "El precio debe ser un número válido.",
        ),
        (
            "precio 1e999",
            con("precio", json!("1e999")),
            400,
            "El precio debe ser un número válido.",
        ),
        (
            "precio null",
            con("precio", json!(null)),
            400,
            "El precio debe ser un número válido.",
        ),
        (
            "cantidad negativa",
            con("cantidad", json!(-1)),
            400,
            "La cantidad debe ser un número entero no negativo.",
        ),
        (
            "cantidad enorme",
            con("cantidad", json!("3000000000")),
            400,
            "La cantidad debe ser un número entero no negativo.",
        ),
        (
            "stock mínimo negativo",
            con("stockMinimo", json!("-2")),
            400,
            "El stock mínimo debe ser un número entero no negativo.",
        ),
        (
            "código duplicado",
            con("codigo", json!(" DUP-1 ")),
            409,
            "Ya existe un producto con ese código.",
        ),
        // Order: the category is checked before the price.
        (
            "categoría antes que precio",
            json!({"nombre": "X", "categoriaId": ajena, "precio": "x"}),
            400,
            NO_PERTENECE,
        ),
        (
            "precio antes que cantidad",
            json!({"nombre": "X", "categoriaId": cat, "precio": "x", "cantidad": -1}),
            400,
            "El precio debe ser un número válido.",
        ),
    ];
    for (caso, cuerpo, status, msg) in casos {
        let r = app
            .post("/api/productos")
            .cookie(&c)
            .json(cuerpo)
            .send()
            .await;
        assert_eq!(r.err(), (status, msg), "{caso}");
    }
    for (caso, cuerpo, tipo) in [
        ("json roto", "{\"nombre\": ", "application/json"),
        ("vacío", "", "application/json"),
        ("null", "null", "application/json"),
        ("sin content-type json", "{\"nombre\": \"X\"}", "text/plain"),
    ] {
        let r = app
            .post("/api/productos")
            .cookie(&c)
            .cuerpo(cuerpo)
            .cabecera("content-type", tipo)
            .send()
            .await;
        assert_eq!(r.err(), (400, "Error al crear producto"), "{caso}");
    }
    assert_eq!(contar_productos(&app, &e).await, 1, "nothing written");
    assert_eq!(
        app.contar(r#"SELECT count(*) FROM "Movimiento""#, &[])
            .await,
        0
    );
    assert!(auditorias(&app, &e).await.is_empty());
    assert!(cambios(&app, &e).await.is_empty());
}

#[tokio::test]
async fn crear_guardas() {
    let Fx { app, e, .. } = fx().await;
    let cat = app.categoria(&e, "Bebidas", "BEB").await;
    guardas_admin(
        &app,
        &e,
        "POST",
        "/api/productos",
        json!({"nombre": "X", "categoriaId": cat, "precio": 1}),
    )
    .await;
    assert_eq!(contar_productos(&app, &e).await, 0);
}

#[tokio::test]
async fn crear_esta_limitado_por_ip_antes_de_las_guardas() {
    let app = spawn_app_con(Opciones {
        rate_limit_max: 1,
        redis: None,
        ..Opciones::default()
    })
    .await;
    assert_eq!(
        app.post("/api/productos")
            .json(json!({}))
            .send()
            .await
            .status,
        401
    );
    let r = app.post("/api/productos").json(json!({})).send().await;
    // In-memory window opened by the first attempt, less than a second ago.
    assert!((59..=60).contains(&r.segundos_de_espera()));
    // Not limited: bulk-delete and reads.
    assert_eq!(
        app.post("/api/productos/bulk-delete")
            .json(json!({}))
            .send()
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn crear_diez_concurrentes_con_codigo_automatico_da_diez_codigos_distintos() {
    let Fx { app, e, c, .. } = fx().await;
    let cat = app.categoria(&e, "Bebidas", "BEB").await;
    let envios = (0..10).map(|i| {
        app.post("/api/productos")
            .cookie(&c)
            .json(
                json!({"nombre": format!("P{i}"), "categoriaId": cat, "precio": 1, "cantidad": 1}),
            )
            .send()
    });
    let respuestas = futures::future::join_all(envios).await;
    let mut codigos: Vec<String> = respuestas
        .iter()
        .map(|r| {
            assert_eq!(r.status, 201, "{}", r.texto);
            r.body["codigo"].as_str().unwrap().to_string()
        })
        .collect();
    codigos.sort();
    let esperados: Vec<String> = (1..=10).map(|n| format!("BEB-{n:03}")).collect();
    assert_eq!(codigos, esperados);
    assert_eq!(contar_productos(&app, &e).await, 10);
}

// ---------- GET /api/productos/{id} ----------

#[tokio::test]
async fn obtener_forma_especial_y_errores() {
    let Fx { app, e, c, .. } = fx().await;
    let cat = app.categoria(&e, "Bebidas", "BEB").await;
    let id = producto(
        &app,
        &e,
        cat,
        "Agua",
        "BEB-001",
        5,
        "2026-06-22 15:04:05.123",
    )
    .await;
    let r = app
        .get(&format!("/api/productos/{id}"))
        .cookie(&c)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.texto);
    assert_eq!(
        r.body,
        json!({
            "id": id, "nombre": "Agua", "descripcion": null, "codigo": "BEB-001", "precio": 99.99,
            "cantidad": 5, "stockMinimo": 4, "creadoEn": "2026-06-22T15:04:05.123Z",
            "categoria": {"id": cat, "nombre": "Bebidas", "prefijo": "BEB"}
        })
    );
    for malo in IDS_MALOS {
        let r = app
            .get(&format!("/api/productos/{malo}"))
            .cookie(&c)
            .send()
            .await;
        assert_eq!(r.err(), (400, "ID inválido."), "{malo}");
    }
    let otra = app.empresa().await;
    let (_, c2) = app.admin(&otra).await;
    let r = app
        .get(&format!("/api/productos/{id}"))
        .cookie(&c2)
        .send()
        .await;
    assert_eq!(r.err(), (404, "Producto no encontrado"));
    let r = app.get("/api/productos/999999").cookie(&c).send().await;
    assert_eq!(r.err(), (404, "Producto no encontrado"));
    guardas_lectura(&app, &e, &format!("/api/productos/{id}"), "No autenticado").await;
    // Guards come before the id.
    assert_eq!(
        app.get("/api/productos/abc").send().await.err(),
        (401, "No autenticado")
    );
}

// ---------- PUT /api/productos/{id} ----------

#[tokio::test]
async fn actualizar_sube_stock_con_movimiento_e_historial_de_precio() {
    let Fx { app, e, u, c } = fx().await;
    let cat = app.categoria(&e, "Bebidas", "BEB").await;
    let cat2 = app.categoria(&e, "Otros", "OTR").await;
    let id = producto(&app, &e, cat, "Agua", "BEB-001", 5, "2026-01-01 00:00:00").await;
    let antes = fila(&app, id).await.unwrap();
    let r = app
        .put(&format!("/api/productos/{id}"))
        .cookie(&c)
        .json(json!({
            "nombre": "  Agua con gas ", "cantidad": "8", "precio": "120.5", "stockMinimo": 2,
            "categoriaId": cat2, "descripcion": "Nueva"
        }))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.texto);
    let despues = fila(&app, id).await.unwrap();
    assert_eq!(r.body, despues);
    assert_eq!(
        (
            &r.body["nombre"],
            &r.body["codigo"],
            &r.body["cantidad"],
            &r.body["precio"],
            &r.body["categoriaId"],
            &r.body["descripcion"],
            &r.body["stockMinimo"]
        ),
        (
            &json!("Agua con gas"),
            &json!("BEB-001"),
            &json!(8),
            &json!(120.5),
            &json!(cat2),
            &json!("Nueva"),
            &json!(2)
        ),
        "nombre trimmed, codigo absent → unchanged"
    );
    assert_eq!(
        movimientos(&app, id).await,
        vec![("entrada".into(), 3, Some("Ajuste por edición".into()))]
    );
    let h = app
        .pg
        .query_one(
            r#"SELECT "precioAnterior", "precioNuevo", "cambiadoPorId", "empresaId" FROM "HistorialPrecio" WHERE "productoId" = $1"#,
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            h.get::<_, f64>(0),
            h.get::<_, f64>(1),
            h.get::<_, String>(2),
            h.get::<_, String>(3)
        ),
        (99.99, 120.5, u.id.clone(), e.clone())
    );
    assert_eq!(
        auditorias(&app, &e).await,
        vec![(
            "ACTUALIZAR".into(),
            "Producto".into(),
            Some(id.to_string()),
            json!({"antes": antes, "despues": despues})
        )]
    );
    assert_eq!(
        cambios(&app, &e).await,
        vec![(
            u.id.clone(),
            "MODIFICAR".into(),
            id,
            "Producto \"Agua con gas\" modificado: cantidad +3".into(),
            Some(json!({"nombre": "Agua", "cantidad": 5, "precio": 99.99})),
            Some(json!({"nombre": "Agua con gas", "cantidad": 8, "precio": 120.5})),
            app.ip.clone()
        )]
    );
}

#[tokio::test]
async fn actualizar_sin_cambio_de_stock_ni_precio_y_codigo() {
    let Fx { app, e, c, .. } = fx().await;
    let cat = app.categoria(&e, "Bebidas", "BEB").await;
    let id = producto(&app, &e, cat, "Agua", "BEB-001", 5, "2026-01-01 00:00:00").await;
    producto(&app, &e, cat, "Otro", "BEB-002", 0, "2026-01-01 00:00:00").await;
    let base = json!({"nombre": "Agua", "cantidad": 5, "precio": 99.99, "categoriaId": cat});
    let r = app
        .put(&format!("/api/productos/{id}"))
        .cookie(&c)
        .json(base.clone())
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.texto);
    assert_eq!(
        (&r.body["stockMinimo"], &r.body["descripcion"]),
        (&json!(1), &json!(null)),
        "absent stockMinimo → 1"
    );
    assert!(movimientos(&app, id).await.is_empty());
    assert_eq!(
        app.contar(r#"SELECT count(*) FROM "HistorialPrecio""#, &[])
            .await,
        0
    );
    assert_eq!(cambios(&app, &e).await[0].3, "Producto \"Agua\" modificado");
    // Blank / non-string codes keep the stored one; a trimmed new code is stored.
    for codigo in [json!(""), json!("   "), json!(null), json!(12)] {
        let mut b = base.clone();
        b["codigo"] = codigo.clone();
        let r = app
            .put(&format!("/api/productos/{id}"))
            .cookie(&c)
            .json(b)
            .send()
            .await;
        assert_eq!(
            (r.status, &r.body["codigo"]),
            (200, &json!("BEB-001")),
            "{codigo}"
        );
    }
    let mut b = base.clone();
    b["codigo"] = json!(" NUEVO-1 ");
    let r = app
        .put(&format!("/api/productos/{id}"))
        .cookie(&c)
        .json(b.clone())
        .send()
        .await;
    assert_eq!((r.status, &r.body["codigo"]), (200, &json!("NUEVO-1")));
    b["codigo"] = json!("BEB-002");
    let r = app
        .put(&format!("/api/productos/{id}"))
        .cookie(&c)
        .json(b)
        .send()
        .await;
    assert_eq!(r.err(), (409, "Ya existe un producto con ese código."));
    assert_eq!(fila(&app, id).await.unwrap()["codigo"], json!("NUEVO-1"));
}

#[tokio::test]
async fn actualizar_errores_en_orden_y_nada_escrito() {
    let Fx { app, e, c, .. } = fx().await;
    let cat = app.categoria(&e, "Bebidas", "BEB").await;
    let otra = app.empresa().await;
    let ajena = app.categoria(&otra, "Ajena", "AJE").await;
    let id = producto(&app, &e, cat, "Agua", "BEB-001", 5, "2026-01-01 00:00:00").await;
    let antes = fila(&app, id).await.unwrap();
    let ok = json!({"nombre": "Agua", "cantidad": 5, "precio": 99.99, "stockMinimo": 4, "categoriaId": cat});
    let con = |k: &str, v: Value| {
        let mut b = ok.clone();
        b[k] = v;
        b
    };
    let sin = |k: &str| {
        let mut b = ok.clone();
        b.as_object_mut().unwrap().remove(k);
        b
    };
    let path = format!("/api/productos/{id}");
    let casos = [
        (
            "sin cantidad",
            sin("cantidad"),
            400,
            "La cantidad debe ser un número entero no negativo.",
        ),
        (
            "cantidad texto",
            con("cantidad", json!("x")),
            400,
            "La cantidad debe ser un número entero no negativo.",
        ),
        (
            "cantidad negativa",
            con("cantidad", json!(-1)),
            400,
            "La cantidad debe ser un número entero no negativo.",
        ),
        (
            "nombre corto",
            con("nombre", json!(" A ")),
            400,
            "El nombre debe tener al menos 2 caracteres.",
        ),
        (
            "sin nombre",
            sin("nombre"),
            400,
            "El nombre debe tener al menos 2 caracteres.",
        ),
        (
            "precio texto",
            con("precio", json!("x")),
            400,
            "El precio debe ser un número válido no negativo.",
        ),
        (
            "precio negativo",
            con("precio", json!(-3)),
            400,
            "El precio debe ser un número válido no negativo.",
        ),
        (
            "precio infinito",
            con("precio", json!("-Infinity")),
            400,
            "El precio debe ser un número válido no negativo.",
        ),
        (
            "stock mínimo vacío",
            con("stockMinimo", json!("")),
            400,
            "El stock mínimo debe ser un número entero no negativo.",
        ),
        (
            "stock mínimo negativo",
            con("stockMinimo", json!(-1)),
            400,
            "El stock mínimo debe ser un número entero no negativo.",
        ),
        ("reduce", con("cantidad", json!(4)), 400, NO_REDUCIR),
        (
            "sin categoría",
            sin("categoriaId"),
            400,
            "La categoría es obligatoria.",
        ),
        (
            "categoría 0",
            con("categoriaId", json!(0)),
            400,
            "La categoría es obligatoria.",
        ),
        (
            "categoría ajena",
            con("categoriaId", json!(ajena)),
            400,
            "La categoría seleccionada no existe.",
        ),
        (
            "categoría inexistente",
            con("categoriaId", json!(999999)),
            400,
            "La categoría seleccionada no existe.",
        ),
        (
            "cantidad antes que nombre",
            json!({"nombre": "A", "precio": "x"}),
            400,
            "La cantidad debe ser un número entero no negativo.",
        ),
        (
            "reducir antes que categoría",
            json!({"nombre": "Agua", "cantidad": 1, "precio": 1}),
            400,
            NO_REDUCIR,
        ),
    ];
    for (caso, cuerpo, status, msg) in casos {
        let r = app.put(&path).cookie(&c).json(cuerpo).send().await;
        assert_eq!(r.err(), (status, msg), "{caso}");
    }
    for (caso, cuerpo) in [("json roto", "{"), ("vacío", ""), ("null", "null")] {
        let r = app
            .put(&path)
            .cookie(&c)
            .cuerpo(cuerpo)
            .cabecera("content-type", "application/json")
            .send()
            .await;
        assert_eq!(r.err(), (400, "Error al actualizar producto"), "{caso}");
    }
    for malo in IDS_MALOS {
        let r = app
            .put(&format!("/api/productos/{malo}"))
            .cookie(&c)
            .json(ok.clone())
            .send()
            .await;
        assert_eq!(r.err(), (400, "ID inválido."), "{malo}");
    }
    // The id is checked before the body.
    let r = app
        .put("/api/productos/abc")
        .cookie(&c)
        .cuerpo("{")
        .cabecera("content-type", "application/json")
        .send()
        .await;
    assert_eq!(r.err(), (400, "ID inválido."));
    // Unknown / other empresa: 404, before the category checks.
    let r = app
        .put("/api/productos/999999")
        .cookie(&c)
        .json(con("categoriaId", json!(0)))
        .send()
        .await;
    assert_eq!(r.err(), (404, "Producto no encontrado"));
    let (_, c2) = app.admin(&otra).await;
    let r = app
        .put(&path)
        .cookie(&c2)
        .json(con("categoriaId", json!(ajena)))
        .send()
        .await;
    assert_eq!(r.err(), (404, "Producto no encontrado"));
    assert_eq!(fila(&app, id).await.unwrap(), antes, "nothing written");
    assert!(movimientos(&app, id).await.is_empty());
    assert!(auditorias(&app, &e).await.is_empty());
    assert!(auditorias(&app, &otra).await.is_empty());
    assert!(cambios(&app, &e).await.is_empty());
    guardas_admin(&app, &e, "PUT", &path, con("cantidad", json!(50))).await;
    assert_eq!(fila(&app, id).await.unwrap(), antes);
}

/// Deterministic lost-update check: an exit holds the row lock and commits while the PUT is
/// waiting; the PUT must compute its delta from the stock after that exit.
#[tokio::test]
async fn actualizar_espera_la_salida_en_curso_y_no_la_pierde() {
    let Fx { app, e, c, .. } = fx().await;
    let cat = app.categoria(&e, "Bebidas", "BEB").await;
    let r = app
        .post("/api/productos")
        .cookie(&c)
        .json(json!({"nombre": "Agua", "categoriaId": cat, "precio": 1, "cantidad": 10}))
        .send()
        .await;
    let id = r.body["id"].as_i64().unwrap() as i32;
    let mut otra = tests::conectar(&tests::url_de(&app.db)).await;
    let tx = otra.transaction().await.unwrap();
    salida(&tx, &e, id).await;
    let put = app
        .put(&format!("/api/productos/{id}"))
        .cookie(&c)
        .json(json!({"nombre": "Agua", "cantidad": 20, "precio": 1, "categoriaId": cat}))
        .send();
    let commit = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        tx.commit().await.unwrap();
    };
    let (r, ()) = tokio::join!(put, commit);
    assert_eq!(
        (r.status, &r.body["cantidad"]),
        (200, &json!(20)),
        "{}",
        r.texto
    );
    assert_eq!(app.stock(id).await, 20);
    assert_eq!(saldo_movimientos(&app, id).await, 20);
    assert_eq!(
        movimientos(&app, id).await,
        vec![
            ("entrada".into(), 10, Some("Stock inicial".into())),
            ("salida".into(), 1, Some("salida de prueba".into())),
            ("entrada".into(), 11, Some("Ajuste por edición".into())),
        ]
    );
}

/// An exit as another function would do it: row locked, stock decremented, movement inserted.
async fn salida(tx: &tokio_postgres::Transaction<'_>, e: &str, id: i32) {
    tx.query_one(
        r#"SELECT "cantidad" FROM "Producto" WHERE "id" = $1 AND "empresaId" = $2 FOR UPDATE"#,
        &[&id, &e],
    )
    .await
    .unwrap();
    tx.execute(
        r#"UPDATE "Producto" SET "cantidad" = "cantidad" - 1 WHERE "id" = $1 AND "empresaId" = $2"#,
        &[&id, &e],
    )
    .await
    .unwrap();
    tx.execute(
        r#"INSERT INTO "Movimiento" ("productoId", "tipo", "cantidad", "notas", "empresaId")
           VALUES ($1, 'salida', 1, 'salida de prueba', $2)"#,
        &[&id, &e],
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn actualizar_con_salidas_concurrentes_no_pierde_ninguna() {
    let Fx { app, e, c, .. } = fx().await;
    let cat = app.categoria(&e, "Bebidas", "BEB").await;
    let r = app
        .post("/api/productos")
        .cookie(&c)
        .json(json!({"nombre": "Agua", "categoriaId": cat, "precio": 1, "cantidad": 100}))
        .send()
        .await;
    let id = r.body["id"].as_i64().unwrap() as i32;
    let url = tests::url_de(&app.db);
    let salidas = (0..4).map(|_| {
        let (url, e) = (url.clone(), e.clone());
        tokio::spawn(async move {
            let mut cli = tests::conectar(&url).await;
            for _ in 0..10 {
                let tx = cli.transaction().await.unwrap();
                salida(&tx, &e, id).await;
                tx.execute("SELECT pg_sleep(0.005)", &[]).await.unwrap();
                tx.commit().await.unwrap();
            }
        })
    });
    let salidas: Vec<_> = salidas.collect();
    // Increasing targets are never below the current stock, so every PUT succeeds.
    for objetivo in [150, 200, 250, 300, 350, 400] {
        let r = app
            .put(&format!("/api/productos/{id}"))
            .cookie(&c)
            .json(json!({"nombre": "Agua", "cantidad": objetivo, "precio": 1, "categoriaId": cat}))
            .send()
            .await;
        assert_eq!(r.status, 200, "{}", r.texto);
        tokio::time::sleep(std::time::Duration::from_millis(7)).await;
    }
    for s in salidas {
        s.await.unwrap();
    }
    let final_ = app.stock(id).await as i64;
    assert_eq!(
        saldo_movimientos(&app, id).await,
        final_,
        "Σ entradas − Σ salidas = cantidad"
    );
    let n_salidas = app
        .contar(
            r#"SELECT count(*) FROM "Movimiento" WHERE "productoId" = $1 AND "tipo" = 'salida'"#,
            &[&id],
        )
        .await;
    assert_eq!(n_salidas, 40);
}

// ---------- DELETE /api/productos/{id} ----------

#[tokio::test]
async fn eliminar_borra_producto_movimientos_e_historial_y_audita() {
    let Fx { app, e, u, c } = fx().await;
    let cat = app.categoria(&e, "Bebidas", "BEB").await;
    let r = app
        .post("/api/productos")
        .cookie(&c)
        .json(json!({"nombre": "Agua", "categoriaId": cat, "precio": 1, "cantidad": 7}))
        .send()
        .await;
    let id = r.body["id"].as_i64().unwrap() as i32;
    let r = app
        .put(&format!("/api/productos/{id}"))
        .cookie(&c)
        .json(json!({"nombre": "Agua", "categoriaId": cat, "precio": 2, "cantidad": 9}))
        .send()
        .await;
    assert_eq!(r.status, 200);
    let antes = fila(&app, id).await.unwrap();
    let r = app
        .delete(&format!("/api/productos/{id}"))
        .cookie(&c)
        .send()
        .await;
    assert_eq!(
        (r.status, r.body),
        (200, json!({"mensaje": "Producto eliminado correctamente"}))
    );
    assert_eq!(fila(&app, id).await, None);
    assert!(movimientos(&app, id).await.is_empty());
    assert_eq!(
        app.contar(r#"SELECT count(*) FROM "HistorialPrecio""#, &[])
            .await,
        0
    );
    let a = auditorias(&app, &e).await;
    assert_eq!(
        a.last().unwrap(),
        &(
            "ELIMINAR".into(),
            "Producto".into(),
            Some(id.to_string()),
            json!({"antes": antes})
        )
    );
    let h = cambios(&app, &e).await;
    assert_eq!(
        h.last().unwrap(),
        &(
            u.id.clone(),
            "ELIMINAR".into(),
            id,
            "Producto \"Agua\" eliminado (stock final: 9)".into(),
            Some(json!({"nombre": "Agua", "cantidad": 9, "codigo": "BEB-001"})),
            None,
            app.ip.clone()
        )
    );
    let r = app
        .delete(&format!("/api/productos/{id}"))
        .cookie(&c)
        .send()
        .await;
    assert_eq!(r.err(), (404, "Producto no encontrado"));
}

#[tokio::test]
async fn eliminar_referenciado_por_venta_cotizacion_u_orden_es_409() {
    let Fx { app, e, c, .. } = fx().await;
    let cat = app.categoria(&e, "Bebidas", "BEB").await;
    let venta = producto(&app, &e, cat, "Con venta", "A", 1, "2026-01-01 00:00:00").await;
    let cot = producto(
        &app,
        &e,
        cat,
        "Con cotización",
        "B",
        1,
        "2026-01-01 00:00:00",
    )
    .await;
    let orden = producto(&app, &e, cat, "Con orden", "C", 1, "2026-01-01 00:00:00").await;
    linea_de_venta(&app, &e, venta).await;
    linea_de_cotizacion(&app, &e, cot, "CANCELADA").await;
    linea_de_orden(&app, &e, orden).await;
    for (id, nombre) in [
        (venta, "Con venta"),
        (cot, "Con cotización"),
        (orden, "Con orden"),
    ] {
        let r = app
            .delete(&format!("/api/productos/{id}"))
            .cookie(&c)
            .send()
            .await;
        assert_eq!(
            r.err(),
            (
                409,
                format!("1 producto(s) tienen ventas o cotizaciones asociadas: \"{nombre}\". No se borrará nada hasta que se eliminen sus ventas/cotizaciones o uses \"Restablecer datos\".").as_str()
            )
        );
        assert!(fila(&app, id).await.is_some());
    }
    assert!(auditorias(&app, &e).await.is_empty());
    assert!(cambios(&app, &e).await.is_empty());
}

#[tokio::test]
async fn eliminar_otra_empresa_id_malo_y_guardas() {
    let Fx { app, e, c, .. } = fx().await;
    let cat = app.categoria(&e, "Bebidas", "BEB").await;
    let id = producto(&app, &e, cat, "Agua", "A", 1, "2026-01-01 00:00:00").await;
    let otra = app.empresa().await;
    let (_, c2) = app.admin(&otra).await;
    let r = app
        .delete(&format!("/api/productos/{id}"))
        .cookie(&c2)
        .send()
        .await;
    assert_eq!(r.err(), (404, "Producto no encontrado"));
    for malo in IDS_MALOS {
        let r = app
            .delete(&format!("/api/productos/{malo}"))
            .cookie(&c)
            .send()
            .await;
        assert_eq!(r.err(), (400, "ID inválido."), "{malo}");
    }
    guardas_admin(
        &app,
        &e,
        "DELETE",
        &format!("/api/productos/{id}"),
        json!({}),
    )
    .await;
    assert!(fila(&app, id).await.is_some());
    assert!(auditorias(&app, &otra).await.is_empty());
    // Wrong methods: 405, never the {id} handler.
    let r = app
        .pet("PATCH".parse().unwrap(), &format!("/api/productos/{id}"))
        .cookie(&c)
        .send()
        .await;
    assert_eq!(r.err(), (405, "Método no permitido"));
    let r = app
        .delete("/api/productos/bulk-delete")
        .cookie(&c)
        .send()
        .await;
    assert_eq!(r.err(), (405, "Método no permitido"));
}

// ---------- POST /api/productos/bulk-delete ----------

#[tokio::test]
async fn eliminar_varios_borra_solo_los_propios_y_audita() {
    let Fx { app, e, c, .. } = fx().await;
    let cat = app.categoria(&e, "Bebidas", "BEB").await;
    let otra = app.empresa().await;
    let cat_otra = app.categoria(&otra, "Ajena", "AJE").await;
    let a = producto(&app, &e, cat, "A", "A-1", 3, "2026-01-01 00:00:00").await;
    let b = producto(&app, &e, cat, "B", "B-1", 0, "2026-01-01 00:00:00").await;
    let queda = producto(&app, &e, cat, "Queda", "Q-1", 0, "2026-01-01 00:00:00").await;
    let ajeno = producto(
        &app,
        &otra,
        cat_otra,
        "Ajeno",
        "X-1",
        0,
        "2026-01-01 00:00:00",
    )
    .await;
    app.pg
        .execute(
            r#"INSERT INTO "Movimiento" ("productoId", "tipo", "cantidad", "empresaId") VALUES ($1, 'entrada', 3, $2)"#,
            &[&a, &e],
        )
        .await
        .unwrap();
    let r = app
        .post("/api/productos/bulk-delete")
        .cookie(&c)
        .json(json!({"ids": [b.to_string(), a as f64 + 0.7, ajeno, 999999, "x", b]}))
        .send()
        .await;
    assert_eq!(
        (r.status, r.body),
        (200, json!({"eliminados": 2, "ids": [a, b]}))
    );
    assert_eq!(fila(&app, a).await, None);
    assert_eq!(fila(&app, b).await, None);
    assert!(fila(&app, queda).await.is_some());
    assert!(fila(&app, ajeno).await.is_some());
    assert!(movimientos(&app, a).await.is_empty());
    assert_eq!(
        auditorias(&app, &e).await,
        vec![(
            "ELIMINAR".into(),
            "Producto".into(),
            None,
            json!({"operacion": "BULK_DELETE", "cantidad": 2, "productos": [
                {"id": a, "nombre": "A", "codigo": "A-1"}, {"id": b, "nombre": "B", "codigo": "B-1"}
            ]})
        )]
    );
    assert!(
        cambios(&app, &e).await.is_empty(),
        "bulk delete writes no change log"
    );
}

#[tokio::test]
async fn eliminar_varios_bloqueados_409_todo_o_nada() {
    let Fx { app, e, c, .. } = fx().await;
    let cat = app.categoria(&e, "Bebidas", "BEB").await;
    let libre = producto(&app, &e, cat, "Libre", "L", 0, "2026-01-01 00:00:00").await;
    let mut ids = vec![libre];
    for i in 1..=6 {
        let id = producto(
            &app,
            &e,
            cat,
            &format!("P{i}"),
            &format!("P-{i}"),
            0,
            "2026-01-01 00:00:00",
        )
        .await;
        match i % 3 {
            0 => linea_de_venta(&app, &e, id).await,
            1 => linea_de_cotizacion(&app, &e, id, "PENDIENTE").await,
            _ => linea_de_orden(&app, &e, id).await,
        }
        ids.push(id);
    }
    ids.reverse();
    let r = app
        .post("/api/productos/bulk-delete")
        .cookie(&c)
        .json(json!({"ids": ids}))
        .send()
        .await;
    assert_eq!(
        r.err(),
        (
            409,
            "6 producto(s) tienen ventas o cotizaciones asociadas: \"P1\", \"P2\", \"P3\", \"P4\", \"P5\" y 1 más. No se borrará nada hasta que se eliminen sus ventas/cotizaciones o uses \"Restablecer datos\"."
        )
    );
    assert_eq!(contar_productos(&app, &e).await, 7, "nothing deleted");
    // A purchase-order line alone blocks too (Required).
    let solo_orden = ids[ids.len() - 3];
    let r = app
        .post("/api/productos/bulk-delete")
        .cookie(&c)
        .json(json!({"ids": [solo_orden, libre]}))
        .send()
        .await;
    assert_eq!(r.status, 409, "{}", r.texto);
    assert!(fila(&app, libre).await.is_some());
    assert!(auditorias(&app, &e).await.is_empty());
}

#[tokio::test]
async fn eliminar_varios_errores_y_guardas() {
    let Fx { app, e, c, .. } = fx().await;
    let otra = app.empresa().await;
    let cat_otra = app.categoria(&otra, "Ajena", "AJE").await;
    let ajeno = producto(
        &app,
        &otra,
        cat_otra,
        "Ajeno",
        "X-1",
        0,
        "2026-01-01 00:00:00",
    )
    .await;
    const SELECCIONA: &str = "Debes seleccionar al menos un producto.";
    for (caso, cuerpo) in [
        ("vacío", ""),
        ("json roto", "{"),
        ("null", "null"),
        ("objeto vacío", "{}"),
        ("ids vacío", r#"{"ids": []}"#),
        ("ids texto", r#"{"ids": "1"}"#),
        ("ids null", r#"{"ids": null}"#),
    ] {
        let r = app
            .post("/api/productos/bulk-delete")
            .cookie(&c)
            .cuerpo(cuerpo)
            .cabecera("content-type", "application/json")
            .send()
            .await;
        assert_eq!(r.err(), (400, SELECCIONA), "{caso}");
    }
    let r = app
        .post("/api/productos/bulk-delete")
        .cookie(&c)
        .json(json!({"ids": ["abc", 0, -1, null, true, {}, 2147483648u64]}))
        .send()
        .await;
    assert_eq!(r.err(), (400, "IDs inválidos."));
    let r = app
        .post("/api/productos/bulk-delete")
        .cookie(&c)
        .json(json!({"ids": [ajeno, 999999]}))
        .send()
        .await;
    assert_eq!(
        r.err(),
        (404, "No se encontró ningún producto con esos IDs.")
    );
    assert!(fila(&app, ajeno).await.is_some());
    guardas_admin(
        &app,
        &e,
        "POST",
        "/api/productos/bulk-delete",
        json!({"ids": [ajeno]}),
    )
    .await;
}

// ---------- GET /api/productos/sugerir-codigo ----------

#[tokio::test]
async fn sugerir_codigo_siguiente_sin_reservar() {
    let Fx { app, e, c, .. } = fx().await;
    let cat = app.categoria(&e, "Bebidas", "BEB").await;
    let path = format!("/api/productos/sugerir-codigo?categoria={cat}");
    let r = app.get(&path).cookie(&c).send().await;
    assert_eq!((r.status, r.body), (200, json!({"codigo": "BEB-001"})));
    producto(
        &app,
        &e,
        cat,
        "Viejo",
        "X BEB-00041 y",
        0,
        "2026-01-01 00:00:00",
    )
    .await;
    for _ in 0..2 {
        let r = app.get(&path).cookie(&c).send().await;
        assert_eq!((r.status, r.body), (200, json!({"codigo": "BEB-042"})));
    }
    let r = app
        .get(&format!("/api/productos/sugerir-codigo?categoria={cat}abc"))
        .cookie(&c)
        .send()
        .await;
    assert_eq!(
        (r.status, r.body),
        (200, json!({"codigo": "BEB-042"})),
        "int(): trailing garbage ignored"
    );
    assert_eq!(contar_productos(&app, &e).await, 1, "nothing reserved");
}

#[tokio::test]
async fn sugerir_codigo_errores_y_guardas() {
    let Fx { app, e, c, .. } = fx().await;
    let otra = app.empresa().await;
    let ajena = app.categoria(&otra, "Ajena", "AJE").await;
    for q in [
        "",
        "?categoria=",
        "?categoria=abc",
        "?categoria=0",
        "?otra=1",
    ] {
        let r = app
            .get(&format!("/api/productos/sugerir-codigo{q}"))
            .cookie(&c)
            .send()
            .await;
        assert_eq!(r.err(), (400, "Falta la categoría."), "{q}");
    }
    for q in [
        format!("?categoria={ajena}"),
        "?categoria=999999".into(),
        "?categoria=-1".into(),
        "?categoria=99999999999".into(),
    ] {
        let r = app
            .get(&format!("/api/productos/sugerir-codigo{q}"))
            .cookie(&c)
            .send()
            .await;
        assert_eq!(r.err(), (404, "Categoría no encontrada."), "{q}");
    }
    guardas_admin(
        &app,
        &e,
        "GET",
        &format!("/api/productos/sugerir-codigo?categoria={ajena}"),
        json!({}),
    )
    .await;
}

// ---------- GET /api/productos/{id}/historial-precios ----------

#[tokio::test]
async fn historial_precios_del_mas_nuevo_con_autor() {
    let Fx { app, e, u, c } = fx().await;
    let cat = app.categoria(&e, "Bebidas", "BEB").await;
    let id = producto(&app, &e, cat, "Agua", "A", 0, "2026-01-01 00:00:00").await;
    let otro_id = producto(&app, &e, cat, "Otro", "B", 0, "2026-01-01 00:00:00").await;
    let path = format!("/api/productos/{id}/historial-precios");
    let r = app.get(&path).cookie(&c).send().await;
    assert_eq!((r.status, r.body), (200, json!([])));
    for precio in [100, 150] {
        let r = app
            .put(&format!("/api/productos/{id}"))
            .cookie(&c)
            .json(json!({"nombre": "Agua", "cantidad": 0, "precio": precio, "categoriaId": cat}))
            .send()
            .await;
        assert_eq!(r.status, 200, "{}", r.texto);
    }
    let r = app
        .put(&format!("/api/productos/{otro_id}"))
        .cookie(&c)
        .json(json!({"nombre": "Otro", "cantidad": 0, "precio": 5, "categoriaId": cat}))
        .send()
        .await;
    assert_eq!(r.status, 200);
    let nombre: String = app
        .pg
        .query_one(
            r#"SELECT "nombre" FROM "Usuario" WHERE "id" = $1"#,
            &[&u.id],
        )
        .await
        .unwrap()
        .get(0);
    let filas = app
        .pg
        .query(
            r#"SELECT "id", "creadoEn" FROM "HistorialPrecio" WHERE "productoId" = $1 ORDER BY "id" DESC"#,
            &[&id],
        )
        .await
        .unwrap();
    let autor = json!({"nombre": nombre, "email": u.email});
    let esperado = json!([
        {"id": filas[0].get::<_, i32>(0), "productoId": id, "precioAnterior": 100, "precioNuevo": 150,
         "creadoEn": fecha(&filas[0].get(1)), "cambiadoPorId": u.id, "empresaId": e, "cambiadoPor": autor},
        {"id": filas[1].get::<_, i32>(0), "productoId": id, "precioAnterior": 99.99, "precioNuevo": 100,
         "creadoEn": fecha(&filas[1].get(1)), "cambiadoPorId": u.id, "empresaId": e, "cambiadoPor": autor},
    ]);
    // A USUARIO may read it.
    let lector = app.usuario(&e, "USUARIO", "ACTIVO", &[]).await;
    let cl = app.sesion(&lector).await;
    let r = app.get(&path).cookie(&cl).send().await;
    assert_eq!((r.status, r.body), (200, esperado));
    // Deleted author → cambiadoPorId and cambiadoPor null.
    app.pg
        .execute(r#"DELETE FROM "Usuario" WHERE "id" = $1"#, &[&u.id])
        .await
        .unwrap();
    let r = app.get(&path).cookie(&cl).send().await;
    assert_eq!(
        (&r.body[0]["cambiadoPorId"], &r.body[0]["cambiadoPor"]),
        (&json!(null), &json!(null))
    );
}

#[tokio::test]
async fn historial_precios_desempate_por_id_y_maximo_50() {
    let Fx { app, e, c, .. } = fx().await;
    let cat = app.categoria(&e, "Bebidas", "BEB").await;
    let id = producto(&app, &e, cat, "Agua", "A", 0, "2026-01-01 00:00:00").await;
    app.pg
        .execute(
            r#"INSERT INTO "HistorialPrecio" ("productoId", "precioAnterior", "precioNuevo", "empresaId", "creadoEn")
               SELECT $1, g, g + 1, $2, '2026-03-03 03:03:03.333' FROM generate_series(1, 60) g"#,
            &[&id, &e],
        )
        .await
        .unwrap();
    let r = app
        .get(&format!("/api/productos/{id}/historial-precios"))
        .cookie(&c)
        .send()
        .await;
    let lista = r.body.as_array().unwrap();
    assert_eq!(lista.len(), 50);
    let ids: Vec<i64> = lista.iter().map(|h| h["id"].as_i64().unwrap()).collect();
    let mut ordenados = ids.clone();
    ordenados.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(ids, ordenados, "id DESC among equal creadoEn");
    assert_eq!(lista[0]["precioAnterior"], json!(60));
    assert_eq!(lista[0]["cambiadoPor"], json!(null));
}

#[tokio::test]
async fn historial_precios_errores_y_guardas() {
    let Fx { app, e, c, .. } = fx().await;
    let otra = app.empresa().await;
    let cat_otra = app.categoria(&otra, "Ajena", "AJE").await;
    let ajeno = producto(
        &app,
        &otra,
        cat_otra,
        "Ajeno",
        "X",
        0,
        "2026-01-01 00:00:00",
    )
    .await;
    let r = app
        .get(&format!("/api/productos/{ajeno}/historial-precios"))
        .cookie(&c)
        .send()
        .await;
    assert_eq!(r.err(), (404, "Producto no encontrado"));
    for malo in IDS_MALOS {
        let r = app
            .get(&format!("/api/productos/{malo}/historial-precios"))
            .cookie(&c)
            .send()
            .await;
        assert_eq!(r.err(), (400, "ID inválido."), "{malo}");
    }
    guardas_lectura(
        &app,
        &e,
        &format!("/api/productos/{ajeno}/historial-precios"),
        "No autorizado",
    )
    .await;
}

// ---------- GET /api/inventory ----------

#[tokio::test]
async fn inventory_texto_plano_con_guardas() {
    let Fx { app, e, .. } = fx().await;
    let u = app.usuario(&e, "USUARIO", "ACTIVO", &[]).await;
    let c = app.sesion(&u).await;
    let r = app.get("/api/inventory").cookie(&c).send().await;
    assert_eq!((r.status, r.texto.as_str()), (200, "Inventory endpoint"));
    assert_eq!(r.header("content-type"), Some("text/plain;charset=UTF-8"));
    guardas_lectura(&app, &e, "/api/inventory", "No autorizado").await;
    let r = app.post("/api/inventory").cookie(&c).send().await;
    assert_eq!(r.err(), (405, "Método no permitido"));
}
