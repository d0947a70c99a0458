//! The events of a verified delivery (platform.md §13.1 steps 3–6): envelope reading, user
//! creation through the shared identity mapping (§2.2 steps 3–5, §13.3) and the OTP and
//! magic-link e-mails (§13.4). Codes, links and the body never reach the log.

use serde_json::{Value, json};
use shared::correo;
use shared::identidad::{self, IdentidadNeon, Resultado};
use shared::{Error, Estado};

pub const PAYLOAD_INVALIDO: &str = "Payload inválido";
pub const USER_CREATED_INVALIDO: &str = "Payload inválido para evento user.created";
pub const SIN_DESTINATARIO: &str = "user.email no definido en el payload del webhook";
pub const OTP_INCOMPLETO: &str = "Payload de send.otp incompleto (falta otp/code)";
pub const ENLACE_INCOMPLETO: &str = "Payload de send.magic_link incompleto (falta url/link)";

const CAMPOS_CODIGO: &[&str] = &["otp", "code", "passcode", "otp_code", "otpCode", "token"];
const CAMPOS_ENLACE: &[&str] = &["link_url", "url", "link", "href", "linkUrl"];

/// The answer to every accepted event (also a valid `user.before_create` verdict).
pub fn aceptado() -> Value {
    json!({ "success": true, "allowed": true })
}

/// The envelope of §13.1 step 4 over a parsed body.
struct Evento<'v> {
    raiz: &'v Value,
    tipo: Option<&'v str>,
    datos: &'v Value,
}

static VACIO: Value = Value::Null;

impl<'v> Evento<'v> {
    fn de(raiz: &'v Value) -> Self {
        let texto = |k: &str| {
            raiz.get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        let datos = ["event_data", "data", "payload"]
            .iter()
            .filter_map(|k| raiz.get(*k))
            .find(|v| v.is_object())
            .unwrap_or(&VACIO);
        Self {
            raiz,
            tipo: texto("event_type").or_else(|| texto("type")),
            datos,
        }
    }

    /// `user.email`, the recipient of the mail events.
    fn destinatario(&self) -> Option<&'v str> {
        self.raiz
            .get("user")
            .and_then(|u| u.get("email"))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    /// First present value of `campos` in the event data (strings, or numbers as written).
    fn dato(&self, campos: &[&str]) -> Option<String> {
        campos
            .iter()
            .filter_map(|k| self.datos.get(*k))
            .find_map(|v| match v {
                Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
    }
}

/// Steps 3–6 for a verified body; `Ok` is the 200 body.
pub async fn procesar(estado: &Estado, cuerpo: &[u8]) -> Result<Value, Error> {
    let raiz: Value = match serde_json::from_slice(cuerpo) {
        Ok(Value::Null) | Err(_) => return Err(Error::bad_request(PAYLOAD_INVALIDO)),
        Ok(v) => v,
    };
    let ev = Evento::de(&raiz);
    match ev.tipo {
        Some("user.created") => usuario_creado(estado, &ev).await?,
        None if raiz.get("id").is_some_and(|v| !v.is_null()) => usuario_creado(estado, &ev).await?,
        Some("send.otp") => enviar_codigo(estado, &ev).await?,
        Some("send.magic_link") => enviar_enlace(estado, &ev).await?,
        // user.before_create and unknown types: accepted without action.
        _ => {}
    }
    Ok(aceptado())
}

async fn usuario_creado(estado: &Estado, ev: &Evento<'_>) -> Result<(), Error> {
    let identidad = identidad_de(ev)?;
    let mut c = estado.pool.get().await?;
    // Provisioning denied (allow-list, pending invitation, unverified e-mail taken) still
    // accepts the event: the user exists in Neon either way.
    let resultado =
        match identidad::vincular_o_provisionar(&mut c, &estado.config, &identidad).await? {
            Resultado::Existente(_) => "existente",
            Resultado::Revinculado(_) => "revinculado",
            Resultado::Creado(_) => "creado",
            Resultado::Denegado => "denegado",
        };
    tracing::info!(resultado, "user.created procesado");
    Ok(())
}

/// `{id, email, name}` from `user`, else from the event data, else from the top level: the first
/// of those objects that carries an `id` (§13.3). `name: null` is absent.
fn identidad_de(ev: &Evento<'_>) -> Result<IdentidadNeon, Error> {
    let invalido = || Error::bad_request(USER_CREATED_INVALIDO);
    let fuente = [ev.raiz.get("user"), Some(ev.datos), Some(ev.raiz)]
        .into_iter()
        .flatten()
        .find(|o| o.get("id").is_some_and(|v| !v.is_null()))
        .ok_or_else(invalido)?;
    let id = fuente
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(invalido)?;
    let email = fuente
        .get("email")
        .and_then(Value::as_str)
        .filter(|e| email_valido(e))
        .ok_or_else(invalido)?;
    let nombre = match fuente.get("name") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Some(_) => return Err(invalido()),
    };
    let verificado = ["email_verified", "emailVerified"]
        .iter()
        .any(|k| fuente.get(*k) == Some(&Value::Bool(true)));
    Ok(IdentidadNeon {
        neon_user_id: id.to_string(),
        email: Some(email.to_string()),
        nombre,
        email_verificado: verificado,
    })
}

/// A plausible address: `local@dominio.tld`, no spaces, labels of letters, digits and hyphens.
fn email_valido(e: &str) -> bool {
    let Some((local, dominio)) = e.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    let etiquetas: Vec<&str> = dominio.split('.').collect();
    let dominio_ok = etiquetas.len() >= 2
        && etiquetas.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && etiquetas
            .last()
            .is_some_and(|t| t.len() >= 2 && t.chars().all(|c| c.is_ascii_alphabetic()));
    e.len() <= 254 && local_ok && dominio_ok
}

async fn enviar_codigo(estado: &Estado, ev: &Evento<'_>) -> Result<(), Error> {
    let para = ev
        .destinatario()
        .ok_or_else(|| Error::bad_request(SIN_DESTINATARIO))?;
    let codigo = ev
        .dato(CAMPOS_CODIGO)
        .ok_or_else(|| Error::bad_request(OTP_INCOMPLETO))?;
    estado
        .correo()
        .enviar(para, &correo::codigo_verificacion(&codigo))
        .await?;
    Ok(())
}

async fn enviar_enlace(estado: &Estado, ev: &Evento<'_>) -> Result<(), Error> {
    let para = ev
        .destinatario()
        .ok_or_else(|| Error::bad_request(SIN_DESTINATARIO))?;
    let enlace = ev
        .dato(CAMPOS_ENLACE)
        .ok_or_else(|| Error::bad_request(ENLACE_INCOMPLETO))?;
    let restablecer = es_restablecimiento(ev.datos.get("link_type"), &enlace);
    estado
        .correo()
        .enviar(para, &correo::enlace_acceso(&enlace, restablecer))
        .await?;
    Ok(())
}

/// platform.md §10.2: `link_type` decides when present (`forget-password` → reset); otherwise
/// the reference's substring rule on the link.
fn es_restablecimiento(link_type: Option<&Value>, enlace: &str) -> bool {
    match link_type.and_then(Value::as_str) {
        Some(t) => t == "forget-password",
        None => enlace.contains("reset") || enlace.contains("password"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for ok in ["ana@example.com", "a.b+c@sub.example.co", "x_y@a-b.io"] {
            assert!(email_valido(ok), "{ok}");
        }
        for malo in [
            "",
            "ana",
            "ana@",
            "@example.com",
            "ana@example",
            "ana@@example.com",
            "a b@example.com",
            "ana@exa mple.com",
            ".ana@example.com",
            "ana..b@example.com",
            "ana@-x.com",
            "ana@x.c0m",
            "ana@x..com",
            "ana@x.com.",
        ] {
            assert!(!email_valido(malo), "{malo}");
        }
    }

    #[test]
    fn variante_de_enlace() {
        let t = |s: &str| Some(Value::String(s.into()));
        assert!(es_restablecimiento(
            t("forget-password").as_ref(),
            "https://x/verify"
        ));
        assert!(!es_restablecimiento(
            t("email-verification").as_ref(),
            "https://x/reset-password"
        ));
        assert!(es_restablecimiento(None, "https://x/reset?t=1"));
        assert!(es_restablecimiento(None, "https://x/new-password"));
        assert!(!es_restablecimiento(None, "https://x/magic-link/verify"));
    }

    #[test]
    fn sobre_y_fuente_de_user_created() {
        let v = json!({"type": "user.created", "data": {"id": "n1", "email": "a@b.co", "name": null},
                       "event_data": "no-objeto"});
        let ev = Evento::de(&v);
        assert_eq!(ev.tipo, Some("user.created"));
        let id = identidad_de(&ev).unwrap();
        assert_eq!((id.neon_user_id.as_str(), id.nombre), ("n1", None));
        let v = json!({"event_type": "", "type": "send.otp", "payload": {"otp": 123456}});
        let ev = Evento::de(&v);
        assert_eq!(
            (ev.tipo, ev.dato(CAMPOS_CODIGO)),
            (Some("send.otp"), Some("123456".into()))
        );
    }
}
