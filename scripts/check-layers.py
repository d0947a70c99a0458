#!/usr/bin/env python3
"""The layering rule of shared/ (README "Layout"), checked by scripts/test:

- every module lives in shared/src/plataforma/ or shared/src/dominio/ and starts with a `//!` line;
- inside the crate, modules are named by their layer (`crate::plataforma::db`, `super::db`), never
  through the root re-exports of lib.rs (`crate::db`), so every arrow is visible;
- `plataforma` never imports `dominio`;
- no cycle between modules, in either layer.

Exit 1 with one line per violation.
"""
import re
import sys
from pathlib import Path

RAIZ = Path(__file__).resolve().parent.parent / "shared" / "src"
CAPAS = ("plataforma", "dominio")


def sin_comentarios(texto: str) -> str:
    lineas = []
    for linea in texto.splitlines():
        if linea.lstrip().startswith("//"):
            continue
        lineas.append(re.sub(r"(?<![:\"])//.*$", "", linea))
    return "\n".join(lineas)


def reexportes(capa: str) -> dict:
    """`pub use modulo::{A, B}` of a layer's mod.rs: item → module."""
    mapa = {}
    texto = (RAIZ / capa / "mod.rs").read_text()
    for m in re.finditer(r"pub use (\w+)::(?:\{([^}]*)\}|(\w+));", texto):
        for item in (m.group(2) or m.group(3)).split(","):
            item = item.strip()
            if item:
                mapa[item] = m.group(1)
    return mapa


def elementos(grupo: str):
    """First identifier of each item of a `{a, b::C, d::{e}}` group."""
    profundidad, actual, salida = 0, "", []
    for c in grupo:
        if c == "{":
            profundidad += 1
        elif c == "}":
            profundidad -= 1
        if c == "," and profundidad == 0:
            salida.append(actual)
            actual = ""
        else:
            actual += c
    salida.append(actual)
    for s in salida:
        m = re.match(r"\s*(\w+)", s)
        if m:
            yield m.group(1)


def main() -> int:
    errores = []
    modulos = {}  # (capa, nombre) → path
    for capa in CAPAS:
        for f in sorted((RAIZ / capa).glob("*.rs")):
            nombre = capa if f.name == "mod.rs" else f.stem
            modulos[(capa, nombre)] = f
    for f in sorted(RAIZ.glob("*.rs")):
        if f.name != "lib.rs":
            errores.append(f"{f.relative_to(RAIZ)}: módulo fuera de las capas (plataforma/ o dominio/)")
    mapas = {c: reexportes(c) for c in CAPAS}

    aristas = {m: set() for m in modulos}
    for (capa, nombre), f in modulos.items():
        texto_completo = f.read_text()
        if not texto_completo.startswith("//!"):
            errores.append(f"{f.relative_to(RAIZ)}: falta la línea //! que dice qué es del módulo")
        texto = sin_comentarios(texto_completo)
        destinos = []
        for m in re.finditer(r"\bcrate::(\w+)(?:::(?:\{([^}]*(?:\{[^}]*\}[^}]*)*)\}|(\w+)))?", texto):
            cabeza = m.group(1)
            if cabeza not in CAPAS:
                errores.append(f"{f.relative_to(RAIZ)}: `crate::{cabeza}` pasa por la raíz; usa crate::plataforma::… o crate::dominio::…")
                continue
            items = list(elementos(m.group(2))) if m.group(2) else [m.group(3)] if m.group(3) else []
            destinos += [(cabeza, i) for i in items]
        if capa != nombre:
            for m in re.finditer(r"\bsuper::(?:\{([^}]*)\}|(\w+))", texto):
                items = list(elementos(m.group(1))) if m.group(1) else [m.group(2)]
                destinos += [(capa, i) for i in items]
        for destino_capa, item in destinos:
            modulo = item if (destino_capa, item) in modulos else mapas[destino_capa].get(item)
            if modulo is None:
                continue
            destino = (destino_capa, modulo)
            if destino == (capa, nombre) or modulo == destino_capa:
                continue
            aristas[(capa, nombre)].add(destino)
            if capa == "plataforma" and destino_capa == "dominio":
                errores.append(f"{f.relative_to(RAIZ)}: plataforma importa dominio::{modulo}")

    # Cycles (Tarjan's strongly connected components).
    indice, bajo, pila, en_pila, sccs = {}, {}, [], set(), []
    contador = [0]

    def visitar(v):
        indice[v] = bajo[v] = contador[0]
        contador[0] += 1
        pila.append(v)
        en_pila.add(v)
        for w in aristas[v]:
            if w not in indice:
                visitar(w)
                bajo[v] = min(bajo[v], bajo[w])
            elif w in en_pila:
                bajo[v] = min(bajo[v], indice[w])
        if bajo[v] == indice[v]:
            comp = []
            while True:
                w = pila.pop()
                en_pila.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(comp)

    sys.setrecursionlimit(10000)
    for v in aristas:
        if v not in indice:
            visitar(v)
    for comp in sccs:
        nombres = " ↔ ".join(sorted(f"{c}::{m}" for c, m in comp))
        errores.append(f"ciclo de módulos: {nombres}")

    for e in errores:
        print(f"check-layers: {e}")
    if errores:
        return 1
    n = sum(len(a) for a in aristas.values())
    print(f"check-layers: {len(modulos)} módulos, {n} dependencias, sin ciclos, plataforma no importa dominio")
    return 0


if __name__ == "__main__":
    sys.exit(main())
