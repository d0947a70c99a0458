-- schema.md §7 R4, sales.md §4.9 and §8 #4: "Cliente"."documento" is unique per tenant, not
-- globally. The reference's global index lets two companies collide on a customer's id number and
-- its violation (a 500) tells the caller that some other company has that document.
--
-- COEXISTENCE change (schema.md §7): while the reference app still deploys, its
-- `prisma db push` treats "Cliente_empresaId_documento_key" as drift, drops it and re-creates the
-- global "Cliente_documento_key" (and its build fails once two companies share a documento).
-- Apply after cut-over, or re-apply this file's effect after each reference deploy
-- (functions/clientes keeps its per-tenant pre-check, so a same-company duplicate is a 409 either way).
--
-- Idempotent and safe on a reference database: the new index is created first and checked in the
-- catalog before the global one goes, so uniqueness is never absent; the global index already
-- implies per-tenant uniqueness, so existing rows cannot make the creation fail. Building the index
-- takes a SHARE lock on "Cliente" (writes wait; the table is small, one row per customer).
DO $r4$
BEGIN
  IF to_regclass('public."Cliente_empresaId_documento_key"') IS NULL THEN
    CREATE UNIQUE INDEX "Cliente_empresaId_documento_key" ON public."Cliente" ("empresaId", "documento");
  END IF;

  -- A relation of that name that is not exactly our index would silently leave no uniqueness.
  IF NOT EXISTS (
    SELECT 1
    FROM pg_index i
    WHERE i.indexrelid = to_regclass('public."Cliente_empresaId_documento_key"')
      AND i.indrelid = 'public."Cliente"'::regclass
      AND i.indisunique AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL
      AND ARRAY(
            SELECT a.attname::text
            FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, orden)
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
            ORDER BY k.orden
          ) = ARRAY['empresaId', 'documento']
  ) THEN
    RAISE EXCEPTION '"Cliente_empresaId_documento_key" existe pero no es UNIQUE ("empresaId", "documento")';
  END IF;

  -- Prisma creates the global one as a plain unique index; a hand-made database may hold it as a
  -- table constraint instead (then the index cannot be dropped on its own).
  IF EXISTS (
    SELECT 1 FROM pg_constraint
    WHERE conname = 'Cliente_documento_key' AND conrelid = 'public."Cliente"'::regclass
  ) THEN
    ALTER TABLE public."Cliente" DROP CONSTRAINT "Cliente_documento_key";
  ELSIF to_regclass('public."Cliente_documento_key"') IS NOT NULL THEN
    DROP INDEX public."Cliente_documento_key";
  END IF;
END
$r4$;
