//! `DATABASE_URL` as libpq reads it (PostgreSQL docs, "Connection Strings", "SSL Support").
//!
//! tokio-postgres knows only `sslmode=disable|prefer|require` and rejects every libpq key it does
//! not implement (`sslrootcert`, `verify-full`, …) with a bare "invalid connection string". This
//! module parses both forms (`postgresql://…` URLs and `key=value` strings) once, takes out the
//! TLS keys, hands the rest to tokio-postgres and builds the connector that gives each mode its
//! libpq meaning:
//!
//! | `sslmode` | encryption | certificate check |
//! |---|---|---|
//! | `disable` | never | — |
//! | `allow` | plain first; TLS when the server rejects the plain connection | none |
//! | `prefer` (default) | TLS; plain when the server refuses TLS or rejects the TLS connection | none |
//! | `require` | always | none; chain (like `verify-ca`) when a CA is given |
//! | `verify-ca` | always | chain (no host name) |
//! | `verify-full` | always | chain and host name |
//!
//! The CA comes from `sslrootcert=<PEM file>` (several certificates allowed), from the PEM text
//! of the `DATABASE_CA_PEM` variable (Lambda deploys only the bootstrap: no file to point at),
//! used when the URL has no `sslrootcert` or says `sslrootcert=DATABASE_CA_PEM`, or, for
//! `verify-*` without either, from the public roots compiled in (webpki-roots).
//! `sslrootcert=system` means those public roots too, makes `verify-full` the default and any
//! weaker mode an error (libpq 16). Not read: `PGSSLMODE` and the other `PG*` variables,
//! `~/.pgpass`, `~/.postgresql/root.crt` (deviations listed in the README).
//!
//! Messages never contain the password: parse errors name the key, connection errors the mode,
//! the host and what to change.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{Client, Connection};

use crate::plataforma::plazo::{self, SocketConPlazo as Socket};
use tokio_postgres_rustls::MakeRustlsConnect;

/// Environment variable holding the CA certificate(s) as PEM text (see the module docs).
pub const VARIABLE_CA: &str = "DATABASE_CA_PEM";

/// The TLS stream of a connection (plain connections use the same type, unencrypted).
pub type Flujo = <MakeRustlsConnect as MakeTlsConnect<Socket>>::Stream;
type ConectarRustls = <MakeRustlsConnect as MakeTlsConnect<Socket>>::TlsConnect;

/// Keys that tokio-postgres implements itself: passed through unchanged.
const CLAVES_TOKIO_POSTGRES: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "user",
    "password",
    "dbname",
    "options",
    "application_name",
    "connect_timeout",
    "tcp_user_timeout",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_retries",
    "target_session_attrs",
    "channel_binding",
    "load_balance_hosts",
    "sslnegotiation",
];

/// libpq keys this client does not implement: refused by name rather than ignored.
const CLAVES_NO_SOPORTADAS: &[(&str, &str)] = &[
    ("sslcert", "certificados de cliente no soportados"),
    ("sslkey", "certificados de cliente no soportados"),
    ("sslpassword", "certificados de cliente no soportados"),
    ("sslcrl", "listas de revocación no soportadas"),
    ("sslcrldir", "listas de revocación no soportadas"),
    ("sslkeylogfile", "no soportado"),
    ("requirepeer", "solo aplica a sockets Unix; no soportado"),
    ("require_auth", "no soportado"),
    ("krbsrvname", "GSSAPI/Kerberos no soportado"),
    ("gsslib", "GSSAPI/Kerberos no soportado"),
    ("gssdelegation", "GSSAPI/Kerberos no soportado"),
    ("service", "pg_service.conf no se lee"),
    (
        "passfile",
        "~/.pgpass no se lee: pon la contraseña en la URL",
    ),
    ("replication", "no soportado"),
];

// ---------------------------------------------------------------------------------------------
// Parsing

/// A malformed or unsupported connection string. The message names the key, never the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ErrorUrl(String);

fn error_url(m: impl Into<String>) -> ErrorUrl {
    ErrorUrl(m.into())
}

/// The keywords and values of a connection string, as libpq understands them, in order; a key
/// given twice keeps its last value (libpq's rule; in a URL the query overrides the authority).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Parametros(Vec<(String, String)>);

impl fmt::Debug for Parametros {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (k, v) in &self.0 {
            if k == "password" {
                m.entry(k, &"***");
            } else {
                m.entry(k, v);
            }
        }
        m.finish()
    }
}

impl Parametros {
    /// Parses a `postgres://` / `postgresql://` URL or a `key=value …` string.
    pub fn parsear(s: &str) -> Result<Self, ErrorUrl> {
        let s = s.trim();
        match s
            .strip_prefix("postgresql://")
            .or_else(|| s.strip_prefix("postgres://"))
        {
            Some(resto) => parsear_url(resto),
            None => parsear_clave_valor(s),
        }
    }

    pub fn get(&self, clave: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == clave)
            .map(|(_, v)| v.as_str())
    }

    /// Sets `clave`, replacing a previous value in place.
    pub fn set(&mut self, clave: &str, valor: impl Into<String>) {
        let valor = valor.into();
        match self.0.iter_mut().find(|(k, _)| k == clave) {
            Some((_, v)) => *v = valor,
            None => self.0.push((clave.to_string(), valor)),
        }
    }

    pub fn quitar(&mut self, clave: &str) -> Option<String> {
        let i = self.0.iter().position(|(k, _)| k == clave)?;
        Some(self.0.remove(i).1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The `key='value'` form of every parameter (password included: treat it as a secret).
    pub fn cadena(&self) -> String {
        let mut s = String::new();
        for (k, v) in &self.0 {
            if !s.is_empty() {
                s.push(' ');
            }
            s.push_str(k);
            s.push_str("='");
            for c in v.chars() {
                if c == '\'' || c == '\\' {
                    s.push('\\');
                }
                s.push(c);
            }
            s.push('\'');
        }
        s
    }
}

/// Strict percent-decoding (libpq refuses malformed escapes and `%00`). `que` names the part for
/// the message; the value itself is never echoed.
fn decodificar(s: &str, que: &str) -> Result<String, ErrorUrl> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = |c: u8| (c as char).to_digit(16);
            let (Some(a), Some(c)) = (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            ) else {
                return Err(error_url(format!("{que}: secuencia % inválida")));
            };
            let byte = (a * 16 + c) as u8;
            if byte == 0 {
                return Err(error_url(format!("{que}: %00 no está permitido")));
            }
            out.push(byte);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| error_url(format!("{que}: no es UTF-8 válido")))
}

/// `[user[:password]@][host[:port][,…]][/dbname][?key=value&…]` (after the scheme).
fn parsear_url(resto: &str) -> Result<Parametros, ErrorUrl> {
    let mut p = Parametros::default();
    let fin_autoridad = resto.find(['/', '?']).unwrap_or(resto.len());
    let (autoridad, resto) = resto.split_at(fin_autoridad);
    // The last `@` of the authority: an unencoded `@` in the password still parses.
    let hosts = match autoridad.rsplit_once('@') {
        Some((credenciales, hosts)) => {
            let (usuario, clave) = match credenciales.split_once(':') {
                Some((u, c)) => (u, Some(c)),
                None => (credenciales, None),
            };
            if !usuario.is_empty() {
                p.set("user", decodificar(usuario, "usuario de la URL")?);
            }
            if let Some(c) = clave {
                p.set("password", decodificar(c, "contraseña de la URL")?);
            }
            hosts
        }
        None => autoridad,
    };
    if !hosts.is_empty() {
        let (mut nombres, mut puertos) = (Vec::new(), Vec::new());
        for trozo in hosts.split(',') {
            let (h, puerto) = if let Some(r) = trozo.strip_prefix('[') {
                let (h, tras) = r
                    .split_once(']')
                    .ok_or_else(|| error_url("host IPv6 sin «]» en la URL"))?;
                let puerto = match tras {
                    "" => "",
                    t => t
                        .strip_prefix(':')
                        .ok_or_else(|| error_url("texto inesperado tras «]» en la URL"))?,
                };
                (h.to_string(), puerto)
            } else {
                let (h, puerto) = trozo.split_once(':').unwrap_or((trozo, ""));
                (decodificar(h, "host de la URL")?, puerto)
            };
            nombres.push(h);
            puertos.push(decodificar(puerto, "puerto de la URL")?);
        }
        if nombres.iter().any(|h| !h.is_empty()) {
            p.set("host", nombres.join(","));
        }
        if puertos.iter().any(|x| !x.is_empty()) {
            p.set("port", puertos.join(","));
        }
    }
    let (ruta, consulta) = match resto.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (resto, None),
    };
    if let Some(db) = ruta.strip_prefix('/')
        && !db.is_empty()
    {
        p.set("dbname", decodificar(db, "base de datos de la URL")?);
    }
    for par in consulta.unwrap_or("").split('&').filter(|x| !x.is_empty()) {
        let (k, v) = par.split_once('=').ok_or_else(|| {
            error_url(format!(
                "parámetro sin «=» en la URL: «{}»",
                par.chars().take(40).collect::<String>()
            ))
        })?;
        let k = decodificar(k, "clave de la URL")?;
        let v = decodificar(v, &format!("valor de {k}"))?;
        // libpq's JDBC compatibility: `ssl=true` is `sslmode=require`.
        if k == "ssl" && v == "true" {
            p.set("sslmode", "require");
        } else {
            p.set(&k, v);
        }
    }
    Ok(p)
}

/// `key = value …`, values optionally single-quoted; `\` escapes the next character.
fn parsear_clave_valor(s: &str) -> Result<Parametros, ErrorUrl> {
    let mut p = Parametros::default();
    let mut it = s.chars().peekable();
    let saltar = |it: &mut std::iter::Peekable<std::str::Chars<'_>>| {
        while it.next_if(|c| c.is_whitespace()).is_some() {}
    };
    loop {
        saltar(&mut it);
        if it.peek().is_none() {
            break;
        }
        let mut clave = String::new();
        while let Some(c) = it.next_if(|c| !c.is_whitespace() && *c != '=') {
            clave.push(c);
        }
        saltar(&mut it);
        if it.next() != Some('=') {
            return Err(error_url(format!(
                "falta «=» tras «{clave}» (se espera una URL postgres:// o pares clave=valor)"
            )));
        }
        saltar(&mut it);
        let mut valor = String::new();
        if it.next_if_eq(&'\'').is_some() {
            loop {
                match it.next() {
                    None => return Err(error_url(format!("comillas sin cerrar en {clave}"))),
                    Some('\'') => break,
                    Some('\\') => valor.extend(it.next()),
                    Some(c) => valor.push(c),
                }
            }
        } else {
            while let Some(c) = it.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    valor.extend(it.next());
                } else {
                    valor.push(c);
                }
            }
        }
        p.set(&clave, valor);
    }
    Ok(p)
}

// ---------------------------------------------------------------------------------------------
// Modes and certificates

/// libpq's `sslmode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModoSsl {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl ModoSsl {
    pub fn parse(v: &str) -> Option<Self> {
        Some(match v {
            "disable" => Self::Disable,
            "allow" => Self::Allow,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            _ => return None,
        })
    }

    pub fn nombre(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Allow => "allow",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }
}

impl fmt::Display for ModoSsl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.nombre())
    }
}

/// What the server certificate is checked against.
#[derive(Clone, Debug, PartialEq, Eq)]
enum OrigenCa {
    /// `sslrootcert=<file>`.
    Archivo(String),
    /// The PEM of `DATABASE_CA_PEM`.
    Variable,
    /// webpki-roots (`sslrootcert=system`, or `verify-*` without a CA).
    Sistema,
}

impl OrigenCa {
    fn describir(&self) -> String {
        match self {
            Self::Archivo(a) => format!("la CA de sslrootcert={a}"),
            Self::Variable => format!("la CA de {VARIABLE_CA}"),
            Self::Sistema => "las raíces públicas (webpki-roots)".into(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verificacion {
    Ninguna,
    Cadena,
    CadenaYNombre,
}

/// The certificates of a PEM text. Also accepts the shapes a PEM takes when pasted into a
/// one-line field (literal `\n`, or spaces instead of line breaks): the base64 body of every
/// `CERTIFICATE` block is re-wrapped before decoding. Text outside the blocks is ignored.
pub fn certificados_pem(pem: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    const INICIO: &str = "-----BEGIN CERTIFICATE-----";
    const FIN: &str = "-----END CERTIFICATE-----";
    let texto = pem.replace("\\n", "\n");
    let mut normal = String::new();
    let mut resto = texto.as_str();
    while let Some(i) = resto.find(INICIO) {
        let tras = &resto[i + INICIO.len()..];
        let j = tras
            .find(FIN)
            .ok_or("bloque CERTIFICATE sin «-----END CERTIFICATE-----»")?;
        let cuerpo: String = tras[..j].chars().filter(|c| !c.is_whitespace()).collect();
        normal.push_str(INICIO);
        normal.push('\n');
        for linea in cuerpo.as_bytes().chunks(64) {
            normal.push_str(std::str::from_utf8(linea).map_err(|e| e.to_string())?);
            normal.push('\n');
        }
        normal.push_str(FIN);
        normal.push('\n');
        resto = &tras[j + FIN.len()..];
    }
    let certs = CertificateDer::pem_slice_iter(normal.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("PEM inválido: {e}"))?;
    if certs.is_empty() {
        return Err("no contiene ningún bloque «-----BEGIN CERTIFICATE-----»".into());
    }
    Ok(certs)
}

fn almacen(certs: Vec<CertificateDer<'static>>, origen: &str) -> Result<RootCertStore, ErrorUrl> {
    let mut roots = RootCertStore::empty();
    for (i, c) in certs.into_iter().enumerate() {
        roots.add(c).map_err(|e| {
            error_url(format!(
                "{origen}: el certificado n.º {} no sirve como CA: {e}",
                i + 1
            ))
        })?;
    }
    Ok(roots)
}

fn proveedor() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// `prefer`, `allow` and `require` without a CA: encryption without authentication (libpq's
/// meaning). The handshake signatures are still checked against the presented certificate.
#[derive(Debug)]
struct SinVerificar(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for SinVerificar {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.0)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.0)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// `verify-ca` (and `require` with a CA): the chain up to a trusted root, no host name.
#[derive(Debug)]
struct SoloCadena {
    roots: Arc<RootCertStore>,
    algs: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for SoloCadena {
    fn verify_server_cert(
        &self,
        fin: &CertificateDer<'_>,
        intermedios: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        ahora: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let cert = rustls::server::ParsedCertificate::try_from(fin)?;
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &cert,
            &self.roots,
            intermedios,
            ahora,
            self.algs.all,
        )?;
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.algs)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.algs)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

fn version_tls(v: &str, clave: &str) -> Result<u8, ErrorUrl> {
    match v {
        "" => Ok(0),
        "TLSv1" | "TLSv1.1" | "TLSv1.2" => Ok(2),
        "TLSv1.3" => Ok(3),
        _ => Err(error_url(format!(
            "{clave}={v} no es válido (TLSv1, TLSv1.1, TLSv1.2 o TLSv1.3)"
        ))),
    }
}

// ---------------------------------------------------------------------------------------------
// The parsed connection

/// A parsed `DATABASE_URL`: the tokio-postgres configuration plus the libpq TLS behaviour.
#[derive(Clone, Debug)]
pub struct Conexion {
    pg: tokio_postgres::Config,
    conector: Conector,
}

impl Conexion {
    /// Parses `url` (URL or `key=value` form). `ca_pem` is the value of [`VARIABLE_CA`], if set.
    /// Reads the `sslrootcert` file when the mode uses it.
    pub fn nueva(url: &str, ca_pem: Option<&str>) -> Result<Self, ErrorUrl> {
        let mut p = Parametros::parsear(url)?;
        let sslmode = p.quitar("sslmode");
        let rootcert = p.quitar("sslrootcert").filter(|r| !r.is_empty());
        let sistema = rootcert.as_deref() == Some("system");
        let modo = match sslmode.as_deref() {
            None | Some("") if sistema => ModoSsl::VerifyFull,
            None | Some("") => ModoSsl::Prefer,
            Some(v) => ModoSsl::parse(v).ok_or_else(|| {
                error_url(format!(
                    "sslmode={v} no es válido (disable, allow, prefer, require, verify-ca o \
                     verify-full)"
                ))
            })?,
        };
        if sistema && modo != ModoSsl::VerifyFull {
            return Err(error_url(format!(
                "sslmode={modo} no puede usarse con sslrootcert=system (usa sslmode=verify-full \
                 o quita sslmode)"
            )));
        }
        let ca_pem = ca_pem.filter(|v| !v.trim().is_empty());
        // A malformed variable is an error whatever the mode: it is ours, not libpq's.
        let ca_variable = ca_pem
            .map(|pem| certificados_pem(pem).map_err(|e| error_url(format!("{VARIABLE_CA}: {e}"))))
            .transpose()?;
        let origen = match rootcert.as_deref() {
            Some("system") => Some(OrigenCa::Sistema),
            Some(VARIABLE_CA) if ca_variable.is_none() => {
                return Err(error_url(format!(
                    "sslrootcert={VARIABLE_CA} pero la variable {VARIABLE_CA} está vacía"
                )));
            }
            Some(VARIABLE_CA) => Some(OrigenCa::Variable),
            Some(archivo) => Some(OrigenCa::Archivo(archivo.to_string())),
            None if ca_variable.is_some() => Some(OrigenCa::Variable),
            None => None,
        };
        let (verificacion, origen) = match (modo, origen) {
            (ModoSsl::Disable | ModoSsl::Allow | ModoSsl::Prefer, _) => {
                (Verificacion::Ninguna, None)
            }
            (ModoSsl::Require, None) => (Verificacion::Ninguna, None),
            (ModoSsl::Require | ModoSsl::VerifyCa, o) => {
                (Verificacion::Cadena, Some(o.unwrap_or(OrigenCa::Sistema)))
            }
            (ModoSsl::VerifyFull, o) => (
                Verificacion::CadenaYNombre,
                Some(o.unwrap_or(OrigenCa::Sistema)),
            ),
        };
        let roots = match &origen {
            None => None,
            Some(OrigenCa::Sistema) => Some(RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            }),
            Some(OrigenCa::Variable) => Some(almacen(
                ca_variable.clone().unwrap_or_default(),
                VARIABLE_CA,
            )?),
            Some(OrigenCa::Archivo(a)) => {
                let texto = std::fs::read_to_string(a)
                    .map_err(|e| error_url(format!("no se puede leer sslrootcert={a}: {e}")))?;
                let certs = certificados_pem(&texto)
                    .map_err(|e| error_url(format!("sslrootcert={a}: {e}")))?;
                Some(almacen(certs, &format!("sslrootcert={a}"))?)
            }
        };

        let sni = match p.quitar("sslsni").as_deref() {
            None | Some("1") => true,
            Some("0") => false,
            Some(v) => return Err(error_url(format!("sslsni={v} no es válido (0 o 1)"))),
        };
        let min = version_tls(
            &p.quitar("ssl_min_protocol_version").unwrap_or_default(),
            "ssl_min_protocol_version",
        )?;
        let max = version_tls(
            &p.quitar("ssl_max_protocol_version").unwrap_or_default(),
            "ssl_max_protocol_version",
        )?;
        let versiones: Vec<&'static rustls::SupportedProtocolVersion> =
            [(2, &rustls::version::TLS12), (3, &rustls::version::TLS13)]
                .into_iter()
                .filter(|(v, _)| *v >= min.max(2) && (max == 0 || *v <= max))
                .map(|(_, v)| v)
                .collect();
        if versiones.is_empty() {
            return Err(error_url(
                "ssl_min_protocol_version es mayor que ssl_max_protocol_version",
            ));
        }
        // Accepted and without effect, as in libpq 14+ (compression) or here (no GSSAPI, UTF-8
        // always, no client certificate to send).
        let _ = p.quitar("sslcompression");
        if let Some(v) = p.quitar("gssencmode")
            && !matches!(v.as_str(), "disable" | "prefer" | "allow")
        {
            return Err(error_url(format!(
                "gssencmode={v}: GSSAPI no está soportado (usa disable o prefer)"
            )));
        }
        if let Some(v) = p.quitar("sslcertmode")
            && !matches!(v.as_str(), "disable" | "allow")
        {
            return Err(error_url(format!(
                "sslcertmode={v}: certificados de cliente no soportados"
            )));
        }
        if let Some(v) = p.quitar("client_encoding")
            && !matches!(
                v.to_ascii_uppercase().replace('-', "").as_str(),
                "UTF8" | "UNICODE" | "AUTO"
            )
        {
            return Err(error_url(format!(
                "client_encoding={v}: esta API usa siempre UTF8"
            )));
        }
        if let Some(v) = p.quitar("fallback_application_name")
            && p.get("application_name").is_none()
        {
            p.set("application_name", v);
        }
        for (k, _) in p.iter() {
            if let Some((_, por_que)) = CLAVES_NO_SOPORTADAS.iter().find(|(c, _)| *c == k) {
                return Err(error_url(format!(
                    "el parámetro {k} no está soportado ({por_que})"
                )));
            }
            if !CLAVES_TOKIO_POSTGRES.contains(&k) {
                return Err(error_url(format!("parámetro desconocido: {k}")));
            }
        }
        // The deadline connector ([`plazo::conectar`]) runs tokio-postgres' `connect_raw`, which
        // implements neither of these: their non-default values are refused, not ignored.
        for (clave, defecto) in [
            ("target_session_attrs", "any"),
            ("load_balance_hosts", "disable"),
        ] {
            if let Some(v) = p.get(clave)
                && v != defecto
            {
                return Err(error_url(format!(
                    "el parámetro {clave}={v} no está soportado (solo {clave}={defecto})"
                )));
            }
        }
        // Keepalives and tcp_user_timeout for real partitions, unless the URL sets them.
        for (clave, valor) in plazo::AJUSTES_SOCKET {
            if p.get(clave).is_none() {
                p.set(clave, *valor);
            }
        }
        let directa = p.get("sslnegotiation") == Some("direct");
        if directa && matches!(modo, ModoSsl::Disable | ModoSsl::Allow | ModoSsl::Prefer) {
            return Err(error_url(format!(
                "sslnegotiation=direct exige sslmode=require, verify-ca o verify-full (no {modo})"
            )));
        }
        // tokio-postgres needs a host name for TLS: with only `hostaddr`, the address is it.
        if p.get("host").is_none() {
            match p.get("hostaddr") {
                Some(a) => {
                    let a = a.to_string();
                    p.set("host", a);
                }
                // libpq's default: the Unix socket directory.
                None => p.set(
                    "host",
                    if std::path::Path::new("/var/run/postgresql").exists() {
                        "/var/run/postgresql"
                    } else {
                        "/tmp"
                    },
                ),
            }
        }
        let pg: tokio_postgres::Config =
            p.cadena().parse().map_err(|e: tokio_postgres::Error| {
                // "invalid value for option `port`": names the key, not the value.
                let causa = std::error::Error::source(&e)
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| e.to_string());
                error_url(causa)
            })?;
        // libpq ignores sslmode on Unix-domain sockets.
        let modo = if pg.get_hosts().iter().all(|h| !matches!(h, Host::Tcp(_))) {
            ModoSsl::Disable
        } else {
            modo
        };

        let prov = proveedor();
        let algs = prov.signature_verification_algorithms;
        let verificador: Arc<dyn ServerCertVerifier> = match (verificacion, roots) {
            (Verificacion::Cadena, Some(r)) => Arc::new(SoloCadena {
                roots: Arc::new(r),
                algs,
            }),
            (Verificacion::CadenaYNombre, Some(r)) => {
                WebPkiServerVerifier::builder_with_provider(Arc::new(r), prov.clone())
                    .build()
                    .map_err(|e| error_url(format!("raíces de confianza: {e}")))?
            }
            _ => Arc::new(SinVerificar(algs)),
        };
        let mut tls = rustls::ClientConfig::builder_with_provider(prov)
            .with_protocol_versions(&versiones)
            .map_err(|e| error_url(format!("versiones TLS: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verificador)
            .with_no_client_auth();
        tls.enable_sni = sni;
        if directa {
            // Direct TLS (PostgreSQL 17) requires the ALPN protocol `postgresql`.
            tls.alpn_protocols = vec![b"postgresql".to_vec()];
        }
        Ok(Self {
            pg,
            conector: Conector {
                modo,
                origen,
                tls: MakeRustlsConnect::new(tls),
                plazo: plazo::PLAZO_RESPUESTA,
            },
        })
    }

    /// Another deadline for the round trips of this URL's connections (default
    /// [`plazo::PLAZO_RESPUESTA`]): `migrate`, `seed` and the tests run longer statements.
    pub fn con_plazo(mut self, plazo: std::time::Duration) -> Self {
        self.conector.plazo = plazo;
        self
    }

    /// The tokio-postgres configuration (`ssl_mode` is set per attempt by the connector).
    pub fn config(&self) -> &tokio_postgres::Config {
        &self.pg
    }

    pub fn config_mut(&mut self) -> &mut tokio_postgres::Config {
        &mut self.pg
    }

    pub fn modo(&self) -> ModoSsl {
        self.conector.modo
    }

    /// The connector (a `deadpool_postgres::Connect`) applying this URL's TLS mode.
    pub fn conector(&self) -> Conector {
        self.conector.clone()
    }

    /// Opens one connection (for `migrate`, `seed`, tests): the caller spawns the `Connection`.
    pub async fn conectar(&self) -> Result<(Client, Connection<Socket, Flujo>), ErrorConexion> {
        self.conector
            .conectar_con(&self.pg)
            .await
            .map_err(|e| ErrorConexion(self.conector.describir(&self.pg, &e)))
    }
}

/// A failed connection, in one line: mode, host, cause and what to change.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ErrorConexion(String);

/// Connects with the libpq meaning of the mode (two attempts for `allow` and `prefer`).
#[derive(Clone)]
pub struct Conector {
    modo: ModoSsl,
    origen: Option<OrigenCa>,
    tls: MakeRustlsConnect,
    /// Client-side deadline of every round trip ([`plazo`]).
    plazo: std::time::Duration,
}

impl fmt::Debug for Conector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conector")
            .field("modo", &self.modo)
            .field("origen", &self.origen)
            .finish_non_exhaustive()
    }
}

impl Conector {
    fn tls(&self) -> (Tls, Arc<Intento>) {
        let intento = Arc::new(Intento::default());
        (
            Tls {
                inner: self.tls.clone(),
                modo: self.modo,
                origen: self.origen.clone(),
                intento: intento.clone(),
            },
            intento,
        )
    }

    async fn intentar(
        &self,
        pg: &tokio_postgres::Config,
        ssl: SslMode,
    ) -> (
        Result<(Client, Connection<Socket, Flujo>), tokio_postgres::Error>,
        Arc<Intento>,
    ) {
        let mut pg = pg.clone();
        pg.ssl_mode(ssl);
        let (tls, intento) = self.tls();
        (plazo::conectar(&pg, tls, self.plazo).await, intento)
    }

    /// One connection with `pg` (the pool's configuration, with its timeouts).
    pub async fn conectar_con(
        &self,
        pg: &tokio_postgres::Config,
    ) -> Result<(Client, Connection<Socket, Flujo>), tokio_postgres::Error> {
        match self.modo {
            ModoSsl::Disable => self.intentar(pg, SslMode::Disable).await.0,
            // Plain first; the server rejecting it (e.g. only `hostssl` lines) → TLS.
            ModoSsl::Allow => match self.intentar(pg, SslMode::Disable).await.0 {
                Err(e) if e.as_db_error().is_some() => self.intentar(pg, SslMode::Require).await.0,
                r => r,
            },
            // tokio-postgres' Prefer goes plain itself when the server answers 'N'; a failed
            // handshake or a rejection over TLS (e.g. `hostnossl`) gets the plain retry here.
            // When both fail, the TLS attempt's error is the telling one (a wrong password on a
            // TLS-only server, not "no pg_hba.conf entry … no encryption").
            ModoSsl::Prefer => match self.intentar(pg, SslMode::Prefer).await {
                (Err(e), intento)
                    if intento.tls_iniciado.load(Ordering::Relaxed)
                        && (e.as_db_error().is_some()
                            || intento.tls_fallido.load(Ordering::Relaxed)) =>
                {
                    self.intentar(pg, SslMode::Disable).await.0.map_err(|_| e)
                }
                (r, _) => r,
            },
            ModoSsl::Require | ModoSsl::VerifyCa | ModoSsl::VerifyFull => {
                self.intentar(pg, SslMode::Require).await.0
            }
        }
    }

    /// One line for a failed connection; never the password.
    fn describir(&self, pg: &tokio_postgres::Config, e: &tokio_postgres::Error) -> String {
        let mut fuente = std::error::Error::source(e);
        while let Some(f) = fuente {
            if let Some(t) = f.downcast_ref::<ErrorTls>() {
                return t.to_string();
            }
            fuente = f.source();
        }
        let hosts = pg
            .get_hosts()
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let puerto = pg
                    .get_ports()
                    .get(i)
                    .or(pg.get_ports().first())
                    .copied()
                    .unwrap_or(5432);
                match h {
                    Host::Tcp(h) => format!("{h}:{puerto}"),
                    Host::Unix(d) => format!("{}/.s.PGSQL.{puerto}", d.display()),
                }
            })
            .collect::<Vec<_>>()
            .join(",");
        let causa = if let Some(db) = e.as_db_error() {
            format!(
                "el servidor rechazó la conexión: {}: {} (SQLSTATE {})",
                db.severity(),
                db.message(),
                db.code().code()
            )
        } else {
            let mut s = e.to_string();
            let mut f = std::error::Error::source(e);
            while let Some(c) = f {
                s.push_str(": ");
                s.push_str(&c.to_string());
                f = c.source();
            }
            if s.contains("server does not support TLS") {
                "el servidor no acepta TLS (ssl = off): usa sslmode=prefer o activa ssl en el \
                 servidor"
                    .into()
            } else {
                s
            }
        };
        format!("sslmode={}, host {hosts}: {causa}", self.modo)
    }
}

impl deadpool_postgres::Connect for Conector {
    fn connect(
        &self,
        pg: &tokio_postgres::Config,
    ) -> Pin<
        Box<
            dyn Future<
                    Output = Result<(Client, tokio::task::JoinHandle<()>), tokio_postgres::Error>,
                > + Send
                + '_,
        >,
    > {
        let pg = pg.clone();
        Box::pin(async move {
            let (client, conexion) = match self.conectar_con(&pg).await {
                Ok(c) => c,
                Err(e) => {
                    // Certificate problems already carry their explanation in the cause chain;
                    // the other causes get the mode and host here, once.
                    tracing::warn!(error.message = %self.describir(&pg, &e), "conexión a Postgres fallida");
                    return Err(e);
                }
            };
            let tarea = tokio::spawn(async move {
                if let Err(e) = conexion.await {
                    tracing::warn!(error.message = %e, "conexión a Postgres cerrada");
                }
            });
            Ok((client, tarea))
        })
    }
}

/// What happened to TLS during one connection attempt.
#[derive(Default)]
struct Intento {
    tls_iniciado: AtomicBool,
    tls_fallido: AtomicBool,
}

/// `MakeTlsConnect` around tokio-postgres-rustls (which also provides channel binding) that
/// records the attempt and turns handshake failures into [`ErrorTls`].
struct Tls {
    inner: MakeRustlsConnect,
    modo: ModoSsl,
    origen: Option<OrigenCa>,
    intento: Arc<Intento>,
}

impl MakeTlsConnect<Socket> for Tls {
    type Stream = Flujo;
    type TlsConnect = TlsHost;
    type Error = std::convert::Infallible;

    fn make_tls_connect(&mut self, host: &str) -> Result<TlsHost, Self::Error> {
        let inner = MakeTlsConnect::<Socket>::make_tls_connect(&mut self.inner, host)?;
        Ok(TlsHost {
            inner,
            host: host.to_string(),
            modo: self.modo,
            origen: self.origen.clone(),
            intento: self.intento.clone(),
        })
    }
}

struct TlsHost {
    inner: ConectarRustls,
    host: String,
    modo: ModoSsl,
    origen: Option<OrigenCa>,
    intento: Arc<Intento>,
}

impl TlsConnect<Socket> for TlsHost {
    type Stream = Flujo;
    type Error = ErrorTls;
    type Future = Pin<Box<dyn Future<Output = Result<Flujo, ErrorTls>> + Send>>;

    fn connect(self, stream: Socket) -> Self::Future {
        let TlsHost {
            inner,
            host,
            modo,
            origen,
            intento,
        } = self;
        intento.tls_iniciado.store(true, Ordering::Relaxed);
        let fut = inner.connect(stream);
        Box::pin(async move {
            fut.await.map_err(|e| {
                intento.tls_fallido.store(true, Ordering::Relaxed);
                ErrorTls(explicar(modo, &host, origen.as_ref(), &e))
            })
        })
    }
}

/// A failed TLS handshake: `sslmode=…, host …: what failed: what to do`.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ErrorTls(String);

/// `DnsName("localhost")` / `IpAddress(127.0.0.1)` → `localhost` / `127.0.0.1`.
fn nombre_presentado(s: &str) -> &str {
    s.strip_prefix("DnsName(\"")
        .and_then(|r| r.strip_suffix("\")"))
        .or_else(|| {
            s.strip_prefix("IpAddress(")
                .and_then(|r| r.strip_suffix(')'))
        })
        .unwrap_or(s)
}

fn explicar(modo: ModoSsl, host: &str, origen: Option<&OrigenCa>, e: &io::Error) -> String {
    let rustls = e.get_ref().and_then(|x| x.downcast_ref::<rustls::Error>());
    let ca = origen.map_or_else(|| "la CA".to_string(), OrigenCa::describir);
    let que = match rustls {
        Some(rustls::Error::InvalidCertificate(c)) => match c {
            CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                if origen == Some(&OrigenCa::Sistema) {
                    format!(
                        "certificado del servidor no confiable: no lo emite ninguna de {ca}; \
                         pon su CA en sslrootcert=<archivo PEM> (o su PEM en {VARIABLE_CA}), o \
                         usa sslmode=require para cifrar sin verificar"
                    )
                } else {
                    format!(
                        "certificado del servidor no confiable: no lo firma {ca}; revisa esa CA, \
                         o usa sslmode=require sin CA para cifrar sin verificar"
                    )
                }
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                let nombres = match c {
                    CertificateError::NotValidForNameContext { presented, .. }
                        if !presented.is_empty() =>
                    {
                        presented
                            .iter()
                            .map(|n| nombre_presentado(n))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                    _ => "ninguno en subjectAltName".into(),
                };
                format!(
                    "el certificado del servidor no es válido para el host «{host}» (nombres del \
                     certificado: {nombres}); conecta con uno de esos nombres o usa \
                     sslmode=verify-ca (cadena sin nombre)"
                )
            }
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. } => {
                format!("certificado del servidor fuera de su periodo de validez ({c})")
            }
            CertificateError::Other(o) if format!("{o:?}").contains("CaUsedAsEndEntity") => {
                "el servidor presenta un certificado de CA (CA:TRUE) como certificado final y \
                 rustls lo rechaza (CaUsedAsEndEntity): emite un certificado de servidor \
                 (CA:FALSE, con subjectAltName) firmado por esa CA y pon la CA en sslrootcert"
                    .into()
            }
            otro => format!("certificado del servidor rechazado: {otro}"),
        },
        Some(otro) => format!("falló el handshake TLS: {otro}"),
        None => format!("falló el handshake TLS: {e}"),
    };
    format!("sslmode={modo}, host {host}: {que}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pares(s: &str) -> Vec<(String, String)> {
        Parametros::parsear(s).unwrap().0
    }

    fn par(k: &str, v: &str) -> (String, String) {
        (k.into(), v.into())
    }

    #[test]
    fn url_completa_con_codificacion_porcentual() {
        assert_eq!(
            pares(
                "postgresql://us%40er:p%3Ass%2Fw@Ord@db.example:6543/mi%20base?sslmode=verify-full\
                 &application_name=a%26b&options=-c%20search_path%3Dx"
            ),
            vec![
                par("user", "us@er"),
                par("password", "p:ss/w@Ord"),
                par("host", "db.example"),
                par("port", "6543"),
                par("dbname", "mi base"),
                par("sslmode", "verify-full"),
                par("application_name", "a&b"),
                par("options", "-c search_path=x"),
            ]
        );
    }

    #[test]
    fn url_varios_hosts_ipv6_socket_y_consulta_que_reemplaza() {
        assert_eq!(
            pares("postgres://[::1]:5433,h2,[fe80::1]/db?host=otro&ssl=true"),
            vec![
                par("host", "otro"),
                par("port", "5433,,"),
                par("dbname", "db"),
                par("sslmode", "require"),
            ]
        );
        assert_eq!(
            pares("postgres://%2Fvar%2Frun%2Fpostgresql/db"),
            vec![par("host", "/var/run/postgresql"), par("dbname", "db")]
        );
        assert_eq!(pares("postgres://"), vec![]);
        assert_eq!(
            pares("postgres://u@/db?host=/tmp"),
            vec![par("user", "u"), par("dbname", "db"), par("host", "/tmp")]
        );
    }

    #[test]
    fn url_malformada_no_repite_la_contrasena() {
        let e = Parametros::parsear("postgres://u:se%zzcreta@h/db").unwrap_err();
        assert_eq!(e.0, "contraseña de la URL: secuencia % inválida");
        let e = Parametros::parsear("postgres://u:x%00@h/db").unwrap_err();
        assert!(e.0.contains("%00"), "{e}");
        assert!(Parametros::parsear("postgres://[::1/db").is_err());
        assert!(Parametros::parsear("postgres://h/db?sslmode").is_err());
    }

    #[test]
    fn clave_valor_con_comillas_y_escapes() {
        assert_eq!(
            pares(concat!(
                r"host=localhost  port = 5432 dbname='mi base' password='it\'s \\ x' ",
                r"user=a\ b application_name=''"
            )),
            vec![
                par("host", "localhost"),
                par("port", "5432"),
                par("dbname", "mi base"),
                par("password", r"it's \ x"),
                par("user", "a b"),
                par("application_name", ""),
            ]
        );
        assert!(Parametros::parsear("host='sin cerrar").is_err());
        assert!(Parametros::parsear("solo_una_palabra").is_err());
        // The `key='value'` form round-trips, quotes and backslashes included.
        let p = Parametros::parsear(r"password='a\'b\\c d' host=h").unwrap();
        assert_eq!(Parametros::parsear(&p.cadena()).unwrap(), p);
        assert_eq!(format!("{p:?}"), r#"{"password": "***", "host": "h"}"#);
    }

    #[test]
    fn modos_y_verificacion() {
        let c = |u: &str| Conexion::nueva(u, None).unwrap();
        assert_eq!(c("postgres://h/db").modo(), ModoSsl::Prefer);
        assert_eq!(c("host=h sslmode=allow").modo(), ModoSsl::Allow);
        assert_eq!(
            c("postgres://h/db?sslrootcert=system").modo(),
            ModoSsl::VerifyFull
        );
        assert_eq!(
            c("postgres://h/db?sslmode=verify-ca").conector.origen,
            Some(OrigenCa::Sistema)
        );
        assert_eq!(c("postgres://h/db?sslmode=require").conector.origen, None);
        // libpq ignores sslmode on Unix sockets.
        assert_eq!(c("host=/tmp sslmode=verify-full").modo(), ModoSsl::Disable);
        // Only tokio-postgres' own keys reach it; the libpq ones are gone.
        let x = c(
            "postgres://u:pw@h:1/db?sslmode=verify-full&sslrootcert=system&sslsni=0\
                   &channel_binding=require&fallback_application_name=fb",
        );
        assert_eq!(x.config().get_application_name(), Some("fb"));
        assert_eq!(x.config().get_password(), Some(&b"pw"[..]));
        assert_eq!(x.config().get_ports(), &[1]);
        // hostaddr alone becomes the TLS host name too.
        let x = c("hostaddr=127.0.0.1 port=5");
        assert_eq!(x.config().get_hosts(), &[Host::Tcp("127.0.0.1".into())]);
    }

    #[test]
    fn errores_de_arranque_nombran_el_parametro() {
        let e = |u: &str| Conexion::nueva(u, None).unwrap_err().0;
        assert_eq!(
            e("postgres://u:secreta@h/db?sslmode=verify"),
            "sslmode=verify no es válido (disable, allow, prefer, require, verify-ca o verify-full)"
        );
        assert!(e("postgres://h/db?sslmode=require&sslrootcert=system").contains("verify-full"));
        assert!(e("postgres://h/db?sslcert=/c.pem").starts_with("el parámetro sslcert"));
        assert!(e("postgres://h/db?sslkey=/k.pem").starts_with("el parámetro sslkey"));
        assert_eq!(e("postgres://h/db?foo=1"), "parámetro desconocido: foo");
        assert!(e("postgres://h/db?port=x").contains("port"));
        assert!(
            e("postgres://h/db?sslmode=verify-ca&sslrootcert=/no/existe.pem")
                .starts_with("no se puede leer sslrootcert=/no/existe.pem")
        );
        assert!(e("postgres://h/db?sslrootcert=DATABASE_CA_PEM&sslmode=require").contains("vacía"));
        assert!(e("postgres://h/db?sslnegotiation=direct").contains("sslnegotiation"));
        for u in [
            "postgres://u:secreta@h/db?sslmode=x",
            "postgres://u:secreta@h/db?x=1",
        ] {
            assert!(!e(u).contains("secreta"));
        }
        // prefer never reads the file (libpq reads it only to verify).
        assert!(Conexion::nueva("postgres://h/db?sslrootcert=/no/existe.pem", None).is_ok());
        let e = Conexion::nueva("postgres://h/db", Some("no es un PEM")).unwrap_err();
        assert!(e.0.starts_with("DATABASE_CA_PEM: "), "{e}");
    }

    #[test]
    fn pem_pegado_en_una_linea() {
        // A syntactically valid certificate is not needed for the shape check: the base64 body
        // is decoded as is.
        let cuerpo = "MIIBszCCAVmgAwIBAgIUQ2Fzb3MgZGUgcHJ1ZWJhIHNvbGFtZW50ZTAKBggqhkjOPQQDAjAA";
        let normal = format!("-----BEGIN CERTIFICATE-----\n{cuerpo}\n-----END CERTIFICATE-----\n");
        let una = normal.replace('\n', "\\n");
        let espacios = normal.replace('\n', " ");
        let a = certificados_pem(&normal).unwrap();
        assert_eq!(certificados_pem(&una).unwrap(), a);
        assert_eq!(certificados_pem(&espacios).unwrap(), a);
        assert_eq!(
            certificados_pem(&format!("x\n{normal}y\n{normal}"))
                .unwrap()
                .len(),
            2
        );
        assert!(certificados_pem("").is_err());
    }

    #[test]
    fn explicaciones_de_certificado() {
        let io = |e: rustls::Error| io::Error::new(io::ErrorKind::InvalidData, e);
        let m = explicar(
            ModoSsl::VerifyFull,
            "db.example",
            Some(&OrigenCa::Sistema),
            &io(CertificateError::UnknownIssuer.into()),
        );
        assert!(
            m.starts_with(
                "sslmode=verify-full, host db.example: certificado del servidor no confiable"
            ),
            "{m}"
        );
        assert!(
            m.contains("sslrootcert=") && m.contains("sslmode=require"),
            "{m}"
        );
        let m = explicar(
            ModoSsl::VerifyFull,
            "db.example",
            Some(&OrigenCa::Variable),
            &io(CertificateError::NotValidForNameContext {
                expected: ServerName::try_from("db.example").unwrap(),
                presented: vec![
                    "DnsName(\"localhost\")".into(),
                    "IpAddress(127.0.0.1)".into(),
                ],
            }
            .into()),
        );
        assert!(
            m.contains("nombres del certificado: localhost, 127.0.0.1"),
            "{m}"
        );
        assert!(m.contains("sslmode=verify-ca"), "{m}");
        let m = explicar(
            ModoSsl::Require,
            "h",
            Some(&OrigenCa::Archivo("/ca.pem".into())),
            &io(
                CertificateError::Other(rustls::OtherError(Arc::new(io::Error::other(
                    "CaUsedAsEndEntity",
                ))))
                .into(),
            ),
        );
        assert!(
            m.contains("CA:TRUE") && m.contains("CaUsedAsEndEntity"),
            "{m}"
        );
    }
}
