//! `scripts/bench-ventas`: POST /api/ventas under 50-way contention, through the real handlers
//! in-process (`tests::despachar` on the API Gateway v2 events of `events/`) against a real
//! PostgreSQL and Redis, on a fresh database cloned from the test template.
//!
//! Scenarios, each in rounds of `--concurrency` requests released together by a barrier:
//! - one product: every request sells 1 unit of the same product (stock `--stock`, default 50 =
//!   the concurrency, so every sale succeeds; a lower stock makes the last `concurrency − stock`
//!   get the stock 400), so all of them queue on one row lock;
//! - different products: request i sells 1 unit of its own product (stock 10): no shared lock.
//!
//! Each prints requests, 201s, 400s, p50/p99/max latency, the final stock and the check
//! `final = initial − successes` (plus "exactly min(stock, concurrency) succeed" on one product).
//! Then one uncontended sale goes through a counting TCP proxy: its statements, round trips
//! (pipelined statements count as one) and how long it holds the product lock (from sending the
//! statement that takes it to COMMIT's answer), the figure a queue of 50 multiplies.
//! Last line: `hot-product ratio=<one-product sales/s ÷ 50-product sales/s> p99=<ms>
//! cold_p99=<ms>` of the container configuration, the two scenarios run one after the other.
//!
//! Configurations: "50 containers" = 50 `Estado`s with a pool of 1 each, as 50 warm Lambda
//! containers would be (one request at a time each, style.md §3), so Postgres sees 50
//! sessions and requests wait only on row locks; "1 pool of 10" = one `Estado` with
//! DB_POOL_MAX=10, for comparison (requests also queue for a connection).
//!
//!   bench-ventas [--rounds N] [--concurrency N] [--stock N]
//!
//! Exit status: 1 when a correctness check fails, 3 when the hot-product ratio is below 0.8.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::json;
use shared::Estado;
use tests::{App, Opciones, despachar, spawn_app_con};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Barrier;

/// One-product sales/s ÷ 50-product sales/s below this exits 3.
const OBJETIVO_RATIO: f64 = 0.8;
const STOCK_DISTINTOS: i32 = 10;
const VENTAS_SIN_CONTENCION: usize = 30;
/// The queue length the lock hold time is multiplied by in the analysis.
const VENTAS_COLA: usize = 50;

struct Args {
    rondas: usize,
    concurrencia: usize,
    stock: i32,
}

impl Args {
    fn leer() -> anyhow::Result<Self> {
        let mut a = Self {
            rondas: 20,
            concurrencia: 50,
            stock: 50,
        };
        let mut it = std::env::args().skip(1);
        while let Some(k) = it.next() {
            let mut v = || -> anyhow::Result<usize> {
                it.next()
                    .with_context(|| format!("{k}: falta el valor"))?
                    .parse()
                    .with_context(|| format!("{k}: no es un número"))
            };
            match k.as_str() {
                "--rounds" => a.rondas = v()?.max(1),
                "--concurrency" => a.concurrencia = v()?.max(1),
                "--stock" => a.stock = i32::try_from(v()?)?,
                _ => bail!("uso: bench-ventas [--rounds N] [--concurrency N] [--stock N]"),
            }
        }
        Ok(a)
    }
}

#[derive(Clone, Copy)]
enum Escenario {
    UnProducto,
    Distintos,
}

struct Muestra {
    status: u16,
    ms: f64,
    inicio: Instant,
    fin: Instant,
}

/// Nearest-rank percentile.
fn percentil(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let k = ((p / 100.0) * s.len() as f64).ceil() as usize;
    s[k.clamp(1, s.len()) - 1]
}

struct Banco<'a> {
    app: &'a App,
    empresa: String,
    cookie: String,
    categoria: i32,
    codigos: std::cell::Cell<u32>,
}

impl Banco<'_> {
    async fn producto(&self, stock: i32) -> i32 {
        let n = self.codigos.get() + 1;
        self.codigos.set(n);
        self.app
            .producto(&self.empresa, self.categoria, &format!("BEN-{n:05}"), stock)
            .await
    }

    async fn stock(&self, producto: i32) -> i32 {
        self.app
            .pg
            .query_one(
                r#"SELECT "cantidad" FROM "Producto" WHERE "id" = $1"#,
                &[&producto],
            )
            .await
            .unwrap()
            .get(0)
    }

    fn venta(&self, producto: i32) -> anyhow::Result<lambda_http::Request> {
        let ev = self
            .app
            .post("/api/ventas")
            .cookie(&self.cookie)
            .json(json!({"items": [{"productoId": producto, "cantidad": 1}]}))
            .evento();
        lambda_http::request::from_str(&ev.to_string()).context("evento de venta")
    }

    /// Sends `productos[i % len]` through `estados[i % len]`, all released at once.
    async fn ronda(
        &self,
        estados: &[Arc<Estado>],
        productos: &[i32],
        n: usize,
    ) -> anyhow::Result<Vec<Muestra>> {
        let barrera = Arc::new(Barrier::new(n));
        let mut tareas = Vec::with_capacity(n);
        for i in 0..n {
            let req = self.venta(productos[i % productos.len()])?;
            let estado = estados[i % estados.len()].clone();
            let b = barrera.clone();
            tareas.push(tokio::spawn(async move {
                b.wait().await;
                let inicio = Instant::now();
                let res = despachar(&estado, req).await;
                let fin = Instant::now();
                Muestra {
                    status: res.status().as_u16(),
                    ms: (fin - inicio).as_secs_f64() * 1e3,
                    inicio,
                    fin,
                }
            }));
        }
        let mut muestras = Vec::with_capacity(n);
        for t in tareas {
            muestras.push(t.await?);
        }
        Ok(muestras)
    }
}

/// What one scenario measured.
struct Cifras {
    correcto: bool,
    p99: f64,
    /// Successful sales per second of round wall time (first request → last response).
    ventas_por_s: f64,
}

/// Runs one scenario over all rounds and prints its line.
async fn escenario(
    banco: &Banco<'_>,
    estados: &[Arc<Estado>],
    esc: Escenario,
    args: &Args,
) -> anyhow::Result<Cifras> {
    let n = args.concurrencia;
    let (nombre, stock) = match esc {
        Escenario::UnProducto => (format!("1 product, stock {}", args.stock), args.stock),
        Escenario::Distintos => (
            format!("{n} products, stock {STOCK_DISTINTOS}"),
            STOCK_DISTINTOS,
        ),
    };
    let mut ms = Vec::new();
    let (mut ok201, mut r400, mut otros) = (0usize, 0usize, 0usize);
    let mut correcto = true;
    let mut finales = std::collections::BTreeSet::new();
    let mut serie_ms = Vec::new();
    let mut segundos = 0.0;
    for _ in 0..args.rondas {
        let productos = match esc {
            Escenario::UnProducto => vec![banco.producto(stock).await],
            Escenario::Distintos => {
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(banco.producto(stock).await);
                }
                v
            }
        };
        let muestras = banco.ronda(estados, &productos, n).await?;
        let exitos = muestras.iter().filter(|m| m.status == 201).count();
        let rechazos = muestras.iter().filter(|m| m.status == 400).count();
        ok201 += exitos;
        r400 += rechazos;
        otros += n - exitos - rechazos;
        ms.extend(muestras.iter().map(|m| m.ms));
        let primero = muestras.iter().map(|m| m.inicio).min().unwrap();
        let ultimo = muestras.iter().map(|m| m.fin).max().unwrap();
        serie_ms.push((ultimo - primero).as_secs_f64() * 1e3 / n as f64);
        segundos += (ultimo - primero).as_secs_f64();
        // final stock = initial − successes, per product and in total; nobody oversold.
        let mut total_final = 0i64;
        for (i, p) in productos.iter().enumerate() {
            let s = banco.stock(*p).await;
            total_final += i64::from(s);
            let vendidas = muestras
                .iter()
                .enumerate()
                .filter(|(j, m)| j % productos.len() == i && m.status == 201)
                .count() as i32;
            correcto &= s == stock - vendidas && s >= 0;
            finales.insert(s);
        }
        correcto &= total_final == i64::from(stock) * productos.len() as i64 - exitos as i64;
        correcto &= match esc {
            Escenario::UnProducto => exitos == n.min(stock.max(0) as usize),
            Escenario::Distintos => exitos == n,
        };
        correcto &= exitos + rechazos == n;
    }
    let finales: Vec<String> = finales.iter().map(i32::to_string).collect();
    let p99 = percentil(&ms, 99.0);
    println!(
        "  {:<24} {:>6} {:>6} {:>5} {:>5} {:>8.1} {:>8.1} {:>8.1} {:>9.2} {:>8.0}   {} → {:<5} {}",
        nombre,
        ms.len(),
        ok201,
        r400,
        otros,
        percentil(&ms, 50.0),
        p99,
        percentil(&ms, 100.0),
        serie_ms.iter().sum::<f64>() / serie_ms.len() as f64,
        ok201 as f64 / segundos,
        stock,
        finales.join("/"),
        if correcto {
            "OK (final = initial − successes)"
        } else {
            "FAILED"
        },
    );
    Ok(Cifras {
        correcto,
        p99,
        ventas_por_s: ok201 as f64 / segundos,
    })
}

/// One sale per `Estado`, all at once, so every pool has opened its connections (and its
/// Redis connection) before anything is timed: warm containers.
async fn calentar(banco: &Banco<'_>, estados: &[Arc<Estado>], n: usize) -> anyhow::Result<()> {
    let p = banco.producto(1_000_000).await;
    let muestras = banco.ronda(estados, &[p], n.max(estados.len())).await?;
    if let Some(m) = muestras.iter().find(|m| m.status != 201) {
        bail!("calentamiento: venta con estado {}", m.status);
    }
    Ok(())
}

// ---------- a counting proxy between one Estado and PostgreSQL ----------

/// What crossed the proxy: a client message of interest, or the server's ReadyForQuery.
#[derive(Clone, Debug)]
enum Evento {
    /// `Q` (simple query, text), `P` (parse, text) or `S` (sync) sent by the client.
    Envio {
        t: Instant,
        tipo: u8,
        sql: Option<String>,
    },
    /// `Z`: the server finished a round trip.
    Listo { t: Instant },
}

type Eventos = Arc<Mutex<Vec<Evento>>>;

async fn proxy(upstream: String) -> anyhow::Result<(String, Eventos)> {
    let l = TcpListener::bind("127.0.0.1:0").await?;
    let addr = l.local_addr()?.to_string();
    let eventos: Eventos = Arc::default();
    let ev = eventos.clone();
    tokio::spawn(async move {
        while let Ok((cliente, _)) = l.accept().await {
            let Ok(servidor) = TcpStream::connect(&upstream).await else {
                continue;
            };
            let _ = cliente.set_nodelay(true);
            let _ = servidor.set_nodelay(true);
            let (cr, cw) = cliente.into_split();
            let (sr, sw) = servidor.into_split();
            tokio::spawn(reenviar(cr, sw, ev.clone(), true));
            tokio::spawn(reenviar(sr, cw, ev.clone(), false));
        }
    });
    Ok((addr, eventos))
}

fn cadena(b: &[u8]) -> (String, &[u8]) {
    let fin = b.iter().position(|c| *c == 0).unwrap_or(b.len());
    (
        String::from_utf8_lossy(&b[..fin]).into_owned(),
        b.get(fin + 1..).unwrap_or(&[]),
    )
}

/// Copies one direction and records the messages of interest (protocol v3 framing: the
/// client's startup message has no type byte; everything else is type + length).
async fn reenviar(mut de: OwnedReadHalf, mut a: OwnedWriteHalf, ev: Eventos, del_cliente: bool) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut pendiente: Vec<u8> = Vec::new();
    let mut arranque = del_cliente;
    loop {
        let n = match de.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let t = Instant::now();
        if a.write_all(&buf[..n]).await.is_err() {
            break;
        }
        pendiente.extend_from_slice(&buf[..n]);
        loop {
            if arranque {
                if pendiente.len() < 4 {
                    break;
                }
                let len = u32::from_be_bytes(pendiente[..4].try_into().unwrap()) as usize;
                if pendiente.len() < len {
                    break;
                }
                pendiente.drain(..len);
                arranque = false;
                continue;
            }
            if pendiente.len() < 5 {
                break;
            }
            let tipo = pendiente[0];
            let len = u32::from_be_bytes(pendiente[1..5].try_into().unwrap()) as usize;
            if pendiente.len() < 1 + len {
                break;
            }
            let cuerpo = &pendiente[5..1 + len];
            let e = match (del_cliente, tipo) {
                (true, b'Q') => Some(Evento::Envio {
                    t,
                    tipo,
                    sql: Some(cadena(cuerpo).0),
                }),
                (true, b'P') => Some(Evento::Envio {
                    t,
                    tipo,
                    sql: Some(cadena(cadena(cuerpo).1).0),
                }),
                (true, b'S') => Some(Evento::Envio { t, tipo, sql: None }),
                (false, b'Z') => Some(Evento::Listo { t }),
                _ => None,
            };
            if let Some(e) = e {
                ev.lock().unwrap().push(e);
            }
            pendiente.drain(..1 + len);
        }
    }
}

/// `DATABASE_URL` (URL or `key=value` form) → (`host:port` of its first server, the same
/// connection through `proxy`: every other parameter kept, TLS off because the proxy reads the
/// protocol messages).
fn a_traves_de(url: &str, proxy: &str) -> anyhow::Result<(String, String)> {
    let mut p = shared::conexion::Parametros::parsear(url)?;
    let primero = |k: &str| {
        p.get(k)
            .and_then(|v| v.split(',').next())
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let host = primero("hostaddr")
        .or_else(|| primero("host"))
        .unwrap_or_else(|| "localhost".into());
    let puerto = primero("port").unwrap_or_else(|| "5432".into());
    let upstream = if host.contains(':') {
        format!("[{host}]:{puerto}")
    } else {
        format!("{host}:{puerto}")
    };
    let (proxy_host, proxy_puerto) = proxy.rsplit_once(':').unwrap_or((proxy, &puerto));
    for k in [
        "hostaddr",
        "sslrootcert",
        "sslnegotiation",
        "channel_binding",
    ] {
        p.quitar(k);
    }
    p.set("host", proxy_host);
    p.set("port", proxy_puerto);
    p.set("sslmode", "disable");
    Ok((upstream, p.cadena()))
}

fn resumir(sql: &str) -> String {
    let s = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() > 100 {
        format!("{}…", s.chars().take(100).collect::<String>())
    } else {
        s
    }
}

/// One uncontended sale at a time through the proxy: statements, round trips, lock hold.
async fn analizar(banco: &Banco<'_>, cfg: &shared::Config) -> anyhow::Result<()> {
    let (upstream, _) = a_traves_de(cfg.database_url.expose(), "x")?;
    let (addr, eventos) = proxy(upstream).await?;
    let (_, url) = a_traves_de(cfg.database_url.expose(), &addr)?;
    let mut c = cfg.clone();
    c.database_url = shared::config::Secreto::new(url);
    c.db_pool_max = 1;
    let estado = [Arc::new(Estado::new(c)?)];
    let p = banco.producto(1_000_000).await;
    banco.ronda(&estado, &[p], 1).await?; // connects
    let (mut totales, mut retenciones, mut rts) = (Vec::new(), Vec::new(), Vec::new());
    let mut dentro = 0;
    // Per round trip of the sale (in order): its statements and its durations over the sales.
    let mut viajes: Vec<(String, Vec<f64>)> = Vec::new();
    for _ in 0..VENTAS_SIN_CONTENCION {
        eventos.lock().unwrap().clear();
        let m = banco.ronda(&estado, &[p], 1).await?;
        if m[0].status != 201 {
            bail!("venta sin contención: estado {}", m[0].status);
        }
        // The proxy records a ReadyForQuery just after forwarding it: let it catch up.
        tokio::time::sleep(Duration::from_millis(5)).await;
        let ev = eventos.lock().unwrap().clone();
        totales.push(m[0].ms);
        // Requests in the order sent (a simple query `Q`, or a typed query ending in its `S`
        // = Sync) and the server's ReadyForQuery `Z`s, which answer them in the same order.
        // A round trip starts when a request leaves with none outstanding and ends when the
        // outstanding count is back to zero: pipelined statements count as one.
        let mut peticiones: Vec<(Instant, String, usize)> = Vec::new();
        let mut respuestas: Vec<Instant> = Vec::new();
        let mut tramos: Vec<(Instant, Instant, Vec<String>)> = Vec::new();
        let (mut etiqueta, mut pendientes) = (String::new(), 0usize);
        for e in &ev {
            match e {
                Evento::Envio { t, tipo, sql } => {
                    if *tipo == b'P' {
                        etiqueta = format!("P {}", resumir(sql.as_deref().unwrap_or("")));
                        continue;
                    }
                    let et = match tipo {
                        b'Q' => format!("Q {}", resumir(sql.as_deref().unwrap_or(""))),
                        _ => etiqueta.clone(),
                    };
                    if pendientes == 0 {
                        tramos.push((*t, *t, Vec::new()));
                    }
                    pendientes += 1;
                    let tramo = tramos.len() - 1;
                    tramos[tramo].2.push(et.clone());
                    peticiones.push((*t, et, tramo));
                }
                Evento::Listo { t } => {
                    respuestas.push(*t);
                    pendientes = pendientes.saturating_sub(1);
                    if pendientes == 0
                        && let Some(u) = tramos.last_mut()
                    {
                        u.1 = *t;
                    }
                }
            }
        }
        // The lock: from the send of the statement that takes it to COMMIT's answer.
        let bloqueo = peticiones
            .iter()
            .position(|(_, et, _)| et.contains("FOR UPDATE") || et.contains("inventario.bloquear"));
        let commit = bloqueo.and_then(|b| {
            peticiones
                .iter()
                .enumerate()
                .skip(b)
                .find(|(_, (_, et, _))| et.ends_with("COMMIT"))
                .map(|(i, _)| i)
        });
        if let (Some(b), Some(c)) = (bloqueo, commit)
            && let Some(fin) = respuestas.get(c)
        {
            retenciones.push((*fin - peticiones[b].0).as_secs_f64() * 1e3);
            dentro = peticiones[c].2 - peticiones[b].2 + 1;
        }
        rts.push(tramos.len() as f64);
        for (k, (t0, t1, ets)) in tramos.iter().enumerate() {
            if viajes.len() <= k {
                viajes.push((ets.join(" + "), Vec::new()));
            }
            viajes[k].1.push((*t1 - *t0).as_secs_f64() * 1e3);
        }
    }
    println!(
        "\nOne uncontended sale ({VENTAS_SIN_CONTENCION} in a row, 1 container, through a counting proxy):"
    );
    println!(
        "  round trips to PostgreSQL per sale: {} ({dentro} of them with the product row locked: from the locking statement to COMMIT's answer; pipelined statements are one round trip)",
        percentil(&rts, 50.0)
    );
    let retencion = percentil(&retenciones, 50.0);
    println!(
        "  request p50 {:.2} ms; product lock held p50 {retencion:.2} ms, p99 {:.2} ms → the last of {} sales queued on one row waits ≈ {:.0} ms",
        percentil(&totales, 50.0),
        percentil(&retenciones, 99.0),
        VENTAS_COLA,
        retencion * VENTAS_COLA as f64,
    );
    println!("  round trips of one sale, p50 ms (Q = simple query, P = typed query):");
    for (et, d) in &viajes {
        println!("    {:>6.2}  {et}", percentil(d, 50.0));
    }
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::leer()?;
    let app = spawn_app_con(Opciones {
        // Every request still goes through the (Redis) limiter, as in production; the bench
        // sends far more than 10,000 a minute from one address.
        rate_limit_max: 100_000_000,
        ..Opciones::default()
    })
    .await;
    let empresa = app.empresa().await;
    let (_, cookie) = app.admin(&empresa).await;
    let categoria = app.categoria(&empresa, "Bench", "BEN").await;
    let banco = Banco {
        app: &app,
        empresa,
        cookie,
        categoria,
        codigos: std::cell::Cell::new(0),
    };
    let cfg = app.estado.config.clone();
    let estado_con_pool = |max: usize| -> anyhow::Result<Arc<Estado>> {
        let mut c = cfg.clone();
        c.db_pool_max = max;
        Ok(Arc::new(Estado::new(c)?))
    };
    let n = args.concurrencia;
    println!(
        "POST /api/ventas, {n} concurrent requests per round × {} rounds, 1 unit each; in-process handlers, \
         PostgreSQL {}, rate limiter {}; {} CPUs, load average {}",
        args.rondas,
        cfg.database_url
            .expose()
            .split('@')
            .next_back()
            .unwrap_or("")
            .split('/')
            .next()
            .unwrap_or(""),
        if app.estado.limitador.usa_redis() {
            "Redis"
        } else {
            "in memory"
        },
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .next()
            .unwrap_or("?"),
    );
    let mut correcto = true;
    // The two scenarios of the first configuration, one after the other through the same
    // handlers (max_connections is 100: never both at once).
    let (mut caliente, mut frio) = (None, None);
    for (i, (titulo, estados)) in [
        (
            format!("{n} containers (pool 1 each)"),
            (0..n)
                .map(|_| estado_con_pool(1))
                .collect::<anyhow::Result<Vec<_>>>()?,
        ),
        (
            "1 container, pool 10".to_string(),
            vec![estado_con_pool(10)?],
        ),
    ]
    .into_iter()
    .enumerate()
    {
        calentar(&banco, &estados, n).await?;
        println!("\n{titulo}:");
        println!(
            "  {:<24} {:>6} {:>6} {:>5} {:>5} {:>8} {:>8} {:>8} {:>9} {:>8}   stock",
            "scenario",
            "reqs",
            "201",
            "400",
            "other",
            "p50 ms",
            "p99 ms",
            "max ms",
            "ms/sale*",
            "sales/s"
        );
        for esc in [Escenario::UnProducto, Escenario::Distintos] {
            let cifras = escenario(&banco, &estados, esc, &args).await?;
            correcto &= cifras.correcto;
            if i == 0 {
                match esc {
                    Escenario::UnProducto => caliente = Some(cifras),
                    Escenario::Distintos => frio = Some(cifras),
                }
            }
        }
    }
    println!(
        "  * ms/sale = (last response − first request) / requests of a round: the serialized time per sale"
    );
    analizar(&banco, &cfg).await?;
    let (caliente, frio) = (
        caliente.context("escenario de un producto")?,
        frio.context("escenario de productos distintos")?,
    );
    let ratio = caliente.ventas_por_s / frio.ventas_por_s;
    println!("\ncorrectness: {}", if correcto { "OK" } else { "FAILED" });
    println!(
        "hot-product ratio={ratio:.2} p99={:.1} cold_p99={:.1}",
        caliente.p99, frio.p99
    );
    drop(banco);
    drop(app);
    if !correcto {
        std::process::exit(1);
    }
    if ratio < OBJETIVO_RATIO {
        std::process::exit(3);
    }
    Ok(())
}
