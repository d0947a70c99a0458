//! /api/proveedores (purchasing.md §4): list, create, read (§9 #6), partial update, delete
//! (atomic count + delete, §9 #5), guards (§9 #3), bodies (§9 #9) and audit rows.

use http::Method;
use serde_json::{Value, json};
use tests::{Opciones, spawn_app_con};

use super::*;

async fn fila(app: &App, id: i32) -> Option<Value> {
    app.pg
        .query_opt(
            r#"SELECT json_build_object('id', "id", 'nombre', "nombre", 'nit', "nit", 'contacto', "contacto",
                 'telefono', "telefono", 'email', "email", 'direccion', "direccion", 'activo', "activo",
                 'creadoEn', to_char("creadoEn", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'empresaId', "empresaId")
               FROM "Proveedor" WHERE "id" = $1"#,
            &[&id],
        )
        .await
        .unwrap()
        .map(|f| f.get(0))
}

#[tokio::test]
async fn proveedores_guardas_en_orden_en_cada_ruta() {
    let f = fx().await;
    let id = proveedor(&f.app, &f.e, "Sur").await;
    let uno = format!("/api/proveedores/{id}");
    guardas_comunes(&f.app, &f.e, Method::GET, "/api/proveedores", None).await;
    guardas_comunes(&f.app, &f.e, Method::GET, &uno, None).await;
    let cuerpo = Some(json!({"nombre": "X"}));
    guardas_admin(
        &f.app,
        &f.e,
        Method::POST,
        "/api/proveedores",
        cuerpo.clone(),
        "No autorizado",
    )
    .await;
    guardas_admin(
        &f.app,
        &f.e,
        Method::PUT,
        &uno,
        cuerpo.clone(),
        "No autorizado",
    )
    .await;
    guardas_admin(&f.app, &f.e, Method::DELETE, &uno, None, "No autorizado").await;
    // Guards come before the id and the body.
    assert_eq!(
        f.app
            .put("/api/proveedores/abc")
            .cuerpo("{")
            .send()
            .await
            .err(),
        (401, "No autorizado")
    );
    let u = f.app.usuario(&f.e, "USUARIO", "ACTIVO", PERMISOS).await;
    let cu = f.app.sesion(&u).await;
    assert_eq!(
        f.app
            .delete("/api/proveedores/abc")
            .cookie(&cu)
            .send()
            .await
            .err(),
        (403, "No autorizado")
    );
    // Nothing was written by any refused request.
    assert_eq!(fila(&f.app, id).await.unwrap()["nombre"], "Sur");
    assert_eq!(
        f.app
            .contar(r#"SELECT count(*) FROM "Proveedor""#, &[])
            .await,
        1
    );
    // A plain active user reads (family B).
    assert_eq!(
        f.app
            .get("/api/proveedores")
            .cookie(&cu)
            .send()
            .await
            .status,
        200
    );
    assert_eq!(f.app.get(&uno).cookie(&cu).send().await.status, 200);
}

#[tokio::test]
async fn proveedores_ids_malos_y_405() {
    let f = fx().await;
    for m in [Method::GET, Method::PUT, Method::DELETE] {
        let cuerpo = (m == Method::PUT).then(|| json!({}));
        ids_malos(&f.app, &f.c, m, "/api/proveedores/{id}", cuerpo).await;
    }
    let r = f
        .app
        .pet(Method::PATCH, "/api/proveedores/1")
        .cookie(&f.c)
        .send()
        .await;
    assert_eq!(r.err(), (405, "Método no permitido"));
    assert_eq!(r.header("allow"), Some("GET, PUT, DELETE"));
    let r = f.app.delete("/api/proveedores").cookie(&f.c).send().await;
    assert_eq!((r.status, r.header("allow")), (405, Some("GET, POST")));
}

#[tokio::test]
async fn proveedores_listar_todos_por_nombre_solo_la_empresa_propia() {
    let f = fx().await;
    let otra = f.app.empresa().await;
    proveedor(&f.app, &otra, "Ajeno").await;
    let b = proveedor(&f.app, &f.e, "Beta").await;
    let a = proveedor(&f.app, &f.e, "Alfa").await;
    f.app
        .pg
        .execute(
            r#"UPDATE "Proveedor" SET "activo" = false WHERE "id" = $1"#,
            &[&b],
        )
        .await
        .unwrap();
    let r = f.app.get("/api/proveedores").cookie(&f.c).send().await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        json!([
            fila(&f.app, a).await.unwrap(),
            fila(&f.app, b).await.unwrap()
        ])
    );
    assert_eq!(
        lista(&r)[1]["activo"],
        false,
        "inactive suppliers are listed"
    );
}

#[tokio::test]
async fn proveedores_listar_hasta_200() {
    let f = fx().await;
    f.app
        .pg
        .execute(
            r#"INSERT INTO "Proveedor" ("nombre", "empresaId")
               SELECT 'P' || lpad(g::text, 3, '0'), $1 FROM generate_series(1, 205) g"#,
            &[&f.e],
        )
        .await
        .unwrap();
    let r = f.app.get("/api/proveedores").cookie(&f.c).send().await;
    assert_eq!(lista(&r).len(), 200);
    assert_eq!(lista(&r)[199]["nombre"], "P200");
}

#[tokio::test]
async fn proveedores_crear_201_recortado_activo_y_auditado() {
    let f = fx().await;
    let r = f
        .app
        .post("/api/proveedores")
        .cookie(&f.c)
        .json(json!({"nombre": "  Ferretería Sur ", "nit": " 900 ", "contacto": "   ", "telefono": 3001,
                     "email": null, "direccion": "\u{feff}Cra 1\u{a0}", "activo": false, "empresaId": "otra"}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.texto);
    let id = r.body["id"].as_i64().unwrap() as i32;
    assert_eq!(r.body, fila(&f.app, id).await.unwrap());
    assert_eq!(
        (
            &r.body["nombre"],
            &r.body["nit"],
            &r.body["contacto"],
            &r.body["telefono"],
            &r.body["email"],
            &r.body["direccion"],
            &r.body["activo"],
            &r.body["empresaId"]
        ),
        (
            &json!("Ferretería Sur"),
            &json!("900"),
            &Value::Null,
            &Value::Null,
            &Value::Null,
            &json!("Cra 1"),
            &json!(true),
            &json!(f.e)
        )
    );
    let a = auditoria(&f.app, "Proveedor", id as i64).await;
    assert_eq!(a.len(), 1);
    assert_eq!(
        (a[0].0.as_str(), a[0].1.as_deref(), a[0].2.as_deref()),
        ("CREAR", Some(f.admin.id.as_str()), Some(f.app.ip.as_str()))
    );
    assert_eq!(a[0].3, json!({"despues": r.body}));
    // No client address at all → the purchasing fallback `127.0.0.1` (§1.3), not null.
    let r = f
        .app
        .post("/api/proveedores")
        .cookie(&f.c)
        .ip("")
        .json(json!({"nombre": "B"}))
        .send()
        .await;
    let a = auditoria(&f.app, "Proveedor", r.body["id"].as_i64().unwrap()).await;
    assert_eq!(a[0].2.as_deref(), Some("127.0.0.1"));
}

#[tokio::test]
async fn proveedores_crear_errores_de_cuerpo() {
    let f = fx().await;
    for cuerpo in [
        json!({}),
        json!({"nombre": "  "}),
        json!({"nombre": 5}),
        json!({"nombre": null}),
    ] {
        let r = f
            .app
            .post("/api/proveedores")
            .cookie(&f.c)
            .json(cuerpo.clone())
            .send()
            .await;
        assert_eq!(r.err(), (400, "El nombre es obligatorio."), "{cuerpo}");
    }
    for crudo in ["{", "null", "[1]", "\"x\"", "5", ""] {
        let r = f
            .app
            .post("/api/proveedores")
            .cookie(&f.c)
            .cabecera("content-type", "application/json")
            .cuerpo(crudo)
            .send()
            .await;
        assert_eq!(r.err(), (400, "Error al crear el proveedor"), "{crudo:?}");
    }
    let r = f
        .app
        .post("/api/proveedores")
        .cookie(&f.c)
        .cuerpo(r#"{"nombre":"x"}"#)
        .send()
        .await;
    assert_eq!(
        r.err(),
        (400, "Error al crear el proveedor"),
        "no JSON content type"
    );
    assert_eq!(
        f.app
            .contar(r#"SELECT count(*) FROM "Proveedor""#, &[])
            .await,
        0
    );
}

#[tokio::test]
async fn proveedores_obtener_por_id_y_404_de_otra_empresa() {
    let f = fx().await;
    let id = proveedor(&f.app, &f.e, "Sur").await;
    let r = f
        .app
        .get(&format!("/api/proveedores/{id}"))
        .cookie(&f.c)
        .send()
        .await;
    assert_eq!((r.status, &r.body), (200, &fila(&f.app, id).await.unwrap()));
    let otra = f.app.empresa().await;
    let ajeno = proveedor(&f.app, &otra, "Ajeno").await;
    for path in [
        format!("/api/proveedores/{ajeno}"),
        "/api/proveedores/999999".into(),
    ] {
        assert_eq!(
            f.app.get(&path).cookie(&f.c).send().await.err(),
            (404, "Proveedor no encontrado")
        );
    }
}

#[tokio::test]
async fn proveedores_actualizar_parcial_cadenas_vacias_limpian_no_cadenas_se_ignoran() {
    let f = fx().await;
    let id = proveedor(&f.app, &f.e, "Sur").await;
    let antes = fila(&f.app, id).await.unwrap();
    let path = format!("/api/proveedores/{id}");
    let r = f
        .app
        .put(&path)
        .cookie(&f.c)
        .json(
            json!({"nombre": " Sur 2 ", "nit": "", "contacto": null, "telefono": 5, "email": "  ",
                     "direccion": " Cra 9 ", "activo": false, "empresaId": "x", "id": 77}),
        )
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.texto);
    let despues = fila(&f.app, id).await.unwrap();
    assert_eq!(r.body, despues);
    assert_eq!(
        (
            &despues["nombre"],
            &despues["nit"],
            &despues["contacto"],
            &despues["telefono"],
            &despues["email"],
            &despues["direccion"],
            &despues["activo"]
        ),
        (
            &json!("Sur 2"),
            &Value::Null,
            &json!("Ana"),
            &json!("300"),
            &Value::Null,
            &json!("Cra 9"),
            &json!(false)
        )
    );
    let a = auditoria(&f.app, "Proveedor", id as i64).await;
    assert_eq!(a.len(), 1);
    assert_eq!(
        (a[0].0.as_str(), a[0].2.as_deref()),
        ("ACTUALIZAR", Some(f.app.ip.as_str()))
    );
    assert_eq!(a[0].3, json!({"antes": antes, "despues": despues}));
    // `activo` only as a boolean; reactivation works.
    let r = f
        .app
        .put(&path)
        .cookie(&f.c)
        .json(json!({"activo": "true"}))
        .send()
        .await;
    assert_eq!(r.body["activo"], false);
    let r = f
        .app
        .put(&path)
        .cookie(&f.c)
        .json(json!({"activo": true}))
        .send()
        .await;
    assert_eq!(r.body["activo"], true);
}

#[tokio::test]
async fn proveedores_actualizar_vacio_es_noop_auditado() {
    let f = fx().await;
    let id = proveedor(&f.app, &f.e, "Sur").await;
    let antes = fila(&f.app, id).await.unwrap();
    let r = f
        .app
        .put(&format!("/api/proveedores/{id}"))
        .cookie(&f.c)
        .json(json!({}))
        .send()
        .await;
    assert_eq!((r.status, &r.body), (200, &antes));
    let a = auditoria(&f.app, "Proveedor", id as i64).await;
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].3, json!({"antes": antes, "despues": antes}));
}

#[tokio::test]
async fn proveedores_actualizar_orden_cuerpo_antes_del_404_y_nombre_despues() {
    let f = fx().await;
    let id = proveedor(&f.app, &f.e, "Sur").await;
    let otra = f.app.empresa().await;
    let ajeno = proveedor(&f.app, &otra, "Ajeno").await;
    // Body (400 generic) before the lookup (404).
    let r = f
        .app
        .put("/api/proveedores/999999")
        .cookie(&f.c)
        .cabecera("content-type", "application/json")
        .cuerpo("{")
        .send()
        .await;
    assert_eq!(r.err(), (400, "Error al actualizar el proveedor"));
    let r = f
        .app
        .put("/api/proveedores/999999")
        .cookie(&f.c)
        .json(json!(null))
        .send()
        .await;
    assert_eq!(r.err(), (400, "Error al actualizar el proveedor"));
    // Lookup (404) before the field rules (400).
    let r = f
        .app
        .put(&format!("/api/proveedores/{ajeno}"))
        .cookie(&f.c)
        .json(json!({"nombre": ""}))
        .send()
        .await;
    assert_eq!(r.err(), (404, "Proveedor no encontrado"));
    assert_eq!(fila(&f.app, ajeno).await.unwrap()["nombre"], "Ajeno");
    let r = f
        .app
        .put(&format!("/api/proveedores/{id}"))
        .cookie(&f.c)
        .json(json!({"nombre": "   "}))
        .send()
        .await;
    assert_eq!(r.err(), (400, "El nombre es obligatorio."));
    assert_eq!(fila(&f.app, id).await.unwrap()["nombre"], "Sur");
    assert!(auditoria(&f.app, "Proveedor", id as i64).await.is_empty());
}

#[tokio::test]
async fn proveedores_eliminar_ok_404_y_409_con_ordenes_de_cualquier_estado() {
    let f = fx().await;
    let libre = proveedor(&f.app, &f.e, "Libre").await;
    let antes = fila(&f.app, libre).await.unwrap();
    let r = f
        .app
        .delete(&format!("/api/proveedores/{libre}"))
        .cookie(&f.c)
        .send()
        .await;
    assert_eq!((r.status, &r.body), (200, &json!({"ok": true})));
    assert!(fila(&f.app, libre).await.is_none());
    let a = auditoria(&f.app, "Proveedor", libre as i64).await;
    assert_eq!(
        (a[0].0.as_str(), a[0].2.as_deref(), &a[0].3),
        (
            "ELIMINAR",
            Some(f.app.ip.as_str()),
            &json!({"antes": antes})
        )
    );
    assert_eq!(
        f.app
            .delete(&format!("/api/proveedores/{libre}"))
            .cookie(&f.c)
            .send()
            .await
            .err(),
        (404, "Proveedor no encontrado")
    );
    let otra = f.app.empresa().await;
    let ajeno = proveedor(&f.app, &otra, "Ajeno").await;
    assert_eq!(
        f.app
            .delete(&format!("/api/proveedores/{ajeno}"))
            .cookie(&f.c)
            .send()
            .await
            .err(),
        (404, "Proveedor no encontrado")
    );
    assert!(fila(&f.app, ajeno).await.is_some());
    // An order in any state, cancelled included, blocks the delete.
    let con = proveedor(&f.app, &f.e, "Con orden").await;
    let p = producto(&f.app, &f.e, "A-1", 0, 1).await;
    let o = orden(
        &f.app,
        &f.c,
        con,
        json!([{"productoId": p, "cantidad": 1, "costoUnitario": 1}]),
    )
    .await;
    let oid = o["id"].as_i64().unwrap();
    let r = f
        .app
        .post(&format!("/api/ordenes-compra/{oid}/cancelar"))
        .cookie(&f.c)
        .send()
        .await;
    assert_eq!(r.body["estado"], "CANCELADA");
    assert_eq!(
        f.app
            .delete(&format!("/api/proveedores/{con}"))
            .cookie(&f.c)
            .send()
            .await
            .err(),
        (
            409,
            "No se puede eliminar un proveedor con órdenes de compra asociadas"
        )
    );
    assert!(fila(&f.app, con).await.is_some());
}

#[tokio::test]
async fn proveedores_crear_limitado_sexto_post_429_compartido_con_ordenes() {
    let app = spawn_app_con(Opciones {
        rate_limit_max: 5,
        ..Opciones::default()
    })
    .await;
    let e = app.empresa().await;
    let (_, c) = app.admin(&e).await;
    for i in 0..3 {
        let r = app
            .post("/api/proveedores")
            .cookie(&c)
            .json(json!({"nombre": format!("P{i}")}))
            .send()
            .await;
        assert_eq!(r.status, 201, "{i}");
    }
    for _ in 0..2 {
        let r = app
            .post("/api/ordenes-compra")
            .cookie(&c)
            .json(json!({}))
            .send()
            .await;
        assert_eq!(r.status, 400);
    }
    // PUT/DELETE and GET are not limited.
    let id = app
        .contar(r#"SELECT max("id")::int8 FROM "Proveedor""#, &[])
        .await;
    for _ in 0..3 {
        assert_eq!(
            app.put(&format!("/api/proveedores/{id}"))
                .cookie(&c)
                .json(json!({}))
                .send()
                .await
                .status,
            200
        );
        assert_eq!(
            app.get("/api/proveedores").cookie(&c).send().await.status,
            200
        );
    }
    let r = app
        .post("/api/proveedores")
        .cookie(&c)
        .json(json!({"nombre": "sexto"}))
        .send()
        .await;
    assert!(r.segundos_de_espera() > 0);
    let r = app
        .post("/api/ordenes-compra/")
        .cookie(&c)
        .json(json!({}))
        .send()
        .await;
    assert_eq!(r.status, 429, "same bucket, trailing slash normalised");
    assert_eq!(
        app.contar(r#"SELECT count(*) FROM "Proveedor""#, &[]).await,
        3
    );
}
