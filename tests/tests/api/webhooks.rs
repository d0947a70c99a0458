//! POST /api/webhooks/neon (platform.md §13, neon-auth.md §6): signature, JWKS cache, freshness,
//! event-id replay, user.created and the mail events. The JWKS and SMTP servers are tiny
//! loopback servers started by each test; signatures are made here with `ed25519-dalek`,
//! independently of the function's own code.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};
use shared::Config;
use shared::config::{ListaEmails, Secreto};
use tests::{App, Opciones, Res, leer_evento, spawn_app_con};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

const RUTA: &str = "/api/webhooks/neon";
const FIRMA_INVALIDA: &str = "Firma de webhook inválida";

// neon-auth.md §6.3 test vector.
const SEMILLA_VECTOR: [u8; 32] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
    26, 27, 28, 29, 30, 31,
];
const JWKS_VECTOR: &str = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg","kid":"test-key-1","alg":"EdDSA","use":"sig"}]}"#;
const CUERPO_VECTOR: &str = r#"{"event_id":"00000000-0000-4000-8000-000000000001","event_type":"user.created","timestamp":"2026-01-01T00:00:00.000Z","user":{"id":"11111111-1111-4111-8111-111111111111","email":"ana@example.com","name":"Ana"},"event_data":{"auth_provider":"credential"}}"#;
const TS_VECTOR: i64 = 1_767_225_600_000;
const FIRMA_VECTOR: &str = "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXUyIsImtpZCI6InRlc3Qta2V5LTEifQ..L3BXhu-Kqh6H1EIpopoOZoTZa46GXWPPZUybQ6-N9mGaYenCx2LCkulqibbrXEqa9rClnD66uFf5SLCEcs11DQ";

fn ahora_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn nuevo_id() -> String {
    format!("evt-{:016x}", rand::random::<u64>())
}

fn jwk(sk: &SigningKey, kid: &str) -> Value {
    json!({"kty": "OKP", "crv": "Ed25519", "x": B64.encode(sk.verifying_key().to_bytes()),
           "kid": kid, "alg": "EdDSA", "use": "sig"})
}

/// A detached JWS as Neon sends it (neon-auth.md §6.3 step 5).
fn firmar(sk: &SigningKey, alg: &str, ts: &str, cuerpo: &str) -> String {
    let protegido = B64.encode(json!({"alg": alg, "typ": "JWS", "kid": "k"}).to_string());
    let s = format!("{ts}.{}", B64.encode(cuerpo));
    let entrada = format!("{protegido}.{}", B64.encode(s));
    format!(
        "{protegido}..{}",
        B64.encode(sk.sign(entrada.as_bytes()).to_bytes())
    )
}

// ---------------------------------------------------------------------------------------------
// Loopback servers.

/// Serves `{"keys": …}` on any path and counts the requests.
struct ServidorJwks {
    base: String,
    cuerpo: Arc<Mutex<String>>,
    descargas: Arc<AtomicUsize>,
}

impl ServidorJwks {
    async fn nuevo(cuerpo: String) -> Self {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        // A random path keeps each test's entry of the per-process JWKS cache apart.
        let base = format!(
            "http://{}/t{:x}",
            l.local_addr().unwrap(),
            rand::random::<u64>()
        );
        let cuerpo = Arc::new(Mutex::new(cuerpo));
        let descargas = Arc::new(AtomicUsize::new(0));
        let (c, d) = (cuerpo.clone(), descargas.clone());
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let (c, d) = (c.clone(), d.clone());
                tokio::spawn(async move {
                    let mut leido = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !leido.windows(4).any(|w| w == b"\r\n\r\n") {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => leido.extend_from_slice(&buf[..n]),
                        }
                    }
                    d.fetch_add(1, Ordering::SeqCst);
                    let cuerpo = c.lock().unwrap().clone();
                    let res = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{cuerpo}",
                        cuerpo.len()
                    );
                    let _ = s.write_all(res.as_bytes()).await;
                    let _ = s.shutdown().await;
                });
            }
        });
        Self {
            base,
            cuerpo,
            descargas,
        }
    }
    fn claves(&self, claves: &[Value]) {
        *self.cuerpo.lock().unwrap() = json!({ "keys": claves }).to_string();
    }
    fn descargas(&self) -> usize {
        self.descargas.load(Ordering::SeqCst)
    }
}

/// A loopback port with nothing listening.
async fn puerto_cerrado() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

#[derive(Clone, Debug)]
struct CorreoRecibido {
    rcpt: Vec<String>,
    datos: String,
}

/// Just enough ESMTP for lettre (no STARTTLS offered, AUTH PLAIN accepted); records each message
/// and waits `retraso` before acknowledging it.
async fn servidor_smtp(l: TcpListener, retraso: Duration) -> Arc<Mutex<Vec<CorreoRecibido>>> {
    let correos = Arc::new(Mutex::new(Vec::new()));
    let c = correos.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            tokio::spawn(sesion_smtp(s, c.clone(), retraso));
        }
    });
    correos
}

async fn sesion_smtp(s: TcpStream, correos: Arc<Mutex<Vec<CorreoRecibido>>>, retraso: Duration) {
    let (r, mut w) = s.into_split();
    let mut lineas = BufReader::new(r).lines();
    let _ = w.write_all(b"220 prueba ESMTP\r\n").await;
    let mut rcpt = Vec::new();
    while let Ok(Some(l)) = lineas.next_line().await {
        let orden = l.to_ascii_uppercase();
        let respuesta: &[u8] = if orden.starts_with("EHLO") {
            b"250-prueba\r\n250 AUTH PLAIN LOGIN\r\n"
        } else if orden.starts_with("AUTH") {
            b"235 2.7.0 ok\r\n"
        } else if orden.starts_with("RCPT") {
            rcpt.push(l.clone());
            b"250 ok\r\n"
        } else if orden == "DATA" {
            let _ = w.write_all(b"354 adelante\r\n").await;
            let mut datos = String::new();
            while let Ok(Some(d)) = lineas.next_line().await {
                if d == "." {
                    break;
                }
                datos.push_str(&d);
                datos.push('\n');
            }
            tokio::time::sleep(retraso).await;
            correos.lock().unwrap().push(CorreoRecibido {
                rcpt: std::mem::take(&mut rcpt),
                datos,
            });
            b"250 en cola\r\n"
        } else if orden.starts_with("QUIT") {
            let _ = w.write_all(b"221 adios\r\n").await;
            return;
        } else {
            b"250 ok\r\n"
        };
        let _ = w.write_all(respuesta).await;
    }
}

fn smtp_real(port: u16) -> impl FnOnce(&mut Config) {
    move |c: &mut Config| {
        c.smtp.host = "127.0.0.1".into();
        c.smtp.port = port;
        c.smtp.usuario = Some("inventario".into());
        c.smtp.password = Some(Secreto::new("clave-smtp"));
        c.smtp.from = Some("Inventario <no-reply@inventario.test>".into());
    }
}

// ---------------------------------------------------------------------------------------------
// A test app wired to its own JWKS server, and signed deliveries.

struct Prueba {
    app: App,
    jwks: ServidorJwks,
    sk: SigningKey,
    kid: String,
}

/// A delivery before it is sent: body and headers, editable after signing.
struct Entrega {
    cuerpo: String,
    cabeceras: Vec<(String, String)>,
}

impl Entrega {
    fn con(mut self, k: &str, v: &str) -> Self {
        self.cabeceras.retain(|(x, _)| x != k);
        self.cabeceras.push((k.to_string(), v.to_string()));
        self
    }
    fn sin(mut self, k: &str) -> Self {
        self.cabeceras.retain(|(x, _)| x != k);
        self
    }
    fn cuerpo(mut self, c: &str) -> Self {
        self.cuerpo = c.to_string();
        self
    }
}

impl Prueba {
    async fn nueva() -> Self {
        Self::con(|_| {}).await
    }

    async fn con(ajustar: impl FnOnce(&mut Config) + Send + 'static) -> Self {
        let sk = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
        let kid = format!("kid-{:x}", rand::random::<u32>());
        let jwks = ServidorJwks::nuevo(json!({ "keys": [jwk(&sk, &kid)] }).to_string()).await;
        let base = jwks.base.clone();
        let app = spawn_app_con(Opciones {
            ajustar: Some(Box::new(move |c| {
                c.neon_auth_base_url = Some(base);
                ajustar(c);
            })),
            ..Default::default()
        })
        .await;
        Self { app, jwks, sk, kid }
    }

    /// A delivery signed with this test's key at `ts`, with a fresh event id.
    fn entrega_en(&self, cuerpo: &str, ts: i64) -> Entrega {
        let ts = ts.to_string();
        Entrega {
            cuerpo: cuerpo.to_string(),
            cabeceras: vec![
                ("content-type".into(), "application/json".into()),
                (
                    "x-neon-signature".into(),
                    firmar(&self.sk, "EdDSA", &ts, cuerpo),
                ),
                ("x-neon-signature-kid".into(), self.kid.clone()),
                ("x-neon-timestamp".into(), ts),
                ("x-neon-event-id".into(), nuevo_id()),
                ("x-neon-delivery-attempt".into(), "1".into()),
            ],
        }
    }

    fn entrega(&self, cuerpo: &str) -> Entrega {
        self.entrega_en(cuerpo, ahora_ms())
    }

    /// Through the harness (real clock, the same dispatch as template.yaml).
    async fn enviar(&self, e: &Entrega) -> Res {
        let mut p = self.app.post(RUTA).cuerpo(&e.cuerpo);
        for (k, v) in &e.cabeceras {
            p = p.cabecera(k, v);
        }
        p.send().await
    }

    /// With an injected clock.
    async fn enviar_en(&self, e: &Entrega, ahora: i64) -> Res {
        let mut p = self.app.post(RUTA).cuerpo(&e.cuerpo);
        for (k, v) in &e.cabeceras {
            p = p.cabecera(k, v);
        }
        let req = lambda_http::request::from_str(&p.evento().to_string()).unwrap();
        Res::de(::webhooks::handle_con_reloj(&self.app.estado, req, ahora).await)
    }

    async fn contar(&self, sql: &str) -> i64 {
        self.app.contar(sql, &[]).await
    }

    async fn usuarios(&self) -> i64 {
        self.contar(r#"SELECT count(*) FROM "Usuario""#).await
    }

    async fn empresas(&self) -> i64 {
        self.contar(r#"SELECT count(*) FROM "Empresa""#).await
    }
}

fn user_created(id: &str, email: &str, nombre: Value, verificado: bool) -> String {
    json!({
        "event_id": nuevo_id(), "event_type": "user.created", "timestamp": "2026-01-01T00:00:00.000Z",
        "context": {"endpoint_id": "ep-prueba", "project_name": "inventario"},
        "user": {"id": id, "email": email, "name": nombre, "email_verified": verificado},
        "event_data": {"auth_provider": "credential"}
    })
    .to_string()
}

fn send_otp(user: Value, datos: Value) -> String {
    json!({"event_id": nuevo_id(), "event_type": "send.otp", "user": user, "event_data": datos})
        .to_string()
}

fn send_magic_link(user: Value, datos: Value) -> String {
    json!({"event_id": nuevo_id(), "event_type": "send.magic_link", "user": user, "event_data": datos})
        .to_string()
}

/// `(status, body)`; key order is not significant (platform.md §1.4).
fn aceptado(r: &Res) -> (u16, Value) {
    (r.status, r.body.clone())
}

fn ok() -> (u16, Value) {
    (200, json!({"success": true, "allowed": true}))
}

// ---------------------------------------------------------------------------------------------
// Signature.

#[tokio::test]
async fn vector_de_neon_auth_crea_empresa_y_usuario() {
    let jwks = ServidorJwks::nuevo(JWKS_VECTOR.into()).await;
    let base = jwks.base.clone();
    let app = spawn_app_con(Opciones {
        ajustar: Some(Box::new(move |c| c.neon_auth_base_url = Some(base))),
        ..Default::default()
    })
    .await;
    // The stored API Gateway event as it is, so events/webhooks/neon.json cannot drift.
    let ev = leer_evento("webhooks/neon");
    assert_eq!(ev["body"], CUERPO_VECTOR);
    assert_eq!(ev["headers"]["x-neon-signature"], FIRMA_VECTOR);
    let enviar = |ahora: i64| {
        let req = lambda_http::request::from_str(&ev.to_string()).unwrap();
        let estado = app.estado.clone();
        async move { Res::de(::webhooks::handle_con_reloj(&estado, req, ahora).await) }
    };
    // With the real clock the vector is stale.
    assert_eq!(enviar(ahora_ms()).await.err(), (401, FIRMA_INVALIDA));
    let r = enviar(TS_VECTOR + 1_000).await;
    assert_eq!(aceptado(&r), ok());
    let f = app
        .pg
        .query_one(
            r#"SELECT u."email", u."nombre", u."rol"::text, u."estado"::text, e."nombre"
               FROM "Usuario" u JOIN "Empresa" e ON e."id" = u."empresaId"
               WHERE u."neonAuthId" = '11111111-1111-4111-8111-111111111111'"#,
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            f.get::<_, String>(0),
            f.get::<_, String>(1),
            f.get::<_, String>(2),
            f.get::<_, String>(3),
            f.get::<_, String>(4)
        ),
        (
            "ana@example.com".into(),
            "Ana".into(),
            "ADMIN".into(),
            "ACTIVO".into(),
            "Empresa de ana@example.com".into()
        )
    );
    assert_eq!(
        app.contar(r#"SELECT count(*) FROM "Empresa""#, &[]).await,
        1
    );
    let f = app
        .pg
        .query_one(
            r#"SELECT "tipo", "status", "cuerpo" FROM inventario.webhook_evento
               WHERE "eventId" = '00000000-0000-4000-8000-000000000001'"#,
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        f.get::<_, Option<String>>(0).as_deref(),
        Some("user.created")
    );
    assert_eq!(f.get::<_, i32>(1), 200);
    assert_eq!(
        f.get::<_, Value>(2),
        json!({"success": true, "allowed": true})
    );
    assert_eq!(jwks.descargas(), 1);
    // The vector's key is deterministic from the seed of neon-auth.md §6.3.
    let sk = SigningKey::from_bytes(&SEMILLA_VECTOR);
    assert_eq!(
        jwk(&sk, "test-key-1")["x"],
        "A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg"
    );
}

#[tokio::test]
async fn cuerpo_alterado_o_clave_ajena_es_401() {
    let p = Prueba::nueva().await;
    let cuerpo = user_created("neon-alterado", "alterado@example.com", json!("A"), false);
    let e = p.entrega(&cuerpo);
    // One byte changed after signing.
    let alterado = cuerpo.replace("alterado@", "alterada@");
    assert_eq!(
        p.enviar(&e.cuerpo(&alterado)).await.err(),
        (401, FIRMA_INVALIDA)
    );
    // Same kid, another private key.
    let otra = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
    let ts = ahora_ms().to_string();
    let e = p
        .entrega(&cuerpo)
        .con("x-neon-timestamp", &ts)
        .con("x-neon-signature", &firmar(&otra, "EdDSA", &ts, &cuerpo));
    assert_eq!(p.enviar(&e).await.err(), (401, FIRMA_INVALIDA));
    // The signature binds the timestamp too.
    let t = ahora_ms();
    let e = p
        .entrega_en(&cuerpo, t)
        .con("x-neon-timestamp", &(t - 1).to_string());
    assert_eq!(p.enviar(&e).await.err(), (401, FIRMA_INVALIDA));
    assert_eq!((p.usuarios().await, p.empresas().await), (0, 0));
    assert_eq!(
        p.contar("SELECT count(*) FROM inventario.webhook_evento")
            .await,
        0
    );
    // The untouched delivery passes, so the 401s above are about the changes.
    assert_eq!(aceptado(&p.enviar(&p.entrega(&cuerpo)).await), ok());
    assert_eq!(p.usuarios().await, 1);
}

#[tokio::test]
async fn cabeceras_y_jws_mal_formados_son_401() {
    let p = Prueba::nueva().await;
    let cuerpo = user_created("neon-cab", "cab@example.com", Value::Null, false);
    for falta in [
        "x-neon-signature",
        "x-neon-signature-kid",
        "x-neon-timestamp",
    ] {
        let r = p.enviar(&p.entrega(&cuerpo).sin(falta)).await;
        assert_eq!(r.err(), (401, FIRMA_INVALIDA), "sin {falta}");
    }
    let ts = ahora_ms().to_string();
    let buena = firmar(&p.sk, "EdDSA", &ts, &cuerpo);
    let (protegido, firma) = buena.split_once("..").unwrap();
    // Non-empty middle part (the attached payload), otherwise a valid signature.
    let con_medio = format!("{protegido}.{}.{firma}", B64.encode(&cuerpo));
    // alg other than EdDSA, correctly signed with the right key.
    let hs256 = firmar(&p.sk, "HS256", &ts, &cuerpo);
    let sin_alg = {
        let prot = B64.encode(r#"{"typ":"JWS"}"#);
        let entrada = format!(
            "{prot}.{}",
            B64.encode(format!("{ts}.{}", B64.encode(&cuerpo)))
        );
        format!(
            "{prot}..{}",
            B64.encode(p.sk.sign(entrada.as_bytes()).to_bytes())
        )
    };
    let casos = [
        ("parte central no vacía", con_medio),
        ("alg HS256", hs256),
        ("sin alg", sin_alg),
        ("dos partes", format!("{protegido}.{firma}")),
        ("cuatro partes", format!("{buena}.")),
        ("firma no base64url", format!("{protegido}..{firma}=")),
        ("firma corta", format!("{protegido}..{}", &firma[..40])),
    ];
    for (caso, valor) in casos {
        let e = p
            .entrega(&cuerpo)
            .con("x-neon-timestamp", &ts)
            .con("x-neon-signature", &valor);
        assert_eq!(p.enviar(&e).await.err(), (401, FIRMA_INVALIDA), "{caso}");
    }
    assert_eq!(p.usuarios().await, 0);
    let e = p
        .entrega(&cuerpo)
        .con("x-neon-timestamp", &ts)
        .con("x-neon-signature", &buena);
    assert_eq!(aceptado(&p.enviar(&e).await), ok());
}

#[tokio::test]
async fn ventana_de_cinco_minutos_pasado_y_futuro() {
    let p = Prueba::nueva().await;
    let cuerpo = user_created("neon-ts", "ts@example.com", json!("T"), false);
    let ahora = ahora_ms();
    for (caso, ts) in [
        ("6 minutos antes", ahora - 360_000),
        ("6 minutos después", ahora + 360_000),
    ] {
        let r = p.enviar_en(&p.entrega_en(&cuerpo, ts), ahora).await;
        assert_eq!(r.err(), (401, FIRMA_INVALIDA), "{caso}");
    }
    // Correctly signed over a non-numeric timestamp (the reference let NaN through).
    for ts in ["abc", "1767225600000.5", "-1", " 1767225600000", ""] {
        let e = p
            .entrega(&cuerpo)
            .con("x-neon-timestamp", ts)
            .con("x-neon-signature", &firmar(&p.sk, "EdDSA", ts, &cuerpo));
        assert_eq!(p.enviar(&e).await.err(), (401, FIRMA_INVALIDA), "{ts:?}");
    }
    assert_eq!(p.usuarios().await, 0);
    // 4 minutes either way is inside the window.
    let r = p
        .enviar_en(&p.entrega_en(&cuerpo, ahora - 240_000), ahora)
        .await;
    assert_eq!(aceptado(&r), ok());
    let r = p
        .enviar_en(&p.entrega_en(&cuerpo, ahora + 240_000), ahora)
        .await;
    assert_eq!(aceptado(&r), ok());
    assert_eq!(p.usuarios().await, 1);
}

#[tokio::test]
async fn jwks_en_cache_una_hora() {
    let p = Prueba::nueva().await;
    let t0 = ahora_ms();
    let cuerpo = json!({"event_type": "user.before_create"}).to_string();
    for dt in [0, 1_000, 59 * 60_000] {
        let r = p.enviar_en(&p.entrega_en(&cuerpo, t0 + dt), t0 + dt).await;
        assert_eq!(aceptado(&r), ok());
    }
    assert_eq!(p.jwks.descargas(), 1);
    let t1 = t0 + 61 * 60_000;
    let r = p.enviar_en(&p.entrega_en(&cuerpo, t1), t1).await;
    assert_eq!(aceptado(&r), ok());
    assert_eq!(p.jwks.descargas(), 2);
}

#[tokio::test]
async fn kid_desconocido_una_sola_redescarga_por_minuto() {
    let p = Prueba::nueva().await;
    let t0 = ahora_ms();
    let cuerpo = json!({"event_type": "user.before_create"}).to_string();
    let r = p.enviar_en(&p.entrega_en(&cuerpo, t0), t0).await;
    assert_eq!(aceptado(&r), ok());
    assert_eq!(p.jwks.descargas(), 1);
    let desconocida = |ts: i64| {
        p.entrega_en(&cuerpo, ts)
            .con("x-neon-signature-kid", "otro-kid")
    };
    assert_eq!(
        p.enviar_en(&desconocida(t0), t0).await.err(),
        (401, FIRMA_INVALIDA)
    );
    assert_eq!(p.jwks.descargas(), 2);
    for dt in [1_000, 59_000] {
        let r = p.enviar_en(&desconocida(t0 + dt), t0 + dt).await;
        assert_eq!(r.err(), (401, FIRMA_INVALIDA));
    }
    assert_eq!(p.jwks.descargas(), 2);
    // A minute later another unknown kid may re-fetch again.
    let r = p.enviar_en(&desconocida(t0 + 61_000), t0 + 61_000).await;
    assert_eq!(r.err(), (401, FIRMA_INVALIDA));
    assert_eq!(p.jwks.descargas(), 3);
}

#[tokio::test]
async fn rotacion_de_clave_se_descubre_con_una_redescarga() {
    let p = Prueba::nueva().await;
    let t0 = ahora_ms();
    let cuerpo = json!({"event_type": "user.before_create"}).to_string();
    assert_eq!(
        aceptado(&p.enviar_en(&p.entrega_en(&cuerpo, t0), t0).await),
        ok()
    );
    let nueva = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
    p.jwks.claves(&[jwk(&p.sk, &p.kid), jwk(&nueva, "rotada")]);
    let ts = (t0 + 5_000).to_string();
    let e = p
        .entrega_en(&cuerpo, t0 + 5_000)
        .con("x-neon-signature-kid", "rotada")
        .con("x-neon-signature", &firmar(&nueva, "EdDSA", &ts, &cuerpo));
    assert_eq!(aceptado(&p.enviar_en(&e, t0 + 5_000).await), ok());
    assert_eq!(p.jwks.descargas(), 2);
    // Only Ed25519 entries count: an RSA key under the requested kid is no key.
    p.jwks
        .claves(&[json!({"kty": "RSA", "kid": "rsa", "n": "AQAB", "e": "AQAB"})]);
    let e = p
        .entrega_en(&cuerpo, t0 + 70_000)
        .con("x-neon-signature-kid", "rsa");
    assert_eq!(
        p.enviar_en(&e, t0 + 70_000).await.err(),
        (401, FIRMA_INVALIDA)
    );
    assert_eq!(p.jwks.descargas(), 3);
}

#[tokio::test]
async fn sin_jwks_alcanzable_o_configurado_es_401() {
    let puerto = puerto_cerrado().await;
    let p = Prueba::con(move |c| {
        c.neon_auth_base_url = Some(format!("http://127.0.0.1:{puerto}"));
    })
    .await;
    let cuerpo = user_created("neon-caido", "caido@example.com", json!("C"), false);
    assert_eq!(
        p.enviar(&p.entrega(&cuerpo)).await.err(),
        (401, FIRMA_INVALIDA)
    );
    // NEON_AUTH_BASE_URL unset (and no JWKS override).
    let p = Prueba::con(|c| {
        c.neon_auth_base_url = None;
        c.neon_auth_jwks_url = None;
    })
    .await;
    assert_eq!(
        p.enviar(&p.entrega(&cuerpo)).await.err(),
        (401, FIRMA_INVALIDA)
    );
    // JWKS that is not JSON.
    let p = Prueba::nueva().await;
    *p.jwks.cuerpo.lock().unwrap() = "<html>no</html>".into();
    assert_eq!(
        p.enviar(&p.entrega(&cuerpo)).await.err(),
        (401, FIRMA_INVALIDA)
    );
    assert_eq!(p.usuarios().await, 0);
}

#[tokio::test]
async fn neon_auth_jwks_url_tiene_prioridad() {
    let sk = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
    let jwks = ServidorJwks::nuevo(json!({"keys": [jwk(&sk, "k1")]}).to_string()).await;
    let url = format!("{}/claves.json", jwks.base);
    let puerto = puerto_cerrado().await;
    let app = spawn_app_con(Opciones {
        ajustar: Some(Box::new(move |c| {
            // The base URL points nowhere: only the override can work.
            c.neon_auth_base_url = Some(format!("http://127.0.0.1:{puerto}"));
            c.neon_auth_jwks_url = Some(url);
        })),
        ..Default::default()
    })
    .await;
    let cuerpo = json!({"event_type": "user.before_create"}).to_string();
    let ts = ahora_ms().to_string();
    let r = app
        .post(RUTA)
        .cuerpo(&cuerpo)
        .cabecera("x-neon-signature", &firmar(&sk, "EdDSA", &ts, &cuerpo))
        .cabecera("x-neon-signature-kid", "k1")
        .cabecera("x-neon-timestamp", &ts)
        .send()
        .await;
    assert_eq!(aceptado(&r), ok());
    assert_eq!(jwks.descargas(), 1);
}

// ---------------------------------------------------------------------------------------------
// Body and dispatch.

#[tokio::test]
async fn cuerpo_en_base64_de_api_gateway_se_verifica_sobre_los_bytes() {
    let p = Prueba::nueva().await;
    // Non-ASCII and spacing that a re-serialisation would change: the raw bytes are signed.
    let cuerpo = "{ \"event_type\": \"user.created\",  \"user\": {\"id\": \"neon-b64\", \"email\": \"nuno@example.com\", \"name\": \"Nuño\"} }";
    let e = p.entrega(cuerpo);
    let mut pet = p.app.post(RUTA).cuerpo_binario(cuerpo.as_bytes());
    for (k, v) in &e.cabeceras {
        pet = pet.cabecera(k, v);
    }
    assert_eq!(aceptado(&pet.send().await), ok());
    let nombre: String = p
        .app
        .pg
        .query_one(
            r#"SELECT "nombre" FROM "Usuario" WHERE "neonAuthId" = 'neon-b64'"#,
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(nombre, "Nuño");
}

#[tokio::test]
async fn cuerpo_invalido_o_null_es_400() {
    let p = Prueba::nueva().await;
    for cuerpo in ["{no es json", "", "null", " null ", "\u{feff}{}"] {
        let r = p.enviar(&p.entrega(cuerpo)).await;
        assert_eq!(r.err(), (400, "Payload inválido"), "{cuerpo:?}");
    }
    // Accepted without action: user.before_create, unknown types, no type and no id.
    for cuerpo in [
        json!({"event_type": "user.before_create", "user": {"id": "x", "email": "x@example.com"}}),
        json!({"event_type": "algo.nuevo", "user": {"id": "y", "email": "y@example.com"}}),
        json!({"user": {"email": "z@example.com"}}),
        json!([1, 2]),
    ] {
        let r = p.enviar(&p.entrega(&cuerpo.to_string())).await;
        assert_eq!(aceptado(&r), ok(), "{cuerpo}");
    }
    assert_eq!((p.usuarios().await, p.empresas().await), (0, 0));
}

#[tokio::test]
async fn solo_post() {
    let p = Prueba::nueva().await;
    let r = p.app.get(RUTA).send().await;
    assert_eq!(r.err(), (405, "Método no permitido"));
    assert_eq!(r.header("allow"), Some("POST"));
}

#[tokio::test]
async fn fallo_de_base_de_datos_es_500_generico() {
    let p = Prueba::nueva().await;
    p.app
        .pg
        .batch_execute(r#"ALTER TABLE "Usuario" RENAME TO "UsuarioRoto""#)
        .await
        .unwrap();
    let cuerpo = user_created("neon-500", "roto@example.com", json!("R"), false);
    let e = p.entrega(&cuerpo);
    assert_eq!(
        p.enviar(&e).await.err(),
        (500, "Error interno procesando webhook")
    );
    // A 5xx is not remembered: Neon's retry (same event id) runs the event again.
    assert_eq!(
        p.contar("SELECT count(*) FROM inventario.webhook_evento")
            .await,
        0
    );
    p.app
        .pg
        .batch_execute(r#"ALTER TABLE "UsuarioRoto" RENAME TO "Usuario""#)
        .await
        .unwrap();
    assert_eq!(aceptado(&p.enviar(&e).await), ok());
    assert_eq!(p.usuarios().await, 1);
}

// ---------------------------------------------------------------------------------------------
// Replay by X-Neon-Event-Id.

#[tokio::test]
async fn evento_repetido_responde_lo_mismo_sin_procesar() {
    let p = Prueba::nueva().await;
    let cuerpo = user_created("neon-rep", "rep@example.com", json!("Rep"), false);
    let e = p.entrega(&cuerpo);
    assert_eq!(aceptado(&p.enviar(&e).await), ok());
    assert_eq!(p.usuarios().await, 1);
    // Remove what the event created: a replay must not create it again…
    p.app
        .pg
        .batch_execute(r#"DELETE FROM "Empresa""#)
        .await
        .unwrap();
    let repetida = p.entrega(&cuerpo).con(
        "x-neon-event-id",
        &e.cabeceras
            .iter()
            .find(|(k, _)| k == "x-neon-event-id")
            .unwrap()
            .1,
    );
    assert_eq!(aceptado(&p.enviar(&repetida).await), ok());
    assert_eq!((p.usuarios().await, p.empresas().await), (0, 0));
    // …while the same body under a new event id does.
    assert_eq!(aceptado(&p.enviar(&p.entrega(&cuerpo)).await), ok());
    assert_eq!((p.usuarios().await, p.empresas().await), (1, 1));

    // A 400 is final too: the same id answers 400 even with a now complete body.
    let id = nuevo_id();
    let incompleto = send_otp(json!({"email": "otp@example.com"}), json!({}));
    let r = p
        .enviar(&p.entrega(&incompleto).con("x-neon-event-id", &id))
        .await;
    assert_eq!(
        r.err(),
        (400, "Payload de send.otp incompleto (falta otp/code)")
    );
    let completo = send_otp(
        json!({"email": "otp@example.com"}),
        json!({"otp_code": "123456"}),
    );
    let r = p
        .enviar(&p.entrega(&completo).con("x-neon-event-id", &id))
        .await;
    assert_eq!(
        r.err(),
        (400, "Payload de send.otp incompleto (falta otp/code)")
    );
    assert_eq!(aceptado(&p.enviar(&p.entrega(&completo)).await), ok());
    let f = p
        .app
        .pg
        .query_one(
            r#"SELECT "status", "cuerpo" FROM inventario.webhook_evento WHERE "eventId" = $1"#,
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(f.get::<_, i32>(0), 400);
    assert_eq!(
        f.get::<_, Value>(1),
        json!({"error": "Payload de send.otp incompleto (falta otp/code)"})
    );
}

#[tokio::test]
async fn entregas_concurrentes_del_mismo_evento_envian_un_solo_correo() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let puerto = l.local_addr().unwrap().port();
    let correos = servidor_smtp(l, Duration::from_millis(300)).await;
    let p = Prueba::con(smtp_real(puerto)).await;
    let cuerpo = send_otp(
        json!({"email": "doble@example.com"}),
        json!({"otp_code": "481516"}),
    );
    let e = p.entrega(&cuerpo);
    let (a, b) = tokio::join!(p.enviar(&e), p.enviar(&e));
    assert_eq!(aceptado(&a), ok());
    assert_eq!(aceptado(&b), ok());
    assert_eq!(correos.lock().unwrap().len(), 1);
    // A third, later retry is answered from the table.
    assert_eq!(aceptado(&p.enviar(&e).await), ok());
    assert_eq!(correos.lock().unwrap().len(), 1);
    // Without an event id there is nothing to deduplicate.
    let sin_id = p.entrega(&cuerpo).sin("x-neon-event-id");
    assert_eq!(aceptado(&p.enviar(&sin_id).await), ok());
    assert_eq!(correos.lock().unwrap().len(), 2);
}

// ---------------------------------------------------------------------------------------------
// user.created

#[tokio::test]
async fn user_created_dos_veces_una_sola_empresa() {
    let p = Prueba::nueva().await;
    let cuerpo = user_created("neon-dos", "Dos@Example.com", Value::Null, false);
    assert_eq!(aceptado(&p.enviar(&p.entrega(&cuerpo)).await), ok());
    assert_eq!(aceptado(&p.enviar(&p.entrega(&cuerpo)).await), ok());
    assert_eq!((p.usuarios().await, p.empresas().await), (1, 1));
    // `name: null` is absent: nombre falls back to the (lower-cased) e-mail.
    let f = p
        .app
        .pg
        .query_one(
            r#"SELECT u."email", u."nombre", e."nombre" FROM "Usuario" u
               JOIN "Empresa" e ON e."id" = u."empresaId" WHERE u."neonAuthId" = 'neon-dos'"#,
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            f.get::<_, String>(0),
            f.get::<_, String>(1),
            f.get::<_, String>(2)
        ),
        (
            "dos@example.com".into(),
            "dos@example.com".into(),
            "Empresa de dos@example.com".into()
        )
    );
    assert_eq!(
        p.contar("SELECT count(*) FROM inventario.webhook_evento")
            .await,
        2
    );
}

#[tokio::test]
async fn user_created_forma_antigua_y_data() {
    let p = Prueba::nueva().await;
    // Legacy: the user at the top level, no event type.
    let legado = json!({"id": "neon-legado", "email": "legado@example.com", "name": "Legado"});
    assert_eq!(
        aceptado(&p.enviar(&p.entrega(&legado.to_string())).await),
        ok()
    );
    // The reference's unit-test shape: `type` + `data`.
    let data = json!({"type": "user.created",
                      "data": {"id": "neon-data", "email": "data@example.com", "name": "Data"}});
    assert_eq!(
        aceptado(&p.enviar(&p.entrega(&data.to_string())).await),
        ok()
    );
    let filas = p
        .app
        .pg
        .query(
            r#"SELECT "neonAuthId", "nombre" FROM "Usuario" ORDER BY "neonAuthId""#,
            &[],
        )
        .await
        .unwrap();
    let filas: Vec<(String, String)> = filas.iter().map(|f| (f.get(0), f.get(1))).collect();
    assert_eq!(
        filas,
        vec![
            ("neon-data".into(), "Data".into()),
            ("neon-legado".into(), "Legado".into())
        ]
    );
    assert_eq!(p.empresas().await, 2);
}

#[tokio::test]
async fn user_created_invalido_es_400() {
    let p = Prueba::nueva().await;
    let casos = [
        (
            "sin id",
            json!({"event_type": "user.created", "user": {"email": "a@example.com"}}),
        ),
        (
            "id vacío",
            json!({"event_type": "user.created", "user": {"id": "", "email": "a@example.com"}}),
        ),
        (
            "id numérico",
            json!({"event_type": "user.created", "user": {"id": 7, "email": "a@example.com"}}),
        ),
        (
            "sin email",
            json!({"event_type": "user.created", "user": {"id": "n1"}}),
        ),
        (
            "email inválido",
            json!({"event_type": "user.created", "user": {"id": "n1", "email": "no-es-email"}}),
        ),
        (
            "name numérico",
            json!({"event_type": "user.created", "user": {"id": "n1", "email": "a@example.com", "name": 5}}),
        ),
        ("legado sin email", json!({"id": "n2", "name": "x"})),
    ];
    for (caso, cuerpo) in casos {
        let r = p.enviar(&p.entrega(&cuerpo.to_string())).await;
        assert_eq!(
            r.err(),
            (400, "Payload inválido para evento user.created"),
            "{caso}"
        );
    }
    assert_eq!((p.usuarios().await, p.empresas().await), (0, 0));
}

#[tokio::test]
async fn user_created_revincula_pendiente_verificado_y_notifica() {
    let p = Prueba::nueva().await;
    let e = p.app.empresa().await;
    let (admin, _) = p.app.admin(&e).await;
    let super_admin = p.app.usuario(&e, "SUPER_ADMIN", "ACTIVO", &[]).await;
    p.app.usuario(&e, "ADMIN", "SUSPENDIDO", &[]).await;
    p.app
        .pg
        .execute(
            r#"INSERT INTO "Usuario" ("id", "neonAuthId", "email", "nombre", "estado", "rol", "empresaId")
               VALUES ('pre1', 'pending-6f1c2a52-8d0e-4c1b-9a43-2f4b8d6e7a10', 'luis@example.com', 'Luis',
                       'PENDIENTE', 'USUARIO', $1)"#,
            &[&e],
        )
        .await
        .unwrap();
    let (usuarios, empresas) = (p.usuarios().await, p.empresas().await);
    // Unverified e-mail: the row is not claimed and nothing is provisioned, yet 200.
    let sin_verificar = user_created("neon-luis", "Luis@Example.com", json!("Luis N"), false);
    assert_eq!(aceptado(&p.enviar(&p.entrega(&sin_verificar)).await), ok());
    assert_eq!(
        p.contar(r#"SELECT count(*) FROM "Usuario" WHERE "neonAuthId" = 'neon-luis'"#)
            .await,
        0
    );
    assert_eq!(
        (p.usuarios().await, p.empresas().await),
        (usuarios, empresas)
    );
    // Verified, e-mail in another case: relinked, no new tenant, admins notified.
    let verificado = user_created("neon-luis", "Luis@Example.com", json!("Luis N"), true);
    assert_eq!(aceptado(&p.enviar(&p.entrega(&verificado)).await), ok());
    let f = p
        .app
        .pg
        .query_one(
            r#"SELECT "neonAuthId", "estado"::text, "empresaId" FROM "Usuario" WHERE "id" = 'pre1'"#,
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            f.get::<_, String>(0),
            f.get::<_, String>(1),
            f.get::<_, String>(2)
        ),
        ("neon-luis".into(), "PENDIENTE".into(), e.clone())
    );
    assert_eq!(
        (p.usuarios().await, p.empresas().await),
        (usuarios, empresas)
    );
    let filas = p
        .app
        .pg
        .query(
            r#"SELECT "usuarioId", "titulo", "mensaje", "link", "empresaId" FROM "Notificacion"
               WHERE "tipo" = 'USUARIO_REGISTRADO' ORDER BY "usuarioId""#,
            &[],
        )
        .await
        .unwrap();
    let mut esperados = vec![admin.id.clone(), super_admin.id.clone()];
    esperados.sort();
    assert_eq!(
        filas.iter().map(|f| f.get(0)).collect::<Vec<String>>(),
        esperados
    );
    for f in &filas {
        assert_eq!(
            (
                f.get::<_, String>(1),
                f.get::<_, String>(2),
                f.get::<_, String>(3),
                f.get::<_, String>(4)
            ),
            (
                "Usuario pendiente de aprobación: luis@example.com".into(),
                "Luis completó su registro y espera aprobación.".into(),
                "/admin/usuarios/pre1".into(),
                e.clone()
            )
        );
    }
    // The same user created again: no new relink, no new notifications.
    assert_eq!(aceptado(&p.enviar(&p.entrega(&verificado)).await), ok());
    assert_eq!(p.contar(r#"SELECT count(*) FROM "Notificacion""#).await, 2);
}

#[tokio::test]
async fn user_created_respeta_allowlist_invitaciones_y_no_promueve() {
    let p = Prueba::con(|c| {
        c.allowlist_registro = ListaEmails::parse(Some("permitido@example.com"));
        c.admin_emails = ListaEmails::parse(Some("jefe@example.com"));
    })
    .await;
    let e = p.app.empresa().await;
    p.app
        .pg
        .execute(
            r#"INSERT INTO "Invitacion" ("id", "email", "empresaId", "token", "expiraEn")
               VALUES ('inv1', 'permitido@example.com', $1, 'tok1', (now() AT TIME ZONE 'UTC') + interval '7 days')"#,
            &[&e],
        )
        .await
        .unwrap();
    let casos = [
        ("fuera de la lista", "neon-fuera", "fuera@example.com"),
        (
            "invitación pendiente",
            "neon-invitado",
            "Permitido@example.com",
        ),
    ];
    for (caso, id, email) in casos {
        let r = p
            .enviar(&p.entrega(&user_created(id, email, json!("X"), true)))
            .await;
        assert_eq!(aceptado(&r), ok(), "{caso}");
    }
    assert_eq!((p.usuarios().await, p.empresas().await), (0, 1));
    // ADMIN_EMAILS admits through the allow-list but is not promoted here.
    let r = p
        .enviar(&p.entrega(&user_created(
            "neon-jefe",
            "jefe@example.com",
            json!("Jefe"),
            true,
        )))
        .await;
    assert_eq!(aceptado(&r), ok());
    let rol: String = p
        .app
        .pg
        .query_one(
            r#"SELECT "rol"::text FROM "Usuario" WHERE "neonAuthId" = 'neon-jefe'"#,
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(rol, "ADMIN");
}

// ---------------------------------------------------------------------------------------------
// send.otp / send.magic_link

#[tokio::test]
async fn correos_en_modo_simulado_y_sus_400() {
    // The harness has no SMTP_USER/SMTP_PASS: simulated mode.
    let p = Prueba::nueva().await;
    assert!(p.app.estado.config.smtp.simulado());
    let user = json!({"id": "u1", "email": "ana@example.com"});
    let casos: Vec<(&str, String, u16, &str)> = vec![
        (
            "otp",
            send_otp(
                user.clone(),
                json!({"otp_code": "123456", "otp_type": "sign-in"}),
            ),
            200,
            "",
        ),
        (
            "otp con `code`",
            send_otp(user.clone(), json!({"code": "123456"})),
            200,
            "",
        ),
        (
            "enlace",
            send_magic_link(
                user.clone(),
                json!({"link_url": "https://x.test/v?token=1", "link_type": "email-verification"}),
            ),
            200,
            "",
        ),
        (
            "enlace con `href`",
            send_magic_link(user.clone(), json!({"href": "https://x.test/v"})),
            200,
            "",
        ),
        (
            "otp sin user.email",
            send_otp(json!({"id": "u1"}), json!({"otp_code": "1"})),
            400,
            "user.email no definido en el payload del webhook",
        ),
        (
            "otp sin user",
            send_otp(Value::Null, json!({"otp_code": "1"})),
            400,
            "user.email no definido en el payload del webhook",
        ),
        (
            "otp sin código",
            send_otp(user.clone(), json!({"otp_type": "sign-in", "token": ""})),
            400,
            "Payload de send.otp incompleto (falta otp/code)",
        ),
        (
            "enlace sin user.email",
            send_magic_link(json!({"email": ""}), json!({"link_url": "https://x.test"})),
            400,
            "user.email no definido en el payload del webhook",
        ),
        (
            "enlace sin url",
            send_magic_link(
                user.clone(),
                json!({"link_type": "forget-password", "token": "t"}),
            ),
            400,
            "Payload de send.magic_link incompleto (falta url/link)",
        ),
    ];
    for (caso, cuerpo, status, error) in casos {
        let r = p.enviar(&p.entrega(&cuerpo)).await;
        if status == 200 {
            assert_eq!(aceptado(&r), ok(), "{caso}");
        } else {
            assert_eq!(r.err(), (status, error), "{caso}");
        }
    }
}

#[tokio::test]
async fn fallo_smtp_es_500_con_el_mensaje_del_mailer() {
    let puerto = puerto_cerrado().await;
    let p = Prueba::con(smtp_real(puerto)).await;
    assert!(!p.app.estado.config.smtp.simulado());
    let user = json!({"id": "u1", "email": "ana@example.com"});
    let otp = p.entrega(&send_otp(user.clone(), json!({"otp_code": "123456"})));
    assert_eq!(
        p.enviar(&otp).await.err(),
        (500, "Error al enviar el código de verificación")
    );
    let enlace = p.entrega(&send_magic_link(
        user,
        json!({"link_url": "https://x.test/reset?token=1"}),
    ));
    assert_eq!(
        p.enviar(&enlace).await.err(),
        (500, "Error al enviar el correo")
    );
    assert_eq!(
        p.contar("SELECT count(*) FROM inventario.webhook_evento")
            .await,
        0
    );
    // The retry (same event id) runs again once the server is up: 5xx is never replayed.
    let l = TcpListener::bind(("127.0.0.1", puerto)).await.unwrap();
    let correos = servidor_smtp(l, Duration::ZERO).await;
    assert_eq!(aceptado(&p.enviar(&otp).await), ok());
    assert_eq!(correos.lock().unwrap().len(), 1);
}

/// Quoted-printable (also the `q` form of RFC 2047 when `guion_bajo`) to bytes.
fn qp(texto: &str, guion_bajo: bool) -> Vec<u8> {
    let b = texto.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'=' => {
                match std::str::from_utf8(b.get(i + 1..i + 3).unwrap_or_default())
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(x) => {
                        out.push(x);
                        i += 3;
                    }
                    None => {
                        out.push(b'=');
                        i += 1;
                    }
                }
            }
            b'_' if guion_bajo => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// An unfolded header value with its RFC 2047 encoded words decoded.
fn decodificar_cabecera(valor: &str) -> String {
    let mut out = String::new();
    let mut anterior_codificada = false;
    for parte in valor.split_whitespace() {
        let codificada = parte
            .strip_prefix("=?")
            .and_then(|r| r.strip_suffix("?="))
            .and_then(|r| {
                let mut it = r.splitn(3, '?');
                let (_, modo, texto) = (it.next()?, it.next()?, it.next()?);
                match modo {
                    "b" | "B" => base64::engine::general_purpose::STANDARD.decode(texto).ok(),
                    "q" | "Q" => Some(qp(texto, true)),
                    _ => None,
                }
            });
        match codificada {
            Some(bytes) => {
                if !anterior_codificada && !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(&String::from_utf8(bytes).unwrap());
                anterior_codificada = true;
            }
            None => {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(parte);
                anterior_codificada = false;
            }
        }
    }
    out
}

/// The visible text of a captured message: headers unfolded and decoded, each MIME part decoded
/// from quoted-printable or base64. Enough to compare the strings a reader sees.
fn decodificar(datos: &str) -> String {
    let (cabeceras, cuerpo) = datos.split_once("\n\n").unwrap_or((datos, ""));
    let mut out = String::new();
    for cabecera in cabeceras.replace("\n ", " ").replace("\n\t", " ").lines() {
        match cabecera.split_once(": ") {
            Some((k, v)) => out.push_str(&format!("{k}: {}\n", decodificar_cabecera(v))),
            None => out.push_str(&format!("{cabecera}\n")),
        }
    }
    for parte in cuerpo.split("\n--") {
        let (cab, contenido) = parte.split_once("\n\n").unwrap_or(("", parte));
        let cab = cab.to_ascii_lowercase();
        let bytes = if cab.contains("content-transfer-encoding: base64") {
            let limpio: String = contenido.split_whitespace().collect();
            base64::engine::general_purpose::STANDARD
                .decode(limpio)
                .unwrap_or_default()
        } else if cab.contains("content-transfer-encoding: quoted-printable") {
            qp(&contenido.replace("=\n", ""), false)
        } else {
            contenido.as_bytes().to_vec()
        };
        out.push_str(&String::from_utf8_lossy(&bytes));
        out.push('\n');
    }
    out
}

#[tokio::test]
async fn correos_reales_asunto_destinatario_y_html_escapado() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let puerto = l.local_addr().unwrap().port();
    let correos = servidor_smtp(l, Duration::ZERO).await;
    let p = Prueba::con(smtp_real(puerto)).await;
    let user = json!({"id": "u1", "email": "ana@example.com"});
    let envios = [
        send_otp(user.clone(), json!({"otp_code": "<b>987654</b>"})),
        send_magic_link(
            user.clone(),
            json!({"link_url": "https://x.test/verify?a=1&b=2", "link_type": "forget-password"}),
        ),
        send_magic_link(
            user.clone(),
            json!({"url": "https://x.test/reset-password?t=1", "link_type": "email-verification"}),
        ),
        send_magic_link(
            user.clone(),
            json!({"link": "https://x.test/reset-password?t=2"}),
        ),
    ];
    for cuerpo in &envios {
        assert_eq!(aceptado(&p.enviar(&p.entrega(cuerpo)).await), ok());
    }
    let correos = correos.lock().unwrap().clone();
    assert_eq!(correos.len(), 4);
    for c in &correos {
        assert_eq!(c.rcpt.len(), 1);
        assert!(c.rcpt[0].contains("<ana@example.com>"), "{:?}", c.rcpt);
    }
    let textos: Vec<String> = correos.iter().map(|c| decodificar(&c.datos)).collect();
    assert!(
        textos[0].contains("Código de verificación - Sistema de Inventario"),
        "{}",
        textos[0]
    );
    assert!(
        textos[0].contains("&lt;b&gt;987654&lt;/b&gt;"),
        "{}",
        textos[0]
    );
    // The plain-text part carries the value as is; the HTML part only escaped.
    let html = textos[0].split("<!DOCTYPE html>").nth(1).unwrap();
    assert!(!html.contains("<b>987654"), "{html}");
    assert!(textos[0].contains("Tu código de verificación es: <b>987654</b>"));
    // link_type decides: forget-password → reset, anything else → sign-in (even with "reset" in it).
    assert!(
        textos[1].contains("Restablecer contraseña - Sistema de Inventario"),
        "{}",
        textos[1]
    );
    assert!(textos[1].contains("Restablecer Contraseña"));
    assert!(
        textos[1].contains(r#"href="https://x.test/verify?a=1&amp;b=2""#),
        "{}",
        textos[1]
    );
    assert!(
        textos[2].contains("Iniciar sesión - Sistema de Inventario"),
        "{}",
        textos[2]
    );
    assert!(textos[2].contains("Iniciar Sesión"));
    // No link_type: the reference's substring rule.
    assert!(
        textos[3].contains("Restablecer contraseña - Sistema de Inventario"),
        "{}",
        textos[3]
    );
}
