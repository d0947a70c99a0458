//! `migrate [--dev] [--create-db] [--cut-over]`: applies `migrations/` to `DATABASE_URL_UNPOOLED`,
//! else `DATABASE_URL` (a session, not Neon's pooler). On the reference's database it adopts
//! (Safe changes only); `--cut-over` applies the Coexistence changes ([`migrations::ejecutar`]).
//! `--dev` also creates the neon_auth fixture (never in production).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dev = args.iter().any(|a| a == "--dev");
    let crear = args.iter().any(|a| a == "--create-db");
    let cortar = args.iter().any(|a| a == "--cut-over");
    if let Some(a) = args
        .iter()
        .find(|a| !matches!(a.as_str(), "--dev" | "--create-db" | "--cut-over"))
    {
        anyhow::bail!(
            "argumento desconocido: {a} (uso: migrate [--dev] [--create-db] [--cut-over])"
        );
    }
    let (variable, url) = ["DATABASE_URL_UNPOOLED", "DATABASE_URL"]
        .into_iter()
        .find_map(|v| Some((v, std::env::var(v).ok().filter(|s| !s.is_empty())?)))
        .ok_or_else(|| anyhow::anyhow!("falta DATABASE_URL"))?;
    // A bad sslmode or CA: one line naming the variable, before any connection.
    migrations::leer_url(&url).map_err(|e| anyhow::anyhow!("{variable}: {e}"))?;
    if crear {
        migrations::crear_bd_si_falta(&url).await?;
    }
    let mut client = migrations::conectar(&url).await?;
    let informe = migrations::ejecutar(&mut client, dev, cortar).await?;
    print!("{informe}");
    println!(
        "migraciones aplicadas{}",
        if dev {
            " (con fixture neon_auth de desarrollo)"
        } else {
            ""
        }
    );
    Ok(())
}
