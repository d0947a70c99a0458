//! The request pipeline shared by every function (platform.md §1.1):
//! route (404/405) → rate limit (G0) → handler (guards, path, body, domain) → JSON response with
//! the security headers of §1.3, and one log line per request.
//!
//! ```ignore
//! pub async fn handle(estado: &Estado, req: Request) -> Response<Body> {
//!     let p = match Peticion::abrir(estado, req, RUTAS).await { Ok(p) => p, Err(r) => return r };
//!     let res = match p.ruta { Ruta::Listar => listar(&p).await, /* … */ };
//!     p.cerrar(res)
//! }
//! ```

use std::sync::OnceLock;
use std::time::Instant;

use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde_json::Value;

use crate::plataforma::Estado;
use crate::plataforma::error::{ERROR_INTERNO, Error, ID_INVALIDO};
use crate::plataforma::rutas::{self, Ruta};

/// A response before the security headers are added.
#[derive(Debug)]
pub struct Respuesta {
    pub status: StatusCode,
    pub cuerpo: Body,
    pub tipo: &'static str,
    pub cabeceras: Vec<(HeaderName, HeaderValue)>,
}

impl Respuesta {
    pub fn json<T: Serialize + ?Sized>(status: StatusCode, v: &T) -> Result<Self, Error> {
        let bytes = serde_json::to_vec(v).map_err(|e| Error::Interno(e.into()))?;
        Ok(Self {
            status,
            cuerpo: Body::Text(String::from_utf8(bytes).expect("serde_json writes UTF-8")),
            tipo: "application/json",
            cabeceras: Vec::new(),
        })
    }
    pub fn ok<T: Serialize + ?Sized>(v: &T) -> Result<Self, Error> {
        Self::json(StatusCode::OK, v)
    }
    pub fn created<T: Serialize + ?Sized>(v: &T) -> Result<Self, Error> {
        Self::json(StatusCode::CREATED, v)
    }
    /// Raw bytes; through API Gateway they travel base64-encoded (platform.md §1.5).
    pub fn binario(tipo: &'static str, bytes: Vec<u8>) -> Self {
        Self {
            status: StatusCode::OK,
            cuerpo: Body::Binary(bytes),
            tipo,
            cabeceras: Vec::new(),
        }
    }
    /// Text that is not JSON (CSV, plain text). Sent as bytes like [`Respuesta::binario`]: a
    /// `Body::Text` travels as a JSON string that the local runner (and any hop that "cleans"
    /// text) may alter — the CSV template's leading U+FEFF was lost that way — while
    /// `isBase64Encoded: true` bodies arrive byte for byte (HTTP APIs need no binary media types).
    pub fn texto(tipo: &'static str, texto: String) -> Self {
        Self::binario(tipo, texto.into_bytes())
    }
    pub fn con_cabecera(mut self, k: HeaderName, v: &str) -> Self {
        if let Ok(v) = HeaderValue::from_str(v) {
            self.cabeceras.push((k, v));
        }
        self
    }
}

/// Paths whose POSTs are rate limited (platform.md §7.1), after trailing-slash normalisation.
const LIMITADAS: &[&str] = &[
    "/api/invitaciones/aceptar",
    "/api/admin/restablecer",
    "/api/empresas",
    "/api/usuarios",
    "/api/invitaciones",
    "/api/categorias",
    "/api/productos",
    "/api/movimientos",
    "/api/ventas",
    "/api/cotizaciones",
    "/api/proveedores",
    "/api/ordenes-compra",
];

pub fn limitada(metodo: &Method, path: &str) -> bool {
    *metodo == Method::POST && (path.contains("/api/auth/") || LIMITADAS.contains(&path))
}

/// One request in flight: its route, client address and what the final log line needs.
pub struct Peticion<'a, R: 'static> {
    pub estado: &'a Estado,
    pub req: Request,
    pub ruta: R,
    patron: &'static str,
    error_generico: &'static str,
    param: Option<String>,
    pub ip: Option<String>,
    inicio: Instant,
    empresa_log: OnceLock<String>,
}

impl<'a, R: Copy + 'static> Peticion<'a, R> {
    /// Route match (R) and rate limit (G0). On failure the finished response comes back as `Err`.
    pub async fn abrir(
        estado: &'a Estado,
        req: Request,
        tabla: &'static [Ruta<R>],
    ) -> Result<Self, Response<Body>> {
        let inicio = Instant::now();
        let metodo = req.method().clone();
        let path = rutas::normalizar(req.uri().path()).to_string();
        let ip = ip_cliente(&req);
        let (ruta, param) = match rutas::resolver(tabla, &metodo, &path) {
            Ok((r, p)) => (r, p.map(str::to_string)),
            Err(e) => {
                let res = construir(estado, Err(e), ERROR_INTERNO);
                registrar(&req, "-", res.status(), inicio, None);
                return Err(res);
            }
        };
        let p = Self {
            estado,
            ruta: ruta.id,
            patron: ruta.patron,
            error_generico: ruta.error_generico,
            param,
            ip,
            inicio,
            empresa_log: OnceLock::new(),
            req,
        };
        if limitada(&metodo, &path) {
            let clave = p.ip.clone().unwrap_or_else(|| "unknown".into());
            if let Err(e) = estado.limitador.comprobar(&clave).await {
                return Err(p.cerrar(Err(e)));
            }
        }
        Ok(p)
    }

    /// Builds the final response and writes the request's log line.
    pub fn cerrar(self, res: Result<Respuesta, Error>) -> Response<Body> {
        if let Err(e) = &res
            && e.es_inesperado()
        {
            tracing::error!(
                route = self.patron,
                error.message = %e,
                error.cause_chain = ?e,
                "error inesperado"
            );
        }
        let out = construir(self.estado, res, self.error_generico);
        registrar(
            &self.req,
            self.patron,
            out.status(),
            self.inicio,
            self.empresa_log.get(),
        );
        out
    }

    /// Remembers the tenant for the request's log line.
    pub fn anotar_empresa(&self, empresa_id: &str) {
        let _ = self.empresa_log.set(empresa_id.to_string());
    }

    /// The `{id}` segment as an integer id (sales.md §1.5): `^[0-9]+$`, 1…2147483647.
    pub fn id(&self) -> Result<i32, Error> {
        parse_id(self.param.as_deref().unwrap_or(""))
    }

    /// The `{id}` segment as an opaque string id (CUID tables).
    pub fn id_texto(&self) -> Result<&str, Error> {
        self.param
            .as_deref()
            .ok_or_else(|| Error::bad_request(ID_INVALIDO))
    }

    pub fn query(&self, k: &str) -> Option<&str> {
        self.req
            .query_string_parameters_ref()
            .and_then(|q| q.first(k))
    }

    pub fn cabeceras(&self) -> &HeaderMap {
        self.req.headers()
    }

    pub fn cuerpo_bytes(&self) -> &[u8] {
        self.req.body().as_ref()
    }

    /// Body of an endpoint that requires one (platform.md §6.3): empty, malformed, `null` or a
    /// non-JSON content type → 400 with the endpoint's generic message. Other non-objects are
    /// returned as they are; [`campos`] reads them as "no fields".
    pub fn json(&self) -> Result<Value, Error> {
        let bytes = self.cuerpo_bytes();
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(Error::CuerpoInvalido);
        }
        self.exigir_tipo_json()?;
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Null) | Err(_) => Err(Error::CuerpoInvalido),
            Ok(v) => Ok(v),
        }
    }

    /// [`Self::json`] for endpoints whose body must be an object (sales.md §1.4 Required): a
    /// top-level array, number or string is a 400 with the generic message too.
    pub fn json_objeto(&self) -> Result<Value, Error> {
        match self.json()? {
            v @ Value::Object(_) => Ok(v),
            _ => Err(Error::CuerpoInvalido),
        }
    }

    /// Body of a lenient endpoint: missing, malformed or non-object → `{}`. A non-empty body
    /// with a non-JSON content type is still a 400 (platform.md §6.3).
    pub fn json_tolerante(&self) -> Result<Value, Error> {
        let bytes = self.cuerpo_bytes();
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Object(Default::default()));
        }
        self.exigir_tipo_json()?;
        Ok(match serde_json::from_slice::<Value>(bytes) {
            Ok(v @ Value::Object(_)) => v,
            _ => Value::Object(Default::default()),
        })
    }

    fn exigir_tipo_json(&self) -> Result<(), Error> {
        let ok = self
            .req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                let mime = v
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                mime == "application/json"
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            })
            .unwrap_or(false);
        if ok {
            Ok(())
        } else {
            Err(Error::CuerpoInvalido)
        }
    }
}

/// A field of a JSON body; a non-object body has no fields (catalog.md §1.4).
pub fn campo<'v>(cuerpo: &'v Value, k: &str) -> Option<&'v Value> {
    cuerpo.as_object().and_then(|o| o.get(k))
}

/// An optional text value (clientes §4.9, proveedores §4.2): a string trimmed as JavaScript's
/// `trim` does, blank or non-string → `None`.
pub fn texto_opcional(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .map(crate::plataforma::js::recortar)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A string field trimmed; non-strings read as `""` (catalog.md §4.2).
pub fn texto_recortado(cuerpo: &Value, k: &str) -> String {
    campo(cuerpo, k)
        .and_then(Value::as_str)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

pub fn parse_id(s: &str) -> Result<i32, Error> {
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::bad_request(ID_INVALIDO));
    }
    match s.parse::<i64>() {
        Ok(n) if (1..=i32::MAX as i64).contains(&n) => Ok(n as i32),
        _ => Err(Error::bad_request(ID_INVALIDO)),
    }
}

/// Client address (platform.md §7.2): the gateway's source IP; the header chain only when the
/// request did not come through API Gateway (local development).
pub fn ip_cliente(req: &Request) -> Option<String> {
    if let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref()
        && let Some(ip) = ctx.http.source_ip.as_deref().filter(|s| !s.is_empty())
    {
        return Some(ip.to_string());
    }
    let h = req.headers();
    if let Some(xff) = h.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        let first = xff.split(',').next().unwrap_or("").trim();
        if !first.is_empty() {
            return Some(first.to_string());
        }
    }
    h.get("x-real-ip")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn construir(estado: &Estado, res: Result<Respuesta, Error>, generico: &str) -> Response<Body> {
    let r = match res {
        Ok(r) => r,
        Err(e) => {
            let mut r = Respuesta::json(e.status(), &e.cuerpo(generico))
                .expect("an error body always serializes");
            match &e {
                Error::MethodNotAllowed { allow } => {
                    r = r.con_cabecera(header::ALLOW, allow);
                }
                Error::TooManyRequests { retry_after } => {
                    r = r.con_cabecera(header::RETRY_AFTER, &retry_after.to_string());
                }
                _ => {}
            }
            r
        }
    };
    let mut out = Response::new(r.cuerpo);
    *out.status_mut() = r.status;
    let h = out.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(r.tipo));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    h.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), interest-cohort=()"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'self'"),
    );
    if estado.config.produccion {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    for (k, v) in r.cabeceras {
        h.append(k, v);
    }
    out
}

fn request_id(req: &Request) -> String {
    if let Some(c) = req.lambda_context_ref() {
        return c.request_id.clone();
    }
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone().unwrap_or_default(),
        _ => String::new(),
    }
}

fn registrar(
    req: &Request,
    route: &str,
    status: StatusCode,
    inicio: Instant,
    empresa: Option<&String>,
) {
    tracing::info!(
        method = %req.method(),
        route,
        status = status.as_u16(),
        latency_ms = inicio.elapsed().as_secs_f64() * 1000.0,
        request_id = %request_id(req),
        empresa_id = empresa.map(String::as_str).unwrap_or(""),
        "request"
    );
}

/// A function's whole `handle`: [`Peticion::abrir`] (route, rate limit; their answers go out as
/// they are), then the dispatch expression with `p: &Peticion` bound, then
/// [`Peticion::cerrar`]:
/// `shared::servir!(estado, req, RUTAS, |p| match p.ruta { R::Listar => listar(p).await })`.
#[macro_export]
macro_rules! servir {
    ($estado:expr, $req:expr, $rutas:expr, |$p:ident| $despacho:expr) => {
        match $crate::plataforma::http::Peticion::abrir($estado, $req, $rutas).await {
            Ok($p) => {
                let res = {
                    let $p = &$p;
                    $despacho
                };
                $p.cerrar(res)
            }
            Err(res) => res,
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_de_ruta() {
        assert_eq!(parse_id("7").unwrap(), 7);
        assert_eq!(parse_id("2147483647").unwrap(), i32::MAX);
        for malo in [
            "0",
            "-1",
            "2147483648",
            "12abc",
            "3.9",
            " 7",
            "",
            "0x10",
            "99999999999",
        ] {
            assert!(
                matches!(parse_id(malo), Err(Error::BadRequest(m)) if m == ID_INVALIDO),
                "{malo}"
            );
        }
    }

    #[test]
    fn rutas_limitadas_de_platform_7_1() {
        assert!(limitada(&Method::POST, "/api/categorias"));
        assert!(limitada(&Method::POST, "/api/auth/sign-in/email"));
        assert!(!limitada(&Method::POST, "/api/categorias/bulk-delete"));
        assert!(!limitada(&Method::PUT, "/api/categorias"));
        assert!(!limitada(&Method::POST, "/api/clientes"));
        assert!(!limitada(&Method::POST, "/api/webhooks/neon"));
    }
}
