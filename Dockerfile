# syntax=docker/dockerfile:1
# Build: docker build -t rbg-hooks:latest .
# The image holds the hook server only (the package hooks/ and its dependencies): not the rbg
# command (rbgcli/), the Kubernetes client (rbgclient/) or the local cluster (localcluster/).
# Stage 1 installs the dependencies pyproject.toml declares for it into /app, then the package,
# with CPython 3.11 (Debian 12).
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml ./
RUN python3 -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\\n')" > requirements.txt \
 && pip install --no-cache-dir --target /app -r requirements.txt
COPY hooks /app/hooks

# Stage 2: distroless Python 3.11 (Debian 12), no shell, no package manager, non-root.
FROM gcr.io/distroless/python3-debian12:nonroot
COPY --from=build /app /app
ENV PYTHONPATH=/app PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["python3", "-m", "hooks.server"]
CMD ["--bind", "0.0.0.0:8080", "--workers", "4"]
