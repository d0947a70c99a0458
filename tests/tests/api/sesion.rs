//! Session resolution (neon-auth.md §3 a, platform.md §2.2) exercised through GET /api/categorias.

use serde_json::json;
use shared::config::ListaEmails;
use tests::{Opciones, spawn_app, spawn_app_con};

fn con_listas(admin: &'static str, allow: &'static str) -> Opciones {
    Opciones {
        ajustar: Some(Box::new(move |c| {
            c.admin_emails = ListaEmails::parse(Some(admin));
            c.allowlist_registro = ListaEmails::parse(Some(allow));
        })),
        ..Default::default()
    }
}

#[tokio::test]
async fn primer_acceso_provisiona_empresa_y_admin() {
    let app = spawn_app().await;
    let neon = app.neon_user("Nueva@Ejemplo.test", true).await;
    let c = app.sesion_neon(&neon).await;
    let r = app.get("/api/categorias").cookie(&c).send().await;
    assert_eq!((r.status, r.body.clone()), (200, json!([])));
    let f = app
        .pg
        .query_one(
            r#"SELECT u."email", u."nombre", u."rol"::text, u."estado"::text, e."nombre"
               FROM "Usuario" u JOIN "Empresa" e ON e."id" = u."empresaId" WHERE u."neonAuthId" = $1"#,
            &[&neon],
        )
        .await
        .unwrap();
    assert_eq!(f.get::<_, String>(0), "nueva@ejemplo.test");
    assert_eq!(f.get::<_, String>(1), "Neon Nueva@Ejemplo.test");
    assert_eq!(
        (f.get::<_, String>(2), f.get::<_, String>(3)),
        ("ADMIN".into(), "ACTIVO".into())
    );
    assert_eq!(f.get::<_, String>(4), "Empresa de nueva@ejemplo.test");
}

#[tokio::test]
async fn primeros_accesos_concurrentes_crean_una_sola_empresa() {
    let app = spawn_app().await;
    let neon = app.neon_user("carrera@ejemplo.test", true).await;
    let c = app.sesion_neon(&neon).await;
    let rs =
        futures::future::join_all((0..10).map(|_| app.get("/api/categorias").cookie(&c).send()))
            .await;
    assert!(
        rs.iter().all(|r| r.status == 200),
        "{:?}",
        rs.iter().map(|r| &r.texto).collect::<Vec<_>>()
    );
    assert_eq!(
        app.contar(r#"SELECT count(*) FROM "Empresa""#, &[]).await,
        1
    );
    assert_eq!(
        app.contar(r#"SELECT count(*) FROM "Usuario""#, &[]).await,
        1
    );
}

#[tokio::test]
async fn email_no_verificado_no_reclama_ni_provisiona() {
    let app = spawn_app().await;
    let e = app.empresa().await;
    let pre = app.usuario(&e, "USUARIO", "PENDIENTE", &[]).await;
    let neon = app.neon_user(&pre.email.to_uppercase(), false).await;
    let c = app.sesion_neon(&neon).await;
    assert_eq!(
        app.get("/api/categorias").cookie(&c).send().await.err(),
        (401, "No autorizado")
    );
    let neon_guardado: String = app
        .pg
        .query_one(
            r#"SELECT "neonAuthId" FROM "Usuario" WHERE "id" = $1"#,
            &[&pre.id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(neon_guardado, pre.neon_id);
    assert_eq!(
        app.contar(r#"SELECT count(*) FROM "Empresa""#, &[]).await,
        1
    );
}

#[tokio::test]
async fn revincula_por_email_verificado_y_notifica_usuario_registrado() {
    let app = spawn_app().await;
    let e = app.empresa().await;
    let (admin, _) = app.admin(&e).await;
    let otro_admin = app.usuario(&e, "SUPER_ADMIN", "ACTIVO", &[]).await;
    app.usuario(&e, "ADMIN", "SUSPENDIDO", &[]).await;
    let pre = app.usuario(&e, "USUARIO", "PENDIENTE", &[]).await;
    let neon = app.neon_user(&pre.email.to_uppercase(), true).await;
    let c = app.sesion_neon(&neon).await;
    // Pending user: relinked, but the GET answers 401 for an inactive user (seed page 001).
    assert_eq!(
        app.get("/api/categorias").cookie(&c).send().await.err(),
        (401, "No autorizado")
    );
    let guardado: String = app
        .pg
        .query_one(
            r#"SELECT "neonAuthId" FROM "Usuario" WHERE "id" = $1"#,
            &[&pre.id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(guardado, neon);
    let filas = app
        .pg
        .query(
            r#"SELECT "usuarioId", "titulo", "mensaje", "link" FROM "Notificacion"
               WHERE "tipo" = 'USUARIO_REGISTRADO' ORDER BY "usuarioId""#,
            &[],
        )
        .await
        .unwrap();
    let mut destinatarios: Vec<String> = filas.iter().map(|f| f.get(0)).collect();
    let mut esperados = vec![admin.id.clone(), otro_admin.id.clone()];
    destinatarios.sort();
    esperados.sort();
    assert_eq!(destinatarios, esperados);
    assert_eq!(
        filas[0].get::<_, String>(1),
        format!("Usuario pendiente de aprobación: {}", pre.email)
    );
    assert_eq!(
        filas[0].get::<_, String>(3),
        format!("/admin/usuarios/{}", pre.id)
    );
    // Second request: no new relink, no new notifications.
    app.get("/api/categorias").cookie(&c).send().await;
    assert_eq!(
        app.contar(r#"SELECT count(*) FROM "Notificacion""#, &[])
            .await,
        2
    );
}

#[tokio::test]
async fn lista_de_registro_y_promocion_por_admin_emails() {
    let app = spawn_app_con(con_listas("jefe@ejemplo.test", "permitido@ejemplo.test")).await;
    let fuera = app.neon_user("fuera@ejemplo.test", true).await;
    let c = app.sesion_neon(&fuera).await;
    assert_eq!(
        app.get("/api/categorias").cookie(&c).send().await.err(),
        (401, "No autorizado")
    );
    assert_eq!(
        app.contar(r#"SELECT count(*) FROM "Empresa""#, &[]).await,
        0
    );

    let dentro = app.neon_user("permitido@ejemplo.test", true).await;
    let c = app.sesion_neon(&dentro).await;
    assert_eq!(
        app.get("/api/categorias").cookie(&c).send().await.status,
        200
    );

    let jefe = app.neon_user("JEFE@ejemplo.test", true).await;
    let c = app.sesion_neon(&jefe).await;
    assert_eq!(
        app.get("/api/categorias").cookie(&c).send().await.status,
        200
    );
    let rol: String = app
        .pg
        .query_one(
            r#"SELECT "rol"::text FROM "Usuario" WHERE "neonAuthId" = $1"#,
            &[&jefe],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(rol, "SUPER_ADMIN");
}

#[tokio::test]
async fn promocion_solo_con_email_neon_verificado_y_reactiva() {
    let app = spawn_app_con(con_listas("jefe@ejemplo.test", "")).await;
    let e = app.empresa().await;
    // A tenant ADMIN who writes an ADMIN_EMAILS address on its own row is not promoted.
    let (tramposo, c) = app.admin(&e).await;
    app.pg
        .execute(
            r#"UPDATE "Usuario" SET "email" = 'jefe@ejemplo.test' WHERE "id" = $1"#,
            &[&tramposo.id],
        )
        .await
        .unwrap();
    app.get("/api/categorias").cookie(&c).send().await;
    let rol: String = app
        .pg
        .query_one(
            r#"SELECT "rol"::text FROM "Usuario" WHERE "id" = $1"#,
            &[&tramposo.id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(rol, "ADMIN");
    app.pg
        .execute(
            r#"UPDATE "Usuario" SET "email" = 'otro@ejemplo.test' WHERE "id" = $1"#,
            &[&tramposo.id],
        )
        .await
        .unwrap();

    // The real owner of the address, suspended: verified → promoted and reactivated.
    let u = app.usuario(&e, "USUARIO", "SUSPENDIDO", &[]).await;
    app.pg.execute(r#"UPDATE neon_auth."user" SET "email" = 'Jefe@Ejemplo.test' WHERE "id" = $1::text::uuid"#, &[&u.neon_id]).await.unwrap();
    let c = app.sesion(&u).await;
    assert_eq!(
        app.get("/api/categorias").cookie(&c).send().await.status,
        200
    );
    let f = app
        .pg
        .query_one(
            r#"SELECT "rol"::text, "estado"::text FROM "Usuario" WHERE "id" = $1"#,
            &[&u.id],
        )
        .await
        .unwrap();
    assert_eq!(
        (f.get::<_, String>(0), f.get::<_, String>(1)),
        ("SUPER_ADMIN".into(), "ACTIVO".into())
    );

    // Unverified Neon e-mail: no promotion.
    let v = app.usuario(&e, "USUARIO", "ACTIVO", &[]).await;
    app.pg
        .execute(
            r#"DELETE FROM neon_auth."user" WHERE "email" = 'Jefe@Ejemplo.test'"#,
            &[],
        )
        .await
        .unwrap();
    app.pg
        .execute(r#"UPDATE neon_auth."user" SET "email" = 'jefe@ejemplo.test', "emailVerified" = false WHERE "id" = $1::text::uuid"#, &[&v.neon_id])
        .await
        .unwrap();
    let c = app.sesion(&v).await;
    app.get("/api/categorias").cookie(&c).send().await;
    let rol: String = app
        .pg
        .query_one(
            r#"SELECT "rol"::text FROM "Usuario" WHERE "id" = $1"#,
            &[&v.id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(rol, "USUARIO");
}

#[tokio::test]
async fn invitacion_pendiente_impide_provisionar() {
    let app = spawn_app().await;
    let e = app.empresa().await;
    app.pg
        .execute(
            r#"INSERT INTO "Invitacion" ("id", "email", "empresaId", "token", "expiraEn")
               VALUES ('inv1', 'invitada@ejemplo.test', $1, 'tok1', (now() AT TIME ZONE 'UTC') + interval '7 days')"#,
            &[&e],
        )
        .await
        .unwrap();
    let neon = app.neon_user("Invitada@ejemplo.test", true).await;
    let c = app.sesion_neon(&neon).await;
    assert_eq!(
        app.get("/api/categorias").cookie(&c).send().await.err(),
        (401, "No autorizado")
    );
    assert_eq!(
        app.contar(r#"SELECT count(*) FROM "Empresa""#, &[]).await,
        1
    );
}

#[tokio::test]
async fn sesiones_invalidas_son_401() {
    let app = spawn_app().await;
    let e = app.empresa().await;
    let (u, c) = app.admin(&e).await;
    assert_eq!(
        app.get("/api/categorias").cookie(&c).send().await.status,
        200
    );
    // Unknown token, empty token, bearer only, no cookie.
    for cookie in [
        "__Secure-neon-auth.session_token=desconocido.firma",
        "__Secure-neon-auth.session_token=",
        "otra=1",
    ] {
        assert_eq!(
            app.get("/api/categorias").cookie(cookie).send().await.err(),
            (401, "No autorizado"),
            "{cookie}"
        );
    }
    let token = c
        .split('=')
        .nth(1)
        .unwrap()
        .split('.')
        .next()
        .unwrap()
        .to_string();
    let r = app
        .get("/api/categorias")
        .cabecera("authorization", &format!("Bearer {token}"))
        .send()
        .await;
    assert_eq!(r.err(), (401, "No autorizado"));
    // Older cookie name and a cookie among others (API Gateway `cookies` array).
    let r = app
        .get("/api/categorias")
        .cookie(&format!(
            "a=1; __Secure-neonauth.session_token={token}.x; b=2"
        ))
        .send()
        .await;
    assert_eq!(r.status, 200);
    // Banned user; an expired ban is no ban.
    app.pg
        .execute(
            r#"UPDATE neon_auth."user" SET "banned" = true WHERE "id" = $1::text::uuid"#,
            &[&u.neon_id],
        )
        .await
        .unwrap();
    assert_eq!(
        app.get("/api/categorias").cookie(&c).send().await.err(),
        (401, "No autorizado")
    );
    app.pg
        .execute(r#"UPDATE neon_auth."user" SET "banExpires" = now() - interval '1 minute' WHERE "id" = $1::text::uuid"#, &[&u.neon_id])
        .await
        .unwrap();
    assert_eq!(
        app.get("/api/categorias").cookie(&c).send().await.status,
        200
    );
    // Expired session.
    app.pg.execute(r#"UPDATE neon_auth.session SET "expiresAt" = now() - interval '1 second' WHERE "token" = $1"#, &[&token]).await.unwrap();
    assert_eq!(
        app.get("/api/categorias").cookie(&c).send().await.err(),
        (401, "No autorizado")
    );
}

#[tokio::test]
async fn base_de_datos_caida_es_503_no_401() {
    let app = spawn_app_con(Opciones {
        ajustar: Some(Box::new(|c| {
            c.database_url = shared::config::Secreto::new("postgres://postgres@127.0.0.1:1/nada");
        })),
        ..Default::default()
    })
    .await;
    let r = app
        .get("/api/categorias")
        .cookie("__Secure-neon-auth.session_token=abc.def")
        .send()
        .await;
    assert_eq!(r.err(), (503, "Servicio no disponible"));
    // Without a cookie nothing touches the database: plain 401.
    assert_eq!(
        app.get("/api/categorias").send().await.err(),
        (401, "No autorizado")
    );
}
