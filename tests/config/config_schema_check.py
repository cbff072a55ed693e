#!/usr/bin/env python3
"""The config's JSON Schema against the loader, with a validator nobody here wrote (python3-jsonschema):

- `aggregator config schema` is a valid 2020-12 schema, and configs/config.schema.json is it;
- every config the loader accepts (configs/, bench/, the config fuzz corpus) is valid against it, and
  so is what `aggregator config print` makes of it (the defaults it fills in are in range);
- a set of wrong configs is refused by both, the loader naming the JSON path the schema names.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

from jsonschema import Draft202012Validator

ROUTE = {"name": "a", "path": "/api/a", "upstreams": [{"url": "http://127.0.0.1:9000/x"}]}


def with_route(**route_changes):
    route = dict(ROUTE, **route_changes)
    return {"routes": [route]}


def with_entry(**entry_changes):
    return with_route(upstreams=[dict(ROUTE["upstreams"][0], **entry_changes)])


# (what is wrong, the config, the JSON path the loader names)
WRONG = [
    ("an unknown top-level key", {"sever": {}, "routes": [ROUTE]}, "sever"),
    ("no routes", {"server": {}}, "routes"),
    ("a string for an integer", {"server": {"threads": "4"}, "routes": [ROUTE]}, "server.threads"),
    ("an integer out of range", {"server": {"threads": 0}, "routes": [ROUTE]}, "server.threads"),
    ("a log level that is none", {"log": {"level": "verbose"}, "routes": [ROUTE]}, "log.level"),
    ("an unknown route key", with_route(timeout=5), "routes[0].timeout"),
    ("a route without upstreams", {"routes": [{"name": "a", "path": "/api/a"}]}, "routes[0].upstreams"),
    ("retry: true (false or an object)", with_route(retry=True), "routes[0].retry"),
    ("an unknown entry key", with_entry(uri="http://x"), "routes[0].upstreams[0].uri"),
    ("an entry without url", with_route(upstreams=[{"name": "x"}]), "routes[0].upstreams[0].url"),
    ("a header value that is no string", with_entry(headers={"X-A": 1}), "routes[0].upstreams[0].headers.X-A"),
    ("a negative ttl", with_entry(cache={"ttl_ms": -1}), "routes[0].upstreams[0].cache.ttl_ms"),
    ("an encoding that is no string", {"server": {"compression": {"encodings": [5]}}, "routes": [ROUTE]},
     "server.compression.encodings[0]"),
    ("an HTTP version that is none", {"client": {"origins": {"https://a.example": {"http": "3"}}}, "routes": [ROUTE]},
     'client.origins["https://a.example"].http'),
    ("cors without allow_origins", with_route(cors={"max_age_s": 5}), "routes[0].cors.allow_origins"),
    ("a boolean as a string", {"server": {"start_traces": "yes"}, "routes": [ROUTE]}, "server.start_traces"),
    ("telemetry without its endpoint", {"telemetry": {"service_name": "x"}, "routes": [ROUTE]},
     "telemetry.otlp_endpoint"),
    ("a sample ratio past 1", {"telemetry": {"otlp_endpoint": "http://127.0.0.1:4318", "sample_ratio": 2},
                               "routes": [ROUTE]}, "telemetry.sample_ratio"),
]


def run(*command):
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--aggregator", required=True)
    parser.add_argument("--source", required=True)
    args = parser.parse_args()
    failures = []

    printed = run(args.aggregator, "config", "schema")
    assert printed.returncode == 0, printed.stderr
    schema = json.loads(printed.stdout)
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    with open(os.path.join(args.source, "configs", "config.schema.json")) as f:
        if json.load(f) != schema:
            failures.append("configs/config.schema.json is not what `aggregator config schema` prints: regenerate it")

    files = sorted(
        glob.glob(os.path.join(args.source, "configs", "*.json"))
        + glob.glob(os.path.join(args.source, "bench", "*.json"))
        + glob.glob(os.path.join(args.source, "tests", "fuzz", "corpus", "config_fuzz", "*")))
    accepted = 0
    for path in files:
        if path.endswith("config.schema.json"):
            continue
        effective = run(args.aggregator, "config", "print", "--config", path)
        if effective.returncode != 0:
            continue  # the loader refuses it: the schema may too
        accepted += 1
        with open(path) as f:
            document = json.load(f)
        for name, doc in ((path, document), (path + " (config print)", json.loads(effective.stdout))):
            for error in validator.iter_errors(doc):
                failures.append(f"{name}: the loader accepts it, the schema refuses it: {error.json_path}: "
                                f"{error.message}")
    if accepted < 6:
        failures.append(f"only {accepted} accepted configs found under {args.source}")

    with tempfile.TemporaryDirectory() as scratch:
        for what, doc, path in WRONG:
            if validator.is_valid(doc):
                failures.append(f"{what}: the schema accepts it, the loader does not")
            file = os.path.join(scratch, "wrong.json")
            with open(file, "w") as f:
                json.dump(doc, f)
            loaded = run(args.aggregator, "config", "print", "--config", file)
            if loaded.returncode != 2:
                failures.append(f"{what}: the loader exits {loaded.returncode}, not 2")
            elif f": {path}: " not in loaded.stderr:
                failures.append(f"{what}: the loader does not name {path}: {loaded.stderr.strip()}")

    for failure in failures:
        print(failure, file=sys.stderr)
    print(f"{accepted} accepted configs valid against the schema; {len(WRONG)} wrong configs refused by both")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
