//! clientes: every route of sales.md §4.8–§4.13 over real handlers and Postgres, including the
//! per-company uniqueness of `documento` (schema.md R4, `migrate --cut-over`) and the history read from
//! sales and quotes inserted directly in SQL.

use http::Method;
use serde_json::{Value, json};
use tests::{App, Res, spawn_app, spawn_app_con};

const IDS_MALOS: &[&str] = &[
    "abc",
    "0",
    "-1",
    "12abc",
    "3.9",
    "2147483648",
    "0x10",
    "%20",
];

/// An app, a company and an active plain user of it (family B: no role or permission needed).
async fn fx() -> (App, String, String) {
    let app = spawn_app().await;
    let e = app.empresa().await;
    let u = app.usuario(&e, "USUARIO", "ACTIVO", &[]).await;
    let c = app.sesion(&u).await;
    (app, e, c)
}

/// A customer inserted directly; returns its id.
async fn cliente(app: &App, e: &str, nombre: &str, documento: Option<&str>) -> i32 {
    app.pg
        .query_one(
            r#"INSERT INTO "Cliente" ("nombre", "documento", "creadoEn", "empresaId")
               VALUES ($1, $2, '2026-03-01 12:00:00.250', $3) RETURNING "id""#,
            &[&nombre, &documento, &e],
        )
        .await
        .unwrap()
        .get(0)
}

/// The stored row as the API renders it (sales.md §1.6), or `None` when missing.
async fn fila(app: &App, id: i32) -> Option<Value> {
    app.pg
        .query_opt(
            r#"SELECT json_build_object('id', "id", 'nombre', "nombre", 'documento', "documento",
                 'email', "email", 'telefono', "telefono", 'direccion', "direccion", 'notas', "notas",
                 'creadoEn', to_char("creadoEn", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                 'empresaId', "empresaId")
               FROM "Cliente" WHERE "id" = $1"#,
            &[&id],
        )
        .await
        .unwrap()
        .map(|f| f.get(0))
}

async fn contar_clientes(app: &App, e: &str) -> i64 {
    app.contar(
        r#"SELECT count(*) FROM "Cliente" WHERE "empresaId" = $1"#,
        &[&e],
    )
    .await
}

fn ids(r: &Res) -> Vec<i64> {
    r.body
        .as_array()
        .unwrap_or_else(|| panic!("no es un arreglo: {}", r.texto))
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect()
}

/// Family B guards (sales.md §1.2, Required): 401 `No autorizado` without a session, 403 for a
/// non-active user of any role, both before the path id and the body are looked at.
async fn guardas(app: &App, e: &str, metodo: Method, path: &str, cuerpo: Option<Value>) {
    let pet = |c: Option<&str>| {
        let mut p = app.pet(metodo.clone(), path);
        if let Some(v) = &cuerpo {
            p = p.json(v.clone());
        }
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
    assert_eq!(
        pet(Some("__Secure-neon-auth.session_token=inexistente.firma"))
            .send()
            .await
            .err(),
        (401, "No autorizado"),
        "{metodo} {path} sesión desconocida"
    );
    for (rol, estado) in [
        ("USUARIO", "PENDIENTE"),
        ("USUARIO", "SUSPENDIDO"),
        ("ADMIN", "SUSPENDIDO"),
        ("SUPER_ADMIN", "PENDIENTE"),
    ] {
        let u = app.usuario(e, rol, estado, &[]).await;
        let c = app.sesion(&u).await;
        assert_eq!(
            pet(Some(&c)).send().await.err(),
            (403, "Usuario inactivo o suspendido"),
            "{metodo} {path} {rol} {estado}"
        );
    }
}

/// Waits until a backend of this test's database is blocked on a lock (the request waiting
/// for the rival transaction), so the race under test really happens.
async fn esperar_bloqueo(app: &App) {
    for _ in 0..200 {
        let esperando = app
            .contar(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
                &[&app.db],
            )
            .await;
        if esperando > 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("la petición nunca esperó al índice único");
}

// ---------- GET /api/clientes ----------

#[tokio::test]
async fn listar_del_mas_nuevo_al_mas_viejo_solo_la_empresa_propia() {
    let (app, e, c) = fx().await;
    let otra = app.empresa().await;
    let a = cliente(&app, &e, "Ana", Some("100")).await;
    cliente(&app, &otra, "Ajena", Some("200")).await;
    let b = app
        .pg
        .query_one(
            r#"INSERT INTO "Cliente" ("nombre", "documento", "email", "telefono", "direccion", "notas", "creadoEn", "empresaId")
               VALUES ('Beto', NULL, 'b@x.test', '300', 'Calle 1', 'vip', '2026-01-02 03:04:05.006', $1) RETURNING "id""#,
            &[&e],
        )
        .await
        .unwrap()
        .get::<_, i32>(0);
    let r = app.get("/api/clientes").cookie(&c).send().await;
    assert_eq!(r.status, 200, "{}", r.texto);
    assert_eq!(
        r.body,
        json!([
            {"id": b, "nombre": "Beto", "documento": null, "email": "b@x.test", "telefono": "300",
             "direccion": "Calle 1", "notas": "vip", "creadoEn": "2026-01-02T03:04:05.006Z", "empresaId": e},
            {"id": a, "nombre": "Ana", "documento": "100", "email": null, "telefono": null,
             "direccion": null, "notas": null, "creadoEn": "2026-03-01T12:00:00.250Z", "empresaId": e},
        ])
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
}

#[tokio::test]
async fn listar_vacio() {
    let (app, _, c) = fx().await;
    let r = app.get("/api/clientes").cookie(&c).send().await;
    assert_eq!((r.status, r.body.clone()), (200, json!([])));
}

#[tokio::test]
async fn listar_busqueda_sin_mayusculas_en_cuatro_campos_y_comodines_literales() {
    let (app, e, c) = fx().await;
    let otra = app.empresa().await;
    let ins = |nombre: &'static str,
               doc: Option<&'static str>,
               email: Option<&'static str>,
               tel: Option<&'static str>,
               dir: Option<&'static str>,
               notas: Option<&'static str>| {
        let e = e.clone();
        let app = &app;
        async move {
            app.pg
                .query_one(
                    r#"INSERT INTO "Cliente" ("nombre", "documento", "email", "telefono", "direccion", "notas", "empresaId")
                       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING "id""#,
                    &[&nombre, &doc, &email, &tel, &dir, &notas, &e],
                )
                .await
                .unwrap()
                .get::<_, i32>(0) as i64
        }
    };
    let ferreteria = ins("Ferretería Central", Some("900-1"), None, None, None, None).await;
    let por_doc = ins("Beto", Some("FERRE-77"), None, None, None, None).await;
    let por_email = ins("Carla", None, Some("compras@FERRE.test"), None, None, None).await;
    let por_tel = ins("Dario", None, None, Some("ferre 300"), None, None).await;
    // direccion and notas are not searched.
    ins("Eva", None, None, None, Some("Ferre calle"), Some("ferre")).await;
    let cien = ins("100% Algodón", None, None, None, None, None).await;
    let cinco = ins("Cinco", Some("5_0"), None, None, None, None).await;
    let cincuenta = ins("Cincuenta", Some("5a0"), None, None, None, None).await;
    let barra = ins("Barra", Some("A\\B"), None, None, None, None).await;
    let espacio = ins("Con espacio", None, None, None, None, None).await;
    cliente(&app, &otra, "Ferre ajena", Some("FERRE-1")).await;

    let buscar = |q: &'static str| {
        let app = &app;
        let c = c.clone();
        async move {
            let r = app
                .get(&format!("/api/clientes?busqueda={q}"))
                .cookie(&c)
                .send()
                .await;
            assert_eq!(r.status, 200, "{q}: {}", r.texto);
            ids(&r)
        }
    };
    assert_eq!(
        buscar("fErRe").await,
        vec![por_tel, por_email, por_doc, ferreteria]
    );
    assert_eq!(buscar("FERRETER%C3%8DA").await, vec![ferreteria]);
    // `%` and `_` are literal characters, not wildcards.
    assert_eq!(buscar("100%25").await, vec![cien]);
    assert_eq!(buscar("%25").await, vec![cien]);
    assert_eq!(buscar("5_0").await, vec![cinco]);
    assert_eq!(buscar("_").await, vec![cinco]);
    assert_eq!(buscar("a%5Cb").await, vec![barra]);
    // Not trimmed: a leading space is part of the search.
    assert_eq!(buscar("%20espacio").await, vec![espacio]);
    assert_eq!(buscar("+espacio").await, vec![espacio]);
    assert_eq!(buscar("nadie").await, Vec::<i64>::new());
    // Empty → no filter.
    let todos = buscar("").await;
    assert_eq!(todos.len(), 10);
    assert!(todos.contains(&cincuenta));
}

#[tokio::test]
async fn listar_limite_por_defecto_200_y_acotado_a_1_500() {
    let (app, e, c) = fx().await;
    app.pg
        .execute(
            r#"INSERT INTO "Cliente" ("nombre", "empresaId")
               SELECT 'C' || g, $1 FROM generate_series(1, 502) g"#,
            &[&e],
        )
        .await
        .unwrap();
    let max: i64 = app
        .contar(
            r#"SELECT max("id")::int8 FROM "Cliente" WHERE "empresaId" = $1"#,
            &[&e],
        )
        .await;
    for (q, n) in [
        ("", 200),
        ("?limite=abc", 200),
        ("?limite=0", 200),
        ("?limite=3", 3),
        ("?limite=7xyz", 7),
        ("?limite=-4", 1),
        ("?limite=500", 500),
        ("?limite=501", 500),
        ("?limite=99999999999999999999", 500),
    ] {
        let r = app
            .get(&format!("/api/clientes{q}"))
            .cookie(&c)
            .send()
            .await;
        let ids = ids(&r);
        assert_eq!(ids.len(), n, "{q}");
        assert_eq!(ids[0], max, "{q}: newest first");
        assert!(ids.windows(2).all(|w| w[0] > w[1]), "{q}: id desc");
    }
    let r = app
        .get("/api/clientes?busqueda=C50&limite=2")
        .cookie(&c)
        .send()
        .await;
    assert_eq!(ids(&r).len(), 2);
}

#[tokio::test]
async fn listar_guardas() {
    let (app, e, _) = fx().await;
    guardas(&app, &e, Method::GET, "/api/clientes", None).await;
}

// ---------- POST /api/clientes ----------

#[tokio::test]
async fn crear_201_recorta_y_guarda_nulos_sin_auditar() {
    let (app, e, c) = fx().await;
    let otra = app.empresa().await;
    let r = app
        .post("/api/clientes")
        .cookie(&c)
        .json(json!({
            "nombre": "  Ferretería Central \t",
            "documento": " 900123456-7 ",
            "email": "",
            "telefono": 3001234567u64,
            "direccion": "   ",
            "notas": " cliente vip ",
            "empresaId": otra,
            "id": 999,
            "creadoEn": "2000-01-01T00:00:00.000Z",
        }))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.texto);
    let id = r.body["id"].as_i64().unwrap() as i32;
    assert_ne!(id, 999);
    let creado = r.body["creadoEn"].as_str().unwrap().to_string();
    assert_eq!(
        r.body,
        json!({
            "id": id, "nombre": "Ferretería Central", "documento": "900123456-7", "email": null,
            "telefono": null, "direccion": null, "notas": "cliente vip", "creadoEn": creado,
            "empresaId": e,
        })
    );
    assert_eq!(fila(&app, id).await, Some(r.body.clone()));
    // creadoEn is the current UTC time, whatever the connection's time zone.
    let desfase: f64 = app
        .pg
        .query_one(
            r#"SELECT abs(extract(epoch FROM (now() AT TIME ZONE 'UTC') - "creadoEn"))::float8
               FROM "Cliente" WHERE "id" = $1"#,
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert!(desfase < 60.0, "creadoEn a {desfase} s de ahora (UTC)");
    assert_eq!(contar_clientes(&app, &otra).await, 0);
    assert_eq!(
        app.contar(r#"SELECT count(*) FROM "Auditoria""#, &[]).await,
        0,
        "customers are never audited"
    );
}

#[tokio::test]
async fn crear_solo_nombre_y_varios_sin_documento() {
    let (app, e, c) = fx().await;
    for _ in 0..2 {
        let r = app
            .post("/api/clientes")
            .cookie(&c)
            .json(json!({"nombre": "Sin documento", "documento": ""}))
            .send()
            .await;
        assert_eq!(r.status, 201, "{}", r.texto);
        assert_eq!(r.body["documento"], Value::Null);
        assert_eq!(r.body["email"], Value::Null);
    }
    let r = app
        .post("/api/clientes")
        .cookie(&c)
        .json(json!({"nombre": "Doc numérico", "documento": 123}))
        .send()
        .await;
    assert_eq!((r.status, r.body["documento"].clone()), (201, Value::Null));
    assert_eq!(contar_clientes(&app, &e).await, 3);
}

#[tokio::test]
async fn crear_errores_documentados_sin_escribir_nada() {
    let (app, e, c) = fx().await;
    const NOMBRE: &str = "El nombre del cliente es obligatorio";
    const GENERICO: &str = "Error al crear cliente";
    let casos = [
        ("sin nombre", json!({"documento": "1"}), NOMBRE),
        ("nombre vacío", json!({"nombre": ""}), NOMBRE),
        ("nombre en blanco", json!({"nombre": " \t\u{a0} "}), NOMBRE),
        ("nombre número", json!({"nombre": 5}), NOMBRE),
        ("nombre nulo", json!({"nombre": null}), NOMBRE),
        ("nombre arreglo", json!({"nombre": ["Ana"]}), NOMBRE),
        ("cuerpo arreglo", json!([{"nombre": "Ana"}]), GENERICO),
        ("cuerpo número", json!(5), GENERICO),
        ("cuerpo texto", json!("Ana"), GENERICO),
        ("cuerpo null", json!(null), GENERICO),
    ];
    for (caso, cuerpo, msg) in casos {
        let r = app
            .post("/api/clientes")
            .cookie(&c)
            .json(cuerpo)
            .send()
            .await;
        assert_eq!(r.err(), (400, msg), "{caso}");
    }
    for (caso, texto, tipo) in [
        ("json roto", "{\"nombre\": ", Some("application/json")),
        ("vacío", "", Some("application/json")),
        ("sin content-type", "{\"nombre\": \"Ana\"}", None),
        ("texto plano", "{\"nombre\": \"Ana\"}", Some("text/plain")),
    ] {
        let mut p = app.post("/api/clientes").cookie(&c).cuerpo(texto);
        if let Some(t) = tipo {
            p = p.cabecera("content-type", t);
        }
        assert_eq!(p.send().await.err(), (400, GENERICO), "{caso}");
    }
    assert_eq!(contar_clientes(&app, &e).await, 0);
}

#[tokio::test]
async fn crear_documento_unico_por_empresa() {
    let (app, e, c) = fx().await;
    let otra = app.empresa().await;
    let (_, c_otra) = app.admin(&otra).await;
    let crear = |cookie: &str, nombre: &str, doc: &str| {
        app.post("/api/clientes")
            .cookie(cookie)
            .json(json!({"nombre": nombre, "documento": doc}))
    };
    let r = crear(&c, "Ana", "123").send().await;
    assert_eq!(r.status, 201, "{}", r.texto);
    // Same documento in the same company (also after trimming) → 409.
    for doc in ["123", "  123 "] {
        let r = crear(&c, "Otra Ana", doc).send().await;
        assert_eq!(
            r.err(),
            (409, "Ya existe un cliente con ese documento"),
            "{doc:?}"
        );
    }
    // Exact match only.
    assert_eq!(crear(&c, "Ana B", "1234").send().await.status, 201);
    // Another company may register the same documento: no 500, no hint that it exists elsewhere.
    let r = crear(&c_otra, "Ana en otra empresa", "123").send().await;
    assert_eq!(r.status, 201, "{}", r.texto);
    assert_eq!(r.body["empresaId"], json!(otra));
    assert_eq!(contar_clientes(&app, &e).await, 2);
    assert_eq!(contar_clientes(&app, &otra).await, 1);
}

#[tokio::test]
async fn crear_concurrente_mismo_documento_un_201_y_el_resto_409() {
    let (app, e, c) = fx().await;
    let pets: Vec<_> = (0..6)
        .map(|i| {
            app.post("/api/clientes")
                .cookie(&c)
                .json(json!({"nombre": format!("Carrera {i}"), "documento": "CC-1"}))
                .send()
        })
        .collect();
    let res = futures::future::join_all(pets).await;
    let mut estados: Vec<(u16, String)> = res
        .iter()
        .map(|r| (r.status, r.error().unwrap_or("").to_string()))
        .collect();
    estados.sort();
    let esperado: Vec<(u16, String)> = std::iter::once((201, String::new()))
        .chain(std::iter::repeat_n(
            (409, "Ya existe un cliente con ese documento".to_string()),
            5,
        ))
        .collect();
    assert_eq!(estados, esperado);
    assert_eq!(contar_clientes(&app, &e).await, 1);
}

/// The race that the in-tenant check cannot see: the rival row is not committed yet when the
/// check runs, so only the per-tenant unique index (R4) stops the insert — and it must be the same 409.
#[tokio::test]
async fn crear_choca_con_el_indice_unico_bajo_concurrencia_y_responde_409() {
    let (app, e, c) = fx().await;
    let mut rival = tests::conectar(&tests::url_de(&app.db)).await;
    let tx = rival.transaction().await.unwrap();
    tx.execute(
        r#"INSERT INTO "Cliente" ("nombre", "documento", "empresaId") VALUES ('Rival', 'IDX-1', $1)"#,
        &[&e],
    )
    .await
    .unwrap();
    let pet = app
        .post("/api/clientes")
        .cookie(&c)
        .json(json!({"nombre": "Perdedor", "documento": "IDX-1"}))
        .send();
    let confirmar = async {
        // The request has passed its check and waits on the index; then the rival commits.
        esperar_bloqueo(&app).await;
        tx.commit().await.unwrap();
    };
    let (r, ()) = tokio::join!(pet, confirmar);
    assert_eq!(r.err(), (409, "Ya existe un cliente con ese documento"));
    assert_eq!(contar_clientes(&app, &e).await, 1);
}

#[tokio::test]
async fn crear_no_esta_limitado_por_ip() {
    let app = spawn_app_con(tests::Opciones {
        rate_limit_max: 1,
        ..Default::default()
    })
    .await;
    let e = app.empresa().await;
    let (_, c) = app.admin(&e).await;
    for i in 0..3 {
        let r = app
            .post("/api/clientes")
            .cookie(&c)
            .json(json!({"nombre": format!("C{i}")}))
            .send()
            .await;
        assert_eq!(r.status, 201, "{i}: {}", r.texto);
    }
}

#[tokio::test]
async fn crear_guardas_antes_del_cuerpo() {
    let (app, e, _) = fx().await;
    guardas(
        &app,
        &e,
        Method::POST,
        "/api/clientes",
        Some(json!({"nombre": "Ana"})),
    )
    .await;
    guardas(&app, &e, Method::POST, "/api/clientes", Some(json!([1]))).await;
    assert_eq!(contar_clientes(&app, &e).await, 0);
}

// ---------- GET /api/clientes/{id} ----------

#[tokio::test]
async fn obtener_forma_exacta_y_errores() {
    let (app, e, c) = fx().await;
    let otra = app.empresa().await;
    let id = cliente(&app, &e, "Ana", Some("1")).await;
    let ajeno = cliente(&app, &otra, "Ajeno", None).await;
    let r = app
        .get(&format!("/api/clientes/{id}"))
        .cookie(&c)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.texto);
    assert_eq!(
        r.body,
        json!({"id": id, "nombre": "Ana", "documento": "1", "email": null, "telefono": null,
               "direccion": null, "notas": null, "creadoEn": "2026-03-01T12:00:00.250Z", "empresaId": e})
    );
    // Trailing slash is the same route.
    let r = app
        .get(&format!("/api/clientes/{id}/"))
        .cookie(&c)
        .send()
        .await;
    assert_eq!(r.status, 200);
    for otro in [ajeno, ajeno + 1000, i32::MAX] {
        let r = app
            .get(&format!("/api/clientes/{otro}"))
            .cookie(&c)
            .send()
            .await;
        assert_eq!(r.err(), (404, "Cliente no encontrado"), "{otro}");
    }
    for malo in IDS_MALOS {
        let r = app
            .get(&format!("/api/clientes/{malo}"))
            .cookie(&c)
            .send()
            .await;
        assert_eq!(r.err(), (400, "ID inválido."), "{malo}");
    }
}

#[tokio::test]
async fn obtener_guardas_antes_que_el_id() {
    let (app, e, _) = fx().await;
    let id = cliente(&app, &e, "Ana", None).await;
    guardas(&app, &e, Method::GET, &format!("/api/clientes/{id}"), None).await;
    guardas(&app, &e, Method::GET, "/api/clientes/abc", None).await;
}

// ---------- PUT /api/clientes/{id} ----------

#[tokio::test]
async fn actualizar_parcial_solo_toca_las_claves_presentes() {
    let (app, e, c) = fx().await;
    let id: i32 = app
        .pg
        .query_one(
            r#"INSERT INTO "Cliente" ("nombre", "documento", "email", "telefono", "direccion", "notas", "creadoEn", "empresaId")
               VALUES ('Ana', 'D-1', 'a@x.test', '300', 'Calle 1', 'nota', '2026-03-01 12:00:00.250', $1) RETURNING "id""#,
            &[&e],
        )
        .await
        .unwrap()
        .get(0);
    let put = |cuerpo: Value| {
        app.put(&format!("/api/clientes/{id}"))
            .cookie(&c)
            .json(cuerpo)
            .send()
    };
    let mut esperado = json!({
        "id": id, "nombre": "Ana", "documento": "D-1", "email": "a@x.test", "telefono": "300",
        "direccion": "Calle 1", "notas": "nota", "creadoEn": "2026-03-01T12:00:00.250Z", "empresaId": e,
    });
    // Empty object: no-op, still the row.
    let r = put(json!({})).await;
    assert_eq!((r.status, r.body.clone()), (200, esperado.clone()));

    let r = put(json!({"telefono": " 3007654321 ", "empresaId": "otra", "id": 5})).await;
    esperado["telefono"] = json!("3007654321");
    assert_eq!((r.status, r.body.clone()), (200, esperado.clone()));

    let r = put(json!({"nombre": "  Ana María  ", "direccion": "Carrera 7"})).await;
    esperado["nombre"] = json!("Ana María");
    esperado["direccion"] = json!("Carrera 7");
    assert_eq!((r.status, r.body.clone()), (200, esperado.clone()));

    // Present optional keys: "" / null / blank / non-string clear the column.
    let r = put(json!({"email": null, "telefono": "", "direccion": "  ", "notas": false})).await;
    esperado["email"] = Value::Null;
    esperado["telefono"] = Value::Null;
    esperado["direccion"] = Value::Null;
    esperado["notas"] = Value::Null;
    assert_eq!((r.status, r.body.clone()), (200, esperado.clone()));
    assert_eq!(fila(&app, id).await, Some(esperado));
    assert_eq!(
        app.contar(r#"SELECT count(*) FROM "Auditoria""#, &[]).await,
        0,
        "customers are never audited"
    );
}

#[tokio::test]
async fn actualizar_documento_se_puede_borrar_y_es_unico_por_empresa() {
    let (app, e, c) = fx().await;
    let otra = app.empresa().await;
    let id = cliente(&app, &e, "Ana", Some("D-1")).await;
    let vecino = cliente(&app, &e, "Beto", Some("D-2")).await;
    cliente(&app, &otra, "Ajeno", Some("D-9")).await;
    let put = |cuerpo: Value| {
        app.put(&format!("/api/clientes/{id}"))
            .cookie(&c)
            .json(cuerpo)
            .send()
    };
    let doc = |r: &Res| (r.status, r.body["documento"].clone());

    // Its own documento again (also padded) is not "in use".
    assert_eq!(
        doc(&put(json!({"documento": " D-1 "})).await),
        (200, json!("D-1"))
    );
    // Another customer of the same company → 409, nothing written.
    let r = put(json!({"documento": "D-2", "nombre": "Cambiado"})).await;
    assert_eq!(r.err(), (409, "El documento ya está en uso"));
    assert_eq!(fila(&app, id).await.unwrap()["nombre"], json!("Ana"));
    assert_eq!(fila(&app, id).await.unwrap()["documento"], json!("D-1"));
    // A documento of another company is free here.
    assert_eq!(
        doc(&put(json!({"documento": "D-9"})).await),
        (200, json!("D-9"))
    );
    // Clearing: "" and null (the UI sends "" when the field is emptied), blank, non-string.
    for vacio in [json!(""), json!(null), json!("   "), json!(0)] {
        assert_eq!(
            doc(&put(json!({"documento": "D-5"})).await),
            (200, json!("D-5"))
        );
        assert_eq!(
            doc(&put(json!({"documento": vacio.clone()})).await),
            (200, Value::Null),
            "{vacio}"
        );
    }
    assert_eq!(fila(&app, id).await.unwrap()["documento"], Value::Null);
    // Absent key: unchanged.
    assert_eq!(
        doc(&put(json!({"documento": "D-7"})).await),
        (200, json!("D-7"))
    );
    assert_eq!(doc(&put(json!({"notas": "x"})).await), (200, json!("D-7")));
    // The neighbour's documento became free once it changed.
    let r = app
        .put(&format!("/api/clientes/{vecino}"))
        .cookie(&c)
        .json(json!({"documento": "D-7"}))
        .send()
        .await;
    assert_eq!(r.err(), (409, "El documento ya está en uso"));
    let r = app
        .put(&format!("/api/clientes/{vecino}"))
        .cookie(&c)
        .json(json!({"documento": "D-1"}))
        .send()
        .await;
    assert_eq!(doc(&r), (200, json!("D-1")));
}

/// Like the create race: the rival's documento is not committed when the check runs, so the
/// unique index decides, with the update's own 409 message.
#[tokio::test]
async fn actualizar_choca_con_el_indice_unico_bajo_concurrencia_y_responde_409() {
    let (app, e, c) = fx().await;
    let id = cliente(&app, &e, "Ana", Some("A-1")).await;
    let rival_id = cliente(&app, &e, "Rival", None).await;
    let mut rival = tests::conectar(&tests::url_de(&app.db)).await;
    let tx = rival.transaction().await.unwrap();
    tx.execute(
        r#"UPDATE "Cliente" SET "documento" = 'IDX-2' WHERE "id" = $1"#,
        &[&rival_id],
    )
    .await
    .unwrap();
    let pet = app
        .put(&format!("/api/clientes/{id}"))
        .cookie(&c)
        .json(json!({"documento": "IDX-2", "nombre": "No aplicado"}))
        .send();
    let confirmar = async {
        esperar_bloqueo(&app).await;
        tx.commit().await.unwrap();
    };
    let (r, ()) = tokio::join!(pet, confirmar);
    assert_eq!(r.err(), (409, "El documento ya está en uso"));
    let f = fila(&app, id).await.unwrap();
    assert_eq!(
        (f["nombre"].clone(), f["documento"].clone()),
        (json!("Ana"), json!("A-1"))
    );
}

#[tokio::test]
async fn actualizar_errores_en_orden_sin_escribir_nada() {
    let (app, e, c) = fx().await;
    let otra = app.empresa().await;
    let id = cliente(&app, &e, "Ana", Some("1")).await;
    let ajeno = cliente(&app, &otra, "Ajeno", Some("2")).await;
    let antes = fila(&app, id).await;
    let antes_ajeno = fila(&app, ajeno).await;
    const NOMBRE: &str = "El nombre del cliente es obligatorio";
    const GENERICO: &str = "Error al actualizar cliente";
    let put = |path: String, cuerpo: Value| app.put(&path).cookie(&c).json(cuerpo).send();
    let propio = format!("/api/clientes/{id}");
    for (caso, cuerpo) in [
        ("vacío", json!({"nombre": ""})),
        ("en blanco", json!({"nombre": "   ", "email": "x@x.test"})),
        ("nulo", json!({"nombre": null})),
        ("número", json!({"nombre": 7})),
    ] {
        assert_eq!(
            put(propio.clone(), cuerpo).await.err(),
            (400, NOMBRE),
            "{caso}"
        );
    }
    for (caso, cuerpo) in [
        ("arreglo", json!([{"nombre": "x"}])),
        ("número", json!(1)),
        ("null", json!(null)),
    ] {
        assert_eq!(
            put(propio.clone(), cuerpo).await.err(),
            (400, GENERICO),
            "{caso}"
        );
    }
    // Malformed body → 400 before the lookup, also for an unknown id.
    for path in [propio.clone(), "/api/clientes/999999".to_string()] {
        let r = app
            .put(&path)
            .cookie(&c)
            .cuerpo("{\"nombre\":")
            .cabecera("content-type", "application/json")
            .send()
            .await;
        assert_eq!(r.err(), (400, GENERICO), "{path}");
        let r = app
            .put(&path)
            .cookie(&c)
            .cuerpo("{\"nombre\": \"x\"}")
            .cabecera("content-type", "text/plain")
            .send()
            .await;
        assert_eq!(r.err(), (400, GENERICO), "{path} text/plain");
    }
    // Lookup before the field rules: unknown or another company's id → 404, even with a blank nombre.
    for otro in [ajeno, 999999] {
        for cuerpo in [
            json!({"nombre": "Robado", "documento": "1"}),
            json!({"nombre": ""}),
        ] {
            let r = put(format!("/api/clientes/{otro}"), cuerpo).await;
            assert_eq!(r.err(), (404, "Cliente no encontrado"), "{otro}");
        }
    }
    for malo in IDS_MALOS {
        let r = put(format!("/api/clientes/{malo}"), json!({"nombre": "x"})).await;
        assert_eq!(r.err(), (400, "ID inválido."), "{malo}");
    }
    assert_eq!(fila(&app, id).await, antes);
    assert_eq!(fila(&app, ajeno).await, antes_ajeno);
}

#[tokio::test]
async fn actualizar_guardas_antes_que_el_id_y_el_cuerpo() {
    let (app, e, _) = fx().await;
    let id = cliente(&app, &e, "Ana", None).await;
    let antes = fila(&app, id).await;
    guardas(
        &app,
        &e,
        Method::PUT,
        &format!("/api/clientes/{id}"),
        Some(json!({"nombre": "Hackeado"})),
    )
    .await;
    guardas(
        &app,
        &e,
        Method::PUT,
        "/api/clientes/abc",
        Some(json!(null)),
    )
    .await;
    assert_eq!(fila(&app, id).await, antes);
}

// ---------- GET /api/clientes/{id}/historial ----------

struct Venta<'a> {
    e: &'a str,
    cliente: Option<i32>,
    total: f64,
    creado: &'a str,
    cancelada: bool,
}

async fn venta(app: &App, v: Venta<'_>) -> i32 {
    app.pg
        .query_one(
            r#"INSERT INTO "Venta" ("clienteId", "total", "notas", "creadoEn", "canceladaEn", "motivoCancelacion", "empresaId")
               VALUES ($1, $2, NULL, $3::text::timestamp,
                       CASE WHEN $4 THEN $3::text::timestamp + interval '1 hour' END,
                       CASE WHEN $4 THEN 'error de caja' END, $5)
               RETURNING "id""#,
            &[&v.cliente, &v.total, &v.creado, &v.cancelada, &v.e],
        )
        .await
        .unwrap()
        .get(0)
}

async fn cotizacion(app: &App, e: &str, cliente: i32, estado: &str, creado: &str) -> i32 {
    app.pg
        .query_one(
            r#"INSERT INTO "Cotizacion" ("clienteId", "total", "estado", "validaHasta", "creadoEn", "empresaId")
               VALUES ($1, 1000, $2::text::"EstadoCotizacion", $3::text::timestamp + interval '7 days',
                       $3::text::timestamp, $4)
               RETURNING "id""#,
            &[&cliente, &estado, &creado, &e],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn historial_forma_exacta_con_ventas_y_cotizaciones_pendientes() {
    let (app, e, c) = fx().await;
    let vendedor = app.usuario(&e, "ADMIN", "ACTIVO", &[]).await;
    let id = cliente(&app, &e, "Ana", Some("1")).await;
    let otro = cliente(&app, &e, "Beto", None).await;
    let v1: i32 = app
        .pg
        .query_one(
            r#"INSERT INTO "Venta" ("vendedorId", "clienteId", "total", "notas", "creadoEn", "empresaId")
               VALUES ($1, $2, 1500, 'contado', '2026-05-01 10:00:00.100', $3) RETURNING "id""#,
            &[&vendedor.id, &id, &e],
        )
        .await
        .unwrap()
        .get(0);
    let v2: i32 = app
        .pg
        .query_one(
            r#"INSERT INTO "Venta" ("vendedorId", "clienteId", "total", "notas", "creadoEn",
                                    "canceladaEn", "canceladaPorId", "motivoCancelacion", "empresaId")
               VALUES (NULL, $1, 0.30000000000000004, NULL, '2026-05-02 10:00:00.000',
                       '2026-05-02 11:30:00.999', $2, 'devolución', $3) RETURNING "id""#,
            &[&id, &vendedor.id, &e],
        )
        .await
        .unwrap()
        .get(0);
    // Another customer's sale is not listed.
    venta(
        &app,
        Venta {
            e: &e,
            cliente: Some(otro),
            total: 1.0,
            creado: "2026-05-03 00:00:00",
            cancelada: false,
        },
    )
    .await;
    let q1: i32 = app
        .pg
        .query_one(
            r#"INSERT INTO "Cotizacion" ("vendedorId", "clienteId", "total", "notas", "estado", "validaHasta", "creadoEn", "empresaId")
               VALUES ($1, $2, 2500.5, 'con descuento', 'PENDIENTE', '2020-01-08 00:00:00.000', '2020-01-01 08:00:00.000', $3)
               RETURNING "id""#,
            &[&vendedor.id, &id, &e],
        )
        .await
        .unwrap()
        .get(0);
    // A converted quote (pointing at its sale) and a cancelled one are counted, not listed.
    app.pg
        .execute(
            r#"INSERT INTO "Cotizacion" ("clienteId", "total", "estado", "validaHasta", "creadoEn", "ventaId", "convertidaEn", "empresaId")
               VALUES ($1, 1500, 'CONVERTIDA', '2026-06-01', '2026-04-30', $2, '2026-05-01 10:00:00.100', $3)"#,
            &[&id, &v1, &e],
        )
        .await
        .unwrap();
    cotizacion(&app, &e, id, "CANCELADA", "2026-05-05 00:00:00").await;

    let r = app
        .get(&format!("/api/clientes/{id}/historial"))
        .cookie(&c)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.texto);
    assert_eq!(
        r.body,
        json!({
            "id": id, "nombre": "Ana", "documento": "1", "email": null, "telefono": null,
            "direccion": null, "notas": null, "creadoEn": "2026-03-01T12:00:00.250Z", "empresaId": e,
            "ventas": [
                {"id": v2, "vendedorId": null, "clienteId": id, "total": 0.30000000000000004,
                 "notas": null, "creadoEn": "2026-05-02T10:00:00.000Z",
                 "canceladaEn": "2026-05-02T11:30:00.999Z", "canceladaPorId": vendedor.id,
                 "motivoCancelacion": "devolución", "empresaId": e},
                {"id": v1, "vendedorId": vendedor.id, "clienteId": id, "total": 1500,
                 "notas": "contado", "creadoEn": "2026-05-01T10:00:00.100Z", "canceladaEn": null,
                 "canceladaPorId": null, "motivoCancelacion": null, "empresaId": e},
            ],
            "cotizaciones": [
                {"id": q1, "vendedorId": vendedor.id, "clienteId": id, "total": 2500.5,
                 "notas": "con descuento", "estado": "PENDIENTE",
                 "validaHasta": "2020-01-08T00:00:00.000Z", "creadoEn": "2020-01-01T08:00:00.000Z",
                 "ventaId": null, "convertidaEn": null, "canceladaEn": null,
                 "canceladaPorId": null, "motivoCancelacion": null, "empresaId": e},
            ],
            "_count": {"ventas": 2, "cotizaciones": 3},
        })
    );
}

#[tokio::test]
async fn historial_20_ventas_y_10_cotizaciones_mas_recientes_conteo_total_y_solo_la_empresa() {
    let (app, e, c) = fx().await;
    let otra = app.empresa().await;
    let id = cliente(&app, &e, "Ana", None).await;
    let mut ventas = Vec::new();
    for i in 0..23 {
        let creado = format!("2026-01-{:02} 10:00:00", i + 1);
        ventas.push(
            venta(
                &app,
                Venta {
                    e: &e,
                    cliente: Some(id),
                    total: 10.0,
                    creado: &creado,
                    cancelada: i % 5 == 0,
                },
            )
            .await,
        );
    }
    // Same creadoEn as the newest: the higher id comes first.
    let empate = venta(
        &app,
        Venta {
            e: &e,
            cliente: Some(id),
            total: 10.0,
            creado: "2026-01-23 10:00:00",
            cancelada: false,
        },
    )
    .await;
    // A row of another company pointing at this customer (a bug elsewhere) is neither listed nor counted.
    venta(
        &app,
        Venta {
            e: &otra,
            cliente: Some(id),
            total: 99.0,
            creado: "2027-01-01 00:00:00",
            cancelada: false,
        },
    )
    .await;
    app.pg
        .execute(
            r#"INSERT INTO "Cotizacion" ("clienteId", "total", "estado", "validaHasta", "creadoEn", "empresaId")
               VALUES ($1, 1, 'PENDIENTE', '2027-01-08', '2027-01-01', $2)"#,
            &[&id, &otra],
        )
        .await
        .unwrap();
    let mut pendientes = Vec::new();
    for i in 0..12 {
        let creado = format!("2026-02-{:02} 09:00:00", i + 1);
        pendientes.push(cotizacion(&app, &e, id, "PENDIENTE", &creado).await);
        cotizacion(
            &app,
            &e,
            id,
            if i % 2 == 0 {
                "CANCELADA"
            } else {
                "CONVERTIDA"
            },
            "2026-03-01 00:00:00",
        )
        .await;
    }

    let r = app
        .get(&format!("/api/clientes/{id}/historial"))
        .cookie(&c)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.texto);
    let lista = |k: &str| -> Vec<i64> {
        r.body[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_i64().unwrap())
            .collect()
    };
    let mut esperadas: Vec<i64> = vec![empate as i64];
    esperadas.extend(ventas.iter().rev().take(19).map(|v| *v as i64));
    assert_eq!(lista("ventas"), esperadas);
    assert!(
        r.body["ventas"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v.get("items").is_none())
    );
    assert_eq!(
        lista("cotizaciones"),
        pendientes
            .iter()
            .rev()
            .take(10)
            .map(|v| *v as i64)
            .collect::<Vec<_>>()
    );
    assert_eq!(r.body["_count"], json!({"ventas": 24, "cotizaciones": 24}));
}

#[tokio::test]
async fn historial_sin_movimientos() {
    let (app, e, c) = fx().await;
    let id = cliente(&app, &e, "Ana", None).await;
    let r = app
        .get(&format!("/api/clientes/{id}/historial"))
        .cookie(&c)
        .send()
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        (
            r.body["ventas"].clone(),
            r.body["cotizaciones"].clone(),
            r.body["_count"].clone()
        ),
        (
            json!([]),
            json!([]),
            json!({"ventas": 0, "cotizaciones": 0})
        )
    );
    assert_eq!(r.body["nombre"], json!("Ana"));
}

#[tokio::test]
async fn historial_errores_y_guardas() {
    let (app, e, c) = fx().await;
    let otra = app.empresa().await;
    let ajeno = cliente(&app, &otra, "Ajeno", None).await;
    venta(
        &app,
        Venta {
            e: &otra,
            cliente: Some(ajeno),
            total: 5.0,
            creado: "2026-01-01 00:00:00",
            cancelada: false,
        },
    )
    .await;
    for otro in [ajeno, 999999] {
        let r = app
            .get(&format!("/api/clientes/{otro}/historial"))
            .cookie(&c)
            .send()
            .await;
        assert_eq!(r.err(), (404, "Cliente no encontrado"), "{otro}");
    }
    for malo in IDS_MALOS {
        let r = app
            .get(&format!("/api/clientes/{malo}/historial"))
            .cookie(&c)
            .send()
            .await;
        assert_eq!(r.err(), (400, "ID inválido."), "{malo}");
    }
    let id = cliente(&app, &e, "Ana", None).await;
    guardas(
        &app,
        &e,
        Method::GET,
        &format!("/api/clientes/{id}/historial"),
        None,
    )
    .await;
    guardas(&app, &e, Method::GET, "/api/clientes/abc/historial", None).await;
}

// ---------- R4 of `migrate --cut-over` (schema.md §7) ----------

/// R4 is idempotent and, applied to a database that still has the reference's global index
/// (a reference database, or one where `prisma db push` re-created it), leaves only the
/// per-company one.
#[tokio::test]
async fn migracion_v5_idempotente_deja_solo_el_indice_por_empresa() {
    let app = spawn_app().await;
    let (a, b) = (app.empresa().await, app.empresa().await);
    cliente(&app, &a, "Ana", Some("1")).await;
    let beto = cliente(&app, &b, "Beto", Some("2")).await;
    let v5 = migrations::corte::SQL_R4;
    let unicos = || async {
        app.pg
            .query(
                "SELECT indexname::text FROM pg_indexes
                 WHERE schemaname = 'public' AND tablename = 'Cliente' AND indexdef LIKE 'CREATE UNIQUE%'
                 ORDER BY 1",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|f| f.get::<_, String>(0))
            .collect::<Vec<_>>()
    };
    let esperado = vec!["Cliente_empresaId_documento_key", "Cliente_pkey"];
    assert_eq!(unicos().await, esperado);
    app.pg.batch_execute(v5).await.expect("V5 otra vez");
    assert_eq!(unicos().await, esperado);
    app.pg
        .batch_execute(r#"CREATE UNIQUE INDEX "Cliente_documento_key" ON "Cliente"("documento")"#)
        .await
        .unwrap();
    // Before cut-over (global index there): another tenant's documento is a 409, never a 500.
    let u = app.usuario(&b, "USUARIO", "ACTIVO", &[]).await;
    let c = app.sesion(&u).await;
    let r = app
        .post("/api/clientes")
        .cookie(&c)
        .json(json!({"nombre": "Otra Ana", "documento": "1"}))
        .send()
        .await;
    assert_eq!(r.status, 409, "{}", r.texto);
    assert_eq!(
        r.body["error"], "Ya existe un cliente con ese documento",
        "{}",
        r.texto
    );
    let r = app
        .put(&format!("/api/clientes/{beto}"))
        .cookie(&c)
        .json(json!({"nombre": "Beto", "documento": "1"}))
        .send()
        .await;
    assert_eq!(r.status, 409, "{}", r.texto);
    assert_eq!(
        r.body["error"], "El documento ya está en uso",
        "{}",
        r.texto
    );
    app.pg
        .batch_execute(v5)
        .await
        .expect("V5 sobre el índice global");
    assert_eq!(unicos().await, esperado);
}

// ---------- Routing ----------

#[tokio::test]
async fn eliminar_y_patch_son_405_con_allow_y_no_borran() {
    let (app, e, c) = fx().await;
    let id = cliente(&app, &e, "Ana", None).await;
    let path = format!("/api/clientes/{id}");
    for metodo in [Method::DELETE, Method::PATCH] {
        let r = app
            .pet(metodo.clone(), &path)
            .cookie(&c)
            .json(json!({"nombre": "x"}))
            .send()
            .await;
        assert_eq!(
            (r.err(), r.header("allow")),
            ((405, "Método no permitido"), Some("GET, PUT")),
            "{metodo}"
        );
        assert_eq!(r.header("content-type"), Some("application/json"));
        // Routing comes first: no session needed to get the 405.
        let r = app.pet(metodo.clone(), &path).send().await;
        assert_eq!(r.status, 405, "{metodo} sin sesión");
    }
    assert_eq!(fila(&app, id).await.unwrap()["nombre"], json!("Ana"));
    let r = app.pet(Method::DELETE, "/api/clientes").send().await;
    assert_eq!(
        (r.err(), r.header("allow")),
        ((405, "Método no permitido"), Some("GET, POST"))
    );
    let r = app
        .post(&format!("/api/clientes/{id}/historial"))
        .json(json!({}))
        .send()
        .await;
    assert_eq!(
        (r.err(), r.header("allow")),
        ((405, "Método no permitido"), Some("GET"))
    );
    let r = app.get(&format!("/api/clientes/{id}/otra")).send().await;
    assert_eq!(r.err(), (404, "Ruta no encontrada"));
}

/// events/clientes/*.json are valid API Gateway v2 events that reach their route.
#[tokio::test]
async fn eventos_de_ejemplo_llegan_a_su_ruta() {
    let (app, e, c) = fx().await;
    let id = cliente(&app, &e, "Ferretería Central", Some("900")).await;
    let token = c.split_once('=').unwrap().1.to_string();
    for (nombre, status) in [
        ("listar", 200),
        ("crear", 201),
        ("obtener", 200),
        ("actualizar", 200),
        ("historial", 200),
    ] {
        let mut ev = tests::leer_evento(&format!("clientes/{nombre}"));
        ev["cookies"] = json!([format!("__Secure-neon-auth.session_token={token}")]);
        // The sample events name customer 1; point them at this test's customer.
        let con_id = |v: &Value| {
            json!(
                v.as_str()
                    .unwrap()
                    .replace("/clientes/1", &format!("/clientes/{id}"))
            )
        };
        ev["rawPath"] = con_id(&ev["rawPath"]);
        ev["requestContext"]["http"]["path"] = con_id(&ev["requestContext"]["http"]["path"]);
        let req = lambda_http::request::from_str(&ev.to_string()).expect("evento v2 válido");
        let r = Res::de(tests::despachar(&app.estado, req).await);
        assert_eq!(r.status, status, "{nombre}: {}", r.texto);
        if nombre == "listar" {
            assert_eq!(ids(&r), vec![id as i64], "busqueda=ferre");
        }
    }
}
