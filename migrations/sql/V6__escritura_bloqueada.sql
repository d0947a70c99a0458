-- The locked write path (shared::dominio::escritura): under the product row locks a sale, a
-- conversion or a manual movement sends one locking statement, then ONE statement that checks
-- availability and writes every row, then COMMIT, pipelined. These functions are those
-- statements (schema.md §5, R10: the service's own objects live in "inventario", nothing new in
-- "public"). They are VOLATILE plpgsql: every query inside takes a fresh snapshot, and the write
-- statement starts after the lock statement returned, so under READ COMMITTED the stock and the
-- reservations it reads are the committed state the locks protect (a quote committed while we
-- waited is counted).
--
-- Refusals are raised, so the transaction aborts and the pipelined COMMIT answers ROLLBACK:
--   IV404 DETAIL = the productoId of the first line whose product is not the empresa's;
--   IV400 DETAIL = {"linea","productoId","nombre","solicitado","disponible"} of the first line
--         above availability;
--   IV409 the quote being converted is no longer PENDIENTE.
-- Responses are built here as the API serializes them (sales.md §1.6: dates as
-- `toISOString()`, doubles as JSON numbers), because the sale's response is stored under its
-- Idempotency-Key in the same statement.

-- `Date.toISOString()` of a TIMESTAMP(3) holding UTC wall-clock time.
CREATE OR REPLACE FUNCTION inventario.fecha_json(t timestamp) RETURNS text
LANGUAGE sql STABLE AS $$ SELECT to_char(t, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;

-- A "Producto" row as catalog.md §5 serializes it.
CREATE OR REPLACE FUNCTION inventario.producto_json(p "Producto") RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'id', p."id", 'nombre', p."nombre", 'descripcion', p."descripcion", 'codigo', p."codigo",
    'precio', p."precio", 'cantidad', p."cantidad", 'stockMinimo', p."stockMinimo",
    'categoriaId', p."categoriaId", 'creadoEn', inventario.fecha_json(p."creadoEn"),
    'empresaId', p."empresaId")
$$;

-- Units reserved per product by reserving quotes (sales.md §3.1: PENDIENTE and
-- `validaHasta > now`, the transaction's clock, every quote of the empresa).
CREATE OR REPLACE FUNCTION inventario.reservas(p_empresa text, p_productos int4[])
RETURNS TABLE ("productoId" int4, "reservado" int8)
LANGUAGE sql STABLE AS $$
  SELECT i."productoId", sum(i."cantidad")::int8
  FROM "ItemCotizacion" i JOIN "Cotizacion" c ON c."id" = i."cotizacionId"
  WHERE c."empresaId" = p_empresa AND c."estado" = 'PENDIENTE'
    AND c."validaHasta" > (now() AT TIME ZONE 'UTC') AND i."productoId" = ANY (p_productos)
  GROUP BY i."productoId"
$$;

-- Claims an Idempotency-Key (shared::plataforma::idempotencia): drops an expired row, inserts
-- the claim (waiting for a concurrent transaction holding the same key), and returns whether
-- the claim is ours and, if not, the stored request fingerprint and response.
CREATE OR REPLACE FUNCTION inventario.reclamar(
  p_empresa text, p_clave text, p_ruta text, p_huella text, p_usuario text)
RETURNS TABLE (nuestra boolean, ruta text, huella text, status int4, cuerpo jsonb)
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM inventario.idempotencia i
   WHERE i."empresaId" = p_empresa AND i."clave" = p_clave
     AND i."expiraEn" <= (now() AT TIME ZONE 'UTC');
  INSERT INTO inventario.idempotencia
         ("empresaId", "clave", "ruta", "huella", "usuarioId", "status", "cuerpo", "expiraEn")
  VALUES (p_empresa, p_clave, p_ruta, p_huella, p_usuario, 0, 'null'::jsonb,
          (now() AT TIME ZONE 'UTC') + interval '24 hours')
  ON CONFLICT DO NOTHING;
  IF FOUND THEN
    RETURN QUERY SELECT true, p_ruta, p_huella, 0, 'null'::jsonb;
    RETURN;
  END IF;
  RETURN QUERY SELECT false, i."ruta", i."huella", i."status", i."cuerpo"
    FROM inventario.idempotencia i WHERE i."empresaId" = p_empresa AND i."clave" = p_clave;
END $$;

-- The locking statement, in the one lock order of shared::dominio::stock: the request's
-- Idempotency-Key when it has one, then the empresa's products among `p_productos`, ascending.
-- Returns how many products it locked.
CREATE OR REPLACE FUNCTION inventario.bloquear(
  p_empresa text, p_productos int4[],
  p_clave text DEFAULT NULL, p_ruta text DEFAULT NULL, p_huella text DEFAULT NULL,
  p_usuario text DEFAULT NULL)
RETURNS int4 LANGUAGE plpgsql AS $$
DECLARE n int4;
BEGIN
  IF p_clave IS NOT NULL THEN
    PERFORM 1 FROM inventario.reclamar(p_empresa, p_clave, p_ruta, p_huella, p_usuario);
  END IF;
  PERFORM 1 FROM "Producto"
   WHERE "empresaId" = p_empresa AND "id" = ANY (p_productos)
   ORDER BY "id" FOR UPDATE;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;

-- The check-and-write statement of a sale (POST /api/ventas, sales.md §4.2) and of a quote's
-- conversion (§4.7, `p_cotizacion` set: physical stock only, then the quote flips to
-- CONVERTIDA). Lines are checked in request order; a product repeated on two lines is checked
-- against what the earlier line left. Then the "Venta", its "ItemVenta"s (ids ascend with the
-- lines), one stock decrement per product, one `salida` "Movimiento" per line with notas
-- `p_nota_antes || ventaId || p_nota_despues`, and with `p_clave` the response stored under the
-- key claimed by inventario.bloquear (status 201). When that key already holds a committed
-- response (a retry), nothing is written and {"repetida": true, …} comes back instead.
-- Returns {"repetida": false, "cuerpo": <the sale as POST /api/ventas answers it>,
-- "cambios": [{"productoId","nombre","antes","despues","stockMinimo"}, …] ascending by id}.
CREATE OR REPLACE FUNCTION inventario.vender(
  p_empresa text, p_vendedor text, p_cliente int4, p_notas text, p_total float8,
  p_productos int4[], p_cantidades int8[], p_precios float8[], p_subtotales float8[],
  p_nota_antes text, p_nota_despues text, p_clave text, p_cotizacion int4)
RETURNS jsonb LANGUAGE plpgsql SET extra_float_digits = 1 AS $$
DECLARE
  n int4 := coalesce(array_length(p_productos, 1), 0);
  v_guardada record;
  v_producto record;
  v_reservado int8;
  v_usado int8;
  v_disponible int8;
  v_venta "Venta";
  v_cambios jsonb;
  v_cuerpo jsonb;
BEGIN
  IF p_clave IS NOT NULL THEN
    SELECT i."ruta", i."huella", i."status", i."cuerpo" INTO v_guardada
      FROM inventario.idempotencia i WHERE i."empresaId" = p_empresa AND i."clave" = p_clave;
    IF FOUND AND v_guardada.status <> 0 THEN
      RETURN jsonb_build_object('repetida', true, 'ruta', v_guardada.ruta,
        'huella', v_guardada.huella, 'status', v_guardada.status, 'cuerpo', v_guardada.cuerpo);
    END IF;
  END IF;
  IF n = 0 THEN
    RAISE EXCEPTION 'venta sin líneas';
  END IF;

  FOR i IN 1 .. n LOOP
    SELECT p."nombre", p."cantidad" INTO v_producto
      FROM "Producto" p WHERE p."id" = p_productos[i] AND p."empresaId" = p_empresa;
    IF NOT FOUND THEN
      RAISE EXCEPTION USING ERRCODE = 'IV404', MESSAGE = 'producto no encontrado',
        DETAIL = p_productos[i]::text;
    END IF;
    v_reservado := 0;
    IF p_cotizacion IS NULL THEN
      SELECT coalesce(sum(r."reservado"), 0)::int8 INTO v_reservado
        FROM inventario.reservas(p_empresa, ARRAY[p_productos[i]]) r;
    END IF;
    SELECT coalesce(sum(p_cantidades[j]), 0)::int8 INTO v_usado
      FROM generate_series(1, i - 1) j WHERE p_productos[j] = p_productos[i];
    v_disponible := greatest(0, v_producto."cantidad" - v_reservado - v_usado);
    IF p_cantidades[i] > v_disponible THEN
      RAISE EXCEPTION USING ERRCODE = 'IV400', MESSAGE = 'stock insuficiente',
        DETAIL = jsonb_build_object('linea', i, 'productoId', p_productos[i],
          'nombre', v_producto."nombre", 'solicitado', p_cantidades[i],
          'disponible', v_disponible)::text;
    END IF;
  END LOOP;

  INSERT INTO "Venta" ("vendedorId", "clienteId", "total", "notas", "empresaId", "creadoEn")
  VALUES (p_vendedor, p_cliente, p_total, p_notas, p_empresa, now() AT TIME ZONE 'UTC')
  RETURNING * INTO v_venta;

  -- Rows go in in ordinality order and the serial default is drawn row by row.
  INSERT INTO "ItemVenta" ("ventaId", "productoId", "cantidad", "precioUnitario", "subtotal")
  SELECT v_venta."id", t.p, t.c::int4, t.pu, t.s
    FROM unnest(p_productos, p_cantidades, p_precios, p_subtotales) WITH ORDINALITY AS t(p, c, pu, s, o)
   ORDER BY t.o;

  WITH t AS (
    SELECT u.p, sum(u.c)::int4 AS n FROM unnest(p_productos, p_cantidades) AS u(p, c) GROUP BY u.p
  ), cambio AS (
    UPDATE "Producto" p SET "cantidad" = p."cantidad" - t.n
      FROM t WHERE p."id" = t.p AND p."empresaId" = p_empresa
    RETURNING p."id", p."nombre", p."cantidad" + t.n AS antes, p."cantidad" AS despues,
              p."stockMinimo"
  )
  SELECT coalesce(jsonb_agg(jsonb_build_object('productoId', c."id", 'nombre', c."nombre",
           'antes', c.antes, 'despues', c.despues, 'stockMinimo', c."stockMinimo")
           ORDER BY c."id"), '[]'::jsonb)
    INTO v_cambios FROM cambio c;

  INSERT INTO "Movimiento" ("productoId", "tipo", "cantidad", "notas", "ventaId", "ordenCompraId", "empresaId", "creadoEn")
  SELECT t.p, 'salida'::"TipoMovimiento", t.c::int4, p_nota_antes || v_venta."id" || p_nota_despues,
         v_venta."id", NULL, p_empresa, now() AT TIME ZONE 'UTC'
    FROM unnest(p_productos, p_cantidades) WITH ORDINALITY AS t(p, c, o)
   ORDER BY t.o;

  IF p_cotizacion IS NOT NULL THEN
    UPDATE "Cotizacion"
       SET "estado" = 'CONVERTIDA', "ventaId" = v_venta."id", "convertidaEn" = now() AT TIME ZONE 'UTC'
     WHERE "id" = p_cotizacion AND "empresaId" = p_empresa AND "estado" = 'PENDIENTE';
    IF NOT FOUND THEN
      RAISE EXCEPTION USING ERRCODE = 'IV409', MESSAGE = 'cotización no pendiente';
    END IF;
  END IF;

  v_cuerpo := jsonb_build_object(
    'id', v_venta."id", 'vendedorId', v_venta."vendedorId", 'clienteId', v_venta."clienteId",
    'total', v_venta."total", 'notas', v_venta."notas",
    'creadoEn', inventario.fecha_json(v_venta."creadoEn"), 'canceladaEn', NULL,
    'canceladaPorId', NULL, 'motivoCancelacion', NULL, 'empresaId', v_venta."empresaId",
    'items', (SELECT jsonb_agg(jsonb_build_object(
                'id', iv."id", 'ventaId', iv."ventaId", 'productoId', iv."productoId",
                'cantidad', iv."cantidad", 'precioUnitario', iv."precioUnitario",
                'subtotal', iv."subtotal",
                'producto', jsonb_build_object('nombre', p."nombre", 'codigo', p."codigo"))
                ORDER BY iv."id")
                FROM "ItemVenta" iv JOIN "Producto" p ON p."id" = iv."productoId"
               WHERE iv."ventaId" = v_venta."id"));

  IF p_clave IS NOT NULL THEN
    UPDATE inventario.idempotencia SET "status" = 201, "cuerpo" = v_cuerpo
     WHERE "empresaId" = p_empresa AND "clave" = p_clave;
  END IF;
  RETURN jsonb_build_object('repetida', false, 'cuerpo', v_cuerpo, 'cambios', v_cambios);
END $$;

-- The check-and-write statement of POST /api/movimientos (movimientos.md §5.3): an exit is
-- checked against `cantidad − reservado`; the stock change, the "Movimiento" and its audit row
-- (platform.md §8.3: in the transaction, `{"despues": <the response>}`) are written together.
-- Returns {"cuerpo": <the movement with its product, as the API answers it>,
-- "cambio": {"productoId","nombre","antes","despues","stockMinimo"}}.
CREATE OR REPLACE FUNCTION inventario.mover(
  p_empresa text, p_producto int4, p_tipo text, p_cantidad int4, p_notas text,
  p_usuario text, p_ip text)
RETURNS jsonb LANGUAGE plpgsql SET extra_float_digits = 1 AS $$
DECLARE
  v_producto "Producto";
  v_antes int4;
  v_disponible int8;
  v_movimiento "Movimiento";
  v_cuerpo jsonb;
BEGIN
  SELECT * INTO v_producto FROM "Producto" p WHERE p."id" = p_producto AND p."empresaId" = p_empresa;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'IV404', MESSAGE = 'producto no encontrado',
      DETAIL = p_producto::text;
  END IF;
  v_antes := v_producto."cantidad";
  IF p_tipo = 'salida' THEN
    SELECT greatest(0, v_producto."cantidad" - coalesce(sum(r."reservado"), 0))::int8
      INTO v_disponible FROM inventario.reservas(p_empresa, ARRAY[p_producto]) r;
    IF p_cantidad > v_disponible THEN
      RAISE EXCEPTION USING ERRCODE = 'IV400', MESSAGE = 'stock insuficiente',
        DETAIL = jsonb_build_object('linea', 1, 'productoId', p_producto,
          'nombre', v_producto."nombre", 'solicitado', p_cantidad,
          'disponible', v_disponible)::text;
    END IF;
  END IF;
  UPDATE "Producto" p
     SET "cantidad" = p."cantidad" + CASE WHEN p_tipo = 'salida' THEN -p_cantidad ELSE p_cantidad END
   WHERE p."id" = p_producto AND p."empresaId" = p_empresa
  RETURNING * INTO v_producto;
  INSERT INTO "Movimiento" ("productoId", "tipo", "cantidad", "notas", "ventaId", "ordenCompraId", "empresaId", "creadoEn")
  VALUES (p_producto, p_tipo::"TipoMovimiento", p_cantidad, p_notas, NULL, NULL, p_empresa,
          now() AT TIME ZONE 'UTC')
  RETURNING * INTO v_movimiento;
  v_cuerpo := jsonb_build_object(
    'id', v_movimiento."id", 'productoId', v_movimiento."productoId",
    'tipo', v_movimiento."tipo"::text, 'cantidad', v_movimiento."cantidad",
    'notas', v_movimiento."notas", 'ventaId', v_movimiento."ventaId",
    'ordenCompraId', v_movimiento."ordenCompraId",
    'creadoEn', inventario.fecha_json(v_movimiento."creadoEn"),
    'empresaId', v_movimiento."empresaId", 'producto', inventario.producto_json(v_producto));
  INSERT INTO "Auditoria" ("usuarioId", "empresaId", "accion", "entidad", "entidadId", "datos", "ip", "creadoEn")
  VALUES (p_usuario, p_empresa, 'CREAR', 'Movimiento', v_movimiento."id"::text,
          jsonb_build_object('despues', v_cuerpo), p_ip, now() AT TIME ZONE 'UTC');
  RETURN jsonb_build_object('cuerpo', v_cuerpo, 'cambio', jsonb_build_object(
    'productoId', v_producto."id", 'nombre', v_producto."nombre", 'antes', v_antes,
    'despues', v_producto."cantidad", 'stockMinimo', v_producto."stockMinimo"));
END $$;
