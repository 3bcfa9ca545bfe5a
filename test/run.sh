#!/usr/bin/env bash
# The whole test suite: type check, then every *.test.ts (unit tests beside the code, integration
# suites under test/) on Node's test runner. Suites start the real components they need themselves
# (chDB runs in-process). With CI=true a component that cannot start fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # `npm install`, not `npm ci`: chDB lists native packages for other platforms that the registry
  # does not serve here, and `npm ci` refuses a lock file without them. With the lock file present,
  # `npm install` installs exactly the locked versions.
  echo "installing dependencies (npm install)…"
  npm install --no-audit --no-fund
fi

# docker-compose.yml is checked with Debian's docker-compose (no engine needed).
if ! command -v docker-compose >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing docker-compose (apt-get)…"
    (apt-get install -y -q docker-compose >/dev/null 2>&1 || (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q docker-compose >/dev/null 2>&1)) \
      || echo "could not install docker-compose"
  fi
fi

# Debian's Chromium for the browser tests (driven by playwright-core; no browser download).
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "installing chromium (apt-get)…"
  (apt-get install -y -q chromium >/dev/null 2>&1 || (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1)) \
    || echo "could not install chromium"
fi
if [ ! -x /usr/bin/chromium ] && [ "${CI:-}" = "true" ]; then
  echo "chromium is not installed (CI=true: failing the run)" >&2
  exit 1
fi

# Debian's prometheus package for promtool (check and unit-test deploy/prometheus/outage-rules.yml).
if ! command -v promtool >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "installing prometheus for promtool (apt-get)…"
  (apt-get install -y -q prometheus >/dev/null 2>&1 || (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q prometheus >/dev/null 2>&1)) \
    || echo "could not install prometheus (promtool)"
fi
if ! command -v promtool >/dev/null 2>&1 && [ "${CI:-}" = "true" ]; then
  echo "promtool is not installed (CI=true: failing the run)" >&2
  exit 1
fi

# Python tools from PyPI in a virtualenv of their own (.cache/pytools): schemathesis checks the
# query API against its OpenAPI document.
if [ ! -x .cache/pytools/bin/schemathesis ]; then
  echo "installing schemathesis (pip, .cache/pytools)…"
  (python3 -m venv .cache/pytools && .cache/pytools/bin/pip install -q schemathesis==4.32.5) || echo "could not install schemathesis"
fi
if [ -x .cache/pytools/bin/schemathesis ]; then
  export SCHEMATHESIS="$PWD/.cache/pytools/bin/schemathesis"
elif [ "${CI:-}" = "true" ]; then
  echo "schemathesis is not installed (CI=true: failing the run)" >&2
  exit 1
fi

# Helm for the chart's test (deploy/helm/outage): built from source through the Go module proxy
# (no Debian package), cached in .cache/bin.
if [ ! -x .cache/bin/helm ] && command -v go >/dev/null 2>&1; then
  echo "installing helm (go install, .cache/bin)…"
  GOBIN="$PWD/.cache/bin" go install helm.sh/helm/v3/cmd/helm@v3.22.0 || echo "could not install helm"
fi
if [ -x .cache/bin/helm ]; then
  export HELM="$PWD/.cache/bin/helm"
elif [ "${CI:-}" = "true" ]; then
  echo "helm is not installed (CI=true: failing the run)" >&2
  exit 1
fi

# A real Kafka broker (jars from Maven Central, cached in .cache/kafka) for the Kafka suites.
# With CI=true a broker that does not come up fails the run; elsewhere those suites say why and skip.
state=".cache/kafka/running-$$.json"
if out=$(node --import tsx test/kafka/broker.ts start "$state"); then
  export TEST_KAFKA_BROKERS="${out#KAFKA_BROKERS=}"
  trap 'node --import tsx test/kafka/broker.ts stop "$state"' EXIT
  echo "Kafka broker on $TEST_KAFKA_BROKERS"
elif [ "${CI:-}" = "true" ]; then
  echo "the Kafka broker did not start (CI=true: failing the run)" >&2
  exit 1
else
  echo "the Kafka broker did not start: Kafka suites will be skipped" >&2
fi

echo "type check…"
npx tsc -p .

mapfile -t files < <(find . -name '*.test.ts' -not -path './node_modules/*' -not -path './data/*' | sort)
echo "running ${#files[@]} test files…"
# One file at a time: chDB binds one data directory per process and the machine has 2 cores.
node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}"
