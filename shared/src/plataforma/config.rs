//! Configuration read once per container from the environment (platform.md §11).
//! A missing or malformed required value fails the cold start with one clear message;
//! secrets are wrapped in [`Secreto`] so that `Debug` never prints them.

use std::fmt;

/// A value that must never reach a log line.
#[derive(Clone, Default)]
pub struct Secreto(String);

impl Secreto {
    pub fn new(v: impl Into<String>) -> Self {
        Self(v.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secreto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secreto(***)")
    }
}

/// Comma-separated e-mail list (platform.md §2.3): entries trimmed and lower-cased.
#[derive(Clone, Debug, Default)]
pub struct ListaEmails {
    entradas: Vec<String>,
    configurada: bool,
}

impl ListaEmails {
    pub fn parse(raw: Option<&str>) -> Self {
        match raw {
            Some(r) if !r.trim().is_empty() => Self {
                entradas: r
                    .split(',')
                    .map(|e| e.trim().to_lowercase())
                    .filter(|e| !e.is_empty())
                    .collect(),
                configurada: true,
            },
            _ => Self::default(),
        }
    }

    /// Whether the variable was set to a non-empty value.
    pub fn configurada(&self) -> bool {
        self.configurada
    }

    pub fn contiene(&self, email: Option<&str>) -> bool {
        match email {
            Some(e) if !e.is_empty() => {
                let e = e.to_lowercase();
                self.entradas.contains(&e)
            }
            _ => false,
        }
    }
}

/// SMTP settings of platform.md §10.1. `simulado()` when user or password is missing.
#[derive(Clone, Debug)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub usuario: Option<String>,
    pub password: Option<Secreto>,
    pub from: Option<String>,
    /// Development only: log codes and links in simulated mode.
    pub registrar_simulados: bool,
}

impl Smtp {
    pub fn simulado(&self) -> bool {
        self.usuario.is_none() || self.password.is_none()
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: Secreto,
    /// `DATABASE_CA_PEM`: the CA certificate(s) of the database server as PEM text, for
    /// `sslmode=require|verify-ca|verify-full` where no CA file exists (Lambda); see
    /// [`crate::conexion`]. Public data, not a secret.
    pub database_ca_pem: Option<String>,
    pub db_pool_max: usize,
    pub redis_url: Option<Secreto>,
    pub rate_limit_max: u32,
    pub rate_limit_window_ms: u64,
    pub admin_emails: ListaEmails,
    pub allowlist_registro: ListaEmails,
    pub neon_auth_base_url: Option<String>,
    pub neon_auth_jwks_url: Option<String>,
    pub smtp: Smtp,
    pub base_url: String,
    /// `APP_ENV=production` (the default): HSTS on, fail closed on missing Neon settings.
    pub produccion: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("configuración inválida: {0}")]
pub struct ConfigError(pub String);

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    /// Builds the configuration from any key lookup (the environment, or a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let produccion = !matches!(
            get("APP_ENV").as_deref(),
            Some("development" | "dev" | "test")
        );
        let database_url =
            get("DATABASE_URL").ok_or_else(|| ConfigError("falta DATABASE_URL".into()))?;
        let database_ca_pem = get(crate::plataforma::conexion::VARIABLE_CA);
        // Checked here so that a bad `sslmode` (or CA) fails the cold start with one line.
        crate::plataforma::conexion::Conexion::nueva(&database_url, database_ca_pem.as_deref())
            .map_err(|e| ConfigError(format!("DATABASE_URL: {e}")))?;
        let neon_auth_base_url =
            get("NEON_AUTH_BASE_URL").map(|u| u.trim_end_matches('/').to_string());
        if produccion && neon_auth_base_url.is_none() {
            return Err(ConfigError(
                "falta NEON_AUTH_BASE_URL (obligatoria con APP_ENV=production)".into(),
            ));
        }
        let num = |k: &str, def: u64| -> Result<u64, ConfigError> {
            match get(k) {
                None => Ok(def),
                Some(v) => v
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| ConfigError(format!("{k} debe ser un entero positivo"))),
            }
        };
        let smtp_port = num("SMTP_PORT", 465)?;
        Ok(Self {
            database_url: Secreto::new(database_url),
            database_ca_pem,
            db_pool_max: num("DB_POOL_MAX", 2)? as usize,
            redis_url: get("REDIS_URL").map(Secreto::new),
            rate_limit_max: num("RATE_LIMIT_MAX", 5)? as u32,
            rate_limit_window_ms: num("RATE_LIMIT_WINDOW_MS", 60_000)?,
            admin_emails: ListaEmails::parse(get("ADMIN_EMAILS").as_deref()),
            allowlist_registro: ListaEmails::parse(get("ALLOWLIST_REGISTRO").as_deref()),
            neon_auth_base_url,
            neon_auth_jwks_url: get("NEON_AUTH_JWKS_URL"),
            smtp: Smtp {
                host: get("SMTP_HOST").unwrap_or_else(|| "smtp.gmail.com".into()),
                port: u16::try_from(smtp_port)
                    .map_err(|_| ConfigError("SMTP_PORT fuera de rango".into()))?,
                usuario: get("SMTP_USER"),
                password: get("SMTP_PASS")
                    .or_else(|| get("SMTP_PASSWORD"))
                    .map(Secreto::new),
                from: get("EMAIL_FROM").or_else(|| get("SMTP_USER")),
                registrar_simulados: !produccion,
            },
            base_url: get("NEXT_PUBLIC_BASE_URL").unwrap_or_else(|| "http://localhost:3000".into()),
            produccion,
        })
    }

    /// JWKS URL of neon-auth.md §1: the override, else `${NEON_AUTH_BASE_URL}/.well-known/jwks.json`.
    pub fn jwks_url(&self) -> Option<String> {
        self.neon_auth_jwks_url.clone().or_else(|| {
            self.neon_auth_base_url
                .as_ref()
                .map(|b| format!("{b}/.well-known/jwks.json"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lista_emails_sigue_platform_2_3() {
        let l = ListaEmails::parse(Some("  Jefe@Empresa.com , otro@x.com ,"));
        assert!(l.contiene(Some("jefe@empresa.com")));
        assert!(l.contiene(Some("OTRO@X.COM")));
        assert!(!l.contiene(Some("nadie@x.com")));
        assert!(!l.contiene(Some("")));
        assert!(!l.contiene(None));
        assert!(!ListaEmails::parse(Some("  ")).configurada());
    }

    #[test]
    fn produccion_exige_neon_auth_base_url() {
        let err = Config::from_lookup(|k| (k == "DATABASE_URL").then(|| "postgres://x".into()))
            .unwrap_err();
        assert!(err.0.contains("NEON_AUTH_BASE_URL"));
        let dev = Config::from_lookup(|k| match k {
            "DATABASE_URL" => Some("postgres://x".into()),
            "APP_ENV" => Some("development".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(
            (
                dev.db_pool_max,
                dev.rate_limit_max,
                dev.rate_limit_window_ms
            ),
            (2, 5, 60_000)
        );
        assert!(
            Config::from_lookup(|k| match k {
                "DATABASE_URL" => Some("postgres://x".into()),
                "APP_ENV" => Some("test".into()),
                "RATE_LIMIT_MAX" => Some("cinco".into()),
                _ => None,
            })
            .is_err()
        );
    }

    #[test]
    fn sslmode_desconocido_falla_el_arranque_nombrando_el_parametro() {
        let err = Config::from_lookup(|k| match k {
            "DATABASE_URL" => Some("postgres://u:clave-secreta@h/db?sslmode=verify_full".into()),
            "APP_ENV" => Some("test".into()),
            _ => None,
        })
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "configuración inválida: DATABASE_URL: sslmode=verify_full no es válido (disable, \
             allow, prefer, require, verify-ca o verify-full)"
        );
        let err = Config::from_lookup(|k| match k {
            "DATABASE_URL" => Some("postgres://h/db?sslmode=verify-full".into()),
            "DATABASE_CA_PEM" => Some("-----BEGIN CERTIFICATE-----".into()),
            "APP_ENV" => Some("test".into()),
            _ => None,
        })
        .unwrap_err();
        assert!(
            err.0.starts_with("DATABASE_URL: DATABASE_CA_PEM: "),
            "{err}"
        );
    }
}
