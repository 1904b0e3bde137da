# Bangkom API: migrations then uvicorn (uvloop + httptools) on port 8000.
# Operators must set BANGKOM_ENV=production AND a BANGKOM_SECRET_KEY of 32+ characters,
# BANGKOM_CERTIFICATE_SIGNING_KEY (EC P-256 PEM) and BANGKOM_PUBLIC_URL (https://...);
# the service refuses to start in production without them.
#   docker build -t bangkom .
#   docker run -p 8000:8000 -v bangkom-data:/data \
#     -e BANGKOM_ENV=production -e BANGKOM_SECRET_KEY=... \
#     -e BANGKOM_CERTIFICATE_SIGNING_KEY="$(cat cert-key.pem)" \
#     -e BANGKOM_PUBLIC_URL=https://bangkom.example.go.id bangkom

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BANGKOM_PORT=8000 \
    BANGKOM_DATABASE_URL=sqlite:////data/bangkom.db
# Certificate PDFs embed DejaVu Sans (Indonesian names need more than Latin-1).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 bangkom \
    && useradd --system --uid 10001 --gid bangkom --no-create-home \
       --home-dir /srv/bangkom --shell /usr/sbin/nologin bangkom \
    && mkdir -p /data \
    && chown bangkom:bangkom /data
COPY --from=build /install /usr/local
# migrations/ and alembic.ini are not in the package: `bangkom migrate` finds
# migrations/ in the working directory.
WORKDIR /srv/bangkom
COPY alembic.ini ./
COPY migrations ./migrations
USER 10001:10001
# The SQLite file (and its -wal/-shm files) live here; mount a volume to keep them.
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; url = 'http://127.0.0.1:%s/health/ready' % os.environ.get('BANGKOM_PORT', '8000'); sys.exit(0 if urllib.request.urlopen(url, timeout=4).status == 200 else 1)"]
CMD ["sh", "-c", "bangkom migrate && exec bangkom serve --host 0.0.0.0"]
