FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN DATABASE_URL=postgresql://x@localhost/x REDIS_URL=redis://localhost SECRET_KEY=build \
    python manage.py collectstatic --noinput
EXPOSE 8000
