FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt requirements-nodeps.txt ./
RUN pip install --no-cache-dir -r requirements.txt \
    && pip install --no-cache-dir --no-deps -r requirements-nodeps.txt
COPY . .
RUN DATABASE_URL=postgresql://x@localhost/x REDIS_URL=redis://localhost SECRET_KEY=build \
    python manage.py collectstatic --noinput
EXPOSE 8000
