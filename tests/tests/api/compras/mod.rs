//! Purchasing (purchasing.md, issue 11) over the real handlers and Postgres: suppliers, purchase
//! orders, receipts and cancels (with their races), the PDF read back with `pdftotext`, and the
//! purchase suggestions. Shared fixtures live here.

mod concurrencia;
mod fallos;
mod ordenes;
mod pdf;
mod proveedores;
mod sugerencias;

use http::Method;
use serde_json::{Value, json};
use tests::{App, Res, UsuarioT, spawn_app};

pub const IDS_MALOS: &[&str] = &["abc", "0", "-1", "12abc", "3.9", "2147483648", "0x10"];
pub const PERMISOS: &[&str] = &[
    "VER_ANALISIS",
    "EXPORTAR_REPORTES",
    "REGISTRAR_MOVIMIENTOS",
    "REALIZAR_VENTAS",
    "AGREGAR_STOCK",
    "DESCONTAR_STOCK",
];

/// An app, a company, its active ADMIN and the admin's cookie.
pub struct Fx {
    pub app: App,
    pub e: String,
    pub admin: UsuarioT,
    pub c: String,
}

pub async fn fx() -> Fx {
    let app = spawn_app().await;
    let e = app.empresa().await;
    let (admin, c) = app.admin(&e).await;
    Fx { app, e, admin, c }
}

/// A supplier inserted directly; returns its id.
pub async fn proveedor(app: &App, e: &str, nombre: &str) -> i32 {
    app.pg
        .query_one(
            r#"INSERT INTO "Proveedor" ("nombre", "nit", "contacto", "telefono", "email", "direccion", "empresaId")
               VALUES ($1, '900-1', 'Ana', '300', 'a@b.co', 'Calle 1', $2) RETURNING "id""#,
            &[&nombre, &e],
        )
        .await
        .unwrap()
        .get(0)
}

/// A product with its own category: `(codigo, cantidad, stockMinimo)`; returns its id.
pub async fn producto(app: &App, e: &str, codigo: &str, cantidad: i32, stock_minimo: i32) -> i32 {
    let prefijo = format!("P{}", rand::random::<u32>() % 1_000_000);
    let cat = app
        .categoria(e, &format!("Cat {codigo} {prefijo}"), &prefijo)
        .await;
    app.pg
        .query_one(
            r#"INSERT INTO "Producto" ("nombre", "codigo", "precio", "cantidad", "stockMinimo", "categoriaId", "empresaId")
               VALUES ($1, $2, 1000, $3, $4, $5, $6) RETURNING "id""#,
            &[&format!("Producto {codigo}"), &codigo, &cantidad, &stock_minimo, &cat, &e],
        )
        .await
        .unwrap()
        .get(0)
}

/// POST /api/ordenes-compra as `cookie`; panics unless 201. Returns the body.
pub async fn orden(app: &App, cookie: &str, proveedor: i32, items: Value) -> Value {
    let r = app
        .post("/api/ordenes-compra")
        .cookie(cookie)
        .json(json!({"proveedorId": proveedor, "items": items}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.texto);
    r.body
}

/// A cookie of an ADMIN (or `rol`) whose `empresaId` is empty: G3's "no tenant" (the column is
/// NOT NULL, so the empty id is the only way to reach it).
pub async fn sin_empresa(app: &App, rol: &str) -> String {
    app.pg
        .execute(
            r#"INSERT INTO "Empresa" ("id", "nombre") VALUES ('', 'Sin empresa') ON CONFLICT DO NOTHING"#,
            &[],
        )
        .await
        .unwrap();
    let u = app.usuario("", rol, "ACTIVO", &[]).await;
    app.sesion(&u).await
}

pub fn pet<'a>(
    app: &'a App,
    metodo: &Method,
    path: &str,
    cuerpo: &Option<Value>,
    c: Option<&str>,
) -> tests::Pet<'a> {
    let mut p = app.pet(metodo.clone(), path);
    if let Some(v) = cuerpo {
        p = p.json(v.clone());
    }
    match c {
        Some(c) => p.cookie(c),
        None => p,
    }
}

/// Guards G1–G3 (purchasing.md §1.1 Required): 401 without or with an unknown session, 403
/// `Usuario inactivo o suspendido` for every non-active role, 403 `Usuario sin empresa asignada`.
pub async fn guardas_comunes(
    app: &App,
    e: &str,
    metodo: Method,
    path: &str,
    cuerpo: Option<Value>,
) {
    assert_eq!(
        pet(app, &metodo, path, &cuerpo, None).send().await.err(),
        (401, "No autorizado"),
        "{metodo} {path} sin sesión"
    );
    assert_eq!(
        pet(
            app,
            &metodo,
            path,
            &cuerpo,
            Some("__Secure-neon-auth.session_token=nada.firma")
        )
        .send()
        .await
        .err(),
        (401, "No autorizado"),
        "{metodo} {path} sesión desconocida"
    );
    for (rol, estado) in [
        ("USUARIO", "PENDIENTE"),
        ("ADMIN", "SUSPENDIDO"),
        ("SUPER_ADMIN", "PENDIENTE"),
    ] {
        let u = app.usuario(e, rol, estado, &[]).await;
        let c = app.sesion(&u).await;
        assert_eq!(
            pet(app, &metodo, path, &cuerpo, Some(&c))
                .send()
                .await
                .err(),
            (403, "Usuario inactivo o suspendido"),
            "{metodo} {path} {rol} {estado}"
        );
    }
    let c = sin_empresa(app, "ADMIN").await;
    assert_eq!(
        pet(app, &metodo, path, &cuerpo, Some(&c))
            .send()
            .await
            .err(),
        (403, "Usuario sin empresa asignada"),
        "{metodo} {path} sin empresa"
    );
}

/// Families C and D: the common guards, then a `USUARIO` holding every permission → 403 `msg`
/// (the tenant check comes first: a non-admin without tenant gets the tenant's 403).
pub async fn guardas_admin(
    app: &App,
    e: &str,
    metodo: Method,
    path: &str,
    cuerpo: Option<Value>,
    msg: &str,
) {
    guardas_comunes(app, e, metodo.clone(), path, cuerpo.clone()).await;
    let u = app.usuario(e, "USUARIO", "ACTIVO", PERMISOS).await;
    let c = app.sesion(&u).await;
    assert_eq!(
        pet(app, &metodo, path, &cuerpo, Some(&c))
            .send()
            .await
            .err(),
        (403, msg),
        "{metodo} {path} USUARIO con todos los permisos"
    );
    let c = sin_empresa(app, "USUARIO").await;
    assert_eq!(
        pet(app, &metodo, path, &cuerpo, Some(&c))
            .send()
            .await
            .err(),
        (403, "Usuario sin empresa asignada"),
        "{metodo} {path} USUARIO sin empresa"
    );
}

/// Every malformed `{id}` → 400 `ID inválido.` (sales.md §1.5), after the guards.
pub async fn ids_malos(app: &App, c: &str, metodo: Method, plantilla: &str, cuerpo: Option<Value>) {
    for id in IDS_MALOS {
        let path = plantilla.replace("{id}", id);
        assert_eq!(
            pet(app, &metodo, &path, &cuerpo, Some(c))
                .send()
                .await
                .err(),
            (400, "ID inválido."),
            "{metodo} {path}"
        );
    }
}

/// Audit rows of one entity id: `(accion, usuarioId, ip, datos)` in insertion order.
pub async fn auditoria(
    app: &App,
    entidad: &str,
    id: i64,
) -> Vec<(String, Option<String>, Option<String>, Value)> {
    app.pg
        .query(
            r#"SELECT "accion", "usuarioId", "ip", "datos" FROM "Auditoria"
               WHERE "entidad" = $1 AND "entidadId" = $2 ORDER BY "id""#,
            &[&entidad, &id.to_string()],
        )
        .await
        .unwrap()
        .iter()
        .map(|f| (f.get(0), f.get(1), f.get(2), f.get(3)))
        .collect()
}

pub fn lista(r: &Res) -> &Vec<Value> {
    r.body
        .as_array()
        .unwrap_or_else(|| panic!("no es un arreglo: {} {}", r.status, r.texto))
}
