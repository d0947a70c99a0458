-- schema.md §7 R2 (Safe): stock can never go negative, even if application code were wrong.
-- Added NOT VALID (a reference database may already hold negative stock), then validated when
-- the existing rows allow it; a NOT VALID constraint still applies to every new write.
DO $r2$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'Producto_cantidad_no_negativa') THEN
    ALTER TABLE "Producto" ADD CONSTRAINT "Producto_cantidad_no_negativa" CHECK ("cantidad" >= 0) NOT VALID;
  END IF;
  BEGIN
    ALTER TABLE "Producto" VALIDATE CONSTRAINT "Producto_cantidad_no_negativa";
  EXCEPTION WHEN check_violation THEN
    RAISE NOTICE 'Producto_cantidad_no_negativa queda NOT VALID: hay filas con stock negativo';
  END;
END
$r2$;
