# syntax=docker/dockerfile:1.7
# ClaimFlow: one image for every service and role. The command picks what runs:
#   claimflow run <service> api --host 0.0.0.0 --port <port>   FastAPI API
#   claimflow run <service> worker                            consumers + outbox relay
#   claimflow migrate <service> | claimflow migrate directory  Alembic migrations (one-shot)
# Build: docker build -t claimflow:dev .

ARG PYTHON_IMAGE=python:3.12-slim-bookworm

# ---- build: resolve and install the locked workspace into /app/.venv -------------------------------------
FROM ${PYTHON_IMAGE} AS build

# Same uv as the Makefile pins, from PyPI.
ARG UV_VERSION=0.13.9
RUN python -m pip install --no-cache-dir --disable-pip-version-check "uv==${UV_VERSION}"

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3 \
    UV_PROJECT_ENVIRONMENT=/app/.venv

WORKDIR /src

# Dependencies first (only the lockfile and the workspace manifests), so code changes reuse this layer.
COPY pyproject.toml uv.lock README.md ./
COPY shared/pyproject.toml shared/pyproject.toml
COPY services/coding-svc/pyproject.toml services/coding-svc/pyproject.toml
COPY services/eligibility-svc/pyproject.toml services/eligibility-svc/pyproject.toml
COPY services/claims-svc/pyproject.toml services/claims-svc/pyproject.toml
COPY services/remit-svc/pyproject.toml services/remit-svc/pyproject.toml
COPY services/payer-sandbox/pyproject.toml services/payer-sandbox/pyproject.toml
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace

# Then the workspace itself, installed non-editable so the runtime stage needs nothing but the venv.
COPY src ./src
COPY shared ./shared
COPY services ./services
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable

# ---- runtime: the venv, a non-root user, no build tools ----------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

ARG APP_UID=10001
RUN groupadd --system --gid "${APP_UID}" claimflow \
    && useradd --system --uid "${APP_UID}" --gid claimflow --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin claimflow \
    && mkdir -p /app && chown claimflow:claimflow /app

COPY --from=build --chown=claimflow:claimflow /app/.venv /app/.venv

ENV PATH=/app/.venv/bin:${PATH} \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CLAIMFLOW_ENVIRONMENT=production \
    CLAIMFLOW_LOG_JSON=true

WORKDIR /app
USER 10001:10001

# APIs: coding-svc 8001, eligibility-svc 8002, claims-svc 8003, remit-svc 8004; worker metrics 9100.
EXPOSE 8001 8002 8003 8004 9100

ENTRYPOINT ["claimflow"]
CMD ["--help"]
