//! `DATABASE_URL` with libpq's `sslmode` / `sslrootcert` meaning (`shared::conexion`), against
//! two clusters started here with the system's `initdb`/`pg_ctl` and shared by the module:
//!
//! - `con_ssl()`: `ssl = on` with a leaf certificate (SAN `DNS:localhost`, `IP:127.0.0.1`,
//!   CA:FALSE) signed by a test CA, all made with the `openssl` CLI. pg_hba: user `plano` may
//!   connect only without TLS (`hostnossl` trust, `hostssl` reject), `scram` only over TLS with
//!   SCRAM, everybody else only over TLS (`hostssl` trust).
//! - `sin_ssl()`: `ssl = off` (the server answers `N` to the SSL request); `scram` with SCRAM.
//!
//! A wrong host name is a name not in the SAN (`db.example`) with `hostaddr=127.0.0.1`, so one
//! certificate serves both cases; a wrong CA is a second, unrelated CA.
//! Each cluster is watched by a shell whose stdin is a pipe from this process: when the test
//! binary ends (normally, after a panic, or killed) the pipe closes and the shell stops the
//! cluster and deletes its directory.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use shared::conexion::Conexion;
use shared::{Config, Estado};

const CLAVE: &str = "s3cr3t-Clave_9";

struct Cluster {
    puerto: u16,
    dir: PathBuf,
    /// Closing it (drop, or this process ending) stops the cluster.
    guardian: Mutex<Option<(Child, ChildStdin)>>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some((mut hijo, stdin)) = self.guardian.lock().unwrap().take() {
            drop(stdin);
            let _ = hijo.wait();
        }
    }
}

impl Cluster {
    fn ca(&self) -> String {
        self.archivo("ca.crt")
    }
    fn otra_ca(&self) -> String {
        self.archivo("otra-ca.crt")
    }
    fn archivo(&self, nombre: &str) -> String {
        self.dir.join(nombre).display().to_string()
    }
    /// `postgres://{usuario}@{host}:{puerto}/postgres?{consulta}`.
    fn url(&self, usuario: &str, host: &str, consulta: &str) -> String {
        let mut u = format!("postgres://{usuario}@{host}:{}/postgres", self.puerto);
        if !consulta.is_empty() {
            u.push('?');
            u.push_str(consulta);
        }
        u
    }
    /// The same with a host name the certificate does not carry, reached at 127.0.0.1.
    fn url_otro_nombre(&self, consulta: &str) -> String {
        self.url(
            "postgres",
            "db.example",
            &format!("hostaddr=127.0.0.1&{consulta}"),
        )
    }
}

fn pg_bin(nombre: &str) -> PathBuf {
    let mut versiones: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| Some(e.ok()?.path().join("bin").join(nombre)))
                .collect()
        })
        .unwrap_or_default();
    versiones.retain(|p| p.exists());
    versiones.sort();
    versiones.pop().unwrap_or_else(|| PathBuf::from(nombre))
}

fn es_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.trim_ascii() == b"0")
        .unwrap_or(false)
}

/// Runs `programa` as the `postgres` user when we are root (initdb refuses root).
fn como_postgres(programa: &Path) -> Command {
    if es_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(programa);
        c
    } else {
        Command::new(programa)
    }
}

fn ejecutar(c: &mut Command) {
    let out = c.output().expect("lanzar proceso");
    assert!(
        out.status.success(),
        "{c:?} falló: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn puerto_libre() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn openssl(dir: &Path, args: &[&str]) {
    ejecutar(Command::new("openssl").current_dir(dir).args(args));
}

/// A CA (`{nombre}.crt`, `{nombre}.key`).
fn hacer_ca(dir: &Path, nombre: &str, cn: &str) {
    let cnf = format!("{nombre}.cnf");
    std::fs::write(
        dir.join(&cnf),
        format!(
            "[req]\ndistinguished_name = dn\nprompt = no\nx509_extensions = ext\n[dn]\nCN = {cn}\n\
             [ext]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n\
             subjectKeyIdentifier = hash\n"
        ),
    )
    .unwrap();
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-config",
            &cnf,
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &format!("{nombre}.key"),
            "-out",
            &format!("{nombre}.crt"),
            "-days",
            "3",
        ],
    );
}

fn arrancar(ssl: bool) -> Cluster {
    let dir = std::env::temp_dir().join(format!(
        "inv-tls-{}-{}-{}",
        std::process::id(),
        if ssl { "on" } else { "off" },
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let datos = dir.join("datos");
    if ssl {
        hacer_ca(&dir, "ca", "Inventario pruebas CA");
        hacer_ca(&dir, "otra-ca", "Otra CA");
        std::fs::write(
            dir.join("server.ext"),
            "basicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n\
             extendedKeyUsage = serverAuth\nsubjectAltName = DNS:localhost,IP:127.0.0.1\n",
        )
        .unwrap();
        openssl(
            &dir,
            &[
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=localhost",
            ],
        );
        openssl(
            &dir,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "server.crt",
                "-days",
                "3",
                "-extfile",
                "server.ext",
            ],
        );
        ejecutar(Command::new("chmod").arg("600").arg(dir.join("server.key")));
    }
    if es_root() {
        ejecutar(Command::new("chown").arg("-R").arg("postgres").arg(&dir));
    }
    ejecutar(
        como_postgres(&pg_bin("initdb"))
            .current_dir(&dir)
            .arg("-D")
            .arg(&datos)
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "--no-instructions",
            ]),
    );
    let hba = if ssl {
        "local all all trust\n\
         hostnossl all plano 127.0.0.1/32 trust\n\
         hostssl all plano 127.0.0.1/32 reject\n\
         hostssl all scram 127.0.0.1/32 scram-sha-256\n\
         hostssl all all 127.0.0.1/32 trust\n"
    } else {
        "local all all trust\n\
         host all scram 127.0.0.1/32 scram-sha-256\n\
         host all all 127.0.0.1/32 trust\n"
    };
    std::fs::write(datos.join("pg_hba.conf"), hba).unwrap();
    let puerto = puerto_libre();
    let mut opciones = format!(
        "-p {puerto} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c shared_buffers=16MB \
         -c max_connections=40 -c ssl={}",
        dir.display(),
        if ssl { "on" } else { "off" }
    );
    if ssl {
        opciones.push_str(&format!(
            " -c ssl_cert_file={} -c ssl_key_file={}",
            dir.join("server.crt").display(),
            dir.join("server.key").display()
        ));
    }
    let (pg_ctl, psql) = (pg_bin("pg_ctl"), pg_bin("psql"));
    let sql = format!("CREATE ROLE plano LOGIN; CREATE ROLE scram LOGIN PASSWORD '{CLAVE}';");
    // Starts the cluster, says `listo`, waits for stdin to close, stops it and cleans up.
    let guion = format!(
        "set -e\n\
         '{pg_ctl}' -D '{datos}' -l '{dir}/log' -o '{opciones}' -w start >/dev/null\n\
         '{psql}' -h '{dir}' -p {puerto} -U postgres -d postgres -qAt -c \"{sql}\" >/dev/null\n\
         echo listo\n\
         set +e\n\
         read _ || true\n\
         '{pg_ctl}' -D '{datos}' -m immediate stop >/dev/null 2>&1\n\
         rm -rf '{dir}'\n",
        pg_ctl = pg_ctl.display(),
        psql = psql.display(),
        datos = datos.display(),
        dir = dir.display(),
    );
    let mut hijo = como_postgres(Path::new("sh"))
        .current_dir(&dir)
        .args(["-c", &guion])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("sh");
    let stdin = hijo.stdin.take().unwrap();
    let mut linea = String::new();
    BufReader::new(hijo.stdout.take().unwrap())
        .read_line(&mut linea)
        .unwrap();
    assert_eq!(
        linea.trim(),
        "listo",
        "el clúster de prueba no arrancó: {}",
        std::fs::read_to_string(dir.join("log")).unwrap_or_default()
    );
    Cluster {
        puerto,
        dir,
        guardian: Mutex::new(Some((hijo, stdin))),
    }
}

fn con_ssl() -> &'static Cluster {
    static C: OnceLock<Cluster> = OnceLock::new();
    C.get_or_init(|| arrancar(true))
}

fn sin_ssl() -> &'static Cluster {
    static C: OnceLock<Cluster> = OnceLock::new();
    C.get_or_init(|| arrancar(false))
}

/// Connects with `shared::conexion` and answers whether the session is encrypted
/// (`pg_stat_ssl`), or the one-line error.
async fn cifrada(url: &str, ca_pem: Option<&str>) -> Result<bool, String> {
    shared::db::instalar_proveedor_tls();
    let c = Conexion::nueva(url, ca_pem).map_err(|e| e.to_string())?;
    let (client, conn) = c.conectar().await.map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let fila = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(fila.get(0))
}

/// The same through the pool of the functions (`db::pool`, deadpool's `Connect`).
async fn cifrada_por_pool(url: &str, ca_pem: Option<&str>) -> Result<bool, String> {
    shared::db::instalar_proveedor_tls();
    let pool = shared::db::pool(url, ca_pem, 1).map_err(|e| e.to_string())?;
    let c = pool
        .get()
        .await
        .map_err(|e| format!("{:#}", anyhow::Error::new(e)))?;
    let fila = c
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(fila.get(0))
}

#[track_caller]
fn error_con(r: Result<bool, String>, fragmentos: &[&str]) -> String {
    let e = r.expect_err("se esperaba un error");
    for f in fragmentos {
        assert!(e.contains(f), "«{f}» no está en: {e}");
    }
    assert!(!e.contains(CLAVE), "la contraseña aparece en: {e}");
    assert!(!e.contains('\n'), "más de una línea: {e}");
    e
}

#[tokio::test]
async fn sin_sslmode_es_prefer_cifra_sin_verificar_y_acepta_servidores_sin_tls() {
    let (on, off) = (con_ssl(), sin_ssl());
    // The self-signed-style case of a stock server: a CA nobody configured, no error.
    assert_eq!(
        cifrada(&on.url("postgres", "127.0.0.1", ""), None).await,
        Ok(true)
    );
    assert_eq!(
        cifrada(&on.url("postgres", "localhost", ""), None).await,
        Ok(true)
    );
    // ssl = off answers 'N': plain.
    assert_eq!(
        cifrada(&off.url("postgres", "127.0.0.1", ""), None).await,
        Ok(false)
    );
    // The key=value form means the same.
    let kv = format!(
        "host=127.0.0.1 port={} user=postgres dbname=postgres",
        on.puerto
    );
    assert_eq!(cifrada(&kv, None).await, Ok(true));
}

#[tokio::test]
async fn disable_nunca_cifra() {
    let (on, off) = (con_ssl(), sin_ssl());
    assert_eq!(
        cifrada(&on.url("plano", "127.0.0.1", "sslmode=disable"), None).await,
        Ok(false)
    );
    // The server accepts `postgres` only over TLS: disable does not try it.
    error_con(
        cifrada(&on.url("postgres", "127.0.0.1", "sslmode=disable"), None).await,
        &[
            "sslmode=disable",
            &format!("host 127.0.0.1:{}", on.puerto),
            "no pg_hba.conf entry",
            "no encryption",
        ],
    );
    assert_eq!(
        cifrada(&off.url("postgres", "127.0.0.1", "sslmode=disable"), None).await,
        Ok(false)
    );
}

#[tokio::test]
async fn allow_prueba_sin_cifrar_y_cifra_cuando_el_servidor_lo_exige() {
    let (on, off) = (con_ssl(), sin_ssl());
    assert_eq!(
        cifrada(&on.url("plano", "127.0.0.1", "sslmode=allow"), None).await,
        Ok(false)
    );
    // Plain rejected by pg_hba (hostssl only) → retried with TLS, without verification.
    assert_eq!(
        cifrada(&on.url("postgres", "127.0.0.1", "sslmode=allow"), None).await,
        Ok(true)
    );
    assert_eq!(
        cifrada_por_pool(&on.url("postgres", "127.0.0.1", "sslmode=allow"), None).await,
        Ok(true)
    );
    assert_eq!(
        cifrada(&off.url("postgres", "127.0.0.1", "sslmode=allow"), None).await,
        Ok(false)
    );
    // Both attempts fail: the error is the TLS attempt's (the real cause).
    error_con(
        cifrada(&on.url("scram:mal", "127.0.0.1", "sslmode=allow"), None).await,
        &["sslmode=allow", "password authentication failed", "28P01"],
    );
}

#[tokio::test]
async fn prefer_vuelve_a_texto_plano_cuando_el_servidor_rechaza_tls() {
    let (on, off) = (con_ssl(), sin_ssl());
    assert_eq!(
        cifrada(&on.url("postgres", "127.0.0.1", "sslmode=prefer"), None).await,
        Ok(true)
    );
    // `hostssl … reject` for plano: the TLS connection is rejected, the plain retry accepted.
    assert_eq!(
        cifrada(&on.url("plano", "127.0.0.1", "sslmode=prefer"), None).await,
        Ok(false)
    );
    assert_eq!(
        cifrada_por_pool(&on.url("plano", "127.0.0.1", ""), None).await,
        Ok(false)
    );
    assert_eq!(
        cifrada(&off.url("postgres", "127.0.0.1", "sslmode=prefer"), None).await,
        Ok(false)
    );
    // Both attempts fail (wrong password over TLS, no plain entry): the TLS attempt's error.
    error_con(
        cifrada(&on.url("scram:mal", "127.0.0.1", ""), None).await,
        &["sslmode=prefer", "password authentication failed", "28P01"],
    );
    // A CA is not checked in prefer (only require and verify-* verify).
    let u = on.url(
        "postgres",
        "db.example",
        &format!("hostaddr=127.0.0.1&sslrootcert={}", on.otra_ca()),
    );
    assert_eq!(cifrada(&u, None).await, Ok(true));
}

#[tokio::test]
async fn require_cifra_sin_verificar_y_con_ca_verifica_la_cadena() {
    let (on, off) = (con_ssl(), sin_ssl());
    assert_eq!(
        cifrada(&on.url("postgres", "127.0.0.1", "sslmode=require"), None).await,
        Ok(true)
    );
    assert_eq!(
        cifrada_por_pool(&on.url("postgres", "127.0.0.1", "sslmode=require"), None).await,
        Ok(true)
    );
    // With sslrootcert: verify-ca (chain, no host name).
    let con_ca = format!("sslmode=require&sslrootcert={}", on.ca());
    assert_eq!(
        cifrada(&on.url("postgres", "127.0.0.1", &con_ca), None).await,
        Ok(true)
    );
    assert_eq!(cifrada(&on.url_otro_nombre(&con_ca), None).await, Ok(true));
    error_con(
        cifrada(
            &on.url(
                "postgres",
                "127.0.0.1",
                &format!("sslmode=require&sslrootcert={}", on.otra_ca()),
            ),
            None,
        )
        .await,
        &[
            "sslmode=require, host 127.0.0.1",
            "no confiable",
            &format!("sslrootcert={}", on.otra_ca()),
        ],
    );
    error_con(
        cifrada(&off.url("postgres", "127.0.0.1", "sslmode=require"), None).await,
        &["sslmode=require", "no acepta TLS", "sslmode=prefer"],
    );
}

#[tokio::test]
async fn verify_ca_comprueba_la_cadena_pero_no_el_nombre() {
    let (on, off) = (con_ssl(), sin_ssl());
    let con_ca = format!("sslmode=verify-ca&sslrootcert={}", on.ca());
    assert_eq!(
        cifrada(&on.url("postgres", "127.0.0.1", &con_ca), None).await,
        Ok(true)
    );
    assert_eq!(cifrada(&on.url_otro_nombre(&con_ca), None).await, Ok(true));
    assert_eq!(
        cifrada_por_pool(&on.url_otro_nombre(&con_ca), None).await,
        Ok(true)
    );
    error_con(
        cifrada(
            &on.url(
                "postgres",
                "127.0.0.1",
                &format!("sslmode=verify-ca&sslrootcert={}", on.otra_ca()),
            ),
            None,
        )
        .await,
        &["sslmode=verify-ca, host 127.0.0.1", "no confiable"],
    );
    // Without sslrootcert: the public roots (libpq would read ~/.postgresql/root.crt).
    error_con(
        cifrada(&on.url("postgres", "127.0.0.1", "sslmode=verify-ca"), None).await,
        &[
            "sslmode=verify-ca",
            "webpki-roots",
            "sslrootcert=",
            "sslmode=require",
        ],
    );
    error_con(
        cifrada(&off.url("postgres", "127.0.0.1", &con_ca), None).await,
        &["sslmode=verify-ca", "no acepta TLS"],
    );
}

#[tokio::test]
async fn verify_full_comprueba_cadena_y_nombre() {
    let (on, off) = (con_ssl(), sin_ssl());
    let con_ca = format!("sslmode=verify-full&sslrootcert={}", on.ca());
    // IP and DNS names of the SAN.
    assert_eq!(
        cifrada(&on.url("postgres", "127.0.0.1", &con_ca), None).await,
        Ok(true)
    );
    assert_eq!(
        cifrada(&on.url("postgres", "localhost", &con_ca), None).await,
        Ok(true)
    );
    assert_eq!(
        cifrada_por_pool(&on.url("postgres", "localhost", &con_ca), None).await,
        Ok(true)
    );
    error_con(
        cifrada(&on.url_otro_nombre(&con_ca), None).await,
        &[
            "sslmode=verify-full, host db.example",
            "no es válido para el host «db.example»",
            "localhost, 127.0.0.1",
            "sslmode=verify-ca",
        ],
    );
    // Through the pool the explanation is in the error's cause chain.
    error_con(
        cifrada_por_pool(&on.url_otro_nombre(&con_ca), None).await,
        &[
            "sslmode=verify-full, host db.example",
            "no es válido para el host",
        ],
    );
    error_con(
        cifrada(
            &on.url(
                "postgres",
                "localhost",
                &format!("sslmode=verify-full&sslrootcert={}", on.otra_ca()),
            ),
            None,
        )
        .await,
        &["sslmode=verify-full, host localhost", "no confiable"],
    );
    error_con(
        cifrada(&off.url("postgres", "127.0.0.1", &con_ca), None).await,
        &["sslmode=verify-full", "no acepta TLS"],
    );
}

#[tokio::test]
async fn sslrootcert_con_varios_certificados() {
    let on = con_ssl();
    let paquete = on.archivo("paquete.pem");
    let texto = std::fs::read_to_string(on.otra_ca()).unwrap()
        + "texto entre certificados, como en global-bundle.pem\n"
        + &std::fs::read_to_string(on.ca()).unwrap();
    std::fs::File::create(&paquete)
        .unwrap()
        .write_all(texto.as_bytes())
        .unwrap();
    let u = on.url(
        "postgres",
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={paquete}"),
    );
    assert_eq!(cifrada(&u, None).await, Ok(true));
}

#[tokio::test]
async fn ca_en_la_variable_de_entorno() {
    let on = con_ssl();
    let pem = std::fs::read_to_string(on.ca()).unwrap();
    let otra = std::fs::read_to_string(on.otra_ca()).unwrap();
    // The configuration of a function: DATABASE_URL without sslrootcert + DATABASE_CA_PEM.
    let estado = |url: String, pem: String| {
        let cfg = Config::from_lookup(move |k| match k {
            "DATABASE_URL" => Some(url.clone()),
            "DATABASE_CA_PEM" => Some(pem.clone()),
            "APP_ENV" => Some("test".into()),
            _ => None,
        })
        .unwrap();
        Estado::new(cfg).unwrap()
    };
    let e = estado(
        on.url("postgres", "localhost", "sslmode=verify-full"),
        pem.clone(),
    );
    let fila = e
        .pool
        .get()
        .await
        .unwrap()
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    assert!(fila.get::<_, bool>(0));
    // Pasted on one line with literal \n, as a template parameter often ends up.
    let una_linea = pem.trim_end().replace('\n', "\\n");
    assert_eq!(
        cifrada(
            &on.url("postgres", "127.0.0.1", "sslmode=verify-full"),
            Some(&una_linea)
        )
        .await,
        Ok(true)
    );
    // Named explicitly.
    assert_eq!(
        cifrada(
            &on.url(
                "postgres",
                "127.0.0.1",
                "sslmode=verify-ca&sslrootcert=DATABASE_CA_PEM"
            ),
            Some(&pem)
        )
        .await,
        Ok(true)
    );
    // A CA in the variable makes require check the chain (as libpq with a root certificate).
    error_con(
        cifrada(
            &on.url("postgres", "127.0.0.1", "sslmode=require"),
            Some(&otra),
        )
        .await,
        &[
            "sslmode=require, host 127.0.0.1",
            "no confiable",
            "DATABASE_CA_PEM",
        ],
    );
    let e = estado(
        on.url("postgres", "localhost", "sslmode=require"),
        otra.clone(),
    );
    let err = format!("{:#}", anyhow::Error::new(e.pool.get().await.unwrap_err()));
    assert!(
        err.contains("no confiable") && err.contains("DATABASE_CA_PEM"),
        "{err}"
    );
    // The URL's own sslrootcert wins over the variable.
    assert_eq!(
        cifrada(
            &on.url(
                "postgres",
                "127.0.0.1",
                &format!("sslmode=verify-full&sslrootcert={}", on.ca())
            ),
            Some(&otra)
        )
        .await,
        Ok(true)
    );
}

#[tokio::test]
async fn sslrootcert_system_usa_las_raices_publicas_y_exige_verify_full() {
    let on = con_ssl();
    error_con(
        cifrada(&on.url("postgres", "localhost", "sslrootcert=system"), None).await,
        &[
            "sslmode=verify-full, host localhost",
            "no confiable",
            "webpki-roots",
        ],
    );
    for modo in ["disable", "allow", "prefer", "require", "verify-ca"] {
        error_con(
            cifrada(
                &on.url(
                    "postgres",
                    "localhost",
                    &format!("sslrootcert=system&sslmode={modo}"),
                ),
                None,
            )
            .await,
            &[&format!(
                "sslmode={modo} no puede usarse con sslrootcert=system"
            )],
        );
    }
}

#[tokio::test]
async fn sslmode_desconocido_es_un_error_de_arranque() {
    let on = con_ssl();
    let url = on.url(&format!("scram:{CLAVE}"), "127.0.0.1", "sslmode=verify-all");
    let err = Config::from_lookup(|k| match k {
        "DATABASE_URL" => Some(url.clone()),
        "APP_ENV" => Some("test".into()),
        _ => None,
    })
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("configuración inválida: DATABASE_URL: sslmode=verify-all no es válido"),
        "{err}"
    );
    assert!(!err.contains(CLAVE));
    error_con(cifrada(&url, None).await, &["sslmode=verify-all"]);
    error_con(
        cifrada(
            &on.url("postgres", "127.0.0.1", "sslcert=/c.pem&sslkey=/k.pem"),
            None,
        )
        .await,
        &["sslcert", "no está soportado"],
    );
}

#[tokio::test]
async fn channel_binding_require_funciona_sobre_tls() {
    let (on, off) = (con_ssl(), sin_ssl());
    let usuario = format!("scram:{CLAVE}");
    // Neon's URL shape.
    assert_eq!(
        cifrada(
            &on.url(
                &usuario,
                "127.0.0.1",
                "sslmode=require&channel_binding=require"
            ),
            None
        )
        .await,
        Ok(true)
    );
    assert_eq!(
        cifrada_por_pool(
            &on.url(
                &usuario,
                "localhost",
                &format!(
                    "sslmode=verify-full&sslrootcert={}&channel_binding=require",
                    on.ca()
                )
            ),
            None
        )
        .await,
        Ok(true)
    );
    // Without TLS there is nothing to bind to.
    let e = error_con(
        cifrada(
            &off.url(&usuario, "127.0.0.1", "channel_binding=require"),
            None,
        )
        .await,
        &["sslmode=prefer"],
    );
    assert!(e.to_lowercase().contains("channel binding"), "{e}");
}

#[tokio::test]
async fn los_errores_nunca_muestran_la_contrasena() {
    let (on, off) = (con_ssl(), sin_ssl());
    let u = format!("scram:{CLAVE}");
    let casos = [
        on.url(
            &u,
            "127.0.0.1",
            &format!("sslmode=verify-full&sslrootcert={}", on.otra_ca()),
        ),
        on.url(
            &u,
            "db.example",
            &format!(
                "hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert={}",
                on.ca()
            ),
        ),
        on.url(
            &format!("scram:mal-{CLAVE}"),
            "127.0.0.1",
            "sslmode=require",
        ),
        on.url(&u, "127.0.0.1", "sslmode=disable"),
        off.url(&u, "127.0.0.1", "sslmode=require"),
        off.url(&u, "127.0.0.1", "sslmode=verify-full&sslrootcert=system"),
        on.url(&u, "127.0.0.1", "sslmode=verify_full"),
        on.url(
            &u,
            "127.0.0.1",
            "sslmode=verify-ca&sslrootcert=/no/existe.pem",
        ),
        on.url(&u, "127.0.0.1", "clave_rara=1"),
        format!(
            "postgres://scram:{CLAVE}%zz@127.0.0.1:{}/postgres",
            on.puerto
        ),
        format!(
            "host=127.0.0.1 port={} user=scram password='{CLAVE}' sslmode=x",
            on.puerto
        ),
    ];
    for url in &casos {
        error_con(cifrada(url, None).await, &[]);
        let e = cifrada_por_pool(url, None).await.expect_err(url);
        assert!(!e.contains(CLAVE), "{e}");
    }
    // Debug of the parsed connection redacts it too.
    let c = Conexion::nueva(&on.url(&u, "127.0.0.1", ""), None).unwrap();
    assert!(!format!("{c:?}").contains(CLAVE));
}
