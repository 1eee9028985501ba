# One image recipe for every service: a shared `base` stage, then one target
# per runnable process (`docker build --target email_service .`).
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 offload
WORKDIR /app
# Local state (a service's inbox, a gateway's SQLite store) lives in /app/var;
# mount a volume there to keep it across container restarts.
RUN mkdir var && chown offload var

# Sources are small; copying them all keeps one simple install step per target.
COPY pyproject.toml README.md ./
COPY contracts/ contracts/
COPY runtime/ runtime/
COPY gateway/ gateway/
COPY email_service/ email_service/


FROM base AS gateway
RUN pip install ".[gateway,postgres]"
USER offload
ENV PORT=8000
EXPOSE 8000
CMD ["python", "-m", "gateway"]


FROM base AS email_service
RUN pip install ".[email,postgres]"
USER offload
ENV HEALTH_PORT=8080
EXPOSE 8080
CMD ["python", "-m", "email_service"]
