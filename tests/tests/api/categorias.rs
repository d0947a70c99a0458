//! categorias: every route of seed page 001 / catalog.md §4 over real handlers and Postgres.

use serde_json::json;
use tests::{App, spawn_app};

async fn app_admin() -> (App, String, String) {
    let app = spawn_app().await;
    let e = app.empresa().await;
    let (_, c) = app.admin(&e).await;
    (app, e, c)
}

// ---------- GET /api/categorias ----------

#[tokio::test]
async fn listar_ordena_por_nombre_con_conteo_y_solo_la_empresa_propia() {
    let (app, e, c) = app_admin().await;
    let otra = app.empresa().await;
    let b = app.categoria(&e, "Bebidas", "BEB").await;
    let a = app.categoria(&e, "Aseo", "ASE").await;
    app.categoria(&otra, "Ajena", "AJE").await;
    app.producto(&e, b, "BEB-001", 3).await;
    app.producto(&e, b, "BEB-002", 0).await;
    let r = app.get("/api/categorias").cookie(&c).send().await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        json!([
            {"id": a, "nombre": "Aseo", "prefijo": "ASE", "empresaId": e, "_count": {"productos": 0}},
            {"id": b, "nombre": "Bebidas", "prefijo": "BEB", "empresaId": e, "_count": {"productos": 2}},
        ])
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("x-frame-options"), Some("SAMEORIGIN"));
}

#[tokio::test]
async fn listar_vacio_y_usuario_comun_puede_leer() {
    let app = spawn_app().await;
    let e = app.empresa().await;
    let u = app.usuario(&e, "USUARIO", "ACTIVO", &[]).await;
    let c = app.sesion(&u).await;
    let r = app.get("/api/categorias").cookie(&c).send().await;
    assert_eq!((r.status, r.body.clone()), (200, json!([])));
}

#[tokio::test]
async fn listar_sin_sesion_o_inactivo_es_401_no_autorizado() {
    let app = spawn_app().await;
    let e = app.empresa().await;
    assert_eq!(
        app.get("/api/categorias").send().await.err(),
        (401, "No autorizado")
    );
    for estado in ["PENDIENTE", "SUSPENDIDO"] {
        let u = app.usuario(&e, "ADMIN", estado, &[]).await;
        let c = app.sesion(&u).await;
        let r = app.get("/api/categorias").cookie(&c).send().await;
        assert_eq!(r.err(), (401, "No autorizado"), "{estado}");
    }
}

// ---------- POST /api/categorias ----------

#[tokio::test]
async fn crear_devuelve_201_con_prefijo_en_mayusculas_y_audita() {
    let (app, e, c) = app_admin().await;
    let r = app
        .post("/api/categorias")
        .cookie(&c)
        .json(json!({"nombre": "  Bebidas ", "prefijo": " be "}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.texto);
    let id = r.body["id"].as_i64().unwrap() as i32;
    assert_eq!(
        r.body,
        json!({"id": id, "nombre": "Bebidas", "prefijo": "BE", "empresaId": e})
    );
    let fila = app
        .pg
        .query_one(
            r#"SELECT "accion", "entidad", "entidadId", "datos", "ip" FROM "Auditoria" WHERE "empresaId" = $1"#,
            &[&e],
        )
        .await
        .unwrap();
    assert_eq!(fila.get::<_, String>(0), "CREAR");
    assert_eq!(fila.get::<_, String>(1), "Categoria");
    assert_eq!(fila.get::<_, String>(2), id.to_string());
    assert_eq!(
        fila.get::<_, serde_json::Value>(3),
        json!({"despues": r.body})
    );
    assert_eq!(
        fila.get::<_, String>(4),
        app.ip,
        "the audit ip is the gateway source address"
    );
}

#[tokio::test]
async fn crear_sin_prefijo_lo_genera_sin_repetir() {
    let (app, e, c) = app_admin().await;
    app.categoria(&e, "Sinónimos", "SIN").await;
    let r = app
        .post("/api/categorias")
        .cookie(&c)
        .json(json!({"nombre": "Sin clasificar"}))
        .send()
        .await;
    assert_eq!((r.status, r.body["prefijo"].clone()), (201, json!("SINC")));
    let r = app
        .post("/api/categorias")
        .cookie(&c)
        .json(json!({"nombre": "A", "prefijo": "   "}))
        .send()
        .await;
    assert_eq!((r.status, r.body["prefijo"].clone()), (201, json!("CAT")));
}

#[tokio::test]
async fn crear_errores_documentados() {
    let (app, e, c) = app_admin().await;
    app.categoria(&e, "Bebidas", "BEB").await;
    // A prefix stored by the reference that no longer passes the format rule: "in use" wins.
    app.categoria(&e, "Legado", "Ñ1").await;
    let casos = [
        (
            "sin nombre",
            json!({"prefijo": "AB"}),
            400,
            "El nombre es obligatorio.",
        ),
        (
            "nombre en blanco",
            json!({"nombre": "   "}),
            400,
            "El nombre es obligatorio.",
        ),
        (
            "nombre no texto",
            json!({"nombre": 5}),
            400,
            "El nombre es obligatorio.",
        ),
        (
            "cuerpo arreglo",
            json!([1, 2]),
            400,
            "El nombre es obligatorio.",
        ),
        (
            "prefijo con ñ",
            json!({"nombre": "X", "prefijo": "ñ"}),
            400,
            "El prefijo debe tener entre 2 y 8 letras o números (sin espacios ni símbolos).",
        ),
        (
            "prefijo con espacio",
            json!({"nombre": "X", "prefijo": "A B"}),
            400,
            "El prefijo debe tener entre 2 y 8 letras o números (sin espacios ni símbolos).",
        ),
        (
            "prefijo largo",
            json!({"nombre": "X", "prefijo": "ABCDEFGHI"}),
            400,
            "El prefijo debe tener entre 2 y 8 letras o números (sin espacios ni símbolos).",
        ),
        (
            "prefijo en uso",
            json!({"nombre": "Otra", "prefijo": "beb"}),
            409,
            "Ya existe una categoría con el prefijo \"BEB\". Elige uno distinto.",
        ),
        (
            "en uso antes que formato",
            json!({"nombre": "Otra", "prefijo": "ñ1"}),
            409,
            "Ya existe una categoría con el prefijo \"Ñ1\". Elige uno distinto.",
        ),
        (
            "nombre en uso",
            json!({"nombre": "Bebidas", "prefijo": "ZZ"}),
            409,
            "Ya existe una categoría con el nombre \"Bebidas\".",
        ),
    ];
    for (caso, cuerpo, status, msg) in casos {
        let r = app
            .post("/api/categorias")
            .cookie(&c)
            .json(cuerpo)
            .send()
            .await;
        assert_eq!(r.err(), (status, msg), "{caso}");
    }
    for (caso, cuerpo, tipo) in [
        ("json roto", "{\"nombre\":", Some("application/json")),
        ("null", "null", Some("application/json")),
        ("vacío", "", Some("application/json")),
        (
            "sin content-type json",
            "{\"nombre\":\"X\"}",
            Some("text/plain"),
        ),
    ] {
        let mut p = app.post("/api/categorias").cookie(&c).cuerpo(cuerpo);
        if let Some(t) = tipo {
            p = p.cabecera("content-type", t);
        }
        assert_eq!(
            p.send().await.err(),
            (400, "Error al crear la categoría"),
            "{caso}"
        );
    }
    assert_eq!(
        app.contar(r#"SELECT count(*) FROM "Categoria""#, &[]).await,
        2,
        "nothing written"
    );
}

#[tokio::test]
async fn crear_guardas_en_orden() {
    let app = spawn_app().await;
    let e = app.empresa().await;
    // No session: 401 even with a malformed body (G1 before B).
    let r = app
        .post("/api/categorias")
        .cuerpo("{roto")
        .cabecera("content-type", "application/json")
        .send()
        .await;
    assert_eq!(r.err(), (401, "No autorizado"));
    // Inactive admin: 403 inactive (G2 before G4).
    let u = app.usuario(&e, "ADMIN", "SUSPENDIDO", &[]).await;
    let c = app.sesion(&u).await;
    let r = app
        .post("/api/categorias")
        .cookie(&c)
        .json(json!({"nombre": "X"}))
        .send()
        .await;
    assert_eq!(r.err(), (403, "Usuario inactivo o suspendido"));
    // Inactive USUARIO: still the inactive message, not the role one.
    let u = app.usuario(&e, "USUARIO", "PENDIENTE", &[]).await;
    let c = app.sesion(&u).await;
    let r = app
        .post("/api/categorias")
        .cookie(&c)
        .json(json!({"nombre": "X"}))
        .send()
        .await;
    assert_eq!(r.err(), (403, "Usuario inactivo o suspendido"));
    // Active USUARIO, whatever its permissions: 403 No autorizado (G4 before B).
    let u = app
        .usuario(
            &e,
            "USUARIO",
            "ACTIVO",
            &["REGISTRAR_MOVIMIENTOS", "REALIZAR_VENTAS"],
        )
        .await;
    let c = app.sesion(&u).await;
    let r = app
        .post("/api/categorias")
        .cookie(&c)
        .cuerpo("{roto")
        .cabecera("content-type", "application/json")
        .send()
        .await;
    assert_eq!(r.err(), (403, "No autorizado"));
    // SUPER_ADMIN acts inside its own empresa.
    let u = app.usuario(&e, "SUPER_ADMIN", "ACTIVO", &[]).await;
    let c = app.sesion(&u).await;
    let r = app
        .post("/api/categorias")
        .cookie(&c)
        .json(json!({"nombre": "X", "empresaId": "otra"}))
        .send()
        .await;
    assert_eq!((r.status, r.body["empresaId"].clone()), (201, json!(e)));
}

#[tokio::test]
async fn crear_concurrente_mismo_prefijo_un_201_y_un_409() {
    let (app, e, c) = app_admin().await;
    for ronda in 0..5 {
        let prefijo = format!("CC{ronda}");
        let (a, b) = tokio::join!(
            app.post("/api/categorias")
                .cookie(&c)
                .json(json!({"nombre": format!("A{ronda}"), "prefijo": prefijo}))
                .send(),
            app.post("/api/categorias")
                .cookie(&c)
                .json(json!({"nombre": format!("B{ronda}"), "prefijo": prefijo}))
                .send(),
        );
        let mut st = [a.status, b.status];
        st.sort();
        assert_eq!(st, [201, 409], "ronda {ronda}");
        let perdedor = if a.status == 409 { &a } else { &b };
        assert_eq!(
            perdedor.error(),
            Some(
                format!(
                    "Ya existe una categoría con el prefijo \"{prefijo}\". Elige uno distinto."
                )
                .as_str()
            )
        );
    }
    assert_eq!(
        app.contar(
            r#"SELECT count(*) FROM "Categoria" WHERE "empresaId" = $1"#,
            &[&e]
        )
        .await,
        5
    );
}

#[tokio::test]
async fn crear_concurrente_con_prefijo_automatico_no_falla() {
    let (app, e, c) = app_admin().await;
    let peticiones: Vec<_> = (0..6)
        .map(|i| {
            app.post("/api/categorias")
                .cookie(&c)
                .json(json!({"nombre": format!("Bebidas {i}")}))
                .send()
        })
        .collect();
    let rs = futures::future::join_all(peticiones).await;
    assert!(
        rs.iter().all(|r| r.status == 201),
        "{:?}",
        rs.iter().map(|r| r.texto.clone()).collect::<Vec<_>>()
    );
    assert_eq!(
        app.contar(
            r#"SELECT count(DISTINCT "prefijo") FROM "Categoria" WHERE "empresaId" = $1"#,
            &[&e]
        )
        .await,
        6
    );
}

// ---------- PUT /api/categorias/{id} ----------

#[tokio::test]
async fn actualizar_reemplaza_y_audita_antes_y_despues() {
    let (app, e, c) = app_admin().await;
    let id = app.categoria(&e, "Bebidas", "BEB").await;
    let r = app
        .put(&format!("/api/categorias/{id}"))
        .cookie(&c)
        .json(json!({"nombre": " Bebidas y Refrescos ", "prefijo": "bebr"}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.texto);
    assert_eq!(
        r.body,
        json!({"id": id, "nombre": "Bebidas y Refrescos", "prefijo": "BEBR", "empresaId": e})
    );
    let datos: serde_json::Value = app
        .pg
        .query_one(
            r#"SELECT "datos" FROM "Auditoria" WHERE "accion" = 'ACTUALIZAR' AND "empresaId" = $1"#,
            &[&e],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(datos["antes"]["prefijo"], "BEB");
    assert_eq!(datos["despues"]["prefijo"], "BEBR");
    // Same values again: allowed, 200.
    let r = app
        .put(&format!("/api/categorias/{id}/"))
        .cookie(&c)
        .json(json!({"nombre": "Bebidas y Refrescos", "prefijo": "BEBR"}))
        .send()
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn actualizar_errores_documentados() {
    let (app, e, c) = app_admin().await;
    let id = app.categoria(&e, "Bebidas", "BEB").await;
    app.categoria(&e, "Aseo", "ASE").await;
    app.categoria(&e, "Carnes", "CAR").await;
    let url = format!("/api/categorias/{id}");
    let formato = "El prefijo debe tener entre 2 y 8 letras o números (sin espacios ni símbolos).";
    for (caso, cuerpo, status, msg) in [
        (
            "nombre en blanco",
            json!({"nombre": " ", "prefijo": "XX"}),
            400,
            "El nombre es obligatorio.",
        ),
        (
            "sin prefijo",
            json!({"nombre": "X"}),
            400,
            "El prefijo es obligatorio.",
        ),
        (
            "prefijo no texto",
            json!({"nombre": "X", "prefijo": 12}),
            400,
            "El prefijo es obligatorio.",
        ),
        (
            "formato",
            json!({"nombre": "X", "prefijo": "A-B"}),
            400,
            formato,
        ),
        (
            "prefijo de otra",
            json!({"nombre": "X", "prefijo": "ASE"}),
            409,
            "Ya existe otra categoría con ese prefijo.",
        ),
        (
            "nombre de otra",
            json!({"nombre": "Aseo", "prefijo": "XX"}),
            409,
            "Ya existe otra categoría con ese nombre.",
        ),
        (
            "ambos: gana prefijo",
            json!({"nombre": "Aseo", "prefijo": "CAR"}),
            409,
            "Ya existe otra categoría con ese prefijo.",
        ),
    ] {
        let r = app.put(&url).cookie(&c).json(cuerpo).send().await;
        assert_eq!(r.err(), (status, msg), "{caso}");
    }
    let r = app
        .put(&url)
        .cookie(&c)
        .cuerpo("{x")
        .cabecera("content-type", "application/json")
        .send()
        .await;
    assert_eq!(r.err(), (400, "Error al actualizar categoría"));
    for malo in ["abc", "0", "-1", "2147483648", "1.5", "12abc"] {
        let r = app
            .put(&format!("/api/categorias/{malo}"))
            .cookie(&c)
            .json(json!({"nombre": "X", "prefijo": "XX"}))
            .send()
            .await;
        assert_eq!(r.err(), (400, "ID inválido."), "{malo}");
    }
    let r = app
        .put("/api/categorias/999999")
        .cookie(&c)
        .json(json!({"nombre": "X", "prefijo": "XX"}))
        .send()
        .await;
    assert_eq!(r.err(), (404, "Categoría no encontrada."));
    let fila = app
        .pg
        .query_one(
            r#"SELECT "nombre", "prefijo" FROM "Categoria" WHERE "id" = $1"#,
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(
        (fila.get::<_, String>(0), fila.get::<_, String>(1)),
        ("Bebidas".into(), "BEB".into())
    );
}

#[tokio::test]
async fn actualizar_categoria_de_otra_empresa_es_404_y_no_escribe() {
    let app = spawn_app().await;
    let (a, b) = (app.empresa().await, app.empresa().await);
    let id = app.categoria(&a, "Bebidas", "BEB").await;
    let (_, cb) = app.admin(&b).await;
    let r = app
        .put(&format!("/api/categorias/{id}"))
        .cookie(&cb)
        .json(json!({"nombre": "Robada", "prefijo": "ROB"}))
        .send()
        .await;
    assert_eq!(r.err(), (404, "Categoría no encontrada."));
    let r = app
        .delete(&format!("/api/categorias/{id}"))
        .cookie(&cb)
        .send()
        .await;
    assert_eq!(r.err(), (404, "Categoría no encontrada."));
    let r = app
        .post("/api/categorias/bulk-delete")
        .cookie(&cb)
        .json(json!({"ids": [id]}))
        .send()
        .await;
    assert_eq!(
        r.err(),
        (404, "No se encontró ninguna categoría con esos IDs.")
    );
    let nombre: String = app
        .pg
        .query_one(
            r#"SELECT "nombre" FROM "Categoria" WHERE "id" = $1"#,
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(nombre, "Bebidas");
}

#[tokio::test]
async fn actualizar_guardas_antes_que_el_id() {
    let app = spawn_app().await;
    let e = app.empresa().await;
    let r = app.put("/api/categorias/abc").json(json!({})).send().await;
    assert_eq!(r.err(), (401, "No autorizado"));
    let u = app.usuario(&e, "USUARIO", "ACTIVO", &[]).await;
    let c = app.sesion(&u).await;
    let r = app
        .put("/api/categorias/abc")
        .cookie(&c)
        .json(json!({}))
        .send()
        .await;
    assert_eq!(r.err(), (403, "No autorizado"));
}

// ---------- DELETE /api/categorias/{id} ----------

#[tokio::test]
async fn eliminar_vacia_responde_mensaje_y_audita() {
    let (app, e, c) = app_admin().await;
    let id = app.categoria(&e, "Bebidas", "BEB").await;
    let r = app
        .delete(&format!("/api/categorias/{id}"))
        .cookie(&c)
        .send()
        .await;
    assert_eq!(
        (r.status, r.body.clone()),
        (200, json!({"mensaje": "Categoría eliminada correctamente"}))
    );
    assert_eq!(
        app.contar(
            r#"SELECT count(*) FROM "Categoria" WHERE "id" = $1"#,
            &[&id]
        )
        .await,
        0
    );
    let datos: serde_json::Value = app
        .pg
        .query_one(
            r#"SELECT "datos" FROM "Auditoria" WHERE "accion" = 'ELIMINAR' AND "entidadId" = $1"#,
            &[&id.to_string()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        datos,
        json!({"antes": {"id": id, "nombre": "Bebidas", "prefijo": "BEB", "empresaId": e}})
    );
}

#[tokio::test]
async fn eliminar_errores_documentados() {
    let (app, e, c) = app_admin().await;
    let id = app.categoria(&e, "Bebidas", "BEB").await;
    app.producto(&e, id, "BEB-001", 0).await;
    let r = app
        .delete(&format!("/api/categorias/{id}"))
        .cookie(&c)
        .send()
        .await;
    assert_eq!(
        r.err(),
        (
            400,
            "No se puede eliminar una categoría con productos asociados"
        )
    );
    assert_eq!(
        app.delete("/api/categorias/x1")
            .cookie(&c)
            .send()
            .await
            .err(),
        (400, "ID inválido.")
    );
    assert_eq!(
        app.delete("/api/categorias/424242")
            .cookie(&c)
            .send()
            .await
            .err(),
        (404, "Categoría no encontrada.")
    );
    assert_eq!(
        app.contar(
            r#"SELECT count(*) FROM "Categoria" WHERE "id" = $1"#,
            &[&id]
        )
        .await,
        1
    );
}

/// DELETE racing a product insert never leaves an orphan: either the delete sees the product
/// (400) or the insert fails its foreign key.
#[tokio::test]
async fn eliminar_en_carrera_con_insercion_de_producto_no_deja_huerfanos() {
    let (app, e, c) = app_admin().await;
    for ronda in 0..10 {
        let id = app
            .categoria(&e, &format!("Cat {ronda}"), &format!("C{ronda}"))
            .await;
        let otra = tests::conectar(&tests::url_de(&app.db)).await;
        let codigo = format!("P-{ronda}");
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] = [&codigo, &id, &e];
        let insertar = otra.execute(
            r#"INSERT INTO "Producto" ("nombre", "codigo", "precio", "categoriaId", "empresaId") VALUES ('P', $1, 1, $2, $3)"#,
            &params,
        );
        let url = format!("/api/categorias/{id}");
        let borrar = app.delete(&url).cookie(&c).send();
        let (ins, del) = tokio::join!(insertar, borrar);
        let huerfanos = app
            .contar(
                r#"SELECT count(*) FROM "Producto" p LEFT JOIN "Categoria" c ON c."id" = p."categoriaId" WHERE c."id" IS NULL"#,
                &[],
            )
            .await;
        assert_eq!(huerfanos, 0, "ronda {ronda}");
        match (ins.is_ok(), del.status) {
            (true, 400) | (false, 200) => {}
            otro => panic!("ronda {ronda}: inesperado {otro:?} {}", del.texto),
        }
    }
}

// ---------- POST /api/categorias/bulk-delete ----------

#[tokio::test]
async fn eliminar_varias_borra_todas_y_devuelve_ids_ascendentes() {
    let (app, e, c) = app_admin().await;
    let otra = app.empresa().await;
    let x = app.categoria(&e, "X", "XX").await;
    let y = app.categoria(&e, "Y", "YY").await;
    let ajena = app.categoria(&otra, "Ajena", "AJ").await;
    let r = app
        .post("/api/categorias/bulk-delete")
        .cookie(&c)
        .json(json!({"ids": [y, format!("{x}"), y as f64 + 0.7, ajena, 999999, null, "abc"]}))
        .send()
        .await;
    assert_eq!(
        (r.status, r.body.clone()),
        (200, json!({"eliminadas": 2, "ids": [x, y]}))
    );
    assert_eq!(
        app.contar(
            r#"SELECT count(*) FROM "Categoria" WHERE "id" = $1"#,
            &[&ajena]
        )
        .await,
        1
    );
    let datos: serde_json::Value = app
        .pg
        .query_one(r#"SELECT "datos" FROM "Auditoria" WHERE "accion" = 'ELIMINAR' AND "entidadId" IS NULL"#, &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        datos,
        json!({"operacion": "BULK_DELETE", "cantidad": 2, "categorias": [
            {"id": x, "nombre": "X", "prefijo": "XX"}, {"id": y, "nombre": "Y", "prefijo": "YY"}]})
    );
}

#[tokio::test]
async fn eliminar_varias_errores_y_todo_o_nada() {
    let (app, e, c) = app_admin().await;
    let libre = app.categoria(&e, "Libre", "LI").await;
    let mut con = Vec::new();
    for i in 0..7 {
        let id = app
            .categoria(&e, &format!("Con {i}"), &format!("CO{i}"))
            .await;
        for j in 0..=i {
            app.producto(&e, id, &format!("CO{i}-{j}"), 0).await;
        }
        con.push(id);
    }
    let sel = "Debes seleccionar al menos una categoría.";
    for (caso, cuerpo) in [
        ("sin ids", "{}"),
        ("ids vacío", r#"{"ids": []}"#),
        ("ids no arreglo", r#"{"ids": 5}"#),
        ("json roto", "{ids"),
        ("null", "null"),
        ("vacío", ""),
    ] {
        let r = app
            .post("/api/categorias/bulk-delete")
            .cookie(&c)
            .cuerpo(cuerpo)
            .cabecera("content-type", "application/json")
            .send()
            .await;
        assert_eq!(r.err(), (400, sel), "{caso}");
    }
    let r = app
        .post("/api/categorias/bulk-delete")
        .cookie(&c)
        .json(json!({"ids": [0, -3, "x", null, 2147483648u64]}))
        .send()
        .await;
    assert_eq!(r.err(), (400, "IDs inválidos."));
    let r = app
        .post("/api/categorias/bulk-delete")
        .cookie(&c)
        .json(json!({"ids": [987654]}))
        .send()
        .await;
    assert_eq!(
        r.err(),
        (404, "No se encontró ninguna categoría con esos IDs.")
    );
    let mut ids = vec![libre];
    ids.extend(&con);
    let r = app
        .post("/api/categorias/bulk-delete")
        .cookie(&c)
        .json(json!({"ids": ids}))
        .send()
        .await;
    assert_eq!(
        r.err(),
        (
            400,
            "7 categoría(s) tienen productos asociados: \"Con 0\" (1), \"Con 1\" (2), \"Con 2\" (3), \"Con 3\" (4), \"Con 4\" (5) y 2 más. Reasigna o borra esos productos primero."
        )
    );
    assert_eq!(
        app.contar(
            r#"SELECT count(*) FROM "Categoria" WHERE "empresaId" = $1"#,
            &[&e]
        )
        .await,
        8,
        "nothing deleted"
    );
    let r = app
        .post("/api/categorias/bulk-delete")
        .cookie(&c)
        .cuerpo(r#"{"ids":[1]}"#)
        .cabecera("content-type", "text/plain")
        .send()
        .await;
    assert_eq!(r.err(), (400, "Error al eliminar categorías."));
}

// ---------- routing ----------

#[tokio::test]
async fn rutas_405_con_allow_y_404_json() {
    let app = spawn_app().await;
    let r = app.pet(http::Method::PATCH, "/api/categorias").send().await;
    assert_eq!(r.err(), (405, "Método no permitido"));
    assert_eq!(r.header("allow"), Some("GET, POST"));
    let r = app
        .put("/api/categorias/bulk-delete")
        .json(json!({}))
        .send()
        .await;
    assert_eq!(
        (r.err(), r.header("allow")),
        ((405, "Método no permitido"), Some("POST"))
    );
    let r = app.get("/api/categorias/5").send().await;
    assert_eq!(
        (r.err(), r.header("allow")),
        ((405, "Método no permitido"), Some("PUT, DELETE"))
    );
    let r = app.get("/api/no-existe").send().await;
    assert_eq!(r.err(), (404, "Ruta no encontrada"));
    let r = app.get("/api/categorias/5/otra").send().await;
    assert_eq!(r.err(), (404, "Ruta no encontrada"));
}
