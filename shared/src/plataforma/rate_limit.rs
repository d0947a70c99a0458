//! Rate limiter of platform.md §7: `RATE_LIMIT_MAX` POSTs per `RATE_LIMIT_WINDOW_MS` per client
//! address, one bucket shared by every limited path.
//!
//! Redis mode reproduces Upstash's `slidingWindow` (epoch-aligned windows, the same keys and the
//! same weighted arithmetic in one Lua script), so a cut-over from the reference keeps counting.
//! Redis unreachable, slow (> 1 s) or erroring → the in-memory limiter for that request, never a
//! 5xx. The in-memory limiter is a fixed window from the first request, bounded and evicting.
//!
//! The Redis connection is opened on the first limited request and replaced after any failure:
//! a failed or timed-out call drops it and Redis is skipped for a backoff (0.5 s doubling up to
//! 5 s, reset by a success), so while Redis is down or silent at most one request per backoff
//! pays the 1 s budget and the rest go straight to memory; once Redis is back the next attempt
//! reconnects and the limiter counts in Redis again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::plataforma::error::Error;

/// Upstash key of a window: `@upstash/ratelimit:ratelimit_login_<ip>:<w>`.
pub fn clave_redis(ip: &str, ventana: u64) -> String {
    format!("@upstash/ratelimit:ratelimit_login_{ip}:{ventana}")
}

const SCRIPT: &str = r#"
local current = tonumber(redis.call("GET", KEYS[1]) or "0")
local previous = tonumber(redis.call("GET", KEYS[2]) or "0")
local tokens = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local weighted = math.floor((1 - (now % window) / window) * previous)
if weighted + current >= tokens then
  return -1
end
local value = redis.call("INCRBY", KEYS[1], 1)
if value == 1 then
  redis.call("PEXPIRE", KEYS[1], window * 2 + 1000)
end
return tokens - (value + weighted)
"#;

const TIMEOUT_REDIS: Duration = Duration::from_secs(1);
const MAX_ENTRADAS_MEMORIA: usize = 10_000;
const ESPERA_MINIMA: Duration = Duration::from_millis(500);
const ESPERA_MAXIMA: Duration = Duration::from_secs(5);

#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    Permitida,
    /// Seconds to wait, already rounded as the 429 message states them.
    Rechazada(u64),
}

struct Redis {
    cliente: redis::Client,
    estado: Mutex<EstadoRedis>,
    script: redis::Script,
}

/// The current connection (none before the first request and after a failure) and the backoff.
#[derive(Default)]
struct EstadoRedis {
    conexion: Option<redis::aio::MultiplexedConnection>,
    /// No attempt before this instant (set by a failure).
    pausa_hasta: Option<Instant>,
    /// The next failure's backoff.
    espera: Duration,
}

impl Redis {
    fn estado(&self) -> std::sync::MutexGuard<'_, EstadoRedis> {
        self.estado.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The connection to use, or `None` while backing off after a failure.
    async fn conexion(&self) -> Option<redis::RedisResult<redis::aio::MultiplexedConnection>> {
        {
            let e = self.estado();
            if let Some(c) = &e.conexion {
                return Some(Ok(c.clone()));
            }
            if e.pausa_hasta.is_some_and(|t| Instant::now() < t) {
                return None;
            }
        }
        let cfg = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(TIMEOUT_REDIS))
            .set_response_timeout(Some(TIMEOUT_REDIS));
        let c = self
            .cliente
            .get_multiplexed_async_connection_with_config(&cfg)
            .await;
        if let Ok(c) = &c {
            self.estado().conexion = Some(c.clone());
        }
        Some(c)
    }

    fn exito(&self) {
        let mut e = self.estado();
        e.pausa_hasta = None;
        e.espera = ESPERA_MINIMA;
    }

    /// Drops the connection (a reset or silent one is never reused) and starts the backoff.
    fn fallo(&self) {
        let mut e = self.estado();
        e.conexion = None;
        let espera = e.espera.clamp(ESPERA_MINIMA, ESPERA_MAXIMA);
        e.pausa_hasta = Some(Instant::now() + espera);
        e.espera = (espera * 2).min(ESPERA_MAXIMA);
    }
}

pub struct Limitador {
    max: u32,
    ventana_ms: u64,
    redis: Option<Redis>,
    memoria: Mutex<HashMap<String, (u32, u64)>>,
}

impl Limitador {
    /// No connection is opened here: Redis connects on the first limited request.
    pub fn new(max: u32, ventana_ms: u64, redis_url: Option<&str>) -> anyhow::Result<Self> {
        let redis = match redis_url {
            Some(url) => Some(Redis {
                cliente: redis::Client::open(url)?,
                estado: Mutex::new(EstadoRedis::default()),
                script: redis::Script::new(SCRIPT),
            }),
            None => None,
        };
        Ok(Self {
            max,
            ventana_ms,
            redis,
            memoria: Mutex::new(HashMap::new()),
        })
    }

    pub fn usa_redis(&self) -> bool {
        self.redis.is_some()
    }

    /// G0: `Ok` or 429 with the seconds to wait.
    pub async fn comprobar(&self, clave: &str) -> Result<(), Error> {
        let ahora = chrono::Utc::now().timestamp_millis().max(0) as u64;
        match self.decidir(clave, ahora).await {
            Decision::Permitida => Ok(()),
            Decision::Rechazada(n) => Err(Error::TooManyRequests { retry_after: n }),
        }
    }

    pub async fn decidir(&self, clave: &str, ahora_ms: u64) -> Decision {
        if let Some(r) = &self.redis {
            match tokio::time::timeout(TIMEOUT_REDIS, self.decidir_redis(r, clave, ahora_ms)).await
            {
                Ok(Some(Ok(d))) => {
                    r.exito();
                    return d;
                }
                Ok(Some(Err(e))) => {
                    r.fallo();
                    tracing::warn!(error.message = %e, "limitador: Redis falló, se usa memoria")
                }
                Ok(None) => {}
                Err(_) => {
                    r.fallo();
                    tracing::warn!("limitador: Redis tardó más de 1 s, se usa memoria")
                }
            }
        }
        self.decidir_memoria(clave, ahora_ms)
    }

    /// `None` while backing off after a failure (memory decides, nothing is logged).
    async fn decidir_redis(
        &self,
        r: &Redis,
        clave: &str,
        ahora: u64,
    ) -> Option<redis::RedisResult<Decision>> {
        let mut con = match r.conexion().await? {
            Ok(c) => c,
            Err(e) => return Some(Err(e)),
        };
        Some(self.script_redis(r, &mut con, clave, ahora).await)
    }

    async fn script_redis(
        &self,
        r: &Redis,
        con: &mut redis::aio::MultiplexedConnection,
        clave: &str,
        ahora: u64,
    ) -> redis::RedisResult<Decision> {
        let w = ahora / self.ventana_ms;
        let restantes: i64 = r
            .script
            .key(clave_redis(clave, w))
            .key(clave_redis(clave, w.saturating_sub(1)))
            .arg(self.max)
            .arg(ahora)
            .arg(self.ventana_ms)
            .invoke_async(con)
            .await?;
        if restantes >= 0 {
            return Ok(Decision::Permitida);
        }
        let reset = (w + 1) * self.ventana_ms;
        let n = reset.saturating_sub(ahora).div_ceil(1000);
        Ok(Decision::Rechazada(if n == 0 {
            self.ventana_ms.div_ceil(1000)
        } else {
            n
        }))
    }

    /// Fixed window from the first request (platform.md §7.3, in-memory mode).
    pub fn decidir_memoria(&self, clave: &str, ahora: u64) -> Decision {
        let mut m = self.memoria.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((cuenta, reset)) = m.get_mut(clave)
            && ahora < *reset
        {
            if *cuenta >= self.max {
                return Decision::Rechazada((*reset - ahora).div_ceil(1000));
            }
            *cuenta += 1;
            return Decision::Permitida;
        }
        if m.len() >= MAX_ENTRADAS_MEMORIA {
            m.retain(|_, (_, reset)| ahora < *reset);
            if m.len() >= MAX_ENTRADAS_MEMORIA {
                // Still full of live windows: drop the ones closest to expiry.
                let mut resets: Vec<u64> = m.values().map(|(_, r)| *r).collect();
                resets.sort_unstable();
                let corte = resets[MAX_ENTRADAS_MEMORIA / 10];
                m.retain(|_, (_, reset)| *reset > corte);
            }
        }
        m.insert(clave.to_string(), (1, ahora + self.ventana_ms));
        Decision::Permitida
    }

    pub fn entradas_memoria(&self) -> usize {
        self.memoria.lock().map(|m| m.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memoria_ventana_fija_desde_la_primera() {
        let l = Limitador::new(5, 60_000, None).unwrap();
        for i in 0..5 {
            assert_eq!(l.decidir_memoria("1.2.3.4", 1_000 + i), Decision::Permitida);
        }
        assert_eq!(l.decidir_memoria("1.2.3.4", 1_500), Decision::Rechazada(60));
        assert_eq!(
            l.decidir_memoria("1.2.3.4", 30_001),
            Decision::Rechazada(31)
        );
        assert_eq!(l.decidir_memoria("otra", 30_001), Decision::Permitida);
        assert_eq!(l.decidir_memoria("1.2.3.4", 61_000), Decision::Permitida);
    }

    #[test]
    fn memoria_acotada() {
        let l = Limitador::new(5, 60_000, None).unwrap();
        for i in 0..(MAX_ENTRADAS_MEMORIA as u64 + 50) {
            l.decidir_memoria(&format!("ip{i}"), i);
        }
        assert!(l.entradas_memoria() <= MAX_ENTRADAS_MEMORIA);
    }
}
