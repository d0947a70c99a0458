-- Objects that exist only for the Rust service live outside "public" (schema.md §5, R10), so the
-- reference's `prisma db push` never sees them as drift.
CREATE SCHEMA IF NOT EXISTS inventario;

-- Processed Neon webhook deliveries (neon-auth.md §6.3 step 8): a retry of the same event id is
-- answered with the first delivery's status and body without running the event again.
-- The row is inserted (claimed) before the event runs, in a transaction that stays open until the
-- answer is stored, so "status"/"cuerpo" are NULL only inside that uncommitted transaction
-- (functions/webhooks/src/entregas.rs).
CREATE TABLE IF NOT EXISTS inventario.webhook_evento (
  "eventId"  TEXT PRIMARY KEY,
  "tipo"     TEXT,
  "status"   INTEGER,
  "cuerpo"   JSONB,
  "creadoEn" TIMESTAMP(3) NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
);
CREATE INDEX IF NOT EXISTS webhook_evento_creado_idx ON inventario.webhook_evento ("creadoEn");
