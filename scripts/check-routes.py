#!/usr/bin/env python3
"""Checks that the three route tables agree, so a function cannot be half-deployed:

  * template.yaml: one AWS::Serverless::Function per crate under functions/ (rust-cargolambda,
    CodeUri ".", BuildProperties.Binary = the crate's binary), with one HttpApi event per path
    (Method ANY, payload 2.0), plus the catch-all ANY /api/{proxy+} on categorias;
  * Cargo.toml [workspace.metadata.lambda.watch.router]: the same path -> function table in
    matchit syntax (scripts/dev serves it through `cargo lambda watch`);
  * ../shared/spec/routes.tsv (or $ROUTES_TSV), when present: every path of a function that
    exists under functions/ is routed to it.

`check-routes.py --snippet NAME` prints the template block and router rows for a new function
from routes.tsv. Needs PyYAML (installed with cfn-lint).
"""

import os
import re
import sys
import tomllib

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CATCH_ALL = "/api/{proxy+}"
CATCH_ALL_FUNCTION = "categorias"


class CfnLoader(yaml.SafeLoader):
    pass


def _tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return {suffix: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {suffix: loader.construct_sequence(node)}
    return {suffix: loader.construct_mapping(node)}


CfnLoader.add_multi_constructor("!", _tag)


def norm(name):
    return name.replace("_", "-")


def workspace_functions():
    """Binary name of every crate under functions/."""
    out = {}
    base = os.path.join(ROOT, "functions")
    for d in sorted(os.listdir(base)):
        manifest = os.path.join(base, d, "Cargo.toml")
        if not os.path.isfile(manifest):
            continue
        with open(manifest, "rb") as f:
            pkg = tomllib.load(f)
        bins = [b["name"] for b in pkg.get("bin", [])] or [pkg["package"]["name"]]
        if len(bins) != 1:
            sys.exit(f"functions/{d}: expected one binary, found {bins}")
        out[norm(bins[0])] = bins[0]
    return out


def template_routes(errors):
    with open(os.path.join(ROOT, "template.yaml")) as f:
        tpl = yaml.load(f, Loader=CfnLoader)
    functions, routes = {}, {}
    for logical, res in (tpl.get("Resources") or {}).items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        meta = res.get("Metadata") or {}
        props = res.get("Properties") or {}
        binary = (meta.get("BuildProperties") or {}).get("Binary")
        if meta.get("BuildMethod") != "rust-cargolambda" or not binary:
            errors.append(f"template.yaml {logical}: needs Metadata BuildMethod rust-cargolambda and BuildProperties.Binary")
            continue
        if props.get("CodeUri") != ".":
            errors.append(f"template.yaml {logical}: CodeUri must be . (the workspace root, where target/lambda/{binary}/ is built)")
        functions[norm(binary)] = logical
        for ev_name, ev in (props.get("Events") or {}).items():
            p = ev.get("Properties") or {}
            where = f"template.yaml {logical}.Events.{ev_name}"
            if ev.get("Type") != "HttpApi":
                errors.append(f"{where}: Type must be HttpApi")
                continue
            if p.get("ApiId") != {"Ref": "Api"}:
                errors.append(f"{where}: ApiId must be !Ref Api")
            if p.get("Method") != "ANY":
                errors.append(f"{where}: Method must be ANY (the function answers 405 itself)")
            if str(p.get("PayloadFormatVersion")) != "2.0":
                errors.append(f"{where}: PayloadFormatVersion must be \"2.0\"")
            path = p.get("Path", "")
            if path in routes:
                errors.append(f"{where}: path {path} declared twice")
            routes[path] = norm(binary)
    return functions, routes


def router_routes(errors):
    with open(os.path.join(ROOT, "Cargo.toml"), "rb") as f:
        cargo = tomllib.load(f)
    try:
        router = cargo["workspace"]["metadata"]["lambda"]["watch"]["router"]
    except KeyError:
        errors.append("Cargo.toml: missing [workspace.metadata.lambda.watch.router]")
        return {}
    out = {}
    for path, fn in router.items():
        if not isinstance(fn, str):
            errors.append(f"Cargo.toml router {path}: map the path to one function name (every method)")
            continue
        # matchit `{*rest}` is API Gateway's `{rest+}`. matchit treats `/x/` and `/x` as two
        # paths, so the router also lists each path with one trailing slash (platform.md §1.2:
        # strip one trailing slash before routing); both spellings must reach the same function.
        clave = re.sub(r"\{\*(\w+)\}", r"{\1+}", path)
        if len(clave) > 1 and clave.endswith("/"):
            clave = clave[:-1]
        if clave in out and out[clave] != norm(fn):
            errors.append(f"Cargo.toml router {path}: {fn}, but {clave} goes to {out[clave]}")
        out[clave] = norm(fn)
    return out


def spec_routes():
    path = os.environ.get("ROUTES_TSV") or os.path.join(ROOT, "..", "shared", "spec", "routes.tsv")
    if not os.path.isfile(path):
        return None, path
    out = {}
    with open(path) as f:
        rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    for row in rows[1:]:
        _method, p, fn = row[0], row[1], row[2]
        out.setdefault(p, set()).add(norm(fn))
    return out, path


def event_name(path):
    parts = [s for s in path.split("/") if s and s != "api"]
    words = []
    for s in parts:
        s = "Id" if s.startswith("{") else s
        words.extend(w.capitalize() for w in re.split(r"[-_]", s))
    return "".join(words) or "Root"


def snippet(name):
    spec, where = spec_routes()
    if spec is None:
        sys.exit(f"routes.tsv not found at {where} (set ROUTES_TSV)")
    paths = [p for p, fns in spec.items() if norm(name) in fns]
    if not paths:
        sys.exit(f"no route of function {name} in {where}")
    logical = "".join(w.capitalize() for w in re.split(r"[-_]", name)) + "Function"
    print(f"# template.yaml\n  {logical}:\n    Type: AWS::Serverless::Function\n    Metadata:\n"
          f"      BuildMethod: rust-cargolambda\n      BuildProperties:\n        Binary: {name}\n"
          f"    Properties:\n      CodeUri: .\n      Events:")
    for p in paths:
        q = f'"{p}"' if "{" in p else p
        print(f"        {event_name(p)}:\n          Type: HttpApi\n"
              f'          Properties: {{ApiId: !Ref Api, Method: ANY, Path: {q}, PayloadFormatVersion: "2.0"}}')
    print(f"\n# Cargo.toml [workspace.metadata.lambda.watch.router]\n# {name}")
    for p in paths:
        print(f'"{p}" = "{name}"')
        print(f'"{p}/" = "{name}"')


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--snippet":
        snippet(sys.argv[2])
        return
    errors = []
    crates = workspace_functions()
    functions, tpl = template_routes(errors)
    router = router_routes(errors)

    for fn in sorted(set(crates) - set(functions)):
        errors.append(f"functions/{crates[fn]} has no AWS::Serverless::Function in template.yaml "
                      f"(scripts/check-routes.py --snippet {crates[fn]})")
    for fn in sorted(set(functions) - set(crates)):
        errors.append(f"template.yaml {functions[fn]}: no crate under functions/ builds binary {fn}")

    if tpl.get(CATCH_ALL) != CATCH_ALL_FUNCTION:
        errors.append(f"template.yaml: the catch-all ANY {CATCH_ALL} must go to {CATCH_ALL_FUNCTION}")
    for p in sorted(set(tpl) | set(router)):
        a, b = tpl.get(p), router.get(p)
        if a != b:
            errors.append(f"path {p}: template.yaml -> {a or 'nothing'}, Cargo.toml router -> {b or 'nothing'}")

    spec, where = spec_routes()
    if spec is None:
        print(f"check-routes: {where} not found; checked template.yaml against Cargo.toml only")
    else:
        for p, fns in sorted(spec.items()):
            deployed = fns & set(crates)
            if deployed and tpl.get(p) not in deployed:
                errors.append(f"routes.tsv {p} ({'/'.join(sorted(fns))}) is routed to {tpl.get(p) or 'the catch-all'} in template.yaml")
        for p, fn in sorted(tpl.items()):
            if p != CATCH_ALL and fn not in spec.get(p, set()):
                errors.append(f"template.yaml routes {p} to {fn}, routes.tsv does not")

    if errors:
        print("check-routes: " + str(len(errors)) + " problem(s)", file=sys.stderr)
        for e in errors:
            print("  " + e, file=sys.stderr)
        sys.exit(1)
    print(f"check-routes: {len(crates)} functions, {len(tpl)} routes agree in template.yaml, "
          f"Cargo.toml" + ("" if spec is None else " and routes.tsv"))


if __name__ == "__main__":
    main()
