//! Session resolution (neon-auth.md §3 a, platform.md §2) and the guard chain G1–G4 (§1.1).
//!
//! One query joins `neon_auth.session`, `neon_auth."user"` and `"Usuario"`; the `get-session`
//! call of neon-auth.md §3 b is a fallback only for structural errors (schema changed, no
//! privilege). A database outage is a 503, never "unauthenticated". Guards narrow the type:
//! `Sesion → Activo → Ctx`, and the tenant (`EmpresaId`) exists only inside `Ctx`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio_postgres::error::SqlState;

use crate::plataforma::Estado;
use crate::plataforma::db::Type;
use crate::plataforma::error::{Error, NO_AUTORIZADO, SIN_EMPRESA, USUARIO_INACTIVO};
use crate::plataforma::http::Peticion;
use crate::plataforma::identidad::{self, IdentidadNeon};

pub const COOKIE_SESION: &str = "__Secure-neon-auth.session_token";
/// Older spelling from two Neon documentation pages: accepted when reading, never emitted.
pub const COOKIE_SESION_ANTIGUA: &str = "__Secure-neonauth.session_token";
const TOKEN_MAX: usize = 255;

pub use super::usuario::{EstadoUsuario, Permiso, Rol, Usuario};

/// The tenant of the request; only the guard chain creates one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmpresaId(String);

impl EmpresaId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// G1 passed: a resolved session user.
#[derive(Debug)]
pub struct Sesion {
    pub usuario: Usuario,
    pub ip: Option<String>,
}

/// G2 passed: the user is `ACTIVO`.
#[derive(Debug)]
pub struct Activo(Sesion);

/// G3 passed: the request's context (tenant, user, client address).
#[derive(Clone, Debug)]
pub struct Ctx {
    pub empresa: EmpresaId,
    pub usuario: Usuario,
    pub ip: Option<String>,
}

impl Sesion {
    pub fn es_activo(&self) -> bool {
        self.usuario.estado == EstadoUsuario::Activo
    }
    /// G2: 403 `Usuario inactivo o suspendido`.
    pub fn activo(self) -> Result<Activo, Error> {
        if self.es_activo() {
            Ok(Activo(self))
        } else {
            Err(Error::forbidden(USUARIO_INACTIVO))
        }
    }
}

impl Activo {
    /// G3: 403 `Usuario sin empresa asignada`.
    pub fn con_empresa(self) -> Result<Ctx, Error> {
        let Sesion { usuario, ip } = self.0;
        match usuario.empresa_id.clone().filter(|e| !e.is_empty()) {
            Some(e) => Ok(Ctx {
                empresa: EmpresaId(e),
                usuario,
                ip,
            }),
            None => Err(Error::forbidden(SIN_EMPRESA)),
        }
    }
}

impl Ctx {
    pub fn es_admin(&self) -> bool {
        self.usuario.rol.es_admin()
    }
    /// G4 for admin endpoints: ADMIN or SUPER_ADMIN (platform.md §3.3), else 403 `msg`.
    pub fn admin(self, msg: &'static str) -> Result<Self, Error> {
        if self.es_admin() {
            Ok(self)
        } else {
            Err(Error::forbidden(msg))
        }
    }
    /// G4 for permission endpoints: admins bypass every permission (platform.md §3.3).
    pub fn permiso(self, p: Permiso, msg: &'static str) -> Result<Self, Error> {
        if self.es_admin() || self.usuario.permisos.contains(&p) {
            Ok(self)
        } else {
            Err(Error::forbidden(msg))
        }
    }
    pub fn usuario_id(&self) -> &str {
        &self.usuario.id
    }
}

impl<R: Copy + 'static> Peticion<'_, R> {
    /// G1: the session user, or 401 with the endpoint family's message.
    pub async fn sesion(&self, msg_401: &'static str) -> Result<Sesion, Error> {
        match resolver(self.estado, self.cabeceras()).await? {
            Some(usuario) => {
                if let Some(e) = &usuario.empresa_id {
                    self.anotar_empresa(e);
                }
                Ok(Sesion {
                    usuario,
                    ip: self.ip.clone(),
                })
            }
            None => Err(Error::unauthorized(msg_401)),
        }
    }

    /// G1–G3 with the usual messages: the context of an active user with a tenant.
    pub async fn ctx(&self, msg_401: &'static str) -> Result<Ctx, Error> {
        self.sesion(msg_401).await?.activo()?.con_empresa()
    }

    /// G1–G4 of admin endpoints (family A of catalog.md §1.2).
    pub async fn ctx_admin(&self) -> Result<Ctx, Error> {
        self.ctx(NO_AUTORIZADO).await?.admin(NO_AUTORIZADO)
    }
}

/// The session token of neon-auth.md §2.1: percent-decoded, split at the last `.`, left part.
pub fn extraer_token(cabeceras: &http::HeaderMap) -> Option<String> {
    let mut nuevo = None;
    let mut antiguo = None;
    for valor in cabeceras.get_all(http::header::COOKIE) {
        let Ok(valor) = valor.to_str() else { continue };
        for par in valor.split(';') {
            let Some((k, v)) = par.trim().split_once('=') else {
                continue;
            };
            match k.trim() {
                COOKIE_SESION if nuevo.is_none() => nuevo = Some(v.trim().to_string()),
                COOKIE_SESION_ANTIGUA if antiguo.is_none() => antiguo = Some(v.trim().to_string()),
                _ => {}
            }
        }
    }
    let crudo = nuevo.or(antiguo)?;
    let decodificado = percent_encoding::percent_decode_str(&crudo)
        .decode_utf8()
        .ok()?;
    let token = match decodificado.rfind('.') {
        Some(i) => &decodificado[..i],
        None => &decodificado[..],
    };
    (!token.is_empty() && token.chars().count() <= TOKEN_MAX).then(|| token.to_string())
}

const SQL_SESION: &str = r#"
SELECT u."id"::text, u."email", u."name", u."emailVerified",
       a."id", a."email", a."nombre", a."rol"::text, a."estado"::text, a."permisos"::text[], a."empresaId"
FROM neon_auth.session s
JOIN neon_auth."user" u ON u."id" = s."userId"
LEFT JOIN "Usuario" a ON a."neonAuthId" = u."id"::text
WHERE s."token" = $1
  AND s."expiresAt" > now()
  AND (u."banned" IS NOT TRUE OR (u."banExpires" IS NOT NULL AND u."banExpires" <= now()))"#;

static AVISO_ESTRUCTURAL: AtomicBool = AtomicBool::new(false);

fn no_disponible(e: impl Into<anyhow::Error>) -> Error {
    Error::Unavailable(e.into())
}

/// Resolves the session user once per request (platform.md §2.2 step 7).
pub async fn resolver(
    estado: &Estado,
    cabeceras: &http::HeaderMap,
) -> Result<Option<Usuario>, Error> {
    let Some(token) = extraer_token(cabeceras) else {
        return Ok(None);
    };
    let mut client = estado.pool.get().await.map_err(no_disponible)?;
    let filas = client
        .query_typed(SQL_SESION, &[(&token, Type::TEXT)])
        .await;
    let (identidad, usuario) = match filas {
        Ok(filas) => {
            let Some(f) = filas.first() else {
                return Ok(None);
            };
            let name: String = f.try_get(2).map_err(no_disponible)?;
            let email: String = f.try_get(1).map_err(no_disponible)?;
            let identidad = IdentidadNeon {
                neon_user_id: f.try_get(0).map_err(no_disponible)?,
                email: Some(email).filter(|e| !e.trim().is_empty()),
                nombre: Some(name).filter(|n| !n.trim().is_empty()),
                email_verificado: f.try_get(3).map_err(no_disponible)?,
            };
            let id: Option<String> = f.try_get(4).map_err(no_disponible)?;
            let usuario = match id {
                Some(_) => Some(Usuario::from_row(f, 4).map_err(no_disponible)?),
                None => None,
            };
            (identidad, usuario)
        }
        Err(e) if es_estructural(&e) => {
            if !AVISO_ESTRUCTURAL.swap(true, Ordering::Relaxed) {
                tracing::error!(error.message = %e, "neon_auth no legible; se usa get-session");
            }
            let Some(identidad) = get_session(estado, cabeceras).await? else {
                return Ok(None);
            };
            let usuario = identidad::por_neon_id(&client, &identidad.neon_user_id)
                .await
                .map_err(no_disponible)?;
            (identidad, usuario)
        }
        Err(e) => return Err(no_disponible(e)),
    };
    let usuario = match usuario {
        Some(u) => Some(u),
        None => identidad::vincular_o_provisionar(&mut client, &estado.config, &identidad)
            .await
            .map_err(|e| match e {
                Error::Interno(c) => no_disponible(c),
                other => other,
            })?
            .usuario(),
    };
    match usuario {
        Some(u) => Ok(Some(
            identidad::promover_si_admin(&client, &estado.config, &identidad, u)
                .await
                .map_err(no_disponible)?,
        )),
        None => Ok(None),
    }
}

fn es_estructural(e: &tokio_postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::UNDEFINED_TABLE || *c == SqlState::UNDEFINED_COLUMN
            || *c == SqlState::INSUFFICIENT_PRIVILEGE
    )
}

/// neon-auth.md §3 b: ask Neon Auth with the cookie exactly as received (3 s timeout).
async fn get_session(
    estado: &Estado,
    cabeceras: &http::HeaderMap,
) -> Result<Option<IdentidadNeon>, Error> {
    let Some(base) = estado.config.neon_auth_base_url.as_deref() else {
        return Err(no_disponible(anyhow::anyhow!(
            "neon_auth ilegible y NEON_AUTH_BASE_URL sin definir"
        )));
    };
    let cookie: String = cabeceras
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|p| p.starts_with(COOKIE_SESION) || p.starts_with(COOKIE_SESION_ANTIGUA))
        .collect::<Vec<_>>()
        .join("; ");
    let res = estado
        .http()
        .get(format!("{base}/get-session"))
        .header(http::header::COOKIE, cookie)
        .timeout(Duration::from_secs(3))
        .send()
        .await
        .map_err(no_disponible)?;
    if !res.status().is_success() {
        return Err(no_disponible(anyhow::anyhow!(
            "get-session respondió {}",
            res.status()
        )));
    }
    let v: serde_json::Value = res.json().await.map_err(no_disponible)?;
    let Some(user) = v.get("user").filter(|u| u.is_object()) else {
        return Ok(None);
    };
    let texto = |k: &str| {
        user.get(k)
            .and_then(|x| x.as_str())
            .map(str::to_string)
            .filter(|s| !s.trim().is_empty())
    };
    Ok(texto("id").map(|id| IdentidadNeon {
        neon_user_id: id,
        email: texto("email"),
        nombre: texto("name"),
        email_verificado: user
            .get("emailVerified")
            .and_then(|x| x.as_bool())
            .unwrap_or(false),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, HeaderValue};

    fn h(v: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.append(http::header::COOKIE, HeaderValue::from_str(v).unwrap());
        m
    }

    #[test]
    fn token_del_vector_de_neon_auth_2_1() {
        let m = h(
            "__Secure-neon-auth.session_token=tTq2vK9yLm3PzQ8rW5sX1aB4cD7eF0gH.y6TowaU4g5PaLavhx544m55oXKz%2Ftz%2FFs02IYO%2BPI5c%3D",
        );
        assert_eq!(
            extraer_token(&m).as_deref(),
            Some("tTq2vK9yLm3PzQ8rW5sX1aB4cD7eF0gH")
        );
    }

    #[test]
    fn cookies_unidas_sin_espacio_y_nombre_antiguo() {
        let m = h("a=1;__Secure-neonauth.session_token=abc.sig;b=2");
        assert_eq!(extraer_token(&m).as_deref(), Some("abc"));
        let m = h("__Secure-neon-auth.session_token=sinpunto");
        assert_eq!(extraer_token(&m).as_deref(), Some("sinpunto"));
        assert_eq!(
            extraer_token(&h("__Secure-neon-auth.session_token=.firma")),
            None
        );
        assert_eq!(
            extraer_token(&h(&format!(
                "__Secure-neon-auth.session_token={}",
                "x".repeat(256)
            ))),
            None
        );
        assert_eq!(extraer_token(&HeaderMap::new()), None);
    }
}
