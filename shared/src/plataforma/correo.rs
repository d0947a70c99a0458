//! The SMTP mailer of platform.md §10 (cargo feature `correo`): transport built once per
//! container, implicit TLS on port 465 and opportunistic STARTTLS elsewhere, a 3 s budget per
//! send, and the simulated mode of §10.1. Every interpolated value is HTML-escaped; codes and
//! links reach the log only in simulated mode outside production.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::plataforma::config::Smtp;
use crate::plataforma::error::Error;

/// Connect + send budget of one e-mail (platform.md §10.1: ≤ 3 s, webhook events are blocking).
pub const TIMEOUT_SMTP: Duration = Duration::from_secs(3);

pub const ERROR_CODIGO: &str = "Error al enviar el código de verificación";
pub const ERROR_CORREO: &str = "Error al enviar el correo";

const ASUNTO_CODIGO: &str = "Código de verificación - Sistema de Inventario";
const ASUNTO_RESTABLECER: &str = "Restablecer contraseña - Sistema de Inventario";
const ASUNTO_INICIO: &str = "Iniciar sesión - Sistema de Inventario";

/// One message of platform.md §10.2, ready to send.
#[derive(Debug)]
pub struct Mensaje {
    pub asunto: &'static str,
    pub html: String,
    pub texto: String,
    /// The mailer's 500 message when the send fails (§10.2, last column).
    pub error: &'static str,
    /// The code or link, logged only by the simulated mode outside production.
    secreto: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Envio {
    Enviado,
    /// `SMTP_USER` or the password is missing: nothing sent, counts as success (§10.1).
    Simulado,
}

/// The mailer of one container. The transport opens a connection per send (no pool): a Lambda
/// container is frozen between requests, so an idle SMTP connection would not survive anyway.
pub struct Correo {
    smtp: Smtp,
    transporte: Option<Result<AsyncSmtpTransport<Tokio1Executor>, String>>,
}

impl Correo {
    pub fn new(smtp: &Smtp) -> Self {
        let transporte = (!smtp.simulado()).then(|| transporte(smtp).map_err(|e| e.to_string()));
        Self {
            smtp: smtp.clone(),
            transporte,
        }
    }

    /// Sends `m` to `para`. A failure is a 500 with the message's own text (`m.error`).
    pub async fn enviar(&self, para: &str, m: &Mensaje) -> Result<Envio, Error> {
        let fallo = |cause: anyhow::Error| Error::InternoCon {
            public: m.error.into(),
            cause,
        };
        let Some(transporte) = &self.transporte else {
            tracing::info!(destinatario = %para, asunto = m.asunto, "correo simulado (SMTP sin credenciales)");
            if self.smtp.registrar_simulados {
                tracing::info!(destinatario = %para, contenido = %m.secreto, "correo simulado: contenido (solo desarrollo)");
            }
            return Ok(Envio::Simulado);
        };
        let transporte = transporte
            .as_ref()
            .map_err(|e| fallo(anyhow::anyhow!("transporte SMTP: {e}")))?;
        let remitente = self.smtp.from.as_deref().unwrap_or_default();
        let correo = construir(remitente, para, m).map_err(fallo)?;
        match tokio::time::timeout(TIMEOUT_SMTP, transporte.send(correo)).await {
            Ok(Ok(_)) => {
                tracing::info!(destinatario = %para, asunto = m.asunto, "correo enviado");
                Ok(Envio::Enviado)
            }
            Ok(Err(e)) => Err(fallo(anyhow::Error::new(e).context("enviando correo"))),
            Err(_) => Err(fallo(anyhow::anyhow!(
                "envío SMTP sin respuesta en {TIMEOUT_SMTP:?}"
            ))),
        }
    }
}

fn transporte(
    smtp: &Smtp,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, lettre::transport::smtp::Error> {
    let parametros = TlsParameters::new(smtp.host.clone())?;
    let tls = if smtp.port == 465 {
        Tls::Wrapper(parametros)
    } else {
        Tls::Opportunistic(parametros)
    };
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.as_str())
        .port(smtp.port)
        .tls(tls)
        .timeout(Some(TIMEOUT_SMTP));
    if let (Some(u), Some(p)) = (&smtp.usuario, &smtp.password) {
        b = b.credentials(Credentials::new(u.clone(), p.expose().to_string()));
    }
    Ok(b.build())
}

fn construir(remitente: &str, para: &str, m: &Mensaje) -> anyhow::Result<Message> {
    let from: Mailbox = remitente
        .parse()
        .map_err(|e| anyhow::anyhow!("remitente (EMAIL_FROM/SMTP_USER) inválido: {e}"))?;
    let to: Mailbox = para
        .trim()
        .parse()
        .map_err(|e| anyhow::anyhow!("destinatario inválido: {e}"))?;
    Ok(Message::builder()
        .from(from)
        .to(to)
        .subject(m.asunto)
        .multipart(MultiPart::alternative_plain_html(
            m.texto.clone(),
            m.html.clone(),
        ))?)
}

/// Escapes text for HTML content and attribute values.
pub fn escapar_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The single-column card layout shared by every message; `contenido` is already escaped HTML.
fn tarjeta(asunto: &str, titulo: &str, contenido: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="es">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{asunto}</title></head>
<body style="margin:0;padding:24px;background:#f4f4f5;font-family:Arial,Helvetica,sans-serif;color:#18181b;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0"><tr><td align="center">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:480px;background:#ffffff;border-radius:8px;padding:32px;">
<tr><td>
<h1 style="margin:0 0 16px;font-size:22px;">{titulo}</h1>
{contenido}
<p style="margin:32px 0 0;font-size:12px;color:#71717a;">Sistema de Inventario</p>
</td></tr></table>
</td></tr></table>
</body>
</html>"#,
        asunto = escapar_html(asunto),
        titulo = escapar_html(titulo),
    )
}

fn boton(texto: &str, enlace: &str) -> String {
    format!(
        r#"<p style="margin:24px 0;text-align:center;"><a href="{enlace}" style="display:inline-block;padding:12px 24px;background:#2563eb;color:#ffffff;text-decoration:none;border-radius:6px;font-weight:bold;">{texto}</a></p>
<p style="font-size:13px;color:#52525b;">Si el botón no funciona, copia y pega este enlace en tu navegador:</p>
<p style="font-size:13px;word-break:break-all;"><a href="{enlace}">{enlace}</a></p>"#,
        enlace = escapar_html(enlace),
        texto = escapar_html(texto),
    )
}

/// `send.otp` (platform.md §10.2): the sign-in verification code.
pub fn codigo_verificacion(codigo: &str) -> Mensaje {
    let titulo = "Código de verificación";
    let contenido = format!(
        r#"<p>Usa este código para verificar tu inicio de sesión en el Sistema de Inventario:</p>
<p style="margin:24px 0;font-size:32px;font-weight:bold;letter-spacing:8px;text-align:center;">{}</p>
<p style="font-size:13px;color:#52525b;">No compartas este código con nadie. Caduca en unos minutos.</p>
<p style="font-size:13px;color:#52525b;">Si no lo solicitaste, puedes ignorar este correo.</p>"#,
        escapar_html(codigo)
    );
    Mensaje {
        asunto: ASUNTO_CODIGO,
        html: tarjeta(ASUNTO_CODIGO, titulo, &contenido),
        texto: format!(
            "{titulo}\n\nTu código de verificación es: {codigo}\n\nNo compartas este código con nadie. \
             Caduca en unos minutos.\nSi no lo solicitaste, puedes ignorar este correo.\n"
        ),
        error: ERROR_CODIGO,
        secreto: format!("código {codigo}"),
    }
}

/// `send.magic_link` (platform.md §10.2): the password-reset or the sign-in variant.
pub fn enlace_acceso(enlace: &str, restablecer: bool) -> Mensaje {
    let (asunto, titulo, linea, accion) = if restablecer {
        (
            ASUNTO_RESTABLECER,
            "Restablecer tu contraseña",
            "Recibimos una solicitud para restablecer la contraseña de tu cuenta. Haz clic en el botón para elegir una nueva.",
            "Restablecer Contraseña",
        )
    } else {
        (
            ASUNTO_INICIO,
            "Enlace de inicio de sesión",
            "Haz clic en el botón para iniciar sesión de forma segura en el Sistema de Inventario.",
            "Iniciar Sesión",
        )
    };
    let contenido = format!(
        r#"<p>{}</p>
{}
<p style="font-size:13px;color:#52525b;">Si no lo solicitaste, puedes ignorar este correo.</p>"#,
        escapar_html(linea),
        boton(accion, enlace)
    );
    Mensaje {
        asunto,
        html: tarjeta(asunto, titulo, &contenido),
        texto: format!(
            "{titulo}\n\n{linea}\n\n{accion}: {enlace}\n\nSi no lo solicitaste, puedes ignorar este correo.\n"
        ),
        error: ERROR_CORREO,
        secreto: format!("enlace {enlace}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapa_todo_valor_interpolado() {
        assert_eq!(
            escapar_html(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        let m = codigo_verificacion("<b>12</b>");
        assert!(m.html.contains("&lt;b&gt;12&lt;/b&gt;"));
        assert!(!m.html.contains("<b>12"));
        let m = enlace_acceso(r#"https://x.test/?a=1&b="><script>"#, false);
        assert!(
            m.html
                .contains(r#"href="https://x.test/?a=1&amp;b=&quot;&gt;&lt;script&gt;""#)
        );
        assert!(!m.html.contains("<script>"));
    }

    #[test]
    fn asuntos_y_textos_de_platform_10_2() {
        let m = codigo_verificacion("123456");
        assert_eq!(m.asunto, "Código de verificación - Sistema de Inventario");
        assert_eq!(m.error, "Error al enviar el código de verificación");
        assert!(m.html.contains(">Código de verificación</h1>"));
        assert!(m.html.contains(">123456</p>"));
        let r = enlace_acceso("https://x.test/r", true);
        assert_eq!(r.asunto, "Restablecer contraseña - Sistema de Inventario");
        assert!(r.html.contains(">Restablecer tu contraseña</h1>"));
        assert!(r.html.contains(">Restablecer Contraseña</a>"));
        assert_eq!(r.error, "Error al enviar el correo");
        let s = enlace_acceso("https://x.test/s", false);
        assert_eq!(s.asunto, "Iniciar sesión - Sistema de Inventario");
        assert!(s.html.contains(">Enlace de inicio de sesión</h1>"));
        assert!(s.html.contains(">Iniciar Sesión</a>"));
        assert!(s.texto.contains("https://x.test/s"));
    }

    #[test]
    fn simulado_sin_usuario_o_password() {
        let smtp = Smtp {
            host: "smtp.example.com".into(),
            port: 465,
            usuario: Some("u".into()),
            password: None,
            from: None,
            registrar_simulados: false,
        };
        assert!(Correo::new(&smtp).transporte.is_none());
    }
}
