# syntax=docker/dockerfile:1
# Build: docker build -t rbg-hooks:latest .
# Stage 1 installs the package and its dependencies into /app with CPython 3.11 (Debian 12).
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY hooks ./hooks
RUN pip install --no-cache-dir --target /app .

# Stage 2: distroless Python 3.11 (Debian 12), no shell, no package manager, non-root.
FROM gcr.io/distroless/python3-debian12:nonroot
COPY --from=build /app /app
ENV PYTHONPATH=/app PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["python3", "-m", "hooks.cli"]
CMD ["serve", "--bind", "0.0.0.0:8080", "--workers", "4"]
