-- Idempotency keys of POST /api/ventas, POST /api/cotizaciones and
-- POST /api/cotizaciones/{id}/convertir (schema.md R10: outside "public"). A row is written in
-- the same transaction as the work it protects, so a stored response exists iff the work
-- committed; rows expire after 24 h.
CREATE TABLE IF NOT EXISTS inventario.idempotencia (
  "empresaId" TEXT NOT NULL,
  "clave"     TEXT NOT NULL,
  "ruta"      TEXT NOT NULL,
  "huella"    TEXT NOT NULL,
  "usuarioId" TEXT NOT NULL,
  "status"    INTEGER NOT NULL,
  "cuerpo"    JSONB NOT NULL,
  "creadoEn"  TIMESTAMP(3) NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
  "expiraEn"  TIMESTAMP(3) NOT NULL,
  PRIMARY KEY ("empresaId", "clave")
);
CREATE INDEX IF NOT EXISTS idempotencia_expira_idx ON inventario.idempotencia ("expiraEn");
