# syntax=docker/dockerfile:1
# Build: docker build -t rbg-hooks:latest .
# The image holds the hook server only (the package hooks/ and its dependencies): not the rbg
# command (rbgcli/), the Kubernetes client (rbgclient/) or the local cluster (localcluster/).
# The two bases are build arguments; the defaults are the upstream images. Without a registry,
# tools/images.sh builds both from Debian packages and passes them (tools/README.md):
#   --build-arg BUILD_BASE=localhost/rbg/python3-build:3.11-bookworm
#   --build-arg RUNTIME_BASE=localhost/rbg/python3:3.11-bookworm
# BUILD_BASE needs python3 (3.11), pip and /bin/sh; RUNTIME_BASE the same CPython 3.11 as
# /usr/bin/python3 on PATH, and a user 65532.
ARG BUILD_BASE=python:3.11-slim-bookworm
ARG RUNTIME_BASE=gcr.io/distroless/python3-debian12:nonroot

# Stage 1 installs the dependencies pyproject.toml declares for it into /app, then the package,
# with CPython 3.11 (Debian 12).
FROM ${BUILD_BASE} AS build
WORKDIR /src
COPY pyproject.toml ./
RUN python3 -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\\n')" > requirements.txt \
 && pip install --no-cache-dir --target /app -r requirements.txt
COPY hooks /app/hooks

# Stage 2: distroless Python 3.11 (Debian 12), no shell, no package manager, non-root.
FROM ${RUNTIME_BASE}
COPY --from=build /app /app
ENV PYTHONPATH=/app PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["python3", "-m", "hooks.server"]
CMD ["--bind", "0.0.0.0:8080", "--workers", "4"]
