//! `seed`: the local demo data of `scripts/dev` (idempotent; never for production).
//! A demo empresa, an ADMIN with a Neon user and a live session, a few categories.
//! Prints the session token on stdout (one line) for the ready `curl` command.

const EMPRESA: &str = "cdemo0000empresa000000001";
const USUARIO: &str = "cdemo0000usuario000000001";
const NEON: &str = "00000000-0000-4000-8000-000000000001";
const EMAIL: &str = "admin@demo.local";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("DATABASE_URL").map_err(|_| anyhow::anyhow!("falta DATABASE_URL"))?;
    let client = migrations::conectar(&url).await?;
    let neon = NEON;
    client
        .batch_execute(&format!(
            r#"
INSERT INTO "Empresa" ("id", "nombre") VALUES ('{EMPRESA}', 'Empresa Demo') ON CONFLICT DO NOTHING;
INSERT INTO neon_auth."user" ("id", "name", "email", "emailVerified")
  VALUES ('{neon}', 'Admin Demo', '{EMAIL}', true) ON CONFLICT DO NOTHING;
INSERT INTO "Usuario" ("id", "neonAuthId", "email", "nombre", "estado", "rol", "empresaId")
  VALUES ('{USUARIO}', '{neon}', '{EMAIL}', 'Admin Demo', 'ACTIVO', 'ADMIN', '{EMPRESA}') ON CONFLICT DO NOTHING;
INSERT INTO "Categoria" ("nombre", "prefijo", "empresaId") VALUES
  ('Bebidas', 'BEB', '{EMPRESA}'), ('Aseo', 'ASE', '{EMPRESA}'), ('Snacks', 'SNK', '{EMPRESA}')
  ON CONFLICT DO NOTHING;
"#
        ))
        .await?;
    let existente = client
        .query_opt(
            r#"SELECT "token" FROM neon_auth.session WHERE "userId" = $1::text::uuid
               AND "expiresAt" > now() + interval '1 day' ORDER BY "expiresAt" DESC LIMIT 1"#,
            &[&neon],
        )
        .await?;
    let token: String = match existente {
        Some(f) => f.get(0),
        None => {
            let token: String = (0..32)
                .map(|_| {
                    let a = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
                    a[rand::random::<u8>() as usize % a.len()] as char
                })
                .collect();
            client
                .execute(
                    r#"INSERT INTO neon_auth.session ("token", "userId", "expiresAt")
                       VALUES ($1, $2::text::uuid, now() + interval '7 days')"#,
                    &[&token, &neon],
                )
                .await?;
            token
        }
    };
    println!("{token}");
    Ok(())
}
