"""The bare Flask hello-world the benchmark measures as its outer ceiling: Flask itself and nothing of
the app (no extensions, hooks, session or database), served by the same gunicorn settings."""
from flask import Flask

app = Flask(__name__)


@app.get("/healthz")
def healthz():
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}
