# The production image: web (uvicorn), worker and beat all run from it (docker-compose.yml).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 LAUNCHBOARD_DATA_DIR=/data
WORKDIR /app
# Pango for the PDF report (WeasyPrint); Chromium draws its charts
RUN apt-get update && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
        chromium fonts-dejavu-core && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
RUN pip install --no-cache-dir .
COPY . .
RUN python manage.py collectstatic --noinput \
    && useradd --create-home app && mkdir -p /data && chown app /data
USER app
EXPOSE 8000
CMD ["uvicorn", "launchboard.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--workers", "2", "--proxy-headers", "--no-access-log", "--ws-per-message-deflate", "false", "--ws-max-size", "65536"]
