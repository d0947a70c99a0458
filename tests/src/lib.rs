//! Test harness (style.md §7): every test gets a fresh database cloned from a template that
//! holds all migrations (rebuilt when a migration file changes), its own client address (so
//! rate-limit buckets never mix, in Redis or in memory), factories for empresas, usuarios and
//! Neon sessions, and requests built from the real `events/*.json` API Gateway v2 events.
//!
//! Environment: `TEST_DATABASE_URL` (an admin database of the server, URL or `key=value` form
//! read as libpq reads it, default `postgres://postgres@127.0.0.1:5432/postgres`: `sslmode`
//! defaults to `prefer`, so a server with a self-signed certificate works as is) and
//! `TEST_REDIS_URL` (default `redis://127.0.0.1:6379`).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use shared::{Config, Estado};
use tokio::sync::OnceCell;

pub use serde_json;

static PLANTILLA: OnceCell<String> = OnceCell::const_new();
static CONTADOR: AtomicU32 = AtomicU32::new(0);

pub fn url_admin() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn url_redis() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// The admin URL with another database name.
pub fn url_de(db: &str) -> String {
    let base = url_admin();
    if !base.starts_with("postgres://") && !base.starts_with("postgresql://") {
        // `key=value` form: a repeated key keeps its last value.
        return format!("{base} dbname='{db}'");
    }
    let (sin_query, query) = match base.split_once('?') {
        Some((a, q)) => (a.to_string(), format!("?{q}")),
        None => (base.clone(), String::new()),
    };
    let corte = sin_query
        .rfind('/')
        .filter(|i| sin_query[..*i].contains("//") && *i > sin_query.find("//").unwrap() + 1);
    let raiz = match corte {
        Some(i) => &sin_query[..i],
        None => &sin_query[..],
    };
    format!("{raiz}/{db}{query}")
}

/// `host:port` of the server behind [`url_admin`] (what a [`proxy::Proxy`] forwards to).
pub fn host_puerto_pg() -> String {
    let base = url_admin();
    let autoridad = base
        .split("://")
        .nth(1)
        .unwrap_or("")
        .split(['/', '?'])
        .next()
        .unwrap_or("")
        .rsplit('@')
        .next()
        .unwrap_or("")
        .to_string();
    if autoridad.is_empty() {
        "127.0.0.1:5432".into()
    } else if autoridad.contains(':') {
        autoridad
    } else {
        format!("{autoridad}:5432")
    }
}

/// `url` with its host and port replaced by `127.0.0.1:<puerto>`.
pub fn con_puerto(url: &str, puerto: u16) -> String {
    let (esquema, resto) = url.split_once("://").expect("URL postgres://");
    let fin = resto.find(['/', '?']).unwrap_or(resto.len());
    let (autoridad, cola) = resto.split_at(fin);
    let usuario = autoridad
        .rsplit_once('@')
        .map(|(u, _)| format!("{u}@"))
        .unwrap_or_default();
    format!("{esquema}://{usuario}127.0.0.1:{puerto}{cola}")
}

pub async fn conectar(url: &str) -> tokio_postgres::Client {
    migrations::conectar(url)
        .await
        .expect("conexión de prueba a Postgres")
}

fn huella_migraciones() -> String {
    let raiz = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let mut archivos: Vec<PathBuf> = ["sql", "dev", "src"]
        .iter()
        .flat_map(|d| {
            std::fs::read_dir(raiz.join(d))
                .expect("migrations/")
                .map(|e| e.unwrap().path())
        })
        .filter(|p| p.is_file())
        .collect();
    archivos.sort();
    // FNV-1a over names and contents: a changed migration gets a new template.
    let mut h: u64 = 0xcbf29ce484222325;
    for a in archivos {
        for b in a
            .file_name()
            .unwrap()
            .as_encoded_bytes()
            .iter()
            .chain(std::fs::read(&a).unwrap().iter())
        {
            h ^= *b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    format!("{h:016x}")
}

async fn plantilla() -> String {
    PLANTILLA
        .get_or_init(|| async {
            let nombre = format!("inv_tpl_{}", huella_migraciones());
            let admin = conectar(&url_admin()).await;
            // Serialises template creation across test processes.
            admin
                .execute("SELECT pg_advisory_lock(724001)", &[])
                .await
                .unwrap();
            // Databases left by earlier runs whose process is gone.
            let viejas = admin
                .query(
                    "SELECT datname FROM pg_database WHERE datname LIKE 'inv\\_test\\_%'",
                    &[],
                )
                .await
                .unwrap();
            for f in viejas {
                let nombre: String = f.get(0);
                let pid = nombre.split('_').nth(2).unwrap_or("");
                if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                    let _ = admin
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {nombre} WITH (FORCE)"))
                        .await;
                }
            }
            let existe = admin
                .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&nombre])
                .await
                .unwrap()
                .is_some();
            if !existe {
                let tmp = format!("{nombre}_tmp");
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {tmp}"))
                    .await
                    .unwrap();
                admin
                    .batch_execute(&format!("CREATE DATABASE {tmp}"))
                    .await
                    .unwrap();
                {
                    let mut c = conectar(&url_de(&tmp)).await;
                    migrations::aplicar(&mut c, true)
                        .await
                        .expect("migraciones de la plantilla");
                }
                admin
                    .batch_execute(&format!("ALTER DATABASE {tmp} RENAME TO {nombre}"))
                    .await
                    .unwrap();
            }
            admin
                .execute("SELECT pg_advisory_unlock(724001)", &[])
                .await
                .unwrap();
            nombre
        })
        .await
        .clone()
}

pub struct App {
    pub estado: Arc<Estado>,
    pub db: String,
    /// Client address of this test's requests (API Gateway `sourceIp`).
    pub ip: String,
    pub pg: tokio_postgres::Client,
}

/// A last adjustment of a test app's configuration.
pub type Ajuste = Box<dyn FnOnce(&mut Config) + Send>;

/// Each test's database is dropped with its app (a thread of its own: `Drop` cannot await), so
/// the server does not accumulate databases across runs.
impl Drop for App {
    fn drop(&mut self) {
        let db = std::mem::take(&mut self.db);
        if db.is_empty() || std::env::var_os("TEST_KEEP_DB").is_some() {
            return;
        }
        let hilo = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let admin = conectar(&url_admin()).await;
                let _ = admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
                    .await;
            });
        });
        let _ = hilo.join();
    }
}

/// Options of a test app: rate limit and Redis.
pub struct Opciones {
    pub rate_limit_max: u32,
    pub rate_limit_window_ms: u64,
    pub redis: Option<String>,
    pub ajustar: Option<Ajuste>,
    /// The functions' pool connects through this loopback port (a [`proxy::Proxy`] in front of
    /// the server) instead of the server's own; the test's `pg` client stays direct.
    pub puerto_pg: Option<u16>,
}

impl Default for Opciones {
    fn default() -> Self {
        Self {
            rate_limit_max: 10_000,
            rate_limit_window_ms: 60_000,
            redis: Some(url_redis()),
            ajustar: None,
            puerto_pg: None,
        }
    }
}

pub async fn spawn_app() -> App {
    spawn_app_con(Opciones::default()).await
}

pub async fn spawn_app_con(op: Opciones) -> App {
    let tpl = plantilla().await;
    let db = format!(
        "inv_test_{}_{}_{}",
        std::process::id(),
        CONTADOR.fetch_add(1, Ordering::Relaxed),
        rand::random::<u32>()
    );
    let admin = conectar(&url_admin()).await;
    admin
        .batch_execute(&format!("CREATE DATABASE {db} TEMPLATE {tpl}"))
        .await
        .expect("base de prueba");
    let url = url_de(&db);
    let url_pool = match op.puerto_pg {
        Some(p) => con_puerto(&url, p),
        None => url.clone(),
    };
    let mut cfg = Config::from_lookup(|k| match k {
        "DATABASE_URL" => Some(url_pool.clone()),
        "APP_ENV" => Some("test".into()),
        "DB_POOL_MAX" => Some("4".into()),
        _ => None,
    })
    .unwrap();
    cfg.rate_limit_max = op.rate_limit_max;
    cfg.rate_limit_window_ms = op.rate_limit_window_ms;
    cfg.redis_url = op.redis.map(shared::config::Secreto::new);
    if let Some(f) = op.ajustar {
        f(&mut cfg);
    }
    let estado = Arc::new(Estado::new(cfg).unwrap());
    let pg = conectar(&url).await;
    let r: [u8; 3] = rand::random();
    App {
        estado,
        db,
        ip: format!("10.{}.{}.{}", r[0], r[1], r[2]),
        pg,
    }
}

/// Which function serves a path (the same table as template.yaml).
pub async fn despachar(estado: &Estado, req: Request) -> Response<Body> {
    let path = req.uri().path().to_string();
    if path.starts_with("/api/webhooks/") {
        webhooks::handle(estado, req).await
    } else if path.starts_with("/api/productos") || path.starts_with("/api/inventory") {
        productos::handle(estado, req).await
    } else if path.starts_with("/api/movimientos") {
        movimientos::handle(estado, req).await
    } else if path.starts_with("/api/ventas") {
        ventas::handle(estado, req).await
    } else if path.starts_with("/api/cotizaciones") {
        cotizaciones::handle(estado, req).await
    } else if path.starts_with("/api/clientes") {
        clientes::handle(estado, req).await
    // purchasing (issue 11)
    } else if path.starts_with("/api/proveedores") {
        proveedores::handle(estado, req).await
    } else if path.starts_with("/api/ordenes-compra")
        || path.starts_with("/api/pdf/")
        || path.starts_with("/api/compras/")
    {
        ordenes_compra::handle(estado, req).await
    } else {
        // categorias also answers the JSON 404 of unmatched paths (the catch-all route).
        categorias::handle(estado, req).await
    }
}

/// `(method, path pattern, events/ file)` used as the base of each request.
const EVENTOS: &[(&str, &str, &str)] = &[
    ("GET", "/api/categorias", "categorias/listar"),
    ("POST", "/api/categorias", "categorias/crear"),
    ("PUT", "/api/categorias/{id}", "categorias/actualizar"),
    ("DELETE", "/api/categorias/{id}", "categorias/eliminar"),
    (
        "POST",
        "/api/categorias/bulk-delete",
        "categorias/bulk-delete",
    ),
    ("POST", "/api/webhooks/neon", "webhooks/neon"),
    ("GET", "/api/productos", "productos/listar"),
    ("POST", "/api/productos", "productos/crear"),
    ("GET", "/api/productos/{id}", "productos/obtener"),
    ("PUT", "/api/productos/{id}", "productos/actualizar"),
    ("DELETE", "/api/productos/{id}", "productos/eliminar"),
    (
        "POST",
        "/api/productos/bulk-delete",
        "productos/bulk-delete",
    ),
    ("POST", "/api/productos/importar", "productos/importar"),
    ("GET", "/api/productos/plantilla", "productos/plantilla"),
    (
        "GET",
        "/api/productos/sugerir-codigo",
        "productos/sugerir-codigo",
    ),
    (
        "GET",
        "/api/productos/{id}/historial-precios",
        "productos/historial-precios",
    ),
    ("GET", "/api/inventory", "productos/inventory"),
    ("GET", "/api/movimientos", "movimientos/listar"),
    ("POST", "/api/movimientos", "movimientos/crear"),
    (
        "POST",
        "/api/movimientos/bulk-delete",
        "movimientos/bulk-delete",
    ),
    ("POST", "/api/ventas", "ventas/crear"),
    ("POST", "/api/ventas/{id}/cancelar", "ventas/cancelar"),
    ("GET", "/api/clientes", "clientes/listar"),
    ("POST", "/api/clientes", "clientes/crear"),
    ("GET", "/api/clientes/{id}", "clientes/obtener"),
    ("PUT", "/api/clientes/{id}", "clientes/actualizar"),
    ("GET", "/api/clientes/{id}/historial", "clientes/historial"),
    ("GET", "/api/cotizaciones", "cotizaciones/listar"),
    ("POST", "/api/cotizaciones", "cotizaciones/crear"),
    (
        "POST",
        "/api/cotizaciones/{id}/cancelar",
        "cotizaciones/cancelar",
    ),
    (
        "POST",
        "/api/cotizaciones/{id}/convertir",
        "cotizaciones/convertir",
    ),
    // purchasing (issue 11)
    ("GET", "/api/proveedores", "proveedores/listar"),
    ("POST", "/api/proveedores", "proveedores/crear"),
    ("GET", "/api/proveedores/{id}", "proveedores/obtener"),
    ("PUT", "/api/proveedores/{id}", "proveedores/actualizar"),
    ("DELETE", "/api/proveedores/{id}", "proveedores/eliminar"),
    ("GET", "/api/ordenes-compra", "ordenes-compra/listar"),
    ("POST", "/api/ordenes-compra", "ordenes-compra/crear"),
    ("GET", "/api/ordenes-compra/{id}", "ordenes-compra/obtener"),
    (
        "POST",
        "/api/ordenes-compra/{id}/recibir",
        "ordenes-compra/recibir",
    ),
    (
        "POST",
        "/api/ordenes-compra/{id}/cancelar",
        "ordenes-compra/cancelar",
    ),
    ("GET", "/api/pdf/orden-compra/{id}", "ordenes-compra/pdf"),
    (
        "GET",
        "/api/compras/sugerencias",
        "ordenes-compra/sugerencias",
    ),
    (
        "POST",
        "/api/compras/sugerencias",
        "ordenes-compra/crear-desde-sugerencias",
    ),
];

fn evento_base(metodo: &Method, path: &str) -> &'static str {
    let limpio = shared::rutas::normalizar(path.split('?').next().unwrap_or(""));
    let coincide = |patron: &str| {
        let (a, b): (Vec<_>, Vec<_>) = (patron.split('/').collect(), limpio.split('/').collect());
        a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| x.starts_with('{') || x == y)
    };
    EVENTOS
        .iter()
        .find(|(m, p, _)| *m == metodo.as_str() && coincide(p))
        .or_else(|| EVENTOS.iter().find(|(_, p, _)| coincide(p)))
        .map_or("categorias/listar", |(_, _, e)| e)
}

pub fn leer_evento(nombre: &str) -> Value {
    let ruta = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../events/{nombre}.json"));
    let texto =
        std::fs::read_to_string(&ruta).unwrap_or_else(|e| panic!("{}: {e}", ruta.display()));
    serde_json::from_str(&texto).unwrap_or_else(|e| panic!("{}: {e}", ruta.display()))
}

/// A request under construction.
pub struct Pet<'a> {
    app: &'a App,
    metodo: Method,
    path: String,
    cookie: Option<String>,
    cuerpo: Option<String>,
    /// The body is base64 text (`isBase64Encoded: true`).
    base64: bool,
    cabeceras: Vec<(String, String)>,
    ip: Option<String>,
}

impl<'a> Pet<'a> {
    pub fn cookie(mut self, c: &str) -> Self {
        self.cookie = Some(c.to_string());
        self
    }
    pub fn json(mut self, v: Value) -> Self {
        self.cuerpo = Some(v.to_string());
        self.cabeceras
            .push(("content-type".into(), "application/json".into()));
        self
    }
    /// A raw body, no content type added.
    pub fn cuerpo(mut self, texto: &str) -> Self {
        self.cuerpo = Some(texto.to_string());
        self
    }
    /// A binary body (XLSX, multipart): base64-encoded with `isBase64Encoded: true`, as API
    /// Gateway delivers binary media types; no content type added.
    pub fn cuerpo_binario(mut self, bytes: &[u8]) -> Self {
        use base64::Engine;
        self.cuerpo = Some(base64::engine::general_purpose::STANDARD.encode(bytes));
        self.base64 = true;
        self
    }
    pub fn cabecera(mut self, k: &str, v: &str) -> Self {
        self.cabeceras.retain(|(x, _)| !x.eq_ignore_ascii_case(k));
        self.cabeceras.push((k.to_ascii_lowercase(), v.to_string()));
        self
    }
    pub fn ip(mut self, ip: &str) -> Self {
        self.ip = Some(ip.to_string());
        self
    }

    /// The API Gateway v2 event this request becomes.
    pub fn evento(&self) -> Value {
        let mut ev = leer_evento(evento_base(&self.metodo, &self.path));
        let (path, query) = match self.path.split_once('?') {
            Some((p, q)) => (p.to_string(), q.to_string()),
            None => (self.path.clone(), String::new()),
        };
        ev["rawPath"] = json!(path);
        ev["rawQueryString"] = json!(query);
        let mut qs = serde_json::Map::new();
        for par in query.split('&').filter(|s| !s.is_empty()) {
            let (k, v) = par.split_once('=').unwrap_or((par, ""));
            qs.insert(k.to_string(), json!(v));
        }
        ev["queryStringParameters"] = Value::Object(qs);
        ev["routeKey"] = json!("$default");
        ev["requestContext"]["http"]["method"] = json!(self.metodo.as_str());
        ev["requestContext"]["http"]["path"] = json!(path);
        ev["requestContext"]["http"]["sourceIp"] =
            json!(self.ip.clone().unwrap_or_else(|| self.app.ip.clone()));
        ev["requestContext"]["requestId"] = json!(format!("test-{}", rand::random::<u32>()));
        ev["cookies"] = match &self.cookie {
            Some(c) => json!(c.split(';').map(str::trim).collect::<Vec<_>>()),
            None => json!([]),
        };
        let mut h = serde_json::Map::new();
        h.insert("host".into(), json!("api.inventario.test"));
        for (k, v) in &self.cabeceras {
            h.insert(k.clone(), json!(v));
        }
        ev["headers"] = Value::Object(h);
        match &self.cuerpo {
            Some(b) => ev["body"] = json!(b),
            None => {
                if let Some(o) = ev.as_object_mut() {
                    o.remove("body");
                }
            }
        }
        ev["isBase64Encoded"] = json!(self.base64);
        if let Some(o) = ev.as_object_mut() {
            o.remove("pathParameters");
        }
        ev
    }

    pub async fn send(self) -> Res {
        let req =
            lambda_http::request::from_str(&self.evento().to_string()).expect("evento v2 válido");
        Res::de(despachar(&self.app.estado, req).await)
    }
}

#[derive(Debug)]
pub struct Res {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Value,
    pub texto: String,
    /// The body byte for byte (PDF, CSV): `texto` is a lossy UTF-8 view.
    pub bytes: Vec<u8>,
}

impl Res {
    pub fn de(r: Response<Body>) -> Self {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let bytes = r.body().as_ref().to_vec();
        let texto = String::from_utf8_lossy(&bytes).to_string();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Self {
            status,
            headers,
            body,
            texto,
            bytes,
        }
    }
    pub fn error(&self) -> Option<&str> {
        self.body.get("error").and_then(Value::as_str)
    }
    /// `(status, error message)`, the pair most assertions check.
    pub fn err(&self) -> (u16, &str) {
        (self.status, self.error().unwrap_or("<sin error>"))
    }
    /// The seconds of a 429 (`Demasiados intentos de inicio de sesión. Espera N segundos.`),
    /// checking that `Retry-After` says the same; panics on any other response.
    pub fn segundos_de_espera(&self) -> u64 {
        assert_eq!(self.status, 429, "{}", self.texto);
        let msg = self.error().expect("429 body");
        let n: u64 = msg
            .strip_prefix("Demasiados intentos de inicio de sesión. Espera ")
            .and_then(|s| s.strip_suffix(" segundos."))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("mensaje inesperado: {msg}"));
        assert_eq!(self.header("retry-after"), Some(n.to_string().as_str()));
        n
    }

    pub fn header(&self, k: &str) -> Option<&str> {
        self.headers.get(k).and_then(|v| v.to_str().ok())
    }
}

#[derive(Clone, Debug)]
pub struct UsuarioT {
    pub id: String,
    pub email: String,
    pub neon_id: String,
    pub empresa_id: String,
}

impl App {
    pub fn pet(&self, metodo: Method, path: &str) -> Pet<'_> {
        Pet {
            app: self,
            metodo,
            path: path.to_string(),
            cookie: None,
            cuerpo: None,
            base64: false,
            cabeceras: Vec::new(),
            ip: None,
        }
    }
    pub fn get(&self, path: &str) -> Pet<'_> {
        self.pet(Method::GET, path)
    }
    pub fn post(&self, path: &str) -> Pet<'_> {
        self.pet(Method::POST, path)
    }
    pub fn put(&self, path: &str) -> Pet<'_> {
        self.pet(Method::PUT, path)
    }
    pub fn delete(&self, path: &str) -> Pet<'_> {
        self.pet(Method::DELETE, path)
    }

    pub async fn empresa(&self) -> String {
        let id = shared::ids::cuid();
        self.pg
            .execute(
                r#"INSERT INTO "Empresa" ("id", "nombre") VALUES ($1, $2)"#,
                &[&id, &format!("Empresa {id}")],
            )
            .await
            .unwrap();
        id
    }

    /// A Neon user (verified e-mail) and its `Usuario` row.
    pub async fn usuario(
        &self,
        empresa: &str,
        rol: &str,
        estado: &str,
        permisos: &[&str],
    ) -> UsuarioT {
        let sufijo: u32 = rand::random();
        let email = format!("u{sufijo}@ejemplo.test");
        let neon_id = self.neon_user(&email, true).await;
        let id = shared::ids::cuid();
        let permisos: Vec<String> = permisos.iter().map(|s| s.to_string()).collect();
        self.pg
            .execute(
                r#"INSERT INTO "Usuario" ("id", "neonAuthId", "email", "nombre", "estado", "rol", "permisos", "empresaId")
                   VALUES ($1, $2, $3, $4, $5::text::"EstadoUsuario", $6::text::"Rol", $7::text[]::"Permiso"[], $8)"#,
                &[&id, &neon_id, &email, &format!("Usuario {sufijo}"), &estado, &rol, &permisos, &empresa],
            )
            .await
            .unwrap();
        UsuarioT {
            id,
            email,
            neon_id,
            empresa_id: empresa.to_string(),
        }
    }

    /// A `neon_auth."user"` row; returns its id.
    pub async fn neon_user(&self, email: &str, verificado: bool) -> String {
        let fila = self
            .pg
            .query_one(
                r#"INSERT INTO neon_auth."user" ("name", "email", "emailVerified") VALUES ($1, $2, $3) RETURNING "id"::text"#,
                &[&format!("Neon {email}"), &email, &verificado],
            )
            .await
            .unwrap();
        fila.get(0)
    }

    /// A live session of a Neon user; returns the `Cookie` header value.
    pub async fn sesion_neon(&self, neon_id: &str) -> String {
        let token: String = (0..32)
            .map(|_| {
                let c = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                    [rand::random::<u8>() as usize % 62];
                c as char
            })
            .collect();
        self.pg
            .execute(
                r#"INSERT INTO neon_auth.session ("token", "userId", "expiresAt") VALUES ($1, $2::text::uuid, now() + interval '7 days')"#,
                &[&token, &neon_id],
            )
            .await
            .unwrap();
        format!("__Secure-neon-auth.session_token={token}.firma-de-prueba")
    }

    pub async fn sesion(&self, u: &UsuarioT) -> String {
        self.sesion_neon(&u.neon_id).await
    }

    /// An active ADMIN of `empresa` and its cookie.
    pub async fn admin(&self, empresa: &str) -> (UsuarioT, String) {
        let u = self.usuario(empresa, "ADMIN", "ACTIVO", &[]).await;
        let c = self.sesion(&u).await;
        (u, c)
    }

    pub async fn categoria(&self, empresa: &str, nombre: &str, prefijo: &str) -> i32 {
        self.pg
            .query_one(
                r#"INSERT INTO "Categoria" ("nombre", "prefijo", "empresaId") VALUES ($1, $2, $3) RETURNING "id""#,
                &[&nombre, &prefijo, &empresa],
            )
            .await
            .unwrap()
            .get(0)
    }

    pub async fn producto(
        &self,
        empresa: &str,
        categoria: i32,
        codigo: &str,
        cantidad: i32,
    ) -> i32 {
        self.pg
            .query_one(
                r#"INSERT INTO "Producto" ("nombre", "codigo", "precio", "cantidad", "categoriaId", "empresaId")
                   VALUES ($1, $1, 1000, $2, $3, $4) RETURNING "id""#,
                &[&codigo, &cantidad, &categoria, &empresa],
            )
            .await
            .unwrap()
            .get(0)
    }

    /// A product's stock as stored (assertions on the database afterwards).
    pub async fn stock(&self, producto: i32) -> i32 {
        self.pg
            .query_one(
                r#"SELECT "cantidad" FROM "Producto" WHERE "id" = $1"#,
                &[&producto],
            )
            .await
            .unwrap()
            .get(0)
    }

    /// Number of rows of a query (assertions on the database afterwards).
    pub async fn contar(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> i64 {
        self.pg.query_one(sql, params).await.unwrap().get(0)
    }
}

/// A loopback TCP proxy in front of a real server (Postgres, Redis), to test what the functions
/// do when the network misbehaves: [`Modo::Pasar`] forwards both ways; [`Modo::Cortar`] resets
/// every open connection and each new one while it lasts; [`Modo::Silencio`] keeps connections
/// open and reads what the client sends but forwards nothing, either way (a frozen server, or a
/// partition whose kernel still acknowledges); [`Modo::SilencioTras`] forwards the next `n`
/// client writes of each connection and then falls silent, [`Modo::CortarTras`] resets it
/// instead (a cut in the middle of a transaction).
pub mod proxy {
    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::watch;

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Modo {
        Pasar,
        Cortar,
        Silencio,
        SilencioTras(u32),
        CortarTras(u32),
    }

    pub struct Proxy {
        pub puerto: u16,
        modo: watch::Sender<(Modo, u64)>,
        tarea: tokio::task::JoinHandle<()>,
        conexiones: Arc<Mutex<u64>>,
    }

    impl Drop for Proxy {
        fn drop(&mut self) {
            self.tarea.abort();
            let _ = self.modo.send((Modo::Cortar, u64::MAX));
        }
    }

    impl Proxy {
        /// A proxy to `destino` (`host:port`) on a free loopback port, in [`Modo::Pasar`].
        pub async fn nuevo(destino: &str) -> Proxy {
            let destino: SocketAddr = tokio::net::lookup_host(destino)
                .await
                .expect("destino del proxy")
                .next()
                .expect("destino del proxy");
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let puerto = l.local_addr().unwrap().port();
            let (tx, rx) = watch::channel((Modo::Pasar, 0u64));
            let conexiones = Arc::new(Mutex::new(0));
            let cuenta = conexiones.clone();
            let tarea = tokio::spawn(async move {
                loop {
                    let Ok((cliente, _)) = l.accept().await else {
                        return;
                    };
                    *cuenta.lock().unwrap() += 1;
                    tokio::spawn(atender(cliente, destino, rx.clone()));
                }
            });
            Proxy {
                puerto,
                modo: tx,
                tarea,
                conexiones,
            }
        }

        /// Changes the mode of every connection, open or new.
        pub fn modo(&self, m: Modo) {
            self.modo.send_modify(|(modo, generacion)| {
                *modo = m;
                *generacion += 1;
            });
        }

        /// Connections accepted so far.
        pub fn conexiones(&self) -> u64 {
            *self.conexiones.lock().unwrap()
        }
    }

    fn resetear(s: &TcpStream) {
        #[allow(deprecated)]
        let _ = s.set_linger(Some(std::time::Duration::ZERO));
    }

    async fn atender(
        cliente: TcpStream,
        destino: SocketAddr,
        mut rx: watch::Receiver<(Modo, u64)>,
    ) {
        let (mut modo, mut generacion) = *rx.borrow_and_update();
        if modo == Modo::Cortar {
            resetear(&cliente);
            return;
        }
        let Ok(servidor) = TcpStream::connect(destino).await else {
            resetear(&cliente);
            return;
        };
        let (mut cr, mut cw) = cliente.into_split();
        let (mut sr, mut sw) = servidor.into_split();
        let mut bc = vec![0u8; 64 * 1024];
        let mut bs = vec![0u8; 64 * 1024];
        // Client writes still forwarded under `SilencioTras`, counted from its last change.
        let mut restantes = match modo {
            Modo::SilencioTras(n) | Modo::CortarTras(n) => n,
            _ => u32::MAX,
        };
        let mut mudo = modo == Modo::Silencio;
        loop {
            tokio::select! {
                cambio = rx.changed() => {
                    if cambio.is_err() { break; }
                    let (m, g) = *rx.borrow_and_update();
                    if g == generacion { continue; }
                    (modo, generacion) = (m, g);
                    match modo {
                        Modo::Cortar => break,
                        Modo::Silencio => mudo = true,
                        Modo::Pasar => { mudo = false; restantes = u32::MAX; }
                        Modo::SilencioTras(n) | Modo::CortarTras(n) => { mudo = false; restantes = n; }
                    }
                }
                n = cr.read(&mut bc) => {
                    let Ok(n) = n else { break };
                    if n == 0 { break; }
                    if mudo { continue; }
                    if restantes == 0 {
                        if matches!(modo, Modo::CortarTras(_)) { break; }
                        mudo = true;
                        continue;
                    }
                    restantes = restantes.saturating_sub(1);
                    if sw.write_all(&bc[..n]).await.is_err() { break; }
                }
                n = sr.read(&mut bs), if !mudo => {
                    let Ok(n) = n else { break };
                    if n == 0 { break; }
                    if cw.write_all(&bs[..n]).await.is_err() { break; }
                }
            }
        }
        // Reset both sides: the client sees a dead connection, not a clean end.
        if let (Ok(c), Ok(s)) = (cr.reunite(cw), sr.reunite(sw)) {
            resetear(&c);
            resetear(&s);
        }
    }
}
