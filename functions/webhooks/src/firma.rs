//! Signature of Neon Auth webhooks (neon-auth.md §6.3, platform.md §13.0–13.2): a detached
//! Ed25519 JWS over `<protected>.b64url(<timestamp>.b64url(<raw body>))`, key chosen by the
//! `X-Neon-Signature-Kid` header, timestamp within 5 minutes both ways. Every failure is the same
//! 401; only the log says which check failed.
//!
//! JWKS cache: one entry per JWKS URL in a process-wide `static` (a Lambda container keeps it
//! between requests), refreshed after one hour; an unknown `kid` triggers at most one re-fetch per
//! minute. The entry's async mutex is held across a fetch, so concurrent requests never fetch twice.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, VerifyingKey};
use http::HeaderMap;
use serde::Deserialize;
use serde_json::Value;
use shared::{Error, Estado};

pub const FIRMA_INVALIDA: &str = "Firma de webhook inválida";

pub const CABECERA_FIRMA: &str = "x-neon-signature";
pub const CABECERA_KID: &str = "x-neon-signature-kid";
pub const CABECERA_TIMESTAMP: &str = "x-neon-timestamp";

/// Accepted distance between `X-Neon-Timestamp` and now, past or future.
const VENTANA_MS: u64 = 300_000;
const VIGENCIA_JWKS_MS: u64 = 3_600_000;
/// Minimum time between two re-fetches caused by an unknown `kid`.
const PAUSA_REFETCH_MS: u64 = 60_000;
const TIMEOUT_JWKS: Duration = Duration::from_secs(2);
const JWKS_MAX_BYTES: usize = 64 * 1024;

/// Why a delivery was rejected; logged, never sent.
type Motivo = &'static str;

/// Verifies the delivery; `ahora_ms` is the clock (Unix ms) injected by the caller.
pub async fn verificar(
    estado: &Estado,
    cabeceras: &HeaderMap,
    cuerpo: &[u8],
    ahora_ms: i64,
) -> Result<(), Error> {
    comprobar(estado, cabeceras, cuerpo, ahora_ms)
        .await
        .map_err(|motivo| {
            tracing::warn!(motivo, "firma de webhook rechazada");
            Error::unauthorized(FIRMA_INVALIDA)
        })
}

async fn comprobar(
    estado: &Estado,
    cabeceras: &HeaderMap,
    cuerpo: &[u8],
    ahora_ms: i64,
) -> Result<(), Motivo> {
    let firma = cabecera(cabeceras, CABECERA_FIRMA).ok_or("falta X-Neon-Signature")?;
    let kid = cabecera(cabeceras, CABECERA_KID).ok_or("falta X-Neon-Signature-Kid")?;
    let timestamp = cabecera(cabeceras, CABECERA_TIMESTAMP).ok_or("falta X-Neon-Timestamp")?;
    let (protegido, firma) = leer_jws(firma)?;
    fresco(timestamp, ahora_ms)?;
    let url = estado
        .config
        .jwks_url()
        .ok_or("NEON_AUTH_BASE_URL/NEON_AUTH_JWKS_URL sin definir")?;
    let clave = clave(estado, &url, kid, ahora_ms).await?;
    clave
        .verify_strict(
            entrada_firmada(protegido, timestamp, cuerpo).as_bytes(),
            &firma,
        )
        .map_err(|_| "firma Ed25519 incorrecta")
}

fn cabecera<'h>(cabeceras: &'h HeaderMap, nombre: &str) -> Option<&'h str> {
    cabeceras
        .get(nombre)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
}

/// `<b64url protected header>..<b64url signature>`: three parts, empty middle, `alg` EdDSA.
fn leer_jws(valor: &str) -> Result<(&str, Signature), Motivo> {
    let mut partes = valor.split('.');
    let (Some(protegido), Some(medio), Some(firma), None) =
        (partes.next(), partes.next(), partes.next(), partes.next())
    else {
        return Err("la firma no tiene tres partes");
    };
    if !medio.is_empty() {
        return Err("la parte central de la firma no está vacía");
    }
    let cabecera: Value = URL_SAFE_NO_PAD
        .decode(protegido)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("cabecera protegida ilegible")?;
    if cabecera.get("alg").and_then(Value::as_str) != Some("EdDSA") {
        return Err("alg distinto de EdDSA");
    }
    // RFC 7515 §4.1.11: critical extensions we do not understand must be rejected.
    if cabecera.get("crit").is_some() {
        return Err("cabecera crit no soportada");
    }
    let bytes: [u8; 64] = URL_SAFE_NO_PAD
        .decode(firma)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or("firma no es base64url de 64 bytes")?;
    Ok((protegido, Signature::from_bytes(&bytes)))
}

/// Decimal digits only, and `|now − ts| ≤ 5 min` (platform.md §13.2).
fn fresco(timestamp: &str, ahora_ms: i64) -> Result<(), Motivo> {
    if !timestamp.bytes().all(|b| b.is_ascii_digit()) {
        return Err("X-Neon-Timestamp no es decimal");
    }
    let ts: i64 = timestamp
        .parse()
        .map_err(|_| "X-Neon-Timestamp fuera de rango")?;
    if ahora_ms.abs_diff(ts) > VENTANA_MS {
        return Err("X-Neon-Timestamp fuera de la ventana de 5 minutos");
    }
    Ok(())
}

/// neon-auth.md §6.3 step 5: `P = b64url(body)`, `S = ts + "." + P`, input = `protected.b64url(S)`.
fn entrada_firmada(protegido: &str, timestamp: &str, cuerpo: &[u8]) -> String {
    let s = format!("{timestamp}.{}", URL_SAFE_NO_PAD.encode(cuerpo));
    format!("{protegido}.{}", URL_SAFE_NO_PAD.encode(s))
}

#[derive(Default)]
struct Entrada {
    claves: HashMap<String, VerifyingKey>,
    descargadas_ms: Option<i64>,
    ultimo_refetch_ms: Option<i64>,
}

static CACHE: LazyLock<Mutex<HashMap<String, Arc<tokio::sync::Mutex<Entrada>>>>> =
    LazyLock::new(Default::default);

async fn clave(
    estado: &Estado,
    url: &str,
    kid: &str,
    ahora_ms: i64,
) -> Result<VerifyingKey, Motivo> {
    let entrada = CACHE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(url.to_string())
        .or_default()
        .clone();
    let mut e = entrada.lock().await;
    let vencida = e
        .descargadas_ms
        .is_none_or(|t| ahora_ms.abs_diff(t) >= VIGENCIA_JWKS_MS);
    if vencida {
        e.claves = descargar(estado, url).await?;
        e.descargadas_ms = Some(ahora_ms);
    }
    if let Some(k) = e.claves.get(kid) {
        return Ok(*k);
    }
    // A freshly downloaded set cannot know the kid either; otherwise a rotated key may be new.
    if vencida
        || e.ultimo_refetch_ms
            .is_some_and(|t| ahora_ms.abs_diff(t) < PAUSA_REFETCH_MS)
    {
        return Err("kid desconocido");
    }
    e.ultimo_refetch_ms = Some(ahora_ms);
    e.claves = descargar(estado, url).await?;
    e.descargadas_ms = Some(ahora_ms);
    e.claves
        .get(kid)
        .copied()
        .ok_or("kid desconocido tras re-descargar el JWKS")
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Value>,
}

async fn descargar(estado: &Estado, url: &str) -> Result<HashMap<String, VerifyingKey>, Motivo> {
    let u = reqwest::Url::parse(url).map_err(|_| "URL de JWKS inválida")?;
    if !url_permitida(&u) {
        return Err("URL de JWKS no https ni loopback");
    }
    let res = estado
        .http()
        .get(u)
        .timeout(TIMEOUT_JWKS)
        .send()
        .await
        .map_err(|e| {
            tracing::warn!(error.message = %e, "JWKS no disponible");
            "JWKS no disponible"
        })?;
    // The shared client follows redirects: the final URL must pass the same rule.
    if !url_permitida(res.url()) {
        return Err("JWKS redirigido a una URL no https");
    }
    if !res.status().is_success() {
        tracing::warn!(status = res.status().as_u16(), "JWKS respondió con error");
        return Err("JWKS respondió con error");
    }
    let bytes = res.bytes().await.map_err(|e| {
        tracing::warn!(error.message = %e, "JWKS no disponible");
        "JWKS no disponible"
    })?;
    if bytes.len() > JWKS_MAX_BYTES {
        return Err("JWKS demasiado grande");
    }
    let jwks: Jwks = serde_json::from_slice(&bytes).map_err(|_| "JWKS ilegible")?;
    Ok(jwks.keys.iter().filter_map(clave_ed25519).collect())
}

/// A JWK usable here: `kty` OKP, `crv` Ed25519, `x` = 32 bytes, with a `kid`. Others are skipped.
fn clave_ed25519(jwk: &Value) -> Option<(String, VerifyingKey)> {
    let texto = |k: &str| jwk.get(k).and_then(Value::as_str);
    if texto("kty") != Some("OKP") || texto("crv") != Some("Ed25519") {
        return None;
    }
    let x: [u8; 32] = URL_SAFE_NO_PAD.decode(texto("x")?).ok()?.try_into().ok()?;
    Some((
        texto("kid")?.to_string(),
        VerifyingKey::from_bytes(&x).ok()?,
    ))
}

/// `https`, or plain `http` to a loopback host (tests, local runs).
fn url_permitida(u: &reqwest::Url) -> bool {
    match u.scheme() {
        "https" => true,
        "http" => match u.host_str() {
            Some("localhost") => true,
            Some(h) => h
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip.is_loopback()),
            None => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // neon-auth.md §6.3 test vector.
    const X: &str = "A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg";
    const CUERPO: &str = r#"{"event_id":"00000000-0000-4000-8000-000000000001","event_type":"user.created","timestamp":"2026-01-01T00:00:00.000Z","user":{"id":"11111111-1111-4111-8111-111111111111","email":"ana@example.com","name":"Ana"},"event_data":{"auth_provider":"credential"}}"#;
    const TS: &str = "1767225600000";
    const FIRMA: &str = "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXUyIsImtpZCI6InRlc3Qta2V5LTEifQ..L3BXhu-Kqh6H1EIpopoOZoTZa46GXWPPZUybQ6-N9mGaYenCx2LCkulqibbrXEqa9rClnD66uFf5SLCEcs11DQ";

    fn clave_vector() -> VerifyingKey {
        let jwk = serde_json::json!({"kty":"OKP","crv":"Ed25519","x":X,"kid":"test-key-1"});
        clave_ed25519(&jwk).unwrap().1
    }

    #[test]
    fn vector_de_neon_auth_6_3() {
        let (protegido, firma) = leer_jws(FIRMA).unwrap();
        let entrada = entrada_firmada(protegido, TS, CUERPO.as_bytes());
        assert!(
            clave_vector()
                .verify_strict(entrada.as_bytes(), &firma)
                .is_ok()
        );
        let mut otro = CUERPO.as_bytes().to_vec();
        otro[10] ^= 1;
        let entrada = entrada_firmada(protegido, TS, &otro);
        assert!(
            clave_vector()
                .verify_strict(entrada.as_bytes(), &firma)
                .is_err()
        );
        let entrada = entrada_firmada(protegido, "1767225600001", CUERPO.as_bytes());
        assert!(
            clave_vector()
                .verify_strict(entrada.as_bytes(), &firma)
                .is_err()
        );
    }

    #[test]
    fn ventana_de_cinco_minutos_en_ambos_sentidos() {
        let t = 1_767_225_600_000_i64;
        assert!(fresco("1767225600000", t + 300_000).is_ok());
        assert!(fresco("1767225600000", t - 300_000).is_ok());
        assert!(fresco("1767225600000", t + 300_001).is_err());
        assert!(fresco("1767225600000", t - 300_001).is_err());
        for malo in [
            "",
            "-1767225600000",
            "1767225600000.0",
            " 1767225600000",
            "abc",
            "99999999999999999999",
        ] {
            assert!(fresco(malo, t).is_err(), "{malo:?}");
        }
    }

    #[test]
    fn jws_mal_formado() {
        let (p, _) = FIRMA.split_once("..").unwrap();
        let s = FIRMA.rsplit('.').next().unwrap();
        assert!(leer_jws(&format!("{p}.eA.{s}")).is_err());
        assert!(leer_jws(&format!("{p}..{s}.")).is_err());
        assert!(leer_jws(&format!("{p}.{s}")).is_err());
        assert!(leer_jws(&format!("{p}..{}", &s[..20])).is_err());
        let hs = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256"}"#);
        assert!(leer_jws(&format!("{hs}..{s}")).is_err());
        let sin_alg = URL_SAFE_NO_PAD.encode(r#"{"typ":"JWS"}"#);
        assert!(leer_jws(&format!("{sin_alg}..{s}")).is_err());
        let crit = URL_SAFE_NO_PAD.encode(r#"{"alg":"EdDSA","crit":["b64"],"b64":false}"#);
        assert!(leer_jws(&format!("{crit}..{s}")).is_err());
    }

    #[test]
    fn jwks_solo_https_o_loopback() {
        let ok = |s: &str| url_permitida(&reqwest::Url::parse(s).unwrap());
        assert!(ok(
            "https://ep-x.neonauth.us-east-2.aws.neon.tech/db/auth/.well-known/jwks.json"
        ));
        assert!(ok("http://127.0.0.1:8080/jwks.json"));
        assert!(ok("http://127.8.9.10/jwks.json"));
        assert!(ok("http://localhost:3000/jwks.json"));
        assert!(ok("http://[::1]:3000/jwks.json"));
        assert!(!ok("http://example.com/jwks.json"));
        assert!(!ok("http://10.0.0.1/jwks.json"));
        assert!(!ok("http://localhost.example.com/jwks.json"));
        assert!(!ok("ftp://127.0.0.1/jwks.json"));
    }

    #[test]
    fn solo_claves_ed25519() {
        let rsa = serde_json::json!({"kty":"RSA","kid":"r","n":"x","e":"AQAB"});
        let x448 = serde_json::json!({"kty":"OKP","crv":"X25519","x":X,"kid":"x"});
        let corta = serde_json::json!({"kty":"OKP","crv":"Ed25519","x":"AAAA","kid":"c"});
        let sin_kid = serde_json::json!({"kty":"OKP","crv":"Ed25519","x":X});
        for j in [rsa, x448, corta, sin_kid] {
            assert!(clave_ed25519(&j).is_none(), "{j}");
        }
    }
}
