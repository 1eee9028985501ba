# One image recipe for every service: a shared `base` stage, then one target
# per runnable process (`docker build --target email_service .`).
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 offload
WORKDIR /app
# Local state (a service's inbox, a gateway's SQLite store) lives in /app/var,
# and files in local storage in /app/var/files; mount volumes there to keep
# them across container restarts (a new volume takes this ownership).
RUN mkdir -p var/files && chown -R offload var

# Sources are small; copying them all keeps one simple install step per target.
COPY pyproject.toml README.md ./
COPY contracts/ contracts/
COPY runtime/ runtime/
COPY storage/ storage/
COPY tabular/ tabular/
COPY gateway/ gateway/
COPY email_service/ email_service/
COPY file_service/ file_service/
COPY notify_service/ notify_service/
COPY analytics_service/ analytics_service/
# `python -m gateway` and `python -m <name>_service` parse their arguments with it.
COPY offload_cli/ offload_cli/


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


FROM base AS file_service
RUN pip install ".[files,postgres]"
USER offload
ENV HEALTH_PORT=8080
EXPOSE 8080
CMD ["python", "-m", "file_service"]


FROM base AS notify_service
RUN pip install ".[notify,postgres]"
USER offload
ENV HEALTH_PORT=8080
EXPOSE 8080
CMD ["python", "-m", "notify_service"]


FROM base AS analytics_service
RUN pip install ".[analytics,postgres]"
USER offload
ENV HEALTH_PORT=8080
EXPOSE 8080
CMD ["python", "-m", "analytics_service"]
