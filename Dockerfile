# One image, run as `suratdesa api`, `suratdesa worker` or `suratdesa init` (see docker-compose.yml).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 SURATDESA_HOME=/data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
COPY templates ./templates
RUN pip install --no-cache-dir -e . && useradd --system --home /data suratdesa && mkdir -p /data \
    && chown suratdesa /data
USER suratdesa
EXPOSE 8000
CMD ["suratdesa", "api", "--host", "0.0.0.0", "--port", "8000"]
